//! Embedded Lua (issue 14; docs/lua.md): the same scripts (testdata/lua/) and the
//! same configuration run by haproxide and by HAProxy 2.6.12; the same raw
//! requests must get the same status, the same headers (as a set: HAProxy
//! writes an applet's headers in the order of a Lua hash table) and the same
//! body. Covered: an ACME http-01 service (`use-service lua.acme-http01`, as in
//! the corpus), a CORS action pair (`http-request lua.cors` with arguments,
//! `http-response lua.cors`, `txn:done(reply)` on a preflight), an applet
//! reading the request (method, path, qs, headers, body, variables), a fetch and
//! a converter in log-format values, a runaway loop in a service and in an
//! action (killed by `tune.lua.service-timeout` / `session-timeout`, logged) and
//! a memory hog stopped by `tune.lua.maxmem`. haproxide alone: a loop that
//! catches the timeout with pcall (HAProxy 2.6.12's watchdog aborts the whole
//! process there) and an unknown service refused at start. Skipped when
//! /usr/sbin/haproxy is absent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, guard, haproxy, wait_listening, TempDir};

fn scripts() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/lua")
}

fn config(fe: u16, origin: u16) -> String {
    let d = scripts();
    let d = d.display();
    format!(
        "global\n    lua-load {d}/acme.lua\n    lua-load {d}/cors.lua\n    lua-load {d}/limits.lua\n\
    tune.lua.service-timeout 300\n    tune.lua.session-timeout 300\n    tune.lua.maxmem 16\n\
defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
frontend fe\n    bind 127.0.0.1:{fe}\n\
    http-request use-service lua.acme-http01 if {{ path_beg /.well-known/acme-challenge/ }}\n\
    http-request lua.cors \"GET,POST\" \"example.com\" \"X-Custom\"\n\
    http-response lua.cors\n\
    http-request lua.spin if {{ path_beg /aspin }}\n\
    http-request lua.tag v1 if {{ path_beg /echo }}\n\
    http-request use-service lua.spin if {{ path_beg /spin }}\n\
    http-request use-service lua.hog if {{ path_beg /hog }}\n\
    http-request use-service lua.echo if {{ path_beg /echo }}\n\
    http-request return status 200 content-type text/plain string ok hdr x-l \"%[lua.greeting(bob)]\" hdr x-c \"%[path,lua.shout(!)]\" if {{ path_beg /fetch }}\n\
    http-request set-var(txn.g) lua.greeting,lua.shout if {{ path_beg /var }}\n\
    http-request return status 200 content-type text/plain lf-string \"%[var(txn.g)]\" if {{ path_beg /var }}\n\
    default_backend be\n\
backend be\n    server s1 127.0.0.1:{origin}\n\
listen origin\n    bind 127.0.0.1:{origin}\n\
    http-request return status 200 content-type text/plain string hello\n"
    )
}

