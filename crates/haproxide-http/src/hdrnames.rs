//! `option http-restrict-req-hdr-names preserve|delete|reject` (configuration.txt
//! §4.2): request header names holding a character outside `[A-Za-z0-9-]` are
//! kept, removed, or make the request rejected (403). HAProxy 2.6.12 applies a
//! proxy's policy right after that proxy's `http-request` rules (measured: the
//! frontend's rules still see such a header, the backend's no longer do when the
//! frontend deletes them).

use crate::head::Headers;

/// The policy of one proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HdrNamePolicy {
    /// Keep every header (the default).
    #[default]
    Preserve,
    /// Remove the headers whose name is not `[A-Za-z0-9-]+`.
    Delete,
    /// Refuse the request (403) when one such header is present.
    Reject,
}

/// Whether a header name only holds `[A-Za-z0-9-]`.
pub fn is_restricted_name(name: &[u8]) -> bool {
    name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// Applies `policy` to the request headers: false when the request must be
/// rejected (403), true to go on (headers deleted in place for `Delete`).
pub fn apply(policy: HdrNamePolicy, headers: &mut Headers) -> bool {
    match policy {
        HdrNamePolicy::Preserve => true,
        HdrNamePolicy::Delete => {
            headers.retain(|h| is_restricted_name(h.name));
            true
        }
        HdrNamePolicy::Reject => headers.iter().all(|h| is_restricted_name(h.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs() -> Headers {
        let mut h = Headers::default();
        h.push(b"Host", b"a");
        h.push(b"X-my_hdr", b"on");
        h.push(b"x-ok-2", b"1");
        h.push(b"x.dot", b"1");
        h
    }

    #[test]
    fn preserve_keeps_everything() {
        let mut h = hdrs();
        assert!(apply(HdrNamePolicy::Preserve, &mut h));
        assert_eq!(h, hdrs());
    }

    #[test]
    fn delete_removes_only_bad_names_in_order() {
        let mut h = hdrs();
        assert!(apply(HdrNamePolicy::Delete, &mut h));
        let names: Vec<&[u8]> = h.iter().map(|x| x.name).collect();
        assert_eq!(names, vec![&b"Host"[..], b"x-ok-2"]);
    }

    #[test]
    fn reject_refuses_a_bad_name_and_accepts_clean_ones() {
        let mut h = hdrs();
        assert!(!apply(HdrNamePolicy::Reject, &mut h));
        assert_eq!(h, hdrs(), "reject changes nothing");
        let mut clean = Headers::default();
        clean.push(b"Host", b"a");
        clean.push(b"X-Forwarded-For", b"1.2.3.4");
        assert!(apply(HdrNamePolicy::Reject, &mut clean));
    }
}
