//! `--format haproxy` against what `haproxy -c` 2.6.12 really printed for the 170
//! corpus files (../shared/corpus/haproxy-cfg/expected/*.out), pid and NOTICE lines
//! aside. The count of byte-identical outputs may only go up; docs/config-support.md
//! explains the remaining differences. HAProxy's outputs were captured without
//! network (its `resolvers` nameservers could not be connected): haproxide runs
//! without one too, in a new network namespace (`unshare -rn`).

mod common;

use std::path::Path;
use std::process::Command;

/// Byte-identical outputs measured when this test was last tightened.
const FLOOR: usize = 167;

fn normalise(s: &str) -> String {
    common::check_lines(s).join("\n")
}

#[test]
fn haproxy_format_reproduces_haproxy_c_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/haproxy-cfg");
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        assert!(std::env::var_os("CI").is_none(), "corpus missing in CI");
        eprintln!("corpus not found: skipped");
        return;
    };
    if !common::offline_works() {
        assert!(std::env::var_os("CI").is_none(), "unshare -rn fails in CI");
        eprintln!("unshare -rn fails: skipped");
        return;
    }
    let mut same = 0;
    let mut total = 0;
    for line in manifest.lines().skip(1) {
        let Some(file) = line.split('\t').next() else {
            continue;
        };
        let Ok(expected) = std::fs::read_to_string(dir.join(format!("expected/{file}.out"))) else {
            continue;
        };
        total += 1;
        let out = Command::new("unshare")
            .current_dir(&dir)
            .args(["-rn", env!("CARGO_BIN_EXE_haproxide")])
            .args(common::CHECK_26)
            .arg(file)
            .output()
            .expect("run haproxide");
        // HAProxy's capture was stderr then stdout (stdout is flushed at exit).
        let got = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        if normalise(&got) == normalise(&expected) {
            same += 1;
        }
    }
    eprintln!("--format haproxy identical to haproxy -c: {same}/{total}");
    assert!(total >= 170);
    assert!(
        same >= FLOOR,
        "only {same}/{total} outputs identical (floor {FLOOR})"
    );
}
