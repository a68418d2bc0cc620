//! The stats page and the Prometheus exporter of a running haproxide, as users
//! meet them (issue 5, "What must show"):
//!
//! - the page opened in headless Chromium (Debian's `chromium`, driven over the
//!   DevTools protocol on a pipe): it renders the server rows, basic auth is
//!   enforced (401 + `WWW-Authenticate`), and the admin form puts a server in MAINT
//!   (seen on the page and by `show stat` on the stats socket). With
//!   `HAPROXIDE_SCREENSHOT=path` the test also writes a screenshot there (that is
//!   how docs/stats-page.png is made: see docs/stats.md);
//! - /metrics parsed by the official Prometheus client's text-format parser
//!   (Debian's `python3-prometheus-client`).
//!
//! Both tools are installed by scripts/install-deps.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{echo_server, free_port, guard, Proc, TempDir};
use haproxide_testkit::tcp::{self, OnThread};

/// A server that accepts and closes (its TCP check passes); stops when dropped.
fn up_server() -> OnThread {
    OnThread::start(tcp::closing)
}

struct Setup {
    proc: Proc,
    dir: TempDir,
    port: u16,
    /// The `up` server, stopped after haproxide.
    _up: OnThread,
}

impl Setup {
    fn socket(&self) -> PathBuf {
        self.dir.0.join("admin.sock")
    }
}

/// Starts haproxide; its stderr goes to `<cfg>.<n>.log` (n = 0 first, 1 with `-sf`).
fn spawn(cfg: &Path, old: Option<u32>) -> Proc {
    let log = std::fs::File::create(cfg.with_extension(format!("{}.log", u8::from(old.is_some()))))
        .expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haproxide"));
    cmd.args(["-db", "-f"])
        .arg(cfg)
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(pid) = old {
        cmd.arg("-sf").arg(pid.to_string());
    }
    guard(cmd.spawn().expect("spawn haproxide"))
}

