//! Differential test against the real HAProxy 2.6 (/usr/sbin/haproxy): the
//! same in-process mock backends flip on the same schedule and are checked
//! by both HAProxy and haproxide at the same time. The health-check log
//! lines must be identical apart from timestamps, pids and durations, with
//! the same severities, and each DOWN/UP must happen at nearly the same time
//! (within one check interval plus start-up skew).
//!
//! Skipped, with a message, only when /usr/sbin/haproxy is absent
//! (scripts/install-deps installs it for CI).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use haproxide_check::checker::{CheckEvent, Checker, CheckerOptions, ServerConfig};
use haproxide_check::log::{ServerName, Severity};
use haproxide_check::spec::*;
use haproxide_testkit::fs::TempDir;
use haproxide_testkit::proc::Proc;
use haproxide_testkit::tcp::free_port;
use haproxide_testkit::{http as web, tcp};
use tokio::net::UdpSocket;
use tokio::time::Instant;

const HAPROXY: &str = "/usr/sbin/haproxy";
const INTER_MS: u64 = 200;
/// Serialises the comparisons (see `compare`).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// Start-up window: no mock flips before it; its lines are compared as a
/// multiset and it is excluded from the DOWN/UP timing comparison.
const SETTLE: Duration = Duration::from_millis(900);

/// HAProxy and its directory: stopped (SIGTERM, then SIGKILL) and removed on drop,
/// whatever happens (the process first).
struct HaproxyGuard {
    _proc: Proc,
    dir: TempDir,
}

impl HaproxyGuard {
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path("stderr.log")).unwrap_or_default()
    }
}

fn start_haproxy(cfg: &str, tag: u16) -> HaproxyGuard {
    // One directory per instance: tests run in parallel.
    let dir = TempDir::new(&format!("diff-{tag}"));
    let path = dir.path("haproxy.cfg");
    std::fs::write(&path, cfg).expect("write cfg");
    let child = Command::new(HAPROXY)
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .current_dir(dir.dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(dir.path("stderr.log"))
                .map(Stdio::from)
                .unwrap_or(Stdio::null()),
        )
        .spawn()
        .expect("spawn haproxy");
    HaproxyGuard {
        _proc: Proc::new(child),
        dir,
    }
}

/// "<133>Nov 26 09:43:56 haproxy[6368]: text\n" -> (severity, text).
fn parse_syslog(d: &[u8]) -> Option<(u8, String)> {
    let s = std::str::from_utf8(d).ok()?;
    let end = s.find('>')?;
    let pri: u8 = s.get(1..end)?.parse().ok()?;
    let text = &s[s.find("]: ")? + 3..];
    Some((pri & 7, text.trim_end_matches('\n').to_string()))
}

fn normalize(text: &str) -> String {
    // durations differ between the two; everything else must not
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("check duration: ") {
        let after = &rest[i + "check duration: ".len()..];
        let digits = after.chars().take_while(|c| c.is_ascii_digit()).count();
        out.push_str(&rest[..i]);
        out.push_str("check duration: Nms");
        rest = after[digits..]
            .strip_prefix("ms")
            .unwrap_or(&after[digits..]);
    }
    out.push_str(rest);
    out
}

/// The server a line is about ("be1/s1"), or the backend for "has no server".
fn subject(text: &str) -> String {
    for w in text.split([' ', ',']) {
        if w.contains('/') && !w.starts_with("HTTP") {
            return w.trim_end_matches('.').to_string();
        }
    }
    text.split(' ').nth(1).unwrap_or("").to_string()
}

type Lines = Vec<(Duration, u8, String)>;

fn by_subject(lines: &Lines) -> BTreeMap<String, Vec<(Duration, u8, String)>> {
    let mut m: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for (t, sev, text) in lines {
        m.entry(subject(text))
            .or_default()
            .push((*t, *sev, normalize(text)));
    }
    m
}

fn spec(probe: ProbeSpec) -> CheckSpec {
    CheckSpec {
        probe,
        intervals: Intervals {
            inter: Duration::from_millis(INTER_MS),
            ..Default::default()
        },
        timeouts: CheckTimeouts {
            connect: Some(Duration::from_secs(1)),
            check: Some(Duration::from_millis(300)),
        },
        log_health_checks: true,
        ..Default::default()
    }
}

