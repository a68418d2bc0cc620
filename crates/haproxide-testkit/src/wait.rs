//! Polling with a deadline: every wait of a test is bounded.
//!
//! ```
//! use std::time::{Duration, Instant};
//! let start = Instant::now();
//! assert!(haproxide_testkit::wait::until(Duration::from_secs(1), || {
//!     start.elapsed() > Duration::from_millis(50)
//! }));
//! assert!(!haproxide_testkit::wait::until(Duration::from_millis(60), || false));
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

/// How often the pollers try again.
pub const POLL: Duration = Duration::from_millis(20);

/// Polls `f` every 20 ms until it holds (`true`) or `within` has passed (`false`).
pub fn until(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(POLL);
    }
    false
}

/// Polls `f` every `every` until it gives a value; panics naming `what` after
/// `within`.
pub fn for_some<T>(
    what: &str,
    within: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?}: {what}"
        );
        std::thread::sleep(every);
    }
}

/// [`until`] for async tests: awaits `f()` every 20 ms (tokio's clock) until it
/// holds or `within` has passed.
pub async fn until_async<F, Fut>(within: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    false
}
