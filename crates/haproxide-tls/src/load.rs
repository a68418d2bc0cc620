//! Certificate files as HAProxy reads them (configuration.txt §5.1 `crt`, `ca-file`):
//! a PEM file with the certificate, its chain and the private key (or the key in
//! `<file>.key`), or a directory of such files.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// Why a certificate file could not be used; `Display` is HAProxy's text (without the
/// `'bind ...' in section ...` prefix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("unable to stat SSL certificate from file '{0}' : No such file or directory.")]
    Missing(String),
    #[error("unable to load certificate from file '{0}'.")]
    NoCertificate(String),
    #[error("No Private Key found in '{0}.key'.")]
    NoKey(String),
    #[error("inconsistencies between private key and certificate loaded '{0}'.")]
    KeyMismatch(String),
    #[error("unable to load {0}")]
    Ca(String),
    #[error("'{0}.ocsp': {1}")]
    Ocsp(String, String),
}

/// One certificate with its key, checked (the key matches the certificate).
#[derive(Debug, Clone)]
pub struct CertKey {
    pub path: String,
    pub key: Arc<CertifiedKey>,
    /// The names it answers for: SAN DNS names then CNs, lower-cased (wildcards
    /// kept as `*.example.com`), as HAProxy indexes them for SNI.
    pub names: Vec<String>,
}

impl PartialEq for CertKey {
    fn eq(&self, o: &CertKey) -> bool {
        self.path == o.path && self.names == o.names
    }
}
impl Eq for CertKey {}

/// The certificates (in order) and the first private key of PEM data.
pub(crate) fn pem_items(
    data: &[u8],
) -> (Vec<CertificateDer<'static>>, Option<PrivateKeyDer<'static>>) {
    let mut certs = Vec::new();
    let mut key = None;
    let mut rd = data;
    for item in rustls_pemfile::read_all(&mut rd).flatten() {
        match item {
            rustls_pemfile::Item::X509Certificate(c) => certs.push(c),
            rustls_pemfile::Item::Pkcs1Key(k) if key.is_none() => key = Some(k.into()),
            rustls_pemfile::Item::Pkcs8Key(k) if key.is_none() => key = Some(k.into()),
            rustls_pemfile::Item::Sec1Key(k) if key.is_none() => key = Some(k.into()),
            _ => {}
        }
    }
    (certs, key)
}

/// The SNI names of an end-entity certificate (SAN DNS names, then CNs).
pub fn cert_names(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok(ee) = webpki::EndEntityCert::try_from(cert) else {
        return Vec::new();
    };
    let mut names: Vec<String> = ee.valid_dns_names().map(str::to_ascii_lowercase).collect();
    for (k, v) in crate::der::name_attributes(ee.subject()) {
        let v = v.to_ascii_lowercase();
        if k == "CN" && !names.contains(&v) {
            names.push(v);
        }
    }
    names
}

/// Load one `crt` file (§5.1): certificate, chain, key (or `<file>.key`).
pub fn load_crt_file(path: &str) -> Result<CertKey, LoadError> {
    let data = std::fs::read(path).map_err(|_| LoadError::Missing(path.to_string()))?;
    let (chain, mut key) = pem_items(&data);
    if chain.is_empty() {
        return Err(LoadError::NoCertificate(path.to_string()));
    }
    if key.is_none() {
        let kp = format!("{path}.key");
        if let Ok(kd) = std::fs::read(&kp) {
            key = pem_items(&kd).1;
        }
    }
    let key = key.ok_or_else(|| LoadError::NoKey(path.to_string()))?;
    let names = cert_names(&chain[0]);
    let provider = crate::crypto::default_provider();
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|_| LoadError::KeyMismatch(path.to_string()))?;
    if !crate::certinfo::key_matches(&chain[0], signer.as_ref()) {
        return Err(LoadError::KeyMismatch(path.to_string()));
    }
    let mut ck = CertifiedKey::new(chain, signer);
    // `<crt>.ocsp`: the OCSP response stapled to its handshakes (§5.1 `crt`).
    if let Ok(der) = std::fs::read(format!("{path}.ocsp")) {
        crate::ocsp::check(&der).map_err(|e| LoadError::Ocsp(path.to_string(), e))?;
        ck.ocsp = Some(der);
    }
    Ok(CertKey {
        path: path.to_string(),
        key: Arc::new(ck),
        names,
    })
}

/// Load a `crt` argument: a file, or every certificate file of a directory (in
/// name order, skipping `.key`, `.ocsp`, `.issuer`, `.sctl` and dot files).
pub fn load_crt(path: &str) -> Result<Vec<CertKey>, LoadError> {
    let p = Path::new(path);
    if !p.is_dir() {
        return load_crt_file(path).map(|c| vec![c]);
    }
    let mut files: Vec<String> = std::fs::read_dir(p)
        .map_err(|_| LoadError::Missing(path.to_string()))?
        .flatten()
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            !n.starts_with('.')
                && ![".key", ".ocsp", ".issuer", ".sctl"]
                    .iter()
                    .any(|x| n.ends_with(x))
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| load_crt_file(&format!("{}/{f}", path.trim_end_matches('/'))))
        .collect()
}

/// A `ca-file` (§5.1): the certificates that sign acceptable client certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaBundle {
    pub path: String,
    pub certs: Vec<CertificateDer<'static>>,
}

/// Load a `ca-file`.
pub fn load_ca(path: &str) -> Result<CaBundle, LoadError> {
    let data = std::fs::read(path).map_err(|_| LoadError::Ca(path.to_string()))?;
    let (certs, _) = pem_items(&data);
    if certs.is_empty() {
        return Err(LoadError::Ca(path.to_string()));
    }
    Ok(CaBundle {
        path: path.to_string(),
        certs,
    })
}
