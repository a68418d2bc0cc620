//! A prefixed proxy keyword (`tcp-request`, `stick`, `http-check`...) followed
//! by a word it does not know, or by nothing, is refused with the text of that
//! keyword's own parser in HAProxy 2.6 (configuration.txt §4.2), compared with
//! the real `haproxy -c`.

#[path = "support/check26.rs"]
mod check26;
use check26::{alerts, check};

#[path = "support/oracle.rs"]
mod oracle;
use oracle::Oracle;

const PREFIXES: &[&str] = &[
    "capture",
    "declare",
    "email-alert",
    "external-check",
    "http-check",
    "monitor",
    "persist",
    "rate-limit",
    "stick",
    "tcp-check",
    "tcp-request",
    "tcp-response",
];

fn config(line: &str) -> String {
    format!(
        "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         listen b\n bind 127.0.0.1:19998\n {line}\n server s 127.0.0.1:1\n"
    )
}

#[test]
fn each_prefix_has_its_own_alert_as_haproxy_c_gives_it() {
    let oracle = Oracle::new("sub-keywords");
    for kw in PREFIXES {
        for line in [format!("{kw} bogus"), kw.to_string()] {
            let text = config(&line);
            let ours: Vec<String> = alerts(&text)
                .iter()
                .map(|a| a.trim_end().to_string())
                .collect();
            assert_eq!(ours.len(), 1, "{line}: {ours:?}");
            assert!(!ours[0].contains("expects one of"), "{line}: {ours:?}");
            let (status, stderr) = oracle.check(&text);
            assert_eq!(
                oracle::alerts_after(&stderr, "] : ").first(),
                ours.first(),
                "{line}: {stderr}"
            );
            assert_eq!(status, Some(check(&text).exit_code(false)), "{line}");
        }
    }
}
