//! More converters of configuration.txt §7.3.1: `be2dec`, `be2hex`, `ub64enc`,
//! `ub64dec`, `url_enc`, `iif`, `json` with its input codes, `json_query`, and the
//! converters that read a variable (`concat`, `add_item`, `strcmp`,
//! `secure_memcmp`), which take the evaluation's [`Context`].

use std::borrow::Cow;

use crate::acl::Opts;
use crate::args::Arg;
use crate::error::ExprError;
use crate::fetch::Context;
use crate::sample::{Sample, SmpType};
use crate::strconv::{b64_decode, b64_encode};

fn int_arg(a: &[Arg], i: usize) -> i64 {
    match a.get(i) {
        Some(Arg::Int(v)) => *v,
        _ => 0,
    }
}
fn str_arg(a: &[Arg], i: usize) -> &str {
    match a.get(i) {
        Some(Arg::Str(s)) => s,
        _ => "",
    }
}

/// `be2dec`/`be2hex` arguments (HAProxy's `sample_conv_be2dec_check` /
/// `_be2hex_check`): a chunk size and a 0/1 truncate flag.
pub(crate) fn prepare_be2(name: &str, a: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    let (sep, chunk, trunc) = (str_arg(&a, 0).len(), int_arg(&a, 1), int_arg(&a, 2));
    let err = |m: String| {
        Err(ExprError::invalid(format!(
            "invalid args in converter '{name}' : {m}"
        )))
    };
    if name == "be2dec" && !(1..=8).contains(&chunk) {
        return err(format!("chunk_size out of [1..8] range ({chunk})"));
    }
    if name == "be2hex" && chunk <= 0 && (sep > 0 || trunc != 0) {
        return err(format!("chunk_size needs to be positive ({chunk})"));
    }
    if trunc != 0 && trunc != 1 {
        return err(format!("Unsupported truncate value ({trunc})"));
    }
    Ok(a)
}

/// `be2dec(<separator>,<chunk_size>[,<truncate>])`: each chunk of big-endian bytes
/// as an unsigned decimal number.
pub(crate) fn be2dec<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let b = s.bytes()?;
    let (sep, chunk) = (
        str_arg(a, 0).as_bytes(),
        usize::try_from(int_arg(a, 1)).ok()?.max(1),
    );
    let b = if int_arg(a, 2) != 0 {
        &b[..b.len() - b.len() % chunk]
    } else {
        b
    };
    let mut out = Vec::new();
    for (i, c) in b.chunks(chunk).enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        let n = c.iter().fold(0u64, |n, &x| (n << 8) | u64::from(x));
        out.extend_from_slice(n.to_string().as_bytes());
    }
    Some(Sample::Str(Cow::Owned(out)))
}

/// `be2hex([<separator>[,<chunk_size>[,<truncate>]]])`: upper-case hex, the
/// separator between chunks.
pub(crate) fn be2hex<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let b = s.bytes()?;
    let sep = str_arg(a, 0).as_bytes();
    let trunc = int_arg(a, 2) != 0;
    let chunk = match usize::try_from(int_arg(a, 1)) {
        Ok(c) if c > 0 && (!sep.is_empty() || trunc) => c,
        _ => b.len().max(1),
    };
    let b = if trunc {
        &b[..b.len() - b.len() % chunk]
    } else {
        b
    };
    let mut out = Vec::with_capacity(b.len() * 2);
    for (i, c) in b.chunks(chunk).enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        for &x in c {
            out.push(H[usize::from(x >> 4)]);
            out.push(H[usize::from(x & 15)]);
        }
    }
    Some(Sample::Str(Cow::Owned(out)))
}

/// `ub64enc`: base64url (RFC 4648 §5) without padding.
pub(crate) fn ub64enc<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let mut v = b64_encode(s.bytes()?);
    while v.last() == Some(&b'=') {
        v.pop();
    }
    for c in &mut v {
        *c = match *c {
            b'+' => b'-',
            b'/' => b'_',
            c => c,
        };
    }
    Some(Sample::Str(Cow::Owned(v)))
}

