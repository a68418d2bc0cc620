//! The stats page inside a `mode http` proxy that also forwards (configuration.txt
//! §4.2 `stats enable`, `stats uri`): the HTTP engine (haproxide-forward's
//! `http::stats`) matches the URI and runs the `stats http-request` rules, then
//! hands the request to an [`InlinePage`], which answers with [`super::handle`],
//! the same handler as the stats-only proxies' service.

use std::sync::Arc;

use haproxide_forward::spec::{StatsPage, StatsReply, StatsRequest};

use super::http::{self, Request};
use super::{handle_as, StateSlot, StatsSpec};

/// One proxy's stats page, reading the runtime state through the shared slot.
pub struct InlinePage {
    pub spec: StatsSpec,
    pub state: Arc<StateSlot>,
}

impl StatsPage for InlinePage {
    fn answer(&self, req: &StatsRequest<'_>) -> StatsReply {
        let r = Request {
            method: String::from_utf8_lossy(req.method).into_owned(),
            target: String::from_utf8_lossy(req.target).into_owned(),
            minor: if req.http10 { 0 } else { 1 },
            headers: req
                .headers
                .iter()
                .map(|h| {
                    (
                        String::from_utf8_lossy(h.name).to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            body: req.body.to_vec(),
        };
        let resp = match self.state.get() {
            Some(state) => handle_as(&self.spec, state.as_ref(), req.src, &r, Some(req.admin)),
            None => http::error(503),
        };
        StatsReply {
            status: resp.status,
            headers: resp.headers,
            body: resp.body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_state_yet_is_503_and_never_panics() {
        let page = InlinePage {
            spec: StatsSpec {
                enabled: true,
                ..StatsSpec::default()
            },
            state: Arc::new(StateSlot::default()),
        };
        let headers = haproxide_http::Headers::default();
        let r = page.answer(&StatsRequest {
            method: b"G\xffT",
            target: b"/haproxy?stats\xff",
            http10: false,
            headers: &headers,
            body: b"",
            src: None,
            admin: false,
        });
        assert_eq!(r.status, 503);
    }
}
