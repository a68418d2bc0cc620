//! The typed configuration model.
//!
//! Sections and keywords the engine runs are typed here (with the [`Span`] of what
//! they came from); every other keyword is kept as a generic [`Directive`] and
//! reported as "not run by haproxide yet" where it matters. [`crate::resolve`] then
//! applies defaults and `default-server` inheritance in place.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::reader::{Line, Word};
use crate::source::Span;
use crate::value::{Address, Millis};

/// A name with the place it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub span: Span,
}

impl Named {
    pub fn from_word(w: &Word) -> Named {
        Named {
            name: w.text.clone(),
            span: w.span,
        }
    }
}

/// A typed value with the place it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// A keyword line kept as words (every line of a section is kept this way, typed or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The canonical keyword, possibly several words (`option httpchk`, `timeout client`).
    pub keyword: String,
    /// `no option x` / `default option x`.
    pub modifier: Modifier,
    pub line: Line,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Modifier {
    #[default]
    None,
    No,
    Default,
}

/// §3.2 `tune.listener.multi-queue { on | fair | off }`: how accepted connections
/// are spread over the threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiQueue {
    /// The thread with the fewest connections (the default).
    On,
    /// Each thread in turn (HAProxy ≥ 2.8).
    Fair,
    /// The thread that accepted it.
    Off,
}

/// `global` (configuration.txt §3). Several `global` sections merge into one.
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub spans: Vec<Span>,
    pub maxconn: Option<u32>,
    pub nbthread: Option<u32>,
    pub daemon: bool,
    pub master_worker: bool,
    /// `master-worker no-exit-on-failure` (§3.1): a worker failing does not take
    /// the other processes down.
    pub master_worker_no_exit_on_failure: bool,
    pub quiet: bool,
    /// Where `quiet` was first read (file, line): HAProxy is silent from there
    /// on, what it printed before stays (the `--format haproxy` renderer).
    pub quiet_at: Option<(crate::source::FileId, u32)>,
    pub zero_warning: bool,
    pub external_check: bool,
    pub pidfile: Option<Named>,
    pub user: Option<Named>,
    pub group: Option<Named>,
    pub chroot: Option<Named>,
    pub hard_stop_after: Option<Millis>,
    pub spread_checks: Option<u32>,
    /// `tune.listener.multi-queue` (configuration.txt §3.2); None: `on`.
    pub multi_queue: Option<MultiQueue>,
    pub logs: Vec<LogTarget>,
    pub stats_sockets: Vec<StatsSocket>,
    pub stats_timeout: Option<Millis>,
    /// `stats maxconn` (configuration.txt §3.2): concurrent CLI clients.
    pub stats_maxconn: Option<u32>,
    pub server_state_file: Option<Named>,
    pub server_state_base: Option<Named>,
    /// `lua-load` and `lua-load-per-thread` files, in order (§3.1).
    pub lua_loads: Vec<Named>,
    /// `lua-prepend-path`, `tune.lua.*` (§3.1, §3.2).
    pub lua: LuaSettings,
    /// The uid to run as: `uid <number>`, or the id of `user <name>` (§3.1); the
    /// last of these lines wins.
    pub uid: Option<Spanned<u32>>,
    /// The gid to run as: `gid <number>` or `group <name>` (§3.1).
    pub gid: Option<Spanned<u32>>,
    /// `ulimit-n <number>` (§3.1): the descriptor limit to set.
    pub ulimit_n: Option<Spanned<u64>>,
    /// `mworker-max-reloads <number>` (§3.1).
    pub mworker_max_reloads: Option<Spanned<u32>>,
    /// `strict-limits` / `no strict-limits` (§3.1); None: on.
    pub strict_limits: Option<bool>,
    /// `cpu-map` lines (§3.1): accepted, not applied.
    pub cpu_maps: Vec<Span>,
    /// `nosplice` (§3.2).
    pub nosplice: bool,
    /// `tune.bufsize <number>` (§3.2), rounded up to 16 as HAProxy does.
    pub tune_bufsize: Option<usize>,
    /// `tune.maxrewrite <number>` (§3.2).
    pub tune_maxrewrite: Option<usize>,
    /// `log-tag <string>` (§3.1).
    pub log_tag: Option<Named>,
    /// `log-send-hostname [<string>]` (§3.1): `Some(None)` sends the system's name.
    pub log_send_hostname: Option<Option<Named>>,
    /// `description <text>` (§3.1): the words joined by one space.
    pub description: Option<Named>,
    /// `ssl-default-bind-options|ciphers|ciphersuites|curves` (§3.1).
    pub ssl_default_bind: haproxide_tls::TlsOptions,
    /// `ssl-default-server-*` (§3.1) and `ssl-server-verify` (as its `verify`).
    pub ssl_default_server: haproxide_tls::TlsOptions,
    /// `tune.ssl.cachesize` (§3.2; default 20000).
    pub tune_ssl_cachesize: Option<u32>,
    /// `tune.ssl.maxrecord` (§3.2; default: 16 kB records).
    pub tune_ssl_maxrecord: Option<u32>,
    /// `tune.h2.*` (§3.2): HTTP/2 settings of every client connection.
    pub tune_h2: TuneH2,
    pub directives: Vec<Directive>,
}

