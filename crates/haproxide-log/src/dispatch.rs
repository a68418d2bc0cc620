//! All of a configuration's logs in one object: the global targets, each
//! proxy's targets and `log-tag` (configuration.txt §4.2 `log`, `log-tag`),
//! and the per-frontend session loggers; it is the engine's single
//! [`SessionLogger`], routing each record by its frontend's name.

use std::collections::HashMap;

use haproxide_check::log::LogLine;
use haproxide_forward::{SessionLogger, SessionRecord};

use super::logger::Logger;
use super::session::FrontendLog;
use super::target::Level;

/// A proxy's targets and tag.
#[derive(Debug, Clone)]
struct ProxyLog {
    logger: Logger,
    tag: Option<String>,
}

/// The process's loggers. Build it once per configuration:
///
/// ```ignore
/// let mut logs = ProxyLogs::new(global_logger);
/// logs.add_proxy("be", global_logger.extend(own)?, Some("beTag".into())); // every proxy with logs
/// logs.add_frontend("fe", FrontendLog::new(fe_logger, SessionFormat::TcpLog));
/// let logs = Arc::new(logs);
/// engine_start(..., logs.clone() as Arc<dyn SessionLogger>);
/// logs.proxy_check_line("be", &line);      // server UP/DOWN of backend "be"
/// logs.event(Level::Warning, "...");       // process-wide events
/// ```
#[derive(Debug, Default)]
pub struct ProxyLogs {
    global: Logger,
    proxies: HashMap<String, ProxyLog>,
    frontends: rustc_hash::FxHashMap<String, FrontendLog>,
}

impl ProxyLogs {
    /// With the global `log` targets (§3.1).
    pub fn new(global: Logger) -> ProxyLogs {
        ProxyLogs {
            global,
            proxies: HashMap::new(),
            frontends: Default::default(),
        }
    }

    /// A proxy's targets (`log global` and/or its own lines; `no log` or no
    /// `log` line: [`Logger::disabled`]) and `log-tag`, for its events.
    pub fn add_proxy(&mut self, name: impl Into<String>, logger: Logger, tag: Option<String>) {
        self.proxies.insert(name.into(), ProxyLog { logger, tag });
    }

    /// A frontend's session logger (sessions of other frontends are not
    /// logged).
    pub fn add_frontend(&mut self, name: impl Into<String>, log: FrontendLog) {
        self.frontends.insert(name.into(), log);
    }

    /// The global targets.
    pub fn global(&self) -> &Logger {
        &self.global
    }

    /// A process-wide event (§3.1: global servers "receive logs for starts
    /// and exits"), e.g. [`super::events::soft_stop_scheduled`].
    pub fn event(&self, level: Level, text: &str) {
        self.global.send(level, text);
    }

    /// An event about proxy `name` ("Proxy X stopped ...", "Paused proxy
    /// X."), sent to its targets with its `log-tag`; to the global targets
    /// if the proxy is unknown.
    pub fn proxy_event(&self, name: &str, level: Level, text: &str) {
        match self.proxies.get(name) {
            Some(p) => p.logger.send_tagged(level, p.tag.as_deref(), text),
            None => self.global.send(level, text),
        }
    }

    /// A health-check line about a server of backend `backend` (§4.2: "In
    /// the backend, logs about servers up/down will use this tag").
    pub fn proxy_check_line(&self, backend: &str, line: &LogLine) {
        self.proxy_event(backend, line.severity.into(), &line.text);
    }

    /// Waits for the stdout/stderr/fd writers of every logger, at most
    /// `timeout` each (see [`Logger::flush`]).
    pub fn flush(&self, timeout: std::time::Duration) -> bool {
        let mut ok = self.global.flush(timeout);
        for p in self.proxies.values() {
            ok &= p.logger.flush(timeout);
        }
        for f in self.frontends.values() {
            ok &= f.logger().flush(timeout);
        }
        ok
    }
}

impl SessionLogger for ProxyLogs {
    fn log(&self, record: &SessionRecord) {
        if let Some(f) = self.frontends.get(&*record.frontend) {
            f.log(record);
        }
    }

    fn wants_request_line(&self, frontend: &str) -> bool {
        self.frontends
            .get(frontend)
            .is_some_and(|f| f.wants_request_line(frontend))
    }

    fn conn_error(&self, e: &haproxide_forward::ConnError<'_>) {
        if let Some(f) = self.frontends.get(e.frontend) {
            f.conn_error(e);
        }
    }
}
