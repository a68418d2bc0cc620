//! A real etcd (the lab's etcd 3.4, installed by scripts/install-deps) for tests:
//! started on 127.0.0.1 with free ports in a temporary directory, stopped (and the
//! directory removed) when dropped. Keys are written through its v3 JSON gateway
//! with a plain HTTP/1.1 request (no client library: the code under test has its own).
//!
//! [`Etcd::start`] returns `None` when no `etcd` binary is installed (the caller
//! says "skipped" and returns). [`Etcd::start_tls`] serves https with a
//! certificate the caller made (e.g. [`make_ca`] + [`make_cert`], with the
//! `openssl` command); such an etcd is driven with `etcdctl` ([`Etcd::ctl`]),
//! which is also how users and roles are made and auth enabled.

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
    /// https with this certificate and key, signed by this CA (PEM files).
    tls: Option<(PathBuf, PathBuf, PathBuf)>,
}

/// Runs `openssl` with `args` in `dir`; false if it is missing or fails.
fn openssl(dir: &std::path::Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes a self-signed CA (`<name>.pem`, `<name>.key`, P-256) in `dir`; false if
/// `openssl` is missing or fails.
pub fn make_ca(dir: &std::path::Path, name: &str) -> bool {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    )
}

/// Makes a certificate `<name>.pem`/`<name>.key` for 127.0.0.1 signed by the CA
/// `<ca>` in `dir` (server and client use); false if `openssl` fails.
pub fn make_cert(dir: &std::path::Path, ca: &str, name: &str) -> bool {
    let ext = dir.join(format!("{name}.ext"));
    if std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .is_err()
    {
        return false;
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    ) && openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    )
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
        Self::start_with(tag, None)
    }

    /// Starts etcd serving https with `cert` and `key` signed by `ca` (PEM files);
    /// `None` if etcd or `etcdctl` is not installed. Use [`Etcd::ctl`] to talk to it.
    pub fn start_tls(tag: &str, ca: PathBuf, cert: PathBuf, key: PathBuf) -> Option<Etcd> {
        let ctl = Command::new("etcdctl")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ctl {
            return None;
        }
        Self::start_with(tag, Some((ca, cert, key)))
    }

    fn start_with(tag: &str, tls: Option<(PathBuf, PathBuf, PathBuf)>) -> Option<Etcd> {
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
            tls,
        };
        e.resume();
        Some(e)
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// Runs `etcdctl` (API v3, bounded: 10 s) against this etcd with `args`
    /// (`--cacert` etc. are the caller's); its stdout, or `Err` with its stderr.
    pub fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("timeout")
            .args([
                "10",
                "etcdctl",
                "--endpoints",
                &self.url(),
                "--dial-timeout",
                "3s",
            ])
            .args(args)
            .env("ETCDCTL_API", "3")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
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
            .args(self.tls.iter().flat_map(|(_, c, k)| {
                [
                    "--cert-file".into(),
                    c.clone().into_os_string(),
                    "--key-file".into(),
                    k.clone().into_os_string(),
                ]
            }))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn etcd");
        self.proc = Some(Proc::new(child));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let healthy = match &self.tls {
                None => self
                    .request("GET", "/health", "")
                    .is_some_and(|b| b.contains("true")),
                Some((ca, _, _)) => self
                    .ctl(&["--cacert", &ca.display().to_string(), "endpoint", "health"])
                    .is_ok(),
            };
            if healthy {
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

/// An etcd serving https (a CA made here signs its certificate) with
/// authentication enabled, set up with `etcdctl` as an operator would: user `root`
/// (password `rootpw`), and user `haproxide` (password `s3cret`) with the role
/// `patroni-reader` (read on one key prefix only). Also a second CA (`other-ca.pem`)
/// that signed nothing here. Stopped and removed when dropped.
pub struct Secured {
    pub etcd: Etcd,
    dir: crate::fs::TempDir,
}

impl Secured {
    /// Starts it, readable by `haproxide` under `prefix`, with `prefix + "leader"` =
    /// `leader`. `None` (the caller says "skipped") when openssl, etcd or etcdctl is
    /// missing; panics when etcdctl refuses the setup.
    pub fn start(tag: &str, prefix: &str, leader: &str) -> Option<Secured> {
        let dir = crate::fs::TempDir::new(tag);
        if !make_ca(dir.dir(), "ca")
            || !make_ca(dir.dir(), "other-ca")
            || !make_cert(dir.dir(), "ca", "etcd")
        {
            return None;
        }
        let etcd = Etcd::start_tls(
            tag,
            dir.path("ca.pem"),
            dir.path("etcd.pem"),
            dir.path("etcd.key"),
        )?;
        let sec = Secured { etcd, dir };
        let setup: &[&[&str]] = &[
            &["user", "add", "root:rootpw"],
            &["role", "add", "patroni-reader"],
            &[
                "role",
                "grant-permission",
                "patroni-reader",
                "--prefix=true",
                "read",
                prefix,
            ],
            &["user", "add", "haproxide:s3cret"],
            &["user", "grant-role", "haproxide", "patroni-reader"],
            &["auth", "enable"],
        ];
        for args in setup {
            if let Err(e) = sec.ctl(None, args) {
                panic!("etcdctl {args:?}: {e}");
            }
        }
        sec.ctl(
            Some("root:rootpw"),
            &["put", &format!("{prefix}leader"), leader],
        )
        .expect("put as root");
        Some(sec)
    }

    /// The CA that signed etcd's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.path("ca.pem")
    }

    /// A CA that did not.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.path("other-ca.pem")
    }

    /// etcdctl as `user` (`name:password`; None: no credentials), trusting the CA.
    pub fn ctl(&self, user: Option<&str>, args: &[&str]) -> Result<String, String> {
        let ca = self.ca().display().to_string();
        let mut all = vec!["--cacert", ca.as_str()];
        if let Some(u) = user {
            all.extend(["--user", u]);
        }
        all.extend(args);
        self.etcd.ctl(&all)
    }

    /// etcdctl as root; panics when it fails.
    pub fn root(&self, args: &[&str]) {
        if let Err(e) = self.ctl(Some("root:rootpw"), args) {
            panic!("etcdctl {args:?} as root: {e}");
        }
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
