//! Process-wide settings of `global` (configuration.txt §3.1 "Process management
//! and security"): `user`/`group`/`uid`/`gid`, `chroot`, `ulimit-n` and the file
//! descriptor limit derived from `maxconn`, `nbthread`, `cpu-map`,
//! `mworker-max-reloads`, `strict-limits`.
//!
//! - Privileges are dropped after the listeners are bound (so ports below 1024
//!   work), in HAProxy's order: `chroot`, then `setgid` (supplementary groups
//!   cleared), then `setuid`.
//! - The descriptor limit is HAProxy 2.6's computation (src/haproxy.c
//!   `compute_ideal_maxconn`, `compute_ideal_maxsock`): 10 reserved descriptors,
//!   one per listener, the CLI's 10 connections (+1 per `stats socket`), three per
//!   thread (poller and wake-up pipe), and two per connection. Without `maxconn`,
//!   maxconn is what the boot limit leaves. `ulimit-n` overrides the result.
//!   The soft limit is raised to it, never lowered (HAProxy 2.6.12 leaves a higher
//!   boot limit in place); `show info` reports the computed values, which match
//!   HAProxy's on the same machine (tests/mworker.rs).
//!   haproxide's own needs per thread differ slightly (tokio's epoll and eventfd:
//!   two per runtime plus one per thread); HAProxy's formula is kept so that the
//!   same configuration gets the same limit.
//! - `nbthread N` (default: the CPUs the process may use, as HAProxy's default) sets
//!   the forwarding engine's threads: N single-threaded runtimes, each accepting on
//!   every listener and keeping its sessions (`EngineSpec::threads`). It also sets
//!   the worker threads of the runtime that runs health checks, the CLI and the
//!   control tasks. HAProxy's thread groups have no equivalent.
//! - `cpu-map` is accepted and not applied (tokio does not pin its threads): a
//!   warning names each line.

use std::path::PathBuf;

use haproxide_config::diag::Code;
use haproxide_config::model::ProxyKind;
use haproxide_config::Diagnostic;
use haproxide_config::Resolved;

/// What the process applies at start.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub chroot: Option<PathBuf>,
    /// `ulimit-n`.
    pub ulimit_n: Option<u64>,
    /// `maxconn` in global.
    pub maxconn: Option<u32>,
    /// `nbthread`.
    pub nbthread: Option<usize>,
    /// `mworker-max-reloads`.
    pub max_reloads: Option<u32>,
    /// `master-worker no-exit-on-failure`.
    pub no_exit_on_failure: bool,
    /// Listening sockets (bind addresses) and `stats socket` lines.
    pub listeners: u64,
    pub stats_sockets: u64,
    /// `strict-limits` (on by default in HAProxy 2.6): failing to raise the
    /// descriptor limit stops the start.
    pub strict_limits: bool,
    /// Accepted but not applied (`cpu-map`), with their location.
    pub warnings: Vec<Diagnostic>,
    /// `RLIMIT_NOFILE` (soft, hard) before [`apply_fd_limit`] changed it: HAProxy
    /// derives maxconn from the limits at boot.
    pub boot_nofile: Option<(u64, u64)>,
    /// `program` sections (§3.7): what the master starts and supervises.
    pub programs: Vec<ProgramSpec>,
}

/// A `program` section, ready to run (configuration.txt §3.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgramSpec {
    pub name: String,
    /// The executable and its arguments (run directly, no shell).
    pub argv: Vec<String>,
    /// `user` / `group`, resolved.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `option start-on-reload` (the default).
    pub start_on_reload: bool,
}

impl Default for ProcessSpec {
    fn default() -> Self {
        ProcessSpec {
            uid: None,
            gid: None,
            chroot: None,
            ulimit_n: None,
            maxconn: None,
            nbthread: None,
            max_reloads: None,
            no_exit_on_failure: false,
            listeners: 0,
            stats_sockets: 0,
            strict_limits: true,
            warnings: Vec::new(),
            boot_nofile: None,
            programs: Vec::new(),
        }
    }
}

