//! The follower against a real etcd (the lab's etcd 3.4) on 127.0.0.1, random
//! ports, in a temporary directory; killed and removed when the test ends.
//! Skipped (with a message) when no `etcd` binary is installed.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use haproxide_dcs::follow::wait_view;
use haproxide_dcs::{ClusterSpec, DcsEvent, EtcdSpec, Follower};

const PREFIX: &str = "/service/demo/";

struct Etcd {
    child: Option<Child>,
    dir: PathBuf,
    client_port: u16,
    peer_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn etcd_installed() -> bool {
    Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Etcd {
    fn new(tag: &str) -> Etcd {
        let dir = std::env::temp_dir().join(format!(
            "haproxide-dcs-{tag}-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Etcd {
            child: None,
            dir,
            client_port: free_port(),
            peer_port: free_port(),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    async fn start(&mut self) {
        let c = format!("http://127.0.0.1:{}", self.client_port);
        let p = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::File::create(self.dir.join("etcd.log")).expect("log file");
        let child = Command::new("etcd")
            .args(["--name", "t", "--data-dir"])
            .arg(self.dir.join("data"))
            .args(["--listen-client-urls", &c, "--advertise-client-urls", &c])
            .args([
                "--listen-peer-urls",
                &p,
                "--initial-advertise-peer-urls",
                &p,
            ])
            .args(["--initial-cluster", &format!("t={p}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn etcd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        loop {
            let ok = http
                .get(format!("{}/health", self.url()))
                .timeout(Duration::from_millis(500))
                .send()
                .await
                .is_ok();
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "etcd did not start within 20 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    async fn call(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.url()))
            .body(body.to_string())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("etcd answers");
        let text = r.text().await.expect("body");
        serde_json::from_str(&text).expect("JSON")
    }

    async fn put(&self, key: &str, value: &str) -> i64 {
        let v = self
            .call(
                "/v3/kv/put",
                serde_json::json!({"key": B64.encode(key), "value": B64.encode(value)}),
            )
            .await;
        v["header"]["revision"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("revision")
    }

    async fn delete(&self, key: &str) {
        self.call(
            "/v3/kv/deleterange",
            serde_json::json!({"key": B64.encode(key)}),
        )
        .await;
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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

const WAIT: Duration = Duration::from_secs(10);

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

#[tokio::test]
async fn follows_the_leader_key_and_members() {
    if !etcd_installed() {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    }
    let mut etcd = Etcd::new("follow");
    etcd.start().await;
    etcd.put(&format!("{PREFIX}leader"), "node1").await;
    etcd.put(
        &format!("{PREFIX}members/node1"),
        r#"{"conn_url":"postgres://127.0.0.1:15432/postgres","role":"primary"}"#,
    )
    .await;
    etcd.put("/service/other/leader", "elsewhere").await;
    let f = Follower::start(spec(&etcd.url(), Duration::from_millis(100))).unwrap();
    let mut view = f.view();
    let mut ev = f.subscribe();
    let v = wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("connected");
    assert_eq!(v.state.leader.as_deref(), Some("node1"));
    assert!(v.state.members.contains_key("node1"));
    assert_eq!(v.endpoint, etcd.url());
    let rev = etcd.put(&format!("{PREFIX}leader"), "node2").await;
    assert_eq!(
        next_leader_change(&mut ev).await,
        (Some("node1".into()), Some("node2".into()))
    );
    assert_eq!(view.borrow().revision, rev);
    etcd.delete(&format!("{PREFIX}leader")).await;
    assert_eq!(
        next_leader_change(&mut ev).await,
        (Some("node2".into()), None)
    );
    // Keys of another scope change nothing.
    etcd.put("/service/other/leader", "x").await;
    etcd.put(&format!("{PREFIX}leader"), "node3").await;
    assert_eq!(
        next_leader_change(&mut ev).await,
        (None, Some("node3".into()))
    );
}

#[tokio::test]
async fn resumes_from_the_last_revision_after_etcd_restarts() {
    if !etcd_installed() {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    }
    let mut etcd = Etcd::new("resume");
    etcd.start().await;
    etcd.put(&format!("{PREFIX}leader"), "node1").await;
    // A long backoff: the changes below are made while the follower waits.
    let f = Follower::start(spec(&etcd.url(), Duration::from_secs(4))).unwrap();
    let mut view = f.view();
    let mut ev = f.subscribe();
    wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("connected");
    etcd.stop();
    let v = wait_view(&mut view, WAIT, |v| !v.connected)
        .await
        .expect("disconnection noticed");
    assert!(v.last_error.is_some());
    // Kept for display while disconnected.
    assert_eq!(v.state.leader.as_deref(), Some("node1"));
    etcd.start().await;
    // Two changes the follower must not miss even though the end state equals
    // the start's: node1 -> node2 -> node1.
    etcd.put(&format!("{PREFIX}leader"), "node2").await;
    let last = etcd.put(&format!("{PREFIX}leader"), "node1").await;
    let v = wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("reconnected");
    let mut seen = Vec::new();
    let mut resumed = None;
    while let Ok(e) = ev.try_recv() {
        match e {
            DcsEvent::LeaderChanged { from, to, .. } => seen.push((from, to)),
            DcsEvent::Connected { resumed_from, .. } => resumed = resumed_from,
            DcsEvent::Disconnected { .. } => {}
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
}

#[tokio::test]
async fn reads_anew_when_the_revision_was_compacted() {
    if !etcd_installed() {
        eprintln!("skipped: no etcd binary (scripts/install-deps installs it)");
        return;
    }
    let mut etcd = Etcd::new("compact");
    etcd.start().await;
    etcd.put(&format!("{PREFIX}leader"), "node1").await;
    let f = Follower::start(spec(&etcd.url(), Duration::from_secs(4))).unwrap();
    let mut view = f.view();
    let mut ev = f.subscribe();
    wait_view(&mut view, WAIT, |v| v.connected)
        .await
        .expect("connected");
    etcd.stop();
    wait_view(&mut view, WAIT, |v| !v.connected)
        .await
        .expect("disconnection noticed");
    etcd.start().await;
    etcd.put(&format!("{PREFIX}leader"), "node2").await;
    let last = etcd.put(&format!("{PREFIX}members/node2"), "{}").await;
    etcd.call(
        "/v3/kv/compaction",
        serde_json::json!({"revision": last.to_string(), "physical": true}),
    )
    .await;
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
            DcsEvent::Disconnected { .. } => {}
        }
    }
    assert_eq!(changes, vec![(Some("node1".into()), Some("node2".into()))]);
    assert_eq!(resumed, None, "read anew, not resumed");
}

#[tokio::test]
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
