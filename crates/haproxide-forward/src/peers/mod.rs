//! Stick-table synchronisation with remote peers (configuration.txt §3.5
//! "peers"; HAProxy's peers protocol v2.1): each `peers` section listens on
//! its local peer's address and connects to each remote peer; one session per
//! remote peer at a time (a new one, either way, replaces the old), over which
//! both sides push their local updates (table definition, then updates) and
//! acknowledge what they received. A peer that speaks garbage, stalls or
//! floods is cut: a 5 s hello deadline, messages up to 16 KiB, a bounded read
//! buffer, writes bounded by a timeout, silence beyond 5 s ends the session,
//! at most 16 handshakes at once per section.

pub(crate) mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use haproxide_stick::Tables;

pub use wire::WireTable;
use wire::{Dicts, WireError};

/// `PEER_HEARTBEAT_TIMEOUT`: a heartbeat after this much quiet.
const HEARTBEAT: Duration = Duration::from_secs(3);
/// `PEER_RECONNECT_TIMEOUT`: silence that ends a session; reconnect delay.
const SILENCE: Duration = Duration::from_secs(5);
/// Handshakes in progress per section.
const HANDSHAKES: usize = 16;
/// Updates encoded per write.
const BATCH: usize = 64;

/// One `peers` section as the engine runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeersSpec {
    pub section: String,
    /// This process's peer name (`-L`, `localpeer`, or the host name).
    pub local: String,
    /// The local peer's listener (`bind`, or the local `peer` line's address).
    pub bind: Option<crate::spec::ListenAddr>,
    /// The remote peers: name and address (`None`: none usable, only accepted).
    pub remotes: Vec<(String, Option<SocketAddr>)>,
    /// The section's tables.
    pub tables: Vec<WireTable>,
}

/// Why the peers could not start.
#[derive(Debug, thiserror::Error)]
#[error("peers section '{section}': cannot bind: {source}")]
pub struct PeersError {
    pub section: String,
    #[source]
    pub source: std::io::Error,
}

/// A live session: its generation, its stop switch, the connection.
type Live1 = (u64, watch::Sender<bool>, Arc<Conn>);

struct Section {
    spec: PeersSpec,
    tables: Arc<Tables>,
    updates: watch::Receiver<u64>,
    /// The live session per remote peer: its generation, its stop switch,
    /// the connection.
    live: Mutex<HashMap<String, Live1>>,
    gen: std::sync::atomic::AtomicU64,
    /// Bumped when a session ends: a connector waiting for the live session
    /// to end connects at once.
    ended: watch::Sender<u64>,
    handshakes: Arc<Semaphore>,
    /// Kept for the tables' hooks' lifetime (they hold clones).
    _tx: Arc<watch::Sender<u64>>,
}

/// Starts every section's listener and connectors (on the current runtime);
/// tables get a hook that wakes their sessions on each local update.
pub fn start(specs: Vec<PeersSpec>, tables: Arc<Tables>) -> Result<(), PeersError> {
    for spec in specs {
        if spec.remotes.is_empty() {
            continue;
        }
        let (tx, rx) = watch::channel(0u64);
        let tx = Arc::new(tx);
        let listener = match &spec.bind {
            Some(a) => Some(bind(a).map_err(|source| PeersError {
                section: spec.section.clone(),
                source,
            })?),
            None => None,
        };
        let sec = Arc::new(Section {
            spec,
            tables: tables.clone(),
            updates: rx,
            live: Mutex::new(HashMap::new()),
            gen: std::sync::atomic::AtomicU64::new(1),
            ended: watch::channel(0).0,
            handshakes: Arc::new(Semaphore::new(HANDSHAKES)),
            _tx: tx,
        });
        // A local update is written from the thread that made it (the task
        // is woken for what the socket did not take); a lookup first reads
        // what the peers sent.
        for t in &sec.spec.tables {
            if let Some(tb) = tables.list.get(t.index) {
                let tx = sec._tx.clone();
                tb.on_update(Box::new(move || tx.send_modify(|n| *n = n.wrapping_add(1))));
                let (w, r) = (Arc::downgrade(&sec), Arc::downgrade(&sec));
                tb.on_sync(
                    Box::new(move || {
                        if let Some(sec) = w.upgrade() {
                            for c in sec.conns() {
                                c.pump_out(&sec, true);
                            }
                        }
                    }),
                    Box::new(move || {
                        if let Some(sec) = r.upgrade() {
                            for c in sec.conns() {
                                c.pump_in(&sec, true);
                            }
                        }
                    }),
                );
            }
        }
        if let Some(l) = listener {
            tokio::spawn(accept_loop(sec.clone(), l));
        }
        for (name, addr) in sec.spec.remotes.clone() {
            if let Some(a) = addr.filter(|a| a.port() != 0) {
                tokio::spawn(connect_loop(sec.clone(), name, a));
            }
        }
    }
    Ok(())
}

