//! `option external-check` (configuration.txt §4.2 `external-check command`): each
//! check runs the configured program with HAProxy's arguments and environment; exit
//! status 0 means the server is up.
//!
//! As HAProxy 2.6.12 (measured: tests/external_check.rs in the haproxide crate):
//! the environment is cleared and holds only the `HAPROXY_*` variables and `PATH`
//! (`external-check path`, empty by default); stdin is closed, stdout/stderr are
//! haproxide's; the check lasts at most `inter` (HAProxy ignores `timeout check`
//! here), after which the program is killed and the result is PROCTOUT ("External
//! check timeout"); a non-zero exit is PROCERR ("External check error") with the
//! exit status as its code. The program is executed directly (no shell): neither
//! the arguments nor the variables are interpreted. One program per server runs at
//! a time (the scheduler awaits each check), and it is killed when the check is
//! dropped (`kill_on_drop`), e.g. when haproxide stops.

use std::process::Stdio;
use std::time::Duration;

use tokio::time::Instant;

use crate::spec::ExternalSpec;
use crate::status::{CheckResult, CheckStatus};

/// Runs `spec`'s program once, within `inter`.
pub async fn run(spec: &ExternalSpec, inter: Duration, start: Instant) -> CheckResult {
    let mut cmd = tokio::process::Command::new(&spec.command);
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        // HAProxy's child exits with status 1 when execve fails.
        Err(_) => {
            return CheckResult::new(CheckStatus::ProcErr, start.elapsed()).with_code(1);
        }
    };
    match tokio::time::timeout_at(start + inter, child.wait()).await {
        Ok(Ok(st)) if st.success() => CheckResult::new(CheckStatus::ProcOk, start.elapsed()),
        Ok(Ok(st)) => {
            let code = st.code().and_then(|c| u32::try_from(c).ok()).unwrap_or(0);
            CheckResult::new(CheckStatus::ProcErr, start.elapsed()).with_code(code)
        }
        Ok(Err(_)) => CheckResult::new(CheckStatus::ProcErr, start.elapsed()),
        Err(_) => {
            // SIGKILL, then reap it so no zombie is left.
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
            CheckResult::new(CheckStatus::ProcTout, start.elapsed())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(script: &str) -> ExternalSpec {
        ExternalSpec {
            command: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("HAPROXY_SERVER_NAME".into(), "s1".into())],
        }
    }

    #[tokio::test]
    async fn exit_status_is_the_verdict() {
        let t = Duration::from_secs(5);
        let r = run(&spec("exit 0"), t, Instant::now()).await;
        assert_eq!(r.status, CheckStatus::ProcOk);
        let r = run(&spec("exit 3"), t, Instant::now()).await;
        assert_eq!((r.status, r.code), (CheckStatus::ProcErr, Some(3)));
        // The environment is only what the spec gives.
        let r = run(
            &spec("test \"$HAPROXY_SERVER_NAME\" = s1 && test -z \"$HOME\""),
            t,
            Instant::now(),
        )
        .await;
        assert_eq!(r.status, CheckStatus::ProcOk);
        let mut missing = spec("");
        missing.command = "/nonexistent/check".into();
        let r = run(&missing, t, Instant::now()).await;
        assert_eq!(r.status, CheckStatus::ProcErr);
    }

    /// A program that hangs is killed at `inter` (its pid no longer exists).
    #[tokio::test]
    async fn hanging_program_is_killed() {
        let dir = std::env::temp_dir().join(format!("hpx-extchk-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let pidfile = dir.join("pid");
        let s = spec(&format!("echo $$ > {}; exec sleep 30", pidfile.display()));
        let t0 = Instant::now();
        let r = run(&s, Duration::from_millis(300), t0).await;
        assert_eq!(r.status, CheckStatus::ProcTout);
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        let pid = std::fs::read_to_string(&pidfile).unwrap_or_default();
        let pid = pid.trim();
        assert!(!pid.is_empty());
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "the hanging program {pid} still runs"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
