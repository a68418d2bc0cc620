//! The runtime API's part of the [`Plan`]: proxies as `show stat` numbers them,
//! the `stats socket` listeners (configuration.txt §3.1 `stats socket`, `stats
//! timeout`, `stats maxconn`), and where server states are loaded from at start-up
//! (§3.1 `server-state-file`, `server-state-base`; §4.2
//! `load-server-state-from-file`, `server-state-file-name`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use haproxide_config::model::{Config, Proxy, ProxyKind};
use haproxide_config::value::{Host, PortSpec};
use haproxide_config::Diagnostic;

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

/// The last `keyword` line of the proxy, else of its defaults section.
fn directive<'c>(
    cfg: &'c Config,
    p: &'c Proxy,
    keyword: &str,
) -> Option<&'c haproxide_config::model::Directive> {
    let own = p.directives.iter().rev().find(|d| d.keyword == keyword);
    own.or_else(|| {
        p.defaults
            .and_then(|i| cfg.proxies.get(i))
            .and_then(|d| d.directives.iter().rev().find(|d| d.keyword == keyword))
    })
}

fn forced_id(p: &Proxy) -> Option<u32> {
    p.directives
        .iter()
        .rev()
        .find(|d| d.keyword == "id")
        .and_then(|d| d.line.arg(1).parse().ok())
}

/// Fills `plan.proxies` and `plan.admin` from the configuration (after the engine
/// specs are built). What cannot run is reported as an error.
pub fn fill(cfg: &Config, plan: &mut Plan, errors: &mut Vec<Diagnostic>) {
    let g = &cfg.global;
    // Proxy uuids: explicit `id`s first, then the others in configuration order
    // from 1, skipping used ones. With a `stats socket`, HAProxy's internal CLI
    // frontend takes the first free number (measured with 2.6: the first proxy
    // gets 2).
    let live: Vec<&Proxy> = cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults && !p.disabled)
        .collect();
    let mut used: HashSet<u32> = live.iter().filter_map(|p| forced_id(p)).collect();
    let mut next = 1u32;
    let mut take = |used: &mut HashSet<u32>| {
        while used.contains(&next) {
            next += 1;
        }
        used.insert(next);
        next
    };
    if !g.stats_sockets.is_empty() {
        take(&mut used);
    }
    let base = g.server_state_base.as_ref().map(|b| b.name.as_str());
    for p in live {
        let (iid, forced) = match forced_id(p) {
            Some(id) => (id, true),
            None => (take(&mut used), false),
        };
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
                let ids: Vec<Option<u32>> = b
                    .servers
                    .iter()
                    .map(|s| {
                        p.servers
                            .iter()
                            .find(|d| d.name.name == s.name)
                            .and_then(|d| {
                                d.other
                                    .iter()
                                    .find(|(k, _, _)| k == "id")
                                    .and_then(|(_, v, _)| v.as_deref()?.parse().ok())
                            })
                    })
                    .collect();
                used.extend(ids.iter().flatten());
                let mut n = 1u32;
                ids.into_iter()
                    .map(|id| match id {
                        Some(id) => (id, true),
                        None => {
                            while used.contains(&n) {
                                n += 1;
                            }
                            used.insert(n);
                            (n, false)
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let state_from = match directive(cfg, p, "load-server-state-from-file")
            .map(|d| d.line.arg(1).to_string())
            .as_deref()
        {
            Some("global") => StateSource::Global,
            Some("local") => {
                let name = directive(cfg, p, "server-state-file-name")
                    .map(|d| d.line.arg(1).to_string())
                    .filter(|n| !n.is_empty() && n != "use-backend-name")
                    .unwrap_or_else(|| p.name.name.clone());
                StateSource::Local(state_path(base, &name))
            }
            _ => StateSource::None,
        };
        plan.proxies.push(ProxyPlan {
            name: p.name.name.clone(),
            iid,
            forced_id: forced,
            frontend,
            backend,
            sids,
            state_from,
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
        let mut options = ListenOptions {
            timeout,
            maxconn,
            ..ListenOptions::default()
        };
        let mut ok = true;
        for (k, v, span) in &s.options {
            let v = v.as_deref().unwrap_or("");
            match k.as_str() {
                "level" => match Level::parse(v) {
                    Some(l) => options.level = l,
                    None => ok = false,
                },
                "mode" => match u32::from_str_radix(v, 8) {
                    Ok(m) => options.mode = Some(m),
                    Err(_) => ok = false,
                },
                "uid" => match v.parse() {
                    Ok(u) => options.uid = Some(u),
                    Err(_) => ok = false,
                },
                "gid" => match v.parse() {
                    Ok(u) => options.gid = Some(u),
                    Err(_) => ok = false,
                },
                "user" => match lookup_id(v, false) {
                    Some(u) => options.uid = Some(u),
                    None => ok = false,
                },
                "group" => match lookup_id(v, true) {
                    Some(u) => options.gid = Some(u),
                    None => ok = false,
                },
                // Listening sockets are always handed to the next process (see
                // `handover`); `expose-fd listeners` asks for exactly that.
                "expose-fd" | "process" | "thread" | "name" | "backlog" | "maxconn"
                | "severity-output" | "nice" | "id" | "tfo" | "v4v6" | "v6only" => {}
                other => {
                    errors.push(crate::translate::unsupported(
                        *span,
                        format!("`stats socket ... {other}`"),
                    ));
                }
            }
            if !ok {
                errors.push(crate::translate::unsupported(
                    *span,
                    format!("`stats socket ... {k} {v}`"),
                ));
                break;
            }
        }
        if ok {
            plan.admin
                .sockets
                .push(StatsSocketPlan { address, options });
        }
    }
}

/// A user or group name → its id (`getpwnam_r`/`getgrnam_r`).
fn lookup_id(name: &str, group: bool) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16384];
    if group {
        // SAFETY: all pointers are valid for the call; `buf` outlives `res`.
        unsafe {
            let mut gr: libc::group = std::mem::zeroed();
            let mut res: *mut libc::group = std::ptr::null_mut();
            let r = libc::getgrnam_r(c.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut res);
            (r == 0 && !res.is_null()).then_some(gr.gr_gid)
        }
    } else {
        // SAFETY: as above.
        unsafe {
            let mut pw: libc::passwd = std::mem::zeroed();
            let mut res: *mut libc::passwd = std::ptr::null_mut();
            let r = libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut res);
            (r == 0 && !res.is_null()).then_some(pw.pw_uid)
        }
    }
}
