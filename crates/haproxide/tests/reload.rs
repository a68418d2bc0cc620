//! Reloads as operators do them: `haproxide -f cfg -sf <old pid>`, ten times in a row,
//! while a client connects in a tight loop. Not one connection may be refused or
//! reset, and a session established before a reload finishes normally on the old
//! process (issue 4, "What must show").

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{echo_server, free_port, guard, ConnectLoop, Proc};

fn start(cfg: &std::path::Path, old: Option<u32>) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haproxide"));
    cmd.args(["-db", "-f"])
        .arg(cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(pid) = old {
        cmd.arg("-sf").arg(pid.to_string());
    }
    guard(cmd.spawn().expect("spawn haproxide"))
}

/// A process is ready for the next reload once it serves its listeners to a
/// successor (the socket appears after its listeners are up).
fn wait_ready(pid: u32) {
    let path = haproxide_process::handover::default_path(pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("haproxide {pid} never became ready");
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("haproxide did not listen on {port}");
}

/// Wait for a process to exit by itself (soft stop), bounded.
fn wait_exit(p: &mut Proc, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = p.0.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Ten `-sf` reloads under a tight connect loop: (connections ok, failed, first errors).
fn ten_reloads_under_a_connect_loop() -> (u64, u64, Vec<String>) {
    let echo = echo_server();
    let backend = echo.port;
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("hpx-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
             listen echo\n    bind 127.0.0.1:{port}\n    server e1 127.0.0.1:{backend}\n"
        ),
    )
    .expect("write cfg");
    let mut current = start(&cfg, None);
    wait_listening(port);
    wait_ready(current.0.id());

    let client = ConnectLoop::start(port);

    // A long session opened before the first reload must finish normally.
    let mut long = TcpStream::connect(("127.0.0.1", port)).expect("long session");
    long.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");

    for i in 0..10 {
        let old_pid = current.0.id();
        let mut old = std::mem::replace(&mut current, start(&cfg, Some(old_pid)));
        wait_ready(current.0.id());
        if i > 0 {
            // Old processes without sessions stop on their own after SIGUSR1.
            assert!(
                wait_exit(&mut old, Duration::from_secs(10)),
                "reload {i}: the old process did not stop"
            );
        } else {
            // The first old process still serves the long session: it must wait for it.
            std::thread::sleep(Duration::from_millis(300));
            assert!(
                old.0.try_wait().ok().flatten().is_none(),
                "soft stop must wait for the open session"
            );
            long.write_all(b"still here")
                .expect("write on the old process");
            let mut buf = [0u8; 10];
            long.read_exact(&mut buf)
                .expect("echo from the old process");
            assert_eq!(&buf, b"still here");
            drop(long.try_clone());
            long.shutdown(std::net::Shutdown::Both).expect("close");
            assert!(
                wait_exit(&mut old, Duration::from_secs(10)),
                "old process did not stop once its session ended"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    let (ok, failed, errors) = client.finish();
    eprintln!("reload test: {ok} connections ok, {failed} failed over 10 reloads");
    let _ = std::fs::remove_dir_all(&dir);
    (ok, failed, errors)
}

/// Issue 4: not one connection refused or reset over ten reloads. The rare reset seen
/// until 45a90b6 (about 1 in 25,000 connections) came from an accept loop that was
/// still in a poll on another thread when the old process counted its sessions; a
/// soft stop now waits for its accept loops first. After the fix: 57 runs, about
/// 109,000 connections (45 of the runs three at a time), 0 failed.
#[test]
fn ten_reloads_under_a_connect_loop_refuse_nothing() {
    let (ok, failed, errors) = ten_reloads_under_a_connect_loop();
    assert!(ok > 100, "the connect loop barely ran: {ok}");
    assert_eq!(
        failed, 0,
        "refused or reset connections during reloads: {errors:?}"
    );
}

#[test]
fn a_bad_config_at_reload_leaves_the_running_process_serving() {
    let echo = echo_server();
    let backend = echo.port;
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("hpx-badreload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("good.cfg");
    let bad = dir.join("bad.cfg");
    let body = format!(
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         listen echo\n    bind 127.0.0.1:{port}\n    server e1 127.0.0.1:{backend}\n"
    );
    std::fs::write(&good, &body).expect("write");
    std::fs::write(
        &bad,
        body.replace("server e1", "server e1 chek")
            .replace("    mode tcp", "    mode tcp\n    balanse roundrobin"),
    )
    .expect("write");
    let mut running = start(&good, None);
    wait_listening(port);
    wait_ready(running.0.id());
    let out = Command::new(env!("CARGO_BIN_EXE_haproxide"))
        .args(["-db", "-f"])
        .arg(&bad)
        .arg("-sf")
        .arg(running.0.id().to_string())
        .output()
        .expect("run the reload");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad configuration must not start"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown keyword 'balanse'"),
        "HAProxy's alert names the problem: {stderr}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        running.0.try_wait().ok().flatten().is_none(),
        "the running process must keep serving"
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("still listening");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    s.write_all(b"ok?").expect("write");
    let mut buf = [0u8; 3];
    s.read_exact(&mut buf).expect("still relaying");
    assert_eq!(&buf, b"ok?");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn daemon_mode_writes_the_pid_file_and_stops_on_sigterm() {
    let echo = echo_server();
    let backend = echo.port;
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("hpx-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join("haproxy.cfg");
    let pidfile = dir.join("haproxide.pid");
    std::fs::write(
        &cfg,
        format!(
            "global\n    daemon\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
             listen echo\n    bind 127.0.0.1:{port}\n    server e1 127.0.0.1:{backend}\n"
        ),
    )
    .expect("write cfg");
    // `daemon` in global (or -D): the command returns at once, the daemon keeps running.
    let status = Command::new(env!("CARGO_BIN_EXE_haproxide"))
        .args(["-f"])
        .arg(&cfg)
        .arg("-p")
        .arg(&pidfile)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the daemon");
    assert!(status.success());
    wait_listening(port);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(self.0, libc::SIGKILL);
            }
        }
    }
    let guard = Kill(pid);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(b"hi").expect("write");
    let mut buf = [0u8; 2];
    s.read_exact(&mut buf).expect("echo through the daemon");
    // SAFETY: kill(2) has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: signal 0 only checks that the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(
        // SAFETY: as above.
        unsafe { libc::kill(pid, 0) },
        0,
        "the daemon did not stop on SIGTERM"
    );
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
}