fn bind(a: &crate::spec::ListenAddr) -> std::io::Result<TcpListener> {
    let spec = crate::spec::BindSpec::plain(a.clone());
    let b = crate::listener::bind_one("peers", 0, 0, &spec, 64, &mut HashMap::new())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    TcpListener::from_std(std::net::TcpListener::from(b.sock))
}

async fn accept_loop(sec: Arc<Section>, l: TcpListener) {
    loop {
        let Ok((s, _)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(permit) = sec.handshakes.clone().try_acquire_owned() else {
            continue; // Too many handshakes at once: dropped.
        };
        let sec = sec.clone();
        tokio::spawn(async move {
            let hello = tokio::time::timeout(SILENCE, server_hello(&sec, s)).await;
            drop(permit);
            if let Ok(Some((s, peer, early))) = hello {
                run(sec, s, peer, early).await;
            }
        });
    }
}

/// The accepting side's handshake: three lines, a status line back.
/// The stream, the peer's name, and what it sent after its hello.
async fn server_hello(sec: &Section, s: TcpStream) -> Option<(TcpStream, String, Vec<u8>)> {
    let mut r = BufReader::with_capacity(1024, s);
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = Vec::new();
        let mut lim = (&mut r).take(256);
        lim.read_until(b'\n', &mut line).await.ok()?;
        if line.last() != Some(&b'\n') {
            return None;
        }
        line.pop();
        lines.push(String::from_utf8_lossy(&line).into_owned());
        // A bad first or second line is answered at once.
        let code = match lines.len() {
            1 => proto_code(&lines[0]),
            2 => (lines[1] != sec.spec.local).then_some(503),
            _ => {
                let name = lines[2].split(' ').next().unwrap_or("");
                (!sec.spec.remotes.iter().any(|(n, _)| n == name)).then_some(504)
            }
        };
        if let Some(c) = code {
            let _ = r.get_mut().write_all(format!("{c}\n").as_bytes()).await;
            return None;
        }
    }
    let peer = lines[2].split(' ').next().unwrap_or("").to_string();
    let early = r.buffer().to_vec();
    let mut s = r.into_inner();
    s.write_all(b"200\n").await.ok()?;
    Some((s, peer, early))
}

/// 501 (not the protocol) or 502 (a version other than 2.0/2.1).
fn proto_code(line: &str) -> Option<u16> {
    let Some(v) = line.strip_prefix("HAProxyS ") else {
        return Some(501);
    };
    match v.split_once('.') {
        Some(("2", m)) if m.parse::<u32>().is_ok_and(|m| m <= 1) => None,
        _ => Some(502),
    }
}

/// Connects to a remote peer whenever no session with it is up: failed
/// attempts back off from 100 ms to HAProxy's 5 s reconnect delay (a peer
/// starting at the same time is reached at once). While a session the peer
/// opened is up, waits for its end and connects at once (as HAProxy, whose
/// sync task reconnects when the session is released and the random
/// collision delay is over): a 5 s wait there left both peers without a
/// session after a collision, and updates made meanwhile missed the other.
async fn connect_loop(sec: Arc<Section>, name: String, addr: SocketAddr) {
    let mut delay = Duration::from_millis(100);
    let mut ended = sec.ended.subscribe();
    loop {
        ended.borrow_and_update();
        if !sec.has_live(&name) {
            let hello = tokio::time::timeout(SILENCE, client_hello(&sec, &name, addr)).await;
            if let Ok(Some(s)) = hello {
                run(sec.clone(), s, name.clone(), Vec::new()).await;
                delay = Duration::from_millis(100);
                // HAProxy's collision rule: retry after a random delay.
                let jitter = 50 + u64::from(std::process::id() ^ now_nanos()) % 2000;
                tokio::time::sleep(Duration::from_millis(jitter)).await;
                continue;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(SILENCE);
            continue;
        }
        let _ = tokio::time::timeout(SILENCE, ended.changed()).await;
    }
}

fn now_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

async fn client_hello(sec: &Section, name: &str, addr: SocketAddr) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    let hello = format!(
        "{}\n{name}\n{} {} 1\n",
        wire::PROTO,
        sec.spec.local,
        std::process::id()
    );
    s.write_all(hello.as_bytes()).await.ok()?;
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while line.len() < 16 {
        if s.read(&mut b).await.ok()? == 0 {
            return None;
        }
        if b[0] == b'\n' {
            break;
        }
        line.push(b[0]);
    }
    (line == b"200").then_some(s)
}

