//! HAProxy's runtime API (the `stats socket`): command parsing, HAProxy 2.6's
//! output formats, and UNIX/TCP listeners.
//!
//! The module never touches the engines directly: everything it reads or changes
//! goes through [`RuntimeState`], implemented by the run loop over the forwarding
//! engine and the health checker (tests use a fake).
//!
//! - [`exec`]: a CLI session (levels, `;`, `prompt`, `quit`) and the commands;
//! - [`stat`]: `show stat`, `show servers state`, `show info`, `show backend`;
//! - [`help`]: the help lines and the "Unknown command" answers;
//! - [`listen`]: `serve_unix`, `serve_tcp`.

//! # Wiring (for the run loop)
//!
//! Implement [`RuntimeState`] over `Engine` + `Checker` + the `Plan`:
//! - [`RuntimeState::proxies`]: one [`ProxySnapshot`] per `frontend`/`backend`/`listen`
//!   in configuration order (`iid` = HAProxy's numbering: with a `stats socket` the
//!   first configured proxy got 2 in the oracle runs), FRONTEND counters from
//!   `Engine::frontend_counters` (`scur` = current, `stot` = total), servers built
//!   with [`adapt::server_snapshot`] from `HealthView::stats(id)` plus the admin flags
//!   and weights the run loop keeps, `qcur` from `Engine::queue_lengths`;
//! - [`RuntimeState::server_action`]: `Admin(Maint|Drain|Ready)` → `Checker::set_maint`
//!   / `set_drain`; `ShutdownSessions` → `Engine::shutdown_server_sessions`;
//!   `Weight`, `Health`, `Checks`, `Agent*`, `MaxConn` → the engine/checker
//!   equivalents (or an [`ActionError`] whose text is shown to the client);
//! - then `tokio::spawn(serve_address(&addr, opts, state, stop_rx))` per
//!   `stats socket` line ([`listen::parse_address`] parses its address).

pub mod adapt;
mod cache;
pub mod dcs;
pub mod exec;
pub mod help;
pub mod listen;
pub mod patcmd;
pub mod ssl;
pub mod stat;
pub mod table;
pub mod vars;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_http;
#[cfg(test)]
mod tests_serve;

pub use exec::Session;
pub use listen::{serve_stream, serve_tcp, serve_unix, CliAddress, ListenOptions};

use std::fmt;

/// A CLI access level (`stats socket ... level user|operator|admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    User,
    Operator,
    Admin,
}

impl Level {
    /// Parses `user`, `operator`, `admin`.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "user" => Some(Level::User),
            "operator" => Some(Level::Operator),
            "admin" => Some(Level::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::User => "user",
            Level::Operator => "operator",
            Level::Admin => "admin",
        })
    }
}

/// `show info`: what the process knows; the fields HAProxy has and haproxide does
/// not (SSL, compression, pools...) are printed with HAProxy's idle values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoSnapshot {
    /// `Name` ("HAProxy" for drop-in tooling).
    pub name: String,
    /// `Version` and `Build info`.
    pub version: String,
    /// `Release_date` (YYYY/MM/DD).
    pub release_date: String,
    pub nbthread: u32,
    pub pid: u32,
    pub uptime_sec: u64,
    /// `Start_time_sec` (UNIX time).
    pub start_time_sec: u64,
    pub ulimit_n: u64,
    pub maxsock: u64,
    pub maxconn: u64,
    pub hard_maxconn: u64,
    pub curr_conns: u64,
    pub cum_conns: u64,
    pub cum_req: u64,
    /// `ConnRate`, `MaxConnRate`, `SessRate`, `MaxSessRate`: connections accepted
    /// and sessions created per second over the last second, and the most seen
    /// (since start or `clear counters`).
    pub conn_rate: u64,
    pub max_conn_rate: u64,
    pub sess_rate: u64,
    pub max_sess_rate: u64,
    /// `node` (hostname or `global node`).
    pub node: String,
    pub stopping: bool,
    pub jobs: u64,
    pub listeners: u64,
    pub total_bytes_out: u64,
    pub tasks: u64,
    /// `Maxpipes`: the most pipes the relay may hold for splice(2).
    pub maxpipes: u64,
    /// `PipesUsed`: pipes held now (haproxide keeps no free pipes: `PipesFree` is 0).
    pub pipes_used: u64,
}

