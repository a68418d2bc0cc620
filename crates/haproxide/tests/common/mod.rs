//! Helpers shared by the tests that drive the binary (each test file includes this
//! module; not every file uses every helper).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A haproxide child process, stopped when dropped so that a failing test leaves
/// nothing behind: SIGTERM first (a hard stop that removes its handover socket),
/// SIGKILL after 3 s, then the socket file is removed in any case.
pub struct Proc(pub std::process::Child);

impl Proc {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            // SAFETY: kill(2) on the pid of our own child, not yet reaped.
            unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
            let stopped = wait_until(Duration::from_secs(3), || {
                matches!(self.0.try_wait(), Ok(Some(_)))
            });
            if !stopped {
                let _ = self.0.kill();
            }
        }
        let _ = self.0.wait();
        let sock = std::env::temp_dir().join(format!("haproxide-{}.listeners.sock", self.0.id()));
        let _ = std::fs::remove_file(sock);
    }
}

/// A temporary directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("hpx-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TCP echo server on 127.0.0.1 (one thread per connection); its port.
pub fn echo_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    port
}

/// A port free at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// Polls `f` every 20 ms until it holds or `within` has passed.
pub fn wait_until(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// One connection through the proxy to an echo server: write, read the echo.
pub fn round_trip(port: u16) -> std::io::Result<()> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"ping")?;
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf)?;
    if &buf != b"ping" {
        return Err(std::io::Error::other("wrong echo"));
    }
    Ok(())
}

/// A client connecting in a tight loop (one round trip per connection) until
/// stopped; counts successes and failures.
pub struct ConnectLoop {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ok: std::sync::Arc<std::sync::atomic::AtomicU64>,
    failed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl ConnectLoop {
    pub fn start(port: u16) -> ConnectLoop {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::Arc;
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let (s, o, f) = (stop.clone(), ok.clone(), failed.clone());
        let thread = std::thread::spawn(move || {
            let mut errors = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match round_trip(port) {
                    Ok(()) => o.fetch_add(1, Ordering::SeqCst),
                    Err(e) => {
                        if errors.len() < 5 {
                            errors.push(e.to_string());
                        }
                        f.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
            errors
        });
        ConnectLoop {
            stop,
            ok,
            failed,
            thread,
        }
    }

    /// Stops the loop: (connections ok, failed, the first errors).
    pub fn finish(self) -> (u64, u64, Vec<String>) {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::SeqCst);
        let errors = self.thread.join().unwrap_or_default();
        (
            self.ok.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            errors,
        )
    }
}
