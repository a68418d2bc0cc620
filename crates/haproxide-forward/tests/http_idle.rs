//! Idle HTTP keep-alive connections hold no buffer (issue 14, RSS per idle
//! connection): between requests neither the client side nor the server
//! connection kept for reuse keeps a relay buffer; they come back from the pool
//! when the next request arrives; the idle server connections are shared
//! between client connections (one kept, not one per client). Its own test binary: the buffer count is
//! process-wide.

mod common;

use std::time::Duration;

use common::http::{get, keep_alive_spec, served_clients, server, text};
use common::*;
use haproxide_forward::*;

const N: usize = 32;

#[tokio::test]
async fn idle_keep_alive_connections_hold_no_buffer() {
    let (m, _rx) = server("a").await;
    let spec = keep_alive_spec(m.addr, None);
    let p = start(spec).await;
    let mut clients = served_clients(p.addr, N).await;
    // Every session now waits for its next request, its server connection kept.
    let deadline = tokio::time::Instant::now() + WAIT;
    while buffers_held() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        buffers_held(),
        0,
        "{N} idle keep-alive connections (and their idle server connections) hold no buffer"
    );
    // They still work; pipelined requests too. These are not first requests, so
    // (`http-reuse safe`) they take the server's shared idle connection: the
    // pool kept one (they came one at a time), not one per client; one per
    // engine thread when the suite runs on threads (each has its own pool).
    let mut conns = std::collections::BTreeSet::new();
    for (i, c) in clients.iter_mut().enumerate() {
        let two = [get("/x"), get("/y")].concat();
        c.send(&two).await;
        for path in ["/x", "/y"] {
            let (r, body) = c.response(b"GET").await.expect("response");
            assert_eq!(r.head.code, 200, "client {i}");
            let t = text(&body);
            let conn = t.strip_prefix(&format!("a {path} conn=")).expect(&t);
            conns.insert(conn.to_string());
        }
    }
    let pools = threads_per_engine();
    assert!(
        !conns.is_empty() && conns.len() <= pools,
        "one shared server connection per thread ({pools}): {conns:?}"
    );
    assert_eq!(
        m.accepted.load(std::sync::atomic::Ordering::SeqCst),
        N as u64,
        "no new server connection for the later requests"
    );
}
