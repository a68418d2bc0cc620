//! Real-socket probe tests against in-process mocks on 127.0.0.1.

mod common;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use haproxide_check::probe::agent::{AgentHealth, AgentOutcome};
use haproxide_check::probe::{AgentProber, Prober, RunContext};
use haproxide_check::spec::*;
use haproxide_check::status::{CheckResult, CheckStatus};
use haproxide_testkit::{http as web, tcp};

const INTER: Duration = Duration::from_secs(2);

fn spec(probe: ProbeSpec) -> CheckSpec {
    CheckSpec {
        probe,
        timeouts: CheckTimeouts {
            connect: Some(Duration::from_secs(1)),
            check: Some(Duration::from_millis(300)),
        },
        ..Default::default()
    }
}

async fn check(spec: &CheckSpec, addr: std::net::SocketAddr) -> CheckResult {
    let p = Prober::new(spec, addr).expect("prober");
    // Every probe must end by itself well within this bound.
    tokio::time::timeout(Duration::from_secs(5), p.run(INTER, &RunContext::default()))
        .await
        .expect("probe finished")
}

fn httpchk(args: &[&str]) -> ProbeSpec {
    ProbeSpec::Http(HttpCheckSpec {
        send: HttpSend::from_httpchk_args(args),
        ..Default::default()
    })
}

#[tokio::test]
async fn l4_ok_refused_and_timeout() {
    let m = tcp::silent().await;
    let r = check(&spec(ProbeSpec::Tcp), m.addr).await;
    assert_eq!((r.status, r.desc.as_str()), (CheckStatus::L4Ok, ""));

    let r = check(&spec(ProbeSpec::Tcp), tcp::refused_addr()).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L4Con, "Connection refused")
    );

    let u = tcp::unaccepting();
    let mut s = spec(ProbeSpec::Tcp);
    s.timeouts.connect = Some(Duration::from_millis(200));
    let r = check(&s, u.addr).await;
    assert_eq!(r.status, CheckStatus::L4Tout, "{r:?}");
    let d = r.duration.expect("duration");
    assert!(
        d >= Duration::from_millis(190) && d < Duration::from_millis(1500),
        "{d:?}"
    );
}

#[tokio::test]
async fn patroni_http10_no_headers_flips() {
    let code = Arc::new(AtomicU16::new(200));
    let m = web::patroni(code.clone(), "").await;
    let s = spec(httpchk(&[]));
    let r = check(&s, m.addr).await;
    assert_eq!((r.status, r.code), (CheckStatus::L7Ok, Some(200)));
    code.store(503, Ordering::SeqCst);
    let r = check(&s, m.addr).await;
    assert_eq!(
        (r.status, r.code, r.desc.as_str()),
        (CheckStatus::L7Sts, Some(503), "Service Unavailable")
    );
    let seen = m.seen.lock().unwrap().clone();
    assert_eq!(seen[0], b"OPTIONS / HTTP/1.0\r\n\r\n");
}

#[tokio::test]
async fn patroni_get_body_until_eof() {
    let code = Arc::new(AtomicU16::new(200));
    let m = web::patroni(code, "{\"role\": \"master\", \"state\": \"running\"}").await;
    let mut h = HttpCheckSpec {
        send: HttpSend::from_httpchk_args(&["GET", "/master"]),
        ..Default::default()
    };
    h.expect = vec![HttpExpect {
        negate: false,
        kind: HttpExpectKind::String("\"role\": \"master\"".into()),
    }];
    let r = check(&spec(ProbeSpec::Http(h.clone())), m.addr).await;
    assert_eq!(r.status, CheckStatus::L7Ok, "{r:?}");
    h.expect = vec![HttpExpect {
        negate: false,
        kind: HttpExpectKind::String("replica".into()),
    }];
    let r = check(&spec(ProbeSpec::Http(h)), m.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L7Rsp, "HTTP content check did not match")
    );
    assert_eq!(m.seen.lock().unwrap()[0], b"GET /master HTTP/1.0\r\n\r\n");
}

