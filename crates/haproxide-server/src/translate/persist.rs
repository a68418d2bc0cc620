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

/// `stick-table` + `stick on|match|store-request src` (§4.2) → the engine's
/// [`fw::StickSpec`]; what it does not run is refused with its line.
pub(super) fn stick(p: &Proxy, errors: &mut Vec<Diagnostic>) -> Option<fw::StickSpec> {
    if p.stick_rules.is_empty() && p.stick_table.is_none() {
        return None;
    }
    let mut ok = true;
    let (mut matches, mut stores) = (false, false);
    for r in &p.stick_rules {
        let own = r.table.as_deref().is_none_or(|t| t == p.name.name);
        let kind_ok = matches!(r.kind.as_str(), "on" | "match" | "store-request");
        if r.pattern != "src" || !own || r.has_cond || !kind_ok {
            errors.push(unsupported(
                r.span,
                "`stick` other than `stick on|match|store-request src` on the proxy's own table without a condition",
            ));
            ok = false;
            continue;
        }
        matches |= matches!(r.kind.as_str(), "on" | "match");
        stores |= matches!(r.kind.as_str(), "on" | "store-request");
    }
    let t = p.stick_table.as_ref();
    match t {
        Some(t) if matches!(t.value.kind.as_str(), "ip" | "ipv6") && t.value.other.is_empty() => {}
        Some(t) => {
            errors.push(unsupported(
                t.span,
                "`stick-table` other than `type ip|ipv6 size <n> [expire <t>]` (store, peers, other key types, track-sc)",
            ));
            ok = false;
        }
        None => {
            if let Some(r) = p.stick_rules.first() {
                errors.push(unsupported(
                    r.span,
                    "`stick` without a `stick-table` in its proxy",
                ));
            }
            ok = false;
        }
    }
    let t = t?;
    (ok && !p.stick_rules.is_empty()).then(|| fw::StickSpec {
        size: t.value.size.clamp(1, 1 << 24) as usize,
        expire: t
            .value
            .expire
            .map(|m| std::time::Duration::from_millis(m.0)),
        matches,
        stores,
    })
}
