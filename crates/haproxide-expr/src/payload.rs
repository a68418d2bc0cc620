//! Layer 6 parsers over the request buffer: `req.payload`, `req.ssl_hello_type`,
//! `req.ssl_sni` (configuration.txt §7.3.5 "Fetching samples from buffer contents
//! (Layer 6)"). Bounded and panic-free on any input: every index is checked.

/// A payload fetch's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch<T> {
    Value(T),
    /// Not enough bytes yet (HAProxy's `SMP_F_MAY_CHANGE` without a value).
    Incomplete,
    /// The data cannot contain it (not TLS, no SNI extension, malformed).
    Absent,
}

/// `req.payload(<offset>,<length>)`: the bytes once they have all arrived; with
/// `length` 0, whatever follows `offset` so far. A range beyond the buffer size
/// (`bufsize`) can never match.
pub fn req_payload(data: &[u8], offset: usize, length: usize, bufsize: usize) -> Fetch<&[u8]> {
    if offset.saturating_add(length) > bufsize {
        return Fetch::Absent;
    }
    if length == 0 {
        return match data.get(offset..) {
            Some(v) => Fetch::Value(v),
            None => Fetch::Incomplete,
        };
    }
    match offset
        .checked_add(length)
        .and_then(|end| data.get(offset..end))
    {
        Some(v) => Fetch::Value(v),
        None => Fetch::Incomplete,
    }
}

/// `req.ssl_hello_type`: the handshake type of the first TLS handshake message, once
/// the whole message is in the buffer (configuration.txt §7.3.5).
pub fn ssl_hello_type(data: &[u8]) -> Fetch<u8> {
    if data.is_empty() {
        return Fetch::Incomplete;
    }
    if !matches!(data[0], 0x14..=0x17 | 0xff) {
        return Fetch::Absent;
    }
    if data.len() < 9 {
        return Fetch::Incomplete;
    }
    // SSLv3 or later, and a record long enough for a handshake header.
    if ((data[1] as u32) << 16 | (data[2] as u32) << 8) < 0x0003_0000 {
        return Fetch::Absent;
    }
    if u16::from_be_bytes([data[3], data[4]]) < 4 {
        return Fetch::Absent;
    }
    let hs_len = (data[6] as usize) << 16 | (data[7] as usize) << 8 | data[8] as usize;
    if data.len() < 9 + hs_len {
        return Fetch::Incomplete;
    }
    Fetch::Value(data[5])
}

/// `req.ssl_sni`: the server name of a TLS ClientHello in the first record.
/// Bounded, never panics: every index is checked.
pub fn ssl_sni(data: &[u8]) -> Fetch<&str> {
    match client_hello_ext(data, 0) {
        Fetch::Value(body) => match sni_of(body) {
            Some(Some(name)) => Fetch::Value(name),
            _ => Fetch::Absent,
        },
        Fetch::Incomplete => Fetch::Incomplete,
        Fetch::Absent => Fetch::Absent,
    }
}

/// `req.ssl_alpn` (§7.3.5): the protocol names of the ClientHello's ALPN extension
/// (RFC 7301), in order; an ACL tries each, a single value is the first.
pub fn ssl_alpn(data: &[u8]) -> Fetch<Vec<&[u8]>> {
    let body = match client_hello_ext(data, 16) {
        Fetch::Value(b) => b,
        Fetch::Incomplete => return Fetch::Incomplete,
        Fetch::Absent => return Fetch::Absent,
    };
    let mut e = Rd { b: body };
    let names = (|| {
        let list_len = e.u16()?;
        let mut list = Rd {
            b: e.take(list_len)?,
        };
        let mut names = Vec::new();
        while !list.b.is_empty() {
            let n = list.u8()?;
            names.push(list.take(n)?);
        }
        Some(names)
    })();
    match names {
        Some(n) if !n.is_empty() => Fetch::Value(n),
        _ => Fetch::Absent,
    }
}

