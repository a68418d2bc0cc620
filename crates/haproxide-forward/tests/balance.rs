//! Server choice: algorithms, weights, backups, health.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use haproxide_forward::*;
use tokio::net::{TcpSocket, TcpStream};

/// Connect, read the 2-byte server name, keep the connection.
async fn who_keep(addr: SocketAddr) -> (String, TcpStream) {
    let mut c = connect(addr).await;
    let n = read_n(&mut c, 2).await;
    (String::from_utf8(n).unwrap(), c)
}

async fn who(addr: SocketAddr) -> String {
    who_keep(addr).await.0
}

async fn who_from(src: &str, addr: SocketAddr) -> String {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{src}:0").parse().unwrap()).unwrap();
    let mut c = tokio::time::timeout(WAIT, s.connect(addr))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8(read_n(&mut c, 2).await).unwrap()
}

async fn farm(names: &[&'static str]) -> (Vec<Mock>, Vec<ServerSpec>) {
    let mut mocks = Vec::new();
    let mut specs = Vec::new();
    for n in names {
        let m = named(n).await;
        specs.push(server(n, m.addr));
        mocks.push(m);
    }
    (mocks, specs)
}

fn count(v: &[String]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for s in v {
        *m.entry(s.clone()).or_default() += 1;
    }
    m
}

#[tokio::test]
async fn roundrobin_follows_weights_smoothly() {
    let (_m, mut specs) = farm(&["s0", "s1"]).await;
    specs[0].weight = 3;
    let r = start(simple(specs)).await;
    let mut seq = Vec::new();
    for _ in 0..8 {
        seq.push(who(r.addr).await);
    }
    let c = count(&seq);
    assert_eq!(c["s0"], 6, "{seq:?}");
    assert_eq!(c["s1"], 2, "{seq:?}");
    // Smooth: never three s1 in a row, and s1 is interleaved rather than bunched.
    assert_ne!(seq[..2], ["s1".to_string(), "s1".to_string()]);
    assert_eq!(r.engine.server_counters(0, 0).total, 6);
    assert_eq!(r.engine.server_counters(0, 1).total, 2);
}

#[tokio::test]
async fn static_rr_and_weight_zero() {
    let (_m, mut specs) = farm(&["s0", "s1", "s2"]).await;
    specs[2].weight = 0;
    let mut spec = simple(specs);
    spec.backends[0].balance = Balance::StaticRr;
    let r = start(spec).await;
    let mut seq = Vec::new();
    for _ in 0..6 {
        seq.push(who(r.addr).await);
    }
    let c = count(&seq);
    assert_eq!(c.get("s2"), None, "weight 0 never chosen: {seq:?}");
    assert_eq!((c["s0"], c["s1"]), (3, 3));
}

#[tokio::test]
async fn leastconn_picks_the_least_loaded() {
    let (_m, specs) = farm(&["s0", "s1", "s2"]).await;
    let mut spec = simple(specs);
    spec.backends[0].balance = Balance::LeastConn;
    let r = start(spec).await;
    // Load s? with two long sessions and another with one.
    let (a, _ka) = who_keep(r.addr).await;
    let (b, _kb) = who_keep(r.addr).await;
    let (c, _kc) = who_keep(r.addr).await;
    let mut first3 = vec![a.clone(), b.clone(), c.clone()];
    first3.sort();
    assert_eq!(first3, ["s0", "s1", "s2"], "one each while equal");
    let (d, _kd) = who_keep(r.addr).await;
    // Now `d` has 2; the others have 1: the next two go to the other two.
    let e = who_keep(r.addr).await;
    let f = who_keep(r.addr).await;
    assert_ne!(e.0, d);
    assert_ne!(f.0, d);
    assert_ne!(e.0, f.0);
    // Closing sessions on one server makes it the least loaded.
    drop(e);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let g = who(r.addr).await;
    let e_name = {
        let mut all = vec!["s0", "s1", "s2"];
        all.retain(|x| *x != d && *x != f.0);
        all[0].to_string()
    };
    assert_eq!(g, e_name);
}

#[tokio::test]
async fn first_fills_servers_in_order() {
    let (_m, mut specs) = farm(&["s0", "s1", "s2"]).await;
    for s in &mut specs {
        s.maxconn = 2;
    }
    let mut spec = simple(specs);
    spec.backends[0].balance = Balance::First;
    let r = start(spec).await;
    let mut keep = Vec::new();
    let mut seq = Vec::new();
    for _ in 0..5 {
        let (n, k) = who_keep(r.addr).await;
        seq.push(n);
        keep.push(k);
    }
    assert_eq!(seq, ["s0", "s0", "s1", "s1", "s2"]);
    drop(keep.remove(0));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        who(r.addr).await,
        "s0",
        "a freed slot on the first server is used first"
    );
}

