//! HPACK's tables (RFC 7541 §2.3): the static table (Appendix A) and the
//! dynamic table with its size limit (§4).

use std::collections::VecDeque;

/// RFC 7541 Appendix A, index 1..=61 at 0..=60.
pub const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// Per-entry overhead (§4.1).
pub const ENTRY_OVERHEAD: usize = 32;

/// One dynamic entry: name and value in one allocation.
#[derive(Debug, Clone)]
struct Entry {
    bytes: Box<[u8]>,
    name_len: usize,
}

impl Entry {
    fn size(&self) -> usize {
        self.bytes.len() + ENTRY_OVERHEAD
    }
}

/// The dynamic table (§2.3.2, §4): newest first; evicts the oldest to stay
/// within its maximum size, which size updates change up to `limit` (the
/// SETTINGS_HEADER_TABLE_SIZE we advertised).
#[derive(Debug, Clone)]
pub struct Dynamic {
    entries: VecDeque<Entry>,
    size: usize,
    max: usize,
    limit: usize,
}

impl Dynamic {
    /// A table of at most `limit` bytes (§4.2: the maximum starts at the limit).
    pub fn new(limit: usize) -> Self {
        Dynamic {
            entries: VecDeque::new(),
            size: 0,
            max: limit,
            limit,
        }
    }

    /// Current size (§4.1).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Current maximum size.
    pub fn max_size(&self) -> usize {
        self.max
    }

    /// Entries in the table.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bound size updates may reach (our advertised SETTINGS value).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
        if self.max > limit {
            self.max = limit;
            self.evict(0);
        }
    }

    /// A dynamic table size update (§6.3): above the limit it is a decoding
    /// error (returns false).
    pub fn resize(&mut self, max: usize) -> bool {
        if max > self.limit {
            return false;
        }
        self.max = max;
        self.evict(0);
        true
    }

    /// Entry `i` (0 = newest).
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let e = self.entries.get(i)?;
        let (n, v) = e.bytes.split_at(e.name_len.min(e.bytes.len()));
        Some((n, v))
    }

    /// Adds an entry (§4.4): evicts until it fits; an entry larger than the
    /// maximum empties the table and is not added.
    pub fn insert(&mut self, name: &[u8], value: &[u8]) {
        let need = name.len() + value.len() + ENTRY_OVERHEAD;
        if need > self.max {
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict(need);
        let mut bytes = Vec::with_capacity(name.len() + value.len());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(value);
        let e = Entry {
            bytes: bytes.into_boxed_slice(),
            name_len: name.len(),
        };
        self.size += e.size();
        self.entries.push_front(e);
    }

    /// Evicts the oldest entries until `room` more bytes fit.
    fn evict(&mut self, room: usize) {
        while self.size + room > self.max {
            match self.entries.pop_back() {
                Some(e) => self.size -= e.size(),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_ends() {
        assert_eq!(STATIC[0].0, b":authority");
        assert_eq!(STATIC[7], (&b":status"[..], &b"200"[..]));
        assert_eq!(STATIC[60].0, b"www-authenticate");
    }

    #[test]
    fn eviction_keeps_size_within_max() {
        let mut t = Dynamic::new(100);
        t.insert(b"aaaa", b"bbbb"); // 40
        t.insert(b"cccc", b"dddd"); // 80
        assert_eq!((t.len(), t.size()), (2, 80));
        t.insert(b"eeee", b"ffff"); // evicts the oldest
        assert_eq!((t.len(), t.size()), (2, 80));
        assert_eq!(t.get(0), Some((&b"eeee"[..], &b"ffff"[..])));
        assert_eq!(t.get(1), Some((&b"cccc"[..], &b"dddd"[..])));
        // Larger than the table: empties it.
        t.insert(&[b'x'; 80], b"y");
        assert_eq!((t.len(), t.size()), (0, 0));
        // Size updates: within the limit only; shrinking evicts.
        t.insert(b"aaaa", b"bbbb");
        assert!(!t.resize(101));
        assert!(t.resize(39));
        assert_eq!((t.len(), t.size()), (0, 0));
        assert!(t.resize(100));
    }
}
