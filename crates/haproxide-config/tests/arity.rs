//! Keywords with more arguments than they take (`haproxide_config::arity`'s
//! tables): refused with HAProxy 2.6's fatal alert, the legal form still taken,
//! and the same verdict and message as the real `haproxy -c` (the oracle,
//! installed by scripts/install-deps) for every entry of the tables.

#[path = "support/getent.rs"]
mod getent;
use getent::Getent;

use std::process::Command;

use haproxide_config::arity::{MaxArgs, PROXY};
use haproxide_config::{check_bytes, CheckOptions, Checked, Code, Resolver, Target};
use haproxide_testkit::fs::TempDir;

fn no_env(_: &str) -> Option<String> {
    None
}

fn check(text: &str) -> Checked {
    let opts = CheckOptions {
        target: Target::parse("2.6").expect("2.6 is a target"),
        env: &no_env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &Getent,
    };
    check_bytes("t.cfg", text.as_bytes().to_vec(), &opts)
}

/// A valid configuration with `line` in its `listen` section (`proxy`) or its
/// `global` section.
fn config(global: &str, proxy: &str) -> String {
    format!(
        "global\n {global}\ndefaults\n mode http\n timeout client 1s\n timeout server 1s\n \
         timeout connect 1s\nlisten l\n bind 127.0.0.1:8443\n {proxy}\n server s 127.0.0.1:80\n"
    )
}

/// `e`'s keyword with `n` filler arguments after its named words.
fn line(e: &MaxArgs, n: usize) -> String {
    // The keyword's words past the named ones count as arguments
    // (`capture request header`: `header` is one of the 4).
    let mut words: Vec<String> = e.keyword.split(' ').map(str::to_string).collect();
    while words.len() < e.named + n {
        words.push("1".into());
    }
    words.join(" ")
}

/// HAProxy's texts of the too-many-arguments errors of a check.
fn too_many(c: &Checked) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.code == Code::TooManyArguments)
        .map(|d| {
            assert!(d.is_error(), "HAProxy's alert is fatal: {d:?}");
            d.haproxy
                .as_ref()
                .map(|h| h.text.clone())
                .unwrap_or_default()
        })
        .collect()
}

fn proxy_cases() -> impl Iterator<Item = (&'static MaxArgs, String, String)> {
    PROXY.iter().map(|e| {
        let legal = config("", &line(e, e.max));
        let extra = config("", &format!("{} extra", line(e, e.max)));
        (e, legal, extra)
    })
}

#[test]
fn proxy_keywords_with_an_extra_argument_are_refused_as_haproxy_does() {
    assert!(PROXY.len() >= 48);
    for (e, legal, extra) in proxy_cases() {
        let named: Vec<&str> = e.keyword.split(' ').take(e.named).collect();
        assert_eq!(
            too_many(&check(&extra)),
            vec![format!(
                "'{}' cannot handle unexpected argument 'extra'.",
                named.join(" ")
            )],
            "{}",
            e.keyword
        );
        assert!(too_many(&check(&legal)).is_empty(), "{legal}");
    }
}

#[test]
fn negated_options_count_their_arguments_too() {
    let c = check(&config("", "no option dontlognull x"));
    assert_eq!(
        too_many(&c),
        vec!["'option dontlognull' cannot handle unexpected argument 'x'."]
    );
    assert!(too_many(&check(&config("", "no option dontlognull"))).is_empty());
}

#[test]
fn an_option_a_backend_ignores_is_still_refused_with_an_extra_argument() {
    // HAProxy counts the arguments before it warns that a backend has no use for
    // a frontend option.
    let text = config("", "option dontlognull").replace(
        "server s 127.0.0.1:80\n",
        "server s 127.0.0.1:80\nbackend b\n option dontlognull x\n",
    );
    let c = check(&text);
    assert_eq!(
        too_many(&c),
        vec!["'option dontlognull' cannot handle unexpected argument 'x'."]
    );
    assert_eq!(c.exit_code(false), 1);
}

/// Each table entry's refused and legal forms through the real HAProxy 2.6:
/// the same exit code, and HAProxy's first alert is haproxide's message.
#[test]
fn the_tables_agree_with_haproxy_c() {
    let dir = TempDir::new("arity");
    let path = dir.path("h.cfg");
    let mut checked = 0;
    for (e, legal, extra) in proxy_cases() {
        for (text, refused) in [(extra, true), (legal, false)] {
            std::fs::write(&path, &text).expect("write the configuration");
            let out = Command::new("haproxy")
                .arg("-c")
                .arg("-f")
                .arg(&path)
                .output()
                .expect("haproxy (the oracle) is installed by scripts/install-deps");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let theirs = stderr
                .lines()
                .find(|l| l.contains("cannot handle unexpected argument"))
                .map(|l| l.rsplit(" : ").next().unwrap_or("").to_string());
            let ours = too_many(&check(&text));
            assert_eq!(theirs, ours.first().cloned(), "{}:\n{stderr}", e.keyword);
            if refused {
                assert_eq!(out.status.code(), Some(1), "{}", e.keyword);
                assert_eq!(check(&text).exit_code(false), 1, "{}", e.keyword);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * PROXY.len());
}
