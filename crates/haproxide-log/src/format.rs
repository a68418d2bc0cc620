//! Session log lines: `option tcplog` (configuration.txt §8.2.2), the
//! default format (§8.2.1) and `log-format` strings (§8.2.6).
//!
//! Rendering rules verified against HAProxy 2.6.12 on the wire (`mode
//! tcp`):
//! - IPs (`%ci %fi %si %bi`): `+Q` quotes, `+X` prints hex (`7F000001`, 32
//!   digits for IPv6); IPv6 without brackets (`::1:41270` in tcplog).
//! - ports (`%cp %fp %sp %bp`): `+X` prints `%04X`; never quoted.
//! - `%Ts %pid %rt %lc`: `+X` prints `%08X` / `%04X`; other numbers ignore
//!   `Q` and `X`.
//! - strings (`%f %ft %b %s %H %ID %sslc %sslv`): `+Q` quotes, `+E`
//!   escapes `"`, `\` and `]`; an absent string prints `-`, or `""` quoted.
//! - dates (`%t %T %Tl`) and `%ts` are never quoted.
//! - `%o` applies its flags to every later variable.
//! - `%[fetch]` samples are quoted with `Q` and never hex.
//! - a run of spaces prints one space, none after a variable that printed
//!   nothing (`%ci %hr %hr %ci` → `1.2.3.4 1.2.3.4`).
//! - `%lc` counts the lines this frontend logged before (from 0).
//!
//! Variables not available here: `%si %sp %bi %bp` print `-` (the
//! [`SessionRecord`] carries no server or source address), `%ID %sslc
//! %sslv` print `-`, `%hr %hrl %hs %hsl` print nothing, `%ST` prints `0`,
//! `%Th` prints `0`. `%Tu` is `%Tt` (as HAProxy in TCP) and `%Td` is
//! `Tt - Tw - Tc` (≥ 0, `-1` when Tc is); HAProxy derives Td from absolute
//! timestamps, so it can differ by 1 ms (`1/0/602` gave Td 602 there).
//! `%rt` counts the sessions logged by the process (HAProxy
//! counts every stream, logged or not). HTTP-only variables are rejected,
//! as HAProxy does in `mode tcp`. Sample fetches: `src`, `src_port`, `dst`,
//! `dst_port`, `fe_name`, `be_name`, `srv_name` (no converters).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use haproxide_forward::SessionRecord;

use super::clock::{Tm, Zone};
use super::LogFormatError;

/// The `log-format` equivalent of `option tcplog` (configuration.txt
/// §8.2.2, "strict equivalent").
pub const TCPLOG_FORMAT: &str =
    "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    quote: bool,
    hex: bool,
    escape: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    Src,
    SrcPort,
    Dst,
    DstPort,
    FeName,
    BeName,
    SrvName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    ClientIp,
    ClientPort,
    FrontendIp,
    FrontendPort,
    BackendSrcIp,
    BackendSrcPort,
    ServerIp,
    ServerPort,
    AcceptDate,
    GmtDate,
    LocalDate,
    AcceptMs,
    Timestamp,
    FrontendTransport,
    Frontend,
    Backend,
    Server,
    Hostname,
    UniqueId,
    Pid,
    Tw,
    Tc,
    Tt,
    Th,
    Tu,
    Td,
    BytesRead,
    BytesUploaded,
    TermState,
    ActConn,
    FeConn,
    BeConn,
    SrvConn,
    Retries,
    SrvQueue,
    BackendQueue,
    LogCounter,
    RequestCounter,
    Status,
    /// Prints nothing (`%hr %hrl %hs %hsl`: no captures in TCP).
    Nothing,
    /// An absent string (`%sslc %sslv`).
    Absent,
    Sample(Fetch),
}

/// HTTP-only variables (configuration.txt §8.2.6, restriction `H`).
const HTTP_ONLY: &[&str] = &[
    "CC", "CS", "HM", "HP", "HPO", "HQ", "HU", "HV", "Ta", "Ti", "Tq", "TR", "Tr", "r", "tr",
    "trg", "trl", "tsc",
];

