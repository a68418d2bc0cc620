//! HAProxy's listener handover: the `_getsocks` command of a `stats socket`
//! declared with `expose-fd listeners` (configuration.txt §5.1 `expose-fd`,
//! management.txt §3 `-x <unix_socket>`), both ends, wire-compatible with
//! HAProxy 2.6 (src/cli.c `_getsocks`, src/sock.c `sock_get_old_sockets`).
//!
//! The exchange, on one connection to the stats socket:
//! 1. the new process sends the line `_getsocks\n`;
//! 2. the old one answers with the number of descriptors, a native-endian
//!    32-bit integer, alone in its message; nothing at all (the connection is
//!    closed) when it does not export them;
//! 3. then batches of at most [`MAX_SEND_FD`] descriptors (SCM_RIGHTS), each
//!    message's data holding, per descriptor: the length of its namespace name
//!    (one byte) and the name, the length of its interface name and the name,
//!    then 4 zero bytes (the listener options before HAProxy 2.3). After a full
//!    batch the sender waits for a 4-byte acknowledgement, which the receiver
//!    sends after every message.
//!
//! The receiving side trusts nothing it is told: the peer must be this user
//! ([`crate::handover::Trust`]), and each descriptor is kept only if the kernel
//! says it is a listening stream socket, keyed by its real address
//! (`getsockname`), for the caller to adopt only where the configuration binds
//! that address. Descriptors with a namespace or an interface are closed:
//! haproxide's binds have neither.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::handover::{check_peer, keep_listener, Trust};
use crate::sys;

/// HAProxy's MAX_SEND_FD: descriptors per message.
pub const MAX_SEND_FD: usize = 253;

/// Per-descriptor data sent by haproxide: no namespace, no interface, options 0.
const NO_NS_NO_IF: [u8; 6] = [0; 6];

/// Most descriptors accepted from a peer (a sanity bound on its announced count).
const MAX_FDS: usize = 65_536;

/// Answers `_getsocks` on `conn` (blocking, each read and write bounded by 1 s as in
/// HAProxy) with the descriptors `fds`. Sends nothing when there are none, as
/// HAProxy does. Returns how many were sent.
pub fn serve(conn: &UnixStream, fds: &[RawFd]) -> io::Result<usize> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(1)))?;
    conn.set_write_timeout(Some(Duration::from_secs(1)))?;
    if fds.is_empty() {
        return Ok(0);
    }
    let total = i32::try_from(fds.len()).map_err(|_| io::Error::other("too many sockets"))?;
    sys::send_with_fds(conn, &total.to_ne_bytes(), &[])?;
    let mut rest = fds;
    while !rest.is_empty() {
        let n = rest.len().min(MAX_SEND_FD);
        let (batch, tail) = rest.split_at(n);
        let data: Vec<u8> = batch.iter().flat_map(|_| NO_NS_NO_IF).collect();
        sys::send_with_fds(conn, &data, batch)?;
        if n == MAX_SEND_FD {
            // Wait for the receiver's acknowledgement before the next batch.
            let mut ack = [0u8; 4];
            let mut reader = conn;
            if reader.read(&mut ack)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the receiver left during the transfer",
                ));
            }
        }
        rest = tail;
    }
    Ok(fds.len())
}

/// Fetches the listening sockets of the process whose stats socket is `path`
/// (HAProxy's `-x`): real local address → descriptor. Refused (PermissionDenied)
/// if the peer is not a user `trust` accepts; an error if the socket does not
/// export its listeners (the peer closes without answering).
pub fn fetch(path: &Path, trust: &Trust) -> io::Result<HashMap<String, OwnedFd>> {
    let mut sock = UnixStream::connect(path)?;
    check_peer(&sock, path, trust)?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    sock.set_write_timeout(Some(Duration::from_secs(5)))?;
    sock.write_all(b"_getsocks\n")?;
    // The count comes alone in its message: read exactly its 4 bytes, so that
    // the data of the first batch is read with its descriptors.
    let mut count = [0u8; 4];
    sock.read_exact(&mut count).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} does not expose its listeners (it needs `level admin expose-fd listeners`)",
                    path.display()
                ),
            )
        } else {
            e
        }
    })?;
    let announced = i32::from_ne_bytes(count);
    let announced = usize::try_from(announced)
        .ok()
        .filter(|n| *n <= MAX_FDS)
        .ok_or_else(|| io::Error::other(format!("bad socket count {announced}")))?;
    let mut data = Vec::new();
    let mut fds: Vec<OwnedFd> = Vec::with_capacity(announced);
    while fds.len() < announced {
        let (chunk, got) = sys::recv_with_fds(&sock)?;
        if chunk.is_empty() && got.is_empty() {
            break;
        }
        // Acknowledge every message, as HAProxy's receiver does (the sender waits
        // only after a full batch, and may be gone after the last one).
        let ack = i32::try_from(fds.len() + got.len()).unwrap_or(i32::MAX);
        let _ = sys::send_with_fds(&sock, &ack.to_ne_bytes(), &[]);
        fds.extend(got);
        if fds.len() > announced {
            return Err(io::Error::other("received more sockets than announced"));
        }
        data.extend_from_slice(&chunk);
        if data.len() > announced.saturating_mul(1 + 255 + 1 + 255 + 4) {
            return Err(io::Error::other("too much socket information"));
        }
    }
    if fds.len() != announced {
        return Err(io::Error::other(format!(
            "expected {announced} sockets, got {}",
            fds.len()
        )));
    }
    let labels = parse_labels(&data, announced)
        .ok_or_else(|| io::Error::other("malformed socket information"))?;
    let mut out = HashMap::new();
    for (fd, (ns, ifname)) in fds.into_iter().zip(labels) {
        if ns.is_empty() && ifname.is_empty() {
            keep_listener(fd, &mut out);
        }
    }
    Ok(out)
}