/// Descriptor limits as HAProxy computes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimits {
    pub maxconn: u64,
    pub maxsock: u64,
    /// The `RLIMIT_NOFILE` to set.
    pub rlimit: u64,
}

impl ProcessSpec {
    pub fn from_config(cfg: &Resolved) -> ProcessSpec {
        let g = &cfg.global;
        let mut p = ProcessSpec {
            maxconn: g.maxconn,
            nbthread: g.nbthread.filter(|n| *n > 0).map(|n| n as usize),
            chroot: g.chroot.as_ref().map(|c| PathBuf::from(&c.name)),
            uid: g.uid.map(|u| u.value),
            gid: g.gid.map(|g| g.value),
            stats_sockets: g.stats_sockets.len() as u64,
            no_exit_on_failure: g.master_worker_no_exit_on_failure,
            ..ProcessSpec::default()
        };
        p.ulimit_n = g.ulimit_n.map(|n| n.value).filter(|n| *n > 0);
        p.max_reloads = g.mworker_max_reloads.map(|n| n.value);
        p.strict_limits = g.strict_limits.unwrap_or(true);
        for span in &g.cpu_maps {
            p.warnings.push(
                Diagnostic::warning(
                    Code::NotRunYet,
                    "`cpu-map` is accepted but not applied: haproxide does not pin its threads",
                )
                .at(*span)
                .help("the kernel schedules the tokio worker threads (`nbthread` sets how many)"),
            );
        }
        for prog in haproxide_config::program::programs(cfg) {
            let uid = prog.user.as_deref().map(|u| (u, crate::sys::user_id(u)));
            let gid = prog.group.as_deref().map(|g| (g, crate::sys::group_id(g)));
            if let Some((name, None)) = uid.or(gid).filter(|(_, id)| id.is_none()) {
                p.warnings.push(
                    Diagnostic::warning(
                        Code::NotRunYet,
                        format!("program `{}`: `{name}` is not a known user or group; it is not started", prog.name),
                    )
                    .at(prog.span),
                );
                continue;
            }
            if prog.command.is_empty() {
                continue;
            }
            p.programs.push(ProgramSpec {
                name: prog.name,
                argv: prog.command,
                uid: uid.and_then(|(_, id)| id),
                gid: gid.and_then(|(_, id)| id),
                start_on_reload: prog.start_on_reload,
            });
        }
        p.listeners = cfg
            .proxies
            .iter()
            .filter(|x| matches!(x.kind, ProxyKind::Frontend | ProxyKind::Listen) && !x.disabled)
            .flat_map(|x| x.binds.iter())
            .map(|b| b.addresses.len() as u64)
            .sum();
        p
    }

    /// Worker threads: `nbthread`, or the CPUs this process may run on.
    pub fn threads(&self) -> usize {
        self.nbthread.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }

    /// HAProxy's limits for this process: from the limits at boot when
    /// [`apply_fd_limit`] recorded them, else from the current ones.
    pub fn limits(&self) -> FdLimits {
        let (cur, max) = self.boot_nofile.unwrap_or_else(rlimit_nofile);
        self.fd_limits(cur, max)
    }

    /// HAProxy's maxconn / maxsock / rlimit for boot limits (`cur`, `max`).
    pub fn fd_limits(&self, boot_cur: u64, boot_max: u64) -> FdLimits {
        let threads = self.threads() as u64;
        let cli = if self.stats_sockets > 0 { 10 } else { 0 };
        let reserved = 10 + self.listeners + self.stats_sockets + cli;
        let per_thread = 3 * threads;
        let maxconn = match self.maxconn {
            Some(m) => u64::from(m),
            None => {
                let remain = boot_cur.max(boot_max).saturating_sub(reserved + per_thread);
                // HAProxy's DEFAULT_MAXCONN floor.
                (remain / 2).max(100)
            }
        };
        let maxsock = reserved + per_thread + 2 * maxconn;
        FdLimits {
            maxconn,
            maxsock,
            rlimit: self.ulimit_n.unwrap_or(maxsock),
        }
    }
}

