//! HAProxy 2.6's small object cache (configuration.txt §6 "Cache"), sans-IO:
//! the store of one `cache` section, what a transaction looks up
//! (`http-request cache-use`) and stores (`http-response cache-store`).
//!
//! The rules (HAProxy 2.6.12's `cache.c` / `http_ana.c`, checked against the
//! installed binary by the reg-tests cache/* and the differential config `cache`):
//! - the primary key is `https://` + the first `Host` + the URI (an absolute URI
//!   alone); HTTP/1.0 requests, methods other than GET/HEAD, `Authorization`,
//!   `Cache-Control: no-cache` (or `Pragma: no-cache` without `Cache-Control`)
//!   neither use nor fill the cache; a successful (2xx/3xx) unsafe method on a
//!   key drops its entries (RFC 7234 §4.4);
//! - stored: a 200 to a GET whose response is cacheable (`Cache-Control`
//!   `private`, `no-cache`, `no-store`, `s-maxage=0`, `max-age=0` without
//!   `s-maxage`, `Pragma: no-cache` refuse) and has a freshness
//!   (`s-maxage`, `max-age`, `Expires`) or a validator (`ETag`,
//!   `Last-Modified`); an `Age` that is not a positive integer or exceeds the
//!   max age refuses; the head plus the body within `max-object-size`;
//! - the entry lives `min(s-maxage | max-age | Expires - now, max-age of the
//!   section)`; a hit gets `Age` = the origin's age + its time in the cache;
//! - `If-None-Match` (any listed ETag, weak comparison, or `*`), else
//!   `If-Modified-Since` later than the entry's `Last-Modified` (else `Date`,
//!   else storage time) gives `304 Not Modified`;
//! - `process-vary on`: a response whose `Vary` lists only `accept-encoding`,
//!   `referer` and `origin` is stored under a secondary key (the encodings the
//!   request accepts as a bitmap, hashes of the other two); at most
//!   `max-secondary-entries` per primary key; `off`: a `Vary` is never stored;
//! - memory: `total-max-size` megabytes in 1 KiB blocks; an entry takes
//!   ceil((head + body) / 1 KiB) blocks; the least recently used entries go
//!   first when a new one needs room.

mod vary;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{RequestHead, ResponseHead};
pub use vary::SecKey;

/// Blocks of the shared memory area (HAProxy's `CACHE_BLOCKSIZE`).
pub const BLOCK: u64 = 1024;
/// HAProxy's `CACHE_ENTRY_MAX_AGE`.
const MAX_AGE_CAP: u64 = 2_147_483_648;

/// One `cache <name>` section, typed by the config crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    pub name: String,
    /// `total-max-size` in bytes (megabytes × 2^20).
    pub total_max_size: u64,
    /// `max-object-size` in bytes (default: a 256th of the total).
    pub max_object_size: u64,
    /// `max-age` in seconds (default 60).
    pub max_age: u64,
    /// `process-vary on|off` (default off).
    pub process_vary: bool,
    /// `max-secondary-entries` (default 10).
    pub max_secondary_entries: usize,
}

/// A stored response.
#[derive(Debug)]
pub struct Entry {
    /// The head as `cache-store` saw it, without `Age`.
    pub head: ResponseHead,
    pub body: Vec<u8>,
    /// Unix time at which the entry stops being served.
    pub expire: u64,
    /// When it was stored (unix seconds).
    pub stored: u64,
    /// The origin's `Age`.
    pub age: u64,
    /// `Last-Modified`, else `Date`, else the storage time (unix seconds).
    pub last_modified: i64,
    /// The secondary key (a response that varies), if any.
    pub sec: Option<SecKey>,
    /// Blocks taken.
    pub blocks: u64,
    used: AtomicU64,
}

impl Entry {
    /// The head a hit sends: the stored one, `304 Not Modified` when the
    /// request's validators match, with `Age` appended.
    pub fn answer_head(&self, now: u64, not_modified: bool) -> ResponseHead {
        let mut h = self.head.clone();
        let age = (now.saturating_sub(self.stored) + self.age).min(MAX_AGE_CAP);
        h.headers.push(b"age", age.to_string().as_bytes());
        if not_modified {
            h.code = 304;
            h.status = b"304".to_vec();
            h.reason = b"Not Modified".to_vec();
        }
        h
    }
}

/// A `cache` section's store, shared by every session.
#[derive(Debug)]
pub struct Cache {
    pub spec: CacheSpec,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Primary key → entries (several when the response varies).
    map: HashMap<Vec<u8>, Vec<Arc<Entry>>>,
    blocks: u64,
    tick: u64,
}

