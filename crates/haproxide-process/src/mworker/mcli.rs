//! The master CLI (`-S <addr>[,<opts>]`, management.txt §9.4 "Master CLI"):
//! `show proc`, `reload`, `@<relative pid>` / `@!<pid>` / `@master` prefixes that
//! forward a command to a worker's runtime API, `help`, `prompt`, `quit`.
//!
//! The output follows HAProxy 2.6.12's master CLI byte for byte for `show proc` and
//! `help` (compared with `haproxy -W -S`). An unknown command gets the whole help
//! list (HAProxy picks the closest entries).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::master::{Shared, State};
use haproxide_admin::cli::exec::split_commands;
use haproxide_admin::cli::listen::{parse_address, Bound, CliAddress, ListenOptions};
use haproxide_admin::cli::Level;

/// A parsed `-S` argument.
#[derive(Debug, Clone)]
pub struct CliSpec {
    pub addr: CliAddress,
    pub opts: ListenOptions,
}

/// Why a `-S` argument cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CliSpecError {
    #[error("'{0}': unknown master CLI option (supported: mode, uid, gid, user, group, level)")]
    Option(String),
    #[error("'{0}': missing value")]
    Missing(String),
    #[error("'{0}': invalid address (use a UNIX path, unix@PATH, ipv4@IP:PORT or fd@N)")]
    Address(String),
}

/// Parses `-S <addr>[,<option>,<value>...]` (HAProxy writes the bind options with
/// commas instead of spaces). The socket is bound by the master once it runs.
pub fn parse(spec: &str) -> Result<CliSpec, CliSpecError> {
    let mut parts = spec.split(',');
    let addr = parts.next().unwrap_or("").to_string();
    let mut opts = ListenOptions::default();
    while let Some(opt) = parts.next() {
        let mut value = || {
            parts
                .next()
                .map(str::to_string)
                .ok_or_else(|| CliSpecError::Missing(opt.to_string()))
        };
        match opt {
            "mode" => {
                let v = value()?;
                opts.mode = Some(
                    u32::from_str_radix(&v, 8)
                        .map_err(|_| CliSpecError::Option(format!("mode {v}")))?,
                );
            }
            "uid" | "gid" | "user" | "group" => {
                let v = value()?;
                let id = match opt {
                    "user" => crate::sys::user_id(&v),
                    "group" => crate::sys::group_id(&v),
                    _ => v.parse().ok(),
                }
                .ok_or_else(|| CliSpecError::Option(format!("{opt} {v}")))?;
                if opt == "uid" || opt == "user" {
                    opts.uid = Some(id);
                } else {
                    opts.gid = Some(id);
                }
            }
            // The session's starting level (admin by default), as on a `stats
            // socket`: it bounds the master's own commands and every command
            // forwarded to a worker.
            "level" => {
                let v = value()?;
                opts.level =
                    Level::parse(&v).ok_or_else(|| CliSpecError::Option(format!("level {v}")))?;
            }
            "" => {}
            other => return Err(CliSpecError::Option(other.to_string())),
        }
    }
    let addr = parse_address(&addr).ok_or(CliSpecError::Address(addr))?;
    Ok(CliSpec { addr, opts })
}

/// HAProxy 2.6.12's master CLI help.
pub const HELP: &str = "The following commands are valid at this level:
  @!<pid>                                 : send a command to the <pid> process
  @<relative pid>                         : send a command to the <relative pid> process
  @master                                 : send a command to the master process
  operator                                : lower the level of the current CLI session to operator
  reload                                  : reload haproxy
  show cli level                          : display the level of the current CLI session
  show cli sockets                        : dump list of cli sockets
  show proc                               : show processes status
  show version                            : show version of the current process
  user                                    : lower the level of the current CLI session to user
  help [<command>]                        : list matching or all commands
  prompt                                  : toggle interactive mode with prompt
  quit                                    : disconnect
";

