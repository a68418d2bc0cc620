//! haproxide-forward: HAProxy's TCP mode. It runs listeners, picks a backend and a
//! server, relays the bytes, and keeps a per-server session registry.
//!
//! It takes plain [`spec`] structs and never sees the configuration crate.
//! Health comes in through [`ServerHealth`], and finished sessions go out through
//! [`SessionLogger`]. `haproxide-server` wires both to the check crate and to the logs.
//!
//! # Behaviour, with the HAProxy 2.6 reference (doc/configuration.txt)
//!
//! - Listeners (§4.2 `bind`, §5.1): TCP sockets get `SO_REUSEADDR` and `SO_REUSEPORT`
//!   so that a new process binds while the old one listens; `v6only`; `backlog`
//!   (default: the frontend's, else global maxconn); UNIX sockets (bound under a
//!   temporary name, then renamed into place); `fd@N` (checked to be an open, listening
//!   stream socket, else a [`StartError`] and the descriptor is left alone);
//!   `option tcp-smart-accept` (§4.2; [`spec::BindSpec::smart_accept`]): TCP_QUICKACK
//!   off on the listener, so the client's first data is acknowledged with the reply.
//! - Limits (§3.2 `maxconn`, §4.2 `maxconn`, §5.1 `maxconn`): a listener accepts only
//!   while it holds a slot of every limit; beyond them connections wait in the kernel
//!   backlog (never accepted and closed).
//! - Rules (§4.2 `tcp-request connection|content`, `tcp-request inspect-delay`, §7):
//!   three-valued evaluation as HAProxy's; a rule that needs more data waits up to the
//!   inspect delay. `req.ssl_sni`, `req.ssl_hello_type`, `req.len` look at the bytes
//!   read so far (at most [`BUFSIZE`]). A `tcp-request connection reject` closes without
//!   a log; a content reject logs `PR`.
//! - Backend: `use_backend` rules in order, then `default_backend`; none: close (`SC`).
//! - Server choice (§4.2 `balance`, `hash-type`, §5.2 `backup`, `weight`, `maxconn`,
//!   `maxqueue`, `minconn`): see [`Balance`]. Only usable (per [`ServerHealth`]), not
//!   `disabled`, weight > 0 servers are chosen; backups only when no active server is
//!   usable (the first one, or all with `option allbackups`). With no usable server the
//!   session closes at once with `SC` — as HAProxy 2.6, whose `assign_server()`
//!   returns `SRV_STATUS_NOSRV` when the backend's total weight is 0; it does not
//!   queue. When every usable server is full, the session waits in the backend queue
//!   (FIFO) until a slot frees or `timeout queue` (default `timeout connect`) expires:
//!   `sQ`. With `balance source` the session queues on its server; a full `maxqueue`
//!   closes with `SQ`.
//! - Connect (§4.2 `retries`, `option redispatch`, `timeout connect`): a failed
//!   attempt is retried up to `retries` times. After a refused connection (not after a
//!   timeout) HAProxy waits min(1 s, `timeout connect`) before retrying the same server
//!   (its "turn-around timer"); so do we. With `option redispatch`, the last retry goes
//!   to another server, and with round robin and more than one usable active server
//!   every retry does, without the pause. Failure: `SC` (refused/error) or `sC` (timeout).
//!   Without `timeout connect` we bound connects to [`DEFAULT_TIMEOUT_CONNECT`].
//! - Server options (§5.2): `send-proxy` / `send-proxy-v2` (doc/proxy-protocol.txt
//!   bytes; `UNKNOWN`/`LOCAL` for UNIX clients), `source`, port `+N`/none; `option
//!   srvtcpka`/`clitcpka` set `SO_KEEPALIVE`; `TCP_NODELAY` on both sides.
//! - Relay (§4.2 `timeout client|server|tunnel|client-fin|server-fin`): half-close
//!   propagates in both directions; a socket's inactivity timer is refreshed by
//!   traffic in either direction (HAProxy without `option independent-streams`) and
//!   runs only while that side may still send (not shut, buffer not full) or has data
//!   waiting for it (HAProxy's armed read/write expirations): a server that closed
//!   and has nothing left to receive never times out;
//!   `timeout tunnel` replaces the client and server timeouts once connected (§4.2: "In
//!   TCP, this timeout is used as soon as no analyzer remains attached"); after a
//!   half-close the `-fin` timeouts, when set, replace them. Buffers are [`BUFSIZE`]
//!   per direction and released while a session is idle.
//! - Termination states (§8.5): first letter `C`/`S` (client/server abort or error),
//!   `c`/`s` (client/server-side timeout), `P` (proxy rule), `D` (cut because the
//!   server went DOWN), `U` (backup cut because an active server came UP), `K`
//!   (killed by an admin or a stop), `-` normal; second letter `R` (before a backend was chosen:
//!   PROXY header, inspection), `Q` (queue), `C` (connect), `D` (data), `-`.
//! - Logs: one [`SessionRecord`] per session, except `tcp-request connection` rejects,
//!   connections closed during the `accept-proxy` handshake, and, with `option
//!   dontlognull` (§4.2), sessions that received no client byte.
//!
//! # Wiring (for `haproxide-server`)
//!
//! - Health: [`ServerHealth::usable`] (UP, not MAINT/DRAIN) and optionally
//!   [`ServerHealth::weight`] (agent-check weights). On a DOWN transition with
//!   `on-marked-down shutdown-sessions` call [`Engine::shutdown_server_sessions`]
//!   (`DD`); on UP with `on-marked-up shutdown-backup-sessions`,
//!   [`Engine::shutdown_backup_sessions`] (`UD`); an admin's cut is
//!   [`Engine::kill_server_sessions`] (`KD`). After an UP transition,
//!   [`Engine::wake_queues`] hands free slots to queued sessions at once.
//! - Reloads: hand [`Engine::listening_fds`] to the new process (it binds them as
//!   [`ListenAddr::Fd`]), then [`Engine::release_listeners`] and [`Engine::soft_stop`].
//!   Without fd passing, [`Engine::soft_stop`] shuts the listeners down and the kernel
//!   resets connections still queued on them.
//! - Stops: [`Engine::soft_stop`] (SIGUSR1, bounded by `hard-stop-after`),
//!   [`Engine::hard_stop`] (SIGTERM); dropping the engine hard-stops it.

