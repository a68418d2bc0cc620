//! `option external-check` (configuration.txt §4.2 `external-check command`,
//! `external-check path`) → the checker's [`ExternalSpec`]: HAProxy's four
//! arguments and its `HAPROXY_*` environment, measured against HAProxy 2.6.12
//! (tests/external_check.rs).

use haproxide_check::spec::ExternalSpec;
use haproxide_config::value::{Host, PortSpec};

use super::*;

/// What HAProxy passes for a proxy without a usable listener (a backend).
const NOT_USED: &str = "NOT_USED";

/// The proxy half: the command, `<proxy_address> <proxy_port>` from the first
/// IPv4/IPv6/UNIX listener, `HAPROXY_PROXY_*` and `PATH`. None (with an error)
/// without `external-check command`.
pub(super) fn proxy_part(
    p: &Proxy,
    defaults: Option<&Proxy>,
    errors: &mut Vec<Diagnostic>,
) -> Option<ExternalSpec> {
    let cfg = checks::external_check(p, defaults);
    let Some(command) = cfg.command else {
        errors.push(
            Diagnostic::error(
                Code::MissingGlobalSetting,
                "`option external-check` without `external-check command`",
            )
            .at(p.name.span),
        );
        return None;
    };
    let first = p
        .binds
        .iter()
        .flat_map(|b| b.addresses.iter())
        .find_map(|(_, a)| match (&a.host, a.port) {
            (Host::V4(ip), PortSpec::Single(port)) => Some((ip.to_string(), port.to_string())),
            (Host::V6(ip), PortSpec::Single(port)) => Some((ip.to_string(), port.to_string())),
            (Host::Any, PortSpec::Single(port)) => Some(("0.0.0.0".into(), port.to_string())),
            (Host::Unix(path), _) => Some((path.clone(), NOT_USED.into())),
            _ => None,
        });
    let (addr_arg, port_arg) = first.clone().unwrap_or((NOT_USED.into(), NOT_USED.into()));
    let (addr_env, port_env) = match first {
        Some((a, port)) if port == NOT_USED => (a, String::new()),
        Some(x) => x,
        None => (String::new(), String::new()),
    };
    Some(ExternalSpec {
        command,
        args: vec![addr_arg, port_arg],
        env: vec![
            ("HAPROXY_PROXY_ADDR".into(), addr_env),
            ("HAPROXY_PROXY_ID".into(), String::new()),
            ("HAPROXY_PROXY_NAME".into(), p.name.name.clone()),
            ("HAPROXY_PROXY_PORT".into(), port_env),
            ("PATH".into(), cfg.path.unwrap_or_default()),
        ],
    })
}

/// The server half: `<server_address> <server_port>` and `HAPROXY_SERVER_*`.
/// `HAPROXY_SERVER_CURCONN` is 0: the checker does not see the engine's counts.
pub(super) fn server_part(e: &mut ExternalSpec, s: &ServerDef, http: bool) {
    let (addr, port) = match s.parsed.as_ref() {
        Some(a) => {
            let port = match a.port {
                PortSpec::Single(p) => p.to_string(),
                _ => "0".into(),
            };
            match &a.host {
                Host::V4(ip) => (ip.to_string(), port),
                Host::V6(ip) => (ip.to_string(), port),
                Host::Unix(path) => (path.clone(), String::new()),
                Host::Name(n) => (
                    (n.as_str(), 0u16)
                        .to_socket_addrs()
                        .ok()
                        .and_then(|mut i| i.next())
                        .map(|sa| sa.ip().to_string())
                        .unwrap_or_default(),
                    port,
                ),
                _ => ("0.0.0.0".into(), port),
            }
        }
        None => (String::new(), String::new()),
    };
    e.args.truncate(2);
    e.args.push(addr.clone());
    e.args.push(port.clone());
    let sp = &s.params;
    e.env.extend([
        ("HAPROXY_SERVER_ADDR".into(), addr),
        ("HAPROXY_SERVER_CURCONN".into(), "0".into()),
        ("HAPROXY_SERVER_ID".into(), String::new()),
        (
            "HAPROXY_SERVER_MAXCONN".into(),
            sp.maxconn.unwrap_or(0).to_string(),
        ),
        ("HAPROXY_SERVER_NAME".into(), s.name.name.clone()),
        ("HAPROXY_SERVER_PORT".into(), port),
        (
            "HAPROXY_SERVER_PROTO".into(),
            if http { "h1" } else { "tcp" }.into(),
        ),
        (
            "HAPROXY_SERVER_SSL".into(),
            if s.tls.is_some() { "1" } else { "0" }.into(),
        ),
    ]);
}

/// Fills `HAPROXY_PROXY_ID` and `HAPROXY_SERVER_ID` once the ids are numbered
/// (admin_plan: forced `id`s, then HAProxy's automatic numbering).
pub(super) fn fill_ids(plan: &mut Plan) {
    for pp in &plan.proxies {
        let Some(bi) = pp.backend else { continue };
        for (si, (sid, _)) in pp.sids.iter().enumerate() {
            let Some(&ci) = plan.server_index.get(&(bi, si)) else {
                continue;
            };
            let Some(c) = plan.checked.get_mut(ci).and_then(|c| c.check.as_mut()) else {
                continue;
            };
            if let ProbeSpec::External(e) = &mut c.probe {
                for (k, v) in e.env.iter_mut() {
                    match k.as_str() {
                        "HAPROXY_PROXY_ID" => *v = pp.iid.to_string(),
                        "HAPROXY_SERVER_ID" => *v = sid.to_string(),
                        _ => {}
                    }
                }
            }
        }
    }
}
