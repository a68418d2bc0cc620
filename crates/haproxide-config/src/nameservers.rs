//! The nameservers of `resolvers` sections (configuration.txt §5.3.2
//! `nameserver`, `parse-resolv-conf`), tried as HAProxy 2.6 tries them after
//! the parse (resolvers.c `resolvers_finalize_config`): a UDP socket connected
//! to each one, which sends nothing. One that cannot be connected (no route:
//! a host without network) is warned about; HAProxy 2.6.12 warns, 2.6.0 refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use crate::diag::{Code, Diagnostic, HaproxyLoc};
use crate::model::Config;
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

/// HAProxy's warning for each nameserver a UDP socket cannot reach.
pub(crate) fn check(cfg: &Config, diags: &mut Vec<Diagnostic>) {
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