/// Runs HAProxy with `backends` (config text after the defaults) and
/// haproxide with `servers` side by side while `schedule` flips the mocks,
/// then compares per-server log lines and DOWN/UP times.
async fn compare<F: std::future::Future<Output = ()>>(
    backends: &str,
    log_health_checks: bool,
    servers: Vec<ServerConfig>,
    schedule: impl FnOnce(Instant) -> F,
    min_subjects: usize,
) {
    // One comparison at a time: two HAProxy runs side by side on a 2-core
    // machine skew each other's timings.
    let _serial = SERIAL.lock().await;
    let syslog = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let log_port = syslog.local_addr().expect("addr").port();
    let fe_port = free_port();
    let cfg = format!(
        "global\n  log 127.0.0.1:{log_port} local0\n\
         defaults\n  mode http\n  log global\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n  timeout check 300ms\n{}\
         frontend f\n  bind 127.0.0.1:{fe_port}\n{backends}",
        if log_health_checks { "  option log-health-checks\n" } else { "" },
    );
    let haproxy = start_haproxy(&cfg, log_port);
    // Start the clock (and haproxide) once HAProxy listens: its checks start
    // with it, and on a loaded machine its start-up can take a second.
    let ready = tokio::time::timeout(Duration::from_secs(15), async {
        while tokio::net::TcpStream::connect(("127.0.0.1", fe_port))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        ready.is_ok(),
        "HAProxy did not start:\n{}",
        haproxy.stderr()
    );
    let t0 = Instant::now();
    // `listen` sections are "proxy" in HAProxy's "has no server available".
    let listen_sections = backends
        .lines()
        .filter_map(|l| l.strip_prefix("listen "))
        .map(|n| n.trim().to_string())
        .collect();
    let opts = CheckerOptions {
        listen_sections,
        ..Default::default()
    };
    let mut checker = Checker::new(servers, opts).expect("checker");
    // Subscribe before the first check runs, so no line is missed.
    let mut rx = checker.view().subscribe();
    checker.run();

    let theirs: Arc<Mutex<Lines>> = Arc::new(Mutex::new(Vec::new()));
    let theirs2 = theirs.clone();
    let collector = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = syslog.recv(&mut buf).await {
            if let Some((sev, text)) = parse_syslog(&buf[..n]) {
                theirs2.lock().unwrap().push((t0.elapsed(), sev, text));
            }
        }
    });
    let ours: Arc<Mutex<Lines>> = Arc::new(Mutex::new(Vec::new()));
    let ours2 = ours.clone();
    let ours_task = tokio::spawn(async move {
        while let Ok(ev) = rx.recv().await {
            if let CheckEvent::Log { at, line, .. } = ev {
                let sev = match line.severity {
                    Severity::Emerg => 0,
                    Severity::Alert => 1,
                    Severity::Notice => 5,
                };
                ours2
                    .lock()
                    .unwrap()
                    .push((at.duration_since(t0), sev, line.text));
            }
        }
    });
    schedule(t0).await;
    collector.abort();
    ours_task.abort();
    drop(checker);

    let theirs = by_subject(&theirs.lock().unwrap());
    let ours = by_subject(&ours.lock().unwrap());
    if std::env::var_os("HAPROXIDE_DIFF_VERBOSE").is_some() {
        for (side, m) in [("haproxy", &theirs), ("haproxide", &ours)] {
            for (k, v) in m {
                for x in v {
                    eprintln!("{side} {k} {:>6}ms <{}> {}", x.0.as_millis(), x.1, x.2);
                }
            }
        }
    }
    assert!(
        theirs.len() >= min_subjects,
        "HAProxy logged too little: {theirs:#?}\nstderr:\n{}\nconfig:\n{cfg}",
        haproxy.stderr()
    );
    assert_eq!(
        theirs.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "subjects differ: {ours:#?}"
    );
    let mut max_skew = Duration::ZERO;
    for (k, t) in &theirs {
        let o = &ours[k];
        if std::env::var_os("HAPROXIDE_DIFF_VERBOSE").is_some() {
            for x in t {
                eprintln!("{:>6}ms <{}> {}", x.0.as_millis(), x.1, x.2);
            }
        }
        // Identical lines. During start-up (before any flip) the first health
        // and agent checks of one server run a few ms apart and a loaded
        // machine may swap them, so that window is compared as a multiset;
        // after it, as an exact sequence.
        let split = |v: &[(Duration, u8, String)]| {
            let mut early: Vec<(u8, String)> = v
                .iter()
                .filter(|x| x.0 < SETTLE)
                .map(|x| (x.1, x.2.clone()))
                .collect();
            early.sort();
            let late: Vec<(u8, String)> = v
                .iter()
                .filter(|x| x.0 >= SETTLE)
                .map(|x| (x.1, x.2.clone()))
                .collect();
            (early, late)
        };
        assert_eq!(split(o), split(t), "lines for {k} differ");
        let servers = |v: &[(Duration, u8, String)]| -> Vec<Duration> {
            v.iter()
                .filter(|x| x.0 >= SETTLE && x.2.starts_with("Server "))
                .map(|x| x.0)
                .collect()
        };
        for (a, b) in servers(t).iter().zip(servers(o)) {
            max_skew = max_skew.max(a.abs_diff(b));
        }
    }
    // Each side notices a flip at its next check: they may be one interval
    // apart, plus HAProxy's start-up time.
    let bound = Duration::from_millis(INTER_MS + 150);
    eprintln!("differential: {} subjects, identical lines; max DOWN/UP skew {max_skew:?} (bound {bound:?})", theirs.len());
    assert!(max_skew <= bound, "DOWN/UP times differ by {max_skew:?}");
}

fn haproxy_present() -> bool {
    if Path::new(HAPROXY).exists() {
        return true;
    }
    eprintln!("SKIPPED: {HAPROXY} not found; run scripts/install-deps to install HAProxy 2.6");
    false
}

fn http(args: &[&str], expect: Vec<HttpExpect>) -> ProbeSpec {
    ProbeSpec::Http(HttpCheckSpec {
        send: HttpSend::from_httpchk_args(args),
        expect,
        ..Default::default()
    })
}

