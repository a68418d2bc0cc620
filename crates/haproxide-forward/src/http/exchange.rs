//! One request and its response on an HTTP client connection (see the module
//! documentation of [`super`]; docs/http.md has the states and timeouts).

use std::time::Duration;

use crate::server_stream::ServerStream;
use haproxide_http::conn::{connection_value, peer_keeps_alive};
use haproxide_http::{
    errors, parse_request, write, BodyDecoder, BodyLength, ParseOptions, Parsed, Request,
};

use super::io::{read_until, write_all, IoFail, Pump, PumpFail};
use super::{headers, Conn, Next};
use crate::relay::ClientStream;
use crate::rules::{eval_cond, Tri};
use crate::session::Sess;
use crate::spec::{HttpConnMode, HttpSpec};

/// A backend without HTTP options (it cannot happen: translate pairs HTTP
/// frontends with HTTP backends only; this keeps the engine total).
static PLAIN: HttpSpec = HttpSpec {
    http_request: Vec::new(),
    http_response: Vec::new(),
    http_after_response: Vec::new(),
    tcp_content: Vec::new(),
    errors: haproxide_http::reply::ErrorPages {
        custom: Vec::new(),
        replies: Vec::new(),
    },
    userlists: Vec::new(),
    timeout_tarpit: None,
    conn_mode: HttpConnMode::KeepAlive,
    timeout_request: None,
    timeout_keep_alive: None,
    accept_invalid: false,
    forwardfor: None,
    originalto: None,
    buffer_request: false,
    ignore_probes: false,
    unique_id: None,
    compression: None,
    monitor_uri: None,
    monitor_fail: Vec::new(),
    restrict_hdr_names: haproxide_http::hdrnames::HdrNamePolicy::Preserve,
    stats: None,
    spoe: Vec::new(),
    tune: haproxide_http::rules::BufTune::DEFAULT,
    splice_request: false,
    splice_response: false,
};

/// How the wait for a request head ended without one.
pub(super) enum Head {
    /// Nothing came: close without a word (idle keep-alive connection).
    Idle,
    /// Closed by the client (or an error) mid-head.
    Closed([u8; 2]),
    /// Answer HAProxy's own page for this status (400, 408, 422), then close.
    Reply(u16, [u8; 2]),
    /// The HTTP/2 preface as the first request: the connection speaks HTTP/2
    /// (the bytes read stay in `Sess::req`; see the `http2` module).
    H2,
}

/// A transaction whose response went out whole: its server connection, whether
/// that connection may serve another request, and whether the client's may.
pub(super) struct Served {
    pub(super) server: ServerStream,
    pub(super) server_keep: bool,
    pub(super) client_keep: bool,
}

/// A request being answered: what the steps after the head need.
pub(super) struct Ex<'a> {
    pub req: &'a Request,
    pub client_keep: bool,
    pub http10: bool,
    pub tc: Option<Duration>,
    pub ts: Option<Duration>,
    /// How the server's responses are parsed (`accept-invalid-http-response`).
    pub bopts: ParseOptions,
    /// The HTTP settings of the frontend and the backend (their response rules).
    pub fh: &'a HttpSpec,
    pub bh: &'a HttpSpec,
    /// The backend is the frontend's own `listen` section.
    pub same_proxy: bool,
    /// The compression algorithm the request allows (§9.2, the `compress` module).
    pub comp: Option<haproxide_http::compress::Algo>,
    /// What persistence decided on the request (the backend has some).
    pub persist: Option<super::persist::PersistTxn>,
    /// The client asked with `HEAD` (before any `set-method`): the response
    /// goes to it without a body, whatever the server sent (see `response`).
    pub client_head: bool,
}

