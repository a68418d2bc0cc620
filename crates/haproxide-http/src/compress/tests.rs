//! HAProxy 2.6's compression rules (its reg-tests compression/basic, vary and
//! etags_conversion, case by case) and the encoder's round trips.

use std::io::Read;

use super::*;
use crate::head::Version;

fn spec(algos: &[&str], types: &[&str], offload: bool) -> CompressionSpec {
    CompressionSpec {
        algos: algos
            .iter()
            .rev()
            .filter_map(|a| Algo::from_name(a))
            .collect(),
        types: types.iter().rev().map(|t| t.to_string()).collect(),
        offload,
    }
}
fn req(hdrs: &[(&str, &str)]) -> RequestHead {
    RequestHead {
        method: b"GET".to_vec(),
        uri: b"/".to_vec(),
        version: Version { major: 1, minor: 1 },
        headers: hdrs
            .iter()
            .map(|(n, v)| crate::head::Header::new(n.as_bytes(), v.as_bytes()))
            .collect(),
    }
}
fn res(code: u16, hdrs: &[(&str, &str)]) -> ResponseHead {
    ResponseHead {
        version: Version { major: 1, minor: 1 },
        status: code.to_string().into_bytes(),
        code,
        reason: b"OK".to_vec(),
        headers: hdrs
            .iter()
            .map(|(n, v)| crate::head::Header::new(n.as_bytes(), v.as_bytes()))
            .collect(),
    }
}

#[test]
fn request_side_choice() {
    let gz = spec(&["gzip"], &[], false);
    assert_eq!(select_request(Some(&gz), None, &mut req(&[])), None);
    assert_eq!(
        select_request(Some(&gz), None, &mut req(&[("Accept-Encoding", "gzip")])),
        Some(Algo::Gzip)
    );
    assert_eq!(
        select_request(None, Some(&gz), &mut req(&[("Accept-Encoding", "x, GZIP")])),
        Some(Algo::Gzip)
    );
    let mozilla = [("Accept-Encoding", "gzip"), ("User-Agent", "Mozilla/4")];
    assert_eq!(select_request(Some(&gz), None, &mut req(&mozilla)), None);
    let msie7 = "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)";
    assert_eq!(
        select_request(
            Some(&gz),
            None,
            &mut req(&[("Accept-Encoding", "gzip"), ("User-Agent", msie7)])
        ),
        Some(Algo::Gzip)
    );
    assert_eq!(
        select_request(
            Some(&gz),
            None,
            &mut req(&[("Accept-Encoding", "gzip;q=0")])
        ),
        None
    );
    // q-values decide (basic.vtc c4.1 / c4.2), offload removes the header.
    let both = spec(&["gzip", "deflate"], &[], true);
    let mut r = req(&[("Accept-Encoding", "*;q=0, gzip;q=0.750, deflate;q=0.500")]);
    assert_eq!(select_request(Some(&both), None, &mut r), Some(Algo::Gzip));
    assert!(!r.headers.contains("accept-encoding"));
    let mut r = req(&[("Accept-Encoding", "*;q=0, gzip;q=0.500, deflate;q=0.750")]);
    assert_eq!(
        select_request(Some(&both), None, &mut r),
        Some(Algo::Deflate)
    );
    // `*` takes HAProxy's first algo: the last configured.
    assert_eq!(
        select_request(Some(&both), None, &mut req(&[("Accept-Encoding", "*")])),
        Some(Algo::Deflate)
    );
    // identity needs no header; the backend's list comes first.
    let id = spec(&["identity"], &[], false);
    assert_eq!(
        select_request(Some(&id), Some(&gz), &mut req(&[])),
        Some(Algo::Identity)
    );
    let mut r = req(&[("Accept-Encoding", "gzip")]);
    assert_eq!(select_request(Some(&gz), None, &mut r), Some(Algo::Gzip));
    assert!(
        r.headers.contains("accept-encoding"),
        "no offload: the header stays"
    );
}

