//! The follower: one task per Patroni cluster that keeps a [`DcsView`] current.
//!
//! It reads the cluster's prefix once (`/v3/kv/range`), then watches it from the
//! next revision on (`/v3/watch`). When the stream breaks or the liveness probe
//! (a `count_only` range every `probe_interval`) fails, the view says
//! "disconnected" (callers fall back to health checks alone), the next endpoint is
//! tried after a backoff (doubling from `backoff_min` to `backoff_max`), and the
//! watch resumes from the revision after the last change applied, so every change
//! made meanwhile is replayed in order, none missed. Only when etcd compacted that
//! revision away is the prefix read again (the end state is then exact; changes in
//! between are reported as one).
//!
//! A second task observes promotions: while the leader key's holder is not known
//! to be promoted (its member key does not say `primary`), it polls that member's
//! REST API every `promotion_poll` ([`crate::promotion`]) and marks the view
//! `promoted` the moment PostgreSQL left recovery.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::etcd::{Client, EtcdError, EtcdSpec};
use crate::patroni::{cluster_prefix, ClusterState};

/// One Patroni cluster to follow (plain data; the config crate fills it in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// The name it is referred to by (the `patroni` section's name).
    pub name: String,
    /// How to reach etcd.
    pub etcd: EtcdSpec,
    /// Patroni's `namespace` (default `/service/`).
    pub namespace: String,
    /// Patroni's `scope` (the cluster name).
    pub scope: String,
    /// First delay before reconnecting; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    /// Longest delay between reconnection attempts.
    pub backoff_max: Duration,
    /// How often the connection is probed while the watch is quiet.
    pub probe_interval: Duration,
    /// How often a new leader's REST API is asked whether its promotion ended.
    pub promotion_poll: Duration,
}

impl ClusterSpec {
    /// A spec with the defaults (backoff 100 ms .. 2 s, probe every 1 s, promotion
    /// polled every 50 ms).
    pub fn new(name: &str, etcd: EtcdSpec, namespace: &str, scope: &str) -> Self {
        Self {
            name: name.to_string(),
            etcd,
            namespace: namespace.to_string(),
            scope: scope.to_string(),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            probe_interval: Duration::from_secs(1),
            promotion_poll: Duration::from_millis(50),
        }
    }

    /// The key prefix followed.
    pub fn prefix(&self) -> String {
        cluster_prefix(&self.namespace, &self.scope)
    }
}

/// The follower's current knowledge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DcsView {
    /// The endpoint in use (or last tried).
    pub endpoint: String,
    /// The watch is established and the probe answers.
    pub connected: bool,
    /// The revision of the last change applied (or of the first read).
    pub revision: i64,
    /// What the keys say (kept while disconnected, for display only).
    pub state: ClusterState,
    /// Leader changes seen since the start.
    pub leader_changes: u64,
    /// Reconnections since the start.
    pub reconnects: u64,
    /// Why the last connection ended.
    pub last_error: Option<String>,
    /// The leader key's holder whose REST API said PostgreSQL left recovery since
    /// it took the key (cleared at every leader change).
    pub promoted: Option<String>,
}

impl DcsView {
    /// What the view says about a server for `role`: the keys'
    /// [`ClusterState::verdict`], where a leader still [`Verdict::Promoting`] by
    /// its member key is [`Verdict::Eligible`] once its REST API said it is promoted.
    pub fn verdict(
        &self,
        role: crate::Role,
        how: crate::MemberMatch,
        name: &str,
        addr: std::net::SocketAddr,
    ) -> crate::Verdict {
        match self.state.verdict(role, how, name, addr) {
            crate::Verdict::Promoting
                if self.promoted.is_some() && self.promoted == self.state.leader =>
            {
                crate::Verdict::Eligible
            }
            v => v,
        }
    }
}

