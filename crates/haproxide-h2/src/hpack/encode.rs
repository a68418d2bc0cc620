//! The response encoder.
//!
//! HAProxy 2.6's `hpack-enc.c` keeps no dynamic table of its own: `:status`
//! 200, 204, 206, 304, 400, 404 and 500 are sent as a static-table index (one
//! byte), other statuses as the static name `:status` (index 8) with a 3-digit
//! literal; a field whose name is in the static table is sent as that index
//! *with incremental indexing* (`0x40 | idx`: the entry lands in the client's
//! table though HAProxy never refers to it), any other name as a literal
//! without indexing with a new name; values are never Huffman-coded.
//!
//! We do the same, but static names are sent *without indexing* (`0000` and a
//! 4-bit index, RFC 7541 §6.2.2): the bytes cost the same (one more only for
//! indices above 14), nothing is inserted into the client's table for nothing,
//! and so the client decoder does no evictions. Names are written lower-case
//! (RFC 9113 §8.2.1). No Huffman: it would cost a pass per value for a few
//! bytes of a small response.

use super::put_int;

/// Appends `:status` (RFC 9113 §8.3.2).
pub fn status(out: &mut Vec<u8>, code: u16) {
    let idx = match code {
        200 => 8,
        204 => 9,
        206 => 10,
        304 => 11,
        400 => 12,
        404 => 13,
        500 => 14,
        _ => 0,
    };
    if idx != 0 {
        out.push(0x80 | idx);
        return;
    }
    let c = code.clamp(100, 999);
    // Literal without indexing, name index 8, 3-byte value.
    out.extend_from_slice(&[
        0x08,
        3,
        b'0' + (c / 100) as u8,
        b'0' + (c / 10 % 10) as u8,
        b'0' + (c % 10) as u8,
    ]);
}

/// Appends a field: a literal without indexing, with the static table's
/// index for its name when there is one.
pub fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    match static_name(name) {
        Some(idx) => put_int(out, 0x00, 4, idx),
        None => {
            out.push(0x00);
            put_int(out, 0, 7, name.len());
            out.extend(name.iter().map(|b| b.to_ascii_lowercase()));
        }
    }
    put_int(out, 0, 7, value.len());
    out.extend_from_slice(value);
}

/// The static table's index of a (lower-case) name used in responses.
fn static_name(name: &[u8]) -> Option<usize> {
    Some(match name {
        b"accept-ranges" => 18,
        b"access-control-allow-origin" => 20,
        b"age" => 21,
        b"allow" => 22,
        b"cache-control" => 24,
        b"content-disposition" => 25,
        b"content-encoding" => 26,
        b"content-language" => 27,
        b"content-length" => 28,
        b"content-location" => 29,
        b"content-range" => 30,
        b"content-type" => 31,
        b"date" => 33,
        b"etag" => 34,
        b"expires" => 36,
        b"last-modified" => 44,
        b"link" => 45,
        b"location" => 46,
        b"proxy-authenticate" => 48,
        b"refresh" => 52,
        b"retry-after" => 53,
        b"server" => 54,
        b"set-cookie" => 55,
        b"strict-transport-security" => 56,
        b"vary" => 59,
        b"via" => 60,
        b"www-authenticate" => 61,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hpack::table::STATIC;

    #[test]
    fn static_names_match_the_table() {
        for (i, (n, _)) in STATIC.iter().enumerate() {
            if let Some(idx) = static_name(n) {
                assert_eq!(idx, i + 1, "{}", String::from_utf8_lossy(n));
            }
        }
    }

    #[test]
    fn bytes_as_chosen() {
        let mut out = Vec::new();
        status(&mut out, 200);
        status(&mut out, 302);
        field(&mut out, b"content-type", b"text/html");
        field(&mut out, b"X-Ab", b"1");
        assert_eq!(
            out,
            [
                &[0x88, 0x08, 3, b'3', b'0', b'2', 0x0f, 16, 9][..],
                b"text/html",
                &[0x00, 4],
                b"x-ab",
                &[1, b'1'],
            ]
            .concat()
        );
    }
}
