//! The connection's bytes between the socket and the `h2` crate, where HAProxy
//! and the crate differ on the wire: stream flow control and the SETTINGS
//! frame.
//!
//! HAProxy's H2 mux gives a stream's credit back as soon as its bytes moved into
//! the stream's buffer: a WINDOW_UPDATE per DATA frame taken (reg-test
//! http-messaging/h2_to_h1 waits for one after 38 bytes, before the response).
//! The `h2` crate only returns credit once half a window is consumed, with no
//! way to force it. So the crate is given windows it never exhausts
//! (2^31 - 1), and this layer keeps the windows the client sees:
//!
//! - the crate's SETTINGS frame is replaced by HAProxy 2.6.12's (measured: only
//!   the values that differ from the protocol's defaults, in its order:
//!   HEADER_TABLE_SIZE, INITIAL_WINDOW_SIZE, MAX_CONCURRENT_STREAMS,
//!   MAX_FRAME_SIZE), so the client's stream window is
//!   `tune.h2.initial-window-size`;
//! - the crate's WINDOW_UPDATE frames are dropped; instead each stream task
//!   reports what the engine took ([`Credits::credit`]) and a WINDOW_UPDATE
//!   for the stream, then one for the connection, go out at the next frame
//!   boundary; padding, and bytes for streams no longer served, are credited to
//!   the connection on receipt; the first connection WINDOW_UPDATE raises its
//!   window to 2^31 - 1 (HAProxy's, measured);
//! - DATA frames are counted against the windows granted: a client that sends
//!   beyond them gets GOAWAY FLOW_CONTROL_ERROR and the connection ends
//!   (RFC 9113 §6.9.1), so a stream still holds at most its window.
//!
//! The crate believes it raised its connection window at once; the bytes a
//! client may have in flight are bounded by the stream windows. Bounded: one window entry per
//! stream still receiving (at most twice the stream limit, plus a margin), and
//! at most [`OUT_MAX`] bytes held on the way out.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes held on the way out while the socket does not take them.
const OUT_MAX: usize = 64 * 1024;
/// The client's connection preface.
const PREFACE_LEN: usize = 24;
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;
const END_STREAM: u8 = 0x1;
const PADDED: u8 = 0x8;
const FLOW_CONTROL_ERROR: u32 = 3;
/// The largest window (RFC 9113 §6.9.1): what the crate is given.
pub(crate) const MAX_WINDOW: u32 = (1 << 31) - 1;

/// [`Wire`]'s window map: FxHash (looked up for every stream that ends and
/// every DATA frame; SipHash cost about 110 instructions a lookup). At most
/// `max_windows` entries, so a client choosing ids that collide costs at most
/// a scan of them.
pub(crate) type WindowMap = rustc_hash::FxHashMap<u32, i64>;

/// What the stream tasks report to the connection's wire.
#[derive(Default)]
pub(crate) struct Credits {
    inner: Mutex<Pending>,
    /// Reports wait in `inner`: set with them, cleared by [`Credits::take`]
    /// (the wire looks at every write, mostly to find none: without the lock).
    pending: AtomicBool,
}

#[derive(Default)]
struct Pending {
    /// (stream, bytes the engine took).
    credit: Vec<(u32, u32)>,
    /// Streams whose task ended.
    done: Vec<u32>,
    waker: Option<Waker>,
}

impl Credits {
    /// The engine took `n` bytes of `stream`'s body: give the client credit.
    pub(crate) fn credit(&self, stream: u32, n: u32) {
        self.push(|p| p.credit.push((stream, n)));
    }

    /// `stream`'s task ended: no more credit for it.
    pub(crate) fn done(&self, stream: u32) {
        self.push(|p| p.done.push(stream));
    }

