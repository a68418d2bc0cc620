//! `log-format` strings compiled once (configuration.txt §8.2.4 "Custom log
//! format"): literal text, separators, `%var` variables with their `{+Q,+X,+E}`
//! modifiers, and `%[fetch,conv...]` samples typed by this crate's
//! [`SampleExpr`]. The same compiled form serves `log-format`, `option
//! httplog`/`tcplog`/`httpslog` (their strict equivalents), `unique-id-format` and
//! the log-format arguments of HTTP rules (`set-header`, `lf-string`...).
//!
//! Rendering is split: [`LogFormat::render`] walks the nodes and applies
//! HAProxy's separator rule; the caller's [`LogVars`] prints each variable (it
//! knows the session) and supplies the [`Context`] samples are fetched from.
//!
//! Rules checked against HAProxy 2.6.12 (haproxide-log's differential tests):
//! a run of spaces is one separator; a separator prints one space only after
//! something that printed (HAProxy's `last_isspace`), so a leading space and a
//! space after an empty `%hr` print nothing; `%o` makes its flags the default of
//! every later variable; unknown modifier letters are ignored; `%%` is `%`.

use std::fmt;

use crate::acl::SampleExpr;
use crate::fetch::Context;
use crate::sample::SmpType;

/// A variable's `{+Q,+X,+E}` modifiers (§8.2.4 "flags").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `Q`: quote strings.
    pub quote: bool,
    /// `X`: hexadecimal numbers and addresses.
    pub hex: bool,
    /// `E`: escape `"`, `\` and `]` (RFC 5424 structured data).
    pub escape: bool,
}

macro_rules! log_vars {
    ($($name:literal => $var:ident, $http:expr;)*) => {
        /// Every `%var` of configuration.txt §8.2.4, by its HAProxy name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum LogVar { $($var,)* }
        /// (name, variable, HTTP-only) for every variable.
        pub const LOG_VARS: &[(&str, LogVar, bool)] = &[$(($name, LogVar::$var, $http),)*];
    };
}

log_vars! {
    "ci" => ClientIp, false;
    "cp" => ClientPort, false;
    "fi" => FrontendIp, false;
    "fp" => FrontendPort, false;
    "bi" => BackendSrcIp, false;
    "bp" => BackendSrcPort, false;
    "si" => ServerIp, false;
    "sp" => ServerPort, false;
    "t" => AcceptDate, false;
    "T" => GmtDate, false;
    "Tl" => LocalDate, false;
    "ms" => AcceptMs, false;
    "Ts" => Timestamp, false;
    "tr" => RequestDate, true;
    "trg" => RequestDateGmt, true;
    "trl" => RequestDateLocal, true;
    "ft" => FrontendTransport, false;
    "f" => Frontend, false;
    "b" => Backend, false;
    "s" => Server, false;
    "H" => Hostname, false;
    "ID" => UniqueId, false;
    "pid" => Pid, false;
    "Th" => Th, false;
    "Ti" => Ti, true;
    "TR" => TR, true;
    "Tq" => Tq, true;
    "Tw" => Tw, false;
    "Tc" => Tc, false;
    "Tr" => Tr, true;
    "Ta" => Ta, true;
    "Tt" => Tt, false;
    "Tu" => Tu, false;
    "Td" => Td, false;
    "B" => BytesRead, false;
    "U" => BytesUploaded, false;
    "ts" => TermState, false;
    "tsc" => TermStateCookie, true;
    "ac" => ActConn, false;
    "fc" => FeConn, false;
    "bc" => BeConn, false;
    "sc" => SrvConn, false;
    "rc" => Retries, false;
    "sq" => SrvQueue, false;
    "bq" => BackendQueue, false;
    "lc" => LogCounter, false;
    "rt" => RequestCounter, false;
    "ST" => Status, false;
    "CC" => CookieReq, true;
    "CS" => CookieRes, true;
    "hr" => ReqCaptures, false;
    "hrl" => ReqCaptureList, false;
    "hs" => ResCaptures, false;
    "hsl" => ResCaptureList, false;
    "r" => Request, true;
    "HM" => HttpMethod, true;
    "HP" => HttpPath, true;
    "HPO" => HttpPathOnly, true;
    "HQ" => HttpQuery, true;
    "HU" => HttpUri, true;
    "HV" => HttpVersion, true;
    "sslc" => SslCipher, false;
    "sslv" => SslVersion, false;
}

