//! The scheduler: one tokio task per check driving the sans-IO state, and
//! the read side for the forwarder (configuration.txt §5.2 `check`, `inter`,
//! `fastinter`, `downinter`, `track`, `agent-check`; §3.2 `spread-checks`).
//!
//! - [`Checker::start`] spawns the check tasks; dropping the [`Checker`]
//!   stops them all.
//! - [`HealthView`] answers "may I send a new connection to this server?"
//!   with one atomic load, and [`HealthView::subscribe`] streams transitions
//!   and log lines; a [`Dataplane`] hears every transition directly.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use haproxide_slots::Slots;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::log::{self, BackendCounts, ChangeReason, LogLine, ServerName};
use crate::probe::agent::{AgentOutcome, Linger};
use crate::probe::{AgentProber, ProbeError, Prober, RunContext};
use crate::schedule::{self, Jitter};
use crate::spec::{AgentSpec, CheckSpec};
use crate::state::{AdminChange, CheckKind, Event, OpState, ServerState, Transition};
use crate::status::CheckResult;

mod dataplane;
mod dynamic;
mod view;
pub use dataplane::Dataplane;
pub use dynamic::DynamicError;
pub use view::HealthView;

/// A boxed future, for the probe traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that runs one health check (the real [`Prober`], or a fake in
/// tests).
pub trait HealthProbe: Send + Sync + 'static {
    /// Runs one check with `inter` in force.
    fn check<'a>(&'a self, inter: Duration, ctx: &'a RunContext) -> BoxFuture<'a, CheckResult>;
}

impl HealthProbe for Prober {
    fn check<'a>(&'a self, inter: Duration, ctx: &'a RunContext) -> BoxFuture<'a, CheckResult> {
        Box::pin(self.run(inter, ctx))
    }
}

/// Something that runs one agent check.
pub trait AgentProbe: Send + Sync + 'static {
    /// Runs one agent check.
    fn check(&self) -> BoxFuture<'_, AgentOutcome>;
    /// Runs one agent check; a reply may come with its connection still open,
    /// closed by the checker once the reply is applied (as HAProxy does).
    fn check_held(&self) -> BoxFuture<'_, (AgentOutcome, Linger)> {
        Box::pin(async move { (self.check().await, Linger::default()) })
    }
}

impl AgentProbe for AgentProber {
    fn check(&self) -> BoxFuture<'_, AgentOutcome> {
        Box::pin(self.run())
    }
    fn check_held(&self) -> BoxFuture<'_, (AgentOutcome, Linger)> {
        Box::pin(self.run_held())
    }
}

/// One server as the checker needs it (filled in by the config crate).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Backend and server names, `backup` flag.
    pub name: ServerName,
    /// Server address.
    pub addr: SocketAddr,
    /// `weight` (default 1).
    pub weight: u32,
    /// `check` and its settings; `None` without `check`.
    pub check: Option<CheckSpec>,
    /// `agent-check` and its settings.
    pub agent: Option<AgentSpec>,
    /// `track [<backend>/]<server>`.
    pub track: Option<ServerName>,
    /// `disabled`: starts in maintenance.
    pub disabled: bool,
    /// The host name that did not resolve (`init-addr ...,none`): the server starts
    /// in HAProxy's resolution maintenance (RMAINT), which `enable server` does not
    /// lift.
    pub unresolved: Option<String>,
    /// `rise`, for a server without `check` (HAProxy still shows it as the check
    /// counter in `show servers state`).
    pub rise: u32,
}

impl ServerConfig {
    /// A server with a health check of `spec`.
    pub fn checked(name: ServerName, addr: SocketAddr, spec: CheckSpec) -> Self {
        let spec_rise = spec.rise;
        Self {
            name,
            addr,
            weight: 1,
            check: Some(spec),
            agent: None,
            track: None,
            disabled: false,
            unresolved: None,
            rise: spec_rise,
        }
    }
}

/// Global settings (configuration.txt §3.2).
#[derive(Debug, Clone)]
pub struct CheckerOptions {
    /// `spread-checks` percentage (0..=50).
    pub spread_checks: u8,
    /// `max-spread-checks`.
    pub max_spread_checks: Option<Duration>,
    /// `node` (default: the host name), shown by `http-check send-state`.
    pub node: String,
    /// Names of the `listen` sections among the backends: HAProxy calls them
    /// "proxy" in "proxy NAME has no server available!".
    pub listen_sections: std::collections::HashSet<String>,
}