    fn push(&self, f: impl FnOnce(&mut Pending)) {
        let w = match self.inner.lock() {
            Ok(mut p) => {
                f(&mut p);
                self.pending.store(true, Ordering::Release);
                p.waker.take()
            }
            Err(_) => None,
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    /// The reports since the last call, swapped into `credit` and `done`
    /// (empty vectors whose room the tasks' next reports reuse: no
    /// allocation per report).
    fn take(&self, waker: &Waker, credit: &mut Vec<(u32, u32)>, done: &mut Vec<u32>) {
        if let Ok(mut p) = self.inner.lock() {
            if !p.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                p.waker = Some(waker.clone());
            }
            std::mem::swap(&mut p.credit, credit);
            std::mem::swap(&mut p.done, done);
            self.pending.store(false, Ordering::Relaxed);
        }
    }

    /// Nothing reported since the last [`Credits::take`], which registered
    /// `waker` (a report takes the waker it wakes and sets the flag, so the
    /// flag down means that one is still registered).
    fn quiet_for(&self, last: Option<&Waker>, waker: &Waker) -> bool {
        !self.pending.load(Ordering::Acquire) && last.is_some_and(|w| w.will_wake(waker))
    }
}

/// The SETTINGS values the client is told (HAProxy's, see the module doc).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Advertised {
    pub(crate) header_table_size: u32,
    pub(crate) initial_window_size: u32,
    pub(crate) max_concurrent_streams: u32,
    pub(crate) max_frame_size: u32,
}

impl Advertised {
    /// The SETTINGS payload, as HAProxy 2.6.12 sends it.
    fn payload(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(24);
        let mut put = |id: u16, v: u32| {
            p.extend_from_slice(&id.to_be_bytes());
            p.extend_from_slice(&v.to_be_bytes());
        };
        if self.header_table_size != 4096 {
            put(1, self.header_table_size);
        }
        if self.initial_window_size != 65535 {
            put(4, self.initial_window_size);
        }
        put(3, self.max_concurrent_streams);
        if self.max_frame_size != 16384 {
            put(5, self.max_frame_size);
        }
        p
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pass,
    Drop,
    Collect,
}

/// A frame header being read, and what is left of its payload.
struct Framer {
    hdr: [u8; 9],
    have: usize,
    left: usize,
}

impl Framer {
    fn new() -> Self {
        Framer {
            hdr: [0; 9],
            have: 0,
            left: 0,
        }
    }
    fn at_boundary(&self) -> bool {
        self.have == 0 && self.left == 0
    }
    /// Takes header bytes from `b`; returns how many, and the header once whole.
    fn header(&mut self, b: &[u8]) -> (usize, Option<(usize, u8, u8, u32)>) {
        let n = (9 - self.have).min(b.len());
        self.hdr[self.have..self.have + n].copy_from_slice(&b[..n]);
        self.have += n;
        if self.have < 9 {
            return (n, None);
        }
        self.have = 0;
        let h = &self.hdr;
        let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
        let sid = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
        self.left = len;
        (n, Some((len, h[3], h[4], sid)))
    }
}

/// The wire under the `h2` crate's server connection.
pub(crate) struct Wire<IO> {
    io: IO,
    credits: Arc<Credits>,
    initial: i64,
    max_frame: usize,
    settings: Vec<u8>,
    /// Streams still receiving: the window the client has left on each.
    windows: WindowMap,
    max_windows: usize,
    last_stream: u32,
    preface_left: usize,
    rd: Framer,
    /// A padded DATA frame's pad length byte comes next (for this stream).
    pad_of: Option<u32>,
    /// Credit to give that no stream task reports (padding).
    local_credit: Vec<(u32, u32)>,
    /// Empty vectors kept for [`Credits::take`].
    spare: (Vec<(u32, u32)>, Vec<u32>),
    /// The waker the last [`Credits::take`] registered.
    taken_by: Option<Waker>,
    wr: Framer,
    mode: Mode,
    collect: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    broken: bool,
    /// The connection window was raised to the largest.
    conn_raised: bool,
}

impl<IO> Wire<IO> {
    pub(crate) fn new(io: IO, credits: Arc<Credits>, adv: &Advertised) -> Self {
        Wire {
            io,
            credits,
            initial: adv.initial_window_size as i64,
            max_frame: adv.max_frame_size as usize,
            settings: adv.payload(),
            windows: WindowMap::default(),
            max_windows: (adv.max_concurrent_streams as usize)
                .saturating_mul(2)
                .saturating_add(32),
            last_stream: 0,
            preface_left: PREFACE_LEN,
            rd: Framer::new(),
            pad_of: None,
            local_credit: Vec::new(),
            spare: (Vec::new(), Vec::new()),
            taken_by: None,
            wr: Framer::new(),
            mode: Mode::Pass,
            collect: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            broken: false,
            conn_raised: false,
        }
    }

