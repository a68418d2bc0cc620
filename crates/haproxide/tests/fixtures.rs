//! Snapshot tests of rendered diagnostics, in the style of toml-rs's invalid fixtures.
//!
//! Every `testdata/config/invalid/NAME.cfg` must produce at least one error (exit 1);
//! every `testdata/config/valid/NAME.cfg` must produce none (exit 0, or the code given
//! by a `# exit: N` first line). The human rendering (stderr) is compared with
//! `NAME.stderr`; `BLESS=1 cargo test -p haproxide --test fixtures` rewrites the
//! snapshots. A `# check-args: ...` first line adds arguments.
//!
//! Names are resolved from /etc/hosts only (`--resolve hosts`): no DNS query.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = root().join("testdata/config").join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "cfg"));
    v.sort();
    v
}

fn header(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix(&format!("# {key}:"))
                .map(|s| s.trim().to_string())
        })
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(path: &Path, format: &str) -> Run {
    let rel = path.strip_prefix(root()).unwrap_or(path);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haproxide"));
    cmd.current_dir(root())
        .args([
            "check",
            "--color",
            "never",
            "--resolve",
            "hosts",
            "--format",
            format,
            "-f",
        ])
        .arg(rel)
        .env_remove("NOPE_HAPROXIDE_TEST");
    if let Some(extra) = header(path, "check-args") {
        cmd.args(extra.split_whitespace());
    }
    let out = cmd.output().expect("run haproxide");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn snapshot(path: &Path, ext: &str, got: &str, failures: &mut Vec<String>) {
    let snap = path.with_extension(ext);
    let want = std::fs::read_to_string(&snap).unwrap_or_default();
    if want != got {
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&snap, got).expect("write snapshot");
        } else {
            failures.push(format!(
                "{}: snapshot differs (BLESS=1 to update)\n--- want\n{want}\n--- got\n{got}",
                snap.display()
            ));
        }
    }
}

#[test]
fn invalid_fixtures_fail_with_the_snapshot_diagnostics() {
    let files = fixtures("invalid");
    assert!(
        files.len() >= 20,
        "expected the invalid fixtures, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let r = run(f, "human");
        if r.code != 1 || !r.stderr.contains("error[HPX") {
            failures.push(format!(
                "{}: expected exit 1 with an error, got {}:\n{}",
                f.display(),
                r.code,
                r.stderr
            ));
        }
        snapshot(f, "stderr", &r.stderr, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn valid_fixtures_pass() {
    let files = fixtures("valid");
    assert!(files.len() >= 4);
    let mut failures = Vec::new();
    for f in &files {
        let want: i32 = header(f, "exit").and_then(|s| s.parse().ok()).unwrap_or(0);
        let r = run(f, "human");
        if r.code != want || r.stderr.contains("error[") {
            failures.push(format!(
                "{}: expected exit {want} without errors, got {}:\n{}",
                f.display(),
                r.code,
                r.stderr
            ));
        }
        snapshot(f, "stderr", &r.stderr, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn json_output_follows_the_schema() {
    let f = root().join("testdata/config/invalid/unknown-keyword.cfg");
    let r = run(&f, "json");
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    assert_eq!(v["schema"], 1);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["errors"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "HPX0301");
    assert_eq!(d["name"], "unknown-keyword");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["span"]["line"], 12);
    assert_eq!(d["span"]["column"], 5);
    assert_eq!(d["span"]["end_column"], 12);
    assert_eq!(d["help"], "did you mean `balance`?");
    assert_eq!(
        d["haproxy"],
        "parsing [testdata/config/invalid/unknown-keyword.cfg:12] : unknown keyword 'balanse' in 'listen' section; did you mean 'balance' maybe ?"
    );
}

#[test]
fn short_format_is_one_line_per_diagnostic() {
    let f = root().join("testdata/config/invalid/removed-keywords.cfg");
    let r = run(&f, "short");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(
        lines[0].starts_with("testdata/config/invalid/removed-keywords.cfg:3:5: error[HPX0304]:"),
        "{}",
        lines[0]
    );
}

#[test]
fn haproxy_format_matches_haproxy_c() {
    // The exact text `haproxy -c` 2.6.12 prints for this file, pid aside.
    let f = root().join("testdata/config/invalid/unknown-keyword.cfg");
    let r = run(&f, "haproxy");
    assert_eq!(r.code, 1);
    let alerts: Vec<String> = r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("[NOTICE]"))
        .map(|l| match l.find(") : ") {
            Some(i) => format!("{}(PID){}", &l[..l.find('(').unwrap_or(i)], &l[i + 1..]),
            None => l.to_string(),
        })
        .collect();
    assert_eq!(
        alerts,
        vec![
            "[ALERT]    (PID) : config : parsing [testdata/config/invalid/unknown-keyword.cfg:12] : unknown keyword 'balanse' in 'listen' section; did you mean 'balance' maybe ?",
            "[ALERT]    (PID) : config : Error(s) found in configuration file : testdata/config/invalid/unknown-keyword.cfg",
            "[ALERT]    (PID) : config : Fatal errors found in configuration.",
        ]
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn haproxy_form_c_flag_and_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_haproxide");
    let ok = Command::new(bin)
        .current_dir(root())
        .args(["-c", "-f", "testdata/config/valid/patroni.cfg"])
        .output()
        .expect("run");
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        "Configuration file is valid\n"
    );
    let none = Command::new(bin)
        .current_dir(root())
        .args(["-c", "-f", "testdata/config/valid/no-listener.cfg"])
        .output()
        .expect("run");
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&none.stdout),
        "Configuration file has no error but will not start (no listener) => exit(2).\n"
    );
    let quiet = Command::new(bin)
        .current_dir(root())
        .args([
            "-c",
            "-q",
            "-f",
            "testdata/config/invalid/unknown-keyword.cfg",
        ])
        .output()
        .expect("run");
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
    let missing = Command::new(bin)
        .current_dir(root())
        .args(["-c", "-f", "testdata/config/does-not-exist.cfg"])
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("Cannot open configuration file/directory testdata/config/does-not-exist.cfg : No such file or directory"));
}

#[test]
fn deny_warnings_and_dr() {
    let f = root().join("testdata/config/invalid/unresolvable-server.cfg");
    let bin = env!("CARGO_BIN_EXE_haproxide");
    let rel = f.strip_prefix(root()).unwrap_or(&f).to_path_buf();
    let base = || {
        let mut c = Command::new(bin);
        c.current_dir(root())
            .args(["check", "--resolve", "hosts", "--format", "short", "-f"])
            .arg(&rel);
        c
    };
    assert_eq!(base().output().expect("run").status.code(), Some(1));
    let dr = base().arg("--dr").output().expect("run");
    assert_eq!(
        dr.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dr.stdout)
    );
    let deny = base()
        .args(["--dr", "--deny-warnings"])
        .output()
        .expect("run");
    assert_eq!(deny.status.code(), Some(1));
}

