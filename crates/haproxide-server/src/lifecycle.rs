//! The process's life: `haproxide [-f FILE|DIR]... [-d|-db|-D] [-p PIDFILE]
//! [-sf PID...|-st PID...] [-W|-Ws]` runs the configuration as HAProxy would
//! (management.txt §3 "Command line", §4 "Stopping and restarting HAProxy").
//! The binary turns its flags into [`Options`] and calls [`run`]; everything
//! below happens here, in this order:
//!
//! - **start**: check and translate the configuration ([`prepare`]: alerts go to
//!   the [`Console`]), daemonize (`-D`, before any thread exists), write the pid
//!   file, take the listening sockets over from the process being replaced, set
//!   the descriptor limit, build the runtime, bind ([`crate::run::start`]), drop
//!   privileges;
//! - **reload**: standalone, the new process retires the old ones (`-sf`/`-st`)
//!   once its listeners are bound; in master-worker mode (`-W`) the master runs
//!   [`prepare`] again on SIGUSR2 and starts a new worker
//!   (`haproxide_process::mworker`);
//! - **stop**: SIGUSR1 soft stop, SIGTERM/SIGINT hard stop
//!   ([`crate::run::Running::serve`]), then the logs are flushed and the pid file
//!   removed.
//!
//! The configuration is checked exactly as `-c` checks it. If it is invalid, the
//! process prints HAProxy's alerts and exits 1. A proxy the engine cannot run yet
//! stops start-up with file:line, unless `--allow-unsupported` is given; then it is
//! skipped, with a warning. Daemon mode forks before any thread exists.
//! `-sf`/`-st` signal the old processes only once our listeners are bound, so the
//! two processes overlap and no connection is refused.

/// The system's user and group lookup (NSS), for every configuration check.
pub use haproxide_process::sys::NssAccounts;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use haproxide_config::{lexer::ProcessEnv, CheckOptions, Target};
use haproxide_log::{events, Level, ProxyLogs};
use haproxide_process::mworker::WorkerEnv;

use crate::run::{self, EventSink, Stopped};

/// What the command line asked for (the binary's flags, as plain data).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Configuration files or directories (`-f`).
    pub files: Vec<PathBuf>,
    /// `-q`.
    pub quiet: bool,
    /// Ignore server address resolution failures (`-dr`).
    pub dr: bool,
    /// Stay in the foreground, debug output (`-d`).
    pub debug: bool,
    /// Stay in the foreground (`-db`).
    pub foreground: bool,
    /// Run as a daemon (`-D`).
    pub daemon: bool,
    /// `-p`.
    pub pidfile: Option<PathBuf>,
    /// `-V`.
    pub verbose: bool,
    /// `-sf`: processes to soft-stop once our listeners are bound.
    pub soft_finish: Vec<i32>,
    /// `-st`: processes to stop at once once our listeners are bound.
    pub terminate: Vec<i32>,
    /// `-x`: take the listening sockets over from this stats socket (`_getsocks`).
    pub takeover: Option<PathBuf>,
    /// `-W`.
    pub master_worker: bool,
    /// `-Ws`.
    pub master_worker_systemd: bool,
    /// `-S`: master CLI sockets.
    pub master_cli: Vec<String>,
    /// `--allow-unsupported`: skip the proxies haproxide cannot run yet.
    pub allow_unsupported: bool,
    /// The version the master CLI reports.
    pub version: String,
}

/// Where the configuration's diagnostics are printed (the binary renders them).
pub trait Console: Send + Sync + 'static {
    /// The configuration failed its check: HAProxy's alerts for
    /// `checked.diagnostics`.
    fn alerts(&self, checked: &haproxide_config::Checked);
    /// Diagnostics found after the check (`checked.diagnostics`, which share the
    /// check's sources for snippets).
    fn diagnostics(&self, checked: &haproxide_config::Checked);
    /// The configuration passed its check with warnings: HAProxy prints them as it
    /// starts (e.g. `-dr`'s "could not resolve address ..., disabling server.").
    fn warnings(&self, _checked: &haproxide_config::Checked) {}
}

/// Why the process could not run (configuration problems are not errors: they
/// are printed and give exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot daemonize: {0}")]
    Daemonize(#[source] std::io::Error),
    #[error("cannot write pid file {}: {source}", path.display())]
    PidFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot find the executable to start workers: {0}")]
    Exe(#[source] std::io::Error),
}

type Result<T> = std::result::Result<T, LifecycleError>;

fn write_pidfile(p: &std::path::Path) -> Result<()> {
    std::fs::write(p, format!("{}\n", std::process::id())).map_err(|source| {
        LifecycleError::PidFile {
            path: p.to_path_buf(),
            source,
        }
    })
}

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
    plan: crate::translate::Plan,
    logs: Arc<ProxyLogs>,
    global_daemon: bool,
    global_master_worker: bool,
    /// `pidfile` in global (`-p` takes precedence).
    global_pidfile: Option<PathBuf>,
}

