//! haproxide-config: HAProxy's configuration language.
//!
//! Three layers, each feeding the next:
//! 1. **syntax** ([`lexer`], [`reader`]): files → lines → words with spans, conditional
//!    blocks (`.if`), directives; one line at a time, as HAProxy reads them;
//! 2. **model** ([`model`], [`parse`]): words → typed sections and keywords, validated
//!    against the keyword tables of the selected HAProxy version ([`keywords`]);
//! 3. **resolve** ([`resolve`]): defaults inheritance, `default-server`, references,
//!    names, addresses and files, and the whole-configuration checks.
//!
//! Nothing here starts a runtime or opens a socket; errors are collected as
//! [`Diagnostic`]s, never panics.

pub mod cond;
pub mod diag;
pub mod keywords;
pub mod lexer;
pub mod reader;
pub mod source;
pub mod value;

pub use diag::{Code, Diagnostic, HaproxyLoc, HaproxyText, Severity};
pub use source::{FileId, SourceFile, SourceMap, Span};