impl Default for InfoSnapshot {
    fn default() -> Self {
        InfoSnapshot {
            name: "HAProxy".into(),
            version: String::new(),
            release_date: String::new(),
            nbthread: 1,
            pid: 0,
            uptime_sec: 0,
            start_time_sec: 0,
            ulimit_n: 0,
            maxsock: 0,
            maxconn: 0,
            hard_maxconn: 0,
            curr_conns: 0,
            cum_conns: 0,
            cum_req: 0,
            conn_rate: 0,
            max_conn_rate: 0,
            sess_rate: 0,
            max_sess_rate: 0,
            node: String::new(),
            stopping: false,
            jobs: 0,
            listeners: 0,
            total_bytes_out: 0,
            tasks: 0,
            maxpipes: 0,
            pipes_used: 0,
        }
    }
}

/// One proxy section as `show stat` sees it: a `frontend` has only
/// [`ProxySnapshot::frontend`], a `backend` only [`ProxySnapshot::backend`], a
/// `listen` both. Proxies are listed in configuration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySnapshot {
    pub name: String,
    /// `iid`: HAProxy's proxy uuid (`id` or the automatic numbering).
    pub iid: u32,
    /// `iid` comes from an `id` line (`bk_f_forced_id` in `show servers state`).
    pub forced_id: bool,
    /// `mode` column: "tcp" or "http".
    pub mode: String,
    pub frontend: Option<FrontendSnapshot>,
    pub backend: Option<BackendSnapshot>,
}

/// The FRONTEND row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendSnapshot {
    /// "OPEN", "STOP" (disabled) or "FULL".
    pub status: String,
    pub scur: u64,
    pub smax: u64,
    pub slim: u64,
    pub stot: u64,
    pub bin: u64,
    pub bout: u64,
    pub dreq: u64,
    pub dresp: u64,
    pub ereq: u64,
    pub rate: u64,
    pub rate_lim: u64,
    pub rate_max: u64,
    pub conn_rate: u64,
    pub conn_rate_max: u64,
    pub conn_tot: u64,
    pub dcon: u64,
    pub dses: u64,
    pub eint: u64,
    /// HTTP counters of a `mode http` frontend (the stats page's own).
    pub http: Option<HttpCounters>,
}

/// HTTP request/response counters of a frontend (`req_tot`, `hrsp_*`, `intercepted`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCounters {
    pub req_tot: u64,
    /// Responses by class: 1xx, 2xx, 3xx, 4xx, 5xx, other.
    pub hrsp: [u64; 6],
    /// Requests answered by the proxy itself (stats page, exporter).
    pub intercepted: u64,
    /// Requests per second over the last second, and the most seen
    /// (`req_rate`, `req_rate_max`; FRONTEND rows only).
    pub req_rate: u64,
    pub req_rate_max: u64,
    /// `h1_spliced_bytes_in`, `h1_spliced_bytes_out` (FRONTEND and BACKEND rows).
    pub spliced: [u64; 2],
    /// Failed rewrites (`wrew`).
    pub wrew: u64,
}

impl Default for FrontendSnapshot {
    fn default() -> Self {
        FrontendSnapshot {
            status: "OPEN".into(),
            scur: 0,
            smax: 0,
            slim: 0,
            stot: 0,
            bin: 0,
            bout: 0,
            dreq: 0,
            dresp: 0,
            ereq: 0,
            rate: 0,
            rate_lim: 0,
            rate_max: 0,
            conn_rate: 0,
            conn_rate_max: 0,
            conn_tot: 0,
            dcon: 0,
            dses: 0,
            eint: 0,
            http: None,
        }
    }
}

