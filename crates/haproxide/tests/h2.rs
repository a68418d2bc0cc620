//! HTTP/2 clients to HTTP/1.1 servers (issue 15), with real clients, side by side
//! with HAProxy 2.6.12 on the same configuration: a TLS bind offering
//! `alpn h2,http/1.1` and a clear bind with `proto h2` (prior knowledge), one
//! frontend routing by path to two recording backends, `option httplog` to a
//! UDP catcher.
//!
//! For each proxy: curl `--http2` over TLS (certificate checked against the test
//! CA) and `--http2-prior-knowledge` (GET with two `cookie` fields, HEAD, a 404,
//! POST with a length, POST without one), h2load over both binds, and headless
//! Chromium loading a page with a script, a stylesheet and an image over h2 with
//! the test CA trusted in a temp NSS database (certutil); the screenshot's pixels
//! are checked. Then haproxide's results are compared with HAProxy's: the status,
//! protocol, response headers (but `date`), bodies, what each backend received,
//! and the log fields (frontend, backend/server, status, termination state,
//! request line `... HTTP/2.0`).
//!
//! Skipped with a message when a tool is missing (scripts/install-deps installs
//! them). Every client runs under `timeout`.

#[path = "http_diff/mod.rs"]
mod http_diff;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use haproxide_testkit::fs::TempDir;
use haproxide_testkit::recorder::{Backend, Proxy, Reply};
use haproxide_testkit::syslog::UdpCatcher;
use http_diff::page::{CSS, JS, PAGE, PIXELS_PY, SVG};

const HAPROXY: &str = "/usr/sbin/haproxy";
const HAPROXIDE: &str = env!("CARGO_BIN_EXE_haproxide");

/// A 200 with hop-by-hop fields and two `set-cookie` (how each proxy converts
/// them to HTTP/2 is compared).
fn ok(ctype: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nCache-Control: no-store\r\nX-Hop: 1\r\n\
         Connection: X-Hop\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn serve(req: &[u8]) -> Reply {
    let t = haproxide_testkit::http::target(req);
    let bytes = match t.as_str() {
        "/" => ok("text/html", PAGE),
        "/app.js" => ok("application/javascript", JS),
        "/static/style.css" => ok("text/css", CSS),
        "/static/red.svg" => ok("image/svg+xml", SVG),
        "/echo" => ok("text/plain", &format!("{} bytes", req.len())),
        "/chunked" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                .to_vec()
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
    };
    Reply::Send(bytes)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("run a client");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(st.success(), "openssl {args:?}");
}

/// A test CA and a server certificate for localhost / 127.0.0.1 signed by it
/// (`srv.pem`: certificate and key), ECDSA P-256.
pub fn certs(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=h2 test ca",
        "-days",
        "2",
    ]);
    openssl(dir, &a);
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &a);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let pem = [
        std::fs::read(dir.join("srv.crt")).unwrap(),
        std::fs::read(dir.join("srv.key")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("srv.pem"), pem).unwrap();
}

/// A free port below the ephemeral range (see tests/real_clients.rs).
fn port(salt: u32) -> u16 {
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let span = u32::from(low.saturating_sub(10_000)).max(1000);
    let mut p = 10_000 + (std::process::id() * 97 + salt * 7919 + 13) % span;
    loop {
        let port = u16::try_from(p).unwrap_or(u16::MAX);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() || p >= u32::from(low) {
            return port;
        }
        p += 1;
    }
}

fn cfg(certs: &Path, tls: u16, clear: u16, log: u16, pages: u16, assets: u16) -> String {
    format!(
        "global\n  tune.h2.max-concurrent-streams 64\n  tune.h2.initial-window-size 65535\n\
         defaults\n  mode http\n  log 127.0.0.1:{log} local0\n  option httplog\n\
         \x20 timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
         frontend fe\n  bind 127.0.0.1:{tls} ssl crt {}/srv.pem alpn h2,http/1.1\n\
         \x20 bind 127.0.0.1:{clear} proto h2\n\
         \x20 use_backend assets if {{ path_beg /static/ }}\n  default_backend pages\n\
         backend pages\n  server p1 127.0.0.1:{pages}\n\
         backend assets\n  server a1 127.0.0.1:{assets}\n",
        certs.display()
    )
}

/// What one proxy did, compared between the two.
#[derive(Debug, Default)]
struct Seen {
    /// Per curl call: status line, headers (sorted, no `date`), body.
    curl: Vec<String>,
    /// What the backends received, in order.
    backend: Vec<String>,
    /// Per log line: frontend, backend/server, status, termination state, request.
    log: Vec<String>,
}

