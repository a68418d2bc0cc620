//! Differential configuration for the cache (configuration.txt §6): hits and
//! misses (the backend sees only the misses; `res.cache_hit` / `res.cache_name`
//! in a header; the log names `<CACHE>`), `304 Not Modified` on `If-None-Match`
//! and `If-Modified-Since`, HEAD from the cache, what is never served from it
//! (HTTP/1.0, `Authorization`, `Cache-Control: no-cache`, `private` responses),
//! a POST that invalidates, and `Vary: Accept-Encoding` with `process-vary on`.
//! `Age` (seconds in the cache, under 10 here) depends on when the second turns: shown as `low`.

use super::cases::{c, s, Case};
use super::configs::{backends, cfg, head, Config};

pub fn configs() -> Vec<Config> {
    vec![cfg(
        "cache",
        &["web"],
        // No `%B` in the log: a hit counts `Age`, whose digit depends on
        // when the second turns.
        head("  log-format \"%ci [%tr] %ft %b/%s %ST %tsc %{+Q}r\"\n")
            + "frontend fe\n  bind 127.0.0.1:$fe\n  default_backend web\n"
            + &backends(&["web"])
            + "  http-request cache-use c1\n\
               \x20 http-response cache-store c1\n\
               \x20 http-response set-header x-hit %[res.cache_hit]\n\
               \x20 http-response set-header x-cache %[res.cache_name]\n\
               \x20 http-response replace-value age ^[0-9]$ low\n\
               cache c1\n  total-max-size 4\n  max-age 240\n  process-vary on\n",
    )]
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: c.example\r\n{extra}\r\n").into_bytes()
}

pub fn cases() -> Vec<Case> {
    let m = "cache";
    let a = get("/a/cacheable", "");
    let v = |ae: &str| get("/v/vary", &format!("Accept-Encoding: {ae}\r\n"));
    vec![
        s(m, "miss then hit", "200 200", &[&a, &a]),
        c(m, "hit on a new connection", "200", &a),
        c(
            m,
            "If-None-Match matching: 304 from the cache",
            "304",
            &get("/a/cacheable", "If-None-Match: \"x\", \"v1\"\r\n"),
        ),
        c(
            m,
            "If-None-Match not matching: 200 from the cache",
            "200",
            &get("/a/cacheable", "If-None-Match: \"v2\"\r\n"),
        ),
        c(
            m,
            "If-Modified-Since later: 304",
            "304",
            &get(
                "/a/cacheable",
                "If-Modified-Since: Fri, 23 Oct 2020 16:51:12 GMT\r\n",
            ),
        ),
        c(
            m,
            "If-Modified-Since earlier: 200",
            "200",
            &get(
                "/a/cacheable",
                "If-Modified-Since: Wed, 21 Oct 2020 16:51:12 GMT\r\n",
            ),
        ),
        c(
            m,
            "HEAD from the cache",
            "200",
            b"HEAD /a/cacheable HTTP/1.1\r\nHost: c.example\r\n\r\n",
        ),
        c(
            m,
            "HTTP/1.0 is not served from the cache",
            "200",
            b"GET /a/cacheable HTTP/1.0\r\nHost: c.example\r\n\r\n",
        ),
        c(
            m,
            "Authorization is not served from the cache",
            "200",
            &get("/a/cacheable", "Authorization: Basic dTpw\r\n"),
        ),
        c(
            m,
            "Cache-Control: no-cache is not served from the cache",
            "200",
            &get("/a/cacheable", "Cache-Control: no-cache\r\n"),
        ),
        c(
            m,
            "Pragma: no-cache is not served from the cache",
            "200",
            &get("/a/cacheable", "Pragma: no-cache\r\n"),
        ),
        s(
            m,
            "a private response is never stored",
            "200 200",
            &[&get("/p/hdrs", ""), &get("/p/hdrs", "")],
        ),
        s(
            m,
            "no freshness nor validator: not stored",
            "200 200",
            &[&get("/n/plain", ""), &get("/n/plain", "")],
        ),
        s(
            m,
            "a POST drops the entry",
            "200 200 200 200",
            &[
                &get("/b/cacheable", ""),
                &get("/b/cacheable", ""),
                b"POST /b/cacheable HTTP/1.1\r\nHost: c.example\r\nContent-Length: 2\r\n\r\nhi",
                &get("/b/cacheable", ""),
            ],
        ),
        s(
            m,
            "Vary: Accept-Encoding: gzip stored, served to gzip, not to br",
            "200 200 200 200",
            &[
                &v("gzip"),
                &v("deflate, gzip"),
                &v("br"),
                &get("/v/vary", ""),
            ],
        ),
    ]
}
