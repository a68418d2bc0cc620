//! What to run: plain data the server crate fills in from the configuration.
//!
//! Nothing here knows about the config crate; `haproxide-server` translates. Defaults
//! are HAProxy's (configuration.txt §4.2).

use std::net::SocketAddr;
use std::time::Duration;

/// A typed condition (`haproxide-expr`): what `tcp-request` and `use_backend` rules
/// evaluate.
pub use haproxide_expr::Cond;

/// The whole forwarding engine.
#[derive(Debug, Clone, Default)]
pub struct EngineSpec {
    /// Frontends (and the frontend half of `listen` sections).
    pub frontends: Vec<FrontendSpec>,
    /// Backends (and the backend half of `listen` sections); referenced by index.
    pub backends: Vec<BackendSpec>,
    /// Global `maxconn`: stop accepting beyond it (configuration.txt §3.2).
    pub maxconn: Option<usize>,
    /// Where sessions run. 0: as tasks of the runtime that calls [`crate::Engine::start`].
    /// N ≥ 1: on N threads of the engine's own, each a single-threaded runtime
    /// accepting on every listener; a session is placed on a thread as `spread` says
    /// and stays there (§3.1 `nbthread`; see the `workers` module).
    pub threads: usize,
    /// How the thread of a new session is chosen (§3.2 `tune.listener.multi-queue`).
    pub spread: ThreadSpread,
    /// Global `nosplice` (§3.2): never use splice(2). Without it, bulk TCP-to-TCP
    /// directions splice (see the `splice` module).
    pub no_splice: bool,
    /// Every `stick-table` (§4.2), named after its proxy: `track-sc*` and the
    /// `sc_*`/`src_*`/`table_*` fetches use them.
    pub stick_tables: Vec<haproxide_stick::TableSpec>,
}

/// §3.2 `tune.listener.multi-queue { on | fair | off }`: which thread runs a session
/// accepted by any of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ThreadSpread {
    /// `on` (the default): the thread with the fewest sessions.
    #[default]
    LeastLoaded,
    /// `fair`: each thread in turn, whatever its load.
    RoundRobin,
    /// `off`: the thread that accepted it.
    Off,
}

/// Where a listener listens (configuration.txt §4.2 `bind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// An IPv4 or IPv6 socket address (one port; ranges are expanded by the caller).
    Tcp(SocketAddr),
    /// A UNIX stream socket path.
    Unix(std::path::PathBuf),
    /// An inherited, already listening file descriptor (`fd@N`).
    Fd(i32),
}

/// One `bind` address with its options (configuration.txt §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindSpec {
    pub addr: ListenAddr,
    /// `name`.
    pub name: Option<String>,
    /// `backlog` (default: the frontend's maxconn, as HAProxy).
    pub backlog: Option<u32>,
    /// `maxconn` of this listener.
    pub maxconn: Option<usize>,
    /// `v6only` (`v4v6` is the default for `::` on Linux).
    pub v6only: bool,
    /// `accept-proxy`: expect a PROXY protocol v1/v2 header first.
    pub accept_proxy: bool,
    /// `ssl` (§5.1): terminate TLS with this acceptor (certificates loaded and
    /// checked when the configuration was read).
    pub tls: Option<haproxide_tls::Acceptor>,
    /// `proto h2` (§5.1): HTTP/2 with prior knowledge on a clear bind.
    pub proto_h2: bool,
    /// §4.2 `option tcp-smart-accept` applies: the listening socket has TCP_QUICKACK
    /// off (inherited by what it accepts), so the kernel does not acknowledge the
    /// client's first data on its own but with the reply.
    pub smart_accept: bool,
}

impl BindSpec {
    /// A bind on `addr` with no option (no name, backlog, maxconn, TLS...).
    pub fn plain(addr: ListenAddr) -> BindSpec {
        BindSpec {
            addr,
            name: None,
            backlog: None,
            maxconn: None,
            v6only: false,
            accept_proxy: false,
            tls: None,
            proto_h2: false,
            smart_accept: false,
        }
    }
}

/// `tcp-request connection|content` / `tcp-response content` rule (§4.2):
/// `accept|reject [if cond]`, or a non-final action (`act`).
#[derive(Debug, Clone, PartialEq)]
pub struct TcpRule {
    pub accept: bool,
    pub cond: Option<Cond>,
    /// A non-final action (`set-var`...); `accept` is then unused.
    pub act: Option<TcpAct>,
}

