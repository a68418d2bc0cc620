//! `stick` rules against HAProxy 2.6.12 (configuration.txt §4.2 `stick match`,
//! `stick on`, `stick store-request`, `stick store-response`; §3.5 `table` in a
//! `peers` section, `srvkey addr`): the same requests through both proxies are
//! served by the same servers, and `show table` prints the same entries
//! (`server_id`, `server_key`; addresses and `exp` masked).

mod common;

use std::path::Path;

use common::stick::{masked, named_origin, served_by};
use common::{ask, free_port, wait_for, TempDir};

fn config(dir: &Path, tag: &str, http: u16, tcp: u16, srv: &[u16]) -> std::path::PathBuf {
    let cfg = dir.join(format!("{tag}.cfg"));
    let d = dir.display();
    let peer = free_port();
    let [a, b, c, t1, t2] = srv else {
        panic!("five servers");
    };
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {d}/{tag}.sock level admin\n    localpeer A\n\
             defaults\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             peers pp\n    peer A 127.0.0.1:{peer}\n    table t type string len 16 size 100 expire 1m srvkey addr\n\
             backend web\n    mode http\n    balance roundrobin\n\
             \x20   stick-table type string len 16 size 100 expire 1m\n\
             \x20   stick match req.cook(SERVERID)\n\
             \x20   stick on url_param(user),lower table pp/t if {{ path_beg /u }}\n\
             \x20   stick store-request req.hdr(x-user),field(1,@) table pp/t unless {{ req.hdr(x-skip) -m found }}\n\
             \x20   stick store-response res.cook(SERVERID)\n\
             \x20   server s1 127.0.0.1:{a}\n    server s2 127.0.0.1:{b}\n    server s3 127.0.0.1:{c}\n\
             backend raw\n    mode tcp\n    balance roundrobin\n\
             \x20   stick-table type ip size 10 expire 1m\n\
             \x20   stick on src\n\
             \x20   server t1 127.0.0.1:{t1}\n    server t2 127.0.0.1:{t2}\n\
             frontend fe\n    mode http\n    bind 127.0.0.1:{http}\n    default_backend web\n\
             frontend ft\n    mode tcp\n    bind 127.0.0.1:{tcp}\n    default_backend raw\n"
        ),
    )
    .expect("write config");
    cfg
}

#[test]
fn stick_rules_and_peers_tables_as_haproxy() {
    let dir = TempDir::new("stick-rules");
    let srv: Vec<u16> = ["s1", "s2", "s3", "t1", "t2"]
        .iter()
        .map(|n| named_origin(n))
        .collect();
    let mut runs = Vec::new();
    for tag in ["theirs", "ours"] {
        let (http, tcp) = (free_port(), free_port());
        let cfg = config(dir.dir(), tag, http, tcp, &srv);
        let Some(guard) = common::either(tag, &cfg) else {
            return;
        };
        let admin = dir.dir().join(format!("{tag}.sock"));
        wait_for(&admin, "show table", |a| a.contains("# table: web"));
        let mut seen = Vec::new();
        let seq: [(&str, &str); 14] = [
            // store-response: the cookie the server set names its entry.
            ("/login", ""),
            ("/", "Cookie: SERVERID=s1\r\n"),
            ("/", ""),
            ("/", "Cookie: SERVERID=s1\r\n"),
            // stick on with a converter, under a condition, in a peers table.
            ("/u?user=Bob", ""),
            ("/u?user=BOB", ""),
            ("/u?user=bob", "Cookie: SERVERID=s1\r\n"),
            // store-request: the first storing rule per table applies.
            ("/", "x-user: alice@example\r\n"),
            ("/u?user=zed", "x-user: zoe@example\r\n"),
            ("/", "x-user: carol\r\nx-skip: 1\r\n"),
            ("/login", "Cookie: SERVERID=nosuch\r\n"),
            ("/", "Cookie: SERVERID=nosuch\r\n"),
            ("/u?user=ALICE", ""),
            ("/u?user=zed", ""),
        ];
        for (path, extra) in seq {
            seen.push(format!(
                "{path} {extra:?} -> {}",
                served_by(http, path, extra)
            ));
        }
        for _ in 0..3 {
            seen.push(format!("tcp -> {}", served_by(tcp, "/", "")));
        }
        for cmd in [
            "show table",
            "show table web",
            "show table pp/t",
            "show table raw",
            "show table pp/t data.server_id eq 3",
            "show table pp/t key bob",
        ] {
            let a = ask(&admin, cmd).unwrap_or_else(|| format!("no answer to {cmd}"));
            seen.push(format!("{cmd} -> {}", masked(&a)));
        }
        drop(guard);
        runs.push(seen);
    }
    let [theirs, ours] = &runs[..] else {
        return;
    };
    for (t, o) in theirs.iter().zip(ours) {
        assert_eq!(t, o, "haproxy (left) vs haproxide (right)");
    }
    assert_eq!(theirs.len(), ours.len());
    // Persistence held: the cookie's server served the cookie's requests.
    assert!(ours[1].ends_with("-> s1"), "{ours:?}");
}
