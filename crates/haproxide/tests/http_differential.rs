//! HTTP differential test: haproxide (`haproxide -f cfg`, the built binary) against
//! HAProxy 2.6.12 (/usr/sbin/haproxy), on the same configurations and the same raw
//! requests (issue 14, "must show" 2).
//!
//! Each configuration of tests/http_diff/configs.rs runs once under each proxy,
//! both at the same time, each with its own recording backends
//! (haproxide_testkit::recorder::Backend) and syslog catcher; the configurations
//! run in parallel, the cases of one configuration in order. For every case of
//! tests/http_diff/cases.rs, compared between the two:
//! - `client`: the bytes the client receives (statuses, headers in order, bodies)
//!   and whether the proxy closes the connection;
//! - `backend`: per backend, the requests it receives, byte for byte;
//! - `log`: the log lines (`option httplog`, `log-format`) with the timers, dates,
//!   ports and counters masked.
//!
//! A configuration haproxide refuses is a difference of part `refused` for all its
//! cases. Differences are allowed only where tests/http_diff/known.txt lists them
//! with a reason (the list should only shrink); entries that no longer differ are
//! printed as stale. HAProxy's statuses are also checked against each case's
//! `expect`, so a case that does not test what it says fails.
//!
//! Environment: HTTP_DIFF_ONLY=cfg1,cfg2 runs those configurations only;
//! HTTP_DIFF_SHOW=1 prints both transcripts of every difference;
//! HTTP_DIFF_DUMP=<text> prints HAProxy's outcome of the cases whose
//! `config/case` contains the text. Skipped, with a
//! message, when /usr/sbin/haproxy is absent (scripts/install-deps installs it).

mod http_diff;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use haproxide_testkit::fs::TempDir;
use haproxide_testkit::recorder::{converse, Backend, Proxy, Transcript};
use haproxide_testkit::syslog::UdpCatcher;

use http_diff::cases::{self, Case};
use http_diff::configs::{self, Config};
use http_diff::{mask_log, parse_known, request_len, respond, responses, statuses, substitute};

const HAPROXY: &str = "/usr/sbin/haproxy";
const HAPROXIDE: &str = env!("CARGO_BIN_EXE_haproxide");
/// How long a client waits, once its responses are complete, for the proxy to close.
const LINGER: Duration = Duration::from_millis(200);

/// What one case produced under one proxy.
#[derive(Clone, Debug, Default)]
struct Outcome {
    client: Option<Transcript>,
    /// (backend, requests received) in the configuration's order.
    backends: Vec<(String, Vec<Vec<u8>>)>,
    log: Vec<String>,
}

/// One proxy's run of one configuration: refused (the reason), or an outcome per case.
struct Side {
    refused: Option<String>,
    outcomes: Vec<Outcome>,
}

fn drain(log: &UdpCatcher, within: Duration) -> Vec<String> {
    drain_expecting(log, 0, within)
}

/// The log lines of one case: up to `LOG_WAIT` for the first `want` of them (a
/// tunnel's line comes when the tunnel closes, which under load took longer than
/// the silence window), then until `within` of silence.
fn drain_expecting(log: &UdpCatcher, want: usize, within: Duration) -> Vec<String> {
    const LOG_WAIT: Duration = Duration::from_millis(600);
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    loop {
        let wait = if out.len() < want {
            LOG_WAIT.saturating_sub(start.elapsed()).max(within)
        } else {
            within
        };
        match log.recv(wait) {
            Some(l) => out.push(mask_log(l.trim_end())),
            None => return out,
        }
    }
}

/// The first line that says why a proxy did not start.
fn refusal(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.contains("error") || l.contains("ALERT"))
        .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("exited without a message")
        .trim()
        .to_string()
}

