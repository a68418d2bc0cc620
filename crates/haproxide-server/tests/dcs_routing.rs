//! Routing that follows Patroni's leader key in a real etcd (the `patroni` block):
//! Patroni-like REST mocks for the checks, echo servers as the "databases", a real
//! etcd on loopback (skipped with a message when not installed), and haproxide's
//! runtime in between. The checks run every 3 s (`inter 3s fall 3 rise 2`, the
//! tutorial's), so anything faster than that comes from the DCS.
//!
//! Shows: a leader key change moves new sessions and cuts the old leader's at once
//! (well under one `inter`); the check stays the fence (a DCS naming a node whose
//! REST API says replica routes nothing there, sessions wait instead); etcd stopped:
//! routing on checks alone; started again: the watch resumes and follows.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use haproxide_config::{check_bytes, CheckOptions, Resolver, Target};
use haproxide_server::run::{self, EventSink};
use haproxide_testkit::etcd::Etcd;
use haproxide_testkit::http::{PatroniNode, Role};
use haproxide_testkit::tcp::{self, free_port};
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
    fn has(&self, needle: &str) -> bool {
        self.0
            .lock()
            .map(|v| v.iter().any(|(_, t)| t.contains(needle)))
            .unwrap_or(false)
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

/// Asks until `want` answers (bounded by `within`); when it did.
async fn until(port: u16, want: &str, within: Duration) -> Option<Instant> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ask(port).await.as_deref() == Some(want) {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

const P: &str = "/service/demo/";

/// The lab's two-node `listen primary` behind `patroni demo` (whose body is
/// `patroni`), checked, translated; `env` answers `${...}`.
fn plan(
    patroni: &str,
    port: u16,
    nodes: [(std::net::SocketAddr, u16); 2],
    env: &dyn haproxide_config::lexer::Env,
) -> haproxide_server::translate::Plan {
    let cfg = format!(
        ".if feature(HAPROXIDE)\npatroni demo\n{patroni} namespace /service\n scope demo\n.endif\n\
         defaults\n mode tcp\n retries 1\n timeout connect 1s\n timeout client 30s\n timeout server 30s\n timeout queue 1s\n\
         listen primary\n bind 127.0.0.1:{port}\n .if feature(HAPROXIDE)\n patroni-role demo leader\n .endif\n option httpchk\n http-check expect status 200\n\
         default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions\n\
         server node1 {} check port {}\n server node2 {} check port {}\n",
        nodes[0].0, nodes[0].1, nodes[1].0, nodes[1].1
    );
    let opts = CheckOptions {
        target: Target::V2_6,
        env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &haproxide_config::NoAccounts,
    };
    let checked = check_bytes("t.cfg", cfg.into_bytes(), &opts);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let (plan, errors) = haproxide_server::translate::translate(&checked.config);
    assert!(errors.is_empty(), "{errors:?}");
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_follows_the_leader_key_and_the_check_stays_the_fence() {
    let Some(mut etcd) = Etcd::start("routing") else {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    };
    etcd.put(&format!("{P}leader"), "node1");
    etcd.put(&format!("{P}members/node1"), "{}");
    etcd.put(&format!("{P}members/node2"), "{}");
    // Patroni clears its failover key by writing it empty: no switchover pending.
    etcd.put(&format!("{P}failover"), "");
    let (c1, c2) = (
        PatroniNode::start(Role::Primary).await,
        PatroniNode::start(Role::Replica).await,
    );
    let (n1, n2) = (
        tcp::echo_prefixed("node1").await,
        tcp::echo_prefixed("node2").await,
    );
    let port = free_port();
    let plan = plan(
        &format!(" etcd {}\n recheck 50ms\n", etcd.url()),
        port,
        [(n1.addr, c1.addr().port()), (n2.addr, c2.addr().port())],
        &|_: &str| None,
    );
    assert_eq!(plan.dcs.clusters.len(), 1);
    let events = Arc::new(Events::default());
    let running = run::start(plan, Arc::new(haproxide_forward::NoLog), events.clone())
        .await
        .expect("start");
    assert!(
        until(port, "node1", Duration::from_secs(8)).await.is_some(),
        "node1 (leader key, check 200) never answered"
    );
    // A live session on node1.
    let mut live = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    live.write_all(b"x").await.unwrap();
    let mut buf = [0u8; 64];
    let n = live.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"node1x");

    // Switchover: the REST APIs flip, then the leader key moves to node2.
    c1.set_role(Role::Replica);
    c2.set_role(Role::Primary);
    let t0 = Instant::now();
    etcd.put(&format!("{P}leader"), "node2");
    let r = tokio::time::timeout(Duration::from_secs(2), live.read(&mut buf))
        .await
        .expect("the old leader's session is cut within 2 s");
    assert!(matches!(r, Ok(0) | Err(_)), "got {r:?}");
    let cut = t0.elapsed();
    let at = until(port, "node2", Duration::from_secs(3))
        .await
        .expect("node2 answers within 3 s");
    // With checks alone: fall 3 x inter 3s for node1, rise 2 for node2 (>= 3 s).
    assert!(cut < Duration::from_millis(1000), "cut after {cut:?}");
    assert!(
        at - t0 < Duration::from_millis(1500),
        "node2 after {:?}",
        at - t0
    );
    for _ in 0..5 {
        assert_eq!(ask(port).await.as_deref(), Some("node2"));
    }
    assert!(events.has("[DCS] Server primary/node1 leaves rotation"));
    assert!(events.has("leader key node1 -> node2"));

    // A wrong DCS: the key says node1, whose REST API says replica. Nothing reaches
    // node1 (the check is the fence) and node2 is out: sessions wait, then end.
    etcd.put(&format!("{P}leader"), "node1");
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..3 {
        assert_eq!(ask(port).await, None, "nothing may answer");
    }

    // etcd stopped: checks alone (node2 passes its check) within a few seconds.
    etcd.stop();
    assert!(
        until(port, "node2", Duration::from_secs(6)).await.is_some(),
        "routing on checks alone while etcd is down"
    );
    assert!(events.has("routing on health checks alone"));
    // Changes made while the proxy was cut off are replayed when etcd is back.
    etcd.resume();
    etcd.put(&format!("{P}leader"), "node2");
    let deadline = Instant::now() + Duration::from_secs(6);
    while !events.has("again, resumed from revision") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(events.has("again, resumed from revision"));
    assert_eq!(ask(port).await.as_deref(), Some("node2"));
    running.stop(run::Stopped::Hard).await;
}

/// The `patroni` block against an etcd serving https with auth enabled (a CA made
/// in the test, users and roles made with etcdctl): `ca-file`, `user` and
/// `password "${ETCD_PASSWORD}"` reach the follower, which follows the leader key;
/// with a wrong password the proxy logs why and routes on checks alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_block_follows_an_etcd_with_tls_and_auth_and_logs_a_refusal() {
    let Some(etcd) = haproxide_testkit::etcd::Secured::start("routing-tls", P, "node1") else {
        eprintln!("skipped: no openssl, etcd or etcdctl (scripts/install-deps installs them)");
        return;
    };
    let (c1, c2) = (
        PatroniNode::start(Role::Primary).await,
        PatroniNode::start(Role::Replica).await,
    );
    let (n1, n2) = (
        tcp::echo_prefixed("node1").await,
        tcp::echo_prefixed("node2").await,
    );
    let nodes = [(n1.addr, c1.addr().port()), (n2.addr, c2.addr().port())];
    let start = |password: &'static str| {
        let port = free_port();
        let patroni = format!(
            " etcd {}\n ca-file {}\n user haproxide\n password \"${{ETCD_PASSWORD}}\"\n",
            etcd.etcd.url(),
            etcd.ca().display()
        );
        let env = move |name: &str| (name == "ETCD_PASSWORD").then(|| password.to_string());
        (port, plan(&patroni, port, nodes, &env))
    };

    // Starts the proxy; waits (bounded) for `node` to answer and for a log line.
    let run_until = |password: &'static str, node: &'static str, line: &'static str| {
        let (port, plan) = start(password);
        async move {
            let events = Arc::new(Events::default());
            let running = run::start(plan, Arc::new(haproxide_forward::NoLog), events.clone())
                .await
                .expect("start");
            assert!(
                until(port, node, Duration::from_secs(8)).await.is_some(),
                "{node} never answered"
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while !events.has(line) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (port, running, events)
        }
    };

    // The right password: connected over TLS, follows the key.
    let (port, running, events) = run_until("s3cret", "node1", "watching https://").await;
    assert!(events.has("[DCS] patroni demo: watching https://"));
    c1.set_role(Role::Replica);
    c2.set_role(Role::Primary);
    let t0 = Instant::now();
    etcd.root(&["put", &format!("{P}leader"), "node2"]);
    let at = until(port, "node2", Duration::from_secs(3))
        .await
        .expect("node2 answers within 3 s");
    // Checks alone would take rise 2 x inter 3s.
    assert!(
        at - t0 < Duration::from_millis(2500),
        "node2 after {:?}",
        at - t0
    );
    assert!(events.has("leader key node1 -> node2"));
    running.stop(run::Stopped::Hard).await;

    // A wrong password: refused, logged with the reason, routing on checks alone.
    let (_, running, events) = run_until("wrong", "node2", "cannot follow https://").await;
    assert!(
        events.has("[DCS] patroni demo: cannot follow https://")
            && events.has("authentication as user \"haproxide\" refused")
            && events.has("routing on health checks alone, retrying"),
        "{:?}",
        events.0.lock().map(|v| v.clone()).unwrap_or_default()
    );
    running.stop(run::Stopped::Hard).await;
}
