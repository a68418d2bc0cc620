//! The runtime API's ACL and map commands against HAProxy 2.6.12
//! (management.txt §9.3 `show|add|del|clear|get|prepare|commit acl|map`,
//! `set map`): the same commands on both processes give the same answers
//! (entry addresses masked: HAProxy prints pointers), and the requests sent
//! between them get the same statuses, so a change is seen by the next request.
//!
//! Known, listed differences: HAProxy lists two references of its internal
//! `httpclient` proxy (`acl 'var' file 'httpclient' line 0`), haproxide has no
//! such proxy; and user/operator sockets: HAProxy 2.6.12 lets them change
//! ACLs and maps (fixed in HAProxy 3.3/3.4), haproxide answers "Permission
//! denied" and nothing changes (the second test attacks from both).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::{ask, free_port, haproxide, haproxy, wait_for, TempDir};

/// A backend answering 200 "be" to anything, then closing.
fn backend() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut b = [0u8; 4096];
            let _ = s.read(&mut b);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nbe");
        }
    });
    port
}

/// One request: "status x-m-header".
fn get(port: u16, path: &str, ua: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nUser-Agent: {ua}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.split(' ').nth(1).unwrap_or("").to_string();
    let m = text
        .lines()
        .find_map(|l| l.strip_prefix("x-m: "))
        .unwrap_or("-")
        .to_string();
    format!("{status} {m}")
}

fn config(dir: &Path, tag: &str, port: u16, be: u16) -> std::path::PathBuf {
    let cfg = dir.join(format!("{tag}.cfg"));
    let d = dir.display();
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {d}/{tag}-admin.sock level admin\n\
             \x20   stats socket {d}/{tag}-oper.sock level operator\n\
             \x20   stats socket {d}/{tag}-user.sock level user\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             frontend fe\n    bind 127.0.0.1:{port}\n\
             \x20   acl bad req.hdr(user-agent) -i -m sub -f {d}/agents.acl\n\
             \x20   acl p path_beg /x /y\n\
             \x20   acl big req.len gt 3000\n\
             \x20   http-request deny if bad\n\
             \x20   http-request return status 202 if p\n\
             \x20   http-request return status 200 hdr x-m \"%[path,map_str({d}/r.map,none)]\" if {{ path_beg / }}\n\
             \x20   default_backend be\n\
             backend be\n    server s1 127.0.0.1:{be}\n"
        ),
    )
    .expect("write config");
    cfg
}

