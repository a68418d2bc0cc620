//! `http-request`, `http-response` and `http-after-response` rules in the
//! exchange (configuration.txt §4.2), run by `haproxide_http::rules`: the
//! frontend's request rules before backend switching, the backend's after it;
//! response rules the backend's then the frontend's, then `http-after-response`.
//! A final verdict (deny, return, redirect, auth, tarpit) answers the request.

use std::time::Duration;

use haproxide_http::conn::{connection_value, peer_keeps_alive};
use haproxide_http::rules::rewrite::{request_size, response_size};
use haproxide_http::rules::{run_request_from, run_response_from, Rewrite, Run, Txn, Verdict};
use haproxide_http::{BodyLength, Request, RequestHead, ResponseHead};

use super::io::write_all;
use super::{Conn, Next};
use crate::relay::ClientStream;
use crate::server_stream::ServerStream;
use crate::session::Sess;
use crate::spec::HttpSpec;

/// Which rule set of a proxy.
#[derive(Clone, Copy)]
pub(super) enum Set {
    Response,
    AfterResponse,
}

impl Sess {
    /// Runs `spec`'s `http-request` rules on `req` (`backend`: the backend half's
    /// name, None for a frontend's). `Some` when they answered the request.
    pub(super) async fn request_rules(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        spec: &HttpSpec,
        backend: Option<&str>,
        req: &mut Request,
        tc: Option<Duration>,
    ) -> Option<Next> {
        if backend.is_none() {
            // The room for rewrites, fixed when the head was received.
            let body = body_in(req.body, self.req.filled().len());
            conn.room[0] = spec.tune.room(request_size(&req.head), body).limit;
        }
        // `tcp-request content` with stick counters first (crate::track).
        if !spec.tcp_content.is_empty() {
            if let Some(next) = self.http_tcp_content(conn, spec, backend, &req.head) {
                return Some(next);
            }
        }
        // SPOE.txt §3.3: just before the half's `http-request` rules.
        if !spec.spoe.is_empty() {
            let ev = match backend {
                None => haproxide_spoe::Event::FrontendHttpRequest,
                Some(_) => haproxide_spoe::Event::BackendHttpRequest,
            };
            self.spoe_event(conn, spec, ev, backend, &req.head, None)
                .await;
        }
        if spec.http_request.is_empty() {
            return self.restrict_names(client, spec, req, tc).await;
        }
        super::cache::prepare(conn, &spec.http_request);
        let shared = self.shared.clone();
        let fe = shared.frontends[self.fe].spec.name.as_str();
        let mut from = 0;
        let mut rw = Rewrite {
            limit: conn.room[0],
            ..Rewrite::default()
        };
        let (verdict, captures, src, dst) = loop {
            let (run, captures, src, dst) = {
                let view = self.stick_view(backend.unwrap_or(fe), haproxide_stick::Level::Http);
                let mut txn = Txn {
                    stick: view
                        .as_ref()
                        .map(|v| v as &(dyn haproxide_expr::stktab::StickCtx + Sync)),
                    src: self.src,
                    dst: self.dst,
                    frontend: fe,
                    backend,
                    server: None,
                    vars: &mut conn.vars,
                    userlists: &spec.userlists,
                    errors: &spec.errors,
                    log_level: None,
                    captures: Vec::new(),
                    tls: self.tls.as_deref(),
                    servers: Some(&*self.shared),
                    // A Content-Length body buffered whole (`option
                    // http-buffer-request`, `wait-for-body`): what `req.body` reads.
                    body: match req.body {
                        BodyLength::Length(n) => usize::try_from(n)
                            .ok()
                            .and_then(|n| self.req.filled().get(..n)),
                        _ => None,
                    },
                    seen: self.seen(&shared),
                    cache: conn.cache.as_deref(),
                    rw,
                };
                let r = run_request_from(&spec.http_request, from, &mut req.head, &mut txn);
                rw = txn.rw;
                (r, txn.captures, txn.src, txn.dst)
            };
            match run {
                Run::Done(v) => break (v, captures, src, dst),
                Run::Spoe { at, engine, group } => {
                    self.src = src;
                    self.dst = dst;
                    self.keep_captures(captures);
                    self.spoe_group(conn, spec, &engine, &group, backend, &req.head, None)
                        .await;
                    from = at + 1;
                }
                Run::Wait { at, time, at_least } => {
                    self.src = src;
                    self.dst = dst;
                    self.keep_captures(captures);
                    let max = haproxide_http::parse::ParseOptions::default().max_head;
                    match self.wait_body(client, req, Some(time), at_least, max).await {
                        Ok(()) => from = at + 1,
                        // §4.3: the body did not come in time: 408.
                        // HAProxy 2.6.12 sends the proxy's page through HTX
                        // (lowercase, `connection: close` last), logged `cR`.
                        Err(super::buffer::Wait::Timeout) => {
                            return self
                                .late_body(client, spec, 408, *b"cR", &req.head, tc)
                                .await;
                        }
                        Err(super::buffer::Wait::Closed) => return Some(Next::Close(*b"CR")),
                    }
                }
            }
        };
        self.count_failed_rewrites(rw.failed);
        // `set-src`/`set-dst` & co: the session's addresses from now on (later
        // rules, `option forwardfor`, the log), as HAProxy's session origin.
        self.src = src;
        self.dst = dst;
        self.keep_captures(captures);
        if matches!(verdict, Verdict::Continue | Verdict::Allow) {
            return self.restrict_names(client, spec, req, tc).await;
        }
        // A body that came whole with the head is drained, and the connection
        // stays (HAProxy 2.6.12, measured); one still to come closes it.
        let keep = peer_keeps_alive(req.head.version, &req.info) && self.drain_body(req);
        self.rule_answer(client, verdict, spec, keep, &req.head, tc)
            .await
    }

