//! `option httplog`, `option httplog clf`, `option httpslog` and HTTP
//! `log-format` variables against HAProxy 2.6.12 (`/usr/sbin/haproxy`, `mode
//! http`, `format raw` to one UDP catcher): each request's datagram must equal
//! our rendering of a record holding what the engine measures (timers, byte
//! counts, connection counts, termination state, read back from HAProxy's
//! line) and what the transaction is (addresses, names, request line, status,
//! captures). Skipped (with a message) when HAProxy is not installed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use haproxide_expr::LfMode;
use haproxide_forward::{CaptureSlot, CaptureSpec, HttpTxnLog, SessionRecord};
use haproxide_testkit::fs::TempDir;
use haproxide_testkit::proc::Proc;
use haproxide_testkit::syslog::UdpCatcher;
use haproxide_testkit::tcp::free_port;

use super::clock::{Zone, MONTHS};
use super::*;

const HAPROXY: &str = "/usr/sbin/haproxy";
const WAIT: Duration = Duration::from_secs(5);

/// Answers `n` connections with a fixed response, on a thread that gives up after
/// [`WAIT`] without a connection.
fn http_server(n: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let mut served = 0;
        let mut end = Instant::now() + WAIT;
        while served < n && Instant::now() < end {
            match l.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(WAIT));
                    let mut req = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => req.extend_from_slice(&buf[..k]),
                        }
                    }
                    let _ = s.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/pl|ain\r\nSet-Cookie: SRV=s1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    );
                    served += 1;
                    end = Instant::now() + WAIT;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (addr, h)
}

/// Sends `req` to `addr` (retrying the connect while HAProxy starts), reads the
/// answer to the end; returns the client's address.
fn exchange(addr: SocketAddr, req: &[u8]) -> SocketAddr {
    let end = Instant::now() + WAIT;
    let mut s = loop {
        match TcpStream::connect_timeout(&addr, WAIT) {
            Ok(s) => break s,
            Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("haproxy not listening on {addr}: {e}"),
        }
    };
    s.set_read_timeout(Some(WAIT)).unwrap();
    let me = s.local_addr().unwrap();
    s.write_all(req).unwrap();
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    me
}

fn num(s: &str) -> i64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// `26/Nov/2026:06:50:29.540` (UTC: the test runs HAProxy with `TZ=UTC`).
fn parse_date(s: &str) -> SystemTime {
    let d = num(&s[0..2]);
    let mo = MONTHS.iter().position(|m| *m == &s[3..6]).unwrap() as i64 + 1;
    let y = num(&s[7..11]);
    let (h, mi, se) = (num(&s[12..14]), num(&s[15..17]), num(&s[18..20]));
    let ms = if s.get(20..21) == Some(".") {
        num(&s[21..24])
    } else {
        0
    };
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    UNIX_EPOCH
        + Duration::from_secs((days * 86_400 + h * 3600 + mi * 60 + se) as u64)
        + Duration::from_millis(ms as u64)
}

fn record(client: SocketAddr, bind: SocketAddr, fe: &str) -> SessionRecord<'_> {
    SessionRecord {
        client,
        frontend_addr: Some(bind),
        accepted_at: UNIX_EPOCH,
        frontend: fe.into(),
        backend: Some("B".into()),
        server: Some("s1".into()),
        tw: 0,
        tc: 0,
        tt: 0,
        bytes_read: 0,
        bytes_uploaded: 0,
        termination: *b"--",
        actconn: 0,
        feconn: 0,
        beconn: 0,
        srv_conn: 0,
        retries: 0,
        redispatched: false,
        srv_queue: 0,
        backend_queue: 0,
        http: Some(Box::new(HttpTxnLog::new())),
        tls: None,
    }
}

/// Fills the engine's measurements from an httplog line's fields: `[%tr]`,
/// `TR/Tw/Tc/Tr/Ta`, `%B`, `%tsc`, `ac/fc/bc/sc/rc`, `sq/bq`.
fn measured(rec: &mut SessionRecord, line: &str) {
    let date = &line[line.find('[').unwrap() + 1..line.find(']').unwrap()];
    rec.accepted_at = parse_date(date);
    let f: Vec<&str> = line[line.find(']').unwrap() + 2..].split(' ').collect();
    let t: Vec<i64> = f[2].split('/').map(num).collect();
    let h = rec.http.as_mut().unwrap();
    (h.t_req, rec.tw, rec.tc, h.t_res, h.ta) = (t[0], t[1], t[2], t[3], t[4]);
    rec.tt = h.ta;
    rec.bytes_read = num(f[4]) as u64;
    let ts = f[7].as_bytes();
    rec.termination = [ts[0], ts[1]];
    h.cookie_state = [ts[2], ts[3]];
    let c: Vec<i64> = f[8].split('/').map(num).collect();
    (rec.actconn, rec.feconn, rec.beconn, rec.srv_conn) =
        (c[0] as u64, c[1] as u64, c[2] as u64, c[3] as u64);
    rec.retries = c[4] as u32;
}

