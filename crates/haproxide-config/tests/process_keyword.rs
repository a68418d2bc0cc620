//! `process` on `bind` and `stats socket` lines (configuration.txt §5.1,
//! deprecated in HAProxy 2.6, removed in 2.7): read against HAProxy's one
//! process, warned about when valid, refused otherwise, with HAProxy 2.6's
//! texts, compared with the real `haproxy -c` (the oracle).

#[path = "support/check26.rs"]
mod check26;
use check26::check;

#[path = "support/oracle.rs"]
mod oracle;

const CFG: &str = "global\n stats socket /tmp/hx-s1.sock process 1\n stats socket /tmp/hx-s2.sock process 2\n \
stats socket /tmp/hx-s3.sock process all\n stats socket /tmp/hx-s4.sock process 1/2\ndefaults\n mode http\n \
timeout client 1s\n timeout server 1s\n timeout connect 1s\nfrontend f\n bind 127.0.0.1:8001 process 1\n \
bind 127.0.0.1:8002 process 3\n bind 127.0.0.1:8003 process odd\n bind 127.0.0.1:8004 process 1-x\n \
default_backend b\nbackend b\n server s 127.0.0.1:1\n";

/// Ours: (line, HAProxy's text) of each finding about `process`.
fn ours() -> Vec<(u32, String)> {
    check(CFG)
        .diagnostics
        .iter()
        .filter_map(|d| {
            let t = d.haproxy.as_ref()?.text.clone();
            t.contains("process")
                .then(|| (d.span.map_or(0, |s| s.line), t))
        })
        .collect()
}

#[test]
fn process_sets_are_read_against_one_process() {
    let o = ours();
    let lines: Vec<u32> = o.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 3, 4, 5, 12, 13, 14, 15]);
    assert!(o[0]
        .1
        .ends_with("'process 1' on 'bind' lines is deprecated and will be removed in 2.7."));
    assert!(o[1].1.contains(
        "''process' : '2' is not a valid number/range. It supports numbers from 1 to 1."
    ));
    assert!(o[3].1.ends_with("Please use 'thread 2' instead."));
    assert!(o[5].1.ends_with(
        "'process' : '3' is not a valid number/range. It supports numbers from 1 to 1."
    ));
    assert!(o[7]
        .1
        .ends_with("'process' : '1-x' is not a valid number/range."));
    assert!(check(CFG).has_errors());
}

#[test]
fn the_texts_are_haproxy_cs() {
    if !std::path::Path::new("/usr/sbin/haproxy").exists() {
        eprintln!("skipped: no /usr/sbin/haproxy");
        return;
    }
    let (code, stderr) = oracle::Oracle::new("bind-kw").check(CFG);
    assert_eq!(code, Some(1));
    // `parsing [h.cfg:N] : <text>` lines mentioning process, and the
    // continuation of the stats socket's quoted error (a lone quote).
    let theirs: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains("process") || *l == "'")
        .map(|l| l.split_once("] : ").map_or(l, |(_, m)| m).to_string())
        .collect();
    let mine: Vec<String> = ours()
        .into_iter()
        .flat_map(|(_, t)| {
            t.split('\n')
                .map(|l| l.trim_start_matches('\u{2}').to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(mine, theirs);
}
