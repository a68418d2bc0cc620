//! The follower against a real etcd (3.4) serving https with a CA made here and
//! with authentication enabled (a user and a role made with `etcdctl`, as an
//! operator would): it connects, watches and follows the leader key; a wrong CA or
//! a wrong password is refused with an event that says why. Keys are written with
//! `etcdctl` as the root user. Skipped (with a message) when etcd, etcdctl or
//! openssl is missing (scripts/install-deps installs them).

use std::path::PathBuf;
use std::time::Duration;

use haproxide_dcs::follow::wait_view;
use haproxide_dcs::{ClusterSpec, DcsEvent, EtcdSpec, Follower};
use haproxide_testkit::etcd::Secured;

const PREFIX: &str = "/service/demo/";
const WAIT: Duration = Duration::from_secs(30);

fn lab(tag: &str) -> Option<Secured> {
    let lab = Secured::start(tag, PREFIX, "node1");
    if lab.is_none() {
        eprintln!("skipped: no openssl, etcd or etcdctl (scripts/install-deps installs them)");
    }
    lab
}

fn spec(lab: &Secured, ca: PathBuf, user: &str, password: &str) -> ClusterSpec {
    let mut s = ClusterSpec::new(
        "demo",
        EtcdSpec {
            endpoints: vec![lab.etcd.url()],
            ca_file: Some(ca),
            auth: Some((user.to_string(), password.to_string())),
            timeout: Duration::from_secs(2),
            ..EtcdSpec::default()
        },
        "/service/",
        "demo",
    );
    s.backoff_min = Duration::from_millis(100);
    s.backoff_max = Duration::from_millis(300);
    s.probe_interval = Duration::from_millis(200);
    s
}

/// The first `Unreachable` event's reason.
async fn refusal(f: &Follower) -> String {
    let mut ev = f.subscribe();
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(DcsEvent::Unreachable { error, .. }) = ev.recv().await {
                return error;
            }
        }
    })
    .await
    .map(|why| {
        eprintln!("refused: {why}");
        why
    })
    .expect("an Unreachable event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_the_leader_over_tls_with_auth_and_refuses_a_bad_ca_or_password() {
    let Some(lab) = lab("etcd-tls") else { return };
    assert!(lab.etcd.url().starts_with("https://"));
    // Auth is on: without credentials etcd refuses to read.
    let anonymous = lab.ctl(None, &["get", &format!("{PREFIX}leader")]);
    assert!(anonymous.is_err(), "{anonymous:?}");

    // The right CA and password: connects, reads, watches, follows.
    let f = Follower::start(spec(&lab, lab.ca(), "haproxide", "s3cret")).unwrap();
    let mut view = f.view();
    let mut ev = f.subscribe();
    let v = wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("connected over TLS with auth");
    assert_eq!(v.state.leader.as_deref(), Some("node1"));
    assert!(v.endpoint.starts_with("https://"));
    lab.ctl(
        Some("root:rootpw"),
        &["put", &format!("{PREFIX}leader"), "node2"],
    )
    .expect("put node2");
    let change = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(DcsEvent::LeaderChanged { from, to, .. }) = ev.recv().await {
                return (from, to);
            }
        }
    })
    .await
    .expect("the leader change, pushed by the watch");
    assert_eq!(change, (Some("node1".into()), Some("node2".into())));
    lab.ctl(Some("root:rootpw"), &["del", &format!("{PREFIX}leader")])
        .expect("del");
    wait_view(&mut view, WAIT, |v| v.state.leader.is_none())
        .await
        .expect("the key's deletion followed");
    assert!(view.borrow().connected);

    // A CA that did not sign etcd's certificate: refused, and said so.
    let bad_ca = Follower::start(spec(&lab, lab.other_ca(), "haproxide", "s3cret")).unwrap();
    let why = refusal(&bad_ca).await;
    assert!(
        why.contains("certificate") && why.to_ascii_lowercase().contains("unknown"),
        "the reason names the untrusted certificate: {why}"
    );
    assert!(!bad_ca.view().borrow().connected);

    // The right CA, a wrong password: refused by etcd, and said so.
    let bad_pw = Follower::start(spec(&lab, lab.ca(), "haproxide", "wrong")).unwrap();
    let why = refusal(&bad_pw).await;
    assert!(
        why.contains("authentication as user \"haproxide\" refused")
            && why.contains("invalid user ID or password"),
        "the reason names the refused login: {why}"
    );
    assert!(!bad_pw.view().borrow().connected);

    // A user without read permission on the prefix: connected never, reason given.
    lab.ctl(Some("root:rootpw"), &["user", "add", "nobody:pw"])
        .expect("user nobody");
    let denied = Follower::start(spec(&lab, lab.ca(), "nobody", "pw")).unwrap();
    let why = refusal(&denied).await;
    assert!(why.contains("permission denied"), "{why}");

    // The good follower kept following all along.
    lab.ctl(
        Some("root:rootpw"),
        &["put", &format!("{PREFIX}leader"), "node3"],
    )
    .expect("put node3");
    let followed = wait_view(&mut view, WAIT, |v| {
        v.state.leader.as_deref() == Some("node3")
    })
    .await;
    assert!(followed.is_some(), "still following: {:?}", view.borrow());
}
