use super::*;
use crate::{Headers, Version};

fn req(method: &str, uri: &str, hdrs: &[(&str, &str)]) -> RequestHead {
    let mut h = Headers::default();
    h.push(b"host", b"example.com");
    for (n, v) in hdrs {
        h.push(n.as_bytes(), v.as_bytes());
    }
    RequestHead {
        method: method.as_bytes().to_vec(),
        uri: uri.as_bytes().to_vec(),
        version: Version { major: 1, minor: 1 },
        headers: h,
    }
}

fn res(code: u16, hdrs: &[(&str, &str)]) -> ResponseHead {
    let mut h = Headers::default();
    for (n, v) in hdrs {
        h.push(n.as_bytes(), v.as_bytes());
    }
    ResponseHead {
        version: Version { major: 1, minor: 1 },
        status: code.to_string().into_bytes(),
        code,
        reason: b"OK".to_vec(),
        headers: h,
    }
}

fn cache(mb: u64, objsz: u64, vary: bool) -> Arc<Cache> {
    Arc::new(Cache::new(CacheSpec {
        name: "c".into(),
        total_max_size: mb << 20,
        max_object_size: objsz,
        max_age: 60,
        process_vary: vary,
        max_secondary_entries: 10,
    }))
}

/// One transaction: cache-use, then (on a miss) cache-store with `body`.
/// Returns whether it was a hit.
fn txn(c: &Arc<Cache>, rq: &RequestHead, rs: &ResponseHead, body: &[u8], now: u64) -> Option<Hit> {
    let t = TxnCache::default();
    t.use_cache(c, rq, now);
    if let Some(h) = t.take_hit() {
        assert_eq!(t.served_by(), Some("c"));
        return Some(h);
    }
    t.store(c, rq, rs, now);
    if let Some(mut w) = t.take_store() {
        w.push(body);
        w.finish(now);
    }
    None
}

#[test]
fn a_cacheable_200_is_stored_and_served_with_its_age() {
    let c = cache(1, 4096, false);
    let rq = req("GET", "/a", &[]);
    let rs = res(
        200,
        &[("cache-control", "max-age=30"), ("content-length", "3")],
    );
    assert!(txn(&c, &rq, &rs, b"abc", 1000).is_none());
    let hit = txn(&c, &rq, &rs, b"", 1005).expect("hit");
    assert_eq!(hit.entry.body, b"abc");
    let head = hit.entry.answer_head(1005, false);
    assert_eq!(head.headers.get("age"), Some(b"5".as_slice()));
    // Expired after max-age (30 s).
    assert!(txn(&c, &rq, &rs, b"abc", 1031).is_none());
}

/// Method, request headers, status, response headers.
type Case<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    u16,
    &'a [(&'a str, &'a str)],
);

#[test]
fn what_is_not_cacheable() {
    let c = cache(1, 4096, false);
    let cases: &[Case] = &[
        ("GET", &[], 200, &[]),
        ("GET", &[], 200, &[("cache-control", "private, max-age=9")]),
        ("GET", &[], 200, &[("cache-control", "no-store")]),
        ("GET", &[], 200, &[("cache-control", "max-age=0")]),
        (
            "GET",
            &[],
            200,
            &[("pragma", "no-cache"), ("cache-control", "max-age=9")],
        ),
        (
            "GET",
            &[],
            200,
            &[("cache-control", "max-age=9"), ("age", "abc")],
        ),
        (
            "GET",
            &[],
            200,
            &[("cache-control", "max-age=9"), ("age", "10")],
        ),
        (
            "GET",
            &[],
            200,
            &[("cache-control", "max-age=9"), ("vary", "accept-encoding")],
        ),
        ("GET", &[], 404, &[("cache-control", "max-age=9")]),
        (
            "GET",
            &[("authorization", "Basic x")],
            200,
            &[("cache-control", "max-age=9")],
        ),
        (
            "GET",
            &[("cache-control", "no-cache")],
            200,
            &[("cache-control", "max-age=9")],
        ),
        (
            "GET",
            &[("pragma", "no-cache")],
            200,
            &[("cache-control", "max-age=9")],
        ),
        ("POST", &[], 200, &[("cache-control", "max-age=9")]),
    ];
    for (i, (m, rh, code, sh)) in cases.iter().enumerate() {
        let rq = req(m, &format!("/n{i}"), rh);
        let rs = res(*code, sh);
        txn(&c, &rq, &rs, b"x", 100);
        let again = req("GET", &format!("/n{i}"), &[]);
        assert!(
            txn(&c, &again, &rs, b"x", 101).is_none(),
            "case {i} was cached"
        );
    }
    // A validator alone is enough; an expires in the future too.
    for (i, h) in [
        ("etag", "\"e\""),
        ("last-modified", "Thu, 22 Oct 2020 16:51:12 GMT"),
    ]
    .iter()
    .enumerate()
    {
        let rq = req("GET", &format!("/v{i}"), &[]);
        let rs = res(200, &[*h]);
        txn(&c, &rq, &rs, b"x", 100);
        assert!(txn(&c, &rq, &rs, b"x", 101).is_some(), "validator {i}");
    }
}

