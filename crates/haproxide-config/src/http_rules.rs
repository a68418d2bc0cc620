//! `http-request`, `http-response`, `http-after-response` actions and the
//! `redirect` keyword, typed once (configuration.txt §4.2 "http-request" and the
//! action list, §4.4 "redirect"), into the runtime specs of
//! [`haproxide_http::rules`]; and `userlist` sections (§3.4). Errors carry
//! `haproxy -c`'s text (what follows "... while parsing 'http-request <action>'
//! rule : ").

use std::sync::Arc;

use haproxide_expr::logfmt::{LfMode, LogFormat};
use haproxide_expr::{MatchMethod, SampleExpr, VarCond};
use haproxide_http::reply::{ErrorPages, ERROR_STATUSES};
use haproxide_http::rules::{
    Action, AddrField, Fmt, Password, Redirect, RedirectKind, Regex, ReplyBody, ReplySpec, UriPart,
    User, Userlist,
};

use crate::model::{Config, Rule};

/// A typed action (compared by identity: the rule's words are the model's).
#[derive(Debug, Clone)]
pub struct TypedAction(pub Arc<Action>);

impl PartialEq for TypedAction {
    fn eq(&self, o: &TypedAction) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}
impl Eq for TypedAction {}

/// What typing needs besides the words.
pub struct TypeCtx<'a> {
    /// The proxy's name (the default `auth` realm).
    pub proxy: &'a str,
    /// Reads a file named by a rule (`file`, `errorfile`).
    pub read: &'a dyn Fn(&str) -> Result<Vec<u8>, String>,
    /// How many `capture request header` slots precede `capture ... len` ones.
    pub capture_base: usize,
    /// Whether HAProxy 2.6 has a fetch or converter of this name (one this
    /// engine lacks makes the rule untyped, refused at run time, not an error).
    pub known: &'a dyn Fn(&str) -> bool,
    /// Reads map files of `map_*` converters (when files are checked).
    pub opts: haproxide_expr::Opts<'a>,
    /// The pages of an `http-errors <name>` section read so far (`deny ...
    /// errorfiles <name>`), as (status, file contents).
    pub http_errors: &'a dyn Fn(&str) -> Vec<ErrorPage>,
}

/// An error page: its status and the file's contents.
pub type ErrorPage = (u16, Vec<u8>);

/// Why a rule does not type: HAProxy's message, and whether HAProxy words it
/// as a condition error (`parsing [f:l]: '<rule>' expects either 'if' or
/// 'unless' ...`: a word it did not take as an argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub msg: String,
    pub leftover: Option<String>,
}

impl From<String> for RuleError {
    fn from(msg: String) -> RuleError {
        RuleError {
            msg,
            leftover: None,
        }
    }
}
impl From<&str> for RuleError {
    fn from(msg: &str) -> RuleError {
        msg.to_string().into()
    }
}

fn leftover(w: &str) -> RuleError {
    RuleError {
        msg: String::new(),
        leftover: Some(w.to_string()),
    }
}

/// An error of the expression engine: HAProxy's when HAProxy refuses it too;
/// `None` (untyped) when HAProxy has the fetch or converter and this engine not.
fn expr_err(e: haproxide_expr::ExprError, cx: &TypeCtx<'_>) -> Result<Option<Action>, RuleError> {
    if e.is_invalid() {
        return Err(e.message.into());
    }
    let name = e.message.split('\'').nth(1).unwrap_or("");
    if (cx.known)(name) || e.kind == haproxide_expr::ErrorKind::Unsupported {
        Ok(None)
    } else {
        Err(e.message.into())
    }
}

fn fmt(s: &str, opts: &haproxide_expr::Opts<'_>) -> Result<Fmt, String> {
    LogFormat::parse_with(s, LfMode::Http, opts)
        .map(Arc::new)
        .map_err(|e| match &e {
            // HAProxy quotes the format from the expression to its end.
            haproxide_expr::logfmt::LogFormatError::Sample(x, m, _) => {
                let at = s.find(&format!("%[{x}")).map_or(0, |i| i + 2);
                format!("failed to parse sample expression <{}> : {m}", &s[at..])
            }
            _ => e.to_string(),
        })
}

