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

use std::io;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

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
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (tx, rx) = oneshot::channel::<()>();
            w.handles.push(rt.handle().clone());
            w.stops.push(tx);
            let t = std::thread::Builder::new()
                .name(format!("haproxide-w{i}"))
                .spawn(move || {
                    // Ends when the sender is dropped or used.
                    let _ = rt.block_on(rx);
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
