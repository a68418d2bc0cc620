//! Stats service tests against a fake runtime shaped like
//! tests/fixtures/stats/oracle.cfg as HAProxy 2.6.12 showed it (listen `stats` in
//! mode http; listen `pg` with s1 checked and refused, s2 unchecked, b1 a checked
//! backup, refused).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::{self, Request};
use super::*;
use crate::cli::{
    ActionError, BackendSnapshot, CheckSnapshot, FrontendAction, FrontendSnapshot, InfoSnapshot,
    OpState, ProxySnapshot, ServerSnapshot,
};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/stats/",
            $name
        ))
    };
}

pub(crate) struct Fake {
    pub(crate) proxies: Mutex<Vec<ProxySnapshot>>,
    pub(crate) actions: Mutex<Vec<(String, String, ServerAction)>>,
    pub(crate) dcs: crate::cli::dcs::DcsSnapshot,
}

fn refused(name: &str, sid: u32, port: u16, backup: bool) -> ServerSnapshot {
    ServerSnapshot {
        name: name.into(),
        sid,
        host: "127.0.0.1".into(),
        port,
        status: "DOWN".into(),
        op_state: OpState::Stopped,
        backup,
        lastchg: 3,
        check: Some(CheckSnapshot {
            status: "L4CON".into(),
            duration_ms: Some(0),
            last_chk: "Connection refused".into(),
            desc: "Layer4 connection problem".into(),
            rise: 1,
            fall: 1,
            chkfail: 1,
            chkdown: 1,
            downtime: 3,
            ..Default::default()
        }),
        check_configured: true,
        check_enabled: true,
        need_conn_est: 1,
        ..Default::default()
    }
}

pub(crate) fn oracle_proxies() -> Vec<ProxySnapshot> {
    let fe = FrontendSnapshot {
        slim: 9984,
        ..Default::default()
    };
    let s2 = ServerSnapshot {
        name: "s2".into(),
        sid: 2,
        host: "127.0.0.1".into(),
        port: 17992,
        lastchg: 3,
        ..Default::default()
    };
    vec![
        ProxySnapshot {
            name: "stats".into(),
            iid: 2,
            forced_id: false,
            mode: "http".into(),
            frontend: Some(fe.clone()),
            backend: Some(BackendSnapshot {
                slim: 999,
                lastchg: 3,
                ..Default::default()
            }),
        },
        ProxySnapshot {
            name: "pg".into(),
            iid: 3,
            forced_id: false,
            mode: "tcp".into(),
            frontend: Some(fe),
            backend: Some(BackendSnapshot {
                slim: 999,
                lastchg: 3,
                servers: vec![
                    refused("s1", 1, 17991, false),
                    s2,
                    refused("b1", 3, 17993, true),
                ],
                ..Default::default()
            }),
        },
    ]
}

impl Fake {
    pub(crate) fn new() -> Fake {
        Fake {
            proxies: Mutex::new(oracle_proxies()),
            actions: Mutex::new(Vec::new()),
            dcs: Default::default(),
        }
    }
}

impl RuntimeState for Fake {
    fn info(&self) -> InfoSnapshot {
        InfoSnapshot {
            version: "2.6.12-1+deb12u4".into(),
            release_date: "2026/10/17".into(),
            pid: 32220,
            node: "vm".into(),
            ..Default::default()
        }
    }
    fn proxies(&self) -> Vec<ProxySnapshot> {
        self.proxies.lock().unwrap().clone()
    }
    fn server_action(&self, b: &str, s: &str, a: ServerAction) -> Result<(), ActionError> {
        self.actions.lock().unwrap().push((b.into(), s.into(), a));
        let mut px = self.proxies.lock().unwrap();
        let srv = px
            .iter_mut()
            .filter(|p| p.name == b)
            .filter_map(|p| p.backend.as_mut())
            .flat_map(|b| b.servers.iter_mut())
            .find(|x| x.name == s);
        if let (Some(x), ServerAction::Admin(AdminState::Maint)) = (srv, a) {
            x.maint = true;
            x.status = "MAINT".into();
        }
        Ok(())
    }
    fn clear_counters(&self, _all: bool) {}
    fn frontend_action(&self, _fe: &str, _a: FrontendAction) -> Result<(), ActionError> {
        Ok(())
    }
    fn set_global_maxconn(&self, _m: u64) -> Result<(), ActionError> {
        Ok(())
    }
    fn dcs(&self) -> crate::cli::dcs::DcsSnapshot {
        self.dcs.clone()
    }
}

