//! `tcp-request connection|session|content track-sc*`, `sc-inc-gpc*` and
//! `sc-set-gpt0` against HAProxy 2.6.12 (configuration.txt §4.2
//! "tcp-request connection", "tcp-request content"; management.txt
//! `show table`): in HTTP mode (corpus file 213's shape: a string table keyed
//! on `path`, tracked from the frontend and the backend) and in TCP mode
//! (session-level and content-level counters, a rate limit rejecting), the
//! same requests give the same statuses, fetch values and `show table`
//! output (entry address and remaining `exp` masked).

mod common;

use std::path::Path;
use std::time::Duration;

use common::stick::{backend, get, masked};
use common::{ask, free_port, wait_for, TempDir};

const INFO: &str = "%[sc_http_req_cnt(0)] %[sc0_conn_cur] %[sc_get_gpc0(0)] %[sc0_tracked] %[sc1_tracked] %[sc_http_err_rate(0)] %[table_cnt] %[sc0_conn_cnt]";

fn config(dir: &Path, tag: &str, http: u16, tcp: u16, be: u16) -> std::path::PathBuf {
    let cfg = dir.join(format!("{tag}.cfg"));
    let d = dir.display();
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {d}/{tag}-admin.sock level admin\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             frontend F\n    bind 127.0.0.1:{http}\n    mode http\n\
             \x20   acl bad_req path_beg /front\n\
             \x20   stick-table type string len 128 size 2k expire 1h store http_err_rate(10m),http_req_cnt,conn_cnt,conn_cur,gpc0\n\
             \x20   tcp-request inspect-delay 10s\n\
             \x20   tcp-request content track-sc0 path\n\
             \x20   tcp-request content sc-inc-gpc0(0) if {{ path_beg /bump }}\n\
             \x20   http-request deny if bad_req\n\
             \x20   http-request return status 200 content-type text/plain lf-string \"{INFO}\\n\" if {{ path /info }}\n\
             \x20   default_backend B\n\
             backend B\n    mode http\n\
             \x20   acl bad_req path_beg /back\n\
             \x20   tcp-request inspect-delay 10s\n\
             \x20   tcp-request content track-sc1 path\n\
             \x20   stick-table type string len 128 size 2k expire 1h store http_err_rate(10m),http_req_cnt,conn_cnt,conn_cur\n\
             \x20   http-request deny if bad_req\n\
             \x20   server s1 127.0.0.1:{be}\n\
             frontend TT\n    bind 127.0.0.1:{tcp}\n    mode tcp\n\
             \x20   stick-table type ip size 1k expire 1h store conn_cnt,conn_cur,sess_cnt,gpc0,gpc1,gpt0\n\
             \x20   tcp-request connection track-sc0 src\n\
             \x20   tcp-request session sc-inc-gpc1(0)\n\
             \x20   tcp-request inspect-delay 1s\n\
             \x20   tcp-request content track-sc1 src table B2\n\
             \x20   tcp-request content sc-inc-gpc0(1)\n\
             \x20   tcp-request content sc-set-gpt0(0) 42\n\
             \x20   tcp-request content reject if {{ sc0_conn_cnt gt 4 }}\n\
             \x20   default_backend BT\n\
             backend BT\n    mode tcp\n    server s1 127.0.0.1:{be}\n\
             backend B2\n    mode tcp\n\
             \x20   stick-table type ip size 1k expire 1h store conn_cnt,conn_cur,sess_cnt,gpc0\n"
        ),
    )
    .expect("write config");
    cfg
}

#[test]
fn tcp_request_track_sc_counts_as_haproxy() {
    let dir = TempDir::new("tcp_track");
    let be = backend();
    let mut runs = Vec::new();
    for tag in ["theirs", "ours"] {
        let (http, tcp) = (free_port(), free_port());
        let cfg = config(dir.dir(), tag, http, tcp, be);
        let Some(guard) = common::either(tag, &cfg) else {
            return;
        };
        let admin = dir.dir().join(format!("{tag}-admin.sock"));
        wait_for(&admin, "show table", |a| a.contains("# table: TT"));
        let mut seen = Vec::new();
        for p in [
            "/", "/", "/front/x", "/back/y", "/missing", "/bump", "/bump", "/info", "/", "/info",
        ] {
            let (st, body) = get(http, p);
            seen.push(if p == "/info" {
                format!("{p} {st} {body}")
            } else {
                format!("{p} {st}")
            });
        }
        for i in 0..6 {
            let (st, _) = get(tcp, "/");
            seen.push(format!("tcp {i} {st:?}"));
        }
        // The proxies see the last close a moment after the client.
        std::thread::sleep(Duration::from_millis(300));
        for cmd in [
            "show table F",
            "show table B",
            "show table TT",
            "show table B2",
        ] {
            let a = ask(&admin, cmd).unwrap_or_else(|| format!("no answer to {cmd}"));
            // Entries sorted (HAProxy walks its tree in the order of the
            // entries' expiry and addresses, not of their keys).
            let m = masked(&a);
            let mut lines: Vec<&str> = m.lines().collect();
            if lines.len() > 1 {
                lines[1..].sort_unstable();
            }
            seen.push(format!("{cmd} -> {}", lines.join("\n")));
        }
        drop(guard);
        runs.push(seen);
    }
    eprintln!("{:#?}", runs[1]);
    for (t, o) in runs[0].iter().zip(&runs[1]) {
        assert_eq!(t, o, "haproxy (left) vs haproxide (right)");
    }
    assert_eq!(runs[0].len(), runs[1].len());
    // Not vacuous: the 5th TCP connection on is rejected, entries exist.
    assert!(runs[1].iter().any(|s| s == "tcp 5 \"\""), "{:?}", runs[1]);
    assert!(
        runs[1].iter().any(|s| s.contains("key=/bump")),
        "{:?}",
        runs[1]
    );
}
