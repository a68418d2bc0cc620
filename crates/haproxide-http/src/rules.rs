//! `http-request`, `http-response` and `http-after-response` rules as runtime specs,
//! and their sans-IO executor (configuration.txt §4.2 "http-request",
//! "http-response", "http-after-response"; §4.4 "redirect").
//!
//! The config crate types each rule once into a [`HttpRule`]; the engine calls
//! [`run_request`] once the request head is parsed (and [`run_response`] on the
//! response head) with the head to edit and the transaction's state ([`Txn`]),
//! and gets a [`Verdict`]. Rules run in order; a rule whose condition does not
//! pass is skipped; the first final action (allow, deny, tarpit, auth, redirect,
//! return) stops the rule set, as HAProxy's `http_req_get_intercept_rule`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use haproxide_expr::logfmt::{Flags, LogFormat, LogVar, LogVars};
use haproxide_expr::{procvars, Cond, Context, MatchMethod, Sample, SampleExpr, Tri, VarCond};

pub use crate::auth::{Password, User, Userlist};
use crate::ctx::MsgCtx;
use crate::head::{RequestHead, ResponseHead};
pub use crate::reply::{ErrorPages, Reply};
use crate::script::ReqHead;
pub use addr::AddrField;

/// A rule: its action and its optional condition.
#[derive(Debug, Clone)]
pub struct HttpRule {
    pub action: Action,
    pub cond: Option<Cond>,
}

/// A value computed per transaction: a log-format string (`set-header` values,
/// `lf-string`, redirect locations).
pub type Fmt = Arc<LogFormat>;

/// What a `deny`, `tarpit` or `return` answers (§4.2 "http-request return").
#[derive(Debug, Clone)]
pub struct ReplySpec {
    pub status: u16,
    pub body: ReplyBody,
    /// `hdr <name> <fmt>`, in order.
    pub headers: Vec<(String, Fmt)>,
}

/// A reply's body.
#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// The proxy's error page for the status (`deny`, `tarpit`, `default-errorfiles`).
    ErrorPage,
    /// A page given as a whole raw HTTP message (`errorfile <file>` of `return`).
    Raw(Arc<[u8]>),
    /// No body (`return` without one).
    Empty,
    /// `content-type <type>` with `string <str>` or `file <path>` (loaded).
    Bytes {
        content_type: String,
        data: Arc<[u8]>,
    },
    /// `content-type <type> lf-string <fmt>` (or `lf-file`).
    Format { content_type: String, fmt: Fmt },
}

/// `redirect location|prefix|scheme <fmt>` (§4.4 "redirect").
#[derive(Debug, Clone)]
pub struct Redirect {
    pub kind: RedirectKind,
    pub target: Fmt,
    /// 301, 302 (default), 303, 307 or 308.
    pub code: u16,
    pub drop_query: bool,
    pub append_slash: bool,
    /// `ignore-empty`: a target format that renders empty skips the rule.
    pub ignore_empty: bool,
    /// `set-cookie NAME[=value]` / `clear-cookie NAME[=]`: the header value.
    pub cookie: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    Location,
    Prefix,
    Scheme,
}

/// Which part of the request line `set-*` / `replace-*` rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriPart {
    /// `set-path` / `replace-path`: the path without the query.
    Path,
    /// `set-pathq` / `replace-pathq`: the path and the query.
    Pathq,
    /// `set-uri` / `replace-uri`: the whole URI.
    Uri,
    /// `set-query`: the query string (after `?`).
    Query,
    /// `set-method`.
    Method,
}

/// A compiled regular expression with its source (for equality and messages).
#[derive(Debug, Clone)]
pub struct Regex {
    pub text: String,
    pub re: regex::bytes::Regex,
}

