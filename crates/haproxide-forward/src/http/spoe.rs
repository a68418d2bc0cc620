//! SPOE in the HTTP engine (configuration.txt §9.3, doc/SPOE.txt §3.3): the
//! `on-frontend-http-request`, `on-backend-http-request` and `on-http-response`
//! events run just before the proxy half's rules of that kind, and
//! `send-spoe-group` where its rule stands ([`haproxide_http::rules::Run::Spoe`]).
//! Messages are evaluated on the transaction (the one expression engine), the
//! agent's answer becomes variables of the session/transaction. An agent error
//! never answers the client: the stream goes on (SPOE.txt §3.5).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use haproxide_http::head::{RequestHead, ResponseHead};
use haproxide_http::rules::Vars;
use haproxide_spoe::{Addr, Engine, Event, TxnState, VarOp};

use super::Conn;
use crate::lb::BackendRt;
use crate::session::Sess;
use crate::spec::{HttpSpec, ServerPort};

/// An agent backend's servers for the SPOE client: round robin over the
/// servers the engine's balancer would consider (health, maintenance, weight
/// 0, backups as `eligible`).
pub(crate) struct AgentServers {
    backend: Arc<BackendRt>,
    turn: AtomicUsize,
}

impl std::fmt::Debug for AgentServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentServers")
            .field("backend", &self.backend.spec.name)
            .finish()
    }
}

impl haproxide_spoe::Servers for AgentServers {
    fn pick(&self) -> Option<Addr> {
        let cands = self.backend.eligible_servers();
        if cands.is_empty() {
            return None;
        }
        let i = self.turn.fetch_add(1, Ordering::Relaxed) % cands.len();
        let s = self.backend.server(cands[i])?;
        if let Some(p) = &s.unix {
            return Some(Addr::Unix(p.clone()));
        }
        match s.port {
            ServerPort::Fixed(port) => Some(Addr::Tcp(std::net::SocketAddr::new(s.ip, port))),
            // An agent server needs its port (HAProxy refuses none at start-up).
            _ => None,
        }
    }
}

/// Binds every SPOE engine of the proxies' HTTP halves to its agent backend.
pub(crate) fn bind_agents(frontends: &[crate::FrontendRt], backends: &[Arc<BackendRt>]) {
    let specs = frontends
        .iter()
        .filter_map(|f| f.spec.http.as_ref())
        .chain(backends.iter().filter_map(|b| b.spec.http.as_ref()));
    for h in specs {
        for e in &h.spoe {
            if let Some(b) = backends.iter().find(|b| b.spec.name == e.spec.backend) {
                e.agent.bind(Arc::new(AgentServers {
                    backend: b.clone(),
                    turn: AtomicUsize::new(0),
                }));
            }
        }
    }
}

/// The SPOE state of the current transaction, per engine (by address).
#[derive(Debug, Default)]
pub(crate) struct SpoeTxn(Vec<(usize, TxnState)>);

fn key(e: &Arc<Engine>) -> usize {
    Arc::as_ptr(e) as usize
}

fn apply(vars: &mut Vars, ops: Vec<VarOp>) {
    for op in ops {
        match op {
            VarOp::Set(n, v) => vars.set(&n, v),
            VarOp::Unset(n) => vars.unset(&n),
        }
    }
}

impl Sess {
    fn spoe_state(&mut self, e: &Arc<Engine>) -> TxnState {
        let k = key(e);
        self.spoe
            .as_ref()
            .and_then(|s| s.0.iter().find(|(x, _)| *x == k))
            .map(|(_, st)| *st)
            .unwrap_or_default()
    }

    fn spoe_store(&mut self, e: &Arc<Engine>, st: TxnState) {
        let k = key(e);
        let s = self.spoe.get_or_insert_with(Default::default);
        match s.0.iter_mut().find(|(x, _)| *x == k) {
            Some(slot) => slot.1 = st,
            None => s.0.push((k, st)),
        }
    }

    fn spoe_ctx<'c>(
        &'c self,
        conn: &'c Conn,
        backend: Option<&'c str>,
        req: &'c RequestHead,
        res: Option<&'c ResponseHead>,
    ) -> haproxide_http::ctx::MsgCtx<'c> {
        haproxide_http::ctx::MsgCtx {
            src: self.src,
            dst: self.dst,
            req: Some(req),
            res,
            vars: Some(&conn.vars),
            frontend: Some(self.shared.frontends[self.fe].spec.name.as_str()),
            backend,
            // The server of the response (`srv_name`, `srv_id`), as rules see it.
            server: res
                .and(self.server)
                .and_then(|i| self.backend.as_ref()?.server(i))
                .map(|s| s.name.as_str()),
            server_id: res.and(self.server).map(|i| i as i64 + 1),
            tls: self.tls.as_deref(),
            ..Default::default()
        }
    }

    async fn spoe_send(
        &mut self,
        conn: &mut Conn,
        e: &Arc<Engine>,
        msgs: Vec<haproxide_spoe::Message>,
    ) {
        let mut st = self.spoe_state(e);
        let out = e.process(msgs, &mut st).await;
        self.spoe_store(e, st);
        apply(&mut conn.vars, out.vars);
    }

    /// Runs `ev` on every engine of `spec` that has messages for it.
    pub(super) async fn spoe_event(
        &mut self,
        conn: &mut Conn,
        spec: &HttpSpec,
        ev: Event,
        backend: Option<&str>,
        req: &RequestHead,
        res: Option<&ResponseHead>,
    ) {
        for e in &spec.spoe {
            if !e.has_event(ev) || self.spoe_state(e).disabled {
                continue;
            }
            let msgs = e.event_messages(ev, &self.spoe_ctx(conn, backend, req, res));
            self.spoe_send(conn, e, msgs).await;
        }
    }

    /// `send-spoe-group <engine> <group>` from a rule of `spec`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn spoe_group(
        &mut self,
        conn: &mut Conn,
        spec: &HttpSpec,
        engine: &str,
        group: &str,
        backend: Option<&str>,
        req: &RequestHead,
        res: Option<&ResponseHead>,
    ) {
        let Some(e) = spec.spoe.iter().find(|e| e.spec.id == engine) else {
            return;
        };
        if self.spoe_state(e).disabled {
            return;
        }
        let Some(msgs) = e.group_messages(group, &self.spoe_ctx(conn, backend, req, res)) else {
            return;
        };
        self.spoe_send(conn, e, msgs).await;
    }
}
