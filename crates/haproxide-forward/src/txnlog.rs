//! What an HTTP transaction adds to its [`crate::SessionRecord`] (configuration.txt
//! §8.2.3 "HTTP log format", §8.4 "Timing events", §8.5 "Session state at
//! disconnection", §8.8 "Capturing HTTP headers", §8.9 "Capturing HTTP cookies").
//!
//! In HTTP mode the engine sends one record per transaction (HAProxy logs each
//! request of a keep-alive connection): `accepted_at` is the connection's accept
//! time for the first request and the end of the previous transaction for the next
//! ones (then `th` is 0 and `ti` the idle time between them); `tt`, `tw`, `tc`,
//! `bytes_read` (response bytes sent to the client, headers included) and
//! `bytes_uploaded` (request bytes received, headers included) are the
//! transaction's, as HAProxy counts them.
//!
//! Cheap when nobody logs: [`crate::SessionRecord::http`] is one pointer; the engine
//! fills [`HttpTxnLog::request_line`] only when [`crate::SessionLogger::wants_request_line`]
//! says so (HAProxy copies the request line only when the log format uses it,
//! `LW_REQ`).

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::SystemTime;

/// HAProxy's default `tune.http.logurilen` (1024): the request line logged is cut to
/// `LOGURILEN - 1` bytes.
pub const LOGURILEN: usize = 1024;

/// Capture slots of one transaction (`None`: nothing captured in that slot).
pub type Captures = Vec<Option<Box<[u8]>>>;

/// The HTTP part of one transaction's record. Timers are in milliseconds, `-1` when
/// the event never happened (§8.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpTxnLog {
    /// The request line as HAProxy logs it (`%r`, `%HM`, `%HU`, `%HP`, `%HQ`,
    /// `%HV`): method, one space, URI as received, one space, version (HAProxy's
    /// `http_fmt_req_line`), cut to [`LOGURILEN`]` - 1` bytes; build it with
    /// [`HttpTxnLog::set_request_line`]. `None` when no valid request line was
    /// received (HAProxy logs `<BADREQ>`).
    pub request_line: Option<Vec<u8>>,
    /// The response came from a cache (§6): the log names the server `<CACHE>`.
    pub from_cache: bool,
    /// The status sent to the client (`%ST`), including HAProxy's own error
    /// responses (400, 403, 408, 502, 503, 504...); `None` logs `-1`.
    pub status: Option<u16>,
    /// `Th`: handshake time (TLS or PROXY header; 0 otherwise and for requests
    /// after the first on a connection).
    pub th: i64,
    /// `Ti`: idle time before the first byte of the request.
    pub ti: i64,
    /// `TR`: time to receive the full request headers from the first byte; `-1` if
    /// they never came complete.
    pub t_req: i64,
    /// `Tr`: time from the end of the server connection (after `Tc`) to the full
    /// response headers; `-1` if none came.
    pub t_res: i64,
    /// `Ta`: active time, `Tt - Th - Ti` (from the first request byte to the end of
    /// the response).
    pub ta: i64,
    /// `capture request header` values and `http-request capture` slots, indexed as
    /// the frontend's [`CaptureSpec::request`] (`None`: not present).
    pub req_captures: Captures,
    /// `capture response header` values and `http-response capture` slots.
    pub res_captures: Captures,
    /// `%CC`: the request cookie captured by `capture cookie` (§4.2).
    pub cookie_req: Option<Box<[u8]>>,
    /// `%CS`: the response `Set-Cookie` captured by `capture cookie`.
    pub cookie_res: Option<Box<[u8]>>,
    /// The termination state's 3rd and 4th letters (§8.5): persistence cookie
    /// (`N I D V E O U -`) and `Set-Cookie` (`N I U P R V -`); `--` without
    /// `cookie`.
    pub cookie_state: [u8; 2],
    /// `%ID`: the unique ID (`unique-id-format`), when one was generated.
    pub unique_id: Option<Box<str>>,
}

impl HttpTxnLog {
    /// A record part with no request yet: status -1, timers -1, cookie state `--`.
    pub fn new() -> HttpTxnLog {
        HttpTxnLog {
            th: 0,
            ti: 0,
            t_req: -1,
            t_res: -1,
            ta: -1,
            cookie_state: [b'-', b'-'],
            ..HttpTxnLog::default()
        }
    }

    /// Stores `method SP uri SP version` as HAProxy's `http_fmt_req_line` does,
    /// cut to [`LOGURILEN`]` - 1` bytes.
    pub fn set_request_line(&mut self, method: &[u8], uri: &[u8], version: &[u8]) {
        let max = LOGURILEN - 1;
        let mut v = self.request_line.take().unwrap_or_else(|| LINES.take(0, 0));
        v.clear();
        v.reserve((method.len() + uri.len() + version.len() + 2).min(max));
        for (i, part) in [method, uri, version].into_iter().enumerate() {
            if i > 0 {
                if v.len() >= max {
                    break;
                }
                v.push(b' ');
            }
            let room = max - v.len();
            v.extend_from_slice(&part[..part.len().min(room)]);
        }
        self.request_line = Some(v);
    }