/// haproxide with a stats listen (auth, admin, exporter) and a TCP listen `pg`:
/// `up` checked and reachable, `down` checked and refused, `nochk` unchecked,
/// `spare` a checked backup.
fn start(tag: &str) -> Setup {
    let dir = TempDir::new(tag);
    let port = free_port();
    let up_srv = up_server();
    let up = up_srv.port;
    let down = free_port();
    let cfg = format!(
        "global\n    stats socket {sock} level admin\n\
defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\
listen stats\n    mode http\n    bind 127.0.0.1:{port}\n    stats enable\n    stats uri /\n\
    stats refresh 10s\n    stats realm Haproxide\n    stats auth admin:secret\n    stats admin if LOCALHOST\n\
    stats show-legends\n    stats show-node\n\
    http-request use-service prometheus-exporter if {{ path /metrics }}\n\
listen pg\n    bind 127.0.0.1:{pg}\n    balance roundrobin\n\
    server up 127.0.0.1:{up} check inter 200ms rise 1\n\
    server down 127.0.0.1:{down} check inter 200ms fall 1\n\
    server nochk 127.0.0.1:{up}\n\
    server spare 127.0.0.1:{up} backup check inter 200ms rise 1\n",
        sock = dir.0.join("admin.sock").display(),
        pg = free_port(),
    );
    let path = dir.0.join("haproxy.cfg");
    std::fs::write(&path, cfg).expect("write cfg");
    let s = Setup {
        proc: spawn(&path, None),
        dir,
        port,
        _up: up_srv,
    };
    // Ready once the checks have settled: `up` and `spare` UP, `down` DOWN.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let csv = http_get(port, "/;csv", Some("admin:secret")).unwrap_or_default();
        if csv.contains("\npg,up,")
            && row_status(&csv, "up") == "UP"
            && row_status(&csv, "spare") == "UP"
            && row_status(&csv, "down") == "DOWN"
        {
            return s;
        }
        assert!(Instant::now() < deadline, "haproxide not ready: {csv}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A column of a row (`pxname,svname`) of `show stat` CSV.
fn cell(csv: &str, px: &str, sv: &str, column: &str) -> String {
    let head: Vec<&str> = csv
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let Some(col) = head.iter().position(|c| *c == column) else {
        return String::new();
    };
    csv.lines()
        .find(|l| l.starts_with(&format!("{px},{sv},")))
        .and_then(|l| l.split(',').nth(col))
        .unwrap_or("")
        .to_string()
}

/// The `status` column of a server row of `pg`.
fn row_status(csv: &str, server: &str) -> String {
    cell(csv, "pg", server, "status")
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One HTTP/1.1 GET (connection: close); the body, None on failure or non-200.
fn http_get(port: u16, target: &str, auth: Option<&str>) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = auth
        .map(|a| format!("Authorization: Basic {}\r\n", base64(a)))
        .unwrap_or_default();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200 ").then(|| body.to_string())
}

/// One command on the stats socket.
fn cli(path: &Path, cmd: &str) -> String {
    let mut s = std::os::unix::net::UnixStream::connect(path).expect("stats socket");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(format!("{cmd}\n").as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn prometheus_metrics_parse_with_the_official_client() {
    let s = start("stats-promex");
    let body = http_get(s.port, "/metrics", None).expect("/metrics answers 200 without auth");
    // Debian's python3-prometheus-client (system python, not a virtualenv).
    let script = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {'type': f.type, 'samples': [[x.name, x.labels, repr(x.value)] for x in f.samples]}
print(json.dumps(out))
"#;
    let mut py = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 (scripts/install-deps installs python3-prometheus-client)");
    py.stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("feed");
    let out = py.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "the Prometheus parser rejected /metrics: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fams: Value = serde_json::from_slice(&out.stdout).expect("parser output");
    let fams = fams.as_object().expect("families");
    // The parser strips `_total` from counter family names.
    for (name, ty) in [
        ("haproxy_process_uptime_seconds", "gauge"),
        ("haproxy_process_build_info", "gauge"),
        ("haproxy_frontend_current_sessions", "gauge"),
        ("haproxy_frontend_sessions", "counter"),
        ("haproxy_backend_status", "gauge"),
        ("haproxy_backend_active_servers", "gauge"),
        ("haproxy_server_status", "gauge"),
        ("haproxy_server_check_status", "gauge"),
        ("haproxy_server_check_duration_seconds", "gauge"),
        ("haproxy_server_check_failures", "counter"),
        ("haproxy_server_weight", "gauge"),
    ] {
        let f = fams.get(name).unwrap_or_else(|| panic!("no family {name}"));
        assert_eq!(f["type"], ty, "{name}");
    }
    assert!(fams.len() > 150, "{} families", fams.len());
    let sample = |fam: &str, labels: &[(&str, &str)]| -> Option<String> {
        fams.get(fam)?["samples"].as_array()?.iter().find_map(|x| {
            let l = &x[1];
            labels
                .iter()
                .all(|(k, v)| l[*k] == *v)
                .then(|| x[2].as_str().unwrap_or("").to_string())
        })
    };
    let st = |srv: &str, state: &str| {
        sample(
            "haproxy_server_status",
            &[("proxy", "pg"), ("server", srv), ("state", state)],
        )
    };
    assert_eq!(st("down", "DOWN").as_deref(), Some("1.0"));
    assert_eq!(st("down", "UP").as_deref(), Some("0.0"));
    assert_eq!(st("up", "UP").as_deref(), Some("1.0"));
    assert_eq!(st("nochk", "UP").as_deref(), Some("1.0"));
    assert_eq!(
        sample(
            "haproxy_server_check_status",
            &[("server", "down"), ("state", "L4CON")]
        )
        .as_deref(),
        Some("1.0")
    );
    assert_eq!(
        sample(
            "haproxy_server_check_status",
            &[("server", "up"), ("state", "L4OK")]
        )
        .as_deref(),
        Some("1.0")
    );
    // No check, no check status (as HAProxy).
    assert_eq!(
        sample("haproxy_server_check_status", &[("server", "nochk")]),
        None
    );
    assert_eq!(
        sample("haproxy_backend_active_servers", &[("proxy", "pg")]).as_deref(),
        Some("2.0")
    );
    // The stats frontend counts its own HTTP traffic: a 401 and answered requests.
    assert_eq!(http_get(s.port, "/", None), None, "401 without credentials");
    let body = http_get(s.port, "/metrics", None).expect("/metrics");
    let value = |series: &str| -> u64 {
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series}"))
    };
    assert!(value("haproxy_frontend_http_responses_total{proxy=\"stats\",code=\"4xx\"}") >= 1);
    assert!(value("haproxy_frontend_http_responses_total{proxy=\"stats\",code=\"2xx\"}") >= 2);
    assert!(value("haproxy_frontend_http_requests_total{proxy=\"stats\"}") >= 3);
    assert!(value("haproxy_frontend_bytes_out_total{proxy=\"stats\"}") > 10_000);
    let csv = http_get(s.port, "/;csv", Some("admin:secret")).expect("csv");
    assert_eq!(cell(&csv, "stats", "FRONTEND", "mode"), "http");
    // `show stat` on the stats socket agrees with the page, as HAProxy's: the stats
    // listen is `mode http` and has its server-less BACKEND row.
    let stat = cli(&s.socket(), "show stat");
    assert_eq!(cell(&stat, "stats", "FRONTEND", "mode"), "http", "{stat}");
    assert_eq!(cell(&stat, "stats", "BACKEND", "mode"), "http", "{stat}");
    assert!(
        cell(&csv, "stats", "FRONTEND", "req_tot")
            .parse::<u64>()
            .unwrap_or(0)
            >= 4
    );
    assert!(
        cell(&csv, "stats", "FRONTEND", "hrsp_4xx")
            .parse::<u64>()
            .unwrap_or(0)
            >= 1
    );
    assert_eq!(cell(&csv, "stats", "BACKEND", "status"), "UP");
    assert_eq!(
        cell(&csv, "stats", "BACKEND", "bout"),
        cell(&csv, "stats", "FRONTEND", "bout")
    );
    // A runtime change shows at the next scrape.
    let r = cli(&s.socket(), "disable server pg/up");
    assert!(r.trim().is_empty(), "{r}");
    let body = http_get(s.port, "/metrics", None).expect("/metrics");
    assert!(body
        .lines()
        .any(|l| l == "haproxy_server_status{proxy=\"pg\",server=\"up\",state=\"MAINT\"} 1"));
}

/// A Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// NUL-terminated JSON on descriptors 3 and 4).
struct Chrome {
    proc: Proc,
    tx: std::fs::File,
    rx: mpsc::Receiver<Value>,
    pending: Vec<Value>,
    next: u64,
    _profile: TempDir,
}

const WAIT: Duration = Duration::from_secs(20);

impl Chrome {
    fn start() -> Chrome {
        use std::os::fd::FromRawFd;
        use std::os::unix::process::CommandExt;
        let profile = TempDir::new("chromium-profile");
        let pipe = || {
            let mut fds = [0i32; 2];
            // SAFETY: pipe2 fills the two-element array it is given.
            let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
            assert_eq!(r, 0, "pipe2");
            // Move both ends above 4: the child's dup2 onto 3 and 4 must neither
            // overwrite the other pipe's end nor be a no-op (dup2(3, 3) keeps
            // CLOEXEC, and Chromium then starts without its pipe and exits).
            fds.map(|fd| {
                // SAFETY: fcntl/close on a descriptor pipe2 just gave us.
                let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
                assert!(high >= 10, "F_DUPFD_CLOEXEC");
                // SAFETY: as above.
                unsafe { libc::close(fd) };
                high
            })
        };
        let to_chrome = pipe();
        let from_chrome = pipe();
        let (child_in, child_out) = (to_chrome[0], from_chrome[1]);
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.0.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe dup2 calls between fork and exec; they
        // place the pipe ends where Chromium expects them (dup2 clears CLOEXEC).
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(child_in, 3) < 0 || libc::dup2(child_out, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .expect("chromium (scripts/install-deps installs Debian's chromium)");
        // SAFETY: each descriptor comes from pipe2 above and is owned once here.
        let (tx, rx_file) = unsafe {
            libc::close(child_in);
            libc::close(child_out);
            (
                std::fs::File::from_raw_fd(to_chrome[1]),
                std::fs::File::from_raw_fd(from_chrome[0]),
            )
        };
        let (send, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(rx_file);
            loop {
                let mut msg = Vec::new();
                match r.read_until(0, &mut msg) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        msg.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&msg) {
                            if send.send(v).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
        });
        Chrome {
            proc: guard(child),
            tx,
            rx,
            pending: Vec::new(),
            next: 1,
            _profile: profile,
        }
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> u64 {
        let id = self.next;
        self.next += 1;
        let mut m = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            m["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&m).expect("json");
        bytes.push(0);
        self.tx.write_all(&bytes).expect("write to chromium");
        id
    }

    /// The first message (already received or next) that `want` accepts; the
    /// others are kept for later.
    fn wait_for(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.pending.iter().position(&want) {
            return self.pending.remove(i);
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what} from chromium"));
            if want(&m) {
                return m;
            }
            self.pending.push(m);
        }
    }

    /// A command and its result (panics on a protocol error or a timeout).
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.send(session, method, params);
        let m = self.wait_for(method, |m| m["id"] == id);
        assert!(m.get("error").is_none(), "{method}: {m}");
        m["result"].clone()
    }

    /// Waits for an event of a session (events already received count).
    fn event(&mut self, session: &str, method: &str) -> Value {
        self.wait_for(method, |m| {
            m["method"] == method && m["sessionId"] == session
        })
    }

    /// A new tab (optionally sending an Authorization header on every request).
    fn tab(&mut self, auth: Option<&str>) -> String {
        let t = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target = t["targetId"].as_str().expect("targetId").to_string();
        let a = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        let s = a["sessionId"].as_str().expect("sessionId").to_string();
        self.call(Some(&s), "Page.enable", json!({}));
        self.call(Some(&s), "Network.enable", json!({}));
        self.call(
            Some(&s),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1400, "height": 640, "deviceScaleFactor": 1, "mobile": false}),
        );
        if let Some(a) = auth {
            self.call(
                Some(&s),
                "Network.setExtraHTTPHeaders",
                json!({"headers": {"Authorization": format!("Basic {}", base64(a))}}),
            );
        }
        s
    }

    fn navigate(&mut self, s: &str, url: &str) {
        self.pending
            .retain(|m| m["method"] != "Page.loadEventFired");
        self.call(Some(s), "Page.navigate", json!({"url": url}));
        self.event(s, "Page.loadEventFired");
    }

    fn eval(&mut self, s: &str, js: &str) -> Value {
        let r = self.call(
            Some(s),
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.send(None, "Browser.close", json!({}));
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.proc.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Proc's drop kills it.
    }
}

#[test]
fn stats_page_in_headless_chromium() {
    let s = start("stats-chromium");
    let url = format!("http://127.0.0.1:{}/", s.port);
    let mut c = Chrome::start();

    // 1. No credentials: 401 with the realm, and the page says so.
    let anon = c.tab(None);
    c.navigate(&anon, &url);
    let resp = c.event(&anon, "Network.responseReceived");
    assert_eq!(resp["params"]["response"]["status"], 401, "{resp}");
    let headers = &resp["params"]["response"]["headers"];
    let challenge = headers["www-authenticate"]
        .as_str()
        .or(headers["WWW-Authenticate"].as_str())
        .unwrap_or("");
    assert_eq!(challenge, "Basic realm=\"Haproxide\"");
    let text = c.eval(&anon, "document.body ? document.body.innerText : ''");
    assert!(
        !text.as_str().unwrap_or("").contains("pg"),
        "no statistics without credentials: {text}"
    );

    // 2. With credentials: the page renders the proxies and server rows.
    let tab = c.tab(Some("admin:secret"));
    c.navigate(&tab, &url);
    let title = c.eval(&tab, "document.title");
    assert!(
        title
            .as_str()
            .unwrap_or("")
            .starts_with("Statistics Report for HAProxy"),
        "{title}"
    );
    let rows = c.eval(
        &tab,
        "Array.from(document.querySelectorAll('tr')).filter(r => r.querySelector('a.lfsb'))\
         .map(r => r.querySelector('a.lfsb').textContent + ':' + r.className)",
    );
    let rows: Vec<String> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for want in [
        "Frontend:frontend",
        "up:active_up",
        "down:active_down",
        "nochk:active_no_check",
        "spare:backup_up",
        "Backend:backend",
    ] {
        assert!(rows.iter().any(|r| r == want), "{want} not in {rows:?}");
    }
    // 3. The admin form: tick `nochk`, choose MAINT, Apply.
    let submitted = c.eval(
        &tab,
        "(() => { const b = document.querySelector(\"input[name=s][value=nochk]\");\
          if (!b) return false; b.checked = true;\
          const sel = b.form.querySelector('select[name=action]'); sel.value = 'maint';\
          b.form.querySelector('input[type=submit]').click(); return true; })()",
    );
    assert_eq!(submitted, json!(true));
    c.event(&tab, "Page.loadEventFired");
    let href = c.eval(&tab, "location.href");
    assert_eq!(href, json!(format!("{url};st=DONE")));
    let msg = c.eval(
        &tab,
        "document.body.innerText.includes('Action processed successfully.')",
    );
    assert_eq!(msg, json!(true));
    let class = c.eval(
        &tab,
        "document.querySelector(\"input[name=s][value=nochk]\").closest('tr').className",
    );
    assert_eq!(class, json!("maintain"));
    if let Ok(path) = std::env::var("HAPROXIDE_SCREENSHOT") {
        let shot = c.call(
            Some(&tab),
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": false}),
        );
        let png = haproxide_admin::stats::http::base64_decode(shot["data"].as_str().unwrap_or(""))
            .expect("png data");
        std::fs::write(&path, png).expect("write screenshot");
    }

    // The runtime API sees it too.
    let stat = cli(&s.socket(), "show stat");
    assert_eq!(row_status(&stat, "nochk"), "MAINT", "{stat}");
    assert_eq!(row_status(&stat, "up"), "UP");
}

/// The `pid = N` of the stats page.
fn page_pid(port: u16) -> Option<u32> {
    let page = http_get(port, "/", Some("admin:secret"))?;
    let at = page.find("<b>pid = </b> ")? + "<b>pid = </b> ".len();
    page[at..].split(' ').next()?.parse().ok()
}

#[test]
fn reload_keeps_the_stats_listener_and_closes_idle_keep_alive() {
    let mut s = start("stats-reload");
    let old_pid = s.proc.0.id();
    assert_eq!(page_pid(s.port), Some(old_pid));
    // An idle keep-alive connection on the old process.
    let mut idle = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(8)))
        .expect("timeout");
    write!(
        idle,
        "GET /;csv HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\r\n",
        base64("admin:secret")
    )
    .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\npg,BACKEND,") {
        let n = idle.read(&mut buf).expect("first response");
        assert!(n > 0, "closed before the first response");
        got.extend_from_slice(&buf[..n]);
    }
    // The old process serves its listeners to a successor once it is up.
    let handover = haproxide_process::handover::default_path(old_pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !handover.exists() {
        assert!(Instant::now() < deadline, "no listener handover socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Clients keep asking during the reload.
    let port = s.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asking = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut ok, mut failed) = (0u32, 0u32);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match http_get(port, "/;csv", Some("admin:secret")) {
                    Some(b) if b.contains("\npg,BACKEND,") => ok += 1,
                    _ => failed += 1,
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (ok, failed)
        })
    };
    let cfg = s.dir.0.join("haproxy.cfg");
    let new = spawn(&cfg, Some(old_pid));
    // The old process stops: its idle keep-alive connection is closed, not waited for.
    let t0 = Instant::now();
    let rest = idle.read(&mut buf);
    assert!(
        matches!(rest, Ok(0)),
        "idle connection closed by the soft stop: {rest:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(8);
    while s.proc.0.try_wait().ok().flatten().is_none() {
        assert!(Instant::now() < deadline, "the old process did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped_in = t0.elapsed();
    // The new process answers on the same port (generous bound: the Chromium test
    // may be starting a browser on the same 2 cores).
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut new = new;
    loop {
        let seen = page_pid(port);
        if seen == Some(new.0.id()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new process {} does not serve the page (seen: pid {seen:?}; new process: {:?}; its log: {})",
            new.0.id(),
            new.0.try_wait(),
            std::fs::read_to_string(cfg.with_extension("1.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, failed) = asking.join().expect("client thread");
    eprintln!(
        "stats reload: old process stopped in {stopped_in:?}; {ok} requests ok, {failed} failed"
    );
    assert!(ok > 10, "{ok} requests");
    // One failure in 24 runs of 8 in parallel was seen here before 45a90b6, which
    // fixed the engine's rare reload reset (crates/haproxide/tests/reload.rs now
    // asserts zero); this HTTP test keeps a tolerance of one until it has a record.
    assert!(failed <= 1, "{failed} requests failed during the reload");
}

/// The exporter shows a long-lived TCP session's bytes while it is open
/// (`haproxy_{frontend,backend,server}_bytes_{in,out}_total`, counted as they flow),
/// and the process's connection and session rates.
#[test]
fn exporter_shows_bytes_of_open_sessions_and_rates() {
    let dir = TempDir::new("prom-live");
    let (port, tcp) = (free_port(), free_port());
    let echo = echo_server();
    let cfg = format!(
        "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n\
listen stats\n    mode http\n    bind 127.0.0.1:{port}\n\
    http-request use-service prometheus-exporter if {{ path /metrics }}\n\
listen db\n    bind 127.0.0.1:{tcp}\n    server s1 127.0.0.1:{echo}\n",
        echo = echo.port,
    );
    let path = dir.0.join("haproxy.cfg");
    std::fs::write(&path, cfg).expect("write cfg");
    let _p = spawn(&path, None);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        if let Ok(c) = TcpStream::connect(("127.0.0.1", tcp)) {
            break c;
        }
        assert!(Instant::now() < deadline, "haproxide not listening");
        std::thread::sleep(Duration::from_millis(50));
    };
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(&[b'q'; 5000]).unwrap();
    let mut back = vec![0u8; 5000];
    c.read_exact(&mut back).unwrap();
    let value = |body: &str, series: &str| -> Option<String> {
        body.lines()
            .find_map(|l| Some(l.strip_prefix(series)?.trim().to_string()))
    };
    let series = [
        "haproxy_frontend_bytes_in_total{proxy=\"db\"}",
        "haproxy_frontend_bytes_out_total{proxy=\"db\"}",
        "haproxy_backend_bytes_in_total{proxy=\"db\"}",
        "haproxy_backend_bytes_out_total{proxy=\"db\"}",
        "haproxy_server_bytes_in_total{proxy=\"db\",server=\"s1\"}",
        "haproxy_server_bytes_out_total{proxy=\"db\",server=\"s1\"}",
    ];
    // The session is still open: its 5000 bytes each way show.
    let mut body = String::new();
    while Instant::now() < deadline {
        body = http_get(port, "/metrics", None).unwrap_or_default();
        if series
            .iter()
            .all(|s| value(&body, s).as_deref() == Some("5000"))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for s in series {
        assert_eq!(value(&body, s).as_deref(), Some("5000"), "{s}: {body}");
    }
    // One connection to `db` and this scrape's to `stats` (at least: earlier
    // scrapes may be within the last second too).
    for s in [
        "haproxy_process_max_connection_rate ",
        "haproxy_process_max_session_rate ",
        "haproxy_frontend_max_session_rate{proxy=\"db\"}",
        "haproxy_frontend_connections_rate_max{proxy=\"db\"}",
        "haproxy_backend_max_session_rate{proxy=\"db\"}",
        "haproxy_server_max_session_rate{proxy=\"db\",server=\"s1\"}",
    ] {
        let v: u64 = value(&body, s).and_then(|v| v.parse().ok()).unwrap_or(0);
        assert!(v >= 1, "{s}: {body}");
    }
    let cur: u64 = value(&body, "haproxy_process_current_connection_rate ")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(cur >= 1, "{body}");
    drop(c);
}
