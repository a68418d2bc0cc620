//! The stats page in `mode http` proxies that also forward (issue 14; corpus 176,
//! 204): `stats uri`/`stats auth`/`stats realm` in a frontend with backends, and
//! `stats enable` in a backend reached by `use_backend`. The same raw requests go
//! to haproxide and to HAProxy 2.6.12, each running the same configuration (with
//! `stats http-request` deny/allow/auth rules and `stats admin if
//! { http_auth_group(...) }`, corpus 191/204); the
//! statuses, the stats headers (`www-authenticate`, `location`, `content-type`,
//! `cache-control`) and the forwarded bodies must agree (the page's HTML may
//! differ; CSV bodies both start with the header line). Skipped when
//! /usr/sbin/haproxy is absent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

mod common;
use common::{free_port, haproxide, haproxy, wait_listening, TempDir};

fn config(fe: u16, fe2: u16, origin: u16) -> String {
    format!(
        "defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
frontend fe\n    bind 127.0.0.1:{fe}\n    stats uri /admin/stats\n    stats auth admin:pw\n\
    stats realm My\\ Stats\n    acl host_stats hdr_beg(host) -i stats.local\n\
    use_backend c1stats if host_stats\n    default_backend be\n\
backend be\n    server s1 127.0.0.1:{origin}\n\
backend c1stats\n    stats enable\n    stats uri /\n    stats scope fe\n    stats refresh 60\n\
userlist ul\n    group adm users admin\n    user admin insecure-password pw\n    user guest insecure-password g\n\
frontend fe2\n    bind 127.0.0.1:{fe2}\n    use_backend bst if {{ hdr_beg(host) -i stats.local }}\n    default_backend be\n\
backend bst\n    acl auth_ok http_auth_group(ul) adm\n    stats enable\n    stats uri /\n\
    stats http-request deny if {{ path_beg /deny }}\n    stats http-request allow if auth_ok\n\
    stats http-request auth realm Stats\n    stats admin if auth_ok\n\
listen origin\n    bind 127.0.0.1:{origin}\n\
    http-request return status 200 content-type text/plain string hello\n"
    )
}

