//! Server state: operational state driven by checks, kept apart from the
//! administrative state (maint, drain) and from tracking
//! (configuration.txt §5.2 `check`, `track`, `agent-check`; management.txt
//! §9.3 `set server ... state`).
//!
//! Sans-IO: [`ServerState`] consumes check results and tracked-server changes
//! and returns the [`Event`]s to publish and log; it never reads a clock
//! itself (callers pass `now`, seconds since an arbitrary epoch).

use crate::health::{Health, Verdict};
use crate::log::ServerName;
use crate::probe::agent::{AgentAdmin, AgentHealth, AgentReply};
use crate::spec::{AgentSpec, CheckSpec, InitState};
use crate::status::{CheckResult, CheckStatus};

/// Operational state (HAProxy's `SRV_ST_*`; slow-start `STARTING` is folded
/// into `Running` because this crate does not implement `slowstart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpState {
    /// DOWN.
    Stopped,
    /// UP.
    Running,
    /// UP but not taking new load-balanced traffic (NOLB), e.g. 404 with
    /// `http-check disable-on-404`.
    Stopping,
}

/// Administrative state, independent of what checks say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AdminState {
    /// Maintenance (`disabled` keyword, CLI `set server state maint`, agent
    /// `maint`): no traffic, checks paused.
    pub maint: bool,
    /// Drain (CLI `set server state drain`, agent `drain` sets weight 0): no
    /// new load-balanced traffic, persistent sessions still served.
    pub drain: bool,
    /// Maintenance for want of an address (`init-addr ...,none` with a name that
    /// did not resolve: HAProxy's RMAINT, "MAINT (resolution)"); `enable server`
    /// does not clear it. Part of `maint`.
    pub resolution: bool,
    /// Maintenance forced on this server (HAProxy's FMAINT). Part of `maint`.
    pub forced: bool,
    /// Maintenance inherited from the tracked server (HAProxy's IMAINT, "MAINT (via
    /// be/srv)"). Part of `maint`.
    pub inherited: bool,
}

/// Which check produced a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// The health check (`check`).
    Health,
    /// The agent check (`agent-check`).
    Agent,
}

/// A change of operational or administrative state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Server.
    pub server: ServerName,
    /// Before.
    pub from: OpState,
    /// After.
    pub to: OpState,
    /// The check result that caused it, if any.
    pub cause: Option<CheckResult>,
}

/// What the caller must do after feeding a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// With `option log-health-checks`: log a "Health check for server ..."
    /// line for this result (status changed or counter moved).
    CheckReport {
        /// Which check.
        kind: CheckKind,
        /// The result.
        result: CheckResult,
        /// The counter after the result.
        health: Health,
    },
    /// The operational state changed.
    Changed(Transition),
    /// The agent asked for a new weight (percentage of the configured one).
    Weight {
        /// Percent of the configured weight.
        pct: u32,
        /// The server was usable before the change.
        was_usable: bool,
    },
    /// An administrative change (maintenance, drain), with the operational
    /// change it caused, if any. HAProxy logs these with their own wording.
    Admin {
        /// What changed.
        change: AdminChange,
        /// The server was usable before.
        was_usable: bool,
        /// The server was stopping or draining before (lowers the severity
        /// of "going DOWN for maintenance" to NOTICE).
        was_stopping: bool,
        /// The resulting operational change.
        transition: Option<Transition>,
    },
}

/// Administrative changes (management.txt §9.3 `set server ... state`, agent
/// `drain`/`maint`/`ready`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminChange {
    /// Enters maintenance.
    EnterMaint,
    /// Leaves maintenance.
    LeaveMaint,
    /// Enters maintenance because the tracked server did (HAProxy's IMAINT).
    EnterMaintVia,
    /// Leaves the maintenance inherited from the tracked server.
    LeaveMaintVia,
    /// Enters drain.
    EnterDrain,
    /// Leaves drain.
    LeaveDrain,
}

/// `show stat` fields derived from checks (management.txt §9.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatFields {
    /// `chkfail`: failed checks (only counted while the server was up-ish,
    /// i.e. while the counter could still decrease).
    pub chkfail: u64,
    /// `chkdown`: UP→DOWN transitions.
    pub chkdown: u64,
    /// `lastchg`: time of the last state change (caller's seconds).
    pub last_change: u64,
    /// `downtime`: total seconds spent DOWN, not counting the current period.
    pub downtime: u64,
}

