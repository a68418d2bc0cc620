//! Live `bin`/`bout` and session rates (management.txt §9.1): bytes show while a
//! session is open, exactly once after it ends; rates over the last second.

mod common;

use std::time::Duration;

use common::*;
use haproxide_forward::{Engine, RateSnapshot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const UP: usize = 100_000;
const DOWN: usize = 30_000;

/// Reads `UP` bytes, answers `DOWN` bytes, then waits for the client's EOF.
async fn exchanger() -> Mock {
    mock(|mut s| async move {
        let mut got = vec![0u8; UP];
        if s.read_exact(&mut got).await.is_err() {
            return;
        }
        if s.write_all(&[b'x'; DOWN]).await.is_err() {
            return;
        }
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
    })
    .await
}

fn all_bytes(e: &Engine) -> [(u64, u64); 3] {
    [
        e.frontend_bytes(0),
        e.backend_bytes(0),
        e.server_bytes(0, 0),
    ]
}

/// Waits until every counter reads `want`; panics with what it saw after [`WAIT`].
async fn bytes_reach(e: &Engine, want: (u64, u64)) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = all_bytes(e);
        if now.iter().all(|b| *b == want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bin/bout of frontend, backend, server: {now:?}, expected {want:?} each"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn open_sessions_show_their_bytes_and_closed_ones_count_once() {
    let m = exchanger().await;
    let r = start(simple(vec![server("s1", m.addr)])).await;
    let n = (UP as u64, DOWN as u64);
    let mut c = connect(r.addr).await;
    c.write_all(&[7u8; UP]).await.unwrap();
    assert_eq!(read_n(&mut c, DOWN).await.len(), DOWN);
    // Still open: the bytes show on the frontend, the backend and the server.
    bytes_reach(&r.engine, n).await;
    assert_eq!(r.log.len(), 0, "the session is still open");
    assert_eq!(r.engine.frontend_counters(0).current, 1);
    // It closes: the same numbers, not twice.
    c.shutdown().await.unwrap();
    let (rest, _) = read_to_eof(&mut c, WAIT).await;
    assert!(rest.is_empty());
    let rec = &r.log.wait(1).await[0];
    assert_eq!((rec.bytes_uploaded, rec.bytes_read), n);
    assert_eq!(all_bytes(&r.engine), [n; 3]);
    // A second session adds its own bytes while open, and they stay once it ends.
    let mut c = connect(r.addr).await;
    c.write_all(&[7u8; UP]).await.unwrap();
    assert_eq!(read_n(&mut c, DOWN).await.len(), DOWN);
    let twice = (2 * n.0, 2 * n.1);
    bytes_reach(&r.engine, twice).await;
    drop(c);
    r.log.wait(2).await;
    assert_eq!(all_bytes(&r.engine), [twice; 3]);
    // `clear counters` keeps the bytes, `clear counters all` zeroes them.
    r.engine.clear_max();
    assert_eq!(all_bytes(&r.engine), [twice; 3]);
    r.engine.clear_totals();
    assert_eq!(all_bytes(&r.engine), [(0, 0); 3]);
    // ... and they count again from there.
    let mut c = connect(r.addr).await;
    c.write_all(&[7u8; UP]).await.unwrap();
    assert_eq!(read_n(&mut c, DOWN).await.len(), DOWN);
    bytes_reach(&r.engine, n).await;
    drop(c);
    r.log.wait(3).await;
    assert_eq!(all_bytes(&r.engine), [n; 3]);
}

#[tokio::test]
async fn bytes_read_before_the_relay_are_counted_once() {
    // The client speaks before the server connection exists (a slow connect is not
    // needed: the first read happens while connecting) and closes at once.
    let e = echo().await;
    let r = start(simple(vec![server("s1", e.addr)])).await;
    let mut c = connect(r.addr).await;
    c.write_all(b"ping").await.unwrap();
    c.shutdown().await.unwrap();
    let (got, _) = read_to_eof(&mut c, WAIT).await;
    assert_eq!(got, b"ping");
    r.log.wait(1).await;
    assert_eq!(all_bytes(&r.engine), [(4, 4); 3]);
    // A session that never reaches a server still counts on its frontend.
    let r = start(simple(vec![server("s1", refusing_addr())])).await;
    let mut c = connect(r.addr).await;
    c.write_all(b"hello").await.unwrap();
    r.log.wait(1).await;
    assert_eq!(r.engine.frontend_bytes(0), (5, 0));
    assert_eq!(r.engine.backend_bytes(0), (5, 0));
}

#[tokio::test]
async fn session_rates_over_the_last_second() {
    const K: u64 = 6;
    let e = echo().await;
    let r = start(simple(vec![server("s1", e.addr)])).await;
    let none = RateSnapshot::default();
    assert_eq!(r.engine.frontend_rates(0), (none, none));
    let t0 = std::time::Instant::now();
    for _ in 0..K {
        let mut c = connect(r.addr).await;
        c.write_all(b"x").await.unwrap();
        assert_eq!(read_n(&mut c, 1).await, b"x");
    }
    r.log.wait(K as usize).await;
    let burst = t0.elapsed();
    assert!(burst < Duration::from_millis(900), "burst took {burst:?}");
    let k = RateSnapshot { current: K, max: K };
    let (sess, conn) = r.engine.frontend_rates(0);
    assert_eq!((sess, conn), (k, k));
    assert_eq!(r.engine.backend_rate(0), k);
    assert_eq!(r.engine.server_rate(0, 0), k);
    assert_eq!(r.engine.process_rates(), (k, k));
    // Two seconds later without new sessions the rates are 0, the maxima stay.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let idle = RateSnapshot { current: 0, max: K };
    assert_eq!(r.engine.frontend_rates(0), (idle, idle));
    assert_eq!(r.engine.backend_rate(0), idle);
    assert_eq!(r.engine.server_rate(0, 0), idle);
    assert_eq!(r.engine.process_rates(), (idle, idle));
    // `clear counters` resets the maxima, as HAProxy does.
    r.engine.clear_max();
    assert_eq!(r.engine.frontend_rates(0), (none, none));
    assert_eq!(r.engine.backend_rate(0), none);
    assert_eq!(r.engine.server_rate(0, 0), none);
    assert_eq!(r.engine.process_rates(), (none, none));
}

#[tokio::test]
async fn rejected_connections_count_in_conn_rate_only() {
    use haproxide_forward::spec::TcpRule;
    let e = echo().await;
    let mut spec = simple(vec![server("s1", e.addr)]);
    spec.frontends[0].tcp_connection_rules = vec![TcpRule {
        act: None,
        accept: false,
        cond: None,
    }];
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    let deadline = tokio::time::Instant::now() + WAIT;
    while r.engine.frontend_rates(0).1.current == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (sess, conn) = r.engine.frontend_rates(0);
    assert_eq!(conn.current, 1);
    assert_eq!(sess.current, 0, "a rejected connection is no session");
    assert_eq!(r.engine.backend_rate(0).current, 0);
}
