//! Differential configuration and cases for `option http-restrict-req-hdr-names
//! preserve|delete|reject` (configuration.txt §4.2): applied after each proxy's
//! `http-request` rules, 403 logged `PR` on reject, the connection kept.

use super::cases::{c, g, get, Case};
use super::configs::{cfg, head, Config};

pub fn configs() -> Vec<Config> {
    vec![cfg(
        "hdrnames",
        &["web", "del", "rej"],
        head("")
            + "frontend fe\n  bind 127.0.0.1:$fe\n\
               \x20 http-request deny if { path /fe-sees } { req.hdr(x-my_hdr) -m found }\n\
               \x20 use_backend del if { path_beg /del }\n\
               \x20 use_backend rej if { path_beg /rej }\n\
               \x20 default_backend web\n\
               backend web\n  server web1 127.0.0.1:$web\n\
               backend del\n  option http-restrict-req-hdr-names delete\n\
               \x20 http-request deny if { path /del/see } { req.hdr(x-my_hdr) -m found }\n\
               \x20 server del1 127.0.0.1:$del\n\
               backend rej\n  option http-restrict-req-hdr-names reject\n\
               \x20 server rej1 127.0.0.1:$rej\n",
    )]
}

pub fn cases() -> Vec<Case> {
    let h = "hdrnames";
    let bad = "X-my_hdr: on\r\nX-ok: 1\r\n";
    vec![
        g(h, "preserve forwards a name with '_'", "200", "/", bad),
        g(h, "the frontend's rules see it", "403", "/fe-sees", bad),
        g(
            h,
            "delete removes it, keeps the others",
            "200",
            "/del/x",
            bad,
        ),
        g(
            h,
            "the backend's rules run before delete",
            "403",
            "/del/see",
            bad,
        ),
        g(h, "delete with clean names", "200", "/del/x", "X-ok: 1\r\n"),
        g(h, "reject answers 403", "403", "/rej/x", bad),
        g(h, "reject a name with '.'", "403", "/rej/x", "X.dot: 1\r\n"),
        g(
            h,
            "reject lets clean names through",
            "200",
            "/rej/x",
            "X-ok: 1\r\n",
        ),
        c(
            h,
            "reject keeps the connection",
            "403 200",
            &[get("/rej/x", bad), get("/rej/y", "")].concat(),
        ),
        c(
            h,
            "reject with a body",
            "403",
            b"POST /rej/x HTTP/1.1\r\nHost: a\r\nX_b: 1\r\nContent-Length: 3\r\n\r\nabc",
        ),
    ]
}
