//! The runtime API over real sockets (UNIX, TCP, a duplex pipe), sessions and
//! the live differential against HAProxy; the command-level tests and their
//! fixtures (`Fake`, the oracle proxies) are in `tests.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::listen::serve_tcp_listener;
use super::tests::*;
use super::*;

fn sock_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("hpx-cli-{}-{tag}.sock", std::process::id()))
}

struct Served {
    path: std::path::PathBuf,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Holds the socket; removed when the test ends, however it ends.
    _dir: haproxide_testkit::fs::TempDir,
}

async fn serve(tag: &str, opts: ListenOptions, state: Arc<dyn RuntimeState>) -> Served {
    let dir = haproxide_testkit::fs::TempDir::new(&format!("cli-{tag}"));
    let path = dir.path("cli.sock");
    let (stop, rx) = watch::channel(false);
    let p = path.clone();
    let task = tokio::spawn(async move { serve_unix(&p, opts, state, rx).await });
    for _ in 0..200 {
        if tokio::net::UnixStream::connect(&path).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Served {
        path,
        stop,
        task,
        _dir: dir,
    }
}

/// socat-style: send, half-close, read to EOF (bounded).
async fn oneshot(path: &std::path::Path, input: &[u8]) -> String {
    let mut c = tokio::net::UnixStream::connect(path).await.unwrap();
    c.write_all(input).await.unwrap();
    c.shutdown().await.unwrap();
    let mut out = Vec::new();
    // A reset (the server closed with unread input) reads as "closed".
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut out))
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn cli_unix_socket_oneshot_like_socat() {
    let f: Arc<dyn RuntimeState> = Fake::new();
    let s = serve("oneshot", ListenOptions::default(), f).await;
    assert_eq!(
        oneshot(&s.path, b"show backend\n").await,
        fixture!("show_backend2.txt")
    );
    assert_eq!(
        oneshot(&s.path, b"show stat\n").await,
        fixture!("show_stat2.txt")
    );
    // No newline: HAProxy runs nothing.
    assert_eq!(oneshot(&s.path, b"show backend").await, "");
    // Two lines arriving together both run, as with HAProxy.
    assert_eq!(
        oneshot(&s.path, b"show backend\nshow backend\n").await,
        fixture!("show_backend2.txt").repeat(2)
    );
    // Non-interactive: the connection is closed after the line, even if the
    // client keeps it open.
    let mut c = tokio::net::UnixStream::connect(&s.path).await.unwrap();
    c.write_all(b"show cli level\n").await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out, b"admin\n\n");
    s.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), s.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!s.path.exists());
}

#[tokio::test]
async fn cli_unix_socket_interactive_prompt() {
    let f = Fake::new();
    f.with_server("be1", "s2", |s| s.weight = 2);
    let s = serve("prompt", ListenOptions::default(), f.clone()).await;
    let mut c = tokio::net::UnixStream::connect(&s.path).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for (send, want) in [
        (&b"prompt\n"[..], "\n> "),
        (b"show backend\n", "# name\nbe1\nli1\n\n> "),
        (b"get weight be1/s2\n", "2 (initial 5)\n\n> "),
        (b"disable server be1/s2\n", "\n> "),
    ] {
        c.write_all(send).await.unwrap();
        let mut have = Vec::new();
        while have.len() < want.len() {
            let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "closed early");
            have.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8_lossy(&have), want);
        got.extend(have);
    }
    // Same bytes as HAProxy's prompt session up to the weight.
    let upto = "\n> # name\nbe1\nli1\n\n> 2 (initial 5)\n\n> ";
    assert!(String::from_utf8_lossy(&got).starts_with(upto));
    assert!(fixture!("prompt_session.txt").starts_with(upto));
    c.write_all(b"quit\n").await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    assert!(f.actions.lock().unwrap().contains(&(
        "be1".into(),
        "s2".into(),
        ServerAction::Admin(AdminState::Maint)
    )));
    let _ = s.stop.send(true);
}

