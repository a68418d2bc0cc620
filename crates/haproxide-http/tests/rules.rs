//! Table-driven tests of every parsing rule, and of the body state machine.

use haproxide_http::body::{BodyDecoder, BodyError, BodyLength, Step};
use haproxide_http::parse::{
    htx_size, parse_request, parse_response, ErrorKind, ParseOptions, Parsed, Request, Response,
};
use haproxide_http::write;

fn strict() -> ParseOptions {
    ParseOptions::default()
}

fn relaxed() -> ParseOptions {
    ParseOptions {
        accept_invalid: true,
        ..ParseOptions::default()
    }
}

fn req(raw: &[u8], o: &ParseOptions) -> Result<Request, ErrorKind> {
    match parse_request(raw, o) {
        Ok(Parsed::Complete { message, .. }) => Ok(message),
        Ok(Parsed::Partial) => panic!("partial: {:?}", String::from_utf8_lossy(raw)),
        Err(e) => Err(e.kind),
    }
}

fn resp(raw: &[u8], method: &[u8]) -> Result<Response, ErrorKind> {
    match parse_response(raw, method, &strict()) {
        Ok(Parsed::Complete { message, .. }) => Ok(message),
        Ok(Parsed::Partial) => panic!("partial"),
        Err(e) => Err(e.kind),
    }
}

#[test]
fn request_refusals() {
    use ErrorKind::*;
    // (request, strict result, result with accept-invalid-http-request)
    let table: &[(&[u8], Option<ErrorKind>, Option<ErrorKind>)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", None, None),
        (b"G(T / HTTP/1.1\r\n\r\n", Some(BadMethod), Some(BadMethod)),
        (b" GET / HTTP/1.1\r\n\r\n", Some(BadMethod), Some(BadMethod)),
        (
            b"GET /a b HTTP/1.1\r\n\r\n",
            Some(BadVersion),
            Some(BadVersion),
        ),
        (b"GET /\x01 HTTP/1.1\r\n\r\n", Some(BadUri), Some(BadUri)),
        (b"GET /\x7f HTTP/1.1\r\n\r\n", Some(BadUri), Some(BadUri)),
        (b"GET /\x00 HTTP/1.1\r\n\r\n", Some(BadUri), Some(BadUri)),
        (b"GET /\xe9 HTTP/1.1\r\n\r\n", Some(BadUri), None),
        (b"GET /\r\n\r\n", Some(MissingVersion), Some(MissingVersion)),
        (
            b"GET / http/1.1\r\n\r\n",
            Some(BadVersion),
            Some(BadVersion),
        ),
        (
            b"GET / HTTP/1.1 \r\n\r\n",
            Some(BadVersion),
            Some(BadVersion),
        ),
        (b"GET / HTTP/11\r\n\r\n", Some(BadVersion), Some(BadVersion)),
        (
            b"GET / HTTP/1.1\r\nX Y: a\r\n\r\n",
            Some(BadHeaderName),
            None,
        ),
        (
            b"GET / HTTP/1.1\r\nX-Y : a\r\n\r\n",
            Some(BadHeaderName),
            None,
        ),
        (
            b"GET / HTTP/1.1\r\n: a\r\n\r\n",
            Some(BadHeaderName),
            Some(BadHeaderName),
        ),
        (
            b"GET / HTTP/1.1\r\nXY\r\n\r\n",
            Some(MissingColon),
            Some(MissingColon),
        ),
        (
            b"GET / HTTP/1.1\r\n a: b\r\n\r\n",
            Some(FoldAtStart),
            Some(FoldAtStart),
        ),
        (
            b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            Some(BareCr),
            Some(BareCr),
        ),
        (
            b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            Some(NulInValue),
            None,
        ),
        (b"GET / HTTP/1.1\r\nX: a\x01\x7f\xff\r\n\r\n", None, None),
        (
            b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n",
            Some(BadContentLength),
            Some(BadContentLength),
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
            Some(BadContentLength),
            Some(BadContentLength),
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3,\r\n\r\n",
            Some(BadContentLength),
            Some(BadContentLength),
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            Some(BadContentLength),
            Some(BadContentLength),
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
            Some(BadContentLength),
            Some(BadContentLength),
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
            None,
            None,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            Some(BadTransferEncoding),
            Some(BadTransferEncoding),
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            Some(BadTransferEncoding),
            Some(BadTransferEncoding),
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            Some(BadTransferEncoding),
            Some(BadTransferEncoding),
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n",
            Some(BadTransferEncoding),
            Some(BadTransferEncoding),
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            Some(UnsupportedCoding),
            Some(UnsupportedCoding),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            Some(MultipleHosts),
            Some(MultipleHosts),
        ),
        (
            b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n",
            Some(HostMismatch),
            None,
        ),
        (
            b"GET http://a:81/ HTTP/1.1\r\nHost: a\r\n\r\n",
            Some(HostMismatch),
            None,
        ),
        (
            b"GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            Some(WebSocketKeyMissing),
            Some(WebSocketKeyMissing),
        ),
    ];
    for (raw, s, r) in table {
        let name = String::from_utf8_lossy(raw);
        assert_eq!(req(raw, &strict()).err(), *s, "strict: {name:?}");
        assert_eq!(req(raw, &relaxed()).err(), *r, "relaxed: {name:?}");
    }
    assert_eq!(ErrorKind::UnsupportedCoding.status(true), 422);
    assert_eq!(ErrorKind::BadUri.status(true), 400);
    assert_eq!(ErrorKind::BadUri.status(false), 502);
}

