//! One HTTP/2 stream: its request as HTTP/1.1 bytes into the engine's
//! connection loop over an in-memory pipe, the engine's response back as HTTP/2
//! frames. Three parts run together: the engine, the request pump (DATA frames
//! to the pipe; flow-control credit is given back only once the pipe took the
//! bytes, so a stream holds at most its window), and the response pump (the
//! head through `haproxide-http`'s parser, the body through its decoder, DATA
//! sent only as the client's window allows).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};
use haproxide_http::{parse_response, BodyDecoder, BodyLength, ParseOptions, Parsed, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

use super::{convert, ConnInfo};
use crate::relay::{ClientStream, BUFSIZE};
use crate::session::{Flow, Sess};

type Pipe = tokio::io::DuplexStream;

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
    let sid = body.stream_id().as_u32();
    let (head, chunked) = match convert::request(&parts, info.tls.is_some(), body.is_end_stream()) {
        Ok(x) => x,
        Err(_) => {
            respond.send_reset(h2::Reason::PROTOCOL_ERROR);
            info.credits.done(sid);
            return;
        }
    };
    let method = parts.method.as_str().as_bytes().to_vec();
    let (engine_end, pipe) = tokio::io::duplex(BUFSIZE);
    let kill = s.kill.clone();
    let tc = s.shared.frontends[s.fe].light.timeout_client;
    // A broken request body aborts the transaction as a client abort (HAProxy
    // 2.6.12 logs `CR--` with `<NOSRV>`: nothing reaches the server).
    let abort = tokio::sync::Notify::new();
    let engine = async {
        let mut c = ClientStream::Mem(engine_end);
        let t = tokio::select! {
            biased;
            why = kill.wait() => [why, s.phase],
            _ = abort.notified() => {
                // Before the engine parsed the head: the request line as
                // HAProxy logs it (it had the head), `TR` 0, no status.
                if s.http_log.is_none() {
                    let line = head.split(|&b| b == b'\r').next().unwrap_or(&[]);
                    let mut h = Box::new(crate::HttpTxnLog::new());
                    h.t_req = 0;
                    let mut p = line.splitn(3, |&b| b == b' ');
                    if let (Some(m), Some(u), Some(v)) = (p.next(), p.next(), p.next()) {
                        h.set_request_line(m, u, v);
                    }
                    s.http_log = Some(h);
                }
                [b'C', s.phase]
            }
            Flow::Done(t) = s.http_session(&mut c) => t,
        };
        drop(c);
        t
    };
    let pumps = async {
        let (rd, wr) = tokio::io::split(pipe);
        let inp = pump_in(wr, &head, body, chunked, (&info.credits, sid));
        let out = pump_out(rd, &mut respond, &method, tc);
        tokio::pin!(inp, out);
        let mut in_done = false;
        loop {
            tokio::select! {
                aborted = &mut inp, if !in_done => {
                    // A broken body (a stream error: its content-length
                    // exceeded, a reset) ends the transaction: the engine sees
                    // its client go, and forwards nothing more.
                    if aborted {
                        abort.notify_one();
                        break;
                    }
                    in_done = true
                }
                reset = &mut out => {
                    if reset {
                        info.resets.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
            }
        }
        // Both halves dropped here: the engine reads the end of its client and
        // ends without a log line when its request was answered.
    };
    let (term, ()) = tokio::join!(engine, pumps);
    info.credits.done(sid);
    // As `session::run` ends a session: counters, then the log line.
    s.finish(term);
}

/// The request head, then its body from DATA frames (re-chunked when it has no
/// `content-length`), into the pipe. True when the body broke.
async fn pump_in(
    mut w: WriteHalf<Pipe>,
    head: &[u8],
    mut body: RecvStream,
    chunked: bool,
    (credits, sid): (&super::wire::Credits, u32),
) -> bool {
    if w.write_all(head).await.is_err() {
        return false;
    }
    while let Some(d) = body.data().await {
        let Ok(d) = d else { return true };
        let n = d.len();
        if n == 0 {
            continue;
        }
        let ok = if chunked {
            w.write_all(&convert::chunk(&d)).await.is_ok()
        } else {
            w.write_all(&d).await.is_ok()
        };
        if !ok {
            return false;
        }
        // Credit back only what the engine side took (the crate's connection
        // window; the client's stream window through the wire, at once, as
        // HAProxy's mux).
        let _ = body.flow_control().release_capacity(n);
        credits.credit(sid, n as u32);
    }
    if chunked {
        let t = body.trailers().await.ok().flatten();
        let _ = w.write_all(&convert::last_chunk(t.as_ref())).await;
    }
    // The write half stays open (dropped with the read half): a half-closed
    // client is not an abort to the engine.
    std::future::pending::<()>().await;
    false
}

/// What the response pump ended on.
enum Out {
    Done,
    /// The client reset the stream.
    Reset,
    /// The engine's side ended early (an error mid-body): the stream is reset.
    Broken,
}

/// The engine's response into HEADERS and DATA frames. True when the client
/// reset the stream.
async fn pump_out(
    mut r: ReadHalf<Pipe>,
    respond: &mut SendResponse<Bytes>,
    method: &[u8],
    tc: Option<Duration>,
) -> bool {
    let mut buf: Vec<u8> = Vec::with_capacity(BUFSIZE);
    let opts = ParseOptions {
        accept_invalid: true,
        ..ParseOptions::default()
    };
    // Interim responses (100, 103), then the final head.
    let (resp, used) = loop {
        match parse_response(&buf, method, &opts) {
            Ok(Parsed::Complete { message, len })
                if message.head.code < 200 && message.head.code != 101 =>
            {
                if let Some(r) = convert::response(&message.head) {
                    let _ = respond.send_informational(r);
                }
                buf.drain(..len);
                continue;
            }
            Ok(Parsed::Complete { message, len }) => break (message, len),
            Ok(Parsed::Partial) => {}
            Err(_) => {
                respond.send_reset(h2::Reason::INTERNAL_ERROR);
                return false;
            }
        }
        match read_more(&mut r, &mut buf, respond).await {
            Some(true) => {}
            Some(false) => {
                respond.send_reset(h2::Reason::CANCEL);
                return false;
            }
            None => return true,
        }
    };
    buf.drain(..used);
    let Some(head) = convert::response(&resp.head) else {
        respond.send_reset(h2::Reason::INTERNAL_ERROR);
        return false;
    };
    let length = if method == b"HEAD" {
        BodyLength::None
    } else {
        resp.body
    };
    let mut dec = BodyDecoder::new(length, BUFSIZE);
    let empty = dec.is_done();
    let mut send = match respond.send_response(head, empty) {
        Ok(s) => s,
        Err(_) => return false,
    };
    if empty {
        return false;
    }
    match body_out(&mut r, &mut buf, &mut dec, &mut send, tc).await {
        Out::Done => false,
        Out::Reset => true,
        Out::Broken => {
            send.send_reset(h2::Reason::CANCEL);
            false
        }
    }
}

/// Reads more of the engine's bytes: `Some(true)` some came, `Some(false)` the
/// engine ended, `None` the client reset the stream meanwhile.
async fn read_more(
    r: &mut ReadHalf<Pipe>,
    buf: &mut Vec<u8>,
    respond: &mut SendResponse<Bytes>,
) -> Option<bool> {
    let mut chunk = [0u8; 8192];
    tokio::select! {
        n = r.read(&mut chunk) => match n {
            Ok(0) | Err(_) => Some(false),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                Some(true)
            }
        },
        _ = std::future::poll_fn(|cx| respond.poll_reset(cx)) => None,
    }
}

async fn body_out(
    r: &mut ReadHalf<Pipe>,
    buf: &mut Vec<u8>,
    dec: &mut BodyDecoder,
    send: &mut SendStream<Bytes>,
    tc: Option<Duration>,
) -> Out {
    let mut chunk = vec![0u8; BUFSIZE];
    loop {
        // Decode what is buffered.
        let mut pos = 0;
        loop {
            let (n, step) = match dec.step(&buf[pos..]) {
                Ok(x) => x,
                Err(_) => return Out::Broken,
            };
            pos += n;
            match step {
                Step::Data(d) => {
                    let d = Bytes::copy_from_slice(d);
                    if let Err(o) = send_data(send, d, tc).await {
                        return o;
                    }
                }
                Step::Trailers(t) => {
                    let map = convert::trailers(&t);
                    if map.is_empty() {
                        let _ = send.send_data(Bytes::new(), true);
                    } else {
                        let _ = send.send_trailers(map);
                    }
                    return Out::Done;
                }
                Step::Done => {
                    let _ = send.send_data(Bytes::new(), true);
                    return Out::Done;
                }
                Step::NeedMore => break,
            }
        }
        buf.drain(..pos);
        let n = tokio::select! {
            n = r.read(&mut chunk) => n,
            _ = std::future::poll_fn(|cx| send.poll_reset(cx)) => return Out::Reset,
        };
        match n {
            Ok(0) | Err(_) => {
                return if dec.at_eof().is_ok() {
                    let _ = send.send_data(Bytes::new(), true);
                    Out::Done
                } else {
                    Out::Broken
                };
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends `d` as the client's window allows (no more is buffered than granted).
/// A client that grants no window for `timeout client` gets its stream reset.
async fn send_data(
    send: &mut SendStream<Bytes>,
    mut d: Bytes,
    tc: Option<Duration>,
) -> Result<(), Out> {
    while !d.is_empty() {
        send.reserve_capacity(d.len());
        let wait = async {
            loop {
                match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                    Some(Ok(0)) => continue,
                    Some(Ok(n)) => return Ok(n),
                    Some(Err(_)) | None => return Err(Out::Reset),
                }
            }
        };
        let cap = match tc {
            Some(t) => match tokio::time::timeout(t, wait).await {
                Ok(r) => r?,
                Err(_) => return Err(Out::Broken),
            },
            None => wait.await?,
        };
        let part = d.split_to(cap.min(d.len()));
        if send.send_data(part, false).is_err() {
            return Err(Out::Reset);
        }
    }
    Ok(())
}
