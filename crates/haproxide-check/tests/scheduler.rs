//! Scheduler tests on paused tokio time with fake probes: intervals
//! (inter/fastinter/downinter), rise/fall, first-check spread, tracking,
//! maintenance, the read side and the event stream.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use haproxide_check::checker::*;
use haproxide_check::log::{ServerName, Severity};
use haproxide_check::probe::RunContext;
use haproxide_check::spec::*;
use haproxide_check::state::OpState;
use haproxide_check::status::{CheckResult, CheckStatus};
use tokio::time::Instant;

#[derive(Clone)]
struct Fake {
    healthy: Arc<AtomicBool>,
    took: Duration,
    t0: Instant,
    calls: Arc<Mutex<Vec<(u128, u128)>>>,
}

impl Fake {
    fn new(took: Duration) -> Self {
        Self {
            healthy: Arc::new(AtomicBool::new(true)),
            took,
            t0: Instant::now(),
            calls: Arc::new(Mutex::new(Vec::new())),
        }
    }
    fn times(&self) -> Vec<u128> {
        self.calls.lock().unwrap().iter().map(|c| c.0).collect()
    }
}

impl HealthProbe for Fake {
    fn check<'a>(&'a self, inter: Duration, _ctx: &'a RunContext) -> BoxFuture<'a, CheckResult> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push((self.t0.elapsed().as_millis(), inter.as_millis()));
            tokio::time::sleep(self.took).await;
            if self.healthy.load(Ordering::SeqCst) {
                CheckResult::new(CheckStatus::L7Ok, self.took).with_code(200)
            } else {
                CheckResult::new(CheckStatus::L7Sts, self.took)
                    .with_code(503)
                    .with_desc("Service Unavailable")
            }
        })
    }
}

fn addr() -> SocketAddr {
    "127.0.0.1:5432".parse().unwrap()
}

fn spec() -> CheckSpec {
    CheckSpec {
        intervals: Intervals {
            inter: Duration::from_secs(2),
            fastinter: Some(Duration::from_millis(500)),
            downinter: Some(Duration::from_secs(5)),
        },
        ..Default::default()
    }
}

fn start(servers: Vec<ServerConfig>, fakes: Vec<Fake>) -> Checker {
    let mut it = fakes.into_iter();
    Checker::new_with(
        servers,
        CheckerOptions {
            node: "test".into(),
            ..Default::default()
        },
        move |cfg| {
            let h = cfg
                .check
                .as_ref()
                .and_then(|_| it.next())
                .map(|f| Arc::new(f) as Arc<dyn HealthProbe>);
            Ok((h, None))
        },
    )
    .unwrap()
}

fn drain_events(rx: &mut tokio::sync::broadcast::Receiver<CheckEvent>) -> Vec<CheckEvent> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

fn transitions(evs: &[CheckEvent], t0: Instant) -> Vec<(u128, OpState, OpState)> {
    evs.iter()
        .filter_map(|e| match e {
            CheckEvent::Transition { at, transition, .. } => Some((
                at.duration_since(t0).as_millis(),
                transition.from,
                transition.to,
            )),
            _ => None,
        })
        .collect()
}

