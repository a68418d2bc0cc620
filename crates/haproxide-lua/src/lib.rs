//! Embedded Lua 5.4 running HAProxy 2.6's Lua API subset (doc/lua-api/index.rst;
//! configuration.txt §3.1 `lua-load`, `lua-load-per-thread`, `lua-prepend-path`,
//! §3.2 `tune.lua.*`): `core.register_service` (HTTP applets),
//! `core.register_action`, `core.register_fetches`, `core.register_converters`,
//! `core.register_init`, `core.log` & co. What runs and what is refused:
//! docs/lua.md.
//!
//! [`LuaHost::load`] takes a [`LuaSpec`] (files and limits, typed by the config
//! crate) and implements [`haproxide_http::script::ScriptHost`]: the engine
//! calls it through that trait and sees no Lua type. Every call runs in a fresh
//! coroutine with an instruction-count hook (`tune.lua.forced-yield`): past its
//! deadline (`tune.lua.session-timeout` for actions, fetches and converters,
//! `tune.lua.service-timeout` for services) the coroutine is abandoned and the
//! call fails; the state's allocator refuses to grow past `tune.lua.maxmem`.
#![forbid(unsafe_code)]

mod bridge;
mod ctxtxn;
mod host;

use std::path::PathBuf;
use std::time::Duration;

pub use host::LuaHost;

/// The Lua settings of a configuration (configuration.txt §3.1, §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuaSpec {
    /// `lua-load <file>` and `lua-load-per-thread <file>`, in order (haproxide
    /// runs one Lua state; see docs/lua.md).
    pub loads: Vec<PathBuf>,
    /// `lua-prepend-path <string> [path|cpath]`: (template, is_cpath), in order.
    pub prepend_path: Vec<(String, bool)>,
    /// `tune.lua.maxmem` in bytes; `None`: no limit (HAProxy's default 0).
    pub maxmem: Option<usize>,
    /// `tune.lua.session-timeout` (default 4 s): actions, fetches, converters.
    pub session_timeout: Duration,
    /// `tune.lua.service-timeout` (default 4 s): services.
    pub service_timeout: Duration,
    /// `tune.lua.forced-yield` (default 10000): instructions between two
    /// deadline checks.
    pub forced_yield: u32,
}

impl Default for LuaSpec {
    fn default() -> Self {
        LuaSpec {
            loads: Vec::new(),
            prepend_path: Vec::new(),
            maxmem: None,
            session_timeout: Duration::from_secs(4),
            service_timeout: Duration::from_secs(4),
            forced_yield: 10_000,
        }
    }
}

/// Why the scripts could not be loaded (startup refuses the configuration).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LuaError {
    #[error("cannot create the Lua state: {0}")]
    State(String),
    #[error("error in Lua file '{file}': {msg}")]
    Load { file: String, msg: String },
    #[error("Lua init function: {0}")]
    Init(String),
}

#[cfg(test)]
mod tests;
