//! Backend runtime: server choice (configuration.txt §4.2 `balance`, `hash-type`),
//! server slots with `maxconn`/`minconn`/`fullconn`, the per-server and per-backend
//! queues (`maxqueue`, `timeout queue`), and the per-server session registry used by
//! `shutdown_server_sessions`.
//!
//! All of a backend's mutable state sits behind one short-held mutex; nothing awaits
//! while holding it.
//!
//! The server list grows at run time (`add server`, management.txt §9.3): it is a
//! [`Slots`] table (append-only, read without a lock, indexes stable for the
//! process's life), and `del server` leaves a tombstone ([`SrvEntry::deleted`]) that
//! no choice, queue or iteration picks again. The per-server counters in the mutex
//! grow in the same critical section as the table, so an index read from the table
//! is always valid under the lock.

#[path = "stick.rs"]
pub(crate) mod stick;

use crate::CutReason;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::{oneshot, Notify};

use crate::spec::{BackendSpec, Balance, HashType, ServerSpec};
use crate::ServerHealth;
use haproxide_slots::Slots;

/// A session's kill switch (admin `shutdown sessions`, `on-marked-down
/// shutdown-sessions`, hard stop).
///
/// Waited on by one task only, the session's, and polled with every wake-up of it: so
/// no `Notify` (whose waiting future takes its mutex at every poll) but a flag and the
/// session's waker, which is stored once and taken by [`Kill::kill`].
pub(crate) struct Kill {
    killed: AtomicU8,
    waker: Mutex<Option<Waker>>,
    /// The session's frontend, client and start (for `show sess`).
    pub(crate) origin: (usize, Option<std::net::SocketAddr>, std::time::Instant),
    /// The address the client connected to, and when (`show sess <id>`).
    pub(crate) dst: Option<std::net::SocketAddr>,
    pub(crate) accepted: std::time::SystemTime,
    /// The backend it was switched to, [`NO_BACKEND`] before (`show sess`).
    backend: AtomicUsize,
}

/// [`Kill::backend`] of a session not switched to a backend yet.
const NO_BACKEND: usize = usize::MAX;

impl Kill {
    /// A session's kill switch, remembering where it comes from.
    pub(crate) fn for_session(
        fe: usize,
        src: Option<std::net::SocketAddr>,
        dst: Option<std::net::SocketAddr>,
        accepted: std::time::SystemTime,
        started: std::time::Instant,
    ) -> Kill {
        Kill {
            killed: AtomicU8::new(0),
            waker: Mutex::new(None),
            origin: (fe, src, started),
            dst,
            accepted,
            backend: AtomicUsize::new(NO_BACKEND),
        }
    }

    /// Records the backend the session was switched to.
    pub(crate) fn set_backend(&self, backend: usize) {
        self.backend.store(backend, Ordering::Relaxed);
    }

    /// The backend the session was switched to, if any yet.
    pub(crate) fn backend(&self) -> Option<usize> {
        let b = self.backend.load(Ordering::Relaxed);
        (b != NO_BACKEND).then_some(b)
    }

    /// Kill for `why` (the first letter of the session's termination state,
    /// configuration.txt §8.5). The first reason wins.
    pub(crate) fn kill(&self, why: CutReason) {
        let _ = self
            .killed
            .compare_exchange(0, why.letter(), Ordering::SeqCst, Ordering::SeqCst);
        let waker = lock(&self.waker).take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(crate) fn reason(&self) -> u8 {
        self.killed.load(Ordering::SeqCst)
    }

    /// Resolves once killed, with the reason letter.
    pub(crate) fn wait(&self) -> Killed<'_> {
        Killed {
            kill: self,
            known: None,
        }
    }
}

/// The future of [`Kill::wait`]. It remembers the waker it stored, so that the polls
/// of the same task cost one atomic load.
pub(crate) struct Killed<'a> {
    kill: &'a Kill,
    known: Option<Waker>,
}

impl std::future::Future for Killed<'_> {
    type Output = u8;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        let r = self.kill.reason();
        if r != 0 {
            return Poll::Ready(r);
        }
        if !self.known.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *lock(&self.kill.waker) = Some(cx.waker().clone());
            self.known = Some(cx.waker().clone());
            // A kill between the first check and the store found no waker.
            let r = self.kill.reason();
            if r != 0 {
                return Poll::Ready(r);
            }
        }
        Poll::Pending
    }
}

/// A one-shot, many-waiter signal: the engine's hard stop and soft stop, awaited by
/// accept loops and services (sessions watch their own [`Kill`]).
#[derive(Default)]
pub(crate) struct Signal {
    raised: AtomicU8,
    notify: Notify,
}

