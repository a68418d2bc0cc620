//! The signature scheme an RSA certificate signs the handshake with, side by side
//! with HAProxy 2.6.12 (configuration.txt §5.1 `crt`, `prefer-client-ciphers`):
//! `openssl s_client -sigalgs <list>` against a default bind (server preference:
//! OpenSSL's order, RSA-PSS-SHA256 first) and a `prefer-client-ciphers` bind (the
//! client's order), TLS 1.3 and 1.2; the "Peer signature type" and "Peer signing
//! digest" must be what HAProxy answers (but for one TLS 1.2 `prefer-client-ciphers`
//! case, below), and the expected values are asserted too (so the test fails
//! without HAProxy installed).

mod common;

use std::time::Duration;

use common::*;

/// rustls' client order (the benches' tlsload), then others.
const CASES: [(&str, &str); 4] = [
    (
        "-tls1_3",
        "ecdsa_secp384r1_sha384:ecdsa_secp256r1_sha256:ed25519:rsa_pss_rsae_sha512:\
         rsa_pss_rsae_sha384:rsa_pss_rsae_sha256:rsa_pkcs1_sha512:rsa_pkcs1_sha384:rsa_pkcs1_sha256",
    ),
    (
        "-tls1_3",
        "rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:rsa_pss_rsae_sha256",
    ),
    (
        "-tls1_2",
        "rsa_pkcs1_sha512:rsa_pss_rsae_sha512:rsa_pkcs1_sha256:rsa_pss_rsae_sha256",
    ),
    ("-tls1_2", "rsa_pkcs1_sha512:rsa_pkcs1_sha384"),
];

/// "type digest" of the handshake's signature, or "failed".
fn peer_signature(port: u16, version: &str, sigalgs: &str) -> String {
    let text = s_client_stdout(port, &[version, "-sigalgs", sigalgs]);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    match (field("Peer signature type:"), field("Peer signing digest:")) {
        (Some(t), Some(d)) => format!("{t} {d}"),
        _ => "failed".into(),
    }
}

fn answers(tag: &str, cfg: &std::path::Path, ports: [u16; 2]) -> Option<Vec<String>> {
    let _proxy = either(tag, cfg)?;
    assert!(
        ports.iter().all(|p| wait_listening(*p)),
        "{tag}: not listening"
    );
    let mut out = Vec::new();
    for (bind, port) in [("server order", ports[0]), ("client order", ports[1])] {
        for (version, list) in CASES {
            let got = peer_signature(port, version, list);
            out.push(format!("{bind} {version} {list}: {got}"));
        }
    }
    Some(out)
}

#[test]
fn rsa_signature_scheme_is_haproxys() {
    let d = TempDir::new("tls-sigalgs");
    let dir = d.dir();
    let (key, crt) = ("rsa.key", "rsa.crt");
    let subject = ["-subj", "/CN=localhost"];
    openssl_req_rsa(
        dir,
        &[&["-x509", "-keyout", key, "-out", crt][..], &subject].concat(),
    );
    let mut pem = std::fs::read(dir.join(crt)).unwrap();
    pem.extend(std::fs::read(dir.join(key)).unwrap());
    std::fs::write(dir.join("rsa.pem"), pem).unwrap();
    let echo = echo_server();
    let ports = [free_port(), free_port()];
    let dd = dir.display();
    let cfg = d.path("sigalgs.cfg");
    std::fs::write(
        &cfg,
        format!(
            "defaults\n  mode tcp\n  timeout client 5s\n  timeout server 5s\n  timeout connect 2s\n\
             frontend server_order\n  bind 127.0.0.1:{} ssl crt {dd}/rsa.pem\n  default_backend echo\n\
             frontend client_order\n  bind 127.0.0.1:{} ssl crt {dd}/rsa.pem prefer-client-ciphers\n  default_backend echo\n\
             backend echo\n  server s 127.0.0.1:{}\n",
            ports[0], ports[1], echo.port
        ),
    )
    .unwrap();
    let ours = answers("ours", &cfg, ports).expect("haproxide runs");
    let expected = [
        "RSA-PSS SHA256",
        "RSA-PSS SHA256",
        "RSA-PSS SHA256",
        "RSA SHA384",
        "RSA-PSS SHA512",
        "RSA-PSS SHA384",
        // HAProxy: "RSA SHA512" (the client's first). rustls hands a TLS 1.2 key
        // the client's schemes re-sorted in its own order (PSS first), so the
        // client's order is lost there: the one known difference (docs/tls.md).
        "RSA-PSS SHA512",
        "RSA SHA512",
    ];
    /// The case above.
    const DIFFERS: usize = 6;
    for (line, want) in ours.iter().zip(expected) {
        assert!(line.ends_with(&format!(": {want}")), "{line}, want {want}");
    }
    // The ports are free again once haproxide has stopped.
    assert!(wait_until(Duration::from_secs(5), || ports.iter().all(
        |p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err()
    )));
    if let Some(theirs) = answers("theirs", &cfg, ports) {
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            if i == DIFFERS {
                assert!(b.ends_with(": RSA SHA512"), "{b}");
            } else {
                assert_eq!(a, b);
            }
        }
        assert_eq!(ours.len(), theirs.len());
    }
}
