//! The runtime API driven as operators drive it (issue 5, "What must show"):
//! `echo cmd | socat - UNIX:path` one-shot commands and `prompt` sessions on the
//! `stats socket` of a running `haproxide`, compared with what HAProxy 2.6
//! (/usr/sbin/haproxy, started on loopback with the same configuration) prints;
//! admin commands changing routing under live traffic; and a reload that keeps
//! server states through `server-state-file`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, TempDir};
use common::{haproxide, haproxy, must_ask, named, route, wait_for};
use haproxide_testkit::tcp::{self, OnThread};

/// A `show servers state` line's fields for one server.
fn state_fields(state: &str, server: &str) -> Vec<String> {
    state
        .lines()
        .map(|l| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[3] == server)
        .unwrap_or_default()
}

/// Interactive `prompt` mode over one connection, as `socat readline` users see it.
#[test]
fn one_shot_and_prompt_sessions_like_socat() {
    let dir = TempDir::new("rt-prompt");
    let (a, port, tport) = (named("A"), free_port(), free_port());
    let sock = dir.path("admin.sock");
    let cfg = dir.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} mode 600 level admin expose-fd listeners\n    stats socket ipv4@127.0.0.1:{tport}\n    stats timeout 5s\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             listen li1\n    bind 127.0.0.1:{port}\n    server a1 127.0.0.1:{}\n",
            sock.display(),
            a.port
        ),
    )
    .unwrap();
    let p = haproxide(&cfg, &[]);
    let info = wait_for(&sock, "show info", |s| s.contains("Name: HAProxy"));
    assert!(info.contains(&format!("\nPid: {}\n", p.pid())), "{info}");
    // `mode 600` applied to the socket file.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // One-shot: the answer then EOF; `;` runs several commands.
    assert_eq!(must_ask(&sock, "show cli level"), "admin\n\n");
    assert_eq!(
        must_ask(&sock, "get weight li1/a1; show backend"),
        "1 (initial 1)\n\n# name\nli1\n\n"
    );
    // Interactive: "prompt" turns on the "> " prompt; the session stays open
    // across commands until "quit".
    let mut c = UnixStream::connect(&sock).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let read_until_prompt = |r: &mut BufReader<UnixStream>| -> String {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !out.ends_with(b"> ") && Instant::now() < deadline {
            let mut b = [0u8; 1];
            match r.read(&mut b) {
                Ok(1) => out.push(b[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    c.write_all(b"prompt\n").unwrap();
    assert_eq!(read_until_prompt(&mut r), "\n> ");
    c.write_all(b"show cli level\n").unwrap();
    assert_eq!(read_until_prompt(&mut r), "admin\n\n> ");
    c.write_all(b"set weight li1/a1 7\n").unwrap();
    assert_eq!(read_until_prompt(&mut r), "\n> ");
    c.write_all(b"get weight li1/a1\n").unwrap();
    assert_eq!(read_until_prompt(&mut r), "7 (initial 1)\n\n> ");
    c.write_all(b"quit\n").unwrap();
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    // The TCP socket (`ipv4@`, level operator).
    let mut t = TcpStream::connect(("127.0.0.1", tport)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    t.write_all(b"show cli level\n").unwrap();
    let mut out = String::new();
    t.read_to_string(&mut out).unwrap();
    assert_eq!(out, "operator\n\n");

    // bin/bout: 6 bytes from the client, 2 + 6 to it, on the frontend, the
    // backend and the server (counted as they flow: the client may read the echo a
    // moment before the relay publishes it, hence the wait).
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    (&s).write_all(b"hello\n").unwrap();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "A\nhello\n");
    drop((s, r));
    let rows = ["li1,FRONTEND", "li1,a1", "li1,BACKEND"];
    wait_for(&sock, "show stat", |st| {
        rows.iter()
            .all(|r| stat_field(st, r, "bin") == "6" && stat_field(st, r, "bout") == "8")
    });
    assert_eq!(must_ask(&sock, "clear counters all"), "\n");
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,a1", "bin"),
        "0"
    );
    drop(p);
}

const LEVEL_CMDS: &[&str] = &[
    "disable server be1/s1",
    "enable server be1/s1",
    "set server be1/s1 state drain",
    "set server be1/s1 health down",
    "set weight be1/s1 3",
    "shutdown sessions server be1/s1",
    "disable health be1/s1",
    "disable frontend fe1",
    "set maxconn global 100",
    "set maxconn server be1/s1 10",
    "clear counters",
    "clear counters all",
    "show cli level",
    "get weight be1/s1",
    "operator",
    "show backend",
];

fn compare_cfg(dir: &TempDir, tag: &str, s1: u16, s2: u16) -> (PathBuf, PathBuf, PathBuf, u16) {
    let admin = dir.path(&format!("{tag}-admin.sock"));
    let user = dir.path(&format!("{tag}-user.sock"));
    let (p1, p2) = (free_port(), free_port());
    let cfg = dir.path(&format!("{tag}.cfg"));
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} level admin\n    stats socket {} level user\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             frontend fe1\n    bind 127.0.0.1:{p1}\n    default_backend be1\n\
             backend be1\n    server s1 127.0.0.1:{s1} check inter 100 rise 1 fall 1\n    server s2 127.0.0.1:{s2} check inter 100 rise 1 fall 1\n    server s3 127.0.0.1:{s1} weight 5\n\
             listen li1\n    bind 127.0.0.1:{p2}\n    balance leastconn\n    server a1 127.0.0.1:{s1}\n    server b1 127.0.0.1:{s2} backup\n",
            admin.display(),
            user.display()
        ),
    )
    .unwrap();
    (cfg, admin, user, p1)
}

/// Stable states in both processes: s1 UP (its port answers), s2 DOWN (refused).
fn settled(state: &str) -> bool {
    let s1 = state_fields(state, "s1");
    let s2 = state_fields(state, "s2");
    s1.get(5).map(String::as_str) == Some("2")
        && s2.get(5).map(String::as_str) == Some("0")
        && s1.get(10).map(String::as_str) == Some("6")
        && s2.get(10).map(String::as_str) == Some("8")
}

/// Kind of a CSV/state field for layout comparisons: empty, number, or text.
fn kind(f: &str) -> &'static str {
    if f.is_empty() {
        "empty"
    } else if f.parse::<i64>().is_ok() {
        "number"
    } else {
        "text"
    }
}

