//! The runtime API's part of the [`Plan`]: proxies as `show stat` numbers them,
//! the `stats socket` listeners (configuration.txt §3.1 `stats socket`, `stats
//! timeout`, `stats maxconn`), and where server states are loaded from at start-up
//! (§3.1 `server-state-file`, `server-state-base`; §4.2
//! `load-server-state-from-file`, `server-state-file-name`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use haproxide_config::model::{CliLevel, Proxy, ProxyKind, StateFrom};
use haproxide_config::value::{Host, PortSpec};
use haproxide_config::Diagnostic;
use haproxide_config::Resolved;

use crate::cli::{CliAddress, Level, ListenOptions};
use crate::translate::Plan;

/// One `frontend`/`backend`/`listen` section as the runtime API lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyPlan {
    pub name: String,
    /// HAProxy's proxy uuid (`id`, else the automatic numbering).
    pub iid: u32,
    /// `id` was set explicitly (`bk_f_forced_id` in `show servers state`).
    pub forced_id: bool,
    /// Index in the engine's frontends / backends (None: that side does not run).
    pub frontend: Option<usize>,
    pub backend: Option<usize>,
    /// Per engine server: (`sid`, forced with `id`).
    pub sids: Vec<(u32, bool)>,
    /// Where this backend's server states come from at start-up.
    pub state_from: StateSource,
    /// A `disabled` backend or listen section: nothing runs, but HAProxy lists it
    /// in `show servers state` (its servers with `srv_id` 0) and `show backend`.
    pub disabled: Option<Vec<DisabledServer>>,
    /// `mode http`: `show stat` prints "http" and the HTTP counters.
    pub http: bool,
}

/// A server of a `disabled` backend, as `show servers state` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisabledServer {
    pub name: String,
    /// The address as written (HAProxy's `srv_addr`), and the port.
    pub host: String,
    pub port: u16,
    pub weight: u32,
    /// `rise` (the check counter HAProxy prints as `srv_check_health`).
    pub rise: u32,
}

/// `load-server-state-from-file`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StateSource {
    #[default]
    None,
    /// The global `server-state-file`.
    Global,
    /// This file (`server-state-file-name`, or the backend's name, under
    /// `server-state-base`).
    Local(PathBuf),
}

/// One `stats socket` line.
#[derive(Debug, Clone)]
pub struct StatsSocketPlan {
    pub address: CliAddress,
    pub options: ListenOptions,
}

/// What `stats socket` lines and the state file give the runtime.
#[derive(Debug, Clone, Default)]
pub struct AdminPlan {
    pub sockets: Vec<StatsSocketPlan>,
    /// `server-state-file` (with `server-state-base`), for `load-server-state-from-file global`.
    pub state_file: Option<PathBuf>,
    /// Global `maxconn` as configured (None: unlimited).
    pub maxconn: Option<u64>,
}

/// HAProxy's `srv_state_get_filepath`: absolute, or under `server-state-base`.
fn state_path(base: Option<&str>, name: &str) -> PathBuf {
    match base {
        Some(b) if !name.starts_with('/') => {
            let sep = if b.ends_with('/') { "" } else { "/" };
            PathBuf::from(format!("{b}{sep}{name}"))
        }
        _ => PathBuf::from(name),
    }
}

fn forced_id(p: &Proxy) -> Option<u32> {
    p.id.map(|id| id.value)
}

/// The servers of a `disabled` section (`default-server` settings are not applied:
/// the weight and rise written on the line, else HAProxy's 1 and 2).
fn disabled_servers(p: &Proxy) -> Vec<DisabledServer> {
    p.servers
        .iter()
        .filter(|s| !s.name.name.is_empty())
        .map(|s| {
            let (host, port) = match &s.parsed {
                Some(a) => (
                    match &a.host {
                        Host::V4(ip) => ip.to_string(),
                        Host::V6(ip) => ip.to_string(),
                        Host::Name(n) => n.clone(),
                        _ => String::new(),
                    },
                    match a.port {
                        PortSpec::Single(port) => port,
                        _ => 0,
                    },
                ),
                None => (String::new(), 0),
            };
            DisabledServer {
                name: s.name.name.clone(),
                host,
                port,
                weight: s.params.weight.unwrap_or(1),
                rise: s.params.rise.unwrap_or(2),
            }
        })
        .collect()
}

