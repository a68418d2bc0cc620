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

struct Section {
    spec: PeersSpec,
    tables: Arc<Tables>,
    updates: watch::Receiver<u64>,
    /// The live session per remote peer: its generation and its stop switch.
    live: Mutex<HashMap<String, (u64, watch::Sender<bool>)>>,
    gen: std::sync::atomic::AtomicU64,
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
        for t in &spec.tables {
            if let Some(tb) = tables.list.get(t.index) {
                let tx = tx.clone();
                tb.on_update(Box::new(move || tx.send_modify(|n| *n = n.wrapping_add(1))));
            }
        }
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
            handshakes: Arc::new(Semaphore::new(HANDSHAKES)),
            _tx: tx,
        });
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
    let spec = crate::spec::BindSpec {
        addr: a.clone(),
        name: None,
        backlog: None,
        maxconn: None,
        v6only: false,
        accept_proxy: false,
        tls: None,
        proto_h2: false,
    };
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
            if let Ok(Some((s, peer))) = hello {
                run(sec, s, peer).await;
            }
        });
    }
}

/// The accepting side's handshake: three lines, a status line back.
async fn server_hello(sec: &Section, s: TcpStream) -> Option<(TcpStream, String)> {
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
    let mut s = r.into_inner();
    s.write_all(b"200\n").await.ok()?;
    Some((s, peer))
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

async fn connect_loop(sec: Arc<Section>, name: String, addr: SocketAddr) {
    loop {
        if !sec.has_live(&name) {
            let hello = tokio::time::timeout(SILENCE, client_hello(&sec, &name, addr)).await;
            if let Ok(Some(s)) = hello {
                run(sec.clone(), s, name.clone()).await;
                // HAProxy's collision rule: retry after a random delay.
                let jitter = 50 + u64::from(std::process::id() ^ now_nanos()) % 2000;
                tokio::time::sleep(Duration::from_millis(jitter)).await;
                continue;
            }
        }
        tokio::time::sleep(SILENCE).await;
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
    fn register(&self, peer: &str) -> (u64, watch::Receiver<bool>) {
        let g = self.gen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = watch::channel(false);
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, old)) = live.insert(peer.to_string(), (g, tx)) {
            let _ = old.send(true);
        }
        (g, rx)
    }

    fn unregister(&self, peer: &str, g: u64) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if live.get(peer).is_some_and(|(x, _)| *x == g) {
            live.remove(peer);
        }
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

async fn run(sec: Arc<Section>, s: TcpStream, peer: String) {
    let (g, stop) = sec.register(&peer);
    let _ = session(&sec, s, stop).await;
    sec.unregister(&peer, g);
}

async fn session(
    sec: &Section,
    mut s: TcpStream,
    mut stop: watch::Receiver<bool>,
) -> Result<(), WireError> {
    let mut st = State {
        pushed: vec![(0, false); sec.spec.tables.len()],
        ..State::default()
    };
    let mut updates = sec.updates.clone();
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut rd = vec![0u8; 4096];
    let mut last_rx = Instant::now();
    let mut last_tx = Instant::now();
    // Learn what the peer has.
    let mut out = wire::short(wire::CLASS_CONTROL, wire::CTRL_RESYNCREQ).to_vec();
    loop {
        let more = push(sec, &mut st, &mut out);
        if !out.is_empty() {
            let w = tokio::time::timeout(SILENCE, s.write_all(&out)).await;
            if !matches!(w, Ok(Ok(()))) {
                return Ok(());
            }
            out.clear();
            last_tx = Instant::now();
        }
        if more {
            continue;
        }
        let tick = tokio::time::sleep_until((last_tx + HEARTBEAT).min(last_rx + SILENCE).into());
        tokio::select! {
            r = s.read(&mut rd) => {
                let n = match r { Ok(0) | Err(_) => return Ok(()), Ok(n) => n };
                buf.extend_from_slice(&rd[..n]);
                last_rx = Instant::now();
                let mut used = 0;
                loop {
                    match wire::split(&buf[used..]) {
                        Ok(Some((c, t, body, n))) => {
                            let body = &buf[used..][body];
                            if let Err(e) = handle(sec, &mut st, c, t, body, &mut out) {
                                return fail(&mut s, e).await;
                            }
                            used += n;
                        }
                        Ok(None) => break,
                        Err(e) => return fail(&mut s, e).await,
                    }
                }
                buf.drain(..used);
                acks(&mut st, &mut out);
            }
            _ = updates.changed() => {}
            _ = stop.changed() => return Ok(()),
            _ = tick => {
                if last_rx.elapsed() >= SILENCE {
                    return Ok(());
                }
                if last_tx.elapsed() >= HEARTBEAT {
                    out.extend_from_slice(&wire::short(wire::CLASS_CONTROL, wire::CTRL_HEARTBEAT));
                }
            }
        }
    }
}

/// An error message to the peer, then the end.
async fn fail(s: &mut TcpStream, e: WireError) -> Result<(), WireError> {
    let code = match e {
        WireError::Malformed => wire::ERR_PROTOCOL,
        WireError::TooBig => wire::ERR_SIZELIMIT,
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        s.write_all(&wire::short(wire::CLASS_ERROR, code)),
    )
    .await;
    Err(e)
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
