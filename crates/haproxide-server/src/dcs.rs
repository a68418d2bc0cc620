//! Routing that follows a Patroni cluster's leader key (the haproxide-only
//! `patroni` block, docs/patroni.md "Following the leader key").
//!
//! For every backend with `patroni-role`, each server gets a DCS verdict
//! ([`Verdict`]) next to its health check; the forwarder's questions are answered
//! by both:
//! - usable = the check says UP **and** the DCS does not say otherwise
//!   (`Eligible`, or `Checks` while the DCS is unreachable: plain check semantics);
//! - pending (hold new sessions in the backend queue, bounded by `timeout queue` /
//!   `timeout connect`) = the DCS names the server but its check has not passed yet,
//!   or the leader key is gone (an election is running).
//!
//! On a verdict change the server is checked at once and then every `recheck`
//! until check and DCS agree (or for at most [`RECHECK_FOR`]), as is any server whose
//! check disagrees with the DCS for another reason (a leader whose Patroni restarts); a server leaving
//! rotation has its sessions cut if it has `on-marked-down shutdown-sessions`; a
//! server entering it wakes the backend's queue. Every change is logged with its
//! cause ("DCS"); check transitions keep the checker's own lines.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use haproxide_check::checker::HealthView;
use haproxide_config::parse::{PatroniMatch, PatroniRoleKind};
use haproxide_config::Resolved;
use haproxide_dcs::{
    ClusterSpec, DcsEvent, DcsView, EtcdSpec, Follower, MemberMatch, Role, Verdict,
};
use haproxide_forward::Engine;
use tokio::task::JoinHandle;

use crate::run::EventSink;
use haproxide_log::Level;

/// How long a server is re-checked at the fast cadence after a verdict change
/// when its check never comes to agree (a lagging replica, a dead leader).
pub const RECHECK_FOR: Duration = Duration::from_secs(30);

/// One backend following a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcsBackend {
    /// Index in the engine's backends.
    pub backend: usize,
    pub name: String,
    /// Index in [`DcsPlan::clusters`].
    pub cluster: usize,
    pub role: Role,
    pub matching: MemberMatch,
    /// Check cadence while check and DCS disagree.
    pub recheck: Duration,
    /// `promote-wait`: when set, a new leader's promotion is assumed done after
    /// this long even if neither its REST API nor its member key said so (off by
    /// default: the promotion is observed, see haproxide_dcs::promotion).
    pub promote_wait: Option<Duration>,
    pub servers: Vec<DcsServer>,
}

/// A server of a following backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcsServer {
    /// Index in the backend's servers.
    pub index: usize,
    pub name: String,
    pub addr: SocketAddr,
    /// `on-marked-down shutdown-sessions`: leaving rotation cuts its sessions.
    pub cut_on_down: bool,
}

/// What the runtime follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DcsPlan {
    pub clusters: Vec<ClusterSpec>,
    pub backends: Vec<DcsBackend>,
}

