//! Differential test against the real HAProxy 2.6 (`/usr/sbin/haproxy`):
//! one connection each to a `listen` with `option tcplog`, a frontend with
//! the default format and a frontend with a `log-format`, logged to eight
//! UDP catchers (one per `format`); then a soft stop (SIGUSR1) for the
//! "Proxy X stopped" events. HAProxy runs with `TZ=America/St_Johns` so that
//! local time is not UTC.
//!
//! Every datagram must equal, byte for byte, our rendering of the same
//! message, where the values only HAProxy knows (header timestamp, accept
//! date, Tw/Tc/Tt, the UTC offset) are read back from its datagrams;
//! addresses, ports, pid, counters, names and all formatting are ours.
//! Skipped (with a message) when HAProxy is not installed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use haproxide_testkit::fs::TempDir;
use haproxide_testkit::proc::Proc;
use haproxide_testkit::syslog::UdpCatcher;
use haproxide_testkit::tcp::{self, free_port, OnThread};

use haproxide_forward::SessionRecord;

use super::clock::MONTHS;
use super::*;

const HAPROXY: &str = "/usr/sbin/haproxy";
const WAIT: Duration = Duration::from_secs(5);

/// Connects (retrying while HAProxy starts), sends "hello", reads the echo,
/// closes; returns the client's address.
fn one_session(addr: SocketAddr, outcome: Outcome) -> SocketAddr {
    let end = Instant::now() + WAIT;
    let mut s = loop {
        match TcpStream::connect_timeout(&addr, WAIT) {
            Ok(s) => break s,
            Err(e) if Instant::now() < end => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("haproxy not listening on {addr}: {e}"),
        }
    };
    s.set_read_timeout(Some(WAIT)).unwrap();
    if outcome != Outcome::Echo {
        let me = s.local_addr().unwrap();
        let _ = s.write_all(b"hello");
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
        assert!(sink.is_empty());
        return me;
    }
    s.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    let me = s.local_addr().unwrap();
    drop(s);
    me
}

fn recv(c: &UdpCatcher) -> String {
    c.recv(WAIT)
        .unwrap_or_else(|| panic!("no datagram from haproxy within {WAIT:?}"))
}

/// Days since the epoch of a civil date (inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn month(name: &str) -> u32 {
    MONTHS.iter().position(|m| *m == name).unwrap() as u32 + 1
}

fn num(s: &str) -> i64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

fn at(local_secs: i64, offset: i32, micros: u32) -> SystemTime {
    let unix = local_secs - i64::from(offset);
    UNIX_EPOCH + Duration::from_secs(unix as u64) + Duration::from_micros(u64::from(micros))
}

/// `2026-11-26T06:50:29.546507-03:30` → (time, offset).
fn parse_iso(s: &str) -> (SystemTime, i32) {
    let (y, mo, d) = (num(&s[0..4]), num(&s[5..7]) as u32, num(&s[8..10]) as u32);
    let (h, mi, se) = (num(&s[11..13]), num(&s[14..16]), num(&s[17..19]));
    let micros = num(&s[20..26]) as u32;
    let sign = if &s[26..27] == "-" { -1 } else { 1 };
    let off = sign * (num(&s[27..29]) * 3600 + num(&s[30..32]) * 60) as i32;
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
    (at(local, off, micros), off)
}

/// `Nov 26 06:50:29` (year given) → time.
fn parse_3164(s: &str, year: i64, offset: i32) -> SystemTime {
    let mo = month(&s[0..3]);
    let d = num(s[4..6].trim()) as u32;
    let (h, mi, se) = (num(&s[7..9]), num(&s[10..12]), num(&s[13..15]));
    at(
        days_from_civil(year, mo, d) * 86_400 + h * 3600 + mi * 60 + se,
        offset,
        0,
    )
}

/// `26/Nov/2026:06:50:29.540` → time.
fn parse_accept(s: &str, offset: i32) -> SystemTime {
    let d = num(&s[0..2]) as u32;
    let mo = month(&s[3..6]);
    let y = num(&s[7..11]);
    let (h, mi, se) = (num(&s[12..14]), num(&s[15..17]), num(&s[18..20]));
    let ms = num(&s[21..24]) as u32;
    at(
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se,
        offset,
        ms * 1000,
    )
}

