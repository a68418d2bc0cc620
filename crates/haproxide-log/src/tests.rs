//! Unit tests: header bytes per format, session lines from a fixed record,
//! log-format rendering and errors, level filters, real datagrams.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use haproxide_forward::{SessionLogger, SessionRecord};
use haproxide_testkit::fs::TempDir;
use haproxide_testkit::syslog::UnixCatcher;

use super::*;

/// 2026-11-26T10:00:00.123456Z
fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(1_795_687_200_123_456)
}

fn ident() -> SyslogIdentity {
    SyslogIdentity {
        tag: "haproxy".into(),
        pid: 1234,
        hostname: None,
    }
}

pub(crate) fn record() -> SessionRecord<'static> {
    SessionRecord {
        client: "10.0.1.2:33313".parse().unwrap(),
        frontend_addr: Some("10.0.3.31:8012".parse().unwrap()),
        accepted_at: UNIX_EPOCH + Duration::from_millis(1_233_922_371_443),
        frontend: "fnt".into(),
        backend: Some("bck".into()),
        server: Some("srv1".into()),
        tw: 0,
        tc: 0,
        tt: 5007,
        bytes_read: 212,
        bytes_uploaded: 17,
        termination: *b"--",
        actconn: 0,
        feconn: 0,
        beconn: 0,
        srv_conn: 0,
        retries: 3,
        redispatched: false,
        srv_queue: 0,
        backend_queue: 0,
        http: None,
        tls: None,
    }
}

fn msg(format: LogFormat, facility: Facility, level: Level, id: &SyslogIdentity) -> String {
    let tm = Tm::new(t0(), Zone::Utc);
    let b = render_message(format, facility, level, id, None, &tm, "message", 1024);
    String::from_utf8(b).unwrap()
}

#[test]
fn header_formats_byte_exact() {
    let id = ident();
    let (f, l) = (Facility::Local0, Level::Info);
    assert_eq!(
        msg(LogFormat::Local, f, l, &id),
        "<134>Nov 26 10:00:00 haproxy[1234]: message\n"
    );
    assert_eq!(
        msg(LogFormat::Rfc3164, f, l, &id),
        "<134>Nov 26 10:00:00 localhost haproxy[1234]: message\n"
    );
    assert_eq!(
        msg(LogFormat::Rfc5424, f, l, &id),
        "<134>1 2026-11-26T10:00:00.123456+00:00 - haproxy 1234 - - message\n"
    );
    assert_eq!(msg(LogFormat::Priority, f, l, &id), "<134>message\n");
    assert_eq!(msg(LogFormat::Short, f, l, &id), "<6>message\n");
    assert_eq!(
        msg(LogFormat::Timed, f, l, &id),
        "<6>2026-11-26T10:00:00.123456+00:00 message\n"
    );
    assert_eq!(
        msg(LogFormat::Iso, f, l, &id),
        "2026-11-26T10:00:00.123456+00:00 message\n"
    );
    assert_eq!(msg(LogFormat::Raw, f, l, &id), "message\n");
}

#[test]
fn header_with_hostname_and_tag() {
    let id = ident()
        .with_tag("myTag")
        .with_send_hostname(Some("vm".into()));
    let (f, l) = (Facility::Local1, Level::Warning);
    // `format local` never prints the hostname (HAProxy 2.6.12).
    assert_eq!(
        msg(LogFormat::Local, f, l, &id),
        "<140>Nov 26 10:00:00 myTag[1234]: message\n"
    );
    assert_eq!(
        msg(LogFormat::Rfc3164, f, l, &id),
        "<140>Nov 26 10:00:00 vm myTag[1234]: message\n"
    );
    assert_eq!(
        msg(LogFormat::Rfc5424, f, l, &id),
        "<140>1 2026-11-26T10:00:00.123456+00:00 vm myTag 1234 - - message\n"
    );
    // A proxy's log-tag replaces the global one.
    let tm = Tm::new(t0(), Zone::Fixed(-12_600));
    let b = render_message(LogFormat::Rfc5424, f, l, &id, Some("pxTag"), &tm, "m", 1024);
    assert_eq!(
        b,
        b"<140>1 2026-11-26T06:30:00.123456-03:30 vm pxTag 1234 - - m\n"
    );
}