#[test]
fn show_stat_and_servers_state_layout_match_haproxy() {
    let dir = TempDir::new("rt-layout");
    let up = named("UP");
    let down_port = free_port();
    let (ours_cfg, ours_admin, _, _) = compare_cfg(&dir, "ours", up.port, down_port);
    let (theirs_cfg, theirs_admin, _, _) = compare_cfg(&dir, "theirs", up.port, down_port);
    let Some(_theirs) = haproxy(&theirs_cfg) else {
        eprintln!("skipped: no /usr/sbin/haproxy");
        return;
    };
    let _ours = haproxide(&ours_cfg, &[]);
    let theirs_state = wait_for(&theirs_admin, "show servers state", settled);
    let ours_state = wait_for(&ours_admin, "show servers state", settled);

    // show stat: the same header, the same rows, the same number of fields per
    // row, and each field of the same kind (empty, number, text).
    let theirs = must_ask(&theirs_admin, "show stat");
    let ours = must_ask(&ours_admin, "show stat");
    let lines = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (tl, ol) = (lines(&theirs), lines(&ours));
    assert_eq!(ol[0], tl[0], "show stat header");
    assert_eq!(ol.len(), tl.len(), "rows:\n{ours}\n---\n{theirs}");
    let header: Vec<&str> = tl[0].trim_start_matches("# ").split(',').collect();
    let mut diffs = Vec::new();
    for (o, t) in ol.iter().zip(&tl).skip(1) {
        let (of, tf): (Vec<&str>, Vec<&str>) = (o.split(',').collect(), t.split(',').collect());
        assert_eq!(of.len(), tf.len(), "fields of {o}\n vs {t}");
        assert_eq!(of[..2], tf[..2], "row keys");
        for (i, (a, b)) in of.iter().zip(&tf).enumerate() {
            if kind(a) != kind(b) {
                diffs.push(format!(
                    "{}/{} {}: ours {a:?} haproxy {b:?}",
                    of[0], of[1], header[i]
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "field kinds differ:\n{}",
        diffs.join("\n")
    );
    // The values that do not depend on time or traffic are the same.
    for col in [
        "status",
        "weight",
        "act",
        "bck",
        "iid",
        "sid",
        "type",
        "check_status",
        "addr",
        "mode",
        "algo",
        "check_rise",
        "check_fall",
        "check_health",
    ] {
        let i = header.iter().position(|h| *h == col).unwrap();
        for (o, t) in ol.iter().zip(&tl).skip(1) {
            let (of, tf): (Vec<&str>, Vec<&str>) = (o.split(',').collect(), t.split(',').collect());
            // "* " marks a check in progress, on either side at any time.
            let (a, b) = (
                of[i].trim_start_matches("* "),
                tf[i].trim_start_matches("* "),
            );
            assert_eq!(a, b, "{col} of {}/{}", of[0], of[1]);
        }
    }

    // show servers state: version line and header identical; per server the same
    // number of fields, and every field but the time since the last change equal.
    same_servers_state(&ours_state, &theirs_state);

    // show servers conn: the same header, the same servers and addresses, the
    // same number of columns, one blank line ending the answer (not two). The
    // counts may differ: HAProxy's checks leave used_max/need_est at 1 here.
    let (o, t) = (
        must_ask(&ours_admin, "show servers conn"),
        must_ask(&theirs_admin, "show servers conn"),
    );
    let shape = |s: &str| -> Vec<(String, usize)> {
        s.split('\n')
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (
                    f.iter().take(6).copied().collect::<Vec<_>>().join(" "),
                    f.len(),
                )
            })
            .collect()
    };
    assert_eq!(shape(&o), shape(&t), "show servers conn:\n{o:?}\n{t:?}");

    // The same admin commands on both: the same answers, states and statuses.
    for cmd in [
        "disable server be1/s3",
        "set weight be1/s1 3",
        "set server li1/a1 state drain",
        "disable health be1/s2",
        "set server li1/b1 weight 50%",
        "set server be1/s3 state drain",
    ] {
        assert_eq!(
            must_ask(&ours_admin, cmd),
            must_ask(&theirs_admin, cmd),
            "{cmd}"
        );
    }
    same_servers_state(
        &must_ask(&ours_admin, "show servers state"),
        &must_ask(&theirs_admin, "show servers state"),
    );
    let (ours, theirs) = (
        must_ask(&ours_admin, "show stat"),
        must_ask(&theirs_admin, "show stat"),
    );
    for row in [
        "be1,s1",
        "be1,s2",
        "be1,s3",
        "li1,a1",
        "li1,b1",
        "be1,BACKEND",
        "li1,BACKEND",
    ] {
        for col in ["status", "weight", "act", "bck", "check_status", "uweight"] {
            assert_eq!(
                stat_field(&ours, row, col).trim_start_matches("* "),
                stat_field(&theirs, row, col).trim_start_matches("* "),
                "{row} {col}"
            );
        }
    }
}

fn same_servers_state(ours: &str, theirs: &str) {
    let lines = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (tl, ol) = (lines(theirs), lines(ours));
    assert_eq!(ol[..2], tl[..2], "servers state header");
    assert_eq!(ol.len(), tl.len());
    for (o, t) in ol.iter().zip(&tl).skip(2) {
        let (of, tf): (Vec<&str>, Vec<&str>) = (o.split(' ').collect(), t.split(' ').collect());
        assert_eq!(of.len(), tf.len(), "{o}\n vs {t}");
        for (i, (a, b)) in of.iter().zip(&tf).enumerate() {
            if i == 9 {
                assert_eq!(kind(a), kind(b));
            } else {
                assert_eq!(a, b, "field {i} of\n{o}\n vs\n{t}");
            }
        }
    }
}

#[test]
fn level_user_is_refused_admin_commands_as_haproxy() {
    let dir = TempDir::new("rt-level");
    let up = named("UP");
    let down_port = free_port();
    let (ours_cfg, ours_admin, ours_user, _) = compare_cfg(&dir, "ours", up.port, down_port);
    let (theirs_cfg, theirs_admin, theirs_user, _) =
        compare_cfg(&dir, "theirs", up.port, down_port);
    let _ours = haproxide(&ours_cfg, &[]);
    wait_for(&ours_admin, "show servers state", settled);
    let theirs = haproxy(&theirs_cfg);
    if theirs.is_some() {
        wait_for(&theirs_admin, "show servers state", settled);
    }
    let mut mismatches = Vec::new();
    for cmd in LEVEL_CMDS {
        let ours = must_ask(&ours_user, cmd);
        if theirs.is_some() {
            let real = must_ask(&theirs_user, cmd);
            if real != ours {
                mismatches.push(format!("{cmd}: ours {ours:?} haproxy {real:?}"));
            }
        }
        // Whatever HAProxy says, the user level changed nothing.
        let admin_view = must_ask(&ours_admin, "show servers state be1");
        let s1 = state_fields(&admin_view, "s1");
        assert_eq!(
            (s1[5].as_str(), s1[6].as_str(), s1[7].as_str()),
            ("2", "0", "1"),
            "after {cmd}"
        );
    }
    assert_eq!(
        must_ask(&ours_user, "disable server be1/s1"),
        "Permission denied\n\n"
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// When each connection started and which server greeted it.
type Seen = Arc<Mutex<Vec<(Instant, Option<String>)>>>;

/// A client that connects in a loop and records, for each connection, when it
/// started and which server greeted it.
struct Traffic {
    stop: Arc<AtomicBool>,
    seen: Seen,
    task: Option<std::thread::JoinHandle<()>>,
}

impl Traffic {
    fn start(port: u16) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (st, sn) = (Arc::clone(&stop), Arc::clone(&seen));
        let task = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = route(port);
                if let Ok(mut v) = sn.lock() {
                    v.push((t, r));
                }
            }
        });
        Traffic {
            stop,
            seen,
            task: Some(task),
        }
    }

    /// Servers of the connections started after `t`, once `n` of them exist (10 s).
    fn after(&self, t: Instant, n: usize) -> Vec<Option<String>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v: Vec<Option<String>> = self
                .seen
                .lock()
                .map(|v| {
                    v.iter()
                        .filter(|(s, _)| *s > t)
                        .map(|(_, r)| r.clone())
                        .collect()
                })
                .unwrap_or_default();
            if v.len() >= n || Instant::now() > deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.task.take() {
            let _ = t.join();
        }
    }
}