/// `n` distinct ports free now, below the kernel's ephemeral range (read from
/// /proc, 32768 if unreadable), so that no recorder, syslog catcher or client
/// (all on port 0) can take one before the proxy binds it: a refused proxy's
/// port must stay dead. The start depends on the pid, so that two runs at once
/// do not try the same ports. (HAProxy binds with SO_REUSEPORT: two proxies
/// given the same port would share it silently.)
fn distinct_ports(n: usize) -> Vec<u16> {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let span = u32::from(low.saturating_sub(10_000)).max(1000);
    // The search wraps around the span: a start near its top still finds `n`.
    let offset = (std::process::id() * 97) % span;
    let mut out = Vec::new();
    for i in 0..span {
        if out.len() == n {
            break;
        }
        let port = u16::try_from(10_000 + (offset + i) % span).unwrap_or(u16::MAX);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            out.push(port);
        }
    }
    assert_eq!(out.len(), n, "not enough free ports below {low}");
    out
}

fn run_side(program: &str, tag: &str, cfg: &Config, cases: &[&Case], ports: Vec<u16>) -> Side {
    let backends: Vec<(String, Backend)> = cfg
        .backends
        .iter()
        .map(|&n| {
            let name = n.to_string();
            let be = Backend::start(request_len, move |req: &[u8]| respond(n, req));
            (name, be)
        })
        .collect();
    let catcher = UdpCatcher::bind();
    let dir = TempDir::new(&format!("http-diff-{tag}-{}", cfg.name));
    let mut values: HashMap<String, String> = HashMap::new();
    let mut fe_ports = HashMap::new();
    for (fe, p) in cfg.frontends.iter().zip(ports) {
        fe_ports.insert(*fe, p);
        values.insert(fe.to_string(), p.to_string());
    }
    for (n, be) in &backends {
        values.insert(n.clone(), be.port().to_string());
    }
    values.insert("log".into(), catcher.port().to_string());
    values.insert("dir".into(), dir.dir().display().to_string());
    let text = substitute(&cfg.text, &values);
    let mut proxy = Proxy::start(Path::new(program), dir, &text, &cfg.files);
    let pid = proxy.pid();
    if program == HAPROXIDE {
        proxy = proxy
            .remove_on_drop(haproxide_process::handover::default_path(pid))
            .remove_on_drop(haproxide_process::handover::default_dir(pid));
    }
    for p in fe_ports.values() {
        if let Err(e) = proxy.wait_listening(*p, Duration::from_secs(15)) {
            return Side {
                refused: Some(refusal(&e)),
                outcomes: Vec::new(),
            };
        }
    }
    // HAProxy logs the readiness probe (a connection closed without a request:
    // `<BADREQ>` 400 CR--); under load (2 cores, 9 builds) its line came after
    // 100 ms of silence and landed in the first case's log. Wait for 400 ms of it.
    drain(&catcher, Duration::from_millis(400));
    let mut outcomes = Vec::new();
    for case in cases {
        let marks: Vec<usize> = backends.iter().map(|(_, b)| b.mark()).collect();
        let steps: Vec<&[u8]> = case.steps.iter().map(Vec::as_slice).collect();
        let want = case
            .expect
            .split_whitespace()
            .filter_map(|c| c.parse::<u16>().ok())
            .filter(|&c| c >= 200 || c == 101)
            .count();
        let head = case.head();
        let complete = move |b: &[u8]| {
            let (codes, done) = responses(b, head);
            done && codes.iter().filter(|&&c| c >= 200 || c == 101).count() >= want
        };
        let client = converse(fe_ports[case.fe], &steps, &complete, LINGER);
        let log = drain_expecting(&catcher, want, Duration::from_millis(40));
        let got = backends
            .iter()
            .zip(&marks)
            .map(|((n, b), &m)| (n.clone(), b.since(m)))
            .collect();
        outcomes.push(Outcome {
            client: Some(client),
            backends: got,
            log,
        });
    }
    drop(proxy);
    Side {
        refused: None,
        outcomes,
    }
}

