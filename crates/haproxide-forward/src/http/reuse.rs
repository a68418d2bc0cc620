//! Private server connections (configuration.txt §4.2 `http-reuse`): what
//! HAProxy 2.6 keeps for one client connection only besides `http-reuse
//! never` and PROXY-header connections.
//!
//! A 401 with `WWW-Authenticate` (or a 407 with `Proxy-Authenticate`) whose
//! value starts with `NTLM` or `Nego` (Negotiate, Nego2), in any case, binds
//! the server connection to its client connection: these schemes authenticate
//! the connection, not the request (HAProxy's `http_wait_for_response`). The
//! client connection then prefers that server for its next requests
//! (HAProxy's `SESS_FL_PREFER_LAST`), and the connection stays private for
//! the rest of its life. A `set-header` of an authorization header by a rule
//! changes nothing: only the server's answer counts.

use std::sync::Arc;

use haproxide_http::ResponseHead;

use super::Conn;
use crate::lb::BackendRt;
use crate::session::Sess;

/// Whether a server's response head makes its connection private.
pub(super) fn auth_private(head: &ResponseHead) -> bool {
    let name: &[u8] = match head.code {
        401 => b"www-authenticate",
        407 => b"proxy-authenticate",
        _ => return false,
    };
    head.headers.iter().any(|f| {
        f.name.eq_ignore_ascii_case(name)
            && f.value.len() >= 4
            && (f.value[..4].eq_ignore_ascii_case(b"ntlm")
                || f.value[..4].eq_ignore_ascii_case(b"nego"))
    })
}

impl Sess {
    /// After a private connection was kept: the next requests go to the
    /// server it leads to, while it is usable (HAProxy's `assign_server` with
    /// `SESS_FL_PREFER_LAST`), unless something already chose one.
    pub(super) fn prefer_private(&mut self, be: &Arc<BackendRt>, conn: &Conn) {
        if !conn.prefer_last || self.direct.is_some() {
            return;
        }
        if let Some(r) = conn
            .idle
            .iter()
            .rev()
            .find(|r| r.be == be.idx && be.server_running(r.srv))
        {
            self.direct = Some((r.srv, false));
        }
    }
}