/// Traffic counters shared by BACKEND and server rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficCounters {
    pub qcur: u64,
    pub qmax: u64,
    pub scur: u64,
    pub smax: u64,
    pub stot: u64,
    pub bin: u64,
    pub bout: u64,
    pub dresp: u64,
    pub econ: u64,
    pub eresp: u64,
    pub wretr: u64,
    pub wredis: u64,
    pub lbtot: u64,
    pub rate: u64,
    pub rate_max: u64,
    pub cli_abrt: u64,
    pub srv_abrt: u64,
    /// Seconds since the last session, -1 if none.
    pub lastsess: i64,
    pub qtime: u64,
    pub ctime: u64,
    pub rtime: u64,
    pub ttime: u64,
    pub qtime_max: u64,
    pub ctime_max: u64,
    pub rtime_max: u64,
    pub ttime_max: u64,
    pub connect: u64,
    pub reuse: u64,
    pub eint: u64,
}

impl TrafficCounters {
    /// All zero, `lastsess` -1 (no session yet).
    pub fn idle() -> Self {
        TrafficCounters {
            lastsess: -1,
            ..Default::default()
        }
    }
}

/// The BACKEND row and its servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSnapshot {
    /// "UP" or "DOWN".
    pub status: String,
    /// `algo`: "roundrobin", "leastconn", "first", "source"...
    pub algo: String,
    pub counters: TrafficCounters,
    /// `slim` (the backend's maxconn; HAProxy prints its `fullconn`-derived value).
    pub slim: u64,
    pub dreq: u64,
    pub chkdown: u64,
    pub lastchg: u64,
    pub downtime: u64,
    pub servers: Vec<ServerSnapshot>,
    /// `req_tot` and `hrsp_*` of a `mode http` backend.
    pub http: Option<HttpCounters>,
}

impl Default for BackendSnapshot {
    fn default() -> Self {
        BackendSnapshot {
            status: "UP".into(),
            algo: "roundrobin".into(),
            counters: TrafficCounters::idle(),
            slim: 0,
            dreq: 0,
            chkdown: 0,
            lastchg: 0,
            downtime: 0,
            servers: Vec::new(),
            http: None,
        }
    }
}

/// HAProxy's server operational state (`srv_op_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpState {
    Stopped = 0,
    Starting = 1,
    #[default]
    Running = 2,
    Stopping = 3,
}

/// Health-check part of a server row (`None` on [`ServerSnapshot::check`] when the
/// server has no check or checks are disabled: HAProxy then leaves these columns
/// empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckSnapshot {
    /// `check_status` as shown ("L4OK", "L4CON", "* L7OK" while running...).
    pub status: String,
    /// `check_code` (L7 only).
    pub code: Option<u32>,
    /// `check_duration` in ms.
    pub duration_ms: Option<u64>,
    /// `last_chk` (e.g. "Connection refused", empty for a plain L4OK).
    pub last_chk: String,
    /// `check_desc` ("Layer4 check passed").
    pub desc: String,
    pub rise: u32,
    pub fall: u32,
    pub health: u32,
    pub chkfail: u64,
    pub chkdown: u64,
    pub downtime: u64,
}

/// Agent-check part of a server row (`None` without `agent-check` or when
/// agent checks are disabled).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentSnapshot {
    /// `agent_status` ("L4CON", "L7OK"...).
    pub status: String,
    pub code: Option<u32>,
    pub duration_ms: Option<u64>,
    /// `last_agt` (e.g. "Connection refused").
    pub last_agt: String,
    /// `agent_desc` ("Layer4 connection problem").
    pub desc: String,
    pub rise: u32,
    pub fall: u32,
    pub health: u32,
}

