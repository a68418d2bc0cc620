//! Arguments of fetches and converters, `name(a,b)`, typed at configuration time
//! (configuration.txt §7.3 "Fetching samples": arguments are comma-separated in
//! parentheses right after the keyword). Errors use HAProxy's `make_arg_list` text.

use crate::error::ExprError;

/// An argument's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// A signed integer.
    Int,
    /// Any string.
    Str,
    /// An IPv4 mask: a prefix length (0-32) or a dotted mask.
    Msk4,
    /// An IPv6 prefix length (0-128).
    Msk6,
}

impl ArgType {
    /// The name HAProxy prints in its messages.
    pub fn name(self) -> &'static str {
        match self {
            ArgType::Int => "integer",
            ArgType::Str => "string",
            ArgType::Msk4 => "IPv4 mask",
            ArgType::Msk6 => "IPv6 mask",
        }
    }
}

/// A typed argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Int(i64),
    Str(String),
    /// A prefix length.
    Mask(u8),
    /// An IPv4 mask written as a dotted address, any bits.
    Mask4(u32),
    /// An IPv6 mask written as an address (`ffff:ffff::`), any bits.
    Mask6(u128),
    /// A map file, loaded at configuration time (`map_*` converters).
    Map(std::sync::Arc<crate::strconv::Map>),
    /// A compiled regular expression (`regsub`).
    Regex(std::sync::Arc<crate::strconv::Re>),
}

/// The argument words of a keyword (see [`split_args`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ArgWords<'t> {
    pub words: Vec<String>,
    /// The offset in `text` of the `,` after each word but the last.
    seps: Vec<usize>,
    /// The keyword's text from its `(` to the end of the expression: HAProxy
    /// quotes it from an extra `,` on ("expected ')' before ...").
    text: &'t str,
}

/// Split `text` (which starts right after a keyword) into its argument words if it
/// starts with `(`; returns the words and what follows the closing `)`. Quotes and
/// backslashes protect `,` and `)`.
pub(crate) fn split_args(text: &str) -> Result<(Option<ArgWords<'_>>, &str), String> {
    let Some(body) = text.strip_prefix('(') else {
        return Ok((None, text));
    };
    let mut words = vec![String::new()];
    let mut seps = Vec::new();
    let mut quote: Option<char> = None;
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            // make_arg_list: outside single quotes a backslash escapes `\`,
            // space and quotes, and makes `r`, `n`, `t` control characters;
            // before anything else it is kept as it is.
            (None | Some('"'), '\\') => {
                let escaped = match chars.peek().map(|&(_, n)| n) {
                    Some(n @ ('\\' | ' ' | '"' | '\'')) => Some(n),
                    Some('r') => Some('\r'),
                    Some('n') => Some('\n'),
                    Some('t') => Some('\t'),
                    _ => None,
                };
                if escaped.is_some() {
                    chars.next();
                }
                if let Some(w) = words.last_mut() {
                    w.push(escaped.unwrap_or('\\'));
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => words.last_mut().into_iter().for_each(|w| w.push(c)),
            (None, '\'' | '"') => quote = Some(c),
            (None, ',') => {
                words.push(String::new());
                seps.push(i + 1);
            }
            (None, ')') => {
                let rest = &body[i + 1..];
                if words.len() == 1 && words[0].is_empty() {
                    words.clear();
                }
                return Ok((Some(ArgWords { words, seps, text }), rest));
            }
            (None, c) => words.last_mut().into_iter().for_each(|w| w.push(c)),
        }
    }
    Err(format!("expected ')' before '{body}'"))
}

