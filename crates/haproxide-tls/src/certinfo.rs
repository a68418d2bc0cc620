//! What `show ssl cert <file>` prints about a certificate (management.txt §9.3),
//! read from its DER as HAProxy 2.6.12 prints it with OpenSSL: serial in
//! upper-case hex, dates as `Dec  5 07:37:00 2026 GMT`, the SAN's DNS names,
//! the key's algorithm and size (`RSA2048`, `EC256`), the SHA-1 fingerprint,
//! subject and issuer as one-line DNs.

use rustls::pki_types::CertificateDer;

use crate::der::{oneline, tlv};

/// One certificate as `show ssl cert` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertDetails {
    /// `Serial:` upper-case hex of the serial number's magnitude.
    pub serial: String,
    /// `notBefore:` / `notAfter:` (`Mon DD HH:MM:SS YYYY GMT`, day padded with a space).
    pub not_before: String,
    pub not_after: String,
    /// `Subject Alternative Name:` (`DNS:a, DNS:b`; other name types print empty,
    /// as HAProxy 2.6 prints them).
    pub san: String,
    /// `Algorithm:` (`RSA2048`, `EC256`...).
    pub algorithm: String,
    /// `SHA1 FingerPrint:` upper-case hex of the SHA-1 of the DER.
    pub sha1: String,
    pub subject: String,
    pub issuer: String,
}

/// The fields of a TBSCertificate this module reads.
struct Tbs<'a> {
    serial: &'a [u8],
    issuer: &'a [u8],
    validity: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    /// The SubjectPublicKeyInfo with its SEQUENCE header.
    spki_der: &'a [u8],
    extensions: Option<&'a [u8]>,
}

fn tbs(der: &[u8]) -> Option<Tbs<'_>> {
    let (0x30, cert, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (mut tag, mut body, mut next) = tlv(rest)?;
    if tag == 0xa0 {
        rest = next;
        (tag, body, next) = tlv(rest)?;
    }
    if tag != 0x02 {
        return None;
    }
    let serial = body;
    let (_, _, next) = tlv(next)?; // signature AlgorithmIdentifier
    let (0x30, issuer, next) = tlv(next)? else {
        return None;
    };
    let (0x30, validity, next) = tlv(next)? else {
        return None;
    };
    let (0x30, subject, next) = tlv(next)? else {
        return None;
    };
    let spki_start = next;
    let (0x30, spki, mut next) = tlv(next)? else {
        return None;
    };
    let spki_der = &spki_start[..spki_start.len() - next.len()];
    let mut extensions = None;
    while let Some((tag, body, more)) = tlv(next) {
        next = more;
        if tag == 0xa3 {
            if let Some((0x30, exts, _)) = tlv(body) {
                extensions = Some(exts);
            }
        }
    }
    Some(Tbs {
        serial,
        issuer,
        validity,
        subject,
        spki,
        spki_der,
        extensions,
    })
}

/// A certificate's SubjectPublicKeyInfo, DER with its header (read without
/// webpki, which refuses X.509 v1 certificates).
pub(crate) fn spki_der(der: &[u8]) -> Option<&[u8]> {
    tbs(der).map(|t| t.spki_der)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// ASN.1 UTCTime / GeneralizedTime as OpenSSL's `ASN1_TIME_print`.
fn time(tag: u8, v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    let (year, rest) = match tag {
        0x17 if s.len() >= 12 => {
            let yy: u32 = s[..2].parse().unwrap_or(0);
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &s[2..])
        }
        0x18 if s.len() >= 14 => (s[..4].parse().unwrap_or(0), &s[4..]),
        _ => return s.into_owned(),
    };
    let num = |i: usize| rest.get(i..i + 2).and_then(|x| x.parse::<u32>().ok());
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (num(0), num(2), num(4), num(6), num(8))
    else {
        return s.into_owned();
    };
    let month = MONTHS.get((mo as usize).wrapping_sub(1)).unwrap_or(&"???");
    format!("{month} {d:>2} {h:02}:{mi:02}:{se:02} {year} GMT")
}

