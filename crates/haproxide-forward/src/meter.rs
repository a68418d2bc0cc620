//! Live byte counters and session rates (management.txt §9.1 `bin`, `bout`, `rate`,
//! `rate_max`, `conn_rate`, `conn_rate_max`; §9.3 `show info` `ConnRate`, `SessRate`,
//! `MaxConnRate`, `MaxSessRate`).
//!
//! Bytes are counted as they flow, as HAProxy does, so that a session that lives for
//! hours shows its traffic before it ends. Each engine thread owns one block of
//! counters (every frontend, backend and server, in and out), on its own cache lines;
//! a session adds what moved since its last publication into its thread's block once
//! per relay wake-up, with a plain Relaxed load and store (a thread's sessions all run
//! on that thread: one writer per block, no locked instruction, no shared line). A
//! reader sums the blocks. Without engine threads (`EngineSpec::threads == 0`, tests)
//! sessions run on any thread of the caller's runtime: one block then, updated with
//! Relaxed `fetch_add`. Nothing is added when a session ends beyond its last bytes,
//! so nothing is counted twice; `clear counters all` records the sums as a base that
//! the readers subtract (the writers' counters are never reset under them).
//!
//! Rates are HAProxy's frequency counters (src/freq_ctr.c): events of the current
//! one-second period plus the previous period's weighted by the part of it still in
//! the last second. They are hit once per session start, under a small mutex.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::relay::Bytes;

/// Eight counters: one cache line.
#[repr(align(64))]
#[derive(Default)]
struct Line([AtomicU64; 8]);

/// Where each proxy's (in, out) pair sits in a block.
#[derive(Debug, Clone, Default)]
struct Layout {
    frontends: usize,
    backends: usize,
    /// Index of each backend's first server among all servers.
    server_base: Vec<usize>,
    pairs: usize,
}

/// The byte counters of every frontend, backend and server (see the module
/// documentation).
pub(crate) struct ByteMeters {
    layout: Layout,
    /// One block per engine thread (one block without engine threads).
    blocks: Vec<Box<[Line]>>,
    /// Each block has a single writer thread: plain load + store.
    exclusive: bool,
    /// Sums at the last `clear counters all`, subtracted by readers.
    base: Mutex<Vec<u64>>,
}

/// A counter pair of a [`ByteMeters`]: in (from the client), out (to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pair(usize);

impl ByteMeters {
    /// `servers[b]` is how many servers backend `b` has; `threads` the engine's threads.
    pub(crate) fn new(frontends: usize, servers: &[usize], threads: usize) -> ByteMeters {
        let mut server_base = Vec::with_capacity(servers.len());
        let mut n = 0;
        for s in servers {
            server_base.push(n);
            n += s;
        }
        let pairs = frontends + servers.len() + n;
        let lines = (2 * pairs).div_ceil(8);
        ByteMeters {
            layout: Layout {
                frontends,
                backends: servers.len(),
                server_base,
                pairs,
            },
            blocks: (0..threads.max(1))
                .map(|_| (0..lines).map(|_| Line::default()).collect())
                .collect(),
            exclusive: threads > 0,
            base: Mutex::new(vec![0; 2 * pairs]),
        }
    }

    pub(crate) fn frontend(&self, fe: usize) -> Option<Pair> {
        (fe < self.layout.frontends).then_some(Pair(fe))
    }

    pub(crate) fn backend(&self, be: usize) -> Option<Pair> {
        (be < self.layout.backends).then_some(Pair(self.layout.frontends + be))
    }

    pub(crate) fn server(&self, be: usize, srv: usize) -> Option<Pair> {
        let l = &self.layout;
        let base = *l.server_base.get(be)?;
        let next = l.server_base.get(be + 1).copied().unwrap_or(
            l.pairs - l.frontends - l.backends, // all servers
        );
        (base + srv < next).then_some(Pair(l.frontends + l.backends + base + srv))
    }

    fn cell(&self, block: usize, i: usize) -> Option<&AtomicU64> {
        self.blocks.get(block)?.get(i / 8).map(|l| &l.0[i % 8])
    }

