//! haproxide-server: the runtime around the engines.
//!
//! - [`translate`]: the resolved configuration → `haproxide-forward` and
//!   `haproxide-check` specs (the only place that sees both sides);
//! - [`run`]: start, wire health to routing, signals, soft/hard stop.
//!
//! Logging, the management plane and the process are their own crates
//! (`haproxide-log`, `haproxide-admin`, `haproxide-process`); the re-exports
//! below keep their former paths for now.

#![forbid(unsafe_code)]

pub mod admin_plan;
pub mod dcs;
pub use haproxide_admin::cli;
pub use haproxide_process::handover;
pub mod lifecycle;
pub mod live;
pub use haproxide_log as logging;
pub mod logsetup;
pub use haproxide_process::mworker;
pub use haproxide_process::spec as process;
pub mod run;
pub mod server_state;
pub use haproxide_admin::stats;
pub mod translate;
