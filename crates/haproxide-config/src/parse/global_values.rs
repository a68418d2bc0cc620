//! Global numbers HAProxy 2.6 checks with its own reading, refused with its
//! texts (configuration.txt §3.1, §3.2): `nbthread` (thread.c: strtol() of
//! the whole word, 1 to `MAX_THREADS`), `tune.maxaccept` (cfgparse-global.c:
//! atol() up to INT_MAX), `stats maxconn` and `stats timeout` (cli.c),
//! `tune.vars.*-max-size` (vars.c: strtol() of the whole word, base 10),
//! `thread-groups` and `thread-group` (thread.c: one group in 2.6),
//! `unix-bind` (its options and account names).

use super::timers::TimerTexts;
use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;
use crate::value::{self, TimeUnit};

/// Debian's 2.6.12 build: 64 threads, one thread group (later versions: 32).
const MAX_THREADS: i64 = 64;
const MAX_TGROUPS: i64 = 1;
const LATEST_MAX_TGROUPS: i64 = 32;

/// strtol(s, &end, 10): the value (saturated as glibc's) and what follows the
/// number (all of `s` when there is no digit).
fn strtol(s: &str) -> (i64, &str) {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let n = body.bytes().take_while(u8::is_ascii_digit).count();
    match n {
        0 => (0, s),
        _ => (value::atol(t), &body[n..]),
    }
}

/// thread.c `cfg_parse_thread_groups`/`cfg_parse_thread_group` (§3.1
/// `thread-groups`, `thread-group`): a whole number of groups or a group
/// number in range, then thread numbers or ranges (`<n>[-<m>]`) up to
/// `MAX_THREADS`. Which threads a group gets is not checked here.
fn thread_group_refusal(words: &[&str], latest: bool) -> Option<String> {
    let (kw, arg) = (words.first().copied()?, words.get(1).copied().unwrap_or(""));
    let max = if latest {
        LATEST_MAX_TGROUPS
    } else {
        MAX_TGROUPS
    };
    let (n, rest) = strtol(arg);
    if arg.is_empty() || !rest.is_empty() {
        return Some(format!(
            "'{kw}' passed a missing or unparsable integer value in '{arg}'"
        ));
    }
    if kw == "thread-groups" {
        return (!(1..=max).contains(&n))
            .then(|| format!("'{kw}' value must be between 1 and {max} (was {n})"));
    }
    if !(1..=max).contains(&n) {
        return Some(format!(
            "'{kw}' thread-group number must be between 1 and {max} (was {n})"
        ));
    }
    words[2..].iter().take_while(|w| !w.is_empty()).find_map(|w| {
        let (first, rest) = strtol(w);
        let (last, rest) = match rest.strip_prefix('-') {
            Some(r) => strtol(r),
            None => (first, rest),
        };
        let bad = |t: i64| !(1..=MAX_THREADS).contains(&t);
        (!rest.is_empty() || bad(first) || bad(last)).then(|| {
            format!(
                "'{kw} {n}' passed an unparsable or invalid thread number '{w}' (valid range is 1 to {MAX_THREADS})"
            )
        })
    })
}

/// HAProxy's refusal of global `kw`'s argument `arg`, None when taken or
/// not one of these keywords; `latest`: as the latest HAProxy (no 64-thread
/// limit).
fn refusal(kw: &str, arg: &str, latest: bool) -> Option<String> {
    match kw {
        "nbthread" => {
            // strtol(arg, &end, 10): white space and a sign, then digits to the end.
            let t = arg.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
            let body = t.strip_prefix(['+', '-']).unwrap_or(t);
            let whole = !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit());
            if !whole {
                return Some(format!(
                    "'{kw}' passed a missing or unparsable integer value in '{arg}'"
                ));
            }
            let n = value::atol(t);
            (n < 1 || (!latest && n > MAX_THREADS))
                .then(|| format!("'{kw}' value must be between 1 and {MAX_THREADS} (was {n})"))
        }
        "tune.vars.global-max-size"
        | "tune.vars.proc-max-size"
        | "tune.vars.reqres-max-size"
        | "tune.vars.sess-max-size"
        | "tune.vars.txn-max-size" => (!super::lua::strtoll10(arg).1.is_empty())
            .then(|| format!("{kw}: '{arg}' is an invalid size")),
        "tune.maxaccept" if arg.is_empty() => Some(format!("'{kw}' expects an integer argument.")),
        "tune.maxaccept" => (value::atol(arg) > i64::from(i32::MAX))
            .then(|| format!("'{kw}' expects -1 or an integer from 0 to INT_MAX.")),
        _ => None,
    }
}

