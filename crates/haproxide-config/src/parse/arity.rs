//! Lines with more arguments than their keyword takes (`crate::arity`'s tables):
//! refused as HAProxy 2.6 refuses them, with its message.

use super::Parser;
use crate::arity::{MaxArgs, MinArgs, Wording};
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;

impl Parser<'_> {
    /// Whether `line` (its keyword at word `start`) has a word after the ones
    /// `e` allows: reported with HAProxy's alert (fatal unless `e.fatal` is false), and the caller stops
    /// reading the line as HAProxy does.
    pub(super) fn too_many_args(&mut self, line: &Line, start: usize, e: &MaxArgs) -> bool {
        let at = start + e.named + e.max;
        let extra = line.arg(at);
        if extra.is_empty() {
            return false;
        }
        let named = line
            .words
            .get(start..start + e.named)
            .unwrap_or_default()
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let takes = match e.max {
            0 => "takes no argument".to_string(),
            1 => "takes one argument".to_string(),
            n => format!("takes at most {n} arguments"),
        };
        let hx = match e.wording {
            Wording::Unexpected => {
                format!("'{named}' cannot handle unexpected argument '{extra}'.")
            }
            Wording::EscapeSpaces => {
                format!("{named} expects only one argument, don't forget to escape spaces!")
            }
        };
        let mut msg = format!("`{}` {takes}; `{extra}` is extra", e.keyword);
        if e.wording == Wording::EscapeSpaces {
            msg.push_str(" (write the format's spaces as `\\ `, or quote it)");
        }
        let span = line.span(at);
        if e.fatal {
            self.err(Code::TooManyArguments, span, msg, HaproxyLoc::Parsing, hx);
        } else {
            let msg = format!("{msg}: HAProxy 2.6 ignores the line");
            self.warn(Code::TooManyArguments, span, msg, HaproxyLoc::Parsing, hx);
        }
        true
    }

    /// Whether `line` (its keyword at word `start`) has fewer arguments than
    /// `e` needs: reported with HAProxy's fatal alert.
    pub(super) fn too_few_args(&mut self, line: &Line, start: usize, e: &MinArgs) -> bool {
        if !line.arg(start + e.min).is_empty() {
            return false;
        }
        let needs = match e.min {
            1 => "an argument".to_string(),
            n => format!("{n} arguments"),
        };
        let loc = if e.tight {
            HaproxyLoc::ParsingTight
        } else {
            HaproxyLoc::Parsing
        };
        let span = line.span_from(start);
        let msg = format!("`{}` needs {needs}", e.keyword);
        self.err(Code::MissingArgument, span, msg, loc, e.haproxy);
        true
    }
}
