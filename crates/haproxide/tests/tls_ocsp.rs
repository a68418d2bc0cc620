//! OCSP stapling (configuration.txt §5.1 `crt`: `<crt>.ocsp`; management.txt §9.3
//! `set/show ssl ocsp-response`), side by side with HAProxy 2.6.12: a test CA
//! answers with `openssl ocsp` (good, revoked, another certificate's); `openssl
//! s_client -status` sees the same stapled status through both proxies, the CLI
//! gives the same answers, and a `user`/`operator` socket cannot replace the
//! response in haproxide (HAProxy 2.6.12 lets it: the one intended difference).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// `openssl <args>` in `dir`, its stdout.
fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA, srv.pem (its certificate, the CA, its key) with srv.pem.ocsp (good),
/// revoked.der, other.der (a response about another certificate).
fn pki(d: &TempDir) {
    let dir = d.dir();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "5",
        "-subj",
        "/CN=OCSP Test CA",
    ]);
    run(dir, &a);
    let days = |n: i64| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + n * 86400;
        let out = Command::new("date")
            .args(["-u", "-d", &format!("@{t}"), "+%y%m%d%H%M%SZ"])
            .output()
            .expect("date");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    for (name, cn) in [("srv", "ocsp.example"), ("s2", "other.example")] {
        let mut a = vec!["req"];
        a.extend(ec);
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        let subj = format!("/CN={cn}");
        a.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        run(dir, &a);
        run(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "3",
            ],
        );
        let serial = run(dir, &["x509", "-in", &crt, "-noout", "-serial"]);
        let serial = serial.trim().trim_start_matches("serial=").to_string();
        let req = format!("{name}.req");
        run(
            dir,
            &[
                "ocsp",
                "-issuer",
                "ca.crt",
                "-cert",
                &crt,
                "-reqout",
                &req,
                "-no_nonce",
            ],
        );
        let good = format!("V\t{}\t\t{serial}\tunknown\t{subj}\n", days(3));
        let revoked = format!("R\t{}\t{}\t{serial}\tunknown\t{subj}\n", days(3), days(0));
        for (idx, resp) in [
            (good, format!("{name}.good")),
            (revoked, format!("{name}.revoked")),
        ] {
            std::fs::write(dir.join("index.txt"), idx).unwrap();
            run(
                dir,
                &[
                    "ocsp",
                    "-index",
                    "index.txt",
                    "-rsigner",
                    "ca.crt",
                    "-rkey",
                    "ca.key",
                    "-CA",
                    "ca.crt",
                    "-reqin",
                    &req,
                    "-respout",
                    &resp,
                    "-ndays",
                    "1",
                ],
            );
        }
    }
    let mut pem = Vec::new();
    for p in ["srv.crt", "ca.crt", "srv.key"] {
        pem.extend(std::fs::read(dir.join(p)).unwrap());
    }
    std::fs::write(dir.join("srv.pem"), pem).unwrap();
    std::fs::copy(dir.join("srv.good"), dir.join("srv.pem.ocsp")).unwrap();
}

fn config(d: &TempDir, port: u16, echo: u16) -> std::path::PathBuf {
    tls_cli_config(d, port, echo, "srv.pem", "ocsp.cfg")
}

fn cli(sock: &Path, cmd: &str) -> String {
    ask(sock, cmd).unwrap_or_else(|| "<no connection>".into())
}

/// What `s_client -status` saw: the response status and the certificate status.
fn stapled(port: u16) -> String {
    let text = s_client_stdout(port, &["-status"]);
    let pick: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("OCSP Response Status")
                || l.starts_with("Cert Status")
                || l.starts_with("OCSP response: no response sent")
        })
        .collect();
    pick.join(" | ")
}

fn b64(d: &TempDir, f: &str) -> String {
    haproxide_testkit::etcd::base64(&std::fs::read(d.path(f)).unwrap())
}

