//! Running a configuration: health checks wired to routing, signals, stop.
//!
//! - Health: the check crate's [`HealthView`] answers the forwarder's
//!   [`ServerHealth`] questions (one atomic load per question), usability and
//!   current weight. Every server has a state there; a server without `check` has
//!   no probe and stays UP unless an admin changes it (runtime API, state file).
//! - Stats page and Prometheus exporter: `plan.stats` frontends get a
//!   [`crate::stats::StatsService`] over the same [`crate::live::Live`].
//! - Runtime API: one task per `stats socket` serves [`crate::live::Live`]
//!   ([`Running::runtime_state`] gives it to other callers, e.g. a master
//!   process); the listeners close when the process stops.
//! - Transitions: the engine is the checker's [`Dataplane`], told of every
//!   transition directly (no channel, so none is lost in a burst). On DOWN (or
//!   MAINT) of a server with `on-marked-down shutdown-sessions` it cuts that
//!   server's sessions at once. On UP of a server with `on-marked-up
//!   shutdown-backup-sessions` it cuts the backup sessions of its backend
//!   (configuration.txt §5.2). The checker reads the session counts it prints
//!   ("N sessions active") from the engine when it writes the line.
//! - Health-check log lines: a task follows the checker's events and sends them
//!   to each proxy's log targets.
//! - Signals as HAProxy (management.txt §4 "Stopping and restarting HAProxy"):
//!   SIGUSR1 soft stop (stop listening, let sessions finish, `hard-stop-after`),
//!   SIGTERM and SIGINT hard stop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use haproxide_check::checker::{
    CheckEvent, Checker, CheckerOptions, Dataplane, HealthView, ServerId,
};
use haproxide_check::state::{OpState, Transition};
use haproxide_forward::{Engine, ServerHealth, SessionLogger};
use haproxide_log::Level;
use tokio::sync::broadcast::error::RecvError;

use crate::handover;
use crate::translate::Plan;