impl Sess {
    pub(super) async fn http_exchange(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        first: bool,
    ) -> Next {
        let shared = self.shared.clone();
        let fert = &shared.frontends[self.fe];
        let fh = fert.spec.http.as_ref().unwrap_or(&PLAIN);
        let tc = fert.light.timeout_client;
        let opts = fh.tune.parse_options(fh.accept_invalid);
        self.phase = b'R';
        let mut req = match self.read_head(client, fh, tc, first, &opts).await {
            Ok(r) => {
                // Taken back from the pool now that a request came (see `rest`).
                super::vecs_take(&mut conn.out);
                super::vecs_take(&mut conn.chunk);
                r
            }
            Err(Head::Idle) => return Next::Idle,
            Err(Head::H2) => return Next::H2,
            Err(Head::Closed(t)) => return Next::Close(t),
            Err(Head::Reply(status, t)) => {
                self.log_status(status);
                // HAProxy 2.6's H1 layer answers with its own page, as
                // stored, even when the proxy has an `errorfile` for the
                // status (measured: `errorfile 400` in defaults or frontend).
                let page = errors::raw(status);
                let _ = write_all(client, page, tc).await;
                return Next::Close(t);
            }
        };
        // HAProxy decides a response's bodylessness on the client's side, from
        // the method it received: `http-request set-method GET` on a HEAD still
        // gives the client no body.
        let client_head = req.head.method.as_slice() == b"HEAD";
        // §4.2 `track-sc*`: one more request on the session's counters.
        if let Some(tr) = self.stk.as_deref() {
            tr.http_req();
        }
        if let Some(m) = fh.monitor_uri.as_deref() {
            if haproxide_expr::http::is_monitor_uri(m, &req.head.uri) {
                let ctx = self.req_ctx(&req.head, &conn.vars, &fert.spec.name);
                let fail = fh
                    .monitor_fail
                    .iter()
                    .any(|c| eval_cond(Some(c), &ctx) == Tri::Pass);
                let status = if fail { 503 } else { 200 };
                return self.monitor_answer(client, fh, &req, status, tc).await;
            }
        }
        // `option http-buffer-request` (the frontend's or a backend's: HAProxy
        // waits where the option is; haproxide before the frontend's rules).
        let buffer = fh.buffer_request
            || fert
                .light
                .use_backends
                .iter()
                .map(|(b, _)| *b)
                .chain(fert.light.default_backend)
                .any(|b| {
                    shared
                        .backends
                        .get(b)
                        .and_then(|be| be.spec.http.as_ref())
                        .is_some_and(|h| h.buffer_request)
                });
        if buffer {
            match self
                .buffer_body(client, &mut req, fh.timeout_request.or(tc), opts.max_head)
                .await
            {
                Ok(()) => {}
                Err(super::buffer::Wait::Timeout) => {
                    self.log_status(408);
                    let _ = write_all(client, errors::raw(408), tc).await;
                    return Next::Close(*b"cR");
                }
                Err(super::buffer::Wait::Closed) => return Next::Close(*b"CR"),
            }
        }
        // The frontend's `http-request` rules.
        if let Some(next) = self
            .request_rules(client, conn, fh, None, &mut req, tc)
            .await
        {
            return next;
        }
        if let Some(hook) = fh
            .stats
            .as_ref()
            .filter(|h| super::stats::matches(&h.uri, &req.head.uri))
        {
            return self
                .stats_answer(client, conn, hook, None, &mut req, tc)
                .await;
        }
        // §4.2 `unique-id-format` / `unique-id-header`: the header comes before
        // the ones `option forwardfor` / `originalto` add (HAProxy's order).
        if let Some(u) = fh.unique_id.as_ref() {
            let ctx = haproxide_http::ctx::MsgCtx {
                src: self.src,
                dst: self.dst,
                req: Some(&req.head),
                vars: Some(&conn.vars),
                frontend: Some(&fert.spec.name),
                ..Default::default()
            };
            let id = super::uid::unique_id(&u.format, ctx, &fert.spec.name, self.req_at);
            if let Some(name) = &u.header {
                req.head.headers.push(name.as_bytes(), id.as_bytes());
            }
            if let Some(h) = self.http_log.as_mut() {
                h.unique_id = Some(id);
            }
        }
        // Backend switching (§4.2 `use_backend`, `default_backend`).
        let chosen = {
            let ctx = self.req_ctx(&req.head, &conn.vars, &fert.spec.name);
            crate::switching::choose(&fert.light, &ctx, &shared.backends)
        };
        let client_keep = peer_keeps_alive(req.head.version, &req.info);
        let http10 = !req.head.version.is_11();
        let Some(be) = chosen
            .or(fert.light.default_backend)
            .and_then(|b| self.switch_backend(b))
            .inspect(|be| shared.http.backend_request(be.idx))
        else {
            let ex = Ex {
                req: &req,
                client_keep,
                http10,
                tc,
                ts: None,
                bopts: ParseOptions::default(),
                fh,
                bh: &PLAIN,
                same_proxy: false,
                comp: None,
                persist: None,
                client_head,
            };
            return self.reply(client, 503, &ex, *b"SC").await;
        };
        let bh = be.spec.http.as_ref().unwrap_or(&PLAIN);
        // The backend's `http-request` rules (a `listen` has them once, above).
        if be.spec.name != fert.spec.name {
            if let Some(next) = self
                .request_rules(client, conn, bh, Some(&be.spec.name), &mut req, tc)
                .await
            {
                return next;
            }
        }
        if let Some(hook) = bh
            .stats
            .as_ref()
            .filter(|h| super::stats::matches(&h.uri, &req.head.uri))
        {
            if be.spec.name != fert.spec.name {
                return self
                    .stats_answer(client, conn, hook, Some(&be.spec.name), &mut req, tc)
                    .await;
            }
        }
        // §6: a hit `cache-use` found is answered without a server.
        if let Some(hit) = conn.cache.as_deref().and_then(|c| c.take_hit()) {
            let cx = super::cache::HitCtx {
                fh,
                bh,
                same_proxy: be.spec.name == fert.spec.name,
                client_keep: client_keep && fh.conn_mode.max(bh.conn_mode) != HttpConnMode::Close,
                tc,
            };
            return self.cache_answer(client, conn, &req, hit, cx).await;
        }
        // Persistence (§4.2 `cookie`, `ignore-persist`, ...): may choose the server.
        let persist = self.persist_request(&be, conn, &mut req);
        self.prefer_private(&be, conn);
        self.lb_hash = be.spec.lb_key.as_ref().and_then(|k| k.hash(&req.head));
        let mode = fh.conn_mode.max(bh.conn_mode);
        // Headers the proxy adds (§4 `option forwardfor`, `option originalto`).
        headers::forwardfor(
            fh.forwardfor.as_ref(),
            bh.forwardfor.as_ref(),
            self.src,
            &mut req.head.headers,
        );
        headers::originalto(
            fh.originalto.as_ref(),
            bh.originalto.as_ref(),
            self.dst,
            &mut req.head.headers,
        );
        let comp = super::compress::select(fh, bh, &mut req.head);
        let ex = Ex {
            req: &req,
            client_keep: client_keep && mode != HttpConnMode::Close,
            http10,
            tc,
            ts: be.spec.timeout_server,
            bopts: bh.tune.parse_options(bh.accept_invalid),
            fh,
            bh,
            same_proxy: be.spec.name == fert.spec.name,
            comp,
            persist,
            client_head,
        };

        // A server's `sni` expression reads the request (§5.2 `sni`).
        let tls_copy = self.tls_for_sni(&be);
        let sni_ctx = haproxide_http::ctx::MsgCtx {
            src: self.src,
            dst: self.dst,
            req: Some(&req.head),
            vars: Some(&conn.vars),
            tls: tls_copy.as_deref(),
            ..Default::default()
        };
        // The server connection stays open in keep-alive mode; an HTTP/1.0
        // request says so (not a chunked one: measured on HAProxy 2.6.12).
        // Otherwise `close`, except to an HTTP/1.0 request (closing is its default;
        // HAProxy 2.6.12 adds nothing then).
        let sconn: Option<&[u8]> = if req.info.upgrade {
            // An upgrade keeps its own `Connection: upgrade` (HAProxy adds nothing).
            None
        } else if mode == HttpConnMode::KeepAlive {
            connection_value(true, http10 && req.body != BodyLength::Chunked)
        } else if http10 {
            None
        } else {
            Some(b"close")
        };
        // The head is ready before the connect: a new plain connection sends
        // it at once (`session::connect`); what did not go stays in `out`.
        conn.out.clear();
        if self.h2.is_some() {
            crate::http2::request_head(&req.head, sconn, &mut conn.out);
        } else {
            write::request_head(&req.head, sconn, &mut conn.out);
        }
        // §4.2 `http-reuse`: which idle connections of the server's pool this
        // request may take (http/pool.rs); the session's own private ones first.
        let take = super::pool::Take::of(be.spec.reuse, first);
        let own = conn.idle.len();
        let (server, reused) = match self
            .connect_server(
                client,
                &be,
                &mut conn.idle,
                take,
                Some(&sni_ctx),
                Some(&mut conn.out),
            )
            .await
        {
            // A connection out of the session's own list stays private (one
            // the server had closed leaves it too: a new one is then kept
            // private as well, which only shares less).
            Ok(x) => {
                conn.private = conn.prefer_last && x.1 && conn.idle.len() < own;
                x
            }
            Err(t) if t[0].eq_ignore_ascii_case(&b'c') => return Next::Close(t),
            Err(t) => return self.reply(client, 503, &ex, t).await,
        };
        self.connected = Some(crate::clock::now());
        // HAProxy's `srv_use_conn`: the connection counts as in use (for the
        // pool's bounds) until it goes back to the pool or away.
        let mut in_use = None;
        if let Some(srv) = self.server {
            shared.http.server_request(be.idx, srv);
            if be.spec.reuse != crate::spec::HttpReuse::Never {
                in_use = super::pool::use_conn(&be, srv);
            }
        }
        // What a previous server connection left (a response it could not
        // parse) is not this one's (a kept connection leaves nothing: see
        // `response`; a reused one may come from another client's session).
        conn.srv_buf.clear();
        let srv = self.server.unwrap_or(0);
        self.phase = b'H';
        let done = self
            .forward(client, conn, server, reused, &be, &ex, &opts)
            .await;
        match done {
            Ok(Served {
                server,
                server_keep,
                client_keep,
            }) => {
                if server_keep && mode == HttpConnMode::KeepAlive {
                    // A TLS connection whose SNI comes from the request is not
                    // shared either (another request may need another name),
                    // nor one under `http-reuse never`, nor one that answered an
                    // NTLM / Negotiate challenge (`conn.private`).
                    let sspec = be.server(srv);
                    let private = conn.private
                        || be.spec.reuse == crate::spec::HttpReuse::Never
                        || sspec.is_none_or(|s| {
                            s.send_proxy != crate::spec::SendProxy::None
                                || s.tls.as_ref().is_some_and(|t| t.sni.is_some())
                        });
                    if private {
                        conn.prefer_last |= conn.private;
                        if conn.idle.len() >= super::MAX_IDLE {
                            conn.idle.remove(0);
                        }
                        conn.idle.push(crate::session::Reuse {
                            be: be.idx,
                            srv,
                            stream: server,
                        });
                    } else {
                        let pool = sspec.map(|s| s.pool).unwrap_or_default();
                        super::pool::put(&be, srv, server, reused, in_use.take(), &pool);
                    }
                } else if server_keep {
                    // `http-server-close` / `httpclose`: the exchange is over,
                    // the connection is not kept.
                    server.close_silently();
                }
                if client_keep && !self.req.eof {
                    Next::KeepAlive
                } else {
                    Next::Close(*b"--")
                }
            }
            Err(next) => next,
        }
    }