#[test]
fn priority_numbers() {
    let id = ident();
    assert!(msg(LogFormat::Priority, Facility::Kern, Level::Emerg, &id).starts_with("<0>"));
    assert!(msg(LogFormat::Priority, Facility::Local7, Level::Debug, &id).starts_with("<191>"));
    assert!(msg(LogFormat::Priority, Facility::Local2, Level::Warning, &id).starts_with("<148>"));
    assert!(msg(LogFormat::Short, Facility::Local2, Level::Warning, &id).starts_with("<4>"));
}

#[test]
fn len_truncates_before_newline() {
    // HAProxy 2.6.12 with `len 80` sent exactly 81 bytes: 80 + "\n".
    let tm = Tm::new(t0(), Zone::Utc);
    let long = "x".repeat(200);
    for format in [LogFormat::Raw, LogFormat::Rfc5424, LogFormat::Local] {
        let b = render_message(
            format,
            Facility::Local0,
            Level::Info,
            &ident(),
            None,
            &tm,
            &long,
            80,
        );
        assert_eq!(b.len(), 81);
        assert_eq!(b[80], b'\n');
    }
    let b = render_message(
        LogFormat::Raw,
        Facility::Local0,
        Level::Info,
        &ident(),
        None,
        &tm,
        &"y".repeat(80),
        80,
    );
    assert_eq!(b.len(), 81);
}

#[test]
fn level_filters() {
    // `local0 info notice`: debug dropped, warning capped to notice (as
    // HAProxy 2.6.12 did on the wire: <133> for a warning).
    let t = LogTarget::new(LogDest::Stdout, Facility::Local0)
        .with_levels(Some(Level::Info), Some(Level::Notice));
    assert_eq!(t.effective_level(Level::Debug), None);
    assert_eq!(t.effective_level(Level::Info), Some(Level::Info));
    assert_eq!(t.effective_level(Level::Notice), Some(Level::Notice));
    assert_eq!(t.effective_level(Level::Warning), Some(Level::Notice));
    assert_eq!(t.effective_level(Level::Emerg), Some(Level::Notice));
    let t = LogTarget::new(LogDest::Stdout, Facility::Local0);
    assert_eq!(t.effective_level(Level::Debug), Some(Level::Debug));
}

#[test]
fn tcplog_doc_example() {
    // configuration.txt §8.2.2 example.
    assert_eq!(
        tcplog_line(&record(), false),
        "10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0"
    );
}

#[test]
fn tcplog_placeholders() {
    let mut r = record();
    r.backend = None;
    r.server = None;
    r.tw = -1;
    r.tc = -1;
    r.tt = 0;
    r.bytes_read = 0;
    r.termination = *b"PR";
    r.retries = 0;
    r.actconn = 1;
    r.feconn = 1;
    assert_eq!(
        tcplog_line(&r, false),
        "10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt fnt/<NOSRV> -1/-1/0 0 PR 1/1/0/0/0 0/0"
    );
    let mut r = record();
    r.client = "[::1]:41270".parse().unwrap();
    r.retries = 1;
    r.redispatched = true;
    r.termination = *b"sD";
    r.srv_queue = 2;
    r.backend_queue = 7;
    assert_eq!(
        tcplog_line(&r, false),
        "::1:41270 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 sD 0/0/0/0/+1 2/7"
    );
}

#[test]
fn tcplog_local_date_uses_local_zone() {
    let r = record();
    let off = clock::local_offset(1_233_922_371);
    let expect = Tm::new(r.accepted_at, Zone::Fixed(off)).accept_date();
    assert!(tcplog_line(&r, true).contains(&format!("[{expect}]")));
}

#[test]
fn default_format_line() {
    let mut r = record();
    assert_eq!(
        default_line(&r),
        "Connect from 10.0.1.2:33313 to 10.0.3.31:8012 (fnt/TCP)"
    );
    r.client = "[::1]:41662".parse().unwrap();
    r.frontend_addr = Some("[::1]:19007".parse().unwrap());
    assert_eq!(
        default_line(&r),
        "Connect from ::1:41662 to ::1:19007 (fnt/TCP)"
    );
}