impl Default for CheckerOptions {
    fn default() -> Self {
        let node = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Self {
            spread_checks: 0,
            max_spread_checks: None,
            node,
            listen_sections: Default::default(),
        }
    }
}

/// Index of a server in the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerId(pub usize);

/// What subscribers receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckEvent {
    /// A server changed operational state.
    Transition {
        /// When (tokio clock).
        at: Instant,
        /// Which server.
        id: ServerId,
        /// The change.
        transition: Transition,
    },
    /// A line HAProxy would log for this backend.
    Log {
        /// When.
        at: Instant,
        /// The backend the line is about (HAProxy sends it to that proxy's `log`
        /// targets).
        backend: String,
        /// Severity and text.
        line: LogLine,
    },
    /// An agent asked for a weight change (percent of the configured weight).
    Weight {
        /// Which server.
        id: ServerId,
        /// Percent.
        pct: u32,
    },
    /// An agent reply carried `maxconn:N` (configuration.txt §5.2 `agent-check`):
    /// the server's maxconn becomes N (`slim` in `show stat`).
    MaxConn {
        /// Which server.
        id: ServerId,
        /// The new maxconn.
        maxconn: u32,
    },
}

/// A checker could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckerError {
    /// A probe could not be prepared.
    #[error("server {backend}/{server}: {source}")]
    Probe {
        /// Backend.
        backend: String,
        /// Server.
        server: String,
        /// Why.
        source: ProbeError,
    },
    /// `track` names an unknown server.
    #[error("server {backend}/{server} tracks unknown server {target}")]
    UnknownTrack {
        /// Backend.
        backend: String,
        /// Server.
        server: String,
        /// The missing `backend/server`.
        target: String,
    },
}

/// What publishing needs to know of a server's state after a change.
#[derive(Debug, Clone, Copy)]
struct Snap {
    drain: bool,
    zero_weight: bool,
    stopped: bool,
}

impl Snap {
    fn of(st: &ServerState) -> Self {
        Self {
            drain: st.admin().drain,
            zero_weight: st.weight() == 0,
            stopped: st.op_state() == OpState::Stopped,
        }
    }
}

struct Slot {
    cfg: ServerConfig,
    state: Mutex<ServerState>,
    usable: AtomicBool,
    /// [`ServerState::eligible`]: usable for HAProxy (the log lines' counts).
    eligible: AtomicBool,
    up: AtomicBool,
    /// Current weight (`set weight`, agent `N%`), for the balancer.
    weight: AtomicU32,
    /// Health checks not turned off by `disable health`.
    check_enabled: AtomicBool,
    /// Agent checks not turned off by `disable agent`.
    agent_enabled: AtomicBool,
    /// DOWN only for want of a first check result ([`ServerState::awaiting_first_check`]).
    pending: AtomicBool,
    /// A health check is in flight (`show stat` prefixes its status "* ").
    checking: AtomicBool,
    /// Sessions currently on the server, as reported by the forwarder
    /// ([`HealthView::set_sessions`]); printed in "N sessions active".
    sessions: std::sync::atomic::AtomicU32,
    /// [`HealthView::check_now`]: cuts the wait before the next check.
    wake: tokio::sync::Notify,
    /// [`HealthView::set_recheck`]: an interval in ms the wait never exceeds (0: none).
    recheck_ms: std::sync::atomic::AtomicU64,
    /// Servers tracking this one, the latest `add server ... track` first (HAProxy
    /// prepends to its list, so propagation reaches the newest tracker first).
    trackers: Mutex<Vec<usize>>,
    /// Added by `add server` (cannot be tracked, can be deleted).
    dynamic: bool,
    /// Removed by `del server`: a tombstone (the index is not reused).
    deleted: AtomicBool,
    /// The check loops of a dynamic server (aborted by `del server`).
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

struct Shared {
    start: Instant,
    /// Every server, the configured ones then those `add server` appended: a
    /// [`Slots`] table, so the forwarder's questions read it without a lock.
    slots: Slots<Slot>,
    by_name: RwLock<HashMap<(String, String), usize>>,
    /// Servers of each backend, so per-backend counts do not scan everything.
    members: RwLock<HashMap<String, Vec<usize>>>,
    tx: broadcast::Sender<CheckEvent>,
    dataplane: std::sync::OnceLock<Arc<dyn Dataplane>>,
    node: String,
    listen: std::collections::HashSet<String>,
}

fn lock_any<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

fn lock(m: &Mutex<ServerState>) -> MutexGuard<'_, ServerState> {
    // A poisoned lock only means another task panicked mid-update; the state
    // itself is always consistent between method calls, so keep using it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `show stat` view of one server (management.txt §9.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStats {
    /// `status`: "UP", "DOWN", "UP 1/3", "DOWN 1/2", "NOLB", "MAINT",
    /// "DRAIN", "no check".
    pub status: String,
    /// `check_status` ("L7OK", "INI"...), prefixed with "* " while a check
    /// is running, as HAProxy shows it.
    pub check_status: String,
    /// `check_code`.
    pub check_code: Option<u32>,
    /// `check_duration` in ms.
    pub check_duration_ms: Option<u128>,
    /// `check_desc`.
    pub check_desc: String,
    /// `check_rise`.
    pub check_rise: u32,
    /// `check_fall`.
    pub check_fall: u32,
    /// `check_health` (without a check: the counter HAProxy keeps anyway, see
    /// [`ServerState::nocheck_health`]).
    pub check_health: u32,
    /// `chkfail`.
    pub chkfail: u64,
    /// `chkdown`.
    pub chkdown: u64,
    /// `lastchg`: seconds since the last change.
    pub lastchg: u64,
    /// `downtime`: total seconds DOWN (including the current period).
    pub downtime: u64,
    /// `agent_status` ("L7OK", "L7STS", "CHECKED"...), empty without agent.
    pub agent_status: String,
    /// `agent_code`.
    pub agent_code: Option<u32>,
    /// `agent_duration` in ms.
    pub agent_duration_ms: Option<u128>,
    /// `last_agt` (agent description, e.g. "via agent : up").
    pub agent_desc: String,
    /// `agent_rise`, `agent_fall`, `agent_health`.
    pub agent_rise: u32,
    /// `agent_fall`.
    pub agent_fall: u32,
    /// `agent_health`.
    pub agent_health: u32,
    /// `weight` (current, after agent changes).
    pub weight: u32,
}

