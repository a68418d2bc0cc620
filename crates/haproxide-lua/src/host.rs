//! The Lua state: loading the files, and each call bounded in time and memory.

use std::cell::{Cell, RefCell};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use haproxide_expr::Sample;
use haproxide_http::reply::Reply;
use haproxide_http::script::{ActionEnd, ScriptError, ScriptHost, ScriptKind, ScriptTxn};
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use crate::bridge::{sample_value, to_sample, Applet, Bridge};
use crate::{LuaError, LuaSpec};

const PRELUDE: &str = include_str!("prelude.lua");

/// The scripts of a configuration, loaded (one Lua state; calls take turns).
pub struct LuaHost {
    inner: Mutex<Inner>,
    spec: LuaSpec,
}

struct Inner {
    lua: Lua,
    /// prelude.lua's entry points.
    entry: Table,
}

impl std::fmt::Debug for LuaHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaHost").field("spec", &self.spec).finish()
    }
}

/// Why a bounded call ended without a value.
enum Fail {
    Timeout,
    Lua(mlua::Error),
}

impl Fail {
    fn text(&self) -> String {
        match self {
            Fail::Timeout => "execution timeout".to_string(),
            Fail::Lua(e) => first_line(e),
        }
    }
}

fn first_line(e: &mlua::Error) -> String {
    let s = match e {
        mlua::Error::CallbackError { cause, .. } => return first_line(cause),
        mlua::Error::MemoryError(_) => "not enough memory".to_string(),
        mlua::Error::RuntimeError(m) => m.clone(),
        e => e.to_string(),
    };
    s.lines().next().unwrap_or_default().to_string()
}

/// HAProxy's alert line on stderr (`[ALERT]    (pid) : ...`).
fn alert(msg: &str) {
    eprintln!("[ALERT]    ({}) : {msg}", std::process::id());
}

/// Runs `f(args)` in a fresh coroutine until it returns, fails, or `limit`
/// passes: every `every` instructions a hook checks the deadline and makes the
/// coroutine yield (a pcall in the script cannot catch a yield); where the
/// script is inside a C call that cannot yield, the next check raises an error.
fn bounded(
    lua: &Lua,
    f: Function,
    args: MultiValue,
    limit: Duration,
    every: u32,
) -> Result<MultiValue, Fail> {
    let th = lua.create_thread(f).map_err(Fail::Lua)?;
    let deadline = Instant::now() + limit;
    let asked = Cell::new(false);
    th.set_hook(
        HookTriggers::new().every_nth_instruction(every.max(1)),
        move |_, _| {
            if Instant::now() < deadline {
                Ok(VmState::Continue)
            } else if !asked.replace(true) {
                Ok(VmState::Yield)
            } else {
                Err(mlua::Error::RuntimeError("execution timeout".into()))
            }
        },
    );
    let mut args = args;
    loop {
        let out = th
            .resume::<MultiValue>(std::mem::take(&mut args))
            .map_err(Fail::Lua)?;
        if th.status() != mlua::ThreadStatus::Resumable {
            return Ok(out);
        }
        if Instant::now() >= deadline {
            return Err(Fail::Timeout);
        }
    }
}