#[tokio::test]
async fn http_black_hole_slow_garbage_refused() {
    let bh = tcp::silent().await;
    let r = check(&spec(httpchk(&[])), bh.addr).await;
    assert_eq!((r.status, r.desc.as_str()), (CheckStatus::L7Tout, ""));
    let d = r.duration.expect("duration");
    assert!(
        d >= Duration::from_millis(290) && d < Duration::from_millis(1500),
        "{d:?}"
    );

    let fast = tcp::slow(Duration::from_millis(50), b"HTTP/1.0 200 OK\r\n\r\n").await;
    assert_eq!(
        check(&spec(httpchk(&[])), fast.addr).await.status,
        CheckStatus::L7Ok
    );
    let slow = tcp::slow(Duration::from_millis(800), b"HTTP/1.0 200 OK\r\n\r\n").await;
    assert_eq!(
        check(&spec(httpchk(&[])), slow.addr).await.status,
        CheckStatus::L7Tout
    );

    let g = tcp::reply(true, b"garbage\r\n\r\n").await;
    let r = check(&spec(httpchk(&[])), g.addr).await;
    assert_eq!((r.status, r.desc.as_str()), (CheckStatus::L7Rsp, ""));

    let r = check(&spec(httpchk(&[])), tcp::refused_addr()).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L4Con, "Connection refused")
    );
}

#[tokio::test]
async fn http_headers_without_close_judged_on_status() {
    // HTTP/1.1, no Content-Length, connection kept open: the status decides.
    let m = tcp::slow(
        Duration::ZERO,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial",
    )
    .await;
    let r = check(&spec(httpchk(&["GET", "/"])), m.addr).await;
    assert_eq!(r.status, CheckStatus::L7Ok);
}

#[tokio::test]
async fn http_send_state_and_disable_on_404() {
    let code = Arc::new(AtomicU16::new(404));
    let m = web::patroni(code, "").await;
    let h = HttpCheckSpec {
        disable_on_404: true,
        send_state: true,
        ..Default::default()
    };
    let p = Prober::new(&spec(ProbeSpec::Http(h)), m.addr).unwrap();
    let ctx = RunContext {
        state_header: Some("UP 1/3; name=be/s1".into()),
        server_stopped: false,
    };
    let r = p.run(INTER, &ctx).await;
    assert_eq!((r.status, r.code), (CheckStatus::L7OkC, Some(404)));
    let ctx = RunContext {
        server_stopped: true,
        ..ctx
    };
    assert_eq!(p.run(INTER, &ctx).await.status, CheckStatus::L7Sts);
    assert_eq!(
        m.seen.lock().unwrap()[0],
        b"OPTIONS / HTTP/1.0\r\nx-haproxy-server-state: UP 1/3; name=be/s1\r\n\r\n"
    );
}

fn tcp_rules() -> ProbeSpec {
    ProbeSpec::TcpCheck(vec![
        TcpCheckRule::Send(b"PING\r\n".to_vec()),
        TcpCheckRule::Expect(TcpExpect {
            negate: false,
            kind: TcpExpectKind::String(b"+PONG".to_vec()),
        }),
    ])
}

