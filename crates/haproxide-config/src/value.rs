//! Typed values: times, sizes, integers and addresses, parsed as HAProxy parses them
//! (configuration.txt §2.5 "Time format", §2.6 "Size format"? no: §2.5 "Time format"
//! and the address syntax of §5.1 `bind` / §5.2 `server`, HAProxy's `str2sa_range()`).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A duration in milliseconds, as HAProxy stores timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

/// Why a time could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    Empty,
    /// The first character that is not a digit or a unit.
    UnexpectedChar(char),
    /// Larger than 2^31-1 ms (HAProxy's `TICK_ETERNITY` limit).
    Overflow,
    /// A non-zero value below 1 ms (e.g. `100us`).
    Underflow,
}

/// Largest time HAProxy accepts for timeouts, in ms.
pub const MAX_TIME_MS: u64 = 2_147_483_647;

/// Parse a time: digits, then an optional unit `us`, `ms`, `s`, `m`, `h`, `d`
/// (configuration.txt §2.5; the default unit is given, usually ms). Values are rounded
/// up to the next millisecond, as HAProxy does. Characters after a valid unit are only
/// warned about by HAProxy: see [`parse_time_lenient`].
pub fn parse_time(s: &str, default_unit_ms: u64) -> Result<Millis, TimeError> {
    parse_time_lenient(s, default_unit_ms).map(|(ms, _)| ms)
}

/// A time in seconds, as HAProxy's `parse_time_err(.., TIME_UNIT_S)` reads `stats
/// refresh` (configuration.txt §4.2): the default unit is the second, a value is
/// rounded up to the next second, and the limit is 2^31-1 seconds (not ms).
/// Characters after a valid unit are ignored (HAProxy warns).
pub fn parse_time_secs(s: &str) -> Result<u64, TimeError> {
    parse_time_c(s, TimeUnit::S).map(|(v, _)| u64::from(v))
}

/// Like [`parse_time`], but also returns the first character after a valid unit
/// (`15min` → 15 minutes and `Some('i')`): HAProxy accepts it with a warning.
/// A default unit of 1 ms or 1 s is read with HAProxy's own arithmetic
/// ([`parse_time_c`]: the number wraps as C's does, so `18446744073709551616`
/// is 0); other default units keep a saturating reading.
pub fn parse_time_lenient(
    s: &str,
    default_unit_ms: u64,
) -> Result<(Millis, Option<char>), TimeError> {
    match default_unit_ms {
        1 => return parse_time_c(s, TimeUnit::Ms).map(|(v, t)| (Millis(u64::from(v)), t)),
        1000 => return parse_time_c(s, TimeUnit::S).map(|(v, t)| (Millis(u64::from(v) * 1000), t)),
        _ => {}
    }
    if s.is_empty() {
        return Err(TimeError::Empty);
    }
    let (value, unit_us, trailing) = split_time(s)?;
    let us = unit_us.unwrap_or(default_unit_ms.saturating_mul(1000));
    let ms = value.saturating_mul(us).saturating_add(999) / 1000;
    if value != 0 && ms == 0 {
        return Err(TimeError::Underflow);
    }
    if ms > MAX_TIME_MS {
        return Err(TimeError::Overflow);
    }
    Ok((Millis(ms), trailing))
}

/// The unit a keyword's time is stored in (HAProxy's `TIME_UNIT_MS` /
/// `TIME_UNIT_S`): also the unit of a number written without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Ms,
    S,
}

