//! The Debian package, installed for real: `dpkg -i`, then the unit's command lines
//! run as systemd would run them (without systemd), then `dpkg --purge`.
//!
//! It changes the machine while it runs (root, /usr/sbin, /etc), so it is ignored by
//! default; `scripts/package-test` builds the package and runs it
//! (`HAPROXIDE_DEB=path.deb cargo test --workspace --test package -- --ignored`), as
//! `scripts/test` does after the workspace tests. The package is purged at the end,
//! also on failure (a Drop guard), and the test refuses to run over an installed
//! haproxide package.
//!
//! What it shows: the files are where Debian expects them; the unit passes
//! `systemd-analyze verify` (where systemd-analyze exists); the unit's ExecStartPre
//! check passes on the default configuration; its ExecStart line starts a proxy
//! that serves the default configuration's listener (with `Type=notify`, it reads
//! `READY=1` on a fake `NOTIFY_SOCKET`), and its master CLI (`-S`) answers `show
//! proc`; its ExecReload lines reload it (`RELOADING=1`, then `READY=1`), still
//! serving from the same main process; SIGTERM (what `systemctl stop` sends) stops it
//! with a status the unit counts as success, and its worker with it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use haproxide_testkit::fs::TempDir;
use haproxide_testkit::wait;

const UNIT: &str = "/lib/systemd/system/haproxide.service";
const CONFIG: &str = "/etc/haproxide/haproxy.cfg";

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn package_status() -> String {
    let out = run(Command::new("dpkg-query").args(["-W", "-f=${Status}", "haproxide"]));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Purges the package on drop, whatever happened, and checks it is gone.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let out = run(Command::new("dpkg").args(["--purge", "haproxide"]));
        if !out.status.success() {
            eprintln!(
                "dpkg --purge haproxide: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if !std::thread::panicking() {
            assert!(!Path::new("/usr/sbin/haproxide").exists());
            assert!(!Path::new(UNIT).exists());
            assert!(
                !Path::new("/etc/haproxide").exists(),
                "purge keeps /etc/haproxide"
            );
            assert!(!package_status().contains("installed"));
        }
    }
}