/// Use listening sockets handed over by the previous process: each bind whose
/// address matches one is given that socket (`fd@N`), so both processes share the
/// accept queue during the reload. Sockets no longer configured are closed.
pub fn adopt_listeners(plan: &mut Plan, mut fds: HashMap<String, std::os::fd::OwnedFd>) -> usize {
    use std::os::fd::IntoRawFd;
    let mut adopted = 0;
    for f in &mut plan.engine.frontends {
        for b in &mut f.binds {
            let key = match &b.addr {
                haproxide_forward::ListenAddr::Tcp(a) => a.to_string(),
                haproxide_forward::ListenAddr::Unix(p) => format!("unix:{}", p.display()),
                haproxide_forward::ListenAddr::Fd(_) => continue,
            };
            if let Some(fd) = fds.remove(&key) {
                b.addr = haproxide_forward::ListenAddr::Fd(fd.into_raw_fd());
                adopted += 1;
            }
        }
    }
    adopted
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Privileges(String),
    #[error("health checks: {0}")]
    Checker(#[from] haproxide_check::checker::CheckerError),
    #[error("{0}")]
    Engine(#[from] haproxide_forward::StartError),
    #[error("patroni: {0}")]
    Dcs(String),
    #[error("{0}")]
    Peers(#[from] haproxide_forward::peers::PeersError),
    #[error("stats socket {addr}: {source}")]
    StatsSocket {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where process events (server UP/DOWN, health-check reports, proxy start/stop) go.
pub trait EventSink: Send + Sync + 'static {
    fn event(&self, level: Level, text: &str);
    /// An event about proxy `proxy` (health checks of its servers): HAProxy sends
    /// it to that proxy's `log` targets. By default, as a process event.
    fn proxy_event(&self, proxy: &str, level: Level, text: &str) {
        let _ = proxy;
        self.event(level, text);
    }
}

/// Routes the forwarder's health questions to the checker.
struct Health {
    view: Option<HealthView>,
    ids: Arc<crate::ids::IdMap>,
    /// Verdicts of servers in backends with `patroni-role` (crate::dcs).
    dcs: Arc<crate::dcs::Gate>,
}

impl ServerHealth for Health {
    fn usable(&self, backend: usize, server: usize) -> bool {
        let checked = match (self.ids.get(&(backend, server)), &self.view) {
            (Some(id), Some(view)) => view.is_usable(*id),
            // Not known to the checker (no server at all): nothing to refuse.
            _ => true,
        };
        checked && self.dcs.allows(backend, server)
    }

    /// `set weight` and agent weights, from the checker's state.
    fn weight(&self, backend: usize, server: usize) -> Option<u32> {
        match (self.ids.get(&(backend, server)), &self.view) {
            (Some(id), Some(view)) => view.weight(*id),
            _ => None,
        }
    }

    fn pending(&self, backend: usize, server: usize) -> bool {
        let first_check = match (self.ids.get(&(backend, server)), &self.view) {
            (Some(id), Some(view)) => view.is_pending(*id),
            _ => false,
        };
        // The DCS names it (its check has yet to pass) or an election runs.
        first_check || self.dcs.awaits(backend, server)
    }
}

/// What the engine does for one server when the checker reports a transition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerLink {
    pub(crate) backend: usize,
    pub(crate) server: usize,
    /// `on-marked-down shutdown-sessions`.
    pub(crate) cut_on_down: bool,
    /// `on-marked-up shutdown-backup-sessions`.
    pub(crate) cut_backups_on_up: bool,
}

/// The engine as the checker's [`Dataplane`]. The engine is set once started:
/// before that no session exists, so a transition has nothing to cut.
pub(crate) struct EngineLink {
    engine: std::sync::OnceLock<Arc<Engine>>,
    /// Configured servers, then those `add server` registers (a lock: read per
    /// transition, not per session).
    servers: std::sync::RwLock<HashMap<ServerId, ServerLink>>,
}

impl EngineLink {
    fn link(&self, id: ServerId) -> Option<ServerLink> {
        self.servers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .copied()
    }

    /// `add server` / `del server`: the engine hears of the server's transitions.
    pub(crate) fn register(&self, id: ServerId, link: Option<ServerLink>) {
        let mut s = self.servers.write().unwrap_or_else(|e| e.into_inner());
        match link {
            Some(l) => s.insert(id, l),
            None => s.remove(&id),
        };
    }
}

impl Dataplane for EngineLink {
    fn sessions(&self, id: ServerId) -> u32 {
        match (self.engine.get(), self.link(id)) {
            (Some(engine), Some(l)) => {
                let n = engine.server_counters(l.backend, l.server).current;
                u32::try_from(n).unwrap_or(u32::MAX)
            }
            _ => 0,
        }
    }

    fn transition(&self, id: ServerId, t: &Transition) {
        let (Some(engine), Some(l)) = (self.engine.get(), self.link(id)) else {
            return;
        };
        if t.to == OpState::Stopped && l.cut_on_down {
            engine.shutdown_server_sessions(l.backend, l.server);
        } else if t.to == OpState::Running {
            if t.from == OpState::Stopped && l.cut_backups_on_up {
                engine.shutdown_backup_sessions(l.backend);
            }
            // Sessions queued for lack of a free server may go now.
            engine.wake_queues(l.backend);
        }
    }

    fn set_maxconn(&self, id: ServerId, maxconn: u32) {
        if let (Some(engine), Some(l)) = (self.engine.get(), self.link(id)) {
            engine.set_server_maxconn(l.backend, l.server, maxconn as usize);
        }
    }
}

/// The stop signals, installed as early as possible: until they are, SIGUSR1's
/// default action would kill the process (a reload arriving during start-up must
/// not cut sessions).
pub struct Signals {
    usr1: std::io::Result<tokio::signal::unix::Signal>,
    term: std::io::Result<tokio::signal::unix::Signal>,
    int: std::io::Result<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Install the handlers (inside a tokio runtime).
    pub fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            usr1: signal(SignalKind::user_defined1()),
            term: signal(SignalKind::terminate()),
            int: signal(SignalKind::interrupt()),
        }
    }
}

/// A running configuration.
pub struct Running {
    pub engine: Arc<Engine>,
    /// Serves our listening sockets to the next process (`-sf` reloads).
    handover: Option<handover::Server>,
    events: Arc<dyn EventSink>,
    /// Proxy names with their frontend and backend indexes, for the stop events.
    proxies: Vec<(String, Option<usize>, Option<usize>)>,
    checker: Option<Checker>,
    hard_stop_after: Option<Duration>,
    follower: Option<tokio::task::JoinHandle<()>>,
    live: Arc<crate::live::Live>,
    /// What the runtime API serves: `live` as the stats page shows it.
    state: Arc<dyn crate::cli::RuntimeState>,
    /// Stops the `stats socket` listeners and their sessions.
    cli_stop: tokio::sync::watch::Sender<bool>,
    cli_tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The DCS followers (`patroni` sections); stopped with the run.
    dcs: Option<Arc<crate::dcs::DcsRuntime>>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    Soft,
    /// SIGTERM.
    Hard,
    /// SIGINT (a hard stop too; a worker's master reports it, HAProxy exits 130).
    Interrupt,
}

/// Start checks and listeners for a translated configuration. Must run inside a
/// tokio runtime.
pub async fn start(
    plan: Plan,
    logger: Arc<dyn SessionLogger>,
    events: Arc<dyn EventSink>,
) -> Result<Running, RunError> {
    start_with(plan, logger, events, Box::new(|| Ok(()))).await
}

/// Runs once every listener (proxies, stats sockets, the handover socket) is
/// bound and before anything is served: where the process drops its privileges.
pub type BeforeServing = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// [`start`] in HAProxy's order (issue 13 row 10): bind everything, run
/// `before_serving` (chroot, setgid, setuid), then serve: accept loops, the stats
/// sockets and the health checks start only after it succeeded.
pub async fn start_with(
    plan: Plan,
    logger: Arc<dyn SessionLogger>,
    events: Arc<dyn EventSink>,
    before_serving: BeforeServing,
) -> Result<Running, RunError> {
    // Prepare the checks and subscribe before they run, so no event is missed.
    // Servers without check, track or `disabled` get a probe-less state too: the
    // runtime API's admin state lives there.
    let servers = all_servers(&plan);
    // A checker runs whenever there is a backend: `add server` may need one.
    let mut checker = if servers.is_empty() && plan.engine.backends.is_empty() {
        None
    } else {
        let opts = CheckerOptions {
            spread_checks: plan.spread_checks,
            listen_sections: plan.listen_sections.clone(),
            ..CheckerOptions::default()
        };
        Some(Checker::new(servers, opts)?)
    };
    let view = checker.as_ref().map(Checker::view);
    let mut ids = HashMap::new();
    if let Some(v) = &view {
        for (b, be) in plan.engine.backends.iter().enumerate() {
            for (s, srv) in be.servers.iter().enumerate() {
                if let Some(id) = v.id(&be.name, &srv.name) {
                    ids.insert((b, s), id);
                }
            }
        }
    }
    // The engine hears every transition (attached before the first check runs).
    let mut servers = HashMap::new();
    for (&(b, s), &id) in &ids {
        if let Some(spec) = plan.engine.backends.get(b).and_then(|x| x.servers.get(s)) {
            let link = ServerLink {
                backend: b,
                server: s,
                cut_on_down: spec.shutdown_on_down,
                cut_backups_on_up: spec.shutdown_backup_on_up,
            };
            servers.insert(id, link);
        }
    }
    let link = Arc::new(EngineLink {
        engine: std::sync::OnceLock::new(),
        servers: std::sync::RwLock::new(servers),
    });
    if let Some(v) = &view {
        v.attach_dataplane(link.clone());
    }
    let rx = view.as_ref().map(HealthView::subscribe);
    // States saved by the previous process (`server-state-file`) apply before
    // the first check and the first connection.
    if let Some(v) = &view {
        for w in crate::server_state::apply(&plan, v) {
            events.event(Level::Warning, &w);
        }
    }
    let dcs_gate = Arc::new(crate::dcs::Gate::new(&plan.dcs));
    let counts: Vec<usize> = plan
        .engine
        .backends
        .iter()
        .map(|b| b.servers.len())
        .collect();
    let ids = Arc::new(crate::ids::IdMap::new(&ids, &counts));
    let health = Arc::new(Health {
        view: view.clone(),
        ids: Arc::clone(&ids),
        dcs: Arc::clone(&dcs_gate),
    });
    // Stats/exporter proxies: their frontends are served by the stats service,
    // which reads the runtime state once it exists (just below).
    let stats = crate::stats::Hub::with_slot(&plan.stats, plan.stats_slot.clone());
    let mut engine_spec = plan.engine.clone();
    stats.attach(&mut engine_spec);
    let (open, gate) = tokio::sync::watch::channel(false);
    let engine =
        Arc::new(Engine::start_gated(engine_spec, health.clone(), logger, Some(gate)).await?);
    // §3.5 `peers`: the replaced process's entries, before any traffic.
    if let Some(data) = &plan.tables_handover {
        match engine.stick_tables().import(data) {
            Ok(n) => tracing::debug!("took over {n} stick-table entries"),
            Err(e) => tracing::warn!("stick tables not taken over: {e}"),
        }
    }
    // §3.5 `peers`: sessions with the remote peers.
    haproxide_forward::peers::start(plan.peers.clone(), engine.stick_tables())?;
    let live_view = view.clone();
    let _ = link.engine.set(Arc::clone(&engine));
    // A server that went DOWN while the engine was starting: its sessions (opened
    // in between) are cut as the transition would have.
    if let Some(v) = &view {
        for (id, l) in link
            .servers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if l.cut_on_down && !v.is_up(*id) {
                engine.shutdown_server_sessions(l.backend, l.server);
            }
        }
    }
    let live = Arc::new(crate::live::Live::new(
        Arc::clone(&engine),
        view,
        ids,
        &plan,
    ));
    live.set_engine_link(Arc::clone(&link));
    let dcs = if plan.dcs.clusters.is_empty() {
        None
    } else {
        let actions = Arc::new(crate::dcs::Actions {
            engine: Arc::clone(&engine),
            health: live_view.clone(),
            ids: health.ids.clone(),
            events: Arc::clone(&events),
        });
        let rt = crate::dcs::DcsRuntime::start(&plan.dcs, dcs_gate, actions)
            .map_err(|e| RunError::Dcs(e.to_string()))?;
        let rt = Arc::new(rt);
        live.set_dcs(Arc::clone(&rt));
        Some(rt)
    };
    let state = stats.set_state(Arc::clone(&live) as Arc<dyn crate::cli::RuntimeState>);
    let (cli_stop, cli_rx) = tokio::sync::watch::channel(false);
    let mut cli_bound = Vec::new();
    // An inherited `fd@N` has one owner: a stats socket may not take a descriptor
    // a bind or another stats socket already took (issue 13 row 11).
    let mut fds_taken: std::collections::HashSet<i32> = plan
        .engine
        .frontends
        .iter()
        .flat_map(|f| &f.binds)
        .filter_map(|b| match b.addr {
            haproxide_forward::ListenAddr::Fd(n) => Some(n),
            _ => None,
        })
        .collect();
    for sock in &plan.admin.sockets {
        if let crate::cli::listen::CliAddress::Fd(n) = sock.address {
            if !fds_taken.insert(n) {
                return Err(RunError::StatsSocket {
                    addr: sock.address.to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "this descriptor is already taken by a bind or another stats socket",
                    ),
                });
            }
        }
        let bound =
            crate::cli::listen::bind_address(&sock.address, &sock.options).map_err(|source| {
                RunError::StatsSocket {
                    addr: sock.address.to_string(),
                    source,
                }
            })?;
        cli_bound.push((bound, sock.options.clone()));
    }
    let follower_events = Arc::clone(&events);
    let follower = rx.map(|mut rx| {
        let events = follower_events;
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(CheckEvent::Log { line, backend, .. }) => {
                        events.proxy_event(&backend, line.severity.into(), &line.text)
                    }
                    // Transitions reach the engine through `EngineLink`.
                    Ok(CheckEvent::Transition { .. } | CheckEvent::Weight { .. }) => {}
                    // An agent's `maxconn:N` reaches the engine through `EngineLink`.
                    Ok(CheckEvent::MaxConn { .. }) => {}
                    // Log lines lost in a burst: HAProxy's own log ring drops
                    // lines too when its sinks fall behind.
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!("{n} health-check events not logged (burst)")
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        })
    });
    let fds_engine = Arc::clone(&engine);
    // Owned by the uid/gid the process drops to, so that it can remove them on exit.
    let owner = plan.process.uid.map(|u| (u, plan.process.gid));
    let handover = handover::Server::start(
        handover::default_dir(std::process::id()),
        owner,
        move || {
            fds_engine
                .listening_fds()
                .into_iter()
                .map(|(_, _, fd)| fd)
                .collect()
        },
    )
    .map_err(|e| tracing::warn!("cannot serve listeners for reloads: {e}"))
    .ok();
    // The tables bound to a `peers` section go to the next process too.
    if let Some(h) = handover.as_ref() {
        let tables = engine.stick_tables();
        if tables.list.iter().any(|t| t.spec.handover) {
            if let Err(e) = h.serve_tables(owner, move || tables.export()) {
                tracing::warn!("cannot serve stick tables for reloads: {e}");
            }
        }
    }
    // Everything is bound: drop the privileges, then serve.
    before_serving().map_err(RunError::Privileges)?;
    let _ = open.send(true);
    if let Some(c) = checker.as_mut() {
        c.run();
    }
    let mut cli_tasks = Vec::new();
    for (bound, opts) in cli_bound {
        let (state, rx) = (Arc::clone(&state), cli_rx.clone());
        cli_tasks.push(tokio::spawn(async move {
            if let Err(e) = crate::cli::listen::serve_bound(bound, opts, state, rx).await {
                tracing::warn!("stats socket: {e}");
            }
        }));
    }
    let mut proxies: Vec<(String, Option<usize>, Option<usize>)> = Vec::new();
    for (i, f) in plan.engine.frontends.iter().enumerate() {
        proxies.push((f.name.clone(), Some(i), None));
    }
    for (i, b) in plan.engine.backends.iter().enumerate() {
        match proxies.iter_mut().find(|p| p.0 == b.name) {
            Some(p) => p.2 = Some(i),
            None => proxies.push((b.name.clone(), None, Some(i))),
        }
    }
    Ok(Running {
        engine,
        handover,
        events,
        proxies,
        checker,
        hard_stop_after: plan.hard_stop_after,
        follower,
        live,
        state,
        cli_stop,
        cli_tasks,
        dcs,
    })
}

