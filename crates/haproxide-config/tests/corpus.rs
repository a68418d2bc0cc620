//! The real-world corpus: ../shared/corpus/haproxy-cfg (170 configurations from public
//! repositories) with what `haproxy -c` 2.6.12 said of each.
//!
//! With `--haproxy-version 2.6` semantics, for every file:
//! - the exit code must equal HAProxy's (expected/EXIT.tsv);
//! - SYNTAX files: our first error must be on the line of HAProxy's first alert;
//! - ENV files: our first error must name the same cause (unresolvable address,
//!   missing file...) on the same line, and files failing only on name resolution
//!   must pass (exit 0) with `-dr`.
//!
//! Names are resolved from /etc/hosts only, so the test sends no DNS query (HAProxy's
//! run had no network either). The table is printed; run with `--nocapture` to see it.

#[path = "support/getent.rs"]
mod getent;
use getent::Getent;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use haproxide_config::{check, CheckOptions, Code, Resolver, Target};

fn corpus_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/haproxy-cfg");
    d.join("MANIFEST.tsv").exists().then_some(d)
}

fn read_tsv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// `[FILE:LINE]` in HAProxy's alert → LINE.
fn alert_line(alert: &str) -> Option<u32> {
    let open = alert.find(".cfg:")?;
    let rest = &alert[open + 5..];
    rest.split(']').next()?.parse().ok()
}

/// The cause HAProxy names, as one of our codes.
fn alert_cause(alert: &str) -> Option<Code> {
    let a = alert;
    if a.contains("could not resolve address") {
        Some(Code::UnresolvableAddress)
    } else if a.contains("unable to stat SSL certificate")
        || a.contains("error opening file")
        || a.contains("error in Lua file")
        || a.contains("failed to open pattern file")
        || a.contains("expects a directory path")
        || a.contains("unable to load")
        || a.contains("Couldn't open")
    {
        Some(Code::MissingFile)
    } else if a.contains("invalid address") {
        Some(Code::InvalidAddress)
    } else if a.contains("resolves to an empty address") {
        Some(Code::EmptyAddress)
    } else {
        None
    }
}

struct Row {
    file: String,
    verdict: String,
    want_exit: i32,
    got_exit: i32,
    want_line: Option<u32>,
    got_line: Option<u32>,
    cause_ok: bool,
    dr_ok: Option<bool>,
    first: String,
}

