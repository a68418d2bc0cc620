//! `mode http` proxies whose whole job is the stats page and/or the Prometheus
//! exporter (configuration.txt §4.2 `stats *`, `http-request use-service`) →
//! a [`fw::FrontendSpec`] served by `crate::stats` and its [`StatsSpec`].
//! Anything else in such a proxy (servers, other HTTP rules, ...) is refused with
//! file:line, as every HTTP feature is.

use haproxide_config::model::{Config, Mode, Proxy, ProxyKind};
use haproxide_config::reader::Line;
use haproxide_config::Diagnostic;
use haproxide_expr::Uses;
use haproxide_forward::spec as fw;

use super::{ms, unsupported};
use crate::stats::{Cond, StatsSpec};

/// Whether this proxy is a stats/exporter proxy (handled here rather than refused
/// as `mode http`).
pub(super) fn is_stats_proxy(cfg: &Config, p: &Proxy) -> bool {
    p.effective_mode() == Mode::Http
        && matches!(p.kind, ProxyKind::Listen | ProxyKind::Frontend)
        && !p.binds.is_empty()
        && (inherited_stats(cfg, p).next().is_some()
            || p.directives.iter().any(|d| d.keyword.starts_with("stats "))
            || p.rules.iter().any(is_exporter_rule))
}

/// `stats` lines of the proxy's defaults section (§4: "defaults" apply to the
/// proxies that follow); the proxy's own lines come after them and win.
fn inherited_stats<'c>(
    cfg: &'c Config,
    p: &Proxy,
) -> impl Iterator<Item = &'c haproxide_config::model::Directive> {
    p.defaults
        .and_then(|i| cfg.proxies.get(i))
        .into_iter()
        .flat_map(|d| d.directives.iter())
        .filter(|d| d.keyword.starts_with("stats "))
}

fn is_exporter_rule(r: &haproxide_config::model::Rule) -> bool {
    r.ruleset == "http-request"
        && r.action.name == "use-service"
        && r.args.first().map(String::as_str) == Some("prometheus-exporter")
}

/// Keywords a stats proxy may hold besides `stats ...` (they change nothing the
/// stats service does, or are applied by it).
const ALLOWED: &[&str] = &[
    "mode",
    "bind",
    "maxconn",
    "log",
    "no log",
    "description",
    "id",
    "acl",
    "disabled",
    "enabled",
    "balance",
    "retries",
    "option httplog",
    "option dontlognull",
    "option http-keep-alive",
    "option httpclose",
    "option http-server-close",
    "option forwardfor",
    "option redispatch",
];

/// `stats` sub-keywords served (`stats http-request` and others are refused).
const STATS_KEYWORDS: &[&str] = &[
    "stats enable",
    "stats disable",
    "stats uri",
    "stats realm",
    "stats auth",
    "stats admin",
    "stats refresh",
    "stats hide-version",
    "stats show-legends",
    "stats show-node",
    "stats show-desc",
    "stats scope",
];

/// Build the stats service of a stats proxy; errors name what cannot run.
pub(super) fn stats_proxy(
    cfg: &Config,
    p: &Proxy,
    errors: &mut Vec<Diagnostic>,
) -> Option<(fw::FrontendSpec, StatsSpec)> {
    let before = errors.len();
    let mut spec = StatsSpec {
        proxy: p.name.name.clone(),
        listen: p.kind == ProxyKind::Listen,
        description: cfg
            .global
            .description
            .as_ref()
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        timeout_request: p.timeouts.get("http-request").copied().map(ms),
        timeout_keep_alive: p.timeouts.get("http-keep-alive").copied().map(ms),
        timeout_client: p.timeouts.get("client").copied().map(ms),
        ..StatsSpec::default()
    };
    for d in inherited_stats(cfg, p).chain(&p.directives) {
        let k = d.keyword.as_str();
        if k.starts_with("timeout ") || k == "http-request" || k.starts_with("http-request ") {
            continue;
        }
        if k.starts_with("stats ") {
            if !STATS_KEYWORDS.contains(&k) {
                errors.push(unsupported(d.line.span_from(0), format!("`{k}`")));
                continue;
            }
            stats_keyword(&mut spec, p, k, &d.line, errors);
            continue;
        }
        if !ALLOWED.contains(&k) {
            errors.push(unsupported(
                d.line.span_from(0),
                format!(
                    "`{k}` in the `mode http` proxy `{}` (haproxide serves only the stats page and the Prometheus exporter in HTTP mode)",
                    p.name.name
                ),
            ));
        }
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
                if let Some(c) = super::condition(p, c, Uses::HTTP, "a stats condition", errors) {
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
    super::binds(p, &mut f, errors);
    (errors.len() == before).then_some((f, spec))
}

/// The words from `i` on, joined (HAProxy's `stats show-desc`, `description`).
fn rest(line: &Line, i: usize) -> String {
    line.words
        .iter()
        .skip(i)
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn stats_keyword(
    spec: &mut StatsSpec,
    p: &Proxy,
    k: &str,
    line: &Line,
    errors: &mut Vec<Diagnostic>,
) {
    // Every `stats` keyword but `stats disable` enables the page (HAProxy's
    // stats_check_init_uri_auth).
    spec.enabled = k != "stats disable";
    match k {
        "stats uri" => spec.uri = line.arg(2).to_string(),
        "stats realm" => spec.realm = line.arg(2).to_string(),
        "stats auth" => {
            let (u, pw) = line.arg(2).split_once(':').unwrap_or((line.arg(2), ""));
            spec.auth.push((u.to_string(), pw.to_string()));
        }
        "stats refresh" => {
            spec.refresh = haproxide_config::value::parse_time(line.arg(2), 1000)
                .ok()
                .map(|t| t.as_duration().as_secs());
        }
        "stats hide-version" => spec.hide_version = true,
        "stats show-legends" => spec.show_legends = true,
        "stats show-node" => spec.show_node = Some(line.arg(2).to_string()),
        "stats show-desc" => spec.show_desc = Some(rest(line, 2)),
        "stats scope" => spec.scope.push(line.arg(2).to_string()),
        "stats admin" => {
            let words: Vec<&str> = line.words.iter().skip(2).map(|w| w.text.as_str()).collect();
            match admin_cond(p, &words) {
                Ok(c) => spec.admin = Some(c),
                Err(what) => errors.push(unsupported(line.span_from(2), what)),
            }
        }
        _ => {}
    }
}

/// `stats admin {if|unless} <cond>`, typed by the expression engine against the
/// proxy's ACLs (the same table every condition uses).
fn admin_cond(p: &Proxy, words: &[&str]) -> Result<Cond, String> {
    if !matches!(words.first(), Some(&"if") | Some(&"unless")) {
        return Err("`stats admin` without `if`/`unless`".into());
    }
    let c =
        Cond::parse(words, &p.acl_set, &haproxide_expr::Opts::default()).map_err(|e| e.message)?;
    match c.missing(Uses::HTTP) {
        Some(f) => Err(format!("the sample fetch `{f}` in a stats condition")),
        None => Ok(c),
    }
}