/// HAProxy 2.6's `parse_time_err()` (tools.c) as it computes, for keywords
/// whose verdict depends on its arithmetic (configuration.txt §2.5): the
/// digits and the scaling wrap modulo 2^64 as C's `unsigned long long` does
/// (so `18446744073709551616` is 0 and taken), a result of 2^31 or more is an
/// overflow, a non-zero number rounded to 0 an underflow. Returns the value in
/// `unit` and the first character after a valid unit (HAProxy warns).
pub fn parse_time_c(s: &str, unit: TimeUnit) -> Result<(u32, Option<char>), TimeError> {
    let first = s.chars().next().ok_or(TimeError::Empty)?;
    if !first.is_ascii_digit() {
        return Err(TimeError::UnexpectedChar(first));
    }
    let (mut omult, mut odiv): (u64, u64) = match unit {
        TimeUnit::Ms => (1000, 1),
        TimeUnit::S => (1, 1),
    };
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, rest) = s.split_at(digits);
    let value = num.bytes().fold(0u64, |v, b| {
        v.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
    });
    let (mut imult, mut idiv): (u64, u64) = (1, 1);
    let b = rest.as_bytes();
    let len = match b.first() {
        None => {
            omult = 1;
            odiv = 1;
            0
        }
        Some(b's') => 1,
        Some(b'u') if b.get(1) == Some(&b's') => {
            idiv = 1_000_000;
            2
        }
        Some(b'm') if b.get(1) == Some(&b's') => {
            idiv = 1000;
            2
        }
        Some(b'm') => {
            imult = 60;
            1
        }
        Some(b'h') => {
            imult = 3600;
            1
        }
        Some(b'd') => {
            imult = 86400;
            1
        }
        Some(_) => {
            return Err(TimeError::UnexpectedChar(
                rest.chars().next().unwrap_or(' '),
            ))
        }
    };
    let trailing = rest.get(len..).and_then(|r| r.chars().next());
    // HAProxy simplifies the factors pairwise, in this order.
    let reduce = |a: &mut u64, b: &mut u64| {
        if *a % *b == 0 {
            *a /= *b;
            *b = 1;
        }
    };
    reduce(&mut omult, &mut idiv);
    reduce(&mut idiv, &mut omult);
    reduce(&mut imult, &mut odiv);
    reduce(&mut odiv, &mut imult);
    let div = idiv * odiv;
    let result = value.wrapping_mul(imult * omult).wrapping_add(div - 1) / div;
    if result >= 0x8000_0000 {
        return Err(TimeError::Overflow);
    }
    if result == 0 && value != 0 {
        return Err(TimeError::Underflow);
    }
    // Below 2^31: fits.
    Ok((result as u32, trailing))
}

/// A time's digits (saturating), its unit in microseconds (None: no unit, the
/// caller's default) and the first character after the unit.
fn split_time(s: &str) -> Result<(u64, Option<u64>, Option<char>), TimeError> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(TimeError::UnexpectedChar(s.chars().next().unwrap_or(' ')));
    }
    let (num, unit) = s.split_at(digits);
    let mut value: u64 = 0;
    for b in num.bytes() {
        value = value.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    let (unit_us, len): (Option<u64>, usize) = if unit.is_empty() {
        (None, 0)
    } else if unit.starts_with("us") {
        (Some(1), 2)
    } else if unit.starts_with("ms") {
        (Some(1000), 2)
    } else {
        match unit.as_bytes().first() {
            Some(b's') => (Some(1_000_000), 1),
            Some(b'm') => (Some(60_000_000), 1),
            Some(b'h') => (Some(3_600_000_000), 1),
            Some(b'd') => (Some(86_400_000_000), 1),
            _ => {
                return Err(TimeError::UnexpectedChar(
                    unit.chars().next().unwrap_or(' '),
                ))
            }
        }
    };
    Ok((
        value,
        unit_us,
        unit.get(len..).and_then(|r| r.chars().next()),
    ))
}

/// Parse a size: digits then an optional `k`, `m` or `g` (case-insensitive), as
/// HAProxy's `parse_size_err()`.
pub fn parse_size(s: &str) -> Result<u64, char> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(s.chars().next().unwrap_or(' '));
    }
    let (num, unit) = s.split_at(digits);
    let value: u64 = num.parse().map_err(|_| '9')?;
    let mul: u64 = match unit {
        "" => 1,
        "k" | "K" => 1024,
        "m" | "M" => 1024 * 1024,
        "g" | "G" => 1024 * 1024 * 1024,
        other => return Err(other.chars().next().unwrap_or(' ')),
    };
    value.checked_mul(mul).ok_or('9')
}

