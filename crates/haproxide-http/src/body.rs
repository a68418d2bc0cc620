//! Body framing as a state machine that streams.
//!
//! [`BodyDecoder::step`] takes whatever bytes have arrived and returns how many it
//! used and one [`Step`]: a slice of body data (borrowed from the input, never
//! copied or accumulated), the trailers of a chunked body, the end, or "need more".
//! Only chunk-size lines and trailers are held, each bounded.

use crate::chars::{is_spht, is_token, trim_spht};
use crate::head::Headers;

/// How a message body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    /// No body (a request without Content-Length/Transfer-Encoding, a response to
    /// HEAD, 1xx, 204, 304).
    None,
    /// Content-Length.
    Length(u64),
    /// Transfer-Encoding: chunked.
    Chunked,
    /// A response without framing: the body ends when the server closes.
    UntilClose,
    /// After a 101 or a 2xx to CONNECT: bytes both ways until either side closes.
    Tunnel,
}

/// Why a body was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// A chunk-size line that is not hex digits, or overflows 64 bits.
    BadChunkSize,
    /// Chunk data not followed by CR LF.
    BadChunkEnd,
    /// A chunk-size line or extension longer than the limit.
    ChunkLineTooLong,
    /// A malformed trailer field.
    BadTrailer,
    /// Trailers larger than the limit.
    TrailersTooLarge,
    /// The peer closed before the end of a delimited body.
    Truncated,
}

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// Body data, a slice of the input.
    Data(&'a [u8]),
    /// The trailers of a chunked body (possibly empty); [`Step::Done`] follows.
    Trailers(Headers),
    /// The body is complete; bytes after it belong to the next message.
    Done,
    /// All input used; call again with more.
    NeedMore,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Length(u64),
    /// Reading a chunk-size line: value so far, digits seen, what follows the
    /// digits (0: nothing yet, 1: spaces, 2: an extension), line length so far.
    Size {
        value: u64,
        digits: usize,
        tail: u8,
        line: usize,
    },
    /// CR seen at the end of a size line of this value.
    SizeLf(u64),
    Data(u64),
    /// After chunk data: expecting CR LF (or LF).
    DataEnd,
    DataLf,
    /// Reading trailers into a bounded buffer.
    Trailers(Vec<u8>),
    TrailersReady(Vec<u8>),
    UntilClose,
    Done,
}

/// Streaming decoder for one message body.
#[derive(Clone, Debug)]
pub struct BodyDecoder {
    state: State,
    max_line: usize,
    max_trailers: usize,
}

/// Longest chunk-size line (with extensions) accepted.
pub const MAX_CHUNK_LINE: usize = 4096;

impl BodyDecoder {
    /// A decoder for `length`, trailers limited to `max_trailers` bytes (use the
    /// head limit, `tune.bufsize` minus `tune.maxrewrite`).
    pub fn new(length: BodyLength, max_trailers: usize) -> BodyDecoder {
        let state = match length {
            BodyLength::None | BodyLength::Length(0) => State::Done,
            BodyLength::Length(n) => State::Length(n),
            BodyLength::Chunked => State::Size {
                value: 0,
                digits: 0,
                tail: 0,
                line: 0,
            },
            BodyLength::UntilClose | BodyLength::Tunnel => State::UntilClose,
        };
        BodyDecoder {
            state,
            max_line: MAX_CHUNK_LINE,
            max_trailers,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The peer closed its side: the end of a close-delimited body, an error for
    /// the others (unless already complete).
    pub fn at_eof(&mut self) -> Result<(), BodyError> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(BodyError::Truncated),
        }
    }

