//! The stats page in a proxy that also forwards (configuration.txt §4.2 `stats
//! enable`, `stats uri`, `stats http-request`): after a proxy's `http-request`
//! rules (the frontend's, then the backend's), a request whose path begins with
//! the proxy's stats URI runs the `stats http-request` rules and is answered by
//! the [`crate::spec::StatsPage`] (HAProxy's `http_stats_check_uri` then its stats
//! applet); the session logs it with termination state `LR` (locally processed).

use haproxide_http::conn::{connection_value, peer_keeps_alive};
use haproxide_http::{BodyLength, Request};

use super::io::write_all;
use super::{Conn, Next};
use crate::relay::ClientStream;
use crate::rules::{eval_cond, Tri};
use crate::session::Sess;
use crate::spec::{StatsHook, StatsRequest};

/// The largest request body handed to the page (the admin form's POST is small).
const MAX_BODY: u64 = 64 * 1024;

/// The target from its path on (an absolute-form target loses its scheme and
/// authority, as HAProxy's `http_stats_check_uri` looks at the path).
fn path_on(target: &[u8]) -> &[u8] {
    match target.windows(3).position(|w| w == b"://") {
        Some(i) if !target.starts_with(b"/") => {
            let rest = &target[i + 3..];
            match rest.iter().position(|&b| b == b'/') {
                Some(j) => &rest[j..],
                None => b"/".as_slice(),
            }
        }
        _ => target,
    }
}

/// Whether `target` (origin or absolute form) has a path beginning with `uri`.
pub(super) fn matches(uri: &str, target: &[u8]) -> bool {
    path_on(target).starts_with(uri.as_bytes())
}

impl Sess {
    /// Runs the `stats http-request` rules, then answers from the page. `None`
    /// never: a matched stats URI is always answered here.
    pub(super) async fn stats_answer(
        &mut self,
        client: &mut ClientStream,
        conn: &mut Conn,
        hook: &StatsHook,
        backend: Option<&str>,
        req: &mut Request,
        tc: Option<std::time::Duration>,
    ) -> Next {
        if let Some(next) = self
            .request_rules(client, conn, &hook.rules, backend, req, tc)
            .await
        {
            return next;
        }
        let body_len = match req.body {
            BodyLength::None => 0,
            BodyLength::Length(n) => n,
            _ => u64::MAX,
        };
        if body_len > 0
            && body_len <= MAX_BODY
            && self
                .buffer_body(client, req, tc, MAX_BODY as usize)
                .await
                .is_err()
        {
            return Next::Close(*b"cR");
        }
        let filled = self.req.filled();
        let body = if body_len <= MAX_BODY {
            let n = (body_len as usize).min(filled.len());
            &filled[..n]
        } else {
            &[][..]
        };
        let http10 = !req.head.version.is_11();
        let admin = hook.admin.as_ref().is_some_and(|c| {
            let ctx = haproxide_http::ctx::MsgCtx {
                src: self.src,
                dst: self.dst,
                req: Some(&req.head),
                vars: Some(&conn.vars),
                userlists: &hook.rules.userlists,
                ..Default::default()
            };
            eval_cond(Some(c), &ctx) == Tri::Pass
        });
        let reply = hook.page.answer(&StatsRequest {
            method: &req.head.method,
            target: path_on(&req.head.uri),
            http10,
            headers: &req.head.headers,
            body,
            src: self.src,
            admin,
        });
        // A request with a body closes the connection after the answer (the
        // body, read or not, is not taken out of the buffer).
        let keep = peer_keeps_alive(req.head.version, &req.info) && body_len == 0;
        // §4.2 `http-after-response` rules run on the stats answer too.
        let mut head = haproxide_http::reply::Reply::head(reply.status, None);
        for (n, v) in &reply.headers {
            head.headers.push(n.as_bytes(), v.as_bytes());
        }
        head.headers
            .push(b"content-length", reply.body.len().to_string().as_bytes());
        self.after_response_on_reply(&req.head, &mut head);
        self.log_status(head.code);
        let mut out = Vec::with_capacity(256 + reply.body.len());
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(&head.status);
        out.push(b' ');
        out.extend_from_slice(&head.reason);
        out.extend_from_slice(b"\r\n");
        for h in &head.headers {
            out.extend_from_slice(h.name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(c) = connection_value(keep, http10) {
            out.extend_from_slice(b"connection: ");
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if req.head.method != b"HEAD" {
            out.extend_from_slice(&reply.body);
        }
        if write_all(client, &out, tc).await.is_err() || !keep {
            return Next::Close(*b"LR");
        }
        Next::Answered(*b"LR")
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn uri_prefix_on_the_path() {
        assert!(matches("/haproxy?stats", b"/haproxy?stats;csv"));
        assert!(matches("/admin/stats", b"/admin/stats"));
        assert!(matches("/admin/stats", b"http://h.example/admin/stats?x"));
        assert!(!matches("/admin/stats", b"/admin/stat"));
        assert!(!matches("/admin/stats", b"/img/admin/stats"));
        assert!(matches("/", b"http://h"));
    }
}
