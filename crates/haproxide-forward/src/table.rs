//! The session table: every live session by id, for `show sess`, `shutdown
//! session` and the hard stop (management.txt §9.3).
//!
//! A session in a task is reached through its kill switch ([`Kill`], shared
//! with the task). An idle HTTP keep-alive connection held by its thread's
//! waiter (`http::idle`) has no task and no kill switch of its own: its entry
//! names its slot in the waiter ([`HeldAt`]), which keeps the same facts and a
//! kill flag inline (issue 14: a kill switch is 160 bytes of heap per idle
//! connection, allocated among the short-lived ones of its first request).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use crate::http::idle::HeldAt;
use crate::lb::Kill;
use crate::Shared;

/// Where a live session is reached.
pub(crate) enum Entry {
    /// In its task: its kill switch.
    Live(Arc<Kill>),
    /// Held by its thread's idle-connection waiter.
    Held(HeldAt),
}

/// What `show sess` tells of a session (indexes as in the engine spec).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Facts {
    pub(crate) fe: usize,
    pub(crate) src: Option<SocketAddr>,
    pub(crate) dst: Option<SocketAddr>,
    pub(crate) started: Instant,
    pub(crate) accepted: SystemTime,
    pub(crate) backend: Option<usize>,
}

impl Facts {
    pub(crate) fn of(k: &Kill) -> Facts {
        let (fe, src, started) = k.origin;
        Facts {
            fe,
            src,
            dst: k.dst,
            started,
            accepted: k.accepted,
            backend: k.backend(),
        }
    }

    /// A kill switch telling the same (a held connection served again).
    pub(crate) fn kill(&self) -> Kill {
        let k = Kill::for_session(self.fe, self.src, self.dst, self.accepted, self.started);
        if let Some(b) = self.backend {
            k.set_backend(b);
        }
        k
    }
}

/// Every live session, by session id. Sharded by id, so that sessions
/// starting and ending on different threads rarely meet on a lock.
///
/// Lock order: a waiter's lock, then a shard's (`hold`, `take` in
/// `http::idle`); never a waiter's while a shard's is held.
pub(crate) struct SessionTable {
    shards: [Mutex<HashMap<u64, Entry>>; 16],
}

impl Default for SessionTable {
    fn default() -> Self {
        SessionTable {
            shards: std::array::from_fn(|_| Default::default()),
        }
    }
}

/// How many times a kill looks a session up again when it moved between
/// its task and its waiter while being reached (each move is done under the
/// waiter's lock, so one retry sees the new place; a few for safety).
const RETRIES: usize = 4;

impl SessionTable {
    fn shard(&self, sid: u64) -> MutexGuard<'_, HashMap<u64, Entry>> {
        let m = &self.shards[(sid % 16) as usize];
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn insert(&self, sid: u64, kill: Arc<Kill>) {
        self.shard(sid).insert(sid, Entry::Live(kill));
    }

    fn remove(&self, sid: u64) {
        self.shard(sid).remove(&sid);
    }