#[tokio::test]
async fn cli_unix_socket_level_user_is_denied_admin_commands() {
    let f = Fake::new();
    let opts = ListenOptions {
        level: Level::User,
        mode: Some(0o600),
        ..Default::default()
    };
    let s = serve("user", opts, f.clone()).await;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&s.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    for cmd in [
        "disable server be1/s2",
        "set server be1/s2 state drain",
        "set weight be1/s2 3",
        "shutdown sessions server be1/s2",
        "enable health be1/s1",
        "clear counters",
    ] {
        assert_eq!(
            oneshot(&s.path, format!("{cmd}\n").as_bytes()).await,
            "Permission denied\n\n",
            "{cmd}"
        );
    }
    assert_eq!(oneshot(&s.path, b"show cli level\n").await, "user\n\n");
    assert!(f.actions.lock().unwrap().is_empty());
    let _ = s.stop.send(true);
}

#[tokio::test]
async fn cli_idle_client_is_dropped_after_stats_timeout_and_others_are_served() {
    let f: Arc<dyn RuntimeState> = Fake::new();
    let opts = ListenOptions {
        timeout: Duration::from_millis(200),
        maxconn: 2,
        ..Default::default()
    };
    let s = serve("timeout", opts, f).await;
    // A silent client and one sending garbage without end hold both slots...
    let mut idle = tokio::net::UnixStream::connect(&s.path).await.unwrap();
    let mut junk = tokio::net::UnixStream::connect(&s.path).await.unwrap();
    junk.write_all(&[b'x'; 1000]).await.unwrap();
    // ...until the timeout frees them: the next client is served.
    let t0 = std::time::Instant::now();
    assert_eq!(oneshot(&s.path, b"show cli level\n").await, "admin\n\n");
    assert!(t0.elapsed() < Duration::from_secs(3));
    let mut out = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(3), idle.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    let _ = s.stop.send(true);
}

#[tokio::test]
async fn cli_overlong_line_closes_only_that_client() {
    let f: Arc<dyn RuntimeState> = Fake::new();
    let opts = ListenOptions {
        max_line: 100,
        ..Default::default()
    };
    let s = serve("long", opts, f).await;
    let mut line = vec![b'a'; 5000];
    line.push(b'\n');
    assert_eq!(oneshot(&s.path, &line).await, "");
    assert_eq!(oneshot(&s.path, b"show cli level\n").await, "admin\n\n");
    let _ = s.stop.send(true);
}

#[tokio::test]
async fn cli_tcp_listener_oneshot() {
    let f: Arc<dyn RuntimeState> = Fake::new();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(serve_tcp_listener(l, ListenOptions::default(), f, rx));
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(b"show backend\n").await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        fixture!("show_backend2.txt")
    );
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn cli_bind_refuses_to_replace_a_regular_file_and_replaces_a_stale_socket() {
    let path = sock_path("regular");
    std::fs::write(&path, b"precious").unwrap();
    assert!(super::listen::bind_unix(&path, &ListenOptions::default()).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    std::fs::remove_file(&path).unwrap();
    // A stale socket left by a dead process is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let l = super::listen::bind_unix(&path, &ListenOptions::default());
    assert!(l.is_ok());
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn cli_many_concurrent_clients_each_get_their_answer() {
    let f: Arc<dyn RuntimeState> = Fake::new();
    let s = serve("many", ListenOptions::default(), f).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let p = s.path.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                oneshot(&p, b"show backend\n").await == fixture!("show_backend2.txt")
            } else {
                oneshot(&p, b"show stat\n").await == fixture!("show_stat2.txt")
            }
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
    let _ = s.stop.send(true);
}

#[tokio::test]
async fn cli_stopping_does_not_unlink_a_successors_socket() {
    let f: Arc<dyn RuntimeState> = Fake::new();
    let old = serve("succ", ListenOptions::default(), Arc::clone(&f)).await;
    // A reload: the new process binds the same path (synchronously, so the
    // socket file is the new one before the old process stops).
    let listener = super::listen::bind_unix(&old.path, &ListenOptions::default()).unwrap();
    let (new_stop, rx) = watch::channel(false);
    tokio::spawn(super::listen::serve_unix_listener(
        listener,
        ListenOptions::default(),
        f,
        rx,
    ));
    old.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), old.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(oneshot(&old.path, b"show cli level\n").await, "admin\n\n");
    let _ = new_stop.send(true);
    let _ = std::fs::remove_file(&old.path);
}

