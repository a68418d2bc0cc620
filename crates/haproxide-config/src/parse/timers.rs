//! Keywords whose time HAProxy 2.6 reads with `parse_time_err()` and refuses
//! past 2^31-1 (or below 1 ms/s, or with a stray character), each with its
//! own texts: global `grace` and `close-spread-time` (configuration.txt §3.1,
//! proxy.c), `clitcpka-idle`/`-intvl` and `srvtcpka-idle`/`-intvl` (§4.2,
//! proxy.c, in seconds), `tcp-ut` on `bind` (§5.1) and `server` (§5.2) lines
//! (cfgparse-tcp.c); and `clitcpka-cnt`/`srvtcpka-cnt` (§4.2), a strtol()
//! number with nothing after it. Checks only: haproxide applies none of them.

use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;
use crate::value::{self, TimeError, TimeUnit};

/// How one keyword words its refusals, each with where HAProxy puts its
/// location; `{kw}` is the keyword, `{arg}` the time, `{c}` the unexpected
/// character.
pub(super) struct TimerTexts {
    pub unit: TimeUnit,
    /// Before every text (a bind or server line's context).
    pub context: String,
    /// After every text (server lines add a period).
    pub suffix: &'static str,
    pub missing: (HaproxyLoc, &'static str),
    pub bad_char: (HaproxyLoc, &'static str),
    pub over: (HaproxyLoc, &'static str),
    pub under: (HaproxyLoc, &'static str),
    /// The values the keyword takes once read (`tune.idletimer`: up to
    /// 65535 ms; `stats timeout`: not 0), and its refusal of others.
    pub range: Option<(u32, u32, HaproxyLoc, &'static str)>,
}

const OVER: &str =
    "timer overflow in argument '{arg}' to '{kw}' (maximum value is 2147483647 ms or ~24.8 days)";
const UNDER: &str =
    "timer underflow in argument '{arg}' to '{kw}' (minimum non-null value is 1 ms)";
const P: HaproxyLoc = HaproxyLoc::Parsing;
const TIGHT: HaproxyLoc = HaproxyLoc::ParsingTight;

/// The texts of the global and proxy keywords (proxy.c): `missing` differs.
pub(super) fn plain(unit: TimeUnit, missing: &'static str) -> TimerTexts {
    TimerTexts {
        unit,
        context: String::new(),
        suffix: "",
        missing: (P, missing),
        bad_char: (P, "unexpected character '{c}' in argument to <{kw}>.\n"),
        over: (P, OVER),
        under: (P, UNDER),
        range: None,
    }
}

/// `tcp-ut` (cfgparse-tcp.c), after the line's `context`.
pub(super) fn tcp_ut(context: String, suffix: &'static str, loc: HaproxyLoc) -> TimerTexts {
    TimerTexts {
        unit: TimeUnit::Ms,
        context,
        suffix,
        missing: (loc, "'{kw}' : missing TCP User Timeout value"),
        bad_char: (loc, "'{kw}' : expects a positive delay in milliseconds"),
        over: (loc, OVER),
        under: (loc, UNDER),
        range: None,
    }
}

/// The global keywords of cfgparse-global.c, cfgparse-ssl.c and hlua.c whose
/// time is checked with their own texts; None for another keyword.
pub(super) fn global(kw: &str) -> Option<TimerTexts> {
    let t = |unit, missing, bad_char, over, under| TimerTexts {
        unit,
        context: String::new(),
        suffix: "",
        missing,
        bad_char,
        over,
        under,
        range: None,
    };
    let lua_over = (P, "timer overflow in argument <{arg}> to <{kw}> (maximum value is 2147483647 ms or ~24.8 days)");
    let lua_under = (
        P,
        "timer underflow in argument <{arg}> to <{kw}> (minimum non-null value is 1 ms)",
    );
    let lua_bad = (P, "{kw}: invalid timeout");
    Some(match kw {
        "grace" | "close-spread-time" => plain(TimeUnit::Ms, "'{kw}' expects <time> as argument.\n"),
        "tune.idletimer" => TimerTexts {
            range: Some((0, 65535, P, "'{kw}' expects a timer value between 0 and 65535 ms.")),
            ..t(
                TimeUnit::Ms,
                (P, "'{kw}' expects a timer value between 0 and 65535 ms."),
                (TIGHT, "unexpected character '{c}' in argument to <{kw}>."),
                (TIGHT, "timer overflow in argument <{arg}> to <{kw}>, maximum value is 65535 ms."),
                (TIGHT, "timer underflow in argument <{arg}> to <{kw}>, minimum non-null value is 1 ms."),
            )
        },
        "max-spread-checks" => t(
            TimeUnit::Ms,
            (TIGHT, "'{kw}' expects an integer argument (0..50)."),
            (TIGHT, "unsupported character '{c}' in '{kw}' (wants an integer delay)."),
            (TIGHT, "timer overflow in argument <{arg}> to <{kw}>, maximum value is 2147483647 ms (~24.8 days)."),
            (TIGHT, "timer underflow in argument <{arg}> to <{kw}>, minimum non-null value is 1 ms."),
        ),
        "tune.ssl.lifetime" => t(
            TimeUnit::S,
            (P, "'{kw}' expects ssl sessions <lifetime> in seconds as argument."),
            (P, "unexpected character '{c}' in argument to <{kw}>."),
            (P, "timer overflow in argument '{arg}' to <{kw}> (maximum value is 2147483647 s or ~68 years)."),
            (P, "timer underflow in argument '{arg}' to <{kw}> (minimum non-null value is 1 s)."),
        ),
        // hlua.c `hlua_read_timeout`: an empty word is a bad character.
        "tune.lua.session-timeout" | "tune.lua.service-timeout" | "tune.lua.task-timeout" => {
            t(TimeUnit::Ms, lua_bad, lua_bad, lua_over, lua_under)
        }
        _ => return None,
    })
}

impl Parser<'_> {
    /// The time after the keyword at `i`, as HAProxy reads it; None after a
    /// refusal (reported with `t`'s texts).
    pub(super) fn c_timer(&mut self, line: &Line, i: usize, t: &TimerTexts) -> Option<u32> {
        let kw = line.arg(i);
        let arg = line.arg(i + 1);
        let owned = |(loc, text): (HaproxyLoc, &str)| (loc, text.to_string());
        let (at, ours, (loc, theirs)) = match value::parse_time_c(arg, t.unit) {
            Ok((v, _))
                if t.range
                    .is_some_and(|(lo, hi, _, _)| !(lo..=hi).contains(&v)) =>
            {
                let (lo, hi, loc, text) = t.range.unwrap_or((0, 0, P, ""));
                (
                    i + 1,
                    format!("`{kw}` takes {lo} to {hi}"),
                    owned((loc, text)),
                )
            }
            Ok((v, None)) => return Some(v),
            Ok((v, Some(c))) => {
                self.warn(
                    Code::InvalidArgument,
                    line.span(i + 1),
                    format!("unexpected character `{c}` after the time `{arg}`: HAProxy ignores it"),
                    HaproxyLoc::None,
                    format!("unexpected character '{c}' after the timer value '{arg}', only (us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. This will be reported as an error in next versions."),
                );
                return Some(v);
            }
            Err(TimeError::Empty) => (i, format!("`{kw}` needs a time"), owned(t.missing)),
            Err(TimeError::UnexpectedChar(c)) => (
                i + 1,
                format!("invalid time `{arg}` for `{kw}`"),
                (t.bad_char.0, t.bad_char.1.replace("{c}", &c.to_string())),
            ),
            Err(TimeError::Overflow) => (
                i + 1,
                format!("`{arg}` is too large for `{kw}` (at most 2^31-1)"),
                owned(t.over),
            ),
            Err(TimeError::Underflow) => (
                i + 1,
                format!("`{arg}` is below the unit of `{kw}`"),
                owned(t.under),
            ),
        };
        let theirs = format!(
            "{}{}{}",
            t.context,
            theirs.replace("{kw}", kw).replace("{arg}", arg),
            t.suffix
        );
        self.err(Code::InvalidArgument, line.span(at), ours, loc, theirs);
        None
    }

    /// `clitcpka-cnt`/`srvtcpka-cnt <count>` (proxy.c): strtol() in base 0 must
    /// read the whole word.
    pub(super) fn tcpka_cnt(&mut self, line: &Line, i: usize) {
        let (kw, arg) = (line.arg(i), line.arg(i + 1));
        let (at, ours, theirs) = if arg.is_empty() {
            (
                i,
                format!("`{kw}` needs a number"),
                format!("'{kw}' expects an integer value"),
            )
        } else {
            match strtol_rest(arg).chars().next() {
                None => return,
                Some(c) => (
                    i + 1,
                    format!("`{arg}` is not a whole number for `{kw}`"),
                    format!("'{kw}' : unexpected character '{c}' in integer value '{arg}'"),
                ),
            }
        };
        self.err(
            Code::InvalidArgument,
            line.span(at),
            ours,
            HaproxyLoc::Parsing,
            theirs,
        );
    }
}

/// What C's strtol(s, &end, 0) leaves after the number: white space and a
/// sign, then `0x` and hexadecimal digits, `0` and octal digits, or decimal
/// digits; with no digit at all, the whole string.
pub(super) fn strtol_rest(s: &str) -> &str {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .filter(|r| r.starts_with(|c: char| c.is_ascii_hexdigit()));
    let (body, digit): (&str, fn(&char) -> bool) = match hex {
        Some(r) => (r, char::is_ascii_hexdigit),
        None if t.starts_with('0') => (t, |c| ('0'..='7').contains(c)),
        None => (t, char::is_ascii_digit),
    };
    let n = body.chars().take_while(digit).count();
    if n == 0 {
        return s;
    }
    &body[n..]
}

#[cfg(test)]
mod tests {
    use super::strtol_rest;

    #[test]
    fn strtol_stops_where_c_does() {
        assert_eq!(strtol_rest("12"), "");
        assert_eq!(strtol_rest("-1"), "");
        assert_eq!(strtol_rest("2147483647d"), "d");
        assert_eq!(strtol_rest("0x1f"), "");
        assert_eq!(strtol_rest("0xg"), "xg");
        assert_eq!(strtol_rest("08"), "8");
        assert_eq!(strtol_rest("x"), "x");
        assert_eq!(strtol_rest("-"), "-");
        assert_eq!(strtol_rest("18446744073709551616"), "");
    }
}
