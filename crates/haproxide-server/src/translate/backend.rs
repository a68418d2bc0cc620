//! Backends: servers, balance, hash-type, queues (configuration.txt §4.2, §5.2).

use super::*;

pub(super) fn backend(
    cfg: &Resolved,
    p: &Proxy,
    bi: usize,
    plan: &mut Plan,
    errors: &mut Vec<Diagnostic>,
) -> Option<fw::BackendSpec> {
    let before = errors.len();
    if p.kind == ProxyKind::Backend {
        refuse_unrun(p, errors);
    }
    let http = p.effective_mode() == Mode::Http;
    let lb_key = match p.http_lb_key().filter(|_| http) {
        Some(Ok(k)) => Some(k),
        Some(Err(what)) => {
            errors.push(unsupported(p.balance_span.unwrap_or(p.name.span), what));
            None
        }
        None => None,
    };
    let balance = match &p.balance {
        None | Some(CfgBalance::RoundRobin) => fw::Balance::RoundRobin,
        Some(CfgBalance::StaticRr) => fw::Balance::StaticRr,
        Some(CfgBalance::LeastConn) => fw::Balance::LeastConn,
        Some(CfgBalance::First) => fw::Balance::First,
        Some(CfgBalance::Source) => fw::Balance::Source,
        Some(CfgBalance::Random { draws }) => fw::Balance::Random { draws: *draws },
        Some(CfgBalance::Uri { .. }) if http => fw::Balance::Uri,
        Some(CfgBalance::UrlParam { .. }) if http => fw::Balance::UrlParam,
        Some(CfgBalance::Hdr { .. }) if http => fw::Balance::Hdr,
        Some(other) => {
            let span = p.balance_span.unwrap_or(p.name.span);
            errors.push(unsupported(
                span,
                format!(
                    "`balance {other:?}` in {} mode",
                    p.effective_mode().as_str().to_uppercase()
                ),
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
        abortonclose: p.option("abortonclose") == Some(true),
        reuse: match p.http_reuse.map(|r| r.value) {
            Some(haproxide_config::model::HttpReuse::Never) => fw::HttpReuse::Never,
            Some(haproxide_config::model::HttpReuse::Aggressive) => fw::HttpReuse::Aggressive,
            Some(haproxide_config::model::HttpReuse::Always) => fw::HttpReuse::Always,
            Some(haproxide_config::model::HttpReuse::Safe) | None => fw::HttpReuse::Safe,
        },
        all_backups: p.option("allbackups") == Some(true),
        timeout_connect: p.timeouts.get("connect").copied().map(ms),
        timeout_server: p.timeouts.get("server").copied().map(ms),
        timeout_server_fin: p.timeouts.get("server-fin").copied().map(ms),
        timeout_tunnel: p.timeouts.get("tunnel").copied().map(ms),
        timeout_queue: p.timeouts.get("queue").copied().map(ms),
        fullconn: p.fullconn.map(|v| v as usize),
        tcp_keepalive: p.option("srvtcpka") == Some(true) || p.option("tcpka") == Some(true),
        http: http_spec(p, p.kind != ProxyKind::Listen, errors),
        persist: super::persist::spec(p, errors),
        lb_key,
        stick: super::persist::stick(p, &plan.engine.stick_tables, errors),
        tcp_response_rules: if http {
            Vec::new()
        } else {
            super::tcp_rules::response_rules(p, errors)
        },
        res_inspect_delay: p.res_inspect_delay.map(ms),
    };
    // An HTTP backend's `tcp-request content` rules run on each request after
    // backend switching, before its `http-request` rules (a `listen` runs
    // them once, on its frontend half).
    if let (Some(h), ProxyKind::Backend) = (b.http.as_mut(), p.kind) {
        h.tcp_content = p
            .rules
            .iter()
            .filter(|r| r.ruleset == "tcp-request content")
            .filter_map(|r| {
                super::tcp_rules::tcp_rule(p, r, haproxide_expr::Uses::HTTP, "HTTP mode", errors)
            })
            .collect();
    }
    let defaults = p.defaults.and_then(|d| cfg.proxies.get(d));
    let base = health::CheckBase::of(p, defaults, errors);
    plan.check_bases.insert(bi, base.clone());
    for (si, s) in p.servers.iter().enumerate() {
        // §5.2 `proto h2`: HTTP/2 to the server (docs/h2.md), HTTP mode only
        // (HAProxy 2.6.12 refuses it in TCP mode: "MUX protocol 'h2' is not
        // usable for server").
        let proto_h2 = match s.proto() {
            Some(("h2", span)) if !http => {
                errors.push(unsupported(
                    span,
                    format!(
                        "MUX protocol 'h2' is not usable for server '{}' (`proto h2` needs mode http)",
                        s.name.name
                    ),
                ));
                continue;
            }
            Some(("h2", _)) => true,
            _ => false,
        };
        let Some((ip, port, unresolved)) = server_addr(s, errors) else {
            continue;
        };
        let sp = &s.params;
        let mut spec = server_spec(s, ip, port, unresolved);
        spec.proto_h2 = proto_h2;
        match server_tls(s) {
            Ok(t) => spec.tls = t,
            Err(e) => {
                errors.push(*e);
                continue;
            }
        }
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
        let socks4 = health::socks4_addr(s, errors);
        spec.socks4 = socks4;
        let check = (sp.check == Some(true)).then(|| check_spec(&base, s, socks4));
        let agent = health::agent_spec(sp);
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
                // An unresolved name is HAProxy's resolution maintenance, kept apart
                // from `disabled` (which `enable server` lifts).
                disabled: sp.disabled == Some(true),
                unresolved: unresolved.then(|| match s.parsed.as_ref().map(|a| &a.host) {
                    Some(haproxide_config::value::Host::Name(n)) => n.clone(),
                    _ => String::new(),
                }),
                rise: sp.rise.unwrap_or(2),
            });
        }
        b.servers.push(spec);
    }
    (errors.len() == before).then_some(b)
}

