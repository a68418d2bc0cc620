//! TCP endpoints on 127.0.0.1:0 and client helpers.
//!
//! A [`Mock`] runs one tokio task that accepts and owns one task per connection
//! (a `JoinSet`); dropping the `Mock` aborts it, which closes the listener and every
//! connection. It counts connections accepted and open, and handlers given the
//! [`Seen`] log record what they read (for byte checks).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use haproxide_testkit::tcp;
//! use tokio::io::AsyncWriteExt;
//! let m = tcp::reply(true, b"+PONG\r\n").await;
//! let mut c = tcp::connect(m.addr).await;
//! c.write_all(b"PING\r\n").await.unwrap();
//! let (got, clean) = tcp::read_to_eof(&mut c, haproxide_testkit::WAIT).await;
//! assert_eq!((got.as_slice(), clean), (&b"+PONG\r\n"[..], true));
//! assert_eq!(m.seen(), vec![b"PING\r\n".to_vec()]);
//! # }
//! ```

use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use crate::WAIT;

/// What the handlers of a mock read, one entry per recorded read.
pub type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

/// Appends `bytes` to `seen`.
pub fn record(seen: &Seen, bytes: &[u8]) {
    if let Ok(mut v) = seen.lock() {
        v.push(bytes.to_vec());
    }
}

/// A running mock server; its accept task and all its connections stop on drop.
pub struct Mock {
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicU64>,
    /// Connections currently open (handler not finished).
    pub open: Arc<AtomicU64>,
    /// What the handlers recorded (see [`record`]).
    pub seen: Seen,
    task: JoinHandle<()>,
}

impl Mock {
    /// A copy of what the handlers recorded so far.
    pub fn seen(&self) -> Vec<Vec<u8>> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
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

/// Serves each accepted connection with `handler`, which also gets the mock's
/// [`Seen`] log.
pub async fn serve_seen<F, Fut>(handler: F) -> Mock
where
    F: Fn(TcpStream, Seen) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = l.local_addr().expect("local addr");
    let accepted = Arc::new(AtomicU64::new(0));
    let open = Arc::new(AtomicU64::new(0));
    let seen: Seen = Arc::default();
    let (acc, op, sn) = (accepted.clone(), open.clone(), seen.clone());
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                r = l.accept() => {
                    let Ok((s, _)) = r else {
                        // EMFILE and the like: do not spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    acc.fetch_add(1, Ordering::SeqCst);
                    op.fetch_add(1, Ordering::SeqCst);
                    let g = OpenGuard(op.clone());
                    let fut = handler(s, sn.clone());
                    conns.spawn(async move {
                        let _g = g;
                        fut.await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Mock {
        addr,
        accepted,
        open,
        seen,
        task,
    }
}

/// Serves each accepted connection with `handler`.
pub async fn serve<F, Fut>(handler: F) -> Mock
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    serve_seen(move |s, _| handler(s)).await
}

async fn echo_loop(s: &mut TcpStream, buf_len: usize, prefix: &[u8]) {
    let mut buf = vec![0u8; buf_len];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let ok = if prefix.is_empty() {
                    s.write_all(&buf[..n]).await
                } else {
                    let mut out = prefix.to_vec();
                    out.extend_from_slice(&buf[..n]);
                    s.write_all(&out).await
                };
                if ok.is_err() {
                    break;
                }
            }
        }
    }
}

/// Echoes until EOF, then closes.
pub async fn echo() -> Mock {
    serve(|mut s| async move {
        echo_loop(&mut s, 16384, b"").await;
        let _ = s.shutdown().await;
    })
    .await
}

/// Writes `name` on accept, then echoes until EOF.
pub async fn named(name: impl AsRef<[u8]> + Send) -> Mock {
    let name: Arc<[u8]> = Arc::from(name.as_ref());
    serve(move |mut s| {
        let name = name.clone();
        async move {
            if s.write_all(&name).await.is_ok() {
                echo_loop(&mut s, 4096, b"").await;
            }
        }
    })
    .await
}

/// Echoes each chunk read prefixed with `name`, so a client knows which server it
/// reached.
pub async fn echo_prefixed(name: &'static str) -> Mock {
    serve(move |mut s| async move { echo_loop(&mut s, 1024, name.as_bytes()).await }).await
}

/// Accepts each connection and closes it at once (a TCP check passes).
pub async fn closing() -> Mock {
    serve(|s| async move { drop(s) }).await
}

/// Accepts and never reads nor writes; holds each connection until the mock is
/// dropped.
pub async fn silent() -> Mock {
    serve(|s| async move {
        let _keep = s;
        std::future::pending::<()>().await;
    })
    .await
}