/// Why a process setting could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("Cannot raise FD limit to {wanted}, limit is {limit}.")]
    FdLimit { wanted: u64, limit: u64 },
    #[error("cannot chroot to '{0}': {1}")]
    Chroot(String, std::io::Error),
    #[error("cannot set gid to {0}: {1}")]
    Gid(u32, std::io::Error),
    #[error("cannot set uid to {0}: {1}")]
    Uid(u32, std::io::Error),
}

/// The current `RLIMIT_NOFILE` (soft, hard); (1024, 1024) if it cannot be read.
pub fn rlimit_nofile() -> (u64, u64) {
    crate::sys::rlimit_nofile().unwrap_or((1024, 1024))
}

/// Sets `RLIMIT_NOFILE` as HAProxy does (soft = at least the computed value, hard =
/// at least the boot hard limit). Returns the limits and the warning to print when
/// `strict-limits` is off and the limit could not be raised.
pub fn apply_fd_limit(spec: &mut ProcessSpec) -> Result<(FdLimits, Option<String>), ProcessError> {
    let (cur, max) = rlimit_nofile();
    spec.boot_nofile = Some((cur, max));
    let mut limits = spec.fd_limits(cur, max);
    // Raised, never lowered: HAProxy 2.6.12 leaves a higher boot limit in place
    // (seen in /proc/PID/limits) while `show info` reports the computed value.
    if crate::sys::set_rlimit_nofile(limits.rlimit.max(cur), max.max(limits.rlimit)).is_ok() {
        return Ok((limits, None));
    }
    if spec.strict_limits {
        return Err(ProcessError::FdLimit {
            wanted: limits.rlimit,
            limit: cur,
        });
    }
    // Not strict: the most the hard limit allows.
    let _ = crate::sys::set_rlimit_nofile(max, max);
    let (now, _) = rlimit_nofile();
    let warning = ProcessError::FdLimit {
        wanted: limits.rlimit,
        limit: now,
    }
    .to_string();
    limits.rlimit = now;
    Ok((limits, Some(warning)))
}