fn count(v: &[Option<String>], name: &str) -> usize {
    v.iter().filter(|r| r.as_deref() == Some(name)).count()
}

/// `disable server`, `set server … state drain` and `enable server` change where
/// the next connections go, while a client connects in a loop; a session
/// established on a draining server goes on. Neither server has `check` (the
/// admin state is not the checker's alone).
#[test]
fn admin_state_changes_routing_under_live_traffic() {
    let dir = TempDir::new("rt-routing");
    let (a, b, port) = (named("A"), named("B"), free_port());
    let sock = dir.path("admin.sock");
    let cfg = dir.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} level admin\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n\
             listen li1\n    bind 127.0.0.1:{port}\n    server a 127.0.0.1:{}\n    server b 127.0.0.1:{}\n",
            sock.display(),
            a.port,
            b.port
        ),
    )
    .unwrap();
    let _p = haproxide(&cfg, &[]);
    wait_for(&sock, "show cli level", |s| s == "admin\n\n");
    // A session on B, kept open through the drain below (opened before the
    // traffic loop starts, which could otherwise take every other turn).
    let mut on_b = None;
    for _ in 0..20 {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line.trim() == "B" {
            on_b = Some((s, r));
            break;
        }
    }
    let (mut kept, mut kept_r) = on_b.expect("a session on B");
    let traffic = Traffic::start(port);
    let v = traffic.after(Instant::now(), 20);
    assert!(
        count(&v, "A") >= 5 && count(&v, "B") >= 5,
        "both serve: {v:?}"
    );

    // disable server: every connection started after the answer goes to B.
    assert_eq!(must_ask(&sock, "disable server li1/a"), "\n");
    let t = Instant::now();
    let v = traffic.after(t, 30);
    assert_eq!(count(&v, "B"), v.len(), "after disable: {v:?}");
    assert!(v.len() >= 30);
    let st = must_ask(&sock, "show servers state li1");
    assert_eq!(state_fields(&st, "a")[6], "1", "{st}");

    // enable server: A serves again.
    assert_eq!(must_ask(&sock, "enable server li1/a"), "\n");
    let v = traffic.after(Instant::now(), 20);
    assert!(count(&v, "A") >= 5, "after enable: {v:?}");

    // drain B: the session already on B goes on, new ones go to A.
    assert_eq!(must_ask(&sock, "set server li1/b state drain"), "\n");
    let t = Instant::now();
    let v = traffic.after(t, 30);
    assert_eq!(count(&v, "A"), v.len(), "after drain: {v:?}");
    kept.write_all(b"still here\n").unwrap();
    let mut line = String::new();
    kept_r.read_line(&mut line).unwrap();
    assert_eq!(line, "still here\n", "a draining server keeps its sessions");
    let st = must_ask(&sock, "show servers state li1");
    assert_eq!(state_fields(&st, "b")[6], "8", "{st}");
    assert!(
        must_ask(&sock, "show stat").contains("li1,b,")
            && must_ask(&sock, "show stat").contains(",DRAIN,")
    );

    // ready: both again.
    assert_eq!(must_ask(&sock, "set server li1/b state ready"), "\n");
    let v = traffic.after(Instant::now(), 20);
    assert!(
        count(&v, "A") >= 5 && count(&v, "B") >= 5,
        "after ready: {v:?}"
    );

    // set weight 0 stops new sessions too; get weight shows it.
    assert_eq!(must_ask(&sock, "set weight li1/b 0"), "\n");
    assert_eq!(must_ask(&sock, "get weight li1/b"), "0 (initial 1)\n\n");
    let v = traffic.after(Instant::now(), 20);
    assert_eq!(count(&v, "A"), v.len(), "after weight 0: {v:?}");
    drop(traffic);
}

