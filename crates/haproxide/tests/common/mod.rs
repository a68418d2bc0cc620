//! Helpers shared by the tests that drive the binary (each test file includes this
//! module; not every file uses every helper). The mocks, the process guard, temp
//! dirs and waits come from haproxide-testkit; what stays here knows haproxide.
#![allow(dead_code, unused_imports)]

pub use haproxide_testkit::fs::TempDir;
pub use haproxide_testkit::proc::Proc;
pub use haproxide_testkit::tcp::{free_port, round_trip, ConnectLoop, OnThread};
/// Polls `f` every 20 ms until it holds or `within` has passed.
pub use haproxide_testkit::wait::until as wait_until;

/// A haproxide child process, stopped when dropped so that a failing test leaves
/// nothing behind: SIGTERM first (a hard stop that removes its handover socket),
/// SIGKILL after 3 s, then the handover socket file is removed in any case.
pub fn guard(child: std::process::Child) -> Proc {
    let sock = haproxide_process::handover::default_path(child.id());
    let dir = haproxide_process::handover::default_dir(child.id());
    Proc::new(child).remove_on_drop(sock).remove_on_drop(dir)
}

/// A TCP echo server on 127.0.0.1 (stopped when dropped; `.port` is its port).
pub fn echo_server() -> OnThread {
    OnThread::start(haproxide_testkit::tcp::echo)
}
