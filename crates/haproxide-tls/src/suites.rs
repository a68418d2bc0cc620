//! OpenSSL's names (what HAProxy's `ciphers`, `ciphersuites`, `curves`,
//! `ssl-min-ver`... take, configuration.txt §5.1) mapped onto what rustls offers.
//!
//! rustls (aws-lc-rs provider, crate::crypto) has six TLS 1.2 suites, all ECDHE with an AEAD, three
//! TLS 1.3 suites and three groups. A name of something OpenSSL has and rustls
//! does not (a CBC or DHE suite, `X448`) selects nothing, as a suite missing from
//! an OpenSSL build does; a name neither knows is an error; a list that selects
//! nothing at all is an error.

use crate::crypto::{cipher_suite as cs, kx_group};
use rustls::crypto::SupportedKxGroup;
use rustls::SupportedCipherSuite;

/// rustls's TLS 1.2 suites with their OpenSSL names, in rustls's preference order.
static TLS12: &[(&str, SupportedCipherSuite)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

static TLS13: &[(&str, SupportedCipherSuite)] = &[
    ("TLS_AES_256_GCM_SHA384", cs::TLS13_AES_256_GCM_SHA384),
    ("TLS_AES_128_GCM_SHA256", cs::TLS13_AES_128_GCM_SHA256),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// OpenSSL cipher-string keywords and the rustls TLS 1.2 suites each covers (bit i
/// = `TLS12[i]`); 0 for a keyword with no rustls member (`aNULL`, `DHE`...).
static KEYWORDS: &[(&str, u8)] = &[
    ("ALL", 0x3f),
    ("HIGH", 0x3f),
    ("DEFAULT", 0x3f),
    ("ECDHE", 0x3f),
    ("EECDH", 0x3f),
    ("kEECDH", 0x3f),
    ("kECDHE", 0x3f),
    ("ECDH", 0x3f),
    ("AEAD", 0x3f),
    ("TLSv1.2", 0x3f),
    ("aECDSA", 0x07),
    ("ECDSA", 0x07),
    ("aRSA", 0x38),
    ("RSA", 0x38),
    ("AES", 0x1b),
    ("AESGCM", 0x1b),
    ("AES128", 0x12),
    ("AES256", 0x09),
    ("CHACHA20", 0x24),
    ("SHA256", 0x36),
    ("SHA384", 0x09),
    ("COMPLEMENTOFDEFAULT", 0),
    ("COMPLEMENTOFALL", 0),
    ("aNULL", 0),
    ("eNULL", 0),
    ("NULL", 0),
    ("MD5", 0),
    ("RC4", 0),
    ("DES", 0),
    ("3DES", 0),
    ("EXP", 0),
    ("EXPORT", 0),
    ("LOW", 0),
    ("MEDIUM", 0),
    ("PSK", 0),
    ("aPSK", 0),
    ("kPSK", 0),
    ("kECDHEPSK", 0),
    ("kDHEPSK", 0),
    ("kRSAPSK", 0),
    ("SRP", 0),
    ("kSRP", 0),
    ("DSS", 0),
    ("aDSS", 0),
    ("DH", 0),
    ("DHE", 0),
    ("EDH", 0),
    ("kDHE", 0),
    ("kEDH", 0),
    ("ADH", 0),
    ("AECDH", 0),
    ("kRSA", 0),
    ("CAMELLIA", 0),
    ("CAMELLIA128", 0),
    ("CAMELLIA256", 0),
    ("SEED", 0),
    ("IDEA", 0),
    ("ARIA", 0),
    ("SHA1", 0),
    ("SHA", 0),
    ("CCM", 0),
    ("CCM8", 0),
    ("AESCCM", 0),
    ("AESCCM8", 0),
    ("SSLv3", 0),
    ("TLSv1", 0),
    ("TLSv1.0", 0),
    ("aGOST", 0),
    ("kGOST", 0),
    ("GOST94", 0),
    ("GOST89MAC", 0),
    ("SUITEB128", 0),
    ("SUITEB192", 0),
];

/// OpenSSL TLS ≤ 1.2 suite names rustls does not have (they select nothing).
static OPENSSL_ONLY: &[&str] = &[
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-CCM",
    "ECDHE-ECDSA-AES256-CCM",
    "ECDHE-ECDSA-AES128-CCM8",
    "ECDHE-ECDSA-AES256-CCM8",
    "ECDHE-RSA-DES-CBC3-SHA",
    "ECDHE-ECDSA-DES-CBC3-SHA",
    "DHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-SHA256",
    "DHE-RSA-AES256-SHA256",
    "DHE-RSA-AES128-SHA",
    "DHE-RSA-AES256-SHA",
    "DHE-DSS-AES128-GCM-SHA256",
    "DHE-DSS-AES256-GCM-SHA384",
    "DHE-DSS-AES128-SHA256",
    "DHE-DSS-AES256-SHA256",
    "DHE-DSS-AES128-SHA",
    "DHE-DSS-AES256-SHA",
    "EDH-RSA-DES-CBC3-SHA",
    "EDH-DSS-DES-CBC3-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA256",
    "AES256-SHA256",
    "AES128-SHA",
    "AES256-SHA",
    "AES128-CCM",
    "AES256-CCM",
    "DES-CBC3-SHA",
    "RC4-SHA",
    "RC4-MD5",
    "CAMELLIA128-SHA",
    "CAMELLIA256-SHA",
    "PSK-AES128-CBC-SHA",
    "PSK-AES256-CBC-SHA",
    "SRP-AES-128-CBC-SHA",
    "SRP-AES-256-CBC-SHA",
];

/// `ciphers` (TLS ≤ 1.2, OpenSSL cipher-string syntax): the suites, in order.
/// `+A:+B` moves (ordering only) are taken as no-ops; `@STRENGTH`/`@SECLEVEL=n`
/// are ignored; `!X` removes X for good, `-X` removes it for now. Items are
/// separated as OpenSSL's `ITEM_SEP` separates them (ssl/ssl_ciph.c): `:`, `,`,
/// ` ` or `;` (so a trailing `;`, as in `AES256+EECDH:!aNULL;`, is an empty item).
pub fn parse_ciphers(list: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let mut chosen: Vec<usize> = Vec::new();
    let mut banned: u8 = 0;
    for item in list.split([':', ',', ' ', ';']).filter(|s| !s.is_empty()) {
        if item.starts_with('@') {
            continue;
        }
        let (op, body) = match item.as_bytes()[0] {
            b'!' | b'-' | b'+' => (item.as_bytes()[0], &item[1..]),
            _ => (b' ', item),
        };
        let mut mask: u8 = 0x3f;
        for part in body.split('+') {
            let m = if let Some(i) = TLS12.iter().position(|(n, _)| *n == part) {
                1u8 << i
            } else if let Some((_, m)) = KEYWORDS.iter().find(|(k, _)| *k == part) {
                *m
            } else if OPENSSL_ONLY.contains(&part) {
                0
            } else {
                return Err(format!("unknown cipher `{part}`"));
            };
            mask &= m;
        }
        match op {
            b'!' => {
                banned |= mask;
                chosen.retain(|i| mask & (1 << i) == 0);
            }
            b'-' => chosen.retain(|i| mask & (1 << i) == 0),
            b'+' => {}
            _ => {
                for i in 0..TLS12.len() {
                    if mask & (1 << i) != 0 && banned & (1 << i) == 0 && !chosen.contains(&i) {
                        chosen.push(i);
                    }
                }
            }
        }
    }
    if chosen.is_empty() {
        return Err(format!(
            "none of `{list}` is a TLS 1.2 suite rustls offers ({})",
            TLS12.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(":")
        ));
    }
    Ok(chosen.into_iter().map(|i| TLS12[i].1).collect())
}

/// `ciphersuites` (TLS 1.3, exact names separated by `:`).
pub fn parse_ciphersuites(list: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let mut out = Vec::new();
    for name in list.split(':').filter(|s| !s.is_empty()) {
        if let Some((_, s)) = TLS13.iter().find(|(n, _)| *n == name) {
            if !out.contains(s) {
                out.push(*s);
            }
        } else if !matches!(name, "TLS_AES_128_CCM_SHA256" | "TLS_AES_128_CCM_8_SHA256") {
            return Err(format!("unknown TLS 1.3 cipher suite `{name}`"));
        }
    }
    if out.is_empty() {
        return Err(format!(
            "none of `{list}` is a TLS 1.3 suite rustls offers (TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256)"
        ));
    }
    Ok(out)
}

/// `curves` (§5.1): groups separated by `:`, OpenSSL's names and aliases.
pub fn parse_curves(list: &str) -> Result<Vec<&'static dyn SupportedKxGroup>, String> {
    let mut out: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    for name in list.split(':').filter(|s| !s.is_empty()) {
        let g = match name {
            "X25519" | "x25519" => Some(kx_group::X25519),
            "P-256" | "prime256v1" | "secp256r1" => Some(kx_group::SECP256R1),
            "P-384" | "secp384r1" => Some(kx_group::SECP384R1),
            "X448" | "x448" | "P-521" | "secp521r1" | "ffdhe2048" | "ffdhe3072" | "ffdhe4096"
            | "ffdhe6144" | "ffdhe8192" | "brainpoolP256r1" | "brainpoolP384r1"
            | "brainpoolP512r1" => None,
            _ => return Err(format!("unknown curve `{name}`")),
        };
        if let Some(g) = g {
            if !out.iter().any(|o| o.name() == g.name()) {
                out.push(g);
            }
        }
    }
    if out.is_empty() {
        return Err(format!(
            "none of `{list}` is a group rustls offers (X25519:P-256:P-384)"
        ));
    }
    Ok(out)
}

/// The OpenSSL name of a negotiated suite (`ssl_fc_cipher`, `%sslc`).
pub fn openssl_name(s: SupportedCipherSuite) -> &'static str {
    TLS12
        .iter()
        .chain(TLS13.iter())
        .find(|(_, x)| *x == s)
        .map_or("(unknown)", |(n, _)| n)
}