/// `lua-prepend-path <string> [path|cpath]` and `tune.lua.*` (configuration.txt
/// §3.1, §3.2); None: HAProxy's default.
#[derive(Debug, Clone, Default)]
pub struct LuaSettings {
    /// (template, is `cpath`), in order.
    pub prepend_path: Vec<(Named, bool)>,
    /// `tune.lua.maxmem` in megabytes (0: no limit).
    pub maxmem_mb: Option<u64>,
    /// `tune.lua.session-timeout` (default 4 s).
    pub session_timeout: Option<Millis>,
    /// `tune.lua.service-timeout` (default 4 s).
    pub service_timeout: Option<Millis>,
    /// `tune.lua.forced-yield` (default 10000).
    pub forced_yield: Option<u32>,
    /// Some file came from `lua-load-per-thread`.
    pub per_thread: bool,
}

/// `tune.h2.header-table-size`, `tune.h2.initial-window-size`,
/// `tune.h2.max-concurrent-streams`, `tune.h2.max-frame-size` (configuration.txt
/// §3.2); None: HAProxy's default (4096, 65535, 100, 16384).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TuneH2 {
    pub header_table_size: Option<u32>,
    pub initial_window_size: Option<u32>,
    pub max_concurrent_streams: Option<u32>,
    pub max_frame_size: Option<u32>,
}

/// `log` (configuration.txt §3.1 `log`, §4.2 `log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// `log global`: use the global log targets.
    Global(Span),
    /// `no log`.
    Disabled(Span),
    Target(Box<LogDest>),
}

/// A log destination (configuration.txt §3.1 `log`), every argument typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDest {
    /// The address as written: `stdout`, `stderr`, a UNIX path, `ip:port`, `ring@name`...
    pub target: Named,
    /// Where it points (environment variables expanded).
    pub addr: LogAddr,
    /// `len <length>`: 80 to 65535.
    pub len: Option<u32>,
    /// `format <format>`; None: HAProxy's default (`rfc3164` with `log-send-hostname`).
    pub format: Option<LogFormat>,
    /// `sample <ranges>:<size>`.
    pub sample: Option<LogSample>,
    pub facility: Spanned<Facility>,
    /// The most verbose level sent.
    pub level: Option<Spanned<LogLevel>>,
    /// Messages more severe than this are sent at this level.
    pub min_level: Option<Spanned<LogLevel>>,
}

/// Where a `log` line sends (configuration.txt §3.1 `log` `<address>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogAddr {
    Stdout,
    Stderr,
    /// `fd@N` (1 and 2 are stdout and stderr).
    Fd(i32),
    /// `/path` or `unix@path`: a UNIX datagram socket.
    Unix(String),
    /// A UDP syslog server (`ip[:port]`, `host[:port]`, `udp@`...): port 514 by default.
    Udp(Address),
    /// `ring@<name>`.
    Ring(String),
    /// `backend@<name>` (HAProxy ≥ 2.9).
    Backend(String),
}

/// A syslog facility (configuration.txt §3.1 `log` `<facility>`): its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(pub u8);

impl Facility {
    /// The 24 facilities, in number order.
    pub const NAMES: [&'static str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
        "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
        "local5", "local6", "local7",
    ];

    pub fn from_name(name: &str) -> Option<Facility> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Facility(i as u8))
    }
}

/// A syslog level (configuration.txt §3.1 `log` `<level>`): 0 (emerg) to 7 (debug).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLevel(pub u8);

impl LogLevel {
    pub const NAMES: [&'static str; 8] = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];

    pub fn from_name(name: &str) -> Option<LogLevel> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| LogLevel(i as u8))
    }
}

/// `log ... format <format>` (configuration.txt §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Local,
    Rfc3164,
    Rfc5424,
    Priority,
    Short,
    Timed,
    Iso,
    Raw,
}

