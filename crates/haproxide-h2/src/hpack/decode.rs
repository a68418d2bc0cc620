//! The HPACK decoder (RFC 7541 §3, §5, §6).
//!
//! Bounds: integers above 2^28 (after at most four continuation bytes) and
//! strings longer than the rest of the block are errors; the dynamic table
//! never passes the size we advertised (a size update above it is an error,
//! §6.3, and one after the first field of a block too, §4.2); the decoded list
//! is bounded *while* decoding: once its §4.1 size passes `max_list`, fields
//! are still decoded (the table must stay in step with the client's) but no
//! longer stored, and nothing bigger than the block's own bytes plus one table
//! entry is ever held. A failure here is a connection error of type
//! COMPRESSION_ERROR (RFC 9113 §4.3).

use super::table::{Dynamic, STATIC};
use super::{huffman, HeaderList};

/// Why a header block does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer above 2^28.
    IntegerOverflow,
    /// Index 0, or past the end of the tables.
    BadIndex,
    /// A Huffman string that does not decode.
    Huffman,
    /// A size update above SETTINGS_HEADER_TABLE_SIZE.
    TableSizeTooLarge,
    /// A size update after a field representation (§4.2).
    LateSizeUpdate,
}

/// Largest integer accepted: far above any bound the codec uses.
const INT_MAX: usize = 1 << 28;

/// One connection's decoding state (its dynamic table).
#[derive(Debug, Clone)]
pub struct Decoder {
    table: Dynamic,
}

/// What [`Decoder::decode`] did with the list's bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Every field is in the list.
    Whole,
    /// The list passed the bound: fields after that point were decoded and
    /// dropped (the stream must be refused).
    TooLarge,
}

impl Decoder {
    /// A decoder whose table may grow to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Decoder {
            table: Dynamic::new(limit),
        }
    }

    /// The dynamic table.
    pub fn table(&self) -> &Dynamic {
        &self.table
    }

    /// Sets the bound for size updates (the SETTINGS value in force).
    pub fn set_limit(&mut self, limit: usize) {
        self.table.set_limit(limit);
    }

    /// Decodes one complete header block into `out` (appended), storing fields
    /// while the list's size stays within `max_list`.
    pub fn decode(
        &mut self,
        block: &[u8],
        max_list: usize,
        out: &mut HeaderList,
    ) -> Result<Fit, DecodeError> {
        let mut r = Reader { b: block, i: 0 };
        let mut fit = Fit::Whole;
        let mut fields_seen = false;
        // Scratch for Huffman-coded strings: name then value.
        let mut name_buf = Vec::new();
        let mut value_buf = Vec::new();
        while let Some(&first) = r.b.get(r.i) {
            if first & 0x80 != 0 {
                // Indexed field (§6.1).
                let idx = r.int(7)?;
                fields_seen = true;
                let (n, v) = self.lookup(idx)?;
                fit = store(out, n, v, max_list, fit);
            } else if first & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3).
                if fields_seen {
                    return Err(DecodeError::LateSizeUpdate);
                }
                let size = r.int(5)?;
                if !self.table.resize(size) {
                    return Err(DecodeError::TableSizeTooLarge);
                }
            } else {
                // Literal (§6.2): with incremental indexing (01, 6-bit
                // index), without indexing (0000) or never indexed (0001),
                // both with a 4-bit index.
                let indexing = first & 0xc0 == 0x40;
                let idx = r.int(if indexing { 6 } else { 4 })?;
                fields_seen = true;
                name_buf.clear();
                value_buf.clear();
                let name: &[u8] = if idx == 0 {
                    r.string(&mut name_buf)?
                } else {
                    // The name is copied out: inserting may evict its entry.
                    let (n, _) = self.lookup(idx)?;
                    name_buf.extend_from_slice(n);
                    &name_buf
                };
                let value = r.string(&mut value_buf)?;
                fit = store(out, name, value, max_list, fit);
                if indexing {
                    self.table.insert(name, value);
                }
            }
        }
        Ok(fit)
    }

    /// Field `idx` of the static then dynamic table (§2.3.3).
    fn lookup(&self, idx: usize) -> Result<(&[u8], &[u8]), DecodeError> {
        if idx == 0 {
            return Err(DecodeError::BadIndex);
        }
        if let Some(&(n, v)) = STATIC.get(idx - 1) {
            return Ok((n, v));
        }
        self.table
            .get(idx - STATIC.len() - 1)
            .ok_or(DecodeError::BadIndex)
    }
}

/// Adds a field to the list while its size is within `max`; counts it anyway.
fn store(out: &mut HeaderList, name: &[u8], value: &[u8], max: usize, fit: Fit) -> Fit {
    let size = name.len() + value.len() + super::table::ENTRY_OVERHEAD;
    if fit == Fit::TooLarge || out.size + size > max {
        out.size = out.size.saturating_add(size);
        return Fit::TooLarge;
    }
    out.push(name, value);
    Fit::Whole
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let c = *self.b.get(self.i).ok_or(DecodeError::Truncated)?;
        self.i += 1;
        Ok(c)
    }

    /// An integer with an `n`-bit prefix (§5.1).
    fn int(&mut self, n: u32) -> Result<usize, DecodeError> {
        let max = (1usize << n) - 1;
        let mut v = (self.byte()? as usize) & max;
        if v < max {
            return Ok(v);
        }
        let mut shift = 0;
        loop {
            let c = self.byte()?;
            v += ((c & 0x7f) as usize) << shift;
            if v > INT_MAX {
                return Err(DecodeError::IntegerOverflow);
            }
            if c & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 21 {
                return Err(DecodeError::IntegerOverflow);
            }
        }
    }

    /// A string literal (§5.2): borrowed when raw, decoded into `buf` when
    /// Huffman-coded.
    fn string<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<&'b [u8], DecodeError>
    where
        'a: 'b,
    {
        let h = self.b.get(self.i).ok_or(DecodeError::Truncated)? & 0x80 != 0;
        let len = self.int(7)?;
        let end = self.i.checked_add(len).ok_or(DecodeError::Truncated)?;
        let s = self.b.get(self.i..end).ok_or(DecodeError::Truncated)?;
        self.i = end;
        if h {
            buf.clear();
            huffman::decode(s, buf).map_err(|_| DecodeError::Huffman)?;
            Ok(buf)
        } else {
            Ok(s)
        }
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
