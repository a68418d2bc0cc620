//! TLS load generator for bench/tls-vs-haproxy.sh (the same client for both proxies).
//!
//! `tlsload echo <port>`: a TCP echo backend on 127.0.0.1:<port> (runs until killed).
//! `tlsload hs <addr> <secs> <conns> [resume]`: `conns` loops, each: connect, full
//!   (or, with `resume`, resumed) TLS handshake, 1 byte written and echoed, close.
//!   Prints `handshakes=<n> secs=<s> resumed=<n>`.
//! `tlsload bulk <addr> <secs> <conns>`: each connection writes 16 kB blocks and reads
//!   the echo for `secs`; prints `bytes=<n> secs=<s>` (bytes one way).
//! `tlsload idle <addr> <conns> <secs>`: opens `conns` TLS connections (handshake and
//!   one byte echoed each), prints `open=<n>` and holds them `secs` seconds.
//!
//! The client does not verify the server's certificate nor its handshake signature
//! (a bench client, on loopback): its CPU goes to the key exchange and the
//! records, so the proxy is what limits the rate.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

#[derive(Debug)]
struct NoVerify;

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        haproxide_tls::crypto::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn client(resume: bool) -> Arc<ClientConfig> {
    let mut c =
        ClientConfig::builder_with_provider(Arc::new(haproxide_tls::crypto::default_provider()))
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(Arc::new(NoVerify))
                    .with_no_client_auth()
            })
            .unwrap_or_else(|e| panic!("client config: {e}"));
    if !resume {
        c.resumption = rustls::client::Resumption::disabled();
    }
    Arc::new(c)
}

async fn echo(port: u16) {
    let l = TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    loop {
        let Ok((mut s, _)) = l.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let (mut r, mut w) = s.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        });
    }
}

async fn one(conn: &TlsConnector, addr: SocketAddr) -> Option<bool> {
    let tcp = TcpStream::connect(addr).await.ok()?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from("bench.example").ok()?;
    let mut s = conn.connect(name, tcp).await.ok()?;
    let resumed = matches!(
        s.get_ref().1.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
    s.write_all(b"x").await.ok()?;
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.ok()?;
    Some(resumed)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| a.get(i).cloned().unwrap_or_default();
    match arg(1).as_str() {
        "echo" => echo(arg(2).parse().unwrap_or(9000)).await,
        mode @ ("hs" | "bulk") => {
            let addr: SocketAddr = arg(2).parse().unwrap_or_else(|e| panic!("addr: {e}"));
            let secs: f64 = arg(3).parse().unwrap_or(5.0);
            let conns: usize = arg(4).parse().unwrap_or(16);
            let resume = arg(5) == "resume";
            let conn = TlsConnector::from(client(resume));
            let done = Arc::new(AtomicU64::new(0));
            let resumed = Arc::new(AtomicU64::new(0));
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let t0 = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..conns {
                let (conn, done, resumed) = (conn.clone(), done.clone(), resumed.clone());
                let bulk = mode == "bulk";
                tasks.push(tokio::spawn(async move {
                    if bulk {
                        let Ok(tcp) = TcpStream::connect(addr).await else { return };
                        let Ok(name) = ServerName::try_from("bench.example") else { return };
                        let Ok(s) = conn.connect(name, tcp).await else { return };
                        let (mut r, mut w) = tokio::io::split(s);
                        let reader = tokio::spawn(async move {
                            let mut buf = vec![0u8; 65536];
                            let mut n = 0u64;
                            while let Ok(k) = r.read(&mut buf).await {
                                if k == 0 {
                                    break;
                                }
                                n += k as u64;
                            }
                            n
                        });
                        let block = vec![7u8; 16384];
                        while Instant::now() < end {
                            if w.write_all(&block).await.is_err() {
                                break;
                            }
                        }
                        let _ = w.shutdown().await;
                        if let Ok(n) = reader.await {
                            done.fetch_add(n, Ordering::Relaxed);
                        }
                        return;
                    }
                    while Instant::now() < end {
                        match one(&conn, addr).await {
                            Some(r) => {
                                done.fetch_add(1, Ordering::Relaxed);
                                if r {
                                    resumed.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            None => tokio::time::sleep(Duration::from_millis(1)).await,
                        }
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
            let el = t0.elapsed().as_secs_f64();
            if mode == "bulk" {
                println!("bytes={} secs={el:.3}", done.load(Ordering::Relaxed));
            } else {
                println!(
                    "handshakes={} secs={el:.3} resumed={}",
                    done.load(Ordering::Relaxed),
                    resumed.load(Ordering::Relaxed)
                );
            }
        }
        "idle" => {
            let addr: SocketAddr = arg(2).parse().unwrap_or_else(|e| panic!("addr: {e}"));
            let conns: usize = arg(3).parse().unwrap_or(1000);
            let secs: f64 = arg(4).parse().unwrap_or(5.0);
            let conn = TlsConnector::from(client(false));
            let mut open = Vec::new();
            for _ in 0..conns {
                let Ok(tcp) = TcpStream::connect(addr).await else { continue };
                let Ok(name) = ServerName::try_from("bench.example") else { continue };
                let Ok(mut s) = conn.connect(name, tcp).await else { continue };
                let mut b = [0u8; 1];
                if s.write_all(b"x").await.is_ok() && s.read_exact(&mut b).await.is_ok() {
                    open.push(s);
                }
            }
            println!("open={}", open.len());
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            drop(open);
        }
        _ => eprintln!("usage: tlsload echo <port> | hs <addr> <secs> <conns> [resume] | bulk <addr> <secs> <conns>"),
    }
}
