//! The promotion fence against a real etcd and a scripted Patroni REST API: a
//! new leader whose member key does not say "primary" yet is `Promoting` until its
//! REST API's status document says PostgreSQL left recovery (role primary with a
//! WAL location); the URL from the DCS is guarded (scheme, redirects, size).
//! Skipped (with a message) when no `etcd` binary is installed.

use std::time::Duration;

use haproxide_dcs::follow::wait_view;
use haproxide_dcs::{ClusterSpec, DcsEvent, EtcdSpec, Follower, MemberMatch, Role, Verdict};
use haproxide_testkit::etcd::Etcd;
use haproxide_testkit::http::{answer, Responder};

const PREFIX: &str = "/service/demo/";
const WAIT: Duration = Duration::from_secs(30);
const REPLICA: &str = r#"{"state":"running","role":"replica","timeline":1,"xlog":{"received_location":10,"replayed_location":10,"paused":false}}"#;
const PRIMARY: &str = r#"{"state":"running","role":"primary","timeline":2,"xlog":{"location":20}}"#;

fn spec(url: &str) -> ClusterSpec {
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
    s.probe_interval = Duration::from_millis(200);
    s
}

fn member(api_url: &str, role: &str) -> String {
    format!(
        r#"{{"conn_url":"postgres://127.0.0.1:15433/postgres","api_url":"{api_url}","role":"{role}","state":"running"}}"#
    )
}

fn node2_verdict(v: &haproxide_dcs::DcsView) -> Verdict {
    let addr = "127.0.0.1:15433".parse().unwrap();
    v.verdict(Role::Leader, MemberMatch::Name, "node2", addr)
}

/// node1 leads, node2's member key (REST API at `api_url`) says replica; a
/// follower connects, then node2 takes the key. The follower, its view, and its
/// events from before the change.
async fn node2_takes_the_key(
    etcd: &Etcd,
    api_url: &str,
) -> (
    Follower,
    tokio::sync::watch::Receiver<haproxide_dcs::DcsView>,
    tokio::sync::broadcast::Receiver<DcsEvent>,
) {
    etcd.put(&format!("{PREFIX}leader"), "node1");
    etcd.put(
        &format!("{PREFIX}members/node2"),
        &member(api_url, "replica"),
    );
    let f = Follower::start(spec(&etcd.url())).unwrap();
    let mut view = f.view();
    let ev = f.subscribe();
    wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("connected");
    assert_eq!(node2_verdict(&view.borrow()), Verdict::Out);
    etcd.put(&format!("{PREFIX}leader"), "node2");
    wait_view(&mut view, WAIT, |v| {
        v.state.leader.as_deref() == Some("node2")
    })
    .await
    .expect("leader node2");
    (f, view, ev)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_is_eligible_once_its_rest_api_says_it_left_recovery() {
    let Some(etcd) = Etcd::start("promotion") else {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    };
    let api = Responder::new()
        .status("/patroni", 200, REPLICA)
        .start()
        .await;
    let url = format!("http://{}/patroni", api.addr());
    // node2 takes the key; its REST API still says replica (promotion running).
    let (_f, mut view, mut ev) = node2_takes_the_key(&etcd, &url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = view.borrow().clone();
    assert_eq!(node2_verdict(&v), Verdict::Promoting, "{v:?}");
    assert_eq!(v.promoted, None);
    let polls_before = api.mock.accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(polls_before >= 3, "polled every 50 ms: {polls_before}");
    // The promotion ends: the next poll sees it.
    api.set_status("/patroni", 200, PRIMARY);
    let v = wait_view(&mut view, Duration::from_secs(2), |v| {
        v.promoted.as_deref() == Some("node2")
    })
    .await
    .expect("promotion observed within 2 s");
    assert_eq!(node2_verdict(&v), Verdict::Eligible);
    let promoted = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(DcsEvent::Promoted { member, polls, .. }) = ev.recv().await {
                return (member, polls);
            }
        }
    })
    .await
    .expect("a Promoted event");
    assert_eq!(promoted.0, "node2");
    // Polling stopped.
    let n = api.mock.accepted.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(api.mock.accepted.load(std::sync::atomic::Ordering::SeqCst) <= n + 1);
    // Another leader change forgets it: node1 back, then node2 again is promoting
    // until observed anew.
    api.set_status("/patroni", 200, REPLICA);
    etcd.put(&format!("{PREFIX}leader"), "node1");
    wait_view(&mut view, WAIT, |v| {
        v.state.leader.as_deref() == Some("node1")
    })
    .await
    .expect("leader node1");
    assert_eq!(view.borrow().promoted, None);
    etcd.put(&format!("{PREFIX}leader"), "node2");
    wait_view(&mut view, WAIT, |v| {
        v.state.leader.as_deref() == Some("node2")
    })
    .await
    .expect("leader node2 again");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(node2_verdict(&view.borrow()), Verdict::Promoting);
    // The member key saying primary is the other way to learn it.
    etcd.put(&format!("{PREFIX}members/node2"), &member(&url, "primary"));
    wait_view(&mut view, WAIT, |v| node2_verdict(v) == Verdict::Eligible)
        .await
        .expect("eligible by its member key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_api_url_never_passes_the_fence() {
    let Some(etcd) = Etcd::start("promotion-hostile") else {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    };
    // A redirect to a path that would say primary (not followed), an oversized
    // document that says primary (refused), a non-HTTP scheme, a 503 with a primary
    // body (not a status document).
    let big = format!(
        r#"{{"role":"primary","xlog":{{"location":1}},"pad":"{}"}}"#,
        "x".repeat(70 << 10)
    );
    let api = Responder::new()
        .status("/primary-doc", 200, PRIMARY)
        .raw(
            "/redirect",
            b"HTTP/1.1 302 Found\r\nLocation: /primary-doc\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .raw("/big", &answer(200, &big))
        .raw("/unavailable", &answer(503, PRIMARY))
        .start()
        .await;
    let base = format!("http://{}", api.addr());
    for url in [
        format!("{base}/redirect"),
        format!("{base}/big"),
        format!("{base}/unavailable"),
        "file:///etc/passwd".to_string(),
        "gopher://127.0.0.1:1/".to_string(),
    ] {
        let (_f, view, _) = node2_takes_the_key(&etcd, &url).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let v = view.borrow().clone();
        assert_eq!(node2_verdict(&v), Verdict::Promoting, "{url}: {v:?}");
        assert_eq!(v.promoted, None, "{url}");
    }
    // The control: the same document, served plainly, passes.
    let (_f, mut view, _) = node2_takes_the_key(&etcd, &format!("{base}/primary-doc")).await;
    wait_view(&mut view, WAIT, |v| node2_verdict(v) == Verdict::Eligible)
        .await
        .expect("eligible through a plain status document");
}
