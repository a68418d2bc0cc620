//! Data phase: half-close both ways, who closes first, timeouts, counters, logs.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn echo_roundtrip_counts_bytes_and_logs_normal_close() {
    let e = echo().await;
    let r = start(simple(vec![server("s1", e.addr)])).await;
    let mut c = connect(r.addr).await;
    c.write_all(b"hello world").await.unwrap();
    assert_eq!(read_n(&mut c, 11).await, b"hello world");
    c.shutdown().await.unwrap();
    let (rest, clean) = read_to_eof(&mut c, WAIT).await;
    assert!(rest.is_empty() && clean);
    let recs = r.log.wait(1).await;
    let rec = &recs[0];
    assert_eq!(term(rec), "--");
    assert_eq!(rec.bytes_uploaded, 11);
    assert_eq!(rec.bytes_read, 11);
    assert_eq!(rec.frontend, "fe");
    assert_eq!(rec.backend.as_deref(), Some("be"));
    assert_eq!(rec.server.as_deref(), Some("s1"));
    assert_eq!(rec.tw, 0);
    assert!(rec.tc >= 0 && rec.tt >= rec.tc);
    assert_eq!(rec.retries, 0);
    assert_eq!(r.engine.server_counters(0, 0).total, 1);
}

#[tokio::test]
async fn client_half_close_propagates_and_server_can_still_answer() {
    // The server reads until EOF, then answers and closes.
    let m = mock(|mut s| async move {
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all).await;
        let _ = s
            .write_all(format!("got {} bytes", all.len()).as_bytes())
            .await;
    })
    .await;
    let r = start(simple(vec![server("s1", m.addr)])).await;
    let mut c = connect(r.addr).await;
    c.write_all(&[7u8; 100_000]).await.unwrap();
    c.shutdown().await.unwrap();
    let (got, clean) = read_to_eof(&mut c, WAIT).await;
    assert_eq!(got, b"got 100000 bytes");
    assert!(clean);
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "--");
    assert_eq!(rec.bytes_uploaded, 100_000);
}

#[tokio::test]
async fn server_half_close_propagates_and_client_can_still_send() {
    // The server says bye, shuts its write side, then reads the client until EOF and
    // reports what it got through a channel.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let m = mock(move |mut s| {
        let tx = tx.clone();
        async move {
            let _ = s.write_all(b"bye").await;
            let _ = s.shutdown().await;
            let mut all = Vec::new();
            let _ = s.read_to_end(&mut all).await;
            let _ = tx.send(all);
        }
    })
    .await;
    let r = start(simple(vec![server("s1", m.addr)])).await;
    let mut c = connect(r.addr).await;
    let (got, clean) = read_to_eof(&mut c, WAIT).await;
    assert_eq!(got, b"bye");
    assert!(clean, "client sees a clean FIN");
    // The other direction still works after the server's FIN.
    c.write_all(b"still here").await.unwrap();
    c.shutdown().await.unwrap();
    let all = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all, b"still here");
    assert_eq!(term(&r.log.wait(1).await[0]), "--");
}

#[tokio::test]
async fn server_closes_first() {
    let m = mock(|mut s| async move {
        let _ = s.write_all(b"hello").await;
    })
    .await;
    let r = start(simple(vec![server("s1", m.addr)])).await;
    let mut c = connect(r.addr).await;
    let (got, _) = read_to_eof(&mut c, WAIT).await;
    assert_eq!(got, b"hello");
    drop(c);
    let rec = &r.log.wait(1).await[0];
    assert_eq!(rec.bytes_read, 5);
    assert_eq!(term(rec), "--");
}

#[tokio::test]
async fn client_closes_first_server_sees_eof() {
    let (m, mut rx) = recorder().await;
    let r = start(simple(vec![server("s1", m.addr)])).await;
    let mut c = connect(r.addr).await;
    c.write_all(b"abc").await.unwrap();
    drop(c);
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"abc");
    assert_eq!(term(&r.log.wait(1).await[0]), "--");
}

#[tokio::test]
async fn server_reset_mid_stream_is_sd_and_client_is_closed() {
    let m = mock(|s| async move {
        set_rst_on_close(&s);
        let mut s = s;
        let _ = s.write_all(b"partial").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(s); // RST because of linger 0
    })
    .await;
    let r = start(simple(vec![server("s1", m.addr)])).await;
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "SD");
}

