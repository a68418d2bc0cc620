//! haproxide-forward: HAProxy's TCP mode. It runs listeners, picks a backend and a
//! server, relays the bytes, and keeps a per-server session registry.
//!
//! It takes plain [`spec`] structs and never sees the configuration crate.
//! Health comes in through [`ServerHealth`], and finished sessions go out through
//! [`SessionLogger`]. `haproxide-server` wires both to the check crate and to the logs.

pub mod spec;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use spec::*;

/// Whether a server may receive new sessions now (UP and not in maintenance or drain).
/// Indexes are positions in [`EngineSpec::backends`] and [`BackendSpec::servers`].
pub trait ServerHealth: Send + Sync + 'static {
    fn usable(&self, backend: usize, server: usize) -> bool;
}

/// Every server is always usable (no health checks).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysUp;

impl ServerHealth for AlwaysUp {
    fn usable(&self, _backend: usize, _server: usize) -> bool {
        true
    }
}

/// One finished session: what `option tcplog` prints (configuration.txt §8.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub client: SocketAddr,
    /// The address the client connected to.
    pub frontend_addr: Option<SocketAddr>,
    pub accepted_at: SystemTime,
    pub frontend: String,
    /// `<NOSRV>`-style placeholders are the logger's business: None means none chosen.
    pub backend: Option<String>,
    pub server: Option<String>,
    /// `Tw`: time waiting in queues, ms (-1 if never reached).
    pub tw: i64,
    /// `Tc`: time to establish the server connection, ms (-1 if never established).
    pub tc: i64,
    /// `Tt`: total session duration, ms.
    pub tt: i64,
    /// Bytes sent from the server to the client (HAProxy's `bytes_read`).
    pub bytes_read: u64,
    /// Bytes sent from the client to the server.
    pub bytes_uploaded: u64,
    /// HAProxy's two-character termination state (`--`, `CD`, `SD`, `sC`, `SC`, `CC`, `cD`, `sD`, `KD`...).
    pub termination: [u8; 2],
    /// Concurrent sessions on the process, frontend, backend and server at logging time.
    pub actconn: u64,
    pub feconn: u64,
    pub beconn: u64,
    pub srv_conn: u64,
    /// Connection retries to servers.
    pub retries: u32,
    /// Whether a retry went to another server (`+` prefix on retries).
    pub redispatched: bool,
    pub srv_queue: u64,
    pub backend_queue: u64,
}

/// Receives each finished session.
pub trait SessionLogger: Send + Sync + 'static {
    fn log(&self, record: &SessionRecord);
}

/// Logs nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLog;

impl SessionLogger for NoLog {
    fn log(&self, _record: &SessionRecord) {}
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("frontend '{frontend}': cannot bind {addr}: {source}")]
    Bind {
        frontend: String,
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid specification: {0}")]
    Spec(String),
}

/// Live counters (for `show stat`, tests and logs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub current: u64,
    pub total: u64,
}

/// A running engine. Dropping it hard-stops everything.
pub struct Engine {
    _private: (),
}

impl Engine {
    /// Bind every listener and start accepting.
    pub async fn start(
        spec: EngineSpec,
        health: Arc<dyn ServerHealth>,
        logger: Arc<dyn SessionLogger>,
    ) -> Result<Engine, StartError> {
        let _ = (spec, health, logger);
        Err(StartError::Spec("the forwarding engine is not implemented yet".into()))
    }

    /// The addresses actually bound, per frontend (useful with port 0).
    pub fn local_addrs(&self) -> Vec<(String, SocketAddr)> {
        Vec::new()
    }

    /// Cut every session established to this server (`on-marked-down
    /// shutdown-sessions`, `shutdown sessions server`). Returns how many were cut.
    pub fn shutdown_server_sessions(&self, backend: usize, server: usize) -> usize {
        let _ = (backend, server);
        0
    }

    /// Cut every session to the backup servers of a backend (`on-marked-up
    /// shutdown-backup-sessions`).
    pub fn shutdown_backup_sessions(&self, backend: usize) -> usize {
        let _ = backend;
        0
    }

    /// Sessions currently established to a server, and in total since start.
    pub fn server_counters(&self, backend: usize, server: usize) -> Counters {
        let _ = (backend, server);
        Counters::default()
    }

    /// Soft stop (SIGUSR1): close the listeners, let sessions finish; after
    /// `hard_stop_after`, cut what remains. Resolves when no session is left.
    pub async fn soft_stop(&self, hard_stop_after: Option<Duration>) {
        let _ = hard_stop_after;
    }

    /// Hard stop (SIGTERM): close everything now.
    pub fn hard_stop(&self) {}
}