/// curl's response: `HTTP/2 200`, the header lines lower-cased and sorted
/// (`date` dropped), then the body.
fn curl(args: &[&str]) -> String {
    let out = run(Command::new("timeout")
        .args(["20", "curl", "-sS", "--max-time", "10", "-i"])
        .args(args));
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().trim().to_string();
    let mut h: Vec<String> = lines
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.starts_with("date:"))
        .collect();
    h.sort();
    format!("{status} | {} | {body}", h.join(", "))
}

/// A log line's fields that do not depend on time or ports.
fn log_fields(line: &str) -> Option<String> {
    let msg = line.split_once("]: ")?.1.trim_end();
    let mut w = msg.split_whitespace();
    let _client = w.next()?;
    let _date = w.next()?;
    let fe = w.next()?;
    let be = w.next()?;
    let _timers = w.next()?;
    let status = w.next()?;
    let _bytes = w.next()?;
    let _ck = (w.next()?, w.next()?);
    let term = w.next()?;
    let req = msg.split_once('"').map(|(_, r)| r.trim_end_matches('"'))?;
    Some(format!("{fe} {be} {status} {term} \"{req}\""))
}

fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the clients through `program`: the failures found, and what it did.
fn through(program: &str, tag: &str, certdir: &Path) -> Result<(Vec<String>, Seen), String> {
    let pages = Backend::start(http_diff::request_len, serve);
    let assets = Backend::start(http_diff::request_len, serve);
    let catcher = UdpCatcher::bind();
    let (tls, clear) = (port(1), port(2));
    let dir = TempDir::new(&format!("h2-{tag}"));
    let work = TempDir::new(&format!("h2-out-{tag}"));
    let text = cfg(
        certdir,
        tls,
        clear,
        catcher.port(),
        pages.port(),
        assets.port(),
    );
    let mut proxy = Proxy::start(Path::new(program), dir, &text, &[]);
    if program == HAPROXIDE {
        let pid = proxy.pid();
        proxy = proxy
            .remove_on_drop(haproxide_process::handover::default_path(pid))
            .remove_on_drop(haproxide_process::handover::default_dir(pid));
    }
    proxy.wait_listening(tls, Duration::from_secs(15))?;
    proxy.wait_listening(clear, Duration::from_secs(15))?;
    let mut fail = Vec::new();
    let mut seen = Seen::default();
    let ca = certdir.join("ca.pem");
    let ca = ca.to_str().unwrap_or_default();
    let https = format!("https://localhost:{tls}");
    let resolve = format!("localhost:{tls}:127.0.0.1");
    let h2c = format!("http://127.0.0.1:{clear}");
    let (pm, am) = (pages.mark(), assets.mark());

    // curl over TLS (ALPN h2) and with prior knowledge.
    let calls: Vec<Vec<String>> = vec![
        vec![
            "--http2".into(),
            "--cacert".into(),
            ca.into(),
            "--resolve".into(),
            resolve.clone(),
            format!("{https}/"),
        ],
        vec![
            "--http2-prior-knowledge".into(),
            "-H".into(),
            "Cookie: a=1".into(),
            "-H".into(),
            "X-Mid: 2".into(),
            "-H".into(),
            "Cookie: b=2".into(),
            format!("{h2c}/app.js"),
        ],
        vec![
            "--http2-prior-knowledge".into(),
            "-I".into(),
            format!("{h2c}/static/style.css"),
        ],
        vec!["--http2-prior-knowledge".into(), format!("{h2c}/nothing")],
        vec![
            "--http2-prior-knowledge".into(),
            "-d".into(),
            "x".repeat(5000),
            format!("{h2c}/echo"),
        ],
        vec![
            "--http2-prior-knowledge".into(),
            "-H".into(),
            "Transfer-Encoding: chunked".into(),
            "-d".into(),
            "hello".into(),
            format!("{h2c}/echo"),
        ],
        vec![
            "--http2".into(),
            "--cacert".into(),
            ca.into(),
            "--resolve".into(),
            resolve.clone(),
            format!("{https}/chunked"),
        ],
    ];
    assert_eq!(calls.len(), calls_len());
    for c in &calls {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let got = curl(&args);
        if !got.starts_with("HTTP/2 ") {
            fail.push(format!("curl {:?}: not HTTP/2: {got:?}", c.last()));
        }
        seen.curl.push(got);
    }
    if !seen.curl[0].ends_with(PAGE) || !seen.curl[1].ends_with(JS) {
        fail.push(format!("curl bodies: {:?}", &seen.curl[..2]));
    }
    for (b, m) in [(&pages, pm), (&assets, am)] {
        for r in b.since(m) {
            seen.backend.push(String::from_utf8_lossy(&r).into_owned());
        }
    }

    // h2load over both binds: every request answered 2xx.
    if has("h2load") {
        for url in [
            format!("{https}/static/red.svg"),
            format!("{h2c}/static/red.svg"),
        ] {
            let out = run(Command::new("timeout")
                .args(["60", "h2load", "-n", "400", "-c", "4", "-m", "8", &url]));
            if !out.contains("400 succeeded") || !out.contains("400 2xx") {
                fail.push(format!("h2load {url}: {out}"));
            }
        }
    } else {
        eprintln!("h2load is missing: its part is skipped (scripts/install-deps)");
    }

    // Chromium over h2 with the test CA trusted in a temp NSS database.
    if has("chromium") && has("certutil") && has("python3") {
        let home = work.path("home");
        let nss = home.join(".pki/nssdb");
        std::fs::create_dir_all(&nss).map_err(|e| e.to_string())?;
        let db = format!("sql:{}", nss.display());
        run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]));
        run(Command::new("certutil").args(["-A", "-t", "C,,", "-n", "h2ca", "-i", ca, "-d", &db]));
        let (pm, am) = (pages.mark(), assets.mark());
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
            .env("HOME", &home)
            .arg(format!(
                "--user-data-dir={}",
                work.path("profile").display()
            ))
            .arg(format!(
                "--host-resolver-rules=MAP localhost:{tls} 127.0.0.1:{tls}"
            ))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("{https}/"))
            .stdin(Stdio::null())
            .output()
            .expect("chromium");
        if !shot.exists() {
            fail.push(format!(
                "chromium wrote no screenshot: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        } else {
            let colours = run(Command::new("python3")
                .arg("-c")
                .arg(PIXELS_PY)
                .arg(&shot)
                .args(["50,50", "200,50", "350,50", "200,200"]));
            let want = "0000ff\nff0000\nffff00\n00ff00\n";
            if colours != want {
                fail.push(format!(
                    "chromium screenshot pixels: {colours:?}, want {want:?}"
                ));
            }
        }
        let n = pages.since(pm).len() + assets.since(am).len();
        if n < 4 {
            fail.push(format!("chromium: the backends got {n} requests, want 4"));
        }
    } else {
        eprintln!("chromium, certutil or python3 is missing: the browser part is skipped");
    }
    drop(proxy);
    while let Some(l) = catcher.recv(Duration::from_millis(300)) {
        if let Some(f) = log_fields(&l) {
            seen.log.push(f);
        }
    }
    if seen.log.len() < calls.len() {
        fail.push(format!("log lines: {:?}", seen.log));
    }
    Ok((fail, seen))
}

