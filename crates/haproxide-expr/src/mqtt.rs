//! The MQTT converters (configuration.txt §7.3.1 `mqtt_is_valid`,
//! `mqtt_field_value`): CONNECT and CONNACK packets of MQTT 3.1.1 and 5.0
//! validated and read as HAProxy 2.6 does (src/mqtt.c): fixed header flags,
//! remaining length, variable header, v5 properties (each at most once, value
//! ranges), payload; a packet cut short is neither valid nor invalid yet.

use std::borrow::Cow;

use crate::acl::Opts;
use crate::args::Arg;
use crate::error::ExprError;
use crate::sample::Sample;

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const V31: u8 = 3;
const V311: u8 = 4;
const V5: u8 = 5;
const FL_RESERVED: u8 = 0x01;
const FL_WILL: u8 = 0x04;
const FL_WILL_QOS: u8 = 0x18;
const FL_WILL_RETAIN: u8 = 0x20;
const FL_PASSWORD: u8 = 0x40;
const FL_USERNAME: u8 = 0x80;
const USER_PROPERTY: u8 = 0x26;

/// HAProxy's `mqtt_cpt_flags`: the fixed header flags each packet type must have.
const TYPE_FLAGS: [u8; 16] = [0, 0, 0, 0x0F, 0, 0, 0x02, 0, 0x02, 0, 0x02, 0, 0, 0, 0, 0];
const TYPE_NAMES: [&str; 16] = [
    "",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

/// A validation's outcome (HAProxy's MQTT_*_MESSAGE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid,
    Invalid,
    NeedMore,
}

/// A property's or field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val<'a> {
    Int(u32),
    Str(&'a [u8]),
}

