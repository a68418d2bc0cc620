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
use haproxide_server::mworker::WorkerEnv;
use haproxide_server::run::{self, EventSink, Stopped};

use crate::{render, HaproxyArgs};

/// Process events go to the global log targets, and to stderr in foreground
/// debug mode (as HAProxy prints them with `-d`).
struct Events {
    logs: Arc<ProxyLogs>,
    stderr: bool,
}

impl EventSink for Events {
    fn event(&self, level: Level, text: &str) {
        self.logs.event(level, text);
        if self.stderr {
            eprintln!("{}", events::console_line(level, std::process::id(), text));
        }
    }

    fn proxy_event(&self, proxy: &str, level: Level, text: &str) {
        self.logs.proxy_event(proxy, level, text);
        if self.stderr {
            eprintln!("{}", events::console_line(level, std::process::id(), text));
        }
    }
}

/// A configuration that passed the check and the translation, ready to run.
struct Prepared {
    plan: haproxide_server::translate::Plan,
    logs: Arc<ProxyLogs>,
    global_daemon: bool,
    global_master_worker: bool,
    /// `pidfile` in global (`-p` takes precedence).
    global_pidfile: Option<PathBuf>,
}

/// Check, translate and build the loggers, printing HAProxy's alerts on failure
/// (the exit code is then returned). The master runs it again at each reload.
fn prepare(
    args: &HaproxyArgs,
    files: &[PathBuf],
    warnings: bool,
) -> std::result::Result<Prepared, u8> {
    let env = ProcessEnv;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: args.dr,
        resolver: haproxide_config::Resolver::System,
        check_files: true,
        accounts: &haproxide_process::sys::NssAccounts,
    };
    let mut checked = haproxide_config::check(files, &opts);
    let quiet = args.quiet || checked.config.global.quiet;
    if checked.has_errors() {
        if !quiet {
            let (_, e) = render::haproxy(&checked, 1, "3.5", false);
            eprint!("{e}");
        }
        return Err(1);
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
            return Err(1);
        }
    }
    if warnings && !plan.process.warnings.is_empty() && !quiet {
        show(&mut checked, plan.process.warnings.clone());
    }
    let (logs, log_errors) = haproxide_server::logsetup::build(&checked.config);
    if !log_errors.is_empty() {
        show(&mut checked, log_errors);
        return Err(1);
    }
    // HAProxy runs a configuration whose only listener is its `stats socket` (it
    // serves the CLI); with neither, it exits ("No enabled listener found").
    if plan.engine.frontends.is_empty() && plan.admin.sockets.is_empty() {
        eprintln!("haproxide: nothing to listen on (no frontend with a bind can run)");
        return Err(1);
    }
    Ok(Prepared {
        plan,
        logs: Arc::new(logs),
        global_daemon: checked.config.global.daemon,
        global_master_worker: checked.config.global.master_worker,
        global_pidfile: checked
            .config
            .global
            .pidfile
            .as_ref()
            .map(|p| PathBuf::from(&p.name)),
    })
}

