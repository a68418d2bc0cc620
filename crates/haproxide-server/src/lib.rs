//! haproxide-server: the runtime around the engines.
//!
//! - [`translate`]: the resolved configuration → `haproxide-forward` and
//!   `haproxide-check` specs (the only place that sees both sides);
//! - [`run`]: start, wire health to routing, signals, soft/hard stop;
//! - [`lifecycle`]: the process's life (start, reload, stop) behind one call,
//!   what the binary runs;
//! - [`live`]: the runtime API's state over the running engine and checker;
//! - [`admin_plan`], [`logsetup`], [`server_state`], [`dcs`]: the parts of the
//!   plan for the management plane, the logs, the saved server states and the
//!   DCS follower.
//!
//! Logging, the management plane and the process are crates of their own
//! (`haproxide-log`, `haproxide-admin`, `haproxide-process`); the crate-private
//! aliases below name them as the modules they were.

#![forbid(unsafe_code)]

pub mod admin_plan;
pub mod dcs;
pub mod ids;
pub(crate) use haproxide_admin::cli;
pub(crate) use haproxide_process::handover;
pub mod lifecycle;
pub mod live;
pub(crate) use haproxide_log as logging;
pub mod logsetup;
pub(crate) use haproxide_process::spec as process;
pub mod run;
pub mod server_state;
pub(crate) use haproxide_admin::stats;
pub mod translate;