    /// Decodes from `input`; returns the bytes used and what they gave.
    pub fn step<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Step<'a>), BodyError> {
        let mut used = 0;
        loop {
            match &mut self.state {
                State::Done => return Ok((used, Step::Done)),
                State::TrailersReady(buf) => {
                    let t = parse_trailers(buf)?;
                    self.state = State::Done;
                    return Ok((used, Step::Trailers(t)));
                }
                _ => {}
            }
            let rest = &input[used..];
            let Some(&b) = rest.first() else {
                return Ok((used, Step::NeedMore));
            };
            match &mut self.state {
                State::Length(n) => {
                    let take = rest.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                    *n -= take as u64;
                    if *n == 0 {
                        self.state = State::Done;
                    }
                    return Ok((used + take, Step::Data(&rest[..take])));
                }
                State::UntilClose => return Ok((used + rest.len(), Step::Data(rest))),
                State::Data(n) => {
                    let take = rest.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                    *n -= take as u64;
                    if *n == 0 {
                        self.state = State::DataEnd;
                    }
                    return Ok((used + take, Step::Data(&rest[..take])));
                }
                State::Size {
                    value,
                    digits,
                    tail,
                    line,
                } => {
                    used += 1;
                    *line += 1;
                    if *line > self.max_line {
                        return Err(BodyError::ChunkLineTooLong);
                    }
                    match b {
                        b'\r' | b'\n' => {
                            if *digits == 0 {
                                return Err(BodyError::BadChunkSize);
                            }
                            let v = *value;
                            self.state = if b == b'\r' {
                                State::SizeLf(v)
                            } else {
                                size_done(v)
                            };
                        }
                        b';' if *digits > 0 => *tail = 2,
                        _ if *tail == 2 => {
                            // chunk-ext: any visible byte or white space.
                            if b < 0x20 && !is_spht(b) || b == 0x7f {
                                return Err(BodyError::BadChunkSize);
                            }
                        }
                        _ if is_spht(b) && *digits > 0 => *tail = 1,
                        _ if *tail == 1 => return Err(BodyError::BadChunkSize),
                        _ => {
                            let d = match b {
                                b'0'..=b'9' => b - b'0',
                                b'a'..=b'f' => b - b'a' + 10,
                                b'A'..=b'F' => b - b'A' + 10,
                                _ => return Err(BodyError::BadChunkSize),
                            };
                            *value = value
                                .checked_mul(16)
                                .and_then(|v| v.checked_add(u64::from(d)))
                                .ok_or(BodyError::BadChunkSize)?;
                            *digits += 1;
                        }
                    }
                }
                State::SizeLf(v) => {
                    used += 1;
                    if b != b'\n' {
                        return Err(BodyError::BadChunkSize);
                    }
                    self.state = size_done(*v);
                }
                State::DataEnd => {
                    used += 1;
                    match b {
                        b'\r' => self.state = State::DataLf,
                        b'\n' => self.state = new_size(),
                        _ => return Err(BodyError::BadChunkEnd),
                    }
                }
                State::DataLf => {
                    used += 1;
                    if b != b'\n' {
                        return Err(BodyError::BadChunkEnd);
                    }
                    self.state = new_size();
                }
                State::Trailers(buf) => {
                    // Copy up to the end of the trailer block.
                    let mut i = 0;
                    while let Some(&c) = rest.get(i) {
                        buf.push(c);
                        i += 1;
                        if buf.len() > self.max_trailers {
                            return Err(BodyError::TrailersTooLarge);
                        }
                        if c == b'\n' && trailers_complete(buf) {
                            let done = std::mem::take(buf);
                            self.state = State::TrailersReady(done);
                            break;
                        }
                    }
                    used += i;
                }
                State::Done | State::TrailersReady(_) => {}
            }
        }
    }
}

fn new_size() -> State {
    State::Size {
        value: 0,
        digits: 0,
        tail: 0,
        line: 0,
    }
}

fn size_done(v: u64) -> State {
    if v == 0 {
        State::Trailers(Vec::new())
    } else {
        State::Data(v)
    }
}

/// The trailer block ends with an empty line (it may be empty itself).
fn trailers_complete(buf: &[u8]) -> bool {
    buf == b"\n" || buf == b"\r\n" || buf.ends_with(b"\n\n") || buf.ends_with(b"\n\r\n")
}

fn parse_trailers(buf: &[u8]) -> Result<Headers, BodyError> {
    let mut h = Headers::default();
    for line in buf.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(BodyError::BadTrailer)?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) || line.contains(&b'\r') {
            return Err(BodyError::BadTrailer);
        }
        h.push(name, trim_spht(&line[colon + 1..]));
    }
    Ok(h)
}
