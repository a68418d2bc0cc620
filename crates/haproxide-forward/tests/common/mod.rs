//! Test helpers of the forward suite: spec builders, a capturing logger and a
//! switchable health view (they use this crate's types, so they stay here). The mock
//! servers and client helpers come from haproxide-testkit, under the names this suite
//! uses (`mock`, `refusing_addr`, `black_hole`).
#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use haproxide_forward::*;
use tokio::sync::Notify;

/// A port on which connections are refused.
pub use haproxide_testkit::tcp::refused_addr as refusing_addr;
/// A mock whose handler runs per connection.
pub use haproxide_testkit::tcp::serve as mock;
/// A listener whose accept queue is full: SYNs to it are dropped, connects hang.
pub use haproxide_testkit::tcp::unaccepting as black_hole;
pub use haproxide_testkit::tcp::{
    closed_within, connect, echo, named, read_n, read_to_eof, recorder, set_rst_on_close, silent,
    Mock,
};
/// Every wait in the tests is bounded by this unless said otherwise.
pub use haproxide_testkit::WAIT;

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
        tls: None,
        cookie: None,
        unix: None,
        socks4: None,
        proto_h2: false,
        pool: Default::default(),
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
    BindSpec::plain(ListenAddr::Tcp(addr.parse().expect("addr")))
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
        stick_tables: Vec::new(),
    }
}

/// Records every session.
#[derive(Default)]
pub struct Capture {
    pub records: Mutex<Vec<SessionRecord<'static>>>,
    notify: Notify,
}

impl SessionLogger for Capture {
    fn log(&self, record: &SessionRecord) {
        self.records
            .lock()
            .expect("lock")
            .push(record.clone().into_owned());
        self.notify.notify_waiters();
    }
}

impl Capture {
    /// Wait until at least `n` sessions were logged; panics after [`WAIT`].
    pub async fn wait(&self, n: usize) -> Vec<SessionRecord<'static>> {
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

/// `HAPROXIDE_TEST_THREADS=N`: the engine threads every engine of the suite runs on
/// (`None`: the test's runtime).
pub fn test_threads() -> Option<usize> {
    std::env::var("HAPROXIDE_TEST_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// The engine threads each engine has (1 on the test's runtime): each has its own
/// server-connection pool and idle waiter.
pub fn threads_per_engine() -> usize {
    test_threads().unwrap_or(1).max(1)
}

/// `HAPROXIDE_TEST_THREADS=N` runs every engine of the suite on N threads of its own
/// (`EngineSpec::threads`) instead of the test's runtime.
pub async fn start(mut spec: EngineSpec) -> Running {
    if let Some(n) = test_threads() {
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

pub fn term(r: &SessionRecord) -> String {
    String::from_utf8_lossy(&r.termination).into_owned()
}
pub mod http;
