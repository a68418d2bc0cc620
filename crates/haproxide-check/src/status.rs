//! Check statuses and results as HAProxy names and reports them
//! (management.txt §9.1 `check_status`; the names and descriptions are the
//! ones HAProxy prints in `show stat` and in its logs).

use std::fmt;
use std::time::Duration;

use crate::health::Verdict;

/// HAProxy's check status (`check_status` in `show stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckStatus {
    /// `UNK`: unknown.
    Unknown,
    /// `INI`: initializing (no check finished yet).
    Init,
    /// `CHECKED`: finished without state change.
    Checked,
    /// `HANA`: health analyze (observe) detected errors.
    Hana,
    /// `SOCKERR`: socket error.
    SockErr,
    /// `L4OK`: layer 4 check passed (TCP connect).
    L4Ok,
    /// `L4TOUT`: layer 4 timeout.
    L4Tout,
    /// `L4CON`: layer 4 connection problem (refused, unreachable...).
    L4Con,
    /// `L6OK`: layer 6 (SSL) check passed.
    L6Ok,
    /// `L6TOUT`: layer 6 (SSL) timeout.
    L6Tout,
    /// `L6RSP`: layer 6 invalid response.
    L6Rsp,
    /// `L7TOUT`: layer 7 timeout.
    L7Tout,
    /// `L7RSP`: layer 7 invalid response.
    L7Rsp,
    /// `L7OK`: layer 7 check passed.
    L7Ok,
    /// `L7OKC`: layer 7 check conditionally passed (404 with disable-on-404).
    L7OkC,
    /// `L7STS`: layer 7 wrong status.
    L7Sts,
    /// `PROCERR`: external check error.
    ProcErr,
    /// `PROCTOUT`: external check timeout.
    ProcTout,
    /// `PROCOK`: external check passed.
    ProcOk,
}

impl CheckStatus {
    /// All statuses, in HAProxy's order.
    pub const ALL: [CheckStatus; 19] = [
        Self::Unknown,
        Self::Init,
        Self::Checked,
        Self::Hana,
        Self::SockErr,
        Self::L4Ok,
        Self::L4Tout,
        Self::L4Con,
        Self::L6Ok,
        Self::L6Tout,
        Self::L6Rsp,
        Self::L7Tout,
        Self::L7Rsp,
        Self::L7Ok,
        Self::L7OkC,
        Self::L7Sts,
        Self::ProcErr,
        Self::ProcTout,
        Self::ProcOk,
    ];

    /// The short name shown in `show stat` (`L4OK`, `L7STS`...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "UNK",
            Self::Init => "INI",
            Self::Checked => "CHECKED",
            Self::Hana => "HANA",
            Self::SockErr => "SOCKERR",
            Self::L4Ok => "L4OK",
            Self::L4Tout => "L4TOUT",
            Self::L4Con => "L4CON",
            Self::L6Ok => "L6OK",
            Self::L6Tout => "L6TOUT",
            Self::L6Rsp => "L6RSP",
            Self::L7Tout => "L7TOUT",
            Self::L7Rsp => "L7RSP",
            Self::L7Ok => "L7OK",
            Self::L7OkC => "L7OKC",
            Self::L7Sts => "L7STS",
            Self::ProcErr => "PROCERR",
            Self::ProcTout => "PROCTOUT",
            Self::ProcOk => "PROCOK",
        }
    }

    /// The description used in logs after "reason: ".
    pub fn description(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Init => "Initializing",
            Self::Checked => "No status change",
            Self::Hana => "Health analyze",
            Self::SockErr => "Socket error",
            Self::L4Ok => "Layer4 check passed",
            Self::L4Tout => "Layer4 timeout",
            Self::L4Con => "Layer4 connection problem",
            Self::L6Ok => "Layer6 check passed",
            Self::L6Tout => "Layer6 timeout",
            Self::L6Rsp => "Layer6 invalid response",
            Self::L7Tout => "Layer7 timeout",
            Self::L7Rsp => "Layer7 invalid response",
            Self::L7Ok => "Layer7 check passed",
            Self::L7OkC => "Layer7 check conditionally passed",
            Self::L7Sts => "Layer7 wrong status",
            Self::ProcErr => "External check error",
            Self::ProcTout => "External check timeout",
            Self::ProcOk => "External check passed",
        }
    }

    /// The verdict the status implies for the health counter.
    pub fn verdict(self) -> Verdict {
        match self {
            Self::Unknown | Self::Init | Self::Checked => Verdict::Neutral,
            Self::L4Ok | Self::L6Ok | Self::L7Ok | Self::ProcOk => Verdict::Passed,
            Self::L7OkC => Verdict::CondPassed,
            _ => Verdict::Failed,
        }
    }

    /// Whether HAProxy reports a check code with this status (layer-7 data
    /// statuses: `L7OK`, `L7OKC`, `L7STS` and the external-check ones). Logs
    /// print ", code: N" only for those.
    pub fn has_code(self) -> bool {
        matches!(
            self,
            Self::L7Ok | Self::L7OkC | Self::L7Sts | Self::ProcErr | Self::ProcTout | Self::ProcOk
        )
    }

    /// Whether this status is a "layer 5-7 data" status; an agent check only
    /// counts a failure against the server for those (configuration.txt §5.2
    /// `agent-check`: a connection failure to the agent does not mark the
    /// server down).
    pub fn is_l7_data(self) -> bool {
        self.has_code()
    }
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// HAProxy truncates check descriptions to 127 bytes (`HCHK_DESC_LEN`).
pub const MAX_DESC_LEN: usize = 127;

