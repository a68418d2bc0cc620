//! Temporary directories removed on drop, also when the test fails.
//!
//! ```
//! let d = haproxide_testkit::fs::TempDir::new("doc-example");
//! std::fs::write(d.path("a.cfg"), "global\n").unwrap();
//! let kept = d.dir().to_path_buf();
//! assert!(kept.join("a.cfg").exists());
//! drop(d);
//! assert!(!kept.exists());
//! ```

use std::path::{Path, PathBuf};

/// `$TMPDIR/hpx-<tag>-<pid>`, emptied at creation and removed on drop. Tests of
/// one binary share the pid: give each a distinct tag.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("hpx-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    /// The path of `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
