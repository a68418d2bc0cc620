//! A certificate's fields as HAProxy's `ssl_c_*` / `ssl_f_*` fetches give them
//! (configuration.txt §7.3.4), read from the DER: serial bytes, the validity
//! dates as `YYMMDDhhmmssZ`, OpenSSL's short names of the signature and key
//! algorithms, the version, subject and issuer attributes.

use std::sync::Arc;

use haproxide_expr::CertFacts;
use rustls::pki_types::CertificateDer;

use crate::der::{name_attributes, short_name, tlv};

/// The facts of `chain[0]` (the chain after it in `chain_der`); None when the
/// DER cannot be read.
pub fn facts(chain: &[CertificateDer<'_>]) -> Option<Arc<CertFacts>> {
    let der = chain.first()?.as_ref();
    let (0x30, cert, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, after_tbs) = tlv(cert)? else {
        return None;
    };
    let sig_alg = tlv(after_tbs)
        .and_then(|(_, alg, _)| tlv(alg))
        .map(|(_, oid, _)| algorithm_name(oid))
        .unwrap_or_default();
    let mut rest = tbs;
    let mut version = 1;
    if let Some((0xa0, v, next)) = tlv(rest) {
        version = match tlv(v) {
            Some((0x02, [n], _)) => i64::from(*n) + 1,
            _ => 1,
        };
        rest = next;
    }
    let (0x02, serial, next) = tlv(rest)? else {
        return None;
    };
    let (_, _, next) = tlv(next)?; // the signature algorithm, again
    let (0x30, issuer, next) = tlv(next)? else {
        return None;
    };
    let (0x30, validity, next) = tlv(next)? else {
        return None;
    };
    let (0x30, subject, next) = tlv(next)? else {
        return None;
    };
    let key_alg = tlv(next)
        .and_then(|(_, spki, _)| tlv(spki))
        .and_then(|(_, alg, _)| tlv(alg))
        .map(|(_, oid, _)| algorithm_name(oid))
        .unwrap_or_default();
    let (not_before, not_after) = match tlv(validity) {
        Some((t1, b1, more)) => (time(t1, b1), tlv(more).and_then(|(t2, b2, _)| time(t2, b2))),
        None => (None, None),
    };
    Some(Arc::new(CertFacts {
        der: der.to_vec(),
        chain_der: chain[1..]
            .iter()
            .flat_map(|c| c.as_ref().to_vec())
            .collect(),
        sha1: crate::crypto::sha1(der).to_vec(),
        serial: serial.to_vec(),
        not_before,
        not_after,
        sig_alg,
        key_alg,
        version,
        subject: name_attributes(subject),
        issuer: name_attributes(issuer),
    }))
}

/// The facts of the certificate a server presented (`ssl_s_*`): `chain_der` is
/// the whole chain the server sent, its own certificate first (HAProxy reads
/// OpenSSL's client-side peer chain, which starts with it). A server presents
/// the same chain to every connection, so the last few are kept and a new
/// connection's costs a comparison, not a parse and a SHA-1.
pub fn server_facts(chain: &[CertificateDer<'_>]) -> Option<Arc<CertFacts>> {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<Arc<CertFacts>>> = Mutex::new(Vec::new());
    const KEEP: usize = 16;
    let same = |f: &CertFacts| {
        let mut rest = f.chain_der.as_slice();
        chain.iter().all(|c| match rest.strip_prefix(c.as_ref()) {
            Some(r) => {
                rest = r;
                true
            }
            None => false,
        }) && rest.is_empty()
    };
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(f) = seen.iter().find(|f| same(f)) {
        return Some(f.clone());
    }
    let mut f = facts(chain)?;
    Arc::make_mut(&mut f).chain_der = chain.iter().flat_map(|c| c.as_ref().to_vec()).collect();
    if seen.len() >= KEEP {
        seen.remove(0);
    }
    seen.push(f.clone());
    Some(f)
}

/// As HAProxy's `ssl_sock_get_time`: a UTCTime as written (not from 2050), a
/// GeneralizedTime from 20xx without its century.
fn time(tag: u8, v: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(v).ok()?;
    match tag {
        0x17 if s.len() >= 10 && s.as_bytes()[0] < b'5' => Some(s.to_string()),
        0x18 if s.len() >= 12 && s.starts_with("20") => Some(s[2..].to_string()),
        _ => None,
    }
}

/// OpenSSL's short name of a signature or key algorithm (dotted when unknown).
fn algorithm_name(oid: &[u8]) -> String {
    const PKCS1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    let name = match oid {
        [p @ .., n] if p == PKCS1 => match n {
            1 => "rsaEncryption",
            4 => "RSA-MD5",
            5 => "RSA-SHA1",
            10 => "RSASSA-PSS",
            11 => "RSA-SHA256",
            12 => "RSA-SHA384",
            13 => "RSA-SHA512",
            14 => "RSA-SHA224",
            _ => return short_name(oid),
        },
        [p @ .., n] if p == ECDSA_SHA2 => match n {
            1 => "ecdsa-with-SHA224",
            2 => "ecdsa-with-SHA256",
            3 => "ecdsa-with-SHA384",
            4 => "ecdsa-with-SHA512",
            _ => return short_name(oid),
        },
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01] => "ecdsa-with-SHA1",
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] => "id-ecPublicKey",
        [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01] => "DSA",
        [0x2b, 0x65, 0x70] => "ED25519",
        [0x2b, 0x65, 0x71] => "ED448",
        _ => return short_name(oid),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_haproxy() {
        assert_eq!(time(0x17, b"500421185942Z"), None);
        assert_eq!(
            time(0x17, b"491231235959Z").as_deref(),
            Some("491231235959Z")
        );
        assert_eq!(
            time(0x18, b"20500421185942Z").as_deref(),
            Some("500421185942Z")
        );
        assert_eq!(time(0x18, b"19500421185942Z"), None);
        assert_eq!(time(0x17, b"12"), None);
    }

    #[test]
    fn algorithm_names_as_openssl() {
        let rsa256 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
        assert_eq!(algorithm_name(&rsa256), "RSA-SHA256");
        assert_eq!(
            algorithm_name(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
            "ecdsa-with-SHA256"
        );
        assert_eq!(
            algorithm_name(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
            "id-ecPublicKey"
        );
        assert_eq!(algorithm_name(&[0x2a, 0x03]), "1.2.3");
    }

    #[test]
    fn garbage_gives_none_never_a_panic() {
        let junk: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37)).collect();
        for cut in 0..junk.len() {
            let c = CertificateDer::from(junk[..cut].to_vec());
            let _ = facts(&[c]);
        }
        assert!(facts(&[]).is_none());
        assert!(server_facts(&[]).is_none());
    }
}
