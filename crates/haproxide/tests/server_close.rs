//! How a server connection the proxy does not keep is closed, against HAProxy
//! 2.6.12: once its exchange is over (request sent, response read whole), HAProxy
//! closes it with a reset (SO_LINGER 0, `SC_FL_NOLINGER`), so that no TIME_WAIT
//! socket stays on the proxy's side for each server connection (with one request
//! per client connection, connect(2) would otherwise search past tens of
//! thousands of them: docs/performance.md). A client's `Connection: close`
//! leaves the server connection to the pool (it stays open). The origin here
//! answers with keep-alive and then reports how its connection ended: a reset, a FIN, or
//! still open.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

mod common;
use common::{either, free_port, wait_listening, TempDir};

/// An origin that answers each request with a keep-alive 200, then waits (at
/// most 3 s) for the connection's end and sends what it saw.
fn origin() -> (u16, mpsc::Receiver<&'static str>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind origin");
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { break };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
                let mut buf = Vec::new();
                let mut b = [0u8; 1];
                while !buf.ends_with(b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(1) => buf.push(b[0]),
                        _ => return,
                    }
                }
                if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .is_err()
                {
                    return;
                }
                let mut rest = [0u8; 64];
                let end = match s.read(&mut rest) {
                    Ok(0) => "fin",
                    Ok(_) => "more bytes",
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => "reset",
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        "still open"
                    }
                    Err(_) => "error",
                };
                let _ = tx.send(end);
            });
        }
    });
    (port, rx)
}

/// One request through the proxy on `port` (with `Connection: close` when
/// `close`); the response must arrive whole.
fn request(port: u16, close: bool) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect to the proxy");
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let hdr = if close { "Connection: close\r\n" } else { "" };
    c.write_all(format!("GET /x HTTP/1.1\r\nHost: t\r\n{hdr}\r\n").as_bytes())
        .expect("send");
    let mut got = Vec::new();
    let mut b = [0u8; 256];
    while !got.ends_with(b"ok") {
        match c.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&b[..n]),
        }
    }
    assert!(
        got.starts_with(b"HTTP/1.1 200") && got.ends_with(b"ok"),
        "response: {:?}",
        String::from_utf8_lossy(&got)
    );
}

/// How the origin's connection ended, for each case, through one proxy.
fn ends(tag: &str) -> Option<Vec<String>> {
    let cases: [(&str, &str, bool); 4] = [
        // The client closes after its request: the server connection goes
        // to the pool all the same.
        ("keep-alive mode, client sends close", "", true),
        ("http-server-close", "    option http-server-close\n", false),
        ("httpclose", "    option httpclose\n", false),
        // `pool-max-conn 0`: the pool keeps no idle connection.
        ("pool keeps none", "", false),
    ];
    let mut out = Vec::new();
    for (name, option, close) in cases {
        let (oport, rx) = origin();
        let port = free_port();
        let d = TempDir::new("srvclose");
        let pool = if name == "pool keeps none" {
            " pool-max-conn 0"
        } else {
            ""
        };
        let cfg = d.path("p.cfg");
        let text = format!(
                "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 2s\n    \
                 timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:{port}\n\
                 {option}    default_backend be\nbackend be\n    server o 127.0.0.1:{oport}{pool}\n"
        );
        std::fs::write(&cfg, text).expect("write the configuration");
        let _p = either(tag, &cfg)?;
        assert!(wait_listening(port), "{tag}: not listening");
        request(port, close);
        let end = rx
            .recv_timeout(Duration::from_secs(6))
            .unwrap_or("no connection");
        out.push(format!("{name}: {end}"));
    }
    Some(out)
}

#[test]
fn a_server_connection_not_kept_is_reset_as_haproxy_does() {
    let ours = ends("ours").expect("haproxide runs");
    assert_eq!(
        ours,
        vec![
            "keep-alive mode, client sends close: still open",
            "http-server-close: reset",
            "httpclose: reset",
            "pool keeps none: reset",
        ],
        "haproxide"
    );
    if let Some(theirs) = ends("theirs") {
        assert_eq!(ours, theirs, "haproxide vs HAProxy 2.6.12");
    }
}
