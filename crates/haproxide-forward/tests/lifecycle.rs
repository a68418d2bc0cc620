//! Session registry and stops; listener kinds (reuseport, UNIX, fd@, v6only).

mod common;

use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use haproxide_forward::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn roundtrip(c: &mut tokio::net::TcpStream) {
    c.write_all(b"ping").await.unwrap();
    assert_eq!(read_n(c, 4).await, b"ping");
}

#[tokio::test]
async fn shutdown_server_sessions_cuts_live_sessions_within_100ms() {
    let e0 = echo().await;
    let e1 = echo().await;
    let r = start(simple(vec![server("s0", e0.addr), server("s1", e1.addr)])).await;
    // One at a time: sessions take servers in the order they start, and with several
    // engine threads connections waiting together may be accepted in another order.
    let mut a = connect(r.addr).await; // s0
    roundtrip(&mut a).await;
    let mut b = connect(r.addr).await; // s1
    roundtrip(&mut b).await;
    let mut a2 = connect(r.addr).await; // s0
    roundtrip(&mut a2).await;
    assert_eq!(r.engine.server_counters(0, 0).current, 2);
    let t = Instant::now();
    r.health.set(0, 0, false);
    assert_eq!(r.engine.shutdown_server_sessions(0, 0), 2);
    assert!(
        closed_within(&mut a, Duration::from_millis(100)).await,
        "cut within 100 ms"
    );
    assert!(closed_within(&mut a2, Duration::from_millis(100)).await);
    assert!(t.elapsed() < Duration::from_millis(150));
    roundtrip(&mut b).await; // the other server's session is untouched
    let recs = r.log.wait(2).await;
    // §8.5: `D` = killed because the server was marked down, in the data phase.
    assert!(
        recs.iter()
            .all(|x| term(x) == "DD" && x.server.as_deref() == Some("s0")),
        "{recs:?}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(r.engine.server_counters(0, 0).current, 0);
    // New sessions avoid the DOWN server.
    let mut c = connect(r.addr).await;
    roundtrip(&mut c).await;
    assert_eq!(r.engine.server_counters(0, 1).current, 2);
}

#[tokio::test]
async fn shutdown_backup_sessions_cuts_only_backups() {
    let e0 = echo().await;
    let eb = echo().await;
    let mut bk = server("b0", eb.addr);
    bk.backup = true;
    let r = start(simple(vec![server("s0", e0.addr), bk])).await;
    r.health.set(0, 0, false);
    let mut on_backup = connect(r.addr).await;
    roundtrip(&mut on_backup).await;
    r.health.set(0, 0, true);
    let mut on_active = connect(r.addr).await;
    roundtrip(&mut on_active).await;
    assert_eq!(r.engine.shutdown_backup_sessions(0), 1);
    assert!(closed_within(&mut on_backup, Duration::from_millis(100)).await);
    roundtrip(&mut on_active).await;
    assert_eq!(term(&r.log.wait(1).await[0]), "UD");
    // An admin's kill is `K`.
    assert_eq!(r.engine.kill_server_sessions(0, 0), 1);
    assert!(closed_within(&mut on_active, Duration::from_millis(100)).await);
    assert_eq!(term(&r.log.wait(2).await[1]), "KD");
}

#[tokio::test]
async fn soft_stop_closes_listeners_and_lets_sessions_finish() {
    let e = echo().await;
    let r = start(simple(vec![server("s0", e.addr)])).await;
    let mut c = connect(r.addr).await;
    roundtrip(&mut c).await;
    let engine = Arc::new(r.engine);
    let eng = engine.clone();
    let stop = tokio::spawn(async move { eng.soft_stop(None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(r.addr).await.is_err(),
        "listener closed"
    );
    roundtrip(&mut c).await; // still served
    assert!(!stop.is_finished(), "waits for the session");
    c.shutdown().await.unwrap();
    let _ = read_to_eof(&mut c, WAIT).await;
    tokio::time::timeout(WAIT, stop)
        .await
        .expect("soft stop ends")
        .unwrap();
    assert_eq!(term(&r.log.wait(1).await[0]), "--");
}

#[tokio::test]
async fn soft_stop_hard_stops_after_the_deadline() {
    let e = echo().await;
    let r = start(simple(vec![server("s0", e.addr)])).await;
    let mut c = connect(r.addr).await;
    roundtrip(&mut c).await;
    let t = Instant::now();
    tokio::time::timeout(WAIT, r.engine.soft_stop(Some(Duration::from_millis(200))))
        .await
        .unwrap();
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(190) && el < Duration::from_secs(2),
        "{el:?}"
    );
    assert!(closed_within(&mut c, Duration::from_millis(100)).await);
    assert_eq!(term(&r.log.wait(1).await[0]), "KD");
    assert_eq!(r.engine.active_sessions(), 0);
}

#[tokio::test]
async fn hard_stop_and_drop_cut_everything() {
    let e = echo().await;
    let r = start(simple(vec![server("s0", e.addr)])).await;
    let mut c = connect(r.addr).await;
    roundtrip(&mut c).await;
    r.engine.hard_stop();
    assert!(closed_within(&mut c, Duration::from_millis(100)).await);
    assert!(tokio::net::TcpStream::connect(r.addr).await.is_err());

    let r = start(simple(vec![server("s0", e.addr)])).await;
    let mut c = connect(r.addr).await;
    roundtrip(&mut c).await;
    drop(r.engine);
    assert!(closed_within(&mut c, Duration::from_millis(100)).await);
}

#[tokio::test]
async fn two_engines_share_a_port_with_reuseport() {
    let e = echo().await;
    let r1 = start(simple(vec![server("s0", e.addr)])).await;
    let mut spec = simple(vec![server("s0", e.addr)]);
    spec.frontends[0].binds = vec![bind_tcp(&r1.addr.to_string())];
    let r2 = start(spec).await;
    assert_eq!(r2.addr, r1.addr);
    // Stop the first: the second keeps serving the same address.
    r1.engine.hard_stop();
    for _ in 0..5 {
        let mut c = connect(r1.addr).await;
        roundtrip(&mut c).await;
    }
    assert!(r2.engine.frontend_counters(0).total >= 5);
}

#[tokio::test]
async fn unix_socket_listener() {
    let e = echo().await;
    let dir = haproxide_testkit::fs::TempDir::new("fwd");
    let path = dir.path("fe.sock");
    let mut spec = simple(vec![server("s0", e.addr)]);
    spec.frontends[0].binds[0].addr = ListenAddr::Unix(path.clone());
    let log = Arc::new(Capture::default());
    let engine = Engine::start(spec, Arc::new(AlwaysUp), log.clone())
        .await
        .unwrap();
    assert!(engine.local_addrs().is_empty());
    let mut c = tokio::time::timeout(WAIT, tokio::net::UnixStream::connect(&path))
        .await
        .unwrap()
        .unwrap();
    c.write_all(b"over unix").await.unwrap();
    let mut b = [0u8; 9];
    tokio::time::timeout(WAIT, c.read_exact(&mut b))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&b, b"over unix");
    drop(c);
    let rec = &log.wait(1).await[0];
    assert_eq!(rec.frontend_addr, None);
    drop(engine);
}

#[tokio::test]
async fn inherited_fd_listener_and_bad_fds() {
    let e = echo().await;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let fd = l.into_raw_fd();
    let mut spec = simple(vec![server("s0", e.addr)]);
    spec.frontends[0].binds[0].addr = ListenAddr::Fd(fd);
    let r = start(spec).await;
    assert_eq!(r.addr, addr);
    let mut c = connect(addr).await;
    roundtrip(&mut c).await;

    // Not a listening socket: refused, and the descriptor is left open.
    let f = std::fs::File::open("/proc/self/status").unwrap();
    let mut spec = simple(vec![server("s0", e.addr)]);
    spec.frontends[0].binds[0].addr = ListenAddr::Fd(f.as_raw_fd());
    let err = Engine::start(spec, Arc::new(AlwaysUp), Arc::new(NoLog))
        .await
        .err()
        .expect("error");
    assert!(err.to_string().contains("fd@"), "{err}");
    assert!(f.metadata().is_ok(), "still open");
    drop(f);
    for bad in [1, 987_654] {
        let mut spec = simple(vec![server("s0", e.addr)]);
        spec.frontends[0].binds[0].addr = ListenAddr::Fd(bad);
        assert!(Engine::start(spec, Arc::new(AlwaysUp), Arc::new(NoLog))
            .await
            .is_err());
    }
}

#[tokio::test]
async fn v6only_controls_ipv4_on_the_any_address() {
    let e = echo().await;
    for v6only in [false, true] {
        let mut spec = simple(vec![server("s0", e.addr)]);
        let mut b = bind_tcp("[::]:0");
        b.v6only = v6only;
        spec.frontends[0].binds = vec![b];
        let r = start(spec).await;
        let v4 = std::net::SocketAddr::from(([127, 0, 0, 1], r.addr.port()));
        let res = tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(v4))
            .await
            .unwrap();
        assert_eq!(res.is_ok(), !v6only, "v6only={v6only}");
        if let Ok(mut c) = res {
            roundtrip(&mut c).await;
        }
    }
}