/// A server's connections as `show servers conn` prints them (management.txt;
/// HAProxy's `dump_servers_state`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSnapshot {
    /// `pool-purge-delay` in ms.
    pub purge_delay: u64,
    pub used_cur: u64,
    pub used_max: u64,
    pub need_est: u64,
    /// Idle connections that served one request, and those that served more.
    pub unsafe_nb: u64,
    pub safe_nb: u64,
    /// `pool-max-conn` (-1: unlimited).
    pub idle_lim: i64,
    /// Idle connections per thread.
    pub per_thread: Vec<u64>,
}

/// A server row (and a `show servers state` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSnapshot {
    pub name: String,
    /// `sid` (the server's `id` or HAProxy's automatic numbering, from 1).
    pub sid: u32,
    /// `sid` comes from the server's `id` (`srv_f_forced_id`).
    pub forced_id: bool,
    /// Address without port (`srv_addr`), and port.
    pub host: String,
    pub port: u16,
    /// `status` column: "UP", "DOWN", "UP 1/3", "NOLB", "MAINT", "DRAIN", "no check"...
    pub status: String,
    pub op_state: OpState,
    /// Forced maintenance (`disable server`, `state maint`): SRV_ADMF_FMAINT.
    pub maint: bool,
    /// Forced drain (`state drain`): SRV_ADMF_FDRAIN.
    pub drain: bool,
    pub backup: bool,
    /// Current (user) weight and initial weight.
    pub weight: u32,
    pub iweight: u32,
    /// `slim` (maxconn), 0 = none.
    pub maxconn: u64,
    pub counters: TrafficCounters,
    pub lastchg: u64,
    pub check: Option<CheckSnapshot>,
    /// A check is configured (even if disabled at runtime): `srv_check_state`.
    pub check_configured: bool,
    /// Checks are enabled (`enable health`).
    pub check_enabled: bool,
    /// HAProxy's check status code (`srv_check_status`, HCHK_STATUS_*), derived
    /// by [`check_status_code`] from the last status name when left `None`.
    pub check_status_code: Option<u32>,
    /// `srv_check_result`: 0 unknown, 1 neutral, 2 failed, 3 passed, 4 condpass.
    pub check_result: u32,
    /// `srv_check_health` (also without a check: HAProxy keeps `rise`-based values).
    pub check_health: u32,
    pub need_conn_est: u64,
    /// Its idle connections (`show servers conn`).
    pub conn: ConnSnapshot,
    pub agent: Option<AgentSnapshot>,
    /// `agent-check` on the server line.
    pub agent_configured: bool,
    /// Not turned off by `disable agent`.
    pub agent_enabled: bool,
    /// `agent-port` (0 = none).
    pub agent_port: u16,
    /// `req_tot` and `hrsp_*` of a server of a `mode http` backend.
    pub http: Option<HttpCounters>,
    /// In HAProxy's resolution maintenance (RMAINT: `init-addr ...,none` and the
    /// name did not resolve): the name (`srv_fqdn`); `srv_addr` is then "-" and the
    /// admin state has 0x20.
    pub resolution: Option<String>,
    /// HAProxy's admin flags (`srv_admin_state`: FMAINT 0x1, IMAINT 0x2, FDRAIN 0x8,
    /// RMAINT 0x20) when the runtime knows them; None: from `maint` and `drain`.
    pub admin_flags: Option<u32>,
}

impl Default for ServerSnapshot {
    fn default() -> Self {
        ServerSnapshot {
            name: String::new(),
            sid: 0,
            forced_id: false,
            host: String::new(),
            port: 0,
            status: "no check".into(),
            op_state: OpState::Running,
            maint: false,
            drain: false,
            backup: false,
            weight: 1,
            iweight: 1,
            maxconn: 0,
            counters: TrafficCounters::idle(),
            lastchg: 0,
            check: None,
            check_configured: false,
            check_enabled: false,
            check_status_code: None,
            check_result: 0,
            check_health: 0,
            need_conn_est: 0,
            conn: ConnSnapshot::default(),
            agent: None,
            agent_configured: false,
            agent_enabled: false,
            agent_port: 0,
            http: None,
            resolution: None,
            admin_flags: None,
        }
    }
}