/// The stats view is also what the stats sockets serve: a method it does not
/// forward answers its default there (`show dcs` answered an empty view).
#[test]
fn the_stats_view_forwards_the_dcs_view() {
    let mut fake = Fake::new();
    fake.dcs.servers.push(crate::cli::dcs::DcsServerSnapshot {
        backend: "pg".into(),
        server: "node1".into(),
        role: "leader".into(),
        verdict: "eligible".into(),
    });
    let want = fake.dcs.clone();
    let hub = Hub::new(&[(0, oracle_spec())]);
    let view = hub.set_state(Arc::new(fake));
    assert_eq!(view.dcs(), want);
}

/// oracle.cfg's `listen stats`.
pub(crate) fn oracle_spec() -> StatsSpec {
    StatsSpec {
        proxy: "stats".into(),
        enabled: true,
        uri: "/".into(),
        realm: "MyRealm".into(),
        auth: vec![("admin".into(), "secret".into())],
        admin: Some(Cond::always()),
        refresh: Some(10),
        show_legends: true,
        show_node: Some(String::new()),
        show_desc: Some("my desc".into()),
        prometheus: vec![Some(cond("if { path /metrics }"))],
        ..StatsSpec::default()
    }
}

fn get(target: &str, auth: Option<&str>) -> Request {
    let mut headers = Vec::new();
    if let Some(a) = auth {
        headers.push(("authorization".to_string(), a.to_string()));
    }
    Request {
        method: "GET".into(),
        target: target.into(),
        minor: 1,
        headers,
        body: Vec::new(),
    }
}

/// "admin:secret".
const GOOD: &str = "Basic YWRtaW46c2VjcmV0";
const LOCAL: Option<SocketAddr> = Some(SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    40000,
)));

/// A condition typed by the expression engine, as the configuration's.
fn cond(text: &str) -> Cond {
    let words: Vec<&str> = text.split_whitespace().collect();
    let acls = haproxide_expr::AclSet::new();
    Cond::parse(&words, &acls, &haproxide_expr::Opts::default()).expect(text)
}

fn body(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[test]
fn stats_auth_is_enforced_with_haproxys_401() {
    let f = Fake::new();
    let spec = oracle_spec();
    let r = handle(&spec, &f, LOCAL, &get("/", None));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"MyRealm\"")
    );
    // Wrong password, wrong scheme, garbage base64.
    for bad in [
        "Basic YWRtaW46d3Jvbmc=",
        "Bearer YWRtaW46c2VjcmV0",
        "Basic !!!",
        "Basic",
    ] {
        assert_eq!(
            handle(&spec, &f, LOCAL, &get("/", Some(bad))).status,
            401,
            "{bad}"
        );
    }
    let ok = handle(&spec, &f, LOCAL, &get("/", Some(GOOD)));
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("content-type"), Some("text/html"));
    assert_eq!(ok.header("refresh"), Some("10"));
}

