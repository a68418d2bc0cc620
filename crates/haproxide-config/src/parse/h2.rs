//! HTTP/2 keywords: the global `tune.h2.*` (configuration.txt §3.2) and the
//! `proto` bind option (§5.1), with `haproxy -c`'s errors (2.6.12, measured).

use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;
use crate::value;

impl Parser<'_> {
    /// `tune.h2.*`; false when `kw` is none of them.
    pub(super) fn global_h2(&mut self, line: &Line, start: usize, kw: &str) -> bool {
        let arg = line.arg(start + 1).to_string();
        let n = value::atol(&arg);
        let span = line.span(start + 1);
        let (bad, hx) = match kw {
            "tune.h2.header-table-size" => {
                let ok = (4096..=65536).contains(&n);
                if ok {
                    self.cfg.global.tune_h2.header_table_size = Some(n as u32);
                }
                (!ok, "expects a numeric value between 4096 and 65536.")
            }
            "tune.h2.initial-window-size" => {
                // HAProxy takes atoi() of anything here.
                self.cfg.global.tune_h2.initial_window_size = Some(
                    u32::try_from(n.max(0))
                        .unwrap_or(u32::MAX)
                        .min((1 << 31) - 1),
                );
                (false, "")
            }
            "tune.h2.max-concurrent-streams" => {
                // HAProxy refuses only a negative value (0 is accepted).
                let ok = n >= 0;
                if ok {
                    self.cfg.global.tune_h2.max_concurrent_streams =
                        Some(u32::try_from(n).unwrap_or(u32::MAX));
                }
                (!ok, "expects a positive numeric value.")
            }
            "tune.h2.max-frame-size" => {
                let ok = (16384..=16777215).contains(&n);
                if ok {
                    self.cfg.global.tune_h2.max_frame_size = Some(n as u32);
                }
                (!ok, "expects a numeric value between 16384 and 16777215.")
            }
            _ => return false,
        };
        if bad {
            self.err(
                Code::InvalidArgument,
                span,
                format!("`{kw}` {hx}"),
                HaproxyLoc::Parsing,
                format!("'{kw}' {hx}"),
            );
        }
        true
    }

    /// `proto <name>` on a bind line: `h2` (prior knowledge) or `h1`.
    pub(super) fn bind_proto(
        &mut self,
        pi: usize,
        line: &Line,
        i: usize,
        addr_text: &str,
        proto_h2: &mut bool,
    ) {
        let arg = line.arg(i + 1).to_string();
        match arg.as_str() {
            "h2" => *proto_h2 = true,
            "h1" => *proto_h2 = false,
            _ => {
                let section = self.cfg.proxies[pi].kind.as_str();
                self.err(
                    Code::InvalidArgument,
                    line.span(i + 1),
                    format!("`proto` takes h2 or h1, not `{arg}`"),
                    HaproxyLoc::Parsing,
                    format!("'bind {addr_text}' in section '{section}' : 'proto' :  unknown MUX protocol '{arg}'"),
                );
            }
        }
    }
}
