//! SOCKS4 CONNECT through the server's `socks4` proxy, for checks with
//! `check-via-socks4` (configuration.txt §5.2 `socks4`, `check-via-socks4`).
//!
//! As HAProxy 2.6 (`conn_send_socks4_proxy_request`/`conn_recv_socks4_proxy_response`):
//! the request is 16 bytes — version 4, command 1 (CONNECT), the destination port and
//! IPv4 address in network order, user id `HAProxy` NUL-terminated; the reply is 8
//! bytes of which only the second counts: 0x5A (granted) or anything else (denied; the
//! first byte is not checked). Measured against haproxy 2.6.12 with a loopback mock
//! (`option httpchk`, `log-health-checks`):
//! - reply `00 5B ...`: SOCKERR, info "SOCKS4 Proxy deny the request";
//! - the proxy closes before 8 bytes: SOCKERR, "SOCKS4 Proxy read error during handshake";
//! - fewer than 8 bytes, or nothing, until the deadline: "Layer7 timeout" (L7TOUT);
//! - reply `04 5A ...`: granted (the check goes on to the server).

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The user id HAProxy sends (`SOCKS_HS_USER_ID`).
const USER_ID: &[u8; 8] = b"HAProxy\0";
/// The reply code that grants the request.
const GRANTED: u8 = 0x5A;

/// Why a SOCKS4 handshake failed, with HAProxy's texts (`conn_err_code_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Socks4Error {
    /// Writing the request failed (or the destination is not IPv4: SOCKS4 carries
    /// only IPv4 addresses).
    Send,
    /// The proxy closed, or reading failed, before the 8-byte reply.
    Recv,
    /// The proxy answered with a code other than 0x5A.
    Deny,
}

impl Socks4Error {
    /// HAProxy's text for the error (the check's `info`).
    pub fn text(self) -> &'static str {
        match self {
            Socks4Error::Send => "SOCKS4 Proxy write error during handshake",
            Socks4Error::Recv => "SOCKS4 Proxy read error during handshake",
            Socks4Error::Deny => "SOCKS4 Proxy deny the request",
        }
    }
}

/// The CONNECT request for `dst`; `None` for an IPv6 destination.
pub fn request(dst: SocketAddr) -> Option<[u8; 16]> {
    let SocketAddr::V4(v4) = dst else { return None };
    let mut r = [0u8; 16];
    r[0] = 4;
    r[1] = 1;
    r[2..4].copy_from_slice(&v4.port().to_be_bytes());
    r[4..8].copy_from_slice(&v4.ip().octets());
    r[8..].copy_from_slice(USER_ID);
    Some(r)
}

/// Judges the 8-byte reply.
pub fn reply(r: &[u8; 8]) -> Result<(), Socks4Error> {
    if r[1] == GRANTED {
        Ok(())
    } else {
        Err(Socks4Error::Deny)
    }
}

/// Asks the proxy at the other end of `s` to connect to `dst`. Reads exactly the
/// reply's 8 bytes, so what follows belongs to the destination. The caller bounds it
/// with its deadline.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    dst: SocketAddr,
) -> Result<(), Socks4Error> {
    let req = request(dst).ok_or(Socks4Error::Send)?;
    s.write_all(&req).await.map_err(|_| Socks4Error::Send)?;
    let mut r = [0u8; 8];
    s.read_exact(&mut r).await.map_err(|_| Socks4Error::Recv)?;
    reply(&r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::{TcpListener, TcpStream};

    #[test]
    fn request_bytes_are_haproxys() {
        // The bytes reg-test checks/tcp-checks-socks4 matches (version, command,
        // port, address, "HAProxy\0").
        let r = request("127.0.0.1:8080".parse().unwrap()).unwrap();
        assert_eq!(
            r, *b"\x04\x01\x1f\x90\x7f\x00\x00\x01HAProxy\x00",
            "{r:02x?}"
        );
        assert_eq!(request("[::1]:80".parse().unwrap()), None);
    }

    #[test]
    fn reply_codes() {
        assert_eq!(reply(b"\x00\x5a\0\0\0\0\0\0"), Ok(()));
        assert_eq!(reply(b"\x04\x5a\0\0\0\0\0\0"), Ok(()));
        for code in [0x5b, 0x5c, 0x5d, 0x00] {
            let r = [0, code, 0, 0, 0, 0, 0, 0];
            assert_eq!(reply(&r), Err(Socks4Error::Deny), "{code:#x}");
        }
        assert_eq!(Socks4Error::Deny.text(), "SOCKS4 Proxy deny the request");
    }

    /// A one-connection SOCKS4 mock on 127.0.0.1:0: reads the 16-byte request,
    /// answers `answer`, then writes `then` (what the destination would send) and
    /// closes. Returns its address and the request it received.
    async fn mock(
        answer: &'static [u8],
        then: &'static [u8],
    ) -> (SocketAddr, tokio::task::JoinHandle<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let h = tokio::spawn(async move {
            let (mut c, _) = l.accept().await.unwrap();
            let mut req = vec![0u8; 16];
            c.read_exact(&mut req).await.unwrap();
            c.write_all(answer).await.unwrap();
            c.write_all(then).await.unwrap();
            req
        });
        (addr, h)
    }

    async fn run(answer: &'static [u8], then: &'static [u8]) -> (Result<(), Socks4Error>, Vec<u8>) {
        let (addr, h) = mock(answer, then).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        let dst: SocketAddr = "10.1.2.3:5432".parse().unwrap();
        let r = tokio::time::timeout(Duration::from_secs(5), handshake(&mut s, dst))
            .await
            .expect("bounded");
        let mut rest = Vec::new();
        if r.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
        }
        let req = h.await.unwrap();
        assert_eq!(req, b"\x04\x01\x15\x38\x0a\x01\x02\x03HAProxy\x00");
        (r, rest)
    }

    #[tokio::test]
    async fn granted_leaves_the_destinations_bytes() {
        let (r, rest) = run(b"\x00\x5a\x00\x00\x00\x00\x00\x00", b"HTTP/1.0 200 OK\r\n").await;
        assert_eq!(r, Ok(()));
        assert_eq!(rest, b"HTTP/1.0 200 OK\r\n");
    }

    #[tokio::test]
    async fn denied() {
        let (r, _) = run(b"\x00\x5b\x00\x00\x00\x00\x00\x00", b"").await;
        assert_eq!(r, Err(Socks4Error::Deny));
    }

    #[tokio::test]
    async fn closed_mid_reply_is_a_read_error() {
        let (r, _) = run(b"\x00\x5a\x00", b"").await;
        assert_eq!(r, Err(Socks4Error::Recv));
    }
}
