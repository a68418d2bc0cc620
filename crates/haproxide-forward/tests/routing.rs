//! Backend switching and `tcp-request` rules.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use haproxide_forward::*;
use haproxide_testkit::tls::client_hello;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;

/// `if <text>`, typed by the expression engine as the configuration would be.
fn cond(text: &str) -> Option<Cond> {
    let text = format!("if {text}");
    let words: Vec<&str> = text.split_whitespace().collect();
    let acls = haproxide_expr::AclSet::new();
    Some(Cond::parse(&words, &acls, &haproxide_expr::Opts::default()).expect(&text))
}

async fn two_backends() -> (Mock, Mock, EngineSpec) {
    let a = named("aa").await;
    let b = named("bb").await;
    let spec = EngineSpec {
        frontends: vec![frontend("fe", Some(0))],
        backends: vec![
            backend("A", vec![server("a", a.addr)]),
            backend("B", vec![server("b", b.addr)]),
        ],
        maxconn: None,
        threads: 0,
        spread: ThreadSpread::default(),
        no_splice: false,
        stick_tables: Vec::new(),
    };
    (a, b, spec)
}

async fn name_from(src: &str, addr: SocketAddr) -> String {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{src}:0").parse().unwrap()).unwrap();
    let mut c = tokio::time::timeout(WAIT, s.connect(addr))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8(read_n(&mut c, 2).await).unwrap()
}

#[tokio::test]
async fn use_backend_on_src() {
    let (_a, _b, mut spec) = two_backends().await;
    spec.frontends[0].use_backends = vec![(1, cond("{ src 127.0.0.2/32 127.0.1.0/24 }"))];
    let r = start(spec).await;
    assert_eq!(name_from("127.0.0.1", r.addr).await, "aa");
    assert_eq!(name_from("127.0.0.2", r.addr).await, "bb");
    assert_eq!(name_from("127.0.1.77", r.addr).await, "bb");
    assert_eq!(name_from("127.0.0.3", r.addr).await, "aa");
    let recs = r.log.wait(4).await;
    assert_eq!(
        recs.iter()
            .filter(|x| x.backend.as_deref() == Some("B"))
            .count(),
        2
    );
}

#[tokio::test]
async fn use_backend_on_ssl_sni_after_inspection() {
    let (_a, _b, mut spec) = two_backends().await;
    let fe = &mut spec.frontends[0];
    fe.inspect_delay = Some(Duration::from_secs(2));
    fe.tcp_content_rules = vec![TcpRule {
        act: None,
        accept: true,
        cond: cond("{ req.ssl_hello_type 1 }"),
    }];
    fe.use_backends = vec![(1, cond("{ req.ssl_sni -i db.example.com }"))];
    let r = start(spec).await;

    // The ClientHello arrives in two pieces: the rule waits for all of it.
    let hello = client_hello(Some("DB.example.com"));
    let mut c = connect(r.addr).await;
    c.write_all(&hello[..20]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.write_all(&hello[20..]).await.unwrap();
    let t = Instant::now();
    assert_eq!(read_n(&mut c, 2).await, b"bb");
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "no need to wait for the inspect delay"
    );
    // The server received the ClientHello untouched (named() echoes after its name).
    assert_eq!(read_n(&mut c, hello.len()).await, hello);

    let mut c = connect(r.addr).await;
    c.write_all(&client_hello(Some("www.example.com")))
        .await
        .unwrap();
    assert_eq!(read_n(&mut c, 2).await, b"aa");
}

