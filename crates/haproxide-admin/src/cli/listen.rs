//! The `stats socket` listeners: UNIX path, TCP (`ipv4@`/`ipv6@`) or an inherited
//! `fd@N`, one task per client, every read and write bounded by `stats timeout`.
//!
//! [`serve_stream`] serves one CLI session over any byte stream (a socketpair, a
//! pipe to a master process...), with the same rules as a `stats socket` client.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};

use super::exec::{Commands, Reply, Step};
use super::{Level, RuntimeState, Session};

/// Options of one `stats socket` line plus `stats timeout` / `stats maxconn`.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub level: Level,
    /// `mode` (octal in the configuration), UNIX sockets only.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `stats timeout` (HAProxy's default: 10s): idle limit of a client.
    pub timeout: Duration,
    /// `stats maxconn` (HAProxy's default: 10): concurrent clients.
    pub maxconn: usize,
    /// Longest accepted command line (HAProxy's buffer size).
    pub max_line: usize,
    /// `expose-fd listeners` (configuration.txt §5.1): `_getsocks` hands the
    /// process's listening sockets to a new process (`-x`). haproxide also
    /// requires `level admin` (HAProxy 2.6 does not: see docs/security.md).
    pub expose_fd_listeners: bool,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            level: Level::Admin,
            mode: None,
            uid: None,
            gid: None,
            timeout: Duration::from_secs(10),
            maxconn: 10,
            max_line: 16384,
            expose_fd_listeners: false,
        }
    }
}

/// Where a `stats socket` listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliAddress {
    Unix(PathBuf),
    Tcp(SocketAddr),
    /// An inherited listening socket (`fd@N`), UNIX or TCP.
    Fd(i32),
}

impl std::fmt::Display for CliAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliAddress::Unix(p) => write!(f, "{}", p.display()),
            CliAddress::Tcp(a) => write!(f, "{a}"),
            CliAddress::Fd(n) => write!(f, "fd@{n}"),
        }
    }
}

/// Parses a `stats socket` address: `/path`, `unix@/path`, `ipv4@IP:PORT`,
/// `ipv6@[IP]:PORT` or `IP:PORT`.
pub fn parse_address(s: &str) -> Option<CliAddress> {
    if let Some(n) = s.strip_prefix("fd@") {
        return n.parse().ok().map(CliAddress::Fd);
    }
    if let Some(p) = s.strip_prefix("unix@") {
        return Some(CliAddress::Unix(p.into()));
    }
    if s.starts_with('/') || s.starts_with('.') {
        return Some(CliAddress::Unix(s.into()));
    }
    let hostport = s
        .strip_prefix("ipv4@")
        .or_else(|| s.strip_prefix("ipv6@"))
        .unwrap_or(s);
    hostport.parse().ok().map(CliAddress::Tcp)
}

/// Serves a `stats socket` at a parsed address (see [`parse_address`]).
pub async fn serve_address(
    addr: &CliAddress,
    opts: ListenOptions,
    state: Arc<dyn RuntimeState>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    match addr {
        CliAddress::Unix(p) => serve_unix(p, opts, state, shutdown).await,
        CliAddress::Tcp(a) => serve_tcp(*a, opts, state, shutdown).await,
        CliAddress::Fd(fd) => match adopt_fd(*fd)? {
            Adopted::Unix(l) => serve_unix_listener(l, opts, state, shutdown).await,
            Adopted::Tcp(l) => serve_tcp_listener(l, opts, state, shutdown).await,
        },
    }
}

