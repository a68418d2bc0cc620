//! `compression algo|type|offload` and `filter` lines of a proxy, typed
//! (configuration.txt §4.2 `compression`, §9 "Filters", §9.2 "HTTP compression"),
//! with `haproxy -c` 2.6's words for what it refuses. A defaults section's algos and
//! types are inherited (HAProxy copies them; a proxy's own lines come in front).
//! The compression filter runs, `filter trace` is accepted (no effect on traffic),
//! `filter spoe` runs in HTTP mode (crate::spoe);
//! `filter cache|bwlim-in|bwlim-out|fcgi-app` are named, with their line, as
//! not run yet.

use haproxide_http::compress::{Algo, CompressionSpec};

use crate::model::Proxy;
use crate::source::Span;

/// A line that cannot be used: where, what, and whether `haproxy -c` refuses it
/// too (`invalid`) or haproxide only does not run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompError {
    pub span: Span,
    pub message: String,
    pub invalid: bool,
}

fn add_lines(p: &Proxy, spec: &mut CompressionSpec, any: &mut bool) -> Result<(), CompError> {
    for d in p.directives.iter().filter(|d| d.keyword == "compression") {
        let l = &d.line;
        *any = true;
        let err = |i: usize, m: String| CompError {
            span: l.span(i),
            message: m,
            invalid: true,
        };
        match l.arg(1) {
            "algo" => {
                if l.arg(2).is_empty() {
                    return Err(err(1, "'compression' expects <algorithm>.".into()));
                }
                for i in 2..l.words.len() {
                    let w = l.arg(i);
                    let Some(a) = Algo::from_name(w) else {
                        return Err(err(
                            i,
                            format!("'compression' : '{w}' is not a supported algorithm."),
                        ));
                    };
                    spec.algos.insert(0, a);
                }
            }
            "type" => {
                if l.arg(2).is_empty() {
                    return Err(err(1, "'compression' expects <type>.".into()));
                }
                for i in 2..l.words.len() {
                    spec.types.insert(0, l.arg(i).to_string());
                }
            }
            // HAProxy ignores it (with a warning) in a defaults section.
            "offload" => spec.offload |= p.kind != crate::model::ProxyKind::Defaults,
            _ => {
                return Err(err(
                    1,
                    "'compression' expects 'algo', 'type' or 'offload'".into(),
                ))
            }
        }
    }
    Ok(())
}

/// The proxy's compression settings (`None` without any `compression` line, own or
/// inherited), or the first line that cannot be used. `filter` lines other than
/// `filter compression` are refused (not run yet).
pub fn compression(
    p: &Proxy,
    defaults: Option<&Proxy>,
) -> Result<Option<CompressionSpec>, CompError> {
    for d in p.directives.iter().filter(|d| d.keyword == "filter") {
        let kind = d.line.arg(1);
        // §9.1 `filter trace`: runs; it changes no traffic (its debug lines on
        // stderr are not printed: they describe HAProxy's internal analyzers).
        // §9.3 `filter spoe`: typed with its file (crate::spoe), run by the
        // HTTP engine.
        if !matches!(kind, "compression" | "trace" | "spoe") {
            return Err(CompError {
                span: d.line.span_from(0),
                message: format!("`filter {kind}`"),
                invalid: false,
            });
        }
    }
    let mut spec = CompressionSpec::default();
    let mut any = false;
    if let Some(d) = defaults {
        let mut inherited = false;
        add_lines(d, &mut spec, &mut inherited)?;
        spec.offload = false;
        any |= inherited;
    }
    add_lines(p, &mut spec, &mut any)?;
    Ok(any.then_some(spec))
}

#[cfg(test)]
mod tests;
