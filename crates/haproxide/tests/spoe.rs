//! `filter spoe` (configuration.txt §9.3, doc/SPOE.txt) against HAProxy 2.6.12:
//! the same configuration and the same mock agent (haproxide_testkit::spoa,
//! written apart from haproxide's encoder) for both proxies. The NOTIFY frames
//! the agent reads must be byte-identical (stream and frame ids aside), and so
//! must the answers built from the variables the ACK set; hostile agents
//! (garbage, a slow one) give the same `set-on-error` values and never an
//! error page to the client. Skipped when /usr/sbin/haproxy is absent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use haproxide_testkit::spoa::{self, Behaviour};

mod common;
use common::{free_port, haproxide, haproxy, wait_listening, TempDir};

const SPOE: &str = "\
[e]
spoe-agent a
  messages on-req
  groups g
  option var-prefix pfx
  option set-on-error err
  timeout hello 1s
  timeout idle 10s
  timeout processing 700ms
  use-backend agents
spoe-message on-req
  args ip=src path=path method=method ver=req.ver hdr=req.hdr(x-a) n=int(-5) big=int(300000) b=bool(1) missing=req.hdr(nothere)
  event on-frontend-http-request
spoe-message grp
  args v=str(group) len=req.hdr_cnt(x-a)
spoe-group g
  messages grp
";

fn config(port: u16, agent: u16, spoe: &Path) -> String {
    format!(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend fe\n  bind 127.0.0.1:{port}\n  filter spoe engine e config {}\n\
  http-request send-spoe-group e g\n\
  http-request return status 200 content-type text/plain lf-string \"score=%[var(txn.pfx.score)] tag=%[var(sess.pfx.tag)] err=%[var(txn.pfx.err)]\"\n\
backend agents\n  mode tcp\n  server a 127.0.0.1:{agent}\n",
        spoe.display()
    )
}

