//! A connection to a server: plain TCP or UNIX socket, or TLS over either
//! (configuration.txt §5.2 `ssl`). TCP sessions and the HTTP engine read and write it alike; splice only
//! applies to plain TCP.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// A server connection.
pub enum ServerStream {
    Tcp(TcpStream),
    Tls(Box<haproxide_tls::ClientTlsStream<TcpStream>>),
    /// A UNIX stream socket (server address `/path` or `unix@path`).
    Unix(UnixStream),
    /// TLS over a UNIX stream socket (`server x /path ssl`).
    TlsUnix(Box<haproxide_tls::ClientTlsStream<UnixStream>>),
    /// HTTP/1.1 over a pipe to a stream of a shared HTTP/2 connection
    /// (`proto h2`, `alpn h2`: crate::http2::upstream).
    H2(tokio::io::DuplexStream),
}

impl ServerStream {
    /// Waits until the server sent something (bytes or a close).
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            ServerStream::Tcp(s) => s.readable().await,
            ServerStream::Tls(s) => s.get_ref().0.readable().await,
            ServerStream::Unix(s) => s.readable().await,
            ServerStream::TlsUnix(s) => s.get_ref().0.readable().await,
            // The server never speaks before the request's end on a stream.
            ServerStream::H2(_) => std::future::pending().await,
        }
    }

    /// TLS to the server (over TCP or a UNIX socket).
    pub fn is_tls(&self) -> bool {
        matches!(self, ServerStream::Tls(_) | ServerStream::TlsUnix(_))
    }

    /// The certificate the server presented (`ssl_s_*` fetches); `None` in clear.
    pub fn peer_cert(&self) -> Option<std::sync::Arc<haproxide_expr::CertFacts>> {
        let certs = match self {
            ServerStream::Tls(s) => s.get_ref().1.peer_certificates(),
            ServerStream::TlsUnix(s) => s.get_ref().1.peer_certificates(),
            _ => None,
        };
        certs.and_then(haproxide_tls::fields::server_facts)
    }

    /// Closes a connection whose exchange is over (request sent, response read
    /// whole) without the FIN handshake: SO_LINGER 0, so the close sends a reset
    /// and leaves no TIME_WAIT socket on the proxy's side. HAProxy closes a server
    /// connection it does not keep so (`SC_FL_NOLINGER` when a transaction ends
    /// and its server connection is not kept alive, http_ana.c: "we want to
    /// quickly close the connection to the server"): one request per client
    /// connection then leaves no TIME_WAIT socket behind each server connection,
    /// whose ports connect(2) would otherwise have to search past (14,065 of
    /// them after 5 s of `wrk -H "Connection: close"`, HAProxy 0). TLS sends no
    /// close_notify either (HAProxy's silent shutdown). A UNIX socket or an
    /// HTTP/2 stream is simply dropped.
    pub fn close_silently(self) {
        let tcp = match &self {
            ServerStream::Tcp(s) => Some(s),
            ServerStream::Tls(s) => Some(s.get_ref().0),
            ServerStream::Unix(_) | ServerStream::TlsUnix(_) | ServerStream::H2(_) => None,
        };
        if let Some(s) = tcp {
            // A failure leaves the ordinary close.
            let _ = s.set_zero_linger();
        }
    }

    /// Not closed by the server, and nothing unexpected from it (a byte before
    /// any request is a protocol error: the connection is not reused). For TLS,
    /// records are processed without waiting (TLS 1.3 session tickets are not
    /// data).
    pub fn alive(&mut self) -> bool {
        let mut b = [0u8; 1];
        match self {
            ServerStream::Tcp(s) => {
                matches!(s.try_read(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
            ServerStream::Unix(s) => {
                matches!(s.try_read(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
            ServerStream::Tls(_) | ServerStream::TlsUnix(_) => {
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let mut rb = ReadBuf::new(&mut b);
                matches!(Pin::new(self).poll_read(&mut cx, &mut rb), Poll::Pending)
            }
            ServerStream::H2(s) => {
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let mut rb = ReadBuf::new(&mut b);
                matches!(Pin::new(s).poll_read(&mut cx, &mut rb), Poll::Pending)
            }
        }
    }
}

impl AsyncRead for ServerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::H2(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            ServerStream::TlsUnix(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::H2(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            ServerStream::TlsUnix(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            ServerStream::Unix(s) => Pin::new(s).poll_flush(cx),
            ServerStream::H2(s) => Pin::new(s).poll_flush(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            ServerStream::TlsUnix(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::H2(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            ServerStream::TlsUnix(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl crate::relay::Peer for ServerStream {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            ServerStream::Tcp(s) => s.poll_read_ready(cx),
            ServerStream::Unix(s) => s.poll_read_ready(cx),
            // rustls may hold decrypted bytes the socket no longer shows.
            ServerStream::Tls(_) | ServerStream::TlsUnix(_) | ServerStream::H2(_) => {
                Poll::Ready(Ok(()))
            }
        }
    }
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            ServerStream::Tcp(s) => Some(s),
            ServerStream::Tls(_)
            | ServerStream::Unix(_)
            | ServerStream::TlsUnix(_)
            | ServerStream::H2(_) => None,
        }
    }
}
