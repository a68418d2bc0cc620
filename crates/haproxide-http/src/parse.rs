//! Request and response heads, with HAProxy 2.6's rules.
//!
//! The parser first waits for the whole head (up to the empty line), bounded by
//! [`ParseOptions::max_head`], then parses it in one pass. The result therefore
//! does not depend on how the bytes were split into reads (a property test checks
//! it), and a head that never ends costs at most `max_head` bytes.
//!
//! What is refused (400 for a request, 502 for a response; measured against
//! HAProxy 2.6.12 by tests/differential.rs):
//! - a method that is not a token, a request target with a control character, a
//!   space inside, DEL, or (without `accept-invalid-http-request`) a byte >= 0x80;
//!   a missing version (HTTP/0.9) or one not exactly `HTTP/<digit>.<digit>`;
//! - a header name that is empty or not a token (allowed by `accept-invalid-*`),
//!   a header line without `:`, a folded line before the first header, a bare CR;
//! - Content-Length that is not digits only, overflows, or disagrees with another
//!   one (`3, 3` and two `3` are one `3`);
//! - Transfer-Encoding whose last coding is not `chunked`, or that lists `chunked`
//!   twice; another coding before `chunked` is refused (HAProxy does not decode
//!   them): 422 for a request, 502 for a response;
//! - two different Host headers; an absolute-form target whose authority is not
//!   the Host (allowed by `accept-invalid-http-request`);
//! - a WebSocket upgrade (`Connection: upgrade`, `Upgrade: websocket`) without
//!   `Sec-WebSocket-Key`;
//! - a head larger than [`ParseOptions::max_htx`] as HAProxy counts it;
//! - a NUL byte in a request header value (allowed by `accept-invalid-*`; a
//!   response's is forwarded, as HAProxy does): HAProxy 2.6.12
//!   forwards it, haproxide refuses it — a NUL is a classic request-smuggling lever
//!   (docs/http.md lists this difference).
//!
//! What is normalised: obs-fold line breaks become spaces; values are trimmed;
//! Content-Length is merged into its first header; next to Transfer-Encoding it is
//! removed and the connection must close after the message; identical Host headers
//! are merged; a default port (`:80` for http, `:443` for https, or an empty one)
//! is removed from an absolute-form target and from a Host that repeats it.

use crate::body::BodyLength;
use crate::chars::{is_spht, is_token, is_uri_strict, list_items, trim_spht};
use crate::head::{Headers, RequestHead, ResponseHead, Version};

/// Raw bytes a head may take: `tune.bufsize` (16384), HAProxy's input buffer.
pub const DEFAULT_MAX_HEAD: usize = 16384;
/// The most header fields a head may have: `tune.http.maxhdr` (101) less the
/// slot HAProxy keeps for the end-of-headers marker. HAProxy 2.6.12 refuses 101
/// fields (tests/http_differential.rs of the haproxide crate, case `101 headers`).
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// The largest head HAProxy 2.6.12 accepts with the default `tune.bufsize` 16384
/// and `tune.maxrewrite` 1024, counted as HAProxy stores it (HTX): 32 bytes plus
/// the start line's three parts, 8 bytes plus name and value per header, 8 bytes
/// for the end of headers. Measured by bisection on HAProxy 2.6.12 with 1 and 51
/// headers (both hit exactly this); see [`htx_size`].
pub const DEFAULT_MAX_HTX: usize = 15315;

/// A head's size as HAProxy 2.6 counts it against its buffer (see
/// [`DEFAULT_MAX_HTX`]): the start line's parts as received, headers as parsed.
pub fn htx_size(start: [&[u8]; 3], headers: &Headers) -> usize {
    32 + start.iter().map(|p| p.len()).sum::<usize>()
        + headers
            .iter()
            .map(|h| 8 + h.name.len() + h.value.len())
            .sum::<usize>()
        + 8
}

