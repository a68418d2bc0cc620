//! A guard for a child process, so that a failing test leaves nothing behind.
//!
//! ```
//! let child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
//! let pid = child.id();
//! let p = haproxide_testkit::proc::Proc::new(child);
//! assert_eq!(p.pid(), pid);
//! drop(p); // SIGTERM; `sleep` exits at once and is reaped
//! assert!(!haproxide_testkit::sys::alive(pid));
//! ```

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

/// A child process stopped when dropped: SIGTERM first (a graceful stop), SIGKILL
/// if it still runs after a grace period (3 s unless [`Proc::grace`] says), then
/// reaped; the paths given to [`Proc::remove_on_drop`] are removed after it stopped.
pub struct Proc(pub Child, Vec<PathBuf>, Duration);

impl Proc {
    pub fn new(child: Child) -> Proc {
        Proc(child, Vec::new(), Duration::from_secs(3))
    }

    /// How long the child has after SIGTERM before SIGKILL.
    pub fn grace(mut self, d: Duration) -> Proc {
        self.2 = d;
        self
    }

    /// Also removes `path` (e.g. a socket the process leaves behind when killed).
    pub fn remove_on_drop(mut self, path: PathBuf) -> Proc {
        self.1.push(path);
        self
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Sends `sig` to the child (unless it was already reaped).
    pub fn signal(&mut self, sig: libc::c_int) {
        if let Ok(None) = self.0.try_wait() {
            crate::sys::kill(self.0.id(), sig);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.signal(libc::SIGTERM);
            let stopped = crate::wait::until(self.2, || matches!(self.0.try_wait(), Ok(Some(_))));
            if !stopped {
                let _ = self.0.kill();
            }
        }
        let _ = self.0.wait();
        for p in &self.1 {
            let _ = std::fs::remove_file(p);
            // An (empty) directory given, such as a handover directory.
            let _ = std::fs::remove_dir(p);
        }
    }
}