impl LogFormat {
    pub fn from_name(name: &str) -> Option<LogFormat> {
        Some(match name {
            "local" => LogFormat::Local,
            "rfc3164" => LogFormat::Rfc3164,
            "rfc5424" => LogFormat::Rfc5424,
            "priority" => LogFormat::Priority,
            "short" => LogFormat::Short,
            "timed" => LogFormat::Timed,
            "iso" => LogFormat::Iso,
            "raw" => LogFormat::Raw,
            _ => return None,
        })
    }
}

/// `log ... sample <ranges>:<size>` (configuration.txt §3.1): of each run of
/// `size` lines, those whose 1-based position is in a range are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSample {
    /// Inclusive ranges, each within 1..=size.
    pub ranges: Vec<(u32, u32)>,
    pub size: u32,
}

/// `stats socket` (configuration.txt §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSocket {
    pub address: Named,
    pub parsed: Option<Address>,
    /// `level` (§5.1); None: HAProxy's default, `operator`.
    pub level: Option<CliLevel>,
    /// `mode <octal>` (§5.1).
    pub mode: Option<u32>,
    /// `uid <number>` or `user <name>` (§5.1), the last one.
    pub uid: Option<u32>,
    /// `gid <number>` or `group <name>` (§5.1), the last one.
    pub gid: Option<u32>,
    /// `maxconn <n>` (§5.1): this socket's concurrent clients. None when absent or
    /// 0 (HAProxy reads it with atol(): 0 leaves the CLI frontend's, `stats maxconn`).
    pub maxconn: Option<u32>,
    /// `expose-fd listeners` (§5.1): `_getsocks` hands the listening sockets to a
    /// new process started with `-x` (management.txt §3).
    pub expose_fd_listeners: bool,
    /// The first option of the line the CLI listener does not run, as a diagnostic
    /// names it (`` `stats socket ... accept-proxy` ``): the socket is refused
    /// rather than opened without it.
    pub not_run: Option<Spanned<String>>,
}

/// A CLI access level (configuration.txt §5.1 `level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliLevel {
    User,
    Operator,
    Admin,
}

impl CliLevel {
    pub fn from_name(name: &str) -> Option<CliLevel> {
        match name {
            "user" => Some(CliLevel::User),
            "operator" => Some(CliLevel::Operator),
            "admin" => Some(CliLevel::Admin),
            _ => None,
        }
    }
}

/// Proxy kinds (configuration.txt §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    Defaults,
    Frontend,
    Backend,
    Listen,
}

impl ProxyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyKind::Defaults => "defaults",
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            ProxyKind::Listen => "listen",
        }
    }
    pub fn has_frontend(self) -> bool {
        matches!(
            self,
            ProxyKind::Frontend | ProxyKind::Listen | ProxyKind::Defaults
        )
    }
    pub fn has_backend(self) -> bool {
        matches!(
            self,
            ProxyKind::Backend | ProxyKind::Listen | ProxyKind::Defaults
        )
    }
}

/// `http-reuse` (configuration.txt §4.2): which idle server connections a
/// request may be sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum HttpReuse {
    /// A server connection belongs to its client connection.
    Never,
    /// A client connection's first request never goes on an idle connection of
    /// another; its next requests may (HAProxy's default).
    #[default]
    Safe,
    /// First requests may take connections that served two requests or more.
    Aggressive,
    /// First requests may take any idle connection.
    Always,
}

/// `mode` (configuration.txt §4.2 `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Tcp,
    Http,
    /// `mode log` (log backends, HAProxy ≥ 2.9).
    Log,
    /// `mode spop` (HAProxy ≥ 3.1).
    Spop,
    /// `mode health` (removed in 2.4? accepted by 2.6 for compatibility as an error).
    Health,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Tcp => "tcp",
            Mode::Http => "http",
            Mode::Log => "log",
            Mode::Spop => "spop",
            Mode::Health => "health",
        }
    }
}

/// `balance` algorithms (configuration.txt §4.2 `balance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    StaticRr,
    LeastConn,
    First,
    Source,
    Random { draws: u32 },
    Uri { args: Vec<String> },
    UrlParam { param: String, args: Vec<String> },
    Hdr { name: String, args: Vec<String> },
    RdpCookie { name: Option<String> },
    Hash { expr: String },
    LogHash { conv: String },
    Sticky,
}