/// `shutdown sessions server` cuts the sessions established on that server at
/// once; sessions on another server go on.
#[test]
fn shutdown_sessions_server_cuts_live_sessions() {
    let dir = TempDir::new("rt-shut");
    let (a, b, port) = (named("A"), named("B"), free_port());
    let sock = dir.path("admin.sock");
    let cfg = dir.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} level admin\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n\
             listen li1\n    bind 127.0.0.1:{port}\n    server a 127.0.0.1:{}\n    server b 127.0.0.1:{}\n",
            sock.display(),
            a.port,
            b.port
        ),
    )
    .unwrap();
    let _p = haproxide(&cfg, &[]);
    wait_for(&sock, "show cli level", |s| s == "admin\n\n");
    let mut sessions: Vec<(String, TcpStream, BufReader<TcpStream>)> = Vec::new();
    for _ in 0..6 {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        sessions.push((line.trim().to_string(), s, r));
    }
    let on_a = sessions.iter().filter(|s| s.0 == "A").count();
    assert!((2..=4).contains(&on_a), "round robin: {on_a} of 6 on A");
    let stat = must_ask(&sock, "show stat");
    let scur = |stat: &str, srv: &str| -> String {
        stat.lines()
            .find(|l| l.starts_with(&format!("li1,{srv},")))
            .map(|l| l.split(',').nth(4).unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_eq!(scur(&stat, "a"), on_a.to_string(), "{stat}");
    let t0 = Instant::now();
    assert_eq!(must_ask(&sock, "shutdown sessions server li1/a"), "\n");
    for (name, s, r) in &mut sessions {
        let mut buf = String::new();
        if name == "A" {
            // Cut: EOF (or a reset) well before the 30 s timeouts.
            let n = r.read_line(&mut buf).unwrap_or(0);
            assert_eq!(n, 0, "session on A still open: {buf:?}");
        } else {
            s.write_all(b"ping\n").unwrap();
            r.read_line(&mut buf).unwrap();
            assert_eq!(buf, "ping\n", "session on B cut");
        }
    }
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    let stat = wait_for(&sock, "show stat", |s| scur(s, "a") == "0");
    assert_eq!(scur(&stat, "b"), (6 - on_a).to_string());

    // `show sess` lists the sessions left (all on b); `shutdown session` cuts one.
    let sess = must_ask(&sock, "show sess");
    let lines: Vec<&str> = sess.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 6 - on_a, "{sess}");
    for l in &lines {
        assert!(
            l.starts_with("0x") && l.contains(" proto=tcpv4 src=127.0.0.1:"),
            "{l}"
        );
        assert!(l.contains(" fe=li1 be=li1 srv=b "), "{l}");
    }
    let id = lines[0].split(':').next().unwrap_or("");
    assert_eq!(must_ask(&sock, &format!("shutdown session {id}")), "\n");
    // The cut session leaves the list as soon as its task has ended.
    let left = wait_for(&sock, "show sess", |s| {
        s.lines().filter(|l| !l.is_empty()).count() == 5 - on_a
    });
    assert_eq!(
        must_ask(&sock, &format!("shutdown session {id}")),
        "No such session (use 'show sess').\n\n"
    );
    assert!(!left.contains(&format!("{id}:")), "{left}");
    // Exactly one of the sessions on B was cut.
    let mut open = 0;
    for (name, s, r) in &mut sessions {
        if name == "B" {
            let mut buf = String::new();
            if s.write_all(b"ping\n").is_ok() && r.read_line(&mut buf).unwrap_or(0) > 0 {
                open += 1;
            }
        }
    }
    assert_eq!(open, 5 - on_a);

    // smax kept the peak; `clear counters` restarts it from the current value,
    // `clear counters all` also zeroes the totals.
    let stat = must_ask(&sock, "show stat");
    assert_eq!(stat_field(&stat, "li1,FRONTEND", "smax"), "6", "{stat}");
    assert_eq!(stat_field(&stat, "li1,a", "smax"), on_a.to_string());
    assert_eq!(stat_field(&stat, "li1,FRONTEND", "stot"), "6");
    assert_eq!(must_ask(&sock, "clear counters"), "\n");
    let stat = must_ask(&sock, "show stat");
    assert_eq!(stat_field(&stat, "li1,a", "smax"), "0", "{stat}");
    assert_eq!(stat_field(&stat, "li1,b", "smax"), (5 - on_a).to_string());
    assert_eq!(stat_field(&stat, "li1,FRONTEND", "stot"), "6");
    assert_eq!(must_ask(&sock, "clear counters all"), "\n");
    let stat = must_ask(&sock, "show stat");
    assert_eq!(stat_field(&stat, "li1,FRONTEND", "stot"), "0", "{stat}");
    assert_eq!(stat_field(&stat, "li1,b", "stot"), "0");
}

/// A reload (`-sf`) with `server-state-file` keeps a server put in maintenance
/// and one forced DOWN in those states, where without the file they would be
/// UP at once: `b` has no check, `c` has `init-state up` and a check too slow to
/// change anything during the test.
#[test]
fn reload_keeps_maint_and_down_from_the_server_state_file() {
    let dir = TempDir::new("rt-state");
    let (a, b, c, port) = (named("A"), named("B"), named("C"), free_port());
    let sock = dir.path("admin.sock");
    let state = dir.path("servers.state");
    let cfg = dir.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} level admin\n    server-state-base {}\n    server-state-file servers.state\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    load-server-state-from-file global\n\
             listen li1\n    bind 127.0.0.1:{port}\n    server a 127.0.0.1:{}\n    server b 127.0.0.1:{}\n    server c 127.0.0.1:{} check inter 60s init-state up\n",
            sock.display(),
            dir.0.display(),
            a.port,
            b.port,
            c.port
        ),
    )
    .unwrap();
    let old = haproxide(&cfg, &[]);
    wait_for(&sock, "show cli level", |s| s == "admin\n\n");
    // Before: all three serve.
    let mut seen = Vec::new();
    for _ in 0..30 {
        seen.push(route(port));
    }
    for n in ["A", "B", "C"] {
        assert!(count(&seen, n) >= 5, "{n} before: {seen:?}");
    }
    assert_eq!(must_ask(&sock, "disable server li1/b"), "\n");
    assert_eq!(must_ask(&sock, "set server li1/c health down"), "\n");
    // What operators run before a reload.
    let saved = must_ask(&sock, "show servers state");
    std::fs::write(&state, &saved).unwrap();
    let new = haproxide(&cfg, &["-sf", &old.pid().to_string()]);
    let info = wait_for(&sock, "show info", |s| {
        s.contains(&format!("\nPid: {}\n", new.pid()))
    });
    assert!(info.contains("Name: HAProxy"));
    let st = must_ask(&sock, "show servers state li1");
    let (fb, fc) = (state_fields(&st, "b"), state_fields(&st, "c"));
    assert_eq!(
        (fb[5].as_str(), fb[6].as_str()),
        ("0", "1"),
        "b in MAINT:\n{st}"
    );
    assert_eq!(
        (fc[5].as_str(), fc[6].as_str()),
        ("0", "0"),
        "c DOWN:\n{st}"
    );
    // `show stat`: b in MAINT; c DOWN ("DOWN 1/2" once its first check passed:
    // it needs `rise` of them to come back, as HAProxy).
    let stat = must_ask(&sock, "show stat");
    let status = |srv: &str| -> String {
        stat.lines()
            .find(|l| l.starts_with(&format!("li1,{srv},")))
            .and_then(|l| l.split(',').nth(17))
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(status("b"), "MAINT", "{stat}");
    assert!(status("c").starts_with("DOWN"), "{stat}");
    let mut seen = Vec::new();
    for _ in 0..30 {
        seen.push(route(port));
    }
    assert_eq!(
        count(&seen, "A"),
        30,
        "after reload only A serves: {seen:?}"
    );
    // Without the state file the same configuration routes to all three.
    std::fs::remove_file(&state).unwrap();
    let fresh = haproxide(&cfg, &["-sf", &new.pid().to_string()]);
    wait_for(&sock, "show info", |s| {
        s.contains(&format!("\nPid: {}\n", fresh.pid()))
    });
    let mut seen = Vec::new();
    for _ in 0..30 {
        seen.push(route(port));
    }
    assert!(count(&seen, "B") >= 5 && count(&seen, "C") >= 5, "{seen:?}");
}