/// A process started from the unit's ExecStart: killed (SIGKILL) on drop if still alive.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// An echo server standing in for the default configuration's backend server.
struct Echo {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Echo {
    fn start(addr: SocketAddr) -> Echo {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        std::thread::spawn(move || {
                            let _ = s.set_nonblocking(false);
                            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                            let mut buf = [0u8; 1024];
                            while let Ok(n) = s.read(&mut buf) {
                                if n == 0 || s.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Echo {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The unit's `[Service]` settings, in file order (a key may repeat).
fn service_section(unit: &str) -> Vec<(String, String)> {
    let mut in_service = false;
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service && !line.is_empty() && !line.starts_with(['#', ';']) {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    out
}

fn values<'a>(service: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    service
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// systemd's quoting: words separated by spaces, "..." and '...' quote.
fn split_quoted(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The environment systemd gives the unit's commands: `Environment=`, then the
/// `EnvironmentFile=`s, which override it (systemd.exec(5)).
fn unit_environment(service: &[(String, String)]) -> HashMap<String, String> {
    let mut env = HashMap::new();
    for v in values(service, "Environment") {
        for word in split_quoted(v) {
            if let Some((k, v)) = word.split_once('=') {
                env.insert(k.to_string(), v.to_string());
            }
        }
    }
    for file in values(service, "EnvironmentFile") {
        let (optional, path) = match file.strip_prefix('-') {
            Some(p) => (true, p),
            None => (false, file),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if optional => {
                eprintln!("EnvironmentFile {path}: {e} (optional)");
                continue;
            }
            Err(e) => panic!("EnvironmentFile {path}: {e}"),
        };
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let v = split_quoted(v).join(" ");
                env.insert(k.trim().to_string(), v);
            }
        }
    }
    env
}

/// An Exec line as systemd runs it: `$VAR` becomes the variable's words, `${VAR}`
/// one word (systemd.service(5) "Command lines").
fn command_line(line: &str, env: &HashMap<String, String>) -> Vec<String> {
    assert!(
        !line.starts_with(['-', '@', '+', '!', ':']),
        "prefix not handled here: {line}"
    );
    let mut argv = Vec::new();
    for word in split_quoted(line) {
        if let Some(name) = word.strip_prefix("${").and_then(|w| w.strip_suffix('}')) {
            argv.push(env.get(name).cloned().unwrap_or_default());
        } else if let Some(name) = word.strip_prefix('$') {
            let value = env.get(name).cloned().unwrap_or_default();
            argv.extend(value.split_whitespace().map(str::to_string));
        } else {
            assert!(!word.contains('$'), "expansion not handled here: {word}");
            argv.push(word);
        }
    }
    argv
}

fn command(argv: &[String], env: &HashMap<String, String>) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).envs(env).stdin(Stdio::null());
    cmd
}

/// The first address of `keyword` lines (`bind`, `server NAME`) in the config.
fn config_address(config: &str, keyword: &str) -> SocketAddr {
    config
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find_map(|w| match (keyword, w.as_slice()) {
            ("bind", ["bind", addr, ..]) => addr.parse().ok(),
            ("server", ["server", _, addr, ..]) => addr.parse().ok(),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no `{keyword}` address in {CONFIG}:\n{config}"))
}

fn echo_through(addr: SocketAddr, payload: &[u8]) -> Result<Vec<u8>, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(payload).map_err(|e| format!("write: {e}"))?;
    let mut got = vec![0u8; payload.len()];
    s.read_exact(&mut got).map_err(|e| format!("read: {e}"))?;
    Ok(got)
}

fn wait_until<T>(what: &str, within: Duration, f: impl FnMut() -> Option<T>) -> T {
    wait::for_some(what, within, Duration::from_millis(50), f)
}

/// Reads notify datagrams until one has `field`; returns all the text read.
fn wait_notify(sock: &UnixDatagram, field: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no {field} on NOTIFY_SOCKET within {within:?}; got: {seen:?}"
        );
        sock.set_read_timeout(Some(left)).unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.push_str(&msg);
                seen.push('\n');
                if msg.lines().any(|l| l == field) {
                    return seen;
                }
            }
            Err(e) => panic!("no {field} on NOTIFY_SOCKET within {within:?} ({e}); got: {seen:?}"),
        }
    }
}

/// Success as the unit defines it: exit 0, `SuccessExitStatus=` codes, or death by
/// SIGTERM/SIGINT/SIGHUP/SIGPIPE (systemd.service(5)).
fn clean_exit(status: ExitStatus, success: &[i32]) -> bool {
    match (status.code(), status.signal()) {
        (Some(0), _) => true,
        (Some(c), _) => success.contains(&c),
        (None, Some(s)) => [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGPIPE].contains(&s),
        _ => false,
    }
}

#[test]
#[ignore = "installs the Debian package: run by scripts/package-test (root, HAPROXIDE_DEB)"]
fn the_debian_package_installs_and_its_unit_runs_the_default_configuration() {
    let deb = std::env::var("HAPROXIDE_DEB")
        .expect("HAPROXIDE_DEB=path/to/haproxide_*.deb (scripts/package-test sets it)");
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "dpkg -i needs root");
    assert!(
        !package_status().contains("installed"),
        "a haproxide package is already installed: this test would replace and purge it"
    );