#[test]
fn corpus_agrees_with_haproxy_2_6() {
    let Some(dir) = corpus_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the corpus (../shared/corpus/haproxy-cfg) is missing in CI"
        );
        eprintln!("corpus not found beside the repository: skipped");
        return;
    };
    // HAProxy was run from inside the corpus directory: relative paths are relative to it.
    std::env::set_current_dir(&dir).expect("cd corpus");
    let exits: HashMap<String, i32> = read_tsv(&dir.join("expected/EXIT.tsv"))
        .into_iter()
        .filter_map(|r| Some((r.first()?.clone(), r.get(1)?.parse().ok()?)))
        .collect();
    let env = |n: &str| std::env::var(n).ok();
    let mut rows = Vec::new();
    for r in read_tsv(&dir.join("MANIFEST.tsv")) {
        let (Some(file), Some(verdict)) = (r.first(), r.get(1)) else {
            continue;
        };
        let alert = r.get(2).cloned().unwrap_or_default();
        let Some(&want_exit) = exits.get(file) else {
            continue;
        };
        let opts = CheckOptions {
            target: Target::V2_6,
            env: &env,
            ignore_resolution_failures: false,
            resolver: Resolver::HostsFile,
            check_files: true,
            accounts: &Getent,
        };
        let checked = check(&[PathBuf::from(file)], &opts);
        let got_exit = checked.exit_code(checked.config.global.zero_warning);
        let first_err = checked.diagnostics.iter().find(|d| d.is_error());
        let got_line = first_err.and_then(|d| d.span).map(|s| s.line);
        // HAProxy's first alert in its raw output (MANIFEST's alert is the first one
        // left after the environment was neutralised).
        let out =
            std::fs::read_to_string(dir.join(format!("expected/{file}.out"))).unwrap_or_default();
        let raw_alert = out
            .lines()
            .find(|l| {
                l.starts_with("[ALERT]")
                    && !l.contains("Error(s) found")
                    && !l.contains("Fatal errors")
                    && !l.contains("Failed to initialize")
            })
            .unwrap_or("")
            .to_string();
        let alert = if raw_alert.is_empty() {
            alert
        } else {
            raw_alert
        };
        let want_line = alert_line(&alert);
        let cause_ok = match (verdict.as_str(), alert_cause(&alert)) {
            ("ENV", Some(code)) => first_err.is_some_and(|d| d.code == code),
            _ => true,
        };
        // Files that fail only on name resolution must pass with -dr.
        let only_dns = verdict == "ENV"
            && out.contains("could not resolve address")
            && !out.lines().any(|l| {
                l.contains("[ALERT]")
                    && !l.contains("could not resolve address")
                    && !l.contains("Failed to initialize server")
                    && !l.contains("Fatal errors found")
                    && !l.contains("Error(s) found")
            });
        let dr_ok = only_dns.then(|| {
            let opts = CheckOptions {
                ignore_resolution_failures: true,
                ..opts
            };
            check(&[PathBuf::from(file)], &opts).exit_code(false) == 0
        });
        rows.push(Row {
            file: file.clone(),
            verdict: verdict.clone(),
            want_exit,
            got_exit,
            want_line,
            got_line,
            cause_ok,
            dr_ok,
            first: first_err
                .map(|d| format!("{} {}", d.code.as_str(), d.message))
                .unwrap_or_default(),
        });
    }
    let total = rows.len();
    let exit_agree = rows.iter().filter(|r| r.want_exit == r.got_exit).count();
    let with_line: Vec<&Row> = rows
        .iter()
        .filter(|r| r.want_line.is_some() && r.want_exit == 1)
        .collect();
    let line_agree = with_line
        .iter()
        .filter(|r| r.want_line == r.got_line)
        .count();
    let cause_agree = rows.iter().filter(|r| r.cause_ok).count();
    let dr: Vec<&Row> = rows.iter().filter(|r| r.dr_ok.is_some()).collect();
    let dr_agree = dr.iter().filter(|r| r.dr_ok == Some(true)).count();
    eprintln!("corpus: {total} files");
    eprintln!("  exit code agrees:        {exit_agree}/{total}");
    eprintln!(
        "  first error line agrees: {line_agree}/{}",
        with_line.len()
    );
    eprintln!("  ENV cause agrees:        {cause_agree}/{total}");
    eprintln!("  -dr passes (DNS-only):   {dr_agree}/{}", dr.len());
    for verdict in ["OK", "WARN", "ENV", "SYNTAX"] {
        let v: Vec<&Row> = rows.iter().filter(|r| r.verdict == verdict).collect();
        let ok = v.iter().filter(|r| r.want_exit == r.got_exit).count();
        eprintln!("  {verdict:<7} {ok}/{}", v.len());
    }
    let mut bad = Vec::new();
    for r in &rows {
        let line_bad = r.want_exit == 1 && r.want_line.is_some() && r.want_line != r.got_line;
        if r.want_exit != r.got_exit || line_bad || !r.cause_ok || r.dr_ok == Some(false) {
            bad.push(format!(
                "  {} [{}] exit {}/{} line {:?}/{:?} cause_ok={} dr_ok={:?}: {}",
                r.file,
                r.verdict,
                r.got_exit,
                r.want_exit,
                r.got_line,
                r.want_line,
                r.cause_ok,
                r.dr_ok,
                r.first
            ));
        }
    }
    if !bad.is_empty() {
        eprintln!("disagreements (got/want):");
        for b in &bad {
            eprintln!("{b}");
        }
    }
    assert!(total >= 170, "corpus has {total} files");
    assert_eq!(exit_agree, total, "exit codes must all agree");
    assert!(
        line_agree * 100 >= with_line.len() * 95,
        "first-error line agreement below 95%"
    );
    assert_eq!(cause_agree, total, "ENV causes must agree");
    assert_eq!(dr_agree, dr.len(), "DNS-only files must pass with -dr");
}
