//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, every frame type parsed
//! from a complete payload and written, and the validity rules of §4.2 and §6
//! mapped to connection or stream errors with their codes.
//!
//! Parsing borrows: a [`Frame`] refers to the payload it came from.

use crate::error::ErrorCode;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const PRIORITY: u8 = 0x2;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PUSH_PROMISE: u8 = 0x5;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

/// Frame header length (§4.1).
pub const HEADER_LEN: usize = 9;
/// SETTINGS_MAX_FRAME_SIZE's initial value and lower bound (§6.5.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;
/// SETTINGS_MAX_FRAME_SIZE's upper bound (§6.5.2).
pub const MAX_FRAME_SIZE_LIMIT: u32 = (1 << 24) - 1;
/// The largest flow-control window (§6.9.1).
pub const MAX_WINDOW: u32 = (1 << 31) - 1;
/// The initial flow-control window (§6.9.2).
pub const DEFAULT_WINDOW: u32 = 65_535;

/// SETTINGS parameters (§6.5.2).
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
pub const SETTINGS_ENABLE_PUSH: u16 = 0x2;
pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// A frame header (§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    /// The stream identifier, reserved bit cleared.
    pub stream: u32,
}

impl Head {
    /// Reads a header from the first 9 bytes of `b`.
    pub fn parse(b: &[u8]) -> Option<Head> {
        let h: &[u8; HEADER_LEN] = b.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Head {
            len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            kind: h[3],
            flags: h[4],
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & MAX_WINDOW,
        })
    }

    /// Appends the header.
    pub fn write(&self, out: &mut Vec<u8>) {
        let l = self.len.to_be_bytes();
        let s = (self.stream & MAX_WINDOW).to_be_bytes();
        out.extend_from_slice(&[
            l[1], l[2], l[3], self.kind, self.flags, s[0], s[1], s[2], s[3],
        ]);
    }
}

/// A frame that breaks a rule: a connection error (GOAWAY) or an error of
/// one stream (RST_STREAM), §5.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Conn(ErrorCode, &'static str),
    Stream(u32, ErrorCode, &'static str),
}

/// PRIORITY's content (§6.3; deprecated by RFC 9113 §5.3.2: parsed, checked,
/// not acted on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub dependency: u32,
    pub exclusive: bool,
    pub weight: u8,
}

/// A parsed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    Data {
        stream: u32,
        data: &'a [u8],
        /// The whole payload length: what flow control counts (§6.9).
        flow_len: u32,
        end_stream: bool,
    },
    Headers {
        stream: u32,
        block: &'a [u8],
        priority: Option<Priority>,
        end_stream: bool,
        end_headers: bool,
    },
    Priority {
        stream: u32,
        priority: Priority,
    },
    RstStream {
        stream: u32,
        code: ErrorCode,
    },
    /// Parameters checked (§6.5.2); `params` is a multiple of 6 bytes.
    Settings {
        ack: bool,
        params: &'a [u8],
    },
    PushPromise {
        stream: u32,
        promised: u32,
        block: &'a [u8],
        end_headers: bool,
    },
    Ping {
        ack: bool,
        data: [u8; 8],
    },
    GoAway {
        last_stream: u32,
        code: ErrorCode,
        debug: &'a [u8],
    },
    WindowUpdate {
        stream: u32,
        increment: u32,
    },
    Continuation {
        stream: u32,
        block: &'a [u8],
        end_headers: bool,
    },
    /// An unknown type: ignored (§4.1, §5.5).
    Unknown {
        kind: u8,
        stream: u32,
    },
}

/// A frame larger than SETTINGS_MAX_FRAME_SIZE (§4.2): FRAME_SIZE_ERROR, on
/// the connection (it is checked before the payload is read, for every type).
pub fn check_size(h: &Head, max_frame_size: u32) -> Result<(), Error> {
    if h.len > max_frame_size {
        return Err(Error::Conn(
            ErrorCode::FRAME_SIZE_ERROR,
            "frame larger than SETTINGS_MAX_FRAME_SIZE",
        ));
    }
    Ok(())
}

fn conn(code: ErrorCode, why: &'static str) -> Error {
    Error::Conn(code, why)
}

/// Removes padding (§6.1, §6.2): the pad length byte and the padding.
fn unpad(h: &Head, p: &[u8]) -> Result<(usize, usize), Error> {
    if h.flags & PADDED == 0 {
        return Ok((0, p.len()));
    }
    let pad = *p.first().ok_or(conn(
        ErrorCode::FRAME_SIZE_ERROR,
        "padded frame without pad length",
    ))? as usize;
    if pad >= p.len() {
        return Err(conn(
            ErrorCode::PROTOCOL_ERROR,
            "padding as long as the payload",
        ));
    }
    Ok((1, p.len() - pad))
}

