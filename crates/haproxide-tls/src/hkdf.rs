//! The TLS 1.3 key schedule's HKDF (RFC 5869) over aws-lc's HMAC, for
//! [`crate::crypto::fast_hkdf`]'s suites.
//!
//! An HMAC key keeps its inner and outer padded states (one hash compression each),
//! so each PRK is set up once and an expansion costs the two compressions of its
//! HMAC. A full handshake without PSK also starts from constants (RFC 8446 §7.1):
//! the Early Secret is HKDF-Extract(0, 0), `Derive-Secret(Early Secret, "derived",
//! "")` depends on nothing else, and the HMAC key of the extract that follows is that
//! constant. They are computed once per hash and reused: 10 of the ~100 SHA-384
//! compressions of a handshake (docs/performance.md, session 15).

use std::sync::OnceLock;

use aws_lc_rs_crate::constant_time::verify_slices_are_equal;
use aws_lc_rs_crate::digest;
use aws_lc_rs_crate::hmac as lc_hmac;
use rustls::crypto::hmac::Tag;
use rustls::crypto::tls13::{Hkdf, HkdfExpander, OkmBlock, OutputLengthError};

/// The longest hash output of the suites (SHA-384's 48 bytes; rustls' `OkmBlock`
/// holds up to 64).
const MAX_HASH: usize = 64;

/// HKDF for one hash, with the no-PSK constants of the TLS 1.3 key schedule built
/// on first use.
pub(crate) struct FastHkdf {
    alg: lc_hmac::Algorithm,
    consts: &'static OnceLock<Consts>,
}

static CONSTS_SHA256: OnceLock<Consts> = OnceLock::new();
static CONSTS_SHA384: OnceLock<Consts> = OnceLock::new();
/// The HKDF of the SHA-256 suites (TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256).
pub(crate) static HKDF_SHA256: FastHkdf = FastHkdf {
    alg: lc_hmac::HMAC_SHA256,
    consts: &CONSTS_SHA256,
};
/// The HKDF of TLS_AES_256_GCM_SHA384.
pub(crate) static HKDF_SHA384: FastHkdf = FastHkdf {
    alg: lc_hmac::HMAC_SHA384,
    consts: &CONSTS_SHA384,
};

/// What a full handshake without PSK derives before its key exchange.
struct Consts {
    /// HMAC key: the Early Secret, HKDF-Extract(salt = 0, IKM = 0).
    early: lc_hmac::Key,
    /// The HkdfLabel of `Derive-Secret(., "derived", "")`, as one byte string.
    derived_info: Vec<u8>,
    /// `Derive-Secret(Early Secret, "derived", "")`: the next extract's salt.
    derived: Vec<u8>,
    /// HMAC key: `derived`, as that extract keys its HMAC with it.
    derived_key: lc_hmac::Key,
}

impl FastHkdf {
    fn len(&self) -> usize {
        self.alg.tag_len()
    }

    fn consts(&self) -> &'static Consts {
        self.consts.get_or_init(|| {
            let len = self.len();
            let zeros = [0u8; MAX_HASH];
            let early = lc_hmac::Key::new(self.alg, self.prk(None, &zeros[..len]).as_ref());
            let empty = digest::digest(self.alg.digest_algorithm(), b"");
            let label = b"tls13 derived";
            let mut derived_info = Vec::with_capacity(4 + label.len() + len);
            derived_info.extend_from_slice(&u16::try_from(len).unwrap_or(0).to_be_bytes());
            derived_info.push(u8::try_from(label.len()).unwrap_or(0));
            derived_info.extend_from_slice(label);
            derived_info.push(u8::try_from(empty.as_ref().len()).unwrap_or(0));
            derived_info.extend_from_slice(empty.as_ref());
            let mut derived = vec![0u8; len];
            expand(&early, &[&derived_info], &mut derived);
            let derived_key = lc_hmac::Key::new(self.alg, &derived);
            Consts {
                early,
                derived_info,
                derived,
                derived_key,
            }
        })
    }

    /// HKDF-Extract(salt, ikm): the PRK. The constant salt of the handshake secret's
    /// extract uses its HMAC key set up once.
    fn prk(&self, salt: Option<&[u8]>, ikm: &[u8]) -> lc_hmac::Tag {
        let zeros = [0u8; MAX_HASH];
        let salt = salt.unwrap_or(&zeros[..self.len()]);
        let mut ctx = match self.consts.get() {
            Some(c) if verify_slices_are_equal(salt, &c.derived).is_ok() => {
                lc_hmac::Context::with_key(&c.derived_key)
            }
            _ => lc_hmac::Context::with_key(&lc_hmac::Key::new(self.alg, salt)),
        };
        ctx.update(ikm);
        ctx.sign()
    }

    fn keyed(&self, key: &[u8]) -> Box<dyn HkdfExpander> {
        Box::new(PrkExpander(lc_hmac::Key::new(self.alg, key)))
    }
}

