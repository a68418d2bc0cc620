//! HTTP/2 to servers (issue 15): `server ... proto h2` (prior knowledge) and
//! `server ... ssl alpn h2` against a real HTTP/2 origin (nginx, `listen ...
//! http2` clear and over TLS), side by side with HAProxy 2.6.12 on the same
//! configuration. nginx answers `/echo` with what it saw (method, protocol,
//! scheme, host, a test field, content length), serves a 300 KB file (the
//! response flow control), a 204, a 404, and reads a 200 KB POST body (the
//! request flow control).
//!
//! For each proxy, curl over HTTP/1.1 and over HTTP/2 (prior knowledge) to
//! both backends: status, response headers (but `date`), body, compared
//! between the two proxies; nginx must have seen `HTTP/2.0` each time.
//! Connection sharing: requests of one client connection reuse one HTTP/2
//! server connection (nginx's `$connection` number), as HAProxy's.
//!
//! Skipped with a message when nginx, curl or haproxy is missing
//! (scripts/install-deps installs them). Every client runs under `timeout`.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const NGINX: &str = "/usr/sbin/nginx";

fn missing(tool: &str) -> bool {
    let gone = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map_or(true, |o| !o.status.success());
    if gone {
        eprintln!("skipped: {tool} is missing (scripts/install-deps)");
    }
    gone
}