/// Fills `plan.proxies` and `plan.admin` from the configuration (after the engine
/// specs are built). What cannot run is reported as an error.
pub fn fill(cfg: &Resolved, plan: &mut Plan, errors: &mut Vec<Diagnostic>) {
    let g = &cfg.global;
    // Proxy uuids as HAProxy 2.6 assigns them (cfgparse.c, check_config_validity):
    // explicit `id`s are reserved first; then, walking the proxies in configuration
    // order, a proxy without one takes the first free number from a counter, and the
    // counter moves past every proxy, with a forced id or disabled too. The internal
    // CLI frontend ("GLOBAL", created by the first `stats socket`/`timeout`/`maxconn`
    // line, uuid 0) is walked where it was declared, so a `global` section before the
    // proxies shifts them by one (measured with 2.6.12: the first proxy gets 2).
    // `defaults` sections are not proxies there.
    let live: Vec<&Proxy> = cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults)
        .collect();
    let mut used: HashSet<u32> = live.iter().filter_map(|p| forced_id(p)).collect();
    let mut next = 1u32;
    let cli_fe =
        !g.stats_sockets.is_empty() || g.stats_timeout.is_some() || g.stats_maxconn.is_some();
    // Where GLOBAL sits: before the first proxy declared after the first `stats
    // socket` line (first of all without one: `stats timeout`/`maxconn` keep no place).
    let cli_fe_at = g
        .stats_sockets
        .first()
        .map(|s| (s.address.span.file, s.address.span.line))
        .map_or(0, |at| {
            live.iter()
                .position(|p| (p.span.file, p.span.line) > at)
                .unwrap_or(live.len())
        });
    let base = g.server_state_base.as_ref().map(|b| b.name.as_str());
    for (i, p) in live.iter().enumerate() {
        if cli_fe && i == cli_fe_at {
            next += 1;
        }
        let (iid, forced) = match forced_id(p) {
            Some(id) => (id, true),
            None => {
                while used.contains(&next) {
                    next += 1;
                }
                used.insert(next);
                (next, false)
            }
        };
        next += 1;
        if p.disabled {
            if p.kind.has_backend() {
                plan.proxies.push(ProxyPlan {
                    name: p.name.name.clone(),
                    iid,
                    forced_id: forced,
                    disabled: Some(disabled_servers(p)),
                    http: p.effective_mode() == haproxide_config::model::Mode::Http,
                    ..ProxyPlan::default()
                });
            }
            continue;
        }
        let frontend = plan
            .engine
            .frontends
            .iter()
            .position(|f| f.name == p.name.name && p.kind.has_frontend());
        let backend = plan
            .engine
            .backends
            .iter()
            .position(|b| b.name == p.name.name && p.kind.has_backend());
        if frontend.is_none() && backend.is_none() {
            continue;
        }
        let sids = backend
            .and_then(|b| plan.engine.backends.get(b))
            .map(|b| {
                let mut used: HashSet<u32> = HashSet::new();
                // Each server's forced id by name, the first of a name as `find`
                // gave it: one lookup per server (a search per server was
                // quadratic: 65,535 servers of a `server-template` took 75 s).
                let mut forced: HashMap<&str, Option<u32>> =
                    HashMap::with_capacity(p.servers.len());
                for d in &p.servers {
                    forced
                        .entry(d.name.name.as_str())
                        .or_insert(d.id.map(|id| id.value));
                }
                let ids: Vec<Option<u32>> = b
                    .servers
                    .iter()
                    .map(|s| forced.get(s.name.as_str()).copied().flatten())
                    .collect();
                used.extend(ids.iter().flatten());
                // As for proxies (cfgparse.c): the counter moves past every
                // server, with a forced id too.
                let mut n = 1u32;
                ids.into_iter()
                    .map(|id| {
                        let out = match id {
                            Some(id) => (id, true),
                            None => {
                                while used.contains(&n) {
                                    n += 1;
                                }
                                used.insert(n);
                                (n, false)
                            }
                        };
                        n += 1;
                        out
                    })
                    .collect()
            })
            .unwrap_or_default();
        let state_from = match p.load_server_state_from_file.map(|s| s.value) {
            Some(StateFrom::Global) => StateSource::Global,
            Some(StateFrom::Local) => {
                let name = p
                    .server_state_file_name
                    .as_ref()
                    .map(|n| n.name.as_str())
                    .filter(|n| !n.is_empty() && *n != "use-backend-name")
                    .unwrap_or(&p.name.name);
                StateSource::Local(state_path(base, name))
            }
            Some(StateFrom::None) | None => StateSource::None,
        };
        plan.proxies.push(ProxyPlan {
            name: p.name.name.clone(),
            iid,
            forced_id: forced,
            frontend,
            backend,
            sids,
            state_from,
            disabled: None,
            http: p.effective_mode() == haproxide_config::model::Mode::Http,
        });
    }
    plan.admin.state_file = g
        .server_state_file
        .as_ref()
        .map(|f| state_path(base, &f.name));
    plan.admin.maxconn = g.maxconn.map(u64::from);
    let timeout = g
        .stats_timeout
        .map(|t| t.as_duration())
        .unwrap_or(Duration::from_secs(10));
    let maxconn = g.stats_maxconn.map_or(10, |m| m.max(1) as usize);
    for s in &g.stats_sockets {
        let Some(a) = &s.parsed else { continue };
        let address = match (&a.host, a.prefix.as_deref()) {
            (Host::Unix(p), _) => Some(CliAddress::Unix(p.into())),
            (Host::Fd(n), _) => n.parse().ok().map(CliAddress::Fd),
            (Host::V4(ip), None | Some("ipv4") | Some("tcp") | Some("tcp4")) => match a.port {
                PortSpec::Single(port) => Some(CliAddress::Tcp((*ip, port).into())),
                _ => None,
            },
            (Host::V6(ip), None | Some("ipv6") | Some("tcp") | Some("tcp6")) => match a.port {
                PortSpec::Single(port) => Some(CliAddress::Tcp((*ip, port).into())),
                _ => None,
            },
            (Host::Any, p) => match a.port {
                PortSpec::Single(port) if p == Some("ipv6") => Some(CliAddress::Tcp(
                    (std::net::Ipv6Addr::UNSPECIFIED, port).into(),
                )),
                PortSpec::Single(port) => Some(CliAddress::Tcp(
                    (std::net::Ipv4Addr::UNSPECIFIED, port).into(),
                )),
                _ => None,
            },
            _ => None,
        };
        let Some(address) = address else {
            errors.push(crate::translate::unsupported(
                s.address.span,
                format!("`stats socket {}`", s.address.name),
            ));
            continue;
        };
        // HAProxy's default level is "operator" (configuration.txt §5.1 `level`,
        // and what 2.6.12 answers to `show cli level`).
        let mut options = ListenOptions {
            level: Level::Operator,
            timeout,
            maxconn,
            ..ListenOptions::default()
        };
        let not_run = haproxide_config::support::stats_socket_not_run(s);
        let ok = not_run.is_empty();
        for n in not_run {
            errors.push(crate::translate::unsupported(n.span, n.what));
        }
        if let Some(l) = s.level {
            options.level = match l {
                CliLevel::User => Level::User,
                CliLevel::Operator => Level::Operator,
                CliLevel::Admin => Level::Admin,
            };
        }
        options.mode = s.mode;
        options.expose_fd_listeners = s.expose_fd_listeners;
        options.uid = s.uid;
        options.gid = s.gid;
        // A socket's own `maxconn` (bind option, configuration.txt §5.1) bounds its
        // concurrent clients instead of `stats maxconn` (issue 13 row 11: it was
        // accepted and ignored).
        if let Some(n) = s.maxconn {
            options.maxconn = n as usize;
        }
        if ok {
            plan.admin
                .sockets
                .push(StatsSocketPlan { address, options });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haproxide_config::Code;

    use crate::translate::tests::plan;

    const PROXIES: &str = "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
        frontend fe1\n    bind 127.0.0.1:8001\n    default_backend be1\n\
        backend be1\n    server s1 127.0.0.1:9001\n    server s2 127.0.0.1:9002 id 7\n    server s3 127.0.0.1:9003\n\
        listen li1\n    id 9\n    bind 127.0.0.1:8002\n    server a1 127.0.0.1:9004\n\
        backend be2\n    server b1 127.0.0.1:9005\n\
        backend bd\n    disabled\n    server d1 127.0.0.1:9006\n\
        backend bx\n    server s1 127.0.0.1:9007\n    server s2 127.0.0.1:9008 id 2\n    server s3 127.0.0.1:9009\n";

    #[test]
    fn proxy_and_server_ids_as_haproxy_numbers_them() {
        // Measured with HAProxy 2.6.12 (`show servers state`, `show stat`): with a
        // stats socket in the leading `global` section the CLI frontend takes uuid 1;
        // the counter moves past a forced id (li1: 9, so be2 gets 5, not 4) and past
        // a disabled proxy (bd: 6, so bx gets 7); the same for servers (s2 id 7, so
        // s3 gets 3; in bx s2 forces 2 and s3 gets 3).
        let (p, errors) = plan(&format!("global\n    stats socket /tmp/x.sock\n{PROXIES}"));
        assert!(errors.is_empty(), "{errors:?}");
        let ids: Vec<(&str, u32, bool)> = p
            .proxies
            .iter()
            .map(|x| (x.name.as_str(), x.iid, x.forced_id))
            .collect();
        assert_eq!(
            ids,
            [
                ("fe1", 2, false),
                ("be1", 3, false),
                ("li1", 9, true),
                ("be2", 5, false),
                ("bd", 6, false),
                ("bx", 7, false)
            ]
        );
        assert_eq!(p.proxies[1].sids, [(1, false), (7, true), (3, false)]);
        assert_eq!(p.proxies[5].sids, [(1, false), (2, true), (3, false)]);
        // The disabled backend is listed (for `show servers state`), not run.
        let bd = &p.proxies[4];
        assert_eq!((bd.frontend, bd.backend), (None, None));
        assert_eq!(
            bd.disabled,
            Some(vec![DisabledServer {
                name: "d1".into(),
                host: "127.0.0.1".into(),
                port: 9006,
                weight: 1,
                rise: 2
            }])
        );
        assert_eq!(
            (p.proxies[2].frontend, p.proxies[2].backend),
            (Some(1), Some(1))
        );
        let (p, _) = plan(PROXIES);
        assert_eq!(p.proxies[0].iid, 1);
        assert!(p.admin.sockets.is_empty());
        // `stats timeout` alone creates the CLI frontend too.
        let (p, _) = plan(&format!("global\n    stats timeout 5s\n{PROXIES}"));
        assert_eq!(p.proxies[0].iid, 2);
        // A `global` section after the proxies puts it after them.
        let (p, _) = plan(&format!("{PROXIES}global\n    stats socket /tmp/x.sock\n"));
        let ids: Vec<u32> = p.proxies.iter().map(|x| x.iid).collect();
        assert_eq!(ids, [1, 2, 9, 4, 5, 6]);
    }

    #[test]
    fn stats_socket_lines_become_listeners() {
        let (p, errors) = plan(&format!(
            "global\n    maxconn 300\n    stats socket /run/a.sock mode 660 level operator expose-fd listeners\n    stats socket ipv4@127.0.0.1:9999 level user\n    stats socket 127.0.0.1:9998\n    stats socket ipv6@[::1]:9997\n    stats socket fd@3 uid 0 gid 0\n    stats timeout 30s\n    stats maxconn 5\n{PROXIES}"
        ));
        assert!(errors.is_empty(), "{errors:?}");
        let s = &p.admin.sockets;
        assert_eq!(s.len(), 5);
        assert_eq!(s[0].address, CliAddress::Unix("/run/a.sock".into()));
        assert_eq!(
            (s[0].options.mode, s[0].options.level),
            (Some(0o660), Level::Operator)
        );
        assert_eq!(
            s[1].address,
            CliAddress::Tcp("127.0.0.1:9999".parse().unwrap())
        );
        assert_eq!(s[1].options.level, Level::User);
        assert!(s[0].options.expose_fd_listeners, "`expose-fd listeners`");
        assert!(!s[1].options.expose_fd_listeners);
        assert_eq!(
            s[2].address,
            CliAddress::Tcp("127.0.0.1:9998".parse().unwrap())
        );
        assert_eq!(
            s[2].options.level,
            Level::Operator,
            "HAProxy's default level"
        );
        assert_eq!(s[3].address, CliAddress::Tcp("[::1]:9997".parse().unwrap()));
        assert_eq!(s[4].address, CliAddress::Fd(3));
        assert_eq!((s[4].options.uid, s[4].options.gid), (Some(0), Some(0)));
        for x in s {
            assert_eq!(x.options.timeout, Duration::from_secs(30));
            assert_eq!(x.options.maxconn, 5);
        }
        assert_eq!(p.admin.maxconn, Some(300));
        // Defaults: HAProxy's 10 s and 10 clients.
        let (p, _) = plan(&format!("global\n    stats socket /run/a.sock\n{PROXIES}"));
        let o = &p.admin.sockets[0].options;
        assert_eq!((o.timeout, o.maxconn), (Duration::from_secs(10), 10));
        // A socket's own maxconn wins over `stats maxconn` (issue 13 row 11).
        let (p, _) = plan(&format!(
            "global\n    stats maxconn 5\n    stats socket /run/a.sock maxconn 2\n    stats socket /run/b.sock\n{PROXIES}"
        ));
        let m: Vec<usize> = p.admin.sockets.iter().map(|s| s.options.maxconn).collect();
        assert_eq!(m, vec![2, 5]);
        // `maxconn 0` (HAProxy: atol, 0 = the CLI frontend's) leaves `stats maxconn`.
        let (p, _) = plan(&format!(
            "global\n    stats maxconn 5\n    stats socket /run/a.sock maxconn 0\n{PROXIES}"
        ));
        assert_eq!(p.admin.sockets[0].options.maxconn, 5);
    }

    #[test]
    fn stats_socket_options_not_run_are_refused_with_their_line() {
        let (p, errors) = plan(&format!(
            "global\n    stats socket /run/a.sock accept-proxy\n    stats socket abns@cli\n{PROXIES}"
        ));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| e.code == Code::NotRunYet));
        assert_eq!(errors[0].span.map(|s| s.line), Some(2));
        assert_eq!(errors[1].span.map(|s| s.line), Some(3));
        assert!(p.admin.sockets.is_empty());
    }

    #[test]
    fn server_state_sources() {
        let (p, errors) = plan(&format!(
            "global\n    server-state-base /var/lib/hpx/\n    server-state-file global.state\n\
             defaults named\n    mode tcp\n    load-server-state-from-file local\n\
             {PROXIES}\
             backend be3 from named\n    server-state-file-name /abs/be3.state\n    server c1 127.0.0.1:9006\n\
             backend be4 from named\n    load-server-state-from-file global\n    server d1 127.0.0.1:9007\n\
             backend be5 from named\n    server e1 127.0.0.1:9008\n"
        ));
        assert!(errors.is_empty(), "{errors:?}");
        let src = |n: &str| {
            p.proxies
                .iter()
                .find(|x| x.name == n)
                .map(|x| x.state_from.clone())
                .unwrap()
        };
        assert_eq!(
            p.admin.state_file,
            Some(PathBuf::from("/var/lib/hpx/global.state"))
        );
        assert_eq!(src("be1"), StateSource::None);
        assert_eq!(src("be3"), StateSource::Local("/abs/be3.state".into()));
        assert_eq!(src("be4"), StateSource::Global);
        assert_eq!(src("be5"), StateSource::Local("/var/lib/hpx/be5".into()));
    }
}
