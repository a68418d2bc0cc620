//! Log target description: where, in which format, with which facility and
//! level filters (configuration.txt §3.1 `log`, §4.2 `log`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use super::LogError;

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

impl FromStr for Facility {
    type Err = LogError;
    fn from_str(s: &str) -> Result<Self, LogError> {
        Facility::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| LogError::UnknownFacility(s.to_string()))
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

impl FromStr for Level {
    type Err = LogError;
    fn from_str(s: &str) -> Result<Self, LogError> {
        Level::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| LogError::UnknownLevel(s.to_string()))
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

impl FromStr for LogFormat {
    type Err = LogError;
    fn from_str(s: &str) -> Result<Self, LogError> {
        Ok(match s {
            "local" => LogFormat::Local,
            "rfc3164" => LogFormat::Rfc3164,
            "rfc5424" => LogFormat::Rfc5424,
            "priority" => LogFormat::Priority,
            "short" => LogFormat::Short,
            "timed" => LogFormat::Timed,
            "iso" => LogFormat::Iso,
            "raw" => LogFormat::Raw,
            _ => return Err(LogError::UnknownFormat(s.to_string())),
        })
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

impl LogDest {
    /// Parses a `log` address: `stdout`, `stderr`, `fd@N`, a path starting
    /// with `/` (unix socket), `ip[:port]` / `[ipv6][:port]` / `ipv6:[port]`
    /// / `hostname[:port]` (resolved now; port 514 by default, §3.1; the
    /// `udp@`/`udp4@`/`udp6@`/`unix@` prefixes are accepted). `ring@` is
    /// not supported.
    pub fn parse(s: &str) -> Result<LogDest, LogError> {
        let bad = || LogError::BadAddress(s.to_string());
        match s {
            "stdout" => return Ok(LogDest::Stdout),
            "stderr" => return Ok(LogDest::Stderr),
            _ => {}
        }
        if let Some(n) = s.strip_prefix("fd@") {
            return match n.parse::<i32>().map_err(|_| bad())? {
                1 => Ok(LogDest::Stdout),
                2 => Ok(LogDest::Stderr),
                n if n >= 0 => Ok(LogDest::Fd(n)),
                _ => Err(bad()),
            };
        }
        if let Some(p) = s.strip_prefix("unix@") {
            return Ok(LogDest::UnixDgram(PathBuf::from(p)));
        }
        if s.starts_with('/') {
            return Ok(LogDest::UnixDgram(PathBuf::from(s)));
        }
        let s2 = ["udp4@", "udp6@", "udp@", "ipv4@", "ipv6@"]
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .unwrap_or(s);
        // "[v6]:port" / "[v6]" / "v4:port".
        if let Ok(a) = s2.parse::<SocketAddr>() {
            return Ok(LogDest::Udp(a));
        }
        if let Some(inner) = s2.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let ip = inner.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            return Ok(LogDest::Udp(SocketAddr::new(ip.into(), 514)));
        }
        // §3.1: "An IPv6 address followed by a colon and optionally a UDP
        // port": the last colon always ends the address ("::1:" = ::1 port
        // 514, "::1:1514" = ::1 port 1514).
        let (host, port) = match s2.rsplit_once(':') {
            Some((host, "")) => (host, 514),
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
            None => (s2, 514),
        };
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Ok(LogDest::Udp(SocketAddr::new(ip, port)));
        }
        // An empty host (":514", or ":" from unset variables) is INADDR_ANY for
        // HAProxy's str2sa_range(), which 2.6 accepts.
        if host.is_empty() {
            return Ok(LogDest::Udp(SocketAddr::new(
                std::net::Ipv4Addr::UNSPECIFIED.into(),
                port,
            )));
        }
        // A host name, resolved once now (as HAProxy does at start-up).
        if !host.is_empty() && !host.contains(':') {
            use std::net::ToSocketAddrs;
            if let Some(a) = (host, port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
            {
                return Ok(LogDest::Udp(a));
            }
        }
        Err(bad())
    }
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
    /// Parses `2-3,5:6`.
    pub fn parse(s: &str) -> Result<LogSample, LogError> {
        let bad = || LogError::BadSample(s.to_string());
        let (ranges, size) = s.split_once(':').ok_or_else(bad)?;
        let size: u32 = size.parse().map_err(|_| bad())?;
        let mut out = Vec::new();
        for r in ranges.split(',') {
            let (lo, hi) = match r.split_once('-') {
                Some((lo, hi)) => (lo, hi),
                None => (r, r),
            };
            let lo: u32 = lo.parse().map_err(|_| bad())?;
            let hi: u32 = hi.parse().map_err(|_| bad())?;
            if lo == 0 || hi < lo || hi > size {
                return Err(bad());
            }
            out.push((lo, hi));
        }
        Ok(LogSample { ranges: out, size })
    }

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

    /// Parses the arguments of a `log` line after the keyword:
    /// `<address> [len <n>] [format <f>] <facility> [max [min]]`
    /// (HAProxy wants `len`, `format`, `sample` in this order; any order is
    /// accepted here). `send_hostname`: whether the
    /// global section has `log-send-hostname` (it changes the default
    /// format, see [`LogFormat::default_for`]).
    pub fn parse_args<S: AsRef<str>>(
        args: &[S],
        send_hostname: bool,
    ) -> Result<LogTarget, LogError> {
        let mut it = args.iter().map(|s| s.as_ref());
        let addr = it.next().ok_or(LogError::MissingArgument("address"))?;
        let dest = LogDest::parse(addr)?;
        let mut t = LogTarget::new(dest, Facility::Local0)
            .with_format(LogFormat::default_for(send_hostname));
        let mut facility = None;
        while let Some(a) = it.next() {
            match a {
                "len" => {
                    let v = it.next().ok_or(LogError::MissingArgument("len"))?;
                    let n: usize = v.parse().map_err(|_| LogError::BadLength(v.into()))?;
                    if !(80..=65_535).contains(&n) {
                        return Err(LogError::BadLength(v.into()));
                    }
                    t.max_len = n;
                }
                "format" => {
                    let v = it.next().ok_or(LogError::MissingArgument("format"))?;
                    t.format = v.parse()?;
                }
                "sample" => {
                    let v = it.next().ok_or(LogError::MissingArgument("sample"))?;
                    t.sample = Some(LogSample::parse(v)?);
                }
                _ => {
                    facility = Some(a.parse::<Facility>()?);
                    break;
                }
            }
        }
        t.facility = facility.ok_or(LogError::MissingArgument("facility"))?;
        if let Some(max) = it.next() {
            t.max_level = Some(max.parse()?);
        }
        if let Some(min) = it.next() {
            t.min_level = Some(min.parse()?);
        }
        if let Some(extra) = it.next() {
            return Err(LogError::UnexpectedArgument(extra.to_string()));
        }
        Ok(t)
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
