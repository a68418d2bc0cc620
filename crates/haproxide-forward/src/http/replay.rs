//! Sending a request again after a reused server connection failed before any
//! byte of answer (the race of a server that closes an idle keep-alive
//! connection just as a request is sent on it: reg-test converter/json_query's
//! flake). HAProxy 2.6 retries such a request only with `retry-on
//! empty-response` (§4.2 `retry-on`; its default is `connect-failure`), and
//! its reuse check narrows the window (measured: a deterministic race closes the
//! client connection unanswered); haproxide always retries once, on a new
//! connection to the same server, when the request can be sent again whole:
//! no body, or a Content-Length body that came whole with the head (still in
//! the client buffer when forwarding starts). A chunked or streamed body is
//! not replayed: 502.

use haproxide_http::{BodyLength, Request};

/// The body's length when it is a Content-Length body entirely among the
/// `have` bytes buffered (and not awaiting `100 Continue`).
pub(super) fn whole_body(req: &Request, have: usize) -> Option<usize> {
    match req.body {
        BodyLength::Length(n) if n > 0 && !req.info.expect_continue => {
            usize::try_from(n).ok().filter(|n| *n <= have)
        }
        _ => None,
    }
}
