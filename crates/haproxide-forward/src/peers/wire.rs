//! The peers protocol's messages (HAProxy 2.6 `src/peers.c`, doc
//! peers-v2.0.txt), sans-IO: the hello lines, the message header (class,
//! type, and for types from 128 a varint length), table definitions, updates
//! with HAProxy's data encodings (varints, frequency counters, dictionary
//! entries through a 128-slot cache), acknowledgements. Varints are HAProxy's
//! (`haproxide_spoe::frame`, the same encoding).

use std::sync::Arc;

use haproxide_expr::stktab::Data;
use haproxide_spoe::frame::{put_varint, Reader};
use haproxide_stick::sync::Value;
use haproxide_stick::KeyType;

pub(crate) const PROTO: &str = "HAProxyS 2.1";

pub(crate) const CLASS_CONTROL: u8 = 0;
pub(crate) const CLASS_ERROR: u8 = 1;
pub(crate) const CLASS_STKT: u8 = 10;

pub(crate) const CTRL_RESYNCREQ: u8 = 0;
pub(crate) const CTRL_RESYNCFINISHED: u8 = 1;
pub(crate) const CTRL_RESYNCPARTIAL: u8 = 2;
pub(crate) const CTRL_RESYNCCONFIRM: u8 = 3;
pub(crate) const CTRL_HEARTBEAT: u8 = 4;

pub(crate) const ERR_PROTOCOL: u8 = 0;
pub(crate) const ERR_SIZELIMIT: u8 = 1;

pub(crate) const STKT_UPDATE: u8 = 0x80;
pub(crate) const STKT_INCUPDATE: u8 = 0x81;
pub(crate) const STKT_DEFINE: u8 = 0x82;
pub(crate) const STKT_SWITCH: u8 = 0x83;
pub(crate) const STKT_ACK: u8 = 0x84;
pub(crate) const STKT_UPDATE_TIMED: u8 = 0x85;
pub(crate) const STKT_INCUPDATE_TIMED: u8 = 0x86;

/// The largest message body accepted (HAProxy's limit is its buffer size).
pub(crate) const MAX_BODY: usize = 16 * 1024;

/// Dictionary cache slots (`PEER_STKT_CACHE_MAX_ENTRIES`).
const DICT_SLOTS: usize = 128;

/// Why a peer's bytes are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireError {
    /// Not what the protocol allows (HAProxy answers `PEER_MSG_ERR_PROTOCOL`).
    Malformed,
    /// A message above [`MAX_BODY`] (`PEER_MSG_ERR_SIZELIMIT`).
    TooBig,
}

fn bad<T>(_: T) -> WireError {
    WireError::Malformed
}

/// One message: (class, type, body range, bytes used).
pub(crate) type Split = (u8, u8, std::ops::Range<usize>, usize);

/// One message split off the front of `buf`; `None` until it is whole.
pub(crate) fn split(buf: &[u8]) -> Result<Option<Split>, WireError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (class, ty) = (buf[0], buf[1]);
    if ty < 0x80 {
        return Ok(Some((class, ty, 2..2, 2)));
    }
    // The varint's bytes: one below 240, then up to the first below 128.
    let rest = &buf[2..];
    let n = match rest.first() {
        None => return Ok(None),
        Some(&b) if b < 240 => 1,
        Some(_) => match rest[1..].iter().position(|&b| b < 128) {
            Some(i) => i + 2,
            None if rest.len() < 10 => return Ok(None),
            None => return Err(WireError::Malformed),
        },
    };
    let len = Reader::new(&rest[..n]).varint().map_err(bad)?;
    let len = usize::try_from(len).map_err(bad)?;
    if len > MAX_BODY {
        return Err(WireError::TooBig);
    }
    let start = 2 + n;
    if buf.len() < start + len {
        return Ok(None);
    }
    Ok(Some((class, ty, start..start + len, start + len)))
}

/// A control or error message.
pub(crate) fn short(class: u8, ty: u8) -> [u8; 2] {
    [class, ty]
}

fn message(out: &mut Vec<u8>, ty: u8, body: &[u8]) {
    out.push(CLASS_STKT);
    out.push(ty);
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// A table as the protocol names and sizes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTable {
    /// The engine's table index.
    pub index: usize,
    /// The name on the wire (`<proxy>`, or `/<table>` for a `peers` section's
    /// table, as HAProxy 2.6.12 sends it).
    pub name: String,
    /// HAProxy's key size: 4 (ip, integer), 16 (ipv6), `len`+1 for a string
    /// with `len` (32 without), `len` for binary.
    pub key_size: u32,
}