    /// Starts the transaction's log part once its head is parsed: `Ti`, `TR`,
    /// the request line (when the logger prints it), request captures.
    fn txn_log(&mut self, req: &Request) {
        let mut h = crate::HttpTxnLog::boxed();
        let now = crate::clock::now();
        let fb = self.first_byte.unwrap_or(now);
        h.ti = fb.saturating_duration_since(self.req_t0).as_millis() as i64;
        h.t_req = now.saturating_duration_since(fb).as_millis() as i64;
        let fert = &self.shared.frontends[self.fe];
        self.shared.http.frontend_request(self.fe);
        let version = super::htx::version(req.head.version);
        if fert.spec.captures.request_line || fert.log_wants_line {
            h.set_request_line(&req.head.method, &req.head.uri, &version);
        }
        self.htx.from_client += super::htx::head(
            [&req.head.method, &req.head.uri, &version],
            &req.head.headers,
        );
        let caps = &fert.spec.captures;
        if !caps.is_empty() {
            (h.req_captures, h.res_captures) = caps.slots();
            for f in req.head.headers.iter() {
                caps.capture_request(&mut h.req_captures, f.name, f.value);
            }
        }
        self.http_log = Some(h);
    }

    /// Reads and parses the next request head (§4.2 `timeout http-request`,
    /// `timeout http-keep-alive`; without them `timeout client`).
    async fn read_head(
        &mut self,
        client: &mut ClientStream,
        fh: &HttpSpec,
        tc: Option<Duration>,
        first: bool,
        opts: &ParseOptions,
    ) -> Result<Request, Head> {
        let req_to = fh.timeout_request.or(tc);
        // Waiting for a request to begin: the first one has `http-request` from
        // the accept; the next ones `http-keep-alive` (else `http-request`).
        let idle_to = if first {
            req_to
        } else {
            fh.timeout_keep_alive.or(req_to)
        };
        let mut deadline = idle_to.map(|d| crate::clock::now() + d);
        // An HTTP/2 stream's head comes parsed from its HEADERS (`http2/`).
        let mut direct = client.take_h2_head();
        let mut started = first && (direct.is_some() || !self.req.filled().is_empty());
        if started {
            self.first_byte = Some(crate::clock::now());
        }
        loop {
            if direct.is_some() || !self.req.filled().is_empty() {
                if !started {
                    started = true;
                    let (date, now) = crate::clock::now_wall();
                    self.first_byte = Some(now);
                    if !first {
                        self.req_at = date;
                        self.req_t0 = now;
                        deadline = req_to.map(|d| now + d);
                    }
                }
                let parsed = match direct.take() {
                    Some(r) => r.map(|message| Parsed::Complete { message, len: 0 }),
                    None => parse_request(self.req.filled(), opts),
                };
                match parsed {
                    Ok(Parsed::Complete { message, len }) => {
                        // The HTTP/2 preface: HAProxy switches the connection to
                        // HTTP/2 (prior knowledge on an h1 bind), on the first
                        // request only.
                        if message.head.is_method("PRI") && message.head.version.major == 2 {
                            return Err(if first && self.h2.is_none() {
                                Head::H2
                            } else {
                                Head::Reply(400, *b"PR")
                            });
                        }
                        self.req.consume(len);
                        // HAProxy parses the body bytes that came with the head
                        // before anything else: a bad chunk there is a 400 too.
                        if message.body == BodyLength::Chunked
                            && !chunks_valid(self.req.filled(), opts.max_head)
                        {
                            return Err(Head::Reply(400, *b"PR"));
                        }
                        self.txn_log(&message);
                        return Ok(message);
                    }
                    Ok(Parsed::Partial) => {}
                    Err(e) => return Err(Head::Reply(e.kind.status(true), *b"PR")),
                }
            }
            if self.req.eof {
                // A FIN mid-head: HAProxy answers 400 (the client may still read).
                return Err(if started {
                    Head::Reply(400, *b"CR")
                } else {
                    Head::Idle
                });
            }
            match read_until(client, &mut self.req, deadline).await {
                Ok(0) => self.req.eof = true,
                Ok(n) => {
                    self.bytes.from_client += n as u64;
                    self.client_active = crate::clock::now();
                }
                // An idle keep-alive connection that times out closes silently;
                // the first request (or one begun) gets a 408 (HAProxy 2.6 without
                // `option http-ignore-probes`).
                Err(IoFail::Timeout) if !started && (!first || fh.ignore_probes) => {
                    return Err(Head::Idle)
                }
                Err(IoFail::Timeout) => return Err(Head::Reply(408, *b"cR")),
                Err(IoFail::Error) if self.req.is_full() => return Err(Head::Reply(400, *b"PR")),
                Err(IoFail::Error) if started => return Err(Head::Closed(*b"CR")),
                Err(IoFail::Error) => return Err(Head::Idle),
            }
        }
    }

