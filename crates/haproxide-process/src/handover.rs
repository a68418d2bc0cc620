//! Listening sockets handed from the old process to the new one during a reload.
//!
//! HAProxy reloads without losing connections by passing its listening sockets to
//! the new process: `-x <socket>` fetches them over a stats socket declared with
//! `expose-fd listeners` (management.txt §4 "Stopping and restarting HAProxy",
//! configuration.txt §5.1 `expose-fd listeners`). With both processes sharing the
//! same sockets, the accept queue is shared too, so nothing is refused or reset while
//! the old process stops.
//!
//! haproxide does the same, guarded against local users (issue 13 row 1):
//!
//! - every running process serves its listeners on a UNIX socket inside a
//!   directory it creates fresh ([`default_dir`]: mkdir mode 0700, refused if the
//!   name exists, so never one another user made);
//! - `haproxide -sf PID` fetches them there only if that directory is private
//!   (a real directory, not a link, owned by an accepted uid, no group/other
//!   access), the peer's `SO_PEERCRED` names an accepted uid and exactly PID;
//!   `-x PATH` (the explicit, documented way) checks the peer's uid;
//! - each received descriptor is trusted for what the kernel says it is, not for
//!   the sender's label: a listening stream socket whose `getsockname(2)` address
//!   is one the new configuration binds ([`fetch`] keys it by that address).
//!
//! Wire format, one exchange per connection: the old process sends messages of up to
//! [`FDS_PER_MESSAGE`] descriptors (SCM_RIGHTS). Each message's data holds one line
//! per descriptor: its local address (informative only). An empty message ends
//! the list.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::sys;

/// At most this many descriptors per message (Linux's SCM_MAX_FD is 253).
pub const FDS_PER_MESSAGE: usize = 200;

/// The private directory where the process with `pid` serves its listeners.
pub fn default_dir(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("haproxide-{pid}.handover"))
}

/// Where the process with `pid` serves its listeners.
pub fn default_path(pid: u32) -> PathBuf {
    default_dir(pid).join("listeners.sock")
}

/// The pid in a [`default_path`] (`.../haproxide-<pid>.handover/listeners.sock`).
pub fn pid_of_path(path: &Path) -> Option<u32> {
    let dir = path.parent()?.file_name()?.to_str()?;
    dir.strip_prefix("haproxide-")?
        .strip_suffix(".handover")?
        .parse()
        .ok()
}

/// Why a handover source is not trusted.
fn refuse(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, what)
}

/// Creates `dir` fresh, mode 0700: fails if anything (a directory, a link, a
/// file) already has that name, so the directory is always this process's own.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    // The umask may have removed bits, never added: make it exactly 0700.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// `dir` is a real directory (not a symbolic link) owned by one of `uids`, with no
/// access for group or others.
pub fn check_private_dir(dir: &Path, uids: &[u32]) -> io::Result<()> {
    let m = std::fs::symlink_metadata(dir)?;
    if !m.file_type().is_dir() {
        return Err(refuse(format!("{} is not a directory", dir.display())));
    }
    if !uids.contains(&m.uid()) {
        return Err(refuse(format!(
            "{} belongs to uid {}, not to this process",
            dir.display(),
            m.uid()
        )));
    }
    if m.mode() & 0o077 != 0 {
        return Err(refuse(format!(
            "{} is open to other users (mode {:o})",
            dir.display(),
            m.mode() & 0o7777
        )));
    }
    Ok(())
}

/// Serves this process's listening sockets to a successor.
pub struct Server {
    path: PathBuf,
    /// Set when the sockets are sent to a successor (before the first one leaves):
    /// on stop, leave them open for it.
    pub handed_over: Arc<AtomicBool>,
}

