//! haproxide-admin: the management plane.
//!
//! - [`cli`]: HAProxy's runtime API (management.txt §9.3) on `stats socket`
//!   listeners, over a [`cli::RuntimeState`] the assembly implements;
//! - [`stats`]: the stats page (HTML, CSV, JSON), its admin actions and the
//!   Prometheus exporter, served as a `haproxide_forward::Service`.

#![forbid(unsafe_code)]

pub mod cli;
pub mod stats;
