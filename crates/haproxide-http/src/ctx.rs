//! The expression engine's [`Context`] over an HTTP message: what the conditions
//! and samples of `http-request` / `http-response` rules read (configuration.txt
//! §7.3.6). One implementation for every user: the rules executor, the engine's
//! `use_backend` rules, log-format `%[...]`.

use std::net::SocketAddr;

use haproxide_expr::{Context, Sample};

use crate::head::{Headers, RequestHead, ResponseHead};
use crate::rules::{Userlist, Vars};

/// The running servers as the `nbsrv` fetch sees them (the engine implements
/// it over its backends' runtime state).
pub trait Servers: Sync {
    /// The usable servers of backend `name` (its active UP servers, else its
    /// first backup one, or all with `option allbackups`: HAProxy's
    /// `be_usable_srv`); `None`: no such backend.
    fn nbsrv(&self, name: &str) -> Option<i64>;
}

/// An HTTP transaction as the expression engine sees it.
#[derive(Clone, Copy, Default)]
pub struct MsgCtx<'a> {
    pub src: Option<SocketAddr>,
    pub dst: Option<SocketAddr>,
    pub req: Option<&'a RequestHead>,
    /// The response, for `http-response` / `http-after-response` rules.
    pub res: Option<&'a ResponseHead>,
    /// The request body when it was buffered (`option http-buffer-request`).
    pub body: Option<&'a [u8]>,
    pub vars: Option<&'a Vars>,
    pub userlists: &'a [Userlist],
    pub frontend: Option<&'a str>,
    pub backend: Option<&'a str>,
    pub server: Option<&'a str>,
    /// The server's id (`srv_id`).
    pub server_id: Option<i64>,
    /// The client connection's TLS session (`ssl_fc*`, `ssl_c_*`).
    pub tls: Option<&'a haproxide_expr::TlsSession>,
    /// The stick tables and tracked counters (`sc_*`, `src_*`, `track-sc`).
    pub stick: Option<&'a (dyn haproxide_expr::stktab::StickCtx + Sync)>,
    /// The engine's servers (`nbsrv`).
    pub servers: Option<&'a dyn Servers>,
    /// What the transaction captured, and the session's listener.
    pub seen: Seen<'a>,
    /// Captures the running rule set made (slot, value), not yet in `seen`:
    /// request slots on a request, response slots on a response.
    pub new_caps: &'a [(usize, Vec<u8>)],
    /// The transaction's cache state (`res.cache_hit`, `res.cache_name`).
    pub cache: Option<&'a crate::cache::TxnCache>,
}

/// What the engine kept of the transaction and the session for the fetches
/// that read it (§7.3.6 `capture.req.*`/`capture.res.*`, §7.3.3 `so_name`).
#[derive(Clone, Copy, Default, Debug)]
pub struct Seen<'a> {
    /// The frontend's request capture slots (`capture request header`,
    /// `declare capture request`, `http-request capture`), `None` when empty.
    pub req_caps: &'a [Option<Box<[u8]>>],
    /// The response capture slots.
    pub res_caps: &'a [Option<Box<[u8]>>],
    /// The request line copied for the log (only when the log shows it).
    pub request_line: Option<&'a [u8]>,
    /// The `name` of the listener (`bind ... name`).
    pub listener: Option<&'a str>,
    /// The certificate the server presented on a `server ... ssl` connection
    /// (`ssl_s_*`, for `http-response` rules).
    pub server_cert: Option<&'a haproxide_expr::CertFacts>,
}

fn field(h: &Headers, i: usize) -> Option<(&[u8], &[u8])> {
    let f = h.at(i)?;
    Some((f.name, f.value))
}

