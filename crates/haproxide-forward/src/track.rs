//! A session's stick-table counters (configuration.txt §4.2 `track-sc*`): the
//! tracker a session keeps when the configuration has stick tables, the view
//! rules evaluate through, and the end of each stream (haproxide-stick).

use crate::session::Sess;

impl Sess {
    /// Gives the session its stick-counter tracker when there are tables
    /// (in place: taking and returning the session by value copied all of it,
    /// about a kilobyte, once per session and HTTP/2 stream).
    pub(crate) fn add_tracker(&mut self) {
        if !self.shared.tables.list.is_empty() {
            let t = haproxide_stick::Tracker::new(self.shared.tables.clone());
            self.stk = Some(Box::new(t));
        }
    }

    /// The stick tables as the rules of proxy `cur` see them at `level`.
    pub(crate) fn stick_view(
        &self,
        cur: &'_ str,
        level: haproxide_stick::Level,
    ) -> Option<haproxide_stick::View<'_>> {
        let tr = self.stk.as_deref()?;
        let cur = tr.tables.find(cur).map(|t| t.spec.name.as_str());
        Some(haproxide_stick::View {
            tr,
            cur,
            level,
            src: self.src.map(|a| a.ip()),
        })
    }

    /// The end of a stream (an HTTP transaction, or a TCP session): its bytes
    /// into the tracked counters, then the stream-level ones released
    /// (HAProxy's `stream_store_counters`).
    pub(crate) fn stick_stream_end(&mut self) {
        let Some(tr) = self.stk.as_deref() else {
            return;
        };
        if !tr.any() || tr.stream_ended() {
            return;
        }
        // What the log counts (`%U`, `%B`): HTX sizes in HTTP mode, as HAProxy's
        // `req.total` / `res.total`.
        let (from_client, from_server) = if self.http_log.is_some() {
            (self.htx.from_client, self.htx.from_server)
        } else {
            (
                self.bytes.from_client - self.bytes_base.from_client,
                self.bytes.from_server - self.bytes_base.from_server,
            )
        };
        tr.bytes(from_client, from_server);
        tr.end_stream();
    }
}

/// The end of a relayed response's stream, fired by the body pump (http/io.rs
/// `Pump::end`) just before the body's last bytes are written to the client:
/// HAProxy frees its stream, and with it the `track-sc*` entries, before the
/// client has the whole response, so a `show table` sent once it has it sees
/// `use=0` (reg-test http-rules/converters_ipmask_concat_strcmp_field_word
/// raced the release at log time).
pub(crate) struct StreamEnd<'a> {
    tr: &'a haproxide_stick::Tracker,
    from_client: u64,
    /// `None`: the server's side counts in HTX sizes (the pump's `htx`); else
    /// the bytes read since this base (the pump's `moved`).
    server_base: Option<u64>,
}

impl StreamEnd<'_> {
    /// The stream's bytes counted, its counters released.
    pub(crate) fn fire(self, htx: u64, moved: u64) {
        let from_server = match self.server_base {
            None => htx,
            Some(base) => moved.saturating_sub(base),
        };
        self.tr.bytes(self.from_client, from_server);
        self.tr.end_stream();
    }
}

/// What `Sess::stick_stream_end` would count, for the pump to fire at the end
/// of the body (fields passed one by one: the pump borrows the byte counters).
pub(crate) fn stream_end<'a>(
    stk: Option<&'a haproxide_stick::Tracker>,
    http_log: bool,
    htx: &crate::relay::Bytes,
    bytes: &crate::relay::Bytes,
    base: &crate::relay::Bytes,
) -> Option<StreamEnd<'a>> {
    let tr = stk.filter(|t| t.any() && !t.stream_ended())?;
    Some(if http_log {
        StreamEnd {
            tr,
            from_client: htx.from_client,
            server_base: None,
        }
    } else {
        StreamEnd {
            tr,
            from_client: bytes.from_client - base.from_client,
            server_base: Some(base.from_server),
        }
    })
}

impl Sess {
    /// An HTTP proxy's `tcp-request content` rules on one request (§4.2; the
    /// ones with stick-counter actions, see `HttpSpec::tcp_content`): run to
    /// the end or the first `accept`; a `reject` closes the connection with
    /// no answer (`PR`).
    pub(crate) fn http_tcp_content(
        &mut self,
        conn: &mut crate::http::Conn,
        spec: &crate::spec::HttpSpec,
        backend: Option<&str>,
        req: &haproxide_http::RequestHead,
    ) -> Option<crate::http::Next> {
        use crate::rules::{eval_from, Effect, Step};
        let shared = self.shared.clone();
        let fe = shared.frontends[self.fe].spec.name.as_str();
        // Tracking here counts the request on the new counter, the
        // backend's too (HAProxy 2.6.12, measured: tests/tcp_track.rs).
        let level = haproxide_stick::Level::Http;
        let mut at = 0;
        loop {
            let step = {
                let view = self.stick_view(backend.unwrap_or(fe), level);
                let ctx = haproxide_http::ctx::MsgCtx {
                    src: self.src,
                    dst: self.dst,
                    req: Some(req),
                    vars: Some(&conn.vars),
                    frontend: Some(fe),
                    backend,
                    tls: self.tls.as_deref(),
                    servers: Some(&*self.shared),
                    stick: view
                        .as_ref()
                        .map(|v| v as &(dyn haproxide_expr::stktab::StickCtx + Sync)),
                    seen: self.seen(&shared),
                    ..Default::default()
                };
                eval_from(&spec.tcp_content, at, &ctx)
            };
            match step {
                Step::Final(true) | Step::End | Step::Wait(_) => return None,
                Step::Final(false) => {
                    self.silent = true;
                    return Some(crate::http::Next::Close(*b"PR"));
                }
                Step::Act(i, eff) => {
                    at = i + 1;
                    match eff {
                        Effect::Set(name, Some(v)) => conn.vars.set(&name, v),
                        Effect::Set(_, None) => {}
                        Effect::Unset(name) => conn.vars.unset(&name),
                        Effect::Close => return Some(crate::http::Next::Close(*b"PR")),
                    }
                }
            }
        }
    }
}
