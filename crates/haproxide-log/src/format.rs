//! Session log lines: `option tcplog` (configuration.txt §8.2.2), `option
//! httplog` (§8.2.3), `option httpslog`, the default format (§8.2.1) and
//! `log-format` strings (§8.2.4). Formats are compiled by haproxide-expr's
//! [`LogFormat`] (one engine for variables and `%[sample]`s); this module prints
//! each variable from a [`SessionRecord`].
//!
//! Rendering rules verified against HAProxy 2.6.12 on the wire:
//! - IPs (`%ci %fi %si %bi`): `+Q` quotes, `+X` prints hex (`7F000001`, 32
//!   digits for IPv6); IPv6 without brackets (`::1:41270` in tcplog).
//! - ports (`%cp %fp %sp %bp`): `+X` prints `%04X`; never quoted.
//! - `%Ts %pid %rt %lc`: `+X` prints `%08X` / `%04X`; other numbers ignore
//!   `Q` and `X`.
//! - strings (`%f %ft %b %s %H %ID %sslc %sslv %CC %CS`): `+Q` quotes, `+E`
//!   escapes `"`, `\` and `]`; an absent string prints `-`, or `""` quoted.
//! - dates (`%t %T %Tl %tr %trg %trl`) and `%ts`/`%tsc` are never quoted.
//! - `%[fetch]` samples are quoted with `Q` and never hex.
//! - `%hr`/`%hs`: `{a|b}` in capture order, quoted with `Q`, each value with
//!   `"#{|}`, control and non-ASCII bytes as `#XX`; nothing without captures.
//!   `%r` (and `%HM %HU %HP %HPO %HQ %HV`): the request line with `"#`, control
//!   and non-ASCII bytes as `#XX`; `<BADREQ>` without one.
//! - `%lc` counts the lines this frontend logged before (from 0).
//!
//! Variables not available here: `%si %sp %bi %bp` print `-` (the
//! [`SessionRecord`] carries no server or source address), `%sslc %sslv` print
//! `-` (no TLS yet). In TCP `%ST` prints `0`, `%Th` `0`, `%Tu` is `%Tt` and
//! `%Td` is `Tt - Tw - Tc` (≥ 0, `-1` when Tc is); HAProxy derives Td from
//! absolute timestamps, so it can differ by 1 ms. `%rt` counts the sessions
//! logged by the process (HAProxy counts every stream, logged or not).
//! `%[...]` samples are fetched after the session from what the record keeps
//! (addresses, names): HTTP fetches print `-` there.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use haproxide_expr::logfmt::{
    push_hexable, push_ip, push_port, push_text, Flags, LfMode, LogVar, LogVars, Node,
};
use haproxide_expr::{Context, LogFormat};
use haproxide_forward::{HttpTxnLog, SessionRecord};

use super::clock::{Tm, Zone};
use super::LogFormatError;

/// The `log-format` equivalent of `option tcplog` (configuration.txt
/// §8.2.2, "strict equivalent").
pub const TCPLOG_FORMAT: &str =
    "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

/// `option httplog` (§8.2.3, HAProxy 2.6's `default_http_log_format`).
pub const HTTPLOG_FORMAT: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";

/// `option httplog clf` (§8.2.3, HAProxy 2.6's `clf_http_log_format`).
pub const HTTPLOG_CLF_FORMAT: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";

/// `option httpslog` (§8.2.4 "HTTPS log format"): [`HTTPLOG_FORMAT`] then the
/// TLS fields, printed here as HAProxy prints them for a connection without TLS
/// (this engine terminates no TLS in HTTP mode yet; HAProxy 2.6.12 measured):
/// `%[fc_err]` and `%[ssl_fc_is_resumed]` are 0, the other fields `-` (the
/// `ssl_*` fetches are not in the sample registry yet, so the tail is fixed
/// text).
pub const HTTPSLOG_TAIL: &str = " 0/-/-/-/0 -/-/-";

/// A compiled `log-format` string (configuration.txt §8.2.4), shared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFormatString {
    fmt: Arc<LogFormat>,
    /// Fixed text after the format (`option httpslog`'s TLS fields).
    tail: &'static str,
    /// The format compiles to `option httplog`'s nodes: printed by
    /// [`push_httplog`] (the same variables and spacing, named in the code).
    httplog: bool,
}