#[test]
fn conditional_requests_get_304() {
    let c = cache(1, 4096, false);
    let rs = res(
        200,
        &[
            ("etag", "\"v1\""),
            ("last-modified", "Thu, 22 Oct 2020 16:51:12 GMT"),
            ("cache-control", "max-age=9"),
        ],
    );
    txn(&c, &req("GET", "/e", &[]), &rs, b"x", 100);
    let nm =
        |h: &[(&str, &str)]| txn(&c, &req("GET", "/e", h), &rs, b"", 101).map(|h| h.not_modified);
    assert_eq!(nm(&[("if-none-match", "\"v0\", W/\"v1\"")]), Some(true));
    assert_eq!(nm(&[("if-none-match", "\"v2\"")]), Some(false));
    assert_eq!(nm(&[("if-none-match", "*")]), Some(true));
    assert_eq!(
        nm(&[("if-modified-since", "Thu, 22 Oct 2020 16:51:12 GMT")]),
        Some(true)
    );
    assert_eq!(
        nm(&[("if-modified-since", "Wed, 21 Oct 2020 16:51:12 GMT")]),
        Some(false)
    );
    // If-None-Match wins over If-Modified-Since.
    assert_eq!(
        nm(&[
            ("if-none-match", "\"v2\""),
            ("if-modified-since", "Thu, 22 Oct 2020 16:51:12 GMT")
        ]),
        Some(false)
    );
    let h = txn(
        &c,
        &req("GET", "/e", &[("if-none-match", "*")]),
        &rs,
        b"",
        101,
    )
    .expect("hit");
    assert_eq!(h.entry.answer_head(101, true).code, 304);
}

#[test]
fn vary_on_accept_encoding_serves_an_accepted_encoding_only() {
    let c = cache(1, 4096, true);
    let gz = res(
        200,
        &[
            ("vary", "accept-encoding"),
            ("content-encoding", "gzip"),
            ("cache-control", "max-age=9"),
        ],
    );
    txn(
        &c,
        &req("GET", "/v", &[("accept-encoding", "gzip")]),
        &gz,
        b"g",
        100,
    );
    assert!(txn(
        &c,
        &req("GET", "/v", &[("accept-encoding", "deflate, GZIP")]),
        &gz,
        b"",
        101
    )
    .is_some());
    assert!(txn(
        &c,
        &req("GET", "/v", &[("accept-encoding", "gzip;q=0, br")]),
        &gz,
        b"",
        101
    )
    .is_none());
    assert!(
        txn(&c, &req("GET", "/v", &[]), &gz, b"", 101).is_some(),
        "no header: anything"
    );
    assert!(txn(
        &c,
        &req("GET", "/v", &[("accept-encoding", "")]),
        &gz,
        b"",
        101
    )
    .is_none());
    // Too many encodings: not stored.
    let many = (1..=17)
        .map(|i| format!("a{i}"))
        .collect::<Vec<_>>()
        .join(",");
    txn(
        &c,
        &req("GET", "/m", &[("accept-encoding", &many)]),
        &gz,
        b"g",
        100,
    );
    assert!(txn(&c, &req("GET", "/m", &[]), &gz, b"", 101).is_none());
    // An unmanaged Vary header: not stored.
    let un = res(
        200,
        &[
            ("vary", "accept-encoding,cookie"),
            ("cache-control", "max-age=9"),
        ],
    );
    txn(&c, &req("GET", "/u", &[]), &un, b"g", 100);
    assert!(txn(&c, &req("GET", "/u", &[]), &un, b"", 101).is_none());
}

#[test]
fn memory_stays_within_total_max_size_and_objects_within_max_object_size() {
    let c = cache(1, 10_000, false);
    let rs = res(200, &[("cache-control", "max-age=60")]);
    let body = vec![b'x'; 5_000];
    for i in 0..1_000 {
        txn(&c, &req("GET", &format!("/o{i}"), &[]), &rs, &body, 100);
        assert!(c.available_blocks() <= c.total_blocks());
    }
    // 1 MiB of 1 KiB blocks holds at most 1024 / 5 entries of 5 KB.
    let n = c.entries(100).len();
    assert!((150..=205).contains(&n), "{n} entries");
    assert!(c.entries(100).iter().map(|(_, e)| e.blocks).sum::<u64>() <= 1024);
    // The most recent ones stayed.
    assert!(txn(&c, &req("GET", "/o999", &[]), &rs, b"", 101).is_some());
    assert!(txn(&c, &req("GET", "/o0", &[]), &rs, b"", 101).is_none());
    // Over max-object-size: never stored.
    let big = vec![b'x'; 20_000];
    txn(&c, &req("GET", "/big", &[]), &rs, &big, 100);
    assert!(txn(&c, &req("GET", "/big", &[]), &rs, b"", 101).is_none());
}

#[test]
fn an_unsafe_method_that_succeeds_drops_the_entry() {
    let c = cache(1, 4096, false);
    let rs = res(200, &[("cache-control", "max-age=60")]);
    txn(&c, &req("GET", "/p", &[]), &rs, b"x", 100);
    assert!(txn(&c, &req("GET", "/p", &[]), &rs, b"", 100).is_some());
    txn(&c, &req("POST", "/p", &[]), &res(200, &[]), b"", 100);
    assert!(txn(&c, &req("GET", "/p", &[]), &rs, b"", 100).is_none());
}

#[test]
fn http_dates_parse_in_the_three_forms() {
    assert_eq!(
        http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"),
        Some(784_111_777)
    );
    assert_eq!(
        http_date(b"Sunday, 06-Nov-94 08:49:37 GMT"),
        Some(784_111_777)
    );
    assert_eq!(http_date(b"Sun Nov  6 08:49:37 1994"), Some(784_111_777));
    assert_eq!(http_date(b"yesterday"), None);
}
