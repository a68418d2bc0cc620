//! Differential configuration and cases for `monitor fail {if|unless} <cond>`
//! with `monitor-uri` (configuration.txt §4.2): 503 while a condition holds.

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
    )]
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
    ]
}