/// The (namespace, interface) of each of `n` descriptors, or None if malformed.
fn parse_labels(mut data: &[u8], n: usize) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut field = || {
            let (&len, rest) = data.split_first()?;
            let (name, rest) = rest.split_at_checked(len as usize)?;
            data = rest;
            Some(name.to_vec())
        };
        let ns = field()?;
        let ifname = field()?;
        data = data.get(4..)?;
        out.push((ns, ifname));
    }
    data.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixListener;

    fn serve_once(
        tag: &str,
        fds: Vec<RawFd>,
        expect_line: bool,
    ) -> (
        haproxide_testkit::fs::TempDir,
        std::thread::JoinHandle<usize>,
    ) {
        let dir = haproxide_testkit::fs::TempDir::new(tag);
        let path = dir.path("admin.sock");
        let l = UnixListener::bind(&path).expect("bind");
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().expect("accept");
            let mut line = [0u8; 10];
            if expect_line {
                c.read_exact(&mut line).expect("line");
                assert_eq!(&line, b"_getsocks\n");
            }
            serve(&c, &fds).expect("serve")
        });
        (dir, t)
    }

    /// More than one batch (253 + 7), with a connected socket and a listener among
    /// them: all cross, acknowledged; only the listener is kept, by its address.
    #[test]
    fn sockets_cross_in_haproxy_batches_and_only_listeners_are_kept() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let conn = std::net::TcpStream::connect(tcp.local_addr().expect("a")).expect("c");
        let mut fds = vec![conn.as_raw_fd(); MAX_SEND_FD + 6];
        fds.push(tcp.as_raw_fd());
        let (dir, t) = serve_once("getsocks-batches", fds, true);
        let got = fetch(&dir.path("admin.sock"), &Trust::this_user(None, None)).expect("fetch");
        assert_eq!(t.join().expect("server"), MAX_SEND_FD + 7);
        assert_eq!(
            got.keys().cloned().collect::<Vec<_>>(),
            vec![tcp.local_addr().expect("a").to_string()]
        );
    }

    /// A socket that exports nothing closes without a count: refused, nothing kept.
    #[test]
    fn a_silent_close_is_a_refusal() {
        let (dir, t) = serve_once("getsocks-silent", Vec::new(), true);
        let e = fetch(&dir.path("admin.sock"), &Trust::this_user(None, None)).expect_err("refused");
        t.join().expect("server");
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
    }

    /// A peer that is not an accepted uid is refused before anything is read.
    #[test]
    fn another_user_is_refused() {
        let (dir, t) = serve_once("getsocks-user", Vec::new(), false);
        let other = Trust {
            uids: vec![sys::euid().wrapping_add(1)],
            pid: None,
        };
        let e = fetch(&dir.path("admin.sock"), &other).expect_err("refused");
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        t.join().expect("server");
    }

    #[test]
    fn labels_are_parsed_strictly() {
        assert_eq!(
            parse_labels(&[0, 2, b'l', b'o', 0, 0, 0, 0], 1),
            Some(vec![(vec![], b"lo".to_vec())])
        );
        assert_eq!(parse_labels(&[0, 0, 0, 0, 0], 1), None);
        assert_eq!(parse_labels(&[0, 0, 0, 0, 0, 0, 9], 1), None);
        assert_eq!(parse_labels(&[5, 0], 1), None);
    }
}