/// C's `atol()`: leading white space, optional sign, then digits; anything else ends
/// the number (and yields 0 if nothing was read). Many HAProxy keywords use it, so
/// `retries x` is accepted as 0: we report such values as warnings, not errors.
/// Out of range, glibc's: `i64::MAX` above, `i64::MIN` below (the negative side is
/// accumulated as such, so `-9223372036854775808` is exact).
pub fn atol(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        let d = i64::from(b - b'0');
        v = v.saturating_mul(10);
        v = if neg {
            v.saturating_sub(d)
        } else {
            v.saturating_add(d)
        };
    }
    v
}

/// Whether a string is a complete decimal integer.
pub fn is_integer(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

/// The socket family an address names, from its prefix or its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// Empty host or `*`: every address (IPv4 `0.0.0.0`, or `::` with `ipv6@`).
    Any,
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    /// A name to resolve (servers at start-up; `bind`/`log` at parse time).
    Name(String),
    /// A UNIX socket path (`/path`, `unix@path`, `uxst@`, `uxdg@`).
    Unix(String),
    /// A Linux abstract namespace socket (`abns@name`).
    Abns(String),
    /// An inherited file descriptor (`fd@N` or `fd@${NAME}` expanded).
    Fd(String),
    /// A socketpair end (`sockpair@N`).
    SockPair(String),
}

/// The port part of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSpec {
    /// No port given (servers: use the client's destination port).
    None,
    Single(u16),
    /// `low-high` (bind only).
    Range(u16, u16),
    /// `+N` / `-N` relative to the client's destination port (servers only).
    Offset(i32),
}

/// A parsed address, as HAProxy's `str2sa_range()` understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// A protocol prefix as written (`ipv4`, `ipv6`, `unix`, `abns`, `fd`, `udp`, `quic4`,
    /// `tcp`, `mptcp`...), without the `@`.
    pub prefix: Option<String>,
    pub host: Host,
    pub port: PortSpec,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.prefix {
            write!(f, "{p}@")?;
        }
        match &self.host {
            Host::Any => {}
            Host::V4(a) => write!(f, "{a}")?,
            Host::V6(a) => write!(f, "[{a}]")?,
            Host::Name(n) | Host::Unix(n) | Host::Abns(n) | Host::Fd(n) | Host::SockPair(n) => {
                write!(f, "{n}")?
            }
        }
        match self.port {
            PortSpec::None => Ok(()),
            PortSpec::Single(p) => write!(f, ":{p}"),
            PortSpec::Range(a, b) => write!(f, ":{a}-{b}"),
            PortSpec::Offset(o) => write!(f, ":{o:+}"),
        }
    }
}

/// What an address is used for: the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrUse {
    /// `bind`: a port (or range) is required for IP addresses.
    Bind,
    /// `server`: no port range; `+N`/`-N` allowed; no port allowed.
    Server,
    /// `log` targets, `stats socket`, `nameserver`, `peer`: one port, optional for log.
    Other,
}

/// Why an address is not valid, worded as HAProxy words it (after `'<kw>' : `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// The expanded address is empty: `'${X}' resolves to an empty address`.
    Empty,
    MissingPort,
    InvalidPort(String),
    /// A port that does not start with a digit (HAProxy's `str2sa_range`: "invalid
    /// character 'x' in port number ...").
    InvalidPortChar(String),
    InvalidPortRange(String),
    PortRangeNotPermitted,
    /// A protocol HAProxy knows but the reference build lacks (QUIC).
    Unsupported(String),
    /// `invalid address: 'host' in 'raw'`.
    Invalid(String),
}

