//! Probes over tokio: one check run against one server, ending in a
//! [`CheckResult`](crate::status::CheckResult).

pub mod agent;
pub mod conn;
pub mod external;
pub mod http;
pub mod rules;
pub mod socks4;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::spec::{AgentSpec, CheckSpec, ConnectRule, ProbeSpec, TcpCheckRule, TlsSpec};
use crate::status::{CheckResult, CheckStatus};
use conn::{ConnectPlan, Session};
use http::HttpRules;
use rules::Ruleset;

/// A check could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// A tcp-check regex.
    #[error(transparent)]
    Rule(#[from] rules::RuleError),
    /// An http-check regex.
    #[error(transparent)]
    HttpRule(#[from] http::HttpRuleError),
    /// TLS configuration.
    #[error("check-ssl: {0}")]
    Tls(String),
    /// `ca-file` unreadable or invalid.
    #[error("ca-file {path:?}: {reason}")]
    CaFile {
        /// Path.
        path: PathBuf,
        /// Reason.
        reason: String,
    },
}

#[derive(Debug, Clone)]
enum Compiled {
    Tcp,
    Http(Box<crate::spec::HttpCheckSpec>, HttpRules),
    Rules(Ruleset),
    SslHello,
    External(Box<crate::spec::ExternalSpec>),
}

/// Per-run facts from the server state that some probes need.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// Value of `X-Haproxy-Server-State` (`http-check send-state`).
    pub state_header: Option<String>,
    /// The server is DOWN (a 404 then fails even with `disable-on-404`).
    pub server_stopped: bool,
}

/// Applies a `tcp-check connect` / `http-check connect` rule to a plan
/// (configuration.txt §4.2 `tcp-check connect`: `port`, `addr`,
/// `send-proxy`, `ssl`, `sni`, `via-socks4`: the server's `socks4` proxy, when it has
/// one, as HAProxy's tcpcheck_eval_connect).
pub(crate) fn apply_connect_rule(plan: &mut ConnectPlan, c: &ConnectRule) {
    if c.via_socks4 && plan.socks4_proxy.is_some() {
        plan.socks4 = plan.socks4_proxy;
    }
    if let Some(port) = c.port {
        plan.addr.set_port(port);
    }
    if let Some(a) = c.addr {
        plan.addr.set_ip(a);
        plan.unix = None;
    }
    plan.send_proxy |= c.send_proxy;
    if c.ssl {
        plan.tls = plan.rule_tls.clone();
    }
    if let (Some(sni), Some(t)) = (&c.sni, plan.tls.as_mut()) {
        if let Ok(n) = rustls::pki_types::ServerName::try_from(sni.clone()) {
            t.server_name = n;
        }
    }
}

/// A prepared health check for one server.
#[derive(Debug, Clone)]
pub struct Prober {
    compiled: Compiled,
    plan: ConnectPlan,
}

impl Prober {
    /// Prepares the check of `spec` for the server at `server`
    /// (`addr`/`port` overrides applied, regexes compiled, TLS configured).
    pub fn new(spec: &CheckSpec, server: SocketAddr) -> Result<Self, ProbeError> {
        let target = spec.target(server);
        let tls = match &spec.tls {
            Some(t) => Some(tls::client(t, target.ip())?),
            None => None,
        };
        let rule_wants_ssl = match &spec.probe {
            ProbeSpec::TcpCheck(rules) => rules
                .iter()
                .any(|r| matches!(r, TcpCheckRule::Connect(c) if c.ssl)),
            ProbeSpec::Http(h) => h.connect.as_ref().is_some_and(|c| c.ssl),
            _ => false,
        };
        let rule_tls = if rule_wants_ssl {
            let default = TlsSpec {
                verify: false,
                ca_file: None,
                sni: None,
            };
            Some(tls::client(
                spec.tls.as_ref().unwrap_or(&default),
                target.ip(),
            )?)
        } else {
            None
        };
        let compiled = match &spec.probe {
            ProbeSpec::Tcp => Compiled::Tcp,
            ProbeSpec::External(e) => Compiled::External(Box::new(e.clone())),
            ProbeSpec::Http(h) => Compiled::Http(Box::new(h.clone()), HttpRules::compile(h)?),
            ProbeSpec::TcpCheck(r) => Compiled::Rules(Ruleset::from_user(r)?),
            ProbeSpec::Pgsql { user } => Compiled::Rules(Ruleset::pgsql(user)),
            ProbeSpec::Mysql { user, post41 } => {
                Compiled::Rules(Ruleset::mysql(user.as_deref(), *post41))
            }
            ProbeSpec::Redis => Compiled::Rules(Ruleset::redis()),
            ProbeSpec::Smtp { hello } => Compiled::Rules(Ruleset::smtp(
                hello.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
            )),
            ProbeSpec::Ldap => Compiled::Rules(Ruleset::ldap()),
            ProbeSpec::Spop => Compiled::Rules(Ruleset::spop()),
            ProbeSpec::SslHello => Compiled::SslHello,
        };
        let quiet_connect = matches!(compiled, Compiled::Tcp)
            && tls.is_none()
            && !spec.send_proxy
            && !(spec.via_socks4 && spec.socks4.is_some());
        Ok(Self {
            compiled,
            plan: ConnectPlan {
                addr: target,
                // §5.2 `addr` sends the check elsewhere (TCP); `port` alone does not.
                unix: spec
                    .unix
                    .as_deref()
                    .filter(|_| spec.addr.is_none())
                    .map(Into::into),
                timeouts: spec.timeouts.clone(),
                inter: spec.intervals.inter,
                send_proxy: spec.send_proxy,
                socks4: spec.socks4.filter(|_| spec.via_socks4),
                socks4_proxy: spec.socks4,
                tls,
                rule_tls,
                quiet_connect,
            },
        })
    }

