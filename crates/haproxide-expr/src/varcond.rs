//! The conditions of `set-var(<var>[,<cond>...])` (configuration.txt §7.3.1
//! converter `set-var`, §4.2 `http-request set-var`): one implementation for the
//! converter and every `set-var` action.
//!
//! A variable *exists* once created: a `proc` variable from configuration time
//! (HAProxy creates every `proc` variable the configuration names, unset), any
//! other once a `set-var` stored it (an `unset-var` removes it). It is *set*
//! while it holds a value.

use crate::args::Arg;
use crate::error::ExprError;
use crate::sample::Sample;

/// The condition names, in their bit order.
const NAMES: [&str; 8] = [
    "ifexists",
    "ifnotexists",
    "ifempty",
    "ifnotempty",
    "ifset",
    "ifnotset",
    "ifgt",
    "iflt",
];

/// A set of `set-var` conditions (all must hold); the default is none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VarCond(u8);

impl VarCond {
    /// No condition: the variable is always set.
    pub const NONE: VarCond = VarCond(0);

    /// Parses the condition words (`ifexists`, `ifgt`...); an unknown word is
    /// refused with HAProxy's wording.
    pub fn parse<'w>(words: impl IntoIterator<Item = &'w str>) -> Result<VarCond, String> {
        let mut bits = 0u8;
        for w in words {
            let Some(i) = NAMES.iter().position(|n| *n == w) else {
                return Err(format!("unknown condition \"{w}\""));
            };
            bits |= 1 << i;
        }
        Ok(VarCond(bits))
    }

    /// No condition given.
    pub fn is_none(self) -> bool {
        self.0 == 0
    }

    fn has(self, name: &str) -> bool {
        NAMES
            .iter()
            .position(|n| *n == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// Whether `set-var` may store `new` in variable `name` whose current
    /// value is `cur` (`None`: not set). HAProxy 2.6's `var_set`: ifgt/iflt only
    /// compare two integers, ifempty never stores a scalar, ifempty/ifnotempty
    /// look at the length of a string or binary sample.
    pub fn permits(self, name: &str, cur: Option<&Sample<'_>>, new: &Sample<'_>) -> bool {
        if self.0 == 0 {
            return true;
        }
        let exists = cur.is_some() || name.starts_with("proc.");
        if (self.has("ifexists") && !exists)
            || (self.has("ifnotexists") && exists)
            || (self.has("ifset") && cur.is_none())
            || (self.has("ifnotset") && cur.is_some())
        {
            return false;
        }
        match new {
            Sample::Str(b) | Sample::Bin(b) => {
                !(self.has("ifnotempty") && b.is_empty() || self.has("ifempty") && !b.is_empty())
            }
            _ if self.has("ifempty") => false,
            Sample::Sint(n) => match cur {
                Some(Sample::Sint(c)) => {
                    !(self.has("ifgt") && c <= n || self.has("iflt") && c >= n)
                }
                _ => true,
            },
            _ => true,
        }
    }
}

/// Splits `proc.x,ifexists,ifgt` (the inside of `set-var(...)`) into the name
/// and its conditions.
pub fn split(inner: &str) -> Result<(&str, VarCond), String> {
    let mut it = inner.split(',');
    let name = it.next().unwrap_or("").trim();
    Ok((name, VarCond::parse(it.map(str::trim))?))
}

/// The converter's arguments: the variable name (with its scope) then the
/// conditions, typed once into `[Str(name), Int(bits)]`.
pub(crate) fn prepare_set_var(
    conv: &str,
    a: Vec<Arg>,
    _: &crate::acl::Opts<'_>,
) -> Result<Vec<Arg>, ExprError> {
    let words: Vec<&str> = a
        .iter()
        .map(|x| match x {
            Arg::Str(s) => s.as_str(),
            _ => "",
        })
        .collect();
    let name = words.first().copied().unwrap_or("");
    const SCOPES: [&str; 5] = ["proc.", "sess.", "txn.", "req.", "res."];
    if !SCOPES
        .iter()
        .any(|s| name.starts_with(s) && name.len() > s.len())
    {
        return Err(ExprError::invalid(format!(
            "invalid args in converter '{conv}' : failed to register variable name '{name}'"
        )));
    }
    let cond = VarCond::parse(words.iter().skip(1).copied())
        .map_err(|e| ExprError::invalid(format!("invalid args in converter '{conv}' : {e}")))?;
    Ok(vec![
        Arg::Str(name.to_string()),
        Arg::Int(i64::from(cond.0)),
    ])
}

/// `set-var(<var>[,<cond>...])`: stores the input in the variable (when the
/// conditions hold) and passes it on unchanged.
pub(crate) fn set_var_conv<'a>(
    a: &[Arg],
    s: Sample<'a>,
    ctx: &'a dyn crate::Context,
) -> Option<Sample<'a>> {
    let (Some(Arg::Str(name)), Some(Arg::Int(bits))) = (a.first(), a.get(1)) else {
        return Some(s);
    };
    let cond = VarCond(u8::try_from(*bits).unwrap_or(0));
    ctx.set_var(name, &s, cond);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Context;
    use std::borrow::Cow;

    fn st(s: &str) -> Sample<'static> {
        Sample::Str(Cow::Owned(s.as_bytes().to_vec()))
    }
    fn c(w: &str) -> VarCond {
        VarCond::parse(w.split(',').filter(|w| !w.is_empty())).unwrap()
    }

    /// A context whose variables the converter writes.
    #[derive(Default)]
    struct Store(std::sync::Mutex<Vec<(String, Vec<u8>)>>);
    impl Context for Store {
        fn var(&self, name: &str) -> Option<Sample<'_>> {
            let m = self.0.lock().ok()?;
            let v = m.iter().find(|(n, _)| n == name)?;
            Some(Sample::Str(Cow::Owned(v.1.clone())))
        }
        fn set_var(&self, name: &str, v: &Sample<'_>, cond: VarCond) -> bool {
            let cur = self.var(name);
            let Ok(mut m) = self.0.lock() else {
                return false;
            };
            if !cond.permits(name, cur.as_ref(), v) {
                return false;
            }
            m.retain(|(n, _)| n != name);
            m.push((name.into(), v.bytes().unwrap_or_default().to_vec()));
            true
        }
    }

    #[test]
    fn converter_stores_and_passes_on() {
        let ctx = Store::default();
        let e = crate::SampleExpr::parse("str(foobar),set-var(sess.x,ifnotempty,ifnotset),length")
            .unwrap();
        assert_eq!(e.value(&ctx), Some(Sample::Sint(6)));
        assert_eq!(ctx.var("sess.x"), Some(st("foobar")));
        // ifnotset: a second value is not stored; the sample still passes on.
        let e2 = crate::SampleExpr::parse("str(ab),set-var(sess.x,ifnotset)").unwrap();
        assert_eq!(e2.value(&ctx), Some(st("ab")));
        assert_eq!(ctx.var("sess.x"), Some(st("foobar")));
        let e3 = crate::SampleExpr::parse("str(),set-var(sess.y,ifnotempty)").unwrap();
        assert_eq!(e3.value(&ctx), Some(st("")));
        assert_eq!(ctx.var("sess.y"), None);
        // Typed once: a bad name or condition is refused at parse time.
        let err = |t: &str| crate::SampleExpr::parse(t).unwrap_err().to_string();
        assert!(err("str(a),set-var(x)").contains("failed to register variable name 'x'"));
        assert!(err("str(a),set-var(txn.x,ifbig)").contains("unknown condition \"ifbig\""));
    }

    /// `var(<name>,<default>)` and a variable as an arithmetic operand (§7.3.1
    /// `div(<value>)`), as reg-test sample_fetches/cond_set_var uses them.
    #[test]
    fn var_default_and_variable_operand() {
        let ctx = Store::default();
        ctx.set_var("proc.int12", &st("12"), VarCond::NONE);
        let v = |t: &str| crate::SampleExpr::parse(t).unwrap().value(&ctx);
        assert_eq!(
            v("var(proc.str60,60),div(proc.int12)"),
            Some(Sample::Sint(5))
        );
        assert_eq!(v("var(proc.int12,60)"), Some(st("12")));
        assert_eq!(v("int(7),add(proc.int12)"), Some(Sample::Sint(19)));
        assert_eq!(v("int(7),mul(3)"), Some(Sample::Sint(21)));
        // An unset operand fails the converter (HAProxy's var2smp_sint).
        assert_eq!(v("int(7),add(txn.unset)"), None);
        assert!(crate::SampleExpr::parse("int(7),add(nope)").is_err());
    }

    #[test]
    fn parse_and_split() {
        assert_eq!(split("txn.x").unwrap(), ("txn.x", VarCond::NONE));
        let (n, k) = split("proc.a,ifnotset,ifnotempty").unwrap();
        assert_eq!(n, "proc.a");
        assert_eq!(k, c("ifnotempty,ifnotset"));
        assert_eq!(
            split("txn.x,ifbig").unwrap_err(),
            "unknown condition \"ifbig\""
        );
    }

    #[test]
    fn existence_and_set() {
        let five = Sample::Sint(5);
        // sess/res variables exist only while set; proc ones always exist.
        assert!(!c("ifexists").permits("sess.a", None, &five));
        assert!(c("ifexists").permits("proc.a", None, &five));
        assert!(c("ifnotexists").permits("res.a", None, &five));
        assert!(!c("ifnotexists").permits("proc.a", None, &five));
        assert!(!c("ifnotexists").permits("res.a", Some(&st("x")), &five));
        assert!(c("ifset").permits("res.a", Some(&st("x")), &five));
        assert!(!c("ifset").permits("proc.a", None, &five));
        assert!(c("ifnotset").permits("proc.a", None, &five));
        assert!(!c("ifnotset").permits("proc.a", Some(&five), &st("t")));
    }

    #[test]
    fn empty_and_compare() {
        let five = Sample::Sint(5);
        assert!(c("ifempty").permits("res.a", None, &st("")));
        assert!(!c("ifempty").permits("res.a", None, &st("x")));
        // A scalar is never empty.
        assert!(!c("ifempty").permits("res.a", Some(&five), &Sample::Sint(7)));
        assert!(!c("ifempty").permits("res.a", None, &Sample::Bool(false)));
        assert!(!c("ifnotempty").permits("res.a", None, &st("")));
        assert!(c("ifnotempty").permits("res.a", None, &Sample::Sint(6)));
        // ifgt: the variable must be greater than the sample; only ints compare.
        assert!(!c("ifgt").permits("res.a", Some(&five), &Sample::Sint(55)));
        assert!(c("ifgt").permits("res.a", Some(&five), &Sample::Sint(2)));
        assert!(c("ifgt").permits("res.a", Some(&st("x")), &Sample::Sint(55)));
        assert!(c("ifgt").permits("res.a", Some(&five), &st("text")));
        assert!(c("iflt").permits("res.a", Some(&five), &Sample::Sint(55)));
        assert!(!c("iflt").permits("res.a", Some(&five), &Sample::Sint(2)));
        assert!(!c("iflt").permits("res.a", Some(&five), &Sample::Sint(5)));
        // All conditions must hold.
        assert!(c("ifset,iflt").permits("res.a", Some(&five), &Sample::Sint(55)));
        assert!(!c("ifnotset,ifnotempty").permits("proc.a", None, &st("")));
    }
}
