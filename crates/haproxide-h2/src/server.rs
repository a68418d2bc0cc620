//! The server side of an HTTP/2 connection (RFC 9113), sans-IO.
//!
//! [`Server::feed`] takes the client's bytes as they come (any split) and
//! queues [`Event`]s ([`Server::poll_event`]) and bytes to write
//! ([`Server::pending_output`], [`Server::consume`]); the application answers
//! with [`Server::send_headers`], [`Server::send_data`],
//! [`Server::send_trailers`], gives receive credit back with
//! [`Server::release`] as it takes request bodies, and may [`Server::reset`] a
//! stream or [`Server::goaway`] the connection.
//!
//! What it does as HAProxy 2.6.12 (docs/h2.md): its SETTINGS frame (only values
//! that differ from the defaults, in its order); receive credit given back per
//! DATA frame the application took (WINDOW_UPDATE on the stream, then on the
//! connection; the first connection credit raises its window to 2^31 - 1);
//! padding credited on receipt; a field name with upper case resets only its
//! stream.
//!
//! Guards (each has a test in tests/hostile.rs):
//! - streams at once: `max_concurrent_streams`; more are refused with
//!   RST_STREAM REFUSED_STREAM (their header block is still decoded, the HPACK
//!   state is shared);
//! - header list: `max_header_list_size`, bounded while decoding (HPACK bomb):
//!   the stream is reset (PROTOCOL_ERROR);
//! - header block bytes (HEADERS + CONTINUATION, 9 bytes counted per frame):
//!   twice the larger of the list bound and 16 KiB, else GOAWAY
//!   ENHANCE_YOUR_CALM (CONTINUATION flood);
//! - HPACK table: the size we advertised; a size update above it is GOAWAY
//!   COMPRESSION_ERROR;
//! - resets: RST_STREAM from the client on a stream it opened, and stream errors
//!   we raise, count against `max_resets` over the connection's life; past it,
//!   GOAWAY ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487, as the `h2` crate's
//!   `max_pending_accept_reset_streams` / `max_local_error_reset_streams`);
//! - windows: DATA beyond a window granted is GOAWAY FLOW_CONTROL_ERROR (as
//!   the forward crate's wire layer); a WINDOW_UPDATE or SETTINGS pushing a send
//!   window past 2^31 - 1 is FLOW_CONTROL_ERROR (§6.9.1);
//! - frames: larger than our SETTINGS_MAX_FRAME_SIZE is GOAWAY
//!   FRAME_SIZE_ERROR; the other §4-§6 rules in [`crate::frame`];
//! - stream ids: even, or not above the last one for a new stream, is GOAWAY
//!   PROTOCOL_ERROR (§5.1.1); frames on idle streams too (§5.1);
//! - control replies (PING and SETTINGS ACKs, RST_STREAM) are refused with
//!   GOAWAY ENHANCE_YOUR_CALM once `max_output` bytes wait unread (PING flood);
//! - idle streams hold nothing: PRIORITY on an idle stream is checked and
//!   dropped, so the only per-stream state is that of open streams, at most
//!   `max_concurrent_streams`, plus a ring of recently reset ids of the same
//!   length (frames still in flight for them are dropped quietly).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use bytes::Bytes;

use crate::error::{ConnError, ErrorCode};
use crate::frame::{self, Frame, Head, DEFAULT_WINDOW, MAX_WINDOW};
use crate::hpack::decode::Fit;
use crate::hpack::{encode, Decoder, HeaderList};
use crate::request::{check_request, check_trailers, RequestHead};