/// The message part of a datagram, given its format.
fn body(format: LogFormat, dgram: &str) -> &str {
    let d = dgram.strip_suffix('\n').unwrap();
    match format {
        LogFormat::Local | LogFormat::Rfc3164 => d.split_once("]: ").unwrap().1,
        LogFormat::Rfc5424 => d.split_once(" - - ").unwrap().1,
        LogFormat::Priority | LogFormat::Short => d.split_once('>').unwrap().1,
        LogFormat::Timed => d.split_once('>').unwrap().1.split_once(' ').unwrap().1,
        LogFormat::Iso => d.split_once(' ').unwrap().1,
        LogFormat::Raw => d,
    }
}

/// The header time of a datagram (second precision for rfc3164 forms).
fn header_time(format: LogFormat, dgram: &str, year: i64, offset: i32) -> SystemTime {
    match format {
        LogFormat::Local | LogFormat::Rfc3164 => {
            parse_3164(dgram.split_once('>').unwrap().1, year, offset)
        }
        LogFormat::Rfc5424 => parse_iso(&dgram[dgram.find("1 ").unwrap() + 2..]).0,
        LogFormat::Timed => parse_iso(dgram.split_once('>').unwrap().1).0,
        LogFormat::Iso => parse_iso(dgram).0,
        LogFormat::Priority | LogFormat::Short | LogFormat::Raw => UNIX_EPOCH,
    }
}

/// A global `log` line: format (`None`: no `format` keyword), facility,
/// `len`, max and min levels.
type Target = (
    Option<LogFormat>,
    Facility,
    usize,
    Option<Level>,
    Option<Level>,
);

/// One global `log` line per format, an `rfc5424` one with `len 80` and
/// one without `format`.
const FORMATS: [Target; 10] = [
    (Some(LogFormat::Local), Facility::Local0, 1024, None, None),
    (Some(LogFormat::Rfc5424), Facility::Local1, 1024, None, None),
    (Some(LogFormat::Rfc3164), Facility::Local2, 1024, None, None),
    (Some(LogFormat::Short), Facility::Local3, 1024, None, None),
    (Some(LogFormat::Timed), Facility::Local4, 1024, None, None),
    (Some(LogFormat::Iso), Facility::Local5, 1024, None, None),
    (
        Some(LogFormat::Priority),
        Facility::Local6,
        1024,
        None,
        None,
    ),
    (Some(LogFormat::Raw), Facility::Daemon, 1024, None, None),
    (Some(LogFormat::Rfc5424), Facility::Local7, 80, None, None),
    (None, Facility::User, 1024, None, None),
];

/// The global section's setup.
struct Setup {
    targets: Vec<Target>,
    /// `log-tag`.
    tag: Option<&'static str>,
    /// `log-send-hostname`.
    hostname: Option<&'static str>,
}

/// How a test proxy logs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    TcpLog,
    Default,
    Custom,
}

/// A test proxy: name, log kind, bind address, backend, server, log-tag.
struct Proxy {
    name: &'static str,
    kind: Kind,
    bind: SocketAddr,
    backend: &'static str,
    server: &'static str,
    tag: Option<&'static str>,
    outcome: Outcome,
}

/// What happens to the test session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Echoed through the proxy: `--`, 5 bytes each way.
    Echo,
    /// `tcp-request content reject`: `PR`, no backend (the frontend's name
    /// is printed), `<NOSRV>`.
    Rejected,
    /// The server refuses (backend `BAD`, `retries 0`): `SC`.
    Refused,
}

const CUSTOM: &str = "%ci:%cp|%fi:%fp|%f|%ft|%b|%s|%ts|%B|%U|%ac/%fc/%bc/%sc/%rc|%sq/%bq|%{+Q}ci|%{+X}ci|%{+X}cp|%{+X}fp|%pid|%{+X}pid|%H|%ID|%{+Q}ID|%lc|%sslv|%[src]|%{+Q}[dst_port]|100%%|a  b %hr %hr %{+Q}o %f %{-Q}b %[be_name]";

