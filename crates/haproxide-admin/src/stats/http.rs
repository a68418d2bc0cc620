//! A small HTTP/1.1 server for the stats service only (not HTTP mode): request
//! line and headers bounded by [`Limits::max_head`], a `Content-Length` body
//! bounded by [`Limits::max_body`], keep-alive (HTTP/1.1 by default, HTTP/1.0 with
//! `Connection: keep-alive`), pipelined requests answered in order, and HAProxy's
//! timeouts (configuration.txt §4.2 `timeout http-request`, `timeout
//! http-keep-alive`, `timeout client`). Malformed input gets a 400 and the
//! connection is closed; nothing a client sends can panic the server.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A parsed request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent (`/path;csv?query`).
    pub target: String,
    /// HTTP/1.x minor version.
    pub minor: u8,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path (target without the query string).
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn keep_alive(&self) -> bool {
        let conn = self
            .header("connection")
            .map(|v| v.to_ascii_lowercase())
            .unwrap_or_default();
        let has = |t: &str| conn.split(',').any(|x| x.trim() == t);
        if self.minor == 0 {
            has("keep-alive")
        } else {
            !has("close")
        }
    }
}

/// A response; `content-length` and `connection` are added when it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![
                ("cache-control".into(), "no-cache".into()),
                ("content-type".into(), content_type.into()),
            ],
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// HAProxy's canned error pages (its `http_err_msgs`).
pub fn error(status: u16) -> Response {
    let text = match status {
        400 => "Your browser sent an invalid request.",
        403 => "Request forbidden by administrative rules.",
        405 => "Method not allowed.",
        408 => "Your browser didn't send a complete request in time.",
        413 => "The request entity is too large.",
        501 => "The server does not support the functionality required to fulfill the request.",
        _ => "No server is available to handle this request.",
    };
    Response::new(
        status,
        "text/html",
        format!(
            "<html><body><h1>{status} {}</h1>\n{text}\n</body></html>\n",
            reason(status)
        ),
    )
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Time-out",
        413 => "Payload Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Bounds and timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request line + headers (HAProxy: `tune.bufsize` minus the reserve).
    pub max_head: usize,
    /// Request body.
    pub max_body: usize,
    /// From the first byte to the end of the request (`timeout http-request`,
    /// else `timeout client`).
    pub request: Duration,
    /// Waiting for the next request on a kept-alive connection (`timeout
    /// http-keep-alive`, else the request timeout).
    pub keep_alive: Duration,
    /// Writing a response (`timeout client`).
    pub write: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 15 * 1024,
            max_body: 64 * 1024,
            request: Duration::from_secs(30),
            keep_alive: Duration::from_secs(30),
            write: Duration::from_secs(30),
        }
    }
}

/// What [`parse_head`] made of the bytes received so far.
#[derive(Debug)]
pub enum Parsed {
    /// Need more bytes.
    Partial,
    /// A request head of that many bytes, and the body length.
    Head(Request, usize, usize),
    Bad(u16),
}

/// Finds the end of the request head: the first empty line, with CRLF or bare LF
/// line endings (HAProxy's H1 parser takes both), so that a bare-LF request pipelined
/// before a CRLF one ends where it should. Returns (head without its final line
/// ending, bytes taken by the head).
fn head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = buf[from..].iter().position(|&b| b == b'\n') {
        let i = from + i;
        match buf.get(i + 1..) {
            Some([b'\n', ..]) => return Some((i, i + 2)),
            Some([b'\r', b'\n', ..]) => return Some((i, i + 3)),
            _ => {}
        }
        from = i + 1;
    }
    None
}

/// Parses a request head at the start of `buf` (public for the fuzz target
/// `stats_http`).
pub fn parse_head(buf: &[u8], max_head: usize, max_body: usize) -> Parsed {
    match head_end(buf) {
        Some((end, _)) if end > max_head => Parsed::Bad(400),
        Some((end, len)) => head(&buf[..end], len, max_body),
        None if buf.len() > max_head => Parsed::Bad(400),
        None => Parsed::Partial,
    }
}

/// A `Content-Length` value as HAProxy's `h1_parse_cont_len_header` takes it: only
/// decimal digits, or a comma-separated list of equal such values.
fn content_length(v: &str) -> Option<u64> {
    let mut out = None;
    for part in v.split(',') {
        let part = part.trim_matches([' ', '\t']);
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = part.parse().ok()?;
        if out.is_some_and(|o| o != n) {
            return None;
        }
        out = Some(n);
    }
    out
}