#[tokio::test]
async fn tcp_check_sequences_and_messages() {
    let ok = tcp::reply(true, b"+PONG\r\n").await;
    let r = check(&spec(tcp_rules()), ok.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L7Ok, "(tcp-check)")
    );
    assert_eq!(ok.seen.lock().unwrap()[0], b"PING\r\n");

    // Strings below are what HAProxy 2.6.12 logged for the same situations.
    let g = tcp::reply(true, b"garbage\r\n").await;
    let r = check(&spec(tcp_rules()), g.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (
            CheckStatus::L7Rsp,
            "TCPCHK did not match content '+PONG' at step 2"
        )
    );

    let bh = tcp::silent().await;
    let r = check(&spec(tcp_rules()), bh.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (
            CheckStatus::L7Tout,
            " at step 2 of tcp-check (expect string '+PONG')"
        )
    );

    let r = check(&spec(tcp_rules()), tcp::refused_addr()).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (
            CheckStatus::L4Con,
            "Connection refused at initial connection step of tcp-check"
        )
    );

    let commented = ProbeSpec::TcpCheck(vec![
        TcpCheckRule::Comment("hello".into()),
        TcpCheckRule::Connect(ConnectRule::default()),
        TcpCheckRule::Send(b"PING\r\n".to_vec()),
        TcpCheckRule::Expect(TcpExpect {
            negate: false,
            kind: TcpExpectKind::RString("^\\+PONG".into()),
        }),
    ]);
    let r = check(&spec(commented.clone()), g.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (
            CheckStatus::L7Rsp,
            "TCPCHK did not match content (regex) at step 4"
        )
    );
    let r = check(&spec(commented), tcp::refused_addr()).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (
            CheckStatus::L4Con,
            "Connection refused at step 2 of tcp-check (connect) comment: 'hello'"
        )
    );

    // Binary send/expect, and a negated expect.
    let b = tcp::reply(true, b"\x00\x01\x02\x03").await;
    let bin = ProbeSpec::TcpCheck(vec![
        TcpCheckRule::SendBinary(vec![0xde, 0xad]),
        TcpCheckRule::Expect(TcpExpect {
            negate: false,
            kind: TcpExpectKind::Binary(vec![0x01, 0x02]),
        }),
    ]);
    assert_eq!(check(&spec(bin), b.addr).await.status, CheckStatus::L7Ok);
    let b0 = tcp::reply(false, b"\x00\x01\x02\x03").await;
    let rbin = ProbeSpec::TcpCheck(vec![TcpCheckRule::Expect(TcpExpect {
        negate: false,
        kind: TcpExpectKind::RBinary("^000102".into()),
    })]);
    assert_eq!(check(&spec(rbin), b0.addr).await.status, CheckStatus::L7Ok);
    let rbin_bad = ProbeSpec::TcpCheck(vec![TcpCheckRule::Expect(TcpExpect {
        negate: false,
        kind: TcpExpectKind::RBinary("^FF".into()),
    })]);
    let r = check(&spec(rbin_bad), b0.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (
            CheckStatus::L7Rsp,
            "TCPCHK did not match content (binary regex) at step 1"
        )
    );
    assert_eq!(b.seen.lock().unwrap()[0], [0xde, 0xad]);
    let neg = ProbeSpec::TcpCheck(vec![TcpCheckRule::Expect(TcpExpect {
        negate: true,
        kind: TcpExpectKind::String(b"garbage".to_vec()),
    })]);
    let r = check(&spec(neg), tcp::reply(false, b"garbage\r\n").await.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (
            CheckStatus::L7Rsp,
            "TCPCHK matched unwanted content 'garbage' at step 1"
        )
    );
}

#[tokio::test]
async fn redis_check() {
    let ok = tcp::reply(true, b"+PONG\r\n").await;
    let r = check(&spec(ProbeSpec::Redis), ok.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L7Ok, "Redis server is ok")
    );
    assert_eq!(ok.seen.lock().unwrap()[0], b"*1\r\n$4\r\nPING\r\n");
    let bad = tcp::reply(true, b"garbage\r\n").await;
    let r = check(&spec(ProbeSpec::Redis), bad.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str(), r.code),
        (CheckStatus::L7Sts, "garbage", None)
    );
    let loading = tcp::reply(true, b"-LOADING Redis is loading the dataset in memory\r\n").await;
    let r = check(&spec(ProbeSpec::Redis), loading.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (
            CheckStatus::L7Sts,
            "-LOADING Redis is loading the dataset in memory"
        )
    );
}

#[tokio::test]
async fn pgsql_check() {
    let pg = ProbeSpec::Pgsql {
        user: "haproxy".into(),
    };
    let ok = tcp::reply(true, b"R\x00\x00\x00\x08\x00\x00\x00\x00").await;
    let r = check(&spec(pg.clone()), ok.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L7Ok, "PostgreSQL server is ok")
    );
    assert_eq!(
        ok.seen.lock().unwrap()[0],
        b"\x00\x00\x00\x16\x00\x03\x00\x00user\x00haproxy\x00\x00"
    );
    let md5 = tcp::reply(true, b"R\x00\x00\x00\x0c\x00\x00\x00\x05salt").await;
    assert_eq!(
        check(&spec(pg.clone()), md5.addr).await.status,
        CheckStatus::L7Ok
    );
    let err = tcp::reply(
        true,
        b"E\x00\x00\x00\x2aSFATAL\x00C28000\x00Mno pg_hba.conf entry\x00\x00",
    )
    .await;
    let r = check(&spec(pg.clone()), err.addr).await;
    assert_eq!((r.status, r.desc.as_str()), (CheckStatus::L7Rsp, "FATAL"));
    let g = tcp::reply(true, b"garbage\r\n").await;
    let r = check(&spec(pg), g.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L7Sts, "PostgreSQL unknown error")
    );
}

