//! HTTP mode (configuration.txt §4 `mode http`): the session loop that replaces
//! the TCP relay for a frontend whose spec has [`crate::spec::HttpSpec`].
//!
//! One client connection carries requests one after the other (keep-alive,
//! pipelining: answered in order). Each request: its head is read and parsed by
//! `haproxide-http` (bounded by the buffer, `timeout http-request`); `use_backend`
//! picks a backend; the server is chosen, queued for and connected to by the code
//! TCP sessions use ([`crate::session::Sess::connect_server`]), or the session's
//! idle connection to that server is reused; the head goes out as
//! `haproxide_http::write` writes it, the body streams through one buffer; the
//! response comes back the same way; then the next request. A `101` turns the
//! connection into a tunnel (the TCP relay). Each request is logged on its own
//! (HAProxy's one log line per request). docs/http.md describes the lifecycle.

mod buffer;
mod cache;
mod compress;
mod exchange;
mod headers;
mod htx;
pub(crate) mod idle;
mod io;
pub(crate) mod park;
mod persist;
pub(crate) mod pool;
mod replay;
mod response;
mod reuse;
mod rules;
mod splice;
pub(crate) mod spoe;
mod stats;
mod uid;

use tokio::io::AsyncWriteExt;

use crate::relay::{ClientStream, Half};
use crate::session::{Flow, Reuse, Sess};

/// Idle server connections a session keeps: HAProxy's `max-session-srv-conns`
/// default (configuration.txt §4.2).
pub(crate) const MAX_IDLE: usize = 10;

/// Write vectors kept per thread between requests, so that an idle keep-alive
/// connection holds none and a next request allocates none. Enough for the
/// HTTP/2 streams a thread has in flight (about 100 under h2load's 200; 64
/// left the pool dry at some times and full at others: a `malloc` and a
/// `free` for most streams). At most 256 × 32 KB per thread after a burst of
/// large heads; a few hundred KB with usual ones.
const VECS_MAX: usize = 256;

/// What a stream's write vector is first sized for (an HTTP/2 stream's
/// request head to the server, with room to spare).
const H2_HEAD_GUESS: usize = 512;

thread_local! {
    static VECS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}
static POOL: haproxide_http::spare::Stack<u8> = haproxide_http::spare::Stack::new(&VECS, VECS_MAX);

/// After a request: `v` goes to the per-thread pool (dropped if it grew beyond
/// 32 KiB or the pool is full); the connection holds an empty, unallocated one.
fn rest(v: &mut Vec<u8>) {
    if !v.is_empty() {
        return;
    }
    POOL.give(std::mem::take(v), 2 * crate::relay::BUFSIZE);
}

/// When a request came: a vector from the pool if `v` has none.
pub(crate) fn vecs_take(v: &mut Vec<u8>) {
    if v.capacity() == 0 {
        *v = POOL.take(0, 0);
    }
}

/// What a request's exchange leaves behind.
pub(crate) enum Next {
    /// Answered; the client connection stays for the next request.
    KeepAlive,
    /// Answered by the proxy (an error page) with this termination state; the
    /// client connection stays.
    Answered([u8; 2]),
    /// The connection ends with this termination state (logged by the session).
    Close([u8; 2]),
    /// No request came (idle keep-alive connection closed or timed out): no log.
    Idle,
    /// Within an exchange only: a reused server connection closed before
    /// answering; the request goes again on a new one (`http-reuse safe`).
    Retry,
    /// The first request was the HTTP/2 preface: HTTP/2 from here.
    H2,
}

