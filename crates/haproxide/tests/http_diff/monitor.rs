//! Differential configuration and cases for `monitor fail {if|unless} <cond>`
//! with `monitor-uri` (configuration.txt §4.2): 503 while a condition holds;
//! `nbsrv(<backend>)` (§7.3.3) in `monitor fail`, `use_backend` and rule
//! log-formats, with a backend whose only server is `disabled` (no health-check
//! timing involved: both programs see 0 usable servers from the start).

use super::cases::{c, g, get, Case};
use super::configs::{backends, cfg, head, Config};

pub fn configs() -> Vec<Config> {
    vec![cfg(
        "monitor_fail",
        &["web"],
        head("")
            + "frontend fe\n  bind 127.0.0.1:$fe\n  monitor-uri /healthz\n\
               \x20 acl down req.hdr(x-down) -m found\n\
               \x20 monitor fail if down\n\
               \x20 monitor fail unless { src 127.0.0.0/8 }\n\
               \x20 default_backend web\n"
            + &backends(&["web"]),
    ),
    cfg(
        "nbsrv",
        &["web", "api"],
        head("")
            + "frontend fe\n  bind 127.0.0.1:$fe\n  monitor-uri /healthz\n\
               \x20 monitor fail if { nbsrv(dead) lt 1 } { req.hdr(x-strict) -m found }\n\
               \x20 monitor fail if { nbsrv(web) lt 1 }\n\
               \x20 http-request return status 200 hdr x-n \"%[nbsrv(web)] %[nbsrv(dead)] %[nbsrv(both)] %[nbsrv(bck)]\" if { path /count }\n\
               \x20 use_backend api if { nbsrv(dead) lt 1 } { path_beg /api }\n\
               \x20 use_backend dead if { path_beg /dead }\n\
               \x20 default_backend web\n\
               backend dead\n  server d1 127.0.0.1:$web disabled\n\
               backend both\n  server b1 127.0.0.1:$web\n  server b2 127.0.0.1:$web\n  server b3 127.0.0.1:$web backup\n\
               backend bck\n  server b1 127.0.0.1:$web disabled\n  server b2 127.0.0.1:$web backup\n  server b3 127.0.0.1:$web backup\n\
               backend web\n  http-request return status 200 hdr x-m \"%[nbsrv] %[nbsrv(api)]\" if { path /inner }\n\
               \x20 server web1 127.0.0.1:$web\n\
               backend api\n  server api1 127.0.0.1:$api\n",
    ),
    ]
}

pub fn cases() -> Vec<Case> {
    let m = "monitor_fail";
    vec![
        g(
            m,
            "monitor-uri, no condition holds: 200",
            "200",
            "/healthz",
            "",
        ),
        g(
            m,
            "monitor fail if: 503",
            "503",
            "/healthz",
            "X-Down: 1\r\n",
        ),
        g(
            m,
            "monitor fail only on the monitor-uri",
            "200",
            "/",
            "X-Down: 1\r\n",
        ),
        c(
            m,
            "monitor fail to HEAD",
            "503",
            b"HEAD /healthz HTTP/1.1\r\nHost: a\r\nX-Down: 1\r\n\r\n",
        ),
        c(
            m,
            "monitor fail then a request on the same connection",
            "503 200",
            &[get("/healthz", "X-Down: 1\r\n"), get("/healthz", "")].concat(),
        ),
        g(
            "nbsrv",
            "monitor fail if nbsrv(dead) lt 1 and a header",
            "503",
            "/healthz",
            "X-Strict: 1\r\n",
        ),
        g(
            "nbsrv",
            "monitor fail if nbsrv(web) lt 1: web has one",
            "200",
            "/healthz",
            "",
        ),
        g(
            "nbsrv",
            "nbsrv of 4 backends in a return hdr",
            "200",
            "/count",
            "",
        ),
        g(
            "nbsrv",
            "use_backend on nbsrv(dead) lt 1",
            "200",
            "/api/x",
            "",
        ),
        g(
            "nbsrv",
            "nbsrv without argument: the current backend",
            "200",
            "/inner",
            "",
        ),
        g(
            "nbsrv",
            "a backend with no usable server: 503",
            "503",
            "/dead",
            "",
        ),
    ]
}
