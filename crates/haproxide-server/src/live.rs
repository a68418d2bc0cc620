//! The runtime API over the running engines: [`Live`] implements
//! [`RuntimeState`] with the forwarding [`Engine`], the checker's [`HealthView`]
//! and the [`Plan`] (management.txt §9.3).
//!
//! Every server, checked or not, has a state in the checker (a server without
//! `check` simply has no probe): that is the admin overlay, so `disable server`,
//! `set server … state maint|drain`, `set weight` and `set server … health`
//! act on servers without checks too, and are logged as HAProxy logs them.
//! Routing reads that state on every choice ([`crate::run`]'s `ServerHealth`),
//! so a change applies to the next connection. Drain stops new load-balanced
//! sessions; the TCP engine has no persistence, so nothing else reaches a
//! draining server, and its sessions go on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use haproxide_check::checker::HealthView;
use haproxide_check::state::OpState as CkOp;
use haproxide_forward::spec::{Balance, EngineSpec, ServerPort};
use haproxide_forward::Engine;

use crate::admin_plan::ProxyPlan;
use crate::cli::adapt::{server_snapshot, ServerFacts};
use crate::cli::{
    ActionError, AdminState, BackendSnapshot, FrontendAction, FrontendSnapshot, HealthOp,
    HttpCounters, InfoSnapshot, ProxySnapshot, RuntimeState, ServerAction, ServerSnapshot,
    SessionSnapshot, TrafficCounters,
};

/// A backend's or server's HTTP counters as `show stat` shows them.
fn http_counters(h: haproxide_forward::HttpStats) -> HttpCounters {
    HttpCounters {
        req_tot: h.req_tot,
        hrsp: h.hrsp,
        spliced: h.spliced,
        wrew: h.wrew,
        ..HttpCounters::default()
    }
}
use crate::translate::Plan;

#[path = "live_dynamic.rs"]
mod dynamic;

/// The live runtime state (see the module documentation).
pub struct Live {
    engine: Arc<Engine>,
    view: Option<HealthView>,
    ids: Arc<crate::ids::IdMap>,
    spec: EngineSpec,
    /// Serializes `add server` / `del server`; the ids (`sid`) of added servers.
    dynamic: std::sync::Mutex<HashMap<(usize, usize), u32>>,
    /// Per backend, what `add server ... check` builds its health check from.
    check_bases: HashMap<usize, crate::translate::health::CheckBase>,
    /// Where `add server` registers a server's transitions for the engine.
    link: std::sync::OnceLock<Arc<crate::run::EngineLink>>,
    proxies: Vec<ProxyPlan>,
    started: Instant,
    start_time_sec: u64,
    hard_maxconn: u64,
    /// HAProxy's `Maxsock` for this configuration.
    maxsock: u64,
    /// HAProxy's `Ulimit-n` (`ulimit-n`, or the computed limit; the process's
    /// real limit may be higher: it is never lowered).
    ulimit_n: u64,
    /// `nbthread` (the runtime's worker threads).
    nbthread: u32,
    node: String,
    stopping: AtomicBool,
    /// Set once `_getsocks` sent the listening sockets to a new process (`-x`).
    exported: Arc<AtomicBool>,
    /// The DCS followers, once started (`show dcs`).
    dcs: std::sync::OnceLock<Arc<crate::dcs::DcsRuntime>>,
    /// The TLS binds' certificate files (`show/set/commit ssl cert`).
    certs: Arc<haproxide_tls::CertStore>,
}

impl Live {
    /// `ids` maps every (backend, server) of the engine to its checker id.
    pub fn new(
        engine: Arc<Engine>,
        view: Option<HealthView>,
        ids: Arc<crate::ids::IdMap>,
        plan: &Plan,
    ) -> Live {
        // HAProxy's limits (src/haproxy.c), from the descriptor limits at boot.
        let limits = plan.process.limits();
        let hard_maxconn = plan.admin.maxconn.unwrap_or(limits.maxconn);
        Live {
            engine,
            view,
            ids,
            dynamic: std::sync::Mutex::new(HashMap::new()),
            check_bases: plan.check_bases.clone(),
            link: std::sync::OnceLock::new(),
            spec: plan.engine.clone(),
            proxies: plan.proxies.clone(),
            started: Instant::now(),
            start_time_sec: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            hard_maxconn,
            maxsock: limits.maxsock,
            ulimit_n: limits.rlimit,
            nbthread: u32::try_from(plan.process.threads()).unwrap_or(u32::MAX),
            node: hostname(),
            stopping: AtomicBool::new(false),
            exported: Arc::new(AtomicBool::new(false)),
            dcs: std::sync::OnceLock::new(),
            certs: Arc::new(cert_store(&plan.engine)),
        }
    }

