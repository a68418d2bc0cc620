//! `bind` options whose value HAProxy 2.6 checks while it reads the line
//! (configuration.txt §5.1), refused with its texts: `mss` (cfgparse-tcp.c),
//! `nice`, `shards` and `thread` (listener.c), `ca-ignore-err` and
//! `crt-ignore-err` (cfgparse-ssl.c), `user` and `group` (cfgparse-unix.c: the
//! names must exist). Checks only: what haproxide applies of them is read
//! elsewhere.

use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;
use crate::value;

/// HAProxy 2.6's thread limit as Debian builds it (`MAX_THREADS`, 64 bits of
/// a `long`), and its one thread group (`MAX_TGROUPS`).
const MAX_THREADS: i32 = 64;
const MAX_TGROUPS: i64 = 1;
/// The largest certificate verify error id `ca-ignore-err`/`crt-ignore-err`
/// take: 63 in 2.6.0, OpenSSL 3's `SSL_MAX_VFY_ERROR_CODE` (94) in the 2.6.12
/// the oracle runs (a later 2.6 backport).
const MAX_VFY_ERROR: i32 = 94;

/// C's atoi()/`int val = atol()`: the low 32 bits of what strtol() saturates to.
fn as_int(s: &str) -> i32 {
    // Intended truncation: C's long-to-int conversion.
    value::atol(s) as i32
}

/// HAProxy's refusal of the value of bind option `k`, after `'<k>' : ` unless
/// the text names the value first (`thread`); None when taken. `latest`: as
/// the latest HAProxy (32 thread groups, more threads, error names).
fn refusal(k: &str, arg: &str, latest: bool) -> Option<String> {
    let quoted = |t: String| Some(format!("'{k}' : {t}"));
    match k {
        "mss" if arg.is_empty() => quoted("missing MSS value".into()),
        "mss" => {
            let v = as_int(arg);
            // C's abs() of INT_MIN is INT_MIN: not above 65535.
            (v == 0 || v.wrapping_abs() > 65535)
                .then(|| {
                    format!("'{k}' : expects an MSS with and absolute value between 1 and 65535")
                })
        }
        "nice" | "shards" if arg.is_empty() => quoted("missing value".into()),
        "nice" => {
            let v = as_int(arg);
            (!(-1024..=1024).contains(&v))
                .then(|| format!("'{k}' : invalid value {v}, allowed range is -1024..1024"))
        }
        "shards" if arg == "by-thread" => None,
        "shards" => {
            let v = as_int(arg);
            (v < 1 || (!latest && v > MAX_THREADS)).then(|| {
                format!(
                    "'{k}' : invalid value {v}, allowed range is 1..{MAX_THREADS} or 'by-thread'"
                )
            })
        }
        "ca-ignore-err" | "crt-ignore-err" if arg.is_empty() => {
            quoted("missing error IDs list".into())
        }
        "ca-ignore-err" | "crt-ignore-err" if arg == "all" => None,
        "ca-ignore-err" | "crt-ignore-err" => arg.split(',').find_map(|id| {
            // Later versions also take X509_V_ERR_* names.
            if latest && !id.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            let code = as_int(id);
            (!(1..=MAX_VFY_ERROR).contains(&code)).then(|| {
                format!(
                    "'{k}' : ID '{code}' out of range (1..{MAX_VFY_ERROR}) in error IDs list '{arg}'"
                )
            })
        }),
        "thread" => thread_refusal(arg, if latest { 32 } else { MAX_TGROUPS }),
        _ => None,
    }
}