impl Hkdf for FastHkdf {
    fn extract_from_zero_ikm(&self, salt: Option<&[u8]>) -> Box<dyn HkdfExpander> {
        match salt {
            None => Box::new(EarlyExpander(self.consts())),
            Some(s) => {
                let zeros = [0u8; MAX_HASH];
                self.keyed(self.prk(Some(s), &zeros[..self.len()]).as_ref())
            }
        }
    }

    fn extract_from_secret(&self, salt: Option<&[u8]>, secret: &[u8]) -> Box<dyn HkdfExpander> {
        self.keyed(self.prk(salt, secret).as_ref())
    }

    fn expander_for_okm(&self, okm: &OkmBlock) -> Box<dyn HkdfExpander> {
        self.keyed(okm.as_ref())
    }

    fn hmac_sign(&self, key: &OkmBlock, message: &[u8]) -> Tag {
        Tag::new(lc_hmac::sign(&lc_hmac::Key::new(self.alg, key.as_ref()), message).as_ref())
    }
}

/// HKDF-Expand(PRK, info, output.len()), the PRK being `key`'s HMAC key; `output` is
/// at most 255 blocks (the callers check).
fn expand(key: &lc_hmac::Key, info: &[&[u8]], output: &mut [u8]) {
    let mut prev: Option<lc_hmac::Tag> = None;
    for (counter, chunk) in (1..=u8::MAX).zip(output.chunks_mut(key.algorithm().tag_len())) {
        let mut ctx = lc_hmac::Context::with_key(key);
        if let Some(t) = &prev {
            ctx.update(t.as_ref());
        }
        for part in info {
            ctx.update(part);
        }
        ctx.update(&[counter]);
        let t = ctx.sign();
        chunk.copy_from_slice(&t.as_ref()[..chunk.len()]);
        prev = Some(t);
    }
}

fn expand_slice(
    key: &lc_hmac::Key,
    info: &[&[u8]],
    output: &mut [u8],
) -> Result<(), OutputLengthError> {
    if output.len() > 255 * key.algorithm().tag_len() {
        return Err(OutputLengthError);
    }
    expand(key, info, output);
    Ok(())
}

fn expand_block(key: &lc_hmac::Key, info: &[&[u8]]) -> OkmBlock {
    let mut out = [0u8; MAX_HASH];
    let out = &mut out[..key.algorithm().tag_len()];
    expand(key, info, out);
    OkmBlock::new(out)
}

/// An expander over a PRK's HMAC key.
struct PrkExpander(lc_hmac::Key);

impl HkdfExpander for PrkExpander {
    fn expand_slice(&self, info: &[&[u8]], output: &mut [u8]) -> Result<(), OutputLengthError> {
        expand_slice(&self.0, info, output)
    }

    fn expand_block(&self, info: &[&[u8]]) -> OkmBlock {
        expand_block(&self.0, info)
    }

    fn hash_len(&self) -> usize {
        self.0.algorithm().tag_len()
    }
}

