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

/// `http-request track-sc<n>` read as HAProxy 2.6's `parse_http_track_sc`.
#[test]
fn http_track_sc_is_read_as_haproxy_reads_it() {
    let oracle = Oracle::new("track-sc");
    for rule in [
        "http-request track-sc0",
        "http-request track-sc0 src table",
        "http-request track-sc5 src",
        "http-request track-scx src",
        "http-request track-sc src",
        "http-request track-sc0 src foo",
        "http-request track-sc1 src table t",
        "http-request track-sc99999999999 src",
    ] {
        let text = format!(
            "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             backend t\n stick-table type ip size 1k\n\
             listen b\n bind 127.0.0.1:19997\n stick-table type ip size 1k\n {rule}\n server s 127.0.0.1:1\n"
        );
        let (status, stderr) = oracle.check(&text);
        // `parsing [f:l] : ` or, for a leftover word, `parsing [f:l]: `.
        let theirs = oracle::alerts_after(&stderr, "] : ")
            .into_iter()
            .chain(oracle::alerts_after(&stderr, "]: "))
            .next();
        assert_eq!(
            theirs.as_deref(),
            alerts(&text).first().map(|a| a.trim_end()),
            "{rule}: {stderr}"
        );
        assert_eq!(status, Some(check(&text).exit_code(false)), "{rule}");
    }
}