/// Whether a parsed head is beyond `max_htx` as [`htx_size`] counts it. A
/// field's name and value are never longer than its lines in the header
/// section (an unfolded line is as long as its lines), so when the section's
/// length stands in for them and the head is still within the limit, the
/// walk of the fields is not needed (the usual head): same answer.
fn htx_too_large(start: [&[u8]; 3], section: &[u8], headers: &Headers, max_htx: usize) -> bool {
    let start_len: usize = start.iter().map(|p| p.len()).sum();
    let bound = 32 + start_len + section.len() + 8 * headers.len() + 8;
    bound > max_htx && htx_size(start, headers) > max_htx
}

/// Parser settings, from the proxy's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// `option accept-invalid-http-request` (for requests) or
    /// `option accept-invalid-http-response` (for responses), configuration.txt §4.
    pub accept_invalid: bool,
    /// Largest head in raw bytes (leading empty lines excluded): the input buffer.
    pub max_head: usize,
    /// Largest head as HAProxy stores it ([`htx_size`]): `tune.bufsize` minus
    /// `tune.maxrewrite` minus HTX's own overhead.
    pub max_htx: usize,
    /// Largest number of header fields (`tune.http.maxhdr`).
    pub max_headers: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            accept_invalid: false,
            max_head: DEFAULT_MAX_HEAD,
            max_htx: DEFAULT_MAX_HTX,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

/// Why a head was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No end of head within `max_head` bytes.
    TooLarge,
    /// More than `max_headers` fields.
    TooManyHeaders,
    BadMethod,
    BadUri,
    /// No version on the request line (HTTP/0.9).
    MissingVersion,
    BadVersion,
    BadStatus,
    BadHeaderName,
    MissingColon,
    /// A folded (obs-fold) line with no header before it.
    FoldAtStart,
    /// A CR not followed by LF.
    BareCr,
    NulInValue,
    BadContentLength,
    BadTransferEncoding,
    /// A transfer coding other than chunked in a request (HAProxy answers 422).
    UnsupportedCoding,
    MultipleHosts,
    HostMismatch,
    /// A WebSocket upgrade request without `Sec-WebSocket-Key`.
    WebSocketKeyMissing,
}

impl ErrorKind {
    /// The status HAProxy answers with: 400 (or 422) for a request, 502 for a
    /// response.
    pub fn status(self, request: bool) -> u16 {
        match (request, self) {
            (false, _) => 502,
            (true, ErrorKind::UnsupportedCoding) => 422,
            (true, _) => 400,
        }
    }
}

/// A refused head: what and where (byte offset in the input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub offset: usize,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// A head parsed, or more bytes needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// The head is not complete yet; call again with more bytes.
    Partial,
    /// The head, and how many input bytes it used (the body starts there).
    Complete { message: T, len: usize },
}

/// What the head says about the rest of the message and the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Info {
    /// Content-Length and Transfer-Encoding were both present (Content-Length was
    /// dropped), or a response is close-delimited: the connection this message
    /// came on must be closed after it.
    pub close_required: bool,
    /// `Connection: close` was listed.
    pub conn_close: bool,
    /// `Connection: keep-alive` was listed.
    pub conn_keep_alive: bool,
    /// `Connection: upgrade` with an `Upgrade` header.
    pub upgrade: bool,
    /// A request with `Expect: 100-continue` (HTTP/1.1).
    pub expect_continue: bool,
}

/// A parsed request head with its body framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub head: RequestHead,
    pub body: BodyLength,
    pub info: Info,
}

/// A parsed response head with its body framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub head: ResponseHead,
    pub body: BodyLength,
    pub info: Info,
}

fn err(kind: ErrorKind, offset: usize) -> ParseError {
    ParseError { kind, offset }
}

/// Finds the end of a head that starts at `start`: the byte after the empty line.
///
/// The byte searches of the parser (line ends, CRs, colons, NULs) are `memchr`'s
/// (SIMD, a few instructions per 32 bytes instead of ~4 per byte; with the other
/// cuts of docs/performance.md "Session 11 (ka)", nginx's 7-field response head
/// went from 8,284 to 4,937 instructions).
fn head_end(buf: &[u8], start: usize) -> Option<usize> {
    let hay = buf.get(start..)?;
    for p in memchr::memchr_iter(b'\n', hay) {
        let nl = start + p;
        match (buf.get(nl + 1), buf.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => {}
        }
    }
    None
}

