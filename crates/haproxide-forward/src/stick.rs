//! Session persistence on stick tables (configuration.txt §4.2 `stick match`,
//! `stick on`, `stick store-request`, `stick store-response`), as HAProxy 2.6's
//! `process_sticking_rules` and `process_store_rules` run them:
//!
//! - before the server is chosen (after cookie persistence and the server
//!   rules), each request rule whose condition passes computes its key: a
//!   `match`/`on` rule whose entry names a server that runs sends the request
//!   there; a storing rule keeps its key for later (only the first storing rule
//!   per table counts, at most 8 per stream);
//! - once the response head is in (HTTP) or the server connection is up
//!   (TCP), `store-response` rules add their keys, then every kept key is
//!   written with the chosen server: `server_id` (its position from 1) and
//!   `server_key` (its name, or `ip:port` with the table's `srvkey addr`).
//!
//! A stored server is found again by `server_key` (name or address) first, then
//! by `server_id`, as `sticking_rule_find_target`.

use std::sync::Arc;

use haproxide_expr::{Context, Tri};

use crate::lb::BackendRt;
use crate::session::Sess;
use crate::spec::{ServerPort, ServerSpec, StickRule};

/// HAProxy's `s->store[]`: at most this many keys to store per stream.
const MAX_STORES: usize = 8;

/// A key a storing rule computed, to be written with the chosen server.
#[derive(Debug)]
pub(crate) struct Pending {
    table: usize,
    key: Box<[u8]>,
}

impl Sess {
    /// HTTP: the response head is in (HAProxy's `AN_RES_STORE_RULES`, before
    /// the `http-response` rules): `store-response` rules, then the stores.
    pub(crate) fn stick_response(
        &mut self,
        req: &haproxide_http::head::RequestHead,
        res: &haproxide_http::head::ResponseHead,
        vars: Option<&haproxide_http::rules::Vars>,
    ) {
        let Some(be) = self.backend.clone() else {
            return;
        };
        if be.spec.stick.is_none() {
            return;
        }
        let tls = self.tls.take();
        let ctx = haproxide_http::ctx::MsgCtx {
            src: self.src,
            dst: self.dst,
            req: Some(req),
            res: Some(res),
            vars,
            tls: tls.as_deref(),
            ..Default::default()
        };
        self.stick_store(&be, Some(&ctx));
        self.tls = tls;
    }
}

/// `server_key` of a server under `srvkey addr` (HAProxy's `sa2str`: `ip:port`,
/// a signed port with mapped ports); `None` without an address.
fn addr_key(s: &ServerSpec) -> Option<String> {
    if s.ip.is_unspecified() {
        return None;
    }
    Some(match s.port {
        ServerPort::Fixed(p) => format!("{}:{p}", s.ip),
        ServerPort::SameAsClient => format!("{}:0", s.ip),
        ServerPort::Offset(o) => format!("{}:{o:+}", s.ip),
    })
}

/// The key rule `r` computes on `ctx` when its condition passes.
fn rule_key(r: &StickRule, t: &haproxide_stick::Table, ctx: &dyn Context) -> Option<Box<[u8]>> {
    if let Some(c) = &r.cond {
        if c.eval(ctx) != Tri::Pass {
            return None;
        }
    }
    let v = r.expr.value(ctx)?;
    t.spec.key.key_of(&v)
}

impl Sess {
    /// The request's stick rules (`match`, `on`, `store-request`) on `ctx`:
    /// a stored server that runs becomes the request's (unless persistence
    /// already chose one); storing rules' keys are kept for
    /// [`Sess::stick_store`].
    pub(crate) fn stick_request(&mut self, be: &BackendRt, ctx: Option<&dyn Context>) {
        let Some(spec) = be.spec.stick.as_deref() else {
            return;
        };
        let mut pending = std::mem::take(&mut self.stick_pending);
        pending.clear();
        let direct = match ctx {
            Some(c) => self.stick_eval(be, &spec.request, c, &mut pending),
            None => {
                let c = self.ctx(true);
                self.stick_eval(be, &spec.request, &c, &mut pending)
            }
        };
        self.direct = direct;
        self.stick_pending = pending;
    }

