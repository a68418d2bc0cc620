//! Test helpers: spec builders, a capturing logger, a switchable health view, and
//! in-process mock servers on 127.0.0.1 (every task is aborted on drop).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use haproxide_forward::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

/// Every wait in the tests is bounded by this unless said otherwise.
pub const WAIT: Duration = Duration::from_secs(5);

pub fn server(name: &str, addr: SocketAddr) -> ServerSpec {
    ServerSpec {
        name: name.to_string(),
        ip: addr.ip(),
        port: ServerPort::Fixed(addr.port()),
        weight: 1,
        backup: false,
        maxconn: 0,
        maxqueue: 0,
        minconn: 0,
        send_proxy: SendProxy::None,
        shutdown_on_down: false,
        shutdown_backup_on_up: false,
        source: None,
        disabled: false,
        checked: false,
    }
}

pub fn backend(name: &str, servers: Vec<ServerSpec>) -> BackendSpec {
    BackendSpec {
        name: name.to_string(),
        servers,
        retries: 3,
        timeout_connect: Some(Duration::from_secs(1)),
        timeout_server: Some(Duration::from_secs(10)),
        ..BackendSpec::default()
    }
}

pub fn bind_tcp(addr: &str) -> BindSpec {
    BindSpec {
        addr: ListenAddr::Tcp(addr.parse().expect("addr")),
        name: None,
        backlog: None,
        maxconn: None,
        v6only: false,
        accept_proxy: false,
    }
}

pub fn frontend(name: &str, default_backend: Option<usize>) -> FrontendSpec {
    FrontendSpec {
        name: name.to_string(),
        binds: vec![bind_tcp("127.0.0.1:0")],
        timeout_client: Some(Duration::from_secs(10)),
        default_backend,
        ..FrontendSpec::default()
    }
}

/// One frontend on 127.0.0.1:0 in front of one backend.
pub fn simple(servers: Vec<ServerSpec>) -> EngineSpec {
    EngineSpec {
        frontends: vec![frontend("fe", Some(0))],
        backends: vec![backend("be", servers)],
        maxconn: None,
        threads: 0,
        spread: ThreadSpread::default(),
        no_splice: false,
    }
}

/// Records every session.
#[derive(Default)]
pub struct Capture {
    pub records: Mutex<Vec<SessionRecord>>,
    notify: Notify,
}

impl SessionLogger for Capture {
    fn log(&self, record: &SessionRecord) {
        self.records.lock().expect("lock").push(record.clone());
        self.notify.notify_waiters();
    }
}

impl Capture {
    /// Wait until at least `n` sessions were logged; panics after [`WAIT`].
    pub async fn wait(&self, n: usize) -> Vec<SessionRecord> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let r = self.records.lock().expect("lock");
                if r.len() >= n {
                    return r.clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "only {} sessions logged, expected {n}",
                    self.records.lock().expect("lock").len()
                );
            }
        }
    }

    pub fn len(&self) -> usize {
        self.records.lock().expect("lock").len()
    }
}

/// Health flags and run-time weights per (backend, server); all up by default.
pub struct Health {
    flags: Vec<Vec<AtomicBool>>,
    /// u32::MAX: the configured weight.
    weights: Vec<Vec<std::sync::atomic::AtomicU32>>,
}

impl Health {
    pub fn new(spec: &EngineSpec) -> Arc<Health> {
        Arc::new(Health {
            flags: spec
                .backends
                .iter()
                .map(|b| b.servers.iter().map(|_| AtomicBool::new(true)).collect())
                .collect(),
            weights: spec
                .backends
                .iter()
                .map(|b| {
                    b.servers
                        .iter()
                        .map(|_| std::sync::atomic::AtomicU32::new(u32::MAX))
                        .collect()
                })
                .collect(),
        })
    }
    pub fn set_weight(&self, b: usize, s: usize, w: Option<u32>) {
        self.weights[b][s].store(w.unwrap_or(u32::MAX), Ordering::SeqCst);
    }
    pub fn set(&self, b: usize, s: usize, up: bool) {
        self.flags[b][s].store(up, Ordering::SeqCst);
    }
}

impl ServerHealth for Health {
    fn usable(&self, backend: usize, server: usize) -> bool {
        self.flags[backend][server].load(Ordering::SeqCst)
    }
    fn weight(&self, backend: usize, server: usize) -> Option<u32> {
        match self.weights[backend][server].load(Ordering::SeqCst) {
            u32::MAX => None,
            w => Some(w),
        }
    }
}

pub struct Running {
    pub engine: Engine,
    pub addr: SocketAddr,
    pub log: Arc<Capture>,
    pub health: Arc<Health>,
}

