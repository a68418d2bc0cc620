//! HTTP/2 keywords: the global `tune.h2.*` (configuration.txt §3.2) and the
//! `proto` bind option (§5.1), with `haproxy -c`'s errors (2.6.12, measured).

use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;
use crate::value;

impl Parser<'_> {
    /// `tune.h2.*`; false when `kw` is none of them. HAProxy reads each with
    /// atoi() (an `int`: the low 32 bits of what strtol() saturates to); the
    /// ranges it refuses outside are checked before, from
    /// `crate::choices::GLOBAL_RANGES`.
    pub(super) fn global_h2(&mut self, line: &Line, start: usize, kw: &str) -> bool {
        // Intended truncation: C's long-to-int conversion.
        let n = value::atol(line.arg(start + 1)) as i32;
        let v = u32::try_from(n).ok();
        let h2 = &mut self.cfg.global.tune_h2;
        match kw {
            "tune.h2.header-table-size" => h2.header_table_size = v,
            "tune.h2.initial-window-size" => h2.initial_window_size = v,
            "tune.h2.max-concurrent-streams" => h2.max_concurrent_streams = v,
            "tune.h2.max-frame-size" => h2.max_frame_size = v,
            _ => return false,
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