#[tokio::test]
async fn client_reset_is_cd() {
    let e = echo().await;
    let r = start(simple(vec![server("s1", e.addr)])).await;
    let c = connect(r.addr).await;
    let mut c = c;
    c.write_all(b"x").await.unwrap();
    read_n(&mut c, 1).await;
    set_rst_on_close(&c);
    drop(c);
    assert_eq!(term(&r.log.wait(1).await[0]), "CD");
}

#[tokio::test]
async fn timeout_client_cuts_idle_session_cd() {
    let s = silent().await;
    let mut spec = simple(vec![server("s1", s.addr)]);
    spec.frontends[0].timeout_client = Some(Duration::from_millis(200));
    let r = start(spec).await;
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(180) && el < Duration::from_secs(2),
        "{el:?}"
    );
    assert_eq!(term(&r.log.wait(1).await[0]), "cD");
}

#[tokio::test]
async fn timeout_server_cuts_idle_session_sd() {
    let s = silent().await;
    let mut spec = simple(vec![server("s1", s.addr)]);
    spec.backends[0].timeout_server = Some(Duration::from_millis(200));
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    assert_eq!(term(&r.log.wait(1).await[0]), "sD");
}

#[tokio::test]
async fn activity_keeps_session_alive_past_timeouts() {
    let e = echo().await;
    let mut spec = simple(vec![server("s1", e.addr)]);
    spec.frontends[0].timeout_client = Some(Duration::from_millis(150));
    spec.backends[0].timeout_server = Some(Duration::from_millis(150));
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        c.write_all(b"ping").await.unwrap();
        assert_eq!(read_n(&mut c, 4).await, b"ping");
    }
    assert_eq!(
        r.log.len(),
        0,
        "still alive after 480 ms of regular traffic"
    );
}

#[tokio::test]
async fn timeout_tunnel_replaces_client_and_server_timeouts() {
    let s = silent().await;
    let mut spec = simple(vec![server("s1", s.addr)]);
    spec.frontends[0].timeout_client = Some(Duration::from_millis(100));
    spec.backends[0].timeout_server = Some(Duration::from_millis(100));
    spec.backends[0].timeout_tunnel = Some(Duration::from_millis(400));
    let r = start(spec).await;
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(380),
        "tunnel timeout used, not client/server: {el:?}"
    );
    let rec = &r.log.wait(1).await[0];
    assert_eq!(&rec.termination[1..], b"D");
}

#[tokio::test]
async fn timeout_client_fin_applies_after_half_close() {
    // The server half-closes at once and then stays silent; the client never closes.
    let m = mock(|mut s| async move {
        let _ = s.shutdown().await;
        tokio::time::sleep(Duration::from_secs(20)).await;
    })
    .await;
    let mut spec = simple(vec![server("s1", m.addr)]);
    spec.frontends[0].timeout_client = Some(Duration::from_secs(10));
    spec.frontends[0].timeout_client_fin = Some(Duration::from_millis(200));
    let r = start(spec).await;
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    // First EOF is the propagated FIN; the session ends with client-fin.
    let (_, _) = read_to_eof(&mut c, WAIT).await;
    let rec = &r.log.wait(1).await[0];
    let el = t.elapsed();
    assert!(
        el < Duration::from_secs(3),
        "client-fin, not client timeout: {el:?}"
    );
    assert_eq!(term(rec), "cD");
}

#[tokio::test]
async fn timeout_server_fin_applies_after_half_close() {
    // The client half-closes; the server never answers nor closes.
    let s = silent().await;
    let mut spec = simple(vec![server("s1", s.addr)]);
    spec.backends[0].timeout_server = Some(Duration::from_secs(10));
    spec.backends[0].timeout_server_fin = Some(Duration::from_millis(200));
    let r = start(spec).await;
    let t = Instant::now();
    let mut c = connect(r.addr).await;
    c.shutdown().await.unwrap();
    assert!(closed_within(&mut c, WAIT).await);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(term(&r.log.wait(1).await[0]), "sD");
}