/// The non-final actions of TCP rules the engine runs.
#[derive(Debug, Clone, PartialEq)]
pub enum TcpAct {
    /// `set-var(<scope.name>) <expr>`.
    SetVar(String, haproxide_expr::SampleExpr),
    /// `set-var-fmt(<scope.name>) <fmt>`.
    SetVarFmt(String, std::sync::Arc<haproxide_expr::LogFormat>),
    /// `unset-var(<scope.name>)`.
    UnsetVar(String),
    /// `tcp-response content close`: end the server connection.
    Close,
    /// `track-sc0/1/2 <key> [table <t>]` (§4.2 "tcp-request connection"):
    /// `session` for `tcp-request connection|session` (the counter lives as
    /// long as the connection), else a stream's (`tcp-request content`).
    Track {
        n: u8,
        key: haproxide_expr::SampleExpr,
        table: Option<String>,
        session: bool,
    },
    /// `sc-inc-gpc0(<n>)` / `sc-inc-gpc1(<n>)` (`idx` 0 or 1).
    ScIncGpc { ctr: u8, idx: u8 },
    /// `sc-set-gpt0(<n>) <int|expr>`.
    ScSetGpt0 {
        ctr: u8,
        value: haproxide_expr::SampleExpr,
    },
}

impl TcpAct {
    /// A stick-counter action (`track-sc*`, `sc-inc-gpc*`, `sc-set-gpt0`).
    pub fn is_stick(&self) -> bool {
        matches!(
            self,
            TcpAct::Track { .. } | TcpAct::ScIncGpc { .. } | TcpAct::ScSetGpt0 { .. }
        )
    }
}

/// A `use_backend` rule whose backend name is built per request (§4.2: "If
/// the resulting backend name does not correspond to any valid backend, no
/// other rule is evaluated, and the default_backend directive is applied").
#[derive(Debug, Clone)]
pub struct DynBackend {
    pub at: usize,
    pub name: std::sync::Arc<haproxide_expr::LogFormat>,
    pub cond: Option<Cond>,
}

/// A frontend (configuration.txt §4).
#[derive(Debug, Clone, Default)]
pub struct FrontendSpec {
    pub name: String,
    pub binds: Vec<BindSpec>,
    /// Frontend `maxconn` (default: global maxconn, as HAProxy).
    pub maxconn: Option<usize>,
    /// The proxy's `backlog` (configuration.txt §4.2): the listen queue of its
    /// `bind` lines that set none (default: the frontend's maxconn).
    pub backlog: Option<u32>,
    /// `timeout client`: inactivity on the client side.
    pub timeout_client: Option<Duration>,
    /// `timeout client-fin`: after the client half-closed.
    pub timeout_client_fin: Option<Duration>,
    /// `tcp-request inspect-delay`.
    pub inspect_delay: Option<Duration>,
    pub tcp_connection_rules: Vec<TcpRule>,
    pub tcp_content_rules: Vec<TcpRule>,
    /// How many of `tcp_content_rules`, first, are `tcp-request session` rules
    /// (run once per connection; in HTTP mode the others run per request).
    pub tcp_session_rules: usize,
    /// `use_backend` rules in order: backend index and condition.
    pub use_backends: Vec<(usize, Option<Cond>)>,
    /// `use_backend` rules whose name is a log-format (HTTP frontends), each
    /// evaluated before `use_backends[at]` (at the end when `at` is past it).
    pub dyn_backends: Vec<DynBackend>,
    /// `default_backend` (for a `listen`, its own backend).
    pub default_backend: Option<usize>,
    /// `option clitcpka`.
    pub tcp_keepalive: bool,
    /// `option dontlognull`.
    pub dont_log_null: bool,
    /// `capture request|response header` and `declare capture` slots (§4.2,
    /// §8.8): HTTP mode fills [`crate::HttpTxnLog::req_captures`] /
    /// `res_captures` from them.
    pub captures: crate::CaptureSpec,
    /// Frontend `disabled`.
    pub disabled: bool,
    /// A service answers this frontend's connections instead of forwarding them
    /// (the HTTP stats page and Prometheus exporter of `haproxide-server`). Its
    /// listeners, limits, counters, reload handover and stops are the engine's as
    /// for any frontend.
    pub service: Option<ServiceHandle>,
    /// `mode http`: connections run the HTTP session loop (the `http` module);
    /// None: TCP mode.
    pub http: Option<HttpSpec>,
    /// The global `tune.h2.*` settings (§3.2) its HTTP/2 connections use.
    pub h2: crate::http2::H2Spec,
}

