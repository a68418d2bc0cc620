//! The follower against a real etcd (the lab's etcd 3.4) on 127.0.0.1, random
//! ports, in a temporary directory; killed and removed when the test ends.
//! Skipped (with a message) when no `etcd` binary is installed.

use std::time::Duration;

use haproxide_dcs::follow::wait_view;
use haproxide_dcs::{ClusterSpec, DcsEvent, EtcdSpec, Follower};
use haproxide_testkit::etcd::Etcd;
use haproxide_testkit::tcp::free_port;

const PREFIX: &str = "/service/demo/";

fn spec(url: &str, backoff: Duration) -> ClusterSpec {
    let mut s = ClusterSpec::new(
        "demo",
        EtcdSpec {
            endpoints: vec![url.to_string()],
            timeout: Duration::from_secs(1),
            ..EtcdSpec::default()
        },
        "/service/",
        "demo",
    );
    s.backoff_min = backoff;
    s.backoff_max = backoff;
    s.probe_interval = Duration::from_millis(200);
    s
}

const WAIT: Duration = Duration::from_secs(30);

async fn next_leader_change(
    rx: &mut tokio::sync::broadcast::Receiver<DcsEvent>,
) -> (Option<String>, Option<String>) {
    let f = async {
        loop {
            if let Ok(DcsEvent::LeaderChanged { from, to, .. }) = rx.recv().await {
                return (from, to);
            }
        }
    };
    tokio::time::timeout(WAIT, f)
        .await
        .expect("a leader change within 10 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_the_leader_key_and_members() {
    let Some(etcd) = Etcd::start("follow") else {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    };
    etcd.put(&format!("{PREFIX}leader"), "node1");
    etcd.put(
        &format!("{PREFIX}members/node1"),
        r#"{"conn_url":"postgres://127.0.0.1:15432/postgres","role":"primary"}"#,
    );
    etcd.put("/service/other/leader", "elsewhere");
    let f = Follower::start(spec(&etcd.url(), Duration::from_millis(100))).unwrap();
    let mut view = f.view();
    let mut ev = f.subscribe();
    let v = wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("connected");
    assert_eq!(v.state.leader.as_deref(), Some("node1"));
    assert!(v.state.members.contains_key("node1"));
    assert_eq!(v.endpoint, etcd.url());
    let rev = etcd.put(&format!("{PREFIX}leader"), "node2");
    assert_eq!(
        next_leader_change(&mut ev).await,
        (Some("node1".into()), Some("node2".into()))
    );
    assert_eq!(view.borrow().revision, rev);
    etcd.delete(&format!("{PREFIX}leader"));
    assert_eq!(
        next_leader_change(&mut ev).await,
        (Some("node2".into()), None)
    );
    // Keys of another scope change nothing.
    etcd.put("/service/other/leader", "x");
    etcd.put(&format!("{PREFIX}leader"), "node3");
    assert_eq!(
        next_leader_change(&mut ev).await,
        (None, Some("node3".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_the_last_revision_after_etcd_restarts() {
    let Some(mut etcd) = Etcd::start("resume") else {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    };
    etcd.put(&format!("{PREFIX}leader"), "node1");
    // A long backoff: the changes below are made while the follower waits (etcd's
    // restart is bounded by 30 s in the testkit; under load it takes seconds).
    let f = Follower::start(spec(&etcd.url(), Duration::from_secs(12))).unwrap();
    let mut view = f.view();
    let mut ev = f.subscribe();
    // The first connection's event.
    while let Ok(Ok(e)) = tokio::time::timeout(WAIT, ev.recv()).await {
        if matches!(e, DcsEvent::Connected { .. }) {
            break;
        }
    }
    assert!(view.borrow().connected);
    etcd.stop();
    let v = wait_view(&mut view, WAIT, |v| !v.connected)
        .await
        .expect("disconnection noticed");
    assert!(v.last_error.is_some());
    // Kept for display while disconnected.
    assert_eq!(v.state.leader.as_deref(), Some("node1"));
    etcd.resume();
    // Two changes the follower must not miss even though the end state equals
    // the start's: node1 -> node2 -> node1.
    etcd.put(&format!("{PREFIX}leader"), "node2");
    let last = etcd.put(&format!("{PREFIX}leader"), "node1");
    let v = wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("reconnected");
    let mut seen = Vec::new();
    let mut resumed = None;
    // Up to the "connected" event (sent just after the view says so).
    while let Ok(Ok(e)) = tokio::time::timeout(WAIT, ev.recv()).await {
        match e {
            DcsEvent::LeaderChanged { from, to, .. } => seen.push((from, to)),
            DcsEvent::Connected { resumed_from, .. } => {
                resumed = resumed_from;
                break;
            }
            _ => {}
        }
    }
    // Changes are applied before "connected" is published.
    assert_eq!(
        seen,
        vec![
            (Some("node1".into()), Some("node2".into())),
            (Some("node2".into()), Some("node1".into()))
        ]
    );
    assert!(resumed.is_some(), "the watch resumed from a revision");
    assert_eq!(v.revision, last);
    assert_eq!(v.leader_changes, 2);
    assert!(v.reconnects >= 1);
    // And the resumed watch goes on: a switchover as Patroni writes it (failover
    // key, leader key deleted, the new leader's key, the failover key emptied).
    etcd.put(
        &format!("{PREFIX}failover"),
        r#"{"leader":"node1","member":"node3"}"#,
    );
    etcd.delete(&format!("{PREFIX}leader"));
    etcd.put(&format!("{PREFIX}leader"), "node3");
    etcd.put(&format!("{PREFIX}failover"), "");
    assert_eq!(
        next_leader_change(&mut ev).await,
        (Some("node1".into()), None)
    );
    assert_eq!(
        next_leader_change(&mut ev).await,
        (None, Some("node3".into()))
    );
    let v = wait_view(&mut view, WAIT, |v| v.state.switching.is_none())
        .await
        .expect("failover key emptied");
    assert_eq!(v.state.leader.as_deref(), Some("node3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_anew_when_the_revision_was_compacted() {
    let Some(mut etcd) = Etcd::start("compact") else {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    };
    etcd.put(&format!("{PREFIX}leader"), "node1");
    let f = Follower::start(spec(&etcd.url(), Duration::from_secs(12))).unwrap();
    let mut view = f.view();
    let mut ev = f.subscribe();
    wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("connected");
    etcd.stop();
    wait_view(&mut view, WAIT, |v| !v.connected)
        .await
        .expect("disconnection noticed");
    etcd.resume();
    etcd.put(&format!("{PREFIX}leader"), "node2");
    let last = etcd.put(&format!("{PREFIX}members/node2"), "{}");
    etcd.compact(last);
    let v = wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("reconnected");
    assert_eq!(v.state.leader.as_deref(), Some("node2"));
    assert!(v.state.members.contains_key("node2"));
    assert!(v.revision >= last);
    let mut changes = Vec::new();
    let mut resumed = Some(0);
    while let Ok(e) = ev.try_recv() {
        match e {
            DcsEvent::LeaderChanged { from, to, .. } => changes.push((from, to)),
            DcsEvent::Connected { resumed_from, .. } => resumed = resumed_from,
            _ => {}
        }
    }
    assert_eq!(changes, vec![(Some("node1".into()), Some("node2".into()))]);
    assert_eq!(resumed, None, "read anew, not resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_etcd_is_reported_not_fatal() {
    // A port nothing listens on: the follower keeps trying, the view says why.
    let port = free_port();
    let f = Follower::start(spec(
        &format!("http://127.0.0.1:{port}"),
        Duration::from_millis(50),
    ))
    .unwrap();
    let mut view = f.view();
    let v = wait_view(&mut view, WAIT, |v| v.reconnects >= 2)
        .await
        .expect("retries");
    assert!(!v.connected);
    assert!(v.last_error.is_some());
}
