//! The raw-request cases of the HTTP differential test, per configuration (see
//! configs.rs). Each case states the statuses HAProxy 2.6.12 answers (interim 1xx
//! included, in order; empty when it answers nothing): the test checks that
//! against HAProxy, so the table also documents what HAProxy does. What is
//! compared with haproxide is everything the client and the backends receive.

/// One case: raw bytes written in steps (150 ms apart, so a later step arrives
/// after the proxy acted on the earlier ones).
pub struct Case {
    pub cfg: &'static str,
    pub name: String,
    pub fe: &'static str,
    pub expect: &'static str,
    pub steps: Vec<Vec<u8>>,
}

impl Case {
    /// Whether the responses answer HEAD requests (no body).
    pub fn head(&self) -> bool {
        self.steps.first().is_some_and(|s| s.starts_with(b"HEAD "))
    }
    /// Sent to the second frontend.
    fn on(mut self, fe: &'static str) -> Case {
        self.fe = fe;
        self
    }
}

pub(super) fn c(cfg: &'static str, name: &str, expect: &'static str, raw: &[u8]) -> Case {
    s(cfg, name, expect, &[raw])
}

pub(super) fn s(cfg: &'static str, name: &str, expect: &'static str, steps: &[&[u8]]) -> Case {
    Case {
        cfg,
        name: name.to_string(),
        fe: "fe",
        expect,
        steps: steps.iter().map(|x| x.to_vec()).collect(),
    }
}

/// `GET <path>` with Host www.example.com and `extra` header lines.
pub(super) fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: www.example.com\r\n{extra}\r\n").into_bytes()
}

pub(super) fn g(
    cfg: &'static str,
    name: &str,
    expect: &'static str,
    path: &str,
    extra: &str,
) -> Case {
    c(cfg, name, expect, &get(path, extra))
}

