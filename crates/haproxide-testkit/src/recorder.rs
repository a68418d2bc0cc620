//! For differential tests of HTTP proxies (HAProxy 2.6.12 against haproxide, or
//! against the codec): a recording HTTP/1.1 backend and a scripted raw client, on
//! std threads (no runtime needed).
//!
//! - [`Backend`]: a keep-alive HTTP/1.1 server on 127.0.0.1:0 that records every
//!   request's bytes exactly as received (pipelined requests split apart, a request
//!   still arriving recorded so far), answers each with what the test's `respond`
//!   function says (keep the connection, close it, tunnel after a 101, or stay
//!   silent), and answers `Expect: 100-continue` with an interim 100 as a server
//!   would. Where a request ends is the caller's [`Framer`] (the codec's, for
//!   haproxide's tests: this crate depends on no haproxide crate).
//! - [`converse`]: sends raw bytes in steps, reads what comes back until the caller
//!   says it is complete, then whether the proxy closes the connection.
//! - [`Proxy`]: a proxy process started on a configuration file in a temp dir,
//!   stopped on drop, waited for until it listens or exits (with its stderr).
//!
//! Every wait is bounded; dropping a [`Backend`] stops and joins its threads.
//!
//! ```
//! use haproxide_testkit::recorder::{converse, Backend, Reply};
//! use std::time::Duration;
//! // A request is complete at the end of its head (no bodies in this example).
//! fn framer(b: &[u8]) -> Option<usize> {
//!     b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
//! }
//! let be = Backend::start(framer, |_req: &[u8]| {
//!     Reply::Send(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec())
//! });
//! let mark = be.mark();
//! let t = converse(
//!     be.port(),
//!     &[b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"],
//!     &|got: &[u8]| got.ends_with(b"okHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
//!     Duration::from_millis(50),
//! );
//! assert!(!t.closed);
//! assert_eq!(be.since(mark), vec![b"GET /a HTTP/1.1\r\n\r\n".to_vec(), b"GET /b HTTP/1.1\r\n\r\n".to_vec()]);
//! ```

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::fs::TempDir;
use crate::proc::Proc;

/// The length of the first complete request (head and body) in the bytes, if
/// they hold one.
pub type Framer = fn(&[u8]) -> Option<usize>;

/// What the backend does with a complete request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Writes the bytes and waits for the next request on the connection.
    Send(Vec<u8>),
    /// Writes the bytes, then closes the connection.
    Close(Vec<u8>),
    /// Writes the bytes, then echoes back everything that comes (recorded as part
    /// of the request), as a WebSocket server after its 101.
    Tunnel(Vec<u8>),
    /// Answers nothing (the proxy's `timeout server` fires).
    Silent,
}

type Log = Arc<Mutex<Vec<Vec<u8>>>>;
type Respond = Arc<dyn Fn(&[u8]) -> Reply + Send + Sync>;

