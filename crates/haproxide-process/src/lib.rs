//! haproxide-process: what makes haproxide a Unix process.
//!
//! - [`spec`]: `global`'s process settings, descriptor limits, privileges;
//! - [`handover`]: passing the listening sockets from the old process to the
//!   new one on reload (the automatic `-sf` path);
//! - [`getsocks`]: HAProxy's `_getsocks` exchange over a `stats socket` with
//!   `expose-fd listeners` (`-x`), both ends;
//! - [`mworker`]: master-worker mode (`-W`): the master, its CLI, reloads.

#![deny(unsafe_code)]

pub mod getsocks;
pub mod handover;
pub mod mworker;
pub mod spec;
#[allow(unsafe_code)]
pub mod sys;
