//! Differential configuration and cases for `use_backend` with a name built per
//! request (configuration.txt §4.2: a log-format; a name that is no backend
//! applies `default_backend` and stops the rules) and `redirect ...
//! ignore-empty` (a target that renders empty skips the rule), shaped like
//! reg-test http-rules/map_redirect.

use super::cases::{c, Case};
use super::configs::{backends, cfg, head, Config};

pub fn configs() -> Vec<Config> {
    let mut c = cfg(
        "dynbe",
        &["web", "t1", "t2", "t3"],
        head("")
            + "frontend fe\n  bind 127.0.0.1:$fe\n\
               \x20 http-request redirect code 301 location %[path,map_str($dir/redirect.map)] ignore-empty\n\
               \x20 use_backend %[req.hdr(host),lower,map_dom($dir/be.map)] if { hdr_dom(host) -i t1.example.com || hdr_dom(host) -i t2.example.com }\n\
               \x20 use_backend t2 if { path_beg /static }\n\
               \x20 use_backend %[req.hdr(host),lower,map_dom($dir/be.map,t3)] if { hdr_dom(host) -m end -i example.com }\n\
               \x20 use_backend be_%[req.hdr(x-be)] if { req.hdr(x-be) -m found }\n\
               \x20 default_backend web\n"
            + &backends(&["web", "t1", "t2", "t3"])
            + "backend be_t1\n  server bt1 127.0.0.1:$t1\n",
    );
    c.files = vec![
        (
            "redirect.map".into(),
            b"/old/file /new/file\n/gone https://elsewhere.example/\n".to_vec(),
        ),
        (
            "be.map".into(),
            b"t1.example.com t1\nt2.example.com t2\nnot.example.com nosuch\n".to_vec(),
        ),
    ];
    vec![c]
}

fn req(path: &str, host: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n").into_bytes()
}

pub fn cases() -> Vec<Case> {
    let h = "dynbe";
    let one = |name: &str, expect: &'static str, path: &str, host: &str, extra: &str| {
        c(h, name, expect, &req(path, host, extra))
    };
    vec![
        one(
            "ignore-empty: no map entry, no redirect",
            "200",
            "/x",
            "a",
            "",
        ),
        one("a mapped path redirects", "301", "/old/file", "a", ""),
        one("another mapped path", "301", "/gone", "a", ""),
        one("t1 by host", "200", "/", "t1.example.com", ""),
        one(
            "t2 by host, upper case",
            "200",
            "/",
            "T2.Example.com:8080",
            "",
        ),
        one(
            "a static rule between",
            "200",
            "/static/x",
            "www.example.com",
            "",
        ),
        one("the map's default", "200", "/", "www.example.com", ""),
        one(
            "a mapped name that is no backend: default, rules stop",
            "200",
            "/",
            "not.example.com",
            "",
        ),
        one(
            "a built name that is no backend",
            "200",
            "/",
            "a",
            "X-Be: nope\r\n",
        ),
        one(
            "a built name that is a backend",
            "200",
            "/",
            "a",
            "X-Be: t1\r\n",
        ),
        one("no rule matches: default", "200", "/", "a", ""),
    ]
}
