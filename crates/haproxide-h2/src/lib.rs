//! haproxide's HTTP/2 server codec: sans-IO (bytes in, events out, bytes to
//! write), no runtime, no `unsafe`.
//!
//! - [`hpack`]: RFC 7541 header compression (decoder with its bounds, the
//!   response encoder);
//! - [`frame`]: RFC 9113 §4 and §6 frames, parsed and written, with their
//!   validity rules mapped to connection or stream errors;
//! - [`server`]: the server side of a connection: preface, SETTINGS, stream
//!   states, flow control both ways, header blocks, request checks, resets,
//!   GOAWAY, and the guards against hostile clients (docs/h2.md, "Own codec").
//!
//! Why our own and not the `h2` crate any more: docs/h2.md ("Own codec: step 1").
#![forbid(unsafe_code)]

pub mod error;
pub mod frame;
pub mod hpack;
pub mod request;
pub mod server;

pub use error::{ConnError, ErrorCode};
pub use server::{Event, SendError, Server, Settings};
