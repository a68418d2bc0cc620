//! Embedded scripts (HAProxy's Lua, configuration.txt §3.1 `lua-load`; the Lua
//! API of doc/lua-api/index.rst) as the rule executor sees them: a
//! [`ScriptHost`] that runs a registered action, service, fetch or converter
//! against a [`ScriptTxn`] — the transaction's heads, variables and fetches.
//!
//! The host is implemented by `haproxide-lua`; this crate and the engine know
//! only these traits (no Lua type crosses them). The config crate types
//! `http-request lua.<name>` and `use-service lua.<name>` with an unbound
//! [`ScriptRef`]; the assembly binds it to the host it loaded.

use std::fmt;
use std::sync::Arc;

use haproxide_expr::{Sample, SampleExpr};

use crate::head::{RequestHead, ResponseHead};
use crate::reply::Reply;
use crate::rules::Txn;

/// What a script registered (`core.register_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// `core.register_action(name, {"http-req"}, ...)`.
    HttpReq,
    /// `core.register_action(name, {"http-res"}, ...)`.
    HttpRes,
    /// `core.register_service(name, "http", ...)`.
    Service,
    /// `core.register_fetches`.
    Fetch,
    /// `core.register_converters`.
    Converter,
}

/// Why a script call failed: logged as HAProxy's alert, the caller answers as
/// HAProxy does (500 for a service, the action ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError(pub String);

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionEnd {
    /// Go on with the next rule.
    Continue,
    /// `txn:done([reply])`: the transaction ends here, with this answer.
    Done(Reply),
}

/// The transaction as a script reads and edits it.
pub trait ScriptTxn {
    /// The request head (read-only in response rules).
    fn req(&self) -> &RequestHead;
    /// The request head to edit; `None` in response rules.
    fn req_mut(&mut self) -> Option<&mut RequestHead>;
    /// The response head (response rules only).
    fn res(&self) -> Option<&ResponseHead>;
    fn res_mut(&mut self) -> Option<&mut ResponseHead>;
    /// The request body when the engine buffered it.
    fn body(&self) -> Option<&[u8]>;
    /// A sample fetch (with converters), typed now by the expression engine:
    /// `Err` when it does not type, `Ok(None)` when it has no value.
    fn fetch(&self, expr: &str) -> Result<Option<Sample<'static>>, String>;
    fn get_var(&self, name: &str) -> Option<Sample<'static>>;
    fn set_var(&mut self, name: &str, v: Sample<'_>);
    fn unset_var(&mut self, name: &str);
    /// The frontend's name (for log lines).
    fn frontend(&self) -> &str;
}

/// The loaded scripts (one per process, shared by every proxy).
pub trait ScriptHost: Send + Sync + fmt::Debug {
    /// Whether `name` was registered as `kind`.
    fn has(&self, kind: ScriptKind, name: &str) -> bool;
    /// Runs an action (`http-request lua.<name> [args]`).
    fn action(
        &self,
        name: &str,
        args: &[String],
        txn: &mut dyn ScriptTxn,
    ) -> Result<ActionEnd, ScriptError>;
    /// Runs an HTTP service to its end: the response it built.
    fn service(&self, name: &str, txn: &mut dyn ScriptTxn) -> Result<Reply, ScriptError>;
    /// A registered fetch: its value, `None` for no value.
    fn fetch(
        &self,
        name: &str,
        args: &[String],
        txn: &mut dyn ScriptTxn,
    ) -> Result<Option<Sample<'static>>, ScriptError>;
    /// A registered converter applied to `input`.
    fn convert(
        &self,
        name: &str,
        args: &[String],
        input: Sample<'_>,
    ) -> Result<Option<Sample<'static>>, ScriptError>;
}

/// A script host reference inside a typed action: unbound until the assembly
/// loaded the scripts. Compares and prints by presence only.
#[derive(Clone, Default)]
pub struct ScriptRef(pub Option<Arc<dyn ScriptHost>>);

impl fmt::Debug for ScriptRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "bound" } else { "unbound" })
    }
}

/// An owned copy of a sample.
pub fn owned(v: Sample<'_>) -> Sample<'static> {
    v.into_static()
}

/// The request half being edited, or read only (response rules).
pub(crate) enum ReqHead<'a> {
    Mut(&'a mut RequestHead),
    Ref(&'a RequestHead),
}

/// The rule executor's [`ScriptTxn`]: the heads and the transaction's state.
pub(crate) struct RuleTxn<'a, 't> {
    pub req: ReqHead<'a>,
    pub res: Option<&'a mut ResponseHead>,
    pub txn: &'a mut Txn<'t>,
}

impl ScriptTxn for RuleTxn<'_, '_> {
    fn req(&self) -> &RequestHead {
        match &self.req {
            ReqHead::Mut(r) => r,
            ReqHead::Ref(r) => r,
        }
    }
    fn req_mut(&mut self) -> Option<&mut RequestHead> {
        match &mut self.req {
            ReqHead::Mut(r) => Some(r),
            ReqHead::Ref(_) => None,
        }
    }
    fn res(&self) -> Option<&ResponseHead> {
        self.res.as_deref()
    }
    fn res_mut(&mut self) -> Option<&mut ResponseHead> {
        self.res.as_deref_mut()
    }
    fn body(&self) -> Option<&[u8]> {
        self.txn.body
    }
    fn fetch(&self, expr: &str) -> Result<Option<Sample<'static>>, String> {
        let e = SampleExpr::parse(expr).map_err(|e| e.to_string())?;
        let ctx = self.txn.ctx(Some(self.req()), self.res());
        Ok(e.value(&ctx).map(owned))
    }
    fn get_var(&self, name: &str) -> Option<Sample<'static>> {
        self.txn.vars.get(name).map(owned)
    }
    fn set_var(&mut self, name: &str, v: Sample<'_>) {
        self.txn.vars.set(name, v);
    }
    fn unset_var(&mut self, name: &str) {
        self.txn.vars.unset(name);
    }
    fn frontend(&self) -> &str {
        self.txn.frontend
    }
}

/// Runs a [`crate::rules::Action::Script`] or [`crate::rules::Action::Service`]
/// on the transaction. A failed action is skipped (the host logged why); a
/// failed service answers the proxy's 500 page, as HAProxy 2.6.12 (measured).
pub(crate) fn run(
    a: &crate::rules::Action,
    req: ReqHead<'_>,
    res: Option<&mut ResponseHead>,
    txn: &mut Txn<'_>,
) -> crate::rules::Verdict {
    use crate::rules::{Action, Verdict};
    let errors = txn.errors;
    let mut t = RuleTxn { req, res, txn };
    match a {
        Action::Script { name, args, host } => match &host.0 {
            Some(h) => match h.action(name, args, &mut t) {
                Ok(ActionEnd::Continue) | Err(_) => Verdict::Continue,
                Ok(ActionEnd::Done(r)) => Verdict::Local(r),
            },
            None => Verdict::Continue,
        },
        Action::Service { name, host } => match &host.0 {
            Some(h) => match h.service(name, &mut t) {
                Ok(r) => Verdict::Local(r),
                Err(_) => Verdict::Reply(errors.reply(500)),
            },
            None => Verdict::Reply(errors.reply(503)),
        },
        _ => Verdict::Continue,
    }
}
