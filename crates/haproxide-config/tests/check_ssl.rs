//! A server whose health checks use TLS has its TLS settings checked as one
//! whose traffic does (configuration.txt §5.2 `check-ssl`, `verify`; §4.2
//! `tcp-check connect ssl`): HAProxy 2.6 prepares the server's TLS context for
//! `ssl`, `check-ssl`, a `connect ... ssl` rule of its proxy and a
//! default-server with `ssl`, so `check-ssl` without `verify none` or a CA file
//! is refused. Each verdict is the real `haproxy -c`'s (the oracle).

#[path = "support/check26.rs"]
mod check26;
use check26::{alerts, check};

#[path = "support/oracle.rs"]
mod oracle;
use oracle::Oracle;

fn config(backend: &str) -> String {
    format!(
        "defaults\n mode tcp\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         listen l\n bind 127.0.0.1:8443\n server t 127.0.0.1:80\n\
         backend b\n{backend}"
    )
}

/// Backend bodies, and whether HAProxy refuses them (the verify alert).
const CASES: &[(&str, bool)] = &[
    (" server s 127.0.0.1:80 check check-ssl\n", true),
    (" server s 127.0.0.1:80 check check-ssl verify none\n", false),
    (" server s 127.0.0.1:80 check\n", false),
    (" default-server check-ssl\n server s 127.0.0.1:80 check\n", true),
    (" default-server ssl\n server s 127.0.0.1:80 no-ssl\n", true),
    (" default-server ssl verify none\n server s 127.0.0.1:80 no-ssl\n", false),
    (
        " option tcp-check\n tcp-check connect ssl\n server s 127.0.0.1:80\n server s2 127.0.0.1:81 check no-check-ssl\n",
        true,
    ),
    (" option tcp-check\n tcp-check connect\n server s 127.0.0.1:80 check\n", false),
    (
        " option tcp-check\n tcp-check connect ssl\n server s 127.0.0.1:80 check verify none\n",
        false,
    ),
];

#[test]
fn servers_that_check_over_tls_have_their_verify_settings_checked() {
    for (body, refused) in CASES {
        let a = alerts(&config(body));
        assert_eq!(!a.is_empty(), *refused, "{body}: {a:?}");
        assert!(
            a.iter()
                .all(|m| m.contains("verify is enabled by default but no CA file")),
            "{body}: {a:?}"
        );
    }
}

#[test]
fn the_verdicts_are_haproxy_c_s() {
    let oracle = Oracle::new("check-ssl");
    for (body, _) in CASES {
        let text = config(body);
        let (status, stderr) = oracle.check(&text);
        let theirs = oracle::alerts_after(&stderr, "] : ");
        assert_eq!(theirs, alerts(&text), "{body}: {stderr}");
        assert_eq!(status, Some(check(&text).exit_code(false)), "{body}");
    }
}
