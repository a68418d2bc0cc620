//! `ssl-default-bind-options` and `ssl-default-server-options` (configuration.txt
//! §3.1): an option HAProxy 2.6 does not know on that line is refused with its
//! message, the known ones taken, and every verdict is the real `haproxy -c`'s
//! (the oracle, installed by scripts/install-deps).

#[path = "support/check26.rs"]
mod check26;

#[path = "support/oracle.rs"]
mod oracle;

#[path = "support/forms.rs"]
mod forms;

fn config(line: &str) -> String {
    format!(
        "global\n {line}\ndefaults\n mode http\n timeout client 1s\n timeout server 1s\n \
         timeout connect 1s\nlisten l\n bind 127.0.0.1:8443\n server s 127.0.0.1:80\n"
    )
}

/// Each line and HAProxy's refusal (None: taken).
const LINES: &[(&str, Option<&str>)] = &[
    (
        "ssl-default-bind-options x",
        Some("unknown option 'x' on global statement 'ssl-default-bind-options'."),
    ),
    (
        "ssl-default-bind-options no-tlsv10 65536",
        Some("unknown option '65536' on global statement 'ssl-default-bind-options'."),
    ),
    (
        "ssl-default-bind-options no-tlsv14",
        Some("unknown option 'no-tlsv14' on global statement 'ssl-default-bind-options'."),
    ),
    (
        "ssl-default-server-options prefer-client-ciphers",
        Some(
            "unknown option 'prefer-client-ciphers' on global statement \
             'ssl-default-server-options'.",
        ),
    ),
    (
        "ssl-default-server-options",
        Some("global statement 'ssl-default-server-options' expects an option as an argument."),
    ),
    (
        "ssl-default-bind-options prefer-client-ciphers no-tlsv10",
        None,
    ),
    ("ssl-default-server-options no-sslv3 force-tlsv12", None),
    (
        "ssl-default-server-options ssl-min-ver TLSv1.2 no-tls-tickets",
        None,
    ),
    (
        "ssl-default-bind-options ssl-max-ver TLSv1.3 no-tls-tickets",
        None,
    ),
];

#[test]
fn unknown_options_are_refused_and_the_known_ones_taken() {
    forms::assert_ours(LINES, config);
}

#[test]
fn the_verdicts_are_haproxy_c_s() {
    forms::assert_theirs("ssl-options", LINES, config);
}
