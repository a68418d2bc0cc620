//! A stream that first yields bytes already read from it; on a TLS server's
//! transport, it also holds the TLS 1.3 session tickets back until the first data.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `io` with `pre` put back in front of what it will read.
///
/// Under [`crate::Acceptor::accept`] it also keeps what the handshake writes last
/// when that is nothing but encrypted records (TLS 1.3's post-handshake messages:
/// the session tickets, written as soon as the client's Finished is read) and
/// sends it in front of the first thing written after the handshake (the first
/// data, an alert or the close), in the same `writev`: one system call, one
/// segment and one wake-up of the client fewer per connection (docs/tls.md says
/// how this differs from HAProxy). A connection dropped with them still held
/// (closed without a byte to the client: a `tcp-request content reject`) tries
/// once, without waiting, to send them before it closes, as the client would
/// have had them from HAProxy.
#[derive(Debug)]
pub struct Prefixed<IO: AsyncWrite + Unpin> {
    pre: Vec<u8>,
    io: IO,
    hold: Hold,
    held: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Writes pass through.
    Off,
    /// A server handshake runs: a write made of whole application-data records
    /// only is kept (every earlier write went out whole, so this one starts at a
    /// record boundary).
    Handshake,
    /// The handshake is over: what was kept goes out with the next write or
    /// before the shutdown (a flush alone does not send it).
    Data,
}

/// TLS record type of application data (RFC 8446 §5.1: every record after the
/// handshake keys are in use, whatever it carries).
const APPLICATION_DATA: u8 = 23;
/// A record's header: type, version, length.
const HEADER: usize = 5;

