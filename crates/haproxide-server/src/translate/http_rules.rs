//! HTTP rules → the engine's rule sets: the config crate typed each action
//! ([`haproxide_config::http_rules`]); here each rule gets its condition (the
//! fetches an HTTP request or response offers) and what the engine cannot run
//! yet is refused with its line.

use haproxide_config::model::{Config, Proxy};
use haproxide_config::Diagnostic;
use haproxide_expr::Uses;
use haproxide_forward::spec as fw;
use haproxide_http::rules::{HttpRule, RuleSets};

use super::unsupported;

/// The rule sets of a `mode http` proxy half.
pub(crate) fn rule_sets(p: &Proxy, errors: &mut Vec<Diagnostic>) -> RuleSets {
    let mut sets = RuleSets::default();
    let mut redirects = Vec::new();
    for r in &p.rules {
        let (list, offered, mode) = match r.ruleset.as_str() {
            "http-request" => (&mut sets.request, Uses::HTTP, "an http-request rule"),
            "redirect" => (&mut redirects, Uses::HTTP, "a redirect rule"),
            "http-response" => (&mut sets.response, Uses::HTTP_RES, "an http-response rule"),
            "http-after-response" => (
                &mut sets.after_response,
                Uses::HTTP_RES,
                "an http-after-response rule",
            ),
            _ => continue,
        };
        let Some(action) = &r.http else {
            let what = match missing_sample(&r.args) {
                Some(m) => format!("{m} in `{} {}`", r.ruleset, r.action.name),
                None => format!("`{} {}` in `mode http`", r.ruleset, r.action.name),
            };
            errors.push(unsupported(r.action.span, what));
            continue;
        };
        if let Some(what) = action.0.not_run() {
            errors.push(unsupported(
                r.action.span,
                format!("`{} {}` ({what})", r.ruleset, r.action.name),
            ));
            continue;
        }
        let cond = match &r.cond {
            None => None,
            Some(c) => match super::condition(p, c, offered, mode, errors) {
                Some(c) => Some(c),
                None => continue,
            },
        };
        list.push(HttpRule {
            action: (*action.0).clone(),
            cond,
        });
    }
    sets.request.extend(redirects);
    sets
}

/// What an untyped rule lacks when it is a fetch or converter of a `%[...]`
/// in its arguments: "the sample fetch `x`" / "the converter `y`".
fn missing_sample(args: &[String]) -> Option<String> {
    use haproxide_expr::logfmt::{LfMode, LogFormat};
    args.iter().filter(|a| a.contains("%[")).find_map(|a| {
        let m = LogFormat::parse(a, LfMode::Http).err()?.to_string();
        [
            ("unknown fetch method '", "the sample fetch"),
            ("unknown converter '", "the converter"),
        ]
        .iter()
        .find_map(|(pre, what)| {
            let rest = &m[m.find(pre)? + pre.len()..];
            Some(format!("{what} `{}`", &rest[..rest.find('\'')?]))
        })
    })
}

/// A `stats http-request` rule (allow, deny, auth: §4.2) as the engine's.
pub(crate) fn stats_rule(
    p: &Proxy,
    r: &haproxide_config::model::Rule,
    errors: &mut Vec<Diagnostic>,
) -> Option<HttpRule> {
    let Some(action) = &r.http else {
        errors.push(unsupported(
            r.action.span,
            format!("`stats http-request {}`", r.action.name),
        ));
        return None;
    };
    let cond = match &r.cond {
        None => None,
        Some(c) => Some(super::condition(
            p,
            c,
            Uses::HTTP,
            "a stats http-request rule",
            errors,
        )?),
    };
    Some(HttpRule {
        action: (*action.0).clone(),
        cond,
    })
}

/// Gives every HTTP proxy half the configuration's userlists (`http_auth`) and
/// its `errorfile` pages (its defaults section's, then its own).
pub(crate) fn fill_userlists(cfg: &Config, engine: &mut fw::EngineSpec) {
    for f in &mut engine.frontends {
        if let (Some(h), Some(p)) = (f.http.as_mut(), cfg.proxy(&f.name, false)) {
            h.errors = haproxide_config::http_rules::error_pages(cfg, p);
            if let Some(st) = h.stats.as_mut() {
                st.rules.errors = h.errors.clone();
            }
            h.monitor_uri = haproxide_config::http_rules::monitor_uri(cfg, p);
        }
    }
    for b in &mut engine.backends {
        if let (Some(h), Some(p)) = (b.http.as_mut(), cfg.proxy(&b.name, true)) {
            h.errors = haproxide_config::http_rules::error_pages(cfg, p);
            if let Some(st) = h.stats.as_mut() {
                st.rules.errors = h.errors.clone();
            }
        }
    }
    let lists = haproxide_config::http_rules::userlists(cfg);
    if lists.is_empty() {
        return;
    }
    for h in http_halves(engine) {
        h.userlists = lists.clone();
        if let Some(st) = h.stats.as_mut() {
            st.rules.userlists = lists.clone();
        }
    }
}

/// Every HTTP proxy half of the engine (frontends', then backends').
pub(crate) fn http_halves(engine: &mut fw::EngineSpec) -> impl Iterator<Item = &mut fw::HttpSpec> {
    engine
        .frontends
        .iter_mut()
        .filter_map(|f| f.http.as_mut())
        .chain(engine.backends.iter_mut().filter_map(|b| b.http.as_mut()))
}

#[cfg(test)]
mod tests {
    /// A rule refused for a fetch the engine lacks names the fetch, not the action.
    #[test]
    fn refusal_names_the_missing_fetch() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            super::missing_sample(&args(&[
                "code",
                "308",
                "location",
                "/%[distcc_param(DOTI)]"
            ])),
            Some("the sample fetch `distcc_param`".to_string())
        );
        assert_eq!(
            super::missing_sample(&args(&["hdr", "x", "%[path,nosuchconv]"])),
            Some("the converter `nosuchconv`".to_string())
        );
        assert_eq!(super::missing_sample(&args(&["location", "/x"])), None);
    }
}