/// Sends one request (with `Connection: close`) and reads the whole answer.
fn exchange(port: u16, req: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Status, compared headers, and the body when it is the origin's or CSV's start.
fn summary(resp: &str) -> String {
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((resp, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("none")
        .to_string();
    let mut hdrs: Vec<String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(n, _)| {
            matches!(
                n.as_str(),
                "www-authenticate" | "location" | "content-type" | "cache-control" | "refresh"
            )
        })
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    hdrs.sort();
    let body = if body.contains("hello") {
        "hello"
    } else if body.contains("# pxname,svname") {
        "csv"
    } else {
        ""
    };
    format!("{status} {hdrs:?} {body}")
}

#[test]
fn stats_in_forwarding_proxies_as_haproxy() {
    let dir = TempDir::new("stats-forward");
    let ports: Vec<u16> = (0..6).map(|_| free_port()).collect();
    let ours = dir.0.join("ours.cfg");
    let theirs = dir.0.join("theirs.cfg");
    std::fs::write(&ours, config(ports[0], ports[4], ports[1])).expect("write cfg");
    std::fs::write(&theirs, config(ports[2], ports[5], ports[3])).expect("write cfg");
    let Some(_h) = haproxy(&theirs) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    let _p = haproxide(&ours, &[]);
    assert!(wait_listening(ports[0]) && wait_listening(ports[1]));
    assert!(wait_listening(ports[2]) && wait_listening(ports[3]));
    assert!(wait_listening(ports[4]) && wait_listening(ports[5]));
    let auth = "Authorization: Basic YWRtaW46cHc=\r\n"; // admin:pw
    let bad = "Authorization: Basic YWRtaW46eA==\r\n"; // admin:x
    let cases: Vec<(&str, String, &str)> = vec![
        ("forwarded", "GET /x HTTP/1.1\r\nHost: a\r\n".into(), "200"),
        (
            "no auth",
            "GET /admin/stats HTTP/1.1\r\nHost: a\r\n".into(),
            "401",
        ),
        (
            "bad auth",
            format!("GET /admin/stats HTTP/1.1\r\nHost: a\r\n{bad}"),
            "401",
        ),
        (
            "csv",
            format!("GET /admin/stats;csv HTTP/1.1\r\nHost: a\r\n{auth}"),
            "200",
        ),
        (
            "page",
            format!("GET /admin/stats HTTP/1.1\r\nHost: a\r\n{auth}"),
            "200",
        ),
        (
            "head",
            format!("HEAD /admin/stats HTTP/1.1\r\nHost: a\r\n{auth}"),
            "200",
        ),
        (
            "post without admin",
            format!("POST /admin/stats HTTP/1.1\r\nHost: a\r\n{auth}Content-Length: 3\r\n\r\nx=1"),
            "303",
        ),
        (
            "prefix only",
            format!("GET /admin/stat HTTP/1.1\r\nHost: a\r\n{auth}"),
            "200",
        ),
        (
            "absolute uri",
            format!("GET http://a/admin/stats;csv HTTP/1.1\r\nHost: a\r\n{auth}"),
            "200",
        ),
        (
            "backend stats",
            "GET / HTTP/1.1\r\nHost: stats.local\r\n".into(),
            "200",
        ),
        (
            "backend csv",
            "GET /;csv HTTP/1.1\r\nHost: stats.local\r\n".into(),
            "200",
        ),
    ];
    let guest = "Authorization: Basic Z3Vlc3Q6Zw==\r\n"; // guest:g
                                                         // `stats http-request` rules and `stats admin if { http_auth_group }`.
    let rules: Vec<(&str, String, &str)> = vec![
        (
            "rules: no auth",
            "GET / HTTP/1.1\r\nHost: stats.local\r\n".into(),
            "401",
        ),
        (
            "rules: deny",
            format!("GET /deny HTTP/1.1\r\nHost: stats.local\r\n{auth}"),
            "403",
        ),
        (
            "rules: not in group",
            format!("GET / HTTP/1.1\r\nHost: stats.local\r\n{guest}"),
            "401",
        ),
        (
            "rules: allowed",
            format!("GET /;csv HTTP/1.1\r\nHost: stats.local\r\n{auth}"),
            "200",
        ),
        (
            "rules: admin post",
            format!("POST / HTTP/1.1\r\nHost: stats.local\r\n{auth}Content-Length: 3\r\n\r\nx=1"),
            "303",
        ),
        (
            "rules: forwarded",
            "GET /x HTTP/1.1\r\nHost: a\r\n".into(),
            "200",
        ),
    ];
    let cases: Vec<(u16, u16, &str, String, &str)> = cases
        .into_iter()
        .map(|(n, r, w)| (ports[0], ports[2], n, r, w))
        .chain(
            rules
                .into_iter()
                .map(|(n, r, w)| (ports[4], ports[5], n, r, w)),
        )
        .collect();
    let mut diffs = Vec::new();
    for (ours, theirs, name, req, want) in &cases {
        let req = if req.ends_with("x=1") {
            req.replacen("\r\n", "\r\nConnection: close\r\n", 1)
        } else {
            format!("{req}Connection: close\r\n\r\n")
        };
        let a = exchange(*ours, &req).map(|r| summary(&r));
        let b = exchange(*theirs, &req).map(|r| summary(&r));
        let b_status_ok = b.as_deref().is_some_and(|s| s.starts_with(want));
        assert!(
            b_status_ok,
            "{name}: HAProxy answered {b:?}, case expects {want}"
        );
        if a != b {
            diffs.push(format!("{name}:\n  haproxide {a:?}\n  haproxy   {b:?}"));
        }
    }
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
}
