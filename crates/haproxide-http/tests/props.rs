//! Properties: arbitrary bytes never panic, and the way bytes are split into reads
//! never changes what the codec decides.

use haproxide_http::body::{BodyDecoder, BodyError, Step};
use haproxide_http::forward::request_to_server;
use haproxide_http::parse::{
    parse_request, parse_response, ParseError, ParseOptions, Parsed, Request,
};
use proptest::prelude::*;

const FRAGMENTS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\n",
    b"POST /x?y HTTP/1.0\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"Host: a\r\n",
    b"Content-Length: 3\r\n",
    b"Content-Length: 3, 4\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Connection: close, upgrade\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b"3\r\nabc\r\n",
    b"0\r\n",
    b"1;e=x\r\nZ\r\n",
    b"x-t: 1\r\n",
    b" folded\r\n",
    b":",
    b" ",
    b"\t",
    b"\x00",
    b"\xff",
    b"abc",
];

/// Inputs that look like HTTP often enough to reach deep states.
fn http_like() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(FRAGMENTS).prop_map(|f| f.to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..8),
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

fn opts(accept_invalid: bool) -> ParseOptions {
    ParseOptions {
        accept_invalid,
        max_head: 512,
        ..ParseOptions::default()
    }
}

/// Feeds `input` as an engine would: append each read, parse the whole buffer
/// until it is not Partial.
fn parse_in_reads(
    input: &[u8],
    cuts: &[usize],
    o: &ParseOptions,
) -> Result<Parsed<Request>, ParseError> {
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    ends.push(input.len());
    ends.sort_unstable();
    for end in ends {
        match parse_request(&input[..end], o) {
            Ok(Parsed::Partial) => continue,
            other => return other,
        }
    }
    Ok(Parsed::Partial)
}

/// Decodes a body from `input` split at `cuts`: data, trailer count, end state.
fn decode_in_reads(
    input: &[u8],
    cuts: &[usize],
    chunked: bool,
) -> (Vec<u8>, usize, Result<bool, BodyError>) {
    let len = if chunked {
        haproxide_http::BodyLength::Chunked
    } else {
        haproxide_http::BodyLength::Length(input.len() as u64 / 2)
    };
    let mut d = BodyDecoder::new(len, 256);
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    ends.push(input.len());
    ends.sort_unstable();
    let (mut data, mut trailers, mut off) = (Vec::new(), 0, 0);
    for end in ends {
        loop {
            match d.step(&input[off..end]) {
                Err(e) => return (data, trailers, Err(e)),
                Ok((n, s)) => {
                    off += n;
                    match s {
                        Step::Data(x) => data.extend_from_slice(x),
                        Step::Trailers(t) => trailers += t.len(),
                        Step::Done => return (data, trailers, Ok(true)),
                        Step::NeedMore => break,
                    }
                }
            }
        }
    }
    (data, trailers, Ok(d.is_done()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..600), relax: bool) {
        let o = opts(relax);
        let _ = parse_request(&input, &o);
        let _ = parse_response(&input, b"GET", &o);
        let _ = parse_response(&input, b"HEAD", &o);
        let _ = request_to_server(&input, &o);
        let _ = decode_in_reads(&input, &[], true);
    }

    #[test]
    fn http_like_bytes_never_panic(input in http_like(), relax: bool) {
        let o = opts(relax);
        let _ = parse_response(&input, b"CONNECT", &o);
        let _ = request_to_server(&input, &o);
    }

    #[test]
    fn head_result_does_not_depend_on_reads(input in http_like(), cuts in prop::collection::vec(any::<usize>(), 0..8), relax: bool) {
        let o = opts(relax);
        prop_assert_eq!(parse_in_reads(&input, &cuts, &o), parse_request(&input, &o));
    }

    #[test]
    fn body_result_does_not_depend_on_reads(input in http_like(), cuts in prop::collection::vec(any::<usize>(), 0..8), chunked: bool) {
        prop_assert_eq!(decode_in_reads(&input, &cuts, chunked), decode_in_reads(&input, &[], chunked));
    }

    /// Valid chunked bodies with any chunk sizes decode to their data.
    #[test]
    fn chunked_round_trip(parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..10), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let mut enc = Vec::new();
        for p in &parts {
            haproxide_http::write::chunk(p, &mut enc);
        }
        haproxide_http::write::last_chunk(&Default::default(), &mut enc);
        let (data, trailers, end) = decode_in_reads(&enc, &cuts, true);
        prop_assert_eq!(data, parts.concat());
        prop_assert_eq!(trailers, 0);
        prop_assert_eq!(end, Ok(true));
    }
}
