//! `peers` sections (configuration.txt §3.5) → the engine's
//! [`fw::peers::PeersSpec`]: the local peer's listener, the remote peers'
//! addresses, and the tables shared through the section (its `table` lines,
//! and the proxies' `stick-table ... peers <section>`), each with the name and
//! key size HAProxy 2.6 puts on the wire.

use haproxide_config::model::{Config, StickTableCfg};
use haproxide_config::value::{Host, PortSpec};
use haproxide_forward::peers::{PeersSpec, WireTable};
use std::net::{SocketAddr, ToSocketAddrs};

use super::*;

/// HAProxy's key size of a table (`stktable_parse_type`): `len`+1 for a
/// string with `len` (the NUL), 32 without; `len` (32) for binary.
fn key_size(t: &StickTableCfg) -> u32 {
    let len = t.len.map(|l| l.clamp(1, 1 << 16) as u32);
    match t.kind.as_str() {
        "ipv6" => 16,
        "string" => len.map_or(32, |l| l + 1),
        "binary" => len.unwrap_or(32),
        _ => 4,
    }
}

fn socket_addr(a: &haproxide_config::value::Address) -> Option<SocketAddr> {
    let PortSpec::Single(port) = a.port else {
        return None;
    };
    let ip = match &a.host {
        Host::V4(v) => std::net::IpAddr::V4(*v),
        Host::V6(v) => std::net::IpAddr::V6(*v),
        Host::Name(n) => (n.as_str(), port).to_socket_addrs().ok()?.next()?.ip(),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Every kept `peers` section with remote peers (a section with only the
/// local peer needs no sessions: its tables go to the next process on a
/// reload). `tables`: the engine's tables, in order.
pub(super) fn peers(
    cfg: &Config,
    tables: &[haproxide_stick::TableSpec],
    errors: &mut Vec<Diagnostic>,
) -> Vec<PeersSpec> {
    let local = haproxide_config::resolve::local_peer_name(cfg);
    let mut out = Vec::new();
    for s in cfg.others.iter().filter(|s| s.kind == "peers") {
        let Some(section) = s.name.as_ref().map(|n| n.name.clone()) else {
            continue;
        };
        let lines: Vec<_> = cfg
            .peer_lines
            .iter()
            .filter(|l| l.section == section)
            .collect();
        let remotes: Vec<(String, Option<SocketAddr>)> = lines
            .iter()
            .filter_map(|l| {
                let n = l.name.as_ref().filter(|n| **n != local)?;
                Some((n.clone(), l.addr.as_ref().and_then(socket_addr)))
            })
            .collect();
        if remotes.is_empty() {
            continue;
        }
        let listen = lines
            .iter()
            .find(|l| l.name.is_none())
            .or_else(|| lines.iter().find(|l| l.name.as_deref() == Some(&local)));
        let bind = match listen.and_then(|l| Some((l, l.addr.as_ref()?))) {
            Some((l, a)) => match super::frontend::listen_addrs(a) {
                Ok(v) => v.into_iter().next(),
                Err(why) => {
                    errors.push(unsupported(l.span, why));
                    continue;
                }
            },
            None => None,
        };
        let mut shared = Vec::new();
        for t in &cfg.peer_tables {
            if t.section != section {
                continue;
            }
            let full = format!("{section}/{}", t.name);
            if let Some(index) = tables.iter().position(|x| x.name == full) {
                shared.push(WireTable {
                    index,
                    name: format!("/{}", t.name),
                    key_size: key_size(&t.table.value),
                });
            }
        }
        for p in cfg.proxies.iter().filter(|p| !p.disabled) {
            let Some(t) = p.stick_table.as_ref() else {
                continue;
            };
            if t.value.peers.as_deref() != Some(section.as_str()) {
                continue;
            }
            if let Some(index) = tables.iter().position(|x| x.name == p.name.name) {
                shared.push(WireTable {
                    index,
                    name: p.name.name.clone(),
                    key_size: key_size(&t.value),
                });
            }
        }
        out.push(PeersSpec {
            section,
            local: local.clone(),
            bind,
            remotes,
            tables: shared,
        });
    }
    out
}
