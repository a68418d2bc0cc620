//! Log lines as HAProxy words them (configuration.txt §4.2
//! `option log-health-checks`; the wording and severities were checked
//! against HAProxy 2.6.12 output).
//!
//! The builders return the text without the trailing ".\n" HAProxy's
//! `send_log` call adds; [`LogLine::text`] includes the final period.

use std::fmt::Write as _;

use crate::health::Health;
use crate::status::CheckResult;

/// Syslog severity (RFC 5424 numbering, as HAProxy uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// 0, used for "backend X has no server available!".
    Emerg = 0,
    /// 1, used for "Server X is DOWN" (unless it was draining/stopping).
    Alert = 1,
    /// 5, used for check results and "Server X is UP".
    Notice = 5,
}

/// One log line: severity and text (with HAProxy's final period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Severity.
    pub severity: Severity,
    /// Text, e.g. "Server be/srv is DOWN. 0 active and 0 backup servers left. ...".
    pub text: String,
}

/// Who a line is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerName {
    /// Backend name.
    pub backend: String,
    /// Server name.
    pub server: String,
    /// `backup` server: lines start with "Backup Server" / "backup server".
    pub backup: bool,
}

impl ServerName {
    /// A non-backup server.
    pub fn new(backend: impl Into<String>, server: impl Into<String>) -> Self {
        Self {
            backend: backend.into(),
            server: server.into(),
            backup: false,
        }
    }
}

/// Numbers the "is DOWN"/"is UP" lines report about the backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendCounts {
    /// Usable active servers after the change.
    pub active: u32,
    /// Usable backup servers after the change.
    pub backup: u32,
    /// Sessions currently on the server.
    pub sessions: u32,
    /// Sessions moved to other servers.
    pub requeued: u32,
    /// Sessions left in the server's queue.
    pub queued: u32,
}

/// Appends HAProxy's "ascii-encoded" form of a description: non printable
/// bytes, `<`, `>` and the quote become `<XX>`.
fn push_ascii_encoded(out: &mut String, s: &str, quote: u8) {
    for &b in s.as_bytes() {
        if !(0x20..0x7f).contains(&b) || b == b'<' || b == b'>' || b == quote {
            let _ = write!(out, "<{b:02X}>");
        } else {
            out.push(b as char);
        }
    }
}

/// ", reason: <desc>[, code: N][, info: "..."][, check duration: Nms]".
pub fn push_reason(out: &mut String, r: &CheckResult) {
    let _ = write!(out, ", reason: {}", r.status.description());
    if r.status.has_code() {
        let _ = write!(out, ", code: {}", r.code.unwrap_or(0));
    }
    if !r.desc.is_empty() {
        out.push_str(", info: \"");
        push_ascii_encoded(out, &r.desc, b'"');
        out.push('"');
    }
    if let Some(d) = r.duration {
        let _ = write!(out, ", check duration: {}ms", d.as_millis());
    }
}

/// "Health check for [backup ]server be/srv succeeded|failed, reason: ...,
/// status: x/y UP|DOWN|DRAIN." — logged at NOTICE when the status changed or
/// the counter moved (`agent` gives "Agent check for ...").
pub fn check_line(
    who: &ServerName,
    agent: bool,
    result: &CheckResult,
    health: &Health,
    draining: bool,
) -> LogLine {
    use crate::health::Verdict;
    let verdict = result.verdict();
    let mut t = format!(
        "{} check for {}server {}/{} {}{}",
        if agent { "Agent" } else { "Health" },
        if who.backup { "backup " } else { "" },
        who.backend,
        who.server,
        if verdict == Verdict::CondPassed {
            "conditionally "
        } else {
            ""
        },
        if matches!(verdict, Verdict::Passed | Verdict::CondPassed) {
            "succeeded"
        } else {
            "failed"
        },
    );
    push_reason(&mut t, result);
    let (num, den) = health.fraction();
    let word = if !health.is_up() {
        "DOWN"
    } else if draining {
        "DRAIN"
    } else {
        "UP"
    };
    let _ = write!(t, ", status: {num}/{den} {word}.");
    LogLine {
        severity: Severity::Notice,
        text: t,
    }
}

/// Why a server changed state, for the "is DOWN"/"is UP" lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeReason {
    /// The check result, printed as ", reason: ..." (HAProxy does so only
    /// without `option log-health-checks`, which already logged it).
    Check(CheckResult),
    /// The server follows a tracked one: " via be/srv".
    Via(ServerName),
    /// Nothing printed.
    None,
}

fn push_change_reason(t: &mut String, reason: &ChangeReason) {
    match reason {
        ChangeReason::Check(r) => push_reason(t, r),
        ChangeReason::Via(v) => {
            let _ = write!(t, " via {}/{}", v.backend, v.server);
        }
        ChangeReason::None => {}
    }
}