/// Connection-level state kept across the requests of one client connection.
pub(crate) struct Conn {
    /// The idle server connections of this session, reused by a next request
    /// that goes to the same server (at most [`MAX_IDLE`], oldest dropped first).
    pub(crate) idle: Vec<Reuse>,
    /// The server's bytes not consumed yet.
    pub(crate) srv_buf: Half,
    /// Bytes being written (heads, re-framed body data); reused.
    pub(crate) out: Vec<u8>,
    /// Body data being re-chunked; reused.
    pub(crate) chunk: Vec<u8>,
    /// The session's variables (`sess.*`; `txn.*`, `req.*`, `res.*` cleared
    /// between transactions).
    pub(crate) vars: haproxide_http::rules::Vars,
    /// The transaction's cache state, while a rule set with `cache-use` /
    /// `cache-store` runs (see `cache`); `None` otherwise.
    pub(crate) cache: Option<Box<haproxide_http::cache::TxnCache>>,
    /// The request being forwarded can be sent again whole (see `replay`).
    pub(crate) replay: bool,
    /// The server connection of this transaction answered an NTLM / Negotiate
    /// challenge: it stays with this client connection (`exchange`, §4.2
    /// `http-reuse`).
    pub(crate) private: bool,
    /// A private connection was kept for an NTLM / Negotiate exchange: the
    /// next requests prefer its server (HAProxy's `SESS_FL_PREFER_LAST`).
    pub(crate) prefer_last: bool,
    /// The transaction's rewrite limits, request then response (set when the
    /// head is received: `haproxide_http::rules::rewrite`).
    pub(crate) room: [Option<usize>; 2],
}

/// A connection's addresses (source, destination).
type Addrs = (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>);

impl Sess {
    /// The HTTP loop: from the connection's first request (`first`), or again
    /// after a park (`conn`: what the connection kept, see [`park`]). With
    /// `park`, a plain TCP connection between requests returns
    /// [`Flow::Idle`] instead of waiting here (`session::run` parks it).
    pub(crate) async fn http_loop(
        &mut self,
        client: &mut ClientStream,
        conn: Option<Box<Conn>>,
        first: bool,
        park: bool,
    ) -> Flow {
        // After a park the next request's bytes are there (the socket is readable): read them.
        let mut woke = !first;
        // The variables TCP rules set come in with the first request.
        let mut conn = match conn {
            Some(c) => *c,
            None => Conn::with_vars(self.vars.take().map(|v| *v).unwrap_or_default()),
        };
        let mut first = first && self.h2 != Some(false);
        // The connection's addresses: `set-src`/`set-dst` change them for one
        // transaction only (HAProxy 2.6 sets the stream's, measured).
        let addrs = (self.src, self.dst);
        loop {
            // Between requests the task waits here, in a small state: the
            // exchange's state machine (about 2.5 KB) is allocated only while a
            // request is being served, so an idle keep-alive connection holds
            // neither it nor a buffer. A plain TCP connection leaves the loop
            // altogether (parked: see `park`).
            if !first && !woke && self.req.filled().is_empty() && !self.req.eof {
                if park && matches!(client, ClientStream::Tcp(_)) {
                    return Flow::Idle(conn.keep());
                }
                if let Some(flow) = self.wait_next(client).await {
                    return flow;
                }
            }
            woke = false;
            // `tcp-request content` rules run for each request of a kept-alive
            // connection too (HAProxy evaluates them per stream); the first
            // request's ran before the HTTP loop.
            if !first {
                if let Some(flow) = self.tcp_content_again(&mut conn) {
                    return flow;
                }
            }
            let next = Box::pin(self.http_exchange(client, &mut conn, first)).await;
            self.log_turn().await;
            match next {
                Next::KeepAlive | Next::Answered(_) => self.kept_alive(&next, &mut conn, addrs),
                _ => return self.ended(client, next).await,
            }
            first = false;
        }
    }

