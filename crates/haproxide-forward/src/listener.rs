//! Listening sockets (configuration.txt §4.2 `bind`, §5.1 bind options) and the
//! accept loops with HAProxy's connection limits (§3.2 global `maxconn`, §4.2
//! frontend `maxconn`, §5.1 bind `maxconn`).
//!
//! A listener only calls accept() once it holds a permit of every limit that applies:
//! beyond a limit, connections wait in the kernel's backlog instead of being accepted
//! and closed, as HAProxy does (it disables polling on a full listener).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::Semaphore;

use crate::relay::ClientStream;
use crate::spec::{BindSpec, ListenAddr};
use crate::FrontendSpec;
use crate::{Shared, StartError};

/// A bound, listening socket not yet polled.
pub(crate) struct Bound {
    pub(crate) fe: usize,
    pub(crate) bind: usize,
    pub(crate) sock: Socket,
    pub(crate) local: Option<SocketAddr>,
    /// Whether accepted sockets are TCP (else UNIX).
    pub(crate) tcp: bool,
    /// `TCP_NODELAY` is set on the listening socket, so accepted sockets have it
    /// already (Linux copies it into them): no `setsockopt` per connection.
    pub(crate) nodelay: bool,
}

fn bind_err(frontend: &str, addr: &ListenAddr, source: io::Error) -> StartError {
    let addr = match addr {
        ListenAddr::Tcp(a) => a.to_string(),
        ListenAddr::Unix(p) => format!("unix@{}", p.display()),
        ListenAddr::Fd(n) => format!("fd@{n}"),
    };
    StartError::Bind {
        frontend: frontend.to_string(),
        addr,
        source,
    }
}

/// Bind one `bind` line. TCP sockets get SO_REUSEADDR and SO_REUSEPORT, so that a new
/// process can bind the same address while the old one still listens (`-sf` reloads).
pub(crate) fn bind_one(
    frontend: &str,
    fe: usize,
    bind: usize,
    spec: &BindSpec,
    default_backlog: u32,
    taken_fds: &mut HashMap<i32, Socket>,
) -> Result<Bound, StartError> {
    let backlog = spec
        .backlog
        .unwrap_or(default_backlog)
        .clamp(1, i32::MAX as u32) as i32;
    let err = |e| bind_err(frontend, &spec.addr, e);
    match &spec.addr {
        ListenAddr::Tcp(addr) => {
            let domain = Domain::for_address(*addr);
            let sock = Socket::new(domain, Type::STREAM.cloexec(), None).map_err(err)?;
            sock.set_reuse_address(true).map_err(err)?;
            sock.set_reuse_port(true).map_err(err)?;
            if addr.is_ipv6() {
                sock.set_only_v6(spec.v6only).map_err(err)?;
            }
            sock.set_nonblocking(true).map_err(err)?;
            sock.bind(&SockAddr::from(*addr)).map_err(err)?;
            sock.listen(backlog).map_err(err)?;
            // As HAProxy: best effort, a failure only costs an ACK per connection.
            if spec.smart_accept {
                let _ = sock.set_tcp_quickack(false);
            }
            let nodelay = sock.set_tcp_nodelay(true).is_ok();
            let local = sock.local_addr().ok().and_then(|a| a.as_socket());
            Ok(Bound {
                fe,
                bind,
                sock,
                local,
                tcp: true,
                nodelay,
            })
        }
        ListenAddr::Unix(path) => {
            // Bind a temporary name, then rename it over the final one: the path is
            // never missing, and an old process's socket is replaced atomically.
            let mut tmp = path.clone().into_os_string();
            tmp.push(format!(".{}.tmp", std::process::id()));
            let tmp = std::path::PathBuf::from(tmp);
            let _ = std::fs::remove_file(&tmp);
            let sock = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None).map_err(err)?;
            sock.set_nonblocking(true).map_err(err)?;
            sock.bind(&SockAddr::unix(&tmp).map_err(err)?)
                .map_err(err)?;
            if let Err(e) = sock
                .listen(backlog)
                .and_then(|_| std::fs::rename(&tmp, path))
            {
                let _ = std::fs::remove_file(&tmp);
                return Err(err(e));
            }
            Ok(Bound {
                fe,
                bind,
                sock,
                local: None,
                tcp: false,
                nodelay: false,
            })
        }
        ListenAddr::Fd(n) => {
            let n = *n;
            // The same inherited socket on two `bind` lines (HAProxy accepts it; the
            // reg-test proxy/proxy_id.vtc does it): the second listener gets a
            // duplicate descriptor of the socket adopted once, and both accept.
            let sock = match taken_fds.get(&n) {
                Some(first) => first.try_clone().map_err(err)?,
                None => {
                    let sock = crate::sys::adopt_listening_fd(n).map_err(err)?;
                    taken_fds.insert(n, sock.try_clone().map_err(err)?);
                    sock
                }
            };
            sock.set_nonblocking(true).map_err(err)?;
            let local = sock.local_addr().ok().and_then(|a| a.as_socket());
            let tcp = local.is_some();
            // An inherited socket may carry another configuration's setting.
            if tcp {
                let _ = sock.set_tcp_quickack(!spec.smart_accept);
            }
            let nodelay = tcp && sock.set_tcp_nodelay(true).is_ok();
            Ok(Bound {
                fe,
                bind,
                sock,
                local,
                tcp,
                nodelay,
            })
        }
    }
}