    /// Whether a new process took the listening sockets with `_getsocks` (`-x`):
    /// on a soft stop they are then left open for it.
    pub fn listeners_exported(&self) -> bool {
        self.exported.load(Ordering::SeqCst)
    }

    /// The checker-to-engine link (`add server` registers its servers there).
    pub(crate) fn set_engine_link(&self, link: Arc<crate::run::EngineLink>) {
        let _ = self.link.set(link);
    }

    /// The DCS followers `show dcs` reports.
    pub fn set_dcs(&self, dcs: Arc<crate::dcs::DcsRuntime>) {
        let _ = self.dcs.set(dcs);
    }

    /// The process is stopping (`show info`'s `Stopping`).
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    fn server_index(&self, backend: &str, server: &str) -> Option<(usize, usize)> {
        let b = self.spec.backends.iter().position(|b| b.name == backend)?;
        let s = (0..self.engine.server_count(b)).find(|&s| {
            self.engine
                .server_spec(b, s)
                .is_some_and(|x| x.name == server)
        })?;
        Some((b, s))
    }

    fn global_maxconn(&self) -> u64 {
        self.engine
            .global_maxconn()
            .map_or(self.hard_maxconn, |m| m as u64)
    }

    fn frontend_row(&self, fi: usize, http: bool) -> FrontendSnapshot {
        let c = self.engine.frontend_counters(fi);
        let status = if !self.engine.frontend_listening(fi) {
            "STOP"
        } else if self.engine.frontend_paused(fi) {
            "PAUSED"
        } else {
            "OPEN"
        };
        let (bin, bout) = self.engine.frontend_bytes(fi);
        let (sess, conn) = self.engine.frontend_rates(fi);
        FrontendSnapshot {
            status: status.into(),
            bin,
            bout,
            rate: sess.current,
            rate_max: sess.max,
            conn_rate: conn.current,
            conn_rate_max: conn.max,
            scur: c.current,
            smax: self.engine.frontend_max(fi),
            slim: self.frontend_slim(fi),
            stot: c.total,
            conn_tot: c.total,
            http: http.then(|| {
                let h = self.engine.frontend_http(fi);
                HttpCounters {
                    req_tot: h.req_tot,
                    hrsp: h.hrsp,
                    req_rate: h.req_rate.current,
                    req_rate_max: h.req_rate.max,
                    spliced: h.spliced,
                    wrew: h.wrew,
                    ..HttpCounters::default()
                }
            }),
            ..FrontendSnapshot::default()
        }
    }

    /// HAProxy's frontend `maxconn` default is the global one.
    fn frontend_slim(&self, fi: usize) -> u64 {
        self.engine
            .frontend_maxconn(fi)
            .map_or_else(|| self.global_maxconn(), |m| m as u64)
    }

