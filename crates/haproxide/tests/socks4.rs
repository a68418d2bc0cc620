//! Traffic through a server's SOCKS4 proxy (configuration.txt §5.2 `socks4`,
//! `check-via-socks4`; issue 14, corpus 181). An in-process SOCKS4 mock records each
//! CONNECT request, then relays to the destination (or denies, code 0x5B); haproxide
//! and HAProxy 2.6.12 run the same configuration, each with its own mock and
//! origins, and must agree on what the client gets and what the mock and the origins
//! receive. Skipped when /usr/sbin/haproxy is absent.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, haproxide, haproxy, wait_listening, TempDir};

/// A SOCKS4 proxy on 127.0.0.1 (its own thread; stops when dropped). `grant`:
/// reply 0x5A and relay, else reply 0x5B and close. Records every request's
/// first 16 bytes as hex.
struct Socks4Mock {
    port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Socks4Mock {
    fn start(grant: bool) -> Socks4Mock {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind mock");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (st, sn) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => {
                        let sn = sn.clone();
                        std::thread::spawn(move || socks(c, grant, sn));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Socks4Mock {
            port,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for Socks4Mock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn socks(mut c: TcpStream, grant: bool, seen: Arc<Mutex<Vec<String>>>) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = [0u8; 16];
    if c.read_exact(&mut req).is_err() {
        return;
    }
    let hex: String = req.iter().map(|b| format!("{b:02x}")).collect();
    if let Ok(mut v) = seen.lock() {
        v.push(hex);
    }
    if !grant || req[0] != 4 {
        let _ = c.write_all(&[0, 0x5B, 0, 0, 0, 0, 0, 0]);
        return;
    }
    let port = u16::from_be_bytes([req[2], req[3]]);
    let ip = std::net::Ipv4Addr::new(req[4], req[5], req[6], req[7]);
    let Ok(up) = TcpStream::connect((ip, port)) else {
        let _ = c.write_all(&[0, 0x5B, 0, 0, 0, 0, 0, 0]);
        return;
    };
    if c.write_all(&[0, 0x5A, 0, 0, 0, 0, 0, 0]).is_err() {
        return;
    }
    let (Ok(mut c2), Ok(mut up2)) = (c.try_clone(), up.try_clone()) else {
        return;
    };
    let mut up = up;
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up2, &mut c2);
        let _ = c2.shutdown(std::net::Shutdown::Write);
    });
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = std::io::copy(&mut c, &mut up);
    let _ = up.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}