/// A [`crate::Service`] in a [`FrontendSpec`] (cloneable, printable).
#[derive(Clone)]
pub struct ServiceHandle(pub std::sync::Arc<dyn crate::Service>);

impl std::fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceHandle")
    }
}

/// Load-balancing algorithms (configuration.txt §4.2 `balance`). Every algorithm
/// skips servers that are unusable, weight 0, or full (`maxconn`), except `source`
/// whose choice is fixed by the hash (a full server means waiting in its queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Balance {
    /// Weighted round robin, dynamic (the default): smooth weighted round robin over
    /// the servers usable at the moment of the choice.
    #[default]
    RoundRobin,
    /// Weighted round robin, static. Weights do not change at run time here, so it
    /// behaves as `roundrobin`.
    StaticRr,
    /// Fewest current sessions relative to the weight; round robin among equals.
    LeastConn,
    /// The first server (by position) with free slots.
    First,
    /// Hash of the client's source address (XOR of its 32-bit words), mapped per
    /// [`HashType`].
    Source,
    /// Power of `draws` random choices (default 2): weighted random draws, the least
    /// loaded relative to its weight wins.
    Random {
        draws: u32,
    },
    /// `uri`, `url_param`, `hdr(<name>)` (HTTP mode): a hash of the request key
    /// [`BackendSpec::lb_key`] names, mapped as `source`'s; round robin when the
    /// request has no key.
    Uri,
    UrlParam,
    Hdr,
}

impl Balance {
    /// A hash of the client or of the request picks the server.
    pub fn is_hash(self) -> bool {
        matches!(
            self,
            Balance::Source | Balance::Uri | Balance::UrlParam | Balance::Hdr
        )
    }
}

/// `hash-type` (configuration.txt §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashType {
    /// Hash modulo the total weight into a map of weight-proportional, interleaved
    /// slots: even spread, but most clients move when the server set changes.
    #[default]
    MapBased,
    /// A ring with 16 points per unit of weight: when a server goes away, only its
    /// clients move.
    Consistent,
}

/// A backend.
#[derive(Debug, Clone, Default)]
pub struct BackendSpec {
    pub name: String,
    pub balance: Balance,
    pub hash_type: HashType,
    pub servers: Vec<ServerSpec>,
    /// `retries` (default 3).
    pub retries: u32,
    /// `option redispatch [<interval>]`: on a failed retry, pick another server.
    pub redispatch: bool,
    /// `option abortonclose` (§4.2): a client that closes its side while its
    /// request waits in a queue, for a connection or for the response head
    /// aborts the request (`CQ`, `CC`, `CH`) instead of being served.
    pub abortonclose: bool,
    /// `http-reuse` (§4.2): which idle server connections a request may take.
    pub reuse: HttpReuse,
    /// `option allbackups`: use every backup at once when no active server is up.
    pub all_backups: bool,
    /// `timeout connect` (default: HAProxy has none; we use 5 s and warn at start).
    pub timeout_connect: Option<Duration>,
    /// `timeout server`.
    pub timeout_server: Option<Duration>,
    /// `timeout server-fin`.
    pub timeout_server_fin: Option<Duration>,
    /// `timeout tunnel` (replaces client/server timeouts once both sides talk).
    pub timeout_tunnel: Option<Duration>,
    /// `timeout queue` (default: `timeout connect`).
    pub timeout_queue: Option<Duration>,
    /// `fullconn` (dynamic maxconn with `minconn`).
    pub fullconn: Option<usize>,
    /// `option srvtcpka`.
    pub tcp_keepalive: bool,
    /// `mode http` (the backend half's HTTP options); None: TCP mode.
    pub http: Option<HttpSpec>,
    /// Persistence in HTTP mode (`cookie`, `ignore-persist`, `force-persist`,
    /// `option persist`, `option prefer-last-server`); None: none of them.
    pub persist: Option<Box<PersistSpec>>,
    /// The request key of `balance uri|url_param|hdr(<name>)` and its hash.
    pub lb_key: Option<haproxide_http::lbkey::LbKey>,
    /// `stick match|on|store-request|store-response` (§4.2); None: no rule.
    pub stick: Option<Box<StickSpec>>,
    /// `tcp-response content` rules (§4.2), TCP mode.
    pub tcp_response_rules: Vec<TcpRule>,
    /// `tcp-response inspect-delay`.
    pub res_inspect_delay: Option<Duration>,
}

