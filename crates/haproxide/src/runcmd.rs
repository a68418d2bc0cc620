//! `haproxide [-f FILE|DIR]... [-d|-db|-D] [-p PIDFILE] [-sf PID...|-st PID...]`:
//! run the configuration as HAProxy would (management.txt §3 "Command line").
//!
//! The configuration is checked exactly as `-c` checks it. If it is invalid, the
//! process prints HAProxy's alerts and exits 1. A proxy the engine cannot run yet
//! stops start-up with file:line, unless `--allow-unsupported` is given; then it is
//! skipped, with a warning. Daemon mode forks before any thread exists.
//! `-sf`/`-st` signal the old processes only once our listeners are bound, so the
//! two processes overlap and no connection is refused.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use haproxide_config::{lexer::ProcessEnv, CheckOptions, Target};
use haproxide_server::logging::{events, Level, ProxyLogs};
use haproxide_server::run::{self, EventSink, Stopped};

use crate::{render, HaproxyArgs};

/// Process events go to the global log targets, and to stderr in foreground
/// debug mode (as HAProxy prints them with `-d`).
struct Events {
    logs: Arc<ProxyLogs>,
    stderr: bool,
}

impl EventSink for Events {
    fn event(&self, level: u8, text: &str) {
        let level = Level::from_code(level).unwrap_or(Level::Notice);
        self.logs.event(level, text);
        if self.stderr {
            eprintln!("{}", events::console_line(level, std::process::id(), text));
        }
    }
}

pub(crate) fn run(args: HaproxyArgs, files: Vec<PathBuf>) -> Result<u8> {
    if args.master_worker || args.master_worker_systemd || !args.master_cli.is_empty() {
        // Interim: the master process lands in the next commit.
        anyhow::bail!("master-worker mode (-W, -Ws, -S) is not available in this build yet");
    }
    let env = ProcessEnv;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: args.dr,
        resolver: haproxide_config::Resolver::System,
        check_files: true,
    };
    let mut checked = haproxide_config::check(&files, &opts);
    let quiet = args.quiet || checked.config.global.quiet;
    let global_daemon = checked.config.global.daemon;
    if checked.has_errors() {
        if !quiet {
            let (_, e) = render::haproxy(&checked, 1, "3.5", false);
            eprint!("{e}");
        }
        return Ok(1);
    }
    let (plan, unsupported) = haproxide_server::translate::translate(&checked.config);
    if !unsupported.is_empty() {
        let skip = args.allow_unsupported;
        let shown: Vec<_> = unsupported
            .into_iter()
            .map(|mut d| {
                if skip {
                    d.severity = haproxide_config::Severity::Warning;
                    d.message.push_str(" (skipped: --allow-unsupported)");
                }
                d
            })
            .collect();
        show(&mut checked, shown);
        if !skip {
            eprintln!("haproxide: not starting: the configuration uses what haproxide does not run yet (--allow-unsupported skips those proxies)");
            return Ok(1);
        }
    }
    let (logs, log_errors) = haproxide_server::logsetup::build(&checked.config);
    if !log_errors.is_empty() {
        show(&mut checked, log_errors);
        return Ok(1);
    }
    let logs = Arc::new(logs);
    if plan.engine.frontends.is_empty() {
        eprintln!("haproxide: nothing to listen on (no frontend with a bind can run)");
        return Ok(1);
    }
    // `-d`/`-db` keep the process in the foreground even with `daemon` in global.
    let daemon = (args.daemon || global_daemon) && !args.debug && !args.foreground;
    if daemon {
        daemonize().context("cannot daemonize")?;
    }
    if let Some(p) = &args.pidfile {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", p.display()))?;
    }
    // Reload: take over the previous process's listening sockets (`-x PATH`, or the
    // socket of the first `-sf`/`-st` pid), so that no connection is refused.
    let mut plan = plan;
    let from = args.takeover.clone().or_else(|| {
        args.soft_finish
            .iter()
            .chain(args.terminate.iter())
            .find(|p| **p > 0)
            .map(|p| haproxide_server::handover::default_path(*p as u32))
    });
    if let Some(path) = from {
        // The previous process may still be starting (its socket appears once it
        // listens): wait for it a little, bounded.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while !path.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        match haproxide_server::handover::fetch(&path) {
            Ok(fds) => {
                let n = haproxide_server::run::adopt_listeners(&mut plan, fds);
                if args.debug || args.verbose {
                    eprintln!(
                        "[NOTICE]   ({}) : took over {n} listening sockets from {}",
                        std::process::id(),
                        path.display()
                    );
                }
            }
            // Like HAProxy without a reachable `-x` socket: bind afresh (SO_REUSEPORT).
            Err(e) if args.takeover.is_some() => {
                eprintln!(
                    "[WARNING]  ({}) : cannot take over listeners from {}: {e}",
                    std::process::id(),
                    path.display()
                );
            }
            Err(_) => {}
        }
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let events: Arc<dyn EventSink> = Arc::new(Events {
        logs: Arc::clone(&logs),
        stderr: args.debug || args.verbose,
    });
    let session_logs: Arc<dyn haproxide_forward::SessionLogger> = logs.clone();
    let code = rt.block_on(async move {
        let signals = run::Signals::install();
        let running = match run::start(plan, session_logs, events).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("[ALERT]    ({}) : {e}", std::process::id());
                return 1u8;
            }
        };
        // Our listeners are bound: now the old processes may go.
        signal_all(&args.soft_finish, libc::SIGUSR1);
        signal_all(&args.terminate, libc::SIGTERM);
        let (_tx, rx) = tokio::sync::watch::channel(false);
        match running.serve(signals, rx).await {
            Stopped::Soft | Stopped::Hard => 0,
        }
    });
    logs.flush(std::time::Duration::from_millis(500));
    if let Some(p) = &args.pidfile {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::io::stderr().flush();
    Ok(code)
}

/// Print diagnostics found after the check (they share its sources for snippets).
fn show(checked: &mut haproxide_config::Checked, diags: Vec<haproxide_config::Diagnostic>) {
    let saved = std::mem::replace(&mut checked.diagnostics, diags);
    eprint!("{}", render::human(checked, false));
    checked.diagnostics = saved;
}

fn signal_all(pids: &[i32], sig: libc::c_int) {
    for &pid in pids {
        if pid > 0 {
            // SAFETY: kill(2) has no memory-safety preconditions; a stale pid only
            // yields ESRCH, which is ignored as HAProxy does.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

/// Detach from the terminal: fork, setsid, fork again, stdio to /dev/null. Called
/// before the async runtime starts, while the process has a single thread.
fn daemonize() -> std::io::Result<()> {
    // SAFETY: called before any other thread is spawned (the tokio runtime is built
    // afterwards), so fork() cannot duplicate a lock held by another thread.
    unsafe {
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            return Err(std::io::Error::last_os_error());
        }
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    use std::os::fd::AsRawFd;
    for fd in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors with a valid open fd.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