fn write_config(
    dir: &Path,
    setup: &Setup,
    udp: &[SocketAddr],
    proxies: &[Proxy],
    server: SocketAddr,
) -> PathBuf {
    let mut cfg = String::from("global\n");
    for ((format, facility, len, max, min), addr) in setup.targets.iter().zip(udp) {
        cfg.push_str(&format!("    log {addr} len {len}"));
        if let Some(f) = format {
            cfg.push_str(&format!(" format {}", f.name()));
        }
        cfg.push_str(&format!(" {facility}"));
        for l in [max, min].into_iter().flatten() {
            cfg.push_str(&format!(" {l}"));
        }
        cfg.push('\n');
    }
    if let Some(tag) = setup.tag {
        cfg.push_str(&format!("    log-tag {tag}\n"));
    }
    if let Some(h) = setup.hostname {
        cfg.push_str(&format!("    log-send-hostname {h}\n"));
    }
    cfg.push_str(
        "defaults\n    mode tcp\n    log global\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n",
    );
    for p in proxies {
        let section = if p.backend == p.name {
            "listen"
        } else {
            "frontend"
        };
        cfg.push_str(&format!(
            "{section} {}\n    bind {}:{}\n",
            p.name,
            p.bind.ip(),
            p.bind.port()
        ));
        match p.kind {
            Kind::TcpLog => cfg.push_str("    option tcplog\n"),
            Kind::Default => {}
            Kind::Custom => cfg.push_str(&format!("    log-format \"{CUSTOM}\"\n")),
        }
        if p.outcome == Outcome::Rejected {
            cfg.push_str("    tcp-request content reject\n");
        }
        if let Some(tag) = p.tag {
            cfg.push_str(&format!("    log-tag {tag}\n"));
        }
        if section == "listen" {
            cfg.push_str(&format!("    server {} {server}\n", p.server));
        } else {
            cfg.push_str(&format!("    default_backend {}\n", p.backend));
        }
    }
    cfg.push_str(&format!(
        "backend B\n    server s2 {server}\nbackend BAD\n    retries 0\n    server s9 127.0.0.1:{}\n",
        free_port()
    ));
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    path
}

fn haproxy_missing(test: &str) -> bool {
    if Path::new(HAPROXY).exists() {
        return false;
    }
    eprintln!("skipping {test}: {HAPROXY} is absent (scripts/install-deps installs it)");
    true
}

fn proxy(
    name: &'static str,
    kind: Kind,
    backend: &'static str,
    server: &'static str,
    outcome: Outcome,
) -> Proxy {
    Proxy {
        name,
        kind,
        bind: ([127, 0, 0, 1], free_port()).into(),
        backend,
        server,
        tag: None,
        outcome,
    }
}

#[test]
fn differential_against_haproxy() {
    if haproxy_missing("differential_against_haproxy") {
        return;
    }
    let mut proxies = vec![
        proxy("L", Kind::TcpLog, "L", "s1", Outcome::Echo),
        Proxy {
            tag: Some("pxTag"),
            ..proxy("D", Kind::Default, "B", "s2", Outcome::Echo)
        },
        proxy("C", Kind::Custom, "B", "s2", Outcome::Echo),
        proxy("R", Kind::TcpLog, "B", "s2", Outcome::Rejected),
        proxy("S", Kind::TcpLog, "BAD", "s9", Outcome::Refused),
    ];
    if let Ok(l) = TcpListener::bind("[::1]:0") {
        proxies.push(Proxy {
            bind: l.local_addr().unwrap(),
            ..proxy("V6", Kind::TcpLog, "B", "s2", Outcome::Echo)
        });
    } else {
        eprintln!("differential_against_haproxy: no ::1, IPv6 proxy left out");
    }
    let be_conns = proxies.len() as u64 - 3; // D, C, V6 (if any)
    let stopped = [
        ("L", 1, 1, None),
        ("D", 1, 0, Some("pxTag")),
        ("C", 1, 0, None),
        ("R", 1, 0, None),
        ("S", 1, 0, None),
        ("B", 0, be_conns, None),
        ("BAD", 0, 1, None),
    ];
    let setup = Setup {
        targets: FORMATS.to_vec(),
        tag: None,
        hostname: None,
    };
    run(&setup, &proxies, &stopped);
}

