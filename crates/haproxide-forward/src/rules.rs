//! `tcp-request` and `use_backend` conditions, evaluated by `haproxide-expr`
//! (configuration.txt §7 "Using ACLs and fetching samples") against what a TCP
//! session knows: its addresses and the request bytes buffered so far.
//!
//! Results are three-valued like HAProxy's `acl_exec_cond`: a fetch whose value may
//! still change when more data arrives (`req.len`, an incomplete ClientHello) yields
//! [`Tri::Miss`] until the evaluation is final (the inspect delay expired, the client
//! closed, or the buffer is full); then a miss is a failure.

use std::net::SocketAddr;

pub use haproxide_expr::{eval_opt as eval_cond, Cond, Tri};

use crate::spec::TcpRule;

/// What the conditions can look at.
pub struct EvalCtx<'a> {
    /// Client address (None for UNIX sockets).
    pub src: Option<SocketAddr>,
    /// Address the client connected to.
    pub dst: Option<SocketAddr>,
    /// Bytes received from the client so far (request buffer).
    pub data: &'a [u8],
    /// No more data can come (or we will not wait for it).
    pub final_eval: bool,
    /// The TLS session of a TLS bind (after the handshake).
    pub tls: Option<&'a haproxide_expr::TlsSession>,
    /// The engine's servers (`nbsrv`).
    pub servers: Option<&'a dyn haproxide_http::ctx::Servers>,
}

impl haproxide_expr::Context for EvalCtx<'_> {
    fn src(&self) -> Option<SocketAddr> {
        self.src
    }
    fn dst(&self) -> Option<SocketAddr> {
        self.dst
    }
    fn req_data(&self) -> &[u8] {
        self.data
    }
    fn req_buf_size(&self) -> usize {
        crate::BUFSIZE
    }
    fn is_final(&self) -> bool {
        self.final_eval
    }
    fn tls(&self) -> Option<&haproxide_expr::TlsSession> {
        self.tls
    }
    fn nbsrv(&self, backend: Option<&str>) -> Option<i64> {
        // A TCP condition runs in the frontend (no backend yet): without a
        // name, 0 as HAProxy's frontend has no server.
        match backend {
            Some(b) => self.servers?.nbsrv(b),
            None => self.servers.map(|_| 0),
        }
    }
}

/// Evaluate `tcp-request connection|content` rules: `Some(accept)` from the first rule
/// whose condition passes, `None` when none does (the default is to accept), and
/// `Err(())` when a rule needs more data (HAProxy's `missing_data`).
#[allow(clippy::result_unit_err)]
pub fn eval_rules(rules: &[TcpRule], ctx: &EvalCtx<'_>) -> Result<Option<bool>, ()> {
    for rule in rules {
        match eval_cond(rule.cond.as_ref(), ctx) {
            Tri::Pass => return Ok(Some(rule.accept)),
            Tri::Miss => return Err(()),
            Tri::Fail => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use haproxide_expr::{AclSet, Opts};

    use super::*;

    fn rule(accept: bool, cond: &str) -> TcpRule {
        let mut acls = AclSet::new();
        acls.add_line("big", &["req.len", "ge", "4"], &Opts::default())
            .unwrap();
        let w: Vec<&str> = cond.split(' ').collect();
        TcpRule {
            accept,
            cond: Some(Cond::parse(&w, &acls, &Opts::default()).unwrap()),
        }
    }

    #[test]
    fn rules_wait_on_a_miss_and_take_the_first_pass() {
        let ctx = |data: &'static [u8], final_eval| EvalCtx {
            src: "10.0.0.1:1000".parse().ok(),
            dst: None,
            data,
            final_eval,
            tls: None,
            servers: None,
        };
        let rules = [rule(true, "if big"), rule(false, "if TRUE")];
        assert_eq!(eval_rules(&rules, &ctx(b"ab", false)), Err(()));
        assert_eq!(eval_rules(&rules, &ctx(b"ab", true)), Ok(Some(false)));
        assert_eq!(eval_rules(&rules, &ctx(b"abcd", false)), Ok(Some(true)));
        let rules = [rule(false, "if { src 10.0.0.2 }")];
        assert_eq!(eval_rules(&rules, &ctx(b"", true)), Ok(None));
        assert_eq!(eval_rules(&[], &ctx(b"", false)), Ok(None));
        // A whole buffer's worth is as far as a payload can go.
        let data: &'static [u8] = Box::leak(vec![0u8; crate::BUFSIZE].into_boxed_slice());
        let rules = [rule(true, "if { req.payload(16380,10) -m found }")];
        assert_eq!(eval_rules(&rules, &ctx(data, false)), Ok(None));
    }
}
