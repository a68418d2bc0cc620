//! Idle server connections shared between the client connections of a thread
//! (configuration.txt §4.2 `http-reuse`, §5.2 `pool-max-conn`,
//! `pool-purge-delay`).
//!
//! After a response, a server connection that may serve another request goes
//! to its server's pool on the thread that served it (each worker thread has
//! its own reactor, as HAProxy keeps per-thread idle lists). A later request
//! to the same server takes it: with `http-reuse safe` (the default) only a
//! request that is not the first of its client connection; the first one gets
//! a connection of its own (HAProxy 2.6.12 opens one per first request:
//! measured with strace). A connection that served two requests or more is
//! marked proven reusable (what `aggressive` would let first requests take; the
//! other modes are not configurable yet). A connection that carries a PROXY
//! header stays private to its client connection (the session's own list,
//! [`super::MAX_IDLE`]).
//!
//! Memory is bounded as HAProxy bounds it: a server keeps no more idle
//! connections than it recently needed at once (the most requests it had in
//! flight during the current and the previous `pool-purge-delay`), and at most
//! `pool-max-conn`; connections idle for a whole `pool-purge-delay` are closed.
//! So 2,000 client connections that each made one request hold one or two
//! server connections, not 2,000 (HAProxy 2.6.12 holds two: measured with
//! `ss`).

use std::cell::RefCell;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::server_stream::ServerStream;
use tokio::time::Instant;

use crate::lb::BackendRt;

/// `pool-purge-delay` default (configuration.txt §5.2: 5s).
pub(crate) const PURGE_DEFAULT: Duration = Duration::from_secs(5);

/// Which idle connections of other client connections a request may take
/// (§4.2 `http-reuse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// None: a first request under `safe`.
    None,
    /// Any.
    Any,
}

/// One server's idle connections on this thread.
struct Slot {
    be: Weak<BackendRt>,
    srv: usize,
    /// (connection, idle since, proven reusable), oldest first.
    idle: Vec<(ServerStream, Instant, bool)>,
    /// Most requests in flight seen at release time, this window and the last.
    peak: usize,
    prev_peak: usize,
    window: Instant,
    /// The server's `pool-purge-delay` (zero: never purged by age).
    purge: Duration,
}

thread_local! {
    static POOL: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
    static PURGER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn same(slot: &Slot, be: &Arc<BackendRt>, srv: usize) -> bool {
    slot.srv == srv && std::ptr::eq(slot.be.as_ptr(), Arc::as_ptr(be))
}

/// A live idle connection to `be`/`srv` that `take` allows, most recent first;
/// returns it with whether it was proven reusable.
pub(crate) fn take(be: &Arc<BackendRt>, srv: usize, take: Take) -> Option<ServerStream> {
    if take == Take::None {
        return None;
    }
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let slot = p.iter_mut().find(|s| same(s, be, srv))?;
        while let Some(i) = slot
            .idle
            .iter()
            .rposition(|(_, _, safe)| take == Take::Any || *safe)
        {
            let (mut stream, _, _) = slot.idle.remove(i);
            if stream.alive() {
                return Some(stream);
            }
        }
        None
    })
}

/// Gives a server connection that may serve another request back to its
/// server's pool; closes it instead when the pool is full (see the module
/// documentation). `in_flight`: the server's requests in flight now, this one
/// included. `reused`: it served a request before this one.
pub(crate) fn put(
    be: &Arc<BackendRt>,
    srv: usize,
    stream: ServerStream,
    reused: bool,
    in_flight: usize,
    max_conn: Option<usize>,
    purge: Duration,
) {
    let now = Instant::now();
    let spawn = POOL.with(|p| {
        let mut p = p.borrow_mut();
        let i = match p.iter().position(|s| same(s, be, srv)) {
            Some(i) => i,
            None => {
                p.push(Slot {
                    be: Arc::downgrade(be),
                    srv,
                    idle: Vec::new(),
                    peak: 0,
                    prev_peak: 0,
                    window: now,
                    purge,
                });
                p.len() - 1
            }
        };
        let Some(slot) = p.get_mut(i) else {
            return false;
        };
        slot.purge = purge;
        roll(slot, now);
        slot.peak = slot.peak.max(in_flight);
        // This request is done: it no longer needs its connection.
        let need = slot.peak.max(slot.prev_peak).max(1);
        let cap = max_conn.map_or(need, |m| m.min(need));
        // The oldest goes first: the most recent connections are the warmest.
        while slot.idle.len() >= cap && !slot.idle.is_empty() {
            slot.idle.remove(0);
        }
        slot.idle.push((stream, now, reused));
        !PURGER.with(|f| f.replace(true))
    });
    if spawn {
        // One purge task per thread while its pool holds connections.
        tokio::spawn(purger());
    }
}

/// Starts a new estimate window every `pool-purge-delay` (every 5 s when the
/// delay is 0).
fn roll(slot: &mut Slot, now: Instant) {
    let window = if slot.purge.is_zero() {
        PURGE_DEFAULT
    } else {
        slot.purge
    };
    if now.saturating_duration_since(slot.window) >= window {
        slot.prev_peak = slot.peak;
        slot.peak = 0;
        slot.window = now;
    }
}

/// Closes connections idle for their server's `pool-purge-delay` or more, those
/// the server closed, and those of backends no longer running; returns how
/// many remain.
fn purge_now(now: Instant) -> usize {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        p.retain_mut(|slot| {
            if slot.be.strong_count() == 0 {
                return false;
            }
            roll(slot, now);
            let purge = slot.purge;
            slot.idle.retain_mut(|(stream, since, _)| {
                (purge.is_zero() || now.saturating_duration_since(*since) < purge) && stream.alive()
            });
            !slot.idle.is_empty() || slot.peak > 0 || slot.prev_peak > 0
        });
        p.iter().map(|s| s.idle.len()).sum()
    })
}

async fn purger() {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if purge_now(Instant::now()) == 0 {
            PURGER.with(|f| f.set(false));
            return;
        }
    }
}