    /// What the client sent: counted against the windows. Err: a flow-control
    /// violation.
    fn scan_in(&mut self, mut b: &[u8]) -> Result<(), ()> {
        while !b.is_empty() {
            if self.preface_left > 0 {
                let n = self.preface_left.min(b.len());
                self.preface_left -= n;
                b = &b[n..];
                continue;
            }
            if self.rd.left == 0 {
                let (n, h) = self.rd.header(b);
                b = &b[n..];
                if let Some((len, ty, fl, sid)) = h {
                    self.frame_in(len, ty, fl, sid)?;
                }
                continue;
            }
            if let Some(sid) = self.pad_of.take() {
                // The pad length byte and the padding are never the engine's.
                self.local_credit.push((sid, b[0] as u32 + 1));
            }
            let n = self.rd.left.min(b.len());
            self.rd.left -= n;
            b = &b[n..];
        }
        Ok(())
    }

    fn frame_in(&mut self, len: usize, ty: u8, fl: u8, sid: u32) -> Result<(), ()> {
        match ty {
            // A frame above the size advertised is the crate's to refuse
            // (FRAME_SIZE_ERROR, checked first, as HAProxy does).
            DATA if sid != 0 && len <= self.max_frame => {
                if let Some(w) = self.windows.get_mut(&sid) {
                    *w -= len as i64;
                    if *w < 0 {
                        return Err(());
                    }
                    if fl & PADDED != 0 && len > 0 {
                        self.pad_of = Some(sid);
                    }
                } else if len > 0 {
                    // A stream no longer served: its bytes are dropped, the
                    // connection's credit given back.
                    self.local_credit.push((0, len as u32));
                }
                // Kept past END_STREAM: HAProxy credits the last frame too
                // (h2_to_h1 waits for it); the stream's task ending removes it.
            }
            // A new stream (trailers come on a known one).
            HEADERS if sid != 0 && sid > self.last_stream => {
                self.last_stream = sid;
                if fl & END_STREAM == 0 {
                    if self.windows.len() >= self.max_windows {
                        // The oldest stream stops being counted (the crate
                        // refuses streams beyond the limit; this is a margin).
                        if let Some(&old) = self.windows.keys().min() {
                            self.windows.remove(&old);
                        }
                    }
                    self.windows.insert(sid, self.initial);
                }
            }
            RST_STREAM => {
                self.windows.remove(&sid);
            }
            _ => {}
        }
        Ok(())
    }