/// Skips the empty lines HAProxy tolerates before a request line.
fn skip_empty_lines(buf: &[u8]) -> usize {
    let mut i = 0;
    loop {
        match (buf.get(i), buf.get(i + 1)) {
            (Some(b'\n'), _) => i += 1,
            (Some(b'\r'), Some(b'\n')) => i += 2,
            _ => return i,
        }
    }
}

/// A CR anywhere but before an LF is [`ErrorKind::BareCr`] (checked over the whole
/// head before anything else, so that it wins over the other errors).
fn bare_cr(head: &[u8], base: usize) -> Result<(), ParseError> {
    for at in memchr::memchr_iter(b'\r', head) {
        if head.get(at + 1) != Some(&b'\n') {
            return Err(err(ErrorKind::BareCr, base + at));
        }
    }
    Ok(())
}

/// The lines of a complete head (checked by [`bare_cr`]): content without CR LF,
/// offset of the content in the input, line-ending length.
struct Lines<'a> {
    head: &'a [u8],
    base: usize,
    pos: usize,
}

impl<'a> Lines<'a> {
    fn new(head: &'a [u8], base: usize) -> Lines<'a> {
        Lines { head, base, pos: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (&'a [u8], usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let rest = self.head.get(start..)?;
        let nl = memchr::memchr(b'\n', rest)?;
        self.pos = start + nl + 1;
        let line = &rest[..nl];
        Some(match line.strip_suffix(b"\r") {
            Some(c) => (c, self.base + start, 2),
            None => (line, self.base + start, 1),
        })
    }
}

/// A complete head `buf[start..end]` (checked for bare CRs): its start line, the
/// line's offset, the header section's offset and the header section (the lines
/// between the start line and the final empty one). None when there is no line.
type HeadParts<'a> = (&'a [u8], usize, usize, &'a [u8]);

fn split_head(buf: &[u8], start: usize, end: usize) -> Option<Result<HeadParts<'_>, ParseError>> {
    let head = buf.get(start..end)?;
    if let Err(e) = bare_cr(head, start) {
        return Some(Err(e));
    }
    let mut lines = Lines::new(head, start);
    let (line, off, _) = lines.next()?;
    let hoff = start + lines.pos;
    // The final empty line: LF or CR LF.
    let last = if end >= 2 && buf.get(end - 2) == Some(&b'\r') {
        end - 2
    } else {
        end.saturating_sub(1)
    };
    let fields = buf.get(hoff..last).unwrap_or_default();
    Some(Ok((line, off, hoff, fields)))
}

fn parse_version(v: &[u8]) -> Option<Version> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', maj @ b'0'..=b'9', b'.', min @ b'0'..=b'9'] => {
            Some(Version {
                major: maj - b'0',
                minor: min - b'0',
            })
        }
        _ => None,
    }
}

/// A logical header line being read: where it is in the store, and the input
/// offset of its first line.
struct Logical {
    start: usize,
    len: usize,
    off: usize,
    /// Rebuilt at the end of the store (obs-fold continuations appended).
    folded: bool,
}