#[test]
fn stats_page_has_haproxys_rows_classes_and_form() {
    let f = Fake::new();
    let spec = oracle_spec();
    let page = body(&handle(&spec, &f, LOCAL, &get("/", Some(GOOD))));
    assert!(page.contains("<title>Statistics Report for HAProxy on vm</title>"));
    assert!(page.contains("<h2>Statistics Report for pid 32220 on vm: my desc</h2>"));
    assert!(page.contains("HAProxy version 2.6.12-1+deb12u4, released 2026/10/17"));
    // The same row classes as HAProxy 2.6.12's page for the same state.
    let real = fixture!("page-2.6.12.html");
    for class in ["active_down", "active_no_check", "backup_down"] {
        let row = format!("<tr class=\"{class}\">");
        assert!(real.contains(&row) && page.contains(&row), "{class}");
    }
    for cell in [
        "<td class=ac>3s DOWN</td>",
        "<td class=ac><i>no check</i></td>",
        "<div class=tips>Layer4 connection problem: Connection refused</div>",
        "<div class=tips>IPv4: 127.0.0.1:17991, id: 1</div>",
        "<input class='pg-checkbox' type=\"checkbox\" name=\"s\" value=\"s1\">",
        "<input type=\"hidden\" name=\"b\" value=\"#3\">",
        "<option value=\"maint\">Set state to MAINT</option>",
        "<a href=\"/;csv;norefresh\">CSV export</a>",
    ] {
        assert!(real.contains(cell), "oracle lacks {cell}");
        assert!(page.contains(cell), "page lacks {cell}");
    }
    // Without `stats admin`, no form.
    let plain = StatsSpec {
        admin: None,
        ..oracle_spec()
    };
    let page = body(&handle(&plain, &f, LOCAL, &get("/", Some(GOOD))));
    assert!(!page.contains("<form method=\"post\">"));
    assert!(page.contains("<tr class=\"active_down\"><td></td>"));
}

#[test]
fn stats_hide_version_scope_and_up() {
    let f = Fake::new();
    let spec = StatsSpec {
        hide_version: true,
        scope: vec!["pg".into()],
        ..oracle_spec()
    };
    let page = body(&handle(&spec, &f, LOCAL, &get("/", Some(GOOD))));
    assert!(!page.contains("2.6.12"));
    assert!(page.contains("<a name=\"pg\"></a>"));
    assert!(!page.contains("<a name=\"stats\"></a>"));
    // `stats scope .` is the stats proxy itself; `?scope=` narrows further.
    let own = StatsSpec {
        scope: vec![".".into()],
        ..oracle_spec()
    };
    let page = body(&handle(&own, &f, LOCAL, &get("/", Some(GOOD))));
    assert!(page.contains("<a name=\"stats\"></a>") && !page.contains("<a name=\"pg\"></a>"));
    let page = body(&handle(
        &oracle_spec(),
        &f,
        LOCAL,
        &get("/?scope=P", Some(GOOD)),
    ));
    assert!(!page.contains("<a name=\"stats\"></a>") && page.contains("<a name=\"pg\"></a>"));
    // `;up` hides DOWN servers, keeps the unchecked one.
    let page = body(&handle(&oracle_spec(), &f, LOCAL, &get("/;up", Some(GOOD))));
    assert!(!page.contains("value=\"s1\"") && page.contains("value=\"s2\""));
    // `;norefresh` drops the refresh header.
    let r = handle(&oracle_spec(), &f, LOCAL, &get("/;norefresh", Some(GOOD)));
    assert_eq!(r.header("refresh"), None);
}

#[test]
fn stats_csv_and_json_are_show_stat() {
    let f = Fake::new();
    let spec = oracle_spec();
    let csv = handle(&spec, &f, LOCAL, &get("/;csv", Some(GOOD)));
    assert_eq!(csv.header("content-type"), Some("text/plain"));
    let text = body(&csv);
    let real_header = fixture!("csv-2.6.12.txt").lines().next().unwrap_or("");
    assert_eq!(text.lines().next(), Some(real_header));
    assert!(text.contains("\npg,s1,"));
    assert_eq!(text.lines().count(), 1 + 2 + 2 + 3);
    let json = handle(&spec, &f, LOCAL, &get("/;json;norefresh", Some(GOOD)));
    assert_eq!(json.header("content-type"), Some("application/json"));
    let v = body(&json);
    assert!(
        v.starts_with("[[{\"objType\":\"Frontend\""),
        "{}",
        &v[..60.min(v.len())]
    );
}

