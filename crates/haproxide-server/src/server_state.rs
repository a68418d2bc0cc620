//! Loading server states at start-up (configuration.txt §3.1 `server-state-file`,
//! `server-state-base`; §4.2 `load-server-state-from-file`,
//! `server-state-file-name`; management.txt §9.3 `show servers state`), so that a
//! reload keeps what the previous process knew: a server DOWN stays DOWN until its
//! checks bring it back, one in maintenance or drain stays so, and a weight set at
//! run time is kept while the configured weight is unchanged.
//!
//! The file is what `show servers state` prints (format version 1):
//!
//! ```text
//! 1
//! # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight ...
//! 3 be1 1 s1 127.0.0.1 0 1 1 1 12 8 2 0 14 0 0 0 - 18901 - 0 0 - - 0
//! ```
//!
//! Applied as HAProxy 2.6 does (src/server_state.c): lines are matched by backend
//! and server name (a backend renamed but with a forced `id` still matches); the
//! operational state sets the check counter (0 when STOPPED, fully up when
//! RUNNING); forced maintenance and forced drain are restored; `srv_uweight` is
//! restored only when `srv_iweight` equals the configured weight; a check or
//! agent disabled with `disable health|agent` stays disabled. A file that cannot
//! be read or whose version is not 1 gives a warning with HAProxy's wording and
//! nothing is applied from it.

use std::collections::HashMap;
use std::path::Path;

use haproxide_check::checker::HealthView;
use haproxide_check::state::OpState;

use crate::admin_plan::StateSource;
use crate::translate::Plan;

/// `SRV_ADMF_FMAINT`, `SRV_ADMF_FDRAIN` (HAProxy's include/haproxy/server-t.h).
const ADMF_FMAINT: u32 = 0x01;
const ADMF_FDRAIN: u32 = 0x08;
/// `CHK_ST_CONFIGURED`, `CHK_ST_ENABLED` (include/haproxy/check-t.h).
const CHK_ST_CONFIGURED: u32 = 0x02;
const CHK_ST_ENABLED: u32 = 0x04;

/// One parsed state line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLine {
    pub be_id: u32,
    pub be_name: String,
    pub srv_name: String,
    pub op_state: u32,
    pub admin_state: u32,
    pub uweight: u32,
    pub iweight: u32,
    pub check_state: u32,
    pub agent_state: u32,
    pub bk_forced_id: bool,
}

/// Why a state file gives nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateFileError {
    /// No readable first line with version 1.
    Version,
    /// A line with the wrong number of fields or a bad number (1-based line).
    Corrupted(usize),
}

/// Parses a state file's text (version 1). Comment and empty lines are skipped.
pub fn parse(text: &str) -> Result<Vec<StateLine>, StateFileError> {
    let mut lines = text.lines();
    let version = lines.next().map(str::trim);
    if version != Some("1") {
        return Err(StateFileError::Version);
    }
    let mut out = Vec::new();
    for (i, l) in lines.enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split_ascii_whitespace().collect();
        // Version 1 has 20 to 25 fields depending on the HAProxy release.
        if !(20..=25).contains(&f.len()) {
            return Err(StateFileError::Corrupted(i + 2));
        }
        let n = |k: usize| -> Result<u32, StateFileError> {
            f[k].parse().map_err(|_| StateFileError::Corrupted(i + 2))
        };
        out.push(StateLine {
            be_id: n(0)?,
            be_name: f[1].to_string(),
            srv_name: f[3].to_string(),
            op_state: n(5)?,
            admin_state: n(6)?,
            uweight: n(7)?,
            iweight: n(8)?,
            check_state: n(13)?,
            agent_state: n(14)?,
            bk_forced_id: n(15)? & 1 == 1,
        });
    }
    Ok(out)
}

