//! `lua.<name>` sample fetches and converters (doc/lua-api `core.register_fetches`,
//! `core.register_converters`): typed as one generic fetch / converter whose first
//! argument is the registered name (HAProxy types them as strings: up to 5 string
//! arguments, string output), evaluated through the [`ScriptSamples`] the
//! assembly installed when it loaded the scripts (haproxide-lua implements it).
//! Without one, or for a name no script registered, they give no value.

use std::sync::{Arc, RwLock};

use crate::args::{Arg, ArgType};
use crate::conv::ConvDef;
use crate::fetch::{Context, FetchDef, Fetched, Uses};
use crate::sample::{Sample, SmpType};

/// What evaluates script fetches and converters.
pub trait ScriptSamples: Send + Sync {
    /// `lua.<name>(args)` on the evaluation's context.
    fn fetch(&self, name: &str, args: &[String], ctx: &dyn Context) -> Option<Sample<'static>>;
    /// `,lua.<name>(args)` applied to `input`.
    fn convert(&self, name: &str, args: &[String], input: Sample<'_>) -> Option<Sample<'static>>;
}

/// The process's scripts (HAProxy has one Lua state per process too).
static SCRIPTS: RwLock<Option<Arc<dyn ScriptSamples>>> = RwLock::new(None);

/// Installs (or removes) the scripts `lua.*` fetches and converters call.
pub fn install(s: Option<Arc<dyn ScriptSamples>>) {
    if let Ok(mut g) = SCRIPTS.write() {
        *g = s;
    }
}

fn scripts() -> Option<Arc<dyn ScriptSamples>> {
    SCRIPTS.read().ok().and_then(|g| g.clone())
}

/// The registered name, then the script's arguments.
const ARGS: &[ArgType] = &[ArgType::Str; 6];

fn split(args: &[Arg]) -> (&str, Vec<String>) {
    let mut it = args.iter().filter_map(|a| match a {
        Arg::Str(s) => Some(s.clone()),
        Arg::Int(i) => Some(i.to_string()),
        _ => None,
    });
    let name = match args.first() {
        Some(Arg::Str(s)) => s.as_str(),
        _ => "",
    };
    it.next();
    (name, it.collect())
}

fn lua_fetch<'c>(args: &[Arg], ctx: &'c dyn Context, _occ: usize) -> Fetched<'c> {
    let (name, rest) = split(args);
    Fetched {
        value: scripts().and_then(|s| s.fetch(name, &rest, ctx)),
        may_change: false,
        more: false,
    }
}

fn lua_conv<'a>(args: &[Arg], v: Sample<'a>) -> Option<Sample<'a>> {
    let (name, rest) = split(args);
    scripts().and_then(|s| s.convert(name, &rest, v))
}

/// `lua.<name>` as a fetch (its name goes first in the arguments).
pub(crate) static LUA_FETCH: FetchDef = FetchDef {
    name: "lua",
    args: ARGS,
    min_args: 1,
    out: SmpType::Str,
    uses: Uses::NONE,
    fetch: lua_fetch,
    doc: "lua-api core.register_fetches",
};

/// `lua.<name>` as a converter.
pub(crate) static LUA_CONV: ConvDef = ConvDef {
    name: "lua",
    args: ARGS,
    min_args: 1,
    input: SmpType::Str,
    out: SmpType::Str,
    prepare: None,
    conv: lua_conv,
    ctx_conv: None,
    incomplete: None,
};

/// The registered name of a `lua.<name>` keyword.
pub(crate) fn lua_name(kw: &str) -> Option<&str> {
    kw.strip_prefix("lua.").filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SampleExpr;

    struct Upper;
    impl ScriptSamples for Upper {
        fn fetch(&self, name: &str, args: &[String], _: &dyn Context) -> Option<Sample<'static>> {
            Some(Sample::Str(
                format!("{name}:{}", args.join("+")).into_bytes().into(),
            ))
        }
        fn convert(&self, name: &str, args: &[String], v: Sample<'_>) -> Option<Sample<'static>> {
            let b = v.bytes()?.to_ascii_uppercase();
            (name == "up").then(|| Sample::Str([b, args.concat().into_bytes()].concat().into()))
        }
    }
    struct NoCtx;
    impl Context for NoCtx {}

    /// `lua.<name>` types as a fetch and a converter whose first argument is
    /// the name; values come from the installed scripts (none: no value).
    #[test]
    fn lua_fetch_and_converter() {
        let e = SampleExpr::parse("lua.greet(a,b),lua.up(!)").expect("types");
        assert_eq!(e.fetch_name(), "lua");
        assert!(SampleExpr::parse("lua.").is_err());
        install(None);
        assert_eq!(e.value(&NoCtx), None);
        install(Some(Arc::new(Upper)));
        let v = e.value(&NoCtx).and_then(|v| v.bytes().map(<[u8]>::to_vec));
        assert_eq!(v.as_deref(), Some(&b"GREET:A+B!"[..]));
        install(None);
    }
}
