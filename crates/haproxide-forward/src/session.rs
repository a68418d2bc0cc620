//! One client session in TCP mode, from accept to log (configuration.txt §4 proxies,
//! §8.2.2 TCP log format, §8.5 session state at disconnection).
//!
//! Steps: PROXY header on `accept-proxy` binds; `tcp-request connection` rules;
//! `tcp-request content` rules with `tcp-request inspect-delay`; backend switching
//! (`use_backend` in order, then `default_backend`); server choice and queueing; connect
//! with `retries` and `option redispatch`; `send-proxy`; the data relay; the log.
//!
//! Every resource of the session (slots, permits, sockets) is owned by RAII guards, so
//! a kill, an error or a panic in the session releases everything.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::connect::{connect_tls, connect_unix, Started, Via};
use crate::lb::{Assign, BackendRt, Kill, SrvSlot};
use crate::meter::{Publisher, SessionMeter};
use crate::proxy_proto;
use crate::relay::{relay, Bytes, ClientStream, Half, RelayTimeouts};
use crate::rules::{eval_cond, EvalCtx, Tri};
use crate::server_stream::ServerStream;
use crate::spec::{Balance, SendProxy, ServerPort};
use crate::{SessionRecord, Shared};
use std::borrow::Cow;

/// HAProxy has no default `timeout connect`; without one we bound connects to 5 s.
pub const DEFAULT_TIMEOUT_CONNECT: Duration = Duration::from_secs(5);

/// What the session did, filled in as it goes (it survives a kill).
pub(crate) struct Sess {
    pub(crate) shared: Arc<Shared>,
    pub(crate) fe: usize,
    pub(crate) src: Option<SocketAddr>,
    pub(crate) dst: Option<SocketAddr>,
    pub(crate) sid: u64,
    pub(crate) kill: Arc<Kill>,
    /// The phase letter of §8.5's second character: R, Q, C, D.
    pub(crate) phase: u8,
    pub(crate) backend: Option<Arc<BackendRt>>,
    /// Dropped before `be_count`: the slot wakes queued sessions first.
    pub(crate) slot: Option<SrvSlot>,
    pub(crate) be_count: Option<BeCount>,
    pub(crate) server: Option<usize>,
    pub(crate) tw_start: Option<Instant>,
    pub(crate) tw: i64,
    pub(crate) tc: i64,
    pub(crate) retries: u32,
    pub(crate) redispatched: bool,
    pub(crate) bytes: Bytes,
    /// What of `bytes` went to the live `bin`/`bout` counters already.
    pub(crate) meter: SessionMeter,
    /// Sessions served before this one while it waited in the server's / backend's
    /// queue (§8.2.2 `srv_queue`, `backend_queue`).
    pub(crate) srv_queue: u64,
    pub(crate) backend_queue: u64,
    /// Last read from the client before the relay (for `timeout client`).
    pub(crate) client_active: Instant,
    /// Client data read before the relay.
    pub(crate) req: Half,
    /// Do not log (rejected by `tcp-request connection`).
    pub(crate) silent: bool,
    /// When the logged unit began: the session, or in HTTP mode the current request.
    pub(crate) req_at: SystemTime,
    pub(crate) req_t0: Instant,
    /// `bytes` when the current HTTP request began (logs count from there).
    pub(crate) bytes_base: Bytes,
    /// HTTP mode: the current transaction's log part, and when its first byte came.
    pub(crate) http_log: Option<Box<crate::HttpTxnLog>>,
    /// HTTP mode: the transaction's SPOE state (engines off after an error).
    pub(crate) spoe: Option<Box<crate::http::spoe::SpoeTxn>>,
    pub(crate) first_byte: Option<Instant>,
    /// HTTP mode: when the server connection of the transaction was ready (`Tr`
    /// counts from there).
    pub(crate) connected: Option<Instant>,
    /// HTTP mode: the transaction's bytes as HAProxy logs them (HTX sizes; see
    /// the `http::htx` module), replacing `bytes` in the record.
    pub(crate) htx: Bytes,
    /// What the TLS handshake settled, on a TLS bind.
    pub(crate) tls: Option<std::sync::Arc<haproxide_expr::TlsSession>>,
    /// An HTTP/2 stream bridged to the HTTP engine (the `http2` module): the
    /// request goes to the server in origin form. `Some(true)` for its
    /// connection's first stream, `Some(false)` for the next ones, which may
    /// take idle server connections as a next HTTP/1 request would (§4.2
    /// `http-reuse safe`); None on HTTP/1.
    pub(crate) h2: Option<bool>,
    /// HTTP mode: the server persistence chose for this request (HAProxy's
    /// `SF_DIRECT`) and whether `force-persist` holds it there.
    pub(crate) direct: Option<(usize, bool)>,
    /// HTTP mode: the hash of the request key of `balance uri|url_param|hdr`.
    pub(crate) lb_hash: Option<u32>,
    /// The session's tracked counters (`track-sc*`), when the configuration
    /// has stick tables.
    pub(crate) stk: Option<Box<haproxide_stick::Tracker>>,
    /// Keys `stick` rules will store with the chosen server (`crate::lb::stick`).
    pub(crate) stick_pending: Vec<crate::lb::stick::Pending>,
    /// The frontend's bind (index) that accepted the connection (`so_name`).
    pub(crate) bind: Option<usize>,
    /// Variables set by TCP rules (`set-var` in `tcp-request content`...);
    /// HTTP mode takes them into its transaction's variables.
    pub(crate) vars: Option<Box<haproxide_http::rules::Vars>>,
}

