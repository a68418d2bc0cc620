//! Differential configuration for a `listen` section (configuration.txt §4: a
//! frontend and a backend in one section): its `http-request`, `http-response`
//! and `http-after-response` rules run once each, on the server's answers and
//! on the proxy's own.

use super::cases::{c, s, Case};
use super::configs::{head, Config};

pub fn configs() -> Vec<Config> {
    vec![Config {
        name: "listen",
        frontends: &["fe"],
        backends: &["web"],
        text: head("")
            + "listen fe\n  bind 127.0.0.1:$fe\n\
               \x20 http-request set-header x-req listen\n\
               \x20 http-request deny deny_status 403 if { path /deny }\n\
               \x20 http-response add-header x-res listen\n\
               \x20 http-response set-header x-count %[res.hdr_cnt]\n\
               \x20 http-after-response add-header x-after listen\n\
               \x20 server web1 127.0.0.1:$web\n",
        files: Vec::new(),
    }]
}

pub fn cases() -> Vec<Case> {
    let m = "listen";
    vec![
        c(
            m,
            "request and response rules run once",
            "200",
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(
            m,
            "proxy's own answer: after-response only",
            "403",
            b"GET /deny HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        s(
            m,
            "two requests on one connection",
            "200 200",
            &[
                b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n",
                b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n",
            ],
        ),
    ]
}
