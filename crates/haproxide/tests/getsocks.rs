//! HAProxy's reload handover, `-x <stats socket>` with `expose-fd listeners`
//! (issue 13): haproxide → haproxide and HAProxy 2.6.12 → haproxide under a
//! connect loop (not one connection refused), and `_getsocks` refused as HAProxy
//! refuses it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::{echo_server, free_port, guard, round_trip, wait_until, ConnectLoop, Proc, TempDir};

const ORACLE: &str = "/usr/sbin/haproxy";

fn config(sock: &Path, bind_opts: &str, port: u16, backend: u16) -> String {
    format!(
        "global\n    stats socket {} {bind_opts}\n    stats timeout 5s\n\
         defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         listen echo\n    bind 127.0.0.1:{port}\n    server e1 127.0.0.1:{backend}\n",
        sock.display()
    )
}

/// haproxide `-db -V -f cfg [extra]`, stderr kept in `log`.
fn haproxide(cfg: &Path, log: &Path, extra: &[String]) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_haproxide"))
        .args(["-db", "-V", "-f"])
        .arg(cfg)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("spawn haproxide");
    guard(child)
}

/// HAProxy with `-db`; its stderr goes to `log` (what it said about `-x`).
fn oracle(cfg: &Path, log: Option<&Path>, extra: &[String]) -> Proc {
    assert!(
        Path::new(ORACLE).exists(),
        "HAProxy 2.6.12 (the oracle) is not installed: run scripts/install-deps"
    );
    let child = Command::new(ORACLE)
        .arg("-db")
        .arg("-f")
        .arg(cfg)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(
            log.and_then(|l| std::fs::File::create(l).ok())
                .map_or_else(Stdio::null, Stdio::from),
        )
        .spawn()
        .expect("spawn haproxy");
    Proc::new(child)
}

/// One runtime API command, its whole answer (bounded).
fn cli(sock: &Path, cmd: &str) -> String {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = s.write_all(format!("{cmd}\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The process whose `show info` answers at `sock` is `pid`.
fn serves_cli(sock: &Path, pid: u32) -> bool {
    cli(sock, "show info").contains(&format!("\nPid: {pid}\n"))
}

fn exited(p: &mut Proc, within: Duration) -> bool {
    wait_until(within, || matches!(p.0.try_wait(), Ok(Some(_))))
}

/// The inodes of the sockets listening on 127.0.0.1:`port` (/proc/net/tcp).
fn listening_inodes(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A"))
                .then(|| f.get(9).map(|s| s.to_string()))
                .flatten()
        })
        .collect()
}

/// Whether process `pid` holds the socket with this inode.
fn holds(pid: u32, inode: &str) -> bool {
    let want = PathBuf::from(format!("socket:[{inode}]"));
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .any(|e| std::fs::read_link(e.path()).ok() == Some(want.clone()))
        })
        .unwrap_or(false)
}