impl Shared {
    fn now_s(&self) -> u64 {
        self.start.elapsed().as_secs()
    }

    fn counts(&self, backend: &str) -> BackendCounts {
        let mut c = BackendCounts::default();
        let members = read(&self.members);
        let members = members.get(backend).map(Vec::as_slice).unwrap_or(&[]);
        for s in members.iter().map(|&i| &self.slots[i]) {
            if s.eligible.load(Ordering::Acquire) {
                if s.cfg.name.backup {
                    c.backup += 1;
                } else {
                    c.active += 1;
                }
            }
        }
        c
    }

    /// Backend counts plus the server's own session count.
    fn counts_for(&self, i: usize) -> BackendCounts {
        let slot = &self.slots[i];
        BackendCounts {
            sessions: self.sessions_on(i),
            ..self.counts(&slot.cfg.name.backend)
        }
    }

    fn no_server_line(&self, backend: &str) -> LogLine {
        log::no_server_line_of(self.listen.contains(backend), backend)
    }

    fn emit(&self, ev: CheckEvent) {
        // No subscriber is not an error.
        let _ = self.tx.send(ev);
    }

    fn log(&self, backend: &str, line: LogLine) {
        self.emit(CheckEvent::Log {
            at: Instant::now(),
            backend: backend.to_string(),
            line,
        });
    }

    fn sync_flags(&self, i: usize, st: &ServerState) {
        self.slots[i].usable.store(st.usable(), Ordering::Release);
        self.slots[i]
            .eligible
            .store(st.eligible(), Ordering::Release);
        self.slots[i].up.store(st.is_up(), Ordering::Release);
        self.slots[i].weight.store(st.weight(), Ordering::Release);
        self.slots[i]
            .pending
            .store(st.awaiting_first_check(), Ordering::Release);
    }

    /// Applies `f` to server `i`'s state under its lock, refreshes the
    /// read-side flags, then publishes the resulting events.
    fn step(&self, i: usize, f: impl FnOnce(&mut ServerState, u64) -> Vec<Event>) {
        let (events, snap) = {
            let mut st = lock(&self.slots[i].state);
            let events = f(&mut st, self.now_s());
            self.sync_flags(i, &st);
            (events, Snap::of(&st))
        };
        self.publish(i, events, snap);
    }

