//! Benchmark helper: haproxide checking N servers with `option httpchk` at
//! `inter` against the bench responder, as HAProxy would with the config
//! written by bench/checks.sh.
//! Usage: bench_checker <servers> <inter-ms> <first-port> <ports>

use std::net::SocketAddr;
use std::time::Duration;

use haproxide_check::checker::{CheckEvent, Checker, CheckerOptions, ServerConfig};
use haproxide_check::log::ServerName;
use haproxide_check::spec::{CheckSpec, CheckTimeouts, HttpCheckSpec, Intervals, ProbeSpec};

fn main() {
    // Worker threads: HAPROXIDE_BENCH_THREADS (default: one per CPU, like
    // HAProxy's default nbthread).
    let threads: usize = std::env::var("HAPROXIDE_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    rt.expect("tokio runtime").block_on(run());
}

async fn run() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let inter: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let first: u16 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(24000);
    let ports: u16 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(10);
    let spec = CheckSpec {
        probe: ProbeSpec::Http(HttpCheckSpec::default()),
        intervals: Intervals {
            inter: Duration::from_millis(inter),
            ..Default::default()
        },
        timeouts: CheckTimeouts {
            connect: Some(Duration::from_secs(5)),
            check: Some(Duration::from_secs(5)),
        },
        ..Default::default()
    };
    let servers: Vec<ServerConfig> = (0..n)
        .map(|i| {
            let port = first + (i as u16 % ports);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            ServerConfig::checked(
                ServerName::new(format!("be{}", i / 1000), format!("s{i}")),
                addr,
                spec.clone(),
            )
        })
        .collect();
    let checker = Checker::start(
        servers,
        CheckerOptions {
            // HAPROXIDE_BENCH_SPREAD: `spread-checks` percentage (default 0).
            spread_checks: std::env::var("HAPROXIDE_BENCH_SPREAD")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            ..CheckerOptions::default()
        },
    )
    .expect("start checker");
    let view = checker.view();
    let mut rx = view.subscribe();
    let mut downs = 0u64;
    let mut last = tokio::time::Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Ok(CheckEvent::Transition { transition, .. }))
                if transition.to != transition.from =>
            {
                downs += 1
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
            _ => {}
        }
        if last.elapsed() >= Duration::from_secs(10) {
            let ids = (0..n).map(haproxide_check::checker::ServerId);
            let up = ids.clone().filter(|&id| view.is_usable(id)).count();
            let durs: Vec<u128> = ids
                .filter_map(|id| view.stats(id).and_then(|s| s.check_duration_ms))
                .collect();
            let avg = durs.iter().sum::<u128>() as f64 / durs.len().max(1) as f64;
            let max = durs.iter().max().copied().unwrap_or(0);
            eprintln!(
                "checker: {up}/{n} usable, {downs} transitions so far, \
                 last check duration avg {avg:.1} ms, max {max} ms"
            );
            last = tokio::time::Instant::now();
        }
    }
}