impl Signal {
    pub(crate) fn raise(&self) {
        self.raised.store(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst) != 0
    }

    /// Resolves once raised.
    pub(crate) async fn wait(&self) {
        loop {
            let n = self.notify.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.is_raised() {
                return;
            }
            n.await;
        }
    }
}

struct Waiter {
    id: u64,
    tx: oneshot::Sender<usize>,
}

#[derive(Default)]
struct SrvState {
    /// Sessions assigned to the server (connecting or established): HAProxy's `served`.
    cur: usize,
    /// Most sessions at once (`smax`).
    max: usize,
    total: u64,
    /// Sessions assigned per second (`rate`, `rate_max`).
    rate: crate::meter::FreqCtr,
    queue: VecDeque<Waiter>,
    /// Sessions taken out of `queue` so far (for the log's queue positions).
    dequeued: u64,
    sessions: rustc_hash::FxHashMap<u64, Arc<Kill>>,
    /// Smooth weighted round-robin score.
    rr_score: i64,
}

/// A hash map (slot -> server) or ring (sorted points -> server).
type HashTable = Vec<(u32, usize)>;

#[derive(Default)]
struct BeState {
    srv: Vec<SrvState>,
    /// Sessions waiting for any server (all were full).
    queue: VecDeque<Waiter>,
    dequeued: u64,
    next_waiter: u64,
    /// leastconn: where the round-robin among equals resumes.
    lc_next: usize,
    rng: u64,
    /// source hashing: candidate set and the map or ring built for it.
    hash_cache: Option<(Vec<usize>, HashTable)>,
}

/// One server of a backend at run time: configured or added by `add server`.
pub(crate) struct SrvEntry {
    pub(crate) spec: ServerSpec,
    /// `maxconn` (0 = none), changed by `set maxconn server`.
    maxconn: AtomicUsize,
    /// Removed by `del server`: never chosen again; the index is not reused.
    deleted: std::sync::atomic::AtomicBool,
}

impl SrvEntry {
    fn new(spec: ServerSpec) -> SrvEntry {
        SrvEntry {
            maxconn: AtomicUsize::new(spec.maxconn),
            spec,
            deleted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }
}

/// Why `del server` was refused by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelServerError {
    /// No such server (or deleted already).
    NoServer,
    /// Sessions are on it or waiting in its queue.
    Busy,
}

/// A backend at run time.
pub(crate) struct BackendRt {
    pub(crate) spec: BackendSpec,
    pub(crate) idx: usize,
    health: Arc<dyn ServerHealth>,
    st: Mutex<BeState>,
    /// `beconn` (sessions that chose this backend) and its total.
    pub(crate) cur: AtomicU64,
    pub(crate) total: AtomicU64,
    /// Most sessions at once (`smax`).
    pub(crate) max: AtomicU64,
    /// Sessions per second that chose this backend (`rate`, `rate_max`).
    pub(crate) sess_rate: crate::meter::Rate,
    /// The servers: the configured ones, then those `add server` appended.
    servers: Slots<SrvEntry>,
}

