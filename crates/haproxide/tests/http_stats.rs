//! The HTTP counters of `show stat` and `show info` (management.txt §9.1, §9.3)
//! against HAProxy 2.6.12 on the same configuration and the same traffic: three
//! requests on one keep-alive connection (200, 404, 200) and one unparsable
//! request (HAProxy's own 400). `req_tot`, `hrsp_*`, `intercepted` and the cache
//! columns of the FRONTEND, BACKEND and server rows, and `CumReq` (less
//! `CumConns`), must be equal.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, haproxide, haproxy, must_ask, wait_until, TempDir};

const WAIT: Duration = Duration::from_secs(5);

/// An HTTP/1.1 server: keep-alive, `Content-Length` answers, 404 for `/404`.
/// Serves until the test ends (its thread is detached; the listener closes
/// with the process).
fn http_backend() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || serve(s));
        }
    });
    port
}

fn serve(mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(WAIT));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            buf.drain(..end + 4);
            let code = if head.contains(" /404 ") {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let resp = format!("HTTP/1.1 {code}\r\nContent-Length: 2\r\n\r\nok");
            if s.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn config(dir: &TempDir, tag: &str, backend: u16) -> (PathBuf, PathBuf, u16) {
    let sock = dir.path(&format!("{tag}.sock"));
    let port = free_port();
    let cfg = dir.path(&format!("{tag}.cfg"));
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} level admin\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             frontend F\n    bind 127.0.0.1:{port}\n    default_backend B\n\
             backend B\n    server s1 127.0.0.1:{backend}\n",
            sock.display()
        ),
    )
    .expect("write config");
    (cfg, sock, port)
}

/// Reads one `Content-Length: 2` response (or to EOF).
fn response(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        if let Some(h) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            if got.len() >= h + 4 + 2 {
                break;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
    got
}

fn traffic(port: u16) {
    let end = Instant::now() + WAIT;
    let mut s = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > end => panic!("proxy on {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    for path in ["/a", "/404", "/b"] {
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .expect("send");
        assert!(!response(&mut s).is_empty(), "{path}");
    }
    drop(s);
    let mut bad = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    bad.set_read_timeout(Some(WAIT)).expect("timeout");
    bad.write_all(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        .expect("send");
    let mut sink = Vec::new();
    let _ = bad.read_to_end(&mut sink);
    assert!(sink.starts_with(b"HTTP/1.1 400"), "{sink:?}");
}

const COLUMNS: &[&str] = &[
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "req_tot",
    "intercepted",
    "cache_lookups",
    "cache_hits",
    "mode",
];

fn http_cells(csv: &str) -> Vec<String> {
    let mut lines = csv.lines().filter(|l| !l.is_empty());
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let mut out = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        for c in COLUMNS {
            let i = header.iter().position(|h| h == c).expect("column");
            out.push(format!(
                "{}/{} {c}={}",
                f[0],
                f[1],
                f.get(i).unwrap_or(&"?")
            ));
        }
    }
    out
}

fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_default()
        .to_string()
}

fn settled(sock: &Path) -> bool {
    // The 400's log and counters come after the client saw the answer.
    let csv = must_ask(sock, "show stat");
    http_cells(&csv).iter().any(|c| c == "F/FRONTEND req_tot=4")
}

#[test]
fn http_counters_match_haproxy() {
    let dir = TempDir::new("http-stats");
    let backend = http_backend();
    let (theirs_cfg, theirs_sock, theirs_port) = config(&dir, "theirs", backend);
    let (ours_cfg, ours_sock, ours_port) = config(&dir, "ours", backend);
    let Some(_theirs) = haproxy(&theirs_cfg) else {
        eprintln!("skipped: no /usr/sbin/haproxy");
        return;
    };
    let _ours = haproxide(&ours_cfg, &[]);
    traffic(theirs_port);
    traffic(ours_port);
    for sock in [&theirs_sock, &ours_sock] {
        assert!(
            wait_until(Duration::from_secs(5), || sock.exists() && settled(sock)),
            "{} never counted 4 requests",
            sock.display()
        );
    }
    let theirs_info = must_ask(&theirs_sock, "show info");
    let ours_info = must_ask(&ours_sock, "show info");
    // `CumReq` counts streams, `CumConns` connections; each counts every CLI
    // connection once, so their difference does not depend on how often the
    // loop above polled: HTTP requests with a stream minus HTTP connections.
    let streams_minus_conns = |info: &str| {
        let n = |f: &str| info_field(info, f).parse::<i64>().unwrap_or(-99);
        n("CumReq") - n("CumConns")
    };
    assert_eq!(
        streams_minus_conns(&ours_info),
        streams_minus_conns(&theirs_info),
        "CumReq - CumConns:\n{ours_info}\n---\n{theirs_info}"
    );
    let theirs = http_cells(&must_ask(&theirs_sock, "show stat"));
    let ours = http_cells(&must_ask(&ours_sock, "show stat"));
    assert_eq!(ours, theirs);
}
