//! The master process: starts, reloads and reaps the workers (see the module doc
//! of [`super`]). Its messages are HAProxy's (src/mworker.c), on stderr.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::mcli;
use super::notify::{self, Notifier};
use super::{TAKEOVER_ENV, WORKER_ENV};
use crate::handover;
use haproxide_admin::cli::listen::{self, CliAddress};
use haproxide_log::{events, Level};

/// How the master runs.
pub struct MasterConfig {
    /// The executable to start workers from (resolved at start-up: after a package
    /// upgrade, reloads start the new binary, as HAProxy's master re-executes).
    pub exe: PathBuf,
    /// The worker's arguments (the master's own; the worker ignores `-W`, `-D`...).
    pub args: Vec<OsString>,
    /// `-Ws`: notify systemd.
    pub systemd: bool,
    /// `-q` / `quiet`: only alerts on stderr.
    pub quiet: bool,
    /// Shown by `show proc`.
    pub version: String,
    /// `mworker-max-reloads` of the configuration loaded at start.
    pub max_reloads: Option<u32>,
    /// `master-worker no-exit-on-failure` (configuration.txt §3.1): a current
    /// worker failing does not take the other processes down; the master stays
    /// while any worker is left (and can reload).
    pub no_exit_on_failure: bool,
    /// How long a worker may take to say it listens.
    pub ready_timeout: Duration,
    /// `program` sections (§3.7), started with the first worker.
    pub programs: Vec<crate::spec::ProgramSpec>,
}

/// What a successful configuration load tells the master.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub max_reloads: Option<u32>,
    pub no_exit_on_failure: bool,
    pub programs: Vec<crate::spec::ProgramSpec>,
}

/// Checks the configuration again at a reload; `None` when it is invalid (the loader
/// has printed why).
pub type Loader = Box<dyn FnMut() -> Option<Loaded> + Send>;

/// A worker as `show proc` lists it.
#[derive(Debug, Clone)]
pub struct Worker {
    pub pid: u32,
    pub reloads: u32,
    pub started: Instant,
    /// Replaced by a newer worker, finishing its sessions.
    pub leaving: bool,
    /// Its runtime API socket (for `@N` forwarding).
    pub cli: PathBuf,
}

/// The master's view, shared with the master CLI.
#[derive(Debug)]
pub struct State {
    pub master_pid: u32,
    pub started: Instant,
    pub reloads: u32,
    pub failed: u32,
    /// Newest first.
    pub workers: Vec<Worker>,
    pub version: String,
}

pub(crate) type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "Hangup",
        2 => "Interrupt",
        3 => "Quit",
        6 => "Aborted",
        9 => "Killed",
        10 => "User defined signal 1",
        11 => "Segmentation fault",
        12 => "User defined signal 2",
        13 => "Broken pipe",
        15 => "Terminated",
        _ => "Signal",
    }
}

/// HAProxy's status of an exited child: the exit code, or 128 + signal.
pub(crate) fn status_code(st: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code()
        .or_else(|| st.signal().map(|s| 128 + s))
        .unwrap_or(255)
}

pub(crate) fn how(code: i32) -> &'static str {
    if code >= 128 {
        signal_name(code - 128)
    } else {
        "Exit"
    }
}

fn kill(pid: u32, sig: i32) {
    if let Ok(p) = i32::try_from(pid) {
        if p > 0 {
            let _ = crate::sys::kill(p, sig);
        }
    }
}

struct Master {
    cfg: MasterConfig,
    loader: Loader,
    notifier: Notifier,
    shared: Shared,
    /// Private directory for the workers' CLI sockets.
    dir: PathBuf,
    seq: u32,
    exits_tx: mpsc::UnboundedSender<(u32, i32)>,
    exits: mpsc::UnboundedReceiver<(u32, i32)>,
    /// Workers started but not ready yet.
    starting: HashSet<u32>,
    /// Exits that arrived while waiting for a new worker, handled afterwards.
    pending_exits: Vec<(u32, i32)>,
    stopping: bool,
    exit_code: i32,
    programs: super::programs::Programs,
}