fn render(fmt: &str, r: &SessionRecord) -> String {
    let ctx = RenderContext {
        zone: Zone::Utc,
        pid: 3228,
        hostname: "vm",
        log_counter: 0,
        request_counter: 1,
    };
    LogFormatString::parse(fmt).unwrap().render(r, &ctx)
}

#[test]
fn log_format_equals_tcplog() {
    let r = record();
    assert_eq!(render(TCPLOG_FORMAT, &r), tcplog_line(&r, false));
}

#[test]
fn log_format_variables() {
    let mut r = record();
    r.client = "[::1]:35772".parse().unwrap();
    r.frontend_addr = Some("[::1]:19006".parse().unwrap());
    r.accepted_at = UNIX_EPOCH + Duration::from_millis(1_795_688_501_725);
    r.frontend = "C".into();
    r.backend = Some("OK".into());
    r.server = Some("s1".into());
    r.tt = 4;
    r.tw = 1;
    r.tc = 0;
    r.bytes_read = 5;
    r.retries = 0;
    // Same string as sent to HAProxy 2.6.12; its line (after the header) was
    // ::1|::1|0000…01|0000…01|"::1"|127.0.0.1|vm|"vm"|-|"C"|4|6B080835|--|
    // 0000|"OK"|"C"|26/Nov/2026:10:21:41 +0000|4A39|0C9C|3228|1|1 — here
    // %si is "-" (no server address in the record).
    let fmt = "%ci|%fi|%{+X}ci|%{+X}fi|%{+Q}ci|%si|%H|%{+Q}H|%{+E}ID|%{+Q,+E}f|%{+X}Tt|%{+X}Ts|%{+Q}ts|%{+X}lc|%{+Q}b|%{+Q}ft|%{+Q}T|%{+X}sp|%{+X}pid|%{+Q}pid|%{+X}ac|%{+Q}ac";
    assert_eq!(
        render(fmt, &r),
        "::1|::1|00000000000000000000000000000001|00000000000000000000000000000001|\"::1\"|-|vm|\"vm\"|-|\"C\"|4|6B080835|--|0000|\"OK\"|\"C\"|26/Nov/2026:10:21:41 +0000|-|0C9C|3228|0|0"
    );
    // %o, -Q, samples, %%, empty captures, %ST, absent strings.
    let fmt = "%ci %{+Q}o %ci %s %{-Q}s %{+Q}ID %{+Q}ts %{+X}rt %{+Q}rc %{+Q}fp %{+Q}Tt|%[src]|%[dst_port]|%{+X}[src]|100%%|%hr|%sslc|%ST";
    assert_eq!(
        render(fmt, &r),
        "::1 \"::1\" \"s1\" s1 \"\" -- 0001 0 19006 4|\"::1\"|\"19006\"|\"::1\"|100%||\"\"|0"
    );
    // Space runs merge; a space after a variable that printed nothing is
    // dropped (HAProxy 2.6.12 output for this very string, with an IPv4
    // client: `a b127.0.0.1 127.0.0.1| | x "127.0.0.1" "127.0.0.1"`).
    assert_eq!(
        render("a  b%ci   %ci|  |%{+Q}o  x %ci %hr %hr %ci", &r),
        "a b::1 ::1| | x \"::1\" \"::1\""
    );
    assert_eq!(render("%ts %hr", &r), "-- ");
    // Timers and dates.
    assert_eq!(
        render("%t|%T|%Tl|%ms|%Ts|%Th|%Tu|%Td|%U|%B|%Tw|%Tc", &r),
        "26/Nov/2026:10:21:41.725|26/Nov/2026:10:21:41 +0000|26/Nov/2026:10:21:41 +0000|725|1795688501|0|4|3|17|5|1|0"
    );
    r.tc = -1;
    assert_eq!(render("%Td", &r), "-1");
    // Escaping.
    r.frontend = "a\"b\\c]d".into();
    assert_eq!(
        render("%{+E}f %{+Q,+E}f %f", &r),
        "a\\\"b\\\\c\\]d \"a\\\"b\\\\c\\]d\" a\"b\\c]d"
    );
    // `%ft` over TLS: `~` after the name, inside the quotes, never escaped.
    r.tls = Some(Default::default());
    assert_eq!(
        render("%ft %{+Q}ft %{+E}ft %{+Q,+E}ft %f", &r),
        "a\"b\\c]d~ \"a\"b\\c]d~\" a\\\"b\\\\c\\]d~ \"a\\\"b\\\\c\\]d~\" a\"b\\c]d"
    );
    r.tls = None;
}

