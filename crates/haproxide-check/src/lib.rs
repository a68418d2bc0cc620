//! HAProxy-compatible health checks.
//!
//! - [`spec`]: what to check (plain data, HAProxy defaults via `Default`);
//! - [`health`]: the sans-IO rise/fall counter;
//! - [`state`]: operational vs administrative server state, `track`;
//! - [`status`]: check statuses and results, with HAProxy's names;
//! - [`log`]: log lines worded as HAProxy's.
//!
//! See docs/checks.md for what is implemented and how it was verified.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checker;
pub mod health;
pub mod log;
pub mod probe;
pub mod schedule;
pub mod spec;
pub mod state;
pub mod status;
