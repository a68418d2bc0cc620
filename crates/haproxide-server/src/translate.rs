//! The resolved configuration → engine specs.
//!
//! This is the only module that sees both the configuration model and the runtime
//! crates' specs. Anything the engines do not run yet (HTTP mode, a sample fetch the
//! TCP engine cannot evaluate, ...) is refused here with a diagnostic that names the
//! file, the line and the keyword, so that start-up stops instead of silently
//! ignoring it (issue 4, item 6).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use haproxide_check::checker::ServerConfig;
use haproxide_check::log::ServerName;
use haproxide_check::spec::{
    AgentSpec, CheckSpec, CheckTimeouts, ConnectRule, HttpCheckSpec, HttpExpect, HttpExpectKind,
    HttpSend, InitState, Intervals, ProbeSpec, TcpCheckRule, TcpExpect, TcpExpectKind, TlsSpec,
};
use haproxide_config::checks::{self, CheckKind, CheckRule, ExpectMatch};
use haproxide_config::model::{
    AclExpr, Balance as CfgBalance, CondTerm, Condition as CfgCondition, Config, Mode, MultiQueue,
    Proxy, ProxyKind, ServerDef,
};
use haproxide_config::value::{Host, PortSpec};
use haproxide_config::{Code, Diagnostic, Span};
use haproxide_forward::spec as fw;

mod stats;

/// Everything the runtime needs, plus the mapping between the two engines' ids.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub engine: fw::EngineSpec,
    /// Servers for the health checker, in the order of `server_index`.
    pub checked: Vec<ServerConfig>,
    /// (backend index, server index) in the engine → index in `checked`.
    pub server_index: HashMap<(usize, usize), usize>,
    /// Global settings the runtime applies.
    pub hard_stop_after: Option<Duration>,
    pub spread_checks: u8,
    /// Backends that are `listen` sections (HAProxy words their messages "proxy").
    pub listen_sections: std::collections::HashSet<String>,
    /// Proxies in configuration order, as the runtime API numbers them.
    pub proxies: Vec<crate::admin_plan::ProxyPlan>,
    /// `stats socket` listeners and the server-state file.
    pub admin: crate::admin_plan::AdminPlan,
    /// Stats/exporter proxies: index in `engine.frontends` and what they serve
    /// (the run loop attaches a `crate::stats::StatsService` to those frontends).
    pub stats: Vec<(usize, crate::stats::StatsSpec)>,
    /// Process-wide settings of `global` (privileges, limits, threads, master).
    pub process: crate::process::ProcessSpec,
    /// haproxide-only: backends that follow a Patroni cluster's DCS (`patroni-role`).
    pub dcs: crate::dcs::DcsPlan,
}

/// A configuration item the runtime cannot run yet.
pub(crate) fn unsupported(span: Span, what: impl Into<String>) -> Diagnostic {
    let what = what.into();
    Diagnostic::error(Code::NotRunYet, format!("{what}: haproxide does not run this yet"))
        .at(span)
        .help("`haproxide check` accepts it; running it needs a part of the engine that is not built yet (see docs/config-support.md)")
}

fn ms(m: haproxide_config::value::Millis) -> Duration {
    m.as_duration()
}

/// Translate a resolved configuration. Errors are collected, never panics: the plan
/// holds every proxy that can run, the diagnostics name what cannot (the caller
/// refuses to start unless told to skip those proxies).
pub fn translate(cfg: &Config) -> (Plan, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    let mut plan = Plan {
        hard_stop_after: cfg.global.hard_stop_after.map(ms),
        spread_checks: cfg
            .global
            .spread_checks
            .map(|v| v.min(50) as u8)
            .unwrap_or(0),
        ..Plan::default()
    };
    plan.engine.maxconn = cfg.global.maxconn.map(|m| m as usize);
    plan.process = crate::process::ProcessSpec::from_config(cfg);
    // §3.1 `nbthread`: sessions run on that many threads, each a single-threaded
    // runtime keeping its connections (default: one per CPU, as HAProxy ≥ 1.9).
    plan.engine.threads = plan.process.threads();
    // §3.2 `tune.listener.multi-queue`: the least loaded thread gets a new session.
    plan.engine.spread = match cfg.global.multi_queue {
        None | Some(MultiQueue::On) => fw::ThreadSpread::LeastLoaded,
        Some(MultiQueue::Fair) => fw::ThreadSpread::RoundRobin,
        Some(MultiQueue::Off) => fw::ThreadSpread::Off,
    };
    // §3.2 `nosplice`: the engine splices bulk data unless told not to.
    plan.engine.no_splice = cfg.global.nosplice;
    let live: Vec<&Proxy> = cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults && !p.disabled)
        .collect();
    // Backends first, so that frontends can refer to them by index.
    let mut backend_index: HashMap<&str, usize> = HashMap::new();
    // Backends that cannot run (their own error names why); frontends using them
    // cannot run either.
    let mut failed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for p in live.iter().filter(|p| p.kind.has_backend()) {
        if stats::is_stats_proxy(p) {
            continue;
        }
        if p.effective_mode() != Mode::Tcp {
            if p.kind == ProxyKind::Backend || !p.binds.is_empty() {
                errors.push(unsupported(
                    mode_span(p),
                    format!(
                        "`mode {}` in {} `{}`",
                        p.effective_mode().as_str(),
                        p.kind.as_str(),
                        p.name.name
                    ),
                ));
            }
            failed.insert(p.name.name.as_str());
            continue;
        }
        if p.kind == ProxyKind::Listen {
            plan.listen_sections.insert(p.name.name.clone());
        }
        match backend(p, plan.engine.backends.len(), &mut plan, &mut errors) {
            Some(b) => {
                backend_index.insert(p.name.name.as_str(), plan.engine.backends.len());
                plan.engine.backends.push(b);
            }
            None => {
                failed.insert(p.name.name.as_str());
            }
        }
    }
    for p in live.iter().filter(|p| p.kind.has_frontend()) {
        if stats::is_stats_proxy(p) {
            if let Some((f, spec)) = stats::stats_proxy(cfg, p, &mut errors) {
                plan.stats.push((plan.engine.frontends.len(), spec));
                plan.engine.frontends.push(f);
            }
            continue;
        }
        if p.effective_mode() != Mode::Tcp {
            if p.kind == ProxyKind::Frontend {
                errors.push(unsupported(
                    mode_span(p),
                    format!(
                        "`mode {}` in frontend `{}`",
                        p.effective_mode().as_str(),
                        p.name.name
                    ),
                ));
            }
            continue;
        }
        if p.binds.is_empty() {
            continue;
        }
        if let Some(f) = frontend(p, &backend_index, &failed, &mut errors) {
            plan.engine.frontends.push(f);
        }
    }
    crate::admin_plan::fill(cfg, &mut plan, &mut errors);
    plan.dcs = crate::dcs::plan(cfg, &plan.engine);
    (plan, errors)
}

