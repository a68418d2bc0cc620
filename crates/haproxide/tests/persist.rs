//! Cookie persistence (configuration.txt §4.2 `cookie`, `ignore-persist`,
//! `force-persist`, `option persist`) against HAProxy 2.6.12: the same
//! configurations, the same requests; the server each request reached, the
//! `Cookie` header that server received, the `Set-Cookie` / `Cache-control`
//! headers the client got and the log's `%b/%s %tsc %ST` must be identical.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod common;
use common::{free_port, haproxide, haproxy, TempDir};

const WAIT: Duration = Duration::from_secs(5);

/// An HTTP server named `name`: answers each request with its name and the
/// `Cookie` it received in the body; a request's `X-Set` header comes back as
/// the response's `Set-Cookie`, its `X-CC` as `Cache-Control`.
fn backend(name: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || serve(name, s));
        }
    });
    port
}

fn header<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.split("\r\n")
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect()
}

fn serve(name: &str, mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(WAIT));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            buf.drain(..end + 4);
            let body = format!("{name} cookie={:?}", header(&head, "cookie"));
            let mut extra = String::new();
            for v in header(&head, "x-set") {
                extra.push_str(&format!("Set-Cookie: {v}\r\n"));
            }
            for v in header(&head, "x-cc") {
                extra.push_str(&format!("Cache-Control: {v}\r\n"));
            }
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{extra}\r\n{body}",
                body.len()
            );
            if s.write_all(resp.as_bytes()).is_err() {
                return;
            }
            // A client's `Connection: close` reaches the server in TCP mode:
            // close as an HTTP server would.
            if header(&head, "connection").contains(&"close") {
                return;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One request on its own connection; the answer's head and body.
fn request(port: u16, extra: &str, method: &str) -> String {
    let end = Instant::now() + WAIT;
    let mut s = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > end => panic!("proxy on {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let body = if method == "POST" {
        "Content-Length: 0\r\n"
    } else {
        ""
    };
    let req = format!("{method} / HTTP/1.1\r\nHost: t\r\n{body}{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    String::from_utf8_lossy(&got).into_owned()
}

/// What is compared of an answer: status line, the cookie headers, the body.
fn summary(resp: &str) -> String {
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((resp, ""));
    let status = head.lines().next().unwrap_or_default();
    format!(
        "{status} | set-cookie={:?} cache-control={:?} | {body}",
        header(head, "set-cookie"),
        header(head, "cache-control"),
    )
}

struct Side {
    cfg: PathBuf,
    port: u16,
    logs: UdpSocket,
}

fn side(dir: &TempDir, tag: &str, backend_cfg: &str, ports: &[u16]) -> Side {
    let logs = UdpSocket::bind("127.0.0.1:0").expect("udp");
    logs.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("udp timeout");
    let lport = logs.local_addr().expect("addr").port();
    let port = free_port();
    let cfg = dir.path(&format!("{tag}.cfg"));
    let servers: String = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("    server s{} 127.0.0.1:{p} cookie c{}\n", i + 1, i + 1))
        .collect();
    std::fs::write(
        &cfg,
        format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             frontend F\n    bind 127.0.0.1:{port}\n    log 127.0.0.1:{lport} local0\n\
             \x20   log-format \"%b/%s %tsc %ST\"\n    default_backend B\n\
             backend B\n{backend_cfg}{servers}"
        ),
    )
    .expect("write config");
    Side { cfg, port, logs }
}

fn next_log(s: &UdpSocket) -> String {
    let mut buf = [0u8; 2048];
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        if let Ok(n) = s.recv(&mut buf) {
            let line = String::from_utf8_lossy(&buf[..n]).into_owned();
            // The message after the syslog header `...]: `.
            return line
                .split_once("]: ")
                .map_or(line.clone(), |(_, m)| m.trim_end().to_string());
        }
    }
    "(no log)".into()
}