#[test]
fn stats_admin_form_post_applies_and_redirects() {
    let f = Fake::new();
    let spec = oracle_spec();
    let post = |body: &str, spec: &StatsSpec, src| {
        let mut r = get("/", Some(GOOD));
        r.method = "POST".into();
        r.body = body.as_bytes().to_vec();
        handle(spec, &f, src, &r)
    };
    let r = post("s=s2&s=b1&action=maint&b=%233", &spec, LOCAL);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/;st=DONE"));
    assert_eq!(
        *f.actions.lock().unwrap(),
        vec![
            (
                "pg".into(),
                "s2".into(),
                ServerAction::Admin(AdminState::Maint)
            ),
            (
                "pg".into(),
                "b1".into(),
                ServerAction::Admin(AdminState::Maint)
            ),
        ]
    );
    let page = body(&handle(&spec, &f, LOCAL, &get("/;st=DONE", Some(GOOD))));
    assert!(page.contains("Action processed successfully."));
    assert!(page.contains("<tr class=\"maintain\">"));
    // By name, unknown server (partial), unknown action, no server.
    assert_eq!(
        post("s=s1&s=zz&action=drain&b=pg", &spec, LOCAL).header("location"),
        Some("/;st=PART")
    );
    assert_eq!(
        post("s=s1&action=explode&b=pg", &spec, LOCAL).header("location"),
        Some("/;st=ERRP")
    );
    assert_eq!(
        post("action=ready&b=%233", &spec, LOCAL).header("location"),
        Some("/;st=NONE")
    );
    assert_eq!(
        post("s=s1&action=ready&b=%2399", &spec, LOCAL).header("location"),
        Some("/;st=ERRP")
    );
    // `stats admin if LOCALHOST` refuses other clients.
    let local_only = StatsSpec {
        admin: Some(cond("if LOCALHOST")),
        ..oracle_spec()
    };
    let n = f.actions.lock().unwrap().len();
    let far = Some(SocketAddr::from(([10, 1, 2, 3], 5000)));
    assert_eq!(
        post("s=s1&action=maint&b=pg", &local_only, far).header("location"),
        Some("/;st=DENY")
    );
    assert_eq!(f.actions.lock().unwrap().len(), n);
    let page = body(&handle(&local_only, &f, far, &get("/", Some(GOOD))));
    assert!(!page.contains("<form method=\"post\">"));
}

#[test]
fn conditions_src_localhost_path() {
    let at = |ip: &str| Some(SocketAddr::new(ip.parse().unwrap(), 5000));
    let local = cond("if LOCALHOST");
    assert!(passes(&local, LOCAL, "/"));
    assert!(passes(&local, at("::1"), "/"));
    assert!(!passes(&local, at("10.0.0.1"), "/"));
    assert!(!passes(&local, None, "/"));
    let net = cond("if { src 10.0.0.0/8 }");
    assert!(passes(&net, at("::ffff:10.0.0.7"), "/"));
    assert!(!passes(&net, LOCAL, "/"));
    let unless = cond("unless { path /metrics }");
    assert!(!passes(&unless, None, "/metrics") && passes(&unless, None, "/x"));
    assert!(passes(&cond("if { path_beg /m }"), None, "/metrics"));
    assert!(passes(
        &cond("if { src_port 5000 } !{ path_end .css }"),
        at("10.0.0.1"),
        "/"
    ));
}