/// The body of extension `ty` of a TLS ClientHello in the first record.
fn client_hello_ext(data: &[u8], ty: usize) -> Fetch<&[u8]> {
    if data.is_empty() {
        return Fetch::Incomplete;
    }
    if data[0] != 0x16 {
        return Fetch::Absent;
    }
    if data.len() < 5 {
        return Fetch::Incomplete;
    }
    if data[1] != 3 {
        return Fetch::Absent;
    }
    let rec_len = u16::from_be_bytes([data[3], data[4]]) as usize;
    if !(4..=16384 + 2048).contains(&rec_len) {
        return Fetch::Absent;
    }
    let Some(rec) = data.get(5..5 + rec_len) else {
        return Fetch::Incomplete;
    };
    match find_ext(rec, ty) {
        Some(Some(body)) => Fetch::Value(body),
        _ => Fetch::Absent,
    }
}

/// A tiny bounds-checked reader.
struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| b[0] as usize)
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| ((b[0] as usize) << 16) | ((b[1] as usize) << 8) | b[2] as usize)
    }
}

/// Outer None: malformed; inner None: no such extension. The ClientHello must fit
/// in the record (HAProxy also only looks at the first record).
fn find_ext(rec: &[u8], want: usize) -> Option<Option<&[u8]>> {
    let mut r = Rd { b: rec };
    if r.u8()? != 1 {
        return None; // not a ClientHello
    }
    let hs_len = r.u24()?;
    let mut r = Rd {
        b: r.take(hs_len.min(r.b.len()))?,
    };
    r.take(2)?; // client version
    r.take(32)?; // random
    let sid = r.u8()?;
    r.take(sid)?;
    let cs = r.u16()?;
    r.take(cs)?;
    let comp = r.u8()?;
    r.take(comp)?;
    if r.b.is_empty() {
        return Some(None); // no extensions
    }
    let ext_len = r.u16()?;
    let mut exts = Rd {
        b: r.take(ext_len.min(r.b.len()))?,
    };
    while !exts.b.is_empty() {
        let ty = exts.u16()?;
        let len = exts.u16()?;
        let body = exts.take(len)?;
        if ty == want {
            return Some(Some(body));
        }
    }
    Some(None)
}

/// The host name of a server_name extension's body; inner None: none listed.
fn sni_of(body: &[u8]) -> Option<Option<&str>> {
    let mut e = Rd { b: body };
    let list_len = e.u16()?;
    let mut list = Rd {
        b: e.take(list_len)?,
    };
    while !list.b.is_empty() {
        let name_type = list.u8()?;
        let nlen = list.u16()?;
        let name = list.take(nlen)?;
        if name_type == 0 {
            return std::str::from_utf8(name).ok().map(Some);
        }
    }
    Some(None)
}