fn mk(be: &str, s: &str, backup: bool, a: SocketAddr, p: ProbeSpec, log: bool) -> ServerConfig {
    let mut sp = spec(p);
    sp.log_health_checks = log;
    ServerConfig::checked(
        ServerName {
            backup,
            ..ServerName::new(be, s)
        },
        a,
        sp,
    )
}

/// `option log-health-checks`: HTTP status flips, body expect, L4 refused,
/// black hole (timeout), backup counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_transitions_and_log_lines_as_haproxy() {
    if !haproxy_present() {
        return;
    }
    let s1_code = Arc::new(AtomicU16::new(200));
    let be1_s1 = web::patroni(s1_code.clone(), "").await;
    let be1_s2 = web::patroni(Arc::new(AtomicU16::new(200)), "").await;
    let be1_b1 = web::patroni(Arc::new(AtomicU16::new(200)), "").await;
    let body = Arc::new(Mutex::new("{\"role\": \"master\"}".to_string()));
    let be2_s1 = web::patroni_body(Arc::new(AtomicU16::new(200)), body.clone()).await;
    let be3 = Arc::new(tokio::sync::Mutex::new(tcp::Toggle::new().await));
    let be3_addr = be3.lock().await.addr;
    let be4_s1 = tcp::silent().await;

    let srv = |a: SocketAddr| format!("{a} check inter {INTER_MS}ms");
    let backends = format!(
        "backend be1\n  option httpchk\n  server s1 {}\n  server s2 {}\n  server b1 {} backup\n\
         backend be2\n  option httpchk GET /master\n  http-check expect string master\n  server s1 {}\n\
         backend be3\n  mode tcp\n  server s1 {}\n\
         backend be4\n  option httpchk\n  server s1 {}\n",
        srv(be1_s1.addr),
        srv(be1_s2.addr),
        srv(be1_b1.addr),
        srv(be2_s1.addr),
        srv(be3_addr),
        srv(be4_s1.addr),
    );
    let master = vec![HttpExpect {
        negate: false,
        kind: HttpExpectKind::String("master".into()),
    }];
    let servers = vec![
        mk("be1", "s1", false, be1_s1.addr, http(&[], vec![]), true),
        mk("be1", "s2", false, be1_s2.addr, http(&[], vec![]), true),
        mk("be1", "b1", true, be1_b1.addr, http(&[], vec![]), true),
        mk(
            "be2",
            "s1",
            false,
            be2_s1.addr,
            http(&["GET", "/master"], master),
            true,
        ),
        mk("be3", "s1", false, be3_addr, ProbeSpec::Tcp, true),
        mk("be4", "s1", false, be4_s1.addr, http(&[], vec![]), true),
    ];
    let schedule = |t0: Instant| async move {
        let at = |ms: u64| tokio::time::sleep_until(t0 + Duration::from_millis(ms));
        at(1500).await;
        s1_code.store(503, Ordering::SeqCst);
        at(2000).await;
        *body.lock().unwrap() = "{\"role\": \"replica\"}".into();
        be3.lock().await.close();
        at(3500).await;
        s1_code.store(200, Ordering::SeqCst);
        be3.lock().await.open().await;
        at(4000).await;
        *body.lock().unwrap() = "{\"role\": \"master\"}".into();
        at(5500).await;
    };
    compare(&backends, true, servers, schedule, 6).await;
}

/// Without `option log-health-checks`: the DOWN/UP lines carry the check
/// reason. Also: running on backup, redis-check, disable-on-404 (stopping),
/// `track`, agent-check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_backup_redis_404_track_agent_like_haproxy() {
    if !haproxy_present() {
        return;
    }
    let code = Arc::new(AtomicU16::new(200));
    let s1 = web::patroni(code.clone(), "").await;
    let b1 = web::patroni(Arc::new(AtomicU16::new(200)), "").await;
    let redis_reply = Arc::new(Mutex::new(b"+PONG\r\n".to_vec()));
    let redis = tcp::reply_dyn(redis_reply.clone()).await;
    let c404 = Arc::new(AtomicU16::new(200));
    let s404 = web::patroni(c404.clone(), "").await;
    let agent_line = Arc::new(Mutex::new("up\n".to_string()));
    let agent = tcp::agent(agent_line.clone()).await;
    let agent_srv = web::patroni(Arc::new(AtomicU16::new(200)), "").await;

    let srv = |a: SocketAddr| format!("{a} check inter {INTER_MS}ms");
    let backends = format!(
        "backend be1\n  option httpchk\n  server s1 {}\n  server b1 {} backup\n\
         backend be2\n  mode tcp\n  option redis-check\n  server s1 {}\n\
         backend be3\n  option httpchk\n  http-check disable-on-404\n  server s1 {}\n\
         backend be4\n  server t1 {} track be1/s1\n\
         backend be5\n  option httpchk\n  server s1 {} agent-check agent-port {} agent-inter {INTER_MS}ms\n",
        srv(s1.addr),
        srv(b1.addr),
        srv(redis.addr),
        srv(s404.addr),
        s1.addr,
        srv(agent_srv.addr),
        agent.addr.port(),
    );
    let mut t1 = mk("be4", "t1", false, s1.addr, ProbeSpec::Tcp, false);
    t1.check = None;
    t1.track = Some(ServerName::new("be1", "s1"));
    let mut be5 = mk("be5", "s1", false, agent_srv.addr, http(&[], vec![]), false);
    be5.agent = Some(AgentSpec {
        port: agent.addr.port(),
        inter: Duration::from_millis(INTER_MS),
        ..Default::default()
    });
    let mut be3 = mk("be3", "s1", false, s404.addr, http(&[], vec![]), false);
    if let Some(CheckSpec {
        probe: ProbeSpec::Http(h),
        ..
    }) = be3.check.as_mut()
    {
        h.disable_on_404 = true;
    }
    let servers = vec![
        mk("be1", "s1", false, s1.addr, http(&[], vec![]), false),
        mk("be1", "b1", true, b1.addr, http(&[], vec![]), false),
        mk("be2", "s1", false, redis.addr, ProbeSpec::Redis, false),
        be3,
        t1,
        be5,
    ];
    let schedule = |t0: Instant| async move {
        let at = |ms: u64| tokio::time::sleep_until(t0 + Duration::from_millis(ms));
        at(1000).await;
        code.store(503, Ordering::SeqCst);
        *redis_reply.lock().unwrap() =
            b"-LOADING Redis is loading the dataset in memory\r\n".to_vec();
        c404.store(404, Ordering::SeqCst);
        *agent_line.lock().unwrap() = "down\n".into();
        at(2500).await;
        code.store(200, Ordering::SeqCst);
        *redis_reply.lock().unwrap() = b"+PONG\r\n".to_vec();
        c404.store(200, Ordering::SeqCst);
        *agent_line.lock().unwrap() = "up\n".into();
        at(4000).await;
    };
    compare(&backends, false, servers, schedule, 5).await;
}

