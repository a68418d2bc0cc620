//! Frontends: `bind` lines → listeners, `tcp-request` rules, `use_backend`
//! (configuration.txt §4.2, §5.1).

use super::*;

/// `capture request|response header`, `declare capture` (§4.2, §8.8) → the
/// engine's capture slots.
fn captures(p: &Proxy, errors: &mut Vec<Diagnostic>) -> haproxide_forward::CaptureSpec {
    let slot = |c: &haproxide_config::captures::Capture| haproxide_forward::CaptureSlot {
        header: c.header.as_deref().map(Into::into),
        len: c.len,
    };
    match haproxide_config::captures::captures(p) {
        Ok(c) => haproxide_forward::CaptureSpec {
            request: c.request.iter().map(slot).collect(),
            response: c.response.iter().map(slot).collect(),
            request_line: false,
        },
        Err(e) => {
            errors.push(Diagnostic::error(Code::InvalidArgument, e.message).at(e.span));
            haproxide_forward::CaptureSpec::default()
        }
    }
}

/// Whether the frontend's HTTP rules make HAProxy keep each request's line for
/// `capture.req.uri`/`capture.req.method` with no log printing it: a log-format
/// value with an HTTP sample (`set-header x "%[path]"`) does (HAProxy 2.6.12,
/// measured: `%[int(1)]` or an ACL on `path` does not). The log format's own
/// `%r` and `unique-id-format` count too (the logger, translate/mod.rs).
fn keeps_request_line(h: &fw::HttpSpec) -> bool {
    [&h.http_request, &h.http_response, &h.http_after_response]
        .into_iter()
        .flatten()
        .flat_map(|r| r.action.formats())
        .any(|f| f.keeps_request_line())
}

pub(super) fn frontend(
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
        backlog: p.backlog.map(|b| b.value),
        timeout_client: p.timeouts.get("client").copied().map(ms),
        timeout_client_fin: p.timeouts.get("client-fin").copied().map(ms),
        tcp_keepalive: p.option("clitcpka") == Some(true) || p.option("tcpka") == Some(true),
        dont_log_null: p.option("dontlognull") == Some(true),
        ..Default::default()
    };
    f.inspect_delay = p.inspect_delay.map(ms);
    f.http = http_spec(p, true, errors);
    if let Some(h) = &f.http {
        f.captures = captures(p, errors);
        f.captures.request_line = keeps_request_line(h);
    }
    // Conditions see layers 4 and 6 in TCP mode, 4 and 7 (the request) in HTTP.
    let (uses, mode) = if f.http.is_some() {
        (haproxide_expr::Uses::HTTP, "HTTP mode")
    } else {
        (haproxide_expr::Uses::TCP, "TCP mode")
    };
    binds(p, &mut f, errors);
    let mut sessions = 0;
    for r in p
        .rules
        .iter()
        .filter(|r| r.ruleset.starts_with("tcp-request"))
    {
        // `tcp-request session` rules (§4.2) run once the session exists, before
        // the content rules; they see layer 4 only, so they never wait for data.
        let session = r.ruleset == "tcp-request session";
        let (uses, mode) = if session {
            (haproxide_expr::Uses::L4, "a tcp-request session rule")
        } else {
            (uses, mode)
        };
        let Some(rule) = super::tcp_rules::tcp_rule(p, r, uses, mode, errors) else {
            continue;
        };
        if session {
            f.tcp_content_rules.insert(sessions, rule);
            sessions += 1;
            continue;
        }
        match r.ruleset.as_str() {
            "tcp-request connection" => f.tcp_connection_rules.push(rule),
            "tcp-request content" => f.tcp_content_rules.push(rule),
            other => errors.push(unsupported(r.action.span, format!("`{other}`"))),
        }
    }
    // HTTP mode: `tcp-request content` rules with stick-counter actions run on
    // each request (HAProxy 2.6 runs them on each HTX stream, before the
    // `http-request` rules), so the whole content rule set moves there.
    if let Some(h) = f.http.as_mut() {
        let sticky = f.tcp_content_rules[sessions..]
            .iter()
            .any(|r| r.act.as_ref().is_some_and(fw::TcpAct::is_stick));
        if sticky {
            h.tcp_content = f.tcp_content_rules.split_off(sessions);
        }
    }
    f.tcp_session_rules = sessions;
    for ub in &p.use_backends {
        let cond = match &ub.cond {
            Some(c) => match condition(p, c, uses, mode, errors) {
                Some(c) => Some(c),
                None => continue,
            },
            None => None,
        };
        // A name built per request (HTTP frontends; §4.2).
        match (&ub.format, f.http.is_some()) {
            (Some(Ok(name)), true) => {
                f.dyn_backends.push(fw::DynBackend {
                    at: f.use_backends.len(),
                    name: name.clone(),
                    cond,
                });
                continue;
            }
            (Some(Err(why)), true) => {
                errors.push(unsupported(ub.backend.span, why.clone()));
                continue;
            }
            _ => {}
        }
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
pub(super) fn binds(p: &Proxy, f: &mut fw::FrontendSpec, errors: &mut Vec<Diagnostic>) {
    let tcp_mode = p.effective_mode() != Mode::Http;
    let option = p.option("tcp-smart-accept");
    for b in &p.binds {
        let tls = if b.ssl {
            match tls_acceptor(b) {
                Ok(a) => Some(a),
                Err(e) => {
                    errors.push(*e);
                    continue;
                }
            }
        } else {
            None
        };
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
                    tls: tls.clone(),
                    proto_h2: b.proto_h2,
                    smart_accept: smart_accept(tcp_mode, option, b.ssl),
                });
            }
        }
    }
}

/// Whether §4.2 `option tcp-smart-accept` applies to a bind: when set, not with
/// `no option`, and by default on `ssl` binds (HAProxy 2.6.12 sets TCP_QUICKACK
/// off on those listeners, measured with strace). HTTP mode keeps quick ACKs for
/// now: HAProxy, which defaults the option on there too, turns them back on while
/// a request is incomplete so that a client waiting for an ACK (Nagle) is not held
/// 40 ms, and the HTTP engine does not do that yet.
pub(super) fn smart_accept(tcp_mode: bool, option: Option<bool>, ssl: bool) -> bool {
    tcp_mode && option.unwrap_or(ssl)
}

/// The TLS acceptor of a `bind ... ssl` line (docs/tls.md): what rustls cannot do
/// is refused with the line.
fn tls_acceptor(
    b: &haproxide_config::model::Bind,
) -> Result<haproxide_tls::Acceptor, Box<Diagnostic>> {
    if let Some((why, span)) = b.tls.refused.first() {
        return Err(Box::new(unsupported(*span, why)));
    }
    let spec = haproxide_tls::BindTlsSpec {
        entries: b.tls.crts.clone(),
        options: b.tls.options.clone(),
        strict_sni: b.tls.strict_sni,
        cache_size: b.tls.cache_size.unwrap_or(20000) as usize,
        max_record: b.tls.max_record.unwrap_or(0) as usize,
        at: b.tls.at.clone(),
    };
    haproxide_tls::Acceptor::build(&spec).map_err(|e| Box::new(unsupported(b.span, e)))
}

/// Expand a bind address into the listeners the engine opens (port ranges give
/// one listener per port, as HAProxy does).
pub(super) fn listen_addrs(
    a: &haproxide_config::value::Address,
) -> Result<Vec<fw::ListenAddr>, String> {
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