/// listener.c `bind_parse_thread`: an optional `<group>/` (strtol, base 10),
/// then a thread set read by `parse_process_number` up to `MAX_THREADS`.
fn thread_refusal(arg: &str, max_tgroups: i64) -> Option<String> {
    let digits = arg
        .trim_start_matches([' ', '\t'])
        .strip_prefix(['+', '-'])
        .unwrap_or(arg.trim_start_matches([' ', '\t']));
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    // strtol() leaves its end at the start when it read no digit.
    let rest = if n > 0 { &digits[n..] } else { arg };
    let set = match rest.strip_prefix('/') {
        Some(set) => {
            let group = if n > 0 { value::atol(arg) } else { 0 };
            if !(1..=max_tgroups).contains(&group) {
                return Some(format!(
                    "'{arg}' thread-group number must be between 1 and {max_tgroups} (was {group})"
                ));
            }
            set
        }
        None => arg,
    };
    super::bind::process_set_error(set, MAX_THREADS as u32)
        .map(|e| format!("'{set}' : {}", e.trim_end_matches('\n')))
}

impl Parser<'_> {
    /// Whether the value of the bind option at `i` is taken; a refusal is
    /// reported (HAProxy stops reading the line there).
    pub(super) fn bind_value_taken(
        &mut self,
        pi: usize,
        line: &Line,
        i: usize,
        addr_text: &str,
    ) -> bool {
        let (k, arg) = (line.arg(i), line.arg(i + 1));
        let latest = self.opts.table != crate::keywords::TableSet::V2_6;
        // UNIX socket owners (cfgparse-unix.c): getpwnam()/getgrnam() through
        // the caller's accounts.
        let accounts = self.opts.accounts;
        let unknown = match k {
            "user" | "group" if arg.is_empty() => Some(format!("'{k}' : missing {k} name")),
            "user" if accounts.user_id(arg).is_none() => {
                Some(format!("'{k}' : unknown user name '{arg}'"))
            }
            "group" if accounts.group_id(arg).is_none() => {
                Some(format!("'{k}' : unknown group name '{arg}'"))
            }
            _ => None,
        };
        let (code, theirs) = match unknown {
            Some(t) => (Code::UnknownUser, t),
            None => match refusal(k, arg, latest) {
                Some(t) => (Code::InvalidArgument, t),
                None => return true,
            },
        };
        let section = self.cfg.proxies[pi].kind.as_str();
        let at = if arg.is_empty() { i } else { i + 1 };
        self.err(
            code,
            line.span(at),
            format!("bind `{k}` does not take `{arg}`"),
            HaproxyLoc::Parsing,
            format!("'bind {addr_text}' in section '{section}' : {theirs}"),
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn values_are_read_as_c_reads_them() {
        assert_eq!(refusal("mss", "1460", false), None);
        assert_eq!(refusal("mss", "-1460", false), None);
        // 2^31 is INT_MIN, whose abs() stays negative: taken, as by HAProxy.
        assert_eq!(refusal("mss", "2147483648", false), None);
        assert!(refusal("mss", "65536", false).is_some());
        assert!(refusal("mss", "0", false).is_some());
        assert_eq!(refusal("nice", "4294967296", false), None);
        assert_eq!(
            refusal("nice", "2147483648", false).as_deref(),
            Some("'nice' : invalid value -2147483648, allowed range is -1024..1024")
        );
        assert_eq!(refusal("shards", "by-thread", false), None);
        assert!(refusal("shards", "65", false).is_some());
        assert_eq!(refusal("crt-ignore-err", "1,94", false), None);
        assert_eq!(
            refusal("ca-ignore-err", "1,95", false).as_deref(),
            Some("'ca-ignore-err' : ID '95' out of range (1..94) in error IDs list '1,95'")
        );
        assert_eq!(refusal("thread", "1-64", false), None);
        assert_eq!(refusal("thread", "1/all", false), None);
        assert_eq!(
            refusal("thread", "2/1", false).as_deref(),
            Some("'2/1' thread-group number must be between 1 and 1 (was 2)")
        );
        assert!(refusal("thread", "65", false).is_some());
        assert_eq!(refusal("thread", "2/1", true), None);
        assert_eq!(
            refusal("thread", "/1", false).as_deref(),
            Some("'/1' thread-group number must be between 1 and 1 (was 0)")
        );
    }
}
