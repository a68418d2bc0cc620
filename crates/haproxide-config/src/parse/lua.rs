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
                match arg.find(|c: char| !c.is_ascii_digit()) {
                    None => {
                        let n = arg.parse::<u64>().unwrap_or(u64::MAX);
                        if kw == "tune.lua.maxmem" {
                            self.cfg.global.lua.maxmem_mb = Some(n);
                        } else {
                            self.cfg.global.lua.forced_yield =
                                Some(u32::try_from(n).unwrap_or(u32::MAX));
                        }
                        None
                    }
                    Some(_) if kw == "tune.lua.forced-yield" => {
                        Some(format!("{kw}: invalid number"))
                    }
                    Some(i) => Some(format!(
                        "{kw}: invalid number {arg} (error at '{}')",
                        arg[i..].chars().next().unwrap_or(' ')
                    )),
                }
            }
            "tune.lua.session-timeout" | "tune.lua.service-timeout" => {
                match value::parse_time(&arg, 1) {
                    Ok(t) => {
                        let l = &mut self.cfg.global.lua;
                        if kw == "tune.lua.session-timeout" {
                            l.session_timeout = Some(t);
                        } else {
                            l.service_timeout = Some(t);
                        }
                        None
                    }
                    Err(_) => Some(format!("{kw}: invalid timeout")),
                }
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