/// Something the follower noticed (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcsEvent {
    /// Connected (first time or again); `resumed_from` is the revision the watch
    /// resumed from when it did (None: the prefix was read anew).
    Connected {
        /// The endpoint.
        endpoint: String,
        /// The revision of the view.
        revision: i64,
        /// The watch's start revision when it resumed.
        resumed_from: Option<i64>,
    },
    /// A connection attempt failed before the watch was established (the first
    /// failure and every change of reason are reported; retried with backoff).
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// Why (TLS, authentication, connection...).
        error: String,
    },
    /// The connection broke; routing falls back to checks.
    Disconnected {
        /// The endpoint.
        endpoint: String,
        /// Why.
        error: String,
    },
    /// The leader key changed (None: deleted or expired).
    LeaderChanged {
        /// Before.
        from: Option<String>,
        /// After.
        to: Option<String>,
        /// The revision of the change.
        revision: i64,
    },
    /// The leader's REST API said PostgreSQL left recovery.
    Promoted {
        /// The member.
        member: String,
        /// Since the follower saw it take the key.
        after: Duration,
        /// REST API polls it took.
        polls: u32,
    },
}

/// A running follower; dropping it stops the task.
pub struct Follower {
    view: watch::Receiver<DcsView>,
    events: broadcast::Sender<DcsEvent>,
    /// Subscribed before the tasks started: the first [`Follower::subscribe`] gets
    /// it, so the first subscriber misses no event (a refusal at the first attempt).
    first: std::sync::Mutex<Option<broadcast::Receiver<DcsEvent>>>,
    task: JoinHandle<()>,
    observer: JoinHandle<()>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
        self.observer.abort();
    }
}

impl Follower {
    /// Starts following (inside a tokio runtime). Fails only when the TLS
    /// material cannot be read; an unreachable etcd is retried forever.
    pub fn start(spec: ClusterSpec) -> Result<Self, EtcdError> {
        let client = Client::new(spec.etcd.clone())?;
        let rest = crate::etcd::build(&spec.etcd, Some(spec.etcd.timeout))?;
        let (tx, view) = watch::channel(DcsView {
            endpoint: client.endpoint().to_string(),
            ..DcsView::default()
        });
        let tx = Arc::new(tx);
        let (events, first) = broadcast::channel(256);
        let observer = tokio::spawn(observe_promotions(
            rest,
            spec.promotion_poll,
            Arc::clone(&tx),
            events.clone(),
        ));
        let task = tokio::spawn(run(spec, client, tx, events.clone()));
        Ok(Self {
            view,
            events,
            first: std::sync::Mutex::new(Some(first)),
            task,
            observer,
        })
    }

    /// The current view, and notifications of its changes.
    pub fn view(&self) -> watch::Receiver<DcsView> {
        self.view.clone()
    }

    /// Events from now on; the first call gets every event since the start.
    pub fn subscribe(&self) -> broadcast::Receiver<DcsEvent> {
        self.first
            .lock()
            .ok()
            .and_then(|mut f| f.take())
            .unwrap_or_else(|| self.events.subscribe())
    }
}

async fn run(
    spec: ClusterSpec,
    mut client: Client,
    tx: Arc<watch::Sender<DcsView>>,
    events: broadcast::Sender<DcsEvent>,
) {
    let prefix = spec.prefix();
    let mut backoff = spec.backoff_min;
    // The last failure reported while not connected (reported once per reason).
    let mut reported: Option<String> = None;
    loop {
        let reached = session(&spec, &prefix, &mut client, &tx, &events).await;
        let err = reached.1;
        let was = tx.borrow().connected;
        tx.send_modify(|v| {
            v.connected = false;
            v.last_error = Some(err.clone());
        });
        if was {
            let _ = events.send(DcsEvent::Disconnected {
                endpoint: client.endpoint().to_string(),
                error: err.clone(),
            });
            reported = None;
        } else if !reached.0 && reported.as_ref() != Some(&err) {
            let _ = events.send(DcsEvent::Unreachable {
                endpoint: client.endpoint().to_string(),
                error: err.clone(),
            });
            reported = Some(err.clone());
        }
        tracing::debug!(cluster = %spec.name, "etcd: {err}");
        if reached.0 {
            backoff = spec.backoff_min;
        }
        client.next_endpoint();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(spec.backoff_max);
        let ep = client.endpoint().to_string();
        tx.send_modify(|v| {
            v.endpoint = ep;
            v.reconnects += 1;
        });
    }
}