    /// Publishes the events of server `i` (logs, transitions, tracking).
    /// `st` is the server's state right after the events (drain and weight
    /// shape some lines).
    fn publish(&self, i: usize, events: Vec<Event>, st: Snap) {
        let slot = &self.slots[i];
        for ev in events {
            match ev {
                Event::CheckReport {
                    kind,
                    result,
                    health,
                } => {
                    self.log(
                        &slot.cfg.name.backend,
                        log::check_line(
                            &slot.cfg.name,
                            kind == CheckKind::Agent,
                            &result,
                            &health,
                            st.zero_weight,
                        ),
                    );
                }
                Event::Weight { pct, was_usable } => {
                    self.emit(CheckEvent::Weight {
                        id: ServerId(i),
                        pct,
                    });
                    self.no_server_if_last(i, was_usable);
                }
                Event::Changed(t) => {
                    self.log_transition(i, &t, st.drain);
                    self.announce(i, t);
                }
                Event::Admin {
                    change,
                    was_usable,
                    was_stopping,
                    transition,
                } => {
                    self.log_admin(
                        i,
                        change,
                        was_usable,
                        was_stopping,
                        transition.is_some(),
                        st,
                    );
                    // Trackers enter maintenance before they hear of the DOWN (so
                    // they log "for maintenance via"), and leave it after they
                    // heard of the UP (so they come UP "leaving maintenance").
                    let maint = match change {
                        AdminChange::EnterMaint | AdminChange::EnterMaintVia => Some(true),
                        AdminChange::LeaveMaint | AdminChange::LeaveMaintVia => Some(false),
                        _ => None,
                    };
                    if maint == Some(true) {
                        self.propagate_maint(i, true);
                    }
                    if let Some(t) = transition {
                        self.announce(i, t);
                    }
                    if maint == Some(false) {
                        self.propagate_maint(i, false);
                    }
                }
            }
        }
    }

    /// Sends a transition to subscribers and to the servers tracking `i`.
    fn announce(&self, i: usize, t: Transition) {
        let to = t.to;
        self.tell_dataplane(i, &t);
        self.emit(CheckEvent::Transition {
            at: Instant::now(),
            id: ServerId(i),
            transition: t,
        });
        let trackers = lock_any(&self.slots[i].trackers).clone();
        for j in trackers {
            let (evs, snap) = {
                let mut st = lock(&self.slots[j].state);
                let evs = st.on_tracked(to, self.now_s());
                self.sync_flags(j, &st);
                (evs, Snap::of(&st))
            };
            self.publish(j, evs, snap);
        }
    }

    /// Servers tracking `i` follow its maintenance (HAProxy's IMAINT).
    fn propagate_maint(&self, i: usize, maint: bool) {
        let trackers = lock_any(&self.slots[i].trackers).clone();
        for j in trackers {
            self.step(j, |st, now| st.set_inherited_maint(maint, now));
        }
    }

    /// "backend X has no server available!" when `i` was usable and the
    /// backend has none left.
    fn no_server_if_last(&self, i: usize, was_usable: bool) {
        let slot = &self.slots[i];
        if was_usable && !slot.usable.load(Ordering::Acquire) {
            let c = self.counts(&slot.cfg.name.backend);
            if c.active + c.backup == 0 {
                self.log(
                    &slot.cfg.name.backend,
                    self.no_server_line(&slot.cfg.name.backend),
                );
            }
        }
    }

