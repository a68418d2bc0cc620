//! The forwarding engine's system calls (and one in-place box write): every
//! `unsafe` block of the crate is here, each with the reason it is sound. The
//! rest of the crate is safe code.

use std::io;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};

use socket2::{Socket, Type};

/// `RLIMIT_NOFILE`'s soft limit, if the kernel tells.
pub(crate) fn nofile_soft_limit() -> Option<u64> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0;
    ok.then_some(rl.rlim_cur)
}

/// A new non-blocking, close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two new descriptors into `fds` when it returns 0.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// splice(2) without offsets, non-blocking, moving pages when it can.
pub(crate) fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: a plain system call on descriptors owned by the caller's streams and
    // pipe; null offsets, as required for sockets and pipes.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Takes an inherited listening socket, `fd@N` (configuration.txt §4.2 `bind`,
/// §3.1 `stats socket`): the one check every `fd@` user goes through. `n` must
/// not be stdin/stdout/stderr, must be open, and must be a stream socket in the
/// listening state. When it is refused, the descriptor is left open and unowned:
/// we never close a descriptor we did not open. The caller makes sure each `N`
/// is taken once.
pub fn adopt_listening_fd(n: RawFd) -> io::Result<Socket> {
    if n <= 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "fd@ refuses stdin/stdout/stderr",
        ));
    }
    // SAFETY: fcntl(F_GETFD) only queries the descriptor table; it is the
    // check that `n` is an open descriptor before anything takes ownership.
    if unsafe { libc::fcntl(n, libc::F_GETFD) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `n` is open (checked above) and is not 0-2. `fd@N` means the
    // descriptor was inherited from the parent for this listener, so nothing
    // else in the process owns it (the caller takes each N once). If it is not
    // a listening stream socket, ownership is given back with into_raw_fd().
    let sock = unsafe { Socket::from_raw_fd(n) };
    let check = (|| -> io::Result<bool> {
        let is_stream = sock.r#type()? == Type::STREAM;
        let listening = sock.is_listener()?;
        Ok(is_stream && listening)
    })();
    match check {
        Ok(true) => Ok(sock),
        Ok(false) => {
            let _ = sock.into_raw_fd();
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a listening stream socket",
            ))
        }
        Err(e) => {
            let _ = sock.into_raw_fd();
            Err(e)
        }
    }
}

/// Registers a listening socket with the current runtime's IO driver, for
/// readability (accepts).
pub(crate) fn poll_listener(sock: Socket) -> io::Result<tokio::io::unix::AsyncFd<Socket>> {
    // SAFETY: a socket2::Socket owns its descriptor: it stays open and the same for
    // as long as the AsyncFd owns the Socket, and as_raw_fd() always returns it.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(sock, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)
}

/// A new epoll instance, close-on-exec, registered with the current
/// runtime's IO driver for readability (something it watches is ready): the
/// per-thread waiter of idle HTTP keep-alive connections (`http::idle`).
pub(crate) fn epoll_new() -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    // SAFETY: epoll_create1 takes no pointer; a non-negative result is a new
    // descriptor that nothing else owns.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by no one else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: an OwnedFd keeps its descriptor open and the same for as long as
    // the AsyncFd owns it, and as_raw_fd() always returns it.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)
}

/// Watches `fd` for input, hang-up or error (level-triggered), reported with
/// `token`.
pub(crate) fn epoll_add(ep: RawFd, fd: RawFd, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
        u64: token,
    };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call; the
    // kernel checks both descriptors.
    if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Stops watching `fd`.
pub(crate) fn epoll_del(ep: RawFd, fd: RawFd) -> io::Result<()> {
    // SAFETY: EPOLL_CTL_DEL ignores the event pointer (null is allowed since
    // Linux 2.6.9); the kernel checks both descriptors.
    if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The tokens of the watched descriptors ready now (at most 64; no wait),
/// appended to `out`; how many.
pub(crate) fn epoll_ready(ep: RawFd, out: &mut Vec<u64>) -> io::Result<usize> {
    const MAX: usize = 64;
    let mut evs = [libc::epoll_event { events: 0, u64: 0 }; MAX];
    // SAFETY: `evs` has room for MAX events and outlives the call; timeout 0
    // never blocks.
    let n = unsafe { libc::epoll_wait(ep, evs.as_mut_ptr(), MAX as libc::c_int, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    out.extend(evs.iter().take(n).map(|e| e.u64));
    Ok(n)
}

/// HAProxy's `silent-drop` on a client socket (configuration.txt §4.2): TCP
/// repair mode, so that closing sends nothing (needs CAP_NET_ADMIN), else a
/// TTL of 1 so the reset dies on the way; then no linger (a reset, not a FIN).
pub(crate) fn silent_drop(fd: RawFd) {
    let one: libc::c_int = 1;
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let ptr = (&one as *const libc::c_int).cast::<libc::c_void>();
    // SAFETY: setsockopt reads `len` bytes from `ptr`, an int on our stack; the
    // descriptor belongs to the caller's live socket.
    let repaired = unsafe { libc::setsockopt(fd, libc::SOL_TCP, libc::TCP_REPAIR, ptr, len) } == 0;
    if !repaired {
        // SAFETY: as above (IPv4 TTL; the IPv6 hop limit for an IPv6 socket).
        unsafe {
            libc::setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, ptr, len);
            libc::setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, ptr, len);
        }
    }
    let lg = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let llen = std::mem::size_of::<libc::linger>() as libc::socklen_t;
    // SAFETY: setsockopt reads a `linger` struct from our stack.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&lg as *const libc::linger).cast::<libc::c_void>(),
            llen,
        );
    }
}

/// Gives the C heap's free pages back to the kernel: glibc's `malloc_trim(0)`,
/// which releases the free whole pages inside the heap too, not only at its top
/// (`http::idle` calls it after a burst of connections went idle: their tasks'
/// memory is free then, but stays resident otherwise). True when some were.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn heap_trim() -> bool {
    // SAFETY: malloc_trim takes no pointer and is thread-safe (it locks each arena).
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Not glibc: nothing to do (other allocators return memory by themselves).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn heap_trim() -> bool {
    false
}

/// `value` written into `slot`, a box allocated before `value` was built
/// (what `Box::write` does, stable only since Rust 1.87, above the MSRV): a
/// large value, such as an HTTP/2 stream's 7 KB future, is then built in its
/// box, where `Box::new` builds it on the stack and copies it whole.
#[inline(always)]
pub(crate) fn box_write<T>(mut slot: Box<std::mem::MaybeUninit<T>>, value: T) -> Box<T> {
    slot.write(value);
    // SAFETY: the box's contents were initialised on the line above.
    unsafe { slot.assume_init() }
}