/// A backend's `stick match|on|store-request|store-response` rules (§4.2).
#[derive(Debug, Clone, Default)]
pub struct StickSpec {
    /// `stick match|on|store-request`, in order: run before the server is
    /// chosen.
    pub request: Vec<StickRule>,
    /// `stick store-response`, in order: run on the response's head.
    pub response: Vec<StickRule>,
}

/// One `stick` rule.
#[derive(Debug, Clone)]
pub struct StickRule {
    /// `match` or `on`: a stored server that runs is used.
    pub matches: bool,
    /// `on`, `store-request`, `store-response`: the chosen server is stored.
    pub stores: bool,
    /// The key (`<pattern>`: a sample expression with converters).
    pub expr: haproxide_expr::SampleExpr,
    /// The table: its index in [`EngineSpec::stick_tables`].
    pub table: usize,
    /// `if|unless <condition>`.
    pub cond: Option<Cond>,
}

/// A backend's persistence settings (configuration.txt §4.2 `cookie`,
/// `ignore-persist`, `force-persist`, `option persist`,
/// `option prefer-last-server`).
#[derive(Debug, Clone, Default)]
pub struct PersistSpec {
    pub cookie: Option<haproxide_http::persist::CookieSpec>,
    /// `(force, condition)`: `force-persist` / `ignore-persist` rules in order;
    /// the first that matches decides.
    pub rules: Vec<(bool, Cond)>,
    /// `option persist`: a cookie naming a DOWN server still sends there.
    pub option_persist: bool,
    /// `option prefer-last-server`: a request goes to the server the session
    /// has an idle connection to.
    pub prefer_last: bool,
}

/// PROXY protocol to send to a server (configuration.txt §5.2 `send-proxy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendProxy {
    #[default]
    None,
    V1,
    V2,
}

/// A server's port: fixed, or relative to / equal to the client's destination port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerPort {
    Fixed(u16),
    /// No port in the address: use the port the client connected to.
    SameAsClient,
    /// `+N`/`-N`: the client's destination port plus this offset.
    Offset(i32),
}

/// A server (configuration.txt §5.2).
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub name: String,
    pub ip: std::net::IpAddr,
    pub port: ServerPort,
    /// `weight` (default 1; 0 = only when no other).
    pub weight: u32,
    pub backup: bool,
    /// `maxconn` (0 = unlimited).
    pub maxconn: usize,
    /// `maxqueue` (0 = unlimited).
    pub maxqueue: usize,
    /// `minconn` (with `fullconn`).
    pub minconn: usize,
    pub send_proxy: SendProxy,
    /// `on-marked-down shutdown-sessions`.
    pub shutdown_on_down: bool,
    /// `on-marked-up shutdown-backup-sessions`.
    pub shutdown_backup_on_up: bool,
    /// `source <addr>`: bind outgoing connections to this address.
    pub source: Option<std::net::IpAddr>,
    /// `disabled`: starts in maintenance.
    pub disabled: bool,
    /// Whether the server is health-checked (without `check`, it is always up).
    pub checked: bool,
    /// `ssl` (§5.2): connections to the server are TLS.
    pub tls: Option<ServerTls>,
    /// `cookie <value>` (§5.2): its persistence cookie value.
    pub cookie: Option<Box<[u8]>>,
    /// A UNIX-socket address (§2.3 `/path`, `unix@path`): connections go to this
    /// stream socket; `ip`/`port` are then unused.
    pub unix: Option<std::sync::Arc<std::path::Path>>,
    /// `socks4 <addr>:<port>` (§5.2): connections go to this SOCKS4 proxy, which is
    /// asked to CONNECT to the server (HAProxy's request: user id `HAProxy`).
    pub socks4: Option<std::net::SocketAddr>,
    /// `proto h2` (§5.2): HTTP/2 with prior knowledge to this server (an `ssl`
    /// server speaks HTTP/2 when its `alpn` offered `h2` and the server chose
    /// it). HTTP backends only: crate::http2::upstream.
    pub proto_h2: bool,
    /// `pool-max-conn`, `pool-purge-delay`, `pool-low-conn`, `max-reuse` (§5.2).
    pub pool: ServerPool,
}