/// A head of `n` headers (to cross `tune.http.maxhdr`, 101).
fn many_headers(n: usize) -> Vec<u8> {
    let mut r = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..n {
        r.extend_from_slice(format!("h: {i}\r\n").as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r
}

/// A head with one header of `pad` bytes (HAProxy's limit is 15315 bytes of HTX).
fn padded(pad: usize) -> Vec<u8> {
    let mut r = b"GET / HTTP/1.1\r\nX: ".to_vec();
    r.extend(std::iter::repeat_n(b'a', pad));
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn post(path: &str, body_len: usize) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes();
    r.extend((0..body_len).map(|i| b'a' + (i % 26) as u8));
    r
}

pub fn route() -> Vec<Case> {
    let r = "route";
    vec![
        g(r, "default backend", "200", "/", ""),
        c(r, "host api", "200", b"GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n"),
        c(r, "host api, other case", "200", b"GET / HTTP/1.1\r\nHost: API.Example.COM\r\n\r\n"),
        c(r, "host api with a port", "200", b"GET / HTTP/1.1\r\nHost: api.example.com:80\r\n\r\n"),
        c(r, "host prefix static.", "200", b"GET / HTTP/1.1\r\nHost: static.example.org\r\n\r\n"),
        g(r, "path_beg /api/", "200", "/api/users?id=3", ""),
        g(r, "path /api without slash", "200", "/api", ""),
        g(r, "path_end .png", "200", "/img/logo.png", ""),
        g(r, "path_end is case-sensitive", "200", "/img/logo.PNG", ""),
        g(r, "path_end with a query", "200", "/a.jpg?v=2", ""),
        g(r, "path_reg routes /admin", "200", "/admin", ""),
        g(r, "path_reg routes /admin/x", "200", "/admin/x", ""),
        g(r, "path_reg spares /administrator", "200", "/administrator", ""),
        g(r, "path_dir static", "200", "/x/static/y", ""),
        g(r, "path and url_param", "200", "/exact?debug=1", ""),
        g(r, "path without url_param", "200", "/exact", ""),
        g(r, "url_param among others", "200", "/exact?a=1&debug=&b", ""),
        c(r, "absolute-form uri", "200", b"GET http://api.example.com/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n"),
        g(r, "forwardfor appends a header", "200", "/", "X-Forwarded-For: 10.0.0.1\r\n"),
        c(r, "HTTP/1.0 without Host", "200", b"GET / HTTP/1.0\r\n\r\n"),
        c(r, "HTTP/1.0 keep-alive", "200", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        s(r, "keep-alive, three in turn", "200 200 200", &[&get("/", ""), &get("/api/1", ""), &get("/x.png", "")]),
        c(r, "pipelined three", "200 200 200", &[get("/", ""), get("/api/1", ""), get("/x.png", "")].concat()),
        c(r, "pipelined, the last closes", "200 200", &[get("/", ""), get("/api/", "Connection: close\r\n")].concat()),
        g(r, "connection close", "200", "/", "Connection: close\r\n"),
        c(r, "HEAD", "200", b"HEAD / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"),
        c(r, "POST with Content-Length", "200", b"POST /api/form HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"),
        c(r, "POST chunked, extension and trailer", "200", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n"),
        s(r, "POST chunked in pieces", "200", &[b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\n", b"6\r\n world\r\n0\r\n\r\n"]),
        s(r, "body after the head", "200", &[b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", b"0123456789"]),
        c(r, "GET with a body", "200", b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde"),
        c(r, "POST 100 KB", "200", &post("/upload", 100_000)),
        g(r, "chunked response with trailer", "200", "/chunked", ""),
        g(r, "close-delimited response", "200", "/eof", ""),
        g(r, "HTTP/1.0 response", "200", "/http10", ""),
        g(r, "204 response", "204", "/nocontent", ""),
        g(r, "304 response", "304", "/notmodified", ""),
        g(r, "103 before the response", "103 200", "/early", ""),
        g(r, "100 KB response", "200", "/big", ""),
        g(r, "server 500", "500", "/status/500", ""),
        g(r, "server 404 keeps the connection", "404", "/status/404", ""),
        g(r, "server garbage: 502", "502", "/garbage", ""),
        g(r, "server silent: 504", "504", "/silent", ""),
        g(r, "server closes mid-body", "200", "/cut", ""),
        g(r, "invalid response header name: 502", "502", "/badname", ""),
        c(r, "unknown method", "200", b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(r, "OPTIONS *", "200", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
        s(r, "Expect: 100-continue", "100 200", &[b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", b"hello"]),
        c(r, "Expect: 100-continue, body at once", "200", b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"),
        s(r, "WebSocket upgrade, tunnelled", "101", &[b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", b"\x81\x05hello"]),
        s(r, "slowloris head: 408", "408", &[b"GET / HTTP/1.1\r\nHost: a\r\n", b"X-A: b\r\n"]),
        c(r, "request after a 502", "502 200", &[get("/garbage", ""), get("/", "")].concat()),
    ]
}

pub fn strict() -> Vec<Case> {
    let t = "strict";
    let mut v = vec![
        c(t, "CL and TE: CL dropped", "200", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        c(t, "TE then CL", "200", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n"),
        c(t, "TE chunked twice", "400", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        c(t, "TE gzip, chunked", "422", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
        c(t, "TE chunked, identity", "400", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
        c(t, "TE identity", "400", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\nabc"),
        c(t, "TE CHUNKED upper-case", "200", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        c(t, "TE xchunked", "400", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
        c(t, "TE with a space before the colon", "400", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
        c(t, "TE value after a tab", "200", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n"),
        c(t, "TE folded onto a second line", "200", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
        c(t, "TE on HTTP/1.0", "200", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        c(t, "two equal Content-Lengths", "200", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
        c(t, "Content-Length list 3, 3", "200", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc"),
        c(t, "two different Content-Lengths", "400", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        c(t, "negative Content-Length", "400", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
        c(t, "Content-Length with a plus sign", "400", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc"),
        c(t, "hex Content-Length", "400", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc"),
        c(t, "Content-Length with an inner space", "400", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n0123456789"),
        c(t, "overflowing Content-Length", "400", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        c(t, "empty Content-Length", "400", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"),
        c(t, "CL 0 then a smuggled request", "200 200", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(t, "chunked body hides a request", "200", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1f\r\nGET /hidden HTTP/1.1\r\nHost: a\r\n\r\n0\r\n\r\n"),
        c(t, "invalid chunk size", "400", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        c(t, "overflowing chunk size", "400", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
        c(t, "chunk data longer than its size", "400", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"),
        c(t, "bare LF line ends", "200", b"GET / HTTP/1.1\nHost: a\nX-Y: b\n\n"),
        c(t, "bare CR in a header", "400", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n"),
        c(t, "NUL in a header value", "200", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n"),
        c(t, "space in a header name", "400", b"GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n"),
        c(t, "empty header name", "400", b"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"),
        c(t, "header line without a colon", "400", b"GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n"),
        c(t, "fold before any header", "400", b"GET / HTTP/1.1\r\n folded: x\r\nHost: a\r\n\r\n"),
        c(t, "obs-fold in a value", "200", b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n"),
        c(t, "two different Host headers", "400", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        c(t, "two equal Host headers", "200", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        c(t, "absolute-form authority differs from Host", "400", b"GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n"),
        c(t, "absolute-form default port", "200", b"GET http://a:80/x HTTP/1.1\r\nHost: a:80\r\n\r\n"),
        c(t, "absolute-form without Host", "200", b"GET http://a/x HTTP/1.1\r\n\r\n"),
        c(t, "control character in the uri", "400", b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(t, "space in the uri", "400", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(t, "8-bit byte in the uri", "400", b"GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(t, "DEL in the uri", "400", b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(t, "HTTP/0.9 request line", "400", b"GET /\r\n\r\n"),
        c(t, "version HTTP/1.2 sent as 1.1", "200", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
        c(t, "lower-case version", "400", b"GET / http/1.1\r\nHost: a\r\n\r\n"),
        c(t, "non-token method", "400", b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(t, "extra spaces on the request line", "200", b"GET  /  HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(t, "leading empty lines", "200", b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        c(t, "WebSocket without a key", "400", b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
        c(t, "junk after a request", "200 400", b"GET / HTTP/1.1\r\nHost: a\r\n\r\nJUNK\r\n\r\n"),
        c(t, "Expect with another value", "200", b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continuee\r\nContent-Length: 2\r\n\r\nok"),
        c(t, "101 headers", "400", &many_headers(101)),
        c(t, "100 headers", "200", &many_headers(99)),
        c(t, "head at the buffer limit", "200", &padded(15254)),
        c(t, "head over the buffer limit", "400", &padded(15255)),
        c(t, "Connection tokens kept, close removed", "200", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Foo\r\nX-Foo: 1\r\n\r\n"),
        c(t, "upgrade h2c removed", "200", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
        c(t, "HTTP/2 preface on h1: h2 spoken", "", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ];
    v.push(c(t, "CL 0 POST, pipelined GET", "200 200", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));
    v
}

pub fn relaxed() -> Vec<Case> {
    let x = "relaxed";
    vec![
        c(
            x,
            "8-bit byte in the uri",
            "200",
            b"GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(
            x,
            "DEL in the uri still refused",
            "400",
            b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(
            x,
            "space in a header name",
            "200",
            b"GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n",
        ),
        c(
            x,
            "absolute-form authority differs from Host",
            "200",
            b"GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n",
        ),
        c(
            x,
            "space in the uri still refused",
            "400",
            b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        g(x, "invalid response header name", "200", "/badname", ""),
        g(x, "garbage response still 502", "502", "/garbage", ""),
    ]
}

pub fn server_close() -> Vec<Case> {
    let sc = "server_close";
    vec![
        g(sc, "simple", "200", "/", ""),
        s(sc, "two in turn", "200 200", &[&get("/", ""), &get("/2", "")]),
        c(sc, "pipelined two", "200 200", &[get("/", ""), get("/alt/x", "")].concat()),
        g(sc, "forwardfor except loopback", "200", "/", "X-Forwarded-For: 10.0.0.1\r\n"),
        g(sc, "backend forwardfor header X-Real-IP", "200", "/alt/y", ""),
        c(sc, "HTTP/1.0", "200", b"GET / HTTP/1.0\r\n\r\n"),
        g(sc, "client connection close", "200", "/", "Connection: close\r\n"),
        g(sc, "chunked response", "200", "/chunked", ""),
        g(sc, "close-delimited response", "200", "/eof", ""),
        g(sc, "HTTP/1.0 response", "200", "/http10", ""),
        c(sc, "POST chunked", "200", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    ]
}

pub fn httpclose() -> Vec<Case> {
    let hc = "httpclose";
    vec![
        g(hc, "simple", "200", "/", ""),
        c(
            hc,
            "pipelined two: one answered",
            "200",
            &[get("/", ""), get("/2", "")].concat(),
        ),
        g(
            hc,
            "client asks keep-alive",
            "200",
            "/",
            "Connection: keep-alive\r\n",
        ),
        c(
            hc,
            "HTTP/1.0 keep-alive",
            "200",
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ),
        g(hc, "chunked response", "200", "/chunked", ""),
        g(hc, "close-delimited response", "200", "/eof", ""),
        c(hc, "POST with Content-Length", "200", &post("/", 20)),
        g(hc, "103 before the response", "103 200", "/early", ""),
        g(hc, "server 503", "503", "/status/503", ""),
    ]
}

pub fn redirects() -> Vec<Case> {
    let rd = "redirects";
    vec![
        c(
            rd,
            "scheme https, 301",
            "301",
            b"GET /path HTTP/1.1\r\nHost: secure.example\r\n\r\n",
        ),
        c(
            rd,
            "scheme https keeps the query",
            "301",
            b"GET /path?q=1 HTTP/1.1\r\nHost: secure.example\r\n\r\n",
        ),
        c(
            rd,
            "prefix, 302",
            "302",
            b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n",
        ),
        c(
            rd,
            "prefix not for another host",
            "200",
            b"GET /a HTTP/1.1\r\nHost: example.org\r\n\r\n",
        ),
        g(rd, "location", "302", "/old", ""),
        g(rd, "location with a sample", "307", "/moved/page", ""),
        g(rd, "prefix drop-query", "302", "/v1/items?page=2", ""),
        g(rd, "append-slash", "302", "/dir", ""),
        g(rd, "append-slash drops the query", "302", "/dir?x=1", ""),
        g(rd, "308 with capture.req.uri", "308", "/secure/x?y=1", ""),
        g(rd, "set-cookie", "302", "/cookie", ""),
        c(
            rd,
            "303 for a POST",
            "303",
            b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nx=1",
        ),
        g(rd, "GET /form not redirected", "200", "/form", ""),
        c(
            rd,
            "redirects keep the connection",
            "302 302",
            &[get("/old", ""), get("/dir", "")].concat(),
        ),
        c(rd, "HTTP/1.0 redirect", "302", b"GET /old HTTP/1.0\r\n\r\n"),
        c(
            rd,
            "scheme https without Host",
            "301",
            b"GET /p HTTP/1.1\r\nHost: secure.example\r\nX: y\r\n\r\n",
        ),
    ]
}

pub fn deny() -> Vec<Case> {
    let d = "deny";
    vec![
        g(d, "plain", "200", "/", ""),
        g(d, "path_sub .git", "403", "/repo/.git/config", ""),
        g(d, "path_sub -i WP-ADMIN", "403", "/WP-ADMIN/x", ""),
        g(d, "path_sub .env", "403", "/app.env", ""),
        c(
            d,
            "method TRACE: 405",
            "405",
            b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        g(
            d,
            "hdr_cnt x-forwarded-host: 400",
            "400",
            "/",
            "X-Forwarded-Host: evil\r\n",
        ),
        g(d, "req.hdr found: 429", "429", "/", "X-Rate: 1\r\n"),
        g(d, "deny with a body", "418", "/teapot", ""),
        g(d, "return with a string", "200", "/ping", ""),
        g(d, "return without a body", "404", "/missing", ""),
        g(d, "return json with hdr", "503", "/json", ""),
        g(d, "tarpit: 500 later", "500", "/tarpit", ""),
        g(
            d,
            "no silent-drop rule (not run yet): forwarded",
            "200",
            "/drop",
            "",
        ),
        g(d, "allow stops the rules", "200", "/allowed", ""),
        g(d, "deny after allow's rule", "403", "/allowed2", ""),
        g(d, "http-response deny: 502", "502", "/leak", ""),
        c(
            d,
            "deny keeps the connection",
            "403 200",
            &[get("/x/.git", ""), get("/", "")].concat(),
        ),
        c(
            d,
            "return keeps the connection",
            "200 200",
            &[get("/ping", ""), get("/", "")].concat(),
        ),
        c(d, "deny to HTTP/1.0", "403", b"GET /.git HTTP/1.0\r\n\r\n"),
        c(d, "deny with an unread body", "403", &post("/.env", 50)),
    ]
}

pub fn headers() -> Vec<Case> {
    let h = "headers";
    vec![
        g(h, "plain", "200", "/", ""),
        g(
            h,
            "http-request capture",
            "200",
            "/",
            "X-Extra: 0123456789\r\n",
        ),
        g(
            h,
            "del-header",
            "200",
            "/",
            "X-Remove-Me: 1\r\nX-Keep: 2\r\nx-remove-me: 3\r\n",
        ),
        g(h, "replace-header", "200", "/", "User-Agent: curl/8.0\r\n"),
        g(
            h,
            "replace-header no match",
            "200",
            "/",
            "User-Agent: wget\r\n",
        ),
        g(
            h,
            "replace-value per value",
            "200",
            "/",
            "X-List: old, other,old\r\n",
        ),
        g(
            h,
            "set-header replaces",
            "200",
            "/",
            "X-Forwarded-Proto: https\r\nX-Path: fake\r\n",
        ),
        g(h, "set-path", "200", "/rw/a?k=v", ""),
        g(h, "set-query", "200", "/q?x=9", ""),
        g(h, "set-uri", "200", "/seturi?x", ""),
        g(h, "set-method", "200", "/post-me", ""),
        g(h, "replace-path", "200", "/old/a/b?q", ""),
        g(h, "replace-uri", "200", "/ru/x?y=1", ""),
        c(
            h,
            "replace-uri on an absolute uri",
            "200",
            b"GET http://www.example.com/ru/x HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
        ),
        g(h, "response rules", "200", "/hdrs", ""),
        g(h, "set-status with reason", "299", "/status-me", ""),
        g(h, "response rules on a 404", "404", "/status/404", ""),
        g(h, "after-response on a 502", "502", "/garbage", ""),
        c(
            h,
            "HTTP/1.0 response rules",
            "200",
            b"GET /hdrs HTTP/1.0\r\nHost: A.B\r\n\r\n",
        ),
        c(
            h,
            "lower converter on Host",
            "200",
            b"GET / HTTP/1.1\r\nHost: WWW.Example.COM\r\n\r\n",
        ),
        c(
            h,
            "pipelined, each rewritten",
            "200 200",
            &[get("/rw/1", ""), get("/old/2", "")].concat(),
        ),
        c(h, "no Host", "200", b"GET / HTTP/1.1\r\n\r\n"),
    ]
}

pub fn errorfile() -> Vec<Case> {
    let e = "errorfile";
    vec![
        g(e, "plain", "200", "/", ""),
        g(e, "errorfile 403", "403", "/deny", ""),
        g(e, "no errorfile for 500", "500", "/deny500", ""),
        g(e, "errorfile 503, no server", "503", "/nosrv", ""),
        g(e, "errorfiles 502", "502", "/garbage", ""),
        g(e, "errorfiles 504", "504", "/silent", ""),
        c(
            e,
            "errorfile 400",
            "400",
            b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        s(e, "default 408", "408", &[b"GET / HTTP/1.1\r\n"]),
        c(
            e,
            "errorfile keeps the connection",
            "403 200",
            &[get("/deny", ""), get("/", "")].concat(),
        ),
        c(
            e,
            "errorfile to HTTP/1.0",
            "503",
            b"GET /nosrv HTTP/1.0\r\n\r\n",
        ),
        c(
            e,
            "errorfile to HEAD",
            "403",
            b"HEAD /deny HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
    ]
}

pub fn auth() -> Vec<Case> {
    let a = "auth";
    vec![
        g(a, "public", "200", "/", ""),
        g(a, "no credentials: 401", "401", "/private", ""),
        g(
            a,
            "insecure-password",
            "200",
            "/private",
            "Authorization: Basic YWRtaW46c2VjcmV0\r\n",
        ),
        g(
            a,
            "crypt password",
            "200",
            "/private/x",
            "Authorization: Basic Ym9iOmJvYnBhc3M=\r\n",
        ),
        g(
            a,
            "wrong password",
            "401",
            "/private",
            "Authorization: Basic Ym9iOndyb25n\r\n",
        ),
        g(
            a,
            "not in the group",
            "401",
            "/admin",
            "Authorization: Basic Ym9iOmJvYnBhc3M=\r\n",
        ),
        g(
            a,
            "in the group",
            "200",
            "/admin",
            "Authorization: Basic YWRtaW46c2VjcmV0\r\n",
        ),
        g(a, "default realm", "401", "/plain", ""),
        g(
            a,
            "not base64",
            "401",
            "/private",
            "Authorization: Basic !!!!\r\n",
        ),
        g(
            a,
            "bearer",
            "401",
            "/private",
            "Authorization: Bearer abc\r\n",
        ),
        c(
            a,
            "401 keeps the connection",
            "401 200",
            &[get("/private", ""), get("/", "")].concat(),
        ),
    ]
}

pub fn logging() -> Vec<Case> {
    let l = "logging";
    vec![
        g(
            l,
            "captures",
            "200",
            "/",
            "User-Agent: Mozilla/5.0 (X11)\r\n",
        ),
        g(l, "unique-id", "200", "/", "X-Corr: ABC\r\n"),
        g(
            l,
            "header not captured",
            "200",
            "/",
            "X-Extra: 0123456789\r\n",
        ),
        c(l, "POST", "200", &post("/form", 300)),
        g(l, "server 404", "404", "/status/404", ""),
        g(l, "server garbage", "502", "/garbage", ""),
        g(l, "bad request", "400", "/a b", ""),
        g(l, "log-format", "200", "/p?q=1", "").on("fe2"),
        c(l, "log-format, POST", "200", &post("/f", 5)).on("fe2"),
        s(l, "dontlognull", "", &[]).on("fe2"),
        g(l, "log-format, bad request", "400", "/a b", "").on("fe2"),
    ]
}

const WS_HEAD: &[u8] = b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

pub fn websocket() -> Vec<Case> {
    let w = "websocket";
    vec![
        s(w, "upgrade and echo", "101", &[WS_HEAD, b"\x81\x05hello", b"\x81\x03bye"]),
        c(w, "upgrade with data right behind", "101", &[WS_HEAD, b"\x81\x02hi"].concat()),
        s(w, "Upgrade without Connection: upgrade, server 101: 502", "502", &[b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"]),
        g(w, "plain request", "200", "/", ""),
        c(w, "refused upgrade", "403 200", &[b"GET /status/403 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".to_vec(), get("/", "")].concat()),
        c(w, "upgrade on HTTP/1.0", "101", b"GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
    ]
}

pub fn buffer() -> Vec<Case> {
    let b = "buffer";
    vec![
        c(b, "POST with Content-Length", "200", &post("/", 11)),
        c(b, "POST chunked", "200", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"),
        s(b, "POST chunked in pieces", "200", &[b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", b"0\r\n\r\n"]),
        c(b, "req.body_len over 1000: 413", "413", &post("/", 2000)),
        s(b, "100-continue answered by the proxy", "100 200", &[b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", b"hello"]),
        s(b, "100-continue answered by the server", "100 200", &[b"POST /plain HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", b"hello"]),
        c(b, "100-continue, body at once", "100 200", b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"),
        s(b, "unbuffered chunked in pieces", "200", &[b"POST /plain HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", b"3\r\nabc\r\n", b"0\r\nX-T: 1\r\n\r\n"]),
        g(b, "GET", "200", "/", ""),
        c(b, "POST Content-Length 0", "200", &post("/", 0)),
        c(b, "POST 10 KB buffered", "413", &post("/", 10_000)),
        c(b, "POST 10 KB unbuffered", "200", &post("/plain", 10_000)),
    ]
}

pub fn maps() -> Vec<Case> {
    let m = "maps";
    vec![
        c(
            m,
            "host to api",
            "200",
            b"GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
        ),
        c(
            m,
            "host with port to assets",
            "200",
            b"GET / HTTP/1.1\r\nHost: Assets.Example.com:8080\r\n\r\n",
        ),
        c(
            m,
            "unknown host to the default",
            "200",
            b"GET / HTTP/1.1\r\nHost: other\r\n\r\n",
        ),
        g(m, "map_beg /api/", "200", "/api/x", ""),
        g(m, "map_beg /img/", "200", "/img/y.png", ""),
        g(m, "upper and base64", "200", "/", "X-In: hello\r\n"),
        g(m, "word(2,/)", "200", "/a/b/c", ""),
        c(
            m,
            "no Host: no backend, 503",
            "503",
            b"GET / HTTP/1.1\r\n\r\n",
        ),
    ]
}

pub fn monitor() -> Vec<Case> {
    let m = "monitor";
    vec![
        g(m, "monitor-uri", "200", "/healthz", ""),
        g(m, "monitor fail", "503", "/healthz", "X-Check-Down: 1\r\n"),
        g(m, "other path", "200", "/", ""),
        c(
            m,
            "monitor-uri on HTTP/1.0",
            "200",
            b"GET /healthz HTTP/1.0\r\n\r\n",
        ),
    ]
}

pub fn balance() -> Vec<Case> {
    let b = "balance";
    let four = [get("/1", ""), get("/2", ""), get("/3", ""), get("/4", "")].concat();
    vec![
        c(b, "roundrobin", "200 200 200 200", &four),
        c(
            b,
            "uri",
            "200 200 200 200",
            &[
                get("/uri/a", ""),
                get("/uri/b", ""),
                get("/uri/a", ""),
                get("/uri/c", ""),
            ]
            .concat(),
        ),
        c(
            b,
            "url_param",
            "200 200 200",
            &[
                get("/param?user=alice", ""),
                get("/param?user=bob", ""),
                get("/param?user=alice", ""),
            ]
            .concat(),
        ),
        c(
            b,
            "url_param absent",
            "200 200",
            &[get("/param", ""), get("/param?x=1", "")].concat(),
        ),
        c(
            b,
            "hdr",
            "200 200 200",
            &[
                get("/hdr", "X-Tenant: t1\r\n"),
                get("/hdr", "X-Tenant: t2\r\n"),
                get("/hdr", "X-Tenant: t1\r\n"),
            ]
            .concat(),
        ),
        s(
            b,
            "roundrobin across connections",
            "200",
            &[&get("/5", "Connection: close\r\n")],
        ),
    ]
}

pub fn cookie() -> Vec<Case> {
    let k = "cookie";
    vec![
        g(k, "first visit gets a cookie", "200", "/", ""),
        g(k, "cookie two", "200", "/", "Cookie: SRV=two\r\n"),
        g(
            k,
            "cookie one among others",
            "200",
            "/",
            "Cookie: a=1; SRV=one; b=2\r\n",
        ),
        g(
            k,
            "unknown cookie value",
            "200",
            "/",
            "Cookie: SRV=three\r\n",
        ),
        c(
            k,
            "HTTP/1.0 with the cookie",
            "200",
            b"GET / HTTP/1.0\r\nCookie: SRV=one\r\n\r\n",
        ),
    ]
}

pub fn stick() -> Vec<Case> {
    let st = "stick";
    let four = [get("/1", ""), get("/2", ""), get("/3", ""), get("/4", "")].concat();
    vec![
        c(st, "under the rate", "200 200 200 200", &four),
        c(st, "over the rate", "200 429 429 429", &four),
    ]
}

pub fn all() -> Vec<Case> {
    [
        route(),
        strict(),
        relaxed(),
        server_close(),
        httpclose(),
        redirects(),
        deny(),
        headers(),
        errorfile(),
        auth(),
        logging(),
        websocket(),
        buffer(),
        maps(),
        monitor(),
        balance(),
        cookie(),
        stick(),
        super::actions::cases(),
        super::dynbe::cases(),
        super::hdrcnt::cases(),
        super::hdrnames::cases(),
        super::waitbody::cases(),
        super::monitor::cases(),
        super::after::cases(),
        super::bodyless::cases(),
        super::listen::cases(),
        super::cache::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
