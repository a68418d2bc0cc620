use super::*;
use haproxide_testkit::spoa::{self, Behaviour};

#[derive(Debug)]
struct One(Addr);

impl Servers for One {
    fn pick(&self) -> Option<Addr> {
        Some(self.0.clone())
    }
}

/// A context with only a source address.
struct Ctx;
impl Context for Ctx {
    fn src(&self) -> Option<std::net::SocketAddr> {
        "10.1.2.3:4000".parse().ok()
    }
}

fn spec(addr: std::net::SocketAddr, processing: Duration) -> EngineSpec {
    let msg = |name: &str, ev: Option<Event>| MessageSpec {
        name: name.into(),
        args: vec![
            ("ip".into(), SampleExpr::parse("src").expect("src")),
            (String::new(), SampleExpr::parse("str(hi)").expect("str")),
        ],
        event: ev,
        cond: None,
    };
    let e = EngineSpec {
        id: "e".into(),
        agent: AgentSpec {
            name: "a".into(),
            max_frame_size: 16380,
            pipelining: true,
            timeout_hello: Duration::from_millis(500),
            timeout_idle: Duration::from_secs(30),
            timeout_processing: processing,
            timeout_connect: None,
            max_idle: 8,
        },
        backend: "agents".into(),
        messages: vec![
            msg("check-ip", Some(Event::FrontendHttpRequest)),
            msg("grp-msg", None),
        ],
        groups: vec![GroupSpec {
            name: "g".into(),
            messages: vec![1],
        }],
        var_prefix: "pfx".into(),
        set_on_error: Some("err".into()),
        set_process_time: None,
        set_total_time: Some("tt".into()),
        continue_on_error: false,
        force_set_var: false,
        known_vars: ["txn.pfx.score".to_string()].into_iter().collect(),
        register_var_names: ["tag".to_string()].into_iter().collect(),
    };
    let _ = addr;
    e
}

