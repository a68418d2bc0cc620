//! The arguments of `balance` (configuration.txt §4.2), refused as HAProxy
//! 2.6's `backend_parse_balance()` (backend.c) refuses them, with its texts:
//! `random(<draws>)`, `uri` `len`/`depth`/`whole`/`path-only`, `url_param`
//! and `hdr(<name>)` modifiers, `hash` with one expression, `rdp-cookie` names.

/// C's atoi(): the low 32 bits of what strtol() saturates to.
fn atoi(s: &str) -> i32 {
    // Intended truncation: C's long-to-int conversion.
    crate::value::atol(s) as i32
}

/// HAProxy's text (after `balance `) refusing algorithm `alg` with the words
/// `rest` after it; None when taken or when `alg` is no algorithm (the
/// caller's own refusal).
pub(super) fn refusal(alg: &str, rest: &[String]) -> Option<String> {
    let arg = |i: usize| rest.get(i).map_or("", String::as_str);
    if let Some(draws) = alg.strip_prefix("random") {
        let inner = draws.strip_prefix('(').filter(|d| !d.starts_with(')'))?;
        // strtol(beg, &end, 0) then a ')' must follow.
        let (n, after) = strtol0(inner);
        return match after.chars().next() {
            None => Some("random : missing closing parenthesis.".into()),
            Some(')') if n < 1 => Some("random : number of draws must be at least 1.".into()),
            Some(')') => None,
            Some(c) => Some(format!(
                "random : unexpected character '{c}' after argument."
            )),
        };
    }
    match alg {
        "uri" => {
            let mut i = 0;
            while !arg(i).is_empty() {
                match arg(i) {
                    k @ ("len" | "depth") => {
                        if arg(i + 1).is_empty() || atoi(arg(i + 1)) <= 0 {
                            return Some(format!(
                                "uri : '{k}' expects a positive integer (got '{}').",
                                arg(i + 1)
                            ));
                        }
                        i += 2;
                    }
                    "whole" | "path-only" => i += 1,
                    other => {
                        return Some(format!("uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '{other}')."))
                    }
                }
            }
            None
        }
        "url_param" if arg(0).is_empty() => {
            Some("url_param requires an URL parameter name.".into())
        }
        "url_param" => (!arg(1).is_empty() && arg(1) != "check_post").then(|| {
            format!(
                "url_param only accepts 'check_post' modifier (got '{}').",
                arg(1)
            )
        }),
        "hash" if arg(0).is_empty() => Some("hash requires a sample expression.".into()),
        "hash" => (!arg(1).is_empty())
            .then(|| format!("hash takes no other argument (got '{}').", arg(1))),
        _ if alg.starts_with("hdr(") => {
            if hdr_name(alg).is_none() {
                return Some("hdr requires an http header field name.".into());
            }
            (!arg(0).is_empty() && arg(0) != "use_domain_only").then(|| {
                format!(
                    "{alg} only accepts 'use_domain_only' modifier (got '{}').",
                    arg(0)
                )
            })
        }
        _ if alg.starts_with("rdp-cookie") => {
            let ok = alg == "rdp-cookie" || rdp_cookie_name(alg).is_some();
            (!ok).then(|| "rdp-cookie : missing cookie name.".into())
        }
        _ => None,
    }
}

/// HAProxy's refusal of `hash-type <words>` (its full text); `latest`: as
/// the latest HAProxy (also the `none` function).
pub(super) fn hash_type_refusal(words: &[&str], latest: bool) -> Option<String> {
    let arg = |i: usize| words.get(i).copied().unwrap_or("");
    match arg(1) {
        "consistent" | "map-based" => {}
        "avalanche" => {
            return Some("experimental feature 'hash-type avalanche' is not supported anymore, please use 'hash-type map-based sdbm avalanche' instead.".into())
        }
        _ => return Some("'hash-type' only supports 'consistent' and 'map-based'.".into()),
    }
    if arg(2).is_empty() {
        return None;
    }
    let known = matches!(arg(2), "sdbm" | "djb2" | "wt6" | "crc32") || (latest && arg(2) == "none");
    if !known {
        return Some(
            "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.".into(),
        );
    }
    (!arg(3).is_empty() && arg(3) != "avalanche")
        .then(|| "'hash-type' only supports 'avalanche' as a modifier for hash functions.".into())
}

