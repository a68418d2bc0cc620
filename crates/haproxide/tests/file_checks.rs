//! What `haproxy -c` 2.6.12 finds in the environment (files, sockets), against
//! `haproxide check --format haproxy` on the same configuration in the same
//! environment: every printed line (pids and NOTICE lines aside) and the exit
//! code must be the same. Pattern and map files (configuration.txt §7.1 `-f`,
//! §7.3.1 `map`), `resolvers` nameservers (§5.3.2), run also without network
//! (`unshare -rn`: a loopback that is down), as the corpus was captured.

mod common;

use std::process::{Command, Output};

const HEAD: &str =
    "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n";

/// Standard error then output, as lines without pids and NOTICE lines.
fn strip(o: &Output) -> Vec<String> {
    let text = String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
    common::check_lines(&text)
}

/// Both programs on `text`, prefixed by `unshare -rn` when `offline`; the
/// differences as text.
fn compare(
    dir: &haproxide_testkit::fs::TempDir,
    i: usize,
    text: &str,
    offline: bool,
) -> Option<String> {
    let path = dir.path(&format!("c{i}.cfg"));
    std::fs::write(&path, text).expect("write the configuration");
    let run = |prog: &str, args: &[&str]| {
        let mut c = if offline {
            Command::new("unshare")
        } else {
            Command::new(prog)
        };
        if offline {
            c.args(["-rn", prog]);
        }
        c.args(args).arg(&path).output().expect("run")
    };
    let theirs = run("haproxy", &["-c", "-f"]);
    let ours = run(env!("CARGO_BIN_EXE_haproxide"), common::CHECK_26);
    let (w, g) = (strip(&theirs), strip(&ours));
    (w != g || theirs.status.code() != ours.status.code()).then(|| {
        format!(
            "{text}\n  haproxy   {:?} {w:#?}\n  haproxide {:?} {g:#?}",
            theirs.status.code(),
            ours.status.code()
        )
    })
}

/// Every case compared online; the differences listed on failure.
fn all_the_same(dir: &haproxide_testkit::fs::TempDir, cases: &[String]) {
    let diffs: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, c)| compare(dir, i, c, false))
        .collect();
    assert!(
        diffs.is_empty(),
        "{} of {}:\n{}",
        diffs.len(),
        cases.len(),
        diffs.join("\n")
    );
}

/// A missing pattern or map file is reported once: HAProxy registers its
/// reference by name before reading it, a second use finds the reference.
/// (Not compared: one name used both as an ACL's `-f` and by `map`, which
/// HAProxy refuses as "already used as one column file".)
#[test]
fn a_missing_pattern_file_is_reported_once_per_name() {
    let dir = haproxide_testkit::fs::TempDir::new("file-checks-patterns");
    let cases = [
        "frontend f\n bind 127.0.0.1:18600\n acl a hdr(host) -f /nonexistent/x.lst\n \
         use_backend b if a\nfrontend g\n bind 127.0.0.1:18601\n acl a req.ssl_sni -f /nonexistent/x.lst\n \
         use_backend b if a\n acl c path -f /nonexistent/y.lst\nbackend b\n server s 127.0.0.1:80\n",
        "frontend f\n bind 127.0.0.1:18600\n acl a hdr(host) -f /nonexistent/x.lst -f /nonexistent/x.lst\n \
         use_backend b if a\nbackend b\n server s 127.0.0.1:80\n",
        "frontend f\n bind 127.0.0.1:18600\n http-request set-var(txn.x) req.hdr(host),map(/nonexistent/m.map)\n \
         http-request set-var(txn.y) req.hdr(host),map(/nonexistent/m.map)\n \
         acl a req.hdr(host),map(/nonexistent/m.map) -m found\n default_backend b\nbackend b\n server s 127.0.0.1:80\n",
    ];
    let cases: Vec<String> = cases.iter().map(|c| format!("{HEAD}{c}")).collect();
    all_the_same(&dir, &cases);
}

