//! haproxide-process: what makes haproxide a Unix process.
//!
//! - [`spec`]: `global`'s process settings, descriptor limits, privileges;
//! - [`handover`]: passing the listening sockets from the old process to the
//!   new one on reload (`-x` / `expose-fd listeners`);
//! - [`mworker`]: master-worker mode (`-W`): the master, its CLI, reloads.

#![deny(unsafe_code)]

pub mod handover;
pub mod mworker;
pub mod spec;
#[allow(unsafe_code)]
pub mod sys;
