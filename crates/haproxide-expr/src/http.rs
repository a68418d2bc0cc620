//! Layer 7 fetches (configuration.txt §7.3.6 "Fetching HTTP samples (Layer 7)"):
//! the request line, header fields, cookies, URL parameters, the response status,
//! HTTP authentication. They read the message through [`Context`]'s `http_*`
//! methods, so this crate does not depend on the HTTP codec.
//!
//! Multi-valued fetches (`hdr`, `req.cook`, `url_param`) follow HAProxy: an ACL
//! tries every occurrence (`occ` 0, 1, ... while [`Fetched::more`]); a single
//! sample ([`SINGLE`]: a log-format `%[...]`, a `set-header` value) takes the
//! last occurrence for headers and cookies (`occ = -1` in `smp_fetch_hdr`), the
//! first for URL parameters; an explicit `<occ>` argument picks one (negative
//! counts from the last).

use std::borrow::Cow;

use crate::args::Arg;
use crate::fetch::{Context, Fetched};
use crate::sample::Sample;

/// The occurrence a caller wanting one value passes (not an ACL's iteration).
pub const SINGLE: usize = usize::MAX;

fn str_arg(args: &[Arg], i: usize) -> &[u8] {
    match args.get(i) {
        Some(Arg::Str(s)) => s.as_bytes(),
        _ => b"",
    }
}

fn int_arg(args: &[Arg], i: usize) -> Option<i64> {
    match args.get(i) {
        Some(Arg::Int(v)) => Some(*v),
        _ => None,
    }
}

fn strv(v: &[u8]) -> Sample<'_> {
    Sample::Str(Cow::Borrowed(v))
}

fn one(v: Option<Sample<'_>>) -> Fetched<'_> {
    Fetched {
        value: v,
        may_change: false,
        more: false,
    }
}

/// HAProxy's `http_get_path`: the path (with the query) of an origin-form or
/// absolute-form URI; `None` for `*` or an authority.
pub fn uri_path(uri: &[u8]) -> Option<&[u8]> {
    if uri.first() == Some(&b'/') {
        return Some(uri);
    }
    let scheme = uri
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    let rest = uri[scheme..].strip_prefix(b"://")?;
    let start = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
    Some(&rest[start..])
}

/// Whether a request target is a proxy's `monitor-uri` (configuration.txt §4.2):
/// HAProxy 2.6 compares a URI that starts with `/` with the request's path and
/// query (an absolute-form target's authority dropped), any other with the whole
/// target (measured: `/health?x` is not `/health`).
pub fn is_monitor_uri(monitor: &str, target: &[u8]) -> bool {
    if monitor.starts_with('/') {
        uri_path(target) == Some(monitor.as_bytes())
    } else {
        target == monitor.as_bytes()
    }
}

fn before_query(p: &[u8]) -> &[u8] {
    let end = p.iter().position(|&c| c == b'?').unwrap_or(p.len());
    &p[..end]
}

/// Splits a header value into its comma-separated elements, blanks trimmed; a
/// comma inside a double-quoted string does not split (`http_find_hdr_value_end`).
fn list_elems(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(v);
    std::iter::from_fn(move || {
        let r = rest?;
        let mut quoted = false;
        let mut esc = false;
        let mut end = r.len();
        for (i, &c) in r.iter().enumerate() {
            if esc {
                esc = false;
            } else if quoted && c == b'\\' {
                esc = true;
            } else if c == b'"' {
                quoted = !quoted;
            } else if c == b',' && !quoted {
                end = i;
                break;
            }
        }
        rest = r.get(end + 1..).filter(|_| end < r.len());
        Some(r[..end].trim_ascii())
    })
}

/// One side's header fields.
fn header(ctx: &dyn Context, res: bool, i: usize) -> Option<(&[u8], &[u8])> {
    if res {
        ctx.http_res_header(i)
    } else {
        ctx.http_req_header(i)
    }
}

fn has_msg(ctx: &dyn Context, res: bool) -> bool {
    if res {
        ctx.http_status().is_some()
    } else {
        ctx.http_method().is_some()
    }
}

/// The whole values of header `name`, in order.
fn fields<'c>(
    ctx: &'c dyn Context,
    res: bool,
    name: &'c [u8],
) -> impl Iterator<Item = &'c [u8]> + 'c {
    (0..)
        .map_while(move |i| header(ctx, res, i))
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The fetches whose `<occ>` HAProxy 2.6 checks at configuration time
/// (`val_hdr`, configuration.txt §7.3.6: "negative values indicate positions
/// relative to the last one, with -1 being the last one"; HAProxy keeps
/// `MAX_HDR_HISTORY` = 10 of them).
const OCC_CHECKED: &[&str] = &[
    "hdr",
    "hdr_ip",
    "hdr_val",
    "req.fhdr",
    "req.hdr",
    "req.hdr_ip",
    "req.hdr_val",
    "res.fhdr",
    "res.hdr",
    "res.hdr_ip",
    "res.hdr_val",
    "shdr",
    "shdr_ip",
    "shdr_val",
];

/// HAProxy's `val_hdr` on the typed arguments of fetch `name`: an occurrence
/// below -10 is refused with its text.
pub(crate) fn check_occurrence(name: &str, args: &[Arg]) -> Result<(), String> {
    match args.get(1) {
        Some(Arg::Int(occ)) if *occ < -10 && OCC_CHECKED.contains(&name) => {
            Err("header occurrence must be >= -10".to_string())
        }
        _ => Ok(()),
    }
}

/// Picks occurrence `occ` of `n` values: `pos` (the `<occ>` argument) when
/// given, else the ACL's iteration or, for [`SINGLE`], the last (`last`) or first.
fn pick(n: usize, pos: Option<i64>, occ: usize, last: bool) -> Option<(usize, bool)> {
    match pos {
        Some(p) if p > 0 => {
            let i = usize::try_from(p - 1).ok()?;
            (occ == 0 || occ == SINGLE).then_some(())?;
            (i < n).then_some((i, false))
        }
        Some(p) if p < 0 => {
            // unsigned_abs: `-p` overflows for i64::MIN (a configured position)
            let back = usize::try_from(p.unsigned_abs()).ok()?;
            (occ == 0 || occ == SINGLE).then_some(())?;
            (back <= n).then(|| (n - back, false))
        }
        _ if occ == SINGLE => match n {
            0 => None,
            _ if last => Some((n - 1, false)),
            _ => Some((0, false)),
        },
        _ => (occ < n).then_some((occ, occ + 1 < n)),
    }
}

fn hdr_side<'c>(
    args: &[Arg],
    ctx: &'c dyn Context,
    occ: usize,
    res: bool,
    full: bool,
) -> Fetched<'c> {
    if !has_msg(ctx, res) {
        return Fetched::none();
    }
    let name = match args.first() {
        Some(Arg::Str(s)) => s.as_bytes(),
        _ => b"",
    };
    let n = values_count(ctx, res, name, full);
    let Some((i, more)) = pick(n, int_arg(args, 1), occ, true) else {
        return Fetched::none();
    };
    let v = nth_value(ctx, res, name, full, i);
    Fetched {
        value: v.map(strv),
        may_change: false,
        more,
    }
}