/// The head as written to the server.
fn written(raw: &[u8]) -> String {
    let r = req(raw, &strict()).expect("accepted");
    let mut out = Vec::new();
    write::request_head(&r.head, None, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn request_normalisations() {
    let table: &[(&[u8], &str)] = &[
        (
            b"GET  /  HTTP/1.1\r\nX-A:  b  \r\n\r\n",
            "GET / HTTP/1.1\r\nx-a: b\r\n\r\n",
        ),
        (
            b"\r\n\nGET / HTTP/1.1\nA: 1\nA: 2\n\n",
            "GET / HTTP/1.1\r\na: 1\r\na: 2\r\n\r\n",
        ),
        (
            b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\tc\r\n\r\n",
            "GET / HTTP/1.1\r\nx: a   b  \tc\r\n\r\n",
        ),
        (
            b"GET / HTTP/1.1\nX: a\n b\n\n",
            "GET / HTTP/1.1\r\nx: a  b\r\n\r\n",
        ),
        (b"GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1\r\n\r\n"),
        (b"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\nX: 1\r\ncontent-length: 3\r\n\r\n",
            "POST / HTTP/1.1\r\ncontent-length: 3\r\nx: 1\r\n\r\n",
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nHOST: A\r\n\r\n",
            "GET / HTTP/1.1\r\nhost: a\r\nx: 1\r\n\r\n",
        ),
        (
            b"GET http://a:80/x HTTP/1.1\r\nHost: a:80\r\n\r\n",
            "GET http://a/x HTTP/1.1\r\nhost: a\r\n\r\n",
        ),
        (
            b"GET http://a:/x HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET http://a/x HTTP/1.1\r\nhost: a\r\n\r\n",
        ),
        (
            b"GET https://a:443 HTTP/1.1\r\n\r\n",
            "GET https://a HTTP/1.1\r\n\r\n",
        ),
        (
            b"GET http://a/x HTTP/1.1\r\nHost: a:80\r\n\r\n",
            "GET http://a/x HTTP/1.1\r\nhost: a:80\r\n\r\n",
        ),
        (
            b"GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]\r\n\r\n",
            "GET http://[::1]/ HTTP/1.1\r\nhost: [::1]\r\n\r\n",
        ),
        (
            b"GET / HTTP/1.1\r\nConnection: close, X-Foo,keep-alive\r\n\r\n",
            "GET / HTTP/1.1\r\nconnection: X-Foo\r\n\r\n",
        ),
        (
            b"GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
        ),
    ];
    for (raw, want) in table {
        assert_eq!(written(raw), *want, "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn request_framing_and_flags() {
    let r = req(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &strict())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(r.body, BodyLength::Length(5));
    assert!(!r.info.close_required);
    let r = req(
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        &strict(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(r.body, BodyLength::Chunked);
    assert!(
        r.info.close_required,
        "CL + TE: the connection closes after"
    );
    let r = req(b"GET / HTTP/1.1\r\n\r\n", &strict()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(r.body, BodyLength::None);
    let r = req(
        b"POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
        &strict(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(r.info.expect_continue);
    let r = req(
        b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
        &strict(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(!r.info.expect_continue, "100-continue is HTTP/1.1 only");
    let r = req(b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n", &strict()).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(r.info.upgrade);
    let r = req(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &strict())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(r.info.conn_close && !r.info.conn_keep_alive);
}

#[test]
fn response_rules() {
    use ErrorKind::*;
    type Row = (&'static [u8], &'static [u8], Result<BodyLength, ErrorKind>);
    let table: &[Row] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
            b"GET",
            Ok(BodyLength::Length(2)),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
            b"HEAD",
            Ok(BodyLength::None),
        ),
        (
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"GET",
            Ok(BodyLength::UntilClose),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET",
            Ok(BodyLength::Chunked),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            b"GET",
            Err(UnsupportedCoding),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"GET",
            Err(BadTransferEncoding),
        ),
        (
            b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n",
            b"GET",
            Ok(BodyLength::None),
        ),
        (
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\n\r\n",
            b"GET",
            Ok(BodyLength::None),
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"POST",
            Ok(BodyLength::None),
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"GET",
            Ok(BodyLength::Tunnel),
        ),
        (
            b"HTTP/1.1 200 Connection established\r\n\r\n",
            b"CONNECT",
            Ok(BodyLength::Tunnel),
        ),
        (
            b"HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n",
            b"CONNECT",
            Ok(BodyLength::Length(0)),
        ),
        (b"HTTP/1.1 200\r\n\r\n", b"GET", Ok(BodyLength::UntilClose)),
        (
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"GET",
            Ok(BodyLength::UntilClose),
        ),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", b"GET", Err(BadStatus)),
        (b"HTTP/1.1 1000 OK\r\n\r\n", b"GET", Err(BadStatus)),
        (b"HTTP/1.1  OK\r\n\r\n", b"GET", Err(BadStatus)),
        (b"garbage\r\n\r\n", b"GET", Err(BadVersion)),
        (
            b"HTTP/1.1 200 OK\r\nX Y: z\r\n\r\n",
            b"GET",
            Err(BadHeaderName),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            b"GET",
            Err(BadContentLength),
        ),
    ];
    for (raw, m, want) in table {
        let got = resp(raw, m).map(|r| r.body);
        assert_eq!(
            got,
            *want,
            "{:?} to {:?}",
            String::from_utf8_lossy(raw),
            String::from_utf8_lossy(m)
        );
    }
    // 204 loses its framing headers; the empty reason is written after a space.
    let r = resp(
        b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n",
        b"GET",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let mut out = Vec::new();
    write::response_head(&r.head, None, &mut out);
    assert_eq!(out, b"HTTP/1.1 204 No Content\r\n\r\n");
    let r = resp(b"HTTP/1.1 200\r\nA: b\r\n\r\n", b"GET").unwrap_or_else(|e| panic!("{e:?}"));
    out.clear();
    write::response_head(&r.head, Some(b"close"), &mut out);
    assert_eq!(out, b"HTTP/1.1 200 \r\na: b\r\nconnection: close\r\n\r\n");
    assert!(
        r.info.close_required,
        "close-delimited: the connection closes"
    );
    let r = resp(b"HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n", b"GET")
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(r.head.is_interim());
}

#[test]
fn limits() {
    let o = ParseOptions {
        max_head: 64,
        max_headers: 3,
        ..ParseOptions::default()
    };
    // No end of head within 64 bytes: refused without waiting for more.
    let long = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 60]].concat();
    assert_eq!(
        parse_request(&long, &o).map_err(|e| e.kind),
        Err(ErrorKind::TooLarge)
    );
    assert_eq!(parse_request(&long[..40], &o), Ok(Parsed::Partial));
    let many = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n";
    assert_eq!(
        parse_request(many, &o).map_err(|e| e.kind),
        Err(ErrorKind::TooManyHeaders)
    );
    assert_eq!(parse_request(b"", &o), Ok(Parsed::Partial));
    // HTX accounting: 32 + "GET" "/" "HTTP/1.1" + (8 + 1 + n) + 8 <= max_htx.
    let o = ParseOptions {
        max_htx: 100,
        ..ParseOptions::default()
    };
    let at = |n: usize| {
        [
            b"GET / HTTP/1.1\r\nX: ".as_slice(),
            &vec![b'a'; n],
            b"\r\n\r\n",
        ]
        .concat()
    };
    let fits = 100 - (32 + 12 + 9 + 8);
    assert!(matches!(
        parse_request(&at(fits), &o),
        Ok(Parsed::Complete { .. })
    ));
    assert_eq!(
        parse_request(&at(fits + 1), &o).map_err(|e| e.kind),
        Err(ErrorKind::TooLarge)
    );
}

/// The HTX limit around a head's exact size, for heads whose raw section is
/// longer than their fields (spaces around values, folded lines, many fields):
/// refused exactly when `htx_size` of the parsed head is beyond the limit (the
/// parser skips the walk when the raw length already fits).
#[test]
fn htx_limit_is_exact_at_every_size() {
    let heads: [&[u8]; 4] = [
        b"GET /a HTTP/1.1\r\nHost:   x  \r\nX-A: 1\r\nX-B:\t\t22 \r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\r\n  b\r\n\tc\r\nY:  yy  \r\n\r\n",
        b"HTTP/1.1 200 OK\r\nServer:  s  \r\nContent-Length: 0\r\nX: 1\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nA: a\r\n b\r\nB:   \r\n\r\n",
    ];
    for raw in heads {
        let response = raw.starts_with(b"HTTP/");
        let loose = ParseOptions::default();
        let exact = if response {
            match parse_response(raw, b"GET", &loose) {
                Ok(Parsed::Complete { message, .. }) => htx_size(
                    [b"HTTP/1.1", &message.head.status, &message.head.reason],
                    &message.head.headers,
                ),
                other => panic!("{other:?}"),
            }
        } else {
            match parse_request(raw, &loose) {
                Ok(Parsed::Complete { message, .. }) => htx_size(
                    [&message.head.method, &message.head.uri, b"HTTP/1.1"],
                    &message.head.headers,
                ),
                other => panic!("{other:?}"),
            }
        };
        for max_htx in exact - 4..=exact + 4 {
            let o = ParseOptions { max_htx, ..loose };
            let too_large = if response {
                matches!(parse_response(raw, b"GET", &o), Err(e) if e.kind == ErrorKind::TooLarge)
            } else {
                matches!(parse_request(raw, &o), Err(e) if e.kind == ErrorKind::TooLarge)
            };
            assert_eq!(too_large, exact > max_htx, "{max_htx} for {exact}");
        }
    }
}

/// Runs a decoder over `input` fed in pieces of `step` bytes; returns the data,
/// the trailers and the bytes left after the body.
fn decode(
    len: BodyLength,
    input: &[u8],
    piece: usize,
) -> Result<(Vec<u8>, Vec<String>, usize), BodyError> {
    let mut d = BodyDecoder::new(len, 1024);
    let mut data = Vec::new();
    let mut trailers = Vec::new();
    let mut off = 0;
    let mut avail = piece.min(input.len());
    loop {
        let (n, s) = d.step(&input[off..avail])?;
        off += n;
        match s {
            Step::Data(x) => data.extend_from_slice(x),
            Step::Trailers(t) => trailers.extend(t.iter().map(|h| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(h.name),
                    String::from_utf8_lossy(h.value)
                )
            })),
            Step::Done => return Ok((data, trailers, input.len() - off)),
            Step::NeedMore => {
                if avail == input.len() {
                    d.at_eof()?;
                    return Ok((data, trailers, 0));
                }
                avail = (avail + piece).min(input.len());
            }
        }
    }
}

#[test]
fn body_state_machine() {
    use BodyError::*;
    type Want = Result<(&'static [u8], &'static [&'static str], usize), BodyError>;
    let table: &[(BodyLength, &[u8], Want)] = &[
        (BodyLength::Length(3), b"abcNEXT", Ok((b"abc", &[], 4))),
        (BodyLength::Length(5), b"abc", Err(Truncated)),
        (BodyLength::None, b"GET", Ok((b"", &[], 3))),
        (
            BodyLength::UntilClose,
            b"all of it",
            Ok((b"all of it", &[], 0)),
        ),
        (
            BodyLength::Chunked,
            b"3\r\nabc\r\n0\r\n\r\nX",
            Ok((b"abc", &[], 1)),
        ),
        (BodyLength::Chunked, b"3\nabc\n0\n\n", Ok((b"abc", &[], 0))),
        (
            BodyLength::Chunked,
            b"A\r\n0123456789\r\n1;x=y\r\nZ\r\n0\r\n\r\n",
            Ok((b"0123456789Z", &[], 0)),
        ),
        (
            BodyLength::Chunked,
            b"3 \r\nabc\r\n0\r\n\r\n",
            Ok((b"abc", &[], 0)),
        ),
        (
            BodyLength::Chunked,
            b"3\r\nabc\r\n0\r\nA: 1\r\nb: 2\r\n\r\n",
            Ok((b"abc", &["A=1", "b=2"], 0)),
        ),
        (
            BodyLength::Chunked,
            b"3 4\r\nabc\r\n0\r\n\r\n",
            Err(BadChunkSize),
        ),
        (
            BodyLength::Chunked,
            b"\r\nabc\r\n0\r\n\r\n",
            Err(BadChunkSize),
        ),
        (
            BodyLength::Chunked,
            b";x\r\nabc\r\n0\r\n\r\n",
            Err(BadChunkSize),
        ),
        (BodyLength::Chunked, b"g\r\n", Err(BadChunkSize)),
        (BodyLength::Chunked, b"3\rX", Err(BadChunkSize)),
        (
            BodyLength::Chunked,
            b"10000000000000000\r\n",
            Err(BadChunkSize),
        ),
        (BodyLength::Chunked, b"3\r\nabcd\r\n", Err(BadChunkEnd)),
        (BodyLength::Chunked, b"3\r\nabc\rX", Err(BadChunkEnd)),
        (BodyLength::Chunked, b"0\r\nbad\r\n\r\n", Err(BadTrailer)),
        (BodyLength::Chunked, b"3\r\nab", Err(Truncated)),
    ];
    for (len, input, want) in table {
        for piece in [1, 2, 3, 7, input.len().max(1)] {
            let got = decode(*len, input, piece);
            let want = want.map(|(d, t, r)| {
                (
                    d.to_vec(),
                    t.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    r,
                )
            });
            assert_eq!(
                got,
                want,
                "{len:?} {:?} in pieces of {piece}",
                String::from_utf8_lossy(input)
            );
        }
    }
    // Limits: a 5000-byte chunk extension, trailers over the limit.
    let ext = [b"1;".as_slice(), &[b'x'; 5000], b"\r\n"].concat();
    assert_eq!(
        decode(BodyLength::Chunked, &ext, 4096).err(),
        Some(ChunkLineTooLong)
    );
    let big = [b"0\r\nx: ".as_slice(), &[b'y'; 2000], b"\r\n\r\n"].concat();
    assert_eq!(
        decode(BodyLength::Chunked, &big, 100).err(),
        Some(TrailersTooLarge)
    );
    // A huge announced chunk streams: data comes out as it arrives, nothing held.
    let mut d = BodyDecoder::new(BodyLength::Chunked, 1024);
    let (n, s) = d
        .step(b"FFFFFFFFFFFF\r\nabc")
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((n, s), (17, Step::Data(&b"abc"[..])));
    let (n, s) = d.step(b"defg").unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((n, s), (4, Step::Data(&b"defg"[..])));
}

/// TE keeps only `trailers` (HAProxy 2.6.12, measured: `trailers, gzip` ->
/// `te: trailers`; `gzip` and `gzip;q=0.5, trailers;q=1` -> no TE at all).
#[test]
fn te_keeps_only_trailers() {
    let te = |v: &str| {
        let raw = format!("GET / HTTP/1.1\r\nHost: a\r\nTE: {v}\r\n\r\n");
        req(raw.as_bytes(), &strict())
            .map(|r| r.head.headers.get("te").map(|t| t.to_vec()))
            .ok()
            .flatten()
    };
    assert_eq!(te("trailers, gzip"), Some(b"trailers".to_vec()));
    assert_eq!(te("Trailers"), Some(b"trailers".to_vec()));
    assert_eq!(te("gzip"), None);
    assert_eq!(te("gzip;q=0.5, trailers;q=1"), None);
}