    /// A `wait-for-body` whose body did not come in time: the proxy's page for
    /// `status` (408 request, 504 response), the connection closed, logged `term`.
    async fn late_body(
        &mut self,
        client: &mut ClientStream,
        spec: &HttpSpec,
        status: u16,
        term: [u8; 2],
        req: &RequestHead,
        tc: Option<Duration>,
    ) -> Option<Next> {
        let reply = Verdict::Reply(spec.errors.reply(status));
        self.rule_answer(client, reply, spec, false, req, tc)
            .await
            .map(|n| match n {
                Next::Answered(t) | Next::Close(t) if t == *b"PR" => Next::Close(term),
                n => n,
            })
    }

    /// What `capture.req.*`/`capture.res.*` and `so_name` read: the log's capture
    /// slots and request line, the listener's name.
    pub(crate) fn seen<'s>(&'s self, shared: &'s crate::Shared) -> haproxide_http::ctx::Seen<'s> {
        let fe = &shared.frontends[self.fe].spec;
        let listener = self
            .bind
            .and_then(|b| fe.binds.get(b))
            .and_then(|b| b.name.as_deref());
        match self.http_log.as_deref() {
            Some(h) => haproxide_http::ctx::Seen {
                req_caps: &h.req_captures,
                res_caps: &h.res_captures,
                request_line: h.request_line.as_deref(),
                listener,
                server_cert: None,
            },
            None => haproxide_http::ctx::Seen {
                listener,
                ..Default::default()
            },
        }
    }

    /// Request captures (`http-request capture`) into the log's slots.
    fn keep_captures(&mut self, captures: Vec<(usize, Vec<u8>)>) {
        if let Some(h) = self.http_log.as_mut() {
            for (slot, v) in captures {
                if let Some(s) = h.req_captures.get_mut(slot) {
                    *s = Some(v.into_boxed_slice());
                }
            }
        }
    }

    /// `option http-restrict-req-hdr-names` of the proxy whose request rules
    /// just ran: headers deleted, or the request refused with the proxy's 403
    /// page (logged `PR`, the connection kept as after a `deny`).
    async fn restrict_names(
        &mut self,
        client: &mut ClientStream,
        spec: &HttpSpec,
        req: &mut Request,
        tc: Option<Duration>,
    ) -> Option<Next> {
        if haproxide_http::hdrnames::apply(spec.restrict_hdr_names, &mut req.head.headers) {
            return None;
        }
        let keep = peer_keeps_alive(req.head.version, &req.info) && self.drain_body(req);
        let verdict = Verdict::Reply(spec.errors.reply(403));
        self.rule_answer(client, verdict, spec, keep, &req.head, tc)
            .await
    }

