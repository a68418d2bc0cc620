//! Helpers shared by the tests that drive the binary (each test file includes this
//! module; not every file uses every helper). The mocks, the process guard, temp
//! dirs and waits come from haproxide-testkit; what stays here knows haproxide.
#![allow(dead_code, unused_imports)]

pub mod stick;

pub use haproxide_testkit::fs::TempDir;
pub use haproxide_testkit::proc::Proc;
pub use haproxide_testkit::tcp::{free_port, round_trip, ConnectLoop, OnThread};
/// Polls `f` every 20 ms until it holds or `within` has passed.
pub use haproxide_testkit::wait::until as wait_until;

/// A haproxide child process, stopped when dropped so that a failing test leaves
/// nothing behind: SIGTERM first (a hard stop that removes its handover socket),
/// SIGKILL after 3 s, then the handover socket file is removed in any case.
pub fn guard(child: std::process::Child) -> Proc {
    let sock = haproxide_process::handover::default_path(child.id());
    let dir = haproxide_process::handover::default_dir(child.id());
    Proc::new(child).remove_on_drop(sock).remove_on_drop(dir)
}

/// The lines of a `-c` output (either program's) without NOTICE lines and with
/// `(PID)` for the pid: `[ALERT]    (123) : ...` -> `[ALERT]    (PID) : ...`.
pub fn check_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("[NOTICE]"))
        .map(|l| match (l.find('('), l.find(") : ")) {
            (Some(a), Some(b)) if a < b && l.starts_with('[') => {
                format!("{}(PID){}", &l[..a], &l[b + 1..])
            }
            _ => l.to_string(),
        })
        .collect()
}

/// `haproxide check` as `haproxy -c` 2.6 checks a file (names from /etc/hosts
/// only, HAProxy's output format); the file name follows.
pub const CHECK_26: &[&str] = &[
    "check",
    "--haproxy-version",
    "2.6",
    "--resolve",
    "hosts",
    "--format",
    "haproxy",
    "-f",
];

