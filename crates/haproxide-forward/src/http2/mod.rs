//! HTTP/2 on the client side (configuration.txt §5.1 `alpn h2`, `proto h2`;
//! §3.2 `tune.h2.*`), onto the same HTTP engine as HTTP/1: our own codec
//! (`haproxide-h2`, sans-IO: frames, HPACK, flow control, stream states, the
//! guards) driven by the connection's loop ([`Sess::h2_session`], state shared
//! with the streams in `conn.rs`); each stream becomes one HTTP/1.1
//! transaction whose client is the stream itself, served by the engine's own
//! exchange ([`Sess::h2_stream_exchange`]), so rules, backend switching, server
//! choice, reuse, error pages and the log line are HTTP/1's (the log shows
//! `HTTP/2.0` and the absolute URI, as HAProxy's). docs/h2.md says why, and
//! what bounds a client.
//!
//! Bounds per client connection: `tune.h2.max-concurrent-streams` streams, each
//! holding at most `tune.h2.initial-window-size` bytes of request body (credit
//! goes back as the engine takes it) and one pipe buffer each way
//! ([`crate::BUFSIZE`]); a header list is at most `tune.bufsize`
//! (SETTINGS_MAX_HEADER_LIST_SIZE, bounded while it is decoded); a header
//! block's bytes are bounded (CONTINUATION flood); resets (the client's and our
//! stream errors) past twice the stream limit plus [`MAX_CLIENT_RESETS`] end the
//! connection with GOAWAY ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487).

mod client;
mod conn;
mod convert;
mod stream;
pub(crate) mod upstream;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

pub use client::H2Io;
pub(crate) use convert::request_head;

use crate::relay::ClientStream;
use crate::session::{Flow, Sess};

/// Streams a client may reset (RST_STREAM on a stream the engine had taken)
/// before the connection is closed with ENHANCE_YOUR_CALM: twice the stream
/// limit, plus a margin for browsers cancelling navigations.
fn max_client_resets(streams: u32) -> u32 {
    streams.saturating_mul(2).saturating_add(MAX_CLIENT_RESETS)
}

/// The fixed part of the reset allowance.
pub const MAX_CLIENT_RESETS: u32 = 100;

/// The global `tune.h2.*` settings (configuration.txt §3.2), HAProxy 2.6's
/// defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2Spec {
    /// `tune.h2.header-table-size` (SETTINGS_HEADER_TABLE_SIZE; default 4096).
    pub header_table_size: u32,
    /// `tune.h2.initial-window-size` (SETTINGS_INITIAL_WINDOW_SIZE; default 65535).
    pub initial_window_size: u32,
    /// `tune.h2.max-concurrent-streams` (default 100).
    pub max_concurrent_streams: u32,
    /// `tune.h2.max-frame-size` (SETTINGS_MAX_FRAME_SIZE; default 16384).
    pub max_frame_size: u32,
    /// The largest header list (SETTINGS_MAX_HEADER_LIST_SIZE): `tune.bufsize`.
    pub max_header_list_size: u32,
}

impl Default for H2Spec {
    fn default() -> Self {
        H2Spec {
            header_table_size: 4096,
            initial_window_size: 65535,
            max_concurrent_streams: 100,
            max_frame_size: 16384,
            max_header_list_size: crate::relay::BUFSIZE as u32,
        }
    }
}

impl H2Spec {
    /// The codec's settings: what the client is told in SETTINGS is HAProxy
    /// 2.6.12's (the frame size is bounded by the buffer, so
    /// `tune.h2.max-frame-size` above `tune.bufsize` - 9 is not advertised,
    /// measured); resets past [`max_client_resets`] end the connection.
    fn codec(&self) -> haproxide_h2::Settings {
        let mfs = self
            .max_frame_size
            .min((crate::relay::BUFSIZE - 9) as u32)
            .max(16384);
        let streams = self.max_concurrent_streams.max(1);
        haproxide_h2::Settings {
            header_table_size: self.header_table_size,
            initial_window_size: self
                .initial_window_size
                .min(haproxide_h2::frame::MAX_WINDOW),
            max_concurrent_streams: streams,
            max_frame_size: mfs,
            max_header_list_size: self.max_header_list_size,
            max_resets: max_client_resets(streams),
            ..haproxide_h2::Settings::default()
        }
    }
}

/// A connection's stream tasks: ended with it, also when the session's kill
/// switch drops the connection's future (the session task waits on the kill
/// switch; the streams only read its flag, so that its one waker stays the
/// session's).
struct Streams(Vec<AbortHandle>);

impl Drop for Streams {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// What every stream of one connection shares.
pub(crate) struct ConnInfo {
    pub(crate) tls: Option<std::sync::Arc<haproxide_expr::TlsSession>>,
    /// Stream tasks running.
    pub(crate) live: AtomicUsize,
    /// The last running stream task ended.
    pub(crate) idle: Notify,
}

impl ConnInfo {
    /// A stream task ends (the last one wakes the connection's loop).
    pub(crate) fn stream_ended(&self) {
        if self.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_one();
        }
    }