/// The requests every configuration gets: (extra headers, method).
const CASES: &[(&str, &str)] = &[
    ("", "GET"),
    ("Cookie: SRV=c2\r\n", "GET"),
    ("Cookie: a=1; SRV=c2; b=2\r\n", "GET"),
    ("Cookie: a=1;SRV=c1;b=2\r\n", "GET"),
    ("Cookie: SRV=c1\r\nCookie: x=y\r\n", "GET"),
    ("Cookie: SRV=bogus\r\n", "GET"),
    ("Cookie: SRV=c3\r\n", "GET"),
    ("Cookie: SRV=c2\r\nX-Ignore: 1\r\n", "GET"),
    ("Cookie: SRV=c2\r\nX-Set: SRV=fromserver; path=/\r\n", "GET"),
    ("X-Set: SRV=abc; path=/\r\n", "GET"),
    ("Cookie: SRV=c1~abc; o=p\r\nX-Set: SRV=abc\r\n", "GET"),
    ("Cookie: SRV=c2\r\n", "POST"),
    ("", "POST"),
    ("X-CC: public\r\n", "GET"),
    ("X-CC: no-cache\r\n", "GET"),
];

const CONFIGS: &[&str] = &[
    "    cookie SRV insert indirect nocache\n    ignore-persist if { req.hdr(x-ignore) -m found }\n",
    "    cookie SRV insert httponly secure domain .example.com domain .example.org attr SameSite=Lax\n",
    "    cookie SRV insert indirect preserve postonly\n",
    "    cookie SRV rewrite\n",
    "    cookie SRV prefix\n    option persist\n",
    "    cookie SRV\n    force-persist if { req.hdr(x-ignore) -m found }\n",
    "    cookie SRV insert indirect nocache\n    option persist\n    force-persist if { req.hdr(x-ignore) -m found }\n",
];

