//! Expected bytes measured on HAProxy 2.6.12 (the configurations in the
//! comments, requests `GET <path> HTTP/1.1` + `Host: h` on a keep-alive
//! connection: no `connection` header is added).

use super::*;
use crate::head::{Headers, Version};
use haproxide_expr::logfmt::LfMode;
use haproxide_expr::{AclSet, Opts};

fn fmt(s: &str) -> Fmt {
    Arc::new(LogFormat::parse(s, LfMode::Http).expect(s))
}

fn cond(s: &str) -> Option<Cond> {
    let w: Vec<&str> = s.split(' ').collect();
    Some(Cond::parse(&w, &AclSet::new(), &Opts::default()).expect(s))
}

fn rule(action: Action, c: &str) -> HttpRule {
    HttpRule {
        action,
        cond: if c.is_empty() { None } else { cond(c) },
    }
}

fn req(uri: &str, headers: &[(&str, &str)]) -> RequestHead {
    let mut h = Headers::default();
    h.push(b"Host", b"h");
    for (n, v) in headers {
        h.push(n.as_bytes(), v.as_bytes());
    }
    RequestHead {
        method: b"GET".to_vec(),
        uri: uri.as_bytes().to_vec(),
        version: Version::HTTP_11,
        headers: h,
    }
}

fn run(rules: &[HttpRule], head: &mut RequestHead, vars: &mut Vars) -> Verdict {
    run_rw(rules, head, vars, Rewrite::default()).0
}

/// [`run`] with a rewrite state; the verdict and the state after the rules.
pub(super) fn run_rw(
    rules: &[HttpRule],
    head: &mut RequestHead,
    vars: &mut Vars,
    rw: Rewrite,
) -> (Verdict, Rewrite) {
    let lists = [Userlist {
        name: "L".into(),
        users: vec![User {
            name: "bob".into(),
            password: Password::Insecure("secret".into()),
            groups: vec![],
        }],
    }];
    let pages = ErrorPages::default();
    let mut txn = Txn {
        rw,
        stick: None,
        seen: Default::default(),
        server: None,
        src: None,
        dst: None,
        frontend: "f",
        backend: None,
        vars,
        userlists: &lists,
        errors: &pages,
        log_level: None,
        captures: Vec::new(),
        body: None,
        tls: None,
        servers: None,
        cache: None,
    };
    let v = run_request(rules, head, &mut txn);
    (v, txn.rw)
}

fn bytes(v: Verdict) -> Vec<u8> {
    match v {
        Verdict::Reply(r) | Verdict::Local(r) | Verdict::Tarpit(r) => r.to_bytes(None),
        other => panic!("{other:?}"),
    }
}

fn spec(status: u16, body: ReplyBody, headers: &[(&str, &str)]) -> ReplySpec {
    ReplySpec {
        status,
        body,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), fmt(v)))
            .collect(),
    }
}

fn redir(kind: RedirectKind, t: &str, code: u16) -> Redirect {
    Redirect {
        kind,
        target: fmt(t),
        code,
        drop_query: false,
        append_slash: false,
        ignore_empty: false,
        cookie: None,
    }
}

fn answer(a: Action, uri: &str) -> String {
    let mut h = req(uri, &[]);
    String::from_utf8_lossy(&bytes(run(&[rule(a, "")], &mut h, &mut Vars::default()))).into_owned()
}