/// Protocol checks: user tcp-check, pgsql, smtp, mysql, ldap, ssl-hello, and
/// HTTP `expect rstatus` / `expect hdr` / `http-check send`, each flipping
/// between a good and a bad answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_checks_like_haproxy() {
    if !haproxy_present() {
        return;
    }
    let dynr = |b: &[u8]| Arc::new(Mutex::new(b.to_vec()));
    let tcp_reply = dynr(b"+PONG\r\n");
    let tcp = tcp::reply_dyn(tcp_reply.clone()).await;
    const PG_OK: &[u8] = b"R\x00\x00\x00\x08\x00\x00\x00\x00";
    const PG_ERR: &[u8] = b"E\x00\x00\x00\x2aSFATAL\x00C28000\x00Mno pg_hba.conf entry\x00\x00";
    let pg_reply = dynr(PG_OK);
    let pg = tcp::reply_dyn(pg_reply.clone()).await;
    let smtp_ok = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let smtp = tcp::smtp_dyn(smtp_ok.clone()).await;
    const MY_OK: &[u8] = b"\x4e\x00\x00\x00\x0a5.7.44-log\x00\x08\x00\x00\x00abcdefgh\x00\xff\xf7\x21\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00ijklmnopqrst\x00mysql_native_password\x00";
    const MY_ERR: &[u8] = b"\x16\x00\x00\x00\xff\x6a\x04Host is not allowed";
    let my_reply = dynr(MY_OK);
    let my = tcp::greet_dyn(my_reply.clone()).await;
    const LDAP_OK: &[u8] = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00";
    const LDAP_ERR: &[u8] = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00";
    let ldap_reply = dynr(LDAP_OK);
    let ldap = tcp::reply_dyn(ldap_reply.clone()).await;
    let ssl_reply = dynr(b"\x15\x03\x00\x00\x02\x02\x28");
    let ssl = tcp::reply_dyn(ssl_reply.clone()).await;
    let code = Arc::new(AtomicU16::new(200));
    let rstatus = web::patroni(code.clone(), "").await;
    let hdr_reply = dynr(b"HTTP/1.0 200 OK\r\nX-Role: master\r\n\r\n");
    let hdr = tcp::reply_dyn(hdr_reply.clone()).await;

    let srv = |a: SocketAddr| format!("{a} check inter {INTER_MS}ms");
    let backends = format!(
        "backend be1\n  mode tcp\n  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check expect string +PONG\n  server s1 {}\n\
         backend be2\n  mode tcp\n  option pgsql-check user haproxy\n  server s1 {}\n\
         backend be3\n  mode tcp\n  option smtpchk\n  server s1 {}\n\
         backend be4\n  mode tcp\n  option mysql-check\n  server s1 {}\n\
         backend be5\n  mode tcp\n  option ldap-check\n  server s1 {}\n\
         backend be6\n  mode tcp\n  option ssl-hello-chk\n  server s1 {}\n\
         backend be7\n  option httpchk\n  http-check send meth GET uri /health ver HTTP/1.1 hdr Host example\n  http-check expect rstatus ^2\n  server s1 {}\n\
         backend be8\n  option httpchk GET /\n  http-check expect hdr name x-role value master\n  server s1 {}\n\
         backend be9\n  mode tcp\n  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check expect min-recv 5 error-status L7STS on-success \"redis ok\" on-error \"redis is down\" comment ping string +PONG\n  server s1 {}\n\
         backend be10\n  option httpchk\n  http-check expect error-status L7RSP on-success \"primary\" on-error \"not primary\" comment role status 200\n  server s1 {}\n",
        srv(tcp.addr),
        srv(pg.addr),
        srv(smtp.addr),
        srv(my.addr),
        srv(ldap.addr),
        srv(ssl.addr),
        srv(rstatus.addr),
        srv(hdr.addr),
        srv(tcp.addr),
        srv(rstatus.addr),
    );
    let be10 = ProbeSpec::Http(HttpCheckSpec {
        expect: vec![HttpExpect {
            negate: false,
            kind: HttpExpectKind::Status(vec![(200, 200)]),
        }],
        expect_options: vec![ExpectOptions {
            error_status: Some(haproxide_check::status::CheckStatus::L7Rsp),
            on_success: Some("primary".into()),
            on_error: Some("not primary".into()),
            comment: Some("role".into()),
            ..Default::default()
        }],
        ..Default::default()
    });
    let tcp_rules = ProbeSpec::TcpCheck(vec![
        TcpCheckRule::Send(b"PING\r\n".to_vec()),
        TcpCheckRule::Expect(TcpExpect {
            negate: false,
            kind: TcpExpectKind::String(b"+PONG".to_vec()),
        }),
    ]);
    let tcp_opts = ProbeSpec::TcpCheck(vec![
        TcpCheckRule::Send(b"PING\r\n".to_vec()),
        TcpCheckRule::ExpectWith(
            TcpExpect {
                negate: false,
                kind: TcpExpectKind::String(b"+PONG".to_vec()),
            },
            ExpectOptions {
                min_recv: Some(5),
                error_status: Some(haproxide_check::status::CheckStatus::L7Sts),
                on_success: Some("redis ok".into()),
                on_error: Some("redis is down".into()),
                comment: Some("ping".into()),
                ..Default::default()
            },
        ),
    ]);
    let be7 = ProbeSpec::Http(HttpCheckSpec {
        send: HttpSend {
            method: "GET".into(),
            uri: "/health".into(),
            version: "HTTP/1.1".into(),
            headers: vec![("Host".into(), "example".into())],
            body: None,
        },
        expect: vec![HttpExpect {
            negate: false,
            kind: HttpExpectKind::RStatus("^2".into()),
        }],
        ..Default::default()
    });
    let be8 = http(
        &["GET", "/"],
        vec![HttpExpect {
            negate: false,
            kind: HttpExpectKind::Hdr {
                name: "x-role".into(),
                value: Some("master".into()),
            },
        }],
    );
    let servers = vec![
        mk("be1", "s1", false, tcp.addr, tcp_rules, true),
        mk(
            "be2",
            "s1",
            false,
            pg.addr,
            ProbeSpec::Pgsql {
                user: "haproxy".into(),
            },
            true,
        ),
        mk(
            "be3",
            "s1",
            false,
            smtp.addr,
            ProbeSpec::Smtp { hello: None },
            true,
        ),
        mk(
            "be4",
            "s1",
            false,
            my.addr,
            ProbeSpec::Mysql {
                user: None,
                post41: false,
            },
            true,
        ),
        mk("be5", "s1", false, ldap.addr, ProbeSpec::Ldap, true),
        mk("be6", "s1", false, ssl.addr, ProbeSpec::SslHello, true),
        mk("be7", "s1", false, rstatus.addr, be7, true),
        mk("be8", "s1", false, hdr.addr, be8, true),
        mk("be9", "s1", false, tcp.addr, tcp_opts, true),
        mk("be10", "s1", false, rstatus.addr, be10, true),
    ];
    let schedule = |t0: Instant| async move {
        let at = |ms: u64| tokio::time::sleep_until(t0 + Duration::from_millis(ms));
        let set = |r: &Arc<Mutex<Vec<u8>>>, b: &[u8]| *r.lock().unwrap() = b.to_vec();
        at(1000).await;
        set(&tcp_reply, b"garbage\r\n");
        set(&pg_reply, PG_ERR);
        smtp_ok.store(false, Ordering::SeqCst);
        set(&my_reply, MY_ERR);
        set(&ldap_reply, LDAP_ERR);
        set(&ssl_reply, b"garbage\r\n");
        code.store(503, Ordering::SeqCst);
        set(&hdr_reply, b"HTTP/1.0 200 OK\r\nX-Role: replica\r\n\r\n");
        at(2500).await;
        set(&tcp_reply, b"+PONG\r\n");
        set(&pg_reply, PG_OK);
        smtp_ok.store(true, Ordering::SeqCst);
        set(&my_reply, MY_OK);
        set(&ldap_reply, LDAP_OK);
        set(&ssl_reply, b"\x16\x03\x01\x00\x04\x0e\x00\x00\x00");
        code.store(200, Ordering::SeqCst);
        set(&hdr_reply, b"HTTP/1.0 200 OK\r\nX-Role: master\r\n\r\n");
        at(4000).await;
    };
    compare(&backends, true, servers, schedule, 9).await;
}

