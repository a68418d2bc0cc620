//! Parsed message heads: start line plus an ordered header list.
//!
//! Owned bytes: a head is at most `tune.bufsize` bytes, copied once when it is
//! complete, and then outlives the input buffer (the engine refills that buffer with
//! the body while rules still read the head). The header section is copied into one
//! store and each field is a pair of ranges into it ([`Headers`]). Header names keep the case they were
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

/// One header field, owned: the form to build a head from literals (tests, replies)
/// and to keep one beyond its head. A parsed head stores its fields in [`Headers`].
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

/// One header field of a [`Headers`], borrowed: name as received (value trimmed,
/// obs-fold unfolded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
}

impl<'a> HeaderRef<'a> {
    /// Case-insensitive name comparison.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    pub fn to_header(self) -> Header {
        Header::new(self.name, self.value)
    }
}

/// Where a name or a value lies in [`Headers`]' byte store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    len: usize,
}

impl Span {
    fn end(self) -> usize {
        self.start + self.len
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    name: Span,
    value: Span,
}

/// Header fields in the order received, duplicates kept.
///
/// The fields' bytes live in one store: a parsed head's header section copied once
/// (one allocation) plus what was appended since (unfolded lines, values set by
/// rules). Each field is a pair of ranges into it, in a list pre-sized by the parser
/// (a second allocation): a parsed head costs two allocations whatever its number of
/// fields. A value rewritten to something no longer than before is written in place;
/// a longer one is appended and the old bytes become garbage, compacted away once
/// they outweigh the live bytes (so the store stays within about twice the fields'
/// size, whatever the rules do).
#[derive(Clone, Default)]
pub struct Headers {
    buf: Vec<u8>,
    list: Vec<Slot>,
    /// Bytes of `buf` no field points to any more.
    garbage: usize,
}

/// Bytes appended to a parsed head's store before it must grow: room for the
/// few fields the proxy usually adds (X-Forwarded-For, rules).
pub(crate) const SPARE_BYTES: usize = 128;
/// Fields the list has room for beyond a parsed head's.
pub(crate) const SPARE_FIELDS: usize = 4;

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Empty, with room for `fields` fields holding `bytes` bytes of names and
    /// values: the thread's spare buffers when it has some ([`crate::spare`]),
    /// as a parsed head's.
    pub fn with_capacity(fields: usize, bytes: usize) -> Headers {
        Headers::from_store(crate::spare::with_capacity(bytes), fields)
    }

    /// A store whose first bytes are `buf` (the parser's copy of a header section);
    /// fields are then added with [`Headers::push_spans`].
    pub(crate) fn from_store(buf: Vec<u8>, fields: usize) -> Headers {
        Headers {
            buf,
            list: SLOT_SPARES.take(fields, fields),
            garbage: 0,
        }
    }

    /// The store's bytes (for the parser, which reads unfolded lines back).
    pub(crate) fn store(&self) -> &[u8] {
        &self.buf
    }

