//! TLS for `check-ssl` (configuration.txt §5.2 `check-ssl`, `verify`,
//! `ca-file`, `check-sni`) on haproxide-tls' server-side connector: the same
//! verification as traffic to an `ssl` server (the chain; the name only when
//! `check-sni` is sent).

use std::net::IpAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;

use super::conn::TlsClient;
use super::ProbeError;
use crate::spec::TlsSpec;

/// Builds the TLS client for a check to `ip`.
pub fn client(spec: &TlsSpec, ip: IpAddr) -> Result<TlsClient, ProbeError> {
    let mut options = haproxide_tls::TlsOptions {
        verify: Some(if spec.verify {
            haproxide_tls::Verify::Required
        } else {
            haproxide_tls::Verify::None
        }),
        ..Default::default()
    };
    if spec.verify {
        let Some(path) = &spec.ca_file else {
            return Err(ProbeError::Tls("verify required needs a ca-file".into()));
        };
        let ca =
            haproxide_tls::load_ca(&path.to_string_lossy()).map_err(|e| ProbeError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        options.ca = Some(Arc::new(ca));
    }
    let connector = haproxide_tls::Connector::build(&haproxide_tls::ServerTlsSpec {
        options,
        crt: None,
        verifyhost: None,
        reuse: true,
    })
    .map_err(ProbeError::Tls)?;
    let config = connector.client_config();
    let server_name = match &spec.sni {
        Some(n) => ServerName::try_from(n.clone()).map_err(|e| ProbeError::Tls(e.to_string()))?,
        None => ServerName::IpAddress(ip.into()),
    };
    Ok(TlsClient {
        config,
        server_name,
    })
}