#![deny(unsafe_code)]

mod clock;
mod connect;
mod dynamic;
mod gather;
mod http;
mod http2;
pub mod httpstats;
mod lb;
mod listener;
mod meter;
pub mod peers;
mod proxy_proto;
mod relay;
pub mod rules;
mod server_stream;
mod session;
pub mod spec;
mod splice;
mod switching;
#[allow(unsafe_code)]
pub mod sys;
mod task;
mod tcprules;
mod track;
mod txnlog;
mod workers;

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

pub use http::idle::{idle_connections_held, idle_heap_trims};
pub use http::pool::PoolStats;
pub use http2::{H2Io, H2Spec};
pub use httpstats::HttpStats;
pub use lb::DelServerError;
use lb::{BackendRt, Signal};
pub use meter::RateSnapshot;
pub use proxy_proto::{
    parse as parse_proxy_header, v1_header as proxy_v1_header, v2_header as proxy_v2_header,
    ParseResult as ProxyParse, Parsed as ProxyHeader,
};
pub use relay::{buffers_held, ClientStream, BUFSIZE};
pub use server_stream::ServerStream;
pub use session::DEFAULT_TIMEOUT_CONNECT;

pub use spec::*;
pub use txnlog::{CaptureSlot, CaptureSpec, Captures, HttpTxnLog, SessionRecord, LOGURILEN};

/// Pipes in use for splice(2) and the most the process allows (`show info`'s
/// `PipesUsed` and `Maxpipes`).
pub fn pipes() -> (usize, usize) {
    splice::usage()
}

/// Whether a server may receive new sessions now (UP and not in maintenance or drain).
/// Indexes are positions in [`EngineSpec::backends`] and [`BackendSpec::servers`].
pub trait ServerHealth: Send + Sync + 'static {
    fn usable(&self, backend: usize, server: usize) -> bool;

    /// The server's current weight when it differs from the configured one (an
    /// agent-check reply such as `50%`, `set weight`); `None` keeps the configured
    /// weight. Dynamic algorithms (`roundrobin`, `leastconn`, `first`, `random`)
    /// follow it; `static-rr` and hashing keep the configured weight, as HAProxy. A
    /// weight of 0 stops new sessions to the server (drain).
    fn weight(&self, backend: usize, server: usize) -> Option<u32> {
        let _ = (backend, server);
        None
    }

    /// The server is not usable only because its first health check has not concluded
    /// yet (checked servers start DOWN). While a backend has no usable server but one
    /// such server, a new session waits in the backend queue (bounded by `timeout
    /// queue`, else `timeout connect`) instead of being closed: it goes as soon as a
    /// server comes UP. A deviation from HAProxy, which has no pending state (2.6 starts
    /// servers UP; 3.1's `init-state down` closes such sessions): see docs/patroni.md.
    fn pending(&self, backend: usize, server: usize) -> bool {
        let _ = (backend, server);
        false
    }
}

/// Answers the connections of a frontend whose [`FrontendSpec::service`] is set,
/// instead of forwarding them (HAProxy's applets: the stats page, the Prometheus
/// exporter). The engine accepts, counts and limits these connections like any
/// other; a hard stop drops the returned future (closing the connection).
pub trait Service: Send + Sync + 'static {
    fn serve(
        &self,
        conn: ServiceConn,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
}

/// An accepted connection handed to a [`Service`].
pub struct ServiceConn {
    pub stream: ClientStream,
    /// The client's address (None for UNIX sockets).
    pub peer: Option<SocketAddr>,
    /// The address the client reached.
    pub local: Option<SocketAddr>,
    /// Resolves when the engine starts stopping.
    pub stop: StopSignal,
}

/// Tells a [`Service`] that the engine is stopping (soft stop): it should finish the
/// exchange in progress and close (HAProxy closes idle keep-alive connections).
pub struct StopSignal(Arc<Shared>);

impl StopSignal {
    /// Resolves once a soft or hard stop began.
    pub async fn wait(&self) {
        tokio::select! {
            _ = self.0.soft.wait() => {}
            _ = self.0.stop.wait() => {}
        }
    }
}

/// Every server is always usable (no health checks).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysUp;

impl ServerHealth for AlwaysUp {
    fn usable(&self, _backend: usize, _server: usize) -> bool {
        true
    }
}

/// Why a session was cut from outside its own flow: the first letter of its
/// termination state (configuration.txt §8.5, "Session state at disconnection").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutReason {
    /// `K`: an admin's request (`shutdown sessions`) or a hard stop.
    Killed,
    /// `D`: its server was marked DOWN (`on-marked-down shutdown-sessions`).
    ServerDown,
    /// `U`: a backup server's session, cut when an active server came up
    /// (`on-marked-up shutdown-backup-sessions`).
    BackupCut,
}

