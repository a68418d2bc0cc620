//! Servers added and removed at run time (management.txt §9.3 `add server`, `del
//! server`): a new [`Slot`] appended to the table, its tracking link, its check
//! loops; removal leaves a tombstone and stops the loops.

use super::*;

/// Why `add server` / `del server` was refused; the texts are HAProxy 2.6's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DynamicError {
    /// `track` names a backend that does not exist.
    #[error("unable to find required proxy '{0}' for tracking.")]
    NoTrackProxy(String),
    /// `track` names a server that does not exist.
    #[error("unable to find required server '{0}' for tracking.")]
    NoTrackServer(String),
    /// `track` names a dynamic server.
    #[error("unable to use {0}/{1} for tracking as it is a dynamic server.")]
    TrackDynamic(String, String),
    /// `track` names a server without check, agent or track.
    #[error("unable to use {0}/{1} for tracking as it does not have any check nor agent enabled.")]
    TrackUnchecked(String, String),
    /// The name is taken in that backend.
    #[error("Already exists a server with the same name in backend.")]
    NameTaken,
    /// A probe could not be prepared.
    #[error("{0}")]
    Probe(String),
    /// `del server` of a server others track.
    #[error("This server cannot be removed at runtime due to other configuration elements pointing to it.")]
    Referenced,
    /// `del server` of a server not in maintenance.
    #[error("Only servers in maintenance mode can be deleted.")]
    NotInMaintenance,
}

impl HealthView {
    /// Whether a server can be tracked, as HAProxy's `srv_apply_track` decides
    /// (`None`: the server has no state here, i.e. neither check, agent nor track).
    fn trackable(&self, target: &ServerName) -> Result<usize, DynamicError> {
        let j = self
            .id(&target.backend, &target.server)
            .ok_or_else(|| DynamicError::NoTrackServer(target.server.clone()))?
            .0;
        let slot = &self.shared.slots[j];
        if slot.dynamic {
            return Err(DynamicError::TrackDynamic(
                target.backend.clone(),
                target.server.clone(),
            ));
        }
        if slot.cfg.check.is_none() && slot.cfg.agent.is_none() && slot.cfg.track.is_none() {
            return Err(DynamicError::TrackUnchecked(
                target.backend.clone(),
                target.server.clone(),
            ));
        }
        Ok(j)
    }