/// Every server of the plan for the checker: the configured checks, and a
/// probe-less state for the others.
fn all_servers(plan: &Plan) -> Vec<haproxide_check::checker::ServerConfig> {
    use haproxide_check::checker::ServerConfig;
    use haproxide_check::log::ServerName;
    let mut servers = plan.checked.clone();
    for (b, be) in plan.engine.backends.iter().enumerate() {
        for (s, srv) in be.servers.iter().enumerate() {
            if plan.server_index.contains_key(&(b, s)) {
                continue;
            }
            let port = match srv.port {
                haproxide_forward::ServerPort::Fixed(p) => p,
                _ => 0,
            };
            servers.push(ServerConfig {
                name: ServerName {
                    backend: be.name.clone(),
                    server: srv.name.clone(),
                    backup: srv.backup,
                },
                addr: std::net::SocketAddr::new(srv.ip, port),
                weight: srv.weight,
                check: None,
                agent: None,
                track: None,
                disabled: srv.disabled,
                unresolved: None,
                rise: 2,
            });
        }
    }
    servers
}

impl Running {
    /// The runtime API's view of this process (what every `stats socket` serves),
    /// e.g. for a master process serving a worker's CLI over another socket with
    /// [`crate::cli::serve_stream`].
    pub fn runtime_state(&self) -> Arc<dyn crate::cli::RuntimeState> {
        Arc::clone(&self.state)
    }

