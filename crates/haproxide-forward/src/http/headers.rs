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

/// Adds `X-Forwarded-For` (or the configured name) with the client's address,
/// unless the client is a UNIX socket, is in `except`, or (`if-none`) the request
/// already has the header.
pub(crate) fn forwardfor(ff: &ForwardFor, src: Option<SocketAddr>, h: &mut Headers) {
    let Some(src) = src else { return };
    if ff.except.is_some_and(|n| in_net(src.ip(), n)) {
        return;
    }
    if ff.if_none && h.contains(&ff.header) {
        return;
    }
    h.push(ff.header.as_bytes(), src.ip().to_string().as_bytes());
}

/// Adds `X-Original-To` (or the configured name) with the address the client
/// connected to, unless it is in `except`.
pub(crate) fn originalto(ot: &OriginalTo, dst: Option<SocketAddr>, h: &mut Headers) {
    let Some(dst) = dst else { return };
    if ot.except.is_some_and(|n| in_net(dst.ip(), n)) {
        return;
    }
    h.push(ot.header.as_bytes(), dst.ip().to_string().as_bytes());
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

    #[test]
    fn forwardfor_variants() {
        let src: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let mut h = Headers::default();
        forwardfor(&ff(None, false), Some(src), &mut h);
        assert_eq!(h.get("x-forwarded-for"), Some(&b"10.1.2.3"[..]));
        // A second one is appended (HAProxy adds, the server sees both).
        forwardfor(&ff(None, false), Some(src), &mut h);
        assert_eq!(h.len(), 2);
        // if-none: left alone when present.
        forwardfor(&ff(None, true), Some(src), &mut h);
        assert_eq!(h.len(), 2);
        let mut h = Headers::default();
        forwardfor(
            &ff(Some(("10.0.0.0".parse().unwrap(), 8)), false),
            Some(src),
            &mut h,
        );
        assert!(h.is_empty(), "except 10.0.0.0/8");
        forwardfor(
            &ff(Some(("10.2.0.0".parse().unwrap(), 16)), false),
            Some(src),
            &mut h,
        );
        assert_eq!(h.len(), 1, "not in 10.2.0.0/16");
        let mut h = Headers::default();
        forwardfor(&ff(None, false), None, &mut h);
        assert!(h.is_empty(), "a UNIX client gets none");
    }

    #[test]
    fn mapped_v4_matches_v4_net() {
        let ip: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(in_net(ip, ("127.0.0.0".parse().unwrap(), 8)));
        assert!(!in_net(ip, ("10.0.0.0".parse().unwrap(), 8)));
    }
}
