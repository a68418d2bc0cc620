//! Errors are data: what went wrong, worded as `haproxy -c` words it where it has a
//! message, and whether HAProxy itself would refuse it.

use std::fmt;

/// Why an expression could not be typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// HAProxy refuses it too (`haproxy -c` fails); the message is HAProxy's text.
    Invalid,
    /// Valid for HAProxy, but this engine does not have it yet (a fetch or converter
    /// outside the registry, a hostname pattern that needs DNS, a variable argument).
    Unsupported,
    /// A fetch or converter name the registry does not know: the caller, who knows
    /// HAProxy's full keyword lists, tells an unknown name from one not built yet.
    Unknown,
}

/// An expression error: its kind and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub kind: ErrorKind,
    /// HAProxy's wording for [`ErrorKind::Invalid`]; a description of what is missing
    /// for [`ErrorKind::Unsupported`].
    pub message: String,
}

impl ExprError {
    pub(crate) fn invalid(message: impl Into<String>) -> ExprError {
        ExprError {
            kind: ErrorKind::Invalid,
            message: message.into(),
        }
    }
    pub(crate) fn unsupported(message: impl Into<String>) -> ExprError {
        ExprError {
            kind: ErrorKind::Unsupported,
            message: message.into(),
        }
    }
    pub(crate) fn unknown(message: impl Into<String>) -> ExprError {
        ExprError {
            kind: ErrorKind::Unknown,
            message: message.into(),
        }
    }
    /// Whether `haproxy -c` would also refuse it.
    pub fn is_invalid(&self) -> bool {
        self.kind == ErrorKind::Invalid
    }
    pub(crate) fn map(mut self, f: impl FnOnce(String) -> String) -> ExprError {
        self.message = f(self.message);
        self
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExprError {}
