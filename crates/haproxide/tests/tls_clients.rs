//! Client certificates and a renegotiation attempt, side by side with HAProxy
//! 2.6.12 (configuration.txt §5.1 `ca-file`, `verify`; §7.3.4 `ssl_c_used`,
//! `ssl_c_verify`, `ssl_c_s_dn`):
//! - curl with and without a client certificate (signed by the CA, or by a
//!   stranger) against binds with `verify none|optional|required`, in HTTP mode:
//!   the same curl outcome (exit code), status and body (the fetches, printed by
//!   `http-request return lf-string`) through both proxies;
//! - `openssl s_client -tls1_2` asking to renegotiate (`R`): both refuse it with a
//!   `no_renegotiation` alert, and a witness connection held open throughout keeps
//!   echoing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

fn certs(d: &TempDir) {
    let dir = d.dir();
    let req = |args: &[&str]| openssl_req_ec(dir, args);
    ec_test_ca(dir);
    req(&[
        "-x509",
        "-keyout",
        "srv.key",
        "-out",
        "srv.crt",
        "-subj",
        "/CN=localhost",
        "-days",
        "2",
        "-addext",
        "subjectAltName=DNS:localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    for (name, subj, ca) in [
        ("cl", "/C=FR/O=Test/CN=client one", "ca"),
        ("st", "/CN=stranger", "stca"),
    ] {
        if ca == "stca" {
            req(&[
                "-x509",
                "-keyout",
                "stca.key",
                "-out",
                "stca.pem",
                "-subj",
                "/CN=other ca",
                "-days",
                "2",
            ]);
        }
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        req(&["-new", "-keyout", &key, "-out", &csr, "-subj", subj]);
        let (cap, cak) = (format!("{ca}.pem"), format!("{ca}.key"));
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &cap,
                "-CAkey",
                &cak,
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        );
    }
    let mut pem = std::fs::read(dir.join("srv.crt")).unwrap();
    pem.extend(std::fs::read(dir.join("srv.key")).unwrap());
    std::fs::write(dir.join("srv.pem"), pem).unwrap();
}

/// Three HTTP binds (verify none, optional, required) answering the fetches, and
/// a TCP echo bind for the renegotiation test.
fn config(d: &TempDir, ports: &[u16; 4], echo: u16) -> std::path::PathBuf {
    let dir = d.dir().display();
    let text = format!(
        "defaults\n  timeout client 5s\n  timeout server 5s\n  timeout connect 2s\n\
         frontend web\n  mode http\n\
         \x20 bind 127.0.0.1:{} ssl crt {dir}/srv.pem\n\
         \x20 bind 127.0.0.1:{} ssl crt {dir}/srv.pem ca-file {dir}/ca.pem verify optional\n\
         \x20 bind 127.0.0.1:{} ssl crt {dir}/srv.pem ca-file {dir}/ca.pem verify required\n\
         \x20 http-request return status 200 content-type text/plain lf-string \"used=%[ssl_c_used] verify=%[ssl_c_verify] dn=%[ssl_c_s_dn] proto=%[ssl_fc_protocol]\"\n\
         frontend tcp\n  mode tcp\n  bind 127.0.0.1:{} ssl crt {dir}/srv.pem\n  default_backend echo\n\
         backend echo\n  mode tcp\n  server s 127.0.0.1:{echo}\n",
        ports[0], ports[1], ports[2], ports[3]
    );
    let path = d.path("clients.cfg");
    std::fs::write(&path, text).unwrap();
    path
}

/// curl's exit code, and the status and body when it got an answer.
fn curl(dir: &Path, port: u16, extra: &[&str]) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-m",
            "5",
            "--cacert",
            "srv.crt",
            "-w",
            " status=%{http_code}",
        ])
        .args(extra)
        .arg(format!("https://localhost:{port}/"))
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .expect("curl");
    format!(
        "exit={} {}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    )
}