fn validity(v: &[u8]) -> (String, String) {
    let Some((t1, b1, rest)) = tlv(v) else {
        return Default::default();
    };
    let Some((t2, b2, _)) = tlv(rest) else {
        return (time(t1, b1), String::new());
    };
    (time(t1, b1), time(t2, b2))
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

/// Bits of a big-endian unsigned integer.
fn bits(n: &[u8]) -> usize {
    let n = match n.iter().position(|&b| b != 0) {
        Some(i) => &n[i..],
        None => return 0,
    };
    n.len() * 8 - n[0].leading_zeros() as usize
}

fn algorithm(spki: &[u8]) -> String {
    let Some((0x30, alg, rest)) = tlv(spki) else {
        return "Unknown".into();
    };
    let Some((0x06, oid, params)) = tlv(alg) else {
        return "Unknown".into();
    };
    if oid == OID_RSA || oid == OID_DSA {
        // BIT STRING (unused-bits byte) → SEQUENCE { INTEGER modulus/p, ... }.
        let n = tlv(rest)
            .and_then(|(_, bs, _)| bs.get(1..))
            .and_then(tlv)
            .and_then(|(_, seq, _)| tlv(seq))
            .map_or(0, |(_, n, _)| bits(n));
        return format!("{}{n}", if oid == OID_RSA { "RSA" } else { "DSA" });
    }
    if oid == OID_EC {
        let curve = tlv(params).map(|(_, c, _)| c).unwrap_or_default();
        let size = match curve {
            [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => 256,
            [0x2b, 0x81, 0x04, 0x00, 0x22] => 384,
            [0x2b, 0x81, 0x04, 0x00, 0x23] => 521,
            [0x2b, 0x81, 0x04, 0x00, 0x0a] => 256,
            _ => 0,
        };
        return format!("EC{size}");
    }
    "Unknown".into()
}

/// `DNS:a, DNS:b` from the extensions (empty without a SAN).
fn san(exts: Option<&[u8]>) -> String {
    let mut rest = exts.unwrap_or_default();
    while let Some((0x30, ext, more)) = tlv(rest) {
        rest = more;
        let Some((0x06, oid, after)) = tlv(ext) else {
            continue;
        };
        if oid != OID_SAN {
            continue;
        }
        let mut after = after;
        if let Some((0x01, _, more)) = tlv(after) {
            after = more; // critical flag
        }
        let Some((0x04, value, _)) = tlv(after) else {
            return String::new();
        };
        let Some((0x30, mut names, _)) = tlv(value) else {
            return String::new();
        };
        let mut out = Vec::new();
        while let Some((tag, v, more)) = tlv(names) {
            names = more;
            out.push(if tag == 0x82 {
                format!("DNS:{}", String::from_utf8_lossy(v))
            } else {
                String::new()
            });
        }
        return out.join(", ");
    }
    String::new()
}

/// Whether `key` is the private half of `cert`'s public key (OpenSSL's
/// `X509_check_private_key`): the SubjectPublicKeyInfo compared byte for byte,
/// read from the DER so that X.509 v1 certificates (which webpki refuses to
/// parse, and HAProxy loads) are checked too.
pub fn key_matches(cert: &CertificateDer<'_>, key: &dyn rustls::sign::SigningKey) -> bool {
    match (tbs(cert.as_ref()), key.public_key()) {
        (Some(t), Some(k)) => t.spki_der == k.as_ref(),
        _ => false,
    }
}

/// The SHA-1 fingerprint of a DER certificate, upper-case hex.
pub fn sha1_hex(der: &[u8]) -> String {
    hex(&crate::crypto::sha1(der))
}

/// Subject and issuer (one-line DNs) of a certificate, for the chain lines.
pub fn subject_issuer(cert: &CertificateDer<'_>) -> Option<(String, String)> {
    let t = tbs(cert.as_ref())?;
    Some((oneline(t.subject), oneline(t.issuer)))
}

/// Everything `show ssl cert` prints about `cert`; None if it is not X.509 DER.
pub fn details(cert: &CertificateDer<'_>) -> Option<CertDetails> {
    let der = cert.as_ref();
    let t = tbs(der)?;
    let serial = match t.serial {
        [0, rest @ ..] if !rest.is_empty() => rest,
        s => s,
    };
    let (not_before, not_after) = validity(t.validity);
    Some(CertDetails {
        serial: hex(serial),
        not_before,
        not_after,
        san: san(t.extensions),
        algorithm: algorithm(t.spki),
        sha1: sha1_hex(der),
        subject: oneline(t.subject),
        issuer: oneline(t.issuer),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_openssl() {
        assert_eq!(time(0x17, b"261205073700Z"), "Dec  5 07:37:00 2026 GMT");
        assert_eq!(time(0x18, b"20501231235959Z"), "Dec 31 23:59:59 2050 GMT");
        assert_eq!(time(0x17, b"991231000000Z"), "Dec 31 00:00:00 1999 GMT");
        // Garbage is printed as is, never a panic.
        assert_eq!(time(0x17, b"xx"), "xx");
        assert_eq!(time(0x17, b"2612050737xxZ"), "2612050737xxZ");
        assert_eq!(time(0x17, b"261305073700Z"), "???  5 07:37:00 2026 GMT");
    }

    #[test]
    fn truncated_certificates_give_none_not_a_panic() {
        let der = [0x30u8, 0x82, 0x01, 0x00, 0x30, 0x03, 0x02, 0x01, 0x05];
        for cut in 0..der.len() {
            assert!(details(&CertificateDer::from(der[..cut].to_vec())).is_none());
        }
        assert_eq!(bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bits(&[0x01]), 1);
    }
}
