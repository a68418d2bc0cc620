//! Keep-alive decisions (configuration.txt §1.1 and §4 `option http-keep-alive`,
//! HAProxy's default mode).

use crate::head::{Headers, Version};
use crate::parse::Info;

/// Whether the peer that sent a message of `version` with these `Connection`
/// tokens expects the connection to stay open: HTTP/1.1 unless `close`, HTTP/1.0
/// only with `keep-alive` (and no `close`).
pub fn peer_keeps_alive(version: Version, info: &Info) -> bool {
    if info.conn_close || info.close_required {
        return false;
    }
    version.is_11() || info.conn_keep_alive
}

/// The `Connection` value HAProxy adds to a message it writes, given whether the
/// connection stays open and whether an HTTP/1.0 party is involved (the message
/// itself, or the request it answers): an HTTP/1.0 party must be told
/// `keep-alive`, anyone must be told `close`. Measured on HAProxy 2.6.12:
/// a 1.0 request goes to the server with `connection: keep-alive`; a 1.0
/// response on a kept connection gets `connection: keep-alive`; the response to
/// a 1.1 `Connection: close` request gets `connection: close`.
pub fn connection_value(keep_alive: bool, http10_involved: bool) -> Option<&'static [u8]> {
    match (keep_alive, http10_involved) {
        (false, _) => Some(b"close"),
        (true, true) => Some(b"keep-alive"),
        (true, false) => None,
    }
}

/// Removes the `close` and `keep-alive` tokens from the `Connection` headers of a
/// parsed head, and the headers left empty, as HAProxy 2.6's HTTP/1 parser does
/// for requests and responses before any rule sees them (h1.c
/// `h1_parse_connection_header` with `H1_MF_CLEAN_CONN_HDR`): `req.hdr_cnt`,
/// `req.hdrs` and the HTX sizes in the log count only what is left. Measured on
/// HAProxy 2.6.12 (tests/http_diff/hdrcnt.rs): `upgrade, close` -> `upgrade`,
/// `foo ,  close,bar , keep-alive` -> `foo ,bar` (the value is kept raw up to
/// the first removed token, later tokens are appended trimmed after a comma).
/// The caller reads the tokens' meaning ([`Info`]) before cleaning.
pub fn clean_connection(headers: &mut Headers) {
    if let Some(first) = headers.position("connection") {
        clean_connection_from(headers, first);
    }
}

/// [`clean_connection`] for a head whose first `Connection` field is at
/// `first` (the parser found it reading the tokens).
pub(crate) fn clean_connection_from(headers: &mut Headers, first: usize) {
    let mut i = first;
    while let Some(h) = headers.at(i) {
        if !h.is("connection") {
            i += 1;
            continue;
        }
        match cleaned(h.value) {
            Some(v) if v.is_empty() => headers.remove(i),
            Some(v) => {
                headers.set_value(i, &v);
                i += 1;
            }
            None if h.value.is_empty() => headers.remove(i),
            None => i += 1,
        }
    }
}

/// The cleaned value of one `Connection` header, `None` when nothing is removed.
pub(crate) fn cleaned(v: &[u8]) -> Option<Vec<u8>> {
    // The usual value, one token to remove (what the walk below gives for it).
    if v.eq_ignore_ascii_case(b"keep-alive") || v.eq_ignore_ascii_case(b"close") {
        return Some(Vec::new());
    }
    let lws = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut out: Option<Vec<u8>> = None;
    let mut raw_end = 0;
    let mut i = 0;
    while i < v.len() {
        if lws(v[i]) {
            i += 1;
            continue;
        }
        let n = value_end(v, i);
        let mut word = &v[i..n];
        while let [rest @ .., last] = word {
            if !lws(*last) {
                break;
            }
            word = rest;
        }
        if word.eq_ignore_ascii_case(b"close") || word.eq_ignore_ascii_case(b"keep-alive") {
            out.get_or_insert_with(|| v[..raw_end].to_vec());
        } else {
            match &mut out {
                None => raw_end = n,
                Some(o) => {
                    if !o.is_empty() {
                        o.push(b',');
                    }
                    o.extend_from_slice(word);
                }
            }
        }
        i = n + 1;
    }
    out
}

/// The next comma at or after `from` outside a quoted string, or the end
/// (HAProxy's `http_find_hdr_value_end`).
fn value_end(v: &[u8], from: usize) -> usize {
    let mut quoted = false;
    let mut i = from;
    while i < v.len() {
        match v[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b',' if !quoted => return i,
            _ => {}
        }
        i += 1;
    }
    v.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(close: bool, ka: bool) -> Info {
        Info {
            conn_close: close,
            conn_keep_alive: ka,
            ..Info::default()
        }
    }

    #[test]
    fn keep_alive_by_version_and_tokens() {
        let v10 = Version::HTTP_10;
        let v11 = Version::HTTP_11;
        // (version, close, keep-alive) -> stays open
        let table = [
            (v11, false, false, true),
            (v11, true, false, false),
            (v11, false, true, true),
            (v11, true, true, false),
            (v10, false, false, false),
            (v10, false, true, true),
            (v10, true, true, false),
            (Version { major: 0, minor: 9 }, false, false, false),
        ];
        for (v, c, k, want) in table {
            assert_eq!(
                peer_keeps_alive(v, &info(c, k)),
                want,
                "{v:?} close={c} ka={k}"
            );
        }
        let mut i = info(false, false);
        i.close_required = true;
        assert!(!peer_keeps_alive(v11, &i), "CL+TE forces close");
    }

    #[test]
    fn connection_value_table() {
        assert_eq!(connection_value(true, false), None);
        assert_eq!(connection_value(true, true), Some(&b"keep-alive"[..]));
        assert_eq!(connection_value(false, false), Some(&b"close"[..]));
        assert_eq!(connection_value(false, true), Some(&b"close"[..]));
    }

    #[test]
    fn connection_cleaned_as_haproxy() {
        // (value, what is left; None: the header is removed), measured on 2.6.12.
        let table: [(&str, Option<&str>); 9] = [
            ("close", None),
            ("keep-alive", None),
            ("close, keep-alive", None),
            ("upgrade, close", Some("upgrade")),
            ("CLOSE , foo", Some("foo")),
            ("foo,bar", Some("foo,bar")),
            ("foo ,  close,bar , keep-alive", Some("foo ,bar")),
            ("foo,,bar", Some("foo,,bar")),
            ("close;q=1", Some("close;q=1")),
        ];
        for (value, want) in table {
            let mut h = Headers::default();
            h.push(b"host", b"a");
            h.push(b"Connection", value.as_bytes());
            h.push(b"x", b"1");
            clean_connection(&mut h);
            let got = h
                .get("connection")
                .map(|v| String::from_utf8_lossy(v).into_owned());
            assert_eq!(got.as_deref(), want, "{value:?}");
            assert_eq!(h.len(), 2 + usize::from(want.is_some()), "{value:?}");
        }
        let mut h = Headers::default();
        h.push(b"connection", b"");
        h.push(b"connection", b"\"a,close\", close");
        clean_connection(&mut h);
        assert_eq!(
            h.get_all("connection").collect::<Vec<_>>(),
            vec![&b"\"a,close\""[..]]
        );
    }
}