/// Runs the master until every worker has exited; returns the exit code.
pub fn run(cfg: MasterConfig, loader: Loader, clis: Vec<mcli::CliSpec>) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!(
                "{}",
                events::console_line(Level::Alert, std::process::id(), &format!("{e}"))
            );
            return 1;
        }
    };
    let paths: Vec<PathBuf> = clis
        .iter()
        .filter_map(|c| match &c.addr {
            CliAddress::Unix(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("haproxide-master-{}", std::process::id()));
    // (The real directory adds a random suffix: `fresh_name`.)
    let code = rt.block_on(async move {
        let (exits_tx, exits) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(State {
            master_pid: std::process::id(),
            started: Instant::now(),
            reloads: 0,
            failed: 0,
            workers: Vec::new(),
            version: cfg.version.clone(),
        }));
        let notifier = Notifier::from_env(cfg.systemd);
        let mut m = Master {
            cfg,
            loader,
            notifier,
            shared,
            dir,
            seq: 0,
            exits_tx,
            exits,
            starting: HashSet::new(),
            pending_exits: Vec::new(),
            stopping: false,
            exit_code: -1,
            programs: super::programs::Programs::default(),
        };
        let code = m.main(clis).await;
        m.finish_programs().await;
        code
    });
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
    code
}

impl Master {
    fn say(&self, level: Level, text: &str) {
        if self.cfg.quiet && level > Level::Alert {
            return;
        }
        eprintln!("{}", events::console_line(level, std::process::id(), text));
    }

    fn notify(&self, msg: &str) {
        if let Err(e) = self.notifier.send(msg) {
            self.say(Level::Warning, &format!("cannot notify systemd: {e}"));
        }
    }

