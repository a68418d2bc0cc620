//! The `h2` crate's client against our server, through an in-memory duplex:
//! what each side sees.

mod common;

use std::time::Duration;

use bytes::Bytes;
use haproxide_h2::{ErrorCode, Settings};
use http::{HeaderMap, Request};

const T: Duration = Duration::from_secs(10);

async fn with_server<F, Fut>(settings: Settings, client: F) -> common::Seen
where
    F: FnOnce(h2::client::SendRequest<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (a, b) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(common::serve(b, settings));
    let (send, conn) = h2::client::handshake(a).await.expect("handshake");
    let conn = tokio::spawn(conn);
    tokio::time::timeout(T, client(send))
        .await
        .expect("client in time");
    conn.abort();
    tokio::time::timeout(T, server)
        .await
        .expect("server in time")
        .expect("server task")
}

async fn get(send: &mut h2::client::SendRequest<Bytes>, path: &str) -> (u16, HeaderMap, Vec<u8>) {
    let req = Request::get(format!("https://example.com{path}"))
        .body(())
        .unwrap();
    let (resp, _) = send
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(req, true)
        .unwrap();
    read(resp).await
}

async fn read(resp: h2::client::ResponseFuture) -> (u16, HeaderMap, Vec<u8>) {
    let resp = resp.await.expect("response");
    let (parts, mut body) = resp.into_parts();
    let mut got = Vec::new();
    while let Some(c) = body.data().await {
        let c = c.expect("data");
        body.flow_control().release_capacity(c.len()).unwrap();
        got.extend_from_slice(&c);
    }
    (parts.status.as_u16(), parts.headers, got)
}

#[tokio::test]
async fn get_and_big_response() {
    let seen = with_server(Settings::default(), |mut send| async move {
        let (st, h, body) = get(&mut send, "/get").await;
        assert_eq!(st, 200);
        assert_eq!(h["content-type"], "text/plain");
        assert_eq!(h["x-served-by"], "own");
        assert_eq!(body, b"GET /get 0");
        // 300 KB: more than the client's windows (65535): sent as they open.
        let (st, h, body) = get(&mut send, "/big").await;
        assert_eq!((st, body.len()), (200, 300_000));
        assert_eq!(h["content-length"], "300000");
        assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    })
    .await;
    assert_eq!(
        seen.requests,
        [
            (1, "GET".into(), "/get".into()),
            (3, "GET".into(), "/big".into())
        ]
    );
    assert!(seen.error.is_none());
}

#[tokio::test]
async fn post_larger_than_window_with_trailers() {
    let seen = with_server(Settings::default(), |send| async move {
        let mut send = send.ready().await.unwrap();
        let req = Request::post("https://example.com/echo").body(()).unwrap();
        let (resp, mut body) = send.send_request(req, false).unwrap();
        // 200 KB against a 65535-byte stream window: needs our credit.
        body.send_data(Bytes::from(vec![7u8; 200_000]), false)
            .unwrap();
        let mut t = HeaderMap::new();
        t.insert("x-checksum", "42".parse().unwrap());
        body.send_trailers(t).unwrap();
        let resp = resp.await.expect("response");
        let (parts, mut rb) = resp.into_parts();
        let mut got = Vec::new();
        while let Some(c) = rb.data().await {
            got.extend_from_slice(&c.unwrap());
        }
        assert_eq!(parts.status, 200);
        assert_eq!(got, b"POST /echo 200000");
        let tr = rb.trailers().await.unwrap().expect("trailers");
        assert_eq!(tr["x-echo-trailer"], "42");
    })
    .await;
    assert_eq!(seen.bodies.get(&1), Some(&200_000));
    assert_eq!(seen.trailers, [(1, "x-checksum".into(), "42".into())]);
}

#[tokio::test]
async fn concurrent_streams_within_the_limit() {
    let settings = Settings {
        max_concurrent_streams: 5,
        ..Settings::default()
    };
    let seen = with_server(settings, |send| async move {
        let mut tasks = Vec::new();
        for i in 0..40 {
            let mut s = send.clone();
            tasks.push(tokio::spawn(
                async move { get(&mut s, &format!("/c{i}")).await },
            ));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            let (st, _, body) = t.await.unwrap();
            assert_eq!(st, 200);
            assert_eq!(body, format!("GET /c{i} 0").as_bytes());
        }
    })
    .await;
    assert_eq!(seen.requests.len(), 40);
    assert!(seen.max_open <= 5, "{}", seen.max_open);
    assert!(seen.resets.is_empty());
}

#[tokio::test]
async fn client_reset_is_seen() {
    let seen = with_server(Settings::default(), |send| async move {
        let mut send = send.ready().await.unwrap();
        let req = Request::get("https://example.com/slow").body(()).unwrap();
        let (_resp, mut stream) = send.send_request(req, false).unwrap();
        stream.send_reset(h2::Reason::CANCEL);
        // A later stream is served: the reset touched only its stream.
        let (st, _, body) = get(&mut send, "/after").await;
        assert_eq!((st, body), (200, b"GET /after 0".to_vec()));
    })
    .await;
    assert_eq!(seen.resets, [(1, ErrorCode::CANCEL, true)]);
}

#[tokio::test]
async fn graceful_goaway() {
    let seen = with_server(Settings::default(), |mut send| async move {
        let (st, _, body) = get(&mut send, "/goaway").await;
        assert_eq!((st, body), (200, b"bye".to_vec()));
        // The client saw GOAWAY: a new request fails.
        let req = Request::get("https://example.com/late").body(()).unwrap();
        let refused = match send.ready().await {
            Err(_) => true,
            Ok(mut s) => match s.send_request(req, true) {
                Err(_) => true,
                Ok((resp, _)) => resp.await.is_err(),
            },
        };
        assert!(refused);
    })
    .await;
    assert_eq!(seen.requests, [(1, "GET".into(), "/goaway".into())]);
    assert!(seen.error.is_none());
}
