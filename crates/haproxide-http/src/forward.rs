//! The codec composed as a proxy's request path: what HAProxy 2.6 in its default
//! `http-keep-alive` mode sends to the server for a request whose bytes all
//! arrived in one read. The engine does the same per read; tests/differential.rs
//! compares this with what HAProxy 2.6.12 really sends.

use crate::body::{BodyDecoder, BodyLength, Step};
use crate::conn::{connection_value, peer_keeps_alive};
use crate::parse::{parse_request, parse_response, ParseOptions, Parsed, Request};
use crate::write;

/// What happens to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Refused before anything reached the server: this status goes to the client.
    Rejected { status: u16, reason: String },
    /// The head is not complete (HAProxy waits, then answers 408).
    Incomplete,
    /// These bytes go to the server; `complete` when the whole message was there.
    Forwarded {
        bytes: Vec<u8>,
        request: Box<Request>,
        complete: bool,
    },
}

/// The first request of `input`, as sent to a server kept alive.
pub fn request_to_server(input: &[u8], opts: &ParseOptions) -> Outcome {
    let (req, len) = match parse_request(input, opts) {
        Err(e) => {
            return Outcome::Rejected {
                status: e.kind.status(true),
                reason: e.to_string(),
            }
        }
        Ok(Parsed::Partial) => return Outcome::Incomplete,
        Ok(Parsed::Complete { message, len }) => (message, len),
    };
    let mut out = Vec::new();
    // The server connection stays open: an HTTP/1.0 request says so, except a
    // chunked one (HAProxy 2.6.12 adds nothing then; measured).
    let http10 = !req.head.version.is_11() && req.body != crate::BodyLength::Chunked;
    let conn = connection_value(true, http10);
    write::request_head(&req.head, conn, &mut out);

    let complete = match body(req.body, &input[len..], opts, &mut out) {
        Ok(c) => c,
        Err(reason) => {
            // HAProxy parses what it has before connecting: a bad body in the
            // first read is refused like a bad head.
            return Outcome::Rejected {
                status: 400,
                reason,
            };
        }
    };
    Outcome::Forwarded {
        bytes: out,
        request: Box::new(req),
        complete,
    }
}

/// Re-frames the body bytes that arrived with the head: data as is for
/// content-length and close-delimited bodies, one chunk for everything that came
/// together plus the last chunk and trailers for a chunked one. Returns whether the
/// body is complete.
fn body(
    length: BodyLength,
    input: &[u8],
    opts: &ParseOptions,
    out: &mut Vec<u8>,
) -> Result<bool, String> {
    if length == BodyLength::Tunnel {
        out.extend_from_slice(input);
        return Ok(false);
    }
    let mut dec = BodyDecoder::new(length, opts.max_head);
    let mut data = Vec::new();
    let mut rest = input;
    let mut trailers = None;
    loop {
        let (n, step) = dec.step(rest).map_err(|e| format!("{e:?}"))?;
        rest = &rest[n..];
        match step {
            Step::Data(d) => data.extend_from_slice(d),
            Step::Trailers(t) => trailers = Some(t),
            Step::Done | Step::NeedMore => break,
        }
    }
    let complete = dec.is_done();
    if length == BodyLength::Chunked {
        write::chunk(&data, out);
        if complete {
            write::last_chunk(&trailers.unwrap_or_default(), out);
        }
    } else {
        out.extend_from_slice(&data);
    }
    Ok(complete)
}

/// What the client receives for the server's `input` (interim 1xx responses, then
/// the final one), answering `request` on a client connection in HAProxy's default
/// keep-alive mode, when all of `input` arrived in one read. A response HAProxy
/// cannot parse is a 502 ([`crate::errors::as_sent`]).
pub fn response_to_client(input: &[u8], request: &Request, opts: &ParseOptions) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        let (resp, len) = match parse_response(rest, &request.head.method, opts) {
            Ok(Parsed::Complete { message, len }) => (message, len),
            Ok(Parsed::Partial) => return out,
            Err(_) => {
                let ka = peer_keeps_alive(request.head.version, &request.info);
                return crate::errors::as_sent(502, ka, !request.head.version.is_11());
            }
        };
        rest = &rest[len..];
        if resp.head.is_interim() {
            write::response_head(&resp.head, None, &mut out);
            continue;
        }
        let http10 = !request.head.version.is_11() || !resp.head.version.is_11();
        // The client side stays open unless the client wants it closed or the body
        // can only end with the connection (close_required of a response is about
        // the server side: HAProxy re-frames a CL+TE body for the client).
        let keep_alive = peer_keeps_alive(request.head.version, &request.info)
            && !matches!(resp.body, BodyLength::UntilClose | BodyLength::Tunnel);
        let conn = if resp.body == BodyLength::Tunnel {
            None
        } else {
            connection_value(keep_alive, http10)
        };
        write::response_head(&resp.head, conn, &mut out);
        if body(resp.body, rest, opts, &mut out).is_err() {
            // The head went out already; HAProxy cuts the connection.
            return out;
        }
        return out;
    }
}
