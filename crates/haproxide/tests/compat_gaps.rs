//! The compatibility gaps real configurations hit (issue 17), each run through the
//! oracle, Debian's haproxy 2.6.12 (installed by scripts/install-deps), and through
//! haproxide with the same input: both must agree.
//!
//! 1. `-dr` with `-f`: an unresolvable server starts disabled, the proxy runs.
//! 2. Run mode accepts the keywords of every HAProxy version haproxide claims
//!    (a `program` section: 2.6 accepts it, master does not know it).
//! 3. `--show-unsupported` does not list the `stats` keywords the stats page serves
//!    (haproxide only: HAProxy has no such listing; the page is compared with
//!    HAProxy's in tests/stats_http.rs).
//! 4. `stats socket ... ssl crt <missing file>` is an error, as for `bind`.
//! 5. After a parse error (a last line without LF), only the parse errors are
//!    reported, not the post-parse ones (a server's `crt` file).

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use haproxide_testkit::fs::TempDir;
use haproxide_testkit::proc::Proc;
use haproxide_testkit::tcp::free_port;
use haproxide_testkit::wait;

const HAPROXY: &str = "haproxy";

fn haproxide() -> &'static str {
    env!("CARGO_BIN_EXE_haproxide")
}

/// Stderr lines other than NOTICE, with the pid replaced.
fn alerts(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with('[') && !l.starts_with("[NOTICE]"))
        .map(|l| match (l.find('('), l.find(") : ")) {
            (Some(a), Some(b)) if a < b => format!("{}(PID){}", &l[..a], &l[b + 1..]),
            _ => l.to_string(),
        })
        .collect()
}

/// `prog -c -f cfg`: exit code and alert lines.
fn check_c(prog: &str, cfg: &Path, extra: &[&str]) -> (Option<i32>, Vec<String>) {
    let out = Command::new(prog)
        .args(extra)
        .arg("-c")
        .arg("-f")
        .arg(cfg)
        .output()
        .unwrap_or_else(|e| {
            panic!("{prog}: {e} (the oracle is installed by scripts/install-deps)")
        });
    (out.status.code(), alerts(&out.stderr))
}

