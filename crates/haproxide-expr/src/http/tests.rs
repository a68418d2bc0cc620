use super::*;
use crate::acl::{AclExpr, AclSet, Opts};
use crate::fetch::find_fetch;
use crate::{SampleExpr, Tri};

#[derive(Default)]
struct Msg {
    method: &'static str,
    uri: &'static str,
    req: Vec<(&'static str, &'static str)>,
    status: Option<u16>,
    res: Vec<(&'static str, &'static str)>,
    on_res: bool,
}

impl Context for Msg {
    fn http_method(&self) -> Option<&[u8]> {
        Some(self.method.as_bytes()).filter(|m| !m.is_empty())
    }
    fn http_uri(&self) -> Option<&[u8]> {
        Some(self.uri.as_bytes())
    }
    fn http_req_version(&self) -> Option<(u8, u8)> {
        Some((1, 1))
    }
    fn http_req_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.req.get(i).map(|(n, v)| (n.as_bytes(), v.as_bytes()))
    }
    fn http_status(&self) -> Option<u16> {
        self.status
    }
    fn http_res_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.res.get(i).map(|(n, v)| (n.as_bytes(), v.as_bytes()))
    }
    fn http_on_response(&self) -> bool {
        self.on_res
    }
    fn userlist_check(&self, list: &str, user: &[u8], pass: &[u8]) -> bool {
        list == "L" && user == b"bob" && pass == b"secret"
    }
    fn userlist_group(&self, _: &str, _: &[u8], i: usize) -> Option<&[u8]> {
        [&b"admins"[..], b"ops"].get(i).copied()
    }
}

fn req() -> Msg {
    Msg {
        method: "GET",
        uri: "/a/b.php?x=1&y=2&x=3",
        req: vec![
            ("Host", "example.com"),
            ("X-List", "a, b"),
            ("x-list", "\"c,d\""),
            ("Cookie", "s=1; t=2; s=3"),
            ("Content-Length", "12"),
            ("X-Forwarded-For", "10.0.0.1"),
            // bob:secret
            ("Authorization", "Basic Ym9iOnNlY3JldA=="),
            // As a `set-header x-pad "  v w  "` leaves it.
            ("x-pad", "  v w  "),
        ],
        ..Msg::default()
    }
}

fn one_value(ctx: &Msg, expr: &str) -> Option<Vec<u8>> {
    let e = SampleExpr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let v = e.eval(ctx, SINGLE).value?;
    Some(match v {
        Sample::Sint(i) => i.to_string().into_bytes(),
        Sample::Bool(b) => u8::from(b).to_string().into_bytes(),
        Sample::Ipv4(a) => a.to_string().into_bytes(),
        other => other.bytes().unwrap_or_default().to_vec(),
    })
}

#[test]
fn single_values() {
    let m = req();
    let cases: &[(&str, Option<&str>)] = &[
        ("method", Some("GET")),
        ("url", Some("/a/b.php?x=1&y=2&x=3")),
        ("path", Some("/a/b.php")),
        ("pathq", Some("/a/b.php?x=1&y=2&x=3")),
        ("query", Some("x=1&y=2&x=3")),
        ("base", Some("example.com/a/b.php")),
        ("url_param(x)", Some("1")),
        ("urlp(y)", Some("2")),
        ("urlp(z)", None),
        ("urlp_val(y)", Some("2")),
        ("hdr(host)", Some("example.com")),
        ("req.hdr(x-list)", Some("\"c,d\"")),
        ("req.hdr(x-list,1)", Some("a")),
        ("req.hdr(x-list,-2)", Some("b")),
        ("req.hdr(x-list,9)", None),
        ("req.fhdr(x-list)", Some("\"c,d\"")),
        ("req.fhdr(x-list,1)", Some("a, b")),
        ("req.fhdr(x-pad)", Some("v w")),
        ("hdr_cnt(x-list)", Some("3")),
        ("req.fhdr_cnt(x-list)", Some("2")),
        ("hdr_cnt(nope)", Some("0")),
        ("hdr_val(content-length)", Some("12")),
        ("hdr_ip(x-forwarded-for)", Some("10.0.0.1")),
        ("req.cook(s)", Some("3")),
        ("cook(t)", Some("2")),
        ("req.cook_cnt(s)", Some("2")),
        ("req.cook(nope)", None),
        // No name: the first cookie (HAProxy's sample_fetches/cook reg-test).
        ("req.cook_val()", Some("1")),
        ("req.ver", Some("1.1")),
        ("req.proto_http", Some("1")),
        ("http_auth(L)", Some("1")),
        ("http_auth(M)", Some("0")),
        ("http_auth_group(L)", Some("admins")),
        ("status", None),
        ("res.hdr(server)", None),
        ("hdr(host),lower,regsub(\\.com$,.org)", Some("example.org")),
    ];
    for (expr, want) in cases {
        assert_eq!(
            one_value(&m, expr),
            want.map(|w| w.as_bytes().to_vec()),
            "{expr}"
        );
    }
}