    fn streams_running(&self) -> bool {
        self.live.load(Ordering::Acquire) > 0
    }
}

impl Sess {
    /// Serve an HTTP/2 connection on `client` until it ends. The connection is
    /// not logged itself; each stream is, as an HTTP/1 request would be.
    pub(crate) async fn h2_session(&mut self, client: &mut ClientStream) -> Flow {
        self.silent = true;
        let shared = self.shared.clone();
        let fert = &shared.frontends[self.fe];
        let spec = fert.spec.h2;
        let tc = fert.light.timeout_client;
        let fh = fert.spec.http.as_ref();
        // A connection without a stream running closes with a GOAWAY, as
        // HAProxy 2.6's H2 mux (`h2c_update_timeout`): before its first stream
        // after `timeout http-request`, else `timeout client`; idle after one,
        // after `timeout http-keep-alive`, else `timeout http-request`, else
        // `timeout client` (measured: 5 s and 1 s with client 5s, keep-alive 1s).
        let hour = Duration::from_secs(3600);
        let before_first = fh.and_then(|h| h.timeout_request).or(tc).unwrap_or(hour);
        let idle = fh
            .and_then(|h| h.timeout_keep_alive.or(h.timeout_request))
            .or(tc)
            .unwrap_or(hour);
        // Bytes already read (the preface, on an HTTP/1 bind that saw it) are
        // given back to the HTTP/2 side first.
        let pre = self.req.filled().to_vec();
        self.req.consume(pre.len());
        self.req.release_if_empty();
        let mut io =
            haproxide_tls::Prefixed::new(pre, std::mem::replace(client, ClientStream::Closed));
        let conn = conn::Conn::new(spec.codec());
        let info = Arc::new(ConnInfo {
            tls: self.tls.clone(),
            live: AtomicUsize::new(0),
            idle: Notify::new(),
        });
        // The stream tasks, to end them with the connection (a `JoinSet` would
        // cost an allocation and three locks per stream): pruned of finished
        // ones as it grows.
        let mut tasks = Streams(Vec::new());
        let mut prune_at = 64;
        let mut streams: u64 = 0;
        // The waits that outlive one turn of the loop are made once (a soft
        // stop's waiter is a shared list: entering it per stream would cost
        // two locks each).
        let soft = shared.soft.wait();
        tokio::pin!(soft);
        let idle_sleep = tokio::time::sleep_until(Instant::now() + before_first);
        tokio::pin!(idle_sleep);
        // The preface within `timeout http-request`, else `timeout client`.
        let first = fh.and_then(|h| h.timeout_request).or(tc);
        let first_sleep = tokio::time::sleep_until(Instant::now() + first.unwrap_or(hour));
        tokio::pin!(first_sleep);
        let mut opened = false;
        // After a GOAWAY: the streams finish, then the connection closes (a
        // client that does not read it is dropped after `timeout client`).
        let mut going = false;
        // Streams ran since the idle timer was last set.
        let mut busy = false;
        let mut rbuf = vec![0u8; 16 * 1024];
        let mut wbuf = Vec::with_capacity(16 * 1024);
        let mut new = Vec::new();
        let write_limit = tc.unwrap_or(hour);
        let mut flow = *b"--";
        loop {
            // What the codec queued goes out first (a client that does not
            // read for `timeout client` is dropped).
            conn.take_output(&mut wbuf);
            if !wbuf.is_empty() {
                let w = async {
                    io.write_all(&wbuf).await?;
                    io.flush().await
                };
                match tokio::time::timeout(write_limit, w).await {
                    Ok(Ok(())) => {
                        wbuf.clear();
                        conn.written();
                    }
                    _ => break,
                }
            }
            if conn.failed().is_some() {
                if !opened && !conn.preface_received() {
                    flow = *b"CR";
                }
                break;
            }
            // After our GOAWAY, the connection closes once it is written and
            // no stream is left.
            let running = info.streams_running();
            if going && !running {
                break;
            }
            // Idle from the moment its streams ended (they may have ended
            // before the loop looked).
            if busy && !running {
                idle_sleep.as_mut().reset(Instant::now() + idle);
            }
            busy = running;
            tokio::select! {
                r = io.read(&mut rbuf) => {
                    let n = match r {
                        Ok(n) if n > 0 => n,
                        _ => {
                            if !opened && !conn.preface_received() {
                                // Closed before a whole preface: HAProxy 2.6.12
                                // logs a `<BADREQ>` with `PR--` (measured; a
                                // wrong preface closes silently).
                                self.silent = false;
                                let mut h = Box::new(crate::HttpTxnLog::new());
                                h.status = Some(0);
                                self.http_log = Some(h);
                                return Flow::Done(*b"PR");
                            }
                            break;
                        }
                    };
                    let r = conn.feed(&rbuf[..n], &mut new);
                    opened |= conn.preface_received();
                    busy |= !new.is_empty();
                    for ns in new.drain(..) {
                        let s = self.for_stream(streams == 0);
                        streams += 1;
                        info.live.fetch_add(1, Ordering::AcqRel);
                        let stream = conn::StreamRef::new(conn.clone(), ns.id);
                        // Boxed: tokio moves a task's future by value several
                        // times (spawn, the task cell, its end), and this one
                        // holds a whole exchange (about 7 KB): measured, the
                        // moves cost more than the allocation they save. The
                        // box is allocated first and the future written into
                        // it (`Box::new` builds it on the stack, then copies
                        // all 7 KB: 700 instructions per stream).
                        let slot = Box::new_uninit();
                        let fut = crate::sys::box_write(
                            slot,
                            stream::serve(s, info.clone(), ns, stream),
                        );
                        // Timed: one clock read per poll of the stream, as
                        // for an HTTP/1 session (`crate::clock`): its timers,
                        // rate counters and pool read `now()` ~20 times a
                        // request.
                        let t = tokio::spawn(crate::clock::Timed::new(Box::into_pin(fut)));
                        if tasks.0.len() >= prune_at {
                            tasks.0.retain(|t| !t.is_finished());
                            prune_at = (tasks.0.len() * 2).max(64);
                        }
                        tasks.0.push(t.abort_handle());
                    }
                    if r.is_err() {
                        // GOAWAY queued: written at the top of the loop.
                        continue;
                    }
                }
                () = conn.out_ready.notified() => {}
                () = &mut first_sleep, if !opened => return Flow::Done(*b"cR"),
                // The last stream ended: the idle timer is set at the top.
                () = info.idle.notified(), if info.streams_running() => {}
                () = &mut soft, if !going => {
                    // Soft stop (SIGUSR1, reload): GOAWAY, the streams in flight finish.
                    conn.goaway(haproxide_h2::ErrorCode::NO_ERROR);
                    going = true;
                }
                () = &mut idle_sleep, if !info.streams_running() && !going => {
                    conn.goaway(haproxide_h2::ErrorCode::NO_ERROR);
                    going = true;
                }
            }
        }
        // Let a last GOAWAY out, bounded.
        conn.take_output(&mut wbuf);
        if !wbuf.is_empty() {
            let w = async {
                io.write_all(&wbuf).await?;
                io.flush().await
            };
            let _ = tokio::time::timeout(Duration::from_secs(1), w).await;
        }
        drop(tasks);
        Flow::Done(flow)
    }