#[tokio::test]
async fn dontlognull_skips_sessions_without_client_data() {
    let e = echo().await;
    let mut spec = simple(vec![server("s1", e.addr)]);
    spec.frontends[0].dont_log_null = true;
    let r = start(spec).await;
    let c = connect(r.addr).await;
    drop(c);
    let mut c = connect(r.addr).await;
    c.write_all(b"x").await.unwrap();
    read_n(&mut c, 1).await;
    drop(c);
    let recs = r.log.wait(1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(r.log.len(), 1, "the null session is not logged");
    assert_eq!(recs[0].bytes_uploaded, 1);
}

#[tokio::test]
async fn large_transfer_with_bounded_buffers_is_exact() {
    // 32 MB through the proxy both ways; compares a checksum.
    let e = echo().await;
    let r = start(simple(vec![server("s1", e.addr)])).await;
    let c = connect(r.addr).await;
    let (mut rd, mut wr) = c.into_split();
    const N: usize = 32 << 20;
    let writer = tokio::spawn(async move {
        let mut x: u32 = 1;
        let mut buf = vec![0u8; 65536];
        let mut sum: u64 = 0;
        let mut sent = 0;
        while sent < N {
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
                sum = sum.wrapping_mul(31).wrapping_add(*b as u64);
            }
            wr.write_all(&buf).await.unwrap();
            sent += buf.len();
        }
        wr.shutdown().await.unwrap();
        sum
    });
    let mut got = 0usize;
    let mut sum: u64 = 0;
    let mut buf = vec![0u8; 65536];
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let n = rd.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            for b in &buf[..n] {
                sum = sum.wrapping_mul(31).wrapping_add(*b as u64);
            }
            got += n;
        }
    })
    .await
    .unwrap();
    assert_eq!(got, N);
    assert_eq!(sum, writer.await.unwrap());
    let rec = &r.log.wait(1).await[0];
    assert_eq!(rec.bytes_uploaded, N as u64);
    assert_eq!(rec.bytes_read, N as u64);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_by_timeout_client() {
    // The server streams without end; the client never reads. Once the socket buffers
    // are full nothing moves on the client side: `timeout client` fires (cD) even
    // though the server side was busy, and the proxy holds at most its buffers.
    let m = mock(|mut s| async move {
        let chunk = vec![b'z'; 65536];
        while s.write_all(&chunk).await.is_ok() {}
    })
    .await;
    let mut spec = simple(vec![server("s1", m.addr)]);
    spec.frontends[0].timeout_client = Some(Duration::from_millis(400));
    // Shorter, but the server side is only waiting for room in the buffer: not armed.
    spec.backends[0].timeout_server = Some(Duration::from_millis(150));
    let r = start(spec).await;
    let c = connect(r.addr).await;
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "cD");
    assert!(rec.bytes_read > 0);
    drop(c);
}

#[tokio::test]
async fn a_server_that_stops_reading_is_cut_by_timeout_server() {
    let s = silent().await;
    let mut spec = simple(vec![server("s1", s.addr)]);
    spec.backends[0].timeout_server = Some(Duration::from_millis(300));
    spec.frontends[0].timeout_client = Some(Duration::from_secs(10));
    let r = start(spec).await;
    let c = connect(r.addr).await;
    let (_rd, mut wr) = c.into_split();
    // Upload until the proxy stops taking data (the server does not read).
    let up = tokio::spawn(async move {
        let chunk = vec![b'u'; 65536];
        while wr.write_all(&chunk).await.is_ok() {}
    });
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "sD");
    up.abort();
}

#[tokio::test]
async fn a_slow_server_trickling_data_stays_within_timeout_server() {
    let m = mock(|mut s| async move {
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(80)).await;
            if s.write_all(b".").await.is_err() {
                return;
            }
        }
    })
    .await;
    let mut spec = simple(vec![server("s1", m.addr)]);
    spec.backends[0].timeout_server = Some(Duration::from_millis(200));
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    let (got, clean) = read_to_eof(&mut c, WAIT).await;
    assert_eq!(got, b"......");
    assert!(clean);
    // The server is done; the session waits for the client (no server timeout now).
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        r.log.len(),
        0,
        "a closed server with nothing to receive does not time out"
    );
    drop(c);
    assert_eq!(term(&r.log.wait(1).await[0]), "--");
}