impl Context for MsgCtx<'_> {
    fn stick(&self) -> Option<&dyn haproxide_expr::stktab::StickCtx> {
        self.stick
            .map(|s| s as &dyn haproxide_expr::stktab::StickCtx)
    }
    fn src(&self) -> Option<SocketAddr> {
        self.src
    }
    fn tls(&self) -> Option<&haproxide_expr::TlsSession> {
        self.tls
    }
    fn server_cert(&self) -> Option<&haproxide_expr::CertFacts> {
        self.seen.server_cert
    }
    fn dst(&self) -> Option<SocketAddr> {
        self.dst
    }
    fn http_method(&self) -> Option<&[u8]> {
        self.req.map(|r| r.method.as_slice())
    }
    fn http_uri(&self) -> Option<&[u8]> {
        self.req.map(|r| r.uri.as_slice())
    }
    fn http_req_version(&self) -> Option<(u8, u8)> {
        self.req.map(|r| (r.version.major, r.version.minor))
    }
    fn http_req_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        field(&self.req?.headers, i)
    }
    fn http_req_body(&self) -> Option<&[u8]> {
        self.body
    }
    fn http_status(&self) -> Option<u16> {
        self.res.map(|r| r.code)
    }
    fn http_res_version(&self) -> Option<(u8, u8)> {
        self.res.map(|r| (r.version.major, r.version.minor))
    }
    fn http_res_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        field(&self.res?.headers, i)
    }
    fn http_on_response(&self) -> bool {
        self.res.is_some()
    }
    fn var(&self, name: &str) -> Option<Sample<'_>> {
        match self.vars {
            Some(v) => v.get(name),
            None if haproxide_expr::procvars::is_proc(name) => haproxide_expr::procvars::get(name),
            None => None,
        }
    }
    fn set_var(&self, name: &str, v: &Sample<'_>, cond: haproxide_expr::VarCond) -> bool {
        match self.vars {
            Some(vars) => vars.set_if(name, v, cond),
            None if haproxide_expr::procvars::is_proc(name) => {
                haproxide_expr::procvars::set_if(name, v, cond)
            }
            None => false,
        }
    }
    fn userlist_check(&self, list: &str, user: &[u8], pass: &[u8]) -> bool {
        self.userlists
            .iter()
            .find(|l| l.name == list)
            .is_some_and(|l| l.check(user, pass))
    }
    fn userlist_group(&self, list: &str, user: &[u8], i: usize) -> Option<&[u8]> {
        let l = self.userlists.iter().find(|l| l.name == list)?;
        let u = l.users.iter().find(|u| u.name.as_bytes() == user)?;
        u.groups.get(i).map(|g| g.as_bytes())
    }
    fn frontend_name(&self) -> Option<&str> {
        self.frontend
    }
    fn backend_name(&self) -> Option<&str> {
        self.backend
    }
    fn server_name(&self) -> Option<&str> {
        self.server
    }
    fn server_id(&self) -> Option<i64> {
        self.server_id
    }
    fn nbsrv(&self, backend: Option<&str>) -> Option<i64> {
        // Without a name: the current backend, else the proxy itself (a
        // `listen` has its servers; a frontend none: 0, as HAProxy's
        // `be_usable_srv` on the frontend).
        let servers = self.servers?;
        match backend.or(self.backend).or(self.frontend) {
            Some(b) => Some(servers.nbsrv(b).unwrap_or(0)),
            None => Some(0),
        }
    }
    fn capture(&self, response: bool, idx: usize) -> Option<&[u8]> {
        if self.res.is_some() == response {
            if let Some((_, v)) = self.new_caps.iter().rev().find(|(i, _)| *i == idx) {
                return Some(v);
            }
        }
        let slots = if response {
            self.seen.res_caps
        } else {
            self.seen.req_caps
        };
        slots.get(idx)?.as_deref()
    }
    fn captured_request_line(&self) -> Option<&[u8]> {
        self.seen.request_line
    }
    fn listener_name(&self) -> Option<&str> {
        self.seen.listener
    }
    fn cache_name(&self) -> Option<&str> {
        self.cache.and_then(|c| c.served_by())
    }
}