    fn backend_row(&self, p: &ProxyPlan, bi: usize) -> Option<BackendSnapshot> {
        let spec = self.spec.backends.get(bi)?;
        let mut servers = Vec::with_capacity(spec.servers.len());
        let mut any_usable = false;
        for si in 0..self.engine.server_count(bi) {
            // Configured and added servers; deleted ones are gone.
            let Some(s) = self.engine.server_spec(bi, si) else {
                continue;
            };
            let s = &s;
            let id = self.ids.get(&(bi, si)).copied();
            let st = id.and_then(|id| self.view.as_ref()?.stats(id));
            let cfg = id.and_then(|id| self.view.as_ref()?.config(id));
            let c = self.engine.server_counters(bi, si);
            let (sq, _) = self.engine.queue_lengths(bi, si);
            let (bin, bout) = self.engine.server_bytes(bi, si);
            let rate = self.engine.server_rate(bi, si);
            let port = match s.port {
                ServerPort::Fixed(p) => p,
                _ => 0,
            };
            let admin = id
                .and_then(|id| self.view.as_ref()?.admin(id))
                .unwrap_or_default();
            let (maint, drain) = (admin.maint, admin.drain);
            let facts = ServerFacts {
                name: &s.name,
                sid: self.sid(p, bi, si),
                addr: std::net::SocketAddr::new(s.ip, port),
                backup: s.backup,
                iweight: s.weight,
                weight: st.as_ref().map_or(s.weight, |x| x.weight),
                maxconn: self.engine.server_maxconn(bi, si) as u64,
                maint,
                drain,
                check_configured: cfg.is_some_and(|c| c.check.is_some()),
                check_enabled: id
                    .is_some_and(|id| self.view.as_ref().is_some_and(|v| v.check_enabled(id))),
                last_chk: st.as_ref().map_or("", |x| x.check_desc.as_str()),
                counters: TrafficCounters {
                    qcur: sq,
                    bin,
                    bout,
                    rate: rate.current,
                    rate_max: rate.max,
                    scur: c.current,
                    smax: self.engine.server_max(bi, si),
                    stot: c.total,
                    lbtot: c.total,
                    ..TrafficCounters::idle()
                },
                agent_configured: cfg.is_some_and(|c| c.agent.is_some()),
                agent_enabled: id
                    .is_some_and(|id| self.view.as_ref().is_some_and(|v| v.agent_enabled(id))),
                agent_port: cfg.and_then(|c| c.agent.as_ref()).map_or(0, |a| a.port),
            };
            let mut row = server_snapshot(&facts, st.as_ref());
            row.forced_id = p.sids.get(si).is_some_and(|x| x.1);
            row.admin_flags = Some(
                u32::from(admin.forced)
                    | (u32::from(admin.inherited) << 1)
                    | (u32::from(admin.drain) << 3)
                    | (u32::from(admin.resolution) << 5),
            );
            // HAProxy's srv_stats_state: RMAINT first, then IMAINT.
            if admin.resolution {
                row.resolution = cfg.and_then(|c| c.unresolved.clone());
                row.status = "MAINT (resolution)".into();
            } else if admin.inherited {
                if let Some(t) = cfg.and_then(|c| c.track.as_ref()) {
                    row.status = format!("MAINT (via {}/{})", t.backend, t.server);
                }
            }
            row.http = p
                .http
                .then(|| http_counters(self.engine.server_http(bi, si)));
            // `show servers conn`; `need_conn_est` of `show stat` is the same estimate.
            let pool = self.engine.server_pool(bi, si);
            row.need_conn_est = pool.need_est;
            row.conn = haproxide_admin::cli::ConnSnapshot {
                purge_delay: pool.purge_delay_ms,
                used_cur: pool.used_cur,
                used_max: pool.used_max,
                need_est: pool.need_est,
                unsafe_nb: pool.unsafe_nb,
                safe_nb: pool.safe_nb,
                idle_lim: pool.idle_lim,
                per_thread: pool.per_thread,
            };
            // The checker's text is `last_chk` ("Connection refused"); `check_desc`
            // is the status's description ("Layer4 connection problem").
            if let Some(c) = row.check.as_mut() {
                c.desc = crate::cli::adapt::status_description(&c.status).to_string();
            }
            let usable = match (id, &self.view) {
                (Some(id), Some(v)) => v.is_usable(id),
                _ => !s.disabled,
            };
            any_usable |= usable;
            servers.push(row);
        }
        let c = self.engine.backend_counters(bi);
        let (_, bq) = self.engine.queue_lengths(bi, 0);
        let (bin, bout) = self.engine.backend_bytes(bi);
        let rate = self.engine.backend_rate(bi);
        Some(BackendSnapshot {
            status: if any_usable { "UP" } else { "DOWN" }.into(),
            algo: algo(spec.balance).into(),
            counters: TrafficCounters {
                qcur: bq,
                bin,
                bout,
                rate: rate.current,
                rate_max: rate.max,
                scur: c.current,
                smax: self.engine.backend_max(bi),
                stot: c.total,
                lbtot: c.total,
                ..TrafficCounters::idle()
            },
            slim: self.backend_slim(bi),
            servers,
            http: p.http.then(|| http_counters(self.engine.backend_http(bi))),
            ..BackendSnapshot::default()
        })
    }

    /// A backend's `slim`: its `fullconn`, else as HAProxy computes it, 10% of
    /// the `maxconn` of the frontends that can use it (at least 1).
    fn backend_slim(&self, bi: usize) -> u64 {
        if let Some(f) = self.spec.backends.get(bi).and_then(|b| b.fullconn) {
            return f as u64;
        }
        let sum: u64 = self
            .spec
            .frontends
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.default_backend == Some(bi) || f.use_backends.iter().any(|(b, _)| *b == bi)
            })
            .map(|(fi, _)| self.frontend_slim(fi))
            .sum();
        sum.div_ceil(10).max(1)
    }
}