/// A whole word read as HAProxy 2.6's `read_int64()` reads an integer argument
/// (`make_arg_list`, `check_operator`): an optional `-` or `+`, then decimal
/// digits, possibly none; past 2^63-1 (below -2^63) the value saturates. `None`
/// when a character other than a digit follows.
pub(crate) fn read_int64(w: &str) -> Option<i64> {
    let (neg, digits) = match w.as_bytes().first() {
        Some(b'-') => (true, &w[1..]),
        Some(b'+') => (false, &w[1..]),
        _ => (false, w),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // read_uint64(): u64 arithmetic, ULLONG_MAX on overflow.
    let u = digits.bytes().try_fold(0u64, |i, b| {
        i.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    });
    let u = u.unwrap_or(u64::MAX);
    Some(if neg {
        // -(2^63) and below are i64::MIN; the rest negates exactly.
        0i64.checked_sub_unsigned(u).unwrap_or(i64::MIN)
    } else {
        i64::try_from(u).unwrap_or(i64::MAX)
    })
}

/// A mask length as HAProxy 2.6's `str2mask()`/`str2mask6()` read it: the
/// whole word through strtol() (leading blanks, a sign, saturating at the
/// `long` range), whose low 32 bits must be at most `max`.
fn mask_len(w: &str, max: u32) -> Option<u8> {
    let t = w.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = digits.bytes().try_fold(0i64, |v, b| {
        v.checked_mul(10)?.checked_add(i64::from(b - b'0'))
    });
    let v = match (v, neg) {
        (Some(v), false) => v,
        (Some(v), true) => -v,
        (None, false) => i64::MAX,
        (None, true) => i64::MIN,
    };
    // `(unsigned)len`: the low 32 bits.
    let low = v as u32;
    (low <= max).then_some(low as u8)
}

fn parse_one(t: ArgType, w: &str) -> Option<Arg> {
    match t {
        ArgType::Int => read_int64(w).map(Arg::Int),
        ArgType::Str => Some(Arg::Str(w.to_string())),
        // str2mask(): a dotted mask (any bits) or a length read by strtol().
        ArgType::Msk4 if w.contains('.') => {
            Some(Arg::Mask4(u32::from(w.parse::<std::net::Ipv4Addr>().ok()?)))
        }
        ArgType::Msk4 => mask_len(w, 32).map(Arg::Mask),
        // str2mask6(): an address-shaped mask or a length.
        ArgType::Msk6 if w.contains(':') => Some(Arg::Mask6(u128::from(
            w.parse::<std::net::Ipv6Addr>().ok()?,
        ))),
        ArgType::Msk6 => mask_len(w, 128).map(Arg::Mask),
    }
}

/// Type the argument words against `spec` (`min` of them mandatory), as
/// `make_arg_list` does. `args` is `None` when the keyword had no parentheses.
/// An error is HAProxy's text with the argument position it reports
/// (`err_arg`, from 0: "invalid arg <n+1> in converter").
pub(crate) fn type_args(
    args: Option<&ArgWords<'_>>,
    spec: &[ArgType],
    min: usize,
) -> Result<Vec<Arg>, (usize, String)> {
    let words = args.map_or(&[][..], |a| &a.words[..]);
    // A missing string argument is an empty one (`haproxy -c` 2.6 accepts a bare
    // `add`, it does not accept a bare `ipmask`).
    let min = if spec.iter().take(min).all(|t| *t == ArgType::Str) && words.is_empty() {
        0
    } else {
        min
    };
    if let (true, Some(first)) = (words.is_empty() && min > 0, spec.first()) {
        return Err((
            0,
            format!(
                "expected type '{}' at position 1, but got nothing",
                first.name()
            ),
        ));
    }
    let mut out = Vec::with_capacity(words.len());
    for (i, (w, t)) in words.iter().zip(spec).enumerate() {
        // An empty number, mask...: HAProxy's `empty_err`, the end of the list
        // when the argument is optional (then `)` must follow).
        if w.is_empty() && *t != ArgType::Str {
            if i < min {
                let m = format!(
                    "expected type '{}' at position {}, but got nothing",
                    t.name(),
                    i + 1
                );
                return Err((i, m));
            }
            let Some(from) = args.and_then(|a| a.seps.get(i).map(|&f| (a, f))) else {
                break;
            };
            let rest = from.0.text.get(from.1..).unwrap_or("");
            let pos = if i > 1 { i - 1 } else { i };
            return Err((pos, format!("expected ')' before '{rest}'")));
        }
        match parse_one(*t, w) {
            Some(a) => out.push(a),
            None => {
                return Err((
                    i,
                    format!(
                        "failed to parse '{w}' as type '{}' at position {}",
                        t.name(),
                        i + 1
                    ),
                ))
            }
        }
    }
    if let (true, Some(t)) = (out.len() < min, spec.get(out.len())) {
        return Err((
            out.len(),
            format!(
                "missing arguments (got {}/{}), type '{}' expected",
                out.len(),
                min,
                t.name()
            ),
        ));
    }
    if let Some(a) = args.filter(|a| a.words.len() > spec.len()) {
        // HAProxy reads its arguments first, stops after its last one and
        // quotes the text from there (from the `,`, or right after `(` when it
        // takes none), then reports the position before (when past the first).
        let from = match spec.len() {
            0 => 1,
            n => a.seps.get(n - 1).copied().unwrap_or(a.text.len()),
        };
        let pos = if spec.len() > 1 {
            spec.len() - 1
        } else {
            spec.len()
        };
        let rest = a.text.get(from..).unwrap_or("");
        return Err((pos, format!("expected ')' before '{rest}'")));
    }
    Ok(out)
}

/// An arithmetic converter's operand: an integer, or a variable (not run yet).
pub(crate) fn int_or_var(conv: &str, args: &[Arg]) -> Result<i64, ExprError> {
    let s = match args.first() {
        Some(Arg::Str(s)) => s.as_str(),
        // A bare `add` (HAProxy adds nothing).
        None => return Ok(0),
        Some(_) => "",
    };
    if let Some(v) = read_int64(s) {
        return Ok(v);
    }
    let is_var = ["proc.", "sess.", "txn.", "req.", "res."]
        .iter()
        .any(|p| s.len() > p.len() && s.starts_with(p));
    if is_var {
        return Err(ExprError::unsupported(format!(
            "the variable `{s}` as the argument of the converter `{conv}`"
        )));
    }
    Err(ExprError::invalid(format!(
        "invalid args in converter '{conv}' : expects an integer or a variable name"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `type_args` on the arguments of `text` (a keyword's text after its name).
    fn typed(text: &str, spec: &[ArgType], min: usize) -> Result<Vec<Arg>, (usize, String)> {
        let (args, _) = split_args(text).unwrap();
        type_args(args.as_ref(), spec, min)
    }

    #[test]
    fn splitting_and_typing_use_haproxys_words() {
        let (w, rest) = split_args("(0,3),lower").unwrap();
        assert_eq!(w.map(|a| a.words), Some(vec!["0".to_string(), "3".into()]));
        assert_eq!(rest, ",lower");
        assert_eq!(split_args(",x").unwrap(), (None, ",x"));
        assert_eq!(split_args("()").unwrap().0.map(|a| a.words), Some(vec![]));
        assert_eq!(
            split_args("('a,b',\\\\,\\'\\n)").unwrap().0.unwrap().words,
            vec!["a,b", "\\", "'\n"]
        );
        // A backslash before another character is kept, and `)` still ends.
        let (w, rest) = split_args("(\\,\\)x").unwrap();
        assert_eq!(w.unwrap().words, vec!["\\", "\\"]);
        assert_eq!(rest, "x");
        assert!(split_args("(0,3").is_err());
        let int2 = [ArgType::Int, ArgType::Int];
        let cases: &[(&str, usize, &str)] = &[
            (
                "",
                0,
                "expected type 'integer' at position 1, but got nothing",
            ),
            (
                "(0)",
                1,
                "missing arguments (got 1/2), type 'integer' expected",
            ),
            (
                "(a,1)",
                0,
                "failed to parse 'a' as type 'integer' at position 1",
            ),
            (
                "(1,a)",
                1,
                "failed to parse 'a' as type 'integer' at position 2",
            ),
            // From the extra `,` to the end of the expression, as HAProxy.
            ("(1,2,'3'),lower", 1, "expected ')' before ',\'3\'),lower'"),
            (
                "(,2)",
                0,
                "expected type 'integer' at position 1, but got nothing",
            ),
            (
                "(1,)",
                1,
                "expected type 'integer' at position 2, but got nothing",
            ),
        ];
        for (text, pos, msg) in cases {
            assert_eq!(
                typed(text, &int2, 2),
                Err((*pos, msg.to_string())),
                "{text}"
            );
        }
        assert_eq!(typed("(0,3)", &int2, 2), Ok(vec![Arg::Int(0), Arg::Int(3)]));
        let m = [ArgType::Msk4, ArgType::Msk6];
        assert_eq!(typed("(16)", &m, 1), Ok(vec![Arg::Mask(16)]));
        assert_eq!(
            typed("(255.0.255.0,ffff::)", &m, 1),
            Ok(vec![Arg::Mask4(0xff00_ff00), Arg::Mask6(0xffff << 112)])
        );
        // strtol() then the low 32 bits, as str2mask() does.
        for (w, v) in [
            ("+5", Some(5)),
            ("4294967296", Some(0)),
            ("-4294967295", Some(1)),
        ] {
            assert_eq!(
                typed(&format!("({w})"), &m, 1).ok(),
                v.map(|v| vec![Arg::Mask(v)])
            );
        }
        for w in ["33", "-1", "0x10", "", "5 ", "1.2.3"] {
            assert!(typed(&format!("({w})"), &m, 1).is_err(), "{w}");
        }
        assert_eq!(
            typed("(1),upper", &[], 0),
            Err((0, "expected ')' before '1),upper'".to_string()))
        );
        // An empty optional number ends the list.
        let sis = [ArgType::Str, ArgType::Int, ArgType::Str];
        assert_eq!(typed("(a,)", &sis, 1), Ok(vec![Arg::Str("a".into())]));
        assert_eq!(
            typed("(a,,b,c)", &sis, 1),
            Err((1, "expected ')' before ',b,c)'".to_string()))
        );
        assert_eq!(
            typed("(x,1)", &[ArgType::Str], 0),
            Err((1, "expected ')' before ',1)'".to_string()))
        );
    }

    #[test]
    fn integers_are_read_as_read_int64() {
        for (w, v) in [
            ("5", Some(5)),
            ("+5", Some(5)),
            ("-0", Some(0)),
            ("-", Some(0)),
            ("", Some(0)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", Some(i64::MAX)),
            ("18446744073709551616", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("-9223372036854775809", Some(i64::MIN)),
            ("-99999999999999999999", Some(i64::MIN)),
            ("--5", None),
            (" 5", None),
            ("5x", None),
        ] {
            assert_eq!(read_int64(w), v, "{w}");
        }
    }

    #[test]
    fn arithmetic_operands() {
        assert_eq!(int_or_var("add", &[Arg::Str("-3".into())]), Ok(-3));
        assert!(int_or_var("add", &[Arg::Str("x".into())])
            .unwrap_err()
            .is_invalid());
        assert!(!int_or_var("add", &[Arg::Str("txn.x".into())])
            .unwrap_err()
            .is_invalid());
    }
}