/// HTTP edge cases that matter for Patroni-like endpoints, steady (no
/// flips): a clean close with no reply, a status line with no end of
/// headers, garbage, a body that does not match at EOF, a reply slower than
/// `timeout check`, `HTTP/1.0 200 OK` with no header at all, a status line
/// without reason phrase; and agents answering "down#text" (ignored by
/// HAProxy: one unknown word) and "down #text".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_edge_cases_like_haproxy() {
    if !haproxy_present() {
        return;
    }
    let dynr = |b: &[u8]| Arc::new(Mutex::new(b.to_vec()));
    let empty = tcp::reply_dyn(dynr(b"")).await;
    let no_end = tcp::reply_dyn(dynr(b"HTTP/1.0 200 OK\r\n")).await;
    let garbage = tcp::reply_dyn(dynr(b"garbage\r\n\r\n")).await;
    let replica = tcp::reply_dyn(dynr(b"HTTP/1.0 200 OK\r\n\r\n{\"role\": \"replica\"}")).await;
    let slow = tcp::slow(Duration::from_millis(500), b"HTTP/1.0 200 OK\r\n\r\n").await;
    let bare = tcp::reply_dyn(dynr(b"HTTP/1.0 200 OK\r\n\r\n")).await;
    let no_reason = tcp::reply_dyn(dynr(b"HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n")).await;
    let interim = tcp::reply_dyn(dynr(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")).await;
    let agent_down = tcp::agent(Arc::new(Mutex::new("down#maintenance window\n".into()))).await;
    let agent_srv = tcp::reply_dyn(dynr(b"HTTP/1.0 200 OK\r\n\r\n")).await;
    let agent_desc = tcp::agent(Arc::new(Mutex::new("down #maintenance window\n".into()))).await;
    let agent_srv2 = tcp::reply_dyn(dynr(b"HTTP/1.0 200 OK\r\n\r\n")).await;

    let srv = |a: SocketAddr| format!("{a} check inter {INTER_MS}ms");
    let backends = format!(
        "backend be1\n  option httpchk\n  server s1 {}\n\
         backend be2\n  option httpchk\n  server s1 {}\n\
         backend be3\n  option httpchk\n  server s1 {}\n\
         backend be4\n  option httpchk GET /master\n  http-check expect string master\n  server s1 {}\n\
         backend be5\n  option httpchk\n  server s1 {}\n\
         backend be6\n  option httpchk GET /\n  server s1 {}\n\
         backend be7\n  option httpchk\n  server s1 {}\n\
         backend be8\n  option httpchk\n  server s1 {} agent-check agent-port {} agent-inter {INTER_MS}ms\n\
         backend be9\n  option httpchk\n  server s1 {} agent-check agent-port {} agent-inter {INTER_MS}ms\n\
         backend be10\n  option httpchk\n  server s1 {}\n",
        srv(empty.addr),
        srv(no_end.addr),
        srv(garbage.addr),
        srv(replica.addr),
        srv(slow.addr),
        srv(bare.addr),
        srv(no_reason.addr),
        srv(agent_srv.addr),
        agent_down.addr.port(),
        srv(agent_srv2.addr),
        agent_desc.addr.port(),
        srv(interim.addr),
    );
    let mut be9 = mk("be9", "s1", false, agent_srv2.addr, http(&[], vec![]), true);
    be9.agent = Some(AgentSpec {
        port: agent_desc.addr.port(),
        inter: Duration::from_millis(INTER_MS),
        ..Default::default()
    });
    let mut be8 = mk("be8", "s1", false, agent_srv.addr, http(&[], vec![]), true);
    be8.agent = Some(AgentSpec {
        port: agent_down.addr.port(),
        inter: Duration::from_millis(INTER_MS),
        ..Default::default()
    });
    let master = vec![HttpExpect {
        negate: false,
        kind: HttpExpectKind::String("master".into()),
    }];
    let servers = vec![
        mk("be1", "s1", false, empty.addr, http(&[], vec![]), true),
        mk("be2", "s1", false, no_end.addr, http(&[], vec![]), true),
        mk("be3", "s1", false, garbage.addr, http(&[], vec![]), true),
        mk(
            "be4",
            "s1",
            false,
            replica.addr,
            http(&["GET", "/master"], master),
            true,
        ),
        mk("be5", "s1", false, slow.addr, http(&[], vec![]), true),
        mk(
            "be6",
            "s1",
            false,
            bare.addr,
            http(&["GET", "/"], vec![]),
            true,
        ),
        mk("be7", "s1", false, no_reason.addr, http(&[], vec![]), true),
        be8,
        be9,
        mk("be10", "s1", false, interim.addr, http(&[], vec![]), true),
    ];
    let schedule = |t0: Instant| async move {
        tokio::time::sleep_until(t0 + Duration::from_millis(2000)).await;
    };
    compare(&backends, true, servers, schedule, 10).await;
}

/// Agent administrative words and weights, a backup server going DOWN and
/// UP, `disable-on-404` with `log-health-checks`, and `fastinter` /
/// `downinter` timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_admin_backup_404_intervals_like_haproxy() {
    if !haproxy_present() {
        return;
    }
    let line = Arc::new(Mutex::new("up 100%\n".to_string()));
    let agent = tcp::agent(line.clone()).await;
    let agent_srv = web::patroni(Arc::new(AtomicU16::new(200)), "").await;
    let main_code = Arc::new(AtomicU16::new(200));
    let main = web::patroni(main_code.clone(), "").await;
    let bk_code = Arc::new(AtomicU16::new(200));
    let bk = web::patroni(bk_code.clone(), "").await;
    let c404 = Arc::new(AtomicU16::new(200));
    let s404 = web::patroni(c404.clone(), "").await;
    let iv_code = Arc::new(AtomicU16::new(200));
    let iv = web::patroni(iv_code.clone(), "").await;

    let srv = |a: SocketAddr| format!("{a} check inter {INTER_MS}ms");
    let backends = format!(
        "backend be1\n  option httpchk\n  server s1 {} check inter 700ms agent-check agent-port {} agent-inter {INTER_MS}ms\n\
         backend be2\n  option httpchk\n  server s1 {}\n  server b1 {} backup\n\
         backend be3\n  option httpchk\n  http-check disable-on-404\n  server s1 {}\n\
         backend be4\n  option httpchk\n  server s1 {} check inter 1000ms fastinter 100ms downinter 700ms\n",
        agent_srv.addr,
        agent.addr.port(),
        srv(main.addr),
        srv(bk.addr),
        srv(s404.addr),
        iv.addr,
    );
    let mut be1 = mk("be1", "s1", false, agent_srv.addr, http(&[], vec![]), true);
    be1.agent = Some(AgentSpec {
        port: agent.addr.port(),
        inter: Duration::from_millis(INTER_MS),
        ..Default::default()
    });
    // 700 ms: the health checks of be1 are not in step with the agent's
    // changes (whole seconds), so whether one is in flight when maintenance
    // starts is not left to chance.
    if let Some(c) = be1.check.as_mut() {
        c.intervals.inter = Duration::from_millis(700);
    }
    let mut be3 = mk("be3", "s1", false, s404.addr, http(&[], vec![]), true);
    if let Some(CheckSpec {
        probe: ProbeSpec::Http(h),
        ..
    }) = be3.check.as_mut()
    {
        h.disable_on_404 = true;
    }
    let mut be4 = mk("be4", "s1", false, iv.addr, http(&[], vec![]), true);
    if let Some(c) = be4.check.as_mut() {
        c.intervals = Intervals {
            inter: Duration::from_millis(1000),
            fastinter: Some(Duration::from_millis(100)),
            downinter: Some(Duration::from_millis(700)),
        };
    }
    let servers = vec![
        be1,
        mk("be2", "s1", false, main.addr, http(&[], vec![]), true),
        mk("be2", "b1", true, bk.addr, http(&[], vec![]), true),
        be3,
        be4,
    ];
    let schedule = |t0: Instant| async move {
        let at = |ms: u64| tokio::time::sleep_until(t0 + Duration::from_millis(ms));
        let say = |s: &str| *line.lock().unwrap() = s.to_string();
        at(1000).await;
        say("drain\n");
        main_code.store(503, Ordering::SeqCst);
        c404.store(404, Ordering::SeqCst);
        iv_code.store(503, Ordering::SeqCst);
        at(2000).await;
        say("ready 50%\n");
        bk_code.store(503, Ordering::SeqCst);
        at(3000).await;
        say("maint\n");
        // be2: the backup comes back first (running on backup), then s1.
        bk_code.store(200, Ordering::SeqCst);
        c404.store(200, Ordering::SeqCst);
        iv_code.store(200, Ordering::SeqCst);
        at(4000).await;
        say("ready up\n");
        main_code.store(200, Ordering::SeqCst);
        at(5000).await;
    };
    compare(&backends, true, servers, schedule, 4).await;
}

