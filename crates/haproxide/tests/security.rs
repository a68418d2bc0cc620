//! Issue 13, hostile input first: the same attacks sent to HAProxy 2.6.12 (the
//! oracle, /usr/sbin/haproxy) and to haproxide started on the same configuration,
//! and the outcomes compared (rows 2, 3, 6, 7, 8, 9); then the local-user attacks
//! of rows 1, 4, 10 and 11 against haproxide alone. HAProxy's answer is the
//! expected one: each test also asserts the key outcome itself, so that the
//! comparison cannot pass with both programs wrong in the same way.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::{free_port, guard, wait_until, Proc, TempDir};
use haproxide_testkit::tcp::{self, OnThread};

const ORACLE: &str = "/usr/sbin/haproxy";

/// The two programs under comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prog {
    Haproxy,
    Haproxide,
}

impl Prog {
    fn spawn(self, cfg: &Path, extra: &[&str]) -> Proc {
        let mut cmd = match self {
            Prog::Haproxy => {
                assert!(
                    Path::new(ORACLE).exists(),
                    "HAProxy 2.6.12 (the oracle) is not installed: run scripts/install-deps"
                );
                Command::new(ORACLE)
            }
            Prog::Haproxide => Command::new(env!("CARGO_BIN_EXE_haproxide")),
        };
        cmd.args(extra)
            .arg("-f")
            .arg(cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn");
        match self {
            Prog::Haproxy => Proc::new(child),
            Prog::Haproxide => guard(child),
        }
    }
}

/// Runs `probe` against each program started with `-db` on the configuration
/// `cfg(ports)` (fresh ports for each), after `ready(ports)` holds; returns
/// (HAProxy's outcomes, haproxide's).
fn both<T: std::fmt::Debug>(
    tag: &str,
    nports: usize,
    cfg: impl Fn(&Path, &[u16]) -> String,
    ready: impl Fn(&Path, &[u16]) -> bool,
    probe: impl Fn(&Path, &[u16]) -> T,
) -> (T, T) {
    let run = |prog: Prog| {
        let dir = TempDir::new(&format!("sec-{tag}-{prog:?}"));
        let ports: Vec<u16> = (0..nports).map(|_| free_port()).collect();
        let path = dir.path("h.cfg");
        std::fs::write(&path, cfg(dir.dir(), &ports)).expect("write cfg");
        let _p = prog.spawn(&path, &["-db"]);
        assert!(
            wait_until(Duration::from_secs(10), || ready(dir.dir(), &ports)),
            "{prog:?} not ready"
        );
        let out = probe(dir.dir(), &ports);
        eprintln!("{prog:?}: {out:?}");
        out
    };
    (run(Prog::Haproxy), run(Prog::Haproxide))
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Sends `bytes` and reads until EOF or 3 s; None if nothing came back (closed or
/// reset without an answer).
fn exchange(port: u16, bytes: &[u8]) -> Option<Vec<u8>> {
    exchange_until(port, bytes, None)
}

/// [`exchange`], returning as soon as what came back ends with `end`.
fn exchange_until(port: u16, bytes: &[u8], end: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
        if end.is_some_and(|e| out.ends_with(e)) {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The status codes of the HTTP responses in `raw`, in order.
fn statuses(raw: &[u8]) -> Vec<u16> {
    // Lines, whatever ends them: a body may end with a bare LF before the next
    // pipelined response's status line.
    String::from_utf8_lossy(raw)
        .split('\n')
        .filter_map(|l| l.strip_prefix("HTTP/1.1 "))
        .filter_map(|l| l.get(..3)?.parse().ok())
        .collect()
}

/// The (lower-cased) value of a response header.
fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next()?;
    head.split("\r\n").find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// One line to a UNIX stats socket, read to EOF.
fn ask(sock: &Path, cmd: &str) -> Option<String> {
    let mut c = UnixStream::connect(sock).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    c.write_all(format!("{cmd}\n").as_bytes()).ok()?;
    let mut out = String::new();
    c.read_to_string(&mut out).ok()?;
    Some(out)
}

const DEFAULTS: &str = "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n";

/// A stats listen: ports[0] plain, ports[1] `accept-proxy`; `stats admin` only for
/// the (PROXY-announced) client 192.0.2.7.
fn stats_cfg(_: &Path, p: &[u16]) -> String {
    format!(
        "{DEFAULTS}listen stats\n    mode http\n    bind 127.0.0.1:{}\n    bind 127.0.0.1:{} accept-proxy\n\
         \x20   stats enable\n    stats uri /\n    stats admin if {{ src 192.0.2.7 }}\n\
         listen app\n    bind 127.0.0.1:{}\n    server s1 127.0.0.1:{}\n",
        p[0], p[1], p[2], p[3]
    )
}

/// Rows 2 and 8: the stats page's redirect and request parser, hostile first.
#[test]
fn stats_page_requests_same_as_haproxy() {
    let posts = [
        "/?scope=%0d%0aSet-Cookie:%20pwn=1",
        "/?scope=%0d%0a%0d%0a<html>",
        "/?scope=p%41g",
        "/?scope=app",
        "/;up?scope=abcdefghijklmnopqrstuvwxyz",
    ];
    let raws: [&[u8]; 8] = [
        b"POST / HTTP/1.1\r\nContent-Length: +5\r\nConnection: close\r\n\r\nhello",
        b"GET /\x00x HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -5\r\nConnection: close\r\n\r\nhello",
        b"GET /\x7f HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /\xc3\xa9 HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nX : a\r\nConnection: close\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nConnection: close\r\n\r\nhello",
    ];
    let (theirs, ours) = both(
        "stats",
        4,
        stats_cfg,
        |_, p| listening(p[0]),
        |_, p| {
            let mut out = Vec::new();
            for t in posts {
                let r = exchange(
                    p[0],
                    format!("POST {t} HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap_or_default();
                out.push(format!(
                    "{t} -> {:?} location={:?} set-cookie={:?}",
                    statuses(&r),
                    header(&r, "location"),
                    header(&r, "set-cookie")
                ));
            }
            for raw in raws {
                let r = exchange(p[0], raw).unwrap_or_default();
                out.push(format!(
                    "{:?} -> {:?}",
                    String::from_utf8_lossy(raw),
                    statuses(&r)
                ));
            }
            out
        },
    );
    assert_eq!(
        ours[0],
        "/?scope=%0d%0aSet-Cookie:%20pwn=1 -> [303] location=Some(\"/;st=DENY\") set-cookie=None"
    );
    assert!(
        ours[posts.len()].ends_with("[400]"),
        "{}",
        ours[posts.len()]
    );
    assert!(ours[posts.len() + 2].ends_with("[200, 200]"));
    assert_eq!(theirs, ours);
}

/// Row 6: `accept-proxy` on a stats bind: no header, no answer; with one, the
/// page's access rules see the header's source (admin only for 192.0.2.7).
#[test]
fn stats_accept_proxy_same_as_haproxy() {
    let post = "POST / HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let (theirs, ours) = both(
        "stats-pp",
        4,
        stats_cfg,
        |_, p| listening(p[0]) && listening(p[1]),
        |_, p| {
            let get = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
            let mut out = Vec::new();
            let r = exchange(p[1], get.as_bytes());
            out.push(format!("no header: {:?}", r.map(|r| statuses(&r))));
            for src in ["192.0.2.7", "192.0.2.8"] {
                let h = format!("PROXY TCP4 {src} 127.0.0.1 1000 {}\r\n", p[1]);
                let r = exchange(p[1], format!("{h}{get}").as_bytes()).unwrap_or_default();
                out.push(format!("GET via {src}: {:?}", statuses(&r)));
                let r = exchange(p[1], format!("{h}{post}").as_bytes()).unwrap_or_default();
                out.push(format!(
                    "POST via {src}: {:?} {:?}",
                    statuses(&r),
                    header(&r, "location")
                ));
            }
            // The plain bind: 127.0.0.1 is not admin either.
            let r = exchange(p[0], post.as_bytes()).unwrap_or_default();
            out.push(format!("POST direct: {:?}", header(&r, "location")));
            out
        },
    );
    assert_eq!(ours[0], "no header: None");
    assert_eq!(ours[1], "GET via 192.0.2.7: [200]");
    assert!(!ours[2].contains("DENY"), "{}", ours[2]);
    assert!(ours[4].contains("DENY"), "{}", ours[4]);
    assert_eq!(theirs, ours);
}

/// Row 7: PROXY headers on a TCP `accept-proxy` bind, hostile first. "taken" when
/// the server's greeting came through, "refused" when the connection closed
/// without it. (HAProxy 2.6.12 also takes two headers haproxide refuses on
/// purpose, left out here: ports above 65535, which it wraps, and abbreviated
/// IPv4 addresses such as `1.2.3`, which it reads as inet_aton would.)
#[test]
fn proxy_protocol_same_as_haproxy() {
    let sig = b"\r\n\r\n\x00\r\nQUIT\n";
    let v2 = |cmd: u8, fam: u8, body: &[u8]| {
        let mut h = sig.to_vec();
        h.push(0x20 | cmd);
        h.push(fam);
        h.extend_from_slice(&(body.len() as u16).to_be_bytes());
        h.extend_from_slice(body);
        h
    };
    let a4: &[u8] = &[127, 0, 0, 1, 127, 0, 0, 2, 0x03, 0xe8, 0x07, 0xd0];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "v1 TCP6 with a v4 address",
            b"PROXY TCP6 ::1 1.2.3.4 1000 80\r\n".to_vec(),
        ),
        (
            "v1 TCP4 with a v6 address",
            b"PROXY TCP4 1.2.3.4 ::1 1000 80\r\n".to_vec(),
        ),
        (
            "v1 port +80",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +80 80\r\n".to_vec(),
        ),
        ("v2 UDP4 on a stream bind", v2(1, 0x12, a4)),
        (
            "v2 TLV past the length",
            v2(1, 0x11, &[a4, b"\x04\x00\x10abc"].concat()),
        ),
        (
            "v2 TLV header cut",
            v2(1, 0x11, &[a4, b"\x04\x00"].concat()),
        ),
        ("v2 UNSPEC", v2(1, 0x00, b"")),
        ("v2 UNIX stream", v2(1, 0x31, &[0; 216])),
        ("v2 TCP4 short", v2(1, 0x11, &a4[..8])),
        ("v2 command 2", v2(2, 0x11, a4)),
        (
            "v1 UNKNOWN with words",
            b"PROXY UNKNOWN ff 1 2 3\r\n".to_vec(),
        ),
        (
            "v1 bare LF",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\n".to_vec(),
        ),
        (
            "v1 double space",
            b"PROXY TCP4 1.2.3.4  5.6.7.8 1000 80\r\n".to_vec(),
        ),
        (
            "v1 TCP4",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\n".to_vec(),
        ),
        ("v1 TCP6", b"PROXY TCP6 ::1 ::2 1000 80\r\n".to_vec()),
        (
            "v1 TCP6 mapped",
            b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1000 80\r\n".to_vec(),
        ),
        ("v1 UNKNOWN", b"PROXY UNKNOWN\r\n".to_vec()),
        (
            "v1 leading zero port",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01000 80\r\n".to_vec(),
        ),
        ("v2 TCP4", v2(1, 0x11, a4)),
        (
            "v2 TCP4 + TLV",
            v2(1, 0x11, &[a4, b"\x04\x00\x03abc"].concat()),
        ),
        ("v2 LOCAL", v2(0, 0x00, b"")),
        ("v2 LOCAL UDP", v2(0, 0x12, a4)),
    ];
    let server = OnThread::start(|| tcp::named("hello\n"));
    let sport = server.port;
    let (theirs, ours) = both(
        "pp",
        1,
        |_, p| {
            format!(
                "{DEFAULTS}listen l\n    bind 127.0.0.1:{} accept-proxy\n    server s 127.0.0.1:{sport}\n",
                p[0]
            )
        },
        |_, p| listening(p[0]),
        |_, p| {
            cases
                .iter()
                .map(|(what, h)| {
                    let taken = exchange_until(p[0], h, Some(b"hello\n"))
                        .is_some_and(|r| r.starts_with(b"hello"));
                    format!("{what}: {}", if taken { "taken" } else { "refused" })
                })
                .collect::<Vec<_>>()
        },
    );
    for (i, (what, _)) in cases.iter().enumerate() {
        let want = if i < 13 { "refused" } else { "taken" };
        assert_eq!(ours[i], format!("{what}: {want}"));
    }
    assert_eq!(theirs, ours);
}

/// Row 9: `set weight B/S N%` with a percentage that overflows any product.
#[test]
fn set_weight_overflow_same_as_haproxy() {
    let server = OnThread::start(|| tcp::named("hello\n"));
    let sport = server.port;
    let cmds = [
        "set weight app/s1 9223372036854775807%",
        "get weight app/s1",
        "set weight app/s1 99999999999999999999999%",
        "get weight app/s1",
        "set weight app/s1 -9223372036854775808%",
        "set weight app/s1 300x",
        "set weight app/s1 +50%",
        "get weight app/s1",
    ];
    let (theirs, ours) = both(
        "weight",
        1,
        |d, p| {
            format!(
                "global\n    stats socket {} level admin\n{DEFAULTS}listen app\n    bind 127.0.0.1:{}\n    server s1 127.0.0.1:{sport} weight 2\n",
                d.join("s.sock").display(),
                p[0]
            )
        },
        |d, _| ask(&d.join("s.sock"), "show cli level").is_some(),
        |d, _| {
            cmds.iter()
                .map(|c| ask(&d.join("s.sock"), c).unwrap_or_default())
                .collect::<Vec<_>>()
        },
    );
    assert_eq!(ours[1], "256 (initial 2)\n\n");
    assert_eq!(theirs, ours);
}

/// Reads what a master CLI answers to `line` until it closes or stays quiet for
/// 1.5 s (HAProxy's master keeps a one-shot connection open a while).
fn ask_master(sock: &Path, line: &str) -> String {
    let Ok(mut c) = UnixStream::connect(sock) else {
        return "<no connection>".into();
    };
    let _ = c.set_read_timeout(Some(Duration::from_millis(1500)));
    let _ = c.write_all(format!("{line}\n").as_bytes());
    let mut out = Vec::new();
    let mut chunk = [0u8; 16384];
    while let Ok(n) = c.read(&mut chunk) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Row 3: `-S path,level,user` bounds the master CLI session and every command it
/// forwards to a worker; raising the level is refused.
#[test]
fn master_cli_levels_same_as_haproxy() {
    let server = OnThread::start(|| tcp::named("hello\n"));
    let sport = server.port;
    let run = |prog: Prog, level: &str| {
        let dir = TempDir::new(&format!("sec-mcli-{prog:?}-{level}"));
        let port = free_port();
        let cfg = dir.path("h.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n    stats socket {} level admin\n{DEFAULTS}listen app\n    bind 127.0.0.1:{port}\n    server s1 127.0.0.1:{sport}\n",
                dir.path("w.sock").display()
            ),
        )
        .expect("cfg");
        let m = dir.path("m.sock");
        let s_arg = format!("{},level,{level}", m.display());
        let _p = prog.spawn(&cfg, &["-W", "-db", "-S", &s_arg]);
        assert!(
            wait_until(Duration::from_secs(10), || {
                ask(&dir.path("w.sock"), "show cli level").is_some()
                    && ask_master(&m, "show proc").contains("worker")
            }),
            "{prog:?} not ready"
        );
        let out = vec![
            ask_master(&m, "show cli level"),
            ask_master(&m, "@1 show cli level"),
            ask_master(&m, "@1 set server app/s1 state maint"),
            ask_master(&m, "@1 set weight app/s1 50%"),
            ask_master(&m, "@1 get weight app/s1"),
            ask_master(&m, "user; show cli level"),
            ask_master(&m, "operator; show cli level"),
            ask_master(&m, "@1 user; @1 show cli level"),
            // The worker's own admin socket: was anything applied?
            ask(&dir.path("w.sock"), "get weight app/s1").unwrap_or_default(),
            ask(&dir.path("w.sock"), "show servers state app")
                .unwrap_or_default()
                .lines()
                .nth(2)
                .map(|l| l.split(' ').nth(6).unwrap_or("").to_string())
                .unwrap_or_default(),
        ];
        eprintln!("{prog:?} level {level}: {out:?}");
        out
    };
    for level in ["user", "operator"] {
        let ours = run(Prog::Haproxide, level);
        let theirs = run(Prog::Haproxy, level);
        assert_eq!(ours[0], format!("{level}\n\n"));
        assert_eq!(ours[2], "Permission denied\n\n");
        assert_eq!(ours[9], "0", "the server's admin state changed");
        assert_eq!(theirs, ours, "level {level}");
    }
}

/// The local attacker: runs `script` with python3 as `nobody` (uid/gid 65534) with
/// `TMPDIR=tmp`; returns its child and the first line it prints.
fn as_nobody(tmp: &Path, script: &str, args: &[String]) -> (Proc, String) {
    let mut child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            script,
        ])
        .args(args)
        .env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("setpriv python3 as nobody");
    let mut line = Vec::new();
    let mut out = child.stdout.take().expect("stdout");
    let mut b = [0u8; 1];
    while let Ok(1) = out.read(&mut b) {
        if b[0] == b'\n' {
            break;
        }
        line.push(b[0]);
    }
    (
        Proc::new(child),
        String::from_utf8_lossy(&line).into_owned(),
    )
}

/// A world-writable sticky directory (like /tmp) to serve as TMPDIR, so that the
/// attacker can create whatever it likes there.
fn shared_tmp(tag: &str) -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = TempDir::new(tag);
    std::fs::set_permissions(d.dir(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    d
}

/// The attacker of row 1: listens on its own port, and serves that listener at
/// every handover path it can create for its own pid (old flat name, new private
/// directory), labelled as the victim's configured address.
const FAKE_HANDOVER: &str = r#"
import os, socket, sys, threading
label = sys.argv[1].encode()
tmp = os.environ["TMPDIR"]
lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen(16)
paths = [os.path.join(tmp, "haproxide-%d.listeners.sock" % os.getpid())]
d = os.path.join(tmp, "haproxide-%d.handover" % os.getpid())
os.mkdir(d, 0o700)
paths.append(os.path.join(d, "listeners.sock"))
def serve(path):
    srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(4)
    while True:
        c, _ = srv.accept()
        socket.send_fds(c, [label + b"\n"], [lst.fileno()])
        c.sendall(b"\n"); c.close()
for p in paths:
    threading.Thread(target=serve, args=(p,), daemon=True).start()
print("ready", os.getpid(), lst.getsockname()[1], flush=True)
threading.Event().wait(60)
"#;

/// Row 1: a fake handover socket made by a local user is never adopted, and `-sf`
/// of a pid that is not a haproxide binds its own listeners.
#[test]
fn listener_takeover_by_a_local_user_is_refused() {
    let tmp = shared_tmp("sec-takeover");
    let server = OnThread::start(|| tcp::named("hello\n"));
    let port = free_port();
    let (_attacker, ready) = as_nobody(tmp.dir(), FAKE_HANDOVER, &[format!("127.0.0.1:{port}")]);
    let words: Vec<&str> = ready.split(' ').collect();
    assert_eq!(words.first(), Some(&"ready"), "attacker: {ready}");
    let (apid, aport) = (words[1], words[2]);
    let cfg = tmp.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "{DEFAULTS}listen app\n    bind 127.0.0.1:{port}\n    server s1 127.0.0.1:{}\n",
            server.port
        ),
    )
    .expect("cfg");
    let log = tmp.path("stderr.log");
    let p = guard(
        Command::new(env!("CARGO_BIN_EXE_haproxide"))
            .args(["-db", "-V", "-f"])
            .arg(&cfg)
            .args(["-sf", apid])
            .env("TMPDIR", tmp.dir())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("spawn"),
    );
    // The configured port is served by haproxide's own listener: the greeting of
    // the configured server comes back.
    let served = || exchange_until(port, b"", Some(b"hello\n")).is_some_and(|r| r == b"hello\n");
    assert!(
        wait_until(Duration::from_secs(10), served),
        "configured port not served"
    );
    // The attacker's port was not adopted: nothing proxies from it.
    let aport: u16 = aport.parse().expect("port");
    let stolen = exchange_until(aport, b"", Some(b"hello\n"));
    assert!(
        stolen.is_none(),
        "the attacker's listener was served: {stolen:?}"
    );
    let err = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!err.contains("took over"), "{err}");
    assert!(err.contains("cannot take over listeners"), "{err}");
    drop(p);
}