/// A typed server or default-server option (configuration.txt §5.2). Options not
/// typed here are kept in [`ServerDef::other`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerParams {
    pub check: Option<bool>,
    pub inter: Option<Millis>,
    pub fastinter: Option<Millis>,
    pub downinter: Option<Millis>,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    pub weight: Option<u32>,
    pub backup: Option<bool>,
    pub disabled: Option<bool>,
    pub maxconn: Option<u32>,
    pub maxqueue: Option<u32>,
    pub minconn: Option<u32>,
    pub port: Option<u16>,
    pub addr: Option<String>,
    pub on_marked_down: Option<String>,
    /// `cookie <value>` (§5.2): the persistence cookie value of this server.
    pub cookie: Option<String>,
    pub on_marked_up: Option<String>,
    pub on_error: Option<String>,
    pub init_addr: Option<Vec<String>>,
    pub init_state: Option<String>,
    pub track: Option<Named>,
    pub send_proxy: Option<bool>,
    pub send_proxy_v2: Option<bool>,
    pub check_send_proxy: Option<bool>,
    /// `socks4 <addr>:<port>` (configuration.txt §5.2): the SOCKS4 proxy that
    /// outgoing connections to the server go through.
    pub socks4: Option<Spanned<Address>>,
    /// `check-via-socks4` (configuration.txt §5.2): health checks go through the
    /// server's `socks4` proxy too (without `socks4` it has no effect, as in HAProxy).
    pub check_via_socks4: Option<bool>,
    pub check_ssl: Option<bool>,
    pub ssl: Option<bool>,
    pub verify: Option<String>,
    pub ca_file: Option<Named>,
    pub crt: Option<Named>,
    /// `sni <expr>` (§5.2): a sample expression, checked when read.
    pub sni: Option<String>,
    /// `check-sni <name>` (§5.2).
    pub check_sni: Option<String>,
    /// `alpn <list>` (§5.2), comma-separated.
    pub alpn: Option<String>,
    /// `check-alpn <list>` (§5.2).
    pub check_alpn: Option<String>,
    /// `ssl-reuse` / `no-ssl-reuse` (§5.2; resumption is on by default).
    pub ssl_reuse: Option<bool>,
    /// `verifyhost <name>` (§5.2).
    pub verifyhost: Option<String>,
    /// `ssl-min-ver`, `ssl-max-ver`, `ciphers`, `ciphersuites`, `no-tlsv1x`,
    /// `force-tlsv1x`, `no-tls-tickets` (§5.2); the global `ssl-default-server-*`
    /// fill what is unset when the server's TLS spec is built.
    pub tls_opts: Option<haproxide_tls::TlsOptions>,
    pub agent_check: Option<bool>,
    pub agent_port: Option<u16>,
    pub agent_addr: Option<String>,
    pub agent_inter: Option<Millis>,
    pub agent_send: Option<String>,
    pub resolvers: Option<Named>,
    pub slowstart: Option<Millis>,
    pub source: Option<String>,
    /// `pool-max-conn <n>` (§5.2): idle connections kept for the server, -1
    /// unlimited (the default), 0 none.
    pub pool_max_conn: Option<i32>,
    /// `pool-purge-delay <time>` (§5.2, default 5s; 0: no idle connection kept).
    pub pool_purge_delay: Option<Millis>,
    /// `pool-low-conn <n>` (§5.2, default 0).
    pub pool_low_conn: Option<u32>,
    /// `max-reuse <n>` (§5.2): -1 (the default) unlimited.
    pub max_reuse: Option<i32>,
}

impl ServerParams {
    /// Whether a host name is looked up at start-up (configuration.txt §5.2
    /// `init-addr`, HAProxy's `srv_iterate_initaddr`): the methods run in order and
    /// `none` ends the walk, so `libc` must come before the first `none` (the
    /// default `last,libc` resolves).
    pub fn resolves_at_start(&self) -> bool {
        match &self.init_addr {
            None => true,
            Some(m) => m
                .iter()
                .take_while(|x| x.as_str() != "none")
                .any(|x| x == "libc"),
        }
    }
}

/// `server` or `default-server` (configuration.txt §4.2 `server`, §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDef {
    /// Empty for `default-server`.
    pub name: Named,
    /// The address as written (env not yet expanded) and parsed; None for default-server.
    pub address: Option<Named>,
    pub parsed: Option<Address>,
    pub params: ServerParams,
    /// `id <number>` (§5.2): the server's forced unique id.
    pub id: Option<Spanned<u32>>,
    /// Options haproxide does not type (yet), with their argument.
    pub other: Vec<(String, Option<String>, Span)>,
    /// The TLS client spec of an `ssl` server (files loaded, global defaults
    /// applied), set when the configuration is resolved.
    pub tls: Option<haproxide_tls::ServerTlsSpec>,
    pub span: Span,
}

impl ServerDef {
    /// `proto <name>` (configuration.txt §5.2: the multiplexer spoken to the
    /// server, `h1` or `h2`), with where it was written.
    pub fn proto(&self) -> Option<(&str, Span)> {
        self.other_option("proto")
    }