/// A protocol version as HAProxy names it (`ssl-min-ver`, §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ver {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl Ver {
    /// `SSLv3`, `TLSv1.0`... (what `ssl-min-ver` takes).
    pub fn parse(s: &str) -> Option<Ver> {
        Some(match s {
            "SSLv3" => Ver::Ssl3,
            "TLSv1.0" => Ver::Tls10,
            "TLSv1.1" => Ver::Tls11,
            "TLSv1.2" => Ver::Tls12,
            "TLSv1.3" => Ver::Tls13,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Ver::Ssl3 => "SSLv3",
            Ver::Tls10 => "TLSv1.0",
            Ver::Tls11 => "TLSv1.1",
            Ver::Tls12 => "TLSv1.2",
            Ver::Tls13 => "TLSv1.3",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[SupportedCipherSuite]) -> Vec<&'static str> {
        v.iter().map(|s| openssl_name(*s)).collect()
    }

    #[test]
    fn cipher_strings_map_onto_rustls() {
        let mozilla = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
        assert_eq!(
            names(&parse_ciphers(mozilla).unwrap()),
            [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-RSA-CHACHA20-POLY1305"
            ]
        );
        assert_eq!(parse_ciphers("HIGH:!aNULL:!MD5").unwrap().len(), 6);
        assert_eq!(
            names(&parse_ciphers("EECDH+AESGCM:EDH+AESGCM").unwrap()),
            [
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES128-GCM-SHA256"
            ]
        );
        assert_eq!(
            names(&parse_ciphers("ALL:!aRSA:-CHACHA20").unwrap()),
            [
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-AES128-GCM-SHA256"
            ]
        );
        assert!(parse_ciphers("ECDHE-RSA-AES128-GCM-SHA25").is_err());
        let e = parse_ciphers("AES128-SHA:DES-CBC3-SHA").unwrap_err();
        assert!(e.contains("none of"), "{e}");
    }

    #[test]
    fn cipher_separators_are_openssls() {
        // OpenSSL's ITEM_SEP: ':', ',', ' ' and ';' (corpus: `...:!aNULL;`).
        let plain = names(&parse_ciphers("AES256+EECDH:AES256+EDH:!aNULL").unwrap());
        assert!(!plain.is_empty());
        for list in [
            "AES256+EECDH:AES256+EDH:!aNULL;",
            "AES256+EECDH;AES256+EDH;!aNULL",
            "AES256+EECDH, AES256+EDH !aNULL",
            ";AES256+EECDH::AES256+EDH:!aNULL;;",
        ] {
            assert_eq!(names(&parse_ciphers(list).unwrap()), plain, "{list}");
        }
        assert!(parse_ciphers(";").is_err());
    }

    #[test]
    fn suites_and_curves() {
        assert_eq!(
            names(&parse_ciphersuites("TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256").unwrap()),
            ["TLS_AES_128_GCM_SHA256"]
        );
        assert!(parse_ciphersuites("TLS_FOO").is_err());
        assert!(parse_ciphersuites("TLS_AES_128_CCM_SHA256").is_err());
        assert_eq!(parse_curves("X448:P-256:prime256v1").unwrap().len(), 1);
        assert!(parse_curves("P-999").is_err());
        assert_eq!(Ver::parse("TLSv1.2"), Some(Ver::Tls12));
        assert!(Ver::Tls11 < Ver::Tls12);
    }
}