    fn stick_eval(
        &self,
        be: &BackendRt,
        rules: &[StickRule],
        ctx: &dyn Context,
        pending: &mut Vec<Pending>,
    ) -> Option<(usize, bool)> {
        let tables = &self.shared.tables;
        let now = haproxide_stick::now_ms();
        let mut direct = self.direct;
        for r in rules {
            let Some(t) = tables.list.get(r.table) else {
                continue;
            };
            // Only the first storing rule of each table applies.
            if r.stores && pending.iter().any(|p| p.table == r.table) {
                continue;
            }
            let Some(key) = rule_key(r, t, ctx) else {
                continue;
            };
            if r.matches {
                if t.spec.handover {
                    t.pull_now();
                }
                let found = t.lock(now).server_of(&key);
                if let (None, Some((id, skey))) = (direct, found) {
                    if let Some(s) = find_server(be, t, id, skey.as_deref()) {
                        if be.server_running(s) {
                            direct = Some((s, false));
                        }
                    }
                }
            }
            if r.stores && pending.len() < MAX_STORES {
                pending.push(Pending {
                    table: r.table,
                    key,
                });
            }
        }
        direct
    }

    /// `store-response` rules on `res` (the response's context; `None`: none
    /// run), then every kept key written with the chosen server.
    pub(crate) fn stick_store(&mut self, be: &BackendRt, res: Option<&dyn Context>) {
        let Some(spec) = be.spec.stick.as_deref() else {
            return;
        };
        let tables = self.shared.tables.clone();
        let nreq = self.stick_pending.len();
        if let Some(ctx) = res {
            for r in &spec.response {
                let Some(t) = tables.list.get(r.table) else {
                    continue;
                };
                // One store-response entry per table, beside the request's.
                if self.stick_pending[nreq..]
                    .iter()
                    .any(|p| p.table == r.table)
                {
                    continue;
                }
                if let Some(key) = rule_key(r, t, ctx) {
                    if self.stick_pending.len() < MAX_STORES {
                        self.stick_pending.push(Pending {
                            table: r.table,
                            key,
                        });
                    }
                }
            }
        }
        let pending = std::mem::take(&mut self.stick_pending);
        let Some(srv) = self.server else {
            return;
        };
        let Some(s) = be.server(srv) else {
            return;
        };
        let now = haproxide_stick::now_ms();
        for p in &pending {
            let Some(t) = tables.list.get(p.table) else {
                continue;
            };
            let skey: Option<Arc<str>> = if t.spec.srvkey_addr {
                addr_key(s).map(Arc::from)
            } else {
                Some(Arc::from(s.name.as_str()))
            };
            t.lock(now).set_server(&p.key, srv as i64 + 1, skey);
            if t.spec.handover {
                t.push_now();
            }
        }
        // The buffer is kept for the next request of the connection.
        self.stick_pending = pending;
        self.stick_pending.clear();
    }
}

/// The server of `be` an entry names: by `server_key` (name, or address with
/// `srvkey addr`) first, then by `server_id` (HAProxy's
/// `sticking_rule_find_target`).
fn find_server(
    be: &BackendRt,
    t: &haproxide_stick::Table,
    id: Option<i64>,
    skey: Option<&str>,
) -> Option<usize> {
    let n = be.server_count();
    if let Some(k) = skey {
        let by_key = (0..n).find(|&i| {
            be.server(i).is_some_and(|s| {
                if t.spec.srvkey_addr {
                    addr_key(s).as_deref() == Some(k)
                } else {
                    s.name == k
                }
            })
        });
        if by_key.is_some() {
            return by_key;
        }
    }
    let i = usize::try_from(id?).ok()?.checked_sub(1)?;
    (i < n && be.server(i).is_some()).then_some(i)
}
