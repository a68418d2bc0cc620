//! What an etcd (or something posing as one) and Patroni may write: watch messages,
//! member documents, `failover`/`sync` values and status documents that are not
//! JSON, are JSON of the wrong shape, nest deeply, carry numbers past i64 or
//! strings that are not base64. Each is refused or read as "no data"; none panics
//! (docs/security.md, "Panics": a bad peer never hurts others).

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use haproxide_dcs::etcd::{parse_watch_message, Kv};
use haproxide_dcs::patroni::{ClusterState, Member};
use haproxide_dcs::promotion::promoted;
use haproxide_dcs::{MemberMatch, Role};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"result\"",
    "\"error\"",
    "\"events\"",
    "\"kv\"",
    "\"key\"",
    "\"value\"",
    "\"type\"",
    "\"DELETE\"",
    "\"PUT\"",
    "\"header\"",
    "\"revision\"",
    "\"mod_revision\"",
    "\"compact_revision\"",
    "\"canceled\"",
    "true",
    "null",
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "1e999",
    "-0",
    "\"bGVhZGVy\"",
    "\"!!notbase64\"",
    "\"\\ud800\"",
    "\"role\"",
    "\"primary\"",
    "\"xlog\"",
    "\"location\"",
    "\"conn_url\"",
    "\"postgres://u@[::1]:99999/x\"",
    "\"leader\"",
    "\"member\"",
    "\"scheduled_at\"",
    "\"sync_standby\"",
    "\"members\"",
    "\"a\"",
];

fn shapes(rng: &mut Rng) -> Vec<String> {
    let mut out = vec![
        String::new(),
        "not json".into(),
        "[".repeat(100_000),
        format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)),
        format!("{{\"result\":{}}}", "{\"a\":".repeat(200) + "1" + &"}".repeat(200)),
        r#"{"result":{"events":[{"kv":{"key":1,"value":[],"mod_revision":"x"}}],"header":{"revision":"99999999999999999999"}}}"#.into(),
        r#"{"result":{"events":{"kv":null},"compact_revision":9223372036854775807}}"#.into(),
        r#"{"result":[],"error":null}"#.into(),
        r#"{"result":{"canceled":true,"cancel_reason":7}}"#.into(),
        r#"{"role":"primary","xlog":{"location":-1}}"#.into(),
        r#"{"role":"primary","xlog":[1]}"#.into(),
        r#"{"leader":"","member":{"a":1},"scheduled_at":null}"#.into(),
        r#"{"conn_url":"postgres://[::1"}"#.into(),
        r#"{"conn_url":"postgres://u@h:-1/x"}"#.into(),
        r#"{"conn_url":"://@:"}"#.into(),
        r#"{"members":"a,b","sync_standby":["a",1]}"#.into(),
    ];
    for _ in 0..3_000 {
        let n = (rng.next() % 24) as usize;
        out.push(
            (0..n)
                .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
                .collect(),
        );
    }
    out
}

#[test]
fn hostile_dcs_answers_are_refused_or_read_as_no_data() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let addr: SocketAddr = ([127, 0, 0, 1], 5432).into();
    let prefix = "/service/c/";
    let mut failed = Vec::new();
    let inputs = shapes(&mut rng);
    for s in &inputs {
        let r = catch_unwind(AssertUnwindSafe(|| {
            for requested in [0, 1, i64::MAX, i64::MIN] {
                let _ = parse_watch_message(s.as_bytes(), requested);
            }
            let m = Member::parse(s);
            let _ = m.conn_host_port();
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
                let _ = promoted(&v);
            }
            let kvs: Vec<Kv> = [
                "leader",
                "members/a",
                "members/b",
                "failover",
                "sync",
                "config",
                "history",
                "initialize",
            ]
            .iter()
            .map(|k| Kv {
                key: format!("{prefix}{k}"),
                value: s.clone(),
                mod_revision: i64::MAX,
            })
            .collect();
            let st = ClusterState::from_kvs(prefix, &kvs);
            for role in [Role::Leader, Role::Replica, Role::SyncStandby] {
                for how in [MemberMatch::Name, MemberMatch::ConnUrl] {
                    let _ = st.verdict(role, how, "a", addr);
                }
            }
        }));
        if r.is_err() {
            failed.push(s.chars().take(120).collect::<String>());
        }
    }
    std::panic::set_hook(hook);
    assert!(
        failed.is_empty(),
        "{} of {} answers panicked: {failed:#?}",
        failed.len(),
        inputs.len()
    );
}

/// A few of them, with what they give: refusals name the problem, garbage is "no data".
#[test]
fn hostile_dcs_answers_give_refusals_or_nothing() {
    assert!(parse_watch_message(b"not json", 0).is_err_and(|e| e.starts_with("not JSON")));
    assert!(parse_watch_message("[".repeat(100_000).as_bytes(), 0).is_err());
    assert_eq!(
        parse_watch_message(br#"{"result":{"compact_revision":9223372036854775807}}"#, 5),
        Err("compacted:9223372036854775807".to_string())
    );
    let b = parse_watch_message(br#"{"result":{"events":[{"kv":{"key":1,"value":[]}}],"header":{"revision":"99999999999999999999"}}}"#, 0);
    let b = b.expect("a batch");
    assert_eq!(b.revision, 0);
    assert_eq!(b.changes.len(), 1);
    assert_eq!(
        Member::parse("{\"conn_url\":\"postgres://u@h:99999/x\"}").conn_host_port(),
        Some(("h".into(), 5432))
    );
    assert_eq!(Member::parse("[1,2]"), Member::default());
    assert!(!promoted(
        &serde_json::json!({"role": "primary", "xlog": [1]})
    ));
}
