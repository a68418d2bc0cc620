//! `program` sections (configuration.txt §3.7; issue 14, corpus 188/120): in
//! master-worker mode the master starts each program with the first worker,
//! restarts those with `option start-on-reload` (the default) at a reload and keeps
//! the others, runs them as `user`, and stops every one of them when it exits.
//! Without master-worker mode the configuration is refused as HAProxy 2.6.12
//! refuses it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, guard, TempDir};

fn log_lines(d: &Path) -> Vec<String> {
    std::fs::read_to_string(d.join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_log(d: &Path, f: impl Fn(&[String]) -> bool) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let l = log_lines(d);
        if f(&l) || Instant::now() > end {
            return l;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

/// `start <name> <pid> <uid>` lines' pids for `name`.
fn starts(lines: &[String], name: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(&format!("start {name} ")))
        .filter_map(|r| r.split(' ').next().map(str::to_string))
        .collect()
}

#[test]
fn programs_started_reloaded_and_stopped_by_the_master() {
    let dir = TempDir::new("programs");
    let d = dir.0.clone();
    let script = d.join("p.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"start $1 $$ $(/usr/bin/id -u)\" >> {0}/log\n\
             trap 'echo \"term $1 $$\" >> {0}/log; exit 0' TERM\n\
             while true; do /bin/sleep 0.1; done\n",
            d.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // The temp dir must be writable by `nobody` for the `user` program.
    let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777));
    // Both programs append to one log: created now, writable by `nobody` too.
    std::fs::write(d.join("log"), "").expect("log");
    let _ = std::fs::set_permissions(d.join("log"), std::fs::Permissions::from_mode(0o666));
    let root = running_as_root();
    let user_line = if root { "    user nobody\n" } else { "" };
    let port = free_port();
    let cfg = d.join("p.cfg");
    let s = script.display();
    std::fs::write(
        &cfg,
        format!(
            "global\n    master-worker\ndefaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
listen l\n    mode tcp\n    bind 127.0.0.1:{port}\n    server s 127.0.0.1:9\n\
program a\n    command {s} a\n{user_line}\
program b\n    command {s} b\n    no option start-on-reload\n"
        ),
    )
    .expect("cfg");
    let mut master = guard(
        Command::new(env!("CARGO_BIN_EXE_haproxide"))
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn haproxide"),
    );
    let l = wait_log(&d, |l| {
        starts(l, "a").len() == 1 && starts(l, "b").len() == 1
    });
    let (a1, b1) = (starts(&l, "a"), starts(&l, "b"));
    assert_eq!((a1.len(), b1.len()), (1, 1), "both programs started: {l:?}");
    if root {
        assert!(
            l.iter()
                .any(|x| x.starts_with("start a ") && x.ends_with(" 65534")),
            "a runs as nobody: {l:?}"
        );
    }
    assert!(l
        .iter()
        .any(|x| x.starts_with("start b ") && x.ends_with(&format!(" {}", current_uid()))));
    // Reload: `a` gets a new instance, `b` keeps its own.
    master.signal(libc::SIGUSR2);
    let l = wait_log(&d, |l| starts(l, "a").len() == 2);
    assert_eq!(starts(&l, "a").len(), 2, "a restarted at the reload: {l:?}");
    std::thread::sleep(Duration::from_millis(500));
    let l = log_lines(&d);
    assert_eq!(starts(&l, "b"), b1, "b not restarted: {l:?}");
    assert!(alive(&b1[0]), "b's first instance still runs");
    assert!(!alive(&a1[0]), "a's first instance was stopped");
    // Stop: every program ends with the master.
    master.signal(libc::SIGTERM);
    let end = Instant::now() + Duration::from_secs(10);
    let all = |l: &[String]| {
        starts(l, "a")
            .into_iter()
            .chain(starts(l, "b"))
            .collect::<Vec<_>>()
    };
    while Instant::now() < end && all(&log_lines(&d)).iter().any(|p| alive(p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let l = log_lines(&d);
    let left: Vec<String> = all(&l).into_iter().filter(|p| alive(p)).collect();
    assert!(left.is_empty(), "programs left running: {left:?} ({l:?})");
    assert!(
        l.iter().any(|x| x.starts_with("term b ")),
        "b got SIGTERM at stop: {l:?}"
    );
}

#[test]
fn program_without_master_worker_is_refused_as_haproxy() {
    let dir = TempDir::new("programs-nomw");
    let cfg = dir.0.join("p.cfg");
    let port = free_port();
    std::fs::write(
        &cfg,
        format!(
            "defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n\
listen l\n    mode tcp\n    bind 127.0.0.1:{port}\n    server s 127.0.0.1:9\n\
program a\n    command /bin/sleep 30\n"
        ),
    )
    .expect("cfg");
    let run = |exe: &str| {
        let out = Command::new(exe)
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdin(Stdio::null())
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (
            out.status.code(),
            err.lines()
                .filter(|l| l.starts_with("[ALERT]"))
                .map(|l| l.split_once(" : ").map(|x| x.1).unwrap_or(l).to_string())
                .collect::<Vec<_>>(),
        )
    };
    let ours = run(env!("CARGO_BIN_EXE_haproxide"));
    assert_eq!(ours.0, Some(1));
    if Path::new("/usr/sbin/haproxy").exists() {
        assert_eq!(
            ours,
            run("/usr/sbin/haproxy"),
            "haproxide vs HAProxy 2.6.12"
        );
    }
}

fn current_uid() -> String {
    String::from_utf8_lossy(
        &Command::new("/usr/bin/id")
            .arg("-u")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default(),
    )
    .trim()
    .to_string()
}

fn running_as_root() -> bool {
    current_uid() == "0"
}