    /// Logs an administrative change as HAProxy words it (src/server.c
    /// `srv_update_status`; checked against HAProxy 2.6.12 for agent
    /// `drain`/`maint`/`ready`).
    fn log_admin(
        &self,
        i: usize,
        change: AdminChange,
        was_usable: bool,
        was_stopping: bool,
        moved: bool,
        st: Snap,
    ) {
        let name = &self.slots[i].cfg.name;
        let pre = if name.backup { "Backup " } else { "" };
        let counts = self.counts_for(i);
        let notice = |text: String| LogLine {
            severity: log::Severity::Notice,
            text,
        };
        match change {
            AdminChange::EnterMaint => {
                self.log(
                    &name.backend,
                    log::maint_line(name, !moved, "", &counts, was_stopping),
                );
            }
            AdminChange::EnterMaintVia => {
                let via = self.slots[i].cfg.track.as_ref().map_or(String::new(), |t| {
                    format!(" via {}/{}", t.backend, t.server)
                });
                let mut l = log::maint_line(name, !moved, "", &counts, was_stopping);
                l.text = l
                    .text
                    .replacen("for maintenance.", &format!("for maintenance{via}."), 1)
                    .replacen(
                        "enters maintenance.",
                        &format!("enters maintenance{via}."),
                        1,
                    );
                self.log(&name.backend, l);
            }
            AdminChange::LeaveMaint | AdminChange::LeaveMaintVia => self.log(
                &name.backend,
                notice(format!(
                    "{pre}Server {}/{} is {}/{} (leaving {}maintenance).",
                    name.backend,
                    name.server,
                    if st.stopped { "DOWN" } else { "UP" },
                    if st.drain { "DRAIN" } else { "READY" },
                    if change == AdminChange::LeaveMaint {
                        "forced "
                    } else {
                        ""
                    }
                )),
            ),
            AdminChange::EnterDrain => {
                let mut l = log::up_line(name, &ChangeReason::None, &counts);
                l.text = l.text.replacen(" is UP.", " enters drain state.", 1);
                self.log(&name.backend, l);
            }
            AdminChange::LeaveDrain => self.log(
                &name.backend,
                notice(format!(
                    "{pre}Server {}/{} is {} (leaving forced drain).",
                    name.backend,
                    name.server,
                    if st.stopped { "DOWN" } else { "UP" }
                )),
            ),
        }
        self.no_server_if_last(i, was_usable);
    }

    fn log_transition(&self, i: usize, t: &Transition, drain: bool) {
        let slot = &self.slots[i];
        let log_checks = slot.cfg.check.as_ref().is_some_and(|c| c.log_health_checks);
        let reason = match (&slot.cfg.track, &t.cause) {
            (_, Some(cause)) if !log_checks && slot.cfg.track.is_none() => {
                ChangeReason::Check(cause.clone())
            }
            (Some(target), None) => ChangeReason::Via(target.clone()),
            _ => ChangeReason::None,
        };
        let counts = self.counts_for(i);
        let was_usable = t.from == OpState::Running && !drain;
        let line = match t.to {
            OpState::Stopped => log::down_line(
                &slot.cfg.name,
                &reason,
                &counts,
                t.from == OpState::Stopping || drain,
            ),
            OpState::Running => log::up_line(&slot.cfg.name, &reason, &counts),
            OpState::Stopping => log::stopping_line(&slot.cfg.name, &reason, &counts),
        };
        self.log(&slot.cfg.name.backend, line);
        if t.to != OpState::Running && was_usable && counts.active + counts.backup == 0 {
            self.log(
                &slot.cfg.name.backend,
                self.no_server_line(&slot.cfg.name.backend),
            );
        }
    }

    fn state_header(&self, i: usize, st: &ServerState) -> String {
        let slot = &self.slots[i];
        let word = match (st.check_health(), st.op_state()) {
            (None, _) => "no check".to_string(),
            (Some(h), OpState::Stopped) if h.value() == 0 => "DOWN".to_string(),
            (Some(h), OpState::Stopped) => format!("DOWN {}/{}", h.value(), h.rise()),
            (Some(h), op) => {
                let base = if op == OpState::Stopping {
                    "NOLB"
                } else {
                    "UP"
                };
                if h.is_fully_up() {
                    base.to_string()
                } else {
                    let (n, d) = h.fraction();
                    format!("{base} {n}/{d}")
                }
            }
        };
        let backend = &slot.cfg.name.backend;
        let members = read(&self.members);
        let members = members.get(backend).map(Vec::as_slice).unwrap_or(&[]);
        let total: u32 = members
            .iter()
            .map(|&j| &self.slots[j])
            .filter(|s| !s.cfg.name.backup && s.usable.load(Ordering::Acquire))
            .map(|s| s.cfg.weight)
            .sum();
        let cur = if st.usable() { st.weight() } else { 0 };
        let scur = self.sessions_on(i);
        let bsess: u32 = members.iter().map(|&j| self.sessions_on(j)).sum();
        format!(
            "{word}; address={}; port={}; name={}/{}; node={}; weight={cur}/{total}; scur={scur}/{bsess}; qcur=0",
            slot.cfg.addr.ip(),
            slot.cfg.addr.port(),
            backend,
            slot.cfg.name.server,
            self.node
        )
    }
}

/// The running checks. Dropping it stops every check task.
pub struct Checker {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    /// Check loops built by `new*` and not yet spawned by `run`.
    pending: Vec<BoxFuture<'static, ()>>,
}

