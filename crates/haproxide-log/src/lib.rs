//! Logs as HAProxy writes them (configuration.txt §3.1 `log`, §8 "Logging").
//!
//! - [`LogTarget`] / [`LogDest`] / [`LogFormat`] / [`Facility`] / [`Level`]:
//!   one `log` line (§3.1, §4.2), built from the config crate's typed
//!   `LogDest` (haproxide-server's `logsetup`: the line is parsed once, there);
//! - [`Logger`]: a set of targets; [`Logger::send`], [`Logger::event`],
//!   [`Logger::check_line`] never block nor fail (losses are counted);
//! - [`tcplog_line`], [`default_line`], [`LogFormatString`]: session lines
//!   (§8.2.1, §8.2.2, §8.2.6);
//! - [`FrontendLog`]: the [`haproxide_forward::SessionLogger`] a frontend
//!   gets;
//! - [`ProxyLogs`]: everything above for one configuration — the engine's
//!   single [`haproxide_forward::SessionLogger`] (routes by frontend) and
//!   the router of proxy events / health-check lines to each proxy's
//!   targets and `log-tag`;
//! - [`events`]: process/proxy event texts and severities.
//!
//! Wire bytes of every header format, the tcplog line, the default line,
//! `log-format` rendering, `len` truncation, level filtering, `log-tag`,
//! `log-send-hostname` and the soft-stop event texts are compared with
//! HAProxy 2.6.12's datagrams by the differential tests in
//! `tests_haproxy.rs` (run on every `cargo test` where `/usr/sbin/haproxy`
//! exists). Facts they pinned down:
//! - the default `format` is `local` (rfc3164 without hostname), or
//!   `rfc3164` with `log-send-hostname`; explicit `rfc3164` prints
//!   `localhost` without `log-send-hostname`, `rfc5424` prints `-`;
//! - every message ends with `\n`; `len N` cuts header + text to N bytes
//!   before it (stdout/fd targets too);
//! - dates in headers, `%t` and `%Tl` are local time (`TZ`), `%T` is GMT;
//! - a proxy's `log-tag` is used for its sessions and its stop events.
//!
//! - `option log-separate-errors` raises errors, retries and redispatches
//!   to ERR; `option dontlog-normal` logs only those (checked by hand).
//!
//! Usage by the run loop (the engine takes one `SessionLogger`):
//! ```ignore
//! let ident = SyslogIdentity::default()               // "haproxy", own pid
//!     .with_tag(global_log_tag)                       // if `log-tag`
//!     .with_send_hostname(send_hostname_arg);         // if `log-send-hostname`
//! let global = Logger::new(global_targets, ident)?;   // one LogTarget per typed `log`
//! let mut logs = ProxyLogs::new(global.clone());
//! for px in proxies {                                 // frontends, listens, backends
//!     let px_logger = global.extend(px_own_targets)?; // `log global` + own lines
//!     logs.add_proxy(&px.name, px_logger.clone(), px.log_tag.clone());
//!     if px.is_frontend {
//!         logs.add_frontend(&px.name, FrontendLog::new(px_logger, SessionFormat::TcpLog)
//!             .with_tag(px.log_tag.clone())
//!             .with_log_separate_errors(px.log_separate_errors)
//!             .with_dontlog_normal(px.dontlog_normal));
//!     }
//! }
//! let logs = Arc::new(logs);                          // Arc<dyn SessionLogger> for the engine
//! let (level, text) = events::proxy_stopped("fe", fe_total, be_total);
//! logs.proxy_event("fe", level, &text);
//! logs.proxy_check_line("be", &line);                 // haproxide-check LogLine
//! logs.flush(Duration::from_millis(500));             // before exiting
//! ```

#![deny(unsafe_code)]

pub(crate) mod clock;
mod dispatch;
pub mod events;
mod format;
mod logger;
mod session;
#[allow(unsafe_code)]
mod sys;
mod target;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_haproxy;
#[cfg(test)]
mod tests_httplog;

pub use clock::{Tm, Zone};
pub use dispatch::ProxyLogs;
pub use format::{
    default_line, tcplog_line, LogFormatString, RenderContext, HTTPLOG_CLF_FORMAT, HTTPLOG_FORMAT,
    HTTPSLOG_TAIL, TCPLOG_FORMAT,
};
pub use logger::{render_message, system_hostname, Logger, SyslogIdentity};
pub use session::{FrontendLog, SessionFormat};
pub use target::{Facility, Level, LogDest, LogFormat, LogSample, LogTarget, DEFAULT_MAX_LEN};

/// Errors building log targets and loggers.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Unparsable `<address>`.
    #[error("invalid log address '{0}'")]
    BadAddress(String),
    /// A feature this implementation does not have.
    #[error("'{0}' is not supported")]
    Unsupported(&'static str),
    /// A socket or file could not be opened.
    #[error("cannot open log target {dest}: {source}")]
    Open {
        /// The target.
        dest: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Errors compiling a `log-format` string (§8.2.4), worded like HAProxy's
/// (haproxide-expr's compiler).
pub use haproxide_expr::LogFormatError;