impl CutReason {
    /// The termination state's first letter.
    pub fn letter(self) -> u8 {
        match self {
            CutReason::Killed => b'K',
            CutReason::ServerDown => b'D',
            CutReason::BackupCut => b'U',
        }
    }
}

/// Receives each finished session.
pub trait SessionLogger: Send + Sync + 'static {
    fn log(&self, record: &SessionRecord<'_>);
    /// Whether `frontend`'s log lines use the HTTP request line (HAProxy's
    /// `LW_REQ`): when not, the engine need not copy it into
    /// [`HttpTxnLog::request_line`].
    fn wants_request_line(&self, _frontend: &str) -> bool {
        true
    }
    /// A connection that ended before it became a session (a failed TLS
    /// handshake): HAProxy's connection-error line (§8.2.6 "error log").
    fn conn_error(&self, _e: &ConnError<'_>) {}
}

/// What HAProxy's connection-error log line says (§8.2.6):
/// `<client>:<port> [<accept date>] <frontend>/<bind>: <reason>`.
#[derive(Debug, Clone)]
pub struct ConnError<'a> {
    pub client: Option<SocketAddr>,
    pub accepted_at: SystemTime,
    pub frontend: &'a str,
    /// The bind's `name`, else its number in the frontend (from 1).
    pub bind: &'a str,
    /// `SSL handshake failure`, `Timeout during SSL handshake`, `Connection
    /// closed during SSL handshake` (HAProxy's conn_err_code_str).
    pub reason: &'a str,
}

/// Logs nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLog;

impl SessionLogger for NoLog {
    fn log(&self, _record: &SessionRecord<'_>) {}
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("frontend '{frontend}': cannot bind {addr}: {source}")]
    Bind {
        frontend: String,
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid specification: {0}")]
    Spec(String),
    #[error("cannot start the worker threads: {0}")]
    Threads(#[source] std::io::Error),
}

/// A live session, for `show sess` (indexes as in [`EngineSpec`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: u64,
    pub frontend: usize,
    /// The backend it was switched to (None while `tcp-request content` rules
    /// inspect it, or when none matched).
    pub backend: Option<usize>,
    /// The server it holds a slot on, connecting or established (None before
    /// one is assigned, e.g. while queued, and between retries).
    pub server: Option<usize>,
    /// The client (None for a UNIX socket client).
    pub src: Option<SocketAddr>,
    /// The address the client connected to.
    pub dst: Option<SocketAddr>,
    /// When it was accepted.
    pub accepted: std::time::SystemTime,
    pub age: Duration,
}

/// Live counters (for `show stat`, tests and logs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub current: u64,
    pub total: u64,
}

pub(crate) struct FrontendRt {
    pub(crate) spec: FrontendSpec,
    pub(crate) light: session::FeLight,
    pub(crate) cur: AtomicU64,
    pub(crate) total: AtomicU64,
    /// Most concurrent sessions since start or `clear counters` (`smax`).
    pub(crate) max: AtomicU64,
    /// Connections accepted per second (`conn_rate`, `conn_rate_max`).
    pub(crate) conn_rate: meter::Rate,
    /// Sessions per second, past `tcp-request connection` rules (`rate`, `rate_max`).
    pub(crate) sess_rate: meter::Rate,
    /// `disable frontend`: its listeners stop accepting (connections wait in the
    /// kernel's backlog) until `enable frontend`.
    pub(crate) paused: tokio::sync::watch::Sender<bool>,
    /// The frontend's `maxconn`, changeable at run time.
    pub(crate) limit: Arc<listener::Limit>,
    /// The logger reads its transactions' request line
    /// ([`SessionLogger::wants_request_line`], asked once: the logger and
    /// its formats do not change while the engine runs).
    pub(crate) log_wants_line: bool,
}

/// A second descriptor of a listening socket, kept by the engine.
struct ListenerFd {
    fe: usize,
    frontend: String,
    bind: usize,
    socket: socket2::Socket,
}

/// State shared by listeners and sessions.
pub(crate) struct Shared {
    /// The stick tables (`show table` reads them through [`Engine::stick_tables`]).
    pub(crate) tables: Arc<haproxide_stick::Tables>,
    pub(crate) frontends: Vec<FrontendRt>,
    pub(crate) backends: Vec<Arc<BackendRt>>,
    pub(crate) logger: Arc<dyn SessionLogger>,
    /// Sessions alive on the process (HAProxy's `actconn`).
    pub(crate) actconn: AtomicU64,
    pub(crate) next_sid: AtomicU64,
    /// Notified whenever a session ends.
    pub(crate) idle: Notify,
    /// Hard stop began (sessions are killed through `sessions`).
    pub(crate) stop: Signal,
    /// Every live session's kill switch.
    pub(crate) sessions: session::SessionTable,
    /// Global `maxconn`, changeable at run time.
    pub(crate) global: Arc<listener::Limit>,
    /// Soft stop began (services close their idle connections).
    pub(crate) soft: Signal,
    /// Global `nosplice`.
    pub(crate) no_splice: bool,
    /// The engine's threads, where sessions are placed (empty without
    /// `EngineSpec::threads`: sessions then run on the caller's runtime).
    pub(crate) threads: Vec<workers::Slot>,
    /// How sessions are placed on `threads`, and the turn for `fair`.
    pub(crate) spread: spec::ThreadSpread,
    pub(crate) turn: std::sync::atomic::AtomicUsize,
    /// Live `bin`/`bout` of every frontend, backend and server.
    pub(crate) meters: meter::ByteMeters,
    /// HTTP request/response counters of every frontend, backend and server
    /// (the HTTP loop counts with `shared.http.frontend_request(fe)` ...).
    pub(crate) http: httpstats::HttpMeters,
    /// The process's connection and session rates (`show info` `ConnRate`,
    /// `SessRate` and their maxima).
    pub(crate) conn_rate: meter::Rate,
    pub(crate) sess_rate: meter::Rate,
}