/// cfgparse-global.c's `unix-bind` (§3.1): its options, a path after `prefix`,
/// user and group names that exist (`accounts`: getpwnam()/getgrnam()). Not
/// checked: a `prefix` given twice (HAProxy's alert without an error).
fn unix_bind_refusal(words: &[&str], accounts: &dyn crate::Accounts) -> Option<String> {
    let mut i = 1;
    while let Some(&w) = words.get(i).filter(|w| !w.is_empty()) {
        let arg = words.get(i + 1).copied().unwrap_or("");
        match w {
            "prefix" if arg.is_empty() => {
                return Some(format!("unix_bind '{w}' expects a path as an argument."))
            }
            "user" if accounts.user_id(arg).is_none() => {
                return Some(format!("'unix-bind' : '{arg}' unknown user."))
            }
            "group" if accounts.group_id(arg).is_none() => {
                return Some(format!("'unix-bind' : '{arg}' unknown group."))
            }
            "prefix" | "mode" | "uid" | "gid" | "user" | "group" => i += 2,
            _ => {
                return Some(
                    "'unix-bind' only supports the 'prefix', 'mode', 'uid', 'gid', 'user' and 'group' options."
                        .to_string(),
                )
            }
        }
    }
    None
}

/// `stats timeout`'s texts (cli.c): a positive time.
fn stats_timeout() -> TimerTexts {
    const P: HaproxyLoc = HaproxyLoc::Parsing;
    TimerTexts {
        unit: TimeUnit::Ms,
        context: String::new(),
        suffix: "",
        missing: (P, "'stats {kw}' expects a positive value"),
        bad_char: (P, "'stats {kw}' : unexpected character '{c}'"),
        over: (P, "timer overflow in argument '{arg}' to 'stats {kw}' (maximum value is 2147483647 ms or ~24.8 days)"),
        under: (P, "timer underflow in argument '{arg}' to 'stats {kw}' (minimum non-null value is 1 ms)"),
        range: Some((1, u32::MAX, P, "'stats {kw}' expects a positive value")),
    }
}

impl Parser<'_> {
    /// Whether global `kw`'s argument is taken (a refusal is reported).
    pub(super) fn global_value_taken(&mut self, line: &Line, start: usize, kw: &str) -> bool {
        let arg = line.arg(start + 1);
        let latest = self.opts.table != crate::keywords::TableSet::V2_6;
        let refused = match kw {
            "thread-groups" | "thread-group" | "unix-bind" => {
                let words: Vec<&str> = line.words[start..]
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect();
                match kw {
                    "unix-bind" => unix_bind_refusal(&words, self.opts.accounts),
                    _ => thread_group_refusal(&words, latest),
                }
            }
            _ => refusal(kw, arg, latest),
        };
        let Some(hx) = refused else {
            return true;
        };
        self.err(
            Code::InvalidArgument,
            line.span(start + 1),
            format!("`{kw}` does not take `{arg}`"),
            HaproxyLoc::Parsing,
            hx,
        );
        false
    }

    /// `stats timeout <time>` (§3.1): the time, None after a refusal.
    pub(super) fn global_stats_timeout(&mut self, line: &Line, start: usize) -> Option<u32> {
        self.c_timer(line, start + 1, &stats_timeout())
    }

    /// `stats maxconn <n>` (§3.1): atol() into an `int`, positive.
    pub(super) fn global_stats_maxconn(&mut self, line: &Line, start: usize) -> Option<u32> {
        // Intended truncation: C's long-to-int conversion.
        let n = value::atol(line.arg(start + 2)) as i32;
        if n > 0 {
            return u32::try_from(n).ok();
        }
        self.err(
            Code::InvalidArgument,
            line.span(start + 2),
            "`stats maxconn` takes a positive number",
            HaproxyLoc::Parsing,
            "'stats maxconn' expects a positive value",
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{refusal, thread_group_refusal};

    #[test]
    fn numbers_are_read_as_haproxy_reads_them() {
        assert_eq!(refusal("nbthread", "64", false), None);
        assert_eq!(refusal("nbthread", " +2", false), None);
        assert!(refusal("nbthread", "65", false).is_some());
        assert!(refusal("nbthread", "2x", false).is_some());
        assert!(refusal("nbthread", "", false).is_some());
        assert_eq!(refusal("tune.maxaccept", "-5", false), None);
        assert_eq!(refusal("tune.vars.txn-max-size", "-1", false), None);
        assert!(refusal("tune.vars.txn-max-size", "1k", false).is_some());
        assert!(refusal("tune.maxaccept", "2147483648", false).is_some());
        let tg = |w: &[&str]| thread_group_refusal(w, false);
        assert_eq!(tg(&["thread-groups", "1"]), None);
        assert!(tg(&["thread-groups", "2"]).is_some());
        assert!(tg(&["thread-groups", "1x"]).is_some());
        assert_eq!(tg(&["thread-group", "1", "1-64", "3"]), None);
        assert!(tg(&["thread-group", "1", "0"]).is_some());
        assert!(tg(&["thread-group", "1", "2-65"]).is_some());
        assert_eq!(thread_group_refusal(&["thread-groups", "32"], true), None);
    }
}