impl LogVar {
    /// The variable named `name` and whether it is reserved for HTTP mode.
    pub fn lookup(name: &str) -> Option<(LogVar, bool)> {
        LOG_VARS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|&(_, v, h)| (v, h))
    }

    /// Whether the variable reads the request line (HAProxy's `LW_REQ`).
    pub fn uses_request_line(self) -> bool {
        use LogVar::*;
        matches!(
            self,
            Request | HttpMethod | HttpPath | HttpPathOnly | HttpQuery | HttpUri | HttpVersion
        )
    }

    /// Whether it prints the capture slots (and nothing when there is none).
    fn is_capture(self) -> bool {
        use LogVar::*;
        matches!(
            self,
            ReqCaptures | ReqCaptureList | ResCaptures | ResCaptureList
        )
    }
}

/// One compiled piece of a format.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Literal text (no space in it), as the bytes it prints (configuration
    /// escapes turned back into their bytes once, when the format is compiled).
    Lit(Box<[u8]>),
    /// A run of spaces.
    Sep,
    /// `%var`.
    Var(LogVar, Flags),
    /// `%[expr]`.
    Sample(Box<SampleExpr>, Flags),
}

/// Which mode the proxy using the format runs in: HTTP-only variables are refused
/// in TCP mode, as `haproxy -c` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LfMode {
    Tcp,
    Http,
}

/// Errors compiling a format, worded like HAProxy 2.6's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormatError {
    /// `%zz`.
    UnknownVariable(String),
    /// `%` or `%{` at the end.
    Truncated(String),
    /// `%{+Q}` followed by no name.
    ModifierWithoutVariable(String),
    /// HTTP-only variable in a TCP proxy.
    HttpOnly(String),
    /// `%[expr]` the sample engine refuses: its text, the engine's message, and
    /// whether HAProxy refuses it too ([`crate::ExprError::is_invalid`]; else a
    /// fetch or converter this engine lacks).
    Sample(String, String, bool),
    /// `%[expr` without its `]`.
    MissingBracket(String),
}

impl fmt::Display for LogFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogFormatError::UnknownVariable(v) => write!(
                f,
                "no such format variable '{v}'. If you wanted to emit the '%' character verbatim, you need to use '%%'"
            ),
            LogFormatError::Truncated(v) => write!(f, "truncated line after '{v}'"),
            LogFormatError::ModifierWithoutVariable(v) => write!(
                f,
                "parse argument modifier without variable name near '%{{{v}}}'"
            ),
            LogFormatError::HttpOnly(v) => {
                write!(f, "format variable '{v}' is reserved for HTTP mode")
            }
            // HAProxy 2.6.12 prints the expression with its closing bracket.
            LogFormatError::Sample(e, m, _) => {
                write!(f, "failed to parse sample expression <{e}]> : {m}")
            }
            LogFormatError::MissingBracket(e) => write!(f, "missing ']' after '{e}'"),
        }
    }
}

impl std::error::Error for LogFormatError {}

/// A compiled format. Equality compares the source text.
#[derive(Debug, Clone, Default)]
pub struct LogFormat {
    src: Box<str>,
    nodes: Vec<Node>,
    /// HAProxy's `LOG_OPT_HTTP` (a header value: `unique-id-format`, HTTP rule
    /// arguments): samples are `%XX`-encoded and an absent one prints nothing.
    http_value: bool,
    /// [`LogFormat::uses_request_line`], read once per request: known when the
    /// format is compiled.
    request_line: bool,
    /// What the format prints when it has no variable and no sample (literal
    /// text and spaces only): rendered once, when compiled.
    constant: Option<Box<[u8]>>,
}

