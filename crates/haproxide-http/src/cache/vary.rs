//! `process-vary on` (configuration.txt §6.2.1): the secondary key of a
//! response that varies on `accept-encoding`, `referer` or `origin` (the only
//! headers HAProxy 2.6 manages), and whether a request matches it.

use std::hash::{Hash, Hasher};

use crate::{Headers, RequestHead};

pub(crate) const ACCEPT_ENCODING: u8 = 1;
const REFERER: u8 = 2;
const ORIGIN: u8 = 4;

const GZIP: u32 = 1;
const DEFLATE: u32 = 1 << 1;
const BR: u32 = 1 << 2;
const COMPRESS: u32 = 1 << 3;
const AES128GCM: u32 = 1 << 4;
const EXI: u32 = 1 << 5;
const PACK200_GZIP: u32 = 1 << 6;
const ZSTD: u32 = 1 << 7;
const IDENTITY: u32 = 1 << 8;
const STAR: u32 = 1 << 9;
const OTHER: u32 = 1 << 10;

/// HAProxy's `ACCEPT_ENCODING_MAX_ENTRIES`: a request listing this many
/// encodings (or more) is not used to store a varying response.
const AE_MAX: usize = 16;

/// A secondary key: which headers the response varies on (`sig`), the
/// encodings (a request's accepted set; a stored response's own encoding), and
/// hashes of `referer` / `origin` (0 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecKey {
    pub sig: u8,
    pub ae: u32,
    pub referer: u64,
    pub origin: u64,
}

impl SecKey {
    /// Whether a request's key `r` may get the entry of this key
    /// (`secondary_key_cmp`, `accept_encoding_bitmap_cmp`).
    pub(crate) fn accepts(&self, r: &SecKey) -> bool {
        let ae_ok =
            self.sig & ACCEPT_ENCODING == 0 || (self.ae & OTHER == 0 && self.ae & r.ae == self.ae);
        ae_ok && self.referer == r.referer && self.origin == r.origin
    }

    /// The key as `show cache` prints it (HAProxy: the first 8 bytes in hex).
    pub fn hex(&self) -> String {
        if self.sig == 0 {
            return "0".repeat(16);
        }
        let mut b = self.ae.to_le_bytes().to_vec();
        b.extend_from_slice(&self.referer.to_le_bytes()[..4]);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

/// The `Vary` signature of a response; `None` when it names a header HAProxy
/// does not manage.
pub(crate) fn signature(h: &Headers) -> Option<u8> {
    let mut sig = 0;
    for v in h.get_all("vary") {
        for item in crate::chars::list_items(v) {
            sig |= match item.to_ascii_lowercase().as_slice() {
                b"accept-encoding" => ACCEPT_ENCODING,
                b"referer" => REFERER,
                b"origin" => ORIGIN,
                _ => return None,
            };
        }
    }
    Some(sig)
}

/// The request's secondary key for the parts in `sig`; `None` when it cannot
/// be built (too many accepted encodings).
pub(crate) fn request_key(req: &RequestHead, sig: u8) -> Option<SecKey> {
    let mut k = SecKey {
        sig,
        ae: 0,
        referer: 0,
        origin: 0,
    };
    if sig & ACCEPT_ENCODING != 0 {
        k.ae = accept_encoding(&req.headers)?;
    }
    if sig & REFERER != 0 {
        k.referer = hash(req.headers.get("referer"));
    }
    if sig & ORIGIN != 0 {
        k.origin = hash(req.headers.get("origin"));
    }
    Some(k)
}

fn hash(v: Option<&[u8]>) -> u64 {
    match v {
        None => 0,
        Some(v) => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            v.hash(&mut h);
            h.finish() | 1
        }
    }
}

/// `accept_encoding_normalizer`: the bitmap of what the request accepts.
fn accept_encoding(h: &Headers) -> Option<u32> {
    let mut bitmap = IDENTITY;
    let mut refused = u32::MAX;
    let mut count = 0;
    'all: for v in h.get_all("accept-encoding") {
        // An empty field counts (nothing is acceptable but identity).
        let items: Vec<&[u8]> = if v.iter().all(|b| *b == b' ' || *b == b'\t') {
            vec![b"".as_slice()]
        } else {
            crate::chars::list_items(v).collect()
        };
        for item in items {
            if count >= AE_MAX {
                break 'all;
            }
            count += 1;
            if item.is_empty() {
                continue;
            }
            match parse_encoding(&item.to_ascii_lowercase()) {
                Some((bit, true)) => refused &= !bit,
                Some((bit, false)) => bitmap |= bit,
                None => bitmap |= OTHER,
            }
        }
    }
    if bitmap & STAR != 0 {
        bitmap = u32::MAX;
    }
    bitmap &= refused;
    if count == 0 {
        bitmap = u32::MAX;
    }
    if count == AE_MAX {
        return None;
    }
    Some(bitmap)
}

/// The encoding bitmap of a response (`set_secondary_key_encoding`); `None`
/// for an encoding HAProxy does not know (such a response is not stored).
pub(crate) fn response_encoding(h: &Headers) -> Option<u32> {
    let mut bitmap = 0;
    for v in h.get_all("content-encoding") {
        for item in crate::chars::list_items(v) {
            bitmap |= parse_encoding(item)?.0;
        }
    }
    Some(if bitmap == 0 { IDENTITY } else { bitmap })
}

/// `parse_encoding_value`: a known coding (matched as a prefix, then only
/// spaces and an optional `;` weight) and whether its weight is exactly `q=0`.
fn parse_encoding(v: &[u8]) -> Option<(u32, bool)> {
    const NAMES: &[(&[u8], u32)] = &[
        (b"aes128gcm", AES128GCM),
        (b"br", BR),
        (b"compress", COMPRESS),
        (b"deflate", DEFLATE),
        (b"exi", EXI),
        (b"gzip", GZIP),
        (b"identity", IDENTITY),
        (b"pack200-gzip", PACK200_GZIP),
        (b"x-gzip", GZIP),
        (b"x-compress", COMPRESS),
        (b"zstd", ZSTD),
        (b"*", STAR),
    ];
    let (bit, rest) = NAMES
        .iter()
        .find_map(|(n, bit)| v.strip_prefix(*n).map(|r| (*bit, r)))?;
    let rest = trim_start(rest);
    if rest.is_empty() {
        return Some((bit, false));
    }
    let w = rest.strip_prefix(b";")?;
    Some((bit, trim_start(w) == b"q=0"))
}

fn trim_start(v: &[u8]) -> &[u8] {
    let n = v.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
    &v[n..]
}
