//! [`HealthView`]: the checker's read side and the runtime API's levers.

use super::*;

/// Cheap, clonable read access to server health, for the forwarder.
#[derive(Clone)]
pub struct HealthView {
    pub(super) shared: Arc<Shared>,
}

impl HealthView {
    /// Looks a server up by name.
    pub fn id(&self, backend: &str, server: &str) -> Option<ServerId> {
        super::read(&self.shared.by_name)
            .get(&(backend.to_string(), server.to_string()))
            .map(|&i| ServerId(i))
    }

    /// Reports the number of sessions currently on a server (the forwarder
    /// calls this as sessions open and close). HAProxy prints it in "Server
    /// be/s is DOWN. ... N sessions active" and in `send-state`'s `scur`.
    pub fn set_sessions(&self, id: ServerId, sessions: u32) {
        if let Some(s) = self.shared.slots.get(id.0) {
            s.sessions.store(sessions, Ordering::Relaxed);
        }
    }

    /// May a new load-balanced connection go to this server now? (UP, not
    /// stopping, not in maintenance, not draining.) One atomic load.
    pub fn is_usable(&self, id: ServerId) -> bool {
        self.shared
            .slots
            .get(id.0)
            .is_some_and(|s| s.usable.load(Ordering::Acquire))
    }

    /// Is the server DOWN only because its first health check has not concluded yet
    /// ([`ServerState::awaiting_first_check`]), with checks not turned off by
    /// `disable health` (then no result is coming)?
    pub fn is_pending(&self, id: ServerId) -> bool {
        self.shared.slots.get(id.0).is_some_and(|s| {
            s.pending.load(Ordering::Acquire) && s.check_enabled.load(Ordering::Acquire)
        })
    }

    /// Is the server up at all (persistent traffic may still go there)?
    pub fn is_up(&self, id: ServerId) -> bool {
        self.shared
            .slots
            .get(id.0)
            .is_some_and(|s| s.up.load(Ordering::Acquire))
    }

    /// The server's current weight (configured, or changed by `set weight` or
    /// an agent's `N%`). One atomic load.
    pub fn weight(&self, id: ServerId) -> Option<u32> {
        self.shared
            .slots
            .get(id.0)
            .map(|s| s.weight.load(Ordering::Acquire))
    }

    /// Enters or leaves maintenance (see [`Checker::set_maint`]).
    pub fn set_maint(&self, id: ServerId, maint: bool) {
        if id.0 < self.shared.slots.len() {
            self.shared.step(id.0, |st, now| st.set_maint(maint, now));
        }
    }

    /// Sets or clears drain (see [`Checker::set_drain`]).
    pub fn set_drain(&self, id: ServerId, drain: bool) {
        if id.0 < self.shared.slots.len() {
            self.shared.step(id.0, |st, _| st.set_drain(drain));
        }
    }

    /// `set weight` (management.txt §9.3): the new current weight (0..=256).
    pub fn set_weight(&self, id: ServerId, weight: u32) {
        if id.0 < self.shared.slots.len() {
            self.shared.step(id.0, |st, _| st.set_weight(weight));
        }
    }

    /// `set server <srv> health up|stopping|down` (management.txt §9.3); also
    /// how a `server-state-file` restores a server's operational state.
    pub fn force_health(&self, id: ServerId, to: OpState) {
        if id.0 < self.shared.slots.len() {
            self.shared.step(id.0, |st, now| st.force_health(to, now));
        }
    }

    /// `set server <srv> agent up|down` (management.txt §9.3).
    pub fn force_agent(&self, id: ServerId, up: bool) {
        if id.0 < self.shared.slots.len() {
            self.shared.step(id.0, |st, now| st.force_agent(up, now));
        }
    }

    /// `enable health` / `disable health` (management.txt §9.3): a disabled
    /// health check stops running and the server keeps its state.
    pub fn set_check_enabled(&self, id: ServerId, on: bool) {
        if let Some(s) = self.shared.slots.get(id.0) {
            s.check_enabled.store(on, Ordering::Release);
        }
    }

    /// `enable agent` / `disable agent` (management.txt §9.3).
    pub fn set_agent_enabled(&self, id: ServerId, on: bool) {
        if let Some(s) = self.shared.slots.get(id.0) {
            s.agent_enabled.store(on, Ordering::Release);
        }
    }

    /// Health checks configured and not disabled.
    pub fn check_enabled(&self, id: ServerId) -> bool {
        self.shared
            .slots
            .get(id.0)
            .is_some_and(|s| s.cfg.check.is_some() && s.check_enabled.load(Ordering::Acquire))
    }

    /// Agent checks configured and not disabled.
    pub fn agent_enabled(&self, id: ServerId) -> bool {
        self.shared
            .slots
            .get(id.0)
            .is_some_and(|s| s.cfg.agent.is_some() && s.agent_enabled.load(Ordering::Acquire))
    }

    /// The server follows another one (`track`).
    pub fn is_tracking(&self, id: ServerId) -> bool {
        self.shared
            .slots
            .get(id.0)
            .is_some_and(|s| s.cfg.track.is_some())
    }