/// Sends one request and reads the whole answer (the request closes).
fn exchange(port: u16, req: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(req.as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Status line, headers sorted (names lower-cased), body.
fn summary(resp: &str) -> String {
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((resp, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("none").to_string();
    let mut hdrs: Vec<String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| format!("{}: {}", n.trim().to_ascii_lowercase(), v.trim()))
        .collect();
    hdrs.sort();
    format!("{status} {hdrs:?} {body:?}")
}

/// haproxide with its stderr in `log`.
fn ours(cfg: &Path, log: &Path) -> common::Proc {
    let err = std::fs::File::create(log).expect("log file");
    guard(
        Command::new(env!("CARGO_BIN_EXE_haproxide"))
            .args(["-db", "-f"])
            .arg(cfg)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn haproxide"),
    )
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: a\r\n{extra}Connection: close\r\n\r\n")
}

#[test]
fn lua_scripts_as_haproxy() {
    let dir = TempDir::new("lua");
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let (o_cfg, t_cfg, log) = (
        dir.0.join("ours.cfg"),
        dir.0.join("theirs.cfg"),
        dir.0.join("ours.log"),
    );
    std::fs::write(&o_cfg, config(ports[0], ports[1])).expect("write cfg");
    std::fs::write(&t_cfg, config(ports[2], ports[3])).expect("write cfg");
    let Some(_h) = haproxy(&t_cfg) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    let _p = ours(&o_cfg, &log);
    for p in &ports {
        assert!(wait_listening(*p), "port {p} not listening");
    }
    let origin = "Origin: https://example.com\r\n";
    let cases: Vec<(&str, String, &str)> = vec![
        ("acme token", get("/.well-known/acme-challenge/tok-123_x", ""), "200"),
        ("acme bad token", get("/.well-known/acme-challenge/a.b", ""), "404"),
        ("cors allowed", get("/x", origin), "200"),
        ("cors other origin", get("/x", "Origin: https://evil.test\r\n"), "200"),
        ("cors none", get("/x", ""), "200"),
        (
            "cors preflight",
            format!("OPTIONS /x HTTP/1.1\r\nHost: a\r\n{origin}Connection: close\r\n\r\n"),
            "204",
        ),
        ("applet reads", get("/echo?a=1", ""), "201"),
        (
            "applet body",
            "POST /echo/p?z=2 HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".into(),
            "201",
        ),
        ("fetch and converter", get("/fetch/me", ""), "200"),
        ("fetch and converter in set-var", get("/var", ""), "200"),
        ("service loop: timeout", get("/spin", ""), "500"),
        ("action loop: timeout, rule skipped", get("/aspin", ""), "200"),
        ("memory hog: maxmem", get("/hog", ""), "500"),
    ];
    let mut diffs = Vec::new();
    for (name, req, want) in &cases {
        let a = summary(&exchange(ports[0], req));
        let b = summary(&exchange(ports[2], req));
        assert!(
            b.starts_with(&format!("HTTP/1.1 {want}")),
            "{name}: HAProxy gave {b}"
        );
        if a != b {
            diffs.push(format!("{name}:\n  haproxide {a}\n  haproxy   {b}"));
        }
    }
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
    // The proxy still answers, and each failure was logged as HAProxy words it.
    assert!(summary(&exchange(ports[0], &get("/x", ""))).starts_with("HTTP/1.1 200"));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    for want in [
        "Lua applet http '<lua.spin>': [state-id 0] runtime error: execution timeout",
        "Lua function 'spin': [state-id 0] runtime error: execution timeout",
        "Lua applet http '<lua.hog>': [state-id 0] runtime error: not enough memory",
    ] {
        assert!(text.contains(want), "log lacks {want:?}:\n{text}");
    }
}

/// A loop that catches the timeout error with pcall: the coroutine is
/// abandoned (HAProxy 2.6.12's watchdog kills the whole process here).
#[test]
fn pcall_cannot_catch_the_timeout() {
    let dir = TempDir::new("lua-pcall");
    let port = free_port();
    let cfg = dir.0.join("c.cfg");
    let d = scripts();
    std::fs::write(
        &cfg,
        format!(
            "global\n    lua-load {}/limits.lua\n    tune.lua.service-timeout 200\n\
defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
frontend fe\n    bind 127.0.0.1:{port}\n    http-request use-service lua.spin-pcall\n",
            d.display()
        ),
    )
    .expect("write cfg");
    let _p = ours(&cfg, &dir.0.join("log"));
    assert!(wait_listening(port));
    let t0 = Instant::now();
    let r = exchange(port, &get("/", ""));
    assert!(r.starts_with("HTTP/1.1 500"), "{r}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // Twice: the state is still usable.
    assert!(exchange(port, &get("/", "")).starts_with("HTTP/1.1 500"));
}

/// `os.exit` in a script is refused (a Lua error, the service answers 500):
/// the proxy keeps running (HAProxy 2.6.12 exits).
#[test]
fn os_exit_does_not_end_the_proxy() {
    let dir = TempDir::new("lua-exit");
    let port = free_port();
    let cfg = dir.0.join("c.cfg");
    let log = dir.0.join("log");
    std::fs::write(
        &cfg,
        format!(
            "global\n    lua-load {}/limits.lua\n\
defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
frontend fe\n    bind 127.0.0.1:{port}\n    http-request use-service lua.exit\n",
            scripts().display()
        ),
    )
    .expect("write cfg");
    let _p = ours(&cfg, &log);
    assert!(wait_listening(port));
    for _ in 0..2 {
        let r = exchange(port, &get("/", ""));
        assert!(r.starts_with("HTTP/1.1 500"), "{r}");
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("os.exit is not supported by haproxide"),
        "{text}"
    );
}

/// A service no script registered: refused at start with its line.
#[test]
fn unknown_service_refused_with_its_line() {
    let dir = TempDir::new("lua-unknown");
    let cfg = dir.0.join("c.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    lua-load {}/acme.lua\n\
defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
frontend fe\n    bind 127.0.0.1:{}\n    http-request use-service lua.nope\n",
            scripts().display(),
            free_port()
        ),
    )
    .expect("write cfg");
    let out = Command::new(env!("CARGO_BIN_EXE_haproxide"))
        .args(["-db", "-f"])
        .arg(&cfg)
        .output()
        .expect("run haproxide");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("c.cfg:10") && err.contains("nope"), "{err}");
}
