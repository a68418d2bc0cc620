//! One HTTP/2 stream as the engine's client ([`ClientStream::H2`]): no pipe and
//! no task of its own. The engine takes the request head already parsed
//! ([`ClientStream::take_h2_head`]; as bytes in two cases, see `stream.rs`);
//! reads give it the body
//! from DATA frames (re-chunked when the request has no `content-length`);
//! writes take the engine's HTTP/1 response and send it as HEADERS and DATA
//! frames, within the client's window (a write waits for window, so the engine's
//! `timeout client` bounds a client that grants none). A response head the
//! engine hands over already parsed ([`H2Io::direct_head`]) is not parsed again.
//!
//! The send side is shared with the stream's task ([`Shared`]), which watches
//! for the client's RST_STREAM while the engine waits for the server, and ends
//! the response after the engine (END_STREAM, or a reset if it was cut short).
//!
//! [`ClientStream::H2`]: crate::relay::ClientStream::H2
//! [`ClientStream::take_h2_head`]: crate::relay::ClientStream::take_h2_head

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use haproxide_h2::ErrorCode;
use haproxide_http::{parse_response, BodyDecoder, BodyLength, ParseOptions, Parsed, Step};
use tokio::io::ReadBuf;

use super::conn::StreamRef;
use super::convert;
use crate::relay::BUFSIZE;

/// Where the request body is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    Data,
    Trailers,
    Done,
}

/// The engine's side of one stream: a handle on the state it shares with the
/// stream's task ([`Shared`]), the receive side and the send side in one
/// allocation (the engine's client is not boxed).
pub struct H2Io(Arc<Shared>);

/// The receive side: what the engine reads.
struct In {
    /// The request head as the engine's parsed head (built from the HEADERS
    /// frame: no HTTP/1 bytes), until the engine takes it.
    direct: Option<Result<haproxide_http::Request, haproxide_http::ParseError>>,
    /// The request head (HTTP/1.1 bytes), read up to `head_pos`, when it did
    /// not go to the engine's buffer at once (empty then).
    head: Vec<u8>,
    head_pos: usize,
    body: StreamRef,
    state: Body,
    chunked: bool,
    /// Body bytes (a DATA frame, or one chunk of it) not read yet.
    pending: Bytes,
    pending_pos: usize,
}

/// A stream's state, shared by the engine ([`H2Io`]) and the stream's task
/// (which watches the send side and ends it).
pub(crate) struct Shared {
    out: Mutex<Out>,
    input: Mutex<In>,
}

impl Drop for Shared {
    /// The engine and the stream's task are done: the stream is closed in
    /// the codec (see [`StreamRef::close`]).
    fn drop(&mut self) {
        self.input
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .body
            .close();
    }
}

/// How the stream's send side stands.
pub(crate) enum Watch {
    /// The client reset the stream.
    Reset,
    /// The request body broke (a stream error): the transaction is aborted.
    Aborted,
}

