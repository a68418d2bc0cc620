//! The runtime API of a running `haproxide` (debug build: integer overflow is
//! checked) given every number-taking command with numbers at the edges of the
//! integer types (and a few that are no numbers). Each command must get an answer
//! (a refusal is an answer; a session that panicked closes without one), nothing
//! may be logged as a panic, and the proxy must still serve afterwards
//! (docs/security.md, "Panics": a bad runtime command never takes the proxy down).

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::{free_port, guard, must_ask, named, wait_for, TempDir};

const VALUES: [&str; 20] = [
    "-9223372036854775809",
    "-9223372036854775808",
    "-2147483649",
    "-1",
    "0",
    "1",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "99999999999999999999999",
    "0x7fffffffffffffff",
    "2147483647d",
    "100%",
    "9223372036854775807%",
    "",
];

/// `V` is the value tried.
const COMMANDS: &[&str] = &[
    "set maxconn frontend fe V",
    "set maxconn global V",
    "set maxconn server be/s1 V",
    "set rate-limit connections global V",
    "set rate-limit sessions global V",
    "set rate-limit http-compression global V",
    "set rate-limit ssl-sessions global V",
    "set weight be/s1 V",
    "set server be/s1 weight V",
    "set server be/s1 addr 127.0.0.1 port V",
    "set server be/s1 check-port V",
    "set server be/s1 agent-port V",
    "set server be/s1 fqdn V",
    "set timeout cli V",
    "set table st key 10.0.0.1 data.gpc0 V",
    "set table st key 10.0.0.1 data.conn_cnt V data.http_req_rate V",
    "set table st key V data.gpc0 1",
    "show table st data.gpc0 gt V",
    "show table st data.http_req_rate lt V",
    "clear table st data.gpc0 eq V",
    "clear table st key V",
    "show sess V",
    "shutdown session V",
    "show errors V",
    "show stat V V V",
    "show stat -1 V V typed",
    "show servers state V",
    "show fd V",
    "show acl #V",
    "show map #V",
    "get map #V V",
    "get acl #V V",
    "add map #V V V",
    "del map #V V",
    "clear map #V",
    "add acl #V V",
    "add server be/n V",
    "add server be/n 127.0.0.1:V weight V maxconn V",
    "add server be/n 127.0.0.1:1 inter V rise V fall V slowstart V id V",
    "set dynamic-cookie-key backend be V",
    "experimental-mode on; set var proc.x int(V)",
    "experimental-mode on; set var proc.x expr int(V),add(V),mul(V),div(V),http_date(V)",
    "show events V -n V",
    "show pools V",
    "show activity V",
    "show threads V",
    "show info V",
    "show resolvers V",
    "show peers V",
    "show cache V",
    "set ssl ocsp-response V",
];

#[test]
fn extreme_numbers_on_the_runtime_api_never_panic_or_stop_the_proxy() {
    let dir = TempDir::new("rt-hostile");
    let (a, port) = (named("A"), free_port());
    let sock = dir.path("admin.sock");
    let cfg = dir.path("h.cfg");
    let err = dir.path("stderr");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} level admin\n    stats timeout 5s\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             frontend fe\n    bind 127.0.0.1:{port}\n    http-request track-sc0 src table st\n\
             http-request set-header x %[src,map_ip({},none)]\n    default_backend be\n\
             backend be\n    balance roundrobin\n    server s1 127.0.0.1:{}\n\
             backend st\n    stick-table type ip size 100 expire 1m store gpc0,conn_cnt,http_req_rate(10s)\n",
            sock.display(),
            dir.path("m.map").display(),
            a.port
        ),
    )
    .expect("write h.cfg");
    std::fs::write(dir.path("m.map"), "10.0.0.0/8 ten\n").expect("write m.map");
    let stderr = std::fs::File::create(&err).expect("stderr file");
    let p = guard(
        Command::new(env!("CARGO_BIN_EXE_haproxide"))
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn haproxide"),
    );
    wait_for(&sock, "show info", |s| s.contains("Name: HAProxy"));
    let mut unanswered = Vec::new();
    let mut sent = 0;
    for c in COMMANDS {
        for v in VALUES {
            let cmd = c.replace('V', v);
            sent += 1;
            if common::ask(&sock, &cmd).is_none_or(|a| a.is_empty()) {
                unanswered.push(cmd);
            }
        }
    }
    let log = std::fs::read_to_string(&err).unwrap_or_default();
    let panics: Vec<&str> = log.lines().filter(|l| l.contains("panicked")).collect();
    assert!(
        panics.is_empty(),
        "{} panics in {sent} commands: {panics:#?}",
        panics.len()
    );
    assert!(
        unanswered.is_empty(),
        "{} of {sent} commands had no answer: {unanswered:#?}",
        unanswered.len()
    );
    // Still the same process, still serving.
    assert!(must_ask(&sock, "show info").contains(&format!("\nPid: {}\n", p.pid())));
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect to the frontend");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    std::io::Write::write_all(&mut c, b"GET / HTTP/1.0\r\n\r\n").expect("send");
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    assert!(
        !got.is_empty(),
        "no answer from the proxy after the commands"
    );
}
