//! The peers protocol (configuration.txt §3.5 "peers") with HAProxy 2.6.12 as
//! the remote peer, and against hostile peers: entries stored on either side
//! reach the other (`show table` on both), and a peer that sends garbage, a
//! wrong name, an oversized or malformed message, or nothing at all is
//! answered as HAProxy does (status code or error message) and cut, while
//! the proxy keeps serving.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::stick::{named_origin, served_by};
use common::{free_port, wait_for, TempDir};

struct Ports {
    http_a: u16,
    http_b: u16,
    peer_a: u16,
    peer_b: u16,
    srv: u16,
}

/// Peer `me` of a section with peers A and B; `a_first`: A's line first.
fn config(dir: &Path, me: &str, p: &Ports) -> std::path::PathBuf {
    let cfg = dir.join(format!("{me}.cfg"));
    let d = dir.display();
    let http = if me == "A" { p.http_a } else { p.http_b };
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {d}/{me}.sock level admin\n    localpeer {me}\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             peers mypeers\n    peer A 127.0.0.1:{}\n    peer B 127.0.0.1:{}\n\
             \x20   table t type string len 16 size 100 expire 1m srvkey addr\n\
             backend be1\n\
             \x20   stick-table type string len 32 size 10 expire 1m peers mypeers store gpc0,http_req_rate(10s)\n\
             \x20   stick on url_param(client)\n\
             \x20   stick on url_param(client) table mypeers/t\n\
             \x20   server srv1 127.0.0.1:{}\n\
             frontend fe\n    bind 127.0.0.1:{http}\n    default_backend be1\n",
            p.peer_a, p.peer_b, p.srv
        ),
    )
    .expect("write config");
    cfg
}

fn start_haproxy(cfg: &Path) -> Option<common::Proc> {
    common::haproxy(cfg)
}

#[test]
fn haproxy_2_6_12_and_haproxide_share_tables_both_ways() {
    let dir = TempDir::new("peers-interop");
    let p = Ports {
        http_a: free_port(),
        http_b: free_port(),
        peer_a: free_port(),
        peer_b: free_port(),
        srv: named_origin("s1"),
    };
    let Some(_a) = start_haproxy(&config(dir.dir(), "A", &p)) else {
        eprintln!("skipped: no haproxy");
        return;
    };
    let _b = common::haproxide(&config(dir.dir(), "B", &p), &[]);
    let (sa, sb) = (dir.dir().join("A.sock"), dir.dir().join("B.sock"));
    wait_for(&sa, "show table", |a| a.contains("# table: be1"));
    wait_for(&sb, "show table", |a| a.contains("# table: be1"));
    assert_eq!(served_by(p.http_a, "/?client=via-haproxy", ""), "s1");
    assert_eq!(served_by(p.http_b, "/?client=via-haproxide", ""), "s1");
    let key = format!("server_key=127.0.0.1:{}", p.srv);
    for sock in [&sa, &sb] {
        for (table, skey) in [("mypeers/t", key.as_str()), ("be1", "server_key=srv1")] {
            let cmd = format!("show table {table}");
            let a = wait_for(sock, &cmd, |a| {
                a.contains("key=via-haproxy ") && a.contains("key=via-haproxide ")
            });
            assert!(a.contains(skey) && a.contains("server_id=1"), "{a}");
            if table == "be1" {
                assert!(a.contains("gpc0=0 http_req_rate(10000)="), "{a}");
            }
        }
    }
}

/// A hello to `port`: the status line answered (or what came before EOF).
fn hello(port: u16, lines: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(8)));
    let _ = s.write_all(lines.as_bytes());
    let mut out = Vec::new();
    let mut b = [0u8; 64];
    while !out.contains(&b'\n') {
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&b[..n]),
        }
    }
    String::from_utf8_lossy(&out).trim().to_string()
}

