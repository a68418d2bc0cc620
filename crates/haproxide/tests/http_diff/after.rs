//! Differential configuration for `http-after-response` rules on the proxy's
//! own answers (configuration.txt §4.2 "http-after-response"): `return`,
//! `deny`, `redirect` and `auth` answers of the frontend and of the backend get
//! the backend's rules, then the frontend's; `allow` ends a side's rules.

use super::cases::{g, Case};
use super::configs::{cfg, head, Config};

/// `global` and `defaults` with no log at all: whether `capture.req.uri` has
/// the request line then depends on the frontend's log-format strings
/// (HAProxy's `LW_REQ`, see [`capline`]).
fn head_nolog(extra: &str) -> String {
    format!(
        "global\n  tune.bufsize 16384\n\
         defaults\n  mode http\n\
         \x20 timeout connect 2s\n  timeout client 5s\n  timeout server 1s\n\
         \x20 timeout http-request 1s\n  timeout http-keep-alive 2s\n{extra}"
    )
}

/// A frontend with `fe_lines` (and `defaults` with `extra`), no log, and a
/// backend whose rules test `capture.req.uri` on the server's answer and on its
/// own `return`. HAProxy 2.6.12 keeps the request line without logging when a
/// log-format string of the frontend has an HTTP sample (a `set-header`
/// value, `unique-id-format`) or its log format reads the request line, even
/// with no log address (measured).
fn capline(name: &'static str, extra: &str, fe_lines: &str) -> Config {
    cfg(
        name,
        &["web"],
        head_nolog(extra)
            + "frontend fe\n  bind 127.0.0.1:$fe\n"
            + fe_lines
            + "  default_backend web\n\
               backend web\n\
               \x20 http-request return status 200 content-type text/plain string body if { path /ret }\n\
               \x20 http-response set-status 234 if { capture.req.uri /a }\n\
               \x20 http-after-response set-status 235 if { capture.req.uri /ret }\n\
               \x20 http-after-response set-header x-cap \"%[capture.req.method] %[capture.req.uri]\"\n\
               \x20 server web1 127.0.0.1:$web\n",
    )
}

pub fn configs() -> Vec<Config> {
    vec![
        capline("capline_rule", "", "  http-request set-header x-p \"%[path]\"\n"),
        capline("capline_int", "", "  http-request set-header x-p \"%[int(1)]\"\n"),
        capline("capline_uid", "", "  unique-id-format \"%[path]\"\n"),
        capline("capline_logfmt", "  log-format \"%r\"\n", ""),
        cfg(
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
        ),
    ]
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (m, kept) in [
        ("capline_rule", true),
        ("capline_int", false),
        ("capline_uid", true),
        ("capline_logfmt", true),
    ] {
        let (a, ret) = if kept { ("234", "235") } else { ("200", "200") };
        v.push(g(m, "capture.req.uri on the server's answer", a, "/a", ""));
        v.push(g(m, "capture.req.uri on a return", ret, "/ret", ""));
    }
    let m = "after_local";
    v.extend([
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
    ]);
    v
}
