//! The SPOP client of one agent (doc/SPOE.txt §3.2.3 "Workflow"): connections
//! to the agent backend's servers, each opened with a HELLO handshake bounded by
//! `timeout hello`, kept idle for `timeout idle`, and used for one NOTIFY/ACK
//! exchange at a time. Every read is bounded by the negotiated frame size and
//! every wait by a timeout: a hostile or slow agent fails the exchange of the
//! stream that waits on it (`timeout processing`), nothing else.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::frame::{self, Action, Message, Status};

/// Where an agent server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    Tcp(SocketAddr),
    Unix(Arc<Path>),
}

/// The agent backend's servers as the engine sees them: the next usable one
/// (health checks and maintenance honoured by the implementor).
pub trait Servers: Send + Sync + fmt::Debug {
    fn pick(&self) -> Option<Addr>;
}

/// How an exchange failed: the value HAProxy gives the `set-on-error`
/// variable (SPOE.txt `option set-on-error`): 1 timeout, 2 resource, 3 too
/// big, 255 unknown, 256 + N a SPOP status N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure(pub u32);

impl Failure {
    pub const TIMEOUT: Failure = Failure(1);
    pub const RES: Failure = Failure(2);
    pub const TOO_BIG: Failure = Failure(3);
    pub fn spop(s: Status) -> Failure {
        Failure(256 + s as u32)
    }
}

/// The agent's settings (from its `spoe-agent` section and its backend).
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub name: String,
    /// Our `max-frame-size` (announced in HAPROXY-HELLO).
    pub max_frame_size: u32,
    pub pipelining: bool,
    pub timeout_hello: Duration,
    pub timeout_idle: Duration,
    pub timeout_processing: Duration,
    /// The backend's `timeout connect` (else `timeout hello`).
    pub timeout_connect: Option<Duration>,
    /// Idle connections kept at most (memory bound).
    pub max_idle: usize,
}

/// The pause between two attempts to open an agent connection.
const RETRY: Duration = Duration::from_millis(100);

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Conn {
    io: Box<dyn Io>,
    /// The frame size the agent agreed.
    max_frame: u32,
    since: Instant,
}

/// One agent: its idle connections and stream ids.
pub struct Agent {
    pub spec: AgentSpec,
    engine_id: String,
    servers: OnceLock<Arc<dyn Servers>>,
    idle: Mutex<Vec<Conn>>,
    next_stream: AtomicU64,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.spec.name)
            .finish()
    }
}

/// A pseudo-random engine id (HAProxy sends a generated UUID as `engine-id`).
fn engine_uuid() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let a = h.finish();
    let mut h2 = RandomState::new().build_hasher();
    h2.write_u64(a);
    let b = h2.finish();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        (b >> 48) & 0x3FFF | 0x8000,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// Reads one frame (after its 4-byte length), refusing more than `max` bytes.
