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