impl PartialEq for LogFormat {
    fn eq(&self, o: &LogFormat) -> bool {
        self.src == o.src && self.http_value == o.http_value
    }
}
impl Eq for LogFormat {}

/// What a format is rendered against: the caller prints variables and offers the
/// sample context.
pub trait LogVars {
    /// Appends variable `v` with flags `f` to `out`.
    fn var(&self, out: &mut Vec<u8>, v: LogVar, f: Flags);
    /// What `%[...]` samples are fetched from.
    fn context(&self) -> &dyn Context;
    /// Whether an absent `%[...]` sample prints `-` (a log line) or nothing (a
    /// header value or reply built by an HTTP rule, as HAProxy 2.6.12 does).
    fn dash_for_absent(&self) -> bool {
        true
    }
}

/// The rendering of nodes that are all literal text and spaces (as
/// [`LogFormat::render`] prints them), None when one is a variable or a sample.
fn constant_text(nodes: &[Node]) -> Option<Box<[u8]>> {
    let mut out = Vec::new();
    let mut last_isspace = true;
    for n in nodes {
        match n {
            Node::Lit(s) => {
                out.extend_from_slice(s);
                last_isspace = false;
            }
            Node::Sep => {
                if !last_isspace {
                    out.push(b' ');
                    last_isspace = true;
                }
            }
            Node::Var(..) | Node::Sample(..) => return None,
        }
    }
    Some(out.into())
}

/// Applies `{+Q,-X,...}` modifiers to `base`; unknown letters are ignored, as
/// HAProxy does.
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

fn flush(nodes: &mut Vec<Node>, lit: &mut String) {
    if !lit.is_empty() {
        let text = std::mem::take(lit);
        nodes.push(Node::Lit(crate::rawtext::to_bytes(&text).into()));
    }
}

/// Appends literal text, turning each run of spaces into one [`Node::Sep`] (runs
/// separated only by `%o` merge too, as in HAProxy).
fn push_literal(nodes: &mut Vec<Node>, lit: &mut String, text: &str) {
    for c in text.chars() {
        if c == ' ' {
            flush(nodes, lit);
            if nodes.last() != Some(&Node::Sep) {
                nodes.push(Node::Sep);
            }
        } else {
            lit.push(c);
        }
    }
}

impl LogFormat {
    /// Compiles `s` as the configuration gives it (after the tokenizer: `\ `
    /// already a space) for a proxy in `mode`.
    pub fn parse(s: &str, mode: LfMode) -> Result<LogFormat, LogFormatError> {
        Self::parse_with(s, mode, &crate::Opts::default())
    }