/// A log-format value: `Ok(None)` when it needs a fetch or converter this
/// engine lacks (HAProxy has it).
fn fmt_or_untyped(s: &str, cx: &TypeCtx<'_>) -> Result<Option<Fmt>, RuleError> {
    match fmt(s, &cx.opts) {
        Ok(f) => Ok(Some(f)),
        Err(m) => {
            let unknown =
                m.contains(": unknown fetch method '") || m.contains(": unknown converter '");
            let name = m.rsplit(" '").next().unwrap_or("").trim_end_matches('\'');
            if unknown && (cx.known)(name) {
                Ok(None)
            } else {
                Err(m.into())
            }
        }
    }
}

fn regex(s: &str) -> Result<Regex, RuleError> {
    regex::bytes::RegexBuilder::new(s)
        .size_limit(1 << 20)
        .build()
        .map(|re| Regex {
            text: s.to_string(),
            re,
        })
        .map_err(|_| format!("failed to parse the regex : '{s}'").into())
}

/// The part inside `name(...)`: `set-var(txn.x)` → `txn.x`.
fn paren(action: &str) -> Option<&str> {
    let open = action.find('(')?;
    action[open + 1..].strip_suffix(')')
}

/// `set-var(<name>[,<cond>...])`: the name and its conditions (§4.2,
/// [`VarCond`]).
fn var_name_cond(action: &str) -> Result<(String, VarCond), RuleError> {
    let (name, cond) = haproxide_expr::varcond::split(paren(action).unwrap_or(""))?;
    Ok((var_name_checked(name)?, cond))
}

fn var_name(action: &str) -> Result<String, RuleError> {
    var_name_checked(paren(action).unwrap_or(""))
}

fn var_name_checked(name: &str) -> Result<String, RuleError> {
    let scopes = ["proc.", "sess.", "txn.", "req.", "res."];
    if scopes
        .iter()
        .any(|s| name.starts_with(s) && name.len() > s.len())
    {
        Ok(name.to_string())
    } else {
        Err(format!("invalid variable name '{name}'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'").into())
    }
}

/// The counter of `sc-inc-gpc0(<n>)` & co (0 to 2: `tune.stick-counters`).
fn sc_id(action: &str) -> Result<u8, RuleError> {
    match paren(action).map(str::parse::<u8>) {
        Some(Ok(n)) if n < 3 => Ok(n),
        Some(_) => Err("invalid stick table track ID. The max allowed ID is 2".into()),
        None => Err("missing stick counter id".into()),
    }
}

