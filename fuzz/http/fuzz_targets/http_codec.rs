//! The HTTP/1 codec on arbitrary bytes: no panic, no hang, bounded results, and
//! the same decisions whatever the split into reads.
//!
//! Byte 0 picks options (bit 0: accept-invalid, bit 1: small limits), byte 1 a
//! split point; the rest is the input.
#![no_main]

use haproxide_http::body::{BodyDecoder, Step};
use haproxide_http::forward::request_to_server;
use haproxide_http::parse::{parse_request, parse_response, ParseOptions, Parsed};
use haproxide_http::BodyLength;
use libfuzzer_sys::fuzz_target;

fn decode(len: BodyLength, input: &[u8], split: usize) -> (Vec<u8>, bool, bool) {
    let mut d = BodyDecoder::new(len, 1024);
    let mut data = Vec::new();
    let mut off = 0;
    for end in [split.min(input.len()), input.len()] {
        loop {
            match d.step(&input[off..end]) {
                Err(_) => return (data, false, true),
                Ok((n, s)) => {
                    assert!(off + n <= end);
                    off += n;
                    match s {
                        Step::Data(x) => data.extend_from_slice(x),
                        Step::Trailers(t) => assert!(t.len() <= 1024),
                        Step::Done => return (data, true, false),
                        Step::NeedMore => break,
                    }
                }
            }
        }
    }
    (data, d.is_done(), false)
}

fuzz_target!(|raw: &[u8]| {
    let [flags, split, input @ ..] = raw else { return };
    let o = ParseOptions {
        accept_invalid: flags & 1 != 0,
        max_head: if flags & 2 != 0 { 256 } else { 16384 },
        max_htx: if flags & 2 != 0 { 200 } else { 15315 },
        max_headers: if flags & 2 != 0 { 4 } else { 101 },
    };
    let split = usize::from(*split) * input.len() / 255;

    let whole = parse_request(input, &o);
    if let Ok(Parsed::Complete { len, .. }) = &whole {
        assert!(*len <= input.len());
    }
    // Split invariance: the prefix is either Partial or already the same answer.
    match parse_request(&input[..split], &o) {
        Ok(Parsed::Partial) => {}
        first => assert_eq!(first, whole),
    }
    let _ = parse_response(input, b"GET", &o);
    let _ = parse_response(input, b"HEAD", &o);
    let _ = request_to_server(input, &o);
    for len in [BodyLength::Chunked, BodyLength::Length(input.len() as u64 / 2), BodyLength::UntilClose] {
        assert_eq!(decode(len, input, split), decode(len, input, input.len()));
    }
});