/// `http-reuse` (configuration.txt §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpReuse {
    /// A server connection belongs to its client connection.
    Never,
    /// A client connection's first request gets a connection of its own
    /// (HAProxy's default).
    #[default]
    Safe,
    /// A first request may take an idle connection that served two requests.
    Aggressive,
    /// A first request may take any idle connection.
    Always,
}

/// A server's idle-connection settings (configuration.txt §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerPool {
    /// `pool-max-conn`: None unlimited (-1, the default), 0 keeps none.
    pub max_conn: Option<usize>,
    /// `pool-purge-delay` (default 5 s; 0 keeps none).
    pub purge_delay: Duration,
    /// `pool-low-conn` (default 0): idle connections kept beyond the estimate.
    pub low_conn: usize,
    /// `max-reuse`: requests a connection may carry after its first (None: -1,
    /// unlimited). HAProxy 2.6 applies it to HTTP/2 server connections only.
    pub max_reuse: Option<u32>,
}

impl Default for ServerPool {
    fn default() -> ServerPool {
        ServerPool {
            max_conn: None,
            purge_delay: Duration::from_secs(5),
            low_conn: 0,
            max_reuse: None,
        }
    }
}

/// A server's TLS side (configuration.txt §5.2 `ssl`, `sni`).
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub connector: haproxide_tls::Connector,
    /// `sni <expr>`: evaluated per connection on the session (the request in HTTP
    /// mode); an empty or absent result sends no SNI.
    pub sni: Option<haproxide_expr::SampleExpr>,
}

/// How HTTP connections are kept (configuration.txt §4 `option http-keep-alive`,
/// `option http-server-close`, `option httpclose`). When the frontend and the
/// backend differ, the stronger wins: `httpclose` over `http-server-close` over
/// `http-keep-alive` (§4 "the frontend and backend options are combined").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum HttpConnMode {
    /// Both sides stay open between requests (the default).
    #[default]
    KeepAlive,
    /// The client side stays open, the server side closes after each response.
    ServerClose,
    /// Both sides close after the response.
    Close,
}

/// `option forwardfor [except <net>] [header <name>] [if-none]` (§4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardFor {
    /// The header to add (default `X-Forwarded-For`).
    pub header: String,
    /// Sources in this network get no header (`except`).
    pub except: Option<(std::net::IpAddr, u8)>,
    /// Add it only when the request has none (`if-none`).
    pub if_none: bool,
}

/// `option originalto [except <net>] [header <name>]` (§4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalTo {
    /// The header to add (default `X-Original-To`).
    pub header: String,
    /// Destinations in this network get no header (`except`).
    pub except: Option<(std::net::IpAddr, u8)>,
}