#[test]
fn url_ip_and_port_as_haproxy() {
    // HAProxy 2.6.12's answers (`lf-string "%[url_ip] %[url_port]"`).
    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        ("http://10.1.2.3/x", Some("10.1.2.3"), Some("80")),
        ("http://10.1.2.3:8080/x", Some("10.1.2.3"), Some("8080")),
        ("HTTP://10.1.2.3:99", Some("10.1.2.3"), Some("99")),
        ("https://10.1.2.3/", Some("10.1.2.3"), Some("443")),
        ("http://10.1.2.3:99999/", Some("10.1.2.3"), Some("34463")),
        ("http://10.1.2.3:12ab/", Some("10.1.2.3"), Some("12")),
        ("http://localhost:81/", None, None),
        ("http://[::1]:81/", None, None),
        ("http://10.1.2/", None, None),
        ("/plain", None, None),
        ("ftp://10.1.2.3/", None, None),
    ];
    for (uri, ip, port) in cases {
        let m = Msg {
            uri,
            method: "GET",
            ..Msg::default()
        };
        let as_bytes = |v: &Option<&str>| v.map(|w| w.as_bytes().to_vec());
        assert_eq!(one_value(&m, "url_ip"), as_bytes(ip), "{uri}");
        assert_eq!(one_value(&m, "url_port"), as_bytes(port), "{uri}");
    }
}

#[test]
fn paths_of_each_uri_form() {
    assert_eq!(uri_path(b"/x?q"), Some(&b"/x?q"[..]));
    assert_eq!(uri_path(b"http://h:80/p?q"), Some(&b"/p?q"[..]));
    assert_eq!(uri_path(b"http://h"), Some(&b""[..]));
    assert_eq!(uri_path(b"*"), None);
    assert_eq!(uri_path(b"h:443"), None);
    let m = Msg {
        uri: "*",
        method: "OPTIONS",
        ..Msg::default()
    };
    assert_eq!(one_value(&m, "path"), None);
    assert_eq!(one_value(&m, "query"), None);
}

#[test]
fn response_side() {
    let m = Msg {
        method: "GET",
        uri: "/",
        req: vec![("Host", "h")],
        status: Some(302),
        res: vec![
            ("Server", "x"),
            ("Set-Cookie", "SID=abc; Path=/"),
            ("Set-Cookie", "o=1"),
        ],
        on_res: true,
    };
    assert_eq!(one_value(&m, "status"), Some(b"302".to_vec()));
    assert_eq!(one_value(&m, "hdr(server)"), Some(b"x".to_vec()));
    assert_eq!(one_value(&m, "req.hdr(host)"), Some(b"h".to_vec()));
    assert_eq!(one_value(&m, "res.cook(SID)"), Some(b"abc".to_vec()));
    assert_eq!(one_value(&m, "scook_cnt"), Some(b"2".to_vec()));
    assert_eq!(one_value(&m, "shdr_cnt(set-cookie)"), Some(b"2".to_vec()));
}

fn acl(m: &Msg, words: &str) -> Tri {
    let w: Vec<&str> = words.split(' ').collect();
    let mut set = AclSet::new();
    set.add(
        "a",
        AclExpr::parse(&w, &Opts::default()).unwrap_or_else(|e| panic!("{words}: {e}")),
    );
    set.get("a").unwrap().eval(m)
}

