//! Lines and HAProxy 2.6's refusal of each (None: taken), checked with
//! haproxide and with the real `haproxy -c`. Needs `check26` and `oracle`
//! declared beside it.

use super::check26::check;
use super::oracle::Oracle;

/// The first error's HAProxy text.
pub fn first_alert(text: &str) -> Option<String> {
    check(text)
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .find_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
}

/// haproxide refuses each refused line with HAProxy's text, and takes the others.
pub fn assert_ours(forms: &[(&str, Option<&str>)], config: fn(&str) -> String) {
    for (line, refusal) in forms {
        let text = config(line);
        assert_eq!(first_alert(&text).as_deref(), *refusal, "{line}");
        let code = if refusal.is_some() { 1 } else { 0 };
        assert_eq!(check(&text).exit_code(false), code, "{line}");
    }
}

/// The real `haproxy -c` gives the same first alert and exit code.
pub fn assert_theirs(tag: &str, forms: &[(&str, Option<&str>)], config: fn(&str) -> String) {
    let oracle = Oracle::new(tag);
    for (line, refusal) in forms {
        let (status, stderr) = oracle.check(&config(line));
        let theirs = stderr
            .lines()
            .find(|l| l.starts_with("[ALERT]"))
            .and_then(|l| l.split_once("] : ").map(|(_, m)| m.to_string()));
        assert_eq!(theirs.as_deref(), *refusal, "{line}: {stderr}");
        assert_eq!(
            status,
            Some(if refusal.is_some() { 1 } else { 0 }),
            "{line}"
        );
    }
}
