//! Opening a server connection (configuration.txt §5.2 `server`): TCP from an
//! optional `source` address with `option srvtcpka` (§4.2), through a `socks4`
//! proxy, over a UNIX socket, with the `send-proxy` header and the TLS
//! handshake of an `ssl` server; all of it the connect phase of
//! `Sess::connect_server` (`timeout connect`, `retries`).

use std::net::{IpAddr, SocketAddr};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::server_stream::ServerStream;

/// Connect, then for a `ssl` server send the PROXY header (if any) and run the
/// TLS handshake: all of it is the connect phase (`timeout connect`, `retries`).
pub(crate) async fn connect_tls(
    via: Via,
    header: Option<Vec<u8>>,
    tls: Option<(haproxide_tls::Connector, Option<String>)>,
    ip: IpAddr,
) -> std::io::Result<ServerStream> {
    let mut s = connect_via(via).await?;
    let Some((connector, sni)) = tls else {
        return Ok(ServerStream::Tcp(s));
    };
    // Boxed: the handshake's state is kilobytes, which a plain TCP connect
    // would otherwise carry (and copy) too.
    let t = Box::pin(async move {
        if let Some(h) = header {
            s.write_all(&h).await?;
        }
        connector.connect(s, sni.as_deref(), ip).await
    })
    .await?;
    Ok(ServerStream::Tls(Box::new(t)))
}

/// [`connect_tls`] for a UNIX-socket server.
pub(crate) async fn connect_unix(
    path: &std::path::Path,
    header: Option<Vec<u8>>,
    tls: Option<(haproxide_tls::Connector, Option<String>)>,
    ip: IpAddr,
) -> std::io::Result<ServerStream> {
    let mut s = tokio::net::UnixStream::connect(path).await?;
    let Some((connector, sni)) = tls else {
        return Ok(ServerStream::Unix(s));
    };
    if let Some(h) = header {
        s.write_all(&h).await?;
    }
    let t = connector.connect(s, sni.as_deref(), ip).await?;
    Ok(ServerStream::TlsUnix(Box::new(t)))
}

/// A TCP connection [`start`] opened.
pub(crate) enum Started {
    /// Up: the head went (all or part of it).
    Up(TcpStream),
    /// Still opening: [`opened`] waits for it.
    Opening(TcpStream),
}

/// Opens a TCP connection to `via`'s address, from its `source` address, with
/// `option srvtcpka`, without waiting, and sends `head` (an HTTP request's
/// first bytes; empty: none) as soon as connect(2) returns, draining what
/// went, as HAProxy sends with the connect. A non-blocking connect to a near
/// server is established by then, so the send goes and no wait for
/// writability follows (no task wake-up, timer or `getsockopt(SO_ERROR)`);
/// a send that finds the connection still opening (EAGAIN) leaves the head
/// to the caller, after [`opened`]; one that finds it failed (refused) fails
/// the attempt as that wait would have. Only for what carries nothing before
/// the head (no SOCKS4, PROXY header or TLS).
pub(crate) fn start(via: &Via, head: &mut Vec<u8>) -> std::io::Result<Started> {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(
        Domain::for_address(via.addr),
        Type::STREAM.nonblocking().cloexec(),
        None,
    )?;
    sock.set_tcp_nodelay(true)?;
    if via.keepalive {
        sock.set_keepalive(true)?;
    }
    if let Some(ip) = via.source {
        sock.bind(&SocketAddr::new(ip, 0).into())?;
    }
    match sock.connect(&via.addr.into()) {
        Err(e) if e.raw_os_error() != Some(libc::EINPROGRESS) => return Err(e),
        _ => {}
    }
    let sock = std::net::TcpStream::from(sock);
    let sent = match head.is_empty() {
        true => Err(std::io::ErrorKind::WouldBlock.into()),
        false => std::io::Write::write(&mut &sock, head),
    };
    let s = TcpStream::from_std(sock)?;
    match sent {
        Ok(n) => {
            head.drain(..n.min(head.len()));
            Ok(Started::Up(s))
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Started::Opening(s)),
        Err(e) => Err(e),
    }
}

