//! `EngineSpec::threads`: sessions run on the engine's own single-threaded runtimes.
//! (The whole suite also runs in this mode with `HAPROXIDE_TEST_THREADS=2`: scripts/test.)

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use haproxide_forward::*;
use tokio::io::AsyncWriteExt;

/// Records the name and OS thread id (`/proc/thread-self`) of the thread each session
/// was logged from, which is the thread it ran on.
#[derive(Default)]
struct ThreadNames(Mutex<Vec<(String, std::path::PathBuf)>>);

impl SessionLogger for ThreadNames {
    fn log(&self, _: &SessionRecord) {
        let name = std::thread::current().name().unwrap_or("?").to_string();
        let tid = std::fs::read_link("/proc/thread-self").unwrap_or_default();
        self.0.lock().expect("lock").push((name, tid));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_run_on_the_engines_threads_which_end_with_it() {
    let e = echo().await;
    let mut spec = simple(vec![server("e", e.addr)]);
    spec.threads = 3;
    let names = Arc::new(ThreadNames::default());
    let engine = Engine::start(spec, Arc::new(AlwaysUp), names.clone())
        .await
        .expect("engine starts");
    let addr = engine.local_addrs()[0].1;
    for i in 0..20u8 {
        let mut c = connect(addr).await;
        c.write_all(&[i]).await.expect("write");
        assert_eq!(read_n(&mut c, 1).await, vec![i]);
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while names.0.lock().expect("lock").len() < 20 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = names.0.lock().expect("lock").clone();
    assert_eq!(seen.len(), 20);
    assert!(
        seen.iter().all(|(n, _)| n.starts_with("haproxide-w")),
        "sessions ran elsewhere: {seen:?}"
    );
    let tids: std::collections::HashSet<_> = seen.into_iter().map(|(_, t)| t).collect();
    assert!((1..=3).contains(&tids.len()), "{tids:?}");
    drop(engine);
    // Dropping the engine joined its threads. pthread_join returns when the thread
    // has released its memory (the kernel clears its tid), a moment before the kernel
    // removes /proc's entry: wait a little for that, not for the thread.
    for t in &tids {
        let task = std::path::Path::new("/proc").join(t);
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while task.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!task.exists(), "thread {t:?} outlived the engine");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_stop_waits_for_sessions_on_the_threads() {
    let e = echo().await;
    let mut spec = simple(vec![server("e", e.addr)]);
    spec.threads = 2;
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    c.write_all(b"x").await.expect("write");
    assert_eq!(read_n(&mut c, 1).await, b"x");
    let engine = Arc::new(r.engine);
    let eng = engine.clone();
    let stop = tokio::spawn(async move { eng.soft_stop(None).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stop.is_finished(),
        "soft stop did not wait for the session"
    );
    // Still served while stopping.
    c.write_all(b"y").await.expect("write");
    assert_eq!(read_n(&mut c, 1).await, b"y");
    drop(c);
    tokio::time::timeout(WAIT, stop)
        .await
        .expect("soft stop ends once the session ended")
        .expect("join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_maxconn_holds_across_threads() {
    let e = echo().await;
    let mut spec = simple(vec![server("e", e.addr)]);
    spec.threads = 2;
    spec.maxconn = Some(3);
    let r = start(spec).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = connect(r.addr).await;
        c.write_all(b"a").await.expect("write");
        assert_eq!(read_n(&mut c, 1).await, b"a");
        held.push(c);
    }
    // The fourth waits in the backlog: nothing echoes while three are open.
    let mut fourth = connect(r.addr).await;
    fourth.write_all(b"b").await.expect("write");
    let early = tokio::time::timeout(Duration::from_millis(300), read_n(&mut fourth, 1)).await;
    assert!(
        early.is_err(),
        "a fourth session was accepted beyond maxconn 3"
    );
    assert_eq!(r.engine.active_sessions(), 3);
    held.pop();
    assert_eq!(read_n(&mut fourth, 1).await, b"b");
}

/// Whichever thread wins the accept, a session goes to the thread with the fewest
/// sessions (HAProxy's `tune.listener.multi-queue`): 16 held connections end up 8 and 8
/// and the sessions really run on two threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_spread_evenly_over_the_threads() {
    let e = echo().await;
    let mut spec = simple(vec![server("e", e.addr)]);
    spec.threads = 2;
    let names = Arc::new(ThreadNames::default());
    let engine = Engine::start(spec, Arc::new(AlwaysUp), names.clone())
        .await
        .expect("engine starts");
    let addr = engine.local_addrs()[0].1;
    let mut held = Vec::new();
    for i in 0..16u8 {
        let mut c = connect(addr).await;
        c.write_all(&[i]).await.expect("write");
        assert_eq!(read_n(&mut c, 1).await, vec![i]);
        held.push(c);
    }
    assert_eq!(engine.thread_sessions(), vec![8, 8]);
    // Half of them end: the next ones go where the room is.
    for c in held.drain(..8) {
        drop(c);
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while engine.active_sessions() > 8 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = engine.thread_sessions();
    assert_eq!(before.iter().sum::<usize>(), 8, "{before:?}");
    for i in 0..8u8 {
        let mut c = connect(addr).await;
        c.write_all(&[i]).await.expect("write");
        assert_eq!(read_n(&mut c, 1).await, vec![i]);
        held.push(c);
    }
    assert_eq!(engine.thread_sessions(), vec![8, 8], "from {before:?}");
    drop(held);
    let deadline = tokio::time::Instant::now() + WAIT;
    while names.0.lock().expect("lock").len() < 24 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = names.0.lock().expect("lock").clone();
    let mut per_thread = std::collections::HashMap::new();
    for (_, tid) in seen {
        *per_thread.entry(tid).or_insert(0) += 1;
    }
    let mut counts: Vec<i32> = per_thread.into_values().collect();
    counts.sort();
    assert_eq!(counts, vec![12, 12]);
    // Logged just before their counts are released.
    let deadline = tokio::time::Instant::now() + WAIT;
    while engine.active_sessions() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(engine.thread_sessions(), vec![0, 0]);
}
