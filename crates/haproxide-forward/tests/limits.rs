//! Retries, redispatch, connect timeout, queues, maxconn limits.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use haproxide_forward::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Whether the connection yields at least one byte within `d`.
async fn gets_data_within(c: &mut TcpStream, d: Duration) -> bool {
    let mut b = [0u8; 1];
    matches!(tokio::time::timeout(d, c.read(&mut b)).await, Ok(Ok(1)))
}

async fn served(addr: SocketAddr) -> TcpStream {
    let mut c = connect(addr).await;
    assert!(gets_data_within(&mut c, WAIT).await, "served");
    c
}

#[tokio::test]
async fn retries_to_a_refusing_server_pause_then_fail_with_sc() {
    let mut spec = simple(vec![server("dead", refusing_addr())]);
    spec.backends[0].retries = 2;
    spec.backends[0].timeout_connect = Some(Duration::from_millis(250));
    let r = start(spec).await;
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    let el = t.elapsed();
    // Two pauses of min(1 s, timeout connect) between the three attempts.
    assert!(
        el >= Duration::from_millis(480) && el < Duration::from_secs(3),
        "{el:?}"
    );
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "SC");
    assert_eq!(rec.retries, 2);
    assert!(!rec.redispatched);
    assert_eq!(rec.server.as_deref(), Some("dead"));
}

#[tokio::test]
async fn redispatch_in_round_robin_moves_at_once_to_another_server() {
    let ok = named("ok").await;
    let mut spec = simple(vec![server("dead", refusing_addr()), server("ok", ok.addr)]);
    spec.backends[0].redispatch = true;
    spec.backends[0].timeout_connect = Some(Duration::from_secs(1));
    let r = start(spec).await;
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    assert_eq!(read_n(&mut c, 2).await, b"ok");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "no turn-around pause when redispatching"
    );
    drop(c);
    let rec = &r.log.wait(1).await[0];
    assert_eq!(rec.retries, 1);
    assert!(rec.redispatched);
    assert_eq!(rec.server.as_deref(), Some("ok"));
    assert_eq!(term(rec), "--");
}

#[tokio::test]
async fn without_redispatch_retries_stay_on_the_same_server() {
    let ok = named("ok").await;
    let mut spec = simple(vec![server("dead", refusing_addr()), server("ok", ok.addr)]);
    spec.backends[0].retries = 2;
    spec.backends[0].timeout_connect = Some(Duration::from_millis(100));
    let r = start(spec).await;
    let mut c = connect(r.addr).await; // round robin: the first goes to "dead"
    assert!(closed_within(&mut c, WAIT).await);
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "SC");
    assert_eq!(rec.retries, 2);
    assert_eq!(ok.accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn redispatch_with_leastconn_happens_on_the_last_retry() {
    let ok = named("ok").await;
    let mut spec = simple(vec![server("dead", refusing_addr()), server("ok", ok.addr)]);
    spec.backends[0].balance = Balance::LeastConn;
    spec.backends[0].redispatch = true;
    spec.backends[0].retries = 2;
    spec.backends[0].timeout_connect = Some(Duration::from_millis(150));
    let r = start(spec).await;
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    assert_eq!(read_n(&mut c, 2).await, b"ok");
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(280),
        "two pauses before the last retry: {el:?}"
    );
    drop(c);
    let rec = &r.log.wait(1).await[0];
    assert_eq!((rec.retries, rec.redispatched), (2, true));
}

#[tokio::test]
async fn connect_timeout_is_sc_lowercase() {
    let bh = black_hole();
    let mut spec = simple(vec![server("bh", bh.addr)]);
    spec.backends[0].retries = 1;
    spec.backends[0].timeout_connect = Some(Duration::from_millis(200));
    let r = start(spec).await;
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(380) && el < Duration::from_secs(2),
        "{el:?}"
    );
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "sC");
    assert_eq!(rec.tc, -1);
}

