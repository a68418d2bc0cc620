//! Check specifications: plain data the config crate fills in.
//!
//! Every type here is a passive description of *what* to check and *how
//! often*; nothing in this module does I/O. `Default` impls carry HAProxy's
//! defaults so that a `CheckSpec::default()` behaves like a bare
//! `server x 1.2.3.4:80 check` line in HAProxy 2.6.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// HAProxy's default `inter` (configuration.txt §5.2 `inter`: "default 2000 ms").
pub const DEFAULT_INTER: Duration = Duration::from_millis(2000);
/// HAProxy's default `rise` (configuration.txt §5.2 `rise`: "default 2").
pub const DEFAULT_RISE: u32 = 2;
/// HAProxy's default `fall` (configuration.txt §5.2 `fall`: "default 3").
pub const DEFAULT_FALL: u32 = 3;
/// The agent check's rise and fall: always 1 in HAProxy 2.6 (one "down" reply
/// takes the server down, one "up" brings the agent side back).
pub const AGENT_RISE_FALL: u32 = 1;

/// Check intervals (configuration.txt §5.2 `inter`, `fastinter`, `downinter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervals {
    /// `inter`: delay between two checks while the server is fully UP
    /// (and the fallback for the two others). Default 2s.
    pub inter: Duration,
    /// `fastinter`: used while the health counter is moving (neither fully
    /// up nor fully down), including before the first checks. Falls back to
    /// `inter` when unset.
    pub fastinter: Option<Duration>,
    /// `downinter`: used while the server is fully DOWN. Falls back to
    /// `inter` when unset.
    pub downinter: Option<Duration>,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            inter: DEFAULT_INTER,
            fastinter: None,
            downinter: None,
        }
    }
}

/// Proxy timeouts that shape a check (configuration.txt §4.2 `timeout check`
/// and `timeout connect`).
///
/// - without `timeout check`, the whole check (connect and response) must
///   complete within `inter`;
/// - with `timeout check`, the connection must be established within
///   `min(timeout connect, inter)` and the rest of the check must then complete
///   within `timeout check`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckTimeouts {
    /// `timeout connect` of the backend, if set.
    pub connect: Option<Duration>,
    /// `timeout check` of the backend, if set.
    pub check: Option<Duration>,
}

/// `init-state` server keyword (configuration.txt of HAProxy 3.x §5.2
/// `init-state`; absent from 2.6, where the behaviour is that of `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InitState {
    /// Default: the server starts UP but goes DOWN at the first failed check
    /// (the counter starts at `rise`).
    #[default]
    None,
    /// Starts UP and goes DOWN only after `fall` failures.
    FullyUp,
    /// Starts UP and goes DOWN at the first failure (same counter as `None`).
    Up,
    /// Starts DOWN and goes UP at the first successful check.
    Down,
    /// Starts DOWN and goes UP after `rise` successes.
    FullyDown,
}

/// Everything needed to health-check one server.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// `rise` (configuration.txt §5.2): consecutive successes to go UP. ≥ 1.
    pub rise: u32,
    /// `fall` (configuration.txt §5.2): consecutive failures to go DOWN. ≥ 1.
    pub fall: u32,
    /// `inter` / `fastinter` / `downinter`.
    pub intervals: Intervals,
    /// `timeout connect` / `timeout check` of the backend.
    pub timeouts: CheckTimeouts,
    /// `init-state`.
    pub init_state: InitState,
    /// haproxide's hold before the first check (no `init-state` given): the server
    /// starts as HAProxy's (UP, counter at `rise`: same logs, `show servers state`,
    /// stats), but takes no load-balanced traffic until its first check result
    /// (docs/patroni.md "Checked servers start DOWN").
    pub hold_first: bool,
    /// `addr` (configuration.txt §5.2): address to check instead of the
    /// server's.
    pub addr: Option<IpAddr>,
    /// `port` (configuration.txt §5.2): port to check instead of the server's.
    pub port: Option<u16>,
    /// What to send and expect.
    pub probe: ProbeSpec,
    /// `check-ssl` and its verification settings (configuration.txt §5.2).
    pub tls: Option<TlsSpec>,
    /// `check-send-proxy` (configuration.txt §5.2): send a PROXY protocol v1
    /// header before the check payload.
    pub send_proxy: bool,
    /// `socks4` (configuration.txt §5.2): the server's SOCKS4 proxy (probe::socks4).
    pub socks4: Option<SocketAddr>,
    /// `check-via-socks4` (configuration.txt §5.2): checks connect through `socks4`
    /// (no effect without it, as in HAProxy).
    pub via_socks4: bool,
    /// `option log-health-checks` (configuration.txt §4.2).
    pub log_health_checks: bool,
    /// The server's UNIX-socket path (configuration.txt §2.3 `/path`, `unix@path`):
    /// checks connect to it unless `addr` is set (a `port` alone changes nothing,
    /// as HAProxy ignores the port of a UNIX address).
    pub unix: Option<PathBuf>,
}