/// A connection that waits for its server's greeting.
struct Pending(BufReader<TcpStream>);

impl Pending {
    fn open(port: u16) -> Pending {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        Pending(BufReader::new(s))
    }
    /// The greeting if it arrives within `wait`.
    fn greeting(&mut self, wait: Duration) -> Option<String> {
        self.0.get_ref().set_read_timeout(Some(wait)).ok()?;
        let mut line = String::new();
        match self.0.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim().to_string()),
            _ => None,
        }
    }
}

fn stat_field(stat: &str, row: &str, col: &str) -> String {
    let header: Vec<&str> = stat
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let i = header.iter().position(|h| *h == col).unwrap_or(usize::MAX);
    stat.lines()
        .find(|l| l.starts_with(&format!("{row},")))
        .and_then(|l| l.split(',').nth(i))
        .unwrap_or("")
        .to_string()
}

/// `disable/enable frontend`, `set maxconn frontend|server|global`, `set server
/// … health` and `disable/enable health` act on the running engine.
#[test]
fn frontend_maxconn_and_health_commands_act_on_the_engine() {
    let dir = TempDir::new("fe");
    let (a, b, port) = (named("A"), named("B"), free_port());
    let sock = dir.path("admin.sock");
    let cfg = dir.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    maxconn 500\n    stats socket {} level admin\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n    timeout queue 20s\n\
             listen li1\n    bind 127.0.0.1:{port}\n    balance first\n    server a 127.0.0.1:{} check inter 200 rise 1\n    server b 127.0.0.1:{} backup\n",
            sock.display(),
            a.port,
            b.port
        ),
    )
    .unwrap();
    let _p = haproxide(&cfg, &[]);
    wait_for(&sock, "show stat", |s| {
        stat_field(s, "li1,a", "status") == "UP"
    });
    let short = Duration::from_millis(400);

    // disable frontend: connections wait in the backlog, "PAUSED"; enable: served.
    assert_eq!(must_ask(&sock, "disable frontend li1"), "\n");
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,FRONTEND", "status"),
        "PAUSED"
    );
    assert_eq!(
        must_ask(&sock, "disable frontend li1"),
        "All sockets are already disabled.\n\n"
    );
    let mut waiting = Pending::open(port);
    assert_eq!(waiting.greeting(short), None, "a paused frontend accepted");
    assert_eq!(must_ask(&sock, "enable frontend li1"), "\n");
    assert_eq!(
        waiting.greeting(Duration::from_secs(5)).as_deref(),
        Some("A")
    );
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,FRONTEND", "status"),
        "OPEN"
    );

    // set maxconn frontend 2: the third connection waits until it is raised.
    assert_eq!(must_ask(&sock, "set maxconn frontend li1 2"), "\n");
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,FRONTEND", "slim"),
        "2"
    );
    let mut second = Pending::open(port);
    assert_eq!(
        second.greeting(Duration::from_secs(5)).as_deref(),
        Some("A")
    );
    let mut third = Pending::open(port);
    assert_eq!(third.greeting(short), None, "maxconn 2 let a third in");
    assert_eq!(must_ask(&sock, "set maxconn frontend li1 10"), "\n");
    assert_eq!(third.greeting(Duration::from_secs(5)).as_deref(), Some("A"));

    // set maxconn server a 3: with `balance first`, the 4th session queues on a
    // (backup b is not used while a is up); raising it serves the queue.
    assert_eq!(must_ask(&sock, "set maxconn server li1/a 3"), "\n");
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,a", "slim"),
        "3"
    );
    let mut fourth = Pending::open(port);
    assert_eq!(
        fourth.greeting(short),
        None,
        "server maxconn 3 let a 4th in"
    );
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,BACKEND", "qcur"),
        "1"
    );
    assert_eq!(must_ask(&sock, "set maxconn server li1/a 0"), "\n");
    assert_eq!(
        fourth.greeting(Duration::from_secs(5)).as_deref(),
        Some("A")
    );

    // set maxconn global: bounded by the configured one, as HAProxy.
    assert_eq!(
        must_ask(&sock, "set maxconn global 501"),
        "Value out of range.\n\n"
    );
    assert_eq!(must_ask(&sock, "set maxconn global 400"), "\n");
    assert!(must_ask(&sock, "show info").contains("\nMaxconn: 400\n"));

    // set server health down on a (checked): the backup takes over until a check
    // brings a back; disable health keeps it down.
    assert_eq!(must_ask(&sock, "disable health li1/a"), "\n");
    assert_eq!(must_ask(&sock, "set server li1/a health down"), "\n");
    assert_eq!(route(port).as_deref(), Some("B"));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(route(port).as_deref(), Some("B"), "a disabled check ran");
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,a", "check_status"),
        ""
    );
    assert_eq!(must_ask(&sock, "enable health li1/a"), "\n");
    wait_for(&sock, "show stat", |s| {
        stat_field(s, "li1,a", "status") == "UP"
    });
    assert_eq!(route(port).as_deref(), Some("A"));
    // Without a check, forced health stays as set.
    assert_eq!(
        must_ask(&sock, "enable health li1/b"),
        "Health check was not configured on this server, cannot enable.\n\n"
    );
    assert_eq!(must_ask(&sock, "set server li1/a state maint"), "\n");
    assert_eq!(must_ask(&sock, "set server li1/b health down"), "\n");
    assert_eq!(route(port), None, "no server left");
    assert_eq!(must_ask(&sock, "set server li1/b health up"), "\n");
    assert_eq!(route(port).as_deref(), Some("B"));

    // shutdown frontend: its listener closes for good ("STOP"); its sessions go on.
    assert_eq!(must_ask(&sock, "shutdown frontend li1"), "\n");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening"
    );
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,FRONTEND", "status"),
        "STOP"
    );
    assert_eq!(
        must_ask(&sock, "shutdown frontend li1"),
        "Frontend was already shut down.\n\n"
    );
    assert_eq!(
        must_ask(&sock, "enable frontend li1"),
        "Frontend was previously shut down, cannot enable.\n\n"
    );
    second.0.get_mut().write_all(b"ping\n").unwrap();
    let mut line = String::new();
    second.0.read_line(&mut line).unwrap();
    assert_eq!(line, "ping\n");
    drop((waiting, second, third, fourth));
}