fn nginx(dir: &TempDir, clear: u16, tls: u16) -> Proc {
    // An HTTP/1.1 listener of its own: `/post` is proxied there, so nginx
    // reads the whole request body before it answers.
    let inner = free_port();
    let d = dir.path("nginx");
    std::fs::create_dir_all(d.join("www")).unwrap();
    let big: String = (0..300 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    std::fs::write(d.join("www/big.txt"), big).unwrap();
    openssl_req_ec(
        &d,
        &[
            "-x509",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-subj",
            "/CN=localhost",
            "-days",
            "2",
        ],
    );
    let p = d.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n access_log off;\n client_body_temp_path {p}/body; proxy_temp_path {p}/proxy;\n\
         fastcgi_temp_path {p}/fcgi; uwsgi_temp_path {p}/uwsgi; scgi_temp_path {p}/scgi;\n\
         server {{\n  listen 127.0.0.1:{clear} http2;\n  listen 127.0.0.1:{tls} ssl http2;\n\
         ssl_certificate {p}/c.pem; ssl_certificate_key {p}/k.pem;\n  root {p}/www;\n\
         location = /echo {{ default_type text/plain; add_header x-conn $connection; \
         return 200 \"$request_method $server_protocol $scheme host=$http_host \
         x=$http_x_test cl=$content_length\\n\"; }}\n\
         location = /nobody {{ return 204; }}\n\
         location = /post {{ client_max_body_size 1m; \
         proxy_pass http://127.0.0.1:{inner}/inner; }}\n\
         }}\n server {{\n  listen 127.0.0.1:{inner};\n\
         location = /inner {{ return 200 \"$request_method cl=$content_length\\n\"; }}\n }}\n}}\n"
    );
    let cfg = d.join("nginx.conf");
    std::fs::write(&cfg, conf).unwrap();
    let child = Command::new(NGINX)
        .arg("-c")
        .arg(&cfg)
        .arg("-p")
        .arg(&d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nginx");
    let proc = Proc::new(child);
    for port in [clear, tls] {
        assert!(
            wait_until(Duration::from_secs(10), || TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "nginx did not listen on {port}"
        );
    }
    proc
}

/// What a client got: status line or `:status`, headers but `date` and
/// nginx's connection number, body; the proxy's port written `PORT`.
fn curl(args: &[&str], url: &str, port: u16) -> String {
    let out = Command::new("timeout")
        .args(["20", "curl", "-s", "-i", "--max-time", "15"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout)
        .replace("\r\n", "\n")
        .replace(&format!(":{port}"), ":PORT");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines: Vec<&str> = head
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("date:") && !l.starts_with("x-conn:")
        })
        .collect();
    if lines.len() > 1 {
        lines[1..].sort_unstable();
    }
    format!(
        "{}\n\n{} bytes: {}",
        lines.join("\n"),
        body.len(),
        &body[..body.len().min(120)]
    )
}

/// nginx's connection numbers seen by `n` requests on one client connection.
fn conns(port: u16, n: usize) -> Vec<String> {
    let url = format!("http://127.0.0.1:{port}/echo");
    let out = Command::new("timeout")
        .args([
            "20",
            "curl",
            "-s",
            "--max-time",
            "15",
            "-o",
            "/dev/null",
            "-D",
            "-",
        ])
        .args(std::iter::repeat_n(&url, n))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("x-conn: ").map(|c| c.trim().to_owned()))
        .collect()
}

fn config(
    dir: &TempDir,
    name: &str,
    ports: (u16, u16),
    clear: u16,
    tls: u16,
) -> std::path::PathBuf {
    let cfg = dir.path(name);
    std::fs::write(
        &cfg,
        format!(
            "defaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n\
             frontend f\n  bind 127.0.0.1:{} \n  bind 127.0.0.1:{} proto h2\n\
             use_backend tls if {{ path_beg /tls }}\n  default_backend clear\n\
             backend clear\n  server n 127.0.0.1:{clear} proto h2\n\
             backend tls\n  http-request set-path %[path,regsub(^/tls,)]\n\
             server t 127.0.0.1:{tls} ssl verify none alpn h2\n",
            ports.0, ports.1
        ),
    )
    .unwrap();
    cfg
}

fn wait_port(port: u16) {
    assert!(
        wait_until(Duration::from_secs(10), || TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "no listener on {port}"
    );
}

#[test]
fn h2_servers_as_haproxy() {
    if missing("curl") || missing("openssl") || !Path::new(NGINX).exists() {
        eprintln!("skipped: needs nginx, curl, openssl (scripts/install-deps)");
        return;
    }
    if !Path::new("/usr/sbin/haproxy").exists() {
        eprintln!("skipped: HAProxy 2.6.12 is the oracle and is missing");
        return;
    }
    let dir = TempDir::new("h2-upstream");
    let (clear, tls) = (free_port(), free_port());
    let _origin = nginx(&dir, clear, tls);
    let post = dir.path("post.bin");
    std::fs::write(&post, vec![b'q'; 200 * 1024]).unwrap();
    let post_arg = format!("@{}", post.display());
    let mut results: Vec<Vec<(String, String)>> = Vec::new();
    let mut reuse: Vec<Vec<bool>> = Vec::new();
    for which in ["haproxy", "haproxide"] {
        let ports = (free_port(), free_port());
        let cfg = config(&dir, &format!("{which}.cfg"), ports, clear, tls);
        let _p = if which == "haproxy" {
            haproxy(&cfg).expect("haproxy")
        } else {
            haproxide(&cfg, &[])
        };
        wait_port(ports.0);
        wait_port(ports.1);
        // First, on fresh proxies: three requests on one client connection share one server
        // connection; three clients of one request each get their own (the
        // first request of a session under `http-reuse safe`).
        let c = conns(ports.0, 3);
        assert_eq!(c.len(), 3, "{which}: three answers ({c:?})");
        let mut same = vec![c.iter().all(|x| x == &c[0])];
        let mut singles: Vec<String> = (0..3).flat_map(|_| conns(ports.0, 1)).collect();
        singles.sort();
        singles.dedup();
        same.push(singles.len() == 3);
        let mut got = Vec::new();
        for (bind, h2) in [(ports.0, false), (ports.1, true)] {
            for prefix in ["", "/tls"] {
                let mut base: Vec<&str> = Vec::new();
                if h2 {
                    base.push("--http2-prior-knowledge");
                }
                let url = |p: &str| format!("http://127.0.0.1:{bind}{prefix}{p}");
                let cases: Vec<(&str, Vec<&str>, String)> = vec![
                    ("echo", vec!["-H", "x-test: v1"], url("/echo")),
                    ("big", vec![], url("/big.txt")),
                    ("head", vec!["-I"], url("/big.txt")),
                    ("nobody", vec![], url("/nobody")),
                    ("404", vec![], url("/missing")),
                    ("post", vec!["--data-binary", &post_arg], url("/post")),
                ];
                for (name, extra, u) in cases {
                    let mut args = base.clone();
                    args.extend(extra);
                    let label = format!(
                        "{name} h2-client={h2} backend={}",
                        if prefix.is_empty() {
                            "proto-h2"
                        } else {
                            "ssl-alpn-h2"
                        }
                    );
                    got.push((label, curl(&args, &u, bind)));
                }
            }
        }
        results.push(got);
        reuse.push(same);
    }
    let (hap, ours) = (&results[0], &results[1]);
    for ((label, a), (_, b)) in hap.iter().zip(ours.iter()) {
        assert_eq!(b, a, "{label}: haproxide (left) vs HAProxy 2.6.12 (right)");
    }
    for (label, got) in ours {
        if label.starts_with("echo") {
            assert!(
                got.contains("GET HTTP/2.0"),
                "{label}: nginx saw HTTP/2: {got}"
            );
        }
    }
    assert_eq!(reuse[1], reuse[0], "server connection reuse as HAProxy's");
}
