//! The request keys that hash-based `balance` algorithms of HTTP mode hash
//! (configuration.txt §4.2 `balance uri`, `url_param`, `hdr(<name>)`,
//! `hash-type`), sans-IO: HAProxy 2.6's `get_server_uh`, `get_server_ph` and
//! `get_server_hh` key extraction and its hash functions (`src/hash.c`). The
//! engine maps the hash onto its servers (map-based or consistent).

use crate::head::RequestHead;

/// What is hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LbKeyKind {
    /// `balance uri [whole] [len <n>] [depth <n>] [path-only]`.
    Uri {
        whole: bool,
        len: usize,
        depth: usize,
        path_only: bool,
    },
    /// `balance url_param <param>`: the parameter's value in the query string.
    UrlParam { name: String },
    /// `balance hdr(<name>) [use_domain_only]`.
    Hdr { name: String, domain_only: bool },
}

/// `hash-type <method> <function> [avalanche]`: the hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashFn {
    #[default]
    Sdbm,
    Djb2,
    Wt6,
    Crc32,
}

/// A backend's hash key: what, with which function, and the `avalanche`
/// modifier (HAProxy's `full_hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbKey {
    pub kind: LbKeyKind,
    pub func: HashFn,
    pub avalanche: bool,
}

impl LbKey {
    /// The request's hash, or None when the key is absent (HAProxy then falls
    /// back to round robin).
    pub fn hash(&self, req: &RequestHead) -> Option<u32> {
        let key = match &self.kind {
            LbKeyKind::Uri {
                whole,
                len,
                depth,
                path_only,
            } => uri_key(&req.uri, *whole, *len, *depth, *path_only),
            LbKeyKind::UrlParam { name } => url_param(&req.uri, name.as_bytes())?,
            LbKeyKind::Hdr { name, domain_only } => {
                let v = req.headers.get(name)?;
                // HAProxy reads the first comma-separated value.
                let v = v.split(|&b| b == b',').next().unwrap_or(v).trim_ascii();
                if v.is_empty() {
                    return None;
                }
                if *domain_only {
                    domain_only_key(v)
                } else {
                    v
                }
            }
        };
        let h = gen_hash(self.func, key);
        Some(if self.avalanche {
            haproxide_expr::hashconv::full_hash(h)
        } else {
            h
        })
    }
}

/// `get_server_uh`: the URI up to `?` (unless `whole`), at most `len` bytes,
/// up to the `depth`-th slash.
fn uri_key(uri: &[u8], whole: bool, len: usize, depth: usize, path_only: bool) -> &[u8] {
    let mut uri = uri;
    if path_only {
        // An absolute URI's path (HAProxy's http_parse_path); empty if none.
        if let Some(p) = uri.windows(3).position(|w| w == b"://") {
            let rest = &uri[p + 3..];
            uri = rest
                .iter()
                .position(|&b| b == b'/')
                .map_or(&[][..], |s| &rest[s..]);
        }
    }
    let n = if len > 0 {
        uri.len().min(len)
    } else {
        uri.len()
    };
    let mut slashes = 0;
    let mut end = 0;
    while end < n {
        let c = uri[end];
        if c == b'/' {
            slashes += 1;
            if depth > 0 && slashes == depth + 1 {
                break;
            }
        } else if c == b'?' && !whole {
            break;
        }
        end += 1;
    }
    &uri[..end]
}

/// `get_server_ph`: the value of `name=` in the query string.
fn url_param<'a>(uri: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let q = uri.iter().position(|&b| b == b'?')? + 1;
    let mut params = &uri[q..];
    let plen = name.len();
    while params.len() > plen {
        if params[plen] == b'=' && &params[..plen] == name {
            let v = &params[plen + 1..];
            let end = v.iter().position(|&b| b == b'&').unwrap_or(v.len());
            return Some(&v[..end]);
        }
        let amp = params.iter().position(|&b| b == b'&')?;
        params = &params[amp + 1..];
    }
    None
}

/// `use_domain_only`: the label before the last dot (`www.example.com` →
/// `example`), as HAProxy's backwards walk finds it.
fn domain_only_key(v: &[u8]) -> &[u8] {
    let mut len = v.len();
    let mut p = v.len();
    let mut end = p;
    let mut dohash = false;
    while len > 0 {
        if dohash {
            if p > 0 && v[p - 1] == b'.' {
                break;
            }
        } else if p < v.len() && v[p] == b'.' {
            end = p;
            dohash = true;
        }
        p -= 1;
        len -= 1;
    }
    &v[p..end]
}

/// The key's hash by `hash-type`'s function: the same functions as the hash
/// converters (configuration.txt 7.3.1), one implementation in haproxide-expr.
fn gen_hash(f: HashFn, key: &[u8]) -> u32 {
    use haproxide_expr::hashconv as h;
    match f {
        HashFn::Sdbm => h::sdbm(key),
        HashFn::Djb2 => h::djb2(key),
        HashFn::Crc32 => h::crc32(key),
        HashFn::Wt6 => h::wt6(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_haproxy_extracts_them() {
        assert_eq!(uri_key(b"/a/b/c?x=1", false, 0, 0, false), b"/a/b/c");
        assert_eq!(uri_key(b"/a/b/c?x=1", true, 0, 0, false), b"/a/b/c?x=1");
        assert_eq!(uri_key(b"/a/b/c?x=1", false, 4, 0, false), b"/a/b");
        assert_eq!(uri_key(b"/a/b/c?x=1", false, 0, 2, false), b"/a/b");
        assert_eq!(uri_key(b"http://h/p?q", false, 0, 0, true), b"/p");
        assert_eq!(url_param(b"/x?a=1&user=bob&c", b"user"), Some(&b"bob"[..]));
        assert_eq!(url_param(b"/x?username=1", b"user"), None);
        assert_eq!(domain_only_key(b"www.example.com"), b"example");
        assert_eq!(gen_hash(HashFn::Crc32, b"123456789"), 0xcbf4_3926);
        assert_eq!(gen_hash(HashFn::Djb2, b""), 5381);
        assert_eq!(gen_hash(HashFn::Sdbm, b"a"), 97);
    }
}