/// A session as peer A: after the status, sends `msg` and returns what came
/// back until EOF (or 8 s).
fn session(port: u16, msg: &[u8]) -> Vec<u8> {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return Vec::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(8)));
    let _ = s.write_all(b"HAProxyS 2.1\nB\nA 1 1\n");
    let _ = s.write_all(msg);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn hostile_peers_are_answered_and_cut_and_the_proxy_serves() {
    let dir = TempDir::new("peers-hostile");
    let p = Ports {
        http_a: free_port(),
        http_b: free_port(),
        // Nobody listens for A: only our listener matters here.
        peer_a: free_port(),
        peer_b: free_port(),
        srv: named_origin("s1"),
    };
    let _b = common::haproxide(&config(dir.dir(), "B", &p), &[]);
    let sb = dir.dir().join("B.sock");
    wait_for(&sb, "show table", |a| a.contains("# table: be1"));
    let port = p.peer_b;
    // Status codes as HAProxy 2.6: protocol, version, host, peer.
    assert_eq!(hello(port, "GET / HTTP/1.1\r\n\r\n"), "501");
    assert_eq!(hello(port, "HAProxyS 3.0\nB\nA 1 1\n"), "502");
    assert_eq!(hello(port, "HAProxyS 2.1\nX\nA 1 1\n"), "503");
    assert_eq!(hello(port, "HAProxyS 2.1\nB\nZ 1 1\n"), "504");
    // Slowloris: no hello, cut within the 5 s deadline.
    let t = Instant::now();
    let mut idle: Vec<TcpStream> = (0..40)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    // A witness is served meanwhile.
    assert_eq!(served_by(p.http_b, "/?client=w", ""), "s1");
    if let Some(s) = idle.first_mut() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(9)));
        let mut b = [0u8; 8];
        let n = s.read(&mut b).unwrap_or(0);
        assert_eq!(n, 0, "a silent peer is cut, not answered");
        assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    }
    drop(idle);
    // An oversized message: SIZELIMIT error (class 1, type 1), then EOF.
    let out = session(port, b"\x0a\x80\xff\xff\xff\x7f");
    assert!(out.starts_with(b"200\n"), "{out:?}");
    assert!(out.ends_with(&[1, 1]), "{out:?}");
    // An update before any definition: PROTOCOL error (class 1, type 0).
    let out = session(port, b"\x0a\x80\x07\x00\x00\x00\x01\x02ab\x01");
    assert!(out.ends_with(&[1, 0]), "{out:?}");
    // A well-formed definition and update are applied.
    let mut m = b"\x0a\x82\x0b\x01\x02/t\x06\x11\xf1\xf1\xfe\x00\x00".to_vec();
    m.extend_from_slice(b"\x0a\x80\x11\x00\x00\x00\x05\x05peerx\x01\x05\x01\x03s99");
    let _ = std::thread::spawn(move || session(port, &m));
    let a = wait_for(&sb, "show table mypeers/t", |a| a.contains("key=peerx"));
    assert!(a.contains("server_id=1 server_key=s99"), "{a}");
    // Still serving.
    assert_eq!(served_by(p.http_b, "/?client=w2", ""), "s1");
}

