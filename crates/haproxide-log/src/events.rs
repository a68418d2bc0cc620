//! Process and proxy event texts with their severities, worded as HAProxy
//! 2.6.12 sends them (verified on the wire: soft stop with and without
//! `grace`, `hard-stop-after`, SIGTTOU/SIGTTIN). Server state changes come
//! from `haproxide-check::log` ([`super::Logger::check_line`]).
//!
//! HAProxy 2.6 sends nothing when proxies start, nor on a hard stop
//! (SIGTERM/SIGINT); it sends the global events ([`soft_stop_scheduled`],
//! [`grace_expired`], [`hard_stop_forced`]) to the global targets and the
//! proxy events to each proxy's targets with the proxy's `log-tag`.
//! HAProxy also prints each of them on stderr (see [`console_line`]).

use super::target::Level;

/// What a proxy section is, as HAProxy names it in event texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// `listen`: "proxy".
    Listen,
    /// `frontend`: "frontend".
    Frontend,
    /// `backend`: "backend".
    Backend,
}

impl ProxyKind {
    /// The word in "Paused proxy X." / "Paused frontend X.".
    pub fn word(self) -> &'static str {
        match self {
            ProxyKind::Listen => "proxy",
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
        }
    }
}

/// "Proxy X stopped (cumulated conns: FE: n, BE: m)." at WARNING, once per
/// proxy when a soft stop (SIGUSR1, §3.1 `hard-stop-after`) closes its
/// listeners. `fe`/`be`: total sessions accepted as frontend / handled as
/// backend since start.
pub fn proxy_stopped(name: &str, fe: u64, be: u64) -> (Level, String) {
    (
        Level::Warning,
        format!("Proxy {name} stopped (cumulated conns: FE: {fe}, BE: {be})."),
    )
}

/// "Paused proxy X." at WARNING (SIGTTOU; listeners paused).
pub fn proxy_paused(kind: ProxyKind, name: &str) -> (Level, String) {
    (Level::Warning, format!("Paused {} {name}.", kind.word()))
}

/// "Resumed proxy X." at WARNING (SIGTTIN).
pub fn proxy_resumed(kind: ProxyKind, name: &str) -> (Level, String) {
    (Level::Warning, format!("Resumed {} {name}.", kind.word()))
}

/// "Scheduling a soft-stop in N ms." at WARNING: soft stop with global
/// `grace N` (§3.2 `grace`).
pub fn soft_stop_scheduled(grace_ms: u64) -> (Level, String) {
    (
        Level::Warning,
        format!("Scheduling a soft-stop in {grace_ms} ms."),
    )
}

/// "Grace period expired, proceeding with soft-stop now." at NOTICE.
pub fn grace_expired() -> (Level, String) {
    (
        Level::Notice,
        "Grace period expired, proceeding with soft-stop now.".to_string(),
    )
}

/// "soft-stop running for too long, performing a hard-stop." at WARNING,
/// when `hard-stop-after` fires (§3.1 `hard-stop-after`).
pub fn hard_stop_forced() -> (Level, String) {
    (
        Level::Warning,
        "soft-stop running for too long, performing a hard-stop.".to_string(),
    )
}

/// "Proxy X hard-stopped (N remaining conns will be closed)." at WARNING,
/// for each proxy with sessions left when `hard-stop-after` fires.
pub fn proxy_hard_stopped(name: &str, remaining: u64) -> (Level, String) {
    (
        Level::Warning,
        format!("Proxy {name} hard-stopped ({remaining} remaining conns will be closed)."),
    )
}

/// HAProxy's stderr form of a message: `[WARNING]  (1234) : text`, the
/// bracketed label padded to 10 columns (`[NOTICE]   `, `[ALERT]    `).
/// Levels map as HAProxy's `ha_alert`/`ha_warning`/`ha_notice`: emerg to
/// err → ALERT, warning → WARNING, others → NOTICE.
pub fn console_line(level: Level, pid: u32, text: &str) -> String {
    let label = match level {
        Level::Emerg | Level::Alert | Level::Crit | Level::Err => "[ALERT]",
        Level::Warning => "[WARNING]",
        Level::Notice | Level::Info | Level::Debug => "[NOTICE]",
    };
    format!("{label:<10} ({pid}) : {text}")
}
