//! `add server` / `del server` (management.txt §9.3) over the engine, the checker
//! and the id map, with HAProxy 2.6's answers. The line is read by the config
//! crate (`haproxide_config::dynamic`); the forwarder's list and the checker's
//! table only grow (a deleted server is a tombstone).

use super::*;
use haproxide_check::checker::ServerConfig;
use haproxide_check::log::ServerName;
use haproxide_config::value::{Host, PortSpec};
use haproxide_forward::spec::HashType;

const UNSPEC: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

impl Live {
    /// HAProxy's id (`sid`) of server `si` of backend `bi`.
    pub(super) fn sid(&self, p: &ProxyPlan, bi: usize, si: usize) -> u32 {
        if let Some(x) = p.sids.get(si) {
            return x.0;
        }
        let dynamic = self.dynamic.lock().unwrap_or_else(|e| e.into_inner());
        dynamic.get(&(bi, si)).copied().unwrap_or(si as u32 + 1)
    }

    /// `add server <backend>/<server> <args>`: the answer's text.
    pub(super) fn add_dynamic(&self, backend: &str, args: &[&str]) -> Result<String, ActionError> {
        let err = |t: &str| Err(ActionError(t.to_string()));
        let Some(bi) = self.spec.backends.iter().position(|b| b.name == backend) else {
            return err("No such backend.");
        };
        let be = &self.spec.backends[bi];
        // HAProxy's BE_LB_PROP_DYN: map-based hashing and static-rr are static.
        if be.balance == Balance::StaticRr
            || (be.balance.is_hash() && be.hash_type == HashType::MapBased)
        {
            return err("Backend must use a dynamic load balancing to support dynamic servers.");
        }
        let parsed = haproxide_config::dynamic::parse_add_server(args).map_err(ActionError)?;
        let def = &parsed.def;
        // HAProxy's dynamic servers use `init-addr none`: a name is not resolved
        // (the server has no address and takes no traffic).
        let mut errors = Vec::new();
        let (ip, port, unresolved) = match def.parsed.as_ref().map(|a| (&a.host, a.port)) {
            Some((Host::Name(_), PortSpec::Single(p))) => (UNSPEC, ServerPort::Fixed(p), true),
            Some((Host::Name(_), PortSpec::None)) => (UNSPEC, ServerPort::SameAsClient, true),
            Some((Host::Name(_), PortSpec::Offset(o))) => (UNSPEC, ServerPort::Offset(o), true),
            _ => match crate::translate::backend::server_addr(def, &mut errors) {
                Some(x) => x,
                None => {
                    return err("haproxide: this server address is not supported on add server.\n")
                }
            },
        };
        let spec = crate::translate::backend::server_spec(def, ip, port, unresolved);
        let track = parsed.track.as_deref().map(|t| {
            let (tb, ts) = t.split_once('/').unwrap_or((backend, t));
            ServerName {
                backend: tb.to_string(),
                server: ts.to_string(),
                backup: false,
            }
        });
        let Some(view) = &self.view else {
            return err("haproxide: no checker runs in this process.\n");
        };
        let mut dynamic = self.dynamic.lock().unwrap_or_else(|e| e.into_inner());
        if self.server_index(backend, &spec.name).is_some() {
            return err("Already exists a server with the same name in backend.\n");
        }
        let check_port = match port {
            ServerPort::Fixed(p) => p,
            _ => def.params.port.unwrap_or(0),
        };
        let cfg = ServerConfig {
            name: ServerName {
                backend: backend.to_string(),
                server: spec.name.clone(),
                backup: spec.backup,
            },
            addr: std::net::SocketAddr::new(ip, check_port),
            weight: spec.weight,
            // The backend's probe and timeouts (HAProxy builds a dynamic server's
            // check from its backend too); no hold before the first result: the
            // check only runs after `enable health`, HAProxy routes before it.
            check: (def.params.check == Some(true))
                .then(|| self.check_bases.get(&bi))
                .flatten()
                .map(|base| {
                    let mut c = crate::translate::health::check_spec(base, def, None);
                    c.hold_first = false;
                    c
                }),
            agent: crate::translate::health::agent_spec(&def.params),
            track,
            disabled: true,
            unresolved: None,
            rise: def.params.rise.unwrap_or(2),
        };
        let exists = |b: &str, s: &str| {
            let bi = self.spec.backends.iter().position(|x| x.name == b)?;
            Some(
                (0..self.engine.server_count(bi))
                    .any(|si| self.engine.server_spec(bi, si).is_some_and(|x| x.name == s)),
            )
        };
        let id = view
            .add_server(cfg, exists)
            .map_err(|e| ActionError(format!("{e}\n")))?;
        // The id map first: the forwarder never sees a server without its health.
        let next = self.engine.server_count(bi);
        let pushed = self.ids.push(bi, Some(id));
        let link = crate::run::ServerLink {
            backend: bi,
            server: next,
            cut_on_down: spec.shutdown_on_down,
            cut_backups_on_up: spec.shutdown_backup_on_up,
        };
        let si = self.engine.add_server(bi, spec);
        // Its transitions reach the engine (queue wake-ups, on-marked-down/up).
        if let Some(l) = self.link.get() {
            l.register(id, Some(link));
        }
        debug_assert_eq!(pushed, si);
        debug_assert_eq!(Some(next), si);
        if let (Some(si), Some(p)) = (si, self.proxies.iter().find(|p| p.backend == Some(bi))) {
            // HAProxy's get_next_id: the smallest id no server of the backend uses.
            let mut used: Vec<u32> = (0..si)
                .filter(|&s| self.engine.server_spec(bi, s).is_some())
                .map(|s| {
                    p.sids
                        .get(s)
                        .map(|x| x.0)
                        .or(dynamic.get(&(bi, s)).copied())
                })
                .map(|x| x.unwrap_or(0))
                .collect();
            used.sort_unstable();
            let mut sid = 1;
            for u in used {
                if u == sid {
                    sid += 1;
                }
            }
            dynamic.insert((bi, si), sid);
        }
        Ok("New server registered.\n".into())
    }

    /// `del server <backend>/<server>`: the answer's text.
    pub(super) fn del_dynamic(&self, backend: &str, server: &str) -> Result<String, ActionError> {
        let err = |t: &str| Err(ActionError(t.to_string()));
        if !self.spec.backends.iter().any(|b| b.name == backend) {
            return err("No such backend.");
        }
        let mut dynamic = self.dynamic.lock().unwrap_or_else(|e| e.into_inner());
        let Some((b, s)) = self.server_index(backend, server) else {
            return err("No such server.");
        };
        let (Some(view), Some(&id)) = (&self.view, self.ids.get(&(b, s))) else {
            return err("Only servers in maintenance mode can be deleted.");
        };
        view.can_remove(id)
            .map_err(|e| ActionError(e.to_string()))?;
        match self.engine.delete_server(b, s) {
            Ok(()) => {}
            Err(haproxide_forward::DelServerError::Busy) => {
                return err("Server still has connections attached to it, cannot remove it.")
            }
            Err(haproxide_forward::DelServerError::NoServer) => return err("No such server."),
        }
        view.remove_server(id)
            .map_err(|e| ActionError(e.to_string()))?;
        if let Some(l) = self.link.get() {
            l.register(id, None);
        }
        dynamic.remove(&(b, s));
        Ok("Server deleted.".into())
    }
}
