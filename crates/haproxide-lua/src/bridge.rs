//! The Rust side of one call's `txn` / `applet` object (prelude.lua builds the
//! Lua objects; each of their methods calls the bridge `b(op, ...)`): the
//! transaction's heads, variables and fetches through
//! [`haproxide_http::script::ScriptTxn`], and an HTTP applet's response.

use haproxide_expr::Sample;
use haproxide_http::reply::Reply;
use haproxide_http::script::ScriptTxn;
use haproxide_http::{Headers, RequestHead};
use mlua::{Lua, MultiValue, Table, Value};

/// An HTTP applet's response as the script builds it (applet:set_status,
/// add_header, start_response, send) and its view of the request body.
#[derive(Debug, Default)]
pub(crate) struct Applet {
    status: Option<(u16, Option<Vec<u8>>)>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    started: bool,
    /// How much of the request body `receive`/`getline` consumed.
    rpos: usize,
}

impl Applet {
    /// The response, as HAProxy 2.6.12 sends an applet's (measured): the
    /// script's headers in order; without a `content-length` the body is one
    /// chunk (`transfer-encoding: chunked`); to an HTTP/1.0 request, an
    /// HTTP/1.0 response whose body ends with the connection.
    pub(crate) fn reply(self, http10: bool) -> Reply {
        let (code, reason) = self.status.unwrap_or((200, None));
        let reason = reason.map(|r| String::from_utf8_lossy(&r).into_owned());
        let mut head = Reply::head(code, reason.as_deref());
        let mut has_len = false;
        for (n, v) in &self.headers {
            has_len |= n.eq_ignore_ascii_case(b"content-length");
            head.headers.push(n, v);
        }
        let bodyless = code == 204 || code == 304 || (100..200).contains(&code);
        if http10 {
            head.version = haproxide_http::Version { major: 1, minor: 0 };
        }
        let body = if has_len || bodyless || http10 {
            self.body
        } else {
            head.headers.push(b"transfer-encoding", b"chunked");
            let mut out = Vec::with_capacity(self.body.len() + 16);
            if !self.body.is_empty() {
                out.extend_from_slice(format!("{:X}\r\n", self.body.len()).as_bytes());
                out.extend_from_slice(&self.body);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
            out
        };
        Reply {
            head,
            body,
            silent: false,
        }
    }
}

/// One call's bridge state.
pub(crate) struct Bridge<'a> {
    pub txn: &'a mut dyn ScriptTxn,
    /// Set for a service call.
    pub applet: Option<Applet>,
    /// `txn:done([reply])` was called.
    pub done: Option<Reply>,
}

fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or(Value::Nil)
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    bytes(v)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn bad(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(msg.into())
}

/// A sample as Lua sees it (`txn.f`); `safe` (`txn.sf`) gives strings only.
fn to_lua(lua: &Lua, v: Option<Sample<'_>>, safe: bool) -> mlua::Result<Value> {
    let s = match v {
        None if safe => return Ok(Value::String(lua.create_string("")?)),
        None => return Ok(Value::Nil),
        Some(s) => s,
    };
    Ok(match s {
        Sample::Bool(b) if !safe => Value::Boolean(b),
        Sample::Sint(i) if !safe => Value::Integer(i),
        Sample::Bool(b) => Value::String(lua.create_string(if b { "1" } else { "0" })?),
        Sample::Sint(i) => Value::String(lua.create_string(i.to_string())?),
        Sample::Ipv4(a) => Value::String(lua.create_string(a.to_string())?),
        Sample::Ipv6(a) => Value::String(lua.create_string(a.to_string())?),
        Sample::Str(b) | Sample::Bin(b) | Sample::Meth(b) => Value::String(lua.create_string(&*b)?),
    })
}

/// A Lua value as a sample (`set_var`, fetch and converter results).
pub(crate) fn to_sample(v: &Value) -> Option<Sample<'static>> {
    match v {
        Value::Boolean(b) => Some(Sample::Bool(*b)),
        Value::Integer(i) => Some(Sample::Sint(*i)),
        Value::Number(n) if n.is_finite() => Some(Sample::Sint(*n as i64)),
        Value::String(s) => Some(Sample::Str(s.as_bytes().to_vec().into())),
        _ => None,
    }
}

/// A sample as a converter's input value.
pub(crate) fn sample_value(lua: &Lua, v: Sample<'_>) -> mlua::Result<Value> {
    to_lua(lua, Some(v), false)
}

/// The fetch keyword a Lua name stands for: HAProxy names `txn.f` methods
/// after the keyword with `.` made `_` (`req_hdr` is `req.hdr`).
fn fetch_text(name: &str, args: &[Value]) -> Vec<String> {
    let mut names = vec![name.to_string()];
    for (i, _) in name.match_indices('_') {
        let mut n = name.to_string();
        n.replace_range(i..i + 1, ".");
        names.push(n);
    }
    names.push(name.replace('_', "."));
    let a: Vec<String> = args.iter().map(text).collect();
    names
        .into_iter()
        .map(|n| {
            if a.is_empty() {
                n
            } else {
                format!("{n}({})", a.join(","))
            }
        })
        .collect()
}