/// Sends what each connection sent (read to EOF, at most [`WAIT`]) to the channel.
pub async fn recorder() -> (Mock, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let m = serve(move |mut s| {
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

/// One read of at most 4 KiB within 2 s (empty at EOF); `None` on error or timeout.
async fn read_once(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut b = [0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(2), s.read(&mut b)).await {
        Ok(Ok(n)) => Some(b[..n].to_vec()),
        _ => None,
    }
}

/// Reads once (if `read_first`, recorded), answers `reply`, then closes.
pub async fn reply(read_first: bool, reply: &'static [u8]) -> Mock {
    serve_seen(move |mut s, seen| async move {
        if read_first {
            if let Some(b) = read_once(&mut s).await {
                record(&seen, &b);
            }
        }
        let _ = s.write_all(reply).await;
        // Let the client read before closing (avoid RST on unread data).
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = s.shutdown().await;
    })
    .await
}

/// Reads once (recorded), waits `delay`, then answers `reply` and closes.
pub async fn slow(delay: Duration, reply: &'static [u8]) -> Mock {
    serve_seen(move |mut s, seen| async move {
        if let Some(b) = read_once(&mut s).await {
            record(&seen, &b);
        }
        tokio::time::sleep(delay).await;
        let _ = s.write_all(reply).await;
        let _ = s.shutdown().await;
    })
    .await
}

/// A scripted conversation: for each `(expect_read, write)` step, read one chunk
/// first if `expect_read` (the connection ends if none comes within 2 s), then
/// write.
pub async fn script(steps: &'static [(bool, &'static [u8])]) -> Mock {
    serve_seen(move |mut s, seen| async move {
        for (read, write) in steps {
            if *read {
                match read_once(&mut s).await {
                    Some(b) if !b.is_empty() => record(&seen, &b),
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

/// Writes the current `line` on accept (e.g. an agent's "up\n"), then closes.
pub async fn agent(line: Arc<Mutex<String>>) -> Mock {
    serve(move |mut s| {
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

/// Reads once (within 2 s) and answers the current `reply`, then closes.
pub async fn reply_dyn(reply: Arc<Mutex<Vec<u8>>>) -> Mock {
    serve(move |mut s| {
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

/// Answers the current `reply` without reading first, drains what the client sends
/// for up to 200 ms (a clean close, no RST), then closes.
pub async fn greet_dyn(reply: Arc<Mutex<Vec<u8>>>) -> Mock {
    serve(move |mut s| {
        let reply = reply.clone();
        async move {
            let r = reply.lock().map(|r| r.clone()).unwrap_or_default();
            let _ = s.write_all(&r).await;
            let mut b = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// An SMTP server: a full 220/250/221 dialogue while `ok`, else a 554 banner.
pub async fn smtp_dyn(ok: Arc<AtomicBool>) -> Mock {
    serve(move |mut s| {
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

/// Ports already handed out by [`refused_addr`] / [`free_port`] in this process.
static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// An address nothing listens on (bound, then released): connections are refused.
///
/// Never the same port twice in one process: the kernel may give a released
/// port again to the next `bind(:0)`, and two listeners of one test (or of two
/// tests running in parallel) would then share it through SO_REUSEPORT, each
/// getting part of the other's connections.
///
/// Taken below the kernel's ephemeral range (`ip_local_port_range`) when there
/// is room: a port `bind(:0)` gave could be taken, before the proxy under test
/// binds it, by the source port of an outgoing connection of a test running
/// beside (a proxy then exits with "address in use" and the test sees nothing
/// listen); connections never take a source port below that range.
pub fn refused_addr() -> SocketAddr {
    let mut seen = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((lo, hi)) = below_ephemeral() {
        let span = u64::from(hi - lo) + 1;
        let mut x = seed();
        for _ in 0..256 {
            // xorshift64: no generator crate for a port pick.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let port = lo + (x % span) as u16;
            if seen.contains(&port) {
                continue;
            }
            if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", port)) {
                if let Ok(a) = l.local_addr() {
                    seen.push(port);
                    return a;
                }
            }
        }
    }
    let mut last = None;
    for _ in 0..256 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = l.local_addr().expect("addr");
        if !seen.contains(&a.port()) {
            seen.push(a.port());
            return a;
        }
        last = Some(a);
    }
    last.expect("a port")
}

/// Ports below the ephemeral range to pick test ports from: from 10000 up to
/// the range's start (Linux default 32768), when that leaves at least 1000.
fn below_ephemeral() -> Option<(u16, u16)> {
    let r = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let lo: u16 = r.split_whitespace().next()?.parse().ok()?;
    (lo > 11_000).then(|| (10_000, lo - 1))
}

/// A per-process seed: the clock's nanoseconds and the process id.
fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (t ^ (u64::from(std::process::id()) << 32)) | 1
}

/// A port free at the time of the call, not handed out before in this process.
pub fn free_port() -> u16 {
    refused_addr().port()
}

/// A listener that never accepts, with its accept queue filled: further SYNs are
/// dropped and connects hang (a layer-4 timeout on loopback).
pub struct Unaccepting {
    pub addr: SocketAddr,
    _listener: socket2::Socket,
    _fillers: Vec<std::net::TcpStream>,
}

/// Starts an [`Unaccepting`] listener (blocks up to ~100 ms while it fills the
/// queue, until one filler's connect times out).
pub fn unaccepting() -> Unaccepting {
    use socket2::{Domain, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    l.bind(&any.into()).expect("bind");
    l.listen(0).expect("listen");
    let addr = l
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .expect("inet addr");
    let mut fillers = Vec::new();
    for _ in 0..4 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    Unaccepting {
        addr,
        _listener: l,
        _fillers: fillers,
    }
}

/// A listener on a fixed port that can be closed (connections refused) and
/// reopened; it accepts and closes each connection at once.
pub struct Toggle {
    pub addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Toggle {
    pub async fn new() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        Self {
            addr,
            task: Some(Self::run(l)),
        }
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

    /// Listens again on the same port (retries for up to 1 s while the kernel
    /// releases it; panics after).
    pub async fn open(&mut self) {
        if self.task.is_none() {
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

/// A mock for tests without a tokio runtime: the mock `make` builds runs on a
/// thread of its own with a current-thread runtime; dropping the `OnThread` stops
/// that runtime (closing the listener and every connection) and joins the thread.
///
/// ```
/// use haproxide_testkit::tcp::{self, OnThread};
/// let e = OnThread::start(tcp::echo);
/// tcp::round_trip(e.port).unwrap();
/// let port = e.port;
/// drop(e);
/// assert!(tcp::round_trip(port).is_err());
/// ```
pub struct OnThread {
    pub addr: SocketAddr,
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OnThread {
    pub fn start<F, Fut>(make: F) -> OnThread
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Mock>,
    {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let m = make().await;
                let _ = addr_tx.send(m.addr);
                let _ = stopped.await;
            });
        });
        let addr = addr_rx.recv().expect("mock thread started");
        OnThread {
            addr,
            port: addr.port(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for OnThread {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Connects within [`WAIT`].
pub async fn connect(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Reads exactly `n` bytes within [`WAIT`].
pub async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    tokio::time::timeout(WAIT, s.read_exact(&mut b))
        .await
        .expect("read in time")
        .expect("read");
    b
}

/// Reads until EOF (or error) within `d`: the bytes, and whether it was a clean
/// EOF (not a reset). Panics if neither comes within `d`.
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

/// Whether the peer closed (EOF or reset) within `d`, discarding what it sends.
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

/// SO_LINGER 0: closing `s` sends a RST.
pub fn set_rst_on_close(s: &TcpStream) {
    socket2::SockRef::from(s)
        .set_linger(Some(Duration::ZERO))
        .expect("linger");
}

/// One blocking connection to 127.0.0.1:`port` (an echo behind a proxy): writes
/// `ping` and reads the echo, within 5 s.
pub fn round_trip(port: u16) -> std::io::Result<()> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(WAIT))?;
    s.write_all(b"ping")?;
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf)?;
    if &buf != b"ping" {
        return Err(std::io::Error::other("wrong echo"));
    }
    Ok(())
}

/// A client thread doing [`round_trip`]s in a tight loop (one per connection)
/// until [`ConnectLoop::finish`] (or drop); counts successes and failures.
pub struct ConnectLoop {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl ConnectLoop {
    pub fn start(port: u16) -> ConnectLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let (s, o, f) = (stop.clone(), ok.clone(), failed.clone());
        let thread = std::thread::spawn(move || {
            let mut errors = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match round_trip(port) {
                    Ok(()) => o.fetch_add(1, Ordering::SeqCst),
                    Err(e) => {
                        if errors.len() < 5 {
                            errors.push(e.to_string());
                        }
                        f.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
            errors
        });
        ConnectLoop {
            stop,
            ok,
            failed,
            thread: Some(thread),
        }
    }

    /// Stops the loop: (connections ok, failed, the first errors).
    pub fn finish(mut self) -> (u64, u64, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let errors = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        (
            self.ok.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            errors,
        )
    }
}

impl Drop for ConnectLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