    /// Copies `start..start + len` of the store to its end; returns the new start.
    pub(crate) fn store_copy(&mut self, start: usize, len: usize) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_within(start..start + len);
        at
    }

    /// Appends `n` copies of `b` to the store.
    pub(crate) fn store_fill(&mut self, b: u8, n: usize) {
        self.buf.extend(std::iter::repeat_n(b, n));
    }

    /// Adds a field whose name and value are ranges of the store (start, length).
    pub(crate) fn push_spans(&mut self, name: (usize, usize), value: (usize, usize)) {
        self.list.push(Slot {
            name: Span {
                start: name.0,
                len: name.1,
            },
            value: Span {
                start: value.0,
                len: value.1,
            },
        });
    }

    fn bytes(&self, s: Span) -> &[u8] {
        self.buf.get(s.start..s.end()).unwrap_or_default()
    }

    fn view(&self, s: &Slot) -> HeaderRef<'_> {
        HeaderRef {
            name: self.bytes(s.name),
            value: self.bytes(s.value),
        }
    }

    fn append(&mut self, bytes: &[u8]) -> Span {
        if self.buf.capacity() == 0 {
            self.buf.reserve(bytes.len().max(SPARE_BYTES));
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        Span {
            start,
            len: bytes.len(),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            headers: self,
            inner: self.list.iter(),
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The field at `index`.
    pub fn at(&self, index: usize) -> Option<HeaderRef<'_>> {
        self.list.get(index).map(|s| self.view(s))
    }

    /// Where the first field called `name` is (case-insensitive).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.iter().position(|h| h.is(name))
    }

    /// Values of every field called `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter().filter(move |h| h.is(name)).map(|h| h.value)
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|h| h.is(name)).map(|h| h.value)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends a field at the end.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let slot = Slot {
            name: self.append(name),
            value: self.append(value),
        };
        self.list.push(slot);
    }

    /// Inserts a field before the one at `index` (at the end when `index` is past it).
    pub fn insert(&mut self, index: usize, name: &[u8], value: &[u8]) {
        let slot = Slot {
            name: self.append(name),
            value: self.append(value),
        };
        self.list.insert(index.min(self.list.len()), slot);
    }

    /// Removes the field at `index` (nothing when there is none).
    pub fn remove(&mut self, index: usize) {
        if index < self.list.len() {
            let s = self.list.remove(index);
            self.forget(s);
        }
    }

    /// Replaces the value of the field at `index` (nothing when there is none).
    pub fn set_value(&mut self, index: usize, value: &[u8]) {
        let Some(old) = self.list.get(index).map(|s| s.value) else {
            return;
        };
        let new = if value.len() <= old.len {
            // In place: no field shares bytes with another.
            if let Some(dst) = self.buf.get_mut(old.start..old.start + value.len()) {
                dst.copy_from_slice(value);
            }
            self.garbage += old.len - value.len();
            Span {
                start: old.start,
                len: value.len(),
            }
        } else {
            self.garbage += old.len;
            self.append(value)
        };
        if let Some(s) = self.list.get_mut(index) {
            s.value = new;
        }
        self.maybe_compact();
    }

    /// Cuts the value of the field at `index` to its first `len` bytes.
    pub fn truncate_value(&mut self, index: usize, len: usize) {
        if let Some(s) = self.list.get_mut(index) {
            let cut = s.value.len.min(len);
            self.garbage += s.value.len - cut;
            s.value.len = cut;
        }
    }

    /// Keeps the fields for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(HeaderRef<'_>) -> bool) {
        let mut dropped = 0;
        let buf = &self.buf;
        self.list.retain(|s| {
            let bytes = |sp: Span| buf.get(sp.start..sp.end()).unwrap_or_default();
            let k = keep(HeaderRef {
                name: bytes(s.name),
                value: bytes(s.value),
            });
            if !k {
                dropped += s.name.len + s.value.len;
            }
            k
        });
        self.garbage += dropped;
        self.maybe_compact();
    }

    /// Removes every field called `name`; returns how many were removed.
    pub fn remove_all(&mut self, name: &str) -> usize {
        let before = self.list.len();
        self.retain(|h| !h.is(name));
        before - self.list.len()
    }

    /// Whether a comma-separated `name` header lists `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .any(|v| crate::chars::list_items(v).any(|t| t.eq_ignore_ascii_case(token.as_bytes())))
    }

    /// The fields as owned pairs.
    pub fn to_vec(&self) -> Vec<Header> {
        self.iter().map(HeaderRef::to_header).collect()
    }

    fn forget(&mut self, s: Slot) {
        self.garbage += s.name.len + s.value.len;
        self.maybe_compact();
    }

    /// Rewrites the store with the live bytes only, once the garbage is both
    /// more than the live bytes and more than a small head.
    fn maybe_compact(&mut self) {
        let live = self.buf.len().saturating_sub(self.garbage);
        if self.garbage <= 1024 || self.garbage <= live {
            return;
        }
        let mut buf = Vec::with_capacity(live + SPARE_BYTES);
        for s in &mut self.list {
            for sp in [&mut s.name, &mut s.value] {
                let start = buf.len();
                buf.extend_from_slice(self.buf.get(sp.start..sp.end()).unwrap_or_default());
                sp.start = start;
            }
        }
        self.buf = buf;
        self.garbage = 0;
    }
}

/// The fields of a [`Headers`], in order.
#[derive(Clone)]
pub struct Iter<'a> {
    headers: &'a Headers,
    inner: std::slice::Iter<'a, Slot>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = HeaderRef<'a>;

    fn next(&mut self) -> Option<HeaderRef<'a>> {
        let h = self.headers;
        self.inner.next().map(|s| h.view(s))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let h = self.headers;
        self.inner.next_back().map(|s| h.view(s))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Headers {
    type Item = HeaderRef<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Headers {
        let mut h = Headers::new();
        for f in iter {
            h.push(&f.name, &f.value);
        }
        h
    }
}

