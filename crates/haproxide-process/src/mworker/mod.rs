//! Master-worker mode (management.txt §3 `-W`, `-Ws`, `-S`; §9.4 "Master CLI";
//! configuration.txt §3.1 `master-worker`, `mworker-max-reloads`).
//!
//! The master does not serve traffic. It checks the configuration, then starts a
//! worker: the same executable run again (never a `fork()` of a process that has
//! threads), with the same arguments and `HAPROXIDE_WORKER` in its environment.
//! The worker binds the listeners and serves. On SIGUSR2 or SIGHUP (or `reload` on
//! the master CLI) the master checks the configuration again: if it is invalid,
//! the current worker keeps serving and the failure is reported (stderr,
//! `STATUS=` for systemd, `[failed: N]` in `show proc`). Otherwise a new worker
//! takes the listening sockets over from the current one ([`crate::handover`], so
//! the accept queue is shared and nothing is refused), says it is ready, and only
//! then is the old worker soft-stopped (SIGUSR1: it finishes its sessions, bounded by
//! `hard-stop-after`).
//!
//! Between master and worker:
//! - `HAPROXIDE_WORKER=<status fd>,<cli fd>`: the worker writes `READY\n` on the
//!   status socket once it listens (EOF without it: the start failed); the CLI fd is
//!   a listening UNIX socket on which the worker serves its runtime API, for the
//!   master CLI's `@N` / `@!PID` forwarding;
//! - `HAPROXIDE_WORKER_TAKEOVER=<path>`: the current worker's handover socket;
//! - `HAPROXY_MWORKER=1`, as HAProxy sets it (configurations may test it).

pub mod master;
pub mod mcli;
pub mod notify;
pub mod programs;

use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// Environment variable telling a process it is a worker (see the module doc).
pub const WORKER_ENV: &str = "HAPROXIDE_WORKER";
/// The handover socket a new worker takes the listeners from.
pub const TAKEOVER_ENV: &str = "HAPROXIDE_WORKER_TAKEOVER";

/// What a worker received from its master.
#[derive(Debug)]
pub struct WorkerEnv {
    status: Option<OwnedFd>,
    cli: Option<OwnedFd>,
    takeover: Option<PathBuf>,
}

/// An inherited descriptor, if it is open (a stale number is never adopted).
fn inherited(fd: RawFd) -> Option<OwnedFd> {
    crate::sys::adopt_inherited(fd)
}

impl WorkerEnv {
    /// `Some` when this process was started by a master.
    pub fn from_env() -> Option<WorkerEnv> {
        let v = std::env::var(WORKER_ENV).ok()?;
        let mut it = v.split(',').map(|s| s.trim().parse::<RawFd>().ok());
        let status = it.next().flatten().and_then(inherited);
        let cli = it.next().flatten().and_then(inherited);
        let takeover = std::env::var_os(TAKEOVER_ENV)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        Some(WorkerEnv {
            status,
            cli,
            takeover,
        })
    }

    /// The handover socket of the worker being replaced, if any.
    pub fn takeover(&self) -> Option<&Path> {
        self.takeover.as_deref()
    }

    /// The listening socket for the master's forwarded CLI commands.
    pub fn take_cli_listener(&mut self) -> Option<std::os::unix::net::UnixListener> {
        self.cli.take().map(std::os::unix::net::UnixListener::from)
    }

    /// Tell the master the worker listens (sent once). From then on, the end of
    /// the status socket means the master is gone: the worker stops then (SIGTERM to
    /// itself, the hard stop), as HAProxy's workers leave when their master dies.
    pub fn ready(&mut self) {
        let Some(fd) = self.status.take() else {
            return;
        };
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::from(fd);
        if s.write_all(b"READY\n").is_err() {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("haproxide-master-watch".into())
            .spawn(move || {
                let mut buf = [0u8; 64];
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
                // Our own pid; the signal handlers are installed.
                let _ = crate::sys::kill(std::process::id() as i32, libc::SIGTERM);
            });
    }
}