    /// The address checked.
    pub fn target(&self) -> SocketAddr {
        self.plan.addr
    }

    /// Runs one check; `inter` is the interval in force (it bounds the check
    /// when `timeout check` is unset).
    pub async fn run(&self, inter: Duration, ctx: &RunContext) -> CheckResult {
        let start = Instant::now();
        let mut plan = self.plan.clone();
        plan.inter = inter;
        match &self.compiled {
            Compiled::Tcp => match Session::open(&plan, start, "").await {
                Ok(s) => {
                    let st = if s.tls {
                        CheckStatus::L6Ok
                    } else {
                        CheckStatus::L4Ok
                    };
                    s.close().await;
                    CheckResult::new(st, start.elapsed())
                }
                Err(r) => r,
            },
            Compiled::Http(spec, rules) => {
                http::run(
                    spec,
                    rules,
                    &plan,
                    ctx.state_header.as_deref(),
                    ctx.server_stopped,
                    start,
                )
                .await
            }
            Compiled::Rules(rs) => rs.run(&plan, start).await,
            Compiled::External(e) => external::run(e, inter, start).await,
            Compiled::SslHello => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs() as u32)
                    .unwrap_or(0);
                Ruleset::ssl_hello(now).run(&plan, start).await
            }
        }
    }
}

/// A prepared agent check.
#[derive(Debug, Clone)]
pub struct AgentProber {
    plan: ConnectPlan,
    send: Option<Vec<u8>>,
}

impl AgentProber {
    /// Prepares the agent check of a server at `server` (`agent-addr`,
    /// `agent-port`), sharing the backend's timeouts.
    pub fn new(
        spec: &AgentSpec,
        server: SocketAddr,
        timeouts: &crate::spec::CheckTimeouts,
    ) -> Self {
        Self {
            plan: ConnectPlan {
                addr: SocketAddr::new(spec.addr.unwrap_or(server.ip()), spec.port),
                unix: None,
                timeouts: timeouts.clone(),
                inter: spec.inter,
                send_proxy: false,
                socks4: None,
                socks4_proxy: None,
                tls: None,
                rule_tls: None,
                quiet_connect: false,
            },
            send: spec.send.clone(),
        }
    }

    /// Runs one agent check.
    pub async fn run(&self) -> agent::AgentOutcome {
        agent::run(&self.plan, self.send.as_deref(), Instant::now()).await
    }

    /// Runs one agent check, keeping a replying agent's connection open until
    /// the caller closes the [`agent::Linger`] (after applying the reply).
    pub async fn run_held(&self) -> (agent::AgentOutcome, agent::Linger) {
        agent::run_held(&self.plan, self.send.as_deref(), Instant::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tcp-check connect via-socks4` uses the server's `socks4` proxy when it has
    /// one (configuration.txt §4.2 `tcp-check connect`), and nothing otherwise.
    #[test]
    fn connect_rule_via_socks4() {
        let proxy: SocketAddr = "127.0.0.1:1080".parse().unwrap();
        let mut plan = ConnectPlan {
            addr: "127.0.0.1:80".parse().unwrap(),
            unix: None,
            timeouts: crate::spec::CheckTimeouts::default(),
            inter: std::time::Duration::from_secs(2),
            send_proxy: false,
            socks4: None,
            socks4_proxy: Some(proxy),
            tls: None,
            rule_tls: None,
            quiet_connect: false,
        };
        let rule = ConnectRule {
            via_socks4: true,
            port: Some(81),
            ..ConnectRule::default()
        };
        let mut p = plan.clone();
        apply_connect_rule(&mut p, &ConnectRule::default());
        assert_eq!(p.socks4, None);
        let mut p = plan.clone();
        apply_connect_rule(&mut p, &rule);
        assert_eq!((p.socks4, p.addr.port()), (Some(proxy), 81));
        plan.socks4_proxy = None;
        apply_connect_rule(&mut plan, &rule);
        assert_eq!(plan.socks4, None);
    }
}