#[test]
fn acls_iterate_occurrences_and_derive_methods() {
    let m = req();
    let pass = [
        "path_beg /a/",
        "path_end .php",
        "path_dir b.php",
        "path_sub /b",
        "path_reg ^/a/.*php$",
        "path_len 8",
        "url_beg /a",
        "urlp(x) 3",
        "hdr(x-list) a",
        "hdr(x-list) b",
        "hdr_beg(host) exa",
        "hdr_end(host) .com",
        "hdr_dom(host) example",
        "hdr_sub(host) mple",
        "hdr_reg(host) ^ex",
        "hdr_len(host) 11",
        "hdr_ip(x-forwarded-for) 10.0.0.0/8",
        "hdr_val(content-length) gt 10",
        "hdr_cnt(x-list) 3",
        "cook(s) 1",
        "cook(s) 3",
        "cook_beg(t) 2",
        "hdr(host) -i EXAMPLE.COM",
        "method GET",
        "base_beg example.com/a",
        "http_auth(L)",
        "http_auth_group(L) ops",
        "req.ver 1.1",
    ];
    for w in pass {
        assert_eq!(acl(&m, w), Tri::Pass, "{w}");
    }
    for w in [
        "path_beg /b",
        "hdr(x-list) c",
        "method POST",
        "hdr(host) EXAMPLE.COM",
        "http_auth_group(L) nobody",
        "cook(x) -m found",
        "status 200",
    ] {
        assert_eq!(acl(&m, w), Tri::Fail, "{w}");
    }
}

#[test]
fn predefined_http_acls() {
    let set = AclSet::new();
    let m = req();
    let ok = |n: &str| set.get(n).unwrap_or_else(|e| panic!("{n}: {e}")).eval(&m);
    assert_eq!(ok("HTTP"), Tri::Pass);
    assert_eq!(ok("HTTP_1.1"), Tri::Pass);
    assert_eq!(ok("HTTP_1.0"), Tri::Fail);
    assert_eq!(ok("HTTP_CONTENT"), Tri::Pass);
    assert_eq!(ok("HTTP_URL_SLASH"), Tri::Pass);
    assert_eq!(ok("HTTP_URL_ABS"), Tri::Fail);
    assert_eq!(ok("HTTP_URL_STAR"), Tri::Fail);
    assert_eq!(ok("METH_GET"), Tri::Pass);
    for n in [
        "METH_CONNECT",
        "METH_DELETE",
        "METH_HEAD",
        "METH_OPTIONS",
        "METH_POST",
        "METH_PUT",
        "METH_TRACE",
    ] {
        assert_eq!(ok(n), Tri::Fail, "{n}");
    }
    let abs = Msg {
        method: "HEAD",
        uri: "http://h/x",
        ..Msg::default()
    };
    let g = |n: &str| set.get(n).unwrap().eval(&abs);
    assert_eq!(g("HTTP_URL_ABS"), Tri::Pass);
    assert_eq!(g("METH_GET"), Tri::Pass);
    assert_eq!(g("METH_HEAD"), Tri::Pass);
    // No HTTP request at all (a TCP context).
    struct Tcp;
    impl Context for Tcp {}
    assert_eq!(set.get("HTTP").unwrap().eval(&Tcp), Tri::Fail);
}

#[test]
fn hostile_values_do_not_panic() {
    let m = Msg {
        method: "GET",
        uri: "?",
        req: vec![
            ("Cookie", ";;=;a"),
            ("X", ","),
            ("X", "\"unterminated,"),
            ("Authorization", "Basic !!!"),
        ],
        ..Msg::default()
    };
    for e in [
        "req.cook(a)",
        "hdr(x,-1)",
        "hdr(x,-10)",
        "hdr_cnt(x)",
        "urlp(a)",
        "query",
        "http_auth(L)",
        "base",
    ] {
        let _ = one_value(&m, e);
    }
    assert_eq!(one_value(&m, "hdr_cnt(x)"), Some(b"3".to_vec()));
    assert!(find_fetch("hdr").is_some());
    // Below -10 HAProxy 2.6 refuses the occurrence (`val_hdr`), and so do we.
    let e = SampleExpr::parse("hdr(x,-99)").map(|_| ()).unwrap_err();
    assert_eq!(
        e.message,
        "invalid args in fetch method 'hdr' : header occurrence must be >= -10"
    );
}
