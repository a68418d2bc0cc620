//! Converters (configuration.txt §7.3.1 "Converters"): each takes a value of one type
//! and returns one of another; a chain is type-checked at configuration time
//! against HAProxy's cast matrix ([`SmpType::casts_to`]), and a converter that
//! cannot apply at run time makes the sample absent, as in HAProxy.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::acl::Opts;
use crate::args::{int_or_var, Arg, ArgType};
use crate::convext as cx;
use crate::error::ExprError;
use crate::fetch::Context;
use crate::fix;
use crate::hashconv as hc;
use crate::mqtt;
use crate::sample::{Sample, SmpType};
use crate::strconv::{self as sc, prepare_map, prepare_regsub};

/// A converter function over a value already cast to the converter's input type.
pub type ConvFn = for<'a> fn(&[Arg], Sample<'a>) -> Option<Sample<'a>>;

/// A converter that also reads the evaluation's context (a variable named in its
/// arguments: `concat`, `add_item`, `strcmp`).
pub type CtxConvFn = for<'a> fn(&[Arg], Sample<'a>, &'a dyn Context) -> Option<Sample<'a>>;

/// Config-time check and rewrite of a converter's typed arguments.
/// Files (map files) are read through the [`Opts`] the caller gave.
pub type PrepareFn = fn(&str, Vec<Arg>, &Opts<'_>) -> Result<Vec<Arg>, ExprError>;

/// Whether a converter's input is a message cut short (HAProxy's converter
/// setting `SMP_F_MAY_CHANGE`: `fix_is_valid`, `mqtt_*` on `req.payload(0,0)`).
pub type IncompleteFn = fn(&[Arg], &Sample<'_>) -> bool;

/// A converter in the registry.
pub struct ConvDef {
    pub name: &'static str,
    pub args: &'static [ArgType],
    pub min_args: usize,
    pub input: SmpType,
    pub out: SmpType,
    pub prepare: Option<PrepareFn>,
    pub conv: ConvFn,
    /// Set for a converter that reads the context; `conv` is then unused.
    pub ctx_conv: Option<CtxConvFn>,
    /// Set for a converter that waits for a whole message: an incomplete one
    /// gives no value yet and "may change" (tcp-request content waits).
    pub incomplete: Option<IncompleteFn>,
}

impl ConvDef {
    /// Apply the converter to a value already cast to its input type.
    pub fn apply<'a>(
        &self,
        args: &[Arg],
        v: Sample<'a>,
        ctx: &'a dyn Context,
    ) -> Option<Sample<'a>> {
        match self.ctx_conv {
            Some(f) => f(args, v, ctx),
            None => (self.conv)(args, v),
        }
    }
}

fn no_conv<'a>(_: &[Arg], _: Sample<'a>) -> Option<Sample<'a>> {
    None
}

impl std::fmt::Debug for ConvDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for ConvDef {
    fn eq(&self, o: &ConvDef) -> bool {
        self.name == o.name
    }
}