/// The state of one server as far as checks and administration go.
#[derive(Debug, Clone)]
pub struct ServerState {
    name: ServerName,
    check: Option<Health>,
    agent: Option<Health>,
    check_status: CheckStatus,
    agent_status: CheckStatus,
    last_check: Option<CheckResult>,
    last_agent: Option<CheckResult>,
    op: OpState,
    admin: AdminState,
    /// Maintenance forced here (`disable server`, `disabled`, agent `maint`) and
    /// inherited from the tracked server (HAProxy's FMAINT and IMAINT):
    /// `admin.maint` is their OR.
    fmaint: bool,
    imaint: bool,
    rmaint: bool,
    log_health_checks: bool,
    /// `track`: the tracked server and its last known state.
    tracked: Option<(ServerName, OpState)>,
    stats: StatFields,
    /// Configured weight (`weight`, HAProxy's `iweight`).
    iweight: u32,
    /// Current weight (`uweight`), changed by the agent's `N%`.
    uweight: u32,
    /// Without a check, HAProxy still keeps a check counter that `show servers
    /// state` prints: `rise` (2) at start, 0 once in maintenance or forced DOWN,
    /// `rise + fall - 1` (4) when forced UP.
    nocheck_health: u32,
    /// [`CheckSpec::hold_first`].
    hold_first: bool,
}

impl ServerState {
    /// A server with an optional health check and agent check. Without any
    /// check and not tracking, a server is simply UP (configuration.txt §5.2
    /// `check`: "the server is always considered available").
    pub fn new(name: ServerName, check: Option<&CheckSpec>, agent: Option<&AgentSpec>) -> Self {
        let health = check.map(|c| Health::new(c.rise, c.fall, c.init_state));
        let agent = agent.map(|a| Health::new(a.rise, a.fall, InitState::None));
        let op = match &health {
            Some(h) if !h.is_up() => OpState::Stopped,
            _ => OpState::Running,
        };
        Self {
            name,
            check: health,
            agent,
            check_status: CheckStatus::Init,
            agent_status: CheckStatus::Init,
            last_check: None,
            last_agent: None,
            op,
            admin: AdminState::default(),
            fmaint: false,
            imaint: false,
            rmaint: false,
            log_health_checks: check.is_some_and(|c| c.log_health_checks),
            tracked: None,
            stats: StatFields::default(),
            iweight: 1,
            uweight: 1,
            nocheck_health: 2,
            hold_first: check.is_some_and(|c| c.hold_first),
        }
    }

    /// Sets the counter `show servers state` prints for a server without a check:
    /// HAProxy starts it at the server's `rise` (default 2).
    pub fn with_nocheck_rise(mut self, rise: u32) -> Self {
        if self.check.is_none() {
            self.nocheck_health = rise.max(1);
        }
        self
    }

    /// Makes this server follow `target` (configuration.txt §5.2 `track`):
    /// it goes DOWN when the tracked server does and may come UP only when it
    /// is up.
    pub fn track(mut self, target: ServerName, target_state: OpState) -> Self {
        if target_state == OpState::Stopped {
            self.op = OpState::Stopped;
        }
        self.tracked = Some((target, target_state));
        self
    }

