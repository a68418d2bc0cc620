//! HTTP compression (configuration.txt §4.2 `compression`, §9.2 "HTTP compression"
//! filter): which algorithm a request allows, whether a response is compressed, the
//! response head's rewrite, and a sans-IO streaming encoder. HAProxy 2.6's rules
//! (`flt_http_comp.c`), each one a test below:
//!
//! - the algorithm comes from the backend's `compression algo` list, else the
//!   frontend's; the `Accept-Encoding` value with the best q-value (> 0) that names
//!   one (or `*`) wins; with none, `identity` if configured (it needs no header);
//!   `User-Agent: Mozilla/4` browsers other than MSIE 6 SV1 and later get none;
//!   `compression offload` removes `Accept-Encoding` from the forwarded request;
//! - a response is compressed only for HTTP/1.1 on both sides, not for `HEAD`,
//!   with status 200-203, a body, no `Content-Encoding`, no `Cache-Control:
//!   no-transform`, at most one valid `ETag`, a `Content-Type` that is not
//!   `multipart/*` and starts with one of the `compression type` list when there is
//!   one (no `Content-Type` then means no compression). There is no minimum size in
//!   2.6;
//! - the head then gets `Content-Encoding` (not for identity), loses
//!   `Content-Length`, gets `Transfer-Encoding: chunked`, a strong `ETag` becomes
//!   weak, and `Vary: Accept-Encoding` is added.
//!
//! The encoder is flate2 on its pure-Rust miniz_oxide backend at level 1
//! (HAProxy's `tune.comp.maxlevel` default); each [`Encoder::flush`] is a sync
//! flush, so what arrived is sent at once (long-polling and streamed bodies work).

use std::io::Write;

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

use crate::head::{RequestHead, ResponseHead};

/// A compression algorithm (§4.2 `compression algo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Identity,
    /// zlib-wrapped deflate (RFC 1950), announced as `deflate`.
    Deflate,
    /// Raw deflate (RFC 1951), also announced as `deflate`.
    RawDeflate,
    Gzip,
}

impl Algo {
    /// The algorithm a `compression algo` word names.
    pub fn from_name(n: &str) -> Option<Algo> {
        Some(match n {
            "identity" => Algo::Identity,
            "deflate" => Algo::Deflate,
            "raw-deflate" => Algo::RawDeflate,
            "gzip" => Algo::Gzip,
            _ => return None,
        })
    }
    /// The coding name in `Accept-Encoding` / `Content-Encoding`.
    pub fn coding(self) -> &'static str {
        match self {
            Algo::Identity => "identity",
            Algo::Deflate | Algo::RawDeflate => "deflate",
            Algo::Gzip => "gzip",
        }
    }
}

/// A proxy's compression settings, resolved (defaults inherited).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompressionSpec {
    /// In HAProxy's list order: the last configured first.
    pub algos: Vec<Algo>,
    /// `compression type` prefixes, the last configured first.
    pub types: Vec<String>,
    /// `compression offload`.
    pub offload: bool,
}

fn pick<'a>(
    be: Option<&'a CompressionSpec>,
    fe: Option<&'a CompressionSpec>,
    f: impl Fn(&CompressionSpec) -> bool,
) -> Option<&'a CompressionSpec> {
    be.filter(|s| f(s)).or(fe.filter(|s| f(s)))
}

/// HAProxy's list of old browsers that mishandle compression.
fn broken_browser(ua: &[u8]) -> bool {
    ua.len() >= 9
        && ua.starts_with(b"Mozilla/4")
        && (ua.len() < 31
            || &ua[25..30] != b"MSIE "
            || ua[30] < b'6'
            || (ua[30] == b'6' && (ua.len() < 54 || &ua[51..54] != b"SV1")))
}

