//! Keep-alive decisions (configuration.txt §1.1 and §4 `option http-keep-alive`,
//! HAProxy's default mode).

use crate::head::Version;
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
}
