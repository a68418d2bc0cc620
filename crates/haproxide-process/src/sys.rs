//! The process crate's system calls: every `unsafe` block of the crate is here,
//! each with the reason it is sound. The rest of the crate is safe code.
//!
//! (The listener handover, `handover.rs`, still holds its own; it moves here
//! once its rework for issue 13 has landed.)

use std::ffi::CStr;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `RLIMIT_NOFILE` (soft, hard), if the kernel tells.
pub fn rlimit_nofile() -> Option<(u64, u64)> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) };
    (r == 0).then_some((l.rlim_cur, l.rlim_max))
}

/// Sets `RLIMIT_NOFILE` (soft, hard).
pub fn set_rlimit_nofile(cur: u64, max: u64) -> io::Result<()> {
    let l = libc::rlimit {
        rlim_cur: cur,
        rlim_max: max,
    };
    // SAFETY: setrlimit reads the struct it is given.
    check(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) })
}

/// chroot(2) into `dir`, then chdir("/"), so that no directory outside the new
/// root stays reachable.
pub fn chroot(dir: &CStr) -> io::Result<()> {
    // SAFETY: a valid NUL-terminated path.
    check(unsafe { libc::chroot(dir.as_ptr()) })?;
    // SAFETY: as above.
    check(unsafe { libc::chdir(c"/".as_ptr()) })
}

/// The effective user is root.
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// Clears the supplementary groups (setgroups(0)).
pub fn clear_groups() -> io::Result<()> {
    // SAFETY: a zero-length list; the pointer is not read.
    check(unsafe { libc::setgroups(0, std::ptr::null()) })
}

/// setgid(2); glibc applies it to every thread of the process.
pub fn setgid(gid: u32) -> io::Result<()> {
    // SAFETY: a plain system call on an integer.
    check(unsafe { libc::setgid(gid) })
}

/// setuid(2); glibc applies it to every thread of the process.
pub fn setuid(uid: u32) -> io::Result<()> {
    // SAFETY: a plain system call on an integer.
    check(unsafe { libc::setuid(uid) })
}

/// kill(2). A stale pid only yields ESRCH.
pub fn kill(pid: i32, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill(2) has no memory-safety preconditions.
    check(unsafe { libc::kill(pid, sig) })
}

/// A descriptor inherited from the parent (`fd` ≥ 3), if it is open: marked
/// close-on-exec and owned from now on (a stale number is never adopted).
pub fn adopt_inherited(fd: RawFd) -> Option<OwnedFd> {
    if fd < 3 {
        return None;
    }
    // SAFETY: F_GETFD only queries the descriptor table.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: the fd is open and was given to this process for it alone; mark it
    // close-on-exec so that nothing we start inherits it.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        Some(OwnedFd::from_raw_fd(fd))
    }
}

/// Makes `cmd`'s child inherit `fds` (their close-on-exec flag is cleared in
/// the child, between fork and exec).
pub fn inherit_on_exec(cmd: &mut tokio::process::Command, fds: [RawFd; 2]) {
    // SAFETY: the closure runs between fork and exec and only calls fcntl(2),
    // which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            for fd in fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// `CLOCK_MONOTONIC` in microseconds.
pub fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1000
}

/// Detach from the terminal: fork, setsid, fork again, stdio to /dev/null.
///
/// Call it while the process has a single thread (before any runtime starts).
pub fn daemonize() -> io::Result<()> {
    // SAFETY: the caller runs it before any other thread is spawned, so fork()
    // cannot duplicate a lock held by another thread.
    unsafe {
        match libc::fork() {
            -1 => return Err(io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
        }
        match libc::fork() {
            -1 => return Err(io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    use std::os::fd::AsRawFd;
    for fd in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors with a valid open fd.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A user name → its uid, through NSS (`getpwnam_r`: files, LDAP, sssd...).
pub fn user_id(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: all pointers are valid for the call; `buf` outlives `res`.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut res: *mut libc::passwd = std::ptr::null_mut();
        let r = libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut res);
        (r == 0 && !res.is_null()).then_some(pw.pw_uid)
    }
}

/// A group name → its gid, through NSS (`getgrnam_r`).
pub fn group_id(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: all pointers are valid for the call; `buf` outlives `res`.
    unsafe {
        let mut gr: libc::group = std::mem::zeroed();
        let mut res: *mut libc::group = std::ptr::null_mut();
        let r = libc::getgrnam_r(c.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut res);
        (r == 0 && !res.is_null()).then_some(gr.gr_gid)
    }
}

/// The system's accounts through NSS ([`user_id`], [`group_id`]): the lookup the
/// config crate is given for `user`/`group` lines and `stats socket` options.
#[derive(Debug, Clone, Copy, Default)]
pub struct NssAccounts;

impl haproxide_config::Accounts for NssAccounts {
    fn user_id(&self, name: &str) -> Option<u32> {
        user_id(name)
    }
    fn group_id(&self, name: &str) -> Option<u32> {
        group_id(name)
    }
}