/// `check-ssl` (verify none, and verify with `ca-file`), a TLS check against a
/// plain-text server, a layer-4 connect timeout, and `check-send-proxy`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_l4_timeout_like_haproxy() {
    if !haproxy_present() {
        return;
    }
    let tls = common::tls_server().await;
    let plain = tcp::reply_dyn(Arc::new(Mutex::new(b"garbage\r\n\r\n".to_vec()))).await;
    let unaccepting = tcp::unaccepting();
    let ca = common::data("ca.pem");
    let srv = |a: SocketAddr| format!("{a} check inter {INTER_MS}ms");
    let backends = format!(
        "backend be1\n  mode tcp\n  server s1 {} check-ssl verify none\n\
         backend be2\n  option httpchk\n  server s1 {} check-ssl verify required ca-file {} check-sni check.test\n\
         backend be3\n  option httpchk\n  server s1 {} check-ssl verify none\n\
         backend be4\n  mode tcp\n  server s1 {}\n",
        srv(tls.addr),
        srv(tls.addr),
        ca.display(),
        srv(plain.addr),
        srv(unaccepting.addr),
    );
    let none = TlsSpec {
        verify: false,
        ca_file: None,
        sni: None,
    };
    let mut be1 = mk("be1", "s1", false, tls.addr, ProbeSpec::Tcp, true);
    be1.check.as_mut().unwrap().tls = Some(none.clone());
    let mut be2 = mk("be2", "s1", false, tls.addr, http(&[], vec![]), true);
    be2.check.as_mut().unwrap().tls = Some(TlsSpec {
        verify: true,
        ca_file: Some(ca.clone()),
        sni: Some("check.test".into()),
    });
    let mut be3 = mk("be3", "s1", false, plain.addr, http(&[], vec![]), true);
    be3.check.as_mut().unwrap().tls = Some(none);
    let be4 = mk("be4", "s1", false, unaccepting.addr, ProbeSpec::Tcp, true);
    let schedule = |t0: Instant| async move {
        tokio::time::sleep_until(t0 + Duration::from_millis(2000)).await;
    };
    compare(&backends, true, vec![be1, be2, be3, be4], schedule, 4).await;
}

