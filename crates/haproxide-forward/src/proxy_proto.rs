//! PROXY protocol v1 and v2 (doc/proxy-protocol.txt in HAProxy's tree): the header
//! sent to servers with `send-proxy`/`send-proxy-v2` (configuration.txt §5.2) and the
//! header read from clients on `accept-proxy` binds (§5.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The 12-byte v2 signature (proxy-protocol.txt §2.2).
pub const V2_SIG: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

/// Addresses with the same family on both sides, as the header needs them.
fn same_family(src: SocketAddr, dst: SocketAddr) -> Option<(SocketAddr, SocketAddr)> {
    match (src, dst) {
        (SocketAddr::V4(_), SocketAddr::V4(_)) | (SocketAddr::V6(_), SocketAddr::V6(_)) => {
            Some((src, dst))
        }
        // A v4 client seen through a v4 destination on a dual-stack socket is always
        // mapped on both sides; mixed cases fall back to mapping the v4 one.
        (SocketAddr::V4(s), SocketAddr::V6(d)) => Some((
            SocketAddr::new(IpAddr::V6(s.ip().to_ipv6_mapped()), s.port()),
            SocketAddr::V6(d),
        )),
        (SocketAddr::V6(s), SocketAddr::V4(d)) => Some((
            SocketAddr::V6(s),
            SocketAddr::new(IpAddr::V6(d.ip().to_ipv6_mapped()), d.port()),
        )),
    }
}

/// v1: `PROXY TCP4 <src> <dst> <sport> <dport>\r\n`, or `PROXY UNKNOWN\r\n` when an
/// address is not IP (UNIX socket client).
pub fn v1_header(src: Option<SocketAddr>, dst: Option<SocketAddr>) -> Vec<u8> {
    match src.zip(dst).and_then(|(s, d)| same_family(s, d)) {
        Some((s, d)) => {
            let proto = if s.is_ipv4() { "TCP4" } else { "TCP6" };
            format!(
                "PROXY {proto} {} {} {} {}\r\n",
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
            .into_bytes()
        }
        None => b"PROXY UNKNOWN\r\n".to_vec(),
    }
}

/// v2 binary header: version 2 command PROXY with TCP over IPv4 (0x11, 12 address
/// bytes) or IPv6 (0x21, 36 bytes); LOCAL with UNSPEC family when not IP, as HAProxy.
pub fn v2_header(src: Option<SocketAddr>, dst: Option<SocketAddr>) -> Vec<u8> {
    let mut h = V2_SIG.to_vec();
    match src.zip(dst).and_then(|(s, d)| same_family(s, d)) {
        Some((SocketAddr::V4(s), SocketAddr::V4(d))) => {
            h.push(0x21);
            h.push(0x11);
            h.extend_from_slice(&12u16.to_be_bytes());
            h.extend_from_slice(&s.ip().octets());
            h.extend_from_slice(&d.ip().octets());
            h.extend_from_slice(&s.port().to_be_bytes());
            h.extend_from_slice(&d.port().to_be_bytes());
        }
        Some((SocketAddr::V6(s), SocketAddr::V6(d))) => {
            h.push(0x21);
            h.push(0x21);
            h.extend_from_slice(&36u16.to_be_bytes());
            h.extend_from_slice(&s.ip().octets());
            h.extend_from_slice(&d.ip().octets());
            h.extend_from_slice(&s.port().to_be_bytes());
            h.extend_from_slice(&d.port().to_be_bytes());
        }
        _ => {
            h.push(0x20);
            h.push(0x00);
            h.extend_from_slice(&0u16.to_be_bytes());
        }
    }
    h
}

/// What a client's PROXY header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// Bytes the header took.
    pub len: usize,
    /// Source and destination, None for `UNKNOWN`/`LOCAL`/unsupported families.
    pub addrs: Option<(SocketAddr, SocketAddr)>,
}

/// Parse result: complete, needs more bytes, or invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseResult {
    Done(Parsed),
    Incomplete,
    Invalid,
}

/// Parse a v1 or v2 header at the start of `buf`, as strictly as HAProxy 2.6's
/// `conn_recv_proxy` (proxy-protocol.txt §2.1, §2.2): a v1 address must be of the
/// family its `TCP4`/`TCP6` names and a port only decimal digits; a v2 PROXY header
/// must be TCP over IPv4 (`0x11`) or IPv6 (`0x21`) with its addresses within the
/// declared length, and its TLVs must fill that length exactly (a `CRC32C` TLV, when
/// present, must match); `PROXY UNKNOWN` has nothing after `UNKNOWN`.
pub fn parse(buf: &[u8]) -> ParseResult {
    if buf.is_empty() {
        return ParseResult::Incomplete;
    }
    if buf[0] == V2_SIG[0] {
        parse_v2(buf)
    } else {
        parse_v1(buf)
    }
}

