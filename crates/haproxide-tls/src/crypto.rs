//! The one place that names rustls' crypto provider: aws-lc-rs (docs/tls.md "Why
//! rustls" has the measurements: an RSA-2048 signature costs about as much CPU
//! as in OpenSSL, 2.2x less than in *ring*). Everything else in the crate, the
//! load generator and the health checks take the provider from here.

use rustls::crypto::aws_lc_rs;
use rustls::crypto::CryptoProvider;

pub use aws_lc_rs::{cipher_suite, kx_group, Ticketer};

/// The provider with the groups HAProxy 2.6 offers on OpenSSL 3.0: X25519, P-256,
/// P-384, in that order (aws-lc-rs adds the post-quantum hybrid X25519MLKEM768,
/// which OpenSSL 3.0 does not have: left out, so that the same clients negotiate
/// the same group with both proxies and `curves` lists mean the same).
pub fn default_provider() -> CryptoProvider {
    CryptoProvider {
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        ..aws_lc_rs::default_provider()
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
    fn sha1_of_abc() {
        let h = sha1(b"abc");
        assert_eq!(h[..4], [0xa9, 0x99, 0x3e, 0x36]);
        assert_eq!(h[16..], [0x9c, 0xd0, 0xd8, 0x9d]);
    }
}