/// The limits a listener must respect, innermost first (bind, frontend, global).
pub(crate) type Limits = Vec<Arc<Semaphore>>;

/// A connection limit that `set maxconn frontend|global` can change while
/// connections hold slots of it (management.txt §9.3).
pub(crate) struct Limit {
    pub(crate) sem: Arc<Semaphore>,
    /// The configured value; `None` = unlimited.
    max: std::sync::Mutex<Option<usize>>,
}

impl Limit {
    pub(crate) fn new(max: Option<usize>) -> Limit {
        let n = max.map_or(Semaphore::MAX_PERMITS, |m| m.min(Semaphore::MAX_PERMITS));
        Limit {
            sem: Arc::new(Semaphore::new(n)),
            max: std::sync::Mutex::new(max),
        }
    }

    /// The current limit (`None`: unlimited).
    pub(crate) fn get(&self) -> Option<usize> {
        *self.max.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the limit. Slots in use stay in use: a lower limit takes effect as
    /// they are released (HAProxy also never cuts established connections).
    pub(crate) fn set(&self, max: Option<usize>) {
        let mut cur = self.max.lock().unwrap_or_else(|e| e.into_inner());
        let permits =
            |m: Option<usize>| m.map_or(Semaphore::MAX_PERMITS, |m| m.min(Semaphore::MAX_PERMITS));
        let (old, new) = (permits(*cur), permits(max));
        *cur = max;
        if new > old {
            self.sem.add_permits(new - old);
        } else if old > new {
            let owed = (old - new) - self.sem.forget_permits(old - new);
            if owed > 0 {
                // Take the rest as slots come back.
                let sem = Arc::clone(&self.sem);
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    rt.spawn(async move {
                        let n = u32::try_from(owed).unwrap_or(u32::MAX);
                        if let Ok(p) = sem.acquire_many_owned(n).await {
                            p.forget();
                        }
                    });
                }
            }
        }
    }
}

/// The listener permits a connection holds: one of each of its listener's
/// limits, given back when dropped. Counted, not kept as tokio permits: a
/// `Vec` of those was one more small heap block per connection, allocated
/// among its first request's short-lived ones and kept as long as the
/// connection (issue 14, RSS per idle keep-alive connection).
pub(crate) struct Permits {
    limits: Option<Arc<[Arc<Semaphore>]>>,
    /// How many of `limits` (the first ones) are held.
    held: usize,
}

impl Permits {
    /// None held (a connection not counted against listener limits).
    #[cfg(test)]
    pub(crate) fn none() -> Permits {
        Permits {
            limits: None,
            held: 0,
        }
    }
}

impl Drop for Permits {
    fn drop(&mut self) {
        if let Some(l) = &self.limits {
            for s in l.iter().take(self.held) {
                s.add_permits(1);
            }
        }
    }
}

/// One permit of each limit, innermost first; `None` when one is closed
/// (the ones taken are given back, as they are if this is cancelled).
async fn acquire(limits: &Arc<[Arc<Semaphore>]>) -> Option<Permits> {
    let mut p = Permits {
        limits: Some(limits.clone()),
        held: 0,
    };
    for l in limits.iter() {
        l.acquire().await.ok()?.forget();
        p.held += 1;
    }
    Some(p)
}

