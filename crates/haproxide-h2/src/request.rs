//! A request's header list checked as RFC 9113 §8.2 and §8.3 require.
//!
//! Everything here is a *stream* error (RST_STREAM PROTOCOL_ERROR, §8.1.1):
//! the connection and its other streams go on. That includes a field name with
//! an upper-case letter, which HAProxy 2.6 also answers by resetting the stream
//! only (docs/h2.md); the `h2` crate ends the whole connection there.

use crate::hpack::HeaderList;

/// A checked request head: pseudo-header fields first, then the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    list: HeaderList,
    /// Number of leading pseudo-header fields.
    pseudo: usize,
    method: usize,
    scheme: Option<usize>,
    authority: Option<usize>,
    path: Option<usize>,
    content_length: Option<u64>,
}

impl RequestHead {
    fn at(&self, i: usize) -> &[u8] {
        self.list.get(i).map(|(_, v)| v).unwrap_or_default()
    }

    /// `:method`.
    pub fn method(&self) -> &[u8] {
        self.at(self.method)
    }

    /// `:scheme` (absent for CONNECT).
    pub fn scheme(&self) -> Option<&[u8]> {
        self.scheme.map(|i| self.at(i))
    }

    /// `:authority`.
    pub fn authority(&self) -> Option<&[u8]> {
        self.authority.map(|i| self.at(i))
    }

    /// `:path` (absent for CONNECT).
    pub fn path(&self) -> Option<&[u8]> {
        self.path.map(|i| self.at(i))
    }

    /// The `content-length` value, when sent (all copies agree).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The regular fields, in order (names lower-case).
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.list.iter().skip(self.pseudo)
    }

    /// Every field as decoded, pseudo-header fields first.
    pub fn list(&self) -> &HeaderList {
        &self.list
    }
}

/// A field name RFC 9113 §8.2.1 allows: no upper case, no control, space,
/// DEL or non-ASCII byte, not empty.
fn name_ok(n: &[u8]) -> bool {
    !n.is_empty()
        && n.iter()
            .all(|&b| (0x21..0x7f).contains(&b) && !b.is_ascii_uppercase())
}

/// A value without NUL, CR or LF (§8.2.1).
fn value_ok(v: &[u8]) -> bool {
    !v.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n')
}

/// Connection-specific fields (§8.2.2).
fn connection_specific(n: &[u8]) -> bool {
    matches!(
        n,
        b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade"
    )
}

fn parse_len(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as u64)
    })
}

/// Checks a request's header list (§8.3.1).
pub fn check_request(list: HeaderList) -> Result<RequestHead, &'static str> {
    let mut method = None;
    let mut scheme = None;
    let mut authority = None;
    let mut path = None;
    let mut pseudo = 0;
    let mut content_length: Option<u64> = None;
    for (i, (n, v)) in list.iter().enumerate() {
        if let Some(p) = n.strip_prefix(b":") {
            if i != pseudo {
                return Err("pseudo-header field after a regular field");
            }
            pseudo += 1;
            let slot = match p {
                b"method" => &mut method,
                b"scheme" => &mut scheme,
                b"authority" => &mut authority,
                b"path" => &mut path,
                _ => return Err("unknown pseudo-header field"),
            };
            if slot.replace(i).is_some() {
                return Err("repeated pseudo-header field");
            }
            if !value_ok(v) {
                return Err("NUL, CR or LF in a value");
            }
            continue;
        }
        if !name_ok(n) {
            return Err("invalid field name (upper case or forbidden byte)");
        }
        if !value_ok(v) {
            return Err("NUL, CR or LF in a value");
        }
        if connection_specific(n) {
            return Err("connection-specific field");
        }
        match n {
            b"te" if v != b"trailers" => return Err("te other than trailers"),
            b"content-length" => {
                let l = parse_len(v).ok_or("invalid content-length")?;
                if content_length.is_some_and(|c| c != l) {
                    return Err("conflicting content-length");
                }
                content_length = Some(l);
            }
            _ => {}
        }
    }
    let method = method.ok_or("no :method")?;
    let is_connect = list.get(method).is_some_and(|(_, v)| v == b"CONNECT");
    if is_connect {
        if scheme.is_some() || path.is_some() || authority.is_none() {
            return Err("CONNECT with :scheme or :path, or without :authority");
        }
    } else {
        let p = path.ok_or("no :path")?;
        scheme.ok_or("no :scheme")?;
        if list.get(p).is_some_and(|(_, v)| v.is_empty()) {
            return Err("empty :path");
        }
    }
    Ok(RequestHead {
        list,
        pseudo,
        method,
        scheme,
        authority,
        path,
        content_length,
    })
}

