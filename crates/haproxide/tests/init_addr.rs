//! `server-template ... init-addr none` and `init-addr last,libc,none` with a name
//! that does not resolve (configuration.txt §5.2 `init-addr`, issue 16/17): the
//! servers start in HAProxy's resolution maintenance (RMAINT: admin state 0x20,
//! `srv_addr` "-", the name in `srv_fqdn`, "MAINT (resolution)"), `enable server`
//! does not lift it, only a `libc` attempt that failed is warned about. Each fact
//! compared with HAProxy 2.6.12 started on the same configuration.

use std::path::Path;
use std::process::Command;

mod common;
use common::{free_port, haproxide, haproxy, must_ask, wait_for, TempDir};

fn config(sock: &Path, port: u16, ok: u16) -> String {
    format!(
        "global\n  stats socket {} level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten l\n  bind 127.0.0.1:{port}\n  server-template srv 3 no-such-host.invalid:80 check init-addr none\n  server-template alt 2 no-such-host.invalid:81 init-addr last,libc,none\n  server ok 127.0.0.1:{ok}\n",
        sock.display()
    )
}

/// `show servers state` rows without the time since the last change, `show stat`'s
/// server name, status and addr, after `enable server l/srv1`.
fn observe(prog: &str, dir: &TempDir) -> (Vec<String>, Vec<String>, Vec<String>) {
    let sock = dir.path(&format!("{prog}.sock"));
    let cfg = dir.path(&format!("{prog}.cfg"));
    std::fs::write(&cfg, config(&sock, free_port(), free_port())).unwrap();
    // The warnings `-c` prints (pid and path aside).
    let bin = if prog == "haproxy" {
        "haproxy"
    } else {
        env!("CARGO_BIN_EXE_haproxide")
    };
    let out = Command::new(bin)
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
        .unwrap();
    let warnings = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("[WARNING]"))
        .filter_map(|l| {
            l.split_once(" : ")
                .map(|(_, r)| r.replace(&*cfg.to_string_lossy(), "CFG"))
        })
        .collect();
    let _p = if prog == "haproxy" {
        haproxy(&cfg).expect("haproxy 2.6.12 is installed (scripts/install-deps)")
    } else {
        haproxide(&cfg, &[])
    };
    wait_for(&sock, "show servers state l", |s| s.contains(" ok "));
    must_ask(&sock, "enable server l/srv1");
    let state = must_ask(&sock, "show servers state l")
        .lines()
        .skip(2)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut f: Vec<&str> = l.split(' ').collect();
            if f.len() > 9 {
                f[9] = "T";
            }
            f.join(" ")
        })
        .collect();
    let stat = must_ask(&sock, "show stat")
        .lines()
        .filter(|l| {
            l.starts_with("l,") && !l.starts_with("l,FRONTEND") && !l.starts_with("l,BACKEND")
        })
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{} {} {}", f[1], f[17], f.get(73).copied().unwrap_or("?"))
        })
        .collect();
    (warnings, state, stat)
}

#[test]
fn unresolved_template_servers_start_in_resolution_maintenance_as_haproxy() {
    let dir = TempDir::new("init-addr");
    let theirs = observe("haproxy", &dir);
    let ours = observe("haproxide", &dir);
    assert_eq!(ours.0, theirs.0, "warnings of -c");
    assert_eq!(theirs.0.len(), 2, "{:?}", theirs.0);
    // The ok server's port differs between the runs.
    let strip = |v: &Vec<String>| -> Vec<String> {
        v.iter()
            .map(|l| {
                if l.contains(" ok ") || l.starts_with("ok ") {
                    "ok".into()
                } else {
                    l.clone()
                }
            })
            .collect()
    };
    assert_eq!(strip(&ours.1), strip(&theirs.1), "show servers state");
    assert_eq!(strip(&ours.2), strip(&theirs.2), "show stat");
    assert!(
        theirs.1.iter().any(|l| l.contains(" srv1 - 0 32 ")),
        "{:?}",
        theirs.1
    );
}