fn values_count(ctx: &dyn Context, res: bool, name: &[u8], full: bool) -> usize {
    let mut n = 0;
    let mut i = 0;
    while let Some((hn, v)) = header(ctx, res, i) {
        if name.is_empty() || hn.eq_ignore_ascii_case(name) {
            n += if full { 1 } else { list_elems(v).count() };
        }
        i += 1;
    }
    n
}

fn nth_value<'c>(
    ctx: &'c dyn Context,
    res: bool,
    name: &[u8],
    full: bool,
    mut want: usize,
) -> Option<&'c [u8]> {
    let mut i = 0;
    while let Some((hn, v)) = header(ctx, res, i) {
        i += 1;
        if !(name.is_empty() || hn.eq_ignore_ascii_case(name)) {
            continue;
        }
        if full {
            if want == 0 {
                // The whole value without its surrounding spaces (HAProxy's
                // `http_find_header` in full mode; measured: a `set-header`
                // value "  v  " reads back as "v" through `req.fhdr`).
                return Some(v.trim_ascii());
            }
            want -= 1;
            continue;
        }
        for e in list_elems(v) {
            if want == 0 {
                return Some(e);
            }
            want -= 1;
        }
    }
    None
}

/// `hdr`: the request's or, evaluated on a response, the response's.
pub(crate) fn hdr<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    hdr_side(a, ctx, occ, ctx.http_on_response(), false)
}
pub(crate) fn req_hdr<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    hdr_side(a, ctx, occ, false, false)
}
/// `req.hdrs` (§7.3.6): the request's header block as HAProxy 2.6 rebuilds it
/// from HTX: `name: value` lines (names lowercase) and the empty line.
pub(crate) fn req_hdrs<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    if !has_msg(ctx, false) {
        return Fetched::none();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while let Some((n, v)) = ctx.http_req_header(i) {
        out.extend(n.iter().map(u8::to_ascii_lowercase));
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
        i += 1;
    }
    out.extend_from_slice(b"\r\n");
    one(Some(Sample::Str(Cow::Owned(out))))
}