fn int(s: &Sample<'_>) -> i64 {
    match s {
        Sample::Sint(v) => *v,
        Sample::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

fn operand(args: &[Arg]) -> i64 {
    match args.first() {
        Some(Arg::Int(v)) => *v,
        _ => 0,
    }
}

/// Arithmetic operands are checked and stored as an integer, or as the name of
/// the variable read at each evaluation (§7.3.1 `add(<value>)`: "a variable
/// name").
fn prepare_operand(conv: &str, args: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    match int_or_var(conv, &args) {
        Ok(v) => Ok(vec![Arg::Int(v)]),
        Err(e) if e.kind == crate::ErrorKind::Unsupported => match args.into_iter().next() {
            Some(Arg::Str(name)) => Ok(vec![Arg::Str(name.trim().to_string())]),
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// The operand's value: the integer, or the variable's cast to one (HAProxy's
/// `sample_conv_var2smp_sint`: an unset or uncastable variable fails the
/// converter).
fn var_operand(a: &[Arg], ctx: &dyn Context) -> Option<i64> {
    match a.first() {
        Some(Arg::Str(name)) => match ctx.var(name)?.cast(SmpType::Sint)? {
            Sample::Sint(v) => Some(v),
            _ => None,
        },
        Some(Arg::Int(v)) => Some(*v),
        _ => Some(0),
    }
}

/// The arithmetic converters over the context: the operand resolved, then the
/// plain converter.
macro_rules! var_operand_convs {
    ($($w:ident => $f:ident),*) => {$(
        fn $w<'a>(a: &[Arg], s: Sample<'a>, ctx: &'a dyn Context) -> Option<Sample<'a>> {
            $f(&[Arg::Int(var_operand(a, ctx)?)], s)
        }
    )*};
}
var_operand_convs!(add_v => add, sub_v => sub, mul_v => mul, div_v => div,
    modulo_v => modulo, and_v => and, or_v => or, xor_v => xor);

fn map_bytes<'a>(s: Sample<'a>, f: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Option<Sample<'a>> {
    let Sample::Str(b) = s else { return None };
    Some(Sample::Str(match f(&b) {
        Some(v) => Cow::Owned(v),
        None => b,
    }))
}

fn lower<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    map_bytes(s, |b| {
        b.iter()
            .any(u8::is_ascii_uppercase)
            .then(|| b.to_ascii_lowercase())
    })
}
fn upper<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    map_bytes(s, |b| {
        b.iter()
            .any(u8::is_ascii_lowercase)
            .then(|| b.to_ascii_uppercase())
    })
}
fn length<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(s.bytes()?.len() as i64))
}
fn to_bool<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Bool(int(&s) != 0))
}
fn not<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Bool(int(&s) == 0))
}
fn odd<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Bool(int(&s) & 1 == 1))
}
fn even<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Bool(int(&s) & 1 == 0))
}
fn neg<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(int(&s).wrapping_neg()))
}
fn cpl<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(!int(&s)))
}
fn add<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(int(&s).saturating_add(operand(a))))
}
fn sub<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(int(&s).saturating_sub(operand(a))))
}
fn mul<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(int(&s).saturating_mul(operand(a))))
}
/// `div`: a division by zero gives the largest integer, as HAProxy.
fn div<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let d = operand(a);
    Some(Sample::Sint(if d == 0 {
        i64::MAX
    } else {
        int(&s).saturating_div(d)
    }))
}
/// `mod`: modulo zero gives 0, as HAProxy.
fn modulo<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let d = operand(a);
    Some(Sample::Sint(if d == 0 {
        0
    } else {
        int(&s).wrapping_rem(d)
    }))
}
fn and<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(int(&s) & operand(a)))
}
fn or<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(int(&s) | operand(a)))
}
fn xor<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Sint(int(&s) ^ operand(a)))
}
/// `ipmask(<mask4>[,<mask6>])`: an IPv4-mapped or 6to4 IPv6 address is masked as
/// IPv4 (HAProxy's `c_ipv62ip` first); another IPv6 address needs the second mask.
/// Each mask is a prefix length or an address-shaped mask of any bits.
fn ipmask<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let mask4 = match a.first() {
        Some(Arg::Mask(m)) => u32::MAX.checked_shl(32 - u32::from(*m)).unwrap_or(0),
        Some(Arg::Mask4(m)) => *m,
        _ => return None,
    };
    let s = match s {
        Sample::Ipv6(ip) => match crate::sample::v6_to_v4(&ip) {
            Some(v4) => Sample::Ipv4(v4),
            None => Sample::Ipv6(ip),
        },
        s => s,
    };
    match s {
        Sample::Ipv4(ip) => Some(Sample::Ipv4(Ipv4Addr::from(u32::from(ip) & mask4))),
        Sample::Ipv6(ip) => {
            let m = match a.get(1) {
                Some(Arg::Mask(b6)) => u128::MAX.checked_shl(128 - u32::from(*b6)).unwrap_or(0),
                Some(Arg::Mask6(m)) => *m,
                _ => return None,
            };
            Some(Sample::Ipv6(Ipv6Addr::from(u128::from(ip) & m)))
        }
        _ => None,
    }
}
/// `hex`: upper-case hexadecimal text of the bytes.
fn hex<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let b = s.bytes()?;
    let mut out = Vec::with_capacity(b.len() * 2);
    for &c in b {
        out.push(H[usize::from(c >> 4)]);
        out.push(H[usize::from(c & 15)]);
    }
    Some(Sample::Str(Cow::Owned(out)))
}
/// `hex2i` (configuration.txt §7.3.1): the hexadecimal text read as a signed 64-bit
/// integer, most significant digit first; any non-hex character (a sign, a space, a
/// `0x` prefix) makes the sample absent. As HAProxy's `sample_conv_hex2int`, more than
/// 16 digits keep the low 64 bits (the shift wraps), and the empty string is 0.
fn hex2i<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let Sample::Str(b) = s else { return None };
    let mut n: u64 = 0;
    for &c in b.iter() {
        let d = char::from(c).to_digit(16)?;
        n = (n << 4) | u64::from(d);
    }
    Some(Sample::Sint(n as i64))
}
/// `bytes(<offset>[,<length>])`: a slice of the binary value (empty past its end).
fn bytes<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let Sample::Bin(b) = s else { return None };
    let off = match a.first() {
        Some(Arg::Int(o)) => usize::try_from(*o).ok()?,
        _ => return None,
    };
    let len = b.len();
    let start = off.min(len);
    let end = match a.get(1) {
        Some(Arg::Int(l)) => start.saturating_add(usize::try_from(*l).ok()?).min(len),
        _ => len,
    };
    Some(Sample::Bin(match b {
        Cow::Borrowed(b) => Cow::Borrowed(&b[start..end]),
        Cow::Owned(v) => Cow::Owned(v[start..end].to_vec()),
    }))
}
fn trim<'a>(a: &[Arg], s: Sample<'a>, left: bool) -> Option<Sample<'a>> {
    let Some(Arg::Str(set)) = a.first() else {
        return None;
    };
    let set = set.as_bytes();
    let Sample::Str(b) = s else { return None };
    let keep = |c: &u8| !set.contains(c);
    let (start, end) = if left {
        (b.iter().position(keep).unwrap_or(b.len()), b.len())
    } else {
        (0, b.iter().rposition(keep).map_or(0, |i| i + 1))
    };
    Some(Sample::Str(match b {
        Cow::Borrowed(b) => Cow::Borrowed(&b[start..end]),
        Cow::Owned(v) => Cow::Owned(v[start..end].to_vec()),
    }))
}
fn ltrim<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    trim(a, s, true)
}
fn rtrim<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    trim(a, s, false)
}

