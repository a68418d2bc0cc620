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
    /// A prefix length (from a length or a dotted IPv4 mask).
    Mask(u8),
    /// An IPv6 mask written as an address (`ffff:ffff::`), any bits.
    Mask6(u128),
    /// A map file, loaded at configuration time (`map_*` converters).
    Map(std::sync::Arc<crate::strconv::Map>),
    /// A compiled regular expression (`regsub`).
    Regex(std::sync::Arc<crate::strconv::Re>),
}

/// Split `text` (which starts right after a keyword) into its argument words if it
/// starts with `(`; returns the words and what follows the closing `)`. Quotes and
/// backslashes protect `,` and `)`.
pub(crate) fn split_args(text: &str) -> Result<(Option<Vec<String>>, &str), String> {
    let Some(body) = text.strip_prefix('(') else {
        return Ok((None, text));
    };
    let mut words = vec![String::new()];
    let mut quote: Option<char> = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let (Some((_, n)), Some(w)) = (chars.next(), words.last_mut()) {
                    w.push(n);
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => words.last_mut().into_iter().for_each(|w| w.push(c)),
            (None, '\'' | '"') => quote = Some(c),
            (None, ',') => words.push(String::new()),
            (None, ')') => {
                let rest = &body[i + 1..];
                if words.len() == 1 && words[0].is_empty() {
                    words.clear();
                }
                return Ok((Some(words), rest));
            }
            (None, c) => words.last_mut().into_iter().for_each(|w| w.push(c)),
        }
    }
    Err(format!("expected ')' before '{body}'"))
}

fn parse_one(t: ArgType, w: &str) -> Option<Arg> {
    match t {
        ArgType::Int => w.trim().parse::<i64>().ok().map(Arg::Int),
        ArgType::Str => Some(Arg::Str(w.to_string())),
        ArgType::Msk4 => match w.parse::<u8>() {
            Ok(n) if n <= 32 => Some(Arg::Mask(n)),
            Ok(_) => None,
            Err(_) => {
                let m = u32::from(w.parse::<std::net::Ipv4Addr>().ok()?);
                // A contiguous mask only.
                (m.leading_ones() == m.count_ones()).then(|| Arg::Mask(m.count_ones() as u8))
            }
        },
        ArgType::Msk6 => match w.parse::<u8>() {
            Ok(n) if n <= 128 => Some(Arg::Mask(n)),
            Ok(_) => None,
            Err(_) => Some(Arg::Mask6(u128::from(
                w.parse::<std::net::Ipv6Addr>().ok()?,
            ))),
        },
    }
}

/// Type the argument words against `spec` (`min` of them mandatory), as
/// `make_arg_list` does. `words` is `None` when the keyword had no parentheses.
pub(crate) fn type_args(
    words: Option<&[String]>,
    spec: &[ArgType],
    min: usize,
) -> Result<Vec<Arg>, String> {
    let words = words.unwrap_or(&[]);
    // A missing string argument is an empty one (`haproxy -c` 2.6 accepts a bare
    // `add`, it does not accept a bare `ipmask`).
    let min = if spec.iter().take(min).all(|t| *t == ArgType::Str) && words.is_empty() {
        0
    } else {
        min
    };
    if words.is_empty() && min > 0 {
        return Err(format!(
            "expected type '{}' at position 1, but got nothing",
            spec[0].name()
        ));
    }
    if words.len() > spec.len() {
        if spec.is_empty() {
            return Err(format!("expected ')' before '{})'", words.join(",")));
        }
        return Err(format!(
            "end of arguments expected at position {}, but got '{}'",
            spec.len() + 1,
            words[spec.len()..].join(",")
        ));
    }
    let mut out = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        match parse_one(spec[i], w) {
            Some(a) => out.push(a),
            None => {
                return Err(format!(
                    "failed to parse '{w}' as type '{}' at position {}",
                    spec[i].name(),
                    i + 1
                ))
            }
        }
    }
    if out.len() < min {
        return Err(format!(
            "missing arguments (got {}/{}), type '{}' expected",
            out.len(),
            min,
            spec[out.len()].name()
        ));
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
    if let Ok(v) = s.trim().parse::<i64>() {
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

    #[test]
    fn splitting_and_typing_use_haproxys_words() {
        let (w, rest) = split_args("(0,3),lower").unwrap();
        assert_eq!(w.as_deref(), Some(&["0".to_string(), "3".into()][..]));
        assert_eq!(rest, ",lower");
        assert_eq!(split_args(",x").unwrap(), (None, ",x"));
        assert_eq!(split_args("()").unwrap(), (Some(vec![]), ""));
        assert_eq!(
            split_args("('a,b',\\))").unwrap().0.unwrap(),
            vec!["a,b", ")"]
        );
        assert!(split_args("(0,3").is_err());
        let int2 = [ArgType::Int, ArgType::Int];
        let cases: &[(Option<&[&str]>, &str)] = &[
            (
                None,
                "expected type 'integer' at position 1, but got nothing",
            ),
            (
                Some(&["0"]),
                "missing arguments (got 1/2), type 'integer' expected",
            ),
            (
                Some(&["a", "1"]),
                "failed to parse 'a' as type 'integer' at position 1",
            ),
            (
                Some(&["1", "2", "3"]),
                "end of arguments expected at position 3, but got '3'",
            ),
        ];
        for (words, msg) in cases {
            let words: Option<Vec<String>> =
                words.map(|w| w.iter().map(|s| s.to_string()).collect());
            assert_eq!(type_args(words.as_deref(), &int2, 2).unwrap_err(), *msg);
        }
        let ok = type_args(Some(&["0".into(), "3".into()]), &int2, 2).unwrap();
        assert_eq!(ok, vec![Arg::Int(0), Arg::Int(3)]);
        let m = [ArgType::Msk4, ArgType::Msk6];
        assert_eq!(
            type_args(Some(&["255.255.0.0".into()]), &m, 1).unwrap(),
            vec![Arg::Mask(16)]
        );
        assert!(type_args(Some(&["33".into()]), &m, 1).is_err());
        assert!(type_args(Some(&["255.0.255.0".into()]), &m, 1).is_err());
        assert_eq!(
            type_args(Some(&["1".into()]), &[], 0).unwrap_err(),
            "expected ')' before '1)'"
        );
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
