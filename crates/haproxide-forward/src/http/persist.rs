//! Persistence of an HTTP request (configuration.txt §4.2 `cookie`,
//! `ignore-persist`, `force-persist`, `option persist`,
//! `option prefer-last-server`): the engine's side of `haproxide_http::persist`,
//! in HAProxy's order (request cookies after the backend's `http-request`
//! rules; response cookies after the `http-response` rules, before the
//! `http-after-response` ones).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use haproxide_http::persist::{self as ck, ClientCookie, InsertCtx, PersistFlags, ServerCookie};
use haproxide_http::{Request, ResponseHead};

use super::Conn;
use crate::lb::BackendRt;
use crate::rules::{eval_cond, Tri};
use crate::session::Sess;

/// What the request side decided, for the response side.
#[derive(Debug, Clone, Copy)]
pub(super) struct PersistTxn {
    pub client: ClientCookie,
    /// `ignore-persist` matched.
    pub ignore: bool,
    pub is_post: bool,
}

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

impl Sess {
    /// The request side: persistence rules, the request's cookie (which may
    /// choose the server: `self.direct`), `prefer-last-server`.
    pub(super) fn persist_request(
        &mut self,
        be: &Arc<BackendRt>,
        conn: &Conn,
        req: &mut Request,
    ) -> Option<PersistTxn> {
        let p = be.spec.persist.as_deref()?;
        let (mut ignore, mut force) = (false, false);
        if !p.rules.is_empty() {
            let fname = &self.shared.frontends[self.fe].spec.name;
            let ctx = haproxide_http::ctx::MsgCtx {
                src: self.src,
                dst: self.dst,
                req: Some(&req.head),
                vars: Some(&conn.vars),
                frontend: Some(fname),
                backend: Some(&be.spec.name),
                tls: self.tls.as_deref(),
                ..Default::default()
            };
            // The first rule that matches decides (HAProxy's persist_rules).
            if let Some((f, _)) = p
                .rules
                .iter()
                .find(|(_, c)| eval_cond(Some(c), &ctx) == Tri::Pass)
            {
                force = *f;
                ignore = !*f;
            }
        }
        let method = &req.head.method[..];
        let mut txn = PersistTxn {
            client: ClientCookie {
                server: None,
                state: b'N',
                first_date: 0,
                last_date: 0,
            },
            ignore,
            is_post: method == b"POST",
        };
        if let Some(cs) = &p.cookie {
            let servers: Vec<ServerCookie<'_>> = (0..be.server_count())
                .map(|s| ServerCookie {
                    cookie: be
                        .server(s)
                        .filter(|_| !be.server_deleted(s))
                        .and_then(|x| x.cookie.as_deref()),
                    up: be.server_running(s),
                })
                .collect();
            let flags = PersistFlags {
                ignore,
                force,
                persist: p.option_persist,
                assigned: false,
            };
            txn.client = ck::client_side(cs, &mut req.head.headers, &servers, flags, now_secs());
            if let Some(s) = txn.client.server {
                self.direct = Some((s, force));
            }
            if cs.logs_state() {
                if let Some(h) = self.http_log.as_mut() {
                    h.cookie_state = [txn.client.state, b'N'];
                }
            }
        }
        // §4.2 `option prefer-last-server`: the server this session already has
        // an idle connection to, if it is running.
        if self.direct.is_none() && p.prefer_last {
            if let Some(r) = conn
                .idle
                .iter()
                .rev()
                .find(|r| r.be == be.idx && be.server_running(r.srv))
            {
                self.direct = Some((r.srv, false));
            }
        }
        Some(txn)
    }

    /// The response side: the server's `Set-Cookie`, then HAProxy's own in
    /// `insert` mode (final responses and 101 only).
    pub(super) fn persist_response(&mut self, txn: Option<PersistTxn>, head: &mut ResponseHead) {
        let Some(txn) = txn else {
            return;
        };
        if head.code < 200 && head.code != 101 {
            return;
        }
        let Some(be) = self.backend.clone() else {
            return;
        };
        let Some(cs) = be.spec.persist.as_deref().and_then(|p| p.cookie.as_ref()) else {
            return;
        };
        let srv_cookie = self
            .server
            .and_then(|s| be.server(s))
            .and_then(|x| x.cookie.as_deref());
        // HAProxy's SF_DIRECT: the cookie chose the server and no redispatch
        // left it.
        let direct = txn.client.server.is_some() && self.direct.is_some();
        let client = ClientCookie {
            server: txn.client.server.filter(|_| direct),
            ..txn.client
        };
        let mut set = ck::server_side(cs, &mut head.headers, srv_cookie, direct, txn.ignore);
        if self.server.is_some() {
            let ctx = InsertCtx {
                server_cookie: srv_cookie,
                client,
                set_state: set,
                is_post: txn.is_post,
                ignore: txn.ignore,
                // `nocache`: HAProxy 2.6.12 adds no `Cache-control: private`
                // (see InsertCtx::cacheable; tests/persist.rs compares).
                cacheable: false,
                now: now_secs(),
            };
            set = ck::insert(cs, &mut head.headers, ctx);
        }
        if cs.logs_state() {
            if let Some(h) = self.http_log.as_mut() {
                h.cookie_state[1] = set;
            }
        }
    }
}