/// The plan from the typed configuration and the engine's backends.
pub fn plan(cfg: &Resolved, engine: &haproxide_forward::EngineSpec) -> DcsPlan {
    let p = &cfg.patroni;
    let mut out = DcsPlan::default();
    for c in &p.clusters {
        let etcd = EtcdSpec {
            endpoints: c.endpoints.iter().map(|e| e.name.clone()).collect(),
            ca_file: c.ca_file.as_ref().map(|f| f.name.clone().into()),
            cert_file: c.crt.as_ref().map(|f| f.name.clone().into()),
            key_file: c.key.as_ref().map(|f| f.name.clone().into()),
            verify: c.verify,
            auth: c
                .user
                .as_ref()
                .map(|u| (u.name.clone(), c.password.clone().unwrap_or_default())),
            timeout: c
                .timeout
                .map_or(Duration::from_secs(2), |t| t.as_duration()),
        };
        let scope = c.scope.as_ref().map(|s| s.name.as_str()).unwrap_or("");
        out.clusters
            .push(ClusterSpec::new(&c.name.name, etcd, &c.namespace, scope));
    }
    for r in &p.roles {
        let Some(ci) = p
            .clusters
            .iter()
            .position(|c| c.name.name == r.cluster.name)
        else {
            continue;
        };
        let Some(bi) = engine.backends.iter().position(|b| b.name == r.proxy) else {
            continue;
        };
        let be = &engine.backends[bi];
        let servers = be
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let port = match s.port {
                    haproxide_forward::ServerPort::Fixed(p) => p,
                    _ => 0,
                };
                DcsServer {
                    index: i,
                    name: s.name.clone(),
                    addr: SocketAddr::new(s.ip, port),
                    cut_on_down: s.shutdown_on_down,
                }
            })
            .collect();
        out.backends.push(DcsBackend {
            backend: bi,
            name: r.proxy.clone(),
            cluster: ci,
            role: match r.role {
                PatroniRoleKind::Leader => Role::Leader,
                PatroniRoleKind::Replica => Role::Replica,
                PatroniRoleKind::SyncStandby => Role::SyncStandby,
            },
            matching: match r.matching {
                PatroniMatch::Name => MemberMatch::Name,
                PatroniMatch::ConnUrl => MemberMatch::ConnUrl,
            },
            recheck: p.clusters[ci]
                .recheck
                .map_or(Duration::from_millis(100), |t| t.as_duration()),
            promote_wait: p.clusters[ci].promote_wait.map(|t| t.as_duration()),
            servers,
        });
    }
    out
}

fn code(v: Verdict) -> u8 {
    match v {
        Verdict::Checks => 0,
        Verdict::Eligible => 1,
        Verdict::Out => 2,
        Verdict::Electing => 3,
        Verdict::Promoting => 4,
    }
}

fn verdict(c: u8) -> Verdict {
    match c {
        1 => Verdict::Eligible,
        2 => Verdict::Out,
        3 => Verdict::Electing,
        4 => Verdict::Promoting,
        _ => Verdict::Checks,
    }
}

/// The word `show dcs` prints for a verdict.
pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Checks => "checks-only",
        Verdict::Eligible => "eligible",
        Verdict::Out => "out",
        Verdict::Electing => "electing",
        Verdict::Promoting => "promoting",
    }
}

/// The verdict of every server of a following backend: one atomic load per question.
#[derive(Default)]
pub struct Gate {
    slots: HashMap<(usize, usize), AtomicU8>,
}

impl Gate {
    pub fn new(plan: &DcsPlan) -> Gate {
        let mut slots = HashMap::new();
        for b in &plan.backends {
            for s in &b.servers {
                slots.insert((b.backend, s.index), AtomicU8::new(code(Verdict::Checks)));
            }
        }
        Gate { slots }
    }

    /// `None`: the server does not follow a DCS.
    pub fn verdict(&self, backend: usize, server: usize) -> Option<Verdict> {
        self.slots
            .get(&(backend, server))
            .map(|a| verdict(a.load(Ordering::Acquire)))
    }

    /// May the server take new sessions as far as the DCS is concerned?
    pub fn allows(&self, backend: usize, server: usize) -> bool {
        !matches!(
            self.verdict(backend, server),
            Some(Verdict::Out | Verdict::Electing | Verdict::Promoting)
        )
    }

    /// Should a session wait for this server (the DCS names it or an election runs)?
    pub fn awaits(&self, backend: usize, server: usize) -> bool {
        matches!(
            self.verdict(backend, server),
            Some(Verdict::Eligible | Verdict::Electing | Verdict::Promoting)
        )
    }

    fn swap(&self, backend: usize, server: usize, v: Verdict) -> Verdict {
        self.slots
            .get(&(backend, server))
            .map_or(Verdict::Checks, |a| {
                verdict(a.swap(code(v), Ordering::AcqRel))
            })
    }
}

/// A snapshot for `show dcs` and the exporter.
#[derive(Debug, Clone)]
pub struct ClusterStatus {
    pub name: String,
    pub view: DcsView,
}

/// The running followers.
pub struct DcsRuntime {
    pub gate: Arc<Gate>,
    followers: Vec<(String, Follower)>,
    tasks: Vec<JoinHandle<()>>,
    plan: DcsPlan,
}