impl Drop for Checker {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

type Probes = (Option<Arc<dyn HealthProbe>>, Option<Arc<dyn AgentProbe>>);

/// The real probes of a server (health, agent), as its configuration says.
fn real_probes(cfg: &ServerConfig) -> Result<Probes, ProbeError> {
    let h = match &cfg.check {
        Some(spec) => Some(Arc::new(Prober::new(spec, cfg.addr)?) as Arc<dyn HealthProbe>),
        None => None,
    };
    let a = cfg.agent.as_ref().map(|a| {
        let t = cfg
            .check
            .as_ref()
            .map(|c| c.timeouts.clone())
            .unwrap_or_default();
        Arc::new(AgentProber::new(a, cfg.addr, &t)) as Arc<dyn AgentProbe>
    });
    Ok((h, a))
}

impl Checker {
    /// Starts the checks of `servers` with the real probes. Must be called
    /// within a tokio runtime. Events emitted before a later `subscribe()`
    /// are not seen by it: use [`Checker::new`], subscribe, then
    /// [`Checker::run`] to see every event.
    pub fn start(servers: Vec<ServerConfig>, opts: CheckerOptions) -> Result<Self, CheckerError> {
        let mut c = Self::new(servers, opts)?;
        c.run();
        Ok(c)
    }

    /// Starts the checks with probes made by `make` (tests use fakes).
    pub fn start_with<F>(
        servers: Vec<ServerConfig>,
        opts: CheckerOptions,
        make: F,
    ) -> Result<Self, CheckerError>
    where
        F: FnMut(&ServerConfig) -> Result<Probes, ProbeError>,
    {
        let mut c = Self::new_with(servers, opts, make)?;
        c.run();
        Ok(c)
    }

    /// Spawns the check tasks prepared by [`Checker::new`] (once; later
    /// calls do nothing). Must be called within a tokio runtime.
    pub fn run(&mut self) {
        for f in self.pending.drain(..) {
            self.tasks.push(tokio::spawn(f));
        }
    }

    /// Prepares the checks of `servers` with the real probes, without
    /// starting them (see [`Checker::run`]).
    pub fn new(servers: Vec<ServerConfig>, opts: CheckerOptions) -> Result<Self, CheckerError> {
        Self::new_with(servers, opts, real_probes)
    }

