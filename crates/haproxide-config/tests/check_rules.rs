//! `http-check`/`tcp-check` `set-var(<name>)` and `unset-var(<name>)`
//! (configuration.txt §4.2): the bare action word is refused with HAProxy
//! 2.6's message, the named form taken, and both verdicts are the real
//! `haproxy -c`'s (the oracle, installed by scripts/install-deps).

#[path = "support/check26.rs"]
mod check26;
use check26::check;

#[path = "support/oracle.rs"]
mod oracle;
use oracle::Oracle;

fn config(rule: &str) -> String {
    format!(
        "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         listen l\n bind 127.0.0.1:8443\n option httpchk\n {rule}\n server s 127.0.0.1:80\n"
    )
}

const REFUSED: &[&str] = &[
    "http-check set-var 1",
    "http-check set-var",
    "http-check unset-var 65536",
    "tcp-check set-var int(1)",
    "tcp-check unset-var",
];
const TAKEN: &[&str] = &[
    "http-check set-var(txn.x) int(1)",
    "http-check unset-var(txn.x)",
    "tcp-check set-var(check.y) str(a)",
    "tcp-check unset-var(check.y)",
];

fn first_alert(rule: &str) -> Option<String> {
    alert_of(&config(rule))
}

/// Our first alert for a configuration text, in HAProxy's words.
fn alert_of(text: &str) -> Option<String> {
    check(text)
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .find_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
}

#[test]
fn the_bare_action_word_is_refused_and_the_named_form_taken() {
    for rule in REFUSED {
        let mut w = rule.split(' ');
        let (which, sub) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
        assert_eq!(
            first_alert(rule),
            Some(format!(
                "'{which} {sub}' : '{sub}' : invalid or incomplete action '{sub}'. Expects \
                 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'."
            )),
            "{rule}"
        );
    }
    for rule in TAKEN {
        assert_eq!(check(&config(rule)).exit_code(false), 0, "{rule}");
    }
}

#[test]
fn the_verdicts_are_haproxy_c_s() {
    let oracle = Oracle::new("check-rules");
    for rule in REFUSED.iter().chain(TAKEN) {
        oracle_agrees(&oracle, &config(rule), rule);
    }
}

/// `connect` and `send` options (§4.2 `tcp-check connect`, `http-check send`), in a
/// proxy of the rule's kind.
fn connect_config(rules: &str) -> String {
    let (mode, option) = if rules.starts_with("http-check") {
        ("http", "httpchk")
    } else {
        ("tcp", "tcp-check")
    };
    format!(
        "defaults\n mode {mode}\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         backend b\n option {option}\n {rules}\n server s 127.0.0.1:80 check\n"
    )
}

/// Rules (lines joined by `|`) and the alert haproxy -c gives, `None` when it
/// takes them.
const OPTIONS: &[(&str, Option<&str>)] = &[
    ("tcp-check connect port 8008 sni db linger", None),
    ("tcp-check connect port src_port", None),
    ("tcp-check connect port str(1),add(3)", None),
    ("tcp-check comment c|tcp-check set-var(check.x) int(1)|tcp-check connect", None),
    ("http-check connect proto h2", None),
    (
        "tcp-check connect port 0",
        Some("'tcp-check connect' : expects a valid TCP port (from range 1 to 65535) or a sample expression, got 0.."),
    ),
    (
        "tcp-check connect port 70000",
        Some("'tcp-check connect' : expects a valid TCP port (from range 1 to 65535) or a sample expression, got 70000.."),
    ),
    (
        // An unset environment variable is kept as written (corpus file 026).
        "http-check connect port ${UNSET_PATRONI_PORT} ssl",
        Some("'http-check connect' : error detected while parsing port expression : missing fetch method."),
    ),
    (
        "tcp-check connect port nosuchfetch",
        Some("'tcp-check connect' : error detected while parsing port expression : unknown fetch method 'nosuchfetch'."),
    ),
    (
        "tcp-check connect port",
        Some("'tcp-check connect' : 'port' expects a port number or a sample expression as argument.."),
    ),
    (
        "tcp-check connect bogus",
        Some("'tcp-check connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got 'bogus' as argument.."),
    ),
    (
        "tcp-check connect proto h2",
        Some("'tcp-check connect' : 'proto' : invalid MUX protocol 'h2' for tcp-check."),
    ),
    (
        "http-check connect proto h9",
        Some("'http-check connect' : 'proto' : unknown MUX protocol 'h9'.."),
    ),
    (
        "tcp-check connect addr",
        Some("'tcp-check connect' : 'addr' expects <ipv4|ipv6> as argument.."),
    ),
    (
        "tcp-check expect string x|tcp-check connect port 1",
        Some("'tcp-check connect' : first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset."),
    ),
    (
        "http-check send meth GET|http-check connect",
        Some("'http-check connect' : first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset."),
    ),
    (
        "tcp-check expect string",
        Some("'tcp-check expect' : 'string' expects a <pattern> as argument."),
    ),
    (
        "http-check expect status",
        Some("'http-check expect' : 'status' expects a <pattern> as argument."),
    ),
    ("http-check send meth GET uri /x ver HTTP/1.1 hdr Host h body b comment c", None),
    ("http-check send hdr Content-Length 5 meth GET", None),
    (
        "http-check send meth",
        Some("'http-check send' : 'meth' expects a string as argument.."),
    ),
    (
        "http-check send meth GET uri",
        Some("'http-check send' : 'uri' expects a string as argument.."),
    ),
    (
        "http-check send bogus x",
        Some("'http-check send' : expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got 'bogus' as argument.."),
    ),
    (
        "http-check send hdr X",
        Some("'http-check send' : 'hdr' expects <name> and <value> as arguments."),
    ),
    (
        "http-check send hdr Host a hdr host b",
        Some("'http-check send' : 'host' header already defined (previous value is 'a')."),
    ),
];

