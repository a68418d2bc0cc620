//! Dynamic servers on the runtime API (management.txt §9.3 `add server`, `del
//! server`; issue 17): the same commands sent to HAProxy 2.6.12 (the oracle) and to
//! haproxide started with the same configuration, answers compared byte for byte,
//! including the refusals (level, names, addresses, keywords, `track`, deletion of a
//! server in use), then traffic: an added server takes its share once enabled, and
//! after `del server` none.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

mod common;
use common::{free_port, haproxide, haproxy, must_ask, named, route, wait_for, TempDir};

fn config(sock: &Path, port: u16, a: u16) -> String {
    format!(
        "global\n  stats socket {} level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\nlisten l\n  bind 127.0.0.1:{port}\n  server a 127.0.0.1:{a}\n  server chk 127.0.0.1:{a} check inter 1s\nbackend st\n  balance static-rr\n  server x 127.0.0.1:{a}\n",
        sock.display()
    )
}

/// The refusals and answers that do not depend on traffic, in order.
fn commands(a: u16) -> Vec<String> {
    [
        "add server l/t1 127.0.0.1:A track l/a",
        "add server l/t1 127.0.0.1:A track l/chk",
        "add server l/t2 127.0.0.1:A track l/t1",
        "add server l/t1 127.0.0.1:A",
        "add server l/a 127.0.0.1:A",
        "add server st/x2 127.0.0.1:A",
        "add server nope/x 127.0.0.1:A",
        "add server l",
        "add server l/x",
        "add server l/x 127.0.0.1:99999",
        "add server l/x 127.0.0.1:abc",
        "add server l/x 127.0.0.1:A cookie c",
        // (An unknown keyword: both refuse it, but HAProxy's "did you mean" uses
        // its own word distance; the config crate's differs: see below.)
        "add server l/x 127.0.0.1:A foo",
        "add server l/x 127.0.0.1:A check track l/chk",
        "add server l/x 127.0.0.1:A track nope/srv",
        "add server l/x 127.0.0.1:A track l/nope",
        "operator; add server l/y 127.0.0.1:A",
        "user; del server l/t1",
        "del server l/chk",
        "del server l/a",
        "del server l/zz",
        "del server zz/zz",
        "del server l",
        "del server l/t1",
        "del server l/t1",
        "add server l/t1 127.0.0.1:A weight 3 maxconn 10",
        "get weight l/t1",
        "enable server l/t1",
        "set server l/t1 state maint",
        "del server l/t1",
    ]
    .iter()
    .map(|c| c.replace(":A", &format!(":{a}")))
    .collect()
}