impl Section {
    fn has_live(&self, peer: &str) -> bool {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(peer)
    }

    /// Registers a new session for `peer` (the old one is told to stop).
    fn register(&self, peer: &str, conn: Arc<Conn>) -> (u64, watch::Receiver<bool>) {
        let g = self.gen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = watch::channel(false);
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, old, _)) = live.insert(peer.to_string(), (g, tx, conn)) {
            let _ = old.send(true);
        }
        (g, rx)
    }

    fn unregister(&self, peer: &str, g: u64) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if live.get(peer).is_some_and(|(x, _, _)| *x == g) {
            live.remove(peer);
            drop(live);
            self.ended.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// The live connections (a snapshot).
    fn conns(&self) -> Vec<Arc<Conn>> {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.values().map(|(_, _, c)| c.clone()).collect()
    }
}

/// What one session knows.
#[derive(Default)]
struct State {
    /// Per local table (position in the section's list): last update pushed,
    /// defined in this session.
    pushed: Vec<(u32, bool)>,
    /// The table the last update we sent belongs to.
    tx_cur: Option<usize>,
    tx_dicts: Dicts,
    rx_dicts: Dicts,
    /// The sender's table ids → (our position, the sender's data types,
    /// last update received, last acknowledged).
    remote: HashMap<u64, (Option<usize>, u64, u32, u32)>,
    rx_cur: Option<u64>,
    /// A resync was asked: finish it once everything is pushed.
    teach: bool,
}

/// One live session, shared by its task and by the request paths: a local
/// update is written from the thread that made it, and a `stick` lookup first
/// reads what the peer already sent (so that an update a peer wrote before
/// answering its client is seen by the next request here, as HAProxy's
/// single event loop orders it).
pub(crate) struct Conn {
    sock: TcpStream,
    /// The same socket (a duplicate descriptor) for the request paths: tokio's
    /// `try_read` reads only once its reactor has seen the socket readable,
    /// which may not have happened yet when a lookup wants the bytes. The
    /// task uses `sock`, whose readiness its own reads keep right.
    raw: Option<std::net::TcpStream>,
    live: Mutex<Live>,
}

struct Live {
    st: State,
    buf: Vec<u8>,
    out: Vec<u8>,
    last_rx: Instant,
    last_tx: Instant,
    /// Why the session must end (set by whichever side found it).
    end: Option<Option<WireError>>,
}

/// Pending output beyond which no more updates are encoded (the peer is slow:
/// they wait in the table), and beyond which the session is cut.
const OUT_SOFT: usize = 256 * 1024;
const OUT_HARD: usize = 1024 * 1024;
/// Input kept unparsed at most (one message and a read).
const IN_MAX: usize = wire::MAX_BODY + 64 * 1024;

