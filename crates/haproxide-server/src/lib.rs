//! haproxide-server: the runtime around the engines.
//!
//! - [`translate`]: the resolved configuration → `haproxide-forward` and
//!   `haproxide-check` specs (the only place that sees both sides);
//! - [`logging`]: log targets and HAProxy's log line formats;
//! - [`run`]: start, wire health to routing, signals, soft/hard stop.

pub mod admin_plan;
pub mod cli;
pub mod handover;
pub mod live;
pub mod logging;
pub mod logsetup;
pub mod mworker;
pub mod process;
pub mod run;
pub mod server_state;
pub mod stats;
pub mod translate;