impl LuaHost {
    /// Creates the state, runs every file in order (`lua-load`), then the
    /// `core.register_init` functions.
    pub fn load(spec: &LuaSpec) -> Result<LuaHost, LuaError> {
        let state = |e: mlua::Error| LuaError::State(first_line(&e));
        // No `debug`, no C modules (`package.loadlib` is removed below).
        let lua = Lua::new_with(StdLib::ALL_SAFE, LuaOptions::default()).map_err(state)?;
        if let Some(max) = spec.maxmem {
            lua.set_memory_limit(max).map_err(state)?;
        }
        let hpx = lua.create_table().map_err(state)?;
        let log = lua
            .create_function(|_, (level, msg): (i64, mlua::String)| {
                log_line(level, &msg.to_string_lossy());
                Ok(())
            })
            .map_err(state)?;
        let now = lua
            .create_function(|lua, ()| {
                let d = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let t = lua.create_table()?;
                t.set("sec", d.as_secs())?;
                t.set("usec", d.subsec_micros())?;
                Ok(t)
            })
            .map_err(state)?;
        hpx.set("log", log).map_err(state)?;
        hpx.set("now", now).map_err(state)?;
        let entry: Table = lua
            .load(PRELUDE)
            .set_name("=haproxide-prelude")
            .call(hpx)
            .map_err(state)?;
        let package: Table = lua.globals().get("package").map_err(state)?;
        package.set("loadlib", Value::Nil).map_err(state)?;
        package.set("cpath", "").map_err(state)?;
        for (tpl, cpath) in &spec.prepend_path {
            if !*cpath {
                let p: String = package.get("path").map_err(state)?;
                package.set("path", format!("{tpl};{p}")).map_err(state)?;
            }
        }
        let host = LuaHost {
            inner: Mutex::new(Inner { lua, entry }),
            spec: spec.clone(),
        };
        {
            let inner = host.lock().map_err(|e| LuaError::State(e.0))?;
            for f in &spec.loads {
                let name = f.display().to_string();
                let load = |e: mlua::Error| LuaError::Load {
                    file: name.clone(),
                    msg: first_line(&e),
                };
                let code = std::fs::read(f).map_err(|e| LuaError::Load {
                    file: name.clone(),
                    msg: format!("cannot open {name}: {e}"),
                })?;
                let chunk = inner
                    .lua
                    .load(code)
                    .set_name(format!("@{name}"))
                    .into_function()
                    .map_err(load)?;
                bounded(
                    &inner.lua,
                    chunk,
                    MultiValue::new(),
                    spec.session_timeout,
                    spec.forced_yield,
                )
                .map_err(|e| LuaError::Load {
                    file: name.clone(),
                    msg: e.text(),
                })?;
            }
            let inits: Function = inner.entry.get("inits").map_err(state)?;
            let list: Table = inits.call(()).map_err(state)?;
            for f in list.sequence_values::<Function>() {
                let f = f.map_err(state)?;
                bounded(
                    &inner.lua,
                    f,
                    MultiValue::new(),
                    spec.session_timeout,
                    spec.forced_yield,
                )
                .map_err(|e| LuaError::Init(e.text()))?;
            }
        }
        Ok(host)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, ScriptError> {
        self.inner
            .lock()
            .map_err(|_| ScriptError("the Lua state is unusable (a call panicked)".into()))
    }
}

fn log_line(level: i64, msg: &str) {
    const NAMES: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    let name = usize::try_from(level)
        .ok()
        .and_then(|l| NAMES.get(l))
        .copied()
        .unwrap_or("info");
    eprintln!("[{name}] ({}) : {msg}", std::process::id());
}

/// One bounded call with a bridge on `txn`: (result, applet, done).
type Outcome = (Result<MultiValue, Fail>, Option<Applet>, Option<Reply>);

impl LuaHost {
    fn run(
        &self,
        which: &str,
        txn: &mut dyn ScriptTxn,
        applet: Option<Applet>,
        args: Vec<Value>,
        limit: Duration,
    ) -> Result<Outcome, ScriptError> {
        let inner = self.lock()?;
        let bridge = RefCell::new(Bridge {
            txn,
            applet,
            done: None,
        });
        let every = self.spec.forced_yield;
        let res = inner.lua.scope(|scope| {
            let b = scope.create_function_mut(|lua, a: MultiValue| {
                bridge
                    .try_borrow_mut()
                    .map_err(|_| mlua::Error::RuntimeError("re-entrant call".into()))?
                    .op(lua, a)
            })?;
            let f: Function = inner.entry.get(which)?;
            let mut all = vec![Value::Function(b)];
            all.extend(args);
            Ok(bounded(
                &inner.lua,
                f,
                MultiValue::from_iter(all),
                limit,
                every,
            ))
        });
        let res = match res {
            Ok(r) => r,
            Err(e) => Err(Fail::Lua(e)),
        };
        if res.is_err() {
            // What a failed call left (a memory hog's tables) goes now.
            let _ = inner.lua.gc_collect();
        }
        let b = bridge.into_inner();
        Ok((res, b.applet, b.done))
    }

    fn name_value(&self, s: &str) -> Result<Value, ScriptError> {
        let inner = self.lock()?;
        inner
            .lua
            .create_string(s)
            .map(Value::String)
            .map_err(|e| ScriptError(first_line(&e)))
    }
}

impl ScriptHost for LuaHost {
    fn has(&self, kind: ScriptKind, name: &str) -> bool {
        let kind = match kind {
            ScriptKind::HttpReq => "http-req",
            ScriptKind::HttpRes => "http-res",
            ScriptKind::Service => "service",
            ScriptKind::Fetch => "fetch",
            ScriptKind::Converter => "converter",
        };
        let Ok(inner) = self.lock() else {
            return false;
        };
        let Ok(f) = inner.entry.get::<Function>("has") else {
            return false;
        };
        f.call::<bool>((kind, name)).unwrap_or(false)
    }