/// `ub64dec`: base64url, padding optional; invalid input makes no sample.
pub(crate) fn ub64dec<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let b = s.bytes()?;
    if b.len() % 4 == 1 || b.iter().any(|&c| c == b'+' || c == b'/') {
        return None;
    }
    let mut v: Vec<u8> = b
        .iter()
        .map(|&c| match c {
            b'-' => b'+',
            b'_' => b'/',
            c => c,
        })
        .collect();
    while v.len() % 4 != 0 {
        v.push(b'=');
    }
    Some(Sample::Bin(Cow::Owned(b64_decode(&v)?)))
}

/// `url_enc([<enc_type>])` (only `query`, as HAProxy 2.6): everything but RFC 3986's
/// unreserved characters becomes `%XX` (upper-case hex).
pub(crate) fn url_enc<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let b = s.bytes()?;
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c);
        } else {
            out.extend_from_slice(&[b'%', H[usize::from(c >> 4)], H[usize::from(c & 15)]]);
        }
    }
    Some(Sample::Str(Cow::Owned(out)))
}
pub(crate) fn prepare_url_enc(_: &str, a: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    match str_arg(&a, 0) {
        "" | "query" => Ok(a),
        _ => Err(ExprError::invalid(
            "invalid args in converter 'url_enc' : Unexpected encode type. Allowed value is 'query'",
        )),
    }
}

/// `field`/`word` arguments (HAProxy's `sample_conv_field_check`, §7.3.1): an
/// index other than 0 and a non-empty list of separators.
pub(crate) fn prepare_field(name: &str, a: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    let m = match (a.first(), str_arg(&a, 1)) {
        (Some(Arg::Int(0)), _) => "Unexpected value 0 for index",
        (_, "") => "Empty separators list",
        _ => return Ok(a),
    };
    Err(ExprError::invalid(format!(
        "invalid args in converter '{name}' : {m}"
    )))
}

/// `iif(<true>,<false>)`: a boolean chooses one of two strings.
pub(crate) fn iif<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let t = matches!(s, Sample::Bool(true)) || matches!(s, Sample::Sint(v) if v != 0);
    let v = str_arg(a, if t { 0 } else { 1 });
    Some(Sample::Str(Cow::Owned(v.as_bytes().to_vec())))
}

/// `json([<input-code>])`'s codes: `ascii` (default), `utf8`, `utf8s`, `utf8p`, `utf8ps`.
pub(crate) fn prepare_json(_: &str, a: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    match str_arg(&a, 0) {
        "" | "ascii" | "utf8" | "utf8s" | "utf8p" | "utf8ps" => Ok(a),
        _ => Err(ExprError::invalid(
            "invalid args in converter 'json' : Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'",
        )),
    }
}

/// One UTF-8 sequence at the start of `b`: the code point, its length, and whether
/// it is valid (HAProxy's `utf8_next`: a bad sequence consumes one byte; an
/// over-long encoding or a surrogate is "invalid range", which the `p` codes allow).
fn utf8_next(b: &[u8]) -> (u32, usize, Utf8) {
    let c = b[0];
    let (n, init) = match c {
        0x00..=0x7f => return (u32::from(c), 1, Utf8::Ok),
        0xc0..=0xdf => (2, u32::from(c & 0x1f)),
        0xe0..=0xef => (3, u32::from(c & 0x0f)),
        0xf0..=0xf7 => (4, u32::from(c & 0x07)),
        _ => return (u32::from(c), 1, Utf8::BadSeq),
    };
    if b.len() < n {
        return (u32::from(c), 1, Utf8::BadSeq);
    }
    let mut cp = init;
    for &x in &b[1..n] {
        if x & 0xc0 != 0x80 {
            return (u32::from(c), 1, Utf8::BadSeq);
        }
        cp = (cp << 6) | u32::from(x & 0x3f);
    }
    let min = [0, 0, 0x80, 0x800, 0x10000][n];
    let bad_range = cp < min || (0xd800..=0xdfff).contains(&cp) || cp > 0x10ffff;
    (cp, n, if bad_range { Utf8::Range } else { Utf8::Ok })
}
#[derive(PartialEq)]
enum Utf8 {
    Ok,
    Range,
    BadSeq,
}

