//! An idle HTTP/1 keep-alive connection, parked (issue 14: RSS per idle
//! keep-alive connection at most HAProxy's).
//!
//! Between two requests a client connection needs very little: its addresses,
//! counters, the previous request's end (the next one's `Ti` counts from
//! there), the session variables and idle server connections if it has any.
//! HAProxy keeps its stream-level state only while a request is served. Here a
//! session between requests gives up the HTTP loop's state (about 500 bytes)
//! and resets its [`Sess`] in its box (the request's state dropped, the box
//! kept for the next request: no allocation per request), waits until its
//! socket is readable (no buffer, no system call) within `timeout
//! http-keep-alive`; past [`super::idle::GRACE`] the [`Sess`] gives way to a
//! [`Parked`] record in its thread's waiter, out of the task, and is built
//! again when the client sends. Only plain TCP connections
//! park; TLS (rustls may hold decrypted bytes the socket does not show), UNIX
//! sockets and HTTP/2 streams wait in [`Sess::http_loop`] as before.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::Conn;
use crate::lb::Kill;
use crate::meter::SessionMeter;
use crate::relay::{Bytes, ClientStream};
use crate::session::{Flow, Sess};

/// What an idle session keeps: the fields of [`Sess`] that outlive a request
/// (the rest is reset by `end_request`).
pub(crate) struct Parked {
    src: Option<SocketAddr>,
    dst: Option<SocketAddr>,
    bytes: Bytes,
    meter: SessionMeter,
    req_at: SystemTime,
    req_t0: Instant,
    tls: Option<std::sync::Arc<haproxide_expr::TlsSession>>,
    /// The HTTP loop's connection state, when it holds anything (variables of
    /// the `sess` scope, private idle server connections).
    conn: Option<Box<Conn>>,
}

impl Parked {
    /// The client's address and the address it reached.
    pub(crate) fn addrs(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (self.src, self.dst)
    }
}

impl Conn {
    /// The state of a connection that has not served a request yet.
    pub(crate) fn new() -> Conn {
        Conn {
            idle: Vec::new(),
            srv_buf: crate::relay::Half::new(),
            out: Vec::new(),
            chunk: Vec::new(),
            vars: Default::default(),
            cache: None,
            replay: false,
            private: false,
            prefer_last: false,
            room: [None; 2],
        }
    }

    /// [`Conn::new`] with the variables TCP rules set before the first request.
    pub(super) fn with_vars(vars: haproxide_http::rules::Vars) -> Conn {
        let mut c = Conn::new();
        c.vars = vars;
        c
    }

    /// `None` when nothing in it outlives the request (the common case: no
    /// variable of the `sess` scope, no private server connection, buffers
    /// already given back): a parked session then holds no copy of it.
    pub(super) fn keep(self) -> Option<Box<Conn>> {
        let empty = self.idle.is_empty()
            && self.vars.is_empty()
            && self.srv_buf.filled().is_empty()
            && self.out.capacity() == 0
            && self.chunk.capacity() == 0;
        (!empty).then(|| Box::new(self))
    }
}

impl Drop for Conn {
    /// The write vectors go back to the thread's pool however the connection
    /// ends (`kept_alive` gives them back between requests): a connection
    /// closed after its request left them to be freed, and the next
    /// connection's request and response heads grew new ones from nothing,
    /// six reallocations per connection (bench/http1-callgrind.sh CLOSE=1).
    fn drop(&mut self) {
        self.out.clear();
        self.chunk.clear();
        super::rest(&mut self.out);
        super::rest(&mut self.chunk);
    }
}

/// What the session task shares with a parked wait: the engine, the session
/// id, its kill switch and its bind.
/// The last: whether the connection was held by the waiter before (then its
/// grace is [`super::idle::REGRACE`]).
pub(crate) type Ids<'a> = (&'a Arc<crate::Shared>, u64, &'a Arc<Kill>, usize, bool);

/// How a session's life after its body ends: over, with its termination
/// state; or idle past the grace, its connection to go to the thread's waiter
/// ([`super::idle`]) with what it keeps and its keep-alive deadline.
#[allow(clippy::large_enum_variant)] // returned once, moved on at once: a box would be one more allocation
pub(crate) enum Parting {
    Ended(Box<Sess>, [u8; 2]),
    Held(Parked, Option<Instant>),
}

