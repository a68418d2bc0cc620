//! Support of the HTTP differential test (tests/http_differential.rs): what the
//! recording backends answer, where requests and responses end (the codec's
//! framing), masking of log lines, configuration placeholders, the known list.
#![allow(dead_code)]

pub mod actions;
pub mod after;
pub mod bodyless;
pub mod cache;
pub mod cases;
pub mod configs;
pub mod dynbe;
pub mod hdrcnt;
pub mod hdrnames;
pub mod listen;
pub mod monitor;
pub mod page;
pub mod waitbody;

use std::collections::HashMap;

use haproxide_http::body::{BodyDecoder, Step};
use haproxide_http::parse::{parse_request, parse_response, ParseOptions, Parsed};
use haproxide_http::BodyLength;
use haproxide_testkit::recorder::Reply;

/// The length of the first complete request in `buf` (lenient parsing: the
/// backend sees what a proxy forwards, already checked).
pub fn request_len(buf: &[u8]) -> Option<usize> {
    let opts = ParseOptions {
        accept_invalid: true,
        ..ParseOptions::default()
    };
    let Ok(Parsed::Complete { message, len }) = parse_request(buf, &opts) else {
        return None;
    };
    body_end(message.body, buf, len)
}

/// Where a body of `length` that starts at `start` ends in `buf`, if it is all there.
fn body_end(length: BodyLength, buf: &[u8], start: usize) -> Option<usize> {
    let mut dec = BodyDecoder::new(length, 1 << 20);
    let mut at = start;
    loop {
        let (n, step) = dec.step(buf.get(at..)?).ok()?;
        at += n;
        match step {
            Step::Done => return Some(at),
            Step::NeedMore => return None,
            _ if n == 0 => return None,
            _ => {}
        }
    }
}

/// The responses in what a client received: their status codes (1xx included)
/// and whether the last one is complete. A 101 ends the parsing (a tunnel
/// follows); so does a response that cannot be parsed.
pub fn responses(buf: &[u8], head_request: bool) -> (Vec<u16>, bool) {
    let method: &[u8] = if head_request { b"HEAD" } else { b"GET" };
    // What a proxy forwards under accept-invalid-http-response must count too.
    let lenient = ParseOptions {
        accept_invalid: true,
        ..ParseOptions::default()
    };
    let mut codes = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let Ok(Parsed::Complete { message, len }) = parse_response(&buf[at..], method, &lenient)
        else {
            return (codes, false);
        };
        let code = message.head.code;
        codes.push(code);
        if code == 101 {
            return (codes, true);
        }
        if (100..200).contains(&code) {
            at += len;
            continue;
        }
        match body_end(message.body, buf, at + len) {
            Some(end) => at = end,
            None => return (codes, false),
        }
    }
    (codes, true)
}

/// The statuses HAProxy's transcript shows, as a case states them ("200 200", "").
pub fn statuses(buf: &[u8], head_request: bool) -> String {
    let (codes, _) = responses(buf, head_request);
    codes
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the request asks the server to close after its response.
fn wants_close(req: &[u8]) -> bool {
    let text = String::from_utf8_lossy(req).to_ascii_lowercase();
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let conn: Vec<String> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("connection:").map(str::to_string))
        .collect();
    let has = |t: &str| conn.iter().any(|v| v.split(',').any(|x| x.trim() == t));
    has("close") || (first.ends_with("http/1.0") && !has("keep-alive"))
}

