//! The FIX protocol converters (configuration.txt §7.3.1 `fix_is_valid`,
//! `fix_tag_value`): a FIX message is `tag=value` fields each ended by SOH
//! (0x01), BeginString (8) first, BodyLength (9) second, MsgType (35) third,
//! CheckSum (10) last. The checks are HAProxy 2.6's (src/fix.c), including
//! "need more data": a message cut short is neither valid nor invalid yet.

use std::borrow::Cow;

use crate::acl::Opts;
use crate::args::Arg;
use crate::error::ExprError;
use crate::sample::Sample;

const SOH: u8 = 0x01;
const MIN_SIZE: usize = 26;
const BEGIN_STRING: u32 = 8;
const BODY_LENGTH: u32 = 9;
const CHECKSUM: u32 = 10;
const MSG_TYPE: u32 = 35;

/// A validation's outcome (HAProxy's FIX_*_MESSAGE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid,
    Invalid,
    NeedMore,
}

/// HAProxy's `read_uint` over all of `s`: `None` unless only digits (and the
/// value fits).
fn uint(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `fix_check_id`: a tag id, checked against the version's range when known.
fn check_id(tag: &[u8], version: Option<&[u8]>) -> Option<u32> {
    let id = uint(tag).filter(|&i| i > 0)?;
    let Some(v) = version else { return Some(id) };
    if (10000..=19999).contains(&id) {
        return Some(id);
    }
    let max = match v {
        b"FIX.4.0" => 140,
        b"FIX.4.1" => 211,
        b"FIX.4.2" => 446,
        b"FIX.4.3" => 659,
        b"FIX.4.4" => 956,
        b"FIXT.1.1" => 1621,
        _ => 0,
    };
    (id <= max).then_some(id)
}

/// One `tag=value<SOH>` at the start of `p`: `Err(true)` when it is not all
/// there yet, `Err(false)` when it is malformed.
fn field(p: &[u8]) -> Result<(&[u8], &[u8]), bool> {
    let eq = p.iter().position(|&c| c == b'=').ok_or(true)?;
    let end = eq + p[eq..].iter().position(|&c| c == SOH).ok_or(true)?;
    if eq == 0 {
        return Err(false);
    }
    Ok((&p[..eq], &p[eq + 1..end]))
}

/// `fix_validate_message`.
pub fn validate(msg: &[u8]) -> Validity {
    if msg.len() < MIN_SIZE {
        return Validity::NeedMore;
    }
    let mut p = msg;
    let (mut version, mut n, mut sum, mut bodylen) = (None, 0u32, 0u8, 0usize);
    let mut body: Option<usize> = None;
    while !p.is_empty() {
        let (tag, value) = match field(p) {
            Ok(f) => f,
            Err(true) => return Validity::NeedMore,
            Err(false) => return Validity::Invalid,
        };
        let Some(id) = check_id(tag, version) else {
            return Validity::Invalid;
        };
        n += 1;
        let at = msg.len() - p.len();
        match n {
            1 => {
                if id != BEGIN_STRING || value.len() < 7 {
                    return Validity::Invalid;
                }
                match value {
                    b"FIX.4.0" | b"FIX.4.1" | b"FIX.4.2" | b"FIX.4.3" | b"FIX.4.4"
                    | b"FIXT.1.1" => version = Some(value),
                    _ => return Validity::Invalid,
                }
            }
            2 => {
                match (id, uint(value)) {
                    (BODY_LENGTH, Some(l)) if l > 0 => bodylen = l as usize,
                    _ => return Validity::Invalid,
                }
                body = Some(at + tag.len() + 1 + value.len() + 1);
            }
            3 if id != MSG_TYPE => return Validity::Invalid,
            _ if n > 3 && id == CHECKSUM => {
                let ok = body.is_some_and(|b| at.checked_sub(b) == Some(bodylen))
                    && value.len() == 3
                    && uint(value) == Some(u32::from(sum));
                return if ok {
                    Validity::Valid
                } else {
                    Validity::Invalid
                };
            }
            _ => {}
        }
        for &c in tag.iter().chain(b"=").chain(value).chain(&[SOH]) {
            sum = sum.wrapping_add(c);
        }
        p = &p[tag.len() + value.len() + 2..];
    }
    // Into the body without the CheckSum yet (and a shorter start is, too).
    let _ = body;
    Validity::NeedMore
}

/// `fix_tag_value`: the value of tag `id`; `Err(true)` when more data may bring
/// it, `Err(false)` when absent or the message is invalid.
pub fn tag_value(msg: &[u8], id: u32) -> Result<&[u8], bool> {
    let mut p = msg;
    while !p.is_empty() {
        let (tag, value) = field(p)?;
        if value.is_empty() {
            return Err(false);
        }
        let t = check_id(tag, None).ok_or(false)?;
        if t == id {
            return Ok(value);
        }
        if t == CHECKSUM {
            return Err(false);
        }
        p = &p[tag.len() + value.len() + 2..];
    }
    Err(true)
}

/// `fix_tag_value(<tag>)`'s argument: a tag id or one of HAProxy's names,
/// stored as the id (`sample_conv_fix_value_check`).
pub(crate) fn prepare_tag(_: &str, a: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    let name = match a.first() {
        Some(Arg::Str(s)) => s.as_str(),
        _ => "",
    };
    let id = check_id(name.as_bytes(), None).or_else(|| {
        [
            ("MsgType", MSG_TYPE),
            ("CheckSum", CHECKSUM),
            ("BodyLength", BODY_LENGTH),
            ("TargetCompID", 56),
            ("BeginString", BEGIN_STRING),
            ("SenderCompID", 49),
        ]
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, i)| *i)
    });
    match id {
        Some(i) => Ok(vec![Arg::Int(i64::from(i))]),
        None => Err(ExprError::invalid(format!(
            "invalid args in converter 'fix_tag_value' : Unknown FIX tag name '{name}'"
        ))),
    }
}