macro_rules! conv {
    ($name:expr, $args:expr, $min:expr, $in:ident => $out:ident, $prep:expr, $f:expr) => {
        conv!(@ $name, $args, $min, $in => $out, $prep, $f, None)
    };
    (@ $name:expr, $args:expr, $min:expr, $in:ident => $out:ident, $prep:expr, $f:expr, $ctx:expr) => {
        ConvDef {
            name: $name,
            args: $args,
            min_args: $min,
            input: SmpType::$in,
            out: SmpType::$out,
            prepare: $prep,
            conv: $f,
            ctx_conv: $ctx,
            incomplete: None,
        }
    };
}

/// A converter that waits for a whole message ([`IncompleteFn`]).
macro_rules! msgconv {
    ($name:expr, $args:expr, $min:expr, $in:ident => $out:ident, $prep:expr, $f:expr, $inc:expr) => {
        ConvDef {
            incomplete: Some($inc),
            ..conv!($name, $args, $min, $in => $out, $prep, $f)
        }
    };
}

/// A converter over the context ([`CtxConvFn`]).
macro_rules! ctxconv {
    ($name:expr, $args:expr, $min:expr, $in:ident => $out:ident, $prep:expr, $f:expr) => {
        conv!(@ $name, $args, $min, $in => $out, $prep, no_conv, Some($f))
    };
}

const STR1: &[ArgType] = &[ArgType::Str];
const OP: Option<PrepareFn> = Some(prepare_operand);
const MAP: Option<PrepareFn> = Some(prepare_map);
const STR2: &[ArgType] = &[ArgType::Str, ArgType::Str];
const STR3: &[ArgType] = &[ArgType::Str, ArgType::Str, ArgType::Str];
const STR5: &[ArgType] = &[ArgType::Str; 5];
const STR_INT2: &[ArgType] = &[ArgType::Str, ArgType::Int, ArgType::Int];
const INT1: &[ArgType] = &[ArgType::Int];
const BE2: Option<PrepareFn> = Some(cx::prepare_be2);
const VARS: Option<PrepareFn> = Some(cx::prepare_var_args);
const FIELD: &[ArgType] = &[ArgType::Int, ArgType::Str, ArgType::Int];

