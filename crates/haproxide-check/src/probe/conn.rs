//! Opening a check connection and talking over it under a deadline
//! (configuration.txt §4.2 `timeout check`, §5.2 `check-ssl`,
//! `check-send-proxy`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::spec::CheckTimeouts;
use crate::status::{CheckResult, CheckStatus};

/// HAProxy reads check responses into one buffer of `tune.bufsize` (16 kB by
/// default); a response that fills it is judged on what it holds.
pub const READ_BUFFER_LIMIT: usize = 16384;

/// TLS settings prepared once per server (rustls, no OpenSSL).
#[derive(Clone)]
pub struct TlsClient {
    /// The rustls configuration (verification policy, roots).
    pub config: Arc<rustls::ClientConfig>,
    /// The name presented (SNI) and verified; an IP address sends no SNI.
    pub server_name: rustls::pki_types::ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .finish()
    }
}

/// Where and how to connect, and the time budget of one check run.
#[derive(Debug, Clone)]
pub struct ConnectPlan {
    /// Destination.
    pub addr: SocketAddr,
    /// A UNIX-socket destination instead of `addr` (the server's path).
    pub unix: Option<std::sync::Arc<std::path::Path>>,
    /// `timeout connect` / `timeout check`.
    pub timeouts: CheckTimeouts,
    /// The interval in force for this run (`inter`, `fastinter` or
    /// `downinter`), which bounds the check when `timeout check` is unset.
    pub inter: Duration,
    /// Send a PROXY v1 line first (`check-send-proxy`).
    pub send_proxy: bool,
    /// Connect through this SOCKS4 proxy (`socks4` + `check-via-socks4`): the TCP
    /// connection goes to it, then a CONNECT to `addr` (super::socks4).
    pub socks4: Option<SocketAddr>,
    /// The server's `socks4` proxy, for `tcp-check connect via-socks4` rules.
    pub socks4_proxy: Option<SocketAddr>,
    /// Wrap in TLS (`check-ssl`).
    pub tls: Option<TlsClient>,
    /// TLS for `tcp-check connect ssl` / `http-check connect ssl` rules
    /// (the server's `check-ssl` settings, else `verify none`).
    pub rule_tls: Option<TlsClient>,
    /// A pure connect check (nothing sent, plain TCP): as HAProxy does for a connect
    /// with no data to send, TCP_QUICKACK is off so the handshake's final ACK is not
    /// sent, and the socket is closed with a reset (SO_LINGER 0). The server never
    /// sees an established connection: a listener that accepts nothing (VTest's
    /// one-connection servers, a busy application) keeps answering checks instead
    /// of filling its accept queue.
    pub quiet_connect: bool,
}

impl ConnectPlan {
    /// Deadline for establishing the connection (TCP and TLS), per
    /// configuration.txt §4.2 `timeout check`: `min(timeout connect, inter)`
    /// when both `timeout check` and `timeout connect` are set, else `inter`.
    pub fn connect_deadline(&self, start: Instant) -> Instant {
        let budget = match (self.timeouts.check, self.timeouts.connect) {
            (Some(_), Some(c)) => c.min(self.inter),
            _ => self.inter,
        };
        start + budget
    }

