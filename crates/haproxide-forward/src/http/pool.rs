//! Idle server connections shared between the client connections of a thread
//! (configuration.txt §4.2 `http-reuse`, §5.2 `pool-max-conn`,
//! `pool-purge-delay`, `pool-low-conn`), as HAProxy 2.6 keeps them.
//!
//! After a response, a server connection that may serve another request goes
//! to its server's pool on the thread that served it (each worker thread has
//! its own reactor, as HAProxy keeps per-thread idle lists), in one of two
//! lists: *idle* when it served one request, *safe* when it served two or more
//! (proven to keep connections alive). Which lists a request may take from
//! depends on `http-reuse` and on whether it is its client connection's first
//! request ([`Take::of`], HAProxy's `connect_server` table):
//!
//! | mode       | first request      | later requests   |
//! |------------|--------------------|------------------|
//! | never      | none (private)     | none (private)   |
//! | safe       | none               | idle, then safe  |
//! | aggressive | safe               | idle, then safe  |
//! | always     | safe, then idle    | idle, then safe  |
//!
//! Under `never` a connection is private to its client connection (the
//! session's own list, [`super::MAX_IDLE`] as HAProxy's
//! `max-session-srv-conns`), as is one that carries a PROXY header, one whose
//! SNI comes from the request, and one that answered an NTLM / Negotiate
//! challenge (a 401 or 407: see `exchange`).
//!
//! Memory is bounded as HAProxy's `srv_add_to_idle_list` bounds it: a
//! released connection is kept when the thread has none of its kind yet, or
//! when the server's used plus idle connections stay within what it recently
//! needed (`max(used, need_est) + pool-low-conn`); never more than
//! `pool-max-conn`; never with `pool-purge-delay 0`. Every `pool-purge-delay`
//! (5 s by default) while a server has idle connections, half of those beyond
//! the estimate are closed, and the estimate decays (HAProxy's
//! `srv_cleanup_idle_conns`). So 2,000 client connections that each made one
//! request hold one server connection, not 2,000, and an unused one lasts two
//! to three delays. As HAProxy, the bounds count the server's connections
//! over all threads (each thread publishes its idle count); the first of a
//! kind is per thread, and a purge takes from each thread its share of the
//! excess.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::server_stream::ServerStream;
use crate::spec::{HttpReuse, ServerPool};
use tokio::time::Instant;

use crate::lb::BackendRt;

/// `pool-purge-delay` default (configuration.txt §5.2: 5s).
pub(crate) const PURGE_DEFAULT: Duration = Duration::from_secs(5);

/// Which idle connections of other client connections a request may take
/// (§4.2 `http-reuse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// None: a first request under `safe`, every request under `never`.
    None,
    /// Only connections that served two requests or more (`aggressive`'s
    /// first requests).
    Safe,
    /// Those, else any (`always`'s first requests).
    SafeFirst,
    /// Any, those that served one request first (a later request).
    Any,
}

impl Take {
    /// HAProxy 2.6's choice for a request of backend mode `mode`; `first`: the
    /// first request of its client connection.
    pub(crate) fn of(mode: HttpReuse, first: bool) -> Take {
        match (mode, first) {
            (HttpReuse::Never, _) => Take::None,
            (_, false) => Take::Any,
            (HttpReuse::Safe, true) => Take::None,
            (HttpReuse::Aggressive, true) => Take::Safe,
            (HttpReuse::Always, true) => Take::SafeFirst,
        }
    }
}

/// One idle connection.
struct Idle {
    stream: ServerStream,
    /// It served two requests or more (HAProxy's safe list).
    safe: bool,
}

/// A server's idle connections on one thread, oldest first, with the count of
/// safe ones kept as they come and go: with a hundred idle connections (HTTP/2
/// streams in flight to one server) counting them at each take and release,
/// and shifting a vector to take the oldest, cost about 3,000 instructions per
/// request (callgrind, docs/performance.md "Session 13 (h2d)").
#[derive(Default)]
struct Conns {
    list: VecDeque<Idle>,
    safe: usize,
}

