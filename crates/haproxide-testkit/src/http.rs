//! HTTP/1.x responders on 127.0.0.1:0, each a [`Mock`] (stopped on drop).
//!
//! - [`Responder`]: scripted answers per path (status + body, or byte-exact), which
//!   can change at run time.
//! - [`patroni`] / [`patroni_body`]: what Patroni's REST API answers to a check,
//!   `HTTP/1.0 <code> <reason>\r\n\r\n<body>` with no header, the code flipping at
//!   run time.
//! - [`PatroniNode`]: a Patroni-like node with a role and a replication lag,
//!   answering `/primary` and `/replica?lag=<bytes>` as Patroni does.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use haproxide_testkit::{http, tcp};
//! use tokio::io::AsyncWriteExt;
//! let web = http::Responder::new().status("/ok", 200, "fine").start().await;
//! let mut c = tcp::connect(web.addr()).await;
//! c.write_all(b"GET /ok HTTP/1.0\r\n\r\n").await.unwrap();
//! let (answer, _) = tcp::read_to_eof(&mut c, haproxide_testkit::WAIT).await;
//! assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with(b"\r\n\r\nfine"));
//! # }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tcp::{record, serve_seen, Mock};

/// Reads one request: until `\r\n\r\n` plus the body its Content-Length declares,
/// EOF, or 2 s. Returns what was read.
pub async fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let cl = head
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + cl {
                    break;
                }
            }
        }
    })
    .await;
    buf
}