#[tokio::test]
async fn server_maxconn_queues_fifo_and_dequeues_when_a_slot_frees() {
    let s = named("s0").await;
    let mut sp = server("s0", s.addr);
    sp.maxconn = 1;
    let mut spec = simple(vec![sp]);
    spec.backends[0].timeout_queue = Some(Duration::from_secs(5));
    let r = start(spec).await;
    let a = served(r.addr).await;
    let mut b = connect(r.addr).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut c = connect(r.addr).await;
    assert!(
        !gets_data_within(&mut b, Duration::from_millis(200)).await,
        "b waits in the queue"
    );
    assert_eq!(
        r.engine.queue_lengths(0, 0).1,
        2,
        "both in the backend queue"
    );
    assert_eq!(r.engine.server_counters(0, 0).current, 1);
    drop(a);
    assert!(
        gets_data_within(&mut b, Duration::from_secs(1)).await,
        "b first (FIFO)"
    );
    assert!(
        !gets_data_within(&mut c, Duration::from_millis(150)).await,
        "c still waits"
    );
    drop(b);
    assert!(gets_data_within(&mut c, Duration::from_secs(1)).await);
    drop(c);
    let recs = r.log.wait(3).await;
    assert!(
        recs.iter().filter(|x| x.tw >= 150).count() >= 2,
        "queue time logged: {recs:?}"
    );
}

#[tokio::test]
async fn queue_timeout_is_sq() {
    let s = named("s0").await;
    let mut sp = server("s0", s.addr);
    sp.maxconn = 1;
    let mut spec = simple(vec![sp]);
    spec.backends[0].timeout_queue = Some(Duration::from_millis(200));
    let r = start(spec).await;
    let _a = served(r.addr).await;
    let t = Instant::now();
    let mut b = connect(r.addr).await;
    assert!(closed_within(&mut b, WAIT).await);
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(180) && el < Duration::from_secs(2),
        "{el:?}"
    );
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "sQ");
    assert!(rec.tw >= 180);
    assert_eq!(r.engine.queue_lengths(0, 0), (0, 0), "left the queue");
}

#[tokio::test]
async fn server_maxqueue_full_is_refused_at_once() {
    let s = named("s0").await;
    let mut sp = server("s0", s.addr);
    sp.maxconn = 1;
    sp.maxqueue = 1;
    let mut spec = simple(vec![sp]);
    spec.backends[0].balance = Balance::Source; // deterministic: queues on the server
    spec.backends[0].timeout_queue = Some(Duration::from_secs(5));
    let r = start(spec).await;
    let _a = served(r.addr).await;
    let _b = connect(r.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(r.engine.queue_lengths(0, 0).0, 1);
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(term(&r.log.wait(1).await[0]), "SQ");
}

async fn limit_holds(spec: EngineSpec, limit: usize) {
    let r = start(spec).await;
    let mut held = Vec::new();
    for _ in 0..limit {
        held.push(served(r.addr).await);
    }
    // The next one completes its TCP handshake in the kernel backlog but is not accepted.
    let mut extra = connect(r.addr).await;
    assert!(
        !gets_data_within(&mut extra, Duration::from_millis(300)).await,
        "not served beyond the limit"
    );
    assert_eq!(r.engine.active_sessions(), limit as u64);
    assert_eq!(
        r.engine.frontend_counters(0).total,
        limit as u64,
        "not accepted (no accept-and-close)"
    );
    held.pop();
    assert!(
        gets_data_within(&mut extra, WAIT).await,
        "accepted once a slot frees"
    );
}

#[tokio::test]
async fn global_maxconn_stops_accepting() {
    let s = named("s0").await;
    let mut spec = simple(vec![server("s0", s.addr)]);
    spec.maxconn = Some(2);
    limit_holds(spec, 2).await;
}

#[tokio::test]
async fn frontend_and_bind_maxconn_stop_accepting() {
    let s = named("s0").await;
    let mut spec = simple(vec![server("s0", s.addr)]);
    spec.frontends[0].maxconn = Some(3);
    limit_holds(spec, 3).await;
    let mut spec = simple(vec![server("s0", s.addr)]);
    spec.frontends[0].binds[0].maxconn = Some(1);
    limit_holds(spec, 1).await;
}

#[tokio::test]
async fn client_abort_while_queued_is_cq_and_leaves_the_queue() {
    let s = named("s0").await;
    let mut sp = server("s0", s.addr);
    sp.maxconn = 1;
    let mut spec = simple(vec![sp]);
    spec.backends[0].timeout_queue = Some(Duration::from_secs(5));
    let r = start(spec).await;
    let _a = served(r.addr).await;
    let b = connect(r.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(r.engine.queue_lengths(0, 0).1, 1);
    set_rst_on_close(&b);
    drop(b);
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "CQ");
    assert_eq!(r.engine.queue_lengths(0, 0), (0, 0));
}

#[tokio::test]
async fn client_abort_while_connecting_is_cc() {
    let bh = black_hole();
    let mut spec = simple(vec![server("bh", bh.addr)]);
    spec.backends[0].timeout_connect = Some(Duration::from_secs(3));
    let r = start(spec).await;
    let c = connect(r.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    set_rst_on_close(&c);
    drop(c);
    let t = Instant::now();
    let rec = &r.log.wait(1).await[0];
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(term(rec), "CC");
}

#[tokio::test]
async fn a_client_half_close_during_connect_is_not_an_abort() {
    let (m, mut rx) = recorder().await;
    let r = start(simple(vec![server("s", m.addr)])).await;
    let mut c = connect(r.addr).await;
    tokio::io::AsyncWriteExt::write_all(&mut c, b"request")
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::shutdown(&mut c).await.unwrap();
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"request");
    assert_eq!(term(&r.log.wait(1).await[0]), "--");
}

#[tokio::test]
async fn source_hash_redispatches_away_from_a_dead_server() {
    let ok = named("ok").await;
    let mut spec = simple(vec![server("dead", refusing_addr()), server("ok", ok.addr)]);
    spec.backends[0].balance = Balance::Source;
    spec.backends[0].redispatch = true;
    spec.backends[0].retries = 1;
    spec.backends[0].timeout_connect = Some(Duration::from_millis(100));
    let r = start(spec).await;
    for i in 1..=8 {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(format!("127.0.0.{i}:0").parse().unwrap()).unwrap();
        let mut c = tokio::time::timeout(WAIT, s.connect(r.addr))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read_n(&mut c, 2).await, b"ok", "client 127.0.0.{i}");
    }
    let recs = r.log.wait(8).await;
    assert!(
        recs.iter().any(|x| x.redispatched && x.retries == 1),
        "some clients hashed to the dead server"
    );
}

