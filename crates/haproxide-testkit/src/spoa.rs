//! A mock SPOE agent (doc/SPOE.txt §3, SPOP v2.0) on 127.0.0.1:0, written
//! independently of haproxide's own encoder so frames can be checked byte by
//! byte: it records every frame it reads (without the 4-byte length), answers
//! HAPROXY-HELLO with an AGENT-HELLO and each NOTIFY with an ACK carrying the
//! actions its [`Behaviour`] gives, or misbehaves as told.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tcp::{serve_seen, Mock, Seen};

/// How the agent answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// ACK every NOTIFY with these raw action bytes (LIST-OF-ACTIONS).
    Ack(Vec<u8>),
    /// Answer every frame with bytes that are no frame.
    Garbage,
    /// Announce a frame of this length (after a correct HELLO).
    Oversized(u32),
    /// Wait this long before each ACK.
    Slow(Duration, Vec<u8>),
    /// AGENT-DISCONNECT with this status after the HELLO.
    Disconnect(u32),
    /// Answer the HELLO with this frame-size.
    HelloFrameSize(u32),
}

/// A peers-encoded varint (SPOE.txt §3.1).
pub fn varint(mut v: u64) -> Vec<u8> {
    let mut o = Vec::new();
    if v < 240 {
        o.push(v as u8);
        return o;
    }
    o.push((v as u8) | 240);
    v = (v - 240) >> 4;
    while v >= 128 {
        o.push((v as u8) | 128);
        v = (v - 128) >> 7;
    }
    o.push(v as u8);
    o
}

fn read_varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = u64::from(*b.get(*i)?);
    *i += 1;
    if v < 240 {
        return Some(v);
    }
    let mut shift = 4;
    loop {
        let x = *b.get(*i)?;
        *i += 1;
        v += u64::from(x) << shift;
        shift += 7;
        if x < 128 || shift > 63 {
            return Some(v);
        }
    }
}

/// A SET-VAR action: scope (0 proc .. 4 res), name, a string value.
pub fn set_var_str(scope: u8, name: &str, value: &[u8]) -> Vec<u8> {
    let mut o = vec![1, 3, scope];
    o.extend(varint(name.len() as u64));
    o.extend_from_slice(name.as_bytes());
    o.push(8);
    o.extend(varint(value.len() as u64));
    o.extend_from_slice(value);
    o
}

/// A SET-VAR action with a UINT32 value.
pub fn set_var_u32(scope: u8, name: &str, value: u32) -> Vec<u8> {
    let mut o = vec![1, 3, scope];
    o.extend(varint(name.len() as u64));
    o.extend_from_slice(name.as_bytes());
    o.push(3);
    o.extend(varint(u64::from(value)));
    o
}

/// A frame: length, type, flags FIN, stream and frame ids, payload.
pub fn frame(ty: u8, sid: u64, fid: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![ty, 0, 0, 0, 1];
    f.extend(varint(sid));
    f.extend(varint(fid));
    f.extend_from_slice(payload);
    let mut o = (f.len() as u32).to_be_bytes().to_vec();
    o.extend(f);
    o
}

fn kv_str(o: &mut Vec<u8>, k: &str, v: &str) {
    o.extend(varint(k.len() as u64));
    o.extend_from_slice(k.as_bytes());
    o.push(8);
    o.extend(varint(v.len() as u64));
    o.extend_from_slice(v.as_bytes());
}

fn kv_u32(o: &mut Vec<u8>, k: &str, v: u32) {
    o.extend(varint(k.len() as u64));
    o.extend_from_slice(k.as_bytes());
    o.push(3);
    o.extend(varint(u64::from(v)));
}

/// An AGENT-HELLO payload.
pub fn agent_hello(frame_size: u32, caps: &str) -> Vec<u8> {
    let mut p = Vec::new();
    kv_str(&mut p, "version", "2.0");
    kv_u32(&mut p, "max-frame-size", frame_size);
    kv_str(&mut p, "capabilities", caps);
    frame(101, 0, 0, &p)
}