/// The header section (the lines after the start line, before the empty line) into
/// fields. `base`: the section's offset in the input. `refuse_nul`: requests only (a
/// response's NUL is forwarded, as HAProxy 2.6.12).
///
/// The section is copied once into the [`Headers`] store and each field is a pair
/// of ranges into it; a folded line is rebuilt at the end of the store, its line
/// breaks as spaces (HAProxy overwrites the CR LF in place). Errors come in
/// HAProxy's order: a fold before the first field, then too many fields, then the
/// first bad field.
fn parse_fields(
    section: &[u8],
    base: usize,
    opts: &ParseOptions,
    refuse_nul: bool,
) -> Result<Headers, ParseError> {
    // The copy in a spare buffer of the thread (`crate::spare`).
    let store = crate::spare::bytes_from(section, crate::head::SPARE_BYTES);
    // An upper bound on the fields: one per line.
    let n_lines = memchr::memchr_iter(b'\n', section).count();
    let mut h = Headers::from_store(
        store,
        n_lines.min(opts.max_headers) + crate::head::SPARE_FIELDS,
    );
    // Values are looked at for a NUL only when the section holds one.
    let refuse_nul = refuse_nul && !opts.accept_invalid && memchr::memchr(0, section).is_some();
    let mut cur: Option<Logical> = None;
    let mut count = 0usize;
    let mut first_err: Option<ParseError> = None;
    let mut prev_eol = 0;
    for (line, off, eol) in Lines::new(section, 0) {
        let at = off;
        let off = base + off;
        if line.first().copied().is_some_and(is_spht) {
            let Some(c) = cur.as_mut() else {
                return Err(err(ErrorKind::FoldAtStart, off));
            };
            if !c.folded {
                c.start = h.store_copy(c.start, c.len);
                c.folded = true;
            }
            h.store_fill(b' ', prev_eol);
            h.store_copy(at, line.len());
            c.len += prev_eol + line.len();
        } else {
            if count == opts.max_headers {
                return Err(err(ErrorKind::TooManyHeaders, off));
            }
            count += 1;
            if let Some(c) = cur.take() {
                field(&mut h, &c, opts, refuse_nul, &mut first_err);
            }
            cur = Some(Logical {
                start: at,
                len: line.len(),
                off,
                folded: false,
            });
        }
        prev_eol = eol;
    }
    if let Some(c) = cur {
        field(&mut h, &c, opts, refuse_nul, &mut first_err);
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(h),
    }
}

/// One logical header line into a field of `h` (or the first error kept).
fn field(
    h: &mut Headers,
    c: &Logical,
    opts: &ParseOptions,
    refuse_nul: bool,
    first_err: &mut Option<ParseError>,
) {
    if first_err.is_some() {
        return;
    }
    match split_field(h.store(), c, opts, refuse_nul) {
        Ok((name, value)) => h.push_spans(name, value),
        Err(e) => *first_err = Some(e),
    }
}

/// A logical line's name and value as (start, length) in the store.
type FieldSpans = ((usize, usize), (usize, usize));

fn split_field(
    store: &[u8],
    c: &Logical,
    opts: &ParseOptions,
    refuse_nul: bool,
) -> Result<FieldSpans, ParseError> {
    let raw = store.get(c.start..c.start + c.len).unwrap_or_default();
    let off = c.off;
    // The usual line: a token name right up to the colon, read in one walk.
    let n = raw.iter().take_while(|&&b| is_token(b)).count();
    let colon = if n > 0 && raw.get(n) == Some(&b':') {
        n
    } else {
        let Some(colon) = memchr::memchr(b':', raw) else {
            return Err(err(ErrorKind::MissingColon, off));
        };
        let name = &raw[..colon];
        if name.is_empty() {
            return Err(err(ErrorKind::BadHeaderName, off));
        }
        if !opts.accept_invalid {
            if let Some(p) = name.iter().position(|&b| !is_token(b)) {
                return Err(err(ErrorKind::BadHeaderName, off + p));
            }
        }
        colon
    };
    let rest = &raw[colon + 1..];
    let lead = rest.iter().take_while(|&&b| is_spht(b)).count();
    let trail = rest[lead..]
        .iter()
        .rev()
        .take_while(|&&b| is_spht(b))
        .count();
    let value = &rest[lead..rest.len() - trail];
    if refuse_nul {
        if let Some(p) = memchr::memchr(0, value) {
            return Err(err(ErrorKind::NulInValue, off + colon + 1 + p));
        }
    }
    Ok(((c.start, colon), (c.start + colon + 1 + lead, value.len())))
}