/// `PEER_KT_*` of a key type.
pub(crate) fn key_type(k: KeyType) -> u64 {
    match k {
        KeyType::Integer => 2,
        KeyType::Ip => 4,
        KeyType::Ipv6 => 5,
        KeyType::String(_) => 6,
        KeyType::Binary(_) => 7,
    }
}

/// A data type's bit (HAProxy's `STKTABLE_DT_*` number).
pub(crate) fn bit(d: Data) -> u32 {
    Data::ALL.iter().position(|x| *x == d).unwrap_or(63) as u32
}

/// `PEER_MSG_STKT_DEFINE`: local id, name, key type and size, data types,
/// expiry, rate periods.
pub(crate) fn define(
    out: &mut Vec<u8>,
    id: u64,
    t: &WireTable,
    key: KeyType,
    store: &[(Data, u32)],
    expire: u32,
) {
    let mut b = Vec::new();
    put_varint(&mut b, id);
    put_varint(&mut b, t.name.len() as u64);
    b.extend_from_slice(t.name.as_bytes());
    put_varint(&mut b, key_type(key));
    put_varint(&mut b, u64::from(t.key_size));
    let mask = store.iter().fold(0u64, |m, (d, _)| m | 1u64 << bit(*d));
    put_varint(&mut b, mask);
    put_varint(&mut b, u64::from(expire));
    for (d, p) in store.iter().filter(|(d, _)| d.is_rate()) {
        put_varint(&mut b, u64::from(bit(*d)));
        put_varint(&mut b, u64::from(*p));
    }
    message(out, STKT_DEFINE, &b);
}

/// A received definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Define {
    pub id: u64,
    pub name: Vec<u8>,
    pub key_type: u64,
    pub key_size: u64,
    pub mask: u64,
}

pub(crate) fn parse_define(body: &[u8]) -> Result<Define, WireError> {
    let mut r = Reader::new(body);
    let id = r.varint().map_err(bad)?;
    let name = r.string().map_err(bad)?.to_vec();
    let key_type = r.varint().map_err(bad)?;
    let key_size = r.varint().map_err(bad)?;
    let mask = r.varint().map_err(bad)?;
    // The expiry and rate periods may follow: the local table's are used.
    Ok(Define {
        id,
        name,
        key_type,
        key_size,
        mask,
    })
}

pub(crate) fn switch(out: &mut Vec<u8>, id: u64) {
    let mut b = Vec::new();
    put_varint(&mut b, id);
    message(out, STKT_SWITCH, &b);
}

pub(crate) fn parse_switch(body: &[u8]) -> Result<u64, WireError> {
    Reader::new(body).varint().map_err(bad)
}

/// `PEER_MSG_STKT_ACK`: the sender's table id and the last update received.
pub(crate) fn ack(out: &mut Vec<u8>, remote_id: u64, last: u32) {
    let mut b = Vec::new();
    put_varint(&mut b, remote_id);
    b.extend_from_slice(&last.to_be_bytes());
    message(out, STKT_ACK, &b);
}

/// The dictionary caches of one session (`struct dcache`).
#[derive(Debug)]
pub(crate) struct Dicts {
    tx: Vec<Arc<str>>,
    tx_next: usize,
    rx: Vec<Option<Arc<str>>>,
}

impl Default for Dicts {
    fn default() -> Dicts {
        Dicts {
            tx: Vec::new(),
            tx_next: 0,
            rx: vec![None; DICT_SLOTS],
        }
    }
}

/// Encodes a key of type `k` (`size`: HAProxy's key size).
fn put_key(b: &mut Vec<u8>, k: KeyType, size: u32, key: &[u8]) {
    match k {
        KeyType::String(_) => {
            let key = &key[..key.iter().position(|&c| c == 0).unwrap_or(key.len())];
            put_varint(b, key.len() as u64);
            b.extend_from_slice(key);
        }
        KeyType::Binary(_) => {
            let mut v = key.to_vec();
            v.resize(size as usize, 0);
            b.extend_from_slice(&v);
        }
        _ => b.extend_from_slice(key),
    }
}