    /// An option kept untyped (`other`), with its value (empty when it has
    /// none) and place: the first one written.
    pub fn other_option(&self, name: &str) -> Option<(&str, Span)> {
        self.other
            .iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, v, span)| (v.as_deref().unwrap_or(""), *span))
    }
}

/// `bind` (configuration.txt §4.2 `bind`, §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// One `bind` line may list several comma-separated addresses.
    pub addresses: Vec<(Named, Address)>,
    pub name: Option<String>,
    pub maxconn: Option<u32>,
    pub backlog: Option<u32>,
    pub v4v6: bool,
    pub v6only: bool,
    pub accept_proxy: bool,
    /// `proto h2` (§5.1): HTTP/2 with prior knowledge (`proto h1`: false).
    pub proto_h2: bool,
    pub ssl: bool,
    /// The TLS options (§5.1), typed; the certificates loaded and checked.
    pub tls: BindTls,
    pub other: Vec<(String, Option<String>, Span)>,
    pub span: Span,
}

/// The TLS side of a `bind` line (configuration.txt §5.1 `ssl`, `crt`,
/// `crt-list`, `ca-file`, `verify`, `alpn`, `ssl-min-ver`... and the global
/// `ssl-default-bind-*` it inherits, §3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindTls {
    /// The bind's options, with the global defaults filled in.
    pub options: haproxide_tls::TlsOptions,
    /// Certificates in order (`crt` files, directory members, `crt-list` lines);
    /// empty when files were not read (`check_files` off).
    pub crts: Vec<haproxide_tls::CrtEntry>,
    pub strict_sni: bool,
    /// The global `tune.ssl.cachesize` / `tune.ssl.maxrecord` (§3.2).
    pub cache_size: Option<u32>,
    pub max_record: Option<u32>,
    /// What HAProxy accepts and rustls cannot do (TLS below 1.2, `npn`...): the
    /// engine refuses the bind with these.
    pub refused: Vec<(String, Span)>,
    /// The bind line's `<file>:<line>` (the CLI's `del ssl crt-list` names it).
    pub at: String,
}

/// An ACL expression: `fetch[(args)][,conv...] [-flags] [patterns]` (configuration.txt §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclExpr {
    pub fetch: Named,
    pub args: Option<String>,
    pub converters: Vec<String>,
    pub flags: Vec<String>,
    pub patterns: Vec<String>,
}

/// `acl <name> <expr>` (configuration.txt §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub name: Named,
    pub expr: AclExpr,
    /// Why the expression engine could not type this line (valid HAProxy it does
    /// not have yet), if it could not.
    pub untyped: Option<String>,
}

/// One term of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondTerm {
    /// A named ACL, possibly negated with `!`.
    Named { negated: bool, name: Named },
    /// An anonymous ACL `{ ... }`.
    Anonymous { negated: bool, expr: AclExpr },
}

/// `if|unless` condition: OR of ANDs (configuration.txt §7.2 "Using ACLs to form conditions").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub unless: bool,
    pub or_terms: Vec<Vec<CondTerm>>,
    pub span: Span,
    /// The condition typed by the expression engine (`haproxide-expr`), or why it
    /// could not be (a fetch, converter or pattern form the engine does not have
    /// yet: valid HAProxy, not run yet).
    pub typed: Result<haproxide_expr::Cond, String>,
}

/// `stick-table type <type> size <size> [expire <t>] ...` (§4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickTableCfg {
    /// `ip`, `ipv6`, `integer`, `string`, `binary`.
    pub kind: String,
    pub size: u64,
    pub expire: Option<Millis>,
    /// `len <n>` of `string` / `binary` keys.
    pub len: Option<u64>,
    /// `store <type>[(<period>)],...`: the data types, periods in ms for rates.
    pub store: Vec<(haproxide_expr::stktab::Data, u32)>,
    /// `nopurge`.
    pub nopurge: bool,
    /// `peers <section>`.
    pub peers: Option<String>,
    /// `srvkey addr` (else `srvkey name`, the default): `stick` rules store and
    /// match a server by its address.
    pub srvkey_addr: bool,
    /// `srvkey ...`, `write-to`, `recv-only`, unknown data types: what the engine
    /// does not run.
    pub other: Vec<String>,
}

/// `stick on|match|store-request|store-response <pattern> [table <t>] [if|unless ...]`.
#[derive(Debug, Clone)]
pub struct StickRuleCfg {
    /// `on`, `match`, `store-request`, `store-response`.
    pub kind: String,
    pub pattern: String,
    /// The pattern typed by the expression engine, or why it could not be (a
    /// fetch or converter HAProxy has and this engine not yet).
    pub expr: Result<haproxide_expr::SampleExpr, String>,
    pub table: Option<String>,
    pub has_cond: bool,
    /// The `if|unless` condition.
    pub cond: Option<Condition>,
    pub span: Span,
}

