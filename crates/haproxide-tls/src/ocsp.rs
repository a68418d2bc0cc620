//! OCSP stapling (configuration.txt §5.1 `crt`: "If a file named `<crt>.ocsp` is
//! found, it is loaded as an OCSP response"; management.txt §9.3 `set ssl
//! ocsp-response`): the DER response is attached to the certificate and rustls
//! staples it to every handshake whose client asks (`status_request`).

use crate::der::tlv;

/// Decodes standard base64 (whitespace ignored, padding optional); None on any
/// other character.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut n) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
    }
    Some(out)
}

/// Checks that `der` is an OCSPResponse (RFC 6960 §4.2.1) with status
/// `successful` and a basic response, as HAProxy requires before stapling it.
pub fn check(der: &[u8]) -> Result<(), String> {
    let bad = || "not a DER OCSP response".to_string();
    let Some((0x30, resp, _)) = tlv(der) else {
        return Err(bad());
    };
    let Some((0x0a, status, rest)) = tlv(resp) else {
        return Err(bad());
    };
    if status != [0] {
        return Err(format!(
            "OCSP response status not successful ({})",
            status.first().copied().unwrap_or(0)
        ));
    }
    // responseBytes [0] EXPLICIT SEQUENCE { responseType OID, response OCTET STRING }
    let Some((0xa0, rb, _)) = tlv(rest) else {
        return Err(bad());
    };
    let Some((0x30, rb, _)) = tlv(rb) else {
        return Err(bad());
    };
    match tlv(rb) {
        // id-pkix-ocsp-basic 1.3.6.1.5.5.7.48.1.1
        Some((0x06, [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01], _)) => Ok(()),
        _ => Err("OCSP response is not a basic response".into()),
    }
}

/// The CertID (RFC 6960 §4.1.1) of a response's first SingleResponse: what
/// HAProxy indexes OCSP responses by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CertId {
    /// The whole CertID DER (HAProxy's "Certificate ID key").
    pub der: Vec<u8>,
    pub issuer_name_hash: Vec<u8>,
    pub issuer_key_hash: Vec<u8>,
    pub serial: Vec<u8>,
}

fn hex(b: &[u8], upper: bool) -> String {
    b.iter()
        .map(|x| {
            if upper {
                format!("{x:02X}")
            } else {
                format!("{x:02x}")
            }
        })
        .collect()
}

impl CertId {
    /// Lower-case hex of the DER: HAProxy's "OCSP Response Key".
    pub fn key(&self) -> String {
        hex(&self.der, false)
    }

    /// `show ssl ocsp-response`'s block for this id.
    pub fn describe(&self) -> String {
        format!(
            "Certificate ID key : {}\n Certificate ID:\n   Issuer Name Hash: {}\n   Issuer Key Hash: {}\n   Serial Number: {}\n",
            self.key(),
            hex(&self.issuer_name_hash, true),
            hex(&self.issuer_key_hash, true),
            hex(&self.serial, true)
        )
    }
}

/// The CertID of the first SingleResponse (OCSPResponse → BasicOCSPResponse →
/// tbsResponseData → responses); None if `der` is not such a response.
pub fn cert_id(der: &[u8]) -> Option<CertId> {
    let (_, resp, _) = tlv(der)?;
    let (_, _, rest) = tlv(resp)?; // responseStatus
    let (_, rb, _) = tlv(rest)?; // [0]
    let (_, rb, _) = tlv(rb)?; // ResponseBytes
    let (_, _, rest) = tlv(rb)?; // responseType
    let (0x04, basic, _) = tlv(rest)? else {
        return None;
    };
    let (0x30, basic, _) = tlv(basic)? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(basic)? else {
        return None;
    };
    let (tag, _, mut next) = tlv(tbs)?;
    if tag == 0xa0 {
        (_, _, next) = tlv(next)?; // responderID after the version
    }
    let (_, _, next) = tlv(next)?; // producedAt
    let (0x30, responses, _) = tlv(next)? else {
        return None;
    };
    let (0x30, single, _) = tlv(responses)? else {
        return None;
    };
    let (0x30, id, after) = tlv(single)? else {
        return None;
    };
    let (_, _, rest) = tlv(id)?; // hashAlgorithm
    let (0x04, name_hash, rest) = tlv(rest)? else {
        return None;
    };
    let (0x04, key_hash, rest) = tlv(rest)? else {
        return None;
    };
    let (0x02, serial, _) = tlv(rest)? else {
        return None;
    };
    Some(CertId {
        der: single[..single.len() - after.len()].to_vec(),
        issuer_name_hash: name_hash.to_vec(),
        issuer_key_hash: key_hash.to_vec(),
        serial: serial.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_and_refuses_garbage() {
        assert_eq!(decode_base64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64("aGVs\nbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64(""), Some(Vec::new()));
        assert_eq!(decode_base64("a*b"), None);
    }

    #[test]
    fn only_successful_basic_responses_are_stapled() {
        let ok = [
            0x30, 0x11, 0x0a, 0x01, 0x00, 0xa0, 0x0c, 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01,
            0x05, 0x05, 0x07, 0x30, 0x01,
        ];
        assert!(check(&ok).is_err(), "truncated OID");
        let ok = [
            0x30, 0x12, 0x0a, 0x01, 0x00, 0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x2b, 0x06, 0x01,
            0x05, 0x05, 0x07, 0x30, 0x01, 0x01,
        ];
        assert_eq!(check(&ok), Ok(()));
        let unauthorized = [0x30, 0x03, 0x0a, 0x01, 0x06];
        assert!(check(&unauthorized).unwrap_err().contains("(6)"));
        for cut in 0..ok.len() {
            assert!(check(&ok[..cut]).is_err());
        }
    }
}