    /// [`Sess::http_loop`] for a plain TCP connection, which parks between
    /// requests: its first request (`first`, from `Sess::body`) or a parked
    /// connection whose client sent bytes (`park::again`). The same steps, the
    /// exchange awaited in place (the caller's one box holds it: one
    /// allocation per request, not two), and back to the park whenever no
    /// request is waiting.
    pub(crate) async fn http_loop_parked(
        &mut self,
        client: &mut ClientStream,
        conn: Option<Box<Conn>>,
        mut first: bool,
    ) -> Flow {
        let mut conn = match conn {
            Some(c) => *c,
            None => Conn::with_vars(self.vars.take().map(|v| *v).unwrap_or_default()),
        };
        let addrs = (self.src, self.dst);
        loop {
            // The first request's `tcp-request content` rules ran before.
            if !first {
                if let Some(flow) = self.tcp_content_again(&mut conn) {
                    return flow;
                }
            }
            let next = self.http_exchange(client, &mut conn, first).await;
            first = false;
            self.log_turn().await;
            match next {
                Next::KeepAlive | Next::Answered(_) => self.kept_alive(&next, &mut conn, addrs),
                _ => return self.ended(client, next).await,
            }
            if self.req.filled().is_empty() && !self.req.eof {
                return Flow::Idle(conn.keep());
            }
        }
    }

    /// After an exchange that keeps the connection (`KeepAlive`,
    /// `Answered`): the request ends, the connection's state is made ready
    /// for the next one.
    fn kept_alive(&mut self, next: &Next, conn: &mut Conn, addrs: Addrs) {
        let term = match next {
            Next::Answered(t) => *t,
            _ => *b"--",
        };
        self.end_request(term);
        // A `monitor-uri` answer was not logged; the next is.
        self.silent = false;
        (self.src, self.dst) = addrs;
        conn.vars.end_txn();
        conn.cache = None;
        self.spoe = None;
        // An idle connection holds no buffer.
        self.req.release_if_empty();
        conn.srv_buf.release_if_empty();
        rest(&mut conn.out);
        rest(&mut conn.chunk);
    }

    /// After an exchange that ends the connection (or turns it to HTTP/2).
    async fn ended(&mut self, client: &mut ClientStream, next: Next) -> Flow {
        match next {
            Next::KeepAlive | Next::Answered(_) => Flow::Done(*b"--"),
            Next::Retry => {
                self.stick_stream_end();
                let _ = client.shutdown().await;
                Flow::Done(*b"SH")
            }
            Next::Close(term) => {
                // The stream ends before the client sees the close, as
                // HAProxy frees its stream (`track-sc*` counters) first.
                self.stick_stream_end();
                let _ = client.shutdown().await;
                Flow::Done(term)
            }
            Next::Idle => {
                self.silent = true;
                Flow::Done(*b"--")
            }
            Next::H2 => Box::pin(self.h2_session(client)).await,
        }
    }

    /// One HTTP/2 stream's transaction (`http2/stream.rs`): one exchange, as
    /// [`Sess::http_loop`] runs it, but awaited in place (not boxed: the
    /// stream's own future, one allocation, holds it) and no next request (a
    /// stream carries one). The request is logged here; the stream's `finish`
    /// logs nothing more.
    pub(crate) async fn h2_stream_exchange(&mut self, client: &mut ClientStream) -> Flow {
        let mut conn = Conn::with_vars(self.vars.take().map(|v| *v).unwrap_or_default());
        // Streams after a connection's first run `tcp-request content` again,
        // as a kept-alive HTTP/1 request.
        let first = self.h2 != Some(false);
        if !first {
            if let Some(flow) = self.tcp_content_again(&mut conn) {
                return flow;
            }
        }
        // The server's request head goes to `out`: a pooled vector, else one
        // sized for a usual head at once (the pool runs dry with a hundred
        // streams in flight; growing from empty cost a malloc and reallocs).
        vecs_take(&mut conn.out);
        if conn.out.capacity() == 0 {
            conn.out.reserve(H2_HEAD_GUESS);
        }
        let flow = match self.http_exchange(client, &mut conn, first).await {
            Next::KeepAlive => {
                self.end_request(*b"--");
                self.silent = true;
                Flow::Done(*b"--")
            }
            Next::Answered(t) => {
                self.end_request(t);
                self.silent = true;
                Flow::Done(t)
            }
            Next::Retry => {
                self.stick_stream_end();
                Flow::Done(*b"SH")
            }
            Next::Close(t) => {
                self.stick_stream_end();
                Flow::Done(t)
            }
            Next::Idle => {
                self.silent = true;
                Flow::Done(*b"--")
            }
            // A preface as a stream's request: refused as on a later HTTP/1
            // request (`read_head` only asks for HTTP/2 on a first request of a
            // connection that is not HTTP/2 already).
            Next::H2 => Flow::Done(*b"PR"),
        };
        // The write vectors go back to the thread's pool for the next stream
        // (what the last write left is stale: a vector not emptied would be
        // dropped with the stream's state, and the next stream's head would
        // grow a fresh one).
        conn.out.clear();
        conn.chunk.clear();
        rest(&mut conn.out);
        rest(&mut conn.chunk);
        flow
    }