/// (a) Three `-x <stats socket> -sf PID` reloads, haproxide → haproxide, under a
/// tight connect loop: the same listening socket all along, no connection refused.
#[test]
fn haproxide_to_haproxide_over_x_refuses_nothing() {
    let dir = TempDir::new("getsocks-a");
    let echo = echo_server();
    let port = free_port();
    let sock = dir.path("admin.sock");
    let cfg = dir.path("h.cfg");
    std::fs::write(
        &cfg,
        config(
            &sock,
            "mode 600 level admin expose-fd listeners",
            port,
            echo.port,
        ),
    )
    .expect("cfg");
    let mut current = haproxide(&cfg, &dir.path("0.log"), &[]);
    assert!(wait_until(Duration::from_secs(10), || serves_cli(
        &sock,
        current.pid()
    )));
    let inode = listening_inodes(port);
    assert_eq!(inode.len(), 1, "one listening socket: {inode:?}");
    let client = ConnectLoop::start(port);
    for i in 1..=3 {
        std::thread::sleep(Duration::from_millis(200));
        let log = dir.path(&format!("{i}.log"));
        let args = vec![
            "-x".to_string(),
            sock.display().to_string(),
            "-sf".to_string(),
            current.pid().to_string(),
        ];
        let mut next = haproxide(&cfg, &log, &args);
        assert!(
            exited(&mut current, Duration::from_secs(15)),
            "reload {i}: old process stopped"
        );
        assert!(
            wait_until(Duration::from_secs(10), || serves_cli(&sock, next.pid())),
            "reload {i}: new process serves the stats socket"
        );
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            said.contains(&format!(
                "took over 1 listening sockets from {}",
                sock.display()
            )),
            "reload {i}: {said}"
        );
        std::mem::swap(&mut current, &mut next);
        drop(next);
    }
    std::thread::sleep(Duration::from_millis(200));
    let (ok, failed, errors) = client.finish();
    eprintln!("connections: {ok} ok, {failed} failed {errors:?}");
    assert!(ok > 0, "the client got through");
    assert_eq!(failed, 0, "refused or reset during the reloads: {errors:?}");
    assert_eq!(
        listening_inodes(port),
        inode,
        "never re-bound: the same socket"
    );
    assert!(holds(current.pid(), &inode[0]));
}

/// Which program runs a side of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prog {
    Haproxy,
    Haproxide,
}

fn spawn(prog: Prog, cfg: &Path, log: &Path, extra: &[String]) -> Proc {
    match prog {
        Prog::Haproxy => oracle(cfg, Some(log), extra),
        Prog::Haproxide => haproxide(cfg, log, extra),
    }
}

/// `old` serves with `stats socket ... level admin expose-fd listeners`; then
/// `new -x <old's socket> -sf <old>` under a connect loop. Asserts: not one
/// connection refused, and after `old` left, the port is served on `old`'s own
/// listening socket (same inode in /proc/net/tcp, held by `new`): nothing re-bound.
fn migrate(tag: &str, old_prog: Prog, new_prog: Prog) {
    let dir = TempDir::new(tag);
    let echo = echo_server();
    let port = free_port();
    let (old_sock, new_sock) = (dir.path("old.sock"), dir.path("new.sock"));
    let (old_cfg, new_cfg) = (dir.path("old.cfg"), dir.path("new.cfg"));
    let opts = "mode 600 level admin expose-fd listeners";
    std::fs::write(&old_cfg, config(&old_sock, opts, port, echo.port)).expect("cfg");
    std::fs::write(&new_cfg, config(&new_sock, opts, port, echo.port)).expect("cfg");
    let mut old = spawn(old_prog, &old_cfg, &dir.path("old.log"), &[]);
    assert!(wait_until(Duration::from_secs(10), || serves_cli(
        &old_sock,
        old.pid()
    )));
    assert!(wait_until(Duration::from_secs(5), || round_trip(port).is_ok()));
    let inode = listening_inodes(port);
    assert_eq!(inode.len(), 1, "{old_prog:?}'s listening socket: {inode:?}");
    assert!(holds(old.pid(), &inode[0]));
    let client = ConnectLoop::start(port);
    std::thread::sleep(Duration::from_millis(200));
    let log = dir.path("new.log");
    let args = vec![
        "-x".to_string(),
        old_sock.display().to_string(),
        "-sf".to_string(),
        old.pid().to_string(),
    ];
    let new = spawn(new_prog, &new_cfg, &log, &args);
    assert!(
        exited(&mut old, Duration::from_secs(15)),
        "{old_prog:?} stopped"
    );
    assert!(wait_until(Duration::from_secs(10), || serves_cli(
        &new_sock,
        new.pid()
    )));
    std::thread::sleep(Duration::from_millis(300));
    let (ok, failed, errors) = client.finish();
    eprintln!("{old_prog:?} -> {new_prog:?}: {ok} ok, {failed} failed {errors:?}");
    if new_prog == Prog::Haproxide {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            said.contains(&format!(
                "took over 1 listening sockets from {}",
                old_sock.display()
            )),
            "{said}"
        );
    }
    assert!(ok > 0, "the client got through");
    assert_eq!(
        failed,
        0,
        "refused or reset during the migration: {errors:?}; {new_prog:?} said: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(
        listening_inodes(port),
        inode,
        "{new_prog:?} did not re-bind"
    );
    assert!(
        holds(new.pid(), &inode[0]),
        "{new_prog:?} holds the old socket"
    );
    round_trip(port).expect("served after the old process left");
}