fn mode_span(p: &Proxy) -> Span {
    p.mode_span.unwrap_or(p.name.span)
}

/// Keywords that change traffic and that the TCP engine does not run: refuse them
/// rather than ignore them (the list is the config crate's support table).
fn refuse_unrun(p: &Proxy, errors: &mut Vec<Diagnostic>) {
    for n in haproxide_config::support::refused_in_tcp(p) {
        errors.push(unsupported(n.span, n.what));
    }
}

fn frontend(
    p: &Proxy,
    backends: &HashMap<&str, usize>,
    failed: &std::collections::HashSet<&str>,
    errors: &mut Vec<Diagnostic>,
) -> Option<fw::FrontendSpec> {
    let before = errors.len();
    // Set when a backend this frontend needs cannot run (already reported).
    let mut blocked = false;
    refuse_unrun(p, errors);
    let mut f = fw::FrontendSpec {
        name: p.name.name.clone(),
        maxconn: p.maxconn.map(|m| m as usize),
        timeout_client: p.timeouts.get("client").copied().map(ms),
        timeout_client_fin: p.timeouts.get("client-fin").copied().map(ms),
        tcp_keepalive: p.option("clitcpka") == Some(true) || p.option("tcpka") == Some(true),
        dont_log_null: p.option("dontlognull") == Some(true),
        ..Default::default()
    };
    f.inspect_delay = p.inspect_delay.map(ms);
    binds(p, &mut f, errors);
    for r in &p.rules {
        let accept = match r.action.name.as_str() {
            "accept" => true,
            "reject" => false,
            other => {
                errors.push(unsupported(
                    r.action.span,
                    format!("`{} {other}`", r.ruleset),
                ));
                continue;
            }
        };
        let cond = match &r.cond {
            Some(c) => match condition(p, c, haproxide_expr::Uses::TCP, "TCP mode", errors) {
                Some(c) => Some(c),
                None => continue,
            },
            None => None,
        };
        let rule = fw::TcpRule { accept, cond };
        match r.ruleset.as_str() {
            "tcp-request connection" => f.tcp_connection_rules.push(rule),
            "tcp-request content" => f.tcp_content_rules.push(rule),
            other => errors.push(unsupported(r.action.span, format!("`{other}`"))),
        }
    }
    for ub in &p.use_backends {
        let cond = match &ub.cond {
            Some(c) => match condition(p, c, haproxide_expr::Uses::TCP, "TCP mode", errors) {
                Some(c) => Some(c),
                None => continue,
            },
            None => None,
        };
        let Some(&bi) = backends.get(ub.backend.name.as_str()) else {
            if failed.contains(ub.backend.name.as_str()) {
                blocked = true;
            } else {
                errors.push(unsupported(
                    ub.backend.span,
                    format!(
                        "`use_backend {}` (a backend name built at run time)",
                        ub.backend.name
                    ),
                ));
            }
            continue;
        };
        f.use_backends.push((bi, cond));
    }
    let default = if p.kind == ProxyKind::Listen {
        Some(p.name.name.as_str())
    } else {
        p.default_backend.as_ref().map(|d| d.name.as_str())
    };
    if let Some(d) = default {
        f.default_backend = backends.get(d).copied();
        blocked |= failed.contains(d);
    }
    (errors.len() == before && !blocked).then_some(f)
}

/// The listeners of a frontend's `bind` lines.
fn binds(p: &Proxy, f: &mut fw::FrontendSpec, errors: &mut Vec<Diagnostic>) {
    for b in &p.binds {
        for (named, addr) in &b.addresses {
            let addrs = match listen_addrs(addr) {
                Ok(a) => a,
                Err(msg) => {
                    errors.push(unsupported(named.span, msg));
                    continue;
                }
            };
            for a in addrs {
                f.binds.push(fw::BindSpec {
                    addr: a,
                    name: b.name.clone(),
                    backlog: b.backlog,
                    maxconn: b.maxconn.map(|m| m as usize),
                    v6only: b.v6only,
                    accept_proxy: b.accept_proxy,
                });
            }
            if b.ssl {
                errors.push(unsupported(b.span, "`bind ... ssl` (TLS termination)"));
            }
        }
    }
}