#[tokio::test]
async fn source_hash_is_sticky_per_client_address() {
    let (_m, specs) = farm(&["s0", "s1", "s2", "s3"]).await;
    let mut spec = simple(specs);
    spec.backends[0].balance = Balance::Source;
    let r = start(spec).await;
    let mut per_src = Vec::new();
    for src in [
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    ] {
        let first = who_from(src, r.addr).await;
        for _ in 0..3 {
            assert_eq!(who_from(src, r.addr).await, first, "{src} sticks");
        }
        per_src.push(first);
    }
    let distinct = count(&per_src).len();
    assert!(distinct >= 2, "different addresses spread: {per_src:?}");
}

#[tokio::test]
async fn consistent_hash_keeps_clients_when_another_server_goes_down() {
    let (_m, specs) = farm(&["s0", "s1", "s2", "s3"]).await;
    let mut spec = simple(specs);
    spec.backends[0].balance = Balance::Source;
    spec.backends[0].hash_type = HashType::Consistent;
    let r = start(spec).await;
    let srcs: Vec<String> = (1..=12).map(|i| format!("127.0.0.{i}")).collect();
    let mut before = Vec::new();
    for s in &srcs {
        before.push(who_from(s, r.addr).await);
    }
    // Take down a server that some client does not use; clients of others stay.
    let victim = before[0].clone();
    let vi: usize = victim[1..].parse().unwrap();
    r.health.set(0, vi, false);
    for (s, b) in srcs.iter().zip(&before) {
        let now = who_from(s, r.addr).await;
        if *b == victim {
            assert_ne!(now, victim);
        } else {
            assert_eq!(&now, b, "{s} kept its server");
        }
    }
}

#[tokio::test]
async fn random_uses_every_server() {
    let (_m, specs) = farm(&["s0", "s1"]).await;
    let mut spec = simple(specs);
    spec.backends[0].balance = Balance::Random { draws: 2 };
    let r = start(spec).await;
    let mut seq = Vec::new();
    for _ in 0..30 {
        seq.push(who(r.addr).await);
    }
    let c = count(&seq);
    assert!(
        c.get("s0").copied().unwrap_or(0) > 0 && c.get("s1").copied().unwrap_or(0) > 0,
        "{c:?}"
    );
}

#[tokio::test]
async fn backup_takes_over_only_when_no_active_server_is_usable() {
    let (_m, mut specs) = farm(&["s0", "s1", "b0", "b1"]).await;
    specs[2].backup = true;
    specs[3].backup = true;
    let r = start(simple(specs)).await;
    for _ in 0..4 {
        assert!(who(r.addr).await.starts_with('s'));
    }
    r.health.set(0, 0, false);
    for _ in 0..3 {
        assert_eq!(who(r.addr).await, "s1");
    }
    r.health.set(0, 1, false);
    for _ in 0..4 {
        assert_eq!(
            who(r.addr).await,
            "b0",
            "only the first backup without allbackups"
        );
    }
    r.health.set(0, 2, false);
    assert_eq!(
        who(r.addr).await,
        "b1",
        "next backup when the first is down"
    );
    r.health.set(0, 0, true);
    assert_eq!(who(r.addr).await, "s0", "active back: backups unused");
}

#[tokio::test]
async fn allbackups_spreads_over_all_backups() {
    let (_m, mut specs) = farm(&["s0", "b0", "b1"]).await;
    specs[1].backup = true;
    specs[2].backup = true;
    let mut spec = simple(specs);
    spec.backends[0].all_backups = true;
    let r = start(spec).await;
    r.health.set(0, 0, false);
    let mut seq = Vec::new();
    for _ in 0..4 {
        seq.push(who(r.addr).await);
    }
    assert_eq!(count(&seq).len(), 2, "{seq:?}");
}

#[tokio::test]
async fn no_usable_server_closes_with_sc_at_once() {
    let (_m, specs) = farm(&["s0"]).await;
    let r = start(simple(specs)).await;
    r.health.set(0, 0, false);
    let t = std::time::Instant::now();
    let mut c = connect(r.addr).await;
    assert!(closed_within(&mut c, WAIT).await);
    assert!(t.elapsed() < Duration::from_millis(500));
    let rec = &r.log.wait(1).await[0];
    assert_eq!(term(rec), "SC");
    assert_eq!(rec.backend.as_deref(), Some("be"));
    assert_eq!(rec.server, None);
    assert_eq!(rec.tc, -1);
}

#[tokio::test]
async fn source_map_based_spreads_by_weight() {
    let (_m, mut specs) = farm(&["s0", "s1"]).await;
    specs[0].weight = 3;
    let mut spec = simple(specs);
    spec.backends[0].balance = Balance::Source;
    let r = start(spec).await;
    let mut seq = Vec::new();
    for i in 0..160u32 {
        let src = format!("127.0.{}.{}", i / 200 + 10, i % 200 + 1);
        seq.push(who_from(&src, r.addr).await);
    }
    let c = count(&seq);
    let s0 = c.get("s0").copied().unwrap_or(0);
    // Expect about 120 of 160 on the weight-3 server.
    assert!((95..=145).contains(&s0), "{c:?}");
}