fn response(code: u16, reason: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What the backend named `name` answers to `req`: by path (see the table in the
/// code); else `200 OK` with its name as the body. A request that asks to close
/// is answered, then the connection closed.
pub fn respond(name: &str, req: &[u8]) -> Reply {
    let target = haproxide_testkit::http::target(req);
    let path = target.split('?').next().unwrap_or_default();
    let head = req.starts_with(b"HEAD ");
    let lower = String::from_utf8_lossy(req).to_ascii_lowercase();
    let tail = path.rsplit('/').next().unwrap_or_default();
    let bytes = match tail {
        "chunked" => b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n".to_vec(),
        "eof" => return Reply::Close(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end".to_vec()),
        "http10" => return Reply::Close(b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nold\n".to_vec()),
        "big" => response(200, "OK", "", &"x".repeat(100_000)),
        "badname" => b"HTTP/1.1 200 OK\r\nX Y: z\r\nContent-Length: 3\r\n\r\nbad".to_vec(),
        "garbage" => return Reply::Close(b"garbage\r\n\r\n".to_vec()),
        "silent" => return Reply::Silent,
        "cut" => return Reply::Close(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..".to_vec()),
        "nocontent" => b"HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n".to_vec(),
        "cacheable" => response(
            200,
            "OK",
            "Cache-Control: max-age=60\r\nETag: \"v1\"\r\nLast-Modified: Thu, 22 Oct 2020 16:51:12 GMT\r\n",
            name,
        ),
        "vary" => response(
            200,
            "OK",
            "Cache-Control: max-age=60\r\nVary: Accept-Encoding\r\nContent-Encoding: gzip\r\n",
            name,
        ),
        "notmodified" => b"HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 10\r\n\r\n".to_vec(),
        "hdrs" => response(
            200,
            "OK",
            "Server: recorder/1.0\r\nCache-Control: private\r\nX-Powered-By: test\r\nSet-Cookie: a=b\r\n",
            name,
        ),
        "leak" => response(200, "OK", "X-Leak: secret\r\n", name),
        "conn" => response(200, "OK", "Connection: keep-alive, x-hop\r\nX-Hop: 1\r\n", name),
        "early" => {
            let mut b = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n".to_vec();
            b.extend(response(200, "OK", "", name));
            b
        }
        "ws" if lower.contains("\r\nupgrade: websocket") => {
            return Reply::Tunnel(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".to_vec(),
            )
        }
        _ => match path.strip_prefix("/status/").and_then(|c| c.parse::<u16>().ok()) {
            Some(code) => response(code, "Status", "", &format!("{name} {code}\n")),
            None => response(200, "OK", "", &format!("{name}\n")),
        },
    };
    let bytes = if head {
        // The head only, Content-Length kept.
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(bytes.len(), |p| p + 4);
        bytes[..end].to_vec()
    } else {
        bytes
    };
    if wants_close(req) {
        Reply::Close(bytes)
    } else {
        Reply::Send(bytes)
    }
}

/// Replaces `$name` by `values[name]` for the names given (longest first, so that
/// `$fe2` is not read as `$fe`).
pub fn substitute(text: &str, values: &HashMap<String, String>) -> String {
    let mut names: Vec<&String> = values.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = text.to_string();
    for n in names {
        out = out.replace(&format!("${n}"), &values[n]);
    }
    out
}

/// A log line with what varies between runs masked: the syslog header and the
/// process id, the client's port, the accept date, the timers and the
/// connection/queue counts (5 and 2 numbers separated by `/`).
pub fn mask_log(line: &str) -> String {
    let body = match line.find("]: ") {
        Some(i) => &line[i + 3..],
        None => line,
    };
    body.split(' ')
        .map(|tok| {
            if let Some((ip, port)) = tok.rsplit_once(':') {
                if ip.parse::<std::net::IpAddr>().is_ok() && port.parse::<u16>().is_ok() {
                    return format!("{ip}:<port>");
                }
            }
            if tok.starts_with('[') && tok.ends_with(']') && tok.contains('/') && tok.contains(':')
            {
                return "[<date>]".to_string();
            }
            let parts: Vec<&str> = tok.split('/').collect();
            let numeric = |p: &&str| {
                let p = p.trim_start_matches(['+', '-']);
                !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())
            };
            if parts.len() >= 2 && parts.iter().all(numeric) {
                return format!("<{}n>", parts.len());
            }
            tok.to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One entry of the known-differences list: config, case (`*`: all), part
/// (`refused`, `client`, `backend`, `log`, `*`), reason.
#[derive(Clone, Debug)]
pub struct Known {
    pub cfg: String,
    pub case: String,
    pub part: String,
    pub reason: String,
    pub line: usize,
}

/// Parses the list: one entry a line, fields separated by ` | `, `#` comments.
pub fn parse_known(text: &str) -> Vec<Known> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|(i, l)| {
            let f: Vec<&str> = l.splitn(4, " | ").map(str::trim).collect();
            (f.len() == 4).then(|| Known {
                cfg: f[0].into(),
                case: f[1].into(),
                part: f[2].into(),
                reason: f[3].into(),
                line: i + 1,
            })
        })
        .collect()
}

impl Known {
    pub fn covers(&self, cfg: &str, case: &str, part: &str) -> bool {
        self.cfg == cfg
            && (self.case == "*" || self.case == case)
            && (self.part == "*" || self.part == part)
    }
}
