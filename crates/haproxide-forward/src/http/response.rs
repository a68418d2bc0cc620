//! The response side of an exchange: interim responses, the head, the body, or
//! a tunnel after `101 Switching Protocols`.

use crate::server_stream::ServerStream;
use haproxide_http::conn::{connection_value, peer_keeps_alive};
use haproxide_http::{
    parse_response, write, BodyDecoder, BodyLength, ParseOptions, Parsed, Response,
};

use super::exchange::{Ex, Served};
use super::io::{read_into, write_all, IoFail, Pump, PumpFail};
use super::rules::Set;
use super::{Conn, Next};
use crate::relay::ClientStream;
use crate::session::Sess;

impl Sess {
    /// Reads the response head; interim responses (1xx but 101) go to the client
    /// as they come. With `stop_at_interim` (a request waiting for `100
    /// Continue`), returns `Ok(None)` after forwarding one. On a `reused`
    /// connection, a request without body, a server that closes before any byte
    /// of answer gives [`Next::Retry`] instead of a 502. On a new TLS connection,
    /// an error before any byte of answer (TLS 1.3: the server's alert refusing
    /// the client certificate comes after the client's handshake ended) is a
    /// failed connection attempt, 503 `SC`, as HAProxy classifies an SSL error
    /// on the first read.
    pub(super) async fn response_head(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        server: &mut ServerStream,
        ex: &Ex<'_>,
        stop_at_interim: bool,
        reused: bool,
    ) -> Result<Option<Response>, Next> {
        let bodyless = matches!(ex.req.body, BodyLength::None | BodyLength::Length(0));
        let retry_ok = reused && (bodyless || conn.replay);
        loop {
            match parse_response(conn.srv_buf.filled(), &ex.req.head.method, &ex.bopts) {
                Ok(Parsed::Complete { message, len }) => {
                    conn.srv_buf.consume(len);
                    if !message.head.is_interim() {
                        self.response_log(&message);
                        return Ok(Some(message));
                    }
                    conn.out.clear();
                    write::response_head(&message.head, None, &mut conn.out);
                    self.count_head(&message);
                    if write_all(client, &conn.out, ex.tc).await.is_err() {
                        return Err(Next::Close(*b"CH"));
                    }
                    conn.out.clear();
                    if stop_at_interim {
                        return Ok(None);
                    }
                    continue;
                }
                Ok(Parsed::Partial) => {}
                // An invalid response: 502, the server connection dropped.
                Err(_) => return Err(self.reply(client, 502, ex, *b"PH").await),
            }
            let read = self
                .abort_on_close(client, read_into(server, &mut conn.srv_buf, ex.ts))
                .await;
            // §4.2 `option abortonclose`: HAProxy logs the abort 400 `CH`
            // (the status of the log only: nothing is sent).
            let crate::session::Race::Done(read) = read else {
                if let Some(h) = self.http_log.as_mut() {
                    h.status = Some(400);
                }
                return Err(Next::Close(*b"CH"));
            };
            match read {
                Ok(0) | Err(IoFail::Error) if retry_ok && conn.srv_buf.filled().is_empty() => {
                    return Err(Next::Retry)
                }
                Err(IoFail::Error)
                    if !reused && server.is_tls() && conn.srv_buf.filled().is_empty() =>
                {
                    return Err(self.reply(client, 503, ex, *b"SC").await)
                }
                Ok(0) | Err(IoFail::Error) => {
                    return Err(self.reply(client, 502, ex, *b"SH").await)
                }
                Ok(n) => self.bytes.from_server += n as u64,
                Err(IoFail::Timeout) => return Err(self.reply(client, 504, ex, *b"sH").await),
            }
        }
    }

    /// A response head in the log's byte count (HTX size; the `Connection`
    /// value the proxy adds is not in it: HAProxy's H1 layer adds it on output).
    fn count_head(&mut self, r: &Response) {
        let h = &r.head;
        self.htx.from_server += super::htx::head(
            [
                &super::htx::version(h.version.on_the_wire()),
                &h.status,
                &h.reason,
            ],
            &h.headers,
        );
    }