    async fn main(&mut self, clis: Vec<mcli::CliSpec>) -> i32 {
        let (reload_tx, mut reload_rx) = mpsc::unbounded_channel();
        let sigs = (
            signal(SignalKind::user_defined2()),
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::user_defined1()),
        );
        let (Ok(mut usr2), Ok(mut hup), Ok(mut term), Ok(mut int), Ok(mut usr1)) = sigs else {
            self.say(Level::Alert, "cannot install the signal handlers");
            return 1;
        };
        // The workers' CLI sockets live in a directory made fresh (mode 0700, never
        // one that already exists: issue 13 row 4), under an unguessable name.
        let made = fresh_name(&self.dir).and_then(|d| {
            handover::create_private_dir(&d)?;
            Ok(d)
        });
        if let Err(e) = made.as_ref().map(|d| self.dir = d.clone()) {
            self.say(
                Level::Alert,
                &format!("cannot create {}: {e}", self.dir.display()),
            );
            return 1;
        }
        for c in clis {
            match listen::bind_address(&c.addr, &c.opts) {
                Ok(b) => {
                    tokio::spawn(mcli::serve(
                        b,
                        c.opts.level,
                        Arc::clone(&self.shared),
                        reload_tx.clone(),
                    ));
                }
                Err(e) => {
                    self.say(
                        Level::Alert,
                        &format!("cannot bind the master CLI socket {:?}: {e}", c.addr),
                    );
                    return 1;
                }
            }
        }
        // §3.7: the programs start with the first worker (before it, as HAProxy).
        for p in self.cfg.programs.clone() {
            if let Err(e) = self.programs.start(&p, &self.exits_tx) {
                self.say(Level::Alert, &e);
            }
        }
        let code = match self.start_worker(None).await {
            Ok(_) => {
                self.say(Level::Notice, "Loading success.");
                self.notify(&notify::ready(std::process::id()));
                self.serve(
                    &mut usr2,
                    &mut hup,
                    &mut term,
                    &mut int,
                    &mut usr1,
                    &mut reload_rx,
                )
                .await
            }
            Err(code) => {
                self.say(
                    Level::Alert,
                    &format!("the first worker failed to start; exiting ({code})"),
                );
                code
            }
        };
        let _ = std::fs::remove_dir_all(&self.dir);
        code
    }

    #[allow(clippy::too_many_arguments)]
    async fn serve(
        &mut self,
        usr2: &mut tokio::signal::unix::Signal,
        hup: &mut tokio::signal::unix::Signal,
        term: &mut tokio::signal::unix::Signal,
        int: &mut tokio::signal::unix::Signal,
        usr1: &mut tokio::signal::unix::Signal,
        reload_rx: &mut mpsc::UnboundedReceiver<()>,
    ) -> i32 {
        loop {
            for (pid, code) in std::mem::take(&mut self.pending_exits) {
                if let Some(code) = self.on_exit(pid, code) {
                    return code;
                }
            }
            tokio::select! {
                _ = usr2.recv() => self.reload().await,
                _ = hup.recv() => self.reload().await,
                Some(()) = reload_rx.recv() => self.reload().await,
                _ = term.recv() => self.stop(libc::SIGTERM),
                _ = int.recv() => self.stop(libc::SIGINT),
                _ = usr1.recv() => self.stop(libc::SIGUSR1),
                Some((pid, code)) = self.exits.recv() => {
                    if let Some(code) = self.on_exit(pid, code) {
                        return code;
                    }
                }
            }
        }
    }

    /// SIGTERM/SIGINT/SIGUSR1 to the master: passed on to every worker; the master
    /// leaves once they have all exited.
    fn stop(&mut self, sig: i32) {
        self.notify(notify::STOPPING);
        self.say(Level::Warning, "Exiting Master process...");
        self.stopping = true;
        for w in lock(&self.shared).workers.iter() {
            kill(w.pid, sig);
        }
        for pid in self.programs.pids() {
            kill(pid, sig);
        }
    }

    /// At exit: SIGTERM to the programs still running, 3 s to end, then SIGKILL.
    async fn finish_programs(&mut self) {
        for pid in self.programs.pids() {
            kill(pid, libc::SIGTERM);
        }
        let said =
            super::programs::wait_all(&mut self.programs, &mut self.exits, Duration::from_secs(3))
                .await;
        for m in said {
            self.say(Level::Warning, &m);
        }
        for pid in self.programs.pids() {
            kill(pid, libc::SIGKILL);
        }
    }

    /// A child exited. Returns the master's exit code once no worker is left.
    fn on_exit(&mut self, pid: u32, code: i32) -> Option<i32> {
        if let Some(e) = self.programs.on_exit(pid, code) {
            let level = if e.current {
                Level::Alert
            } else {
                Level::Warning
            };
            self.say(level, &e.message);
            if e.failed && !self.stopping && !self.cfg.no_exit_on_failure {
                self.exit_on_failure();
                if self.exit_code < 0 {
                    self.exit_code = code;
                }
            }
            return None;
        }
        let removed = {
            let mut st = lock(&self.shared);
            let i = st.workers.iter().position(|w| w.pid == pid);
            i.map(|i| st.workers.remove(i))
        };
        match removed {
            Some(w) => {
                let _ = std::fs::remove_file(&w.cli);
                // A worker that dropped its privileges (or was killed) cannot remove
                // its handover socket itself.
                let _ = std::fs::remove_file(handover::default_path(pid));
                let _ = std::fs::remove_dir(handover::default_dir(pid));
                if w.leaving {
                    self.say(
                        Level::Warning,
                        &format!(
                            "Former worker ({pid}) exited with code {code} ({})",
                            how(code)
                        ),
                    );
                } else {
                    let level = if code < 128 {
                        Level::Warning
                    } else {
                        Level::Alert
                    };
                    self.say(
                        level,
                        &format!(
                            "Current worker ({pid}) exited with code {code} ({})",
                            how(code)
                        ),
                    );
                    if code != 0
                        && code != 130
                        && code != 143
                        && !self.stopping
                        && !self.cfg.no_exit_on_failure
                    {
                        self.exit_on_failure();
                    }
                    if self.exit_code < 0 && code != 0 && code != 143 {
                        self.exit_code = code;
                    }
                }
            }
            None if self.starting.remove(&pid) => {
                self.say(
                    Level::Warning,
                    &format!(
                        "Failed to load worker ({pid}) exited with code {code} ({})",
                        how(code)
                    ),
                );
            }
            None => {
                self.say(
                    Level::Warning,
                    &format!("Process {pid} exited with code {code} ({})", how(code)),
                );
            }
        }
        if lock(&self.shared).workers.is_empty() && self.starting.is_empty() {
            let code = self.exit_code.max(0);
            self.say(
                Level::Warning,
                &format!("All workers exited. Exiting... ({code})"),
            );
            return Some(code);
        }
        None
    }

    /// HAProxy's exit-on-failure: SIGTERM to every worker and program.
    fn exit_on_failure(&mut self) {
        self.say(
            Level::Alert,
            "exit-on-failure: killing every processes with SIGTERM",
        );
        self.stopping = true;
        for w in lock(&self.shared).workers.iter() {
            kill(w.pid, libc::SIGTERM);
        }
        for pid in self.programs.pids() {
            kill(pid, libc::SIGTERM);
        }
    }

    /// Starts a worker and waits until it listens. On failure, returns the exit
    /// code the master would leave with.
    async fn start_worker(&mut self, takeover: Option<PathBuf>) -> Result<u32, i32> {
        let (pid, mut status, cli) = match self.spawn(takeover) {
            Ok(s) => s,
            Err(e) => {
                self.say(Level::Alert, &format!("cannot start a worker: {e}"));
                return Err(1);
            }
        };
        self.starting.insert(pid);
        self.say(Level::Notice, &format!("New worker ({pid}) forked"));
        // Listed at once, as HAProxy lists a forked worker: `@1 <command>` sent
        // while it starts waits on its CLI socket (already listening) until it
        // serves. A failed start removes it again.
        lock(&self.shared).workers.insert(
            0,
            Worker {
                pid,
                reloads: 0,
                started: Instant::now(),
                leaving: false,
                cli: cli.clone(),
            },
        );
        let mut buf = [0u8; 16];
        let ready = matches!(
            tokio::time::timeout(self.cfg.ready_timeout, status.read(&mut buf)).await,
            Ok(Ok(n)) if buf[..n].starts_with(b"READY")
        );
        if ready {
            self.starting.remove(&pid);
            // The worker notices the master's death by the end of this socket.
            let keep = tokio::spawn(async move {
                let mut sink = [0u8; 16];
                while matches!(status.read(&mut sink).await, Ok(n) if n > 0) {}
            });
            drop(keep);
            return Ok(pid);
        }
        // Not ready: stopped before listening, or too slow (then it is killed).
        lock(&self.shared).workers.retain(|w| w.pid != pid);
        kill(pid, libc::SIGTERM);
        let _ = std::fs::remove_file(&cli);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.exits.recv()).await {
                Ok(Some((p, code))) if p == pid => {
                    self.starting.remove(&pid);
                    self.say(
                        Level::Warning,
                        &format!(
                            "Failed to load worker ({pid}) exited with code {code} ({})",
                            how(code)
                        ),
                    );
                    return Err(if code == 0 { 1 } else { code });
                }
                Ok(Some(other)) => self.pending_exits.push(other),
                _ => {
                    kill(pid, libc::SIGKILL);
                    return Err(1);
                }
            }
        }
    }

    fn spawn(
        &mut self,
        takeover: Option<PathBuf>,
    ) -> io::Result<(u32, tokio::net::UnixStream, PathBuf)> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        self.seq += 1;
        let cli_path = self.dir.join(format!("worker-{}.sock", self.seq));
        let _ = std::fs::remove_file(&cli_path);
        let cli = std::os::unix::net::UnixListener::bind(&cli_path)?;
        let (sfd, cfd) = (theirs.as_raw_fd(), cli.as_raw_fd());
        let mut cmd = tokio::process::Command::new(&self.cfg.exe);
        cmd.args(&self.cfg.args)
            .env(WORKER_ENV, format!("{sfd},{cfd}"))
            .env("HAPROXY_MWORKER", "1")
            .env_remove("NOTIFY_SOCKET");
        match takeover {
            Some(p) => cmd.env(TAKEOVER_ENV, p),
            None => cmd.env_remove(TAKEOVER_ENV),
        };
        crate::sys::inherit_on_exec(&mut cmd, [sfd, cfd]);
        let mut child = cmd.spawn()?;
        drop(theirs);
        drop(cli);
        let pid = child.id().unwrap_or(0);
        let tx = self.exits_tx.clone();
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(st) => status_code(st),
                Err(_) => 255,
            };
            let _ = tx.send((pid, code));
        });
        ours.set_nonblocking(true)?;
        Ok((pid, tokio::net::UnixStream::from_std(ours)?, cli_path))
    }

    /// SIGUSR2, SIGHUP or `reload`: check the configuration again, start a new
    /// worker on the same listening sockets, then soft-stop the old ones.
    async fn reload(&mut self) {
        if self.stopping {
            return;
        }
        self.notify(&notify::reloading());
        self.say(Level::Warning, "Reexecuting Master process");
        {
            let mut st = lock(&self.shared);
            st.reloads += 1;
            for w in st.workers.iter_mut() {
                w.reloads += 1;
            }
        }
        let Some(loaded) = (self.loader)() else {
            self.reload_failed("the new configuration is invalid");
            return;
        };
        let current = lock(&self.shared)
            .workers
            .iter()
            .find(|w| !w.leaving)
            .map(|w| w.pid);
        let takeover = current.map(handover::default_path);
        match self.start_worker(takeover).await {
            Ok(new) => {
                self.cfg.max_reloads = loaded.max_reloads;
                self.cfg.no_exit_on_failure = loaded.no_exit_on_failure;
                let mut old = Vec::new();
                let mut too_old = Vec::new();
                for w in lock(&self.shared).workers.iter_mut() {
                    if w.pid == new {
                        continue;
                    }
                    if !w.leaving {
                        w.leaving = true;
                        old.push(w.pid);
                    }
                    if self.cfg.max_reloads.is_some_and(|m| w.reloads > m) {
                        too_old.push(w.pid);
                    }
                }
                for pid in old {
                    kill(pid, libc::SIGUSR1);
                }
                for pid in too_old {
                    kill(pid, libc::SIGTERM);
                }
                // §3.7 `option start-on-reload`.
                let (start, signals) = self.programs.reload(&loaded.programs);
                for (pid, sig) in signals {
                    kill(pid, sig);
                }
                for p in start {
                    if let Err(e) = self.programs.start(&p, &self.exits_tx) {
                        self.say(Level::Alert, &e);
                    }
                }
                self.say(Level::Notice, "Loading success.");
                self.notify(&notify::ready(std::process::id()));
            }
            Err(_) => self.reload_failed("the new worker failed to start"),
        }
    }

    fn reload_failed(&mut self, why: &str) {
        lock(&self.shared).failed += 1;
        let serving: Vec<String> = lock(&self.shared)
            .workers
            .iter()
            .filter(|w| !w.leaving)
            .map(|w| w.pid.to_string())
            .collect();
        self.say(
            Level::Alert,
            &format!(
                "Reload failed: {why}; the current worker ({}) keeps serving.",
                serving.join(", ")
            ),
        );
        self.notify(notify::RELOAD_FAILED);
    }
}

/// `<base>-<16 random hex digits>` (from /dev/urandom), so that no other user can
/// create the name first and make the master fail to start.
fn fresh_name(base: &std::path::Path) -> io::Result<PathBuf> {
    use std::io::Read;
    let mut r = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut r)?;
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    let mut name = base.as_os_str().to_owned();
    name.push(format!("-{hex}"));
    Ok(PathBuf::from(name))
}