// A MySQL 5.x-like initial handshake: length 0x4e, seq 0, protocol 10, version.
const MYSQL_GREETING: &[u8] = b"\x4e\x00\x00\x00\x0a5.7.44-log\x00\x08\x00\x00\x00abcdefgh\x00\xff\xf7\x21\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00ijklmnopqrst\x00mysql_native_password\x00";

#[tokio::test]
async fn mysql_check() {
    let greet = tcp::reply(false, MYSQL_GREETING).await;
    let r = check(
        &spec(ProbeSpec::Mysql {
            user: None,
            post41: false,
        }),
        greet.addr,
    )
    .await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L7Ok, "5.7.44-log")
    );
    let denied = tcp::reply(false, b"\x16\x00\x00\x00\xff\x6a\x04Host is not allowed").await;
    let r = check(
        &spec(ProbeSpec::Mysql {
            user: None,
            post41: false,
        }),
        denied.addr,
    )
    .await;
    assert_eq!(
        (r.status, r.code, r.desc.as_str()),
        (CheckStatus::L7Sts, Some(1130), "Host is not allowed")
    );

    // With a user: greeting then the OK packet, the auth packet was sent first.
    static WITH_OK: &[(bool, &[u8])] = &[
        (true, MYSQL_GREETING),
        (false, b"\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00"),
    ];
    let m = tcp::script(WITH_OK).await;
    let r = check(
        &spec(ProbeSpec::Mysql {
            user: Some("haproxy".into()),
            post41: true,
        }),
        m.addr,
    )
    .await;
    assert_eq!(r.status, CheckStatus::L7Ok, "{r:?}");
    let sent = m.seen.lock().unwrap()[0].clone();
    // 3-byte length (34 + len("haproxy")) and sequence 1, then COM_QUIT.
    assert_eq!(&sent[..4], &[41, 0, 0, 1]);
    assert!(sent.ends_with(b"haproxy\x00\x00\x01\x00\x00\x00\x01"));
}

#[tokio::test]
async fn smtp_check() {
    static OK: &[(bool, &[u8])] = &[
        (false, b"220 mail.example ESMTP\r\n"),
        (true, b"250 mail.example hello\r\n"),
        (true, b"221 bye\r\n"),
    ];
    let m = tcp::script(OK).await;
    let r = check(&spec(ProbeSpec::Smtp { hello: None }), m.addr).await;
    assert_eq!(
        (r.status, r.code, r.desc.as_str()),
        (CheckStatus::L7Ok, Some(221), "bye")
    );
    assert_eq!(
        m.seen.lock().unwrap().clone(),
        vec![b"HELO localhost\r\n".to_vec(), b"QUIT\r\n".to_vec()]
    );
    let bad = tcp::reply(false, b"554 no service here\r\n").await;
    let r = check(&spec(ProbeSpec::Smtp { hello: None }), bad.addr).await;
    assert_eq!(
        (r.status, r.code, r.desc.as_str()),
        (CheckStatus::L7Sts, Some(554), "no service here")
    );
    static NOQUIT: &[(bool, &[u8])] = &[
        (false, b"220 mail.example ESMTP\r\n"),
        (true, b"250 mail.example hello\r\n"),
    ];
    let m = tcp::script(NOQUIT).await;
    let r = check(
        &spec(ProbeSpec::Smtp {
            hello: Some(("EHLO".into(), "me".into())),
        }),
        m.addr,
    )
    .await;
    // HAProxy 2.6.12 logs exactly this when the server closes before QUIT's reply.
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L7Sts, "TCPCHK got an empty response at step 7")
    );
    assert_eq!(m.seen.lock().unwrap()[0], b"EHLO me\r\n");
}