    /// Sends the request (head and body) and forwards the response. Returns the
    /// server connection and whether it may serve another request, or how the
    /// exchange ended.
    #[allow(clippy::too_many_arguments)]
    async fn forward(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        mut server: ServerStream,
        mut reused: bool,
        be: &std::sync::Arc<crate::lb::BackendRt>,
        ex: &Ex<'_>,
        opts: &ParseOptions,
    ) -> Result<Served, Next> {
        let req = ex.req;
        let bodyless = matches!(req.body, BodyLength::None | BodyLength::Length(0));
        // A request sent on a reused connection that the server closed before
        // any byte of answer is sent again on a new one (HAProxy's l7 retry on
        // an empty response; without it HAProxy 2.6.12 drops the request): a request
        // without a body, or whose Content-Length body came whole with the head
        // (the bytes are here to send again: see `super::replay`).
        let whole = super::replay::whole_body(req, self.req.filled().len());
        let replay = bodyless || whole.is_some();
        conn.replay = replay;
        let mut resend = Spare::default();
        if reused && replay {
            resend = Spare::take();
            resend.extend_from_slice(&conn.out);
            if let Some(n) = whole {
                resend.extend_from_slice(self.req.filled().get(..n).unwrap_or_default());
            }
        }
        let before = self.req.filled().len();
        let mut early = None;
        if req.info.expect_continue && !bodyless && self.req.filled().is_empty() {
            // `Expect: 100-continue`: the head goes alone; the server's 100 (or
            // its final answer) or the client's body, whichever comes first.
            if let Err(e) = write_all(&mut server, &conn.out, ex.ts).await {
                return Err(self.srv_write_failed(client, e, ex).await);
            }
            conn.out.clear();
            if self.server_speaks_first(client, &server, ex).await {
                match self
                    .response_head(client, conn, &mut server, ex, true, reused)
                    .await
                {
                    Ok(Some(r)) => early = Some(r),
                    Ok(None) => {}
                    Err(n) => return Err(n),
                }
            }
        }
        let mut req_done = bodyless;
        if early.is_none() {
            let mut dec = BodyDecoder::new(req.body, opts.max_head);
            let start = (self.htx.from_client, self.req.filled().len());
            let pumped = Pump {
                src: client,
                buf: &mut self.req,
                dst: &mut server,
                out: &mut conn.out,
                chunk: &mut conn.chunk,
                htx: &mut self.htx.from_client,
                src_timeout: ex.tc,
                dst_timeout: ex.ts,
                moved: &mut self.bytes.from_client,
                comp: None,
                store: None,
                end: None,
                gather: crate::gather::Side::Server.on(),
            }
            .run(&mut dec, req.body == BodyLength::Chunked)
            .await;
            if pumped.is_ok() {
                let moved = self.htx.from_client - start.0;
                self.count_spliced(client, &server, ex, be.idx, true, req.body, moved, start.1);
            }
            match pumped {
                Ok(()) => req_done = true,
                Err(PumpFail::SrcTimeout) => return Err(Next::Close(*b"cH")),
                Err(PumpFail::SrcError) => return Err(Next::Close(*b"CH")),
                Err(PumpFail::Bad) => {
                    self.log_status(400);
                    let _ = write_all(client, errors::raw(400), ex.tc).await;
                    return Err(Next::Close(*b"PH"));
                }
                Err(PumpFail::DstTimeout) => return Err(self.reply(client, 504, ex, *b"sH").await),
                Err(PumpFail::DstError) if reused && replay => {
                    // What the pump left of the body is in the resent bytes.
                    let consumed = before - self.req.filled().len();
                    self.req
                        .consume(whole.unwrap_or(0).saturating_sub(consumed));
                    server = self.reconnect(client, be, &resend, ex).await?;
                    reused = false;
                    req_done = true;
                }
                Err(PumpFail::DstError) => return Err(self.reply(client, 502, ex, *b"SH").await),
            }
        }
        let resp = match early {
            Some(r) => r,
            None => loop {
                match self
                    .response_head(client, conn, &mut server, ex, false, reused)
                    .await
                {
                    Ok(Some(r)) => break r,
                    Ok(None) => continue,
                    Err(Next::Retry) => {
                        server = self.reconnect(client, be, &resend, ex).await?;
                        reused = false;
                    }
                    Err(n) => return Err(n),
                }
            },
        };
        self.response(client, conn, server, ex, resp, req_done)
            .await
    }

