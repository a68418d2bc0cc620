//! Conditions as HAProxy evaluates them in TCP mode (configuration.txt §7.1, §7.2,
//! §7.3.3 layer 4 fetches, §7.3.5 layer 6 fetches such as `req.ssl_sni`).
//!
//! Results are three-valued like HAProxy's `acl_exec_cond`: a fetch whose value may
//! still change when more data arrives (`req.len`, an incomplete ClientHello) yields
//! [`Tri::Miss`] until the evaluation is final (the inspect delay expired, the client
//! closed, or the buffer is full); then a miss is a failure.

use std::net::{IpAddr, SocketAddr};

use crate::spec::{
    BytesMatch, Condition, IntMatch, IpNet, StrMatch, StrMethod, TcpRule, Term, Test,
};

/// HAProxy's `ACL_TEST_FAIL` (0), `ACL_TEST_MISS` (1), `ACL_TEST_PASS` (3): AND is `&`,
/// OR is `|`, negation swaps pass and fail and keeps miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    Fail = 0,
    Miss = 1,
    Pass = 3,
}

impl Tri {
    fn from_bits(b: u8) -> Tri {
        match b {
            0 => Tri::Fail,
            3 => Tri::Pass,
            _ => Tri::Miss,
        }
    }
    fn and(self, o: Tri) -> Tri {
        Tri::from_bits(self as u8 & o as u8)
    }
    fn or(self, o: Tri) -> Tri {
        Tri::from_bits(self as u8 | o as u8)
    }
    fn not(self) -> Tri {
        match self {
            Tri::Pass => Tri::Fail,
            Tri::Fail => Tri::Pass,
            Tri::Miss => Tri::Miss,
        }
    }
}

/// What the conditions can look at.
pub struct EvalCtx<'a> {
    /// Client address (None for UNIX sockets).
    pub src: Option<SocketAddr>,
    /// Address the client connected to.
    pub dst: Option<SocketAddr>,
    /// Bytes received from the client so far (request buffer).
    pub data: &'a [u8],
    /// No more data can come (or we will not wait for it).
    pub final_eval: bool,
}

/// Evaluate a condition; `None` (no `if`/`unless`) is a pass.
pub fn eval_cond(cond: Option<&Condition>, ctx: &EvalCtx<'_>) -> Tri {
    let Some(cond) = cond else {
        return Tri::Pass;
    };
    let mut res = Tri::Fail;
    for suite in &cond.or_terms {
        let mut s = Tri::Pass;
        for term in suite {
            s = s.and(eval_term(term, ctx));
            if s == Tri::Fail {
                break;
            }
        }
        res = res.or(s);
        if res == Tri::Pass {
            break;
        }
    }
    if cond.unless {
        res.not()
    } else {
        res
    }
}

fn eval_term(term: &Term, ctx: &EvalCtx<'_>) -> Tri {
    let r = eval_test(&term.test, ctx);
    if term.negated {
        r.not()
    } else {
        r
    }
}

fn pass_if(b: bool) -> Tri {
    if b {
        Tri::Pass
    } else {
        Tri::Fail
    }
}

/// A failed match on a value that may still change is a miss until the evaluation is final.
fn may_change(b: bool, final_eval: bool) -> Tri {
    if b {
        Tri::Pass
    } else if final_eval {
        Tri::Fail
    } else {
        Tri::Miss
    }
}

fn eval_test(test: &Test, ctx: &EvalCtx<'_>) -> Tri {
    match test {
        Test::AlwaysTrue => Tri::Pass,
        Test::AlwaysFalse => Tri::Fail,
        Test::Src(nets) => pass_if(
            ctx.src
                .is_some_and(|a| nets.iter().any(|n| net_contains(n, a.ip()))),
        ),
        Test::Dst(nets) => pass_if(
            ctx.dst
                .is_some_and(|a| nets.iter().any(|n| net_contains(n, a.ip()))),
        ),
        Test::SrcPort(r) => pass_if(ctx.src.is_some_and(|a| in_ranges(r, a.port()))),
        Test::DstPort(r) => pass_if(ctx.dst.is_some_and(|a| in_ranges(r, a.port()))),
        Test::ReqLen(m) => may_change(int_match(m, ctx.data.len() as i64), ctx.final_eval),
        Test::SslHelloType(t) => match ssl_hello_type(ctx.data) {
            Fetch::Value(v) => pass_if(v == *t),
            Fetch::Incomplete => may_change(false, ctx.final_eval),
            Fetch::Absent => Tri::Fail,
        },
        Test::ReqPayload {
            offset,
            length,
            matcher,
        } => match req_payload(ctx.data, *offset, *length) {
            Fetch::Value(v) => pass_if(bytes_match(matcher, v)),
            Fetch::Incomplete => may_change(false, ctx.final_eval),
            Fetch::Absent => Tri::Fail,
        },
        Test::SslSni(m) => match ssl_sni(ctx.data) {
            Fetch::Value(name) => pass_if(str_match(m, name)),
            Fetch::Incomplete => may_change(false, ctx.final_eval),
            Fetch::Absent => Tri::Fail,
        },
    }
}

