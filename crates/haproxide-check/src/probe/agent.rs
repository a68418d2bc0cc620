//! Agent checks (configuration.txt §5.2 `agent-check`, `agent-port`,
//! `agent-addr`, `agent-inter`, `agent-send`).
//!
//! The agent answers one line of words separated by spaces, tabs or commas,
//! ended by CR or LF, optionally followed by `#` and a description: a health
//! word (`up`, `down`, `stopped`, `fail`), an administrative word (`ready`,
//! `drain`, `maint`), a weight (`75%`) and `maxconn:N`. The last word of a
//! kind wins.

use tokio::time::Instant;

use super::conn::{ConnectPlan, IoFailure, Session};
use crate::status::{CheckResult, CheckStatus};

/// Health word of an agent reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentHealth {
    /// `up`: the agent's counter goes fully up.
    Up,
    /// `down`.
    Down,
    /// `stopped`.
    Stopped,
    /// `fail`.
    Fail,
}

/// Administrative word of an agent reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAdmin {
    /// `ready`: leave drain and maintenance.
    Ready,
    /// `drain`.
    Drain,
    /// `maint`.
    Maint,
}

/// A parsed agent reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentReply {
    /// Health word.
    pub health: Option<AgentHealth>,
    /// Administrative word.
    pub admin: Option<AgentAdmin>,
    /// Weight in percent of the configured weight.
    pub weight_pct: Option<u32>,
    /// `maxconn:N`.
    pub maxconn: Option<u32>,
    /// The check result to record (`CHECKED` when there was no health word).
    pub result: CheckResult,
}

/// Splits an agent line into words and the description: words are
/// separated by spaces, tabs or commas, and a word *starting* with `#`
/// begins the description (so `down#text` is one unknown word, as in
/// HAProxy, while `down #text` is "down" with a description).
fn split_agent_line(text: &str) -> (Vec<&str>, String) {
    let is_delim = |c: char| c == ' ' || c == '\t' || c == ',';
    let mut words = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(is_delim);
        if rest.is_empty() {
            return (words, String::new());
        }
        if let Some(d) = rest.strip_prefix('#') {
            let d = d
                .trim_start_matches([' ', '\t'])
                .trim_start_matches([' ', '\n']);
            return (words, d.to_string());
        }
        let end = rest.find(is_delim).unwrap_or(rest.len());
        words.push(&rest[..end]);
        rest = &rest[end..];
    }
}

/// Parses one agent line (without its line end).
pub fn parse_agent_line(line: &[u8], start: Instant) -> AgentReply {
    let text = String::from_utf8_lossy(line);
    let (words, desc) = split_agent_line(&text);
    let mut reply = AgentReply {
        health: None,
        admin: None,
        weight_pct: None,
        maxconn: None,
        result: CheckResult::new(CheckStatus::Checked, start.elapsed()),
    };
    let mut health_word = String::new();
    let mut err: Option<String> = None;
    for w in words {
        let lw = w.to_ascii_lowercase();
        match lw.as_str() {
            "up" => reply.health = Some(AgentHealth::Up),
            "down" => reply.health = Some(AgentHealth::Down),
            "stopped" => reply.health = Some(AgentHealth::Stopped),
            "fail" => reply.health = Some(AgentHealth::Fail),
            "ready" => reply.admin = Some(AgentAdmin::Ready),
            "drain" => reply.admin = Some(AgentAdmin::Drain),
            "maint" => reply.admin = Some(AgentAdmin::Maint),
            _ if w.as_bytes()[0].is_ascii_digit() && w.contains('%') => {
                match w.trim_end_matches('%').parse::<u32>() {
                    Ok(p) => reply.weight_pct = Some(p),
                    Err(_) => {
                        err.get_or_insert_with(|| w.to_string());
                    }
                }
            }
            _ if lw.starts_with("maxconn:") => match w["maxconn:".len()..].parse::<u32>() {
                Ok(m) => reply.maxconn = Some(m),
                Err(_) => {
                    err.get_or_insert_with(|| w.to_string());
                }
            },
            _ => {
                err.get_or_insert_with(|| w.to_string());
            }
        }
        if matches!(lw.as_str(), "up" | "down" | "stopped" | "fail") {
            health_word = w.to_string();
        }
    }
    if let Some(h) = reply.health {
        let status = if h == AgentHealth::Up {
            CheckStatus::L7Ok
        } else {
            CheckStatus::L7Sts
        };
        let mut msg = desc;
        if msg.is_empty() || h == AgentHealth::Up {
            if let Some(e) = &err {
                msg = e.clone();
            }
        }
        let text = if msg.is_empty() {
            format!("via agent : {health_word}")
        } else {
            format!("via agent : {health_word} ({msg})")
        };
        reply.result = CheckResult::new(status, start.elapsed()).with_desc(text);
    } else if let Some(e) = err {
        reply.result = reply
            .result
            .with_desc(format!("agent reports an error : {e}"));
    }
    reply
}

