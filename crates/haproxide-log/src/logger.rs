//! Sending lines to the targets (configuration.txt §3.1 `log`), without
//! ever blocking or failing the caller.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::SystemTime;

use haproxide_check::log::LogLine;

use super::clock::{Tm, Zone};
use super::target::{Facility, Level, LogDest, LogFormat, LogTarget};
use super::LogError;

/// Lines queued per stdout/stderr/fd target before new ones are dropped
/// (and counted) rather than blocking the proxy.
const STREAM_QUEUE: usize = 4096;

/// What HAProxy puts in the syslog header besides the date
/// (configuration.txt §3.1 `log-tag`, `log-send-hostname`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogIdentity {
    /// `log-tag` (global); HAProxy defaults to its program name, "haproxy",
    /// which is kept as the default so that syslog filters keep matching.
    pub tag: String,
    /// The pid printed in `tag[pid]`.
    pub pid: u32,
    /// `log-send-hostname`: `Some(name)` replaces `localhost` (rfc3164) or
    /// `-` (rfc5424); `local` never prints a hostname (the keyword makes
    /// `rfc3164` the default format instead, see [`LogFormat::default_for`]).
    pub hostname: Option<String>,
}

impl Default for SyslogIdentity {
    fn default() -> Self {
        SyslogIdentity {
            tag: "haproxy".to_string(),
            pid: std::process::id(),
            hostname: None,
        }
    }
}

impl SyslogIdentity {
    /// `log-tag <tag>`.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// `log-send-hostname [<name>]`: `None` means the keyword without
    /// argument, i.e. the system's hostname.
    pub fn with_send_hostname(mut self, name: Option<String>) -> Self {
        self.hostname = Some(name.unwrap_or_else(system_hostname));
        self
    }
}

/// The system's hostname (`%H`, `log-send-hostname` without argument).
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Builds the bytes of one syslog message: header per `format`, `msg`,
/// the whole cut to `max_len` bytes, then `\n` (configuration.txt §3.1
/// `log` `format` and `len`; byte layout verified against HAProxy 2.6.12,
/// see [`LogFormat`]).
#[allow(clippy::too_many_arguments)]
pub fn render_message(
    format: LogFormat,
    facility: Facility,
    level: Level,
    ident: &SyslogIdentity,
    tag: Option<&str>,
    tm: &Tm,
    msg: &str,
    max_len: usize,
) -> Vec<u8> {
    let mut line = Vec::with_capacity(64 + msg.len().min(max_len));
    let head = Header {
        format,
        facility,
        level,
        ident,
        tag,
        tm,
    };
    head.message_into(&mut line, msg.as_bytes(), max_len);
    line
}

/// What goes before a message.
struct Header<'a> {
    format: LogFormat,
    facility: Facility,
    level: Level,
    ident: &'a SyslogIdentity,
    tag: Option<&'a str>,
    tm: &'a Tm,
}

impl Header<'_> {
    /// [`render_message`] into `line` (cleared first).
    fn message_into(&self, line: &mut Vec<u8>, msg: &[u8], max_len: usize) {
        use std::io::Write as _;
        let Header {
            format,
            facility,
            level,
            ident,
            tag,
            tm,
        } = *self;
        let pri = u32::from(facility.code()) * 8 + u32::from(level.code());
        let tag = tag.unwrap_or(&ident.tag);
        let pid = ident.pid;
        line.clear();
        match format {
            LogFormat::Local | LogFormat::Rfc3164 => {
                // Pushed piece by piece (each log line: no formatting machinery).
                use haproxide_expr::logfmt::push_dec;
                line.push(b'<');
                push_dec(line, u64::from(pri));
                line.push(b'>');
                tm.push_rfc3164(line);
                if format == LogFormat::Rfc3164 {
                    let h = ident.hostname.as_deref().unwrap_or("localhost");
                    line.push(b' ');
                    line.extend_from_slice(h.as_bytes());
                }
                line.push(b' ');
                line.extend_from_slice(tag.as_bytes());
                line.push(b'[');
                push_dec(line, u64::from(pid));
                line.extend_from_slice(b"]: ");
            }
            LogFormat::Rfc5424 => {
                let h = ident.hostname.as_deref().unwrap_or("-");
                let _ = write!(line, "<{pri}>1 {} {h} {tag} {pid} - - ", tm.iso());
            }
            LogFormat::Priority => {
                let _ = write!(line, "<{pri}>");
            }
            LogFormat::Short => {
                let _ = write!(line, "<{}>", level.code());
            }
            LogFormat::Timed => {
                let _ = write!(line, "<{}>{} ", level.code(), tm.iso());
            }
            LogFormat::Iso => {
                let _ = write!(line, "{} ", tm.iso());
            }
            LogFormat::Raw => {}
        }
        line.extend_from_slice(msg);
        line.truncate(max_len);
        line.push(b'\n');
    }
}