#[tokio::test]
async fn ldap_and_ssl_hello() {
    let ok = tcp::reply(
        true,
        b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00",
    )
    .await;
    let r = check(&spec(ProbeSpec::Ldap), ok.addr).await;
    assert_eq!((r.status, r.desc.as_str()), (CheckStatus::L7Ok, "Success"));
    assert_eq!(
        ok.seen.lock().unwrap()[0],
        b"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"
    );
    let denied = tcp::reply(
        true,
        b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00",
    )
    .await;
    let r = check(&spec(ProbeSpec::Ldap), denied.addr).await;
    assert_eq!((r.status, r.code), (CheckStatus::L7Sts, Some(0x31)));
    let g = tcp::reply(true, b"garbage\r\n\r\n\r\n\r\n").await;
    let r = check(&spec(ProbeSpec::Ldap), g.addr).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::L7Rsp, "Not LDAPv3 protocol")
    );

    let alert = tcp::reply(true, b"\x15\x03\x00\x00\x02\x02\x28").await;
    assert_eq!(
        check(&spec(ProbeSpec::SslHello), alert.addr).await.status,
        CheckStatus::L6Ok
    );
    assert_eq!(alert.seen.lock().unwrap()[0][..3], [0x16, 0x03, 0x00]);
    let r = check(&spec(ProbeSpec::SslHello), g.addr).await;
    assert_eq!(r.status, CheckStatus::L6Rsp);
    let bh = tcp::silent().await;
    assert_eq!(
        check(&spec(ProbeSpec::SslHello), bh.addr).await.status,
        CheckStatus::L6Tout
    );
}

#[tokio::test]
async fn agent_check() {
    let m = tcp::reply(false, b"up 75%\n").await;
    let a = AgentSpec {
        port: m.addr.port(),
        ..Default::default()
    };
    let out = AgentProber::new(&a, m.addr, &CheckTimeouts::default())
        .run()
        .await;
    let AgentOutcome::Reply(r) = out else {
        panic!("{out:?}")
    };
    assert_eq!((r.health, r.weight_pct), (Some(AgentHealth::Up), Some(75)));

    static SEND: &[(bool, &[u8])] = &[(true, b"drain\r\n")];
    let m = tcp::script(SEND).await;
    let a = AgentSpec {
        port: m.addr.port(),
        send: Some(b"hello\n".to_vec()),
        ..Default::default()
    };
    let AgentOutcome::Reply(r) = AgentProber::new(&a, m.addr, &CheckTimeouts::default())
        .run()
        .await
    else {
        panic!("reply expected")
    };
    assert_eq!(r.result.status, CheckStatus::Checked);
    assert_eq!(m.seen.lock().unwrap()[0], b"hello\n");

    let refused = tcp::refused_addr();
    let a = AgentSpec {
        port: refused.port(),
        ..Default::default()
    };
    let out = AgentProber::new(&a, refused, &CheckTimeouts::default())
        .run()
        .await;
    assert!(
        matches!(out, AgentOutcome::Failed(ref r) if r.status == CheckStatus::L4Con),
        "{out:?}"
    );
}

#[tokio::test]
async fn check_port_addr_and_send_proxy() {
    let m = tcp::reply(true, b"").await;
    let mut s = spec(ProbeSpec::Tcp);
    s.port = Some(m.addr.port());
    s.send_proxy = true;
    // The server address has another port; `port` redirects the check.
    let server = tcp::refused_addr();
    let r = check(&s, server).await;
    assert_eq!(r.status, CheckStatus::L4Ok);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let line = String::from_utf8(m.seen.lock().unwrap()[0].clone()).unwrap();
    assert!(
        line.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 "),
        "{line}"
    );
    assert!(line.ends_with(&format!(" {}\r\n", m.addr.port())), "{line}");
}

mod tls {
    use super::*;
    use common::{data, tls_server};