/// One action (§4.2, the action list of `http-request`).
#[derive(Debug, Clone)]
pub enum Action {
    Allow,
    Deny(ReplySpec),
    /// `tarpit`: the engine holds the connection `timeout tarpit`, then replies.
    Tarpit(ReplySpec),
    /// `auth [realm <realm>]`: 401 with `WWW-Authenticate` (the proxy's name as
    /// the default realm).
    Auth {
        realm: String,
    },
    Redirect(Redirect),
    Return(ReplySpec),
    /// `set-header` (replace all) or `add-header` (append).
    SetHeader {
        name: String,
        value: Fmt,
        replace: bool,
    },
    /// `del-header <name> [-m <meth>]`.
    DelHeader {
        name: String,
        method: MatchMethod,
    },
    /// `replace-header` (whole values) / `replace-value` (comma-separated items).
    ReplaceHeader {
        name: String,
        re: Regex,
        fmt: Fmt,
        items: bool,
    },
    /// `set-path`, `set-pathq`, `set-uri`, `set-query`, `set-method`.
    SetPart {
        part: UriPart,
        fmt: Fmt,
    },
    /// `replace-path`, `replace-pathq`, `replace-uri`.
    ReplacePart {
        part: UriPart,
        re: Regex,
        fmt: Fmt,
    },
    /// `set-var(<scope>.<name>) <expr>`.
    SetVar {
        name: String,
        expr: SampleExpr,
        /// `set-var(<name>,<cond>...)`: stored only when these hold.
        cond: VarCond,
    },
    /// `set-var-fmt(<scope>.<name>) <fmt>`: the rendered string.
    SetVarFmt {
        name: String,
        fmt: Fmt,
        cond: VarCond,
    },
    /// `unset-var(<scope>.<name>)`.
    UnsetVar {
        name: String,
    },
    /// `set-log-level <level>` (`silent` included).
    SetLogLevel(String),
    /// `set-status <code> [reason <str>]` (responses).
    SetStatus {
        code: u16,
        reason: Option<String>,
    },
    /// `capture <sample> len <n>` / `id <n>`: into capture slot `slot`.
    Capture {
        expr: SampleExpr,
        slot: usize,
        len: usize,
    },
    /// `set-src`, `set-dst`, `set-src-port`, `set-dst-port <expr>` ([`addr`]).
    SetAddr {
        field: AddrField,
        expr: SampleExpr,
    },
    /// `track-sc0/1/2 <key> [table <t>]`: the session's counter `n` tracks
    /// `key` in the table (the proxy's own by default), through the
    /// context's stick tables (`Context::stick`).
    TrackSc {
        n: u8,
        key: SampleExpr,
        table: Option<String>,
    },
    /// `sc-inc-gpc0(<n>)` / `sc-inc-gpc1(<n>)`: `idx` 0 or 1.
    ScIncGpc {
        ctr: u8,
        idx: u8,
    },
    /// `sc-set-gpt0(<n>) <int|expr>`.
    ScSetGpt0 {
        ctr: u8,
        value: SampleExpr,
    },
    /// `wait-for-body time <time> [at-least <bytes>]` (§4.3): the engine waits
    /// for the whole body, `at_least` bytes of it, or a full buffer, up to `time`
    /// ([`run_request_from`] / [`run_response_from`] stop there).
    WaitForBody {
        time: std::time::Duration,
        at_least: Option<u64>,
    },
    /// `http-request lua.<name> [args]` / `http-response lua.<name> [args]`:
    /// an action a script registered (`core.register_action`, [`crate::script`]).
    Script {
        name: String,
        args: Vec<String>,
        host: crate::script::ScriptRef,
    },
    /// `http-request use-service lua.<name>`: a script's HTTP service answers
    /// (`core.register_service(name, "http", ...)`).
    Service {
        name: String,
        host: crate::script::ScriptRef,
    },
    /// `http-request cache-use <name>` (§6.2.2): look the request up in the
    /// cache; a hit is served by the engine after the request rules.
    CacheUse(crate::cache::CacheRef),
    /// `http-response cache-store <name>` (§6.2.2): store the response.
    CacheStore(crate::cache::CacheRef),
    /// `send-spoe-group <engine> <group>` (§4.2, §9.3): the engine sends the
    /// group's messages to its agent and waits for the answer
    /// ([`run_request_from`] / [`run_response_from`] stop there: [`Run::Spoe`]).
    SendSpoeGroup {
        engine: String,
        group: String,
    },
    /// `silent-drop` (§4.2 `http-request silent-drop`): the client connection
    /// disappears without an answer.
    SilentDrop,
    /// `strict-mode { on | off }` (§4.2 "http-request strict-mode"): whether a
    /// rewrite that does not fit ends the transaction with a 500 (on, the
    /// default at the start of each rule set) or is ignored (off); see
    /// [`rewrite`].
    StrictMode(bool),
}

impl Action {
    /// The log-format strings the action holds (header values, reply bodies
    /// and headers, redirect targets, `set-var-fmt`...).
    pub fn formats(&self) -> Vec<&Fmt> {
        fn reply(r: &ReplySpec) -> Vec<&Fmt> {
            let mut v: Vec<&Fmt> = r.headers.iter().map(|(_, f)| f).collect();
            if let ReplyBody::Format { fmt, .. } = &r.body {
                v.push(fmt);
            }
            v
        }
        match self {
            Action::Deny(r) | Action::Tarpit(r) | Action::Return(r) => reply(r),
            Action::Redirect(r) => vec![&r.target],
            Action::SetHeader { value: fmt, .. }
            | Action::ReplaceHeader { fmt, .. }
            | Action::SetPart { fmt, .. }
            | Action::ReplacePart { fmt, .. }
            | Action::SetVarFmt { fmt, .. } => vec![fmt],
            _ => Vec::new(),
        }
    }

