//! Parsed message heads: start line plus an ordered header list.
//!
//! Owned bytes: a head is at most `tune.bufsize` bytes, copied once when it is
//! complete, and then outlives the input buffer (the engine refills that buffer with
//! the body while rules still read the head). Header names keep the case they were
//! received in; comparisons are case-insensitive and [`crate::write`] sends them
//! lower-cased as HAProxy does.

/// An HTTP version `HTTP/<major>.<minor>` (one digit each, as HAProxy requires).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    pub const HTTP_10: Version = Version { major: 1, minor: 0 };
    pub const HTTP_11: Version = Version { major: 1, minor: 1 };

    /// At least HTTP/1.1: keep-alive by default, chunked allowed.
    pub fn is_11(self) -> bool {
        self >= Version::HTTP_11
    }

    /// The version HAProxy writes on an HTTP/1 connection: versions above 1.1
    /// (`HTTP/1.2`, `HTTP/2.0` on an HTTP/1 connection) are sent as HTTP/1.1, the
    /// others as received.
    pub fn on_the_wire(self) -> Version {
        if self > Version::HTTP_11 {
            Version::HTTP_11
        } else {
            self
        }
    }
}

/// One header field: name and value as received (value trimmed, obs-fold unfolded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

impl Header {
    pub fn new(name: &[u8], value: &[u8]) -> Header {
        Header {
            name: name.to_vec(),
            value: value.to_vec(),
        }
    }

    /// Case-insensitive name comparison.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }
}

/// Header fields in the order received, duplicates kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Values of every field called `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |h| h.is(name))
            .map(|h| h.value.as_slice())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|h| h.is(name))
            .map(|h| h.value.as_slice())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends a field at the end.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.0.push(Header::new(name, value));
    }

    /// Removes every field called `name`; returns how many were removed.
    pub fn remove_all(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|h| !h.is(name));
        before - self.0.len()
    }

    /// Whether a comma-separated `name` header lists `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .any(|v| crate::chars::list_items(v).any(|t| t.eq_ignore_ascii_case(token.as_bytes())))
    }
}

/// A request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    pub method: Vec<u8>,
    pub uri: Vec<u8>,
    pub version: Version,
    pub headers: Headers,
}

impl RequestHead {
    pub fn is_method(&self, m: &str) -> bool {
        self.method == m.as_bytes()
    }
}

/// A response head. `status` keeps the digits as received (HAProxy forwards them
/// as-is); [`ResponseHead::code`] is their value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub version: Version,
    pub status: Vec<u8>,
    pub code: u16,
    pub reason: Vec<u8>,
    pub headers: Headers,
}

impl ResponseHead {
    /// 1xx but not 101: an interim response, the final one follows.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.code) && self.code != 101
    }
}
