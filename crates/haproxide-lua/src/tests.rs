//! The host without a proxy: loading, a service's reply, an action's edits,
//! and the limits (a loop, a loop that catches errors, a memory hog).

use std::time::{Duration, Instant};

use haproxide_expr::Sample;
use haproxide_http::rules::Vars;
use haproxide_http::script::{ActionEnd, ScriptHost, ScriptKind, ScriptTxn};
use haproxide_http::{Headers, RequestHead, ResponseHead, Version};

use crate::{LuaError, LuaHost, LuaSpec};

struct Txn {
    req: RequestHead,
    vars: Vars,
}

impl Txn {
    fn get(uri: &str) -> Txn {
        let mut headers = Headers::default();
        headers.push(b"Host", b"a");
        Txn {
            req: RequestHead {
                method: b"GET".to_vec(),
                uri: uri.as_bytes().to_vec(),
                version: Version { major: 1, minor: 1 },
                headers,
            },
            vars: Vars::default(),
        }
    }
}

impl ScriptTxn for Txn {
    fn req(&self) -> &RequestHead {
        &self.req
    }
    fn req_mut(&mut self) -> Option<&mut RequestHead> {
        Some(&mut self.req)
    }
    fn res(&self) -> Option<&ResponseHead> {
        None
    }
    fn res_mut(&mut self) -> Option<&mut ResponseHead> {
        None
    }
    fn body(&self) -> Option<&[u8]> {
        None
    }
    fn fetch(&self, expr: &str) -> Result<Option<Sample<'static>>, String> {
        Err(format!("no fetch {expr} here"))
    }
    fn get_var(&self, name: &str) -> Option<Sample<'static>> {
        self.vars.get(name).map(haproxide_http::script::owned)
    }
    fn set_var(&mut self, name: &str, v: Sample<'_>) {
        self.vars.set(name, v);
    }
    fn unset_var(&mut self, name: &str) {
        self.vars.unset(name);
    }
    fn frontend(&self) -> &str {
        "fe"
    }
}

fn host(code: &str, spec: LuaSpec) -> Result<LuaHost, LuaError> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("hpx-lua-unit-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| LuaError::State(e.to_string()))?;
    let f = dir.join("script.lua");
    let h = std::fs::write(&f, code)
        .map_err(|e| LuaError::State(e.to_string()))
        .and_then(|()| {
            LuaHost::load(&LuaSpec {
                loads: vec![f.clone()],
                ..spec
            })
        });
    let _ = std::fs::remove_dir_all(&dir);
    h
}

fn quick() -> LuaSpec {
    LuaSpec {
        session_timeout: Duration::from_millis(100),
        service_timeout: Duration::from_millis(100),
        maxmem: Some(8 << 20),
        ..LuaSpec::default()
    }
}

#[test]
fn load_errors_name_the_file() {
    let e = host("this is not lua", quick()).err();
    assert!(
        matches!(&e, Some(LuaError::Load { msg, .. }) if msg.contains("syntax error")),
        "{e:?}"
    );
    let e = host("core.tcp()", quick()).err();
    assert!(
        matches!(&e, Some(LuaError::Load { msg, .. }) if msg.contains("core.tcp is not supported")),
        "{e:?}"
    );
    let e = host("while true do end", quick()).err();
    assert!(
        matches!(&e, Some(LuaError::Load { msg, .. }) if msg.contains("execution timeout")),
        "{e:?}"
    );
}

#[test]
fn service_and_action() {
    let h = host(
        r#"core.register_service("s", "http", function(a)
             a:set_status(201) a:add_header("X-A", a.path .. "?" .. a.qs) a:start_response() a:send("hi") end)
           core.register_action("act", {"http-req"}, function(txn, v)
             txn.http:req_set_path("/new") txn.http:req_add_header("x-v", v)
             txn:set_var("txn.n", 7) end, 1)"#,
        quick(),
    )
    .expect("loads");
    assert!(h.has(ScriptKind::Service, "s") && h.has(ScriptKind::HttpReq, "act"));
    assert!(!h.has(ScriptKind::HttpRes, "act") && !h.has(ScriptKind::Service, "act"));
    let mut t = Txn::get("/p?q=1");
    let r = h.service("s", &mut t).expect("runs");
    assert_eq!(r.head.code, 201);
    assert_eq!(r.head.headers.get("x-a"), Some(&b"/p?q=1"[..]));
    assert_eq!(r.body, b"2\r\nhi\r\n0\r\n\r\n");
    let end = h.action("act", &["val".into()], &mut t).expect("runs");
    assert_eq!(end, ActionEnd::Continue);
    assert_eq!(t.req.uri, b"/new?q=1");
    assert_eq!(t.req.headers.get("x-v"), Some(&b"val"[..]));
    assert_eq!(t.vars.get("txn.n"), Some(Sample::Sint(7)));
}

#[test]
fn limits_end_runaway_calls() {
    let h = host(
        r#"core.register_service("loop", "http", function(a) while true do end end)
           core.register_service("pcall", "http", function(a) while true do pcall(function() while true do end end) end end)
           core.register_service("gsub", "http", function(a) string.gsub("aaaa", "a", function() while true do end end) end)
           core.register_service("hog", "http", function(a) local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end end)
           core.register_service("ok", "http", function(a) a:start_response() a:send("fine") end)"#,
        quick(),
    )
    .expect("loads");
    for name in ["loop", "pcall", "gsub", "hog"] {
        let t0 = Instant::now();
        let e = h.service(name, &mut Txn::get("/")).err();
        assert!(e.is_some(), "{name} returned");
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "{name}: {:?}",
            t0.elapsed()
        );
        // The state still serves.
        let r = h.service("ok", &mut Txn::get("/")).expect("ok runs");
        assert_eq!(r.body, b"4\r\nfine\r\n0\r\n\r\n", "after {name}");
    }
}

/// To an HTTP/1.0 request an applet without `content-length` answers in
/// HTTP/1.0, the body unframed (HAProxy 2.6.12, measured: `HTTP/1.0 200 OK`,
/// no `transfer-encoding`).
#[test]
fn http10_reply_is_not_chunked() {
    let h = host(
        r#"core.register_service("s", "http", function(a) a:start_response() a:send("x") end)"#,
        quick(),
    )
    .expect("loads");
    let mut t = Txn::get("/");
    t.req.version = Version { major: 1, minor: 0 };
    let r = h.service("s", &mut t).expect("runs");
    assert_eq!((r.head.version.major, r.head.version.minor), (1, 0));
    assert!(r.head.headers.get("transfer-encoding").is_none());
    assert_eq!(r.body, b"x");
}
