//! PROXY protocol bytes to servers, `accept-proxy` from clients, `source`.

mod common;

use common::*;
use haproxide_forward::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Send `payload` through a fresh engine; returns the client's and the frontend's addresses.
async fn through(spec: EngineSpec, payload: &[u8]) -> (std::net::SocketAddr, std::net::SocketAddr) {
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    let client = c.local_addr().unwrap();
    c.write_all(payload).await.unwrap();
    c.shutdown().await.unwrap();
    let _ = read_to_eof(&mut c, WAIT).await;
    (client, r.addr)
}

#[tokio::test]
async fn send_proxy_v1_exact_bytes() {
    let (m, mut rx) = recorder().await;
    let mut sp = server("s", m.addr);
    sp.send_proxy = SendProxy::V1;
    let (client, front) = through(simple(vec![sp]), b"payload").await;
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let want = format!(
        "PROXY TCP4 127.0.0.1 127.0.0.1 {} {}\r\npayload",
        client.port(),
        front.port()
    );
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[tokio::test]
async fn send_proxy_v2_exact_bytes() {
    let (m, mut rx) = recorder().await;
    let mut sp = server("s", m.addr);
    sp.send_proxy = SendProxy::V2;
    let (client, front) = through(simple(vec![sp]), b"payload").await;
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let mut want = vec![
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
    ];
    want.extend_from_slice(&[0x21, 0x11, 0x00, 0x0C]);
    want.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
    want.extend_from_slice(&client.port().to_be_bytes());
    want.extend_from_slice(&front.port().to_be_bytes());
    want.extend_from_slice(b"payload");
    assert_eq!(got, want);
}

#[tokio::test]
async fn send_proxy_v1_over_ipv6() {
    let (m, mut rx) = recorder().await;
    let mut sp = server("s", m.addr);
    sp.send_proxy = SendProxy::V1;
    let mut spec = simple(vec![sp]);
    spec.frontends[0].binds = vec![bind_tcp("[::1]:0")];
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    let client = c.local_addr().unwrap();
    c.write_all(b"x").await.unwrap();
    c.shutdown().await.unwrap();
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let want = format!(
        "PROXY TCP6 ::1 ::1 {} {}\r\nx",
        client.port(),
        r.addr.port()
    );
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[tokio::test]
async fn accept_proxy_takes_addresses_from_the_header() {
    let (m, mut rx) = recorder().await;
    let mut sp = server("s", m.addr);
    sp.send_proxy = SendProxy::V1;
    let other = named("xx").await;
    let mut spec = simple(vec![sp]);
    spec.backends
        .push(backend("other", vec![server("x", other.addr)]));
    spec.frontends[0].binds[0].accept_proxy = true;
    // Route on the source given by the PROXY header.
    spec.frontends[0].use_backends = vec![(1, src_is("10.9.9.9"))];
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    c.write_all(b"PROXY TCP4 10.1.2.3 10.0.0.1 1111 80\r\nhello")
        .await
        .unwrap();
    c.shutdown().await.unwrap();
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"PROXY TCP4 10.1.2.3 10.0.0.1 1111 80\r\nhello");
    let rec = &r.log.wait(1).await[0];
    assert_eq!(rec.client, "10.1.2.3:1111".parse().unwrap());
    assert_eq!(rec.bytes_uploaded, 5, "the header is not payload");

    // v2 header with a source that matches the use_backend rule.
    let mut c = connect(r.addr).await;
    let mut h = vec![
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0, 12,
    ];
    h.extend_from_slice(&[10, 9, 9, 9, 10, 0, 0, 1, 0x04, 0x57, 0, 80]);
    c.write_all(&h).await.unwrap();
    assert_eq!(read_n(&mut c, 2).await, b"xx");

    // `tcp-request connection` rules see the real address, not the header's.
    drop(r);
    let ok = named("ok").await;
    let mut spec = simple(vec![server("s", ok.addr)]);
    spec.frontends[0].binds[0].accept_proxy = true;
    spec.frontends[0].tcp_connection_rules = vec![TcpRule {
        act: None,
        accept: false,
        cond: src_is("10.1.2.3"),
    }];
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    c.write_all(b"PROXY TCP4 10.1.2.3 10.0.0.1 1111 80\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_n(&mut c, 2).await,
        b"ok",
        "not rejected: the real source is 127.0.0.1"
    );

    // Garbage instead of a header: closed.
    let mut c = connect(r.addr).await;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    assert!(closed_within(&mut c, WAIT).await);
}

#[tokio::test]
async fn source_binds_outgoing_connections() {
    let m = mock(|mut s: TcpStream| async move {
        let peer = s
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let _ = s.write_all(peer.as_bytes()).await;
    })
    .await;
    let mut sp = server("s", m.addr);
    sp.source = Some("127.0.0.7".parse().unwrap());
    let r = start(simple(vec![sp])).await;
    let mut c = connect(r.addr).await;
    let (got, _) = read_to_eof(&mut c, WAIT).await;
    assert_eq!(got, b"127.0.0.7");
}

#[tokio::test]
async fn server_port_follows_the_client_destination_port() {
    // A server without a port uses the port the client connected to: bind the
    // frontend on the mock's port on another loopback address.
    let e = named("ok").await;
    let mut sp = server("s", e.addr);
    sp.port = ServerPort::SameAsClient;
    let mut spec = simple(vec![sp]);
    spec.frontends[0].binds = vec![bind_tcp(&format!("127.0.0.3:{}", e.addr.port()))];
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    assert_eq!(read_n(&mut c, 2).await, b"ok");
}

#[tokio::test]
async fn server_address_0_0_0_0_means_the_client_destination() {
    let e = named("ok").await;
    let mut sp = server("s", e.addr);
    sp.ip = "0.0.0.0".parse().unwrap();
    sp.port = ServerPort::Fixed(e.addr.port());
    let r = start(simple(vec![sp])).await;
    let mut c = connect(r.addr).await;
    assert_eq!(read_n(&mut c, 2).await, b"ok");
}

/// `if { src <addr> }`, typed by the expression engine.
fn src_is(addr: &str) -> Option<Cond> {
    let words = ["if", "{", "src", addr, "}"];
    let acls = haproxide_expr::AclSet::new();
    Some(Cond::parse(&words, &acls, &haproxide_expr::Opts::default()).unwrap())
}
