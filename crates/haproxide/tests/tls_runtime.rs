//! Certificates at run time (management.txt §9.3), side by side with HAProxy
//! 2.6.12: the same sequence of `show/new/set/commit/abort ssl cert` commands over
//! the admin socket gives the same answers (serials, dates and fingerprints come
//! from the real certificates made here with `openssl`); after `commit` new
//! handshakes get the new certificate while a connection opened before keeps
//! working; `user`/`operator` sockets cannot change anything (HAProxy requires
//! admin). A reload picks up a PEM file changed on disk.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;

/// site.pem (RSA, two SAN names), new.pem (ECDSA P-256), chain.pem (a P-384 leaf
/// with IP and e-mail SANs, its CA, its key), bad.pem (a certificate with
/// another certificate's key), only.crt (a certificate without key), key.pem.
fn certs(d: &TempDir) {
    let dir = d.dir();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "site.key",
            "-out",
            "site.crt",
            "-days",
            "30",
            "-subj",
            "/C=FR/O=Test/CN=www.test1.com",
            "-addext",
            "subjectAltName=DNS:www.test1.com,DNS:alt.test1.com",
        ],
    );
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "new.key",
        "-out",
        "new.crt",
        "-days",
        "3",
        "-subj",
        "/CN=new.example",
    ]);
    openssl(dir, &a);
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "5",
        "-subj",
        "/O=TestCA/CN=Test Root",
    ]);
    openssl(dir, &a);
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=leaf.example",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:leaf.example,IP:127.0.0.1,email:a@b.c\n",
    )
    .unwrap();
    sign_csr(
        dir,
        ["ca.crt", "ca.key"],
        "leaf.csr",
        "ext.cnf",
        "4",
        "leaf.crt",
    );
    let cat = |out: &str, parts: &[&str]| {
        let mut s = Vec::new();
        for p in parts {
            s.extend(std::fs::read(dir.join(p)).unwrap());
        }
        std::fs::write(dir.join(out), s).unwrap();
    };
    cat("site.pem", &["site.crt", "site.key"]);
    cat("new.pem", &["new.crt", "new.key"]);
    cat("chain.pem", &["leaf.crt", "ca.crt", "leaf.key"]);
    cat("bad.pem", &["site.crt", "new.key"]);
    cat("only.crt", &["site.crt"]);
}

fn config(d: &TempDir, port: u16, echo: u16) -> std::path::PathBuf {
    tls_cli_config(d, port, echo, "site.pem", "rt.cfg")
}

