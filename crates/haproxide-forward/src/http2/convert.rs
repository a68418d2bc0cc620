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
pub(crate) fn request(
    parts: &Parts,
    tls: bool,
    end_stream: bool,
) -> Result<(Vec<u8>, bool), Refused> {
    if parts.method == http::Method::CONNECT {
        return Err(Refused::Connect);
    }
    let mut out = Vec::with_capacity(512);
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
        field(&mut out, b"host", a.as_bytes())?;
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
        field(&mut out, name.as_str().as_bytes(), value.as_bytes())?;
    }
    if !cookie.is_empty() {
        field(&mut out, b"cookie", &cookie)?;
    }
    let chunked = !end_stream && !has_length;
    if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok((out, chunked))
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
        if connection_specific(&h.name) {
            continue;
        }
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(&h.name),
            HeaderValue::from_bytes(&h.value),
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
        if connection_specific(&h.name) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(&h.name),
            HeaderValue::from_bytes(&h.value),
        ) {
            map.append(n, v);
        }
    }
    map
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
            headers: Headers(vec![Header::new(b"host", b"h")]),
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
            headers: Headers(vec![
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
}