    fn add(&self, block: usize, i: usize, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(c) = self.cell(block, i) {
            if self.exclusive {
                c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
            } else {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    fn sum(&self, i: usize) -> u64 {
        (0..self.blocks.len())
            .filter_map(|b| self.cell(b, i))
            .fold(0u64, |a, c| a.wrapping_add(c.load(Ordering::Relaxed)))
    }

    /// (in, out) of a pair since start or the last [`ByteMeters::clear`].
    pub(crate) fn get(&self, p: Option<Pair>) -> (u64, u64) {
        let Some(Pair(i)) = p else { return (0, 0) };
        let base = self.base.lock().unwrap_or_else(|e| e.into_inner());
        let at = |k: usize| self.sum(k).wrapping_sub(base.get(k).copied().unwrap_or(0));
        (at(2 * i), at(2 * i + 1))
    }

    /// `clear counters all`: every pair restarts from 0.
    pub(crate) fn clear(&self) {
        let mut base = self.base.lock().unwrap_or_else(|e| e.into_inner());
        for (k, b) in base.iter_mut().enumerate() {
            *b = self.sum(k);
        }
    }
}

/// A session's publication state: which pairs its bytes go to, on which block, and
/// what it already added there.
#[derive(Debug, Default)]
pub(crate) struct SessionMeter {
    block: usize,
    to: [Option<Pair>; 3],
    published: Bytes,
}

impl SessionMeter {
    /// A session of frontend `fe` running on engine thread `thread`.
    pub(crate) fn new(m: &ByteMeters, thread: Option<usize>, fe: usize) -> SessionMeter {
        SessionMeter {
            block: thread.unwrap_or(0),
            to: [m.frontend(fe), None, None],
            published: Bytes::default(),
        }
    }

    /// The session's backend and server (once chosen; they do not change after the
    /// first publication with them, which is at the start of the data phase).
    pub(crate) fn aim(&mut self, m: &ByteMeters, be: Option<usize>, srv: Option<usize>) {
        self.to[1] = be.and_then(|b| m.backend(b));
        self.to[2] = be.zip(srv).and_then(|(b, s)| m.server(b, s));
    }

    /// Add what the session moved since its last publication.
    pub(crate) fn publish(&mut self, m: &ByteMeters, now: &Bytes) {
        let din = now.from_client.saturating_sub(self.published.from_client);
        let dout = now.from_server.saturating_sub(self.published.from_server);
        if din == 0 && dout == 0 {
            return;
        }
        self.published = *now;
        for Pair(i) in self.to.iter().flatten() {
            m.add(self.block, 2 * i, din);
            m.add(self.block, 2 * i + 1, dout);
        }
    }
}

/// Publishes a session's bytes from inside the relay (once per wake-up).
pub(crate) struct Publisher<'a> {
    pub(crate) meters: &'a ByteMeters,
    pub(crate) session: &'a mut SessionMeter,
}

impl crate::relay::Publish for Publisher<'_> {
    fn publish(&mut self, bytes: &Bytes) {
        self.session.publish(self.meters, bytes);
    }
}

/// HAProxy's one-second frequency counter (src/freq_ctr.c) and the highest count
/// of a period seen (`rate_max`, `MaxConnRate`, `MaxSessRate`).
#[derive(Debug, Default)]
pub(crate) struct FreqCtr {
    /// Start of the current period (None before the first event).
    tick: Option<Instant>,
    /// Its end (`tick` + [`PERIOD`]): an event before it is compared, not
    /// subtracted (`hit` runs a few times per connection).
    until: Option<Instant>,
    curr: u64,
    prev: u64,
    max: u64,
}

const PERIOD: Duration = Duration::from_secs(1);

impl FreqCtr {
    /// One event at `now`.
    pub(crate) fn hit(&mut self, now: Instant) {
        match (self.tick, self.until) {
            (Some(t), Some(u)) if now < u && now >= t => self.curr += 1,
            (Some(t), Some(u)) if now >= u && now.saturating_duration_since(t) < 2 * PERIOD => {
                // The next period: the current one becomes the previous one.
                self.prev = self.curr;
                self.curr = 1;
                self.tick = Some(u);
                self.until = Some(u + PERIOD);
            }
            (Some(t), _) if now < t => self.curr += 1,
            _ => {
                // First event, or two periods or more without any: start afresh.
                self.prev = 0;
                self.curr = 1;
                self.tick = Some(now);
                self.until = Some(now + PERIOD);
            }
        }
        self.max = self.max.max(self.curr);
    }