    /// A new connection to the same server for a request whose reused connection
    /// was closed by the server; the head is sent again.
    async fn reconnect(
        &mut self,
        client: &mut ClientStream,
        be: &std::sync::Arc<crate::lb::BackendRt>,
        head: &[u8],
        ex: &Ex<'_>,
    ) -> Result<ServerStream, Next> {
        // The slot is still held: the same server, a new connection.
        let tls_copy = self.tls_for_sni(be);
        let sni_ctx = haproxide_http::ctx::MsgCtx {
            src: self.src,
            dst: self.dst,
            req: Some(&ex.req.head),
            tls: tls_copy.as_deref(),
            ..Default::default()
        };
        let (mut server, _) = match self
            .connect_server(
                client,
                be,
                &mut Vec::new(),
                super::pool::Take::None,
                Some(&sni_ctx),
                None,
            )
            .await
        {
            Ok(x) => {
                self.connected = Some(crate::clock::now());
                x
            }
            Err(t) if t[0].eq_ignore_ascii_case(&b'c') => return Err(Next::Close(t)),
            Err(t) => return Err(self.reply(client, 503, ex, t).await),
        };
        if let Err(e) = write_all(&mut server, head, ex.ts).await {
            return Err(self.srv_write_failed(client, e, ex).await);
        }
        Ok(server)
    }

