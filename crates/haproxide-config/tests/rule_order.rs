//! Rules written after rules of a kind that runs later (configuration.txt §4:
//! request rules run by kind, not in file order) and ACLs with nothing to match:
//! the warnings HAProxy 2.6 prints while it parses (cfgparse-listen.c
//! `warnif_misplaced_*`, tcp_rules.c, acl.c), with its texts, compared with the
//! real `haproxy -c` (the oracle, installed by scripts/install-deps).

#[path = "support/check26.rs"]
mod check26;
use check26::check;

use haproxide_config::{Checked, Code};
use haproxide_testkit::fs::TempDir;
use std::process::Command;

/// A frontend holding `lines` (one per entry), line numbers from 8.
fn config(lines: &[&str]) -> String {
    let mut s = String::from(
        "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         frontend f\n bind 127.0.0.1:8443\n",
    );
    for l in lines {
        s.push(' ');
        s.push_str(l);
        s.push('\n');
    }
    s.push_str("backend b\n server s 127.0.0.1:80\n");
    s
}

/// HAProxy's text of a finding.
fn hx_text(d: &haproxide_config::Diagnostic) -> String {
    d.haproxy
        .as_ref()
        .map(|h| h.text.clone())
        .unwrap_or_default()
}

/// The rule-order and ACL warnings, as HAProxy prints them (`parsing [t.cfg:N] : ...`).
fn warnings(c: &Checked) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| {
            d.code == Code::RuleOrder
                || d.haproxy
                    .as_ref()
                    .is_some_and(|h| h.text.starts_with("parsing acl keyword"))
        })
        .map(|d| {
            let text = hx_text(d);
            match d.code {
                Code::RuleOrder => format!(
                    "parsing [t.cfg:{}] : {text}",
                    d.span.map(|s| s.line).unwrap_or(0)
                ),
                _ => text.lines().next().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

/// Each case: the frontend's lines, and the warnings expected (line numbers from 8).
fn cases() -> Vec<(Vec<&'static str>, Vec<&'static str>)> {
    vec![
        // In HAProxy's order: nothing to say.
        (
            vec![
                "tcp-request connection accept",
                "tcp-request session accept",
                "tcp-request content accept",
                "monitor-uri /m",
                "monitor fail if FALSE",
                "http-request set-header x y",
                "redirect prefix /p if FALSE",
                "use_backend b if TRUE",
            ],
            vec![],
        ),
        (
            vec!["use_backend b if TRUE", "http-request deny if FALSE", "http-request allow"],
            vec![
                "parsing [t.cfg:9] : a 'http-request' rule placed after a 'use_backend' rule will still be processed before.",
                "parsing [t.cfg:10] : a 'http-request' rule placed after a 'use_backend' rule will still be processed before.",
            ],
        ),
        (
            vec!["use_backend b if TRUE", "redirect prefix /p if FALSE"],
            vec!["parsing [t.cfg:9] : a 'redirect' rule placed after a 'use_backend' rule will still be processed before."],
        ),
        // The first later kind is named, not the last one written.
        (
            vec![
                "use_backend b if TRUE",
                "redirect prefix /p if FALSE",
                "http-request deny if FALSE",
            ],
            vec![
                "parsing [t.cfg:9] : a 'redirect' rule placed after a 'use_backend' rule will still be processed before.",
                "parsing [t.cfg:10] : a 'http-request' rule placed after a 'redirect' rule will still be processed before.",
            ],
        ),
        (
            vec!["http-request deny if FALSE", "tcp-request content accept"],
            vec!["parsing [t.cfg:9] : a 'tcp-request' rule placed after an 'http-request' rule will still be processed before."],
        ),
        (
            vec!["tcp-request content accept", "tcp-request connection accept"],
            vec!["parsing [t.cfg:9] : a 'tcp-request' rule placed after a 'tcp-request content' rule will still be processed before."],
        ),
        (
            vec!["tcp-request content accept", "tcp-request session accept"],
            vec!["parsing [t.cfg:9] : a 'tcp-request' rule placed after a 'tcp-request content' rule will still be processed before."],
        ),
        (
            vec!["monitor-uri /m", "http-request deny if FALSE", "monitor fail if FALSE"],
            vec!["parsing [t.cfg:10] : a 'monitor fail' rule placed after an 'http-request' rule will still be processed before."],
        ),
        // Kinds HAProxy does not order: no warning.
        (
            vec!["use_backend b if TRUE", "http-response set-header x y", "tcp-request inspect-delay 1s"],
            vec![],
        ),
        // An ACL with nothing after its criterion never matches, unless boolean.
        (
            vec!["acl a path_beg", "acl b path_beg --", "acl c ssl_fc", "acl d hdr(host),lower"],
            vec!["parsing acl keyword 'path_beg' :", "parsing acl keyword 'hdr(host),lower' :"],
        ),
    ]
}

#[test]
fn rules_out_of_order_are_warned_as_haproxy_warns() {
    for (lines, want) in cases() {
        let c = check(&config(&lines));
        assert_eq!(warnings(&c), want, "{lines:?}");
        assert_eq!(c.exit_code(false), 0, "{lines:?}: warnings only");
    }
}

/// `haproxy -c` of `text` written to `path` (named `t.cfg`): its messages
/// after `config : `.
fn haproxy_c(path: &std::path::Path, text: &str) -> Vec<String> {
    std::fs::write(path, text).expect("write");
    let out = Command::new("/usr/sbin/haproxy")
        .arg("-c")
        .arg("-f")
        .arg("t.cfg")
        .current_dir(path.parent().expect("a directory"))
        .output()
        .expect("run haproxy");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.split_once(" : config : ").map(|(_, m)| m.to_string()))
        .collect()
}

#[test]
fn the_warnings_are_haproxy_cs() {
    if !std::path::Path::new("/usr/sbin/haproxy").exists() {
        eprintln!("skipped: no /usr/sbin/haproxy");
        return;
    }
    let dir = TempDir::new("rule-order");
    let path = dir.path("t.cfg");
    for (lines, want) in cases() {
        let theirs: Vec<String> = haproxy_c(&path, &config(&lines))
            .into_iter()
            .filter(|m| {
                m.contains("will still be processed before") || m.starts_with("parsing acl keyword")
            })
            .collect();
        assert_eq!(theirs, want, "{lines:?}");
    }
}

/// The rule sets whose unknown actions HAProxy lists.
const RULE_SETS: [&str; 7] = [
    "tcp-request connection",
    "tcp-request session",
    "tcp-request content",
    "tcp-response content",
    "http-request",
    "http-response",
    "http-after-response",
];

/// A `listen` with `<rs> bogusaction` on line 8, then a second bad line.
fn bad_action(rs: &str) -> String {
    format!(
        "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         listen l\n bind 127.0.0.1:8443\n {rs} bogusaction\n {rs} otherbogus\n server s 127.0.0.1:80\n"
    )
}

/// Our unknown-action alerts as HAProxy prints them (the first line of each).
fn unknown_actions(c: &Checked) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownAction)
        .map(|d| {
            let text = hx_text(d);
            let line = d.span.map(|s| s.line).unwrap_or(0);
            let sep = if text.contains(", but got") {
                ":"
            } else {
                " :"
            };
            format!("parsing [t.cfg:{line}]{sep} {}", text.trim_end())
        })
        .collect()
}