/// `json([<input-code>])`: escaped for a JSON string (HAProxy's `sample_conv_json`).
pub(crate) fn json<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let code = str_arg(a, 0);
    let b = s.bytes()?;
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = if matches!(code, "" | "ascii") {
            i += 1;
            u32::from(b[i - 1])
        } else {
            let (c, n, st) = utf8_next(&b[i..]);
            i += n;
            let partial = code.starts_with("utf8p");
            let skip = code.ends_with('s');
            let bad = match st {
                Utf8::Ok => false,
                Utf8::Range => !partial,
                Utf8::BadSeq => true,
            };
            if bad || c > 0xffff {
                if skip {
                    continue;
                }
                return None;
            }
            c
        };
        match c {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5c => out.extend_from_slice(b"\\\\"),
            0x2f => out.extend_from_slice(b"\\/"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x09 => out.extend_from_slice(b"\\t"),
            c if !(0x20..=0x7e).contains(&c) => {
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes())
            }
            c => out.push(c as u8),
        }
    }
    Some(Sample::Str(Cow::Owned(out)))
}

/// `json_query(<json_path>[,<output_type>])`'s check.
pub(crate) fn prepare_json_query(
    _: &str,
    a: Vec<Arg>,
    _: &Opts<'_>,
) -> Result<Vec<Arg>, ExprError> {
    if str_arg(&a, 0).is_empty() {
        return Err(ExprError::invalid(
            "invalid args in converter 'json_query' : json_path must not be empty",
        ));
    }
    if !matches!(str_arg(&a, 1), "" | "int") {
        return Err(ExprError::invalid(
            "invalid args in converter 'json_query' : output_type only supports \"int\" as argument",
        ));
    }
    Ok(a)
}

