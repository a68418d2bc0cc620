//! Zero-copy relaying with splice(2) for TCP-to-TCP sessions that move bulk data.
//!
//! HAProxy can splice with `option splice-auto|request|response` (configuration.txt
//! §4.2, off by default; global `nosplice` forbids it). haproxide splices on its own
//! once a direction shows bulk traffic (a read filled the whole 16 KiB buffer): the
//! bytes then go socket → pipe → socket inside the kernel, without the two copies
//! through user space that dominate a proxy's CPU per GB. The pipe is taken only while
//! data flows and given back when the direction goes idle, so idle sessions hold no
//! pipe (as they hold no buffer), and at most a quarter of the process's descriptors
//! are ever used for pipes (HAProxy's `maxpipes` defaults to maxconn / 4). When no pipe
//! can be had the direction simply goes on copying through its buffer.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};

use tokio::io::Interest;
use tokio::net::TcpStream;

/// Bytes requested per splice into the pipe: Linux's default pipe capacity.
pub(crate) const PIPE_CAP: usize = 64 * 1024;

/// Pipes open in the process, and the most allowed.
static PIPES: AtomicUsize = AtomicUsize::new(0);
static MAX_PIPES: OnceLock<usize> = OnceLock::new();

fn max_pipes() -> usize {
    *MAX_PIPES.get_or_init(|| {
        let fds = crate::sys::nofile_soft_limit().map_or(1024, |n| n as usize);
        // Two descriptors per pipe: a quarter of the descriptors at most.
        fds / 8
    })
}

pub(crate) fn usage() -> (usize, usize) {
    (PIPES.load(Ordering::Relaxed), max_pipes())
}

/// A kernel pipe holding `len` bytes in transit.
pub(crate) struct Pipe {
    r: OwnedFd,
    w: OwnedFd,
    pub(crate) len: usize,
}

impl Pipe {
    /// A new pipe, or None when the process's pipe budget is spent or pipe2 fails.
    pub(crate) fn new() -> Option<Pipe> {
        if PIPES.fetch_add(1, Ordering::Relaxed) >= max_pipes() {
            PIPES.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let Ok((r, w)) = crate::sys::pipe() else {
            PIPES.fetch_sub(1, Ordering::Relaxed);
            return None;
        };
        Some(Pipe { r, w, len: 0 })
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        PIPES.fetch_sub(1, Ordering::Relaxed);
    }
}

use crate::sys::splice;

/// What a fill of the pipe from the socket did.
pub(crate) enum Fill {
    /// The peer sent a FIN.
    Eof,
    Moved(usize),
    /// EAGAIN while the pipe holds data: taken as a full pipe (a pipe has a limited
    /// number of slots, which small segments can use up before 64 KiB), so the
    /// socket's readiness is kept; drain the pipe first.
    PipeFull,
}

/// Socket → pipe.
pub(crate) fn poll_fill(
    p: &mut Pipe,
    r: &TcpStream,
    cx: &mut Context<'_>,
) -> Poll<io::Result<Fill>> {
    loop {
        ready!(r.poll_read_ready(cx))?;
        let had = p.len;
        let room = PIPE_CAP.saturating_sub(had).max(1);
        let res = r.try_io(Interest::READABLE, || {
            match splice(r.as_raw_fd(), p.w.as_raw_fd(), room) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && had > 0 => Ok(None),
                other => other.map(Some),
            }
        });
        match res {
            Ok(Some(0)) => return Poll::Ready(Ok(Fill::Eof)),
            Ok(Some(n)) => {
                p.len += n;
                return Poll::Ready(Ok(Fill::Moved(n)));
            }
            Ok(None) => return Poll::Ready(Ok(Fill::PipeFull)),
            // Readiness was cleared: poll again, which registers the waker.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// Pipe → socket. Ready(Ok(n)) with n > 0 bytes moved.
pub(crate) fn poll_drain(
    p: &mut Pipe,
    w: &TcpStream,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    loop {
        ready!(w.poll_write_ready(cx))?;
        match w.try_io(Interest::WRITABLE, || {
            splice(p.r.as_raw_fd(), w.as_raw_fd(), p.len)
        }) {
            Ok(0) => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "splice moved nothing out of a non-empty pipe",
                )))
            }
            Ok(n) => {
                p.len = p.len.saturating_sub(n);
                return Poll::Ready(Ok(n));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}