impl LogFormatString {
    /// Compiles a TCP-mode `log-format` string (HTTP-only variables refused).
    pub fn parse(s: &str) -> Result<LogFormatString, LogFormatError> {
        LogFormatString::parse_mode(s, LfMode::Tcp)
    }

    /// Compiles a `log-format` string for a proxy in `mode`.
    pub fn parse_mode(s: &str, mode: LfMode) -> Result<LogFormatString, LogFormatError> {
        LogFormat::parse(s, mode).map(LogFormatString::from)
    }

    /// `option tcplog` ([`TCPLOG_FORMAT`]).
    pub fn tcplog() -> &'static LogFormatString {
        static F: OnceLock<LogFormatString> = OnceLock::new();
        F.get_or_init(|| LogFormatString::parse(TCPLOG_FORMAT).unwrap_or_default())
    }

    /// `option httplog` ([`HTTPLOG_FORMAT`]).
    pub fn httplog() -> &'static LogFormatString {
        static F: OnceLock<LogFormatString> = OnceLock::new();
        F.get_or_init(|| {
            LogFormatString::parse_mode(HTTPLOG_FORMAT, LfMode::Http).unwrap_or_default()
        })
    }

    /// `option httplog clf` ([`HTTPLOG_CLF_FORMAT`]).
    pub fn httplog_clf() -> &'static LogFormatString {
        static F: OnceLock<LogFormatString> = OnceLock::new();
        F.get_or_init(|| {
            LogFormatString::parse_mode(HTTPLOG_CLF_FORMAT, LfMode::Http).unwrap_or_default()
        })
    }

    /// `option httpslog` ([`HTTPLOG_FORMAT`] + [`HTTPSLOG_TAIL`]).
    pub fn httpslog() -> &'static LogFormatString {
        static F: OnceLock<LogFormatString> = OnceLock::new();
        F.get_or_init(|| LogFormatString {
            tail: HTTPSLOG_TAIL,
            ..LogFormatString::httplog().clone()
        })
    }

    /// The compiled format.
    pub fn format(&self) -> &LogFormat {
        &self.fmt
    }

    /// Renders one session or transaction.
    pub fn render(&self, rec: &SessionRecord, ctx: &RenderContext<'_>) -> String {
        let mut out = Vec::with_capacity(160);
        self.render_into(&mut out, rec, ctx);
        match String::from_utf8(out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}

impl LogFormatString {
    /// [`LogFormatString::render`] appended to `out`, as bytes (what a
    /// `%[sample]` printed is not checked for UTF-8 here).
    pub fn render_into(&self, out: &mut Vec<u8>, rec: &SessionRecord, ctx: &RenderContext<'_>) {
        let vars = RecVars {
            rec,
            ctx,
            accept: OnceCell::new(),
            sample: RecContext(rec),
        };
        if self.httplog {
            push_httplog(out, &vars);
        } else {
            self.fmt.render(out, &vars);
        }
        out.extend_from_slice(self.tail.as_bytes());
    }
}

impl From<LogFormat> for LogFormatString {
    fn from(f: LogFormat) -> LogFormatString {
        LogFormatString {
            httplog: f.nodes() == httplog_nodes(),
            fmt: Arc::new(f),
            tail: "",
        }
    }
}

/// [`HTTPLOG_FORMAT`]'s compiled nodes (what [`push_httplog`] prints).
fn httplog_nodes() -> &'static [Node] {
    static N: OnceLock<Vec<Node>> = OnceLock::new();
    N.get_or_init(|| {
        LogFormat::parse(HTTPLOG_FORMAT, LfMode::Http)
            .map(|f| f.nodes().to_vec())
            .unwrap_or_default()
    })
}

