//! UNIX-socket server addresses (configuration.txt §2.3 `/path`, `unix@path`; issue
//! 14, corpus 141/150/120): TCP and HTTP forwarding to a UNIX stream socket and
//! health checks on it. haproxide and HAProxy 2.6.12 run the same configuration,
//! each with its own origins (in-process UNIX-socket servers of this test); what a
//! client gets, what the origins receive and how checks judge a missing socket must
//! agree. Skipped when /usr/sbin/haproxy is absent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, haproxide, haproxy, wait_listening, TempDir};

/// A UNIX-socket server on its own thread: `http` answers each request head with
/// `hello` (and records its request line), else echoes. Stops when dropped.
struct Origin {
    stop: Arc<AtomicBool>,
    lines: Arc<Mutex<Vec<String>>>,
    path: PathBuf,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Origin {
    fn start(path: &Path, http: bool) -> Origin {
        let l = UnixListener::bind(path).expect("bind unix origin");
        l.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (st, ln) = (stop.clone(), lines.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => {
                        let ln = ln.clone();
                        std::thread::spawn(move || serve(c, http, ln));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Origin {
            stop,
            lines,
            path: path.to_path_buf(),
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
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(mut c: UnixStream, http: bool, lines: Arc<Mutex<Vec<String>>>) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match c.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !http {
            if c.write_all(&chunk[..n]).is_err() {
                return;
            }
            continue;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            if let (Some(first), Ok(mut v)) = (head.lines().next(), lines.lock()) {
                v.push(first.to_string());
            }
            let r =
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";
            if c.write_all(r).is_err() {
                return;
            }
        }
    }
}

fn config(dir: &Path, tcp: u16, http: u16, down: u16) -> String {
    let d = dir.display();
    format!(
        "defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
listen tcp\n    mode tcp\n    bind 127.0.0.1:{tcp}\n    server s1 {d}/echo.sock\n\
listen web\n    mode http\n    bind 127.0.0.1:{http}\n    option httpchk GET /health\n\
    server s1 unix@{d}/http.sock check inter 200\n\
listen down\n    mode http\n    bind 127.0.0.1:{down}\n    option httpchk GET /health\n\
    server s1 {d}/missing.sock check inter 200 fall 1\n    server s2 {d}/http.sock check inter 200\n"
    )
}

fn exchange(port: u16, req: &[u8]) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(req);
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    // TCP echo: read what came back, then close; HTTP: read to the server's close.
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        if out.len() >= req.len() && !req.starts_with(b"GET") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Status line and body of an HTTP answer.
fn summary(resp: &str) -> String {
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((resp, ""));
    let status = head.lines().next().unwrap_or("").to_string();
    format!(
        "{status} | {}",
        if body.contains("hello") { "hello" } else { "" }
    )
}

/// Runs the scenario against one proxy (started by `start` on the written
/// configuration) and returns what was observed.
fn scenario(tag: &str, start: impl Fn(&Path) -> Option<common::Proc>) -> Option<Vec<String>> {
    let dir = TempDir::new(tag);
    let echo = Origin::start(&dir.0.join("echo.sock"), false);
    let web = Origin::start(&dir.0.join("http.sock"), true);
    let ports = [free_port(), free_port(), free_port()];
    let cfg = dir.0.join("p.cfg");
    std::fs::write(&cfg, config(&dir.0, ports[0], ports[1], ports[2])).expect("write cfg");
    let _p = start(&cfg)?;
    assert!(
        ports.iter().all(|&p| wait_listening(p)),
        "{tag}: not listening"
    );
    // Let the checks run (inter 200 ms; `fall 1` on the missing socket).
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end && !web.lines().iter().any(|l| l.contains("/health")) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(600));
    let mut out = vec![
        format!("tcp: {}", exchange(ports[0], b"ping over unix\n")),
        format!(
            "http: {}",
            summary(&exchange(
                ports[1],
                b"GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
            ))
        ),
    ];
    // Round robin over a DOWN server (its socket is missing) and an UP one: only
    // the checks keep every request off the missing socket.
    for i in 0..4 {
        out.push(format!(
            "down {i}: {}",
            summary(&exchange(
                ports[2],
                b"GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
            ))
        ));
    }
    let lines = web.lines();
    out.push(format!(
        "origin saw the page: {}",
        lines.iter().any(|l| l == "GET /page HTTP/1.1")
    ));
    out.push(format!(
        "origin saw checks: {}",
        lines.iter().any(|l| l.starts_with("GET /health HTTP/1."))
    ));
    drop(echo);
    Some(out)
}

#[test]
fn unix_socket_servers_as_haproxy() {
    let Some(theirs) = scenario("unix-srv-haproxy", haproxy) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    let ours =
        scenario("unix-srv-haproxide", |c| Some(haproxide(c, &[]))).expect("haproxide started");
    assert_eq!(
        ours[0], "tcp: ping over unix\n",
        "TCP relayed through the UNIX socket"
    );
    assert!(ours[1].starts_with("http: HTTP/1.1 200"), "{ours:?}");
    for o in &ours[2..6] {
        assert!(o.ends_with("HTTP/1.1 200 OK | hello"), "{ours:?}");
    }
    eprintln!("haproxide: {ours:?}\nhaproxy:   {theirs:?}");
    assert_eq!(ours, theirs, "haproxide vs HAProxy 2.6.12");
}