/// `PEER_MSG_STKT_UPDATE`: the update's number, the key, each value.
pub(crate) fn update(
    out: &mut Vec<u8>,
    dicts: &mut Dicts,
    t: &WireTable,
    key_t: KeyType,
    u: &haproxide_stick::sync::Update,
) {
    let mut b = Vec::new();
    b.extend_from_slice(&u.id.to_be_bytes());
    put_key(&mut b, key_t, t.key_size, &u.key);
    for (_, v) in &u.values {
        match v {
            Value::Num(n) => put_varint(&mut b, *n),
            Value::Freq { ago, curr, prev } => {
                put_varint(&mut b, u64::from(*ago));
                put_varint(&mut b, u64::from(*curr));
                put_varint(&mut b, u64::from(*prev));
            }
            Value::Dict(None) => put_varint(&mut b, 0),
            Value::Dict(Some(s)) => {
                if let Some(i) = dicts.tx.iter().position(|x| x == s) {
                    put_varint(&mut b, 1);
                    put_varint(&mut b, i as u64 + 1);
                } else {
                    let i = dicts.tx_next;
                    if i < dicts.tx.len() {
                        dicts.tx[i] = s.clone();
                    } else {
                        dicts.tx.push(s.clone());
                    }
                    dicts.tx_next = (i + 1) % DICT_SLOTS;
                    let mut d = Vec::new();
                    put_varint(&mut d, i as u64 + 1);
                    put_varint(&mut d, s.len() as u64);
                    d.extend_from_slice(s.as_bytes());
                    put_varint(&mut b, d.len() as u64);
                    b.extend_from_slice(&d);
                }
            }
        }
    }
    message(out, STKT_UPDATE, &b);
}

/// A received update: its number (`None`: the previous one plus one), the
/// key as this table stores it, the values of the sender's data types.
#[derive(Debug)]
pub(crate) struct Upd {
    pub id: Option<u32>,
    pub key: Box<[u8]>,
    pub values: Vec<(Data, Value)>,
}

/// Decodes an update of type `ty` for a local table of key `key_t` and
/// HAProxy key size `size`, from a sender storing the types of `mask`.
pub(crate) fn parse_update(
    ty: u8,
    body: &[u8],
    key_t: KeyType,
    size: u32,
    mask: u64,
    dicts: &mut Dicts,
) -> Result<Upd, WireError> {
    let mut r = Reader::new(body);
    let id = match ty {
        STKT_UPDATE | STKT_UPDATE_TIMED => Some(r.u32be().map_err(bad)?),
        _ => None,
    };
    if matches!(ty, STKT_UPDATE_TIMED | STKT_INCUPDATE_TIMED) {
        r.u32be().map_err(bad)?;
    }
    let key: Box<[u8]> = match key_t {
        KeyType::String(len) => {
            let k = r.string().map_err(bad)?;
            Box::from(&k[..k.len().min(len)])
        }
        KeyType::Integer | KeyType::Ip => Box::from(r.take(4).map_err(bad)?),
        KeyType::Ipv6 => Box::from(r.take(16).map_err(bad)?),
        KeyType::Binary(len) => {
            let k = r.take(size as usize).map_err(bad)?;
            let mut v = k[..k.len().min(len)].to_vec();
            v.resize(len, 0);
            v.into_boxed_slice()
        }
    };
    let mut values = Vec::new();
    for b in 0..64u32 {
        if mask & (1u64 << b) == 0 {
            continue;
        }
        // Arrays (gpt, gpc, gpc_rate) and later types are not decoded.
        let d = *Data::ALL.get(b as usize).ok_or(WireError::Malformed)?;
        let n = r.varint().map_err(bad)?;
        let v = if d == Data::ServerKey {
            Value::Dict(dict(&mut r, n, dicts)?)
        } else if d.is_rate() {
            let curr = r.varint().map_err(bad)?;
            let prev = r.varint().map_err(bad)?;
            Value::Freq {
                ago: n as u32,
                curr: curr as u32,
                prev: prev as u32,
            }
        } else {
            Value::Num(n)
        };
        values.push((d, v));
    }
    Ok(Upd { id, key, values })
}

