//! [`IdMap`]: (backend, server) of the engine → the checker's [`ServerId`], read by
//! the forwarder on every server choice and grown by `add server`.

use haproxide_check::checker::ServerId;
use haproxide_slots::Slots;
use std::collections::HashMap;

/// Per backend, a [`Slots`] table indexed like the engine's server list (which is
/// append-only too): a lookup is two atomic loads, no lock, and an index added by
/// `add server` is visible as soon as it is pushed (before the engine's server, so
/// the forwarder never sees a server without its health entry).
#[derive(Debug, Default)]
pub struct IdMap {
    backends: Vec<Slots<Option<ServerId>>>,
}

impl IdMap {
    /// From the start-up map; `servers[b]` is backend `b`'s configured server count.
    pub fn new(ids: &HashMap<(usize, usize), ServerId>, servers: &[usize]) -> IdMap {
        IdMap {
            backends: servers
                .iter()
                .enumerate()
                .map(|(b, &n)| (0..n).map(|s| ids.get(&(b, s)).copied()).collect())
                .collect(),
        }
    }

    /// The checker id of server `s` of backend `b`.
    #[inline]
    pub fn get(&self, &(b, s): &(usize, usize)) -> Option<&ServerId> {
        self.backends.get(b)?.get(s)?.as_ref()
    }

    /// Appends the entry of backend `b`'s next server; returns its index.
    pub fn push(&self, b: usize, id: Option<ServerId>) -> Option<usize> {
        Some(self.backends.get(b)?.push(id))
    }

    /// How many server indexes backend `b` has here.
    pub fn len(&self, b: usize) -> usize {
        self.backends.get(b).map_or(0, Slots::len)
    }
}
