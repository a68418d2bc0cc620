//! The client connection's HTTP/2 state, shared by the connection's loop and
//! its streams' tasks: our own codec ([`haproxide_h2::Server`], sans-IO)
//! behind one lock, and per stream what the codec delivered and the wakers of
//! the task that waits for it.
//!
//! The loop ([`super`]'s `h2_session`) feeds the socket's bytes in
//! ([`Conn::feed`]), starts a task per new stream, and writes what the codec
//! queued whenever a stream's task says there is some ([`Conn::out_ready`]).
//! A stream's task reads its body and sends its response through a
//! [`StreamRef`]: each call takes the lock, asks the codec, and wakes the loop
//! when it queued bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use haproxide_h2::hpack::HeaderList;
use haproxide_h2::request::RequestHead;
use haproxide_h2::{ConnError, ErrorCode, Event, Server, Settings};
use tokio::sync::Notify;

/// One stream as the codec delivered it.
#[derive(Default)]
struct Slot {
    data: VecDeque<Bytes>,
    /// END_STREAM arrived (after `data`).
    end: bool,
    trailers: Option<HeaderList>,
    /// The stream broke: reset by the client or by a stream error.
    broken: bool,
    /// The client's RST_STREAM, not yet reported to the watch.
    reset: Option<ErrorCode>,
    recv_waker: Option<Waker>,
    send_waker: Option<Waker>,
    reset_waker: Option<Waker>,
}

impl Slot {
    fn wake_all(&mut self) {
        for w in [
            self.recv_waker.take(),
            self.send_waker.take(),
            self.reset_waker.take(),
        ]
        .into_iter()
        .flatten()
        {
            w.wake();
        }
    }
}

struct Inner {
    srv: Server,
    slots: HashMap<u32, Slot>,
    /// Bytes the loop took ([`Conn::take_output`]) and has not yet written.
    unwritten: usize,
    /// A sender waits for the backlog to be written.
    blocked: bool,
}

/// What may wait unwritten for one connection before its streams' senders
/// wait too: HAProxy's H2 mux holds its output in a ring of 32 buffers
/// (`H2C_MBUF_CNT`, mux_h2.c) of `tune.bufsize` (16384): 512 KiB. Without it
/// a client that opens its windows to 2^31 - 1 and does not read would have
/// the proxy buffer every answer whole (measured: 189 MB for eight 24 MB
/// answers; tests/h2_hostile.rs `open_window_non_reader_is_bounded`).
const OUT_HIGH: usize = 32 * 16384;

/// The codec and the streams' slots.
pub(crate) struct Conn {
    inner: Mutex<Inner>,
    /// A stream's task queued output: the loop writes it.
    pub(crate) out_ready: Notify,
}

/// A new stream for the loop to start.
pub(crate) struct NewStream {
    pub(crate) id: u32,
    pub(crate) head: RequestHead,
    pub(crate) end_stream: bool,
}

