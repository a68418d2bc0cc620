//! `set-src`, `set-dst`, `set-src-port`, `set-dst-port` (configuration.txt §4.3
//! "set-src", "set-dst", "set-src-port", "set-dst-port"): the transaction's
//! client or destination address, seen by every later `src`/`dst` fetch, the
//! log (`%ci`, `%fi`...) and `option forwardfor` (the engine reads it back from
//! [`super::Txn`] after the request rules).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use haproxide_expr::{Sample, SmpType};

/// Which address an action sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrField {
    Src,
    Dst,
    SrcPort,
    DstPort,
}

/// The new address for `cur` given the sample (already computed), as HAProxy's
/// `tcp_action_req_set_src` & co: an address keeps the current port ("when
/// possible, set-src preserves the original source port"), a port keeps the
/// current address (else 0.0.0.0). A sample that does not convert leaves the
/// address as it was.
pub fn set(field: AddrField, cur: Option<SocketAddr>, v: Option<Sample<'_>>) -> Option<SocketAddr> {
    let Some(v) = v else {
        return cur;
    };
    match field {
        AddrField::Src | AddrField::Dst => {
            let ip = match v.cast(SmpType::Addr) {
                Some(Sample::Ipv4(a)) => IpAddr::V4(a),
                Some(Sample::Ipv6(a)) => IpAddr::V6(a),
                _ => return cur,
            };
            Some(SocketAddr::new(ip, cur.map_or(0, |c| c.port())))
        }
        AddrField::SrcPort | AddrField::DstPort => {
            let Some(Sample::Sint(p)) = v.cast(SmpType::Sint) else {
                return cur;
            };
            // HAProxy stores the integer in a 16-bit port (truncated).
            let port = (p & 0xffff) as u16;
            let ip = cur.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.ip());
            Some(SocketAddr::new(ip, port))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn sa(s: &str) -> Option<SocketAddr> {
        s.parse().ok()
    }

    #[test]
    fn addresses_keep_the_port_and_ports_keep_the_address() {
        let cur = sa("10.0.0.1:5555");
        let v4 = Sample::Str(Cow::Borrowed(b"192.0.2.7"));
        assert_eq!(set(AddrField::Src, cur, Some(v4)), sa("192.0.2.7:5555"));
        let v6 = Sample::Str(Cow::Borrowed(b"2001:db8::1"));
        assert_eq!(set(AddrField::Dst, cur, Some(v6)), sa("[2001:db8::1]:5555"));
        assert_eq!(
            set(AddrField::SrcPort, cur, Some(Sample::Sint(4000))),
            sa("10.0.0.1:4000")
        );
        assert_eq!(
            set(AddrField::DstPort, None, Some(Sample::Sint(80))),
            sa("0.0.0.0:80")
        );
    }

    #[test]
    fn garbage_or_absent_samples_change_nothing() {
        let cur = sa("10.0.0.1:5555");
        let bad = Sample::Str(Cow::Borrowed(b"not-an-ip, 1.2.3.4"));
        assert_eq!(set(AddrField::Src, cur, Some(bad)), cur);
        assert_eq!(set(AddrField::Src, cur, None), cur);
        assert_eq!(set(AddrField::SrcPort, cur, None), cur);
    }
}
