//! HPACK's Huffman code (RFC 7541 §5.2, Appendix B).
//!
//! The code of Appendix B is canonical: within a code length, codes follow the
//! symbol order, and each length starts where the previous one ended. So the
//! table is kept as the 257 code lengths only (the RFC's "len" column) and the
//! codes, the decoding limits and the symbol order are computed from them at
//! compile time. Decoding walks the lengths from 5 bits upward comparing a
//! left-aligned 32-bit window against each length's limit (4 compares for the
//! common 5-7 bit symbols), without a bit-by-bit tree.

/// Code length in bits of each symbol, 0..=255 and EOS (256): RFC 7541 Appendix B.
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, //
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, //
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, //
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, //
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, //
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, //
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, //
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, //
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, //
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, //
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, //
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, //
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, //
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, //
    30,
];

const EOS: u16 = 256;
const MAX_LEN: usize = 30;

struct Tables {
    /// Each symbol's code (right-aligned, `LENGTHS[s]` bits).
    code: [u32; 257],
    /// Symbols ordered by (length, symbol).
    sorted: [u16; 257],
    /// First code of each length.
    first: [u32; MAX_LEN + 1],
    /// Index in `sorted` of the first symbol of each length.
    offset: [u16; MAX_LEN + 1],
    /// Left-aligned (32 bits) end of each length's codes: a window below it
    /// starts with a code of that length or shorter.
    limit: [u64; MAX_LEN + 1],
}

const fn build() -> Tables {
    let mut count = [0u32; MAX_LEN + 1];
    let mut s = 0;
    while s < 257 {
        count[LENGTHS[s] as usize] += 1;
        s += 1;
    }
    let mut first = [0u32; MAX_LEN + 1];
    let mut offset = [0u16; MAX_LEN + 1];
    let mut limit = [0u64; MAX_LEN + 1];
    let mut code = 0u32;
    let mut off = 0u16;
    let mut len = 1;
    while len <= MAX_LEN {
        code = (code + count[len - 1]) << 1;
        first[len] = code;
        offset[len] = off;
        off += count[len] as u16;
        limit[len] = ((first[len] + count[len]) as u64) << (32 - len);
        len += 1;
    }
    let mut sorted = [0u16; 257];
    let mut codes = [0u32; 257];
    let mut next = [0u16; MAX_LEN + 1];
    let mut s = 0;
    while s < 257 {
        let l = LENGTHS[s] as usize;
        let rank = next[l];
        next[l] += 1;
        sorted[(offset[l] + rank) as usize] = s as u16;
        codes[s] = first[l] + rank as u32;
        s += 1;
    }
    Tables {
        code: codes,
        sorted,
        first,
        offset,
        limit,
    }
}

static T: Tables = build();

/// A Huffman-coded string that does not decode (RFC 7541 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HuffmanError;

/// Decodes `src` appending to `out`. Fails on EOS in the data, padding longer
/// than 7 bits or not all ones, and a truncated code.
pub fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    let mut i = 0;
    loop {
        while bits <= 56 - 8 && i < src.len() {
            acc = (acc << 8) | src[i] as u64;
            bits += 8;
            i += 1;
        }
        if bits == 0 {
            return Ok(());
        }
        if i == src.len() && bits < 8 && acc == (1u64 << bits) - 1 {
            // Padding: the most significant bits of EOS (all ones; no code
            // of 7 bits or less is all ones).
            return Ok(());
        }
        let window = if bits >= 32 {
            (acc >> (bits - 32)) & 0xffff_ffff
        } else {
            (acc << (32 - bits)) & 0xffff_ffff
        };
        let mut len = 5;
        while len <= MAX_LEN && window >= T.limit[len] {
            len += 1;
        }
        if len > MAX_LEN || len as u32 > bits {
            return Err(HuffmanError);
        }
        let code = (window >> (32 - len)) as u32;
        let sym = T.sorted[(T.offset[len] as u32 + (code - T.first[len])) as usize];
        if sym == EOS {
            return Err(HuffmanError);
        }
        out.push(sym as u8);
        bits -= len as u32;
        acc &= (1u64 << bits) - 1;
    }
}

/// Length in bytes of `src` Huffman-coded.
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| LENGTHS[b as usize] as usize).sum();
    bits.div_ceil(8)
}

/// Appends `src` Huffman-coded, padded with ones.
pub fn encode(src: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &b in src {
        let len = LENGTHS[b as usize] as u32;
        acc = (acc << len) | T.code[b as usize] as u64;
        bits += len;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1u64 << bits) - 1;
    }
    if bits > 0 {
        let pad = 8 - bits;
        out.push(((acc << pad) | ((1u64 << pad) - 1)) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_as_appendix_b() {
        // A few rows of the RFC's "code as hex" column.
        assert_eq!((T.code[b'0' as usize], LENGTHS[b'0' as usize]), (0x0, 5));
        assert_eq!((T.code[b'a' as usize], LENGTHS[b'a' as usize]), (0x3, 5));
        assert_eq!((T.code[b' ' as usize], LENGTHS[b' ' as usize]), (0x14, 6));
        assert_eq!(
            (T.code[b'{' as usize], LENGTHS[b'{' as usize]),
            (0x7ffe, 15)
        );
        assert_eq!((T.code[0], LENGTHS[0]), (0x1ff8, 13));
        assert_eq!((T.code[255], LENGTHS[255]), (0x3ffffee, 26));
        assert_eq!(T.code[256], 0x3fff_ffff);
    }

    #[test]
    fn round_trip_every_byte() {
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let mut enc = Vec::new();
        encode(&all, &mut enc);
        assert_eq!(enc.len(), encoded_len(&all));
        let mut dec = Vec::new();
        decode(&enc, &mut dec).unwrap();
        assert_eq!(dec, all);
    }

    #[test]
    fn bad_padding_and_eos_refused() {
        let mut out = Vec::new();
        // 'a' (00011) then padding 000: not ones.
        assert_eq!(decode(&[0b0001_1000], &mut out), Err(HuffmanError));
        // A whole byte of ones is padding longer than 7 bits.
        let mut enc = Vec::new();
        encode(b"a", &mut enc);
        enc.push(0xff);
        assert_eq!(decode(&enc, &mut out), Err(HuffmanError));
        // EOS itself (30 ones) then padding.
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff], &mut out),
            Err(HuffmanError)
        );
        // Empty input is the empty string.
        out.clear();
        assert_eq!(decode(&[], &mut out), Ok(()));
        assert!(out.is_empty());
    }
}
