//! Listening sockets handed from the old process to the new one during a reload.
//!
//! HAProxy reloads without losing connections by passing its listening sockets to
//! the new process: `-x <socket>` fetches them over a stats socket declared with
//! `expose-fd listeners` (management.txt §4 "Stopping and restarting HAProxy",
//! configuration.txt §5.1 `expose-fd listeners`). With both processes sharing the
//! same sockets, the accept queue is shared too, so nothing is refused or reset while
//! the old process stops.
//!
//! haproxide does the same. Every running process serves its listeners on a UNIX
//! socket ([`default_path`] of its pid). `haproxide -sf PID` and `-x PATH` fetch them
//! there. A fetched socket replaces the bind of the same address in the new
//! configuration; addresses that are no longer configured are simply closed.
//!
//! Wire format, one exchange per connection: the old process sends messages of up to
//! [`FDS_PER_MESSAGE`] descriptors (SCM_RIGHTS). Each message's data holds one line
//! per descriptor: its local address as `getsockname(2)` reports it (`ip:port`, or
//! `unix:PATH`). An empty message ends the list.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// At most this many descriptors per message (Linux's SCM_MAX_FD is 253).
pub const FDS_PER_MESSAGE: usize = 200;

/// Where the process with `pid` serves its listeners.
pub fn default_path(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("haproxide-{pid}.listeners.sock"))
}

/// A socket's local address, as a stable text key.
pub fn local_key(fd: RawFd) -> Option<String> {
    // SAFETY: a zeroed sockaddr_storage is a valid out-buffer for getsockname, and
    // `len` holds its size; `fd` is only read.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: as above.
    let r = unsafe {
        libc::getsockname(
            fd,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return None;
    }
    match i32::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((&ss as *const libc::sockaddr_storage).cast()) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(std::net::SocketAddr::from((ip, u16::from_be(sin.sin_port))).to_string())
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((&ss as *const libc::sockaddr_storage).cast()) };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(std::net::SocketAddr::from((ip, u16::from_be(sin6.sin6_port))).to_string())
        }
        libc::AF_UNIX => {
            // SAFETY: the family says the storage holds a sockaddr_un.
            let sun: libc::sockaddr_un =
                unsafe { std::ptr::read((&ss as *const libc::sockaddr_storage).cast()) };
            let bytes: Vec<u8> = sun
                .sun_path
                .iter()
                .take_while(|c| **c != 0)
                .map(|c| *c as u8)
                .collect();
            Some(format!("unix:{}", String::from_utf8_lossy(&bytes)))
        }
        _ => None,
    }
}

fn send_with_fds(sock: &UnixStream, data: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of_val(fds) as u32) } as usize;
    let mut cbuf = vec![0u8; space.max(1)];
    // SAFETY: msghdr is plain data; every pointer set below points into live buffers
    // (`iov`, `cbuf`) that outlive the sendmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points to a buffer of CMSG_SPACE(len) bytes, so the first
        // header and its data fit.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            if cmsg.is_null() {
                return Err(io::Error::other("no room for the control message"));
            }
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of_val(fds) as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr(),
                libc::CMSG_DATA(cmsg).cast::<RawFd>(),
                fds.len(),
            );
        }
    }
    // SAFETY: `msg` is fully initialised above.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receive one message: its data and the descriptors it carried (owned).
fn recv_with_fds(sock: &UnixStream) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut data = vec![0u8; 64 * 1024];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE((FDS_PER_MESSAGE * std::mem::size_of::<RawFd>()) as u32) }
        as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: plain data; pointers refer to `iov` and `cbuf`, alive during recvmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` describes valid buffers; MSG_CMSG_CLOEXEC marks received fds
    // close-on-exec.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    data.truncate(n as usize);
    let mut fds = Vec::new();
    // SAFETY: walking the control messages the kernel wrote into `cbuf`, bounded by
    // msg_controllen; each SCM_RIGHTS payload is an array of fds now owned by us.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let payload = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let count = payload / std::mem::size_of::<RawFd>();
                let base = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..count {
                    let fd = std::ptr::read_unaligned(base.add(i));
                    if fd >= 0 {
                        fds.push(OwnedFd::from_raw_fd(fd));
                    }
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((data, fds))
}

/// Serves this process's listening sockets to a successor.
pub struct Server {
    path: PathBuf,
    /// Set once a successor fetched the sockets: on stop, leave them open for it.
    pub handed_over: Arc<AtomicBool>,
}

impl Server {
    /// Listen at `path` (mode 0600) and answer each connection with the descriptors
    /// `fds()` returns at that moment. Runs on its own thread.
    pub fn start<F>(path: PathBuf, fds: F) -> io::Result<Server>
    where
        F: Fn() -> Vec<RawFd> + Send + 'static,
    {
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let handed_over = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&handed_over);
        std::thread::Builder::new()
            .name("haproxide-handover".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    let list = fds();
                    let mut ok = true;
                    for chunk in list.chunks(FDS_PER_MESSAGE) {
                        let lines: String = chunk
                            .iter()
                            .map(|fd| format!("{}\n", local_key(*fd).unwrap_or_default()))
                            .collect();
                        if send_with_fds(&conn, lines.as_bytes(), chunk).is_err() {
                            ok = false;
                            break;
                        }
                    }
                    // An empty message ends the list.
                    if ok && send_with_fds(&conn, b"\n", &[]).is_ok() && !list.is_empty() {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
            })?;
        Ok(Server { path, handed_over })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Fetch the listening sockets of the process serving at `path`: local address →
/// descriptor.
pub fn fetch(path: &Path) -> io::Result<HashMap<String, OwnedFd>> {
    let sock = UnixStream::connect(path)?;
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut out = HashMap::new();
    loop {
        let (data, fds) = recv_with_fds(&sock)?;
        if data.is_empty() || (data == b"\n" && fds.is_empty()) {
            break;
        }
        let keys: Vec<&str> = std::str::from_utf8(&data).unwrap_or("").lines().collect();
        for (key, fd) in keys.into_iter().zip(fds) {
            if !key.is_empty() {
                out.insert(key.to_string(), fd);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn listeners_cross_processes_boundaries_with_their_queue() {
        let dir = std::env::temp_dir().join(format!("hpx-handover-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("l.sock");
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let fd = tcp.as_raw_fd();
        let server = Server::start(path.clone(), move || vec![fd]).expect("serve");
        // A client connects before the handover: it waits in the shared accept queue.
        let mut early = std::net::TcpStream::connect(addr).expect("connect");
        early.write_all(b"hi").expect("write");
        let got = fetch(&path).expect("fetch");
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
        let _ = std::fs::remove_dir_all(&dir);
    }
}