    /// Runs the response rules of the backend (`be`) then of the frontend (`fe`,
    /// skipped when it is the same `listen` section) on `res`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn response_rules(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        set: Set,
        fe: &HttpSpec,
        be: &HttpSpec,
        same_proxy: bool,
        req: &Request,
        res: &mut ResponseHead,
        keep: bool,
        tc: Option<Duration>,
        mut server_side: Option<(&mut ServerStream, BodyLength)>,
    ) -> Option<Next> {
        let pick = |s: &'_ HttpSpec| -> usize {
            match set {
                Set::Response => s.http_response.len(),
                Set::AfterResponse => s.http_after_response.len(),
            }
        };
        if matches!(set, Set::Response) {
            // A response from the cache has no server bytes buffered.
            let body = match &server_side {
                Some((_, res_body)) => body_in(*res_body, conn.srv_buf.filled().len()),
                None => 0,
            };
            conn.room[1] = be.tune.room(response_size(res), body).limit;
        }
        let spoe = matches!(set, Set::Response) && !(fe.spoe.is_empty() && be.spoe.is_empty());
        if pick(fe) == 0 && pick(be) == 0 && !spoe {
            return None;
        }
        let shared = self.shared.clone();
        let fe_name = shared.frontends[self.fe].spec.name.as_str();
        // The backend held by its `Arc` (no copy of its or its server's name).
        let backend = self.backend.clone();
        let be_name = backend.as_ref().map(|b| b.spec.name.as_str());
        // `srv_name` / `srv_id` (§7.3.3): the id is the server's position from 1,
        // HAProxy's automatic numbering.
        let srv = match (&backend, self.server) {
            (Some(b), Some(i)) => b.server(i).map(|s| (s.name.as_str(), i as i64 + 1)),
            _ => None,
        };
        // `ssl_s_*` (§7.3.4): the certificate of a TLS server connection.
        let server_cert = server_side.as_ref().and_then(|(s, _)| s.peer_cert());
        // A `listen` section's rules are on its frontend half (translate gives
        // the backend half none, so that they run once).
        let sides: &[&HttpSpec] = if same_proxy { &[fe] } else { &[be, fe] };
        for (side, spec) in sides.iter().enumerate() {
            let cur = match (side, be_name) {
                (0, Some(b)) => b,
                _ => fe_name,
            };
            let rules = match set {
                Set::Response => &spec.http_response,
                Set::AfterResponse => &spec.http_after_response,
            };
            // SPOE.txt §3.3 `on-http-response`: before the half's rules.
            if spoe && !spec.spoe.is_empty() {
                let ev = haproxide_spoe::Event::HttpResponse;
                self.spoe_event(conn, spec, ev, be_name, &req.head, Some(&*res))
                    .await;
            }
            if rules.is_empty() {
                continue;
            }
            super::cache::prepare(conn, rules);
            let mut from = 0;
            let mut rw = Rewrite {
                limit: conn.room[1],
                ..Rewrite::default()
            };
            let verdict = loop {
                let run = {
                    let view = self.stick_view(cur, haproxide_stick::Level::Http);
                    let mut txn = Txn {
                        stick: view
                            .as_ref()
                            .map(|v| v as &(dyn haproxide_expr::stktab::StickCtx + Sync)),
                        src: self.src,
                        dst: self.dst,
                        frontend: fe_name,
                        backend: be_name,
                        server: srv,
                        vars: &mut conn.vars,
                        userlists: &spec.userlists,
                        errors: &spec.errors,
                        log_level: None,
                        captures: Vec::new(),
                        tls: self.tls.as_deref(),
                        servers: Some(&*self.shared),
                        body: None,
                        seen: haproxide_http::ctx::Seen {
                            server_cert: server_cert.as_deref(),
                            ..self.seen(&shared)
                        },
                        cache: conn.cache.as_deref(),
                        rw,
                    };
                    let r = run_response_from(rules, from, &req.head, res, &mut txn);
                    rw = txn.rw;
                    r
                };
                let (at, time, at_least) = match run {
                    Run::Done(v) => {
                        self.count_failed_rewrites(rw.failed);
                        break v;
                    }
                    Run::Wait { at, time, at_least } => (at, time, at_least),
                    Run::Spoe { at, engine, group } => {
                        let b = be_name;
                        self.spoe_group(conn, spec, &engine, &group, b, &req.head, Some(&*res))
                            .await;
                        from = at + 1;
                        continue;
                    }
                };
                from = at + 1;
                // §4.3 `http-response wait-for-body`: the server's body (or
                // `at-least` bytes of it) within `time`, else 504.
                // A response from the cache has its body whole already.
                let Some((server, res_body)) = server_side.as_mut().map(|(s, b)| (&mut **s, *b))
                else {
                    continue;
                };
                if !super::buffer::wait_server_body(server, conn, res_body, time, at_least).await {
                    return self
                        .late_body(client, spec, 504, *b"sH", &req.head, tc)
                        .await;
                }
            };
            match verdict {
                Verdict::Continue => {}
                Verdict::Allow => {}
                // `http-response deny` ends the response headers' processing:
                // HAProxy logs it `PH` (a rule answer on the request is `PR`).
                Verdict::Reply(r) => {
                    return self
                        .rule_answer(client, Verdict::Reply(r), spec, keep, &req.head, tc)
                        .await
                        .map(|n| match n {
                            Next::Answered(t) if t == *b"PR" => Next::Answered(*b"PH"),
                            Next::Close(t) if t == *b"PR" => Next::Close(*b"PH"),
                            n => n,
                        })
                }
                Verdict::SilentDrop => {
                    // The response was received: its status is logged (HAProxy 2.6.12).
                    self.log_status(res.code);
                    return self
                        .rule_answer(client, Verdict::SilentDrop, spec, keep, &req.head, tc)
                        .await;
                }
                v => return self.rule_answer(client, v, spec, keep, &req.head, tc).await,
            }
        }
        None
    }

    /// `failed_rewrites` of the frontend, the backend once assigned and the
    /// server once chosen (the `wrew` stats column).
    fn count_failed_rewrites(&self, n: u32) {
        if n > 0 {
            let be = self.backend.as_ref().map(|b| b.idx);
            let srv = self.server;
            self.shared
                .http
                .failed_rewrites(self.fe, be, srv, u64::from(n));
        }
    }

    /// Sends the answer of a final verdict (after `timeout tarpit` for a tarpit).
    async fn rule_answer(
        &mut self,
        client: &mut ClientStream,
        verdict: Verdict,
        spec: &HttpSpec,
        keep: bool,
        req: &RequestHead,
        tc: Option<Duration>,
    ) -> Option<Next> {
        // A deny or tarpit counts as an HTTP error on the tracked counters.
        if let (Verdict::Reply(_) | Verdict::Tarpit(_), Some(tr)) = (&verdict, self.stk.as_deref())
        {
            tr.http_err();
        }
        let (reply, term) = match verdict {
            Verdict::Continue | Verdict::Allow => return None,
            Verdict::SilentDrop => {
                if let Some(t) = crate::relay::Peer::tcp(client) {
                    crate::sys::silent_drop(std::os::fd::AsRawFd::as_raw_fd(t));
                }
                *client = ClientStream::Closed;
                return Some(Next::Close(*b"PR"));
            }
            Verdict::Reply(r) => (r, *b"PR"),
            Verdict::Local(r) => (r, *b"LR"),
            Verdict::Tarpit(r) => {
                let be_connect = self.backend.as_ref().and_then(|b| b.spec.timeout_connect);
                let wait = spec.timeout_tarpit.or(be_connect).unwrap_or(Duration::ZERO);
                tokio::time::sleep(wait).await;
                (r, *b"PT")
            }
        };
        // A deny with HAProxy's 400 or 408 page closes: those two pages keep
        // their `Connection: close` through HTX (HAProxy 2.6.12, measured; the
        // other pages and `return status 400` keep the connection).
        let page_closes = matches!(term, [b'P', _]) && matches!(reply.head.code, 400 | 408);
        let keep = keep && !page_closes;
        let http10 = !req.version.is_11() || !reply.head.version.is_11();
        if reply.silent {
            self.log_status(reply.head.code);
            return Some(Next::Close(term));
        }
        let mut reply = reply;
        self.after_response_on_reply(req, &mut reply.head);
        self.log_status(reply.head.code);
        // An answer to HEAD has no body (nor counts one), as HAProxy's.
        let body = if req.method == b"HEAD" {
            0
        } else {
            reply.body.len()
        };
        self.htx.from_server += super::htx::head(
            [
                &super::htx::version(reply.head.version),
                &reply.head.status,
                &reply.head.reason,
            ],
            &reply.head.headers,
        ) + body as u64
            // The page's own `Connection: close`, kept in HTX (counted as sent).
            + if page_closes { 15 } else { 0 };
        let mut bytes = reply.to_bytes(connection_value(keep, http10));
        bytes.truncate(bytes.len() - (reply.body.len() - body));
        if write_all(client, &bytes, tc).await.is_err() || !keep {
            return Some(Next::Close(term));
        }
        Some(Next::Answered(term))
    }

    /// §4.2 `http-after-response`: the rules also run on the proxy's own
    /// answers (`deny`, `return`, `redirect`, `auth`, `http-response deny`): the
    /// backend's (once chosen), then the frontend's (not twice for a `listen`);
    /// `allow` ends a side's rules, other final verdicts are ignored here. The
    /// rules see the transaction's request and this reply, but not the
    /// transaction's variables (a fresh set: a `set-var(res.x)` then
    /// `var(res.x)` works, `txn.` variables of the request rules do not).
    pub(super) fn after_response_on_reply(&mut self, req: &RequestHead, head: &mut ResponseHead) {
        let shared = self.shared.clone();
        let fert = &shared.frontends[self.fe];
        let be = self.backend.clone();
        let fe_spec = fert.spec.http.as_ref();
        let be_spec = be.as_ref().and_then(|b| b.spec.http.as_ref());
        let same = be.as_ref().is_some_and(|b| b.spec.name == fert.spec.name);
        let sides = [be_spec, if same { None } else { fe_spec }];
        let mut vars = haproxide_http::rules::Vars::default();
        for spec in sides.into_iter().flatten() {
            if spec.http_after_response.is_empty() {
                continue;
            }
            let mut txn = Txn {
                src: self.src,
                dst: self.dst,
                frontend: fert.spec.name.as_str(),
                backend: be.as_ref().map(|b| b.spec.name.as_str()),
                server: None,
                vars: &mut vars,
                userlists: &spec.userlists,
                errors: &spec.errors,
                log_level: None,
                captures: Vec::new(),
                tls: self.tls.as_deref(),
                servers: Some(&*shared),
                body: None,
                seen: self.seen(&shared),
                // HAProxy's own replies: no tracking there.
                stick: None,
                cache: None,
                rw: Rewrite::default(),
            };
            let _ = run_response_from(&spec.http_after_response, 0, req, head, &mut txn);
        }
    }

    /// Whether the request's body is entirely in the client buffer (none, or
    /// it came with the head); if so it is consumed, so that the next request
    /// can be read after an answer that did not forward it.
    fn drain_body(&mut self, req: &Request) -> bool {
        match req.body {
            BodyLength::None | BodyLength::Length(0) => true,
            BodyLength::Length(n) => match usize::try_from(n) {
                Ok(n) if self.req.filled().len() >= n => {
                    self.req.consume(n);
                    true
                }
                _ => false,
            },
            BodyLength::Chunked => {
                let mut dec = haproxide_http::BodyDecoder::new(
                    BodyLength::Chunked,
                    haproxide_http::ParseOptions::default().max_head,
                );
                let mut at = 0;
                loop {
                    let Some(rest) = self.req.filled().get(at..) else {
                        return false;
                    };
                    match dec.step(rest) {
                        Ok((n, haproxide_http::Step::Done)) => {
                            self.req.consume(at + n);
                            return true;
                        }
                        Ok((_, haproxide_http::Step::NeedMore)) | Err(_) => return false,
                        Ok((n, _)) => at += n,
                    }
                }
            }
            _ => false,
        }
    }
}

/// The body bytes of a message already in its buffer (`have`: the bytes after
/// the head), for the rewrite room.
fn body_in(body: BodyLength, have: usize) -> usize {
    match body {
        BodyLength::Length(n) => usize::try_from(n).unwrap_or(usize::MAX).min(have),
        BodyLength::Chunked | BodyLength::UntilClose => have,
        _ => 0,
    }
}
