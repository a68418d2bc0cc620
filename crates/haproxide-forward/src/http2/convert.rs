//! HTTP/2 messages to and from the HTTP/1.1 bytes the engine reads and writes,
//! as HAProxy 2.6.12 converts them (measured with curl against it; see
//! docs/h2.md): the request line carries the absolute URI
//! (`scheme://authority/path`, what HAProxy logs) and version `HTTP/2.0`; the
//! server receives the origin form ([`request_head`]). `:authority` becomes
//! `host` (it replaces a `host` field), the `cookie` fields are joined with
//! `"; "` into one, appended last; a body without `content-length` goes chunked.
//! Connection-specific fields (`connection`, `keep-alive`, `proxy-connection`,
//! `transfer-encoding`, `upgrade`, a `te` other than `trailers`) are refused by
//! the codec (`haproxide_h2::request`) before a request reaches here (a stream
//! error, PROTOCOL_ERROR, as HAProxy).

use haproxide_http::{
    write, ErrorKind, Headers, ParseError, ParseOptions, Request, RequestHead, ResponseHead,
    Version,
};
use http::header::{HeaderName, HeaderValue};
#[cfg(test)]
use http::request::Parts;

/// An HTTP/2 request head as the conversion reads it: the codec's
/// [`haproxide_h2::request::RequestHead`] (checked by it, RFC 9113 §8.3), or,
/// in tests, the `http` crate's parts.
pub(crate) trait H2Head {
    fn method(&self) -> &[u8];
    fn scheme(&self) -> Option<&[u8]>;
    fn authority(&self) -> Option<&[u8]>;
    fn path(&self) -> Option<&[u8]>;
    /// The regular fields, in order.
    fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])>;
}

impl H2Head for haproxide_h2::request::RequestHead {
    fn method(&self) -> &[u8] {
        self.method()
    }
    fn scheme(&self) -> Option<&[u8]> {
        self.scheme()
    }
    fn authority(&self) -> Option<&[u8]> {
        self.authority()
    }
    fn path(&self) -> Option<&[u8]> {
        self.path()
    }
    fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields()
    }
}

#[cfg(test)]
impl H2Head for Parts {
    fn method(&self) -> &[u8] {
        self.method.as_str().as_bytes()
    }
    fn scheme(&self) -> Option<&[u8]> {
        self.uri.scheme_str().map(str::as_bytes)
    }
    fn authority(&self) -> Option<&[u8]> {
        self.uri.authority().map(|a| a.as_str().as_bytes())
    }
    fn path(&self) -> Option<&[u8]> {
        self.uri.path_and_query().map(|p| p.as_str().as_bytes())
    }
    fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
    }
}

/// Why a request is refused (the stream is reset with PROTOCOL_ERROR).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `CONNECT` (tunnels over HTTP/2 are not bridged).
    Connect,
    /// A field the HTTP/1 side cannot carry (a CR, LF or NUL in a value).
    BadField,
}

/// The HTTP/1.1 head for an HTTP/2 request, and whether its body goes chunked.
/// `end_stream`: the HEADERS frame ended the stream (no body).
#[cfg(test)]
pub(crate) fn request(
    parts: &impl H2Head,
    tls: bool,
    end_stream: bool,
) -> Result<(Vec<u8>, bool), Refused> {
    let mut out = Vec::new();
    let chunked = request_into(parts, tls, end_stream, &mut out)?;
    Ok((out, chunked))
}

/// [`request`] written at the end of `out` (a buffer the caller reuses: no
/// allocation per stream); true when the body goes chunked.
pub(crate) fn request_into(
    parts: &impl H2Head,
    tls: bool,
    end_stream: bool,
    out: &mut Vec<u8>,
) -> Result<bool, Refused> {
    if parts.method() == b"CONNECT" {
        return Err(Refused::Connect);
    }
    let t = target(parts, tls);
    out.extend_from_slice(parts.method());
    out.push(b' ');
    t.push_uri(out);
    out.extend_from_slice(b" HTTP/2.0\r\n");
    let chunked = each_field(parts, t.authority, end_stream, |n, v| {
        out.extend_from_slice(n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    })?;
    out.extend_from_slice(b"\r\n");
    Ok(chunked)
}

/// The request target of the HTTP/1 head: `scheme://authority` before the path
/// when `:authority` is given and the path is in origin form, else the path.
struct Target<'a> {
    scheme: Option<&'a [u8]>,
    authority: Option<&'a [u8]>,
    path: &'a [u8],
}