/// The Early Secret without PSK: its "derived" expansion is the stored constant,
/// anything else is computed.
struct EarlyExpander(&'static Consts);

impl EarlyExpander {
    fn is_derived(&self, info: &[&[u8]]) -> bool {
        let mut want = self.0.derived_info.as_slice();
        for part in info {
            match want.strip_prefix(*part) {
                Some(rest) => want = rest,
                None => return false,
            }
        }
        want.is_empty()
    }
}

impl HkdfExpander for EarlyExpander {
    fn expand_slice(&self, info: &[&[u8]], output: &mut [u8]) -> Result<(), OutputLengthError> {
        if output.len() == self.0.derived.len() && self.is_derived(info) {
            output.copy_from_slice(&self.0.derived);
            return Ok(());
        }
        expand_slice(&self.0.early, info, output)
    }

    fn expand_block(&self, info: &[&[u8]]) -> OkmBlock {
        if self.is_derived(info) {
            return OkmBlock::new(&self.0.derived);
        }
        expand_block(&self.0.early, info)
    }

    fn hash_len(&self) -> usize {
        self.0.derived.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::{HKDF_SHA256 as SHA256, HKDF_SHA384 as SHA384};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// rustls' HkdfExpandLabel layout of `info`.
    fn label_info(len: u16, label: &[u8], context: &[u8]) -> Vec<Vec<u8>> {
        vec![
            len.to_be_bytes().to_vec(),
            vec![u8::try_from(6 + label.len()).unwrap()],
            b"tls13 ".to_vec(),
            label.to_vec(),
            vec![u8::try_from(context.len()).unwrap()],
            context.to_vec(),
        ]
    }

    #[test]
    fn rfc5869_a1() {
        let salt: Vec<u8> = (0u8..=12).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let mut okm = [0u8; 42];
        SHA256
            .extract_from_secret(Some(&salt), &[0x0b; 22])
            .expand_slice(&[&info], &mut okm)
            .unwrap();
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        let mut long = [0u8; 255 * 32 + 1];
        assert!(SHA256
            .extract_from_secret(None, b"k")
            .expand_slice(&[], &mut long)
            .is_err());
    }

    /// RFC 8448 §3 (a simple 1-RTT handshake, SHA-256): the early secret, its
    /// "derived" secret and the handshake secret from the (EC)DHE shared secret.
    #[test]
    fn rfc8448_key_schedule() {
        let early = SHA256.extract_from_zero_ikm(None);
        let empty = digest::digest(&digest::SHA256, b"");
        let info = label_info(32, b"derived", empty.as_ref());
        let parts: Vec<&[u8]> = info.iter().map(Vec::as_slice).collect();
        let derived = early.expand_block(&parts);
        assert_eq!(
            hex(derived.as_ref()),
            "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"
        );
        // The memo is what the generic expansion gives.
        let key = lc_hmac::Key::new(
            lc_hmac::HMAC_SHA256,
            &hex_bytes("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"),
        );
        assert_eq!(expand_block(&key, &parts).as_ref(), derived.as_ref());
        assert!(EarlyExpander(SHA256.consts()).is_derived(&parts));
        // Another label on the early secret is computed, not the memo.
        let other = label_info(32, b"res binder", empty.as_ref());
        let other: Vec<&[u8]> = other.iter().map(Vec::as_slice).collect();
        assert!(!EarlyExpander(SHA256.consts()).is_derived(&other));
        assert_eq!(
            early.expand_block(&other).as_ref(),
            expand_block(&key, &other).as_ref()
        );
        let shared = hex_bytes("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d");
        let hs = SHA256.extract_from_secret(Some(derived.as_ref()), &shared);
        let hs_direct = lc_hmac::Key::new(
            lc_hmac::HMAC_SHA256,
            &hex_bytes("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac"),
        );
        let info = label_info(32, b"c hs traffic", b"hash");
        let parts: Vec<&[u8]> = info.iter().map(Vec::as_slice).collect();
        assert_eq!(
            hs.expand_block(&parts).as_ref(),
            expand_block(&hs_direct, &parts).as_ref()
        );
    }

    /// SHA-384: the same bytes as aws-lc's own HKDF, several blocks long, and the
    /// constant-salt extract the same as with any other salt.
    #[test]
    fn sha384_matches_aws_lc() {
        use aws_lc_rs_crate::hkdf;
        struct L(usize);
        impl hkdf::KeyType for L {
            fn len(&self) -> usize {
                self.0
            }
        }
        let theirs = |salt: &[u8], ikm: &[u8]| {
            let mut out = [0u8; 100];
            hkdf::Salt::new(hkdf::HKDF_SHA384, salt)
                .extract(ikm)
                .expand(&[b"info"], L(100))
                .unwrap()
                .fill(&mut out)
                .unwrap();
            out
        };
        let mut ours = [0u8; 100];
        SHA384
            .extract_from_secret(Some(b"salt"), b"secret")
            .expand_slice(&[b"in", b"fo"], &mut ours)
            .unwrap();
        assert_eq!(ours, theirs(b"salt", b"secret"));
        let derived = SHA384.consts().derived.clone();
        SHA384
            .extract_from_secret(Some(&derived), b"shared")
            .expand_slice(&[b"info"], &mut ours)
            .unwrap();
        assert_eq!(ours, theirs(&derived, b"shared"));
        let zeros = [0u8; 48];
        SHA384
            .extract_from_zero_ikm(None)
            .expand_slice(&[b"info"], &mut ours)
            .unwrap();
        assert_eq!(ours, theirs(&zeros, &zeros));
        SHA384
            .extract_from_zero_ikm(Some(b"s"))
            .expand_slice(&[b"info"], &mut ours)
            .unwrap();
        assert_eq!(ours, theirs(b"s", &zeros));
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