/// The steps of a JSON path as mjson reads it: `$`, then `.key` (a `\.` is a dot
/// inside the key) or `[index]`.
fn json_path(p: &str) -> Option<Vec<Result<String, usize>>> {
    let mut rest = p.strip_prefix('$')?.chars().peekable();
    let mut steps = Vec::new();
    while let Some(c) = rest.next() {
        match c {
            '.' => {
                let mut k = String::new();
                while let Some(&n) = rest.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    rest.next();
                    if n == '\\' {
                        if let Some(e) = rest.next() {
                            k.push(e);
                        }
                    } else {
                        k.push(n);
                    }
                }
                steps.push(Ok(k));
            }
            '[' => {
                let mut n = String::new();
                for d in rest.by_ref() {
                    if d == ']' {
                        break;
                    }
                    n.push(d);
                }
                steps.push(Err(n.trim().parse().ok()?));
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// `json_query`: the value at the path: a string, a number (text as `%g` prints
/// it, or an integer within ±(2^53-1) with `"int"`), a boolean; nothing for null,
/// arrays, objects, a missing key or invalid JSON.
pub(crate) fn json_query<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let doc: serde_json::Value = serde_json::from_slice(s.bytes()?).ok()?;
    let mut v = &doc;
    for step in json_path(str_arg(a, 0))? {
        v = match step {
            Ok(k) => v.as_object()?.get(&k)?,
            Err(i) => v.as_array()?.get(i)?,
        };
    }
    const MAX: i64 = (1 << 53) - 1;
    match v {
        serde_json::Value::String(t) => Some(Sample::Str(Cow::Owned(t.clone().into_bytes()))),
        serde_json::Value::Bool(b) => Some(Sample::Bool(*b)),
        serde_json::Value::Number(n) if str_arg(a, 1) == "int" => {
            let i = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?;
            (-MAX..=MAX).contains(&i).then_some(Sample::Sint(i))
        }
        serde_json::Value::Number(n) => {
            Some(Sample::Str(Cow::Owned(fmt_g(n.as_f64()?).into_bytes())))
        }
        _ => None,
    }
}

/// C's `%g` (6 significant digits, trailing zeros removed).
fn fmt_g(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let exp = f.abs().log10().floor() as i32;
    let strip = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if (-4..6).contains(&exp) {
        let prec = usize::try_from(5 - exp).unwrap_or(0);
        strip(format!("{f:.prec$}"))
    } else {
        let m = f / 10f64.powi(exp);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(format!("{m:.5}")), exp.abs())
    }
}

/// A converter argument that names a variable (`concat`, `add_item`, `strcmp`,
/// `secure_memcmp`):
/// HAProxy's `vars_check_arg` wants a scope.
pub(crate) fn prepare_var_args(
    name: &str,
    a: Vec<Arg>,
    _: &Opts<'_>,
) -> Result<Vec<Arg>, ExprError> {
    let pos = if matches!(name, "strcmp" | "secure_memcmp") {
        0
    } else {
        1
    };
    let v = str_arg(&a, pos);
    const SCOPES: [&str; 5] = ["proc.", "sess.", "txn.", "req.", "res."];
    if !v.is_empty() && !SCOPES.iter().any(|s| v.starts_with(s) && v.len() > s.len()) {
        return Err(ExprError::invalid(format!(
            "invalid args in converter '{name}' : failed to register variable name '{v}'"
        )));
    }
    if name == "add_item" && v.is_empty() && str_arg(&a, 2).is_empty() {
        return Err(ExprError::invalid(
            "invalid args in converter 'add_item' : one of the optional arguments has to be nonempty",
        ));
    }
    Ok(a)
}

/// A variable's value as text (`None`: unset, or no cast to a string).
fn var_text(ctx: &dyn Context, name: &str) -> Option<Vec<u8>> {
    if name.is_empty() {
        return None;
    }
    let v = ctx.var(name)?.cast(SmpType::Str)?;
    v.bytes().map(<[u8]>::to_vec)
}

/// `concat([<start>][,<var>][,<end>])`.
pub(crate) fn concat<'a>(a: &[Arg], s: Sample<'a>, ctx: &'a dyn Context) -> Option<Sample<'a>> {
    let mut out = s.bytes()?.to_vec();
    out.extend_from_slice(str_arg(a, 0).as_bytes());
    if let Some(v) = var_text(ctx, str_arg(a, 1)) {
        out.extend_from_slice(&v);
    }
    out.extend_from_slice(str_arg(a, 2).as_bytes());
    Some(Sample::Str(Cow::Owned(out)))
}

/// `add_item(<delim>[,<var>][,<suffix>])`: the delimiter only after a non-empty
/// input, and only when something follows.
pub(crate) fn add_item<'a>(a: &[Arg], s: Sample<'a>, ctx: &'a dyn Context) -> Option<Sample<'a>> {
    let mut out = s.bytes()?.to_vec();
    let v = var_text(ctx, str_arg(a, 1));
    let suffix = str_arg(a, 2).as_bytes();
    if !out.is_empty() && (v.as_ref().is_some_and(|v| !v.is_empty()) || !suffix.is_empty()) {
        out.extend_from_slice(str_arg(a, 0).as_bytes());
    }
    if let Some(v) = v {
        out.extend_from_slice(&v);
    }
    out.extend_from_slice(suffix);
    Some(Sample::Str(Cow::Owned(out)))
}

/// `strcmp(<var>)`: -1, 0 or 1 as strcmp(3) compares the input with the variable.
pub(crate) fn strcmp<'a>(a: &[Arg], s: Sample<'a>, ctx: &'a dyn Context) -> Option<Sample<'a>> {
    let v = var_text(ctx, str_arg(a, 0))?;
    let r = match s.bytes()?.cmp(v.as_slice()) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    };
    Some(Sample::Sint(r))
}

