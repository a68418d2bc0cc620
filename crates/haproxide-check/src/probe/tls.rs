//! TLS for `check-ssl` (configuration.txt §5.2 `check-ssl`, `verify`,
//! `ca-file`, `check-sni`) with rustls and the `ring` provider.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::conn::TlsClient;
use super::ProbeError;
use crate::spec::TlsSpec;

/// `verify none`: accept any certificate, as HAProxy does.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Builds the TLS client for a check to `ip`.
pub fn client(spec: &TlsSpec, ip: IpAddr) -> Result<TlsClient, ProbeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::Tls(e.to_string()))?;
    let config = if spec.verify {
        let mut roots = rustls::RootCertStore::empty();
        let Some(path) = &spec.ca_file else {
            return Err(ProbeError::Tls("verify required needs a ca-file".into()));
        };
        let pem = std::fs::read(path).map_err(|e| ProbeError::CaFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| ProbeError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            roots.add(cert).map_err(|e| ProbeError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    };
    let server_name = match &spec.sni {
        Some(n) => ServerName::try_from(n.clone()).map_err(|e| ProbeError::Tls(e.to_string()))?,
        None => ServerName::IpAddress(ip.into()),
    };
    Ok(TlsClient {
        config: Arc::new(config),
        server_name,
    })
}
