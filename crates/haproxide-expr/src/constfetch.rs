//! Constant fetches (configuration.txt §7.3.2: `bool`, `bin`, `int`, `ipv4`,
//! `ipv6`, `meth`, `str`) and internal-state fetches that read names and ids the
//! engine knows (§7.3.3 `srv_id`).

use std::borrow::Cow;

use crate::args::Arg;
use crate::fetch::{Context, Fetched};
use crate::sample::Sample;

fn text(a: &[Arg]) -> &str {
    match a.first() {
        Some(Arg::Str(s)) => s,
        _ => "",
    }
}
fn opt<'c>(v: Option<Sample<'c>>) -> Fetched<'c> {
    match v {
        Some(v) => Fetched::value(v),
        None => Fetched::none(),
    }
}

/// `str(<string>)`.
pub(crate) fn str_<'c>(a: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    // A byte the configuration wrote as `\xE0` is that byte (crate::rawtext).
    Fetched::value(Sample::Str(Cow::Owned(
        crate::rawtext::to_bytes(text(a)).into_owned(),
    )))
}
/// `int(<integer>)`.
pub(crate) fn int<'c>(a: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    match a.first() {
        Some(Arg::Int(v)) => Fetched::value(Sample::Sint(*v)),
        _ => Fetched::none(),
    }
}
/// `bool(<bool>)`: `true`/`1` or `false`/`0` (HAProxy's `smp_check_const_bool`).
pub(crate) fn bool_<'c>(a: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    opt(match text(a) {
        "true" | "1" => Some(Sample::Bool(true)),
        "false" | "0" => Some(Sample::Bool(false)),
        _ => None,
    })
}
/// `bin(<hex>)`: the bytes an even-length hexadecimal string spells.
pub(crate) fn bin<'c>(a: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    let t = text(a).as_bytes();
    if t.len() % 2 != 0 {
        return Fetched::none();
    }
    let v: Option<Vec<u8>> = t
        .chunks(2)
        .map(|p| {
            let h = char::from(p[0]).to_digit(16)?;
            let l = char::from(p[1]).to_digit(16)?;
            Some((h << 4 | l) as u8)
        })
        .collect();
    opt(v.map(|v| Sample::Bin(Cow::Owned(v))))
}
/// `ipv4(<ipv4>)`.
pub(crate) fn ipv4<'c>(a: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    opt(text(a).parse().ok().map(Sample::Ipv4))
}
/// `ipv6(<ipv6>)`.
pub(crate) fn ipv6<'c>(a: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    opt(text(a).parse().ok().map(Sample::Ipv6))
}
/// `meth(<method>)`.
pub(crate) fn meth<'c>(a: &[Arg], _: &'c dyn Context, _: usize) -> Fetched<'c> {
    Fetched::value(Sample::Meth(Cow::Owned(text(a).as_bytes().to_vec())))
}
/// `srv_id` (§7.3.3): the server's id (its `id`, else its position from 1).
pub(crate) fn srv_id<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    opt(ctx.server_id().map(Sample::Sint))
}
/// `nbsrv([<backend>])` (§7.3.3): the backend's usable servers.
pub(crate) fn nbsrv<'c>(a: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let be = match a.first() {
        Some(Arg::Str(s)) => Some(s.as_str()),
        _ => None,
    };
    opt(ctx.nbsrv(be).map(Sample::Sint))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct C;
    impl Context for C {}

    #[test]
    fn constants() {
        let s = |t: &str| vec![Arg::Str(t.into())];
        assert_eq!(
            bin(&s("14fB"), &C, 0).value,
            Some(Sample::Bin(Cow::Owned(vec![0x14, 0xfb])))
        );
        assert_eq!(bin(&s("1"), &C, 0).value, None);
        assert_eq!(bin(&s("zz"), &C, 0).value, None);
        assert_eq!(bool_(&s("1"), &C, 0).value, Some(Sample::Bool(true)));
        assert_eq!(bool_(&s("x"), &C, 0).value, None);
        assert_eq!(
            str_(&s("a b"), &C, 0).value,
            Some(Sample::Str(Cow::Borrowed(b"a b")))
        );
        assert_eq!(int(&[Arg::Int(-3)], &C, 0).value, Some(Sample::Sint(-3)));
        assert!(ipv6(&s("::1"), &C, 0).value.is_some());
        assert!(ipv4(&s("::1"), &C, 0).value.is_none());
        assert_eq!(srv_id(&[], &C, 0).value, None);
    }
}