    #[tokio::test]
    async fn check_ssl_verify_none_and_ca_file() {
        let m = tls_server().await;
        let mut s = spec(ProbeSpec::Tcp);
        s.tls = Some(TlsSpec {
            verify: false,
            ca_file: None,
            sni: None,
        });
        assert_eq!(check(&s, m.addr).await.status, CheckStatus::L6Ok);

        s.probe = httpchk(&[]);
        s.tls = Some(TlsSpec {
            verify: true,
            ca_file: Some(data("ca.pem")),
            sni: Some("check.test".into()),
        });
        let r = check(&s, m.addr).await;
        assert_eq!((r.status, r.code), (CheckStatus::L7Ok, Some(200)));

        s.tls = Some(TlsSpec {
            verify: true,
            ca_file: Some(data("other-ca.pem")),
            sni: Some("check.test".into()),
        });
        let r = check(&s, m.addr).await;
        assert_eq!(
            (r.status, r.desc.as_str()),
            (CheckStatus::L6Rsp, "SSL handshake failure")
        );

        // A plain-text server answering the TLS hello with garbage.
        let g = tcp::reply(true, b"garbage\r\n\r\n").await;
        s.tls = Some(TlsSpec {
            verify: false,
            ca_file: None,
            sni: None,
        });
        assert_eq!(check(&s, g.addr).await.status, CheckStatus::L6Rsp);
        s.tls = Some(TlsSpec {
            verify: true,
            ca_file: Some(data("missing.pem")),
            sni: None,
        });
        assert!(Prober::new(&s, g.addr).is_err());
    }