/// The request target of a request line (`GET /x?y HTTP/1.1` → `/x?y`).
pub fn target(request: &[u8]) -> String {
    let line = request.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// The reason phrase the mocks use for `code`.
pub fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

/// A Patroni-like check responder: reads the request (recorded in the mock's
/// `seen`), answers `HTTP/1.0 <code> <reason>\r\n\r\n<body>` with no header and no
/// Content-Length, then closes. The code flips with `status.store(..)`.
pub async fn patroni(status: Arc<AtomicU16>, body: &'static str) -> Mock {
    patroni_body(status, Arc::new(Mutex::new(body.to_string()))).await
}

/// Like [`patroni`] with a body that can change too.
pub async fn patroni_body(status: Arc<AtomicU16>, body: Arc<Mutex<String>>) -> Mock {
    serve_seen(move |mut s, seen| {
        let status = status.clone();
        let body = body.clone();
        async move {
            let req = read_request(&mut s).await;
            record(&seen, &req);
            let code = status.load(Ordering::SeqCst);
            let b = body.lock().map(|b| b.clone()).unwrap_or_default();
            let resp = format!("HTTP/1.0 {code} {}\r\n\r\n{b}", reason(code));
            let _ = s.write_all(resp.as_bytes()).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

type Routes = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// Builds a scripted HTTP responder: one answer per path. A request whose target
/// matches a route exactly gets that answer, else the route of its path without the
/// query string, else `404 Not Found`. Each connection serves one request, then
/// closes.
#[derive(Default)]
pub struct Responder {
    routes: HashMap<String, Vec<u8>>,
}

/// The answer for `code` with `body`: `HTTP/1.1`, Content-Length, Connection: close.
pub fn answer(code: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {code} {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason(code),
        body.len()
    )
    .into_bytes()
}

impl Responder {
    pub fn new() -> Responder {
        Responder::default()
    }

    /// Answers `path` with `code` and `body` (see [`answer`]).
    pub fn status(mut self, path: &str, code: u16, body: &str) -> Responder {
        self.routes.insert(path.to_string(), answer(code, body));
        self
    }

    /// Answers `path` with exactly `bytes`.
    pub fn raw(mut self, path: &str, bytes: &[u8]) -> Responder {
        self.routes.insert(path.to_string(), bytes.to_vec());
        self
    }

    pub async fn start(self) -> Routed {
        let routes: Routes = Arc::new(Mutex::new(self.routes));
        let r = routes.clone();
        let mock = serve_seen(move |mut s, seen| {
            let routes = r.clone();
            async move {
                let req = read_request(&mut s).await;
                record(&seen, &req);
                let t = target(&req);
                let path = t.split('?').next().unwrap_or_default().to_string();
                let resp = routes
                    .lock()
                    .ok()
                    .and_then(|r| r.get(&t).or_else(|| r.get(&path)).cloned())
                    .unwrap_or_else(|| answer(404, ""));
                let _ = s.write_all(&resp).await;
                let _ = s.shutdown().await;
            }
        })
        .await;
        Routed { mock, routes }
    }
}

/// A running [`Responder`].
pub struct Routed {
    pub mock: Mock,
    routes: Routes,
}

impl Routed {
    pub fn addr(&self) -> SocketAddr {
        self.mock.addr
    }

    /// Changes the answer for `path` at run time.
    pub fn set_status(&self, path: &str, code: u16, body: &str) {
        self.set_raw(path, &answer(code, body));
    }

    /// Changes the answer for `path` to exactly `bytes`.
    pub fn set_raw(&self, path: &str, bytes: &[u8]) {
        if let Ok(mut r) = self.routes.lock() {
            r.insert(path.to_string(), bytes.to_vec());
        }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.mock.seen()
    }
}

/// The role of a [`PatroniNode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica,
    /// PostgreSQL not running: every endpoint answers 503.
    Stopped,
}

#[derive(Clone, Copy)]
struct NodeState {
    role: Role,
    lag: u64,
}

/// A Patroni-like node (Patroni's REST API, what `option httpchk` checks against):
/// `/primary` (also `/master`, `/leader`, `/`) answers 200 while the node is the
/// primary, `/replica` 200 while it is a running replica, and with `?lag=<bytes>`
/// only while its lag is at most that; `/read-only` 200 for either; `/health` 200
/// while running; 503 otherwise, 404 for other paths. Answers are
/// `HTTP/1.0 <code> <reason>`, `Content-Type: application/json`, a small JSON body,
/// then close. The role and lag change at run time, e.g. to switch the leader.
pub struct PatroniNode {
    pub mock: Mock,
    state: Arc<Mutex<NodeState>>,
}

impl PatroniNode {
    pub async fn start(role: Role) -> PatroniNode {
        let state = Arc::new(Mutex::new(NodeState { role, lag: 0 }));
        let st = state.clone();
        let mock = serve_seen(move |mut s, seen| {
            let st = st.clone();
            async move {
                let req = read_request(&mut s).await;
                record(&seen, &req);
                let now = st.lock().map(|g| *g).unwrap_or(NodeState {
                    role: Role::Stopped,
                    lag: 0,
                });
                let code = patroni_code(&target(&req), now);
                let (role, state) = match now.role {
                    Role::Primary => ("master", "running"),
                    Role::Replica => ("replica", "running"),
                    Role::Stopped => ("uninitialized", "stopped"),
                };
                let body = format!(
                    "{{\"state\": \"{state}\", \"role\": \"{role}\", \"lag\": {}}}",
                    now.lag
                );
                let resp = format!(
                    "HTTP/1.0 {code} {}\r\nContent-Type: application/json\r\n\r\n{body}",
                    reason(code)
                );
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            }
        })
        .await;
        PatroniNode { mock, state }
    }

    pub fn addr(&self) -> SocketAddr {
        self.mock.addr
    }

    pub fn set_role(&self, role: Role) {
        if let Ok(mut s) = self.state.lock() {
            s.role = role;
        }
    }

    /// The replication lag in bytes, compared with `/replica?lag=`.
    pub fn set_lag(&self, bytes: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.lag = bytes;
        }
    }
}

fn patroni_code(target: &str, st: NodeState) -> u16 {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let max_lag = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("lag="))
        .and_then(|v| v.parse::<u64>().ok());
    let ok = match path {
        "/" | "/primary" | "/master" | "/leader" => st.role == Role::Primary,
        "/replica" => st.role == Role::Replica && max_lag.is_none_or(|m| st.lag <= m),
        "/read-only" => st.role != Role::Stopped,
        "/health" => st.role != Role::Stopped,
        _ => return 404,
    };
    if ok {
        200
    } else {
        503
    }
}