/// Check, translate and build the loggers, printing HAProxy's alerts on failure
/// (the exit code is then returned). The master runs it again at each reload.
fn prepare(
    args: &Options,
    console: &dyn Console,
    warnings: bool,
) -> std::result::Result<Prepared, u8> {
    let files = &args.files;
    let env = ProcessEnv;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: args.dr,
        resolver: haproxide_config::Resolver::System,
        check_files: true,
        accounts: &haproxide_process::sys::NssAccounts,
    };
    let mut checked = haproxide_config::check_run_mode(files, &opts);
    let quiet = args.quiet || checked.config.global.quiet;
    if checked.has_errors() {
        if !quiet {
            console.alerts(&checked);
        }
        return Err(1);
    }
    if !quiet
        && checked
            .diagnostics
            .iter()
            .any(|d| d.severity == haproxide_config::Severity::Warning)
    {
        console.warnings(&checked);
    }
    let (plan, unsupported) = crate::translate::translate(&checked.config);
    if !unsupported.is_empty() {
        let skip = args.allow_unsupported;
        // A name that stopped resolving since the check is not a missing feature.
        let other = unsupported
            .iter()
            .filter(|d| d.code != haproxide_config::Code::NotRunYet)
            .count();
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
        let total = shown.len();
        show(console, &mut checked, shown);
        if !skip {
            if other == total {
                eprintln!(
                    "haproxide: not starting: {other} problem(s) in the configuration (above)"
                );
            } else {
                eprintln!("haproxide: not starting: the configuration uses what haproxide does not run yet (--allow-unsupported skips those proxies)");
            }
            return Err(1);
        }
    }
    if warnings && !plan.process.warnings.is_empty() && !quiet {
        show(console, &mut checked, plan.process.warnings.clone());
    }
    let (logs, log_errors) = crate::logsetup::build(&checked.config);
    if !log_errors.is_empty() {
        show(console, &mut checked, log_errors);
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

/// Runs the configuration for its whole life (see the module's documentation):
/// the exit code, or why the process could not run.
pub fn run(args: Options, console: Arc<dyn Console>) -> Result<u8> {
    let mut worker = WorkerEnv::from_env();
    // A worker's master already printed the configuration's warnings.
    let prepared = match prepare(&args, &*console, worker.is_none()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let master_mode =
        args.master_worker || args.master_worker_systemd || prepared.global_master_worker;
    if worker.is_none() && master_mode {
        return master(args, console, prepared);
    }
    // §3.7: only a master runs programs (HAProxy 2.6.12's alert and exit code).
    if worker.is_none() && !prepared.plan.process.programs.is_empty() {
        let pid = std::process::id();
        eprintln!("[ALERT]    ({pid}) : config : Can't use a 'program' section without master worker mode.");
        eprintln!("[ALERT]    ({pid}) : config : Fatal errors found in configuration.");
        return Ok(1);
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
        daemonize().map_err(LifecycleError::Daemonize)?;
    }
    let pidfile = args
        .pidfile
        .clone()
        .or(global_pidfile)
        .filter(|_| worker.is_none());
    if let Some(p) = &pidfile {
        write_pidfile(p)?;
    }
    // Reload: take over the previous process's listening sockets (`-x PATH`, or the
    // socket of the first `-sf`/`-st` pid, or the worker being replaced), so that no
    // connection is refused.
    let mut plan = plan;
    // Whom to trust (issue 13 row 1): `-x PATH` is the operator's explicit choice,
    // a `stats socket ... expose-fd listeners` of haproxide or HAProxy asked with
    // HAProxy's `_getsocks` (its peer must still be this user); `-sf PID` only a
    // private directory of PID's, served by PID itself. Either way each socket is
    // kept only for its real address (getsockname), and adopted only where the
    // configuration binds that address (run::adopt_listeners); the rest is closed.
    let also = plan.process.uid;
    let explicit = worker.is_none() && args.takeover.is_some();
    let from = match &worker {
        Some(w) => w.takeover().map(PathBuf::from).map(|p| {
            let pid = haproxide_process::handover::pid_of_path(&p);
            (p, haproxide_process::handover::Trust::this_user(also, pid))
        }),
        None => match args.takeover.clone() {
            Some(p) => Some((p, haproxide_process::handover::Trust::this_user(also, None))),
            None => args
                .soft_finish
                .iter()
                .chain(args.terminate.iter())
                .find(|p| **p > 0)
                .map(|p| {
                    let pid = *p as u32;
                    (
                        haproxide_process::handover::default_path(pid),
                        haproxide_process::handover::Trust::this_user(also, Some(pid)),
                    )
                }),
        },
    };
    if let Some((path, trust)) = from {
        // The previous process may still be starting (its socket appears once it
        // listens): wait for it a little, bounded.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while !path.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let fetched = if explicit {
            haproxide_process::getsocks::fetch(&path, &trust)
        } else {
            haproxide_process::handover::fetch(&path, &trust)
        };
        // §3.5 `peers`: the stick tables the local peer hands over (not
        // through `-x`, HAProxy's socket: its tables come by its protocol).
        if !explicit && plan.engine.stick_tables.iter().any(|t| t.handover) {
            match haproxide_process::handover::fetch_tables(&path, &trust, 256 << 20) {
                Ok(data) => plan.tables_handover = Some(data),
                Err(e) => eprintln!(
                    "[WARNING]  ({}) : stick tables not taken over from {}: {e}",
                    std::process::id(),
                    path.display()
                ),
            }
        }
        match fetched {
            Ok(fds) => {
                let n = crate::run::adopt_listeners(&mut plan, fds);
                if args.debug || args.verbose {
                    eprintln!(
                        "[NOTICE]   ({}) : took over {n} listening sockets from {}",
                        std::process::id(),
                        path.display()
                    );
                }
            }
            // A handover refused for trust reasons is always said; a missing one
            // only for `-x` or a worker. Either way: bind afresh (SO_REUSEPORT).
            Err(e)
                if args.takeover.is_some()
                    || worker.is_some()
                    || e.kind() == std::io::ErrorKind::PermissionDenied =>
            {
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
    match haproxide_process::spec::apply_fd_limit(&mut plan.process) {
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
        .map_err(LifecycleError::Runtime)?;
    let events: Arc<dyn EventSink> = Arc::new(Events {
        logs: Arc::clone(&logs),
        stderr: args.debug || args.verbose,
    });
    let session_logs: Arc<dyn haproxide_forward::SessionLogger> = logs.clone();
    let in_worker = worker.is_some();
    let code = rt.block_on(async move {
        let signals = run::Signals::install();
        // Listeners are bound, then `chroot`, `group`/`gid`, `user`/`uid`, then
        // the proxies, the stats sockets and the checks are served (HAProxy's order).
        let privileges = process.clone();
        let before_serving: run::BeforeServing = Box::new(move || {
            haproxide_process::spec::drop_privileges(&privileges).map_err(|e| e.to_string())
        });
        let running = match run::start_with(plan, session_logs, events, before_serving).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("[ALERT]    ({}) : {e}", std::process::id());
                return 1u8;
            }
        };
        let (_cli_stop, cli_stop_rx) = tokio::sync::watch::channel(false);
        if let Some(w) = worker.as_mut() {
            // The master forwards `@N <command>` to this socket.
            if let Some(l) = w.take_cli_listener() {
                let state = running.runtime_state();
                let served = l
                    .set_nonblocking(true)
                    .and_then(|_| tokio::net::UnixListener::from_std(l));
                if let Ok(l) = served {
                    tokio::spawn(haproxide_admin::cli::listen::serve_bound(
                        haproxide_admin::cli::listen::Bound::Unix(l, PathBuf::new()),
                        haproxide_admin::cli::ListenOptions::default(),
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
/// `haproxide_process::mworker`. The master checks the configuration (done by the
/// caller), binds the master CLI sockets, daemonizes with `-D`, writes its own pid
/// to the pid file, and runs the workers.
fn master(args: Options, console: Arc<dyn Console>, prepared: Prepared) -> Result<u8> {
    use haproxide_process::mworker::{master, mcli};
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
    let programs = prepared.plan.process.programs.clone();
    let pidfile = args.pidfile.clone().or(prepared.global_pidfile.clone());
    drop(prepared);
    if daemon {
        daemonize().map_err(LifecycleError::Daemonize)?;
    }
    if let Some(p) = &pidfile {
        write_pidfile(p)?;
    }
    let exe = std::env::current_exe().map_err(LifecycleError::Exe)?;
    let cfg = master::MasterConfig {
        exe,
        args: std::env::args_os().skip(1).collect(),
        systemd: args.master_worker_systemd,
        quiet: args.quiet,
        version: args.version.clone(),
        max_reloads,
        no_exit_on_failure,
        ready_timeout: std::time::Duration::from_secs(60),
        programs,
    };
    let loader: master::Loader = Box::new(move || {
        prepare(&args, &*console, true)
            .ok()
            .map(|p| master::Loaded {
                max_reloads: p.plan.process.max_reloads,
                no_exit_on_failure: p.plan.process.no_exit_on_failure,
                programs: p.plan.process.programs,
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
fn show(
    console: &dyn Console,
    checked: &mut haproxide_config::Checked,
    diags: Vec<haproxide_config::Diagnostic>,
) {
    let saved = std::mem::replace(&mut checked.diagnostics, diags);
    console.diagnostics(checked);
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