/// Types one rule's action; `Ok(None)` for an action this engine does not type
/// (the translate layer refuses it with its line).
pub fn type_action(rule: &Rule, cx: &TypeCtx<'_>) -> Result<Option<Action>, RuleError> {
    let a: Vec<&str> = rule.args.iter().map(String::as_str).collect();
    let name = rule.action.name.as_str();
    let base = name.split('(').next().unwrap_or(name);
    let exactly = |n: usize, what: &str| -> Result<(), RuleError> {
        if a.len() == n && a.iter().all(|w| !w.is_empty()) {
            Ok(())
        } else {
            let s = if n > 1 { "s" } else { "" };
            Err(format!("expects exactly {n} argument{s}{what}").into())
        }
    };
    macro_rules! fmt_or_none {
        ($s:expr) => {
            match fmt_or_untyped($s, cx)? {
                Some(f) => f,
                None => return Ok(None),
            }
        };
    }
    macro_rules! expr_or_none {
        ($s:expr) => {
            match SampleExpr::parse_with($s, &cx.opts) {
                Ok(e) => e,
                Err(e) => return expr_err(e, cx),
            }
        };
    }
    let response = rule.ruleset != "http-request" && rule.ruleset != "redirect";
    Ok(Some(match base {
        "allow" => Action::Allow,
        "deny" => match reply_spec(&a, if response { 502 } else { 403 }, true, cx)? {
            Some(r) => Action::Deny(r),
            None => return Ok(None),
        },
        "tarpit" if !response => match reply_spec(&a, 500, true, cx)? {
            Some(r) => Action::Tarpit(r),
            None => return Ok(None),
        },
        "return" => match reply_spec(&a, 200, false, cx)? {
            Some(r) => Action::Return(r),
            None => return Ok(None),
        },
        "auth" if !response => {
            let realm = match a.as_slice() {
                [] => cx.proxy.to_string(),
                ["realm"] => return Err("missing realm value.\n".into()),
                ["realm", r] => r.to_string(),
                ["realm", _, w, ..] | [w, ..] => return Err(leftover(w)),
            };
            Action::Auth { realm }
        }
        "redirect" => match redirect(&a, cx)? {
            Some(r) => Action::Redirect(r),
            None => return Ok(None),
        },
        "set-header" | "add-header" => {
            exactly(2, "")?;
            Action::SetHeader {
                name: a[0].to_string(),
                value: fmt_or_none!(a[1]),
                replace: base == "set-header",
            }
        }
        "del-header" => {
            let method = match a.as_slice() {
                [_] => MatchMethod::Str,
                [_, "-m", m] => match *m {
                    "str" => MatchMethod::Str,
                    "beg" => MatchMethod::Beg,
                    "end" => MatchMethod::End,
                    "sub" => MatchMethod::Sub,
                    "reg" => MatchMethod::Reg,
                    _ => return Err(format!("-m: unknown matching method '{m}'").into()),
                },
                [] => return Err("expects at least 1 argument".into()),
                [_, w, ..] => return Err(leftover(w)),
            };
            Action::DelHeader {
                name: a[0].to_string(),
                method,
            }
        }
        "replace-header" | "replace-value" => {
            exactly(3, "")?;
            Action::ReplaceHeader {
                name: a[0].to_string(),
                re: regex(a[1])?,
                fmt: fmt_or_none!(a[2]),
                items: base == "replace-value",
            }
        }
        "set-path" | "set-pathq" | "set-uri" | "set-query" | "set-method" if !response => {
            exactly(1, " <format>")?;
            let part = match base {
                "set-path" => UriPart::Path,
                "set-pathq" => UriPart::Pathq,
                "set-uri" => UriPart::Uri,
                "set-query" => UriPart::Query,
                _ => UriPart::Method,
            };
            Action::SetPart {
                part,
                fmt: fmt_or_none!(a[0]),
            }
        }
        "replace-path" | "replace-pathq" | "replace-uri" if !response => {
            exactly(2, " <match-regex> and <replace-format>")?;
            let part = match base {
                "replace-path" => UriPart::Path,
                "replace-pathq" => UriPart::Pathq,
                _ => UriPart::Uri,
            };
            Action::ReplacePart {
                part,
                re: regex(a[0])?,
                fmt: fmt_or_none!(a[1]),
            }
        }
        "set-var" => {
            let (name, cond) = var_name_cond(name)?;
            let Some(e) = a.first() else {
                return Err("expects a sample expression".into());
            };
            let expr = expr_or_none!(e);
            if let Some(w) = a.get(1) {
                return Err(leftover(w));
            }
            Action::SetVar { name, expr, cond }
        }
        "set-var-fmt" => {
            let (name, cond) = var_name_cond(name)?;
            let Some(f) = a.first() else {
                return Err("expects a format string".into());
            };
            let fmt = fmt_or_none!(f);
            if let Some(w) = a.get(1) {
                return Err(leftover(w));
            }
            Action::SetVarFmt { name, fmt, cond }
        }
        "unset-var" => Action::UnsetVar {
            name: var_name(name)?,
        },
        "set-log-level" => {
            const LEVELS: &[&str] = &[
                "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "silent",
            ];
            match a.as_slice() {
                [l] if LEVELS.contains(l) => Action::SetLogLevel(l.to_string()),
                [_, w, ..] => return Err(leftover(w)),
                _ => return Err("expects exactly 1 argument (log level name or 'silent')".into()),
            }
        }
        // §4.3 `wait-for-body time <time> [ at-least <bytes> ]`.
        "wait-for-body" if rule.ruleset != "http-after-response" => {
            let (mut time, mut at_least) = (None, None);
            let mut it = a.iter();
            while let Some(w) = it.next() {
                match *w {
                    "time" => {
                        let v = it.next().copied().unwrap_or("");
                        let t = crate::value::parse_time(v, 1).map_err(|_| {
                            format!("'wait-for-body time' : invalid time value '{v}'")
                        })?;
                        time = Some(t.as_duration());
                    }
                    "at-least" => {
                        let v = it.next().copied().unwrap_or("");
                        let n = crate::value::parse_size(v).map_err(|_| {
                            format!("'wait-for-body at-least' : invalid size value '{v}'")
                        })?;
                        at_least = Some(n);
                    }
                    w => {
                        return Err(format!(
                            "'wait-for-body' : unexpected argument '{w}' (expects 'time' or 'at-least')"
                        )
                        .into())
                    }
                }
            }
            let Some(time) = time else {
                return Err("'wait-for-body' : expects 'time <time>'".into());
            };
            Action::WaitForBody { time, at_least }
        }
        "set-status" if response => {
            let code = a.first().copied().unwrap_or("");
            let code = match code.parse::<u16>() {
                Ok(c) if (100..=999).contains(&c) => c,
                _ => return Err("expects an integer status code between 100 and 999".into()),
            };
            let reason = match &a[1..] {
                [] => None,
                ["reason", r] => Some(r.to_string()),
                [w, ..] => return Err(leftover(w)),
            };
            Action::SetStatus { code, reason }
        }
        "capture" => {
            let (Some(e), Some(kw), Some(n)) = (a.first(), a.get(1), a.get(2)) else {
                return Err("expects <expression> [ 'len' <length> | id <idx> ]".into());
            };
            if !matches!(*kw, "len" | "id") {
                return Err(format!("expects 'len' or 'id', found '{kw}'").into());
            }
            let expr = expr_or_none!(e);
            let n: usize = n
                .parse()
                .map_err(|_| format!("expects an integer after '{kw}'"))?;
            if let Some(w) = a.get(3) {
                return Err(leftover(w));
            }
            match *kw {
                "len" if !response => Action::Capture {
                    expr,
                    slot: cx.capture_base,
                    len: n,
                },
                _ => Action::Capture {
                    expr,
                    slot: n,
                    len: 64,
                },
            }
        }
        "set-src" | "set-dst" | "set-src-port" | "set-dst-port" if !response => {
            let Some(e) = a.first() else {
                return Err("missing fetch method".into());
            };
            let expr = expr_or_none!(e);
            if let Some(w) = a.get(1) {
                return Err(leftover(w));
            }
            let field = match base {
                "set-src" => AddrField::Src,
                "set-dst" => AddrField::Dst,
                "set-src-port" => AddrField::SrcPort,
                _ => AddrField::DstPort,
            };
            Action::SetAddr { field, expr }
        }
        "sc-inc-gpc0" | "sc-inc-gpc1" => {
            let ctr = sc_id(name)?;
            if let Some(w) = a.first() {
                return Err(leftover(w));
            }
            Action::ScIncGpc {
                ctr,
                idx: u8::from(base.ends_with('1')),
            }
        }
        "sc-set-gpt0" => {
            let ctr = sc_id(name)?;
            let Some(e) = a.first() else {
                return Err("expects an integer or a sample expression".into());
            };
            let lit = format!("int({e})");
            let value = if e.parse::<i64>().is_ok() {
                expr_or_none!(lit.as_str())
            } else {
                expr_or_none!(e)
            };
            if let Some(w) = a.get(1) {
                return Err(leftover(w));
            }
            Action::ScSetGpt0 { ctr, value }
        }
        // §4.2 `http-request track-sc<n> <key> [table <table>]`, read as HAProxy
        // 2.6's parse_http_track_sc and cfg_parse_track_sc_num do (`track-sc`
        // alone is sc0).
        b if b.starts_with("track-sc") => {
            let num = &b["track-sc".len()..];
            if !num.bytes().all(|c| c.is_ascii_digit()) {
                return Err(format!("Wrong track-sc number '{num}'").into());
            }
            let n = match num.parse::<u64>() {
                Ok(n @ 0..=2) => n as u8,
                Ok(n) => {
                    return Err(format!(
                        "{} track-sc number exceeding 2 (MAX_SESS_STKCTR-1) value",
                        n as u32
                    )
                    .into())
                }
                Err(_) if num.is_empty() => 0,
                Err(_) => return Err(format!("Wrong track-sc number '{num}'").into()),
            };
            let Some(k) = a.first().filter(|k| !k.is_empty()) else {
                return Err("missing fetch method".into());
            };
            let key = expr_or_none!(k);
            let table = match &a[1..] {
                [] => None,
                ["table"] | ["table", ""] => return Err("missing table name".into()),
                ["table", t] => Some(t.to_string()),
                ["table", _, w, ..] | [w, ..] => return Err(leftover(w)),
            };
            Action::TrackSc { n, key, table }
        }
        // §6.2.2: `cache-use` / `cache-store <name>`; the assembly binds the
        // name to the section's store.
        "cache-use" if !response => match a.as_slice() {
            [c] if !c.is_empty() => Action::CacheUse(haproxide_http::cache::CacheRef::named(c)),
            _ => return Err("expects a cache name".into()),
        },
        "cache-store" if response => match a.as_slice() {
            [c] if !c.is_empty() => Action::CacheStore(haproxide_http::cache::CacheRef::named(c)),
            _ => return Err("expects a cache name".into()),
        },
        // §4.2 `strict-mode { on | off }` (HAProxy's parse_http_strict_mode).
        "strict-mode" => match a.as_slice() {
            [] | [""] => return Err("expects exactly 1 arguments".into()),
            [_, w, ..] => return Err(leftover(w)),
            [v] if v.eq_ignore_ascii_case("on") => Action::StrictMode(true),
            [v] if v.eq_ignore_ascii_case("off") => Action::StrictMode(false),
            [v] => {
                return Err(
                    format!("Unexpected value '{v}'. Only 'on' and 'off' are supported").into(),
                )
            }
        },
        "use-service" if !response => match a.as_slice() {
            [svc] if svc.starts_with("lua.") => Action::Service {
                name: svc["lua.".len()..].to_string(),
                host: Default::default(),
            },
            _ => return Ok(None),
        },
        // §4.2 `silent-drop` (no argument in HAProxy 2.6).
        "silent-drop" if rule.ruleset != "http-after-response" => match a.as_slice() {
            [] => Action::SilentDrop,
            [w, ..] => return Err(leftover(w)),
        },
        // §9.3: `send-spoe-group <engine-id> <group-name>` (the engine and the
        // group are checked after parsing, crate::spoe::check_references).
        "send-spoe-group" if rule.ruleset != "http-after-response" => match a.as_slice() {
            [e, g] if !e.is_empty() && !g.is_empty() => Action::SendSpoeGroup {
                engine: e.to_string(),
                group: g.to_string(),
            },
            _ => return Err("expects 2 arguments: <engine-id> <group-id>".into()),
        },
        b if b.starts_with("lua.") => Action::Script {
            name: b["lua.".len()..].to_string(),
            args: a.iter().map(|s| s.to_string()).collect(),
            host: Default::default(),
        },
        _ => return Ok(None),
    }))
}

