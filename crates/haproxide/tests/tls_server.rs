//! Server-side TLS (configuration.txt §5.2 `ssl`, `verify`, `ca-file`, `crt`,
//! `sni`, `alpn`, `verifyhost`, `no-ssl-reuse`, `ssl-max-ver`; §3.1
//! `ssl-default-server-ciphers`, `default-server ssl`), side by side with HAProxy
//! 2.6.12: one configuration run by each proxy in turn, in front of the same real
//! HAProxy TLS backend that answers what its handshake saw (SNI, protocol, ALPN,
//! cipher, resumption, client certificate). Every scenario's status and body must
//! be identical. Certificates are made with `openssl` in a temp dir.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

const EC: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// A self-signed CA `name`.
fn ca(dir: &Path, name: &str) {
    let mut a = vec!["req", "-x509"];
    a.extend(EC);
    let (k, c, s) = (
        format!("{name}.key"),
        format!("{name}.pem"),
        format!("/CN={name}"),
    );
    a.extend(["-keyout", &k, "-out", &c, "-subj", &s, "-days", "2"]);
    openssl(dir, &a);
}

/// A certificate `name` signed by `ca.pem`, its key appended (`name.pem`).
fn leaf(dir: &Path, name: &str, subj: &str, ext: &str) {
    let mut a = vec!["req", "-new"];
    a.extend(EC);
    let (k, r, c) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    a.extend(["-keyout", &k, "-out", &r, "-subj", subj]);
    openssl(dir, &a);
    let e = format!("{name}.ext");
    std::fs::write(dir.join(&e), ext).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &r,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &c,
            "-days",
            "2",
            "-extfile",
            &e,
        ],
    );
    let mut pem = std::fs::read(dir.join(&c)).unwrap();
    pem.extend(std::fs::read(dir.join(&k)).unwrap());
    std::fs::write(dir.join(format!("{name}.pem")), pem).unwrap();
}