    /// What the engine cannot run yet, if anything.
    pub fn not_run(&self) -> Option<&'static str> {
        // Every typed action runs now (`track-sc*` on the stick tables).
        None
    }
}

/// A proxy half's HTTP rule sets and what they need (one `Arc` shared by every
/// session of the proxy).
#[derive(Debug, Clone, Default)]
pub struct RuleSets {
    /// `http-request` rules, then the `redirect` keyword's (HAProxy runs those
    /// after the `http-request` rules).
    pub request: Vec<HttpRule>,
    pub response: Vec<HttpRule>,
    pub after_response: Vec<HttpRule>,
    /// Every `userlist` section (for `http_auth`).
    pub userlists: Vec<Userlist>,
    /// `errorfile` pages.
    pub errors: ErrorPages,
}

impl RuleSets {
    /// No rule at all (the engine can skip the executor).
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty() && self.after_response.is_empty()
    }
}

/// Rule sets compare by their typed form's text (a reload sees a change).
impl PartialEq for RuleSets {
    fn eq(&self, o: &RuleSets) -> bool {
        format!("{self:?}") == format!("{o:?}")
    }
}
impl Eq for RuleSets {}

/// Variables of a session and its transaction (§2.8 "Variables": scopes
/// `proc`, `sess`, `txn`, `req`, `res`). The engine keeps one per session and
/// calls [`Vars::end_txn`] between transactions. `proc` variables live in the
/// process-wide store ([`haproxide_expr::procvars`]), shared by every session.
///
/// The map sits behind a mutex so that an expression evaluated over a shared
/// view (the `set-var` converter, §7.3.1) can store too; a session owns its
/// `Vars`, so the lock is never contended. A session that never stored a
/// variable takes no lock at all: `used` says whether the map may hold one.
#[derive(Debug, Default)]
pub struct Vars {
    map: std::sync::Mutex<HashMap<String, Sample<'static>>>,
    used: std::sync::atomic::AtomicBool,
}

impl Clone for Vars {
    fn clone(&self) -> Vars {
        Vars {
            map: std::sync::Mutex::new(self.map().clone()),
            used: std::sync::atomic::AtomicBool::new(self.in_use()),
        }
    }
}

impl Vars {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sample<'static>>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn map_mut(&mut self) -> &mut HashMap<String, Sample<'static>> {
        self.map
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn in_use(&self) -> bool {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn get(&self, name: &str) -> Option<Sample<'static>> {
        if procvars::is_proc(name) {
            return procvars::get(name);
        }
        if !self.in_use() {
            return None;
        }
        self.map().get(name).cloned()
    }
    /// No session variable set (an idle connection then keeps nothing).
    pub fn is_empty(&self) -> bool {
        !self.in_use() || self.map().is_empty()
    }
    pub fn set(&mut self, name: &str, v: Sample<'_>) {
        if procvars::is_proc(name) {
            return procvars::set(name, v);
        }
        *self.used.get_mut() = true;
        self.map_mut()
            .insert(name.to_string(), crate::script::owned(v));
    }
    /// `set-var(<name>[,<cond>...])`: stores `v` when the conditions hold
    /// ([`VarCond::permits`]); whether it did. Through a shared reference: the
    /// `set-var` converter stores while the rule's expression reads.
    pub fn set_if(&self, name: &str, v: &Sample<'_>, cond: VarCond) -> bool {
        if procvars::is_proc(name) {
            return procvars::set_if(name, v, cond);
        }
        let mut m = self.map();
        if !cond.permits(name, m.get(name), v) {
            return false;
        }
        m.insert(name.to_string(), crate::script::owned(v.clone()));
        self.used.store(true, std::sync::atomic::Ordering::Relaxed);
        true
    }
    pub fn unset(&mut self, name: &str) {
        if procvars::is_proc(name) {
            return procvars::unset(name);
        }
        if self.in_use() {
            self.map_mut().remove(name);
        }
    }
    /// Drops the `txn`, `req` and `res` variables (end of a transaction).
    pub fn end_txn(&mut self) {
        if !self.in_use() {
            return;
        }
        let m = self.map_mut();
        m.retain(|k, _| k.starts_with("sess."));
        if m.is_empty() {
            *self.used.get_mut() = false;
        }
    }
}

/// What a rule set leaves for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No final action: go on (to `use_backend`, the server...).
    Continue,
    /// `allow`: the rest of this rule set is skipped; go on.
    Allow,
    /// `deny`: send this response and end the transaction (logged `PR`).
    Reply(Reply),
    /// `return`, `redirect`, `auth`: a local answer (logged `LR`).
    Local(Reply),
    /// `tarpit`: wait `timeout tarpit`, then send this response.
    Tarpit(Reply),
    /// `silent-drop`: close the client connection so that its peer learns
    /// nothing (logged `PR`).
    SilentDrop,
}