#[test]
fn cookie_persistence_as_haproxy() {
    let dir = TempDir::new("persist");
    // s3 is listed but `disabled`: a cookie naming it is `D` (down).
    let ports = [backend("s1"), backend("s2"), backend("s3")];
    let mut diffs = Vec::new();
    let mut checked = 0;
    for (ci, be) in CONFIGS.iter().enumerate() {
        let be = be.to_string();
        let theirs = side(&dir, &format!("theirs{ci}"), &be, &ports);
        let ours = side(&dir, &format!("ours{ci}"), &be, &ports);
        // s3 starts in maintenance on both.
        for s in [&theirs, &ours] {
            let text = std::fs::read_to_string(&s.cfg).expect("read");
            let text = text.replace("cookie c3\n", "cookie c3 disabled\n");
            std::fs::write(&s.cfg, text).expect("write");
        }
        let Some(_h) = haproxy(&theirs.cfg) else {
            eprintln!("skipped: no /usr/sbin/haproxy");
            return;
        };
        let _o = haproxide(&ours.cfg, &[]);
        for (extra, method) in CASES {
            let t = summary(&request(theirs.port, extra, method));
            let tl = next_log(&theirs.logs);
            let o = summary(&request(ours.port, extra, method));
            let ol = next_log(&ours.logs);
            checked += 1;
            if t != o || tl != ol {
                diffs.push(format!(
                    "config {ci} {}request {method} {extra:?}\n  haproxy:   {t}\n             {tl}\n  haproxide: {o}\n             {ol}",
                    be.replace('\n', " / ")
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {checked} cases differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// `balance uri|url_param|hdr` (§4.2) with `hash-type map-based` and weights:
/// the server each request reaches must be HAProxy's.
#[test]
fn hash_balance_as_haproxy() {
    let dir = TempDir::new("lbhash");
    let names = ["s1", "s2", "s3", "s4"];
    let ports: Vec<u16> = names.iter().map(|n| backend(n)).collect();
    let algos = [
        "balance uri",
        "balance uri whole",
        "balance uri len 3",
        "balance uri depth 2",
        "balance url_param user",
        "balance hdr(x-key)",
        "balance hdr(host) use_domain_only",
        "balance uri\n    hash-type map-based djb2",
        "balance uri\n    hash-type map-based crc32 avalanche",
        "balance url_param user\n    hash-type map-based wt6",
    ];
    let paths = [
        "/",
        "/a",
        "/a/b/c",
        "/a/b/d?x=1",
        "/img/logo.png",
        "/api/v1/users?id=7",
        "/x?user=bob",
        "/x?a=1&user=alice",
        "/x?user=carol&z",
        "/x?username=dave",
        "/zzz/yyy/xxx",
        "/%41%42",
        "/index.html?user=",
        "/q?user=eve&user=mallory",
    ];
    let hosts = [
        "www.example.com",
        "api.example.org",
        "a.b.c.d",
        "localhost",
        "x.y",
    ];
    let mut diffs = Vec::new();
    let mut checked = 0;
    for (ai, algo) in algos.iter().enumerate() {
        let mut cfgs = Vec::new();
        for tag in ["theirs", "ours"] {
            let port = free_port();
            let cfg = dir.path(&format!("{tag}{ai}.cfg"));
            let servers: String = ports
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    format!(
                        "    server s{} 127.0.0.1:{p} weight {}\n",
                        i + 1,
                        [1, 2, 3, 10][i]
                    )
                })
                .collect();
            std::fs::write(
                &cfg,
                format!(
                    "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
                     frontend F\n    bind 127.0.0.1:{port}\n    default_backend B\n\
                     backend B\n    {algo}\n{servers}"
                ),
            )
            .expect("write");
            cfgs.push((cfg, port));
        }
        let Some(_h) = haproxy(&cfgs[0].0) else {
            eprintln!("skipped: no /usr/sbin/haproxy");
            return;
        };
        let _o = haproxide(&cfgs[1].0, &[]);
        for (k, path) in paths.iter().enumerate() {
            let host = hosts[k % hosts.len()];
            let ask = |port: u16| {
                let end = Instant::now() + WAIT;
                let mut s = loop {
                    match TcpStream::connect(("127.0.0.1", port)) {
                        Ok(s) => break s,
                        Err(e) if Instant::now() > end => panic!("proxy on {port}: {e}"),
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                };
                s.set_read_timeout(Some(WAIT)).expect("timeout");
                let req = format!(
                    "GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Key: {path}\r\nConnection: close\r\n\r\n"
                );
                s.write_all(req.as_bytes()).expect("send");
                let mut got = Vec::new();
                let _ = s.read_to_end(&mut got);
                let text = String::from_utf8_lossy(&got).into_owned();
                text.split_once("\r\n\r\n")
                    .map(|(_, b)| b.split(' ').next().unwrap_or_default().to_string())
                    .unwrap_or(text)
            };
            let (t, o) = (ask(cfgs[0].1), ask(cfgs[1].1));
            checked += 1;
            // Without the key HAProxy falls back to its round robin: only
            // requests that carry the key are compared.
            let keyless = (algo.contains("url_param") && !path.contains("user="))
                || (algo.contains("url_param") && path.ends_with("user="));
            if t != o && !keyless {
                diffs.push(format!(
                    "{algo:?} GET {path} Host {host}: haproxy {t}, haproxide {o}"
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {checked} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// `stick-table type ip` + `stick on src` (§4.2) in HTTP and TCP mode: every
/// request of the (one) client goes to the server of its first, as HAProxy;
/// without the rule, round robin alternates (checked too, so the test can fail).
#[test]
fn stick_on_src_as_haproxy() {
    let dir = TempDir::new("stick");
    let ports = [backend("s1"), backend("s2")];
    for (mode, rules) in [
        (
            "http",
            "    stick-table type ip size 10 expire 30s\n    stick on src\n",
        ),
        (
            "tcp",
            "    stick-table type ip size 1m expire 30m\n    stick on src\n",
        ),
        ("http", ""),
    ] {
        let mut seqs = Vec::new();
        for tag in ["theirs", "ours"] {
            let port = free_port();
            let cfg = dir.path(&format!("{tag}-{mode}-{}.cfg", rules.len()));
            std::fs::write(
                &cfg,
                format!(
                    "defaults\n    mode {mode}\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
                     frontend F\n    bind 127.0.0.1:{port}\n    default_backend B\n\
                     backend B\n    balance roundrobin\n{rules}\
                     \x20   server s1 127.0.0.1:{}\n    server s2 127.0.0.1:{}\n",
                    ports[0], ports[1]
                ),
            )
            .expect("write");
            let Some(guard) = common::either(tag, &cfg) else {
                return;
            };
            let seq: Vec<String> = (0..5)
                .map(|_| {
                    let r = request(port, "", "GET");
                    r.split_once("\r\n\r\n")
                        .map(|(_, b)| b.split(' ').next().unwrap_or_default().to_string())
                        .unwrap_or(r)
                })
                .collect();
            drop(guard);
            seqs.push(seq);
        }
        assert_eq!(
            seqs[0], seqs[1],
            "mode {mode} rules {rules:?}: haproxy vs haproxide"
        );
        let distinct = seqs[1]
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert_eq!(distinct == 1, !rules.is_empty(), "{:?}", seqs[1]);
    }
}
