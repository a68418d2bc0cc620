//! The testkit's system calls: every `unsafe` block of the crate is here.

/// Sends `sig` to `pid` (errors, such as a pid already gone, are ignored).
pub fn kill(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(pid, sig) };
    }
}

/// The process `pid` exists (signal 0 only checks).
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, 0) == 0 }
}
