//! The data phase: a bidirectional copy with bounded buffers, half-close propagation
//! and HAProxy's inactivity timeouts (configuration.txt §4.2 `timeout client`,
//! `timeout server`, `timeout tunnel`, `timeout client-fin`, `timeout server-fin`).
//!
//! Both directions are polled from one future (no task or lock per direction). When a
//! side sends a FIN, its buffered data is flushed to the other side, which then gets a
//! `shutdown(SHUT_WR)`; the other direction goes on until it finishes too. Activity on a
//! socket in either direction refreshes that socket's inactivity timer, as HAProxy does
//! without `option independent-streams`; the timer only runs while the socket may
//! still send to us (not shut, room in the buffer) or has data waiting for it. Once either direction is shut, the `-fin`
//! timeouts (when set) replace the client/server (or tunnel) ones.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::Instant;

/// HAProxy's default `tune.bufsize`: each direction of a session holds at most this.
pub const BUFSIZE: usize = 16 * 1024;

/// A client connection: TCP or UNIX stream.
pub enum ClientStream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// TLS over either (§5.1 `ssl`); bytes read before the handshake (after a
    /// PROXY header) are given back to it.
    Tls(Box<haproxide_tls::TlsStream<haproxide_tls::Prefixed<ClientStream>>>),
    /// One HTTP/2 stream, the HTTP engine's client (the `http2` module).
    H2(crate::http2::H2Io),
    /// Moved out (only while a handshake owns the stream): reads end, writes fail.
    Closed,
}

impl ClientStream {
    /// Copies into `buf` the plaintext a TLS stream has already decrypted, without
    /// reading the socket; 0 when there is none (or not TLS).
    pub(crate) fn take_decrypted(&mut self, buf: &mut [u8]) -> usize {
        match self {
            ClientStream::Tls(s) => {
                std::io::Read::read(&mut s.get_mut().1.reader(), buf).unwrap_or(0)
            }
            _ => 0,
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            ClientStream::H2(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Closed => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            ClientStream::H2(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
    /// Passed through, so that rustls' several records of a handshake flight go out
    /// in one `writev` (haproxide_tls::Prefixed passes it on too).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientStream::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            ClientStream::H2(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientStream::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Tcp(s) => s.is_write_vectored(),
            ClientStream::Unix(s) => s.is_write_vectored(),
            ClientStream::Tls(s) => s.is_write_vectored(),
            ClientStream::H2(s) => s.is_write_vectored(),
            ClientStream::Closed => false,
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Unix(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            ClientStream::H2(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Closed => Poll::Ready(Ok(())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            ClientStream::H2(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// Inactivity timeouts for the data phase (None = no timeout).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RelayTimeouts {
    /// `timeout tunnel` if set, else `timeout client`.
    pub client: Option<Duration>,
    /// `timeout tunnel` if set, else `timeout server`.
    pub server: Option<Duration>,
    pub client_fin: Option<Duration>,
    pub server_fin: Option<Duration>,
    /// Bulk directions between two TCP sockets may splice (see [`crate::splice`]).
    pub splice: bool,
}

/// A stream whose readability can be awaited without a buffer, so that idle sessions
/// hold no buffer at all (HAProxy also allocates buffers only when data comes).
pub(crate) trait Peer: AsyncRead + AsyncWrite + Unpin {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// The TCP socket, when it is one (splice needs both ends to be sockets).
    fn tcp(&self) -> Option<&TcpStream> {
        None
    }
}

impl Peer for TcpStream {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_read_ready(cx)
    }
    fn tcp(&self) -> Option<&TcpStream> {
        Some(self)
    }
}

impl Peer for ClientStream {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            ClientStream::Tcp(s) => s.poll_read_ready(cx),
            ClientStream::Unix(s) => s.poll_read_ready(cx),
            // rustls may hold decrypted bytes the socket no longer shows: try a
            // read (the buffer comes from the pool and goes back if it is empty).
            ClientStream::Tls(_) | ClientStream::H2(_) | ClientStream::Closed => {
                Poll::Ready(Ok(()))
            }
        }
    }
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            ClientStream::Tcp(s) => Some(s),
            ClientStream::Unix(_)
            | ClientStream::Tls(_)
            | ClientStream::H2(_)
            | ClientStream::Closed => None,
        }
    }
}

/// Buffers kept per thread for reuse (no allocation nor zeroing per burst); beyond
/// this many, released buffers go back to the allocator.
const POOL_MAX: usize = 64;

thread_local! {
    static POOL: std::cell::RefCell<Vec<Box<[u8]>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Buffers held by sessions right now (not counting those resting in the pools).
static HELD: AtomicUsize = AtomicUsize::new(0);

/// How many relay buffers ([`BUFSIZE`] each) sessions hold now: an idle
/// keep-alive connection holds none (HAProxy allocates buffers only when data
/// comes). For tests and accounting.
pub fn buffers_held() -> usize {
    HELD.load(Ordering::Relaxed)
}

/// A spare buffer, or a new one. `try_with`/`try_borrow_mut`: a buffer taken or
/// given back while the thread's pool is gone (a `Half` dropped by another
/// thread-local's destructor at thread exit) or busy is allocated or freed
/// instead; `with` panicked there, and a panic in a thread-local destructor
/// aborts the process.
fn pool_get() -> Box<[u8]> {
    POOL.try_with(|p| p.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| vec![0u8; BUFSIZE].into_boxed_slice())
}

fn pool_put(b: Box<[u8]>) {
    let _ = POOL.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.len() < POOL_MAX {
                p.push(b);
            }
        }
    });
}

impl Drop for Half {
    fn drop(&mut self) {
        self.release();
    }
}

/// One direction's buffer, allocated only while it holds data or a read is possible.
pub(crate) struct Half {
    buf: Option<Box<[u8]>>,
    pos: usize,
    cap: usize,
    /// The reader sent a FIN.
    pub(crate) eof: bool,
    /// The FIN was propagated (shutdown(WR) on the writer).
    shut: bool,
    /// This direction may splice (both ends TCP, allowed by the engine).
    splice: bool,
    /// The last read filled the buffer: bulk data, worth a pipe.
    bulk: bool,
    /// The pipe while splicing.
    pipe: Option<crate::splice::Pipe>,
}

enum HalfErr {
    Read,
    Write,
}

impl Half {
    pub(crate) fn new() -> Half {
        Half {
            buf: None,
            pos: 0,
            cap: 0,
            eof: false,
            shut: false,
            splice: false,
            bulk: false,
            pipe: None,
        }
    }

