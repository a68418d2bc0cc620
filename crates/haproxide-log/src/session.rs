//! The per-frontend [`SessionLogger`] (configuration.txt §4.2 `option
//! tcplog`, `log-format`, `option log-separate-errors`, `option
//! dontlog-normal`; §8.2).

use std::sync::atomic::{AtomicU64, Ordering};

use haproxide_forward::{SessionLogger, SessionRecord};

use super::format::{default_line, LogFormatString, RenderContext};
use super::logger::{system_hostname, Logger};
use super::target::Level;

/// Which line a frontend logs per session (§8.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SessionFormat {
    /// No `option tcplog` nor `log-format`: "Connect from A to B (fe/TCP)"
    /// (§8.2.1). HAProxy emits it at accept time; here it comes when the
    /// engine reports the session.
    #[default]
    Default,
    /// `option tcplog` (§8.2.2).
    TcpLog,
    /// `log-format <string>` (§8.2.4), `option httplog [clf]` (§8.2.3) or
    /// `option httpslog` ([`LogFormatString::httplog`] ...), compiled.
    Custom(LogFormatString),
}

impl SessionFormat {
    /// `log-format <string>`, compiled (errors worded like HAProxy's, for
    /// the caller to prefix with file:line).
    pub fn custom(log_format: &str) -> Result<SessionFormat, super::LogFormatError> {
        LogFormatString::parse(log_format).map(SessionFormat::Custom)
    }

    /// `log-format <string>` for a proxy in `mode` (HTTP-only variables
    /// refused in TCP mode, as `haproxy -c` does).
    pub fn custom_mode(
        log_format: &str,
        mode: haproxide_expr::LfMode,
    ) -> Result<SessionFormat, super::LogFormatError> {
        LogFormatString::parse_mode(log_format, mode).map(SessionFormat::Custom)
    }

    /// `option httplog` (`clf`: `option httplog clf`).
    pub fn httplog(clf: bool) -> SessionFormat {
        SessionFormat::Custom(if clf {
            LogFormatString::httplog_clf().clone()
        } else {
            LogFormatString::httplog().clone()
        })
    }

    /// `option httpslog`.
    pub fn httpslog() -> SessionFormat {
        SessionFormat::Custom(LogFormatString::httpslog().clone())
    }

    /// Whether a line uses the HTTP request line (HAProxy's `LW_REQ`).
    pub fn uses_request_line(&self) -> bool {
        match self {
            SessionFormat::Custom(f) => f.format().uses_request_line(),
            _ => false,
        }
    }
}

/// Process-wide count of logged sessions, for `%rt`.
static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Logs a frontend's finished sessions to its targets at INFO (ERR for
/// errors with `option log-separate-errors`). `option dontlognull` is the
/// engine's business (it does not report those sessions).
///
/// ```ignore
/// let fe_log = FrontendLog::new(proxy_logger, SessionFormat::TcpLog)
///     .with_tag(proxy_log_tag)                // `log-tag` of the proxy, if any
///     .with_log_separate_errors(opt_separate)
///     .with_dontlog_normal(opt_dontlog_normal);
/// let logger: Arc<dyn SessionLogger> = Arc::new(fe_log);
/// ```
#[derive(Debug)]
pub struct FrontendLog {
    logger: Logger,
    format: SessionFormat,
    tag: Option<String>,
    separate_errors: bool,
    dontlog_normal: bool,
    hostname: String,
    counter: AtomicU64,
}

/// Whether a session had an error, timeout, retry or redispatch (§8.3.3,
/// §8.3.4 "normal connection").
/// As HAProxy 2.6's `strm_log`: a termination cause other than none or `L`
/// (locally processed), a retry or redispatch, or in HTTP a status >= 500.
fn is_abnormal(rec: &SessionRecord) -> bool {
    !matches!(rec.termination[0], b'-' | b'L')
        || rec.retries > 0
        || rec.redispatched
        || rec
            .http
            .as_ref()
            .and_then(|h| h.status)
            .is_some_and(|s| s >= 500)
}

impl FrontendLog {
    /// A frontend's session logger over `logger` (its targets: `log
    /// global` and/or its own `log` lines).
    pub fn new(logger: Logger, format: SessionFormat) -> FrontendLog {
        FrontendLog {
            logger,
            format,
            tag: None,
            separate_errors: false,
            dontlog_normal: false,
            hostname: system_hostname(),
            counter: AtomicU64::new(0),
        }
    }