fn set_uri_part(req: &mut RequestHead, part: &str, v: &[u8]) {
    let uri = req.uri.clone();
    let q = uri.iter().position(|&c| c == b'?');
    let (path, query) = match q {
        Some(i) => (&uri[..i], Some(&uri[i + 1..])),
        None => (&uri[..], None),
    };
    req.uri = match part {
        "path" => {
            let mut u = v.to_vec();
            if let Some(q) = query {
                u.push(b'?');
                u.extend_from_slice(q);
            }
            u
        }
        "query" => {
            let mut u = path.to_vec();
            u.push(b'?');
            u.extend_from_slice(v.strip_prefix(b"?").unwrap_or(v));
            u
        }
        _ => v.to_vec(),
    };
}

fn headers_table(lua: &Lua, h: Option<&Headers>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    if let Some(h) = h {
        let mut i = 1;
        for f in h.iter() {
            t.raw_set(i, lua.create_string(f.name.to_ascii_lowercase())?)?;
            t.raw_set(i + 1, lua.create_string(f.value)?)?;
            i += 2;
        }
    }
    Ok(t)
}

impl Bridge<'_> {
    /// One `b(op, ...)` call from prelude.lua.
    pub(crate) fn op(&mut self, lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
        let args: Vec<Value> = args.into_iter().collect();
        let op = text(&arg(&args, 0));
        let one = |v: Value| Ok(MultiValue::from_iter([v]));
        let none = || Ok(MultiValue::new());
        if let Some(out) = self.applet_op(lua, &op, &args)? {
            return Ok(out);
        }
        match op.as_str() {
            "headers" => {
                let h = match text(&arg(&args, 1)).as_str() {
                    "req" => Some(&self.txn.req().headers),
                    _ => self.txn.res().map(|r| &r.headers),
                };
                one(Value::Table(headers_table(lua, h)?))
            }
            "add_header" | "set_header" | "del_header" => {
                let side = text(&arg(&args, 1));
                let name = text(&arg(&args, 2));
                let value = bytes(&arg(&args, 3)).unwrap_or_default();
                let h = match side.as_str() {
                    "req" => self.txn.req_mut().map(|r| &mut r.headers),
                    _ => self.txn.res_mut().map(|r| &mut r.headers),
                };
                let Some(h) = h else {
                    return Err(bad(format!("{side}_{op}: no {side} message here")));
                };
                if op != "add_header" {
                    h.remove_all(&name);
                }
                if op != "del_header" {
                    h.push(name.as_bytes(), &value);
                }
                none()
            }
            "set_part" => {
                let part = text(&arg(&args, 1));
                let v = bytes(&arg(&args, 2)).unwrap_or_default();
                let Some(req) = self.txn.req_mut() else {
                    return Err(bad("req_set_*: the request cannot change in a response"));
                };
                if part == "method" {
                    req.method = v;
                } else {
                    set_uri_part(req, &part, &v);
                }
                none()
            }
            "set_status" => {
                let code = match arg(&args, 1) {
                    Value::Integer(i) => u16::try_from(i).ok(),
                    v => text(&v).parse().ok(),
                };
                let reason = bytes(&arg(&args, 2));
                match (self.txn.res_mut(), code) {
                    (Some(res), Some(code)) if (100..1000).contains(&code) => {
                        res.code = code;
                        res.status = code.to_string().into_bytes();
                        res.reason =
                            reason.unwrap_or_else(|| haproxide_http::reply::reason(code).into());
                    }
                    _ => return Err(bad("res_set_status: no response or a bad status")),
                }
                none()
            }
            "fetch" => {
                let name = text(&arg(&args, 1));
                let safe = matches!(arg(&args, 2), Value::Boolean(true));
                let fargs = args.get(3..).unwrap_or_default();
                let mut last = String::new();
                for t in fetch_text(&name, fargs) {
                    match self.txn.fetch(&t) {
                        Ok(v) => return one(to_lua(lua, v, safe)?),
                        Err(e) => last = e,
                    }
                }
                Err(bad(format!("fetch '{name}': {last}")))
            }
            "get_var" => {
                let v = self.txn.get_var(&text(&arg(&args, 1)));
                match v {
                    Some(v) => one(to_lua(lua, Some(v), false)?),
                    None => none(),
                }
            }
            "set_var" => {
                // HAProxy 2.6 (vars_set_by_name[_ifexist]): the scope must be
                // known; with `ifexist` a `proc` variable must exist already
                // (the other scopes may be created); true when set.
                let name = text(&arg(&args, 1));
                let ifexist = matches!(arg(&args, 3), Value::Boolean(true));
                let scope = name.split('.').next().unwrap_or_default();
                let ok = matches!(scope, "proc" | "sess" | "txn" | "req" | "res")
                    && name.len() > scope.len() + 1
                    && !(ifexist && scope == "proc" && self.txn.get_var(&name).is_none());
                let v = to_sample(&arg(&args, 2));
                let ok = match v {
                    Some(v) if ok => {
                        self.txn.set_var(&name, v);
                        true
                    }
                    _ => false,
                };
                one(Value::Boolean(ok))
            }
            "unset_var" => {
                self.txn.unset_var(&text(&arg(&args, 1)));
                none()
            }
            "done" => {
                self.done = Some(match arg(&args, 1) {
                    Value::Table(t) => reply_of(&t)?,
                    _ => Reply::custom(200, Vec::new(), None, Vec::new()),
                });
                none()
            }
            _ => Err(bad(format!("'{op}' is not available here"))),
        }
    }

    /// The applet's own operations; `None` when `op` is not one of them or
    /// this is not a service call.
    fn applet_op(
        &mut self,
        lua: &Lua,
        op: &str,
        args: &[Value],
    ) -> mlua::Result<Option<MultiValue>> {
        let Some(a) = self.applet.as_mut() else {
            return Ok(None);
        };
        let one = |v: Value| Ok(Some(MultiValue::from_iter([v])));
        match op {
            "request" => {
                let req = self.txn.req();
                let (path, qs) = match req.uri.iter().position(|&c| c == b'?') {
                    Some(i) => (&req.uri[..i], &req.uri[i + 1..]),
                    None => (&req.uri[..], &b""[..]),
                };
                let t = lua.create_table()?;
                t.raw_set(1, lua.create_string(&req.method)?)?;
                t.raw_set(2, lua.create_string(path)?)?;
                t.raw_set(3, lua.create_string(qs)?)?;
                let v = format!("{}.{}", req.version.major, req.version.minor);
                t.raw_set(4, v)?;
                let len = self.txn.body().map_or(0, |b| b.len()) as i64;
                t.raw_set(5, len)?;
                one(Value::Table(t))
            }
            "status" => {
                let code = match arg(args, 1) {
                    Value::Integer(i) => u16::try_from(i).ok(),
                    v => text(&v).parse().ok(),
                };
                match code {
                    Some(c) if (100..1000).contains(&c) => {
                        a.status = Some((c, bytes(&arg(args, 2))));
                        Ok(Some(MultiValue::new()))
                    }
                    _ => Err(bad("set_status: bad status code")),
                }
            }
            "add_header" => {
                if a.started {
                    return Err(bad("add_header: the response has started"));
                }
                let n = bytes(&arg(args, 1)).unwrap_or_default();
                let v = bytes(&arg(args, 2)).unwrap_or_default();
                a.headers.push((n.to_ascii_lowercase(), v));
                Ok(Some(MultiValue::new()))
            }
            "start" => {
                a.started = true;
                Ok(Some(MultiValue::new()))
            }
            "send" => {
                if !a.started {
                    return Err(bad("send: start_response() was not called"));
                }
                a.body
                    .extend_from_slice(&bytes(&arg(args, 1)).unwrap_or_default());
                Ok(Some(MultiValue::new()))
            }
            "receive" | "getline" => {
                let body = self.txn.body().unwrap_or_default();
                let rest = body.get(a.rpos..).unwrap_or_default();
                let n = if op == "getline" {
                    rest.iter()
                        .position(|&c| c == b'\n')
                        .map_or(rest.len(), |i| i + 1)
                } else {
                    match arg(args, 1) {
                        Value::Integer(n) if n >= 0 => rest.len().min(n as usize),
                        _ => rest.len(),
                    }
                };
                let out = lua.create_string(&rest[..n])?;
                a.rpos += n;
                one(Value::String(out))
            }
            _ => Ok(None),
        }
    }
}

/// A `txn:reply()` table (prelude.lua) as a response.
fn reply_of(t: &Table) -> mlua::Result<Reply> {
    let status: u16 = t.get::<Option<u16>>("status")?.unwrap_or(200);
    let reason: Option<String> = t.get("reason")?;
    let body: Option<mlua::String> = t.get("body")?;
    let body = body.map(|b| b.as_bytes().to_vec()).unwrap_or_default();
    let hs: Table = t.get("headers")?;
    let mut headers = Vec::new();
    for pair in hs.sequence_values::<Table>() {
        let pair = pair?;
        let n: mlua::String = pair.get(1)?;
        let v: mlua::String = pair.get(2)?;
        headers.push((n.as_bytes().to_ascii_lowercase(), v.as_bytes().to_vec()));
    }
    let mut r = Reply::custom(status, headers, None, body);
    if let Some(reason) = reason {
        r.head.reason = reason.into_bytes();
    }
    Ok(r)
}