fn parse_v2(buf: &[u8]) -> ParseResult {
    let n = buf.len().min(12);
    if buf[..n] != V2_SIG[..n] {
        return ParseResult::Invalid;
    }
    if buf.len() < 16 {
        return ParseResult::Incomplete;
    }
    if buf[12] >> 4 != 2 {
        return ParseResult::Invalid;
    }
    let cmd = buf[12] & 0x0f;
    let fam = buf[13];
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let total = 16 + len;
    let Some(body) = buf.get(16..total) else {
        return ParseResult::Incomplete;
    };
    match cmd {
        // LOCAL: the connection's own addresses; the rest of the block is skipped.
        0 => {
            return ParseResult::Done(Parsed {
                len: total,
                addrs: None,
            })
        }
        1 => {}
        _ => return ParseResult::Invalid,
    }
    let (addrs, tlvs) = match fam {
        0x11 if body.len() >= 12 => {
            let ip = |o: usize| {
                IpAddr::V4(Ipv4Addr::new(
                    body[o],
                    body[o + 1],
                    body[o + 2],
                    body[o + 3],
                ))
            };
            let s = SocketAddr::new(ip(0), u16::from_be_bytes([body[8], body[9]]));
            let d = SocketAddr::new(ip(4), u16::from_be_bytes([body[10], body[11]]));
            (Some((s, d)), 12)
        }
        0x21 if body.len() >= 36 => {
            let ip = |o: usize| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&body[o..o + 16]);
                IpAddr::V6(Ipv6Addr::from(a))
            };
            let s = SocketAddr::new(ip(0), u16::from_be_bytes([body[32], body[33]]));
            let d = SocketAddr::new(ip(16), u16::from_be_bytes([body[34], body[35]]));
            (Some((s, d)), 36)
        }
        // Too short for the family's addresses.
        0x11 | 0x21 => return ParseResult::Invalid,
        // HAProxy 2.6 takes only TCP over IPv4/IPv6 with the PROXY command: UNSPEC,
        // UNIX, datagrams over a stream bind and unknown families are refused.
        _ => return ParseResult::Invalid,
    };
    if !tlvs_valid(buf, 16 + tlvs, total) {
        return ParseResult::Invalid;
    }
    ParseResult::Done(Parsed { len: total, addrs })
}

/// The TLV block `buf[from..total]`: each TLV's 3-byte header and value inside it,
/// ending exactly at `total`; a `PP2_TYPE_CRC32C` (0x03) value is 4 bytes and equals
/// the CRC32c of the header computed with that field zeroed.
fn tlvs_valid(buf: &[u8], mut at: usize, total: usize) -> bool {
    while at < total {
        if at + 3 > total {
            return false;
        }
        let kind = buf[at];
        let vlen = usize::from(u16::from_be_bytes([buf[at + 1], buf[at + 2]]));
        let value = at + 3;
        if value + vlen > total {
            return false;
        }
        match kind {
            0x03 => {
                if vlen != 4 {
                    return false;
                }
                let want = u32::from_be_bytes([
                    buf[value],
                    buf[value + 1],
                    buf[value + 2],
                    buf[value + 3],
                ]);
                let mut copy = buf[..total].to_vec();
                copy[value..value + 4].fill(0);
                if crc32c(&copy) != want {
                    return false;
                }
            }
            // PP2_TYPE_AUTHORITY (HAProxy's PP2_AUTHORITY_MAX) and PP2_TYPE_UNIQUE_ID
            // (UNIQUEID_LEN) are bounded.
            0x02 if vlen > 255 => return false,
            0x05 if vlen > 128 => return false,
            _ => {}
        }
        at = value + vlen;
    }
    true
}

