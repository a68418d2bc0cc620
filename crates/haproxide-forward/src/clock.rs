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

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

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
