//! The codec composed as a proxy's request path: what HAProxy 2.6 in its default
//! `http-keep-alive` mode sends to the server for a request whose bytes all
//! arrived in one read. The engine does the same per read; tests/differential.rs
//! compares this with what HAProxy 2.6.12 really sends.

use crate::body::{BodyDecoder, Step};
use crate::conn::connection_value;
use crate::parse::{parse_request, ParseOptions, Parsed, Request};
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

    let chunked = req.body == crate::BodyLength::Chunked;
    let mut dec = BodyDecoder::new(req.body, opts.max_head);
    let mut data = Vec::new();
    let mut rest = &input[len..];
    let mut trailers = None;
    loop {
        match dec.step(rest) {
            Err(e) => {
                // HAProxy parses what it has before connecting: a bad body in the
                // first read is refused like a bad head.
                return Outcome::Rejected {
                    status: 400,
                    reason: format!("{e:?}"),
                };
            }
            Ok((n, step)) => {
                rest = &rest[n..];
                match step {
                    Step::Data(d) => data.extend_from_slice(d),
                    Step::Trailers(t) => trailers = Some(t),
                    Step::Done | Step::NeedMore => break,
                }
            }
        }
    }
    let complete = dec.is_done();
    if chunked {
        // Everything that arrived together goes out as one chunk.
        write::chunk(&data, &mut out);
        if complete {
            write::last_chunk(&trailers.unwrap_or_default(), &mut out);
        }
    } else {
        out.extend_from_slice(&data);
    }
    Outcome::Forwarded {
        bytes: out,
        request: Box::new(req),
        complete,
    }
}
