//! The `stats socket` listeners: UNIX path or TCP (`ipv4@`/`ipv6@`), one task per
//! client, every read and write bounded by `stats timeout`.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};

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
        }
    }
}

/// Where a `stats socket` listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliAddress {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

/// Parses a `stats socket` address: `/path`, `unix@/path`, `ipv4@IP:PORT`,
/// `ipv6@[IP]:PORT` or `IP:PORT`.
pub fn parse_address(s: &str) -> Option<CliAddress> {
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
/// at startup, then [`serve_unix_listener`]).
pub fn bind_unix(path: &Path, opts: &ListenOptions) -> io::Result<UnixListener> {
    // Replace a stale socket (never another kind of file).
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    let listener = UnixListener::bind(path)?;
    if let Some(mode) = opts.mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    if opts.uid.is_some() || opts.gid.is_some() {
        std::os::unix::fs::chown(path, opts.uid, opts.gid)?;
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

/// A listener whose connections split into a read and a write half.
trait CliListener {
    type Read: AsyncRead + Unpin + Send + 'static;
    type Write: AsyncWrite + Unpin + Send + 'static;
    async fn accept_split(&self) -> io::Result<(Self::Read, Self::Write)>;
}

impl CliListener for UnixListener {
    type Read = tokio::net::unix::OwnedReadHalf;
    type Write = tokio::net::unix::OwnedWriteHalf;
    async fn accept_split(&self) -> io::Result<(Self::Read, Self::Write)> {
        Ok(self.accept().await?.0.into_split())
    }
}

impl CliListener for TcpListener {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;
    async fn accept_split(&self) -> io::Result<(Self::Read, Self::Write)> {
        Ok(self.accept().await?.0.into_split())
    }
}

/// Accept clients (at most `maxconn` at once) until `shutdown`.
async fn accept_loop<L: CliListener>(
    listener: L,
    opts: ListenOptions,
    state: Arc<dyn RuntimeState>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(opts.maxconn.max(1)));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return Ok(());
        };
        tokio::select! {
            r = listener.accept_split() => {
                match r {
                    Ok((rd, wr)) => {
                        let (state, opts, stop) = (Arc::clone(&state), opts.clone(), shutdown.clone());
                        tokio::spawn(async move {
                            serve_client(rd, wr, &opts, state.as_ref(), stop).await;
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
    mut wr: W,
    opts: &ListenOptions,
    state: &dyn RuntimeState,
    mut shutdown: watch::Receiver<bool>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
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
        let reply = session.line(&line);
        // `stats timeout` bounds inactivity: each chunk must go out in time, so a
        // slow but live reader still gets a large dump.
        for chunk in reply.output.as_bytes().chunks(16384) {
            match tokio::time::timeout(opts.timeout, wr.write_all(chunk)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
        if !reply.output.is_empty()
            && !matches!(
                tokio::time::timeout(opts.timeout, wr.flush()).await,
                Ok(Ok(()))
            )
        {
            return;
        }
        if reply.close && !(session_continues(&line) && reader.buffer().contains(&b'\n')) {
            let _ = tokio::time::timeout(opts.timeout, wr.shutdown()).await;
            return;
        }
    }
}

/// Non-interactive mode still runs the lines already received with the first one
/// (as HAProxy does), unless the line ended with `quit`.
fn session_continues(line: &str) -> bool {
    !super::exec::split_commands(line)
        .iter()
        .any(|c| c.first().map(String::as_str) == Some("quit"))
}