    /// Events per second over the last second at `now`: the current period's, plus
    /// the previous period's weighted by the part of it still within the last second
    /// (with HAProxy's correction against flapping at one event per period or less).
    pub(crate) fn read(&self, now: Instant) -> u64 {
        let Some(t) = self.tick else { return 0 };
        let period = PERIOD.as_millis() as u64;
        let age = now.saturating_duration_since(t).as_millis() as u64;
        let (curr, past, remain) = if age < period {
            (self.curr, self.prev, period - age)
        } else if age < 2 * period {
            (0, self.curr, 2 * period - age)
        } else {
            return 0;
        };
        if curr == 0 && past <= 1 {
            return past;
        }
        (past * remain + curr * period) / period
    }

    /// The highest count of one period since start or [`FreqCtr::clear_max`].
    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// `clear counters`: the maximum restarts from 0, as in HAProxy.
    pub(crate) fn clear_max(&mut self) {
        self.max = 0;
    }
}

/// A [`FreqCtr`] shared by threads.
#[derive(Debug, Default)]
pub(crate) struct Rate(Mutex<FreqCtr>);

/// A rate as `show stat` shows it: now and the highest seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateSnapshot {
    /// Events over the last second.
    pub current: u64,
    /// Most events in one period since start or `clear counters`.
    pub max: u64,
}

impl Rate {
    fn lock(&self) -> std::sync::MutexGuard<'_, FreqCtr> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn hit(&self) {
        self.lock().hit(crate::clock::now());
    }

    pub(crate) fn get(&self) -> RateSnapshot {
        let f = self.lock();
        RateSnapshot {
            current: f.read(Instant::now()),
            max: f.max(),
        }
    }

    pub(crate) fn clear_max(&self) {
        self.lock().clear_max();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn freq_counter_follows_haproxy() {
        let t0 = Instant::now();
        let mut f = FreqCtr::default();
        assert_eq!(f.read(t0), 0);
        for i in 0..5 {
            f.hit(ms(t0, i * 100));
        }
        // Five events in the current period.
        assert_eq!(f.read(ms(t0, 900)), 5);
        assert_eq!(f.max(), 5);
        // 300 ms into the next period, none yet: 5 * 700/1000.
        assert_eq!(f.read(ms(t0, 1300)), 3);
        // Two events then: 2 + 5 * 0.7.
        f.hit(ms(t0, 1300));
        f.hit(ms(t0, 1300));
        assert_eq!(f.read(ms(t0, 1300)), 5);
        assert_eq!(f.max(), 5, "the max is per period");
        // Two idle seconds: nothing left, the max stays.
        assert_eq!(f.read(ms(t0, 3000)), 0);
        assert_eq!(f.max(), 5);
        // After a long pause the first event starts a period of its own.
        for _ in 0..7 {
            f.hit(ms(t0, 10_500));
        }
        assert_eq!(f.read(ms(t0, 11_400)), 7);
        assert_eq!(f.max(), 7);
        f.clear_max();
        assert_eq!(f.max(), 0);
        assert_eq!(f.read(ms(t0, 11_400)), 7, "clear counters keeps the rate");
        // One event per period reads 1, not 0 then 1 (no flapping).
        let mut g = FreqCtr::default();
        g.hit(t0);
        assert_eq!(g.read(ms(t0, 1500)), 1);
    }

    #[test]
    fn byte_meters_sum_blocks_and_clear_by_base() {
        for threads in [0, 3] {
            let m = ByteMeters::new(2, &[1, 3], threads);
            let srv = m.server(1, 2);
            assert!(m.server(1, 3).is_none() && m.server(2, 0).is_none());
            assert!(m.frontend(2).is_none() && m.backend(2).is_none());
            let mut a = SessionMeter::new(&m, Some(threads.saturating_sub(1)), 1);
            let mut b = SessionMeter::new(&m, None, 1);
            a.aim(&m, Some(1), Some(2));
            let bytes = |i, o| Bytes {
                from_client: i,
                from_server: o,
            };
            a.publish(&m, &bytes(10, 20));
            b.publish(&m, &bytes(1, 2));
            a.publish(&m, &bytes(15, 20));
            assert_eq!(m.get(m.frontend(1)), (16, 22));
            assert_eq!(m.get(m.backend(1)), (15, 20));
            assert_eq!(m.get(srv), (15, 20));
            assert_eq!(m.get(m.frontend(0)), (0, 0));
            assert_eq!(m.get(m.server(1, 1)), (0, 0));
            m.clear();
            assert_eq!(m.get(m.frontend(1)), (0, 0));
            a.publish(&m, &bytes(18, 21));
            assert_eq!(m.get(m.frontend(1)), (3, 1));
            assert_eq!(m.get(srv), (3, 1));
        }
    }
}
