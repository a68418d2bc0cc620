//! The one place that names rustls' crypto provider: aws-lc-rs (docs/tls.md "Why
//! rustls" has the measurements: an RSA-2048 signature costs about as much CPU
//! as in OpenSSL, 2.2x less than in *ring*). Everything else in the crate, the
//! load generator and the health checks take the provider from here.

use std::sync::{Arc, LazyLock};

use rustls::crypto::aws_lc_rs;
use rustls::crypto::hash::HashAlgorithm;
use rustls::crypto::{CryptoProvider, KeyProvider};
use rustls::pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme, SupportedCipherSuite, Tls13CipherSuite};

use crate::hkdf::{FastHkdf, HKDF_SHA256, HKDF_SHA384};

pub use aws_lc_rs::{cipher_suite, kx_group, Ticketer};

/// The provider with the groups HAProxy 2.6 offers on OpenSSL 3.0: X25519, P-256,
/// P-384, in that order (aws-lc-rs adds the post-quantum hybrid X25519MLKEM768,
/// which OpenSSL 3.0 does not have: left out, so that the same clients negotiate
/// the same group with both proxies and `curves` lists mean the same).
///
/// Its TLS 1.3 suites derive keys with [`fast_hkdf`]'s HKDF; its RSA keys choose
/// their signature scheme in OpenSSL's order ([`OPENSSL_RSA_ORDER`]).
pub fn default_provider() -> CryptoProvider {
    let p = aws_lc_rs::default_provider();
    CryptoProvider {
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        cipher_suites: p.cipher_suites.iter().copied().map(fast_hkdf).collect(),
        key_provider: &KEYS,
        ..p
    }
}

/// The RSA signature schemes in the order OpenSSL 3.0's default list has them
/// (`tls12_sigalgs` in ssl/t1_lib.c): with HAProxy's default server preference
/// (no `prefer-client-ciphers`, §5.1) an RSA key signs with the first of these the
/// client offers, whatever the client's order. rustls' own order starts from
/// RSA-PSS-SHA512; OpenSSL's from RSA-PSS-SHA256, which is also cheaper (MGF1 over
/// SHA-256). Checked with `openssl s_client -sigalgs` against HAProxy 2.6.12
/// (docs/performance.md, session 15).
pub const OPENSSL_RSA_ORDER: [SignatureScheme; 6] = [
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

/// `ck` for a bind with `prefer-client-ciphers` (§5.1): OpenSSL then takes the
/// signature schemes in the client's order too, so an RSA key signs with the first
/// scheme the client offers (of [`OPENSSL_RSA_ORDER`]'s). Other keys have one scheme
/// each: `ck` itself. Built once per certificate entry, with the configuration.
pub fn in_client_order(ck: &Arc<CertifiedKey>) -> Arc<CertifiedKey> {
    if ck.key.algorithm() != SignatureAlgorithm::RSA {
        return ck.clone();
    }
    let key = RsaOrder {
        key: ck.key.clone(),
        client_first: true,
    };
    let mut c = CertifiedKey::new(ck.cert.clone(), Arc::new(key));
    c.ocsp.clone_from(&ck.ocsp);
    Arc::new(c)
}

/// aws-lc-rs' key loading, RSA keys wrapped in [`RsaOrder`] (OpenSSL's order).
#[derive(Debug)]
struct Keys;

static KEYS: Keys = Keys;

impl KeyProvider for Keys {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        let key = aws_lc_rs::default_provider()
            .key_provider
            .load_private_key(key_der)?;
        Ok(match key.algorithm() {
            SignatureAlgorithm::RSA => Arc::new(RsaOrder {
                key,
                client_first: false,
            }),
            _ => key,
        })
    }
}

/// An RSA key that picks its scheme among [`OPENSSL_RSA_ORDER`]'s: the first of
/// that order the client offers, or the client's first of them (`client_first`).
#[derive(Debug)]
struct RsaOrder {
    key: Arc<dyn SigningKey>,
    client_first: bool,
}

impl SigningKey for RsaOrder {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let sign_with = |s: &SignatureScheme| self.key.choose_scheme(std::slice::from_ref(s));
        if self.client_first {
            offered
                .iter()
                .filter(|s| OPENSSL_RSA_ORDER.contains(s))
                .find_map(sign_with)
        } else {
            OPENSSL_RSA_ORDER
                .iter()
                .filter(|s| offered.contains(s))
                .find_map(sign_with)
        }
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        self.key.public_key()
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.key.algorithm()
    }
}

