//! Lua (configuration.txt §3.1 `lua-load`, `lua-load-per-thread`,
//! `lua-prepend-path`, §3.2 `tune.lua.*`) → a loaded [`LuaHost`], bound into
//! every `http-request lua.<name>` / `http-response lua.<name>` / `use-service
//! lua.<name>` action of the engine's rule sets. A name no script registered is
//! refused with its line, as HAProxy refuses it at parse time. docs/lua.md.

use std::sync::Arc;

use haproxide_config::diag::Code;
use haproxide_config::model::Config;
use haproxide_config::Diagnostic;
use haproxide_forward::spec as fw;
use haproxide_http::rules::{Action, HttpRule};
use haproxide_http::script::{ScriptHost, ScriptKind, ScriptRef};
use haproxide_lua::{LuaHost, LuaSpec};

/// The configuration's Lua settings as the Lua crate's spec.
pub(crate) fn spec(cfg: &Config) -> LuaSpec {
    let l = &cfg.global.lua;
    let d = LuaSpec::default();
    LuaSpec {
        loads: cfg
            .global
            .lua_loads
            .iter()
            .map(|n| n.name.clone().into())
            .collect(),
        prepend_path: l
            .prepend_path
            .iter()
            .map(|(n, c)| (n.name.clone(), *c))
            .collect(),
        maxmem: l
            .maxmem_mb
            .filter(|&m| m > 0)
            .map(|m| usize::try_from(m.saturating_mul(1 << 20)).unwrap_or(usize::MAX)),
        session_timeout: l
            .session_timeout
            .map_or(d.session_timeout, |t| t.as_duration()),
        service_timeout: l
            .service_timeout
            .map_or(d.service_timeout, |t| t.as_duration()),
        forced_yield: l.forced_yield.unwrap_or(d.forced_yield),
    }
}

/// Loads the scripts (none: `None`) and binds them into the engine's rules;
/// what cannot load or is not registered is an error with its line.
pub(crate) fn bind(cfg: &Config, engine: &mut fw::EngineSpec, errors: &mut Vec<Diagnostic>) {
    let uses_lua = cfg.proxies.iter().flat_map(|p| &p.rules).any(|r| {
        r.http
            .as_ref()
            .is_some_and(|a| matches!(*a.0, Action::Script { .. } | Action::Service { .. }))
    });
    if cfg.global.lua_loads.is_empty() && !uses_lua {
        return;
    }
    let host: Option<Arc<dyn ScriptHost>> = if cfg.global.lua_loads.is_empty() {
        None
    } else {
        match LuaHost::load(&spec(cfg)) {
            Ok(h) => {
                let h = Arc::new(h);
                // `lua.<name>` fetches and converters in any expression.
                haproxide_expr::script::install(Some(h.clone()));
                Some(h)
            }
            Err(e) => {
                let span = cfg.global.lua_loads[0].span;
                errors.push(Diagnostic::error(Code::InvalidArgument, e.to_string()).at(span));
                return;
            }
        }
    };
    // Every rule naming a script: registered under that kind?
    for p in &cfg.proxies {
        for r in &p.rules {
            let Some(a) = &r.http else { continue };
            let (kind, name) = match &*a.0 {
                Action::Service { name, .. } => (ScriptKind::Service, name),
                Action::Script { name, .. } if r.ruleset == "http-request" => {
                    (ScriptKind::HttpReq, name)
                }
                Action::Script { name, .. } => (ScriptKind::HttpRes, name),
                _ => continue,
            };
            if !host.as_ref().is_some_and(|h| h.has(kind, name)) {
                let what = match kind {
                    ScriptKind::Service => "service",
                    _ => "action",
                };
                errors.push(
                    Diagnostic::error(
                        Code::UnknownAction,
                        format!(
                            "`{} {}`: no Lua script registered the {what} `{name}`",
                            r.ruleset, r.action.name
                        ),
                    )
                    .at(r.action.span),
                );
            }
        }
    }
    let Some(host) = host else { return };
    let bind_all = |rules: &mut Vec<HttpRule>| {
        for r in rules {
            if let Action::Script { host: h, .. } | Action::Service { host: h, .. } = &mut r.action
            {
                *h = ScriptRef(Some(host.clone()));
            }
        }
    };
    for h in super::http_rules::http_halves(engine) {
        bind_all(&mut h.http_request);
        bind_all(&mut h.http_response);
        bind_all(&mut h.http_after_response);
    }
}
