//! SPOP v2.0 frames, sans-IO (doc/SPOE.txt §3 "SPOP specification"): varints,
//! typed data, the frames HAProxy sends (HAPROXY-HELLO, NOTIFY,
//! HAPROXY-DISCONNECT) and the checked decoding of what an agent sends
//! (AGENT-HELLO, ACK, AGENT-DISCONNECT). Every read is bounds-checked: a
//! malformed frame is an [`Status`], never a panic.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Frame types (§3.2.2).
pub const HAPROXY_HELLO: u8 = 1;
pub const HAPROXY_DISCONNECT: u8 = 2;
pub const NOTIFY: u8 = 3;
pub const AGENT_HELLO: u8 = 101;
pub const AGENT_DISCONNECT: u8 = 102;
pub const ACK: u8 = 103;

/// Flags (§3.2): FIN (bit 0) and ABORT (bit 1).
pub const FL_FIN: u32 = 1;
pub const FL_ABRT: u32 = 2;

/// Typed data (§3.1): the type in the low 4 bits, flags in the high ones
/// (HAProxy's `SPOE_DATA_T_MASK` 0x0F; a true boolean is `0x11`).
pub const T_NULL: u8 = 0;
pub const T_BOOL: u8 = 1;
pub const T_INT32: u8 = 2;
pub const T_UINT32: u8 = 3;
pub const T_INT64: u8 = 4;
pub const T_UINT64: u8 = 5;
pub const T_IPV4: u8 = 6;
pub const T_IPV6: u8 = 7;
pub const T_STR: u8 = 8;
pub const T_BIN: u8 = 9;
pub const FL_TRUE: u8 = 0x10;

/// Action types (§3.4).
pub const ACT_SET_VAR: u8 = 1;
pub const ACT_UNSET_VAR: u8 = 2;

/// Smallest frame size peers must accept (§3.2).
pub const MIN_FRAME_SIZE: u32 = 256;

/// Status codes (§3.5 "Errors & timeouts").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Status {
    None = 0,
    Io = 1,
    Timeout = 2,
    TooBig = 3,
    Invalid = 4,
    NoVsn = 5,
    NoFrameSize = 6,
    NoCap = 7,
    BadVsn = 8,
    BadFrameSize = 9,
    FragNotSupported = 10,
    InterlacedFrames = 11,
    FrameIdNotFound = 12,
    Res = 13,
    Unknown = 99,
}

impl Status {
    /// HAProxy's `spoe_frm_err_reasons` text, sent in HAPROXY-DISCONNECT.
    pub fn reason(self) -> &'static str {
        match self {
            Status::None => "normal",
            Status::Io => "I/O error",
            Status::Timeout => "a timeout occurred",
            Status::TooBig => "frame is too big",
            Status::Invalid => "invalid frame received",
            Status::NoVsn => "version value not found",
            Status::NoFrameSize => "max-frame-size value not found",
            Status::NoCap => "capabilities value not found",
            Status::BadVsn => "unsupported version",
            Status::BadFrameSize => "max-frame-size too big or too small",
            Status::FragNotSupported => "payload fragmentation is not supported",
            Status::InterlacedFrames => "invalid interlaced frames",
            Status::FrameIdNotFound => "frame-id not found",
            Status::Res => "resource allocation error",
            Status::Unknown => "an unknown error occurred",
        }
    }
}

/// A typed value (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Int32(i32),
    Uint32(u32),
    Int64(i64),
    Uint64(u64),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    Str(Vec<u8>),
    Bin(Vec<u8>),
}

/// Appends `v` as HAProxy's varint (`encode_varint`).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    if v < 240 {
        out.push(v as u8);
        return;
    }
    out.push((v as u8) | 240);
    v = (v - 240) >> 4;
    while v >= 128 {
        out.push((v as u8) | 128);
        v = (v - 128) >> 7;
    }
    out.push(v as u8);
}