    /// Kills session `sid` for `why`; false when there is none.
    pub(crate) fn kill(&self, sid: u64, why: crate::CutReason) -> bool {
        for _ in 0..RETRIES {
            let at = match self.shard(sid).get(&sid) {
                None => return false,
                Some(Entry::Live(k)) => Ok(k.clone()),
                Some(Entry::Held(h)) => Err(h.clone()),
            };
            match at {
                Ok(k) => {
                    k.kill(why);
                    return true;
                }
                Err(h) => {
                    if h.kill(sid, why.letter()) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Every session registered now, by id (for `show sess`).
    pub(crate) fn all(&self) -> Vec<(u64, Facts)> {
        let mut live = Vec::new();
        let mut held = Vec::new();
        for m in &self.shards {
            let m = m.lock().unwrap_or_else(|e| e.into_inner());
            for (id, e) in m.iter() {
                match e {
                    Entry::Live(k) => live.push((*id, Facts::of(k))),
                    Entry::Held(h) => held.push((*id, h.clone())),
                }
            }
        }
        // No shard lock held while asking the waiters (lock order).
        live.extend(held.into_iter().filter_map(|(id, h)| {
            let f = h.facts(id).or_else(|| match self.shard(id).get(&id) {
                Some(Entry::Live(k)) => Some(Facts::of(k)),
                _ => None,
            })?;
            Some((id, f))
        }));
        live.sort_by_key(|(id, _)| *id);
        live
    }

    /// Kill every session registered now (sessions registering later see the
    /// engine's stop flag themselves). No lock is held while killing.
    pub(crate) fn kill_all(&self, why: crate::CutReason) {
        let mut ids = Vec::new();
        for m in &self.shards {
            ids.extend(m.lock().unwrap_or_else(|e| e.into_inner()).keys().copied());
        }
        for sid in ids {
            self.kill(sid, why);
        }
    }

    /// A session going to its waiter at `at`: its entry names the slot instead
    /// of its kill switch, when nobody else holds the switch (`kill`: the
    /// session's own; the table holds the other). True: done, drop `kill`
    /// (the waiter's slot is where it is reached now). False: someone holds
    /// the switch now (a `show sess` or a kill under way): the held
    /// connection keeps it and is reached through it.
    pub(crate) fn fold(&self, sid: u64, kill: &Arc<Kill>, at: HeldAt) -> bool {
        let mut m = self.shard(sid);
        let Some(e) = m.get_mut(&sid) else {
            return false;
        };
        let mine = matches!(e, Entry::Live(k) if Arc::ptr_eq(k, kill));
        // Two: the table's and `kill`. Every other copy is made from one of
        // them, the table's under this lock.
        if !mine || Arc::strong_count(kill) != 2 || kill.reason() != 0 {
            return false;
        }
        *e = Entry::Held(at);
        true
    }

    /// A held session back in a task (or ending): reached through `kill` again.
    pub(crate) fn revive(&self, sid: u64, kill: Arc<Kill>) {
        if let Some(e) = self.shard(sid).get_mut(&sid) {
            *e = Entry::Live(kill);
        }
    }
}

/// A session's entry in the [`SessionTable`], removed when the session ends.
pub(crate) struct Registered {
    pub(crate) shared: Arc<Shared>,
    pub(crate) sid: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.shared.sessions.remove(self.sid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch() -> Arc<Kill> {
        Arc::new(Kill::for_session(
            0,
            None,
            None,
            SystemTime::now(),
            Instant::now(),
        ))
    }

    fn nowhere() -> HeldAt {
        HeldAt::nowhere()
    }

    /// A kill switch is folded only when the table and the session hold the
    /// only copies: a copy held elsewhere (a `show sess` or a kill under
    /// way) could be killed after the fold and nobody would see it.
    #[test]
    fn folds_only_an_unshared_switch() {
        let t = SessionTable::default();
        let k = switch();
        t.insert(7, k.clone());
        let other = k.clone();
        assert!(!t.fold(7, &k, nowhere()), "a third copy exists");
        drop(other);
        assert!(!t.fold(8, &k, nowhere()), "not this session's entry");
        k.kill(crate::CutReason::Killed);
        assert!(
            !t.fold(7, &k, nowhere()),
            "already killed: ended by its task"
        );
        let k = switch();
        t.insert(7, k.clone());
        assert!(t.fold(7, &k, nowhere()));
    }

    /// A kill that finds the entry's slot empty (the session went back to a
    /// task) looks again and reaches the switch the table names then.
    #[test]
    fn a_kill_follows_a_session_back_to_its_task() {
        let t = SessionTable::default();
        let k = switch();
        t.insert(3, k.clone());
        assert!(t.fold(3, &k, nowhere()));
        drop(k);
        assert!(!t.kill(3, crate::CutReason::Killed), "no waiter holds it");
        assert_eq!(t.all().len(), 0, "nothing to tell of it");
        let back = switch();
        t.revive(3, back.clone());
        assert!(t.kill(3, crate::CutReason::Killed));
        assert_eq!(back.reason(), b'K');
        assert_eq!(t.all().len(), 1);
        assert!(!t.kill(4, crate::CutReason::Killed), "no such session");
    }
}
