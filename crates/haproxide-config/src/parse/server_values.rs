//! `server` options whose value HAProxy 2.6 checks while it reads the line
//! (configuration.txt §5.2), refused with its texts (server.c): `proto` and
//! `check-proto` (a multiplexer of the build: `h1`, `h2`, `fcgi`, `none`),
//! `init-addr` (methods and literal addresses), `resolve-opts`,
//! `resolve-net` (networks), `proxy-v2-options` and `error-limit`. Checks only: what haproxide applies
//! of them is read elsewhere.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;
use crate::value;

/// The multiplexers `proto` names in Debian's 2.6.12 build (`haproxy -vv`,
/// "Available multiplexer protocols").
const MUX_NAMES: &[&str] = &["h2", "fcgi", "h1", "none"];
/// The ones later HAProxy versions add (the latest keyword set's `-c`).
const LATER_MUX_NAMES: &[&str] = &["quic", "qmux", "spop"];

/// The pieces of a comma-separated list as HAProxy's `for (p = arg; *p; p =
/// end)` loops cut it: an empty piece before a comma counts, a trailing
/// comma ends the list.
fn pieces(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        match rest.split_once(',') {
            Some((p, r)) => {
                out.push(p);
                rest = r;
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

/// tools.c `str2ip2(p, sa, 0)` on a zeroed address: the address it reads
/// (an empty word and `*` are IPv4's any address), None when it is none.
fn literal_ip(p: &str) -> Option<std::net::IpAddr> {
    let inner = if p.starts_with('[') {
        if p.len() < 4 || p.len() >= 48 || !p.ends_with(']') {
            return None;
        }
        &p[1..p.len() - 1]
    } else {
        p
    };
    if inner == "::" {
        return Some(Ipv6Addr::UNSPECIFIED.into());
    }
    if inner.is_empty() || inner == "*" {
        return Some(Ipv4Addr::UNSPECIFIED.into());
    }
    inner
        .parse::<Ipv6Addr>()
        .map(Into::into)
        .or_else(|_| inner.parse::<Ipv4Addr>().map(Into::into))
        .ok()
}

/// server.c `srv_parse_init_addr`: methods and at most one non-zero literal
/// address, ten at most (3 bits each in an `unsigned int`).
fn init_addr_refusal(k: &str, arg: &str) -> Option<String> {
    let mut addr_set = false;
    for (n, p) in pieces(arg).into_iter().enumerate() {
        if !matches!(p, "libc" | "last" | "none") {
            let Some(ip) = literal_ip(p) else {
                return Some(format!(
                    "'{k}' : unknown init-addr method '{p}', supported methods are 'libc', 'last', 'none'."
                ));
            };
            if addr_set {
                return Some(format!(
                    "'{k}' : initial address already specified, cannot add '{p}'."
                ));
            }
            addr_set = !ip.is_unspecified();
        }
        if n >= 10 {
            return Some(format!(
                "'{k}' : too many init-addr methods when trying to add '{p}'"
            ));
        }
    }
    None
}

/// HAProxy's refusal of server option `k`'s value (before the `.` it adds),
/// None when taken; `latest`: as the latest HAProxy (more multiplexers).
/// The low 32 bits (C's `(unsigned)len`) of glibc's strtol() (or strtoul(),
/// `unsigned`) of a whole word: leading blanks, a sign, digits to the end,
/// saturated as glibc saturates; None when the word is not all read.
fn low32_of_strtol(s: &str, unsigned: bool) -> Option<u32> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let neg = t.starts_with('-');
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mag = body.bytes().try_fold(0u64, |v, b| {
        v.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    });
    let v: u64 = match (mag, unsigned, neg) {
        (None, true, _) => u64::MAX,
        (Some(m), true, true) => m.wrapping_neg(),
        (Some(m), true, false) => m,
        // strtol: saturated at LONG_MIN / LONG_MAX, as two's complement bits.
        (_, false, _) => value::atol(t) as u64,
    };
    // Intended truncation: C's conversion to `unsigned`.
    Some(v as u32)
}

/// tools.c `str2net(p, 0)` or `str62net(p)`: an IPv4 network (`a.b.c.d`, an
/// optional `/` then a dotted mask or a length up to 32: str2mask) or an IPv6
/// one (an optional `/` then a length up to 128).
fn is_network(p: &str) -> bool {
    let (addr, mask) = match p.rsplit_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (p, None),
    };
    // `(unsigned)len`: the low 32 bits of the value.
    let len_ok =
        |m: &str, max: u32, unsigned: bool| low32_of_strtol(m, unsigned).is_some_and(|v| v <= max);
    let v4 = addr.parse::<Ipv4Addr>().is_ok()
        && mask.is_none_or(|m| match m.contains('.') {
            true => m.parse::<Ipv4Addr>().is_ok(),
            false => len_ok(m, 32, false),
        });
    v4 || (addr.parse::<Ipv6Addr>().is_ok() && mask.is_none_or(|m| len_ok(m, 128, true)))
}

fn refusal(k: &str, arg: &str, latest: bool) -> Option<String> {
    match k {
        "proto" | "check-proto" if arg.is_empty() => Some(format!("'{k}' : missing value")),
        "proto" | "check-proto" => (!(MUX_NAMES.contains(&arg)
            || (latest && LATER_MUX_NAMES.contains(&arg))))
            .then(|| format!("'{k}' :  unknown MUX protocol '{arg}'")),
        "init-addr" => init_addr_refusal(k, arg),
        "resolve-net" if arg.is_empty() => Some(format!("'{k}' expects a list of networks.")),
        // SRV_MAX_PREF_NET: 5 networks.
        "resolve-net" => pieces(arg).into_iter().enumerate().find_map(|(n, p)| match n {
            5.. => Some(format!("'{k}' exceed 5 networks.")),
            _ => (!is_network(p)).then(|| format!("'{k}' invalid network '{p}'.")),
        }),
        "resolve-opts" => pieces(arg)
            .into_iter()
            .find(|p| !matches!(*p, "allow-dup-ip" | "ignore-weight" | "prevent-dup-ip"))
            .map(|p| {
                format!(
                    "'{k}' : unknown resolve-opts option '{p}', supported methods are 'allow-dup-ip', 'ignore-weight', and 'prevent-dup-ip'."
                )
            }),
        "proxy-v2-options" => arg
            .split(',')
            .find(|p| {
                !matches!(
                    *p,
                    "ssl"
                        | "cert-cn"
                        | "cert-key"
                        | "cert-sig"
                        | "ssl-cipher"
                        | "authority"
                        | "crc32c"
                        | "unique-id"
                )
            })
            .map(|p| format!("'{p}' : proxy v2 option not implemented")),
        "error-limit" if arg.is_empty() => Some(format!("'{k}' expects an integer argument.")),
        // atoi(): an intended truncation to C's `int`.
        "error-limit" => (value::atol(arg) as i32 <= 0).then(|| format!("{k} has to be > 0.")),
        _ => None,
    }
}

impl Parser<'_> {
    /// Whether the value of the server option at `i` is taken; a refusal is
    /// reported after the line's context `sctx` (HAProxy stops the line).
    pub(super) fn server_value_taken(&mut self, line: &Line, i: usize, sctx: &str) -> bool {
        let (k, arg) = (line.arg(i), line.arg(i + 1));
        let latest = self.opts.table != crate::keywords::TableSet::V2_6;
        let Some(theirs) = refusal(k, arg, latest) else {
            return true;
        };
        self.err(
            Code::InvalidArgument,
            line.span(i + 1),
            format!("server `{k}` does not take `{arg}`"),
            HaproxyLoc::Bracket,
            format!("{sctx} : {theirs}."),
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::{pieces, refusal};

    #[test]
    fn lists_are_cut_as_haproxy_cuts_them() {
        assert_eq!(pieces("a,b"), ["a", "b"]);
        assert_eq!(pieces("a,"), ["a"]);
        assert_eq!(pieces(",a"), ["", "a"]);
        assert!(pieces("").is_empty());
    }

    #[test]
    fn values_are_read_as_haproxy_reads_them() {
        assert_eq!(refusal("proto", "h2", false), None);
        assert!(refusal("check-proto", "tcp", false).is_some());
        assert!(refusal("proto", "spop", false).is_some());
        assert_eq!(refusal("proto", "spop", true), None);
        assert_eq!(refusal("init-addr", "last,libc,none,1.2.3.4", false), None);
        assert_eq!(refusal("init-addr", "0.0.0.0,1.2.3.4", false), None);
        assert_eq!(refusal("init-addr", ",", false), None);
        assert_eq!(refusal("init-addr", "[::1]", false), None);
        assert!(refusal("init-addr", "1.2.3.4,[::1]", false).is_some());
        assert!(refusal("init-addr", "65536", false).is_some());
        assert_eq!(
            refusal(
                "init-addr",
                "last,last,last,last,last,last,last,last,last,last",
                false
            ),
            None
        );
        assert!(refusal(
            "init-addr",
            "last,last,last,last,last,last,last,last,last,last,libc",
            false
        )
        .is_some());
        assert!(refusal("resolve-opts", ",", false).is_some());
        assert_eq!(refusal("resolve-opts", "ignore-weight,", false), None);
        assert!(refusal("proxy-v2-options", "ssl,", false).is_some());
        assert_eq!(refusal("error-limit", "4294967297", false), None);
        assert!(refusal("error-limit", "2147483648", false).is_some());
    }
}
