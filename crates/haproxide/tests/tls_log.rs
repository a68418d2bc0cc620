//! The log line of a TLS connection that never became a session (HAProxy's
//! connection-error line, configuration.txt §8.2.6): garbage instead of a
//! ClientHello, a truncated record (a "connection closed"), a half-open handshake cut by `timeout
//! client`, a client that closes at once, a handshake with no common cipher.
//! Each proxy in turn runs the same configuration and gets the same clients;
//! the lines must be equal once the client port and the date are masked.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use haproxide_testkit::syslog::UdpCatcher;

fn cert(d: &TempDir) {
    openssl_req_ec(
        d.dir(),
        &[
            "-x509",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-subj",
            "/CN=a.example",
            "-days",
            "2",
        ],
    );
    let mut pem = std::fs::read(d.path("c.pem")).unwrap();
    pem.extend(std::fs::read(d.path("k.pem")).unwrap());
    std::fs::write(d.path("a.pem"), pem).unwrap();
}

/// The client port and the accept date masked: `127.0.0.1:P [D] fe/1: reason`.
fn mask(line: &str) -> String {
    let Some(i) = line.find("127.0.0.1:") else {
        return line.to_string();
    };
    let rest = &line[i + "127.0.0.1:".len()..];
    let after_date = rest.split_once("] ").map_or("", |x| x.1);
    format!("127.0.0.1:P [D] {}", after_date.trim_end())
}

fn clients(p1: u16, p2: u16) {
    let hold = |port: u16, bytes: &[u8], ms: u64| {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(bytes);
            std::thread::sleep(Duration::from_millis(ms));
        }
    };
    hold(p1, b"garbage\r\n\r\n", 200);
    hold(p2, b"\x16\x03\x01\x00\x05hel", 200);
    // Half-open: nothing sent, cut by `timeout client` (1 s).
    hold(p2, b"", 1500);
    hold(p1, b"", 0);
    let _ = Command::new("timeout")
        .args(["3", "openssl", "s_client", "-connect"])
        .arg(format!("127.0.0.1:{p2}"))
        .args(["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn lines(run: impl FnOnce() -> Proc, log: &UdpCatcher, p1: u16, p2: u16) -> Vec<String> {
    let _p = run();
    assert!(
        wait_until(Duration::from_secs(10), || TcpStream::connect((
            "127.0.0.1",
            p2
        ))
        .is_ok()),
        "not listening"
    );
    // The probe connection above logs a "Connection closed" line: drain it.
    let _ = log.wait_for(Duration::from_secs(3), |l| l.contains("Connection closed"));
    clients(p1, p2);
    let mut out = Vec::new();
    while let Some(l) = log.recv(Duration::from_millis(1500)) {
        out.push(mask(&l));
    }
    out
}

#[test]
fn failed_handshakes_are_logged_as_haproxy() {
    let d = TempDir::new("tls-log");
    cert(&d);
    let log = UdpCatcher::bind();
    let (p1, p2) = (free_port(), free_port());
    let cfg = d.path("t.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n  log 127.0.0.1:{} local0\n\
             defaults\n  mode tcp\n  log global\n  option tcplog\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n\
             frontend fe\n  bind 127.0.0.1:{p1} ssl crt {dir}/a.pem\n  bind 127.0.0.1:{p2} ssl crt {dir}/a.pem name mybind\n  default_backend b\n\
             backend b\n  server s 127.0.0.1:9\n",
            log.port(),
            dir = d.dir().display()
        ),
    )
    .unwrap();
    let mine = lines(|| haproxide(&cfg, &[]), &log, p1, p2);
    let expected = [
        "127.0.0.1:P [D] fe/1: SSL handshake failure",
        "127.0.0.1:P [D] fe/mybind: Connection closed during SSL handshake",
        "127.0.0.1:P [D] fe/mybind: Timeout during SSL handshake",
        "127.0.0.1:P [D] fe/1: Connection closed during SSL handshake",
        "127.0.0.1:P [D] fe/mybind: SSL handshake failure",
    ];
    let mine_tail: Vec<&str> = mine.iter().map(|l| l.as_str()).collect();
    assert_eq!(mine_tail, expected, "haproxide's lines");
    if !std::path::Path::new("/usr/sbin/haproxy").exists() {
        return;
    }
    let theirs = lines(|| haproxy(&cfg).expect("haproxy"), &log, p1, p2);
    assert_eq!(mine, theirs, "haproxide (left) vs HAProxy 2.6.12 (right)");
    // `option dontlognull`: only the failures remain (HAProxy 2.6.12 measured).
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("option tcplog\n", "option tcplog\n  option dontlognull\n"),
    )
    .unwrap();
    let quiet =
        |l: &Vec<String>| l.iter().all(|x| x.ends_with("SSL handshake failure")) && l.len() == 2;
    // No probe line to drain under dontlognull: `lines` waits 3 s for it in vain.
    let mine = lines(|| haproxide(&cfg, &[]), &log, p1, p2);
    assert!(quiet(&mine), "{mine:?}");
    let theirs = lines(|| haproxy(&cfg).expect("haproxy"), &log, p1, p2);
    assert_eq!(
        mine, theirs,
        "dontlognull: haproxide (left) vs HAProxy 2.6.12 (right)"
    );
}