/// Differential check against the real HAProxy when it is installed: the same
/// configuration, the same commands, byte-for-byte answers.
#[test]
fn cli_live_differential_against_real_haproxy() {
    use std::io::{Read, Write};
    let haproxy = std::path::Path::new("/usr/sbin/haproxy");
    if !haproxy.exists() {
        eprintln!("skipped: no /usr/sbin/haproxy");
        return;
    }
    // Removed, and HAProxy stopped, on drop: also when an assertion fails.
    let dir = haproxide_testkit::fs::TempDir::new("cli-live");
    let port = haproxide_testkit::tcp::free_port;
    let (p1, p2) = (port(), port());
    let admin = dir.path("admin.sock");
    let user = dir.path("user.sock");
    let cfg = format!(
        "global\n    stats socket {} level admin\n    stats socket {} level user\n\
         defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe1\n    bind 127.0.0.1:{p1}\n    default_backend be1\n\
         backend be1\n    server s1 127.0.0.1:18901\n    server s2 127.0.0.1:18902 weight 5\n\
         listen li1\n    bind 127.0.0.1:{p2}\n    server a1 127.0.0.1:18903\n    server b1 127.0.0.1:18904 backup\n",
        admin.display(),
        user.display()
    );
    let cfg_path = dir.path("h.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let child = std::process::Command::new(haproxy)
        .arg("-db")
        .arg("-f")
        .arg(&cfg_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = haproxide_testkit::proc::Proc::new(child);
    let ask = |sock: &std::path::Path, cmd: &str| -> Option<String> {
        let mut c = std::os::unix::net::UnixStream::connect(sock).ok()?;
        c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        c.write_all(format!("{cmd}\n").as_bytes()).ok()?;
        let mut out = String::new();
        c.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let mut ready = false;
    for _ in 0..100 {
        if ask(&admin, "show cli level").is_some() && ask(&user, "show cli level").is_some() {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !ready {
        drop(child);
        eprintln!("skipped: haproxy did not start");
        return;
    }
    let f = Fake::new();
    let cmds = [
        "get weight be1/s2",
        "get weight be1/zz",
        "get weight zz/s2",
        "get weight",
        "get weight be1/",
        "set weight be1/s2 abc",
        "set weight be1/s2 10x",
        "set weight be1/s2 300",
        "set weight be1/s2",
        "disable server be1/zz",
        "disable server be1",
        "set server be1/s2 state foo",
        "set server be1/s2 health foo",
        "set server be1/s2 foo",
        "set server be1",
        "shutdown sessions server",
        "shutdown sessions server be1/zz",
        "enable health be1/zz",
        "disable health",
        "show servers state nope",
        "show backend",
        "show cli level",
        "disable frontend zz",
        "disable frontend be1",
        "disable frontend",
        "enable frontend fe1",
        "set maxconn server be1/s1",
        "set maxconn global",
        "set maxconn frontend fe1",
        "show stat foo -1 -1",
        "get weight be1/s2; show backend;get weight be1/zz",
    ];
    let mut mismatches = Vec::new();
    for cmd in cmds {
        let real = ask(&admin, cmd).unwrap_or_default();
        let ours = run(&*f, Level::Admin, cmd);
        if real != ours {
            mismatches.push((cmd, real, ours));
        }
    }
    for cmd in [
        "disable server be1/s2",
        "set weight be1/s2 3",
        "clear counters",
        "show cli level",
        "get weight be1/s2",
    ] {
        let real = ask(&user, cmd).unwrap_or_default();
        let ours = run(&*f, Level::User, cmd);
        if real != ours {
            mismatches.push((cmd, real, ours));
        }
    }
    // show stat: same header, same number of rows, same row keys.
    let real = ask(&admin, "show stat").unwrap_or_default();
    let ours = run(&*f, Level::Admin, "show stat");
    let keys = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
            .collect()
    };
    if keys(&real) != keys(&ours) {
        mismatches.push(("show stat (rows)", real, ours));
    }
    drop(child);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[tokio::test]
async fn cli_client_that_never_reads_is_dropped_and_others_are_served() {
    // Many proxies make a large dump; the client never reads it.
    let f = Fake::new();
    {
        let mut px = f.proxies.lock().unwrap();
        let base = px.clone();
        for i in 0..400 {
            for p in &base {
                let mut p = p.clone();
                p.name = format!("{}-{i}", p.name);
                px.push(p);
            }
        }
    }
    let opts = ListenOptions {
        timeout: Duration::from_millis(300),
        maxconn: 1,
        ..Default::default()
    };
    let state: Arc<dyn RuntimeState> = f;
    let s = serve("noread", opts, state).await;
    let mut stuck = tokio::net::UnixStream::connect(&s.path).await.unwrap();
    stuck.write_all(b"show stat\n").await.unwrap();
    // The only slot frees up once the write times out.
    let t0 = std::time::Instant::now();
    let out = oneshot(&s.path, b"show cli level\n").await;
    assert_eq!(out, "admin\n\n");
    assert!(t0.elapsed() < Duration::from_secs(4));
    drop(stuck);
    let _ = s.stop.send(true);
}

#[test]
fn cli_show_sess_and_shutdown_session() {
    struct Sessions(Fake, Mutex<Vec<u64>>);
    impl RuntimeState for Sessions {
        fn info(&self) -> InfoSnapshot {
            self.0.info()
        }
        fn proxies(&self) -> Vec<ProxySnapshot> {
            self.0.proxies()
        }
        fn server_action(&self, b: &str, s: &str, a: ServerAction) -> Result<(), ActionError> {
            self.0.server_action(b, s, a)
        }
        fn clear_counters(&self, all: bool) {
            self.0.clear_counters(all)
        }
        fn frontend_action(&self, fe: &str, a: FrontendAction) -> Result<(), ActionError> {
            self.0.frontend_action(fe, a)
        }
        fn set_global_maxconn(&self, n: u64) -> Result<(), ActionError> {
            self.0.set_global_maxconn(n)
        }
        fn sessions(&self) -> Vec<SessionSnapshot> {
            // Established on a server, queued on a backend, inspected (no backend).
            let at = std::time::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
            let s = SessionSnapshot {
                id: 0x2a,
                proto: "tcpv4".into(),
                src: "127.0.0.1:40000".into(),
                frontend: ("fe1".into(), 2),
                mode: "tcp".into(),
                dst: Some("127.0.0.1:8001".into()),
                backend: Some(("be1".into(), 3)),
                server: Some(("s2".into(), 2)),
                server_addr: Some("127.0.0.1:9002".into()),
                age_sec: 62,
                accepted: at,
            };
            let queued = SessionSnapshot {
                id: 0x2b,
                server: None,
                server_addr: None,
                age_sec: 3,
                ..s.clone()
            };
            let inspected = SessionSnapshot {
                id: 0x30,
                src: "::1:40001".into(),
                proto: "tcpv6".into(),
                dst: None,
                backend: None,
                server: None,
                server_addr: None,
                age_sec: 0,
                ..s.clone()
            };
            vec![s, queued, inspected]
        }
        fn shutdown_session(&self, id: u64) -> bool {
            self.1.lock().unwrap().push(id);
            id == 0x2a
        }
    }
    let fake = Fake::new();
    let st = Sessions(
        Arc::try_unwrap(fake).ok().expect("sole owner"),
        Mutex::new(Vec::new()),
    );
    let lines = "0x2a: proto=tcpv4 src=127.0.0.1:40000 fe=fe1 be=be1 srv=s2 age=1m2s\n\
        0x2b: proto=tcpv4 src=127.0.0.1:40000 fe=fe1 be=be1 srv=<none> age=3s\n\
        0x30: proto=tcpv6 src=::1:40001 fe=fe1 be=<NONE> srv=<none> age=0s\n\n";
    assert_eq!(run(&st, Level::Operator, "show sess"), lines);
    // HAProxy reads the argument with strtoul: not a number is the list too.
    assert_eq!(run(&st, Level::Operator, "show sess foo"), lines);
    let local = haproxide_log::Tm::new(
        std::time::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456),
        haproxide_log::Zone::Local,
    )
    .accept_date_us();
    assert!(local.ends_with(":20.123456"), "{local}");
    let block = |id: &str, age: &str, srv: &str| {
        format!(
            "{id}: [{local}] proto=tcpv4 source=127.0.0.1:40000\n  \
             frontend=fe1 (id=2 mode=tcp) addr=127.0.0.1:8001\n  \
             backend=be1 (id=3 mode=tcp)\n  {srv}\n  age={age}\n"
        )
    };
    let b2a = block("0x2a", "1m2s", "server=s2 (id=2) addr=127.0.0.1:9002");
    let b2b = block("0x2b", "3s", "server=<none> (id=0)");
    let b30 = format!(
        "0x30: [{local}] proto=tcpv6 source=::1:40001\n  \
         frontend=fe1 (id=2 mode=tcp)\n  backend=<NONE> (id=-1 mode=-)\n  \
         server=<NONE> (id=-1)\n  age=0s\n"
    );
    assert_eq!(
        run(&st, Level::Operator, "show sess 0x2a"),
        format!("{b2a}\n")
    );
    assert_eq!(
        run(&st, Level::Operator, "show sess 43"),
        format!("{b2b}\n")
    );
    assert_eq!(
        run(&st, Level::Operator, "show sess all"),
        format!("{b2a}{b2b}{b30}\n")
    );
    assert_eq!(
        run(&st, Level::Operator, "show sess 0x2c"),
        "Session not found.\n\n"
    );
    assert_eq!(run(&st, Level::User, "show sess"), "Permission denied\n\n");
    assert_eq!(
        run(&st, Level::Operator, "shutdown session 0x2a"),
        "Permission denied\n\n"
    );
    assert_eq!(run(&st, Level::Admin, "shutdown session 0x2a"), "\n");
    assert_eq!(
        run(&st, Level::Admin, "shutdown session 0x2b"),
        "No such session (use 'show sess').\n\n"
    );
    assert_eq!(
        run(&st, Level::Admin, "shutdown session"),
        "Session pointer expected (use 'show sess').\n\n"
    );
    assert_eq!(*st.1.lock().unwrap(), vec![0x2a, 0x2b]);
}

/// `serve_stream`: one CLI session over any byte stream (what a master process
/// uses to reach a worker), with the same protocol as a `stats socket` client.
#[tokio::test]
async fn cli_serve_stream_over_a_duplex_pipe() {
    let f: Arc<dyn RuntimeState> = Fake::new();
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let (_stop, rx) = watch::channel(false);
    let opts = ListenOptions {
        level: Level::Operator,
        ..ListenOptions::default()
    };
    let state = Arc::clone(&f);
    let task = tokio::spawn(async move {
        super::serve_stream(server, &opts, state.as_ref(), rx).await;
    });
    client
        .write_all(b"prompt\nshow cli level\ndisable server be1/s1\nquit\n")
        .await
        .unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out, "\n> operator\n\n> Permission denied\n\n> ");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

/// A line ending with `<<` takes the following lines up to an empty one as its
/// payload (management.txt §9.2): they are not run as commands. A payload larger
/// than four command lines closes the connection without running anything.
#[tokio::test]
async fn cli_payload_lines_go_to_the_command_and_are_bounded() {
    let f: Arc<dyn RuntimeState> = Fake::new();
    let session = |input: Vec<u8>| {
        let state = Arc::clone(&f);
        async move {
            let (mut client, server) = tokio::io::duplex(256 * 1024);
            let (_stop, rx) = watch::channel(false);
            let task = tokio::spawn(async move {
                let opts = ListenOptions::default();
                super::serve_stream(server, &opts, state.as_ref(), rx).await;
            });
            client.write_all(&input).await.unwrap();
            let mut out = String::new();
            tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut out))
                .await
                .unwrap()
                .unwrap();
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .unwrap()
                .unwrap();
            out
        }
    };
    let out = session(
        b"prompt\nset ssl cert /a.pem <<\n-----BEGIN CERTIFICATE-----\nshow cli level\n\nshow cli level\nquit\n"
            .to_vec(),
    )
    .await;
    assert_eq!(
        out,
        "\n> Can't replace a certificate which is not referenced by the configuration!\nCan't update /a.pem!\n\n> admin\n\n> "
    );
    // Without `<<` the same command has no payload.
    let out = session(b"set ssl cert /a.pem\n".to_vec()).await;
    assert_eq!(
        out,
        "'set ssl cert expects a filename and a certificate as a payload\n\n"
    );
    let mut big = b"prompt\nset ssl cert /a.pem <<\n".to_vec();
    for _ in 0..80 {
        big.extend([b'A'; 1000]);
        big.push(b'\n');
    }
    big.extend(b"\nshow cli level\n");
    assert_eq!(session(big).await, "\n> ");
}