impl Server {
    /// Creates `dir` fresh (mode 0700, refused if the name exists), listens on
    /// `listeners.sock` inside it and answers each connection with the descriptors
    /// `fds()` returns at that moment. Runs on its own thread. `owner`: the uid/gid
    /// the process will drop to (`user`/`group`), given the directory and socket so
    /// that it can still remove them when it exits.
    pub fn start<F>(dir: PathBuf, owner: Option<(u32, Option<u32>)>, fds: F) -> io::Result<Server>
    where
        F: Fn() -> Vec<RawFd> + Send + 'static,
    {
        create_private_dir(&dir)?;
        let path = dir.join("listeners.sock");
        let bound = UnixListener::bind(&path).and_then(|l| {
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&path, Some(uid), gid)?;
                std::os::unix::fs::chown(&dir, Some(uid), gid)?;
            }
            Ok(l)
        });
        let listener = match bound {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_dir(&dir);
                return Err(e);
            }
        };
        let handed_over = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&handed_over);
        std::thread::Builder::new()
            .name("haproxide-handover".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    let list = fds();
                    // Set before the first descriptor leaves, not after the last: the
                    // successor may signal the soft stop as soon as it has them, and a
                    // stop that found the flag unset would shut the shared sockets down
                    // under it. Set in vain (the send fails), it only means our copies
                    // are closed without shutdown(2), which closes unshared sockets too.
                    if !list.is_empty() {
                        flag.store(true, Ordering::SeqCst);
                    }
                    let mut ok = true;
                    for chunk in list.chunks(FDS_PER_MESSAGE) {
                        let lines: String = chunk
                            .iter()
                            .map(|fd| format!("{}\n", sys::local_key(*fd).unwrap_or_default()))
                            .collect();
                        if sys::send_with_fds(&conn, lines.as_bytes(), chunk).is_err() {
                            ok = false;
                            break;
                        }
                    }
                    // An empty message ends the list.
                    if ok {
                        let _ = sys::send_with_fds(&conn, b"\n", &[]);
                    }
                }
            })?;
        Ok(Server { path, handed_over })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Server {
    /// Also answers each connection on `tables.sock` (same directory) with
    /// `data()` at that moment, then closes: the stick tables a successor
    /// takes over (haproxide_stick::handover). Runs on its own thread.
    pub fn serve_tables<F>(&self, owner: Option<(u32, Option<u32>)>, data: F) -> io::Result<()>
    where
        F: Fn() -> Vec<u8> + Send + 'static,
    {
        let dir = self.path.parent().unwrap_or(Path::new("/nonexistent"));
        let path = dir.join(TABLES);
        let listener = UnixListener::bind(&path)?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&path, Some(uid), gid)?;
        }
        std::thread::Builder::new()
            .name("haproxide-tables".into())
            .spawn(move || {
                use std::io::Write;
                for conn in listener.incoming() {
                    let Ok(mut conn) = conn else { continue };
                    let _ = conn.set_write_timeout(Some(std::time::Duration::from_secs(5)));
                    let _ = conn.write_all(&data());
                }
            })?;
        Ok(())
    }
}

/// The stick tables' socket next to `listeners.sock`.
const TABLES: &str = "tables.sock";

/// What the process serving `listeners` (a [`default_path`]) hands over of its
/// stick tables, at most `max` bytes; the same trust as [`fetch`].
pub fn fetch_tables(listeners: &Path, trust: &Trust, max: usize) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let dir = listeners
        .parent()
        .ok_or_else(|| refuse(format!("{}: no directory", listeners.display())))?;
    check_private_dir(dir, &trust.uids)?;
    let path = dir.join(TABLES);
    let sock = UnixStream::connect(&path)?;
    check_peer(&sock, &path, trust)?;
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut out = Vec::new();
    sock.take(max as u64 + 1).read_to_end(&mut out)?;
    if out.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: more than {max} bytes", path.display()),
        ));
    }
    Ok(out)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_file(dir.join(TABLES));
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Whom a fetch trusts.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Accepted owners of the directory and of the peer process: this process's
    /// effective uid, and the uid the configuration drops to, if any.
    pub uids: Vec<u32>,
    /// `-sf PID`: the peer must be exactly that process, and the socket's directory
    /// must be private ([`check_private_dir`]). None for an explicit `-x PATH`.
    pub pid: Option<u32>,
}

impl Trust {
    /// This process's effective uid, plus `also` (the configured `uid`/`user`).
    pub fn this_user(also: Option<u32>, pid: Option<u32>) -> Trust {
        let mut uids = vec![sys::euid()];
        uids.extend(also.filter(|u| !uids.contains(u)));
        Trust { uids, pid }
    }
}

/// Fetch the listening sockets of the process serving at `path`, if `trust`
/// accepts it: real local address (getsockname) → descriptor, listening stream
/// sockets only. The sender's labels are ignored.
pub fn fetch(path: &Path, trust: &Trust) -> io::Result<HashMap<String, OwnedFd>> {
    if trust.pid.is_some() {
        let dir = path
            .parent()
            .ok_or_else(|| refuse(format!("{}: no directory", path.display())))?;
        check_private_dir(dir, &trust.uids)?;
    }
    let sock = UnixStream::connect(path)?;
    check_peer(&sock, path, trust)?;
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut out = HashMap::new();
    loop {
        let (data, fds) = sys::recv_with_fds(&sock)?;
        if data.is_empty() || (data == b"\n" && fds.is_empty()) {
            break;
        }
        for fd in fds {
            keep_listener(fd, &mut out);
        }
    }
    Ok(out)
}