fn client_cert_cases(dir: &Path, p: &[u16; 4]) -> Vec<(String, String)> {
    let good = ["--cert", "cl.crt", "--key", "cl.key"];
    let stranger = ["--cert", "st.crt", "--key", "st.key"];
    let mut out = Vec::new();
    for (bind, port) in [("none", p[0]), ("optional", p[1]), ("required", p[2])] {
        for (who, args) in [
            ("no cert", &[][..]),
            ("good cert", &good[..]),
            ("stranger", &stranger[..]),
        ] {
            for tls in ["--tlsv1.3", "--tls-max"] {
                let mut a: Vec<&str> = args.to_vec();
                let label = if tls == "--tlsv1.3" { "1.3" } else { "1.2" };
                if tls == "--tls-max" {
                    a.extend(["--tls-max", "1.2"]);
                }
                out.push((
                    format!("verify {bind}, {who}, TLS {label}"),
                    curl(dir, port, &a),
                ));
            }
        }
    }
    out
}

/// An `s_client -tls1_2` session on the echo bind: its stdout lines.
fn s_client(port: u16) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new("timeout")
        .args(["20", "openssl", "s_client", "-tls1_2", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("s_client");
    let (tx, rx) = mpsc::channel();
    for out in [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
    }
    (child, rx)
}

/// Waits (5 s) for a line containing `what`; false if the session ended first.
fn saw(rx: &mpsc::Receiver<String>, what: &str) -> bool {
    let end = Instant::now() + Duration::from_secs(5);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(what) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// The renegotiation attempt: (refused with the alert, the attacker's later data
/// echoed, the witness still echoing).
fn renegotiation(port: u16) -> (bool, bool, bool) {
    let (mut witness, wrx) = s_client(port);
    let send = |c: &mut std::process::Child, s: &str| {
        if let Some(i) = c.stdin.as_mut() {
            let _ = i.write_all(s.as_bytes());
            let _ = i.flush();
        }
    };
    send(&mut witness, "witness-before\n");
    let before = saw(&wrx, "witness-before");
    let (mut attacker, arx) = s_client(port);
    send(&mut attacker, "first\n");
    let up = saw(&arx, "first");
    send(&mut attacker, "R\n");
    let refused = saw(&arx, "no renegotiation");
    send(&mut attacker, "after-r\n");
    let echoed_after = saw(&arx, "after-r");
    send(&mut witness, "witness-after\n");
    let witness_ok = before && saw(&wrx, "witness-after");
    for c in [&mut witness, &mut attacker] {
        let _ = c.kill();
        let _ = c.wait();
    }
    (up && refused, echoed_after, witness_ok)
}

#[test]
fn client_certificates_and_renegotiation_match_haproxy() {
    let d = TempDir::new("tls-clients");
    certs(&d);
    let echo = echo_server();
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let cfg = config(&d, &ports, echo.port);
    let ready = |p: u16| {
        wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", p)).is_ok()
        })
    };
    let (mine, my_reneg) = {
        let _h = haproxide(&cfg, &[]);
        assert!(ready(ports[3]), "haproxide did not listen");
        (client_cert_cases(d.dir(), &ports), renegotiation(ports[3]))
    };
    let get = |k: &str| mine.iter().find(|(c, _)| c == k).map(|(_, a)| a.as_str());
    let dn = "/C=FR/O=Test/CN=client one";
    assert_eq!(
        get("verify required, good cert, TLS 1.3"),
        Some(format!("exit=0 used=1 verify=0 dn={dn} proto=TLSv1.3 status=200").as_str()),
        "{mine:#?}"
    );
    assert_eq!(
        get("verify optional, no cert, TLS 1.2"),
        Some("exit=0 used=0 verify=0 dn= proto=TLSv1.2 status=200")
    );
    assert!(get("verify required, no cert, TLS 1.2").is_some_and(|a| !a.starts_with("exit=0")));
    assert!(get("verify required, stranger, TLS 1.3").is_some_and(|a| !a.contains("status=200")));
    assert_eq!(
        my_reneg,
        (true, false, true),
        "refused, nothing after, witness fine"
    );
    let Some(_h) = haproxy(&cfg) else {
        return;
    };
    assert!(ready(ports[3]), "haproxy did not listen");
    let theirs = client_cert_cases(d.dir(), &ports);
    let their_reneg = renegotiation(ports[3]);
    let differ: Vec<_> = mine
        .iter()
        .zip(&theirs)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((c, a), (_, b))| (c.as_str(), a.as_str(), b.as_str()))
        .collect();
    // One difference, in the alert only: refusing a missing certificate in TLS 1.2,
    // rustls sends `certificate_required` (116; curl: 98 "client certificate
    // required") where OpenSSL sends `handshake_failure` (40; curl: 35). Both
    // refuse the handshake.
    assert_eq!(
        differ,
        [(
            "verify required, no cert, TLS 1.2",
            "exit=98  status=000",
            "exit=35  status=000"
        )],
        "(case, haproxide, HAProxy)"
    );
    assert_eq!(my_reneg, their_reneg);
}