    /// Prepares the checks with probes made by `make`, without starting them.
    pub fn new_with<F>(
        servers: Vec<ServerConfig>,
        opts: CheckerOptions,
        mut make: F,
    ) -> Result<Self, CheckerError>
    where
        F: FnMut(&ServerConfig) -> Result<Probes, ProbeError>,
    {
        let mut by_name = HashMap::new();
        for (i, s) in servers.iter().enumerate() {
            by_name.insert((s.name.backend.clone(), s.name.server.clone()), i);
        }
        let mut trackers = vec![Vec::new(); servers.len()];
        let mut probes = Vec::new();
        for (i, s) in servers.iter().enumerate() {
            if let Some(t) = &s.track {
                let Some(&j) = by_name.get(&(t.backend.clone(), t.server.clone())) else {
                    return Err(CheckerError::UnknownTrack {
                        backend: s.name.backend.clone(),
                        server: s.name.server.clone(),
                        target: format!("{}/{}", t.backend, t.server),
                    });
                };
                trackers[j].push(i);
            }
            let p = make(s).map_err(|source| CheckerError::Probe {
                backend: s.name.backend.clone(),
                server: s.name.server.clone(),
                source,
            })?;
            probes.push(p);
        }
        let mut slots: Vec<Slot> = Vec::with_capacity(servers.len());
        for (cfg, tr) in servers.into_iter().zip(trackers) {
            let st = ServerState::new(cfg.name.clone(), cfg.check.as_ref(), cfg.agent.as_ref())
                .with_weight(cfg.weight)
                .with_nocheck_rise(cfg.rise);
            slots.push(Slot {
                state: Mutex::new(st),
                usable: AtomicBool::new(false),
                eligible: AtomicBool::new(false),
                up: AtomicBool::new(false),
                weight: AtomicU32::new(cfg.weight),
                check_enabled: AtomicBool::new(true),
                agent_enabled: AtomicBool::new(true),
                pending: AtomicBool::new(false),
                checking: AtomicBool::new(false),
                sessions: std::sync::atomic::AtomicU32::new(0),
                wake: tokio::sync::Notify::new(),
                recheck_ms: std::sync::atomic::AtomicU64::new(0),
                trackers: Mutex::new(tr),
                dynamic: false,
                deleted: AtomicBool::new(false),
                tasks: Mutex::new(Vec::new()),
                cfg,
            });
        }
        // Tracking: a tracker starts as its target (targets come first or not,
        // resolve by repeated passes; configs have no cycles, bounded anyway).
        for _ in 0..slots.len().min(8) {
            for i in 0..slots.len() {
                let Some(t) = slots[i].cfg.track.clone() else {
                    continue;
                };
                let Some(&j) = by_name.get(&(t.backend.clone(), t.server.clone())) else {
                    continue;
                };
                let target_state = lock(&slots[j].state).op_state();
                let mut st = lock(&slots[i].state);
                let fresh = ServerState::new(
                    slots[i].cfg.name.clone(),
                    slots[i].cfg.check.as_ref(),
                    slots[i].cfg.agent.as_ref(),
                )
                .with_weight(slots[i].cfg.weight)
                .with_nocheck_rise(slots[i].cfg.rise)
                .track(t, target_state);
                *st = fresh;
            }
        }
        for s in &slots {
            let mut st = lock(&s.state);
            if s.cfg.disabled {
                st.set_maint(true, 0);
            }
            if s.cfg.unresolved.is_some() {
                st.set_resolution_maint(true, 0);
            }
            s.usable.store(st.usable(), Ordering::Release);
            s.eligible.store(st.eligible(), Ordering::Release);
            s.up.store(st.is_up(), Ordering::Release);
            s.weight.store(st.weight(), Ordering::Release);
            s.pending
                .store(st.awaiting_first_check(), Ordering::Release);
        }
        let (tx, _) = broadcast::channel(4096);
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in slots.iter().enumerate() {
            members
                .entry(s.cfg.name.backend.clone())
                .or_default()
                .push(i);
        }
        let shared = Arc::new(Shared {
            start: Instant::now(),
            slots: slots.into_iter().collect(),
            by_name: RwLock::new(by_name),
            members: RwLock::new(members),
            tx,
            dataplane: std::sync::OnceLock::new(),
            node: opts.node.clone(),
            listen: opts.listen_sections.clone(),
        });

        // First-check spread over all checks (health then agent, per server).
        let mut firsts = Vec::new();
        for ((_, s), (h, a)) in shared.slots.iter().zip(&probes) {
            if h.is_some() {
                if let Some(c) = &s.cfg.check {
                    let st = lock(&s.state);
                    let hh = st
                        .check_health()
                        .copied()
                        .unwrap_or(crate::health::Health::new(c.rise, c.fall, c.init_state));
                    firsts.push(schedule::interval(&c.intervals, &hh, st.op_state()));
                }
            }
            if let (Some(_), Some(ag)) = (a, &s.cfg.agent) {
                firsts.push(ag.inter);
            }
        }
        let delays = schedule::first_check_delays(&firsts, opts.max_spread_checks);
        let mut delay_it = delays.into_iter();
        let mut pending: Vec<BoxFuture<'static, ()>> = Vec::new();
        for (i, (h, a)) in probes.into_iter().enumerate() {
            let seed = (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D)
                ^ shared.start.elapsed().as_nanos() as u64;
            if let Some(h) = h {
                let d = delay_it.next().unwrap_or_default();
                pending.push(Box::pin(health_loop(
                    shared.clone(),
                    i,
                    h,
                    d,
                    opts.spread_checks,
                    Jitter::new(seed),
                )));
            }
            if let Some(a) = a {
                let d = delay_it.next().unwrap_or_default();
                pending.push(Box::pin(agent_loop(
                    shared.clone(),
                    i,
                    a,
                    d,
                    opts.spread_checks,
                    Jitter::new(!seed),
                )));
            }
        }
        Ok(Self {
            shared,
            tasks: Vec::new(),
            pending,
        })
    }

    /// The read side.
    pub fn view(&self) -> HealthView {
        HealthView {
            shared: self.shared.clone(),
        }
    }

    /// Enters or leaves maintenance (management.txt §9.3 `set server ...
    /// state maint|ready`), logging as HAProxy does ("Server be/s is going
    /// DOWN for maintenance. ...", "Server be/s was DOWN and now enters
    /// maintenance.", "Server be/s is UP/READY (leaving forced maintenance).").
    pub fn set_maint(&self, id: ServerId, maint: bool) {
        self.view().set_maint(id, maint);
    }