struct Out {
    stream: StreamRef,
    /// The final response head went.
    sent_head: bool,
    /// The request method is HEAD: the response has no body.
    head_req: bool,
    /// Response bytes the engine wrote, not decoded yet (a head being
    /// assembled, or body framing).
    raw: Vec<u8>,
    /// Decoded body data not sent yet (waiting for window).
    unsent: Bytes,
    /// The response body's decoder once the head went; `None` before, or for
    /// a head given directly (its body is written as plain data).
    dec: Option<BodyDecoder>,
    /// Body bytes left after a direct head with a length (END_STREAM rides on
    /// the last DATA frame); `None` when unknown.
    left: Option<u64>,
    /// A head was given directly: writes are body data as they are.
    direct: bool,
    /// END_STREAM (or a reset) went: nothing more is sent.
    ended: bool,
    aborted: bool,
    /// The client's reset was seen (and counted).
    reset_seen: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The receive side (taken before the send side when both are).
    fn input(&self) -> MutexGuard<'_, In> {
        self.input.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves when the client resets the stream or its request body broke.
    pub(crate) fn poll_watch(&self, cx: &mut Context<'_>) -> Poll<Watch> {
        let mut o = self.lock();
        if o.aborted {
            return Poll::Ready(Watch::Aborted);
        }
        if o.ended || o.reset_seen {
            return Poll::Pending;
        }
        match o.stream.poll_reset(cx) {
            Poll::Ready(_) => {
                o.reset_seen = true;
                Poll::Ready(Watch::Reset)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// After the engine: what it wrote goes out (within the window), then
    /// END_STREAM; a response cut short (or none) resets the stream. Ready
    /// when nothing more is to be sent; `Err` when the client reset it.
    pub(crate) fn poll_finish(&self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        let mut o = self.lock();
        match o.drain(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(_)) => {
                o.reset(ErrorCode::CANCEL);
                return Poll::Ready(Err(()));
            }
            Poll::Ready(Ok(())) => {}
        }
        if o.ended {
            return Poll::Ready(Ok(()));
        }
        let complete = match (o.sent_head, o.dec.as_mut()) {
            (false, _) => false,
            (true, Some(d)) => d.at_eof().is_ok(),
            // A direct head: complete when its length is (or it had none).
            (true, None) => o.left.is_none_or(|l| l == 0),
        };
        if complete {
            let _ = o.stream.send_data(b"", true);
            o.ended = true;
        } else {
            o.reset(ErrorCode::CANCEL);
        }
        Poll::Ready(Ok(()))
    }

    /// Resets the stream (a timeout while waiting for window).
    pub(crate) fn reset(&self, code: ErrorCode) {
        self.lock().reset(code);
    }
}

impl Out {
    fn reset(&mut self, code: ErrorCode) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.stream.reset(code);
    }

    /// Sends what is buffered as far as the window allows. Ready(Ok) when
    /// nothing is left; Err when the stream is gone or the response is bad.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if !self.unsent.is_empty() {
                if !self.sent_head {
                    return Poll::Ready(Err(gone()));
                }
                let cap = match self.stream.poll_capacity(cx) {
                    Poll::Ready(Ok(0)) | Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(n)) => n,
                    Poll::Ready(Err(())) => {
                        self.ended = true;
                        return Poll::Ready(Err(gone()));
                    }
                };
                let part = self.unsent.split_to(cap.min(self.unsent.len()));
                let last = self.unsent.is_empty()
                    && match self.dec.as_ref() {
                        Some(d) => d.is_done(),
                        None => self.left == Some(0),
                    };
                if self.stream.send_data(&part, last) != Ok(part.len()) {
                    self.ended = true;
                    return Poll::Ready(Err(gone()));
                }
                if last {
                    self.ended = true;
                }
                continue;
            }
            if self.raw.is_empty() || self.ended {
                self.raw.clear();
                return Poll::Ready(Ok(()));
            }
            if !self.sent_head {
                if !self.head_from_raw()? {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            // Body bytes through the decoder.
            let Some(dec) = self.dec.as_mut() else {
                // A direct head: the bytes are the body's data.
                let data = std::mem::take(&mut self.raw);
                if let Some(l) = self.left.as_mut() {
                    *l = l.saturating_sub(data.len() as u64);
                }
                self.unsent = Bytes::from(data);
                continue;
            };
            let (n, step) = dec.step(&self.raw).map_err(|_| bad())?;
            match step {
                Step::Data(d) => {
                    self.unsent = Bytes::copy_from_slice(d);
                    self.raw.drain(..n);
                }
                Step::Trailers(t) => {
                    self.raw.clear();
                    let map = convert::trailers(&t);
                    let _ = if map.is_empty() {
                        self.stream.send_data(b"", true).map(|_| ())
                    } else {
                        self.stream.send_trailers(&map)
                    };
                    self.ended = true;
                }
                Step::Done => {
                    self.raw.clear();
                    let _ = self.stream.send_data(b"", true);
                    self.ended = true;
                }
                Step::NeedMore => {
                    self.raw.drain(..n);
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }

    /// Parses the response head the engine wrote (interim ones go as they
    /// come). True once the final head went.
    fn head_from_raw(&mut self) -> io::Result<bool> {
        let opts = ParseOptions {
            accept_invalid: true,
            ..ParseOptions::default()
        };
        let method: &[u8] = if self.head_req { b"HEAD" } else { b"GET" };
        loop {
            match parse_response(&self.raw, method, &opts) {
                Ok(Parsed::Complete { message, len })
                    if message.head.code < 200 && message.head.code != 101 =>
                {
                    if let Some(r) = convert::response(&message.head) {
                        let _ = self.stream.send_response(&r, false);
                    }
                    self.raw.drain(..len);
                }
                Ok(Parsed::Complete { message, len }) => {
                    self.raw.drain(..len);
                    let length = if self.head_req {
                        BodyLength::None
                    } else {
                        message.body
                    };
                    self.send_head(&message.head, length)?;
                    return Ok(true);
                }
                Ok(Parsed::Partial) if self.raw.len() <= BUFSIZE * 2 => return Ok(false),
                Ok(Parsed::Partial) | Err(_) => {
                    self.reset(ErrorCode::INTERNAL_ERROR);
                    return Err(bad());
                }
            }
        }
    }

    /// Sends the final head; the body that follows is decoded as `length` says.
    fn send_head(
        &mut self,
        head: &haproxide_http::ResponseHead,
        length: BodyLength,
    ) -> io::Result<()> {
        let Some(r) = convert::response(head) else {
            self.reset(ErrorCode::INTERNAL_ERROR);
            return Err(bad());
        };
        let dec = BodyDecoder::new(length, BUFSIZE);
        let empty = dec.is_done();
        match self.stream.send_response(&r, empty) {
            Ok(()) => self.sent_head = true,
            Err(()) => {
                self.ended = true;
                return Err(gone());
            }
        }
        self.ended = empty;
        if !self.direct {
            self.dec = Some(dec);
        }
        Ok(())
    }
}

/// The request line of a head (what HAProxy logs for a transaction aborted
/// before its head was parsed).
pub(crate) fn first_line(head: &[u8]) -> &[u8] {
    let end = head.iter().position(|&b| b == b'\r');
    &head[..end.unwrap_or(0)]
}

fn gone() -> io::Error {
    io::ErrorKind::BrokenPipe.into()
}

fn bad() -> io::Error {
    io::ErrorKind::InvalidData.into()
}

impl H2Io {
    /// A stream's engine side: `direct` is the request head as parsed, else
    /// `head` is it as HTTP/1.1 bytes (when not in the engine's buffer);
    /// `end_stream`, the HEADERS frame ended the stream (no body); `chunked`,
    /// its body goes chunked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        direct: Option<Result<haproxide_http::Request, haproxide_http::ParseError>>,
        head: Vec<u8>,
        body: StreamRef,
        end_stream: bool,
        chunked: bool,
        head_req: bool,
    ) -> (H2Io, Arc<Shared>) {
        let state = if end_stream && !chunked {
            Body::Done
        } else {
            Body::Data
        };
        let input = In {
            direct,
            head,
            head_pos: 0,
            body: body.clone(),
            state,
            chunked,
            pending: Bytes::new(),
            pending_pos: 0,
        };
        let shared = Arc::new(Shared {
            out: Mutex::new(Out {
                stream: body,
                sent_head: false,
                head_req,
                raw: Vec::new(),
                unsent: Bytes::new(),
                dec: None,
                left: None,
                direct: false,
                ended: false,
                aborted: false,
                reset_seen: false,
            }),
            input: Mutex::new(input),
        });
        (H2Io(shared.clone()), shared)
    }

    /// The final response head, as the engine parsed it (no second parse):
    /// what the engine writes after it is the body's data, `length` long when
    /// known. False when the stream cannot take it (the engine then writes the
    /// head as bytes, or fails on its next write).
    pub(crate) fn direct_head(
        &mut self,
        head: &haproxide_http::ResponseHead,
        length: Option<u64>,
    ) -> bool {
        let mut o = self.0.lock();
        if o.sent_head || o.ended || !o.raw.is_empty() {
            return false;
        }
        o.direct = true;
        o.left = if o.head_req { Some(0) } else { length };
        let framing = if o.left == Some(0) {
            BodyLength::None
        } else {
            BodyLength::UntilClose
        };
        o.send_head(head, framing).is_ok()
    }

    /// The request line of a transaction aborted before the engine parsed
    /// its head, into `log`: from the parsed head the engine has not taken
    /// yet, else from the head's bytes (the stream's when it holds them, one
    /// beyond the engine's buffer, else `buffered`, the engine's).
    pub(crate) fn log_request_line(&self, buffered: &[u8], log: &mut crate::HttpTxnLog) {
        let i = self.0.input();
        if let Some(Ok(r)) = &i.direct {
            log.set_request_line(&r.head.method, &r.head.uri, b"HTTP/2.0");
            return;
        }
        let head = if i.head.is_empty() {
            buffered
        } else {
            &i.head[..]
        };
        let mut p = first_line(head).splitn(3, |&b| b == b' ');
        if let (Some(m), Some(u), Some(v)) = (p.next(), p.next(), p.next()) {
            log.set_request_line(m, u, v);
        }
    }
}

impl In {
    fn poll_body(&mut self, cx: &mut Context<'_>, sh: &Shared) -> Poll<io::Result<bool>> {
        loop {
            match self.state {
                Body::Data => match self.body.poll_data(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(d))) => {
                        let n = d.len();
                        if n == 0 {
                            continue;
                        }
                        // Credit back what the engine takes, at once, as
                        // HAProxy's mux.
                        self.body.release(n);
                        self.pending = if self.chunked {
                            Bytes::from(convert::chunk(&d))
                        } else {
                            d
                        };
                        self.pending_pos = 0;
                        return Poll::Ready(Ok(true));
                    }
                    Poll::Ready(Some(Err(_))) => {
                        // A broken body (its content-length exceeded, a
                        // reset): the stream's task aborts the transaction.
                        sh.lock().aborted = true;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Poll::Ready(None) => {
                        self.state = if self.chunked {
                            Body::Trailers
                        } else {
                            Body::Done
                        }
                    }
                },
                Body::Trailers => {
                    let t = self.body.take_trailers();
                    self.pending = Bytes::from(convert::last_chunk(t.as_ref()));
                    self.pending_pos = 0;
                    self.state = Body::Done;
                    return Poll::Ready(Ok(true));
                }
                Body::Done => return Poll::Ready(Ok(false)),
            }
        }
    }
}