fn u32_at(p: &[u8], at: usize) -> u32 {
    match p.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

fn priority_at(p: &[u8], at: usize) -> Priority {
    let d = u32_at(p, at);
    Priority {
        dependency: d & MAX_WINDOW,
        exclusive: d & !MAX_WINDOW != 0,
        weight: p.get(at + 4).copied().unwrap_or(0),
    }
}

/// Parses a frame whose whole payload `p` (`h.len` bytes) is there.
pub fn parse<'a>(h: Head, p: &'a [u8]) -> Result<Frame<'a>, Error> {
    let sid = h.stream;
    let need_stream = |what: &'static str| {
        if sid == 0 {
            Err(conn(ErrorCode::PROTOCOL_ERROR, what))
        } else {
            Ok(())
        }
    };
    let need_conn = |what: &'static str| {
        if sid != 0 {
            Err(conn(ErrorCode::PROTOCOL_ERROR, what))
        } else {
            Ok(())
        }
    };
    Ok(match h.kind {
        DATA => {
            need_stream("DATA on stream 0")?;
            let (start, end) = unpad(&h, p)?;
            Frame::Data {
                stream: sid,
                data: p.get(start..end).unwrap_or_default(),
                flow_len: p.len() as u32,
                end_stream: h.flags & END_STREAM != 0,
            }
        }
        HEADERS => {
            need_stream("HEADERS on stream 0")?;
            let (mut start, end) = unpad(&h, p)?;
            let mut priority = None;
            if h.flags & PRIORITY_FLAG != 0 {
                if end < start + 5 {
                    return Err(conn(
                        ErrorCode::FRAME_SIZE_ERROR,
                        "HEADERS too short for its priority",
                    ));
                }
                let pr = priority_at(p, start);
                if pr.dependency == sid {
                    return Err(Error::Stream(
                        sid,
                        ErrorCode::PROTOCOL_ERROR,
                        "stream depends on itself",
                    ));
                }
                priority = Some(pr);
                start += 5;
            }
            Frame::Headers {
                stream: sid,
                block: p.get(start..end).unwrap_or_default(),
                priority,
                end_stream: h.flags & END_STREAM != 0,
                end_headers: h.flags & END_HEADERS != 0,
            }
        }
        PRIORITY => {
            need_stream("PRIORITY on stream 0")?;
            if p.len() != 5 {
                return Err(Error::Stream(
                    sid,
                    ErrorCode::FRAME_SIZE_ERROR,
                    "PRIORITY not 5 bytes",
                ));
            }
            let priority = priority_at(p, 0);
            if priority.dependency == sid {
                return Err(Error::Stream(
                    sid,
                    ErrorCode::PROTOCOL_ERROR,
                    "stream depends on itself",
                ));
            }
            Frame::Priority {
                stream: sid,
                priority,
            }
        }
        RST_STREAM => {
            need_stream("RST_STREAM on stream 0")?;
            if p.len() != 4 {
                return Err(conn(ErrorCode::FRAME_SIZE_ERROR, "RST_STREAM not 4 bytes"));
            }
            Frame::RstStream {
                stream: sid,
                code: ErrorCode(u32_at(p, 0)),
            }
        }
        SETTINGS => {
            need_conn("SETTINGS on a stream")?;
            let ack = h.flags & ACK != 0;
            if ack && !p.is_empty() {
                return Err(conn(
                    ErrorCode::FRAME_SIZE_ERROR,
                    "SETTINGS ACK with a payload",
                ));
            }
            if p.len() % 6 != 0 {
                return Err(conn(
                    ErrorCode::FRAME_SIZE_ERROR,
                    "SETTINGS length not a multiple of 6",
                ));
            }
            for (id, v) in settings_params(p) {
                match id {
                    SETTINGS_ENABLE_PUSH if v > 1 => {
                        return Err(conn(
                            ErrorCode::PROTOCOL_ERROR,
                            "SETTINGS_ENABLE_PUSH not 0 or 1",
                        ))
                    }
                    SETTINGS_INITIAL_WINDOW_SIZE if v > MAX_WINDOW => {
                        return Err(conn(
                            ErrorCode::FLOW_CONTROL_ERROR,
                            "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                        ))
                    }
                    SETTINGS_MAX_FRAME_SIZE
                        if !(DEFAULT_MAX_FRAME_SIZE..=MAX_FRAME_SIZE_LIMIT).contains(&v) =>
                    {
                        return Err(conn(
                            ErrorCode::PROTOCOL_ERROR,
                            "SETTINGS_MAX_FRAME_SIZE out of range",
                        ))
                    }
                    _ => {}
                }
            }
            Frame::Settings { ack, params: p }
        }
        PUSH_PROMISE => {
            need_stream("PUSH_PROMISE on stream 0")?;
            let (start, end) = unpad(&h, p)?;
            if end < start + 4 {
                return Err(conn(ErrorCode::FRAME_SIZE_ERROR, "PUSH_PROMISE too short"));
            }
            Frame::PushPromise {
                stream: sid,
                promised: u32_at(p, start) & MAX_WINDOW,
                block: p.get(start + 4..end).unwrap_or_default(),
                end_headers: h.flags & END_HEADERS != 0,
            }
        }
        PING => {
            need_conn("PING on a stream")?;
            let data: [u8; 8] = p
                .try_into()
                .map_err(|_| conn(ErrorCode::FRAME_SIZE_ERROR, "PING not 8 bytes"))?;
            Frame::Ping {
                ack: h.flags & ACK != 0,
                data,
            }
        }
        GOAWAY => {
            need_conn("GOAWAY on a stream")?;
            if p.len() < 8 {
                return Err(conn(
                    ErrorCode::FRAME_SIZE_ERROR,
                    "GOAWAY shorter than 8 bytes",
                ));
            }
            Frame::GoAway {
                last_stream: u32_at(p, 0) & MAX_WINDOW,
                code: ErrorCode(u32_at(p, 4)),
                debug: p.get(8..).unwrap_or_default(),
            }
        }
        WINDOW_UPDATE => {
            if p.len() != 4 {
                return Err(conn(
                    ErrorCode::FRAME_SIZE_ERROR,
                    "WINDOW_UPDATE not 4 bytes",
                ));
            }
            let increment = u32_at(p, 0) & MAX_WINDOW;
            if increment == 0 {
                return Err(if sid == 0 {
                    conn(
                        ErrorCode::PROTOCOL_ERROR,
                        "WINDOW_UPDATE of 0 on the connection",
                    )
                } else {
                    Error::Stream(sid, ErrorCode::PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
                });
            }
            Frame::WindowUpdate {
                stream: sid,
                increment,
            }
        }
        CONTINUATION => {
            need_stream("CONTINUATION on stream 0")?;
            Frame::Continuation {
                stream: sid,
                block: p,
                end_headers: h.flags & END_HEADERS != 0,
            }
        }
        kind => Frame::Unknown { kind, stream: sid },
    })
}

/// The (identifier, value) pairs of a SETTINGS payload.
pub fn settings_params(p: &[u8]) -> impl Iterator<Item = (u16, u32)> + '_ {
    p.chunks_exact(6)
        .map(|c| (u16::from_be_bytes([c[0], c[1]]), u32_at(c, 2)))
}

fn head(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    Head {
        len: len as u32,
        kind,
        flags,
        stream,
    }
    .write(out);
}

/// DATA without padding.
pub fn write_data(out: &mut Vec<u8>, stream: u32, data: &[u8], end_stream: bool) {
    head(
        out,
        data.len(),
        DATA,
        if end_stream { END_STREAM } else { 0 },
        stream,
    );
    out.extend_from_slice(data);
}

/// HEADERS carrying (part of) a header block.
pub fn write_headers(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    end_headers: bool,
) {
    let flags = if end_stream { END_STREAM } else { 0 } | if end_headers { END_HEADERS } else { 0 };
    head(out, block.len(), HEADERS, flags, stream);
    out.extend_from_slice(block);
}

/// CONTINUATION.
pub fn write_continuation(out: &mut Vec<u8>, stream: u32, block: &[u8], end_headers: bool) {
    head(
        out,
        block.len(),
        CONTINUATION,
        if end_headers { END_HEADERS } else { 0 },
        stream,
    );
    out.extend_from_slice(block);
}

/// PRIORITY.
pub fn write_priority(out: &mut Vec<u8>, stream: u32, p: Priority) {
    head(out, 5, PRIORITY, 0, stream);
    let d = p.dependency | if p.exclusive { 1 << 31 } else { 0 };
    out.extend_from_slice(&d.to_be_bytes());
    out.push(p.weight);
}

/// RST_STREAM.
pub fn write_rst(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    head(out, 4, RST_STREAM, 0, stream);
    out.extend_from_slice(&code.0.to_be_bytes());
}

/// SETTINGS with these parameters, in this order.
pub fn write_settings(out: &mut Vec<u8>, params: &[(u16, u32)]) {
    head(out, params.len() * 6, SETTINGS, 0, 0);
    for (id, v) in params {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// SETTINGS with the ACK flag.
pub fn write_settings_ack(out: &mut Vec<u8>) {
    head(out, 0, SETTINGS, ACK, 0);
}

/// PUSH_PROMISE (a server may send it; this one never does, tests do).
pub fn write_push_promise(out: &mut Vec<u8>, stream: u32, promised: u32, block: &[u8]) {
    head(out, block.len() + 4, PUSH_PROMISE, END_HEADERS, stream);
    out.extend_from_slice(&promised.to_be_bytes());
    out.extend_from_slice(block);
}

/// PING.
pub fn write_ping(out: &mut Vec<u8>, ack: bool, data: [u8; 8]) {
    head(out, 8, PING, if ack { ACK } else { 0 }, 0);
    out.extend_from_slice(&data);
}

/// GOAWAY.
pub fn write_goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode, debug: &[u8]) {
    head(out, 8 + debug.len(), GOAWAY, 0, 0);
    out.extend_from_slice(&last_stream.to_be_bytes());
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(debug);
}

/// WINDOW_UPDATE.
pub fn write_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    head(out, 4, WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
