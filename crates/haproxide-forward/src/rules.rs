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
    /// The session's variables (`var()`), once a rule set one.
    pub vars: Option<&'a haproxide_http::rules::Vars>,
    /// The server's bytes buffered so far (`tcp-response content`: `res.payload`).
    pub res: Option<&'a [u8]>,
    /// The `name` of the bind that accepted the connection (`so_name`).
    pub listener: Option<&'a str>,
    /// The stick tables and the session's tracked counters (`sc_*`,
    /// `track-sc*`), when the configuration has tables.
    pub stick: Option<haproxide_stick::View<'a>>,
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
    fn var(&self, name: &str) -> Option<haproxide_expr::Sample<'_>> {
        match self.vars {
            Some(v) => v.get(name),
            None if haproxide_expr::procvars::is_proc(name) => haproxide_expr::procvars::get(name),
            None => None,
        }
    }
    fn set_var(
        &self,
        name: &str,
        v: &haproxide_expr::Sample<'_>,
        cond: haproxide_expr::VarCond,
    ) -> bool {
        match self.vars {
            Some(vars) => vars.set_if(name, v, cond),
            None if haproxide_expr::procvars::is_proc(name) => {
                haproxide_expr::procvars::set_if(name, v, cond)
            }
            None => false,
        }
    }
    fn res_data(&self) -> Option<&[u8]> {
        self.res
    }
    fn listener_name(&self) -> Option<&str> {
        self.listener
    }
    fn stick(&self) -> Option<&dyn haproxide_expr::stktab::StickCtx> {
        self.stick
            .as_ref()
            .map(|v| v as &dyn haproxide_expr::stktab::StickCtx)
    }
}

/// What the next rule of a TCP rule set does.
#[derive(Debug)]
pub enum Step {
    /// A final `accept` (true) or `reject` (false).
    Final(bool),
    /// The rule at this index needs more data.
    Wait(usize),
    /// The rule at this index has a non-final action, with its value computed.
    Act(usize, Effect),
    /// No rule decided.
    End,
}

/// A non-final action's effect, owned (the context is no longer borrowed).
#[derive(Debug)]
pub enum Effect {
    Set(String, Option<haproxide_expr::Sample<'static>>),
    Unset(String),
    Close,
}

/// Runs `rules` from `from` up to the first that decides, waits or acts.
/// The stick-counter actions (`track-sc*`, `sc-inc-gpc*`, `sc-set-gpt0`) run
/// here, on the context's stick tables, and the rule set goes on.
pub fn eval_from(rules: &[TcpRule], from: usize, ctx: &dyn haproxide_expr::Context) -> Step {
    use crate::spec::TcpAct;
    for (i, rule) in rules.iter().enumerate().skip(from) {
        match eval_cond(rule.cond.as_ref(), ctx) {
            Tri::Pass => {}
            Tri::Miss => return Step::Wait(i),
            Tri::Fail => continue,
        }
        let eff = match &rule.act {
            None => return Step::Final(rule.accept),
            Some(TcpAct::SetVar(n, e)) => {
                let v = e.eval(ctx, haproxide_expr::http::SINGLE);
                if v.may_change && !ctx.is_final() {
                    return Step::Wait(i);
                }
                Effect::Set(n.clone(), v.value.map(owned))
            }
            Some(TcpAct::SetVarFmt(n, f)) => {
                let mut out = Vec::new();
                f.render(&mut out, &Plain(ctx));
                let v = haproxide_expr::Sample::Str(std::borrow::Cow::Owned(out));
                Effect::Set(n.clone(), Some(v))
            }
            Some(TcpAct::UnsetVar(n)) => Effect::Unset(n.clone()),
            Some(TcpAct::Close) => Effect::Close,
            Some(TcpAct::Track {
                n,
                key,
                table,
                session,
            }) => {
                // HAProxy: only the first tracking of a counter applies (the
                // tracker keeps it), and a key that may still change waits.
                let Some(st) = ctx.stick() else { continue };
                let v = key.eval(ctx, haproxide_expr::http::SINGLE);
                if v.may_change && !ctx.is_final() {
                    return Step::Wait(i);
                }
                if let Some(k) = v.value {
                    st.track_at(usize::from(*n), table.as_deref(), &k, *session);
                }
                continue;
            }
            Some(TcpAct::ScIncGpc { ctr, idx }) => {
                if let Some(st) = ctx.stick() {
                    let t = haproxide_expr::stktab::Target::Ctr(usize::from(*ctr), None);
                    st.sc(t, haproxide_expr::stktab::Op::IncGpc(*idx));
                }
                continue;
            }
            Some(TcpAct::ScSetGpt0 { ctr, value }) => {
                let v = value
                    .value(ctx)
                    .and_then(|v| v.cast(haproxide_expr::SmpType::Sint));
                if let (Some(st), Some(haproxide_expr::Sample::Sint(v))) = (ctx.stick(), v) {
                    st.set_gpt0(usize::from(*ctr), v);
                }
                continue;
            }
        };
        return Step::Act(i, eff);
    }
    Step::End
}

fn owned(s: haproxide_expr::Sample<'_>) -> haproxide_expr::Sample<'static> {
    s.into_static()
}

/// `set-var-fmt` values: `%[...]` samples; log variables print `-`.
struct Plain<'c>(&'c dyn haproxide_expr::Context);

impl haproxide_expr::LogVars for Plain<'_> {
    fn var(&self, out: &mut Vec<u8>, _: haproxide_expr::LogVar, f: haproxide_expr::logfmt::Flags) {
        haproxide_expr::logfmt::push_text(out, None, f);
    }
    fn context(&self) -> &dyn haproxide_expr::Context {
        self.0
    }
    fn dash_for_absent(&self) -> bool {
        false
    }
}

