//! The TLS fetches (configuration.txt §7.3.4): the client connection's handshake
//! (`ssl_fc*`), the certificate the client presented (`ssl_c_*`), the one the
//! frontend presented (`ssl_f_*`), as the engine tells them through
//! [`crate::Context::tls`], and the one the server presented on a `server ... ssl`
//! connection (`ssl_s_*`, [`crate::Context::server_cert`]).

use std::borrow::Cow;
use std::sync::Arc;

use crate::args::{Arg, ArgType};
use crate::fetch::{Context, FetchDef, Fetched, Uses};
use crate::sample::{Sample, SmpType};

/// A certificate as the `ssl_c_*` / `ssl_f_*` fetches give it (plain data the
/// engine's TLS layer reads from the DER).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertFacts {
    /// The certificate (`ssl_c_der`).
    pub der: Vec<u8>,
    /// The certificates sent after it, DER concatenated (`ssl_c_chain_der`).
    pub chain_der: Vec<u8>,
    /// SHA-1 of the DER (`ssl_c_sha1`).
    pub sha1: Vec<u8>,
    /// The serial number's bytes (`ssl_c_serial`).
    pub serial: Vec<u8>,
    /// `YYMMDDhhmmssZ` (`ssl_c_notbefore`, `ssl_c_notafter`; None outside
    /// 1950-2049, as HAProxy).
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    /// OpenSSL's short name of the signature algorithm (`RSA-SHA256`,
    /// `ecdsa-with-SHA256`) and of the key's (`rsaEncryption`,
    /// `id-ecPublicKey`).
    pub sig_alg: String,
    pub key_alg: String,
    /// X.509 version, 1-3 (`ssl_c_version`).
    pub version: i64,
    /// Subject and issuer: (short name, value) per attribute, in order.
    pub subject: Vec<(String, String)>,
    pub issuer: Vec<(String, String)>,
}

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
    /// The certificate the client presented (verified, or the handshake would
    /// have failed): `ssl_c_used`, `ssl_c_*`.
    pub client: Option<Arc<CertFacts>>,
    /// The certificate the frontend presented (`ssl_f_*`).
    pub frontend: Option<Arc<CertFacts>>,
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

fn bin(v: &[u8]) -> Sample<'_> {
    Sample::Bin(Cow::Borrowed(v))
}

/// `ssl_fc`: the client connection is TLS.
fn ssl_fc<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    found(Sample::Bool(ctx.tls().is_some()))
}
fn ssl_fc_sni<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.tls().and_then(|t| t.sni.as_deref()) {
        Some(n) => found(s(n)),
        None => none(),
    }
}
/// `ssl_fc_has_sni`.
fn ssl_fc_has_sni<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls()
        .map_or_else(none, |t| found(Sample::Bool(t.sni.is_some())))
}
fn ssl_fc_protocol<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls().map_or_else(none, |t| found(s(t.version)))
}
fn ssl_fc_cipher<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls().map_or_else(none, |t| found(s(t.cipher)))
}
fn ssl_fc_alpn<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.tls().and_then(|t| t.alpn.as_deref()) {
        Some(a) => found(Sample::Str(Cow::Borrowed(a))),
        None => none(),
    }
}
/// `ssl_c_used`, `ssl_fc_has_crt`: the client presented a certificate.
fn ssl_c_used<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls()
        .map_or_else(none, |t| found(Sample::Bool(t.client.is_some())))
}
/// `ssl_c_verify`, `ssl_c_err`, `ssl_c_ca_err`, `ssl_c_ca_err_depth`: 0 on
/// every established connection (a certificate that fails verification fails
/// the handshake: there is no `ca-ignore-err`).
fn zero<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    ctx.tls().map_or_else(none, |_| found(Sample::Sint(0)))
}