/// A parsed CONNECT or CONNACK.
#[derive(Debug, Default)]
struct Packet<'a> {
    kind: u8,
    version: u8,
    flags: u8,
    reason: u8,
    keepalive: u16,
    protocol_name: &'a [u8],
    client_id: &'a [u8],
    will_topic: &'a [u8],
    will_payload: &'a [u8],
    username: &'a [u8],
    password: &'a [u8],
    /// Properties (variable header), by id.
    props: Vec<(u8, Val<'a>)>,
    /// Will properties (CONNECT v5 with the will flag).
    will_props: Vec<(u8, Val<'a>)>,
}

struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn n(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u16(&mut self) -> Option<u16> {
        self.n(2).map(|b| u16::from(b[0]) << 8 | u16::from(b[1]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.n(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Option<&'a [u8]> {
        let l = self.u16()?;
        self.n(usize::from(l))
    }
    /// `mqtt_read_varint`: at most 4 bytes; a 4th with the continuation bit is
    /// an error, running out is not (the length check says "more").
    fn varint(&mut self) -> Option<u32> {
        let (mut v, mut m) = (0u32, 0u32);
        for off in 0..4 {
            let Some(b) = self.u8() else { return Some(v) };
            v = v.wrapping_add(u32::from(b & 127) << m);
            m += 7;
            if b <= 127 {
                return Some(v);
            }
            if off == 3 {
                return None;
            }
        }
        None
    }
}

/// How a property is read and checked: 1, 2, 4 bytes, a string, a name/value pair.
#[derive(Clone, Copy)]
enum Kind {
    B1Bool,
    B2,
    B2NonZero,
    B4,
    B4NonZero,
    Str,
    StrNonEmpty,
    Pair,
}

fn kind(set: &[(u8, Kind)], id: u8) -> Option<Kind> {
    set.iter().find(|(i, _)| *i == id).map(|(_, k)| *k)
}

const CONNECT_PROPS: &[(u8, Kind)] = &[
    (0x11, Kind::B4),
    (0x21, Kind::B2NonZero),
    (0x27, Kind::B4NonZero),
    (0x22, Kind::B2),
    (0x19, Kind::B1Bool),
    (0x17, Kind::B1Bool),
    (USER_PROPERTY, Kind::Pair),
    (0x15, Kind::Str),
    (0x16, Kind::Str),
];
const WILL_PROPS: &[(u8, Kind)] = &[
    (0x18, Kind::B4),
    (0x01, Kind::B1Bool),
    (0x02, Kind::B4),
    (0x03, Kind::Str),
    (0x08, Kind::Str),
    (0x09, Kind::Str),
    (USER_PROPERTY, Kind::Pair),
];
const CONNACK_PROPS: &[(u8, Kind)] = &[
    (0x11, Kind::B4),
    (0x21, Kind::B2NonZero),
    (0x24, Kind::B1Bool),
    (0x25, Kind::B1Bool),
    (0x27, Kind::B4NonZero),
    (0x12, Kind::StrNonEmpty),
    (0x22, Kind::B2),
    (0x1F, Kind::Str),
    (0x28, Kind::B1Bool),
    (0x29, Kind::B1Bool),
    (0x2A, Kind::B1Bool),
    (0x13, Kind::B2),
    (0x1A, Kind::Str),
    (0x1C, Kind::Str),
    (USER_PROPERTY, Kind::Pair),
    (0x15, Kind::Str),
    (0x16, Kind::Str),
];

/// A v5 property list (its varint length first): each known id at most once
/// (user properties repeat), values in range; `None` when invalid.
fn props<'a>(r: &mut Rd<'a>, set: &[(u8, Kind)]) -> Option<Vec<(u8, Val<'a>)>> {
    let len = usize::try_from(r.varint()?).ok()?;
    let mut p = Rd(r.n(len)?);
    let mut out: Vec<(u8, Val<'a>)> = Vec::new();
    while let Some(id) = p.u8() {
        let k = kind(set, id)?;
        if id != USER_PROPERTY && out.iter().any(|(i, _)| *i == id) {
            return None;
        }
        let v = match k {
            Kind::B1Bool => Val::Int(u32::from(p.u8().filter(|&b| b <= 1)?)),
            Kind::B2 => Val::Int(u32::from(p.u16()?)),
            Kind::B2NonZero => Val::Int(u32::from(p.u16().filter(|&v| v != 0)?)),
            Kind::B4 => Val::Int(p.u32()?),
            Kind::B4NonZero => Val::Int(p.u32().filter(|&v| v != 0)?),
            Kind::Str => Val::Str(p.string()?),
            Kind::StrNonEmpty => Val::Str(p.string().filter(|s| !s.is_empty())?),
            Kind::Pair => {
                p.string()?;
                Val::Str(p.string()?)
            }
        };
        out.push((id, v));
    }
    Some(out)
}

fn connect<'a>(rest: &'a [u8], remaining: usize, pk: &mut Packet<'a>) -> Option<()> {
    let mut r = Rd(rest);
    // MQTT 3.1 ("MQIsdp", version 3) too: HAProxy 2.6 takes it (the reg-test's
    // last client).
    pk.protocol_name = r
        .string()
        .filter(|n| n.eq_ignore_ascii_case(b"MQTT") || n.eq_ignore_ascii_case(b"MQIsdp"))?;
    pk.version = r.u8().filter(|&v| v == V31 || v == V311 || v == V5)?;
    pk.flags = r.u8().filter(|f| f & FL_RESERVED == 0)?;
    if pk.flags & (FL_WILL | FL_WILL_QOS | FL_WILL_RETAIN) == FL_WILL_QOS {
        return None;
    }
    pk.keepalive = r.u16()?;
    if pk.version == V5 {
        pk.props = props(&mut r, CONNECT_PROPS)?;
        let has = |id| {
            pk.props
                .iter()
                .any(|(i, v)| *i == id && *v != Val::Str(b""))
        };
        if !has(0x15) && has(0x16) {
            return None;
        }
    }
    pk.client_id = r.string()?;
    if pk.version == V5 && pk.flags & FL_WILL != 0 {
        pk.will_props = props(&mut r, WILL_PROPS)?;
    }
    if pk.flags & FL_WILL != 0 {
        pk.will_topic = r.string()?;
        pk.will_payload = r.string()?;
    }
    if pk.flags & FL_USERNAME != 0 {
        pk.username = r.string()?;
    }
    if pk.flags & FL_PASSWORD != 0 {
        pk.password = r.string()?;
    }
    (rest.len() - r.0.len() == remaining).then_some(())
}

fn connack<'a>(rest: &'a [u8], remaining: usize, pk: &mut Packet<'a>) -> Option<()> {
    let mut r = Rd(rest);
    pk.version = match rest.len() {
        0 | 1 => return None,
        2 => V311,
        _ => V5,
    };
    pk.flags = r.u8().filter(|f| f & 0xFE == 0)?;
    pk.reason = r.u8()?;
    if pk.version == V5 {
        pk.props = props(&mut r, CONNACK_PROPS)?;
    }
    (rest.len() - r.0.len() == remaining).then_some(())
}

/// `mqtt_validate_message`, with the packet when valid.
fn parse(msg: &[u8]) -> (Validity, Packet<'_>) {
    let mut pk = Packet::default();
    if msg.len() < 2 {
        return (Validity::NeedMore, pk);
    }
    let (t, flags) = (msg[0] >> 4, msg[0] & 0x0F);
    if t == 0 || flags != TYPE_FLAGS[usize::from(t)] {
        return (Validity::Invalid, pk);
    }
    pk.kind = t;
    let mut r = Rd(&msg[1..]);
    let Some(remaining) = r.varint().and_then(|v| usize::try_from(v).ok()) else {
        return (Validity::Invalid, pk);
    };
    if r.0.len() < remaining {
        return (Validity::NeedMore, pk);
    }
    let rest = r.0;
    let ok = match t {
        CONNECT => connect(rest, remaining, &mut pk),
        CONNACK => connack(rest, remaining, &mut pk),
        _ => None,
    };
    match ok {
        Some(()) => (Validity::Valid, pk),
        None => (Validity::Invalid, pk),
    }
}

/// Whether `msg` is a valid CONNECT or CONNACK.
pub fn validate(msg: &[u8]) -> Validity {
    parse(msg).0
}

/// A field of `mqtt_field_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Flags,
    ReasonCode,
    ProtocolName,
    ProtocolVersion,
    ClientId,
    WillTopic,
    WillPayload,
    Username,
    Password,
    Keepalive,
    Prop(u8),
}

const NAMED: &[(&str, Field)] = &[
    ("flags", Field::Flags),
    ("reason_code", Field::ReasonCode),
    ("protocol_name", Field::ProtocolName),
    ("protocol_version", Field::ProtocolVersion),
    ("client_identifier", Field::ClientId),
    ("will_topic", Field::WillTopic),
    ("will_payload", Field::WillPayload),
    ("username", Field::Username),
    ("password", Field::Password),
    ("keepalive", Field::Keepalive),
];
/// HAProxy's `mqtt_fields_per_packet`: the property ids each type offers.
const CONNECT_FIELDS: &[u8] = &[17, 33, 39, 34, 25, 23, 38, 21, 22, 24, 1, 2, 3, 8, 9];
const CONNACK_FIELDS: &[u8] = &[
    17, 33, 36, 37, 39, 18, 34, 31, 40, 41, 42, 19, 26, 28, 38, 21, 22,
];

fn field_code(f: Field) -> i64 {
    match f {
        Field::Prop(p) => i64::from(p),
        f => 1000 + NAMED.iter().position(|(_, x)| *x == f).unwrap_or(0) as i64,
    }
}
fn field_of(code: i64) -> Option<Field> {
    if (1000..1000 + NAMED.len() as i64).contains(&code) {
        return Some(NAMED[(code - 1000) as usize].1);
    }
    u8::try_from(code).ok().map(Field::Prop)
}

/// `mqtt_field_value(<type>,<field>)`'s arguments (HAProxy's check): a packet
/// type name or number, a field name or property id the type offers.
pub(crate) fn prepare_field(_: &str, a: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    let s = |i: usize| match a.get(i) {
        Some(Arg::Str(s)) => s.as_str(),
        _ => "",
    };
    let err = |m: String| {
        Err(ExprError::invalid(format!(
            "invalid args in converter 'mqtt_field_value' : {m}"
        )))
    };
    let t = TYPE_NAMES
        .iter()
        .position(|n| !n.is_empty() && n.eq_ignore_ascii_case(s(0)))
        .or_else(|| s(0).parse::<usize>().ok().filter(|t| (1..16).contains(t)));
    let Some(t) = t else {
        return err(format!("Unknown MQTT type '{}'", s(0)));
    };
    let f = NAMED
        .iter()
        .find(|(n, _)| *n == s(1))
        .map(|(_, f)| *f)
        .or_else(|| s(1).parse::<u8>().ok().map(Field::Prop));
    let offered = |f: Field| match (t as u8, f) {
        (CONNECT, Field::Prop(p)) => CONNECT_FIELDS.contains(&p),
        (CONNACK, Field::Prop(p)) => CONNACK_FIELDS.contains(&p),
        (CONNECT, Field::ReasonCode) => false,
        (CONNECT, _) => true,
        (CONNACK, f) => matches!(f, Field::Flags | Field::ProtocolVersion | Field::ReasonCode),
        _ => true,
    };
    match f.filter(|f| offered(*f)) {
        Some(f) => Ok(vec![Arg::Int(t as i64), Arg::Int(field_code(f))]),
        None => err(format!(
            "Unsupported field name '{}' for MQTT type '{}'",
            s(1),
            s(0)
        )),
    }
}

fn prop<'a>(list: &[(u8, Val<'a>)], id: u8) -> Val<'a> {
    list.iter()
        .find(|(i, _)| *i == id)
        .map_or(Val::Int(0), |(_, v)| *v)
}