/// `bind <addr>`, `peer <name> <addr>` or `server <name> [<addr>]` in a
/// `peers` section (§3.5); the address as read (environment expanded).
#[derive(Debug, Clone)]
pub struct PeerLineCfg {
    pub section: String,
    /// The peer's name; `None` for `bind`.
    pub name: Option<String>,
    pub addr: Option<crate::value::Address>,
    pub span: Span,
}

/// `table <name> type ...` in a `peers` section (§3.5): a stick table named
/// `<section>/<name>`.
#[derive(Debug, Clone)]
pub struct PeerTableCfg {
    pub section: String,
    pub name: String,
    pub table: Spanned<StickTableCfg>,
}

/// `ignore-persist` / `force-persist { if | unless } <condition>` (§4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistRule {
    /// `force-persist` (else `ignore-persist`).
    pub force: bool,
    pub cond: Condition,
    pub span: Span,
}

/// `use_backend <name> [if|unless cond]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseBackend {
    pub backend: Named,
    pub cond: Option<Condition>,
    /// A name with `%` is a log-format, resolved per request (§4.2
    /// `use_backend`): typed by the expression engine, or why it could not be.
    pub format: Option<Result<std::sync::Arc<haproxide_expr::LogFormat>, String>>,
}

/// A rule of `tcp-request`/`http-request`/... with its action and condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `tcp-request connection`, `http-request`...
    pub ruleset: String,
    pub action: Named,
    pub args: Vec<String>,
    pub cond: Option<Condition>,
    /// An `http-request`/`http-response`/`http-after-response`/`redirect` action
    /// typed once ([`crate::http_rules`]), also a TCP rule's `set-var`,
    /// `set-var-fmt`, `unset-var`; `None` for other actions and for those the
    /// engine does not type (translate refuses those).
    pub http: Option<crate::http_rules::TypedAction>,
}

/// `http-error status <code> [content-type <type>] [<payload>] [hdr <name>
/// <fmt>]*` (configuration.txt §4.2 "http-error"): the reply that replaces the
/// proxy's error page for the status.
#[derive(Debug, Clone)]
pub struct HttpErrorCfg {
    /// (file, line) of the directive: a later `errorfile` for the same status
    /// replaces it, and the reverse (line order).
    pub at: (crate::source::FileId, u32),
    pub reply: Arc<haproxide_http::rules::ReplySpec>,
}

/// `option <name>` / `no option <name>` (configuration.txt §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyOption {
    pub name: Named,
    pub negated: bool,
    pub args: Vec<String>,
}

