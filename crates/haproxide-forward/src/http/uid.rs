//! `unique-id-format` (configuration.txt §4.2): the request's ID, rendered when
//! its head is parsed from the compiled log-format (haproxide-expr's
//! [`LogFormat`]) with what is known then: addresses, the accept date, names,
//! the process, a request counter; `%[...]` samples read the request
//! ([`MsgCtx`], the rules' context). Timers, byte counts and states are not known yet: `-`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use haproxide_expr::logfmt::{push_hexable, push_ip, push_port, push_text, Flags};
use haproxide_expr::{Context, LogFormat, LogVar, LogVars};

use haproxide_http::ctx::MsgCtx;

/// HAProxy's `global.req_count` (`%rt`): requests of the process, from 0.
static REQ_COUNT: AtomicU64 = AtomicU64::new(0);

struct ReqVars<'a> {
    ctx: MsgCtx<'a>,
    frontend: &'a str,
    accepted: SystemTime,
    counter: u64,
}

impl LogVars for ReqVars<'_> {
    fn context(&self) -> &dyn Context {
        &self.ctx
    }

    fn var(&self, out: &mut Vec<u8>, v: LogVar, f: Flags) {
        let since = self.accepted.duration_since(UNIX_EPOCH).unwrap_or_default();
        match v {
            LogVar::ClientIp => push_ip(out, self.ctx.src.map(|a| a.ip()), f),
            LogVar::ClientPort => push_port(out, self.ctx.src.map(|a| a.port()), f),
            LogVar::FrontendIp => push_ip(out, self.ctx.dst.map(|a| a.ip()), f),
            LogVar::FrontendPort => push_port(out, self.ctx.dst.map(|a| a.port()), f),
            LogVar::Timestamp => push_hexable(out, since.as_secs(), f, 8),
            LogVar::AcceptMs => push_hexable(out, u64::from(since.subsec_millis()), f, 2),
            LogVar::Pid => push_hexable(out, u64::from(std::process::id()), f, 4),
            LogVar::RequestCounter => push_hexable(out, self.counter, f, 4),
            LogVar::Frontend | LogVar::FrontendTransport => {
                push_text(out, Some(self.frontend.as_bytes()), f)
            }
            _ => push_text(out, None, f),
        }
    }
}

/// The unique ID of the request `ctx` carries.
pub(crate) fn unique_id(
    format: &LogFormat,
    ctx: MsgCtx<'_>,
    frontend: &str,
    accepted: SystemTime,
) -> Box<str> {
    let vars = ReqVars {
        ctx,
        frontend,
        accepted,
        counter: REQ_COUNT.fetch_add(1, Ordering::Relaxed),
    };
    let mut out = Vec::with_capacity(64);
    format.render(&mut out, &vars);
    String::from_utf8_lossy(&out).into()
}