const LF: &str = "%HM|%HU|%HP|%HPO|%HQ|%HV|%{+Q}r|%ST|%tsc|%CC|%CS|%hrl|%{+Q}hsl|%ID|%[fe_name]|%{+Q}[be_name]|%trg|%Tw|%Tc";

#[test]
fn httplog_lines_equal_haproxys() {
    if !std::path::Path::new(HAPROXY).exists() {
        eprintln!("skipping httplog_lines_equal_haproxys: {HAPROXY} is absent");
        return;
    }
    let dir = TempDir::new(&format!("httplog-{}", free_port()));
    let catcher = UdpCatcher::bind();
    let (server, srv_thread) = http_server(4);
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let bind = |i: usize| SocketAddr::from(([127, 0, 0, 1], ports[i]));
    let cfg = format!(
        "global\n    log {log} format raw local0\n\
         defaults\n    mode http\n    log global\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend H\n    bind {b0}\n    option httplog\n    option accept-invalid-http-request\n    capture request header X-Dup len 4\n    capture request header X-Miss len 5\n    capture request header User-Agent len 64\n    capture response header Content-Type len 20\n    default_backend B\n\
         frontend HC\n    bind {b1}\n    option httplog clf\n    capture request header X-Dup len 10\n    default_backend B\n\
         frontend HS\n    bind {b2}\n    option httpslog\n    default_backend B\n\
         frontend LF\n    bind {b3}\n    log-format \"{LF}\"\n    capture request header X-Dup len 10\n    capture request header X-Miss len 10\n    capture response header Content-Type len 30\n    default_backend B\n\
         backend B\n    server s1 {server}\n",
        log = catcher.addr(),
        b0 = bind(0),
        b1 = bind(1),
        b2 = bind(2),
        b3 = bind(3),
    );
    let path = dir.path("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let child = Command::new(HAPROXY)
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _haproxy = Proc::new(child);
    let ctx = RenderContext {
        zone: Zone::Utc,
        ..RenderContext::default()
    };
    let recv = || catcher.recv(WAIT).expect("a datagram from haproxy");
    let strip = |d: String| d.strip_suffix('\n').unwrap().to_string();
    let spec_h = CaptureSpec {
        request: ["x-dup:4", "x-miss:5", "user-agent:64"]
            .iter()
            .map(|s| {
                let (h, l) = s.split_once(':').unwrap();
                CaptureSlot {
                    header: Some(h.into()),
                    len: l.parse().unwrap(),
                }
            })
            .collect(),
        response: vec![CaptureSlot {
            header: Some("content-type".into()),
            len: 20,
        }],
        request_line: false,
    };

    // 1. httplog, captures (duplicate: the last wins, cut to len; absent; encoded
    // bytes), a request line with bytes HAProxy encodes.
    let req = b"GET /a/b?x=%22y\"#z\xe9 HTTP/1.1\r\nX-Dup: first\r\nX-Dup: second\r\nUser-Agent: a|b{c}\"d#e\r\nConnection: close\r\n\r\n";
    let client = exchange(bind(0), req);
    let theirs = strip(recv());
    let mut rec = record(client, bind(0), "H");
    measured(&mut rec, &theirs);
    {
        let h = rec.http.as_mut().unwrap();
        h.status = Some(200);
        h.set_request_line(b"GET", b"/a/b?x=%22y\"#z\xe9", b"HTTP/1.1");
        (h.req_captures, h.res_captures) = spec_h.slots();
        spec_h.capture_request(&mut h.req_captures, b"X-Dup", b"first");
        spec_h.capture_request(&mut h.req_captures, b"x-dup", b"second");
        spec_h.capture_request(&mut h.req_captures, b"User-Agent", b"a|b{c}\"d#e");
        spec_h.capture_response(&mut h.res_captures, b"Content-Type", b"text/pl|ain");
    }
    assert_eq!(LogFormatString::httplog().render(&rec, &ctx), theirs);

    // 2. A bad request: 400 from HAProxy, `<BADREQ>`, no backend nor server,
    // and no capture slots at all (HAProxy logs it without a stream).
    let client = exchange(bind(0), b"GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    let theirs = strip(recv());
    let mut rec = record(client, bind(0), "H");
    (rec.backend, rec.server) = (None, None);
    measured(&mut rec, &theirs);
    rec.http.as_mut().unwrap().status = Some(400);
    assert_eq!(LogFormatString::httplog().render(&rec, &ctx), theirs);

    // 3. option httplog clf.
    let client = exchange(
        bind(1),
        b"POST /c HTTP/1.0\r\nX-Dup: v\r\nContent-Length: 3\r\n\r\nabc",
    );
    let theirs = strip(recv());
    let mut rec = record(client, bind(1), "HC");
    {
        // clf: `"ci" - - [%trg] "r" ST B "" "" cp ms ft b s TR Tw Tc Tr Ta tsc ac fc bc sc rc sq bq CC CS hrl hsl`.
        let q: Vec<&str> = theirs.split(' ').collect();
        let date = &theirs[theirs.find('[').unwrap() + 1..theirs.find(']').unwrap()];
        let date = date.split(' ').next().unwrap();
        rec.accepted_at = parse_date(date);
        let n = |i: usize| num(q[i].trim_matches('"'));
        rec.bytes_read = n(9) as u64;
        let ms = n(13) as u64;
        rec.accepted_at += Duration::from_millis(ms);
        let h = rec.http.as_mut().unwrap();
        (h.t_req, rec.tw, rec.tc, h.t_res, h.ta) = (n(17), n(18), n(19), n(20), n(21));
        rec.tt = h.ta;
        let ts = q[22].trim_matches('"').as_bytes();
        rec.termination = [ts[0], ts[1]];
        h.cookie_state = [ts[2], ts[3]];
        (rec.actconn, rec.feconn, rec.beconn, rec.srv_conn) =
            (n(23) as u64, n(24) as u64, n(25) as u64, n(26) as u64);
        h.status = Some(200);
        h.set_request_line(b"POST", b"/c", b"HTTP/1.0");
        h.req_captures = vec![Some(b"v"[..].into())];
    }
    assert_eq!(LogFormatString::httplog_clf().render(&rec, &ctx), theirs);

    // 4. option httpslog on a plain bind: the TLS fields as HAProxy prints them.
    let client = exchange(bind(2), b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    let theirs = strip(recv());
    let mut rec = record(client, bind(2), "HS");
    measured(&mut rec, &theirs);
    {
        let h = rec.http.as_mut().unwrap();
        h.status = Some(200);
        h.set_request_line(b"GET", b"/", b"HTTP/1.1");
    }
    assert_eq!(LogFormatString::httpslog().render(&rec, &ctx), theirs);

    // 5. log-format with the request-line parts, lists, cookies, samples.
    let client = exchange(
        bind(3),
        b"GET http://h.example/p/q?a=1&b HTTP/1.1\r\nHost: h.example\r\nX-Dup: 1\r\nConnection: close\r\n\r\n",
    );
    let theirs = strip(recv());
    let mut rec = record(client, bind(3), "LF");
    {
        let f: Vec<&str> = theirs.split('|').collect();
        // %trg is `[d/M/y:h:m:s +0000]` without ms; the rest are ours.
        rec.accepted_at = parse_date(f.len().checked_sub(3).map(|i| f[i]).unwrap());
        let tsc = f[8].as_bytes();
        rec.termination = [tsc[0], tsc[1]];
        (rec.tw, rec.tc) = (num(f[f.len() - 2]), num(f[f.len() - 1]));
        let h = rec.http.as_mut().unwrap();
        (h.th, h.ti) = (0, 0);
        h.cookie_state = [tsc[2], tsc[3]];
        h.status = Some(200);
        h.set_request_line(b"GET", b"http://h.example/p/q?a=1&b", b"HTTP/1.1");
        h.req_captures = vec![Some(b"1"[..].into()), None];
        h.res_captures = vec![Some(b"text/pl|ain"[..].into())];
    }
    let lf = LogFormatString::parse_mode(LF, LfMode::Http).unwrap();
    assert_eq!(lf.render(&rec, &ctx), theirs);
    let _ = srv_thread.join();
}