impl Conns {
    fn len(&self) -> usize {
        self.list.len()
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Idle connections that served two requests or more (`safe`), or one.
    fn count(&self, safe: bool) -> usize {
        if safe {
            self.safe
        } else {
            self.list.len() - self.safe
        }
    }

    /// The oldest connection of a kind.
    fn first_of(&self, safe: bool) -> Option<usize> {
        match self.count(safe) {
            0 => None,
            n if n == self.list.len() => Some(0),
            _ => self.list.iter().position(|c| c.safe == safe),
        }
    }

    fn push(&mut self, c: Idle) {
        self.safe += usize::from(c.safe);
        self.list.push_back(c);
    }

    fn remove(&mut self, i: usize) -> Option<Idle> {
        let c = self.list.remove(i)?;
        self.safe -= usize::from(c.safe);
        Some(c)
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut Idle> {
        self.list.get_mut(i)
    }

    /// Drops the connections their servers closed.
    fn retain_alive(&mut self) {
        self.list.retain_mut(|c| c.stream.alive());
        self.safe = self.list.iter().filter(|c| c.safe).count();
    }
}

/// One server's idle connections on this thread.
struct Slot {
    be: Weak<BackendRt>,
    srv: usize,
    idle: Conns,
    /// Most connections in use since the last purge (HAProxy's `max_used_conns`).
    used_max: usize,
    /// The estimate of connections needed (HAProxy's `est_need_conns`).
    need_est: usize,
    pool: ServerPool,
    /// The next purge, while idle connections are kept.
    purge_at: Option<Instant>,
    /// What `show servers conn` reads of this slot.
    shown: Arc<Shown>,
}

impl Slot {
    fn count(&self, safe: bool) -> usize {
        self.idle.count(safe)
    }

    /// The server's idle connections on every thread: this thread's own list
    /// and what the other threads last published. HAProxy bounds a server's
    /// idle connections by its totals over all threads (`curr_idle_conns`);
    /// comparing the server's requests in flight (counted over all threads)
    /// with one thread's idle list let each of N threads keep as many as
    /// HAProxy keeps in all (measured: 100 idle connections after a `Connection:
    /// close` load of 50 clients on 2 threads, HAProxy 51).
    fn idle_all(&self) -> usize {
        let me = thread_index();
        let threads = NEXT_THREAD.load(Ordering::Relaxed).min(MAX_THREADS);
        let others: usize = (0..threads)
            .filter(|&t| t != me)
            .map(|t| {
                self.shown.idle[t].load(Ordering::Relaxed)
                    + self.shown.safe[t].load(Ordering::Relaxed)
            })
            .sum();
        self.idle.len() + others
    }

    /// The server's connections in use on every thread (HAProxy's
    /// `curr_used_conns`): each thread counts its own ([`InUse`]).
    fn used_all(&self) -> usize {
        let threads = NEXT_THREAD.load(Ordering::Relaxed).min(MAX_THREADS);
        (0..threads)
            .map(|t| self.shown.used[t].load(Ordering::Relaxed))
            .sum()
    }

    /// Publishes the slot's numbers for `show servers conn`.
    fn publish(&self) {
        let t = thread_index();
        let set = |a: &[AtomicUsize; MAX_THREADS], v: usize| {
            if let Some(x) = a.get(t) {
                x.store(v, Ordering::Relaxed);
            }
        };
        set(&self.shown.idle, self.count(false));
        set(&self.shown.safe, self.count(true));
        set(&self.shown.used_max, self.used_max);
        set(&self.shown.need_est, self.need_est);
    }
}

/// Threads `show servers conn` tells apart (more share the last column).
const MAX_THREADS: usize = 64;

/// One server's pool numbers, per thread (written by its slots).
struct Shown {
    /// Connections in use, per thread (see [`InUse`]).
    used: [AtomicUsize; MAX_THREADS],
    idle: [AtomicUsize; MAX_THREADS],
    safe: [AtomicUsize; MAX_THREADS],
    used_max: [AtomicUsize; MAX_THREADS],
    need_est: [AtomicUsize; MAX_THREADS],
}

/// Every server's [`Shown`], by backend (compared by address) and server.
type Registry = Vec<(Weak<BackendRt>, usize, Arc<Shown>)>;
static SHOWN: Mutex<Registry> = Mutex::new(Vec::new());
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

fn thread_index() -> usize {
    THREAD.with(|t| match t.get() {
        Some(i) => i,
        None => {
            let i = NEXT_THREAD
                .fetch_add(1, Ordering::Relaxed)
                .min(MAX_THREADS - 1);
            t.set(Some(i));
            i
        }
    })
}

fn shown(be: &Arc<BackendRt>, srv: usize, create: bool) -> Option<Arc<Shown>> {
    let mut reg = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
    reg.retain(|(b, _, _)| b.strong_count() > 0);
    if let Some((_, _, s)) = reg
        .iter()
        .find(|(b, s, _)| *s == srv && std::ptr::eq(b.as_ptr(), Arc::as_ptr(be)))
    {
        return Some(s.clone());
    }
    if !create {
        return None;
    }
    let s = Arc::new(Shown {
        used: std::array::from_fn(|_| AtomicUsize::new(0)),
        idle: std::array::from_fn(|_| AtomicUsize::new(0)),
        safe: std::array::from_fn(|_| AtomicUsize::new(0)),
        used_max: std::array::from_fn(|_| AtomicUsize::new(0)),
        need_est: std::array::from_fn(|_| AtomicUsize::new(0)),
    });
    reg.push((Arc::downgrade(be), srv, s.clone()));
    Some(s)
}

/// A server's idle connections as `show servers conn` prints them
/// (management.txt; HAProxy's `dump_servers_state`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// `pool-purge-delay` in ms.
    pub purge_delay_ms: u64,
    /// Connections in use (requests in flight to the server).
    pub used_cur: u64,
    /// Most in use since the last purge (the largest of the threads').
    pub used_max: u64,
    /// The estimate of connections needed (the largest of the threads').
    pub need_est: u64,
    /// Idle connections that served one request, and those that served more.
    pub unsafe_nb: u64,
    pub safe_nb: u64,
    /// `pool-max-conn` (-1: unlimited).
    pub idle_lim: i64,
    /// Idle connections per thread.
    pub per_thread: Vec<u64>,
}

impl crate::Engine {
    /// A server's idle connections, for `show servers conn` (one column per
    /// engine thread).
    pub fn server_pool(&self, backend: usize, server: usize) -> PoolStats {
        match self.shared.backends.get(backend) {
            Some(be) => stats(be, server, self.shared.threads.len()),
            None => PoolStats::default(),
        }
    }
}

/// `show servers conn` numbers of server `srv` of `be`, with `threads`
/// per-thread columns.
pub(crate) fn stats(be: &Arc<BackendRt>, srv: usize, threads: usize) -> PoolStats {
    let pool = be.server(srv).map(|s| s.pool).unwrap_or_default();
    let mut st = PoolStats {
        purge_delay_ms: pool.purge_delay.as_millis() as u64,
        // Without pool numbers (`http-reuse never`): the requests in flight.
        used_cur: be.server_counts(srv).0,
        idle_lim: pool.max_conn.map_or(-1, |m| m as i64),
        per_thread: vec![0; threads.clamp(1, MAX_THREADS)],
        ..PoolStats::default()
    };
    if let Some(s) = shown(be, srv, false) {
        // HAProxy's `curr_used_conns`: connections in use, not requests.
        st.used_cur = s
            .used
            .iter()
            .map(|u| u.load(Ordering::Relaxed) as u64)
            .sum();
        let last = st.per_thread.len() - 1;
        for t in 0..MAX_THREADS {
            let (i, sf) = (
                s.idle[t].load(Ordering::Relaxed) as u64,
                s.safe[t].load(Ordering::Relaxed) as u64,
            );
            st.unsafe_nb += i;
            st.safe_nb += sf;
            if let Some(x) = st.per_thread.get_mut(t.min(last)) {
                *x += i + sf;
            }
            st.used_max = st
                .used_max
                .max(s.used_max[t].load(Ordering::Relaxed) as u64);
            st.need_est = st
                .need_est
                .max(s.need_est[t].load(Ordering::Relaxed) as u64);
        }
    }
    st
}

thread_local! {
    static THREAD: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    static POOL: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
    static PURGER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn same(slot: &Slot, be: &Arc<BackendRt>, srv: usize) -> bool {
    slot.srv == srv && std::ptr::eq(slot.be.as_ptr(), Arc::as_ptr(be))
}

/// A live idle connection to `be`/`srv` that `take` allows (the oldest of the
/// first list `take` names that has one, as HAProxy's tree lookups).
pub(crate) fn take(be: &Arc<BackendRt>, srv: usize, take: Take) -> Option<ServerStream> {
    let order: &[bool] = match take {
        Take::None => return None,
        Take::Safe => &[true],
        Take::SafeFirst => &[true, false],
        Take::Any => &[false, true],
    };
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let slot = p.iter_mut().find(|s| same(s, be, srv))?;
        let mut got = None;
        'lists: for &safe in order {
            while let Some(i) = slot.idle.first_of(safe) {
                let Some(mut c) = slot.idle.remove(i) else {
                    break;
                };
                if c.stream.alive() {
                    got = Some(c.stream);
                    break 'lists;
                }
            }
        }
        slot.publish();
        got
    })
}

