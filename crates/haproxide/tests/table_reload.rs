//! A reload keeps the stick tables bound to a `peers` section with the local
//! peer (configuration.txt §3.5 "peers": the old process teaches the new one
//! through the local peer; management.txt §3 `-L`, `-sf`): entries set on the
//! old process are in the new one's `show table`, counters and all; a table
//! without `peers` starts empty. The same steps run through HAProxy 2.6.12
//! (`-db -L me ... -sf`) are recorded, not compared: its new process showed
//! no entry here (measured 2026-12-05; docs/config-support.md).

mod common;

use std::path::Path;
use std::time::Duration;

use common::stick::masked;
use common::{ask, free_port, guard, haproxide, wait_for, wait_until, TempDir};

fn config(dir: &Path, tag: &str, port: u16, peer: u16) -> std::path::PathBuf {
    let cfg = dir.join(format!("{tag}.cfg"));
    let d = dir.display();
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {d}/{tag}.sock level admin\n\
             peers mypeers\n    peer me 127.0.0.1:{peer}\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             frontend F\n    bind 127.0.0.1:{port}\n\
             \x20   stick-table type string len 16 size 10 expire 10m peers mypeers store gpc0,http_req_cnt\n\
             \x20   http-request return status 200\n\
             backend N\n\
             \x20   stick-table type ip size 10 expire 10m store gpc0\n"
        ),
    )
    .expect("write config");
    cfg
}

fn haproxy_l(cfg: &Path, extra: &[&str]) -> Option<common::Proc> {
    let bin = Path::new("/usr/sbin/haproxy");
    if !bin.exists() {
        return None;
    }
    let child = std::process::Command::new(bin)
        .args(["-db", "-L", "me", "-f"])
        .arg(cfg)
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    Some(guard(child))
}

#[test]
fn peers_tables_survive_a_reload_as_haproxy() {
    let dir = TempDir::new("table_reload");
    let mut runs = Vec::new();
    for tag in ["theirs", "ours"] {
        let (port, peer) = (free_port(), free_port());
        let cfg = config(dir.dir(), tag, port, peer);
        let start = |extra: &[&str]| {
            if tag == "theirs" {
                haproxy_l(&cfg, extra)
            } else {
                let mut a = vec!["-L", "me"];
                a.extend_from_slice(extra);
                Some(haproxide(&cfg, &a))
            }
        };
        let Some(old) = start(&[]) else {
            eprintln!("skipped: no /usr/sbin/haproxy");
            return;
        };
        let sock = dir.dir().join(format!("{tag}.sock"));
        wait_for(&sock, "show table", |a| a.contains("# table: N"));
        for cmd in [
            "set table F key alice data.gpc0 3 data.http_req_cnt 7",
            "set table F key bob data.gpc0 1",
            "set table N key 10.0.0.1 data.gpc0 5",
        ] {
            let _ = ask(&sock, cmd);
        }
        if tag == "ours" {
            let h = haproxide_process::handover::default_path(old.pid());
            assert!(wait_until(Duration::from_secs(10), || h.exists()));
        }
        let pid = old.pid().to_string();
        let new = start(&["-sf", &pid]).expect("second start");
        // The old process goes; the new one answers on the socket.
        let gone = wait_until(Duration::from_secs(10), || {
            std::fs::metadata(format!("/proc/{pid}")).is_err()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z "))
        });
        assert!(gone, "{tag}: the old process stops");
        std::thread::sleep(Duration::from_millis(300));
        let mut seen = Vec::new();
        for cmd in ["show table F", "show table N"] {
            let a = ask(&sock, cmd).unwrap_or_else(|| format!("no answer to {cmd}"));
            let m = masked(&a);
            let mut lines: Vec<&str> = m.lines().collect();
            if lines.len() > 1 {
                lines[1..].sort_unstable();
            }
            seen.push(format!("{cmd} -> {}", lines.join("\n")));
        }
        drop(new);
        drop(old);
        runs.push(seen);
    }
    eprintln!("HAProxy 2.6.12: {:#?}", runs[0]);
    assert_eq!(
        runs[1],
        [
            "show table F -> # table: F, type: string, size:10, used:2\n\
             PTR: key=alice use=0 exp=X gpc0=3 http_req_cnt=7\n\
             PTR: key=bob use=0 exp=X gpc0=1 http_req_cnt=0",
            "show table N -> # table: N, type: ip, size:10, used:0",
        ]
    );
}
