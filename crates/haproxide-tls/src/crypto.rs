//! The one place that names rustls' crypto provider: aws-lc-rs (docs/tls.md "Why
//! rustls" has the measurements: an RSA-2048 signature costs about as much CPU
//! as in OpenSSL, 2.2x less than in *ring*). Everything else in the crate, the
//! load generator and the health checks take the provider from here.

use std::sync::LazyLock;

use rustls::crypto::aws_lc_rs;
use rustls::crypto::hash::HashAlgorithm;
use rustls::crypto::CryptoProvider;
use rustls::{SupportedCipherSuite, Tls13CipherSuite};

use crate::hkdf::{FastHkdf, HKDF_SHA256, HKDF_SHA384};

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

    #[test]
    fn sha1_of_abc() {
        let h = sha1(b"abc");
        assert_eq!(h[..4], [0xa9, 0x99, 0x3e, 0x36]);
        assert_eq!(h[16..], [0x9c, 0xd0, 0xd8, 0x9d]);
    }
}