#[test]
fn response_side_rules() {
    let s = spec(&["gzip"], &["text/html", "text/plain"], false);
    let ok = |r: &ResponseHead| response_allows(Some(&s), None, &req(&[]), r, false);
    let plain = [("Content-Type", "text/plain")];
    assert!(ok(&res(200, &plain)));
    assert!(ok(&res(203, &plain)));
    assert!(!ok(&res(400, &plain)));
    assert!(!ok(&res(200, &[("Content-Type", "text/css")])));
    assert!(!ok(&res(
        200,
        &[("Content-Type", "multipart/mixed; boundary=\"aaa\"")]
    )));
    assert!(!ok(&res(200, &[])), "a type list needs a Content-Type");
    assert!(!ok(&res(
        200,
        &[
            ("Content-Type", "text/plain"),
            ("Content-Encoding", "something")
        ]
    )));
    assert!(!ok(&res(
        200,
        &[
            ("Content-Type", "text/plain"),
            ("Cache-Control", "no-transform")
        ]
    )));
    assert!(!ok(&res(
        200,
        &[
            ("Content-Type", "text/plain"),
            ("ETag", "\"1\""),
            ("ETag", "\"1\"")
        ]
    )));
    assert!(!ok(&res(
        200,
        &[("Content-Type", "text/plain"), ("ETag", "123")]
    )));
    assert!(ok(&res(
        200,
        &[("Content-Type", "text/plain"), ("ETag", "W/\"1\"")]
    )));
    let mut r10 = res(200, &plain);
    r10.version = Version { major: 1, minor: 0 };
    assert!(!ok(&r10));
    let mut head = req(&[]);
    head.method = b"HEAD".to_vec();
    assert!(!response_allows(
        Some(&s),
        None,
        &head,
        &res(200, &plain),
        false
    ));
    let any = spec(&["gzip"], &[], false);
    assert!(response_allows(
        Some(&any),
        None,
        &req(&[]),
        &res(200, &[]),
        false
    ));
    assert!(!response_allows(
        Some(&any),
        None,
        &req(&[]),
        &res(204, &[]),
        true
    ));
}

#[test]
fn head_rewrite() {
    let mut r = res(200, &[("Content-Length", "100"), ("ETag", "\"123\"")]);
    rewrite_head(Algo::Gzip, &mut r);
    let h: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| {
            (
                String::from_utf8_lossy(h.name).into(),
                String::from_utf8_lossy(h.value).into(),
            )
        })
        .collect();
    let want = [
        ("ETag", "W/\"123\""),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
        ("Vary", "Accept-Encoding"),
    ];
    assert_eq!(
        h,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    let mut r = res(200, &[("Transfer-Encoding", "chunked")]);
    rewrite_head(Algo::Identity, &mut r);
    assert_eq!(r.headers.get_all("transfer-encoding").count(), 1);
    assert!(!r.headers.contains("content-encoding"));
}

fn roundtrip(algo: Algo, parts: &[&[u8]]) -> Vec<u8> {
    let mut e = Encoder::new(algo);
    let mut out = Vec::new();
    for p in parts {
        assert!(e.push(p, &mut out));
        assert!(e.flush(&mut out));
    }
    assert!(e.finish(&mut out));
    assert!(e.finish(&mut out), "finish is idempotent");
    let mut dec = Vec::new();
    match algo {
        Algo::Identity => dec = out,
        Algo::Gzip => {
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut dec)
                .unwrap();
        }
        Algo::Deflate => {
            flate2::read::ZlibDecoder::new(&out[..])
                .read_to_end(&mut dec)
                .unwrap();
        }
        Algo::RawDeflate => {
            flate2::read::DeflateDecoder::new(&out[..])
                .read_to_end(&mut dec)
                .unwrap();
        }
    }
    dec
}

#[test]
fn encoders_round_trip_and_stream() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for algo in [Algo::Identity, Algo::Gzip, Algo::Deflate, Algo::RawDeflate] {
        assert_eq!(
            roundtrip(algo, &[b"hello ", b"world"]),
            b"hello world",
            "{algo:?}"
        );
        assert_eq!(
            roundtrip(algo, &[&big[..70_000], &big[70_000..]]),
            big,
            "{algo:?}"
        );
        assert_eq!(roundtrip(algo, &[]), b"", "{algo:?}");
    }
    // A sync flush makes what was pushed decodable before the end (streaming).
    let mut e = Encoder::new(Algo::RawDeflate);
    let mut out = Vec::new();
    e.push(b"first part", &mut out);
    e.flush(&mut out);
    let mut dec = Vec::new();
    let _ = flate2::read::DeflateDecoder::new(&out[..]).read_to_end(&mut dec);
    assert_eq!(dec, b"first part");
}