/// Which certificate a fetch reads.
trait Which {
    fn cert(ctx: &dyn Context) -> Option<&CertFacts>;
}
struct Client;
impl Which for Client {
    fn cert(ctx: &dyn Context) -> Option<&CertFacts> {
        ctx.tls()?.client.as_deref()
    }
}
struct Frontend;
impl Which for Frontend {
    fn cert(ctx: &dyn Context) -> Option<&CertFacts> {
        ctx.tls()?.frontend.as_deref()
    }
}
/// The server's certificate (`ssl_s_*`): its `chain_der` starts with the
/// certificate itself (HAProxy reads the client side's SSL_get_peer_cert_chain,
/// which includes the peer's certificate).
struct Server;
impl Which for Server {
    fn cert(ctx: &dyn Context) -> Option<&CertFacts> {
        ctx.server_cert()
    }
}

fn cert<W: Which>(ctx: &dyn Context) -> Option<&CertFacts> {
    W::cert(ctx)
}

fn der<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| found(bin(&c.der)))
}
fn chain_der<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| found(bin(&c.chain_der)))
}
fn sha1<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| found(bin(&c.sha1)))
}
fn serial<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| found(bin(&c.serial)))
}
fn notbefore<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match cert::<W>(ctx).and_then(|c| c.not_before.as_deref()) {
        Some(t) => found(s(t)),
        None => none(),
    }
}
fn notafter<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match cert::<W>(ctx).and_then(|c| c.not_after.as_deref()) {
        Some(t) => found(s(t)),
        None => none(),
    }
}
fn sig_alg<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| found(s(&c.sig_alg)))
}
fn key_alg<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| found(s(&c.key_alg)))
}
fn version<'c, W: Which>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| found(Sample::Sint(c.version)))
}

/// A DN as the `*_dn([<entry>[,<occ>[,<format>]]])` fetches give it: the whole
/// name (`/C=FR/CN=x`, or with the format `rfc2253` `CN=x,C=FR`), or the value
/// of the `<occ>`-th `<entry>` attribute (default the first; negative: counted
/// from the end; 0: none).
fn dn<'c>(attrs: &'c [(String, String)], args: &[Arg]) -> Fetched<'c> {
    let entry = match args.first() {
        Some(Arg::Str(e)) if !e.is_empty() => e,
        _ => {
            let rfc = matches!(args.get(2), Some(Arg::Str(f)) if f == "rfc2253");
            let whole = if rfc {
                let parts: Vec<String> = attrs
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("{k}={}", rfc2253_escape(v)))
                    .collect();
                parts.join(",")
            } else {
                attrs.iter().map(|(k, v)| format!("/{k}={v}")).collect()
            };
            return found(Sample::Str(Cow::Owned(whole.into_bytes())));
        }
    };
    let occ = match args.get(1) {
        Some(Arg::Int(n)) => *n,
        _ => 1,
    };
    let mut hits = attrs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(entry));
    let hit = match occ {
        n if n > 0 => hits.nth(n as usize - 1),
        n if n < 0 => hits.rev().nth(n.unsigned_abs() as usize - 1),
        _ => None,
    };
    hit.map_or_else(none, |(_, v)| found(s(v)))
}
/// RFC 2253 §2.4 escaping of an attribute value.
fn rfc2253_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let edge = (i == 0 && (c == '#' || c == ' ')) || (i == last && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn s_dn<'c, W: Which>(args: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| dn(&c.subject, args))
}
fn i_dn<'c, W: Which>(args: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    cert::<W>(ctx).map_or_else(none, |c| dn(&c.issuer, args))
}

const DN_ARGS: &[ArgType] = &[ArgType::Str, ArgType::Int, ArgType::Str];

macro_rules! tls_fetch {
    ($name:expr, $out:ident, $f:expr) => {
        tls_fetch!($name, &[], $out, $f)
    };
    ($name:expr, $args:expr, $out:ident, $f:expr) => {
        FetchDef {
            name: $name,
            args: $args,
            min_args: 0,
            out: SmpType::$out,
            uses: Uses::L4,
            fetch: $f,
            doc: "7.3.4",
        }
    };
}