/// `map_<match>[_<output>]` entries: input type by match method, output by suffix.
macro_rules! maps {
    ($($name:expr, $in:ident => $out:ident;)*) => {
        [$(conv!($name, STR2, 1, $in => $out, MAP, sc::map)),*]
    };
}

/// Every converter the engine applies (types as `haproxy -dKall` lists them).
pub static CONVERTERS: &[ConvDef] = &[
    conv!("lower", &[], 0, Str => Str, None, lower),
    conv!("upper", &[], 0, Str => Str, None, upper),
    conv!("length", &[], 0, Str => Sint, None, length),
    conv!("bool", &[], 0, Sint => Bool, None, to_bool),
    conv!("not", &[], 0, Sint => Bool, None, not),
    conv!("odd", &[], 0, Sint => Bool, None, odd),
    conv!("even", &[], 0, Sint => Bool, None, even),
    conv!("neg", &[], 0, Sint => Sint, None, neg),
    conv!("cpl", &[], 0, Sint => Sint, None, cpl),
    conv!(@ "add", STR1, 1, Sint => Sint, OP, add, Some(add_v)),
    conv!(@ "sub", STR1, 1, Sint => Sint, OP, sub, Some(sub_v)),
    conv!(@ "mul", STR1, 1, Sint => Sint, OP, mul, Some(mul_v)),
    conv!(@ "div", STR1, 1, Sint => Sint, OP, div, Some(div_v)),
    conv!(@ "mod", STR1, 1, Sint => Sint, OP, modulo, Some(modulo_v)),
    conv!(@ "and", STR1, 1, Sint => Sint, OP, and, Some(and_v)),
    conv!(@ "or", STR1, 1, Sint => Sint, OP, or, Some(or_v)),
    conv!(@ "xor", STR1, 1, Sint => Sint, OP, xor, Some(xor_v)),
    conv!("ipmask", &[ArgType::Msk4, ArgType::Msk6], 1, Addr => Ipv4, None, ipmask),
    conv!("hex", &[], 0, Bin => Str, None, hex),
    conv!("http_date", &[ArgType::Int, ArgType::Str], 0, Sint => Str, None, crate::timefmt::http_date),
    conv!("hex2i", &[], 0, Str => Sint, None, hex2i),
    conv!("bytes", &[ArgType::Int, ArgType::Int], 1, Bin => Bin, None, bytes),
    conv!("ltrim", STR1, 1, Str => Str, None, ltrim),
    conv!("rtrim", STR1, 1, Str => Str, None, rtrim),
    conv!("base64", &[], 0, Bin => Str, None, sc::base64),
    conv!("b64dec", &[], 0, Str => Bin, None, sc::b64dec),
    conv!("url_dec", &[ArgType::Int], 0, Str => Str, None, sc::url_dec),
    conv!("field", FIELD, 2, Str => Str, Some(cx::prepare_field), sc::field),
    conv!("word", FIELD, 2, Str => Str, Some(cx::prepare_field), sc::word),
    conv!("regsub", &[ArgType::Str, ArgType::Str, ArgType::Str], 2, Str => Str, Some(prepare_regsub), sc::regsub),
    conv!("json", STR1, 0, Str => Str, Some(cx::prepare_json), cx::json),
    // §7.3.1, added for HAProxy's converter/* and sample_fetches/* reg-tests.
    conv!("be2dec", STR_INT2, 2, Bin => Str, BE2, cx::be2dec),
    conv!("be2hex", STR_INT2, 0, Bin => Str, BE2, cx::be2hex),
    conv!("ub64enc", &[], 0, Bin => Str, None, cx::ub64enc),
    conv!("ub64dec", &[], 0, Str => Bin, None, cx::ub64dec),
    conv!("url_enc", STR1, 0, Str => Str, Some(cx::prepare_url_enc), cx::url_enc),
    conv!("iif", STR2, 2, Bool => Str, None, cx::iif),
    conv!("json_query", STR2, 1, Str => Any, Some(cx::prepare_json_query), cx::json_query),
    ctxconv!("concat", STR3, 0, Str => Str, VARS, cx::concat),
    ctxconv!("set-var", STR5, 1, Any => Any, Some(crate::varcond::prepare_set_var), crate::varcond::set_var_conv),
    ctxconv!("add_item", STR3, 1, Str => Str, VARS, cx::add_item),
    ctxconv!("strcmp", STR1, 1, Str => Sint, VARS, cx::strcmp),
    ctxconv!("secure_memcmp", STR1, 1, Bin => Bool, VARS, cx::secure_memcmp),
    conv!("crc32", INT1, 0, Bin => Sint, None, hc::conv_crc32),
    conv!("crc32c", INT1, 0, Bin => Sint, None, hc::conv_crc32c),
    conv!("djb2", INT1, 0, Bin => Sint, None, hc::conv_djb2),
    conv!("sdbm", INT1, 0, Bin => Sint, None, hc::conv_sdbm),
    conv!("wt6", INT1, 0, Bin => Sint, None, hc::conv_wt6),
    conv!("xxh3", INT1, 0, Bin => Sint, None, hc::conv_xxh3),
    conv!("xxh32", INT1, 0, Bin => Sint, None, hc::conv_xxh32),
    conv!("xxh64", INT1, 0, Bin => Sint, None, hc::conv_xxh64),
    conv!("sha1", &[], 0, Bin => Bin, None, hc::conv_sha1),
    conv!("sha2", INT1, 0, Bin => Bin, Some(hc::prepare_sha2), hc::conv_sha2),
    msgconv!("fix_is_valid", &[], 0, Bin => Bool, None, fix::is_valid, fix::is_valid_incomplete),
    msgconv!("fix_tag_value", STR1, 1, Bin => Bin, Some(fix::prepare_tag), fix::tag, fix::tag_incomplete),
    msgconv!("mqtt_is_valid", &[], 0, Bin => Bool, None, mqtt::is_valid, mqtt::incomplete),
    msgconv!("mqtt_field_value", STR2, 2, Bin => Str, Some(mqtt::prepare_field), mqtt::field_value, mqtt::incomplete),
];