#[test]
fn replies_are_haproxys_bytes() {
    use RedirectKind::*;
    let bytes_body = |ct: &str, s: &str| ReplyBody::Bytes {
        content_type: ct.into(),
        data: Arc::from(s.as_bytes()),
    };
    let cases: Vec<(Action, &str, &str)> = vec![
        // http-request deny
        (Action::Deny(spec(403, ReplyBody::ErrorPage, &[])), "/", "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"),
        // deny deny_status 429
        (Action::Deny(spec(429, ReplyBody::ErrorPage, &[])), "/", "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 117\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n"),
        // deny status 404 content-type text/plain string "nope" hdr x-a b
        (Action::Deny(spec(404, bytes_body("text/plain", "nope"), &[("x-a", "b")])), "/", "HTTP/1.1 404 Not Found\r\nx-a: b\r\ncontent-length: 4\r\ncontent-type: text/plain\r\n\r\nnope"),
        // tarpit deny_status 500
        (Action::Tarpit(spec(500, ReplyBody::ErrorPage, &[])), "/", "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 97\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"),
        // return status 200 content-type text/plain string "hello"
        (Action::Return(spec(200, bytes_body("text/plain", "hello"), &[])), "/", "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n\r\nhello"),
        (Action::Return(spec(204, ReplyBody::Empty, &[])), "/", "HTTP/1.1 204 No Content\r\n\r\n"),
        (Action::Return(spec(503, ReplyBody::Empty, &[("x-b", "c")])), "/", "HTTP/1.1 503 Service Unavailable\r\nx-b: c\r\ncontent-length: 0\r\n\r\n"),
        (Action::Return(spec(200, ReplyBody::Empty, &[])), "/", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
        // return hdr x-a "%[req.hdr(none)]" hdr x-c c: an empty value adds no header (HAProxy 2.6.12)
        (Action::Return(spec(200, ReplyBody::Empty, &[("x-a", "%[req.hdr(none)]"), ("x-c", "c")])), "/", "HTTP/1.1 200 OK\r\nx-c: c\r\ncontent-length: 0\r\n\r\n"),
        // return status 404 content-type text/html string "<p>x</p>" hdr X-Y "%[path]"
        (Action::Return(spec(404, bytes_body("text/html", "<p>x</p>"), &[("X-Y", "%[path]")])), "/lf", "HTTP/1.1 404 Not Found\r\nx-y: /lf\r\ncontent-length: 8\r\ncontent-type: text/html\r\n\r\n<p>x</p>"),
        (Action::Return(spec(200, ReplyBody::Format { content_type: "text/plain".into(), fmt: fmt("p=%[path] q=%[query]") }, &[])), "/x?a", "HTTP/1.1 200 OK\r\ncontent-length: 8\r\ncontent-type: text/plain\r\n\r\np=/x q=a"),
        (Action::Redirect(redir(Location, "/new", 302)), "/", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new\r\ncache-control: no-cache\r\n\r\n"),
        (Action::Redirect(Redirect { cookie: Some("A=1; path=/;".into()), ..redir(Location, "/new", 301) }), "/", "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /new\r\nset-cookie: A=1; path=/;\r\n\r\n"),
        (Action::Redirect(Redirect { cookie: Some("B=; path=/; Max-Age=0;".into()), ..redir(Location, "/n", 302) }), "/", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /n\r\ncache-control: no-cache\r\nset-cookie: B=; path=/; Max-Age=0;\r\n\r\n"),
        (Action::Redirect(redir(Location, "/n", 303)), "/", "HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: /n\r\ncache-control: no-cache\r\n\r\n"),
        (Action::Redirect(redir(Location, "/n", 307)), "/", "HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: /n\r\ncache-control: no-cache\r\n\r\n"),
        (Action::Redirect(redir(Location, "/n", 308)), "/", "HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: /n\r\n\r\n"),
        (Action::Redirect(Redirect { drop_query: true, ..redir(Prefix, "/p", 302) }), "/pre/x?y=1", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /p/pre/x\r\ncache-control: no-cache\r\n\r\n"),
        (Action::Redirect(redir(Prefix, "/", 302)), "/slash/a?b", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /slash/a?b\r\ncache-control: no-cache\r\n\r\n"),
        (Action::Redirect(redir(Prefix, "https://x.y", 302)), "/abs/x", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://x.y/abs/x\r\ncache-control: no-cache\r\n\r\n"),
        (Action::Redirect(Redirect { append_slash: true, ..redir(Prefix, "/p", 302) }), "/app", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /p/app/\r\ncache-control: no-cache\r\n\r\n"),
        (Action::Redirect(redir(Scheme, "https", 302)), "/sch", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://h/sch\r\ncache-control: no-cache\r\n\r\n"),
        (Action::Redirect(Redirect { drop_query: true, append_slash: true, ..redir(Scheme, "https", 302) }), "/sd/x?y", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://h/sd/x/\r\ncache-control: no-cache\r\n\r\n"),
        // auth realm Secret / auth (the proxy's name)
        (Action::Auth { realm: "Secret".into() }, "/", "HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nwww-authenticate: Basic realm=\"Secret\"\r\n\r\n<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"),
    ];
    for (a, uri, want) in cases {
        let dbg = format!("{a:?}");
        assert_eq!(answer(a, uri), want, "{dbg} on {uri}");
    }
}

#[test]
fn header_and_uri_edits_in_order() {
    let re = |s: &str| Regex {
        text: s.into(),
        re: regex::bytes::Regex::new(s).unwrap(),
    };
    let rules = vec![
        rule(
            Action::SetHeader {
                name: "X-Set".into(),
                value: fmt("a"),
                replace: true,
            },
            "",
        ),
        rule(
            Action::SetHeader {
                name: "X-Add".into(),
                value: fmt("%[path]"),
                replace: false,
            },
            "",
        ),
        rule(
            Action::ReplaceHeader {
                name: "X-R".into(),
                re: re("^(a)(.*)"),
                fmt: fmt("z\\2"),
                items: false,
            },
            "",
        ),
        rule(
            Action::ReplaceHeader {
                name: "X-V".into(),
                re: re("^b$"),
                fmt: fmt("c"),
                items: true,
            },
            "",
        ),
        rule(
            Action::ReplacePart {
                part: UriPart::Uri,
                re: re("^/ru(.*)"),
                fmt: fmt("/new\\1"),
            },
            "",
        ),
        rule(
            Action::SetPart {
                part: UriPart::Query,
                fmt: fmt("x=1"),
            },
            "if { path /q }",
        ),
        rule(
            Action::SetPart {
                part: UriPart::Path,
                fmt: fmt("/p2"),
            },
            "if { path /p }",
        ),
        rule(
            Action::DelHeader {
                name: "x-del".into(),
                method: MatchMethod::Str,
            },
            "",
        ),
        rule(
            Action::SetVar {
                name: "txn.p".into(),
                expr: SampleExpr::parse("path").unwrap(),
                cond: haproxide_expr::VarCond::NONE,
            },
            "",
        ),
        rule(
            Action::SetHeader {
                name: "X-Var".into(),
                value: fmt("%[var(txn.p)]"),
                replace: true,
            },
            "",
        ),
    ];
    let mut h = req(
        "/ru/x?k",
        &[
            ("X-R", "abc"),
            ("X-R", "xyz"),
            ("X-V", "a, b ,c"),
            ("X-V", "b"),
            ("X-Set", "old"),
            ("X-Del", "1"),
        ],
    );
    let mut vars = Vars::default();
    assert_eq!(run(&rules, &mut h, &mut vars), Verdict::Continue);
    let mut out = Vec::new();
    crate::write::request_head(&h, None, &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "GET /new/x?k HTTP/1.1\r\nhost: h\r\nx-r: zbc\r\nx-r: xyz\r\nx-v: a, c ,c\r\nx-v: c\r\nx-set: a\r\nx-add: /ru/x\r\nx-var: /new/x\r\n\r\n"
    );
    assert!(vars.get("txn.p").is_some());
    let mut h = req("/q?a=1", &[]);
    run(&rules, &mut h, &mut Vars::default());
    assert_eq!(h.uri, b"/q?x=1");
    let mut h = req("/q", &[]);
    run(&rules, &mut h, &mut Vars::default());
    assert_eq!(h.uri, b"/q?x=1");
    let mut h = req("/p?z", &[]);
    run(&rules, &mut h, &mut Vars::default());
    assert_eq!(h.uri, b"/p2?z");
}

#[test]
fn first_final_action_stops_and_conditions_apply() {
    let rules = vec![
        rule(Action::Allow, "if { path /ok }"),
        rule(
            Action::Auth { realm: "f".into() },
            "if { path /auth } !{ http_auth(L) }",
        ),
        rule(Action::Deny(spec(403, ReplyBody::ErrorPage, &[])), ""),
    ];
    let mut vars = Vars::default();
    assert_eq!(run(&rules, &mut req("/ok", &[]), &mut vars), Verdict::Allow);
    let v = run(&rules, &mut req("/auth", &[]), &mut vars);
    assert!(
        matches!(&v, Verdict::Local(r) if r.head.code == 401),
        "{v:?}"
    );
    // bob:secret passes auth, then the deny applies.
    let v = run(
        &rules,
        &mut req("/auth", &[("Authorization", "Basic Ym9iOnNlY3JldA==")]),
        &mut vars,
    );
    assert!(
        matches!(&v, Verdict::Reply(r) if r.head.code == 403),
        "{v:?}"
    );
    assert_eq!(run(&[], &mut req("/", &[]), &mut vars), Verdict::Continue);
}

#[test]
fn response_rules_set_status_and_headers() {
    let rules = vec![
        rule(
            Action::SetStatus {
                code: 503,
                reason: Some("Busy".into()),
            },
            "if { status 200 }",
        ),
        rule(
            Action::SetHeader {
                name: "X-S".into(),
                value: fmt("%[status]"),
                replace: true,
            },
            "",
        ),
        rule(
            Action::DelHeader {
                name: "x-".into(),
                method: MatchMethod::Beg,
            },
            "if { res.hdr(server) -m found }",
        ),
    ];
    let r = req("/", &[]);
    let mut res = ResponseHead {
        version: Version::HTTP_11,
        status: b"200".to_vec(),
        code: 200,
        reason: b"OK".to_vec(),
        headers: Headers::default(),
    };
    let pages = ErrorPages::default();
    let mut vars = Vars::default();
    let mut txn = Txn {
        rw: Default::default(),
        stick: None,
        seen: Default::default(),
        server: None,
        src: None,
        dst: None,
        frontend: "f",
        backend: Some("b"),
        vars: &mut vars,
        userlists: &[],
        errors: &pages,
        log_level: None,
        captures: Vec::new(),
        body: None,
        tls: None,
        servers: None,
        cache: None,
    };
    assert_eq!(
        run_response(&rules, &r, &mut res, &mut txn),
        Verdict::Continue
    );
    let mut out = Vec::new();
    crate::write::response_head(&res, None, &mut out);
    assert_eq!(out, b"HTTP/1.1 503 Busy\r\nx-s: 503\r\n\r\n");
}

#[test]
fn errorfile_pages_replace_the_defaults() {
    let pages = ErrorPages {
        custom: vec![(403, Arc::from(&b"HTTP/1.0 403 Nope\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno"[..]))],
        ..ErrorPages::default()
    };
    let r = pages.reply(403);
    assert_eq!(
        r.to_bytes(None),
        b"HTTP/1.0 403 Nope\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nno"
    );
    assert_eq!(pages.reply(503).head.code, 503);
}

#[test]
fn wait_for_body_stops_the_rule_set_and_resumes_after_it() {
    use std::time::Duration;
    let rules = vec![
        rule(
            Action::SetHeader {
                name: "x-a".into(),
                value: fmt("1"),
                replace: true,
            },
            "",
        ),
        rule(
            Action::WaitForBody {
                time: Duration::from_millis(100),
                at_least: Some(1000),
            },
            "if { path /w }",
        ),
        rule(Action::Deny(spec(403, ReplyBody::ErrorPage, &[])), ""),
    ];
    let lists: [Userlist; 0] = [];
    let pages = ErrorPages::default();
    let mut vars = Vars::default();
    let mut txn = Txn {
        rw: Default::default(),
        stick: None,
        seen: Default::default(),
        server: None,
        src: None,
        dst: None,
        frontend: "f",
        backend: None,
        vars: &mut vars,
        userlists: &lists,
        errors: &pages,
        log_level: None,
        captures: Vec::new(),
        tls: None,
        servers: None,
        body: None,
        cache: None,
    };
    // The condition holds: the set stops at the wait, the first rule applied.
    let mut head = req("/w", &[]);
    match run_request_from(&rules, 0, &mut head, &mut txn) {
        Run::Wait { at, time, at_least } => {
            assert_eq!(
                (at, time, at_least),
                (1, Duration::from_millis(100), Some(1000))
            );
        }
        other => panic!("expected a wait, got {other:?}"),
    }
    assert_eq!(head.headers.get("x-a"), Some(&b"1"[..]));
    // Resumed after it: the deny.
    assert!(matches!(
        run_request_from(&rules, 2, &mut head, &mut txn),
        Run::Done(Verdict::Reply(_))
    ));
    // The condition fails: no wait, straight to the deny.
    let mut other = req("/x", &[]);
    assert!(matches!(
        run_request_from(&rules, 0, &mut other, &mut txn),
        Run::Done(Verdict::Reply(_))
    ));
    // run_request does not wait.
    assert!(matches!(
        run_request(&rules, &mut head, &mut txn),
        Verdict::Reply(_)
    ));
}

/// `set-var(<name>,<cond>...)` actions and the `set-var` converter in a
/// condition store through the same [`Vars::set_if`] (§4.2, §7.3.1).
#[test]
fn set_var_conditions_and_converter() {
    let set = |name: &str, e: &str, cond: &str| {
        rule(
            Action::SetVar {
                name: name.into(),
                expr: SampleExpr::parse(e).unwrap(),
                cond: haproxide_expr::VarCond::parse(cond.split(',').filter(|w| !w.is_empty()))
                    .unwrap(),
            },
            "",
        )
    };
    let rules = vec![
        set("txn.a", "int(5)", ""),
        set("txn.a", "int(55)", "ifgt"),
        set("txn.a", "int(2)", "ifgt"),
        set("txn.b", "str(x)", "ifexists"),
        set("proc.c", "str(x)", "ifexists,ifnotset"),
        set("txn.d", "str()", "ifnotempty"),
        rule(
            Action::Deny(spec(403, ReplyBody::ErrorPage, &[])),
            "if { path,set-var(txn.e,ifnotset),length -m int 0 }",
        ),
    ];
    let mut vars = Vars::default();
    let mut h = req("/p", &[]);
    assert_eq!(run(&rules, &mut h, &mut vars), Verdict::Continue);
    assert_eq!(vars.get("txn.a"), Some(Sample::Sint(2)));
    assert_eq!(vars.get("txn.b"), None);
    assert!(vars.get("proc.c").is_some());
    assert_eq!(vars.get("txn.d"), None);
    let e = vars
        .get("txn.e")
        .and_then(|s| s.bytes().map(<[u8]>::to_vec));
    assert_eq!(e.as_deref(), Some(&b"/p"[..]));
}

/// `del-header -m str|beg|end|sub`: case-insensitive on both sides, no match
/// past either end.
#[test]
fn header_names_match_case_insensitively_by_method() {
    use super::name_matches as m;
    use MatchMethod::*;
    assert!(m(b"X-Remove-Me", "x-remove-me", Str));
    assert!(!m(b"X-Remove-Me", "x-remove", Str));
    assert!(m(b"X-Remove-Me", "X-REM", Beg));
    assert!(!m(b"X-R", "x-remove", Beg));
    assert!(m(b"X-Remove-Me", "-ME", End));
    assert!(!m(b"Me", "x-me", End));
    assert!(m(b"X-Remove-Me", "MOVE", Sub));
    assert!(!m(b"X-Remove-Me", "moved", Sub));
    assert!(m(b"X-Remove-Me", "", Sub));
}
