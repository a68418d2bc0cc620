//! `filter spoe` (configuration.txt §9.3, doc/SPOE.txt) → one
//! [`haproxide_spoe::Engine`] per filter line, shared by the proxy's frontend
//! and backend halves (a `listen` section: its request events run on the
//! frontend half, `on-http-response` once). The agent's missing timeouts
//! (HAProxy warns and waits without end) are bounded here: `timeout hello`
//! and `processing` fall back to the agent backend's `timeout server`, else
//! [`FALLBACK`]; `timeout idle` to [`FALLBACK`].

use std::sync::Arc;
use std::time::Duration;

use haproxide_config::model::{Config, ProxyKind};
use haproxide_config::spoe::{SpoeEvent, SpoeFilter};
use haproxide_config::Diagnostic;
use haproxide_forward::spec as fw;
use haproxide_spoe::{AgentSpec, EngineSpec, Event, GroupSpec, MessageSpec};

/// The bound on an agent wait the configuration leaves unset.
pub(crate) const FALLBACK: Duration = Duration::from_secs(15);

/// Idle agent connections kept per engine.
const MAX_IDLE: usize = 64;

fn event(e: SpoeEvent) -> Event {
    match e {
        SpoeEvent::ClientSession => Event::ClientSession,
        SpoeEvent::FrontendTcpRequest => Event::FrontendTcpRequest,
        SpoeEvent::BackendTcpRequest => Event::BackendTcpRequest,
        SpoeEvent::ServerSession => Event::ServerSession,
        SpoeEvent::TcpResponse => Event::TcpResponse,
        SpoeEvent::FrontendHttpRequest => Event::FrontendHttpRequest,
        SpoeEvent::BackendHttpRequest => Event::BackendHttpRequest,
        SpoeEvent::HttpResponse => Event::HttpResponse,
    }
}

fn engine(cfg: &Config, f: &SpoeFilter, known: &std::collections::BTreeSet<String>) -> EngineSpec {
    let c = &f.conf;
    let a = &c.agent;
    let backend = a.backend.clone().unwrap_or_default();
    let bp = cfg
        .proxies
        .iter()
        .find(|p| p.kind != ProxyKind::Defaults && p.kind.has_backend() && p.name.name == backend);
    let t = |k: &str| {
        bp.and_then(|p| p.timeouts.get(k))
            .map(|m| Duration::from_millis(m.0))
    };
    let server = t("server");
    EngineSpec {
        id: c.engine_id.clone(),
        agent: AgentSpec {
            name: a.name.clone(),
            max_frame_size: a.max_frame_size,
            pipelining: a.pipelining,
            timeout_hello: a.timeout_hello.or(server).unwrap_or(FALLBACK),
            timeout_idle: a.timeout_idle.unwrap_or(FALLBACK),
            timeout_processing: a.timeout_processing.or(server).unwrap_or(FALLBACK),
            timeout_connect: t("connect"),
            max_idle: MAX_IDLE,
        },
        backend,
        messages: c
            .messages
            .iter()
            .map(|m| MessageSpec {
                name: m.name.clone(),
                args: m.args.clone(),
                event: m.event.map(event),
                cond: m.cond.clone(),
            })
            .collect(),
        groups: c
            .groups
            .iter()
            .map(|g| GroupSpec {
                name: g.name.clone(),
                messages: g.messages.clone(),
            })
            .collect(),
        var_prefix: a.var_prefix.clone(),
        set_on_error: a.set_on_error.clone(),
        set_process_time: a.set_process_time.clone(),
        set_total_time: a.set_total_time.clone(),
        continue_on_error: a.continue_on_error,
        force_set_var: a.force_set_var,
        known_vars: known.clone(),
        register_var_names: a.register_var_names.iter().cloned().collect(),
    }
}

/// Gives every HTTP half of a proxy with `filter spoe` lines its engines.
/// Messages on the TCP-level events (`on-client-session`,
/// `on-frontend-tcp-request`, `on-backend-tcp-request`, `on-server-session`,
/// `on-tcp-response`) are refused with the filter's line: the engine sends
/// SPOE messages on HTTP events and `send-spoe-group` only.
pub(crate) fn fill(cfg: &Config, engine_spec: &mut fw::EngineSpec, errors: &mut Vec<Diagnostic>) {
    let known = haproxide_config::spoe::referenced_vars(cfg);
    for p in cfg
        .proxies
        .iter()
        .filter(|p| !p.spoe.is_empty() && p.kind != ProxyKind::Defaults)
    {
        for f in &p.spoe {
            for m in &f.conf.messages {
                let Some(ev) = m.event else { continue };
                if !matches!(
                    ev,
                    SpoeEvent::FrontendHttpRequest
                        | SpoeEvent::BackendHttpRequest
                        | SpoeEvent::HttpResponse
                ) {
                    errors.push(super::unsupported(
                        f.span,
                        format!(
                            "`event {}` of the SPOE message `{}` ({})",
                            ev.name(),
                            m.name,
                            m.at
                        ),
                    ));
                }
            }
        }
        let engines: Vec<Arc<haproxide_spoe::Engine>> = p
            .spoe
            .iter()
            .map(|f| Arc::new(haproxide_spoe::Engine::new(engine(cfg, f, &known))))
            .collect();
        let name = p.name.name.as_str();
        let halves = engine_spec
            .frontends
            .iter_mut()
            .filter(|f| f.name == name)
            .filter_map(|f| f.http.as_mut())
            .chain(
                engine_spec
                    .backends
                    .iter_mut()
                    .filter(|b| b.name == name)
                    .filter_map(|b| b.http.as_mut()),
            );
        for h in halves {
            h.spoe = engines.clone();
        }
    }
}
