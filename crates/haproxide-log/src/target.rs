//! Log target description: where, in which format, with which facility and
//! level filters (configuration.txt §3.1 `log`, §4.2 `log`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Syslog facility, with HAProxy's names and numbers (configuration.txt §3.1
/// `log` `<facility>`: "one of the 24 standard syslog facilities").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Facility {
    Kern = 0,
    User = 1,
    Mail = 2,
    Daemon = 3,
    Auth = 4,
    Syslog = 5,
    Lpr = 6,
    News = 7,
    Uucp = 8,
    Cron = 9,
    Auth2 = 10,
    Ftp = 11,
    Ntp = 12,
    Audit = 13,
    Alert = 14,
    Cron2 = 15,
    Local0 = 16,
    Local1 = 17,
    Local2 = 18,
    Local3 = 19,
    Local4 = 20,
    Local5 = 21,
    Local6 = 22,
    Local7 = 23,
}

impl Facility {
    /// All facilities, in numeric order.
    pub const ALL: [Facility; 24] = [
        Facility::Kern,
        Facility::User,
        Facility::Mail,
        Facility::Daemon,
        Facility::Auth,
        Facility::Syslog,
        Facility::Lpr,
        Facility::News,
        Facility::Uucp,
        Facility::Cron,
        Facility::Auth2,
        Facility::Ftp,
        Facility::Ntp,
        Facility::Audit,
        Facility::Alert,
        Facility::Cron2,
        Facility::Local0,
        Facility::Local1,
        Facility::Local2,
        Facility::Local3,
        Facility::Local4,
        Facility::Local5,
        Facility::Local6,
        Facility::Local7,
    ];

    /// HAProxy's keyword ("kern", …, "local7").
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 24] = [
            "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
            "auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2",
            "local3", "local4", "local5", "local6", "local7",
        ];
        NAMES[self as usize]
    }

    /// The syslog number (0..=23).
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Syslog severity (configuration.txt §3.1 `log`: "Eight levels are known :
/// emerg alert crit err warning notice info debug"). Lower is more severe,
/// so `Level::Emerg < Level::Debug`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Level {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

impl Level {
    /// All levels, most severe first.
    pub const ALL: [Level; 8] = [
        Level::Emerg,
        Level::Alert,
        Level::Crit,
        Level::Err,
        Level::Warning,
        Level::Notice,
        Level::Info,
        Level::Debug,
    ];

    /// HAProxy's keyword.
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 8] = [
            "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
        ];
        NAMES[self as usize]
    }

    /// The syslog number (0..=7).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The level of a syslog number (0..=7).
    pub fn from_code(code: u8) -> Option<Level> {
        Level::ALL.get(usize::from(code)).copied()
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<haproxide_check::log::Severity> for Level {
    fn from(s: haproxide_check::log::Severity) -> Level {
        use haproxide_check::log::Severity;
        match s {
            Severity::Emerg => Level::Emerg,
            Severity::Alert => Level::Alert,
            Severity::Notice => Level::Notice,
        }
    }
}

/// Syslog message format (configuration.txt §3.1 `log` `format`). Header
/// bytes, as HAProxy 2.6.12 sends them (verified on the wire), every message
/// being followed by `\n`:
///
/// | format     | bytes |
/// |------------|-------|
/// | `local`    | `<134>Nov 26 10:00:00 haproxy[1234]: msg` |
/// | `rfc3164`  | `<134>Nov 26 10:00:00 HOST haproxy[1234]: msg` (HOST = `localhost` without `log-send-hostname`) |
/// | `rfc5424`  | `<134>1 2026-11-26T10:00:00.123456+00:00 HOST haproxy 1234 - - msg` (HOST = `-` without `log-send-hostname`) |
/// | `priority` | `<134>msg` |
/// | `short`    | `<6>msg` |
/// | `timed`    | `<6>2026-11-26T10:00:00.123456+00:00 msg` |
/// | `iso`      | `2026-11-26T10:00:00.123456+00:00 msg` |
/// | `raw`      | `msg` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// `local`: HAProxy 2.6's default — rfc3164 without the hostname field
    /// (even with `log-send-hostname`, which makes `rfc3164` the default).
    #[default]
    Local,
    /// `rfc3164`.
    Rfc3164,
    /// `rfc5424` (no structured data: `log-format-sd` is not supported).
    Rfc5424,
    /// `priority`: `<PRI>` then the text.
    Priority,
    /// `short`: `<LEVEL>` then the text.
    Short,
    /// `timed`: `<LEVEL>`, ISO date, space, text.
    Timed,
    /// `iso`: ISO date, space, text.
    Iso,
    /// `raw`: the text only.
    Raw,
}