/// Whether `unshare -rn` (a user and network namespace: only a loopback that is
/// down) works here.
pub fn offline_works() -> bool {
    std::process::Command::new("unshare")
        .args(["-rn", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A TCP echo server on 127.0.0.1 (stopped when dropped; `.port` is its port).
pub fn echo_server() -> OnThread {
    OnThread::start(haproxide_testkit::tcp::echo)
}

// The runtime API helpers (tests/runtime_api.rs, tests/dynamic_servers.rs).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A backend server that greets each connection with its name and a newline,
/// then echoes until the client closes. Stops when dropped.
pub fn named(name: &str) -> OnThread {
    let greeting = format!("{name}\n");
    OnThread::start(move || haproxide_testkit::tcp::named(greeting))
}

pub fn haproxide(cfg: &Path, extra: &[&str]) -> Proc {
    guard(
        Command::new(env!("CARGO_BIN_EXE_haproxide"))
            .args(["-db", "-f"])
            .arg(cfg)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn haproxide"),
    )
}

pub fn haproxy(cfg: &Path) -> Option<Proc> {
    let bin = Path::new("/usr/sbin/haproxy");
    if !bin.exists() {
        return None;
    }
    Command::new(bin)
        .args(["-db", "-f"])
        .arg(cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .map(Proc::new)
}

/// `echo "$cmd" | socat - UNIX:$sock`: send one line, read to EOF.
pub fn ask(sock: &Path, cmd: &str) -> Option<String> {
    let mut c = UnixStream::connect(sock).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    c.write_all(format!("{cmd}\n").as_bytes()).ok()?;
    let mut out = String::new();
    c.read_to_string(&mut out).ok()?;
    Some(out)
}

pub fn must_ask(sock: &Path, cmd: &str) -> String {
    ask(sock, cmd).unwrap_or_else(|| panic!("no answer to {cmd:?} on {}", sock.display()))
}

/// Wait until `sock` answers and `f` accepts the answer to `cmd` (10 s).
pub fn wait_for(sock: &Path, cmd: &str, f: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Some(a) = ask(sock, cmd) {
            if f(&a) {
                return a;
            }
            last = a;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{}: {cmd:?} never satisfied; last answer:\n{last}",
        sock.display()
    );
}

/// The server a new connection to `port` lands on (its greeting), or None.
pub fn route(port: u16) -> Option<String> {
    let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    let name = line.trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// `openssl <args>` in `dir` (test certificates); fails the test if it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(st.success(), "openssl {args:?}");
}

/// `openssl req` with a fresh ECDSA P-256 key (unencrypted), then `args`.
pub fn openssl_req_ec(dir: &Path, args: &[&str]) {
    let mut a = vec![
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    a.extend(args);
    openssl(dir, &a);
}

/// A self-signed ECDSA P-256 CA for 2 days, "CN=test ca": `<dir>/ca.key`,
/// `<dir>/ca.pem` (the TLS tests sign their client and server certificates with it).
pub fn ec_test_ca(dir: &Path) {
    openssl_req_ec(
        dir,
        &[
            "-x509",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=test ca",
            "-days",
            "2",
        ],
    );
}

/// `openssl x509 -req`: `<dir>/<csr>` signed by `ca` (certificate, key) for `days`
/// with the extensions of `<dir>/<ext>`, written to `<dir>/<out>`.
pub fn sign_csr(dir: &Path, ca: [&str; 2], csr: &str, ext: &str, days: &str, out: &str) {
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca[0],
            "-CAkey",
            ca[1],
            "-CAcreateserial",
            "-out",
            out,
            "-days",
            days,
            "-extfile",
            ext,
        ],
    );
}

/// Whether something accepts on 127.0.0.1:`port` within 10 s.
pub fn wait_listening(port: u16) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A TCP-mode TLS frontend on `port` serving `<dir>/<pem>` in front of `echo`, with
/// three stats sockets in `dir`: admin.sock, oper.sock and user.sock (one per CLI
/// level); written to `<dir>/<file>`.
pub fn tls_cli_config(d: &TempDir, port: u16, echo: u16, pem: &str, file: &str) -> PathBuf {
    let dir = d.dir().display();
    let text = format!(
        "{}defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 2s\n\
         frontend fe\n  bind 127.0.0.1:{port} ssl crt {dir}/{pem}\n  default_backend be\n\
         backend be\n  server s1 127.0.0.1:{echo}\n",
        cli_sockets(d)
    );
    let path = d.path(file);
    std::fs::write(&path, text).expect("write the test configuration");
    path
}

/// A `global` section with three stats sockets in `d`: admin.sock, oper.sock,
/// user.sock at those levels.
pub fn cli_sockets(d: &TempDir) -> String {
    let dir = d.dir().display();
    format!(
        "global\n\
         \x20 stats socket {dir}/admin.sock level admin\n\
         \x20 stats socket {dir}/oper.sock level operator\n\
         \x20 stats socket {dir}/user.sock level user\n"
    )
}

/// The stdout of `openssl s_client <args> -connect 127.0.0.1:<port>` (no input, 5 s
/// at most).
pub fn s_client_stdout(port: u16, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["5", "openssl", "s_client"])
        .args(args)
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("s_client");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subject of the certificate a new `openssl s_client` handshake gets (with
/// SNI `sni`); "" when the handshake fails.
pub fn s_client_subject(port: u16, sni: Option<&str>) -> String {
    let args = match sni {
        Some(n) => vec!["-servername", n],
        None => vec![],
    };
    s_client_stdout(port, &args)
        .lines()
        .find_map(|l| l.strip_prefix("subject=").map(str::to_string))
        .unwrap_or_default()
}

/// `openssl req` with a fresh RSA-2048 key (unencrypted), then `args`.
pub fn openssl_req_rsa(dir: &Path, args: &[&str]) {
    let mut a = vec!["req", "-newkey", "rsa:2048", "-nodes"];
    a.extend(args);
    openssl(dir, &a);
}

/// The proxy of a side-by-side run: HAProxy for `"theirs"`, haproxide
/// otherwise; None (the test skips) when HAProxy is not installed.
pub fn either(tag: &str, cfg: &Path) -> Option<Proc> {
    if tag == "theirs" {
        let g = haproxy(cfg);
        if g.is_none() {
            eprintln!("skipped: no /usr/sbin/haproxy");
        }
        g
    } else {
        Some(haproxide(cfg, &[]))
    }
}