/// `option httplog`'s line ([`HTTPLOG_FORMAT`], configuration.txt §8.2.3)
/// as [`LogFormat::render`] prints its nodes, each variable named here
/// rather than read from the compiled list: `var` folds to the variable's own
/// arm (callgrind, bench/h2-callgrind.sh: about 1,000 instructions per line
/// fewer). A capture list that prints nothing takes no space, as in the
/// interpreter (a separator after a variable that printed nothing and is a
/// capture is skipped).
fn push_httplog(out: &mut Vec<u8>, vars: &RecVars<'_>) {
    use LogVar::*;
    let d = Flags::default();
    let var = |out: &mut Vec<u8>, v: LogVar| vars.var(out, v, d);
    var(out, ClientIp);
    out.push(b':');
    var(out, ClientPort);
    out.extend_from_slice(b" [");
    var(out, RequestDate);
    out.extend_from_slice(b"] ");
    var(out, FrontendTransport);
    out.push(b' ');
    var(out, Backend);
    out.push(b'/');
    var(out, Server);
    out.push(b' ');
    var(out, TR);
    out.push(b'/');
    var(out, Tw);
    out.push(b'/');
    var(out, Tc);
    out.push(b'/');
    var(out, Tr);
    out.push(b'/');
    var(out, Ta);
    out.push(b' ');
    var(out, Status);
    out.push(b' ');
    var(out, BytesRead);
    out.push(b' ');
    var(out, CookieReq);
    out.push(b' ');
    var(out, CookieRes);
    out.push(b' ');
    var(out, TermStateCookie);
    out.push(b' ');
    var(out, ActConn);
    out.push(b'/');
    var(out, FeConn);
    out.push(b'/');
    var(out, BeConn);
    out.push(b'/');
    var(out, SrvConn);
    out.push(b'/');
    var(out, Retries);
    out.push(b' ');
    var(out, SrvQueue);
    out.push(b'/');
    var(out, BackendQueue);
    out.push(b' ');
    for caps in [ReqCaptures, ResCaptures] {
        let before = out.len();
        var(out, caps);
        if out.len() != before {
            out.push(b' ');
        }
    }
    vars.var(out, Request, Flags { quote: true, ..d });
}

/// What a line needs besides the [`SessionRecord`].
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// Zone of `%t`, `%Tl` and `%ms` (HAProxy: local time).
    pub zone: Zone,
    /// `%pid`.
    pub pid: u32,
    /// `%H`: the system hostname.
    pub hostname: &'a str,
    /// `%lc`: lines logged by this frontend before this one.
    pub log_counter: u64,
    /// `%rt`: request counter.
    pub request_counter: u64,
}

impl Default for RenderContext<'_> {
    fn default() -> Self {
        RenderContext {
            zone: Zone::Local,
            pid: std::process::id(),
            hostname: "localhost",
            log_counter: 0,
            request_counter: 0,
        }
    }
}

/// The sample context of a finished session: its addresses.
struct RecContext<'a>(&'a SessionRecord<'a>);

impl Context for RecContext<'_> {
    fn src(&self) -> Option<SocketAddr> {
        Some(self.0.client)
    }
    fn dst(&self) -> Option<SocketAddr> {
        self.0.frontend_addr
    }
    fn frontend_name(&self) -> Option<&str> {
        Some(&self.0.frontend)
    }
    fn backend_name(&self) -> Option<&str> {
        Some(self.0.backend.as_deref().unwrap_or(&self.0.frontend))
    }
    fn server_name(&self) -> Option<&str> {
        self.0.server.as_deref()
    }
    fn tls(&self) -> Option<&haproxide_expr::TlsSession> {
        self.0.tls.as_deref()
    }
}

struct RecVars<'a> {
    rec: &'a SessionRecord<'a>,
    ctx: &'a RenderContext<'a>,
    /// The accept date, computed when a variable prints it.
    accept: OnceCell<Tm>,
    sample: RecContext<'a>,
}

/// A number of the log line, in decimal (see [`haproxide_expr::logfmt::push_dec`]).
fn push_num(out: &mut Vec<u8>, n: impl Into<i64>) {
    haproxide_expr::logfmt::push_dec_signed(out, n.into())
}

/// An unsigned counter of the log line, in decimal.
fn push_count(out: &mut Vec<u8>, n: u64) {
    haproxide_expr::logfmt::push_dec(out, n)
}