/// A proxy section: `defaults`, `frontend`, `backend` or `listen`.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub kind: ProxyKind,
    /// Empty for an anonymous `defaults`.
    pub name: Named,
    /// `from <defaults>`.
    pub from: Option<Named>,
    /// The span of the section header line.
    pub span: Span,
    pub mode: Option<Mode>,
    pub binds: Vec<Bind>,
    pub servers: Vec<ServerDef>,
    pub default_server: Option<ServerDef>,
    pub balance: Option<Balance>,
    pub hash_type: Option<Vec<String>>,
    pub timeouts: BTreeMap<String, Millis>,
    pub retries: Option<u32>,
    pub maxconn: Option<u32>,
    pub fullconn: Option<u32>,
    pub options: Vec<ProxyOption>,
    pub default_backend: Option<Named>,
    pub use_backends: Vec<UseBackend>,
    /// `monitor fail {if|unless} <cond>` lines (§4.2), in order.
    pub monitor_fail: Vec<Condition>,
    pub acls: Vec<Acl>,
    /// The same ACLs typed by the expression engine: the one table conditions
    /// resolve names in (with the pre-defined ACLs behind it).
    pub acl_set: haproxide_expr::AclSet,
    pub rules: Vec<Rule>,
    pub logs: Vec<LogTarget>,
    pub disabled: bool,
    /// `http-check ...` rules, in order (typed: [`crate::checks`]).
    pub http_checks: Vec<crate::checks::CheckRule>,
    /// `tcp-check ...` rules, in order.
    pub tcp_checks: Vec<crate::checks::CheckRule>,
    /// Whether `http-check` / `tcp-check` rules were written while no
    /// `option httpchk` / `option tcp-check` was in effect, and no check option
    /// came after them (HAProxy 2.6's `TCPCHK_RULES_UNUSED_*_RS`): the rules
    /// are ignored, with a warning.
    pub unused_checks: UnusedChecks,
    /// `id <number>` (§4.2): the proxy's forced unique id.
    pub id: Option<Spanned<u32>>,
    /// Where this section's own `mode` line is (an inherited mode has none).
    pub mode_span: Option<Span>,
    /// Where this section's own `balance` line is.
    pub balance_span: Option<Span>,
    /// `tcp-request inspect-delay <time>` (§4.2), this section's own.
    pub inspect_delay: Option<Millis>,
    /// `tcp-response inspect-delay <time>` (§4.2), this section's own.
    pub res_inspect_delay: Option<Millis>,
    /// `log-tag <string>` (§4.2): this section's own, else its defaults section's.
    pub log_tag: Option<Named>,
    /// The session log format (§4.2 `log-format`, `option tcplog`, `option httplog`,
    /// `option httpslog`; §8.2.4): one setting, the section's last line wins; a
    /// proxy without one takes its defaults section's.
    pub log_format: Option<SessionLog>,
    /// `load-server-state-from-file { global | local | none }` (§4.2), inherited.
    pub load_server_state_from_file: Option<Spanned<StateFrom>>,
    /// `server-state-file-name [{ use-backend-name | <file> }]` (§4.2), inherited.
    pub server_state_file_name: Option<Named>,
    /// `backlog <conns>` (§4.2): the listen queue of `bind` lines without one;
    /// inherited from the defaults section by proxies with a frontend.
    pub backlog: Option<Spanned<u32>>,
    /// `stats ...` lines (§4.2): the defaults section's first, then this section's.
    pub stats: Vec<Spanned<StatsKw>>,
    /// `cookie <name> [options]` (§4.2 `cookie`): this section's own, else its
    /// defaults section's.
    pub cookie: Option<Spanned<haproxide_http::persist::CookieSpec>>,
    /// `ignore-persist` / `force-persist` rules (§4.2), in order.
    pub persist_rules: Vec<PersistRule>,
    /// `stick-table ...` (§4.2), as far as typed.
    pub stick_table: Option<Spanned<StickTableCfg>>,
    /// `stick on|match|store-request|store-response ...` (§4.2), in order.
    pub stick_rules: Vec<StickRuleCfg>,
    /// `http-error` replies, in line order.
    pub http_error: Vec<HttpErrorCfg>,
    /// `http-reuse <mode>` (§4.2): this section's own, else its defaults section's.
    pub http_reuse: Option<Spanned<HttpReuse>>,
    /// `filter spoe` lines with their SPOE file read and typed (§9.3).
    pub spoe: Vec<crate::spoe::SpoeFilter>,
    /// Every line of the section, typed or not, in order.
    pub directives: Vec<Directive>,
    /// The defaults section this proxy inherits from (index into `Config::proxies`), set by resolve.
    pub defaults: Option<usize>,
}

/// A proxy's session log format: HAProxy keeps `log-format`, `option tcplog`,
/// `option httplog` and `option httpslog` in one slot (a later line overrides an
/// earlier one, with a warning in a defaults section; configuration.txt §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLog {
    /// `log-format <string>`: the format string and its span.
    Custom(Named),
    /// `option tcplog` (§8.2.2).
    TcpLog(Span),
    /// `option httplog [clf]` (§8.2.3); a TCP-mode frontend falls back to tcplog.
    HttpLog(Span),
    /// `option httpslog` (§8.2.4 "HTTPS log format").
    HttpsLog(Span),
}

impl SessionLog {
    /// Where the line that set it is.
    pub fn span(&self) -> Span {
        match self {
            SessionLog::Custom(n) => n.span,
            SessionLog::TcpLog(s) | SessionLog::HttpLog(s) | SessionLog::HttpsLog(s) => *s,
        }
    }
}

/// A proxy's `stats` keyword (configuration.txt §4.2 `stats ...`), typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsKw {
    Enable,
    Disable,
    /// `stats uri <prefix>`.
    Uri(String),
    /// `stats realm <realm>`.
    Realm(String),
    /// `stats auth <user>:<passwd>`.
    Auth {
        user: String,
        password: String,
    },
    /// `stats admin { if | unless } <cond>`: the condition, typed by `haproxide-expr`.
    Admin(Condition),
    /// `stats refresh <delay>` in seconds; None when the delay is not a time.
    Refresh(Option<u64>),
    HideVersion,
    ShowLegends,
    /// `stats show-node [<name>]` (empty: the node name).
    ShowNode(String),
    /// `stats show-desc [<desc>]`.
    ShowDesc(String),
    /// `stats scope { <name> | "." }`.
    Scope(String),
    /// `stats http-request { allow | deny | auth [realm <r>] } [{ if | unless } <cond>]`:
    /// the rule as an `http-request` one (its action typed the same way).
    HttpRequest(Box<Rule>),
    /// A `stats` keyword of the matrix that the stats page does not serve
    /// (`stats http-request`, `stats bind-process`...): its canonical name.
    NotServed(String),
}