impl Cache {
    pub fn new(spec: CacheSpec) -> Cache {
        Cache {
            spec,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks of the whole area.
    pub fn total_blocks(&self) -> u64 {
        self.spec.total_max_size / BLOCK
    }

    /// Blocks free now.
    pub fn available_blocks(&self) -> u64 {
        self.total_blocks().saturating_sub(self.state().blocks)
    }

    /// The live entries (for `show cache`), with their primary key.
    pub fn entries(&self, now: u64) -> Vec<(Vec<u8>, Arc<Entry>)> {
        let st = self.state();
        let mut v: Vec<_> = st
            .map
            .iter()
            .flat_map(|(k, es)| es.iter().map(move |e| (k.clone(), e.clone())))
            .filter(|(_, e)| e.expire > now)
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The entry for `key` the request may get.
    fn lookup(&self, key: &[u8], req: &RequestHead, now: u64) -> Option<Arc<Entry>> {
        let mut st = self.state();
        st.tick += 1;
        let tick = st.tick;
        let es = st.map.get(key)?;
        let e = es.iter().find(|e| {
            e.expire > now
                && match &e.sec {
                    None => true,
                    Some(s) => vary::request_key(req, s.sig).is_some_and(|r| s.accepts(&r)),
                }
        })?;
        e.used.store(tick, Ordering::Relaxed);
        Some(e.clone())
    }

    /// Drops every entry of `key` (a successful unsafe method).
    fn invalidate(&self, key: &[u8]) {
        let mut st = self.state();
        if let Some(es) = st.map.remove(key) {
            st.blocks -= es.iter().map(|e| e.blocks).sum::<u64>();
        }
    }

    /// Whether an entry with this exact secondary key (or none) exists.
    fn insert(&self, key: Vec<u8>, e: Entry, now: u64) -> bool {
        let total = self.total_blocks();
        if e.blocks > total {
            return false;
        }
        let mut st = self.state();
        // The entry it replaces (same key, same secondary key), and expired ones.
        if let Some(es) = st.map.get_mut(&key) {
            let before: u64 = es.iter().map(|x| x.blocks).sum();
            es.retain(|x| x.expire > now && x.sec != e.sec);
            let after: u64 = es.iter().map(|x| x.blocks).sum();
            if e.sec.is_some() && es.len() >= self.spec.max_secondary_entries {
                st.blocks -= before - after;
                return false;
            }
            st.blocks -= before - after;
        }
        // Least recently used first, until the new one fits.
        while st.blocks + e.blocks > total {
            let victim = st
                .map
                .iter()
                .flat_map(|(k, es)| es.iter().enumerate().map(move |(i, x)| (k, i, x)))
                .min_by_key(|(_, _, x)| (x.expire > now, x.used.load(Ordering::Relaxed)))
                .map(|(k, i, _)| (k.clone(), i));
            let Some((k, i)) = victim else { break };
            if let Some(es) = st.map.get_mut(&k) {
                let x = es.remove(i);
                let empty = es.is_empty();
                st.blocks -= x.blocks;
                if empty {
                    st.map.remove(&k);
                }
            }
        }
        st.tick += 1;
        e.used.store(st.tick, Ordering::Relaxed);
        st.blocks += e.blocks;
        st.map.entry(key).or_default().push(Arc::new(e));
        true
    }
}

/// The cache a `cache-use` / `cache-store` action names, bound by the
/// assembly to the section's store (like `script::ScriptRef`).
#[derive(Clone)]
pub struct CacheRef {
    pub name: String,
    pub cache: Option<Arc<Cache>>,
}

impl CacheRef {
    pub fn named(name: &str) -> CacheRef {
        CacheRef {
            name: name.to_string(),
            cache: None,
        }
    }
    pub fn get(&self) -> Option<&Arc<Cache>> {
        self.cache.as_ref()
    }
}

impl std::fmt::Debug for CacheRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CacheRef({})", self.name)
    }
}

impl PartialEq for CacheRef {
    fn eq(&self, o: &CacheRef) -> bool {
        self.name == o.name
    }
}
impl Eq for CacheRef {}

/// The wall clock in unix seconds (HAProxy's `date.tv_sec`).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A hit: what the engine serves instead of asking a server.
#[derive(Debug, Clone)]
pub struct Hit {
    pub cache: Arc<Cache>,
    pub entry: Arc<Entry>,
    /// The request's validators match: `304 Not Modified`, no body.
    pub not_modified: bool,
}

/// A response being stored: the engine gives it the body as it forwards it.
#[derive(Debug)]
pub struct Writer {
    cache: Arc<Cache>,
    key: Vec<u8>,
    /// `None` once finished (or abandoned).
    entry: Option<Entry>,
    head_size: u64,
}

impl Writer {
    /// Body data (decoded, as the client gets it before compression).
    pub fn push(&mut self, d: &[u8]) {
        let Some(e) = self.entry.as_mut() else { return };
        let size = self.head_size + (e.body.len() + d.len()) as u64;
        if size > self.cache.spec.max_object_size {
            // Over `max-object-size`: abandoned.
            self.entry = None;
            return;
        }
        e.body.extend_from_slice(d);
    }