impl AddrError {
    /// HAProxy's wording, given the raw address text.
    pub fn haproxy_text(&self, raw: &str) -> String {
        match self {
            AddrError::Empty => {
                format!("'{raw}' resolves to an empty address (environment variable missing?)\n")
            }
            AddrError::MissingPort => format!("missing port specification in '{raw}'"),
            AddrError::InvalidPort(p) => format!("invalid port '{p}'"),
            AddrError::InvalidPortChar(p) => {
                let c = p.chars().next().unwrap_or(' ');
                format!("invalid character '{c}' in port number '{p}' in '{raw}'\n")
            }
            AddrError::InvalidPortRange(p) => format!("invalid port range '{p}'"),
            AddrError::PortRangeNotPermitted => format!("port range not permitted here in '{raw}'"),
            AddrError::Unsupported(m) => m.clone(),
            AddrError::Invalid(h) => format!("invalid address: '{h}' in '{raw}'"),
        }
    }
}

/// HAProxy's `str2sa_range()` refusal of `raw` as a single address (`dispatch`,
/// `source`, server `addr`): no port range, no port offset, a port when
/// `port_needed` (not for UNIX sockets), a host name `resolves` knows. The
/// port is looked at before the host, as HAProxy does.
pub fn single_address_error(
    raw: &str,
    port_needed: bool,
    resolves: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let a = match parse_address(raw, AddrUse::Server) {
        Ok(a) => a,
        Err(e) => return Some(e.haproxy_text(raw)),
    };
    let ip_like = matches!(
        a.host,
        Host::Any | Host::V4(_) | Host::V6(_) | Host::Name(_)
    );
    match a.port {
        PortSpec::Offset(_) => return Some(format!("port offset not permitted here in '{raw}'")),
        PortSpec::None if port_needed && ip_like => {
            return Some(format!("missing port specification in '{raw}'"))
        }
        _ => {}
    }
    match &a.host {
        Host::Name(n) if !resolves(n) => Some(format!("invalid address: '{n}' in '{raw}'")),
        _ => None,
    }
}