fn show(b: &[u8]) -> String {
    if b.len() > 600 {
        format!(
            "{:?}... ({} bytes)",
            String::from_utf8_lossy(&b[..600]),
            b.len()
        )
    } else {
        format!("{:?}", String::from_utf8_lossy(b))
    }
}

/// The parts in which two outcomes differ, each with a description.
fn differences(theirs: &Outcome, ours: &Outcome) -> Vec<(&'static str, String)> {
    let mut d = Vec::new();
    if let (Some(t), Some(o)) = (&theirs.client, &ours.client) {
        if t != o {
            d.push((
                "client",
                format!(
                    "haproxy (closed {}): {}\n      haproxide (closed {}): {}",
                    t.closed,
                    show(&t.bytes),
                    o.closed,
                    show(&o.bytes)
                ),
            ));
        }
    }
    if theirs.backends != ours.backends {
        let mut s = String::new();
        for ((n, t), (_, o)) in theirs.backends.iter().zip(&ours.backends) {
            if t != o {
                s += &format!(
                    "backend {n}: haproxy {} request(s): {}\n      haproxide {} request(s): {}\n      ",
                    t.len(),
                    show(&t.concat()),
                    o.len(),
                    show(&o.concat())
                );
            }
        }
        d.push(("backend", s.trim_end().to_string()));
    }
    if theirs.log != ours.log {
        d.push((
            "log",
            format!("haproxy: {:?}\n      haproxide: {:?}", theirs.log, ours.log),
        ));
    }
    d
}