/// An agent that answers every connection with `reply` and closes.
fn agent(reply: &'static str) -> OnThread {
    OnThread::start(move || tcp::reply(false, reply.as_bytes()))
}

/// `set weight` changes the balance ratio; `set server … agent up|down`,
/// `disable/enable agent` act on a server's agent check.
#[test]
fn weights_and_agent_commands_act_on_routing() {
    let dir = TempDir::new("rt-agent");
    let (a, b, port) = (named("A"), named("B"), free_port());
    let agent_srv = agent("up\n");
    let ag = agent_srv.port;
    let sock = dir.path("admin.sock");
    let cfg = dir.path("h.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} level admin\n\
             defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             listen li1\n    bind 127.0.0.1:{port}\n    server a 127.0.0.1:{} agent-check agent-port {ag} agent-inter 60s\n    server b 127.0.0.1:{}\n",
            sock.display(),
            a.port,
            b.port
        ),
    )
    .unwrap();
    let _p = haproxide(&cfg, &[]);
    wait_for(&sock, "show stat", |s| {
        stat_field(s, "li1,a", "agent_status") == "L7OK"
    });
    // Weight 3 against 1: three connections of four go to a.
    assert_eq!(must_ask(&sock, "set weight li1/a 3"), "\n");
    assert_eq!(must_ask(&sock, "get weight li1/a"), "3 (initial 1)\n\n");
    let seen: Vec<Option<String>> = (0..40).map(|_| route(port)).collect();
    assert_eq!(count(&seen, "A"), 30, "{seen:?}");
    assert_eq!(count(&seen, "B"), 10, "{seen:?}");
    assert_eq!(must_ask(&sock, "set server li1/a weight 100%"), "\n");
    let seen: Vec<Option<String>> = (0..40).map(|_| route(port)).collect();
    assert_eq!(count(&seen, "A"), 20, "{seen:?}");

    // Agent down takes a out; agent up brings it back.
    assert_eq!(must_ask(&sock, "set server li1/a agent down"), "\n");
    let seen: Vec<Option<String>> = (0..10).map(|_| route(port)).collect();
    assert_eq!(count(&seen, "B"), 10, "{seen:?}");
    // HAProxy 2.6 words it so (checked by hand against /usr/sbin/haproxy).
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,a", "status"),
        "DOWN (agent)"
    );
    assert_eq!(must_ask(&sock, "set server li1/a agent up"), "\n");
    let seen: Vec<Option<String>> = (0..10).map(|_| route(port)).collect();
    assert_eq!(count(&seen, "A"), 5, "{seen:?}");
    assert_eq!(must_ask(&sock, "set server li1/a state drain"), "\n");
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,a", "status"),
        "DRAIN (agent)"
    );
    assert_eq!(must_ask(&sock, "set server li1/a state ready"), "\n");
    assert_eq!(
        must_ask(&sock, "set server li1/b agent up"),
        "agent checks are not enabled on this server.\n\n"
    );
    // disable agent: srv_agent_state CONFIGURED|AGENT without ENABLED (0x12).
    assert_eq!(must_ask(&sock, "disable agent li1/a"), "\n");
    let st = must_ask(&sock, "show servers state li1");
    assert_eq!(state_fields(&st, "a")[14], "18", "{st}");
    assert_eq!(
        stat_field(&must_ask(&sock, "show stat"), "li1,a", "agent_status"),
        ""
    );
    assert_eq!(must_ask(&sock, "enable agent li1/a"), "\n");
    let st = must_ask(&sock, "show servers state li1");
    assert_eq!(state_fields(&st, "a")[14], "22", "{st}");
}

/// Three sessions in a burst, each sending 1000 bytes and getting its greeting
/// ("A\n") and the echo back. While they are open, `show stat` shows the session
/// rates (management.txt §9.1 `rate`, `rate_max`, `conn_rate`, `conn_rate_max`;
/// `show info` `ConnRate`, `SessRate` and maxima) and, with `live`, their bytes on
/// the FRONTEND, BACKEND and server rows (`bin`/`bout` as they flow). Once they are
/// closed the bytes are the same (counted once). Run against haproxide and, when
/// installed, HAProxy 2.6 with the same configuration: the same numbers, except
/// that HAProxy 2.6 adds a TCP session's bytes only when its stream task runs
/// (here: when it closes), so its open sessions show 0.
fn live_bytes_and_rates(sock: &Path, port: u16, who: &str, live: bool) {
    let t0 = Instant::now();
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut msg = vec![b'x'; 999];
        msg.push(b'\n');
        s.write_all(&msg).unwrap();
        let mut got = vec![0u8; 1002];
        s.read_exact(&mut got).unwrap();
        assert_eq!(&got[..2], b"A\n", "{who}");
        open.push(s);
    }
    let stat = must_ask(sock, "show stat");
    let info = must_ask(sock, "show info");
    let burst = t0.elapsed();
    // Rates over the last second: exact while the burst is less than a second old.
    assert!(
        burst < Duration::from_millis(900),
        "{who}: burst took {burst:?}"
    );
    let rows = ["li1,FRONTEND", "li1,BACKEND", "li1,a"];
    for r in rows {
        assert_eq!(stat_field(&stat, r, "rate"), "3", "{who} {r}: {stat}");
        assert_eq!(stat_field(&stat, r, "rate_max"), "3", "{who} {r}: {stat}");
        assert_eq!(stat_field(&stat, r, "scur"), "3", "{who} {r}: {stat}");
    }
    assert_eq!(stat_field(&stat, "li1,FRONTEND", "conn_rate"), "3", "{who}");
    assert_eq!(
        stat_field(&stat, "li1,FRONTEND", "conn_rate_max"),
        "3",
        "{who}"
    );
    let info_field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
            .unwrap_or("")
            .to_string()
    };
    for k in ["ConnRate", "SessRate", "MaxConnRate", "MaxSessRate"] {
        assert_eq!(info_field(k), "3", "{who} {k}: {info}");
    }

    let bytes_are = |stat: &str, bin: &str, bout: &str| {
        rows.iter()
            .all(|r| stat_field(stat, r, "bin") == bin && stat_field(stat, r, "bout") == bout)
    };
    if live {
        wait_for(sock, "show stat", |s| bytes_are(s, "3000", "3006"));
        // `TotalBytesOut`: to the clients and to the server (HAProxy also counts
        // its CLI's output, haproxide does not).
        let info = must_ask(sock, "show info");
        assert!(info.contains("\nTotalBytesOut: 6006\n"), "{who}: {info}");
    }
    // Closed: the same bytes, not twice.
    drop(open);
    let stat = wait_for(sock, "show stat", |s| {
        stat_field(s, "li1,FRONTEND", "scur") == "0" && stat_field(s, "li1,a", "scur") == "0"
    });
    let stat = if bytes_are(&stat, "3000", "3006") {
        stat
    } else {
        // HAProxy's session tasks may end a moment after `scur` drops.
        wait_for(sock, "show stat", |s| bytes_are(s, "3000", "3006"))
    };
    assert_eq!(stat_field(&stat, "li1,a", "stot"), "3", "{who}: {stat}");
    // `clear counters all` zeroes them.
    assert_eq!(must_ask(sock, "clear counters all"), "\n");
    let stat = must_ask(sock, "show stat");
    assert!(bytes_are(&stat, "0", "0"), "{who}: {stat}");
}

