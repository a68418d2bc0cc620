//! `capture cookie`, `capture request|response header` and `declare capture`
//! (configuration.txt §4.2): the forms HAProxy 2.6 refuses while parsing get
//! its message, the others are taken, and every verdict is the real
//! `haproxy -c`'s (the oracle, installed by scripts/install-deps).

#[path = "support/check26.rs"]
mod check26;

#[path = "support/oracle.rs"]
mod oracle;

#[path = "support/forms.rs"]
mod forms;

fn config(line: &str) -> String {
    format!(
        "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         listen l\n bind 127.0.0.1:8443\n {line}\n server s 127.0.0.1:80\n"
    )
}

const DIRECTION: &str = "'declare capture' requires a direction ('request' or 'response')";
const LEN: &str = "'declare capture' requires a capture length ('len')";
const COOKIE: &str = "'capture' expects 'cookie' <cookie_name> 'len' <len>.";
const REQUEST: &str = "'capture request' expects 'header' <header_name> 'len' <len>.";

/// Each form and HAProxy's refusal (None: taken).
const FORMS: &[(&str, Option<&str>)] = &[
    ("declare capture", Some(DIRECTION)),
    ("declare capture foo len 3", Some(DIRECTION)),
    ("declare capture request", Some(LEN)),
    ("declare capture request size 3", Some(LEN)),
    (
        "declare capture request len",
        Some(
            "'declare capture': 'len' requires a numeric value that represents the capture length",
        ),
    ),
    (
        "declare capture request len x",
        Some("'declare capture': cannot parse the length 'len'."),
    ),
    (
        "declare capture request len 2147483647d",
        Some("'declare capture': cannot parse the length 'len'."),
    ),
    ("declare capture request len 0", Some("length must be > 0")),
    ("declare capture request len -1", Some("length must be > 0")),
    ("declare capture request len 18446744073709551616", None),
    ("declare capture response len 10", None),
    ("capture cookie a", Some(COOKIE)),
    ("capture cookie a len", Some(COOKIE)),
    ("capture cookie a x 10", None),
    ("capture cookie a len 10", None),
    ("capture request header a", Some(REQUEST)),
    ("capture request header a len", Some(REQUEST)),
    ("capture request header a x 3", Some(REQUEST)),
    (
        "capture response header a",
        Some("'capture response' expects 'header' <header_name> 'len' <len>."),
    ),
    ("capture response header a len 3", None),
];

#[test]
fn refused_forms_get_haproxy_s_message_and_the_others_are_taken() {
    forms::assert_ours(FORMS, config);
}

#[test]
fn the_verdicts_are_haproxy_c_s() {
    forms::assert_theirs("capture", FORMS, config);
}
