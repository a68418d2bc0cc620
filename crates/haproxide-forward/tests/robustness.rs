//! Bad peers must not affect other sessions; memory per session stays bounded.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use haproxide_forward::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn sink() -> Mock {
    mock(|mut s| async move {
        let mut b = vec![0u8; 65536];
        while let Ok(n) = s.read(&mut b).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
}

/// fe0 -> sink, fe1 -> echo.
async fn two_fronts(
    sink_addr: std::net::SocketAddr,
    echo_addr: std::net::SocketAddr,
) -> EngineSpec {
    EngineSpec {
        frontends: vec![frontend("bulk", Some(0)), frontend("interactive", Some(1))],
        backends: vec![
            backend("sink", vec![server("s", sink_addr)]),
            backend("echo", vec![server("e", echo_addr)]),
        ],
        maxconn: None,
        threads: 0,
        spread: ThreadSpread::default(),
        no_splice: false,
        stick_tables: Vec::new(),
    }
}

async fn max_roundtrip(addr: std::net::SocketAddr, n: usize) -> Duration {
    let mut c = connect(addr).await;
    let mut worst = Duration::ZERO;
    for _ in 0..n {
        let t = Instant::now();
        c.write_all(b"ping").await.unwrap();
        assert_eq!(read_n(&mut c, 4).await, b"ping");
        worst = worst.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_upload_does_not_slow_other_sessions() {
    let s = sink().await;
    let e = echo().await;
    let spec = two_fronts(s.addr, e.addr).await;
    let r = start(spec).await;
    let addrs = r.engine.local_addrs();
    let (bulk, inter) = (addrs[0].1, addrs[1].1);
    let sent = Arc::new(AtomicU64::new(0));
    let sent2 = sent.clone();
    let uploader = tokio::spawn(async move {
        let mut c = connect(bulk).await;
        let buf = vec![0x5au8; 1 << 20];
        // Up to 512 MB or 4 s, whichever first.
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until && sent2.load(Ordering::Relaxed) < 512 << 20 {
            if c.write_all(&buf).await.is_err() {
                break;
            }
            sent2.fetch_add(buf.len() as u64, Ordering::Relaxed);
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let worst = max_roundtrip(inter, 30).await;
    assert!(
        worst < Duration::from_millis(250),
        "interactive session slowed down: {worst:?}"
    );
    uploader.await.unwrap();
    assert!(
        sent.load(Ordering::Relaxed) >= 16 << 20,
        "the upload did flow"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_clients_are_cut_by_timeout_client_others_unaffected() {
    let e = echo().await;
    let mut spec = simple(vec![server("e", e.addr)]);
    spec.frontends[0].timeout_client = Some(Duration::from_millis(300));
    let r = start(spec).await;
    // 200 clients connect and never send (slowloris without even a byte).
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(connect(r.addr).await);
    }
    let worst = max_roundtrip(r.addr, 10).await;
    assert!(worst < Duration::from_millis(200), "{worst:?}");
    let t = Instant::now();
    for c in &mut idle {
        assert!(closed_within(c, WAIT).await);
    }
    assert!(t.elapsed() < Duration::from_secs(3));
    let recs = r.log.wait(201).await;
    assert_eq!(recs.iter().filter(|x| term(x) == "cD").count(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_beyond_maxconn_are_served_in_turn() {
    let e = echo().await;
    let mut spec = simple(vec![server("e", e.addr)]);
    spec.maxconn = Some(50);
    spec.frontends[0].binds[0].backlog = Some(2048);
    let r = start(spec).await;
    let engine = Arc::new(r.engine);
    let peak = Arc::new(AtomicU64::new(0));
    let (eng, pk) = (engine.clone(), peak.clone());
    let watcher = tokio::spawn(async move {
        loop {
            pk.fetch_max(eng.active_sessions(), Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000u32 {
        let addr = r.addr;
        tasks.spawn(async move {
            let mut c = tokio::time::timeout(
                Duration::from_secs(20),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            .map_err(|_| "connect timeout")?
            .map_err(|_| "connect error")?;
            let msg = i.to_be_bytes();
            c.write_all(&msg).await.map_err(|_| "write")?;
            let mut b = [0u8; 4];
            tokio::time::timeout(Duration::from_secs(20), c.read_exact(&mut b))
                .await
                .map_err(|_| "read timeout")?
                .map_err(|_| "read error")?;
            tokio::time::sleep(Duration::from_millis(5)).await;
            if b == msg {
                Ok(())
            } else {
                Err("wrong bytes")
            }
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        if r.unwrap().is_ok() {
            ok += 1;
        }
    }
    watcher.abort();
    assert_eq!(ok, 1000, "every client served");
    let p = peak.load(Ordering::Relaxed);
    assert!(
        (1..=50).contains(&p),
        "never more than maxconn at once: {p}"
    );
    assert_eq!(engine.frontend_counters(0).total, 1000);
    // Every counter comes back to zero once the clients are gone.
    let deadline = Instant::now() + WAIT;
    while engine.active_sessions() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(engine.active_sessions(), 0);
    assert_eq!(engine.frontend_counters(0).current, 0);
    assert_eq!(
        engine.backend_counters(0),
        Counters {
            current: 0,
            total: 1000
        }
    );
    assert_eq!(
        engine.server_counters(0, 0),
        Counters {
            current: 0,
            total: 1000
        }
    );
    assert_eq!(engine.queue_lengths(0, 0), (0, 0));
}

#[tokio::test]
async fn client_reset_mid_upload_is_isolated() {
    let s = sink().await;
    let e = echo().await;
    let spec = two_fronts(s.addr, e.addr).await;
    let r = start(spec).await;
    let addrs = r.engine.local_addrs();
    let mut inter = connect(addrs[1].1).await;
    inter.write_all(b"one").await.unwrap();
    assert_eq!(read_n(&mut inter, 3).await, b"one");
    let mut bad = connect(addrs[0].1).await;
    bad.write_all(&vec![1u8; 1 << 20]).await.unwrap();
    set_rst_on_close(&bad);
    drop(bad);
    let recs = r.log.wait(1).await;
    assert_eq!(term(&recs[0]), "CD");
    inter.write_all(b"two").await.unwrap();
    assert_eq!(read_n(&mut inter, 3).await, b"two");
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn idle_sessions_hold_no_buffers() {
    // An echo server that holds no buffer while idle either.
    let e = mock(|mut s| async move {
        loop {
            let mut b = [0u8; 64];
            match s.read(&mut b).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s.write_all(&b[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    })
    .await;
    let r = start(simple(vec![server("e", e.addr)])).await;
    // Warm up allocator and runtime.
    let mut warm = Vec::new();
    for _ in 0..50 {
        let mut c = connect(r.addr).await;
        c.write_all(b"w").await.unwrap();
        read_n(&mut c, 1).await;
        warm.push(c);
    }
    drop(warm);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = rss_kib();
    let mut conns = Vec::new();
    for _ in 0..500 {
        let mut c = connect(r.addr).await;
        // Some traffic first, so both directions did allocate a buffer once.
        c.write_all(b"hello").await.unwrap();
        read_n(&mut c, 5).await;
        conns.push(c);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let per = (rss_kib().saturating_sub(before)) * 1024 / 500;
    eprintln!("{per} bytes per idle session (proxy, client and mock)");
    // Two 16 KiB buffers per session would be 32 KiB; idle sessions must hold none.
    assert!(
        per < 12 * 1024,
        "{per} bytes per idle session (proxy, client and mock)"
    );
    assert_eq!(r.engine.active_sessions(), 500);
}