async fn read_frame(io: &mut (dyn Io + '_), max: u32) -> Result<Vec<u8>, Status> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await.map_err(|_| Status::Io)?;
    let n = u32::from_be_bytes(len);
    if n > max {
        return Err(Status::TooBig);
    }
    let mut buf = vec![0u8; n as usize];
    io.read_exact(&mut buf).await.map_err(|_| Status::Io)?;
    Ok(buf)
}

impl Agent {
    pub fn new(spec: AgentSpec) -> Agent {
        Agent {
            spec,
            engine_id: engine_uuid(),
            servers: OnceLock::new(),
            idle: Mutex::new(Vec::new()),
            next_stream: AtomicU64::new(1),
        }
    }

    /// Binds the agent to its backend's servers (once, when the engine starts).
    pub fn bind(&self, servers: Arc<dyn Servers>) {
        let _ = self.servers.set(servers);
    }

    /// The capabilities announced: `pipelining` when enabled (one frame at a
    /// time per connection is within it); `async` is not offered (an ACK must
    /// come back on the connection of its NOTIFY).
    pub fn capabilities(&self) -> &'static str {
        if self.spec.pipelining {
            "pipelining"
        } else {
            ""
        }
    }

    fn idle_conn(&self) -> Option<Conn> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(c) = idle.pop() {
            if c.since.elapsed() < self.spec.timeout_idle {
                return Some(c);
            }
            // Past `timeout idle`: dropped (closed).
        }
        None
    }

    fn park(&self, mut c: Conn) {
        c.since = Instant::now();
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        idle.retain(|c| c.since.elapsed() < self.spec.timeout_idle);
        if idle.len() < self.spec.max_idle {
            idle.push(c);
        }
    }

    /// Number of idle connections (tests, stats).
    pub fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    async fn connect(&self) -> Result<Conn, Failure> {
        let addr = self
            .servers
            .get()
            .and_then(|s| s.pick())
            .ok_or(Failure::spop(Status::Io))?;
        let tc = self.spec.timeout_connect.unwrap_or(self.spec.timeout_hello);
        let io: Box<dyn Io> = match addr {
            Addr::Tcp(a) => {
                let s = tokio::time::timeout(tc, tokio::net::TcpStream::connect(a))
                    .await
                    .map_err(|_| Failure::spop(Status::Io))?
                    .map_err(|_| Failure::spop(Status::Io))?;
                let _ = s.set_nodelay(true);
                Box::new(s)
            }
            Addr::Unix(p) => Box::new(
                tokio::time::timeout(tc, tokio::net::UnixStream::connect(&*p))
                    .await
                    .map_err(|_| Failure::spop(Status::Io))?
                    .map_err(|_| Failure::spop(Status::Io))?,
            ),
        };
        let mut c = Conn {
            io,
            max_frame: self.spec.max_frame_size,
            since: Instant::now(),
        };
        let hello = frame::haproxy_hello(
            self.spec.max_frame_size,
            self.capabilities(),
            &self.engine_id,
            false,
        );
        let th = self.spec.timeout_hello;
        let r = tokio::time::timeout(th, async {
            c.io.write_all(&hello).await.map_err(|_| Status::Io)?;
            let f = read_frame(&mut *c.io, self.spec.max_frame_size).await?;
            let (h, r) = frame::head(&f)?;
            match h.ty {
                frame::AGENT_HELLO => frame::agent_hello(r, self.spec.max_frame_size),
                frame::AGENT_DISCONNECT => Err(disconnect_status(r)),
                _ => Err(Status::Invalid),
            }
        })
        .await;
        match r {
            Ok(Ok(h)) => {
                c.max_frame = h.max_frame_size;
                Ok(c)
            }
            Ok(Err(st)) => {
                bye(&mut c, st).await;
                Err(Failure::spop(st))
            }
            Err(_) => {
                bye(&mut c, Status::Timeout).await;
                Err(Failure::spop(Status::Timeout))
            }
        }
    }

    /// Sends `msgs` in one NOTIFY and returns the ACK's actions, within
    /// `timeout processing` (the wait for a connection included).
    pub async fn exchange(&self, msgs: &[Message]) -> Result<Vec<Action>, Failure> {
        match tokio::time::timeout(self.spec.timeout_processing, self.exchange_inner(msgs)).await {
            Ok(r) => r,
            Err(_) => Err(Failure::TIMEOUT),
        }
    }

    async fn exchange_inner(&self, msgs: &[Message]) -> Result<Vec<Action>, Failure> {
        // No usable connection: as HAProxy, the stream waits for one (a failed
        // connect or HELLO is retried) until `timeout processing` (error 1).
        let mut c = loop {
            if let Some(c) = self.idle_conn() {
                break c;
            }
            match self.connect().await {
                Ok(c) => break c,
                Err(_) => tokio::time::sleep(RETRY).await,
            }
        };
        let sid = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let fid = 1;
        let notify = match frame::notify(sid, fid, msgs, c.max_frame) {
            Ok(n) => n,
            Err(_) => {
                // Too big for this agent: the connection stays usable.
                self.park(c);
                return Err(Failure::TOO_BIG);
            }
        };
        if c.io.write_all(&notify).await.is_err() {
            return Err(Failure::spop(Status::Io));
        }
        loop {
            let f = match read_frame(&mut *c.io, c.max_frame).await {
                Ok(f) => f,
                Err(st) => {
                    bye(&mut c, st).await;
                    return Err(Failure::spop(st));
                }
            };
            let (h, r) = match frame::head(&f) {
                Ok(x) => x,
                Err(st) => {
                    bye(&mut c, st).await;
                    return Err(Failure::spop(st));
                }
            };
            match h.ty {
                frame::ACK => {
                    if h.stream_id != sid || h.frame_id != fid {
                        bye(&mut c, Status::FrameIdNotFound).await;
                        return Err(Failure::spop(Status::FrameIdNotFound));
                    }
                    if h.flags & frame::FL_FIN == 0 {
                        // Fragmented ACKs are not supported (not announced).
                        bye(&mut c, Status::FragNotSupported).await;
                        return Err(Failure::spop(Status::FragNotSupported));
                    }
                    let acts = match frame::actions(r) {
                        Ok(a) => a,
                        Err(st) => {
                            bye(&mut c, st).await;
                            return Err(Failure::spop(st));
                        }
                    };
                    self.park(c);
                    return Ok(acts);
                }
                frame::AGENT_DISCONNECT => {
                    let st = disconnect_status(r);
                    return Err(Failure(256 + st as u32));
                }
                // Unknown frames may be skipped (§3.2.2); bounded by the
                // processing timeout.
                _ => continue,
            }
        }
    }
}

fn disconnect_status(r: frame::Reader<'_>) -> Status {
    let (code, _) = frame::agent_disconnect(r);
    match code {
        0 => Status::None,
        1 => Status::Io,
        2 => Status::Timeout,
        3 => Status::TooBig,
        4 => Status::Invalid,
        5 => Status::NoVsn,
        6 => Status::NoFrameSize,
        7 => Status::NoCap,
        8 => Status::BadVsn,
        9 => Status::BadFrameSize,
        10 => Status::FragNotSupported,
        11 => Status::InterlacedFrames,
        12 => Status::FrameIdNotFound,
        13 => Status::Res,
        _ => Status::Unknown,
    }
}

/// Sends HAPROXY-DISCONNECT with `st` (best effort, bounded) and closes.
async fn bye(c: &mut Conn, st: Status) {
    let f = frame::haproxy_disconnect(st);
    let _ = tokio::time::timeout(Duration::from_millis(100), c.io.write_all(&f)).await;
    let _ = tokio::time::timeout(Duration::from_millis(100), c.io.shutdown()).await;
}