/// The outcome of a server choice.
pub(crate) enum Assign {
    Server(SrvSlot),
    Queued(QueueTicket),
    /// No usable server (HAProxy's `SRV_STATUS_NOSRV`).
    NoServer,
    /// The chosen server's queue is full (`maxqueue`).
    QueueFull,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the counters half-updated in a way
    // worse than losing the session; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// [`BackendRt::assign`]'s candidate and free-server lists, reused.
    static PICK: std::cell::RefCell<(Vec<usize>, Vec<usize>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

impl BackendRt {
    pub(crate) fn new(idx: usize, spec: BackendSpec, health: Arc<dyn ServerHealth>) -> BackendRt {
        let seed = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(idx);
            h.finish() | 1
        };
        let st = BeState {
            srv: (0..spec.servers.len())
                .map(|_| SrvState::default())
                .collect(),
            rng: seed,
            ..BeState::default()
        };
        BackendRt {
            servers: spec.servers.iter().cloned().map(SrvEntry::new).collect(),
            spec,
            idx,
            health,
            st: Mutex::new(st),
            cur: AtomicU64::new(0),
            max: AtomicU64::new(0),
            sess_rate: crate::meter::Rate::default(),
            total: AtomicU64::new(0),
        }
    }

    /// Server `s` (None past the end).
    #[inline]
    pub(crate) fn server(&self, s: usize) -> Option<&ServerSpec> {
        self.servers.get(s).map(|e| &e.spec)
    }

    /// How many server indexes exist (deleted ones included).
    #[inline]
    pub(crate) fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// Whether `del server` removed server `s` (or it never existed).
    pub(crate) fn server_deleted(&self, s: usize) -> bool {
        self.servers.get(s).is_none_or(SrvEntry::is_deleted)
    }

    /// `add server`: appends a server (in maintenance or not, as `health` says);
    /// returns its index. The caller has checked the name is free.
    pub(crate) fn add_server(&self, spec: ServerSpec) -> usize {
        let mut st = lock(&self.st);
        st.srv.push(SrvState::default());
        st.hash_cache = None;
        self.servers.push(SrvEntry::new(spec))
    }

    /// `del server`: refused while sessions hold or wait for the server.
    pub(crate) fn delete_server(&self, s: usize) -> Result<(), DelServerError> {
        let mut st = lock(&self.st);
        let entry = self.servers.get(s).ok_or(DelServerError::NoServer)?;
        let Some(state) = st.srv.get(s) else {
            return Err(DelServerError::NoServer);
        };
        if entry.is_deleted() {
            return Err(DelServerError::NoServer);
        }
        if state.cur > 0 || !state.sessions.is_empty() || !state.queue.is_empty() {
            return Err(DelServerError::Busy);
        }
        entry.deleted.store(true, Ordering::Release);
        st.hash_cache = None;
        Ok(())
    }

    /// Health's view of one server.
    pub(crate) fn server_usable(&self, s: usize) -> bool {
        self.health.usable(self.idx, s)
    }

    /// The current weight: the configured one, or what health reports (agent-check,
    /// `set weight`). A weight of 0 makes the server unusable for new sessions.
    fn current_weight(&self, s: usize) -> u32 {
        self.health
            .weight(self.idx, s)
            .unwrap_or_else(|| self.server(s).map_or(0, |x| x.weight))
    }

    /// The weight the algorithm uses: static ones (`static-rr`, hashing) keep the
    /// configured weight (§4.2 `balance`: "changing a server's weight on the fly will
    /// have no effect"); dynamic ones follow [`ServerHealth::weight`].
    fn w(&self, s: usize) -> u32 {
        match self.spec.balance {
            Balance::StaticRr => self.server(s).map_or(0, |x| x.weight),
            b if b.is_hash() => self.server(s).map_or(0, |x| x.weight),
            _ => self.current_weight(s),
        }
    }

    fn usable(&self, s: usize) -> bool {
        let Some(e) = self.servers.get(s) else {
            return false;
        };
        let sp = &e.spec;
        !e.is_deleted()
            && sp.weight > 0
            && !sp.disabled
            && self.current_weight(s) > 0
            && self.health.usable(self.idx, s)
    }

    /// [`Self::eligible`] for the SPOE client's choice of an agent server.
    pub(crate) fn eligible_servers(&self) -> Vec<usize> {
        self.eligible()
    }

    /// Servers that may take traffic now: usable active ones; if none, the first
    /// usable backup, or all usable backups with `option allbackups` (§4.2
    /// `option allbackups`, §5.2 `backup`). Weight 0 servers are never chosen.
    fn eligible(&self) -> Vec<usize> {
        let mut v = Vec::new();
        self.eligible_into(&mut v);
        v
    }

    /// [`Self::eligible`] into `out` (cleared first).
    fn eligible_into(&self, out: &mut Vec<usize>) {
        let servers = &self.servers;
        let backup = |s: usize| servers.get(s).is_some_and(|e| e.spec.backup);
        out.clear();
        out.extend((0..servers.len()).filter(|&s| !backup(s) && self.usable(s)));
        if !out.is_empty() {
            return;
        }
        let mut bck = (0..servers.len()).filter(|&s| backup(s) && self.usable(s));
        if self.spec.all_backups {
            out.extend(bck);
        } else {
            out.extend(bck.next());
        }
    }

    /// Whether a server not in maintenance (weight above 0) still awaits its first
    /// health check result ([`ServerHealth::pending`]).
    fn awaiting_first_check(&self) -> bool {
        self.servers.iter().any(|(s, e)| {
            !e.is_deleted()
                && e.spec.weight > 0
                && !e.spec.disabled
                && self.health.pending(self.idx, s)
        })
    }

    /// Usable servers for `nbsrv` (HAProxy's `be_usable_srv`): the active
    /// ones, else the backup ones — only the first counts without `option
    /// allbackups` (measured: 2 usable backups, `nbsrv` 1).
    pub(crate) fn nbsrv(&self) -> usize {
        match self.active_usable() {
            0 => {
                let bck = self
                    .servers
                    .iter()
                    .filter(|&(s, e)| e.spec.backup && self.usable(s))
                    .count();
                if self.spec.all_backups {
                    bck
                } else {
                    bck.min(1)
                }
            }
            n => n,
        }
    }

    /// Active usable servers count (HAProxy's `srv_act`).
    pub(crate) fn active_usable(&self) -> usize {
        self.servers
            .iter()
            .filter(|&(s, e)| !e.spec.backup && self.usable(s))
            .count()
    }

    /// The server's effective maxconn (0 = unlimited): with `minconn` and `fullconn`,
    /// `max(minconn, beconn * maxconn / fullconn)` (§5.2 `minconn`, §4.2 `fullconn`).
    fn max_conn(&self, s: usize) -> usize {
        let Some(e) = self.servers.get(s) else {
            return 0;
        };
        let sp = &e.spec;
        let maxconn = e.maxconn.load(Ordering::Relaxed);
        if maxconn == 0 {
            return 0;
        }
        if sp.minconn == 0 || sp.minconn >= maxconn {
            return maxconn;
        }
        let full = self.spec.fullconn.unwrap_or(0);
        let be = self.cur.load(Ordering::Relaxed) as usize;
        if full == 0 || be >= full {
            return maxconn;
        }
        (be * maxconn / full).max(sp.minconn).max(1)
    }

    /// `set maxconn server` (0 = unlimited); queued sessions get the new slots.
    pub(crate) fn set_server_maxconn(&self, s: usize, maxconn: usize) {
        if let Some(e) = self.servers.get(s) {
            e.maxconn.store(maxconn, Ordering::Relaxed);
            self.kick_queues();
        }
    }

    /// A server's current `maxconn` (0 = none).
    pub(crate) fn server_maxconn(&self, s: usize) -> usize {
        self.servers
            .get(s)
            .map_or(0, |e| e.maxconn.load(Ordering::Relaxed))
    }

    /// A server's `smax`.
    pub(crate) fn server_max(&self, s: usize) -> u64 {
        lock(&self.st).srv.get(s).map_or(0, |x| x.max as u64)
    }

    /// `clear counters`: max values restart from the current ones.
    pub(crate) fn clear_max(&self) {
        self.max
            .store(self.cur.load(Ordering::Relaxed), Ordering::Relaxed);
        self.sess_rate.clear_max();
        let mut st = lock(&self.st);
        for s in &mut st.srv {
            s.max = s.cur;
            s.rate.clear_max();
        }
    }

    /// `clear counters all`: server totals back to 0.
    pub(crate) fn clear_totals(&self) {
        self.total.store(0, Ordering::Relaxed);
        let mut st = lock(&self.st);
        for s in &mut st.srv {
            s.total = 0;
        }
    }

    /// (session id, server) of the sessions on this backend's servers.
    pub(crate) fn sessions(&self) -> Vec<(u64, usize)> {
        let st = lock(&self.st);
        st.srv
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.sessions.keys().map(move |id| (*id, i)))
            .collect()
    }

