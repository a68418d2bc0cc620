//! Health checks: `option httpchk`, `http-check`, `tcp-check`, agent checks →
//! the checker's specs (configuration.txt §4.2, §5.2).

use super::*;

/// The probe of a backend (`option httpchk` and friends, configuration.txt §4.2).
pub(super) fn probe_spec(
    p: &Proxy,
    defaults: Option<&Proxy>,
    errors: &mut Vec<Diagnostic>,
) -> ProbeSpec {
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
                    CheckRule::Connect(c) => match connect_rule(c) {
                        Ok(c) => spec.connect = Some(c),
                        Err(what) => errors.push(unsupported(p.name.span, what)),
                    },
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
                    CheckRule::Connect(c) => match connect_rule(c) {
                        Ok(c) => rules.push(TcpCheckRule::Connect(c)),
                        Err(what) => errors.push(unsupported(p.name.span, what)),
                    },
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
                        let status = |v: &Option<String>| {
                            v.as_deref().and_then(|n| {
                                haproxide_check::status::CheckStatus::ALL
                                    .into_iter()
                                    .find(|s| s.name().eq_ignore_ascii_case(n))
                            })
                        };
                        let opts = haproxide_check::spec::ExpectOptions {
                            min_recv: e.min_recv.and_then(|m| usize::try_from(m).ok()),
                            ok_status: status(&e.ok_status),
                            error_status: status(&e.error_status),
                            tout_status: status(&e.tout_status),
                            on_success: e.on_success.clone(),
                            on_error: e.on_error.clone(),
                            comment: e.comment.clone(),
                        };
                        let expect = TcpExpect {
                            negate: e.negate,
                            kind,
                        };
                        rules.push(if opts == Default::default() {
                            TcpCheckRule::Expect(expect)
                        } else {
                            TcpCheckRule::ExpectWith(expect, opts)
                        });
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
        CheckKind::SpopCheck => ProbeSpec::Spop,
        CheckKind::SslHello => ProbeSpec::SslHello,
        CheckKind::ExternalCheck => match super::external::proxy_part(p, defaults, errors) {
            Some(e) => ProbeSpec::External(e),
            None => ProbeSpec::Tcp,
        },
    }
}

/// A `connect` rule's probe settings; `Err` names what the checker does not run:
/// a port given by a sample expression (configuration.txt §4.2 `tcp-check
/// connect`), evaluated by HAProxy at each check.
pub(super) fn connect_rule(c: &checks::Connect) -> Result<ConnectRule, String> {
    let port = match &c.port {
        None => None,
        Some(checks::ConnectPort::Number(n)) => Some(*n),
        Some(checks::ConnectPort::Expr(e)) => {
            return Err(format!(
                "`connect port {e}` (a port from a sample expression)"
            ))
        }
    };
    Ok(ConnectRule {
        port,
        addr: c.addr.as_deref().and_then(|a| a.parse().ok()),
        send_proxy: c.send_proxy,
        ssl: c.ssl,
        sni: c.sni.clone(),
        via_socks4: c.via_socks4,
    })
}

/// A server's check settings (configuration.txt §5.2 `check`, `inter`, `rise`...).
///
/// Start-up state: HAProxy marks a checked server UP before its first check, so for
/// about a second after start it routes to every server (measured with Patroni:
/// writes reached replicas). haproxide's default is the safe one: a checked server
/// takes no traffic until its first check passes (HAProxy 3.1's `init-state down`
/// semantics). An explicit `init-state` is honoured.
///
/// `socks4` is the server's SOCKS4 proxy, resolved ([`socks4_addr`]): checks go
/// through it only with `check-via-socks4` (§5.2).
/// What a backend gives every server's health check: the probe (`option httpchk`,
/// `tcp-check`...), `timeout connect`/`timeout check`, `option log-health-checks`.
/// Kept in the plan per backend for the servers `add server` creates later.
#[derive(Debug, Clone)]
pub struct CheckBase {
    probe: ProbeSpec,
    timeouts: CheckTimeouts,
    log_health_checks: bool,
    /// `mode http` (an external check's `HAPROXY_SERVER_PROTO`).
    http: bool,
}

impl CheckBase {
    pub(super) fn of(
        p: &Proxy,
        defaults: Option<&Proxy>,
        errors: &mut Vec<Diagnostic>,
    ) -> CheckBase {
        CheckBase {
            http: p.effective_mode() == Mode::Http,
            probe: probe_spec(p, defaults, errors),
            timeouts: CheckTimeouts {
                connect: p.timeouts.get("connect").copied().map(ms),
                check: p.timeouts.get("check").copied().map(ms),
            },
            log_health_checks: p.option("log-health-checks") == Some(true),
        }
    }
}

/// `agent-check` (configuration.txt §5.2). HAProxy's agent ignores the server's
/// rise/fall: one reply changes its state (measured by the check crate's
/// differential test); AgentSpec's defaults say so.
pub(crate) fn agent_spec(sp: &haproxide_config::model::ServerParams) -> Option<AgentSpec> {
    (sp.agent_check == Some(true)).then(|| AgentSpec {
        port: sp.agent_port.unwrap_or(0),
        addr: sp.agent_addr.as_deref().and_then(|a| a.parse().ok()),
        inter: sp
            .agent_inter
            .map(ms)
            .unwrap_or(haproxide_check::spec::DEFAULT_INTER),
        send: sp.agent_send.as_ref().map(|s| s.clone().into_bytes()),
        ..AgentSpec::default()
    })
}

pub(crate) fn check_spec(base: &CheckBase, s: &ServerDef, socks4: Option<SocketAddr>) -> CheckSpec {
    let sp = &s.params;
    let inter = sp
        .inter
        .map(ms)
        .unwrap_or(haproxide_check::spec::DEFAULT_INTER);
    let mut probe = base.probe.clone();
    if let ProbeSpec::External(e) = &mut probe {
        super::external::server_part(e, s, base.http);
    }
    CheckSpec {
        rise: sp.rise.unwrap_or(2),
        fall: sp.fall.unwrap_or(3),
        intervals: Intervals {
            inter,
            fastinter: sp.fastinter.map(ms),
            downinter: sp.downinter.map(ms),
        },
        timeouts: base.timeouts.clone(),
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
            sni: sp.check_sni.clone(),
        }),
        send_proxy: sp.check_send_proxy == Some(true),
        socks4,
        via_socks4: sp.check_via_socks4 == Some(true),
        log_health_checks: base.log_health_checks,
        unix: super::backend::server_unix(s).map(|p| p.to_path_buf()),
    }
}

/// The server's `socks4 <addr>:<port>` (configuration.txt §5.2), a name resolved now
/// (HAProxy resolves it at start-up); an unresolvable name is an error.
pub(crate) fn socks4_addr(s: &ServerDef, errors: &mut Vec<Diagnostic>) -> Option<SocketAddr> {
    let a = s.params.socks4.as_ref()?;
    let PortSpec::Single(port) = a.value.port else {
        return None;
    };
    let ip = match &a.value.host {
        Host::V4(v) => IpAddr::V4(*v),
        Host::V6(v) => IpAddr::V6(*v),
        Host::Name(n) => match (n.as_str(), port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut i| i.next())
        {
            Some(sa) => sa.ip(),
            None => {
                errors.push(
                    Diagnostic::error(
                        Code::UnresolvableAddress,
                        format!("socks4 host `{n}` does not resolve"),
                    )
                    .at(a.span),
                );
                return None;
            }
        },
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}
