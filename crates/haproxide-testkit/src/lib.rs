//! Dev-only support shared by haproxide's tests (a `[dev-dependencies]` entry only;
//! it depends on no haproxide crate).
//!
//! Everything listens on 127.0.0.1 port 0 and stops when dropped: a [`tcp::Mock`]
//! aborts its accept task and every connection task, a [`tcp::OnThread`] stops and
//! joins its thread, a [`proc::Proc`] stops its child (SIGTERM, then SIGKILL), a
//! [`fs::TempDir`] removes its directory. Every wait is bounded.
//!
//! - [`tcp`]: echo, greeting, closing, silent, recording, scripted, refused and unaccepting
//!   endpoints, a listener that can be closed and reopened, mocks on a thread of
//!   their own for tests without a runtime, client helpers.
//! - [`http`]: an HTTP/1.x responder with byte-exact answers per path, Patroni-like
//!   REST API mocks (headerless status flips, `/primary` `/replica?lag=` roles).
//! - [`recorder`]: for HTTP differential tests: a recording keep-alive backend, a
//!   scripted raw client, a proxy process on a config in a temp dir.
//! - [`spoa`]: a mock SPOE agent (SPOP v2.0) recording frames, with hostile modes.
//! - [`syslog`]: UDP and unix-datagram catchers.
//! - [`tls`]: a TLS ClientHello with or without SNI.
//! - [`proc`]: a child-process guard.
//! - [`wait`]: poll until a condition holds, with a deadline.
//! - [`fs`]: temporary directories.
//! - [`sys`]: the few system calls tests need (kill).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! let echo = haproxide_testkit::tcp::echo().await;
//! let mut c = haproxide_testkit::tcp::connect(echo.addr).await;
//! c.write_all(b"hi").await.unwrap();
//! assert_eq!(haproxide_testkit::tcp::read_n(&mut c, 2).await, b"hi");
//! # }
//! ```

#![deny(unsafe_code)]

pub mod etcd;
pub mod fs;
pub mod http;
pub mod proc;
pub mod recorder;
pub mod spoa;
#[allow(unsafe_code)]
pub mod sys;
pub mod syslog;
pub mod tcp;
pub mod tls;
pub mod wait;

/// The default bound of every wait in the helpers (connect, read, recorder).
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(5);
