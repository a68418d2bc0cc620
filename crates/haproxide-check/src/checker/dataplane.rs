//! The forwarder's side of the checker, called directly (no channel, no polling):
//! a transition reaches it however many events come at once, and the session
//! counts the checker prints are read when a line is written.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{HealthView, ServerId, Shared};
use crate::state::Transition;

/// What the checker tells the forwarder, and asks it.
pub trait Dataplane: Send + Sync + 'static {
    /// Sessions currently on server `id`: HAProxy prints it in "Server be/s is
    /// DOWN. ... N sessions active" and in `send-state`'s `scur`.
    fn sessions(&self, id: ServerId) -> u32;
    /// Server `id` changed operational state (`on-marked-down
    /// shutdown-sessions` and `on-marked-up shutdown-backup-sessions` act on
    /// it). Called on the task that made the change, once the server's state
    /// is unlocked, before subscribers hear of it: it must not block.
    fn transition(&self, id: ServerId, transition: &Transition);
    /// An agent reply set server `id`'s maxconn (`maxconn:N`, configuration.txt
    /// §5.2 `agent-check`). Called before the reply's state changes are applied,
    /// so whoever sees those sees the new limit too. Must not block.
    fn set_maxconn(&self, _id: ServerId, _maxconn: u32) {}
}

impl Shared {
    /// Sessions on server `i`: from the dataplane once attached, else the last
    /// [`HealthView::set_sessions`].
    pub(super) fn sessions_on(&self, i: usize) -> u32 {
        match self.dataplane.get() {
            Some(d) => d.sessions(ServerId(i)),
            None => self.slots[i].sessions.load(Ordering::Relaxed),
        }
    }

    pub(super) fn dataplane_maxconn(&self, i: usize, maxconn: u32) {
        if let Some(d) = self.dataplane.get() {
            d.set_maxconn(ServerId(i), maxconn);
        }
    }

    pub(super) fn tell_dataplane(&self, i: usize, t: &Transition) {
        if let Some(d) = self.dataplane.get() {
            d.transition(ServerId(i), t);
        }
    }
}

impl HealthView {
    /// Attaches the forwarder (once; `false` if one already is).
    pub fn attach_dataplane(&self, dataplane: Arc<dyn Dataplane>) -> bool {
        self.shared.dataplane.set(dataplane).is_ok()
    }
}
