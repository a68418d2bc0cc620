//! Byte counts as HAProxy 2.6 logs them in HTTP mode (`%B` bytes_read, `%U`
//! bytes_uploaded): not the bytes on the wire but the size of the message in
//! its internal HTX form. Fitted on HAProxy 2.6.12 by tests/http_differential.rs
//! (haproxide crate): a start line costs 20 bytes (`struct htx_sl`) plus its
//! three parts; a header its name and value; the end of headers 1; body data
//! its length (chunk framing excluded); the end of a chunked body 1 plus its
//! trailers' names and values. A 200 with two headers and 4 bytes of body sent
//! as 68 bytes is logged as 75.

use haproxide_http::Headers;

/// The HTX size of a head: start line parts, headers, end of headers.
pub(crate) fn head(parts: [&[u8]; 3], headers: &Headers) -> u64 {
    let mut n = 20 + parts.iter().map(|p| p.len()).sum::<usize>() + 1;
    n += headers
        .iter()
        .map(|h| h.name.len() + h.value.len())
        .sum::<usize>();
    n as u64
}

/// The end of a chunked body with these trailers.
pub(crate) fn trailers(t: &Headers) -> u64 {
    1 + t
        .iter()
        .map(|h| h.name.len() + h.value.len())
        .sum::<usize>() as u64
}

/// "HTTP/x.y" for a version.
pub(crate) fn version(v: haproxide_http::Version) -> [u8; 8] {
    [
        b'H',
        b'T',
        b'T',
        b'P',
        b'/',
        b'0' + v.major,
        b'.',
        b'0' + v.minor,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_measured_response_is_75() {
        let mut h = Headers::default();
        h.push(b"content-type", b"text/plain");
        h.push(b"content-length", b"4");
        assert_eq!(head([b"HTTP/1.1", b"200", b"OK"], &h) + 4, 75);
        // Chunked "hello world" with one trailer `x-trailer: t`: 102.
        let mut h = Headers::default();
        h.push(b"content-type", b"text/plain");
        h.push(b"transfer-encoding", b"chunked");
        let mut t = Headers::default();
        t.push(b"x-trailer", b"t");
        assert_eq!(
            head([b"HTTP/1.1", b"200", b"OK"], &h) + 11 + trailers(&t),
            102
        );
    }
}