/// `s` with the TLS 1.3 key schedule's HKDF built on HMAC keys that are set up once
/// per secret (TLS 1.2 suites are returned as they are).
///
/// rustls' aws-lc-rs suites call aws-lc's one-shot `HKDF()` for every
/// HKDF-Expand-Label: each of the ~20 derivations of a TLS 1.3 handshake redoes the
/// HKDF-Extract and both HMAC key set-ups (8 SHA-384 compressions for one output
/// block). Here the extract runs once per secret and the HMAC key (its inner and
/// outer padded states) once per PRK, so an expansion costs its 2 compressions, and
/// the constants a handshake without PSK starts from (the Early Secret, its
/// "derived" secret and that salt's HMAC key) are computed once (`hkdf.rs`).
/// The same RFC 5869 functions over aws-lc's HMAC: the outputs are identical (unit
/// tests: RFC 5869, RFC 8448, aws-lc's own HKDF), the interop tests check it against
/// OpenSSL. Measured with bench/tls-callgrind.sh: docs/performance.md, sessions 10
/// and 15.
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
                let hkdf: &'static FastHkdf = match t.common.hash_provider.algorithm() {
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

    /// An RSA key signs with the first scheme of OpenSSL's order the client offers,
    /// not the client's (nor rustls') first: RSA-PSS-SHA256 for rustls' clients,
    /// as HAProxy 2.6 does.
    #[test]
    fn rsa_schemes_in_openssls_order() {
        use aws_lc_rs_crate::encoding::AsDer;
        use aws_lc_rs_crate::rsa::{KeyPair, KeySize};
        use aws_lc_rs_crate::signature::KeyPair as _;
        use rustls::pki_types::PrivatePkcs8KeyDer;
        use SignatureScheme as S;
        let kp = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = kp.as_der().unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.as_ref().to_vec()));
        let key = default_provider()
            .key_provider
            .load_private_key(der)
            .unwrap();
        assert_eq!(key.algorithm(), SignatureAlgorithm::RSA);
        assert!(key.public_key().is_some());
        let pick = |offered: &[S]| key.choose_scheme(offered).map(|s| s.scheme());
        // rustls' client order (tlsload, the benches).
        let rustls_client = default_provider()
            .signature_verification_algorithms
            .supported_schemes();
        assert_eq!(pick(&rustls_client), Some(S::RSA_PSS_SHA256));
        let tls12 = [
            S::RSA_PKCS1_SHA512,
            S::RSA_PKCS1_SHA384,
            S::RSA_PKCS1_SHA256,
        ];
        assert_eq!(pick(&tls12), Some(S::RSA_PKCS1_SHA256));
        assert_eq!(
            pick(&[S::RSA_PSS_SHA512, S::RSA_PKCS1_SHA256]),
            Some(S::RSA_PSS_SHA512)
        );
        assert_eq!(pick(&[S::RSA_PSS_SHA384]), Some(S::RSA_PSS_SHA384));
        assert!(pick(&[S::ECDSA_NISTP256_SHA256, S::ED25519]).is_none());
        // prefer-client-ciphers: the client's order.
        let ck = Arc::new(CertifiedKey::new(vec![], key.clone()));
        let client = in_client_order(&ck);
        let pick_c = |offered: &[S]| client.key.choose_scheme(offered).map(|s| s.scheme());
        assert_eq!(pick_c(&rustls_client), Some(S::RSA_PSS_SHA512));
        assert_eq!(pick_c(&tls12), Some(S::RSA_PKCS1_SHA512));
        assert_eq!(
            pick_c(&[S::ED25519, S::RSA_PKCS1_SHA256, S::RSA_PSS_SHA256]),
            Some(S::RSA_PKCS1_SHA256)
        );
        // The signature verifies under the scheme it names.
        let signer = key.choose_scheme(&rustls_client).unwrap();
        let sig = signer.sign(b"message").unwrap();
        let public = aws_lc_rs_crate::signature::UnparsedPublicKey::new(
            &aws_lc_rs_crate::signature::RSA_PSS_2048_8192_SHA256,
            kp.public_key().as_ref(),
        );
        assert!(public.verify(b"message", &sig).is_ok());
    }

    #[test]
    fn sha1_of_abc() {
        let h = sha1(b"abc");
        assert_eq!(h[..4], [0xa9, 0x99, 0x3e, 0x36]);
        assert_eq!(h[16..], [0x9c, 0xd0, 0xd8, 0x9d]);
    }
}