    /// What a stream's session is made of, taken when the stream is accepted
    /// (its id, accept dates and counters): the session itself is built in
    /// the stream's task ([`StreamOrigin::sess`]), in place, not built here
    /// and moved into the task (a kilobyte copied three times per stream).
    fn for_stream(&self, first: bool) -> StreamOrigin {
        let shared = self.shared.clone();
        let sid = shared.next_sid.fetch_add(1, Ordering::Relaxed);
        let meter = crate::meter::SessionMeter::new(&shared.meters, None, self.fe);
        // The connection's task is polled through `clock::Timed`: the streams
        // its poll accepts share one reading of the monotonic clock.
        let when = crate::clock::now_wall();
        StreamOrigin {
            shared,
            fe: self.fe,
            addrs: (self.src, self.dst),
            sid,
            kill: self.kill.clone(),
            meter,
            when,
            tls: self.tls.clone(),
            bind: self.bind,
            first,
        }
    }
}

/// A stream's session before it is built ([`Sess::for_stream`]).
pub(crate) struct StreamOrigin {
    shared: Arc<crate::Shared>,
    fe: usize,
    addrs: (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>),
    sid: u64,
    kill: Arc<crate::lb::Kill>,
    meter: crate::meter::SessionMeter,
    when: (std::time::SystemTime, Instant),
    tls: Option<std::sync::Arc<haproxide_expr::TlsSession>>,
    bind: Option<usize>,
    first: bool,
}

impl StreamOrigin {
    /// A transaction's session for one stream: the connection's addresses,
    /// frontend, TLS facts and kill switch (a hard stop or `shutdown session`
    /// ends every stream), its own counters and log. Streams after the first
    /// are not a connection's first request (`http-reuse safe` lets them take
    /// idle server connections, as HAProxy's streams of one session).
    pub(crate) fn sess(self) -> Sess {
        let mut s = Sess::new(
            self.shared,
            self.fe,
            self.addrs,
            self.sid,
            self.kill,
            self.meter,
            self.when,
        );
        s.tls = self.tls;
        s.bind = self.bind;
        s.h2 = Some(self.first);
        s
    }
}
