//! What HAProxy 2.6 checks of `resolvers` sections after the parse
//! (configuration.txt §5.3.2; resolvers.c `resolvers_finalize_config`, the
//! httpclient's `do-resolve`): the section `httpclient.resolvers.id` names, a
//! UDP socket connected to each nameserver (which sends nothing: one that
//! cannot be connected, no route on a host without network, is warned about;
//! HAProxy 2.6.12 warns, 2.6.0 refused), then the section each server's
//! `resolvers` names (`default` always exists).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use crate::diag::{Code, Diagnostic, HaproxyLoc};
use crate::model::{Config, ProxyKind};
use crate::resolve::type_str;
use crate::value::{parse_address, AddrUse, Host, PortSpec};

/// A nameserver HAProxy would reach over UDP: its id and address.
fn udp_nameservers(cfg: &Config, resolv_conf: &str) -> Vec<(String, String, SocketAddr)> {
    let mut out = Vec::new();
    for s in cfg.others.iter().filter(|s| s.kind == "resolvers") {
        let section = s.name.as_ref().map_or("", |n| n.name.as_str());
        for d in &s.directives {
            match d.line.arg(0) {
                "nameserver" => {
                    let Ok(a) = parse_address(d.line.arg(2), AddrUse::Other) else {
                        continue;
                    };
                    // `tcp@` nameservers are streams, opened later.
                    if a.prefix.as_deref().is_some_and(|p| p.starts_with("tcp")) {
                        continue;
                    }
                    let port = match a.port {
                        PortSpec::Single(p) => p,
                        _ => continue,
                    };
                    // Names were resolved by the parse; their address is not kept.
                    let ip = match a.host {
                        Host::V4(ip) => IpAddr::V4(ip),
                        Host::V6(ip) => IpAddr::V6(ip),
                        _ => continue,
                    };
                    let id = d.line.arg(1).to_string();
                    out.push((section.to_string(), id, SocketAddr::new(ip, port)));
                }
                // Each `nameserver <ip>` line of resolv.conf, named by its address.
                "parse-resolv-conf" => {
                    for l in resolv_conf.lines() {
                        let mut w = l.split_whitespace();
                        if w.next() != Some("nameserver") {
                            continue;
                        }
                        let Some(Ok(ip)) = w.next().map(str::parse::<IpAddr>) else {
                            continue;
                        };
                        let id = ip.to_string();
                        out.push((section.to_string(), id, SocketAddr::new(ip, 53)));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Whether a UDP socket connects to `to` (no packet is sent).
fn connects(to: SocketAddr) -> bool {
    let any = match to {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    UdpSocket::bind(SocketAddr::new(any, 0)).is_ok_and(|s| s.connect(to).is_ok())
}

/// HAProxy's findings in its order; `sockets`: try the nameservers (not in
/// unit tests). True when HAProxy stops there (a missing section).
pub(crate) fn check(cfg: &Config, sockets: bool, diags: &mut Vec<Diagnostic>) -> bool {
    let names: Vec<&str> = cfg
        .others
        .iter()
        .filter(|s| s.kind == "resolvers")
        .filter_map(|s| s.name.as_ref().map(|n| n.name.as_str()))
        .chain(["default"])
        .collect();
    let mut fatal = false;
    let httpclient = cfg
        .global
        .directives
        .iter()
        .rfind(|d| d.line.arg(0) == "httpclient.resolvers.id");
    if let Some(d) = httpclient.filter(|d| !names.contains(&d.line.arg(1))) {
        let id = d.line.arg(1);
        let mut e = Diagnostic::error(
            Code::UnknownSection,
            format!("`httpclient.resolvers.id` names no resolvers section `{id}`"),
        )
        .hx(
            HaproxyLoc::None,
            format!(
                "Proxy '<HTTPCLIENT>': Can't find resolvers section '{id}' for do-resolve action."
            ),
        );
        e.span = d.line.words.get(1).map(|w| w.span);
        diags.push(e);
        fatal = true;
    }
    if sockets {
        let resolv_conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        for (section, id, addr) in udp_nameservers(cfg, &resolv_conf) {
            if connects(addr) {
                continue;
            }
            diags.push(
                Diagnostic::warning(
                    Code::MiscWarning,
                    format!("resolvers `{section}`: nameserver `{id}` ({addr}) is unreachable"),
                )
                .hx(
                    HaproxyLoc::None,
                    format!("resolvers '{section}': can't connect socket for nameserver '{id}'."),
                ),
            );
        }
    }
    for p in cfg.proxies.iter().filter(|p| p.kind != ProxyKind::Defaults) {
        for s in &p.servers {
            let Some(r) = s.params.resolvers.as_ref() else {
                continue;
            };
            if names.contains(&r.name.as_str()) {
                continue;
            }
            let (kind, px, srv, id) = (type_str(p.kind), &p.name.name, &s.name.name, &r.name);
            diags.push(
                Diagnostic::error(
                    Code::UnknownSection,
                    format!("server `{srv}` names no resolvers section `{id}`"),
                )
                .at(r.span)
                .hx(
                    HaproxyLoc::None,
                    format!(
                        "{kind} '{px}', server '{srv}': unable to find required resolvers '{id}'"
                    ),
                ),
            );
            fatal = true;
        }
    }
    fatal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_are_read_from_lines_and_resolv_conf() {
        let text = "resolvers dns\n nameserver a 127.0.0.11:53\n nameserver b tcp@10.0.0.1:53\n \
                    nameserver c [::1]:5353\n parse-resolv-conf\n";
        let c = crate::test_support::check_text(text).config;
        let ns = udp_nameservers(
            &c,
            "# x\nnameserver 10.255.255.53\nnameserver bad\nsearch x\n",
        );
        let got: Vec<(&str, &str, String)> = ns
            .iter()
            .map(|(s, i, a)| (s.as_str(), i.as_str(), a.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("dns", "a", "127.0.0.11:53".to_string()),
                ("dns", "c", "[::1]:5353".to_string()),
                ("dns", "10.255.255.53", "10.255.255.53:53".to_string()),
            ]
        );
        // The loopback is reachable here; the test of the warning runs both
        // programs without network (crates/haproxide/tests/file_checks.rs).
        assert!(connects("127.0.0.1:53".parse().expect("address")));
    }
}