/// Row 4: the master's private directory is never one a local user made first:
/// `nobody` pre-creates `haproxide-master-<pid>` for the next pids; the master
/// uses a fresh root-owned 0700 directory and nothing lands in the attacker's.
#[test]
fn master_directory_is_never_a_local_users() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let tmp = shared_tmp("sec-mdir");
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    let script = r#"
import os, sys
tmp = os.environ["TMPDIR"]; first = int(sys.argv[1])
for pid in range(first, first + 400):
    d = os.path.join(tmp, "haproxide-master-%d" % pid)
    os.mkdir(d); os.chmod(d, 0o777)
print("ready", flush=True)
"#;
    let (_a, ready) = as_nobody(tmp.dir(), script, &[(last + 1).to_string()]);
    assert_eq!(ready, "ready");
    let cfg = tmp.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "{DEFAULTS}listen app\n    bind 127.0.0.1:{}\n    server s1 127.0.0.1:1\n",
            free_port()
        ),
    )
    .expect("cfg");
    let m = tmp.path("m.sock");
    let _p = guard(
        Command::new(env!("CARGO_BIN_EXE_haproxide"))
            .args(["-W", "-db", "-f"])
            .arg(&cfg)
            .arg("-S")
            .arg(&m)
            .env("TMPDIR", tmp.dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    assert!(
        wait_until(Duration::from_secs(10), || ask_master(
            &m,
            "@1 show cli level"
        ) == "admin\n\n"),
        "the master does not reach its worker"
    );
    let mut ours = Vec::new();
    for e in std::fs::read_dir(tmp.dir()).expect("ls").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("haproxide-master-") {
            continue;
        }
        let md = std::fs::symlink_metadata(e.path()).expect("stat");
        let entries = std::fs::read_dir(e.path()).map(|d| d.count()).unwrap_or(0);
        if md.uid() == 65534 {
            assert_eq!(entries, 0, "the master used the attacker's {name}");
        } else {
            assert_eq!(md.uid(), 0);
            assert_eq!(md.permissions().mode() & 0o7777, 0o700, "{name}");
            assert!(entries > 0, "{name} holds the worker's socket");
            ours.push(name);
        }
    }
    assert_eq!(ours.len(), 1, "{ours:?}");
}

