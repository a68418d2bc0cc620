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

/// The table a `stick` rule of `p` names: `table <t>` (a proxy's name or
/// `<peers>/<table>`), else the proxy's own.
fn rule_table<'a>(p: &'a Proxy, r: &'a haproxide_config::model::StickRuleCfg) -> &'a str {
    r.table.as_deref().unwrap_or(&p.name.name)
}

/// `stick match|on|store-request|store-response <pattern> [table <t>]
/// [{if|unless} <cond>]` (§4.2) → the engine's [`fw::StickSpec`]; what it does
/// not run is refused with its line. `tables`: the engine's tables, in order.
pub(super) fn stick(
    p: &Proxy,
    tables: &[haproxide_stick::TableSpec],
    errors: &mut Vec<Diagnostic>,
) -> Option<Box<fw::StickSpec>> {
    if p.stick_rules.is_empty() {
        return None;
    }
    let http = p.effective_mode() == Mode::Http;
    let mut spec = fw::StickSpec::default();
    for r in &p.stick_rules {
        let (matches, stores, response) = match r.kind.as_str() {
            "on" => (true, true, false),
            "match" => (true, false, false),
            "store-request" => (false, true, false),
            "store-response" => (false, true, true),
            other => {
                errors.push(unsupported(r.span, format!("`stick {other}`")));
                continue;
            }
        };
        let (uses, mode) = match (http, response) {
            (true, false) => (haproxide_expr::Uses::HTTP, "an HTTP stick rule"),
            (true, true) => (
                haproxide_expr::Uses::HTTP_RES,
                "an HTTP stick store-response rule",
            ),
            (false, false) => (haproxide_expr::Uses::TCP, "a TCP stick rule"),
            (false, true) => (
                haproxide_expr::Uses::TCP_RES,
                "a TCP stick store-response rule",
            ),
        };
        let name = rule_table(p, r);
        let Some(table) = tables.iter().position(|t| t.name == name) else {
            errors.push(unsupported(
                r.span,
                format!("`stick` on table `{name}`, which is not a running stick table"),
            ));
            continue;
        };
        let expr = match &r.expr {
            Ok(e) if e.uses().within(uses) => e.clone(),
            Ok(e) => {
                errors.push(unsupported(
                    r.span,
                    format!("the sample fetch `{}` in {mode}", e.fetch_name()),
                ));
                continue;
            }
            Err(why) => {
                errors.push(unsupported(r.span, why.clone()));
                continue;
            }
        };
        let cond = match &r.cond {
            Some(c) => match condition(p, c, uses, mode, errors) {
                Some(c) => Some(c),
                None => continue,
            },
            None => None,
        };
        let rule = fw::StickRule {
            matches,
            stores,
            expr,
            table,
            cond,
        };
        if response {
            spec.response.push(rule);
        } else {
            spec.request.push(rule);
        }
    }
    Some(Box::new(spec))
}

/// Every `stick-table` of the running proxies and every `table` of a `peers`
/// section (§4.2, §3.5) → the engine's tables, named after their proxy or
/// `<peers>/<table>`, in declaration order; what does not run is refused with
/// its line: data types and options the engine lacks. A table that `stick` rules use stores `server_id` and
/// `server_key` (as HAProxy adds them).
pub(super) fn tables(
    cfg: &haproxide_config::model::Config,
    errors: &mut Vec<Diagnostic>,
) -> Vec<haproxide_stick::TableSpec> {
    use haproxide_config::model::StickTableCfg;
    use haproxide_stick::KeyType;
    let live = || {
        cfg.proxies
            .iter()
            .filter(|p| p.kind != ProxyKind::Defaults && !p.disabled)
    };
    let mut decl: Vec<(
        String,
        &haproxide_config::model::Spanned<StickTableCfg>,
        Option<&str>,
    )> = live()
        .filter_map(|p| Some((p.name.name.clone(), p.stick_table.as_ref()?, None)))
        .collect();
    for t in &cfg.peer_tables {
        // A `peers` section without the local peer was removed (resolve).
        let kept = cfg
            .others
            .iter()
            .any(|s| s.kind == "peers" && s.name.as_ref().is_some_and(|n| n.name == t.section));
        if kept {
            decl.push((
                format!("{}/{}", t.section, t.name),
                &t.table,
                Some(&t.section),
            ));
        }
    }
    decl.sort_by_key(|d| (d.1.span.file.0, d.1.span.line));
    let mut out = Vec::new();
    for (name, t, section) in decl {
        let v = &t.value;
        let len = v.len.map(|l| l.clamp(1, 1 << 16) as usize);
        let key = match v.kind.as_str() {
            "ip" => KeyType::Ip,
            "ipv6" => KeyType::Ipv6,
            "integer" => KeyType::Integer,
            "string" => KeyType::String(len.unwrap_or(32)),
            "binary" => KeyType::Binary(len.unwrap_or(32)),
            _ => {
                errors.push(unsupported(
                    t.span,
                    "a `stick-table` key type other than ip, ipv6, integer, string, binary",
                ));
                continue;
            }
        };
        if let Some(o) = v.other.first() {
            errors.push(unsupported(
                t.span,
                format!("`stick-table ... {o}` (data types gpc/gpt arrays, write-to, recv-only)"),
            ));
            continue;
        }
        let peers = section.or(v.peers.as_deref());
        let mut store = v.store.clone();
        let used_by_stick = live().any(|p| p.stick_rules.iter().any(|r| rule_table(p, r) == name));
        if used_by_stick {
            use haproxide_expr::stktab::Data;
            for d in [Data::ServerId, Data::ServerKey] {
                if !store.iter().any(|s| s.0 == d) {
                    store.push((d, 0));
                }
            }
            store.sort();
        }
        out.push(haproxide_stick::TableSpec {
            name,
            key,
            size: v.size.min(1 << 26) as usize,
            expire: v.expire.map(|m| u32::try_from(m.0).unwrap_or(u32::MAX)),
            store,
            nopurge: v.nopurge,
            // Kept across a reload (the local peer), synchronised with remote ones.
            handover: peers.is_some(),
            srvkey_addr: v.srvkey_addr,
        });
    }
    out
}