/// Content-Length and Transfer-Encoding: returns the framing they give (None when
/// neither is present) and whether both were present.
fn framing(headers: &mut Headers, off: usize) -> Result<(Option<BodyLength>, bool), ParseError> {
    // One walk of the fields for both headers (errors still in the order of
    // the checks below: Transfer-Encoding's first, then Content-Length's).
    let mut chunked = 0usize;
    let mut te_items = 0usize;
    let mut last_is_chunked = false;
    let mut has_te = false;
    let mut length: Option<u64> = None;
    let mut bad_length = false;
    let mut cl_fields = 0usize;
    let mut first_cl = None;
    for (i, h) in headers.iter().enumerate() {
        if h.is("transfer-encoding") {
            has_te = true;
            for item in list_items(h.value) {
                te_items += 1;
                last_is_chunked = item.eq_ignore_ascii_case(b"chunked");
                if last_is_chunked {
                    chunked += 1;
                }
            }
        } else if h.is("content-length") {
            cl_fields += 1;
            first_cl.get_or_insert(i);
            for item in h.value.split(|&b| b == b',').map(trim_spht) {
                match (parse_digits(item), length) {
                    (Some(n), Some(l)) if l == n => {}
                    (Some(n), None) => length = Some(n),
                    _ => bad_length = true,
                }
            }
        }
    }
    if has_te && (chunked != 1 || !last_is_chunked) {
        return Err(err(ErrorKind::BadTransferEncoding, off));
    }
    if has_te && te_items > 1 {
        // HAProxy decodes no other coding: 422 for a request, 502 for a response.
        return Err(err(ErrorKind::UnsupportedCoding, off));
    }
    if bad_length {
        return Err(err(ErrorKind::BadContentLength, off));
    }
    if has_te {
        let both = cl_fields > 0;
        if both {
            headers.remove_all("content-length");
        }
        return Ok((Some(BodyLength::Chunked), both));
    }
    match (length, first_cl) {
        (Some(n), Some(i)) => {
            // One header, the first one, with the plain number.
            let mut digits = [0u8; 20];
            let plain = u64_digits(n, &mut digits);
            if headers.at(i).is_some_and(|h| h.value != plain) {
                headers.set_value(i, plain);
            }
            if cl_fields > 1 {
                let mut seen = false;
                headers.retain(|h| {
                    if !h.is("content-length") {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                });
            }
            Ok((Some(BodyLength::Length(n)), false))
        }
        _ => Ok((None, false)),
    }
}

/// `n` in decimal, written at the end of `out`.
fn u64_digits(mut n: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[i..];
        }
    }
}

/// Digits only, at least one, no overflow.
fn parse_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The connection-related flags of a head.
///
/// The Connection tokens that matter, read in one walk of the fields (three
/// `has_token` walks: 1,624 -> 378 instructions for a 6-field response head,
/// callgrind, bench/http1-callgrind.sh).
fn info_of(headers: &Headers) -> (Info, Option<usize>) {
    let (mut close, mut keep_alive, mut upgrade) = (false, false, false);
    let mut first = None;
    for (i, f) in headers
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is("connection"))
    {
        first.get_or_insert(i);
        for t in crate::chars::list_items(f.value) {
            close |= t.eq_ignore_ascii_case(b"close");
            keep_alive |= t.eq_ignore_ascii_case(b"keep-alive");
            upgrade |= t.eq_ignore_ascii_case(b"upgrade");
        }
    }
    let info = Info {
        conn_close: close,
        conn_keep_alive: keep_alive,
        upgrade: upgrade && headers.contains("upgrade"),
        ..Info::default()
    };
    (info, first)
}

/// The head's connection flags, then its `Connection` fields cleaned
/// ([`crate::conn::clean_connection`]) from the first one the flags' walk found.
fn info_and_clean(headers: &mut Headers) -> Info {
    let (info, first) = info_of(headers);
    if let Some(first) = first {
        crate::conn::clean_connection_from(headers, first);
    }
    info
}