/// Expand a bind address into the listeners the engine opens (port ranges give
/// one listener per port, as HAProxy does).
fn listen_addrs(a: &haproxide_config::value::Address) -> Result<Vec<fw::ListenAddr>, String> {
    let ip = |v6: bool| -> IpAddr {
        if v6 {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        }
    };
    let host = match &a.host {
        Host::Any => ip(a.prefix.as_deref() == Some("ipv6")),
        Host::V4(v) => IpAddr::V4(*v),
        Host::V6(v) => IpAddr::V6(*v),
        Host::Name(n) => (n.as_str(), 0u16)
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
            .map(|s| s.ip())
            .ok_or_else(|| format!("bind host `{n}` does not resolve"))?,
        Host::Unix(p) => return Ok(vec![fw::ListenAddr::Unix(p.into())]),
        Host::Fd(n) => {
            return n
                .parse::<i32>()
                .map(|fd| vec![fw::ListenAddr::Fd(fd)])
                .map_err(|_| format!("`fd@{n}` is not a file descriptor number"))
        }
        Host::Abns(_) | Host::SockPair(_) => return Err("`abns@`/`sockpair@` listeners".into()),
    };
    if matches!(
        a.prefix.as_deref(),
        Some("udp" | "udp4" | "udp6" | "quic4" | "quic6")
    ) {
        return Err("datagram listeners".into());
    }
    match a.port {
        PortSpec::Single(p) => Ok(vec![fw::ListenAddr::Tcp(SocketAddr::new(host, p))]),
        PortSpec::Range(lo, hi) => Ok((lo..=hi)
            .map(|p| fw::ListenAddr::Tcp(SocketAddr::new(host, p)))
            .collect()),
        PortSpec::None | PortSpec::Offset(_) => Err("a bind address without a port".into()),
    }
}

