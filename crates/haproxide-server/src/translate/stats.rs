//! `mode http` proxies whose whole job is the stats page and/or the Prometheus
//! exporter (configuration.txt §4.2 `stats *`, `http-request use-service`) →
//! a [`fw::FrontendSpec`] served by `crate::stats` and its [`StatsSpec`].
//! Anything else in such a proxy (servers, other HTTP rules, ...) is refused with
//! file:line, as every HTTP feature is.

use std::net::IpAddr;

use haproxide_config::model::{
    AclExpr, CondTerm, Condition as CfgCondition, Config, Mode, Proxy, ProxyKind, Spanned, StatsKw,
};
use haproxide_config::Diagnostic;
use haproxide_forward::spec as fw;

use super::{ms, unsupported};
use crate::stats::{Cond, StatsSpec, Test};

/// Whether this proxy is a stats/exporter proxy (handled here rather than refused
/// as `mode http`).
pub(super) fn is_stats_proxy(p: &Proxy) -> bool {
    p.effective_mode() == Mode::Http
        && matches!(p.kind, ProxyKind::Listen | ProxyKind::Frontend)
        && !p.binds.is_empty()
        && (!p.stats.is_empty() || p.rules.iter().any(is_exporter_rule))
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
                if let Some(c) = model_cond(p, c, errors) {
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
        StatsKw::Admin(words) => {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            match word_cond(p, &words) {
                Ok(c) => spec.admin = Some(c),
                Err(what) => errors.push(unsupported(st.span, what)),
            }
        }
        StatsKw::NotServed(k) => errors.push(unsupported(st.span, format!("`{k}`"))),
        StatsKw::Enable | StatsKw::Disable => {}
    }
}

/// A condition given as words (`if|unless` first), for `stats admin`.
fn word_cond(p: &Proxy, words: &[&str]) -> Result<Cond, String> {
    let (unless, mut rest) = match words.split_first() {
        Some((&"if", r)) => (false, r),
        Some((&"unless", r)) => (true, r),
        _ => return Err("`stats admin` without `if`/`unless`".into()),
    };
    let mut cond = Cond {
        unless,
        or_terms: vec![Vec::new()],
    };
    while let Some((&w, r)) = rest.split_first() {
        rest = r;
        if w == "||" || w == "or" {
            cond.or_terms.push(Vec::new());
            continue;
        }
        let (neg, w) = match w.strip_prefix('!') {
            Some(x) => (true, x),
            None => (false, w),
        };
        let (neg, w) = if w.is_empty() {
            // `! name`
            match rest.split_first() {
                Some((&n, r)) => {
                    rest = r;
                    (true, n)
                }
                None => return Err("a condition ending in `!`".into()),
            }
        } else {
            (neg, w)
        };
        let t = if w == "{" {
            let end = rest
                .iter()
                .position(|x| *x == "}")
                .ok_or("an unclosed `{` in a condition")?;
            let inner = &rest[..end];
            rest = &rest[end + 1..];
            let (fetch, pats) = inner.split_first().ok_or("an empty `{ }` condition")?;
            test(fetch, &[], pats.iter().map(|s| s.to_string()).collect())?
        } else {
            named(p, w)?
        };
        if let Some(last) = cond.or_terms.last_mut() {
            last.push((neg, t));
        }
    }
    if cond.or_terms.iter().any(Vec::is_empty) {
        return Err("an empty condition".into());
    }
    Ok(cond)
}

fn named(p: &Proxy, n: &str) -> Result<Test, String> {
    match n {
        "TRUE" => Ok(Test::True),
        "FALSE" => Ok(Test::False),
        "LOCALHOST" => Ok(Test::Localhost),
        _ => {
            let lines: Vec<&AclExpr> = p
                .acls
                .iter()
                .filter(|a| a.name.name == n)
                .map(|a| &a.expr)
                .collect();
            match lines.as_slice() {
                [e] => expr_test(e),
                [] => Err(format!("the predefined ACL `{n}` in a stats condition")),
                _ => Err("an ACL name declared on several lines".into()),
            }
        }
    }
}

fn expr_test(e: &AclExpr) -> Result<Test, String> {
    test(&e.fetch.name, &e.flags, e.patterns.clone())
}

fn test(fetch: &str, flags: &[String], patterns: Vec<String>) -> Result<Test, String> {
    if flags.iter().any(|f| f != "-m" && f != "str" && f != "ip") {
        return Err(format!(
            "ACL flags `{}` in a stats condition",
            flags.join(" ")
        ));
    }
    match fetch {
        "path" => Ok(Test::Path(patterns)),
        "path_beg" => Ok(Test::PathBeg(patterns)),
        "src" => {
            let mut nets = Vec::new();
            for s in &patterns {
                let (a, l) = s.split_once('/').unwrap_or((s, ""));
                let ip: IpAddr = a
                    .parse()
                    .map_err(|_| format!("`src {s}` (only addresses and networks)"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let len = if l.is_empty() {
                    max
                } else if let Ok(n) = l.parse::<u8>() {
                    n.min(max)
                } else {
                    // A dotted mask (255.255.255.0).
                    match l.parse::<std::net::Ipv4Addr>() {
                        Ok(m) => u32::from(m).count_ones() as u8,
                        Err(_) => return Err(format!("`src {s}`")),
                    }
                };
                nets.push((ip, len));
            }
            Ok(Test::Src(nets))
        }
        other => Err(format!("the sample fetch `{other}` in a stats condition")),
    }
}

fn model_cond(p: &Proxy, c: &CfgCondition, errors: &mut Vec<Diagnostic>) -> Option<Cond> {
    let mut or_terms = Vec::new();
    for ands in &c.or_terms {
        let mut terms = Vec::new();
        for t in ands {
            let r = match t {
                CondTerm::Named { negated, name } => named(p, &name.name).map(|t| (*negated, t)),
                CondTerm::Anonymous { negated, expr } => expr_test(expr).map(|t| (*negated, t)),
            };
            match r {
                Ok(t) => terms.push(t),
                Err(what) => {
                    errors.push(unsupported(c.span, what));
                    return None;
                }
            }
        }
        or_terms.push(terms);
    }
    Some(Cond {
        unless: c.unless,
        or_terms,
    })
}