/// (type, stream id, frame id) of a recorded frame.
pub fn ids(f: &[u8]) -> Option<(u8, u64, u64)> {
    let mut i = 5;
    let sid = read_varint(f, &mut i)?;
    let fid = read_varint(f, &mut i)?;
    Some((*f.first()?, sid, fid))
}

async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let n = u32::from_be_bytes(len) as usize;
    if n > 1 << 20 {
        return None;
    }
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).await.ok()?;
    Some(b)
}

async fn handle(mut s: TcpStream, seen: Seen, b: Arc<Mutex<Behaviour>>) {
    loop {
        let Some(f) = read_frame(&mut s).await else {
            return;
        };
        crate::tcp::record(&seen, &f);
        let behaviour = b.lock().map(|g| g.clone()).unwrap_or(Behaviour::Garbage);
        let Some((ty, sid, fid)) = ids(&f) else {
            return;
        };
        let out = match (ty, behaviour) {
            (_, Behaviour::Garbage) => b"\x00\x00\x00\x05garbage!".to_vec(),
            (1, Behaviour::HelloFrameSize(n)) => agent_hello(n, "pipelining"),
            (1, _) => agent_hello(16380, "pipelining"),
            (2, _) => {
                let mut p = Vec::new();
                kv_u32(&mut p, "status-code", 0);
                kv_str(&mut p, "message", "normal");
                let _ = s.write_all(&frame(102, 0, 0, &p)).await;
                return;
            }
            (3, Behaviour::Ack(a)) => frame(103, sid, fid, &a),
            (3, Behaviour::HelloFrameSize(_)) => frame(103, sid, fid, &[]),
            (3, Behaviour::Slow(d, a)) => {
                tokio::time::sleep(d).await;
                frame(103, sid, fid, &a)
            }
            (3, Behaviour::Oversized(n)) => {
                let mut o = n.to_be_bytes().to_vec();
                o.extend_from_slice(&[103, 0, 0, 0, 1]);
                o
            }
            (3, Behaviour::Disconnect(code)) => {
                let mut p = Vec::new();
                kv_u32(&mut p, "status-code", code);
                kv_str(&mut p, "message", "bye");
                let _ = s.write_all(&frame(102, 0, 0, &p)).await;
                return;
            }
            _ => continue,
        };
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// A mock agent; `behaviour` can be changed while it runs.
pub struct Spoa {
    pub mock: Mock,
    pub behaviour: Arc<Mutex<Behaviour>>,
}

impl Spoa {
    /// Every frame read so far (HELLO, NOTIFY, DISCONNECT), without lengths.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.mock.seen()
    }

    pub fn set(&self, b: Behaviour) {
        if let Ok(mut g) = self.behaviour.lock() {
            *g = b;
        }
    }
}

/// Starts a mock agent on 127.0.0.1:0.
pub async fn start(b: Behaviour) -> Spoa {
    let behaviour = Arc::new(Mutex::new(b));
    let bb = behaviour.clone();
    let mock = serve_seen(move |s, seen| handle(s, seen, bb.clone())).await;
    Spoa { mock, behaviour }
}

/// A mock agent on a thread of its own (for tests without a runtime): its
/// address, the frames it read; stopped when dropped.
pub struct OnThread {
    pub addr: std::net::SocketAddr,
    seen: Seen,
    _thread: crate::tcp::OnThread,
}

impl OnThread {
    pub fn start(b: Behaviour) -> OnThread {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = crate::tcp::OnThread::start(move || async move {
            let s = start(b).await;
            let _ = tx.send(s.mock.seen.clone());
            // The behaviour Arc lives as long as the handler closure.
            s.mock
        });
        let seen = rx
            .recv_timeout(crate::WAIT)
            .unwrap_or_else(|_| Arc::new(Mutex::new(Vec::new())));
        OnThread {
            addr: thread.addr,
            seen,
            _thread: thread,
        }
    }

    /// Every frame read so far, without lengths.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}
