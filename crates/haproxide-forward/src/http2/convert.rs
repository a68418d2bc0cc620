//! HTTP/2 messages to and from the HTTP/1.1 bytes the engine reads and writes,
//! as HAProxy 2.6.12 converts them (measured with curl against it; see
//! docs/h2.md): the request line carries the absolute URI
//! (`scheme://authority/path`, what HAProxy logs) and version `HTTP/2.0`; the
//! server receives the origin form ([`request_head`]). `:authority` becomes
//! `host` (it replaces a `host` field), the `cookie` fields are joined with
//! `"; "` into one, appended last; a body without `content-length` goes chunked.
//! Connection-specific fields (`connection`, `keep-alive`, `proxy-connection`,
//! `transfer-encoding`, `upgrade`, a `te` other than `trailers`) are refused by
//! the `h2` crate itself before a request reaches here (a stream error,
//! PROTOCOL_ERROR, as HAProxy).

use haproxide_http::{write, Headers, RequestHead, ResponseHead};
use http::header::{HeaderName, HeaderValue};
use http::request::Parts;

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
    parts: &Parts,
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
    parts: &Parts,
    tls: bool,
    end_stream: bool,
    out: &mut Vec<u8>,
) -> Result<bool, Refused> {
    if parts.method == http::Method::CONNECT {
        return Err(Refused::Connect);
    }
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let authority = parts.uri.authority().map(|a| a.as_str());
    match authority {
        Some(a) if path.starts_with('/') => {
            let scheme = parts
                .uri
                .scheme_str()
                .unwrap_or(if tls { "https" } else { "http" });
            out.extend_from_slice(scheme.as_bytes());
            out.extend_from_slice(b"://");
            out.extend_from_slice(a.as_bytes());
        }
        _ => {}
    }
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/2.0\r\n");
    if let Some(a) = authority {
        field(out, b"host", a.as_bytes())?;
    }
    let mut cookie: Vec<u8> = Vec::new();
    let mut has_length = false;
    for (name, value) in parts.headers.iter() {
        if name == http::header::HOST && authority.is_some() {
            continue;
        }
        if name == http::header::COOKIE {
            if !cookie.is_empty() {
                cookie.extend_from_slice(b"; ");
            }
            cookie.extend_from_slice(value.as_bytes());
            continue;
        }
        has_length |= name == http::header::CONTENT_LENGTH;
        field(out, name.as_str().as_bytes(), value.as_bytes())?;
    }
    if !cookie.is_empty() {
        field(out, b"cookie", &cookie)?;
    }
    let chunked = !end_stream && !has_length;
    if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(chunked)
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) -> Result<(), Refused> {
    if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Refused::BadField);
    }
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// What the server receives for a bridged request: the head as HTTP/1 writes it,
/// with the absolute URI in origin form (HAProxy's HTX "normalized URI").
pub(crate) fn request_head(head: &RequestHead, connection: Option<&[u8]>, out: &mut Vec<u8>) {
    let start = out.len();
    write::request_head(head, connection, out);
    let uri = &head.uri;
    let Some(rest) = uri
        .strip_prefix(b"https://")
        .or_else(|| uri.strip_prefix(b"http://"))
    else {
        return;
    };
    let cut = uri.len() - rest.len() + rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let at = start + head.method.len() + 1;
    if rest.contains(&b'/') {
        out.drain(at..at + cut);
    } else {
        // `scheme://authority` alone: the server gets `/`.
        out.splice(at..at + cut, *b"/");
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
pub(crate) fn response(head: &ResponseHead) -> Option<http::Response<()>> {
    let status = http::StatusCode::from_u16(head.code).ok()?;
    let mut r = http::Response::new(());
    *r.status_mut() = status;
    let map = r.headers_mut();
    for h in head.headers.iter() {
        if connection_specific(h.name) {
            continue;
        }
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(h.name),
            HeaderValue::from_bytes(h.value),
        ) else {
            continue;
        };
        map.append(n, v);
    }
    Some(r)
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
        ] {
            let mut out = b"x".to_vec();
            request_head(&head(uri), None, &mut out);
            assert_eq!(String::from_utf8(out[1..].to_vec()).unwrap(), want);
        }
    }

    #[test]
    fn response_drops_connection_fields() {
        let head = ResponseHead {
            version: Version::HTTP_11,
            status: b"200".to_vec(),
            code: 200,
            reason: b"OK".to_vec(),
            headers: Headers::from(vec![
                Header::new(b"Content-Length", b"3"),
                Header::new(b"Connection", b"keep-alive, X-Hop"),
                Header::new(b"x-hop", b"1"),
                Header::new(b"Keep-Alive", b"timeout=5"),
                Header::new(b"Set-Cookie", b"a=1"),
                Header::new(b"set-cookie", b"b=2"),
            ]),
        };
        let r = response(&head).unwrap();
        let names: Vec<_> = r.headers().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["content-length", "x-hop", "set-cookie", "set-cookie"]
        );
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
        let bare = RequestHead {
            headers: Headers::new(),
            ..head
        };
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
