//! Helpers for the [`RuntimeState`](super::RuntimeState) implementation: a server
//! row from `haproxide-check`'s [`ServerStats`] and the admin state the run loop
//! keeps.

use std::net::SocketAddr;

use haproxide_check::checker::ServerStats;

use super::{
    check_status_code, AgentSnapshot, CheckSnapshot, OpState, ServerSnapshot, TrafficCounters,
};

/// What the run loop knows about one server besides the checker's view.
#[derive(Debug, Clone)]
pub struct ServerFacts<'a> {
    pub name: &'a str,
    /// HAProxy's `sid` (`id` keyword or position from 1).
    pub sid: u32,
    pub addr: SocketAddr,
    pub backup: bool,
    /// Configured weight.
    pub iweight: u32,
    /// Current weight (after `set weight`).
    pub weight: u32,
    pub maxconn: u64,
    /// `disable server` / `state maint`.
    pub maint: bool,
    /// `state drain`.
    pub drain: bool,
    /// `check` on the server line.
    pub check_configured: bool,
    /// Not turned off by `disable health`.
    pub check_enabled: bool,
    /// `last_chk` text ("Connection refused", empty after a plain L4OK).
    pub last_chk: &'a str,
    pub counters: TrafficCounters,
    /// `agent-check` on the server line.
    pub agent_configured: bool,
    /// Not turned off by `disable agent`.
    pub agent_enabled: bool,
    pub agent_port: u16,
}

/// HAProxy's description of a check status (`check_desc`, `agent_desc`).
/// "Layer4 check passed" and "Layer4 connection problem" are checked against
/// HAProxy's output; the others are its texts as documented.
pub fn status_description(status: &str) -> &'static str {
    match status.trim_start_matches("* ") {
        "UNK" => "Unknown",
        "INI" => "Initializing",
        "SOCKERR" => "Socket error",
        "L4OK" => "Layer4 check passed",
        "L4TOUT" => "Layer4 timeout",
        "L4CON" => "Layer4 connection problem",
        "L6OK" => "Layer6 check passed",
        "L6TOUT" => "Layer6 timeout",
        "L6RSP" => "Layer6 invalid response",
        "L7TOUT" => "Layer7 timeout",
        "L7RSP" => "Layer7 invalid response",
        "L7OK" => "Layer7 check passed",
        "L7OKC" => "Layer7 check conditionally passed",
        "L7STS" => "Layer7 wrong status",
        "PROCERR" => "External check error",
        "PROCTOUT" => "External check timeout",
        "PROCOK" => "External check passed",
        "HANA" => "Health analyze",
        _ => "",
    }
}

/// HAProxy's operational state for a `show stat` status text.
pub fn op_state_of(status: &str) -> OpState {
    if status.starts_with("DOWN") || status == "MAINT" || status.starts_with("MAINT") {
        OpState::Stopped
    } else if status.starts_with("NOLB") {
        OpState::Stopping
    } else {
        OpState::Running
    }
}

/// HAProxy's CHK_RES_* for a check status name.
pub fn check_result_of(status: &str) -> u32 {
    match status.trim_start_matches("* ") {
        "" | "UNK" | "INI" => 0,
        "L4OK" | "L6OK" | "L7OK" | "PROCOK" => 3,
        "L7OKC" => 4,
        _ => 2,
    }
}

/// The status text HAProxy shows for the admin flags over the health status.
fn shown_status(st: Option<&ServerStats>, maint: bool, drain: bool) -> String {
    if maint {
        return "MAINT".into();
    }
    let health = st.map_or("no check", |s| s.status.as_str());
    if drain && !health.starts_with("DOWN") {
        // "DRAIN (agent)" as the checker words it, else "DRAIN".
        return if health.starts_with("DRAIN") {
            health
        } else {
            "DRAIN"
        }
        .into();
    }
    health.to_string()
}

/// A `show stat` / `show servers state` server from the checker's view (`None`
/// for a server without `check`). The checker's own status text is used unless
/// the admin flags override it ("MAINT", "DRAIN" as HAProxy shows them).
pub fn server_snapshot(f: &ServerFacts<'_>, st: Option<&ServerStats>) -> ServerSnapshot {
    let status = shown_status(st, f.maint, f.drain);
    let op_state = op_state_of(&status);
    let check = match st {
        Some(s) if f.check_configured && f.check_enabled => Some(CheckSnapshot {
            status: s.check_status.clone(),
            code: s.check_code,
            duration_ms: s
                .check_duration_ms
                .map(|d| u64::try_from(d).unwrap_or(u64::MAX)),
            last_chk: f.last_chk.to_string(),
            desc: s.check_desc.clone(),
            rise: s.check_rise,
            fall: s.check_fall,
            health: s.check_health,
            chkfail: s.chkfail,
            chkdown: s.chkdown,
            downtime: s.downtime,
        }),
        _ => None,
    };
    let agent = match st {
        Some(s) if f.agent_configured && f.agent_enabled => Some(AgentSnapshot {
            status: s.agent_status.clone(),
            code: s.agent_code,
            duration_ms: s
                .agent_duration_ms
                .map(|d| u64::try_from(d).unwrap_or(u64::MAX)),
            last_agt: s.agent_desc.clone(),
            desc: status_description(&s.agent_status).to_string(),
            rise: s.agent_rise,
            fall: s.agent_fall,
            health: s.agent_health,
        }),
        _ => None,
    };
    let check_status = st.map_or("INI", |s| s.check_status.as_str());
    let check_health = match st {
        // The checker keeps HAProxy's counter for servers without check too.
        Some(s) => s.check_health,
        // HAProxy keeps a checkless server's health at its rise (2) while up.
        _ if op_state == OpState::Stopped => 0,
        _ => 2,
    };
    ServerSnapshot {
        name: f.name.to_string(),
        sid: f.sid,
        forced_id: false,
        host: f.addr.ip().to_string(),
        port: f.addr.port(),
        status,
        op_state,
        maint: f.maint,
        drain: f.drain,
        backup: f.backup,
        weight: f.weight,
        iweight: f.iweight,
        maxconn: f.maxconn,
        counters: f.counters.clone(),
        lastchg: st.map_or(0, |s| s.lastchg),
        check,
        check_configured: f.check_configured,
        check_enabled: f.check_configured && f.check_enabled,
        check_status_code: Some(if f.check_configured {
            check_status_code(check_status)
        } else {
            1
        }),
        check_result: if f.check_configured {
            check_result_of(check_status)
        } else {
            0
        },
        check_health,
        need_conn_est: 0,
        conn: Default::default(),
        agent,
        agent_configured: f.agent_configured,
        agent_enabled: f.agent_configured && f.agent_enabled,
        agent_port: f.agent_port,
        http: None,
        resolution: None,
        admin_flags: None,
    }
}
