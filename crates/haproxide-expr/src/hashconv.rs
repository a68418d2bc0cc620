//! Hash converters (configuration.txt §7.3.1): `crc32`, `crc32c`, `djb2`, `sdbm`,
//! `wt6` (HAProxy's own 32-bit hashes, optionally passed through its full-avalanche
//! integer hash when the argument is non-zero), `xxh3`, `xxh32`, `xxh64` (seeded),
//! `sha1` and `sha2([<bits>])` (binary digests).
//!
//! The 32-bit hashes are written here from their definitions (HAProxy's `hash.c`
//! algorithms are public and short); xxHash comes from the pure-Rust `xxhash-rust`
//! crate and SHA from RustCrypto's `sha1`/`sha2` (no OpenSSL). Every value is
//! checked against HAProxy 2.6's `sample_fetches/hashes` reg-test.

use std::borrow::Cow;

use sha1::Digest;

use crate::acl::Opts;
use crate::args::Arg;
use crate::error::ExprError;
use crate::sample::Sample;

fn flag(a: &[Arg]) -> i64 {
    match a.first() {
        Some(Arg::Int(v)) => *v,
        _ => 0,
    }
}

/// HAProxy's `full_hash`: Bob Jenkins' full-avalanche 32-bit integer hash, times
/// 3221225473.
pub fn full_hash(mut a: u32) -> u32 {
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    // HAProxy then spreads the value by a large prime close to 3/4 of 2^32.
    a.wrapping_mul(3_221_225_473)
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as `hash_crc32`.
pub fn crc32(b: &[u8]) -> u32 {
    let mut h = !0u32;
    for &c in b {
        h ^= u32::from(c);
        for _ in 0..8 {
            h = (h >> 1) ^ if h & 1 == 1 { 0xedb8_8320 } else { 0 };
        }
    }
    !h
}

const fn crc32c_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}
const CRC32C: [u32; 256] = crc32c_table();

/// CRC-32C (Castagnoli, RFC 4960 appendix B), as `hash_crc32c`.
pub fn crc32c(b: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &c in b {
        crc = (crc >> 8) ^ CRC32C[((crc ^ u32::from(c)) & 0xff) as usize];
    }
    !crc
}

/// `hash_djb2`.
pub fn djb2(b: &[u8]) -> u32 {
    b.iter().fold(5381u32, |h, &c| {
        (h << 5).wrapping_add(h).wrapping_add(u32::from(c))
    })
}

/// `hash_sdbm`.
pub fn sdbm(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |h, &c| {
        u32::from(c)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    })
}

/// `hash_wt6`.
pub fn wt6(b: &[u8]) -> u32 {
    let (mut h0, mut h1) = (0xa53c_965au32, 0x5ca6_953au32);
    let (mut step0, mut step1) = (6u32, 18u32);
    for &c in b {
        let t = u32::from(c);
        h0 = !(h0 ^ t);
        h1 = !(h1.wrapping_add(t));
        let t = h1.rotate_left(step0);
        h1 = h0.rotate_left(step1);
        h0 = t;
        let t = ((h0 >> 16) ^ h1) & 0xffff;
        step0 = t & 0x1f;
        step1 = t >> 11;
    }
    h0 ^ h1
}

fn h32<'a>(a: &[Arg], s: Sample<'a>, f: fn(&[u8]) -> u32) -> Option<Sample<'a>> {
    let mut h = f(s.bytes()?);
    if flag(a) != 0 {
        h = full_hash(h);
    }
    Some(Sample::Sint(i64::from(h)))
}