#[tokio::test]
async fn queued_sessions_go_to_a_server_that_comes_back() {
    let s0 = named("s0").await;
    let s1 = named("s1").await;
    let mut a = server("s0", s0.addr);
    a.maxconn = 1;
    let mut spec = simple(vec![a, server("s1", s1.addr)]);
    spec.backends[0].timeout_queue = Some(Duration::from_secs(5));
    let r = start(spec).await;
    r.health.set(0, 1, false);
    let _first = served(r.addr).await; // s0 is now full
    let mut b = connect(r.addr).await;
    let mut c = connect(r.addr).await;
    assert!(
        !gets_data_within(&mut b, Duration::from_millis(250)).await,
        "queued"
    );
    // s1 comes back: the engine is told at once (the waiters also poll every 200 ms).
    r.health.set(0, 1, true);
    r.engine.wake_queues(0);
    assert_eq!(read_n(&mut b, 2).await, b"s1");
    assert_eq!(read_n(&mut c, 2).await, b"s1", "s1 has no maxconn: both go");
}

#[tokio::test]
async fn timeout_client_while_queued_is_cq() {
    let s = named("s0").await;
    let mut sp = server("s0", s.addr);
    sp.maxconn = 1;
    let mut spec = simple(vec![sp]);
    spec.backends[0].timeout_queue = Some(Duration::from_secs(5));
    spec.frontends[0].timeout_client = Some(Duration::from_millis(300));
    let r = start(spec).await;
    let mut a = served(r.addr).await;
    // Keep `a` alive (its client timeout is refreshed by traffic).
    let keep = tokio::spawn(async move {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if tokio::io::AsyncWriteExt::write_all(&mut a, b"k")
                .await
                .is_err()
            {
                break;
            }
        }
        a
    });
    let t = Instant::now();
    let mut b = connect(r.addr).await;
    assert!(closed_within(&mut b, WAIT).await);
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(280) && el < Duration::from_secs(2),
        "{el:?}"
    );
    assert_eq!(term(&r.log.wait(1).await[0]), "cQ");
    let _ = keep.await;
}