    /// The administrative state (maintenance, drain).
    pub fn admin(&self, id: ServerId) -> Option<crate::state::AdminState> {
        self.shared.slots.get(id.0).map(|s| lock(&s.state).admin())
    }

    /// The server as configured.
    pub fn config(&self, id: ServerId) -> Option<&ServerConfig> {
        self.shared.slots.get(id.0).map(|s| &s.cfg)
    }

    /// Runs the server's next health check now instead of at its next interval
    /// (a check in flight is followed by another one at once). For callers that
    /// learn of a likely state change elsewhere (a DCS's leader key).
    pub fn check_now(&self, id: ServerId) {
        if let Some(s) = self.shared.slots.get(id.0) {
            s.wake.notify_one();
        }
    }

    /// While `Some(d)`, the server is checked at least every `d` (its own
    /// interval still applies when shorter); `None` returns to the configured
    /// cadence.
    pub fn set_recheck(&self, id: ServerId, every: Option<Duration>) {
        if let Some(s) = self.shared.slots.get(id.0) {
            let ms = every.map_or(0, |d| d.as_millis().clamp(1, u128::from(u32::MAX)) as u64);
            s.recheck_ms.store(ms, Ordering::Release);
        }
    }

    /// Usable servers of a backend, in configuration order.
    pub fn usable_in(&self, backend: &str) -> Vec<ServerId> {
        let members = super::read(&self.shared.members);
        let members = members.get(backend).map(Vec::as_slice).unwrap_or(&[]);
        members
            .iter()
            .copied()
            .filter(|&i| self.shared.slots[i].usable.load(Ordering::Acquire))
            .map(ServerId)
            .collect()
    }

    /// Transitions and log lines from now on. A receiver that falls more than
    /// 4096 events behind gets `Lagged` and should re-read the state.
    pub fn subscribe(&self) -> broadcast::Receiver<CheckEvent> {
        self.shared.tx.subscribe()
    }

    /// The `show stat` fields of a server.
    pub fn stats(&self, id: ServerId) -> Option<ServerStats> {
        let slot = self.shared.slots.get(id.0)?;
        let st = lock(&slot.state);
        let now = self.shared.now_s();
        let stats = st.stats();
        let (rise, fall, health) = st
            .check_health()
            .map(|h| (h.rise(), h.fall(), h.value()))
            .unwrap_or((0, 0, st.nocheck_health()));
        let last = st.last_check();
        // HAProxy's srv_stats_state (src/stats.c), admin states first.
        let agent_on = slot.cfg.agent.is_some() && slot.agent_enabled.load(Ordering::Acquire);
        let agent_down = agent_on && st.agent_health().is_some_and(|h| h.value() == 0);
        let stopped = st.op_state() == OpState::Stopped;
        let status = if st.admin().maint {
            "MAINT".to_string()
        } else if st.admin().drain && !stopped {
            if agent_on { "DRAIN (agent)" } else { "DRAIN" }.to_string()
        } else if stopped && agent_down {
            "DOWN (agent)".to_string()
        } else if stopped && st.check_health().is_none() {
            "DOWN".to_string()
        } else {
            self.shared
                .state_header(id.0, &st)
                .split(';')
                .next()
                .unwrap_or("")
                .to_string()
        };
        let down_now = if st.op_state() == OpState::Stopped {
            now.saturating_sub(stats.last_change)
        } else {
            0
        };
        let running = if slot.checking.load(Ordering::Relaxed) {
            "* "
        } else {
            ""
        };
        let agent = st.last_agent();
        let (arise, afall, ahealth) = st
            .agent_health()
            .map(|h| (h.rise(), h.fall(), h.value()))
            .unwrap_or((0, 0, 0));
        Some(ServerStats {
            status,
            check_status: format!("{running}{}", st.check_status().name()),
            check_code: last.and_then(|r| {
                if r.status.has_code() {
                    Some(r.code.unwrap_or(0))
                } else {
                    None
                }
            }),
            check_duration_ms: last.and_then(|r| r.duration.map(|d| d.as_millis())),
            check_desc: last.map(|r| r.desc.clone()).unwrap_or_default(),
            check_rise: rise,
            check_fall: fall,
            check_health: health,
            chkfail: stats.chkfail,
            chkdown: stats.chkdown,
            lastchg: now.saturating_sub(stats.last_change),
            downtime: stats.downtime + down_now,
            agent_status: if st.agent_health().is_some() {
                st.agent_status().name().to_string()
            } else {
                String::new()
            },
            agent_code: agent.and_then(|r| r.status.has_code().then_some(r.code.unwrap_or(0))),
            agent_duration_ms: agent.and_then(|r| r.duration.map(|d| d.as_millis())),
            agent_desc: agent.map(|r| r.desc.clone()).unwrap_or_default(),
            agent_rise: arise,
            agent_fall: afall,
            agent_health: ahealth,
            weight: st.weight(),
        })
    }
}
