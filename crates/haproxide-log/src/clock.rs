//! Calendar arithmetic for log timestamps, std-only except for the local
//! UTC offset, which comes from the C library's `localtime_r` exactly as
//! HAProxy gets it (so `TZ` is honoured the same way).
//!
//! HAProxy prints local time in the syslog headers (configuration.txt §3.1
//! `log`, formats `rfc3164`, `rfc5424`, `timed`, `iso`) and in `%t`/`%Tl`
//! (§8.2.6); `%T` is GMT.

use std::time::{SystemTime, UNIX_EPOCH};

/// Which offset from UTC timestamps are printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// The process's local time zone (`TZ`, `/etc/localtime`), as HAProxy.
    #[default]
    Local,
    /// UTC.
    Utc,
    /// A fixed offset east of UTC, in seconds (tests).
    Fixed(i32),
}

/// A broken-down time: calendar fields in some zone plus that zone's offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tm {
    /// Unix seconds (UTC).
    pub unix: i64,
    /// Microseconds within the second.
    pub micros: u32,
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month 1..=12.
    pub month: u32,
    /// Day of month 1..=31.
    pub day: u32,
    /// Hour 0..=23.
    pub hour: u32,
    /// Minute 0..=59.
    pub min: u32,
    /// Second 0..=59.
    pub sec: u32,
    /// Offset east of UTC, seconds.
    pub offset: i32,
}

/// Three-letter English month names, as HAProxy prints them.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31) in the proleptic
/// Gregorian calendar (H. Hinnant's "civil_from_days").
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Splits a `SystemTime` into Unix seconds and microseconds (times before
/// 1970 count backwards correctly).
pub fn unix_parts(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_micros()),
        Err(e) => {
            let d = e.duration();
            let mut secs = -(d.as_secs() as i64);
            let mut micros = d.subsec_micros();
            if micros > 0 {
                secs -= 1;
                micros = 1_000_000 - micros;
            }
            (secs, micros)
        }
    }
}

pub use crate::sys::local_offset;

/// A text that depends only on a [`Tm`]'s second and offset (Unix seconds,
/// offset, the text), kept per thread: log lines of the same second print the
/// same date, which is then one copy instead of a dozen number conversions.
type SecondText = std::cell::RefCell<(i64, i32, Vec<u8>)>;

/// Appends `tm`'s text from `cell`, rendering it with `render` (and keeping
/// it) when the cell holds another second's.
fn push_per_second(
    cell: &'static std::thread::LocalKey<SecondText>,
    tm: &Tm,
    out: &mut Vec<u8>,
    render: fn(&Tm, &mut Vec<u8>),
) {
    let hit = cell.with(|c| match c.try_borrow() {
        Ok(c) if c.0 == tm.unix && c.1 == tm.offset => {
            out.extend_from_slice(&c.2);
            true
        }
        _ => false,
    });
    if hit {
        return;
    }
    let start = out.len();
    render(tm, out);
    let text = out.get(start..).unwrap_or_default();
    cell.with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            c.0 = tm.unix;
            c.1 = tm.offset;
            c.2.clear();
            c.2.extend_from_slice(text);
        }
    });
}

impl Tm {
    /// Breaks `t` down in `zone`.
    pub fn new(t: SystemTime, zone: Zone) -> Tm {
        let (unix, micros) = unix_parts(t);
        let offset = match zone {
            Zone::Utc => 0,
            Zone::Fixed(o) => o,
            Zone::Local => local_offset(unix),
        };
        // The calendar fields change once a second: one computation per second
        // and thread (a log line asks twice, the syslog header and `%t`).
        thread_local! {
            static LAST: std::cell::Cell<Option<Tm>> = const { std::cell::Cell::new(None) };
        }
        if let Some(tm) = LAST.with(|c| c.get()) {
            if tm.unix == unix && tm.offset == offset {
                return Tm { micros, ..tm };
            }
        }
        let tm = Tm::compute(unix, micros, offset);
        LAST.with(|c| c.set(Some(tm)));
        tm
    }

    fn compute(unix: i64, micros: u32, offset: i32) -> Tm {
        let local = unix + i64::from(offset);
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Tm {
            unix,
            micros,
            year,
            month,
            day,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
            offset,
        }
    }

