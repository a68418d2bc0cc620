//! `stick on|match|store-request|store-response <pattern>` (configuration.txt
//! §4.2): a pattern whose fetch HAProxy 2.6 does not know is refused with its
//! message, a known one taken, and both verdicts are the real `haproxy -c`'s
//! (the oracle, installed by scripts/install-deps).

#[path = "support/check26.rs"]
mod check26;
use check26::{alerts, check};

#[path = "support/oracle.rs"]
mod oracle;
use oracle::Oracle;

fn config(rule: &str) -> String {
    format!(
        "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         listen l\n bind 127.0.0.1:8443\n stick-table type ip size 10\n {rule}\n \
         server s 127.0.0.1:80\n"
    )
}

const KINDS: &[&str] = &["on", "match", "store-request", "store-response"];
const UNKNOWN: &[&str] = &["65536", "-1", "nosuchfetch", "nosuchfetch,lower"];
const KNOWN: &[&str] = &["src", "src,ipmask(24)"];

#[test]
fn an_unknown_fetch_is_refused_and_a_known_one_taken() {
    for kind in KINDS {
        for p in UNKNOWN {
            let fetch = p.split(',').next().unwrap_or("");
            assert_eq!(
                alerts(&config(&format!("stick {kind} {p}"))),
                vec![format!("'stick': unknown fetch method '{fetch}'")],
                "stick {kind} {p}"
            );
        }
        for p in KNOWN {
            let c = check(&config(&format!("stick {kind} {p}")));
            assert_eq!(
                c.exit_code(false),
                0,
                "stick {kind} {p}: {:?}",
                c.diagnostics
            );
        }
    }
}

#[test]
fn the_verdicts_are_haproxy_c_s() {
    let oracle = Oracle::new("stick");
    for kind in KINDS {
        for p in UNKNOWN.iter().chain(KNOWN) {
            let text = config(&format!("stick {kind} {p}"));
            let (status, stderr) = oracle.check(&text);
            let first = stderr.lines().find(|l| l.starts_with("[ALERT]"));
            let theirs = first
                .and_then(|l| l.split(" : ").nth(3))
                .map(str::to_string);
            assert_eq!(
                theirs,
                alerts(&text).first().cloned(),
                "stick {kind} {p}: {stderr}"
            );
            assert_eq!(
                status,
                Some(check(&text).exit_code(false)),
                "stick {kind} {p}"
            );
        }
    }
}