/// A reader over a frame's bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn u8(&mut self) -> Result<u8, Status> {
        let b = *self.buf.get(self.pos).ok_or(Status::Invalid)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Status> {
        let end = self.pos.checked_add(n).ok_or(Status::Invalid)?;
        let s = self.buf.get(self.pos..end).ok_or(Status::Invalid)?;
        self.pos = end;
        Ok(s)
    }

    pub fn u32be(&mut self) -> Result<u32, Status> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// HAProxy's `decode_varint`; more than 10 bytes (beyond 64 bits) is invalid.
    pub fn varint(&mut self) -> Result<u64, Status> {
        let first = self.u8()?;
        let mut v = u64::from(first);
        if v < 240 {
            return Ok(v);
        }
        let mut shift: u32 = 4;
        loop {
            let b = self.u8()?;
            if shift > 63 {
                return Err(Status::Invalid);
            }
            v = v.wrapping_add(u64::from(b).wrapping_shl(shift));
            shift += 7;
            if b < 128 {
                return Ok(v);
            }
        }
    }

    /// A length-prefixed string.
    pub fn string(&mut self) -> Result<&'a [u8], Status> {
        let n = usize::try_from(self.varint()?).map_err(|_| Status::Invalid)?;
        self.take(n)
    }

    pub fn value(&mut self) -> Result<Value, Status> {
        let t = self.u8()?;
        Ok(match t & 0x0F {
            T_NULL => Value::Null,
            T_BOOL => Value::Bool(t & FL_TRUE != 0),
            T_INT32 => Value::Int32(self.varint()? as i32),
            T_UINT32 => Value::Uint32(self.varint()? as u32),
            T_INT64 => Value::Int64(self.varint()? as i64),
            T_UINT64 => Value::Uint64(self.varint()?),
            T_IPV4 => {
                let b = self.take(4)?;
                Value::Ipv4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            T_IPV6 => {
                let b = self.take(16)?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Value::Ipv6(Ipv6Addr::from(a))
            }
            T_STR => Value::Str(self.string()?.to_vec()),
            T_BIN => Value::Bin(self.string()?.to_vec()),
            _ => return Err(Status::Invalid),
        })
    }
}

pub fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

pub fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(T_NULL),
        Value::Bool(b) => out.push(T_BOOL | if *b { FL_TRUE } else { 0 }),
        Value::Int32(i) => {
            out.push(T_INT32);
            put_varint(out, *i as i64 as u64);
        }
        Value::Uint32(i) => {
            out.push(T_UINT32);
            put_varint(out, u64::from(*i));
        }
        Value::Int64(i) => {
            out.push(T_INT64);
            put_varint(out, *i as u64);
        }
        Value::Uint64(i) => {
            out.push(T_UINT64);
            put_varint(out, *i);
        }
        Value::Ipv4(a) => {
            out.push(T_IPV4);
            out.extend_from_slice(&a.octets());
        }
        Value::Ipv6(a) => {
            out.push(T_IPV6);
            out.extend_from_slice(&a.octets());
        }
        Value::Str(s) => {
            out.push(T_STR);
            put_string(out, s);
        }
        Value::Bin(s) => {
            out.push(T_BIN);
            put_string(out, s);
        }
    }
}

/// Starts a frame: a placeholder length, type, flags (FIN), stream and frame ids.
pub fn begin(out: &mut Vec<u8>, ty: u8, stream_id: u64, frame_id: u64) {
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.push(ty);
    out.extend_from_slice(&FL_FIN.to_be_bytes());
    put_varint(out, stream_id);
    put_varint(out, frame_id);
}

/// Writes the length of the frame started at `start`; `Err(TooBig)` when the
/// frame (without its 4-byte length) exceeds `max`.
pub fn finish(out: &mut [u8], start: usize, max: u32) -> Result<(), Status> {
    let len = out.len().saturating_sub(start + 4);
    let len32 = u32::try_from(len).map_err(|_| Status::TooBig)?;
    if len32 > max {
        return Err(Status::TooBig);
    }
    out[start..start + 4].copy_from_slice(&len32.to_be_bytes());
    Ok(())
}

