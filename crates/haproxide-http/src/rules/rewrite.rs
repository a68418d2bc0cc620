//! The room a message has for rewrites, and `strict-mode` (configuration.txt
//! §3.2 `tune.bufsize`, `tune.maxrewrite`; §4.2 "http-request strict-mode").
//!
//! HAProxy 2.6 holds a message (head and the body bytes received so far) in
//! one buffer of `tune.bufsize` bytes, stored as HTX: 48 bytes of HTX header,
//! then blocks (8 bytes each plus their payload). Reception stops
//! `tune.maxrewrite` bytes before the end, so that rules have room to add
//! headers or lengthen the URI; a rewrite that does not fit in what is left
//! fails. A failed rewrite is counted (`failed_rewrites`, the `wrew` stats
//! column) and, in strict mode (the default, restored at the start of each
//! rule set), ends the transaction with a 500 (`PR--` / `PH--` in the log);
//! after `strict-mode off` it is ignored and the rules go on.
//!
//! [`BufTune::room`] models that buffer for a head of a given HTX size with
//! some body bytes already received; [`Rewrite`] carries the limit and the
//! mode through a rule set.

use super::{get_part, name_matches, replace_all, replace_items, set_part, Step, Target};
use crate::head::{Headers, RequestHead, ResponseHead};
use crate::parse::{htx_size, ParseOptions};

/// HAProxy 2.6's `struct htx` header at the start of each buffer.
const HTX_HEADER: usize = 48;
/// An HTX block's own header (`struct htx_blk`).
const HTX_BLOCK: usize = 8;
/// What the parser's limit on a head keeps besides the reserve (measured:
/// 16384 - 1024 - 15315, see [`crate::parse::DEFAULT_MAX_HTX`]).
const HEAD_SLACK: usize = 45;

/// `tune.bufsize` and `tune.maxrewrite` (§3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufTune {
    pub bufsize: usize,
    pub maxrewrite: usize,
}

impl Default for BufTune {
    fn default() -> BufTune {
        BufTune::DEFAULT
    }
}

impl BufTune {
    /// HAProxy's defaults: 16384 and 1024.
    pub const DEFAULT: BufTune = BufTune {
        bufsize: 16384,
        maxrewrite: 1024,
    };

    /// The values a configuration gives (unset ones at their default), as
    /// HAProxy 2.6 settles them: `tune.maxrewrite` at most half the buffer.
    pub fn new(bufsize: Option<usize>, maxrewrite: Option<usize>) -> BufTune {
        let bufsize = bufsize.unwrap_or(BufTune::DEFAULT.bufsize);
        let maxrewrite = maxrewrite.unwrap_or(BufTune::DEFAULT.maxrewrite);
        BufTune {
            bufsize,
            maxrewrite: if maxrewrite >= bufsize / 2 {
                bufsize / 2
            } else {
                maxrewrite
            },
        }
    }

    /// How heads are parsed with this buffer: at most `tune.bufsize` raw bytes,
    /// and the HTX size the reserve leaves.
    pub fn parse_options(self, accept_invalid: bool) -> ParseOptions {
        ParseOptions {
            accept_invalid,
            max_head: self.bufsize,
            max_htx: self
                .bufsize
                .saturating_sub(self.maxrewrite)
                .saturating_sub(HEAD_SLACK),
            ..ParseOptions::default()
        }
    }

    /// The rewrite limit of a message whose head takes `head` bytes of HTX
    /// ([`request_size`] / [`response_size`]) when `body` bytes of its body
    /// are already received: the head may grow to what the buffer holds
    /// once the body data reception kept out of the reserve is in.
    pub fn room(self, head: usize, body: usize) -> Rewrite {
        let capacity = self.bufsize.saturating_sub(HTX_HEADER);
        let fill = capacity.saturating_sub(self.maxrewrite);
        let body_in = if body == 0 {
            0
        } else {
            (body + HTX_BLOCK).min(fill.saturating_sub(head))
        };
        Rewrite {
            limit: Some(capacity - body_in),
            ..Rewrite::default()
        }
    }
}

/// The HTX size of a request head (what [`Rewrite::limit`] bounds).
pub fn request_size(r: &RequestHead) -> usize {
    htx_size([&r.method, &r.uri, b"HTTP/1.1"], &r.headers)
}

/// The HTX size of a response head.
pub fn response_size(r: &ResponseHead) -> usize {
    htx_size([b"HTTP/1.1", &r.status, &r.reason], &r.headers)
}

/// A header's HTX size.
pub(crate) fn header_size(name: &[u8], value: &[u8]) -> usize {
    HTX_BLOCK + name.len() + value.len()
}

