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
    match parse_client_hello_sni(rec) {
        Some(Some(name)) => Fetch::Value(name),
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

/// Outer None: malformed; inner None: no SNI. The ClientHello must fit in the record
/// (HAProxy also only looks at the first record).
fn parse_client_hello_sni(rec: &[u8]) -> Option<Option<&str>> {
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
        if ty != 0 {
            continue;
        }
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
        return Some(None);
    }
    Some(None)
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
