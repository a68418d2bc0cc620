//! Syslog catchers: a UDP one on 127.0.0.1:0 and a unix-datagram one, both
//! blocking with a bound on every receive (for tests that drive a process; an async
//! test should receive on its own tokio socket instead of blocking its runtime).
//!
//! ```
//! use std::time::Duration;
//! let c = haproxide_testkit::syslog::UdpCatcher::bind();
//! let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
//! tx.send_to(b"<30>x: one", c.addr()).unwrap();
//! tx.send_to(b"<30>x: two", c.addr()).unwrap();
//! let got = c.wait_for(Duration::from_secs(5), |l| l.ends_with("two"));
//! assert_eq!(got.as_deref(), Some("<30>x: two"));
//! assert_eq!(c.recv(Duration::from_millis(50)), None);
//! ```

use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A datagram socket a catcher can read with a deadline.
pub trait Datagrams {
    fn set_read_timeout(&self, d: Option<Duration>) -> std::io::Result<()>;
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl Datagrams for std::net::UdpSocket {
    fn set_read_timeout(&self, d: Option<Duration>) -> std::io::Result<()> {
        std::net::UdpSocket::set_read_timeout(self, d)
    }
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::net::UdpSocket::recv(self, buf)
    }
}

impl Datagrams for UnixDatagram {
    fn set_read_timeout(&self, d: Option<Duration>) -> std::io::Result<()> {
        UnixDatagram::set_read_timeout(self, d)
    }
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        UnixDatagram::recv(self, buf)
    }
}

/// A syslog catcher on a datagram socket; a unix socket's file is removed on drop.
pub struct Catcher<S: Datagrams> {
    sock: S,
    path: Option<PathBuf>,
}

/// A UDP syslog catcher on 127.0.0.1 (closed on drop).
pub type UdpCatcher = Catcher<std::net::UdpSocket>;

/// A unix-datagram syslog catcher (`log /path/to/socket`).
pub type UnixCatcher = Catcher<UnixDatagram>;

impl Catcher<std::net::UdpSocket> {
    pub fn bind() -> UdpCatcher {
        Catcher {
            sock: std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp 127.0.0.1:0"),
            path: None,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.sock.local_addr().expect("udp addr")
    }

    pub fn port(&self) -> u16 {
        self.addr().port()
    }
}

impl Catcher<UnixDatagram> {
    pub fn bind(path: &Path) -> UnixCatcher {
        let _ = std::fs::remove_file(path);
        Catcher {
            sock: UnixDatagram::bind(path).expect("bind unix datagram"),
            path: Some(path.to_path_buf()),
        }
    }
}

impl<S: Datagrams> Catcher<S> {
    /// The next datagram received within `within` (at least 1 ms).
    pub fn recv(&self, within: Duration) -> Option<String> {
        self.sock
            .set_read_timeout(Some(within.max(Duration::from_millis(1))))
            .ok()?;
        let mut buf = vec![0u8; 65536];
        let n = self.sock.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// The first datagram satisfying `pred` within `within` (others are dropped).
    pub fn wait_for(&self, within: Duration, mut pred: impl FnMut(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            let line = self.recv(left)?;
            if pred(&line) {
                return Some(line);
            }
        }
    }
}

impl<S: Datagrams> Drop for Catcher<S> {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}
