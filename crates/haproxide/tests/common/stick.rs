//! Stick-table test helpers (tests/sticktab.rs, tests/tcp_track.rs): a
//! backend, one-request clients, `show table` output with what differs by
//! nature (entry address, remaining `exp`) masked.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// A backend answering 404 on `/missing`, 200 elsewhere, then closing.
pub fn backend() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let code = if buf.starts_with(b"GET /missing") {
                    "404 Not Found"
                } else {
                    "200 OK"
                };
                let _ = s.write_all(
                    format!(
                        "HTTP/1.1 {code}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
                    )
                    .as_bytes(),
                );
            });
        }
    });
    port
}

/// One request on its own connection: (status, body).
pub fn get(port: u16, path: &str) -> (String, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return ("connect failed".into(), String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.split(' ').nth(1).unwrap_or("").to_string();
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    (status, body)
}

/// `show table` output with the entry's address and `exp` masked.
pub fn masked(s: &str) -> String {
    s.lines()
        .map(|l| {
            l.split(' ')
                .map(|w| {
                    if w.starts_with("0x") && w.ends_with(':') {
                        "PTR:".to_string()
                    } else if w.starts_with("exp=") {
                        "exp=X".to_string()
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An HTTP origin named `name`: answers every request with `X-Srv: <name>`
/// and, on a path starting with `/login`, `Set-Cookie: SERVERID=<name>`;
/// closes after each answer. Its threads end with the test process.
pub fn named_origin(name: &str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let name = name.to_string();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let name = name.clone();
            std::thread::spawn(move || {
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut b = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let cookie = if buf.starts_with(b"GET /login") {
                    format!("Set-Cookie: SERVERID={name}\r\n")
                } else {
                    String::new()
                };
                let _ = s.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nX-Srv: {name}\r\n{cookie}Content-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                );
            });
        }
    });
    port
}

/// One request (`extra` header lines, each ending in `\r\n`) on its own
/// connection: the `X-Srv` of the answer, or its status line.
pub fn served_by(port: u16, path: &str, extra: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    text.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("x-srv:")
                .then(|| l[6..].trim().to_string())
        })
        .unwrap_or_else(|| text.lines().next().unwrap_or("no answer").to_string())
}
