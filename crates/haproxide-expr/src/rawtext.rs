//! Configuration words are bytes: HAProxy keeps a byte that is not UTF-8 (`\xE0`
//! written as an escape, or raw in the file) as it is, down to a sample literal
//! (`str(\xE0)`, converter/json.vtc). The configuration crate keeps words as
//! `String`s; such a byte travels as one private-use character, U+10FF00 + byte
//! ([`from_bytes`]), and becomes the byte again where a value is built
//! ([`to_bytes`]: `str()`, log-format literal text). Valid UTF-8 is unchanged.

use std::borrow::Cow;

/// The first character of the escape range (plane 16, private use).
const BASE: u32 = 0x10_FF00;

/// Bytes → text: valid UTF-8 as is, each other byte as U+10FF00 + byte.
pub fn from_bytes(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let b = e.into_bytes();
            let mut out = String::with_capacity(b.len() + 8);
            let mut rest = &b[..];
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let (ok, bad) = rest.split_at(e.valid_up_to());
                        // `ok` is valid by construction.
                        out.push_str(std::str::from_utf8(ok).unwrap_or_default());
                        let n = e.error_len().unwrap_or(bad.len()).max(1);
                        for &c in &bad[..n.min(bad.len())] {
                            out.push(char::from_u32(BASE + u32::from(c)).unwrap_or('\u{FFFD}'));
                        }
                        rest = &bad[n.min(bad.len())..];
                    }
                }
            }
            out
        }
    }
}

/// Text → bytes: the escape characters of [`from_bytes`] back to their bytes.
pub fn to_bytes(s: &str) -> Cow<'_, [u8]> {
    if !s.chars().any(is_escape) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        if is_escape(c) {
            out.push((u32::from(c) - BASE) as u8);
        } else {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

fn is_escape(c: char) -> bool {
    (BASE..=BASE + 0xFF).contains(&u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_survive_the_round_trip() {
        for b in [
            b"plain".to_vec(),
            "h\u{e9}llo".as_bytes().to_vec(),
            vec![0xE0],
            vec![b'-', 0xE0, b'-'],
            vec![0xC3],
            vec![0xFF, 0xFE, b'a', 0xC3, 0xA9, 0x80],
        ] {
            let t = from_bytes(b.clone());
            assert_eq!(to_bytes(&t).as_ref(), &b[..], "{b:?}");
        }
        assert_eq!(from_bytes("h\u{e9}".into()), "h\u{e9}");
        assert!(matches!(to_bytes("abc"), Cow::Borrowed(_)));
    }
}
