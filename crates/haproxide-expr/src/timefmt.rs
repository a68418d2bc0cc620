//! The clock in samples (configuration.txt §7.3.2 `date`, §7.3.1 `http_date`):
//! what the cache's reg-tests and `Expires` rewriting configurations use.

use std::borrow::Cow;

use crate::args::Arg;
use crate::fetch::{Context, Fetched};
use crate::sample::Sample;

/// Microseconds since the epoch (the wall clock).
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The unit argument of `date` / `http_date`: (divisor from µs, multiplier to s).
fn unit(a: Option<&Arg>) -> Option<i64> {
    match a {
        None => Some(1_000_000),
        Some(Arg::Str(u)) => match u.as_str() {
            "" | "s" => Some(1_000_000),
            "ms" => Some(1_000),
            "us" => Some(1),
            _ => None,
        },
        Some(_) => None,
    }
}

fn offset(a: Option<&Arg>) -> i64 {
    match a {
        Some(Arg::Int(n)) => *n,
        _ => 0,
    }
}

/// `date([<offset>],[<unit>])`: the current date in `unit` (s, ms, us) since
/// the epoch, plus `offset` in that unit.
pub(crate) fn date<'c>(args: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    match unit(args.get(1)) {
        Some(div) => Fetched::value(Sample::Sint(
            (now_us() / div).wrapping_add(offset(args.first())),
        )),
        None => Fetched::none(),
    }
}

/// `http_date([<offset>],[<unit>])`: an integer date (seconds by default)
/// plus `offset` as an IMF-fixdate (`Tue, 15 Nov 1994 08:12:31 GMT`).
pub(crate) fn http_date<'a>(args: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let Sample::Sint(v) = s else { return None };
    let div = unit(args.get(1))?;
    let per_s = 1_000_000 / div;
    // The offset wraps, as HAProxy's `smp->data.u.sint += args[0].data.sint`: an
    // integer from the request plus the configured offset never overflows a panic.
    let secs = v
        .wrapping_add(offset(args.first()))
        .div_euclid(per_s.max(1));
    Some(Sample::Str(Cow::Owned(imf_fixdate(secs).into_bytes())))
}

/// Unix seconds as an IMF-fixdate.
pub fn imf_fixdate(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imf_fixdate_of_known_dates() {
        assert_eq!(imf_fixdate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(imf_fixdate(784_887_151), "Tue, 15 Nov 1994 08:12:31 GMT");
        assert_eq!(imf_fixdate(1_603_385_472), "Thu, 22 Oct 2020 16:51:12 GMT");
    }

    #[test]
    fn http_date_applies_offset_and_unit() {
        let s = http_date(&[Arg::Int(1)], Sample::Sint(0));
        assert_eq!(
            s.and_then(|s| s.bytes().map(|b| b.to_vec())),
            Some(b"Thu, 01 Jan 1970 00:00:01 GMT".to_vec())
        );
        let s = http_date(&[Arg::Int(0), Arg::Str("ms".into())], Sample::Sint(2500));
        assert_eq!(
            s.and_then(|s| s.bytes().map(|b| b.to_vec())),
            Some(b"Thu, 01 Jan 1970 00:00:02 GMT".to_vec())
        );
    }
}
