//! Socket helpers of the HTTP session: reads into a bounded [`Half`] and writes,
//! each bounded by an inactivity timeout, and the body pump that streams one
//! message body through the codec's [`BodyDecoder`] (never more than one buffer
//! of it held).

use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use haproxide_http::{write, BodyDecoder, Step};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::relay::{Half, BUFSIZE};

/// Why a read or a write stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoFail {
    Timeout,
    Error,
}

/// Reads once into `buf` (room made at its end first). Ok(0) is the peer's FIN.
///
/// While nothing comes and `buf` holds nothing, no buffer is held: a read that
/// would block gives the empty buffer back to the pool (the read has registered
/// the waker) and takes one again when woken, so an idle keep-alive connection,
/// on either side, costs no buffer (HAProxy allocates buffers only when data
/// comes). Buffered bytes (pipelining, a partial head) keep theirs.
pub(crate) async fn read_into<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Half,
    timeout: Option<Duration>,
) -> Result<usize, IoFail> {
    read_limited(r, buf, timeout.map(Limit::After)).await
}

/// [`read_into`] bounded by a deadline instead of a duration: no clock read
/// when data is already waiting.
pub(crate) async fn read_until<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Half,
    deadline: Option<tokio::time::Instant>,
) -> Result<usize, IoFail> {
    read_limited(r, buf, deadline.map(Limit::At)).await
}

/// How long a read may wait.
enum Limit {
    After(Duration),
    At(tokio::time::Instant),
}

async fn read_limited<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Half,
    limit: Option<Limit>,
) -> Result<usize, IoFail> {
    if buf.is_full() {
        buf.compact();
    }
    let mut read = std::pin::pin!(std::future::poll_fn(|cx| {
        let spare = buf.spare();
        if spare.is_empty() {
            // Full of unread data: the caller must consume first.
            return Poll::Ready(Err(IoFail::Error));
        }
        let mut rb = ReadBuf::new(spare);
        match Pin::new(&mut *r).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                buf.commit(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(_)) => Poll::Ready(Err(IoFail::Error)),
            Poll::Pending => {
                buf.release_if_empty();
                Poll::Pending
            }
        }
    }));
    // Data already waiting (the common case on a busy connection) needs no timer.
    match poll_once(read.as_mut()).await {
        Some(r) => r,
        None => {
            let waited = match limit {
                Some(Limit::After(t)) => crate::clock::timeout(t, read).await,
                Some(Limit::At(d)) => tokio::time::timeout_at(d, read).await,
                None => Ok(read.await),
            };
            waited.unwrap_or(Err(IoFail::Timeout))
        }
    }
}

/// Writes all of `data`, each write bounded by `timeout`, after the other
/// sessions this wake-up of the thread made ready (`crate::gather`): for a
/// message's first bytes (its head), not for the rest of a body.
pub(crate) async fn write_all<W: AsyncWrite + Unpin>(
    w: &mut W,
    data: &[u8],
    timeout: Option<Duration>,
) -> Result<(), IoFail> {
    if data.is_empty() {
        return Ok(());
    }
    crate::gather::turn().await;
    write_at_once(w, data, timeout).await
}

/// [`write_all`] without waiting for the other sessions: a body's next bytes.
pub(crate) async fn write_at_once<W: AsyncWrite + Unpin>(
    w: &mut W,
    data: &[u8],
    timeout: Option<Duration>,
) -> Result<(), IoFail> {
    if data.is_empty() {
        return Ok(());
    }
    let mut write = std::pin::pin!(w.write_all(data));
    // A write the socket takes at once (the common case) needs no timer.
    let r = match poll_once(write.as_mut()).await {
        Some(r) => r,
        None => match timeout {
            Some(t) => match crate::clock::timeout(t, write).await {
                Ok(r) => r,
                Err(_) => return Err(IoFail::Timeout),
            },
            None => write.await,
        },
    };
    r.map_err(|_| IoFail::Error)
}

/// Polls `f` once: its output if it is ready, else None (its waker is
/// registered, so awaiting it afterwards loses nothing).
async fn poll_once<F: std::future::Future>(mut f: std::pin::Pin<&mut F>) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match f.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

/// Why a body stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PumpFail {
    /// The sender: timeout, error or FIN before the end, bad framing.
    SrcTimeout,
    SrcError,
    Bad,
    /// The receiver.
    DstTimeout,
    DstError,
}

/// One body's way: from `src` (its bytes already in `buf` first) to `dst`,
/// re-chunked when `chunked` (HAProxy re-frames chunked bodies), timeouts per
/// operation. `out` may hold bytes to send first (the head), and is empty after.
/// `moved` counts the bytes read from `src`.
pub(crate) struct Pump<'a, R, W> {
    pub src: &'a mut R,
    pub buf: &'a mut Half,
    pub dst: &'a mut W,
    pub out: &'a mut Vec<u8>,
    pub src_timeout: Option<Duration>,
    pub dst_timeout: Option<Duration>,
    pub moved: &'a mut u64,
    /// Chunked output: the data of one read, sent as one chunk (HAProxy 2.6.12
    /// re-chunks what arrived together into one chunk).
    pub chunk: &'a mut Vec<u8>,
    /// The body's size as HAProxy logs it (see the `htx` module).
    pub htx: &'a mut u64,
    /// A compressed response (§9.2, the `compress` module): the data goes through
    /// the encoder, the output is chunked and ends with the encoder's trailer.
    pub comp: Option<&'a mut haproxide_http::compress::Encoder>,
    /// A response being stored in a cache (§6 `cache-store`): each piece of
    /// data is copied to it.
    pub store: Option<&'a mut haproxide_http::cache::Writer>,
    /// The stream's end (track.rs `StreamEnd`), fired just before the body's
    /// last bytes are written.
    pub end: Option<crate::track::StreamEnd<'a>>,
    /// Whether the next write waits for the other sessions of the wake-up
    /// (`crate::gather`): the first one (with the head, when it waits in
    /// `out`), if the caller asks; the body's next ones go at once.
    pub gather: bool,
}