/// A dictionary value of `len` bytes: a cache slot, with its new value or not.
fn dict(r: &mut Reader<'_>, len: u64, dicts: &mut Dicts) -> Result<Option<Arc<str>>, WireError> {
    if len == 0 {
        return Ok(None);
    }
    let data = r.take(usize::try_from(len).map_err(bad)?).map_err(bad)?;
    let mut d = Reader::new(data);
    let id = usize::try_from(d.varint().map_err(bad)?).map_err(bad)?;
    if id == 0 || id > DICT_SLOTS {
        return Err(WireError::Malformed);
    }
    if d.is_empty() {
        return Ok(dicts.rx[id - 1].clone());
    }
    let v = d.string().map_err(bad)?;
    let s: Arc<str> = Arc::from(String::from_utf8_lossy(v).as_ref());
    dicts.rx[id - 1] = Some(s.clone());
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_2_6_12s_bytes_decode() {
        // Captured from HAProxy 2.6.12 (`table mytable type string size 10m
        // srvkey addr` in `peers mypeers`, then `stick on` stores c1).
        let def = b"\n\x82\x11\x01\x08/mytable\x06 \xf1\xf1\xfe\x00\x00";
        let (c, t, body, used) = split(def).unwrap().unwrap();
        assert_eq!((c, t, used), (CLASS_STKT, STKT_DEFINE, def.len()));
        let d = parse_define(&def[body]).unwrap();
        assert_eq!(d.name, b"/mytable");
        assert_eq!((d.key_type, d.key_size), (6, 32));
        assert_eq!(d.mask, 1 | 1 << 19);
        let upd = b"\n\x80\x1a\x00\x00\x00\x01\x02c1\x01\x11\x01\x0f127.0.0.1:17010";
        let (_, t, body, _) = split(upd).unwrap().unwrap();
        let mut dicts = Dicts::default();
        let u = parse_update(t, &upd[body], KeyType::String(32), 32, d.mask, &mut dicts).unwrap();
        assert_eq!(u.id, Some(1));
        assert_eq!(&*u.key, b"c1");
        assert_eq!(u.values[0], (Data::ServerId, Value::Num(1)));
        assert_eq!(
            u.values[1],
            (
                Data::ServerKey,
                Value::Dict(Some(Arc::from("127.0.0.1:17010")))
            )
        );
        // The same value again: the cache slot alone.
        let again = b"\n\x80\n\x00\x00\x00\x02\x02c2\x01\x01\x01";
        let (_, t, body, _) = split(again).unwrap().unwrap();
        let u = parse_update(t, &again[body], KeyType::String(32), 32, d.mask, &mut dicts).unwrap();
        assert_eq!(
            u.values[1],
            (
                Data::ServerKey,
                Value::Dict(Some(Arc::from("127.0.0.1:17010")))
            )
        );
    }

    #[test]
    fn our_messages_are_haproxys() {
        let t = WireTable {
            index: 0,
            name: "/mytable".into(),
            key_size: 32,
        };
        let mut out = Vec::new();
        let store = [(Data::ServerId, 0), (Data::ServerKey, 0)];
        define(&mut out, 1, &t, KeyType::String(32), &store, 0);
        assert_eq!(out, b"\n\x82\x11\x01\x08/mytable\x06 \xf1\xf1\xfe\x00\x00");
        let mut dicts = Dicts::default();
        let u = haproxide_stick::sync::Update {
            id: 1,
            key: Box::from(&b"c1"[..]),
            values: vec![
                (Data::ServerId, Value::Num(1)),
                (
                    Data::ServerKey,
                    Value::Dict(Some(Arc::from("127.0.0.1:17010"))),
                ),
            ],
        };
        out.clear();
        update(&mut out, &mut dicts, &t, KeyType::String(32), &u);
        assert_eq!(
            out,
            b"\n\x80\x1a\x00\x00\x00\x01\x02c1\x01\x11\x01\x0f127.0.0.1:17010"
        );
    }

    #[test]
    fn hostile_bytes_are_refused_not_trusted() {
        // A length above the limit.
        let mut big = vec![CLASS_STKT, STKT_UPDATE];
        put_varint(&mut big, (MAX_BODY + 1) as u64);
        assert_eq!(split(&big), Err(WireError::TooBig));
        // Truncated bodies, a dictionary slot out of range, a huge key length.
        let mut dicts = Dicts::default();
        let k = KeyType::String(32);
        assert!(parse_update(STKT_UPDATE, b"\x00\x00", k, 32, 1, &mut dicts).is_err());
        assert!(parse_update(
            STKT_UPDATE,
            b"\0\0\0\x01\x01a\x03\xff\x01x",
            k,
            32,
            1 << 19,
            &mut dicts
        )
        .is_err());
        assert!(parse_update(
            STKT_UPDATE,
            b"\0\0\0\x01\xff\xff\xff\xff\x0f",
            k,
            32,
            1,
            &mut dicts
        )
        .is_err());
        // An unknown array type bit.
        assert!(parse_update(
            STKT_UPDATE,
            b"\0\0\0\x01\x01a\x01",
            k,
            32,
            1 << 30,
            &mut dicts
        )
        .is_err());
        assert!(parse_define(b"\x01\x7fab").is_err());
    }
}