/// The Patroni configuration from Patroni's documentation: `option httpchk
/// OPTIONS /master`, `http-check expect status 200`, `default-server ...
/// on-marked-down shutdown-sessions`, `check port <patroni>`: the primary
/// moves from pg1 to pg2 and back, and both checkers follow it the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patroni_failover_like_haproxy() {
    if !haproxy_present() {
        return;
    }
    let c1 = Arc::new(AtomicU16::new(200));
    let c2 = Arc::new(AtomicU16::new(503));
    let api1 = web::patroni(c1.clone(), "{\"role\": \"master\"}").await;
    let api2 = web::patroni(c2.clone(), "{\"role\": \"replica\"}").await;
    // The PostgreSQL ports themselves are never touched by the checks.
    let pg1 = tcp::silent().await;
    let pg2 = tcp::silent().await;
    let backends = format!(
        // An abstract UNIX listener: nothing connects to it, and a TCP port picked
        // in advance could be taken meanwhile (CI saw "Address already in use").
        "listen primary\n  bind abns@haproxide-diff-primary-{}\n  mode tcp\n  option httpchk OPTIONS /master\n  http-check expect status 200\n\
         \x20 default-server inter {INTER_MS}ms fall 3 rise 2 on-marked-down shutdown-sessions\n\
         \x20 server pg1 {} maxconn 100 check port {}\n  server pg2 {} maxconn 100 check port {}\n",
        std::process::id(),
        pg1.addr,
        api1.addr.port(),
        pg2.addr,
        api2.addr.port(),
    );
    let probe = || {
        ProbeSpec::Http(HttpCheckSpec {
            send: HttpSend::from_httpchk_args(&["OPTIONS", "/master"]),
            expect: vec![HttpExpect {
                negate: false,
                kind: HttpExpectKind::Status(vec![(200, 200)]),
            }],
            ..Default::default()
        })
    };
    let mut s1 = mk("primary", "pg1", false, pg1.addr, probe(), true);
    s1.check.as_mut().unwrap().port = Some(api1.addr.port());
    let mut s2 = mk("primary", "pg2", false, pg2.addr, probe(), true);
    s2.check.as_mut().unwrap().port = Some(api2.addr.port());
    let schedule = |t0: Instant| async move {
        let at = |ms: u64| tokio::time::sleep_until(t0 + Duration::from_millis(ms));
        at(1000).await;
        // failover: pg1 steps down, pg2 is promoted once pg1 is out (both
        // checkers must see the same order, so the steps are > 3 intervals apart)
        c1.store(503, Ordering::SeqCst);
        at(2000).await;
        c2.store(200, Ordering::SeqCst);
        at(3000).await;
        c2.store(503, Ordering::SeqCst);
        at(4000).await;
        c1.store(200, Ordering::SeqCst);
        at(5200).await;
    };
    compare(&backends, true, vec![s1, s2], schedule, 2).await;
}

