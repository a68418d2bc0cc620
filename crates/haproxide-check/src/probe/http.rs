//! HTTP health checks (configuration.txt §4.2 `option httpchk`,
//! `http-check send`, `http-check expect`, `http-check connect`,
//! `http-check disable-on-404`, `http-check send-state`).
//!
//! Why not reqwest: HAProxy's check request is a fixed byte sequence
//! (`OPTIONS / HTTP/1.0\r\n\r\n` by default, lower-cased header names,
//! `connection: close` only for HTTP/1.1, no `Host` unless configured) and
//! HAProxy judges the response on the status line as soon as the headers are
//! in, without waiting for the body, and accepts `HTTP/1.0 200 OK\r\n\r\n`
//! followed by close. reqwest/hyper always send HTTP/1.1 with their own
//! headers and cannot send `OPTIONS / HTTP/1.0` verbatim, so this module
//! writes the request bytes itself and parses the response with a small,
//! lenient reader.

use regex::bytes::Regex;
use tokio::time::Instant;

use super::conn::{strerror, ConnectPlan, IoFailure, Session};
use crate::spec::{ExpectOptions, HttpCheckSpec, HttpExpect, HttpExpectKind, HttpSend};
use crate::status::{CheckResult, CheckStatus};

impl HttpSend {
    /// Builds the request from `option httpchk` arguments (configuration.txt
    /// §4.2): none → `OPTIONS / HTTP/1.0`; `<uri>`; `<meth> <uri>`;
    /// `<meth> <uri> <ver>`, where the deprecated form hiding headers after
    /// the version (`HTTP/1.1\r\nHost:\ www`) is split into headers.
    pub fn from_httpchk_args(args: &[&str]) -> Self {
        let mut s = Self::default();
        match args {
            [] => {}
            [uri] => s.uri = uri.to_string(),
            [meth, uri] => {
                s.method = meth.to_string();
                s.uri = uri.to_string();
            }
            [meth, uri, ver, ..] => {
                s.method = meth.to_string();
                s.uri = uri.to_string();
                let mut parts = ver.split("\r\n");
                s.version = parts.next().unwrap_or("HTTP/1.0").to_string();
                for h in parts.filter(|h| !h.is_empty()) {
                    if let Some((n, v)) = h.split_once(':') {
                        s.headers.push((n.trim().to_string(), v.trim().to_string()));
                    }
                }
            }
        }
        s
    }