/// Applies the states of every backend that asks for them
/// (`load-server-state-from-file global|local`) to the checker's servers, before
/// the first check. Returns HAProxy's warnings for what could not be applied.
pub fn apply(plan: &Plan, view: &HealthView) -> Vec<String> {
    let mut warnings = Vec::new();
    let wants_global = plan
        .proxies
        .iter()
        .any(|p| p.backend.is_some() && p.state_from == StateSource::Global);
    let global: Option<Vec<StateLine>> = match (&plan.admin.state_file, wants_global) {
        (Some(path), true) => match read(path) {
            Ok(l) => Some(l),
            Err(e) => {
                warnings.push(match e {
                    ReadError::Open(err) => format!(
                        "config: Can't open global server state file '{}': {err}",
                        path.display()
                    ),
                    ReadError::Parse(StateFileError::Version) => format!(
                        "config: Can't get version of the global server state file '{}'.",
                        path.display()
                    ),
                    ReadError::Parse(StateFileError::Corrupted(n)) => format!(
                        "config: corrupted global server state file '{}' at line {n}.",
                        path.display()
                    ),
                });
                None
            }
        },
        _ => None,
    };
    for p in &plan.proxies {
        let Some(bi) = p.backend else { continue };
        let Some(be) = plan.engine.backends.get(bi) else {
            continue;
        };
        let lines: Vec<StateLine> = match &p.state_from {
            StateSource::None => continue,
            StateSource::Global => match &global {
                Some(g) => g.iter().filter(|l| l.be_name == p.name).cloned().collect(),
                None => continue,
            },
            StateSource::Local(path) => match read(path) {
                Ok(all) => all
                    .into_iter()
                    .filter(|l| l.be_name == p.name || (l.be_id == p.iid && l.bk_forced_id))
                    .collect(),
                Err(ReadError::Open(err)) => {
                    warnings.push(format!(
                        "Proxy '{}': Can't open server state file '{}': {err}.",
                        p.name,
                        path.display()
                    ));
                    continue;
                }
                Err(ReadError::Parse(StateFileError::Version)) => {
                    warnings.push(format!(
                        "Proxy '{}': Can't get version of the server state file '{}'.",
                        p.name,
                        path.display()
                    ));
                    continue;
                }
                Err(ReadError::Parse(StateFileError::Corrupted(n))) => {
                    warnings.push(format!(
                        "Proxy '{}': corrupted server state file '{}' at line {n}.",
                        p.name,
                        path.display()
                    ));
                    continue;
                }
            },
        };
        let mut by_server: HashMap<&str, &StateLine> = HashMap::new();
        for l in &lines {
            // A duplicate is dropped, as HAProxy's tree keeps the first.
            by_server.entry(l.srv_name.as_str()).or_insert(l);
        }
        for srv in &be.servers {
            let Some(line) = by_server.remove(srv.name.as_str()) else {
                continue;
            };
            let Some(id) = view.id(&be.name, &srv.name) else {
                continue;
            };
            apply_line(view, id, line, srv.weight);
        }
        if matches!(p.state_from, StateSource::Local(_)) {
            for name in by_server.keys() {
                warnings.push(format!(
                    "Proxy '{}': can't find server '{name}' in backend '{}'",
                    p.name, p.name
                ));
            }
        }
    }
    warnings
}

fn apply_line(
    view: &HealthView,
    id: haproxide_check::checker::ServerId,
    l: &StateLine,
    iweight: u32,
) {
    // A tracking server takes its state from the tracked one.
    if !view.is_tracking(id) {
        match l.op_state {
            0 | 1 => view.force_health(id, OpState::Stopped),
            2 => view.force_health(id, OpState::Running),
            3 => view.force_health(id, OpState::Stopping),
            _ => {}
        }
    }
    if l.admin_state & ADMF_FMAINT != 0 {
        view.set_maint(id, true);
    } else if l.admin_state & ADMF_FDRAIN != 0 && (l.iweight > 0 || iweight == 0) {
        view.set_drain(id, true);
    }
    if l.iweight == iweight {
        view.set_weight(id, l.uweight);
    }
    let disabled = |st: u32| st & CHK_ST_CONFIGURED != 0 && st & CHK_ST_ENABLED == 0;
    if disabled(l.check_state) {
        view.set_check_enabled(id, false);
    }
    if disabled(l.agent_state) {
        view.set_agent_enabled(id, false);
    }
}

enum ReadError {
    Open(String),
    Parse(StateFileError),
}

fn read(path: &Path) -> Result<Vec<StateLine>, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|e| ReadError::Open(strerror(&e)))?;
    parse(&text).map_err(ReadError::Parse)
}

/// The C library's text for an I/O error ("No such file or directory").
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n3 be1 1 s1 127.0.0.1 0 1 1 1 3 8 2 0 14 0 0 0 - 18901 - 0 0 - - 0\n3 be1 2 s2 127.0.0.1 2 8 3 5 3 1 0 2 2 0 0 0 - 18902 - 0 0 - - 0\n";

    #[test]
    fn parses_show_servers_state_output() {
        let l = parse(SAMPLE).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(
            (
                l[0].be_name.as_str(),
                l[0].srv_name.as_str(),
                l[0].op_state,
                l[0].admin_state
            ),
            ("be1", "s1", 0, ADMF_FMAINT)
        );
        assert_eq!((l[1].uweight, l[1].iweight, l[1].check_state), (3, 5, 2));
    }

    #[test]
    fn refuses_wrong_version_and_corrupted_lines() {
        assert_eq!(parse("2\n"), Err(StateFileError::Version));
        assert_eq!(parse(""), Err(StateFileError::Version));
        assert_eq!(
            parse("1\n# header\n3 be1 1 s1\n"),
            Err(StateFileError::Corrupted(3))
        );
        let bad = SAMPLE.replace("3 be1 1 s1 127.0.0.1 0", "3 be1 1 s1 127.0.0.1 x");
        assert_eq!(parse(&bad), Err(StateFileError::Corrupted(3)));
    }

    #[test]
    fn strerror_drops_the_os_error_suffix() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(strerror(&e), "No such file or directory");
    }
}
