//! HTTP mode end to end (the `http` module): keep-alive on both sides,
//! server-close/httpclose, bodies of each framing, pipelining, 100-continue,
//! WebSocket after a 101, the error pages, forwardfor, use_backend by path.

mod common;

use std::time::Duration;

use common::http::{get, server, text, Client};
use common::*;
use haproxide_forward::*;
use haproxide_http::errors;
use tokio::io::AsyncWriteExt;

fn http_spec(mode: HttpConnMode) -> Option<HttpSpec> {
    Some(HttpSpec {
        conn_mode: mode,
        ..HttpSpec::default()
    })
}

/// One HTTP frontend in front of one HTTP backend with the given servers.
fn http_engine(servers: Vec<ServerSpec>, mode: HttpConnMode) -> EngineSpec {
    let mut spec = simple(servers);
    spec.frontends[0].http = http_spec(mode);
    spec.backends[0].http = http_spec(HttpConnMode::KeepAlive);
    spec
}

fn cond(text: &str) -> Option<Cond> {
    let text = format!("if {text}");
    let words: Vec<&str> = text.split_whitespace().collect();
    let acls = haproxide_expr::AclSet::new();
    Some(Cond::parse(&words, &acls, &haproxide_expr::Opts::default()).expect(&text))
}

#[tokio::test]
async fn keep_alive_reuses_both_connections() {
    let (m, mut rx) = server("a").await;
    let p = start(http_engine(
        vec![common::server("a", m.addr)],
        HttpConnMode::KeepAlive,
    ))
    .await;
    let mut c = Client::connect(p.addr).await;
    for i in 0..3 {
        c.send(&get(&format!("/r{i}"))).await;
        let (r, body) = c.response(b"GET").await.expect("response");
        assert_eq!(r.head.code, 200);
        assert_eq!(
            text(&body),
            format!("a /r{i} conn=1"),
            "one server connection for all"
        );
        assert!(!r.head.headers.contains("connection"));
    }
    let got = rx.recv().await.expect("request");
    assert_eq!(
        text(&got.head),
        "get /r0 HTTP/1.1\r\nhost: t\r\n\r\n".replacen("get", "GET", 1)
    );
    assert_eq!(m.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    let recs = p.log.wait(3).await;
    assert!(recs
        .iter()
        .all(|r| r.termination == *b"--" && r.server.as_deref() == Some("a")));
    assert_eq!(
        p.engine.backend_counters(0).total,
        3,
        "a backend session per request"
    );
    assert_eq!(p.engine.frontend_counters(0).total, 1);
}

#[tokio::test]
async fn server_close_and_httpclose() {
    let (m, _rx) = server("a").await;
    let p = start(http_engine(
        vec![common::server("a", m.addr)],
        HttpConnMode::ServerClose,
    ))
    .await;
    let mut c = Client::connect(p.addr).await;
    for i in 1..=2 {
        c.send(&get("/x")).await;
        let (r, body) = c.response(b"GET").await.expect("response");
        assert_eq!(r.head.code, 200);
        assert_eq!(
            text(&body),
            format!("a /x conn={i}"),
            "a new server connection each time"
        );
    }
    let (m2, mut rx2) = server("b").await;
    let p2 = start(http_engine(
        vec![common::server("b", m2.addr)],
        HttpConnMode::Close,
    ))
    .await;
    let mut c = Client::connect(p2.addr).await;
    c.send(&get("/y")).await;
    let (r, _) = c.response(b"GET").await.expect("response");
    // The parser keeps `close` as a flag (and drops the header, as HAProxy's).
    assert!(r.info.conn_close, "connection: close to the client");
    assert!(
        c.closed_within(WAIT).await,
        "httpclose closes the client side"
    );
    let got = rx2.recv().await.expect("request");
    assert!(got.req.info.conn_close, "connection: close to the server");
}

#[tokio::test]
async fn chunked_both_ways_and_close_delimited() {
    let (m, mut rx) = server("a").await;
    let p = start(http_engine(
        vec![common::server("a", m.addr)],
        HttpConnMode::KeepAlive,
    ))
    .await;
    let mut c = Client::connect(p.addr).await;
    c.send(b"POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.send(b"4\r\ndefg\r\n0\r\n\r\n").await;
    let (r, body) = c.response(b"POST").await.expect("response");
    assert_eq!((r.head.code, text(&body)), (200, "7".to_string()));
    let got = rx.recv().await.expect("request");
    assert_eq!(got.body, b"abcdefg");
    assert_eq!(got.req.body, haproxide_http::BodyLength::Chunked);
    c.send(&get("/chunked")).await;
    let (r, body) = c.response(b"GET").await.expect("response");
    assert_eq!(r.body, haproxide_http::BodyLength::Chunked);
    assert_eq!(text(&body), "hello world");
    c.send(&get("/close")).await;
    let (r, body) = c.response(b"GET").await.expect("response");
    assert!(r.info.conn_close, "connection: close to the client");
    assert_eq!(text(&body), "until close");
}

#[tokio::test]
async fn one_megabyte_each_way() {
    let (m, _rx) = server("a").await;
    let p = start(http_engine(
        vec![common::server("a", m.addr)],
        HttpConnMode::KeepAlive,
    ))
    .await;
    let mut c = Client::connect(p.addr).await;
    let mut req = b"POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n".to_vec();
    req.resize(req.len() + 1048576, b'y');
    let (mut rd, mut wr) = c.s.split();
    let (_, resp) = tokio::join!(wr.write_all(&req), async {
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(WAIT, async {
            let mut chunk = [0u8; 4096];
            while !buf.ends_with(b"1048576") {
                match tokio::io::AsyncReadExt::read(&mut rd, &mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await;
        buf
    });
    assert!(text(&resp).ends_with("\r\n\r\n1048576"), "{}", text(&resp));
    c.send(&get("/big")).await;
    let (r, body) = c.response(b"GET").await.expect("response");
    assert_eq!((r.head.code, body.len()), (200, 1048576));
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let (m, _rx) = server("a").await;
    let p = start(http_engine(
        vec![common::server("a", m.addr)],
        HttpConnMode::KeepAlive,
    ))
    .await;
    let mut c = Client::connect(p.addr).await;
    let mut all = get("/1");
    all.extend(get("/2"));
    all.extend(get("/3"));
    c.send(&all).await;
    for i in 1..=3 {
        let (_, body) = c.response(b"GET").await.expect("response");
        assert_eq!(text(&body), format!("a /{i} conn=1"));
    }
}

#[tokio::test]
async fn expect_100_continue() {
    let (m, mut rx) = server("a").await;
    let p = start(http_engine(
        vec![common::server("a", m.addr)],
        HttpConnMode::KeepAlive,
    ))
    .await;
    let mut c = Client::connect(p.addr).await;
    c.send(b"POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .await;
    let (r, _) = c.response(b"POST").await.expect("interim response");
    assert_eq!(
        r.head.code, 100,
        "the server's 100 reaches the client before the body"
    );
    c.send(b"hello").await;
    let (r, body) = c.response(b"POST").await.expect("response");
    assert_eq!((r.head.code, text(&body)), (200, "5".to_string()));
    assert_eq!(rx.recv().await.expect("request").body, b"hello");
}

#[tokio::test]
async fn websocket_tunnel_after_101() {
    let (m, _rx) = server("a").await;
    let p = start(http_engine(
        vec![common::server("a", m.addr)],
        HttpConnMode::KeepAlive,
    ))
    .await;
    let mut c = Client::connect(p.addr).await;
    c.send(b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").await;
    let (r, _) = c.response(b"GET").await.expect("101");
    assert_eq!(r.head.code, 101);
    c.send(b"ping frame").await;
    let got = read_n(&mut c.s, 10).await;
    assert_eq!(got, b"ping frame", "echoed through the tunnel");
}

#[tokio::test]
async fn error_pages_502_503_504() {
    let (m, _rx) = server("a").await;
    let mut spec = http_engine(vec![common::server("a", m.addr)], HttpConnMode::KeepAlive);
    spec.backends[0].timeout_server = Some(Duration::from_millis(300));
    let mut nosrv = backend("nosrv", vec![common::server("x", refusing_addr())]);
    nosrv.retries = 0;
    nosrv.http = http_spec(HttpConnMode::KeepAlive);
    spec.backends.push(nosrv);
    spec.frontends[0].use_backends = vec![(1, cond("{ path /503 }"))];
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    for (path, status) in [("/bad", 502), ("/503", 503), ("/slow", 504)] {
        c.send(&get(path)).await;
        let mut want = errors::as_sent(status, true, false);
        let got = read_n(&mut c.s, want.len()).await;
        assert_eq!(text(&got), text(&want), "{path}");
        want.clear();
    }
    let recs = p.log.wait(3).await;
    let terms: Vec<[u8; 2]> = recs.iter().map(|r| r.termination).collect();
    assert_eq!(terms, vec![*b"PH", *b"SC", *b"sH"]);
    let statuses: Vec<Option<u16>> = recs
        .iter()
        .map(|r| r.http.as_ref().and_then(|h| h.status))
        .collect();
    assert_eq!(statuses, vec![Some(502), Some(503), Some(504)]);
}

#[tokio::test]
async fn bad_request_400_and_timeout_408() {
    let (m, _rx) = server("a").await;
    let mut spec = http_engine(vec![common::server("a", m.addr)], HttpConnMode::KeepAlive);
    if let Some(h) = spec.frontends[0].http.as_mut() {
        h.timeout_request = Some(Duration::from_millis(300));
    }
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    c.send(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n").await;
    let (got, _) = read_to_eof(&mut c.s, WAIT).await;
    assert_eq!(got, errors::raw(400));
    let mut c = Client::connect(p.addr).await;
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n").await;
    let (got, _) = read_to_eof(&mut c.s, WAIT).await;
    assert_eq!(got, errors::raw(408));
    let recs = p.log.wait(2).await;
    assert_eq!(recs[0].termination, *b"PR");
    assert_eq!(recs[1].termination, *b"cR");
    let h = recs[0].http.as_ref().expect("HTTP part");
    assert_eq!(
        (h.status, h.request_line.is_none()),
        (Some(400), true),
        "<BADREQ>"
    );
    assert_eq!(recs[1].http.as_ref().and_then(|h| h.status), Some(408));
    assert_eq!(m.accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn forwardfor_variants() {
    let (m, mut rx) = server("a").await;
    let mut spec = http_engine(vec![common::server("a", m.addr)], HttpConnMode::KeepAlive);
    let ff = |except: Option<(std::net::IpAddr, u8)>, if_none| ForwardFor {
        header: "X-Forwarded-For".into(),
        except,
        if_none,
    };
    if let Some(h) = spec.frontends[0].http.as_mut() {
        h.forwardfor = Some(ff(None, false));
        h.originalto = Some(OriginalTo {
            header: "X-Original-To".into(),
            except: None,
        });
    }
    let p = start(spec.clone()).await;
    let mut c = Client::connect(p.addr).await;
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n")
        .await;
    c.response(b"GET").await.expect("response");
    let got = rx.recv().await.expect("request");
    assert!(text(&got.head).ends_with("x-forwarded-for: 1.2.3.4\r\nx-forwarded-for: 127.0.0.1\r\nx-original-to: 127.0.0.1\r\n\r\n"), "{}", text(&got.head));
    drop(p);
    // `if-none` on every side that has the option: the client's header is kept alone.
    if let Some(h) = spec.frontends[0].http.as_mut() {
        h.forwardfor = Some(ff(None, true));
    }
    let p = start(spec.clone()).await;
    let mut c = Client::connect(p.addr).await;
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n")
        .await;
    c.response(b"GET").await.expect("response");
    let got = rx.recv().await.expect("request");
    assert_eq!(got.req.head.headers.get_all("x-forwarded-for").count(), 1);
    drop(p);
    // The backend's `except` applies to the frontend's option too.
    if let Some(h) = spec.backends[0].http.as_mut() {
        h.forwardfor = Some(ff(Some(("127.0.0.0".parse().unwrap(), 8)), false));
    }
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    c.send(&get("/")).await;
    c.response(b"GET").await.expect("response");
    let got = rx.recv().await.expect("request");
    assert!(
        !got.req.head.headers.contains("x-forwarded-for"),
        "except 127.0.0.0/8"
    );
}

#[tokio::test]
async fn use_backend_by_path_per_request() {
    let (a, _ra) = server("a").await;
    let (b, _rb) = server("b").await;
    let mut spec = http_engine(vec![common::server("a", a.addr)], HttpConnMode::KeepAlive);
    let mut be = backend("api", vec![common::server("b", b.addr)]);
    be.http = http_spec(HttpConnMode::KeepAlive);
    spec.backends.push(be);
    spec.frontends[0].use_backends = vec![(1, cond("{ path -m beg /api }"))];
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    for (path, want) in [
        ("/api/x", "b /api/x conn=1"),
        ("/", "a / conn=1"),
        ("/api/y?q", "b /api/y?q conn=1"),
    ] {
        c.send(&get(path)).await;
        let (_, body) = c.response(b"GET").await.expect("response");
        assert_eq!(text(&body), want);
    }
    let recs = p.log.wait(3).await;
    let bes: Vec<_> = recs
        .iter()
        .map(|r| r.backend.clone().unwrap_or_default())
        .collect();
    assert_eq!(bes, vec!["api", "be", "api"]);
}

#[tokio::test]
async fn idle_keep_alive_connection_closes_silently() {
    let (m, _rx) = server("a").await;
    let mut spec = http_engine(vec![common::server("a", m.addr)], HttpConnMode::KeepAlive);
    if let Some(h) = spec.frontends[0].http.as_mut() {
        h.timeout_keep_alive = Some(Duration::from_millis(200));
    }
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    c.send(&get("/")).await;
    c.response(b"GET").await.expect("response");
    assert!(
        c.closed_within(WAIT).await,
        "closed at timeout http-keep-alive"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(p.log.len(), 1, "the idle end is not logged");
}

#[tokio::test]
async fn a_server_closing_its_idle_connection_is_not_an_error() {
    let (m, _rx) = server("a").await;
    let p = start(http_engine(
        vec![common::server("a", m.addr)],
        HttpConnMode::KeepAlive,
    ))
    .await;
    let mut c = Client::connect(p.addr).await;
    c.send(&get("/drop")).await;
    let (_, body) = c.response(b"GET").await.expect("response");
    assert_eq!(text(&body), "drop");
    for _ in 0..2 {
        c.send(&get("/x")).await;
        let (r, body) = c.response(b"GET").await.expect("response");
        assert_eq!(r.head.code, 200);
        assert_eq!(text(&body), "a /x conn=2", "a new connection, then reused");
    }
}

fn fmt(text: &str) -> haproxide_http::rules::Fmt {
    std::sync::Arc::new(
        haproxide_expr::logfmt::LogFormat::parse(text, haproxide_expr::logfmt::LfMode::Http)
            .expect(text),
    )
}

#[tokio::test]
async fn http_request_and_response_rules_run() {
    use haproxide_http::rules::{Action, HttpRule, ReplyBody, ReplySpec};
    let (m, mut rx) = server("a").await;
    let mut spec = http_engine(vec![common::server("a", m.addr)], HttpConnMode::KeepAlive);
    if let Some(h) = spec.frontends[0].http.as_mut() {
        h.http_request = vec![
            HttpRule {
                action: Action::Deny(ReplySpec {
                    status: 403,
                    body: ReplyBody::ErrorPage,
                    headers: Vec::new(),
                }),
                cond: cond("{ path /admin }"),
            },
            HttpRule {
                action: Action::SetHeader {
                    name: "X-Fe".into(),
                    value: fmt("%[path]"),
                    replace: true,
                },
                cond: None,
            },
        ];
    }
    if let Some(h) = spec.backends[0].http.as_mut() {
        h.http_response = vec![HttpRule {
            action: Action::SetHeader {
                name: "X-Be".into(),
                value: fmt("on"),
                replace: false,
            },
            cond: None,
        }];
    }
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    c.send(&get("/admin")).await;
    let (r, _) = c.response(b"GET").await.expect("403");
    assert_eq!(r.head.code, 403);
    c.send(&get("/x")).await;
    let (r, _) = c
        .response(b"GET")
        .await
        .expect("200 on the same connection");
    assert_eq!(r.head.code, 200);
    assert_eq!(r.head.headers.get("x-be"), Some(&b"on"[..]));
    let got = rx.recv().await.expect("request");
    assert_eq!(got.req.head.headers.get("x-fe"), Some(&b"/x"[..]));
    let recs = p.log.wait(2).await;
    assert_eq!(recs[0].termination, *b"PR");
    assert_eq!(recs[0].http.as_ref().and_then(|h| h.status), Some(403));
    let fe = p.engine.frontend_http(0);
    assert_eq!((fe.req_tot, fe.hrsp), (2, [0, 1, 0, 1, 0, 0]));
}

#[tokio::test]
async fn errorfile_pages_replace_haproxys() {
    let page: std::sync::Arc<[u8]> = std::sync::Arc::from(
        &b"HTTP/1.1 503 Busy\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nbusy\n"[..],
    );
    let raw400: std::sync::Arc<[u8]> = std::sync::Arc::from(&b"HTTP/1.0 400 Nope\r\n\r\nnope"[..]);
    let mut spec = http_engine(
        vec![common::server("x", refusing_addr())],
        HttpConnMode::KeepAlive,
    );
    spec.backends[0].retries = 0;
    if let Some(h) = spec.backends[0].http.as_mut() {
        h.errors.custom = vec![(503, page)];
    }
    if let Some(h) = spec.frontends[0].http.as_mut() {
        h.errors.custom = vec![(400, raw400.clone())];
    }
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    c.send(&get("/")).await;
    let (r, body) = c.response(b"GET").await.expect("503");
    assert_eq!(
        (r.head.code, &r.head.reason[..], text(&body)),
        (503, &b"Busy"[..], "busy\n".into())
    );
    let mut c = Client::connect(p.addr).await;
    c.send(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n").await;
    let (got, _) = read_to_eof(&mut c.s, WAIT).await;
    // HAProxy 2.6.12's H1 layer ignores `errorfile 400` for a request it cannot
    // parse: its own page, as stored (measured with haproxy 2.6.12).
    assert_ne!(got, &raw400[..]);
    assert_eq!(got, haproxide_http::errors::raw(400), "HAProxy's page");
}

#[tokio::test]
async fn http_buffer_request_waits_for_the_body_and_answers_100_itself() {
    let (m, mut rx) = server("a").await;
    let mut spec = http_engine(vec![common::server("a", m.addr)], HttpConnMode::KeepAlive);
    if let Some(h) = spec.frontends[0].http.as_mut() {
        h.buffer_request = true;
    }
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    c.send(b"POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .await;
    let got = read_n(&mut c.s, 25).await;
    assert_eq!(got, b"HTTP/1.1 100 Continue\r\n\r\n", "the proxy's own 100");
    assert_eq!(
        m.accepted.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no server before the body"
    );
    c.send(b"hel").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.send(b"lo").await;
    let (r, body) = c.response(b"POST").await.expect("response");
    assert_eq!((r.head.code, text(&body)), (200, "5".to_string()));
    let got = rx.recv().await.expect("request");
    assert!(!got.req.head.headers.contains("expect"), "Expect removed");
    assert_eq!(got.body, b"hello");
}

#[tokio::test]
async fn a_response_rule_answer_counts_once() {
    use haproxide_http::rules::{Action, HttpRule, ReplyBody, ReplySpec};
    let (m, _rx) = server("a").await;
    let mut spec = http_engine(vec![common::server("a", m.addr)], HttpConnMode::KeepAlive);
    if let Some(h) = spec.frontends[0].http.as_mut() {
        h.http_response = vec![HttpRule {
            action: Action::Deny(ReplySpec {
                status: 502,
                body: ReplyBody::ErrorPage,
                headers: Vec::new(),
            }),
            cond: None,
        }];
    }
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    c.send(&get("/")).await;
    let (r, _) = c.response(b"GET").await.expect("answer");
    assert_eq!(r.head.code, 502);
    p.log.wait(1).await;
    let fe = p.engine.frontend_http(0);
    assert_eq!(
        fe.hrsp,
        [0, 0, 0, 0, 1, 0],
        "the client got a 502, not a 200"
    );
    let be = p.engine.backend_http(0);
    assert_eq!(be.hrsp, [0, 1, 0, 0, 0, 0], "the server answered 200");
}