/// This thread's slot of `be`/`srv`, made (with `pool`) when it has none yet.
fn slot_of<'a>(
    p: &'a mut Vec<Slot>,
    be: &Arc<BackendRt>,
    srv: usize,
    pool: ServerPool,
) -> Option<&'a mut Slot> {
    let i = match p.iter().position(|s| same(s, be, srv)) {
        Some(i) => i,
        None => {
            let shown = shown(be, srv, true)?;
            p.push(Slot {
                be: Arc::downgrade(be),
                srv,
                idle: Conns::default(),
                used_max: 0,
                need_est: 0,
                pool,
                purge_at: None,
                shown,
            });
            p.len() - 1
        }
    };
    p.get_mut(i)
}

/// A server connection in use by a request, counted on its thread until this
/// is dropped (HAProxy's `curr_used_conns`, which `srv_use_conn` raises and
/// `srv_add_to_idle_list` or the connection's end lowers). The pool's bounds
/// compare the server's idle connections with these counts; they used to take
/// the server's requests in flight, which count a request from the moment a
/// server is chosen (before it takes an idle connection) until its session
/// lets go of the server (after its connection went back to the pool), so
/// another thread's release saw one connection too many in either window
/// and closed one that was needed: with 50 keep-alive clients on two
/// threads, 18 server connections closed and opened again per second
/// (HAProxy 2.6: none).
pub(crate) struct InUse {
    shown: Arc<Shown>,
    thread: usize,
}

