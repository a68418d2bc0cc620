//! Heap allocations per parsed head (issue 14: the keep-alive CPU), counted by a
//! global allocator: a browser-like request and a server's response, as on the
//! keep-alive path.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use haproxide_http::{parse_request, parse_response, ParseOptions, Parsed};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is
// a thread-local cell (no allocation, no lock).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn allocs<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCS.with(Cell::get);
    let out = f();
    (ALLOCS.with(Cell::get) - before, out)
}

const REQUEST: &[u8] = b"GET /static/app.js?v=12 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://www.example.com/\r\n\
Connection: keep-alive\r\n\
Cookie: session=abcdef0123456789; theme=dark\r\n\
Sec-Fetch-Dest: script\r\n\
Sec-Fetch-Mode: no-cors\r\n\
Sec-Fetch-Site: same-origin\r\n\
If-None-Match: \"5f1-1a2b\"\r\n\
\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Sat, 05 Dec 2026 13:00:00 GMT\r\n\
Server: origin\r\n\
Content-Type: application/javascript\r\n\
Content-Length: 1521\r\n\
Cache-Control: max-age=3600\r\n\
ETag: \"5f1-1a2b\"\r\n\
Vary: Accept-Encoding\r\n\
\r\n";

/// The parsed head: its header store and field list, the method and the target
/// (the start line's parts are still owned `Vec`s).
#[test]
fn a_parsed_request_head_costs_four_allocations() {
    let opts = ParseOptions::default();
    let (n, r) = allocs(|| parse_request(REQUEST, &opts));
    let Ok(Parsed::Complete { message, .. }) = r else {
        panic!("not parsed: {r:?}");
    };
    // `Connection: keep-alive` is read and removed, as HAProxy does.
    assert_eq!(message.head.headers.len(), 11);
    assert_eq!(
        message.head.headers.get("if-none-match"),
        Some(&b"\"5f1-1a2b\""[..])
    );
    eprintln!("allocations: {n}");
    assert!(n <= 4, "{n} allocations");
    // Adding the usual X-Forwarded-For fits in the room left.
    let mut head = message.head;
    let (n, ()) = allocs(|| head.headers.push(b"x-forwarded-for", b"192.0.2.10"));
    assert_eq!(n, 0);
}

/// Store, field list, status digits and reason.
#[test]
fn a_parsed_response_head_costs_four_allocations() {
    let opts = ParseOptions::default();
    let (n, r) = allocs(|| parse_response(RESPONSE, b"GET", &opts));
    let Ok(Parsed::Complete { message, .. }) = r else {
        panic!("not parsed: {r:?}");
    };
    assert_eq!(message.head.headers.len(), 7);
    assert_eq!(
        message.head.headers.get("content-length"),
        Some(&b"1521"[..])
    );
    eprintln!("allocations: {n}");
    assert!(n <= 4, "{n} allocations");
}

/// A thread's next request and response reuse the buffers of the heads it
/// dropped (docs/performance.md "Session 12 (ka2)"): no allocation for either.
#[test]
fn the_next_heads_of_a_thread_cost_no_allocation() {
    let opts = ParseOptions::default();
    for _ in 0..2 {
        let req = parse_request(REQUEST, &opts);
        let res = parse_response(RESPONSE, b"GET", &opts);
        drop((req, res));
    }
    let (n, (req, res)) = allocs(|| {
        (
            parse_request(REQUEST, &opts),
            parse_response(RESPONSE, b"GET", &opts),
        )
    });
    let (Ok(Parsed::Complete { message: q, .. }), Ok(Parsed::Complete { message: s, .. })) =
        (req, res)
    else {
        panic!("not parsed");
    };
    assert_eq!(q.head.method, b"GET");
    assert_eq!(q.head.uri, b"/static/app.js?v=12");
    assert_eq!(q.head.headers.get("host"), Some(&b"www.example.com"[..]));
    assert_eq!(
        (&s.head.status[..], &s.head.reason[..]),
        (&b"200"[..], &b"OK"[..])
    );
    assert_eq!(s.head.headers.get("etag"), Some(&b"\"5f1-1a2b\""[..]));
    assert_eq!(n, 0, "{n} allocations");
}
