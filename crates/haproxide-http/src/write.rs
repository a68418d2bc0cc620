//! Heads and chunks back to bytes, as HAProxy 2.6 writes them on an HTTP/1
//! connection: single spaces on the start line, header names lower-cased (HTX
//! stores them so; `option h1-case-adjust-bogus-*` is not supported yet), values
//! as parsed, CR LF line ends, the `Connection` header cleaned of `close` and
//! `keep-alive` (HAProxy decides those itself) and the decided value appended.

use crate::head::{Headers, RequestHead, ResponseHead, Version};

fn version(v: Version, out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/");
    out.push(b'0' + v.major);
    out.push(b'.');
    out.push(b'0' + v.minor);
}

fn fields(h: &Headers, connection: Option<&[u8]>, out: &mut Vec<u8>) {
    for f in h.iter() {
        let value: std::borrow::Cow<'_, [u8]> = if f.is("connection") {
            // Cleaned as the parser cleans (a rule may have set one).
            let v: std::borrow::Cow<'_, [u8]> =
                crate::conn::cleaned(f.value).map_or(f.value.into(), Into::into);
            if v.is_empty() {
                continue;
            }
            v
        } else {
            f.value.into()
        };
        out.extend(f.name.iter().map(u8::to_ascii_lowercase));
        out.extend_from_slice(b": ");
        out.extend_from_slice(&value);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(c) = connection {
        out.extend_from_slice(b"connection: ");
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a request head; `connection` is the value decided by
/// [`crate::conn::connection_value`], if any.
pub fn request_head(head: &RequestHead, connection: Option<&[u8]>, out: &mut Vec<u8>) {
    request_head_to(head, &head.uri, connection, out);
}

/// [`request_head`] with `uri` as the request target, not the head's (a
/// bridged HTTP/2 request's origin form).
pub fn request_head_to(
    head: &RequestHead,
    uri: &[u8],
    connection: Option<&[u8]>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&head.method);
    out.push(b' ');
    out.extend_from_slice(uri);
    out.push(b' ');
    version(head.version.on_the_wire(), out);
    out.extend_from_slice(b"\r\n");
    fields(&head.headers, connection, out);
}

/// Writes a response head. The status digits are written as received and the
/// reason after one space, even when empty (`HTTP/1.1 200 \r\n`, as HAProxy).
pub fn response_head(head: &ResponseHead, connection: Option<&[u8]>, out: &mut Vec<u8>) {
    version(head.version.on_the_wire(), out);
    out.push(b' ');
    out.extend_from_slice(&head.status);
    out.push(b' ');
    out.extend_from_slice(&head.reason);
    out.extend_from_slice(b"\r\n");
    fields(&head.headers, connection, out);
}

/// One chunk of a chunked body (nothing for empty data: an empty chunk would end
/// the body). Sizes in upper-case hex, as HAProxy 2.6.12 writes them.
pub fn chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk and the trailers (names lower-cased).
pub fn last_chunk(trailers: &Headers, out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n");
    for f in trailers.iter() {
        out.extend(f.name.iter().map(u8::to_ascii_lowercase));
        out.extend_from_slice(b": ");
        out.extend_from_slice(f.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}