impl StatsKw {
    /// Whether this line turns the stats page on: every one but `stats disable`
    /// (HAProxy's stats_check_init_uri_auth).
    pub fn enables(&self) -> bool {
        !matches!(self, StatsKw::Disable)
    }
}

/// `load-server-state-from-file` (configuration.txt §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFrom {
    /// The global `server-state-file`.
    Global,
    /// The proxy's own file (`server-state-file-name`).
    Local,
    /// Do not load.
    None,
}

/// See [`Proxy::unused_checks`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnusedChecks {
    pub http: bool,
    pub tcp: bool,
}

impl Proxy {
    pub fn new(kind: ProxyKind, name: Named, span: Span) -> Proxy {
        Proxy {
            kind,
            name,
            from: None,
            span,
            mode: None,
            binds: Vec::new(),
            servers: Vec::new(),
            default_server: None,
            balance: None,
            hash_type: None,
            timeouts: BTreeMap::new(),
            retries: None,
            maxconn: None,
            fullconn: None,
            options: Vec::new(),
            default_backend: None,
            use_backends: Vec::new(),
            monitor_fail: Vec::new(),
            acls: Vec::new(),
            acl_set: haproxide_expr::AclSet::new(),
            rules: Vec::new(),
            logs: Vec::new(),
            disabled: false,
            http_checks: Vec::new(),
            tcp_checks: Vec::new(),
            unused_checks: UnusedChecks::default(),
            id: None,
            mode_span: None,
            balance_span: None,
            inspect_delay: None,
            res_inspect_delay: None,
            log_tag: None,
            log_format: None,
            load_server_state_from_file: None,
            server_state_file_name: None,
            backlog: None,
            cookie: None,
            persist_rules: Vec::new(),
            stick_table: None,
            stick_rules: Vec::new(),
            http_error: Vec::new(),
            stats: Vec::new(),
            spoe: Vec::new(),
            http_reuse: None,
            directives: Vec::new(),
            defaults: None,
        }
    }

    /// The last setting of `option <name>`: Some(true) set, Some(false) `no option`.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options
            .iter()
            .rev()
            .find(|o| o.name.name == name)
            .map(|o| !o.negated)
    }

    /// The effective mode (HAProxy's default is tcp).
    pub fn effective_mode(&self) -> Mode {
        self.mode.unwrap_or(Mode::Tcp)
    }
}

/// A section other than global and proxies (`peers`, `resolvers`, `userlist`...).
#[derive(Debug, Clone)]
pub struct OtherSection {
    pub kind: String,
    pub name: Option<Named>,
    pub span: Span,
    pub directives: Vec<Directive>,
}

/// A whole configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub global: Global,
    /// `defaults`, `frontend`, `backend` and `listen`, in file order.
    pub proxies: Vec<Proxy>,
    pub others: Vec<OtherSection>,
    /// `table` lines of `peers` sections (§3.5), in file order.
    pub peer_tables: Vec<PeerTableCfg>,
    /// `bind`, `peer` and `server` lines of `peers` sections (§3.5).
    pub peer_lines: Vec<PeerLineCfg>,
    /// haproxide-only: `patroni` sections and `patroni-role` lines.
    pub patroni: crate::parse::Patroni,
}

impl Config {
    pub fn proxy(&self, name: &str, backend: bool) -> Option<&Proxy> {
        self.proxies.iter().find(|p| {
            p.name.name == name
                && p.kind != ProxyKind::Defaults
                && (if backend {
                    p.kind.has_backend()
                } else {
                    p.kind.has_frontend()
                })
        })
    }

    /// Whether anything listens: a bind in a frontend/listen, a `stats socket` (the
    /// CLI frontend's listener: HAProxy 2.6.12 checks Debian's default haproxy.cfg,
    /// which only has one, as valid, exit 0), or a peers/log-forward section that
    /// binds (HAProxy's "no listener" check).
    pub fn has_listener(&self) -> bool {
        !self.global.stats_sockets.is_empty()
            || self
                .proxies
                .iter()
                .any(|p| p.kind != ProxyKind::Defaults && !p.disabled && !p.binds.is_empty())
            || self.others.iter().any(|s| {
                matches!(s.kind.as_str(), "log-forward" | "peers")
                    && s.directives
                        .iter()
                        .any(|d| matches!(d.keyword.as_str(), "bind" | "dgram-bind" | "peer"))
            })
    }
}