/// `http-error status <code> [content-type <type>] [default-errorfiles |
/// errorfile <file> | errorfiles <name> | file <file> | lf-file <file> |
/// string <str> | lf-string <fmt>] [hdr <name> <fmt>]*` (§4.2 "http-error",
/// HAProxy's `proxy_parse_http_error`): the reply, as `return` reads it, for a
/// status HAProxy has a page for. `Ok(None)`: a log-format uses what this
/// engine does not run.
pub fn http_error(a: &[&str], cx: &TypeCtx<'_>) -> Result<Option<ReplySpec>, String> {
    if a.first() != Some(&"status") || a.len() < 2 {
        return Err("expects at least a <status> as arguments.".into());
    }
    let status = a[1].parse::<u16>().unwrap_or(0);
    if !ERROR_STATUSES.contains(&status) {
        return Err(format!("status code '{}' not handled.", a[1]));
    }
    reply_spec(a, status, false, cx).map_err(|e| match e.leftover {
        Some(w) => format!("unknown keyword '{w}'."),
        None => e.msg,
    })
}

/// `deny`/`tarpit`/`return` arguments (§4.2 "http-request return",
/// HAProxy's `http_parse_http_reply`).
fn reply_spec(
    a: &[&str],
    default: u16,
    deny: bool,
    cx: &TypeCtx<'_>,
) -> Result<Option<ReplySpec>, RuleError> {
    let mut status = default;
    let mut content_type: Option<String> = None;
    let mut body: Option<ReplyBody> = None;
    let mut headers = Vec::new();
    let mut section: Option<&str> = None;
    let mut i = 0;
    while i < a.len() {
        let next = a.get(i + 1).copied();
        let need = |what: &str| -> Result<&str, RuleError> {
            next.ok_or_else(|| format!("'{}' expects {what} as argument", a[i]).into())
        };
        match a[i] {
            "deny_status" if deny => status = status_arg(need("<status_code>")?)?,
            "status" => status = status_arg(need("<status_code>")?)?,
            "content-type" => content_type = Some(need("<ctype>")?.to_string()),
            "string" | "lf-string" | "file" | "lf-file" | "errorfile" => {
                let v = need(if a[i].ends_with("file") {
                    "<file>"
                } else {
                    "<str>"
                })?;
                // HAProxy's words (http_htx.c): `errorfile` goes through
                // `http_load_errorfile`, whose message ends with a period.
                let dot = if a[i] == "errorfile" { "." } else { "" };
                let open = |v: &str| -> Result<Vec<u8>, RuleError> {
                    (cx.read)(v).map_err(|_| format!("error opening file '{v}'{dot}").into())
                };
                let file = if a[i].ends_with("file") {
                    Some(open(v)?)
                } else {
                    None
                };
                body = Some(match (a[i], file) {
                    // An empty file is an empty payload: HAProxy ignores the
                    // content-type then (warning "ignored by the http reply
                    // when used with an empty payload"; reg-test http_return).
                    ("file" | "lf-file", Some(d)) if d.is_empty() => ReplyBody::Empty,
                    ("string", _) => ReplyBody::Bytes {
                        content_type: String::new(),
                        data: Arc::from(v.as_bytes()),
                    },
                    ("lf-string", _) => match fmt_or_untyped(v, cx)? {
                        Some(fmt) => ReplyBody::Format {
                            content_type: String::new(),
                            fmt,
                        },
                        None => return Ok(None),
                    },
                    ("file", Some(d)) => ReplyBody::Bytes {
                        content_type: String::new(),
                        data: Arc::from(d),
                    },
                    ("lf-file", Some(d)) => match fmt_or_untyped(&String::from_utf8_lossy(&d), cx)?
                    {
                        Some(fmt) => ReplyBody::Format {
                            content_type: String::new(),
                            fmt,
                        },
                        None => return Ok(None),
                    },
                    (_, d) => ReplyBody::Raw(Arc::from(d.unwrap_or_default())),
                });
            }
            "default-errorfiles" => {
                body = Some(ReplyBody::ErrorPage);
                i += 1;
                continue;
            }
            // The named `http-errors` section's page for the status (chosen
            // once every argument is read), else the proxy's error page.
            "errorfiles" => {
                section = Some(need("<name>")?);
                body = Some(ReplyBody::ErrorPage);
            }
            "hdr" => {
                let (Some(n), Some(v)) = (next, a.get(i + 2)) else {
                    return Err("'hdr' expects <name> and <value> as arguments".into());
                };
                match fmt_or_untyped(v, cx)? {
                    Some(f) => headers.push((n.to_string(), f)),
                    None => return Ok(None),
                }
                i += 3;
                continue;
            }
            other => return Err(leftover(other)),
        }
        i += 2;
    }
    if let Some(name) = section {
        if let Some((_, page)) = (cx.http_errors)(name)
            .into_iter()
            .rev()
            .find(|(c, _)| *c == status)
        {
            body = Some(ReplyBody::Raw(Arc::from(page)));
        }
    }
    // A `content-type` or a `hdr` without payload makes a deny's reply an
    // empty one (no error page; the type is dropped), and an error page keeps
    // its own headers (`hdr` ignored): HAProxy 2.6.12 warns for both, measured.
    let given = content_type.is_some() || !headers.is_empty();
    if matches!(body, Some(ReplyBody::ErrorPage | ReplyBody::Raw(_))) {
        headers.clear();
    }
    let body = match (body, content_type) {
        (Some(ReplyBody::Bytes { data, .. }), Some(ct)) => ReplyBody::Bytes {
            content_type: ct,
            data,
        },
        (Some(ReplyBody::Format { fmt, .. }), Some(ct)) => ReplyBody::Format {
            content_type: ct,
            fmt,
        },
        (Some(ReplyBody::Bytes { .. } | ReplyBody::Format { .. }), None) => {
            return Err(
                "a content type must be defined when non-empty payload is configured".into(),
            )
        }
        (Some(b), _) => b,
        (None, _) if deny && !given => ReplyBody::ErrorPage,
        (None, _) => ReplyBody::Empty,
    };
    if matches!(body, ReplyBody::ErrorPage) && !ERROR_STATUSES.contains(&status) {
        return Err(format!(
            "status code '{status}' not handled by default with 'default-errorfiles' argument."
        )
        .into());
    }
    Ok(Some(ReplySpec {
        status,
        body,
        headers,
    }))
}