/// HAProxy's HCHK_STATUS_* number for a `check_status` name ("INI" → 1,
/// "L4OK" → 6, "L4CON" → 8, "L7OK" → 15...), as `show servers state` prints it.
pub fn check_status_code(name: &str) -> u32 {
    match name.trim_start_matches("* ") {
        "INI" => 1,
        "START" => 2,
        "CHECKED" => 3,
        "HANA" => 4,
        "SOCKERR" => 5,
        "L4OK" => 6,
        "L4TOUT" => 7,
        "L4CON" => 8,
        "L6OK" => 9,
        "L6TOUT" => 10,
        "L6RSP" => 11,
        "L7TOUT" => 12,
        "L7RSP" => 13,
        "L57DATA" => 14,
        "L7OK" => 15,
        "L7OKC" => 16,
        "L7STS" => 17,
        "PROCERR" => 18,
        "PROCTOUT" => 19,
        "PROCOK" => 20,
        _ => 0,
    }
}

/// The administrative state set by `set server B/S state ...`, `disable/enable server`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminState {
    Ready,
    Drain,
    Maint,
}

/// `set server B/S health ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthOp {
    Up,
    Stopping,
    Down,
}

/// A change the CLI asks of the runtime, on one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAction {
    /// `set server state`, `disable server` (Maint), `enable server` (Ready).
    Admin(AdminState),
    /// `set server health`.
    Health(HealthOp),
    /// `set weight`, `set server weight`: the new absolute weight (0..=256).
    Weight(u32),
    /// `shutdown sessions server`.
    ShutdownSessions,
    /// `enable health` (true) / `disable health` (false).
    Checks(bool),
    /// `set maxconn server` (0 = unlimited).
    MaxConn(u64),
    /// `set server B/S agent up` (true) / `down` (false).
    Agent(bool),
    /// `enable agent` (true) / `disable agent` (false).
    AgentChecks(bool),
}

/// A change the CLI asks of the runtime, on one frontend (or `listen` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontendAction {
    /// `disable frontend`: stop accepting (status "PAUSED").
    Disable,
    /// `enable frontend`.
    Enable,
    /// `shutdown frontend`: stop it for good.
    Shutdown,
    /// `set maxconn frontend`.
    MaxConn(u64),
}

/// One live session for `show sess` (management.txt §9.3): what haproxide knows
/// of HAProxy's stream fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSnapshot {
    /// The session id (`shutdown session` takes it; printed `0x…` as HAProxy
    /// prints its stream pointers).
    pub id: u64,
    /// "tcpv4", "tcpv6", "unix_stream".
    pub proto: String,
    /// "IP:PORT", or "unix:1".
    pub src: String,
    /// The frontend's name and uuid.
    pub frontend: (String, u32),
    /// "tcp" or "http".
    pub mode: String,
    /// "IP:PORT" the client connected to (None: unknown).
    pub dst: Option<String>,
    /// The backend's name and uuid; None before the session is switched to one
    /// (`be=<NONE>`).
    pub backend: Option<(String, u32)>,
    /// The server's name and id, while the session holds a slot on it
    /// (connecting or established); None before (`srv=<none>`, e.g. queued).
    pub server: Option<(String, u32)>,
    /// "IP:PORT" of the server (None when it depends on the client, e.g. a
    /// `0.0.0.0` or `+port` server).
    pub server_addr: Option<String>,
    pub age_sec: u64,
    /// When it was accepted (`show sess <id>`'s header).
    pub accepted: std::time::SystemTime,
}

/// Why the runtime refused an action; the text is printed as is (with a newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError(pub String);