    /// As [`LogFormat::parse`], map files of `%[...]` converters read through `opts`.
    pub fn parse_with(
        s: &str,
        mode: LfMode,
        opts: &crate::Opts<'_>,
    ) -> Result<LogFormat, LogFormatError> {
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
                    .ok_or_else(|| LogFormatError::MissingBracket(r.to_string()))?;
                let text = &r[..end];
                let expr = SampleExpr::parse_with(text, opts).map_err(|e| {
                    let invalid = e.is_invalid();
                    // HAProxy's expression runs to the end of the format: the
                    // text it quotes after an argument list does too.
                    let m = match e.message.strip_suffix('\'') {
                        Some(m) if m.contains("expected ')' before '") => {
                            format!("{m}{}'", &r[end..])
                        }
                        _ => e.message,
                    };
                    LogFormatError::Sample(text.to_string(), m, invalid)
                })?;
                flush(&mut nodes, &mut lit);
                nodes.push(Node::Sample(Box::new(expr), flags));
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
            let (var, http) =
                LogVar::lookup(name).ok_or_else(|| LogFormatError::UnknownVariable(name.into()))?;
            if http && mode == LfMode::Tcp {
                return Err(LogFormatError::HttpOnly(name.to_string()));
            }
            flush(&mut nodes, &mut lit);
            nodes.push(Node::Var(var, flags));
        }
        push_literal(&mut nodes, &mut lit, rest);
        flush(&mut nodes, &mut lit);
        let request_line = nodes
            .iter()
            .any(|n| matches!(n, Node::Var(v, _) if v.uses_request_line()));
        let constant = constant_text(&nodes);
        Ok(LogFormat {
            src: s.into(),
            nodes,
            http_value: false,
            request_line,
            constant,
        })
    }

    /// Compiles a format whose result is an HTTP header value
    /// (`unique-id-format`, `http-request set-header` ...; HAProxy's
    /// `LOG_OPT_HTTP`): a `%[sample]` has its control characters `%XX`-encoded
    /// and prints nothing when absent (HAProxy 2.6.12: `%[req.hdr(x),lower]-x`
    /// without the header gives `-x`).
    pub fn parse_http_value(s: &str) -> Result<LogFormat, LogFormatError> {
        let mut f = LogFormat::parse(s, LfMode::Http)?;
        f.http_value = true;
        Ok(f)
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The compiled nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Whether the format prints nothing at all (an empty string).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether a variable reads the request line (HAProxy's `LW_REQ`).
    pub fn uses_request_line(&self) -> bool {
        self.request_line
    }

    /// What the format prints whatever the transaction, when it has neither
    /// variable nor sample (`set-header X-Foo bar`): the caller may borrow it
    /// instead of rendering.
    pub fn constant(&self) -> Option<&[u8]> {
        self.constant.as_deref()
    }

    /// Whether a proxy parsing this format keeps each request's line for
    /// `capture.req.method`/`capture.req.uri` (HAProxy 2.6's `LW_REQ` in the
    /// proxy's `to_log`, log.c `add_sample_to_logformat_list`): a variable that
    /// reads it, or a `%[...]` whose fetch reads the HTTP message. Set even when
    /// the format is never printed (no log address, a `set-header` value).
    pub fn keeps_request_line(&self) -> bool {
        let below_http = crate::fetch::Uses::TCP.union(crate::fetch::Uses::TCP_RES);
        self.nodes.iter().any(|n| match n {
            Node::Var(v, _) => v.uses_request_line(),
            Node::Sample(e, _) => !e.uses().within(below_http),
            _ => false,
        })
    }

    /// Appends the rendering to `out`.
    ///
    /// Generic over the variables' source so that a caller with a concrete
    /// type (the session log line: 26 variables) gets its `var` inlined; a
    /// `&dyn LogVars` works as before.
    pub fn render<V: LogVars + ?Sized>(&self, out: &mut Vec<u8>, vars: &V) {
        let mut last_isspace = true;
        for node in &self.nodes {
            match node {
                Node::Lit(s) => {
                    // Most literals are one separator (`:`, `/`, `[`).
                    match **s {
                        [b] => out.push(b),
                        _ => out.extend_from_slice(s),
                    }
                    last_isspace = false;
                }
                Node::Sep => {
                    if !last_isspace {
                        out.push(b' ');
                        last_isspace = true;
                    }
                }
                Node::Var(v, f) => {
                    let before = out.len();
                    vars.var(out, *v, *f);
                    if out.len() != before || !v.is_capture() {
                        last_isspace = false;
                    }
                }
                Node::Sample(e, f) => {
                    let fetched = e.eval(vars.context(), crate::http::SINGLE);
                    let value = fetched.value.and_then(|v| v.cast(SmpType::Str));
                    let f = Flags { hex: false, ..*f };
                    let bytes = value.as_ref().and_then(|v| v.bytes());
                    if self.http_value {
                        push_http_encoded(out, bytes.unwrap_or_default(), f);
                    } else if bytes.is_some() || vars.dash_for_absent() {
                        push_text(out, bytes, f);
                    }
                    last_isspace = false;
                }
            }
        }
    }
}

/// An address (`%ci %fi %si %bi`): `Q` quotes, `X` prints hex (`7F000001`, 32
/// digits for IPv6); absent: `-`.
pub fn push_ip(out: &mut Vec<u8>, ip: Option<std::net::IpAddr>, f: Flags) {
    use std::io::Write as _;
    let Some(ip) = ip else {
        out.push(b'-');
        return;
    };
    if f.quote {
        out.push(b'"');
    }
    let _ = match (ip, f.hex) {
        (std::net::IpAddr::V4(a), true) => write!(out, "{:08X}", u32::from(a)),
        (std::net::IpAddr::V6(a), true) => {
            for b in a.octets() {
                let _ = write!(out, "{b:02X}");
            }
            Ok(())
        }
        (std::net::IpAddr::V4(a), false) => {
            let mut buf = [0u8; 15];
            let n = ipv4_dotted(a, &mut buf);
            out.extend_from_slice(buf.get(..n).unwrap_or_default());
            Ok(())
        }
        (ip, false) => write!(out, "{ip}"),
    };
    if f.quote {
        out.push(b'"');
    }
}

/// `a` in dotted decimal, written at the start of `buf` (15 bytes hold the
/// longest); the length written. No formatting machinery: the log line's
/// addresses and `option forwardfor`'s header, each request.
pub fn ipv4_dotted(a: std::net::Ipv4Addr, buf: &mut [u8; 15]) -> usize {
    let mut n = 0;
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        for (p, div) in [(o >= 100, 100), (o >= 10, 10), (true, 1)] {
            if p {
                buf[n] = b'0' + o / div % 10;
                n += 1;
            }
        }
    }
    n
}