impl Drop for DcsRuntime {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What the verdict tasks act on.
pub struct Actions {
    pub engine: Arc<Engine>,
    pub health: Option<HealthView>,
    pub ids: Arc<crate::ids::IdMap>,
    pub events: Arc<dyn EventSink>,
}

impl DcsRuntime {
    /// Starts one follower per cluster (inside a tokio runtime). Fails only on
    /// unreadable TLS files; an unreachable etcd is retried (checks decide meanwhile).
    pub fn start(
        plan: &DcsPlan,
        gate: Arc<Gate>,
        actions: Arc<Actions>,
    ) -> Result<DcsRuntime, haproxide_dcs::etcd::EtcdError> {
        let mut followers = Vec::new();
        let mut tasks = Vec::new();
        for (ci, spec) in plan.clusters.iter().enumerate() {
            let f = Follower::start(spec.clone())?;
            let backends: Vec<DcsBackend> = plan
                .backends
                .iter()
                .filter(|b| b.cluster == ci)
                .cloned()
                .collect();
            tasks.push(tokio::spawn(follow(
                spec.name.clone(),
                f.view(),
                f.subscribe(),
                backends,
                Arc::clone(&gate),
                Arc::clone(&actions),
            )));
            followers.push((spec.name.clone(), f));
        }
        Ok(DcsRuntime {
            gate,
            followers,
            tasks,
            plan: plan.clone(),
        })
    }

    /// Every cluster's view.
    pub fn status(&self) -> Vec<ClusterStatus> {
        self.followers
            .iter()
            .map(|(n, f)| ClusterStatus {
                name: n.clone(),
                view: f.view().borrow().clone(),
            })
            .collect()
    }

    /// (backend, server, role, verdict) of every following server.
    pub fn servers(&self) -> Vec<(String, String, Role, Verdict)> {
        let mut out = Vec::new();
        for b in &self.plan.backends {
            for s in &b.servers {
                let v = self
                    .gate
                    .verdict(b.backend, s.index)
                    .unwrap_or(Verdict::Checks);
                out.push((b.name.clone(), s.name.clone(), b.role, v));
            }
        }
        out
    }
}

impl DcsRuntime {
    /// What `show dcs` and the exporter print.
    pub fn snapshot(&self) -> crate::cli::dcs::DcsSnapshot {
        use crate::cli::dcs::{DcsClusterSnapshot, DcsServerSnapshot};
        crate::cli::dcs::DcsSnapshot {
            clusters: self
                .status()
                .into_iter()
                .map(|c| DcsClusterSnapshot {
                    name: c.name,
                    endpoint: c.view.endpoint,
                    connected: c.view.connected,
                    revision: c.view.revision,
                    leader: c.view.state.leader,
                    members: c.view.state.members.keys().cloned().collect(),
                    leader_changes: c.view.leader_changes,
                    reconnects: c.view.reconnects,
                    last_error: c.view.last_error,
                })
                .collect(),
            servers: self
                .servers()
                .into_iter()
                .map(|(backend, server, role, v)| DcsServerSnapshot {
                    backend,
                    server,
                    role: role_word(role).into(),
                    verdict: verdict_word(v).into(),
                })
                .collect(),
        }
    }
}

fn role_word(r: Role) -> &'static str {
    match r {
        Role::Leader => "leader",
        Role::Replica => "replica",
        Role::SyncStandby => "sync-standby",
    }
}