    /// The body ended whole: the entry goes in the cache (once; the engine
    /// calls this before the end of the body reaches the client, so that its
    /// next request finds the entry). Whether it did.
    pub fn finish(&mut self, now: u64) -> bool {
        let Some(mut e) = self.entry.take() else {
            return false;
        };
        let size = self.head_size + e.body.len() as u64;
        e.blocks = size.div_ceil(BLOCK).max(1);
        e.body.shrink_to_fit();
        self.cache.insert(std::mem::take(&mut self.key), e, now)
    }
}

/// A transaction's cache state (the engine keeps one per transaction; the
/// rules reach it through `rules::Txn::cache`).
#[derive(Debug, Default)]
pub struct TxnCache {
    st: Mutex<TxnState>,
    /// The response came from this cache (`res.cache_hit`, `res.cache_name`).
    served: std::sync::OnceLock<String>,
}

#[derive(Debug, Default)]
struct TxnState {
    /// The primary key, once `cache-use` computed it.
    key: Option<Vec<u8>>,
    /// The request may neither use nor fill the cache.
    ignore: bool,
    hit: Option<Hit>,
    store: Option<Writer>,
}

impl TxnCache {
    fn st(&self) -> MutexGuard<'_, TxnState> {
        self.st.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http-request cache-use`: computes the key; a fresh entry the request
    /// accepts becomes the transaction's [`Hit`] (the engine serves it after the
    /// request rules, without a server).
    pub fn use_cache(&self, cache: &Arc<Cache>, req: &RequestHead, now: u64) {
        let mut st = self.st();
        if !req.version.is_11() || !(req.is_method("GET") || req.is_method("HEAD")) {
            st.ignore = true;
        }
        if request_refuses(req) {
            st.ignore = true;
        }
        let Some(key) = primary_key(req) else { return };
        st.key = Some(key);
        if st.ignore || st.hit.is_some() {
            return;
        }
        let Some(key) = st.key.as_deref() else { return };
        if let Some(entry) = cache.lookup(key, req, now) {
            let not_modified = not_modified(req, &entry);
            st.hit = Some(Hit {
                cache: cache.clone(),
                entry,
                not_modified,
            });
        }
    }

    /// The hit to serve, if `cache-use` found one (taken once).
    pub fn take_hit(&self) -> Option<Hit> {
        let h = self.st().hit.take();
        if let Some(h) = &h {
            let _ = self.served.set(h.cache.spec.name.clone());
        }
        h
    }

    /// The response comes from a cache: its name.
    pub fn served_by(&self) -> Option<&str> {
        self.served.get().map(String::as_str)
    }

    /// `http-response cache-store`: starts storing the response when it is
    /// cacheable. Returns whether the response's `Age` header must go (HAProxy
    /// removes it from the response it stores and forwards).
    pub fn store(
        &self,
        cache: &Arc<Cache>,
        req: &RequestHead,
        res: &ResponseHead,
        now: u64,
    ) -> bool {
        let mut st = self.st();
        if self.served.get().is_some() || st.store.is_some() || !req.version.is_11() {
            return false;
        }
        let Some(key) = st.key.clone() else {
            return false;
        };
        if !req.is_method("GET") {
            let safe = ["HEAD", "OPTIONS", "TRACE"]
                .iter()
                .any(|m| req.is_method(m));
            if !safe && (200..400).contains(&res.code) {
                cache.invalidate(&key);
            }
            return false;
        }
        if res.code != 200 || st.ignore {
            return false;
        }
        let mut sec = None;
        if cache.spec.process_vary {
            let Some(sig) = vary::signature(&res.headers) else {
                return false;
            };
            if sig != 0 {
                let Some(mut k) = vary::request_key(req, sig) else {
                    return false;
                };
                if sig & vary::ACCEPT_ENCODING != 0 {
                    let Some(enc) = vary::response_encoding(&res.headers) else {
                        return false;
                    };
                    k.ae = enc;
                }
                sec = Some(k);
            }
        } else if res.headers.contains("vary") {
            return false;
        }
        if !response_cacheable(res) {
            return false;
        }
        let (effective, true_max) = max_age(res, cache.spec.max_age, now);
        let mut age = 0;
        let mut drop_age = false;
        if let Some(v) = res.headers.get("age") {
            match std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            {
                Some(a) if a > 0 => {
                    age = (a as u64).min(MAX_AGE_CAP);
                    if age > true_max {
                        return false;
                    }
                }
                _ => return false,
            }
            drop_age = true;
        }
        let mut head = res.clone();
        head.headers.remove_all("age");
        let head_size = head_size(&head);
        if head_size > cache.spec.max_object_size {
            return false;
        }
        // A Content-Length over the limit is refused now (HAProxy checks the
        // announced length before storing anything).
        let announced = res
            .headers
            .get("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n + head_size > cache.spec.max_object_size) {
            return false;
        }
        st.store = Some(Writer {
            cache: cache.clone(),
            key,
            entry: Some(Entry {
                last_modified: last_modified(&head.headers, now),
                head,
                body: Vec::new(),
                expire: now + effective,
                stored: now,
                age,
                sec,
                blocks: 0,
                used: AtomicU64::new(0),
            }),
            head_size,
        });
        drop_age
    }

    /// The response being stored, if `cache-store` accepted it (taken once).
    pub fn take_store(&self) -> Option<Writer> {
        self.st().store.take()
    }
}

/// HAProxy's `sha1_hosturi` input: `https://` + Host + URI, or an absolute URI.
fn primary_key(req: &RequestHead) -> Option<Vec<u8>> {
    if req.uri.is_empty() {
        return None;
    }
    if req.uri.starts_with(b"/") || req.uri == b"*" {
        let host = req.headers.get("host")?;
        let mut k = b"https://".to_vec();
        k.extend_from_slice(host);
        k.extend_from_slice(&req.uri);
        Some(k)
    } else {
        Some(req.uri.clone())
    }
}

fn starts_ci(v: &[u8], p: &str) -> bool {
    v.len() >= p.len() && v[..p.len()].eq_ignore_ascii_case(p.as_bytes())
}

/// `http_check_request_for_cacheability`: header lines as they came.
fn request_refuses(req: &RequestHead) -> bool {
    let mut pragma = false;
    let mut cc = false;
    for h in req.headers.iter() {
        if h.is("pragma") && starts_ci(h.value, "no-cache") {
            pragma = true;
        } else if h.is("authorization") {
            return true;
        } else if h.is("cache-control") {
            cc = true;
            if starts_ci(h.value, "no-cache") || starts_ci(h.value, "no-store") {
                return true;
            }
        }
    }
    !cc && pragma
}

/// `Cache-Control` items of a response, each trimmed.
fn cc_items(res: &ResponseHead) -> impl Iterator<Item = &[u8]> {
    res.headers
        .get_all("cache-control")
        .flat_map(crate::chars::list_items)
}

/// `http_check_response_for_cacheability` (the 200-to-GET part).
fn response_cacheable(res: &ResponseHead) -> bool {
    let eq = |a: &[u8], b: &str| a.eq_ignore_ascii_case(b.as_bytes());
    let mut cacheable = true;
    let mut freshness = false;
    let mut null_maxage = false;
    for v in cc_items(res) {
        if eq(v, "public") {
            continue;
        }
        if eq(v, "max-age=0") {
            null_maxage = true;
        } else if eq(v, "private")
            || eq(v, "no-cache")
            || eq(v, "no-store")
            || eq(v, "s-maxage=0")
            || starts_ci(v, "no-cache=\"set-cookie")
        {
            cacheable = false;
        } else if starts_ci(v, "s-maxage") {
            freshness = true;
            null_maxage = false;
        } else if starts_ci(v, "max-age") {
            freshness = true;
        }
    }
    if !freshness {
        freshness = res.headers.contains("expires");
    }
    let validator = res.headers.contains("etag") || res.headers.contains("last-modified");
    if null_maxage || !(freshness || validator) {
        cacheable = false;
    }
    if res
        .headers
        .get("pragma")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"no-cache"))
    {
        cacheable = false;
    }
    cacheable
}