/// `chroot`, then `gid`/`group`, then `uid`/`user`. Call once the listeners are
/// bound. glibc applies set*id to every thread of the process.
pub fn drop_privileges(spec: &ProcessSpec) -> Result<(), ProcessError> {
    if let Some(dir) = &spec.chroot {
        let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|_| {
            ProcessError::Chroot(
                dir.display().to_string(),
                std::io::ErrorKind::InvalidInput.into(),
            )
        })?;
        crate::sys::chroot(&c).map_err(|e| ProcessError::Chroot(dir.display().to_string(), e))?;
    }
    let root = crate::sys::is_root();
    if let Some(gid) = spec.gid {
        if root {
            crate::sys::clear_groups().map_err(|e| ProcessError::Gid(gid, e))?;
        }
        crate::sys::setgid(gid).map_err(|e| ProcessError::Gid(gid, e))?;
    }
    if let Some(uid) = spec.uid {
        if root && spec.gid.is_none() {
            crate::sys::clear_groups().map_err(|e| ProcessError::Uid(uid, e))?;
        }
        crate::sys::setuid(uid).map_err(|e| ProcessError::Uid(uid, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(maxconn: Option<u32>, threads: usize) -> ProcessSpec {
        ProcessSpec {
            maxconn,
            nbthread: Some(threads),
            listeners: 1,
            stats_sockets: 1,
            ..ProcessSpec::default()
        }
    }

    /// `master-worker no-exit-on-failure` reaches the master's settings; any
    /// other argument is refused with HAProxy 2.6's alert.
    #[test]
    fn master_worker_no_exit_on_failure() {
        let body = "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
            listen a\n    bind 127.0.0.1:8001\n    server s 127.0.0.1:9001\n";
        let env = |_: &str| None;
        let opts = haproxide_config::CheckOptions {
            target: haproxide_config::Target::V2_6,
            env: &env,
            ignore_resolution_failures: false,
            resolver: haproxide_config::Resolver::HostsFile,
            check_files: false,
            accounts: &haproxide_config::NoAccounts,
        };
        let process = |text: String| {
            let checked = haproxide_config::check_bytes("t.cfg", text.into_bytes(), &opts);
            assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
            ProcessSpec::from_config(&checked.config)
        };
        let p = process(format!(
            "global\n    master-worker no-exit-on-failure\n{body}"
        ));
        assert!(p.no_exit_on_failure);
        assert!(!process(body.to_string()).no_exit_on_failure);
        let text = format!("global\n    master-worker exit-on-failure\n{body}");
        let checked = haproxide_config::check_bytes("t.cfg", text.into_bytes(), &opts);
        let e: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == haproxide_config::Severity::Error)
            .collect();
        assert_eq!(e.len(), 1, "{:?}", checked.diagnostics);
        assert_eq!(
            e[0].haproxy.as_ref().map(|h| h.text.as_str()),
            Some("'master-worker' only supports 'no-exit-on-failure' option.")
        );
        assert_eq!(e[0].span.map(|s| s.line), Some(2));
    }

    /// Values read from HAProxy 2.6.12's `show info` (Ulimit-n, Maxsock, Maxconn)
    /// with one bind, one stats socket, 2 threads, and a boot limit of 20000.
    #[test]
    fn fd_limits_match_haproxy() {
        let l = spec(None, 2).fd_limits(20000, 20000);
        assert_eq!((l.maxconn, l.maxsock, l.rlimit), (9986, 20000, 20000));
        let l = spec(Some(100), 2).fd_limits(20000, 20000);
        assert_eq!((l.maxconn, l.maxsock, l.rlimit), (100, 228, 228));
        let l = spec(Some(4000), 2).fd_limits(20000, 20000);
        assert_eq!((l.maxconn, l.maxsock, l.rlimit), (4000, 8028, 8028));
        let mut s = spec(Some(100), 2);
        s.ulimit_n = Some(5000);
        let l = s.fd_limits(20000, 20000);
        assert_eq!((l.maxsock, l.rlimit), (228, 5000));
    }

    /// `user`/`group` are looked up through NSS once, by the config crate, and
    /// become the process's uid/gid; a later `uid`/`gid` line wins (HAProxy keeps
    /// the last one).
    #[test]
    fn user_and_group_through_nss() {
        use haproxide_config::Accounts;
        let nss = crate::sys::NssAccounts;
        assert_eq!(nss.user_id("root"), Some(0));
        assert_eq!(nss.group_id("root"), Some(0));
        assert_eq!(nss.user_id("no-such-user-here"), None);
        let check = |g: &str| {
            let env = |_: &str| None;
            let opts = haproxide_config::CheckOptions {
                target: haproxide_config::Target::LATEST,
                env: &env,
                ignore_resolution_failures: false,
                resolver: haproxide_config::Resolver::Off,
                check_files: false,
                accounts: &nss,
            };
            let text = format!("global\n{g}\nlisten l\n bind :5000\n");
            let c = haproxide_config::check_bytes("t.cfg", text.into_bytes(), &opts);
            (ProcessSpec::from_config(&c.config), c.diagnostics)
        };
        let (p, d) = check("    user root\n    group root");
        assert!(!d.iter().any(|d| d.is_error()), "{d:?}");
        assert_eq!((p.uid, p.gid), (Some(0), Some(0)));
        let (p, _) = check("    user root\n    uid 7\n    gid 8\n    group root");
        assert_eq!((p.uid, p.gid), (Some(7), Some(0)));
        let (p, d) = check("    user no-such-user-here");
        assert_eq!(p.uid, None);
        assert_eq!(
            d.iter()
                .find(|d| d.is_error())
                .and_then(|d| d.haproxy.as_ref())
                .map(|h| h.text.as_str()),
            Some("cannot find user id for 'no-such-user-here' (0:Success)")
        );
    }
}