/// Evaluate `tcp-request connection|content` rules: `Some(accept)` from the first rule
/// whose condition passes, `None` when none does (the default is to accept), and
/// `Err(())` when a rule needs more data (HAProxy's `missing_data`).
#[allow(clippy::result_unit_err)]
pub fn eval_rules(rules: &[TcpRule], ctx: &EvalCtx<'_>) -> Result<Option<bool>, ()> {
    for rule in rules {
        match eval_cond(rule.cond.as_ref(), ctx) {
            Tri::Pass => return Ok(Some(rule.accept)),
            Tri::Miss => return Err(()),
            Tri::Fail => {}
        }
    }
    Ok(None)
}

/// Whether `addr` is in `net`. IPv4 networks also match IPv4-mapped IPv6 addresses
/// and IPv6 networks match IPv4 addresses in their mapped form, as HAProxy does.
pub fn net_contains(net: &IpNet, addr: IpAddr) -> bool {
    match (net.addr, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), net.prefix),
        (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), net.prefix),
        (IpAddr::V4(n), IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(a) => prefix_eq(&n.octets(), &a.octets(), net.prefix),
            None => false,
        },
        (IpAddr::V6(n), IpAddr::V4(a)) => {
            prefix_eq(&n.octets(), &a.to_ipv6_mapped().octets(), net.prefix)
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let bits = (prefix as usize).min(a.len() * 8);
    let full = bits / 8;
    if a[..full] != b[..full] {
        return false;
    }
    let rem = bits % 8;
    if rem == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rem);
    (a[full] & mask) == (b[full] & mask)
}

fn in_ranges(r: &[(u16, u16)], p: u16) -> bool {
    r.iter().any(|&(lo, hi)| lo <= p && p <= hi)
}

fn int_match(m: &IntMatch, v: i64) -> bool {
    m.ranges.iter().any(|&(lo, hi)| lo <= v && v <= hi)
}

/// String matching (configuration.txt §7.1.3).
pub fn str_match(m: &StrMatch, s: &str) -> bool {
    if m.method == StrMethod::Found {
        return true;
    }
    m.patterns.iter().any(|p| {
        let (s, p) = if m.ignore_case {
            (s.to_ascii_lowercase(), p.to_ascii_lowercase())
        } else {
            (s.to_string(), p.clone())
        };
        match m.method {
            StrMethod::Exact => s == p,
            StrMethod::Begin => s.starts_with(&p),
            StrMethod::End => s.ends_with(&p),
            StrMethod::Sub => s.contains(&p),
            StrMethod::Dom => dom_match(&s, &p),
            StrMethod::Found => true,
        }
    })
}

/// `-m dom`: the pattern appears delimited by `/`, `?`, `.`, `:` or the string's ends.
fn dom_match(s: &str, p: &str) -> bool {
    let is_delim = |c: u8| matches!(c, b'/' | b'?' | b'.' | b':');
    let p = p.trim_matches(|c: char| c.is_ascii() && is_delim(c as u8));
    if p.is_empty() {
        return false;
    }
    let sb = s.as_bytes();
    let mut start = 0;
    while let Some(i) = s[start..].find(p) {
        let at = start + i;
        let end = at + p.len();
        let left_ok = at == 0 || is_delim(sb[at - 1]);
        let right_ok = end == sb.len() || is_delim(sb[end]);
        if left_ok && right_ok {
            return true;
        }
        start = at + 1;
        if start >= s.len() {
            break;
        }
        while !s.is_char_boundary(start) {
            start += 1;
        }
    }
    false
}