    fn buf_mut(&mut self) -> &mut [u8] {
        self.buf.get_or_insert_with(|| {
            HELD.fetch_add(1, Ordering::Relaxed);
            pool_get()
        })
    }

    fn release(&mut self) {
        if let Some(b) = self.buf.take() {
            HELD.fetch_sub(1, Ordering::Relaxed);
            pool_put(b);
        }
    }

    /// The free space to read into (used before the relay starts, e.g. inspection).
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        let cap = self.cap;
        &mut self.buf_mut()[cap..]
    }

    pub(crate) fn filled(&self) -> &[u8] {
        match &self.buf {
            Some(b) => &b[self.pos..self.cap],
            None => &[],
        }
    }

    pub(crate) fn commit(&mut self, n: usize) {
        self.cap = (self.cap + n).min(BUFSIZE);
    }

    /// Drop `n` bytes from the front (a PROXY header read from the client).
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.cap);
        self.reset_if_empty();
    }

    /// Moves the unread bytes to the front, making room at the end (an HTTP head
    /// that began after pipelined requests must end within one buffer).
    pub(crate) fn compact(&mut self) {
        if self.pos > 0 {
            if let Some(b) = &mut self.buf {
                b.copy_within(self.pos..self.cap, 0);
            }
            self.cap -= self.pos;
            self.pos = 0;
        }
    }

    /// Forgets what it holds.
    pub(crate) fn clear(&mut self) {
        self.pos = 0;
        self.cap = 0;
    }

    /// Gives the buffer back to the pool when it holds nothing (an idle
    /// keep-alive connection holds no buffer).
    pub(crate) fn release_if_empty(&mut self) {
        if self.pos == self.cap {
            self.pos = 0;
            self.cap = 0;
            self.release();
        }
    }

    fn reset_if_empty(&mut self) {
        if self.pos == self.cap {
            self.pos = 0;
            self.cap = 0;
        }
    }

    /// Data waits to be written to the other side.
    pub(crate) fn has_pending(&self) -> bool {
        self.pos < self.cap || self.pipe.as_ref().is_some_and(|p| p.len > 0)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.cap == BUFSIZE
            || self
                .pipe
                .as_ref()
                .is_some_and(|p| p.len >= crate::splice::PIPE_CAP)
    }

    /// Splice mode: socket → pipe → socket until the direction goes idle (Pending, the
    /// pipe given back) or reaches its EOF with the pipe drained (Ready(Ok), the FIN is
    /// then propagated by the caller).
    fn poll_splice<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        r: &mut R,
        w: &mut W,
        count: &mut u64,
        act_r: &mut bool,
        act_w: &mut bool,
    ) -> Poll<Result<(), HalfErr>>
    where
        R: Peer + ?Sized,
        W: Peer + ?Sized,
    {
        use crate::splice::{poll_drain, poll_fill, Fill};
        let (Some(rt), Some(wt), Some(p)) = (r.tcp(), w.tcp(), self.pipe.as_mut()) else {
            self.pipe = None;
            return Poll::Ready(Ok(()));
        };
        loop {
            let mut progressed = false;
            if !self.eof {
                match poll_fill(p, rt, cx) {
                    Poll::Ready(Ok(Fill::Eof)) => {
                        self.eof = true;
                        progressed = true;
                    }
                    Poll::Ready(Ok(Fill::Moved(n))) => {
                        *count += n as u64;
                        *act_r = true;
                        progressed = true;
                    }
                    Poll::Ready(Ok(Fill::PipeFull)) | Poll::Pending => {}
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(HalfErr::Read)),
                }
            }
            if p.len > 0 {
                match poll_drain(p, wt, cx) {
                    Poll::Ready(Ok(_)) => {
                        *act_w = true;
                        progressed = true;
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(HalfErr::Write)),
                    Poll::Pending => {}
                }
            }
            if p.len == 0 && (self.eof || !progressed) {
                // Drained and idle (the reader's waker is registered) or at EOF:
                // give the pipe back.
                self.pipe = None;
                return if self.eof {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                };
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    }

    /// Copy from `r` to `w` as far as possible. Ready(Ok) once the FIN is propagated
    /// (`last`: the opposite direction is finished, so the FIN will come from close(2)).
    #[allow(clippy::too_many_arguments)]
    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        r: &mut R,
        w: &mut W,
        count: &mut u64,
        act_r: &mut bool,
        act_w: &mut bool,
        last: bool,
    ) -> Poll<Result<(), HalfErr>>
    where
        R: Peer + ?Sized,
        W: Peer + ?Sized,
    {
        loop {
            if self.shut {
                return Poll::Ready(Ok(()));
            }
            if self.bulk && self.pipe.is_none() && self.pos == self.cap && !self.eof {
                self.bulk = false;
                if r.tcp().is_some() && w.tcp().is_some() {
                    self.pipe = crate::splice::Pipe::new();
                    if self.pipe.is_some() {
                        self.release();
                    }
                }
            }
            if self.pipe.is_some() {
                match self.poll_splice(cx, r, w, count, act_r, act_w) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
                // Out of splice mode (drained at EOF): the FIN goes on below.
            }
            let mut progressed = false;
            if !self.eof && self.cap < BUFSIZE {
                // Without a buffer, wait for readability before allocating one.
                let ready = self.buf.is_some()
                    || match r.poll_readable(cx) {
                        Poll::Ready(Ok(())) => true,
                        Poll::Ready(Err(_)) => return Poll::Ready(Err(HalfErr::Read)),
                        Poll::Pending => false,
                    };
                if ready {
                    let cap = self.cap;
                    let mut rb = ReadBuf::new(&mut self.buf_mut()[cap..]);
                    match Pin::new(&mut *r).poll_read(cx, &mut rb) {
                        Poll::Ready(Ok(())) => {
                            let n = rb.filled().len();
                            if n == 0 {
                                self.eof = true;
                            } else {
                                self.cap += n;
                                *count += n as u64;
                                *act_r = true;
                                self.bulk = self.splice && n == BUFSIZE;
                            }
                            progressed = true;
                        }
                        Poll::Ready(Err(_)) => return Poll::Ready(Err(HalfErr::Read)),
                        Poll::Pending => {}
                    }
                }
            }
            if self.pos < self.cap {
                let data = match &self.buf {
                    Some(b) => &b[self.pos..self.cap],
                    None => &[][..],
                };
                match Pin::new(&mut *w).poll_write(cx, data) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        return Poll::Ready(Err(HalfErr::Write))
                    }
                    Poll::Ready(Ok(n)) => {
                        self.pos += n;
                        self.reset_if_empty();
                        *act_w = true;
                        progressed = true;
                    }
                    Poll::Pending => {}
                }
            }
            if self.eof && self.pos == self.cap {
                self.release();
                if last {
                    // The other direction is already finished: both sockets are about
                    // to be closed, and close(2) sends this FIN without a shutdown(2)
                    // (every byte of `w` was read, so no RST), as HAProxy does.
                    self.shut = true;
                    return Poll::Ready(Ok(()));
                }
                return match Pin::new(&mut *w).poll_shutdown(cx) {
                    // A failed shutdown (peer already gone) ends this direction too;
                    // the other direction reports the error if it matters.
                    Poll::Ready(_) => {
                        self.shut = true;
                        Poll::Ready(Ok(()))
                    }
                    Poll::Pending => Poll::Pending,
                };
            }
            if !progressed {
                if self.pos == self.cap {
                    // Idle: give the memory back until data comes.
                    self.release();
                    // A TLS writer may still hold records the socket refused: push
                    // them (and be woken when it can take them). A no-op for TCP.
                    let _ = Pin::new(&mut *w).poll_flush(cx);
                }
                return Poll::Pending;
            }
        }
    }
}

