//! The real `haproxy -c` (HAProxy 2.6.12, installed by scripts/install-deps):
//! the oracle the tables of the config crate are checked against.

use std::process::Command;

use haproxide_testkit::fs::TempDir;

/// The real `haproxy -c` on configurations written to a temporary file.
pub struct Oracle {
    _dir: TempDir,
    path: std::path::PathBuf,
}

impl Oracle {
    pub fn new(tag: &str) -> Oracle {
        let dir = TempDir::new(tag);
        let path = dir.path("h.cfg");
        Oracle { _dir: dir, path }
    }

    /// The file the configurations are written to.
    #[allow(dead_code)]
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Its exit code and standard error on `text`.
    pub fn check(&self, text: &str) -> (Option<i32>, String) {
        std::fs::write(&self.path, text).expect("write the configuration");
        let out = Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&self.path)
            .output()
            .expect("haproxy (the oracle) is installed by scripts/install-deps");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.code(), stderr)
    }
}

/// The alerts of `haproxy -c`'s standard error, each from `sep` on (`"] : "`
/// after the pid, `" : config : "` after the prefix), without the closing
/// "Fatal errors found" line.
#[allow(dead_code)]
pub fn alerts_after(stderr: &str, sep: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("[ALERT]") && !l.contains("Fatal errors"))
        .filter_map(|l| l.split_once(sep).map(|(_, m)| m.to_string()))
        .collect()
}