/// Reads a PROXY header from `r` without reading one byte past it (v1 byte by byte,
/// at most 107; v2 its 16-byte head, then exactly its declared length), for a
/// service that takes the stream after it. Some(addrs) once a valid header was
/// read (None inside for `UNKNOWN`/`LOCAL`); None on an invalid header, EOF or a
/// read error: the caller closes without answering, as HAProxy does.
pub(crate) async fn read_header<R>(r: &mut R) -> Option<Option<(SocketAddr, SocketAddr)>>
where
    R: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::with_capacity(108);
    loop {
        let want = match parse(&buf) {
            ParseResult::Done(p) => return Some(p.addrs),
            ParseResult::Invalid => return None,
            ParseResult::Incomplete => match buf.first() {
                Some(&b) if b == V2_SIG[0] && buf.len() >= 16 => {
                    16 + usize::from(u16::from_be_bytes([buf[14], buf[15]])) - buf.len()
                }
                Some(&b) if b == V2_SIG[0] => 16 - buf.len(),
                _ => 1,
            },
        };
        let old = buf.len();
        buf.resize(old + want, 0);
        r.read_exact(&mut buf[old..]).await.ok()?;
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as proxy-protocol.txt
/// §2.2.5 asks for `PP2_TYPE_CRC32C`.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A v1 port: 1 to 5 decimal digits (no sign, no space) up to 65535.
fn v1_port(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_v1(buf: &[u8]) -> ParseResult {
    // At most 107 bytes including CRLF.
    let n = buf.len().min(6);
    if buf[..n] != b"PROXY "[..n] {
        return ParseResult::Invalid;
    }
    let lim = buf.len().min(107);
    let Some(end) = buf[..lim].windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= 107 {
            ParseResult::Invalid
        } else {
            ParseResult::Incomplete
        };
    };
    let Ok(line) = std::str::from_utf8(&buf[6..end]) else {
        return ParseResult::Invalid;
    };
    let parts: Vec<&str> = line.split(' ').collect();
    let len = end + 2;
    match parts.first().copied() {
        Some("UNKNOWN") if parts.len() == 1 => ParseResult::Done(Parsed { len, addrs: None }),
        Some(p @ ("TCP4" | "TCP6")) if parts.len() == 5 => {
            let ip = |s: &str| -> Option<IpAddr> {
                if p == "TCP4" {
                    s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
                } else {
                    s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
                }
            };
            let parsed = (|| {
                let s = ip(parts[1])?;
                let d = ip(parts[2])?;
                let sp = v1_port(parts[3])?;
                let dp = v1_port(parts[4])?;
                Some((SocketAddr::new(s, sp), SocketAddr::new(d, dp)))
            })();
            match parsed {
                Some(a) => ParseResult::Done(Parsed {
                    len,
                    addrs: Some(a),
                }),
                None => ParseResult::Invalid,
            }
        }
        _ => ParseResult::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_roundtrip() {
        let s: SocketAddr = "192.0.2.1:56324".parse().unwrap();
        let d: SocketAddr = "198.51.100.2:443".parse().unwrap();
        let h = v1_header(Some(s), Some(d));
        assert_eq!(h, b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n");
        assert_eq!(
            parse(&h),
            ParseResult::Done(Parsed {
                len: h.len(),
                addrs: Some((s, d))
            })
        );
        let h2 = v2_header(Some(s), Some(d));
        assert_eq!(h2.len(), 28);
        assert_eq!(
            parse(&h2),
            ParseResult::Done(Parsed {
                len: 28,
                addrs: Some((s, d))
            })
        );
        for i in 0..h2.len() {
            assert_eq!(parse(&h2[..i]), ParseResult::Incomplete);
        }
        assert_eq!(v1_header(None, Some(d)), b"PROXY UNKNOWN\r\n");
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), ParseResult::Invalid);
        let s6: SocketAddr = "[2001:db8::1]:1000".parse().unwrap();
        let d6: SocketAddr = "[2001:db8::2]:2000".parse().unwrap();
        assert_eq!(
            v1_header(Some(s6), Some(d6)),
            b"PROXY TCP6 2001:db8::1 2001:db8::2 1000 2000\r\n"
        );
        let h6 = v2_header(Some(s6), Some(d6));
        assert_eq!(h6.len(), 16 + 36);
        assert_eq!(
            parse(&h6),
            ParseResult::Done(Parsed {
                len: 52,
                addrs: Some((s6, d6))
            })
        );
    }

    #[test]
    fn parse_never_panics_on_garbage() {
        let s: SocketAddr = "192.0.2.1:1".parse().unwrap();
        let d: SocketAddr = "192.0.2.2:2".parse().unwrap();
        let seeds = [
            v1_header(Some(s), Some(d)),
            v2_header(Some(s), Some(d)),
            b"PROXY UNKNOWN\r\n".to_vec(),
        ];
        let mut x: u32 = 99;
        for seed in seeds {
            for _ in 0..5000 {
                let mut v = seed.clone();
                for _ in 0..2 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let i = (x as usize) % v.len();
                    v[i] = (x >> 8) as u8;
                }
                let cut = (x as usize >> 4) % (v.len() + 1);
                let _ = parse(&v[..cut]);
                if let ParseResult::Done(p) = parse(&v) {
                    assert!(p.len <= v.len());
                }
            }
        }
        // A v1 line without CRLF within 107 bytes is invalid, not incomplete forever.
        let long = [b"PROXY TCP4 ".as_slice(), &[b'1'; 120]].concat();
        assert_eq!(parse(&long), ParseResult::Invalid);
    }

    fn v2(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
        let mut h = V2_SIG.to_vec();
        h.push(0x20 | cmd);
        h.push(fam);
        h.extend_from_slice(&(body.len() as u16).to_be_bytes());
        h.extend_from_slice(body);
        h
    }

    const A4: [u8; 12] = [127, 0, 0, 1, 127, 0, 0, 2, 0x03, 0xe8, 0x07, 0xd0];

    /// Issue 13 row 7: what HAProxy 2.6.12 resets (measured against it; the
    /// differential test `security::proxy_protocol_same_as_haproxy` replays these).
    #[test]
    fn hostile_headers_are_refused_as_haproxy_does() {
        let bad: Vec<(&str, Vec<u8>)> = vec![
            (
                "TCP6 with a v4 address",
                b"PROXY TCP6 ::1 1.2.3.4 1000 80\r\n".to_vec(),
            ),
            (
                "TCP4 with a v6 address",
                b"PROXY TCP4 1.2.3.4 ::1 1000 80\r\n".to_vec(),
            ),
            (
                "signed port",
                b"PROXY TCP4 1.2.3.4 5.6.7.8 +80 80\r\n".to_vec(),
            ),
            (
                "signed port 2",
                b"PROXY TCP4 1.2.3.4 5.6.7.8 80 +80\r\n".to_vec(),
            ),
            (
                "UNKNOWN with trailing words",
                b"PROXY UNKNOWN ff 1 2 3\r\n".to_vec(),
            ),
            (
                "double space",
                b"PROXY TCP4 1.2.3.4  5.6.7.8 1000 80\r\n".to_vec(),
            ),
            ("v2 UDP over IPv4", v2(1, 0x12, &A4)),
            ("v2 UNSPEC", v2(1, 0x00, b"")),
            ("v2 UNIX stream", v2(1, 0x31, &[0; 216])),
            ("v2 unknown family", v2(1, 0x41, &A4)),
            ("v2 TCP4 too short", v2(1, 0x11, &A4[..8])),
            (
                "v2 TLV past the end",
                v2(1, 0x11, &[&A4[..], b"\x04\x00\x10abc"].concat()),
            ),
            (
                "v2 TLV header cut",
                v2(1, 0x11, &[&A4[..], b"\x04\x00"].concat()),
            ),
            (
                "v2 bad CRC32C",
                v2(
                    1,
                    0x11,
                    &[&A4[..], b"\x03\x00\x04\x00\x00\x00\x01"].concat(),
                ),
            ),
            ("v2 command 2", v2(2, 0x11, &A4)),
        ];
        for (what, h) in bad {
            assert_eq!(parse(&h), ParseResult::Invalid, "{what}");
        }
        let with_tlv = v2(1, 0x11, &[&A4[..], b"\x04\x00\x03abc"].concat());
        assert!(matches!(parse(&with_tlv), ParseResult::Done(p) if p.len == with_tlv.len()));
        // A CRC32C TLV computed over the header with its value zeroed is accepted.
        let mut crc = v2(1, 0x11, &[&A4[..], b"\x03\x00\x04\0\0\0\0"].concat());
        let c = crc32c(&crc).to_be_bytes();
        let n = crc.len();
        crc[n - 4..].copy_from_slice(&c);
        assert!(matches!(parse(&crc), ParseResult::Done(_)));
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert!(matches!(parse(&v2(0, 0x12, &A4)), ParseResult::Done(p) if p.addrs.is_none()));
        assert!(matches!(parse(b"PROXY UNKNOWN\r\n"), ParseResult::Done(_)));
        assert!(matches!(
            parse(b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1000 80\r\n"),
            ParseResult::Done(_)
        ));
    }
}