    /// Whether the server sends something before the client sends its body
    /// (bounded by the server and client timeouts: then the body is awaited).
    async fn server_speaks_first(
        &mut self,
        client: &mut ClientStream,
        server: &ServerStream,
        ex: &Ex<'_>,
    ) -> bool {
        let wait = ex.ts.or(ex.tc).unwrap_or(Duration::from_secs(86400));
        let client_ready =
            std::future::poll_fn(|cx| crate::relay::Peer::poll_readable(&*client, cx));
        tokio::select! {
            biased;
            _ = server.readable() => true,
            _ = client_ready => false,
            _ = tokio::time::sleep(wait) => false,
        }
    }
}

/// Spare buffers kept per thread: one per transaction waiting for its server
/// (the HTTP/2 streams of a connection wait at once; a single spare left all
/// but one of them to allocate). Enough for the streams a thread has in
/// flight (h2load's 20 connections × 10 streams on 2 threads: about 100,
/// swinging by tens): with 32 the stack ran dry and overflowed in turn, a
/// `malloc` and a `free` for most streams. At most 256 × 16 KB per thread
/// after a burst of large requests; a few tens of KB with usual heads.
const SPARES_MAX: usize = 256;

thread_local! {
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}
static SPARES: haproxide_http::spare::Stack<u8> =
    haproxide_http::spare::Stack::new(&SPARE, SPARES_MAX);