/// Waits until a connection [`start`] left opening is up or failed (as
/// tokio's own connect waits).
pub(crate) async fn opened(s: TcpStream) -> std::io::Result<TcpStream> {
    s.writable().await?;
    match s.take_error()? {
        Some(e) => Err(e),
        None => Ok(s),
    }
}

/// Where and how to open a server's TCP connection.
#[derive(Clone, Copy)]
pub(crate) struct Via {
    pub(crate) addr: SocketAddr,
    /// §5.2 `socks4`: through this SOCKS4 proxy.
    pub(crate) socks4: Option<SocketAddr>,
    /// §5.2 `source`.
    pub(crate) source: Option<IpAddr>,
    /// §4.2 `option srvtcpka`.
    pub(crate) keepalive: bool,
}

/// [`connect`], through the server's SOCKS4 proxy when it has one (§5.2 `socks4`):
/// the TCP connection goes to the proxy, which is asked to CONNECT to `addr`; a
/// denial or a short reply fails the attempt as a refused connection would.
async fn connect_via(via: Via) -> std::io::Result<TcpStream> {
    // To the SOCKS4 proxy when there is one; no head: always a wait.
    let first = Via {
        addr: via.socks4.unwrap_or(via.addr),
        ..via
    };
    let (Started::Up(s) | Started::Opening(s)) = start(&first, &mut Vec::new())?;
    let mut s = opened(s).await?;
    if via.socks4.is_some() {
        Box::pin(haproxide_check::probe::socks4::handshake(&mut s, via.addr))
            .await
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::ConnectionRefused, e.text()))?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn via(addr: SocketAddr) -> Via {
        Via {
            addr,
            socks4: None,
            source: None,
            keepalive: false,
        }
    }

    #[tokio::test]
    async fn the_head_goes_with_the_connect_once_and_whole() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut up = 0;
        for _ in 0..20 {
            let mut head = b"GET / HTTP/1.1\r\n\r\n".to_vec();
            let s = match start(&via(addr), &mut head).unwrap() {
                Started::Up(s) => {
                    up += 1;
                    assert!(head.is_empty(), "what went is drained");
                    s
                }
                Started::Opening(s) => {
                    assert_eq!(head.len(), 18, "nothing went: the caller sends it");
                    let s = opened(s).await.unwrap();
                    s.try_write(&head).unwrap();
                    s
                }
            };
            let (mut c, _) = l.accept().unwrap();
            let mut got = [0u8; 18];
            c.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n");
            drop(s);
            assert_eq!(c.read(&mut got).unwrap(), 0, "nothing more");
        }
        // A loopback connect is up when connect(2) returns (the kernel runs
        // the handshake before it does, unless its softirqs are deferred).
        assert!(up > 0, "the head never went with the connect");
    }

    #[tokio::test]
    async fn a_refused_connect_fails_the_attempt_and_keeps_the_head() {
        let addr = haproxide_testkit::tcp::refused_addr();
        let mut head = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        let r = match start(&via(addr), &mut head) {
            Ok(Started::Opening(s)) => opened(s).await.map(drop),
            Ok(Started::Up(_)) => Ok(()),
            Err(e) => Err(e),
        };
        let e = r.expect_err("nothing listens there");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        assert_eq!(head.len(), 18, "kept for the next attempt");
    }

    #[tokio::test]
    async fn a_connect_that_hangs_leaves_the_head_to_the_wait() {
        let u = haproxide_testkit::tcp::unaccepting();
        let mut head = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        let Started::Opening(s) = start(&via(u.addr), &mut head).unwrap() else {
            panic!("a dropped SYN cannot be up");
        };
        assert_eq!(head.len(), 18, "nothing went");
        let wait = tokio::time::timeout(std::time::Duration::from_millis(200), opened(s));
        assert!(
            wait.await.is_err(),
            "still opening: `timeout connect` decides"
        );
    }

    #[tokio::test]
    async fn without_a_head_the_connect_is_awaited() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let started = start(&via(l.local_addr().unwrap()), &mut Vec::new()).unwrap();
        let Started::Opening(s) = started else {
            panic!("nothing sent, so nothing proved it up");
        };
        let s = opened(s).await.unwrap();
        assert!(s.peer_addr().is_ok());
    }
}
