//! `cache` sections (configuration.txt §6): one store per section, bound into
//! the `cache-use` / `cache-store` actions that name it.

use std::sync::Arc;

use haproxide_config::diag::{Code, Diagnostic, HaproxyLoc};
use haproxide_config::model::Config;
use haproxide_forward::spec as fw;
use haproxide_http::cache::Cache;
use haproxide_http::rules::{Action, HttpRule};

/// Builds the caches of `cfg` and binds every action to its cache; an action
/// naming no section is HAProxy's post-check error.
pub(crate) fn bind(cfg: &Config, engine: &mut fw::EngineSpec, errors: &mut Vec<Diagnostic>) {
    let (specs, _) = haproxide_config::cache::caches(cfg);
    let caches: Vec<Arc<Cache>> = specs.into_iter().map(|s| Arc::new(Cache::new(s))).collect();
    let mut missing: Vec<String> = Vec::new();
    let mut bind_all = |rules: &mut Vec<HttpRule>, kind: &str, proxy: &str| {
        for r in rules {
            if let Action::CacheUse(c) | Action::CacheStore(c) = &mut r.action {
                match caches.iter().find(|k| k.spec.name == c.name) {
                    Some(k) => c.cache = Some(k.clone()),
                    None if !missing.contains(&c.name) => {
                        missing.push(c.name.clone());
                        errors.push(
                            Diagnostic::error(
                                Code::InvalidArgument,
                                format!("no `cache` section named `{}`", c.name),
                            )
                            .hx(
                                HaproxyLoc::None,
                                format!(
                                    "config: {kind} '{proxy}': unable to find the cache '{}' referenced by the filter 'cache'.",
                                    c.name
                                ),
                            ),
                        );
                    }
                    None => {}
                }
            }
        }
    };
    for f in &mut engine.frontends {
        if let Some(h) = f.http.as_mut() {
            bind_all(&mut h.http_request, "frontend", &f.name);
            bind_all(&mut h.http_response, "frontend", &f.name);
        }
    }
    for b in &mut engine.backends {
        if let Some(h) = b.http.as_mut() {
            bind_all(&mut h.http_request, "backend", &b.name);
            bind_all(&mut h.http_response, "backend", &b.name);
        }
    }
}
