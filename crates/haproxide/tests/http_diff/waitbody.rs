//! Differential configuration and cases for `http-request` / `http-response
//! wait-for-body time <t> [at-least <n>]` (configuration.txt §4.3): a body that
//! comes in time goes on, one that does not gets 408.

use super::cases::{c, g, Case};
use super::configs::{backends, cfg, head, Config};

pub fn configs() -> Vec<Config> {
    vec![cfg(
        "waitbody",
        &["web"],
        head("")
            + "frontend fe\n  bind 127.0.0.1:$fe\n\
               \x20 http-request wait-for-body time 200ms if { path_beg /w }\n\
               \x20 http-request wait-for-body time 200ms at-least 4 if { path_beg /a }\n\
               \x20 http-response wait-for-body time 200ms if { status eq 200 }\n\
               \x20 default_backend web\n"
            + &backends(&["web"]),
    )]
}

pub fn cases() -> Vec<Case> {
    let w = "waitbody";
    vec![
        g(w, "wait-for-body on a request without body", "200", "/w", ""),
        c(
            w,
            "wait-for-body, the whole body in time",
            "200",
            b"POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        ),
        c(
            w,
            "wait-for-body, a chunked body in time",
            "200",
            b"POST /w HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ),
        c(
            w,
            "wait-for-body, the body too late: 408",
            "408",
            b"POST /w HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
        ),
        c(
            w,
            "wait-for-body at-least, the whole body",
            "200",
            b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabcdef",
        ),
        c(
            w,
            "no wait-for-body: forwarded at once",
            "200",
            b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        ),
    ]
}