    /// A new record part ([`HttpTxnLog::new`]) in a box this thread's logged
    /// transactions gave back ([`HttpTxnLog::recycle`]) when there is one: no
    /// allocation per request for the box nor for the request line.
    pub(crate) fn boxed() -> Box<HttpTxnLog> {
        match SPARE_LOGS.try_with(|p| p.borrow_mut().pop()).ok().flatten() {
            Some(b) => b,
            None => Box::new(HttpTxnLog::new()),
        }
    }

    /// Gives a logged transaction's part back to its thread (at most
    /// [`SPARE_MAX`] kept, each reset: its captures freed; the request line's
    /// buffer kept apart, cleared).
    pub(crate) fn recycle(mut b: Box<HttpTxnLog>) {
        if let Some(line) = b.request_line.take() {
            LINES.give(line, usize::MAX);
        }
        *b = HttpTxnLog::new();
        let _ = SPARE_LOGS.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < SPARE_MAX {
                p.push(b);
            }
        });
    }
}

/// Record parts and request-line buffers kept per thread between requests
/// (each a few hundred bytes, the line at most [`LOGURILEN`]).
const SPARE_MAX: usize = 64;

thread_local! {
    // The boxes are what is kept: a request takes one whole.
    #[allow(clippy::vec_box)]
    static SPARE_LOGS: std::cell::RefCell<Vec<Box<HttpTxnLog>>> = const { std::cell::RefCell::new(Vec::new()) };
    static SPARE_LINES: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}
static LINES: haproxide_http::spare::Stack<u8> =
    haproxide_http::spare::Stack::new(&SPARE_LINES, SPARE_MAX);

/// One capture slot of a frontend (configuration.txt §4.2 `capture request header`,
/// `capture response header`, `declare capture`, `http-request capture`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSlot {
    /// The header captured by `capture request|response header`, lower case; `None`
    /// for a slot filled by `http-request|http-response capture` rules.
    pub header: Option<Box<str>>,
    /// The maximum length kept.
    pub len: usize,
}

/// A frontend's capture slots, in declaration order (HAProxy's `nb_req_cap`
/// indexes; the log prints them in that order, `{a|b}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaptureSpec {
    pub request: Vec<CaptureSlot>,
    pub response: Vec<CaptureSlot>,
    /// Keep each request's line for `capture.req.method`/`capture.req.uri`
    /// even when no log prints it (HAProxy's `LW_REQ`: the frontend has a
    /// log-format string with an HTTP sample, see
    /// `haproxide_expr::LogFormat::keeps_request_line`).
    pub request_line: bool,
}

impl CaptureSpec {
    /// No slot at all (the transaction need not allocate any).
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty()
    }

    /// Empty request and response slots, one per capture (`None` each): the
    /// engine starts each transaction's [`HttpTxnLog::req_captures`] /
    /// `res_captures` with these, so that `%hr` prints `{}`-style slots for
    /// headers that did not come.
    pub fn slots(&self) -> (Captures, Captures) {
        (
            vec![None; self.request.len()],
            vec![None; self.response.len()],
        )
    }

    /// Offers one request header to the `capture request header` slots: every slot
    /// naming it takes its value (cut to the slot's length); a later occurrence
    /// replaces an earlier one, as HAProxy's `http_capture_headers`. `slots` is
    /// resized to the spec on first use.
    pub fn capture_request(&self, slots: &mut Captures, name: &[u8], value: &[u8]) {
        capture(&self.request, slots, name, value)
    }

    /// The same for response headers and `capture response header`.
    pub fn capture_response(&self, slots: &mut Captures, name: &[u8], value: &[u8]) {
        capture(&self.response, slots, name, value)
    }
}