impl tokio::io::AsyncRead for H2Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let sh = &*self.0;
        let mut me = sh.input();
        if me.head_pos < me.head.len() {
            let n = buf.remaining().min(me.head.len() - me.head_pos);
            buf.put_slice(&me.head[me.head_pos..me.head_pos + n]);
            me.head_pos += n;
            return Poll::Ready(Ok(()));
        }
        if me.pending_pos >= me.pending.len() {
            match me.poll_body(cx, sh) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(true)) => {}
                Poll::Ready(Ok(false)) => {
                    // The request is whole. The client is not gone (a
                    // half-closed stream is no abort): the end comes once
                    // the response has (the engine then ends its loop).
                    let mut o = sh.lock();
                    return match o.drain(cx) {
                        Poll::Ready(Ok(())) if o.ended => Poll::Ready(Ok(())),
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        _ => Poll::Pending,
                    };
                }
            }
        }
        let n = buf.remaining().min(me.pending.len() - me.pending_pos);
        buf.put_slice(&me.pending[me.pending_pos..me.pending_pos + n]);
        me.pending_pos += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for H2Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut o = self.0.lock();
        // What an earlier write left goes first (it waits for window).
        match o.drain(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if o.ended {
            return Poll::Ready(Err(gone()));
        }
        let n = data.len().min(BUFSIZE);
        if o.direct && o.sent_head && o.unsent.is_empty() {
            // Body data after a direct head: straight to the frame's buffer
            // (not through `raw`, which would cost a second allocation).
            if let Some(l) = o.left.as_mut() {
                *l = l.saturating_sub(n as u64);
            }
            o.unsent = Bytes::copy_from_slice(&data[..n]);
        } else {
            o.raw.extend_from_slice(&data[..n]);
        }
        match o.drain(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(n)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.lock().drain(cx)
    }

    /// The engine is done with the stream: the stream's task ends the
    /// response (see [`Shared::poll_finish`]); nothing waits here.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl crate::relay::ClientStream {
    /// An HTTP/2 stream's request head, already parsed from its HEADERS
    /// frame (`None` for other clients, and once taken): the engine uses it
    /// instead of parsing bytes.
    pub(crate) fn take_h2_head(
        &mut self,
    ) -> Option<Result<haproxide_http::Request, haproxide_http::ParseError>> {
        match self {
            crate::relay::ClientStream::H2(io) => io.0.input().direct.take(),
            _ => None,
        }
    }

    /// Gives an HTTP/2 stream the final response head directly (see
    /// [`H2Io::direct_head`]); false for other clients, which get the head's
    /// bytes.
    pub(crate) fn direct_head(
        &mut self,
        head: &haproxide_http::ResponseHead,
        length: Option<u64>,
    ) -> bool {
        match self {
            crate::relay::ClientStream::H2(io) => io.direct_head(head, length),
            _ => false,
        }
    }
}