fn target(parts: &impl H2Head, tls: bool) -> Target<'_> {
    let path = parts.path().unwrap_or(b"/");
    let authority = parts.authority();
    let scheme = match authority {
        Some(_) if path.starts_with(b"/") => {
            Some(
                parts
                    .scheme()
                    .unwrap_or(if tls { b"https" } else { b"http" }),
            )
        }
        _ => None,
    };
    Target {
        scheme,
        authority,
        path,
    }
}

impl Target<'_> {
    fn len(&self) -> usize {
        self.scheme
            .map_or(0, |s| s.len() + 3 + self.authority.map_or(0, <[u8]>::len))
            + self.path.len()
    }

    fn push_uri(&self, out: &mut Vec<u8>) {
        if let (Some(s), Some(a)) = (self.scheme, self.authority) {
            out.extend_from_slice(s);
            out.extend_from_slice(b"://");
            out.extend_from_slice(a);
        }
        out.extend_from_slice(self.path);
    }
}

/// Gives `emit` each field of the HTTP/1 head, in order: `host` from
/// `:authority` (replacing a `host` field), the fields, the `cookie` fields
/// joined with `"; "`, and `transfer-encoding: chunked` when a body comes
/// without `content-length` (returns whether it does). A value with a CR, LF
/// or NUL refuses the request.
fn each_field(
    parts: &impl H2Head,
    authority: Option<&[u8]>,
    end_stream: bool,
    mut emit: impl FnMut(&[u8], &[u8]),
) -> Result<bool, Refused> {
    let mut field = |name: &[u8], value: &[u8]| {
        if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(Refused::BadField);
        }
        emit(name, value);
        Ok(())
    };
    if let Some(a) = authority {
        field(b"host", a)?;
    }
    let mut cookie: Vec<u8> = Vec::new();
    let mut has_length = false;
    for (name, value) in parts.fields() {
        if name == b"host" && authority.is_some() {
            continue;
        }
        if name == b"cookie" {
            if !cookie.is_empty() {
                cookie.extend_from_slice(b"; ");
            }
            cookie.extend_from_slice(value);
            continue;
        }
        has_length |= name == b"content-length";
        field(name, value)?;
    }
    if !cookie.is_empty() {
        field(b"cookie", &cookie)?;
    }
    let chunked = !end_stream && !has_length;
    if chunked {
        field(b"transfer-encoding", b"chunked")?;
    }
    Ok(chunked)
}

/// An HTTP/2 request as the engine's parsed request head, without the HTTP/1.1
/// bytes: the same head [`request_into`] writes, checked and normalised as the
/// parser does it ([`haproxide_http::request_from_fields`]), so that the engine
/// sees what it would have parsed. Also the length of those bytes (what the
/// client is counted for) and whether the body goes chunked.
pub(crate) struct Direct {
    pub(crate) req: Result<Request, ParseError>,
    pub(crate) len: usize,
    pub(crate) chunked: bool,
}