#[tokio::test]
async fn leastconn_honours_weights() {
    let (_m, mut specs) = farm(&["s0", "s1"]).await;
    specs[1].weight = 3;
    let mut spec = simple(specs);
    spec.backends[0].balance = Balance::LeastConn;
    let r = start(spec).await;
    let mut keep = Vec::new();
    let mut seq = Vec::new();
    for _ in 0..8 {
        let (n, k) = who_keep(r.addr).await;
        seq.push(n);
        keep.push(k);
    }
    let c = count(&seq);
    assert_eq!((c["s0"], c["s1"]), (2, 6), "{seq:?}");
}

#[tokio::test]
async fn minconn_and_fullconn_make_maxconn_dynamic() {
    // maxconn 10, minconn 2, fullconn 100: below 20 backend sessions the limit is 2.
    let (_m, mut specs) = farm(&["s0"]).await;
    specs[0].maxconn = 10;
    specs[0].minconn = 2;
    let mut spec = simple(specs);
    spec.backends[0].fullconn = Some(100);
    spec.backends[0].timeout_queue = Some(Duration::from_secs(5));
    let r = start(spec).await;
    let _a = who_keep(r.addr).await;
    let _b = who_keep(r.addr).await;
    let mut c = connect(r.addr).await;
    let mut buf = [0u8; 2];
    let got = tokio::time::timeout(
        Duration::from_millis(300),
        tokio::io::AsyncReadExt::read_exact(&mut c, &mut buf),
    )
    .await;
    assert!(
        got.is_err(),
        "third session waits: dynamic maxconn is minconn at low load"
    );
    assert_eq!(r.engine.server_counters(0, 0).current, 2);
}

#[tokio::test]
async fn run_time_weights_steer_dynamic_algorithms_only() {
    for balance in [Balance::RoundRobin, Balance::StaticRr] {
        let (_m, specs) = farm(&["s0", "s1"]).await;
        let mut spec = simple(specs);
        spec.backends[0].balance = balance;
        let r = start(spec).await;
        r.health.set_weight(0, 0, Some(3)); // e.g. an agent-check reply
        let mut seq = Vec::new();
        for _ in 0..8 {
            seq.push(who(r.addr).await);
        }
        let c = count(&seq);
        if balance == Balance::RoundRobin {
            assert_eq!((c["s0"], c["s1"]), (6, 2), "{seq:?}");
        } else {
            assert_eq!(
                (c["s0"], c["s1"]),
                (4, 4),
                "static-rr keeps configured weights: {seq:?}"
            );
        }
        // Weight 0 drains the server for every algorithm.
        r.health.set_weight(0, 1, Some(0));
        for _ in 0..3 {
            assert_eq!(who(r.addr).await, "s0");
        }
    }
}

/// `add server` / `del server` (management.txt §9.3): a server added at run time
/// takes its round-robin share; a deleted one takes none, is refused while a session
/// holds it, and its index is not reused by the next addition.
#[tokio::test]
async fn servers_added_at_run_time_get_traffic_and_deleted_ones_none() {
    let (_m, specs) = farm(&["s0", "s1", "s2"]).await;
    let spec = simple(vec![specs[0].clone()]);
    // Health answers for the indexes the test will add.
    let health = Health::new(&simple(specs.clone()));
    let log = std::sync::Arc::new(Capture::default());
    let engine = Engine::start(spec, health.clone(), log)
        .await
        .expect("engine starts");
    let addr = engine.local_addrs()[0].1;
    assert_eq!(who(addr).await, "s0");
    assert_eq!(engine.add_server(0, specs[1].clone()), Some(1));
    assert_eq!(engine.add_server(7, specs[1].clone()), None);
    assert_eq!(
        shares(addr, 4).await,
        HashMap::from([("s0".into(), 2), ("s1".into(), 2)])
    );
    // A session on s1 blocks its deletion.
    let (mut on, mut keep) = who_keep(addr).await;
    if on != "s1" {
        (on, keep) = who_keep(addr).await;
    }
    assert_eq!(on, "s1");
    assert_eq!(engine.delete_server(0, 1), Err(DelServerError::Busy));
    drop(keep);
    let deadline = tokio::time::Instant::now() + WAIT;
    while engine.delete_server(0, 1) == Err(DelServerError::Busy) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "s1 kept its session"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(engine.server_spec(0, 1).is_none());
    assert_eq!(engine.delete_server(0, 1), Err(DelServerError::NoServer));
    for _ in 0..3 {
        assert_eq!(who(addr).await, "s0");
    }
    assert_eq!(engine.add_server(0, specs[2].clone()), Some(2));
    assert_eq!(engine.server_count(0), 3);
    assert_eq!(
        shares(addr, 4).await,
        HashMap::from([("s0".into(), 2), ("s2".into(), 2)])
    );
}

/// Where `n` new connections land, counted per server.
async fn shares(addr: SocketAddr, n: usize) -> HashMap<String, usize> {
    let mut seen = Vec::new();
    for _ in 0..n {
        seen.push(who(addr).await);
    }
    count(&seen)
}