fn algo(b: Balance) -> &'static str {
    match b {
        Balance::RoundRobin => "roundrobin",
        Balance::StaticRr => "static-rr",
        Balance::LeastConn => "leastconn",
        Balance::First => "first",
        Balance::Source => "source",
        Balance::Random { .. } => "random",
        Balance::Uri => "uri",
        Balance::UrlParam => "url_param",
        Balance::Hdr => "hdr",
    }
}

/// The certificate store of the TLS binds (one acceptor per `bind` line, shared
/// by its addresses: counted once).
fn cert_store(spec: &EngineSpec) -> haproxide_tls::CertStore {
    let mut acceptors: Vec<haproxide_tls::Acceptor> = Vec::new();
    for a in spec
        .frontends
        .iter()
        .flat_map(|f| &f.binds)
        .filter_map(|b| b.tls.as_ref())
    {
        if !acceptors.contains(a) {
            acceptors.push(a.clone());
        }
    }
    haproxide_tls::CertStore::new(acceptors)
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl RuntimeState for Live {
    fn export_listeners(&self) -> Option<crate::cli::ExportListeners> {
        let (engine, exported) = (Arc::clone(&self.engine), Arc::clone(&self.exported));
        Some(Box::new(move |conn| {
            let fds: Vec<_> = engine
                .listening_fds()
                .into_iter()
                .map(|(_, _, fd)| fd)
                .collect();
            // Marked before the descriptors leave: the peer (`haproxy -x ... -sf`)
            // sends SIGUSR1 as soon as it has them, and a soft stop that found the
            // flag unset would shut the shared sockets down under it (HAProxy's
            // accept() then fails with EINVAL and it pauses its proxy: the
            // getsocks test's refused connections). Marked in vain, our copies are
            // only closed without shutdown(2).
            if !fds.is_empty() {
                exported.store(true, Ordering::SeqCst);
            }
            haproxide_process::getsocks::serve(&conn, &fds)
        }))
    }

    fn cert_store(&self) -> Option<Arc<haproxide_tls::CertStore>> {
        Some(Arc::clone(&self.certs))
    }

    fn dcs(&self) -> crate::cli::dcs::DcsSnapshot {
        self.dcs.get().map(|d| d.snapshot()).unwrap_or_default()
    }

    fn info(&self) -> InfoSnapshot {
        let listeners = (0..self.spec.frontends.len())
            .filter(|&i| self.engine.frontend_listening(i))
            .count() as u64;
        let cum: u64 = (0..self.spec.frontends.len())
            .map(|i| self.engine.frontend_counters(i).total)
            .sum();
        // `CumReq` counts streams: one per TCP session, one per HTTP request (a
        // keep-alive connection carries several) except those refused before
        // their head parsed (HAProxy 2.6.12 creates no stream for them).
        let streams: u64 = (0..self.spec.frontends.len())
            .map(|i| match self.spec.frontends[i].http {
                Some(_) => {
                    let h = self.engine.frontend_http(i);
                    h.req_tot - h.unparsed.min(h.req_tot)
                }
                None => self.engine.frontend_counters(i).total,
            })
            .sum();
        let cur = self.engine.active_sessions();
        // The CLI's listeners and connections count as HAProxy counts its own.
        let (cli_listeners, cli_open, cli_total) = crate::cli::listen::cli_counts();
        let listeners = listeners + cli_listeners;
        let (pipes_used, maxpipes) = haproxide_forward::pipes();
        let (conn, sess) = self.engine.process_rates();
        // `TotalBytesOut`: what the proxies sent, to clients (frontends' `bout`) and
        // to servers (backends' `bin`); HAProxy also counts its CLI's output.
        let out: u64 = (0..self.spec.frontends.len())
            .map(|i| self.engine.frontend_bytes(i).1)
            .chain((0..self.spec.backends.len()).map(|i| self.engine.backend_bytes(i).0))
            .fold(0u64, u64::wrapping_add);
        InfoSnapshot {
            version: format!("2.6-haproxide-{}", env!("CARGO_PKG_VERSION")),
            nbthread: self.nbthread,
            pid: std::process::id(),
            uptime_sec: self.started.elapsed().as_secs(),
            start_time_sec: self.start_time_sec,
            ulimit_n: self.ulimit_n,
            maxsock: self.maxsock,
            maxconn: self.global_maxconn(),
            hard_maxconn: self.hard_maxconn,
            curr_conns: cur,
            cum_conns: cum + cli_total,
            cum_req: streams + cli_total,
            conn_rate: conn.current,
            max_conn_rate: conn.max,
            sess_rate: sess.current,
            max_sess_rate: sess.max,
            total_bytes_out: out,
            node: self.node.clone(),
            stopping: self.stopping.load(Ordering::Relaxed),
            jobs: cur + listeners + cli_open,
            listeners,
            maxpipes: maxpipes as u64,
            pipes_used: pipes_used as u64,
            ..InfoSnapshot::default()
        }
    }

    fn proxies(&self) -> Vec<ProxySnapshot> {
        self.proxies
            .iter()
            .filter(|p| p.disabled.is_none())
            .map(|p| ProxySnapshot {
                name: p.name.clone(),
                iid: p.iid,
                forced_id: p.forced_id,
                mode: if p.http { "http" } else { "tcp" }.into(),
                frontend: p.frontend.map(|fi| self.frontend_row(fi, p.http)),
                backend: p.backend.and_then(|bi| self.backend_row(p, bi)),
            })
            .collect()
    }

    fn proxies_with_disabled(&self) -> Vec<ProxySnapshot> {
        let mut running = self.proxies().into_iter();
        let since_start = self.started.elapsed().as_secs();
        self.proxies
            .iter()
            .filter_map(|p| match &p.disabled {
                None => running.next(),
                // HAProxy never numbers a disabled proxy's servers (srv_id 0);
                // they stay as configured: running, no check.
                Some(servers) => Some(ProxySnapshot {
                    name: p.name.clone(),
                    iid: p.iid,
                    forced_id: p.forced_id,
                    mode: "tcp".into(),
                    frontend: None,
                    backend: Some(BackendSnapshot {
                        servers: servers
                            .iter()
                            .map(|s| ServerSnapshot {
                                name: s.name.clone(),
                                sid: 0,
                                host: s.host.clone(),
                                port: s.port,
                                weight: s.weight,
                                iweight: s.weight,
                                lastchg: since_start,
                                check_health: s.rise,
                                ..ServerSnapshot::default()
                            })
                            .collect(),
                        ..BackendSnapshot::default()
                    }),
                }),
            })
            .collect()
    }

    fn add_server(&self, backend: &str, args: &[&str]) -> Result<String, ActionError> {
        self.add_dynamic(backend, args)
    }

    fn del_server(&self, backend: &str, server: &str) -> Result<String, ActionError> {
        self.del_dynamic(backend, server)
    }

    fn server_action(
        &self,
        backend: &str,
        server: &str,
        action: ServerAction,
    ) -> Result<(), ActionError> {
        let Some((b, s)) = self.server_index(backend, server) else {
            return Err(ActionError("No such server.".into()));
        };
        let (Some(view), Some(&id)) = (&self.view, self.ids.get(&(b, s))) else {
            return Err(ActionError("No such server.".into()));
        };
        match action {
            ServerAction::Admin(AdminState::Maint) => {
                view.set_maint(id, true);
                view.set_drain(id, false);
            }
            ServerAction::Admin(AdminState::Drain) => {
                view.set_drain(id, true);
                view.set_maint(id, false);
            }
            ServerAction::Admin(AdminState::Ready) => {
                view.set_drain(id, false);
                view.set_maint(id, false);
            }
            ServerAction::Health(op) => {
                if view.is_tracking(id) {
                    return Err(ActionError(
                        "cannot change health on a tracking server.".into(),
                    ));
                }
                view.force_health(
                    id,
                    match op {
                        HealthOp::Up => CkOp::Running,
                        HealthOp::Stopping => CkOp::Stopping,
                        HealthOp::Down => CkOp::Stopped,
                    },
                );
            }
            ServerAction::Weight(w) => view.set_weight(id, w),
            ServerAction::ShutdownSessions => {
                self.engine.kill_server_sessions(b, s);
            }
            ServerAction::Checks(on) => {
                if on && view.config(id).is_none_or(|c| c.check.is_none()) {
                    return Err(ActionError(
                        "Health check was not configured on this server, cannot enable.".into(),
                    ));
                }
                view.set_check_enabled(id, on);
            }
            ServerAction::MaxConn(n) => {
                self.engine
                    .set_server_maxconn(b, s, usize::try_from(n).unwrap_or(usize::MAX));
            }
            ServerAction::Agent(up) => view.force_agent(id, up),
            ServerAction::AgentChecks(on) => view.set_agent_enabled(id, on),
        }
        // A server that may take traffic again serves the queue at once.
        self.engine.wake_queues(b);
        Ok(())
    }

    fn clear_counters(&self, all: bool) {
        // Max values restart from the current ones (rate maxima from 0); `all`
        // also zeroes totals and bytes.
        self.engine.clear_max();
        if all {
            self.engine.clear_totals();
        }
    }

    fn frontend_action(&self, frontend: &str, action: FrontendAction) -> Result<(), ActionError> {
        let Some(fi) = self.spec.frontends.iter().position(|f| f.name == frontend) else {
            return Err(ActionError("No such frontend.".into()));
        };
        match action {
            FrontendAction::Disable => self.engine.pause_frontend(fi, true),
            FrontendAction::Enable => self.engine.pause_frontend(fi, false),
            FrontendAction::Shutdown => self.engine.shutdown_frontend(fi),
            FrontendAction::MaxConn(n) => self
                .engine
                .set_frontend_maxconn(fi, Some(usize::try_from(n).unwrap_or(usize::MAX))),
        }
        Ok(())
    }

    fn sessions(&self) -> Vec<SessionSnapshot> {
        // Names and HAProxy's ids of the proxies and servers.
        let fe_of = |fi: usize| self.proxies.iter().find(|p| p.frontend == Some(fi));
        let be_of = |bi: usize| self.proxies.iter().find(|p| p.backend == Some(bi));
        self.engine
            .sessions()
            .into_iter()
            .map(|s| {
                let backend = s
                    .backend
                    .and_then(|bi| Some((bi, self.spec.backends.get(bi)?)));
                let server = backend
                    .zip(s.server)
                    .and_then(|((bi, _), si)| Some((bi, si, self.engine.server_spec(bi, si)?)));
                let fe_name = self
                    .spec
                    .frontends
                    .get(s.frontend)
                    .map_or_else(|| "<none>".to_string(), |f| f.name.clone());
                SessionSnapshot {
                    id: s.id,
                    proto: match s.src {
                        Some(a) if a.is_ipv4() => "tcpv4",
                        Some(_) => "tcpv6",
                        None => "unix_stream",
                    }
                    .into(),
                    src: s
                        .src
                        .map_or_else(|| "unix:1".into(), |a| format!("{}:{}", a.ip(), a.port())),
                    frontend: (fe_name, fe_of(s.frontend).map_or(0, |p| p.iid)),
                    mode: "tcp".into(),
                    dst: s.dst.map(|a| format!("{}:{}", a.ip(), a.port())),
                    backend: backend
                        .map(|(bi, b)| (b.name.clone(), be_of(bi).map_or(0, |p| p.iid))),
                    server: server.as_ref().map(|(bi, si, x)| {
                        let sid = be_of(*bi).map_or(*si as u32 + 1, |p| self.sid(p, *bi, *si));
                        (x.name.clone(), sid)
                    }),
                    server_addr: server.as_ref().and_then(|(_, _, x)| match x.port {
                        ServerPort::Fixed(p) if !x.ip.is_unspecified() => {
                            Some(std::net::SocketAddr::new(x.ip, p).to_string())
                        }
                        _ => None,
                    }),
                    age_sec: s.age.as_secs(),
                    accepted: s.accepted,
                }
            })
            .collect()
    }

    fn shutdown_session(&self, id: u64) -> bool {
        self.engine.kill_session(id)
    }

    fn stick_tables(&self) -> Option<Arc<haproxide_stick::Tables>> {
        Some(self.engine.stick_tables())
    }

    fn caches(&self) -> Vec<Arc<haproxide_http::cache::Cache>> {
        self.engine.caches()
    }

    fn set_global_maxconn(&self, maxconn: u64) -> Result<(), ActionError> {
        if maxconn > self.hard_maxconn {
            return Err(ActionError("Value out of range.".into()));
        }
        let v = if maxconn == 0 {
            self.hard_maxconn
        } else {
            maxconn
        };
        self.engine
            .set_global_maxconn(Some(usize::try_from(v).unwrap_or(usize::MAX)));
        Ok(())
    }
}