impl Conn {
    fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self, sync: bool, b: &mut [u8]) -> std::io::Result<usize> {
        match (&self.raw, sync) {
            (Some(r), true) => std::io::Read::read(&mut &*r, b),
            _ => self.sock.try_read(b),
        }
    }

    fn write(&self, sync: bool, b: &[u8]) -> std::io::Result<usize> {
        match (&self.raw, sync) {
            (Some(r), true) => std::io::Write::write(&mut &*r, b),
            _ => self.sock.try_write(b),
        }
    }

    /// Reads what is readable now and handles it; acknowledgements queued.
    /// `sync`: from a request path (see [`Conn::raw`]).
    fn pump_in(&self, sec: &Section, sync: bool) {
        let mut l = self.lock();
        let l = &mut *l;
        if l.end.is_some() {
            return;
        }
        let mut rd = [0u8; 4096];
        loop {
            match self.read(sync, &mut rd) {
                Ok(0) => {
                    l.end = Some(None);
                    break;
                }
                Ok(n) => {
                    l.buf.extend_from_slice(&rd[..n]);
                    l.last_rx = Instant::now();
                    if l.buf.len() > IN_MAX {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    l.end = Some(None);
                    break;
                }
            }
        }
        let mut used = 0;
        loop {
            match wire::split(&l.buf[used..]) {
                Ok(Some((c, t, body, n))) => {
                    let body = &l.buf[used..][body];
                    if let Err(e) = handle(sec, &mut l.st, c, t, body, &mut l.out) {
                        l.end = Some(Some(e));
                        break;
                    }
                    used += n;
                }
                Ok(None) => break,
                Err(e) => {
                    l.end = Some(Some(e));
                    break;
                }
            }
        }
        l.buf.drain(..used);
        acks(&mut l.st, &mut l.out);
    }

    /// Encodes local updates (while the output is small) and writes what the
    /// socket takes now; whether more updates wait.
    fn pump_out(&self, sec: &Section, sync: bool) -> bool {
        let mut l = self.lock();
        let l = &mut *l;
        if l.end.is_some() {
            return false;
        }
        let mut more = false;
        if l.out.len() < OUT_SOFT {
            more = push(sec, &mut l.st, &mut l.out);
        }
        while !l.out.is_empty() {
            match self.write(sync, &l.out) {
                Ok(n) => {
                    l.out.drain(..n);
                    l.last_tx = Instant::now();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    l.end = Some(None);
                    return false;
                }
            }
        }
        if l.out.len() > OUT_HARD {
            l.end = Some(None);
        }
        more && l.out.len() < OUT_SOFT
    }
}

async fn run(sec: Arc<Section>, s: TcpStream, peer: String, early: Vec<u8>) {
    let st = State {
        pushed: vec![(0, false); sec.spec.tables.len()],
        ..State::default()
    };
    let now = Instant::now();
    // No Nagle delay (HAProxy sets TCP_NODELAY on its connections): an update
    // written before the client is answered must reach the peer before that
    // client's next request does, not wait for the peer's delayed ACK (40 ms)
    // behind the previous update.
    let _ = s.set_nodelay(true);
    let raw = s
        .into_std()
        .and_then(|std| Ok((std.try_clone().ok(), TcpStream::from_std(std)?)));
    let Ok((raw, s)) = raw else {
        return;
    };
    let conn = Arc::new(Conn {
        raw,
        sock: s,
        live: Mutex::new(Live {
            st,
            buf: early,
            // Learn what the peer has.
            out: wire::short(wire::CLASS_CONTROL, wire::CTRL_RESYNCREQ).to_vec(),
            last_rx: now,
            last_tx: now,
            end: None,
        }),
    });
    let (g, stop) = sec.register(&peer, conn.clone());
    session(&sec, &conn, stop).await;
    sec.unregister(&peer, g);
}

async fn session(sec: &Section, conn: &Conn, mut stop: watch::Receiver<bool>) {
    let mut updates = sec.updates.clone();
    loop {
        conn.pump_in(sec, false);
        let more = conn.pump_out(sec, false);
        let (end, pending, last_rx, last_tx) = {
            let l = conn.lock();
            (l.end, !l.out.is_empty(), l.last_rx, l.last_tx)
        };
        if let Some(e) = end {
            if let Some(e) = e {
                fail(&conn.sock, e).await;
            }
            return;
        }
        if more {
            tokio::task::yield_now().await;
            continue;
        }
        // Silence, or a peer that takes nothing for as long: the end.
        if last_rx.elapsed() >= SILENCE || (pending && last_tx.elapsed() >= SILENCE) {
            return;
        }
        if !pending && last_tx.elapsed() >= HEARTBEAT {
            let mut l = conn.lock();
            l.out
                .extend_from_slice(&wire::short(wire::CLASS_CONTROL, wire::CTRL_HEARTBEAT));
            continue;
        }
        let beat = if pending { SILENCE } else { HEARTBEAT };
        let tick = tokio::time::sleep_until((last_tx + beat).min(last_rx + SILENCE).into());
        let io = async {
            if pending {
                let _ = conn.sock.writable().await;
            } else {
                let _ = conn.sock.readable().await;
            }
        };
        tokio::select! {
            _ = io => {}
            r = conn.sock.readable(), if pending => { let _ = r; }
            _ = updates.changed() => {}
            _ = stop.changed() => return,
            _ = tick => {}
        }
    }
}

