//! The floor of a full handshake's signature: signs `n` times with the proxy's crypto
//! provider, through the same rustls calls a TLS 1.3 server makes (`load_private_key`,
//! `choose_scheme`, `sign`), on one thread.
//!
//! `signspeed <key.pem> <n>` prints `scheme=<s> n=<n> wall_us_per_sign=<t> cpu_us_per_sign=<c>`
//! (CPU: this process's utime+stime from /proc/self/stat, so other load on the
//! machine does not inflate it). Compare with `openssl speed -seconds 3 rsa2048
//! ecdsap256` (bench/tls-vs-haproxy.sh's keys are made the same way).

use std::time::Instant;

use rustls::SignatureScheme;

fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: utime is the 14th field, stime the 15th.
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // rest starts at field 3 (state): field k is f[k - 3].
    (t(11) + t(12)) / 100.0
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let path = a.get(1).cloned().unwrap_or_default();
    let n: u32 = a.get(2).and_then(|v| v.parse().ok()).unwrap_or(2000);
    let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let key = rustls_pemfile::private_key(&mut pem.as_slice())
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{path}: no private key"));
    let provider = haproxide_tls::crypto::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .unwrap_or_else(|e| panic!("load: {e}"));
    // What a TLS 1.3 server picks for rustls' client: PSS for RSA, ECDSA P-256 SHA-256.
    let offered = [
        SignatureScheme::ECDSA_NISTP256_SHA256,
        SignatureScheme::RSA_PSS_SHA256,
    ];
    let signer = signing
        .choose_scheme(&offered)
        .unwrap_or_else(|| panic!("no scheme"));
    let msg = [0x20u8; 130];
    let (w0, c0) = (Instant::now(), cpu_secs());
    for _ in 0..n {
        if signer.sign(&msg).is_err() {
            panic!("sign failed");
        }
    }
    let (w, c) = (w0.elapsed().as_secs_f64(), cpu_secs() - c0);
    println!(
        "scheme={:?} n={n} wall_us_per_sign={:.1} cpu_us_per_sign={:.1}",
        signer.scheme(),
        w / f64::from(n) * 1e6,
        c / f64::from(n) * 1e6
    );
}