#[tokio::test]
async fn bind_conflict_is_a_clear_start_error() {
    let e = echo().await;
    // A listener without SO_REUSEPORT blocks us.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut spec = simple(vec![server("s0", e.addr)]);
    spec.frontends[0].binds = vec![bind_tcp(&l.local_addr().unwrap().to_string())];
    let err = Engine::start(spec, Arc::new(AlwaysUp), Arc::new(NoLog))
        .await
        .err()
        .expect("error");
    assert!(matches!(err, StartError::Bind { .. }), "{err}");
    assert!(err.to_string().contains("frontend 'fe'"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_fds_hand_over_without_losing_a_connection() {
    let e = echo().await;
    let r1 = start(simple(vec![server("s0", e.addr)])).await;
    let addr = r1.addr;
    // Clients connect in a tight loop during the whole handover.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let st = stop.clone();
    let clients = tokio::spawn(async move {
        let (mut ok, mut failed) = (0u32, 0u32);
        while !st.load(std::sync::atomic::Ordering::Relaxed) {
            let r = async {
                let mut c = tokio::net::TcpStream::connect(addr).await?;
                c.write_all(b"ping").await?;
                let mut b = [0u8; 4];
                c.read_exact(&mut b).await?;
                Ok::<_, std::io::Error>(())
            };
            match tokio::time::timeout(WAIT, r).await {
                Ok(Ok(())) => ok += 1,
                _ => failed += 1,
            }
        }
        (ok, failed)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The "new process": the same socket, passed as fd@N.
    let fds = r1.engine.listening_fds();
    assert_eq!(fds.len(), 1);
    // SAFETY: dup() of a descriptor the engine keeps open; the copy is ours.
    let dup = unsafe { libc::dup(fds[0].2) };
    assert!(dup > 2);
    let mut spec = simple(vec![server("s0", e.addr)]);
    spec.frontends[0].binds[0].addr = ListenAddr::Fd(dup);
    let r2 = start(spec).await;
    assert_eq!(r2.addr, addr);
    tokio::time::sleep(Duration::from_millis(100)).await;
    r1.engine.release_listeners();
    tokio::time::timeout(WAIT, r1.engine.soft_stop(None))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = clients.await.unwrap();
    assert_eq!(failed, 0, "{ok} ok");
    assert!(ok > 20);
    assert!(
        r2.engine.frontend_counters(0).total > 0,
        "the new engine took over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sessions_cuts_hundreds_of_sessions_within_100ms() {
    let e = echo().await;
    let r = start(simple(vec![server("s0", e.addr)])).await;
    let mut conns = Vec::new();
    for _ in 0..300 {
        let mut c = connect(r.addr).await;
        roundtrip(&mut c).await;
        conns.push(c);
    }
    let t = Instant::now();
    assert_eq!(r.engine.shutdown_server_sessions(0, 0), 300);
    let mut set = tokio::task::JoinSet::new();
    for mut c in conns {
        set.spawn(async move { closed_within(&mut c, Duration::from_millis(100)).await });
    }
    while let Some(res) = set.join_next().await {
        assert!(res.unwrap(), "closed within 100 ms");
    }
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    r.log.wait(300).await;
    assert_eq!(r.engine.server_counters(0, 0).current, 0);
}
