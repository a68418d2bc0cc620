//! Differential configuration and cases for what rules see of the `Connection`
//! header (issue 14: `req.hdr_cnt` counted it): HAProxy 2.6's HTTP/1 parser
//! removes its `close` and `keep-alive` tokens, and the header when nothing is
//! left, from requests and responses before any rule runs (h1.c
//! `h1_parse_connection_header`). The counts go to the backend in `x-cnt` and to
//! the client in `x-rcnt`; the log's byte counts (HTX sizes) follow.

use super::cases::{c, g, Case};
use super::configs::{backends, cfg, head, Config};

pub fn configs() -> Vec<Config> {
    vec![cfg(
        "hdrcnt",
        &["web"],
        head("")
            + "frontend fe\n  bind 127.0.0.1:$fe\n\
               \x20 http-request set-header x-cnt \"%[req.hdr_cnt] %[req.hdr_cnt(connection)] %[req.fhdr_cnt(connection)] <%[req.hdr(connection)]> <%[req.fhdr(connection)]>\"\n\
               \x20 http-response set-header x-rcnt \"%[res.hdr_cnt] %[res.hdr_cnt(connection)] <%[res.hdr(connection)]> <%[res.fhdr(connection)]>\"\n\
               \x20 default_backend web\n"
            + &backends(&["web"]),
    )]
}

pub fn cases() -> Vec<Case> {
    let h = "hdrcnt";
    vec![
        g(h, "no connection header", "200", "/", "X: 1\r\n"),
        g(h, "close is not counted", "200", "/", "Connection: close\r\n"),
        g(h, "keep-alive is not counted", "200", "/", "Connection: keep-alive\r\nX: 1\r\n"),
        g(h, "close and keep-alive", "200", "/", "Connection: close, keep-alive\r\n"),
        g(h, "upgrade kept, close removed", "200", "/", "Connection: upgrade, close\r\nUpgrade: foo\r\n"),
        g(h, "two headers, one removed", "200", "/", "Connection: foo\r\nConnection: Close\r\nKeep-Alive: 1\r\nProxy-Connection: x\r\n"),
        g(h, "raw prefix then trimmed tokens", "200", "/", "Connection: foo ,  close,bar , keep-alive\r\n"),
        g(h, "a removed token first", "200", "/", "Connection: CLOSE , foo\r\n"),
        g(h, "nothing removed", "200", "/", "Connection: foo,,bar\r\n"),
        g(h, "an empty connection header", "200", "/", "Connection:\r\nX: 1\r\n"),
        g(h, "a token with a parameter stays", "200", "/", "Connection: close;q=1\r\n"),
        c(
            h,
            "HTTP/1.0 keep-alive",
            "200",
            b"GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
        ),
        c(
            h,
            "a chunked POST with close",
            "200",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ),
        g(h, "the response's connection header", "200", "/conn", ""),
        g(h, "a 1.0 response", "200", "/http10", ""),
    ]
}
