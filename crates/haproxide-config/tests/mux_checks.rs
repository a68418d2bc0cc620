//! The multiplexers servers name, checked after the parse as HAProxy 2.6 does
//! (configuration.txt §5.2 `proto`, `check-proto`): `proto` must fit the proxy's
//! mode, an `fcgi` server needs `use-fcgi-app`, an explicit `check-proto` must
//! fit the check type. Every verdict and alert is the real `haproxy -c`'s.

#[path = "support/check26.rs"]
mod check26;
use check26::{alerts, check};

#[path = "support/oracle.rs"]
mod oracle;
use oracle::Oracle;

fn config(backend: &str) -> String {
    format!(
        "defaults\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         backend b\n {}\n",
        backend.replace('|', "\n ")
    )
}

/// Backend bodies (lines joined by `|`) and the start of the alert, if any.
const CASES: &[(&str, Option<&str>)] = &[
    ("mode http|server s 127.0.0.1:80 proto h1", None),
    ("mode http|server s 127.0.0.1:80 proto h2", None),
    ("mode tcp|server s 127.0.0.1:80 proto none", None),
    ("mode tcp|server s 127.0.0.1:80 check-proto h2", None),
    ("mode tcp|option httpchk|server s 127.0.0.1:80 check check-proto h2", None),
    ("mode http|option httpchk|server s 127.0.0.1:80 check check-proto h2", None),
    (
        "mode tcp|server s 127.0.0.1:80 proto h2",
        Some("backend 'b' : MUX protocol 'h2' is not usable for server 's' at ["),
    ),
    (
        "mode tcp|server s 127.0.0.1:80 proto fcgi",
        Some("backend 'b' : MUX protocol 'fcgi' is not usable for server 's' at ["),
    ),
    (
        "mode http|server s 127.0.0.1:80 proto h2|server t 127.0.0.1:81 proto none",
        Some("backend 'b' : MUX protocol 'none' is not usable for server 't' at ["),
    ),
    (
        "mode http|server s 127.0.0.1:80 proto fcgi",
        Some("proxy 'b': FCGI server 's' has no FCGI app configured."),
    ),
    (
        "mode tcp|server s 127.0.0.1:80 check check-proto h2",
        Some("config: backend 'b': server 's' uses an incompatible MUX protocol for the selected check type"),
    ),
    (
        "mode http|option httpchk|server s 127.0.0.1:80 check check-proto none",
        Some("config: backend 'b': server 's' uses an incompatible MUX protocol for the selected check type"),
    ),
];

#[test]
fn server_multiplexers_are_checked_against_mode_and_check_type() {
    for (body, alert) in CASES {
        let a = alerts(&config(body));
        match alert {
            None => assert!(a.is_empty(), "{body}: {a:?}"),
            Some(start) => assert!(a.len() == 1 && a[0].starts_with(start), "{body}: {a:?}"),
        }
    }
}

#[test]
fn the_verdicts_and_alerts_are_haproxy_c_s() {
    let oracle = Oracle::new("mux-checks");
    // Our texts name the file by a marker the renderer replaces with its path.
    let file = oracle.path().display().to_string();
    for (body, _) in CASES {
        let text = config(body);
        let (status, stderr) = oracle.check(&text);
        let theirs = oracle::alerts_after(&stderr, " : config : ");
        let ours: Vec<String> = alerts(&text)
            .iter()
            .map(|a| a.replace("\u{1}0\u{1}", &file))
            .collect();
        assert_eq!(theirs, ours, "{body}: {stderr}");
        assert_eq!(status, Some(check(&text).exit_code(false)), "{body}");
    }
}
