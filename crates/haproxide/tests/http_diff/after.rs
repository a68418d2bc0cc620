//! Differential configuration for `http-after-response` rules on the proxy's
//! own answers (configuration.txt §4.2 "http-after-response"): `return`,
//! `deny`, `redirect` and `auth` answers of the frontend and of the backend get
//! the backend's rules, then the frontend's; `allow` ends a side's rules.

use super::cases::{g, Case};
use super::configs::{cfg, head, Config};

pub fn configs() -> Vec<Config> {
    vec![cfg(
        "after_local",
        &["web"],
        head("")
            + "userlist L\n  user bob insecure-password secret\n\
               frontend fe\n  bind 127.0.0.1:$fe\n\
               \x20 http-request deny if { path /deny }\n\
               \x20 http-request redirect location /x if { path /redir }\n\
               \x20 http-request auth realm R if { path /auth }\n\
               \x20 http-request return status 202 hdr x-r r if { path /fe-return }\n\
               \x20 http-after-response allow if { status eq 401 }\n\
               \x20 http-after-response set-header x-fe \"%[status] %[capture.req.uri]\"\n\
               \x20 http-after-response set-status 299 if { status eq 202 }\n\
               \x20 default_backend web\n\
               backend web\n\
               \x20 http-request return status 200 content-type text/plain string body if { path /be-return }\n\
               \x20 http-request deny deny_status 429 if { path /be-deny }\n\
               \x20 http-after-response add-header x-be \"%[status]\"\n\
               \x20 http-after-response del-header content-type\n\
               \x20 server web1 127.0.0.1:$web\n",
    )]
}

pub fn cases() -> Vec<Case> {
    let m = "after_local";
    vec![
        g(
            m,
            "frontend deny gets the frontend's rules",
            "403",
            "/deny",
            "",
        ),
        g(m, "frontend redirect", "302", "/redir", ""),
        g(m, "frontend auth: allow ends the rules", "401", "/auth", ""),
        g(
            m,
            "frontend return, set-status by a rule",
            "299",
            "/fe-return",
            "",
        ),
        g(
            m,
            "backend return: backend's then frontend's rules",
            "200",
            "/be-return",
            "",
        ),
        g(m, "backend deny 429", "429", "/be-deny", ""),
        g(m, "server response", "200", "/", ""),
    ]
}