/// Runs `f` with this thread's scratch buffer `cell` (emptied), or with a
/// fresh one if it is in use (a reentrant call). Lines are rendered there, so
/// that logging a request allocates nothing once the buffer has grown; a
/// buffer grown past 64 KiB by a huge line is given back.
pub(crate) fn with_scratch<R>(
    cell: &'static std::thread::LocalKey<std::cell::RefCell<Vec<u8>>>,
    f: impl FnOnce(&mut Vec<u8>) -> R,
) -> R {
    cell.with(|c| match c.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let r = f(&mut buf);
            if buf.capacity() > 64 * 1024 {
                *buf = Vec::new();
            }
            r
        }
        Err(_) => f(&mut Vec::new()),
    })
}

thread_local! {
    /// The syslog message being sent (header + line), per thread.
    static MESSAGE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

enum Output {
    Udp(UdpSocket, SocketAddr),
    Unix(UnixDatagram, PathBuf),
    /// A queue to a writer thread that is started by the first line sent, not
    /// when the logger is built: with `-D` the logger is built before the fork,
    /// and a thread started then would not exist in the daemon (issue 13 row 11).
    Stream(SyncSender<Vec<u8>>, StartOnce),
}

/// Starts a writer thread once.
type StartOnce = std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>;

struct Sink {
    target: LogTarget,
    out: Output,
    /// Lines that passed the level filter, for `sample`.
    seen: AtomicU64,
}

/// Counters shared with the writer threads.
#[derive(Debug, Default)]
struct Shared {
    dropped: AtomicU64,
    /// Lines queued to writer threads and not written yet.
    pending: AtomicU64,
}

struct Inner {
    sinks: Vec<Sink>,
    ident: SyslogIdentity,
    zone: Zone,
    sent: AtomicU64,
    shared: Arc<Shared>,
}

/// A set of log targets: the global `log` lines, or a proxy's (`log
/// global` plus its own). Cheap to clone (shared), `Send + Sync`.
///
/// Sending never blocks for long and never fails: UDP and unix datagram
/// sockets are non-blocking (a full or missing `/dev/log` drops the line),
/// stdout/stderr/`fd@N` lines go through a bounded queue to a writer
/// thread. Lost lines are counted in [`Logger::dropped`] (HAProxy's
/// "DroppedLogs").
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("targets", &self.targets().collect::<Vec<_>>())
            .field("ident", &self.inner.ident)
            .field("zone", &self.inner.zone)
            .finish()
    }
}

impl Default for Logger {
    fn default() -> Self {
        Logger::disabled()
    }
}