/// What the CLI needs from the running process. Implemented by the run loop over
/// `Engine` + `Checker`; the CLI resolves names itself (from [`RuntimeState::proxies`])
/// before calling [`RuntimeState::server_action`], so `backend`/`server` always exist.
pub trait RuntimeState: Send + Sync {
    /// `show info`.
    fn info(&self) -> InfoSnapshot;
    /// Every proxy section, in configuration order, with current counters and states.
    fn proxies(&self) -> Vec<ProxySnapshot>;
    /// Applies an action to a server, named as in [`RuntimeState::proxies`]. An
    /// error's text is printed to the client as is (a newline is added if missing).
    fn server_action(
        &self,
        backend: &str,
        server: &str,
        action: ServerAction,
    ) -> Result<(), ActionError>;
    /// `clear counters` (max values and rates) or `clear counters all` (everything).
    fn clear_counters(&self, all: bool);
    /// `disable/enable/shutdown frontend`, `set maxconn frontend` (the CLI has
    /// checked the frontend exists and, for disable/enable, its current state).
    fn frontend_action(&self, frontend: &str, action: FrontendAction) -> Result<(), ActionError>;
    /// `set maxconn global`.
    fn set_global_maxconn(&self, maxconn: u64) -> Result<(), ActionError>;
    /// `show servers state`, `show backend`: [`RuntimeState::proxies`] plus the
    /// `disabled` backends, which HAProxy lists there too (in configuration order).
    fn proxies_with_disabled(&self) -> Vec<ProxySnapshot> {
        self.proxies()
    }
    /// `show sess`: every live session, oldest first (none by default).
    fn sessions(&self) -> Vec<SessionSnapshot> {
        Vec::new()
    }
    /// The stick tables (`show table`, `clear table`, `set table`); None
    /// when the process runs none.
    fn stick_tables(&self) -> Option<std::sync::Arc<haproxide_stick::Tables>> {
        None
    }
    /// The caches (`show cache`, management.txt §9.3); none by default.
    fn caches(&self) -> Vec<std::sync::Arc<haproxide_http::cache::Cache>> {
        Vec::new()
    }
    /// `shutdown session <id>`: whether that session existed (and is now cut).
    fn shutdown_session(&self, id: u64) -> bool {
        let _ = id;
        false
    }
    /// `add server <backend>/<server> <args>` (management.txt §9.3): the answer
    /// ("New server registered.") or HAProxy's refusal.
    fn add_server(&self, backend: &str, args: &[&str]) -> Result<String, ActionError> {
        let _ = (backend, args);
        Err(ActionError("Unknown command.".into()))
    }
    /// `del server <backend>/<server>`: "Server deleted." or HAProxy's refusal.
    fn del_server(&self, backend: &str, server: &str) -> Result<String, ActionError> {
        let _ = (backend, server);
        Err(ActionError("Unknown command.".into()))
    }
    /// The certificate files of the TLS binds, for `show/set/commit ssl cert`
    /// (none by default: every file is unknown).
    fn cert_store(&self) -> Option<std::sync::Arc<haproxide_tls::CertStore>> {
        None
    }
    /// haproxide-only `show dcs`: the followed Patroni clusters (none by default).
    fn dcs(&self) -> dcs::DcsSnapshot {
        dcs::DcsSnapshot::default()
    }
    /// `_getsocks`: what sends this process's listening sockets over a UNIX CLI
    /// connection (blocking; HAProxy's wire format), returning how many were sent.
    /// None: this process has nothing to export (the connection is just closed).
    fn export_listeners(&self) -> Option<ExportListeners> {
        None
    }
}

/// Sends the listening sockets over a CLI connection (see
/// [`RuntimeState::export_listeners`]).
pub type ExportListeners =
    Box<dyn FnOnce(std::os::unix::net::UnixStream) -> std::io::Result<usize> + Send>;