/// A running engine. Dropping it hard-stops everything.
pub struct Engine {
    shared: Arc<Shared>,
    listeners: Mutex<(Vec<JoinHandle<()>>, Vec<ListenerFd>)>,
    /// Accept loops told to stop: a soft stop waits for them to be gone before it
    /// counts the sessions left (see [`Engine::soft_stop`]).
    stopping_accepts: Mutex<Vec<JoinHandle<()>>>,
    addrs: Vec<(String, SocketAddr)>,
    /// The engine's own threads (`EngineSpec::threads` ≥ 1); declared last so that
    /// they stop after `Drop` has hard-stopped the sessions.
    _workers: Option<workers::Workers>,
}

impl Engine {
    /// Bind every listener and start accepting. Must be called within a tokio runtime.
    ///
    /// Sessions are spawned tasks: a multi-threaded runtime spreads them over cores.
    pub async fn start(
        spec: EngineSpec,
        health: Arc<dyn ServerHealth>,
        logger: Arc<dyn SessionLogger>,
    ) -> Result<Engine, StartError> {
        Engine::start_gated(spec, health, logger, None).await
    }

    /// [`Engine::start`], with every listener bound at once but no connection
    /// accepted until `gate` turns true (HAProxy binds, drops its privileges, then
    /// serves: the caller drops them in between). A gate whose sender is dropped
    /// before it turned true never opens.
    pub async fn start_gated(
        spec: EngineSpec,
        health: Arc<dyn ServerHealth>,
        logger: Arc<dyn SessionLogger>,
        gate: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Result<Engine, StartError> {
        validate(&spec)?;
        for b in &spec.backends {
            if b.timeout_connect.is_none() {
                tracing::warn!(
                    backend = %b.name,
                    "no 'timeout connect': server connections are bounded to {:?}",
                    DEFAULT_TIMEOUT_CONNECT
                );
            }
        }
        let EngineSpec {
            frontends,
            backends,
            maxconn,
            threads,
            spread,
            no_splice,
            stick_tables,
        } = spec;
        let tables = Arc::new(haproxide_stick::Tables::new(stick_tables));
        let global = Arc::new(listener::Limit::new(maxconn));
        let fe_limits: Vec<Arc<listener::Limit>> = frontends
            .iter()
            .map(|f| Arc::new(listener::Limit::new(f.maxconn)))
            .collect();
        let mut bound = Vec::new();
        let mut limits = Vec::new();
        let mut taken = std::collections::HashMap::new();
        for (fi, fe) in frontends.iter().enumerate() {
            if fe.disabled {
                continue;
            }
            let default_backlog = listener::default_backlog(fe, maxconn);
            for (bi, b) in fe.binds.iter().enumerate() {
                let one = listener::bind_one(&fe.name, fi, bi, b, default_backlog, &mut taken)?;
                let mut l = Vec::new();
                if let Some(m) = b.maxconn {
                    l.push(Arc::new(Semaphore::new(m.min(Semaphore::MAX_PERMITS))));
                }
                l.push(fe_limits[fi].sem.clone());
                l.push(global.sem.clone());
                bound.push(one);
                limits.push(l);
            }
        }
        let frontends: Vec<FrontendRt> = frontends
            .into_iter()
            .zip(fe_limits)
            .map(|(spec, limit)| FrontendRt {
                log_wants_line: logger.wants_request_line(&spec.name),
                light: session::FeLight {
                    timeout_client: spec.timeout_client,
                    timeout_client_fin: spec.timeout_client_fin,
                    inspect_delay: spec.inspect_delay,
                    tcp_connection_rules: Arc::new(spec.tcp_connection_rules.clone()),
                    tcp_content_rules: Arc::new(spec.tcp_content_rules.clone()),
                    use_backends: Arc::new(spec.use_backends.clone()),
                    dyn_backends: Arc::new(spec.dyn_backends.clone()),
                    default_backend: spec.default_backend,
                },
                spec,
                cur: AtomicU64::new(0),
                total: AtomicU64::new(0),
                max: AtomicU64::new(0),
                conn_rate: meter::Rate::default(),
                sess_rate: meter::Rate::default(),
                paused: tokio::sync::watch::Sender::new(false),
                limit,
            })
            .collect();
        let server_counts: Vec<usize> = backends.iter().map(|b| b.servers.len()).collect();
        let meters = meter::ByteMeters::new(frontends.len(), &server_counts, threads);
        let http = httpstats::HttpMeters::new(frontends.len(), &server_counts);
        let backends: Vec<Arc<BackendRt>> = backends
            .into_iter()
            .enumerate()
            .map(|(i, b)| Arc::new(BackendRt::new(i, b, health.clone())))
            .collect();
        http::spoe::bind_agents(&frontends, &backends);
        let workers = match threads {
            0 => None,
            n => Some(workers::Workers::start(n).map_err(StartError::Threads)?),
        };
        let slots = workers
            .iter()
            .flat_map(|w| &w.handles)
            .map(|h| workers::Slot {
                handle: h.clone(),
                sessions: std::sync::atomic::AtomicUsize::new(0),
            });
        let shared = Arc::new(Shared {
            threads: slots.collect(),
            spread,
            turn: std::sync::atomic::AtomicUsize::new(0),
            meters,
            http,
            conn_rate: meter::Rate::default(),
            sess_rate: meter::Rate::default(),
            frontends,
            backends,
            logger,
            actconn: AtomicU64::new(0),
            next_sid: AtomicU64::new(1),
            idle: Notify::new(),
            stop: Signal::default(),
            sessions: session::SessionTable::default(),
            global,
            soft: Signal::default(),
            no_splice,
            tables,
        });
        let mut addrs = Vec::new();
        let mut handles = Vec::new();
        let mut fds = Vec::new();
        for (b, l) in bound.into_iter().zip(limits) {
            if let Some(a) = b.local {
                addrs.push((shared.frontends[b.fe].spec.name.clone(), a));
            }
            let dup_of = |b: &listener::Bound| {
                b.sock.try_clone().map_err(|e| StartError::Bind {
                    frontend: shared.frontends[b.fe].spec.name.clone(),
                    addr: "dup".into(),
                    source: e,
                })
            };
            // A second descriptor of the same socket, to stop listening synchronously.
            let dup = dup_of(&b)?;
            fds.push(ListenerFd {
                fe: b.fe,
                frontend: shared.frontends[b.fe].spec.name.clone(),
                bind: b.bind,
                socket: dup,
            });
            match &workers {
                None => handles.push(tokio::spawn(gated(
                    gate.clone(),
                    listener::accept_loop(shared.clone(), b, l, None),
                ))),
                Some(w) => {
                    // One accept loop per thread, each on its own descriptor.
                    for (i, h) in w.handles.iter().enumerate() {
                        let one = listener::Bound {
                            sock: dup_of(&b)?,
                            ..b
                        };
                        handles.push(h.spawn(gated(
                            gate.clone(),
                            listener::accept_loop(shared.clone(), one, l.clone(), Some(i)),
                        )));
                    }
                }
            }
        }
        Ok(Engine {
            shared,
            listeners: Mutex::new((handles, fds)),
            stopping_accepts: Mutex::new(Vec::new()),
            addrs,
            _workers: workers,
        })
    }

    /// The addresses actually bound, per frontend (useful with port 0). UNIX sockets
    /// are not listed.
    pub fn local_addrs(&self) -> Vec<(String, SocketAddr)> {
        self.addrs.clone()
    }

    /// Cut every session established to this server because it was marked DOWN
    /// (`on-marked-down shutdown-sessions`). Returns how many were cut. Sessions end
    /// with termination state `D` plus their phase (`DD` in data, §8.5).
    pub fn shutdown_server_sessions(&self, backend: usize, server: usize) -> usize {
        self.cut(backend, |s| s == server, CutReason::ServerDown)
    }

    /// Cut every session established to this server on an admin's request (`shutdown
    /// sessions server`): termination state `K` plus the phase (`KD`).
    pub fn kill_server_sessions(&self, backend: usize, server: usize) -> usize {
        self.cut(backend, |s| s == server, CutReason::Killed)
    }

    /// Cut every session to the backup servers of a backend (`on-marked-up
    /// shutdown-backup-sessions`): termination state `U` plus the phase (`UD`).
    pub fn shutdown_backup_sessions(&self, backend: usize) -> usize {
        let Some(be) = self.shared.backends.get(backend) else {
            return 0;
        };
        self.cut(
            backend,
            |s| be.server(s).is_some_and(|x| x.backup),
            CutReason::BackupCut,
        )
    }

    fn cut(&self, backend: usize, which: impl Fn(usize) -> bool, why: CutReason) -> usize {
        let Some(be) = self.shared.backends.get(backend) else {
            return 0;
        };
        let kills = be.kills(which);
        for k in &kills {
            k.kill(why);
        }
        kills.len()
    }

    /// Sessions currently assigned to a server (connecting or established), and in
    /// total since start.
    pub fn server_counters(&self, backend: usize, server: usize) -> Counters {
        match self.shared.backends.get(backend) {
            Some(be) => {
                let (current, total) = be.server_counts(server);
                Counters { current, total }
            }
            None => Counters::default(),
        }
    }

    /// Sessions that chose this backend (current and total).
    pub fn backend_counters(&self, backend: usize) -> Counters {
        match self.shared.backends.get(backend) {
            Some(be) => Counters {
                current: be.cur.load(Ordering::Relaxed),
                total: be.total.load(Ordering::Relaxed),
            },
            None => Counters::default(),
        }
    }

    /// Sessions accepted by this frontend (current and total).
    pub fn frontend_counters(&self, frontend: usize) -> Counters {
        match self.shared.frontends.get(frontend) {
            Some(fe) => Counters {
                current: fe.cur.load(Ordering::Relaxed),
                total: fe.total.load(Ordering::Relaxed),
            },
            None => Counters::default(),
        }
    }

    /// The stick tables (`show table`, `clear table`, `set table`; a reload
    /// hands them to the next engine with `Tables::adopt`).
    pub fn stick_tables(&self) -> Arc<haproxide_stick::Tables> {
        self.shared.tables.clone()
    }

    /// Sessions alive on the engine (HAProxy's `actconn`).
    pub fn active_sessions(&self) -> u64 {
        self.shared.actconn.load(Ordering::Relaxed)
    }

    /// Sessions running on each of the engine's threads (`EngineSpec::threads`; empty
    /// without them). New sessions go to the least loaded thread.
    pub fn thread_sessions(&self) -> Vec<usize> {
        self.shared
            .threads
            .iter()
            .map(|t| t.sessions.load(Ordering::Relaxed))
            .collect()
    }

    /// Sessions waiting in a server's queue and in its backend's queue.
    pub fn queue_lengths(&self, backend: usize, server: usize) -> (u64, u64) {
        match self.shared.backends.get(backend) {
            Some(be) => be.queue_lens(Some(server)),
            None => (0, 0),
        }
    }

    /// Hand free server slots to queued sessions now (e.g. after a server came UP;
    /// queued sessions also re-check every 200 ms on their own).
    pub fn wake_queues(&self, backend: usize) {
        if let Some(be) = self.shared.backends.get(backend) {
            be.kick_queues();
        }
    }

    /// `disable frontend` (true) / `enable frontend` (false), management.txt §9.3:
    /// a paused frontend accepts nothing; connections wait in the kernel's backlog.
    pub fn pause_frontend(&self, frontend: usize, paused: bool) {
        if let Some(f) = self.shared.frontends.get(frontend) {
            f.paused.send_replace(paused);
        }
    }

    /// Whether `disable frontend` paused it.
    pub fn frontend_paused(&self, frontend: usize) -> bool {
        self.shared
            .frontends
            .get(frontend)
            .is_some_and(|f| *f.paused.borrow())
    }

    /// `shutdown frontend` (management.txt §9.3): close its listeners for good;
    /// its sessions go on.
    pub fn shutdown_frontend(&self, frontend: usize) {
        let mut l = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let (handles, fds) = &mut *l;
        let mut i = 0;
        while i < fds.len() {
            if fds[i].fe == frontend {
                let f = fds.remove(i);
                let _ = f.socket.shutdown(std::net::Shutdown::Both);
                if i < handles.len() {
                    handles.remove(i).abort();
                }
            } else {
                i += 1;
            }
        }
    }

    /// Whether the frontend still has listeners (false after `shutdown frontend`
    /// or a stop).
    pub fn frontend_listening(&self, frontend: usize) -> bool {
        let l = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        l.1.iter().any(|f| f.fe == frontend)
    }

    /// `set maxconn frontend` (None: unlimited); also the configured value.
    pub fn set_frontend_maxconn(&self, frontend: usize, maxconn: Option<usize>) {
        if let Some(f) = self.shared.frontends.get(frontend) {
            f.limit.set(maxconn);
        }
    }

    /// The frontend's current `maxconn` (None: unlimited).
    pub fn frontend_maxconn(&self, frontend: usize) -> Option<usize> {
        self.shared
            .frontends
            .get(frontend)
            .and_then(|f| f.limit.get())
    }

    /// `set maxconn global` (None: unlimited).
    pub fn set_global_maxconn(&self, maxconn: Option<usize>) {
        self.shared.global.set(maxconn);
    }

    /// The process's current `maxconn` (None: unlimited).
    pub fn global_maxconn(&self) -> Option<usize> {
        self.shared.global.get()
    }

    /// `set maxconn server` (0: unlimited); queued sessions get the new slots.
    pub fn set_server_maxconn(&self, backend: usize, server: usize, maxconn: usize) {
        if let Some(be) = self.shared.backends.get(backend) {
            be.set_server_maxconn(server, maxconn);
        }
    }

    /// A server's current `maxconn` (0: none).
    pub fn server_maxconn(&self, backend: usize, server: usize) -> usize {
        self.shared
            .backends
            .get(backend)
            .map_or(0, |be| be.server_maxconn(server))
    }

    /// Most concurrent sessions of a frontend since start or
    /// [`Engine::clear_max`] (`smax`).
    pub fn frontend_max(&self, frontend: usize) -> u64 {
        self.shared
            .frontends
            .get(frontend)
            .map_or(0, |f| f.max.load(Ordering::Relaxed))
    }

    /// The same for a backend.
    pub fn backend_max(&self, backend: usize) -> u64 {
        self.shared
            .backends
            .get(backend)
            .map_or(0, |b| b.max.load(Ordering::Relaxed))
    }

    /// The same for a server.
    pub fn server_max(&self, backend: usize, server: usize) -> u64 {
        self.shared
            .backends
            .get(backend)
            .map_or(0, |b| b.server_max(server))
    }

    /// Bytes received from clients and sent to them by a frontend (`bin`, `bout`,
    /// management.txt §9.1), counted as they flow: live sessions included.
    pub fn frontend_bytes(&self, frontend: usize) -> (u64, u64) {
        let m = &self.shared.meters;
        m.get(m.frontend(frontend))
    }

    /// The same for a backend (bytes from the clients of its sessions, and to them).
    pub fn backend_bytes(&self, backend: usize) -> (u64, u64) {
        let m = &self.shared.meters;
        m.get(m.backend(backend))
    }

    /// The same for a server.
    pub fn server_bytes(&self, backend: usize, server: usize) -> (u64, u64) {
        let m = &self.shared.meters;
        m.get(m.server(backend, server))
    }

    /// A frontend's session rate (`rate`, `rate_max`: sessions past the `tcp-request
    /// connection` rules per second over the last second, and the most seen) and
    /// connection rate (`conn_rate`, `conn_rate_max`: accepted connections),
    /// management.txt §9.1.
    pub fn frontend_rates(&self, frontend: usize) -> (RateSnapshot, RateSnapshot) {
        self.shared
            .frontends
            .get(frontend)
            .map_or_else(Default::default, |f| (f.sess_rate.get(), f.conn_rate.get()))
    }

    /// A frontend's HTTP counters (`req_tot`, `hrsp_*`, `req_rate`).
    pub fn frontend_http(&self, frontend: usize) -> HttpStats {
        self.shared.http.frontend(frontend)
    }

    /// A backend's HTTP counters (`req_tot`, `hrsp_*`).
    pub fn backend_http(&self, backend: usize) -> HttpStats {
        self.shared.http.backend(backend)
    }

    /// A server's HTTP counters (`req_tot`, `hrsp_*`).
    pub fn server_http(&self, backend: usize, server: usize) -> HttpStats {
        self.shared.http.server(backend, server)
    }

    /// A backend's session rate (sessions that chose it).
    pub fn backend_rate(&self, backend: usize) -> RateSnapshot {
        self.shared
            .backends
            .get(backend)
            .map_or_else(Default::default, |b| b.sess_rate.get())
    }

    /// A server's session rate (sessions assigned to it).
    pub fn server_rate(&self, backend: usize, server: usize) -> RateSnapshot {
        self.shared
            .backends
            .get(backend)
            .map_or_else(Default::default, |b| b.server_rate(server))
    }

    /// The process's connection and session rates (`show info` `ConnRate` /
    /// `MaxConnRate`, `SessRate` / `MaxSessRate`).
    pub fn process_rates(&self) -> (RateSnapshot, RateSnapshot) {
        (self.shared.conn_rate.get(), self.shared.sess_rate.get())
    }

    /// `clear counters` (management.txt §9.3): the max values restart from the
    /// current ones (`smax`) or from 0 (the rate maxima, as HAProxy does).
    pub fn clear_max(&self) {
        for f in &self.shared.frontends {
            f.max
                .store(f.cur.load(Ordering::Relaxed), Ordering::Relaxed);
            f.conn_rate.clear_max();
            f.sess_rate.clear_max();
        }
        self.shared.conn_rate.clear_max();
        self.shared.sess_rate.clear_max();
        self.shared.http.clear_max();
        for b in &self.shared.backends {
            b.clear_max();
        }
    }

    /// `clear counters all`: cumulated totals back to 0 (current values stay).
    pub fn clear_totals(&self) {
        for f in &self.shared.frontends {
            f.total.store(0, Ordering::Relaxed);
        }
        self.shared.meters.clear();
        self.shared.http.clear_totals();
        for b in &self.shared.backends {
            b.clear_totals();
        }
    }

    /// Every live session, oldest first, wherever it is (inspected by `tcp-request
    /// content` rules, queued, connecting, established): what `show sess` lists
    /// (management.txt §9.3).
    pub fn sessions(&self) -> Vec<SessionInfo> {
        // Which server holds each session now, from the per-server registries.
        let mut on_server = std::collections::HashMap::new();
        for b in &self.shared.backends {
            for (id, s) in b.sessions() {
                on_server.insert(id, (b.idx, s));
            }
        }
        self.shared
            .sessions
            .all()
            .into_iter()
            .map(|(id, k)| {
                let session::Facts {
                    fe, src, started, ..
                } = k;
                let backend = k.backend;
                let server = on_server
                    .get(&id)
                    .filter(|(b, _)| Some(*b) == backend)
                    .map(|(_, s)| *s);
                SessionInfo {
                    id,
                    frontend: fe,
                    backend,
                    server,
                    src,
                    dst: k.dst,
                    accepted: k.accepted,
                    age: started.elapsed(),
                }
            })
            .collect()
    }

    /// `shutdown session <id>` (management.txt §9.3) for a session listed by
    /// [`Engine::sessions`] (ids count accepted connections from 1). Returns
    /// whether it was found. It ends with termination state `K`.
    pub fn kill_session(&self, sid: u64) -> bool {
        // Reached in its task or in its thread's idle-connection waiter.
        self.shared.sessions.kill(sid, CutReason::Killed)
    }

    /// The listening sockets, for handing them to a new process (`-sf` reloads with
    /// fd passing: the new process gets them as `fd@N`, so that the accept queues are
    /// shared and no connection is lost when this process stops). The descriptors stay
    /// owned by the engine and are closed when it stops; duplicate them to keep them.
    /// Empty once the listeners are closed.
    pub fn listening_fds(&self) -> Vec<(String, usize, RawFd)> {
        let l = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        l.1.iter()
            .map(|f| (f.frontend.clone(), f.bind, f.socket.as_raw_fd()))
            .collect()
    }

    /// Close this engine's descriptors of its listening sockets without shutting the
    /// sockets down: for after [`Engine::listening_fds`] were handed to a new process,
    /// which keeps accepting on the same sockets (their queued connections included).
    /// Then call [`Engine::soft_stop`] to let this engine's sessions finish.
    pub fn release_listeners(&self) {
        let (handles, fds) =
            std::mem::take(&mut *self.listeners.lock().unwrap_or_else(|e| e.into_inner()));
        drop(fds);
        self.abort_accepts(handles);
    }

    /// Abort accept loops, keeping their handles for [`Engine::soft_stop`]: an accept
    /// loop running on another thread finishes the poll it is in (which may accept
    /// one more connection and count its session) before it is gone.
    fn abort_accepts(&self, handles: Vec<JoinHandle<()>>) {
        for h in &handles {
            h.abort();
        }
        self.stopping_accepts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(handles);
    }

    /// Stop listening now: new connections go to other sockets bound with
    /// SO_REUSEPORT (or are refused). Connections still in this socket's accept queue
    /// are reset by the kernel, unless the socket is shared with another process (fd
    /// passing) or `net.ipv4.tcp_migrate_req` is set (Linux 5.14+), which moves them
    /// to another listener of the same port.
    fn close_listeners(&self) {
        let (handles, fds) =
            std::mem::take(&mut *self.listeners.lock().unwrap_or_else(|e| e.into_inner()));
        for f in &fds {
            // shutdown(2) on a listening TCP socket stops it at once, even though the
            // accept task still holds its own descriptor until it is dropped.
            let _ = f.socket.shutdown(std::net::Shutdown::Both);
        }
        drop(fds);
        // Aborting the accept task drops (closes) its listening socket.
        self.abort_accepts(handles);
    }

    /// Soft stop (SIGUSR1): close the listeners, let sessions finish; after
    /// `hard_stop_after`, cut what remains. Resolves when no session is left.
    pub async fn soft_stop(&self, hard_stop_after: Option<Duration>) {
        self.close_listeners();
        // Only once every accept loop is gone is `actconn` final: a loop in the middle
        // of a poll on another thread may still accept, and a session it started after
        // the count below read 0 would be dropped with the process (a reset seen in
        // the reload tests about once in 25,000 connections).
        let accepts = std::mem::take(
            &mut *self
                .stopping_accepts
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for h in accepts {
            let _ = tokio::time::timeout(Duration::from_secs(1), h).await;
        }
        self.shared.soft.raise();
        let deadline = hard_stop_after.map(|d| tokio::time::Instant::now() + d);
        loop {
            let n = self.shared.idle.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.active_sessions() == 0 {
                return;
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, n).await.is_err() {
                        break;
                    }
                }
                None => {
                    // Re-check now and then in case a notification raced.
                    let _ = tokio::time::timeout(Duration::from_millis(500), n).await;
                }
            }
        }
        self.hard_stop();
        // Killed sessions end at their next poll; wait for them briefly.
        let until = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.active_sessions() > 0 && tokio::time::Instant::now() < until {
            let n = self.shared.idle.notified();
            let _ = tokio::time::timeout(Duration::from_millis(20), n).await;
        }
    }

