//! `http-request silent-drop` / `http-response silent-drop` (configuration.txt
//! §4.2; corpus 161, 162): the client gets no byte, neither does a witness
//! request after it fail. Compared with HAProxy 2.6.12 on the same requests.
//! Skipped when /usr/sbin/haproxy is absent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

mod common;
use common::{free_port, haproxide, haproxy, wait_listening, TempDir};

fn config(port: u16, origin: u16) -> String {
    format!(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend fe\n  bind 127.0.0.1:{port}\n\
  http-request silent-drop if {{ path /drop }}\n\
  http-response silent-drop if {{ res.hdr(x-drop) -m found }}\n\
  default_backend app\n\
backend app\n  server s1 127.0.0.1:{origin}\n\
listen origin\n  bind 127.0.0.1:{origin}\n\
  http-request return status 200 content-type text/plain string dropped hdr x-drop 1 if {{ path /resdrop }}\n\
  http-request return status 200 content-type text/plain string fine\n"
    )
}

/// What the client read within 1.5 s: the bytes, or "" (nothing, whether the
/// connection timed out or was reset).
fn get(port: u16, path: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(1500)));
    let _ = s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split("\r\n\r\n").nth(1).unwrap_or(&text).to_string()
}

fn scenario(tag: &str, start: impl Fn(&Path) -> Option<common::Proc>) -> Option<Vec<String>> {
    let dir = TempDir::new(tag);
    let (port, origin) = (free_port(), free_port());
    let cfg = dir.path("p.cfg");
    std::fs::write(&cfg, config(port, origin)).expect("write cfg");
    let _p = start(&cfg)?;
    assert!(
        wait_listening(port) && wait_listening(origin),
        "{tag}: not listening"
    );
    Some(vec![
        get(port, "/drop"),
        get(port, "/resdrop"),
        get(port, "/ok"),
    ])
}

#[test]
fn silent_drop_answers_nothing_as_haproxy() {
    let Some(theirs) = scenario("sdrop-hap", haproxy) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    let ours = scenario("sdrop-hpx", |c| Some(haproxide(c, &[]))).expect("started");
    assert_eq!(theirs, ["", "", "fine"]);
    assert_eq!(ours, theirs);
}
