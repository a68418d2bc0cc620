//! `filter trace` (configuration.txt §9.1; issue 14, corpus 096) runs and changes no
//! traffic, in a TCP proxy (with `filter compression` beside it, a no-op on TCP
//! streams, as corpus 096 has) and in an HTTP one. The same requests go to
//! haproxide and to HAProxy 2.6.12; the bytes the clients get must be identical
//! (Date-free answers). Skipped when /usr/sbin/haproxy is absent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

mod common;
use common::{free_port, haproxide, haproxy, wait_listening, TempDir};

fn config(tcp: u16, http: u16, origin: u16, echo: u16) -> String {
    format!(
        "defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
frontend ft\n    mode tcp\n    bind 127.0.0.1:{tcp}\n    filter trace name BEFORE\n    filter compression\n\
    filter trace name AFTER hexdump\n    default_backend echo\n\
backend echo\n    mode tcp\n    server s1 127.0.0.1:{echo}\n\
listen web\n    mode http\n    bind 127.0.0.1:{http}\n    filter trace name H random-parsing random-forwarding\n\
    server s1 127.0.0.1:{origin}\n\
listen origin\n    mode http\n    bind 127.0.0.1:{origin}\n\
    http-request return status 200 content-type text/plain string \"traced body\" hdr x-a b\n"
    )
}

fn exchange(port: u16, req: &[u8], until: &[u8]) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(req);
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while !out.ends_with(until) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn scenario(tag: &str, start: impl Fn(&Path) -> Option<common::Proc>) -> Option<Vec<String>> {
    let dir = TempDir::new(tag);
    let echo = common::echo_server();
    let ports = [free_port(), free_port(), free_port()];
    let cfg = dir.0.join("p.cfg");
    std::fs::write(&cfg, config(ports[0], ports[1], ports[2], echo.port)).expect("write cfg");
    let _p = start(&cfg)?;
    assert!(
        ports.iter().all(|&p| wait_listening(p)),
        "{tag}: not listening"
    );
    Some(vec![
        exchange(ports[0], b"raw bytes\x00\xff through trace\n", b"trace\n"),
        exchange(
            ports[1],
            b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"\0",
        ),
        exchange(
            ports[1],
            b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody",
            b"\0",
        ),
    ])
}

#[test]
fn filter_trace_changes_no_traffic() {
    let Some(theirs) = scenario("trace-haproxy", haproxy) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    let ours = scenario("trace-haproxide", |c| Some(haproxide(c, &[]))).expect("started");
    assert_eq!(
        ours[0],
        String::from_utf8_lossy(b"raw bytes\x00\xff through trace\n")
    );
    assert!(ours[1].ends_with("traced body"), "{ours:?}");
    assert_eq!(ours, theirs, "haproxide vs HAProxy 2.6.12");
}