/// HAPROXY-HELLO (§3.2.4).
pub fn haproxy_hello(max_frame: u32, caps: &str, engine_id: &str, healthcheck: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    begin(&mut out, HAPROXY_HELLO, 0, 0);
    put_string(&mut out, b"supported-versions");
    put_value(&mut out, &Value::Str(b"2.0".to_vec()));
    put_string(&mut out, b"max-frame-size");
    put_value(&mut out, &Value::Uint32(max_frame));
    put_string(&mut out, b"capabilities");
    put_value(&mut out, &Value::Str(caps.as_bytes().to_vec()));
    if healthcheck {
        put_string(&mut out, b"healthcheck");
        put_value(&mut out, &Value::Bool(true));
    }
    put_string(&mut out, b"engine-id");
    put_value(&mut out, &Value::Str(engine_id.as_bytes().to_vec()));
    let _ = finish(&mut out, 0, u32::MAX);
    out
}

/// HAPROXY-DISCONNECT (§3.2.8).
pub fn haproxy_disconnect(status: Status) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    begin(&mut out, HAPROXY_DISCONNECT, 0, 0);
    put_string(&mut out, b"status-code");
    put_value(&mut out, &Value::Uint32(status as u32));
    put_string(&mut out, b"message");
    put_value(&mut out, &Value::Str(status.reason().as_bytes().to_vec()));
    let _ = finish(&mut out, 0, u32::MAX);
    out
}

/// One message of a NOTIFY frame: its name and (name, value) arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub name: String,
    pub args: Vec<(String, Value)>,
}

/// NOTIFY (§3.2.6) with `msgs`; `Err(TooBig)` over `max` (HAProxy does not
/// fragment by default either: set-on-error code 3).
pub fn notify(
    stream_id: u64,
    frame_id: u64,
    msgs: &[Message],
    max: u32,
) -> Result<Vec<u8>, Status> {
    let mut out = Vec::with_capacity(256);
    begin(&mut out, NOTIFY, stream_id, frame_id);
    for m in msgs {
        put_string(&mut out, m.name.as_bytes());
        // NB-ARGS is one byte: HAProxy's parser cannot declare more than 64
        // words on a line, so this never truncates a real configuration.
        out.push(m.args.len().min(255) as u8);
        for (n, v) in m.args.iter().take(255) {
            put_string(&mut out, n.as_bytes());
            put_value(&mut out, v);
        }
        if out.len() > max as usize + 4 {
            return Err(Status::TooBig);
        }
    }
    finish(&mut out, 0, max)?;
    Ok(out)
}

/// The head of a frame from an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub ty: u8,
    pub flags: u32,
    pub stream_id: u64,
    pub frame_id: u64,
}

/// Splits a frame (without its 4-byte length) into its head and payload.
pub fn head(frame: &[u8]) -> Result<(Head, Reader<'_>), Status> {
    let mut r = Reader::new(frame);
    let ty = r.u8()?;
    let flags = r.u32be()?;
    let stream_id = r.varint()?;
    let frame_id = r.varint()?;
    Ok((
        Head {
            ty,
            flags,
            stream_id,
            frame_id,
        },
        r,
    ))
}

/// A KV-LIST payload (§3.2): every (name, value).
pub fn kv_list(mut r: Reader<'_>) -> Result<Vec<(Vec<u8>, Value)>, Status> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let k = r.string()?.to_vec();
        let v = r.value()?;
        out.push((k, v));
    }
    Ok(out)
}

/// What an AGENT-HELLO (§3.2.5) agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentHello {
    pub version: String,
    pub max_frame_size: u32,
    pub pipelining: bool,
    pub async_: bool,
    pub fragmentation: bool,
}

