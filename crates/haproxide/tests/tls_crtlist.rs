//! `show ssl crt-list` and `del ssl crt-list` (management.txt §9.3), side by side
//! with HAProxy 2.6.12: the same commands over the admin socket give the same
//! answers (listing, `-n` line numbers, every refusal: several entries, a wrong
//! line, a bind's default certificate, unknown list or certificate); a deleted
//! line no longer answers its SNI on a `strict-sni` bind; `operator` and `user`
//! sockets get "Permission denied" and change nothing (HAProxy 2.6.12 requires
//! admin for both commands).

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use common::*;

fn certs(d: &TempDir) {
    let dir = d.dir();
    for (name, cn) in [("a", "a.test"), ("b", "b.test")] {
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        let subj = format!("/CN={cn}");
        let san = format!("subjectAltName=DNS:{cn}");
        openssl_req_ec(
            dir,
            &[
                "-x509", "-keyout", &key, "-out", &crt, "-subj", &subj, "-days", "2", "-addext",
                &san,
            ],
        );
        let mut pem = std::fs::read(dir.join(&crt)).unwrap();
        pem.extend(std::fs::read(dir.join(&key)).unwrap());
        std::fs::write(dir.join(format!("{name}.pem")), pem).unwrap();
    }
    let p = |n: &str| dir.join(n).display().to_string();
    let list = format!(
        "{a} a.test\n{b} [ssl-min-ver TLSv1.2  ciphers ECDHE-ECDSA-AES128-GCM-SHA256 verify none] b.test !c.test\n\n{a} x.test\n",
        a = p("a.pem"),
        b = p("b.pem")
    );
    std::fs::write(dir.join("list.txt"), list).unwrap();
}

fn config(d: &TempDir, ports: [u16; 2], echo: u16) -> std::path::PathBuf {
    let dir = d.dir().display();
    let text = format!(
        "{}defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 2s\n\
         frontend fe\n\
         \x20 bind 127.0.0.1:{} ssl crt-list {dir}/list.txt\n\
         \x20 bind 127.0.0.1:{} ssl strict-sni crt-list {dir}/list.txt\n\
         \x20 default_backend be\n\
         backend be\n  server s1 127.0.0.1:{echo}\n",
        cli_sockets(d),
        ports[0],
        ports[1]
    );
    let path = d.path("cl.cfg");
    std::fs::write(&path, text).unwrap();
    path
}

fn cli(sock: &Path, cmd: &str) -> String {
    let Ok(mut c) = UnixStream::connect(sock) else {
        return "<no connection>".into();
    };
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(format!("{cmd}\n").as_bytes()).unwrap();
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}

/// The subject a handshake with SNI `name` gets ("" when refused).
fn subject(port: u16, name: &str) -> String {
    s_client_subject(port, Some(name))
}

