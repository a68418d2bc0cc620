//! Backend switching in HTTP mode (configuration.txt §4.2 `use_backend`,
//! `default_backend`): the rules in order, the first whose condition holds
//! names the backend; a name built by a log-format (`use_backend
//! %[req.hdr(host),lower,map_dom(hosts.map)]`) is looked up per request, and
//! when it names no HTTP backend the default backend is used, no other rule
//! evaluated (HAProxy 2.6 stream.c `process_switching_rules`).

use std::sync::Arc;

use haproxide_expr::{Context, Tri};

use crate::lb::BackendRt;
use crate::rules::eval_cond;
use crate::session::FeLight;
use crate::spec::DynBackend;

/// The backend the rules choose; `None`: the default backend.
pub(crate) fn choose(
    fe: &FeLight,
    ctx: &dyn Context,
    backends: &[Arc<BackendRt>],
) -> Option<usize> {
    let mut dynamic = fe.dyn_backends.iter().peekable();
    for (i, (b, cond)) in fe.use_backends.iter().enumerate() {
        while let Some(d) = dynamic.next_if(|d| d.at <= i) {
            if let Some(r) = by_name(d, ctx, backends) {
                return r;
            }
        }
        if eval_cond(cond.as_ref(), ctx) == Tri::Pass {
            return Some(*b);
        }
    }
    for d in dynamic {
        if let Some(r) = by_name(d, ctx, backends) {
            return r;
        }
    }
    None
}

/// A dynamic rule: `None` when its condition does not hold (the next rule
/// runs), else the backend its name gives (`Some(None)`: none, the default).
fn by_name(
    d: &DynBackend,
    ctx: &dyn Context,
    backends: &[Arc<BackendRt>],
) -> Option<Option<usize>> {
    if eval_cond(d.cond.as_ref(), ctx) != Tri::Pass {
        return None;
    }
    let name = haproxide_http::rules::render(&d.name, ctx);
    Some(
        backends
            .iter()
            .position(|b| b.spec.http.is_some() && b.spec.name.as_bytes() == name.as_slice()),
    )
}
