use super::*;
use haproxide_expr::{AclExpr, Opts};

fn reg_with_acl() -> (Registry, AclExpr) {
    let reg = Registry::new();
    let opts = Opts {
        refs: Some(&reg),
        loc: Some(("t.cfg", 4)),
        ..Opts::default()
    };
    let e = AclExpr::parse(&["path_beg", "/a", "/b"], &opts).expect("acl");
    (reg, e)
}

#[test]
fn acl_commands_word_as_haproxy() {
    let (reg, _e) = reg_with_acl();
    let run = |v: &str, w: &str, rest: &[&str]| run(&reg, v, w, rest, None);
    assert_eq!(
        run("show", "acl", &[]),
        "# id (file) description\n0 () acl 'path_beg' file 't.cfg' line 4. curr_ver=0 next_ver=0 entry_cnt=2\n"
    );
    assert_eq!(run("show", "map", &[]), "# id (file) description\n");
    assert_eq!(run("show", "map", &["#0"]), UNKNOWN_MAP);
    assert_eq!(run("prepare", "acl", &["#0"]), "New version created: 1\n");
    assert_eq!(run("add", "acl", &["@1", "#0", "/c"]), "");
    assert_eq!(
        run("add", "acl", &["@3", "#0", "/c"]),
        "Version number in the future, please use 'prepare acl' before.\n"
    );
    let v1 = run("show", "acl", &["@1", "#0"]);
    assert!(v1.starts_with("0x") && v1.ends_with(" /c\n"), "{v1}");
    assert_eq!(
        run("get", "acl", &["#0", "/c/x"]),
        "type=beg, case=sensitive, match=no\n"
    );
    assert_eq!(
        run("commit", "acl", &["@2", "#0"]),
        "Version number out of range.\n"
    );
    assert_eq!(run("commit", "acl", &["#0"]), "Missing version number.\n");
    assert_eq!(run("commit", "acl", &["@1", "#0"]), "");
    assert_eq!(
        run("get", "acl", &["#0", "/c/x"]),
        "type=beg, case=sensitive, match=yes, idx=tree, pattern=\"/c\"\n"
    );
    assert_eq!(run("del", "acl", &["#0", "/zz"]), "Key not found.\n");
    assert_eq!(
        run("del", "acl", &["#0", "#0xzz"]),
        "Malformed identifier. Please use #<id> or <file>.\n"
    );
    assert_eq!(run("del", "acl", &["#0", "/c"]), "");
    assert_eq!(run("show", "acl", &["#0"]), "");
    assert_eq!(
        run("add", "map", &["#0"]),
        "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"
    );
    assert_eq!(run("clear", "acl", &[]), "Missing ACL identifier.\n");
}

#[test]
fn payload_adds_one_entry_per_line() {
    let (reg, _e) = reg_with_acl();
    assert_eq!(
        run(&reg, "add", "acl", &["#0"], Some("/p1\n/p2\n")),
        "'add acl' expects two parameters: ACL identifier and pattern.\n"
    );
    assert_eq!(
        run(&reg, "add", "acl", &["#0", "x"], Some("/p1\n/p2\n")),
        ""
    );
    let shown = run(&reg, "show", "acl", &["#0"], None);
    assert!(
        shown.contains(" /p1\n") && shown.contains(" /p2\n"),
        "{shown}"
    );
}