/// `secure_memcmp(<var>)` (configuration.txt §7.3.1): whether the input and the
/// variable, both as binary strings, are equal; compared in constant time when
/// their lengths are equal (different lengths: false at once). No variable:
/// the converter fails, as HAProxy's.
pub(crate) fn secure_memcmp<'a>(
    a: &[Arg],
    s: Sample<'a>,
    ctx: &'a dyn Context,
) -> Option<Sample<'a>> {
    let name = str_arg(a, 0);
    if name.is_empty() {
        return None;
    }
    let v = ctx.var(name)?.cast(SmpType::Bin)?;
    let (x, y) = (s.bytes()?, v.bytes()?);
    if x.len() != y.len() {
        return Some(Sample::Bool(false));
    }
    let diff = x.iter().zip(y.iter()).fold(0u8, |d, (p, q)| d | (p ^ q));
    Some(Sample::Bool(std::hint::black_box(diff) == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &'static str) -> Sample<'static> {
        Sample::Str(Cow::Borrowed(b.as_bytes()))
    }
    fn text(v: Option<Sample<'_>>) -> String {
        match v {
            Some(Sample::Str(b)) => String::from_utf8_lossy(&b).into_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn be2dec_be2hex_as_haproxys_reg_tests() {
        let a = |sep: &str, n: i64, t: i64| vec![Arg::Str(sep.into()), Arg::Int(n), Arg::Int(t)];
        let x = "abcdefghijklmnopqrstuvwxyz";
        assert_eq!(
            text(be2dec(&a("-", 3, 0), s(x))),
            "6382179-6579558-6776937-6974316-7171695-7369074-7566453-7763832-31098"
        );
        assert_eq!(
            text(be2dec(&a("::", 3, 1), s("0123456789"))),
            "3158322::3355701::3553080"
        );
        assert_eq!(text(be2dec(&a(":", 1, 0), s(""))), "");
        assert_eq!(text(be2hex(&a("", 0, 0), s("ab"))), "6162");
        assert_eq!(text(be2hex(&a(":", 1, 0), s("ab"))), "61:62");
        assert_eq!(
            text(be2hex(&a(".", 3, 1), s("0123456789"))),
            "303132.333435.363738"
        );
        assert!(prepare_be2("be2dec", a("", 9, 0), &Opts::default()).is_err());
        assert!(prepare_be2("be2dec", a("", 2, 2), &Opts::default()).is_err());
    }

    #[test]
    fn base64url_both_ways() {
        let enc = |b: &'static [u8]| text(ub64enc(&[], Sample::Bin(Cow::Borrowed(b))));
        assert_eq!(enc(b"f"), "Zg");
        assert_eq!(enc(b"foob"), "Zm9vYg");
        assert_eq!(
            enc(&[0x14, 0xfb, 0x9c, 0x03, 0xd9, 0x7f, 0x12, 0xd9, 0x7e]),
            "FPucA9l_Etl-"
        );
        assert_eq!(
            ub64dec(&[], s("Zm9vYmE")),
            Some(Sample::Bin(Cow::Owned(b"fooba".to_vec())))
        );
        assert_eq!(
            ub64dec(&[], s("Zm9vYmE=")),
            Some(Sample::Bin(Cow::Owned(b"fooba".to_vec())))
        );
        assert_eq!(ub64dec(&[], s("Z")), None);
        assert_eq!(ub64dec(&[], s("Zm+v")), None);
    }

    #[test]
    fn url_enc_iif_json() {
        assert_eq!(
            text(url_enc(&[], s("foo=bar+42 42 "))),
            "foo%3Dbar%2B42%2042%20"
        );
        assert_eq!(
            text(iif(
                &[Arg::Str("ok".into()), Arg::Str("ko".into())],
                Sample::Bool(false)
            )),
            "ko"
        );
        let j = |code: &str, b: &'static [u8]| {
            text(json(
                &[Arg::Str(code.into())],
                Sample::Str(Cow::Borrowed(b)),
            ))
        };
        assert_eq!(j("", b"foo 1/2"), "foo 1\\/2");
        assert_eq!(j("utf8", b"\xe0"), "None");
        assert_eq!(j("utf8s", b"-\xe0-"), "--");
        assert_eq!(j("utf8", "é\"".as_bytes()), "\\u00e9\\\"");
        assert_eq!(j("ascii", b"\x01"), "\\u0001");
    }

    #[test]
    fn json_query_paths_and_types() {
        let doc = br#"{"iss":"kubernetes.io/serviceaccount","integer":4,"neg":-4,
            "double":4.5,"t":true,"my.key":"v","arr":[1,"two"],"big":9007199254740993}"#;
        let q = |p: &str, int: bool| {
            let mut a = vec![Arg::Str(p.into())];
            if int {
                a.push(Arg::Str("int".into()));
            }
            json_query(&a, Sample::Str(Cow::Borrowed(doc)))
        };
        assert_eq!(text(q("$.iss", false)), "kubernetes.io/serviceaccount");
        assert_eq!(q("$.integer", true), Some(Sample::Sint(4)));
        assert_eq!(q("$.neg", true), Some(Sample::Sint(-4)));
        assert_eq!(q("$.big", true), None);
        assert_eq!(text(q("$.double", false)), "4.5");
        assert_eq!(q("$.t", false), Some(Sample::Bool(true)));
        assert_eq!(text(q("$.my\\.key", false)), "v");
        assert_eq!(text(q("$.arr[1]", false)), "two");
        assert_eq!(q("$.arr", false), None);
        assert_eq!(q("$.nope", false), None);
        assert_eq!(fmt_g(1e10), "1e+10");
        assert_eq!(fmt_g(0.0001), "0.0001");
        assert_eq!(fmt_g(123456789.0), "1.23457e+08");
    }

    struct Vars;
    impl Context for Vars {
        fn var(&self, name: &str) -> Option<Sample<'_>> {
            (name == "txn.var").then_some(Sample::Str(Cow::Borrowed(b"var_content")))
        }
    }

    #[test]
    fn variable_converters() {
        let a = |d: &str, v: &str, x: &str| {
            vec![Arg::Str(d.into()), Arg::Str(v.into()), Arg::Str(x.into())]
        };
        assert_eq!(
            text(add_item(&a(",", "txn.var", "_suff_"), s(""), &Vars)),
            "var_content_suff_"
        );
        assert_eq!(
            text(add_item(&a(",", "txn.var", ""), s("in"), &Vars)),
            "in,var_content"
        );
        assert_eq!(text(add_item(&a(",", "", "_s"), s("in"), &Vars)), "in,_s");
        assert_eq!(
            text(add_item(&a(",", "txn.unset", ""), s("in"), &Vars)),
            "in"
        );
        assert_eq!(
            text(concat(&a("_", "txn.var", "!"), s("x"), &Vars)),
            "x_var_content!"
        );
        let one = [Arg::Str("txn.var".into())];
        assert_eq!(strcmp(&one, s("var_content"), &Vars), Some(Sample::Sint(0)));
        assert_eq!(strcmp(&one, s("var"), &Vars), Some(Sample::Sint(-1)));
        assert_eq!(strcmp(&[Arg::Str("txn.unset".into())], s("x"), &Vars), None);
        let eq = |x: &'static str| secure_memcmp(&one, s(x), &Vars);
        assert_eq!(eq("var_content"), Some(Sample::Bool(true)));
        assert_eq!(eq("var_contenu"), Some(Sample::Bool(false)));
        assert_eq!(eq("var"), Some(Sample::Bool(false)));
        let unset = [Arg::Str("txn.unset".into())];
        assert_eq!(secure_memcmp(&unset, s("x"), &Vars), None);
        assert!(prepare_var_args(
            "secure_memcmp",
            vec![Arg::Str("nope".into())],
            &Opts::default()
        )
        .is_err());
        assert!(prepare_var_args("concat", a("", "nope", ""), &Opts::default()).is_err());
        assert!(prepare_var_args("add_item", a(",", "", ""), &Opts::default()).is_err());
    }
}
