//! `mode http` proxies whose whole job is the stats page and/or the Prometheus
//! exporter (configuration.txt §4.2 `stats *`, `http-request use-service`) →
//! a [`fw::FrontendSpec`] served by `crate::stats` and its [`StatsSpec`].
//! Anything else in such a proxy (servers, other HTTP rules, ...) is refused with
//! file:line, as every HTTP feature is.

use haproxide_config::model::{Config, Mode, Proxy, ProxyKind, Spanned, StatsKw};
use haproxide_config::Diagnostic;
use haproxide_expr::Uses;
use haproxide_forward::spec as fw;

use super::{ms, unsupported};
use crate::stats::inline::InlinePage;
use crate::stats::StatsSpec;

/// Whether this proxy is a stats/exporter proxy (handled here rather than refused
/// as `mode http`).
pub(super) fn is_stats_proxy(p: &Proxy) -> bool {
    p.effective_mode() == Mode::Http
        && matches!(p.kind, ProxyKind::Listen | ProxyKind::Frontend)
        && !p.binds.is_empty()
        && (!p.stats.is_empty() || p.rules.iter().any(is_exporter_rule))
        && p.servers.is_empty()
        && p.default_backend.is_none()
        && p.use_backends.is_empty()
        && !p
            .stats
            .iter()
            .any(|s| matches!(s.value, StatsKw::HttpRequest(_)))
}

/// The stats page of a `mode http` proxy that also forwards (§4.2 `stats
/// enable`, `stats uri`): answered by the HTTP engine for requests under the
/// stats URI, through an [`InlinePage`] reading `slot`. None when the proxy has
/// no enabled stats page (or its `stats` lines cannot run: errors say why).
pub(super) fn inline(
    cfg: &Config,
    p: &Proxy,
    slot: &std::sync::Arc<crate::stats::StateSlot>,
    errors: &mut Vec<Diagnostic>,
) -> Option<fw::StatsHook> {
    if p.effective_mode() != Mode::Http || p.stats.is_empty() {
        return None;
    }
    let before = errors.len();
    let mut spec = base_spec(cfg, p);
    let mut rules = fw::HttpSpec::default();
    let mut admin = None;
    for st in &p.stats {
        match &st.value {
            StatsKw::Admin(c) => {
                spec.enabled = true;
                admin = super::condition(p, c, Uses::HTTP, "a stats condition", errors);
            }
            StatsKw::HttpRequest(r) => {
                spec.enabled = true;
                rules
                    .http_request
                    .extend(super::http_rules::stats_rule(p, r, errors));
            }
            _ => stats_keyword(&mut spec, p, st, errors),
        }
    }
    if errors.len() != before || !spec.enabled {
        return None;
    }
    Some(fw::StatsHook {
        uri: spec.uri.clone(),
        rules: Box::new(rules),
        admin,
        page: std::sync::Arc::new(InlinePage {
            spec,
            state: slot.clone(),
        }),
    })
}

fn is_exporter_rule(r: &haproxide_config::model::Rule) -> bool {
    r.ruleset == "http-request"
        && r.action.name == "use-service"
        && r.args.first().map(String::as_str) == Some("prometheus-exporter")
}

/// Build the stats service of a stats proxy; errors name what cannot run.
pub(super) fn stats_proxy(
    cfg: &Config,
    p: &Proxy,
    errors: &mut Vec<Diagnostic>,
) -> Option<(fw::FrontendSpec, StatsSpec)> {
    let before = errors.len();
    let mut spec = StatsSpec {
        timeout_request: p.timeouts.get("http-request").copied().map(ms),
        timeout_keep_alive: p.timeouts.get("http-keep-alive").copied().map(ms),
        timeout_client: p.timeouts.get("client").copied().map(ms),
        monitor_uri: haproxide_config::http_rules::monitor_uri(cfg, p),
        ..base_spec(cfg, p)
    };
    for st in &p.stats {
        stats_keyword(&mut spec, p, st, errors);
    }
    for n in haproxide_config::support::refused_in_stats_proxy(p) {
        errors.push(unsupported(n.span, n.what));
    }
    for r in &p.rules {
        if !is_exporter_rule(r) {
            errors.push(unsupported(
                r.action.span,
                format!("`{} {}`", r.ruleset, r.action.name),
            ));
            continue;
        }
        match &r.cond {
            None => spec.prometheus.push(None),
            Some(c) => {
                if let Some(c) = stats_condition(p, c, errors) {
                    spec.prometheus.push(Some(c));
                }
            }
        }
    }
    let mut f = fw::FrontendSpec {
        name: p.name.name.clone(),
        maxconn: p.maxconn.map(|m| m as usize),
        timeout_client: p.timeouts.get("client").copied().map(ms),
        disabled: p.disabled,
        ..Default::default()
    };
    if let Some(b) = p.binds.iter().find(|b| b.ssl) {
        errors.push(super::unsupported(
            b.span,
            "`bind ... ssl` on a stats page or exporter frontend",
        ));
    }
    super::binds(p, &mut f, errors);
    (errors.len() == before).then_some((f, spec))
}

/// The proxy's name and kind, and the global description.
fn base_spec(cfg: &Config, p: &Proxy) -> StatsSpec {
    StatsSpec {
        proxy: p.name.name.clone(),
        listen: p.kind == ProxyKind::Listen,
        description: cfg
            .global
            .description
            .as_ref()
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        ..StatsSpec::default()
    }
}

fn stats_keyword(
    spec: &mut StatsSpec,
    p: &Proxy,
    st: &Spanned<StatsKw>,
    errors: &mut Vec<Diagnostic>,
) {
    spec.enabled = st.value.enables();
    match &st.value {
        StatsKw::Uri(u) => spec.uri = u.clone(),
        StatsKw::Realm(r) => spec.realm = r.clone(),
        StatsKw::Auth { user, password } => spec.auth.push((user.clone(), password.clone())),
        StatsKw::Refresh(secs) => spec.refresh = *secs,
        StatsKw::HideVersion => spec.hide_version = true,
        StatsKw::ShowLegends => spec.show_legends = true,
        StatsKw::ShowNode(n) => spec.show_node = Some(n.clone()),
        StatsKw::ShowDesc(d) => spec.show_desc = Some(d.clone()),
        StatsKw::Scope(s) => spec.scope.push(s.clone()),
        StatsKw::Admin(c) => {
            if let Some(c) = stats_condition(p, c, errors) {
                spec.admin = Some(c);
            }
        }
        StatsKw::NotServed(k) => errors.push(unsupported(st.span, format!("`{k}`"))),
        // A proxy with these is not a stats-only one (see `is_stats_proxy`).
        StatsKw::HttpRequest(_) => {}
        StatsKw::Enable | StatsKw::Disable => {}
    }
}

/// A stats page condition: the page answers the layer 4 fetches and `path` (its
/// context has no other part of the request yet).
fn stats_condition(
    p: &Proxy,
    c: &haproxide_config::model::Condition,
    errors: &mut Vec<Diagnostic>,
) -> Option<haproxide_expr::Cond> {
    let cond = super::condition(p, c, Uses::HTTP, "a stats condition", errors)?;
    let other = cond
        .fetches()
        .find(|(n, u)| *n != "path" && !u.within(Uses::L4));
    match other {
        None => Some(cond),
        Some((f, _)) => {
            errors.push(unsupported(
                super::cond_span(p, c, |e| e.fetch.name == f),
                format!("the sample fetch `{f}` in a stats condition"),
            ));
            None
        }
    }
}