/// The rewrite state of a rule set run ([`super::Txn::rw`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// The largest HTX size the head may reach; `None`: no limit (no buffer
    /// modelled, e.g. unit tests and scripts' own heads).
    pub limit: Option<usize>,
    /// `strict-mode off` is in force: failed rewrites are ignored.
    pub soft: bool,
    /// Rewrites that failed (for the `failed_rewrites` counters).
    pub failed: u32,
}

impl Rewrite {
    /// Whether a head of `size` bytes of HTX fits.
    pub fn fits(&self, size: usize) -> bool {
        self.limit.is_none_or(|l| size <= l)
    }
}

/// The size of the fields named `name` (what a `set-header` removes first).
pub(crate) fn named_size(h: &Headers, name: &str) -> usize {
    h.iter()
        .filter(|f| f.is(name))
        .map(|f| header_size(f.name, f.value))
        .sum()
}

/// The size of the head `t` edits, when a limit applies.
fn size_of(t: &Target<'_>, rw: &Rewrite) -> Option<usize> {
    rw.limit?;
    Some(match t {
        Target::Req(r) => request_size(r),
        Target::Res(r) => response_size(r),
    })
}

fn headers<'t>(t: &'t mut Target<'_>) -> &'t mut Headers {
    match t {
        Target::Req(r) => &mut r.headers,
        Target::Res(r) => &mut r.headers,
    }
}

/// Applies a rewriting step if the head still fits [`Rewrite::limit`] after
/// it; false when it does not (nothing changed then, except the fields a
/// `set-header` replaces, which HAProxy removes before adding the new one).
/// A `replace-header` changes all its fields or none.
pub(super) fn apply(step: Step<'_>, mut target: Target<'_>, rw: &Rewrite) -> bool {
    let now = size_of(&target, rw);
    match step {
        Step::SetHeader {
            name,
            value,
            replace,
        } => {
            let h = headers(&mut target);
            let removed = if replace { named_size(h, name) } else { 0 };
            // (A field's size is never 0: the walk to remove runs only when
            // there is something to remove.)
            if removed > 0 {
                h.remove_all(name);
            }
            let after = now.map(|n| n - removed + header_size(name.as_bytes(), &value));
            if !after.is_none_or(|a| rw.fits(a)) {
                return false;
            }
            h.push(name.as_bytes(), &value);
        }
        Step::DelHeader { name, method } => {
            let h = headers(&mut target);
            // Looked for first: the fields are rewritten only when one matches
            // (`-m reg` compiles its pattern per field: one walk only).
            if matches!(method, super::MatchMethod::Reg)
                || h.iter().any(|f| name_matches(f.name, name, method))
            {
                h.retain(|f| !name_matches(f.name, name, method));
            }
        }
        Step::ReplaceHeader {
            name,
            re,
            value,
            items,
        } => {
            let h = headers(&mut target);
            let mut new = Vec::new();
            for (i, f) in h.iter().enumerate().filter(|(_, f)| f.is(name)) {
                let v = if items {
                    replace_items(re, f.value, &value)
                } else {
                    match replace_all(re, f.value, &value) {
                        Some(v) => v,
                        None => continue,
                    }
                };
                new.push((i, v));
            }
            if let Some(n) = now {
                let old: usize = new
                    .iter()
                    .filter_map(|(i, _)| h.at(*i))
                    .map(|f| f.value.len())
                    .sum();
                let grown: usize = new.iter().map(|(_, v)| v.len()).sum();
                if !rw.fits((n + grown).saturating_sub(old)) {
                    return false;
                }
            }
            for (i, v) in new {
                h.set_value(i, &v);
            }
        }
        Step::SetPart(part, v) => return set_part_within(target, part, &v, now, rw),
        Step::ReplacePart(part, re, fmt) => {
            if let Target::Req(r) = &target {
                let cur = get_part(r, part);
                if let Some(v) = replace_all(re, &cur, &fmt) {
                    return set_part_within(target, part, &v, now, rw);
                }
            }
        }
        Step::SetStatus(code, reason) => {
            if let Target::Res(r) = target {
                let saved = now.map(|_| (r.status.clone(), r.reason.clone()));
                let status = code.to_string().into_bytes();
                let reason = reason
                    .unwrap_or_else(|| crate::reply::reason(code))
                    .as_bytes()
                    .to_vec();
                r.status = status;
                r.reason = reason;
                if let Some((status, reason)) = saved.filter(|_| !rw.fits(response_size(r))) {
                    r.status = status;
                    r.reason = reason;
                    return false;
                }
                r.code = code;
            }
        }
        _ => {}
    }
    true
}