/// One cluster: follow its view, set verdicts, act on changes, log.
async fn follow(
    cluster: String,
    mut view: tokio::sync::watch::Receiver<DcsView>,
    mut events: tokio::sync::broadcast::Receiver<DcsEvent>,
    backends: Vec<DcsBackend>,
    gate: Arc<Gate>,
    act: Arc<Actions>,
) {
    // Servers re-checked at the fast cadence, with when that started; and those whose
    // disagreement outlasted RECHECK_FOR (back on their own cadence until they agree).
    let mut fast: HashMap<(usize, usize), tokio::time::Instant> = HashMap::new();
    let mut gave_up = std::collections::HashSet::new();
    // The view last seen, and since when its leader key holds its value.
    let mut last = view.borrow().clone();
    let mut leader_since = (last.state.leader.clone(), tokio::time::Instant::now());
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = view.changed() => {
                if changed.is_err() {
                    break;
                }
                last = view.borrow_and_update().clone();
                if last.state.leader != leader_since.0 {
                    leader_since = (last.state.leader.clone(), tokio::time::Instant::now());
                }
                apply(&last, leader_since.1.elapsed(), &backends, &gate, &act, &mut fast);
            }
            ev = events.recv() => match ev {
                Ok(e) => log_event(&cluster, &e, &act),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
            _ = tick.tick() => {
                // Promotion waits end with time too.
                apply(&last, leader_since.1.elapsed(), &backends, &gate, &act, &mut fast);
                settle(&backends, &gate, &act, &mut fast, &mut gave_up);
            }
        }
    }
}

fn log_event(cluster: &str, e: &DcsEvent, act: &Actions) {
    let text = match e {
        DcsEvent::Connected {
            endpoint,
            revision,
            resumed_from: Some(from),
        } => format!(
            "[DCS] patroni {cluster}: watching {endpoint} again, resumed from revision {from}, now at {revision}; routing on DCS and checks."
        ),
        DcsEvent::Connected {
            endpoint, revision, ..
        } => format!(
            "[DCS] patroni {cluster}: watching {endpoint} from revision {revision}; routing on DCS and checks."
        ),
        DcsEvent::Disconnected { endpoint, error } => format!(
            "[DCS] patroni {cluster}: lost {endpoint} ({error}); routing on health checks alone until it is back."
        ),
        DcsEvent::Unreachable { endpoint, error } => format!(
            "[DCS] patroni {cluster}: cannot follow {endpoint}: {}; routing on health checks alone, retrying.",
            error
                .strip_prefix(endpoint.as_str())
                .and_then(|e| e.strip_prefix(": "))
                .unwrap_or(error)
        ),
        DcsEvent::LeaderChanged { from, to, revision } => format!(
            "[DCS] patroni {cluster}: leader key {} -> {} (revision {revision}).",
            from.as_deref().unwrap_or("(none)"),
            to.as_deref().unwrap_or("(none)")
        ),
        DcsEvent::Promoted {
            member,
            after,
            polls,
        } => format!(
            "[DCS] patroni {cluster}: {member} is promoted: its REST API says primary (out of recovery), {} ms after its leader key ({polls} polls).",
            after.as_millis()
        ),
    };
    let level = if matches!(
        e,
        DcsEvent::Disconnected { .. } | DcsEvent::Unreachable { .. }
    ) {
        Level::Warning
    } else {
        Level::Notice
    };
    act.events.event(level, &text);
}