/// A byte buffer taken from this thread's spares and given back when dropped
/// (to the thread it ends on): the copy of a request kept to send it again
/// costs no allocation per keep-alive request once the spares have grown.
#[derive(Default)]
struct Spare(Vec<u8>);

impl Spare {
    fn take() -> Spare {
        Spare(SPARES.take(0, 0))
    }
}

impl std::ops::Deref for Spare {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for Spare {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        // A large request's copy is not kept.
        SPARES.give(std::mem::take(&mut self.0), 16 * 1024);
    }
}

/// Whether the chunked body bytes in `buf` (the start of a body) are well formed.
fn chunks_valid(buf: &[u8], max_head: usize) -> bool {
    let mut dec = BodyDecoder::new(BodyLength::Chunked, max_head);
    let mut rest = buf;
    loop {
        match dec.step(rest) {
            Err(_) => return false,
            Ok((_, haproxide_http::Step::Done | haproxide_http::Step::NeedMore)) => return true,
            Ok((n, _)) => rest = &rest[n..],
        }
    }
}

impl Sess {
    /// The server could not take the request: 504 on a timeout, else 502.
    async fn srv_write_failed(
        &mut self,
        client: &mut ClientStream,
        e: IoFail,
        ex: &Ex<'_>,
    ) -> Next {
        match e {
            IoFail::Timeout => self.reply(client, 504, ex, *b"sH").await,
            IoFail::Error => self.reply(client, 502, ex, *b"SH").await,
        }
    }