/// `set-path` & co within the room.
fn set_part_within(
    target: Target<'_>,
    part: super::UriPart,
    v: &[u8],
    now: Option<usize>,
    rw: &Rewrite,
) -> bool {
    let Target::Req(r) = target else {
        return true;
    };
    let saved = now.map(|_| (r.method.clone(), r.uri.clone()));
    set_part(r, part, v);
    if let Some((method, uri)) = saved.filter(|_| !rw.fits(request_size(r))) {
        r.method = method;
        r.uri = uri;
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_the_measured_head_limit() {
        let o = BufTune::DEFAULT.parse_options(false);
        assert_eq!(o.max_htx, crate::parse::DEFAULT_MAX_HTX);
        assert_eq!(o.max_head, crate::parse::DEFAULT_MAX_HEAD);
    }

    #[test]
    fn maxrewrite_is_at_most_half_the_buffer() {
        assert_eq!(BufTune::new(Some(2048), Some(1500)).maxrewrite, 1024);
        assert_eq!(BufTune::new(Some(2048), Some(128)).maxrewrite, 128);
        assert_eq!(BufTune::new(None, None), BufTune::DEFAULT);
    }

    #[test]
    fn a_full_buffer_leaves_the_reserve() {
        // strict_rw_mode: bufsize 2048, maxrewrite 128, a 103-byte head and a
        // 2000-byte body: one 74-byte header fits, a second does not.
        let t = BufTune::new(Some(2048), Some(128));
        let rw = t.room(103, 2000);
        assert!(rw.fits(103 + 74));
        assert!(!rw.fits(103 + 2 * 74));
        // Without a body the whole buffer is there.
        assert!(t.room(103, 0).fits(103 + 20 * 74));
    }

    fn run_with(
        rules: &[super::super::HttpRule],
        limit: Option<usize>,
    ) -> (super::super::Verdict, RequestHead, u32) {
        let mut head = RequestHead {
            method: b"GET".to_vec(),
            uri: b"/a".to_vec(),
            version: crate::head::Version::HTTP_11,
            headers: Headers::default(),
        };
        // A previous rule set's `strict-mode off` does not carry over.
        let rw = Rewrite {
            limit,
            soft: true,
            failed: 0,
        };
        let mut vars = super::super::Vars::default();
        let (v, rw) = super::super::tests::run_rw(rules, &mut head, &mut vars, rw);
        (v, head, rw.failed)
    }

    fn set(name: &str, value: &str) -> super::super::HttpRule {
        use haproxide_expr::logfmt::{LfMode, LogFormat};
        super::super::HttpRule {
            action: super::super::Action::SetHeader {
                name: name.into(),
                value: std::sync::Arc::new(LogFormat::parse(value, LfMode::Http).expect(value)),
                replace: true,
            },
            cond: None,
        }
    }

    fn strict(on: bool) -> super::super::HttpRule {
        super::super::HttpRule {
            action: super::super::Action::StrictMode(on),
            cond: None,
        }
    }

    #[test]
    fn strict_mode_fails_with_500_and_off_ignores() {
        use super::super::Verdict;
        // `GET /a HTTP/1.1` with no header: 32 + 3 + 2 + 8 + 8 = 53 bytes.
        let base = 53;
        let x = "0123456789";
        let one = header_size(b"x-a", x.as_bytes());
        // Room for one header: the second fails, in strict mode a 500.
        let (v, h, failed) = run_with(&[set("x-a", x), set("x-b", x)], Some(base + one));
        match v {
            Verdict::Reply(r) => assert_eq!(r.head.code, 500),
            v => panic!("{v:?}"),
        }
        assert_eq!((failed, h.headers.len()), (1, 1));
        // After `strict-mode off` the failure is counted and ignored.
        let rules = [set("x-a", x), strict(false), set("x-b", x), set("x-c", "")];
        let (v, h, failed) = run_with(&rules, Some(base + one + 8 + 3));
        assert_eq!(v, Verdict::Continue);
        assert_eq!(failed, 1);
        let names: Vec<&[u8]> = h.headers.iter().map(|f| f.name).collect();
        assert_eq!(names, [&b"x-a"[..], b"x-c"]);
        // `set-header` on an existing field replaces it within the same room.
        let (v, _, failed) = run_with(&[set("x-a", x), set("x-a", x)], Some(base + one));
        assert_eq!((v, failed), (Verdict::Continue, 0));
        // No limit: nothing fails.
        let (v, _, failed) = run_with(&[set("x-a", x), set("x-b", x)], None);
        assert_eq!((v, failed), (Verdict::Continue, 0));
    }
}