/// The commands (socket: command) and their answers, and the subjects seen for
/// SNI b.test on the strict bind before and after its line is deleted.
fn run(d: &TempDir, strict: u16) -> (Vec<(String, String)>, [String; 2]) {
    let p = |n: &str| d.path(n).display().to_string();
    let (list, a, b) = (p("list.txt"), p("a.pem"), p("b.pem"));
    let before = subject(strict, "b.test");
    let cmds = [
        ("user", "show ssl crt-list".to_string()),
        ("oper", format!("show ssl crt-list {list}")),
        ("oper", format!("del ssl crt-list {list} {b}")),
        ("user", format!("del ssl crt-list {list} {b}")),
        ("admin", "show ssl crt-list".to_string()),
        ("admin", format!("show ssl crt-list {list}")),
        ("admin", format!("show ssl crt-list -n {list}")),
        ("admin", "show ssl crt-list -n".to_string()),
        ("admin", format!("show ssl crt-list {list}.nope")),
        ("admin", "del ssl crt-list".to_string()),
        ("admin", format!("del ssl crt-list {list}")),
        ("admin", format!("del ssl crt-list {list}.nope {a}")),
        (
            "admin",
            format!("del ssl crt-list {list} {}", p("nope.pem")),
        ),
        ("admin", format!("del ssl crt-list {list} {a}")),
        ("admin", format!("del ssl crt-list {list} {a}:9")),
        ("admin", format!("del ssl crt-list {list} {a}:1")),
        ("admin", format!("del ssl crt-list {list} {b}")),
        ("admin", format!("show ssl crt-list -n {list}")),
        ("admin", format!("del ssl crt-list {list} {a}:4")),
        ("admin", format!("show ssl crt-list -n {list}")),
        ("admin", format!("show ssl cert {b}")),
    ];
    let mut out = Vec::new();
    for (sock, cmd) in cmds {
        let answer = cli(&d.path(&format!("{sock}.sock")), &cmd);
        // `show ssl cert`: only its status line (the rest is tls_runtime.rs's).
        let answer = match answer.lines().find(|l| l.starts_with("Status:")) {
            Some(s) if cmd.starts_with("show ssl cert") => s.to_string(),
            _ => answer,
        };
        out.push((format!("{sock}: {cmd}"), answer));
    }
    (out, [before, subject(strict, "b.test")])
}

#[test]
fn crt_list_commands_match_haproxy() {
    let d = TempDir::new("tls-crtlist");
    certs(&d);
    let echo = echo_server();
    let ports = [free_port(), free_port()];
    let cfg = config(&d, ports, echo.port);
    let admin = d.path("admin.sock");
    let (mine, my_seen) = {
        let _h = haproxide(&cfg, &[]);
        wait_for(&admin, "show cli level", |a| a.starts_with("admin"));
        run(&d, ports[1])
    };
    let get = |cmd: &str| -> &str {
        mine.iter()
            .find(|(c, _)| c == cmd)
            .map_or("<none>", |(_, a)| a.as_str())
    };
    let list = d.path("list.txt").display().to_string();
    let (a, b) = (
        d.path("a.pem").display().to_string(),
        d.path("b.pem").display().to_string(),
    );
    // On its own: denied below admin, nothing deleted by those attempts.
    for (c, ans) in &mine[..4] {
        assert_eq!(ans, "Permission denied\n\n", "{c}");
    }
    assert_eq!(
        get(&format!("admin: show ssl crt-list -n {list}")),
        format!("# {list}\n{a}:1 a.test\n{b}:2 [verify none ciphers ECDHE-ECDSA-AES128-GCM-SHA256 ssl-min-ver TLSv1.2] b.test !c.test\n{a}:4 x.test\n\n")
    );
    assert!(get(&format!("admin: del ssl crt-list {list} {a}:1"))
        .contains("used as default certificate"));
    assert_eq!(
        get(&format!("admin: del ssl crt-list {list} {b}")),
        format!("Entry '{b}' deleted in crtlist '{list}'!\n\n")
    );
    assert!(my_seen[0].contains("b.test"), "{my_seen:?}");
    assert_eq!(
        my_seen[1], "",
        "the deleted line's SNI is refused on strict-sni"
    );
    // The oracle.
    for s in ["admin.sock", "oper.sock", "user.sock"] {
        std::fs::remove_file(d.path(s)).ok();
    }
    let Some(_h) = haproxy(&cfg) else {
        return;
    };
    wait_for(&admin, "show cli level", |a| a.starts_with("admin"));
    let (theirs, their_seen) = run(&d, ports[1]);
    let differ: Vec<_> = mine
        .iter()
        .zip(&theirs)
        .filter(|((_, x), (_, y))| x != y)
        .map(|((c, x), (_, y))| (c.as_str(), x.as_str(), y.as_str()))
        .collect();
    let shown: String = differ
        .iter()
        .map(|(c, x, y)| format!("== {c}\n-- haproxide:\n{x}-- HAProxy:\n{y}"))
        .collect();
    assert!(differ.is_empty(), "{shown}");
    assert_eq!(my_seen, their_seen);
}