fn open(target: &LogTarget, shared: &Arc<Shared>) -> Result<Output, LogError> {
    let io_err = |source| LogError::Open {
        dest: target.dest.to_string(),
        source,
    };
    match &target.dest {
        LogDest::Udp(addr) => {
            let local: SocketAddr = if addr.is_ipv4() {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let s = UdpSocket::bind(local).map_err(io_err)?;
            s.set_nonblocking(true).map_err(io_err)?;
            Ok(Output::Udp(s, *addr))
        }
        LogDest::UnixDgram(path) => {
            let s = UnixDatagram::unbound().map_err(io_err)?;
            s.set_nonblocking(true).map_err(io_err)?;
            Ok(Output::Unix(s, path.clone()))
        }
        LogDest::Stdout | LogDest::Fd(1) => {
            spawn_writer("stdout", std::io::stdout(), shared).map_err(io_err)
        }
        LogDest::Stderr | LogDest::Fd(2) => {
            spawn_writer("stderr", std::io::stderr(), shared).map_err(io_err)
        }
        LogDest::Fd(n) => {
            let f = OpenOptions::new()
                .append(true)
                .open(format!("/dev/fd/{n}"))
                .map_err(io_err)?;
            spawn_writer("fd", f, shared).map_err(io_err)
        }
    }
}

fn spawn_writer<W: Write + Send + 'static>(
    name: &str,
    mut w: W,
    shared: &Arc<Shared>,
) -> std::io::Result<Output> {
    let (tx, rx) = sync_channel::<Vec<u8>>(STREAM_QUEUE);
    let shared = Arc::clone(shared);
    let name = format!("log-{name}");
    let start: Box<dyn FnOnce() + Send> = Box::new(move || {
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            for line in rx {
                if w.write_all(&line).and_then(|()| w.flush()).is_err() {
                    shared.dropped.fetch_add(1, Ordering::Relaxed);
                }
                shared.pending.fetch_sub(1, Ordering::AcqRel);
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot start a log writer: {e}");
        }
    });
    Ok(Output::Stream(tx, std::sync::Mutex::new(Some(start))))
}

impl Logger {
    /// Opens the targets (sockets are created now, unbound and
    /// non-blocking; unix socket paths are resolved at each send, so a
    /// syslog daemon may come and go). Local time zone, as HAProxy.
    pub fn new(targets: Vec<LogTarget>, ident: SyslogIdentity) -> Result<Logger, LogError> {
        Logger::with_zone(targets, ident, Zone::Local)
    }

    /// [`Logger::new`] printing dates in `zone`.
    pub fn with_zone(
        targets: Vec<LogTarget>,
        ident: SyslogIdentity,
        zone: Zone,
    ) -> Result<Logger, LogError> {
        let shared = Arc::new(Shared::default());
        let sinks = targets
            .into_iter()
            .map(|target| {
                let out = open(&target, &shared)?;
                Ok(Sink {
                    target,
                    out,
                    seen: AtomicU64::new(0),
                })
            })
            .collect::<Result<Vec<_>, LogError>>()?;
        Ok(Logger {
            inner: Arc::new(Inner {
                sinks,
                ident,
                zone,
                sent: AtomicU64::new(0),
                shared,
            }),
        })
    }

    /// A proxy's logger: this one's targets (`log global`) followed by
    /// `more` (the proxy's own `log` lines, §4.2 `log`), same identity and
    /// zone. Sockets are opened anew.
    pub fn extend(&self, more: Vec<LogTarget>) -> Result<Logger, LogError> {
        let mut targets: Vec<LogTarget> = self.targets().cloned().collect();
        targets.extend(more);
        Logger::with_zone(targets, self.inner.ident.clone(), self.inner.zone)
    }

    /// No targets: every send is a no-op (`no log`, or no `log` line).
    pub fn disabled() -> Logger {
        Logger {
            inner: Arc::new(Inner {
                sinks: Vec::new(),
                ident: SyslogIdentity::default(),
                zone: Zone::Local,
                sent: AtomicU64::new(0),
                shared: Arc::new(Shared::default()),
            }),
        }
    }

    /// Whether there is no target at all.
    pub fn is_empty(&self) -> bool {
        self.inner.sinks.is_empty()
    }

    /// The targets, in configuration order.
    pub fn targets(&self) -> impl Iterator<Item = &LogTarget> {
        self.inner.sinks.iter().map(|s| &s.target)
    }

    /// The header identity.
    pub fn identity(&self) -> &SyslogIdentity {
        &self.inner.ident
    }

    /// The zone dates are printed in.
    pub fn zone(&self) -> Zone {
        self.inner.zone
    }

    /// Lines handed to the system (or to a writer queue).
    pub fn sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Lines lost: full socket buffer or queue, missing unix socket, write
    /// errors.
    pub fn dropped(&self) -> u64 {
        self.inner.shared.dropped.load(Ordering::Relaxed)
    }