#[test]
fn ipv4_mapped_addresses() {
    // `bind :::PORT v4v6` and an IPv4 client: HAProxy 2.6.12 printed
    // `::ffff:127.0.0.1:40904 ::ffff:127.0.0.1:19000 0000…FFFF7F000001 …`
    // and `Connect from ::ffff:127.0.0.1:53952 to ::ffff:127.0.0.1:19002 (D/TCP)`.
    let mut r = record();
    r.client = "[::ffff:127.0.0.1]:40904".parse().unwrap();
    r.frontend_addr = Some("[::ffff:127.0.0.1]:19000".parse().unwrap());
    assert_eq!(
        render("%ci:%cp %fi:%fp %{+X}ci %{+X}fi", &r),
        "::ffff:127.0.0.1:40904 ::ffff:127.0.0.1:19000 00000000000000000000FFFF7F000001 00000000000000000000FFFF7F000001"
    );
    r.frontend = "D".into();
    assert_eq!(
        default_line(&r),
        "Connect from ::ffff:127.0.0.1:40904 to ::ffff:127.0.0.1:19000 (D/TCP)"
    );
}

#[test]
fn log_format_errors() {
    use LogFormatError as E;
    let err = |s| LogFormatString::parse(s).unwrap_err();
    assert_eq!(err("%zz"), E::UnknownVariable("zz".into()));
    assert_eq!(err("%Tw%"), E::Truncated("%".into()));
    assert!(matches!(err("a%{+Q"), E::Truncated(_)));
    assert_eq!(err("%{+Q}"), E::ModifierWithoutVariable("+Q".into()));
    assert_eq!(err("%Ta"), E::HttpOnly("Ta".into()));
    assert_eq!(err("%tsc"), E::HttpOnly("tsc".into()));
    assert!(matches!(err("%[foo]"), E::Sample(..)));
    assert_eq!(
        err("%zz").to_string(),
        "no such format variable 'zz'. If you wanted to emit the '%' character verbatim, you need to use '%%'"
    );
    // HAProxy accepts unknown modifier letters.
    assert!(LogFormatString::parse("%{+Z}ci %{Q}ci").is_ok());
}

#[test]
fn event_texts() {
    assert_eq!(
        events::proxy_stopped("L", 1, 1),
        (
            Level::Warning,
            "Proxy L stopped (cumulated conns: FE: 1, BE: 1).".into()
        )
    );
    assert_eq!(
        events::proxy_paused(events::ProxyKind::Listen, "L").1,
        "Paused proxy L."
    );
    assert_eq!(
        events::proxy_resumed(events::ProxyKind::Frontend, "F").1,
        "Resumed frontend F."
    );
    assert_eq!(
        events::soft_stop_scheduled(300).1,
        "Scheduling a soft-stop in 300 ms."
    );
    assert_eq!(events::grace_expired().0, Level::Notice);
    assert_eq!(
        events::proxy_hard_stopped("L", 1).1,
        "Proxy L hard-stopped (1 remaining conns will be closed)."
    );
    assert_eq!(
        events::console_line(Level::Warning, 32014, "Paused proxy L."),
        "[WARNING]  (32014) : Paused proxy L."
    );
    assert_eq!(
        events::console_line(Level::Notice, 1, "x"),
        "[NOTICE]   (1) : x"
    );
    assert_eq!(
        events::console_line(Level::Alert, 1, "x"),
        "[ALERT]    (1) : x"
    );
}

fn catcher() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