/// Applies changes to the view, announcing leader changes. Returns the new view.
fn apply_changes(
    tx: &watch::Sender<DcsView>,
    events: &broadcast::Sender<DcsEvent>,
    prefix: &str,
    changes: &[crate::etcd::Change],
) {
    tx.send_modify(|v| {
        for c in changes {
            let before = v.state.leader.clone();
            v.state.apply(prefix, c);
            v.revision = v.revision.max(c.revision());
            if v.state.leader != before {
                v.leader_changes += 1;
                v.promoted = None;
                let _ = events.send(DcsEvent::LeaderChanged {
                    from: before,
                    to: v.state.leader.clone(),
                    revision: c.revision(),
                });
            }
        }
    });
}

/// Replaces the state by one read at `revision`, announcing a leader change.
fn adopt(
    tx: &watch::Sender<DcsView>,
    events: &broadcast::Sender<DcsEvent>,
    state: &ClusterState,
    revision: i64,
) {
    tx.send_modify(|v| {
        if v.state.leader != state.leader {
            v.promoted = None;
        }
        if v.state.leader != state.leader && v.revision > 0 {
            v.leader_changes += 1;
            let _ = events.send(DcsEvent::LeaderChanged {
                from: v.state.leader.clone(),
                to: state.leader.clone(),
                revision,
            });
        }
        v.state = state.clone();
        v.revision = v.revision.max(revision);
    });
}

/// One connection: returns whether it got connected, and why it ended.
///
/// The prefix is read first (the state at revision R). At the start the view
/// takes it and the watch begins at R + 1. On a reconnection the watch resumes
/// from the revision after the last change applied, so the changes made while
/// disconnected are replayed in order (each leader change announced), and the
/// view counts as connected once the replay reached the state read at R (or,
/// bounded by the request timeout, takes that state). A compacted revision
/// means reading anew: the view takes the state at R.
async fn session(
    spec: &ClusterSpec,
    prefix: &str,
    client: &mut Client,
    tx: &watch::Sender<DcsView>,
    events: &broadcast::Sender<DcsEvent>,
) -> (bool, String) {
    let endpoint = client.endpoint().to_string();
    let range = match client.range_prefix(prefix).await {
        Ok(r) => r,
        Err(e) => return (false, e.to_string()),
    };
    let target = ClusterState::from_kvs(prefix, &range.kvs);
    let known = tx.borrow().revision;
    let mut resumed_from = (known > 0).then_some(known + 1);
    if resumed_from.is_none() {
        adopt(tx, events, &target, range.revision);
    }
    // The replay is complete once every key read at R is at its read revision
    // and the state equals what was read.
    let reached = range
        .kvs
        .iter()
        .map(|kv| kv.mod_revision)
        .max()
        .unwrap_or(0);
    let w = 'watch: loop {
        let from = resumed_from.unwrap_or(range.revision + 1);
        let mut w = match client.watch_prefix(prefix, from).await {
            Ok(w) => w,
            Err(e) => return (false, e.to_string()),
        };
        // The creation answer, then the replay (etcd may report a compacted
        // revision in either); bounded by the request timeout.
        let deadline = tokio::time::Instant::now() + spec.etcd.timeout;
        let mut created = false;
        loop {
            let caught_up = {
                let v = tx.borrow();
                v.state == target && v.revision >= reached
            };
            if created && caught_up {
                break 'watch w;
            }
            match tokio::time::timeout_at(deadline, w.next()).await {
                Err(_) if created => {
                    adopt(tx, events, &target, range.revision);
                    break 'watch w;
                }
                Err(_) => return (false, "watch: no creation answer in time".into()),
                Ok(Ok(Some(batch))) => {
                    created = true;
                    apply_changes(tx, events, prefix, &batch.changes);
                }
                Ok(Ok(None)) => return (false, "watch closed at creation".into()),
                Ok(Err(EtcdError::Compacted { .. })) if resumed_from.is_some() => {
                    resumed_from = None;
                    adopt(tx, events, &target, range.revision);
                    continue 'watch;
                }
                Ok(Err(e)) => return (false, e.to_string()),
            }
        }
    };
    let mut w = w;
    let revision = tx.borrow().revision;
    tx.send_modify(|v| {
        v.connected = true;
        v.endpoint = endpoint.clone();
        v.last_error = None;
    });
    let _ = events.send(DcsEvent::Connected {
        endpoint: endpoint.clone(),
        revision,
        resumed_from,
    });
    let mut prober = client.clone();
    let probe_key = format!("{prefix}leader");
    let mut tick = tokio::time::interval(spec.probe_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            msg = w.next() => match msg {
                Ok(Some(batch)) => apply_changes(tx, events, prefix, &batch.changes),
                Ok(None) => return (true, "watch stream closed by etcd".into()),
                Err(e) => return (true, e.to_string()),
            },
            _ = tick.tick() => {
                match tokio::time::timeout(spec.etcd.timeout, prober.revision(&probe_key)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return (true, format!("probe: {e}")),
                    Err(_) => return (true, "probe: no answer in time".into()),
                }
            }
        }
    }
}