    /// Sets or clears drain (management.txt §9.3 `set server ... state
    /// drain|ready`), logging "Server be/s enters drain state. ..." and
    /// "Server be/s is UP (leaving forced drain)." as HAProxy does.
    pub fn set_drain(&self, id: ServerId, drain: bool) {
        self.view().set_drain(id, drain);
    }
}

async fn health_loop(
    shared: Arc<Shared>,
    i: usize,
    probe: Arc<dyn HealthProbe>,
    first: Duration,
    spread: u8,
    mut jitter: Jitter,
) {
    let slot = &shared.slots[i];
    let Some(spec) = slot.cfg.check.clone() else {
        return;
    };
    // Building X-Haproxy-Server-State walks the backend: only when needed.
    let send_state = matches!(&spec.probe, crate::spec::ProbeSpec::Http(h) if h.send_state);
    wait(slot, first).await;
    loop {
        let (inter, ctx, paused) = {
            let st = lock(&slot.state);
            let h = st
                .check_health()
                .copied()
                .unwrap_or(crate::health::Health::new(
                    spec.rise,
                    spec.fall,
                    spec.init_state,
                ));
            let inter = schedule::interval(&spec.intervals, &h, st.op_state());
            let ctx = RunContext {
                state_header: send_state.then(|| shared.state_header(i, &st)),
                server_stopped: st.op_state() == OpState::Stopped,
            };
            (
                inter,
                ctx,
                !st.checks_active() || !slot.check_enabled.load(Ordering::Acquire),
            )
        };
        if paused {
            wait(slot, spec.intervals.inter).await;
            continue;
        }
        slot.checking.store(true, Ordering::Relaxed);
        let result = probe.check(inter, &ctx).await;
        slot.checking.store(false, Ordering::Relaxed);
        shared.step(i, |st, now| st.on_result(CheckKind::Health, result, now));
        let next = {
            let st = lock(&slot.state);
            let h = st
                .check_health()
                .copied()
                .unwrap_or(crate::health::Health::new(
                    spec.rise,
                    spec.fall,
                    spec.init_state,
                ));
            schedule::interval(&spec.intervals, &h, st.op_state())
        };
        wait(slot, schedule::spread(next, spread, jitter.unit())).await;
    }
}

/// Sleeps `d` (at most the [`HealthView::set_recheck`] interval), or until
/// [`HealthView::check_now`].
async fn wait(slot: &Slot, d: Duration) {
    let cap = slot.recheck_ms.load(Ordering::Acquire);
    let d = if cap > 0 {
        d.min(Duration::from_millis(cap))
    } else {
        d
    };
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = slot.wake.notified() => {}
    }
}

async fn agent_loop(
    shared: Arc<Shared>,
    i: usize,
    probe: Arc<dyn AgentProbe>,
    first: Duration,
    spread: u8,
    mut jitter: Jitter,
) {
    let slot = &shared.slots[i];
    let Some(spec) = slot.cfg.agent.clone() else {
        return;
    };
    tokio::time::sleep(first).await;
    loop {
        if !slot.agent_enabled.load(Ordering::Acquire) {
            tokio::time::sleep(spec.inter).await;
            continue;
        }
        // The agent's connection stays open until its reply is applied.
        let (outcome, linger) = probe.check_held().await;
        match outcome {
            // HAProxy applies the administrative word, then the weight, then
            // the health word, each as its own state update (and log lines).
            AgentOutcome::Reply(r) => {
                if let Some(maxconn) = r.maxconn {
                    shared.dataplane_maxconn(i, maxconn);
                    shared.emit(CheckEvent::MaxConn {
                        id: ServerId(i),
                        maxconn,
                    });
                }
                shared.step(i, |st, now| st.agent_admin(r.admin, now));
                if let Some(pct) = r.weight_pct {
                    shared.step(i, |st, _| st.set_weight_pct(pct));
                }
                shared.step(i, |st, now| st.agent_health_reply(&r, now));
            }
            AgentOutcome::Failed(r) => {
                shared.step(i, |st, now| st.on_result(CheckKind::Agent, r, now))
            }
        }
        linger.close().await;
        tokio::time::sleep(schedule::spread(spec.inter, spread, jitter.unit())).await;
    }
}