impl Default for CheckSpec {
    fn default() -> Self {
        Self {
            rise: DEFAULT_RISE,
            fall: DEFAULT_FALL,
            intervals: Intervals::default(),
            timeouts: CheckTimeouts::default(),
            init_state: InitState::None,
            hold_first: false,
            addr: None,
            port: None,
            probe: ProbeSpec::Tcp,
            tls: None,
            send_proxy: false,
            socks4: None,
            via_socks4: false,
            log_health_checks: false,
            unix: None,
        }
    }
}

impl CheckSpec {
    /// The address the check connects to, given the server's address
    /// (configuration.txt §5.2 `addr` and `port`).
    pub fn target(&self, server: SocketAddr) -> SocketAddr {
        SocketAddr::new(
            self.addr.unwrap_or(server.ip()),
            self.port.unwrap_or(server.port()),
        )
    }
}

/// `check-ssl` settings (configuration.txt §5.2 `check-ssl`, `verify`,
/// `ca-file`, `check-sni`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSpec {
    /// `verify none` when false; `verify required` with `ca_file` when true.
    pub verify: bool,
    /// `ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `check-sni`.
    pub sni: Option<String>,
}

/// The kind of probe (configuration.txt §4.2 `option httpchk`, `option
/// tcp-check`, `option pgsql-check`, ...). Without any option, a check is a
/// plain TCP connect (§5.2 `check`).
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeSpec {
    /// Layer-4 connect only.
    Tcp,
    /// `option external-check` (§4.2 `external-check command`): run a program.
    External(ExternalSpec),
    /// `option httpchk` with `http-check` rules.
    Http(HttpCheckSpec),
    /// `option tcp-check` with its `tcp-check` rules (§4.2 `tcp-check`).
    TcpCheck(Vec<TcpCheckRule>),
    /// `option pgsql-check user <name>`.
    Pgsql {
        /// The user name sent in the startup packet.
        user: String,
    },
    /// `option mysql-check [user <name> [post-41]]`.
    Mysql {
        /// Without a user, only the server greeting is checked.
        user: Option<String>,
        /// `post-41`: send a 4.1+ client authentication packet.
        post41: bool,
    },
    /// `option redis-check`: `PING` expecting `+PONG`.
    Redis,
    /// `option smtpchk [<hello> <domain>]`.
    Smtp {
        /// Greeting verb and domain; default `HELO localhost`.
        hello: Option<(String, String)>,
    },
    /// `option ldap-check`: anonymous LDAPv3 bind.
    Ldap,
    /// `option spop-check` (configuration.txt §4.2): a SPOP HAPROXY-HELLO frame
    /// with `healthcheck`, expecting an AGENT-HELLO of a supported version.
    Spop,
    /// `option ssl-hello-chk`: SSLv3 client hello, expects a handshake reply.
    SslHello,
}

/// `option httpchk` and `http-check *` directives (configuration.txt §4.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpCheckSpec {
    /// The request (`option httpchk` arguments, then `http-check send`).
    pub send: HttpSend,
    /// `http-check expect` rules; empty means 2xx and 3xx pass.
    pub expect: Vec<HttpExpect>,
    /// Options of the `expect` rule at the same index (`min-recv`,
    /// `ok-status`, `error-status`, `on-success`, `on-error`, `comment`;
    /// `tout-status` is not applied to HTTP checks). Missing entries mean no
    /// option.
    pub expect_options: Vec<ExpectOptions>,
    /// `http-check disable-on-404`: a 404 puts the server in NOLB (stopping)
    /// mode instead of failing, when it is already UP.
    pub disable_on_404: bool,
    /// `http-check send-state`: add `X-Haproxy-Server-State`.
    pub send_state: bool,
    /// `http-check connect` options (port, addr, ssl, send-proxy).
    pub connect: Option<ConnectRule>,
}