/// What one agent run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentOutcome {
    /// The agent answered.
    Reply(AgentReply),
    /// The agent could not be reached or did not answer (never marks the
    /// server down by itself).
    Failed(CheckResult),
}

/// The agent's connection after a reply, held open until the reply has been
/// applied: HAProxy applies the agent's words before it closes the connection, so
/// an agent that waits for the close (VTest's `expect_close`, reg-test
/// checks/agent-check) then sees the new state.
#[derive(Default)]
pub struct Linger(Option<Session>);

impl Linger {
    /// Closes the held connection, if any.
    pub async fn close(self) {
        if let Some(s) = self.0 {
            s.close().await;
        }
    }
}

/// Connects to the agent, sends `agent-send` if any, reads one line; closes
/// the connection before returning.
pub async fn run(plan: &ConnectPlan, send: Option<&[u8]>, start: Instant) -> AgentOutcome {
    let (outcome, linger) = run_held(plan, send, start).await;
    linger.close().await;
    outcome
}

/// As [`run`], but a reply comes with its connection still open ([`Linger`]):
/// the caller closes it once the reply is applied.
pub async fn run_held(
    plan: &ConnectPlan,
    send: Option<&[u8]>,
    start: Instant,
) -> (AgentOutcome, Linger) {
    let mut s = match Session::open(plan, start, "").await {
        Ok(s) => s,
        Err(r) => return (AgentOutcome::Failed(r), Linger::default()),
    };
    let fail = |f: IoFailure| match f {
        IoFailure::Timeout => {
            AgentOutcome::Failed(CheckResult::new(CheckStatus::L7Tout, start.elapsed()))
        }
        IoFailure::Io(e) => AgentOutcome::Failed(
            CheckResult::new(CheckStatus::SockErr, start.elapsed())
                .with_desc(super::conn::strerror(&e)),
        ),
    };
    if let Some(d) = send {
        if let Err(f) = s.send(d).await {
            return (fail(f), Linger::default());
        }
    }
    loop {
        if let Some(end) = s.buf.iter().position(|&c| c == b'\r' || c == b'\n') {
            let reply = parse_agent_line(&s.buf[..end], start);
            return (AgentOutcome::Reply(reply), Linger(Some(s)));
        }
        if s.last_read() {
            if s.buf.is_empty() {
                return (
                    AgentOutcome::Failed(
                        CheckResult::new(CheckStatus::L7Rsp, start.elapsed())
                            .with_desc("TCPCHK got an empty response at step 1"),
                    ),
                    Linger::default(),
                );
            }
            let mut r = parse_agent_line(&[], start);
            r.result = CheckResult::new(CheckStatus::Checked, start.elapsed())
                .with_desc("Ignoring incomplete line from agent");
            return (AgentOutcome::Reply(r), Linger::default());
        }
        if let Err(f) = s.fill().await {
            return (fail(f), Linger::default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> AgentReply {
        parse_agent_line(s.as_bytes(), Instant::now())
    }

    #[test]
    fn words() {
        let r = p("up 75%");
        assert_eq!(
            (r.health, r.weight_pct, r.result.status),
            (Some(AgentHealth::Up), Some(75), CheckStatus::L7Ok)
        );
        assert_eq!(r.result.desc, "via agent : up");
        let r = p("down #disk full");
        assert_eq!(
            (r.health, r.result.status),
            (Some(AgentHealth::Down), CheckStatus::L7Sts)
        );
        // `#` only starts a description at the beginning of a word: HAProxy
        // 2.6.12 ignores "down#text" (an unknown word, no state change).
        let q = p("down#maintenance window");
        assert_eq!((q.health, q.result.status), (None, CheckStatus::Checked));
        assert_eq!(q.result.desc, "agent reports an error : down#maintenance");
        assert_eq!(r.result.desc, "via agent : down (disk full)");
        let r = p("drain,maxconn:10");
        assert_eq!(
            (r.admin, r.maxconn, r.result.status),
            (Some(AgentAdmin::Drain), Some(10), CheckStatus::Checked)
        );
        let r = p("ready\tUP bogus");
        assert_eq!(
            (r.admin, r.health),
            (Some(AgentAdmin::Ready), Some(AgentHealth::Up))
        );
        assert_eq!(r.result.desc, "via agent : UP (bogus)");
        let r = p("hello");
        assert_eq!(r.result.desc, "agent reports an error : hello");
        let r = p("maint stopped fail");
        assert_eq!(
            (r.admin, r.health),
            (Some(AgentAdmin::Maint), Some(AgentHealth::Fail))
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any agent line parses without panicking; the result is a
            /// health word's status or CHECKED.
            #[test]
            fn any_line(line in prop::collection::vec(any::<u8>(), 0..200)) {
                let r = parse_agent_line(&line, Instant::now());
                let expected = match r.health {
                    None => CheckStatus::Checked,
                    Some(AgentHealth::Up) => CheckStatus::L7Ok,
                    Some(_) => CheckStatus::L7Sts,
                };
                prop_assert_eq!(r.result.status, expected);
            }
        }
    }
}
