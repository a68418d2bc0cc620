//! haproxide's HTTP/1.1 codec: sans-IO, with HAProxy 2.6's parsing rules.
//!
//! Nothing here reads a socket or a clock. The engine hands in bytes and gets back
//! parsed heads, body events and bytes to send:
//!
//! - [`parse`]: request and response heads ([`parse::parse_request`],
//!   [`parse::parse_response`]) into a [`head::Headers`] list that keeps order,
//!   duplicates and the original case, with HAProxy's strictness (configuration.txt
//!   §1 "Quick reminder about HTTP", §4 `option accept-invalid-http-request` /
//!   `-response`) and its normalisations (Content-Length merged, Content-Length
//!   dropped next to Transfer-Encoding, obs-fold unfolded, duplicate Host merged,
//!   default port removed from an absolute URI).
//! - [`body`]: body framing as a state machine (content-length, chunked with
//!   trailers, close-delimited, none) that streams: it never holds body data, it
//!   returns sub-slices of the input.
//! - [`compress`]: HTTP compression (§9.2): when HAProxy compresses, the head
//!   rewrite, a streaming gzip/deflate encoder.
//! - [`conn`]: keep-alive decisions (HTTP/1.0 vs 1.1, `Connection` tokens).
//! - [`write`]: heads and chunks back to bytes, as HAProxy 2.6 writes them (header
//!   names lower-cased, `Connection` cleaned of close/keep-alive).
//! - [`errors`]: HAProxy 2.6.12's default error responses, byte for byte.
//! - [`forward`]: the parts above composed into "what HAProxy sends to the server"
//!   for a request that has fully arrived; the differential test compares it with
//!   HAProxy 2.6.12.
//!
//! docs/http.md explains the choices (own parser rather than httparse, what is
//! kept of the original bytes, where haproxide is deliberately stricter).
#![forbid(unsafe_code)]

pub mod auth;
pub mod body;
pub mod cache;
pub mod chars;
pub mod compress;
pub mod conn;
pub mod ctx;
pub mod errors;
pub mod forward;
pub mod hdrnames;
pub mod head;
pub mod lbkey;
pub mod parse;
pub mod persist;
pub mod reply;
pub mod rules;
pub mod script;
pub mod spare;
pub mod write;

pub use body::{BodyDecoder, BodyError, BodyLength, Step};
pub use head::{Header, Headers, RequestHead, ResponseHead, Version};
pub use parse::{
    parse_request, parse_response, request_from_fields, ErrorKind, ParseError, ParseOptions,
    Parsed, Request, Response,
};