/// Splits `host[:port]` at the port colon (IPv6 literals in brackets kept whole).
fn split_port(authority: &[u8]) -> (&[u8], Option<&[u8]>) {
    let digits = authority
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let colon = authority.len() - digits;
    if colon > 0 && authority[colon - 1] == b':' {
        (&authority[..colon - 1], Some(&authority[colon..]))
    } else {
        (authority, None)
    }
}

/// Scheme-based normalisation and the authority/Host agreement (HAProxy 2.6's
/// `http_scheme_based_normalize` and h1's authority check). No allocation: the
/// authority is a range of the target.
fn absolute_form(req: &mut RequestHead, opts: &ParseOptions, off: usize) -> Result<(), ParseError> {
    let Some(sep) = req.uri.windows(3).position(|w| w == b"://") else {
        return Ok(());
    };
    let scheme = &req.uri[..sep];
    if scheme.is_empty()
        || !scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
    {
        return Ok(());
    }
    let default_port: &'static [u8] = if scheme.eq_ignore_ascii_case(b"http") {
        b"80"
    } else if scheme.eq_ignore_ascii_case(b"https") {
        b"443"
    } else {
        b""
    };
    let auth_start = sep + 3;
    let mut auth_end = req.uri[auth_start..]
        .iter()
        .position(|&b| b == b'/' || b == b'?' || b == b'#')
        .map_or(req.uri.len(), |p| auth_start + p);
    let is_default = |p: &[u8]| !default_port.is_empty() && (p.is_empty() || p == default_port);
    let (host_part, port) = split_port(&req.uri[auth_start..auth_end]);
    if port.is_some_and(is_default) {
        let cut = host_part.len();
        req.uri.drain(auth_start + cut..auth_end);
        auth_end = auth_start + cut;
        // The Host header loses the same default port.
        for i in 0..req.headers.len() {
            let Some(h) = req.headers.at(i).filter(|h| h.is("host")) else {
                continue;
            };
            let (hh, hp) = split_port(h.value);
            if hp.is_some_and(is_default) {
                let n = hh.len();
                req.headers.truncate_value(i, n);
            }
        }
    }
    if let Some(host) = req.headers.get("host") {
        let (hh, hp) = split_port(host);
        let host_norm: &[u8] = if hp.is_some_and(is_default) { hh } else { host };
        if !host_norm.eq_ignore_ascii_case(&req.uri[auth_start..auth_end]) && !opts.accept_invalid {
            return Err(err(ErrorKind::HostMismatch, off));
        }
    }
    Ok(())
}

/// Parses a request head at the start of `buf`.
///
/// Leading empty lines are skipped (RFC 7230 §3.5). On success the body starts at
/// `len`; pipelined requests follow it.
pub fn parse_request(buf: &[u8], opts: &ParseOptions) -> Result<Parsed<Request>, ParseError> {
    let start = skip_empty_lines(buf);
    let Some(end) = head_end(buf, start) else {
        if buf.len() - start > opts.max_head {
            return Err(err(ErrorKind::TooLarge, start + opts.max_head));
        }
        return Ok(Parsed::Partial);
    };
    if end - start > opts.max_head {
        return Err(err(ErrorKind::TooLarge, start + opts.max_head));
    }
    let (line, off, hoff, fields) =
        split_head(buf, start, end).ok_or(err(ErrorKind::BadMethod, start))??;

    // Method SP+ target SP+ version
    let m = line.iter().take_while(|&&b| is_token(b)).count();
    if m == 0 || !line.get(m).copied().is_some_and(is_spht) {
        return Err(err(ErrorKind::BadMethod, off + m));
    }
    let mut i = m;
    while line.get(i).copied().is_some_and(is_spht) {
        i += 1;
    }
    let uri_start = i;
    while let Some(&b) = line.get(i) {
        if is_spht(b) {
            break;
        }
        if !(is_uri_strict(b) || (opts.accept_invalid && b >= 0x80)) {
            return Err(err(ErrorKind::BadUri, off + i));
        }
        i += 1;
    }
    let uri = &line[uri_start..i];
    if uri.is_empty() {
        return Err(err(ErrorKind::BadUri, off + i));
    }
    while line.get(i).copied().is_some_and(is_spht) {
        i += 1;
    }
    if i == line.len() {
        return Err(err(ErrorKind::MissingVersion, off + i));
    }
    let version = parse_version(&line[i..]).ok_or(err(ErrorKind::BadVersion, off + i))?;

    let headers = parse_fields(fields, hoff, opts, true)?;
    if htx_too_large(
        [&line[..m], uri, &line[i..]],
        fields,
        &headers,
        opts.max_htx,
    ) {
        return Err(err(ErrorKind::TooLarge, off));
    }
    let head = RequestHead {
        method: crate::spare::bytes_from(&line[..m], 0),
        uri: crate::spare::bytes_from(uri, 0),
        version,
        headers,
    };
    let message = finish_request(head, opts, hoff, off + uri_start)?;
    Ok(Parsed::Complete { message, len: end })
}