/// The `map_*` converters (configuration.txt §7.3.1 "map").
pub static MAP_CONVERTERS: [ConvDef; 33] = maps![
    "map", Str => Str;
    "map_str", Str => Str;
    "map_beg", Str => Str;
    "map_sub", Str => Str;
    "map_dir", Str => Str;
    "map_dom", Str => Str;
    "map_end", Str => Str;
    "map_reg", Str => Str;
    "map_int", Sint => Str;
    "map_ip", Addr => Str;
    "map_str_int", Str => Sint;
    "map_beg_int", Str => Sint;
    "map_sub_int", Str => Sint;
    "map_dir_int", Str => Sint;
    "map_dom_int", Str => Sint;
    "map_end_int", Str => Sint;
    "map_reg_int", Str => Sint;
    "map_int_int", Sint => Sint;
    "map_ip_int", Addr => Sint;
    "map_str_ip", Str => Addr;
    "map_beg_ip", Str => Addr;
    "map_sub_ip", Str => Addr;
    "map_dir_ip", Str => Addr;
    "map_dom_ip", Str => Addr;
    "map_end_ip", Str => Addr;
    "map_reg_ip", Str => Addr;
    "map_int_ip", Sint => Addr;
    "map_ip_ip", Addr => Addr;
    "map_len", Str => Str;
    "map_len_int", Str => Sint;
    "map_regm", Str => Str;
    "map_regm_int", Str => Sint;
    "map_regm_ip", Str => Addr;
];

/// Every converter: [`CONVERTERS`], [`MAP_CONVERTERS`], then the stick-table ones.
pub fn all() -> impl Iterator<Item = &'static ConvDef> {
    CONVERTERS
        .iter()
        .chain(MAP_CONVERTERS.iter())
        .chain(crate::stktab::CONVERTERS)
}