/// `req.payload(<offset>,<length>)`: the bytes once they have all arrived; with
/// `length` 0, whatever follows `offset` so far (HAProxy treats it as final). A range
/// beyond the buffer size can never match.
pub fn req_payload(data: &[u8], offset: usize, length: usize) -> Fetch<&[u8]> {
    if offset.saturating_add(length) > crate::BUFSIZE {
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

/// Byte-string matching (exact, begin, end, sub, found; `dom` does not apply).
pub fn bytes_match(m: &BytesMatch, v: &[u8]) -> bool {
    if m.method == StrMethod::Found {
        return true;
    }
    let eq = |a: &[u8], b: &[u8]| {
        if m.ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    m.patterns.iter().any(|p| {
        let p = p.as_slice();
        match m.method {
            StrMethod::Exact => eq(v, p),
            StrMethod::Begin => v.len() >= p.len() && eq(&v[..p.len()], p),
            StrMethod::End => v.len() >= p.len() && eq(&v[v.len() - p.len()..], p),
            StrMethod::Sub => p.is_empty() || v.windows(p.len()).any(|w| eq(w, p)),
            StrMethod::Dom => false,
            StrMethod::Found => true,
        }
    })
}

/// A payload fetch's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch<T> {
    Value(T),
    /// Not enough bytes yet (HAProxy's `SMP_F_MAY_CHANGE` without a value).
    Incomplete,
    /// The data cannot contain it (not TLS, no SNI extension, malformed).
    Absent,
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
mod tests {
    use super::*;

    pub fn client_hello(sni: Option<&str>) -> Vec<u8> {
        let mut exts = Vec::new();
        if let Some(name) = sni {
            let n = name.as_bytes();
            let mut sn = Vec::new();
            sn.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
            sn.push(0);
            sn.extend_from_slice(&(n.len() as u16).to_be_bytes());
            sn.extend_from_slice(n);
            exts.extend_from_slice(&0u16.to_be_bytes());
            exts.extend_from_slice(&(sn.len() as u16).to_be_bytes());
            exts.extend_from_slice(&sn);
        }
        // supported_versions, to have a second extension
        exts.extend_from_slice(&[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
        let mut hello = vec![0x03, 0x03];
        hello.extend_from_slice(&[7u8; 32]);
        hello.push(0);
        hello.extend_from_slice(&[0x00, 0x02, 0x13, 0x01]);
        hello.extend_from_slice(&[0x01, 0x00]);
        hello.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        hello.extend_from_slice(&exts);
        let mut hs = vec![1u8];
        hs.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&hello);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

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
    fn nets_and_tri() {
        let n = IpNet {
            addr: "10.0.0.0".parse().unwrap(),
            prefix: 8,
        };
        assert!(net_contains(&n, "10.2.3.4".parse().unwrap()));
        assert!(net_contains(&n, "::ffff:10.2.3.4".parse().unwrap()));
        assert!(!net_contains(&n, "11.2.3.4".parse().unwrap()));
        let n = IpNet {
            addr: "192.168.1.128".parse().unwrap(),
            prefix: 25,
        };
        assert!(net_contains(&n, "192.168.1.200".parse().unwrap()));
        assert!(!net_contains(&n, "192.168.1.100".parse().unwrap()));
        assert_eq!(Tri::Miss.and(Tri::Pass), Tri::Miss);
        assert_eq!(Tri::Miss.and(Tri::Fail), Tri::Fail);
        assert_eq!(Tri::Miss.or(Tri::Pass), Tri::Pass);
        assert!(dom_match("www.example.com", "example"));
        assert!(!dom_match("www.examples.com", "example"));
    }

    #[test]
    fn payload_fetch_and_byte_matching() {
        let d = b"\x16\x03\x01hello";
        assert_eq!(req_payload(d, 0, 3), Fetch::Value(&b"\x16\x03\x01"[..]));
        assert_eq!(req_payload(d, 5, 10), Fetch::Incomplete);
        assert_eq!(req_payload(d, 3, 0), Fetch::Value(&b"hello"[..]));
        assert_eq!(req_payload(d, 20, 0), Fetch::Incomplete);
        assert_eq!(req_payload(d, 0, crate::BUFSIZE + 1), Fetch::Absent);
        assert_eq!(req_payload(d, usize::MAX, 2), Fetch::Absent);
        let m = |method, ic, p: &[u8]| BytesMatch {
            method,
            ignore_case: ic,
            patterns: vec![p.to_vec()],
        };
        assert!(bytes_match(&m(StrMethod::Exact, false, b"hello"), b"hello"));
        assert!(!bytes_match(
            &m(StrMethod::Exact, false, b"HELLO"),
            b"hello"
        ));
        assert!(bytes_match(&m(StrMethod::Exact, true, b"HELLO"), b"hello"));
        assert!(bytes_match(&m(StrMethod::Begin, false, b"he"), b"hello"));
        assert!(bytes_match(&m(StrMethod::End, false, b"lo"), b"hello"));
        assert!(bytes_match(&m(StrMethod::Sub, false, b"ell"), b"hello"));
        assert!(!bytes_match(&m(StrMethod::Sub, false, b"elo"), b"hello"));
        assert!(!bytes_match(
            &m(StrMethod::Begin, false, b"hello!"),
            b"hello"
        ));
    }
}