/// Starts `prog -d -f cfg` with `extra` flags; waits for `port` to accept.
/// Returns the guard, or the process's stderr if it exited instead.
fn start(prog: &str, cfg: &Path, extra: &[&str], port: u16) -> Result<Proc, String> {
    let child = Command::new(prog)
        .args(extra)
        .arg("-d")
        .arg("-f")
        .arg(cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    let mut p = Proc::new(child);
    let up = wait::until(Duration::from_secs(10), || {
        matches!(p.0.try_wait(), Ok(Some(_))) || TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    if let Ok(Some(_)) = p.0.try_wait() {
        let mut err = String::new();
        if let Some(mut e) = p.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        return Err(err);
    }
    assert!(up, "{prog} did not listen on {port} within 10 s");
    Ok(p)
}

/// Stops the process and returns its stderr's alert lines.
fn stop(mut p: Proc) -> Vec<String> {
    p.signal(libc::SIGINT);
    let mut err = Vec::new();
    if let Some(mut e) = p.0.stderr.take() {
        let _ = e.read_to_end(&mut err);
    }
    drop(p);
    alerts(&err)
}

fn write(dir: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn gap1_dr_starts_with_the_unresolvable_server_disabled() {
    let dir = TempDir::new("gap1");
    let (port, backend) = (free_port(), free_port());
    let sock = dir.path("stats.sock");
    let cfg = write(
        &dir,
        "dr.cfg",
        &format!(
            "global\n  stats socket {} level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten l\n  bind 127.0.0.1:{port}\n  server s1 no-such-host.invalid:80 check\n  server s2 127.0.0.1:{backend}\n",
            sock.display()
        ),
    );
    let mut seen = Vec::new();
    for prog in [HAPROXY, haproxide()] {
        // Without -dr both refuse, with the same words (a name problem, not a
        // missing feature).
        let (code, lines) = check_c(prog, &cfg, &[]);
        assert_eq!(code, Some(1), "{prog}: {lines:?}");
        let p = start(prog, &cfg, &["-dr"], port)
            .unwrap_or_else(|e| panic!("{prog} -dr refused to start: {e}"));
        // The server is in maintenance: `show servers state`'s srv_admin_state
        // has SRV_ADMF_RMAINT (0x20, "resolution").
        let state = query(&sock, "show servers state l\n");
        let row = state
            .lines()
            .find(|l| l.split(' ').nth(3) == Some("s1"))
            .unwrap_or_else(|| panic!("{prog}: no s1 in {state}"))
            .to_string();
        let admin: u32 = row
            .split(' ')
            .nth(6)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(
            admin & 0x20 != 0 || admin & 0x1 != 0,
            "{prog}: s1 not in maintenance: {row}"
        );
        seen.push((lines, stop(p)));
    }
    let (theirs, ours) = (&seen[0], &seen[1]);
    assert_eq!(ours.0, theirs.0, "-c without -dr");
    let warn = |v: &Vec<String>| {
        v.iter()
            .filter(|l| l.contains("could not resolve"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(warn(&ours.1), warn(&theirs.1), "the -dr warning");
    assert_eq!(warn(&theirs.1).len(), 1, "{:?}", theirs.1);
}

fn query(sock: &Path, cmd: &str) -> String {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    // A stale file of the previous program may be there before this one binds
    // its socket: wait until a connection is accepted, not until the file exists.
    let ok = wait::until(Duration::from_secs(5), || UnixStream::connect(sock).is_ok());
    assert!(ok, "no stats socket {}", sock.display());
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(cmd.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn gap2_run_mode_accepts_a_program_section_as_haproxy_2_6() {
    let dir = TempDir::new("gap2");
    let port = free_port();
    let cfg = write(
        &dir,
        "program.cfg",
        &format!(
            "global\n  master-worker\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nprogram hello\n  command true\nlisten l\n  bind 127.0.0.1:{port}\n  server s2 127.0.0.1:{}\n",
            free_port()
        ),
    );
    // Valid for both: exit 0, and haproxide says the keyword is 2.6's, deprecated.
    let (code, theirs) = check_c(HAPROXY, &cfg, &[]);
    assert_eq!(code, Some(0), "{theirs:?}");
    let (code, ours) = check_c(haproxide(), &cfg, &[]);
    assert_eq!(code, Some(0), "{ours:?}");
    assert!(
        ours.iter()
            .any(|l| l.starts_with("[WARNING]")
                && l.contains("'program' is a keyword of HAProxy 2.6")),
        "{ours:?}"
    );
    assert!(!ours.iter().any(|l| l.starts_with("[ALERT]")), "{ours:?}");
    // `check` for 2.6 agrees, and says run mode runs it: the master starts the
    // program (crates/haproxide-process), as HAProxy's master does.
    let out = Command::new(haproxide())
        .args([
            "check",
            "--haproxy-version",
            "2.6",
            "--color",
            "never",
            "-f",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("`haproxide -f` runs this configuration"),
        "{text}"
    );
    assert!(!text.contains("would refuse to start"), "{text}");
    // Both start it and serve the listener (a program exiting 0 stops nothing).
    for prog in [HAPROXY, haproxide()] {
        let p = start(prog, &cfg, &[], port);
        assert!(p.is_ok(), "{prog}: {:?}", p.err());
    }
}

#[test]
fn gap3_show_unsupported_does_not_list_the_served_stats_keywords() {
    let dir = TempDir::new("gap3");
    let cfg = write(
        &dir,
        "stats.cfg",
        &format!("defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten stats\n  bind 127.0.0.1:{}\n  stats enable\n  stats uri /st\n  stats refresh 10s\n", free_port()),
    );
    // The oracle accepts the page's configuration.
    let (code, lines) = check_c(HAPROXY, &cfg, &[]);
    assert_eq!(code, Some(0), "{lines:?}");
    let out = Command::new(haproxide())
        .args(["check", "--show-unsupported", "--color", "never", "-f"])
        .arg(&cfg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("`stats"), "{text}");
    assert!(
        text.contains("`haproxide -f` runs this configuration"),
        "{text}"
    );
}

#[test]
fn gap4_stats_socket_ssl_crt_names_a_missing_file() {
    let dir = TempDir::new("gap4");
    let cfg = write(
        &dir,
        "socket.cfg",
        &format!("global\n  stats socket 127.0.0.1:{} ssl crt /nonexistent/cert.pem level admin\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten l\n  bind 127.0.0.1:{}\n  server s2 127.0.0.1:{}\n", free_port(), free_port(), free_port()),
    );
    let (c1, theirs) = check_c(HAPROXY, &cfg, &[]);
    let (c2, ours) = check_c(haproxide(), &cfg, &[]);
    assert_eq!((c1, c2), (Some(1), Some(1)), "{theirs:?} / {ours:?}");
    // HAProxy's message ends with a line holding a lone quote, which haproxide
    // prints as a continuation line: the first lines are identical.
    assert_eq!(ours.first(), theirs.first());
    assert!(
        theirs[0].contains("unable to stat SSL certificate from file '/nonexistent/cert.pem'"),
        "{theirs:?}"
    );
    let out = Command::new(haproxide())
        .args(["check", "-f"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "check agrees with -c");
}

#[test]
fn gap5_a_parse_error_stops_before_the_post_parse_checks() {
    let dir = TempDir::new("gap5");
    let cfg = write(
        &dir,
        "truncated.cfg",
        &format!("defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten l\n  bind 127.0.0.1:{}\n  server s2 127.0.0.1:{} ssl crt /nonexistent/client.pem\n  timeout tunnel 1h", free_port(), free_port()),
    );
    let (c1, theirs) = check_c(HAPROXY, &cfg, &[]);
    let (c2, ours) = check_c(haproxide(), &cfg, &[]);
    assert_eq!((c1, c2), (Some(1), Some(1)));
    let strip = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|l| l.replace(&cfg.display().to_string(), "CFG"))
            .collect()
    };
    assert_eq!(strip(&ours), strip(&theirs));
    assert!(
        theirs.iter().any(|l| l.contains("Missing LF")),
        "{theirs:?}"
    );
    // With the last line fixed, both report the missing certificate.
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push('\n');
    std::fs::write(&cfg, text).unwrap();
    let (c1, theirs) = check_c(HAPROXY, &cfg, &[]);
    let (c2, ours) = check_c(haproxide(), &cfg, &[]);
    assert_eq!((c1, c2), (Some(1), Some(1)), "{theirs:?} / {ours:?}");
    assert_eq!(strip(&ours).first(), strip(&theirs).first());
}