/// The client's connection preface (§3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The connection's limits: `tune.h2.*` (configuration.txt §3.2) and the
/// guards' budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// SETTINGS_HEADER_TABLE_SIZE: our decoder's table (`tune.h2.header-table-size`).
    pub header_table_size: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window
    /// (`tune.h2.initial-window-size`).
    pub initial_window_size: u32,
    /// SETTINGS_MAX_CONCURRENT_STREAMS (`tune.h2.max-concurrent-streams`).
    pub max_concurrent_streams: u32,
    /// SETTINGS_MAX_FRAME_SIZE we accept (`tune.h2.max-frame-size`, bounded by
    /// the buffer as HAProxy does: the caller's choice).
    pub max_frame_size: u32,
    /// Largest decoded header list (§4.1 size): `tune.bufsize` in HAProxy.
    pub max_header_list_size: u32,
    /// Resets (by the client, or stream errors of ours) a connection may cause
    /// before GOAWAY ENHANCE_YOUR_CALM.
    pub max_resets: u32,
    /// Bytes of output left unread beyond which control replies are refused.
    pub max_output: usize,
}

impl Default for Settings {
    /// HAProxy 2.6's defaults; the reset budget as the forward crate's (twice
    /// the stream limit plus 100).
    fn default() -> Self {
        Settings {
            header_table_size: 4096,
            initial_window_size: DEFAULT_WINDOW,
            max_concurrent_streams: 100,
            max_frame_size: frame::DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: 16_384,
            max_resets: 300,
            max_output: 1 << 20,
        }
    }
}

impl Settings {
    /// The SETTINGS parameters as HAProxy 2.6.12 sends them: only values that
    /// differ from the protocol's defaults, MAX_CONCURRENT_STREAMS always, in
    /// this order.
    pub fn advertised(&self) -> Vec<(u16, u32)> {
        let mut p = Vec::with_capacity(4);
        if self.header_table_size != 4096 {
            p.push((frame::SETTINGS_HEADER_TABLE_SIZE, self.header_table_size));
        }
        if self.initial_window_size != DEFAULT_WINDOW {
            p.push((
                frame::SETTINGS_INITIAL_WINDOW_SIZE,
                self.initial_window_size,
            ));
        }
        p.push((
            frame::SETTINGS_MAX_CONCURRENT_STREAMS,
            self.max_concurrent_streams,
        ));
        if self.max_frame_size != frame::DEFAULT_MAX_FRAME_SIZE {
            p.push((frame::SETTINGS_MAX_FRAME_SIZE, self.max_frame_size));
        }
        p
    }
}

/// What the client did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new stream's request head (checked, §8.3).
    Request {
        stream: u32,
        head: RequestHead,
        end_stream: bool,
    },
    /// Request body bytes; give them back with [`Server::release`] once taken.
    Data {
        stream: u32,
        data: Bytes,
        end_stream: bool,
    },
    /// The request's trailers (they end the stream).
    Trailers { stream: u32, fields: HeaderList },
    /// A stream the application knows ended abnormally: reset by the client
    /// (`by_client`), or by us for a stream error.
    Reset {
        stream: u32,
        code: ErrorCode,
        by_client: bool,
    },
    /// The client's GOAWAY.
    GoAway { last_stream: u32, code: ErrorCode },
}

/// Why a send was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No such open stream (never opened, closed or reset).
    NoStream,
    /// Our side of the stream has ended.
    Closed,
    /// The final response head was already sent.
    HeadersSent,
    /// Data or trailers before the response head.
    HeadersNotSent,
    /// The connection failed.
    ConnectionFailed,
}

/// Stream-id hasher: a multiply, where SipHash costs ~100 instructions a
/// lookup. Ids are the client's, but the map holds at most
/// `max_concurrent_streams` entries, so collisions cost at most a scan of them.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[derive(Debug)]
struct Stream {
    /// The client may still send (open or half-closed local).
    recv_open: bool,
    /// We may still send.
    send_open: bool,
    headers_sent: bool,
    send_window: i64,
    recv_window: i64,
    content_length: Option<u64>,
    received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Bytes of the preface matched so far.
    Preface(usize),
    /// The first frame must be SETTINGS (§3.4).
    FirstSettings,
    Open,
    Failed(ConnError),
}

/// A header block being assembled from HEADERS + CONTINUATION.
struct Block {
    stream: u32,
    buf: Vec<u8>,
    end_stream: bool,
    /// Bytes received for it, 9 per frame header included.
    cost: usize,
}