/// `status <code>`: HAProxy reads it with atol() and accepts 200 to 599.
fn status_arg(s: &str) -> Result<u16, RuleError> {
    let v = s.parse::<u16>().unwrap_or(0);
    if (200..=599).contains(&v) {
        Ok(v)
    } else {
        Err(format!("Unexpected status code '{v}'").into())
    }
}

/// `redirect location|prefix|scheme <fmt> [code <n>] [<option>]...` (§4.4,
/// HAProxy's `http_parse_redirect_rule`).
fn redirect(a: &[&str], cx: &TypeCtx<'_>) -> Result<Option<Redirect>, RuleError> {
    let mut kind = None;
    let mut target = None;
    let mut code = 302;
    let mut drop_query = false;
    let mut append_slash = false;
    let mut cookie = None;
    let mut ignore_empty = false;
    let mut i = 0;
    while i < a.len() {
        let next = a.get(i + 1).copied();
        match a[i] {
            k @ ("location" | "prefix" | "scheme") => {
                let Some(t) = next else {
                    return Err(format!("missing argument for '{k}'").into());
                };
                kind = Some(match k {
                    "location" => RedirectKind::Location,
                    "prefix" => RedirectKind::Prefix,
                    _ => RedirectKind::Scheme,
                });
                target = Some(t);
                i += 1;
            }
            "code" => {
                let Some(c) = next else {
                    return Err("missing HTTP code".into());
                };
                let v = c.parse::<u16>().unwrap_or(0);
                if !matches!(v, 301 | 302 | 303 | 307 | 308) {
                    return Err(format!(
                        "'code': unsupported HTTP code '{c}' (must be one of 301, 302, 303, 307 or 308)"
                    )
                    .into());
                }
                code = v;
                i += 1;
            }
            k @ ("set-cookie" | "clear-cookie") => {
                let Some(c) = next else {
                    return Err(format!("missing argument for '{k}'").into());
                };
                cookie = Some(if k == "set-cookie" {
                    format!("{c}; path=/;")
                } else {
                    format!("{c}; path=/; Max-Age=0;")
                });
                i += 1;
            }
            "drop-query" => drop_query = true,
            "append-slash" => append_slash = true,
            "ignore-empty" => ignore_empty = true,
            other => {
                return Err(format!(
                    "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '{other}')"
                )
                .into())
            }
        }
        i += 1;
    }
    let (Some(kind), Some(target)) = (kind, target) else {
        return Err("redirection type expected ('prefix', 'location', or 'scheme')".into());
    };
    let Some(target) = fmt_or_untyped(target, cx)? else {
        return Ok(None);
    };
    Ok(Some(Redirect {
        kind,
        target,
        code,
        drop_query,
        append_slash,
        ignore_empty,
        cookie,
    }))
}

