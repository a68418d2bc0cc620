//! The one place that names rustls' crypto provider: aws-lc-rs (docs/tls.md "Why
//! rustls" has the measurements: an RSA-2048 signature costs about as much CPU
//! as in OpenSSL, 2.2x less than in *ring*). Everything else in the crate, the
//! load generator and the health checks take the provider from here.

use std::sync::LazyLock;

use aws_lc_rs_crate::hmac as lc_hmac;
use rustls::crypto::aws_lc_rs;
use rustls::crypto::hash::HashAlgorithm;
use rustls::crypto::hmac::{Hmac, Key, Tag};
use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::CryptoProvider;
use rustls::{SupportedCipherSuite, Tls13CipherSuite};

pub use aws_lc_rs::{cipher_suite, kx_group, Ticketer};

/// The provider with the groups HAProxy 2.6 offers on OpenSSL 3.0: X25519, P-256,
/// P-384, in that order (aws-lc-rs adds the post-quantum hybrid X25519MLKEM768,
/// which OpenSSL 3.0 does not have: left out, so that the same clients negotiate
/// the same group with both proxies and `curves` lists mean the same).
///
/// Its TLS 1.3 suites derive keys with [`fast_hkdf`]'s HKDF.
pub fn default_provider() -> CryptoProvider {
    let p = aws_lc_rs::default_provider();
    CryptoProvider {
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        cipher_suites: p.cipher_suites.iter().copied().map(fast_hkdf).collect(),
        ..p
    }
}

/// `s` with the TLS 1.3 key schedule's HKDF built on HMAC keys that are set up once
/// per secret (TLS 1.2 suites are returned as they are).
///
/// rustls' aws-lc-rs suites call aws-lc's one-shot `HKDF()` for every
/// HKDF-Expand-Label: each of the ~20 derivations of a TLS 1.3 handshake redoes the
/// HKDF-Extract and both HMAC key set-ups (8 SHA-384 compressions for one output
/// block). Here the extract runs once per secret and the HMAC key (its inner and
/// outer padded states) once per PRK, so an expansion costs its 2 compressions.
/// The same RFC 5869 functions (rustls' `HkdfUsingHmac` over aws-lc's HMAC):
/// the outputs are identical, the interop tests check it against OpenSSL.
/// Measured with bench/tls-callgrind.sh: docs/performance.md, session 10.
pub fn fast_hkdf(s: SupportedCipherSuite) -> SupportedCipherSuite {
    match s {
        SupportedCipherSuite::Tls13(t) => FAST_TLS13
            .iter()
            .find(|f| f.common.suite == t.common.suite)
            .map_or(s, SupportedCipherSuite::Tls13),
        other => other,
    }
}

/// rustls' TLS 1.3 suites (aws-lc-rs) with [`fast_hkdf`]'s HKDF, built once.
static FAST_TLS13: LazyLock<Vec<Tls13CipherSuite>> = LazyLock::new(|| {
    aws_lc_rs::ALL_CIPHER_SUITES
        .iter()
        .filter_map(|s| match s {
            SupportedCipherSuite::Tls13(t) => {
                let hkdf: &'static HkdfUsingHmac<'static> = match t.common.hash_provider.algorithm()
                {
                    HashAlgorithm::SHA256 => &HKDF_SHA256,
                    HashAlgorithm::SHA384 => &HKDF_SHA384,
                    _ => return None,
                };
                Some(Tls13CipherSuite {
                    common: rustls::CipherSuiteCommon {
                        suite: t.common.suite,
                        hash_provider: t.common.hash_provider,
                        confidentiality_limit: t.common.confidentiality_limit,
                    },
                    hkdf_provider: hkdf,
                    aead_alg: t.aead_alg,
                    quic: t.quic,
                })
            }
            _ => None,
        })
        .collect()
});

static HMAC_SHA256: LcHmac = LcHmac(&lc_hmac::HMAC_SHA256);
static HMAC_SHA384: LcHmac = LcHmac(&lc_hmac::HMAC_SHA384);
static HKDF_SHA256: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA256);
static HKDF_SHA384: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA384);

/// aws-lc's HMAC as rustls' [`Hmac`]: the key's padded states are computed in
/// `with_key`, each signature starts from a copy of them.
struct LcHmac(&'static lc_hmac::Algorithm);

impl Hmac for LcHmac {
    fn with_key(&self, key: &[u8]) -> Box<dyn Key> {
        Box::new(LcKey(lc_hmac::Key::new(*self.0, key)))
    }

    fn hash_output_len(&self) -> usize {
        self.0.tag_len()
    }
}

struct LcKey(lc_hmac::Key);

impl Key for LcKey {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> Tag {
        let mut c = lc_hmac::Context::with_key(&self.0);
        c.update(first);
        for m in middle {
            c.update(m);
        }
        c.update(last);
        Tag::new(c.sign().as_ref())
    }

    fn tag_len(&self) -> usize {
        self.0.algorithm().tag_len()
    }
}

/// The SHA-1 digest of `data` (certificate fingerprints, `ssl_*_sha1`).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    use aws_lc_rs_crate::digest::{digest, SHA1_FOR_LEGACY_USE_ONLY};
    let mut out = [0u8; 20];
    out.copy_from_slice(digest(&SHA1_FOR_LEGACY_USE_ONLY, data).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_haproxys() {
        let names: Vec<_> = default_provider()
            .kx_groups
            .iter()
            .map(|g| format!("{:?}", g.name()))
            .collect();
        assert_eq!(names, ["X25519", "secp256r1", "secp384r1"]);
    }

    #[test]
    fn fast_hkdf_is_rfc5869() {
        use rustls::crypto::tls13::Hkdf;
        // RFC 5869 A.1 (SHA-256).
        let okm_hex =
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865";
        let salt: Vec<u8> = (0u8..=12).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let mut okm = [0u8; 42];
        HKDF_SHA256
            .extract_from_secret(Some(&salt), &[0x0b; 22])
            .expand_slice(&[&info], &mut okm)
            .unwrap();
        let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, okm_hex);
        // SHA-384: the same bytes as aws-lc's own HKDF, several blocks long.
        use aws_lc_rs_crate::hkdf;
        struct L(usize);
        impl hkdf::KeyType for L {
            fn len(&self) -> usize {
                self.0
            }
        }
        let mut ours = [0u8; 100];
        let mut theirs = [0u8; 100];
        HKDF_SHA384
            .extract_from_secret(Some(b"salt"), b"secret")
            .expand_slice(&[b"in", b"fo"], &mut ours)
            .unwrap();
        hkdf::Salt::new(hkdf::HKDF_SHA384, b"salt")
            .extract(b"secret")
            .expand(&[b"info"], L(100))
            .unwrap()
            .fill(&mut theirs)
            .unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn tls13_suites_use_fast_hkdf() {
        let p = default_provider();
        let n = p
            .cipher_suites
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
            .count();
        assert_eq!(n, 3);
        for s in &p.cipher_suites {
            if let SupportedCipherSuite::Tls13(t) = s {
                assert!(
                    FAST_TLS13.iter().any(|f| std::ptr::eq(f, *t)),
                    "{:?}",
                    t.common.suite
                );
            }
        }
    }

    #[test]
    fn sha1_of_abc() {
        let h = sha1(b"abc");
        assert_eq!(h[..4], [0xa9, 0x99, 0x3e, 0x36]);
        assert_eq!(h[16..], [0x9c, 0xd0, 0xd8, 0x9d]);
    }
}