pub(crate) fn req_fhdr<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    hdr_side(a, ctx, occ, false, true)
}
pub(crate) fn res_hdr<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    hdr_side(a, ctx, occ, true, false)
}
pub(crate) fn res_fhdr<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    hdr_side(a, ctx, occ, true, true)
}

fn cnt_side<'c>(a: &[Arg], ctx: &'c dyn Context, res: bool, full: bool) -> Fetched<'c> {
    if !has_msg(ctx, res) {
        return Fetched::none();
    }
    let n = values_count(ctx, res, str_arg(a, 0), full);
    one(Some(Sample::Sint(n as i64)))
}
pub(crate) fn hdr_cnt<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cnt_side(a, ctx, ctx.http_on_response(), false)
}
pub(crate) fn req_hdr_cnt<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cnt_side(a, ctx, false, false)
}
pub(crate) fn req_fhdr_cnt<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cnt_side(a, ctx, false, true)
}
pub(crate) fn res_hdr_cnt<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cnt_side(a, ctx, true, false)
}
pub(crate) fn res_fhdr_cnt<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cnt_side(a, ctx, true, true)
}

/// `hdr_val`: the value as an integer (HAProxy's `strl2ic`: leading digits).
fn val_of(f: Fetched<'_>) -> Fetched<'_> {
    let value = f.value.and_then(|v| v.cast(crate::SmpType::Sint));
    Fetched { value, ..f }
}
pub(crate) fn hdr_val<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    val_of(hdr(a, ctx, occ))
}
pub(crate) fn req_hdr_val<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    val_of(req_hdr(a, ctx, occ))
}
pub(crate) fn res_hdr_val<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    val_of(res_hdr(a, ctx, occ))
}
/// `hdr_ip`: the value as an address (an invalid one is no value).
fn ip_of(f: Fetched<'_>) -> Fetched<'_> {
    let value = f.value.and_then(|v| {
        let b = v.bytes()?;
        let t = std::str::from_utf8(b).ok()?;
        match t.parse::<std::net::IpAddr>() {
            Ok(a) => Some(Sample::addr(a)),
            // `X-Forwarded-For: 1.2.3.4:5678` (an IPv4 with a port) is accepted.
            Err(_) => t
                .rsplit_once(':')
                .and_then(|(h, _)| h.parse::<std::net::Ipv4Addr>().ok())
                .map(Sample::Ipv4),
        }
    });
    Fetched { value, ..f }
}
pub(crate) fn hdr_ip<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    ip_of(hdr(a, ctx, occ))
}
pub(crate) fn req_hdr_ip<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    ip_of(req_hdr(a, ctx, occ))
}
pub(crate) fn res_hdr_ip<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    ip_of(res_hdr(a, ctx, occ))
}

pub(crate) fn method<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    one(ctx.http_method().map(|m| Sample::Meth(Cow::Borrowed(m))))
}
pub(crate) fn url<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    one(ctx.http_uri().map(strv))
}
/// `path`: the URI's path, without the query string.
pub(crate) fn path<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    one(ctx
        .http_uri()
        .and_then(uri_path)
        .map(before_query)
        .map(strv))
}
/// `pathq`: the path with the query string.
pub(crate) fn pathq<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    one(ctx.http_uri().and_then(uri_path).map(strv))
}
/// `query`: what follows the first `?` (none without one).
pub(crate) fn query<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    one(ctx.http_uri().and_then(|u| {
        let q = u.iter().position(|&c| c == b'?')?;
        Some(strv(&u[q + 1..]))
    }))
}
/// `base`: the last `Host` value followed by the path (the path alone without
/// a `Host`).
pub(crate) fn base<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let Some(p) = ctx.http_uri().and_then(uri_path).map(before_query) else {
        return Fetched::none();
    };
    let host = fields(ctx, false, b"host").last();
    match host {
        Some(h) if !h.is_empty() => {
            let mut v = h.to_vec();
            v.extend_from_slice(p);
            one(Some(Sample::Str(Cow::Owned(v))))
        }
        _ => one(Some(strv(p))),
    }
}

/// The parameters of the query string, `delim`-separated (`&` by default).
fn params(uri: &[u8], delim: u8) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + Clone {
    let q = uri
        .iter()
        .position(|&c| c == b'?')
        .map_or(&b""[..], |i| &uri[i + 1..]);
    q.split(move |&c| c == delim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|&c| c == b'=') {
            Some(e) => (&p[..e], Some(&p[e + 1..])),
            None => (p, None),
        })
}