/// `sock` comes from `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`: already non-blocking, so
/// no fcntl(2) pair per connection.
fn into_client(sock: Socket, tcp: bool) -> io::Result<ClientStream> {
    if tcp {
        let std: std::net::TcpStream = sock.into();
        Ok(ClientStream::Tcp(TcpStream::from_std(std)?))
    } else {
        let std: std::os::unix::net::UnixStream = sock.into();
        Ok(ClientStream::Unix(UnixStream::from_std(std)?))
    }
}

/// An accepted connection not yet registered with a runtime: the session registers it
/// on the thread it is placed on.
pub(crate) struct Accepted {
    sock: Socket,
    tcp: bool,
}

impl Accepted {
    /// A TCP connection accepted elsewhere (unit tests).
    #[cfg(test)]
    pub(crate) fn tcp(s: std::net::TcpStream) -> Accepted {
        Accepted {
            sock: s.into(),
            tcp: true,
        }
    }

    /// Registers the socket with the current runtime's IO driver.
    pub(crate) fn register(self) -> io::Result<ClientStream> {
        into_client(self.sock, self.tcp)
    }
}

/// Accept loop of one listener; ends when the task is aborted (which closes the socket).
/// `me`: the engine thread it runs on (None: the caller's runtime, no placement).
pub(crate) async fn accept_loop(shared: Arc<Shared>, b: Bound, limits: Limits, me: Option<usize>) {
    let (fe, bind, tcp, local, nodelay) = (b.fe, b.bind, b.tcp, b.local, b.nodelay);
    let limits: Arc<[Arc<Semaphore>]> = limits.into();
    let fd = match crate::sys::poll_listener(b.sock) {
        Ok(fd) => fd,
        Err(e) => {
            tracing::error!(frontend = %shared.frontends[fe].spec.name, "cannot poll listener: {e}");
            return;
        }
    };
    let accept_proxy = shared.frontends[fe].spec.binds[bind].accept_proxy;
    // With the bind's number: a failed handshake's log line names the bind.
    let tls = shared.frontends[fe].spec.binds[bind]
        .tls
        .clone()
        .map(|a| (a, bind));
    let proto_h2 = shared.frontends[fe].spec.binds[bind].proto_h2;
    let mut paused = shared.frontends[fe].paused.subscribe();
    // A service frontend (stats page, exporter) hands connections to it.
    let service = shared.frontends[fe]
        .spec
        .service
        .as_ref()
        .map(|s| s.0.clone());
    loop {
        let mut guard = match fd.readable().await {
            Ok(g) => g,
            Err(e) => {
                tracing::error!("listener poll error: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // `disable frontend`: accept nothing until enabled again (the connection
        // that woke us stays in the backlog).
        if *paused.borrow_and_update() {
            drop(guard);
            if paused.wait_for(|p| !*p).await.is_err() {
                return;
            }
            continue;
        }
        // Only take connections we are allowed to serve.
        let Some(permits) = acquire(&limits).await else {
            return;
        };
        match guard.try_io(|inner| {
            inner
                .get_ref()
                .accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
        }) {
            Ok(Ok((sock, peer))) => {
                let peer = peer.as_socket();
                if tcp {
                    if !nodelay {
                        let _ = sock.set_tcp_nodelay(true);
                    }
                    if shared.frontends[fe].spec.tcp_keepalive {
                        let _ = sock.set_keepalive(true);
                    }
                }
                // The address the client reached: the bound one, unless it is a
                // wildcard (then ask the kernel, one getsockname(2)).
                let dst = match local {
                    Some(l) if !l.ip().is_unspecified() => Some(l),
                    _ if tcp => sock.local_addr().ok().and_then(|a| a.as_socket()).or(local),
                    _ => None,
                };
                if let Some(service) = service.clone() {
                    match into_client(sock, tcp) {
                        Ok(client) => {
                            let live = crate::session::Live::count(&shared, fe, None, permits);
                            tokio::spawn(crate::run_service(
                                live,
                                service,
                                client,
                                peer,
                                dst,
                                accept_proxy,
                            ));
                        }
                        Err(e) => tracing::warn!("accepted socket unusable: {e}"),
                    }
                    continue;
                }
                let thread = me.map(|me| {
                    crate::workers::pick(&shared.threads, me, shared.spread, &shared.turn)
                });
                let live = crate::session::Live::count(&shared, fe, thread, permits);
                // Each poll of the session has one time (`crate::clock`).
                let session = crate::clock::Timed::new(crate::task::run(
                    live,
                    Accepted { sock, tcp },
                    peer,
                    dst,
                    accept_proxy,
                    tls.clone(),
                    (bind, proto_h2),
                ));
                match thread.and_then(|t| shared.threads.get(t)) {
                    Some(s) if thread != me => drop(s.handle.spawn(session)),
                    _ => drop(tokio::spawn(session)),
                }
            }
            Ok(Err(e)) => {
                drop(permits);
                match e.raw_os_error() {
                    // The socket was shut down (engine stopping): stop accepting.
                    Some(libc::EINVAL) => return,
                    // Out of descriptors or memory: back off instead of spinning.
                    Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS)
                    | Some(libc::ENOMEM) => {
                        tracing::warn!(fd = fd.as_raw_fd(), "accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    _ => {}
                }
            }
            Err(_would_block) => drop(permits),
        }
    }
}

/// The listen queue of a frontend's `bind` lines that set no `backlog` (§5.1):
/// the proxy's `backlog` (§4.2), else its maxconn (the global one by default),
/// else 1024 — HAProxy's listener_backlog(); at most 65535.
pub(crate) fn default_backlog(fe: &FrontendSpec, global_maxconn: Option<usize>) -> u32 {
    fe.backlog
        .map(|b| b as usize)
        .or(fe.maxconn)
        .or(global_maxconn)
        .unwrap_or(1024)
        .min(65535) as u32
}

#[cfg(test)]
mod backlog_tests {
    use super::*;

    #[test]
    fn proxy_backlog_then_maxconn_then_1024() {
        let fe = |backlog, maxconn| FrontendSpec {
            backlog,
            maxconn,
            ..FrontendSpec::default()
        };
        assert_eq!(default_backlog(&fe(Some(64), Some(500)), Some(9)), 64);
        assert_eq!(default_backlog(&fe(None, Some(500)), Some(9)), 500);
        assert_eq!(default_backlog(&fe(None, None), Some(9)), 9);
        assert_eq!(default_backlog(&fe(None, None), None), 1024);
        assert_eq!(default_backlog(&fe(Some(100_000), None), None), 65535);
    }
}

#[cfg(test)]
mod smart_accept_tests {
    use super::*;
    use std::io::{Read, Write};

    /// Whether a connection accepted on a listener bound with `smart_accept`, once it
    /// has read the client's first bytes, is in delayed-ACK mode: TCP_QUICKACK reads
    /// back as the kernel's "ACK at once" state (quick ACKs pending and not
    /// interactive), which an accepted socket inherits from its listener.
    fn acks_at_once(smart_accept: bool) -> bool {
        let spec = BindSpec {
            smart_accept,
            ..BindSpec::plain(ListenAddr::Tcp("127.0.0.1:0".parse().expect("addr")))
        };
        let b = bind_one("f", 0, 0, &spec, 16, &mut HashMap::new()).expect("bind");
        let addr = b.local.expect("local address");
        let mut c = std::net::TcpStream::connect(addr).expect("connect");
        b.sock.set_nonblocking(false).expect("blocking");
        let (s, _) = b.sock.accept().expect("accept");
        c.write_all(b"hello").expect("write");
        let mut got = [0u8; 5];
        let mut s = std::net::TcpStream::from(s);
        s.read_exact(&mut got).expect("read");
        socket2::SockRef::from(&s)
            .tcp_quickack()
            .expect("getsockopt")
    }

    #[test]
    fn accepted_sockets_inherit_nodelay() {
        let spec = BindSpec::plain(ListenAddr::Tcp("127.0.0.1:0".parse().expect("addr")));
        let b = bind_one("f", 0, 0, &spec, 16, &mut HashMap::new()).expect("bind");
        assert!(b.nodelay, "set on the listener");
        let addr = b.local.expect("local address");
        let _c = std::net::TcpStream::connect(addr).expect("connect");
        b.sock.set_nonblocking(false).expect("blocking");
        let (s, _) = b.sock.accept().expect("accept");
        assert!(
            s.tcp_nodelay().expect("getsockopt"),
            "the accepted socket has it"
        );
    }

    #[test]
    fn smart_accept_delays_the_first_ack() {
        assert!(acks_at_once(false), "a plain listener acknowledges at once");
        assert!(
            !acks_at_once(true),
            "a smart-accept listener delays the ACK"
        );
    }
}