/// HAProxy's refusal of `hash-balance-factor <arg>`: atol() into an `int`,
/// 0 or above 100.
pub(super) fn hash_balance_factor_refusal(arg: &str) -> Option<&'static str> {
    if arg.is_empty() {
        return Some("'hash-balance-factor' expects an integer argument.");
    }
    let v = atoi(arg);
    (v != 0 && v <= 100).then_some("'hash-balance-factor' must be 0 or greater than 100.")
}

/// The header of `hdr(<name>)...`: up to the first `)`, not empty.
pub(super) fn hdr_name(alg: &str) -> Option<&str> {
    let (name, _) = alg.strip_prefix("hdr(")?.split_once(')')?;
    (!name.is_empty()).then_some(name)
}

/// The cookie of `rdp-cookie(<name>)...`: up to the first `)`, not empty.
pub(super) fn rdp_cookie_name(alg: &str) -> Option<&str> {
    let (name, _) = alg.strip_prefix("rdp-cookie(")?.split_once(')')?;
    (!name.is_empty()).then_some(name)
}

/// C's strtol(s, &end, 0) (saturating): the number and what follows it.
fn strtol0(s: &str) -> (i64, &str) {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let hex = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))
        .filter(|r| r.starts_with(|c: char| c.is_ascii_hexdigit()));
    let (digits, radix) = match hex {
        Some(r) => (r, 16),
        None if body.starts_with('0') => (body, 8),
        None => (body, 10),
    };
    let n = digits.chars().take_while(|c| c.is_digit(radix)).count();
    if n == 0 {
        return (0, s);
    }
    let v = digits[..n].chars().fold(0i64, |v, c| {
        let d = i64::from(c.to_digit(radix).unwrap_or(0));
        if neg {
            v.saturating_mul(i64::from(radix)).saturating_sub(d)
        } else {
            v.saturating_mul(i64::from(radix)).saturating_add(d)
        }
    });
    (v, &digits[n..])
}

#[cfg(test)]
mod tests {
    use super::refusal;

    fn r(alg: &str, rest: &[&str]) -> Option<String> {
        let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
        refusal(alg, &rest)
    }

    #[test]
    fn arguments_are_read_as_haproxy_reads_them() {
        assert_eq!(r("uri", &["depth", "3", "whole"]), None);
        assert!(r("uri", &["depth", "2147483648"]).is_some());
        assert_eq!(r("uri", &["len", "4294967297"]), None);
        assert!(r("uri", &["len"]).is_some());
        assert_eq!(r("random(3)", &[]), None);
        assert_eq!(r("random()", &[]), None);
        assert_eq!(r("randomx", &[]), None);
        assert!(r("random(0)", &[]).is_some());
        assert!(r("random(2", &[]).is_some());
        assert_eq!(r("hdr(host)x", &["use_domain_only"]), None);
        assert!(r("hdr()", &[]).is_some());
        assert!(r("hash", &["a", "b"]).is_some());
        assert_eq!(r("rdp-cookie(a)b", &[]), None);
        assert!(r("rdp-cookiex", &[]).is_some());
        use super::{hash_balance_factor_refusal as hbf, hash_type_refusal as ht};
        assert_eq!(
            ht(&["hash-type", "consistent", "crc32", "avalanche"], false),
            None
        );
        assert!(ht(&["hash-type", "consistent", "md5"], false).is_some());
        assert!(ht(&["hash-type", "avalanche"], false).is_some());
        assert_eq!(hbf("0"), None);
        assert_eq!(hbf("4294967397"), None);
        assert!(hbf("4294967396").is_some());
        assert!(hbf("2147483648").is_some());
        assert!(ht(&["hash-type", "consistent", "none"], false).is_some());
        assert_eq!(ht(&["hash-type", "consistent", "none"], true), None);
    }
}