enum Got {
    /// Written to the destination already.
    Sent,
    Data,
    More,
    Done,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Pump<'_, R, W> {
    pub(crate) async fn run(
        mut self,
        dec: &mut BodyDecoder,
        chunked: bool,
    ) -> Result<(), PumpFail> {
        loop {
            // Decode what is buffered into `out`, flushing it when it is large.
            loop {
                let (n, got) = {
                    let (n, step) = dec.step(self.buf.filled()).map_err(|_| PumpFail::Bad)?;
                    let got = match step {
                        // Nothing waiting to go out before it: the data goes
                        // from the read buffer to the socket, not copied first.
                        Step::Data(d) if !chunked && self.out.is_empty() => {
                            *self.htx += d.len() as u64;
                            if let Some(w) = self.store.as_deref_mut() {
                                w.push(d);
                            }
                            if dec.is_done() {
                                if let Some(e) = self.end.take() {
                                    e.fire(*self.htx, *self.moved);
                                }
                            }
                            write(&mut *self.dst, d, self.dst_timeout, self.gather)
                                .await
                                .map_err(dst_fail)?;
                            self.gather = false;
                            Got::Sent
                        }
                        Step::Data(d) => {
                            *self.htx += d.len() as u64;
                            if let Some(w) = self.store.as_deref_mut() {
                                w.push(d);
                            }
                            if let Some(c) = self.comp.as_deref_mut() {
                                if !c.push(d, self.chunk) {
                                    return Err(PumpFail::Bad);
                                }
                            } else if chunked {
                                self.chunk.extend_from_slice(d);
                            } else {
                                self.out.extend_from_slice(d);
                            }
                            Got::Data
                        }
                        Step::Trailers(t) => {
                            *self.htx += super::htx::trailers(&t);
                            if let Some(c) = self.comp.as_deref_mut() {
                                c.finish(self.chunk);
                            }
                            if chunked {
                                write::chunk(self.chunk, self.out);
                                self.chunk.clear();
                                write::last_chunk(&t, self.out);
                            }
                            Got::Data
                        }
                        Step::Done => {
                            self.end_compressed();
                            self.stored();
                            self.ending();
                            Got::Done
                        }
                        Step::NeedMore => Got::More,
                    };
                    (n, got)
                };
                self.buf.consume(n);
                match got {
                    // Decode on: the end of the body may be next.
                    Got::Sent => {}
                    Got::Data if self.out.len() + self.chunk.len() < BUFSIZE => {}
                    Got::Data => self.flush().await?,
                    Got::Done => return self.flush().await,
                    Got::More => break,
                }
            }
            self.flush().await?;
            match read_into(self.src, self.buf, self.src_timeout).await {
                Ok(0) => {
                    dec.at_eof().map_err(|_| PumpFail::SrcError)?;
                    self.end_compressed();
                    self.stored();
                    self.ending();
                    return self.flush().await;
                }
                Ok(n) => *self.moved += n as u64,
                Err(IoFail::Timeout) => return Err(PumpFail::SrcTimeout),
                Err(IoFail::Error) => return Err(PumpFail::SrcError),
            }
        }
    }

    /// The body is whole: a response being stored goes in its cache now,
    /// before its last bytes reach the client (whose next request may ask
    /// for it at once).
    fn stored(&mut self) {
        if let Some(w) = self.store.as_deref_mut() {
            w.finish(haproxide_http::cache::now());
        }
    }

    /// The body is whole: the stream ends before its last bytes go.
    fn ending(&mut self) {
        if let Some(e) = self.end.take() {
            e.fire(*self.htx, *self.moved);
        }
    }

    /// A compressed body whose source had no chunked end (a length, or the close):
    /// the encoder's last bytes and the last chunk. Nothing when it ended already.
    fn end_compressed(&mut self) {
        if let Some(c) = self.comp.as_deref_mut().filter(|c| !c.is_finished()) {
            c.finish(self.chunk);
            write::chunk(self.chunk, self.out);
            self.chunk.clear();
            write::last_chunk(&haproxide_http::Headers::default(), self.out);
        }
    }

    async fn flush(&mut self) -> Result<(), PumpFail> {
        // A sync flush: what arrived is sent now (long polling, streams).
        if let Some(c) = self.comp.as_deref_mut().filter(|c| !c.is_finished()) {
            if !c.flush(self.chunk) {
                return Err(PumpFail::Bad);
            }
        }
        if !self.chunk.is_empty() {
            write::chunk(self.chunk, self.out);
            self.chunk.clear();
        }
        if self.out.is_empty() {
            return Ok(());
        }
        let r = write(self.dst, self.out, self.dst_timeout, self.gather).await;
        self.gather = false;
        self.out.clear();
        r.map_err(dst_fail)
    }
}

async fn write<W: AsyncWrite + Unpin>(
    w: &mut W,
    data: &[u8],
    timeout: Option<Duration>,
    gather: bool,
) -> Result<(), IoFail> {
    if gather {
        crate::gather::turn().await;
    }
    write_at_once(w, data, timeout).await
}

fn dst_fail(e: IoFail) -> PumpFail {
    match e {
        IoFail::Timeout => PumpFail::DstTimeout,
        IoFail::Error => PumpFail::DstError,
    }
}
