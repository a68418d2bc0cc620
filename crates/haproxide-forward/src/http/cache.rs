//! The cache in the exchange (configuration.txt §6): a transaction whose rule
//! sets hold `cache-use` / `cache-store` gets a `TxnCache` (`Conn::cache`);
//! a hit `cache-use` found is answered here after the request rules, without a
//! server, through the response rules (as HAProxy's cache applet: the response
//! rules see it, `res.cache_hit` is 1, the log names the server `<CACHE>`); a
//! response `cache-store` accepted is copied as its body is forwarded
//! (`response.rs` gives the body pump the writer).

use std::sync::Arc;
use std::time::Duration;

use haproxide_http::cache::{Hit, TxnCache};
use haproxide_http::conn::{connection_value, peer_keeps_alive};
use haproxide_http::rules::{Action, HttpRule};
use haproxide_http::{write, Headers, Request};

use super::io::write_all;
use super::rules::Set;
use super::{Conn, Next};
use crate::relay::ClientStream;
use crate::session::Sess;
use crate::spec::HttpSpec;

/// Gives the transaction a cache state when `rules` use a cache.
pub(super) fn prepare(conn: &mut Conn, rules: &[HttpRule]) {
    if conn.cache.is_none()
        && rules
            .iter()
            .any(|r| matches!(r.action, Action::CacheUse(_) | Action::CacheStore(_)))
    {
        conn.cache = Some(Box::<TxnCache>::default());
    }
}

/// What `cache_answer` needs of the exchange.
pub(super) struct HitCtx<'a> {
    pub fh: &'a HttpSpec,
    pub bh: &'a HttpSpec,
    pub same_proxy: bool,
    pub client_keep: bool,
    pub tc: Option<Duration>,
}

impl Sess {
    /// Answers the request from the cache.
    pub(super) async fn cache_answer(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        req: &Request,
        hit: Hit,
        cx: HitCtx<'_>,
    ) -> Next {
        if let Some(h) = self.http_log.as_mut() {
            h.from_cache = true;
            h.t_res = 0;
        }
        self.tc = 0;
        self.tw = 0;
        let now = haproxide_http::cache::now();
        let mut head = hit.entry.answer_head(now, hit.not_modified);
        let stored = head.clone();
        // A body that came with the head is drained; one still to come closes.
        let keep = cx.client_keep && peer_keeps_alive(req.head.version, &req.info);
        let keep = keep && self.drain_body_whole(req);
        for set in [Set::Response, Set::AfterResponse] {
            if let Some(next) = self
                .response_rules(
                    client,
                    conn,
                    set,
                    cx.fh,
                    cx.bh,
                    cx.same_proxy,
                    req,
                    &mut head,
                    keep,
                    cx.tc,
                    None,
                )
                .await
            {
                return next;
            }
        }
        self.log_status(head.code);
        let with_body = !req.head.is_method("HEAD") && !hit.not_modified;
        let body = &hit.entry.body;
        // HAProxy counts what its cache applet produced, before the response
        // rules: the stored head with `Age`, and the body when it is sent.
        self.htx.from_server += super::htx::head(
            [
                &super::htx::version(stored.version),
                &stored.status,
                &stored.reason,
            ],
            &stored.headers,
        ) + if with_body { body.len() as u64 } else { 0 };
        let chunked = head.headers.has_token("transfer-encoding", "chunked");
        // A close-delimited response is served with its length (the cache
        // knows it).
        if !chunked && !head.headers.contains("content-length") && head.code != 304 {
            head.headers
                .push(b"content-length", body.len().to_string().as_bytes());
        }
        let http10 = !req.head.version.is_11() || !head.version.is_11();
        conn.out.clear();
        write::response_head(&head, connection_value(keep, http10), &mut conn.out);
        self.phase = b'D';
        if with_body {
            if chunked {
                write::chunk(body, &mut conn.out);
                write::last_chunk(&Headers::default(), &mut conn.out);
            } else {
                conn.out.extend_from_slice(body);
            }
        }
        let sent = write_all(client, &conn.out, cx.tc).await;
        conn.out.clear();
        // Logged as a local answer (`LR`), as HAProxy's applets are.
        match sent {
            Err(_) => Next::Close(*b"CD"),
            Ok(()) if !keep => Next::Close(*b"LR"),
            Ok(()) => Next::Answered(*b"LR"),
        }
    }

    /// Whether the request's body is entirely here (none, or it came with the
    /// head); consumed if so.
    fn drain_body_whole(&mut self, req: &Request) -> bool {
        match req.body {
            haproxide_http::BodyLength::None | haproxide_http::BodyLength::Length(0) => true,
            haproxide_http::BodyLength::Length(n) => match usize::try_from(n) {
                Ok(n) if self.req.filled().len() >= n => {
                    self.req.consume(n);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }
}

impl crate::Engine {
    /// The caches the proxies' `cache-use` / `cache-store` rules use (§6; `show
    /// cache`), each once, in the order the rules name them.
    pub fn caches(&self) -> Vec<Arc<haproxide_http::cache::Cache>> {
        let specs = self
            .shared
            .frontends
            .iter()
            .filter_map(|f| f.spec.http.as_ref())
            .chain(
                self.shared
                    .backends
                    .iter()
                    .filter_map(|b| b.spec.http.as_ref()),
            );
        let mut out: Vec<Arc<haproxide_http::cache::Cache>> = Vec::new();
        for h in specs {
            for r in h.http_request.iter().chain(&h.http_response) {
                if let haproxide_http::rules::Action::CacheUse(c)
                | haproxide_http::rules::Action::CacheStore(c) = &r.action
                {
                    if let Some(c) = c.get() {
                        if !out.iter().any(|k| Arc::ptr_eq(k, c)) {
                            out.push(c.clone());
                        }
                    }
                }
            }
        }
        out
    }
}
