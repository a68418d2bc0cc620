//! Responses HAProxy builds itself for `deny`, `tarpit`, `return`, `redirect` and
//! `auth` (configuration.txt §4.2 `http-request`, "http-request return", §4.4
//! "redirect"), byte for byte as HAProxy 2.6.12 sends them (measured; tests in
//! rules/tests.rs): a custom reply lists its `hdr` headers first, then
//! `content-length` (not for 204/304), then `content-type`; an error page goes
//! through HTX (names lower-cased, its `Connection` header dropped).

use std::sync::Arc;

use crate::head::{Headers, ResponseHead, Version};
use crate::parse::{parse_response, ParseOptions, Parsed};

/// HAProxy's `http_get_reason`.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        s if (100..200).contains(&s) => "Informational",
        s if (200..300).contains(&s) => "Success",
        s if (300..400).contains(&s) => "Redirection",
        s if (400..500).contains(&s) => "Client Error",
        s if (500..600).contains(&s) => "Server Error",
        _ => "Other",
    }
}

/// The statuses HAProxy has a default error page for (`default-errorfiles`):
/// the only ones `deny_status`/`errorfile` accept.
pub const ERROR_STATUSES: &[u16] = &[
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504,
];

/// A response to send, as built: the head (the engine adds `connection: close`
/// when it closes) and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub head: ResponseHead,
    pub body: Vec<u8>,
    /// An empty `errorfile` (`/dev/null`, §4.2 "errorfile 408 /dev/null"):
    /// nothing is sent and the connection closes, as HAProxy (measured: the
    /// status is logged with 0 bytes).
    pub silent: bool,
}

impl Reply {
    /// Its bytes on an HTTP/1 connection (`connection` as decided by
    /// [`crate::conn::connection_value`]).
    pub fn to_bytes(&self, connection: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.body.len());
        crate::write::response_head(&self.head, connection, &mut out);
        out.extend_from_slice(&self.body);
        out
    }

    /// An empty head for `status` with HAProxy's reason.
    pub fn head(status: u16, reason_text: Option<&str>) -> ResponseHead {
        ResponseHead {
            version: Version::HTTP_11,
            status: status.to_string().into_bytes(),
            code: status,
            reason: reason_text.unwrap_or(reason(status)).as_bytes().to_vec(),
            headers: Headers::default(),
        }
    }

    /// A custom reply: `hdr` headers, then content-length (not for 1xx, 204,
    /// 304), then content-type when there is a body type.
    pub fn custom(
        status: u16,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut head = Reply::head(status, None);
        for (n, v) in headers {
            head.headers.push(&n, &v);
        }
        if !(status == 204 || status == 304 || (100..200).contains(&status)) {
            head.headers
                .push(b"content-length", body.len().to_string().as_bytes());
        }
        if let Some(ct) = content_type {
            head.headers.push(b"content-type", ct.as_bytes());
        }
        Reply {
            head,
            body,
            silent: false,
        }
    }

    /// A stored HTTP message (a default page or an errorfile) sent through HTX;
    /// `None` when it does not parse (config typing refuses such a file).
    pub fn from_raw(raw: &[u8]) -> Option<Reply> {
        match parse_response(raw, b"GET", &ParseOptions::default()) {
            Ok(Parsed::Complete { message, len }) => {
                let mut head = message.head;
                head.headers.remove_all("connection");
                Some(Reply {
                    head,
                    body: raw.get(len..).unwrap_or_default().to_vec(),
                    silent: false,
                })
            }
            _ => None,
        }
    }
}

/// The error pages of a proxy: its `errorfile`/`errorfiles`/`http-errors` pages
/// and its `http-error` replies, HAProxy's default ones behind them.
#[derive(Debug, Clone, Default)]
pub struct ErrorPages {
    /// (status, raw HTTP message) from the configuration, loaded at start-up.
    pub custom: Vec<(u16, Arc<[u8]>)>,
    /// (status, reply) from `http-error status <code> ...` (§4.2 "http-error"):
    /// a reply built per transaction (its `hdr` and `lf-string` are
    /// log-formats). A status is in `custom` or here, not both (the proxy's
    /// later line wins).
    pub replies: Vec<(u16, Arc<crate::rules::ReplySpec>)>,
}

impl ErrorPages {
    /// The proxy has its own page or reply for `status`.
    pub fn has(&self, status: u16) -> bool {
        self.custom.iter().any(|(s, _)| *s == status)
            || self.replies.iter().any(|(s, _)| *s == status)
    }

    /// The page for `status`, as the client receives it (an `http-error`
    /// reply's log-format parts see no transaction here: use
    /// [`ErrorPages::reply_ctx`] where there is one).
    pub fn reply(&self, status: u16) -> Reply {
        struct NoCtx;
        impl haproxide_expr::Context for NoCtx {}
        self.reply_ctx(status, &NoCtx)
    }

    /// The page for `status` in a transaction (`ctx` renders an `http-error`
    /// reply's log-format parts).
    pub fn reply_ctx(&self, status: u16, ctx: &dyn haproxide_expr::Context) -> Reply {
        if let Some((_, spec)) = self.replies.iter().rev().find(|(s, _)| *s == status) {
            // Its `default-errorfiles` is HAProxy's own page (not this one).
            return crate::rules::reply_for(spec, ctx, &ErrorPages::default());
        }
        if let Some((_, raw)) = self.custom.iter().find(|(s, _)| *s == status) {
            if raw.is_empty() {
                return Reply {
                    head: Reply::head(status, None),
                    body: Vec::new(),
                    silent: true,
                };
            }
            if let Some(r) = Reply::from_raw(raw) {
                return r;
            }
        }
        let raw = crate::errors::raw(status);
        Reply::from_raw(raw).unwrap_or(Reply {
            head: Reply::head(status, None),
            body: Vec::new(),
            silent: false,
        })
    }
}

/// Error pages compare by their typed form's text (a reload sees a change).
impl PartialEq for ErrorPages {
    fn eq(&self, o: &ErrorPages) -> bool {
        self.custom == o.custom && format!("{:?}", self.replies) == format!("{:?}", o.replies)
    }
}
impl Eq for ErrorPages {}