impl LogFormat {
    /// The format of a `log` line without `format`: `local`, or `rfc3164`
    /// when the global `log-send-hostname` is set (configuration.txt §3.1
    /// `log` `<format>`: "option log-send-hostname switches the default to
    /// rfc3164"; HAProxy 2.6.12 then prints the hostname, with an explicit
    /// `format local` it does not).
    pub fn default_for(send_hostname: bool) -> LogFormat {
        if send_hostname {
            LogFormat::Rfc3164
        } else {
            LogFormat::Local
        }
    }

    /// HAProxy's keyword.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Local => "local",
            LogFormat::Rfc3164 => "rfc3164",
            LogFormat::Rfc5424 => "rfc5424",
            LogFormat::Priority => "priority",
            LogFormat::Short => "short",
            LogFormat::Timed => "timed",
            LogFormat::Iso => "iso",
            LogFormat::Raw => "raw",
        }
    }
}

/// Where a target's lines go (configuration.txt §3.1 `log` `<address>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogDest {
    /// UDP syslog, IPv4 or IPv6 (`127.0.0.1:514`, `[::1]:514`).
    Udp(SocketAddr),
    /// A unix datagram socket such as `/dev/log`.
    UnixDgram(PathBuf),
    /// `stdout` (= `fd@1`).
    Stdout,
    /// `stderr` (= `fd@2`).
    Stderr,
    /// `fd@N`: 1 and 2 are stdout/stderr; other numbers are reopened through
    /// `/dev/fd/N` (works for pipes, terminals and files, not sockets).
    Fd(i32),
}

impl fmt::Display for LogDest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogDest::Udp(a) => write!(f, "{a}"),
            LogDest::UnixDgram(p) => write!(f, "{}", p.display()),
            LogDest::Stdout => f.write_str("stdout"),
            LogDest::Stderr => f.write_str("stderr"),
            LogDest::Fd(n) => write!(f, "fd@{n}"),
        }
    }
}

/// Default `len` (configuration.txt §3.1 `log` `<length>`: "the default
/// value of 1024").
pub const DEFAULT_MAX_LEN: usize = 1024;

/// One `log` line (configuration.txt §3.1 and §4.2 `log`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogTarget {
    /// Destination.
    pub dest: LogDest,
    /// `format` (default [`LogFormat::default_for`]).
    pub format: LogFormat,
    /// Facility (ignored by `short`, `timed`, `iso` and `raw`).
    pub facility: Facility,
    /// "max level": messages less severe than this are not sent.
    pub max_level: Option<Level>,
    /// "min level": messages more severe than this are sent at this level.
    pub min_level: Option<Level>,
    /// `len`: the header and text are cut to this many bytes before the
    /// final `\n` is added (HAProxy sends `len + 1` bytes at most).
    pub max_len: usize,
    /// `sample <ranges>:<size>`: send only some of the lines.
    pub sample: Option<LogSample>,
}

/// `sample <ranges>:<sample_size>` (configuration.txt §3.1 `log`): of each
/// run of `size` lines that pass the level filter, only those whose
/// 1-based position is in a range are sent (HAProxy 2.6.12 with
/// `sample 2-3,5:6` sent lines 2, 3, 5, 8, 9 of 9; lines dropped by the
/// level filter are not counted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogSample {
    /// Inclusive 1-based ranges.
    pub ranges: Vec<(u32, u32)>,
    /// The period.
    pub size: u32,
}

impl LogSample {
    /// Whether the `n`th line (1-based, counting from start) is sent.
    pub fn takes(&self, n: u64) -> bool {
        let pos = (n.saturating_sub(1) % u64::from(self.size.max(1))) + 1;
        self.ranges
            .iter()
            .any(|&(lo, hi)| (u64::from(lo)..=u64::from(hi)).contains(&pos))
    }
}

impl LogTarget {
    /// A target with the default format, no level filter and `len 1024`.
    pub fn new(dest: LogDest, facility: Facility) -> LogTarget {
        LogTarget {
            dest,
            format: LogFormat::default(),
            facility,
            max_level: None,
            min_level: None,
            max_len: DEFAULT_MAX_LEN,
            sample: None,
        }
    }

    /// Sets `format`.
    pub fn with_format(mut self, format: LogFormat) -> LogTarget {
        self.format = format;
        self
    }

    /// Sets the "max level" and "min level" filters.
    pub fn with_levels(mut self, max: Option<Level>, min: Option<Level>) -> LogTarget {
        self.max_level = max;
        self.min_level = min;
        self
    }

    /// Sets `len`.
    pub fn with_max_len(mut self, len: usize) -> LogTarget {
        self.max_len = len;
        self
    }

    /// The level a message of `level` goes out at, or `None` if filtered
    /// out (§3.1: "only messages with a severity at least as important as
    /// this level will be sent"; "logs emitted with a more severe level than
    /// this one will be capped to this level").
    pub fn effective_level(&self, level: Level) -> Option<Level> {
        if self.max_level.is_some_and(|max| level > max) {
            return None;
        }
        match self.min_level {
            Some(min) if level < min => Some(min),
            _ => Some(level),
        }
    }
}
