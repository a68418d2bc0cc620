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
        Some(t) if matches!(t.value.kind.as_str(), "ip" | "ipv6") => {}
        // The table runs (`tables`), but `stick` rules only on addresses.
        Some(t) if p.stick_rules.is_empty() => {
            let _ = t;
        }
        Some(t) => {
            errors.push(unsupported(
                t.span,
                "`stick on|match|store-request` on a `stick-table` other than `type ip|ipv6`",
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

/// Every `stick-table` of the running proxies (§4.2) → the engine's tables,
/// named after their proxy; what does not run is refused with its line:
/// data types and options the engine lacks, and `peers` sections with remote
/// peers (only the local peer runs: the table is kept across a reload).
pub(super) fn tables(
    cfg: &haproxide_config::model::Config,
    errors: &mut Vec<Diagnostic>,
) -> Vec<haproxide_stick::TableSpec> {
    use haproxide_stick::KeyType;
    let mut out = Vec::new();
    for p in cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults && !p.disabled)
    {
        let Some(t) = p.stick_table.as_ref() else {
            continue;
        };
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
                format!("`stick-table ... {o}` (data types gpc/gpt arrays, server_key, srvkey, write-to, recv-only)"),
            ));
            continue;
        }
        if let Some(peers) = &v.peers {
            if let Some(span) = remote_peer(cfg, peers) {
                errors.push(unsupported(
                    span,
                    "a remote peer (stick-table synchronisation with other hosts; only the local peer runs)",
                ));
                continue;
            }
        }
        out.push(haproxide_stick::TableSpec {
            name: p.name.name.clone(),
            key,
            size: v.size.min(1 << 26) as usize,
            expire: v.expire.map(|m| u32::try_from(m.0).unwrap_or(u32::MAX)),
            store: v.store.clone(),
            nopurge: v.nopurge,
            // Remote peers are refused above: a `peers` table has the local one.
            handover: v.peers.is_some(),
        });
    }
    out
}

/// The line of a peer of `peers` section `name` other than the local one.
fn remote_peer(
    cfg: &haproxide_config::model::Config,
    name: &str,
) -> Option<haproxide_config::Span> {
    let s = cfg
        .others
        .iter()
        .find(|s| s.kind == "peers" && s.name.as_ref().is_some_and(|n| n.name == name))?;
    let local = haproxide_config::resolve::local_peer_name(cfg);
    s.directives
        .iter()
        .find(|d| {
            matches!(d.keyword.as_str(), "peer" | "server")
                && d.line.arg(1) != local
                && !d.line.arg(2).is_empty()
        })
        .map(|d| d.line.span_from(0))
}