/// The `userlist` sections (§3.4): `user <name> [password <hash> |
/// insecure-password <pw>] [groups <g>,...]` and `group <name> [users <u>,...]`.
pub fn userlists(cfg: &Config) -> Vec<Userlist> {
    let mut out = Vec::new();
    for s in cfg.others.iter().filter(|s| s.kind == "userlist") {
        let mut list = Userlist {
            name: s.name.as_ref().map(|n| n.name.clone()).unwrap_or_default(),
            users: Vec::new(),
        };
        let mut group_members: Vec<(String, String)> = Vec::new();
        for d in &s.directives {
            let w: Vec<&str> = d.line.words.iter().map(|w| w.text.as_str()).collect();
            match w.as_slice() {
                ["user", name, rest @ ..] => {
                    let mut u = User {
                        name: name.to_string(),
                        password: Password::Insecure(String::new()),
                        groups: Vec::new(),
                    };
                    let mut i = 0;
                    while i + 1 < rest.len() {
                        match rest[i] {
                            "password" => u.password = Password::Crypt(rest[i + 1].to_string()),
                            "insecure-password" => {
                                u.password = Password::Insecure(rest[i + 1].to_string())
                            }
                            "groups" => u.groups.extend(rest[i + 1].split(',').map(str::to_string)),
                            _ => {}
                        }
                        i += 2;
                    }
                    list.users.push(u);
                }
                ["group", name, "users", users, ..] => {
                    for u in users.split(',') {
                        group_members.push((name.to_string(), u.to_string()));
                    }
                }
                _ => {}
            }
        }
        for (g, u) in group_members {
            if let Some(user) = list.users.iter_mut().find(|x| x.name == u) {
                if !user.groups.contains(&g) {
                    user.groups.push(g);
                }
            }
        }
        out.push(list);
    }
    out
}

