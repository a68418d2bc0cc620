//! The haproxide-only `patroni` block (docs/patroni.md, "Following the leader key"):
//! the example file is valid for the real HAProxy 2.6 unchanged (the oracle,
//! installed by scripts/install-deps) and for haproxide, which reads the block.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const EXAMPLE: &str = "examples/patroni/haproxy-leader-watch.cfg";

#[test]
fn haproxy_accepts_the_watch_example_unchanged() {
    let out = Command::new("haproxy")
        .current_dir(root())
        .args(["-c", "-f", EXAMPLE])
        .output()
        .expect("haproxy (the oracle) is installed by scripts/install-deps");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "haproxy -c said: {text}");
    assert!(text.contains("Configuration file is valid"), "{text}");
}

#[test]
fn without_its_if_haproxy_refuses_the_block() {
    // The `.if feature(HAPROXIDE)` is what keeps one file valid for both.
    let text = std::fs::read_to_string(root().join(EXAMPLE)).unwrap();
    let bare: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with(".if") && !l.trim_start().starts_with(".endif"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = std::env::temp_dir().join(format!("haproxide-patroni-block-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bare.cfg");
    std::fs::write(&cfg, bare).unwrap();
    let theirs = Command::new("haproxy")
        .args(["-c", "-f"])
        .arg(&cfg)
        .output()
        .expect("haproxy (the oracle) is installed by scripts/install-deps");
    let err = String::from_utf8_lossy(&theirs.stderr).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(theirs.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown keyword 'patroni-role'"), "{err}");
}

#[test]
fn haproxide_reads_the_block() {
    let out = Command::new(env!("CARGO_BIN_EXE_haproxide"))
        .current_dir(root())
        .args(["check", "-f", EXAMPLE])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // A mistake in the block is reported with its line, as any keyword.
    let dir = std::env::temp_dir().join(format!("haproxide-patroni-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.cfg");
    let text = std::fs::read_to_string(root().join(EXAMPLE))
        .unwrap()
        .replace("patroni-role lab leader", "patroni-role lab primary");
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_haproxide"))
        .args(["check", "-f"])
        .arg(&cfg)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("bad.cfg:36"), "{text}");
    assert!(
        text.contains("leader, replica or sync-standby (got `primary`)"),
        "{text}"
    );
}