    #[tokio::test]
    async fn connect_rules_with_ssl() {
        let m = tls_server().await;
        let plain = tcp::refused_addr();
        // tcp-check connect port <tls port> ssl; send; expect
        let rules = vec![
            TcpCheckRule::Connect(ConnectRule {
                port: Some(m.addr.port()),
                ssl: true,
                ..Default::default()
            }),
            TcpCheckRule::Send(b"GET / HTTP/1.0\r\n\r\n".to_vec()),
            TcpCheckRule::Expect(TcpExpect {
                negate: false,
                kind: TcpExpectKind::String(b"200 OK".to_vec()),
            }),
        ];
        let r = check(&spec(ProbeSpec::TcpCheck(rules)), plain).await;
        assert_eq!(
            (r.status, r.desc.as_str()),
            (CheckStatus::L7Ok, "(tcp-check)")
        );
        // http-check connect ssl
        let h = HttpCheckSpec {
            connect: Some(ConnectRule {
                port: Some(m.addr.port()),
                ssl: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = check(&spec(ProbeSpec::Http(h)), plain).await;
        assert_eq!((r.status, r.code), (CheckStatus::L7Ok, Some(200)));
        // a bare `tcp-check connect ssl` reports L6OK
        let rules = vec![TcpCheckRule::Connect(ConnectRule {
            port: Some(m.addr.port()),
            ssl: true,
            ..Default::default()
        })];
        let r = check(&spec(ProbeSpec::TcpCheck(rules)), plain).await;
        assert_eq!(
            (r.status, r.desc.as_str()),
            (CheckStatus::L6Ok, "(tcp-check)")
        );
    }
}

/// Bad peers: endless bytes without a line end, endless headers, a trickle.
/// Each check ends by itself with HAProxy's verdict for it; none panics.
#[tokio::test]
async fn bad_peers_end_in_a_verdict() {
    use tokio::io::AsyncWriteExt;
    let endless = tcp::serve(|mut s| async move {
        let chunk = [b'A'; 1024];
        while s.write_all(&chunk).await.is_ok() {}
    })
    .await;
    let r = check(&spec(httpchk(&[])), endless.addr).await;
    assert_eq!(r.status, CheckStatus::L7Rsp, "{r:?}");

    let headers = tcp::serve(|mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
        while s
            .write_all(b"X-Filler: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n")
            .await
            .is_ok()
        {}
    })
    .await;
    let r = check(&spec(httpchk(&[])), headers.addr).await;
    assert_eq!(r.status, CheckStatus::L7Rsp, "{r:?}");

    let trickle = tcp::serve(|mut s| async move {
        for b in b"HTTP/1.0 200 OK\r\n\r\n" {
            if s.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let r = check(&spec(httpchk(&[])), trickle.addr).await;
    assert_eq!(r.status, CheckStatus::L7Tout, "{r:?}");
    let r = check(&spec(tcp_rules()), trickle.addr).await;
    assert_eq!(r.status, CheckStatus::L7Tout, "{r:?}");
}

/// One checker, a black hole next to a healthy server: the healthy one keeps
/// its pace and the black hole goes DOWN once, on time.
#[tokio::test]
async fn a_black_hole_does_not_slow_other_checks() {
    use haproxide_check::checker::{CheckEvent, Checker, CheckerOptions, ServerConfig};
    use haproxide_check::log::ServerName;
    let good = web::patroni(Arc::new(AtomicU16::new(200)), "").await;
    let bh = tcp::silent().await;
    let mut s = spec(httpchk(&[]));
    s.intervals.inter = Duration::from_millis(100);
    let servers = vec![
        ServerConfig::checked(ServerName::new("be", "bh"), bh.addr, s.clone()),
        ServerConfig::checked(ServerName::new("be", "good"), good.addr, s),
    ];
    let mut c = Checker::new(servers, CheckerOptions::default()).unwrap();
    let view = c.view();
    let mut rx = view.subscribe();
    c.run();
    let t0 = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let good_checks = good.seen.lock().unwrap().len();
    // 100 ms between the end of one check and the start of the next.
    assert!(
        (5..=13).contains(&good_checks),
        "{good_checks} checks in 1.2 s"
    );
    let bh_id = view.id("be", "bh").unwrap();
    assert!(!view.is_usable(bh_id));
    assert!(view.is_usable(view.id("be", "good").unwrap()));
    let mut down_at = None;
    while let Ok(ev) = rx.try_recv() {
        if let CheckEvent::Transition { at, id, .. } = ev {
            assert_eq!(id, bh_id);
            down_at = Some(at.duration_since(t0));
        }
    }
    // first check times out after `timeout check` (300 ms)
    let d = down_at.expect("black hole went DOWN");
    assert!(
        d >= Duration::from_millis(250) && d < Duration::from_millis(1100),
        "{d:?}"
    );
}

/// A SOCKS4 proxy mock on 127.0.0.1:0 for one connection: keeps the 16-byte
/// request, answers `code` (0x5A grants), then plays an HTTP server answering 200.
async fn socks4_mock(code: u8) -> (std::net::SocketAddr, tokio::task::JoinHandle<Vec<u8>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let h = tokio::spawn(async move {
        let (mut c, _) = l.accept().await.unwrap();
        let mut req = vec![0u8; 16];
        c.read_exact(&mut req).await.unwrap();
        c.write_all(&[0, code, 0, 0, 0, 0, 0, 0]).await.unwrap();
        if code == 0x5a {
            let mut buf = [0u8; 512];
            let _ = c.read(&mut buf).await;
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
        }
        req
    });
    (addr, h)
}

/// configuration.txt §5.2 `socks4` + `check-via-socks4`: the check goes to the
/// proxy, asks it for the server (HAProxy's request bytes), then runs the probe.
#[tokio::test]
async fn check_via_socks4() {
    let (proxy, seen) = socks4_mock(0x5a).await;
    let mut s = spec(httpchk(&[]));
    s.socks4 = Some(proxy);
    s.via_socks4 = true;
    // The server itself refuses: only the proxy can reach it.
    let server: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let r = check(&s, server).await;
    assert_eq!((r.status, r.code), (CheckStatus::L7Ok, Some(200)), "{r:?}");
    let req = seen.await.unwrap();
    assert_eq!(req, b"\x04\x01\x1f\x90\x7f\x00\x00\x01HAProxy\x00");

    // Denied: HAProxy's SOCKERR text (measured with haproxy 2.6.12).
    let (proxy, _seen) = socks4_mock(0x5b).await;
    s.socks4 = Some(proxy);
    let r = check(&s, server).await;
    assert_eq!(
        (r.status, r.desc.as_str()),
        (CheckStatus::SockErr, "SOCKS4 Proxy deny the request")
    );

    // `socks4` without `check-via-socks4`: the check goes direct.
    s.via_socks4 = false;
    let r = check(&s, tcp::refused_addr()).await;
    assert_eq!(r.status, CheckStatus::L4Con, "{r:?}");
}
