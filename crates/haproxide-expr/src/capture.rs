//! Fetches of what the transaction captured and of the session's origin
//! (configuration.txt §7.3.6 `capture.req.hdr`, `capture.req.method`,
//! `capture.req.uri`, `capture.req.ver`, `capture.res.hdr`, `capture.res.ver`;
//! §7.3.3 `so_name`; §7.3.2 `uuid`).

use std::borrow::Cow;

use crate::args::Arg;
use crate::fetch::{Context, Fetched};
use crate::sample::Sample;

fn idx(a: &[Arg]) -> Option<usize> {
    match a.first() {
        Some(Arg::Int(i)) => usize::try_from(*i).ok(),
        _ => None,
    }
}

fn bytes(v: Option<&[u8]>) -> Fetched<'_> {
    match v {
        Some(v) => Fetched::value(Sample::Str(Cow::Borrowed(v))),
        None => Fetched::none(),
    }
}

/// `capture.req.hdr(<idx>)`: the frontend's request capture slot `idx`
/// (`capture request header`, `declare capture request`, `http-request capture`).
pub(crate) fn req_hdr<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    bytes(idx(a).and_then(|i| ctx.capture(false, i)))
}

/// `capture.res.hdr(<idx>)`: the response capture slot `idx`.
pub(crate) fn res_hdr<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    bytes(idx(a).and_then(|i| ctx.capture(true, i)))
}

/// The request line kept for the log, split on its first two spaces.
fn line_parts(ctx: &dyn Context) -> Option<(&[u8], &[u8])> {
    let l = ctx.captured_request_line()?;
    let sp = l.iter().position(|&c| c == b' ')?;
    let rest = &l[sp + 1..];
    let end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
    Some((&l[..sp], &rest[..end]))
}

/// `capture.req.method`: the method of the request line HAProxy copied for the
/// log (there only when the log format shows the request line).
pub(crate) fn req_method<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let Some(l) = ctx.captured_request_line() else {
        return Fetched::none();
    };
    let end = l.iter().position(|&c| c == b' ').unwrap_or(l.len());
    bytes(Some(&l[..end]))
}

/// `capture.req.uri`: the path of the captured request line (HAProxy's
/// `http_get_path_from_string`: the scheme and authority of an absolute URI
/// left out; none when it has no path).
pub(crate) fn req_uri<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let Some((_, uri)) = line_parts(ctx) else {
        return Fetched::none();
    };
    bytes(path_of(uri))
}

fn path_of(uri: &[u8]) -> Option<&[u8]> {
    if uri.first() == Some(&b'/') {
        return Some(uri);
    }
    // `scheme://authority/path`: from the first `/` after `://`.
    let s = uri.windows(3).position(|w| w == b"://")? + 3;
    let p = uri[s..].iter().position(|&c| c == b'/')?;
    Some(&uri[s + p..])
}

fn version(v: Option<(u8, u8)>) -> Fetched<'static> {
    match v {
        // HAProxy's flag: HTTP/1.1 (or later) or else HTTP/1.0.
        Some(v) if v >= (1, 1) => Fetched::value(Sample::Str(Cow::Borrowed(b"HTTP/1.1"))),
        Some(_) => Fetched::value(Sample::Str(Cow::Borrowed(b"HTTP/1.0"))),
        None => Fetched::none(),
    }
}

/// `capture.req.ver`: "HTTP/1.0" or "HTTP/1.1".
pub(crate) fn req_ver<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    version(ctx.http_req_version())
}

/// `capture.res.ver`: "HTTP/1.0" or "HTTP/1.1" of the response.
pub(crate) fn res_ver<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    version(ctx.http_res_version())
}

/// `so_name`: the `name` of the listener (`bind ... name <n>`) that accepted
/// the connection.
pub(crate) fn so_name<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.listener_name() {
        Some(n) => Fetched::value(Sample::Str(Cow::Borrowed(n.as_bytes()))),
        None => Fetched::none(),
    }
}

/// `uuid([<version>])`: a random UUID version 4 (the only version HAProxy 2.6
/// builds), `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` in lower-case hexadecimal.
pub(crate) fn uuid<'c>(a: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    if let Some(Arg::Int(v)) = a.first() {
        if *v != 4 {
            return Fetched::none();
        }
    }
    Fetched::value(Sample::Str(Cow::Owned(uuid_v4(random128()))))
}

/// 128 random bits: std's per-map random keys (seeded from the OS) hashing a
/// counter. Not a cryptographic source, as HAProxy's `ha_random64`.
fn random128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut out = 0u128;
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(N.fetch_add(1, Ordering::Relaxed));
        out = out << 64 | u128::from(h.finish());
    }
    out
}

fn uuid_v4(r: u128) -> Vec<u8> {
    let mut b = r.to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = Vec::with_capacity(36);
    for (i, c) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.extend_from_slice(format!("{c:02x}").as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Cx;
    impl Context for Cx {
        fn capture(&self, res: bool, i: usize) -> Option<&[u8]> {
            match (res, i) {
                (false, 1) => Some(b"val1"),
                (true, 0) => Some(b"text/html"),
                _ => None,
            }
        }
        fn captured_request_line(&self) -> Option<&[u8]> {
            Some(b"GET http://h.example/a/b?x=1 HTTP/1.1")
        }
        fn http_req_version(&self) -> Option<(u8, u8)> {
            Some((1, 0))
        }
        fn listener_name(&self) -> Option<&str> {
            Some("foo")
        }
    }

    fn s(f: Fetched<'_>) -> Option<String> {
        f.value
            .and_then(|v| v.bytes().map(|b| String::from_utf8_lossy(b).into_owned()))
    }

    #[test]
    fn captures_and_names() {
        let c = Cx;
        assert_eq!(s(req_hdr(&[Arg::Int(1)], &c, 0)).as_deref(), Some("val1"));
        assert_eq!(s(req_hdr(&[Arg::Int(2)], &c, 0)), None);
        assert_eq!(s(req_hdr(&[Arg::Int(-1)], &c, 0)), None);
        assert_eq!(
            s(res_hdr(&[Arg::Int(0)], &c, 0)).as_deref(),
            Some("text/html")
        );
        assert_eq!(s(req_method(&[], &c, 0)).as_deref(), Some("GET"));
        assert_eq!(s(req_uri(&[], &c, 0)).as_deref(), Some("/a/b?x=1"));
        assert_eq!(s(req_ver(&[], &c, 0)).as_deref(), Some("HTTP/1.0"));
        assert_eq!(s(res_ver(&[], &c, 0)), None);
        assert_eq!(s(so_name(&[], &c, 0)).as_deref(), Some("foo"));
        assert_eq!(path_of(b"*"), None);
        assert_eq!(path_of(b"http://h"), None);
    }

    #[test]
    fn uuids_are_version_4_and_differ() {
        let a = s(uuid(&[], &Cx, 0)).unwrap_or_default();
        let b = s(uuid(&[Arg::Int(4)], &Cx, 0)).unwrap_or_default();
        assert_ne!(a, b);
        for u in [&a, &b] {
            let parts: Vec<&str> = u.split('-').collect();
            let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
            assert_eq!(lens, [8, 4, 4, 4, 12], "{u}");
            assert!(parts[2].starts_with('4'), "{u}");
            assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{u}");
            assert!(u
                .bytes()
                .all(|c| c == b'-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        }
        assert_eq!(s(uuid(&[Arg::Int(1)], &Cx, 0)), None);
    }
}
