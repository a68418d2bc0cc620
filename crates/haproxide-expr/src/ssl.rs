//! The frontend-connection TLS fetches (configuration.txt §7.3.4 `ssl_fc*`,
//! `ssl_c_*`): what the handshake settled, as the engine tells it through
//! [`crate::Context::tls`].

use std::borrow::Cow;

use crate::args::Arg;
use crate::fetch::{Context, Fetched};
use crate::sample::Sample;

/// What a TLS handshake on the client connection settled (plain data the engine
/// fills from its TLS library).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSession {
    /// The SNI the client sent (`ssl_fc_sni`).
    pub sni: Option<String>,
    /// The negotiated ALPN protocol (`ssl_fc_alpn`).
    pub alpn: Option<Vec<u8>>,
    /// `TLSv1.2`, `TLSv1.3` (`ssl_fc_protocol`).
    pub version: &'static str,
    /// OpenSSL's name of the suite (`ssl_fc_cipher`).
    pub cipher: &'static str,
    /// The client presented a certificate (`ssl_c_used`).
    pub client_cert: bool,
    /// Its subject as `/C=../CN=..` (`ssl_c_s_dn`).
    pub client_dn: Option<String>,
}

fn found<'c>(v: Sample<'c>) -> Fetched<'c> {
    Fetched {
        value: Some(v),
        may_change: false,
        more: false,
    }
}

fn none<'c>() -> Fetched<'c> {
    Fetched {
        value: None,
        may_change: false,
        more: false,
    }
}

fn s(v: &str) -> Sample<'_> {
    Sample::Str(Cow::Borrowed(v.as_bytes()))
}

/// `ssl_fc`: the client connection is TLS.
pub(crate) fn ssl_fc<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    found(Sample::Bool(ctx.tls().is_some()))
}
pub(crate) fn ssl_fc_sni<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.tls().and_then(|t| t.sni.as_deref()) {
        Some(n) => found(s(n)),
        None => none(),
    }
}
pub(crate) fn ssl_fc_protocol<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls().map_or_else(none, |t| found(s(t.version)))
}
pub(crate) fn ssl_fc_cipher<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls().map_or_else(none, |t| found(s(t.cipher)))
}
pub(crate) fn ssl_fc_alpn<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.tls().and_then(|t| t.alpn.as_deref()) {
        Some(a) => found(Sample::Str(Cow::Borrowed(a))),
        None => none(),
    }
}
pub(crate) fn ssl_c_used<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls()
        .map_or_else(none, |t| found(Sample::Bool(t.client_cert)))
}
/// `ssl_c_verify`: 0 on every established connection (a certificate that fails
/// verification fails the handshake: there is no `ca-ignore-err`).
pub(crate) fn ssl_c_verify<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls().map_or_else(none, |_| found(Sample::Sint(0)))
}
pub(crate) fn ssl_c_s_dn<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.tls().and_then(|t| t.client_dn.as_deref()) {
        Some(d) => found(s(d)),
        None => none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::find_fetch;

    struct Ctx(Option<TlsSession>);
    impl Context for Ctx {
        fn tls(&self) -> Option<&TlsSession> {
            self.0.as_ref()
        }
    }

    #[test]
    fn ssl_fetches_read_the_session() {
        let t = TlsSession {
            sni: Some("a.example".into()),
            alpn: Some(b"h2".to_vec()),
            version: "TLSv1.3",
            cipher: "TLS_AES_128_GCM_SHA256",
            client_cert: true,
            client_dn: Some("/CN=c".into()),
        };
        let on = Ctx(Some(t));
        let off = Ctx(None);
        let f = |c: &Ctx, n: &str| {
            (find_fetch(n).expect(n).fetch)(&[], c, 0)
                .value
                .map(|v| format!("{v:?}"))
        };
        assert_eq!(f(&on, "ssl_fc"), Some("Bool(true)".into()));
        assert_eq!(f(&off, "ssl_fc"), Some("Bool(false)".into()));
        for n in [
            "ssl_fc_sni",
            "ssl_fc_protocol",
            "ssl_fc_cipher",
            "ssl_fc_alpn",
            "ssl_c_used",
            "ssl_c_verify",
            "ssl_c_s_dn",
        ] {
            assert!(f(&on, n).is_some(), "{n}");
            assert_eq!(f(&off, n), None, "{n}");
        }
    }
}
