//! Headers the proxy adds to a request: `option forwardfor` and `option
//! originalto` (configuration.txt §4). HAProxy appends them after the request's
//! own headers.

use std::net::{IpAddr, SocketAddr};

use haproxide_http::Headers;

use crate::spec::{ForwardFor, OriginalTo};

/// Whether `ip` is in `net` (an IPv4-mapped IPv6 client matches an IPv4 net).
fn in_net(ip: IpAddr, net: (IpAddr, u8)) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match (ip, net.0) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = net.1.min(32) as u32;
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = net.1.min(128) as u32;
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Adds `X-Forwarded-For` with the client's address as HAProxy 2.6's
/// `http_process_request`: when the frontend or the backend has the option; not
/// for a UNIX client nor a client in either one's `except` network; named as the
/// backend's option says, else the frontend's; skipped when the request has the
/// header already and neither option lacks `if-none`.
pub(crate) fn forwardfor(
    fe: Option<&ForwardFor>,
    be: Option<&ForwardFor>,
    src: Option<SocketAddr>,
    h: &mut Headers,
) {
    let Some(name) = be.or(fe).map(|f| f.header.as_str()) else {
        return;
    };
    let Some(src) = src else { return };
    let except = |f: Option<&ForwardFor>| {
        f.and_then(|f| f.except)
            .is_some_and(|n| in_net(src.ip(), n))
    };
    if except(fe) || except(be) {
        return;
    }
    let always = fe.is_some_and(|f| !f.if_none) || be.is_some_and(|f| !f.if_none);
    if !always && h.contains(name) {
        return;
    }
    push_ip(h, name, src.ip());
}

/// Appends `name: ip` (the address formatted on the stack, not in a string).
fn push_ip(h: &mut Headers, name: &str, ip: IpAddr) {
    use std::io::Write as _;
    if let IpAddr::V4(a) = ip {
        let mut buf = [0u8; 15];
        let n = haproxide_expr::logfmt::ipv4_dotted(a, &mut buf);
        h.push(name.as_bytes(), buf.get(..n).unwrap_or_default());
        return;
    }
    let mut buf = [0u8; 64];
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cur, "{ip}");
    let n = cur.position() as usize;
    h.push(name.as_bytes(), buf.get(..n).unwrap_or_default());
}

/// Adds `X-Original-To` with the address the client connected to: the same
/// rules (`except` of either side, the backend's name first).
pub(crate) fn originalto(
    fe: Option<&OriginalTo>,
    be: Option<&OriginalTo>,
    dst: Option<SocketAddr>,
    h: &mut Headers,
) {
    let Some(name) = be.or(fe).map(|f| f.header.as_str()) else {
        return;
    };
    let Some(dst) = dst else { return };
    let except = |f: Option<&OriginalTo>| {
        f.and_then(|f| f.except)
            .is_some_and(|n| in_net(dst.ip(), n))
    };
    if except(fe) || except(be) {
        return;
    }
    push_ip(h, name, dst.ip());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ff(except: Option<(IpAddr, u8)>, if_none: bool) -> ForwardFor {
        ForwardFor {
            header: "X-Forwarded-For".into(),
            except,
            if_none,
        }
    }

    /// The hand-written dotted decimal is what `Display` prints.
    #[test]
    fn pushed_addresses_match_display() {
        let mut ips: Vec<IpAddr> = [
            "0.0.0.0",
            "255.255.255.255",
            "10.1.2.3",
            "100.20.3.0",
            "::1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        ips.extend((0..=255u8).map(|o| IpAddr::from([o, 255 - o, o / 3, o % 100])));
        for ip in ips {
            let mut h = Headers::default();
            push_ip(&mut h, "x", ip);
            assert_eq!(h.get("x"), Some(ip.to_string().as_bytes()), "{ip}");
        }
    }

    #[test]
    fn forwardfor_variants() {
        let src: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let plain = ff(None, false);
        let mut h = Headers::default();
        forwardfor(Some(&plain), None, Some(src), &mut h);
        assert_eq!(h.get("x-forwarded-for"), Some(&b"10.1.2.3"[..]));
        // A second one is appended (HAProxy adds, the server sees both).
        forwardfor(None, Some(&plain), Some(src), &mut h);
        assert_eq!(h.len(), 2);
        // if-none (on every side that has the option): left alone when present.
        let if_none = ff(None, true);
        forwardfor(Some(&if_none), None, Some(src), &mut h);
        assert_eq!(h.len(), 2);
        forwardfor(Some(&if_none), Some(&plain), Some(src), &mut h);
        assert_eq!(h.len(), 3, "the backend's option without if-none adds");
        let mut h = Headers::default();
        let ex8 = ff(Some(("10.0.0.0".parse().unwrap(), 8)), false);
        forwardfor(Some(&ex8), None, Some(src), &mut h);
        assert!(h.is_empty(), "except 10.0.0.0/8");
        // The frontend's except applies to the backend's option too (HAProxy 2.6.12).
        let named = ForwardFor {
            header: "X-Real-IP".into(),
            except: None,
            if_none: false,
        };
        forwardfor(Some(&ex8), Some(&named), Some(src), &mut h);
        assert!(h.is_empty());
        forwardfor(Some(&plain), Some(&named), Some(src), &mut h);
        assert_eq!(
            h.get("x-real-ip"),
            Some(&b"10.1.2.3"[..]),
            "the backend's name"
        );
        let mut h = Headers::default();
        forwardfor(Some(&plain), None, None, &mut h);
        assert!(h.is_empty(), "a UNIX client gets none");
    }

    #[test]
    fn mapped_v4_matches_v4_net() {
        let ip: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(in_net(ip, ("127.0.0.0".parse().unwrap(), 8)));
        assert!(!in_net(ip, ("10.0.0.0".parse().unwrap(), 8)));
    }
}