#[test]
fn prometheus_families_match_haproxy_and_values_follow_state() {
    let f = Fake::new();
    let spec = oracle_spec();
    // No authentication on the exporter (HAProxy runs the http-request rule first).
    let r = handle(&spec, &f, LOCAL, &get("/metrics", None));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4"));
    let ours = body(&r);
    let families = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("# TYPE "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(families(&ours), families(fixture!("promex-2.6.12.txt")));
    let helps = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("# HELP "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(helps(&ours), helps(fixture!("promex-2.6.12.txt")));
    // Same series (names and labels) as HAProxy for the same state.
    let series = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("haproxy_process"))
            .filter_map(|l| l.rsplit_once(' ').map(|(k, _)| k.to_string()))
            .collect()
    };
    assert_eq!(series(&ours), series(fixture!("promex-2.6.12.txt")));
    for line in [
        "haproxy_server_status{proxy=\"pg\",server=\"s1\",state=\"DOWN\"} 1",
        "haproxy_server_status{proxy=\"pg\",server=\"s2\",state=\"UP\"} 1",
        "haproxy_server_check_status{proxy=\"pg\",server=\"b1\",state=\"L4CON\"} 1",
        "haproxy_server_limit_sessions{proxy=\"pg\",server=\"s1\"} NaN",
        "haproxy_backend_agg_server_status{proxy=\"pg\",state=\"DOWN\"} 2",
        "haproxy_server_check_duration_seconds{proxy=\"pg\",server=\"s1\"} 0.000000",
        "haproxy_process_build_info{version=\"2.6.12-1+deb12u4\"} 1",
    ] {
        assert!(ours.lines().any(|l| l == line), "missing {line}");
    }
    f.server_action("pg", "s2", ServerAction::Admin(AdminState::Maint))
        .unwrap();
    let after = prom::render(&f.info(), &f.proxies());
    assert!(after
        .lines()
        .any(|l| l == "haproxy_server_status{proxy=\"pg\",server=\"s2\",state=\"MAINT\"} 1"));
}

#[test]
fn other_paths_get_503_like_a_listen_without_servers() {
    let f = Fake::new();
    let spec = StatsSpec {
        uri: "/stats".into(),
        ..oracle_spec()
    };
    assert_eq!(handle(&spec, &f, LOCAL, &get("/", Some(GOOD))).status, 503);
    assert_eq!(
        handle(&spec, &f, LOCAL, &get("/stats;csv", Some(GOOD))).status,
        200
    );
    let off = StatsSpec {
        enabled: false,
        ..oracle_spec()
    };
    assert_eq!(handle(&off, &f, LOCAL, &get("/", Some(GOOD))).status, 503);
}

async fn exchange(input: &[u8], limits: http::Limits) -> String {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let task = tokio::spawn(async move {
        http::serve(
            server,
            limits,
            std::future::pending(),
            None,
            |r: &Request| {
                http::Response::new(200, "text/plain", format!("{} {}", r.method, r.target))
            },
        )
        .await;
    });
    client.write_all(input).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut out)).await;
    task.abort();
    String::from_utf8_lossy(&out).into_owned()
}

fn quick() -> http::Limits {
    http::Limits {
        request: Duration::from_millis(300),
        keep_alive: Duration::from_millis(300),
        write: Duration::from_millis(300),
        ..http::Limits::default()
    }
}

#[tokio::test]
async fn http_keep_alive_pipelining_and_close() {
    let out = exchange(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /d HTTP/1.1\r\n\r\n",
        quick(),
    )
    .await;
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 3, "{out}");
    assert!(out.contains("GET /a") && out.contains("GET /b") && out.contains("GET /c"));
    assert!(!out.contains("GET /d"));
    assert!(out.contains("connection: close"));
    // HTTP/1.0 closes unless asked to keep alive.
    let out = exchange(b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n", quick()).await;
    assert_eq!(out.matches("200 OK").count(), 1);
    // A body is read by Content-Length; HEAD has no body.
    let out = exchange(
        b"POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcHEAD /h HTTP/1.1\r\nConnection: close\r\n\r\n",
        quick(),
    )
    .await;
    assert!(out.contains("POST /p") && !out.contains("HEAD /h"), "{out}");
    assert_eq!(out.matches("200 OK").count(), 2);
}

#[tokio::test]
async fn http_garbage_and_limits_get_errors_not_panics() {
    for (input, code) in [
        (&b"\x00\xff\xfe garbage\r\n\r\n"[..], "400"),
        (b"GET\r\n\r\n", "400"),
        (b"GET / HTTP/2.0\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nbad header\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "400"),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "400",
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
            "413",
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "501",
        ),
    ] {
        let out = exchange(input, quick()).await;
        assert!(
            out.starts_with(&format!("HTTP/1.1 {code} ")),
            "{input:?}: {out}"
        );
    }
    // Headers beyond the bound.
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20 * 1024));
    let out = exchange(&big, quick()).await;
    assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
    // An incomplete request times out with 408; an idle kept-alive one just closes.
    let out = exchange(b"GET / HTTP/1.1\r\n", quick()).await;
    assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
    let out = exchange(b"GET / HTTP/1.1\r\n\r\n", quick()).await;
    assert_eq!(out.matches("HTTP/1.1").count(), 1, "{out}");
}