    let dir = std::env::temp_dir().join(format!("haproxide-package-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _dir = TempDir(dir.clone());

    let _installed = Installed;
    ok(Command::new("dpkg").args(["-i", &deb]));
    assert_eq!(package_status(), "install ok installed");

    // Files where Debian looks for them.
    for path in [
        "/usr/sbin/haproxide",
        UNIT,
        CONFIG,
        "/etc/default/haproxide",
        "/usr/share/man/man1/haproxide.1.gz",
        "/usr/share/man/man1/haproxide-check.1.gz",
        "/usr/share/bash-completion/completions/haproxide",
        "/usr/share/zsh/vendor-completions/_haproxide",
        "/usr/share/fish/vendor_completions.d/haproxide.fish",
        "/usr/share/doc/haproxide/migrating-from-haproxy.md",
    ] {
        assert!(Path::new(path).exists(), "{path} not installed");
    }
    let conffiles = ok(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "haproxide"]));
    assert!(
        conffiles.contains(CONFIG) && conffiles.contains("/etc/default/haproxide"),
        "{conffiles}"
    );
    let version = ok(Command::new("/usr/sbin/haproxide").arg("-v"));
    assert!(version.starts_with("haproxide version "), "{version}");
    let page = ok(Command::new("gzip").args(["-dc", "/usr/share/man/man1/haproxide.1.gz"]));
    assert!(page.contains(".TH haproxide 1"), "{page}");
    if Path::new("/usr/bin/man").exists() {
        let found = ok(Command::new("man").args(["-w", "haproxide"]));
        assert_eq!(found.trim(), "/usr/share/man/man1/haproxide.1.gz");
    }
    // The bash completion completes the check subcommand's long flags.
    let completed = ok(Command::new("bash").args([
        "-c",
        "source /usr/share/bash-completion/completions/haproxide && \
         COMP_WORDS=(haproxide check --haproxy-v) COMP_CWORD=2 && \
         _haproxide haproxide --haproxy-v check && echo \"${COMPREPLY[*]}\"",
    ]));
    assert_eq!(completed.trim(), "--haproxy-version");

    // systemd's own reading of the unit, where systemd-analyze exists; first, that it
    // does reject a broken copy (so that its success below means something).
    let unit_text = std::fs::read_to_string(UNIT).unwrap();
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let broken = dir.join("haproxide.service");
        std::fs::write(
            &broken,
            unit_text.replace("ExecStart=/usr/sbin/", "ExecStart=usr/sbin/"),
        )
        .unwrap();
        let out = run(Command::new("systemd-analyze")
            .args(["verify"])
            .arg(&broken));
        assert!(
            !out.status.success(),
            "systemd-analyze verify accepts a relative ExecStart"
        );
        let out = run(Command::new("systemd-analyze").args(["verify", UNIT]));
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify {UNIT}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("systemd-analyze not found: unit not verified by systemd");
    }

    // The unit's command lines, expanded as systemd expands them.
    let service = service_section(&unit_text);
    let mut env = unit_environment(&service);
    assert_eq!(env.get("CONFIG").map(String::as_str), Some(CONFIG));
    let notify = values(&service, "Type") == ["notify"];
    let success: Vec<i32> = values(&service, "SuccessExitStatus")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .filter_map(|c| c.parse().ok())
        .collect();
    let config = std::fs::read_to_string(CONFIG).unwrap();
    let listen = config_address(&config, "bind");
    let _echo = Echo::start(config_address(&config, "server"));

    let pre = values(&service, "ExecStartPre");
    assert!(!pre.is_empty(), "no ExecStartPre config check");
    for line in pre {
        let argv = command_line(line, &env);
        assert!(
            argv.contains(&"-c".to_string()),
            "ExecStartPre is not a check: {argv:?}"
        );
        ok(&mut command(&argv, &env));
    }

    let start = values(&service, "ExecStart");
    assert_eq!(start.len(), 1, "{start:?}");
    let argv = command_line(start[0], &env);
    let mut cmd = command(&argv, &env);
    let notify_sock = if notify {
        let path = dir.join("notify");
        let sock = UnixDatagram::bind(&path).unwrap();
        cmd.env("NOTIFY_SOCKET", &path);
        Some(sock)
    } else {
        None
    };
    let log = std::fs::File::create(dir.join("service.log")).unwrap();
    cmd.stdout(log.try_clone().unwrap()).stderr(log);
    let mut service_proc = Service(cmd.spawn().unwrap_or_else(|e| panic!("{argv:?}: {e}")));
    let main_pid = service_proc.0.id();
    let show_log = || std::fs::read_to_string(dir.join("service.log")).unwrap_or_default();
    if let Some(sock) = &notify_sock {
        let got = wait_notify(sock, "READY=1", Duration::from_secs(15));
        if let Some(pid) = got.lines().find_map(|l| l.strip_prefix("MAINPID=")) {
            assert_eq!(
                pid,
                main_pid.to_string(),
                "MAINPID is not the ExecStart process"
            );
        }
    }
    let got = wait_until(
        "the default configuration's listener serves",
        Duration::from_secs(15),
        || {
            if let Ok(Some(st)) = service_proc.0.try_wait() {
                panic!("{argv:?} exited ({st}):\n{}", show_log());
            }
            echo_through(listen, b"hello through haproxide\n").ok()
        },
    );
    assert_eq!(got, b"hello through haproxide\n");
    if let Some(pidfile) = env.get("PIDFILE").filter(|_| notify) {
        let pid = wait_until("the pid file", Duration::from_secs(5), || {
            std::fs::read_to_string(pidfile)
                .ok()
                .filter(|s| !s.trim().is_empty())
        });
        assert_eq!(pid.trim(), main_pid.to_string(), "{pidfile}");
    }