impl Conn {
    pub(crate) fn new(settings: Settings) -> Arc<Conn> {
        Arc::new(Conn {
            inner: Mutex::new(Inner {
                srv: Server::new(settings),
                slots: HashMap::new(),
                unwritten: 0,
                blocked: false,
            }),
            out_ready: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client's bytes: new streams go to `new`; the others' events to
    /// their slots (their tasks woken). A connection error has queued GOAWAY.
    pub(crate) fn feed(&self, input: &[u8], new: &mut Vec<NewStream>) -> Result<(), ConnError> {
        let mut g = self.lock();
        let inner = &mut *g;
        let r = inner.srv.feed(input);
        while let Some(ev) = inner.srv.poll_event() {
            match ev {
                Event::Request {
                    stream,
                    head,
                    end_stream,
                } => {
                    inner.slots.insert(
                        stream,
                        Slot {
                            end: end_stream,
                            ..Slot::default()
                        },
                    );
                    new.push(NewStream {
                        id: stream,
                        head,
                        end_stream,
                    });
                }
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => match inner.slots.get_mut(&stream) {
                    Some(s) => {
                        if !data.is_empty() {
                            s.data.push_back(data);
                        }
                        s.end |= end_stream;
                        if let Some(w) = s.recv_waker.take() {
                            w.wake();
                        }
                    }
                    // No one reads it: its credit goes back at once.
                    None => inner.srv.release(stream, data.len()),
                },
                Event::Trailers { stream, fields } => {
                    if let Some(s) = inner.slots.get_mut(&stream) {
                        s.trailers = Some(fields);
                        s.end = true;
                        if let Some(w) = s.recv_waker.take() {
                            w.wake();
                        }
                    }
                }
                Event::Reset {
                    stream,
                    code,
                    by_client,
                } => {
                    if let Some(s) = inner.slots.get_mut(&stream) {
                        s.broken = true;
                        if by_client {
                            s.reset = Some(code);
                        }
                        s.wake_all();
                    }
                }
                Event::GoAway { .. } => {}
            }
        }
        // Windows may have opened: the senders look again.
        for s in inner.slots.values_mut() {
            if let Some(w) = s.send_waker.take() {
                w.wake();
            }
        }
        r
    }

    /// Moves the queued output to `out`.
    pub(crate) fn take_output(&self, out: &mut Vec<u8>) {
        let mut g = self.lock();
        let p = g.srv.pending_output();
        out.extend_from_slice(p);
        let n = p.len();
        g.srv.consume(n);
        g.unwritten += n;
    }

    /// The loop wrote all it took: the senders that waited for room look again.
    pub(crate) fn written(&self) {
        let mut g = self.lock();
        g.unwritten = 0;
        if std::mem::take(&mut g.blocked) {
            for s in g.slots.values_mut() {
                if let Some(w) = s.send_waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// GOAWAY (graceful with NO_ERROR: the streams in flight go on).
    pub(crate) fn goaway(&self, code: ErrorCode) {
        self.lock().srv.goaway(code);
    }

    /// The whole client preface arrived.
    pub(crate) fn preface_received(&self) -> bool {
        self.lock().srv.preface_received()
    }

    /// The connection failed (GOAWAY queued, or a wrong preface).
    pub(crate) fn failed(&self) -> Option<ConnError> {
        self.lock().srv.failed()
    }
}

/// One stream's handle, for its task.
#[derive(Clone)]
pub(crate) struct StreamRef {
    conn: Arc<Conn>,
    id: u32,
}

impl StreamRef {
    pub(crate) fn new(conn: Arc<Conn>, id: u32) -> Self {
        StreamRef { conn, id }
    }

    fn queued(&self) {
        self.conn.out_ready.notify_one();
    }

    /// The next DATA of the request body: `None` at its end, `Err` when the
    /// stream broke.
    pub(crate) fn poll_data(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ()>>> {
        let mut g = self.conn.lock();
        let Some(s) = g.slots.get_mut(&self.id) else {
            return Poll::Ready(Some(Err(())));
        };
        if let Some(d) = s.data.pop_front() {
            return Poll::Ready(Some(Ok(d)));
        }
        if s.broken {
            return Poll::Ready(Some(Err(())));
        }
        if s.end {
            return Poll::Ready(None);
        }
        s.recv_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The request's trailers (after the body's end).
    pub(crate) fn take_trailers(&self) -> Option<http::HeaderMap> {
        let mut g = self.conn.lock();
        let t = g.slots.get_mut(&self.id)?.trailers.take()?;
        let mut map = http::HeaderMap::with_capacity(t.len());
        for (n, v) in t.iter() {
            if let (Ok(n), Ok(v)) = (
                http::header::HeaderName::from_bytes(n),
                http::HeaderValue::from_bytes(v),
            ) {
                map.append(n, v);
            }
        }
        Some(map)
    }

    /// The engine took `n` bytes of body: credit for the client (stream,
    /// then connection, as HAProxy's mux).
    pub(crate) fn release(&self, n: usize) {
        self.conn.lock().srv.release(self.id, n);
        self.queued();
    }

    /// Sends a response head (1xx: interim).
    pub(crate) fn send_response(&self, resp: &http::Response<()>, end: bool) -> Result<(), ()> {
        let fields = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
        let r = self
            .conn
            .lock()
            .srv
            .send_headers(self.id, resp.status().as_u16(), fields, end);
        self.queued();
        r.map_err(|_| ())
    }

    /// What may be sent now; `Err` when the stream is gone.
    pub(crate) fn poll_capacity(&self, cx: &mut Context<'_>) -> Poll<Result<usize, ()>> {
        let mut g = self.conn.lock();
        let cap = g.srv.send_capacity(self.id);
        let Some(s) = g.slots.get_mut(&self.id) else {
            return Poll::Ready(Err(()));
        };
        if s.broken {
            return Poll::Ready(Err(()));
        }
        let backlog = g.unwritten + g.srv.pending_output().len();
        if cap > 0 && backlog < OUT_HIGH {
            return Poll::Ready(Ok(cap.min(OUT_HIGH - backlog)));
        }
        if g.srv.failed().is_some() {
            return Poll::Ready(Err(()));
        }
        g.blocked |= cap > 0;
        if let Some(s) = g.slots.get_mut(&self.id) {
            s.send_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Sends body data within the capacity; returns what was taken.
    pub(crate) fn send_data(&self, data: &[u8], end: bool) -> Result<usize, ()> {
        let r = self.conn.lock().srv.send_data(self.id, data, end);
        self.queued();
        r.map_err(|_| ())
    }

    /// Sends trailers (they end the stream).
    pub(crate) fn send_trailers(&self, map: &http::HeaderMap) -> Result<(), ()> {
        let fields = map
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
        let r = self.conn.lock().srv.send_trailers(self.id, fields);
        self.queued();
        r.map_err(|_| ())
    }

    /// Resets the stream.
    pub(crate) fn reset(&self, code: ErrorCode) {
        {
            let mut g = self.conn.lock();
            g.srv.reset(self.id, code);
            if let Some(s) = g.slots.get_mut(&self.id) {
                s.broken = true;
            }
        }
        self.queued();
    }

    /// Resolves when the client resets the stream.
    pub(crate) fn poll_reset(&self, cx: &mut Context<'_>) -> Poll<ErrorCode> {
        let mut g = self.conn.lock();
        let Some(s) = g.slots.get_mut(&self.id) else {
            return Poll::Pending;
        };
        if let Some(c) = s.reset.take() {
            return Poll::Ready(c);
        }
        s.reset_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The stream's task is done with it: body bytes no one read are
    /// credited back; a stream whose response did not end is reset (CANCEL),
    /// one whose request is still coming is reset NO_ERROR (RFC 9113 §8.1).
    pub(crate) fn close(&self) {
        {
            let mut g = self.conn.lock();
            let inner = &mut *g;
            if let Some(s) = inner.slots.remove(&self.id) {
                let unread: usize = s.data.iter().map(|d| d.len()).sum();
                inner.srv.release(self.id, unread);
            }
            // Still open in the codec: our side did not end (CANCEL), or the
            // client's request is still coming (NO_ERROR).
            if inner.srv.stream_open(self.id) {
                let code = if inner.srv.send_open(self.id) {
                    ErrorCode::CANCEL
                } else {
                    ErrorCode::NO_ERROR
                };
                inner.srv.reset(self.id, code);
            }
        }
        self.queued();
    }
}