    /// The exact bytes HAProxy 2.6 sends for this request (verified by
    /// capture): header names lower-cased, user `content-length` and
    /// `connection` dropped, `x-haproxy-server-state` after the user headers,
    /// then `content-length` when there is a body, then `connection: close`
    /// for HTTP/1.1 unless the user asked for keep-alive.
    pub fn to_bytes(&self, state_header: Option<&str>) -> Vec<u8> {
        let mut out = format!("{} {} {}\r\n", self.method, self.uri, self.version);
        let mut keep_alive = false;
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("content-length") {
                continue;
            }
            if n.eq_ignore_ascii_case("connection") {
                keep_alive |= v.to_ascii_lowercase().contains("keep-alive");
                continue;
            }
            out.push_str(&n.to_ascii_lowercase());
            out.push_str(": ");
            out.push_str(v);
            out.push_str("\r\n");
        }
        if let Some(st) = state_header {
            out.push_str("x-haproxy-server-state: ");
            out.push_str(st);
            out.push_str("\r\n");
        }
        let body = self.body.as_deref().unwrap_or(&[]);
        if !body.is_empty() {
            out.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        if self.version.eq_ignore_ascii_case("HTTP/1.1") && !keep_alive {
            out.push_str("connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Headers in order, names as received.
    pub headers: Vec<(String, String)>,
    /// Offset of the body in the buffer.
    pub body_start: usize,
}

/// Result of trying to parse a response head.
#[derive(Debug, PartialEq, Eq)]
pub enum Parse {
    /// More bytes are needed.
    Partial,
    /// Not HTTP.
    Invalid,
    /// Parsed.
    Done(ResponseHead),
}

/// Parses the status line and headers. Accepts LF or CRLF line ends and a
/// head with no header at all (`HTTP/1.0 200 OK\r\n\r\n`).
pub fn parse_head(buf: &[u8]) -> Parse {
    let mut lines = Vec::new();
    let mut pos = 0;
    let body_start = loop {
        let Some(nl) = buf[pos..].iter().position(|&c| c == b'\n') else {
            if !buf.starts_with(b"HTTP/") && !b"HTTP/".starts_with(&buf[..buf.len().min(5)]) {
                return Parse::Invalid;
            }
            return Parse::Partial;
        };
        let mut line = &buf[pos..pos + nl];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        pos += nl + 1;
        if line.is_empty() {
            if lines.is_empty() {
                return Parse::Invalid;
            }
            break pos;
        }
        lines.push(line);
    };
    let Ok(status_line) = std::str::from_utf8(lines[0]) else {
        return Parse::Invalid;
    };
    let mut it = status_line.splitn(3, ' ');
    let (Some(ver), Some(code)) = (it.next(), it.next()) else {
        return Parse::Invalid;
    };
    if !ver.starts_with("HTTP/") || code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Parse::Invalid;
    }
    let Ok(status) = code.parse::<u16>() else {
        return Parse::Invalid;
    };
    let reason = it.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for l in &lines[1..] {
        let Some(colon) = l.iter().position(|&c| c == b':') else {
            return Parse::Invalid;
        };
        let name = String::from_utf8_lossy(&l[..colon]).trim().to_string();
        if name.is_empty() || name.contains(' ') {
            return Parse::Invalid;
        }
        let value = String::from_utf8_lossy(&l[colon + 1..]).trim().to_string();
        headers.push((name, value));
    }
    Parse::Done(ResponseHead {
        status,
        reason,
        headers,
        body_start,
    })
}

impl ResponseHead {
    fn header<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Body length if framed by `content-length`.
    fn content_length(&self) -> Option<usize> {
        self.header("content-length")
            .next()
            .and_then(|v| v.trim().parse().ok())
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .any(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

/// Decodes as much of a chunked body as is present; returns the data and
/// whether the terminating chunk was seen.
fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.iter().position(|&c| c == b'\n') else {
            return (out, false);
        };
        let line = String::from_utf8_lossy(&b[..nl]);
        let size_txt = line
            .trim()
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let Ok(size) = usize::from_str_radix(&size_txt, 16) else {
            return (out, false);
        };
        b = &b[nl + 1..];
        if size == 0 {
            return (out, true);
        }
        if b.len() < size {
            out.extend_from_slice(b);
            return (out, false);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size..];
        b = b
            .strip_prefix(b"\r\n")
            .or_else(|| b.strip_prefix(b"\n"))
            .unwrap_or(b);
    }
}

/// A compiled `http-check expect` list.
#[derive(Debug, Clone)]
pub struct HttpRules {
    expects: Vec<(bool, CompiledExpect, ExpectOptions)>,
    disable_on_404: bool,
    /// The request bytes when they never change (no `send-state`).
    fixed_request: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum CompiledExpect {
    Status(Vec<(u16, u16)>),
    RStatus(Regex),
    String(Vec<u8>),
    RString(Regex),
    Hdr {
        name: String,
        value: Option<String>,
        full: bool,
    },
}

/// An `http-check expect` regex did not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid http-check expect regex {pattern:?}: {reason}")]
pub struct HttpRuleError {
    /// Pattern.
    pub pattern: String,
    /// Reason.
    pub reason: String,
}

impl HttpRules {
    /// Compiles the expect rules. Without any rule, HAProxy expects a status
    /// in 200-399 (configuration.txt §4.2 `option httpchk`: "2xx and 3xx are
    /// considered valid").
    pub fn compile(spec: &HttpCheckSpec) -> Result<Self, HttpRuleError> {
        let re = |p: &str| {
            Regex::new(p).map_err(|e| HttpRuleError {
                pattern: p.to_string(),
                reason: e.to_string(),
            })
        };
        let mut expects = Vec::new();
        for (i, HttpExpect { negate, kind }) in spec.expect.iter().enumerate() {
            let c = match kind {
                HttpExpectKind::Status(r) => CompiledExpect::Status(r.clone()),
                HttpExpectKind::RStatus(p) => CompiledExpect::RStatus(re(p)?),
                HttpExpectKind::String(s) => CompiledExpect::String(s.as_bytes().to_vec()),
                HttpExpectKind::RString(p) => CompiledExpect::RString(re(p)?),
                HttpExpectKind::Hdr { name, value } => CompiledExpect::Hdr {
                    name: name.clone(),
                    value: value.clone(),
                    full: false,
                },
                HttpExpectKind::FHdr { name, value } => CompiledExpect::Hdr {
                    name: name.clone(),
                    value: value.clone(),
                    full: true,
                },
            };
            let opts = spec.expect_options.get(i).cloned().unwrap_or_default();
            expects.push((*negate, c, opts));
        }
        if expects.is_empty() {
            expects.push((
                false,
                CompiledExpect::Status(vec![(200, 399)]),
                ExpectOptions::default(),
            ));
        }
        Ok(Self {
            expects,
            disable_on_404: spec.disable_on_404,
            fixed_request: (!spec.send_state).then(|| spec.send.to_bytes(None)),
        })
    }
}

enum Verdict {
    NeedMore,
    Done(CheckResult),
}

/// Judges a response against the rules. `last_read`: no more data will come.
fn judge(
    rules: &HttpRules,
    buf: &[u8],
    last_read: bool,
    server_stopped: bool,
    is_head: bool,
    start: Instant,
) -> Verdict {
    let res = |st: CheckStatus| CheckResult::new(st, start.elapsed());
    let head = match parse_head(buf) {
        Parse::Partial if !last_read => return Verdict::NeedMore,
        Parse::Partial | Parse::Invalid => return Verdict::Done(res(CheckStatus::L7Rsp)),
        Parse::Done(h) => h,
    };
    let code = u32::from(head.status);
    if rules.disable_on_404 && !server_stopped && head.status == 404 {
        return Verdict::Done(res(CheckStatus::L7OkC).with_code(code));
    }
    // Body as far as received, and whether it is complete.
    let raw = &buf[head.body_start..];
    let no_body =
        is_head || head.status == 204 || head.status == 304 || (100..200).contains(&head.status);
    let (body, complete): (std::borrow::Cow<[u8]>, bool) = if no_body {
        (std::borrow::Cow::Borrowed(&[][..]), true)
    } else if head.chunked() {
        let (b, done) = dechunk(raw);
        (std::borrow::Cow::Owned(b), done)
    } else if let Some(cl) = head.content_length() {
        (
            std::borrow::Cow::Borrowed(&raw[..raw.len().min(cl)]),
            raw.len() >= cl,
        )
    } else {
        (std::borrow::Cow::Borrowed(raw), false)
    };
    let body_last = last_read || complete;
    let mut last_opts: Option<&ExpectOptions> = None;
    for (negate, e, opts) in &rules.expects {
        last_opts = Some(opts);
        // configuration.txt §4.2 `http-check expect`: `on-error` replaces the
        // default description, `comment` is appended to it.
        let fail = |status: CheckStatus, desc: String| {
            let mut d = opts.on_error.clone().unwrap_or(desc);
            if let Some(c) = &opts.comment {
                d.push_str(" comment: ");
                d.push_str(c);
            }
            Verdict::Done(
                res(opts.error_status.unwrap_or(status))
                    .with_code(code)
                    .with_desc(d),
            )
        };
        let (matched, err_status, desc) = match e {
            CompiledExpect::Status(ranges) => {
                let m = ranges
                    .iter()
                    .any(|&(lo, hi)| head.status >= lo && head.status <= hi);
                (m, CheckStatus::L7Sts, head.reason.clone())
            }
            CompiledExpect::RStatus(r) => (
                r.is_match(head.status.to_string().as_bytes()),
                CheckStatus::L7Sts,
                head.reason.clone(),
            ),
            CompiledExpect::Hdr { name, value, full } => {
                let mut m = false;
                for v in head.header(name) {
                    match value {
                        None => m = true,
                        Some(want) if *full => m |= v == want,
                        Some(want) => m |= v.split(',').any(|p| p.trim() == want),
                    }
                }
                (m, CheckStatus::L7Sts, head.reason.clone())
            }
            CompiledExpect::String(_) | CompiledExpect::RString(_) => {
                if body.is_empty() {
                    if !body_last {
                        return Verdict::NeedMore;
                    }
                    return fail(
                        CheckStatus::L7Rsp,
                        "HTTP content check could not find a response body".into(),
                    );
                }
                if let Some(min) = opts.min_recv {
                    if body.len() < min && !body_last {
                        return Verdict::NeedMore;
                    }
                }
                let m = match e {
                    CompiledExpect::String(p) => {
                        body.windows(p.len().max(1)).any(|w| w == p.as_slice())
                    }
                    CompiledExpect::RString(r) => r.is_match(&body),
                    _ => false,
                };
                // Without `min-recv`, a mismatch waits for more of the body.
                if !m && !body_last && opts.min_recv.is_none() {
                    return Verdict::NeedMore;
                }
                let d = if *negate {
                    "HTTP check matched unwanted content"
                } else {
                    "HTTP content check did not match"
                };
                (m, CheckStatus::L7Rsp, d.to_string())
            }
        };
        if matched == *negate {
            return fail(err_status, desc);
        }
    }
    let ok = last_opts
        .and_then(|o| o.ok_status)
        .unwrap_or(CheckStatus::L7Ok);
    let info = last_opts
        .and_then(|o| o.on_success.clone())
        .unwrap_or_default();
    Verdict::Done(res(ok).with_code(code).with_desc(info))
}

/// Runs one HTTP check over `plan`.
pub async fn run(
    spec: &HttpCheckSpec,
    rules: &HttpRules,
    plan: &ConnectPlan,
    state_header: Option<&str>,
    server_stopped: bool,
    start: Instant,
) -> CheckResult {
    let mut plan = plan.clone();
    if let Some(c) = &spec.connect {
        super::apply_connect_rule(&mut plan, c);
    }
    let mut s = match Session::open(&plan, start, "").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let req: std::borrow::Cow<[u8]> = match &rules.fixed_request {
        Some(b) => std::borrow::Cow::Borrowed(b),
        None => std::borrow::Cow::Owned(spec.send.to_bytes(state_header)),
    };
    let is_head = spec.send.method.eq_ignore_ascii_case("HEAD");
    let fail = |f: IoFailure| match f {
        IoFailure::Timeout => CheckResult::new(CheckStatus::L7Tout, start.elapsed()),
        IoFailure::Io(e) => {
            CheckResult::new(CheckStatus::SockErr, start.elapsed()).with_desc(strerror(&e))
        }
    };
    if let Err(f) = s.send(&req).await {
        return fail(f);
    }
    loop {
        match s.fill().await {
            Ok(_) => {}
            Err(IoFailure::Io(e)) if s.buf.is_empty() => return fail(IoFailure::Io(e)),
            // An error after some data: judge what arrived (HAProxy does the same,
            // an RST right after the last chunk is common).
            Err(IoFailure::Io(_)) => s.eof = true,
            Err(f) => return fail(f),
        }
        if s.buf.is_empty() && s.eof {
            return CheckResult::new(CheckStatus::L7Rsp, start.elapsed());
        }
        match judge(rules, &s.buf, s.last_read(), server_stopped, is_head, start) {
            Verdict::NeedMore => continue,
            Verdict::Done(r) => {
                s.close().await;
                return r;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes_match_haproxy_captures() {
        // Each expected string was captured from HAProxy 2.6.12.
        let cases: &[(&[&str], &str)] = &[
            (&[], "OPTIONS / HTTP/1.0\r\n\r\n"),
            (&["/health"], "OPTIONS /health HTTP/1.0\r\n\r\n"),
            (&["GET", "/master"], "GET /master HTTP/1.0\r\n\r\n"),
            (
                &["GET", "/replica", "HTTP/1.1"],
                "GET /replica HTTP/1.1\r\nconnection: close\r\n\r\n",
            ),
            (
                &["GET", "/r", "HTTP/1.1\r\nHost: www"],
                "GET /r HTTP/1.1\r\nhost: www\r\nconnection: close\r\n\r\n",
            ),
        ];
        for (args, want) in cases {
            let got = HttpSend::from_httpchk_args(args).to_bytes(None);
            assert_eq!(String::from_utf8_lossy(&got), *want, "{args:?}");
        }
    }

    #[test]
    fn http_check_send_bytes() {
        let s = HttpSend {
            method: "POST".into(),
            uri: "/x".into(),
            version: "HTTP/1.1".into(),
            headers: vec![
                ("Host".into(), "example".into()),
                ("X-A".into(), "b".into()),
            ],
            body: Some(b"hello".to_vec()),
        };
        assert_eq!(
            s.to_bytes(None),
            b"POST /x HTTP/1.1\r\nhost: example\r\nx-a: b\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"
        );
        let s = HttpSend {
            headers: vec![("X-Foo".into(), "Bar".into())],
            body: Some(b"abc".to_vec()),
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8_lossy(&s.to_bytes(Some("UP 1/3; address=127.0.0.1"))),
            "OPTIONS / HTTP/1.0\r\nx-foo: Bar\r\nx-haproxy-server-state: UP 1/3; address=127.0.0.1\r\ncontent-length: 3\r\n\r\nabc"
        );
        let s = HttpSend {
            method: "GET".into(),
            uri: "/x".into(),
            version: "HTTP/1.1".into(),
            headers: vec![
                ("Host".into(), "h".into()),
                ("Connection".into(), "keep-alive".into()),
            ],
            body: None,
        };
        assert_eq!(s.to_bytes(None), b"GET /x HTTP/1.1\r\nhost: h\r\n\r\n");
        let s = HttpSend {
            method: "HEAD".into(),
            uri: "/y".into(),
            version: "HTTP/1.1".into(),
            headers: vec![("content-length".into(), "7".into())],
            body: None,
        };
        assert_eq!(
            s.to_bytes(None),
            b"HEAD /y HTTP/1.1\r\nconnection: close\r\n\r\n"
        );
    }

    #[test]
    fn parse_heads() {
        let Parse::Done(h) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n") else {
            panic!()
        };
        assert_eq!(
            (h.status, h.reason.as_str(), h.headers.len(), h.body_start),
            (200, "OK", 0, 19)
        );
        let Parse::Done(h) = parse_head(b"HTTP/1.1 503 Service Unavailable\nA: b\n\nbody") else {
            panic!()
        };
        assert_eq!(
            (h.status, h.reason.as_str(), h.headers.len()),
            (503, "Service Unavailable", 1)
        );
        assert_eq!(parse_head(b"HTTP/1.0 200 OK\r\n"), Parse::Partial);
        assert_eq!(parse_head(b"HTT"), Parse::Partial);
        assert_eq!(parse_head(b"garbage\r\n\r\n"), Parse::Invalid);
        assert_eq!(parse_head(b"HTTP/1.0 2000 OK\r\n\r\n"), Parse::Invalid);
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
            (b"abcde".to_vec(), true)
        );
    }

    fn rules(expect: Vec<HttpExpect>) -> HttpRules {
        HttpRules::compile(&HttpCheckSpec {
            expect,
            ..Default::default()
        })
        .unwrap()
    }

    fn verdict(
        r: &HttpRules,
        buf: &[u8],
        last: bool,
    ) -> Option<(CheckStatus, Option<u32>, String)> {
        match judge(r, buf, last, false, false, Instant::now()) {
            Verdict::NeedMore => None,
            Verdict::Done(r) => Some((r.status, r.code, r.desc)),
        }
    }

    #[test]
    fn default_expect_is_2xx_3xx() {
        let r = rules(vec![]);
        assert_eq!(
            verdict(&r, b"HTTP/1.0 200 OK\r\n\r\n", false),
            Some((CheckStatus::L7Ok, Some(200), String::new()))
        );
        assert_eq!(
            verdict(&r, b"HTTP/1.0 302 Found\r\n\r\n", false).map(|v| v.0),
            Some(CheckStatus::L7Ok)
        );
        assert_eq!(
            verdict(&r, b"HTTP/1.0 503 Service Unavailable\r\n\r\n", false),
            Some((CheckStatus::L7Sts, Some(503), "Service Unavailable".into()))
        );
        assert_eq!(verdict(&r, b"HTTP/1.0 200 OK\r\n", false), None);
        assert_eq!(
            verdict(&r, b"HTTP/1.0 200 OK\r\n", true).map(|v| v.0),
            Some(CheckStatus::L7Rsp)
        );
        assert_eq!(
            verdict(&r, b"garbage\r\n\r\n", false).map(|v| v.0),
            Some(CheckStatus::L7Rsp)
        );
    }

    #[test]
    fn body_expects_wait_for_eof_without_length() {
        let r = rules(vec![HttpExpect {
            negate: false,
            kind: HttpExpectKind::String("master".into()),
        }]);
        let head = b"HTTP/1.0 200 OK\r\n\r\n{\"role\": \"rep";
        assert_eq!(verdict(&r, head, false), None);
        assert_eq!(
            verdict(&r, b"HTTP/1.0 200 OK\r\n\r\n{\"role\": \"master\"}", false).map(|v| v.0),
            Some(CheckStatus::L7Ok)
        );
        assert_eq!(
            verdict(&r, b"HTTP/1.0 200 OK\r\n\r\n{\"role\": \"replica\"}", true),
            Some((
                CheckStatus::L7Rsp,
                Some(200),
                "HTTP content check did not match".into()
            ))
        );
        assert_eq!(
            verdict(
                &r,
                b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
                false
            )
            .map(|v| v.2),
            Some("HTTP content check did not match".into())
        );
        assert_eq!(
            verdict(&r, b"HTTP/1.0 200 OK\r\n\r\n", true).map(|v| v.2),
            Some("HTTP content check could not find a response body".into())
        );
        let n = rules(vec![HttpExpect {
            negate: true,
            kind: HttpExpectKind::RString("rep.*".into()),
        }]);
        assert_eq!(
            verdict(&n, b"HTTP/1.0 200 OK\r\n\r\nreplica", true).map(|v| v.2),
            Some("HTTP check matched unwanted content".into())
        );
    }

    #[test]
    fn status_hdr_and_negation() {
        let r = rules(vec![HttpExpect {
            negate: false,
            kind: HttpExpectKind::Status(vec![(200, 200)]),
        }]);
        assert_eq!(
            verdict(&r, b"HTTP/1.1 204 No Content\r\n\r\n", false).map(|v| v.0),
            Some(CheckStatus::L7Sts)
        );
        let r = rules(vec![HttpExpect {
            negate: true,
            kind: HttpExpectKind::RStatus("^5".into()),
        }]);
        assert_eq!(
            verdict(&r, b"HTTP/1.1 404 Not Found\r\n\r\n", false).map(|v| v.0),
            Some(CheckStatus::L7Ok)
        );
        assert_eq!(
            verdict(&r, b"HTTP/1.1 500 Oops\r\n\r\n", false).map(|v| v.0),
            Some(CheckStatus::L7Sts)
        );
        let r = rules(vec![HttpExpect {
            negate: false,
            kind: HttpExpectKind::Hdr {
                name: "x-role".into(),
                value: Some("master".into()),
            },
        }]);
        assert_eq!(
            verdict(&r, b"HTTP/1.1 200 OK\r\nX-Role: a, master\r\n\r\n", false).map(|v| v.0),
            Some(CheckStatus::L7Ok)
        );
        let f = rules(vec![HttpExpect {
            negate: false,
            kind: HttpExpectKind::FHdr {
                name: "x-role".into(),
                value: Some("master".into()),
            },
        }]);
        assert_eq!(
            verdict(&f, b"HTTP/1.1 200 OK\r\nX-Role: a, master\r\n\r\n", false).map(|v| v.0),
            Some(CheckStatus::L7Sts)
        );
    }

    #[test]
    fn expect_options() {
        let spec = HttpCheckSpec {
            expect: vec![HttpExpect {
                negate: false,
                kind: HttpExpectKind::String("master".into()),
            }],
            expect_options: vec![ExpectOptions {
                min_recv: Some(3),
                ok_status: Some(CheckStatus::L7OkC),
                on_error: Some("not primary".into()),
                comment: Some("role".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = HttpRules::compile(&spec).unwrap();
        // 2 bytes of body: wait; 3 bytes without a match: conclusive (min-recv).
        assert_eq!(verdict(&r, b"HTTP/1.0 200 OK\r\n\r\nre", false), None);
        assert_eq!(
            verdict(&r, b"HTTP/1.0 200 OK\r\n\r\nrep", false),
            Some((
                CheckStatus::L7Rsp,
                Some(200),
                "not primary comment: role".into()
            ))
        );
        assert_eq!(
            verdict(&r, b"HTTP/1.0 200 OK\r\n\r\nmaster", false),
            Some((CheckStatus::L7OkC, Some(200), String::new()))
        );
    }

    #[test]
    fn disable_on_404() {
        let r = HttpRules::compile(&HttpCheckSpec {
            disable_on_404: true,
            ..Default::default()
        })
        .unwrap();
        let v = judge(
            &r,
            b"HTTP/1.1 404 Not Found\r\n\r\n",
            false,
            false,
            false,
            Instant::now(),
        );
        assert!(matches!(v, Verdict::Done(ref x) if x.status == CheckStatus::L7OkC));
        // not while the server is down
        let v = judge(
            &r,
            b"HTTP/1.1 404 Not Found\r\n\r\n",
            false,
            true,
            false,
            Instant::now(),
        );
        assert!(matches!(v, Verdict::Done(ref x) if x.status == CheckStatus::L7Sts));
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever a server sends, the reader never panics, and the
            /// verdict is one of HAProxy's HTTP outcomes.
            #[test]
            fn any_bytes_give_a_verdict(buf in prop::collection::vec(any::<u8>(), 0..600), last in any::<bool>()) {
                let _ = parse_head(&buf);
                let r = HttpRules::compile(&HttpCheckSpec {
                    expect: vec![HttpExpect { negate: false, kind: HttpExpectKind::String("ok".into()) }],
                    ..Default::default()
                })
                .unwrap();
                match judge(&r, &buf, last, false, false, Instant::now()) {
                    Verdict::NeedMore => prop_assert!(!last),
                    Verdict::Done(res) => prop_assert!(matches!(
                        res.status,
                        CheckStatus::L7Ok | CheckStatus::L7Rsp | CheckStatus::L7Sts | CheckStatus::L7OkC
                    )),
                }
            }

            /// Any status line with headers parses back to its code.
            #[test]
            fn generated_heads_parse(code in 100u16..600, hdrs in prop::collection::vec(("[a-zA-Z-]{1,12}", "[ -~]{0,20}"), 0..5), crlf in any::<bool>()) {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut t = format!("HTTP/1.1 {code} Reason{eol}");
                for (n, v) in &hdrs {
                    t.push_str(&format!("{n}: {v}{eol}"));
                }
                t.push_str(eol);
                match parse_head(t.as_bytes()) {
                    Parse::Done(h) => {
                        prop_assert_eq!(h.status, code);
                        prop_assert_eq!(h.headers.len(), hdrs.len());
                        prop_assert_eq!(h.body_start, t.len());
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }
    }
}
