//! Following a Patroni cluster's leader in its DCS (etcd v3), for routing.
//!
//! - [`etcd`]: a small client of etcd's v3 JSON gateway (`/v3/kv/range`,
//!   `/v3/watch`, `/v3/auth/authenticate`) over `reqwest`;
//! - [`patroni`]: Patroni's key layout and what it says about each server
//!   ([`patroni::Verdict`]) for the role a backend serves;
//! - [`promotion`]: observing a new leader's promotion on its REST API (the
//!   fence between Patroni taking the key and PostgreSQL accepting writes);
//! - [`follow`]: the task that keeps a [`follow::DcsView`] current (range, then a
//!   watch resumed from the last revision after every reconnection, with backoff).
//!
//! No configuration types here: the config crate reads the keywords, the server
//! crate turns them into [`follow::ClusterSpec`]s and uses the verdicts as a gate
//! in front of the health checks. See docs/patroni.md ("Following the leader key").
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod etcd;
pub mod follow;
pub mod patroni;
pub mod promotion;

pub use etcd::EtcdSpec;
pub use follow::{ClusterSpec, DcsEvent, DcsView, Follower};
pub use patroni::{MemberMatch, Role, Verdict};