/// The number of curl calls `through` makes.
fn calls_len() -> usize {
    7
}

#[test]
fn h2_clients_through_both_proxies() {
    for tool in ["curl", "openssl", "timeout"] {
        if !has(tool) {
            eprintln!("skipped: {tool} is missing (scripts/install-deps installs it)");
            return;
        }
    }
    if !Path::new(HAPROXY).exists() {
        eprintln!("skipped: {HAPROXY} is absent (scripts/install-deps installs it)");
        return;
    }
    let cd = TempDir::new("h2-certs");
    certs(cd.dir());
    let (tf, theirs) = through(HAPROXY, "haproxy", cd.dir()).expect("haproxy starts");
    assert!(tf.is_empty(), "through HAProxy 2.6.12:\n{}", tf.join("\n"));
    let (of, ours) = through(HAPROXIDE, "haproxide", cd.dir()).expect("haproxide starts");
    assert!(of.is_empty(), "through haproxide:\n{}", of.join("\n"));
    for (i, (a, b)) in ours.curl.iter().zip(&theirs.curl).enumerate() {
        assert_eq!(a, b, "curl call {i}: haproxide vs HAProxy");
    }
    assert_eq!(ours.backend, theirs.backend, "what the backends received");
    // The log: the curl calls' lines in order, then h2load's and Chromium's as a set.
    let n = theirs.curl.len();
    assert_eq!(
        ours.log[..n],
        theirs.log[..n],
        "log fields of the curl calls"
    );
    let set = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(
        set(&ours.log[n..]),
        set(&theirs.log[n..]),
        "log fields of h2load and Chromium"
    );
    // Every request's line shows HTTP/2.0 (the one `<BADREQ>` is the listening
    // probe's empty connection, logged by both).
    let bad: Vec<_> = ours
        .log
        .iter()
        .filter(|l| !l.ends_with(" HTTP/2.0\"") && !l.ends_with("\"<BADREQ>\""))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    // (UDP syslog drops some of h2load's 800 lines under the burst, on both.)
    assert!(
        ours.log.len() > calls_len() + 10,
        "{} log lines",
        ours.log.len()
    );
}
