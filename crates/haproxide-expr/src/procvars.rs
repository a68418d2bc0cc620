//! Process-wide variables, the `proc.` scope (configuration.txt §2.8
//! "Variables": "proc: the variable is shared with the whole process"; §3.1
//! `set-var`/`set-var-fmt` in the `global` section; management.txt §9.3
//! `get var`, `set var`).
//!
//! One store per process, as HAProxy's `proc_vars`: every session and every
//! thread reads and writes the same values, so a counter kept in `proc.` by one
//! connection is seen by the next. A process that never stores a `proc.`
//! variable never takes the lock: [`get`] first reads an atomic flag.
//!
//! HAProxy creates every `proc` variable the configuration names, empty, while
//! parsing; an empty variable exists (`ifexists` holds) but has no value, which
//! [`crate::VarCond::permits`] already treats as "every `proc.` name exists".

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use crate::sample::Sample;
use crate::VarCond;

static STORE: RwLock<BTreeMap<String, Sample<'static>>> = RwLock::new(BTreeMap::new());
/// Set once anything was stored: until then a read takes no lock.
static USED: AtomicBool = AtomicBool::new(false);

/// Whether `name` is in the `proc.` scope.
pub fn is_proc(name: &str) -> bool {
    name.starts_with("proc.")
}

fn read() -> std::sync::RwLockReadGuard<'static, BTreeMap<String, Sample<'static>>> {
    STORE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write() -> std::sync::RwLockWriteGuard<'static, BTreeMap<String, Sample<'static>>> {
    STORE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A sample that owns its bytes (kept past the request that made it).
pub fn owned(v: Sample<'_>) -> Sample<'static> {
    v.into_static()
}

/// The value of the process variable `name` (with its `proc.` prefix).
pub fn get(name: &str) -> Option<Sample<'static>> {
    if !USED.load(Ordering::Acquire) {
        return None;
    }
    read().get(name).cloned()
}

/// Stores `v` in `name` when `cond` permits (HAProxy's `var_set`); whether it did.
pub fn set_if(name: &str, v: &Sample<'_>, cond: VarCond) -> bool {
    let mut m = write();
    if !cond.permits(name, m.get(name), v) {
        return false;
    }
    m.insert(name.to_string(), owned(v.clone()));
    USED.store(true, Ordering::Release);
    true
}

/// Stores `v` in `name` unconditionally.
pub fn set(name: &str, v: Sample<'_>) {
    write().insert(name.to_string(), owned(v));
    USED.store(true, Ordering::Release);
}

/// `unset-var(proc.x)`: the value goes, the variable stays (HAProxy keeps
/// `proc` variables, `VF_PERMANENT`).
pub fn unset(name: &str) {
    if USED.load(Ordering::Acquire) {
        write().remove(name);
    }
}

/// What an expression evaluated outside any session sees (the `global`
/// section's `set-var`, the CLI's `set var`): only the process variables.
pub struct ProcCtx;

impl crate::Context for ProcCtx {
    fn var(&self, name: &str) -> Option<Sample<'_>> {
        if is_proc(name) {
            get(name)
        } else {
            None
        }
    }
    fn set_var(&self, name: &str, v: &Sample<'_>, cond: VarCond) -> bool {
        is_proc(name) && set_if(name, v, cond)
    }
}

impl crate::logfmt::LogVars for ProcCtx {
    fn var(&self, _: &mut Vec<u8>, _: crate::LogVar, _: crate::logfmt::Flags) {}
    fn context(&self) -> &dyn crate::Context {
        self
    }
    fn dash_for_absent(&self) -> bool {
        false
    }
}

/// `set-var <name> <expr>` outside a session: evaluates `e` and stores its
/// value (an expression that yields nothing leaves the variable as it was).
pub fn set_from_expr(name: &str, e: &crate::SampleExpr) {
    if let Some(v) = e.value(&ProcCtx) {
        set(name, v);
    }
}

/// `set-var-fmt <name> <fmt>` outside a session: the rendered string.
pub fn set_from_format(name: &str, f: &crate::LogFormat) {
    let mut out = Vec::new();
    f.render(&mut out, &ProcCtx);
    set(name, Sample::Str(out.into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_between_threads_and_conditional() {
        let n = "proc.procvars_unit_test";
        assert_eq!(get(n), None);
        set(n, Sample::Sint(5));
        let t = std::thread::spawn(move || {
            let cur = get(n);
            set_if(
                n,
                &Sample::Sint(7),
                VarCond::parse(["ifgt"]).unwrap_or_default(),
            );
            cur
        });
        assert_eq!(t.join().ok().flatten(), Some(Sample::Sint(5)));
        // ifgt: the current value (5) must be greater than the new one (7): no.
        assert_eq!(get(n), Some(Sample::Sint(5)));
        assert!(set_if(
            n,
            &Sample::Sint(3),
            VarCond::parse(["ifgt"]).unwrap_or_default()
        ));
        assert_eq!(get(n), Some(Sample::Sint(3)));
        unset(n);
        assert_eq!(get(n), None);
    }
}