/// Byte counters of a session, updated as data flows.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Bytes {
    /// Received from the client.
    pub from_client: u64,
    /// Received from the server.
    pub from_server: u64,
}

/// Receives a session's byte counts as they grow (live `bin`/`bout`).
pub(crate) trait Publish {
    /// Called after each wake-up of the relay; `bytes` only grows.
    fn publish(&mut self, bytes: &Bytes);
}

/// Relay until both directions are finished or something fails; returns HAProxy's
/// termination state for the data phase (`--`, `CD`, `SD`, `cD`, `sD`). `req` holds
/// client data read before the relay (inspection, connect), already counted;
/// `client_since` is the client's last activity before the relay; `publish` gets
/// the counts after every wake-up.
///
/// A plain function returning the future (not an `async fn`): the future holds each
/// piece of state once, where an `async fn` keeps its arguments twice. An idle
/// session's task is sized by this state (its memory per connection).
pub(crate) fn relay<'a, C, S, P>(
    client: &'a mut C,
    server: &'a mut S,
    req: &'a mut Half,
    t: RelayTimeouts,
    bytes: &'a mut Bytes,
    client_since: Instant,
    publish: &'a mut P,
) -> impl Future<Output = [u8; 2]> + 'a
where
    C: Peer + ?Sized,
    S: Peer + ?Sized,
    P: Publish + ?Sized,
{
    let mut resp = Half::new();
    req.splice = t.splice;
    resp.splice = t.splice;
    let now = Instant::now();
    // The client's timer goes on from its last read (queue and connect included).
    let mut last_c = client_since.min(now);
    let mut last_s = now;
    let far = now + Duration::from_secs(86400 * 365);
    let mut sleep = Box::pin(tokio::time::sleep_until(far));
    let mut armed = far;
    // The timer reached `armed` (it stays elapsed until re-armed).
    let mut fired = false;
    let (mut c_was_armed, mut s_was_armed) = (true, true);
    // One wake-up; `bytes` is a parameter so that `publish` can read it after.
    let mut step = move |cx: &mut Context<'_>, bytes: &mut Bytes| loop {
        let (mut c_act, mut s_act) = (false, false);
        if !req.shut {
            match req.poll_copy(
                cx,
                &mut *client,
                &mut *server,
                &mut bytes.from_client,
                &mut c_act,
                &mut s_act,
                resp.shut,
            ) {
                Poll::Ready(Err(HalfErr::Read)) => return Poll::Ready(*b"CD"),
                Poll::Ready(Err(HalfErr::Write)) => return Poll::Ready(*b"SD"),
                _ => {}
            }
        }
        if !resp.shut {
            match resp.poll_copy(
                cx,
                &mut *server,
                &mut *client,
                &mut bytes.from_server,
                &mut s_act,
                &mut c_act,
                req.shut,
            ) {
                Poll::Ready(Err(HalfErr::Read)) => return Poll::Ready(*b"SD"),
                Poll::Ready(Err(HalfErr::Write)) => return Poll::Ready(*b"CD"),
                _ => {}
            }
        }
        if req.shut && resp.shut {
            return Poll::Ready(*b"--");
        }
        let now = Instant::now();
        // A side's timer runs only while that side has something to do: it may still
        // send (not shut, room in the buffer) or data waits to be written to it. So a
        // server that closed and has nothing left to receive never times out, as in
        // HAProxy where only armed read/write expirations can fire.
        let c_armed = (!req.eof && !req.is_full()) || resp.has_pending();
        let s_armed = (!resp.eof && !resp.is_full()) || req.has_pending();
        if c_act || (c_armed && !c_was_armed) {
            last_c = now;
        }
        if s_act || (s_armed && !s_was_armed) {
            last_s = now;
        }
        (c_was_armed, s_was_armed) = (c_armed, s_armed);
        let half_closed = req.eof || resp.eof;
        let (tc, ts) = if half_closed {
            (t.client_fin.or(t.client), t.server_fin.or(t.server))
        } else {
            (t.client, t.server)
        };
        let dc = tc.filter(|_| c_armed).map(|d| last_c + d);
        let ds = ts.filter(|_| s_armed).map(|d| last_s + d);
        if dc.is_some_and(|d| now >= d) {
            return Poll::Ready(*b"cD");
        }
        if ds.is_some_and(|d| now >= d) {
            return Poll::Ready(*b"sD");
        }
        let next = match (dc, ds) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => far,
        };
        // Re-armed lazily: activity only pushes the deadline later, so the timer stays
        // at the earlier one and, when it fires, the loop finds the real deadline
        // ahead and re-arms once (not a timer-wheel update per message).
        if next < armed || (fired && next != armed) {
            sleep.as_mut().reset(next);
            armed = next;
            fired = false;
        }
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        fired = true;
        // The timer fired: loop to re-check the deadlines with a fresh clock.
    };
    std::future::poll_fn(move |cx| {
        let r = step(cx, bytes);
        // Live `bin`/`bout`: once per wake-up (`publish` does nothing when no byte
        // moved).
        publish.publish(bytes);
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Half` dropped by another thread-local's destructor, after the buffer
    /// pool's own thread-local is gone (thread exit, a runtime kept in a
    /// thread-local): the buffer is freed, never a panic (which, in a
    /// thread-local destructor, aborts the process).
    #[test]
    fn a_half_dropped_after_the_pool_is_gone_does_not_panic() {
        struct Keep(std::cell::RefCell<Option<Half>>);
        impl Drop for Keep {
            fn drop(&mut self) {
                drop(self.0.borrow_mut().take());
            }
        }
        thread_local! {
            static KEEP: Keep = const { Keep(std::cell::RefCell::new(None)) };
        }
        let held = std::thread::spawn(|| {
            // KEEP's destructor is registered first, so it runs after POOL's.
            KEEP.with(|_| ());
            let mut h = Half::new();
            h.spare()[0] = 1;
            h.commit(1);
            pool_put(pool_get());
            KEEP.with(|k| *k.0.borrow_mut() = Some(h));
        })
        .join();
        assert!(held.is_ok());
    }
}