/// A port (`%cp %fp %sp %bp`): `X` prints `%04X`; never quoted; absent: `-`.
pub fn push_port(out: &mut Vec<u8>, port: Option<u16>, f: Flags) {
    use std::io::Write as _;
    let _ = match port {
        None => write!(out, "-"),
        Some(p) if f.hex => write!(out, "{p:04X}"),
        Some(p) => {
            push_dec(out, u64::from(p));
            Ok(())
        }
    };
}

/// A number that `X` prints as hex of at least `width` digits (`%Ts %pid %rt
/// %lc`).
pub fn push_hexable(out: &mut Vec<u8>, n: u64, f: Flags, width: usize) {
    use std::io::Write as _;
    let _ = if f.hex {
        write!(out, "{n:0width$X}")
    } else {
        push_dec(out, n);
        Ok(())
    };
}

/// `n` in decimal, appended to `out` (as `{n}` prints it, without the
/// formatting machinery: a log line prints a dozen numbers).
pub fn push_dec(out: &mut Vec<u8>, mut n: u64) {
    // Most numbers of a log line (timers, status, counters) have at most three
    // digits, ports and process ids five to seven: written as fixed-size
    // pieces, without a copy of variable length (a `memcpy` call cost the
    // syslog header's pid 112 instructions, callgrind).
    let d = |n: u64| b'0' + (n % 10) as u8;
    match n {
        0..=9 => return out.push(d(n)),
        10..=99 => return out.extend_from_slice(&[d(n / 10), d(n)]),
        100..=999 => return out.extend_from_slice(&[d(n / 100), d(n / 10), d(n)]),
        1_000..=9_999 => {
            return out.extend_from_slice(&[d(n / 1_000), d(n / 100), d(n / 10), d(n)]);
        }
        10_000..=99_999 => {
            let (hi, lo) = (n / 1_000, n % 1_000);
            return out.extend_from_slice(&[d(hi / 10), d(hi), d(lo / 100), d(lo / 10), d(lo)]);
        }
        100_000..=9_999_999 => {
            let (hi, lo) = (n / 1_000, n % 1_000);
            if hi >= 1_000 {
                out.push(d(hi / 1_000));
            }
            return out.extend_from_slice(&[
                d(hi / 100),
                d(hi / 10),
                d(hi),
                d(lo / 100),
                d(lo / 10),
                d(lo),
            ]);
        }
        _ => {}
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// `n` in decimal with a `-` when negative (as `{n}` prints it).
pub fn push_dec_signed(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_dec(out, n.unsigned_abs());
}

/// `n` in decimal, zero-padded to at least `width` digits (as `{n:0width$}`
/// prints it).
pub fn push_dec_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = 1;
    let mut m = n / 10;
    while m > 0 {
        digits += 1;
        m /= 10;
    }
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits)));
    push_dec(out, n);
}