/// The value of `f` in `pk` (HAProxy's `mqtt_field_value` switch): numbers as
/// decimal text (an absent numeric property is 0), strings only when not empty.
fn value<'a>(pk: &Packet<'a>, f: Field) -> Option<Val<'a>> {
    let v5 = pk.version == V5;
    let v = match (pk.kind, f) {
        (_, Field::Flags) => Val::Int(u32::from(pk.flags)),
        (_, Field::ProtocolVersion) => Val::Int(u32::from(pk.version)),
        (CONNACK, Field::ReasonCode) => Val::Int(u32::from(pk.reason)),
        (CONNECT, Field::ProtocolName) => Val::Str(pk.protocol_name),
        (CONNECT, Field::ClientId) => Val::Str(pk.client_id),
        (CONNECT, Field::WillTopic) => Val::Str(pk.will_topic),
        (CONNECT, Field::WillPayload) => Val::Str(pk.will_payload),
        (CONNECT, Field::Username) => Val::Str(pk.username),
        (CONNECT, Field::Password) => Val::Str(pk.password),
        (CONNECT, Field::Keepalive) => Val::Int(u32::from(pk.keepalive)),
        (CONNECT, Field::Prop(p @ (1 | 2 | 3 | 8 | 9 | 24))) if v5 && pk.flags & FL_WILL != 0 => {
            prop(&pk.will_props, p)
        }
        (CONNECT, Field::Prop(p @ (17 | 21 | 22 | 23 | 25 | 33 | 34 | 39))) if v5 => {
            prop(&pk.props, p)
        }
        (CONNACK, Field::Prop(p)) if v5 && p != USER_PROPERTY => prop(&pk.props, p),
        _ => return None,
    };
    // String properties absent are not found (`Int(0)` stands for absent).
    let is_str = matches!(f, Field::Prop(3 | 8 | 9 | 18 | 21 | 22 | 26 | 28 | 31))
        || matches!(
            f,
            Field::ProtocolName
                | Field::ClientId
                | Field::WillTopic
                | Field::WillPayload
                | Field::Username
                | Field::Password
        );
    match v {
        Val::Str([]) => None,
        Val::Int(_) if is_str => None,
        v => Some(v),
    }
}