    /// Hard stop (SIGTERM): close everything now.
    pub fn hard_stop(&self) {
        self.close_listeners();
        self.shared.stop.raise();
        self.shared.sessions.kill_all(CutReason::Killed);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.hard_stop();
    }
}

fn validate(spec: &EngineSpec) -> Result<(), StartError> {
    let nb = spec.backends.len();
    for fe in &spec.frontends {
        let bad = fe.default_backend.is_some_and(|b| b >= nb)
            || fe.use_backends.iter().any(|(b, _)| *b >= nb);
        if bad {
            return Err(StartError::Spec(format!(
                "frontend '{}' refers to a missing backend",
                fe.name
            )));
        }
        if fe.maxconn == Some(0) || fe.binds.iter().any(|b| b.maxconn == Some(0)) {
            return Err(StartError::Spec(format!(
                "frontend '{}': maxconn 0",
                fe.name
            )));
        }
    }
    if spec.maxconn == Some(0) {
        return Err(StartError::Spec("global maxconn 0".into()));
    }
    for be in &spec.backends {
        if let spec::Balance::Random { draws: 0 } = be.balance {
            return Err(StartError::Spec(format!(
                "backend '{}': random(0)",
                be.name
            )));
        }
    }
    Ok(())
}

/// Runs a [`Service`] on an accepted connection, counted as a session of its
/// frontend by the accept loop (`live`).
/// Runs `f` once `gate` (if any) turned true; never if its sender went away first.
async fn gated<F: std::future::Future<Output = ()>>(
    gate: Option<tokio::sync::watch::Receiver<bool>>,
    f: F,
) {
    if let Some(mut g) = gate {
        if g.wait_for(|open| *open).await.is_err() {
            return;
        }
    }
    f.await
}