/// `http_parse_qvalue`: `1`, `1.000`, `0.5` ... as thousandths.
fn qvalue(s: &[u8]) -> u32 {
    let Some((&d, rest)) = s.split_first() else {
        return 0;
    };
    if d == b'1' {
        return 1000;
    }
    if d != b'0' {
        return 0;
    }
    let mut q = 0;
    let mut scale = 100;
    if let Some(frac) = rest.strip_prefix(b".") {
        for &c in frac.iter().take(3) {
            if !c.is_ascii_digit() {
                break;
            }
            q += u32::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    q
}

/// One `Accept-Encoding` item: its coding and q-value (1000 when absent).
fn ae_item(v: &[u8]) -> (&[u8], u32) {
    let tok = v
        .iter()
        .position(|&c| !crate::chars::is_token(c))
        .unwrap_or(v.len());
    let q = v[tok..]
        .split(|&c| c == b';')
        .skip(1)
        .map(|p| p.trim_ascii())
        .find_map(|p| p.strip_prefix(b"q="))
        .map_or(1000, qvalue);
    (&v[..tok], q)
}

/// The algorithm the request allows (HAProxy's `select_compression_request_header`),
/// `None` for none. With `compression offload`, `Accept-Encoding` is removed from
/// the request once an algorithm is chosen.
pub fn select_request(
    be: Option<&CompressionSpec>,
    fe: Option<&CompressionSpec>,
    req: &mut RequestHead,
) -> Option<Algo> {
    if req.headers.get("user-agent").is_some_and(broken_browser) {
        return None;
    }
    let spec = pick(be, fe, |s| !s.algos.is_empty())?;
    let mut best: Option<(Algo, u32)> = None;
    for v in req.headers.get_all("accept-encoding") {
        for item in crate::chars::list_items(v) {
            let (tok, q) = ae_item(item);
            if q <= best.map_or(0, |b| b.1) {
                continue;
            }
            let hit = spec.algos.iter().find(|a| {
                item.first() == Some(&b'*') || tok.eq_ignore_ascii_case(a.coding().as_bytes())
            });
            if let Some(a) = hit {
                best = Some((*a, q));
            }
        }
    }
    if let Some((a, _)) = best {
        if be.is_some_and(|s| s.offload) || fe.is_some_and(|s| s.offload) {
            req.headers.remove_all("accept-encoding");
        }
        return Some(a);
    }
    spec.algos.iter().copied().find(|a| *a == Algo::Identity)
}

/// `http_get_etag_type`: `"..."` strong, `W/"..."` weak, else invalid.
fn etag_valid(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"W/").unwrap_or(v);
    v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"'
}

/// Whether HAProxy compresses this response (`select_compression_response_header`).
/// `bodyless`: the response has no body by its status or the request method.
pub fn response_allows(
    be: Option<&CompressionSpec>,
    fe: Option<&CompressionSpec>,
    req: &RequestHead,
    res: &ResponseHead,
    bodyless: bool,
) -> bool {
    if !res.version.is_11() || !req.version.is_11() || req.is_method("HEAD") || bodyless {
        return false;
    }
    if !(200..=203).contains(&res.code) || res.headers.contains("content-encoding") {
        return false;
    }
    if res.headers.has_token("cache-control", "no-transform") {
        return false;
    }
    let mut etags = res.headers.get_all("etag");
    if let Some(e) = etags.next() {
        if !etag_valid(e) || etags.next().is_some() {
            return false;
        }
    }
    let types = pick(be, fe, |s| !s.types.is_empty()).map(|s| &s.types);
    match res.headers.get("content-type") {
        Some(ct) => {
            let starts = |p: &[u8]| ct.len() >= p.len() && ct[..p.len()].eq_ignore_ascii_case(p);
            !starts(b"multipart") && types.is_none_or(|t| t.iter().any(|p| starts(p.as_bytes())))
        }
        None => types.is_none(),
    }
}

/// The response head of a compressed response (`set_compression_response_header`).
pub fn rewrite_head(algo: Algo, res: &mut ResponseHead) {
    if algo != Algo::Identity {
        res.headers
            .push(b"Content-Encoding", algo.coding().as_bytes());
    }
    res.headers.remove_all("content-length");
    if !res.headers.has_token("transfer-encoding", "chunked") {
        res.headers.push(b"Transfer-Encoding", b"chunked");
    }
    if let Some(i) = res.headers.position("etag") {
        if let Some(v) = res
            .headers
            .at(i)
            .map(|h| h.value)
            .filter(|v| v.first() == Some(&b'"'))
        {
            let mut weak = Vec::with_capacity(v.len() + 2);
            weak.extend_from_slice(b"W/");
            weak.extend_from_slice(v);
            res.headers.set_value(i, &weak);
        }
    }
    res.headers.push(b"Vary", b"Accept-Encoding");
}

enum Inner {
    Identity,
    Gzip(GzEncoder<Vec<u8>>),
    Zlib(ZlibEncoder<Vec<u8>>),
    Raw(DeflateEncoder<Vec<u8>>),
}

/// A streaming encoder: bytes in, compressed bytes appended to the caller's
/// buffer; it holds at most what the deflate window needs.
pub struct Encoder {
    inner: Inner,
    finished: bool,
}

impl Encoder {
    pub fn new(algo: Algo) -> Encoder {
        let level = flate2::Compression::new(1);
        let inner = match algo {
            Algo::Identity => Inner::Identity,
            Algo::Gzip => Inner::Gzip(GzEncoder::new(Vec::new(), level)),
            Algo::Deflate => Inner::Zlib(ZlibEncoder::new(Vec::new(), level)),
            Algo::RawDeflate => Inner::Raw(DeflateEncoder::new(Vec::new(), level)),
        };
        Encoder {
            inner,
            finished: false,
        }
    }

    /// Whether [`Encoder::finish`] ran.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        let v = match &mut self.inner {
            Inner::Identity => return,
            Inner::Gzip(e) => e.get_mut(),
            Inner::Zlib(e) => e.get_mut(),
            Inner::Raw(e) => e.get_mut(),
        };
        out.append(v);
    }

    fn write(&mut self, f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> bool {
        let w: &mut dyn Write = match &mut self.inner {
            Inner::Identity => return true,
            Inner::Gzip(e) => e,
            Inner::Zlib(e) => e,
            Inner::Raw(e) => e,
        };
        f(w).is_ok()
    }

    /// Compress `data`; what is ready is appended to `out`. `false` on an encoder
    /// error (the body cannot go on).
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) -> bool {
        if matches!(self.inner, Inner::Identity) {
            out.extend_from_slice(data);
            return true;
        }
        let ok = self.write(|w| w.write_all(data));
        self.drain(out);
        ok
    }

    /// A sync flush: everything pushed so far can be decoded from `out`.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        let ok = self.write(|w| w.flush());
        self.drain(out);
        ok
    }

    /// The end of the stream (the gzip trailer...). Idempotent.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        if self.finished {
            return true;
        }
        self.finished = true;
        let ok = match &mut self.inner {
            Inner::Identity => true,
            Inner::Gzip(e) => e.try_finish().is_ok(),
            Inner::Zlib(e) => e.try_finish().is_ok(),
            Inner::Raw(e) => e.try_finish().is_ok(),
        };
        self.drain(out);
        ok
    }
}

#[cfg(test)]
mod tests;