fn prefix(who: &ServerName) -> &'static str {
    if who.backup {
        "Backup "
    } else {
        ""
    }
}

/// "Server be/srv is DOWN[, reason...]. N active and M backup servers left.[
/// Running on backup.] K sessions active, R requeued, Q remaining in queue."
/// ALERT, or NOTICE when the server was already stopping or draining.
pub fn down_line(
    who: &ServerName,
    reason: &ChangeReason,
    counts: &BackendCounts,
    was_stopping: bool,
) -> LogLine {
    let mut t = format!(
        "{}Server {}/{} is DOWN",
        prefix(who),
        who.backend,
        who.server
    );
    push_change_reason(&mut t, reason);
    let _ = write!(
        t,
        ". {} active and {} backup servers left.{} {} sessions active, {} requeued, {} remaining in queue.",
        counts.active,
        counts.backup,
        if counts.backup > 0 && counts.active == 0 { " Running on backup." } else { "" },
        counts.sessions,
        counts.requeued,
        counts.queued
    );
    LogLine {
        severity: if was_stopping {
            Severity::Notice
        } else {
            Severity::Alert
        },
        text: t,
    }
}

/// "Server be/srv is UP[, reason...]. N active and M backup servers online.[
/// Running on backup.] R sessions requeued, Q total in queue." (NOTICE).
pub fn up_line(who: &ServerName, reason: &ChangeReason, counts: &BackendCounts) -> LogLine {
    online_line(who, "is UP", reason, counts)
}

/// "Server be/srv is stopping..." (NOTICE), for `disable-on-404` and agent
/// `stopped`... (same tail as the UP line).
pub fn stopping_line(who: &ServerName, reason: &ChangeReason, counts: &BackendCounts) -> LogLine {
    online_line(who, "is stopping", reason, counts)
}

fn online_line(
    who: &ServerName,
    what: &str,
    reason: &ChangeReason,
    counts: &BackendCounts,
) -> LogLine {
    let mut t = format!(
        "{}Server {}/{} {what}",
        prefix(who),
        who.backend,
        who.server
    );
    push_change_reason(&mut t, reason);
    let _ = write!(
        t,
        ". {} active and {} backup servers online.{} {} sessions requeued, {} total in queue.",
        counts.active,
        counts.backup,
        if counts.backup > 0 && counts.active == 0 {
            " Running on backup."
        } else {
            ""
        },
        counts.requeued,
        counts.queued
    );
    LogLine {
        severity: Severity::Notice,
        text: t,
    }
}

/// "backend be has no server available!" (EMERG), logged when the last usable
/// server of a backend goes away.
pub fn no_server_line(backend: &str) -> LogLine {
    no_server_line_of(false, backend)
}

/// Like [`no_server_line`], for a `listen` section when `listen` is true:
/// HAProxy then says "proxy NAME has no server available!" (its
/// `proxy_type_str()` of a section with both frontend and backend sides).
pub fn no_server_line_of(listen: bool, name: &str) -> LogLine {
    LogLine {
        severity: Severity::Emerg,
        text: format!(
            "{} {name} has no server available!",
            if listen { "proxy" } else { "backend" }
        ),
    }
}

