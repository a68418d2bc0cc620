//! `capture cookie`, `capture request|response header` and `declare capture`
//! (configuration.txt §4.2): the forms HAProxy 2.6 refuses while parsing, with
//! its messages. What the captures are is worked out later (`crate::captures`).

use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;

impl Parser<'_> {
    /// `capture cookie <name> len <length>`, `capture request|response header
    /// <name> len <length>`: `start` is the word `capture`. HAProxy checks that
    /// the cookie form has a fourth word (not that the third is `len`), and that
    /// the header forms have a name, `len` and a length.
    pub(super) fn kw_capture(&mut self, line: &Line, start: usize) {
        let dir = line.arg(start + 1);
        let (refused, hx) = if dir == "cookie" {
            let refused = line.arg(start + 4).is_empty();
            (
                refused,
                "'capture' expects 'cookie' <cookie_name> 'len' <len>.".to_string(),
            )
        } else {
            let refused = line.arg(start + 3).is_empty()
                || line.arg(start + 4) != "len"
                || line.arg(start + 5).is_empty();
            let hx = format!("'capture {dir}' expects 'header' <header_name> 'len' <len>.");
            (refused, hx)
        };
        if refused {
            let msg = if dir == "cookie" {
                "`capture cookie` needs `<name> len <length>`".to_string()
            } else {
                format!("`capture {dir} header` needs `<name> len <length>`")
            };
            let span = line.span_from(start);
            self.err(Code::MissingArgument, span, msg, HaproxyLoc::Parsing, hx);
        }
    }

    /// `declare capture request|response len <length>`: `a` is the word after
    /// `capture`. The length is read with strtol(): the whole word a number
    /// greater than 0.
    pub(super) fn kw_declare_capture(&mut self, line: &Line, a: usize) {
        let (dir, len_kw, len) = (line.arg(a), line.arg(a + 1), line.arg(a + 2));
        let refusal = if !matches!(dir, "request" | "response") {
            Some((
                a,
                "'declare capture' requires a direction ('request' or 'response')",
            ))
        } else if len_kw != "len" {
            Some((a + 1, "'declare capture' requires a capture length ('len')"))
        } else if len.is_empty() {
            Some((
                a + 1,
                "'declare capture': 'len' requires a numeric value that represents the capture length",
            ))
        } else if !strtol_whole(len) {
            Some((a + 2, "'declare capture': cannot parse the length 'len'."))
        } else if len.starts_with('-') || len.trim_start_matches(['+', '0']).is_empty() {
            Some((a + 2, "length must be > 0"))
        } else {
            None
        };
        if let Some((at, hx)) = refusal {
            let msg = format!("`declare capture` refused: {hx}");
            self.err(
                Code::InvalidArgument,
                line.span(at),
                msg,
                HaproxyLoc::Parsing,
                hx,
            );
        }
    }
}

/// Whether strtol(s, &end, 10) reads all of `s` (leading blanks and a sign
/// allowed, at least one digit; out-of-range values saturate, as in C).
fn strtol_whole(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '\t']);
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}