/// [`Direct`] for `parts` (`end_stream`: the HEADERS frame ended the stream).
pub(crate) fn request_direct(
    parts: &impl H2Head,
    tls: bool,
    end_stream: bool,
    opts: &ParseOptions,
) -> Result<Direct, Refused> {
    let method = parts.method();
    if method == b"CONNECT" {
        return Err(Refused::Connect);
    }
    let t = target(parts, tls);
    // The start line's pieces and the field store come from the thread's
    // spare buffers (a head's go back there when it is dropped).
    let mut uri = haproxide_http::spare::with_capacity(t.len());
    t.push_uri(&mut uri);
    // The bytes `request_into` writes: `M U HTTP/2.0\r\n`, fields, `\r\n`.
    let mut len = method.len() + 1 + uri.len() + 11 + 2;
    let (count, bytes) = parts
        .fields()
        .fold((0, 0), |(c, b), (n, v)| (c + 1, b + n.len() + v.len()));
    let bytes = t.authority.map_or(0, |a| a.len() + 4) + bytes + 32;
    let mut headers = Headers::with_capacity(count + 2, bytes);
    // Each field as `request_into` writes it and the parser reads it back
    // (the value trimmed).
    let chunked = each_field(parts, t.authority, end_stream, |name, value| {
        len += name.len() + 2 + value.len() + 2;
        headers.push(name, haproxide_http::chars::trim_spht(value));
    })?;
    let req = if len > opts.max_head {
        Err(ParseError {
            kind: ErrorKind::TooLarge,
            offset: opts.max_head,
        })
    } else {
        let mut m = haproxide_http::spare::with_capacity(method.len());
        m.extend_from_slice(method);
        let head = RequestHead {
            method: m,
            uri,
            version: Version { major: 2, minor: 0 },
            headers,
        };
        haproxide_http::request_from_fields(head, opts)
    };
    Ok(Direct { req, len, chunked })
}

/// What the server receives for a bridged request: the head as HTTP/1 writes it,
/// with the absolute URI in origin form (HAProxy's HTX "normalized URI").
/// Written at once (not the absolute form, then cut: a second copy of the
/// head's bytes).
pub(crate) fn request_head(head: &RequestHead, connection: Option<&[u8]>, out: &mut Vec<u8>) {
    write::request_head_to(head, origin_form(&head.uri), connection, out);
}

/// The origin form of an `http://` or `https://` URI (`scheme://authority`
/// alone: `/`); other targets as they are.
fn origin_form(uri: &[u8]) -> &[u8] {
    let Some(rest) = uri
        .strip_prefix(b"https://")
        .or_else(|| uri.strip_prefix(b"http://"))
    else {
        return uri;
    };
    match rest.iter().position(|&b| b == b'/') {
        Some(p) => &rest[p..],
        None => b"/",
    }
}

/// Fields HTTP/2 does not carry (RFC 9113 §8.2.2). Fields the `connection`
/// field names are kept, as HAProxy 2.6.12 keeps them (measured: tests/h2.rs).
fn connection_specific(name: &[u8]) -> bool {
    const DROP: [&[u8]; 5] = [
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
    ];
    DROP.iter().any(|d| name.eq_ignore_ascii_case(d))
}

/// The HTTP/2 response for a head the engine sent the client: names
/// lower-cased, connection-specific fields dropped (HAProxy's H2 mux does the
/// same); a field `http` cannot carry (a byte not allowed in HTTP/2) is
/// dropped. `None` for a status outside 100..=999.
///
/// The values share one buffer (see [`values`]) and the map is sized once.
pub(crate) fn response(head: &ResponseHead) -> Option<http::Response<()>> {
    let status = http::StatusCode::from_u16(head.code).ok()?;
    let mut r = http::Response::new(());
    *r.status_mut() = status;
    let all = values(&head.headers);
    let mut map = http::HeaderMap::with_capacity(head.headers.len());
    let mut at = 0;
    for h in head.headers.iter() {
        let end = at + h.value.len();
        let Some(v) = (end <= all.len()).then(|| all.slice(at..end)) else {
            break;
        };
        at = end;
        if connection_specific(h.name) {
            continue;
        }
        let (Ok(n), Ok(v)) = (response_name(h.name), HeaderValue::from_maybe_shared(v)) else {
            continue;
        };
        map.append(n, v);
    }
    *r.headers_mut() = map;
    Some(r)
}