fn sequence(d: &TempDir, port: u16) -> Vec<(String, String)> {
    let (admin, oper, user) = (
        d.path("admin.sock"),
        d.path("oper.sock"),
        d.path("user.sock"),
    );
    let mut out = vec![("stapled at start".to_string(), stapled(port))];
    // `file`: the response sent (base64) after the command, named in the label.
    let mut ask = |sock: &Path, cmd: &str, file: Option<&str>| {
        let who = sock.file_stem().unwrap().to_string_lossy().into_owned();
        let (full, label) = match file {
            Some(f) => (
                format!("{cmd} {}", b64(d, f)),
                format!("{who}: {cmd} <{f}>"),
            ),
            None => (cmd.to_string(), format!("{who}: {cmd}")),
        };
        out.push((label, cli(sock, &full)));
    };
    ask(&user, "show ssl ocsp-response", None);
    ask(
        &admin,
        &format!("show ssl cert {}", d.path("srv.pem").display()),
        None,
    );
    ask(&admin, "set ssl ocsp-response", Some("srv.revoked"));
    let after_revoked = stapled(port);
    ask(&admin, "set ssl ocsp-response", None);
    ask(&admin, "set ssl ocsp-response !!!", None);
    ask(&admin, "set ssl ocsp-response aGVsbG8=", None);
    ask(&admin, "set ssl ocsp-response", Some("s2.good"));
    ask(&admin, "set ssl ocsp-response", Some("srv.good"));
    let after_good = stapled(port);
    // The levels below admin (HAProxy lets them: the known difference).
    ask(&user, "set ssl ocsp-response", Some("srv.revoked"));
    ask(&oper, "set ssl ocsp-response", Some("srv.revoked"));
    let after_lower = stapled(port);
    out.push(("stapled after revoked".into(), after_revoked));
    out.push(("stapled after good".into(), after_good));
    out.push(("stapled after user/operator set".into(), after_lower));
    out
}

#[test]
fn ocsp_stapling_matches_haproxy() {
    let d = TempDir::new("tls-ocsp");
    pki(&d);
    let echo = echo_server();
    let port = free_port();
    let cfg = config(&d, port, echo.port);
    let admin = d.path("admin.sock");
    let mine = {
        let _h = haproxide(&cfg, &[]);
        wait_for(&admin, "show cli level", |a| a.starts_with("admin"));
        sequence(&d, port)
    };
    let get = |k: &str| mine.iter().find(|(c, _)| c == k).map(|(_, a)| a.as_str());
    let good = "OCSP Response Status: successful (0x0) | Cert Status: good";
    let revoked = "OCSP Response Status: successful (0x0) | Cert Status: revoked";
    assert_eq!(get("stapled at start"), Some(good), "{mine:#?}");
    assert_eq!(get("stapled after revoked"), Some(revoked));
    assert_eq!(get("stapled after good"), Some(good));
    assert_eq!(get("stapled after user/operator set"), Some(good));
    std::fs::remove_file(&admin).ok();
    for s in ["oper.sock", "user.sock"] {
        std::fs::remove_file(d.path(s)).ok();
    }
    let Some(_h) = haproxy(&cfg) else {
        return;
    };
    wait_for(&admin, "show cli level", |a| a.starts_with("admin"));
    let theirs = sequence(&d, port);
    assert_eq!(mine.len(), theirs.len());
    let differ: Vec<_> = mine
        .iter()
        .zip(&theirs)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((c, a), (_, b))| (c.as_str(), a.as_str(), b.as_str()))
        .collect();
    let denied = "Permission denied\n\n";
    let updated = "OCSP Response updated!\n\n";
    assert_eq!(
        differ,
        [
            ("user: set ssl ocsp-response <srv.revoked>", denied, updated),
            ("oper: set ssl ocsp-response <srv.revoked>", denied, updated),
            ("stapled after user/operator set", good, revoked),
        ],
        "(command, haproxide, HAProxy)"
    );
}