/// The certificate fetches (§7.3.4 `ssl_c_*`, `ssl_f_*`) print the same through
/// both proxies: the client's certificate (sent with its CA as a chain) and the
/// frontend's, every field, and the DN entry arguments.
#[test]
fn certificate_fetches_match_haproxy() {
    let d = TempDir::new("tls-fetches");
    certs(&d);
    let dir = d.dir();
    let mut chain = std::fs::read(dir.join("cl.crt")).unwrap();
    chain.extend(std::fs::read(dir.join("ca.pem")).unwrap());
    std::fs::write(dir.join("clchain.crt"), chain).unwrap();
    let port = free_port();
    let fields = [
        "ssl_c_der,hex",
        "ssl_c_chain_der,hex",
        "ssl_c_sha1,hex",
        "ssl_c_serial,hex",
        "ssl_c_notbefore",
        "ssl_c_notafter",
        "ssl_c_sig_alg",
        "ssl_c_key_alg",
        "ssl_c_version",
        "ssl_c_s_dn",
        "ssl_c_i_dn",
        "ssl_c_s_dn(CN)",
        "ssl_c_s_dn(O,1)",
        "ssl_c_s_dn(C,-1)",
        "ssl_c_s_dn(OU)",
        "ssl_c_err",
        "ssl_c_ca_err",
        "ssl_fc_has_crt",
        "ssl_fc_has_sni",
        "ssl_f_der,hex",
        "ssl_f_sha1,hex",
        "ssl_f_serial,hex",
        "ssl_f_notbefore",
        "ssl_f_notafter",
        "ssl_f_sig_alg",
        "ssl_f_key_alg",
        "ssl_f_version",
        "ssl_f_s_dn",
        "ssl_f_i_dn",
        "ssl_f_s_dn(CN)",
    ];
    let body: String = fields.iter().map(|f| format!("{f}=%[{f}]\\n")).collect();
    let text = format!(
        "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 2s\n\
         frontend facts\n\
         \x20 bind 127.0.0.1:{port} ssl crt {d}/srv.pem ca-file {d}/ca.pem verify optional\n\
         \x20 http-request return status 200 content-type text/plain lf-string \"{body}\"\n",
        d = dir.display()
    );
    let cfg = d.path("facts.cfg");
    std::fs::write(&cfg, text).unwrap();
    let ask = || {
        assert!(wait_listening(port), "nothing listens on {port}");
        [
            curl(dir, port, &["--cert", "clchain.crt", "--key", "cl.key"]),
            curl(dir, port, &[]),
        ]
    };
    let mine = {
        let _h = haproxide(&cfg, &[]);
        ask()
    };
    assert!(
        mine[0].contains("ssl_c_s_dn(CN)=client one\n"),
        "{}",
        mine[0]
    );
    assert!(
        mine[0].contains("ssl_f_s_dn=/CN=localhost\n"),
        "{}",
        mine[0]
    );
    assert!(mine[0].contains("ssl_c_version=3\n"), "{}", mine[0]);
    assert!(mine[1].contains("ssl_c_sha1,hex=\n"), "{}", mine[1]);
    let Some(_h) = haproxy(&cfg) else {
        return;
    };
    let theirs = ask();
    for (a, b) in mine.iter().zip(&theirs) {
        assert_eq!(a.lines().collect::<Vec<_>>(), b.lines().collect::<Vec<_>>());
    }
}

