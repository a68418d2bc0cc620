//! Lua keywords of `global` (configuration.txt §3.1 `lua-load`,
//! `lua-load-per-thread`, `lua-prepend-path`; §3.2 `tune.lua.*`), with
//! `haproxy -c`'s errors (2.6.12, measured). The Lua crate gets them as a spec
//! (haproxide-server's translate); docs/lua.md.

use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::model::Named;
use crate::reader::Line;
use crate::value;

impl Parser<'_> {
    /// A `lua.<name>` fetch or converter once a `lua-load` was seen: HAProxy
    /// knows the names its scripts registered while parsing; haproxide runs the
    /// scripts later (translate), so any name is accepted here (an unregistered
    /// one gives no value).
    pub(super) fn is_lua_sample(&self, name: &str) -> bool {
        self.has_lua && name.starts_with("lua.")
    }

    /// `lua-prepend-path` and `tune.lua.*`; false when `kw` is none of them.
    pub(super) fn global_lua_tune(&mut self, line: &Line, start: usize, kw: &str) -> bool {
        let arg = line.arg(start + 1).to_string();
        let span = line.span(start + 1);
        let bad = match kw {
            "lua-prepend-path" => match line.arg(start + 2) {
                "" | "path" | "cpath" => {
                    if let Some(w) = line.words.get(start + 1) {
                        let cpath = line.arg(start + 2) == "cpath";
                        self.cfg
                            .global
                            .lua
                            .prepend_path
                            .push((Named::from_word(w), cpath));
                    }
                    None
                }
                _ => Some(format!(
                    "'{kw}' expects <type> to either be 'path' or 'cpath'"
                )),
            },
            "tune.lua.maxmem" if arg.is_empty() => Some(format!(
                "'{kw}' expects an integer argument (Lua memory size in MB)."
            )),
            "tune.lua.maxmem" | "tune.lua.forced-yield" => {
                // hlua.c: strtoll(arg, &end, 10) must read the whole word
                // (white space and a sign first; `-1` is taken).
                let (n, rest) = strtoll10(&arg);
                match rest.chars().next() {
                    None => {
                        if kw == "tune.lua.maxmem" {
                            // A negative size is no limit (HAProxy's size_t wraps).
                            self.cfg.global.lua.maxmem_mb = u64::try_from(n).ok();
                        } else {
                            // An `unsigned int` (intended truncation, as C's).
                            self.cfg.global.lua.forced_yield = Some(n as u32);
                        }
                        None
                    }
                    Some(_) if kw == "tune.lua.forced-yield" => {
                        Some(format!("{kw}: invalid number"))
                    }
                    Some(c) => Some(format!("{kw}: invalid number {arg} (error at '{c}')")),
                }
            }
            "tune.lua.session-timeout" | "tune.lua.service-timeout" => {
                let texts = super::timers::global(kw);
                if let Some(v) = texts.and_then(|t| self.c_timer(line, start, &t)) {
                    let t = Some(value::Millis(u64::from(v)));
                    let l = &mut self.cfg.global.lua;
                    if kw == "tune.lua.session-timeout" {
                        l.session_timeout = t;
                    } else {
                        l.service_timeout = t;
                    }
                }
                None
            }
            _ => return false,
        };
        if let Some(hx) = bad {
            self.err(
                Code::InvalidArgument,
                span,
                hx.clone(),
                HaproxyLoc::Parsing,
                hx,
            );
        }
        true
    }
}

/// C's strtoll(s, &end, 10), saturating: the number and what is left after it
/// (the whole word when no digit was read).
pub(super) fn strtoll10(s: &str) -> (i64, &str) {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let n = body.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return (0, s);
    }
    (value::atol(t), &body[n..])
}

#[cfg(test)]
mod tests {
    use super::strtoll10;

    #[test]
    fn strtoll_reads_as_c_does() {
        assert_eq!(strtoll10("-1"), (-1, ""));
        assert_eq!(strtoll10(" 12x"), (12, "x"));
        assert_eq!(strtoll10("-"), (0, "-"));
        assert_eq!(strtoll10(""), (0, ""));
        assert_eq!(strtoll10("99999999999999999999"), (i64::MAX, ""));
    }
}