pub(crate) fn run(args: HaproxyArgs, files: Vec<PathBuf>) -> Result<u8> {
    let mut worker = WorkerEnv::from_env();
    // A worker's master already printed the configuration's warnings.
    let prepared = match prepare(&args, &files, worker.is_none()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let master_mode =
        args.master_worker || args.master_worker_systemd || prepared.global_master_worker;
    if worker.is_none() && master_mode {
        return master(args, files, prepared);
    }
    if worker.is_none() && !args.master_cli.is_empty() {
        eprintln!(
            "[WARNING]  ({}) : -S is only used in master-worker mode (-W); ignored.",
            std::process::id()
        );
    }
    let Prepared {
        plan,
        logs,
        global_daemon,
        global_pidfile,
        ..
    } = prepared;
    // `-d`/`-db` keep the process in the foreground even with `daemon` in global; a
    // worker stays attached to its master.
    let daemon =
        (args.daemon || global_daemon) && !args.debug && !args.foreground && worker.is_none();
    if daemon {
        daemonize().context("cannot daemonize")?;
    }
    let pidfile = args
        .pidfile
        .clone()
        .or(global_pidfile)
        .filter(|_| worker.is_none());
    if let Some(p) = &pidfile {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", p.display()))?;
    }
    // Reload: take over the previous process's listening sockets (`-x PATH`, or the
    // socket of the first `-sf`/`-st` pid, or the worker being replaced), so that no
    // connection is refused.
    let mut plan = plan;
    let from = match &worker {
        Some(w) => w.takeover().map(PathBuf::from),
        None => args.takeover.clone().or_else(|| {
            args.soft_finish
                .iter()
                .chain(args.terminate.iter())
                .find(|p| **p > 0)
                .map(|p| haproxide_server::handover::default_path(*p as u32))
        }),
    };
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
            Err(e) if args.takeover.is_some() || worker.is_some() => {
                eprintln!(
                    "[WARNING]  ({}) : cannot take over listeners from {}: {e}",
                    std::process::id(),
                    path.display()
                );
            }
            Err(_) => {}
        }
    }
    // `ulimit-n`, or the limit HAProxy derives from maxconn (strict-limits: a limit
    // that cannot be raised stops the start, as HAProxy 2.6 does).
    match haproxide_server::process::apply_fd_limit(&mut plan.process) {
        Ok((_, Some(warning))) => eprintln!("[WARNING]  ({}) : {warning}", std::process::id()),
        Ok(_) => {}
        Err(e) => {
            eprintln!("[ALERT]    ({}) : {e}", std::process::id());
            return Ok(1);
        }
    }
    let process = plan.process.clone();
    // `nbthread`: the runtime's worker threads (default: the usable CPUs).
    let threads = process.threads();
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
    let in_worker = worker.is_some();
    let code = rt.block_on(async move {
        let signals = run::Signals::install();
        let running = match run::start(plan, session_logs, events).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("[ALERT]    ({}) : {e}", std::process::id());
                return 1u8;
            }
        };
        // Listeners are bound: `chroot`, `group`/`gid`, `user`/`uid` now.
        if let Err(e) = haproxide_server::process::drop_privileges(&process) {
            eprintln!("[ALERT]    ({}) : {e}", std::process::id());
            running.stop(Stopped::Hard).await;
            return 1;
        }
        let (_cli_stop, cli_stop_rx) = tokio::sync::watch::channel(false);
        if let Some(w) = worker.as_mut() {
            // The master forwards `@N <command>` to this socket.
            if let Some(l) = w.take_cli_listener() {
                let state = running.runtime_state();
                let served = l
                    .set_nonblocking(true)
                    .and_then(|_| tokio::net::UnixListener::from_std(l));
                if let Ok(l) = served {
                    tokio::spawn(haproxide_server::cli::listen::serve_bound(
                        haproxide_server::cli::listen::Bound::Unix(l, PathBuf::new()),
                        haproxide_server::cli::ListenOptions::default(),
                        state,
                        cli_stop_rx,
                    ));
                }
            }
            // The master soft-stops the worker being replaced once this one is ready.
            w.ready();
        } else {
            // Our listeners are bound: now the old processes may go.
            signal_all(&args.soft_finish, libc::SIGUSR1);
            signal_all(&args.terminate, libc::SIGTERM);
        }
        let (_tx, rx) = tokio::sync::watch::channel(false);
        match running.serve(signals, rx).await {
            Stopped::Soft => 0,
            // A worker reports how it was stopped, so that its master can (HAProxy's
            // master exits 130 after SIGINT); alone, HAProxy exits 0.
            Stopped::Hard if in_worker => 143,
            Stopped::Interrupt if in_worker => 130,
            Stopped::Hard | Stopped::Interrupt => 0,
        }
    });
    logs.flush(std::time::Duration::from_millis(500));
    if let Some(p) = pidfile {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::io::stderr().flush();
    Ok(code)
}

/// Master-worker mode (`-W`, `-Ws`, `master-worker`): see
/// `haproxide_server::mworker`. The master checks the configuration (done by the
/// caller), binds the master CLI sockets, daemonizes with `-D`, writes its own pid
/// to the pid file, and runs the workers.
fn master(args: HaproxyArgs, files: Vec<PathBuf>, prepared: Prepared) -> Result<u8> {
    use haproxide_server::mworker::{master, mcli};
    let mut clis = Vec::new();
    for spec in &args.master_cli {
        match mcli::parse(spec) {
            Ok(b) => clis.push(b),
            Err(e) => {
                eprintln!(
                    "[ALERT]    ({}) : master CLI socket {e}",
                    std::process::id()
                );
                return Ok(1);
            }
        }
    }
    let daemon = (args.daemon || prepared.global_daemon) && !args.debug && !args.foreground;
    let max_reloads = prepared.plan.process.max_reloads;
    let no_exit_on_failure = prepared.plan.process.no_exit_on_failure;
    let pidfile = args.pidfile.clone().or(prepared.global_pidfile.clone());
    drop(prepared);
    if daemon {
        daemonize().context("cannot daemonize")?;
    }
    if let Some(p) = &pidfile {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", p.display()))?;
    }
    let exe = std::env::current_exe().context("cannot find the executable to start workers")?;
    let cfg = master::MasterConfig {
        exe,
        args: std::env::args_os().skip(1).collect(),
        systemd: args.master_worker_systemd,
        quiet: args.quiet,
        version: env!("CARGO_PKG_VERSION").to_string(),
        max_reloads,
        no_exit_on_failure,
        ready_timeout: std::time::Duration::from_secs(60),
    };
    let loader: master::Loader = Box::new(move || {
        prepare(&args, &files, true).ok().map(|p| master::Loaded {
            max_reloads: p.plan.process.max_reloads,
            no_exit_on_failure: p.plan.process.no_exit_on_failure,
        })
    });
    let code = master::run(cfg, loader, clis);
    if let Some(p) = pidfile {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::io::stderr().flush();
    Ok(u8::try_from(code).unwrap_or(1))
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
            // A stale pid only yields ESRCH, which is ignored as HAProxy does.
            let _ = haproxide_process::sys::kill(pid, sig);
        }
    }
}

/// Detach from the terminal (before the async runtime starts, while the process
/// has a single thread).
fn daemonize() -> std::io::Result<()> {
    haproxide_process::sys::daemonize()
}