/// Evaluate `tcp-request connection|content` rules: `Some(accept)` from the first rule
/// whose condition passes, `None` when none does (the default is to accept), and
/// `Err(())` when a rule needs more data (HAProxy's `missing_data`).
#[allow(clippy::result_unit_err)]
pub fn eval_rules(rules: &[TcpRule], ctx: &EvalCtx<'_>) -> Result<Option<bool>, ()> {
    for rule in rules.iter().filter(|r| r.act.is_none()) {
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
            act: None,
            accept,
            cond: Some(Cond::parse(&w, &acls, &Opts::default()).unwrap()),
        }
    }

    /// `set-var` is not final: the rule set goes on after it, and a later
    /// rule reads the variable (tcp-request/tcp-response content, §4.2).
    #[test]
    fn set_var_acts_then_later_rules_read_it() {
        let e = haproxide_expr::SampleExpr::parse("req.payload(0,2)").unwrap();
        let acls = AclSet::new();
        let w = ["if", "{", "var(txn.x)", "-m", "str", "ab", "}"];
        let rules = [
            TcpRule {
                act: Some(crate::spec::TcpAct::SetVar("txn.x".into(), e)),
                accept: true,
                cond: None,
            },
            TcpRule {
                act: None,
                accept: false,
                cond: Some(Cond::parse(&w, &acls, &Opts::default()).unwrap()),
            },
        ];
        let mut vars = haproxide_http::rules::Vars::default();
        let step = |vars: &haproxide_http::rules::Vars, from, data: &'static [u8], fin| {
            let ctx = EvalCtx {
                src: None,
                dst: None,
                data,
                final_eval: fin,
                tls: None,
                servers: None,
                vars: Some(vars),
                res: None,
                listener: None,
                stick: None,
            };
            eval_from(&rules, from, &ctx)
        };
        // One byte: the payload range may still come.
        assert!(matches!(step(&vars, 0, b"a", false), Step::Wait(0)));
        match step(&vars, 0, b"abc", false) {
            Step::Act(0, Effect::Set(n, Some(v))) => vars.set(&n, v),
            s => panic!("{s:?}"),
        }
        assert!(matches!(step(&vars, 1, b"abc", false), Step::Final(false)));
        assert!(matches!(step(&vars, 2, b"abc", false), Step::End));
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
            vars: None,
            res: None,
            listener: None,
            stick: None,
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
