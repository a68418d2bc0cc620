//! `tcp-request connection|content` and `tcp-response content` rules (§4.2)
//! → the engine's: `accept`, `reject`, `close` (responses), and the variable
//! actions the config crate typed (`set-var`, `set-var-fmt`, `unset-var`).
//! Anything else is refused with its line.

use haproxide_config::model::{Proxy, Rule};
use haproxide_config::Diagnostic;
use haproxide_forward::spec as fw;
use haproxide_http::rules::Action;

use super::{condition, unsupported};

/// One TCP rule as the engine's, `None` (reported) when it cannot run.
pub(super) fn tcp_rule(
    p: &Proxy,
    r: &Rule,
    uses: haproxide_expr::Uses,
    mode: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<fw::TcpRule> {
    let content = r.ruleset != "tcp-request connection";
    let (accept, act) = match (r.action.name.as_str(), r.http.as_ref().map(|t| &*t.0)) {
        ("accept", _) => (true, None),
        ("reject", _) => (false, None),
        ("close", _) if r.ruleset == "tcp-response content" => (false, Some(fw::TcpAct::Close)),
        (_, Some(Action::SetVar { name, expr, cond })) if content && cond.is_none() => {
            (true, Some(fw::TcpAct::SetVar(name.clone(), expr.clone())))
        }
        (_, Some(Action::SetVarFmt { name, fmt, cond })) if content && cond.is_none() => {
            (true, Some(fw::TcpAct::SetVarFmt(name.clone(), fmt.clone())))
        }
        (_, Some(Action::UnsetVar { name })) if content => {
            (true, Some(fw::TcpAct::UnsetVar(name.clone())))
        }
        (_, Some(Action::TrackSc { n, key, table })) if r.ruleset.starts_with("tcp-request") => {
            let session = r.ruleset != "tcp-request content";
            if !key.uses().within(uses) {
                errors.push(unsupported(
                    r.action.span,
                    format!(
                        "the sample fetch `{}` as the key of `{} {}` in {mode}",
                        key.fetch_name(),
                        r.ruleset,
                        r.action.name
                    ),
                ));
                return None;
            }
            let act = fw::TcpAct::Track {
                n: *n,
                key: key.clone(),
                table: table.clone(),
                session,
            };
            (true, Some(act))
        }
        (_, Some(Action::ScIncGpc { ctr, idx })) if r.ruleset.starts_with("tcp-request") => (
            true,
            Some(fw::TcpAct::ScIncGpc {
                ctr: *ctr,
                idx: *idx,
            }),
        ),
        (_, Some(Action::ScSetGpt0 { ctr, value })) if r.ruleset.starts_with("tcp-request") => (
            true,
            Some(fw::TcpAct::ScSetGpt0 {
                ctr: *ctr,
                value: value.clone(),
            }),
        ),
        (other, _) => {
            errors.push(unsupported(
                r.action.span,
                format!("`{} {other}`", r.ruleset),
            ));
            return None;
        }
    };
    let cond = match &r.cond {
        Some(c) => Some(condition(p, c, uses, mode, errors)?),
        None => None,
    };
    Some(fw::TcpRule { accept, cond, act })
}

/// A TCP backend's `tcp-response content` rules.
pub(super) fn response_rules(p: &Proxy, errors: &mut Vec<Diagnostic>) -> Vec<fw::TcpRule> {
    p.rules
        .iter()
        .filter(|r| r.ruleset == "tcp-response content")
        .filter_map(|r| {
            tcp_rule(
                p,
                r,
                haproxide_expr::Uses::TCP_RES,
                "a tcp-response content rule",
                errors,
            )
        })
        .collect()
}