/// An error message to the peer, then the end.
async fn fail(s: &TcpStream, e: WireError) {
    let code = match e {
        WireError::Malformed => wire::ERR_PROTOCOL,
        WireError::TooBig => wire::ERR_SIZELIMIT,
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), s.writable()).await;
    let _ = s.try_write(&wire::short(wire::CLASS_ERROR, code));
}

/// Local updates not yet pushed, a batch per table; whether more remain.
fn push(sec: &Section, st: &mut State, out: &mut Vec<u8>) -> bool {
    let now = haproxide_stick::now_ms();
    let mut more = false;
    for (i, wt) in sec.spec.tables.iter().enumerate() {
        let Some(t) = sec.tables.list.get(wt.index) else {
            continue;
        };
        let batch = t.updates_after(st.pushed[i].0, BATCH, now);
        let Some(last) = batch.last().map(|u| u.id) else {
            continue;
        };
        more |= batch.len() == BATCH;
        let id = i as u64 + 1;
        if !st.pushed[i].1 {
            let exp = t.spec.expire.unwrap_or(0);
            wire::define(out, id, wt, t.spec.key, &t.spec.store, exp);
            st.pushed[i].1 = true;
        } else if st.tx_cur != Some(i) {
            wire::switch(out, id);
        }
        st.tx_cur = Some(i);
        for u in &batch {
            wire::update(out, &mut st.tx_dicts, wt, t.spec.key, u);
        }
        st.pushed[i].0 = last;
    }
    if st.teach && !more {
        out.extend_from_slice(&wire::short(wire::CLASS_CONTROL, wire::CTRL_RESYNCFINISHED));
        st.teach = false;
    }
    more
}

fn acks(st: &mut State, out: &mut Vec<u8>) {
    for (id, (_, _, got, acked)) in st.remote.iter_mut() {
        if got != acked {
            wire::ack(out, *id, *got);
            *acked = *got;
        }
    }
}

fn handle(
    sec: &Section,
    st: &mut State,
    class: u8,
    ty: u8,
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    match (class, ty) {
        (wire::CLASS_CONTROL, wire::CTRL_RESYNCREQ) => st.teach = true,
        (wire::CLASS_CONTROL, wire::CTRL_RESYNCFINISHED | wire::CTRL_RESYNCPARTIAL) => {
            out.extend_from_slice(&wire::short(wire::CLASS_CONTROL, wire::CTRL_RESYNCCONFIRM));
        }
        (wire::CLASS_CONTROL, _) => {}
        (wire::CLASS_ERROR, _) => return Err(WireError::Malformed),
        (wire::CLASS_STKT, wire::STKT_DEFINE) => {
            let d = wire::parse_define(body)?;
            let local = sec.spec.tables.iter().position(|wt| {
                let Some(t) = sec.tables.list.get(wt.index) else {
                    return false;
                };
                wt.name.as_bytes() == d.name
                    && wire::key_type(t.spec.key) == d.key_type
                    && u64::from(wt.key_size) == d.key_size
            });
            let prev = st.remote.get(&d.id).map_or((0, 0), |r| (r.2, r.3));
            st.remote.insert(d.id, (local, d.mask, prev.0, prev.1));
            st.rx_cur = Some(d.id);
        }
        (wire::CLASS_STKT, wire::STKT_SWITCH) => st.rx_cur = Some(wire::parse_switch(body)?),
        (wire::CLASS_STKT, wire::STKT_ACK) => {}
        (
            wire::CLASS_STKT,
            wire::STKT_UPDATE
            | wire::STKT_INCUPDATE
            | wire::STKT_UPDATE_TIMED
            | wire::STKT_INCUPDATE_TIMED,
        ) => {
            let Some(cur) = st.rx_cur else {
                return Err(WireError::Malformed);
            };
            let Some(r) = st.remote.get_mut(&cur) else {
                return Err(WireError::Malformed);
            };
            let Some(wt) = r.0.and_then(|i| sec.spec.tables.get(i)) else {
                return Ok(()); // A table we do not share: ignored.
            };
            let Some(t) = sec.tables.list.get(wt.index) else {
                return Ok(());
            };
            let u = wire::parse_update(ty, body, t.spec.key, wt.key_size, r.1, &mut st.rx_dicts)?;
            r.2 = u.id.unwrap_or(r.2.wrapping_add(1));
            t.apply_remote(&u.key, &u.values, haproxide_stick::now_ms());
        }
        _ => {}
    }
    Ok(())
}