    /// Deadline for the rest of the check once connected: `timeout check`
    /// from now when set, otherwise the connect deadline still applies (the
    /// whole check must fit in `inter`).
    pub fn io_deadline(&self, now: Instant, connect_deadline: Instant) -> Instant {
        match self.timeouts.check {
            Some(t) => now + t,
            None => connect_deadline,
        }
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A plain or TLS stream.
pub struct Stream(Box<dyn Io>);

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

/// TCP connect; with `quiet`, TCP_QUICKACK off before and SO_LINGER 0 after (see
/// [`ConnectPlan::quiet_connect`]). Failing to set either option only loses the
/// optimisation, never the check.
async fn connect_tcp(addr: SocketAddr, quiet: bool) -> io::Result<TcpStream> {
    if !quiet {
        return TcpStream::connect(addr).await;
    }
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    let _ = socket2::SockRef::from(&sock).set_tcp_quickack(false);
    let tcp = sock.connect(addr).await?;
    let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
    Ok(tcp)
}

/// The text HAProxy prints for a socket error (`strerror(errno)`), e.g.
/// "Connection refused". Rust's message carries a " (os error N)" suffix,
/// which is cut.
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Why talking over an open connection stopped.
#[derive(Debug)]
pub enum IoFailure {
    /// The deadline passed.
    Timeout,
    /// A socket error.
    Io(io::Error),
}

/// An open check connection with its input buffer and deadline.
pub struct Session {
    stream: Stream,
    /// Bytes received since the last send.
    pub buf: Vec<u8>,
    /// The peer closed its side.
    pub eof: bool,
    deadline: Instant,
    /// TLS is in use (success is reported as L6OK for a bare connect).
    pub tls: bool,
}

impl Session {
    /// Opens the connection: TCP connect, SOCKS4 handshake, PROXY line, TLS
    /// handshake. On failure returns the finished result (L4CON, L4TOUT, SOCKERR or
    /// L7TOUT for SOCKS4 as HAProxy 2.6.12 reports them, L6RSP, L6TOUT).
    /// `step_info` is appended to error descriptions (tcp-check step text).
    pub async fn open(
        plan: &ConnectPlan,
        start: Instant,
        step_info: &str,
    ) -> Result<Session, CheckResult> {
        let deadline = plan.connect_deadline(start);
        let fail = |status: CheckStatus, desc: String| {
            CheckResult::new(status, start.elapsed()).with_desc(desc)
        };
        if let (Some(path), None) = (&plan.unix, plan.socks4) {
            return open_unix(plan, path, start, step_info).await;
        }
        let dial = plan.socks4.unwrap_or(plan.addr);
        let mut tcp = bounded(
            timeout_at(deadline, connect_tcp(dial, plan.quiet_connect)).await,
            (CheckStatus::L4Tout, CheckStatus::L4Con),
            strerror,
            &fail,
            step_info,
        )?;
        if plan.socks4.is_some() {
            // HAProxy bounds the handshake as the exchange that follows it.
            let io_deadline = plan.io_deadline(Instant::now(), deadline);
            bounded(
                timeout_at(io_deadline, super::socks4::handshake(&mut tcp, plan.addr)).await,
                (CheckStatus::L7Tout, CheckStatus::SockErr),
                |e| e.text().to_string(),
                &fail,
                step_info,
            )?;
        }
        // No TCP_NODELAY: each exchange is a single write, Nagle never delays it.
        let local = if plan.send_proxy {
            tcp.local_addr().ok()
        } else {
            None
        };
        let stream = Stream(Box::new(tcp));
        Self::finish(plan, stream, local, deadline, start, step_info).await
    }

    /// After the connect: PROXY line, TLS handshake.
    async fn finish(
        plan: &ConnectPlan,
        mut stream: Stream,
        local: Option<SocketAddr>,
        deadline: Instant,
        start: Instant,
        step_info: &str,
    ) -> Result<Session, CheckResult> {
        let fail = |status: CheckStatus, desc: String| {
            CheckResult::new(status, start.elapsed()).with_desc(desc)
        };
        if plan.send_proxy {
            let line = match local {
                Some(local) => proxy_v1_line(local, plan.addr),
                None => "PROXY UNKNOWN\r\n".to_string(),
            };
            bounded(
                timeout_at(deadline, stream.write_all(line.as_bytes())).await,
                (CheckStatus::L4Tout, CheckStatus::SockErr),
                strerror,
                &fail,
                step_info,
            )?;
        }
        let mut tls = false;
        if let Some(t) = &plan.tls {
            let connector = tokio_rustls::TlsConnector::from(t.config.clone());
            match timeout_at(deadline, connector.connect(t.server_name.clone(), stream)).await {
                Err(_) => return Err(fail(CheckStatus::L6Tout, step_info.to_string())),
                Ok(Err(_)) => {
                    return Err(fail(
                        CheckStatus::L6Rsp,
                        format!("SSL handshake failure{step_info}"),
                    ));
                }
                Ok(Ok(s)) => {
                    stream = Stream(Box::new(s));
                    tls = true;
                }
            }
        }
        Ok(Session {
            stream,
            buf: Vec::new(),
            eof: false,
            deadline: plan.io_deadline(Instant::now(), deadline),
            tls,
        })
    }

    /// Sends bytes; the input buffer is cleared (a new exchange starts).
    pub async fn send(&mut self, data: &[u8]) -> Result<(), IoFailure> {
        self.buf.clear();
        self.eof = false;
        match timeout_at(self.deadline, async {
            self.stream.write_all(data).await?;
            self.stream.flush().await
        })
        .await
        {
            Err(_) => Err(IoFailure::Timeout),
            Ok(Err(e)) => Err(IoFailure::Io(e)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Reads once more into the buffer. Returns the number of bytes read (0
    /// at end of stream, which also sets `eof`). Stops reading at
    /// [`READ_BUFFER_LIMIT`] and then reports 0 without `eof`.
    pub async fn fill(&mut self) -> Result<usize, IoFailure> {
        if self.eof || self.buf.len() >= READ_BUFFER_LIMIT {
            return Ok(0);
        }
        let mut chunk = [0u8; 4096];
        let room = (READ_BUFFER_LIMIT - self.buf.len()).min(chunk.len());
        match timeout_at(self.deadline, self.stream.read(&mut chunk[..room])).await {
            Err(_) => Err(IoFailure::Timeout),
            Ok(Err(e)) => Err(IoFailure::Io(e)),
            Ok(Ok(0)) => {
                self.eof = true;
                Ok(0)
            }
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
        }
    }

    /// Whether no more data can come (end of stream or full buffer).
    pub fn last_read(&self) -> bool {
        self.eof || self.buf.len() >= READ_BUFFER_LIMIT
    }

    /// Best-effort close (errors are irrelevant once the verdict is known).
    pub async fn close(mut self) {
        // TLS: try to send close_notify, briefly. Plain TCP: dropping the
        // socket closes it at once, without arming a timer per check.
        if self.tls {
            let _ = tokio::time::timeout(Duration::from_millis(50), self.stream.shutdown()).await;
        }
    }
}

/// The result of one step bounded by a deadline: `late` when the deadline passed,
/// `failed` with the error's text (then `step_info`) when the step failed.
fn bounded<T, E>(
    r: Result<Result<T, E>, tokio::time::error::Elapsed>,
    (late, failed): (CheckStatus, CheckStatus),
    text: impl FnOnce(&E) -> String,
    fail: &impl Fn(CheckStatus, String) -> CheckResult,
    step_info: &str,
) -> Result<T, CheckResult> {
    match r {
        Err(_) => Err(fail(late, step_info.to_string())),
        Ok(Err(e)) => Err(fail(failed, format!("{}{step_info}", text(&e)))),
        Ok(Ok(v)) => Ok(v),
    }
}

/// Connects to a UNIX-socket server (a failure is L4CON, as HAProxy's connect
/// error), then as [`Session::open`] goes on.
async fn open_unix(
    plan: &ConnectPlan,
    path: &std::path::Path,
    start: Instant,
    step_info: &str,
) -> Result<Session, CheckResult> {
    let deadline = plan.connect_deadline(start);
    let fail = |status: CheckStatus, desc: String| {
        CheckResult::new(status, start.elapsed()).with_desc(desc)
    };
    let s = bounded(
        timeout_at(deadline, tokio::net::UnixStream::connect(path)).await,
        (CheckStatus::L4Tout, CheckStatus::L4Con),
        strerror,
        &fail,
        step_info,
    )?;
    Session::finish(plan, Stream(Box::new(s)), None, deadline, start, step_info).await
}

/// The PROXY protocol v1 line HAProxy sends with `check-send-proxy`, e.g.
/// "PROXY TCP4 127.0.0.1 127.0.0.1 37718 23005\r\n" (local address first).
pub fn proxy_v1_line(local: SocketAddr, peer: SocketAddr) -> String {
    let fam = if local.is_ipv4() && peer.is_ipv4() {
        "TCP4"
    } else {
        "TCP6"
    };
    format!(
        "PROXY {fam} {} {} {} {}\r\n",
        local.ip(),
        peer.ip(),
        local.port(),
        peer.port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(connect: Option<u64>, check: Option<u64>, inter: u64) -> ConnectPlan {
        ConnectPlan {
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
            unix: None,
            timeouts: CheckTimeouts {
                connect: connect.map(Duration::from_millis),
                check: check.map(Duration::from_millis),
            },
            inter: Duration::from_millis(inter),
            send_proxy: false,
            socks4: None,
            socks4_proxy: None,
            tls: None,
            rule_tls: None,
            quiet_connect: false,
        }
    }

    /// configuration.txt §4.2 `timeout check`: table of (timeout connect,
    /// timeout check, inter) -> (connect budget, budget after connect).
    #[test]
    fn timeout_table() {
        let t0 = Instant::now();
        let ms = |d: Instant| d.duration_since(t0).as_millis();
        let cases = [
            // no timeout check: everything within inter
            (Some(5000), None, 2000, 2000, 2000),
            (None, None, 2000, 2000, 2000),
            // timeout check: connect within min(connect, inter), then check
            (Some(1000), Some(300), 2000, 1000, 300),
            (Some(5000), Some(300), 2000, 2000, 300),
            // timeout check without timeout connect: connect within inter
            (None, Some(300), 2000, 2000, 300),
        ];
        for (c, k, i, want_connect, want_io) in cases {
            let p = plan(c, k, i);
            let cd = p.connect_deadline(t0);
            assert_eq!(ms(cd), want_connect, "{c:?} {k:?} {i}");
            assert_eq!(ms(p.io_deadline(t0, cd)), want_io, "{c:?} {k:?} {i}");
        }
    }

    #[test]
    fn strerror_and_proxy_line() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(strerror(&e), "Connection refused");
        let l = proxy_v1_line(
            "127.0.0.1:37718".parse().unwrap(),
            "127.0.0.1:23005".parse().unwrap(),
        );
        assert_eq!(l, "PROXY TCP4 127.0.0.1 127.0.0.1 37718 23005\r\n");
    }
}
