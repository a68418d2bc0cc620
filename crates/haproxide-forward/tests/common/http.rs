//! HTTP helpers of the forward suite: a keep-alive HTTP/1.1 mock server that
//! answers by path, and a client that reads one response at a time (both on
//! haproxide-http's codec).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use haproxide_http::{parse_request, parse_response, BodyDecoder, BodyLength, Parsed, Step};
use haproxide_http::{ParseOptions, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{mock, Mock, WAIT};

/// One request as the mock server received it.
#[derive(Debug, Clone)]
pub struct Got {
    pub req: Request,
    /// The raw head bytes.
    pub head: Vec<u8>,
    pub body: Vec<u8>,
    /// Which connection of the mock (1, 2, ...).
    pub conn: u64,
}

/// Reads one message body per `len` from `s`, `buf` holding what was read ahead.
pub async fn read_body(s: &mut TcpStream, buf: &mut Vec<u8>, len: BodyLength) -> Option<Vec<u8>> {
    let mut dec = BodyDecoder::new(len, 16384);
    let mut body = Vec::new();
    loop {
        loop {
            let (n, step) = dec.step(buf).ok()?;
            let done = match step {
                Step::Data(d) => {
                    body.extend_from_slice(d);
                    false
                }
                Step::Trailers(_) => false,
                Step::Done => true,
                Step::NeedMore => {
                    buf.drain(..n);
                    break;
                }
            };
            buf.drain(..n);
            if done {
                return Some(body);
            }
        }
        let mut chunk = [0u8; 65536];
        match tokio::time::timeout(WAIT, s.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                dec.at_eof().ok()?;
                return Some(body);
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

async fn read_req(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(Request, Vec<u8>)> {
    loop {
        if let Ok(Parsed::Complete { message, len }) = parse_request(buf, &ParseOptions::default())
        {
            let head = buf[..len].to_vec();
            buf.drain(..len);
            return Some((message, head));
        }
        let mut chunk = [0u8; 16384];
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A keep-alive mock HTTP server. By path:
/// `/bad` garbage, `/drop` a 200 then a close, `/slow` no answer, `/close` a close-delimited body, `/chunked`
/// a chunked body, `/big` 1 MB, `/ws` a 101 then an echo, `/count` the body's
/// length; anything else a 200 whose body says `name`, the path, the connection
/// number. `Expect: 100-continue` gets a `100 Continue` first. Every request is
/// sent on `tx`.
pub async fn server(name: &'static str) -> (Mock, tokio::sync::mpsc::UnboundedReceiver<Got>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let conns = Arc::new(AtomicU64::new(0));
    let m = mock(move |mut s| {
        let tx = tx.clone();
        let conn = conns.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            let mut buf = Vec::new();
            while let Some((req, head)) = read_req(&mut s, &mut buf).await {
                if req.info.expect_continue {
                    let _ = s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
                }
                let path = String::from_utf8_lossy(&req.head.uri).to_string();
                let Some(body) = read_body(&mut s, &mut buf, req.body).await else {
                    return;
                };
                let n = body.len();
                let _ = tx.send(Got {
                    req: req.clone(),
                    head,
                    body,
                    conn,
                });
                let out: Vec<u8> = match path.as_str() {
                    "/bad" => b"HTTP/1.1 abc\r\n\r\n".to_vec(),
                    "/drop" => {
                        // Answers as if kept alive, then closes (a server's
                        // keep-alive timeout).
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndrop").await;
                        return;
                    }
                    "/slow" => {
                        tokio::time::sleep(WAIT).await;
                        return;
                    }
                    "/close" => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nuntil close").await;
                        return;
                    }
                    "/chunked" => b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".to_vec(),
                    "/big" => {
                        let mut o = b"HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\n\r\n".to_vec();
                        o.resize(o.len() + 1048576, b'x');
                        o
                    }
                    "/ws" => {
                        let _ = s
                            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
                            .await;
                        let _ = s.write_all(&buf).await;
                        let mut chunk = [0u8; 4096];
                        while let Ok(n) = s.read(&mut chunk).await {
                            if n == 0 || s.write_all(&chunk[..n]).await.is_err() {
                                break;
                            }
                        }
                        return;
                    }
                    "/count" => {
                        let b = format!("{n}");
                        format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{b}", b.len()).into_bytes()
                    }
                    p => {
                        let b = format!("{name} {p} conn={conn}");
                        format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{b}", b.len()).into_bytes()
                    }
                };
                if s.write_all(&out).await.is_err() {
                    return;
                }
                if req.info.conn_close {
                    return;
                }
            }
        }
    })
    .await;
    (m, rx)
}

/// A client connection reading responses one at a time.
pub struct Client {
    pub s: TcpStream,
    pub buf: Vec<u8>,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Client {
        Client {
            s: super::connect(addr).await,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.expect("write to the proxy");
    }

    /// The next response (head, body) to a request of `method`, None on EOF or
    /// after [`WAIT`].
    pub async fn response(&mut self, method: &[u8]) -> Option<(Response, Vec<u8>)> {
        let resp = loop {
            match parse_response(&self.buf, method, &ParseOptions::default()) {
                Ok(Parsed::Complete { message, len }) => {
                    self.buf.drain(..len);
                    break message;
                }
                Ok(Parsed::Partial) => {}
                Err(e) => panic!(
                    "bad response from the proxy: {e} {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
            let mut chunk = [0u8; 16384];
            match tokio::time::timeout(WAIT, self.s.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        };
        if resp.body == BodyLength::Tunnel {
            return Some((resp, Vec::new()));
        }
        let body = read_body(&mut self.s, &mut self.buf, resp.body).await?;
        Some((resp, body))
    }

    /// Whether the proxy closed the connection within `d` (nothing else read).
    pub async fn closed_within(&mut self, d: Duration) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(d, self.s.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// `simple(server)` in HTTP keep-alive mode on both sides, with this
/// `timeout http-keep-alive`.
pub fn keep_alive_spec(
    server: std::net::SocketAddr,
    keep_alive: Option<Duration>,
) -> haproxide_forward::EngineSpec {
    let mut spec = super::simple(vec![super::server("a", server)]);
    for h in [&mut spec.frontends[0].http, &mut spec.backends[0].http] {
        *h = Some(haproxide_forward::HttpSpec {
            conn_mode: haproxide_forward::HttpConnMode::KeepAlive,
            timeout_keep_alive: keep_alive,
            ..haproxide_forward::HttpSpec::default()
        });
    }
    spec
}

/// `n` keep-alive clients of server "a" at `addr`, each served one request
/// (`/r<i>`, answered 200 on a connection of its own), kept open.
pub async fn served_clients(addr: std::net::SocketAddr, n: usize) -> Vec<Client> {
    let mut clients = Vec::new();
    for i in 0..n {
        let mut c = Client::connect(addr).await;
        c.send(&get(&format!("/r{i}"))).await;
        let (r, body) = c.response(b"GET").await.expect("response");
        assert_eq!(r.head.code, 200);
        assert_eq!(text(&body), format!("a /r{i} conn={}", i + 1));
        clients.push(c);
    }
    clients
}