/// One command on a new connection, with a payload (`<<` ... empty line) when
/// given; the whole answer.
fn cli(sock: &Path, cmd: &str, payload: Option<&str>) -> String {
    let Ok(mut c) = UnixStream::connect(sock) else {
        return "<no connection>".into();
    };
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let msg = match payload {
        Some(p) => format!("{cmd} <<\n{}\n\n", p.trim_end()),
        None => format!("{cmd}\n"),
    };
    c.write_all(msg.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}

/// The subject of the certificate a new handshake gets.
fn subject(port: u16) -> String {
    s_client_subject(port, None)
}

/// An `openssl s_client` session kept open: lines written, echoed lines read.
struct Held {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Held {
    fn open(port: u16) -> Held {
        let mut child = Command::new("timeout")
            .args(["30", "openssl", "s_client", "-quiet", "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("s_client");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Held { child, lines }
    }

    /// Sends a line and waits (5 s) for its echo.
    fn echoes(&mut self, line: &str) -> bool {
        let Some(i) = self.child.stdin.as_mut() else {
            return false;
        };
        if i.write_all(format!("{line}\n").as_bytes()).is_err() || i.flush().is_err() {
            return false;
        }
        let end = std::time::Instant::now() + Duration::from_secs(5);
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l == line => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
        false
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The command sequence, its answers, and what handshakes saw along the way.
fn run_sequence(d: &TempDir, port: u16) -> (Vec<(String, String)>, Vec<String>, bool) {
    let dir = d.dir();
    let f = |n: &str| dir.join(n).display().to_string();
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    let (site, x) = (f("site.pem"), format!("{}/x.pem", dir.display()));
    let (admin, oper, user) = (
        dir.join("admin.sock"),
        dir.join("oper.sock"),
        dir.join("user.sock"),
    );
    let mut answers = Vec::new();
    let mut ask = |sock: &Path, cmd: String, payload: Option<String>| {
        let a = cli(sock, &cmd, payload.as_deref());
        let who = sock.file_stem().unwrap().to_string_lossy().into_owned();
        answers.push((format!("{who}: {cmd}"), a));
    };
    let mut subjects = vec![subject(port)];
    let mut held = Held::open(port);
    let held_before = held.echoes("before");
    // Levels: show needs operator, the rest admin.
    ask(&user, "show ssl cert".into(), None);
    ask(&oper, "show ssl cert".into(), None);
    for sock in [&user, &oper] {
        ask(sock, format!("set ssl cert {site}"), Some(read("new.pem")));
        ask(sock, format!("commit ssl cert {site}"), None);
        ask(sock, format!("abort ssl cert {site}"), None);
        ask(sock, format!("new ssl cert {x}"), None);
    }
    // Nothing changed: the listing has no transaction, the handshake the old
    // certificate.
    ask(&admin, "show ssl cert".into(), None);
    subjects.push(subject(port));
    ask(&admin, format!("show ssl cert {site}"), None);
    ask(
        &admin,
        format!("show ssl cert {dir}/nope.pem", dir = dir.display()),
        None,
    );
    ask(&admin, format!("commit ssl cert {site}"), None);
    ask(&admin, format!("abort ssl cert {site}"), None);
    ask(
        &admin,
        format!("set ssl cert {dir}/nope.pem", dir = dir.display()),
        Some(read("new.pem")),
    );
    ask(
        &admin,
        format!("set ssl cert {site}"),
        Some("garbage".into()),
    );
    ask(&admin, format!("set ssl cert {site}"), None);
    ask(&admin, "new ssl cert".into(), None);
    ask(&admin, format!("new ssl cert {site}"), None);
    ask(&admin, format!("new ssl cert {x}"), None);
    ask(&admin, format!("show ssl cert {x}"), None);
    // A transaction on site.pem.
    ask(
        &admin,
        format!("set ssl cert {site}"),
        Some(read("new.pem")),
    );
    ask(&admin, "show ssl cert".into(), None);
    ask(&admin, format!("show ssl cert *{site}"), None);
    ask(&admin, format!("set ssl cert {x}"), Some(read("new.pem")));
    ask(&admin, format!("commit ssl cert {x}"), None);
    ask(&admin, format!("abort ssl cert {x}"), None);
    subjects.push(subject(port));
    ask(
        &admin,
        format!("set ssl cert {site}"),
        Some(read("chain.pem")),
    );
    ask(&admin, format!("show ssl cert *{site}"), None);
    ask(&admin, format!("commit ssl cert {site}"), None);
    ask(&admin, format!("show ssl cert {site}"), None);
    subjects.push(subject(port));
    let held_after = held.echoes("after");
    // Refused commits keep the transaction; abort drops it.
    ask(
        &admin,
        format!("set ssl cert {site}"),
        Some(read("bad.pem")),
    );
    ask(&admin, format!("commit ssl cert {site}"), None);
    ask(
        &admin,
        format!("set ssl cert {site}"),
        Some(read("only.crt")),
    );
    ask(&admin, format!("commit ssl cert {site}"), None);
    ask(&admin, "show ssl cert".into(), None);
    ask(&admin, format!("abort ssl cert {site}"), None);
    // An empty file filled and committed: no bind uses it.
    ask(&admin, format!("set ssl cert {x}"), Some(read("site.pem")));
    ask(&admin, format!("commit ssl cert {x}"), None);
    ask(&admin, format!("show ssl cert {x}"), None);
    ask(&admin, "show ssl cert".into(), None);
    // `del ssl cert`: only admin, only a file no bind uses.
    ask(&oper, format!("del ssl cert {x}"), None);
    ask(&admin, "del ssl cert".into(), None);
    ask(&admin, format!("del ssl cert {site}"), None);
    ask(
        &admin,
        format!("del ssl cert {dir}/nope.pem", dir = dir.display()),
        None,
    );
    ask(&admin, format!("del ssl cert {x}"), None);
    ask(&admin, format!("del ssl cert {x}"), None);
    ask(&admin, format!("show ssl cert {x}"), None);
    ask(&admin, "show ssl cert".into(), None);
    subjects.push(subject(port));
    (answers, subjects, held_before && held_after)
}

#[test]
fn ssl_cert_commands_match_haproxy() {
    let d = TempDir::new("tls-rt");
    certs(&d);
    let echo = echo_server();
    let port = free_port();
    let cfg = config(&d, port, echo.port);
    let admin = d.path("admin.sock");
    let (mine, my_subjects, my_held) = {
        let _h = haproxide(&cfg, &[]);
        wait_for(&admin, "show cli level", |a| a.starts_with("admin"));
        run_sequence(&d, port)
    };
    let get = |cmd: &str| {
        mine.iter()
            .filter(|(c, _)| c.starts_with(cmd))
            .map(|(_, a)| a.as_str())
            .collect::<Vec<_>>()
    };
    // What it must be on its own (HAProxy's answers, measured).
    assert_eq!(get("user: show ssl cert"), ["Can't allocate memory!\n\n"]);
    assert!(get("user: set")
        .iter()
        .chain(&get("oper: set"))
        .all(|a| *a == "Permission denied\n\n"));
    assert!(get("oper: commit")
        .iter()
        .chain(&get("oper: new"))
        .all(|a| *a == "Permission denied\n\n"));
    assert!(
        get("admin: commit").contains(
            &format!("Committing {}.\nSuccess!\n\n", d.path("site.pem").display()).as_str()
        ),
        "{mine:#?}"
    );
    assert!(my_subjects[0].contains("www.test1.com"), "{my_subjects:?}");
    assert_eq!(my_subjects[0], my_subjects[1]);
    assert_eq!(
        my_subjects[0], my_subjects[2],
        "a transaction changes nothing before commit"
    );
    assert!(my_subjects[3].contains("leaf.example"), "{my_subjects:?}");
    assert_eq!(my_subjects[3], my_subjects[4]);
    assert!(
        my_held,
        "a connection opened before the commit kept working"
    );
    // The oracle: same certificates, same commands.
    std::fs::remove_file(&admin).ok();
    for s in ["oper.sock", "user.sock"] {
        std::fs::remove_file(d.path(s)).ok();
    }
    let Some(_h) = haproxy(&cfg) else {
        return;
    };
    wait_for(&admin, "show cli level", |a| a.starts_with("admin"));
    let (theirs, their_subjects, their_held) = run_sequence(&d, port);
    assert_eq!(mine.len(), theirs.len());
    let differ: Vec<_> = mine
        .iter()
        .zip(&theirs)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((c, a), (_, b))| (c.as_str(), a.as_str(), b.as_str()))
        .collect();
    assert_eq!(differ, known(&d), "(command, haproxide, HAProxy)");
    assert_eq!(my_subjects, their_subjects);
    assert_eq!(my_held, their_held);
}

/// The one intended difference: with a transaction open on site.pem, HAProxy
/// 2.6.12 applies `set ssl cert x.pem <payload>` to the site.pem transaction
/// (x.pem's payload would be committed as site.pem); haproxide refuses it as
/// `commit` and `abort` do.
fn known(d: &TempDir) -> Vec<(&'static str, &'static str, &'static str)> {
    let (site, x) = (d.path("site.pem"), d.path("x.pem"));
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    vec![(
        leak(format!("admin: set ssl cert {}", x.display())),
        leak(format!(
            "The ongoing transaction is about '{}' but you are trying to set '{}'\nCan't update {}!\n\n",
            site.display(),
            x.display(),
            x.display()
        )),
        leak(format!(
            "Transaction updated for certificate {}!\n\n",
            site.display()
        )),
    )]
}

/// A reload (`-sf`: a new process reads the configuration and its files again)
/// serves a PEM file changed on disk.
#[test]
fn reload_picks_up_a_changed_pem_file() {
    let d = TempDir::new("tls-reload");
    certs(&d);
    let echo = echo_server();
    let port = free_port();
    let cfg = config(&d, port, echo.port);
    let old = haproxide(&cfg, &[]);
    assert!(wait_until(Duration::from_secs(10), || subject(port)
        .contains("www.test1.com")));
    std::fs::copy(d.path("new.pem"), d.path("site.pem")).unwrap();
    // The running process keeps what it loaded.
    assert!(subject(port).contains("www.test1.com"));
    let handover = haproxide_process::handover::default_path(old.pid());
    assert!(wait_until(Duration::from_secs(10), || handover.exists()));
    let pid = old.pid().to_string();
    let _new = haproxide(&cfg, &["-sf", &pid]);
    assert!(
        wait_until(Duration::from_secs(10), || subject(port)
            .contains("new.example")),
        "the reloaded process serves the new file"
    );
    drop(old);
}
