//! In-process mock backends on 127.0.0.1:0 for the real-socket tests.
//! Every mock runs in one tokio task that owns its connections; dropping
//! the [`Mock`] aborts it, closing the listener and all connections.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A running mock; aborted on drop.
pub struct Mock {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
    /// Requests received (first read of each connection), for byte checks.
    pub seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves each accepted connection with `handler`.
pub async fn serve<F, Fut>(handler: F) -> Mock
where
    F: Fn(TcpStream, Arc<Mutex<Vec<Vec<u8>>>>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = l.local_addr().expect("local addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                acc = l.accept() => match acc {
                    Ok((s, _)) => { conns.spawn(handler(s, seen2.clone())); }
                    Err(_) => break,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Mock { addr, task, seen }
}

/// Reads until `\r\n\r\n` (plus a declared body), EOF or 2 s.
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

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

/// A Patroni-like responder: `HTTP/1.0 <code> <reason>\r\n\r\n<body>` then
/// close, with no header and no Content-Length. The code flips with
/// `status.store(..)`.
pub async fn patroni(status: Arc<AtomicU16>, body: &'static str) -> Mock {
    serve(move |mut s, seen| {
        let status = status.clone();
        async move {
            let req = read_request(&mut s).await;
            seen.lock().map(|mut v| v.push(req)).ok();
            let code = status.load(Ordering::SeqCst);
            let resp = format!("HTTP/1.0 {code} {}\r\n\r\n{body}", reason(code));
            let _ = s.write_all(resp.as_bytes()).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// Accepts and never answers (holds the connection until dropped).
pub async fn black_hole() -> Mock {
    serve(|s, _| async move {
        let _keep = s;
        std::future::pending::<()>().await;
    })
    .await
}

/// Reads the request, waits `delay`, then sends `reply` and closes.
pub async fn slow(delay: Duration, reply: &'static [u8]) -> Mock {
    serve(move |mut s, seen| async move {
        let mut b = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(2), s.read(&mut b)).await {
            seen.lock().map(|mut v| v.push(b[..n].to_vec())).ok();
        }
        tokio::time::sleep(delay).await;
        let _ = s.write_all(reply).await;
        let _ = s.shutdown().await;
    })
    .await
}

/// Reads once (if `read_first`) and answers `reply`, then closes.
pub async fn reply(read_first: bool, reply: &'static [u8]) -> Mock {
    serve(move |mut s, seen| async move {
        if read_first {
            let mut b = [0u8; 4096];
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(2), s.read(&mut b)).await {
                seen.lock().map(|mut v| v.push(b[..n].to_vec())).ok();
            }
        }
        let _ = s.write_all(reply).await;
        // Let the client read before closing (avoid RST on unread data).
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = s.shutdown().await;
    })
    .await
}

/// A scripted conversation: for each (expect_read, write) pair, read at
/// least one chunk if `expect_read`, then write.
pub async fn script(steps: &'static [(bool, &'static [u8])]) -> Mock {
    serve(move |mut s, seen| async move {
        for (read, write) in steps {
            if *read {
                let mut b = [0u8; 4096];
                match tokio::time::timeout(Duration::from_secs(2), s.read(&mut b)).await {
                    Ok(Ok(n)) if n > 0 => {
                        seen.lock().map(|mut v| v.push(b[..n].to_vec())).ok();
                    }
                    _ => return,
                }
            }
            if s.write_all(write).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = s.shutdown().await;
    })
    .await
}

/// An address nothing listens on (bound, then released).
pub async fn refused_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}

/// A listener that never accepts, with its backlog filled: further connects
/// hang (SYNs dropped), which gives a layer-4 timeout on loopback.
pub struct Unaccepting {
    pub addr: SocketAddr,
    _listener: tokio::net::TcpListener,
    _fillers: Vec<std::net::TcpStream>,
}

pub async fn unaccepting() -> Unaccepting {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let addr = sock.local_addr().expect("addr");
    let listener = sock.listen(0).expect("listen");
    let mut fillers = Vec::new();
    for _ in 0..4 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    Unaccepting {
        addr,
        _listener: listener,
        _fillers: fillers,
    }
}

/// Like [`patroni`] with a body that can change too.
pub async fn patroni_body(status: Arc<AtomicU16>, body: Arc<Mutex<String>>) -> Mock {
    serve(move |mut s, seen| {
        let status = status.clone();
        let body = body.clone();
        async move {
            let req = read_request(&mut s).await;
            seen.lock().map(|mut v| v.push(req)).ok();
            let code = status.load(Ordering::SeqCst);
            let b = body.lock().map(|b| b.clone()).unwrap_or_default();
            let resp = format!("HTTP/1.0 {code} {}\r\n\r\n{b}", reason(code));
            let _ = s.write_all(resp.as_bytes()).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// A plain TCP listener on a fixed port that can be closed (connections
/// refused) and reopened.
pub struct Toggle {
    pub addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Toggle {
    pub async fn new() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let mut t = Self { addr, task: None };
        t.task = Some(Self::run(l));
        t
    }

    fn run(l: TcpListener) -> JoinHandle<()> {
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        })
    }

    /// Stops listening: connections are refused.
    pub fn close(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn open(&mut self) {
        if self.task.is_none() {
            // The port was ours a moment ago; retry briefly while the kernel
            // releases it.
            for _ in 0..50 {
                if let Ok(l) = TcpListener::bind(self.addr).await {
                    self.task = Some(Self::run(l));
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("could not rebind {}", self.addr);
        }
    }
}

impl Drop for Toggle {
    fn drop(&mut self) {
        self.close();
    }
}

/// A mock agent answering the current `line` (e.g. "up\n", "down\n").
pub async fn agent(line: Arc<Mutex<String>>) -> Mock {
    serve(move |mut s, _| {
        let line = line.clone();
        async move {
            let l = line.lock().map(|l| l.clone()).unwrap_or_default();
            let _ = s.write_all(l.as_bytes()).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// A mock that reads once and answers the current `reply`.
pub async fn reply_dyn(reply: Arc<Mutex<Vec<u8>>>) -> Mock {
    serve(move |mut s, _| {
        let reply = reply.clone();
        async move {
            let mut b = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut b)).await;
            let r = reply.lock().map(|r| r.clone()).unwrap_or_default();
            let _ = s.write_all(&r).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// Answers the current `reply` without reading first, then closes.
pub async fn greet_dyn(reply: Arc<Mutex<Vec<u8>>>) -> Mock {
    serve(move |mut s, _| {
        let reply = reply.clone();
        async move {
            let r = reply.lock().map(|r| r.clone()).unwrap_or_default();
            let _ = s.write_all(&r).await;
            // Drain what the client sends so the close is clean (no RST).
            let mut b = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// An SMTP server: a full 220/250/221 dialogue while `ok`, else a 554 banner.
pub async fn smtp_dyn(ok: Arc<std::sync::atomic::AtomicBool>) -> Mock {
    serve(move |mut s, _| {
        let ok = ok.load(Ordering::SeqCst);
        async move {
            let mut b = [0u8; 1024];
            let t = Duration::from_secs(2);
            if ok {
                let _ = s.write_all(b"220 mail.example ESMTP\r\n").await;
                let _ = tokio::time::timeout(t, s.read(&mut b)).await;
                let _ = s.write_all(b"250 mail.example hello\r\n").await;
                let _ = tokio::time::timeout(t, s.read(&mut b)).await;
                let _ = s.write_all(b"221 bye\r\n").await;
            } else {
                let _ = s.write_all(b"554 no service here\r\n").await;
                let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await;
            }
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// Path of a file in tests/data.
pub fn data(f: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(f)
}

/// A TLS server (tests/data/cert.pem, signed by ca.pem, CN check.test)
/// answering `HTTP/1.0 200 OK` to any request.
pub async fn tls_server() -> Mock {
    let certs: Vec<_> =
        rustls_pemfile::certs(&mut std::fs::read(data("cert.pem")).expect("cert").as_slice())
            .collect::<Result<_, _>>()
            .expect("certs");
    let key =
        rustls_pemfile::private_key(&mut std::fs::read(data("key.pem")).expect("key").as_slice())
            .expect("key")
            .expect("a key");
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    serve(move |s, _| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(mut t) = acceptor.accept(s).await {
                let mut b = [0u8; 1024];
                let _ = t.read(&mut b).await;
                let _ = t.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
                let _ = t.shutdown().await;
            }
        }
    })
    .await
}