/// The TLS fetches (chained after [`crate::fetch::FETCHES`]).
pub static FETCHES: &[FetchDef] = &[
    tls_fetch!("ssl_fc", Bool, ssl_fc),
    tls_fetch!("ssl_fc_sni", Str, ssl_fc_sni),
    tls_fetch!("ssl_fc_has_sni", Bool, ssl_fc_has_sni),
    tls_fetch!("ssl_fc_protocol", Str, ssl_fc_protocol),
    tls_fetch!("ssl_fc_cipher", Str, ssl_fc_cipher),
    tls_fetch!("ssl_fc_alpn", Str, ssl_fc_alpn),
    tls_fetch!("ssl_fc_has_crt", Bool, ssl_c_used),
    tls_fetch!("ssl_c_used", Bool, ssl_c_used),
    tls_fetch!("ssl_c_verify", Sint, zero),
    tls_fetch!("ssl_c_err", Sint, zero),
    tls_fetch!("ssl_c_ca_err", Sint, zero),
    tls_fetch!("ssl_c_ca_err_depth", Sint, zero),
    tls_fetch!("ssl_c_der", Bin, der::<Client>),
    tls_fetch!("ssl_c_chain_der", Bin, chain_der::<Client>),
    tls_fetch!("ssl_c_sha1", Bin, sha1::<Client>),
    tls_fetch!("ssl_c_serial", Bin, serial::<Client>),
    tls_fetch!("ssl_c_notbefore", Str, notbefore::<Client>),
    tls_fetch!("ssl_c_notafter", Str, notafter::<Client>),
    tls_fetch!("ssl_c_sig_alg", Str, sig_alg::<Client>),
    tls_fetch!("ssl_c_key_alg", Str, key_alg::<Client>),
    tls_fetch!("ssl_c_version", Sint, version::<Client>),
    tls_fetch!("ssl_c_s_dn", DN_ARGS, Str, s_dn::<Client>),
    tls_fetch!("ssl_c_i_dn", DN_ARGS, Str, i_dn::<Client>),
    tls_fetch!("ssl_f_der", Bin, der::<Frontend>),
    tls_fetch!("ssl_f_sha1", Bin, sha1::<Frontend>),
    tls_fetch!("ssl_f_serial", Bin, serial::<Frontend>),
    tls_fetch!("ssl_f_notbefore", Str, notbefore::<Frontend>),
    tls_fetch!("ssl_f_notafter", Str, notafter::<Frontend>),
    tls_fetch!("ssl_f_sig_alg", Str, sig_alg::<Frontend>),
    tls_fetch!("ssl_f_key_alg", Str, key_alg::<Frontend>),
    tls_fetch!("ssl_f_version", Sint, version::<Frontend>),
    tls_fetch!("ssl_f_s_dn", DN_ARGS, Str, s_dn::<Frontend>),
    tls_fetch!("ssl_f_i_dn", DN_ARGS, Str, i_dn::<Frontend>),
    tls_fetch!("ssl_s_der", Bin, der::<Server>),
    tls_fetch!("ssl_s_chain_der", Bin, chain_der::<Server>),
    tls_fetch!("ssl_s_sha1", Bin, sha1::<Server>),
    tls_fetch!("ssl_s_serial", Bin, serial::<Server>),
    tls_fetch!("ssl_s_notbefore", Str, notbefore::<Server>),
    tls_fetch!("ssl_s_notafter", Str, notafter::<Server>),
    tls_fetch!("ssl_s_sig_alg", Str, sig_alg::<Server>),
    tls_fetch!("ssl_s_key_alg", Str, key_alg::<Server>),
    tls_fetch!("ssl_s_version", Sint, version::<Server>),
    tls_fetch!("ssl_s_s_dn", DN_ARGS, Str, s_dn::<Server>),
    tls_fetch!("ssl_s_i_dn", DN_ARGS, Str, i_dn::<Server>),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::find_fetch;

    struct Ctx(Option<TlsSession>, Option<Arc<CertFacts>>);
    impl Context for Ctx {
        fn tls(&self) -> Option<&TlsSession> {
            self.0.as_ref()
        }
        fn server_cert(&self) -> Option<&CertFacts> {
            self.1.as_deref()
        }
    }

    fn f(c: &Ctx, n: &str, args: &[Arg]) -> Option<String> {
        (find_fetch(n).expect(n).fetch)(args, c, 0)
            .value
            .map(|v| format!("{v:?}"))
    }

    fn facts(cn: &str) -> Arc<CertFacts> {
        let attr = |k: &str, v: &str| (k.to_string(), v.to_string());
        Arc::new(CertFacts {
            der: vec![0x30, 1],
            serial: vec![2],
            not_before: Some("200428185942Z".into()),
            not_after: Some("500421185942Z".into()),
            version: 3,
            subject: vec![
                attr("C", "FR"),
                attr("OU", "a"),
                attr("OU", "b"),
                attr("CN", cn),
            ],
            ..Default::default()
        })
    }

    #[test]
    fn ssl_fetches_read_the_session() {
        let t = TlsSession {
            sni: Some("a.example".into()),
            alpn: Some(b"h2".to_vec()),
            version: "TLSv1.3",
            cipher: "TLS_AES_128_GCM_SHA256",
            client: Some(facts("c")),
            frontend: Some(facts("f")),
        };
        let on = Ctx(Some(t), Some(facts("s")));
        let off = Ctx(None, None);
        assert_eq!(f(&on, "ssl_fc", &[]), Some("Bool(true)".into()));
        assert_eq!(f(&off, "ssl_fc", &[]), Some("Bool(false)".into()));
        for d in FETCHES.iter().filter(|d| d.name != "ssl_fc") {
            assert!(f(&on, d.name, &[]).is_some(), "{}", d.name);
            assert_eq!(f(&off, d.name, &[]), None, "{}", d.name);
        }
        let cn = [Arg::Str("CN".into())];
        let str_ = |x: &str| Some(format!("{:?}", Sample::Str(Cow::Borrowed(x.as_bytes()))));
        assert_eq!(f(&on, "ssl_c_s_dn", &cn), str_("c"));
        assert_eq!(f(&on, "ssl_f_s_dn", &cn), str_("f"));
        assert_eq!(f(&on, "ssl_s_s_dn", &cn), str_("s"));
        // A TLS server behind a cleartext frontend: only the `ssl_s_*` fetches.
        let srv = Ctx(None, Some(facts("s")));
        assert_eq!(f(&srv, "ssl_s_s_dn", &cn), str_("s"));
        assert_eq!(f(&srv, "ssl_s_version", &[]), Some("Sint(3)".into()));
        assert_eq!(f(&srv, "ssl_f_s_dn", &cn), None);
        assert_eq!(f(&srv, "ssl_fc", &[]), Some("Bool(false)".into()));
    }

    #[test]
    fn dn_entries_by_occurrence() {
        let c = facts("c");
        let v = |args: &[Arg]| dn(&c.subject, args).value.map(|v| format!("{v:?}"));
        let str_ = |x: &str| Some(format!("{:?}", Sample::Str(Cow::Borrowed(x.as_bytes()))));
        assert_eq!(v(&[]), str_("/C=FR/OU=a/OU=b/CN=c"));
        assert_eq!(v(&[Arg::Str("OU".into())]), str_("a"));
        assert_eq!(v(&[Arg::Str("ou".into()), Arg::Int(2)]), str_("b"));
        assert_eq!(v(&[Arg::Str("OU".into()), Arg::Int(-1)]), str_("b"));
        assert_eq!(v(&[Arg::Str("OU".into()), Arg::Int(3)]), None);
        assert_eq!(v(&[Arg::Str("OU".into()), Arg::Int(0)]), None);
        assert_eq!(v(&[Arg::Str("L".into())]), None);
        let rfc = [
            Arg::Str(String::new()),
            Arg::Int(0),
            Arg::Str("rfc2253".into()),
        ];
        assert_eq!(v(&rfc), str_("CN=c,OU=b,OU=a,C=FR"));
        assert_eq!(rfc2253_escape(" a,b+c "), "\\ a\\,b\\+c\\ ");
    }

    #[test]
    fn no_client_certificate_no_values() {
        let t = TlsSession {
            frontend: Some(facts("f")),
            ..Default::default()
        };
        let c = Ctx(Some(t), None);
        assert_eq!(f(&c, "ssl_c_used", &[]), Some("Bool(false)".into()));
        assert_eq!(f(&c, "ssl_c_sha1", &[]), None);
        assert_eq!(f(&c, "ssl_c_s_dn", &[]), None);
        assert!(f(&c, "ssl_f_s_dn", &[]).is_some());
    }
}