fn uptime(secs: u64) -> String {
    format!(
        "{}d{:02}h{:02}m{:02}s",
        secs / 86400,
        (secs % 86400) / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// `show proc` in HAProxy's layout (src/mworker.c `cli_io_handler_show_proc`).
pub fn show_proc(st: &State) -> String {
    let mut out = format!(
        "#{:<14} {:<15} {:<15} {:<15} {:<15}\n",
        "<PID>", "<type>", "<reloads>", "<uptime>", "<version>"
    );
    let reloads = format!("{} [failed: {}]", st.reloads, st.failed);
    out.push_str(&format!(
        "{:<15} {:<15} {:<15} {:<15} {:<15}\n",
        st.master_pid,
        "master",
        reloads,
        uptime(st.started.elapsed().as_secs()),
        st.version
    ));
    let line = |w: &super::master::Worker| {
        format!(
            "{:<15} {:<15} {:<15} {:<15} {:<15}\n",
            w.pid,
            "worker",
            w.reloads,
            uptime(w.started.elapsed().as_secs()),
            st.version
        )
    };
    out.push_str("# workers\n");
    for w in st.workers.iter().filter(|w| !w.leaving) {
        out.push_str(&line(w));
    }
    if st.workers.iter().any(|w| w.leaving) {
        out.push_str("# old workers\n");
        for w in st.workers.iter().filter(|w| w.leaving) {
            out.push_str(&line(w));
        }
    }
    out.push_str("# programs\n");
    out
}

/// Where a command goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Master,
    Relative(u32),
    Pid(u32),
}

fn parse_target(word: &str) -> Option<Target> {
    let rest = word.strip_prefix('@')?;
    if rest == "master" {
        return Some(Target::Master);
    }
    if let Some(pid) = rest.strip_prefix('!') {
        return pid.parse().ok().map(Target::Pid);
    }
    match rest.parse::<u32>().ok()? {
        0 => Some(Target::Master),
        n => Some(Target::Relative(n)),
    }
}

/// Escapes a word for the worker's CLI parser.
fn escape(word: &str) -> String {
    let mut s = String::with_capacity(word.len());
    for c in word.chars() {
        if matches!(c, ' ' | '\t' | ';' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Sends one command to a worker's CLI socket and returns its whole answer. Below
/// admin, the command is preceded by `user -;` or `operator -;` (the silent form of
/// the level commands, as HAProxy's master does), so the worker runs it at the
/// master CLI session's level and answers "Permission denied" above it.
async fn forward(path: &std::path::Path, level: Level, words: &[String]) -> io::Result<String> {
    let mut s = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::UnixStream::connect(path),
    )
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect"))??;
    let line: Vec<String> = words.iter().map(|w| escape(w)).collect();
    let prefix = match level {
        Level::Admin => String::new(),
        lower => format!("{lower} -; "),
    };
    s.write_all(format!("{prefix}{}\n", line.join(" ")).as_bytes())
        .await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "read"))??;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// One client of the master CLI.
struct Session {
    shared: Shared,
    reload: mpsc::UnboundedSender<()>,
    interactive: bool,
    /// `-S ...,level,<level>`, lowered by `operator` / `user`, never raised.
    level: Level,
}

impl Session {
    /// Runs one line; returns the output and whether to close.
    async fn line(&mut self, line: &str) -> (String, bool) {
        let mut out = String::new();
        let cmds = split_commands(line);
        let n = cmds.len();
        for (i, words) in cmds.into_iter().enumerate() {
            if words.is_empty() && i > 0 && i + 1 == n {
                break;
            }
            let (target, words) = match words.first().and_then(|w| parse_target(w)) {
                Some(t) => (t, words[1..].to_vec()),
                None if words.first().is_some_and(|w| w.starts_with('@')) => {
                    out.push_str(&format!(
                        "Can't find the target PID matching the prefix '{}'\n",
                        words[0]
                    ));
                    continue;
                }
                None => (Target::Master, words),
            };
            if target != Target::Master {
                let path = {
                    let st = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                    match target {
                        Target::Relative(1) => st.workers.iter().find(|w| !w.leaving),
                        Target::Pid(p) => st.workers.iter().find(|w| w.pid == p),
                        _ => None,
                    }
                    .map(|w| w.cli.clone())
                };
                let Some(path) = path else {
                    let prefix = match target {
                        Target::Pid(p) => format!("@!{p}"),
                        Target::Relative(r) => format!("@{r}"),
                        Target::Master => "@master".into(),
                    };
                    out.push_str(&format!(
                        "Can't find the target PID matching the prefix '{prefix}'\n"
                    ));
                    continue;
                };
                if words.is_empty() {
                    continue;
                }
                match forward(&path, self.level, &words).await {
                    Ok(text) => out.push_str(&text),
                    Err(e) => out.push_str(&format!("Cannot reach the worker: {e}\n")),
                }
                continue;
            }
            let w: Vec<&str> = words.iter().map(String::as_str).collect();
            let text = match w.as_slice() {
                [] => String::new(),
                ["help", ..] => HELP.to_string(),
                ["show", "proc", ..] => {
                    let st = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                    show_proc(&st)
                }
                ["show", "version", ..] => {
                    let st = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                    format!("{}\n", st.version)
                }
                ["show", "cli", "level", ..] => format!("{}\n", self.level),
                // Raising the level is refused and ends the session (HAProxy
                // 2.6.12: "Permission denied!" and the connection closes).
                ["operator", ..] if self.level < Level::Operator => {
                    out.push_str("Permission denied!\n");
                    return (out, true);
                }
                ["operator", ..] => {
                    self.level = Level::Operator;
                    String::new()
                }
                ["user", ..] => {
                    self.level = Level::User;
                    String::new()
                }
                ["reload", ..] if self.level < Level::Operator => "Permission denied\n".to_string(),
                ["prompt", ..] => {
                    self.interactive = !self.interactive;
                    String::new()
                }
                ["quit", ..] => return (out, true),
                ["reload", ..] => {
                    let _ = self.reload.send(());
                    // HAProxy's master re-executes itself: the connection ends.
                    return (out, true);
                }
                _ => {
                    format!(
                    "Unknown command, but maybe one of the following ones is a better match:\n{}",
                    HELP.lines().skip(1).map(|l| format!("{l}\n")).collect::<String>()
                )
                }
            };
            if !text.is_empty() {
                out.push_str(&text);
                out.push('\n');
            }
        }
        if self.interactive {
            out.push_str("master> ");
        }
        let close = !self.interactive;
        (out, close)
    }
}

/// Serves one master CLI listener until the process ends.
pub(crate) async fn serve(
    bound: Bound,
    level: Level,
    shared: Shared,
    reload: mpsc::UnboundedSender<()>,
) {
    loop {
        let accepted = match &bound {
            Bound::Unix(l, _) => l.accept().await.map(|(s, _)| {
                let (r, w) = s.into_split();
                tokio::spawn(client(r, w, level, Arc::clone(&shared), reload.clone()));
            }),
            Bound::Tcp(l) => l.accept().await.map(|(s, _)| {
                let (r, w) = s.into_split();
                tokio::spawn(client(r, w, level, Arc::clone(&shared), reload.clone()));
            }),
        };
        if accepted.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn client<R, W>(
    rd: R,
    mut wr: W,
    level: Level,
    shared: Shared,
    reload: mpsc::UnboundedSender<()>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(rd);
    let mut session = Session {
        shared,
        reload,
        interactive: false,
        level,
    };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // Idle limit: HAProxy's default `stats timeout` (10 s), longer in prompt mode.
        let limit = if session.interactive { 600 } else { 10 };
        let read = async {
            let mut limited = (&mut reader).take(16385);
            limited.read_until(b'\n', &mut buf).await
        };
        match tokio::time::timeout(Duration::from_secs(limit), read).await {
            Ok(Ok(n)) if n > 0 && buf.last() == Some(&b'\n') => {}
            _ => return,
        }
        buf.pop();
        let line = String::from_utf8_lossy(&buf).into_owned();
        let (out, close) = session.line(&line).await;
        let write = async {
            wr.write_all(out.as_bytes()).await?;
            wr.flush().await
        };
        if !matches!(
            tokio::time::timeout(Duration::from_secs(10), write).await,
            Ok(Ok(()))
        ) {
            return;
        }
        if close && !reader.buffer().contains(&b'\n') {
            let _ = wr.shutdown().await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("@1"), Some(Target::Relative(1)));
        assert_eq!(parse_target("@0"), Some(Target::Master));
        assert_eq!(parse_target("@master"), Some(Target::Master));
        assert_eq!(parse_target("@!123"), Some(Target::Pid(123)));
        assert_eq!(parse_target("@x"), None);
        assert_eq!(parse_target("show"), None);
    }

    #[test]
    fn words_are_escaped_for_the_worker() {
        assert_eq!(escape("a b;c\\"), "a\\ b\\;c\\\\");
    }

    #[test]
    fn uptime_as_haproxy() {
        assert_eq!(uptime(90061), "1d01h01m01s");
        assert_eq!(uptime(5), "0d00h00m05s");
    }

    #[test]
    fn options_are_checked() {
        assert!(matches!(
            parse("/tmp/x,bogus,1"),
            Err(CliSpecError::Option(_))
        ));
        assert!(matches!(
            parse("/tmp/x,mode"),
            Err(CliSpecError::Missing(_))
        ));
        assert!(matches!(parse("nonsense"), Err(CliSpecError::Address(_))));
        assert!(matches!(
            parse("/tmp/x,level,root"),
            Err(CliSpecError::Option(_))
        ));
        assert_eq!(
            parse("/tmp/x,level,user").expect("valid").opts.level,
            Level::User
        );
        assert_eq!(parse("/tmp/x").expect("valid").opts.level, Level::Admin);
        let s = parse("/run/m.sock,mode,600,level,admin,uid,0").expect("valid");
        assert_eq!(s.addr, CliAddress::Unix("/run/m.sock".into()));
        assert_eq!((s.opts.mode, s.opts.uid), (Some(0o600), Some(0)));
        assert_eq!(parse("fd@5").expect("fd").addr, CliAddress::Fd(5));
        assert!(matches!(
            parse("ipv4@127.0.0.1:9999").map(|s| s.addr),
            Ok(CliAddress::Tcp(_))
        ));
    }
}