    /// Answers `status` with HAProxy's page as sent through a stream; the client
    /// connection stays when it may (no request body left unread) — HAProxy 2.6.12
    /// keeps it after a 502, 503 or 504 (measured by haproxide-http's differential
    /// test).
    pub(super) async fn reply(
        &mut self,
        client: &mut ClientStream,
        status: u16,
        ex: &Ex<'_>,
        term: [u8; 2],
    ) -> Next {
        self.log_status(status);
        let keep =
            ex.client_keep && matches!(ex.req.body, BodyLength::None | BodyLength::Length(0));
        // The proxy's `errorfile` for the status (the backend's, else the
        // frontend's), else HAProxy's page.
        let custom = [ex.bh, ex.fh].into_iter().find(|h| h.errors.has(status));
        // Counted as HAProxy's HTX holds the page: without the connection
        // header the H1 layer adds, without a body for HEAD (none is sent).
        let head_req = ex.req.head.method == b"HEAD";
        let reply = match custom {
            Some(h) => h.errors.reply(status),
            None => haproxide_http::reply::ErrorPages::default().reply(status),
        };
        if reply.silent {
            return Next::Close(term);
        }
        self.htx.from_server += super::htx::head(
            [
                &super::htx::version(reply.head.version),
                &reply.head.status,
                &reply.head.reason,
            ],
            &reply.head.headers,
        ) + if head_req { 0 } else { reply.body.len() as u64 };
        // An HTTP/1.0 page on a kept-alive connection says so (HAProxy).
        let http10 = ex.http10 || !reply.head.version.is_11();
        let mut page = reply.to_bytes(connection_value(keep, http10));
        if head_req {
            page.truncate(page.len() - reply.body.len());
        }
        // The stream's `track-sc*` counters are released before the client can
        // see the end of the answer, as HAProxy frees its stream: a `show table`
        // sent once the client has it sees `use=0` (reg-test
        // stick-table/converteers_ref_cnt_never_dec raced this). Its bytes are
        // counted above.
        self.stick_stream_end();
        if write_all(client, &page, ex.tc).await.is_err() || !keep {
            return Next::Close(term);
        }
        Next::Answered(term)
    }

    /// Answers a `monitor-uri` request (§4.2): 200 with the frontend's page for
    /// it, on a connection that stays when the request allows; HAProxy does not
    /// log these (its `SF_MONITOR`).
    /// What a condition on the request reads (`use_backend`, `monitor fail`).
    fn req_ctx<'a>(
        &'a self,
        head: &'a haproxide_http::RequestHead,
        vars: &'a haproxide_http::rules::Vars,
        frontend: &'a str,
    ) -> haproxide_http::ctx::MsgCtx<'a> {
        haproxide_http::ctx::MsgCtx {
            src: self.src,
            dst: self.dst,
            req: Some(head),
            vars: Some(vars),
            frontend: Some(frontend),
            tls: self.tls.as_deref(),
            servers: Some(&*self.shared),
            ..Default::default()
        }
    }

    async fn monitor_answer(
        &mut self,
        client: &mut ClientStream,
        fh: &HttpSpec,
        req: &haproxide_http::Request,
        status: u16,
        tc: Option<std::time::Duration>,
    ) -> Next {
        self.silent = true;
        let keep = haproxide_http::conn::peer_keeps_alive(req.head.version, &req.info)
            && matches!(req.body, BodyLength::None | BodyLength::Length(0));
        let http10 = !req.head.version.is_11();
        let reply = fh.errors.reply(status);
        if reply.silent {
            return Next::Close(*b"PR");
        }
        let mut page = reply.to_bytes(connection_value(keep, http10));
        if req.head.method == b"HEAD" {
            page.truncate(page.len() - reply.body.len());
        }
        if write_all(client, &page, tc).await.is_err() || !keep {
            return Next::Close(*b"PR");
        }
        Next::Answered(*b"PR")
    }

    /// The status the client got, for the log and the counters (a request
    /// refused before its head parsed counts as a request too, as in HAProxy).
    pub(super) fn log_status(&mut self, status: u16) {
        if self.http_log.is_none() {
            self.shared.http.frontend_request(self.fe);
            self.shared.http.frontend_unparsed(self.fe);
        }
        self.shared.http.frontend_response(self.fe, status);
        self.http_log
            .get_or_insert_with(|| Box::new(crate::HttpTxnLog::new()))
            .status = Some(status);
    }
}