/// `http-check send-state`: the `X-Haproxy-Server-State` header haproxide
/// sends is byte-identical to HAProxy's for the same server state (each
/// checker gets its own mock; the port in the header is masked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_state_header_like_haproxy() {
    if !haproxy_present() {
        return;
    }
    let theirs = web::patroni(Arc::new(AtomicU16::new(200)), "").await;
    let ours = web::patroni(Arc::new(AtomicU16::new(200)), "").await;
    let other = web::patroni(Arc::new(AtomicU16::new(200)), "").await;
    let backends = format!(
        "backend be1\n  option httpchk GET /health\n  http-check send-state\n  server s1 {} check inter {INTER_MS}ms weight 20\n  server s2 {} check inter {INTER_MS}ms weight 30\n",
        theirs.addr, other.addr,
    );
    let h = ProbeSpec::Http(HttpCheckSpec {
        send: HttpSend::from_httpchk_args(&["GET", "/health"]),
        send_state: true,
        ..Default::default()
    });
    let mut s1 = mk("be1", "s1", false, ours.addr, h.clone(), true);
    s1.weight = 20;
    let mut s2 = mk("be1", "s2", false, other.addr, h, true);
    s2.weight = 30;
    let schedule = |t0: Instant| async move {
        tokio::time::sleep_until(t0 + Duration::from_millis(1000)).await;
    };
    compare(&backends, true, vec![s1, s2], schedule, 2).await;
    let mask = |req: &[u8], port: u16| {
        String::from_utf8_lossy(req).replace(&format!("port={port};"), "port=P;")
    };
    let t: Vec<String> = theirs
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| mask(r, theirs.addr.port()))
        .collect();
    let o: Vec<String> = ours
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| mask(r, ours.addr.port()))
        .collect();
    assert!(
        t.len() >= 3 && o.len() >= 3,
        "too few requests: {t:?} {o:?}"
    );
    // First request (server UP 1/3, before any result), then fully UP.
    assert_eq!(o[0], t[0]);
    assert_eq!(o[2], t[2]);
    assert!(t[0].contains("x-haproxy-server-state: UP 1/3;"), "{}", t[0]);
    if std::env::var_os("HAPROXIDE_DIFF_VERBOSE").is_some() {
        eprintln!("{:?}\n{:?}\n{:?}", t[0], t[2], o[2]);
    }
}