/// A request head whose start line and fields come already split (HTTP/2's
/// HEADERS, converted as HAProxy 2.6 converts them: docs/h2.md), checked and
/// normalised as [`parse_request`] checks and normalises the same head written
/// as HTTP/1 bytes: the method a token, the target's bytes, the field count,
/// names tokens and no NUL in values (unless `accept_invalid`), the size as
/// HAProxy counts it, then framing, TE, Host, the absolute form and the
/// Connection tokens. Values must come trimmed of spaces and tabs, as the
/// parser trims them; the version must be one [`parse_request`] could read.
/// Errors carry offset 0 (there are no input bytes).
pub fn request_from_fields(head: RequestHead, opts: &ParseOptions) -> Result<Request, ParseError> {
    if head.method.is_empty() || !head.method.iter().all(|&b| is_token(b)) {
        return Err(err(ErrorKind::BadMethod, 0));
    }
    if head.uri.is_empty()
        || !head
            .uri
            .iter()
            .all(|&b| is_uri_strict(b) || (opts.accept_invalid && b >= 0x80))
    {
        return Err(err(ErrorKind::BadUri, 0));
    }
    if head.headers.len() > opts.max_headers {
        return Err(err(ErrorKind::TooManyHeaders, 0));
    }
    for h in head.headers.iter() {
        if h.name.is_empty() || !(opts.accept_invalid || h.name.iter().all(|&b| is_token(b))) {
            return Err(err(ErrorKind::BadHeaderName, 0));
        }
        if !opts.accept_invalid && h.value.contains(&0) {
            return Err(err(ErrorKind::NulInValue, 0));
        }
    }
    // `HTTP/x.y`: eight bytes, as the parser reads it.
    if htx_size([&head.method, &head.uri, b"HTTP/x.y"], &head.headers) > opts.max_htx {
        return Err(err(ErrorKind::TooLarge, 0));
    }
    finish_request(head, opts, 0, 0)
}