fn engine(addr: std::net::SocketAddr, processing: Duration) -> Engine {
    let e = Engine::new(spec(addr, processing));
    e.agent.bind(Arc::new(One(Addr::Tcp(addr))));
    e
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn set(vars: &[VarOp], name: &str) -> Option<Sample<'static>> {
    vars.iter().find_map(|v| match v {
        VarOp::Set(n, s) if n == name => Some(s.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn notify_ack_sets_known_variables_only() {
    let mut acts = spoa::set_var_u32(2, "score", 42);
    acts.extend(spoa::set_var_str(1, "tag", b"x"));
    // Not referenced, not registered: ignored (no variable created by an agent).
    acts.extend(spoa::set_var_str(2, "intruder", b"y"));
    let agent = spoa::start(Behaviour::Ack(acts)).await;
    let e = engine(agent.mock.addr, Duration::from_secs(2));
    let msgs = e.event_messages(Event::FrontendHttpRequest, &Ctx);
    assert_eq!(msgs.len(), 1);
    let mut st = TxnState::default();
    let out = e.process(msgs, &mut st).await;
    assert!(!out.failed, "{out:?}");
    assert_eq!(set(&out.vars, "txn.pfx.score"), Some(Sample::Sint(42)));
    assert_eq!(
        set(&out.vars, "sess.pfx.tag"),
        Some(Sample::Str(b"x".to_vec().into()))
    );
    assert_eq!(set(&out.vars, "txn.pfx.intruder"), None);
    assert!(set(&out.vars, "txn.pfx.tt").is_some());
    assert_eq!(set(&out.vars, "txn.pfx.err"), None);

    // Byte-level: HELLO then NOTIFY, as SPOE.txt §3.2.4 / §3.2.6 describe.
    let frames = agent.frames();
    assert_eq!(frames.len(), 2, "{frames:?}");
    let hello = &frames[0];
    assert_eq!(&hello[..7], &[1, 0, 0, 0, 1, 0, 0]);
    assert!(contains(hello, b"\x12supported-versions\x08\x032.0"));
    assert!(contains(hello, b"\x0ccapabilities\x08\x0apipelining"));
    assert!(contains(hello, b"\x0emax-frame-size\x03\xfc\xf0\x06"));
    // engine-id: a 36-character lowercase UUID, as HAProxy's generate_pseudo_uuid.
    let at = hello
        .windows(12)
        .position(|w| w == b"\x09engine-id\x08\x24")
        .expect("engine-id");
    let id = &hello[at + 12..at + 12 + 36];
    assert!(
        id.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b) || *b == b'-'),
        "{id:?}"
    );
    let (ty, sid, fid) = spoa::ids(&frames[1]).expect("ids");
    assert_eq!((ty, fid), (3, 1));
    let mut want = vec![3, 0, 0, 0, 1];
    want.extend(spoa::varint(sid));
    want.push(1);
    want.extend_from_slice(b"\x08check-ip\x02\x02ip\x06\x0a\x01\x02\x03\x00\x08\x02hi");
    assert_eq!(frames[1], want);

    // The connection is reused: a second exchange sends no HELLO.
    let g = e.group_messages("g", &Ctx).expect("group");
    assert_eq!(g[0].name, "grp-msg");
    let out = e.process(g, &mut st).await;
    assert!(!out.failed);
    assert_eq!(
        agent
            .mock
            .accepted
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(agent.frames().len(), 3);
    assert!(e.group_messages("nope", &Ctx).is_none());
}

async fn failure_of(b: Behaviour, processing: Duration) -> (Option<Sample<'static>>, TxnState) {
    let agent = spoa::start(b).await;
    let e = engine(agent.mock.addr, processing);
    let mut st = TxnState::default();
    let out = e
        .process(e.event_messages(Event::FrontendHttpRequest, &Ctx), &mut st)
        .await;
    assert!(out.failed);
    (set(&out.vars, "txn.pfx.err"), st)
}

#[tokio::test]
async fn hostile_agents_fail_the_exchange_with_haproxys_codes() {
    // Garbage instead of AGENT-HELLO: no connection can be made; the stream
    // waits for one until `timeout processing` (1), as HAProxy 2.6.12
    // (tests/spoe.rs compares).
    let (err, st) = failure_of(Behaviour::Garbage, Duration::from_millis(300)).await;
    assert_eq!(err, Some(Sample::Sint(1)));
    assert!(st.disabled);
    // A frame announced bigger than the negotiated size: too big (256 + 3).
    let (err, _) = failure_of(Behaviour::Oversized(1 << 30), Duration::from_secs(2)).await;
    assert_eq!(err, Some(Sample::Sint(256 + 3)));
    // A slow agent: the processing timeout (1).
    let (err, _) = failure_of(
        Behaviour::Slow(Duration::from_secs(5), Vec::new()),
        Duration::from_millis(200),
    )
    .await;
    assert_eq!(err, Some(Sample::Sint(1)));
    // AGENT-DISCONNECT status 13: 256 + 13.
    let (err, _) = failure_of(Behaviour::Disconnect(13), Duration::from_secs(2)).await;
    assert_eq!(err, Some(Sample::Sint(256 + 13)));
    // An AGENT-HELLO with a frame size under 256: refused, so no connection (1).
    let (err, _) = failure_of(Behaviour::HelloFrameSize(100), Duration::from_millis(300)).await;
    assert_eq!(err, Some(Sample::Sint(1)));
}

#[tokio::test]
async fn an_unreachable_agent_times_out_and_disables_the_transaction() {
    let addr = haproxide_testkit::tcp::refused_addr();
    let e = engine(addr, Duration::from_millis(300));
    let mut st = TxnState::default();
    let t0 = Instant::now();
    let out = e
        .process(e.event_messages(Event::FrontendHttpRequest, &Ctx), &mut st)
        .await;
    // As HAProxy: the stream waits for a connection until `timeout processing`.
    assert_eq!(set(&out.vars, "txn.pfx.err"), Some(Sample::Sint(1)));
    assert!(t0.elapsed() < Duration::from_secs(2));
    // Off for the rest of the transaction: nothing is sent, nothing set.
    let out = e
        .process(e.event_messages(Event::FrontendHttpRequest, &Ctx), &mut st)
        .await;
    assert!(out.vars.is_empty() && !out.failed);
}

#[tokio::test]
async fn a_slow_agent_does_not_delay_other_streams_beyond_their_own_exchange() {
    // One stream waits on a slow agent; another engine's agent answers at once.
    let slow = spoa::start(Behaviour::Slow(Duration::from_secs(3), Vec::new())).await;
    let fast = spoa::start(Behaviour::Ack(spoa::set_var_u32(2, "score", 7))).await;
    let es = Arc::new(engine(slow.mock.addr, Duration::from_millis(1500)));
    let ef = engine(fast.mock.addr, Duration::from_secs(2));
    let es2 = es.clone();
    let waiting = tokio::spawn(async move {
        let mut st = TxnState::default();
        es2.process(
            es2.event_messages(Event::FrontendHttpRequest, &Ctx),
            &mut st,
        )
        .await
    });
    let t0 = Instant::now();
    let mut st = TxnState::default();
    let out = ef
        .process(ef.event_messages(Event::FrontendHttpRequest, &Ctx), &mut st)
        .await;
    assert!(
        t0.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(set(&out.vars, "txn.pfx.score"), Some(Sample::Sint(7)));
    let slow_out = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("bounded")
        .expect("joined");
    assert!(slow_out.failed);
}

#[tokio::test]
async fn a_too_big_notify_is_error_3_and_keeps_the_connection() {
    let agent = spoa::start(Behaviour::HelloFrameSize(256)).await;
    let mut s = spec(agent.mock.addr, Duration::from_secs(2));
    s.messages[0].args.push((
        "big".into(),
        SampleExpr::parse("str(0123456789012345678901234567890123456789)").expect("str"),
    ));
    s.messages[0].args = std::iter::repeat_n(s.messages[0].args[2].clone(), 10).collect();
    let e = Engine::new(s);
    e.agent.bind(Arc::new(One(Addr::Tcp(agent.mock.addr))));
    let mut st = TxnState::default();
    let out = e
        .process(e.event_messages(Event::FrontendHttpRequest, &Ctx), &mut st)
        .await;
    assert_eq!(set(&out.vars, "txn.pfx.err"), Some(Sample::Sint(3)));
    assert_eq!(e.agent.idle_count(), 1);
}