fn lookup(name: &str) -> Option<Var> {
    use Var::*;
    Some(match name {
        "ci" => ClientIp,
        "cp" => ClientPort,
        "fi" => FrontendIp,
        "fp" => FrontendPort,
        "bi" => BackendSrcIp,
        "bp" => BackendSrcPort,
        "si" => ServerIp,
        "sp" => ServerPort,
        "t" => AcceptDate,
        "T" => GmtDate,
        "Tl" => LocalDate,
        "ms" => AcceptMs,
        "Ts" => Timestamp,
        "ft" => FrontendTransport,
        "f" => Frontend,
        "b" => Backend,
        "s" => Server,
        "H" => Hostname,
        "ID" => UniqueId,
        "pid" => Pid,
        "Tw" => Tw,
        "Tc" => Tc,
        "Tt" => Tt,
        "Th" => Th,
        "Tu" => Tu,
        "Td" => Td,
        "B" => BytesRead,
        "U" => BytesUploaded,
        "ts" => TermState,
        "ac" => ActConn,
        "fc" => FeConn,
        "bc" => BeConn,
        "sc" => SrvConn,
        "rc" => Retries,
        "sq" => SrvQueue,
        "bq" => BackendQueue,
        "lc" => LogCounter,
        "rt" => RequestCounter,
        "ST" => Status,
        "hr" | "hrl" | "hs" | "hsl" => Nothing,
        "sslc" | "sslv" => Absent,
        _ => return None,
    })
}

fn lookup_fetch(expr: &str) -> Option<Fetch> {
    Some(match expr.trim() {
        "src" => Fetch::Src,
        "src_port" => Fetch::SrcPort,
        "dst" => Fetch::Dst,
        "dst_port" => Fetch::DstPort,
        "fe_name" => Fetch::FeName,
        "be_name" => Fetch::BeName,
        "srv_name" => Fetch::SrvName,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Lit(String),
    /// A run of spaces: one space, unless the previous variable printed
    /// nothing (HAProxy 2.6.12: `"a  b"` gives `a b`, `%ci %hr %hr %ci`
    /// gives `1.2.3.4 1.2.3.4`).
    Sep,
    Var(Var, Flags),
}

/// A compiled `log-format` string (configuration.txt §8.2.6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFormatString {
    nodes: Vec<Node>,
}

/// Applies `{+Q,-X,...}` modifiers to `base`; unknown letters are ignored,
/// as HAProxy does.
fn apply_flags(mut base: Flags, spec: &str) -> Flags {
    for item in spec.split(',') {
        let (on, name) = match item.as_bytes().first() {
            Some(b'+') => (true, &item[1..]),
            Some(b'-') => (false, &item[1..]),
            _ => continue,
        };
        match name {
            "Q" => base.quote = on,
            "X" => base.hex = on,
            "E" => base.escape = on,
            _ => {}
        }
    }
    base
}

/// Appends literal text, turning each run of spaces into one [`Node::Sep`]
/// (runs separated only by `%o` merge too, as in HAProxy).
fn push_literal(nodes: &mut Vec<Node>, lit: &mut String, text: &str) {
    for c in text.chars() {
        if c == ' ' {
            if !lit.is_empty() {
                nodes.push(Node::Lit(std::mem::take(lit)));
            }
            if nodes.last() != Some(&Node::Sep) {
                nodes.push(Node::Sep);
            }
        } else {
            lit.push(c);
        }
    }
}

impl LogFormatString {
    /// Compiles a `log-format` string as the configuration gives it (after
    /// the config tokenizer: `\ ` already a space). Errors mirror HAProxy's
    /// ("no such format variable", "truncated line after '%'", HTTP-only
    /// variables, unsupported sample fetches).
    pub fn parse(s: &str) -> Result<LogFormatString, LogFormatError> {
        let mut nodes = Vec::new();
        let mut lit = String::new();
        let mut default = Flags::default();
        let mut rest = s;
        while let Some(pos) = rest.find('%') {
            push_literal(&mut nodes, &mut lit, &rest[..pos]);
            rest = &rest[pos + 1..];
            if let Some(r) = rest.strip_prefix('%') {
                lit.push('%');
                rest = r;
                continue;
            }
            if rest.is_empty() {
                return Err(LogFormatError::Truncated("%".into()));
            }
            let mut flags = default;
            let mut modifier = None;
            if let Some(r) = rest.strip_prefix('{') {
                let end = r
                    .find('}')
                    .ok_or_else(|| LogFormatError::Truncated(r.to_string()))?;
                flags = apply_flags(default, &r[..end]);
                modifier = Some(r[..end].to_string());
                rest = &r[end + 1..];
            }
            if let Some(r) = rest.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| LogFormatError::Truncated(r.to_string()))?;
                let expr = &r[..end];
                let fetch = lookup_fetch(expr)
                    .ok_or_else(|| LogFormatError::UnsupportedSample(expr.to_string()))?;
                if !lit.is_empty() {
                    nodes.push(Node::Lit(std::mem::take(&mut lit)));
                }
                nodes.push(Node::Var(Var::Sample(fetch), flags));
                rest = &r[end + 1..];
                continue;
            }
            let len = rest
                .bytes()
                .position(|b| !b.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let name = &rest[..len];
            rest = &rest[len..];
            if name.is_empty() {
                return Err(match modifier {
                    Some(m) => LogFormatError::ModifierWithoutVariable(m),
                    None => LogFormatError::UnknownVariable(String::new()),
                });
            }
            if name == "o" {
                default = flags;
                continue;
            }
            if HTTP_ONLY.contains(&name) {
                return Err(LogFormatError::HttpOnly(name.to_string()));
            }
            let var = lookup(name).ok_or_else(|| LogFormatError::UnknownVariable(name.into()))?;
            if !lit.is_empty() {
                nodes.push(Node::Lit(std::mem::take(&mut lit)));
            }
            nodes.push(Node::Var(var, flags));
        }
        push_literal(&mut nodes, &mut lit, rest);
        if !lit.is_empty() {
            nodes.push(Node::Lit(lit));
        }
        Ok(LogFormatString { nodes })
    }

    /// `option tcplog` ([`TCPLOG_FORMAT`]).
    pub fn tcplog() -> &'static LogFormatString {
        static TCPLOG: OnceLock<LogFormatString> = OnceLock::new();
        TCPLOG.get_or_init(|| LogFormatString::parse(TCPLOG_FORMAT).unwrap_or_default())
    }

    /// Renders one session.
    pub fn render(&self, rec: &SessionRecord, ctx: &RenderContext<'_>) -> String {
        let mut out = String::with_capacity(128);
        let accept = Tm::new(rec.accepted_at, ctx.zone);
        let mut prev_empty = false;
        for node in &self.nodes {
            match node {
                Node::Lit(s) => {
                    out.push_str(s);
                    prev_empty = false;
                }
                Node::Sep => {
                    if !prev_empty {
                        out.push(' ');
                    }
                }
                Node::Var(v, f) => {
                    let before = out.len();
                    render_var(&mut out, *v, *f, rec, ctx, &accept);
                    prev_empty = out.len() == before;
                }
            }
        }
        out
    }
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