fn capture(spec: &[CaptureSlot], slots: &mut Captures, name: &[u8], value: &[u8]) {
    for (i, slot) in spec.iter().enumerate() {
        let Some(h) = &slot.header else { continue };
        if h.as_bytes().eq_ignore_ascii_case(name) {
            if slots.len() < spec.len() {
                slots.resize(spec.len(), None);
            }
            slots[i] = Some(value[..value.len().min(slot.len)].into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_is_cut_like_haproxy() {
        let mut t = HttpTxnLog::new();
        t.set_request_line(b"GET", b"/a?b", b"HTTP/1.1");
        assert_eq!(t.request_line.as_deref(), Some(&b"GET /a?b HTTP/1.1"[..]));
        let long = vec![b'x'; 2000];
        t.set_request_line(b"GET", &long, b"HTTP/1.1");
        let l = t.request_line.unwrap_or_default();
        assert_eq!(l.len(), LOGURILEN - 1);
        assert!(l.starts_with(b"GET xx"));
    }

    #[test]
    fn captures_take_the_last_occurrence_cut_to_len() {
        let spec = CaptureSpec {
            request: vec![
                CaptureSlot {
                    header: Some("host".into()),
                    len: 4,
                },
                CaptureSlot {
                    header: None,
                    len: 10,
                },
                CaptureSlot {
                    header: Some("user-agent".into()),
                    len: 64,
                },
            ],
            response: vec![],
            request_line: false,
        };
        let mut slots = Vec::new();
        spec.capture_request(&mut slots, b"X-Other", b"v");
        assert!(slots.is_empty());
        spec.capture_request(&mut slots, b"Host", b"example.com");
        spec.capture_request(&mut slots, b"host", b"second.org");
        assert_eq!(slots.len(), 3);
        assert_eq!(slots[0].as_deref(), Some(&b"seco"[..]));
        assert_eq!(slots[1], None);
        assert_eq!(slots[2], None);
    }
}

/// One finished session (TCP mode) or transaction (HTTP mode): what `option tcplog`
/// (configuration.txt §8.2.2) and `option httplog` (§8.2.3) print.
///
/// Names are borrowed from the running configuration while the record is
/// logged (no copy per request); [`SessionRecord::into_owned`] keeps one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord<'a> {
    pub client: SocketAddr,
    /// The address the client connected to.
    pub frontend_addr: Option<SocketAddr>,
    pub accepted_at: SystemTime,
    pub frontend: Cow<'a, str>,
    /// `<NOSRV>`-style placeholders are the logger's business: None means none chosen.
    pub backend: Option<Cow<'a, str>>,
    pub server: Option<Cow<'a, str>>,
    /// `Tw`: time waiting in queues, ms (-1 if never reached).
    pub tw: i64,
    /// `Tc`: time to establish the server connection, ms (-1 if never established).
    pub tc: i64,
    /// `Tt`: total session duration, ms.
    pub tt: i64,
    /// Bytes sent from the server to the client (HAProxy's `bytes_read`).
    pub bytes_read: u64,
    /// Bytes sent from the client to the server.
    pub bytes_uploaded: u64,
    /// HAProxy's two-character termination state (`--`, `CD`, `SD`, `sC`, `SC`, `CC`, `cD`, `sD`, `KD`...).
    pub termination: [u8; 2],
    /// Concurrent sessions on the process, frontend, backend and server at logging time.
    pub actconn: u64,
    pub feconn: u64,
    pub beconn: u64,
    pub srv_conn: u64,
    /// Connection retries to servers.
    pub retries: u32,
    /// Whether a retry went to another server (`+` prefix on retries).
    pub redispatched: bool,
    /// Sessions served before this one while it waited in its server's queue (0 if it
    /// never queued there), as `srv_queue` in §8.2.2.
    pub srv_queue: u64,
    /// The same for the backend's queue (`backend_queue`).
    pub backend_queue: u64,
    /// HTTP mode: the transaction's request line, status, timers, captures,
    /// cookie letters and unique ID (see [`HttpTxnLog`]); `None` in TCP mode.
    pub http: Option<Box<HttpTxnLog>>,
    /// What the TLS handshake settled, on a `bind ... ssl` (`%ft`'s `~`, `%sslv`,
    /// `%sslc`, the `ssl_*` fetches of log-format); `None` in clear. Shared
    /// with the session (each log line and HTTP/2 stream of a connection
    /// counts one more user, no copy of the facts).
    pub tls: Option<std::sync::Arc<haproxide_expr::TlsSession>>,
}

impl SessionRecord<'_> {
    /// The record with its own copy of the names (to keep it past the
    /// [`crate::SessionLogger::log`] call).
    pub fn into_owned(self) -> SessionRecord<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        SessionRecord {
            frontend: own(self.frontend),
            backend: self.backend.map(own),
            server: self.server.map(own),
            client: self.client,
            frontend_addr: self.frontend_addr,
            accepted_at: self.accepted_at,
            tw: self.tw,
            tc: self.tc,
            tt: self.tt,
            bytes_read: self.bytes_read,
            bytes_uploaded: self.bytes_uploaded,
            termination: self.termination,
            actconn: self.actconn,
            feconn: self.feconn,
            beconn: self.beconn,
            srv_conn: self.srv_conn,
            retries: self.retries,
            redispatched: self.redispatched,
            srv_queue: self.srv_queue,
            backend_queue: self.backend_queue,
            http: self.http,
            tls: self.tls,
        }
    }
}