    /// Sets the configured weight (`weight`, default 1).
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.iweight = weight;
        self.uweight = weight;
        self
    }

    /// Current weight; 0 means the server takes no load-balanced traffic and
    /// logs show "DRAIN" as its status word.
    pub fn weight(&self) -> u32 {
        self.uweight
    }

    /// Server name.
    pub fn name(&self) -> &ServerName {
        &self.name
    }
    /// Operational state.
    pub fn op_state(&self) -> OpState {
        self.op
    }
    /// Administrative state.
    pub fn admin(&self) -> AdminState {
        self.admin
    }
    /// Health-check counter.
    pub fn check_health(&self) -> Option<&Health> {
        self.check.as_ref()
    }
    /// The counter HAProxy keeps for a server without a check (see the field).
    pub fn nocheck_health(&self) -> u32 {
        self.nocheck_health
    }
    /// Agent counter.
    pub fn agent_health(&self) -> Option<&Health> {
        self.agent.as_ref()
    }
    /// Last health-check result (`check_status`, `check_code`,
    /// `check_duration`, `last_chk` in `show stat`).
    pub fn last_check(&self) -> Option<&CheckResult> {
        self.last_check.as_ref()
    }
    /// Current health-check status (`INI` before the first result).
    pub fn check_status(&self) -> CheckStatus {
        self.check_status
    }
    /// Last agent result (`agent_status`, `agent_code`, `agent_duration`,
    /// `last_agt` in `show stat`).
    pub fn last_agent(&self) -> Option<&CheckResult> {
        self.last_agent.as_ref()
    }
    /// Current agent status (`INI` before the first reply).
    pub fn agent_status(&self) -> CheckStatus {
        self.agent_status
    }
    /// Stat counters.
    pub fn stats(&self) -> &StatFields {
        &self.stats
    }

    /// May the forwarder send new load-balanced connections here? UP,
    /// not stopping, not in maintenance or drain, weight above 0.
    pub fn usable(&self) -> bool {
        self.eligible() && !self.held()
    }

    /// HAProxy's view of [`Self::usable`]: without haproxide's hold before the first
    /// check ([`CheckSpec::hold_first`]). Counts in log lines ("N active servers")
    /// use it, as HAProxy counts a server that has not been checked yet.
    pub fn eligible(&self) -> bool {
        self.op == OpState::Running && !self.admin.maint && !self.admin.drain && self.uweight > 0
    }

    /// UP for HAProxy but held until its first check result.
    fn held(&self) -> bool {
        self.hold_first && self.check.is_some() && self.last_check.is_none()
    }

    /// Is the server up at all (including stopping/drain, which still serve
    /// persistent sessions), and not in maintenance?
    pub fn is_up(&self) -> bool {
        self.op != OpState::Stopped && !self.admin.maint
    }

    /// Is the server DOWN only because its health check has not given a first result
    /// yet (it starts DOWN: `init-state down`, haproxide's default for checked
    /// servers), so that it may come UP within `inter`? Not in maintenance.
    pub fn awaiting_first_check(&self) -> bool {
        self.check.is_some()
            && self.last_check.is_none()
            && (self.op == OpState::Stopped || self.hold_first)
            && !self.admin.maint
    }

    /// Is the health check running (not paused by maintenance)?
    pub fn checks_active(&self) -> bool {
        !self.admin.maint
    }

    fn set_op(&mut self, to: OpState, cause: Option<CheckResult>, now: u64, out: &mut Vec<Event>) {
        if self.op == to {
            return;
        }
        let from = self.op;
        if from == OpState::Stopped {
            self.stats.downtime += now.saturating_sub(self.stats.last_change);
        }
        if to == OpState::Stopped {
            self.stats.chkdown += 1;
        }
        self.stats.last_change = now;
        self.op = to;
        out.push(Event::Changed(Transition {
            server: self.name.clone(),
            from,
            to,
            cause,
        }));
    }

    /// Feeds one finished check (src/check.c semantics of HAProxy 2.6):
    ///
    /// - the counter moves per [`Health::apply`]; an agent that could not be
    ///   reached (status below layer-7 data) does not count as a failure;
    /// - a failed check with the counter at 0 takes the server DOWN (an
    ///   agent only for `L7STS`: "down", "fail", "stopped");
    /// - a passed check takes it UP when every enabled check is up and the
    ///   tracked server is not down; a conditional pass (404 with
    ///   `disable-on-404`) puts it in stopping mode instead.
    ///
    /// In maintenance the counter still moves but the state does not change.
    ///
    /// A result carrying a [`CheckResult::followup`] is applied, then its
    /// follow-up (HAProxy's double report of some protocol checks).
    pub fn on_result(&mut self, kind: CheckKind, mut result: CheckResult, now: u64) -> Vec<Event> {
        let followup = result.followup.take();
        let mut out = self.apply_result(kind, result, now);
        if let Some(f) = followup {
            out.extend(self.on_result(kind, *f, now));
        }
        out
    }

    fn apply_result(&mut self, kind: CheckKind, result: CheckResult, now: u64) -> Vec<Event> {
        let mut out = Vec::new();
        let verdict = result.verdict();
        let (health, status_slot) = match kind {
            CheckKind::Health => (self.check.as_mut(), &mut self.check_status),
            CheckKind::Agent => (self.agent.as_mut(), &mut self.agent_status),
        };
        let Some(health) = health else {
            return out;
        };
        let prev_status = std::mem::replace(status_slot, result.status);
        if verdict == Verdict::Neutral {
            return out;
        }
        let counts = !(kind == CheckKind::Agent
            && verdict == Verdict::Failed
            && !result.status.is_l7_data());
        let moved = if counts {
            let ch = health.apply(verdict);
            if ch.moved && verdict == Verdict::Failed {
                self.stats.chkfail += 1;
            }
            ch.moved
        } else {
            false
        };
        let health_now = *health;
        match kind {
            CheckKind::Health => self.last_check = Some(result.clone()),
            CheckKind::Agent => self.last_agent = Some(result.clone()),
        }
        if self.log_health_checks && (prev_status != result.status || moved) {
            out.push(Event::CheckReport {
                kind,
                result: result.clone(),
                health: health_now,
            });
        }
        // In maintenance no new health check starts, but a result that lands
        // (a check in flight, the agent) still moves the counter and is
        // logged, as in HAProxy; only the operational state stays put.
        if self.admin.maint {
            return out;
        }
        match verdict {
            Verdict::Failed => {
                let agent_may_down =
                    kind == CheckKind::Health || result.status == CheckStatus::L7Sts;
                if agent_may_down && health_now.is_fully_down() {
                    self.set_op(OpState::Stopped, Some(result), now, &mut out);
                }
            }
            Verdict::Passed => {
                if self.all_checks_up()
                    && !(kind == CheckKind::Agent && self.op == OpState::Stopping)
                {
                    self.set_op(OpState::Running, Some(result), now, &mut out);
                }
            }
            Verdict::CondPassed => {
                if kind == CheckKind::Health && self.all_checks_up() {
                    self.set_op(OpState::Stopping, Some(result), now, &mut out);
                }
            }
            Verdict::Neutral => {}
        }
        out
    }

    fn all_checks_up(&self) -> bool {
        if let Some((_, OpState::Stopped)) = self.tracked {
            return false;
        }
        self.check.is_none_or(|h| h.is_up()) && self.agent.is_none_or(|h| h.is_up())
    }

    /// The tracked server changed state (configuration.txt §5.2 `track`).
    pub fn on_tracked(&mut self, state: OpState, now: u64) -> Vec<Event> {
        let mut out = Vec::new();
        let Some((_, s)) = self.tracked.as_mut() else {
            return out;
        };
        *s = state;
        if self.admin.maint {
            return out;
        }
        match state {
            OpState::Stopped => self.set_op(OpState::Stopped, None, now, &mut out),
            OpState::Running | OpState::Stopping => {
                if self.all_checks_up() {
                    self.set_op(state, None, now, &mut out);
                }
            }
        }
        out
    }

    /// The tracked server, if any.
    pub fn tracked(&self) -> Option<&ServerName> {
        self.tracked.as_ref().map(|(n, _)| n)
    }

    /// Enters or leaves maintenance (management.txt §9.3 `set server <srv>
    /// state maint|ready`). Entering forces the counters to 0 and the server
    /// DOWN; leaving resets the health counter to `rise` ("start OK but check
    /// immediately") and brings the server UP if the other conditions allow.
    pub fn set_maint(&mut self, maint: bool, now: u64) -> Vec<Event> {
        self.fmaint = maint;
        let change = if maint {
            AdminChange::EnterMaint
        } else {
            AdminChange::LeaveMaint
        };
        self.apply_maint(change, now)
    }

    /// The tracked server entered or left maintenance (configuration.txt §5.2
    /// `track`: a tracking server follows its maintenance too, logged "via").
    pub fn set_inherited_maint(&mut self, maint: bool, now: u64) -> Vec<Event> {
        self.imaint = maint;
        let change = if maint {
            AdminChange::EnterMaintVia
        } else {
            AdminChange::LeaveMaintVia
        };
        self.apply_maint(change, now)
    }

    /// The server has no address (HAProxy's RMAINT, set at start-up for
    /// `init-addr ...,none` when the name did not resolve).
    pub fn set_resolution_maint(&mut self, on: bool, now: u64) -> Vec<Event> {
        self.rmaint = on;
        self.admin.resolution = on;
        let change = if on {
            AdminChange::EnterMaint
        } else {
            AdminChange::LeaveMaint
        };
        self.apply_maint(change, now)
    }

    /// Moves `admin.maint` to `fmaint || imaint || rmaint`, reporting `change` if
    /// it moved.
    fn apply_maint(&mut self, change: AdminChange, now: u64) -> Vec<Event> {
        let maint = self.fmaint || self.imaint || self.rmaint;
        self.admin.forced = self.fmaint;
        self.admin.inherited = self.imaint;
        let mut changed = Vec::new();
        if self.admin.maint == maint {
            return changed;
        }
        let was_usable = self.usable();
        let was_stopping = self.op == OpState::Stopping || self.admin.drain;
        self.admin.maint = maint;
        let out = &mut changed;
        if maint {
            if let Some(h) = self.check.as_mut() {
                h.force_down();
            }
            self.nocheck_health = 0;
            self.set_op(OpState::Stopped, None, now, out);
        } else {
            if let Some(h) = self.check.as_mut() {
                h.reset_to_rise();
            }
            if self.all_checks_up() {
                let to = match self.tracked {
                    Some((_, OpState::Stopping)) => OpState::Stopping,
                    _ => OpState::Running,
                };
                self.set_op(to, None, now, out);
            }
        }
        let transition = changed.into_iter().find_map(|e| match e {
            Event::Changed(t) => Some(t),
            _ => None,
        });
        vec![Event::Admin {
            change,
            was_usable,
            was_stopping,
            transition,
        }]
    }

    /// Feeds an agent reply (configuration.txt §5.2 `agent-check`): the
    /// administrative word first (`drain`, `maint`, `ready`), then the weight,
    /// then the health word, which sets the agent counter directly (`up` fully
    /// up, `down`/`stopped`/`fail` fully down) before the result is applied.
    pub fn on_agent_reply(&mut self, reply: &AgentReply, now: u64) -> Vec<Event> {
        let mut out = self.agent_admin(reply.admin, now);
        if let Some(w) = reply.weight_pct {
            out.extend(self.set_weight_pct(w));
        }
        out.extend(self.agent_health_reply(reply, now));
        out
    }

    /// The administrative word of an agent reply (first step of
    /// [`ServerState::on_agent_reply`]): `drain`, `maint`, or `ready` (leaves
    /// both).
    pub fn agent_admin(&mut self, admin: Option<AgentAdmin>, now: u64) -> Vec<Event> {
        match admin {
            Some(AgentAdmin::Drain) => self.set_drain(true),
            Some(AgentAdmin::Maint) => self.set_maint(true, now),
            Some(AgentAdmin::Ready) => {
                let mut out = self.set_maint(false, now);
                out.extend(self.set_drain(false));
                out
            }
            None => Vec::new(),
        }
    }

    /// Sets the weight to `pct` percent of the configured weight (agent
    /// `N%`, management.txt §9.3 `set weight`), as HAProxy computes it:
    /// `weight * pct / 100`, so 50% of weight 1 is 0 (no traffic, "DRAIN").
    pub fn set_weight_pct(&mut self, pct: u32) -> Vec<Event> {
        let was_usable = self.usable();
        self.uweight = (u64::from(self.iweight) * u64::from(pct) / 100).min(256) as u32;
        vec![Event::Weight { pct, was_usable }]
    }

    /// The health word and result of an agent reply (last step of
    /// [`ServerState::on_agent_reply`]).
    pub fn agent_health_reply(&mut self, reply: &AgentReply, now: u64) -> Vec<Event> {
        if let Some(h) = self.agent.as_mut() {
            match reply.health {
                Some(AgentHealth::Up) => h.force_up(),
                Some(_) => h.force_down(),
                None => {}
            }
        }
        self.on_result(CheckKind::Agent, reply.result.clone(), now)
    }

    /// Forces the health-check result (management.txt §9.3 `set server <srv>
    /// health up|stopping|down`, and a `server-state-file` on start-up): the
    /// counter goes to fully up (`rise + fall - 1`) or to 0 and the operational
    /// state follows. A server without a check changes state too and keeps it,
    /// as in HAProxy (no check brings it back). In maintenance only the counter
    /// moves.
    pub fn force_health(&mut self, to: OpState, now: u64) -> Vec<Event> {
        let mut out = Vec::new();
        if let Some(h) = self.check.as_mut() {
            if to == OpState::Stopped {
                h.force_down();
            } else {
                h.force_up();
            }
        }
        self.nocheck_health = if to == OpState::Stopped { 0 } else { 4 };
        if !self.admin.maint {
            self.set_op(to, None, now, &mut out);
        }
        out
    }

    /// Forces the agent's result (management.txt §9.3 `set server <srv> agent
    /// up|down`): the agent counter goes fully up or to 0; down takes the
    /// server DOWN, up brings it UP when every other check allows it.
    pub fn force_agent(&mut self, up: bool, now: u64) -> Vec<Event> {
        let mut out = Vec::new();
        let Some(h) = self.agent.as_mut() else {
            return out;
        };
        if up {
            h.force_up();
        } else {
            h.force_down();
        }
        if self.admin.maint {
            return out;
        }
        if !up {
            self.set_op(OpState::Stopped, None, now, &mut out);
        } else if self.all_checks_up() {
            self.set_op(OpState::Running, None, now, &mut out);
        }
        out
    }

    /// Sets the current weight (management.txt §9.3 `set weight`, 0..=256).
    pub fn set_weight(&mut self, weight: u32) -> Vec<Event> {
        let was_usable = self.usable();
        self.uweight = weight.min(256);
        let pct = if self.iweight == 0 {
            0
        } else {
            u32::try_from(u64::from(self.uweight) * 100 / u64::from(self.iweight)).unwrap_or(0)
        };
        vec![Event::Weight { pct, was_usable }]
    }

    /// Sets or clears drain. Drain does not touch the operational state:
    /// checks go on and the server stays UP for persistent traffic.
    pub fn set_drain(&mut self, drain: bool) -> Vec<Event> {
        if self.admin.drain == drain {
            return Vec::new();
        }
        let was_usable = self.usable();
        let was_stopping = self.op == OpState::Stopping || self.admin.drain;
        self.admin.drain = drain;
        vec![Event::Admin {
            change: if drain {
                AdminChange::EnterDrain
            } else {
                AdminChange::LeaveDrain
            },
            was_usable,
            was_stopping,
            transition: None,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn res(s: CheckStatus) -> CheckResult {
        CheckResult::new(s, Duration::from_millis(1))
    }

    fn changes(ev: &[Event]) -> Vec<(OpState, OpState)> {
        ev.iter()
            .filter_map(|e| match e {
                Event::Changed(t)
                | Event::Admin {
                    transition: Some(t),
                    ..
                } => Some((t.from, t.to)),
                _ => None,
            })
            .collect()
    }

    fn srv(log: bool) -> ServerState {
        let spec = CheckSpec {
            log_health_checks: log,
            ..Default::default()
        };
        ServerState::new(ServerName::new("be", "s1"), Some(&spec), None)
    }

    #[test]
    fn first_failure_downs_then_rise_ups() {
        let mut s = srv(false);
        assert!(s.usable());
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Con), 10);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopped)]);
        assert_eq!(s.stats().chkdown, 1);
        assert_eq!(s.stats().chkfail, 1);
        assert!(changes(&s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 11)).is_empty());
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 15);
        assert_eq!(changes(&ev), [(OpState::Stopped, OpState::Running)]);
        assert_eq!(s.stats().downtime, 5);
        assert_eq!(s.stats().last_change, 15);
    }

    #[test]
    fn reports_only_with_log_health_checks_and_on_change() {
        let mut s = srv(true);
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 0);
        assert!(matches!(ev[0], Event::CheckReport { .. }));
        // fully up, same status: nothing to report
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 0);
        assert!(ev.is_empty());
        // a failure moves the counter: reported, still UP
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Con), 0);
        assert_eq!(ev.len(), 1);
        let mut q = srv(false);
        assert!(q
            .on_result(CheckKind::Health, res(CheckStatus::L4Ok), 0)
            .is_empty());
    }

    #[test]
    fn maint_is_separate_from_health() {
        let mut s = srv(false);
        s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 0);
        let ev = s.set_maint(true, 1);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopped)]);
        assert!(!s.usable() && !s.checks_active());
        // in maintenance a result moves the counter but not the state
        assert!(changes(&s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 2)).is_empty());
        assert_eq!(s.op_state(), OpState::Stopped);
        let ev = s.set_maint(false, 3);
        assert_eq!(changes(&ev), [(OpState::Stopped, OpState::Running)]);
        assert_eq!(s.check_health().map(|h| h.value()), Some(2));
        // one failure after maintenance takes it down again
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Con), 4);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopped)]);
    }

    #[test]
    fn drain_keeps_up_but_unusable() {
        let mut s = srv(false);
        s.set_drain(true);
        assert!(s.is_up() && !s.usable());
        assert_eq!(s.op_state(), OpState::Running);
        s.set_drain(false);
        assert!(s.usable());
    }

    #[test]
    fn disable_on_404_goes_stopping() {
        let mut s = srv(false);
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L7OkC), 0);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopping)]);
        assert!(s.is_up() && !s.usable());
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L7Ok), 0);
        assert_eq!(changes(&ev), [(OpState::Stopping, OpState::Running)]);
    }

    #[test]
    fn agent_connection_failure_does_not_down() {
        let spec = CheckSpec::default();
        let agent = AgentSpec {
            port: 1,
            ..Default::default()
        };
        let mut s = ServerState::new(ServerName::new("be", "s"), Some(&spec), Some(&agent));
        for _ in 0..5 {
            assert!(changes(&s.on_result(CheckKind::Agent, res(CheckStatus::L4Con), 0)).is_empty());
        }
        assert!(s.usable());
        let ev = s.on_result(CheckKind::Agent, res(CheckStatus::L7Sts).with_code(0), 0);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopped)]);
        // health check alone cannot bring it up while the agent says down
        s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 0);
        assert_eq!(s.op_state(), OpState::Stopped);
        // the agent's rise is 1 (HAProxy's DEF_AGENT_RISETIME)
        s.on_result(CheckKind::Agent, res(CheckStatus::L7Ok), 0);
        assert_eq!(s.op_state(), OpState::Running);
    }

    #[test]
    fn double_report_counts_twice() {
        let mut s = srv(true);
        s.on_result(CheckKind::Health, res(CheckStatus::L4Con), 0);
        assert_eq!(s.op_state(), OpState::Stopped);
        let r = res(CheckStatus::L7Ok)
            .with_desc("5.7.44-log")
            .reported_twice();
        let ev = s.on_result(CheckKind::Health, r, 1);
        assert_eq!(changes(&ev), [(OpState::Stopped, OpState::Running)]);
        let reports: Vec<String> = ev
            .iter()
            .filter_map(|e| match e {
                Event::CheckReport { result, .. } => Some(result.desc.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(reports, ["5.7.44-log", ""]);
        assert_eq!(s.last_check().map(|r| r.desc.as_str()), Some(""));
    }

    #[test]
    fn agent_replies() {
        use crate::probe::agent::parse_agent_line;
        let spec = CheckSpec::default();
        let agent = AgentSpec {
            port: 1,
            ..Default::default()
        };
        let mut s = ServerState::new(ServerName::new("be", "s"), Some(&spec), Some(&agent))
            .with_weight(100);
        let t = tokio::time::Instant::now();
        let ev = s.on_agent_reply(&parse_agent_line(b"down", t), 1);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopped)]);
        let ev = s.on_agent_reply(&parse_agent_line(b"up 50%", t), 2);
        assert!(ev.contains(&Event::Weight {
            pct: 50,
            was_usable: false
        }));
        assert_eq!(s.weight(), 50);
        assert_eq!(changes(&ev), [(OpState::Stopped, OpState::Running)]);
        s.on_agent_reply(&parse_agent_line(b"drain", t), 3);
        assert!(s.is_up() && !s.usable());
        let ev = s.on_agent_reply(&parse_agent_line(b"maint", t), 4);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopped)]);
        assert!(s.admin().maint);
        let ev = s.on_agent_reply(&parse_agent_line(b"ready", t), 5);
        assert_eq!(changes(&ev), [(OpState::Stopped, OpState::Running)]);
        assert!(s.usable());
    }

    #[test]
    fn track_follows_target() {
        let mut t = ServerState::new(ServerName::new("be", "s2"), None, None)
            .track(ServerName::new("be", "s1"), OpState::Running);
        assert!(t.usable());
        let ev = t.on_tracked(OpState::Stopped, 1);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopped)]);
        let ev = t.on_tracked(OpState::Running, 2);
        assert_eq!(changes(&ev), [(OpState::Stopped, OpState::Running)]);
        let t2 = ServerState::new(ServerName::new("be", "s3"), None, None)
            .track(ServerName::new("be", "s1"), OpState::Stopped);
        assert!(!t2.usable());
    }

    #[test]
    fn hold_first_reports_haproxys_state_but_routes_only_after_a_result() {
        let spec = CheckSpec {
            hold_first: true,
            log_health_checks: true,
            ..Default::default()
        };
        // Passed first check: UP all along (no transition, as HAProxy), usable after.
        let mut s = ServerState::new(ServerName::new("be", "s"), Some(&spec), None);
        assert_eq!(s.op_state(), OpState::Running);
        assert!(s.eligible() && !s.usable() && s.awaiting_first_check());
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 0);
        assert!(changes(&ev).is_empty(), "{ev:?}");
        assert!(s.usable() && !s.awaiting_first_check());
        // Failed first check: DOWN with a transition, as HAProxy logs it.
        let mut s = ServerState::new(ServerName::new("be", "s"), Some(&spec), None);
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Con), 0);
        assert_eq!(changes(&ev), [(OpState::Running, OpState::Stopped)]);
        assert!(!s.usable() && !s.awaiting_first_check());
        // Without a check the counter shown is `rise`.
        let t = ServerState::new(ServerName::new("be", "n"), None, None).with_nocheck_rise(1);
        assert_eq!(t.nocheck_health(), 1);
    }

    #[test]
    fn init_state_down_starts_stopped() {
        let spec = CheckSpec {
            init_state: InitState::Down,
            ..Default::default()
        };
        let mut s = ServerState::new(ServerName::new("be", "s"), Some(&spec), None);
        assert_eq!(s.op_state(), OpState::Stopped);
        let ev = s.on_result(CheckKind::Health, res(CheckStatus::L4Ok), 0);
        assert_eq!(changes(&ev), [(OpState::Stopped, OpState::Running)]);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Check(CheckStatus),
            Agent(CheckStatus),
            Maint(bool),
            Drain(bool),
        }

        fn op() -> impl Strategy<Value = Op> {
            let st = prop::sample::select(CheckStatus::ALL.to_vec());
            prop_oneof![
                4 => st.clone().prop_map(Op::Check),
                2 => st.prop_map(Op::Agent),
                1 => any::<bool>().prop_map(Op::Maint),
                1 => any::<bool>().prop_map(Op::Drain),
            ]
        }

        proptest! {
            /// Whatever happens: usable implies Running, not maint, not drain;
            /// maint implies DOWN; transitions chain (each `from` is the
            /// previous `to`) and never repeat a state; with only health
            /// checks, the state is DOWN exactly when the counter is below rise.
            #[test]
            fn server_state_invariants(rise in 1u32..5, fall in 1u32..5, ops in prop::collection::vec(op(), 0..80)) {
                let spec = CheckSpec { rise, fall, ..Default::default() };
                let agent = AgentSpec { port: 1, rise, fall, ..Default::default() };
                let mut s = ServerState::new(ServerName::new("b", "s"), Some(&spec), Some(&agent));
                let mut cur = s.op_state();
                let mut now = 0;
                for o in ops {
                    now += 1;
                    let ev = match o {
                        Op::Check(st) => s.on_result(CheckKind::Health, CheckResult::new(st, Duration::ZERO), now),
                        Op::Agent(st) => s.on_result(CheckKind::Agent, CheckResult::new(st, Duration::ZERO), now),
                        Op::Maint(m) => s.set_maint(m, now),
                        Op::Drain(d) => { s.set_drain(d); Vec::new() }
                    };
                    for (from, to) in changes(&ev) {
                        prop_assert_eq!(from, cur);
                        prop_assert_ne!(from, to);
                        cur = to;
                    }
                    prop_assert_eq!(cur, s.op_state());
                    if s.usable() {
                        prop_assert!(s.op_state() == OpState::Running && !s.admin().maint && !s.admin().drain);
                    }
                    if s.admin().maint {
                        prop_assert_eq!(s.op_state(), OpState::Stopped);
                    }
                    let h = s.check_health().copied();
                    if let Some(h) = h {
                        if s.op_state() != OpState::Stopped {
                            prop_assert!(h.is_up() || s.admin().maint);
                        }
                    }
                }
                prop_assert!(s.stats().chkdown <= now);
            }

            /// Only health checks: `fall` consecutive failures always end DOWN,
            /// then `rise` successes always end UP (no maintenance involved).
            #[test]
            fn fall_then_rise_always_flips(rise in 1u32..6, fall in 1u32..6, pre in prop::collection::vec(prop::sample::select(CheckStatus::ALL.to_vec()), 0..20)) {
                let spec = CheckSpec { rise, fall, ..Default::default() };
                let mut s = ServerState::new(ServerName::new("b", "s"), Some(&spec), None);
                for st in pre {
                    s.on_result(CheckKind::Health, CheckResult::new(st, Duration::ZERO), 0);
                }
                for _ in 0..fall {
                    s.on_result(CheckKind::Health, CheckResult::new(CheckStatus::L4Con, Duration::ZERO), 0);
                }
                prop_assert_eq!(s.op_state(), OpState::Stopped);
                for _ in 0..rise {
                    s.on_result(CheckKind::Health, CheckResult::new(CheckStatus::L7Ok, Duration::ZERO), 0);
                }
                prop_assert_eq!(s.op_state(), OpState::Running);
                prop_assert!(s.usable());
            }
        }
    }
}