/// An HTTP check request (configuration.txt §4.2 `option httpchk`,
/// `http-check send`). The default is `OPTIONS / HTTP/1.0` with no header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSend {
    /// `meth`. Default `OPTIONS`.
    pub method: String,
    /// `uri`. Default `/`.
    pub uri: String,
    /// `ver`. Default `HTTP/1.0`.
    pub version: String,
    /// `hdr <name> <value>`, in order.
    pub headers: Vec<(String, String)>,
    /// `body <string>`.
    pub body: Option<Vec<u8>>,
}

impl Default for HttpSend {
    fn default() -> Self {
        Self {
            method: "OPTIONS".into(),
            uri: "/".into(),
            version: "HTTP/1.0".into(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// One `http-check expect` rule (configuration.txt §4.2 `http-check expect`).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpExpect {
    /// Leading `!`: the rule fails when the pattern matches.
    pub negate: bool,
    /// What is matched.
    pub kind: HttpExpectKind,
}

/// Matchers of `http-check expect`.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpExpectKind {
    /// `status <codes>`: a list of codes or ranges, e.g. `200,300-399`.
    Status(Vec<(u16, u16)>),
    /// `rstatus <regex>`: regex on the 3-digit status code.
    RStatus(String),
    /// `string <s>`: body contains `s`.
    String(String),
    /// `rstring <regex>`: body matches.
    RString(String),
    /// `hdr name <n> [value <v>]`: a header named `n` (case-insensitive),
    /// each comma-separated value compared to `v`.
    Hdr {
        /// Header name.
        name: String,
        /// Expected value, if any.
        value: Option<String>,
    },
    /// `fhdr name <n> [value <v>]`: like `Hdr` but on the full header value.
    FHdr {
        /// Header name.
        name: String,
        /// Expected value, if any.
        value: Option<String>,
    },
}

/// `tcp-check connect` / `http-check connect` options (configuration.txt
/// §4.2 `tcp-check connect`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRule {
    /// `port`.
    pub port: Option<u16>,
    /// `addr`.
    pub addr: Option<IpAddr>,
    /// `send-proxy`.
    pub send_proxy: bool,
    /// `ssl`.
    pub ssl: bool,
    /// `sni`.
    pub sni: Option<String>,
    /// `via-socks4`: through the server's `socks4` proxy, if it has one.
    pub via_socks4: bool,
}

/// One `tcp-check` rule (configuration.txt §4.2 `tcp-check *`).
#[derive(Debug, Clone, PartialEq)]
pub enum TcpCheckRule {
    /// `tcp-check connect [...]`.
    Connect(ConnectRule),
    /// `tcp-check send <string>` (the string already unescaped).
    Send(Vec<u8>),
    /// `tcp-check send-binary <hexstring>` (already decoded).
    SendBinary(Vec<u8>),
    /// `tcp-check expect [!] <match> <pattern>`.
    Expect(TcpExpect),
    /// `tcp-check comment <text>`: names the next rules in error reports.
    Comment(String),
    /// `tcp-check expect` with options (`min-recv`, `ok-status`,
    /// `error-status`, `tout-status`, `on-success`, `on-error`, `comment`).
    ExpectWith(TcpExpect, ExpectOptions),
}

/// Options of `tcp-check expect` (configuration.txt §4.2 `tcp-check
/// expect`). `on-success`/`on-error` are plain texts here: log-format
/// expressions (`%[...]`) and `status-code` are not supported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectOptions {
    /// `min-recv <int>`: bytes needed before the rule is evaluated; once
    /// reached, a mismatch is conclusive.
    pub min_recv: Option<usize>,
    /// `ok-status` (L7OK, L7OKC, L6OK, L4OK) when this is the last rule.
    pub ok_status: Option<crate::status::CheckStatus>,
    /// `error-status` (L7OKC, L7RSP, L7STS, L6RSP, L4CON); default L7RSP.
    pub error_status: Option<crate::status::CheckStatus>,
    /// `tout-status` (L7TOUT, L6TOUT, L4TOUT); default L7TOUT.
    pub tout_status: Option<crate::status::CheckStatus>,
    /// `on-success <text>`.
    pub on_success: Option<String>,
    /// `on-error <text>`.
    pub on_error: Option<String>,
    /// `comment <msg>`.
    pub comment: Option<String>,
}