    /// Waits until the stdout/stderr/fd writer threads have written every
    /// queued line, at most `timeout`; returns whether they did. Call it
    /// before the process exits so that the last lines (e.g. "Proxy X
    /// stopped") are not lost.
    pub fn flush(&self, timeout: std::time::Duration) -> bool {
        let end = std::time::Instant::now() + timeout;
        loop {
            if self.inner.shared.pending.load(Ordering::Acquire) == 0 {
                return true;
            }
            if std::time::Instant::now() >= end {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Sends `msg` at `level` to every target that accepts the level, with
    /// the global `log-tag`.
    pub fn send(&self, level: Level, msg: &str) {
        self.send_at(level, None, msg, SystemTime::now());
    }

    /// [`Logger::send`] with a proxy's `log-tag` (configuration.txt §4.2
    /// `log-tag`) instead of the global one.
    pub fn send_tagged(&self, level: Level, tag: Option<&str>, msg: &str) {
        self.send_at(level, tag, msg, SystemTime::now());
    }

    /// A process or proxy event (`Proxy X stopped (...)`, `Server X is
    /// DOWN...`): the text as-is, at `level`. See [`super::events`] for the
    /// texts.
    pub fn event(&self, level: Level, text: &str) {
        self.send(level, text);
    }

    /// A health-check log line from `haproxide-check`, at its severity.
    pub fn check_line(&self, line: &LogLine) {
        self.send(line.severity.into(), &line.text);
    }

    /// A health-check log line sent with a backend's `log-tag` (§4.2).
    pub fn check_line_tagged(&self, line: &LogLine, tag: Option<&str>) {
        self.send_tagged(line.severity.into(), tag, &line.text);
    }

    /// [`Logger::send_tagged`] with an explicit header date (tests).
    pub fn send_at(&self, level: Level, tag: Option<&str>, msg: &str, now: SystemTime) {
        self.send_bytes_at(level, tag, msg.as_bytes(), now);
    }

    /// [`Logger::send_tagged`] of a line as bytes (a session line rendered in
    /// a reused buffer: see `FrontendLog`).
    pub fn send_bytes_tagged(&self, level: Level, tag: Option<&str>, msg: &[u8]) {
        self.send_bytes_at(level, tag, msg, SystemTime::now());
    }

    fn send_bytes_at(&self, level: Level, tag: Option<&str>, msg: &[u8], now: SystemTime) {
        if self.inner.sinks.is_empty() {
            return;
        }
        let tm = Tm::new(now, self.inner.zone);
        for sink in &self.inner.sinks {
            let Some(lvl) = sink.target.effective_level(level) else {
                continue;
            };
            if let Some(sample) = &sink.target.sample {
                let n = sink.seen.fetch_add(1, Ordering::Relaxed) + 1;
                if !sample.takes(n) {
                    continue;
                }
            }
            let head = Header {
                format: sink.target.format,
                facility: sink.target.facility,
                level: lvl,
                ident: &self.inner.ident,
                tag,
                tm: &tm,
            };
            let max_len = sink.target.max_len;
            let ok = match &sink.out {
                Output::Udp(s, addr) => with_scratch(&MESSAGE, |b| {
                    head.message_into(b, msg, max_len);
                    s.send_to(b, addr).is_ok()
                }),
                Output::Unix(s, path) => with_scratch(&MESSAGE, |b| {
                    head.message_into(b, msg, max_len);
                    match s.send_to(b, path) {
                        Ok(_) => true,
                        Err(e) => {
                            if e.kind() != ErrorKind::WouldBlock {
                                tracing::trace!(path = %path.display(), error = %e, "log send failed");
                            }
                            false
                        }
                    }
                }),
                Output::Stream(tx, start) => {
                    // The writer thread owns the line: one allocation here.
                    let mut bytes = Vec::with_capacity(64 + msg.len().min(max_len));
                    head.message_into(&mut bytes, msg, max_len);
                    if let Some(f) = start.lock().ok().and_then(|mut g| g.take()) {
                        f();
                    }
                    self.inner.shared.pending.fetch_add(1, Ordering::AcqRel);
                    match tx.try_send(bytes) {
                        Ok(()) => true,
                        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                            self.inner.shared.pending.fetch_sub(1, Ordering::AcqRel);
                            false
                        }
                    }
                }
            };
            if ok {
                self.inner.sent.fetch_add(1, Ordering::Relaxed);
            } else {
                self.inner.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