/// "Server be/srv is going DOWN for maintenance[ (cause)]. ..." (ALERT, NOTICE
/// if it was stopping) or "Server be/srv was DOWN and now enters maintenance"
/// (NOTICE) — `show servers state`/CLI `set server ... state maint`.
pub fn maint_line(
    who: &ServerName,
    was_down: bool,
    cause: &str,
    counts: &BackendCounts,
    was_stopping: bool,
) -> LogLine {
    let cause = if cause.is_empty() {
        String::new()
    } else {
        format!(" ({cause})")
    };
    if was_down {
        LogLine {
            severity: Severity::Notice,
            text: format!(
                "{}Server {}/{} was DOWN and now enters maintenance{cause}.",
                prefix(who),
                who.backend,
                who.server
            ),
        }
    } else {
        let mut l = down_line(who, &ChangeReason::None, counts, was_stopping);
        l.text = l.text.replacen(
            "is DOWN.",
            &format!("is going DOWN for maintenance{cause}."),
            1,
        );
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Verdict;
    use crate::spec::InitState;
    use crate::status::CheckStatus;
    use std::time::Duration;

    // Every expected string below was printed by HAProxy 2.6.12 (see
    // docs/checks.md, "Strings verified against HAProxy").

    #[test]
    fn wrong_status_first_failure() {
        let mut h = Health::new(2, 3, InitState::None);
        h.apply(Verdict::Failed);
        let r = CheckResult::new(CheckStatus::L7Sts, Duration::from_millis(0))
            .with_code(503)
            .with_desc("Service Unavailable");
        let l = check_line(&ServerName::new("st", "s1"), false, &r, &h, false);
        assert_eq!(l.text, "Health check for server st/s1 failed, reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", check duration: 0ms, status: 0/2 DOWN.");
        assert_eq!(l.severity, Severity::Notice);
    }

    #[test]
    fn passed_backup_and_l4() {
        let mut h = Health::new(2, 3, InitState::None);
        h.apply(Verdict::Passed);
        let r = CheckResult::new(CheckStatus::L7Ok, Duration::from_millis(0)).with_code(200);
        let who = ServerName {
            backup: true,
            ..ServerName::new("st", "b1")
        };
        assert_eq!(
            check_line(&who, false, &r, &h, false).text,
            "Health check for backup server st/b1 succeeded, reason: Layer7 check passed, code: 200, check duration: 0ms, status: 3/3 UP."
        );
        let r = CheckResult::new(CheckStatus::L4Ok, Duration::from_millis(0));
        assert_eq!(
            check_line(&ServerName::new("l4", "s2"), false, &r, &h, false).text,
            "Health check for server l4/s2 succeeded, reason: Layer4 check passed, check duration: 0ms, status: 3/3 UP."
        );
    }

    #[test]
    fn refused_and_timeout_and_content() {
        let mut h = Health::new(2, 3, InitState::None);
        h.apply(Verdict::Failed);
        let r = CheckResult::new(CheckStatus::L4Con, Duration::from_millis(0))
            .with_desc("Connection refused");
        assert_eq!(
            check_line(&ServerName::new("rf", "s1"), false, &r, &h, false).text,
            "Health check for server rf/s1 failed, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms, status: 0/2 DOWN."
        );
        let r = CheckResult::new(CheckStatus::L7Tout, Duration::from_millis(439));
        assert_eq!(
            check_line(&ServerName::new("bh", "s1"), false, &r, &h, false).text,
            "Health check for server bh/s1 failed, reason: Layer7 timeout, check duration: 439ms, status: 0/2 DOWN."
        );
        let r = CheckResult::new(CheckStatus::L7Rsp, Duration::from_millis(0))
            .with_desc("HTTP content check did not match");
        assert_eq!(
            check_line(&ServerName::new("ex", "s1"), false, &r, &h, false).text,
            "Health check for server ex/s1 failed, reason: Layer7 invalid response, info: \"HTTP content check did not match\", check duration: 0ms, status: 0/2 DOWN."
        );
    }

    #[test]
    fn down_lines() {
        let c = BackendCounts {
            active: 1,
            backup: 1,
            ..Default::default()
        };
        let l = down_line(&ServerName::new("st", "s1"), &ChangeReason::None, &c, false);
        assert_eq!(l.text, "Server st/s1 is DOWN. 1 active and 1 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
        assert_eq!(l.severity, Severity::Alert);
        let c = BackendCounts {
            active: 0,
            backup: 1,
            ..Default::default()
        };
        let r = CheckResult::new(CheckStatus::L4Con, Duration::from_millis(1))
            .with_desc("Connection refused");
        let l = down_line(
            &ServerName::new("b", "s"),
            &ChangeReason::Check(r),
            &c,
            true,
        );
        assert_eq!(l.text, "Server b/s is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 1ms. 0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.");
        assert_eq!(l.severity, Severity::Notice);
        let l = down_line(
            &ServerName::new("b", "t"),
            &ChangeReason::Via(ServerName::new("b", "s")),
            &BackendCounts::default(),
            false,
        );
        assert!(l.text.starts_with("Server b/t is DOWN via b/s. 0 active"));
        assert_eq!(
            no_server_line("gb").text,
            "backend gb has no server available!"
        );
        assert_eq!(no_server_line("gb").severity, Severity::Emerg);
        assert_eq!(
            no_server_line_of(true, "primary").text,
            "proxy primary has no server available!"
        );
    }

    #[test]
    fn up_line_and_encoding() {
        let c = BackendCounts {
            active: 2,
            ..Default::default()
        };
        assert_eq!(
            up_line(&ServerName::new("b", "s"), &ChangeReason::None, &c).text,
            "Server b/s is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."
        );
        let mut s = String::new();
        push_ascii_encoded(&mut s, "a\"<b>\r\n", b'"');
        assert_eq!(s, "a<22><3C>b<3E><0D><0A>");
    }

    #[test]
    fn maint_lines() {
        let l = maint_line(
            &ServerName::new("b", "s"),
            false,
            "",
            &BackendCounts::default(),
            false,
        );
        assert_eq!(l.text, "Server b/s is going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.");
        let l = maint_line(
            &ServerName::new("b", "s"),
            true,
            "x",
            &BackendCounts::default(),
            false,
        );
        assert_eq!(
            l.text,
            "Server b/s was DOWN and now enters maintenance (x)."
        );
    }
}