/// `mqtt_is_valid`.
pub(crate) fn is_valid<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    match validate(s.bytes()?) {
        Validity::Valid => Some(Sample::Bool(true)),
        Validity::Invalid => Some(Sample::Bool(false)),
        Validity::NeedMore => None,
    }
}

/// Whether an MQTT converter waits for more data.
pub(crate) fn incomplete(_: &[Arg], s: &Sample<'_>) -> bool {
    s.bytes().is_some_and(|b| validate(b) == Validity::NeedMore)
}

/// `mqtt_field_value(<type>,<field>)`.
pub(crate) fn field_value<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let (Some(Arg::Int(t)), Some(Arg::Int(f))) = (a.first(), a.get(1)) else {
        return None;
    };
    let f = field_of(*f)?;
    let b = s.bytes()?;
    let (ok, pk) = parse(b);
    if ok != Validity::Valid || i64::from(pk.kind) != *t {
        return None;
    }
    Some(match value(&pk, f)? {
        Val::Int(n) => Sample::Str(Cow::Owned(n.to_string().into_bytes())),
        Val::Str(v) => Sample::Str(Cow::Owned(v.to_vec())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect()
    }

    fn fv(msg: &[u8], t: &str, f: &str) -> Option<String> {
        let args = prepare_field(
            "",
            vec![Arg::Str(t.into()), Arg::Str(f.into())],
            &Opts::default(),
        )
        .ok()?;
        let v = field_value(&args, Sample::Bin(Cow::Borrowed(msg)))?;
        Some(String::from_utf8_lossy(v.bytes()?).into_owned())
    }

    /// The packets of reg-test converter/mqtt.vtc.
    #[test]
    fn packets_of_the_reg_test() {
        let c311 = hex("101a00044d51545404c2003c00000004746573740006706173737764");
        assert_eq!(validate(&c311), Validity::Valid);
        assert_eq!(validate(&c311[..10]), Validity::NeedMore);
        assert_eq!(fv(&c311, "connect", "client_identifier"), None);
        assert_eq!(fv(&c311, "connect", "username").as_deref(), Some("test"));
        assert_eq!(
            fv(&c311, "connect", "protocol_version").as_deref(),
            Some("4")
        );
        assert_eq!(fv(&c311, "connect", "17"), None);
        let connack = hex("20020000");
        assert_eq!(validate(&connack), Validity::Valid);
        assert_eq!(fv(&connack, "connack", "reason_code").as_deref(), Some("0"));
        let connack5 =
            hex("20250000221100000078217fff24012501270000ffff22000a2600016100016226000163000164");
        assert_eq!(validate(&connack5), Validity::Valid);
        for (f, v) in [
            ("17", "120"),
            ("33", "32767"),
            ("36", "1"),
            ("37", "1"),
            ("39", "65535"),
            ("34", "10"),
            ("protocol_version", "5"),
        ] {
            assert_eq!(fv(&connack5, "connack", f).as_deref(), Some(v), "{f}");
        }
        // PINGREQ, CONNACK with flags, a 5-byte remaining length.
        for bad in [
            "d000",
            "21020000",
            "111400044d5154540402003c0008746573745f737562",
            "10ffffffff1400044d5154540402003c0008746573745f737562",
        ] {
            assert_eq!(validate(&hex(bad)), Validity::Invalid, "{bad}");
        }
        // Remaining length 0x13 announced, 0x14 present.
        let m = hex("101300044d5154540402003c0008746573745f737562");
        assert_eq!(validate(&m), Validity::Invalid);
        let c31 =
            hex("102400064d514973647003c200000008746573745f7375620004746573740006706173737764");
        assert_eq!(validate(&c31), Validity::Valid);
        let complex = hex("107e00044d51545405ee003c182700000014170126000161000162260001630001642100140008746573745f7375622a03000a746578742f706c61696e08000c77696c6c727370746f7069632600016500016626000167000168000977696c6c746f706963000b77696c6c7061796c6f61640004746573740006706173737764");
        assert_eq!(validate(&complex), Validity::Valid);
        for (f, v) in [
            ("flags", "238"),
            ("protocol_name", "MQTT"),
            ("protocol_version", "5"),
            ("client_identifier", "test_sub"),
            ("will_topic", "willtopic"),
            ("will_payload", "willpayload"),
            ("username", "test"),
            ("password", "passwd"),
            ("39", "20"),
            ("23", "1"),
            ("3", "text/plain"),
            ("8", "willrsptopic"),
        ] {
            assert_eq!(fv(&complex, "connect", f).as_deref(), Some(v), "{f}");
        }
        assert!(prepare_field(
            "",
            vec![Arg::Str("nope".into()), Arg::Str("flags".into())],
            &Opts::default()
        )
        .is_err());
        assert!(prepare_field(
            "",
            vec![Arg::Str("connack".into()), Arg::Str("username".into())],
            &Opts::default()
        )
        .is_err());
    }
}