/// The rest of a session whose body ended with `flow` (`Err`: killed, with
/// the reason): an HTTP connection that went idle is parked until its next
/// request (or `timeout http-keep-alive`: closed without a log line, as
/// HAProxy does), then served again, until it ends. Idle longer than
/// [`super::idle::GRACE`], it leaves its task ([`Parting::Held`]). One
/// function, not a nest of them: its state is the task's while a connection
/// is idle.
pub(crate) async fn until_done(
    mut s: Box<Sess>,
    mut flow: Result<Flow, u8>,
    client: &mut ClientStream,
    &(shared, sid, kill, bind, was_held): &Ids<'_>,
) -> Parting {
    loop {
        let conn = match flow {
            Err(why) => {
                let t = [why, s.phase];
                return Parting::Ended(s, t);
            }
            Ok(Flow::Done(t)) => return Parting::Ended(s, t),
            Ok(Flow::Idle(conn)) => conn,
        };
        let ClientStream::Tcp(tcp) = &*client else {
            // Only plain TCP parks (`Sess::http_loop`).
            s.silent = true;
            return Parting::Ended(s, *b"--");
        };
        let (fe, to) = (s.fe, keep_alive_timeout(&s));
        // Waiting longer than the grace: the grace in the task, the rest in
        // the thread's waiter (when it has one: else all here).
        let grace = if was_held {
            super::idle::REGRACE
        } else {
            super::idle::GRACE
        };
        let long = to.is_none_or(|t| t > grace) && super::idle::available();
        // The session as `unpark` would build it for the next request, in the
        // box it has (no allocation per request); the request's state is
        // dropped now, as a park drops it.
        s.renew(shared.clone(), fe, sid, kill.clone());
        let woke = tokio::select! {
            biased;
            why = kill.wait() => Err(why),
            r = wait(tcp, if long { Some(grace) } else { to }) => Ok(r),
        };
        if long && matches!(woke, Ok(false)) {
            let deadline = to.map(|t| Instant::now() + (t - grace));
            return Parting::Held(s.park(conn), deadline);
        }
        s.bind = Some(bind);
        flow = match woke {
            Err(why) => Err(why),
            Ok(false) => {
                s.silent = true;
                Ok(Flow::Done(*b"--"))
            }
            // Bytes came (or the client closed: the loop reads it and ends
            // silently).
            Ok(true) => again(&mut s, client, conn, kill).await,
        };
    }
}

/// Serves a parked connection again: its client sent bytes (or closed).
pub(crate) async fn again(
    s: &mut Sess,
    client: &mut ClientStream,
    conn: Option<Box<Conn>>,
    kill: &Kill,
) -> Result<Flow, u8> {
    // Built in its box (`sys::box_write`): `Box::pin` would build the loop's
    // future, an exchange's state, on the stack and copy it whole.
    let more = Box::into_pin(crate::sys::box_write(
        Box::new_uninit(),
        s.http_loop_parked(client, conn, false),
    ));
    tokio::select! {
        biased;
        why = kill.wait() => Err(why),
        f = more => Ok(f),
    }
}

/// Waits until the client sends something or closes (true), or `to` passes
/// (false). Readiness only, no system call: the request's reader reads the
/// bytes (a `peek` here was one more `recvfrom` per keep-alive request).
/// Polled by hand: the runtime keeps the waker in the socket's own slot,
/// where a `readable()` future would carry a waiter of its own. A spurious
/// readiness (none is expected: the runtime forgets readiness when a read
/// drains the socket) only makes the reader wait, under the same
/// `timeout http-keep-alive`.
async fn wait(client: &TcpStream, to: Option<Duration>) -> bool {
    let ready = std::future::poll_fn(|cx| client.poll_read_ready(cx).map(|_| ()));
    match to {
        Some(t) => tokio::time::timeout(t, ready).await.is_ok(),
        None => {
            ready.await;
            true
        }
    }
}

/// §4.2 `timeout http-keep-alive`, else `http-request`, else `client`.
pub(super) fn keep_alive_timeout(s: &Sess) -> Option<Duration> {
    let fert = &s.shared.frontends[s.fe];
    fert.spec
        .http
        .as_ref()
        .and_then(|h| h.timeout_keep_alive.or(h.timeout_request))
        .or(fert.light.timeout_client)
}

impl Sess {
    /// The parts of a session between requests that outlive it; the rest is
    /// dropped (the slot, backend and server were released by `end_request`).
    pub(super) fn park(self: Box<Self>, conn: Option<Box<Conn>>) -> Parked {
        let s = *self;
        Parked {
            src: s.src,
            dst: s.dst,
            bytes: s.bytes,
            meter: s.meter,
            req_at: s.req_at,
            req_t0: s.req_t0,
            tls: s.tls,
            conn,
        }
    }

    /// This session replaced by the one [`Sess::unpark`] would make of its
    /// park: what outlives a request kept, the rest dropped.
    fn renew(&mut self, shared: Arc<crate::Shared>, fe: usize, sid: u64, kill: Arc<Kill>) {
        let meter = std::mem::take(&mut self.meter);
        let next = Sess::new(
            shared,
            fe,
            (self.src, self.dst),
            sid,
            kill,
            meter,
            (self.req_at, self.req_t0),
        );
        let old = std::mem::replace(self, next);
        self.bytes = old.bytes;
        self.bytes_base = old.bytes;
        self.tls = old.tls;
    }

