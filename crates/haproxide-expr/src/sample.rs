//! Sample types and values, and the casts between them (configuration.txt §7.1
//! "ACL basics", §7.3 "Fetching samples": every fetch and converter has an output
//! type; a value is cast to the type a converter or a match method expects).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// HAProxy's sample types (`SMP_T_*`), as `haproxy -dKall` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmpType {
    Any,
    Bool,
    Sint,
    /// An IPv4 or IPv6 address (what `ipmask` and `-m ip` take).
    Addr,
    Ipv4,
    Ipv6,
    Str,
    Bin,
    /// An HTTP method.
    Meth,
}

impl SmpType {
    /// The name `haproxy -dKall` prints.
    pub fn name(self) -> &'static str {
        match self {
            SmpType::Any => "any",
            SmpType::Bool => "bool",
            SmpType::Sint => "sint",
            SmpType::Addr => "addr",
            SmpType::Ipv4 => "ipv4",
            SmpType::Ipv6 => "ipv6",
            SmpType::Str => "str",
            SmpType::Bin => "bin",
            SmpType::Meth => "meth",
        }
    }

    /// Whether a value of type `self` can be cast to `to` (HAProxy's
    /// `sample_casts[from][to]` is not NULL).
    pub fn casts_to(self, to: SmpType) -> bool {
        use SmpType::*;
        if to == Any || self == Any || self == to {
            return true;
        }
        match self {
            Bool => matches!(to, Sint | Str),
            Sint => matches!(to, Bool | Addr | Ipv4 | Ipv6 | Str | Bin),
            Addr => false,
            Ipv4 => matches!(to, Sint | Addr | Ipv6 | Str | Bin),
            Ipv6 => matches!(to, Addr | Ipv4 | Str | Bin),
            Str => true,
            Bin => matches!(to, Str | Meth),
            Meth => matches!(to, Str | Bin),
            Any => true,
        }
    }
}

/// A sample value. Strings borrow from what the context holds whenever they can:
/// fetching and matching them allocates nothing; only converters that build a new
/// string (`lower`, `hex`, casts to text) allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sample<'a> {
    Bool(bool),
    Sint(i64),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    Str(Cow<'a, [u8]>),
    Bin(Cow<'a, [u8]>),
    Meth(Cow<'a, [u8]>),
}

impl<'a> Sample<'a> {
    /// A sample that owns its bytes (kept past the request that made it:
    /// variables, Lua, the process-wide store).
    pub fn into_static(self) -> Sample<'static> {
        match self {
            Sample::Str(s) => Sample::Str(Cow::Owned(s.into_owned())),
            Sample::Bin(s) => Sample::Bin(Cow::Owned(s.into_owned())),
            Sample::Meth(s) => Sample::Meth(Cow::Owned(s.into_owned())),
            Sample::Bool(b) => Sample::Bool(b),
            Sample::Sint(i) => Sample::Sint(i),
            Sample::Ipv4(a) => Sample::Ipv4(a),
            Sample::Ipv6(a) => Sample::Ipv6(a),
        }
    }

    /// The value's type.
    pub fn ty(&self) -> SmpType {
        match self {
            Sample::Bool(_) => SmpType::Bool,
            Sample::Sint(_) => SmpType::Sint,
            Sample::Ipv4(_) => SmpType::Ipv4,
            Sample::Ipv6(_) => SmpType::Ipv6,
            Sample::Str(_) => SmpType::Str,
            Sample::Bin(_) => SmpType::Bin,
            Sample::Meth(_) => SmpType::Meth,
        }
    }

    /// An address sample of the right family.
    pub fn addr(a: IpAddr) -> Sample<'static> {
        match a {
            IpAddr::V4(a) => Sample::Ipv4(a),
            IpAddr::V6(a) => Sample::Ipv6(a),
        }
    }

    /// Cast to `to` as HAProxy's cast functions do; `None` when the cast does not
    /// exist or fails (an unparsable address, an unknown method).
    pub fn cast(self, to: SmpType) -> Option<Sample<'a>> {
        use SmpType as T;
        if to == T::Any || self.ty() == to {
            return Some(self);
        }
        Some(match (self, to) {
            (Sample::Bool(b), T::Sint) => Sample::Sint(i64::from(b)),
            (Sample::Bool(b), T::Str) => Sample::Str(Cow::Owned(u8::from(b).to_string().into())),
            (Sample::Sint(i), T::Bool) => Sample::Bool(i != 0),
            // c_int2ip: the low 32 bits, in host order, as an address.
            (Sample::Sint(i), T::Addr | T::Ipv4) => Sample::Ipv4(Ipv4Addr::from(i as u32)),
            (Sample::Sint(i), T::Ipv6) => Sample::Ipv6(Ipv4Addr::from(i as u32).to_ipv6_mapped()),
            (Sample::Sint(i), T::Str) => Sample::Str(Cow::Owned(i.to_string().into_bytes())),
            (Sample::Sint(i), T::Bin) => Sample::Bin(Cow::Owned(i.to_be_bytes().to_vec())),
            (Sample::Ipv4(a), T::Sint) => Sample::Sint(i64::from(u32::from(a))),
            (Sample::Ipv4(a), T::Addr) => Sample::Ipv4(a),
            (Sample::Ipv4(a), T::Ipv6) => Sample::Ipv6(a.to_ipv6_mapped()),
            (Sample::Ipv4(a), T::Str) => Sample::Str(Cow::Owned(a.to_string().into_bytes())),
            (Sample::Ipv4(a), T::Bin) => Sample::Bin(Cow::Owned(a.octets().to_vec())),
            (Sample::Ipv6(a), T::Addr) => Sample::Ipv6(a),
            (Sample::Ipv6(a), T::Ipv4) => Sample::Ipv4(v6_to_v4(&a)?),
            (Sample::Ipv6(a), T::Str) => Sample::Str(Cow::Owned(a.to_string().into_bytes())),
            (Sample::Ipv6(a), T::Bin) => Sample::Bin(Cow::Owned(a.octets().to_vec())),
            (Sample::Str(s), T::Bool) => Sample::Bool(str2int(&s) != 0),
            (Sample::Str(s), T::Sint) => Sample::Sint(str2int(&s)),
            (Sample::Str(s), T::Addr) => {
                let t = std::str::from_utf8(&s).ok()?;
                match t.parse::<Ipv4Addr>() {
                    Ok(a) => Sample::Ipv4(a),
                    Err(_) => Sample::Ipv6(t.parse().ok()?),
                }
            }
            (Sample::Str(s), T::Ipv4) => Sample::Ipv4(std::str::from_utf8(&s).ok()?.parse().ok()?),
            (Sample::Str(s), T::Ipv6) => Sample::Ipv6(std::str::from_utf8(&s).ok()?.parse().ok()?),
            (Sample::Str(s), T::Bin) => Sample::Bin(s),
            (Sample::Str(s) | Sample::Bin(s), T::Meth) => Sample::Meth(s),
            // c_bin2str stops at the first NUL byte.
            (Sample::Bin(b), T::Str) => {
                let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                Sample::Str(match b {
                    Cow::Borrowed(b) => Cow::Borrowed(&b[..n]),
                    Cow::Owned(mut v) => {
                        v.truncate(n);
                        Cow::Owned(v)
                    }
                })
            }
            (Sample::Meth(m), T::Str) => Sample::Str(m),
            (Sample::Meth(m), T::Bin) => Sample::Bin(m),
            _ => return None,
        })
    }

    /// The bytes of a string, binary or method sample.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Sample::Str(s) | Sample::Bin(s) | Sample::Meth(s) => Some(s),
            _ => None,
        }
    }
}