/// A recording keep-alive HTTP/1.1 backend (see the module doc).
pub struct Backend {
    port: u16,
    log: Log,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// How long the threads block in a read or accept before looking at the stop flag.
const TICK: Duration = Duration::from_millis(10);

impl Backend {
    /// Starts on 127.0.0.1:0; `respond` decides the answer to each request.
    pub fn start(
        framer: Framer,
        respond: impl Fn(&[u8]) -> Reply + Send + Sync + 'static,
    ) -> Backend {
        let respond: Respond = Arc::new(respond);
        let l = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        let port = l.local_addr().expect("addr").port();
        l.set_nonblocking(true).expect("nonblocking");
        let log: Log = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (lg, st) = (log.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => {
                        let (lg, st, rs) = (lg.clone(), st.clone(), respond.clone());
                        conns.push(std::thread::spawn(move || {
                            serve(c, framer, &*rs, &lg, &st);
                        }));
                    }
                    Err(_) => std::thread::sleep(TICK),
                }
                conns.retain(|h: &JoinHandle<()>| !h.is_finished());
            }
            for h in conns {
                let _ = h.join();
            }
        });
        Backend {
            port,
            log,
            stop,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A position in the record: [`Backend::since`] returns what came after it.
    pub fn mark(&self) -> usize {
        self.log.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// The requests received since `mark`, in order of arrival (a request still
    /// arriving: what came of it so far).
    pub fn since(&self, mark: usize) -> Vec<Vec<u8>> {
        self.log
            .lock()
            .map(|l| l.get(mark..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Whether a request head asks for an interim 100 (`Expect: 100-continue`).
fn expects_continue(head: &[u8]) -> bool {
    String::from_utf8_lossy(head)
        .to_ascii_lowercase()
        .lines()
        .any(|l| l.starts_with("expect:") && l.contains("100-continue"))
}

fn serve(
    mut c: TcpStream,
    framer: Framer,
    respond: &(dyn Fn(&[u8]) -> Reply + Send + Sync),
    log: &Log,
    stop: &AtomicBool,
) {
    let _ = c.set_read_timeout(Some(TICK));
    let mut buf: Vec<u8> = Vec::new();
    // The log entry of the request being received, once its first byte came.
    let mut entry: Option<usize> = None;
    let mut continued = false;
    let mut tunnel = false;
    let mut tmp = vec![0u8; 65536];
    let put = |entry: &mut Option<usize>, bytes: &[u8]| {
        if let Ok(mut l) = log.lock() {
            match *entry {
                Some(i) => {
                    if let Some(e) = l.get_mut(i) {
                        *e = bytes.to_vec();
                    }
                }
                None => {
                    l.push(bytes.to_vec());
                    *entry = Some(l.len() - 1);
                }
            }
        }
    };
    while !stop.load(Ordering::SeqCst) {
        let n = match c.read(&mut tmp) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        };
        buf.extend_from_slice(&tmp[..n]);
        put(&mut entry, &buf);
        if tunnel {
            if c.write_all(&tmp[..n]).is_err() {
                return;
            }
            continue;
        }
        while !buf.is_empty() {
            let Some(len) = framer(&buf).filter(|&l| l > 0 && l <= buf.len()) else {
                let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
                if let Some(end) = head_end.filter(|_| !continued) {
                    if expects_continue(&buf[..end]) {
                        continued = true;
                        if c.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                            return;
                        }
                    }
                }
                break;
            };
            let request: Vec<u8> = buf.drain(..len).collect();
            put(&mut entry, &request);
            let this = entry.take();
            continued = false;
            match respond(&request) {
                Reply::Send(b) => {
                    if c.write_all(&b).is_err() {
                        return;
                    }
                }
                Reply::Close(b) => {
                    let _ = c.write_all(&b);
                    let _ = c.shutdown(std::net::Shutdown::Write);
                    // Let the peer read before the socket goes (a close with
                    // unread input would reset).
                    std::thread::sleep(Duration::from_millis(50));
                    return;
                }
                Reply::Tunnel(b) => {
                    if c.write_all(&b).is_err() {
                        return;
                    }
                    // From now on the request's entry records the whole
                    // exchange: the upgrade request, then the tunnelled bytes.
                    tunnel = true;
                    entry = this;
                    let rest = std::mem::take(&mut buf);
                    buf = request;
                    buf.extend_from_slice(&rest);
                    put(&mut entry, &buf);
                    if !rest.is_empty() && c.write_all(&rest).is_err() {
                        return;
                    }
                    break;
                }
                Reply::Silent => {}
            }
            if !buf.is_empty() {
                put(&mut entry, &buf);
            }
        }
    }
}

/// What a client received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    pub bytes: Vec<u8>,
    /// The proxy closed the connection (EOF or reset) before the client gave up.
    pub closed: bool,
}

/// How long [`converse`] waits between two steps, reading.
pub const STEP_PAUSE: Duration = Duration::from_millis(150);

/// Connects to 127.0.0.1:`port`, writes each step ([`STEP_PAUSE`] apart, reading
/// meanwhile), reads until `complete` holds for what came (at most 5 s), then
/// waits up to `linger` for the proxy to close. A refused connection is an empty,
/// closed transcript.
pub fn converse(
    port: u16,
    steps: &[&[u8]],
    complete: &dyn Fn(&[u8]) -> bool,
    linger: Duration,
) -> Transcript {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return Transcript {
            bytes: Vec::new(),
            closed: true,
        };
    };
    let _ = s.set_read_timeout(Some(TICK));
    let mut t = Transcript {
        bytes: Vec::new(),
        closed: false,
    };
    let Ok(mut w) = s.try_clone() else {
        return t;
    };
    let mut tmp = vec![0u8; 65536];
    // Reads until `until` or `stop(bytes)`; false once the peer closed.
    let mut read = |t: &mut Transcript, until: Instant, stop: &dyn Fn(&[u8]) -> bool| {
        while !t.closed && Instant::now() < until && !stop(&t.bytes) {
            match s.read(&mut tmp) {
                Ok(0) => t.closed = true,
                Ok(n) => t.bytes.extend_from_slice(&tmp[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => t.closed = true,
            }
        }
    };
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            read(&mut t, Instant::now() + STEP_PAUSE, &|_| false);
        }
        if t.closed {
            break;
        }
        let _ = w.write_all(step);
    }
    read(&mut t, Instant::now() + Duration::from_secs(5), complete);
    read(&mut t, Instant::now() + linger, &|_| false);
    t
}

/// Whether a socket listens on TCP `port` (any address, IPv4 or IPv6), from
/// /proc/net/tcp and tcp6 (state 0A); a connection as the fallback where /proc is
/// unreadable.
pub fn listening(port: u16) -> bool {
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        let found = text.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            local_port == Some(port) && f.get(3) == Some(&"0A")
        });
        if found {
            return true;
        }
    }
    !readable && TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// A proxy process (HAProxy or haproxide) on a configuration in a temp dir of its
