//! HTTP/2 to servers (configuration.txt §5.2 `proto h2`: prior knowledge on a
//! clear connection; `alpn h2` on an `ssl` server: when the server chose
//! `h2`). The engine keeps speaking HTTP/1.1: its server connection is an
//! in-memory pipe ([`ServerStream::H2`]) whose other end, one task per pipe,
//! sends each request as a stream of a shared HTTP/2 connection (the `h2`
//! crate's client) and writes the response back as HTTP/1.1. So rules,
//! retries, error pages, keep-alive pooling and the log are the engine's own.
//!
//! Sharing (§4.2 `http-reuse safe`, HAProxy 2.6): a server's HTTP/2
//! connections are kept per worker thread; a request that is not the first of
//! its client connection may open a stream on any of them (the least busy; the
//! crate queues it while the server's SETTINGS_MAX_CONCURRENT_STREAMS are in
//! use); a first request opens its own connection, as HAProxy 2.6.12 does
//! (measured with nginx's connection numbers: three single-request clients,
//! three server connections; three requests of one client, one). A connection
//! without a pipe for `pool-purge-delay` (5 s) is closed (GOAWAY). Health
//! checks are unchanged (HTTP/1.1 checks, as HAProxy's).
//!
//! Conversion, as HAProxy 2.6.12's H2 mux to a server: `:method`, `:scheme`
//! (`https` over TLS, else `http`), `:authority` from the `host` field (which
//! is then not sent), `:path` the origin form; connection-specific fields
//! dropped; the body as DATA frames (chunked framing removed, trailers as a
//! HEADERS frame). The response: status line without a reason (as HAProxy),
//! fields
//! as received, `content-length` kept, otherwise `transfer-encoding: chunked`
//! (or `content-length: 0` for a response that ended with its HEADERS).

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use haproxide_http::{parse_request, BodyDecoder, BodyLength, ParseOptions, Parsed, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::time::Instant;

use crate::http::pool::Take;
use crate::lb::BackendRt;
use crate::relay::BUFSIZE;
use crate::server_stream::ServerStream;

/// How long a connection with no pipe stays open (`pool-purge-delay`).
const PURGE: Duration = crate::http::pool::PURGE_DEFAULT;

/// One HTTP/2 connection to a server.
struct Conn {
    send: SendRequest<Bytes>,
    state: Arc<State>,
    https: bool,
}

#[derive(Default)]
struct State {
    /// Pipes open on the connection.
    pipes: AtomicUsize,
    /// Requests in flight.
    busy: AtomicUsize,
}

struct Slot {
    be: Weak<BackendRt>,
    srv: usize,
    conns: Vec<Conn>,
}

thread_local! {
    static CONNS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

fn same(slot: &Slot, be: &Weak<BackendRt>, srv: usize) -> bool {
    slot.srv == srv && Weak::ptr_eq(&slot.be, be)
}

/// A server the engine would speak HTTP/2 to, and how.
pub(crate) struct Want {
    be: Weak<BackendRt>,
    srv: usize,
    prior: bool,
    https: bool,
}

impl Want {
    /// `Some` for an HTTP backend's server with `proto h2`, or `ssl` + `alpn`
    /// offering `h2`.
    pub(crate) fn of(be: &Arc<BackendRt>, srv: usize) -> Option<Want> {
        be.spec.http.as_ref()?;
        let s = be.server(srv)?;
        let alpn = s
            .tls
            .as_ref()
            .is_some_and(|t| t.connector.alpn().iter().any(|p| p == b"h2"));
        if !s.proto_h2 && !alpn {
            return None;
        }
        Some(Want {
            be: Arc::downgrade(be),
            srv,
            prior: s.proto_h2,
            https: s.tls.is_some(),
        })
    }

    /// A new connection `s`: HTTP/2 when the server is to be spoken to that way
    /// (prior knowledge, or ALPN chose `h2`), else returned as it is.
    pub(crate) async fn open(self, s: io::Result<ServerStream>) -> io::Result<ServerStream> {
        let s = s?;
        let speak = self.prior
            || matches!(&s, ServerStream::Tls(t) if t.get_ref().1.alpn_protocol() == Some(b"h2"))
            || matches!(&s, ServerStream::TlsUnix(t) if t.get_ref().1.alpn_protocol() == Some(b"h2"));
        if !speak {
            return Ok(s);
        }
        let (send, conn) = h2::client::Builder::new()
            .max_header_list_size(BUFSIZE as u32)
            .max_send_buffer_size(BUFSIZE * 4)
            .handshake::<_, Bytes>(s)
            .await
            .map_err(io::Error::other)?;
        let state = Arc::new(State::default());
        let key = (self.be.clone(), self.srv);
        let st = state.clone();
        tokio::spawn(async move {
            drive(conn, &st).await;
            forget(&key.0, key.1, &st);
        });
        let c = Conn {
            send,
            state,
            https: self.https,
        };
        let pipe = c.pipe();
        CONNS.with(|t| {
            let mut t = t.borrow_mut();
            t.retain(|s| s.be.strong_count() > 0);
            match t.iter_mut().find(|s| same(s, &self.be, self.srv)) {
                Some(slot) => slot.conns.push(c),
                None => t.push(Slot {
                    be: self.be,
                    srv: self.srv,
                    conns: vec![c],
                }),
            }
        });
        Ok(pipe)
    }
}

/// A stream on one of the server's HTTP/2 connections of this thread, as
/// `take` allows (see the module doc).
pub(crate) fn take(be: &Arc<BackendRt>, srv: usize, take: Take) -> Option<ServerStream> {
    if take == Take::None {
        return None;
    }
    let be = Arc::downgrade(be);
    CONNS.with(|t| {
        let t = t.borrow();
        let slot = t.iter().find(|s| same(s, &be, srv))?;
        // The least busy connection.
        let c = slot
            .conns
            .iter()
            .min_by_key(|c| c.state.busy.load(Ordering::Relaxed))?;
        Some(c.pipe())
    })
}

/// Drops a connection that ended from the thread's list.
fn forget(be: &Weak<BackendRt>, srv: usize, st: &Arc<State>) {
    CONNS.with(|t| {
        let mut t = t.borrow_mut();
        if let Some(slot) = t.iter_mut().find(|s| same(s, be, srv)) {
            slot.conns.retain(|c| !Arc::ptr_eq(&c.state, st));
        }
        t.retain(|s| !s.conns.is_empty() && s.be.strong_count() > 0);
    });
}

/// Runs the connection until it ends; without a pipe for [`PURGE`], it is
/// closed (the list's handle dropped: the crate sends GOAWAY once no stream
/// is left).
async fn drive(conn: h2::client::Connection<ServerStream, Bytes>, st: &Arc<State>) {
    tokio::pin!(conn);
    let mut idle_since = Instant::now();
    loop {
        tokio::select! {
            _ = &mut conn => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                if st.pipes.load(Ordering::Relaxed) > 0 {
                    idle_since = Instant::now();
                } else if idle_since.elapsed() >= PURGE {
                    break;
                }
            }
        }
    }
    // Let the list's handle go, then the crate's GOAWAY out (bounded).
    let _ = tokio::time::timeout(Duration::from_secs(1), &mut conn).await;
}

impl Conn {
    /// A new pipe on this connection: the engine's end.
    fn pipe(&self) -> ServerStream {
        let (engine, ours) = tokio::io::duplex(BUFSIZE);
        self.state.pipes.fetch_add(1, Ordering::Relaxed);
        let send = self.send.clone();
        let state = self.state.clone();
        let https = self.https;
        tokio::spawn(async move {
            bridge(ours, send, &state, https).await;
            state.pipes.fetch_sub(1, Ordering::Relaxed);
        });
        ServerStream::H2(engine)
    }
}

/// Serves the HTTP/1.1 requests the engine writes on the pipe, one after the
/// other, each as an HTTP/2 stream; ends when the engine closes the pipe or a
/// stream fails (the engine sees its server connection close).
async fn bridge(pipe: DuplexStream, mut send: SendRequest<Bytes>, st: &State, https: bool) {
    let (mut rd, mut wr) = tokio::io::split(pipe);
    let mut buf: Vec<u8> = Vec::with_capacity(BUFSIZE);
    let opts = ParseOptions {
        accept_invalid: true,
        ..ParseOptions::default()
    };
    loop {
        let (req, used) = loop {
            match parse_request(&buf, &opts) {
                Ok(Parsed::Complete { message, len }) => break (message, len),
                Ok(Parsed::Partial) => {}
                Err(_) => return,
            }
            let mut chunk = [0u8; 8192];
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        buf.drain(..used);
        let Some(h2req) = super::convert::upstream_request(&req.head, https) else {
            return;
        };
        let end = matches!(req.body, BodyLength::None | BodyLength::Length(0));
        st.busy.fetch_add(1, Ordering::Relaxed);
        let ok = exchange(
            &mut send,
            h2req,
            end,
            (&mut rd, &mut buf, req.body),
            &mut wr,
            &req.head.method,
        )
        .await;
        st.busy.fetch_sub(1, Ordering::Relaxed);
        if !ok {
            return;
        }
    }
}

/// One request: its body to the server while the response comes back. False
/// when the pipe cannot go on (the stream failed, the engine went away).
async fn exchange(
    send: &mut SendRequest<Bytes>,
    req: http::Request<()>,
    end: bool,
    (rd, buf, body): (&mut ReadHalf<DuplexStream>, &mut Vec<u8>, BodyLength),
    wr: &mut WriteHalf<DuplexStream>,
    method: &[u8],
) -> bool {
    let ready = match send.clone().ready().await {
        Ok(s) => s,
        Err(_) => return false,
    };
    *send = ready;
    let Ok((resp, mut out)) = send.send_request(req, end) else {
        return false;
    };
    let up = async {
        if end {
            return true;
        }
        body_up(rd, buf, body, &mut out).await
    };
    let down = async {
        let Ok(resp) = resp.await else {
            return false;
        };
        response_down(resp, wr, method).await
    };
    let (up_ok, down_ok) = tokio::join!(up, down);
    down_ok && up_ok
}

/// The request body from the pipe (framing removed) as DATA frames. Once the
/// server ended the stream (an early answer, a reset), the rest of the body
/// is still read and dropped, so the pipe stays in step with the engine.
async fn body_up(
    rd: &mut ReadHalf<DuplexStream>,
    buf: &mut Vec<u8>,
    body: BodyLength,
    out: &mut SendStream<Bytes>,
) -> bool {
    let mut dec = BodyDecoder::new(body, BUFSIZE);
    let mut chunk = vec![0u8; BUFSIZE];
    let mut sink = false;
    loop {
        let mut pos = 0;
        loop {
            let Ok((n, step)) = dec.step(&buf[pos..]) else {
                out.send_reset(h2::Reason::CANCEL);
                return false;
            };
            pos += n;
            match step {
                Step::Data(d) => {
                    if !sink && !send_data(out, Bytes::copy_from_slice(d)).await {
                        sink = true;
                    }
                }
                Step::Trailers(t) => {
                    buf.drain(..pos);
                    let map = super::convert::trailers(&t);
                    if !sink {
                        let _ = if map.is_empty() {
                            out.send_data(Bytes::new(), true)
                        } else {
                            out.send_trailers(map)
                        };
                    }
                    return true;
                }
                Step::Done => {
                    buf.drain(..pos);
                    if !sink {
                        let _ = out.send_data(Bytes::new(), true);
                    }
                    return true;
                }
                Step::NeedMore => break,
            }
        }
        buf.drain(..pos);
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                out.send_reset(h2::Reason::CANCEL);
                return false;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends `d` as the server's window allows.
async fn send_data(out: &mut SendStream<Bytes>, mut d: Bytes) -> bool {
    while !d.is_empty() {
        out.reserve_capacity(d.len());
        let cap = loop {
            match std::future::poll_fn(|cx| out.poll_capacity(cx)).await {
                Some(Ok(0)) => continue,
                Some(Ok(n)) => break n,
                Some(Err(_)) | None => return false,
            }
        };
        let part = d.split_to(cap.min(d.len()));
        if out.send_data(part, false).is_err() {
            return false;
        }
    }
    true
}

/// The response as HTTP/1.1 into the pipe.
async fn response_down(
    resp: http::Response<RecvStream>,
    wr: &mut WriteHalf<DuplexStream>,
    method: &[u8],
) -> bool {
    let (parts, mut body) = resp.into_parts();
    let bodyless = method == b"HEAD"
        || parts.status.is_informational()
        || parts.status == http::StatusCode::NO_CONTENT
        || parts.status == http::StatusCode::NOT_MODIFIED;
    let (head, chunked) = super::convert::upstream_response(&parts, bodyless, body.is_end_stream());
    if wr.write_all(&head).await.is_err() {
        return false;
    }
    while let Some(d) = body.data().await {
        let Ok(d) = d else {
            return false;
        };
        let n = d.len();
        if n == 0 || bodyless {
            let _ = body.flow_control().release_capacity(n);
            continue;
        }
        let ok = if chunked {
            wr.write_all(&super::convert::chunk(&d)).await.is_ok()
        } else {
            wr.write_all(&d).await.is_ok()
        };
        if !ok {
            return false;
        }
        let _ = body.flow_control().release_capacity(n);
    }
    if chunked {
        let t = body.trailers().await.ok().flatten();
        if wr
            .write_all(&super::convert::last_chunk(t.as_ref()))
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}
