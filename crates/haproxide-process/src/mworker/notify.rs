//! systemd's notify protocol (sd_notify(3)), written out: one datagram of
//! `KEY=VALUE` lines to the UNIX socket named by `$NOTIFY_SOCKET` (a path, or an
//! abstract name when it starts with `@`). HAProxy sends the same messages in
//! `-Ws` mode (management.txt §3 `-Ws`, src/mworker.c).

use std::os::unix::net::UnixDatagram;

/// Where notifications go (`None`: not started by systemd, nothing is sent).
#[derive(Debug, Clone)]
pub struct Notifier {
    target: Option<String>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET` (when `enabled`, i.e. with `-Ws`).
    pub fn from_env(enabled: bool) -> Notifier {
        let target = enabled
            .then(|| std::env::var("NOTIFY_SOCKET").ok())
            .flatten()
            .filter(|s| !s.is_empty());
        Notifier { target }
    }

    /// Whether a notify socket is configured.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one message (`"READY=1\nSTATUS=Ready.\n"`). Failures are returned to be
    /// logged: systemd gone must not stop the proxy.
    pub fn send(&self, msg: &str) -> std::io::Result<()> {
        let Some(target) = &self.target else {
            return Ok(());
        };
        let sock = UnixDatagram::unbound()?;
        if let Some(name) = target.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sock.send_to_addr(msg.as_bytes(), &addr)?;
        } else {
            sock.send_to(msg.as_bytes(), target)?;
        }
        Ok(())
    }
}

/// `CLOCK_MONOTONIC` in microseconds (systemd ≥ 253 wants it with `RELOADING=1`).
pub fn monotonic_usec() -> u64 {
    crate::sys::monotonic_usec()
}

/// HAProxy's messages.
pub fn ready(master_pid: u32) -> String {
    format!("READY=1\nMAINPID={master_pid}\nSTATUS=Ready.\n")
}

pub fn reloading() -> String {
    format!(
        "RELOADING=1\nSTATUS=Reloading Configuration.\nMONOTONIC_USEC={}\n",
        monotonic_usec()
    )
}

pub const RELOAD_FAILED: &str = "READY=1\nSTATUS=Reload failed!\n";
pub const STOPPING: &str = "STOPPING=1\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_reach_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("hpx-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).expect("bind");
        let n = Notifier {
            target: Some(path.display().to_string()),
        };
        n.send(&ready(42)).expect("send");
        let mut buf = [0u8; 256];
        let len = rx.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"READY=1\nMAINPID=42\nSTATUS=Ready.\n");
        assert!(reloading().starts_with("RELOADING=1\n"));
        assert!(reloading().contains("MONOTONIC_USEC="));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_socket_nothing_is_sent() {
        let n = Notifier { target: None };
        assert!(!n.enabled());
        assert!(n.send("READY=1\n").is_ok());
    }
}
