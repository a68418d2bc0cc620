//! HPACK (RFC 7541): header compression for HTTP/2.
//!
//! - [`decode::Decoder`]: integers and strings with bounds, Huffman, the static
//!   and dynamic tables, table size updates (§4.2, §6.3), the header-list bound
//!   enforced while decoding;
//! - [`encode`]: the server's response encoder (static-table indices as
//!   HAProxy's `hpack-enc.c`; see there what it does and what we chose);
//! - [`huffman`]: Appendix B's code.
//!
//! A decoded block is a [`HeaderList`]: one byte buffer holding every name and
//! value, and their spans — two allocations a block, however many fields.

pub mod decode;
pub mod encode;
pub mod huffman;
pub mod table;

pub use decode::{DecodeError, Decoder};

/// A field's place in a [`HeaderList`]'s buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    name: (u32, u32),
    value: (u32, u32),
}

/// Decoded header fields, in order, with duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    buf: Vec<u8>,
    spans: Vec<Span>,
    /// RFC 7541 §4.1 size of the list (name + value + 32 per field), counted
    /// also for fields not kept once the bound was passed.
    size: usize,
}

impl HeaderList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for `bytes` of names and values and `fields`
    /// fields.
    pub fn with_capacity(bytes: usize, fields: usize) -> Self {
        HeaderList {
            buf: Vec::with_capacity(bytes),
            spans: Vec::with_capacity(fields),
            size: 0,
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// No field.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The `i`-th field.
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let s = self.spans.get(i)?;
        Some((self.slice(s.name), self.slice(s.value)))
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans
            .iter()
            .map(move |s| (self.slice(s.name), self.slice(s.value)))
    }

    /// Appends a field.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let n0 = self.buf.len() as u32;
        self.buf.extend_from_slice(name);
        let v0 = self.buf.len() as u32;
        self.buf.extend_from_slice(value);
        self.spans.push(Span {
            name: (n0, name.len() as u32),
            value: (v0, value.len() as u32),
        });
        self.size += name.len() + value.len() + 32;
    }

    /// Empties the list, keeping its allocations.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spans.clear();
        self.size = 0;
    }

    fn slice(&self, (at, len): (u32, u32)) -> &[u8] {
        self.buf
            .get(at as usize..at as usize + len as usize)
            .unwrap_or_default()
    }
}

/// Appends an integer with an `n`-bit prefix (RFC 7541 §5.1), `first` holding
/// the bits above the prefix.
pub fn put_int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// Appends a string literal, raw (H bit 0) or Huffman-coded.
pub fn put_str(out: &mut Vec<u8>, s: &[u8], huffman: bool) {
    if huffman {
        put_int(out, 0x80, 7, huffman::encoded_len(s));
        huffman::encode(s, out);
    } else {
        put_int(out, 0, 7, s.len());
        out.extend_from_slice(s);
    }
}