/// `url_param(<name>[,<delim>])` / `urlp`: the value of each `name=value`
/// parameter of the query string; an empty name matches every parameter.
pub(crate) fn url_param<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    let Some(uri) = ctx.http_uri() else {
        return Fetched::none();
    };
    let delim = str_arg(a, 1).first().copied().unwrap_or(b'&');
    let name = str_arg(a, 0);
    let n = params(uri, delim)
        .filter(|(k, v)| v.is_some() && (name.is_empty() || *k == name))
        .count();
    let Some((i, more)) = pick(n, None, occ, false) else {
        return Fetched::none();
    };
    let v = params(uri, delim)
        .filter(|(k, v)| v.is_some() && (name.is_empty() || *k == name))
        .nth(i)
        .and_then(|(_, v)| v);
    Fetched {
        value: v.map(strv),
        may_change: false,
        more,
    }
}
/// The IPv4 address and port of an absolute `http://` / `https://` URL, as
/// HAProxy 2.6's `url2sa` reads them for `url_ip` / `url_port` (§7.3.6;
/// measured on 2.6.12): the scheme case-insensitive, the host only when it is a
/// dotted IPv4 address (names are not resolved, IPv6 literals give nothing), the
/// port's leading digits truncated to 16 bits, else 80 (http) or 443 (https).
fn url_addr(uri: &[u8]) -> Option<(std::net::Ipv4Addr, u16)> {
    let sep = uri.windows(3).position(|w| w == b"://")?;
    let default = match uri[..sep].to_ascii_lowercase().as_slice() {
        b"http" => 80,
        b"https" => 443,
        _ => return None,
    };
    let rest = &uri[sep + 3..];
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_digit() || *b == b'.'))
        .unwrap_or(rest.len());
    let ip: std::net::Ipv4Addr = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    let port = match rest.get(end) {
        Some(b':') => rest[end + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0u16, |p, d| {
                p.wrapping_mul(10).wrapping_add(u16::from(d - b'0'))
            }),
        _ => default,
    };
    Some((ip, port))
}

/// `url_ip` (§7.3.6): see [`url_addr`].
pub(crate) fn url_ip<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.http_uri().and_then(url_addr) {
        Some((ip, _)) => Fetched::value(Sample::addr(std::net::IpAddr::V4(ip))),
        None => Fetched::none(),
    }
}

/// `url_port` (§7.3.6): see [`url_addr`].
pub(crate) fn url_port<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.http_uri().and_then(url_addr) {
        Some((_, port)) => Fetched::value(Sample::Sint(i64::from(port))),
        None => Fetched::none(),
    }
}

pub(crate) fn urlp_val<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    val_of(url_param(a, ctx, occ))
}

/// The cookies of the request's `Cookie` headers (`name=value`, `;`-separated) or
/// the response's `Set-Cookie` headers (the first pair of each).
fn cookies(ctx: &dyn Context, res: bool) -> impl Iterator<Item = (&[u8], &[u8])> {
    let name: &'static [u8] = if res { b"set-cookie" } else { b"cookie" };
    (0..)
        .map_while(move |i| header(ctx, res, i))
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(move |(_, v)| {
            v.split(|&c| c == b';')
                .take(if res { 1 } else { usize::MAX })
                .filter_map(|p| {
                    let p = p.trim_ascii();
                    let e = p.iter().position(|&c| c == b'=')?;
                    Some((p[..e].trim_ascii(), p[e + 1..].trim_ascii()))
                })
        })
}

fn cook_side<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize, res: bool) -> Fetched<'c> {
    if !has_msg(ctx, res) {
        return Fetched::none();
    }
    let name = str_arg(a, 0);
    let matching = |(k, _): &(&[u8], &[u8])| name.is_empty() || *k == name;
    let n = cookies(ctx, res).filter(matching).count();
    // One value: the last cookie of that name, or the first cookie when no name is
    // given (HAProxy's `smp_fetch_cookie`).
    let Some((i, more)) = pick(n, None, occ, !name.is_empty()) else {
        return Fetched::none();
    };
    let v = cookies(ctx, res).filter(matching).nth(i).map(|(_, v)| v);
    Fetched {
        value: v.map(strv),
        may_change: false,
        more,
    }
}
pub(crate) fn req_cook<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    cook_side(a, ctx, occ, false)
}
pub(crate) fn res_cook<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    cook_side(a, ctx, occ, true)
}
fn cook_cnt_side<'c>(a: &[Arg], ctx: &'c dyn Context, res: bool) -> Fetched<'c> {
    if !has_msg(ctx, res) {
        return Fetched::none();
    }
    let name = str_arg(a, 0);
    let n = cookies(ctx, res)
        .filter(|(k, _)| name.is_empty() || *k == name)
        .count();
    one(Some(Sample::Sint(n as i64)))
}
pub(crate) fn req_cook_cnt<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cook_cnt_side(a, ctx, false)
}
pub(crate) fn res_cook_cnt<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cook_cnt_side(a, ctx, true)
}
pub(crate) fn req_cook_val<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    val_of(req_cook(a, ctx, occ))
}
pub(crate) fn res_cook_val<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    val_of(res_cook(a, ctx, occ))
}