    /// "Nov"
    pub fn month_name(&self) -> &'static str {
        MONTHS[(self.month.clamp(1, 12) - 1) as usize]
    }

    /// Offset as `+HH:MM` (`sep` = ":") or `+HHMM` (`sep` = "").
    pub fn offset_str(&self, sep: &str) -> String {
        let sign = if self.offset < 0 { '-' } else { '+' };
        let a = self.offset.unsigned_abs();
        format!("{sign}{:02}{sep}{:02}", a / 3600, a / 60 % 60)
    }

    /// RFC 3164 timestamp: `Nov 26 10:00:00`, day padded with a space
    /// (`Feb  6 12:12:09`, configuration.txt §8.2.1 example).
    pub fn rfc3164(&self) -> String {
        format!(
            "{} {:2} {:02}:{:02}:{:02}",
            self.month_name(),
            self.day,
            self.hour,
            self.min,
            self.sec
        )
    }

    /// ISO 8601 / RFC 5424 timestamp with microseconds:
    /// `2026-11-26T10:00:00.123456+00:00`.
    pub fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.min,
            self.sec,
            self.micros,
            self.offset_str(":")
        )
    }

    /// `26/Nov/2026:10:00:00`, the common part of `%t` and `%T`.
    fn day_time(&self) -> String {
        format!(
            "{:02}/{}/{:04}:{:02}:{:02}:{:02}",
            self.day,
            self.month_name(),
            self.year,
            self.hour,
            self.min,
            self.sec
        )
    }

    /// `%t` accept date: `26/Nov/2026:10:00:00.123` (§8.2.2 "accept_date").
    pub fn accept_date(&self) -> String {
        let mut out = Vec::with_capacity(24);
        self.push_accept_date(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// [`Tm::accept_date`] appended to `out` (the log line's hot path: no
    /// temporary strings).
    pub fn push_accept_date(&self, out: &mut Vec<u8>) {
        thread_local! {
            static DAY_TIME: SecondText = const { SecondText::new((i64::MIN, 0, Vec::new())) };
        }
        push_per_second(&DAY_TIME, self, out, Tm::push_day_time);
        out.push(b'.');
        haproxide_expr::logfmt::push_dec_padded(out, u64::from(self.micros / 1000), 3);
    }

    /// `26/Nov/2026:10:00:00` appended to `out`.
    fn push_day_time(&self, out: &mut Vec<u8>) {
        use haproxide_expr::logfmt::push_dec_padded as pad;
        pad(out, u64::from(self.day), 2);
        out.push(b'/');
        out.extend_from_slice(self.month_name().as_bytes());
        out.push(b'/');
        if self.year < 0 {
            out.push(b'-');
            pad(out, self.year.unsigned_abs(), 3);
        } else {
            pad(out, self.year.unsigned_abs(), 4);
        }
        for (sep, n) in [(b':', self.hour), (b':', self.min), (b':', self.sec)] {
            out.push(sep);
            pad(out, u64::from(n), 2);
        }
    }

    /// [`Tm::rfc3164`] appended to `out`.
    pub fn push_rfc3164(&self, out: &mut Vec<u8>) {
        thread_local! {
            static RFC3164: SecondText = const { SecondText::new((i64::MIN, 0, Vec::new())) };
        }
        push_per_second(&RFC3164, self, out, Tm::push_rfc3164_now);
    }

    fn push_rfc3164_now(&self, out: &mut Vec<u8>) {
        use haproxide_expr::logfmt::{push_dec, push_dec_padded as pad};
        out.extend_from_slice(self.month_name().as_bytes());
        out.push(b' ');
        if self.day < 10 {
            out.push(b' ');
        }
        push_dec(out, u64::from(self.day));
        out.push(b' ');
        pad(out, u64::from(self.hour), 2);
        out.push(b':');
        pad(out, u64::from(self.min), 2);
        out.push(b':');
        pad(out, u64::from(self.sec), 2);
    }

    /// `26/Nov/2026:10:00:00.123456`: the date `show sess <id>` prints.
    pub fn accept_date_us(&self) -> String {
        format!("{}.{:06}", self.day_time(), self.micros)
    }

    /// `%T` / `%Tl`: `26/Nov/2026:10:00:00 +0000` (§8.2.6).
    pub fn clf_date(&self) -> String {
        format!("{} {}", self.day_time(), self.offset_str(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_783), (2026, 11, 26));
    }

    #[test]
    fn formats() {
        // 2026-11-26T10:00:00.123456Z
        let t = UNIX_EPOCH + Duration::from_micros(1_795_687_200_123_456);
        let tm = Tm::new(t, Zone::Utc);
        assert_eq!(tm.rfc3164(), "Nov 26 10:00:00");
        assert_eq!(tm.iso(), "2026-11-26T10:00:00.123456+00:00");
        assert_eq!(tm.accept_date(), "26/Nov/2026:10:00:00.123");
        assert_eq!(tm.clf_date(), "26/Nov/2026:10:00:00 +0000");
        let tm = Tm::new(t, Zone::Fixed(-12_600));
        assert_eq!(tm.iso(), "2026-11-26T06:30:00.123456-03:30");
        assert_eq!(tm.clf_date(), "26/Nov/2026:06:30:00 -0330");
        let early = UNIX_EPOCH + Duration::from_secs(1_770_379_929); // 2026-02-06
        assert_eq!(Tm::new(early, Zone::Utc).rfc3164(), "Feb  6 12:12:09");
    }

    /// The log line's hot-path writers print what the formatting machinery
    /// prints, across days, hours and milliseconds of every width.
    #[test]
    fn pushed_dates_match_formatted() {
        for k in 0..2_000u64 {
            let us = 1_770_379_929_000_000 + k * 3_700_001_237;
            let tm = Tm::new(UNIX_EPOCH + Duration::from_micros(us), Zone::Utc);
            let mut a = Vec::new();
            tm.push_rfc3164(&mut a);
            assert_eq!(String::from_utf8(a).unwrap(), tm.rfc3164());
            let mut d = Vec::new();
            tm.push_accept_date(&mut d);
            let want = format!(
                "{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}",
                tm.day,
                tm.month_name(),
                tm.year,
                tm.hour,
                tm.min,
                tm.sec,
                tm.micros / 1000
            );
            assert_eq!(String::from_utf8(d).unwrap(), want);
        }
        let tm = Tm::new(UNIX_EPOCH + Duration::from_micros(5_000), Zone::Utc);
        assert_eq!(tm.accept_date(), "01/Jan/1970:00:00:00.005");
    }

    /// The texts kept per second follow the second and the zone, not the
    /// microseconds (a hit, a new second, another zone in the same second).
    #[test]
    fn per_second_texts_follow_second_and_zone() {
        let base = 1_795_687_200_123_456u64; // 2026-11-26T10:00:00.123456Z
        let cases = [
            (0, Zone::Utc, "26/Nov/2026:10:00:00.123", "Nov 26 10:00:00"),
            (
                800_000,
                Zone::Utc,
                "26/Nov/2026:10:00:00.923",
                "Nov 26 10:00:00",
            ),
            (
                1_000_000,
                Zone::Utc,
                "26/Nov/2026:10:00:01.123",
                "Nov 26 10:00:01",
            ),
            (
                1_000_000,
                Zone::Fixed(-12_600),
                "26/Nov/2026:06:30:01.123",
                "Nov 26 06:30:01",
            ),
            (
                1_000_000,
                Zone::Utc,
                "26/Nov/2026:10:00:01.123",
                "Nov 26 10:00:01",
            ),
            (0, Zone::Utc, "26/Nov/2026:10:00:00.123", "Nov 26 10:00:00"),
        ];
        for (plus, zone, date, rfc) in cases {
            let tm = Tm::new(UNIX_EPOCH + Duration::from_micros(base + plus), zone);
            assert_eq!(tm.accept_date(), date);
            let mut a = b"x".to_vec();
            tm.push_rfc3164(&mut a);
            assert_eq!(a, format!("x{rfc}").as_bytes());
            assert_eq!(tm, Tm::compute(tm.unix, tm.micros, tm.offset));
        }
    }

    #[test]
    fn before_epoch() {
        let t = UNIX_EPOCH - Duration::from_millis(1500);
        let tm = Tm::new(t, Zone::Utc);
        assert_eq!((tm.year, tm.month, tm.day), (1969, 12, 31));
        assert_eq!((tm.hour, tm.min, tm.sec, tm.micros), (23, 59, 58, 500_000));
    }
}
