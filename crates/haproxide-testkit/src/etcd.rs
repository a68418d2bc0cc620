//! A real etcd (the lab's etcd 3.4, installed by scripts/install-deps) for tests:
//! started on 127.0.0.1 with free ports in a temporary directory, stopped (and the
//! directory removed) when dropped. Keys are written through its v3 JSON gateway
//! with a plain HTTP/1.1 request (no client library: the code under test has its own).
//!
//! [`Etcd::start`] returns `None` when no `etcd` binary is installed (the caller
//! says "skipped" and returns).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc::Proc;
use crate::tcp::free_port;

/// A running etcd (or a stopped one that can be started again on the same data).
pub struct Etcd {
    proc: Option<Proc>,
    dir: PathBuf,
    /// Client port (127.0.0.1).
    pub client_port: u16,
    peer_port: u16,
}

/// Standard base64 (the gateway's encoding of keys and values).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Etcd {
    /// Starts etcd (bounded: 30 s until healthy); `None` if it is not installed.
    pub fn start(tag: &str) -> Option<Etcd> {
        let installed = Command::new("etcd")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "haproxide-etcd-{tag}-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        let mut e = Etcd {
            proc: None,
            dir,
            client_port: free_port(),
            peer_port: free_port(),
        };
        e.resume();
        Some(e)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// Stops it (SIGTERM, then SIGKILL), keeping its data.
    pub fn stop(&mut self) {
        self.proc.take();
    }

    /// Starts it again on the same data and ports; panics if it is not healthy in 30 s.
    pub fn resume(&mut self) {
        if self.proc.is_some() {
            return;
        }
        let c = self.url();
        let p = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("etcd.log"))
            .expect("etcd log file");
        let child = Command::new("etcd")
            .args(["--name", "t", "--data-dir"])
            .arg(self.dir.join("data"))
            .args(["--listen-client-urls", &c, "--advertise-client-urls", &c])
            .args([
                "--listen-peer-urls",
                &p,
                "--initial-advertise-peer-urls",
                &p,
            ])
            .args(["--initial-cluster", &format!("t={p}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn etcd");
        self.proc = Some(Proc::new(child));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self
                .request("GET", "/health", "")
                .is_some_and(|b| b.contains("true"))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(8).collect();
        panic!("etcd did not become healthy within 30 s; its log ends: {tail:#?}");
    }

    /// One HTTP/1.1 request; the body of the answer (None on any failure).
    pub fn request(&self, method: &str, path: &str, body: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.client_port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let (head, rest) = out.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| rest.to_string())
    }

    /// Writes `key` = `value`; the store's revision after it. Panics if etcd refuses.
    pub fn put(&self, key: &str, value: &str) -> i64 {
        let body = format!(
            r#"{{"key":"{}","value":"{}"}}"#,
            base64(key.as_bytes()),
            base64(value.as_bytes())
        );
        let answer = self
            .request("POST", "/v3/kv/put", &body)
            .expect("etcd put answered");
        revision_of(&answer)
    }

    /// Compacts the history up to `revision` (physically).
    pub fn compact(&self, revision: i64) {
        let body = format!(r#"{{"revision":"{revision}","physical":true}}"#);
        self.request("POST", "/v3/kv/compaction", &body)
            .expect("etcd compaction answered");
    }

    /// Deletes `key`; panics if etcd refuses.
    pub fn delete(&self, key: &str) {
        let body = format!(r#"{{"key":"{}"}}"#, base64(key.as_bytes()));
        self.request("POST", "/v3/kv/deleterange", &body)
            .expect("etcd delete answered");
    }
}

/// `header.revision` of a gateway answer (0 if absent).
fn revision_of(answer: &str) -> i64 {
    answer
        .split("\"revision\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.proc.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
