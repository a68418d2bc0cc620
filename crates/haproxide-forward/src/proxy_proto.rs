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

/// Parse a v1 or v2 header at the start of `buf`.
pub fn parse(buf: &[u8]) -> ParseResult {
    if buf.is_empty() {
        return ParseResult::Incomplete;
    }
    if buf[0] == V2_SIG[0] {
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
        let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
        let total = 16 + len;
        let Some(body) = buf.get(16..total) else {
            return ParseResult::Incomplete;
        };
        if cmd == 0 {
            return ParseResult::Done(Parsed {
                len: total,
                addrs: None,
            });
        }
        if cmd != 1 {
            return ParseResult::Invalid;
        }
        let addrs = match fam >> 4 {
            1 if body.len() >= 12 => {
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
                Some((s, d))
            }
            2 if body.len() >= 36 => {
                let ip = |o: usize| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(&body[o..o + 16]);
                    IpAddr::V6(Ipv6Addr::from(a))
                };
                let s = SocketAddr::new(ip(0), u16::from_be_bytes([body[32], body[33]]));
                let d = SocketAddr::new(ip(16), u16::from_be_bytes([body[34], body[35]]));
                Some((s, d))
            }
            1 | 2 => return ParseResult::Invalid,
            _ => None,
        };
        return ParseResult::Done(Parsed { len: total, addrs });
    }
    // v1: at most 107 bytes including CRLF.
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
        Some("UNKNOWN") => ParseResult::Done(Parsed { len, addrs: None }),
        Some(p @ ("TCP4" | "TCP6")) if parts.len() == 5 => {
            let parsed = (|| {
                let s: IpAddr = parts[1].parse().ok()?;
                let d: IpAddr = parts[2].parse().ok()?;
                if (p == "TCP4") != (s.is_ipv4() && d.is_ipv4()) {
                    return None;
                }
                let sp: u16 = parts[3].parse().ok()?;
                let dp: u16 = parts[4].parse().ok()?;
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
}