    /// The frontend's `tcp-request content` rules on a later request of the
    /// connection (its bytes are buffered; no inspect delay is waited again):
    /// `Some` when a rule rejects it. Nothing runs (nor allocates) without rules.
    fn tcp_content_again(&mut self, conn: &mut Conn) -> Option<Flow> {
        let fe = &self.shared.frontends[self.fe];
        let skip = fe.spec.tcp_session_rules;
        if fe.light.tcp_content_rules.len() <= skip {
            return None;
        }
        let rules = fe.light.tcp_content_rules.clone();
        self.vars = Some(Box::new(std::mem::take(&mut conn.vars)));
        let verdict = self.tcp_rules(&rules, &mut skip.clone(), true, None);
        conn.vars = self.vars.take().map(|v| *v).unwrap_or_default();
        matches!(verdict, Ok(Some(false))).then_some(Flow::Done(*b"PR"))
    }

    /// Waits for the first bytes of the next request on a kept-alive connection
    /// (§4.2 `timeout http-keep-alive`, else `http-request`, else `client`).
    /// `Some` when the connection ends instead: closed, or idle too long
    /// (silently: no log, as HAProxy).
    async fn wait_next(&mut self, client: &mut ClientStream) -> Option<Flow> {
        let to = park::keep_alive_timeout(self);
        match io::read_into(client, &mut self.req, to).await {
            Ok(0) => self.req.eof = true,
            Ok(n) => {
                self.bytes.from_client += n as u64;
                self.client_active = crate::clock::now();
                return None;
            }
            Err(_) => {}
        }
        self.silent = true;
        Some(Flow::Done(*b"--"))
    }

    /// Before a request's log line: the other sessions this wake-up of the
    /// thread made ready write their answers first (`crate::gather`), so the
    /// log lines of one wake-up leave together, after the answers.
    async fn log_turn(&self) {
        if self.http_log.is_some() && crate::gather::Side::Log.on() {
            crate::gather::turn().await;
        }
    }

    /// Logs the request that just finished and resets what is per request.
    fn end_request(&mut self, term: [u8; 2]) {
        self.publish_bytes();
        self.log(term, self.req_at, self.req_t0);
        // The slot first (it wakes queued sessions), then the backend count.
        self.slot = None;
        self.be_count = None;
        self.backend = None;
        self.server = None;
        self.tw_start = None;
        self.tw = -1;
        self.tc = -1;
        self.retries = 0;
        self.redispatched = false;
        self.direct = None;
        self.lb_hash = None;
        self.srv_queue = 0;
        self.backend_queue = 0;
        self.bytes_base = self.bytes;
        self.phase = b'R';
        // The next transaction's log counts from here (HAProxy: `Ti` is the idle
        // time since the end of the previous one).
        (self.req_at, self.req_t0) = crate::clock::now_wall();
        self.first_byte = None;
        self.connected = None;
        self.htx = crate::relay::Bytes::default();
        self.http_log = None;
    }
}