/// `log-tag`, `log-send-hostname`, level filters (max drops, min caps).
#[test]
fn differential_hostname_tag_levels() {
    if haproxy_missing("differential_hostname_tag_levels") {
        return;
    }
    let proxies = vec![
        proxy("L", Kind::TcpLog, "L", "s1", Outcome::Echo),
        Proxy {
            tag: Some("pxTag"),
            ..proxy("D", Kind::Default, "B", "s2", Outcome::Echo)
        },
    ];
    let setup = Setup {
        targets: vec![
            (Some(LogFormat::Rfc5424), Facility::Local0, 1024, None, None),
            (Some(LogFormat::Local), Facility::Local1, 1024, None, None),
            (None, Facility::Local5, 1024, None, None),
            (Some(LogFormat::Rfc3164), Facility::Local2, 1024, None, None),
            (
                Some(LogFormat::Rfc5424),
                Facility::Local3,
                1024,
                Some(Level::Info),
                Some(Level::Notice),
            ),
            (
                Some(LogFormat::Priority),
                Facility::Local4,
                90,
                Some(Level::Warning),
                None,
            ),
        ],
        tag: Some("myTag"),
        hostname: Some("my.host"),
    };
    run(
        &setup,
        &proxies,
        &[
            ("L", 1, 1, None),
            ("D", 1, 0, Some("pxTag")),
            ("B", 0, 1, None),
        ],
    );
}