/// An HTTP origin on 127.0.0.1 (own thread): answers `hello` to every request
/// head and records its request line. Stops when dropped.
struct Origin {
    port: u16,
    stop: Arc<AtomicBool>,
    lines: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Origin {
    fn start() -> Origin {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind origin");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (st, ln) = (stop.clone(), lines.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => {
                        let ln = ln.clone();
                        std::thread::spawn(move || answer(c, ln));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Origin {
            port,
            stop,
            lines,
            thread: Some(thread),
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut c: TcpStream, lines: Arc<Mutex<Vec<String>>>) {
    let _ = c.set_nonblocking(false);
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    if let (Some(first), Ok(mut v)) = (head.lines().next(), lines.lock()) {
        v.push(first.to_string());
    }
    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
}

fn config(ports: &[u16], echo: u16, origin: u16, ok: u16, deny: u16) -> String {
    format!(
        "defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
listen tcp\n    mode tcp\n    bind 127.0.0.1:{}\n    server s1 127.0.0.1:{echo} socks4 127.0.0.1:{ok}\n\
listen web\n    mode http\n    bind 127.0.0.1:{}\n    option httpchk GET /health\n\
    server s1 127.0.0.1:{origin} socks4 127.0.0.1:{ok} check-via-socks4 check inter 300\n\
listen denied\n    mode http\n    bind 127.0.0.1:{}\n    retries 1\n\
    server s1 127.0.0.1:{origin} socks4 127.0.0.1:{deny}\n\
listen proxied\n    mode tcp\n    bind 127.0.0.1:{}\n\
    server s1 127.0.0.1:{echo} socks4 127.0.0.1:{ok} send-proxy\n",
        ports[0], ports[1], ports[2], ports[3]
    )
}

/// Sends `req`, reads until what came ends with `until` or the peer closed (5 s at
/// most).
fn exchange(port: u16, req: &[u8], until: &[u8]) -> Vec<u8> {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return b"connect failed".to_vec();
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
    out
}

fn status_and_body(resp: &[u8]) -> String {
    let r = String::from_utf8_lossy(resp);
    let (head, body) = r.split_once("\r\n\r\n").unwrap_or((&r, ""));
    format!("{} | {body}", head.lines().next().unwrap_or(""))
}

/// The observations of one proxy (started by `start` on the written configuration).
fn scenario(tag: &str, start: impl Fn(&Path) -> Option<common::Proc>) -> Option<Vec<String>> {
    let dir = TempDir::new(tag);
    let echo = common::echo_server();
    let origin = Origin::start();
    let ok = Socks4Mock::start(true);
    let deny = Socks4Mock::start(false);
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let cfg = dir.0.join("p.cfg");
    let text = config(&ports, echo.port, origin.port, ok.port, deny.port);
    std::fs::write(&cfg, text).expect("write cfg");
    let _p = start(&cfg)?;
    assert!(
        ports.iter().all(|&p| wait_listening(p)),
        "{tag}: not listening"
    );
    // Let a check go through the proxy.
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && ok.seen().is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = Vec::new();
    let got = exchange(ports[0], b"through socks\n", b"through socks\n");
    out.push(format!("tcp: {}", String::from_utf8_lossy(&got)));
    let req = b"GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    out.push(format!(
        "http: {}",
        status_and_body(&exchange(ports[1], req, b"\0"))
    ));
    out.push(format!(
        "denied: {}",
        status_and_body(&exchange(ports[2], req, b"\0"))
            .split(" |")
            .next()
            .unwrap_or("")
    ));
    // send-proxy with socks4: the echo shows what reached the server after the
    // handshake (the PROXY line, then the data).
    let got = exchange(ports[3], b"after header\n", b"after header\n");
    let text = String::from_utf8_lossy(&got).into_owned();
    out.push(format!(
        "send-proxy: PROXY line at the server: {}, data: {}",
        text.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 "),
        text.ends_with("after header\n")
    ));
    // The CONNECT requests: version 4, command 1, port, 127.0.0.1, "HAProxy\0".
    let want_echo = format!("0401{:04x}7f000001484150726f787900", echo.port);
    let want_origin = format!("0401{:04x}7f000001484150726f787900", origin.port);
    let seen = ok.seen();
    out.push(format!(
        "mock saw traffic to echo: {}, to origin: {}",
        seen.iter().any(|s| s.starts_with(&want_echo)),
        seen.iter().any(|s| s.starts_with(&want_origin)),
    ));
    out.push(format!(
        "deny mock asked: {}",
        deny.seen().iter().all(|s| s.starts_with(&want_origin)) && !deny.seen().is_empty()
    ));
    out.push(format!(
        "origin saw: check {}, page {}",
        origin.lines().iter().any(|r| r.starts_with("GET /health ")),
        origin.lines().iter().any(|r| r.starts_with("GET /page "))
    ));
    Some(out)
}

#[test]
fn socks4_traffic_as_haproxy() {
    let Some(theirs) = scenario("socks4-haproxy", haproxy) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    let ours = scenario("socks4-haproxide", |c| Some(haproxide(c, &[]))).expect("started");
    eprintln!("haproxide: {ours:#?}\nhaproxy:   {theirs:#?}");
    assert_eq!(ours[0], "tcp: through socks\n");
    assert_eq!(ours[1], "http: HTTP/1.1 200 OK | hello");
    assert_eq!(ours, theirs, "haproxide vs HAProxy 2.6.12");
}