impl From<Vec<Header>> for Headers {
    fn from(v: Vec<Header>) -> Headers {
        v.into_iter().collect()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|h| {
                (
                    String::from_utf8_lossy(h.name),
                    String::from_utf8_lossy(h.value),
                )
            }))
            .finish()
    }
}

thread_local! {
    static SLOTS: std::cell::RefCell<Vec<Vec<Slot>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The thread's spare field lists ([`crate::spare`]).
static SLOT_SPARES: crate::spare::Stack<Slot> =
    crate::spare::Stack::new(&SLOTS, crate::spare::KEEP);

/// A head's buffers go back to the thread's spares ([`crate::spare`]).
impl Drop for Headers {
    fn drop(&mut self) {
        crate::spare::give_bytes(std::mem::take(&mut self.buf));
        SLOT_SPARES.give(std::mem::take(&mut self.list), crate::spare::MAX_FIELDS);
    }
}

impl Drop for RequestHead {
    fn drop(&mut self) {
        crate::spare::give_bytes(std::mem::take(&mut self.method));
        crate::spare::give_bytes(std::mem::take(&mut self.uri));
    }
}

impl Drop for ResponseHead {
    fn drop(&mut self) {
        crate::spare::give_bytes(std::mem::take(&mut self.status));
        crate::spare::give_bytes(std::mem::take(&mut self.reason));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(h: &Headers) -> Vec<(String, String)> {
        h.iter()
            .map(|f| {
                (
                    String::from_utf8_lossy(f.name).into_owned(),
                    String::from_utf8_lossy(f.value).into_owned(),
                )
            })
            .collect()
    }

    fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn edits_keep_order_and_duplicates() {
        let mut h = Headers::new();
        h.push(b"Host", b"a");
        h.push(b"X-A", b"1");
        h.push(b"x-a", b"2");
        h.insert(1, b"Via", b"v");
        h.insert(99, b"Last", b"z");
        assert_eq!(
            pairs(&h),
            p(&[
                ("Host", "a"),
                ("Via", "v"),
                ("X-A", "1"),
                ("x-a", "2"),
                ("Last", "z")
            ])
        );
        assert_eq!(h.get_all("x-a").collect::<Vec<_>>(), [b"1", b"2"]);
        assert_eq!(h.position("X-a"), Some(2));
        // Shorter in place, longer appended: both read back as set.
        h.set_value(2, b"");
        h.set_value(3, b"a much longer value than before");
        h.truncate_value(0, 0);
        assert_eq!(
            pairs(&h),
            p(&[
                ("Host", ""),
                ("Via", "v"),
                ("X-A", ""),
                ("x-a", "a much longer value than before"),
                ("Last", "z")
            ])
        );
        assert_eq!(h.remove_all("x-a"), 2);
        h.remove(0);
        h.remove(7);
        h.set_value(7, b"nothing");
        assert_eq!(pairs(&h), p(&[("Via", "v"), ("Last", "z")]));
        // Equality is about the fields, not how the store is laid out.
        let fresh: Headers = vec![Header::new(b"Via", b"v"), Header::new(b"Last", b"z")].into();
        assert_eq!(h, fresh);
        assert_ne!(h, Headers::new());
        assert_eq!(h.to_vec(), fresh.to_vec());
    }

    #[test]
    fn rewrites_do_not_grow_the_store_without_bound() {
        let mut h = Headers::new();
        h.push(b"a", b"1");
        h.push(b"b", b"2");
        let mut longest = 0;
        for i in 0..10_000usize {
            // Always longer than the value it replaces, so always appended.
            let v = vec![b'x'; 100 + i % 2];
            h.set_value(i % 2, &v);
            h.set_value(i % 2, &vec![b'y'; 102 + i % 2]);
            longest = longest.max(h.buf.len());
        }
        assert_eq!(h.get("b").map(<[u8]>::len), Some(103));
        assert_eq!(h.get("a").map(<[u8]>::len), Some(102));
        // Live bytes ~207: compaction keeps the store within a few KB.
        assert!(longest < 4096, "store grew to {longest}");
    }
}