    // The master CLI the unit asks for (`-S PATH`) lists the master and its worker.
    let master_cli = argv
        .iter()
        .position(|a| a == "-S")
        .and_then(|i| argv.get(i + 1))
        .map(|a| PathBuf::from(a.split(',').next().unwrap_or(a)));
    if let Some(path) = &master_cli {
        let procs = show_proc(path);
        assert!(
            procs.contains("master") && procs.contains("worker"),
            "show proc: {procs}"
        );
    }

    // systemctl reload: the ExecReload lines in order, with $MAINPID.
    let reload = values(&service, "ExecReload");
    assert!(
        notify || reload.is_empty(),
        "ExecReload without Type=notify: {reload:?}"
    );
    if notify {
        assert!(
            reload.len() >= 2,
            "ExecReload should check then signal: {reload:?}"
        );
        env.insert("MAINPID".into(), main_pid.to_string());
        for line in &reload {
            ok(&mut command(&command_line(line, &env), &env));
        }
        if let Some(sock) = &notify_sock {
            let got = wait_notify(sock, "READY=1", Duration::from_secs(15));
            assert!(
                got.contains("RELOADING=1"),
                "no RELOADING=1 before READY=1: {got:?}"
            );
        }
        let got = wait_until("serving after the reload", Duration::from_secs(15), || {
            echo_through(listen, b"after reload\n").ok()
        });
        assert_eq!(got, b"after reload\n");
        assert!(
            matches!(service_proc.0.try_wait(), Ok(None)),
            "the main process changed on reload:\n{}",
            show_log()
        );
    }

    // systemctl reload with a broken configuration: the first ExecReload line (the
    // check) fails, so systemd runs no further line; the proxy keeps serving.
    if notify {
        std::fs::write(
            CONFIG,
            format!("{config}\nlisten broken\n\tbalanse roundrobin\n"),
        )
        .unwrap();
        let check = command_line(reload[0], &env);
        let out = run(&mut command(&check, &env));
        assert!(
            !out.status.success(),
            "{check:?} accepts a broken configuration"
        );
        std::fs::write(CONFIG, &config).unwrap();
        assert_eq!(
            echo_through(listen, b"still\n").as_deref(),
            Ok(&b"still\n"[..])
        );
    }

    if let (Some(path), true) = (&master_cli, notify) {
        let procs = show_proc(path);
        assert!(procs.contains("worker"), "show proc after reload: {procs}");
    }

    // systemctl stop: SIGTERM to the main process (KillMode=mixed), a clean exit.
    // SAFETY: kill(2) on the pid of our own child, still unreaped.
    assert_eq!(unsafe { libc::kill(main_pid as i32, libc::SIGTERM) }, 0);
    let status = wait_until("exit after SIGTERM", Duration::from_secs(15), || {
        service_proc.0.try_wait().ok().flatten()
    });
    assert!(
        clean_exit(status, &success),
        "stop: {status} is a failure for the unit:\n{}",
        show_log()
    );
    // Under systemd, KillMode=mixed would SIGKILL a worker left behind: here the
    // master must have stopped its workers itself.
    wait_until(
        "the listener closed after stop",
        Duration::from_secs(10),
        || {
            TcpStream::connect_timeout(&listen, Duration::from_millis(500))
                .is_err()
                .then_some(())
        },
    );
}

/// `show proc` on the master CLI (management.txt §9.4), one command per connection.
fn show_proc(path: &Path) -> String {
    let mut s = wait_until("the master CLI socket", Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(path).ok()
    });
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"show proc\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