/// An unknown action: HAProxy's list of the rule set's actions in its order,
/// its wording for TCP and HTTP rules, and an HTTP rule stops the reading
/// (the second bad line is not reported), a TCP rule does not.
#[test]
fn unknown_actions_are_listed_as_haproxy_lists_them() {
    for rs in RULE_SETS {
        let ours = unknown_actions(&check(&bad_action(rs)));
        let want = if rs.starts_with("http-") { 1 } else { 2 };
        assert_eq!(ours.len(), want, "{rs}: {ours:#?}");
        assert!(
            ours[0].contains("'accept'") || ours[0].contains("'add-header'"),
            "{rs}"
        );
    }
    if !std::path::Path::new("/usr/sbin/haproxy").exists() {
        eprintln!("oracle skipped: no /usr/sbin/haproxy");
        return;
    }
    let dir = TempDir::new("unknown-action");
    let path = dir.path("t.cfg");
    for rs in RULE_SETS {
        let theirs: Vec<String> = haproxy_c(&path, &bad_action(rs))
            .into_iter()
            .filter(|m| m.contains(" expects "))
            .collect();
        assert_eq!(unknown_actions(&check(&bad_action(rs))), theirs, "{rs}");
    }
}

/// A ring's `size` read as HAProxy 2.6.12 reads it (atol: `1M` is 1 byte; a
/// size smaller than the ring's current one is ignored with a warning; 0 is
/// refused), compared with `haproxy -c`.
#[test]
fn ring_sizes_are_read_as_haproxy_reads_them() {
    let text = "ring r1\n size 1M\n size 20000\n size 100\n format raw\nring r2\n size 0\n";
    let c = check(text);
    let ours: Vec<String> = c
        .diagnostics
        .iter()
        .map(|d| {
            format!(
                "parsing [t.cfg:{}] : {}",
                d.span.map(|s| s.line).unwrap_or(0),
                hx_text(d)
            )
        })
        .collect();
    assert_eq!(
        ours,
        [
            "parsing [t.cfg:2] : ignoring new size '1' that is smaller than current size '16384' for ring 'r1'.",
            "parsing [t.cfg:4] : ignoring new size '100' that is smaller than current size '20000' for ring 'r1'.",
            "parsing [t.cfg:7] : invalid size '0' for new sink buffer.",
        ]
    );
    if std::path::Path::new("/usr/sbin/haproxy").exists() {
        let dir = TempDir::new("ring-size");
        let theirs: Vec<String> = haproxy_c(&dir.path("t.cfg"), text)
            .into_iter()
            .filter(|m| m.contains("size"))
            .collect();
        assert_eq!(ours, theirs);
    }
}