/// A response field's name as `HeaderName::from_bytes` makes it, the usual
/// ones straight from the `http` crate's constants (`from_bytes` lower-cases
/// the name into a scratch buffer and looks it up: about 115 instructions
/// each).
fn response_name(n: &[u8]) -> Result<HeaderName, http::header::InvalidHeaderName> {
    use http::header as h;
    let is = |s: &[u8]| n.eq_ignore_ascii_case(s);
    let known = match n.len() {
        4 if is(b"date") => Some(h::DATE),
        4 if is(b"etag") => Some(h::ETAG),
        4 if is(b"vary") => Some(h::VARY),
        6 if is(b"server") => Some(h::SERVER),
        7 if is(b"expires") => Some(h::EXPIRES),
        8 if is(b"location") => Some(h::LOCATION),
        10 if is(b"set-cookie") => Some(h::SET_COOKIE),
        12 if is(b"content-type") => Some(h::CONTENT_TYPE),
        13 if is(b"last-modified") => Some(h::LAST_MODIFIED),
        13 if is(b"cache-control") => Some(h::CACHE_CONTROL),
        13 if is(b"accept-ranges") => Some(h::ACCEPT_RANGES),
        14 if is(b"content-length") => Some(h::CONTENT_LENGTH),
        16 if is(b"content-encoding") => Some(h::CONTENT_ENCODING),
        _ => None,
    };
    match known {
        Some(k) => Ok(k),
        None => HeaderName::from_bytes(n),
    }
}

/// Value bytes in one allocation with their count of users
/// (`Bytes::from_owner`), for heads whose values fit `N` bytes.
struct Inline<const N: usize> {
    len: usize,
    buf: [u8; N],
}

impl<const N: usize> AsRef<[u8]> for Inline<N> {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Inline<N> {
    fn bytes(headers: &Headers) -> bytes::Bytes {
        let mut b = Inline {
            len: 0,
            buf: [0; N],
        };
        for h in headers.iter() {
            let end = b.len + h.value.len();
            if let Some(d) = b.buf.get_mut(b.len..end) {
                d.copy_from_slice(h.value);
                b.len = end;
            }
        }
        bytes::Bytes::from_owner(b)
    }
}

/// All the fields' values one after the other, in one shared buffer the
/// `HeaderValue`s are slices of: one allocation for a head whose values fit
/// 512 bytes (the buffer and its count together; a smaller one for values
/// within 128 bytes, less to clear and copy), else two (a vector, then its
/// count when first sliced).
fn values(headers: &Headers) -> bytes::Bytes {
    let size: usize = headers.iter().map(|h| h.value.len()).sum();
    if size <= 128 {
        return Inline::<128>::bytes(headers);
    }
    if size <= 512 {
        return Inline::<512>::bytes(headers);
    }
    let mut all = Vec::with_capacity(size);
    for h in headers.iter() {
        all.extend_from_slice(h.value);
    }
    bytes::Bytes::from(all)
}

/// Trailers of a chunked response body as HTTP/2 trailers.
pub(crate) fn trailers(t: &Headers) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for h in t.iter() {
        if connection_specific(h.name) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(h.name),
            HeaderValue::from_bytes(h.value),
        ) {
            map.append(n, v);
        }
    }
    map
}

/// One chunk of a chunked body.
pub(crate) fn chunk(d: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(d.len() + 12);
    c.extend_from_slice(format!("{:x}\r\n", d.len()).as_bytes());
    c.extend_from_slice(d);
    c.extend_from_slice(b"\r\n");
    c
}

/// The last chunk of a chunked body, with its trailers.
pub(crate) fn last_chunk(trailers: Option<&http::HeaderMap>) -> Vec<u8> {
    let mut end = b"0\r\n".to_vec();
    for (n, v) in trailers.into_iter().flatten() {
        end.extend_from_slice(n.as_str().as_bytes());
        end.extend_from_slice(b": ");
        end.extend_from_slice(v.as_bytes());
        end.extend_from_slice(b"\r\n");
    }
    end.extend_from_slice(b"\r\n");
    end
}