/// Peak resident memory (VmHWM) of a process, in KiB.
fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Round trips (connect, greeting) to `port` for `d`, in microseconds, sorted.
fn round_trips(port: u16, d: Duration) -> Vec<u128> {
    let end = std::time::Instant::now() + d;
    let mut out = Vec::new();
    while std::time::Instant::now() < end {
        let t = std::time::Instant::now();
        if exchange_until(port, b"", Some(b"hello\n")).is_some() {
            out.push(t.elapsed().as_micros());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    out.sort_unstable();
    out
}

fn median(v: &[u128]) -> u128 {
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Row 5: a `level user` client sending one line of 300 × `show stat json` gets
/// every answer (tens of MB) streamed: the process's peak memory grows by less than
/// 2 MB (it grew by 39 MB when a line's whole output was built first). Proxied
/// traffic's latency meanwhile is printed (see docs/security.md for measured runs).
#[test]
fn runtime_api_output_is_streamed_with_bounded_memory() {
    let dir = TempDir::new("sec-stream");
    let server = OnThread::start(|| tcp::named("hello\n"));
    let (p1, p2) = (free_port(), free_port());
    let sock = dir.path("u.sock");
    let mut cfg = format!(
        "global\n    stats socket {} level user\n{DEFAULTS}",
        sock.display()
    );
    for (name, port) in [("app", p1), ("web", p2)] {
        cfg.push_str(&format!("listen {name}\n    bind 127.0.0.1:{port}\n"));
        for i in 0..3 {
            cfg.push_str(&format!("    server s{i} 127.0.0.1:{}\n", server.port));
        }
    }
    let path = dir.path("h.cfg");
    std::fs::write(&path, cfg).expect("cfg");
    let p = Prog::Haproxide.spawn(&path, &["-db"]);
    let pid = p.pid();
    assert!(wait_until(Duration::from_secs(10), || ask(
        &sock,
        "show cli level"
    )
    .is_some()));
    // Warm up: one answer of the same kind, and some proxied traffic.
    let one = ask(&sock, "show stat json").expect("show stat json");
    let _ = round_trips(p1, Duration::from_millis(300));
    let before = peak_kib(pid);
    let idle = round_trips(p1, Duration::from_secs(1));
    let line = "show stat json;".repeat(300);
    let client = std::thread::spawn(move || {
        let mut c = UnixStream::connect(&sock).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        c.write_all(format!("{line}\n").as_bytes()).expect("write");
        let mut total = 0usize;
        let mut chunk = vec![0u8; 65536];
        loop {
            match c.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
            // A slow reader: the process must not buffer ahead of it.
            std::thread::sleep(Duration::from_micros(200));
        }
        total
    });
    let during = round_trips(p1, Duration::from_secs(2));
    let total = client.join().expect("client");
    let after = peak_kib(pid);
    eprintln!(
        "300 x show stat json: {total} bytes ({} per answer); VmHWM {before} -> {after} KiB \
         (+{} KiB); proxied round trip median {} us idle, {} us during ({} / {} samples)",
        one.len(),
        after.saturating_sub(before),
        median(&idle),
        median(&during),
        idle.len(),
        during.len()
    );
    assert!(total >= 300 * (one.len() - 64), "short answer: {total}");
    assert!(
        after.saturating_sub(before) < 2048,
        "peak memory grew by {} KiB",
        after - before
    );
    drop(p);
}

/// The uid that created the local TCP socket bound to 127.0.0.1:`port`, from
/// /proc/net/tcp (its `uid` column), TIME_WAIT entries aside.
fn socket_uid(port: u16) -> Option<u32> {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .ok()?
        .lines()
        .skip(1)
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Only a socket still attached to its process tells its creator: an
            // orphan (closed by the checker before we accepted: FIN_WAIT, CLOSE)
            // or a TIME_WAIT entry shows uid 0. ESTABLISHED (01) or CLOSE_WAIT (08).
            (f.get(1) == Some(&want.as_str()) && matches!(f.get(3), Some(&"01") | Some(&"08")))
                .then(|| f.get(7)?.parse().ok())?
        })
}

/// Row 10: with `user nobody`, nothing is served before the privileges are
/// dropped: every health check connects from a socket created by uid 65534 (they
/// started as root before), and on exit the handover directory is removed.
#[test]
fn serving_starts_after_privileges_are_dropped() {
    let dir = TempDir::new("sec-drop");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let cport = listener.local_addr().expect("addr").port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rec = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let peer = c.peer_addr().map(|a| a.port()).unwrap_or(0);
            let uid = socket_uid(peer);
            if let Ok(mut v) = rec.lock() {
                v.push(uid);
            }
            let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
            let _ = c.read(&mut [0u8; 4096]);
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        }
    });
    let cfg = dir.path("h.cfg");
    // A port from free_port() can be taken by another test's connection before
    // the proxy binds it (the proxy then exits): start again on a fresh one.
    let mut attempt = 0;
    let (mut p, pid) = loop {
        attempt += 1;
        let port = free_port();
        std::fs::write(
            &cfg,
            format!(
                "global\n    user nobody\n{DEFAULTS}listen app\n    bind 127.0.0.1:{port}\n    option httpchk\n    timeout check 5s\n    server s1 127.0.0.1:{cport} check inter 100ms\n"
            ),
        )
        .expect("cfg");
        let mut p = Prog::Haproxide.spawn(&cfg, &["-db"]);
        let pid = p.pid();
        // Connections whose socket the checker already closed tell nothing (None).
        // `timeout check 5s`: without it a check's timeout is `inter` (100 ms), and
        // under CI load reading /proc/net/tcp (thousands of sockets) took longer,
        // so every check had given up, its socket orphaned, before we looked.
        // 30 s: under CI load (load average 18: two cores, other builds) the first
        // three checks once took longer than 10 s.
        let checked = wait_until(Duration::from_secs(30), || {
            seen.lock()
                .map(|v| v.iter().flatten().count() >= 3)
                .unwrap_or(false)
                || matches!(p.0.try_wait(), Ok(Some(_)))
        });
        let exited = matches!(p.0.try_wait(), Ok(Some(_)));
        if checked && !exited {
            break (p, pid);
        }
        assert!(
            exited && attempt < 3,
            "no health check from a running proxy within 30 s (attempt {attempt}, exited: {exited}, \
             connections seen with their socket's uid: {:?})",
            seen.lock().map(|v| v.clone()).unwrap_or_default()
        );
    };
    let uids = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(
        uids.iter().flatten().all(|u| *u == 65534),
        "health checks ran before the privileges were dropped: {uids:?}"
    );
    let handover = haproxide_process::handover::default_dir(pid);
    assert!(handover.exists());
    p.signal(libc::SIGTERM);
    let _ = p.0.wait();
    assert!(!handover.exists(), "{} left behind", handover.display());
}