/// The server certificate fetches (§7.3.4 `ssl_s_*`) in `http-response` rules of a
/// cleartext `listen` whose server is TLS (`ssl verify none`, a certificate sent
/// with its CA as the chain), as reg-test ssl/ssl_server_samples uses them: the
/// same headers through both proxies.
#[test]
fn server_certificate_fetches_match_haproxy() {
    let d = TempDir::new("tls-sfetches");
    certs(&d);
    let dir = d.dir();
    let mut pem = std::fs::read(dir.join("cl.crt")).unwrap();
    pem.extend(std::fs::read(dir.join("ca.pem")).unwrap());
    pem.extend(std::fs::read(dir.join("cl.key")).unwrap());
    std::fs::write(dir.join("clfull.pem"), pem).unwrap();
    let (clear, tls) = (free_port(), free_port());
    let fields = [
        "ssl_s_der,hex",
        "ssl_s_chain_der,hex",
        "ssl_s_sha1,hex",
        "ssl_s_serial,hex",
        "ssl_s_notbefore",
        "ssl_s_notafter",
        "ssl_s_sig_alg",
        "ssl_s_key_alg",
        "ssl_s_version",
        "ssl_s_s_dn",
        "ssl_s_i_dn",
        "ssl_s_s_dn(CN)",
        "ssl_s_s_dn(O,1)",
        "ssl_s_i_dn(CN)",
    ];
    let rules: String = fields
        .iter()
        .enumerate()
        .map(|(i, f)| format!("  http-response set-header x-f{i:02} \"{f}=%[{f}]\"\n"))
        .collect();
    let text = format!(
        "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 2s\n\
         listen clear\n  bind 127.0.0.1:{clear}\n{rules}\
         \x20 server s1 127.0.0.1:{tls} ssl verify none sni str(localhost)\n\
         frontend tls\n  bind 127.0.0.1:{tls} ssl crt {d}/clfull.pem\n\
         \x20 http-request return status 200 content-type text/plain string ok\n",
        d = dir.display()
    );
    let cfg = d.path("sfacts.cfg");
    std::fs::write(&cfg, text).unwrap();
    let ask = || -> Vec<String> {
        assert!(wait_listening(clear), "nothing listens on {clear}");
        assert!(wait_listening(tls), "nothing listens on {tls}");
        let out = Command::new("curl")
            .args(["-s", "-D-", "-o/dev/null", "--max-time", "5"])
            .arg(format!("http://127.0.0.1:{clear}/"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("x-f"))
            .map(|l| l.trim_end().to_string())
            .collect();
        v.sort();
        v
    };
    let mine = {
        let _h = haproxide(&cfg, &[]);
        ask()
    };
    assert_eq!(mine.len(), fields.len(), "{mine:?}");
    assert!(
        mine.contains(&"09: ssl_s_s_dn=/C=FR/O=Test/CN=client one".to_string()),
        "{mine:?}"
    );
    assert!(
        mine.contains(&"13: ssl_s_i_dn(CN)=test ca".to_string()),
        "{mine:?}"
    );
    assert!(
        mine.contains(&"08: ssl_s_version=3".to_string()),
        "{mine:?}"
    );
    let der = mine[0].trim_start_matches("00: ssl_s_der,hex=");
    let chain = mine[1].trim_start_matches("01: ssl_s_chain_der,hex=");
    assert!(
        der.len() > 100 && chain.starts_with(der) && chain.len() > der.len(),
        "{mine:?}"
    );
    let Some(_h) = haproxy(&cfg) else {
        return;
    };
    assert_eq!(mine, ask());
}