/// c_str2int: leading decimal digits (an optional sign first), 0 when none.
fn str2int(s: &[u8]) -> i64 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// HAProxy's `v6tov4`: an IPv4-mapped (`::ffff:a.b.c.d`) or 6to4 (`2002:AABB:CCDD::`)
/// address carries an IPv4 address.
pub fn v6_to_v4(a: &Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = a.to_ipv4_mapped() {
        return Some(v4);
    }
    let o = a.octets();
    if o[0] == 0x20 && o[1] == 0x02 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_matrix_matches_haproxy() {
        use SmpType::*;
        // (from, to, exists) for the cells that matter to config-time typing.
        let cases = [
            (Ipv4, Str, true),
            (Ipv4, Bool, false),
            (Ipv6, Sint, false),
            (Sint, Ipv4, true),
            (Str, Sint, true),
            (Str, Addr, true),
            (Bin, Sint, false),
            (Bin, Str, true),
            (Meth, Sint, false),
            (Bool, Bin, false),
            (Addr, Str, false),
        ];
        for (f, t, want) in cases {
            assert_eq!(f.casts_to(t), want, "{f:?} -> {t:?}");
        }
    }

    #[test]
    fn casts_convert_values() {
        let ip = Sample::Ipv4(Ipv4Addr::new(10, 1, 2, 3));
        assert_eq!(
            ip.clone().cast(SmpType::Str),
            Some(Sample::Str(Cow::Owned(b"10.1.2.3".to_vec())))
        );
        assert_eq!(ip.cast(SmpType::Sint), Some(Sample::Sint(0x0a01_0203)));
        let s = Sample::Str(Cow::Borrowed(b"42abc"));
        assert_eq!(s.cast(SmpType::Sint), Some(Sample::Sint(42)));
        let s = Sample::Str(Cow::Borrowed(b"::1"));
        assert_eq!(
            s.cast(SmpType::Addr),
            Some(Sample::Ipv6(Ipv6Addr::LOCALHOST))
        );
        let s = Sample::Str(Cow::Borrowed(b"nope"));
        assert_eq!(s.cast(SmpType::Addr), None);
        let b = Sample::Bin(Cow::Borrowed(b"ab\0cd"));
        assert_eq!(
            b.cast(SmpType::Str),
            Some(Sample::Str(Cow::Borrowed(b"ab")))
        );
        let six = "2002:0a00:0001::1".parse::<Ipv6Addr>().unwrap();
        assert_eq!(v6_to_v4(&six), Some(Ipv4Addr::new(10, 0, 0, 1)));
    }
}