/// `http_calc_maxage`: (the entry's lifetime, the response's own max age).
fn max_age(res: &ResponseHead, cap: u64, now: u64) -> (u64, u64) {
    fn directive(v: &[u8], name: &str) -> Option<Option<i64>> {
        if !starts_ci(v, name) || v.get(name.len()) != Some(&b'=') {
            return None;
        }
        let mut rest = &v[name.len() + 1..];
        if rest.first() == Some(&b'"') {
            rest = &rest[1..];
        }
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Some(None);
        }
        Some(std::str::from_utf8(&rest[..digits]).ok()?.parse().ok())
    }
    let mut smax: i64 = -1;
    let mut max: i64 = -1;
    for v in cc_items(res) {
        match directive(v, "s-maxage") {
            Some(Some(n)) => smax = n,
            Some(None) => return (0, 0),
            None => {}
        }
        match directive(v, "max-age") {
            Some(Some(n)) => max = n,
            Some(None) => return (0, 0),
            None => {}
        }
    }
    let mut expires: i64 = -1;
    if max == -1 && smax == -1 {
        if let Some(v) = res.headers.get("expires") {
            expires = match http_date(v) {
                Some(t) if t >= now as i64 => t - now as i64,
                _ => 0,
            };
        }
    }
    for v in [smax, max] {
        if v > 0 {
            return ((v as u64).min(cap), v as u64);
        }
    }
    if expires >= 0 {
        return ((expires as u64).min(cap), expires as u64);
    }
    (cap, 0)
}