/// The peer of `sock` (connected to `path`) is one `trust` accepts: its
/// `SO_PEERCRED` uid is an accepted one, and its pid the named one if any.
pub(crate) fn check_peer(sock: &UnixStream, path: &Path, trust: &Trust) -> io::Result<()> {
    let (pid, uid, _) = sys::peer_cred(sock.as_raw_fd())?;
    if !trust.uids.contains(&uid) {
        return Err(refuse(format!(
            "{} is served by uid {uid}, not by this user",
            path.display()
        )));
    }
    if trust.pid.is_some_and(|want| want != pid) {
        return Err(refuse(format!(
            "{} is served by pid {pid}, not by the process being replaced",
            path.display()
        )));
    }
    Ok(())
}

/// Keeps a received descriptor only if the kernel says it is a listening stream
/// socket, keyed by its real local address (getsockname); anything else is closed.
pub(crate) fn keep_listener(fd: OwnedFd, out: &mut HashMap<String, OwnedFd>) {
    if !sys::is_listening_stream(fd.as_raw_fd()) {
        return;
    }
    if let Some(key) = sys::local_key(fd.as_raw_fd()) {
        out.insert(key, fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn listeners_cross_processes_boundaries_with_their_queue() {
        let dir = std::env::temp_dir().join(format!("hpx-handover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("listeners.sock");
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let fd = tcp.as_raw_fd();
        let server = Server::start(dir.clone(), None, move || vec![fd]).expect("serve");
        // A client connects before the handover: it waits in the shared accept queue.
        let mut early = std::net::TcpStream::connect(addr).expect("connect");
        early.write_all(b"hi").expect("write");
        let trust = Trust::this_user(None, Some(std::process::id()));
        let got = fetch(&path, &trust).expect("fetch");
        // The server marks the hand-over after its reply is written: the
        // client may read the reply first (CI saw it once).
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !server.handed_over.load(Ordering::SeqCst) && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(server.handed_over.load(Ordering::SeqCst));
        let fd = got
            .get(&addr.to_string())
            .expect("the socket, keyed by its address");
        let dup = fd.try_clone().expect("dup");
        let received = std::net::TcpListener::from(dup);
        drop(tcp); // the old process lets go of its descriptor
        let (mut s, _) = received
            .accept()
            .expect("the queued connection is still there");
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"hi");
        drop(server);
        assert!(!path.exists(), "the socket file is removed");
        assert!(!dir.exists(), "and its directory");
    }

    /// Issue 13 row 1, in process: a directory that already exists is never used,
    /// a foreign or open one is refused, a peer other than the named pid is refused,
    /// and a descriptor is keyed by its real address, not by its label.
    #[test]
    fn handover_trusts_only_a_private_directory_the_named_peer_and_real_addresses() {
        let base = std::env::temp_dir().join(format!("hpx-trust-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).expect("base");
        // Exists already: refused, left as it was.
        let taken = base.join("taken");
        std::fs::create_dir(&taken).expect("mkdir");
        assert!(Server::start(taken.clone(), None, Vec::new).is_err());
        // Open to others, or owned by another uid: refused.
        std::fs::set_permissions(&taken, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let me = Trust::this_user(None, Some(std::process::id()));
        assert!(check_private_dir(&taken, &me.uids).is_err());
        std::fs::set_permissions(&taken, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(check_private_dir(&taken, &me.uids).is_ok());
        assert!(check_private_dir(&taken, &[sys::euid().wrapping_add(1)]).is_err());
        // A link to a private directory is not one.
        let link = base.join("link");
        std::os::unix::fs::symlink(&taken, &link).expect("symlink");
        assert!(check_private_dir(&link, &me.uids).is_err());
        // A sender labelling a socket with another address: keyed by the real one;
        // a connected (not listening) socket is dropped.
        let real = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let other = std::net::TcpStream::connect(real.local_addr().expect("addr")).expect("c");
        let (rfd, ofd) = (real.as_raw_fd(), other.as_raw_fd());
        let dir = base.join("srv");
        let server = Server::start(dir.clone(), None, move || vec![rfd, ofd]).expect("serve");
        // The socket is created inside a directory that is 0700 from its mkdir on:
        // no window where another user could reach it (issue 13 row 11).
        let mode = std::fs::symlink_metadata(&dir)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o700);
        let got = fetch(server.path(), &me).expect("fetch");
        assert_eq!(
            got.keys().cloned().collect::<Vec<_>>(),
            vec![real.local_addr().expect("addr").to_string()]
        );
        // The right directory and uid, but the pid named by -sf is another one.
        let wrong_pid = Trust::this_user(None, Some(1));
        let e = fetch(server.path(), &wrong_pid).expect_err("pid");
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        drop(server);
        let _ = std::fs::remove_dir_all(&base);
    }
}