#[tokio::test]
async fn inspect_delay_expires_for_non_tls_clients() {
    let (_a, _b, mut spec) = two_backends().await;
    let fe = &mut spec.frontends[0];
    fe.inspect_delay = Some(Duration::from_millis(300));
    fe.tcp_content_rules = vec![TcpRule {
        act: None,
        accept: true,
        cond: cond("{ req.ssl_hello_type 1 }"),
    }];
    fe.use_backends = vec![(1, cond("{ req.ssl_sni -i db.example.com }"))];
    let r = start(spec).await;
    // A client that says nothing is routed once the delay expires.
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    assert_eq!(read_n(&mut c, 2).await, b"aa");
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(280) && el < Duration::from_secs(2),
        "{el:?}"
    );
    // Plain text is not TLS: decided at once, no wait.
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    c.write_all(b"PING\r\n").await.unwrap();
    assert_eq!(read_n(&mut c, 2).await, b"aa");
    assert!(t.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn tcp_request_content_reject_and_req_len() {
    let (_a, _b, mut spec) = two_backends().await;
    let fe = &mut spec.frontends[0];
    fe.inspect_delay = Some(Duration::from_secs(2));
    // accept if req.len ge 4, else (when final) reject.
    fe.tcp_content_rules = vec![
        TcpRule {
            act: None,
            accept: true,
            cond: cond("{ req.len ge 4 }"),
        },
        TcpRule {
            act: None,
            accept: false,
            cond: None,
        },
    ];
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    c.write_all(b"ab").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.write_all(b"cd").await.unwrap();
    assert_eq!(read_n(&mut c, 2).await, b"aa");
    // Too short and then closed: rejected.
    let mut c = connect(r.addr).await;
    c.write_all(b"x").await.unwrap();
    c.shutdown().await.unwrap();
    assert!(closed_within(&mut c, WAIT).await);
    let recs = r.log.wait(1).await;
    assert!(recs.iter().any(|x| term(x) == "PR"), "{recs:?}");
}

#[tokio::test]
async fn tcp_request_connection_reject_closes_without_log() {
    let (_a, _b, mut spec) = two_backends().await;
    spec.frontends[0].tcp_connection_rules = vec![TcpRule {
        act: None,
        accept: false,
        cond: cond("{ src 127.0.0.9/32 }"),
    }];
    let r = start(spec).await;
    let s = TcpSocket::new_v4().unwrap();
    s.bind("127.0.0.9:0".parse().unwrap()).unwrap();
    let mut c = s.connect(r.addr).await.unwrap();
    assert!(closed_within(&mut c, WAIT).await);
    assert_eq!(name_from("127.0.0.1", r.addr).await, "aa");
    r.log.wait(0).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(r.engine.frontend_counters(0).total, 2);
    assert_eq!(
        r.engine.backend_counters(0).total,
        1,
        "the rejected one never reached a backend"
    );
}

#[tokio::test]
async fn no_backend_closes() {
    let (_a, _b, mut spec) = two_backends().await;
    spec.frontends[0].default_backend = None;
    spec.frontends[0].use_backends = vec![(1, cond("{ dst_port 1 }"))];
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    let rec = &r.log.wait(1).await[0];
    assert_eq!(rec.backend, None);
}

#[tokio::test]
async fn use_backend_on_req_payload_waits_for_the_bytes() {
    let (_a, _b, mut spec) = two_backends().await;
    let fe = &mut spec.frontends[0];
    fe.inspect_delay = Some(Duration::from_secs(2));
    // PostgreSQL SSLRequest: length 8, code 80877103 (0x04d2162f).
    let ssl_request = [0u8, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    fe.tcp_content_rules = vec![TcpRule {
        act: None,
        accept: true,
        cond: cond("{ req.payload(0,8) 0000000804d2162f }"),
    }];
    fe.use_backends = vec![(1, cond("{ req.payload(4,4) 04d2162f }"))];
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    c.write_all(&ssl_request[..3]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.write_all(&ssl_request[3..]).await.unwrap();
    let t = Instant::now();
    assert_eq!(read_n(&mut c, 2).await, b"bb");
    assert!(t.elapsed() < Duration::from_secs(1));
    // Other bytes: the rule fails at once (all 8 bytes there), default backend.
    let mut c = connect(r.addr).await;
    c.write_all(b"\0\0\0\x08abcd").await.unwrap();
    let t = Instant::now();
    assert_eq!(read_n(&mut c, 2).await, b"aa");
    assert!(t.elapsed() < Duration::from_secs(1));
}
