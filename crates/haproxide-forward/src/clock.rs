//! The time of a session task's wake-up (issue 14: clock reads per request).
//!
//! A keep-alive request read the clock ~19 times (callgrind: `Instant::now`
//! from the exchange's timers, each `tokio::time::timeout`, the connect wait,
//! the rate counters, the pool, the log's timers), each a vDSO `clock_gettime`
//! (~25 ns). HAProxy reads it once per pass of its poller (`now_ms`). Here a
//! session task is polled through [`Timed`]: the first [`now`] of a poll reads
//! the clock, the next ones of the same poll return that reading. A poll is
//! the work between two waits (microseconds), so a deadline set from it is
//! early by at most the time the poll has run so far, and a timer read in it
//! is that much short: below the milliseconds of HAProxy's timers and logs.
//! Outside a [`Timed`] poll (other tasks, tests) [`now`] reads the clock.
//!
//! Dates (a request's accept date, its log's) are the monotonic reading plus
//! the offset to the wall clock, read again at most once a second per thread
//! ([`now_wall`]), as HAProxy derives `date` from `now`: a request read the
//! wall clock three more times (h2c, callgrind: 7.6 clock reads per request,
//! HAProxy 0.2; docs/performance.md "Session 18 (h2w)"). A step of the system
//! clock shows in the dates within that second.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

thread_local! {
    /// Inside a [`Timed`] poll (`true`), with the time read in it if any.
    static NOW: Cell<(bool, Option<Instant>)> = const { Cell::new((false, None)) };
}

/// The time: inside a [`Timed`] poll, the one its first call read.
pub(crate) fn now() -> Instant {
    NOW.try_with(|c| match c.get() {
        (true, Some(t)) => t,
        (true, None) => {
            let t = Instant::now();
            c.set((true, Some(t)));
            t
        }
        (false, _) => Instant::now(),
    })
    .unwrap_or_else(|_| Instant::now())
}

thread_local! {
    /// The last reading of the wall clock, and the monotonic time it was taken at.
    static WALL: Cell<Option<(Instant, SystemTime)>> = const { Cell::new(None) };
}

/// How long a wall-clock reading serves (see the module's documentation).
const WALL_FOR: Duration = Duration::from_secs(1);

/// The date and the time ([`now`]): the date is the thread's last wall-clock
/// reading moved on by the monotonic clock, read again once it is a second old.
pub(crate) fn now_wall() -> (SystemTime, Instant) {
    let t = now();
    let date = WALL
        .try_with(|w| match w.get() {
            Some((at, date)) if t >= at && t - at < WALL_FOR => date + (t - at),
            _ => {
                let date = SystemTime::now();
                w.set(Some((t, date)));
                date
            }
        })
        .unwrap_or_else(|_| SystemTime::now());
    (date, t)
}

/// `t.elapsed()` against [`now`].
pub(crate) fn since(t: Instant) -> Duration {
    now().saturating_duration_since(t)
}

/// `tokio::time::timeout` with its deadline from [`now`].
pub(crate) fn timeout<F: Future>(d: Duration, f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout_at(now() + d, f)
}

pin_project_lite::pin_project! {
    /// A future each poll of which has one time ([`now`]).
    pub(crate) struct Timed<F> {
        #[pin]
        inner: F,
    }
}

impl<F> Timed<F> {
    pub(crate) fn new(inner: F) -> Timed<F> {
        Timed { inner }
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Nested: the outer poll's time comes back after the inner one.
        let prev = NOW.try_with(|c| c.replace((true, None))).ok();
        let r = self.project().inner.poll(cx);
        if let Some(p) = prev {
            let _ = NOW.try_with(|c| c.set(p));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived date follows the monotonic clock between readings of the
    /// wall clock, and stays within a few milliseconds of it.
    #[test]
    fn dates_follow_the_monotonic_clock() {
        let (d0, t0) = now_wall();
        std::thread::sleep(Duration::from_millis(30));
        let (d1, t1) = now_wall();
        let moved = d1.duration_since(d0).unwrap_or_default();
        assert_eq!(moved, t1 - t0, "derived from the same reading");
        let wall = SystemTime::now();
        let off = match wall.duration_since(d1) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        assert!(
            off < Duration::from_millis(5),
            "{off:?} from the wall clock"
        );
    }

    /// A reading older than a second is taken again.
    #[test]
    fn the_wall_clock_is_read_again_after_a_second() {
        let (_, t0) = now_wall();
        WALL.with(|w| {
            // As if read 2 s ago, and 10 s off since (a step of the clock).
            let at = t0 - Duration::from_secs(2);
            w.set(Some((at, SystemTime::now() - Duration::from_secs(12))));
        });
        let (d, _) = now_wall();
        let off = match SystemTime::now().duration_since(d) {
            Ok(x) => x,
            Err(e) => e.duration(),
        };
        assert!(off < Duration::from_secs(1), "the step shows: {off:?}");
    }

    /// One reading per poll: the same time within a poll, a new one in the
    /// next; outside, the clock itself.
    #[tokio::test(start_paused = true)]
    async fn one_time_per_poll() {
        let (a, b, c) = Timed::new(async {
            let a = now();
            // The clock moves within the poll (paused: by hand)...
            tokio::time::advance(Duration::from_millis(5)).await;
            let b = now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            let c = now();
            (a, b, c)
        })
        .await;
        // `advance` did not end the poll... (it may yield: then b is later)
        assert!(b >= a);
        // ...a sleep does: the next poll reads the clock again.
        assert!(c >= a + Duration::from_millis(15), "{:?}", c - a);
        assert!(!NOW.with(Cell::get).0);
        let t = now();
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(now() - t, Duration::from_millis(1));
    }

    /// Within one poll the time does not move, however long the poll runs.
    #[test]
    fn frozen_within_a_poll() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(Timed::new(async {
            let a = now();
            std::thread::sleep(Duration::from_millis(3));
            assert_eq!(now(), a);
            assert_eq!(since(a), Duration::ZERO);
        }));
        let a = now();
        std::thread::sleep(Duration::from_millis(3));
        assert!(now() > a);
    }
}