/// Runs the scenario against one program; returns every answer.
fn scenario(prog: &str, dir: &TempDir) -> Vec<(String, String)> {
    let srv_a = named("a");
    let srv_b = named("b");
    let port = free_port();
    let sock = dir.path(&format!("{prog}.sock"));
    let cfg = dir.path(&format!("{prog}.cfg"));
    std::fs::write(&cfg, config(&sock, port, srv_a.port)).unwrap();
    let _p = if prog == "haproxy" {
        haproxy(&cfg).expect("haproxy 2.6.12 is installed (scripts/install-deps)")
    } else {
        haproxide(&cfg, &[])
    };
    // Up: the checked server answered its first check (haproxide holds traffic
    // to a checked server until then).
    wait_for(&sock, "show servers state l", |s| {
        s.lines()
            .any(|l| l.split(' ').nth(3) == Some("chk") && l.split(' ').nth(5) == Some("2"))
    });
    let mut out: Vec<(String, String)> = commands(srv_a.port)
        .into_iter()
        .map(|c| {
            let a = must_ask(&sock, &c);
            (c, a)
        })
        .collect();
    // Inherited maintenance: a tracker of a server put in maintenance shows
    // "MAINT (via l/chk)" and HAProxy's IMAINT flag (2) in `srv_admin_state`.
    for c in [
        format!("add server l/t3 127.0.0.1:{} track l/chk", srv_a.port),
        "enable server l/t3".into(),
        "disable server l/chk".into(),
    ] {
        out.push((c.clone(), must_ask(&sock, &c)));
    }
    let t3 = |sock: &Path| {
        let stat = must_ask(sock, "show stat");
        let status = stat
            .lines()
            .find(|l| l.starts_with("l,t3,"))
            .and_then(|l| l.split(',').nth(17))
            .unwrap_or("")
            .to_string();
        let state = must_ask(sock, "show servers state l");
        let admin = state
            .lines()
            .map(|l| l.split(' ').collect::<Vec<_>>())
            .find(|f| f.len() > 6 && f[3] == "t3")
            .map(|f| format!("{} {}", f[5], f[6]))
            .unwrap_or_default();
        format!("{status} / {admin}")
    };
    out.push(("t3 via".into(), t3(&sock)));
    for c in [
        "enable server l/chk",
        "disable server l/t3",
        "del server l/t3",
    ] {
        out.push((c.into(), must_ask(&sock, c)));
    }
    // Traffic: a new server takes none until enabled, then its share.
    let add = format!("add server l/b 127.0.0.1:{}", srv_b.port);
    out.push((add.clone(), must_ask(&sock, &add)));
    let before: Vec<_> = (0..6).map(|_| route(port)).collect();
    assert!(
        before.iter().all(|r| r.as_deref() == Some("a")),
        "{prog}: {before:?}"
    );
    out.push(("enable".into(), must_ask(&sock, "enable server l/b")));
    let after: Vec<_> = (0..9).map(|_| route(port)).collect();
    assert!(
        after.iter().any(|r| r.as_deref() == Some("b")),
        "{prog}: the added server took no traffic: {after:?}"
    );
    // A session on b: deletion refused until it ends.
    let held = (0..20)
        .find_map(|_| {
            let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).ok()?;
            (line.trim() == "b").then_some(s)
        })
        .unwrap_or_else(|| panic!("{prog}: no session landed on b"));
    let del = "disable server l/b; del server l/b";
    out.push((del.into(), must_ask(&sock, del)));
    drop(held);
    let gone = wait_for(&sock, "del server l/b", |a| {
        a.starts_with("Server deleted.")
    });
    out.push(("del after close".into(), gone));
    let last: Vec<_> = (0..6).map(|_| route(port)).collect();
    assert!(
        last.iter().all(|r| r.as_deref() == Some("a")),
        "{prog}: traffic after del server: {last:?}"
    );
    // A dynamic server with `check`: the check runs once `enable health` says so
    // (HAProxy starts it disabled), with the backend's probe, and takes the server
    // DOWN ("Connection refused": nothing listens on the port of a closed listener).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let add = format!("add server l/c 127.0.0.1:{dead} check inter 100ms fall 2");
    out.push((add.clone(), must_ask(&sock, &add)));
    out.push(("enable c".into(), must_ask(&sock, "enable server l/c")));
    let fields = |state: &str| -> String {
        state
            .lines()
            .map(|l| l.split(' ').collect::<Vec<_>>())
            .find(|f| f.len() > 14 && f[3] == "c")
            // op state, admin state, check status, result and check state. (Not
            // the health counter: HAProxy leaves it at 0 when maintenance ends
            // while the check is disabled; haproxide resets it to `rise`.)
            // The check state's bit 0 (CHK_ST_INPROGRESS) says whether a probe
            // is in flight at the instant of the snapshot: timing, not state.
            .map(|f| {
                let chk = f[13].parse::<u32>().map(|v| (v & !1).to_string());
                let chk = chk.unwrap_or_else(|_| f[13].to_string());
                [f[5], f[6], f[10], f[11], &chk].join(" ")
            })
            .unwrap_or_default()
    };
    out.push((
        "c before enable health".into(),
        fields(&must_ask(&sock, "show servers state l")),
    ));
    out.push(("enable health".into(), must_ask(&sock, "enable health l/c")));
    let down = wait_for(&sock, "show servers state l", |s| {
        fields(s).starts_with("0 ")
    });
    out.push(("c after its checks".into(), fields(&down)));
    out.push((
        "show servers state".into(),
        must_ask(&sock, "show servers state l")
            .lines()
            .filter_map(|l| l.split(' ').nth(3).map(str::to_string))
            .collect::<Vec<_>>()
            .join(" "),
    ));
    out
}

#[test]
fn add_and_del_server_answer_and_route_as_haproxy() {
    let dir = TempDir::new("dynsrv");
    let theirs = scenario("haproxy", &dir);
    let ours = scenario("haproxide", &dir);
    let known = |c: &str, t: &str, o: &str| {
        c.ends_with(" foo")
            && t.starts_with("unknown keyword 'foo'")
            && o.starts_with("unknown keyword 'foo'")
    };
    let diffs: Vec<String> = theirs
        .iter()
        .zip(&ours)
        .filter(|(t, o)| t.1 != o.1 && !known(&t.0, &t.1, &o.1))
        .map(|(t, o)| format!("{}\n  haproxy:   {:?}\n  haproxide: {:?}", t.0, t.1, o.1))
        .collect();
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
    let via = theirs
        .iter()
        .find(|(c, _)| c == "t3 via")
        .map(|(_, a)| a.as_str());
    assert_eq!(via, Some("MAINT (via l/chk) / 0 2"));
    assert_eq!(theirs.len(), ours.len());
}

/// A dynamic server's transitions reach the engine: with `on-marked-down
/// shutdown-sessions`, putting it in maintenance cuts its sessions (as for a
/// configured server; HAProxy does the same).
#[test]
fn a_dynamic_servers_transitions_reach_the_engine() {
    use std::io::Read;
    let dir = TempDir::new("dynsrv-link");
    let srv_a = named("a");
    let srv_d = named("d");
    let port = free_port();
    let sock = dir.path("h.sock");
    let cfg = dir.path("h.cfg");
    std::fs::write(&cfg, config(&sock, port, srv_a.port)).unwrap();
    let _p = haproxide(&cfg, &[]);
    wait_for(&sock, "show servers state l", |s| s.contains(" chk "));
    let add = format!(
        "add server l/d 127.0.0.1:{} on-marked-down shutdown-sessions",
        srv_d.port
    );
    assert_eq!(must_ask(&sock, &add), "New server registered.\n\n");
    must_ask(&sock, "enable server l/d");
    let held = (0..30)
        .find_map(|_| {
            let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).ok()?;
            (line.trim() == "d").then_some(s)
        })
        .expect("a session on the added server");
    must_ask(&sock, "disable server l/d");
    let mut rest = Vec::new();
    let mut r = &held;
    let cut = r.read_to_end(&mut rest);
    assert!(
        cut.is_ok(),
        "the session on l/d was not cut within 3 s: {cut:?}"
    );
}