/// Stops the daemon named in a pid file when dropped.
struct Daemon(std::path::PathBuf);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// Row 11: with `-D`, `log fd@3` still writes: the writer thread starts with the
/// first line, in the daemon, not before the fork (where it was lost).
#[test]
fn daemon_keeps_its_fd_log_writer() {
    let dir = TempDir::new("sec-daemon");
    let (log, pidf, cfg) = (dir.path("log.txt"), dir.path("pid"), dir.path("h.cfg"));
    std::fs::write(
        &cfg,
        format!(
            "global\n    log fd@3 local0\n{DEFAULTS}listen app\n    log global\n    bind 127.0.0.1:{}\n    server s1 127.0.0.1:1 check inter 100ms\n",
            free_port()
        ),
    )
    .expect("cfg");
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec 3>>'{}'; exec '{}' -D -p '{}' -f '{}'",
            log.display(),
            env!("CARGO_BIN_EXE_haproxide"),
            pidf.display(),
            cfg.display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("bash");
    let _daemon = Daemon(pidf.clone());
    assert!(status.success());
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("is DOWN")),
        "the daemon's log line never reached fd@3: {:?}",
        std::fs::read_to_string(&log)
    );
}

/// Row 11: a `stats socket fd@N` may not take a descriptor a `bind fd@N` took
/// (two owners would close it twice): the start is refused, naming it.
#[test]
fn stats_socket_fd_already_taken_is_refused() {
    let dir = TempDir::new("sec-fd");
    let cfg = dir.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket fd@3 level admin\n{DEFAULTS}listen app\n    bind fd@3\n    server s1 127.0.0.1:1\n"
        ),
    )
    .expect("cfg");
    // fd 3: a listening socket, inherited (python3 execs haproxide with it).
    let script = r#"
import os, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
os.dup2(s.fileno(), 3); os.set_inheritable(3, True)
os.execv(sys.argv[1], [sys.argv[1], "-db", "-f", sys.argv[2]])
"#;
    let child = Command::new("/usr/bin/python3")
        .args(["-c", script, env!("CARGO_BIN_EXE_haproxide")])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut p = guard(child);
    let exited = wait_until(Duration::from_secs(10), || {
        matches!(p.0.try_wait(), Ok(Some(_)))
    });
    assert!(exited, "haproxide runs with fd@3 owned twice");
    let status = p.0.wait().expect("status");
    let mut err = String::new();
    if let Some(mut e) = p.0.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(!status.success());
    assert!(
        err.contains("fd@3") && err.contains("already taken"),
        "{err}"
    );
}