/// The HTTP side of a proxy (frontend or backend half): `mode http`.
#[derive(Debug, Clone, Default)]
pub struct HttpSpec {
    /// `http-request` rules (§4.2), run by `haproxide_http::rules`: the frontend's
    /// before backend switching, the backend's after (a `listen` has them once,
    /// on its frontend half).
    pub http_request: Vec<haproxide_http::rules::HttpRule>,
    /// `http-response` rules: the backend's, then the frontend's.
    pub http_response: Vec<haproxide_http::rules::HttpRule>,
    /// `http-after-response` rules (also on the proxy's own responses).
    pub http_after_response: Vec<haproxide_http::rules::HttpRule>,
    /// `tcp-request content` rules of an HTTP proxy with stick-counter actions
    /// (`track-sc*`, `sc-*`): run on each request before its `http-request`
    /// rules (the frontend's before, the backend's after backend switching),
    /// as HAProxy 2.6 runs them on each HTX stream (crate::track).
    pub tcp_content: Vec<TcpRule>,
    /// `errorfile`/`errorfiles`/`http-errors` pages, HAProxy's behind them.
    pub errors: haproxide_http::reply::ErrorPages,
    /// The configuration's `userlist` sections (for `http_auth` and `auth`).
    pub userlists: Vec<haproxide_http::auth::Userlist>,
    /// `timeout tarpit` (default: `timeout connect`, as HAProxy).
    pub timeout_tarpit: Option<Duration>,
    pub conn_mode: HttpConnMode,
    /// `timeout http-request` (frontend): the whole request head must arrive within it.
    pub timeout_request: Option<Duration>,
    /// `timeout http-keep-alive` (frontend): the wait for the next request.
    pub timeout_keep_alive: Option<Duration>,
    /// `option accept-invalid-http-request` (frontend) / `-response` (backend).
    pub accept_invalid: bool,
    pub forwardfor: Option<ForwardFor>,
    pub originalto: Option<OriginalTo>,
    /// `option http-buffer-request`: wait for the whole body (up to the buffer)
    /// before the rules and the server (the `http::buffer` module).
    pub buffer_request: bool,
    /// `option http-ignore-probes` (frontend): a connection that times out or
    /// closes before sending any byte gets no 408 and no log.
    pub ignore_probes: bool,
    /// `unique-id-format` / `unique-id-header` (frontend, §4.2).
    pub unique_id: Option<UniqueIdSpec>,
    /// `compression` (§4.2, §9.2): the backend's settings first, then the
    /// frontend's (haproxide_http::compress).
    pub compression: Option<std::sync::Arc<haproxide_http::compress::CompressionSpec>>,
    /// `monitor-uri` (frontend, §4.2): answered 200 (the `errorfile 200` page,
    /// else HAProxy's) right after the head parses, before any rule; not logged.
    pub monitor_uri: Option<String>,
    /// `monitor fail` conditions (frontend, §4.2): the `monitor-uri` answers
    /// 503 (the `errorfile 503` page, else HAProxy's) while one holds.
    pub monitor_fail: Vec<haproxide_expr::Cond>,
    /// `option http-restrict-req-hdr-names` (§4.2): applied after this proxy's
    /// `http-request` rules.
    pub restrict_hdr_names: haproxide_http::hdrnames::HdrNamePolicy,
    /// `stats enable` / `stats uri` in a proxy that also forwards (§4.2).
    pub stats: Option<StatsHook>,
    /// `filter spoe` engines of this proxy (§9.3; crate::http::spoe).
    pub spoe: Vec<std::sync::Arc<haproxide_spoe::Engine>>,
    /// The global `tune.bufsize` / `tune.maxrewrite` (§3.2): head limits and
    /// the room rules have for rewrites.
    pub tune: haproxide_http::rules::BufTune,
    /// `option splice-request` / `option splice-response` (§4.2): counted as
    /// spliced (`h1_spliced_bytes_*`), copied as any body.
    pub splice_request: bool,
    pub splice_response: bool,
}

/// `unique-id-format <fmt>` and `unique-id-header <name>` (configuration.txt §4.2):
/// each request gets an ID rendered from the format (`%ID` in logs), and the
/// header carrying it when a name is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueIdSpec {
    pub format: std::sync::Arc<haproxide_expr::LogFormat>,
    pub header: Option<String>,
}

/// The stats page of an HTTP proxy that also forwards (configuration.txt §4.2
/// `stats enable`, `stats uri`): a request whose URI begins with [`StatsHook::uri`]
/// is answered by [`StatsHook::page`] (after the proxy's `http-request` rules and
/// the `stats http-request` ones in [`StatsHook::rules`]); every other request is
/// forwarded. The page itself (haproxide-admin's stats handler) works without I/O.
#[derive(Clone)]
pub struct StatsHook {
    /// `stats uri` (default `/haproxy?stats`).
    pub uri: String,
    /// `stats http-request` rules (only their `http_request` and `userlists`
    /// are read), evaluated when the URI matched.
    pub rules: Box<HttpSpec>,
    /// `stats admin { if | unless } <cond>`, evaluated by the engine on the
    /// request (any HTTP fetch, `http_auth` with the rules' userlists).
    pub admin: Option<haproxide_expr::Cond>,
    pub page: std::sync::Arc<dyn StatsPage>,
}

impl std::fmt::Debug for StatsHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsHook").field("uri", &self.uri).finish()
    }
}

/// A stats request as the engine hands it to a [`StatsPage`].
pub struct StatsRequest<'a> {
    pub method: &'a [u8],
    /// The request target from its path on (an absolute-form target's scheme
    /// and authority removed).
    pub target: &'a [u8],
    pub http10: bool,
    pub headers: &'a haproxide_http::Headers,
    /// The body (a POST of the admin form), as much as the buffer holds.
    pub body: &'a [u8],
    pub src: Option<std::net::SocketAddr>,
    /// `stats admin`'s condition passed.
    pub admin: bool,
}

/// What a [`StatsPage`] answers; the engine adds `content-length` and
/// `connection`.
pub struct StatsReply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Answers one stats request, without I/O.
pub trait StatsPage: Send + Sync + 'static {
    fn answer(&self, req: &StatsRequest<'_>) -> StatsReply;
}