/// The HTTP/2 request for a head the engine sends to an HTTP/2 server (HAProxy
/// 2.6's H2 mux): `:scheme` and `:authority` from an absolute URI, else
/// `https`/`http` by the connection and the `host` field (not sent itself);
/// connection-specific fields, those `connection` names and a `te` other than
/// `trailers` dropped. `None` when the method or URI cannot be carried.
pub(crate) fn upstream_request(head: &RequestHead, https: bool) -> Option<http::Request<()>> {
    let method = http::Method::from_bytes(&head.method).ok()?;
    let host = head.headers.get("host");
    let uri = if head.uri.starts_with(b"/") || head.uri == b"*" {
        let mut b = http::Uri::builder().path_and_query(head.uri.as_slice());
        if let Some(h) = host.filter(|h| !h.is_empty()) {
            b = b.scheme(if https { "https" } else { "http" }).authority(h);
        }
        b.build().ok()?
    } else {
        http::Uri::try_from(head.uri.as_slice()).ok()?
    };
    let named: Vec<Vec<u8>> = head
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(b"connection"))
        .flat_map(|h| {
            h.value
                .split(|&b| b == b',')
                .map(|t| t.trim_ascii().to_ascii_lowercase())
        })
        .collect();
    let mut r = http::Request::new(());
    *r.method_mut() = method;
    // Without an authority the crate sends `:scheme http` and no `:authority`
    // only for a request it is told comes from HTTP/1.1 (HAProxy sends no
    // `:authority` either).
    *r.version_mut() = if uri.authority().is_some() {
        http::Version::HTTP_2
    } else {
        http::Version::HTTP_11
    };
    *r.uri_mut() = uri;
    let map = r.headers_mut();
    for h in head.headers.iter() {
        let lower = h.name.to_ascii_lowercase();
        if connection_specific(&lower)
            || lower == b"host"
            || named.contains(&lower)
            || (lower == b"te" && !h.value.eq_ignore_ascii_case(b"trailers"))
        {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(&lower),
            HeaderValue::from_bytes(h.value),
        ) {
            map.append(n, v);
        }
    }
    Some(r)
}