/// The converter named `name`.
pub fn find_conv(name: &str) -> Option<&'static ConvDef> {
    all().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<'a>(name: &str, args: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
        let c = find_conv(name).expect(name);
        struct NoCtx;
        impl Context for NoCtx {}
        c.apply(args, s.cast(c.input)?, &NoCtx)
    }
    fn s(b: &'static str) -> Sample<'static> {
        Sample::Str(Cow::Borrowed(b.as_bytes()))
    }

    #[test]
    fn converters_table() {
        let i = Sample::Sint;
        let cases: Vec<(&str, Vec<Arg>, Sample<'static>, Option<Sample<'static>>)> = vec![
            ("lower", vec![], s("AbC"), Some(s("abc"))),
            ("upper", vec![], s("AbC"), Some(s("ABC"))),
            ("length", vec![], s("four"), Some(i(4))),
            ("bool", vec![], i(7), Some(Sample::Bool(true))),
            ("not", vec![], i(0), Some(Sample::Bool(true))),
            ("odd", vec![], i(3), Some(Sample::Bool(true))),
            ("even", vec![], i(3), Some(Sample::Bool(false))),
            ("neg", vec![], i(3), Some(i(-3))),
            ("cpl", vec![], i(0), Some(i(-1))),
            ("add", vec![Arg::Int(2)], i(3), Some(i(5))),
            ("add", vec![Arg::Int(1)], i(i64::MAX), Some(i(i64::MAX))),
            ("sub", vec![Arg::Int(2)], i(3), Some(i(1))),
            ("mul", vec![Arg::Int(2)], i(3), Some(i(6))),
            ("div", vec![Arg::Int(2)], i(7), Some(i(3))),
            ("div", vec![Arg::Int(0)], i(7), Some(i(i64::MAX))),
            ("mod", vec![Arg::Int(0)], i(7), Some(i(0))),
            ("mod", vec![Arg::Int(4)], i(7), Some(i(3))),
            ("and", vec![Arg::Int(6)], i(3), Some(i(2))),
            ("or", vec![Arg::Int(4)], i(3), Some(i(7))),
            ("xor", vec![Arg::Int(1)], i(3), Some(i(2))),
            (
                "ipmask",
                vec![Arg::Mask(24)],
                Sample::Ipv4(Ipv4Addr::new(10, 1, 2, 3)),
                Some(Sample::Ipv4(Ipv4Addr::new(10, 1, 2, 0))),
            ),
            (
                "ipmask",
                vec![Arg::Mask(24)],
                Sample::Ipv6(Ipv6Addr::LOCALHOST),
                None,
            ),
            (
                "ipmask",
                vec![Arg::Mask4(0xff00_ff00)],
                Sample::Ipv4(Ipv4Addr::new(10, 1, 2, 3)),
                Some(Sample::Ipv4(Ipv4Addr::new(10, 0, 2, 0))),
            ),
            (
                "ipmask",
                vec![Arg::Mask(0), Arg::Mask(64)],
                Sample::Ipv6("2001:db8::1".parse().unwrap()),
                Some(Sample::Ipv6("2001:db8::".parse().unwrap())),
            ),
            (
                "hex",
                vec![],
                Sample::Bin(Cow::Borrowed(b"\x16\x03")),
                Some(s("1603")),
            ),
            ("hex2i", vec![], s("A3f1"), Some(i(0xa3f1))),
            ("hex2i", vec![], s(""), Some(i(0))),
            ("hex2i", vec![], s("7F000001"), Some(i(0x7f00_0001))),
            ("hex2i", vec![], s("FFFFFFFFFFFFFFFF"), Some(i(-1))),
            ("hex2i", vec![], s("1FFFFFFFFFFFFFFFF"), Some(i(-1))),
            ("hex2i", vec![], s("0x10"), None),
            ("hex2i", vec![], s("-1"), None),
            ("hex2i", vec![], s("1 "), None),
            (
                "bytes",
                vec![Arg::Int(1), Arg::Int(2)],
                Sample::Bin(Cow::Borrowed(b"abcd")),
                Some(Sample::Bin(Cow::Borrowed(b"bc"))),
            ),
            (
                "bytes",
                vec![Arg::Int(9)],
                Sample::Bin(Cow::Borrowed(b"abcd")),
                Some(Sample::Bin(Cow::Borrowed(b""))),
            ),
            (
                "ltrim",
                vec![Arg::Str(" x".into())],
                s(" xab "),
                Some(s("ab ")),
            ),
            (
                "rtrim",
                vec![Arg::Str(" ".into())],
                s(" ab  "),
                Some(s(" ab")),
            ),
        ];
        for (name, args, input, want) in cases {
            assert_eq!(
                run(name, &args, input.clone()),
                want,
                "{name}({args:?}) on {input:?}"
            );
        }
    }

    #[test]
    fn lower_borrows_when_nothing_changes() {
        let out = run("lower", &[], s("abc")).unwrap();
        assert!(matches!(out, Sample::Str(Cow::Borrowed(_))));
    }
}
