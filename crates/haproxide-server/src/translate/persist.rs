//! Persistence of a backend in HTTP mode (configuration.txt §4.2 `cookie`,
//! `ignore-persist`, `force-persist`, `option persist`,
//! `option prefer-last-server`) → the engine's [`fw::PersistSpec`].

use super::*;

/// The backend's persistence spec; None when it uses none of it. A TCP backend
/// gets none (HAProxy ignores `cookie` there with a warning at check time).
pub(super) fn spec(p: &Proxy, errors: &mut Vec<Diagnostic>) -> Option<Box<fw::PersistSpec>> {
    if p.effective_mode() != Mode::Http {
        return None;
    }
    let mut rules = Vec::new();
    for r in &p.persist_rules {
        if let Some(c) = condition(p, &r.cond, haproxide_expr::Uses::HTTP, "HTTP mode", errors) {
            rules.push((r.force, c));
        }
    }
    let s = fw::PersistSpec {
        cookie: p.cookie.as_ref().map(|c| c.value.clone()),
        rules,
        option_persist: p.option("persist") == Some(true),
        prefer_last: p.option("prefer-last-server") == Some(true),
    };
    (s.cookie.is_some() || !s.rules.is_empty() || s.option_persist || s.prefer_last)
        .then(|| Box::new(s))
}