/// A transaction's state the rules read and write, besides the message head.
pub struct Txn<'a> {
    pub src: Option<SocketAddr>,
    pub dst: Option<SocketAddr>,
    pub frontend: &'a str,
    pub backend: Option<&'a str>,
    /// The server of the response (`srv_name`, `srv_id` in `http-response` rules):
    /// its name and id; `None` before one is chosen.
    pub server: Option<(&'a str, i64)>,
    pub vars: &'a mut Vars,
    pub userlists: &'a [Userlist],
    pub errors: &'a ErrorPages,
    /// Set by `set-log-level`.
    pub log_level: Option<String>,
    /// (slot, value) from `capture` actions, for the log.
    pub captures: Vec<(usize, Vec<u8>)>,
    /// The client connection's TLS session (`ssl_fc*` fetches); `None` in clear.
    pub tls: Option<&'a haproxide_expr::TlsSession>,
    /// The engine's servers (`nbsrv`); `None` where there is no runtime.
    pub servers: Option<&'a dyn crate::ctx::Servers>,
    /// The request body when the engine buffered it whole (`option
    /// http-buffer-request`, a Content-Length body): `req.body`, `req.body_len`.
    pub body: Option<&'a [u8]>,
    /// The stick tables and the session's tracked counters.
    pub stick: Option<&'a (dyn haproxide_expr::stktab::StickCtx + Sync)>,
    /// Captures and the listener (`capture.req.hdr`, `so_name`...).
    pub seen: crate::ctx::Seen<'a>,
    /// The transaction's cache state (`cache-use`, `cache-store`,
    /// `res.cache_hit`); `None` where the engine has no cache.
    pub cache: Option<&'a crate::cache::TxnCache>,
    /// The room the head has for rewrites and the `strict-mode` in force
    /// ([`rewrite`]); `Rewrite::default()`: no limit.
    pub rw: Rewrite,
}

impl Txn<'_> {
    pub(crate) fn ctx<'c>(
        &'c self,
        req: Option<&'c RequestHead>,
        res: Option<&'c ResponseHead>,
    ) -> MsgCtx<'c> {
        MsgCtx {
            src: self.src,
            dst: self.dst,
            req,
            res,
            body: self.body,
            vars: Some(self.vars),
            userlists: self.userlists,
            frontend: Some(self.frontend),
            backend: self.backend,
            server: self.server.map(|s| s.0),
            server_id: self.server.map(|s| s.1),
            tls: self.tls,
            stick: self.stick,
            servers: self.servers,
            seen: self.seen,
            new_caps: &self.captures,
            cache: self.cache,
        }
    }
}

/// Renders log-format values of rules: `%[...]` samples through the context;
/// log variables (`%ci`, `%ST`...) print `-` until the engine offers them here.
struct RuleVars<'c>(&'c dyn Context);

impl LogVars for RuleVars<'_> {
    fn var(&self, out: &mut Vec<u8>, _: LogVar, f: Flags) {
        haproxide_expr::logfmt::push_text(out, None, f);
    }
    fn context(&self) -> &dyn Context {
        self.0
    }
    fn dash_for_absent(&self) -> bool {
        false
    }
}

/// A rule's log-format value rendered through `ctx` (log variables print
/// nothing: see [`RuleVars`]); also the forwarder's dynamic `use_backend` names.
pub fn render(fmt: &LogFormat, ctx: &dyn Context) -> Vec<u8> {
    let mut out = Vec::new();
    fmt.render(&mut out, &RuleVars(ctx));
    out
}

fn passes(cond: &Option<Cond>, ctx: &dyn Context) -> bool {
    // Heads are complete when rules run: a "may change" is final.
    cond.as_ref().is_none_or(|c| c.eval(ctx) == Tri::Pass)
}

/// Where a rule set stopped: a verdict, or a `wait-for-body` to honour before
/// going on with the rule after `at`.
#[derive(Debug)]
pub enum Run {
    Done(Verdict),
    Wait {
        at: usize,
        time: std::time::Duration,
        at_least: Option<u64>,
    },
    /// `send-spoe-group` at rule `at`: the engine exchanges with the agent,
    /// then goes on with the rule after it.
    Spoe {
        at: usize,
        engine: String,
        group: String,
    },
}

