//! Differential configuration for bodyless responses (reg-test
//! http-messaging/http_bodyless_response): HAProxy decides whether a response
//! has a body from the method the client sent, so a HEAD rewritten to GET by
//! `http-request set-method` (configuration.txt §4.2) gets the server's head
//! (its Content-Length / Transfer-Encoding kept) and no body, and the
//! connections stay usable for the next request.

use super::cases::{c, s, Case};
use super::configs::{backends, cfg, head, Config};

pub fn configs() -> Vec<Config> {
    vec![cfg(
        "bodyless",
        &["web"],
        head("")
            + "frontend fe\n  bind 127.0.0.1:$fe\n\
               \x20 http-request set-method GET if METH_HEAD\n\
               \x20 default_backend web\n"
            + &backends(&["web"]),
    )]
}

const HEAD_LEN: &[u8] = b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n";
const HEAD_CHUNKED: &[u8] = b"HEAD /chunked HTTP/1.1\r\nHost: a\r\n\r\n";
const HEAD_BIG: &[u8] = b"HEAD /big HTTP/1.1\r\nHost: a\r\n\r\n";

pub fn cases() -> Vec<Case> {
    let m = "bodyless";
    vec![
        c(
            m,
            "HEAD as GET: Content-Length body dropped",
            "200",
            HEAD_LEN,
        ),
        c(m, "HEAD as GET: chunked body dropped", "200", HEAD_CHUNKED),
        c(m, "HEAD as GET: 100 KB body dropped", "200", HEAD_BIG),
        s(
            m,
            "HEAD as GET three times on one connection",
            "200 200 200",
            &[HEAD_LEN, HEAD_CHUNKED, HEAD_BIG],
        ),
        c(
            m,
            "HEAD as GET: 204",
            "204",
            b"HEAD /nocontent HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(
            m,
            "HEAD as GET: 304 with Content-Length",
            "304",
            b"HEAD /notmodified HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(
            m,
            "HEAD as GET: close-delimited body",
            "200",
            b"HEAD /eof HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
    ]
}
