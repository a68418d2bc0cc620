//! Real clients through a `mode http` frontend (issue 14, "must show" 6): curl, wrk
//! and headless Chromium load a page whose HTML and script come from one backend
//! and whose stylesheet and image come from another, the frontend routing by path
//! (`path_beg /static/`). The same run goes through HAProxy 2.6.12 and through
//! haproxide (`haproxide -f`), each with its own two recording backends.
//!
//! Checked for each proxy: curl's status and bodies (two URLs on one keep-alive
//! connection, a POST), wrk's count of non-2xx answers (none) over 1 s, and the
//! pixels of Chromium's screenshot: the page background and a box coloured by the
//! stylesheet (backend 2), the image (backend 2) and a box the script draws
//! (backend 1); then that each backend received exactly its resources.
//!
//! Everything is on 127.0.0.1 and bounded (`timeout` around each client). Skipped,
//! with a message, when HAProxy, curl, wrk or chromium is missing (scripts/install-deps
//! installs them). While haproxide refuses the configuration, its part is reported
//! and skipped; HAProxy's part always runs, so the test checks itself.

#[path = "http_diff/mod.rs"]
mod http_diff;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use haproxide_testkit::fs::TempDir;
use haproxide_testkit::recorder::{Backend, Proxy};

const HAPROXY: &str = "/usr/sbin/haproxy";
const HAPROXIDE: &str = env!("CARGO_BIN_EXE_haproxide");

use http_diff::page::*;

fn cfg(fe: u16, pages: u16, assets: u16) -> String {
    format!(
        "defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
         frontend fe\n  bind 127.0.0.1:{fe}\n  option forwardfor\n\
         \x20 use_backend assets if {{ path_beg /static/ }}\n  default_backend pages\n\
         backend pages\n  server p1 127.0.0.1:{pages}\n\
         backend assets\n  server a1 127.0.0.1:{assets}\n"
    )
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a client");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// curl, bounded, with `args`: what it printed.
fn curl(args: &[&str]) -> String {
    run(Command::new("timeout")
        .args(["20", "curl", "-sS", "--max-time", "10"])
        .args(args))
}

/// A port below the ephemeral range (see http_differential.rs: nothing on port 0
/// can take it before the proxy binds it).
fn port() -> u16 {
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let span = u32::from(low.saturating_sub(10_000)).max(1000);
    let mut p = 10_000 + (std::process::id() * 89 + 7) % span;
    loop {
        let port = u16::try_from(p).unwrap_or(u16::MAX);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() || p >= u32::from(low) {
            return port;
        }
        p += 1;
    }
}

/// Runs the clients through the proxy `program`; None if it refused the
/// configuration (with why), else the failures found.
fn through(program: &str, tag: &str) -> Result<Vec<String>, String> {
    let pages = Backend::start(http_diff::request_len, serve);
    let assets = Backend::start(http_diff::request_len, serve);
    let fe = port();
    let dir = TempDir::new(&format!("real-clients-{tag}"));
    let work = TempDir::new(&format!("real-clients-out-{tag}"));
    let mut proxy = Proxy::start(
        Path::new(program),
        dir,
        &cfg(fe, pages.port(), assets.port()),
        &[],
    );
    if program == HAPROXIDE {
        let pid = proxy.pid();
        proxy = proxy
            .remove_on_drop(haproxide_process::handover::default_path(pid))
            .remove_on_drop(haproxide_process::handover::default_dir(pid));
    }
    proxy.wait_listening(fe, Duration::from_secs(15))?;
    let base = format!("http://127.0.0.1:{fe}");
    let mut fail = Vec::new();

    // curl: two URLs on one connection, then a POST.
    let got = curl(&[
        "-w",
        " [%{http_code} %{num_connects}]",
        &format!("{base}/static/style.css"),
        &format!("{base}/app.js"),
    ]);
    let want = format!("{CSS} [200 1]{JS} [200 0]");
    if got != want {
        fail.push(format!("curl, two URLs: {got:?}, want {want:?}"));
    }
    let got = curl(&["-d", &"x".repeat(5000), &format!("{base}/echo")]);
    if !got.ends_with(" bytes") {
        fail.push(format!("curl POST: {got:?}"));
    }

    // wrk: 1 s, 4 connections, no non-2xx answer.
    let got = run(Command::new("timeout").args([
        "20",
        "wrk",
        "-t1",
        "-c4",
        "-d1s",
        &format!("{base}/static/red.svg"),
    ]));
    let requests = got
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if requests == 0 || got.contains("Non-2xx") || got.contains("Socket errors") {
        fail.push(format!("wrk: {got}"));
    }

    // Chromium: the page, then the pixels. wrk's last requests may still be on
    // their way to the backends when wrk has exited (the proxy forwards a request
    // it read even when its client has gone): wait until the backends have
    // received nothing new for 300 ms (at most 5 s) before counting.
    let mut marks = (pages.mark(), assets.mark());
    for _ in 0..16 {
        std::thread::sleep(Duration::from_millis(300));
        let now = (pages.mark(), assets.mark());
        if now == marks {
            break;
        }
        marks = now;
    }
    let (pages_mark, assets_mark) = marks;
    let shot = work.path("shot.png");
    let out = Command::new("timeout")
        .args([
            "60",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--window-size=400,300",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("{base}/"))
        .output()
        .expect("chromium");
    if !shot.exists() {
        fail.push(format!(
            "chromium wrote no screenshot: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
        return Ok(fail);
    }
    let colours = run(Command::new("python3")
        .arg("-c")
        .arg(PIXELS_PY)
        .arg(&shot)
        .args(["50,50", "200,50", "350,50", "200,200"]));
    let want = "0000ff\nff0000\nffff00\n00ff00\n";
    if colours != want {
        fail.push(format!(
            "screenshot pixels (css box, svg image, script box, css background): {colours:?}, want {want:?}"
        ));
    }
    let targets = |b: &Backend, m: usize| {
        let mut v: Vec<String> = b
            .since(m)
            .iter()
            .map(|r| haproxide_testkit::http::target(r))
            .filter(|t| t != "/favicon.ico")
            .collect();
        v.sort();
        v
    };
    let (p, a) = (targets(&pages, pages_mark), targets(&assets, assets_mark));
    if p != ["/", "/app.js"] || a != ["/static/red.svg", "/static/style.css"] {
        fail.push(format!("backends received: pages {p:?}, assets {a:?}"));
    }
    Ok(fail)
}

#[test]
fn curl_wrk_and_chromium_through_both_proxies() {
    for tool in ["curl", "wrk", "chromium", "python3", "timeout"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            eprintln!("skipped: {tool} is missing (scripts/install-deps installs it)");
            return;
        }
    }
    if !Path::new(HAPROXY).exists() {
        eprintln!("skipped: {HAPROXY} is absent (scripts/install-deps installs it)");
        return;
    }
    let theirs = through(HAPROXY, "haproxy").unwrap_or_else(|e| vec![format!("refused: {e}")]);
    assert!(
        theirs.is_empty(),
        "through HAProxy 2.6.12:\n{}",
        theirs.join("\n")
    );
    println!("HAProxy 2.6.12: curl, wrk and chromium pass");
    match through(HAPROXIDE, "haproxide") {
        Err(e) => println!(
            "haproxide refuses the configuration (its part is skipped): {}",
            e.lines().find(|l| l.contains("error")).unwrap_or(&e)
        ),
        Ok(ours) => {
            assert!(ours.is_empty(), "through haproxide:\n{}", ours.join("\n"));
            println!("haproxide: curl, wrk and chromium pass");
        }
    }
}
