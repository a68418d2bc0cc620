//! One HTTP/2 stream: the engine's exchange ([`Sess::h2_stream_exchange`])
//! serves it with the stream itself as its client ([`H2Io`]: the request head
//! and body read from the stream, the response written as frames), in the
//! stream's own task. Beside the engine, the task watches for the client's
//! RST_STREAM (counted for the rapid-reset guard) and a broken request body
//! (the transaction is aborted); after it, the response is ended.

use std::sync::Arc;

use haproxide_h2::ErrorCode;

use super::client::{H2Io, Watch};
use super::conn::{NewStream, StreamRef};

thread_local! {
    /// Where each stream's request head is written before it is copied into
    /// the engine's buffer (kept between streams).
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}
use super::{convert, ConnInfo, StreamOrigin};
use crate::relay::ClientStream;
use crate::session::{Flow, Sess};

/// Serves one stream to its end, then logs it as the engine logs a request.
/// One allocation holds the whole stream: the exchange runs in place (see
/// [`Sess::h2_stream_exchange`]).
pub(super) async fn serve(
    origin: StreamOrigin,
    info: Arc<ConnInfo>,
    new: NewStream,
    stream: StreamRef,
) {
    let _running = Running(&info);
    // Built here, in the task's state (see `Sess::for_stream`).
    let mut s = origin.sess();
    let end_stream = new.end_stream;
    let parts = &new.head;
    // The request head as the engine's parsed head, built from the HEADERS
    // (no HTTP/1 bytes written then parsed), unless `tcp-request content`
    // rules run again for the stream (they read the request's bytes) or the
    // head would not fit the engine's buffer (it is then read as an HTTP/1
    // client's, and refused).
    let fe = &s.shared.frontends[s.fe];
    let opts = fe
        .spec
        .http
        .as_ref()
        .filter(|_| fe.light.tcp_content_rules.len() <= fe.spec.tcp_session_rules)
        .map(|fh| fh.tune.parse_options(fh.accept_invalid));
    let room = crate::relay::BUFSIZE - s.req.filled().len();
    let tls = info.tls.is_some();
    // Each piece goes once to its place (the parsed head is moved once, not
    // through a chain of results: each move is a copy of it).
    let (mut direct, mut head, mut chunked) = (None, Vec::new(), false);
    let refused = match opts.map(|o| convert::request_direct(parts, tls, end_stream, &o)) {
        Some(Ok(d)) if d.len <= room => {
            s.bytes.from_client += d.len as u64;
            chunked = d.chunked;
            direct = Some(d.req);
            false
        }
        Some(Err(_)) => true,
        Some(Ok(_)) | None => match bytes_head(&mut s, parts, tls, end_stream) {
            Ok((h, c)) => {
                (head, chunked) = (h, c);
                false
            }
            Err(_) => true,
        },
    };
    if refused {
        stream.reset(ErrorCode::PROTOCOL_ERROR);
        stream.close();
        return;
    }
    let head_req = parts.method() == b"HEAD";
    drop(new);
    let (io, out) = H2Io::new(direct, head, stream, end_stream, chunked, head_req);
    let mut c = ClientStream::H2(io);
    let kill = s.kill.clone();
    let tc = s.shared.frontends[s.fe].light.timeout_client;
    let watch = async {
        loop {
            match std::future::poll_fn(|cx| out.poll_watch(cx)).await {
                // The client reset the stream (the codec counts it against
                // the reset budget); the engine goes on (its writes fail) as
                // HAProxy's stream ends on its own.
                Watch::Reset => {}
                Watch::Aborted => return,
            }
        }
    };
    // The kill switch's flag, read at each wake-up of the stream (its waker is
    // the connection's session's, which ends every stream when it fires).
    let killed = std::future::poll_fn(|_| match kill.reason() {
        0 => std::task::Poll::Pending,
        why => std::task::Poll::Ready(why),
    });
    // The exchange is polled before the watch: on the wake-up that ends the
    // exchange (most often the second and last), the watch's look at the
    // stream (a lock of the connection's state, a waker registered) is not needed.
    // A reset or a broken body while the exchange waits is seen as before
    // (the watch runs whenever the exchange is pending).
    let term = tokio::select! {
        biased;
        why = killed => [why, s.phase],
        Flow::Done(t) = s.h2_stream_exchange(&mut c) => t,
        // A broken request body aborts the transaction as a client abort
        // (HAProxy 2.6.12 logs `CR--` with `<NOSRV>`: nothing reaches the
        // server).
        () = watch => {
            // Before the engine parsed the head: the request line as HAProxy
            // logs it (it had the head), `TR` 0, no status.
            if let (None, ClientStream::H2(io)) = (&s.http_log, &c) {
                let mut h = Box::new(crate::HttpTxnLog::new());
                h.t_req = 0;
                io.log_request_line(s.req.filled(), &mut h);
                s.http_log = Some(h);
            }
            out.reset(ErrorCode::CANCEL);
            [b'C', s.phase]
        }
    };
    // What the engine wrote goes out as the client's window allows (a client
    // that grants none for `timeout client` gets its stream reset), then
    // END_STREAM.
    let fin = std::future::poll_fn(|cx| out.poll_finish(cx));
    let fin = match tc {
        // Its deadline from the poll's clock reading (`clock::Timed`).
        Some(t) => crate::clock::timeout(t, fin).await.ok(),
        None => Some(fin.await),
    };
    if fin.is_none() {
        out.reset(ErrorCode::CANCEL);
    }
    drop(c);
    // As `session::run` ends a session: counters, then the log line.
    s.finish(term);
}

/// Counts the stream task out when it ends, whichever way.
struct Running<'a>(&'a ConnInfo);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.stream_ended();
    }
}

/// The request head as HTTP/1.1 bytes, straight into the engine's request
/// buffer (as if read from a client) through a per-thread scratch vector: no
/// allocation, no read turn. A head beyond the buffer stays with the stream
/// (returned), read as an HTTP/1 client's would be (the engine refuses it).
/// Also whether the body goes chunked.
fn bytes_head(
    s: &mut Sess,
    parts: &haproxide_h2::request::RequestHead,
    tls: bool,
    end_stream: bool,
) -> Result<(Vec<u8>, bool), convert::Refused> {
    SCRATCH.with(|v| {
        let mut v = v.take();
        v.clear();
        let r = convert::request_into(parts, tls, end_stream, &mut v);
        let r = r.map(|chunked| {
            let spare = s.req.spare();
            let head = if v.len() <= spare.len() {
                spare[..v.len()].copy_from_slice(&v);
                s.req.commit(v.len());
                s.bytes.from_client += v.len() as u64;
                Vec::new()
            } else {
                v.clone()
            };
            (head, chunked)
        });
        v.clear();
        if v.capacity() <= 2 * crate::relay::BUFSIZE {
            SCRATCH.set(v);
        }
        r
    })
}