fn recv(s: &UdpSocket) -> String {
    let mut buf = [0u8; 70_000];
    let n = s.recv(&mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn udp_catcher_receives_datagrams() {
    let (s, addr) = catcher();
    let targets = vec![
        LogTarget::new(LogDest::Udp(addr), Facility::Local0),
        LogTarget::new(LogDest::Udp(addr), Facility::Local1)
            .with_format(LogFormat::Rfc5424)
            .with_levels(Some(Level::Notice), None),
        LogTarget::new(LogDest::Udp(addr), Facility::Local2)
            .with_format(LogFormat::Raw)
            .with_max_len(80),
    ];
    let logger = Logger::with_zone(targets, ident(), Zone::Utc).unwrap();
    logger.send_at(Level::Info, None, "hello", t0());
    assert_eq!(recv(&s), "<134>Nov 26 10:00:00 haproxy[1234]: hello\n");
    // rfc5424 target filters out info.
    assert_eq!(recv(&s), "hello\n");
    let (lvl, text) = events::proxy_stopped("L", 3, 4);
    logger.event(lvl, &text);
    assert!(
        recv(&s).ends_with(" haproxy[1234]: Proxy L stopped (cumulated conns: FE: 3, BE: 4).\n")
    );
    assert!(recv(&s).starts_with("<140>1 "));
    assert_eq!(
        recv(&s),
        "Proxy L stopped (cumulated conns: FE: 3, BE: 4).\n"
    );
    assert_eq!(logger.sent(), 5);
    assert_eq!(logger.dropped(), 0);

    // A frontend's session logger with a proxy log-tag.
    let fe = FrontendLog::new(logger.clone(), SessionFormat::TcpLog).with_tag(Some("pxTag".into()));
    fe.log(&record());
    let l = recv(&s);
    assert!(l.starts_with("<134>"), "{l}");
    assert!(l.contains(" pxTag[1234]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0\n"), "{l}");
    let _ = recv(&s); // raw copy (rfc5424 filters info)
}

#[test]
fn udp_ipv6_target() {
    let Ok(s) = UdpSocket::bind("[::1]:0") else {
        eprintln!("skipping: no IPv6 loopback");
        return;
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let addr = s.local_addr().unwrap();
    let logger = Logger::with_zone(
        vec![LogTarget::new(LogDest::Udp(addr), Facility::Daemon).with_format(LogFormat::Short)],
        ident(),
        Zone::Utc,
    )
    .unwrap();
    logger.send(Level::Err, "v6");
    assert_eq!(recv(&s), "<3>v6\n");
}

#[test]
fn session_levels_and_dontlog_normal() {
    let logger = Logger::disabled();
    let fe = FrontendLog::new(logger.clone(), SessionFormat::Default)
        .with_log_separate_errors(true)
        .with_dontlog_normal(true);
    assert_eq!(fe.render(&record()).map(|x| x.0), Some(Level::Err)); // 3 retries
    let mut ok = record();
    ok.retries = 0;
    assert_eq!(fe.render(&ok), None);
    let fe = FrontendLog::new(logger.clone(), SessionFormat::Default);
    assert_eq!(
        fe.render(&ok),
        Some((
            Level::Info,
            "Connect from 10.0.1.2:33313 to 10.0.3.31:8012 (fnt/TCP)".into()
        ))
    );
    let mut sd = ok.clone();
    sd.termination = *b"SD";
    let fe = FrontendLog::new(
        logger,
        SessionFormat::Custom(LogFormatString::parse("%lc %ts").unwrap()),
    )
    .with_log_separate_errors(true);
    assert_eq!(fe.render(&ok), Some((Level::Info, "0 --".into())));
    assert_eq!(fe.render(&sd), Some((Level::Err, "1 SD".into())));
    // HTTP (HAProxy's strm_log): a 5xx is an error, `L` (answered locally) is not.
    let mut http = ok.clone();
    let mut h = haproxide_forward::HttpTxnLog::new();
    h.status = Some(503);
    http.http = Some(Box::new(h.clone()));
    assert_eq!(fe.render(&http).map(|x| x.0), Some(Level::Err));
    h.status = Some(404);
    http.http = Some(Box::new(h));
    http.termination = *b"LR";
    assert_eq!(fe.render(&http).map(|x| x.0), Some(Level::Info));
}

#[test]
fn unix_dgram_target_and_missing_socket() {
    let dir = TempDir::new("log-unix");
    let path = dir.path("log.sock");
    let rx = UnixCatcher::bind(&path);
    let missing = dir.path("missing.sock");
    let logger = Logger::with_zone(
        vec![
            LogTarget::new(LogDest::UnixDgram(path.clone()), Facility::Local0),
            LogTarget::new(LogDest::UnixDgram(missing), Facility::Local0),
        ],
        ident(),
        Zone::Utc,
    )
    .unwrap();
    logger.send_at(Level::Notice, None, "unix", t0());
    assert_eq!(
        rx.recv(Duration::from_secs(5)).as_deref(),
        Some("<133>Nov 26 10:00:00 haproxy[1234]: unix\n")
    );
    assert_eq!((logger.sent(), logger.dropped()), (1, 1));

    // A receiver that never reads: sends never block, losses are counted.
    let start = std::time::Instant::now();
    for _ in 0..20_000 {
        logger.send(Level::Info, &"z".repeat(900));
    }
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        logger.dropped() > 20_000 / 2,
        "dropped {}",
        logger.dropped()
    );
    drop(rx);
}

#[test]
fn stream_targets_do_not_block() {
    let logger = Logger::with_zone(
        vec![LogTarget::new(LogDest::Stderr, Facility::Local0).with_format(LogFormat::Raw)],
        ident(),
        Zone::Utc,
    )
    .unwrap();
    logger.send(Level::Info, "haproxide logging test line on stderr");
    assert_eq!(logger.sent(), 1);
}

#[test]
fn check_lines_use_their_severity() {
    let (s, addr) = catcher();
    let logger = Logger::with_zone(
        vec![LogTarget::new(LogDest::Udp(addr), Facility::Local0).with_format(LogFormat::Priority)],
        ident(),
        Zone::Utc,
    )
    .unwrap();
    logger.check_line(&haproxide_check::log::no_server_line("be"));
    let l = recv(&s);
    assert!(l.starts_with("<128>"), "{l}");
    assert!(l.contains("be"), "{l}");
}

#[test]
fn extend_and_tagged_check_lines() {
    let (s1, a1) = catcher();
    let (s2, a2) = catcher();
    let global = Logger::with_zone(
        vec![LogTarget::new(LogDest::Udp(a1), Facility::Local0).with_format(LogFormat::Raw)],
        ident(),
        Zone::Utc,
    )
    .unwrap();
    let proxy = global
        .extend(vec![LogTarget::new(LogDest::Udp(a2), Facility::Local1)])
        .unwrap();
    assert_eq!(proxy.targets().count(), 2);
    proxy.check_line_tagged(&haproxide_check::log::no_server_line("be"), Some("beTag"));
    assert_eq!(recv(&s1), "backend be has no server available!\n");
    let l = recv(&s2);
    assert!(l.starts_with("<136>"), "{l}");
    assert!(
        l.ends_with(" beTag[1234]: backend be has no server available!\n"),
        "{l}"
    );
    assert!(matches!(
        SessionFormat::custom("%ci %zz"),
        Err(LogFormatError::UnknownVariable(_))
    ));
    assert!(matches!(
        SessionFormat::custom("%ci"),
        Ok(SessionFormat::Custom(_))
    ));
}

/// Cost of one session log line (tcplog, one UDP target); run with
/// `cargo test --release -p haproxide-server logging::tests::bench -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_tcplog_udp() {
    let (_s, addr) = catcher();
    let logger = Logger::new(
        vec![LogTarget::new(LogDest::Udp(addr), Facility::Local0)],
        ident(),
    )
    .unwrap();
    let fe = FrontendLog::new(logger.clone(), SessionFormat::TcpLog);
    let rec = record();
    let n = 200_000u32;
    let start = std::time::Instant::now();
    for _ in 0..n {
        let _ = fe.render(&rec);
    }
    let render = start.elapsed() / n;
    let start = std::time::Instant::now();
    for _ in 0..n {
        let _ = tcplog_line(&rec, false);
    }
    let render_utc = start.elapsed() / n;
    let start = std::time::Instant::now();
    for i in 0..n {
        let _ = clock::local_offset(1_795_687_200 + i64::from(i));
    }
    let offset = start.elapsed() / n;
    let start = std::time::Instant::now();
    for _ in 0..n {
        fe.log(&rec);
    }
    let total = start.elapsed() / n;
    eprintln!(
        "tcplog render {render:?}/line (UTC {render_utc:?}, localtime_r {offset:?}), render+send {total:?}/line (sent {}, dropped {})",
        logger.sent(),
        logger.dropped()
    );
}

#[test]
fn sampling() {
    // The config crate parses `sample 2-3,5:6` (and refuses bad ones).
    let s = LogSample {
        ranges: vec![(2, 3), (5, 5)],
        size: 6,
    };
    let sent: Vec<u64> = (1..=9).filter(|&n| s.takes(n)).collect();
    assert_eq!(sent, [2, 3, 5, 8, 9]); // as HAProxy 2.6.12
    let mut t = LogTarget::new(LogDest::Stdout, Facility::Local1)
        .with_format(LogFormat::Raw)
        .with_levels(Some(Level::Notice), None);
    t.sample = Some(LogSample {
        ranges: vec![(1, 1)],
        size: 2,
    });

    // Lines dropped by the level filter do not count.
    let (c, addr) = catcher();
    let target = LogTarget {
        dest: LogDest::Udp(addr),
        ..t
    };
    let logger = Logger::with_zone(vec![target], ident(), Zone::Utc).unwrap();
    for i in 0..5 {
        logger.send(Level::Info, &format!("info {i}"));
    }
    for i in 1..=4 {
        logger.send(Level::Warning, &format!("warning {i}"));
    }
    assert_eq!(recv(&c), "warning 1\n");
    assert_eq!(recv(&c), "warning 3\n");
    assert_eq!(logger.sent(), 2);
    assert_eq!(logger.dropped(), 0);
}

#[test]
fn fd_target_and_flush() {
    use std::os::fd::AsRawFd;
    let dir = TempDir::new("log-fd");
    let path = dir.path("out.log");
    let file = std::fs::File::create(&path).unwrap();
    let logger = Logger::with_zone(
        vec![
            LogTarget::new(LogDest::Fd(file.as_raw_fd()), Facility::Local0)
                .with_format(LogFormat::Short),
        ],
        ident(),
        Zone::Utc,
    )
    .unwrap();
    for i in 0..100 {
        logger.send(Level::Notice, &format!("line {i}"));
    }
    assert!(logger.flush(Duration::from_secs(5)));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 100);
    assert!(text.starts_with("<5>line 0\n<5>line 1\n"));
    assert!(text.ends_with("<5>line 99\n"));
    assert_eq!((logger.sent(), logger.dropped()), (100, 0));
    drop(file);
}

