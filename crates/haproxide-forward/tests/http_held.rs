//! Idle HTTP keep-alive connections leave their tasks (issue 14, RSS per idle
//! connection): after the grace (`http::idle::GRACE`, 500 ms) without a byte
//! from its client, a parked connection goes to its thread's waiter; its next
//! request is served on the same connection as before; `shutdown session`
//! still reaches it; `timeout http-keep-alive` closes it without a log line.
//! The session table names a held connection's slot (its kill switch is
//! folded into it): `show sess` lists it with the same facts, the hard stop
//! reaches it. Its own test binary: the held count is process-wide.

mod common;

use std::time::Duration;

use common::http::{get, keep_alive_spec, served_clients, server, text};
use common::*;
use haproxide_forward::*;

const N: usize = 8;
const GRACE_MS: Duration = Duration::from_millis(500);

/// The held count is process-wide: one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !ok() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn idle_keep_alive_connections_leave_their_tasks_and_come_back() {
    let _one = SERIAL.lock().await;
    let (m, _rx) = server("a").await;
    let spec = keep_alive_spec(m.addr, Some(Duration::from_millis(2500)));
    let p = start(spec).await;
    let mut clients = served_clients(p.addr, N).await;
    // Within the grace they are still in their tasks.
    assert_eq!(idle_connections_held(), 0, "none held within the grace");
    until("every idle connection held by the waiter", || {
        idle_connections_held() == N
    })
    .await;
    // Listed as before they left their tasks (`show sess`): their kill
    // switches were folded into the waiter's slots, the facts kept there.
    let listed = p.engine.sessions();
    assert_eq!(listed.len(), N, "held sessions are still listed");
    let mut srcs: Vec<_> = listed.iter().map(|s| s.src).collect();
    let mut want: Vec<_> = clients.iter().map(|c| c.s.local_addr().ok()).collect();
    srcs.sort();
    want.sort();
    assert_eq!(srcs, want, "each held session's client address");
    for s in &listed {
        assert_eq!(s.frontend, 0);
        assert_eq!(s.backend, Some(0), "the backend of its last request");
        assert_eq!(s.dst, Some(p.addr));
        assert!(s.age >= GRACE_MS, "{:?}", s.age);
    }
    p.log.wait(N).await;

    // Each comes back on its next request (pipelined), then goes idle again.
    for (i, c) in clients.iter_mut().enumerate() {
        c.send(&[get("/x"), get("/y")].concat()).await;
        for path in ["/x", "/y"] {
            let (r, body) = c.response(b"GET").await.expect("response");
            assert_eq!(r.head.code, 200, "client {i}");
            assert!(
                text(&body).starts_with(&format!("a {path} conn=")),
                "client {i}"
            );
        }
    }
    let logged = p.log.wait(3 * N).await.len();
    assert_eq!(logged, 3 * N, "one log line per request");
    until("held again", || idle_connections_held() == N).await;

    // `shutdown session` reaches a held connection: closed, logged as killed.
    let sid = p.engine.sessions()[0].id;
    assert!(p.engine.kill_session(sid));
    let mut closed = 0;
    for c in clients.iter_mut() {
        if c.closed_within(Duration::from_millis(200)).await {
            closed += 1;
        }
    }
    assert_eq!(
        closed, 1,
        "exactly the killed session's client sees a close"
    );
    let recs = p.log.wait(3 * N + 1).await;
    assert_eq!(term(&recs[3 * N]), "KR", "{:?}", recs[3 * N]);
    assert_eq!(idle_connections_held(), N - 1);

    // `timeout http-keep-alive` (2.5 s) closes the others, without a log line.
    for c in clients.iter_mut() {
        assert!(
            c.closed_within(WAIT).await,
            "closed at the keep-alive timeout"
        );
    }
    until("none held", || idle_connections_held() == 0).await;
    until("no session left", || p.engine.sessions().is_empty()).await;
    assert_eq!(p.log.len(), 3 * N + 1, "idle timeouts are not logged");
}

/// The hard stop reaches every held connection (the session table names
/// their slots); a burst of connections going idle has the waiter give the
/// C heap's free pages back once their tasks are gone.
#[tokio::test]
async fn the_hard_stop_closes_held_connections() {
    // More than the waiter's trim threshold (64) on each engine thread (the
    // sessions are spread evenly, each thread has its own waiter).
    let count = 70 * threads_per_engine();
    let _one = SERIAL.lock().await;
    let (m, _rx) = server("a").await;
    let spec = keep_alive_spec(m.addr, Some(Duration::from_secs(30)));
    let p = start(spec).await;
    let trims = idle_heap_trims();
    let mut clients = served_clients(p.addr, count).await;
    p.log.wait(count).await;
    until("held", || {
        p.engine.sessions().len() == count && idle_connections_held() >= count
    })
    .await;
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        until("the heap trimmed", || idle_heap_trims() > trims).await;
    }
    p.engine.hard_stop();
    for (i, c) in clients.iter_mut().enumerate() {
        assert!(
            c.closed_within(WAIT).await,
            "client {i} closed by the hard stop"
        );
    }
    until("no session left", || p.engine.sessions().is_empty()).await;
    let recs = p.log.wait(2 * count).await;
    assert_eq!(
        recs.len(),
        2 * count,
        "each killed session logged once more"
    );
    assert!(
        recs[count..].iter().all(|r| term(r) == "KR"),
        "{:?}",
        &recs[count..]
    );
}
