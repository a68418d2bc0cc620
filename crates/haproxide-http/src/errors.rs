//! HAProxy 2.6.12's default error responses (its `http_err_msgs`), byte for byte.
//!
//! They reach the client in one of two forms, both measured on HAProxy 2.6.12 by
//! tests/differential.rs:
//! - [`raw`]: as stored, when the HTTP/1 connection layer answers by itself (a
//!   request it cannot parse: 400, 422; `timeout http-request`: 408);
//! - [`as_sent`]: after going through HTX like any response (403 from a `deny`,
//!   500, 502, 503, 504): header names lower-cased, the stored `Connection: close`
//!   removed and `connection: close` added only when the connection is closed.

use crate::conn::connection_value;
use crate::parse::{parse_response, ParseOptions, Parsed};
use crate::write::response_head;

/// The stored response for `status` (HAProxy falls back to 500's for a status
/// it has no page for; so does this).
pub fn raw(status: u16) -> &'static [u8] {
    match status {
        200 => b"HTTP/1.1 200 OK\r\nContent-length: 58\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n",
        401 => b"HTTP/1.1 401 Unauthorized\r\nContent-length: 112\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
        407 => b"HTTP/1.1 407 Unauthorized\r\nContent-length: 112\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>407 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
        413 => b"HTTP/1.1 413 Payload Too Large\r\nContent-length: 106\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n</body></html>\n",
        501 => b"HTTP/1.1 501 Not Implemented\r\nContent-length: 136\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to fulfill the request.\n</body></html>\n",
        400 => b"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n",
        403 => b"HTTP/1.1 403 Forbidden\r\nContent-length: 93\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n",
        404 => b"HTTP/1.1 404 Not Found\r\nContent-length: 83\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>404 Not Found</h1>\nThe resource could not be found.\n</body></html>\n",
        405 => b"HTTP/1.1 405 Method Not Allowed\r\nContent-length: 146\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method not supported by that resource\n</body></html>\n",
        408 => b"HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n",
        410 => b"HTTP/1.1 410 Gone\r\nContent-length: 114\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n</body></html>\n",
        421 => b"HTTP/1.1 421 Misdirected Request\r\nContent-length: 104\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>421 Misdirected Request</h1>\nRequest sent to a non-authoritative server.\n</body></html>\n",
        425 => b"HTTP/1.1 425 Too Early\r\nContent-length: 80\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>425 Too Early</h1>\nYour browser sent early data.\n</body></html>\n",
        429 => b"HTTP/1.1 429 Too Many Requests\r\nContent-length: 117\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n",
        500 => b"HTTP/1.1 500 Internal Server Error\r\nContent-length: 97\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n",
        502 => b"HTTP/1.1 502 Bad Gateway\r\nContent-length: 107\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
        503 => b"HTTP/1.1 503 Service Unavailable\r\nContent-length: 107\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
        504 => b"HTTP/1.1 504 Gateway Time-out\r\nContent-length: 92\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
        422 => b"HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n",
        _ => raw(500),
    }
}

/// The response as the client receives it once it went through HTX, for a client
/// connection that stays open (`keep_alive`) or not, to an HTTP/1.0 client or not.
pub fn as_sent(status: u16, keep_alive: bool, http10_client: bool) -> Vec<u8> {
    let bytes = raw(status);
    let mut out = Vec::with_capacity(bytes.len());
    // The stored pages always parse; `raw` is tested to.
    if let Ok(Parsed::Complete { message, len }) =
        parse_response(bytes, b"GET", &ParseOptions::default())
    {
        response_head(
            &message.head,
            connection_value(keep_alive, http10_client),
            &mut out,
        );
        out.extend_from_slice(&bytes[len..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_parses_and_its_length_is_right() {
        for s in [
            200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502,
            503, 504,
        ] {
            let r = raw(s);
            let Ok(Parsed::Complete { message, len }) =
                parse_response(r, b"GET", &ParseOptions::default())
            else {
                panic!("{s} does not parse");
            };
            assert_eq!(message.head.code, s);
            assert_eq!(
                message.body,
                crate::BodyLength::Length((r.len() - len) as u64),
                "{s}: content-length"
            );
        }
        assert_eq!(raw(418), raw(500));
    }

    #[test]
    fn through_htx() {
        let s = as_sent(403, true, false);
        assert!(s.starts_with(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html>"));
        let s = as_sent(403, false, true);
        assert!(s.starts_with(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n"));
    }
}