#[path = "table.rs"]
mod table;
pub(crate) use table::{Facts, Registered, SessionTable};

pub(crate) enum Flow {
    Done([u8; 2]),
    /// HTTP/1 over plain TCP, between two requests: [`run`] parks the session
    /// until the next one (`http::park`), with what the HTTP loop keeps.
    Idle(Option<Box<crate::http::Conn>>),
}

/// A session counted on the process, its frontend and its thread, holding its
/// listener permits. Counted when accepted, before its task is spawned, so that a soft
/// stop waiting for `actconn == 0` never misses a session not started yet (it was
/// reset when the process exited; the reload test saw it); dropping it (the session
/// ended, panicked, or its task never ran) undoes the counting.
pub(crate) struct Live {
    pub(crate) shared: Arc<Shared>,
    pub(crate) fe: usize,
    /// The engine thread it was placed on (counted there by the accept loop).
    pub(crate) thread: Option<usize>,
    pub(crate) _permits: crate::listener::Permits,
}

impl Live {
    pub(crate) fn count(
        shared: &Arc<Shared>,
        fe: usize,
        thread: Option<usize>,
        permits: crate::listener::Permits,
    ) -> Live {
        shared.actconn.fetch_add(1, Ordering::Relaxed);
        if let Some(f) = shared.frontends.get(fe) {
            let n = f.cur.fetch_add(1, Ordering::Relaxed) + 1;
            f.max.fetch_max(n, Ordering::Relaxed);
            f.total.fetch_add(1, Ordering::Relaxed);
            f.conn_rate.hit();
        }
        shared.conn_rate.hit();
        if let Some(t) = thread.and_then(|t| shared.threads.get(t)) {
            t.sessions.fetch_add(1, Ordering::Relaxed);
        }
        Live {
            shared: shared.clone(),
            fe,
            thread,
            _permits: permits,
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(t) = self.thread.and_then(|t| self.shared.threads.get(t)) {
            t.sessions.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(f) = self.shared.frontends.get(self.fe) {
            f.cur.fetch_sub(1, Ordering::Relaxed);
        }
        self.shared.actconn.fetch_sub(1, Ordering::Relaxed);
        self.shared.idle.notify_waiters();
    }
}

/// A session counted on a backend (`beconn`).
pub(crate) struct BeCount(Arc<BackendRt>);

impl Drop for BeCount {
    fn drop(&mut self) {
        self.0.cur.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Outcome of waiting on something while watching the client socket.
pub(crate) enum Race<T> {
    Done(T),
    /// The client aborted (reset or error).
    ClientAbort,
    /// `timeout client` expired.
    ClientTimeout,
}

impl Sess {
    /// A session's state when it begins (a connection in [`run`]; each HTTP/2
    /// stream's transaction in the `http2` module): addresses `(src, dst)`,
    /// begun at `(when, t0)`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        fe: usize,
        (src, dst): (Option<SocketAddr>, Option<SocketAddr>),
        sid: u64,
        kill: Arc<Kill>,
        meter: SessionMeter,
        (at, t0): (SystemTime, Instant),
    ) -> Sess {
        let mut s = Sess {
            shared,
            fe,
            src,
            dst,
            sid,
            kill,
            phase: b'R',
            backend: None,
            slot: None,
            be_count: None,
            server: None,
            tw_start: None,
            tw: -1,
            tc: -1,
            retries: 0,
            redispatched: false,
            bytes: Bytes::default(),
            meter,
            srv_queue: 0,
            backend_queue: 0,
            client_active: t0,
            req: Half::new(),
            silent: false,
            req_at: at,
            req_t0: t0,
            bytes_base: Bytes::default(),
            http_log: None,
            spoe: None,
            first_byte: None,
            connected: None,
            htx: Bytes::default(),
            tls: None,
            h2: None,
            direct: None,
            lb_hash: None,
            stk: None,
            stick_pending: Vec::new(),
            bind: None,
            vars: None,
        };
        s.add_tracker();
        s
    }

    /// Publishes what is left of the session's byte counts (`bin`/`bout`) to the
    /// frontend, the backend and the server chosen by then.
    pub(crate) fn publish_bytes(&mut self) {
        let meters = &self.shared.meters;
        self.meter
            .aim(meters, self.backend.as_ref().map(|b| b.idx), self.server);
        self.meter.publish(meters, &self.bytes);
    }

    /// The end of a session that ended with `term`: `bin`/`bout` of the
    /// frontend, backend and server (the relay published its bytes as they
    /// flowed; what is left, data read before the relay and the last wake-up's,
    /// goes now, to the backend and server chosen by then), then its log line.
    pub(crate) fn finish(&mut self, term: [u8; 2]) {
        self.publish_bytes();
        if let Some(ts) = self.tw_start {
            if self.tw < 0 {
                self.tw = crate::clock::since(ts).as_millis() as i64;
            }
        }
        self.log(term, self.req_at, self.req_t0);
    }
}

impl Sess {
    /// Log the session (or, in HTTP mode, the request) that ends with `term`, begun
    /// at `accepted_at` / `t0`.
    pub(crate) fn log(&mut self, term: [u8; 2], accepted_at: SystemTime, t0: Instant) {
        self.stick_stream_end();
        // §4.2 `option dontlognull`: no log for sessions that received no client byte.
        let fert = &self.shared.frontends[self.fe];
        let null = fert.spec.dont_log_null && self.bytes.from_client == self.bytes_base.from_client;
        if !self.silent && !null {
            let tt = crate::clock::since(t0).as_millis() as i64;
            let (bytes_read, bytes_uploaded) = if self.http_log.is_some() {
                (self.htx.from_server, self.htx.from_client)
            } else {
                (
                    self.bytes.from_server - self.bytes_base.from_server,
                    self.bytes.from_client - self.bytes_base.from_client,
                )
            };
            let mut http = self.http_log.take();
            if let Some(h) = http.as_mut() {
                h.ta = if h.t_req < 0 { -1 } else { tt - h.th - h.ti };
            }
            let (be_name, beconn) = match &self.backend {
                Some(b) => (
                    Some(Cow::Borrowed(&*b.spec.name)),
                    b.cur.load(Ordering::Relaxed),
                ),
                None => (None, 0),
            };
            let (srv_name, srv_conn) = match (&self.backend, self.server) {
                (Some(b), Some(i)) => (
                    b.server(i).map(|x| Cow::Borrowed(&*x.name)),
                    b.server_counts(i).0,
                ),
                _ if http.as_ref().is_some_and(|h| h.from_cache) => {
                    (Some(Cow::Borrowed("<CACHE>")), 0)
                }
                _ => (None, 0),
            };
            let rec = SessionRecord {
                client: self
                    .src
                    .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
                frontend_addr: self.dst,
                accepted_at,
                frontend: Cow::Borrowed(&fert.spec.name),
                backend: be_name,
                server: srv_name,
                tw: self.tw,
                tc: self.tc,
                tt,
                bytes_read,
                bytes_uploaded,
                termination: term,
                actconn: self.shared.actconn.load(Ordering::Relaxed),
                feconn: fert.cur.load(Ordering::Relaxed),
                beconn,
                srv_conn,
                retries: self.retries,
                redispatched: self.redispatched,
                srv_queue: self.srv_queue,
                backend_queue: self.backend_queue,
                http,
                tls: self.tls.clone(),
            };
            self.shared.logger.log(&rec);
            if let Some(h) = rec.http {
                crate::HttpTxnLog::recycle(h);
            }
        }
    }

    pub(crate) fn ctx(&self, final_eval: bool) -> EvalCtx<'_> {
        let fe = &self.shared.frontends[self.fe].spec;
        EvalCtx {
            src: self.src,
            dst: self.dst,
            data: self.req.filled(),
            final_eval,
            tls: self.tls.as_deref(),
            servers: Some(&*self.shared),
            vars: self.vars.as_deref(),
            res: None,
            listener: self
                .bind
                .and_then(|b| fe.binds.get(b))
                .and_then(|b| b.name.as_deref()),
            stick: self.stick_view(&fe.name, haproxide_stick::Level::Content),
        }
    }

    /// Await `fut` while reading what the client sends into the request buffer (so
    /// that an abort is noticed and data is ready to forward). A FIN is not an abort.
    ///
    /// Not an `async fn`: it would hold `fut` beside `watch`'s copy of it.
    pub(crate) fn watch_client<'a, F: Future + 'a>(
        &'a mut self,
        client: &'a mut ClientStream,
        fut: F,
    ) -> impl Future<Output = Race<F::Output>> + 'a {
        let tc = self.shared.frontends[self.fe].light.timeout_client;
        self.watch(client, fut, tc)
    }

    /// §4.2 `option abortonclose` of the session's backend: `fut` (the wait
    /// for the response head) races the client's close, which aborts it; the
    /// client's bytes meanwhile are kept. No client timeout here. Without the
    /// option (or for an HTTP/2 stream, whose request end is no close), `fut`.
    pub(crate) async fn abort_on_close<F: Future>(
        &mut self,
        client: &mut ClientStream,
        fut: F,
    ) -> Race<F::Output> {
        if !self.aborts_on_close(client) {
            return Race::Done(fut.await);
        }
        self.watch(client, fut, None).await
    }

    /// Whether a client's close aborts a waiting request (`option abortonclose`).
    fn aborts_on_close(&self, client: &ClientStream) -> bool {
        !matches!(client, ClientStream::H2(_))
            && self.backend.as_ref().is_some_and(|b| b.spec.abortonclose)
    }

    async fn watch<F: Future>(
        &mut self,
        client: &mut ClientStream,
        fut: F,
        tc: Option<Duration>,
    ) -> Race<F::Output> {
        tokio::pin!(fut);
        // §4.2 `option abortonclose`: the client's close aborts the wait.
        let abort = self.aborts_on_close(client);
        loop {
            let can_read = !self.req.eof && !self.req.is_full();
            // `timeout client` runs while the client may send (HAProxy's armed read
            // timeout on the request channel), also while queued or connecting.
            let expiry = tc.filter(|_| can_read).map(|t| self.client_active + t);
            let far = crate::clock::now() + Duration::from_secs(86400);
            let spare = self.req.spare();
            tokio::select! {
                biased;
                r = &mut fut => return Race::Done(r),
                r = client.read(spare), if can_read => match r {
                    Ok(0) if abort => return Race::ClientAbort,
                    Ok(0) => self.req.eof = true,
                    Ok(n) => {
                        self.req.commit(n);
                        self.bytes.from_client += n as u64;
                        self.client_active = Instant::now();
                    }
                    Err(_) => return Race::ClientAbort,
                },
                _ = tokio::time::sleep_until(expiry.unwrap_or(far)), if expiry.is_some() => {
                    return Race::ClientTimeout;
                }
            }
        }
    }

    pub(crate) async fn body(
        &mut self,
        client: &mut ClientStream,
        accept_proxy: bool,
        tls: Option<(haproxide_tls::Acceptor, usize)>,
        proto_h2: bool,
    ) -> Flow {
        // One reference count, not one per rule list (they are shared).
        let shared = self.shared.clone();
        let fspec = &shared.frontends[self.fe].light;
        // `tcp-request connection` (§4.2): layer 4 only, on the real connection
        // addresses even with `accept-proxy` (§5.1); a reject closes silently.
        if !fspec.tcp_connection_rules.is_empty()
            && self.tcp_rules(&fspec.tcp_connection_rules, &mut 0, true, None) == Ok(Some(false))
        {
            self.silent = true;
            return Flow::Done(*b"PR");
        }
        // A session (HAProxy's `fe_sess_per_sec`, `global.sess_per_sec`).
        self.shared.frontends[self.fe].sess_rate.hit();
        self.shared.sess_rate.hit();

        // PROXY header from the client (§5.1 `accept-proxy`), bounded by `timeout client`.
        // Everything after it (rules, logs, send-proxy) sees the header's addresses.
        if accept_proxy {
            let deadline = fspec.timeout_client.map(|d| Instant::now() + d);
            loop {
                match proxy_proto::parse(self.req.filled()) {
                    proxy_proto::ParseResult::Done(p) => {
                        if let Some((s, d)) = p.addrs {
                            self.src = Some(s);
                            self.dst = Some(d);
                        }
                        self.req.consume(p.len);
                        // The header is not client payload.
                        self.bytes.from_client =
                            self.bytes.from_client.saturating_sub(p.len as u64);
                        break;
                    }
                    proxy_proto::ParseResult::Invalid => {
                        self.silent = true;
                        return Flow::Done(*b"PR");
                    }
                    proxy_proto::ParseResult::Incomplete => {}
                }
                if self.req.eof || self.req.is_full() {
                    self.silent = true;
                    return Flow::Done(*b"CR");
                }
                let read = client.read(self.req.spare());
                let r = match deadline {
                    Some(d) => match tokio::time::timeout_at(d, read).await {
                        Ok(r) => r,
                        Err(_) => {
                            self.silent = true;
                            return Flow::Done(*b"cR");
                        }
                    },
                    None => read.await,
                };
                match r {
                    Ok(0) => self.req.eof = true,
                    Ok(n) => {
                        self.req.commit(n);
                        self.bytes.from_client += n as u64;
                        self.client_active = Instant::now();
                    }
                    Err(_) => {
                        self.silent = true;
                        return Flow::Done(*b"CR");
                    }
                }
            }
        }

        // TLS (§5.1 `ssl`): the handshake, bounded by `timeout client`; a failed or
        // timed-out handshake is logged as HAProxy logs a connection error, not as
        // a session.
        if let Some((acc, bind)) = tls {
            // Boxed: the handshake's state (about 3 KB) would otherwise be part of
            // every session's future, TLS or not, for the session's whole life.
            if let Err((t, reason)) =
                Box::pin(self.handshake(client, &acc, fspec.timeout_client)).await
            {
                self.silent = true;
                self.conn_error(bind, reason);
                return Flow::Done(t);
            }
        }

        // `tcp-request content` with `tcp-request inspect-delay` (§4.2).
        if !fspec.tcp_content_rules.is_empty() {
            let deadline = fspec.inspect_delay.map(|d| Instant::now() + d);
            let mut at = 0;
            loop {
                let final_eval = deadline.is_none_or(|d| Instant::now() >= d)
                    || self.req.eof
                    || self.req.is_full();
                match self.tcp_rules(&fspec.tcp_content_rules, &mut at, final_eval, None) {
                    Ok(Some(false)) => return Flow::Done(*b"PR"),
                    Ok(_) => break,
                    Err(()) if final_eval => break,
                    Err(()) => {}
                }
                let Some(d) = deadline else { break };
                let read = client.read(self.req.spare());
                let cto = fspec.timeout_client.map(|t| Instant::now() + t);
                let until = match cto {
                    Some(c) if c < d => c,
                    _ => d,
                };
                match tokio::time::timeout_at(until, read).await {
                    Ok(Ok(0)) => self.req.eof = true,
                    Ok(Ok(n)) => {
                        self.req.commit(n);
                        self.bytes.from_client += n as u64;
                        self.client_active = Instant::now();
                    }
                    Ok(Err(_)) => return Flow::Done(*b"CR"),
                    Err(_) => {
                        if cto.is_some_and(|c| c <= Instant::now() && c < d) {
                            return Flow::Done(*b"cR");
                        }
                    }
                }
            }
        }

        // `mode http`: the HTTP session loop (the `http` module) takes over.
        if self.shared.frontends[self.fe].spec.http.is_some() {
            // HTTP/2: `proto h2` (prior knowledge) or ALPN `h2` (§5.1).
            if proto_h2 || self.tls.as_ref().and_then(|t| t.alpn.as_deref()) == Some(b"h2") {
                return Box::pin(self.h2_session(client)).await;
            }
            // Boxed: the HTTP loop's state would otherwise size every TCP
            // session's future too. It ends when the connection goes idle
            // (parked); a plain TCP one holds its first exchange in the same
            // box (a connection closed after one request: one box, not two).
            // Built in its box (`sys::box_write`), not copied into it.
            if matches!(client, ClientStream::Tcp(_)) {
                let slot = Box::new_uninit();
                let fut = crate::sys::box_write(slot, self.http_loop_parked(client, None, true));
                return Box::into_pin(fut).await;
            }
            return Box::pin(self.http_loop(client, None, true, true)).await;
        }

        // Backend switching rules (§4.2 `use_backend`, `default_backend`).
        let mut chosen = None;
        for (b, cond) in fspec.use_backends.iter() {
            if eval_cond(cond.as_ref(), &self.ctx(true)) == Tri::Pass {
                chosen = Some(*b);
                break;
            }
        }
        let Some(be) = chosen
            .or(fspec.default_backend)
            .and_then(|b| self.switch_backend(b))
        else {
            return Flow::Done(*b"SC");
        };
        // Boxed like the HTTP loop: the task is sized for its largest state, and
        // this one (608 bytes) would otherwise be paid by every idle HTTP
        // keep-alive connection too; a TCP session pays it once either way.
        Box::pin(self.connect_and_relay(client, &be, fspec)).await
    }

    /// Counts the session (in HTTP mode: the request) on backend `b`.
    pub(crate) fn switch_backend(&mut self, b: usize) -> Option<Arc<BackendRt>> {
        let be = self.shared.backends.get(b).cloned()?;
        let n = be.cur.fetch_add(1, Ordering::Relaxed) + 1;
        be.max.fetch_max(n, Ordering::Relaxed);
        be.total.fetch_add(1, Ordering::Relaxed);
        be.sess_rate.hit();
        self.backend = Some(be.clone());
        self.kill.set_backend(b);
        self.be_count = Some(BeCount(be.clone()));
        Some(be)
    }

    /// HAProxy's connection-error log line for a connection that never became
    /// a session (§8.2.6). `option dontlognull` drops all but the failures
    /// (measured: HAProxy 2.6.12 then logs neither a closed nor a timed-out
    /// handshake, even one that sent a partial record).
    fn conn_error(&self, bind: usize, reason: &str) {
        let fert = &self.shared.frontends[self.fe];
        if fert.spec.dont_log_null && reason != "SSL handshake failure" {
            return;
        }
        let name = fert.spec.binds.get(bind).and_then(|b| b.name.clone());
        let bind = name.unwrap_or_else(|| (bind + 1).to_string());
        self.shared.logger.conn_error(&crate::ConnError {
            client: self.src,
            accepted_at: self.req_at,
            frontend: &fert.spec.name,
            bind: &bind,
            reason,
        });
    }

    /// Replace `client` by its TLS stream; on failure the termination state and
    /// HAProxy's reason (conn_err_code_str).
    async fn handshake(
        &mut self,
        client: &mut ClientStream,
        acc: &haproxide_tls::Acceptor,
        timeout: Option<Duration>,
    ) -> Result<(), ([u8; 2], &'static str)> {
        const TIMEOUT: ([u8; 2], &str) = (*b"cR", "Timeout during SSL handshake");
        let deadline = timeout.map(|t| Instant::now() + t);
        // Bytes read after a PROXY header belong to the handshake, and are not
        // client payload (that is counted decrypted).
        let pre = self.req.filled().to_vec();
        self.req.consume(pre.len());
        self.bytes.from_client = self.bytes.from_client.saturating_sub(pre.len() as u64);
        let plain = std::mem::replace(client, ClientStream::Closed);
        let hs = acc.accept(haproxide_tls::Prefixed::new(pre, plain));
        let r = match deadline {
            Some(d) => tokio::time::timeout_at(d, hs).await.map_err(|_| TIMEOUT)?,
            None => hs.await,
        };
        // A client that closes before the handshake is complete is HAProxy's
        // "Connection closed during SSL handshake"; anything else that fails
        // (garbage, no common cipher...), a "failure".
        let (stream, info) = r.map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => (*b"CR", "Connection closed during SSL handshake"),
            _ => (*b"CR", "SSL handshake failure"),
        })?;
        *client = ClientStream::Tls(Box::new(stream));
        self.client_active = Instant::now();
        self.tls = Some(Arc::new(haproxide_expr::TlsSession {
            sni: info.sni,
            alpn: info.alpn,
            version: info.version,
            cipher: info.cipher,
            client: info.client,
            frontend: info.frontend,
        }));
        Ok(())
    }

    /// The bytes a TLS client's records already gave (its first bytes often
    /// arrive with its Finished, decrypted by the handshake's last read), moved
    /// into the request buffer and copied out, so that they go with the connect
    /// to a plain TCP server (`connect::start`: no wait for the connection, no
    /// `getsockopt(SO_ERROR)`); None when there are none or the buffer already
    /// holds data (inspected by `tcp-request content`), which the relay sends.
    fn decrypted_ahead(&mut self, client: &mut ClientStream) -> Option<Vec<u8>> {
        if !self.req.filled().is_empty() || self.req.eof {
            return None;
        }
        let n = client.take_decrypted(self.req.spare());
        if n == 0 {
            self.req.release_if_empty();
            return None;
        }
        self.req.commit(n);
        self.bytes.from_client += n as u64;
        self.client_active = Instant::now();
        Some(self.req.filled().to_vec())
    }

    async fn connect_and_relay(
        &mut self,
        client: &mut ClientStream,
        be: &Arc<BackendRt>,
        fspec: &FeLight,
    ) -> Flow {
        let mut early = self.decrypted_ahead(client);
        let ahead = early.as_ref().map_or(0, Vec::len);
        let mut server = match self
            .connect_server(
                client,
                be,
                &mut Vec::new(),
                crate::http::pool::Take::None,
                None,
                early.as_mut(),
            )
            .await
        {
            Ok((s, _)) => s,
            Err(term) => return Flow::Done(term),
        };
        // What went with the connect leaves the request buffer; the rest is
        // the relay's to send.
        if let Some(rest) = early {
            self.req.consume(ahead - rest.len().min(ahead));
        }
        if !be.spec.tcp_response_rules.is_empty() {
            if let Err(term) = Box::pin(self.tcp_response_rules(client, &mut server, be)).await {
                return Flow::Done(term);
            }
        }
        let srv = self.server.unwrap_or(0);
        let splice = !self.shared.no_splice;
        let term = self
            .relay_to(client, &mut server, be, fspec, Some(srv), splice)
            .await;
        Flow::Done(term)
    }

    /// Bytes both ways between the client and a connected server until either side
    /// ends: a TCP session's data phase, and an HTTP tunnel after a 101. `timeout
    /// tunnel` takes over from client/server (§4.2); the live meters count against
    /// the backend and `srv`.
    pub(crate) async fn relay_to(
        &mut self,
        client: &mut ClientStream,
        server: &mut ServerStream,
        be: &BackendRt,
        fe: &FeLight,
        srv: Option<usize>,
        splice: bool,
    ) -> [u8; 2] {
        let bspec = &be.spec;
        let t = RelayTimeouts {
            client: bspec.timeout_tunnel.or(fe.timeout_client),
            server: bspec.timeout_tunnel.or(bspec.timeout_server),
            client_fin: fe.timeout_client_fin,
            server_fin: bspec.timeout_server_fin,
            splice,
        };
        let shared = self.shared.clone();
        self.meter.aim(&shared.meters, Some(be.idx), srv);
        let mut publish = Publisher {
            meters: &shared.meters,
            session: &mut self.meter,
        };
        relay(
            client,
            server,
            &mut self.req,
            t,
            &mut self.bytes,
            self.client_active,
            &mut publish,
        )
        .await
    }

    /// Server assignment (through the queues), connect with `retries` and `option
    /// redispatch`, then `send-proxy`: the part shared by TCP and HTTP sessions.
    /// An idle HTTP connection in `reuse` to the assigned server is taken instead of
    /// connecting (the bool says so). Errors are the termination state. `sni_ctx`
    /// is what a server's `sni` expression reads (the HTTP request); None: the
    /// TCP session.
    pub(crate) async fn connect_server(
        &mut self,
        client: &mut ClientStream,
        be: &Arc<BackendRt>,
        reuse: &mut Vec<Reuse>,
        shared: crate::http::pool::Take,
        sni_ctx: Option<&(dyn haproxide_expr::Context + Sync)>,
        mut early: Option<&mut Vec<u8>>,
    ) -> Result<(ServerStream, bool), [u8; 2]> {
        let bspec = &be.spec;
        let tconn = bspec.timeout_connect.unwrap_or(DEFAULT_TIMEOUT_CONNECT);
        let tqueue = bspec.timeout_queue.unwrap_or(tconn);
        let client_ip: Option<IpAddr> = self.src.map(|a| a.ip());
        let mut avoid = None;
        let mut tc_start = crate::clock::now();
        let mut proxy_sent;
        // §4.2 `stick match|on|store-request`, once, before the server choice.
        if self.slot.is_none() && bspec.stick.is_some() {
            self.stick_request(be, sni_ctx.map(|c| c as &dyn haproxide_expr::Context));
        }
        let server: ServerStream = loop {
            // Server assignment, possibly through a queue.
            if self.slot.is_none() {
                self.phase = b'Q';
                if self.tw_start.is_none() {
                    self.tw_start = Some(crate::clock::now());
                }
                let assigned = match self.direct {
                    Some((s, _)) => be.assign_to(s, self.sid, &self.kill),
                    None => be.assign(client_ip, self.lb_hash, avoid, self.sid, &self.kill),
                };
                match assigned {
                    Assign::Server(slot) => self.slot = Some(slot),
                    Assign::NoServer => {
                        self.tw = -1;
                        self.tw_start = None;
                        return Err(*b"SC");
                    }
                    // §4.2 `option redispatch`: a cookie's server whose queue is
                    // full is left for another (HAProxy's SRV_STATUS_FULL case).
                    Assign::QueueFull
                        if matches!(self.direct, Some((_, false))) && bspec.redispatch =>
                    {
                        self.direct = None;
                        continue;
                    }
                    Assign::QueueFull => return Err(*b"SQ"),
                    Assign::Queued(mut ticket) => {
                        let (sid, kill) = (self.sid, self.kill.clone());
                        let deadline = Instant::now() + tqueue;
                        let wait = async {
                            loop {
                                // Poll for slots that opened without a release (a
                                // server back up, a larger dynamic maxconn).
                                let tick = Instant::now() + Duration::from_millis(200);
                                match tokio::time::timeout_at(
                                    tick.min(deadline),
                                    ticket.wait(sid, &kill),
                                )
                                .await
                                {
                                    Ok(r) => return r,
                                    Err(_) if Instant::now() >= deadline => return None,
                                    Err(_) => ticket.kick_if_head(),
                                }
                            }
                        };
                        let res = Box::pin(self.watch_client(client, wait)).await;
                        let ahead = match &res {
                            Race::Done(Some(_)) => ticket.ahead,
                            _ => ticket.processed_ahead(),
                        };
                        match ticket.srv {
                            Some(_) => self.srv_queue += ahead,
                            None => self.backend_queue += ahead,
                        }
                        match res {
                            Race::Done(Some(slot)) => self.slot = Some(slot),
                            Race::Done(None) => return Err(*b"sQ"),
                            Race::ClientAbort => return Err(*b"CQ"),
                            Race::ClientTimeout => return Err(*b"cQ"),
                        }
                    }
                }
            }
            let Some(srv) = self.slot.as_ref().map(|s| s.srv) else {
                return Err(*b"SC");
            };
            if let Some(ts) = self.tw_start {
                self.tw = self.tw.max(0) + crate::clock::since(ts).as_millis() as i64;
                self.tw_start = None;
                // §8.4 `Tc` counts from leaving the queue, retries included.
                tc_start = crate::clock::now();
            }
            self.server = Some(srv);
            self.phase = b'C';
            // An idle connection of this session to the same server (`http-reuse
            // safe`: a session's own connection), if the server did not close it.
            if let Some(i) = reuse.iter().position(|r| r.be == be.idx && r.srv == srv) {
                let mut r = reuse.swap_remove(i);
                if r.stream.alive() {
                    self.tc = 0;
                    return Ok((r.stream, true));
                }
            }
            // One of the server's idle connections on this thread (`http-reuse`).
            if let Some(stream) = crate::http::pool::take(be, srv, shared) {
                self.tc = 0;
                return Ok((stream, true));
            }
            // §5.2 `proto h2` / `alpn h2`: a stream on the server's HTTP/2
            // connection (http2/upstream.rs).
            if let Some(stream) = crate::http2::upstream::take(be, srv, shared) {
                self.tc = 0;
                return Ok((stream, true));
            }
            // A server index always names an entry (the table never shrinks).
            let Some(sspec) = be.server(srv) else {
                return Err(*b"SC");
            };
            let port = match sspec.port {
                ServerPort::Fixed(p) => p,
                ServerPort::SameAsClient => self.dst.map(|d| d.port()).unwrap_or(0),
                ServerPort::Offset(o) => {
                    (self.dst.map(|d| d.port() as i32).unwrap_or(0) + o).clamp(0, 65535) as u16
                }
            };
            // §5.2 `server`: address 0.0.0.0 (or `*`) means the address the client
            // connected to.
            let ip = match (sspec.ip.is_unspecified(), self.dst) {
                (true, Some(d)) => d.ip(),
                _ => sspec.ip,
            };
            let addr = SocketAddr::new(ip, port);
            let tls = sspec.tls.as_ref().map(|t| {
                let sni = t.sni.as_ref().and_then(|e| match sni_ctx {
                    Some(c) => sni_value(e, c),
                    None => sni_value(e, &self.eval_ctx()),
                });
                (t.connector.clone(), sni)
            });
            // §5.2 `send-proxy` before a TLS handshake: the header goes in clear.
            let header = tls
                .as_ref()
                .and_then(|_| self.proxy_header(be.server(srv).map(|x| x.send_proxy)));
            proxy_sent = header.is_some();
            let unix = sspec.unix.clone();
            let (unix_tls, tls) = match unix {
                Some(_) => (Some((tls, header)), (None, None)),
                None => (None, (tls, header)),
            };
            let via = Via {
                addr,
                socks4: sspec.socks4,
                source: sspec.source,
                keepalive: bspec.tcp_keepalive,
            };
            // §2.3 a UNIX-socket server (`/path`, `unix@path`): no TCP; TLS over
            // it with `ssl`.
            let h2 = crate::http2::upstream::Want::of(be, srv);
            // The request's first bytes go with the connect on a plain TCP
            // connection that carries nothing before them (see `connect`).
            let plain = tls.0.is_none()
                && unix.is_none()
                && h2.is_none()
                && via.socks4.is_none()
                && sspec.send_proxy == SendProxy::None;
            // Opened here, without a future, when the head went with the
            // connect (the usual case); else only the wait for it is left.
            let (fast, opening) = match early.as_deref_mut().filter(|_| plain) {
                None => (None, None),
                Some(head) => match crate::connect::start(&via, head) {
                    Ok(Started::Up(s)) => (Some(Ok(ServerStream::Tcp(s))), None),
                    Ok(Started::Opening(s)) => (None, Some(s)),
                    Err(e) => (Some(Err(e)), None),
                },
            };
            let res = match fast {
                Some(r) => Ok(r),
                None => {
                    // Each future is made where it is awaited (one awaited from a
                    // variable is stored twice), and the rare kinds are boxed: this
                    // future is as large as its largest state, and it is moved whole
                    // into its box at every connect (11,488 bytes and 11.5k
                    // instructions of memcpy per connection before;
                    // bench/http1-callgrind.sh CLOSE=1).
                    let attempt = async move {
                        if let Some(s) = opening {
                            return crate::connect::opened(s).await.map(ServerStream::Tcp);
                        }
                        let s = match (unix, unix_tls) {
                            (Some(p), Some((tls, header))) => {
                                Box::pin(connect_unix(&p, header, tls, ip)).await
                            }
                            _ => connect_tls(via, tls.1, tls.0, ip).await,
                        };
                        match h2 {
                            Some(w) => Box::pin(w.open(s)).await,
                            None => s,
                        }
                    };
                    // Boxed, as the other waits before the data phase: the session's
                    // task is sized for its largest state, and an idle session sits in
                    // the relay for hours (864 of its 1,952 bytes were this connect's
                    // state).
                    let wait = crate::clock::timeout(tconn, attempt);
                    match Box::pin(self.watch_client(client, wait)).await {
                        Race::Done(r) => r,
                        Race::ClientAbort => return Err(*b"CC"),
                        Race::ClientTimeout => return Err(*b"cC"),
                    }
                }
            };
            let refused = match res {
                Ok(Ok(stream)) => {
                    self.tc = crate::clock::since(tc_start).as_millis() as i64;
                    // §4.2 `stick store-*`: a TCP stream stores once connected
                    // (HTTP: on the response's head).
                    if sni_ctx.is_none() && !self.stick_pending.is_empty() {
                        self.stick_store(be, None);
                    }
                    break stream;
                }
                Ok(Err(_)) => true,
                Err(_) => false,
            };
            // §4.2 `retries`: after `retries` failed retries, give up.
            if self.retries >= bspec.retries {
                return Err(if refused { *b"SC" } else { *b"sC" });
            }
            self.retries += 1;
            // §4.2 `option redispatch`: by default the last retry goes to another
            // server; with a non-deterministic algorithm (round robin) and more than one
            // active server, every retry does; so does a retry after the server went down.
            let rr_kind = matches!(bspec.balance, Balance::RoundRobin | Balance::StaticRr);
            let srv_act = be.active_usable();
            let redisp = bspec.redispatch
                && (!be_usable(be, srv)
                    || self.retries == bspec.retries
                    || (srv_act > 1 && rr_kind));
            // A persistence cookie's server is left too, unless `force-persist`.
            let redisp = redisp && !matches!(self.direct, Some((_, true)));
            if redisp {
                self.direct = None;
                self.slot = None;
                avoid = Some(srv);
                self.redispatched = true;
            }
            // A refused connection is retried after min(1 s, timeout connect), unless it
            // goes to another server of a round-robin farm (HAProxy's turn-around timer).
            if refused && (!redisp || !rr_kind || srv_act <= 1) {
                let pause = tconn.min(Duration::from_secs(1));
                match Box::pin(self.watch_client(client, tokio::time::sleep(pause))).await {
                    Race::Done(()) => {}
                    Race::ClientAbort => return Err(*b"CC"),
                    Race::ClientTimeout => return Err(*b"cC"),
                }
            }
        };
        let mut server = server;
        self.phase = b'D';
        let srv = self.server.unwrap_or(0);
        // §5.2 `send-proxy`, `send-proxy-v2`: the header goes first, before any payload.
        let header = match proxy_sent {
            true => None,
            false => self.proxy_header(be.server(srv).map(|x| x.send_proxy)),
        };
        if let Some(h) = header {
            let w = server.write_all(&h);
            let ok = match bspec.timeout_server {
                Some(t) => matches!(tokio::time::timeout(t, w).await, Ok(Ok(()))),
                None => w.await.is_ok(),
            };
            if !ok {
                return Err(*b"SD");
            }
        }
        Ok((server, false))
    }

    /// The `send-proxy` / `send-proxy-v2` header for this session (§5.2).
    fn proxy_header(&self, kind: Option<SendProxy>) -> Option<Vec<u8>> {
        match kind.unwrap_or(SendProxy::None) {
            SendProxy::None => None,
            SendProxy::V1 => Some(proxy_proto::v1_header(self.src, self.dst)),
            SendProxy::V2 => Some(proxy_proto::v2_header(self.src, self.dst)),
        }
    }

    /// A copy of the client's TLS session when a server of `be` has an `sni`
    /// expression (the request's context borrows it while the session connects).
    pub(crate) fn tls_for_sni(
        &self,
        be: &BackendRt,
    ) -> Option<std::sync::Arc<haproxide_expr::TlsSession>> {
        let t = self.tls.as_ref()?;
        (0..be.server_count())
            .any(|i| {
                be.server(i)
                    .is_some_and(|s| s.tls.as_ref().is_some_and(|x| x.sni.is_some()))
            })
            .then(|| t.clone())
    }

    /// What a TCP session's expressions see (a server's `sni`).
    fn eval_ctx(&self) -> EvalCtx<'_> {
        self.ctx(true)
    }
}