    /// At a frame boundary of the output: WINDOW_UPDATE frames for the credit
    /// the stream tasks reported.
    fn inject(&mut self, waker: &Waker) {
        // Nothing to give (most calls): what the walk below would find.
        if self.local_credit.is_empty() && self.credits.quiet_for(self.taken_by.as_ref(), waker) {
            return;
        }
        let (mut credit, mut done) = std::mem::take(&mut self.spare);
        credit.clear();
        done.clear();
        self.credits.take(waker, &mut credit, &mut done);
        if !self.taken_by.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.taken_by = Some(waker.clone());
        }
        for sid in done.drain(..) {
            // What the stream's task never took goes back to the connection.
            if let Some(w) = self.windows.remove(&sid) {
                let left = self.initial - w;
                if left > 0 {
                    self.local_credit.push((0, left as u32));
                }
            }
        }
        credit.append(&mut self.local_credit);
        if !self.wr.at_boundary() {
            // Not now: keep them for the next boundary.
            std::mem::swap(&mut self.local_credit, &mut credit);
            self.spare = (credit, done);
            return;
        }
        let mut conn: u64 = 0;
        for (sid, n) in credit.drain(..) {
            conn += n as u64;
            let Some(w) = self.windows.get_mut(&sid) else {
                continue;
            };
            if n == 0 {
                continue;
            }
            *w += n as i64;
            frame(&mut self.out, 4, WINDOW_UPDATE, 0, sid);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
        if conn > 0 {
            // HAProxy's first connection WINDOW_UPDATE also raises the
            // connection window to the largest (measured: 2147418150 after 38
            // bytes).
            if !self.conn_raised {
                self.conn_raised = true;
                conn += (MAX_WINDOW - 65535) as u64;
            }
            let n = conn.min(MAX_WINDOW as u64) as u32;
            frame(&mut self.out, 4, WINDOW_UPDATE, 0, 0);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
        self.spare = (credit, done);
    }

    fn goaway(&mut self) {
        if self.wr.at_boundary() {
            frame(&mut self.out, 8, GOAWAY, 0, 0);
            self.out.extend_from_slice(&self.last_stream.to_be_bytes());
            self.out
                .extend_from_slice(&FLOW_CONTROL_ERROR.to_be_bytes());
        }
    }

    /// A frame header of the crate's: what to do with its payload.
    fn frame_out(&mut self, len: usize, ty: u8, fl: u8, sid: u32) {
        self.mode = match ty {
            WINDOW_UPDATE => Mode::Drop,
            SETTINGS if fl & 1 == 0 => Mode::Collect,
            _ => {
                if ty == RST_STREAM {
                    self.windows.remove(&sid);
                }
                self.out.extend_from_slice(&self.wr.hdr);
                Mode::Pass
            }
        };
        if self.mode == Mode::Collect && len == 0 {
            self.settings_out();
        }
    }

    fn settings_out(&mut self) {
        self.collect.clear();
        frame(&mut self.out, self.settings.len(), SETTINGS, 0, 0);
        self.out.extend_from_slice(&self.settings);
        self.mode = Mode::Pass;
    }
}

fn frame(out: &mut Vec<u8>, len: usize, ty: u8, fl: u8, sid: u32) {
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.push(ty);
    out.push(fl);
    out.extend_from_slice(&sid.to_be_bytes());
}

impl<IO: AsyncWrite + Unpin> Wire<IO> {
    /// Writes what is held; Ready once all of it is out.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out[self.out_pos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.out_pos += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for Wire<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        me.inject(cx.waker());
        if let Poll::Ready(Err(e)) = me.drain(cx) {
            return Poll::Ready(Err(e));
        }
        if me.broken {
            return Poll::Ready(Err(io::Error::other("HTTP/2 flow control violated")));
        }
        let before = buf.filled().len();
        match Pin::new(&mut me.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        if me.scan_in(&buf.filled()[before..]).is_err() {
            // RFC 9113 §6.9.1: a connection error, FLOW_CONTROL_ERROR.
            me.broken = true;
            me.goaway();
            let _ = me.drain(cx);
            return Poll::Ready(Err(io::Error::other("HTTP/2 flow control violated")));
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Wire<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        match me.drain(cx) {
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending if me.out.len() - me.out_pos >= OUT_MAX => return Poll::Pending,
            _ => {}
        }
        let mut used = 0;
        while used < buf.len() {
            let rest = &buf[used..];
            if me.wr.left == 0 {
                if me.wr.have == 0 {
                    me.inject(cx.waker());
                }
                let (n, h) = me.wr.header(rest);
                used += n;
                if let Some((len, ty, fl, sid)) = h {
                    me.frame_out(len, ty, fl, sid);
                }
                continue;
            }
            let n = me.wr.left.min(rest.len());
            match me.mode {
                Mode::Drop => {}
                Mode::Collect => {
                    me.collect.extend_from_slice(&rest[..n]);
                    if n == me.wr.left {
                        me.settings_out();
                    }
                }
                Mode::Pass if me.out_pos == me.out.len() => {
                    // Nothing held: straight to the socket.
                    me.out.clear();
                    me.out_pos = 0;
                    match Pin::new(&mut me.io).poll_write(cx, &rest[..n]) {
                        Poll::Ready(Ok(0)) => {
                            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()))
                        }
                        Poll::Ready(Ok(k)) => {
                            me.wr.left -= k;
                            used += k;
                            continue;
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending if used == 0 => return Poll::Pending,
                        Poll::Pending => break,
                    }
                }
                Mode::Pass => {
                    if me.out.len() - me.out_pos >= OUT_MAX {
                        break;
                    }
                    me.out.extend_from_slice(&rest[..n]);
                }
            }
            me.wr.left -= n;
            used += n;
        }
        if let Poll::Ready(Err(e)) = me.drain(cx) {
            return Poll::Ready(Err(e));
        }
        if used == 0 {
            return Poll::Pending;
        }
        Poll::Ready(Ok(used))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.wr.at_boundary() {
            me.inject(cx.waker());
        }
        match me.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut me.io).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        match me.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut me.io).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