    /// The session of a parked connection, as `end_request` left it.
    pub(super) fn unpark(
        p: Parked,
        shared: Arc<crate::Shared>,
        fe: usize,
        sid: u64,
        kill: Arc<Kill>,
    ) -> (Box<Sess>, Option<Box<Conn>>) {
        let mut s = Box::new(Sess::new(
            shared,
            fe,
            (p.src, p.dst),
            sid,
            kill,
            p.meter,
            (p.req_at, p.req_t0),
        ));
        s.bytes = p.bytes;
        s.bytes_base = p.bytes;
        s.tls = p.tls;
        (s, p.conn)
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of_val;
    use std::sync::Arc;

    use crate::spec::{BindSpec, EngineSpec, FrontendSpec, HttpSpec, ListenAddr};
    use crate::{AlwaysUp, Engine, NoLog};

    /// What an idle keep-alive connection costs in its task during the
    /// grace (`idle::GRACE`; after it, no task: `idle`), pinned: the
    /// session task's future (the `session::run` block: live counters, the
    /// socket, a boxed `Sess`, and the parked wait at its largest await), and
    /// the parked record. Before parking the task's future was 952 bytes (its
    /// allocation 1,152) and the HTTP loop's box 520 more (heaptrack, 2,000
    /// idle connections); HAProxy holds about 1,165 bytes per idle connection
    /// in all. Measured now (debug; release within 8 bytes): `Parked` 200, the
    /// wait 576 (a `TcpStream::peek` future alone is 232: readiness polled by hand, 16),
    /// the task 792 (736 before the hand-over to the waiter). Raise these only
    /// knowingly: each byte here is paid by every busy client.
    #[tokio::test]
    async fn an_idle_session_is_small() {
        let spec = EngineSpec {
            frontends: vec![FrontendSpec {
                name: "fe".into(),
                binds: vec![BindSpec::plain(ListenAddr::Tcp(
                    "127.0.0.1:0".parse().expect("addr"),
                ))],
                http: Some(HttpSpec::default()),
                ..FrontendSpec::default()
            }],
            ..EngineSpec::default()
        };
        let engine = Engine::start(spec, Arc::new(AlwaysUp), Arc::new(NoLog))
            .await
            .expect("engine starts");
        let shared = engine.shared.clone();
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let _c = std::net::TcpStream::connect(addr).expect("connect");
        let (sock, _) = l.accept().expect("accept");
        sock.set_nonblocking(true).expect("nonblocking");
        let tcp =
            tokio::net::TcpStream::from_std(sock.try_clone().expect("clone")).expect("register");

        // The parked wait (what the task awaits while the client is idle).
        let s = Box::new(crate::session::Sess::new(
            shared.clone(),
            0,
            (None, None),
            1,
            Arc::new(crate::lb::Kill::for_session(
                0,
                None,
                None,
                std::time::SystemTime::now(),
                std::time::Instant::now(),
            )),
            crate::meter::SessionMeter::new(&shared.meters, None, 0),
            (std::time::SystemTime::now(), tokio::time::Instant::now()),
        ));
        let kill = s.kill.clone();
        let ids = (&shared, 1, &kill, 0, false);
        let mut client = crate::relay::ClientStream::Tcp(tcp);
        let wait = super::until_done(s, Ok(super::Flow::Idle(None)), &mut client, &ids);
        let parked = std::mem::size_of::<super::Parked>();
        assert!(parked <= 200, "Parked is {parked} bytes");
        let w = size_of_val(&wait);
        assert!(w <= 576, "the parked wait's future is {w} bytes");
        drop(wait);

        // The whole session task.
        let live = crate::session::Live::count(&shared, 0, None, crate::listener::Permits::none());
        let task = crate::task::run(
            live,
            crate::listener::Accepted::tcp(sock),
            None,
            None,
            false,
            None,
            (0, false),
        );
        let t = size_of_val(&task);
        assert!(t <= 792, "the session task's future is {t} bytes");
    }
}

#[cfg(test)]
mod drop_tests {
    use super::Conn;

    /// A connection that ends after its request (`Connection: close`) leaves
    /// its write vectors to the thread's next request: its head is written
    /// into the same memory, with no reallocation.
    #[test]
    fn a_closed_connection_gives_its_write_vectors_back() {
        std::thread::spawn(|| {
            let mut c = Conn::new();
            super::super::vecs_take(&mut c.out);
            c.out.extend_from_slice(&[b'x'; 700]);
            let p = c.out.as_ptr();
            drop(c);
            let mut next = Vec::new();
            super::super::vecs_take(&mut next);
            assert_eq!(next.as_ptr(), p, "the same vector");
            assert!(next.is_empty() && next.capacity() >= 700);
        })
        .join()
        .unwrap();
    }
}