/// Sets every server's verdict from the view and acts on the changes.
fn apply(
    v: &DcsView,
    leader_for: Duration,
    backends: &[DcsBackend],
    gate: &Gate,
    act: &Actions,
    fast: &mut HashMap<(usize, usize), tokio::time::Instant>,
) {
    for b in backends {
        let mut wake = false;
        for srv in &b.servers {
            let (s, name) = (&srv.index, &srv.name);
            let new = match v.connected {
                // Neither its REST API nor its member key said "primary" yet, but
                // the key is held for longer than `promote-wait` (when set): the
                // check decides from here.
                true => match v.verdict(b.role, b.matching, name, srv.addr) {
                    Verdict::Promoting if b.promote_wait.is_some_and(|w| leader_for >= w) => {
                        Verdict::Eligible
                    }
                    x => x,
                },
                false => Verdict::Checks,
            };
            let old = gate.swap(b.backend, *s, new);
            if old == new {
                continue;
            }
            let id = act.ids.get(&(b.backend, *s)).copied();
            let up = match (&act.health, id) {
                (Some(h), Some(id)) => h.is_up(id),
                _ => true,
            };
            let leader = v.state.leader.as_deref().unwrap_or("(none)");
            let why = if v.connected {
                format!("leader key is {leader}, revision {}", v.revision)
            } else {
                "DCS unreachable, health checks alone".to_string()
            };
            let was_in = !matches!(old, Verdict::Out | Verdict::Electing | Verdict::Promoting);
            let is_in = !matches!(new, Verdict::Out | Verdict::Electing | Verdict::Promoting);
            let text = match (was_in, is_in) {
                (true, false) => {
                    let cut = srv.cut_on_down;
                    let n = if cut {
                        act.engine.shutdown_server_sessions(b.backend, *s)
                    } else {
                        0
                    };
                    format!(
                        "[DCS] Server {}/{name} leaves rotation ({} for role {}): {why}.{}",
                        b.name,
                        verdict_word(new),
                        role_word(b.role),
                        if n > 0 {
                            format!(" {n} sessions cut (on-marked-down shutdown-sessions).")
                        } else {
                            String::new()
                        }
                    )
                }
                (false, true) => {
                    wake = true;
                    format!(
                        "[DCS] Server {}/{name} is back in rotation for role {} ({}): {why}; check is {}.",
                        b.name,
                        role_word(b.role),
                        verdict_word(new),
                        if up { "UP" } else { "DOWN, waiting for it" }
                    )
                }
                _ => {
                    wake |= is_in;
                    format!(
                        "[DCS] Server {}/{name}: {} -> {} for role {}: {why}.",
                        b.name,
                        verdict_word(old),
                        verdict_word(new),
                        role_word(b.role)
                    )
                }
            };
            act.events.proxy_event(&b.name, Level::Notice, &text);
            if let (Some(h), Some(id)) = (&act.health, id) {
                if h.check_enabled(id) && new != Verdict::Checks {
                    h.set_recheck(id, Some(b.recheck));
                    // A server already at the fast cadence is checked within
                    // `recheck` anyway: no check now, so that the proxies that all
                    // saw the same DCS event do not all connect to the new leader's
                    // REST API at the same instant (its listen backlog is 5; a
                    // dropped SYN costs a check 1 s, seen in the e2e suite).
                    if !fast.contains_key(&(b.backend, *s)) {
                        h.check_now(id);
                    }
                    fast.insert((b.backend, *s), tokio::time::Instant::now());
                }
            }
        }
        if wake {
            act.engine.wake_queues(b.backend);
        }
    }
}

/// Keeps servers whose check disagrees with the DCS (named but not UP, or out but
/// UP) at the fast cadence, from the first tick the disagreement is seen, for at most
/// [`RECHECK_FOR`] (then the configured cadence again until they agree once), and ends
/// it once they agree. A verdict change starts it at once (see [`apply`]).
fn settle(
    backends: &[DcsBackend],
    gate: &Gate,
    act: &Actions,
    fast: &mut HashMap<(usize, usize), tokio::time::Instant>,
    gave_up: &mut std::collections::HashSet<(usize, usize)>,
) {
    let Some(h) = &act.health else {
        fast.clear();
        return;
    };
    for b in backends {
        for srv in &b.servers {
            let key = (b.backend, srv.index);
            let Some(&id) = act.ids.get(&key) else {
                continue;
            };
            if !h.check_enabled(id) {
                continue;
            }
            let up = h.is_up(id);
            let agree = match gate.verdict(b.backend, srv.index) {
                // A promoting leader is checked fast too: UP by the time it is eligible.
                Some(Verdict::Eligible | Verdict::Promoting) => up,
                // While a leader is being elected every candidate is checked fast,
                // so that the next leader's check passes without waiting for a
                // check started by the key change (see `apply`).
                Some(Verdict::Electing) => false,
                Some(Verdict::Out) => !up,
                _ => true,
            };
            match (agree, fast.get(&key)) {
                (true, Some(_)) => {
                    h.set_recheck(id, None);
                    fast.remove(&key);
                }
                (true, None) => {
                    gave_up.remove(&key);
                }
                (false, Some(since)) if since.elapsed() >= RECHECK_FOR => {
                    h.set_recheck(id, None);
                    fast.remove(&key);
                    gave_up.insert(key);
                }
                (false, None) if !gave_up.contains(&key) => {
                    h.set_recheck(id, Some(b.recheck));
                    fast.insert(key, tokio::time::Instant::now());
                }
                _ => {}
            }
        }
    }
}