/// A listener bound before the loop runs (bind errors show at start-up).
pub enum Bound {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

/// Binds a `stats socket` now (inside a tokio runtime); [`serve_bound`] serves it.
pub fn bind_address(addr: &CliAddress, opts: &ListenOptions) -> io::Result<Bound> {
    match addr {
        CliAddress::Unix(p) => Ok(Bound::Unix(bind_unix(p, opts)?, p.clone())),
        CliAddress::Tcp(a) => {
            let sock = if a.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            sock.set_reuseaddr(true)?;
            sock.bind(*a)?;
            Ok(Bound::Tcp(sock.listen(1024)?))
        }
        CliAddress::Fd(fd) => match adopt_fd(*fd)? {
            Adopted::Unix(l) => Ok(Bound::Unix(l, PathBuf::new())),
            Adopted::Tcp(l) => Ok(Bound::Tcp(l)),
        },
    }
}

/// Serves a listener from [`bind_address`] until `shutdown`; a UNIX socket file
/// is removed on exit unless another process has replaced it.
pub async fn serve_bound(
    bound: Bound,
    opts: ListenOptions,
    state: Arc<dyn RuntimeState>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    match bound {
        Bound::Tcp(l) => serve_tcp_listener(l, opts, state, shutdown).await,
        Bound::Unix(l, path) => {
            let ours = (!path.as_os_str().is_empty())
                .then(|| inode(&path))
                .flatten();
            let r = serve_unix_listener(l, opts, state, shutdown).await;
            if ours.is_some() && inode(&path) == ours {
                let _ = std::fs::remove_file(&path);
            }
            r
        }
    }
}

enum Adopted {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Takes an inherited listening socket (`fd@N`) through the same check as a
/// `bind fd@N` ([`haproxide_forward::sys::adopt_listening_fd`]: not 0-2, open, a
/// stream socket in the listening state).
fn adopt_fd(fd: i32) -> io::Result<Adopted> {
    let sock = haproxide_forward::sys::adopt_listening_fd(fd)
        .map_err(|e| io::Error::new(e.kind(), format!("fd@{fd}: {e}")))?;
    sock.set_nonblocking(true)?;
    if sock.domain()? == socket2::Domain::UNIX {
        let l: std::os::unix::net::UnixListener = std::os::fd::OwnedFd::from(sock).into();
        Ok(Adopted::Unix(UnixListener::from_std(l)?))
    } else {
        let l: std::net::TcpListener = std::os::fd::OwnedFd::from(sock).into();
        Ok(Adopted::Tcp(TcpListener::from_std(l)?))
    }
}

/// Binds a UNIX `stats socket` (replacing a stale socket file, applying mode/uid/gid)
/// and serves it until `shutdown` turns true (or its sender is dropped). The
/// socket file is removed on exit unless another process has replaced it.
pub async fn serve_unix(
    path: &Path,
    opts: ListenOptions,
    state: Arc<dyn RuntimeState>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let listener = bind_unix(path, &opts)?;
    let ours = inode(path);
    let r = serve_unix_listener(listener, opts, state, shutdown).await;
    // Unlink only our own socket: after a reload the path may already be the new
    // process's.
    if ours.is_some() && inode(path) == ours {
        let _ = std::fs::remove_file(path);
    }
    r
}

fn inode(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Binds a UNIX socket as `stats socket` does (for callers that want bind errors
/// at startup, then [`serve_unix_listener`]). As HAProxy, the socket is bound
/// under a temporary name (`PATH.PID.tmp`), given its mode and owner, then
/// renamed over `PATH`: during a reload the path always answers, first from the
/// old process, then from the new one. Anything but a socket at `PATH` is never
/// replaced.
pub fn bind_unix(path: &Path, opts: &ListenOptions) -> io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    let prepared = (|| {
        if let Some(mode) = opts.mode {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        }
        if opts.uid.is_some() || opts.gid.is_some() {
            std::os::unix::fs::chown(&tmp, opts.uid, opts.gid)?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = prepared {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(listener)
}

/// Serves an already bound UNIX listener.
pub async fn serve_unix_listener(
    listener: UnixListener,
    opts: ListenOptions,
    state: Arc<dyn RuntimeState>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    accept_loop(listener, opts, state, shutdown).await
}

/// Serves a TCP `stats socket` (`ipv4@127.0.0.1:9999`) until `shutdown`.
pub async fn serve_tcp(
    addr: SocketAddr,
    opts: ListenOptions,
    state: Arc<dyn RuntimeState>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_tcp_listener(listener, opts, state, shutdown).await
}

/// Serves an already bound TCP listener.
pub async fn serve_tcp_listener(
    listener: TcpListener,
    opts: ListenOptions,
    state: Arc<dyn RuntimeState>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    accept_loop(listener, opts, state, shutdown).await
}

/// A listener whose connections split into a read and a write half (plus, for a
/// UNIX socket, a second handle on the connection for `_getsocks`).
trait CliListener {
    type Read: AsyncRead + Unpin + Send + 'static;
    type Write: AsyncWrite + Unpin + Send + 'static;
    async fn accept_split(&self) -> io::Result<(Self::Read, Self::Write, Option<UnixConn>)>;
}

/// A second handle on a UNIX CLI connection: descriptors can only be passed there.
type UnixConn = std::os::unix::net::UnixStream;

impl CliListener for UnixListener {
    type Read = tokio::net::unix::OwnedReadHalf;
    type Write = tokio::net::unix::OwnedWriteHalf;
    async fn accept_split(&self) -> io::Result<(Self::Read, Self::Write, Option<UnixConn>)> {
        let std = self.accept().await?.0.into_std()?;
        let conn = std.try_clone()?;
        let (rd, wr) = tokio::net::UnixStream::from_std(std)?.into_split();
        Ok((rd, wr, Some(conn)))
    }
}

impl CliListener for TcpListener {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;
    async fn accept_split(&self) -> io::Result<(Self::Read, Self::Write, Option<UnixConn>)> {
        let (rd, wr) = self.accept().await?.0.into_split();
        Ok((rd, wr, None))
    }
}

/// The process's CLI listeners serving now, CLI connections open now and
/// accepted since start: HAProxy counts them in `show info`'s `Listeners`,
/// `Jobs`, `CumConns` and `CumReq` (measured with 2.6.12: each `show info` on a
/// new connection shows one more `CumConns`, and `Jobs` counts the connection
/// asking).
static CLI_LISTENERS: AtomicU64 = AtomicU64::new(0);
static CLI_ACTIVE: AtomicU64 = AtomicU64::new(0);
static CLI_TOTAL: AtomicU64 = AtomicU64::new(0);

/// (listeners, open connections, connections accepted) of the CLI in this process.
pub fn cli_counts() -> (u64, u64, u64) {
    (
        CLI_LISTENERS.load(Ordering::Relaxed),
        CLI_ACTIVE.load(Ordering::Relaxed),
        CLI_TOTAL.load(Ordering::Relaxed),
    )
}

/// Counts one while alive in a [`cli_counts`] gauge.
struct Counted(&'static AtomicU64);

impl Counted {
    fn new(gauge: &'static AtomicU64) -> Counted {
        gauge.fetch_add(1, Ordering::Relaxed);
        Counted(gauge)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accept clients (at most `maxconn` at once) until `shutdown`.
async fn accept_loop<L: CliListener>(
    listener: L,
    opts: ListenOptions,
    state: Arc<dyn RuntimeState>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let _listening = Counted::new(&CLI_LISTENERS);
    let slots = Arc::new(Semaphore::new(opts.maxconn.max(1)));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return Ok(());
        };
        tokio::select! {
            r = listener.accept_split() => {
                match r {
                    Ok((rd, wr, conn)) => {
                        let (state, opts, stop) = (Arc::clone(&state), opts.clone(), shutdown.clone());
                        tokio::spawn(async move {
                            serve_conn(rd, wr, conn, &opts, state.as_ref(), stop).await;
                            drop(permit);
                        });
                    }
                    Err(e) => {
                        tracing::warn!("stats socket accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            _ = stopped(&mut shutdown) => return Ok(()),
        }
    }
}

/// Resolves once the shutdown flag is true (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// One client: lines in, replies out. Never blocks longer than `opts.timeout`
/// per read or write; a line longer than `opts.max_line` closes the connection.
pub async fn serve_client<R, W>(
    rd: R,
    wr: W,
    opts: &ListenOptions,
    state: &dyn RuntimeState,
    shutdown: watch::Receiver<bool>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    serve_conn(rd, wr, None, opts, state, shutdown).await
}

/// [`serve_client`], with `conn` the UNIX connection itself when there is one.
async fn serve_conn<R, W>(
    rd: R,
    mut wr: W,
    conn: Option<UnixConn>,
    opts: &ListenOptions,
    state: &dyn RuntimeState,
    mut shutdown: watch::Receiver<bool>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let _open = Counted::new(&CLI_ACTIVE);
    CLI_TOTAL.fetch_add(1, Ordering::Relaxed);
    let mut reader = BufReader::with_capacity(opts.max_line.max(64), rd);
    let mut session = Session::new(state, opts.level);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = async {
            let mut limited = (&mut reader).take(opts.max_line as u64 + 1);
            limited.read_until(b'\n', &mut buf).await
        };
        let n = tokio::select! {
            r = tokio::time::timeout(opts.timeout, read) => match r {
                Ok(Ok(n)) => n,
                _ => return,
            },
            _ = stopped(&mut shutdown) => return,
        };
        // EOF, or a line without its newline (HAProxy runs nothing then).
        if n == 0 || buf.last() != Some(&b'\n') {
            return;
        }
        buf.pop();
        let line = String::from_utf8_lossy(&buf).into_owned();
        // `_getsocks` (HAProxy's `-x`): the listening sockets go over the connection
        // itself, then it ends. Refused exactly as HAProxy refuses it (the
        // connection closes, nothing sent) without `expose-fd listeners`, and, in
        // haproxide, below `level admin`.
        if line.split_whitespace().next() == Some("_getsocks") {
            let allowed = opts.expose_fd_listeners && opts.level == Level::Admin;
            if let (true, Some(conn), Some(export)) = (allowed, conn, state.export_listeners()) {
                match tokio::task::spawn_blocking(move || export(conn)).await {
                    Ok(Ok(n)) => tracing::info!("_getsocks: {n} listening sockets sent"),
                    Ok(Err(e)) => tracing::warn!("_getsocks: {e}"),
                    Err(e) => tracing::warn!("_getsocks: {e}"),
                }
            }
            return;
        }
        // One command at a time (issue 13 row 5): each answer is written before the
        // next command runs, so a client holds one answer at most, and the task
        // yields between commands so that proxied traffic on this thread waits for
        // one command, not for a line of thousands. `stats timeout` bounds
        // inactivity: each chunk must go out in time, so a slow but live reader
        // still gets a large dump.
        // A line ending with `<<` is followed by a payload up to an empty line
        // (management.txt §9.2), read under the same timeout and bounded in size.
        let mut run = match super::exec::payload_line(&line) {
            None => Commands::new(&line),
            Some(cmd) => {
                let payload = tokio::select! {
                    p = read_payload(&mut reader, opts) => p,
                    _ = stopped(&mut shutdown) => return,
                };
                let Some(payload) = payload else { return };
                Commands::with_payload(cmd, payload)
            }
        };
        let mut quit = false;
        let mut wrote = false;
        while let Some(step) = session.next(&mut run) {
            let text = match step {
                Step::Output(t) => t,
                Step::Quit => {
                    quit = true;
                    break;
                }
            };
            wrote |= !text.is_empty();
            for chunk in text.as_bytes().chunks(16384) {
                match tokio::time::timeout(opts.timeout, wr.write_all(chunk)).await {
                    Ok(Ok(())) => {}
                    _ => return,
                }
            }
            drop(text);
            tokio::task::yield_now().await;
        }
        if wrote
            && !matches!(
                tokio::time::timeout(opts.timeout, wr.flush()).await,
                Ok(Ok(()))
            )
        {
            return;
        }
        let reply = Reply {
            output: String::new(),
            close: quit || session.closes_after_line(),
        };
        if reply.close && !(session_continues(&line) && reader.buffer().contains(&b'\n')) {
            let _ = tokio::time::timeout(opts.timeout, wr.shutdown()).await;
            return;
        }
    }
}

/// Longest payload a command may carry: four command lines (64 kB by default:
/// a certificate chain with its key; HAProxy's limit is its 16 kB buffer).
fn max_payload(opts: &ListenOptions) -> usize {
    opts.max_line.saturating_mul(4)
}

/// The payload lines after a `<<` line, each with its newline, up to the empty
/// line. None: the client closed, went silent past `stats timeout` or sent more
/// than [`max_payload`] (the connection is then closed).
async fn read_payload<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    opts: &ListenOptions,
) -> Option<String> {
    let max = max_payload(opts);
    let mut payload = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let room = (max - payload.len()) as u64 + 1;
        let read = async { (&mut *reader).take(room).read_until(b'\n', &mut line).await };
        match tokio::time::timeout(opts.timeout, read).await {
            Ok(Ok(n)) if n > 0 && line.last() == Some(&b'\n') => {}
            _ => return None,
        }
        if line == b"\n" || line == b"\r\n" {
            return Some(String::from_utf8_lossy(&payload).into_owned());
        }
        payload.extend_from_slice(&line);
        if payload.len() > max {
            return None;
        }
    }
}

/// Serves one CLI session over any byte stream (for a master process talking to a
/// worker over a socketpair, or a test): the same protocol and rules as a `stats
/// socket` client (`opts.level`, `prompt`, `;`, `quit`, `opts.timeout` per read
/// and write, `opts.max_line`). Returns when the peer closes, a one-shot command
/// was answered, a timeout expired or `shutdown` turned true.
pub async fn serve_stream<S>(
    stream: S,
    opts: &ListenOptions,
    state: &dyn RuntimeState,
    shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (rd, wr) = tokio::io::split(stream);
    serve_client(rd, wr, opts, state, shutdown).await;
}

/// Non-interactive mode still runs the lines already received with the first one
/// (as HAProxy does), unless the line ended with `quit`.
fn session_continues(line: &str) -> bool {
    !super::exec::split_commands(line)
        .iter()
        .any(|c| c.first().map(String::as_str) == Some("quit"))
}

#[cfg(test)]
mod fd_tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// `stats socket fd@N` goes through the same check as `bind fd@N`: the
    /// standard descriptors and sockets that do not listen are refused, and a
    /// refused descriptor stays open (it was never ours to close).
    #[tokio::test]
    async fn fd_addresses_are_checked_as_binds_are() {
        let opts = ListenOptions::default();
        for n in 0..=2 {
            let e = bind_address(&CliAddress::Fd(n), &opts)
                .err()
                .expect("fd@0-2 refused");
            assert!(e.to_string().contains("stdin/stdout/stderr"), "{e}");
        }
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let e = bind_address(&CliAddress::Fd(a.as_raw_fd()), &opts)
            .err()
            .expect("a connected socket is refused");
        assert!(e.to_string().contains("not a listening"), "{e}");
        a.set_nonblocking(true)
            .expect("the refused descriptor is still open");
        let dir = haproxide_testkit::fs::TempDir::new("cli-fd");
        let l = std::os::unix::net::UnixListener::bind(dir.path("s")).expect("bind");
        let fd = std::os::fd::IntoRawFd::into_raw_fd(l);
        assert!(matches!(
            bind_address(&CliAddress::Fd(fd), &opts),
            Ok(Bound::Unix(..))
        ));
    }
}