/// Runs `http-request` rules on `head` (a `wait-for-body` does not wait).
pub fn run_request(rules: &[HttpRule], head: &mut RequestHead, txn: &mut Txn<'_>) -> Verdict {
    let mut from = 0;
    loop {
        match run_request_from(rules, from, head, txn) {
            Run::Done(v) => return v,
            Run::Wait { at, .. } | Run::Spoe { at, .. } => from = at + 1,
        }
    }
}

/// Runs `http-request` rules on `head` from the rule `from`, stopping at a
/// `wait-for-body` whose condition holds.
pub fn run_request_from(
    rules: &[HttpRule],
    from: usize,
    head: &mut RequestHead,
    txn: &mut Txn<'_>,
) -> Run {
    if from == 0 {
        // Each rule set starts in strict mode (HAProxy clears HTTP_MSGF_SOFT_RW).
        txn.rw.soft = false;
    }
    for (i, r) in rules.iter().enumerate().skip(from) {
        // Evaluate on a shared borrow, then apply.
        let step = {
            let ctx = txn.ctx(Some(head), None);
            if !passes(&r.cond, &ctx) {
                continue;
            }
            if let Action::WaitForBody { time, at_least } = &r.action {
                return Run::Wait {
                    at: i,
                    time: *time,
                    at_least: *at_least,
                };
            }
            if let Action::SendSpoeGroup { engine, group } = &r.action {
                return Run::Spoe {
                    at: i,
                    engine: engine.clone(),
                    group: group.clone(),
                };
            }
            if is_script(&r.action) {
                None
            } else {
                Some(prepare(&r.action, &ctx, Some(&*head), None, txn))
            }
        };
        let v = match step {
            Some(step) => apply(step, Target::Req(head), txn),
            None => crate::script::run(&r.action, ReqHead::Mut(head), None, txn),
        };
        match v {
            Verdict::Continue => {}
            v => return Run::Done(v),
        }
    }
    Run::Done(Verdict::Continue)
}

/// Runs `http-response` (or `http-after-response`) rules on `res` (a
/// `wait-for-body` does not wait).
pub fn run_response(
    rules: &[HttpRule],
    req: &RequestHead,
    res: &mut ResponseHead,
    txn: &mut Txn<'_>,
) -> Verdict {
    let mut from = 0;
    loop {
        match run_response_from(rules, from, req, res, txn) {
            Run::Done(v) => return v,
            Run::Wait { at, .. } | Run::Spoe { at, .. } => from = at + 1,
        }
    }
}

/// Runs response rules from the rule `from`, stopping at a `wait-for-body`
/// whose condition holds.
pub fn run_response_from(
    rules: &[HttpRule],
    from: usize,
    req: &RequestHead,
    res: &mut ResponseHead,
    txn: &mut Txn<'_>,
) -> Run {
    if from == 0 {
        txn.rw.soft = false;
    }
    for (i, r) in rules.iter().enumerate().skip(from) {
        let step = {
            let ctx = txn.ctx(Some(req), Some(res));
            if !passes(&r.cond, &ctx) {
                continue;
            }
            if let Action::WaitForBody { time, at_least } = &r.action {
                return Run::Wait {
                    at: i,
                    time: *time,
                    at_least: *at_least,
                };
            }
            if let Action::SendSpoeGroup { engine, group } = &r.action {
                return Run::Spoe {
                    at: i,
                    engine: engine.clone(),
                    group: group.clone(),
                };
            }
            if is_script(&r.action) {
                None
            } else {
                Some(prepare(&r.action, &ctx, Some(req), Some(&*res), txn))
            }
        };
        let v = match step {
            Some(step) => apply(step, Target::Res(res), txn),
            None => crate::script::run(&r.action, ReqHead::Ref(req), Some(res), txn),
        };
        match v {
            Verdict::Continue => {}
            v => return Run::Done(v),
        }
    }
    Run::Done(Verdict::Continue)
}

/// A script's action or service: run by [`crate::script::run`] on the heads.
fn is_script(a: &Action) -> bool {
    matches!(a, Action::Script { .. } | Action::Service { .. })
}