    fn has_slot(&self, st: &BeState, s: usize) -> bool {
        let m = self.max_conn(s);
        m == 0 || st.srv[s].cur < m
    }

    /// Choose a server, or queue (§4.2 `balance`, `timeout queue`, §5.2 `maxqueue`).
    /// `avoid` is the server that just failed (avoided when another one is possible).
    pub(crate) fn assign(
        self: &Arc<Self>,
        client_ip: Option<IpAddr>,
        key_hash: Option<u32>,
        avoid: Option<usize>,
        sid: u64,
        kill: &Arc<Kill>,
    ) -> Assign {
        // The candidate lists live in this thread's scratch (no allocation per
        // request); a reentrant call gets fresh ones.
        PICK.with(|c| match c.try_borrow_mut() {
            Ok(mut p) => {
                let (cands, free) = &mut *p;
                self.assign_in(cands, free, client_ip, key_hash, avoid, sid, kill)
            }
            Err(_) => self.assign_in(
                &mut Vec::new(),
                &mut Vec::new(),
                client_ip,
                key_hash,
                avoid,
                sid,
                kill,
            ),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn assign_in(
        self: &Arc<Self>,
        cands: &mut Vec<usize>,
        free: &mut Vec<usize>,
        client_ip: Option<IpAddr>,
        key_hash: Option<u32>,
        avoid: Option<usize>,
        sid: u64,
        kill: &Arc<Kill>,
    ) -> Assign {
        self.eligible_into(cands);
        let cands = &*cands;
        if cands.is_empty() {
            if self.awaiting_first_check() {
                // Hold it until a first check brings a server UP (`wake_queues`) or
                // the queue timeout: see [`ServerHealth::pending`].
                let mut st = lock(&self.st);
                return Assign::Queued(self.enqueue(&mut st, None));
            }
            return Assign::NoServer;
        }
        let mut st = lock(&self.st);
        // Without an IP source (UNIX socket client) `source` falls back to round
        // robin; so does a request without the key of `uri`/`url_param`/`hdr`.
        let hash = match (self.spec.balance, client_ip) {
            (Balance::Source, Some(ip)) => Some(source_hash(ip)),
            (Balance::Source, None) => None,
            _ => key_hash,
        };
        if let Some(h) = hash.filter(|_| self.spec.balance.is_hash()) {
            let s = self.hash_pick(&mut st, cands, h, avoid);
            return self.onto(&mut st, s, sid, kill);
        }
        if !st.queue.is_empty() {
            // Others are already waiting because every server was full: FIFO. If a
            // slot opened meanwhile without a release (server back up), hand it out now.
            let ticket = self.enqueue(&mut st, None);
            for &c in cands {
                self.dispatch(&mut st, c, Some(cands));
            }
            return Assign::Queued(ticket);
        }
        free.clear();
        free.extend(
            cands
                .iter()
                .copied()
                .filter(|&s| st.srv[s].queue.is_empty() && self.has_slot(&st, s)),
        );
        if free.len() > 1 {
            if let Some(a) = avoid {
                free.retain(|&s| s != a);
            }
        }
        if free.is_empty() {
            return Assign::Queued(self.enqueue(&mut st, None));
        }
        let s = match self.spec.balance {
            Balance::RoundRobin
            | Balance::StaticRr
            | Balance::Source
            | Balance::Uri
            | Balance::UrlParam
            | Balance::Hdr => self.rr_pick(&mut st, free),
            Balance::LeastConn => self.lc_pick(&mut st, free),
            Balance::First => free[0],
            Balance::Random { draws } => self.random_pick(&mut st, free, draws),
        };
        Assign::Server(self.take(&mut st, s, sid, kill))
    }

    /// A session for server `s` (a hash or a persistence cookie chose it): its
    /// slot, else its queue (HAProxy's per-server queue).
    fn onto(self: &Arc<Self>, st: &mut BeState, s: usize, sid: u64, kill: &Arc<Kill>) -> Assign {
        if st.srv[s].queue.is_empty() && self.has_slot(st, s) {
            return Assign::Server(self.take(st, s, sid, kill));
        }
        let mq = self.server(s).map_or(0, |x| x.maxqueue);
        if mq > 0 && st.srv[s].queue.len() >= mq {
            return Assign::QueueFull;
        }
        Assign::Queued(self.enqueue(st, Some(s)))
    }

    /// Assigns server `s` itself (configuration.txt §4.2 `cookie`: the server the
    /// persistence cookie names, even DOWN with `option persist`).
    pub(crate) fn assign_to(self: &Arc<Self>, s: usize, sid: u64, kill: &Arc<Kill>) -> Assign {
        if self.server_deleted(s) {
            return Assign::NoServer;
        }
        let mut st = lock(&self.st);
        self.onto(&mut st, s, sid, kill)
    }

    /// Whether server `s` is running (HAProxy's `cur_state != SRV_ST_STOPPED`):
    /// not deleted, not in maintenance, not DOWN.
    pub(crate) fn server_running(&self, s: usize) -> bool {
        self.servers
            .get(s)
            .is_some_and(|e| !e.is_deleted() && !e.spec.disabled)
            && self.health.usable(self.idx, s)
    }

    fn take(self: &Arc<Self>, st: &mut BeState, s: usize, sid: u64, kill: &Arc<Kill>) -> SrvSlot {
        st.srv[s].cur += 1;
        st.srv[s].max = st.srv[s].max.max(st.srv[s].cur);
        st.srv[s].total += 1;
        st.srv[s].rate.hit(crate::clock::now());
        st.srv[s].sessions.insert(sid, kill.clone());
        SrvSlot {
            be: self.clone(),
            srv: s,
            sid,
        }
    }

    fn enqueue(self: &Arc<Self>, st: &mut BeState, srv: Option<usize>) -> QueueTicket {
        let (tx, rx) = oneshot::channel();
        st.next_waiter += 1;
        let id = st.next_waiter;
        let w = Waiter { id, tx };
        let start = match srv {
            Some(s) => {
                st.srv[s].queue.push_back(w);
                st.srv[s].dequeued
            }
            None => {
                st.queue.push_back(w);
                st.dequeued
            }
        };
        QueueTicket {
            be: self.clone(),
            id,
            srv,
            rx: Some(rx),
            start,
            ahead: 0,
        }
    }

    /// Smooth weighted round robin: every candidate gains its weight, the highest
    /// score wins and pays the total (ties go to the lowest index).
    fn rr_pick(&self, st: &mut BeState, free: &[usize]) -> usize {
        // One candidate: it wins, and gains then pays its own weight (its score
        // is unchanged), so its weight is not read (two health look-ups).
        if let [only] = free {
            return *only;
        }
        let total: i64 = free.iter().map(|&s| self.w(s) as i64).sum();
        let mut best = free[0];
        for &s in free {
            st.srv[s].rr_score += self.w(s) as i64;
            if st.srv[s].rr_score > st.srv[best].rr_score {
                best = s;
            }
        }
        st.srv[best].rr_score -= total;
        best
    }

    /// leastconn: fewest sessions relative to weight; round robin among equals.
    fn lc_pick(&self, st: &mut BeState, free: &[usize]) -> usize {
        let key = |s: usize| (st.srv[s].cur as u128 + 1) * 1_000_000 / self.w(s).max(1) as u128;
        let min = free.iter().map(|&s| key(s)).min().unwrap_or(0);
        let equals: Vec<usize> = free.iter().copied().filter(|&s| key(s) == min).collect();
        let s = equals
            .iter()
            .copied()
            .find(|&s| s >= st.lc_next)
            .unwrap_or(equals[0]);
        st.lc_next = s + 1;
        s
    }

    fn next_rand(st: &mut BeState) -> u64 {
        // xorshift64*
        let mut x = st.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        st.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `random(<draws>)`: draw weighted-random servers, keep the least loaded.
    fn random_pick(&self, st: &mut BeState, free: &[usize], draws: u32) -> usize {
        let total: u64 = free.iter().map(|&s| self.w(s) as u64).sum();
        let mut best: Option<usize> = None;
        for _ in 0..draws.max(1) {
            let mut r = Self::next_rand(st) % total.max(1);
            let mut pick = free[0];
            for &s in free {
                let w = self.w(s) as u64;
                if r < w {
                    pick = s;
                    break;
                }
                r -= w;
            }
            best = Some(match best {
                None => pick,
                Some(b) => {
                    // load(pick)/w(pick) < load(b)/w(b)
                    let lp = st.srv[pick].cur as u64 * self.w(b) as u64;
                    let lb = st.srv[b].cur as u64 * self.w(pick) as u64;
                    if lp < lb {
                        pick
                    } else {
                        b
                    }
                }
            });
        }
        best.unwrap_or(free[0])
    }

    /// `balance source`: the client address hashed as XOR of its 32-bit words; with
    /// `hash-type map-based` the hash modulo the total weight indexes a map in which
    /// each server holds weight-proportional, interleaved slots; with `consistent`, a
    /// ring of weight-proportional points (§4.2 `hash-type`).
    fn hash_pick(&self, st: &mut BeState, cands: &[usize], h: u32, avoid: Option<usize>) -> usize {
        let fresh = !matches!(&st.hash_cache, Some((c, _)) if c.as_slice() == cands);
        if fresh {
            let table = match self.spec.hash_type {
                HashType::MapBased => self.build_map(cands),
                HashType::Consistent => self.build_ring(cands),
            };
            st.hash_cache = Some((cands.to_vec(), table));
        }
        let Some((_, table)) = &st.hash_cache else {
            return cands[0];
        };
        if table.is_empty() {
            return cands[0];
        }
        let start = match self.spec.hash_type {
            HashType::MapBased => (h as usize) % table.len(),
            HashType::Consistent => {
                let k = avalanche(h);
                table.partition_point(|&(p, _)| p < k) % table.len()
            }
        };
        // To avoid a server (redispatch), walk on to the next different one: the
        // table is not rebuilt for a one-off choice.
        (0..table.len())
            .map(|i| table[(start + i) % table.len()].1)
            .find(|&s| Some(s) != avoid)
            .unwrap_or(table[start].1)
    }

    /// HAProxy's `recalc_server_map` (lb_map.c): weights divided by their
    /// greatest common divisor, then `tot` slots, each to the first server whose
    /// `(wscore + tot) / tot` is highest.
    fn build_map(&self, cands: &[usize]) -> HashTable {
        // Weights are capped at HAProxy's maximum (256) so the map stays small.
        let uw = |s: usize| self.server(s).map_or(0, |x| x.weight.min(256)) as i64;
        let mut g = 0i64;
        for s in (0..self.server_count()).filter(|&s| !self.server_deleted(s)) {
            let mut w = uw(s);
            if g == 0 {
                g = w;
                continue;
            }
            while w != 0 {
                (g, w) = (w, g % w);
            }
        }
        let g = g.max(1);
        let ew = |s: usize| (uw(s) + g - 1) / g;
        let tot: i64 = cands.iter().map(|&s| ew(s)).sum();
        if tot <= 1 {
            return cands.first().map(|&s| vec![(0, s)]).unwrap_or_default();
        }
        let mut score = vec![0i64; cands.len()];
        let mut map = Vec::with_capacity(tot as usize);
        for _ in 0..tot {
            let (mut best, mut max) = (None, 0);
            for (i, &s) in cands.iter().enumerate() {
                score[i] += ew(s);
                let v = (score[i] + tot) / tot;
                if best.is_none() || v > max {
                    max = v;
                    best = Some(i);
                }
            }
            if let Some(b) = best {
                score[b] -= tot;
                map.push((0, cands[b]));
            }
        }
        map
    }

    fn build_ring(&self, cands: &[usize]) -> HashTable {
        let mut ring = Vec::new();
        for &s in cands {
            let points = (self.server(s).map_or(0, |x| x.weight) as usize * 16).min(4096);
            for k in 0..points {
                let p = avalanche(
                    (s as u32).wrapping_mul(0x9E37_79B9) ^ avalanche(k as u32 ^ 0xA5A5_0000),
                );
                ring.push((p, s));
            }
        }
        ring.sort_unstable();
        ring
    }

    /// Give freed slots of server `s` to the oldest waiter of its own queue or of the
    /// backend queue (FIFO), as HAProxy's `process_srv_queue`.
    fn dispatch(&self, st: &mut BeState, s: usize, eligible_set: Option<&[usize]>) {
        if st.srv[s].queue.is_empty() && st.queue.is_empty() {
            return; // nobody waits: skip the health look-ups
        }
        let eligible = match eligible_set {
            Some(e) => e.contains(&s),
            None => self.eligible().contains(&s),
        };
        while self.has_slot(st, s) {
            let own = st.srv[s].queue.front().map(|w| w.id);
            let be = if eligible {
                st.queue.front().map(|w| w.id)
            } else {
                None
            };
            let from_backend = match (own, be) {
                (Some(a), Some(b)) => b < a,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (None, None) => break,
            };
            let w = if from_backend {
                st.dequeued += 1;
                st.queue.pop_front()
            } else {
                st.srv[s].dequeued += 1;
                st.srv[s].queue.pop_front()
            };
            let Some(w) = w else { break };
            st.srv[s].cur += 1;
            st.srv[s].total += 1;
            if w.tx.send(s).is_err() {
                st.srv[s].cur -= 1;
                st.srv[s].total -= 1;
            } else {
                st.srv[s].rate.hit(crate::clock::now());
            }
        }
    }

    fn release(&self, s: usize, sid: u64, counted: bool) {
        let mut st = lock(&self.st);
        st.srv[s].sessions.remove(&sid);
        if counted {
            st.srv[s].cur = st.srv[s].cur.saturating_sub(1);
        }
        self.dispatch(&mut st, s, None);
    }

    /// Hand free slots to waiters, e.g. after a server came back (called on demand).
    pub(crate) fn kick_queues(&self) {
        let eligible = self.eligible();
        let mut st = lock(&self.st);
        for s in 0..st.srv.len() {
            self.dispatch(&mut st, s, Some(&eligible));
        }
    }

    /// Whether this waiter is first in its queue (only the first one polls for slots).
    fn is_head(&self, srv: Option<usize>, id: u64) -> bool {
        let st = lock(&self.st);
        let q = match srv {
            Some(s) => &st.srv[s].queue,
            None => &st.queue,
        };
        q.front().is_some_and(|w| w.id == id)
    }

    /// Kill switches of the sessions on these servers.
    pub(crate) fn kills(&self, which: impl Fn(usize) -> bool) -> Vec<Arc<Kill>> {
        let st = lock(&self.st);
        st.srv
            .iter()
            .enumerate()
            .filter(|(i, _)| which(*i))
            .flat_map(|(_, s)| s.sessions.values().cloned())
            .collect()
    }

    /// A server's session rate.
    pub(crate) fn server_rate(&self, s: usize) -> crate::meter::RateSnapshot {
        let st = lock(&self.st);
        st.srv
            .get(s)
            .map_or_else(Default::default, |x| crate::meter::RateSnapshot {
                current: x.rate.read(tokio::time::Instant::now()),
                max: x.rate.max(),
            })
    }

    /// (current, total) of a server.
    pub(crate) fn server_counts(&self, s: usize) -> (u64, u64) {
        let st = lock(&self.st);
        st.srv
            .get(s)
            .map(|x| (x.cur as u64, x.total))
            .unwrap_or((0, 0))
    }

    /// (server queue, backend queue) lengths.
    pub(crate) fn queue_lens(&self, s: Option<usize>) -> (u64, u64) {
        let st = lock(&self.st);
        let sq = s
            .and_then(|s| st.srv.get(s))
            .map(|x| x.queue.len() as u64)
            .unwrap_or(0);
        (sq, st.queue.len() as u64)
    }
}

/// 32-bit avalanche mix (a murmur3 finalizer).
/// `balance source`'s hash: the client address as XOR of its 32-bit words.
fn source_hash(ip: IpAddr) -> u32 {
    let bytes: Vec<u8> = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => a.octets().to_vec(),
        },
    };
    let mut h: u32 = 0;
    for w in bytes.chunks(4) {
        h ^= u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
    }
    h
}

fn avalanche(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// A slot on a server, held while the session is assigned to it. Dropping it frees
/// the slot, unregisters the session and wakes the next queued session.
pub(crate) struct SrvSlot {
    be: Arc<BackendRt>,
    pub(crate) srv: usize,
    sid: u64,
}

impl Drop for SrvSlot {
    fn drop(&mut self) {
        self.be.release(self.srv, self.sid, true);
    }
}

/// A place in a queue. Dropping it (timeout, client gone) leaves the queue, or gives
/// back a slot that was handed over meanwhile.
pub(crate) struct QueueTicket {
    be: Arc<BackendRt>,
    id: u64,
    pub(crate) srv: Option<usize>,
    rx: Option<oneshot::Receiver<usize>>,
    /// The queue's dequeue count when this session entered it.
    start: u64,
    /// Sessions processed ahead of this one while it waited (§8.2.2 `srv_queue` /
    /// `backend_queue`), set when it leaves the queue.
    pub(crate) ahead: u64,
}

impl QueueTicket {
    /// Hand free slots to waiters if this ticket heads its queue.
    pub(crate) fn kick_if_head(&self) {
        if self.be.is_head(self.srv, self.id) {
            self.be.kick_queues();
        }
    }

    /// Sessions dequeued ahead of this one so far (for a ticket still waiting).
    pub(crate) fn processed_ahead(&self) -> u64 {
        let st = lock(&self.be.st);
        let idx = match self.srv {
            Some(q) => st.srv[q].dequeued,
            None => st.dequeued,
        };
        idx.saturating_sub(self.start)
    }

    /// Wait until a slot is handed over; None if the queue closed.
    pub(crate) async fn wait(&mut self, sid: u64, kill: &Arc<Kill>) -> Option<SrvSlot> {
        let rx = self.rx.as_mut()?;
        let s = rx.await.ok()?;
        self.rx = None;
        let mut st = lock(&self.be.st);
        // Its own dequeue counted too: those before it are one less.
        let idx = match self.srv {
            Some(q) => st.srv[q].dequeued,
            None => st.dequeued,
        };
        self.ahead = idx.saturating_sub(self.start + 1);
        st.srv[s].sessions.insert(sid, kill.clone());
        drop(st);
        Some(SrvSlot {
            be: self.be.clone(),
            srv: s,
            sid,
        })
    }
}

impl Drop for QueueTicket {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else { return };
        let mut st = lock(&self.be.st);
        let q = match self.srv {
            Some(s) => &mut st.srv[s].queue,
            None => &mut st.queue,
        };
        if let Some(i) = q.iter().position(|w| w.id == self.id) {
            q.remove(i);
            return;
        }
        drop(st);
        if let Ok(s) = rx.try_recv() {
            // Handed a slot we will not use: give it back.
            self.be.release(s, u64::MAX, true);
        }
    }
}

/// `nbsrv(<backend>)` over the engine's backends (by name).
impl haproxide_http::ctx::Servers for crate::Shared {
    fn nbsrv(&self, name: &str) -> Option<i64> {
        let b = self.backends.iter().find(|b| b.spec.name == name)?;
        i64::try_from(b.nbsrv()).ok()
    }
}