/// The oracle's output with the pids and the version banner taken out.
fn without_pids(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("[NOTICE]"))
        .map(|l| match (l.find('('), l.find(") : ")) {
            (Some(o), Some(c)) if o < c => format!("{}(PID){}", &l[..o], &l[c + 1..]),
            _ => l.to_string(),
        })
        .collect()
}

#[test]
fn process_values_report_as_haproxy_c_does() {
    // uid/gid that are not numbers (warnings), ulimit-n without a value, proxy and
    // server ids that are not > 0, a bad load-server-state-from-file.
    same_as_haproxy_c("testdata/config/invalid/process-values.cfg", 8);
}

#[test]
fn log_values_report_as_haproxy_c_does() {
    // Bad `len`, `format`, `sample`, levels, extra words, `fd@`, missing facility.
    same_as_haproxy_c("testdata/config/invalid/log-values.cfg", 12);
}

#[test]
fn acl_values_report_as_haproxy_c_does() {
    // Patterns, -m methods, flags, fetch and converter arguments and types, anonymous
    // ACLs in a switching rule and in tcp-request rules: typed by haproxide-expr.
    same_as_haproxy_c("testdata/config/invalid/acl-values.cfg", 17);
}

#[test]
fn backlog_reports_as_haproxy_c_does() {
    // `backlog` without a value, with two, and in a backend (ignored, warned).
    same_as_haproxy_c("testdata/config/invalid/backlog.cfg", 4);
}

#[test]
fn stats_admin_reports_as_haproxy_c_does() {
    // No `if`/`unless`, an unknown ACL, a bad pattern in an anonymous ACL.
    same_as_haproxy_c("testdata/config/invalid/stats-admin.cfg", 3);
}

#[test]
fn h2_settings_report_as_haproxy_c_does() {
    // `tune.h2.*` out of range, `proto` with an unknown MUX protocol.
    same_as_haproxy_c("testdata/config/invalid/h2.cfg", 4);
}

/// Run the real HAProxy 2.6 (scripts/install-deps installs it) and haproxide's
/// `--format haproxy` on `rel`: same exit code, same lines (pids aside).
fn same_as_haproxy_c(rel: &str, at_least: usize) {
    let ours = run(&root().join(rel), "haproxy");
    let theirs = Command::new("haproxy")
        .current_dir(root())
        .args(["-c", "-f", rel])
        .output()
        .expect("haproxy (the oracle) is installed by scripts/install-deps");
    assert_eq!(ours.code, theirs.status.code().unwrap_or(-1));
    let want = without_pids(&String::from_utf8_lossy(&theirs.stderr));
    assert!(want.len() >= at_least, "the oracle reported: {want:?}");
    assert_eq!(without_pids(&ours.stderr), want);
}
