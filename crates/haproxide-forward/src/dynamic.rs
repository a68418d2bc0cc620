//! Servers added and removed at run time (management.txt §9.3 `add server`, `del
//! server`). The per-backend list is a [`haproxide_slots::Slots`] table (see
//! `lb`): appending costs the hot path nothing, and a deleted server is a tombstone
//! whose index is never reused.

use crate::lb::DelServerError;
use crate::spec::ServerSpec;
use crate::Engine;

impl Engine {
    /// `add server`: appends `spec` to backend `backend`; returns the server's
    /// index (the next one after the configured and earlier added servers), or
    /// None for an unknown backend. The caller checked the name is free and
    /// starts the server's health state (maintenance) before it is usable.
    pub fn add_server(&self, backend: usize, spec: ServerSpec) -> Option<usize> {
        let be = self.shared.backends.get(backend)?;
        Some(be.add_server(spec))
    }

    /// `del server`: removes server `server` of `backend`, refused while a session
    /// holds it or waits in its queue (HAProxy's "Server still has connections
    /// attached to it").
    pub fn delete_server(&self, backend: usize, server: usize) -> Result<(), DelServerError> {
        let be = self
            .shared
            .backends
            .get(backend)
            .ok_or(DelServerError::NoServer)?;
        be.delete_server(server)
    }

    /// How many server indexes backend `backend` has, deleted ones included.
    pub fn server_count(&self, backend: usize) -> usize {
        self.shared
            .backends
            .get(backend)
            .map_or(0, |b| b.server_count())
    }

    /// Server `server` of `backend` as it runs (a configured or added one), None if
    /// unknown or deleted.
    pub fn server_spec(&self, backend: usize, server: usize) -> Option<ServerSpec> {
        let be = self.shared.backends.get(backend)?;
        if be.server_deleted(server) {
            return None;
        }
        be.server(server).cloned()
    }
}