impl Drop for InUse {
    fn drop(&mut self) {
        if let Some(x) = self.shown.used.get(self.thread) {
            x.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A request of `be`/`srv` got a connection (HAProxy's `srv_use_conn`): it is
/// counted in use until the returned guard goes (given to [`put`], or dropped
/// when the connection is not kept); the most in use at once and the estimate
/// follow. `None` only when the server's numbers cannot be registered.
pub(crate) fn use_conn(be: &Arc<BackendRt>, srv: usize) -> Option<InUse> {
    let thread = thread_index();
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let pool = be.server(srv).map(|s| s.pool).unwrap_or_default();
        let slot = slot_of(&mut p, be, srv, pool)?;
        slot.shown.used.get(thread)?.fetch_add(1, Ordering::Relaxed);
        let used = slot.used_all();
        slot.used_max = slot.used_max.max(used);
        slot.need_est = slot.need_est.max(used);
        slot.publish();
        Some(InUse {
            shown: slot.shown.clone(),
            thread,
        })
    })
}

/// Gives a server connection that may serve another request back to its
/// server's pool, or closes it (silently: [`ServerStream::close_silently`])
/// when the pool does not want it (see the module documentation). `in_use`:
/// the connection's count from [`use_conn`] (it counts as in use while the
/// bounds are read, as in HAProxy's `srv_add_to_idle_list`, and no longer once
/// it is idle). `reused`: it served a request before this one.
pub(crate) fn put(
    be: &Arc<BackendRt>,
    srv: usize,
    stream: ServerStream,
    reused: bool,
    in_use: Option<InUse>,
    pool: &ServerPool,
) {
    let now = crate::clock::now();
    let mut stream = Some(stream);
    let mut in_use = in_use;
    let spawn = POOL.with(|p| {
        let mut p = p.borrow_mut();
        let Some(slot) = slot_of(&mut p, be, srv, *pool) else {
            return false;
        };
        slot.pool = *pool;
        // The server's connections in use, this one included (a connection
        // without a count is counted here).
        let used = slot.used_all() + usize::from(in_use.is_none());
        slot.used_max = slot.used_max.max(used);
        slot.need_est = slot.need_est.max(used);
        // `pool-purge-delay 0` and `pool-max-conn 0` keep none.
        if pool.purge_delay.is_zero() || pool.max_conn == Some(0) {
            drop(in_use.take());
            slot.publish();
            return false;
        }
        let keep = |slot: &Slot| {
            let (idle, safe) = (slot.count(false), slot.count(true));
            // This thread's lists decide the first of a kind; the server's
            // totals over all threads the rest (HAProxy's `srv_add_to_idle_list`).
            // (The totals only when a bound needs them: a kept-alive request's
            // connection usually comes back to an empty list, the first of its kind.)
            let first_of_kind = safe == 0 && (reused || idle == 0);
            let total = std::cell::OnceCell::new();
            let total = || *total.get_or_init(|| slot.idle_all());
            let within = || used + total() <= used.max(slot.need_est) + pool.low_conn;
            pool.max_conn.is_none_or(|m| total() < m) && (first_of_kind || within())
        };
        // HAProxy drops an idle connection as soon as its server closes it
        // (the idle connection stays polled); here the pool learns it when it
        // looks: before refusing this one, the oldest idle connections the server
        // closed go (a server that closes its kept connections between clients
        // would otherwise have each new client's connection refused after one
        // request, for a dead one still counted).
        let kept = keep(slot) || {
            sweep_oldest(&mut slot.idle);
            keep(slot)
        };
        // No longer in use before it counts as idle (a bound read meanwhile
        // on another thread sees one connection too few, never one too many).
        drop(in_use.take());
        if !kept {
            slot.publish();
            return false;
        }
        let Some(stream) = stream.take() else {
            return false;
        };
        slot.idle.push(Idle {
            stream,
            safe: reused,
        });
        slot.publish();
        if slot.purge_at.is_none() {
            slot.purge_at = Some(now + slot.pool.purge_delay);
        }
        !PURGER.with(|f| f.replace(true))
    });
    // Not kept: closed as HAProxy closes it (no TIME_WAIT left here).
    if let Some(s) = stream {
        s.close_silently();
    }
    if spawn {
        // One purge task per thread while its pool holds connections.
        tokio::spawn(purger());
    }
}

/// How many idle connections, oldest first, a refusal looks at (see
/// [`sweep_oldest`]).
const SWEEP: usize = 4;

/// Drops the dead among the [`SWEEP`] oldest idle connections. A release adds
/// at most one connection, so dead ones cannot pile up; looking at all of them
/// at every refusal cost 2,044 instructions per request with one request per
/// client connection (25 idle connections per thread, each released one
/// refused: bench/http1-callgrind.sh CLOSE=1).
fn sweep_oldest(idle: &mut Conns) {
    let (mut i, mut looked) = (0, 0);
    while looked < SWEEP {
        let Some(c) = idle.get_mut(i) else { break };
        looked += 1;
        if c.stream.alive() {
            i += 1;
        } else {
            drop(idle.remove(i));
        }
    }
}

/// One purge of the slots whose time came (HAProxy's `srv_cleanup_idle_conns`):
/// connections the server closed go; then half of those beyond the estimate
/// (idle ones first, then safe, oldest first), and the estimate decays. Slots
/// of backends no longer running go whole; the others stay. Returns the next purge time.
fn purge_now(now: Instant) -> Option<Instant> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        p.retain_mut(|slot| {
            if slot.be.strong_count() == 0 {
                return false;
            }
            // A slot with nothing to purge stays while its backend runs: it
            // holds the server's `used_max` and `need_est` (HAProxy keeps them
            // in the server), which a new slot would restart from one request.
            let Some(at) = slot.purge_at else {
                return true;
            };
            if at > now {
                return true;
            }
            slot.idle.retain_alive();
            let used = slot.used_all();
            let curr = slot.idle.len();
            if curr > 0 {
                // Half of the server's excess over all threads, this thread
                // taking its share of it, as HAProxy's `srv_cleanup_idle_conns`
                // spreads the kill over the threads' idle lists.
                let all = slot.idle_all().max(curr);
                let exceed = (used + all) as i64 - slot.used_max.max(slot.need_est) as i64;
                let half = if exceed > 0 { (exceed + 1) / 2 } else { 0 };
                // (Rounded up: with one thread, or none other holding any, the
                // whole half, as before.)
                let (c, a) = (curr as i64, all as i64);
                let to_kill = if half > 0 {
                    ((half * c + a - 1) / a).min(c)
                } else {
                    0
                };
                slot.need_est = ((slot.need_est + slot.used_max) / 2).max(slot.used_max);
                slot.used_max = used;
                for _ in 0..to_kill {
                    let i = slot
                        .idle
                        .first_of(false)
                        .or((!slot.idle.is_empty()).then_some(0));
                    match i {
                        Some(i) => drop(slot.idle.remove(i)),
                        None => break,
                    }
                }
            }
            slot.purge_at = (!slot.idle.is_empty()).then(|| now + slot.pool.purge_delay);
            slot.publish();
            true
        });
        p.iter().filter_map(|s| s.purge_at).min()
    })
}