/// An action with its values computed (the context is no longer borrowed);
/// names and patterns are borrowed from the rule (no copy per request).
enum Step<'r> {
    Done(Verdict),
    SetHeader {
        name: &'r str,
        /// Borrowed from the rule when its format is constant.
        value: std::borrow::Cow<'r, [u8]>,
        replace: bool,
    },
    DelHeader {
        name: &'r str,
        method: MatchMethod,
    },
    ReplaceHeader {
        name: &'r str,
        re: &'r Regex,
        value: Vec<u8>,
        items: bool,
    },
    SetPart(UriPart, Vec<u8>),
    ReplacePart(UriPart, &'r Regex, Vec<u8>),
    SetVar(&'r str, Option<Sample<'static>>, VarCond),
    UnsetVar(&'r str),
    LogLevel(&'r str),
    SetStatus(u16, Option<&'r str>),
    Capture(usize, Vec<u8>),
    SetAddr(AddrField, Option<Sample<'static>>),
    Strict(bool),
    Nothing,
}

enum Target<'h> {
    Req(&'h mut RequestHead),
    Res(&'h mut ResponseHead),
}

use crate::script::owned;

fn prepare<'r>(
    a: &'r Action,
    ctx: &dyn Context,
    req: Option<&RequestHead>,
    res: Option<&ResponseHead>,
    txn: &Txn<'_>,
) -> Step<'r> {
    match a {
        Action::Allow => Step::Done(Verdict::Allow),
        Action::SilentDrop => Step::Done(Verdict::SilentDrop),
        Action::Deny(r) => Step::Done(Verdict::Reply(reply_for(r, ctx, txn.errors))),
        Action::Tarpit(r) => Step::Done(Verdict::Tarpit(reply_for(r, ctx, txn.errors))),
        Action::Return(r) => Step::Done(Verdict::Local(reply_for(r, ctx, txn.errors))),
        Action::Auth { realm } => {
            let mut rep = txn.errors.reply(401);
            let v = format!("Basic realm=\"{realm}\"");
            rep.head.headers.push(b"www-authenticate", v.as_bytes());
            Step::Done(Verdict::Local(rep))
        }
        Action::Redirect(r) => match req {
            Some(req) => match redirect(r, ctx, req) {
                Some(rep) => Step::Done(Verdict::Local(rep)),
                None => Step::Nothing,
            },
            None => Step::Nothing,
        },
        Action::SetHeader {
            name,
            value,
            replace,
        } => Step::SetHeader {
            name,
            value: match value.constant() {
                Some(v) => std::borrow::Cow::Borrowed(v),
                None => std::borrow::Cow::Owned(render(value, ctx)),
            },
            replace: *replace,
        },
        Action::DelHeader { name, method } => Step::DelHeader {
            name,
            method: *method,
        },
        Action::ReplaceHeader {
            name,
            re,
            fmt,
            items,
        } => Step::ReplaceHeader {
            name,
            re,
            value: render(fmt, ctx),
            items: *items,
        },
        Action::SetPart { part, fmt } => Step::SetPart(*part, render(fmt, ctx)),
        Action::ReplacePart { part, re, fmt } => Step::ReplacePart(*part, re, render(fmt, ctx)),
        Action::SetVar { name, expr, cond } => {
            Step::SetVar(name, expr.value(ctx).map(owned), *cond)
        }
        Action::SetVarFmt { name, fmt, cond } => Step::SetVar(
            name,
            Some(Sample::Str(std::borrow::Cow::Owned(render(fmt, ctx)))),
            *cond,
        ),
        Action::UnsetVar { name } => Step::UnsetVar(name),
        Action::SetLogLevel(l) => Step::LogLevel(l),
        Action::SetStatus { code, reason } => match res {
            Some(_) => Step::SetStatus(*code, reason.as_deref()),
            None => Step::Nothing,
        },
        Action::Capture { expr, slot, len } => {
            let v = expr
                .value(ctx)
                .and_then(|v| v.cast(haproxide_expr::SmpType::Str))
                .and_then(|v| v.bytes().map(|b| b[..b.len().min(*len)].to_vec()));
            match v {
                Some(v) => Step::Capture(*slot, v),
                None => Step::Nothing,
            }
        }
        Action::SetAddr { field, expr } => Step::SetAddr(*field, expr.value(ctx).map(owned)),
        Action::TrackSc { n, key, table } => {
            if let (Some(st), Some(k)) = (ctx.stick(), key.value(ctx)) {
                st.track(usize::from(*n), table.as_deref(), &k, res.map(|r| r.code));
            }
            Step::Nothing
        }
        Action::ScIncGpc { ctr, idx } => {
            if let Some(st) = ctx.stick() {
                let t = haproxide_expr::stktab::Target::Ctr(usize::from(*ctr), None);
                st.sc(t, haproxide_expr::stktab::Op::IncGpc(*idx));
            }
            Step::Nothing
        }
        Action::ScSetGpt0 { ctr, value } => {
            let v = value
                .value(ctx)
                .and_then(|v| v.cast(haproxide_expr::SmpType::Sint));
            if let (Some(st), Some(Sample::Sint(v))) = (ctx.stick(), v) {
                st.set_gpt0(usize::from(*ctr), v);
            }
            Step::Nothing
        }
        Action::CacheUse(c) => {
            if let (Some(cache), Some(t), Some(req)) = (c.get(), txn.cache, req) {
                t.use_cache(cache, req, crate::cache::now());
            }
            Step::Nothing
        }
        Action::CacheStore(c) => match (c.get(), txn.cache, req, res) {
            (Some(cache), Some(t), Some(req), Some(res))
                if t.store(cache, req, res, crate::cache::now()) =>
            {
                Step::DelHeader {
                    name: "age",
                    method: MatchMethod::Str,
                }
            }
            _ => Step::Nothing,
        },
        Action::StrictMode(on) => Step::Strict(*on),
        Action::WaitForBody { .. }
        | Action::Script { .. }
        | Action::Service { .. }
        | Action::SendSpoeGroup { .. } => Step::Nothing,
    }
}

fn apply(step: Step<'_>, target: Target<'_>, txn: &mut Txn<'_>) -> Verdict {
    match step {
        Step::Done(v) => return v,
        s @ (Step::SetHeader { .. }
        | Step::DelHeader { .. }
        | Step::ReplaceHeader { .. }
        | Step::SetPart(..)
        | Step::ReplacePart(..)
        | Step::SetStatus(..)) => {
            if !rewrite::apply(s, target, &txn.rw) {
                txn.rw.failed += 1;
                if !txn.rw.soft {
                    // HAProxy's `return_int_err`: its 500 page, the
                    // transaction ends (logged `PR--`/`PH--`).
                    return Verdict::Reply(txn.errors.reply(500));
                }
            }
        }
        Step::Strict(on) => txn.rw.soft = !on,
        Step::SetVar(name, v, cond) => {
            if let Some(v) = v {
                txn.vars.set_if(name, &v, cond);
            }
        }
        Step::UnsetVar(name) => txn.vars.unset(name),
        Step::LogLevel(l) => txn.log_level = Some(l.to_string()),
        Step::Capture(slot, v) => txn.captures.push((slot, v)),
        Step::SetAddr(field, v) => match field {
            AddrField::Src | AddrField::SrcPort => txn.src = addr::set(field, txn.src, v),
            AddrField::Dst | AddrField::DstPort => txn.dst = addr::set(field, txn.dst, v),
        },
        Step::Nothing => {}
    }
    Verdict::Continue
}

fn name_matches(field: &[u8], pat: &str, m: MatchMethod) -> bool {
    // Case-insensitive without lowercased copies: this runs for every header
    // of every request a `del-header` rule sees.
    let p = pat.as_bytes();
    let eq = |a: &[u8]| a.eq_ignore_ascii_case(p);
    match m {
        MatchMethod::Beg => field.get(..p.len()).is_some_and(eq),
        MatchMethod::End => field
            .len()
            .checked_sub(p.len())
            .and_then(|at| field.get(at..))
            .is_some_and(eq),
        MatchMethod::Sub => p.is_empty() || field.windows(p.len()).any(eq),
        MatchMethod::Reg => regex::bytes::Regex::new(pat).is_ok_and(|r| r.is_match(field)),
        _ => eq(field),
    }
}

/// `replace-value`: each comma-separated item (blanks around it kept) replaced
/// where the regex matches, the separators as they were.
fn replace_items(re: &Regex, value: &[u8], fmt: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for (i, part) in value.split(|&c| c == b',').enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let start = part
            .iter()
            .position(|c| !c.is_ascii_whitespace())
            .unwrap_or(part.len());
        let end = part
            .iter()
            .rposition(|c| !c.is_ascii_whitespace())
            .map_or(start, |e| e + 1);
        out.extend_from_slice(&part[..start]);
        let item = &part[start..end];
        match replace_all(re, item, fmt) {
            Some(v) => out.extend_from_slice(&v),
            None => out.extend_from_slice(item),
        }
        out.extend_from_slice(&part[end..]);
    }
    out
}

/// HAProxy's `exp_replace` after a match: the replacement with `\N` filled in
/// (the unmatched parts are not kept); `None` when the regex does not match.
fn replace_all(re: &Regex, value: &[u8], fmt: &[u8]) -> Option<Vec<u8>> {
    let caps = re.re.captures(value)?;
    let mut out = Vec::with_capacity(fmt.len() + value.len());
    haproxide_expr::strconv::expand(fmt, &caps, &mut out);
    Some(out)
}

/// Splits a request target into (prefix before the path, path, query with `?`).
fn split_uri(uri: &[u8]) -> (usize, usize) {
    let path = haproxide_expr::http::uri_path(uri).map_or(uri.len(), |p| uri.len() - p.len());
    let q = uri[path..]
        .iter()
        .position(|&c| c == b'?')
        .map_or(uri.len(), |i| path + i);
    (path, q)
}

fn get_part(r: &RequestHead, part: UriPart) -> Vec<u8> {
    let (p, q) = split_uri(&r.uri);
    match part {
        UriPart::Path => r.uri[p..q].to_vec(),
        UriPart::Pathq => r.uri[p..].to_vec(),
        UriPart::Uri => r.uri.clone(),
        UriPart::Query => r.uri.get(q + 1..).unwrap_or_default().to_vec(),
        UriPart::Method => r.method.clone(),
    }
}

fn set_part(r: &mut RequestHead, part: UriPart, v: &[u8]) {
    let (p, q) = split_uri(&r.uri);
    let uri = &r.uri;
    let new = match part {
        UriPart::Path => [&uri[..p], v, &uri[q..]].concat(),
        UriPart::Pathq => [&uri[..p], v].concat(),
        UriPart::Uri => v.to_vec(),
        UriPart::Query => {
            if v.is_empty() {
                uri[..q].to_vec()
            } else {
                [&uri[..q], b"?", v].concat()
            }
        }
        UriPart::Method => {
            r.method = v.to_vec();
            return;
        }
    };
    r.uri = new;
}

/// The response a [`ReplySpec`] gives in a transaction (`pages`: the proxy's
/// error pages, for a body that is the status's error page).
pub fn reply_for(r: &ReplySpec, ctx: &dyn Context, pages: &ErrorPages) -> Reply {
    let headers: Vec<(Vec<u8>, Vec<u8>)> = r
        .headers
        .iter()
        .map(|(n, f)| (n.as_bytes().to_vec(), render(f, ctx)))
        // A header whose value renders empty is not added (HAProxy's
        // `http_reply_to_htx`; measured with 2.6.12).
        .filter(|(_, v)| !v.is_empty())
        .collect();
    match &r.body {
        ReplyBody::ErrorPage => {
            let mut rep = pages.reply_ctx(r.status, ctx);
            // `hdr` lines come before the page's own headers.
            for (i, (n, v)) in headers.into_iter().enumerate() {
                rep.head.headers.insert(i, &n, &v);
            }
            rep
        }
        // An empty file (`errorfile /dev/null`): nothing is sent.
        ReplyBody::Raw(raw) if raw.is_empty() => Reply {
            head: Reply::head(r.status, None),
            body: Vec::new(),
            silent: true,
        },
        ReplyBody::Raw(raw) => {
            Reply::from_raw(raw).unwrap_or_else(|| pages.reply_ctx(r.status, ctx))
        }
        ReplyBody::Empty => Reply::custom(r.status, headers, None, Vec::new()),
        ReplyBody::Bytes { content_type, data } => {
            Reply::custom(r.status, headers, Some(content_type), data.to_vec())
        }
        ReplyBody::Format { content_type, fmt } => {
            Reply::custom(r.status, headers, Some(content_type), render(fmt, ctx))
        }
    }
}

/// The redirect response (HAProxy's `http_apply_redirect_rule`).
/// `None`: `ignore-empty` and the target rendered empty (the rule is skipped).
fn redirect(r: &Redirect, ctx: &dyn Context, req: &RequestHead) -> Option<Reply> {
    let target = render(&r.target, ctx);
    if r.ignore_empty && target.is_empty() {
        return None;
    }
    let (p, q) = split_uri(&req.uri);
    let mut path = req.uri[p..q].to_vec();
    if r.append_slash && path.last() != Some(&b'/') {
        path.push(b'/');
    }
    let query = if r.drop_query {
        &b""[..]
    } else {
        &req.uri[q..]
    };
    let location = match r.kind {
        RedirectKind::Location => target,
        RedirectKind::Prefix => {
            // A prefix of "/" adds nothing (HAProxy).
            let pre: &[u8] = if target == b"/" { b"" } else { &target };
            [pre, &path, query].concat()
        }
        RedirectKind::Scheme => {
            let host = req.headers.get("host").unwrap_or_default();
            [&target[..], b"://", host, &path, query].concat()
        }
    };
    let mut head = Reply::head(r.code, None);
    head.headers.push(b"content-length", b"0");
    head.headers.push(b"location", &location);
    if matches!(r.code, 302 | 303 | 307) {
        head.headers.push(b"cache-control", b"no-cache");
    }
    if let Some(c) = &r.cookie {
        head.headers.push(b"set-cookie", c.as_bytes());
    }
    Some(Reply {
        head,
        body: Vec::new(),
        silent: false,
    })
}

mod addr;
pub mod rewrite;
pub use rewrite::{BufTune, Rewrite};

#[cfg(test)]
mod tests;