/// Whether `bufs` are one or more whole TLS records, all of type application data.
/// The header may be split across the slices (rustls gives one record a slice).
fn only_application_records(bufs: &[IoSlice<'_>]) -> bool {
    let mut bytes = bufs.iter().flat_map(|b| b.iter().copied());
    let mut records = 0;
    loop {
        let Some(kind) = bytes.next() else {
            return records > 0;
        };
        let mut header = [kind; HEADER];
        for h in header.iter_mut().skip(1) {
            match bytes.next() {
                Some(b) => *h = b,
                None => return false,
            }
        }
        if kind != APPLICATION_DATA {
            return false;
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if len == 0 || bytes.by_ref().take(len).count() != len {
            return false;
        }
        records += 1;
    }
}

impl<IO: AsyncWrite + Unpin> Prefixed<IO> {
    pub fn new(pre: Vec<u8>, io: IO) -> Self {
        Prefixed {
            pre,
            io,
            hold: Hold::Off,
            held: Vec::new(),
        }
    }
    pub fn get_ref(&self) -> &IO {
        &self.io
    }
    /// A server handshake starts on this transport (see the type's comment).
    pub(crate) fn hold_tickets(&mut self) {
        self.hold = Hold::Handshake;
    }
    /// The handshake is over: what it left here goes with the next write.
    pub(crate) fn handshake_done(&mut self) {
        self.hold = if self.held.is_empty() {
            Hold::Off
        } else {
            Hold::Data
        };
    }
    /// How many bytes are held back (tests).
    #[cfg(test)]
    fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Writes `bufs` behind whatever is held, in one `writev` while both fit;
    /// returns how many bytes of `bufs` went.
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        while !self.held.is_empty() {
            let mut v = Vec::with_capacity(bufs.len() + 1);
            v.push(IoSlice::new(&self.held));
            v.extend(bufs.iter().map(|b| IoSlice::new(b)));
            let n = ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &v))?;
            if n == 0 {
                return Poll::Ready(Ok(0));
            }
            let h = self.held.len();
            if n >= h {
                self.held = Vec::new();
                if self.hold == Hold::Data {
                    self.hold = Hold::Off;
                }
                if n > h {
                    return Poll::Ready(Ok(n - h));
                }
            } else {
                self.held.drain(..n);
            }
        }
        if self.hold == Hold::Data {
            self.hold = Hold::Off;
        }
        let n = ready!(Pin::new(&mut self.io).poll_write_vectored(cx, bufs))?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if self.hold == Hold::Handshake && n < total {
            // The rest starts inside a record: record boundaries are no longer
            // known here, so nothing more is held on this connection.
            self.hold = Hold::Off;
        }
        Poll::Ready(Ok(n))
    }

    /// Sends what is held (before a shutdown, or after a failed handshake: an
    /// alert rustls wrote).
    pub(crate) fn poll_release(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.held))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.held.drain(..n.min(self.held.len()));
        }
        self.hold = Hold::Off;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> Drop for Prefixed<IO> {
    fn drop(&mut self) {
        if !self.held.is_empty() {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let _ = self.poll_release(&mut cx);
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for Prefixed<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if !me.pre.is_empty() {
            let n = me.pre.len().min(buf.remaining());
            buf.put_slice(&me.pre[..n]);
            me.pre.drain(..n);
            if me.pre.is_empty() {
                me.pre = Vec::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Prefixed<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.hold == Hold::Off {
            return Pin::new(&mut me.io).poll_write(cx, b);
        }
        me.poll_write_held(cx, &[IoSlice::new(b)])
    }
    /// Passed through: rustls hands a handshake flight over as several records
    /// (ServerHello, ChangeCipherSpec, the encrypted rest), which tokio's default
    /// would send one `sendto` at a time.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.hold == Hold::Off {
            return Pin::new(&mut me.io).poll_write_vectored(cx, bufs);
        }
        me.poll_write_held(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_release(cx))?;
        Pin::new(&mut me.io).poll_shutdown(cx)
    }
}

impl<IO: AsyncWrite + Unpin> Prefixed<IO> {
    fn poll_write_held(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.hold == Hold::Handshake && only_application_records(bufs) {
            let mut n = 0;
            for b in bufs {
                self.held.extend_from_slice(b);
                n += b.len();
            }
            return Poll::Ready(Ok(n));
        }
        self.poll_send(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use tokio::io::AsyncWriteExt;

    /// Records every write call; takes at most `cap` bytes per call.
    #[derive(Default)]
    struct Sink {
        calls: Vec<Vec<u8>>,
        cap: Option<usize>,
    }

    impl AsyncWrite for Sink {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<io::Result<usize>> {
            let me = self.get_mut();
            let n = me.cap.map_or(b.len(), |c| c.min(b.len()));
            me.calls.push(b[..n].to_vec());
            Poll::Ready(Ok(n))
        }
        fn poll_write_vectored(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let me = self.get_mut();
            let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            let n = me.cap.map_or(all.len(), |c| c.min(all.len()));
            me.calls.push(all[..n].to_vec());
            Poll::Ready(Ok(n))
        }
        fn is_write_vectored(&self) -> bool {
            true
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![kind, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    async fn writev(p: &mut Prefixed<Sink>, bufs: &[&[u8]]) -> usize {
        let v: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
        poll_fn(|cx| Pin::new(&mut *p).poll_write_vectored(cx, &v))
            .await
            .unwrap_or(0)
    }

    #[test]
    fn record_walk() {
        let a = record(23, b"ticket-one");
        let b = record(23, b"two");
        let (h1, h2) = a.split_at(3);
        assert!(only_application_records(&[
            IoSlice::new(&a),
            IoSlice::new(&b)
        ]));
        assert!(only_application_records(&[
            IoSlice::new(h1),
            IoSlice::new(h2)
        ]));
        let hs = record(22, b"hello");
        assert!(!only_application_records(&[IoSlice::new(&hs)]));
        assert!(!only_application_records(&[
            IoSlice::new(&a),
            IoSlice::new(&hs)
        ]));
        assert!(!only_application_records(&[IoSlice::new(
            &a[..a.len() - 1]
        )]));
        assert!(!only_application_records(&[]));
        assert!(!only_application_records(&[IoSlice::new(&record(23, b""))]));
    }

    #[tokio::test]
    async fn tickets_go_with_the_first_data() {
        let flight = [
            record(22, b"server hello"),
            record(20, b"\x01"),
            record(23, b"ee..fin"),
        ];
        let tickets = [record(23, b"ticket 1"), record(23, b"ticket 2")];
        let data = record(23, b"x");
        let mut p = Prefixed::new(Vec::new(), Sink::default());
        p.hold_tickets();
        let n = flight.iter().map(Vec::len).sum::<usize>();
        assert_eq!(
            writev(&mut p, &[&flight[0], &flight[1], &flight[2]]).await,
            n
        );
        assert_eq!(p.io.calls.len(), 1, "the flight goes out at once");
        let t = writev(&mut p, &[&tickets[0], &tickets[1]]).await;
        assert_eq!(t, tickets[0].len() + tickets[1].len());
        assert_eq!(p.io.calls.len(), 1, "the tickets are held");
        poll_fn(|cx| Pin::new(&mut p).poll_flush(cx)).await.ok();
        assert_eq!(
            p.io.calls.len(),
            1,
            "the end of the handshake's flush keeps them"
        );
        p.handshake_done();
        assert_eq!(p.held_len(), t);
        // The first data takes them along, in one write, in order.
        assert_eq!(writev(&mut p, &[&data]).await, data.len());
        assert_eq!(p.io.calls.len(), 2);
        assert_eq!(
            p.io.calls[1],
            [&tickets[0][..], &tickets[1], &data].concat()
        );
        // Then everything passes through.
        assert_eq!(writev(&mut p, &[&data]).await, data.len());
        assert_eq!(p.io.calls[2], data);
        assert_eq!(p.held_len(), 0);
    }

    #[tokio::test]
    async fn shutdown_sends_what_is_held() {
        let mut p = Prefixed::new(Vec::new(), Sink::default());
        p.hold_tickets();
        let t = record(23, b"ticket");
        writev(&mut p, &[&t]).await;
        p.handshake_done();
        assert!(p.io.calls.is_empty());
        p.shutdown().await.ok();
        assert_eq!(p.io.calls, [t]);
    }

    #[tokio::test]
    async fn a_partial_write_stops_holding() {
        let mut p = Prefixed::new(
            Vec::new(),
            Sink {
                cap: Some(4),
                ..Sink::default()
            },
        );
        p.hold_tickets();
        let hs = record(22, b"hello");
        assert_eq!(writev(&mut p, &[&hs]).await, 4);
        // The rest of that record could look like anything: it is not held.
        let rest = &hs[4..];
        assert_eq!(writev(&mut p, &[rest]).await, 4);
        assert_eq!(p.io.calls.len(), 2);
        let t = record(23, b"t");
        assert_eq!(writev(&mut p, &[&t]).await, 4);
        assert_eq!(p.held_len(), 0);
    }

    #[tokio::test]
    async fn held_bytes_survive_a_short_write() {
        let mut p = Prefixed::new(Vec::new(), Sink::default());
        p.hold_tickets();
        let t = record(23, b"ticket-ticket");
        writev(&mut p, &[&t]).await;
        p.handshake_done();
        p.io.cap = Some(6);
        let data = record(23, b"data");
        // 6 + 6 + 6 bytes of the 18 held, then 6 of the data.
        assert_eq!(writev(&mut p, &[&data]).await, 6);
        let sent: Vec<u8> = p.io.calls.concat();
        assert_eq!(sent, [&t[..], &data[..6]].concat());
        // A plain poll_write passes through once nothing is held.
        p.io.cap = None;
        p.write_all(&data[6..]).await.ok();
        assert_eq!(p.io.calls.concat(), [&t[..], &data[..]].concat());
    }

    #[tokio::test]
    async fn dropped_with_tickets_held_sends_them() {
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl AsyncWrite for Shared {
            fn poll_write(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                b: &[u8],
            ) -> Poll<io::Result<usize>> {
                if let Ok(mut v) = self.0.lock() {
                    v.extend_from_slice(b);
                }
                Poll::Ready(Ok(b.len()))
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let t = record(23, b"ticket");
        {
            let mut p = Prefixed::new(Vec::new(), Shared(sent.clone()));
            p.hold_tickets();
            let v = [IoSlice::new(&t)];
            let n = poll_fn(|cx| Pin::new(&mut p).poll_write_vectored(cx, &v)).await;
            assert_eq!(n.ok(), Some(t.len()));
            p.handshake_done();
            assert!(sent.lock().map(|v| v.is_empty()).unwrap_or(false));
        }
        assert_eq!(*sent.lock().expect("lock"), t);
    }

    #[tokio::test]
    async fn off_by_default() {
        let mut p = Prefixed::new(Vec::new(), Sink::default());
        let t = record(23, b"ticket");
        writev(&mut p, &[&t]).await;
        assert_eq!(p.io.calls, [t]);
    }
}