async fn purger() {
    let mut next = Instant::now() + Duration::from_millis(100);
    loop {
        tokio::time::sleep_until(next).await;
        match purge_now(Instant::now()) {
            // A slot added meanwhile may purge sooner: look at least every 500 ms.
            Some(at) => {
                let now = Instant::now();
                next = at.clamp(
                    now + Duration::from_millis(10),
                    now + Duration::from_millis(500),
                );
            }
            None => {
                PURGER.with(|f| f.set(false));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend with one server (the pool's tests need no more).
    fn backend() -> Arc<BackendRt> {
        Arc::new(BackendRt::new(
            0,
            crate::spec::BackendSpec::default(),
            Arc::new(crate::AlwaysUp),
        ))
    }

    /// The kept count of safe connections follows every change, and the
    /// oldest of a kind is the one found, as a scan of the list finds it.
    #[tokio::test]
    async fn idle_counts_and_oldest_of_a_kind() {
        let mut peers = Vec::new();
        let mut conn = |safe: bool| {
            let (a, b) = tokio::io::duplex(64);
            peers.push(b);
            Idle {
                stream: ServerStream::H2(a),
                safe,
            }
        };
        let mut c = Conns::default();
        let check = |c: &Conns| {
            let safe = c.list.iter().filter(|i| i.safe).count();
            assert_eq!((c.count(true), c.count(false)), (safe, c.len() - safe));
            for kind in [false, true] {
                assert_eq!(
                    c.first_of(kind),
                    c.list.iter().position(|i| i.safe == kind),
                    "kind {kind}"
                );
            }
        };
        check(&c);
        for safe in [false, true, false, true, true] {
            c.push(conn(safe));
            check(&c);
        }
        assert_eq!((c.first_of(true), c.first_of(false)), (Some(1), Some(0)));
        assert!(c.remove(0).is_some_and(|i| !i.safe));
        check(&c);
        assert_eq!(c.first_of(true), Some(0));
        assert!(c.remove(1).is_some_and(|i| !i.safe));
        check(&c);
        // All safe: the oldest at once.
        assert_eq!((c.first_of(true), c.first_of(false)), (Some(0), None));
        assert!(c.remove(9).is_none());
        check(&c);
        // Servers that closed: their connections go, the count follows.
        c.push(conn(false));
        drop(peers.remove(5));
        drop(peers.remove(1));
        c.retain_alive();
        check(&c);
        assert_eq!((c.len(), c.count(true)), (2, 2));
    }

    /// A server that keeps no idle connection (`pool-max-conn 0`) keeps its
    /// numbers across a purge: HAProxy's purge only visits servers with idle
    /// connections, so their `used_max`/`need_est` stay (a slot dropped and
    /// made again started them over from the requests in flight then).
    #[tokio::test]
    async fn a_purge_keeps_the_numbers_of_a_server_without_idle_connections() {
        let be = backend();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let none = ServerPool {
            max_conn: Some(0),
            ..ServerPool::default()
        };
        // Released with 3 connections in use: not kept, the numbers noted.
        let mut used: Vec<_> = (0..3).map(|_| use_conn(&be, 0)).collect();
        put(
            &be,
            0,
            ServerStream::Tcp(s),
            false,
            used.pop().flatten(),
            &none,
        );
        assert_eq!(stats(&be, 0, 1).used_max, 3);
        drop(used);
        purge_now(Instant::now() + Duration::from_secs(3600));
        // The next request (none other in use) sees the same numbers.
        let _one = use_conn(&be, 0);
        let st = stats(&be, 0, 1);
        assert_eq!((st.used_max, st.need_est), (3, 3));
    }
    /// A connection counts as in use from [`use_conn`] until it is back in the
    /// pool or gone, on the thread that used it, and the other threads' bounds
    /// see it so: what a request holds, not whether its session still holds
    /// the server. (The bounds took the server's requests in flight, which
    /// still counted a request whose connection was already idle: another
    /// thread then saw one connection too many and closed one; 148 closed and
    /// reopened in 3 s of 50 keep-alive clients on two threads, none now.)
    #[test]
    fn a_connection_counts_as_in_use_until_it_is_back_in_the_pool() {
        let be = backend();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let used = |be: &Arc<BackendRt>| stats(be, 0, MAX_THREADS).used_cur;
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = l.local_addr().expect("addr");
            let mut peers = Vec::new();
            let conn = || async {
                let s = tokio::net::TcpStream::connect(addr).await.expect("connect");
                (ServerStream::Tcp(s), l.accept().await.expect("accept"))
            };
            // Two in use here, one on another thread.
            let (a, b) = (use_conn(&be, 0), use_conn(&be, 0));
            let other = {
                let be = be.clone();
                std::thread::spawn(move || use_conn(&be, 0).map(std::mem::forget).is_some())
            };
            assert_eq!(other.join().ok(), Some(true));
            assert_eq!(used(&be), 3);
            // One back in the pool: no longer in use, now idle.
            let (s, p) = conn().await;
            peers.push(p);
            put(&be, 0, s, false, a, &ServerPool::default());
            let st = stats(&be, 0, MAX_THREADS);
            assert_eq!((st.used_cur, st.unsafe_nb), (2, 1), "{st:?}");
            assert_eq!((st.used_max, st.need_est), (3, 3), "{st:?}");
            // One that ends without going back (an error, `http-server-close`).
            drop(b);
            assert_eq!(used(&be), 1);
            // The next release sees one in use (the other thread's) besides
            // itself and one idle: 2 + 1 <= 3, kept.
            let c = use_conn(&be, 0);
            let (s, p) = conn().await;
            peers.push(p);
            put(&be, 0, s, false, c, &ServerPool::default());
            let st = stats(&be, 0, MAX_THREADS);
            assert_eq!((st.used_cur, st.unsafe_nb), (1, 2), "{st:?}");
        });
    }

    /// The bounds count the server's idle connections on every thread, as
    /// HAProxy's do: four connections in use on each of two threads, released
    /// one by one (4, 3, 2, 1 still in use), leave five idle connections in
    /// all (the first thread's four, then the second thread's first of its
    /// kind), not eight (four per thread).
    #[test]
    fn the_bounds_count_idle_connections_of_every_thread() {
        let be = backend();
        // Each thread releases its four, says so, and keeps its peers (the
        // kept connections alive) until told to end.
        let release_four = |be: Arc<BackendRt>| {
            let (done_tx, done) = std::sync::mpsc::channel::<()>();
            let (end, end_rx) = std::sync::mpsc::channel::<()>();
            let t = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind");
                    let addr = l.local_addr().expect("addr");
                    let mut peers = Vec::new();
                    let mut used: Vec<_> = (0..4).map(|_| use_conn(&be, 0)).collect();
                    while let Some(in_use) = used.pop() {
                        let s = tokio::net::TcpStream::connect(addr).await.expect("connect");
                        peers.push(l.accept().await.expect("accept"));
                        put(
                            &be,
                            0,
                            ServerStream::Tcp(s),
                            false,
                            in_use,
                            &ServerPool::default(),
                        );
                    }
                    let _ = done_tx.send(());
                    let _ = end_rx.recv_timeout(Duration::from_secs(30));
                    drop(peers);
                });
            });
            let _ = done.recv_timeout(Duration::from_secs(30));
            (t, end)
        };
        let a = release_four(be.clone());
        let b = release_four(be.clone());
        let st = stats(&be, 0, MAX_THREADS);
        for (t, end) in [a, b] {
            let _ = end.send(());
            let _ = t.join();
        }
        assert_eq!(st.unsafe_nb + st.safe_nb, 5, "{st:?}");
        let mut per: Vec<u64> = st.per_thread.into_iter().filter(|&n| n > 0).collect();
        per.sort();
        assert_eq!(per, [1, 4]);
    }
}
