//! Writes gathered per poll: a session's write to a socket waits until every
//! session that the same wake-up of the thread made ready has had its turn, so
//! the writes of one poll leave the thread together.
//!
//! Why: HAProxy 2.6's scheduler runs the I/O tasklets of every ready connection
//! (the receives) before the stream tasks that write, so the requests of one
//! poll reach a backend in one burst, and the backend (nginx, a PostgreSQL
//! server) finds several of them per wake-up. A tokio task that receives and
//! writes at once sends one request, then does the next connection's receive,
//! parse, rules and log line before its write: the backend, woken by the first,
//! often sleeps again before the second. Measured in docs/performance.md
//! ("Session 16 (lead)", "Session 17 (lead)"): the peers' wake-ups per request
//! and the keep-alive tail latency.
//!
//! How: one flusher task per worker thread ([`flusher`]). A write first awaits
//! [`turn`]: the task's waker joins this thread's list and the flusher is woken
//! (once per batch). Tokio's current-thread scheduler runs woken tasks in order,
//! so the flusher runs after every task that was ready before it, and wakes the
//! waiting writers together, in their order. A thread without a flusher (tests,
//! the control runtime) writes at once.

use std::cell::RefCell;
use std::task::{Poll, Waker};

struct State {
    /// This thread's flusher, once it has run.
    flusher: Option<Waker>,
    /// The writers waiting for their turn, in the order they came.
    waiting: Vec<Waker>,
}

thread_local! {
    static STATE: RefCell<State> = const {
        RefCell::new(State {
            flusher: None,
            waiting: Vec::new(),
        })
    };
}

/// Whether writes are gathered (`HAPROXIDE_GATHER=0` turns it off, to compare).
pub(crate) fn enabled() -> bool {
    mode() != 0
}

/// `HAPROXIDE_GATHER`: unset everything; `0` nothing; else a list of
/// `server`, `client`, `log` (e.g. `server,client`).
fn mode() -> u8 {
    static MODE: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *MODE.get_or_init(|| match std::env::var("HAPROXIDE_GATHER") {
        Ok(v) => v.split(',').fold(0, |m, w| match w {
            "server" => m | Side::Server as u8,
            "client" => m | Side::Client as u8,
            "log" => m | Side::Log as u8,
            _ => m,
        }),
        Err(_) => 7,
    })
}

/// Which way a message goes.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    /// Requests, to the servers.
    Server = 1,
    /// Responses, to the clients.
    Client = 2,
    /// An HTTP request's log line, after the answers of the wake-up.
    Log = 4,
}

impl Side {
    /// Whether a message's first write on this side is gathered.
    pub(crate) fn on(self) -> bool {
        mode() & self as u8 != 0
    }
}

/// Waits for this thread's flusher to run once: returns at once on a thread
/// without one.
pub(crate) async fn turn() {
    let mut queued = false;
    std::future::poll_fn(|cx| {
        if queued {
            return Poll::Ready(());
        }
        let wake = STATE.with(|s| {
            let mut s = s.borrow_mut();
            let f = s.flusher.clone()?;
            let first = s.waiting.is_empty();
            s.waiting.push(cx.waker().clone());
            Some(first.then_some(f))
        });
        match wake {
            None => Poll::Ready(()),
            Some(f) => {
                if let Some(f) = f {
                    f.wake();
                }
                queued = true;
                Poll::Pending
            }
        }
    })
    .await
}

/// The flusher of the current thread: run as a task of each worker runtime,
/// until it is dropped.
pub(crate) async fn flusher() {
    struct Gone;
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = STATE.try_with(|s| {
                if let Ok(mut s) = s.try_borrow_mut() {
                    s.flusher = None;
                    s.waiting.clear();
                }
            });
        }
    }
    let _gone = Gone;
    let mut batch: Vec<Waker> = Vec::new();
    std::future::poll_fn(|cx| {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            std::mem::swap(&mut s.waiting, &mut batch);
            if !s.flusher.as_ref().is_some_and(|f| f.will_wake(cx.waker())) {
                s.flusher = Some(cx.waker().clone());
            }
        });
        for w in batch.drain(..) {
            w.wake();
        }
        Poll::<()>::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell as Cell;
    use std::rc::Rc;

    /// Writers that become ready in one batch write after all of them ran.
    #[test]
    fn writes_wait_for_the_batch() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let local = tokio::task::LocalSet::new();
        let log: Rc<Cell<Vec<String>>> = Rc::default();
        local.block_on(&rt, async {
            let f = tokio::task::spawn_local(flusher());
            tokio::task::yield_now().await;
            let mut tasks = Vec::new();
            for i in 0..3 {
                let log = log.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    log.borrow_mut().push(format!("read {i}"));
                    turn().await;
                    log.borrow_mut().push(format!("write {i}"));
                }));
            }
            for t in tasks {
                t.await.expect("task");
            }
            f.abort();
        });
        assert_eq!(
            *log.borrow(),
            ["read 0", "read 1", "read 2", "write 0", "write 1", "write 2"]
        );
    }

    /// Without a flusher on the thread a write goes at once.
    #[test]
    fn no_flusher_no_wait() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let log: Rc<Cell<Vec<&str>>> = Rc::default();
        let l = log.clone();
        rt.block_on(async move {
            l.borrow_mut().push("read");
            turn().await;
            l.borrow_mut().push("write");
        });
        assert_eq!(*log.borrow(), ["read", "write"]);
    }
}
