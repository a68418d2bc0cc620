//! `check_bytes` of a configuration text named `t.cfg` with HAProxy 2.6's
//! semantics, no environment variables, no name resolution, no file checks.

use haproxide_config::{check_bytes, CheckOptions, Checked, Resolver, Target};

#[path = "getent.rs"]
mod getent;

fn no_env(_: &str) -> Option<String> {
    None
}

pub fn check(text: &str) -> Checked {
    let opts = CheckOptions {
        target: Target::parse("2.6").expect("2.6 is a target"),
        env: &no_env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &getent::Getent,
    };
    check_bytes("t.cfg", text.as_bytes().to_vec(), &opts)
}

/// HAProxy's texts of the errors of a check (not every test file uses it).
#[allow(dead_code)]
pub fn alerts(text: &str) -> Vec<String> {
    check(text)
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .filter_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
        .collect()
}