/// own; stopped, and the directory removed, on drop.
pub struct Proxy {
    proc: Option<Proc>,
    pub dir: TempDir,
    stderr: std::path::PathBuf,
}

impl Proxy {
    /// Writes `files` (name, content) and `haproxy.cfg` (`cfg`) into `dir`, and
    /// starts `program -db -f haproxy.cfg` there, stderr to a file in `dir`.
    pub fn start(program: &Path, dir: TempDir, cfg: &str, files: &[(String, Vec<u8>)]) -> Proxy {
        for (name, content) in files {
            std::fs::write(dir.path(name), content).expect("write file");
        }
        std::fs::write(dir.path("haproxy.cfg"), cfg).expect("write cfg");
        let stderr = dir.path("stderr");
        let err = std::fs::File::create(&stderr).expect("stderr file");
        let child = Command::new(program)
            .arg("-db")
            .arg("-f")
            .arg(dir.path("haproxy.cfg"))
            .current_dir(dir.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn proxy");
        Proxy {
            proc: Some(Proc::new(child)),
            dir,
            stderr,
        }
    }

    /// The process id (0 once it exited).
    pub fn pid(&self) -> u32 {
        self.proc.as_ref().map_or(0, Proc::pid)
    }

    /// Also removes `path` once the process stopped (a socket it leaves behind).
    pub fn remove_on_drop(mut self, path: std::path::PathBuf) -> Proxy {
        self.proc = self.proc.take().map(|p| p.remove_on_drop(path));
        self
    }

    /// Waits up to `within` until `port` accepts: Ok, or Err with what the
    /// process wrote on stderr if it exited (or did not listen in time).
    pub fn wait_listening(&mut self, port: u16, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            // Read from /proc, not probed with a connection: HAProxy logs a
            // connection closed without a request (`<BADREQ>` 400 CR--), and under
            // load that line came late enough to land in a test's first case.
            if listening(port) {
                return Ok(());
            }
            let exited = match self.proc.as_mut() {
                Some(p) => !matches!(p.0.try_wait(), Ok(None)),
                None => true,
            };
            if exited || Instant::now() >= deadline {
                self.proc = None;
                let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                return Err(if exited {
                    err
                } else {
                    format!("did not listen on {port} within {within:?}\n{err}")
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the process wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}