#[test]
fn show_stat_counts_bytes_of_open_sessions_and_session_rates_like_haproxy() {
    let dir = TempDir::new("rt-live");
    let a = named("A");
    let cfg = |tag: &str, port: u16| {
        let sock = dir.path(&format!("{tag}.sock"));
        let cfg = dir.path(&format!("{tag}.cfg"));
        std::fs::write(
            &cfg,
            format!(
                "global\n    stats socket {} level admin\n\
                 defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n\
                 listen li1\n    bind 127.0.0.1:{port}\n    server a 127.0.0.1:{}\n",
                sock.display(),
                a.port
            ),
        )
        .unwrap();
        (cfg, sock)
    };
    let port = free_port();
    let (c, sock) = cfg("ours", port);
    let p = haproxide(&c, &[]);
    wait_for(&sock, "show cli level", |s| s == "admin\n\n");
    live_bytes_and_rates(&sock, port, "haproxide", true);
    drop(p);
    let port = free_port();
    let (c, sock) = cfg("haproxy", port);
    if let Some(_h) = haproxy(&c) {
        wait_for(&sock, "show cli level", |s| s == "admin\n\n");
        live_bytes_and_rates(&sock, port, "haproxy", false);
    }
}

/// The configuration of [`show_sess_lists_every_session_as_haproxy`]: `fe1`
/// holds a session in `tcp-request content` inspection until it sent 4 bytes,
/// `be1`'s only server takes one session at a time (the next one queues).
fn sess_cfg(dir: &TempDir, tag: &str, server: u16) -> (PathBuf, PathBuf, u16, u16) {
    let sock = dir.path(&format!("{tag}.sock"));
    let (p1, p2) = (free_port(), free_port());
    let cfg = dir.path(&format!("{tag}.cfg"));
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} level admin\n\
             defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n    timeout queue 30s\n\
             frontend fe1\n    bind 127.0.0.1:{p1}\n    tcp-request inspect-delay 30s\n    tcp-request content accept if {{ req.len gt 3 }}\n    default_backend be1\n\
             backend be1\n    server s1 127.0.0.1:{server} maxconn 1\n\
             listen li2\n    bind 127.0.0.1:{p2}\n    server s2 127.0.0.1:{server}\n",
            sock.display()
        ),
    )
    .unwrap();
    (cfg, sock, p1, p2)
}

/// Opens, in order: a session established on s1, one queued behind it, one
/// inspected (no backend yet), one on li2. Returns the client sockets.
fn sess_clients(p1: u16, p2: u16) -> Vec<TcpStream> {
    let connect = |port: u16, data: &[u8]| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(data).unwrap();
        s
    };
    let mut established = connect(p1, b"hello\n");
    let mut greeting = String::new();
    BufReader::new(established.try_clone().unwrap())
        .read_line(&mut greeting)
        .unwrap();
    assert_eq!(greeting, "S\n");
    established.write_all(b"").unwrap();
    let queued = connect(p1, b"hello\n");
    let inspected = connect(p1, b"");
    let other = connect(p2, b"");
    vec![established, queued, inspected, other]
}

/// `fe be srv` of each `show sess` line, sorted, without HAProxy's own CLI
/// session (fe=GLOBAL, which haproxide does not list).
fn sess_triples(sess: &str) -> Vec<String> {
    let field = |l: &str, k: &str| -> String {
        l.split(' ')
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or("?")
            .to_string()
    };
    let mut v: Vec<String> = sess
        .lines()
        .filter(|l| l.starts_with("0x") && !l.contains(" fe=GLOBAL "))
        .map(|l| {
            format!(
                "{} {} {}",
                field(l, "fe="),
                field(l, "be="),
                field(l, "srv=")
            )
        })
        .collect();
    v.sort();
    v
}

/// `show sess` lists every session, also those inspected by `tcp-request
/// content` rules (`be=<NONE>`) and queued (`srv=<none>`), as HAProxy 2.6 does
/// for the same configuration and clients; `show sess <id>` prints the detailed
/// block's frontend/backend/server lines with HAProxy's ids; `shutdown session`
/// cuts a queued and an inspected session at once (their timeouts are 30 s).
#[test]
fn show_sess_lists_every_session_as_haproxy() {
    let dir = TempDir::new("rt-sess");
    let srv = named("S");
    let expected = [
        "fe1 <NONE> <none>",
        "fe1 be1 <none>",
        "fe1 be1 s1",
        "li2 li2 s2",
    ];
    let ready = |s: &str| sess_triples(s) == expected;
    if let Some(theirs) = {
        let (cfg, sock, p1, p2) = sess_cfg(&dir, "theirs", srv.port);
        haproxy(&cfg).map(|p| (p, sock, p1, p2))
    } {
        let (_p, sock, p1, p2) = theirs;
        wait_for(&sock, "show info", |s| s.contains("Pid:"));
        let _clients = sess_clients(p1, p2);
        wait_for(&sock, "show sess", ready);
    } else {
        eprintln!("no /usr/sbin/haproxy: not compared");
    }

    let (cfg, sock, p1, p2) = sess_cfg(&dir, "ours", srv.port);
    let _ours = haproxide(&cfg, &[]);
    wait_for(&sock, "show cli level", |s| s == "admin\n\n");
    let clients = sess_clients(p1, p2);
    let sess = wait_for(&sock, "show sess", ready);
    let id_of = |triple: &str| -> String {
        sess.lines()
            .find(|l| sess_triples(l) == [triple])
            .and_then(|l| l.split(':').next())
            .unwrap_or_default()
            .to_string()
    };
    let (est, queued, inspected) = (
        id_of("fe1 be1 s1"),
        id_of("fe1 be1 <none>"),
        id_of("fe1 <NONE> <none>"),
    );
    for l in sess.lines().filter(|l| !l.is_empty()) {
        assert!(
            l.starts_with("0x") && l.contains(": proto=tcpv4 src=127.0.0.1:"),
            "{l}"
        );
    }
    // The detailed block, with HAProxy's ids (GLOBAL takes 1: fe1 2, be1 3).
    let block = must_ask(&sock, &format!("show sess {est}"));
    assert!(block.starts_with(&format!("{est}: [")), "{block}");
    assert!(
        block.contains(&format!(
            "\n  frontend=fe1 (id=2 mode=tcp) addr=127.0.0.1:{p1}\n  backend=be1 (id=3 mode=tcp)\n  server=s1 (id=1) addr=127.0.0.1:{}\n",
            srv.port
        )),
        "{block}"
    );
    let block = must_ask(&sock, &format!("show sess {queued}"));
    assert!(
        block.contains("\n  backend=be1 (id=3 mode=tcp)\n  server=<none> (id=0)\n"),
        "{block}"
    );
    let block = must_ask(&sock, &format!("show sess {inspected}"));
    assert!(
        block.contains("\n  backend=<NONE> (id=-1 mode=-)\n  server=<NONE> (id=-1)\n"),
        "{block}"
    );
    let all = must_ask(&sock, "show sess all");
    assert_eq!(all.matches("\n  frontend=").count(), 4, "{all}");
    assert_eq!(
        must_ask(&sock, "show sess 0xfffffff"),
        "Session not found.\n\n"
    );

    // Cut the queued and the inspected sessions: their clients see the close
    // long before any 30 s timeout; the others go on.
    let t0 = Instant::now();
    assert_eq!(must_ask(&sock, &format!("shutdown session {queued}")), "\n");
    assert_eq!(
        must_ask(&sock, &format!("shutdown session {inspected}")),
        "\n"
    );
    for c in &clients[1..3] {
        let mut buf = [0u8; 16];
        let n = (&*c).read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "session not cut: {:?}", &buf[..n]);
    }
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    wait_for(&sock, "show sess", |s| {
        sess_triples(s) == ["fe1 be1 s1", "li2 li2 s2"]
    });
}