pub(crate) fn conv_crc32<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    h32(a, s, crc32)
}
pub(crate) fn conv_crc32c<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    h32(a, s, crc32c)
}
pub(crate) fn conv_djb2<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    h32(a, s, djb2)
}
pub(crate) fn conv_sdbm<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    h32(a, s, sdbm)
}
pub(crate) fn conv_wt6<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    h32(a, s, wt6)
}
/// `xxh32([<seed>])`: the seed's low 32 bits, as HAProxy's `unsigned int` seed.
pub(crate) fn conv_xxh32<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let h = xxhash_rust::xxh32::xxh32(s.bytes()?, flag(a) as u32);
    Some(Sample::Sint(i64::from(h)))
}
/// `xxh64([<seed>])`: the 64-bit hash shown as a signed integer, as HAProxy.
pub(crate) fn conv_xxh64<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let h = xxhash_rust::xxh64::xxh64(s.bytes()?, flag(a) as u64);
    Some(Sample::Sint(h as i64))
}
pub(crate) fn conv_xxh3<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let h = xxhash_rust::xxh3::xxh3_64_with_seed(s.bytes()?, flag(a) as u64);
    Some(Sample::Sint(h as i64))
}
/// `sha1`: the 20-byte binary digest.
pub(crate) fn conv_sha1<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let d = sha1::Sha1::digest(s.bytes()?);
    Some(Sample::Bin(Cow::Owned(d.to_vec())))
}
/// `sha2([<bits>])`: SHA-224/256/384/512 (256 by default), binary.
pub(crate) fn conv_sha2<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let b = s.bytes()?;
    let d = match flag(a) {
        0 | 256 => sha2::Sha256::digest(b).to_vec(),
        224 => sha2::Sha224::digest(b).to_vec(),
        384 => sha2::Sha384::digest(b).to_vec(),
        512 => sha2::Sha512::digest(b).to_vec(),
        _ => return None,
    };
    Some(Sample::Bin(Cow::Owned(d)))
}
/// `sha2`'s check (HAProxy's `smp_check_sha2`).
pub(crate) fn prepare_sha2(_: &str, args: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    match args.first() {
        None | Some(Arg::Int(0 | 224 | 256 | 384 | 512)) => Ok(args),
        Some(Arg::Int(n)) => Err(ExprError::invalid(format!(
            "Unsupported number of bits: '{n}'."
        ))),
        Some(_) => Ok(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 256 bytes 0..=255 (HAProxy's sample_fetches/hashes.vtc key).
    fn key() -> Vec<u8> {
        (0..=255u8).collect()
    }

    #[test]
    fn values_of_haproxys_reg_test() {
        let k = key();
        let one = [Arg::Int(1)];
        let run = |f: crate::conv::ConvFn, a: &[Arg]| match f(a, Sample::Bin(Cow::Borrowed(&k))) {
            Some(Sample::Sint(v)) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(run(conv_crc32, &[]), 688229491);
        assert_eq!(run(conv_crc32, &one), 4230317029);
        assert_eq!(run(conv_crc32c, &[]), 2621708363);
        assert_eq!(run(conv_crc32c, &one), 2242979626);
        assert_eq!(run(conv_djb2, &[]), 2589693061);
        assert_eq!(run(conv_djb2, &one), 600622701);
        assert_eq!(run(conv_sdbm, &[]), 905707648);
        assert_eq!(run(conv_sdbm, &one), 3103804144);
        assert_eq!(run(conv_wt6, &[]), 4090277559);
        assert_eq!(run(conv_wt6, &one), 1192658767);
        assert_eq!(run(conv_xxh3, &[]), -7779787747613135503);
        assert_eq!(run(conv_xxh3, &one), 5930632130106562027);
        assert_eq!(run(conv_xxh32, &[]), 1497633363);
        assert_eq!(run(conv_xxh32, &one), 1070421674);
        assert_eq!(run(conv_xxh64, &[]), 2282408585429094475);
        assert_eq!(run(conv_xxh64, &one), -4689339368900765961);
        let Some(Sample::Bin(d)) = conv_sha1(&[], Sample::Bin(Cow::Borrowed(&k))) else {
            panic!()
        };
        let hex: String = d.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex, "4916D6BDB7F78E6803698CAB32D1586EA457DFC8");
    }

    #[test]
    fn sha2_bits() {
        let out = |n: i64| match conv_sha2(&[Arg::Int(n)], Sample::Bin(Cow::Borrowed(b"abc"))) {
            Some(Sample::Bin(d)) => d.len(),
            _ => 0,
        };
        assert_eq!((out(0), out(224), out(384), out(512)), (32, 28, 48, 64));
        assert_eq!(out(100), 0);
        assert!(prepare_sha2("sha2", vec![Arg::Int(100)], &Opts::default()).is_err());
    }
}