/// One client connection.
pub struct Server {
    cfg: Settings,
    phase: Phase,
    /// The start of a frame not yet whole.
    carry: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    events: VecDeque<Event>,
    decoder: Decoder,
    streams: HashMap<u32, Stream, BuildHasherDefault<IdHasher>>,
    /// The highest stream id the client used.
    last_stream: u32,
    /// Our GOAWAY's last stream id: later streams are ignored.
    goaway_last: Option<u32>,
    peer_initial_window: u32,
    peer_max_frame: u32,
    send_window: i64,
    recv_window: i64,
    conn_raised: bool,
    block: Option<Block>,
    resets: u32,
    settings_acked: bool,
    recent_resets: VecDeque<u32>,
    scratch: Vec<u8>,
}

fn conn_err(code: ErrorCode, reason: &'static str) -> ConnError {
    ConnError::new(code, reason)
}

impl Server {
    /// A connection: our SETTINGS are queued at once.
    pub fn new(cfg: Settings) -> Self {
        let mut out = Vec::with_capacity(1024);
        frame::write_settings(&mut out, &cfg.advertised());
        Server {
            cfg,
            phase: Phase::Preface(0),
            carry: Vec::new(),
            out,
            out_pos: 0,
            events: VecDeque::new(),
            // Until the client acknowledges our SETTINGS it may use the
            // default table size (§6.5.3).
            decoder: Decoder::new(cfg.header_table_size.max(4096) as usize),
            streams: HashMap::default(),
            last_stream: 0,
            goaway_last: None,
            peer_initial_window: DEFAULT_WINDOW,
            peer_max_frame: frame::DEFAULT_MAX_FRAME_SIZE,
            send_window: DEFAULT_WINDOW as i64,
            recv_window: DEFAULT_WINDOW as i64,
            conn_raised: false,
            block: None,
            resets: 0,
            settings_acked: false,
            recent_resets: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Settings {
        &self.cfg
    }

    /// Takes the client's bytes. A connection error queues GOAWAY (but for a
    /// wrong preface) and is returned now and by every later call.
    pub fn feed(&mut self, input: &[u8]) -> Result<(), ConnError> {
        if let Phase::Failed(e) = self.phase {
            return Err(e);
        }
        let res = if self.carry.is_empty() {
            let r = self.process(input);
            if let Ok(used) = r {
                self.carry
                    .extend_from_slice(input.get(used..).unwrap_or_default());
            }
            r
        } else {
            let mut buf = std::mem::take(&mut self.carry);
            buf.extend_from_slice(input);
            let r = self.process(&buf);
            if let Ok(used) = r {
                buf.drain(..used.min(buf.len()));
                self.carry = buf;
            }
            r
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail(&mut self, e: ConnError) -> ConnError {
        if e.goaway {
            frame::write_goaway(&mut self.out, self.last_stream, e.code, b"");
        }
        self.phase = Phase::Failed(e);
        self.block = None;
        self.carry = Vec::new();
        e
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to write to the client.
    pub fn pending_output(&self) -> &[u8] {
        self.out.get(self.out_pos..).unwrap_or_default()
    }

    /// `n` bytes of [`Server::pending_output`] were written.
    pub fn consume(&mut self, n: usize) {
        self.out_pos = (self.out_pos + n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    /// The whole client preface arrived.
    pub fn preface_received(&self) -> bool {
        !matches!(self.phase, Phase::Preface(_))
    }

    /// The stream is open (either side).
    pub fn stream_open(&self, stream: u32) -> bool {
        self.streams.contains_key(&stream)
    }

    /// We may still send on the stream.
    pub fn send_open(&self, stream: u32) -> bool {
        self.streams.get(&stream).is_some_and(|s| s.send_open)
    }

    /// Streams open (either side).
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// The connection failed (GOAWAY queued or silent close).
    pub fn failed(&self) -> Option<ConnError> {
        match self.phase {
            Phase::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Our GOAWAY was sent and no stream remains: the connection may close
    /// once the output is written.
    pub fn is_done(&self) -> bool {
        self.failed().is_some() || (self.goaway_last.is_some() && self.streams.is_empty())
    }

    /// Parses complete frames of `buf`; returns the bytes used.
    fn process(&mut self, buf: &[u8]) -> Result<usize, ConnError> {
        let mut pos = 0;
        if let Phase::Preface(n) = self.phase {
            let want = PREFACE.get(n..).unwrap_or_default();
            let take = want.len().min(buf.len());
            if buf.get(..take) != want.get(..take) {
                return Err(ConnError {
                    code: ErrorCode::PROTOCOL_ERROR,
                    reason: "bad connection preface",
                    goaway: false,
                });
            }
            pos = take;
            if n + take < PREFACE.len() {
                self.phase = Phase::Preface(n + take);
                return Ok(pos);
            }
            self.phase = Phase::FirstSettings;
        }
        while let Some(h) = buf.get(pos..).and_then(Head::parse) {
            frame::check_size(&h, self.cfg.max_frame_size).map_err(from_frame)?;
            let start = pos + frame::HEADER_LEN;
            let end = start + h.len as usize;
            let Some(payload) = buf.get(start..end) else {
                break;
            };
            if self.phase == Phase::FirstSettings {
                if h.kind != frame::SETTINGS || h.flags & frame::ACK != 0 {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "first frame is not SETTINGS",
                    ));
                }
                self.phase = Phase::Open;
            }
            self.frame(h, payload)?;
            pos = end;
        }
        Ok(pos)
    }

    fn frame(&mut self, h: Head, payload: &[u8]) -> Result<(), ConnError> {
        let f = match frame::parse(h, payload) {
            Ok(f) => f,
            Err(frame::Error::Stream(sid, code, _)) if self.block.is_none() => {
                if sid > self.last_stream && h.kind != frame::PRIORITY {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "frame on an idle stream",
                    ));
                }
                return self.stream_error(sid, code);
            }
            Err(e) => return Err(from_frame(e)),
        };
        if let Some(b) = &self.block {
            if !matches!(f, Frame::Continuation { stream, .. } if stream == b.stream) {
                return Err(conn_err(
                    ErrorCode::PROTOCOL_ERROR,
                    "frame inside a header block",
                ));
            }
        }
        match f {
            Frame::Data {
                stream,
                data,
                flow_len,
                end_stream,
            } => self.data(stream, data, flow_len, end_stream),
            Frame::Headers {
                stream,
                block,
                end_stream,
                end_headers,
                ..
            } => {
                if stream % 2 == 0 {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "even stream id from the client",
                    ));
                }
                if end_headers {
                    return self.header_block(stream, block, end_stream);
                }
                let cost = block.len() + frame::HEADER_LEN;
                self.check_block_cost(cost)?;
                self.block = Some(Block {
                    stream,
                    buf: block.to_vec(),
                    end_stream,
                    cost,
                });
                Ok(())
            }
            Frame::Continuation {
                block, end_headers, ..
            } => {
                let Some(b) = self.block.as_mut() else {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "CONTINUATION without HEADERS",
                    ));
                };
                b.cost += block.len() + frame::HEADER_LEN;
                let cost = b.cost;
                self.check_block_cost(cost)?;
                if let Some(b) = self.block.as_mut() {
                    b.buf.extend_from_slice(block);
                }
                if end_headers {
                    if let Some(b) = self.block.take() {
                        return self.header_block(b.stream, &b.buf, b.end_stream);
                    }
                }
                Ok(())
            }
            Frame::Priority { .. } | Frame::Unknown { .. } => Ok(()),
            Frame::RstStream { stream, code } => {
                if stream > self.last_stream {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "RST_STREAM on an idle stream",
                    ));
                }
                if self.streams.remove(&stream).is_some() {
                    self.events.push_back(Event::Reset {
                        stream,
                        code,
                        by_client: true,
                    });
                    self.count_reset()?;
                }
                Ok(())
            }
            Frame::Settings { ack, params } => self.settings_frame(ack, params),
            Frame::PushPromise { .. } => Err(conn_err(
                ErrorCode::PROTOCOL_ERROR,
                "PUSH_PROMISE from a client",
            )),
            Frame::Ping { ack, data } => {
                if !ack {
                    self.control_room()?;
                    frame::write_ping(&mut self.out, true, data);
                }
                Ok(())
            }
            Frame::GoAway {
                last_stream, code, ..
            } => {
                self.events.push_back(Event::GoAway { last_stream, code });
                Ok(())
            }
            Frame::WindowUpdate { stream, increment } => self.window_update(stream, increment),
        }
    }

    fn check_block_cost(&self, cost: usize) -> Result<(), ConnError> {
        let limit = (self.cfg.max_header_list_size as usize).max(16_384) * 2;
        if cost > limit {
            return Err(conn_err(
                ErrorCode::ENHANCE_YOUR_CALM,
                "header block too large (CONTINUATION flood)",
            ));
        }
        Ok(())
    }

    fn count_reset(&mut self) -> Result<(), ConnError> {
        self.resets += 1;
        if self.resets > self.cfg.max_resets {
            return Err(conn_err(
                ErrorCode::ENHANCE_YOUR_CALM,
                "too many stream resets (rapid reset)",
            ));
        }
        Ok(())
    }

    fn control_room(&self) -> Result<(), ConnError> {
        if self.out.len() - self.out_pos > self.cfg.max_output {
            return Err(conn_err(
                ErrorCode::ENHANCE_YOUR_CALM,
                "client does not read its control replies (flood)",
            ));
        }
        Ok(())
    }

    fn remember_reset(&mut self, stream: u32) {
        if self.recent_resets.len() >= self.cfg.max_concurrent_streams.max(16) as usize {
            self.recent_resets.pop_front();
        }
        self.recent_resets.push_back(stream);
    }

    /// A stream error (§5.4.2): RST_STREAM, the stream forgotten, the
    /// application told if it knew the stream; counted against the budget.
    fn stream_error(&mut self, stream: u32, code: ErrorCode) -> Result<(), ConnError> {
        self.control_room()?;
        frame::write_rst(&mut self.out, stream, code);
        if self.streams.remove(&stream).is_some() {
            self.events.push_back(Event::Reset {
                stream,
                code,
                by_client: false,
            });
        }
        self.remember_reset(stream);
        self.count_reset()
    }

    fn header_block(
        &mut self,
        stream: u32,
        block: &[u8],
        end_stream: bool,
    ) -> Result<(), ConnError> {
        // Room for a typical request at once (one allocation each, no
        // regrowth): indexed fields decode to more bytes than they take.
        let max_list = self.cfg.max_header_list_size as usize;
        let mut list =
            HeaderList::with_capacity((block.len() * 4).clamp(256, max_list.max(256)), 16);
        let fit = self
            .decoder
            .decode(block, self.cfg.max_header_list_size as usize, &mut list)
            .map_err(|_| conn_err(ErrorCode::COMPRESSION_ERROR, "header block does not decode"))?;
        if stream <= self.last_stream {
            return self.trailers(stream, list, fit, end_stream);
        }
        self.last_stream = stream;
        if self.goaway_last.is_some_and(|l| stream > l) {
            return Ok(());
        }
        if self.streams.len() >= self.cfg.max_concurrent_streams as usize {
            self.control_room()?;
            frame::write_rst(&mut self.out, stream, ErrorCode::REFUSED_STREAM);
            self.remember_reset(stream);
            return Ok(());
        }
        if fit == Fit::TooLarge {
            return self.stream_error(stream, ErrorCode::PROTOCOL_ERROR);
        }
        let head = match check_request(list) {
            Ok(h) => h,
            Err(_) => return self.stream_error(stream, ErrorCode::PROTOCOL_ERROR),
        };
        let content_length = head.content_length();
        if end_stream && content_length.is_some_and(|c| c != 0) {
            return self.stream_error(stream, ErrorCode::PROTOCOL_ERROR);
        }
        let window = if self.settings_acked {
            self.cfg.initial_window_size
        } else {
            self.cfg.initial_window_size.max(DEFAULT_WINDOW)
        };
        self.streams.insert(
            stream,
            Stream {
                recv_open: !end_stream,
                send_open: true,
                headers_sent: false,
                send_window: self.peer_initial_window as i64,
                recv_window: window as i64,
                content_length,
                received: 0,
            },
        );
        self.events.push_back(Event::Request {
            stream,
            head,
            end_stream,
        });
        Ok(())
    }

    /// A header block on a stream already used: trailers, or a stream id that
    /// goes back (§5.1.1).
    fn trailers(
        &mut self,
        stream: u32,
        list: HeaderList,
        fit: Fit,
        end_stream: bool,
    ) -> Result<(), ConnError> {
        let Some(st) = self.streams.get_mut(&stream) else {
            if self.recent_resets.contains(&stream) {
                return Ok(());
            }
            return Err(conn_err(
                ErrorCode::PROTOCOL_ERROR,
                "HEADERS on a closed stream or a stream id not above the last",
            ));
        };
        if !st.recv_open {
            return self.stream_error(stream, ErrorCode::STREAM_CLOSED);
        }
        let cl_ok = st.content_length.is_none_or(|c| c == st.received);
        if !end_stream || fit == Fit::TooLarge || check_trailers(&list).is_err() || !cl_ok {
            return self.stream_error(stream, ErrorCode::PROTOCOL_ERROR);
        }
        st.recv_open = false;
        self.events.push_back(Event::Trailers {
            stream,
            fields: list,
        });
        self.maybe_close(stream);
        Ok(())
    }

    fn data(
        &mut self,
        stream: u32,
        data: &[u8],
        flow_len: u32,
        end_stream: bool,
    ) -> Result<(), ConnError> {
        self.recv_window -= flow_len as i64;
        if self.recv_window < 0 {
            return Err(conn_err(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the connection window",
            ));
        }
        if stream > self.last_stream {
            return Err(conn_err(
                ErrorCode::PROTOCOL_ERROR,
                "DATA on an idle stream",
            ));
        }
        let pad = flow_len - data.len() as u32;
        let Some(st) = self.streams.get_mut(&stream) else {
            self.credit_conn(flow_len);
            if self.recent_resets.contains(&stream) {
                return Ok(());
            }
            return self.stream_error(stream, ErrorCode::STREAM_CLOSED);
        };
        if !st.recv_open {
            self.credit_conn(flow_len);
            return self.stream_error(stream, ErrorCode::STREAM_CLOSED);
        }
        st.recv_window -= flow_len as i64;
        if st.recv_window < 0 {
            return Err(conn_err(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the stream window",
            ));
        }
        st.received += data.len() as u64;
        if let Some(cl) = st.content_length {
            if st.received > cl || (end_stream && st.received != cl) {
                self.credit_conn(flow_len);
                return self.stream_error(stream, ErrorCode::PROTOCOL_ERROR);
            }
        }
        if end_stream {
            st.recv_open = false;
        } else if pad > 0 {
            st.recv_window += pad as i64;
            frame::write_window_update(&mut self.out, stream, pad);
        }
        if pad > 0 {
            self.credit_conn(pad);
        }
        self.events.push_back(Event::Data {
            stream,
            data: Bytes::copy_from_slice(data),
            end_stream,
        });
        if end_stream {
            self.maybe_close(stream);
        }
        Ok(())
    }

    fn settings_frame(&mut self, ack: bool, params: &[u8]) -> Result<(), ConnError> {
        if ack {
            self.settings_acked = true;
            self.decoder.set_limit(self.cfg.header_table_size as usize);
            return Ok(());
        }
        for (id, v) in frame::settings_params(params) {
            match id {
                frame::SETTINGS_INITIAL_WINDOW_SIZE => {
                    let delta = v as i64 - self.peer_initial_window as i64;
                    for st in self.streams.values_mut() {
                        st.send_window += delta;
                        if st.send_window > MAX_WINDOW as i64 {
                            return Err(conn_err(
                                ErrorCode::FLOW_CONTROL_ERROR,
                                "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window",
                            ));
                        }
                    }
                    self.peer_initial_window = v;
                }
                frame::SETTINGS_MAX_FRAME_SIZE => self.peer_max_frame = v,
                _ => {}
            }
        }
        self.control_room()?;
        frame::write_settings_ack(&mut self.out);
        Ok(())
    }

    fn window_update(&mut self, stream: u32, inc: u32) -> Result<(), ConnError> {
        if stream == 0 {
            self.send_window += inc as i64;
            if self.send_window > MAX_WINDOW as i64 {
                return Err(conn_err(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "connection window above 2^31-1",
                ));
            }
            return Ok(());
        }
        if stream > self.last_stream {
            return Err(conn_err(
                ErrorCode::PROTOCOL_ERROR,
                "WINDOW_UPDATE on an idle stream",
            ));
        }
        if let Some(st) = self.streams.get_mut(&stream) {
            st.send_window += inc as i64;
            if st.send_window > MAX_WINDOW as i64 {
                return self.stream_error(stream, ErrorCode::FLOW_CONTROL_ERROR);
            }
        }
        Ok(())
    }

    fn maybe_close(&mut self, stream: u32) {
        if self
            .streams
            .get(&stream)
            .is_some_and(|s| !s.recv_open && !s.send_open)
        {
            self.streams.remove(&stream);
        }
    }

    /// Connection credit: the first raises the window to 2^31 - 1 (HAProxy's).
    fn credit_conn(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        let mut inc = n as i64;
        if !self.conn_raised {
            self.conn_raised = true;
            inc += (MAX_WINDOW - DEFAULT_WINDOW) as i64;
        }
        let inc = inc.min(MAX_WINDOW as i64 - self.recv_window);
        if inc <= 0 {
            return;
        }
        self.recv_window += inc;
        frame::write_window_update(&mut self.out, 0, inc as u32);
    }

    /// The application took `n` bytes of a stream's body: WINDOW_UPDATE for
    /// the stream (while it is open, even half-closed by the client), then for
    /// the connection, as HAProxy does per DATA frame.
    pub fn release(&mut self, stream: u32, n: usize) {
        let n = n.min(MAX_WINDOW as usize) as u32;
        if n == 0 || self.failed().is_some() {
            return;
        }
        // Also once the client ended the stream, as HAProxy does (reg-test
        // http-messaging/h2_to_h1 waits for it after a body with END_STREAM).
        if let Some(st) = self.streams.get_mut(&stream) {
            st.recv_window += n as i64;
            frame::write_window_update(&mut self.out, stream, n);
        }
        self.credit_conn(n);
    }

    fn open_stream(&mut self, stream: u32) -> Result<&mut Stream, SendError> {
        if self.failed().is_some() {
            return Err(SendError::ConnectionFailed);
        }
        let st = self.streams.get_mut(&stream).ok_or(SendError::NoStream)?;
        if !st.send_open {
            return Err(SendError::Closed);
        }
        Ok(st)
    }

    /// Sends a response head: `:status`, then `fields` (names lower-cased;
    /// the caller leaves out connection-specific fields). A 1xx status is an
    /// interim response and may be followed by others.
    pub fn send_headers<'f>(
        &mut self,
        stream: u32,
        status: u16,
        fields: impl IntoIterator<Item = (&'f [u8], &'f [u8])>,
        end_stream: bool,
    ) -> Result<(), SendError> {
        let st = self.open_stream(stream)?;
        if st.headers_sent {
            return Err(SendError::HeadersSent);
        }
        let interim = (100..200).contains(&status);
        let end = end_stream && !interim;
        st.headers_sent = !interim;
        if end {
            st.send_open = false;
        }
        let mut block = std::mem::take(&mut self.scratch);
        block.clear();
        encode::status(&mut block, status);
        for (n, v) in fields {
            encode::field(&mut block, n, v);
        }
        self.write_block(stream, &block, end);
        self.scratch = block;
        if end {
            self.maybe_close(stream);
        }
        Ok(())
    }

    /// Sends trailers: they end the stream.
    pub fn send_trailers<'f>(
        &mut self,
        stream: u32,
        fields: impl IntoIterator<Item = (&'f [u8], &'f [u8])>,
    ) -> Result<(), SendError> {
        let st = self.open_stream(stream)?;
        if !st.headers_sent {
            return Err(SendError::HeadersNotSent);
        }
        st.send_open = false;
        let mut block = std::mem::take(&mut self.scratch);
        block.clear();
        for (n, v) in fields {
            encode::field(&mut block, n, v);
        }
        self.write_block(stream, &block, true);
        self.scratch = block;
        self.maybe_close(stream);
        Ok(())
    }

    /// HEADERS then CONTINUATION frames within the client's frame size.
    fn write_block(&mut self, stream: u32, block: &[u8], end_stream: bool) {
        let max = self.peer_max_frame as usize;
        let mut chunks = block.chunks(max);
        let first = chunks.next().unwrap_or_default();
        let mut rest = chunks.peekable();
        frame::write_headers(
            &mut self.out,
            stream,
            first,
            end_stream,
            rest.peek().is_none(),
        );
        while let Some(c) = rest.next() {
            frame::write_continuation(&mut self.out, stream, c, rest.peek().is_none());
        }
    }

    /// Bytes a stream may send now (its window and the connection's).
    pub fn send_capacity(&self, stream: u32) -> usize {
        match self.streams.get(&stream) {
            Some(st) if st.send_open => st.send_window.min(self.send_window).max(0) as usize,
            _ => 0,
        }
    }

    /// Sends what the windows allow of `data` as DATA frames; returns the
    /// bytes taken. `end_stream` ends the stream only when all were taken.
    pub fn send_data(
        &mut self,
        stream: u32,
        data: &[u8],
        end_stream: bool,
    ) -> Result<usize, SendError> {
        let conn_window = self.send_window;
        let max = self.peer_max_frame as usize;
        let st = self.open_stream(stream)?;
        if !st.headers_sent {
            return Err(SendError::HeadersNotSent);
        }
        let cap = st.send_window.min(conn_window).max(0) as usize;
        let n = data.len().min(cap);
        let end = end_stream && n == data.len();
        st.send_window -= n as i64;
        if end {
            st.send_open = false;
        }
        self.send_window -= n as i64;
        let taken = data.get(..n).unwrap_or_default();
        if taken.is_empty() {
            if end {
                frame::write_data(&mut self.out, stream, b"", true);
            }
        } else {
            let mut chunks = taken.chunks(max).peekable();
            while let Some(c) = chunks.next() {
                frame::write_data(&mut self.out, stream, c, end && chunks.peek().is_none());
            }
        }
        if end {
            self.maybe_close(stream);
        }
        Ok(n)
    }

    /// Resets a stream (RST_STREAM `code`).
    pub fn reset(&mut self, stream: u32, code: ErrorCode) {
        if self.failed().is_some() || self.streams.remove(&stream).is_none() {
            return;
        }
        frame::write_rst(&mut self.out, stream, code);
        self.remember_reset(stream);
    }

    /// GOAWAY with the last stream id seen (§6.8): with NO_ERROR, the streams
    /// in flight go on and later ones are ignored; [`Server::is_done`] tells
    /// when the connection may close.
    pub fn goaway(&mut self, code: ErrorCode) {
        if self.failed().is_some() || self.goaway_last.is_some() {
            return;
        }
        self.goaway_last = Some(self.last_stream);
        frame::write_goaway(&mut self.out, self.last_stream, code, b"");
    }
}

fn from_frame(e: frame::Error) -> ConnError {
    match e {
        frame::Error::Conn(code, why) => conn_err(code, why),
        // A stream error inside a header block breaks the block: connection.
        frame::Error::Stream(_, code, why) => conn_err(code, why),
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
