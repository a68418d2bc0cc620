//! What the check tests need beyond haproxide-testkit's mocks: a TLS server, which
//! needs rustls and this crate's test certificates (tests/data), so it stays here.
#![allow(dead_code)]

use std::sync::Arc;

use haproxide_testkit::tcp::{serve, Mock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Path of a file in tests/data.
pub fn data(f: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(f)
}

/// A TLS server (tests/data/cert.pem, signed by ca.pem, CN check.test)
/// answering `HTTP/1.0 200 OK` to any request.
pub async fn tls_server() -> Mock {
    let certs: Vec<_> =
        rustls_pemfile::certs(&mut std::fs::read(data("cert.pem")).expect("cert").as_slice())
            .collect::<Result<_, _>>()
            .expect("certs");
    let key =
        rustls_pemfile::private_key(&mut std::fs::read(data("key.pem")).expect("key").as_slice())
            .expect("key")
            .expect("a key");
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        haproxide_tls::crypto::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    serve(move |s| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(mut t) = acceptor.accept(s).await {
                let mut b = [0u8; 1024];
                let _ = t.read(&mut b).await;
                let _ = t.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
                let _ = t.shutdown().await;
            }
        }
    })
    .await
}
