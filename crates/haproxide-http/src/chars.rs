//! Byte classes of RFC 7230 as HAProxy uses them (its `http_char_classes`).

/// `tchar` of RFC 7230 §3.2.6: the bytes a method or a header name may hold.
pub fn is_token(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// [`is_token`] as a table (one load per byte of a header name).
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = matches!(b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
            | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
        i += 1;
    }
    t
};

/// Space or horizontal tab.
pub fn is_spht(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A byte HAProxy accepts in a request target without
/// `option accept-invalid-http-request`: visible ASCII (0x21-0x7e).
pub fn is_uri_strict(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

/// Trims spaces and tabs on both sides.
pub fn trim_spht(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_spht(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_spht(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Splits a comma-separated header value into its trimmed, non-empty elements.
pub fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_spht)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_matches_rfc_7230() {
        let tchar =
            b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for b in 0..=255u8 {
            assert_eq!(is_token(b), tchar.contains(&b), "byte {b:#x}");
        }
    }

    #[test]
    fn trims_and_splits() {
        assert_eq!(trim_spht(b" \t a b \t"), b"a b");
        assert_eq!(trim_spht(b"  "), b"");
        let items: Vec<&[u8]> = list_items(b" close ,, X-Foo,").collect();
        assert_eq!(items, vec![&b"close"[..], &b"X-Foo"[..]]);
    }
}