/// Accepts on `l` within `within`: the connection and when it came.
fn accept_within(l: &std::net::TcpListener, within: Duration) -> Option<(TcpStream, Instant)> {
    let end = Instant::now() + within;
    let _ = l.set_nonblocking(true);
    while Instant::now() < end {
        if let Ok((s, _)) = l.accept() {
            let _ = s.set_nonblocking(false);
            return Some((s, Instant::now()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Reads and drops what `s` receives until EOF (the peer's messages).
fn drain(mut s: TcpStream) {
    std::thread::spawn(move || {
        let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
        let mut b = [0u8; 1024];
        while matches!(s.read(&mut b), Ok(n) if n > 0) {}
    });
}

/// Peer `B` (`prog`) against a mock peer A: B's session to A is replaced by
/// one A opens (a collision, as when both start at once), then A ends that
/// one. How long B takes to connect to A again once it has no session.
fn reconnect_after_collision(tag: &str, haproxy: bool) -> Option<Duration> {
    let dir = TempDir::new(&format!("peers-collision-{tag}"));
    let mock = std::net::TcpListener::bind("127.0.0.1:0").expect("bind mock peer");
    let p = Ports {
        http_a: free_port(),
        http_b: free_port(),
        peer_a: mock.local_addr().map(|a| a.port()).unwrap_or(0),
        peer_b: free_port(),
        srv: named_origin("s1"),
    };
    let cfg = config(dir.dir(), "B", &p);
    let _b = if haproxy {
        common::haproxy(&cfg)?
    } else {
        common::haproxide(&cfg, &[])
    };
    // B's own session: its hello answered.
    let (mut out1, _) = accept_within(&mock, Duration::from_secs(8)).expect("B connects to A");
    let _ = out1.set_read_timeout(Some(Duration::from_secs(5)));
    let mut hello = Vec::new();
    let mut b = [0u8; 1];
    while hello.iter().filter(|&&c| c == b'\n').count() < 3 {
        match out1.read(&mut b) {
            Ok(1) => hello.push(b[0]),
            _ => break,
        }
    }
    let _ = out1.write_all(b"200\n");
    drain(out1);
    std::thread::sleep(Duration::from_millis(200));
    // A's session to B replaces it (B kills its own).
    assert!(common::wait_listening(p.peer_b));
    let mut in1 = TcpStream::connect(("127.0.0.1", p.peer_b)).expect("connect to B");
    let _ = in1.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = in1.write_all(b"HAProxyS 2.1\nB\nA 1 1\n");
    let mut status = [0u8; 4];
    assert!(
        in1.read_exact(&mut status).is_ok() && &status == b"200\n",
        "{status:?}"
    );
    // Longer than the random collision delay (at most 2.05 s), shorter than
    // the 5 s silence: then A ends it.
    std::thread::sleep(Duration::from_millis(2500));
    drop(in1);
    let ended = Instant::now();
    let again = accept_within(&mock, Duration::from_secs(10));
    Some(again.map_or(Duration::from_secs(10), |(_, at)| at - ended))
}

/// A peer whose sessions were lost to a collision connects again as soon as
/// it has none (HAProxy: at once when its random collision delay is over),
/// not a 5 s heartbeat later: updates made meanwhile would miss the other
/// peer (reg-test stickiness/srvkey-addr failed 3 of 10 runs under load).
#[test]
fn after_a_collision_a_peer_reconnects_when_its_session_ends() {
    let ours = reconnect_after_collision("ours", false).unwrap_or_default();
    let theirs = reconnect_after_collision("theirs", true);
    eprintln!("reconnect after the session ended: haproxide {ours:?}, haproxy {theirs:?}");
    assert!(ours < Duration::from_millis(1500), "haproxide: {ours:?}");
    if let Some(t) = theirs {
        assert!(t < Duration::from_millis(1500), "haproxy 2.6.12: {t:?}");
    }
}

/// Each update a request stores is on its way to the peer before the client
/// has its answer (HAProxy: TCP_NODELAY on its connections), not held back by
/// Nagle's algorithm until the peer acknowledges the previous one (its delayed
/// ACK: 40 ms). reg-test stickiness/srvkey-addr's next request, at the other
/// peer, came first in 3 of 20 runs.
#[test]
fn a_stored_update_reaches_the_peer_before_the_answer() {
    let dir = TempDir::new("peers-nodelay");
    let mock = std::net::TcpListener::bind("127.0.0.1:0").expect("bind mock peer");
    let p = Ports {
        http_a: free_port(),
        http_b: free_port(),
        peer_a: mock.local_addr().map(|a| a.port()).unwrap_or(0),
        peer_b: free_port(),
        srv: named_origin("s1"),
    };
    let _b = common::haproxide(&config(dir.dir(), "B", &p), &[]);
    let (mut peer, _) = accept_within(&mock, Duration::from_secs(8)).expect("B connects to A");
    let _ = peer.set_read_timeout(Some(Duration::from_secs(5)));
    let mut hello = Vec::new();
    let mut b = [0u8; 1];
    while hello.iter().filter(|&&c| c == b'\n').count() < 3 {
        match peer.read(&mut b) {
            Ok(1) => hello.push(b[0]),
            _ => break,
        }
    }
    let _ = peer.write_all(b"200\n");
    assert!(common::wait_listening(p.http_b));
    // The session is up once B sent its first message (a resync request).
    let mut got = vec![0u8; 64];
    let n = peer.read(&mut got).unwrap_or(0);
    assert!(n > 0, "B's session did not start");
    got.truncate(n);
    let _ = peer.set_nonblocking(true);
    let mut late = Vec::new();
    for i in 0..30 {
        let key = format!("nodelay-{i:02}");
        assert_eq!(served_by(p.http_b, &format!("/?client={key}"), ""), "s1");
        // What the peer has now (a few ms of grace, far below 40 ms).
        let end = Instant::now() + Duration::from_millis(5);
        loop {
            let mut buf = [0u8; 4096];
            match peer.read(&mut buf) {
                Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ if Instant::now() < end => std::thread::sleep(Duration::from_millis(1)),
                _ => break,
            }
            if got.windows(key.len()).any(|w| w == key.as_bytes()) {
                break;
            }
        }
        if !got.windows(key.len()).any(|w| w == key.as_bytes()) {
            late.push(key);
        }
    }
    assert!(
        late.is_empty(),
        "updates not sent before the answer: {late:?}"
    );
}