/// The outcome of one check run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Status.
    pub status: CheckStatus,
    /// Check code (`check_code` in `show stat`): the HTTP status, the SMTP
    /// reply code, the agent weight... Only shown for [`CheckStatus::has_code`].
    pub code: Option<u32>,
    /// How long the check took (`check_duration`); `None` for `HANA`.
    pub duration: Option<Duration>,
    /// Free text (`info: "..."` in logs), e.g. "Connection refused".
    pub desc: String,
    /// A second report of the same check, applied right after this one.
    ///
    /// HAProxy 2.6 quirk, reproduced: the custom expect rules of
    /// `mysql-check` and `ldap-check` set the check status themselves when
    /// they are the last rule, and the rule engine then sets it again when
    /// the ruleset completes, with an empty description. The counter moves
    /// twice, so one passing check after a failure takes the server from 0
    /// to 1 and then UP (verified against HAProxy 2.6.12 by
    /// tests/differential.rs).
    pub followup: Option<Box<CheckResult>>,
}

impl CheckResult {
    /// A result with no code and no description.
    pub fn new(status: CheckStatus, duration: Duration) -> Self {
        Self {
            status,
            code: None,
            duration: Some(duration),
            desc: String::new(),
            followup: None,
        }
    }

    /// Adds the second report HAProxy makes for some custom expect rules
    /// (see [`CheckResult::followup`]): same status, code and duration, no
    /// description.
    pub fn reported_twice(mut self) -> Self {
        let mut again = self.clone();
        again.desc.clear();
        again.followup = None;
        self.followup = Some(Box::new(again));
        self
    }

    /// Sets the code.
    pub fn with_code(mut self, code: u32) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets the description, truncated like HAProxy's 128-byte buffer.
    pub fn with_desc(mut self, desc: impl Into<String>) -> Self {
        let mut d: String = desc.into();
        if d.len() > MAX_DESC_LEN {
            let mut cut = MAX_DESC_LEN;
            while !d.is_char_boundary(cut) {
                cut -= 1;
            }
            d.truncate(cut);
        }
        self.desc = d;
        self
    }

    /// The verdict of this result.
    pub fn verdict(&self) -> Verdict {
        self.status.verdict()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_are_haproxy_ones() {
        // Strings checked against HAProxy 2.6.12 log output and check_statuses[].
        let want = [
            ("L4OK", "Layer4 check passed"),
            ("L4TOUT", "Layer4 timeout"),
            ("L4CON", "Layer4 connection problem"),
            ("L6OK", "Layer6 check passed"),
            ("L6TOUT", "Layer6 timeout"),
            ("L6RSP", "Layer6 invalid response"),
            ("L7TOUT", "Layer7 timeout"),
            ("L7RSP", "Layer7 invalid response"),
            ("L7OK", "Layer7 check passed"),
            ("L7OKC", "Layer7 check conditionally passed"),
            ("L7STS", "Layer7 wrong status"),
        ];
        for (name, desc) in want {
            let s = CheckStatus::ALL
                .iter()
                .find(|s| s.name() == name)
                .unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(s.description(), desc);
        }
    }

    #[test]
    fn verdicts() {
        use Verdict::*;
        let passed: Vec<_> = CheckStatus::ALL
            .iter()
            .filter(|s| s.verdict() == Passed)
            .map(|s| s.name())
            .collect();
        assert_eq!(passed, ["L4OK", "L6OK", "L7OK", "PROCOK"]);
        assert_eq!(CheckStatus::L7OkC.verdict(), CondPassed);
        assert_eq!(CheckStatus::Init.verdict(), Neutral);
        assert_eq!(CheckStatus::L7Rsp.verdict(), Failed);
        assert!(!CheckStatus::L7Rsp.has_code());
        assert!(!CheckStatus::L7Tout.has_code());
        assert!(CheckStatus::L7Sts.has_code());
    }

    #[test]
    fn desc_is_truncated_on_char_boundary() {
        let r = CheckResult::new(CheckStatus::L7Rsp, Duration::ZERO).with_desc("é".repeat(100));
        assert!(r.desc.len() <= MAX_DESC_LEN);
        assert_eq!(r.desc.chars().count(), 63);
    }
}