fn head(raw: &[u8], len: usize, max_body: usize) -> Parsed {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Parsed::Bad(400);
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Bad(400);
    };
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        _ => return Parsed::Bad(400),
    };
    // The request target: printable ASCII only, as HAProxy (no control character,
    // no NUL, no DEL, no 8-bit byte without `option accept-invalid-http-request`).
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_alphabetic())
        || !target.bytes().all(|b| (0x21..0x7f).contains(&b))
        || !(target.starts_with('/')
            || target.starts_with("http://")
            || target.starts_with("https://"))
    {
        return Parsed::Bad(400);
    }
    // An absolute URI: keep its path.
    let target = match target
        .strip_prefix("http://")
        .or(target.strip_prefix("https://"))
    {
        Some(rest) => match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        },
        None => target,
    };
    let mut headers = Vec::new();
    for l in lines {
        let Some((n, v)) = l.split_once(':') else {
            return Parsed::Bad(400);
        };
        if n.is_empty()
            || n.bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Parsed::Bad(400);
        }
        headers.push((n.to_ascii_lowercase(), v.trim().to_string()));
    }
    let req = Request {
        method: method.to_string(),
        target: target.to_string(),
        minor,
        headers,
        body: Vec::new(),
    };
    if req.header("transfer-encoding").is_some() {
        // Chunked request bodies are not needed by the stats page's forms.
        return Parsed::Bad(501);
    }
    let mut body = 0usize;
    let lens: Vec<&str> = req
        .headers
        .iter()
        .filter(|(n, _)| n == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    if let Some(first) = lens.first() {
        if lens.iter().any(|l| l != first) {
            return Parsed::Bad(400);
        }
        match content_length(first) {
            Some(n) if n <= max_body as u64 => body = n as usize,
            Some(_) => return Parsed::Bad(413),
            None => return Parsed::Bad(400),
        }
    }
    Parsed::Head(req, len, body)
}

/// Serialises a response head and body (the body is left out for HEAD).
pub fn encode(resp: &Response, head_only: bool, close: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (n, v) in &resp.headers {
        // Defence in depth against header injection: a CR, LF or NUL never reaches
        // the wire inside a header (the values built here never carry one).
        let clean = |t: &str| t.replace(['\r', '\n', '\0'], "");
        out.push_str(&format!("{}: {}\r\n", clean(n), clean(v)));
    }
    out.push_str(&format!("content-length: {}\r\n", resp.body.len()));
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&resp.body);
    }
    bytes
}

/// Bytes received and sent by a service (the `bin`/`bout` of its frontend).
#[derive(Debug, Default)]
pub struct ByteTally {
    pub bytes_in: std::sync::atomic::AtomicU64,
    pub bytes_out: std::sync::atomic::AtomicU64,
}

impl ByteTally {
    fn add(c: &std::sync::atomic::AtomicU64, n: usize) {
        c.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Serves requests on one connection until the client closes, a timeout, an error,
/// or `stop` (then the connection closes once idle or after the current response).
/// Bytes read and written are added to `tally`.
pub async fn serve<S, F>(
    mut stream: S,
    limits: Limits,
    stop: impl Future<Output = ()>,
    tally: Option<&ByteTally>,
    mut handler: F,
) where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(&Request) -> Response,
{
    tokio::pin!(stop);
    let mut stopping = false;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 8192];
    let mut first = true;
    loop {
        // 1. Read a request head (the first byte within keep-alive, the rest within
        //    the request timeout).
        let mut deadline = None;
        let parsed = loop {
            match parse_head(&buf, limits.max_head, limits.max_body) {
                Parsed::Partial => {}
                other => break other,
            }
            if buf.is_empty() && stopping {
                return;
            }
            let wait = match deadline {
                Some(d) => d,
                None if buf.is_empty() && !first => tokio::time::Instant::now() + limits.keep_alive,
                None => {
                    let d = tokio::time::Instant::now() + limits.request;
                    deadline = Some(d);
                    d
                }
            };
            let n = tokio::select! {
                r = tokio::time::timeout_at(wait, stream.read(&mut chunk)) => match r {
                    Ok(Ok(0)) | Ok(Err(_)) => return,
                    Ok(Ok(n)) => n,
                    Err(_) => {
                        if !buf.is_empty() || first {
                            let _ = write_all(&mut stream, &encode(&error(408), false, true), limits.write).await;
                        }
                        return;
                    }
                },
                _ = &mut stop, if !stopping => {
                    stopping = true;
                    continue;
                }
            };
            if deadline.is_none() {
                deadline = Some(tokio::time::Instant::now() + limits.request);
            }
            if let Some(t) = tally {
                ByteTally::add(&t.bytes_in, n);
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        first = false;
        let (mut req, head_len, body_len) = match parsed {
            Parsed::Head(r, h, b) => (r, h, b),
            Parsed::Bad(code) => {
                let _ = write_all(
                    &mut stream,
                    &encode(&error(code), false, true),
                    limits.write,
                )
                .await;
                return;
            }
            Parsed::Partial => return,
        };
        // 2. The body.
        let wait = deadline.unwrap_or_else(|| tokio::time::Instant::now() + limits.request);
        while buf.len() < head_len + body_len {
            match tokio::time::timeout_at(wait, stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => {
                    if let Some(t) = tally {
                        ByteTally::add(&t.bytes_in, n);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                Err(_) => {
                    let _ = write_all(&mut stream, &encode(&error(408), false, true), limits.write)
                        .await;
                    return;
                }
            }
        }
        req.body = buf[head_len..head_len + body_len].to_vec();
        buf.drain(..head_len + body_len);
        // 3. Answer.
        let resp = handler(&req);
        let close = stopping || !req.keep_alive();
        let bytes = encode(&resp, req.method == "HEAD", close);
        if let Some(t) = tally {
            ByteTally::add(&t.bytes_out, bytes.len());
        }
        if write_all(&mut stream, &bytes, limits.write).await.is_err() || close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

async fn write_all<S: AsyncWrite + Unpin>(
    s: &mut S,
    bytes: &[u8],
    t: Duration,
) -> std::io::Result<()> {
    match tokio::time::timeout(t, s.write_all(bytes)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Decodes `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte).
pub fn form_decode(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (url_decode(k), url_decode(v))
        })
        .collect()
}

pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes standard base64 (for `Authorization: Basic`); None if malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