/// HAProxy's `lf_encode_chunk` with `http_encode_map`: bytes 0x00-0x08,
/// 0x0a-0x1f and 0x7f as `%XX`; `Q` quotes.
fn push_http_encoded(out: &mut Vec<u8>, s: &[u8], f: Flags) {
    use std::io::Write as _;
    if f.quote {
        out.push(b'"');
    }
    for &c in s {
        if c <= 0x08 || (0x0a..=0x1f).contains(&c) || c == 0x7f {
            let _ = write!(out, "%{c:02X}");
        } else {
            out.push(c);
        }
    }
    if f.quote {
        out.push(b'"');
    }
}

/// HAProxy's `lf_text_len`: an absent value prints `-` (`""` quoted); `Q` quotes,
/// `E` escapes `"`, `\` and `]`.
pub fn push_text(out: &mut Vec<u8>, s: Option<&[u8]>, f: Flags) {
    let Some(s) = s else {
        out.extend_from_slice(if f.quote { b"\"\"" } else { b"-" });
        return;
    };
    if f.quote {
        out.push(b'"');
    }
    if f.escape {
        for &c in s {
            if matches!(c, b'"' | b'\\' | b']') {
                out.push(b'\\');
            }
            out.push(c);
        }
    } else {
        out.extend_from_slice(s);
    }
    if f.quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    struct Ctx(SocketAddr);
    impl Context for Ctx {
        fn src(&self) -> Option<SocketAddr> {
            Some(self.0)
        }
    }
    struct Vars(Ctx);
    impl LogVars for Vars {
        fn var(&self, out: &mut Vec<u8>, v: LogVar, f: Flags) {
            match v {
                LogVar::ReqCaptures => {}
                _ => push_text(out, Some(format!("{v:?}").as_bytes()), f),
            }
        }
        fn context(&self) -> &dyn Context {
            &self.0
        }
    }

    fn render(s: &str) -> String {
        let f = LogFormat::parse(s, LfMode::Http).unwrap();
        let mut out = Vec::new();
        f.render(&mut out, &Vars(Ctx("10.0.0.1:1234".parse().unwrap())));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn separators_follow_last_isspace() {
        assert_eq!(render(" a  %ci %hr %hr %ci "), "a ClientIp ClientIp ");
        assert_eq!(
            render("%{+Q}o %ci %[src] %[src,ipmask(8)]"),
            "\"ClientIp\" \"10.0.0.1\" \"10.0.0.0\""
        );
        assert_eq!(render("%[src_port,add(1)]|100%%"), "1235|100%");
    }

    /// A format of literal text and spaces only is rendered once; its text is
    /// what a rendering prints.
    #[test]
    fn constant_formats_print_their_rendering() {
        for s in ["haproxide-bench", " a  b ", "100%%", "", "x\\ y"] {
            let f = LogFormat::parse_http_value(s).unwrap();
            let mut out = Vec::new();
            f.render(&mut out, &Vars(Ctx("10.0.0.1:1234".parse().unwrap())));
            assert_eq!(f.constant(), Some(&out[..]), "{s:?}");
        }
        for s in ["%ci", "a %[src]", "%{+Q}o"] {
            let f = LogFormat::parse(s, LfMode::Http).unwrap();
            assert_eq!(f.constant().is_some(), f.nodes().is_empty(), "{s:?}");
        }
    }

    #[test]
    fn http_values_print_nothing_for_an_absent_sample() {
        let f = LogFormat::parse_http_value("%[dst]-%[src]").unwrap();
        let mut out = Vec::new();
        f.render(&mut out, &Vars(Ctx("10.0.0.1:1234".parse().unwrap())));
        assert_eq!(out, b"-10.0.0.1");
        let f = LogFormat::parse("%[dst]-%[src]", LfMode::Http).unwrap();
        let mut out = Vec::new();
        f.render(&mut out, &Vars(Ctx("10.0.0.1:1234".parse().unwrap())));
        assert_eq!(out, b"--10.0.0.1");
    }

    #[test]
    fn errors_are_haproxys() {
        let err = |s| LogFormat::parse(s, LfMode::Tcp).unwrap_err().to_string();
        assert_eq!(err("%Tr"), "format variable 'Tr' is reserved for HTTP mode");
        assert_eq!(
            err("%[nosuch]"),
            "failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'"
        );
        assert_eq!(err("%[src"), "missing ']' after 'src'");
        assert!(LogFormat::parse("%Tr %r", LfMode::Http)
            .unwrap()
            .uses_request_line());
        assert!(!LogFormat::parse("%Tw", LfMode::Tcp)
            .unwrap()
            .uses_request_line());
    }

    #[test]
    fn http_samples_keep_the_request_line() {
        // HAProxy 2.6.12 (measured with `capture.req.uri` and no log): an
        // HTTP fetch or a request-line variable keeps it; L4 and constants not.
        let keeps = |s| {
            LogFormat::parse(s, LfMode::Http)
                .unwrap()
                .keeps_request_line()
        };
        assert!(keeps("%[path]"));
        assert!(keeps("x %[res.fhdr(a)]"));
        assert!(keeps("%HU"));
        assert!(!keeps("%[int(1)]"));
        assert!(!keeps("%[src] %ci"));
        assert!(!keeps("plain"));
    }

    /// The decimal writers print what `{n}` / `{n:0w$}` print.
    #[test]
    fn decimal_writers_match_format() {
        let mut vals = vec![
            0u64,
            1,
            9,
            10,
            99,
            100,
            65_535,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        vals.extend((0..64).map(|s| 1u64 << s).flat_map(|v| [v - 1, v, v + 1]));
        // Each digit count's edges (the fixed-size pieces up to seven digits).
        let mut p = 1u64;
        for _ in 0..19 {
            p *= 10;
            vals.extend([p - 1, p, p + 1, p + p / 3]);
        }
        for v in vals {
            let mut o = Vec::new();
            push_dec(&mut o, v);
            assert_eq!(o, v.to_string().into_bytes());
            for w in [0usize, 2, 3, 4, 25] {
                let mut o = Vec::new();
                push_dec_padded(&mut o, v, w);
                assert_eq!(o, format!("{v:0w$}").into_bytes());
            }
        }
        for v in [0i64, -1, 1, -10, i64::MIN, i64::MAX, -1_234_567] {
            let mut o = Vec::new();
            push_dec_signed(&mut o, v);
            assert_eq!(o, v.to_string().into_bytes());
        }
        for ip in ["0.0.0.0", "127.0.0.1", "255.255.255.255", "10.200.3.45"] {
            let mut o = Vec::new();
            push_ip(&mut o, ip.parse().ok(), Flags::default());
            assert_eq!(o, ip.as_bytes());
        }
        let mut o = Vec::new();
        push_port(&mut o, Some(65_535), Flags::default());
        assert_eq!(o, b"65535");
    }
}