/// Nameservers a UDP socket cannot be connected to are warned about, after the
/// proxies' post-parse warnings and before the servers' addresses.
#[test]
fn unreachable_nameservers_are_warned_about_as_haproxy_does() {
    if !common::offline_works() {
        assert!(std::env::var_os("CI").is_none(), "unshare -rn fails in CI");
        eprintln!("unshare -rn fails: skipped");
        return;
    }
    let dir = haproxide_testkit::fs::TempDir::new("file-checks-nameservers");
    let cases = [
        "resolvers dns\n nameserver a 127.0.0.11:53\n nameserver b 10.255.255.53:53\n \
         nameserver c tcp@127.0.0.1:53\nfrontend f\n bind 127.0.0.1:18600\n default_backend b\n\
         backend b\n server s 127.0.0.1:80 resolvers dns\n",
        "resolvers r1\n parse-resolv-conf\n nameserver x [::1]:53\nresolvers r2\n nameserver y 127.0.0.1:5353\n\
         frontend f\n bind 127.0.0.1:18600\n default_backend b\nbackend b\n server s 127.0.0.1:80\n",
        "resolvers dns\n nameserver a 127.0.0.11:53\nfrontend f\n bind 127.0.0.1:18600\n\
         backend b\n server s 127.0.0.1:80\n",
    ];
    let mut diffs = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        for offline in [true, false] {
            diffs.extend(compare(
                &dir,
                2 * i + usize::from(offline),
                &format!("{HEAD}{c}"),
                offline,
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Files read while a line is parsed (bind CA, CRL and ticket key files, DH
/// parameters, network namespaces) and after it (`h1-case-adjust-file`,
/// `httpclient.ssl.ca-file`): missing, or holding nothing HAProxy can use
/// (the PEM blocks CA, CRL and DH files need).
#[test]
fn files_read_for_a_line_are_refused_as_haproxy_does() {
    let dir = haproxide_testkit::fs::TempDir::new("file-checks-files");
    let listen = |global: &str, bind: &str, server: &str| {
        format!(
            "global\n {global}\n{HEAD}listen l\n bind 127.0.0.1:18600 {bind}\n \
             server s 127.0.0.1:80 {server}\n"
        )
    };
    let ca = "/etc/ssl/certs/ca-certificates.crt";
    let mut cases = Vec::new();
    for f in ["/nonexistent/x", "/etc/hostname", ca] {
        cases.push(listen(&format!("ssl-dh-param-file {f}"), "", ""));
        cases.push(listen(&format!("httpclient.ssl.ca-file {f}"), "", ""));
        for k in ["ca-file", "ca-verify-file", "crl-file"] {
            cases.push(listen("", &format!("{k} {f}"), ""));
        }
    }
    // Missing only: their lines are not read here (not compared: a file that
    // opens but holds no valid line).
    cases.push(listen("h1-case-adjust-file /nonexistent/x", "", ""));
    cases.push(listen("", "tls-ticket-keys /nonexistent/x", ""));
    cases.push(listen("ca-base /tmp", "ca-verify-file x", ""));
    cases.push(listen("", "namespace nonexistent", ""));
    cases.push(listen("", "", "namespace nonexistent"));
    all_the_same(&dir, &cases);
}

/// Single addresses (`source`, server `addr`, `agent-addr`; configuration.txt
/// §4.2, §5.2) read as `str2sa_range()` reads them: no port range or offset,
/// and names resolved (from /etc/hosts here, as `--resolve hosts`).
#[test]
fn single_addresses_are_refused_as_haproxy_does() {
    let dir = haproxide_testkit::fs::TempDir::new("file-checks-addresses");
    let values = [
        "127.0.0.1",
        "127.0.0.1:80",
        "localhost",
        "foo.invalid",
        "-1",
        "127.0.0.1:+1",
        "127.0.0.1:80-90",
        "127.0.0.1:x",
        "/tmp/x",
        "[::1]:80",
    ];
    let mut cases = Vec::new();
    for v in values {
        cases.push(format!(
            "{HEAD}listen l\n bind 127.0.0.1:18600\n source {v}\n server s 127.0.0.1:80\n"
        ));
        for k in ["addr", "agent-addr"] {
            cases.push(format!(
                "{HEAD}listen l\n bind 127.0.0.1:18600\n server s 127.0.0.1:80 {k} {v}\n"
            ));
        }
    }
    all_the_same(&dir, &cases);
}
