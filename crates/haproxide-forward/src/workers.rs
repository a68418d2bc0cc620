//! Thread-per-core execution (`EngineSpec::threads`): N threads, each running its own
//! single-threaded tokio runtime with an accept loop on every listener. A session stays
//! on the thread that accepted it, as a connection stays on its thread in HAProxy
//! (configuration.txt §3.1 `nbthread`): no work stealing, so no cross-thread wake-up
//! (futex) when a session is spawned or becomes ready, and each thread parks in its
//! own epoll_wait.
//!
//! The listening socket is shared: every thread polls its own duplicate descriptor of
//! it and races for accept(2); the loser gets EAGAIN. Limits (`maxconn`) are the same
//! semaphores for all threads, so they hold process-wide.
//!
//! Which thread wins an accept says nothing about load, so the winner places the new
//! session on the thread that has the fewest sessions ([`pick`]), as HAProxy's
//! `tune.listener.multi-queue` (on by default, configuration.txt §3.2) spreads incoming
//! connections to the least loaded thread. Without it, 16 long-lived connections
//! could land 13 on one thread and 3 on the other: that thread saturates while the
//! other wakes up for every message (measured with `pgbench -S -c 16`: 2.6 times the
//! epoll_wait calls per transaction and 1.8 times the CPU in the bad rounds).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::spec::ThreadSpread;

/// One thread as the sessions see it: where to spawn, and how many sessions it runs.
pub(crate) struct Slot {
    pub(crate) handle: Handle,
    pub(crate) sessions: AtomicUsize,
}

/// The thread for a session accepted by thread `me`. `turn` is the engine's counter
/// for [`ThreadSpread::RoundRobin`].
pub(crate) fn pick(slots: &[Slot], me: usize, spread: ThreadSpread, turn: &AtomicUsize) -> usize {
    match spread {
        ThreadSpread::Off => me,
        ThreadSpread::RoundRobin if !slots.is_empty() => {
            turn.fetch_add(1, Ordering::Relaxed) % slots.len()
        }
        _ => least_loaded(slots, me),
    }
}

/// The thread with the fewest sessions, `me` when it is among them (no hand-over
/// without a gain).
fn least_loaded(slots: &[Slot], me: usize) -> usize {
    let load = |i: usize| {
        slots
            .get(i)
            .map_or(usize::MAX, |s| s.sessions.load(Ordering::Relaxed))
    };
    let mut best = (load(me), me);
    for i in 0..slots.len() {
        let l = load(i);
        if l < best.0 {
            best = (l, i);
        }
    }
    best.1
}

/// How far ahead a worker thread always has a timer (see [`heartbeat`]).
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);

/// Keeps a timer at most [`HEARTBEAT`] ahead on its thread, so that the
/// session timeouts of a second or more never wake the thread for nothing.
///
/// tokio's time driver, when a task sets a timer due before every timer it had
/// when the thread last went to sleep, wakes the thread's own reactor (an
/// eventfd write, then one more epoll_wait that returns at once) in case it is
/// asleep: even when the thread is running and sets the timer itself. With one
/// request per connection, each server connect set such a timer (`timeout
/// connect 5s` against `timeout client 60s`): 0.7 eventfd writes per request,
/// two thirds of them from there (perf, `syscalls:sys_enter_write` with call
/// graphs). With this timer on every thread, a new timer due in more than a
/// second is never the earliest: one wake-up per second instead.
async fn heartbeat() {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
    }
}

/// The threads of an engine. Dropping it stops them: their runtimes drop every task
/// left (sessions close their sockets), after the engine's own stop logic ran.
pub(crate) struct Workers {
    pub(crate) handles: Vec<Handle>,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Start `n` threads named `haproxide-w<i>`.
    pub(crate) fn start(n: usize) -> io::Result<Workers> {
        let mut w = Workers {
            handles: Vec::with_capacity(n),
            stops: Vec::with_capacity(n),
            threads: Vec::with_capacity(n),
        };
        for i in 0..n {
            // IO and timers only: no signal or process driver to service at every
            // park (sessions need neither; the control runtime handles signals).
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()?;
            let (tx, rx) = oneshot::channel::<()>();
            w.handles.push(rt.handle().clone());
            w.stops.push(tx);
            let t = std::thread::Builder::new()
                .name(format!("haproxide-w{i}"))
                .spawn(move || {
                    // Ends when the sender is dropped or used.
                    rt.block_on(async move {
                        let beat = tokio::spawn(heartbeat());
                        let gather = crate::gather::enabled()
                            .then(|| tokio::spawn(crate::gather::flusher()));
                        let _ = rx.await;
                        beat.abort();
                        if let Some(g) = gather {
                            g.abort();
                        }
                    });
                })?;
            w.threads.push(t);
        }
        Ok(w)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stops.clear();
        let me = std::thread::current().id();
        for t in self.threads.drain(..) {
            // Never join ourselves (an engine dropped from one of its own sessions).
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(loads: &[usize]) -> (tokio::runtime::Runtime, Vec<Slot>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let v = loads
            .iter()
            .map(|&l| Slot {
                handle: rt.handle().clone(),
                sessions: AtomicUsize::new(l),
            })
            .collect();
        (rt, v)
    }

    #[test]
    fn on_prefers_the_least_loaded_thread_and_stays_on_ties() {
        let on = |s: &[Slot], me| pick(s, me, ThreadSpread::LeastLoaded, &AtomicUsize::new(0));
        let (_rt, s) = slots(&[5, 3, 3]);
        assert_eq!(on(&s, 0), 1);
        assert_eq!(on(&s, 2), 2, "a tie with the accepting thread keeps it");
        let (_rt, s) = slots(&[2, 2]);
        assert_eq!(on(&s, 1), 1);
        let (_rt, s) = slots(&[0, 7]);
        assert_eq!(on(&s, 1), 0);
        assert_eq!(on(&s, 9), 0, "an unknown thread never wins");
    }

    #[test]
    fn fair_cycles_and_off_keeps_the_accepting_thread() {
        let (_rt, s) = slots(&[0, 9, 9]);
        let turn = AtomicUsize::new(0);
        let got: Vec<usize> = (0..5)
            .map(|_| pick(&s, 0, ThreadSpread::RoundRobin, &turn))
            .collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1], "whatever the loads");
        assert_eq!(pick(&s, 2, ThreadSpread::Off, &turn), 2);
    }
}