pub(crate) async fn run_service(
    live: session::Live,
    service: Arc<dyn Service>,
    stream: ClientStream,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    accept_proxy: bool,
) {
    let shared = live.shared.clone();
    let (mut stream, mut peer, mut local) = (stream, peer, local);
    // `accept-proxy` (§5.1) holds for service binds too: the PROXY header comes
    // first and its addresses are the ones the service's rules see; without a valid
    // one (or within `timeout client`) the connection closes unanswered.
    if accept_proxy {
        let limit = shared
            .frontends
            .get(live.fe)
            .and_then(|f| f.spec.timeout_client)
            .unwrap_or(Duration::from_secs(5));
        match tokio::time::timeout(limit, proxy_proto::read_header(&mut stream)).await {
            Ok(Some(Some((s, d)))) => {
                peer = Some(s);
                local = Some(d);
            }
            Ok(Some(None)) => {}
            Ok(None) | Err(_) => return,
        }
    }
    // A session of its frontend, as HAProxy counts one on a stats frontend.
    if let Some(f) = shared.frontends.get(live.fe) {
        f.sess_rate.hit();
    }
    shared.sess_rate.hit();
    let conn = ServiceConn {
        stream,
        peer,
        local,
        stop: StopSignal(shared.clone()),
    };
    tokio::select! {
        // A hard stop wins over the service's own reaction to the soft stop it implies.
        biased;
        _ = shared.stop.wait() => {}
        _ = service.serve(conn) => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn engine_is_shareable_across_tasks() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<super::Engine>();
    }
}