/// `get_last_modified_time`.
fn last_modified(h: &crate::Headers, now: u64) -> i64 {
    for name in ["last-modified", "date"] {
        if let Some(t) = h.get(name).and_then(http_date) {
            if t != 0 {
                return t;
            }
        }
    }
    now as i64
}

/// `should_send_notmodified_response`.
fn not_modified(req: &RequestHead, e: &Entry) -> bool {
    let mut inm = false;
    let etag = e.head.headers.get("etag");
    for v in req.headers.get_all("if-none-match") {
        inm = true;
        for t in crate::chars::list_items(v) {
            if t == b"*" {
                return true;
            }
            if let Some(et) = etag {
                if weak_eq(et, t) {
                    return true;
                }
            }
        }
    }
    if inm {
        return false;
    }
    match req.headers.get("if-modified-since").and_then(http_date) {
        Some(t) => e.last_modified <= t,
        None => false,
    }
}

/// Weak ETag comparison (`http_compare_etags`: `W/` ignored on both sides).
fn weak_eq(a: &[u8], b: &[u8]) -> bool {
    let strip = |x: &[u8]| -> Vec<u8> {
        let x = x.strip_prefix(b"W/").unwrap_or(x);
        x.to_vec()
    };
    let (a, b) = (strip(a), strip(b));
    a.len() >= 2 && a.first() == Some(&b'"') && a.last() == Some(&b'"') && a == b
}

/// What the head weighs in the cache (HTX blocks: 8 bytes each plus the text).
fn head_size(h: &ResponseHead) -> u64 {
    let sl = 8 + 8 + h.status.len() + h.reason.len();
    let hdrs: usize = h
        .headers
        .iter()
        .map(|f| 8 + f.name.len() + f.value.len())
        .sum();
    (sl + hdrs + 8) as u64
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 or asctime date
/// as unix seconds.
pub fn http_date(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?.trim();
    let w: Vec<&str> = s.split([' ', ',', '-']).filter(|x| !x.is_empty()).collect();
    let month = |m: &str| -> Option<u32> {
        let ms = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        ms.iter().position(|x| *x == m).map(|i| i as u32 + 1)
    };
    let (d, m, y, t) = match w.as_slice() {
        // IMF-fixdate and RFC 850: day, dd, Mon, yyyy|yy, time, GMT
        [_, d, m, y, t, "GMT"] => {
            let mut y: i64 = y.parse().ok()?;
            if y < 100 {
                y += if y < 70 { 2000 } else { 1900 };
            }
            (d.parse::<u32>().ok()?, month(m)?, y, *t)
        }
        // asctime: day Mon d time yyyy
        [_, m, d, t, y] => (d.parse().ok()?, month(m)?, y.parse().ok()?, *t),
        _ => return None,
    };
    let tp: Vec<i64> = t
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [hh, mm, ss] = tp.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&d) || *hh > 23 || *mm > 59 || *ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