    /// Serve until SIGUSR1 (soft stop), SIGTERM or SIGINT (hard stop), or `stop`.
    pub async fn serve(
        self,
        signals: Signals,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Stopped {
        let Signals { usr1, term, int } = signals;
        let how = match (usr1, term, int) {
            (Ok(mut usr1), Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = usr1.recv() => Stopped::Soft,
                _ = term.recv() => Stopped::Hard,
                _ = int.recv() => Stopped::Interrupt,
                _ = stop.wait_for(|s| *s) => Stopped::Soft,
            },
            _ => {
                let _ = stop.wait_for(|s| *s).await;
                Stopped::Soft
            }
        };
        self.stop(how).await;
        how
    }

    /// Stop now (hard) or after the sessions end (soft, bounded by `hard-stop-after`).
    pub async fn stop(mut self, how: Stopped) {
        let handed_over = self
            .handover
            .as_ref()
            .is_some_and(|h| h.handed_over.load(std::sync::atomic::Ordering::SeqCst))
            || self.live.listeners_exported();
        // No more handovers from a stopping process.
        drop(self.handover.take());
        // The runtime API stops with the listeners (HAProxy stops its CLI
        // frontend too); the successor serves the same socket path.
        self.live.set_stopping();
        let _ = self.cli_stop.send(true);
        for t in self.cli_tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
        match how {
            Stopped::Soft => {
                if handed_over {
                    // The successor accepts on the same sockets: leave them open.
                    self.engine.release_listeners();
                }
                self.engine.soft_stop(self.hard_stop_after).await;
                // HAProxy logs one line per proxy once it stopped (warning level).
                for (name, fe, be) in &self.proxies {
                    let fe = fe
                        .map(|i| self.engine.frontend_counters(i).total)
                        .unwrap_or(0);
                    let be = be
                        .map(|i| self.engine.backend_counters(i).total)
                        .unwrap_or(0);
                    self.events.event(
                        Level::Warning,
                        &format!("Proxy {name} stopped (cumulated conns: FE: {fe}, BE: {be})."),
                    );
                }
            }
            Stopped::Hard | Stopped::Interrupt => self.engine.hard_stop(),
        }
        if let Some(f) = self.follower.take() {
            f.abort();
        }
        drop(self.dcs.take());
        drop(self.checker.take());
    }
}