#[test]
fn proxy_logs_routing() {
    let (c_global, a_global) = catcher();
    let (c_fe, a_fe) = catcher();
    let raw = |a| LogTarget::new(LogDest::Udp(a), Facility::Local0).with_format(LogFormat::Raw);
    let global = Logger::with_zone(vec![raw(a_global)], ident(), Zone::Utc).unwrap();
    let fe_logger = Logger::with_zone(
        vec![LogTarget::new(LogDest::Udp(a_fe), Facility::Local0)],
        ident(),
        Zone::Utc,
    )
    .unwrap();
    let mut logs = ProxyLogs::new(global.clone());
    logs.add_proxy("fnt", fe_logger.clone(), Some("feTag".into()));
    logs.add_frontend(
        "fnt",
        FrontendLog::new(fe_logger, SessionFormat::Default).with_tag(Some("feTag".into())),
    );
    let mut other = record();
    other.frontend = "unlogged".into();
    logs.log(&other); // no FrontendLog: nothing
    logs.log(&record());
    let l = recv(&c_fe);
    assert!(
        l.ends_with(" feTag[1234]: Connect from 10.0.1.2:33313 to 10.0.3.31:8012 (fnt/TCP)\n"),
        "{l}"
    );
    let (level, text) = events::proxy_stopped("fnt", 1, 0);
    logs.proxy_event("fnt", level, &text);
    let l = recv(&c_fe);
    assert!(l.starts_with("<132>"), "{l}");
    assert!(l.ends_with(" feTag[1234]: Proxy fnt stopped (cumulated conns: FE: 1, BE: 0).\n"));
    logs.proxy_event("unknown", Level::Notice, "to global");
    assert_eq!(recv(&c_global), "to global\n");
    logs.event(Level::Warning, "Scheduling a soft-stop in 300 ms.");
    assert_eq!(recv(&c_global), "Scheduling a soft-stop in 300 ms.\n");
    assert!(logs.flush(Duration::from_secs(1)));
    assert_eq!(Level::from_code(3), Some(Level::Err));
    assert_eq!(Level::from_code(8), None);
}