fn certs(d: &TempDir) {
    let dir = d.dir();
    ca(dir, "ca");
    ca(dir, "other");
    leaf(
        dir,
        "b",
        "/CN=b.example",
        "subjectAltName=DNS:b.example\nbasicConstraints=CA:FALSE\n",
    );
    leaf(
        dir,
        "cl",
        "/C=FR/O=Test/CN=client one",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
}

/// The real TLS server both proxies connect to: it answers what it saw.
fn backend_cfg(d: &TempDir, open: u16, mtls: u16) -> std::path::PathBuf {
    let dir = d.dir().display();
    let text = format!(
        "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 2s\n\
         frontend tlsbe\n\
         \x20 bind 127.0.0.1:{open} ssl crt {dir}/b.pem alpn h2,http/1.1\n\
         \x20 bind 127.0.0.1:{mtls} ssl crt {dir}/b.pem ca-file {dir}/ca.pem verify required\n\
         \x20 http-request return status 200 content-type text/plain lf-string \"sni=%[ssl_fc_sni] proto=%[ssl_fc_protocol] alpn=%[ssl_fc_alpn] cipher=%[ssl_fc_cipher] resumed=%[ssl_fc_is_resumed] dn=%[ssl_c_s_dn]\\n\"\n"
    );
    let p = d.path("backend.cfg");
    std::fs::write(&p, text).unwrap();
    p
}

/// (scenario, server line options, mode, backend port choice: 0 open, 1 mtls).
const SCENARIOS: &[(&str, &str, &str, u8)] = &[
    (
        "good",
        "ssl verify required ca-file {dir}/ca.pem sni str(b.example) alpn http/1.1",
        "http",
        0,
    ),
    (
        "sni from host",
        "ssl verify required ca-file {dir}/ca.pem sni req.hdr(host)",
        "http",
        0,
    ),
    (
        "no sni: chain only",
        "ssl verify required ca-file {dir}/ca.pem",
        "http",
        0,
    ),
    (
        "verifyhost mismatch",
        "ssl verify required ca-file {dir}/ca.pem verifyhost wrong.example",
        "http",
        0,
    ),
    (
        "sni mismatch",
        "ssl verify required ca-file {dir}/ca.pem sni str(wrong.example)",
        "http",
        0,
    ),
    (
        "unknown ca",
        "ssl verify required ca-file {dir}/other.pem sni str(b.example)",
        "http",
        0,
    ),
    ("verify none", "ssl verify none", "http", 0),
    (
        "tls 1.2 + global ciphers",
        "ssl verify none ssl-max-ver TLSv1.2",
        "http",
        0,
    ),
    ("no-ssl-reuse", "ssl verify none no-ssl-reuse", "http", 0),
    ("client cert", "ssl verify none crt {dir}/cl.pem", "http", 1),
    ("no client cert", "ssl verify none", "http", 1),
    ("default-server", "", "http", 0),
    ("tcp mode", "ssl verify none sni str(b.example)", "tcp", 0),
];

fn proxy_cfg(d: &TempDir, ports: &[u16], open: u16, mtls: u16) -> std::path::PathBuf {
    let dir = d.dir().display().to_string();
    let mut text = String::from(
        "global\n  nbthread 1\n  ssl-default-server-ciphers ECDHE-ECDSA-AES256-GCM-SHA384\n\
         defaults\n  timeout client 5s\n  timeout server 5s\n  timeout connect 2s\n  retries 0\n",
    );
    for (i, (name, opts, mode, be)) in SCENARIOS.iter().enumerate() {
        let port = if *be == 0 { open } else { mtls };
        let opts = opts.replace("{dir}", &dir);
        text.push_str(&format!(
            "listen l{i}\n  # {name}\n  mode {mode}\n  bind 127.0.0.1:{}\n",
            ports[i]
        ));
        if opts.is_empty() {
            text.push_str("  default-server ssl verify none ssl-max-ver TLSv1.2\n");
        }
        text.push_str(&format!("  server s 127.0.0.1:{port} {opts}\n"));
    }
    let p = d.path("proxy.cfg");
    std::fs::write(&p, text).unwrap();
    p
}

/// One request on a new connection: the status line and the body.
fn get(port: u16, host: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(8)));
    let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return "write failed".into();
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.lines().next().unwrap_or("").to_string();
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_string();
    format!("{status} | {body}")
}

fn run(ports: &[u16]) -> Vec<(String, Vec<String>)> {
    SCENARIOS
        .iter()
        .enumerate()
        .map(|(i, (name, ..))| {
            let host = if name.starts_with("sni from host") {
                "b.example"
            } else {
                "x"
            };
            // Twice: the second connection resumes the TLS session (or not).
            let seen = vec![get(ports[i], host), get(ports[i], host)];
            (name.to_string(), seen)
        })
        .collect()
}