#[test]
fn url_and_base64_decoding() {
    assert_eq!(http::url_decode("a%23b+c%2"), "a#b c%2");
    assert_eq!(http::url_decode("%zz%"), "%zz%");
    assert_eq!(
        http::base64_decode("YWRtaW46c2VjcmV0"),
        Some(b"admin:secret".to_vec())
    );
    assert_eq!(http::base64_decode("YQ=="), Some(b"a".to_vec()));
    assert_eq!(http::base64_decode("a b"), None);
    assert_eq!(html::human_time(7), "7s");
    assert_eq!(html::human_time(306), "5m6s");
    assert_eq!(html::human_time(90061), "1d1h");
}

#[test]
fn default_uri_keeps_its_query_in_links_and_redirects() {
    let f = Fake::new();
    let spec = StatsSpec {
        uri: "/haproxy?stats".into(),
        ..oracle_spec()
    };
    let page = body(&handle(
        &spec,
        &f,
        LOCAL,
        &get("/haproxy?stats", Some(GOOD)),
    ));
    assert!(page.contains("<a href=\"/haproxy?stats;csv;norefresh\">CSV export</a>"));
    assert!(page.contains("<a href=\"/haproxy?stats;up\">Hide 'DOWN' servers</a>"));
    let csv = handle(&spec, &f, LOCAL, &get("/haproxy?stats;csv", Some(GOOD)));
    assert_eq!(csv.header("content-type"), Some("text/plain"));
    let mut post = get("/haproxy?stats;up", Some(GOOD));
    post.method = "POST".into();
    post.body = b"s=s1&action=drain&b=pg".to_vec();
    let r = handle(&spec, &f, LOCAL, &post);
    assert_eq!(r.header("location"), Some("/haproxy?stats;st=DONE;up"));
}

/// Random and mutated requests through the whole service: answers or closes,
/// never panics (a tiny deterministic generator, no extra crate).
#[tokio::test]
async fn garbage_requests_never_panic_the_service() {
    let seeds: &[&[u8]] = &[
        b"GET /;csv HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n\r\n",
        b"POST / HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nContent-Length: 24\r\n\r\ns=s1&action=maint&b=%233",
        b"GET /metrics HTTP/1.0\r\n\r\n",
        b"GET /?scope=p%g%2 HTTP/1.1\r\nAuthorization: Basic !!\r\n\r\n",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let f = Arc::new(Fake::new());
    for round in 0..400 {
        let mut input = seeds[round % seeds.len()].to_vec();
        for _ in 0..(next() % 8) {
            let i = (next() as usize) % input.len().max(1);
            match next() % 4 {
                0 => {
                    if let Some(b) = input.get_mut(i) {
                        *b = next() as u8;
                    }
                }
                1 => {
                    input.insert(i, b"%;?&=:\r\n\0\xff"[(next() % 10) as usize]);
                }
                2 => {
                    input.truncate(i);
                }
                _ => {
                    let dup = input[i..].to_vec();
                    input.extend_from_slice(&dup);
                }
            }
        }
        let (mut client, server) = tokio::io::duplex(256 * 1024);
        let f2 = f.clone();
        let task = tokio::spawn(async move {
            let spec = oracle_spec();
            http::serve(
                server,
                quick(),
                std::future::pending(),
                None,
                |r: &Request| handle(&spec, f2.as_ref(), LOCAL, r),
            )
            .await;
        });
        let _ = client.write_all(&input).await;
        let _ = client.shutdown().await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut out)).await;
        let r = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert!(
            matches!(r, Ok(Ok(()))),
            "round {round}: the connection task panicked or hung on {input:?}"
        );
        assert!(
            out.is_empty() || out.starts_with(b"HTTP/1.1 "),
            "round {round}"
        );
    }
}

