//! The client side of TLS: connections to `server ... ssl` and `check-ssl` checks
//! (configuration.txt §5.2 `ssl`, `verify`, `ca-file`, `crt`, `sni`, `alpn`,
//! `verifyhost`, `no-ssl-reuse`, `ssl-min-ver`, `ssl-max-ver`, `ciphers`,
//! `ciphersuites`, `curves`; §3.1 `ssl-default-server-*`).
//!
//! Verification is HAProxy's (ssl_sock_srv_verifycbk): with `verify required` the
//! chain must lead to a `ca-file` certificate, and the name is checked only when
//! there is one to check: the SNI sent, else `verifyhost`. Without either HAProxy
//! checks the chain alone (rustls' stock verifier always checks a name, hence the
//! verifier here). Session resumption is on (rustls' in-memory client cache, per
//! server); `no-ssl-reuse` turns it off.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;

use crate::acceptor::{provider, version_refs, TlsOptions, Verify};
use crate::load::CertKey;

/// Everything a TLS connection to a server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsSpec {
    /// Versions, `ciphers`, `ciphersuites`, `curves`, `alpn`, `verify` (None means
    /// `required`, HAProxy's default), `ca-file`.
    pub options: TlsOptions,
    /// `crt`: the client certificate shown to the server.
    pub crt: Option<CertKey>,
    /// `verifyhost`: the name checked when no SNI is sent.
    pub verifyhost: Option<String>,
    /// Session resumption (off with `no-ssl-reuse`).
    pub reuse: bool,
}

/// HAProxy's server certificate check (module doc).
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    /// None: `verify none` (any certificate; signatures still checked).
    roots: Option<rustls::RootCertStore>,
    verifyhost: Option<ServerName<'static>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        let name = match server_name {
            ServerName::DnsName(_) => Some(server_name),
            _ => self.verifyhost.as_ref(),
        };
        if let Some(n) = name {
            rustls::client::verify_server_name(&cert, n)?;
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        match rustls::crypto::verify_tls12_signature(message, cert, dss, algs) {
            Err(_) if self.roots.is_none() => raw_key_signature(message, cert, dss, algs),
            r => r,
        }
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        match rustls::crypto::verify_tls13_signature(message, cert, dss, algs) {
            Err(_) if self.roots.is_none() && tls13_scheme(dss.scheme) => {
                raw_key_signature(message, cert, dss, algs)
            }
            r => r,
        }
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// With `verify none`, the handshake signature checked with the certificate's
/// public key read from its DER, for the certificates webpki will not parse (X.509
/// v1, as in HAProxy's reg-tests: OpenSSL accepts them; rustls' check refuses
/// the handshake). The signature itself is still verified.
fn raw_key_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algs: &rustls::crypto::WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let bad = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
    let spki = crate::certinfo::spki_der(cert.as_ref()).ok_or(
        rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding),
    )?;
    let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(spki);
    let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| bad())?;
    let candidates = algs
        .mapping
        .iter()
        .find(|(s, _)| *s == dss.scheme)
        .map_or(&[][..], |(_, a)| *a);
    candidates
        .iter()
        .find(|alg| {
            key.verify_signature(**alg, message, dss.signature())
                .is_ok()
        })
        .map(|_| HandshakeSignatureValid::assertion())
        .ok_or_else(bad)
}

/// The schemes TLS 1.3 allows in CertificateVerify (RFC 8446 §4.2.3: no PKCS#1
/// v1.5, no SHA-1).
fn tls13_scheme(s: SignatureScheme) -> bool {
    use SignatureScheme as S;
    matches!(
        s,
        S::ECDSA_NISTP256_SHA256
            | S::ECDSA_NISTP384_SHA384
            | S::ECDSA_NISTP521_SHA512
            | S::RSA_PSS_SHA256
            | S::RSA_PSS_SHA384
            | S::RSA_PSS_SHA512
            | S::ED25519
            | S::ED448
    )
}

/// `crt`: the one client certificate, shown when the server asks.
#[derive(Debug)]
struct ClientCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

/// The TLS client of one server (cheap to clone; the session cache is shared by
/// the clones).
#[derive(Clone)]
pub struct Connector(Arc<ClientConfig>);

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connector(alpn {:?})", self.0.alpn_protocols)
    }
}

impl PartialEq for Connector {
    fn eq(&self, o: &Connector) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}
impl Eq for Connector {}

impl Connector {
    /// Build the rustls client configuration; errors say what rustls cannot do
    /// or what is missing (`verify required` without `ca-file`).
    pub fn build(spec: &ServerTlsSpec) -> Result<Connector, String> {
        let o = &spec.options;
        let versions = o.versions()?;
        let provider = Arc::new(provider(o, &versions)?);
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&version_refs(&versions))
            .map_err(|e| e.to_string())?;
        let roots = match (o.verify.unwrap_or(Verify::Required), &o.ca) {
            (Verify::None, _) => None,
            (_, None) => return Err("verify is enabled but no CA file specified".into()),
            (_, Some(ca)) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in &ca.certs {
                    roots
                        .add(c.clone())
                        .map_err(|e| format!("{}: {e}", ca.path))?;
                }
                Some(roots)
            }
        };
        let verifyhost = match &spec.verifyhost {
            Some(h) => Some(
                ServerName::try_from(h.clone()).map_err(|e| format!("verifyhost `{h}`: {e}"))?,
            ),
            None => None,
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                provider,
                roots,
                verifyhost,
            }));
        let mut cfg = match &spec.crt {
            Some(c) => builder.with_client_cert_resolver(Arc::new(ClientCert(c.key.clone()))),
            None => builder.with_no_client_auth(),
        };
        cfg.alpn_protocols = o
            .alpn
            .iter()
            .flatten()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        if !spec.reuse {
            cfg.resumption = Resumption::disabled();
        }
        Ok(Connector(Arc::new(cfg)))
    }

    /// Run the client side of a handshake on `io`. `sni` is sent when it is a DNS
    /// name (HAProxy sends none for an empty `sni` result); without it the server
    /// is named by `ip` (no SNI extension, `verifyhost` checked if set).
    pub async fn connect<IO>(
        &self,
        io: IO,
        sni: Option<&str>,
        ip: IpAddr,
    ) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let name = sni
            .filter(|s| !s.is_empty())
            .and_then(|s| ServerName::try_from(s.to_string()).ok())
            .filter(|n| matches!(n, ServerName::DnsName(_)))
            .unwrap_or(ServerName::IpAddress(ip.into()));
        tokio_rustls::TlsConnector::from(self.0.clone())
            .connect(name, io)
            .await
    }

    /// The rustls configuration (for clients that drive the handshake
    /// themselves: `check-ssl`).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.0.clone()
    }

    /// The ALPN protocol list offered (`alpn`).
    pub fn alpn(&self) -> &[Vec<u8>] {
        &self.0.alpn_protocols
    }
}