/// `errorfile <code> <file>` and `errorfiles <name> [<code>...]` pages of a
/// proxy (§4.2 "errorfile", "errorfiles", §12.4 "http-errors"): its defaults
/// section's first (the `from` one, else the last one before it), then its own,
/// in line order, a later line for a status replacing an earlier one
/// (`errorfiles` imports the named `http-errors` section's pages, all or the
/// listed codes, "exactly the same as declaring all error files by hand"). A code
/// HAProxy has no page for is ignored (HAProxy warns), an unreadable file is left
/// to the check that reported it. An empty file (`/dev/null`) is an empty page:
/// HAProxy then sends nothing and closes.
///
/// `http-error` replies take part in the same line order: a later `errorfile`
/// for a status replaces an earlier `http-error` for it, and the reverse.
pub fn error_pages(cfg: &Config, p: &crate::model::Proxy) -> ErrorPages {
    use crate::model::ProxyKind;
    let pos = cfg.proxies.iter().position(|x| std::ptr::eq(x, p));
    let defaults = match &p.from {
        Some(f) => cfg
            .proxies
            .iter()
            .find(|d| d.kind == ProxyKind::Defaults && d.name.name == f.name),
        None => pos.and_then(|i| {
            cfg.proxies[..i]
                .iter()
                .rev()
                .find(|d| d.kind == ProxyKind::Defaults)
        }),
    };
    let mut out = ErrorPages::default();
    let put = |out: &mut ErrorPages, code: &str, file: &str| {
        let Ok(code) = code.parse::<u16>() else {
            return;
        };
        if !ERROR_STATUSES.contains(&code) {
            return;
        }
        let Ok(raw) = std::fs::read(file) else {
            return;
        };
        out.custom.retain(|(c, _)| *c != code);
        out.replies.retain(|(c, _)| *c != code);
        out.custom.push((code, Arc::from(raw)));
    };
    for px in defaults.into_iter().chain(std::iter::once(p)) {
        for d in &px.directives {
            let w: Vec<&str> = d.line.words.iter().map(|w| w.text.as_str()).collect();
            match (d.keyword.as_str(), w.get(1), w.get(2)) {
                ("errorfile", Some(code), Some(file)) => put(&mut out, code, file),
                ("errorfiles", Some(name), _) => {
                    for (code, file) in http_errors(cfg, name) {
                        if w.len() <= 2 || w[2..].contains(&code) {
                            put(&mut out, code, file);
                        }
                    }
                }
                ("http-error", _, _) => {
                    let at = (d.line.file, d.line.line);
                    if let Some(e) = px.http_error.iter().find(|e| e.at == at) {
                        let code = e.reply.status;
                        out.custom.retain(|(c, _)| *c != code);
                        out.replies.retain(|(c, _)| *c != code);
                        out.replies.push((code, e.reply.clone()));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// `monitor-uri <uri>` (§4.2): the proxy's last one, else its defaults
/// section's ("when multiple "monitor-uri" statements are present, the last one
/// will define the URI to be used").
pub fn monitor_uri(cfg: &Config, p: &crate::model::Proxy) -> Option<String> {
    let own = |px: &crate::model::Proxy| {
        px.directives
            .iter()
            .rev()
            .find(|d| d.keyword == "monitor-uri")
            .and_then(|d| d.line.words.get(1))
            .map(|w| w.text.clone())
    };
    own(p).or_else(|| p.defaults.and_then(|d| cfg.proxies.get(d)).and_then(own))
}

/// The `errorfile <code> <file>` lines of the `http-errors <name>` section
/// (§12.4), in order.
fn http_errors<'c>(cfg: &'c Config, name: &str) -> Vec<(&'c str, &'c str)> {
    cfg.others
        .iter()
        .filter(|s| s.kind == "http-errors" && s.name.as_ref().is_some_and(|n| n.name == name))
        .flat_map(|s| s.directives.iter())
        .filter(|d| d.keyword == "errorfile")
        .filter_map(|d| {
            let w = &d.line.words;
            Some((w.get(1)?.text.as_str(), w.get(2)?.text.as_str()))
        })
        .collect()
}

/// The page `errorfiles <name>` gives `status` (`http-request return|deny ...
/// errorfiles <name>`, HAProxy's `http_parse_http_reply`): the section's last
/// `errorfile` for it.
pub fn http_errors_page(cfg: &Config, name: &str, status: u16) -> Option<Vec<u8>> {
    let file = http_errors(cfg, name)
        .into_iter()
        .rev()
        .find(|(c, _)| c.parse::<u16>().ok() == Some(status))?
        .1;
    std::fs::read(file).ok()
}

#[cfg(test)]
mod tests;