/// The forwarder's view of a configured server, or of one `add server` parsed.
pub(crate) fn server_spec(
    s: &ServerDef,
    ip: IpAddr,
    port: fw::ServerPort,
    unresolved: bool,
) -> fw::ServerSpec {
    let sp = &s.params;
    fw::ServerSpec {
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
        disabled: sp.disabled == Some(true) || unresolved,
        checked: sp.check == Some(true) || sp.track.is_some() || sp.agent_check == Some(true),
        tls: None,
        cookie: sp.cookie.as_deref().map(|c| c.as_bytes().into()),
        unix: server_unix(s),
        socks4: None,
        proto_h2: false,
        pool: server_pool(sp),
    }
}

/// §5.2 `pool-max-conn` (-1: unlimited), `pool-purge-delay` (5 s),
/// `pool-low-conn`, `max-reuse` (-1: unlimited).
fn server_pool(sp: &haproxide_config::model::ServerParams) -> fw::ServerPool {
    let d = fw::ServerPool::default();
    fw::ServerPool {
        max_conn: match sp.pool_max_conn {
            Some(n) if n >= 0 => Some(n as usize),
            _ => d.max_conn,
        },
        purge_delay: sp
            .pool_purge_delay
            .map_or(d.purge_delay, |t| t.as_duration()),
        low_conn: sp.pool_low_conn.map_or(d.low_conn, |n| n as usize),
        max_reuse: match sp.max_reuse {
            Some(n) if n >= 0 => Some(n as u32),
            _ => d.max_reuse,
        },
    }
}

/// The server's UNIX-socket path (configuration.txt §2.3: an address starting
/// with `/`, or `unix@`), if it has one.
pub(crate) fn server_unix(s: &ServerDef) -> Option<std::sync::Arc<std::path::Path>> {
    match s.parsed.as_ref().map(|a| &a.host) {
        Some(Host::Unix(p)) => Some(std::path::Path::new(p).into()),
        _ => None,
    }
}

/// The TLS client of an `ssl` server (docs/tls.md "Server side"): what rustls
/// cannot do (TLS below 1.2) is refused with the server's line.
pub(crate) fn server_tls(s: &ServerDef) -> Result<Option<fw::ServerTls>, Box<Diagnostic>> {
    let Some(t) = &s.tls else {
        return Ok(None);
    };
    let refuse = |m: String| {
        Box::new(super::unsupported(
            s.span,
            format!("server `{}` `ssl`: {m}", s.name.name),
        ))
    };
    let connector = haproxide_tls::Connector::build(t).map_err(refuse)?;
    let sni = match &s.params.sni {
        Some(e) => Some(haproxide_expr::SampleExpr::parse(e).map_err(|e| refuse(e.to_string()))?),
        None => None,
    };
    Ok(Some(fw::ServerTls { connector, sni }))
}

/// The server's address: names are resolved now (HAProxy resolves at start-up).
pub(crate) fn server_addr(
    s: &ServerDef,
    errors: &mut Vec<Diagnostic>,
) -> Option<(IpAddr, fw::ServerPort, bool)> {
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
        // `init-addr none` first (no `libc` before it): HAProxy does not resolve.
        Host::Name(_) if !s.params.resolves_at_start() => {
            return Some((IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port, true));
        }
        Host::Name(n) => match (n.as_str(), 0u16)
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
        {
            Some(sa) => sa.ip(),
            // `init-addr ...,none` (or `-dr`): HAProxy starts the server in
            // maintenance, without an address; the config crate warned already.
            None if s
                .params
                .init_addr
                .as_ref()
                .is_some_and(|m| m.iter().any(|x| x == "none")) =>
            {
                return Some((IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port, true));
            }
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
        // §2.3 `/path`, `unix@path`: the socket path goes in the spec's `unix`
        // ([`server_unix`]); no IP address.
        Host::Unix(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Host::Abns(_) => {
            errors.push(unsupported(
                span,
                "an abstract-namespace server address (`abns@`; UNIX-socket paths run)",
            ));
            return None;
        }
        _ => {
            errors.push(unsupported(span, "an `fd@` or `sockpair@` server address"));
            return None;
        }
    };
    Some((ip, port, false))
}