#[test]
fn http_as_haproxy_2_6() {
    if !Path::new(HAPROXY).exists() {
        eprintln!("skipped: {HAPROXY} is absent (scripts/install-deps installs it)");
        return;
    }
    let start = Instant::now();
    let only: Option<Vec<String>> = std::env::var("HTTP_DIFF_ONLY")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let show_all = std::env::var_os("HTTP_DIFF_SHOW").is_some();
    let dump = std::env::var("HTTP_DIFF_DUMP").ok();
    let all_configs = configs::all();
    let all_cases = cases::all();
    for case in &all_cases {
        assert!(
            all_configs.iter().any(|c| c.name == case.cfg),
            "case {:?} names an unknown configuration {:?}",
            case.name,
            case.cfg
        );
    }
    assert!(
        all_configs.len() >= 10,
        "{} configurations",
        all_configs.len()
    );
    assert!(all_cases.len() >= 200, "{} cases", all_cases.len());
    let known = parse_known(include_str!("http_diff/known.txt"));
    let configs: Vec<&Config> = all_configs
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|n| n == c.name)))
        .collect();

    // Every configuration under both proxies, all at once.
    let fronts: usize = configs.iter().map(|c| c.frontends.len()).sum();
    let mut ports = distinct_ports(2 * fronts).into_iter();
    let results: Vec<(Side, Side)> = std::thread::scope(|sc| {
        let handles: Vec<_> = configs
            .iter()
            .map(|cfg| {
                let cases: Vec<&Case> = all_cases.iter().filter(|c| c.cfg == cfg.name).collect();
                let cases2 = cases.clone();
                let n = cfg.frontends.len();
                let p1: Vec<u16> = ports.by_ref().take(n).collect();
                let p2: Vec<u16> = ports.by_ref().take(n).collect();
                let theirs = sc.spawn(move || run_side(HAPROXY, "haproxy", cfg, &cases, p1));
                let ours = sc.spawn(move || run_side(HAPROXIDE, "haproxide", cfg, &cases2, p2));
                (theirs, ours)
            })
            .collect();
        handles
            .into_iter()
            .map(|(t, o)| {
                (
                    t.join().expect("haproxy side"),
                    o.join().expect("haproxide side"),
                )
            })
            .collect()
    });

    let mut wrong_expect = Vec::new();
    let mut unexpected = Vec::new();
    let mut used = vec![false; known.len()];
    let (mut total, mut identical, mut listed, mut refused_cases) = (0, 0, 0, 0);
    println!("config          cases identical listed unexpected");
    for (cfg, (theirs, ours)) in configs.iter().zip(&results) {
        let cases: Vec<&Case> = all_cases.iter().filter(|c| c.cfg == cfg.name).collect();
        if let Some(r) = &theirs.refused {
            wrong_expect.push(format!(
                "{}: HAProxy refused the configuration: {r}",
                cfg.name
            ));
            continue;
        }
        let (mut same, mut lst, mut unexp) = (0, 0, 0);
        for (i, case) in cases.iter().enumerate() {
            total += 1;
            let t = &theirs.outcomes[i];
            let got = t
                .client
                .as_ref()
                .map(|c| statuses(&c.bytes, case.head()))
                .unwrap_or_default();
            if dump
                .as_ref()
                .is_some_and(|d| format!("{}/{}", cfg.name, case.name).contains(d.as_str()))
            {
                println!("--- {} / {} (HAProxy)", cfg.name, case.name);
                if let Some(c) = &t.client {
                    println!("client (closed {}): {}", c.closed, show(&c.bytes));
                }
                for l in &t.log {
                    println!("log: {l}");
                }
                for (n, reqs) in &t.backends {
                    for r in reqs {
                        println!("backend {n}: {}", show(r));
                    }
                }
            }
            if got != case.expect {
                let (bytes, closed) = t
                    .client
                    .as_ref()
                    .map(|c| (show(&c.bytes), c.closed))
                    .unwrap_or_default();
                wrong_expect.push(format!(
                    "{} / {}: HAProxy answered {got:?}, the case expects {:?}\n      (closed {closed}) {bytes}",
                    cfg.name, case.name, case.expect
                ));
            }
            let diffs: Vec<(&str, String)> = match &ours.refused {
                Some(r) => {
                    refused_cases += 1;
                    vec![("refused", r.clone())]
                }
                None => differences(t, &ours.outcomes[i]),
            };
            if diffs.is_empty() {
                same += 1;
                continue;
            }
            let mut all_listed = true;
            for (part, what) in &diffs {
                match known
                    .iter()
                    .position(|k| k.covers(cfg.name, &case.name, part))
                {
                    Some(k) => {
                        used[k] = true;
                        if show_all {
                            println!(
                                "listed: {} | {} | {part}\n      {what}",
                                cfg.name, case.name
                            );
                        }
                    }
                    None => {
                        all_listed = false;
                        unexpected.push(format!(
                            "{} | {} | {part}\n      {what}",
                            cfg.name, case.name
                        ));
                    }
                }
            }
            if all_listed {
                lst += 1;
            } else {
                unexp += 1;
            }
        }
        identical += same;
        listed += lst;
        let note = ours
            .refused
            .as_ref()
            .map(|r| format!("  (haproxide refuses: {r})"))
            .unwrap_or_default();
        println!(
            "{:<15} {:>5} {same:>9} {lst:>6} {unexp:>10}{note}",
            cfg.name,
            cases.len()
        );
    }
    println!(
        "total: {total} cases in {} configurations: {identical} identical, {listed} listed \
         differences ({refused_cases} in refused configurations), {} unexpected; {:.1} s",
        configs.len(),
        unexpected.len(),
        start.elapsed().as_secs_f64()
    );
    for (k, u) in known.iter().zip(&used) {
        let in_scope = configs.iter().any(|c| c.name == k.cfg);
        if !u && in_scope {
            println!(
                "stale entry (no longer differs; remove it): known.txt:{}: {} | {} | {}",
                k.line, k.cfg, k.case, k.part
            );
        }
    }
    assert!(
        wrong_expect.is_empty(),
        "cases that do not test what they say against HAProxy 2.6.12:\n{}",
        wrong_expect.join("\n")
    );
    assert!(
        unexpected.is_empty(),
        "differences with HAProxy 2.6.12 not in tests/http_diff/known.txt:\n{}",
        unexpected.join("\n")
    );
}