fn wait_listen(port: u16) {
    assert!(
        wait_until(Duration::from_secs(10), || TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "nothing listens on {port}"
    );
}

#[test]
fn server_side_tls_matches_haproxy() {
    let d = TempDir::new("tls-server");
    certs(&d);
    let (open, mtls) = (free_port(), free_port());
    let Some(_backend) = haproxy(&backend_cfg(&d, open, mtls)) else {
        eprintln!("haproxy not installed: skipped");
        return;
    };
    wait_listen(open);
    let ports: Vec<u16> = SCENARIOS.iter().map(|_| free_port()).collect();
    let cfg = proxy_cfg(&d, &ports, open, mtls);
    let mine = {
        let _p = haproxide(&cfg, &[]);
        wait_listen(ports[0]);
        run(&ports)
    };
    let theirs = {
        let _p = haproxy(&cfg).expect("haproxy");
        wait_listen(ports[0]);
        run(&ports)
    };
    let get = |n: &str| &mine.iter().find(|(k, _)| k == n).unwrap().1;
    // What haproxide did, on its own terms (so that two identical failures fail).
    assert!(get("good")[0].starts_with("HTTP/1.1 200"), "{mine:#?}");
    assert!(get("good")[0].contains("sni=b.example proto=TLSv1.3 alpn=http/1.1"));
    assert!(get("good")[0].contains("resumed=0"), "{mine:#?}");
    assert!(get("good")[1].contains("resumed=1"), "{mine:#?}");
    assert!(get("no-ssl-reuse")[1].contains("resumed=0"), "{mine:#?}");
    assert!(
        get("sni from host")[0].contains("sni=b.example"),
        "{mine:#?}"
    );
    assert!(get("no sni: chain only")[0].contains("200"), "{mine:#?}");
    for bad in ["verifyhost mismatch", "sni mismatch", "unknown ca"] {
        assert!(get(bad)[0].starts_with("HTTP/1.1 503"), "{bad}: {mine:#?}");
    }
    // TLS 1.3: the server refuses the missing certificate after the client's
    // handshake ended; the alert on the first read is a failed connection
    // attempt (503), as HAProxy.
    assert!(
        get("no client cert")[0].starts_with("HTTP/1.1 503"),
        "{mine:#?}"
    );
    assert!(get("tls 1.2 + global ciphers")[0]
        .contains("proto=TLSv1.2 alpn= cipher=ECDHE-ECDSA-AES256-GCM-SHA384"));
    assert!(get("client cert")[0].contains("dn=/C=FR/O=Test/CN=client one"));
    assert!(
        get("default-server")[0].contains("proto=TLSv1.2"),
        "{mine:#?}"
    );
    assert!(get("tcp mode")[0].contains("sni=b.example"), "{mine:#?}");
    for ((name, a), (_, b)) in mine.iter().zip(theirs.iter()) {
        if name == "no client cert" {
            // HAProxy 2.6.12 races here: the alert is a connect failure (503)
            // when it arrives before the stream saw the connection established,
            // else a read error (502); measured 4 x 503, 6 x 502 in 10 runs at
            // load 11. haproxide always answers 503 (docs/tls.md).
            assert!(
                b.iter()
                    .all(|l| l.starts_with("HTTP/1.1 503") || l.starts_with("HTTP/1.1 502")),
                "{theirs:#?}"
            );
            continue;
        }
        assert_eq!(
            a, b,
            "scenario {name:?}: haproxide (left) vs HAProxy (right): {theirs:#?}"
        );
    }
}

/// `haproxide -c` reports the server TLS errors `haproxy -c` reports, with the
/// same alert lines.
#[test]
fn server_tls_config_errors_as_haproxy() {
    let d = TempDir::new("tls-server-check");
    let cases = [
        "  server s1 127.0.0.1:1 ssl\n",
        "  server s1 127.0.0.1:1 ssl verify none sni foo(bar)\n",
        "  server s1 127.0.0.1:1 ssl verify none ciphers BOGUS\n",
        "  server s1 127.0.0.1:1 ssl verify none ciphersuites BOGUS\n",
        "  server s1 127.0.0.1:1 ssl verify bogus\n",
        "  server s1 127.0.0.1:1 ssl verify none ssl-min-ver TLSv9\n",
    ];
    for case in cases {
        let cfg = d.path("c.cfg");
        std::fs::write(
            &cfg,
            format!("defaults\n  mode tcp\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nbackend b\n{case}"),
        )
        .unwrap();
        let alerts = |prog: &str| {
            let o = Command::new(prog)
                .arg("-c")
                .arg("-f")
                .arg(&cfg)
                .output()
                .expect("run -c");
            let text = String::from_utf8_lossy(&o.stderr).to_string();
            let lines: Vec<String> = text
                .lines()
                .filter(|l| l.starts_with("[ALERT]"))
                .map(|l| l.split_once(" : ").map_or(l, |x| x.1).to_string())
                .collect();
            (o.status.code(), lines)
        };
        let mine = alerts(env!("CARGO_BIN_EXE_haproxide"));
        if !Path::new("/usr/sbin/haproxy").exists() {
            assert_eq!(mine.0, Some(1), "{case}");
            continue;
        }
        let theirs = alerts("/usr/sbin/haproxy");
        assert_eq!(mine.0, Some(1), "{case}: {mine:?}");
        assert_eq!(mine, theirs, "{case}");
    }
}