fn get(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ =
        s.write_all(b"GET /p?q=1 HTTP/1.1\r\nHost: x\r\nx-a: hello\r\nConnection: close\r\n\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    // The body only (both proxies send the same head; the body carries the vars).
    text.split("\r\n\r\n").nth(1).unwrap_or(&text).to_string()
}

/// NOTIFY frames without their stream and frame ids (HAProxy numbers streams
/// its own way).
fn notifies(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter(|f| f.first() == Some(&3))
        .filter_map(|f| {
            let mut i = 5;
            for _ in 0..2 {
                // Skip a varint.
                let first = *f.get(i)?;
                i += 1;
                if first >= 240 {
                    while *f.get(i)? >= 128 {
                        i += 1;
                    }
                    i += 1;
                }
            }
            let mut v = f[..5].to_vec();
            v.extend_from_slice(&f[i..]);
            Some(v)
        })
        .collect()
}

struct Run {
    bodies: Vec<String>,
    notifies: Vec<Vec<u8>>,
    hello: Vec<u8>,
    took: Duration,
}

fn scenario(tag: &str, b: Behaviour, start: impl Fn(&Path) -> Option<common::Proc>) -> Option<Run> {
    let dir = TempDir::new(tag);
    let agent = spoa::OnThread::start(b);
    let port = free_port();
    let spoe = dir.path("e.spoe");
    std::fs::write(&spoe, SPOE).expect("write spoe");
    let cfg = dir.path("p.cfg");
    std::fs::write(&cfg, config(port, agent.addr.port(), &spoe)).expect("write cfg");
    let _p = start(&cfg)?;
    assert!(wait_listening(port), "{tag}: not listening");
    let t0 = Instant::now();
    let bodies = vec![get(port), get(port)];
    let took = t0.elapsed();
    let frames = agent.frames();
    Some(Run {
        bodies,
        notifies: notifies(&frames),
        hello: frames.first().cloned().unwrap_or_default(),
        took,
    })
}

fn both(tag: &str, b: Behaviour) -> Option<(Run, Run)> {
    let theirs = scenario(&format!("spoe-hap-{tag}"), b.clone(), haproxy)?;
    let ours =
        scenario(&format!("spoe-hpx-{tag}"), b, |c| Some(haproxide(c, &[]))).expect("started");
    Some((theirs, ours))
}

#[test]
fn notify_frames_and_ack_variables_match_haproxy() {
    let mut acts = spoa::set_var_u32(2, "score", 42);
    acts.extend(spoa::set_var_str(1, "tag", b"t"));
    let Some((theirs, ours)) = both("ack", Behaviour::Ack(acts)) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    assert_eq!(theirs.bodies[0], "score=42 tag=t err=");
    assert_eq!(ours.bodies, theirs.bodies);
    // Two requests, each an event NOTIFY and a group NOTIFY.
    assert_eq!(theirs.notifies.len(), 4, "{:?}", theirs.notifies);
    assert_eq!(ours.notifies, theirs.notifies);
    // HAPROXY-HELLO: type 1, FIN, ids 0; version 2.0 and our frame size.
    assert_eq!(&ours.hello[..7], &[1, 0, 0, 0, 1, 0, 0]);
    assert_eq!(&theirs.hello[..7], &ours.hello[..7]);
    let has = |h: &[u8], n: &[u8]| h.windows(n.len()).any(|w| w == n);
    for h in [&ours.hello, &theirs.hello] {
        assert!(has(h, b"\x12supported-versions\x08\x032.0"));
        assert!(has(h, b"\x0emax-frame-size\x03\xfc\xf0\x06"));
    }
}

#[test]
fn hostile_agents_never_reach_the_client() {
    // Garbage for an AGENT-HELLO, then an agent slower than `timeout processing`.
    for (tag, b) in [
        ("garbage", Behaviour::Garbage),
        ("slow", Behaviour::Slow(Duration::from_secs(3), Vec::new())),
        ("disconnect", Behaviour::Disconnect(13)),
        ("oversized", Behaviour::Oversized(1 << 30)),
        ("small-hello", Behaviour::HelloFrameSize(100)),
    ] {
        let Some((theirs, ours)) = both(tag, b) else {
            eprintln!("skipped: /usr/sbin/haproxy absent");
            return;
        };
        eprintln!(
            "{tag}: haproxy {:?} in {:?}; haproxide {:?} in {:?}",
            theirs.bodies, theirs.took, ours.bodies, ours.took
        );
        // The request is answered by the rules, never an error page.
        for b in ours.bodies.iter().chain(&theirs.bodies) {
            assert!(b.starts_with("score= tag= err="), "{tag}: {b}");
        }
        assert_eq!(ours.bodies, theirs.bodies, "{tag}");
        // Bounded by `timeout processing` (700 ms) per exchange.
        assert!(ours.took < Duration::from_secs(4), "{tag}: {:?}", ours.took);
    }
}

const SPOE_BE: &str = "\
spoe-agent b
  messages on-be on-res
  option var-prefix be
  timeout hello 1s
  timeout idle 10s
  timeout processing 700ms
  use-backend agents
spoe-message on-be
  args path=path host=req.hdr(host) be=be_name
  event on-backend-http-request
spoe-message on-res
  acl ok status 200
  args status=status ct=res.hdr(content-type) srv=srv_name
  event on-http-response if ok
";

/// A frontend without a filter, a backend with one (no engine name: the
/// agent's name), its server an HTTP origin.
fn config_be(port: u16, origin: u16, agent: u16, spoe: &Path) -> String {
    format!(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend fe\n  bind 127.0.0.1:{port}\n  default_backend app\n\
backend app\n  filter spoe config {}\n\
  http-response set-header x-score %[var(txn.be.score)]\n\
  server s1 127.0.0.1:{origin}\n\
listen origin\n  bind 127.0.0.1:{origin}\n\
  http-request return status 200 content-type text/plain string ok\n\
backend agents\n  mode tcp\n  server a 127.0.0.1:{agent}\n",
        spoe.display()
    )
}

fn scenario_be(
    tag: &str,
    start: impl Fn(&Path) -> Option<common::Proc>,
) -> Option<(Vec<String>, Vec<Vec<u8>>)> {
    let dir = TempDir::new(tag);
    let agent = spoa::OnThread::start(Behaviour::Ack(spoa::set_var_u32(2, "score", 7)));
    let (port, origin) = (free_port(), free_port());
    let spoe = dir.path("b.spoe");
    std::fs::write(&spoe, SPOE_BE).expect("write spoe");
    let cfg = dir.path("p.cfg");
    std::fs::write(&cfg, config_be(port, origin, agent.addr.port(), &spoe)).expect("write cfg");
    let _p = start(&cfg)?;
    assert!(
        wait_listening(port) && wait_listening(origin),
        "{tag}: not listening"
    );
    let mut heads = Vec::new();
    for _ in 0..2 {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            heads.push("connect failed".into());
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(b"GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        // The x-score header the response rule set from the ACK.
        heads.push(
            text.lines()
                .filter(|l| l.to_ascii_lowercase().starts_with("x-score"))
                .collect(),
        );
    }
    Some((heads, notifies(&agent.frames())))
}

#[test]
fn backend_and_response_events_match_haproxy() {
    let Some(theirs) = scenario_be("spoe-hap-be", haproxy) else {
        eprintln!("skipped: /usr/sbin/haproxy absent");
        return;
    };
    let ours = scenario_be("spoe-hpx-be", |c| Some(haproxide(c, &[]))).expect("started");
    assert_eq!(theirs.0, ["x-score: 7", "x-score: 7"]);
    assert_eq!(ours.0, theirs.0);
    // Per request: on-backend-http-request, then on-http-response.
    assert_eq!(theirs.1.len(), 4, "{:?}", theirs.1);
    assert_eq!(ours.1, theirs.1);
}