/// Issue 13 row 2: `?scope=` never reaches the 303 `Location` decoded; an invalid
/// scope is dropped, as HAProxy 2.6.12 answers (`location: /;st=DENY`).
#[test]
fn scope_cannot_inject_headers_into_the_redirect() {
    let f = Fake::new();
    // No `stats admin`: every POST is denied, as in the HAProxy run.
    let spec = StatsSpec {
        admin: None,
        ..oracle_spec()
    };
    let post = |target: &str| {
        let mut r = get(target, Some(GOOD));
        r.method = "POST".into();
        handle(&spec, &f, None, &r)
    };
    for (target, loc) in [
        ("/?scope=%0d%0aSet-Cookie:%20pwn=1", "/;st=DENY"),
        ("/?scope=%0d%0a%0d%0a<html>", "/;st=DENY"),
        ("/?scope=p%41g", "/;st=DENY"),
        ("/?scope=a<b", "/;st=DENY"),
        ("/?scope=pg", "/;st=DENY?scope=pg"),
        ("/?scope=pg&x=1", "/;st=DENY?scope=pg"),
        (
            "/;up?scope=abcdefghijklmnopqrstuvwxyz",
            "/;st=DENY;up?scope=abcdefghijklmnopqrst",
        ),
    ] {
        let r = post(target);
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), Some(loc), "{target}");
        let wire = String::from_utf8_lossy(&http::encode(&r, false, true)).into_owned();
        assert!(!wire.to_ascii_lowercase().contains("set-cookie"), "{wire}");
        assert_eq!(wire.matches("\r\n\r\n").count(), 1, "{wire}");
    }
    // Even a handler that put CR/LF in a header cannot split the response.
    let r = http::Response::new(200, "text/plain", "x").with_header("x", "a\r\nSet-Cookie: b");
    let wire = String::from_utf8_lossy(&http::encode(&r, false, true)).into_owned();
    assert!(!wire.contains("\r\nSet-Cookie"), "{wire}");
}

/// Issue 13 row 8: the request parser refuses what HAProxy 2.6.12 refuses and takes
/// what it takes (measured against it).
#[tokio::test]
async fn http_parser_is_as_strict_as_haproxy() {
    for (input, code) in [
        (
            &b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello"[..],
            "400",
        ),
        (b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\nhello", "400"),
        (b"GET /\x00x HTTP/1.1\r\n\r\n", "400"),
        (b"GET /\x01 HTTP/1.1\r\n\r\n", "400"),
        (b"GET /\x7f HTTP/1.1\r\n\r\n", "400"),
        (b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nX : a\r\n\r\n", "400"),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nConnection: close\r\n\r\nhello",
            "200",
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 05\r\nConnection: close\r\n\r\nhello",
            "200",
        ),
    ] {
        let out = exchange(input, quick()).await;
        assert!(
            out.starts_with(&format!("HTTP/1.1 {code} ")),
            "{:?}: {out}",
            String::from_utf8_lossy(input)
        );
    }
    // A bare-LF request pipelined before a CRLF one: two answers.
    let out = exchange(
        b"GET /a HTTP/1.1\nHost: a\n\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        quick(),
    )
    .await;
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
    assert!(out.contains("GET /a") && out.contains("GET /b"), "{out}");
}

#[test]
fn monitor_uri_answers_200_before_auth_and_only_its_own_path() {
    let f = Fake::new();
    let spec = StatsSpec {
        monitor_uri: Some("/health".into()),
        ..oracle_spec()
    };
    // Before `stats auth` (no credentials) and whatever the stats URI is.
    let r = handle(&spec, &f, LOCAL, &get("/health", None));
    assert_eq!(r.status, 200);
    assert!(body(&r).contains("Service ready."), "HAProxy's 200 page");
    // HAProxy compares path and query: `/health?x` is not it.
    assert_eq!(
        handle(&spec, &f, LOCAL, &get("/health?x", None)).status,
        401
    );
}