/// The member to observe: the leader key's holder, while its member key does not
/// say it is promoted and its REST API has not said so either, with its `api_url`.
fn awaiting_promotion(v: &DcsView) -> Option<(String, String)> {
    let leader = v.state.leader.as_ref()?;
    if !v.connected || v.promoted.as_ref() == Some(leader) || !v.state.promoting(leader) {
        return None;
    }
    let url = v.state.members.get(leader)?.api_url.clone()?;
    Some((leader.clone(), url))
}

/// Polls the REST API of each new leader being promoted (see the module doc).
async fn observe_promotions(
    http: reqwest::Client,
    every: Duration,
    tx: Arc<watch::Sender<DcsView>>,
    events: broadcast::Sender<DcsEvent>,
) {
    let mut rx = tx.subscribe();
    // The leader being observed and since when (its key seen by this task).
    let mut since: Option<(String, tokio::time::Instant, u32)> = None;
    loop {
        let target = awaiting_promotion(&rx.borrow_and_update());
        let Some((leader, url)) = target else {
            if rx.changed().await.is_err() {
                return;
            }
            continue;
        };
        if since.as_ref().map(|s| &s.0) != Some(&leader) {
            since = Some((leader.clone(), tokio::time::Instant::now(), 0));
            // The first poll one interval after the key: a promotion takes longer
            // than that, and every proxy sees the key at the same instant.
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
                _ = tokio::time::sleep(every) => {}
            }
        }
        // Poll until promoted; a change of the view (another leader, a member key
        // saying primary) re-evaluates at once.
        let polls = loop {
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break None;
                }
                r = crate::promotion::poll_once(&http, &url) => {
                    if let Some(s) = since.as_mut() {
                        s.2 += 1;
                    }
                    match r {
                        Ok(true) => break since.as_ref().map(|s| s.2),
                        Err(crate::promotion::PollError::Scheme) => {
                            if rx.changed().await.is_err() {
                                return;
                            }
                            break None;
                        }
                        _ => tokio::time::sleep(every).await,
                    }
                }
            }
        };
        let Some(polls) = polls else { continue };
        let mut marked = false;
        tx.send_modify(|v| {
            if v.state.leader.as_ref() == Some(&leader) {
                v.promoted = Some(leader.clone());
                marked = true;
            }
        });
        if marked {
            let after = since.as_ref().map_or(Duration::ZERO, |s| s.1.elapsed());
            let _ = events.send(DcsEvent::Promoted {
                member: leader,
                after,
                polls,
            });
        }
    }
}

/// Waits until `view` satisfies `f` or `timeout` passes (tests, tools).
pub async fn wait_view(
    view: &mut watch::Receiver<DcsView>,
    timeout: Duration,
    f: impl FnMut(&DcsView) -> bool,
) -> Option<DcsView> {
    tokio::time::timeout(timeout, view.wait_for(f))
        .await
        .ok()
        .and_then(|r| r.ok().map(|v| v.clone()))
}