fn connect_alert(rules: &str) -> Option<String> {
    alert_of(&connect_config(&rules.replace('|', "\n ")))
}

/// `haproxy -c`'s first alert and exit code for `text` are ours.
fn oracle_agrees(oracle: &Oracle, text: &str, what: &str) {
    let (status, stderr) = oracle.check(text);
    let theirs = stderr
        .lines()
        .find(|l| l.starts_with("[ALERT]"))
        .and_then(|l| l.split_once("] : ").map(|(_, m)| m.to_string()));
    assert_eq!(theirs, alert_of(text), "{what}: {stderr}");
    assert_eq!(status, Some(check(text).exit_code(false)), "{what}");
}

#[test]
fn connect_and_send_options_are_read_as_haproxy_reads_them() {
    for (rules, alert) in OPTIONS {
        assert_eq!(connect_alert(rules).as_deref(), *alert, "{rules}");
    }
}

#[test]
fn connect_and_send_verdicts_are_haproxy_c_s() {
    let oracle = Oracle::new("check-connect");
    for (rules, _) in OPTIONS {
        oracle_agrees(&oracle, &connect_config(&rules.replace('|', "\n ")), rules);
    }
}

/// Check rules written where no option of theirs is in effect (and none
/// follows) are ignored by HAProxy 2.6, with a post-parse warning
/// (`TCPCHK_RULES_UNUSED_*_RS`): (defaults lines, backend lines, warnings).
const UNUSED: &[(&str, &str, &[&str])] = &[
    ("", "tcp-check connect", &["backend 'b' uses tcp-check rules without 'option tcp-check', so the rules are ignored."]),
    ("", "option httpchk|tcp-check connect", &["backend 'b' uses tcp-check rules without 'option tcp-check', so the rules are ignored."]),
    ("", "tcp-check connect|option httpchk", &[]),
    ("", "tcp-check connect|option tcp-check", &[]),
    ("", "option tcp-check|http-check send meth GET", &["backend 'b' uses http-check rules without 'option httpchk', so the rules are ignored."]),
    ("", "http-check expect status 200|tcp-check connect", &[
        "backend 'b' uses http-check rules without 'option httpchk', so the rules are ignored.",
        "backend 'b' uses tcp-check rules without 'option tcp-check', so the rules are ignored.",
    ]),
    ("option httpchk", "http-check send meth GET", &[]),
    ("option httpchk", "tcp-check connect", &["backend 'b' uses tcp-check rules without 'option tcp-check', so the rules are ignored."]),
    ("tcp-check connect", "option tcp-check", &[]),
    ("tcp-check connect", "", &[]),
];

fn unused_config(defaults: &str, backend: &str) -> String {
    format!(
        "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n {}\n\
         backend b\n {}\n server s 127.0.0.1:1 check\n",
        defaults.replace('|', "\n "),
        backend.replace('|', "\n ")
    )
}

fn warnings(text: &str) -> Vec<String> {
    check(text)
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .filter_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
        .collect()
}

#[test]
fn rules_without_their_option_are_ignored_with_haproxy_s_warning() {
    let oracle = Oracle::new("check-unused");
    for (d, b, expected) in UNUSED {
        let text = unused_config(d, b);
        assert_eq!(warnings(&text), *expected, "[{d}] [{b}]");
        let (_, stderr) = oracle.check(&text);
        let theirs: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("[WARNING]"))
            .filter_map(|l| l.split_once(" : config : ").map(|(_, m)| m))
            .collect();
        assert_eq!(theirs, *expected, "[{d}] [{b}]: {stderr}");
    }
}
