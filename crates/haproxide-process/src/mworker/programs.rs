//! `program` sections (configuration.txt §3.7): the master starts each program
//! with the first worker, keeps it running beside the workers, and stops it with
//! them. Messages are HAProxy 2.6.12's (measured: "Current program 'a' (pid)
//! exited with code 0 (Exit)", "Former program ...").
//!
//! - A program is run directly (no shell) with its `command` words, from the
//!   master's working directory, with `user`/`group` applied in the child before
//!   it executes (setgid then setuid, by the standard library's `Command`).
//! - Reload: a program with `option start-on-reload` (the default) gets a new
//!   instance and its old one SIGUSR1 (it becomes "former", as HAProxy's former
//!   workers); with `no option start-on-reload` the running instance is kept
//!   untouched (configuration.txt; HAProxy 2.6.12 was measured sending it
//!   SIGUSR1 too, which kills a program that does not handle it). A program no
//!   longer in the configuration gets SIGTERM.
//! - A current program exiting with a status other than 0, 130 or 143 stops
//!   everything (HAProxy's exit-on-failure), unless `master-worker
//!   no-exit-on-failure`; a program is not restarted when it exits.
//! - Stop: SIGTERM (or the master's signal) to every program; the master waits for
//!   them (3 s, then SIGKILL) before it exits, so none outlives it.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::spec::ProgramSpec;

/// A program instance the master started.
#[derive(Debug, Clone)]
pub struct Running {
    pub name: String,
    pub pid: u32,
    /// Replaced at a reload (its exit is a "Former program").
    pub leaving: bool,
    pub start_on_reload: bool,
}

/// The master's programs.
#[derive(Debug, Default)]
pub struct Programs {
    pub running: Vec<Running>,
}

/// What an exit of one of the programs means to the master.
pub struct Exited {
    pub message: String,
    /// A current program failed: stop everything (unless no-exit-on-failure).
    pub failed: bool,
    pub current: bool,
}

impl Programs {
    /// Starts `spec`; its exit status is sent on `exits` as (pid, code).
    pub fn start(
        &mut self,
        spec: &ProgramSpec,
        exits: &mpsc::UnboundedSender<(u32, i32)>,
    ) -> Result<u32, String> {
        use std::os::unix::process::CommandExt;
        let Some((exe, args)) = spec.argv.split_first() else {
            return Err(format!("program '{}' has no command", spec.name));
        };
        let mut cmd = std::process::Command::new(exe);
        cmd.args(args).env_remove("NOTIFY_SOCKET");
        if let Some(g) = spec.gid {
            cmd.gid(g);
        }
        if let Some(u) = spec.uid {
            cmd.uid(u);
        }
        let mut cmd = tokio::process::Command::from(cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start program '{}': {e}", spec.name))?;
        let pid = child.id().unwrap_or(0);
        let tx = exits.clone();
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(st) => super::master::status_code(st),
                Err(_) => 255,
            };
            let _ = tx.send((pid, code));
        });
        self.running.push(Running {
            name: spec.name.clone(),
            pid,
            leaving: false,
            start_on_reload: spec.start_on_reload,
        });
        Ok(pid)
    }

    /// A child exited: if it is one of the programs, what to say and do.
    pub fn on_exit(&mut self, pid: u32, code: i32) -> Option<Exited> {
        let i = self.running.iter().position(|r| r.pid == pid)?;
        let r = self.running.remove(i);
        let how = super::master::how(code);
        let who = if r.leaving { "Former" } else { "Current" };
        Some(Exited {
            message: format!(
                "{who} program '{}' ({pid}) exited with code {code} ({how})",
                r.name
            ),
            failed: !r.leaving && code != 0 && code != 130 && code != 143,
            current: !r.leaving,
        })
    }

    /// A reload with the new configuration's `programs`: which to start now, and
    /// signals for the instances replaced or gone.
    pub fn reload(&mut self, new: &[ProgramSpec]) -> (Vec<ProgramSpec>, Vec<(u32, i32)>) {
        let mut start = Vec::new();
        let mut signals = Vec::new();
        for r in self.running.iter_mut().filter(|r| !r.leaving) {
            match new.iter().find(|p| p.name == r.name) {
                Some(p) if !p.start_on_reload => {}
                Some(_) => {
                    r.leaving = true;
                    signals.push((r.pid, libc::SIGUSR1));
                }
                None => {
                    r.leaving = true;
                    signals.push((r.pid, libc::SIGTERM));
                }
            }
        }
        for p in new {
            let kept = self.running.iter().any(|r| r.name == p.name && !r.leaving);
            if !kept {
                start.push(p.clone());
            }
        }
        (start, signals)
    }

    /// The pids to signal at a stop.
    pub fn pids(&self) -> Vec<u32> {
        self.running.iter().map(|r| r.pid).collect()
    }
}

/// Waits (at most `within`) until every program reported its exit on `exits`;
/// the caller sends SIGKILL to what is left.
pub async fn wait_all(
    programs: &mut Programs,
    exits: &mut mpsc::UnboundedReceiver<(u32, i32)>,
    within: Duration,
) -> Vec<String> {
    let mut said = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while !programs.running.is_empty() {
        match tokio::time::timeout_at(deadline, exits.recv()).await {
            Ok(Some((pid, code))) => {
                if let Some(e) = programs.on_exit(pid, code) {
                    said.push(e.message);
                }
            }
            _ => break,
        }
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, reload: bool) -> ProgramSpec {
        ProgramSpec {
            name: name.into(),
            argv: vec!["/bin/true".into()],
            start_on_reload: reload,
            ..ProgramSpec::default()
        }
    }

    #[test]
    fn reload_restarts_only_start_on_reload_programs() {
        let mut p = Programs::default();
        for (name, pid, reload) in [("a", 10, true), ("b", 11, false), ("gone", 12, true)] {
            p.running.push(Running {
                name: name.into(),
                pid,
                leaving: false,
                start_on_reload: reload,
            });
        }
        let (start, signals) = p.reload(&[spec("a", true), spec("b", false), spec("new", true)]);
        let names: Vec<&str> = start.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "new"]);
        assert_eq!(signals, [(10, libc::SIGUSR1), (12, libc::SIGTERM)]);
        let e = p.on_exit(10, 138).expect("a program");
        assert_eq!(
            e.message,
            "Former program 'a' (10) exited with code 138 (User defined signal 1)"
        );
        assert!(!e.failed);
        let e = p.on_exit(11, 3).expect("a program");
        assert_eq!(
            e.message,
            "Current program 'b' (11) exited with code 3 (Exit)"
        );
        assert!(e.failed);
        assert!(p.on_exit(99, 0).is_none());
    }
}