/// `tcp-check expect` (configuration.txt §4.2).
#[derive(Debug, Clone, PartialEq)]
pub struct TcpExpect {
    /// Leading `!`.
    pub negate: bool,
    /// Matcher.
    pub kind: TcpExpectKind,
}

/// Matchers of `tcp-check expect`.
#[derive(Debug, Clone, PartialEq)]
pub enum TcpExpectKind {
    /// `string <s>`: the received bytes contain `s`.
    String(Vec<u8>),
    /// `rstring <regex>`.
    RString(String),
    /// `binary <hex>`: the received bytes contain these bytes.
    Binary(Vec<u8>),
    /// `rbinary <regex>`: regex on the upper-case hex dump of the bytes.
    RBinary(String),
}

/// `agent-check` (configuration.txt §5.2 `agent-check`, `agent-port`,
/// `agent-addr`, `agent-inter`, `agent-send`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    /// `agent-port` (mandatory in HAProxy).
    pub port: u16,
    /// `agent-addr`.
    pub addr: Option<IpAddr>,
    /// `agent-inter`; default 2s like `inter`.
    pub inter: Duration,
    /// `agent-send`.
    pub send: Option<Vec<u8>>,
    /// Agent counter `rise`. HAProxy 2.6 always uses 1 (`DEF_AGENT_RISETIME`);
    /// the server's `rise` does not apply to the agent.
    pub rise: u32,
    /// Agent counter `fall`. HAProxy 2.6 always uses 1 (`DEF_AGENT_FALLTIME`).
    pub fall: u32,
}

impl Default for AgentSpec {
    fn default() -> Self {
        Self {
            port: 0,
            addr: None,
            inter: DEFAULT_INTER,
            send: None,
            rise: AGENT_RISE_FALL,
            fall: AGENT_RISE_FALL,
        }
    }
}

/// `spread-checks` (configuration.txt §3.2): percentage of random jitter
/// applied to each interval, 0..=50.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpreadChecks(pub u8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_haproxy_defaults() {
        let s = CheckSpec::default();
        assert_eq!((s.rise, s.fall), (2, 3));
        assert_eq!(s.intervals.inter, Duration::from_secs(2));
        assert_eq!(s.intervals.fastinter, None);
        assert_eq!(s.init_state, InitState::None);
        let h = HttpSend::default();
        assert_eq!(
            (h.method.as_str(), h.uri.as_str(), h.version.as_str()),
            ("OPTIONS", "/", "HTTP/1.0")
        );
    }

    #[test]
    fn target_overrides_addr_and_port() {
        let srv: SocketAddr = "10.0.0.1:5432".parse().unwrap_or_else(|_| unreachable!());
        let mut s = CheckSpec::default();
        assert_eq!(s.target(srv), srv);
        s.port = Some(8008);
        assert_eq!(s.target(srv).to_string(), "10.0.0.1:8008");
        s.addr = Some("127.0.0.1".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(s.target(srv).to_string(), "127.0.0.1:8008");
    }
}

/// `option external-check` with `external-check command` / `path` (configuration.txt
/// §4.2): the program run for each check, with HAProxy's four arguments and its
/// environment (nothing else of haproxide's environment is passed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalSpec {
    /// The executable (run directly: no shell, so nothing in a name is interpreted).
    pub command: String,
    /// `<proxy_address> <proxy_port> <server_address> <server_port>`.
    pub args: Vec<String>,
    /// `HAPROXY_*` variables and `PATH` (`external-check path`, empty by default).
    pub env: Vec<(String, String)>,
}
