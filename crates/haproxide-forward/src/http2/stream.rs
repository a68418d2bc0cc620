//! One HTTP/2 stream: the engine's connection loop ([`Sess::http_session`])
//! serves it with the stream itself as its client ([`H2Io`]: the request head
//! and body read from the stream, the response written as frames), in the
//! stream's own task. Beside the engine, the task watches for the client's
//! RST_STREAM (counted for the rapid-reset guard) and a broken request body
//! (the transaction is aborted); after it, the response is ended.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::RecvStream;

use super::client::{H2Io, Watch};
use super::{convert, ConnInfo};
use crate::relay::ClientStream;
use crate::session::{Flow, Sess};

/// Serves one stream to its end, then logs it as the engine logs a request.
/// Boxed as `dyn Send`: the engine it runs may switch to HTTP/2 itself (a
/// preface on an HTTP/1 bind), a cycle the compiler cannot see `Send` through.
pub(super) fn serve(
    s: Sess,
    info: Arc<ConnInfo>,
    req: http::Request<RecvStream>,
    respond: SendResponse<Bytes>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(serve_stream(s, info, req, respond))
}

async fn serve_stream(
    mut s: Sess,
    info: Arc<ConnInfo>,
    req: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
) {
    let (parts, body) = req.into_parts();
    let (head, chunked) = match convert::request(&parts, info.tls.is_some(), body.is_end_stream()) {
        Ok(x) => x,
        Err(_) => {
            respond.send_reset(h2::Reason::PROTOCOL_ERROR);
            info.credits.done(body.stream_id().as_u32());
            return;
        }
    };
    let head_req = parts.method == http::Method::HEAD;
    let (io, out) = H2Io::new(head, body, chunked, respond, head_req, info.credits.clone());
    let mut c = ClientStream::H2(Box::new(io));
    let kill = s.kill.clone();
    let tc = s.shared.frontends[s.fe].light.timeout_client;
    let watch = async {
        loop {
            match std::future::poll_fn(|cx| out.poll_watch(cx)).await {
                // The client reset the stream: counted; the engine goes on
                // (its writes fail) as HAProxy's stream ends on its own.
                Watch::Reset => {
                    info.resets.fetch_add(1, Ordering::Relaxed);
                }
                Watch::Aborted => return,
            }
        }
    };
    let term = tokio::select! {
        biased;
        why = kill.wait() => [why, s.phase],
        // A broken request body aborts the transaction as a client abort
        // (HAProxy 2.6.12 logs `CR--` with `<NOSRV>`: nothing reaches the
        // server).
        () = watch => {
            // Before the engine parsed the head: the request line as HAProxy
            // logs it (it had the head), `TR` 0, no status.
            if let (None, ClientStream::H2(io)) = (&s.http_log, &c) {
                let mut h = Box::new(crate::HttpTxnLog::new());
                h.t_req = 0;
                let mut p = io.request_line().splitn(3, |&b| b == b' ');
                if let (Some(m), Some(u), Some(v)) = (p.next(), p.next(), p.next()) {
                    h.set_request_line(m, u, v);
                }
                s.http_log = Some(h);
            }
            out.reset(h2::Reason::CANCEL);
            [b'C', s.phase]
        }
        Flow::Done(t) = s.http_session(&mut c) => t,
    };
    // What the engine wrote goes out as the client's window allows (a client
    // that grants none for `timeout client` gets its stream reset), then
    // END_STREAM.
    let fin = std::future::poll_fn(|cx| out.poll_finish(cx));
    let fin = match tc {
        Some(t) => tokio::time::timeout(t, fin).await.ok(),
        None => Some(fin.await),
    };
    match fin {
        Some(Ok(())) => {}
        Some(Err(())) => {
            info.resets.fetch_add(1, Ordering::Relaxed);
        }
        None => out.reset(h2::Reason::CANCEL),
    }
    drop(c);
    // As `session::run` ends a session: counters, then the log line.
    s.finish(term);
}