/// Proxy and server ids as HAProxy 2.6 numbers them (forced `id`s on a `listen`
/// and on servers move the automatic counter on), compared byte for byte in
/// `show servers state` (but the time since the last change), plus `show
/// backend`, `show table` and `show errors` for an unknown proxy.
#[test]
fn ids_and_simple_commands_answer_as_haproxy() {
    let dir = TempDir::new("rt-ids");
    let cfg = |tag: &str| -> (PathBuf, PathBuf) {
        let sock = dir.path(&format!("{tag}.sock"));
        let cfg = dir.path(&format!("{tag}.cfg"));
        let (p1, p2) = (free_port(), free_port());
        std::fs::write(
            &cfg,
            format!(
                "global\n    stats socket {} level admin\n\
                 defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
                 frontend fe1\n    bind 127.0.0.1:{p1}\n    default_backend be1\n\
                 backend be1\n    server s1 127.0.0.1:9001\n    server s2 127.0.0.1:9002 id 7\n    server s3 127.0.0.1:9003\n    server s4 127.0.0.1:9004 id 3\n    server s5 127.0.0.1:9005\n\
                 listen li1\n    id 9\n    bind 127.0.0.1:{p2}\n    server a1 127.0.0.1:9006\n\
                 backend be2\n    server b1 127.0.0.1:9007\n\
                 backend bd\n    disabled\n    server d1 127.0.0.1:9008 weight 3\n\
                 backend be3\n    server c1 127.0.0.1:9009\n",
                sock.display()
            ),
        )
        .unwrap();
        (cfg, sock)
    };
    let (ours_cfg, ours) = cfg("ours");
    let _p = haproxide(&ours_cfg, &[]);
    let state = wait_for(&ours, "show servers state", |s| s.lines().count() > 10);
    // be1 3, li1 9 (forced), be2 5 (the counter moved past li1); s3 gets 4
    // (3 is s4's), s5 6.
    let ids: Vec<String> = state
        .lines()
        .skip(2)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            format!("{}/{} {} {} {}", f[1], f[3], f[0], f[2], f[15..17].join(""))
        })
        .collect();
    assert_eq!(
        ids,
        [
            "be1/s1 3 1 00",
            "be1/s2 3 7 01",
            "be1/s3 3 4 00",
            "be1/s4 3 3 01",
            "be1/s5 3 6 00",
            "li1/a1 9 1 10",
            "be2/b1 5 1 00",
            "bd/d1 6 0 00",
            "be3/c1 7 1 00"
        ]
    );
    // A disabled backend is listed, read by `get weight`, refused otherwise.
    let cmds = [
        "show backend",
        "show table",
        "show table be1",
        "show errors nope",
        "show errors bd",
        "get weight bd/d1",
        "set server bd/d1 state maint",
        "set weight bd/zz 2",
    ];
    let Some(_h) = haproxy(&cfg("theirs").0) else {
        eprintln!("no /usr/sbin/haproxy: not compared");
        return;
    };
    let theirs = dir.path("theirs.sock");
    let theirs_state = wait_for(&theirs, "show servers state", |s| s.lines().count() > 10);
    same_servers_state(&state, &theirs_state);
    // `show errors` prints the time of the request to the millisecond: same format
    // (24 characters), not the same instant.
    let masked = |s: String| -> String {
        let tag = "captured on [";
        match (s.find(tag), s.find("] :")) {
            (Some(a), Some(b)) if b == a + tag.len() + 24 => {
                format!("{}DATE{}", &s[..a + tag.len()], &s[b..])
            }
            _ => s,
        }
    };
    for cmd in cmds {
        assert_eq!(
            masked(must_ask(&ours, cmd)),
            masked(must_ask(&theirs, cmd)),
            "{cmd}"
        );
    }
    // `show info`: the stats socket is a listener, the connection asking is a
    // job, and every CLI connection counts in CumConns and CumReq (2.6.12).
    let info = |sock: &Path, key: &str| -> i64 {
        let text = must_ask(sock, "show info");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {text}"))
    };
    // The previous commands' connections are closed by the client; each process
    // notices the EOF on its own schedule (under load, haproxide's CLI task may not
    // have run yet), so the counts are compared once both have settled, within 3 s.
    for key in ["Listeners", "Jobs", "CurrConns"] {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let (a, b) = (info(&ours, key), info(&theirs, key));
            if a == b || Instant::now() > deadline {
                assert_eq!(a, b, "{key}");
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_eq!(info(&ours, "Listeners"), 3);
    for key in ["CumConns", "CumReq"] {
        for sock in [&ours, &theirs] {
            let first = info(sock, key);
            assert_eq!(info(sock, key) - first, 1, "{key} of {}", sock.display());
        }
    }
}