/// Checks a trailer section (§8.1): no pseudo-header field, the same name and
/// value rules.
pub fn check_trailers(list: &HeaderList) -> Result<(), &'static str> {
    for (n, v) in list.iter() {
        if n.starts_with(b":") {
            return Err("pseudo-header field in trailers");
        }
        if !name_ok(n) || !value_ok(v) {
            return Err("invalid field in trailers");
        }
        if connection_specific(n) {
            return Err("connection-specific field in trailers");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(f: &[(&str, &str)]) -> HeaderList {
        let mut l = HeaderList::new();
        for (n, v) in f {
            l.push(n.as_bytes(), v.as_bytes());
        }
        l
    }

    const GET: [(&str, &str); 4] = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/a?b"),
    ];

    #[test]
    fn valid_request() {
        let mut f = GET.to_vec();
        f.push(("accept", "*/*"));
        f.push(("content-length", "12"));
        f.push(("te", "trailers"));
        let h = check_request(list(&f)).unwrap();
        assert_eq!(h.method(), b"GET");
        assert_eq!(h.scheme(), Some(&b"https"[..]));
        assert_eq!(h.authority(), Some(&b"example.com"[..]));
        assert_eq!(h.path(), Some(&b"/a?b"[..]));
        assert_eq!(h.content_length(), Some(12));
        let names: Vec<&[u8]> = h.fields().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"accept"[..], b"content-length", b"te"]);
    }

    #[test]
    fn connect() {
        let ok = check_request(list(&[(":method", "CONNECT"), (":authority", "h:443")]));
        assert!(ok.is_ok());
        assert!(check_request(list(&[
            (":method", "CONNECT"),
            (":authority", "h:443"),
            (":path", "/")
        ]))
        .is_err());
        assert!(check_request(list(&[(":method", "CONNECT")])).is_err());
    }

    #[test]
    fn malformed_requests() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[(":method", "GET"), (":path", "/")], "no :scheme"),
            (&[(":method", "GET"), (":scheme", "http")], "no :path"),
            (&[(":scheme", "http"), (":path", "/")], "no :method"),
            (
                &[(":method", "GET"), (":scheme", "http"), (":path", "")],
                "empty :path",
            ),
            (
                &[
                    (":method", "GET"),
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                ],
                "repeated",
            ),
            (
                &[
                    (":method", "GET"),
                    ("a", "b"),
                    (":scheme", "http"),
                    (":path", "/"),
                ],
                "after",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    (":protocol", "websocket"),
                ],
                "unknown",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    ("Accept", "x"),
                ],
                "upper",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    ("a b", "x"),
                ],
                "byte",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    ("connection", "close"),
                ],
                "connection-specific",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    ("upgrade", "h2c"),
                ],
                "connection-specific",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    ("te", "gzip"),
                ],
                "te",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    ("x", "a\nb"),
                ],
                "CR or LF",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    ("content-length", "1x"),
                ],
                "content-length",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    ("content-length", "1"),
                    ("content-length", "2"),
                ],
                "conflicting",
            ),
        ];
        for (f, why) in cases {
            let e = check_request(list(f)).unwrap_err();
            assert!(e.contains(why), "{f:?}: {e}");
        }
    }

    #[test]
    fn trailers() {
        assert!(check_trailers(&list(&[("x-checksum", "abc")])).is_ok());
        assert!(check_trailers(&list(&[(":status", "200")])).is_err());
        assert!(check_trailers(&list(&[("X-A", "1")])).is_err());
    }
}