/// Checks an AGENT-HELLO payload against what HAProxy offered
/// (`spoe_handle_agenthello_frame`): version 2.x, a frame size in [256, ours],
/// capabilities present.
pub fn agent_hello(r: Reader<'_>, our_max: u32) -> Result<AgentHello, Status> {
    let kv = kv_list(r)?;
    let find = |k: &str| kv.iter().find(|(n, _)| n == k.as_bytes()).map(|(_, v)| v);
    let version = match find("version") {
        Some(Value::Str(s)) => String::from_utf8_lossy(s).trim().to_string(),
        _ => return Err(Status::NoVsn),
    };
    // Supported: "2.0" (HAProxy announces "2.0": any 2.x minor ≤ 0 ... HAProxy
    // accepts a version whose major is 2 and minor ≤ its own).
    let (maj, min) = version.split_once('.').ok_or(Status::BadVsn)?;
    if maj.trim() != "2" || min.trim().parse::<u32>().map_or(true, |m| m > 0) {
        return Err(Status::BadVsn);
    }
    let max_frame_size = match find("max-frame-size") {
        Some(Value::Uint32(n)) => *n,
        Some(Value::Int32(n)) => u32::try_from(*n).map_err(|_| Status::BadFrameSize)?,
        Some(Value::Uint64(n)) => u32::try_from(*n).map_err(|_| Status::BadFrameSize)?,
        Some(Value::Int64(n)) => u32::try_from(*n).map_err(|_| Status::BadFrameSize)?,
        _ => return Err(Status::NoFrameSize),
    };
    if !(MIN_FRAME_SIZE..=our_max).contains(&max_frame_size) {
        return Err(Status::BadFrameSize);
    }
    let caps = match find("capabilities") {
        Some(Value::Str(s)) => String::from_utf8_lossy(s).to_string(),
        _ => return Err(Status::NoCap),
    };
    let has = |c: &str| caps.split(',').any(|x| x.trim() == c);
    Ok(AgentHello {
        version,
        max_frame_size,
        pipelining: has("pipelining"),
        async_: has("async"),
        fragmentation: has("fragmentation"),
    })
}

/// The status of an AGENT-DISCONNECT payload (99 when absent).
pub fn agent_disconnect(r: Reader<'_>) -> (u32, String) {
    let Ok(kv) = kv_list(r) else {
        return (Status::Invalid as u32, String::new());
    };
    let mut code = Status::Unknown as u32;
    let mut msg = String::new();
    for (k, v) in kv {
        match (k.as_slice(), v) {
            (b"status-code", Value::Uint32(c)) => code = c,
            (b"message", Value::Str(s)) => msg = String::from_utf8_lossy(&s).to_string(),
            _ => {}
        }
    }
    (code, msg)
}

/// A variable scope of an action (§3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Proc,
    Sess,
    Txn,
    Req,
    Res,
}

impl Scope {
    pub fn prefix(self) -> &'static str {
        match self {
            Scope::Proc => "proc",
            Scope::Sess => "sess",
            Scope::Txn => "txn",
            Scope::Req => "req",
            Scope::Res => "res",
        }
    }
}

/// An action of an ACK frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SetVar {
        scope: Scope,
        name: Vec<u8>,
        value: Value,
    },
    UnsetVar {
        scope: Scope,
        name: Vec<u8>,
    },
}

/// The LIST-OF-ACTIONS of an ACK (§3.4). Unknown action types are skipped
/// with their arguments (HAProxy ignores them); a malformed list is invalid.
pub fn actions(mut r: Reader<'_>) -> Result<Vec<Action>, Status> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let ty = r.u8()?;
        let nb = r.u8()?;
        match (ty, nb) {
            (ACT_SET_VAR, 3) | (ACT_UNSET_VAR, 2) => {
                let scope = match r.u8()? {
                    0 => Scope::Proc,
                    1 => Scope::Sess,
                    2 => Scope::Txn,
                    3 => Scope::Req,
                    4 => Scope::Res,
                    _ => return Err(Status::Invalid),
                };
                let name = r.string()?.to_vec();
                if ty == ACT_SET_VAR {
                    let value = r.value()?;
                    out.push(Action::SetVar { scope, name, value });
                } else {
                    out.push(Action::UnsetVar { scope, name });
                }
            }
            (ACT_SET_VAR | ACT_UNSET_VAR, _) => return Err(Status::Invalid),
            _ => {
                for _ in 0..nb {
                    r.value()?;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