/// `req.proto_http` on a TCP connection (§7.3.5/§7.3.6): whether the buffered bytes
/// start with a well-formed HTTP/1 request head (request line, header lines, empty
/// line). Incomplete while a valid prefix waits for more; malformed data is `false`.
pub fn http_request_head(data: &[u8], bufsize: usize) -> Fetch<bool> {
    let tchar = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    let mut lines = data.split(|&c| c == b'\n');
    // The request line: METHOD SP URI SP HTTP/x.y
    let Some(first) = lines.next() else {
        return Fetch::Incomplete;
    };
    let complete_line = data.len() > first.len();
    let line = first.strip_suffix(b"\r").unwrap_or(first);
    let mut parts = line.splitn(3, |&c| c == b' ');
    let method = parts.next().unwrap_or_default();
    let uri = parts.next();
    let version = parts.next();
    if !method.iter().all(|&c| tchar(c)) {
        return Fetch::Value(false);
    }
    if !complete_line {
        let partial_ok = uri.is_none_or(|u| u.iter().all(|&c| c > b' ' && c != 0x7f))
            && version.is_none_or(|v| b"HTTP/1.1".starts_with(v) || b"HTTP/1.0".starts_with(v));
        return if partial_ok && data.len() < bufsize {
            Fetch::Incomplete
        } else {
            Fetch::Value(false)
        };
    }
    let (Some(uri), Some(version)) = (uri, version) else {
        return Fetch::Value(false);
    };
    let v_ok = version.len() == 8
        && version.starts_with(b"HTTP/")
        && version[5].is_ascii_digit()
        && version[6] == b'.'
        && version[7].is_ascii_digit();
    if method.is_empty() || uri.is_empty() || uri.iter().any(|&c| c <= b' ' || c == 0x7f) || !v_ok {
        return Fetch::Value(false);
    }
    let mut rest = &data[first.len() + 1..];
    loop {
        let Some(end) = rest.iter().position(|&c| c == b'\n') else {
            return if data.len() < bufsize {
                Fetch::Incomplete
            } else {
                Fetch::Value(false)
            };
        };
        let l = &rest[..end];
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.is_empty() {
            return Fetch::Value(true);
        }
        let Some(colon) = l.iter().position(|&c| c == b':') else {
            return Fetch::Value(false);
        };
        if colon == 0 || !l[..colon].iter().all(|&c| tchar(c)) {
            return Fetch::Value(false);
        }
        rest = &rest[end + 1..];
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use haproxide_testkit::tls::client_hello;

    #[test]
    fn sni_parses_and_is_incomplete_on_prefixes() {
        let ch = client_hello(Some("db.example.com"));
        assert_eq!(ssl_sni(&ch), Fetch::Value("db.example.com"));
        for i in 0..ch.len() {
            assert_eq!(ssl_sni(&ch[..i]), Fetch::Incomplete, "prefix {i}");
        }
        assert_eq!(ssl_sni(&client_hello(None)), Fetch::Absent);
        assert_eq!(ssl_sni(b"GET / HTTP/1.0\r\n"), Fetch::Absent);
        assert_eq!(ssl_hello_type(&ch), Fetch::Value(1));
    }

    #[test]
    fn sni_never_panics_on_garbage() {
        let ch = client_hello(Some("a.b"));
        let mut x: u32 = 12345;
        for _ in 0..20000 {
            let mut v = ch.clone();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = (x as usize) % v.len();
                v[i] = (x >> 8) as u8;
            }
            let cut = (x as usize >> 3) % (v.len() + 1);
            let _ = ssl_sni(&v[..cut]);
            let _ = ssl_sni(&v);
        }
    }

    #[test]
    fn alpn_of_a_client_hello() {
        let ch = haproxide_testkit::tls::client_hello_alpn(Some("a.b"), &["h2", "http/1.1"]);
        assert_eq!(ssl_alpn(&ch), Fetch::Value(vec![&b"h2"[..], b"http/1.1"]));
        assert_eq!(ssl_sni(&ch), Fetch::Value("a.b"));
        for i in 0..ch.len() {
            assert_eq!(ssl_alpn(&ch[..i]), Fetch::Incomplete, "prefix {i}");
        }
        assert_eq!(ssl_alpn(&client_hello(Some("a.b"))), Fetch::Absent);
        assert_eq!(ssl_alpn(b"GET / HTTP/1.1\r\n"), Fetch::Absent);
    }

    #[test]
    fn http_request_heads_in_a_tcp_buffer() {
        let b = 16384;
        let full = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(http_request_head(full, b), Fetch::Value(true));
        for i in 0..full.len() {
            assert_eq!(
                http_request_head(&full[..i], b),
                Fetch::Incomplete,
                "prefix {i}"
            );
        }
        assert_eq!(
            http_request_head(b"GET / HTTP/1.0\n\n", b),
            Fetch::Value(true)
        );
        assert_eq!(
            http_request_head(b"\x16\x03\x01\x02\x00", b),
            Fetch::Value(false)
        );
        assert_eq!(
            http_request_head(b"GET / FTP/1.0\r\n\r\n", b),
            Fetch::Value(false)
        );
        assert_eq!(
            http_request_head(b"GET / HTTP/1.1\r\nbad header\r\n\r\n", b),
            Fetch::Value(false)
        );
        assert_eq!(
            http_request_head(b"GET / HTTP/1.1\r\nHost: a\r\n", 20),
            Fetch::Value(false)
        );
        assert_eq!(
            http_request_head(b"SSH-2.0-OpenSSH\r\n", b),
            Fetch::Value(false)
        );
    }

    #[test]
    fn payload_fetch() {
        let d = b"\x16\x03\x01hello";
        let b = 16384;
        assert_eq!(req_payload(d, 0, 3, b), Fetch::Value(&b"\x16\x03\x01"[..]));
        assert_eq!(req_payload(d, 5, 10, b), Fetch::Incomplete);
        assert_eq!(req_payload(d, 3, 0, b), Fetch::Value(&b"hello"[..]));
        assert_eq!(req_payload(d, 20, 0, b), Fetch::Incomplete);
        assert_eq!(req_payload(d, 0, b + 1, b), Fetch::Absent);
        assert_eq!(req_payload(d, usize::MAX, 2, b), Fetch::Absent);
    }
}
