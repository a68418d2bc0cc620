//! `compression` and `filter` lines (configuration.txt §4.2, §9.2) into the
//! engine's HTTP spec, typed by haproxide_config::compression.

use std::sync::Arc;

use haproxide_config::model::Proxy;
use haproxide_config::{Code, Diagnostic, Resolved};
use haproxide_http::compress::CompressionSpec;

use super::unsupported;

/// The proxy's compression settings; a line that cannot be used is reported.
pub(super) fn compression(
    cfg: &Resolved,
    p: &Proxy,
    errors: &mut Vec<Diagnostic>,
) -> Option<Arc<CompressionSpec>> {
    let defaults = p.defaults.and_then(|d| cfg.proxies.get(d));
    match haproxide_config::compression::compression(p, defaults) {
        Ok(c) => c.map(Arc::new),
        Err(e) if e.invalid => {
            errors.push(Diagnostic::error(Code::InvalidArgument, e.message).at(e.span));
            None
        }
        Err(e) => {
            errors.push(unsupported(e.span, e.message));
            None
        }
    }
}