fn logs(evs: &[CheckEvent]) -> Vec<(Severity, String)> {
    evs.iter()
        .filter_map(|e| match e {
            CheckEvent::Log { line, .. } => Some((line.severity, line.text.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn inter_fastinter_downinter_rise_fall() {
    let f = Fake::new(Duration::ZERO);
    let t0 = f.t0;
    let mut c = start(
        vec![ServerConfig::checked(
            ServerName::new("be", "s1"),
            addr(),
            spec(),
        )],
        vec![f.clone()],
    );
    let view = c.view();
    let mut rx = view.subscribe();
    c.run();
    let id = view.id("be", "s1").unwrap();
    assert!(view.is_usable(id));

    tokio::time::sleep_until(t0 + Duration::from_millis(5000)).await;
    f.healthy.store(false, Ordering::SeqCst);
    tokio::time::sleep_until(t0 + Duration::from_millis(8000)).await;
    assert!(!view.is_usable(id));
    f.healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep_until(t0 + Duration::from_millis(15000)).await;
    assert!(view.is_usable(id));

    // 0: pass (fully up, inter 2s) 2, 4: pass; 6, 6.5, 7: fail x3 at fastinter
    // -> DOWN; downinter 5s -> 12 pass, 12.5 pass (fastinter) -> UP, then 14.5.
    assert_eq!(
        f.times(),
        vec![0, 2000, 4000, 6000, 6500, 7000, 12000, 12500, 14500]
    );
    // the interval passed to the probe is the one in force
    let inters: Vec<u128> = f.calls.lock().unwrap().iter().map(|c| c.1).collect();
    assert_eq!(
        inters,
        vec![500, 2000, 2000, 2000, 500, 500, 5000, 500, 2000]
    );
    let evs = drain_events(&mut rx);
    assert_eq!(
        transitions(&evs, t0),
        vec![
            (7000, OpState::Running, OpState::Stopped),
            (12500, OpState::Stopped, OpState::Running)
        ]
    );
    let l = logs(&evs);
    assert_eq!(l[0], (Severity::Alert, "Server be/s1 is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.".into()));
    assert_eq!(
        l[1],
        (
            Severity::Emerg,
            "backend be has no server available!".into()
        )
    );
    assert_eq!(l[2], (Severity::Notice, "Server be/s1 is UP, reason: Layer7 check passed, code: 200, check duration: 0ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".into()));

    let st = view.stats(id).unwrap();
    assert_eq!(
        (st.status.as_str(), st.check_status.as_str(), st.check_code),
        ("UP", "L7OK", Some(200))
    );
    assert_eq!((st.check_rise, st.check_fall, st.check_health), (2, 3, 4));
    assert_eq!((st.chkfail, st.chkdown, st.downtime), (3, 1, 5));
}

#[tokio::test(start_paused = true)]
async fn down_line_reports_the_forwarders_sessions() {
    let f = Fake::new(Duration::ZERO);
    let t0 = f.t0;
    let mut c = start(
        vec![ServerConfig::checked(
            ServerName::new("be", "s1"),
            addr(),
            spec(),
        )],
        vec![f.clone()],
    );
    let view = c.view();
    let mut rx = view.subscribe();
    let id = view.id("be", "s1").unwrap();
    view.set_sessions(id, 7);
    c.run();
    f.healthy.store(false, Ordering::SeqCst);
    tokio::time::sleep_until(t0 + Duration::from_millis(100)).await;
    let l = logs(&drain_events(&mut rx));
    assert!(
        l.iter().any(|x| x.1.ends_with("0 active and 0 backup servers left. 7 sessions active, 0 requeued, 0 remaining in queue.")),
        "{l:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn next_check_counts_from_the_end_of_the_previous() {
    let f = Fake::new(Duration::from_millis(300));
    let t0 = f.t0;
    let mut s = spec();
    s.intervals = Intervals {
        inter: Duration::from_secs(1),
        ..Default::default()
    };
    let mut c = start(
        vec![ServerConfig::checked(
            ServerName::new("be", "s1"),
            addr(),
            s,
        )],
        vec![f.clone()],
    );
    c.run();
    tokio::time::sleep_until(t0 + Duration::from_millis(4000)).await;
    assert_eq!(f.times(), vec![0, 1300, 2600, 3900]);
}

#[tokio::test(start_paused = true)]
async fn first_checks_are_spread_over_the_interval() {
    let mut s = spec();
    s.intervals = Intervals {
        inter: Duration::from_secs(1),
        ..Default::default()
    };
    let fakes: Vec<Fake> = (0..4).map(|_| Fake::new(Duration::ZERO)).collect();
    let t0 = fakes[0].t0;
    let servers = (0..4)
        .map(|i| ServerConfig::checked(ServerName::new("be", format!("s{i}")), addr(), s.clone()))
        .collect();
    let mut c = start(servers, fakes.clone());
    c.run();
    tokio::time::sleep_until(t0 + Duration::from_millis(900)).await;
    let firsts: Vec<u128> = fakes.iter().map(|f| f.times()[0]).collect();
    assert_eq!(firsts, vec![0, 250, 500, 750]);
}

#[tokio::test(start_paused = true)]
async fn spread_checks_jitter_stays_within_bounds() {
    let f = Fake::new(Duration::ZERO);
    let t0 = f.t0;
    let mut s = spec();
    s.intervals = Intervals {
        inter: Duration::from_secs(1),
        ..Default::default()
    };
    let servers = vec![ServerConfig::checked(
        ServerName::new("be", "s1"),
        addr(),
        s,
    )];
    let mut fakes = vec![f.clone()].into_iter();
    let _c = Checker::start_with(
        servers,
        CheckerOptions {
            spread_checks: 20,
            ..Default::default()
        },
        move |_| {
            Ok((
                fakes.next().map(|f| Arc::new(f) as Arc<dyn HealthProbe>),
                None,
            ))
        },
    )
    .unwrap();
    tokio::time::sleep_until(t0 + Duration::from_secs(30)).await;
    let t = f.times();
    let gaps: Vec<u128> = t.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() > 20);
    assert!(gaps.iter().all(|g| (800..=1200).contains(g)), "{gaps:?}");
    assert!(gaps.iter().any(|g| *g != 1000), "jitter expected: {gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn log_health_checks_lines_and_init_state() {
    let f = Fake::new(Duration::ZERO);
    f.healthy.store(false, Ordering::SeqCst);
    let t0 = f.t0;
    let mut s = spec();
    s.log_health_checks = true;
    s.init_state = InitState::FullyDown;
    s.intervals.downinter = None;
    let mut c = start(
        vec![ServerConfig::checked(
            ServerName::new("be", "s1"),
            addr(),
            s,
        )],
        vec![f.clone()],
    );
    let view = c.view();
    let mut rx = view.subscribe();
    c.run();
    let id = view.id("be", "s1").unwrap();
    assert!(!view.is_usable(id) && !view.is_up(id));
    tokio::time::sleep_until(t0 + Duration::from_millis(100)).await;
    f.healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep_until(t0 + Duration::from_millis(3000)).await;
    assert!(view.is_usable(id));
    let l: Vec<String> = logs(&drain_events(&mut rx))
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(
        l,
        vec![
            // first failure at counter 0: status changed INI -> L7STS, reported
            "Health check for server be/s1 failed, reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", check duration: 0ms, status: 0/2 DOWN.".to_string(),
            "Health check for server be/s1 succeeded, reason: Layer7 check passed, code: 200, check duration: 0ms, status: 1/2 DOWN.".into(),
            "Health check for server be/s1 succeeded, reason: Layer7 check passed, code: 200, check duration: 0ms, status: 3/3 UP.".into(),
            "Server be/s1 is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".into(),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn track_follows_and_logs_via() {
    let f = Fake::new(Duration::ZERO);
    let t0 = f.t0;
    let s1 = ServerConfig::checked(ServerName::new("be", "s1"), addr(), spec());
    let mut s2 = ServerConfig::checked(ServerName::new("be2", "s2"), addr(), spec());
    s2.check = None;
    s2.track = Some(ServerName::new("be", "s1"));
    let mut c = start(vec![s1, s2], vec![f.clone()]);
    let view = c.view();
    let mut rx = view.subscribe();
    c.run();
    let id2 = view.id("be2", "s2").unwrap();
    assert!(view.is_usable(id2));
    f.healthy.store(false, Ordering::SeqCst);
    tokio::time::sleep_until(t0 + Duration::from_millis(100)).await;
    assert!(!view.is_usable(id2));
    let l: Vec<String> = logs(&drain_events(&mut rx))
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert!(l.contains(&"Server be2/s2 is DOWN via be/s1. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.".to_string()), "{l:#?}");
    f.healthy.store(true, Ordering::SeqCst);
    // s1 is re-checked at downinter (5 s), then fastinter: UP at 5.5 s.
    tokio::time::sleep_until(t0 + Duration::from_millis(5400)).await;
    assert!(!view.is_usable(id2));
    tokio::time::sleep_until(t0 + Duration::from_millis(5600)).await;
    assert!(view.is_usable(id2));
    let l: Vec<String> = logs(&drain_events(&mut rx))
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert!(l.contains(&"Server be2/s2 is UP via be/s1. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".to_string()), "{l:#?}");
}

#[tokio::test(start_paused = true)]
async fn maintenance_pauses_checks_and_drain_keeps_up() {
    let f = Fake::new(Duration::ZERO);
    let t0 = f.t0;
    let mut c = start(
        vec![ServerConfig::checked(
            ServerName::new("be", "s1"),
            addr(),
            spec(),
        )],
        vec![f.clone()],
    );
    let view = c.view();
    let mut rx = view.subscribe();
    c.run();
    let id = view.id("be", "s1").unwrap();
    tokio::time::sleep_until(t0 + Duration::from_millis(1000)).await;
    c.set_maint(id, true);
    assert!(!view.is_usable(id) && !view.is_up(id));
    assert_eq!(view.stats(id).unwrap().status, "MAINT");
    let before = f.times().len();
    tokio::time::sleep_until(t0 + Duration::from_millis(10000)).await;
    assert_eq!(f.times().len(), before, "no checks while in maintenance");
    c.set_maint(id, false);
    assert!(view.is_usable(id));
    assert_eq!(view.stats(id).unwrap().check_health, 2);
    c.set_drain(id, true);
    assert!(view.is_up(id) && !view.is_usable(id));
    assert_eq!(view.stats(id).unwrap().status, "DRAIN");
    let evs = drain_events(&mut rx);
    let l: Vec<String> = logs(&evs).into_iter().map(|x| x.1).collect();
    assert_eq!(
        l,
        [
            "Server be/s1 is going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
            "backend be has no server available!",
            "Server be/s1 is UP/READY (leaving forced maintenance).",
            "Server be/s1 enters drain state. 0 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
            "backend be has no server available!",
        ]
    );
    assert_eq!(transitions(&evs, t0).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn unknown_track_is_an_error() {
    let mut s = ServerConfig::checked(ServerName::new("be", "s1"), addr(), spec());
    s.track = Some(ServerName::new("be", "nope"));
    let r = Checker::start_with(vec![s], CheckerOptions::default(), |_| Ok((None, None)));
    assert!(matches!(r, Err(CheckerError::UnknownTrack { .. })));
}

struct FakeAgent(&'static str);

impl AgentProbe for FakeAgent {
    fn check(&self) -> BoxFuture<'_, haproxide_check::probe::agent::AgentOutcome> {
        Box::pin(async move {
            haproxide_check::probe::agent::AgentOutcome::Reply(
                haproxide_check::probe::agent::parse_agent_line(self.0.as_bytes(), Instant::now()),
            )
        })
    }
}

#[tokio::test(start_paused = true)]
async fn show_stat_fields_running_check_and_agent() {
    let f = Fake::new(Duration::from_millis(500));
    let t0 = f.t0;
    let mut cfg = ServerConfig::checked(ServerName::new("be", "s1"), addr(), spec());
    cfg.weight = 10;
    cfg.agent = Some(AgentSpec {
        port: 1,
        inter: Duration::from_secs(2),
        ..Default::default()
    });
    let mut fakes = vec![f].into_iter();
    let mut c = Checker::new_with(vec![cfg], CheckerOptions::default(), move |_| {
        Ok((
            fakes.next().map(|f| Arc::new(f) as Arc<dyn HealthProbe>),
            Some(Arc::new(FakeAgent("up 50%")) as Arc<dyn AgentProbe>),
        ))
    })
    .unwrap();
    c.run();
    let view = c.view();
    let id = view.id("be", "s1").unwrap();
    tokio::time::sleep_until(t0 + Duration::from_millis(100)).await;
    assert_eq!(view.stats(id).unwrap().check_status, "* INI");
    tokio::time::sleep_until(t0 + Duration::from_millis(1500)).await;
    let st = view.stats(id).unwrap();
    assert_eq!(st.check_status, "L7OK");
    assert_eq!(
        (st.check_code, st.check_duration_ms),
        (Some(200), Some(500))
    );
    assert_eq!(
        (st.agent_status.as_str(), st.agent_desc.as_str()),
        ("L7OK", "via agent : up")
    );
    assert_eq!((st.agent_rise, st.agent_fall, st.agent_health), (1, 1, 1));
    assert_eq!(st.weight, 5);
    assert!(view.is_usable(id));
}

/// A probe that times out (as the real one does after `timeout check`): the
/// next check starts `inter` after the timeout, checks never overlap, and the
/// server goes DOWN when the first timed-out check ends.
struct Timeout(Duration, Arc<Mutex<Vec<u128>>>, Instant);

impl HealthProbe for Timeout {
    fn check<'a>(&'a self, _inter: Duration, _ctx: &'a RunContext) -> BoxFuture<'a, CheckResult> {
        Box::pin(async move {
            self.1.lock().unwrap().push(self.2.elapsed().as_millis());
            tokio::time::sleep(self.0).await;
            CheckResult::new(CheckStatus::L7Tout, self.0)
        })
    }
}

#[tokio::test(start_paused = true)]
async fn timeouts_delay_the_next_check_and_go_down() {
    let t0 = Instant::now();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let probe = Timeout(Duration::from_millis(300), calls.clone(), t0);
    let mut s = spec();
    s.intervals = Intervals {
        inter: Duration::from_secs(1),
        ..Default::default()
    };
    let mut p = Some(probe);
    let mut c = Checker::new_with(
        vec![ServerConfig::checked(
            ServerName::new("be", "s1"),
            addr(),
            s,
        )],
        CheckerOptions::default(),
        move |_| Ok((p.take().map(|p| Arc::new(p) as Arc<dyn HealthProbe>), None)),
    )
    .unwrap();
    let view = c.view();
    let mut rx = view.subscribe();
    c.run();
    tokio::time::sleep_until(t0 + Duration::from_millis(4000)).await;
    // 0 -> times out at 300, next at 1300 -> 1600, next at 2600 -> 2900, 3900
    assert_eq!(*calls.lock().unwrap(), vec![0, 1300, 2600, 3900]);
    let evs = drain_events(&mut rx);
    assert_eq!(
        transitions(&evs, t0),
        vec![(300, OpState::Running, OpState::Stopped)]
    );
    // the check started at 3900 is still running: "* " prefix
    let st = view.stats(view.id("be", "s1").unwrap()).unwrap();
    assert_eq!(
        (st.check_status.as_str(), st.check_duration_ms),
        ("* L7TOUT", Some(300))
    );
}

/// A forwarder attached as the checker's [`Dataplane`].
#[derive(Default)]
struct Plane {
    transitions: std::sync::Mutex<Vec<(ServerId, OpState)>>,
}

impl haproxide_check::checker::Dataplane for Plane {
    fn sessions(&self, _id: ServerId) -> u32 {
        9
    }
    fn transition(&self, id: ServerId, t: &haproxide_check::state::Transition) {
        self.transitions.lock().unwrap().push((id, t.to));
    }
}

/// Every transition reaches the dataplane, however many events come at once: a
/// burst several times the subscribers' channel (4096 events), which a
/// subscriber that does not read loses, loses nothing there; and the DOWN
/// line's session count is read from the dataplane, not a copy.
#[tokio::test(start_paused = true)]
async fn a_burst_larger_than_the_channel_loses_no_transition() {
    let f = Fake::new(Duration::ZERO);
    let mut c = start(
        vec![ServerConfig::checked(
            ServerName::new("be", "s1"),
            addr(),
            spec(),
        )],
        vec![f.clone()],
    );
    let view = c.view();
    let mut rx = view.subscribe();
    let plane = Arc::new(Plane::default());
    assert!(view.attach_dataplane(plane.clone()));
    assert!(!view.attach_dataplane(Arc::new(Plane::default())));
    let id = view.id("be", "s1").unwrap();
    c.run();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let before = plane.transitions.lock().unwrap().len();
    const ROUNDS: usize = 5000;
    for _ in 0..ROUNDS {
        view.force_health(id, OpState::Stopped);
        view.force_health(id, OpState::Running);
    }
    view.force_health(id, OpState::Stopped);
    let seen = plane.transitions.lock().unwrap()[before..].to_vec();
    assert_eq!(seen.len(), 2 * ROUNDS + 1);
    assert_eq!(seen.last(), Some(&(id, OpState::Stopped)));
    assert!(matches!(
        rx.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_))
    ));
    let l = logs(&drain_events(&mut rx));
    assert!(
        l.iter().any(|x| x.1.contains("9 sessions active")),
        "{l:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn check_now_and_recheck_shorten_the_wait() {
    let f = Fake::new(Duration::ZERO);
    let t0 = f.t0;
    let mut c = start(
        vec![ServerConfig::checked(
            ServerName::new("be", "s1"),
            addr(),
            spec(),
        )],
        vec![f.clone()],
    );
    let view = c.view();
    c.run();
    let id = view.id("be", "s1").unwrap();
    // Checks at 0 and 2000 (inter 2s); at 2300 one now, then the cadence goes on
    // from there (4300).
    tokio::time::sleep_until(t0 + Duration::from_millis(2300)).await;
    view.check_now(id);
    tokio::time::sleep_until(t0 + Duration::from_millis(4400)).await;
    assert_eq!(f.times(), vec![0, 2000, 2300, 4300]);
    // A recheck interval caps the wait until it is lifted.
    view.set_recheck(id, Some(Duration::from_millis(200)));
    view.check_now(id);
    tokio::time::sleep_until(t0 + Duration::from_millis(4950)).await;
    view.set_recheck(id, None);
    tokio::time::sleep_until(t0 + Duration::from_millis(7100)).await;
    assert_eq!(
        f.times(),
        vec![0, 2000, 2300, 4300, 4400, 4600, 4800, 5000, 7000]
    );
}