/// The SNI a server's `sni` expression gives (none when empty or absent).
fn sni_value(e: &haproxide_expr::SampleExpr, ctx: &dyn haproxide_expr::Context) -> Option<String> {
    let v = e.value(ctx)?.cast(haproxide_expr::SmpType::Str)?;
    let b = v.bytes()?;
    (!b.is_empty()).then(|| String::from_utf8_lossy(b).into_owned())
}

/// An idle server connection kept by an HTTP session between requests.
pub(crate) struct Reuse {
    pub(crate) be: usize,
    pub(crate) srv: usize,
    pub(crate) stream: ServerStream,
}

fn be_usable(be: &BackendRt, s: usize) -> bool {
    be.server(s).is_some_and(|x| x.weight > 0 && !x.disabled) && be.server_usable(s)
}

/// The frontend fields a session needs, cloned once (rules are shared via Arc).
#[derive(Clone)]
pub(crate) struct FeLight {
    pub timeout_client: Option<Duration>,
    pub timeout_client_fin: Option<Duration>,
    pub inspect_delay: Option<Duration>,
    pub tcp_connection_rules: Arc<Vec<crate::spec::TcpRule>>,
    pub tcp_content_rules: Arc<Vec<crate::spec::TcpRule>>,
    pub use_backends: Arc<Vec<(usize, Option<crate::spec::Cond>)>>,
    pub dyn_backends: Arc<Vec<crate::spec::DynBackend>>,
    pub default_backend: Option<usize>,
}