/// `fix_is_valid`: a boolean once the message is complete (none before).
pub(crate) fn is_valid<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    match validate(s.bytes()?) {
        Validity::Valid => Some(Sample::Bool(true)),
        Validity::Invalid => Some(Sample::Bool(false)),
        Validity::NeedMore => None,
    }
}

/// Whether `fix_is_valid` waits for more data.
pub(crate) fn is_valid_incomplete(_: &[Arg], s: &Sample<'_>) -> bool {
    s.bytes().is_some_and(|b| validate(b) == Validity::NeedMore)
}

fn tag_arg(a: &[Arg]) -> u32 {
    match a.first() {
        Some(Arg::Int(i)) => u32::try_from(*i).unwrap_or(0),
        _ => 0,
    }
}

/// `fix_tag_value(<tag>)`.
pub(crate) fn tag<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let id = tag_arg(a);
    let v = match s {
        Sample::Bin(Cow::Borrowed(b)) | Sample::Str(Cow::Borrowed(b)) => {
            Cow::Borrowed(tag_value(b, id).ok()?)
        }
        s => Cow::Owned(tag_value(s.bytes()?, id).ok()?.to_vec()),
    };
    Some(Sample::Bin(v))
}

/// Whether `fix_tag_value` waits for more data.
pub(crate) fn tag_incomplete(a: &[Arg], s: &Sample<'_>) -> bool {
    s.bytes()
        .is_some_and(|b| tag_value(b, tag_arg(a)) == Err(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(fields: &str) -> Vec<u8> {
        fields.replace('|', "\u{1}").into_bytes()
    }

    #[test]
    fn messages_of_the_reg_test() {
        // converter/fix.vtc's server answers (FIX 4.0 to 5.0).
        for m in [
            "8=FIX.4.0|9=66|35=A|34=1|49=EXECUTOR|52=20201029-10:54:19|56=CLIENT1|98=0|108=30|10=147|",
            "8=FIX.4.4|9=79|35=A|34=1|49=EXECUTOR|52=20201029-13:02:44.535360|56=CLIENT1|98=0|108=30|141=Y|10=038|",
            "8=FIXT.1.1|9=86|35=A|34=1|49=EXECUTOR|52=20201029-13:13:22.626384|56=CLIENT1|98=0|108=30|141=Y|1137=7|10=184|",
        ] {
            assert_eq!(validate(&msg(m)), Validity::Valid, "{m}");
        }
        let m = msg("8=FIX.4.4|9=79|35=A|34=1|49=EXECUTOR|52=20201029-13:02:44.535360|56=CLIENT1|98=0|108=30|141=Y|10=038|");
        assert_eq!(validate(&m[..m.len() - 3]), Validity::NeedMore);
        assert_eq!(validate(&m[..10]), Validity::NeedMore);
        for bad in [
            "9=102|8=FIX.4.4|35=A|49=CLIENT1|56=EXECUTOR|34=1|10=252|",
            "8=FIX.4.4|9=79|35=A|34=1|=0|49=EXECUTOR|56=CLIENT1|10=038|",
            "8=FIX.4.4|9=80|35=A|34=1|49=EXECUTOR|52=20201029-13:02:44.535360|56=CLIENT1|98=0|108=30|141=Y|10=038|",
            "8=FIX.4.4|9=79|35=A|34=1|49=EXECUTOR|52=20201029-13:02:44.535360|56=CLIENT1|98=0|108=30|141=Y|10=039|",
            "8=FIX.9.9|9=79|35=A|34=1|49=EXECUTOR|52=20201029-13:02:44.535360|56=CLIENT1|98=0|10=038|",
        ] {
            assert_eq!(validate(&msg(bad)), Validity::Invalid, "{bad}");
        }
        assert_eq!(tag_value(&m, 49), Ok(&b"EXECUTOR"[..]));
        assert_eq!(tag_value(&m, 10), Ok(&b"038"[..]));
        assert_eq!(tag_value(&m, 999), Err(false));
        assert_eq!(tag_value(&m[..20], 49), Err(true));
    }

    #[test]
    fn tag_names() {
        let p = |s: &str| prepare_tag("", vec![Arg::Str(s.into())], &Opts::default());
        assert_eq!(p("SenderCompID"), Ok(vec![Arg::Int(49)]));
        assert_eq!(p("bodylength"), Ok(vec![Arg::Int(9)]));
        assert_eq!(p("35"), Ok(vec![Arg::Int(35)]));
        assert!(p("Nope").is_err());
        assert!(p("0").is_err());
    }
}