/// Starts HAProxy with `setup` and `proxies`, makes one session per proxy
/// and compares every datagram with ours; then soft-stops it and compares
/// the "Proxy X stopped" events (name, FE, BE, proxy log-tag).
fn run(setup: &Setup, proxies: &[Proxy], stopped: &[(&str, u64, u64, Option<&str>)]) {
    let dir = TempDir::new(&format!("logdiff-{}", free_port()));
    let echo = OnThread::start(tcp::echo);
    let server = echo.addr;
    let catchers: Vec<UdpCatcher> = setup.targets.iter().map(|_| UdpCatcher::bind()).collect();
    let udp: Vec<SocketAddr> = catchers.iter().map(UdpCatcher::addr).collect();
    let targets: Vec<LogTarget> = setup
        .targets
        .iter()
        .zip(&udp)
        .map(|(&(format, facility, len, max, min), addr)| {
            let send_hostname = setup.hostname.is_some();
            LogTarget::new(LogDest::Udp(*addr), facility)
                .with_format(format.unwrap_or(LogFormat::default_for(send_hostname)))
                .with_max_len(len)
                .with_levels(max, min)
        })
        .collect();
    let cfg = write_config(dir.dir(), setup, &udp, proxies, server);
    let child = Command::new(HAPROXY)
        .arg("-db")
        .arg("-f")
        .arg(&cfg)
        .current_dir(dir.dir())
        .env("TZ", "America/St_Johns")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let haproxy = Proc::new(child);
    let pid = haproxy.pid();

    // One session per proxy, logged at INFO to every target that takes it.
    let mut sessions = Vec::new();
    for p in proxies {
        let client = one_session(p.bind, p.outcome);
        let dgrams: Vec<Option<String>> = catchers
            .iter()
            .zip(&targets)
            .map(|(c, t)| t.effective_level(Level::Info).map(|_| recv(c)))
            .collect();
        sessions.push((client, dgrams));
    }

    // The UTC offset and year HAProxy used, from an rfc5424 header.
    let i5424 = targets
        .iter()
        .position(|t| t.format == LogFormat::Rfc5424 && t.max_len > 100)
        .unwrap();
    let first5424 = sessions[0].1[i5424].as_deref().unwrap();
    let iso = &first5424[first5424.find("1 ").unwrap() + 2..];
    let (_, offset) = parse_iso(iso);
    let year = num(&iso[0..4]);
    let zone = Zone::Fixed(offset);
    let ident = SyslogIdentity {
        tag: setup.tag.unwrap_or("haproxy").into(),
        pid,
        hostname: setup.hostname.map(String::from),
    };
    let hostname = system_hostname();
    let ctx = RenderContext {
        zone,
        pid,
        hostname: &hostname,
        log_counter: 0,
        request_counter: 0,
    };
    // Our datagram for `text`, dated like `theirs`.
    let mine = |target: &LogTarget, level: Level, tag: Option<&str>, text: &str, theirs: &str| {
        let t = header_time(target.format, theirs, year, offset);
        let level = target.effective_level(level)?;
        let b = render_message(
            target.format,
            target.facility,
            level,
            &ident,
            tag,
            &Tm::new(t, zone),
            text,
            target.max_len,
        );
        String::from_utf8(b).ok()
    };
    let check = |target: &LogTarget, level: Level, tag: Option<&str>, text: &str, theirs: &str| {
        assert_eq!(
            mine(target, level, tag, text, theirs).as_deref(),
            Some(theirs),
            "format {} len {}",
            target.format.name(),
            target.max_len
        );
    };

    for (p, (client, dgrams)) in proxies.iter().zip(&sessions) {
        let mut rec = SessionRecord {
            client: *client,
            frontend_addr: Some(p.bind),
            accepted_at: UNIX_EPOCH,
            frontend: p.name.into(),
            backend: Some(p.backend.into()),
            server: Some(p.server.into()),
            tw: 0,
            tc: 0,
            tt: 0,
            bytes_read: 5,
            bytes_uploaded: 5,
            termination: *b"--",
            actconn: 1,
            feconn: 1,
            beconn: 0,
            srv_conn: 0,
            retries: 0,
            redispatched: false,
            srv_queue: 0,
            backend_queue: 0,
            http: None,
            tls: None,
        };
        match p.outcome {
            Outcome::Echo => {}
            Outcome::Rejected => {
                (rec.backend, rec.server) = (None, None);
                (rec.bytes_read, rec.termination) = (0, *b"PR");
            }
            Outcome::Refused => (rec.bytes_read, rec.termination) = (0, *b"SC"),
        }
        let ours = match p.kind {
            Kind::TcpLog => {
                // The values only HAProxy knows: accept date and timers.
                let raw = body(targets[i5424].format, dgrams[i5424].as_deref().unwrap());
                let date = &raw[raw.find('[').unwrap() + 1..raw.find(']').unwrap()];
                rec.accepted_at = parse_accept(date, offset);
                let timers: Vec<i64> = raw.split(' ').nth(4).unwrap().split('/').map(num).collect();
                (rec.tw, rec.tc, rec.tt) = (timers[0], timers[1], timers[2]);
                LogFormatString::tcplog().render(&rec, &ctx)
            }
            Kind::Default => default_line(&rec),
            Kind::Custom => LogFormatString::parse(CUSTOM).unwrap().render(&rec, &ctx),
        };
        for (target, theirs) in targets.iter().zip(dgrams) {
            if let Some(theirs) = theirs {
                check(target, Level::Info, p.tag, &ours, theirs);
            }
        }
    }

    // Soft stop: "Proxy X stopped (...)" at WARNING, for every proxy.
    let status = Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for (target, catcher) in targets.iter().zip(&catchers) {
        if target.effective_level(Level::Warning).is_none() {
            continue;
        }
        let mut got: Vec<String> = Vec::new();
        for &(name, fe, be, tag) in stopped {
            let (level, text) = events::proxy_stopped(name, fe, be);
            // Collect datagrams until ours shows up (each recv is bounded).
            let same = |d: &String| mine(target, level, tag, &text, d).as_ref() == Some(d);
            while !got.iter().any(same) {
                assert!(
                    got.len() < 20,
                    "format {}: no {text:?} in {got:?}",
                    target.format.name()
                );
                got.push(recv(catcher));
            }
        }
    }
    drop(haproxy);
}
