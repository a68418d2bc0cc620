//! `option external-check` (configuration.txt §4.2 `external-check command`,
//! `external-check path`, global `external-check` + `insecure-fork-wanted`; issue 14,
//! corpus 029). The same configuration runs under haproxide and HAProxy 2.6.12, each
//! with its own scripts: the arguments and the environment the program receives,
//! and the check results (`show stat`: status, check_status, check_code) for a
//! passing, a failing and a hanging program must agree; the hanging program must be
//! killed at `inter` (at most one alive per server) and none may outlive haproxide.
//! Skipped when /usr/sbin/haproxy is absent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::{ask, free_port, haproxide, haproxy, TempDir};

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn config(d: &Path, listen: u16, origin: u16) -> String {
    let d = d.display();
    format!(
        "global\n    external-check\n    insecure-fork-wanted\n    stats socket {d}/admin.sock level admin\n\
defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 2s\n    timeout check 5s\n\
listen li\n    mode http\n    bind 127.0.0.1:{listen}\n    option external-check\n\
    external-check command {d}/chk.sh\n    external-check path \"/usr/bin:/bin\"\n\
    server s1 127.0.0.1:{origin} check inter 200 maxconn 7\n\
backend be\n    option external-check\n    external-check command {d}/chk.sh\n\
    server s2 127.0.0.1:{origin} check inter 200\n    server s3 127.0.0.1:{origin} check inter 200\n\
backend hang\n    option external-check\n    external-check command {d}/hang.sh\n\
    server s4 127.0.0.1:{origin} check inter 300\n"
    )
}

fn alive(pid: &str) -> bool {
    // A zombie is not running code; only a live process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

fn hang_pids(d: &Path) -> Vec<String> {
    std::fs::read_to_string(d.join("hang-pids"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// What one proxy showed, and the pids of the hanging program it started.
fn scenario(tag: &str, start: impl Fn(&Path) -> Option<common::Proc>) -> Option<Vec<String>> {
    let dir = TempDir::new(tag);
    let d = dir.0.clone();
    script(
        &d.join("chk.sh"),
        &format!(
            "{{ echo \"ARGS: $*\"; /usr/bin/env | /usr/bin/sort; }} > {0}/tmp.$$\n\
             /bin/mv {0}/tmp.$$ {0}/rec-$HAPROXY_SERVER_NAME.txt\n\
             [ \"$HAPROXY_SERVER_NAME\" = s3 ] && exit 3\nexit 0\n",
            d.display()
        ),
    );
    script(
        &d.join("hang.sh"),
        &format!("echo $$ >> {}/hang-pids\nexec /bin/sleep 30\n", d.display()),
    );
    let (listen, origin) = (free_port(), free_port());
    let cfg = d.join("p.cfg");
    std::fs::write(&cfg, config(&d, listen, origin)).expect("write cfg");
    let mut p = start(&cfg)?;
    let sock = d.join("admin.sock");
    // Until every server has a result (s4: its first timeout after 300 ms).
    let end = Instant::now() + Duration::from_secs(10);
    let mut stat = String::new();
    while Instant::now() < end {
        stat = ask(&sock, "show stat").unwrap_or_default();
        if stat.contains("PROCTOUT") && stat.contains("PROCERR") && d.join("rec-s2.txt").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let a few more checks of s4 start and time out.
    std::thread::sleep(Duration::from_millis(1000));
    let live_while_running = hang_pids(&d).iter().filter(|p| alive(p)).count();
    let mut out = Vec::new();
    let header: Vec<&str> = stat.lines().next().unwrap_or("").split(',').collect();
    let col = |n: &str| header.iter().position(|h| h.trim_start_matches("# ") == n);
    for line in stat.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let get = |n: &str| col(n).and_then(|i| f.get(i)).copied().unwrap_or("?");
        if get("svname").starts_with('s') && get("svname") != "svname" {
            let st = get("status");
            out.push(format!(
                "{}/{}: {} {} code={}",
                get("pxname"),
                get("svname"),
                st.split(' ').next().unwrap_or(st),
                get("check_status").trim_start_matches("* "),
                get("check_code")
            ));
        }
    }
    for s in ["s1", "s2"] {
        let rec = std::fs::read_to_string(d.join(format!("rec-{s}.txt"))).unwrap_or_default();
        for l in rec.lines().filter(|l| !l.starts_with("PWD=")) {
            let l = l
                .replace(&listen.to_string(), "<listen>")
                .replace(&origin.to_string(), "<origin>");
            out.push(format!("{s}: {l}"));
        }
    }
    out.push(format!(
        "at most one hanging program alive: {}",
        live_while_running <= 1
    ));
    // A request through `li` (s1 passes its check).
    let mut c = TcpStream::connect(("127.0.0.1", listen)).ok()?;
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let mut resp = String::new();
    let _ = c.read_to_string(&mut resp);
    out.push(format!(
        "request: {}",
        resp.lines()
            .next()
            .unwrap_or("")
            .split(' ')
            .nth(1)
            .unwrap_or("")
    ));
    p.signal(libc::SIGTERM);
    drop(p);
    // Nothing the proxy started may outlive it (checked for haproxide only).
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end && hang_pids(&d).iter().any(|p| alive(p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<String> = hang_pids(&d).into_iter().filter(|p| alive(p)).collect();
    for p in &left {
        // Clean up after HAProxy (it may leave its last one running).
        if let Ok(pid) = p.parse::<i32>() {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    }
    out.push(format!("left running after stop: {}", left.len()));
    Some(out)
}

#[test]
fn external_check_as_haproxy() {
    let Some(theirs) = scenario("extchk-haproxy", haproxy) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    let ours = scenario("extchk-haproxide", |c| Some(haproxide(c, &[]))).expect("started");
    eprintln!("haproxide: {ours:#?}\nhaproxy: {theirs:#?}");
    assert!(
        ours.iter().any(|l| l == "be/s3: DOWN PROCERR code=3"),
        "{ours:#?}"
    );
    assert!(
        ours.iter().any(|l| l.starts_with("hang/s4: DOWN PROCTOUT")),
        "{ours:#?}"
    );
    assert!(ours.contains(&"s1: HAPROXY_SERVER_NAME=s1".to_string()));
    assert_eq!(
        ours.last().map(String::as_str),
        Some("left running after stop: 0")
    );
    // HAProxy may leave its last check program running when it stops.
    let n = ours.len() - 1;
    assert_eq!(
        ours[..n],
        theirs[..theirs.len() - 1],
        "haproxide vs HAProxy 2.6.12"
    );
}
