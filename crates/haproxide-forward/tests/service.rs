//! Service frontends (the stats page, the exporter): the engine accepts, counts
//! and stops their connections; the service answers them.

mod common;

use std::sync::Arc;

use common::*;
use haproxide_forward::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Echoes one line in upper case, then waits for the stop signal and says "bye".
struct Upper;

impl Service for Upper {
    fn serve(
        &self,
        conn: ServiceConn,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            let ServiceConn {
                mut stream, stop, ..
            } = conn;
            let mut buf = [0u8; 64];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            let _ = stream.write_all(&buf[..n].to_ascii_uppercase()).await;
            stop.wait().await;
            let _ = stream.write_all(b"bye").await;
        })
    }
}

async fn start() -> Engine {
    let spec = EngineSpec {
        frontends: vec![FrontendSpec {
            service: Some(ServiceHandle(Arc::new(Upper))),
            ..frontend("stats", None)
        }],
        backends: vec![],
        maxconn: None,
        ..EngineSpec::default()
    };
    Engine::start(spec, Arc::new(AlwaysUp), Arc::new(NoLog))
        .await
        .expect("start")
}

#[tokio::test]
async fn service_frontend_is_served_counted_and_told_of_soft_stop() {
    let engine = start().await;
    let addr = engine.local_addrs()[0].1;
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(b"hello").await.expect("write");
    let mut buf = [0u8; 5];
    tokio::time::timeout(WAIT, c.read_exact(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(&buf, b"HELLO");
    assert_eq!(
        engine.frontend_counters(0),
        Counters {
            current: 1,
            total: 1
        }
    );
    assert_eq!(engine.active_sessions(), 1);
    // A soft stop tells the service, waits for it, and ends when it is done.
    tokio::time::timeout(WAIT, engine.soft_stop(None))
        .await
        .expect("soft stop ends");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, c.read_to_end(&mut rest)).await;
    assert_eq!(rest, b"bye");
    assert_eq!(engine.active_sessions(), 0);
    assert_eq!(engine.frontend_counters(0).current, 0);
}

#[tokio::test]
async fn hard_stop_drops_a_service_connection() {
    let engine = start().await;
    let mut c = TcpStream::connect(engine.local_addrs()[0].1)
        .await
        .expect("connect");
    c.write_all(b"x").await.expect("write");
    let mut one = [0u8; 1];
    let _ = tokio::time::timeout(WAIT, c.read_exact(&mut one)).await;
    engine.hard_stop();
    let mut rest = Vec::new();
    let r = tokio::time::timeout(WAIT, c.read_to_end(&mut rest)).await;
    assert!(r.is_ok(), "closed in time");
    assert!(rest.is_empty(), "no goodbye after a hard stop: {rest:?}");
}