    fn action(
        &self,
        name: &str,
        args: &[String],
        txn: &mut dyn ScriptTxn,
    ) -> Result<ActionEnd, ScriptError> {
        let kind = if txn.res().is_some() {
            "http-res"
        } else {
            "http-req"
        };
        let mut a = vec![self.name_value(kind)?, self.name_value(name)?];
        for s in args {
            a.push(self.name_value(s)?);
        }
        let (res, _, done) = self.run("action", txn, None, a, self.spec.session_timeout)?;
        if let Some(r) = done {
            return Ok(ActionEnd::Done(r));
        }
        match res {
            Ok(_) => Ok(ActionEnd::Continue),
            Err(e) => {
                let msg = format!(
                    "Lua function '{name}': [state-id 0] runtime error: {}",
                    e.text()
                );
                alert(&msg);
                Err(ScriptError(msg))
            }
        }
    }

    fn service(&self, name: &str, txn: &mut dyn ScriptTxn) -> Result<Reply, ScriptError> {
        let a = vec![self.name_value(name)?];
        let http10 = !txn.req().version.is_11();
        let applet = Some(Applet::default());
        let (res, applet, _) = self.run("service", txn, applet, a, self.spec.service_timeout)?;
        match res {
            Ok(_) => Ok(applet.unwrap_or_default().reply(http10)),
            Err(e) => {
                let msg = format!(
                    "Lua applet http '<lua.{name}>': [state-id 0] runtime error: {}",
                    e.text()
                );
                alert(&msg);
                Err(ScriptError(msg))
            }
        }
    }

    fn fetch(
        &self,
        name: &str,
        args: &[String],
        txn: &mut dyn ScriptTxn,
    ) -> Result<Option<Sample<'static>>, ScriptError> {
        let mut a = vec![self.name_value(name)?];
        for s in args {
            a.push(self.name_value(s)?);
        }
        let (res, _, _) = self.run("fetch", txn, None, a, self.spec.session_timeout)?;
        match res {
            Ok(v) => Ok(v.into_iter().next().as_ref().and_then(to_sample)),
            Err(e) => {
                let msg = format!(
                    "Lua sample-fetch '{name}': [state-id 0] runtime error: {}",
                    e.text()
                );
                alert(&msg);
                Err(ScriptError(msg))
            }
        }
    }

    fn convert(
        &self,
        name: &str,
        args: &[String],
        input: Sample<'_>,
    ) -> Result<Option<Sample<'static>>, ScriptError> {
        let inner = self.lock()?;
        let lua = &inner.lua;
        let err = |e: mlua::Error| ScriptError(first_line(&e));
        let mut a = vec![
            Value::String(lua.create_string(name).map_err(err)?),
            sample_value(lua, input).map_err(err)?,
        ];
        for s in args {
            a.push(Value::String(lua.create_string(s).map_err(err)?));
        }
        let f: Function = inner.entry.get("convert").map_err(err)?;
        let res = bounded(
            lua,
            f,
            MultiValue::from_iter(a),
            self.spec.session_timeout,
            self.spec.forced_yield,
        );
        match res {
            Ok(v) => Ok(v.into_iter().next().as_ref().and_then(to_sample)),
            Err(e) => {
                let _ = lua.gc_collect();
                let msg = format!(
                    "Lua converter '{name}': [state-id 0] runtime error: {}",
                    e.text()
                );
                alert(&msg);
                Err(ScriptError(msg))
            }
        }
    }
}

/// `lua.<name>` fetches and converters in expressions (haproxide-expr's
/// `script` module): a failure gives no value (it was logged).
impl haproxide_expr::script::ScriptSamples for LuaHost {
    fn fetch(
        &self,
        name: &str,
        args: &[String],
        ctx: &dyn haproxide_expr::Context,
    ) -> Option<Sample<'static>> {
        let mut txn = crate::ctxtxn::CtxTxn::new(ctx);
        ScriptHost::fetch(self, name, args, &mut txn).ok().flatten()
    }
    fn convert(&self, name: &str, args: &[String], input: Sample<'_>) -> Option<Sample<'static>> {
        ScriptHost::convert(self, name, args, input).ok().flatten()
    }
}
