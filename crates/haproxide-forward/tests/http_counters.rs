//! HTTP counters (`req_tot`, `hrsp_*`, `req_rate`; management.txt §9.1) as the
//! HTTP loop counts them: what HAProxy 2.6.12 counts (measured, see
//! `httpstats`): the frontend counts every request, refused ones too, and every
//! response it sends, its own errors included; a backend counts the requests
//! switched to it, a server the requests sent to it; both count the server's
//! responses.

mod common;

use common::http::{get, server, Client};
use common::*;
use haproxide_forward::*;
use haproxide_http::errors;

fn http() -> Option<HttpSpec> {
    Some(HttpSpec::default())
}

#[tokio::test]
async fn requests_and_responses_are_counted_like_haproxy() {
    let (m, _rx) = server("a").await;
    let mut spec = simple(vec![common::server("a", m.addr)]);
    spec.frontends[0].http = http();
    spec.backends[0].http = http();
    let mut nosrv = backend("nosrv", vec![common::server("x", refusing_addr())]);
    nosrv.retries = 0;
    nosrv.http = http();
    spec.backends.push(nosrv);
    let words = ["if", "{", "path", "/503", "}"];
    let cond = haproxide_expr::Cond::parse(
        &words,
        &haproxide_expr::AclSet::new(),
        &haproxide_expr::Opts::default(),
    )
    .expect("condition");
    spec.frontends[0].use_backends = vec![(1, Some(cond))];
    let p = start(spec).await;

    let mut c = Client::connect(p.addr).await;
    for path in ["/a", "/b"] {
        c.send(&get(path)).await;
        let (r, _) = c.response(b"GET").await.expect("response");
        assert_eq!(r.head.code, 200);
    }
    c.send(&get("/503")).await;
    let want = errors::as_sent(503, true, false);
    assert_eq!(read_n(&mut c.s, want.len()).await, want);
    let mut bad = Client::connect(p.addr).await;
    bad.send(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n").await;
    let (got, _) = read_to_eof(&mut bad.s, WAIT).await;
    assert_eq!(got, errors::raw(400));
    p.log.wait(4).await;

    let fe = p.engine.frontend_http(0);
    assert_eq!(fe.req_tot, 4);
    assert_eq!(fe.hrsp, [0, 2, 0, 1, 1, 0]);
    assert!(fe.req_rate.max >= 1, "{:?}", fe.req_rate);
    let be = p.engine.backend_http(0);
    assert_eq!((be.req_tot, be.hrsp), (2, [0, 2, 0, 0, 0, 0]));
    assert_eq!(p.engine.server_http(0, 0).req_tot, 2);
    assert_eq!(p.engine.server_http(0, 0).hrsp[1], 2);
    assert_eq!(p.engine.backend_http(1).req_tot, 1, "switched to nosrv");
    assert_eq!(p.engine.server_http(1, 0).req_tot, 0, "never connected");

    p.engine.clear_totals();
    assert_eq!(p.engine.frontend_http(0).req_tot, 0);
    assert_eq!(p.engine.backend_http(0).hrsp, [0; 6]);
}

/// `unique-id-format` / `unique-id-header` (§4.2): the ID is rendered from the
/// request (sample fetches, addresses), sent to the server in the header (before
/// the `X-Forwarded-For` HAProxy adds), and logged (`%ID`).
#[tokio::test]
async fn unique_id_header_and_log() {
    let (m, mut rx) = server("a").await;
    let mut spec = simple(vec![common::server("a", m.addr)]);
    let format =
        haproxide_expr::LogFormat::parse("%[method]-%[path]-%ci", haproxide_expr::LfMode::Http)
            .expect("format");
    spec.frontends[0].http = Some(HttpSpec {
        unique_id: Some(UniqueIdSpec {
            format: std::sync::Arc::new(format),
            header: Some("X-Req-ID".into()),
        }),
        forwardfor: Some(ForwardFor {
            header: "X-Forwarded-For".into(),
            except: None,
            if_none: false,
        }),
        ..HttpSpec::default()
    });
    spec.backends[0].http = http();
    let p = start(spec).await;
    let mut c = Client::connect(p.addr).await;
    c.send(&get("/p")).await;
    let (r, _) = c.response(b"GET").await.expect("response");
    assert_eq!(r.head.code, 200);
    let got = rx.recv().await.expect("request");
    let head = String::from_utf8_lossy(&got.head).to_string();
    assert!(
        head.ends_with("x-req-id: GET-/p-127.0.0.1\r\nx-forwarded-for: 127.0.0.1\r\n\r\n"),
        "{head:?}"
    );
    let recs = p.log.wait(1).await;
    let id = recs[0].http.as_ref().and_then(|h| h.unique_id.as_deref());
    assert_eq!(id, Some("GET-/p-127.0.0.1"));
}