/// Pointers (`0x…`) and the configuration's name differ between the runs.
fn masked(s: &str, tag: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("file 'httpclient'"))
        .map(|l| {
            l.split(' ')
                .map(|w| if w.starts_with("0x") { "PTR" } else { w })
                .collect::<Vec<_>>()
                .join(" ")
                .replace(&format!("{tag}.cfg"), "CFG")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const COMMANDS: &[&str] = &[
    "show acl",
    "show map",
    "show acl #0",
    "show acl #1",
    "show acl #2",
    "show map #4",
    "get acl #0 curl/8",
    "get acl #2 /x/1",
    "get acl #2 /q",
    "get map #4 /a",
    "get map #4 /zz",
    "add acl #0 evil",
    "REQ /ok evil-agent",
    "del acl #0 evil",
    "REQ /ok evil-agent",
    "add acl #2 /q",
    "REQ /q/1 a",
    "set map #4 /a /changed",
    "REQ /a a",
    "add map #4 /n new",
    "REQ /n a",
    "del map #4 /n",
    "del map #4 /n",
    "REQ /n a",
    "prepare map #4",
    "add map @1 #4 /v one",
    "add map @7 #4 /v seven",
    "show map @1 #4",
    "REQ /v a",
    "commit map @4 #4",
    "commit map @1 #4",
    "show map",
    "show map #4",
    "REQ /v a",
    "REQ /a a",
    "clear map #4",
    "REQ /v a",
    "show map #4",
    "prepare acl #2",
    "clear acl @1 #2",
    "show acl #9",
    "show acl nope",
    "add acl",
    "add map #4 k",
    "add acl #3 k",
    "show acl #3",
    "del acl #2",
    "set map #4",
    "set map #4 nokey v",
    "get map",
    "commit acl #2",
    "commit acl @1",
    "add acl #5 10.0.0.1",
    "add acl #4 foo",
    "show acl #4",
];

fn run(dir: &Path, tag: &str, be: u16) -> Option<Vec<String>> {
    let port = free_port();
    let cfg = config(dir, tag, port, be);
    let _guard = if tag == "theirs" {
        haproxy(&cfg)?
    } else {
        haproxide(&cfg, &[])
    };
    let admin = dir.join(format!("{tag}-admin.sock"));
    wait_for(&admin, "show acl", |a| a.contains("# id"));
    let mut seen = Vec::new();
    for cmd in COMMANDS {
        let answer = match cmd.strip_prefix("REQ ") {
            Some(r) => {
                let (path, ua) = r.split_once(' ').unwrap_or((r, "a"));
                get(port, path, ua)
            }
            None => ask(&admin, cmd).unwrap_or_else(|| "no answer".into()),
        };
        seen.push(format!("{cmd} -> {}", masked(&answer, tag)));
    }
    Some(seen)
}

fn files(dir: &Path) {
    std::fs::write(dir.join("agents.acl"), "# bots\nMozilla\ncurl\n").expect("acl file");
    std::fs::write(dir.join("r.map"), "/a /b\n/c d\n").expect("map file");
}

#[test]
fn acl_and_map_commands_answer_as_haproxy() {
    let dir = TempDir::new("runtime_acl");
    files(dir.dir());
    let be = backend();
    let Some(theirs) = run(dir.dir(), "theirs", be) else {
        eprintln!("skipped: no /usr/sbin/haproxy");
        return;
    };
    let ours = run(dir.dir(), "ours", be).expect("haproxide runs");
    let mut diffs = Vec::new();
    for (t, o) in theirs.iter().zip(&ours) {
        if t != o {
            diffs.push(format!("HAProxy : {t}\nhaproxide: {o}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} differ:\n{}",
        diffs.len(),
        theirs.len(),
        diffs.join("\n")
    );
    eprintln!("{} commands and requests, all identical", theirs.len());
}

/// user and operator sockets cannot read nor change ACLs and maps: every
/// command is denied and the requests that follow see no change.
#[test]
fn user_and_operator_sockets_cannot_touch_acls_or_maps() {
    let dir = TempDir::new("runtime_acl_levels");
    files(dir.dir());
    let be = backend();
    let port = free_port();
    let cfg = config(dir.dir(), "ours", port, be);
    let _guard = haproxide(&cfg, &[]);
    let admin = dir.dir().join("ours-admin.sock");
    wait_for(&admin, "show acl", |a| a.contains("# id"));
    let before = (get(port, "/a", "evil"), get(port, "/ok", "curl"));
    for level in ["user", "oper"] {
        let sock = dir.dir().join(format!("ours-{level}.sock"));
        for cmd in [
            "add acl #0 evil",
            "del acl #0 curl",
            "clear acl #0",
            "set map #4 /a /owned",
            "add map #4 /a /owned",
            "clear map #4",
            "prepare map #4",
            "commit map @1 #4",
            "show acl",
            "show map #4",
            "get map #4 /a",
            // Lowering then raising the level does not work either.
            "operator; add acl #0 evil",
            "add map #4 <<\n/a /owned\n",
        ] {
            let a = ask(&sock, cmd).unwrap_or_default();
            assert!(
                a.contains("Permission denied") && !a.contains("New version"),
                "{level}: {cmd} -> {a:?}"
            );
        }
    }
    let after = (get(port, "/a", "evil"), get(port, "/ok", "curl"));
    assert_eq!(before, after);
    assert_eq!(after.0, "200 /b");
    assert_eq!(after.1, "403 -");
    // The admin socket can.
    assert_eq!(ask(&admin, "set map #4 /a /c").as_deref(), Some("\n"));
    assert_eq!(get(port, "/a", "x"), "200 /c");
}
