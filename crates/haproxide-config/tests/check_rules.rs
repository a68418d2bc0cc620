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
    check(&config(rule))
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
        let text = config(rule);
        let (status, stderr) = oracle.check(&text);
        let theirs = stderr
            .lines()
            .find(|l| l.starts_with("[ALERT]"))
            .and_then(|l| l.split_once("] : ").map(|(_, m)| m.to_string()));
        assert_eq!(theirs, first_alert(rule), "{rule}: {stderr}");
        assert_eq!(status, Some(check(&text).exit_code(false)), "{rule}");
    }
}