fn push_ip(out: &mut String, ip: Option<IpAddr>, f: Flags) {
    let Some(ip) = ip else {
        out.push('-');
        return;
    };
    if f.quote {
        out.push('"');
    }
    match (ip, f.hex) {
        (IpAddr::V4(a), true) => {
            let _ = write!(out, "{:08X}", u32::from(a));
        }
        (IpAddr::V6(a), true) => {
            for b in a.octets() {
                let _ = write!(out, "{b:02X}");
            }
        }
        (ip, false) => {
            let _ = write!(out, "{ip}");
        }
    }
    if f.quote {
        out.push('"');
    }
}

fn push_port(out: &mut String, port: Option<u16>, f: Flags) {
    match port {
        None => out.push('-'),
        Some(p) if f.hex => {
            let _ = write!(out, "{p:04X}");
        }
        Some(p) => {
            let _ = write!(out, "{p}");
        }
    }
}

fn push_str(out: &mut String, s: Option<&str>, f: Flags) {
    let Some(s) = s else {
        out.push_str(if f.quote { "\"\"" } else { "-" });
        return;
    };
    if f.quote {
        out.push('"');
    }
    if f.escape {
        for c in s.chars() {
            if matches!(c, '"' | '\\' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
    } else {
        out.push_str(s);
    }
    if f.quote {
        out.push('"');
    }
}

fn push_num(out: &mut String, n: impl std::fmt::Display) {
    let _ = write!(out, "{n}");
}

fn push_hexable(out: &mut String, n: u64, f: Flags, width: usize) {
    if f.hex {
        let _ = write!(out, "{n:0width$X}");
    } else {
        let _ = write!(out, "{n}");
    }
}

fn render_var(
    out: &mut String,
    v: Var,
    f: Flags,
    rec: &SessionRecord,
    ctx: &RenderContext<'_>,
    accept: &Tm,
) {
    let backend = rec.backend.as_deref().unwrap_or(&rec.frontend);
    let server = rec.server.as_deref().unwrap_or("<NOSRV>");
    let fe_ip = rec.frontend_addr.map(|a| a.ip());
    let fe_port = rec.frontend_addr.map(|a| a.port());
    match v {
        Var::ClientIp => push_ip(out, Some(rec.client.ip()), f),
        Var::ClientPort => push_port(out, Some(rec.client.port()), f),
        Var::FrontendIp => push_ip(out, fe_ip, f),
        Var::FrontendPort => push_port(out, fe_port, f),
        Var::BackendSrcIp | Var::ServerIp => push_ip(out, None, f),
        Var::BackendSrcPort | Var::ServerPort => push_port(out, None, f),
        Var::AcceptDate => out.push_str(&accept.accept_date()),
        Var::GmtDate => out.push_str(&Tm::new(rec.accepted_at, Zone::Utc).clf_date()),
        Var::LocalDate => out.push_str(&accept.clf_date()),
        Var::AcceptMs => {
            let _ = write!(out, "{:03}", accept.micros / 1000);
        }
        Var::Timestamp => push_hexable(out, accept.unix.max(0) as u64, f, 8),
        Var::FrontendTransport | Var::Frontend => push_str(out, Some(&rec.frontend), f),
        Var::Backend => push_str(out, Some(backend), f),
        Var::Server => push_str(out, Some(server), f),
        Var::Hostname => push_str(out, Some(ctx.hostname), f),
        Var::UniqueId | Var::Absent => push_str(out, None, f),
        Var::Pid => push_hexable(out, u64::from(ctx.pid), f, 4),
        Var::Tw => push_num(out, rec.tw),
        Var::Tc => push_num(out, rec.tc),
        Var::Tt | Var::Tu => push_num(out, rec.tt),
        Var::Th => out.push('0'),
        Var::Td => {
            let td = if rec.tc < 0 {
                -1
            } else {
                (rec.tt - rec.tw.max(0) - rec.tc).max(0)
            };
            push_num(out, td);
        }
        Var::BytesRead => push_num(out, rec.bytes_read),
        Var::BytesUploaded => push_num(out, rec.bytes_uploaded),
        Var::TermState => {
            for b in rec.termination {
                out.push(if b.is_ascii_graphic() { b as char } else { '-' });
            }
        }
        Var::ActConn => push_num(out, rec.actconn),
        Var::FeConn => push_num(out, rec.feconn),
        Var::BeConn => push_num(out, rec.beconn),
        Var::SrvConn => push_num(out, rec.srv_conn),
        Var::Retries => {
            if rec.redispatched {
                out.push('+');
            }
            push_num(out, rec.retries);
        }
        Var::SrvQueue => push_num(out, rec.srv_queue),
        Var::BackendQueue => push_num(out, rec.backend_queue),
        Var::LogCounter => push_hexable(out, ctx.log_counter, f, 4),
        Var::RequestCounter => push_hexable(out, ctx.request_counter, f, 4),
        Var::Status => out.push('0'),
        Var::Nothing => {}
        Var::Sample(fetch) => {
            let sf = Flags { hex: false, ..f };
            match fetch {
                Fetch::Src => push_str(out, Some(&rec.client.ip().to_string()), sf),
                Fetch::SrcPort => push_str(out, Some(&rec.client.port().to_string()), sf),
                Fetch::Dst => push_str(out, fe_ip.map(|i| i.to_string()).as_deref(), sf),
                Fetch::DstPort => push_str(out, fe_port.map(|p| p.to_string()).as_deref(), sf),
                Fetch::FeName => push_str(out, Some(&rec.frontend), sf),
                Fetch::BeName => push_str(out, Some(backend), sf),
                Fetch::SrvName => push_str(out, rec.server.as_deref(), sf),
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