/// (b) Migration from C HAProxy: HAProxy 2.6.12 with `stats socket ... level admin
/// expose-fd listeners`, then `haproxide -x <its socket> -sf <its pid>`: haproxide
/// serves HAProxy's own listening socket, not one connection refused.
#[test]
fn haproxy_to_haproxide_over_x_takes_its_listener() {
    migrate("getsocks-b", Prog::Haproxy, Prog::Haproxide);
}

/// (d) The server side against HAProxy's own client: `haproxy -x <haproxide's
/// stats socket> -sf <haproxide>` takes haproxide's listening socket.
#[test]
fn haproxide_to_haproxy_over_x_hands_its_listener() {
    migrate("getsocks-d", Prog::Haproxide, Prog::Haproxy);
}

/// What a `_getsocks` client gets: the bytes before the connection closes (the
/// descriptors, if any, are closed by the kernel with the unread message).
fn getsocks_reply(sock: &Path) -> Vec<u8> {
    let mut s = UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    s.write_all(b"_getsocks\n").expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// `_getsocks` on each stats socket, from HAProxy 2.6.12 and from haproxide.
fn both_replies(tag: &str, opts: &str) -> (Vec<u8>, Vec<u8>) {
    let run = |oracle_side: bool| {
        let dir = TempDir::new(&format!("getsocks-c-{tag}-{oracle_side}"));
        let echo = echo_server();
        let port = free_port();
        let sock = dir.path("admin.sock");
        let cfg = dir.path("h.cfg");
        std::fs::write(&cfg, config(&sock, opts, port, echo.port)).expect("cfg");
        let p = if oracle_side {
            oracle(&cfg, None, &[])
        } else {
            haproxide(&cfg, &dir.path("h.log"), &[])
        };
        assert!(wait_until(Duration::from_secs(10), || serves_cli(
            &sock,
            p.pid()
        )));
        let reply = getsocks_reply(&sock);
        drop(p);
        reply
    };
    (run(true), run(false))
}

/// (c) Without `expose-fd listeners`, both close without a byte. Below `level
/// admin`, HAProxy 2.6.12 still sends (it checks only expose-fd); haproxide
/// refuses exactly as HAProxy refuses the socket without expose-fd (its choice:
/// handing the listeners over is an admin's power).
#[test]
fn getsocks_is_refused_like_haproxy_refuses_it() {
    let (haproxy, ours) = both_replies("noexpose", "mode 600 level admin");
    assert_eq!(
        haproxy,
        Vec::<u8>::new(),
        "HAProxy refuses without expose-fd"
    );
    assert_eq!(ours, haproxy);
    let refusal = haproxy;
    for level in ["operator", "user"] {
        let opts = format!("mode 600 level {level} expose-fd listeners");
        let (haproxy, ours) = both_replies(level, &opts);
        // HAProxy counts its listeners: the proxy's and the stats socket.
        assert_eq!(
            haproxy.get(..4),
            Some(&2i32.to_ne_bytes()[..]),
            "{level}: {haproxy:?}"
        );
        assert_eq!(ours, refusal, "{level}: haproxide refuses");
    }
    // And at level admin with expose-fd, haproxide answers with its count (the
    // proxy's listener) and the per-socket data: 4 + 6 bytes.
    let (haproxy, ours) = both_replies("admin", "mode 600 level admin expose-fd listeners");
    assert_eq!(haproxy.len(), 4 + 2 * 6, "{haproxy:?}");
    assert_eq!(ours, [&1i32.to_ne_bytes()[..], &[0u8; 6][..]].concat());
}