/// HAProxy's `env_expand()`: `$NAME` and `${NAME}` anywhere in an address.
pub fn expand_env(raw: &str, env: &dyn crate::lexer::Env) -> String {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let brace = b.get(i + 1) == Some(&b'{');
            let start = if brace { i + 2 } else { i + 1 };
            let len = b[start.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            let end = start + len;
            let closed = !brace || b.get(end) == Some(&b'}');
            if len > 0 && closed {
                out.push_str(&env.var(&raw[start..end]).unwrap_or_default());
                i = if brace { end + 1 } else { end };
                continue;
            }
        }
        let ch_len = raw[i..].chars().next().map(char::len_utf8).unwrap_or(1);
        out.push_str(&raw[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn parse_port(p: &str) -> Result<u16, AddrError> {
    match p.parse::<u32>() {
        Ok(v) if v <= 65535 && p.bytes().all(|c| c.is_ascii_digit()) => Ok(v as u16),
        _ => Err(AddrError::InvalidPort(p.to_string())),
    }
}

/// Parse an address (after environment expansion).
pub fn parse_address(s: &str, usage: AddrUse) -> Result<Address, AddrError> {
    if s.is_empty() {
        return Err(AddrError::Empty);
    }
    let (prefix, rest) = match s.find('@') {
        Some(i)
            if s[..i]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
                && i > 0 =>
        {
            (Some(s[..i].to_string()), &s[i + 1..])
        }
        _ => (None, s),
    };
    match prefix.as_deref() {
        Some("unix" | "uxst" | "uxdg") => {
            return Ok(Address {
                prefix,
                host: Host::Unix(rest.to_string()),
                port: PortSpec::None,
            })
        }
        Some("abns" | "abnsz") => {
            return Ok(Address {
                prefix,
                host: Host::Abns(rest.to_string()),
                port: PortSpec::None,
            })
        }
        Some("fd") => {
            return Ok(Address {
                prefix,
                host: Host::Fd(rest.to_string()),
                port: PortSpec::None,
            })
        }
        Some("sockpair") => {
            return Ok(Address {
                prefix,
                host: Host::SockPair(rest.to_string()),
                port: PortSpec::None,
            })
        }
        Some(
            "ipv4" | "ipv6" | "udp" | "udp4" | "udp6" | "tcp" | "tcp4" | "tcp6" | "stream"
            | "dgram" | "quic4" | "quic6" | "mptcp" | "mptcp4" | "mptcp6",
        )
        | None => {}
        // Not a prefix HAProxy 2.6 knows: part of the host, which ends at the
        // last colon (str2sa_range).
        Some(_) => {
            let host = s.rfind(':').map_or(s, |i| &s[..i]);
            return Err(AddrError::Invalid(host.to_string()));
        }
    }
    if prefix.is_none() && rest.starts_with('/') {
        return Ok(Address {
            prefix,
            host: Host::Unix(rest.to_string()),
            port: PortSpec::None,
        });
    }
    // Split host and port: `[v6]:port`, or the last colon.
    let (host_str, port_str) = if let Some(inner) = rest.strip_prefix('[') {
        match inner.find(']') {
            Some(i) => {
                let after = &inner[i + 1..];
                let port = after.strip_prefix(':');
                if !after.is_empty() && port.is_none() {
                    // HAProxy finds no port before it looks at the host.
                    return Err(if usage == AddrUse::Bind {
                        AddrError::MissingPort
                    } else {
                        AddrError::Invalid(rest.to_string())
                    });
                }
                (&inner[..i], port)
            }
            None => return Err(AddrError::Invalid(rest.to_string())),
        }
    } else {
        match rest.rfind(':') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        }
    };
    // A mandatory port that is not there is reported before the host is read
    // (str2sa_range: `missing port specification` for `bind foo/bar`).
    if usage == AddrUse::Bind && port_str.is_none() && !host_str.contains(':') {
        return Err(AddrError::MissingPort);
    }
    let host = if host_str.is_empty() || host_str == "*" {
        Host::Any
    } else if let Ok(a) = host_str.parse::<Ipv4Addr>() {
        Host::V4(a)
    } else if let Ok(a) = host_str.parse::<Ipv6Addr>() {
        Host::V6(a)
    } else if host_str.contains(':') {
        // `::1:80` style: everything was an IPv6 address and there is no port.
        if let Ok(a) = rest.parse::<Ipv6Addr>() {
            return finish(prefix, Host::V6(a), None, usage);
        }
        return Err(AddrError::Invalid(host_str.to_string()));
    } else if host_str
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
    {
        Host::Name(host_str.to_string())
    } else {
        return Err(AddrError::Invalid(host_str.to_string()));
    };
    finish(prefix, host, port_str, usage)
}

fn finish(
    prefix: Option<String>,
    host: Host,
    port: Option<&str>,
    usage: AddrUse,
) -> Result<Address, AddrError> {
    let port = match port {
        None | Some("") => {
            if usage == AddrUse::Bind {
                return Err(AddrError::MissingPort);
            }
            PortSpec::None
        }
        Some(p) if p.starts_with('+') || (p.starts_with('-') && usage == AddrUse::Server) => {
            if usage != AddrUse::Server {
                return Err(AddrError::InvalidPort(p.to_string()));
            }
            let v: i32 = p
                .parse()
                .map_err(|_| AddrError::InvalidPort(p.to_string()))?;
            PortSpec::Offset(v)
        }
        Some(p) => match p.split_once('-') {
            Some((a, b)) => {
                if usage != AddrUse::Bind {
                    return Err(AddrError::PortRangeNotPermitted);
                }
                let lo = parse_port(a).map_err(|_| AddrError::InvalidPortRange(p.to_string()))?;
                let hi = parse_port(b).map_err(|_| AddrError::InvalidPortRange(p.to_string()))?;
                if lo == 0 || hi < lo {
                    return Err(AddrError::InvalidPortRange(p.to_string()));
                }
                PortSpec::Range(lo, hi)
            }
            None => {
                if !p.starts_with(|c: char| c.is_ascii_digit()) {
                    return Err(AddrError::InvalidPortChar(p.to_string()));
                }
                let v = parse_port(p)?;
                if usage == AddrUse::Bind && v == 0 {
                    return Err(AddrError::InvalidPort(p.to_string()));
                }
                PortSpec::Single(v)
            }
        },
    };
    Ok(Address { prefix, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("5s", 1), Ok(Millis(5000)));
        assert_eq!(parse_time("100", 1), Ok(Millis(100)));
        assert_eq!(parse_time("100", 1000), Ok(Millis(100_000)));
        assert_eq!(parse_time("3m", 1), Ok(Millis(180_000)));
        assert_eq!(parse_time("1h", 1), Ok(Millis(3_600_000)));
        assert_eq!(parse_time("1d", 1), Ok(Millis(86_400_000)));
        assert_eq!(parse_time("1500us", 1), Ok(Millis(2)));
        assert_eq!(parse_time("1us", 1), Ok(Millis(1)));
        assert_eq!(
            parse_time_lenient("15min", 1),
            Ok((Millis(900_000), Some('i')))
        );
        assert_eq!(parse_time("0", 1), Ok(Millis(0)));
        assert_eq!(parse_time("10x", 1), Err(TimeError::UnexpectedChar('x')));
        assert_eq!(
            parse_time_lenient("10mx", 1),
            Ok((Millis(600_000), Some('x')))
        );
        assert_eq!(parse_time("x", 1), Err(TimeError::UnexpectedChar('x')));
        assert_eq!(parse_time("", 1), Err(TimeError::Empty));
        assert_eq!(parse_time("99999999999", 1), Err(TimeError::Overflow));
        assert_eq!(parse_time("25d", 1), Err(TimeError::Overflow));
        assert_eq!(parse_time("18446744073709551616", 1), Ok(Millis(0)));
        assert_eq!(parse_time("2s", 1000), Ok(Millis(2000)));
        assert_eq!(parse_time("1500ms", 1000), Ok(Millis(2000)));
        assert_eq!(parse_time("3", 60_000), Ok(Millis(180_000)));
        assert_eq!(parse_time_secs("2147483648"), Err(TimeError::Overflow));
    }

    #[test]
    fn times_computed_as_haproxy_does() {
        let ms = |s| parse_time_c(s, TimeUnit::Ms);
        let secs = |s| parse_time_c(s, TimeUnit::S);
        assert_eq!(ms("5s"), Ok((5000, None)));
        assert_eq!(ms("1500us"), Ok((2, None)));
        assert_eq!(ms("2147483647"), Ok((2_147_483_647, None)));
        assert_eq!(ms("2147483648"), Err(TimeError::Overflow));
        assert_eq!(ms("100us"), Ok((1, None)));
        assert_eq!(ms("0us"), Ok((0, None)));
        // 2^64 wraps to 0, as C's unsigned long long.
        assert_eq!(ms("18446744073709551616"), Ok((0, None)));
        assert_eq!(ms("18446744073709551617"), Ok((1, None)));
        assert_eq!(ms("10mx"), Ok((600_000, Some('x'))));
        assert_eq!(ms("1x"), Err(TimeError::UnexpectedChar('x')));
        assert_eq!(ms("-1"), Err(TimeError::UnexpectedChar('-')));
        assert_eq!(ms(""), Err(TimeError::Empty));
        assert_eq!(secs("2147483647"), Ok((2_147_483_647, None)));
        assert_eq!(secs("1500ms"), Ok((2, None)));
        assert_eq!(secs("100ms"), Ok((1, None)));
        assert_eq!(secs("2m"), Ok((120, None)));
        assert_eq!(secs("2147483647d"), Err(TimeError::Overflow));
    }

    #[test]
    fn sizes_and_integers() {
        assert_eq!(parse_size("16k"), Ok(16384));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("12"), Ok(12));
        assert_eq!(parse_size("1t"), Err('t'));
        assert_eq!(atol("12abc"), 12);
        assert_eq!(atol("x"), 0);
        assert_eq!(atol(" -3"), -3);
        assert!(is_integer("42") && !is_integer("4x") && !is_integer(""));
    }

    #[test]
    fn bind_addresses() {
        let a = parse_address(":80", AddrUse::Bind).expect("ok");
        assert_eq!((a.host, a.port), (Host::Any, PortSpec::Single(80)));
        let a = parse_address("*:5000-5010", AddrUse::Bind).expect("ok");
        assert_eq!(a.port, PortSpec::Range(5000, 5010));
        let a = parse_address("[::1]:80", AddrUse::Bind).expect("ok");
        assert_eq!(a.host, Host::V6(Ipv6Addr::LOCALHOST));
        let a = parse_address("ipv6@::1:81", AddrUse::Bind).expect("ok");
        assert_eq!(
            (a.host, a.port),
            (Host::V6(Ipv6Addr::LOCALHOST), PortSpec::Single(81))
        );
        let a = parse_address(":::80", AddrUse::Bind).expect("ok");
        assert_eq!(
            (a.host, a.port),
            (Host::V6(Ipv6Addr::UNSPECIFIED), PortSpec::Single(80))
        );
        assert_eq!(
            parse_address("unix@/tmp/x", AddrUse::Bind).map(|a| a.host),
            Ok(Host::Unix("/tmp/x".into()))
        );
        assert_eq!(
            parse_address("/tmp/y", AddrUse::Bind).map(|a| a.host),
            Ok(Host::Unix("/tmp/y".into()))
        );
        assert_eq!(
            parse_address("fd@3", AddrUse::Bind).map(|a| a.host),
            Ok(Host::Fd("3".into()))
        );
        assert_eq!(
            parse_address("abns@foo", AddrUse::Bind).map(|a| a.host),
            Ok(Host::Abns("foo".into()))
        );
        assert_eq!(
            parse_address("1.2.3.4", AddrUse::Bind),
            Err(AddrError::MissingPort)
        );
        assert_eq!(
            parse_address("1.2.3.4:99999", AddrUse::Bind),
            Err(AddrError::InvalidPort("99999".into()))
        );
        assert_eq!(
            parse_address(":80-70", AddrUse::Bind),
            Err(AddrError::InvalidPortRange("80-70".into()))
        );
        assert_eq!(
            parse_address("quic4@:443", AddrUse::Bind).map(|a| a.prefix),
            Ok(Some("quic4".into()))
        );
        assert_eq!(
            parse_address("mptcp@[::]:5000", AddrUse::Bind).map(|a| a.port),
            Ok(PortSpec::Single(5000))
        );
        assert!(matches!(
            parse_address("bogus@:1", AddrUse::Bind),
            Err(AddrError::Invalid(_))
        ));
        assert_eq!(
            parse_address("foo:80", AddrUse::Bind).map(|a| a.host),
            Ok(Host::Name("foo".into()))
        );
    }

    #[test]
    fn server_addresses() {
        let a = parse_address("10.0.0.1", AddrUse::Server).expect("ok");
        assert_eq!(a.port, PortSpec::None);
        let a = parse_address("db:+1", AddrUse::Server).expect("ok");
        assert_eq!(a.port, PortSpec::Offset(1));
        assert_eq!(
            parse_address("1.2.3.4:80-90", AddrUse::Server),
            Err(AddrError::PortRangeNotPermitted)
        );
        assert_eq!(parse_address("", AddrUse::Server), Err(AddrError::Empty));
        let a = parse_address(":5432", AddrUse::Server).expect("ok");
        assert_eq!((a.host, a.port), (Host::Any, PortSpec::Single(5432)));
    }

    #[test]
    fn env_expansion_in_addresses() {
        let env = |n: &str| (n == "H").then(|| "127.0.0.1".to_string());
        assert_eq!(expand_env("$H:80", &env), "127.0.0.1:80");
        assert_eq!(expand_env("${H}:${P}", &env), "127.0.0.1:");
        assert_eq!(expand_env("a$", &env), "a$");
        assert_eq!(expand_env("${H", &env), "${H");
    }
}
