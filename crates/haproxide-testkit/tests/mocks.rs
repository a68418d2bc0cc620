//! Each mock behaves as documented, and stops when dropped.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use haproxide_testkit::http::{self, PatroniNode, Responder, Role};
use haproxide_testkit::{fs::TempDir, proc::Proc, syslog, tcp, wait, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn ask(addr: std::net::SocketAddr, req: &[u8]) -> String {
    let mut c = tcp::connect(addr).await;
    c.write_all(req).await.expect("write");
    let (b, _) = tcp::read_to_eof(&mut c, WAIT).await;
    String::from_utf8_lossy(&b).into_owned()
}

#[tokio::test]
async fn echo_echoes_counts_and_closes_on_drop() {
    let m = tcp::echo().await;
    let mut c = tcp::connect(m.addr).await;
    c.write_all(b"abc").await.expect("write");
    assert_eq!(tcp::read_n(&mut c, 3).await, b"abc");
    assert_eq!(m.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(m.open.load(Ordering::SeqCst), 1);
    let addr = m.addr;
    drop(m);
    assert!(
        tcp::closed_within(&mut c, WAIT).await,
        "connection outlived its mock"
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn open_drops_when_the_handler_ends() {
    let m = tcp::echo().await;
    let mut c = tcp::connect(m.addr).await;
    c.shutdown().await.expect("shutdown");
    let (_, clean) = tcp::read_to_eof(&mut c, WAIT).await;
    assert!(clean);
    assert!(wait::until_async(WAIT, || async { m.open.load(Ordering::SeqCst) == 0 }).await);
}

#[tokio::test]
async fn named_and_prefixed_echoes_say_who_they_are() {
    let n = tcp::named(String::from("s1")).await;
    let mut c = tcp::connect(n.addr).await;
    assert_eq!(tcp::read_n(&mut c, 2).await, b"s1");
    c.write_all(b"x").await.expect("write");
    assert_eq!(tcp::read_n(&mut c, 1).await, b"x");

    let p = tcp::echo_prefixed("db2:").await;
    let mut c = tcp::connect(p.addr).await;
    c.write_all(b"q").await.expect("write");
    assert_eq!(tcp::read_n(&mut c, 5).await, b"db2:q");
}

#[tokio::test]
async fn silent_says_nothing_until_dropped() {
    let m = tcp::silent().await;
    let mut c = tcp::connect(m.addr).await;
    c.write_all(b"hello?").await.expect("write");
    assert!(!tcp::closed_within(&mut c, Duration::from_millis(200)).await);
    drop(m);
    assert!(tcp::closed_within(&mut c, WAIT).await);
}

#[tokio::test]
async fn recorder_reports_each_connection() {
    let (m, mut rx) = tcp::recorder().await;
    let mut c = tcp::connect(m.addr).await;
    c.write_all(b"one two").await.expect("write");
    drop(c);
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("in time");
    assert_eq!(got.as_deref(), Some(&b"one two"[..]));
}

#[tokio::test]
async fn scripted_mocks_answer_and_record() {
    let r = tcp::reply(true, b"+OK\r\n").await;
    assert_eq!(ask(r.addr, b"PING\r\n").await, "+OK\r\n");
    assert_eq!(r.seen(), vec![b"PING\r\n".to_vec()]);

    static STEPS: &[(bool, &[u8])] = &[(false, b"220 hi\r\n"), (true, b"250 ok\r\n")];
    let s = tcp::script(STEPS).await;
    let mut c = tcp::connect(s.addr).await;
    assert_eq!(tcp::read_n(&mut c, 8).await, b"220 hi\r\n");
    c.write_all(b"HELO x\r\n").await.expect("write");
    let (rest, _) = tcp::read_to_eof(&mut c, WAIT).await;
    assert_eq!(rest, b"250 ok\r\n");
    assert_eq!(s.seen(), vec![b"HELO x\r\n".to_vec()]);

    let start = Instant::now();
    let slow = tcp::slow(Duration::from_millis(150), b"late").await;
    assert_eq!(ask(slow.addr, b"now?").await, "late");
    assert!(start.elapsed() >= Duration::from_millis(150));

    let ok = Arc::new(AtomicBool::new(false));
    let smtp = tcp::smtp_dyn(ok.clone()).await;
    assert!(ask(smtp.addr, b"").await.starts_with("554 "));
}

#[tokio::test]
async fn refused_unaccepting_and_toggle() {
    let a = tcp::refused_addr();
    assert!(tokio::net::TcpStream::connect(a).await.is_err());

    let u = tcp::unaccepting();
    let r = tokio::time::timeout(
        Duration::from_millis(300),
        tokio::net::TcpStream::connect(u.addr),
    )
    .await;
    assert!(r.is_err(), "a connect to the full queue completed: {r:?}");

    let mut t = tcp::Toggle::new().await;
    assert!(tokio::net::TcpStream::connect(t.addr).await.is_ok());
    t.close();
    tokio::task::yield_now().await;
    assert!(tokio::net::TcpStream::connect(t.addr).await.is_err());
    t.open().await;
    assert!(tokio::net::TcpStream::connect(t.addr).await.is_ok());
}

#[test]
fn on_thread_serves_blocking_clients_and_stops_on_drop() {
    let e = tcp::OnThread::start(tcp::echo);
    tcp::round_trip(e.port).expect("round trip");
    let l = tcp::ConnectLoop::start(e.port);
    assert!(wait::until(WAIT, || tcp::round_trip(e.port).is_ok()));
    std::thread::sleep(Duration::from_millis(50));
    let (ok, failed, errors) = l.finish();
    assert!(
        ok > 0 && failed == 0,
        "{ok} ok, {failed} failed: {errors:?}"
    );
    let port = e.port;
    drop(e);
    assert!(tcp::round_trip(port).is_err());

    let c = tcp::OnThread::start(tcp::closing);
    let mut s = std::net::TcpStream::connect(c.addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut b = [0u8; 1];
    assert_eq!(
        std::io::Read::read(&mut s, &mut b).ok(),
        Some(0),
        "not closed"
    );
}

#[tokio::test]
async fn responder_answers_per_path_byte_exact_and_changes_at_run_time() {
    let web = Responder::new()
        .status("/a", 200, "alpha")
        .raw("/raw", b"HTTP/1.0 302 Found\r\nLocation: /a\r\n\r\n")
        .start()
        .await;
    let a = ask(web.addr(), b"GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(
        a,
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nalpha"
    );
    let raw = ask(web.addr(), b"GET /raw HTTP/1.0\r\n\r\n").await;
    assert_eq!(raw, "HTTP/1.0 302 Found\r\nLocation: /a\r\n\r\n");
    assert!(ask(web.addr(), b"GET /nope HTTP/1.0\r\n\r\n")
        .await
        .starts_with("HTTP/1.1 404 Not Found\r\n"));
    web.set_status("/a", 503, "");
    assert!(ask(web.addr(), b"GET /a HTTP/1.0\r\n\r\n")
        .await
        .starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    assert_eq!(web.requests().len(), 4);
    assert_eq!(http::target(&web.requests()[0]), "/a?x=1");
}

#[tokio::test]
async fn patroni_flips_its_status_headerless() {
    let status = Arc::new(AtomicU16::new(200));
    let m = http::patroni(status.clone(), "{}").await;
    let req = b"OPTIONS / HTTP/1.0\r\n\r\n";
    assert_eq!(ask(m.addr, req).await, "HTTP/1.0 200 OK\r\n\r\n{}");
    status.store(503, Ordering::SeqCst);
    assert_eq!(
        ask(m.addr, req).await,
        "HTTP/1.0 503 Service Unavailable\r\n\r\n{}"
    );
    assert_eq!(m.seen(), vec![req.to_vec(), req.to_vec()]);
}

fn code(answer: &str) -> &str {
    answer.split(' ').nth(1).unwrap_or_default()
}

#[tokio::test]
async fn patroni_nodes_switch_leader_and_honour_replica_lag() {
    let n1 = PatroniNode::start(Role::Primary).await;
    let n2 = PatroniNode::start(Role::Replica).await;
    let get = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes();
    assert_eq!(code(&ask(n1.addr(), &get("/primary")).await), "200");
    assert_eq!(code(&ask(n2.addr(), &get("/primary")).await), "503");
    assert_eq!(code(&ask(n2.addr(), &get("/replica")).await), "200");
    n2.set_lag(2048);
    assert_eq!(
        code(&ask(n2.addr(), &get("/replica?lag=1024")).await),
        "503"
    );
    assert_eq!(
        code(&ask(n2.addr(), &get("/replica?lag=4096")).await),
        "200"
    );
    // Switchover: the leader moves to n2.
    n1.set_role(Role::Replica);
    n2.set_role(Role::Primary);
    let a1 = ask(n1.addr(), &get("/primary")).await;
    assert_eq!(code(&a1), "503");
    assert!(a1.contains("\"role\": \"replica\""), "{a1}");
    assert_eq!(code(&ask(n2.addr(), &get("/primary")).await), "200");
    assert_eq!(code(&ask(n2.addr(), &get("/replica")).await), "503");
    n1.set_role(Role::Stopped);
    assert_eq!(code(&ask(n1.addr(), &get("/health")).await), "503");
    assert_eq!(code(&ask(n2.addr(), &get("/health")).await), "200");
    assert_eq!(code(&ask(n2.addr(), &get("/other")).await), "404");
}

#[test]
fn unix_syslog_catcher_receives_and_cleans_up() {
    let d = TempDir::new("testkit-syslog");
    let path = d.path("log.sock");
    let c = syslog::UnixCatcher::bind(&path);
    let tx = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    tx.send_to(b"<134>a", &path).expect("send");
    assert_eq!(c.recv(WAIT).as_deref(), Some("<134>a"));
    assert_eq!(c.recv(Duration::from_millis(50)), None);
    drop(c);
    assert!(!path.exists());
}

#[test]
fn proc_kills_a_child_that_ignores_sigterm() {
    let child = std::process::Command::new("sh")
        .args(["-c", "trap '' TERM; echo ready; sleep 30"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let mut p = Proc::new(child).grace(Duration::from_millis(300));
    // Wait until the trap is set, so the SIGTERM is really ignored.
    let mut out = p.0.stdout.take().expect("stdout");
    let mut b = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut b).expect("ready");
    let pid = p.pid();
    let start = Instant::now();
    drop(p);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "SIGTERM was not ignored?"
    );
    // SAFETY: signal 0 only checks whether the pid exists (it was reaped).
    assert_ne!(unsafe { libc::kill(pid as libc::pid_t, 0) }, 0);
}

#[tokio::test]
async fn read_request_waits_for_the_declared_body() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let m = tcp::serve(move |mut s| {
        let tx = tx.lock().ok().and_then(|mut t| t.take());
        async move {
            let r = http::read_request(&mut s).await;
            if let Some(tx) = tx {
                let _ = tx.send(r);
            }
        }
    })
    .await;
    let mut c = tcp::connect(m.addr).await;
    c.write_all(b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.write_all(b"cd").await.expect("write");
    let r = tokio::time::timeout(WAIT, rx)
        .await
        .expect("in time")
        .expect("sent");
    assert!(r.ends_with(b"\r\n\r\nabcd"));
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, c.read_to_end(&mut rest)).await;
}

#[test]
fn temp_dir_waits_and_udp_catcher() {
    let d = TempDir::new("testkit-fs");
    std::fs::write(d.path("a.cfg"), "global\n").expect("write");
    let kept = d.dir().to_path_buf();
    assert!(kept.join("a.cfg").exists());
    drop(d);
    assert!(!kept.exists(), "temp dir left behind");

    let start = Instant::now();
    assert!(!wait::until(Duration::from_millis(60), || false));
    assert!(start.elapsed() >= Duration::from_millis(60));
    let mut n = 0;
    assert_eq!(
        wait::for_some("n reaches 3", WAIT, Duration::from_millis(1), || {
            n += 1;
            (n == 3).then_some(n)
        }),
        3
    );

    let c = syslog::UdpCatcher::bind();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    tx.send_to(b"<30>x: one", c.addr()).expect("send");
    tx.send_to(b"<30>x: two", c.addr()).expect("send");
    let got = c.wait_for(WAIT, |l| l.ends_with("two"));
    assert_eq!(got.as_deref(), Some("<30>x: two"));
    assert_eq!(c.recv(Duration::from_millis(50)), None);
}

/// The recorder's framing for these tests: a request ends at its head, plus a
/// `Content-Length` body when it declares one.
fn head_and_cl(b: &[u8]) -> Option<usize> {
    let end = b.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&b[..end]).to_ascii_lowercase();
    let cl = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(0);
    (b.len() >= end + cl).then_some(end + cl)
}

#[test]
fn recorder_splits_pipelined_requests_and_answers_each() {
    use haproxide_testkit::recorder::{converse, Backend, Reply};
    let be = Backend::start(head_and_cl, |req: &[u8]| {
        let t = http::target(req);
        Reply::Send(
            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{t}", t.len()).into_bytes(),
        )
    });
    let mark = be.mark();
    let want = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n/aHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n/b";
    let t = converse(
        be.port(),
        &[b"GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"],
        &|got: &[u8]| got.len() >= want.len(),
        Duration::from_millis(50),
    );
    assert_eq!(t.bytes, want.to_vec());
    assert!(!t.closed, "a keep-alive backend keeps the connection");
    assert_eq!(
        be.since(mark),
        vec![
            b"GET /a HTTP/1.1\r\n\r\n".to_vec(),
            b"POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz".to_vec()
        ]
    );
}

#[test]
fn recorder_continues_tunnels_and_records_partial_requests() {
    use haproxide_testkit::recorder::{converse, Backend, Reply};
    let be = Backend::start(head_and_cl, |req: &[u8]| {
        if http::target(req) == "/ws" {
            Reply::Tunnel(b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec())
        } else {
            Reply::Close(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec())
        }
    });
    // 100-continue: the interim answer comes before the body is sent.
    let t = converse(
        be.port(),
        &[
            b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
            b"ok",
        ],
        &|got: &[u8]| got.ends_with(b"content-length: 0\r\n\r\n"),
        Duration::from_millis(200),
    );
    assert_eq!(
        t.bytes,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec()
    );
    assert!(t.closed, "Reply::Close closes");
    // A tunnel echoes, and the request's record grows with the tunnelled bytes.
    let mark = be.mark();
    let t = converse(
        be.port(),
        &[b"GET /ws HTTP/1.1\r\n\r\n", b"ping"],
        &|got: &[u8]| got.ends_with(b"ping"),
        Duration::from_millis(50),
    );
    assert_eq!(
        t.bytes,
        b"HTTP/1.1 101 Switching Protocols\r\n\r\nping".to_vec()
    );
    assert_eq!(
        be.since(mark),
        vec![b"GET /ws HTTP/1.1\r\n\r\nping".to_vec()]
    );
    // A request still arriving is recorded as far as it came.
    let mark = be.mark();
    let t = converse(
        be.port(),
        &[b"GET /partial HTTP/1.1\r\nX: "],
        &|_| true,
        Duration::from_millis(100),
    );
    assert!(t.bytes.is_empty() && !t.closed);
    assert_eq!(
        be.since(mark),
        vec![b"GET /partial HTTP/1.1\r\nX: ".to_vec()]
    );
}