    /// `add server`: a new server in forced maintenance (HAProxy starts dynamic
    /// servers so; `enable server` brings it in), its health and agent checks
    /// prepared but disabled until `enable health` / `enable agent`, tracking
    /// `cfg.track` if set. `known_untracked(backend, server)` tells whether a
    /// server the checker has no state for exists in the configuration (then it
    /// has no check: HAProxy's "does not have any check" refusal). Must be called
    /// within a tokio runtime (the check loops are spawned on it).
    pub fn add_server(
        &self,
        cfg: ServerConfig,
        known_untracked: impl Fn(&str, &str) -> Option<bool>,
    ) -> Result<ServerId, DynamicError> {
        let sh = &self.shared;
        let key = (cfg.name.backend.clone(), cfg.name.server.clone());
        if read(&sh.by_name).contains_key(&key) {
            return Err(DynamicError::NameTaken);
        }
        let target = match &cfg.track {
            None => None,
            Some(t) => match self.trackable(t) {
                Ok(j) => Some(j),
                Err(DynamicError::NoTrackServer(s)) => {
                    return Err(match known_untracked(&t.backend, &t.server) {
                        None => DynamicError::NoTrackProxy(t.backend.clone()),
                        Some(false) => DynamicError::NoTrackServer(s),
                        Some(true) => {
                            DynamicError::TrackUnchecked(t.backend.clone(), t.server.clone())
                        }
                    })
                }
                Err(e) => return Err(e),
            },
        };
        let (h, a) = real_probes(&cfg).map_err(|e| DynamicError::Probe(e.to_string()))?;
        let mut st = ServerState::new(cfg.name.clone(), cfg.check.as_ref(), cfg.agent.as_ref())
            .with_weight(cfg.weight)
            .with_nocheck_rise(cfg.rise);
        if let (Some(t), Some(j)) = (&cfg.track, target) {
            st = st.track(t.clone(), lock(&sh.slots[j].state).op_state());
        }
        // Events of the initial state are not logged (HAProxy logs nothing either).
        let _ = st.set_maint(true, sh.now_s());
        let slot = Slot {
            usable: AtomicBool::new(st.usable()),
            eligible: AtomicBool::new(st.eligible()),
            up: AtomicBool::new(st.is_up()),
            weight: AtomicU32::new(st.weight()),
            check_enabled: AtomicBool::new(false),
            agent_enabled: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            checking: AtomicBool::new(false),
            sessions: std::sync::atomic::AtomicU32::new(0),
            wake: tokio::sync::Notify::new(),
            recheck_ms: std::sync::atomic::AtomicU64::new(0),
            trackers: Mutex::new(Vec::new()),
            dynamic: true,
            deleted: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
            state: Mutex::new(st),
            cfg,
        };
        let i = {
            // Under the name lock: a concurrent add of the same name loses.
            let mut names = write(&sh.by_name);
            if names.contains_key(&key) {
                return Err(DynamicError::NameTaken);
            }
            let i = sh.slots.push(slot);
            names.insert(key.clone(), i);
            i
        };
        write(&sh.members).entry(key.0).or_default().push(i);
        if let Some(j) = target {
            lock_any(&sh.slots[j].trackers).insert(0, i);
        }
        let seed = (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
        let mut tasks = Vec::new();
        if let Some(h) = h {
            let f = health_loop(sh.clone(), i, h, Duration::ZERO, 0, Jitter::new(seed));
            tasks.push(tokio::spawn(f).abort_handle());
        }
        if let Some(a) = a {
            let f = agent_loop(sh.clone(), i, a, Duration::ZERO, 0, Jitter::new(!seed));
            tasks.push(tokio::spawn(f).abort_handle());
        }
        *lock_any(&sh.slots[i].tasks) = tasks;
        Ok(ServerId(i))
    }

    /// `del server`: refused when others track the server or it is not in
    /// maintenance (the caller checks sessions in the forwarder first). Stops its
    /// checks, unlinks it from the server it tracks; its id is not reused.
    pub fn remove_server(&self, id: ServerId) -> Result<(), DynamicError> {
        let sh = &self.shared;
        self.can_remove(id)?;
        let Some(slot) = sh.slots.get(id.0) else {
            return Ok(());
        };
        slot.deleted.store(true, Ordering::Release);
        slot.usable.store(false, Ordering::Release);
        slot.eligible.store(false, Ordering::Release);
        for t in lock_any(&slot.tasks).drain(..) {
            t.abort();
        }
        let key = (slot.cfg.name.backend.clone(), slot.cfg.name.server.clone());
        write(&sh.by_name).remove(&key);
        if let Some(m) = write(&sh.members).get_mut(&key.0) {
            m.retain(|&j| j != id.0);
        }
        if let Some(t) = &slot.cfg.track {
            let target = read(&sh.by_name)
                .get(&(t.backend.clone(), t.server.clone()))
                .copied();
            if let Some(j) = target {
                lock_any(&sh.slots[j].trackers).retain(|&k| k != id.0);
            }
        }
        Ok(())
    }

    /// Whether `del server` may remove it: no server tracks it and it is in
    /// maintenance (HAProxy's order of refusals).
    pub fn can_remove(&self, id: ServerId) -> Result<(), DynamicError> {
        let Some(slot) = self.shared.slots.get(id.0) else {
            return Ok(());
        };
        if !lock_any(&slot.trackers).is_empty() {
            return Err(DynamicError::Referenced);
        }
        if !lock(&slot.state).admin().maint {
            return Err(DynamicError::NotInMaintenance);
        }
        Ok(())
    }

    /// Whether the server was added by `add server`.
    pub fn is_dynamic(&self, id: ServerId) -> bool {
        self.shared.slots.get(id.0).is_some_and(|s| s.dynamic)
    }
}