    /// The response's part of the log: status, `Tr`, response captures.
    fn response_log(&mut self, resp: &Response) {
        let shared = self.shared.clone();
        let caps = &shared.frontends[self.fe].spec.captures;
        let t_res = self
            .connected
            .map(|c| crate::clock::since(c).as_millis() as i64)
            .unwrap_or(-1);
        let code = resp.head.code;
        // The frontend counts the status its client gets (after the response
        // rules: see `response`); the backend and server the server's.
        if let Some(b) = &self.backend {
            shared.http.backend_response(b.idx, self.server, code);
        }
        // §4.2 `track-sc*`: a 4xx is a client error, a 5xx a server failure.
        if let Some(tr) = self.stk.as_deref() {
            tr.http_status(code);
        }
        if let Some(h) = self.http_log.as_mut() {
            h.status = Some(resp.head.code);
            h.t_res = t_res;
            for f in resp.head.headers.iter() {
                caps.capture_response(&mut h.res_captures, f.name, f.value);
            }
        }
    }

    /// Forwards the final response's head and body (or tunnels after a 101).
    /// `req_done`: the request body was forwarded whole (else the server
    /// connection cannot serve another request).
    pub(super) async fn response(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        mut server: ServerStream,
        ex: &Ex<'_>,
        resp: Response,
        req_done: bool,
    ) -> Result<Served, Next> {
        let tunnel = resp.body == BodyLength::Tunnel;
        // HAProxy counts the response it received, even one it then refuses.
        self.count_head(&resp);
        conn.private |= super::reuse::auth_private(&resp.head);
        if tunnel && resp.head.code == 101 && !ex.req.info.upgrade {
            // A 101 to a request that asked for no upgrade: an invalid response.
            return Err(self.reply(client, 502, ex, *b"PH").await);
        }
        let mut resp = resp;
        // §4.2 `stick store-response` and the stores, before the rules.
        self.stick_response(&ex.req.head, &resp.head, Some(&conn.vars));
        // `http-response` then `http-after-response` rules; an answer replaces
        // the server's response (whose body is not read: the server connection
        // is dropped).
        for set in [Set::Response, Set::AfterResponse] {
            if matches!(set, Set::AfterResponse) {
                // Cookies between the two rule sets, as HAProxy.
                self.persist_response(ex.persist, &mut resp.head);
            }
            let keep = ex.client_keep && req_done;
            if let Some(next) = self
                .response_rules(
                    client,
                    conn,
                    set,
                    ex.fh,
                    ex.bh,
                    ex.same_proxy,
                    ex.req,
                    &mut resp.head,
                    keep,
                    ex.tc,
                    Some((&mut server, resp.body)),
                )
                .await
            {
                return Err(next);
            }
        }
        self.shared.http.frontend_response(self.fe, resp.head.code);
        if let Some(h) = self.http_log.as_mut() {
            // `set-status` may have changed it.
            h.status = Some(resp.head.code);
        }
        let http10 = ex.http10 || !resp.head.version.is_11();
        // The client side closes after a close-delimited body; an early answer
        // (before the request body) leaves the request unsynchronised: close too.
        // An HTTP/1.0 message with Transfer-Encoding: its framing is treated as
        // faulty and the connection closed after it (RFC 9112 §6.1, as HAProxy).
        let te10 = !resp.head.version.is_11() && resp.body == BodyLength::Chunked;
        let client_keep =
            ex.client_keep && req_done && resp.body != BodyLength::UntilClose && !te10;
        let cval = if tunnel {
            None
        } else {
            connection_value(client_keep, http10)
        };
        let mut enc = if tunnel {
            None
        } else {
            super::compress::start(ex.comp, ex.fh, ex.bh, &ex.req.head, &mut resp)
        };
        conn.out.clear();
        // An HTTP/2 client takes the head as it is (no HTTP/1 bytes parsed
        // again), when its body goes as plain data.
        let length = match resp.body {
            BodyLength::None => Some(0),
            BodyLength::Length(n) => Some(n),
            _ => None,
        };
        let direct = !tunnel
            && enc.is_none()
            && !ex.client_head
            && length.is_some()
            && client.direct_head(&resp.head, length);
        if !direct {
            write::response_head(&resp.head, cval, &mut conn.out);
        }
        self.phase = b'D';
        if tunnel {
            return Err(self.tunnel(client, conn, server).await);
        }
        let mut dec = BodyDecoder::new(resp.body, ParseOptions::default().max_head);
        let chunked_out = resp.body == BodyLength::Chunked || enc.is_some();
        // A response to HEAD (HAProxy decides on the client's method, even
        // after `set-method`): the server's body is read to its end and
        // dropped, then the head goes as the server framed it (HAProxy keeps
        // its Content-Length / Transfer-Encoding). Head last: the server
        // connection is back in the idle pool before the client can ask again
        // (an HTTP/2 client's next stream would find it busy).
        let head = ex.client_head.then(|| std::mem::take(&mut conn.out));
        // §6 `cache-store`: the body is copied into the cache as it goes.
        let mut store = conn.cache.as_deref().and_then(|c| c.take_store());
        let mut sink = tokio::io::sink();
        // An HTTP/2 stream's answer goes to its connection's task, which
        // writes for all its streams: nothing to gather there.
        let gather = crate::gather::Side::Client.on()
            && head.is_none()
            && !matches!(client, ClientStream::H2(_));
        let mut dst: &mut (dyn tokio::io::AsyncWrite + Unpin + Send) = if head.is_some() {
            &mut sink
        } else {
            &mut *client
        };
        let start = (self.htx.from_server, conn.srv_buf.filled().len());
        let end = crate::track::stream_end(
            self.stk.as_deref(),
            self.http_log.is_some(),
            &self.htx,
            &self.bytes,
            &self.bytes_base,
        );
        let pumped = Pump {
            src: &mut server,
            buf: &mut conn.srv_buf,
            dst: &mut dst,
            out: &mut conn.out,
            chunk: &mut conn.chunk,
            htx: &mut self.htx.from_server,
            src_timeout: ex.ts,
            dst_timeout: ex.tc,
            moved: &mut self.bytes.from_server,
            comp: enc.as_mut(),
            store: store.as_mut(),
            end,
            gather,
        }
        .run(&mut dec, chunked_out)
        .await;
        if let Some(head) = head {
            conn.out = head;
            if write_all(client, &conn.out, ex.tc).await.is_err() {
                return Err(Next::Close(*b"CD"));
            }
            conn.out.clear();
        }
        if let (true, false, false, Some(b)) =
            (pumped.is_ok(), chunked_out, ex.client_head, &self.backend)
        {
            let moved = self.htx.from_server - start.0;
            let be = b.idx;
            self.count_spliced(client, &server, ex, be, false, resp.body, moved, start.1);
        }
        match pumped {
            Ok(()) => {}
            Err(PumpFail::SrcTimeout) => return Err(Next::Close(*b"sD")),
            Err(PumpFail::SrcError | PumpFail::Bad) => return Err(Next::Close(*b"SD")),
            Err(PumpFail::DstTimeout) => return Err(Next::Close(*b"cD")),
            Err(PumpFail::DstError) => return Err(Next::Close(*b"CD")),
        }
        // A client that closes after this response leaves its server
        // connection to the pool all the same (HAProxy 2.6 keeps it idle:
        // tests/server_close.rs).
        let server_keep = req_done
            && peer_keeps_alive(resp.head.version, &resp.info)
            && !ex.req.info.close_required
            && conn.srv_buf.filled().is_empty();
        Ok(Served {
            server,
            server_keep,
            client_keep,
        })
    }

    /// After `101 Switching Protocols` (WebSocket and other upgrades): the head
    /// and what followed it go to the client, then bytes both ways as in TCP mode
    /// (`timeout tunnel`, else client/server).
    async fn tunnel(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        mut server: ServerStream,
    ) -> Next {
        conn.out.extend_from_slice(conn.srv_buf.filled());
        let n = conn.srv_buf.filled().len();
        conn.srv_buf.consume(n);
        // Tunnelled bytes from the server count in the log as they are.
        let before = self.bytes.from_server - n as u64;
        let shared = self.shared.clone();
        let fert = &shared.frontends[self.fe];
        let Some(be) = self.backend.clone() else {
            return Next::Close(*b"SD");
        };
        if write_all(client, &conn.out, fert.light.timeout_client)
            .await
            .is_err()
        {
            return Next::Close(*b"CD");
        }
        conn.out.clear();
        let term = self
            .relay_to(client, &mut server, &be, &fert.light, self.server, false)
            .await;
        self.htx.from_server += self.bytes.from_server - before;
        Next::Close(term)
    }
}
