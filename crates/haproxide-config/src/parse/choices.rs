//! Arguments outside their keyword's list of words (`crate::choices`): refused
//! as HAProxy 2.6 refuses them, with its message.

use super::Parser;
use crate::choices::{Choices, IntRange};
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;

impl Parser<'_> {
    /// Whether the word after the keyword at `i` is not one of `e.values`:
    /// reported (HAProxy's text after `context`, at `loc`), and the caller
    /// stops reading the line as HAProxy does. A missing word is left to the
    /// keyword's own check.
    pub(super) fn refused_choice(
        &mut self,
        line: &Line,
        i: usize,
        e: &Choices,
        context: &str,
        loc: HaproxyLoc,
    ) -> bool {
        let arg = line.arg(i + 1);
        if arg.is_empty() || e.values.contains(&arg) {
            return false;
        }
        let list = e
            .values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let msg = format!("`{}` takes one of {list}, not `{arg}`", e.keyword);
        let hx = format!("{context}{}", e.haproxy.replace("{arg}", arg));
        self.err(Code::InvalidArgument, line.span(i + 1), msg, loc, hx);
        true
    }

    /// Whether the number after the keyword at `i` is outside `e`'s range, as
    /// HAProxy reads it (atoi(): C keeps the low 32 bits of the long).
    pub(super) fn refused_range(&mut self, line: &Line, i: usize, e: &IntRange) -> bool {
        let arg = line.arg(i + 1);
        if let (true, Some((hx, tight))) = (arg.is_empty(), e.missing) {
            let loc = if tight {
                HaproxyLoc::ParsingTight
            } else {
                HaproxyLoc::Parsing
            };
            let msg = format!("`{}` needs a number", e.keyword);
            self.err(Code::MissingArgument, line.span(i), msg, loc, hx);
            return true;
        }
        // Intended truncation: C's long-to-int conversion.
        let n = crate::value::atol(arg) as i32;
        if (e.lo..=e.hi).contains(&n) {
            return false;
        }
        let msg = format!(
            "`{}` takes a number from {} to {}; `{arg}` is read as {n}",
            e.keyword, e.lo, e.hi
        );
        let span = line.span(i + 1);
        self.err(
            Code::InvalidArgument,
            span,
            msg,
            HaproxyLoc::Parsing,
            e.haproxy,
        );
        true
    }
}