    /// The proxy's `log-tag` (§4.2), replacing the global one in headers.
    pub fn with_tag(mut self, tag: Option<String>) -> FrontendLog {
        self.tag = tag;
        self
    }

    /// `option log-separate-errors` (§8.3.3): sessions with an error,
    /// timeout, retry or redispatch are logged at ERR instead of INFO.
    pub fn with_log_separate_errors(mut self, on: bool) -> FrontendLog {
        self.separate_errors = on;
        self
    }

    /// `option dontlog-normal` (§8.3.4): only sessions with an error,
    /// timeout, retry or redispatch are logged.
    pub fn with_dontlog_normal(mut self, on: bool) -> FrontendLog {
        self.dontlog_normal = on;
        self
    }

    /// The targets.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// The line for `rec` (advances the `%lc` counter), and its level, or
    /// `None` if `dontlog-normal` skips it.
    pub fn render(&self, rec: &SessionRecord) -> Option<(Level, String)> {
        let mut out = Vec::new();
        let level = self.render_into(&mut out, rec)?;
        let line = match String::from_utf8(out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Some((level, line))
    }

    /// [`FrontendLog::render`] appended to `out` (as the bytes the line is
    /// sent as: invalid UTF-8 is replaced, as in `render`).
    fn render_into(&self, out: &mut Vec<u8>, rec: &SessionRecord) -> Option<Level> {
        let abnormal = is_abnormal(rec);
        if self.dontlog_normal && !abnormal {
            return None;
        }
        let level = if self.separate_errors && abnormal {
            Level::Err
        } else {
            Level::Info
        };
        let ctx = RenderContext {
            zone: self.logger.zone(),
            pid: self.logger.identity().pid,
            hostname: &self.hostname,
            log_counter: self.counter.fetch_add(1, Ordering::Relaxed),
            request_counter: REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed),
        };
        let start = out.len();
        match &self.format {
            SessionFormat::Default => out.extend_from_slice(default_line(rec).as_bytes()),
            SessionFormat::TcpLog => LogFormatString::tcplog().render_into(out, rec, &ctx),
            SessionFormat::Custom(f) => f.render_into(out, rec, &ctx),
        }
        // Most lines are ASCII (a word at a time), checked whole only when not.
        if !out[start..].is_ascii() && std::str::from_utf8(&out[start..]).is_err() {
            let fixed = String::from_utf8_lossy(&out[start..]).into_owned();
            out.truncate(start);
            out.extend_from_slice(fixed.as_bytes());
        }
        Some(level)
    }
}

thread_local! {
    /// The session line being logged, per thread (see `logger::with_scratch`).
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl SessionLogger for FrontendLog {
    fn wants_request_line(&self, _frontend: &str) -> bool {
        // HAProxy 2.6.12 keeps the line (for `capture.req.uri`) even when the
        // format is ignored for want of a log address (measured).
        self.format.uses_request_line()
    }

    fn conn_error(&self, e: &haproxide_forward::ConnError<'_>) {
        if self.logger.is_empty() {
            return;
        }
        let line = conn_error_line(e, self.logger.zone());
        let level = if self.separate_errors {
            Level::Err
        } else {
            Level::Info
        };
        self.logger.send_tagged(level, self.tag.as_deref(), &line);
    }

    fn log(&self, record: &SessionRecord) {
        if self.logger.is_empty() {
            return;
        }
        super::logger::with_scratch(&LINE, |line| {
            if let Some(level) = self.render_into(line, record) {
                self.logger
                    .send_bytes_tagged(level, self.tag.as_deref(), line);
            }
        });
    }
}

/// HAProxy's connection-error line (§8.2.6, 2.6's `sess_log_embryonic`):
/// `127.0.0.1:40198 [05/Dec/2026:05:24:32.710] fe/1: SSL handshake failure`.
pub fn conn_error_line(e: &haproxide_forward::ConnError<'_>, zone: crate::Zone) -> String {
    let client = match e.client {
        Some(a) => format!("{}:{}", a.ip(), a.port()),
        None => "unix:1".to_string(),
    };
    format!(
        "{client} [{}] {}/{}: {}",
        crate::Tm::new(e.accepted_at, zone).accept_date(),
        e.frontend,
        e.bind,
        e.reason
    )
}
