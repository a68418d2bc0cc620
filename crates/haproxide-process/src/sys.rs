//! The process crate's system calls: every `unsafe` block of the crate is here,
//! each with the reason it is sound. The rest of the crate is safe code.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

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

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// The credentials of the peer of a connected UNIX socket (`SO_PEERCRED`): for the
/// client side, those of the process that called listen(2) (pid, uid, gid).
pub fn peer_cred(fd: RawFd) -> io::Result<(u32, u32, u32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, a live ucred.
    check(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok((u32::try_from(cred.pid).unwrap_or(0), cred.uid, cred.gid))
}

/// Whether `fd` is a listening stream socket (`SO_ACCEPTCONN` and `SO_TYPE`).
pub fn is_listening_stream(fd: RawFd) -> bool {
    let get = |opt: libc::c_int| -> Option<libc::c_int> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `v`, a live c_int.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(v)
    };
    get(libc::SO_ACCEPTCONN) == Some(1) && get(libc::SO_TYPE) == Some(libc::SOCK_STREAM)
}

/// A socket's local address as getsockname(2) reports it, as a stable text key
/// (`ip:port`, or `unix:PATH`).
pub fn local_key(fd: RawFd) -> Option<String> {
    // SAFETY: a zeroed sockaddr_storage is a valid out-buffer for getsockname, and
    // `len` holds its size; `fd` is only read.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as above.
    let r = unsafe {
        libc::getsockname(
            fd,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return None;
    }
    match i32::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((&ss as *const libc::sockaddr_storage).cast()) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(std::net::SocketAddr::from((ip, u16::from_be(sin.sin_port))).to_string())
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((&ss as *const libc::sockaddr_storage).cast()) };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(std::net::SocketAddr::from((ip, u16::from_be(sin6.sin6_port))).to_string())
        }
        libc::AF_UNIX => {
            // SAFETY: the family says the storage holds a sockaddr_un.
            let sun: libc::sockaddr_un =
                unsafe { std::ptr::read((&ss as *const libc::sockaddr_storage).cast()) };
            let bytes: Vec<u8> = sun
                .sun_path
                .iter()
                .take_while(|c| **c != 0)
                .map(|c| *c as u8)
                .collect();
            Some(format!("unix:{}", String::from_utf8_lossy(&bytes)))
        }
        _ => None,
    }
}

pub fn send_with_fds(sock: &UnixStream, data: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of_val(fds) as u32) } as usize;
    let mut cbuf = vec![0u8; space.max(1)];
    // SAFETY: msghdr is plain data; every pointer set below points into live buffers
    // (`iov`, `cbuf`) that outlive the sendmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points to a buffer of CMSG_SPACE(len) bytes, so the first
        // header and its data fit.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            if cmsg.is_null() {
                return Err(io::Error::other("no room for the control message"));
            }
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of_val(fds) as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr(),
                libc::CMSG_DATA(cmsg).cast::<RawFd>(),
                fds.len(),
            );
        }
    }
    // SAFETY: `msg` is fully initialised above.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receive one message: its data and the descriptors it carried (owned), at most
/// [`crate::getsocks::MAX_SEND_FD`] of them (HAProxy's batch).
pub fn recv_with_fds(sock: &UnixStream) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut data = vec![0u8; 64 * 1024];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe {
        libc::CMSG_SPACE((crate::getsocks::MAX_SEND_FD * std::mem::size_of::<RawFd>()) as u32)
    } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: plain data; pointers refer to `iov` and `cbuf`, alive during recvmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` describes valid buffers; MSG_CMSG_CLOEXEC marks received fds
    // close-on-exec.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    data.truncate(n as usize);
    let mut fds = Vec::new();
    // SAFETY: walking the control messages the kernel wrote into `cbuf`, bounded by
    // msg_controllen; each SCM_RIGHTS payload is an array of fds now owned by us.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let payload = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let count = payload / std::mem::size_of::<RawFd>();
                let base = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..count {
                    let fd = std::ptr::read_unaligned(base.add(i));
                    if fd >= 0 {
                        fds.push(OwnedFd::from_raw_fd(fd));
                    }
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((data, fds))
}
