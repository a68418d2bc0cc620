use super::*;
use crate::{AclExpr, Context, Opts};

struct Path(&'static str);
impl Context for Path {
    fn http_method(&self) -> Option<&[u8]> {
        Some(b"GET")
    }
    fn http_uri(&self) -> Option<&[u8]> {
        Some(self.0.as_bytes())
    }
}

fn acl(reg: &Registry, words: &[&str]) -> AclExpr {
    let opts = Opts {
        refs: Some(reg),
        loc: Some(("t.cfg", 7)),
        ..Opts::default()
    };
    AclExpr::parse(words, &opts).expect("acl")
}

fn pass(e: &AclExpr, path: &'static str) -> bool {
    let mut set = crate::AclSet::new();
    set.add("x", e.clone());
    let c = crate::Cond::parse(&["if", "x"], &set, &Opts::default()).expect("cond");
    c.eval(&Path(path)) == crate::Tri::Pass
}

/// An inline ACL gets an anonymous reference; runtime changes are seen by
/// the next evaluation; versions stay invisible until committed.
#[test]
fn runtime_changes_reach_the_acl_and_versions_wait_for_commit() {
    let reg = Registry::new();
    let e = acl(&reg, &["path_beg", "/a"]);
    let all = reg.all();
    assert_eq!(all.len(), 1);
    let r = all[0].1.clone();
    assert_eq!(r.display, "acl 'path_beg' file 't.cfg' line 7");
    assert!(pass(&e, "/a/x") && !pass(&e, "/b"));
    r.add(None, "/b", None).expect("add");
    assert!(pass(&e, "/b/1"));
    assert!(r.delete("/a"));
    assert!(!pass(&e, "/a/x"));
    // A prepared version is filled, then committed atomically.
    let v = r.prepare();
    assert_eq!(v, 1);
    r.add(Some(v), "/c", None).expect("add");
    assert!(!pass(&e, "/c") && pass(&e, "/b"));
    assert!(!r.commit(5), "not prepared");
    assert!(r.commit(v));
    assert!(pass(&e, "/c") && !pass(&e, "/b"));
    assert_eq!(r.versions(), (1, 1));
    assert_eq!(r.entries().len(), 1, "the older version was purged");
    r.clear(None);
    assert!(!pass(&e, "/c"));
}

/// An entry a reader cannot compile is refused with HAProxy's text and not
/// added.
#[test]
fn bad_entries_are_refused() {
    let reg = Registry::new();
    let _e = acl(&reg, &["src", "10.0.0.0/8"]);
    let r = reg.all()[0].1.clone();
    let err = r.add(None, "foo_", None).unwrap_err();
    assert_eq!(err, "'foo_' is not a valid IPv4 or IPv6 address");
    assert_eq!(r.entries().len(), 1);
    assert_eq!(r.set("nope", "x").unwrap_err(), "entry not found");
}

/// `-f` files are shared references; int operators are stored as ranges.
#[test]
fn files_are_shared_and_operators_become_ranges() {
    let reg = Registry::new();
    let dir = std::env::temp_dir().join(format!("patref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("a.lst");
    std::fs::write(&f, "# c\n/x\n\n /y \n").expect("write");
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| e.to_string());
    let name = f.to_string_lossy().to_string();
    let opts = Opts {
        refs: Some(&reg),
        loc: Some(("t.cfg", 3)),
        pattern_file: Some(&read),
        ..Opts::default()
    };
    let a = AclExpr::parse(&["path_beg", "-f", &name], &opts).expect("a");
    let b = AclExpr::parse(&["path", "-f", &name], &opts).expect("b");
    let _n = AclExpr::parse(&["req.len", "gt", "3", "le", "9"], &opts).expect("n");
    let all = reg.all();
    // file, anonymous(a), anonymous(b), anonymous(n)
    assert_eq!(all.len(), 4);
    let file = reg.lookup(&name).expect("by name");
    assert_eq!(file.current().len(), 2);
    assert_eq!(
        reg.lookup("#3").expect("#3").current(),
        vec![("4:".to_string(), None), (":9".to_string(), None)]
    );
    file.add(None, "/z", None).expect("add");
    assert!(pass(&a, "/z/1") && pass(&b, "/z") && !pass(&b, "/z/1"));
    assert_eq!(file.users().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