/// The HTTP/1.1 head the engine reads for an HTTP/2 server's response, and
/// whether its body goes chunked (no `content-length`). `bodyless`: a response
/// to HEAD, a 1xx, 204 or 304; `ended`: its HEADERS ended the stream.
pub(crate) fn upstream_response(
    parts: &http::response::Parts,
    bodyless: bool,
    ended: bool,
) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(256);
    // HAProxy 2.6.12 writes no reason phrase (`HTTP/1.1 200 `, measured).
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.extend_from_slice(b" \r\n");
    let mut has_length = false;
    for (n, v) in parts.headers.iter() {
        if connection_specific(n.as_str().as_bytes()) {
            continue;
        }
        has_length |= n == http::header::CONTENT_LENGTH;
        out.extend_from_slice(n.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let mut chunked = false;
    if !has_length && !bodyless {
        if ended {
            out.extend_from_slice(b"content-length: 0\r\n");
        } else {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            chunked = true;
        }
    }
    out.extend_from_slice(b"\r\n");
    (out, chunked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use haproxide_http::{Header, Version};

    fn parts(req: http::Request<()>) -> Parts {
        req.into_parts().0
    }

    #[test]
    fn request_as_haproxy_converts_it() {
        let p = parts(
            http::Request::get("http://127.0.0.1:18080/p?q=1")
                .header("user-agent", "curl")
                .header("cookie", "a=1")
                .header("x-up", "V")
                .header("cookie", "b=2")
                .body(())
                .unwrap(),
        );
        let (h, chunked) = request(&p, false, true).unwrap();
        assert!(!chunked);
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "GET http://127.0.0.1:18080/p?q=1 HTTP/2.0\r\nhost: 127.0.0.1:18080\r\n\
             user-agent: curl\r\nx-up: V\r\ncookie: a=1; b=2\r\n\r\n"
        );
    }

    #[test]
    fn body_without_length_goes_chunked_and_authority_wins_over_host() {
        let p = parts(
            http::Request::post("https://a.example/up")
                .header("host", "b.example")
                .body(())
                .unwrap(),
        );
        let (h, chunked) = request(&p, true, false).unwrap();
        assert!(chunked);
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "POST https://a.example/up HTTP/2.0\r\nhost: a.example\r\n\
             transfer-encoding: chunked\r\n\r\n"
        );
        let p = parts(
            http::Request::post("https://a.example/up")
                .header("content-length", "5")
                .body(())
                .unwrap(),
        );
        assert!(!request(&p, true, false).unwrap().1);
        let p = parts(http::Request::connect("a.example:443").body(()).unwrap());
        assert_eq!(request(&p, true, false), Err(Refused::Connect));
    }

    /// The head built from HEADERS is what the engine parses from the bytes
    /// `request` writes: same head, framing, flags, refusals and byte count.
    #[test]
    fn direct_head_is_the_parsed_bytes() {
        let big = "v".repeat(9000);
        let cases: Vec<(http::Request<()>, bool, bool)> = vec![
            (
                http::Request::get("http://127.0.0.1:18080/p?q=1")
                    .header("user-agent", "curl")
                    .header("cookie", "a=1")
                    .header("x-up", "V")
                    .header("cookie", "b=2")
                    .body(())
                    .unwrap(),
                false,
                true,
            ),
            (
                http::Request::post("https://a.example/up")
                    .header("host", "b.example")
                    .body(())
                    .unwrap(),
                true,
                false,
            ),
            (
                http::Request::post("https://a.example/up")
                    .header("content-length", "5")
                    .body(())
                    .unwrap(),
                true,
                false,
            ),
            (
                http::Request::post("/up")
                    .header("content-length", "05")
                    .header("content-length", "5")
                    .body(())
                    .unwrap(),
                true,
                false,
            ),
            (
                http::Request::post("/up")
                    .header("content-length", "x5")
                    .body(())
                    .unwrap(),
                true,
                false,
            ),
            (
                http::Request::get("http://a.example:80/x")
                    .header("expect", "100-continue")
                    .body(())
                    .unwrap(),
                false,
                true,
            ),
            (
                http::Request::get("https://a.example:443")
                    .body(())
                    .unwrap(),
                true,
                true,
            ),
            (
                http::Request::get("https://a.example:8443/")
                    .header("te", "trailers")
                    .body(())
                    .unwrap(),
                true,
                true,
            ),
            (
                http::Request::get("/nohost")
                    .header("host", "h.example")
                    .header("host", "h.example")
                    .body(())
                    .unwrap(),
                false,
                true,
            ),
            (
                http::Request::get("/twohosts")
                    .header("host", "h.example")
                    .header("host", "i.example")
                    .body(())
                    .unwrap(),
                false,
                true,
            ),
            (
                http::Request::get("/v")
                    .header("x-s", "  padded\t")
                    .header("x-e", "")
                    .body(())
                    .unwrap(),
                false,
                true,
            ),
            (
                http::Request::get("/caf\u{e9}").body(()).unwrap(),
                false,
                true,
            ),
            (
                http::Request::get("/big")
                    .header("x-big", big.as_str())
                    .header("x-big2", big.as_str())
                    .body(())
                    .unwrap(),
                false,
                true,
            ),
            (
                http::Request::get("/ws")
                    .header("upgrade", "websocket")
                    .body(())
                    .unwrap(),
                false,
                true,
            ),
            (
                http::Request::connect("a.example:443").body(()).unwrap(),
                true,
                false,
            ),
        ];
        let mut many = http::Request::get("/many");
        for i in 0..101 {
            many = many.header(format!("x-{i}"), "1");
        }
        let mut cases = cases;
        cases.push((many.body(()).unwrap(), false, true));
        for (i, (r, tls, end)) in cases.into_iter().enumerate() {
            let p = parts(r);
            for invalid in [false, true] {
                let opts = ParseOptions {
                    accept_invalid: invalid,
                    ..ParseOptions::default()
                };
                let d = request_direct(&p, tls, end, &opts);
                let Ok((bytes, chunked)) = request(&p, tls, end) else {
                    assert_eq!(d.err(), request(&p, tls, end).err(), "case {i}");
                    continue;
                };
                let d = d.unwrap();
                assert_eq!((d.len, d.chunked), (bytes.len(), chunked), "case {i}");
                let parsed = haproxide_http::parse_request(&bytes, &opts).map(|r| match r {
                    haproxide_http::Parsed::Complete { message, len } => {
                        assert_eq!(len, bytes.len());
                        message
                    }
                    haproxide_http::Parsed::Partial => panic!("case {i}: partial"),
                });
                match (d.req, parsed) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "case {i}"),
                    (Err(a), Err(b)) => assert_eq!(a.kind, b.kind, "case {i}"),
                    (a, b) => panic!("case {i} (accept_invalid {invalid}): {a:?} vs {b:?}"),
                }
            }
        }
    }

    #[test]
    fn server_gets_origin_form() {
        let head = |uri: &[u8]| RequestHead {
            method: b"GET".to_vec(),
            uri: uri.to_vec(),
            version: Version { major: 2, minor: 0 },
            headers: Headers::from(vec![Header::new(b"host", b"h")]),
        };
        for (uri, want) in [
            (
                &b"https://h:8443/a/b?c"[..],
                "GET /a/b?c HTTP/1.1\r\nhost: h\r\n\r\n",
            ),
            (b"http://h", "GET / HTTP/1.1\r\nhost: h\r\n\r\n"),
            (b"/plain", "GET /plain HTTP/1.1\r\nhost: h\r\n\r\n"),
            (b"https://h:8443/", "GET / HTTP/1.1\r\nhost: h\r\n\r\n"),
            // No path: `/` (a query without one goes too).
            (b"http://h?q", "GET / HTTP/1.1\r\nhost: h\r\n\r\n"),
            // Other schemes and forms as they are.
            (b"ftp://h/x", "GET ftp://h/x HTTP/1.1\r\nhost: h\r\n\r\n"),
            (b"*", "GET * HTTP/1.1\r\nhost: h\r\n\r\n"),
        ] {
            let mut out = b"x".to_vec();
            request_head(&head(uri), None, &mut out);
            assert_eq!(String::from_utf8(out[1..].to_vec()).unwrap(), want);
        }
    }

    /// An HTTP/1.1 `200 OK` response head with these fields.
    fn ok_200(fields: Vec<Header>) -> ResponseHead {
        ResponseHead {
            version: Version::HTTP_11,
            status: b"200".to_vec(),
            code: 200,
            reason: b"OK".to_vec(),
            headers: Headers::from(fields),
        }
    }

    #[test]
    fn response_drops_connection_fields() {
        let head = ok_200(vec![
            Header::new(b"Content-Length", b"3"),
            Header::new(b"Connection", b"keep-alive, X-Hop"),
            Header::new(b"x-hop", b"1"),
            Header::new(b"Keep-Alive", b"timeout=5"),
            Header::new(b"Set-Cookie", b"a=1"),
            Header::new(b"set-cookie", b"b=2"),
        ]);
        let r = response(&head).unwrap();
        let names: Vec<_> = r.headers().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["content-length", "x-hop", "set-cookie", "set-cookie"]
        );
    }

    /// The usual names taken from constants are the names `from_bytes`
    /// makes, whatever their case; others (and bad ones) go through it.
    #[test]
    fn response_names_as_from_bytes() {
        for n in [
            "date",
            "etag",
            "vary",
            "server",
            "expires",
            "location",
            "set-cookie",
            "content-type",
            "last-modified",
            "cache-control",
            "accept-ranges",
            "content-length",
            "content-encoding",
            "x-date",
            "dates",
            "age",
            "x-custom-field",
        ] {
            for v in [n.to_string(), n.to_ascii_uppercase(), {
                let mut c = n.as_bytes().to_vec();
                c[0] = c[0].to_ascii_uppercase();
                String::from_utf8(c).unwrap()
            }] {
                let got = response_name(v.as_bytes()).unwrap();
                assert_eq!(got, HeaderName::from_bytes(v.as_bytes()).unwrap(), "{v}");
                assert_eq!(got.as_str(), n);
            }
        }
        for bad in [&b""[..], b"da te", b"content-type:", b"\x00date"] {
            assert!(response_name(bad).is_err());
            assert!(HeaderName::from_bytes(bad).is_err());
        }
    }

    /// The values keep their bytes and order whichever buffer holds them
    /// (inline within 128 or 512 bytes, a vector beyond), a dropped field's
    /// value included in the buffer but not in the map.
    #[test]
    fn response_values_in_every_buffer_size() {
        for size in [0, 1, 60, 127, 128, 129, 300, 511, 512, 513, 5000] {
            let long = "v".repeat(size);
            let head = ok_200(vec![
                Header::new(b"Date", b"Sun, 06 Dec 2026 04:00:00 GMT"),
                Header::new(b"Connection", b"close"),
                Header::new(b"X-Long", long.as_bytes()),
                Header::new(b"Content-Length", b"12"),
            ]);
            let r = response(&head).unwrap();
            let got: Vec<(String, Vec<u8>)> = r
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                .collect();
            assert_eq!(
                got,
                [
                    ("date".into(), b"Sun, 06 Dec 2026 04:00:00 GMT".to_vec()),
                    ("x-long".into(), long.into_bytes()),
                    ("content-length".into(), b"12".to_vec()),
                ],
                "values of {size} bytes"
            );
        }
    }

    #[test]
    fn upstream_request_as_haproxy_h2_mux() {
        let head = RequestHead {
            method: b"POST".to_vec(),
            uri: b"/p?q=1".to_vec(),
            version: Version::HTTP_11,
            headers: Headers::from(vec![
                Header::new(b"Host", b"a.example:8080"),
                Header::new(b"Connection", b"keep-alive, X-Hop"),
                Header::new(b"X-Hop", b"1"),
                Header::new(b"TE", b"gzip"),
                Header::new(b"Transfer-Encoding", b"chunked"),
                Header::new(b"X-Up", b"V"),
            ]),
        };
        let r = upstream_request(&head, true).unwrap();
        assert_eq!(r.uri().to_string(), "https://a.example:8080/p?q=1");
        assert_eq!(r.method(), http::Method::POST);
        let names: Vec<_> = r.headers().keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["x-up"]);
        // No host: no authority, the crate sends `:scheme http` alone.
        let mut bare = head.clone();
        bare.headers = Headers::new();
        let r = upstream_request(&bare, false).unwrap();
        assert_eq!(r.uri().authority(), None);
        assert_eq!(r.version(), http::Version::HTTP_11);
    }

    #[test]
    fn upstream_response_framing() {
        let resp = |cl: bool| {
            let mut b = http::Response::builder().status(200).header("x-a", "1");
            if cl {
                b = b.header("content-length", "3");
            }
            b.body(()).unwrap().into_parts().0
        };
        let (h, chunked) = upstream_response(&resp(true), false, false);
        assert!(!chunked);
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "HTTP/1.1 200 \r\nx-a: 1\r\ncontent-length: 3\r\n\r\n"
        );
        let (h, chunked) = upstream_response(&resp(false), false, false);
        assert!(chunked);
        assert!(String::from_utf8(h)
            .unwrap()
            .ends_with("transfer-encoding: chunked\r\n\r\n"));
        let (h, chunked) = upstream_response(&resp(false), false, true);
        assert!(!chunked);
        assert!(String::from_utf8(h)
            .unwrap()
            .ends_with("content-length: 0\r\n\r\n"));
        let (h, _) = upstream_response(&resp(false), true, false);
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "HTTP/1.1 200 \r\nx-a: 1\r\n\r\n"
        );
        assert_eq!(chunk(b"abc"), b"3\r\nabc\r\n");
        assert_eq!(last_chunk(None), b"0\r\n\r\n");
    }
}