/// What [`parse_request`] does once the head is split: framing, TE, Host, the
/// absolute form, the Connection tokens. `hoff`, `uri_off`: error offsets.
fn finish_request(
    mut head: RequestHead,
    opts: &ParseOptions,
    hoff: usize,
    uri_off: usize,
) -> Result<Request, ParseError> {
    let (framing, both) = framing(&mut head.headers, hoff)?;

    // TE: only `trailers` may go on (HAProxy's h1_parse_te_header): a TE that
    // lists it becomes `te: trailers`, one that does not is dropped (an item
    // with parameters, `trailers;q=1`, does not count: measured on 2.6.12).
    if head.headers.contains("te") {
        let mut i = 0;
        while let Some(h) = head.headers.at(i) {
            if !h.is("te") {
                i += 1;
            } else if list_items(h.value).any(|t| t.eq_ignore_ascii_case(b"trailers")) {
                if h.value != b"trailers" {
                    head.headers.set_value(i, b"trailers");
                }
                i += 1;
            } else {
                head.headers.remove(i);
            }
        }
    }

    // Host: identical duplicates merged, different ones refused.
    // One walk; the fields are rewritten only when there is a duplicate.
    let mut dup = false;
    {
        let mut hosts = head.headers.get_all("host");
        if let Some(first) = hosts.next() {
            for h in hosts {
                if !h.eq_ignore_ascii_case(first) {
                    return Err(err(ErrorKind::MultipleHosts, hoff));
                }
                dup = true;
            }
        }
    }
    if dup {
        let mut seen = false;
        head.headers.retain(|h| {
            if !h.is("host") {
                return true;
            }
            let keep = !seen;
            seen = true;
            keep
        });
    }
    absolute_form(&mut head, opts, uri_off)?;

    let mut info = info_and_clean(&mut head.headers);
    if info.upgrade
        && head.headers.has_token("upgrade", "websocket")
        && !head.headers.contains("sec-websocket-key")
    {
        return Err(err(ErrorKind::WebSocketKeyMissing, hoff));
    }
    info.close_required = both;
    info.expect_continue = head.version.is_11()
        && head
            .headers
            .get("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
    Ok(Request {
        head,
        body: framing.unwrap_or(BodyLength::None),
        info,
    })
}

/// Parses a response head at the start of `buf`, for a request whose method was
/// `request_method` (a response to HEAD has no body; a 2xx to CONNECT is a tunnel).
pub fn parse_response(
    buf: &[u8],
    request_method: &[u8],
    opts: &ParseOptions,
) -> Result<Parsed<Response>, ParseError> {
    let Some(end) = head_end(buf, 0) else {
        if buf.len() > opts.max_head {
            return Err(err(ErrorKind::TooLarge, opts.max_head));
        }
        return Ok(Parsed::Partial);
    };
    if end > opts.max_head {
        return Err(err(ErrorKind::TooLarge, opts.max_head));
    }
    let (line, off, hoff, fields) =
        split_head(buf, 0, end).ok_or(err(ErrorKind::BadVersion, 0))??;

    let version = line
        .get(..8)
        .and_then(parse_version)
        .ok_or(err(ErrorKind::BadVersion, off))?;
    let mut i = 8;
    if !line.get(i).copied().is_some_and(is_spht) {
        return Err(err(ErrorKind::BadVersion, off + i));
    }
    while line.get(i).copied().is_some_and(is_spht) {
        i += 1;
    }
    let s = i;
    while line.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let status = &line[s..i];
    let code = parse_digits(status)
        .filter(|&c| c <= 999)
        .ok_or(err(ErrorKind::BadStatus, off + s))?;
    let reason: &[u8] = match line.get(i) {
        None => b"",
        Some(&b) if is_spht(b) => &line[i + 1..],
        Some(_) => return Err(err(ErrorKind::BadStatus, off + i)),
    };

    let headers = parse_fields(fields, hoff, opts, false)?;
    if htx_too_large([&line[..8], status, reason], fields, &headers, opts.max_htx) {
        return Err(err(ErrorKind::TooLarge, off));
    }
    let mut head = ResponseHead {
        version,
        status: crate::spare::bytes_from(status, 0),
        code: code as u16,
        reason: crate::spare::bytes_from(reason, 0),
        headers,
    };
    let (framing, both) = framing(&mut head.headers, hoff)?;
    let code = head.code;
    let body = if request_method == b"HEAD" || (100..200).contains(&code) && code != 101 {
        BodyLength::None
    } else if code == 101 || (request_method == b"CONNECT" && (200..300).contains(&code)) {
        BodyLength::Tunnel
    } else if code == 204 || code == 304 {
        BodyLength::None
    } else {
        framing.unwrap_or(BodyLength::UntilClose)
    };
    if code == 204 || (100..200).contains(&code) {
        // No body can follow: HAProxy drops the framing headers.
        head.headers.remove_all("content-length");
        head.headers.remove_all("transfer-encoding");
    }
    let mut info = info_and_clean(&mut head.headers);
    info.close_required = both || body == BodyLength::UntilClose;
    Ok(Parsed::Complete {
        message: Response { head, body, info },
        len: end,
    })
}