/// HAProxy's `hdr_encode_map` (captures: `"#{|}`) or `url_encode_map` (`%r`:
/// `"#`), plus bytes < 32 and >= 127, as `#XX`. Runs of bytes that need no
/// encoding are copied whole.
fn push_encoded(out: &mut Vec<u8>, s: &[u8], map: &EncodeMap) {
    let mut rest = s;
    while let Some(i) = to_encode(rest, map) {
        out.extend_from_slice(&rest[..i]);
        let c = rest[i];
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        out.extend_from_slice(&[b'#', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Where the first byte of `s` to encode is: clean bytes are passed 8 at a
/// time, without a branch per byte (an h2load request line of 40 bytes:
/// about 379 -> 166 instructions, callgrind).
fn to_encode(s: &[u8], map: &EncodeMap) -> Option<usize> {
    let mut clean = 0;
    for c in s.chunks_exact(8) {
        if c.iter().fold(false, |a, &b| a | map[usize::from(b)]) {
            break;
        }
        clean += 8;
    }
    let rest = s.get(clean..)?;
    rest.iter()
        .position(|&c| map[usize::from(c)])
        .map(|i| clean + i)
}

/// The bytes a log field encodes: `true` at each byte to print as `#XX`.
type EncodeMap = [bool; 256];

const fn encode_map(extra: &[u8]) -> EncodeMap {
    let mut m = [false; 256];
    let mut c = 0;
    while c < 256 {
        m[c] = c < 32 || c >= 127;
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        m[extra[i] as usize] = true;
        i += 1;
    }
    m
}

const HDR_ENCODE: &EncodeMap = &encode_map(b"\"#{|}");
const URL_ENCODE: &EncodeMap = &encode_map(b"\"#");

fn push_captures(out: &mut Vec<u8>, caps: &[Option<Box<[u8]>>], n: usize, f: Flags) {
    if n == 0 {
        return;
    }
    if f.quote {
        out.push(b'"');
    }
    out.push(b'{');
    for i in 0..n {
        if i > 0 {
            out.push(b'|');
        }
        if let Some(Some(v)) = caps.get(i) {
            push_encoded(out, v, HDR_ENCODE);
        }
    }
    out.push(b'}');
    if f.quote {
        out.push(b'"');
    }
}

/// `%hrl`/`%hsl`: the values separated by spaces, each `-` when absent (`""`
/// when quoted).
fn push_capture_list(out: &mut Vec<u8>, caps: &[Option<Box<[u8]>>], n: usize, f: Flags) {
    for i in 0..n {
        if i > 0 {
            out.push(b' ');
        }
        if f.quote {
            out.push(b'"');
        }
        match caps.get(i) {
            Some(Some(v)) => push_encoded(out, v, HDR_ENCODE),
            _ if !f.quote => out.push(b'-'),
            _ => {}
        }
        if f.quote {
            out.push(b'"');
        }
    }
}

const BADREQ: &[u8] = b"<BADREQ>";

fn is_spht(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// The parts of the request line `%HM %HU %HP %HPO %HQ %HV` print (HAProxy's
/// `sess_build_logline`): `None` prints `<BADREQ>`.
fn request_part(line: Option<&[u8]>, v: LogVar) -> Option<&[u8]> {
    use LogVar::*;
    let line = line?;
    // `%r` is the whole line: its parts are not looked for (a walk of it).
    if !matches!(
        v,
        HttpMethod | HttpUri | HttpPath | HttpPathOnly | HttpQuery | HttpVersion
    ) {
        return Some(line);
    }
    let end = line.len();
    let m_end = line.iter().position(|&c| is_spht(c)).unwrap_or(end);
    let mut u = m_end;
    while u < end && is_spht(line[u]) {
        u += 1;
    }
    let spaces = u - m_end;
    let u_end = u + line[u..]
        .iter()
        .position(|&c| is_spht(c))
        .unwrap_or(end - u);
    let uri = &line[u..u_end];
    match v {
        LogVar::HttpMethod => (m_end != end).then_some(&line[..m_end]),
        LogVar::HttpUri => (spaces > 0).then_some(uri),
        LogVar::HttpPath => {
            (spaces > 0).then(|| &uri[..uri.iter().position(|&c| c == b'?').unwrap_or(uri.len())])
        }
        LogVar::HttpPathOnly => (spaces > 0).then(|| {
            let mut p = uri;
            if let Some(i) = p.windows(3).position(|w| w == b"://") {
                let rest = &p[i + 3..];
                p = &rest[rest.iter().position(|&c| c == b'/').unwrap_or(rest.len())..];
            }
            &p[..p.iter().position(|&c| c == b'?').unwrap_or(p.len())]
        }),
        LogVar::HttpQuery => {
            let q = line.iter().position(|&c| c == b'?').unwrap_or(end);
            let e = q + line[q..]
                .iter()
                .position(|&c| is_spht(c))
                .unwrap_or(end - q);
            Some(&line[q..e])
        }
        LogVar::HttpVersion => {
            let mut v = u_end;
            while v < end && is_spht(line[v]) {
                v += 1;
            }
            let v_end = v + line[v..]
                .iter()
                .position(|&c| is_spht(c))
                .unwrap_or(end - v);
            (v < end).then_some(&line[v..v_end])
        }
        _ => Some(line),
    }
}

fn push_quoted_encoded(out: &mut Vec<u8>, s: &[u8], f: Flags) {
    if f.quote {
        out.push(b'"');
    }
    push_encoded(out, s, URL_ENCODE);
    if f.quote {
        out.push(b'"');
    }
}

impl RecVars<'_> {
    fn accept(&self) -> &Tm {
        self.accept
            .get_or_init(|| Tm::new(self.rec.accepted_at, self.ctx.zone))
    }

    fn http(&self) -> Option<&HttpTxnLog> {
        self.rec.http.as_deref()
    }

    /// The start of the request: accept date + Ti + Th (HAProxy's `%tr`).
    fn request_tm(&self, zone: Zone) -> Tm {
        let mut t = self.rec.accepted_at;
        if let Some(h) = self.http() {
            if h.ti >= 0 {
                t += Duration::from_millis((h.ti + h.th).max(0) as u64);
            }
        }
        Tm::new(t, zone)
    }

    fn tq(&self) -> i64 {
        match self.http() {
            Some(h) if h.t_req >= 0 => h.th.max(0) + h.ti.max(0) + h.t_req,
            Some(_) => -1,
            None => 0,
        }
    }
}

impl LogVars for RecVars<'_> {
    fn context(&self) -> &dyn Context {
        &self.sample
    }

    #[inline]
    fn var(&self, out: &mut Vec<u8>, v: LogVar, f: Flags) {
        let rec = self.rec;
        let ctx = self.ctx;
        let http = self.http();
        // Read by the arms that print them (not computed for every variable).
        let backend = || rec.backend.as_deref().unwrap_or(&rec.frontend);
        let server = || rec.server.as_deref().unwrap_or("<NOSRV>");
        let fe_ip = || rec.frontend_addr.map(|a| a.ip());
        let fe_port = || rec.frontend_addr.map(|a| a.port());
        let str_ = |out: &mut Vec<u8>, s: Option<&str>| push_text(out, s.map(str::as_bytes), f);
        match v {
            LogVar::ClientIp => push_ip(out, Some(rec.client.ip()), f),
            LogVar::ClientPort => push_port(out, Some(rec.client.port()), f),
            LogVar::FrontendIp => push_ip(out, fe_ip(), f),
            LogVar::FrontendPort => push_port(out, fe_port(), f),
            LogVar::BackendSrcIp | LogVar::ServerIp => push_ip(out, None, f),
            LogVar::BackendSrcPort | LogVar::ServerPort => push_port(out, None, f),
            LogVar::AcceptDate => self.accept().push_accept_date(out),
            LogVar::GmtDate => {
                out.extend_from_slice(Tm::new(rec.accepted_at, Zone::Utc).clf_date().as_bytes())
            }
            LogVar::LocalDate => out.extend_from_slice(self.accept().clf_date().as_bytes()),
            LogVar::RequestDate => self.request_tm(ctx.zone).push_accept_date(out),
            LogVar::RequestDateGmt => {
                out.extend_from_slice(self.request_tm(Zone::Utc).clf_date().as_bytes())
            }
            LogVar::RequestDateLocal => {
                out.extend_from_slice(self.request_tm(ctx.zone).clf_date().as_bytes())
            }
            LogVar::AcceptMs => haproxide_expr::logfmt::push_dec_padded(
                out,
                u64::from(self.accept().micros / 1000),
                3,
            ),
            LogVar::Timestamp => push_hexable(out, self.accept().unix.max(0) as u64, f, 8),
            LogVar::Frontend => str_(out, Some(&rec.frontend)),
            // `~` after the name of a frontend reached over TLS (§8.2.4 `%ft`).
            LogVar::FrontendTransport if rec.tls.is_some() => {
                // The name then `~` (inside the quotes with `+Q`; `~` is never
                // escaped): no formatted copy per line (a `format!` and its
                // allocation for every request over TLS).
                str_(out, Some(&rec.frontend));
                if f.quote {
                    out.insert(out.len().saturating_sub(1), b'~');
                } else {
                    out.push(b'~');
                }
            }
            LogVar::FrontendTransport => str_(out, Some(&rec.frontend)),
            LogVar::Backend => str_(out, Some(backend())),
            LogVar::Server => str_(out, Some(server())),
            LogVar::Hostname => str_(out, Some(ctx.hostname)),
            LogVar::UniqueId => str_(out, http.and_then(|h| h.unique_id.as_deref())),
            LogVar::SslCipher => str_(out, rec.tls.as_ref().map(|t| t.cipher)),
            LogVar::SslVersion => str_(out, rec.tls.as_ref().map(|t| t.version)),
            LogVar::Pid => push_hexable(out, u64::from(ctx.pid), f, 4),
            LogVar::Th => push_num(out, http.map_or(0, |h| h.th)),
            LogVar::Ti => push_num(out, http.map_or(0, |h| h.ti)),
            LogVar::TR => push_num(out, http.map_or(0, |h| h.t_req)),
            LogVar::Tq => push_num(out, self.tq()),
            LogVar::Tw => push_num(out, rec.tw),
            LogVar::Tc => push_num(out, rec.tc),
            LogVar::Tr => push_num(out, http.map_or(0, |h| h.t_res)),
            LogVar::Ta => push_num(out, http.map_or(rec.tt, |h| h.ta)),
            LogVar::Tt => push_num(out, rec.tt),
            LogVar::Tu => push_num(out, rec.tt - http.map_or(0, |h| h.ti.max(0))),
            LogVar::Td => {
                let td = match http {
                    Some(h) if h.t_res >= 0 => {
                        let data = self.tq() + rec.tw.max(0) + rec.tc.max(0) + h.t_res;
                        rec.tt - data
                    }
                    Some(_) => -1,
                    None if rec.tc < 0 => -1,
                    None => (rec.tt - rec.tw.max(0) - rec.tc).max(0),
                };
                push_num(out, td);
            }
            LogVar::BytesRead => push_count(out, rec.bytes_read),
            LogVar::BytesUploaded => push_count(out, rec.bytes_uploaded),
            LogVar::TermState | LogVar::TermStateCookie => {
                for b in rec.termination {
                    out.push(if b.is_ascii_graphic() { b } else { b'-' });
                }
                if v == LogVar::TermStateCookie {
                    let ck = http.map_or([b'-', b'-'], |h| h.cookie_state);
                    for b in ck {
                        out.push(if b.is_ascii_graphic() { b } else { b'-' });
                    }
                }
            }
            LogVar::ActConn => push_count(out, rec.actconn),
            LogVar::FeConn => push_count(out, rec.feconn),
            LogVar::BeConn => push_count(out, rec.beconn),
            LogVar::SrvConn => push_count(out, rec.srv_conn),
            LogVar::Retries => {
                if rec.redispatched {
                    out.push(b'+');
                }
                push_num(out, rec.retries);
            }
            LogVar::SrvQueue => push_count(out, rec.srv_queue),
            LogVar::BackendQueue => push_count(out, rec.backend_queue),
            LogVar::LogCounter => push_hexable(out, ctx.log_counter, f, 4),
            LogVar::RequestCounter => push_hexable(out, ctx.request_counter, f, 4),
            LogVar::Status => match http {
                None => out.push(b'0'),
                Some(h) => push_num(out, h.status.map_or(-1, i32::from)),
            },
            LogVar::CookieReq => push_text(out, http.and_then(|h| h.cookie_req.as_deref()), f),
            LogVar::CookieRes => push_text(out, http.and_then(|h| h.cookie_res.as_deref()), f),
            LogVar::ReqCaptures
            | LogVar::ResCaptures
            | LogVar::ReqCaptureList
            | LogVar::ResCaptureList => {
                let Some(h) = http else { return };
                let caps = match v {
                    LogVar::ReqCaptures | LogVar::ReqCaptureList => &h.req_captures,
                    _ => &h.res_captures,
                };
                let n = caps.len();
                if matches!(v, LogVar::ReqCaptures | LogVar::ResCaptures) {
                    push_captures(out, caps, n, f)
                } else {
                    push_capture_list(out, caps, n, f)
                }
            }
            LogVar::Request
            | LogVar::HttpMethod
            | LogVar::HttpUri
            | LogVar::HttpPath
            | LogVar::HttpPathOnly
            | LogVar::HttpQuery
            | LogVar::HttpVersion => {
                let line = http.and_then(|h| h.request_line.as_deref());
                let part = request_part(line, v).map_or(Cow::Borrowed(BADREQ), Cow::Borrowed);
                push_quoted_encoded(out, &part, f);
            }
        }
    }
}

/// `option tcplog`'s line (configuration.txt §8.2.2): `%ci:%cp [%t] %ft
/// %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`, e.g.
/// `10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 --
/// 0/0/0/0/3 0/0`. No server gives `<NOSRV>`, no backend the frontend's
/// name; a redispatch puts `+` before the retries. `log_date_local`:
/// accept date in local time (HAProxy) or UTC.
pub fn tcplog_line(rec: &SessionRecord, log_date_local: bool) -> String {
    let ctx = RenderContext {
        zone: if log_date_local {
            Zone::Local
        } else {
            Zone::Utc
        },
        ..RenderContext::default()
    };
    LogFormatString::tcplog().render(rec, &ctx)
}

fn push_addr(out: &mut String, a: Option<SocketAddr>) {
    match a {
        Some(a) => {
            let _ = write!(out, "{}:{}", a.ip(), a.port());
        }
        None => out.push_str("unix:"),
    }
}

/// The default format, without `option tcplog` or `log-format`
/// (configuration.txt §8.2.1): `Connect from 10.0.1.2:33312 to
/// 10.0.3.31:8012 (www/TCP)` (IPv6 addresses without brackets, as
/// HAProxy). HAProxy logs it at accept time.
pub fn default_line(rec: &SessionRecord) -> String {
    let mut out = String::with_capacity(80);
    out.push_str("Connect from ");
    push_addr(&mut out, Some(rec.client));
    out.push_str(" to ");
    push_addr(&mut out, rec.frontend_addr);
    let _ = write!(out, " ({}/TCP)", rec.frontend);
    out
}

#[cfg(test)]
mod encode_tests {
    use super::*;

    /// Every byte, alone and in a run: printed as HAProxy's maps say (`#XX`
    /// for controls, bytes >= 127 and the map's extra characters).
    #[test]
    fn encoded_bytes_follow_the_maps() {
        for (map, extra) in [(HDR_ENCODE, &b"\"#{|}"[..]), (URL_ENCODE, &b"\"#"[..])] {
            let all: Vec<u8> = (0..=255u8).collect();
            let mut got = Vec::new();
            push_encoded(&mut got, &all, map);
            let mut want = String::new();
            for c in 0..=255u8 {
                if !(32..127).contains(&c) || extra.contains(&c) {
                    want.push_str(&format!("#{c:02X}"));
                } else {
                    want.push(char::from(c));
                }
            }
            assert_eq!(String::from_utf8(got).unwrap(), want);
        }
        // One byte to encode at every place of a run, across the 8-byte steps.
        for at in 0..24 {
            let mut s = vec![b'a'; 24];
            s[at] = b'"';
            let mut got = Vec::new();
            push_encoded(&mut got, &s, URL_ENCODE);
            let mut want = vec![b'a'; at];
            want.extend_from_slice(b"#22");
            want.extend(std::iter::repeat_n(b'a', 23 - at));
            assert_eq!(got, want, "{at}");
        }
        let mut o = Vec::new();
        push_encoded(&mut o, b"GET /a{b} HTTP/1.1", URL_ENCODE);
        assert_eq!(o, b"GET /a{b} HTTP/1.1");
        o.clear();
        push_encoded(&mut o, b"a{b}\n", HDR_ENCODE);
        assert_eq!(o, b"a#7Bb#7D#0A");
    }
}

#[cfg(test)]
mod httplog_tests {
    use haproxide_forward::{HttpTxnLog, SessionRecord};

    use super::*;

    /// The same format read by the interpreter (not the direct line).
    fn interpreted(tail: &'static str) -> LogFormatString {
        let f = LogFormat::parse(HTTPLOG_FORMAT, LfMode::Http).unwrap();
        LogFormatString {
            fmt: Arc::new(f),
            tail,
            httplog: false,
        }
    }

    /// The session of `crate::tests`, with every counter set and `http`.
    fn record(http: Option<HttpTxnLog>, tls: bool) -> SessionRecord<'static> {
        let mut r = crate::tests::record();
        (r.tw, r.tc, r.termination, r.redispatched) = (1, -1, *b"SD", true);
        (r.actconn, r.feconn, r.beconn, r.srv_conn) = (7, 6, 5, 4);
        (r.srv_queue, r.backend_queue) = (2, 1);
        r.http = http.map(Box::new);
        r.tls = tls.then(Default::default);
        r
    }

    /// `option httplog` and `option httpslog` print through [`push_httplog`]
    /// exactly what the interpreter prints for the format's nodes: with and
    /// without captures (an empty capture list takes no space), cookies, TLS,
    /// a request line with bytes to encode, no status, no HTTP part at all,
    /// no backend or server.
    #[test]
    fn direct_httplog_line_is_the_interpreters() {
        assert!(LogFormatString::httplog().httplog);
        assert!(LogFormatString::httpslog().httplog);
        assert!(
            LogFormatString::parse_mode(HTTPLOG_FORMAT, LfMode::Http)
                .unwrap()
                .httplog
        );
        assert!(!LogFormatString::httplog_clf().httplog);
        let other = format!("{HTTPLOG_FORMAT} %ID");
        assert!(
            !LogFormatString::parse_mode(&other, LfMode::Http)
                .unwrap()
                .httplog
        );

        let mut full = HttpTxnLog::new();
        full.request_line = Some(b"GET /a\"b#c\x01 HTTP/1.1".to_vec());
        full.status = Some(200);
        (full.th, full.ti, full.t_req, full.t_res, full.ta) = (2, 3, 4, 5, 6);
        full.req_captures = vec![Some(b"h{o}|st".to_vec().into()), None];
        full.res_captures = vec![None, Some(b"x".to_vec().into())];
        full.cookie_req = Some(b"SRV=\"s1\"".to_vec().into());
        full.cookie_state = *b"VN";
        let mut no_res_caps = full.clone();
        no_res_caps.res_captures.clear();
        let mut no_req_caps = full.clone();
        no_req_caps.req_captures.clear();
        let mut empty_caps = full.clone();
        empty_caps.req_captures = vec![None];
        let mut bare = HttpTxnLog::new();
        bare.status = None;
        let mut records = vec![
            record(None, false),
            record(Some(HttpTxnLog::new()), false),
            record(Some(bare), true),
            record(Some(full.clone()), false),
            record(Some(full), true),
            record(Some(no_res_caps), false),
            record(Some(no_req_caps), false),
            record(Some(empty_caps), false),
        ];
        let mut nosrv = record(Some(HttpTxnLog::new()), false);
        (nosrv.backend, nosrv.server, nosrv.redispatched) = (None, None, false);
        records.push(nosrv);
        let ctx = RenderContext::default();
        for (direct, tail) in [
            (LogFormatString::httplog(), ""),
            (LogFormatString::httpslog(), HTTPSLOG_TAIL),
        ] {
            for rec in &records {
                let want = interpreted(tail).render(rec, &ctx);
                assert_eq!(direct.render(rec, &ctx), want);
            }
        }
        // The line the interpreter prints for a full record, as HAProxy's.
        let line = LogFormatString::httplog().render(&records[3], &ctx);
        let at = line.find("] ").unwrap();
        assert_eq!(
            &line[at..],
            "] fnt bck/srv1 4/1/-1/5/6 200 212 SRV=\"s1\" - SDVN 7/6/5/4/+3 2/1 \
             {h#7Bo#7D#7Cst|} {|x} \"GET /a#22b#23c#01 HTTP/1.1\""
        );
    }
}