pub(crate) fn status<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    one(ctx.http_status().map(|s| Sample::Sint(i64::from(s))))
}

fn ver(v: Option<(u8, u8)>) -> Fetched<'static> {
    const V: [&[u8]; 4] = [b"1.0", b"1.1", b"2.0", b"3.0"];
    one(v.map(|(ma, mi)| match (ma, mi) {
        (1, 0) => strv(V[0]),
        (1, 1) => strv(V[1]),
        (2, 0) => strv(V[2]),
        (3, 0) => strv(V[3]),
        _ => Sample::Str(Cow::Owned(format!("{ma}.{mi}").into_bytes())),
    }))
}
pub(crate) fn req_ver<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ver(ctx.http_req_version())
}
pub(crate) fn res_ver<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ver(ctx.http_res_version())
}
/// `req.proto_http`: the request is HTTP. In `mode http` there is a parsed
/// request to look at; on a TCP connection the buffered bytes must start with a
/// well-formed HTTP/1 request head (may change until it is complete).
pub(crate) fn req_proto_http<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    if ctx.http_method().is_some() {
        return one(Some(Sample::Bool(true)));
    }
    match crate::payload::http_request_head(ctx.req_data(), ctx.req_buf_size()) {
        crate::payload::Fetch::Value(v) => one(Some(Sample::Bool(v))),
        crate::payload::Fetch::Incomplete if !ctx.is_final() => Fetched {
            value: None,
            may_change: true,
            more: false,
        },
        _ => one(Some(Sample::Bool(false))),
    }
}

pub(crate) fn req_body<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    one(ctx.http_req_body().map(|b| Sample::Bin(Cow::Borrowed(b))))
}
pub(crate) fn req_body_len<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    one(ctx.http_req_body().map(|b| Sample::Sint(b.len() as i64)))
}

/// The user and password of a `Basic` `Authorization` header.
pub fn basic_credentials(ctx: &dyn Context) -> Option<(Vec<u8>, Vec<u8>)> {
    let v = fields(ctx, false, b"authorization").last()?;
    let sp = v.iter().position(|&c| c == b' ')?;
    if !v[..sp].eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let dec = crate::strconv::b64_decode(v[sp + 1..].trim_ascii())?;
    let c = dec.iter().position(|&c| c == b':')?;
    Some((dec[..c].to_vec(), dec[c + 1..].to_vec()))
}

/// `http_auth(<userlist>)`: the `Authorization` header's credentials are valid
/// in the userlist.
pub(crate) fn http_auth<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let list = match a.first() {
        Some(Arg::Str(s)) => s.as_str(),
        _ => "",
    };
    let ok = basic_credentials(ctx).is_some_and(|(u, p)| ctx.userlist_check(list, &u, &p));
    one(Some(Sample::Bool(ok)))
}

/// `http_auth_group(<userlist>)`: for an authenticated user, each group it
/// belongs to (an ACL matches them against its group names).
pub(crate) fn http_auth_group<'c>(a: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    let list = match a.first() {
        Some(Arg::Str(s)) => s.as_str(),
        _ => "",
    };
    let Some((u, p)) = basic_credentials(ctx) else {
        return Fetched::none();
    };
    if !ctx.userlist_check(list, &u, &p) {
        return Fetched::none();
    }
    let i = if occ == SINGLE { 0 } else { occ };
    let v = ctx.userlist_group(list, &u, i);
    Fetched {
        value: v.map(strv),
        may_change: false,
        more: ctx.userlist_group(list, &u, i + 1).is_some(),
    }
}

/// `var(<name>[,<default>])`: an unset variable gives the default, a string
/// (§7.3.2).
pub(crate) fn var<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let name = match a.first() {
        Some(Arg::Str(s)) => s.as_str(),
        _ => "",
    };
    let dflt = match a.get(1) {
        Some(Arg::Str(d)) => Some(Sample::Str(Cow::Owned(d.as_bytes().to_vec()))),
        _ => None,
    };
    one(ctx.var(name).or(dflt))
}

#[cfg(test)]
mod tests;