/// A condition the configuration typed with `haproxide-expr` → the engine's, if
/// every fetch it reads is one a rule offering `offered` answers. What cannot run is
/// named with the line of the ACL (or anonymous ACL) responsible.
pub(crate) fn condition(
    p: &Proxy,
    c: &CfgCondition,
    offered: haproxide_expr::Uses,
    mode: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<haproxide_expr::Cond> {
    match &c.typed {
        Ok(cond) => match cond.missing(offered) {
            None => Some(cond.clone()),
            Some(f) => {
                errors.push(unsupported(
                    cond_span(p, c, |e| e.fetch.name == f),
                    format!("the sample fetch `{f}` in {mode}"),
                ));
                None
            }
        },
        Err(why) => {
            errors.push(unsupported(cond_span(p, c, |_| true), why.clone()));
            None
        }
    }
}

/// Where a condition's problem is: the first ACL line it names that the engine
/// could not type, or whose expression `pick` selects; else the condition.
fn cond_span(p: &Proxy, c: &CfgCondition, pick: impl Fn(&AclExpr) -> bool) -> Span {
    for t in c.or_terms.iter().flatten() {
        match t {
            CondTerm::Named { name, .. } => {
                let lines = p.acls.iter().filter(|a| a.name.name == name.name);
                if let Some(a) = lines
                    .clone()
                    .find(|a| a.untyped.is_some())
                    .or_else(|| lines.clone().find(|a| pick(&a.expr)))
                {
                    return a.expr.fetch.span;
                }
            }
            CondTerm::Anonymous { expr, .. } if pick(expr) => return expr.fetch.span,
            CondTerm::Anonymous { .. } => {}
        }
    }
    c.span
}

fn backend(
    p: &Proxy,
    bi: usize,
    plan: &mut Plan,
    errors: &mut Vec<Diagnostic>,
) -> Option<fw::BackendSpec> {
    let before = errors.len();
    if p.kind == ProxyKind::Backend {
        refuse_unrun(p, errors);
    }
    let balance = match &p.balance {
        None | Some(CfgBalance::RoundRobin) => fw::Balance::RoundRobin,
        Some(CfgBalance::StaticRr) => fw::Balance::StaticRr,
        Some(CfgBalance::LeastConn) => fw::Balance::LeastConn,
        Some(CfgBalance::First) => fw::Balance::First,
        Some(CfgBalance::Source) => fw::Balance::Source,
        Some(CfgBalance::Random { draws }) => fw::Balance::Random { draws: *draws },
        Some(other) => {
            let span = p.balance_span.unwrap_or(p.name.span);
            errors.push(unsupported(
                span,
                format!("`balance {other:?}` in TCP mode"),
            ));
            fw::Balance::RoundRobin
        }
    };
    let hash_type = match p
        .hash_type
        .as_deref()
        .and_then(|h| h.first())
        .map(String::as_str)
    {
        Some("consistent") => fw::HashType::Consistent,
        _ => fw::HashType::MapBased,
    };
    let mut b = fw::BackendSpec {
        name: p.name.name.clone(),
        balance,
        hash_type,
        servers: Vec::new(),
        retries: p.retries.unwrap_or(3),
        redispatch: p.option("redispatch") == Some(true),
        all_backups: p.option("allbackups") == Some(true),
        timeout_connect: p.timeouts.get("connect").copied().map(ms),
        timeout_server: p.timeouts.get("server").copied().map(ms),
        timeout_server_fin: p.timeouts.get("server-fin").copied().map(ms),
        timeout_tunnel: p.timeouts.get("tunnel").copied().map(ms),
        timeout_queue: p.timeouts.get("queue").copied().map(ms),
        fullconn: p.fullconn.map(|v| v as usize),
        tcp_keepalive: p.option("srvtcpka") == Some(true) || p.option("tcpka") == Some(true),
    };
    let probe = probe_spec(p, errors);
    for (si, s) in p.servers.iter().enumerate() {
        let Some((ip, port)) = server_addr(s, errors) else {
            continue;
        };
        let sp = &s.params;
        let spec = fw::ServerSpec {
            name: s.name.name.clone(),
            ip,
            port,
            weight: sp.weight.unwrap_or(1),
            backup: sp.backup == Some(true),
            maxconn: sp.maxconn.unwrap_or(0) as usize,
            maxqueue: sp.maxqueue.unwrap_or(0) as usize,
            minconn: sp.minconn.unwrap_or(0) as usize,
            send_proxy: if sp.send_proxy_v2 == Some(true) {
                fw::SendProxy::V2
            } else if sp.send_proxy == Some(true) {
                fw::SendProxy::V1
            } else {
                fw::SendProxy::None
            },
            shutdown_on_down: sp.on_marked_down.as_deref() == Some("shutdown-sessions"),
            shutdown_backup_on_up: sp.on_marked_up.as_deref() == Some("shutdown-backup-sessions"),
            source: sp
                .source
                .as_deref()
                .and_then(|s| s.split(':').next())
                .and_then(|s| s.parse().ok()),
            disabled: sp.disabled == Some(true),
            checked: sp.check == Some(true) || sp.track.is_some() || sp.agent_check == Some(true),
        };
        // Health checking.
        let name = ServerName {
            backend: p.name.name.clone(),
            server: s.name.name.clone(),
            backup: spec.backup,
        };
        let check_addr = SocketAddr::new(
            ip,
            match port {
                fw::ServerPort::Fixed(p) => p,
                _ => sp.port.unwrap_or(0),
            },
        );
        let check = (sp.check == Some(true)).then(|| check_spec(p, s, probe.clone()));
        // HAProxy's agent ignores the server's rise/fall: one reply changes its state
        // (measured by the check crate's differential test); AgentSpec's defaults say so.
        let agent = (sp.agent_check == Some(true)).then(|| AgentSpec {
            port: sp.agent_port.unwrap_or(0),
            addr: sp.agent_addr.as_deref().and_then(|a| a.parse().ok()),
            inter: sp
                .agent_inter
                .map(ms)
                .unwrap_or(haproxide_check::spec::DEFAULT_INTER),
            send: sp.agent_send.as_ref().map(|s| s.clone().into_bytes()),
            ..AgentSpec::default()
        });
        let track = sp.track.as_ref().map(|t| {
            let (tb, ts) = t
                .name
                .split_once('/')
                .unwrap_or((p.name.name.as_str(), t.name.as_str()));
            ServerName {
                backend: tb.to_string(),
                server: ts.to_string(),
                backup: false,
            }
        });
        // A server with an explicit `rise` goes to the checker too: HAProxy shows
        // its `rise` as the check counter in `show servers state` even without `check`.
        if check.is_some()
            || agent.is_some()
            || track.is_some()
            || spec.disabled
            || sp.rise.is_some()
        {
            plan.server_index.insert((bi, si), plan.checked.len());
            plan.checked.push(ServerConfig {
                name,
                addr: check_addr,
                weight: spec.weight,
                check,
                agent,
                track,
                disabled: spec.disabled,
                rise: sp.rise.unwrap_or(2),
            });
        }
        b.servers.push(spec);
    }
    (errors.len() == before).then_some(b)
}

/// The server's address: names are resolved now (HAProxy resolves at start-up).
fn server_addr(s: &ServerDef, errors: &mut Vec<Diagnostic>) -> Option<(IpAddr, fw::ServerPort)> {
    let a = s.parsed.as_ref()?;
    let span = s.address.as_ref().map(|a| a.span).unwrap_or(s.span);
    let port = match a.port {
        PortSpec::Single(p) => fw::ServerPort::Fixed(p),
        PortSpec::None => fw::ServerPort::SameAsClient,
        PortSpec::Offset(o) => fw::ServerPort::Offset(o),
        PortSpec::Range(..) => {
            errors.push(unsupported(span, "a port range on a server"));
            return None;
        }
    };
    let ip = match &a.host {
        Host::V4(v) => IpAddr::V4(*v),
        Host::V6(v) => IpAddr::V6(*v),
        Host::Any => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Host::Name(n) => match (n.as_str(), 0u16)
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
        {
            Some(sa) => sa.ip(),
            None => {
                errors.push(
                    Diagnostic::error(
                        Code::UnresolvableAddress,
                        format!("server host `{n}` does not resolve"),
                    )
                    .at(span)
                    .help("haproxide resolves server names at start-up, as HAProxy does"),
                );
                return None;
            }
        },
        _ => {
            errors.push(unsupported(
                span,
                "a UNIX or abstract-socket server address",
            ));
            return None;
        }
    };
    Some((ip, port))
}

/// The probe of a backend (`option httpchk` and friends, configuration.txt §4.2).
fn probe_spec(p: &Proxy, errors: &mut Vec<Diagnostic>) -> ProbeSpec {
    match checks::check_kind(p) {
        CheckKind::Tcp => ProbeSpec::Tcp,
        CheckKind::Http {
            method,
            uri,
            version,
            host,
        } => {
            let mut send = HttpSend::default();
            if let Some(m) = method {
                send.method = m;
            }
            if let Some(u) = uri {
                send.uri = u;
            }
            if let Some(v) = version {
                send.version = v;
            }
            if let Some(h) = host {
                // `option httpchk GET / "HTTP/1.1\r\nHost: x"`: the legacy header form.
                for line in h.split("\r\n").filter(|l| !l.is_empty()) {
                    if let Some((k, v)) = line.split_once(':') {
                        send.headers
                            .push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
            }
            let mut spec = HttpCheckSpec {
                send,
                ..HttpCheckSpec::default()
            };
            for r in &p.http_checks {
                match r {
                    CheckRule::HttpSend(s) => {
                        if let Some(m) = &s.method {
                            spec.send.method = m.clone();
                        }
                        if let Some(u) = &s.uri {
                            spec.send.uri = u.clone();
                        }
                        if let Some(v) = &s.version {
                            spec.send.version = v.clone();
                        }
                        spec.send.headers.extend(s.headers.iter().cloned());
                        if let Some(b) = &s.body {
                            spec.send.body = Some(b.clone().into_bytes());
                        }
                    }
                    CheckRule::Expect(e) => {
                        let kind = match &e.matcher {
                            ExpectMatch::Status(r) => HttpExpectKind::Status(r.clone()),
                            ExpectMatch::RStatus(s) => HttpExpectKind::RStatus(s.clone()),
                            ExpectMatch::String(s) => HttpExpectKind::String(s.clone()),
                            ExpectMatch::RString(s) => HttpExpectKind::RString(s.clone()),
                            ExpectMatch::Header {
                                name,
                                value,
                                full_line,
                                ..
                            } => {
                                if *full_line {
                                    HttpExpectKind::FHdr {
                                        name: name.clone(),
                                        value: value.clone(),
                                    }
                                } else {
                                    HttpExpectKind::Hdr {
                                        name: name.clone(),
                                        value: value.clone(),
                                    }
                                }
                            }
                            other => {
                                errors.push(unsupported(
                                    p.name.span,
                                    format!("`http-check expect {other:?}`"),
                                ));
                                continue;
                            }
                        };
                        spec.expect.push(HttpExpect {
                            negate: e.negate,
                            kind,
                        });
                    }
                    CheckRule::Connect(c) => spec.connect = Some(connect_rule(c)),
                    CheckRule::DisableOn404 => spec.disable_on_404 = true,
                    CheckRule::SendState => spec.send_state = true,
                    CheckRule::Comment(_) => {}
                    other => errors.push(unsupported(
                        p.name.span,
                        format!("`http-check` rule {other:?}"),
                    )),
                }
            }
            ProbeSpec::Http(spec)
        }
        CheckKind::TcpCheck => {
            let mut rules = Vec::new();
            for r in &p.tcp_checks {
                match r {
                    CheckRule::Connect(c) => rules.push(TcpCheckRule::Connect(connect_rule(c))),
                    CheckRule::Send {
                        data,
                        log_format: false,
                    } => rules.push(TcpCheckRule::Send(data.clone().into_bytes())),
                    CheckRule::SendBinary {
                        hex,
                        log_format: false,
                    } => match decode_hex(hex) {
                        Some(b) => rules.push(TcpCheckRule::SendBinary(b)),
                        None => errors.push(unsupported(
                            p.name.span,
                            format!("`tcp-check send-binary {hex}` (not hexadecimal)"),
                        )),
                    },
                    CheckRule::Expect(e) => {
                        let kind = match &e.matcher {
                            ExpectMatch::String(s) => TcpExpectKind::String(s.clone().into_bytes()),
                            ExpectMatch::RString(s) => TcpExpectKind::RString(s.clone()),
                            ExpectMatch::Binary(h) => match decode_hex(h) {
                                Some(b) => TcpExpectKind::Binary(b),
                                None => {
                                    errors.push(unsupported(
                                        p.name.span,
                                        format!("`tcp-check expect binary {h}`"),
                                    ));
                                    continue;
                                }
                            },
                            other => {
                                errors.push(unsupported(
                                    p.name.span,
                                    format!("`tcp-check expect {other:?}`"),
                                ));
                                continue;
                            }
                        };
                        rules.push(TcpCheckRule::Expect(TcpExpect {
                            negate: e.negate,
                            kind,
                        }));
                    }
                    CheckRule::Comment(c) => rules.push(TcpCheckRule::Comment(c.clone())),
                    other => errors.push(unsupported(
                        p.name.span,
                        format!("`tcp-check` rule {other:?}"),
                    )),
                }
            }
            ProbeSpec::TcpCheck(rules)
        }
        CheckKind::Pgsql { user } => ProbeSpec::Pgsql { user },
        CheckKind::Mysql { user, post41 } => ProbeSpec::Mysql { user, post41 },
        CheckKind::RedisCheck => ProbeSpec::Redis,
        CheckKind::Smtp { verb, domain } => ProbeSpec::Smtp {
            hello: Some((verb, domain)),
        },
        CheckKind::LdapCheck => ProbeSpec::Ldap,
        CheckKind::SslHello => ProbeSpec::SslHello,
        CheckKind::ExternalCheck | CheckKind::SpopCheck => {
            errors.push(unsupported(
                p.name.span,
                "`option external-check` / `option spop-check`",
            ));
            ProbeSpec::Tcp
        }
    }
}

fn connect_rule(c: &checks::Connect) -> ConnectRule {
    ConnectRule {
        port: c.port.as_deref().and_then(|p| p.parse().ok()),
        addr: c.addr.as_deref().and_then(|a| a.parse().ok()),
        send_proxy: c.send_proxy,
        ssl: c.ssl,
        sni: c.sni.clone(),
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A server's check settings (configuration.txt §5.2 `check`, `inter`, `rise`...).
///
/// Start-up state: HAProxy marks a checked server UP before its first check, so for
/// about a second after start it routes to every server (measured with Patroni:
/// writes reached replicas). haproxide's default is the safe one: a checked server
/// takes no traffic until its first check passes (HAProxy 3.1's `init-state down`
/// semantics). An explicit `init-state` is honoured.
fn check_spec(p: &Proxy, s: &ServerDef, probe: ProbeSpec) -> CheckSpec {
    let sp = &s.params;
    let inter = sp
        .inter
        .map(ms)
        .unwrap_or(haproxide_check::spec::DEFAULT_INTER);
    CheckSpec {
        rise: sp.rise.unwrap_or(2),
        fall: sp.fall.unwrap_or(3),
        intervals: Intervals {
            inter,
            fastinter: sp.fastinter.map(ms),
            downinter: sp.downinter.map(ms),
        },
        timeouts: CheckTimeouts {
            connect: p.timeouts.get("connect").copied().map(ms),
            check: p.timeouts.get("check").copied().map(ms),
        },
        init_state: match sp.init_state.as_deref() {
            Some("up") => InitState::Up,
            Some("fully-up") => InitState::FullyUp,
            Some("fully-down") => InitState::FullyDown,
            Some(_) => InitState::Down,
            None => InitState::None,
        },
        hold_first: sp.init_state.is_none(),
        addr: sp.addr.as_deref().and_then(|a| a.parse().ok()),
        port: sp.port,
        probe,
        tls: (sp.check_ssl == Some(true)).then(|| TlsSpec {
            verify: sp.verify.as_deref() != Some("none"),
            ca_file: sp.ca_file.as_ref().map(|c| c.name.clone().into()),
            sni: s
                .other
                .iter()
                .find(|(k, _, _)| k == "check-sni")
                .and_then(|(_, v, _)| v.clone()),
        }),
        send_proxy: sp.check_send_proxy == Some(true),
        log_health_checks: p.option("log-health-checks") == Some(true),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use haproxide_config::{check_bytes, CheckOptions, Resolver, Target};

    /// Check and translate a configuration text (the other modules' tests use it too).
    pub(crate) fn plan(text: &str) -> (Plan, Vec<Diagnostic>) {
        let env = |_: &str| None;
        let opts = CheckOptions {
            target: Target::LATEST,
            env: &env,
            ignore_resolution_failures: false,
            resolver: Resolver::HostsFile,
            check_files: false,
        };
        let checked = check_bytes("t.cfg", text.as_bytes().to_vec(), &opts);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        translate(&checked.config)
    }

    const PATRONI: &str = include_str!("../../../examples/patroni/haproxy.cfg");

    #[test]
    fn multi_queue_chooses_how_sessions_spread_over_threads() {
        let cfg = |g: &str| {
            format!("global\n{g}\ndefaults\n mode tcp\nlisten l\n bind :5000\n server s 127.0.0.1:5432\n")
        };
        let spread = |g: &str| plan(&cfg(g)).0.engine.spread;
        assert_eq!(spread(""), fw::ThreadSpread::LeastLoaded);
        assert_eq!(
            spread(" tune.listener.multi-queue on"),
            fw::ThreadSpread::LeastLoaded
        );
        assert_eq!(
            spread(" tune.listener.multi-queue fair"),
            fw::ThreadSpread::RoundRobin
        );
        assert_eq!(
            spread(" tune.listener.multi-queue fair\n tune.listener.multi-queue off"),
            fw::ThreadSpread::Off,
            "the last one wins"
        );
    }

    #[test]
    fn patroni_tutorial() {
        let (p, errors) = plan(PATRONI);
        // The stats page (mode http, `stats enable`, `stats uri /`) is served.
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = p.engine.frontends.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["stats", "primary", "replicas"]);
        assert_eq!(p.stats.len(), 1);
        assert_eq!(p.stats[0].0, 0);
        assert!(p.stats[0].1.enabled);
        assert_eq!(p.stats[0].1.uri, "/");
        assert_eq!(p.engine.frontends[0].binds.len(), 1);
        let primary = &p.engine.backends[0];
        assert_eq!(primary.name, "primary");
        assert_eq!(primary.retries, 2);
        assert_eq!(primary.timeout_connect, Some(Duration::from_secs(4)));
        assert_eq!(primary.servers.len(), 3);
        let s = &primary.servers[1];
        assert_eq!(
            (s.ip.to_string(), s.port),
            ("127.0.0.1".to_string(), fw::ServerPort::Fixed(15433))
        );
        assert!(s.shutdown_on_down && s.checked && !s.backup);
        assert_eq!(s.maxconn, 100);
        // Health checks: OPTIONS / HTTP/1.0 on the REST port, inter 3s fall 3 rise 2.
        assert_eq!(p.checked.len(), 6);
        let c = p.checked[1].check.as_ref().expect("check");
        assert_eq!(
            (c.rise, c.fall, c.intervals.inter),
            (2, 3, Duration::from_secs(3))
        );
        assert_eq!(c.port, Some(18009));
        assert_eq!(
            (c.init_state, c.hold_first),
            (InitState::None, true),
            "HAProxy's start state, but no routing before the first check passes"
        );
        let ProbeSpec::Http(h) = &c.probe else {
            panic!("http probe")
        };
        assert_eq!(
            (h.send.method.as_str(), h.send.uri.as_str()),
            ("OPTIONS", "/")
        );
        assert_eq!(
            h.expect,
            vec![HttpExpect {
                negate: false,
                kind: HttpExpectKind::Status(vec![(200, 200)])
            }]
        );
        let r = p.checked[4].check.as_ref().expect("check");
        let ProbeSpec::Http(h) = &r.probe else {
            panic!("http probe")
        };
        assert_eq!(h.send.uri, "/replica?lag=1MB");
        // listen: the frontend's default backend is its own backend.
        assert_eq!(p.engine.frontends[2].default_backend, Some(1));
        assert_eq!(p.server_index.get(&(1, 2)), Some(&5));
    }

    #[test]
    fn routing_conditions() {
        let (p, errors) = plan(
            "defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
             frontend fe\n bind 127.0.0.1:7000-7001\n tcp-request inspect-delay 2s\n\
             tcp-request content accept if { req.ssl_hello_type 1 }\n\
             acl lan src 10.0.0.0/8 192.168.1.1\n acl web dst_port 443 8443\n\
             use_backend a if lan web || { req.ssl_sni -i -m end .example.com }\n\
             use_backend b unless lan\n default_backend a\n\
             backend a\n balance leastconn\n server s1 127.0.0.1:9000\n server s2 127.0.0.1 backup\n\
             backend b\n server s3 127.0.0.1:+1 send-proxy-v2\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let f = &p.engine.frontends[0];
        assert_eq!(f.binds.len(), 2, "a port range gives one listener per port");
        assert_eq!(f.inspect_delay, Some(Duration::from_secs(2)));
        assert_eq!(f.tcp_content_rules.len(), 1);
        let (bi, cond) = &f.use_backends[0];
        assert_eq!(*bi, 0);
        let cond = cond.as_ref().expect("cond");
        let at = |src: &str, dst: &str, data: &'static [u8]| {
            cond.eval(&ctx(src, dst, data)) == haproxide_expr::Tri::Pass
        };
        // lan web: src in 10/8 or 192.168.1.1, dst_port 443 or 8443.
        assert!(at("10.1.2.3:1000", "127.0.0.1:443", b""));
        assert!(at("192.168.1.1:1000", "127.0.0.1:8443", b""));
        assert!(!at("192.168.1.2:1000", "127.0.0.1:443", b""));
        assert!(!at("10.1.2.3:1000", "127.0.0.1:80", b""));
        // || { req.ssl_sni -i -m end .example.com }
        let hello: &'static [u8] = Box::leak(client_hello("DB.Example.COM").into_boxed_slice());
        assert!(at("8.8.8.8:1", "127.0.0.1:80", hello));
        assert!(f.use_backends[1].1.as_ref().is_some_and(|c| c.unless));
        let a = &p.engine.backends[0];
        assert_eq!(a.balance, fw::Balance::LeastConn);
        assert_eq!(a.servers[1].port, fw::ServerPort::SameAsClient);
        assert!(a.servers[1].backup);
        assert_eq!(
            p.engine.backends[1].servers[0].port,
            fw::ServerPort::Offset(1)
        );
        assert_eq!(
            p.engine.backends[1].servers[0].send_proxy,
            fw::SendProxy::V2
        );
        assert!(p.checked.is_empty(), "no server is checked");
    }

    #[test]
    fn payload_tests() {
        let (p, errors) = plan(
            "defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
             frontend fe\n bind 127.0.0.1:7000\n tcp-request inspect-delay 1s\n acl get req.payload(0,3) -m bin 474554\n\
             use_backend a if get\n default_backend a\nbackend a\n server s1 127.0.0.1:9000\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let cond = p.engine.frontends[0].use_backends[0]
            .1
            .as_ref()
            .expect("cond");
        let eval = |data: &'static [u8], fin| {
            let mut c = ctx("8.8.8.8:1", "127.0.0.1:7000", data);
            c.final_eval = fin;
            cond.eval(&c)
        };
        assert_eq!(eval(b"GET /", true), haproxide_expr::Tri::Pass);
        assert_eq!(eval(b"GE", false), haproxide_expr::Tri::Miss);
        assert_eq!(eval(b"PUT", false), haproxide_expr::Tri::Fail);
    }

    /// What a TCP session shows the conditions.
    fn ctx(
        src: &str,
        dst: &str,
        data: &'static [u8],
    ) -> haproxide_forward::rules::EvalCtx<'static> {
        haproxide_forward::rules::EvalCtx {
            src: src.parse().ok(),
            dst: dst.parse().ok(),
            data,
            final_eval: true,
        }
    }

    /// A TLS ClientHello record whose SNI is `name`.
    fn client_hello(name: &str) -> Vec<u8> {
        let n = name.as_bytes();
        let mut ext = vec![0, 0];
        ext.extend_from_slice(&((n.len() + 5) as u16).to_be_bytes());
        ext.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&(n.len() as u16).to_be_bytes());
        ext.extend_from_slice(n);
        let mut hello = vec![3, 3];
        hello.extend_from_slice(&[0; 32]);
        hello.extend_from_slice(&[0, 0, 2, 0x13, 1, 1, 0]);
        hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        hello.extend_from_slice(&ext);
        let mut hs = vec![1, 0];
        hs.extend_from_slice(&(hello.len() as u16).to_be_bytes());
        hs.extend_from_slice(&hello);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn what_is_not_run_is_named() {
        let (_, errors) = plan(
            "defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
             frontend fe\n bind 127.0.0.1:7000\n acl h req.rdp_cookie_cnt gt 0\n use_backend a if h\n default_backend a\n\
             backend a\n stick-table type ip size 1k\n server s1 127.0.0.1:9000\n",
        );
        let lines: Vec<u32> = errors
            .iter()
            .filter_map(|d| d.span.map(|s| s.line))
            .collect();
        assert_eq!(lines, vec![12, 8], "backend errors come first: {errors:?}");
        assert!(errors.iter().all(|d| d.code == Code::NotRunYet));
    }

    const BASE: &str =
        "defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n";

    #[test]
    fn stats_proxy_is_served() {
        let (p, errors) = plan(&format!(
            "global\n description the lab\n{BASE}\
             listen stats\n mode http\n bind 127.0.0.1:7000\n timeout client 7s\n stats enable\n stats uri /st\n\
             stats refresh 10s\n stats realm Lab\n stats auth admin:se:cret\n stats auth ro:x\n\
             stats admin if LOCALHOST || {{ src 10.0.0.0/8 192.168.0.0/255.255.0.0 }}\n stats hide-version\n stats show-legends\n\
             stats show-node n1\n stats show-desc\n stats scope .\n stats scope pg\n\
             acl m path /metrics\n http-request use-service prometheus-exporter if m\n\
             http-request use-service prometheus-exporter if {{ path_beg /prom }} !{{ src 10.9.9.9 }}\n"
        ));
        assert!(errors.is_empty(), "{errors:?}");
        let (i, s) = &p.stats[0];
        assert_eq!(p.engine.frontends[*i].name, "stats");
        assert_eq!(
            p.engine.frontends[*i].timeout_client,
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            (s.uri.as_str(), s.realm.as_str(), s.refresh),
            ("/st", "Lab", Some(10))
        );
        assert_eq!(
            s.auth,
            vec![
                ("admin".into(), "se:cret".into()),
                ("ro".into(), "x".into())
            ]
        );
        assert!(s.hide_version && s.show_legends && s.enabled);
        assert_eq!(s.show_node.as_deref(), Some("n1"));
        assert_eq!(s.show_desc.as_deref(), Some(""));
        assert_eq!(s.description, "the lab");
        assert_eq!(s.scope, vec![".".to_string(), "pg".to_string()]);
        let admin = s.admin.as_ref().expect("admin");
        let ip = |a: &str| Some(SocketAddr::new(a.parse().unwrap(), 1000));
        let passes = crate::stats::passes;
        assert!(passes(admin, ip("127.0.0.1"), "/"));
        assert!(passes(admin, ip("10.2.3.4"), "/"));
        assert!(passes(admin, ip("192.168.7.1"), "/"));
        assert!(!passes(admin, ip("172.16.0.1"), "/"));
        assert_eq!(s.prometheus.len(), 2);
        let m = s.prometheus[0].as_ref().expect("cond");
        assert!(passes(m, None, "/metrics") && !passes(m, None, "/metricsx"));
        let pb = s.prometheus[1].as_ref().expect("cond");
        assert!(passes(pb, ip("10.0.0.1"), "/prom/x") && !passes(pb, ip("10.9.9.9"), "/prom/x"));
        // No engine backend for it.
        assert!(p.engine.backends.is_empty());
    }

    #[test]
    fn other_http_features_in_a_stats_proxy_are_refused_with_their_line() {
        let (p, errors) = plan(&format!(
            "{BASE}listen stats\n mode http\n bind 127.0.0.1:7000\n stats enable\n\
             http-request deny if {{ path /x }}\n option forwardfor\n compression algo gzip\n\
             server s1 127.0.0.1:80\n stats admin if {{ hdr(host) x }}\n\
             frontend web\n mode http\n bind 127.0.0.1:8080\n default_backend b\n\
             backend b\n mode http\n server s 127.0.0.1:80\n"
        ));
        let mut lines: Vec<u32> = errors
            .iter()
            .filter_map(|d| d.span.map(|s| s.line))
            .collect();
        lines.sort_unstable();
        // http-request deny (10), compression (12), server (13), stats admin on a
        // header (14), the plain HTTP frontend (16) and backend (20).
        assert_eq!(lines, vec![10, 12, 13, 14, 16, 20], "{errors:?}");
        assert!(errors.iter().all(|d| d.code == Code::NotRunYet));
        assert!(p.stats.is_empty());
    }

    #[test]
    fn stats_keywords_are_inherited_from_defaults() {
        let (p, errors) = plan(
            "defaults\n mode http\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
             stats uri /admin\n stats auth a:b\n\
             listen st\n bind 127.0.0.1:7000\n stats realm Own\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let s = &p.stats[0].1;
        assert!(s.enabled);
        assert_eq!((s.uri.as_str(), s.realm.as_str()), ("/admin", "Own"));
        assert_eq!(s.auth, vec![("a".to_string(), "b".to_string())]);
    }
}