/// `HAPROXIDE_TEST_THREADS=N` runs every engine of the suite on N threads of its own
/// (`EngineSpec::threads`) instead of the test's runtime.
pub async fn start(mut spec: EngineSpec) -> Running {
    if let Some(n) = std::env::var("HAPROXIDE_TEST_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        spec.threads = n;
    }
    let health = Health::new(&spec);
    let log = Arc::new(Capture::default());
    let engine = Engine::start(spec, health.clone(), log.clone())
        .await
        .expect("engine starts");
    let addr = engine.local_addrs()[0].1;
    Running {
        engine,
        addr,
        log,
        health,
    }
}

/// A mock server; its tasks stop when it is dropped.
pub struct Mock {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicU64>,
    /// Connections currently open.
    pub open: Arc<AtomicU64>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct OpenGuard(Arc<AtomicU64>);
impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Start a mock whose handler runs per connection.
pub async fn mock<F, Fut>(handler: F) -> Mock
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind mock");
    let addr = l.local_addr().expect("addr");
    let accepted = Arc::new(AtomicU64::new(0));
    let open = Arc::new(AtomicU64::new(0));
    let (acc, op) = (accepted.clone(), open.clone());
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                r = l.accept() => {
                    let Ok((s, _)) = r else { continue };
                    acc.fetch_add(1, Ordering::SeqCst);
                    op.fetch_add(1, Ordering::SeqCst);
                    let g = OpenGuard(op.clone());
                    let h = handler.clone();
                    conns.spawn(async move {
                        let _g = g;
                        h(s).await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Mock {
        addr,
        task,
        accepted,
        open,
    }
}

/// Echo until EOF, then close.
pub async fn echo() -> Mock {
    mock(|mut s| async move {
        let mut buf = vec![0u8; 16384];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = s.shutdown().await;
    })
    .await
}

/// Writes its name on accept, then echoes until EOF.
pub async fn named(name: &'static str) -> Mock {
    mock(move |mut s| async move {
        if s.write_all(name.as_bytes()).await.is_err() {
            return;
        }
        let mut buf = vec![0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    })
    .await
}

/// Accepts and never reads nor writes, until the peer closes or 30 s pass.
pub async fn silent() -> Mock {
    mock(|mut s| async move {
        let mut b = [0u8; 1];
        // Only returns when the peer closes (the proxy gave up).
        let _ = tokio::time::timeout(Duration::from_secs(30), async {
            // Wait for readability without consuming much: read 1 byte at a time, slowly.
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let _ = s.read(&mut b).await;
            }
        })
        .await;
    })
    .await
}

/// Sends everything it reads to a channel (one message per connection at EOF).
pub async fn recorder() -> (Mock, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let m = mock(move |mut s| {
        let tx = tx.clone();
        async move {
            let mut all = Vec::new();
            let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut all)).await;
            let _ = tx.send(all);
        }
    })
    .await;
    (m, rx)
}

/// A port on which connections are refused.
pub fn refusing_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// A listener whose accept queue is full: SYNs to it are dropped, connects hang.
pub struct BlackHole {
    pub addr: SocketAddr,
    _l: socket2::Socket,
    _fill: Vec<std::net::TcpStream>,
}

pub fn black_hole() -> BlackHole {
    use socket2::{Domain, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    l.bind(&"127.0.0.1:0".parse::<SocketAddr>().expect("addr").into())
        .expect("bind");
    l.listen(0).expect("listen");
    let addr = l.local_addr().expect("addr").as_socket().expect("inet");
    let mut fill = Vec::new();
    for _ in 0..2 {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        s.set_nonblocking(true).expect("nb");
        let _ = s.connect(&addr.into());
        fill.push(s.into());
    }
    std::thread::sleep(Duration::from_millis(50));
    BlackHole {
        addr,
        _l: l,
        _fill: fill,
    }
}

/// Connect to the proxy.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Read exactly n bytes within [`WAIT`].
pub async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    tokio::time::timeout(WAIT, s.read_exact(&mut b))
        .await
        .expect("read in time")
        .expect("read");
    b
}

/// Read until EOF (or error) within `d`; returns the bytes and whether it was a clean EOF.
pub async fn read_to_eof(s: &mut TcpStream, d: Duration) -> (Vec<u8>, bool) {
    let mut all = Vec::new();
    let mut buf = [0u8; 8192];
    let r = tokio::time::timeout(d, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) => return true,
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(_) => return false,
            }
        }
    })
    .await;
    match r {
        Ok(clean) => (all, clean),
        Err(_) => panic!("no EOF within {d:?} (got {} bytes)", all.len()),
    }
}

/// Whether the peer closed (EOF or reset) within `d`.
pub async fn closed_within(s: &mut TcpStream, d: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let r = tokio::time::timeout(d, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    r.is_ok()
}

pub fn term(r: &SessionRecord) -> String {
    String::from_utf8_lossy(&r.termination).into_owned()
}

/// SO_LINGER 0: closing sends a RST.
pub fn set_rst_on_close(s: &TcpStream) {
    socket2::SockRef::from(s)
        .set_linger(Some(Duration::ZERO))
        .expect("linger");
}
