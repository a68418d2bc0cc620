//! Health-driven routing over real sockets: a Patroni-like HTTP/1.0 check responder
//! that flips between 200 and 503, echo servers as the "databases", and haproxide's
//! runtime (checker + forwarder) in between.
//!
//! Shows: no routing before the first check passes; traffic follows the node whose
//! check answers 200; `on-marked-down shutdown-sessions` cuts a live session within
//! 100 ms of the DOWN transition.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use haproxide_config::{check_bytes, CheckOptions, Resolver, Target};
use haproxide_server::run::{self, EventSink};
use haproxide_testkit::http::{self as web, PatroniNode, Role};
use haproxide_testkit::tcp::{self, free_port, Mock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Default)]
struct Events(Mutex<Vec<(Instant, String)>>);

impl EventSink for Events {
    fn event(&self, _level: haproxide_log::Level, text: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push((Instant::now(), text.to_string()));
        }
    }
}

impl Events {
    fn find(&self, needle: &str) -> Option<Instant> {
        self.0
            .lock()
            .ok()?
            .iter()
            .find(|(_, t)| t.contains(needle))
            .map(|(i, _)| *i)
    }
}

async fn ask(port: u16) -> Option<String> {
    let mut s = tokio::time::timeout(
        Duration::from_secs(2),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .ok()?
    .ok()?;
    s.write_all(b"?").await.ok()?;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_millis(1500), s.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    (n > 0).then(|| {
        String::from_utf8_lossy(&buf[..n])
            .trim_end_matches('?')
            .to_string()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_follows_health_and_down_cuts_sessions() {
    // Patroni's REST API on each node: `OPTIONS /` answers 200 on the leader only.
    let (c1, c2) = (
        PatroniNode::start(Role::Primary).await,
        PatroniNode::start(Role::Replica).await,
    );
    // The "databases": echoes prefixed with their name.
    let (n1, n2) = (
        tcp::echo_prefixed("node1").await,
        tcp::echo_prefixed("node2").await,
    );
    let (d1, d2) = (n1.addr, n2.addr);
    let port = free_port();
    let cfg = format!(
        "defaults\n mode tcp\n retries 1\n timeout connect 300ms\n timeout client 30s\n timeout server 30s\n timeout queue 300ms\n\
         listen primary\n bind 127.0.0.1:{port}\n option httpchk\n http-check expect status 200\n\
         default-server inter 100ms fall 2 rise 1 on-marked-down shutdown-sessions\n\
         server node1 {d1} check port {}\n server node2 {d2} check port {}\n",
        c1.addr().port(),
        c2.addr().port()
    );
    let env = |_: &str| None;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &haproxide_config::NoAccounts,
    };
    let checked = check_bytes("t.cfg", cfg.into_bytes(), &opts);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let (plan, errors) = haproxide_server::translate::translate(&checked.config);
    assert!(errors.is_empty(), "{errors:?}");
    let events = Arc::new(Events::default());
    let running = run::start(plan, Arc::new(haproxide_forward::NoLog), events.clone())
        .await
        .expect("start");

    // Only node1 passes its check: every connection reaches it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut first = None;
    while Instant::now() < deadline {
        first = ask(port).await;
        if first.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(first.as_deref(), Some("node1"));
    for _ in 0..5 {
        assert_eq!(
            ask(port).await.as_deref(),
            Some("node1"),
            "node2 never passed a check: no traffic"
        );
    }

    // A live session on node1.
    let mut live = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    live.write_all(b"x").await.expect("write");
    let mut buf = [0u8; 64];
    let n = live.read(&mut buf).await.expect("read");
    assert_eq!(&buf[..n], b"node1x");

    // Failover: node2 becomes primary, node1 stops answering 200.
    c2.set_role(Role::Primary);
    c1.set_role(Role::Replica);
    let t0 = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), live.read(&mut buf))
        .await
        .expect("session cut within 5 s");
    let cut_at = Instant::now();
    assert!(
        matches!(r, Ok(0) | Err(_)),
        "the session to the demoted node must be cut, got {r:?}"
    );
    // The engine cuts as the transition happens; the DOWN line reaches the
    // event sink through the checker's channel, possibly just after.
    let deadline = Instant::now() + Duration::from_secs(2);
    while events.find("node1 is DOWN").is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let down_at = events
        .find("node1 is DOWN")
        .expect("a DOWN event was reported");
    let lag = cut_at.saturating_duration_since(down_at);
    assert!(down_at.saturating_duration_since(cut_at) <= Duration::from_millis(100));
    assert!(
        lag <= Duration::from_millis(100),
        "cut {lag:?} after the DOWN transition"
    );
    assert!(cut_at - t0 < Duration::from_secs(2));

    // New connections reach node2 only.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = None;
    while Instant::now() < deadline {
        got = ask(port).await;
        if got.as_deref() == Some("node2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got.as_deref(), Some("node2"));
    for _ in 0..5 {
        assert_eq!(ask(port).await.as_deref(), Some("node2"));
    }
    running.stop(run::Stopped::Hard).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_routing_before_the_first_check_passes() {
    // The check port never answers 200 at first: nothing must reach the server.
    let status = Arc::new(AtomicU16::new(503));
    let c = web::patroni(status.clone(), "").await;
    let node = tcp::echo_prefixed("node").await;
    let d = node.addr;
    let port = free_port();
    let cfg = format!(
        "defaults\n mode tcp\n timeout connect 200ms\n timeout client 5s\n timeout server 5s\n timeout queue 200ms\n\
         listen l\n bind 127.0.0.1:{port}\n option httpchk\n server node {d} check port {} inter 100ms\n",
        c.addr.port()
    );
    let env = |_: &str| None;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &haproxide_config::NoAccounts,
    };
    let checked = check_bytes("t.cfg", cfg.into_bytes(), &opts);
    let (plan, errors) = haproxide_server::translate::translate(&checked.config);
    assert!(errors.is_empty(), "{errors:?}");
    let running = run::start(
        plan,
        Arc::new(haproxide_forward::NoLog),
        Arc::new(Events::default()),
    )
    .await
    .expect("start");
    for _ in 0..3 {
        assert_eq!(ask(port).await, None, "routed before any check passed");
    }
    status.store(200, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = None;
    while Instant::now() < deadline && got.is_none() {
        got = ask(port).await;
    }
    assert_eq!(got.as_deref(), Some("node"));
    running.stop(run::Stopped::Hard).await;
}

/// Like a Patroni check responder (`HTTP/1.0 200 OK` or `503`, headerless), but
/// holds each answer until `open` is set: the check stays in flight, so the server
/// stays "awaiting its first check".
async fn gated_check(ok: Arc<AtomicBool>, open: Arc<AtomicBool>) -> Mock {
    tcp::serve(move |mut s| {
        let (ok, open) = (ok.clone(), open.clone());
        async move {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            while !open.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let reply: &[u8] = if ok.load(Ordering::SeqCst) {
                b"HTTP/1.0 200 OK\r\n\r\n"
            } else {
                b"HTTP/1.0 503 Service Unavailable\r\n\r\n"
            };
            let _ = s.write_all(reply).await;
        }
    })
    .await
}

/// A connection arriving before the first check concluded waits (bounded by `timeout
/// queue`) for it: served once the check passes, closed unserved when it fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_before_the_first_check_waits_for_its_result() {
    for passes in [true, false] {
        let ok = Arc::new(AtomicBool::new(passes));
        let open = Arc::new(AtomicBool::new(false));
        let c = gated_check(ok.clone(), open.clone()).await;
        let node = tcp::echo_prefixed("node").await;
        let d = node.addr;
        let port = free_port();
        let cfg = format!(
            "defaults\n mode tcp\n timeout connect 1s\n timeout client 5s\n timeout server 5s\n timeout queue 3s\n timeout check 5s\n\
             listen l\n bind 127.0.0.1:{port}\n option httpchk\n server node {d} check port {} inter 100ms\n",
            c.addr.port()
        );
        let env = |_: &str| None;
        let opts = CheckOptions {
            target: Target::LATEST,
            env: &env,
            ignore_resolution_failures: false,
            resolver: Resolver::Off,
            check_files: false,
            accounts: &haproxide_config::NoAccounts,
        };
        let checked = check_bytes("t.cfg", cfg.into_bytes(), &opts);
        let (plan, errors) = haproxide_server::translate::translate(&checked.config);
        assert!(errors.is_empty(), "{errors:?}");
        let running = run::start(
            plan,
            Arc::new(haproxide_forward::NoLog),
            Arc::new(Events::default()),
        )
        .await
        .expect("start");
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        s.write_all(b"?").await.expect("write");
        let t0 = Instant::now();
        let opener = {
            let open = open.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(600)).await;
                open.store(true, Ordering::SeqCst);
            })
        };
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("an answer or a close within 5 s");
        let waited = t0.elapsed();
        let _ = opener.await;
        if passes {
            assert_eq!(
                r.ok().map(|n| buf[..n].to_vec()).as_deref(),
                Some(&b"node?"[..]),
                "held, then served once the first check passed"
            );
            assert!(
                waited >= Duration::from_millis(500),
                "served after {waited:?}: before the check concluded?"
            );
            assert!(
                waited < Duration::from_secs(3),
                "served only at the queue timeout ({waited:?})"
            );
        } else {
            assert!(
                matches!(r, Ok(0) | Err(_)),
                "the first check failed: nothing may be served, got {r:?}"
            );
        }
        running.stop(run::Stopped::Hard).await;
    }
}

/// `on-marked-down shutdown-sessions` is not lost in a burst: thousands of
/// transitions of another server, more events than the checker's subscriber
/// channel holds (4096), come around the DOWN of the server a session is on,
/// on a single-threaded runtime so that nothing reads the channel meanwhile.
/// The session is still cut.
#[tokio::test(flavor = "current_thread")]
async fn a_burst_of_transitions_still_cuts_sessions() {
    use haproxide_admin::cli::{AdminState, HealthOp, ServerAction};
    let node = tcp::echo_prefixed("node").await;
    let other = tcp::echo_prefixed("other").await;
    let port = free_port();
    let cfg = format!(
        "defaults\n mode tcp\n timeout connect 1s\n timeout client 30s\n timeout server 30s\n\
         listen l\n bind 127.0.0.1:{port}\n balance first\n\
         server node {} on-marked-down shutdown-sessions\n server flap {}\n",
        node.addr, other.addr
    );
    let env = |_: &str| None;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &haproxide_config::NoAccounts,
    };
    let checked = check_bytes("t.cfg", cfg.into_bytes(), &opts);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let (plan, errors) = haproxide_server::translate::translate(&checked.config);
    assert!(errors.is_empty(), "{errors:?}");
    let running = run::start(
        plan,
        Arc::new(haproxide_forward::NoLog),
        Arc::new(Events::default()),
    )
    .await
    .expect("start");
    let state = running.runtime_state();
    let mut live = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    live.write_all(b"x").await.expect("write");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), live.read(&mut buf))
        .await
        .expect("echo within 5 s")
        .expect("read");
    assert_eq!(&buf[..n], b"nodex");
    // No await from here to the read: the runtime runs nothing else.
    let flap = |times: usize| {
        for _ in 0..times {
            for a in [AdminState::Maint, AdminState::Ready] {
                state
                    .server_action("l", "flap", ServerAction::Admin(a))
                    .expect("flap");
            }
        }
    };
    flap(3000);
    state
        .server_action("l", "node", ServerAction::Health(HealthOp::Down))
        .expect("node down");
    flap(3000);
    let r = tokio::time::timeout(Duration::from_secs(5), live.read(&mut buf))
        .await
        .expect("session cut within 5 s");
    assert!(
        matches!(r, Ok(0) | Err(_)),
        "the session on the DOWN server must be cut, got {r:?}"
    );
    running.stop(run::Stopped::Hard).await;
}
