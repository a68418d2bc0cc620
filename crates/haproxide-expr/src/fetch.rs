//! Sample fetches: a registry of what each fetch needs (its arguments, the layer of
//! the connection it reads) and returns (its output type), and the [`Context`] the
//! caller implements to answer them (configuration.txt §7.3 "Fetching samples":
//! §7.3.2 internal states, §7.3.3 layer 4, §7.3.5 layer 6, §7.3.6 layer 7).
//!
//! Adding a fetch is adding a [`FetchDef`] to [`FETCHES`] (and, when it reads
//! something no context exposes yet, a defaulted method to [`Context`]): the
//! parser, the type checker and the evaluator do not change. An HTTP fetch that
//! yields several values (`req.hdr`) answers per occurrence and sets
//! [`Fetched::more`], as HAProxy's `SMP_F_NOT_LAST`.

use std::borrow::Cow;
use std::net::SocketAddr;

use crate::args::{Arg, ArgType};
use crate::capture as cap;
use crate::constfetch as cf;
use crate::http;
use crate::payload::{self, Fetch};
use crate::sample::{Sample, SmpType};

/// What an evaluation may look at. Everything has a default ("not known here"), so
/// a context implements only what it knows: a TCP session its addresses and
/// request buffer, the stats page its HTTP request.
pub trait Context {
    /// The client's address (`src`, `src_port`); `None` for a UNIX socket.
    fn src(&self) -> Option<SocketAddr> {
        None
    }
    /// The address the client connected to (`dst`, `dst_port`).
    fn dst(&self) -> Option<SocketAddr> {
        None
    }
    /// The request bytes received so far (layer 6: `req.len`, `req.payload`...).
    fn req_data(&self) -> &[u8] {
        &[]
    }
    /// The request buffer's size: a payload range beyond it can never be filled.
    fn req_buf_size(&self) -> usize {
        16384
    }
    /// No more data will come, or none will be waited for (HAProxy's
    /// `SMP_OPT_FINAL`): a value that "may change" is taken as it is.
    fn is_final(&self) -> bool {
        true
    }
    /// The HTTP request's method (`method`); `None` when there is no HTTP request.
    /// Layer 7 fetches (crate::http) read the message through the `http_*` methods.
    fn http_method(&self) -> Option<&[u8]> {
        None
    }
    /// The request target as received (`url`; `path`, `query`, `url_param`,
    /// `base` are derived from it).
    fn http_uri(&self) -> Option<&[u8]> {
        None
    }
    /// The request's HTTP version, (major, minor) (`req.ver`).
    fn http_req_version(&self) -> Option<(u8, u8)> {
        None
    }
    /// The request's `i`-th header field (name, value), in order, duplicates kept;
    /// `None` past the last (`req.hdr`, `req.cook`...).
    fn http_req_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let _ = i;
        None
    }
    /// The request body buffered so far (`req.body`); `None` when none is.
    fn http_req_body(&self) -> Option<&[u8]> {
        None
    }
    /// The response's status code (`status`); `None` before a response.
    fn http_status(&self) -> Option<u16> {
        None
    }
    /// The response's HTTP version (`res.ver`).
    fn http_res_version(&self) -> Option<(u8, u8)> {
        None
    }
    /// The response's `i`-th header field (`res.hdr`, `res.cook`...).
    fn http_res_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let _ = i;
        None
    }
    /// Whether this evaluation is on the response (`http-response` rules): the
    /// direction-less `hdr`, `hdr_cnt`... then read the response.
    fn http_on_response(&self) -> bool {
        false
    }
    /// A variable's value (`var(txn.name)`: the name with its scope).
    fn var(&self, name: &str) -> Option<Sample<'_>> {
        let _ = name;
        None
    }
    /// Stores `v` in variable `name` when `cond` permits (the `set-var`
    /// converter, §7.3.1); `false` when nothing was stored or there is no store.
    fn set_var(&self, name: &str, v: &Sample<'_>, cond: crate::VarCond) -> bool {
        let _ = (name, v, cond);
        false
    }
    /// Whether `user`/`pass` are valid in the userlist `list` (`http_auth`).
    fn userlist_check(&self, list: &str, user: &[u8], pass: &[u8]) -> bool {
        let _ = (list, user, pass);
        false
    }
    /// The `i`-th group of `user` in the userlist `list` (`http_auth_group`).
    fn userlist_group(&self, list: &str, user: &[u8], i: usize) -> Option<&[u8]> {
        let _ = (list, user, i);
        None
    }
    /// The client connection's TLS session (`ssl_fc*`, `ssl_c_*`); `None` on a
    /// cleartext connection.
    fn tls(&self) -> Option<&crate::ssl::TlsSession> {
        None
    }
    /// The certificate the server presented on this stream's `server ... ssl`
    /// connection (`ssl_s_*`); `None` in clear or before a server is connected.
    fn server_cert(&self) -> Option<&crate::ssl::CertFacts> {
        None
    }
    /// The frontend's name (`fe_name`).
    fn frontend_name(&self) -> Option<&str> {
        None
    }
    /// The backend's name once one is chosen (`be_name`).
    fn backend_name(&self) -> Option<&str> {
        None
    }
    /// The server's name once one is chosen (`srv_name`).
    fn server_name(&self) -> Option<&str> {
        None
    }
    /// The server's numeric id once one is chosen (`srv_id`).
    fn server_id(&self) -> Option<i64> {
        None
    }
    /// The stick tables and the session's tracked counters (`sc_*`, `src_*`,
    /// `table_*`: crate::stktab); `None` where there are none.
    fn stick(&self) -> Option<&dyn crate::stktab::StickCtx> {
        None
    }
    /// The usable servers of the named backend, else of the current one
    /// (`nbsrv`, §7.3.3: its active UP servers, else its backup ones); `None`
    /// when there is no such backend or no runtime to ask.
    fn nbsrv(&self, backend: Option<&str>) -> Option<i64> {
        let _ = backend;
        None
    }
    /// The frontend's capture slot `idx` of the request (`response` false) or
    /// the response (`capture.req.hdr`, `capture.res.hdr`); `None` when empty.
    fn capture(&self, response: bool, idx: usize) -> Option<&[u8]> {
        let _ = (response, idx);
        None
    }
    /// The request line as copied for the log (`capture.req.method`, `.uri`):
    /// `None` when the log format does not show it, as HAProxy's `txn->uri`.
    fn captured_request_line(&self) -> Option<&[u8]> {
        None
    }
    /// The `name` of the listener that accepted the connection (`so_name`).
    fn listener_name(&self) -> Option<&str> {
        None
    }
    /// The server's bytes buffered so far (`tcp-response content`: `res.len`,
    /// `res.payload`); `None` where there is no response buffer.
    fn res_data(&self) -> Option<&[u8]> {
        None
    }
    /// The name of the cache the response came from (`res.cache_name`;
    /// `res.cache_hit` is whether there is one), configuration.txt §7.3.6.
    fn cache_name(&self) -> Option<&str> {
        None
    }
}

/// What a fetch reads, HAProxy's `SMP_USE_*` grouped by layer. A rule kind offers a
/// set of them (`tcp-request content`: layers 4 and 6; the stats page: 4 and 7);
/// [`crate::Cond::missing`] names a fetch a condition needs and the rule lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uses(u8);

impl Uses {
    /// Internal states only (`always_true`, `wait_end`): available everywhere.
    pub const NONE: Uses = Uses(0);
    /// The connection's addresses (§7.3.3).
    pub const L4: Uses = Uses(1);
    /// The request buffer's contents (§7.3.5).
    pub const L6_REQ: Uses = Uses(2);
    /// The HTTP request (§7.3.6).
    pub const L7_REQ: Uses = Uses(4);
    /// The HTTP response (§7.3.6 `res.*`, `status`).
    pub const L7_RES: Uses = Uses(8);
    /// The request's length (`req.len`): the buffer's in TCP, the HTTP
    /// message's as HAProxy counts it in HTTP.
    pub const L6_LEN: Uses = Uses(32);
    /// What `tcp-request` and `use_backend` rules of a TCP frontend offer.
    pub const TCP: Uses = Uses(1 | 2 | 32);
    /// What an HTTP request offers (layer 6 is the HTTP message there).
    pub const HTTP: Uses = Uses(1 | 4 | 32);
    /// What an HTTP response offers (`http-response` rules): the request too.
    pub const HTTP_RES: Uses = Uses(1 | 4 | 8 | 32);
    /// The response buffer's contents (§7.3.5 `res.payload`).
    pub const L6_RES: Uses = Uses(16);
    /// What `tcp-response content` rules offer.
    pub const TCP_RES: Uses = Uses(1 | 16);

    /// Both sets.
    pub const fn union(self, o: Uses) -> Uses {
        Uses(self.0 | o.0)
    }
    /// Whether every layer of `self` is in `offered`.
    pub const fn within(self, offered: Uses) -> bool {
        self.0 & !offered.0 == 0
    }
}

/// One fetch's outcome (HAProxy's `sample_process` return and flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<'a> {
    /// The value, `None` when not found.
    pub value: Option<Sample<'a>>,
    /// `SMP_F_MAY_CHANGE`: more data may change the value (or bring one).
    pub may_change: bool,
    /// `SMP_F_NOT_LAST`: another occurrence follows (multi-valued fetches).
    pub more: bool,
}

impl<'a> Fetched<'a> {
    pub(crate) fn value(v: Sample<'a>) -> Fetched<'a> {
        Fetched {
            value: Some(v),
            may_change: false,
            more: false,
        }
    }
    pub(crate) fn none() -> Fetched<'a> {
        Fetched {
            value: None,
            may_change: false,
            more: false,
        }
    }
    fn from_payload<T>(f: Fetch<T>, to: impl FnOnce(T) -> Sample<'a>) -> Fetched<'a> {
        match f {
            Fetch::Value(v) => Fetched::value(to(v)),
            Fetch::Incomplete => Fetched {
                value: None,
                may_change: true,
                more: false,
            },
            Fetch::Absent => Fetched::none(),
        }
    }
}

/// A fetch function: arguments (typed at configuration time), the context, the
/// occurrence wanted (0 first).
pub type FetchFn = for<'c> fn(&[Arg], &'c dyn Context, usize) -> Fetched<'c>;

/// A sample fetch in the registry.
pub struct FetchDef {
    /// Its name (and every alias has its own entry).
    pub name: &'static str,
    /// Arguments in order; the first `min_args` are mandatory.
    pub args: &'static [ArgType],
    pub min_args: usize,
    /// The declared output type (`haproxy -dKall`); config-time type checks use it.
    pub out: SmpType,
    pub uses: Uses,
    pub fetch: FetchFn,
    /// configuration.txt section that documents it.
    pub doc: &'static str,
}

impl std::fmt::Debug for FetchDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for FetchDef {
    fn eq(&self, o: &FetchDef) -> bool {
        self.name == o.name
    }
}

fn always_true(_: &[Arg], _: &dyn Context, _: usize) -> Fetched<'static> {
    Fetched::value(Sample::Bool(true))
}
fn always_false(_: &[Arg], _: &dyn Context, _: usize) -> Fetched<'static> {
    Fetched::value(Sample::Bool(false))
}
/// `wait_end` (§7.3.2): true once the evaluation is final, "may change" before.
fn wait_end(_: &[Arg], ctx: &dyn Context, _: usize) -> Fetched<'static> {
    if ctx.is_final() {
        Fetched::value(Sample::Bool(true))
    } else {
        Fetched {
            value: None,
            may_change: true,
            more: false,
        }
    }
}
fn src<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.src() {
        Some(a) => Fetched::value(Sample::addr(a.ip())),
        None => Fetched::none(),
    }
}
fn dst<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.dst() {
        Some(a) => Fetched::value(Sample::addr(a.ip())),
        None => Fetched::none(),
    }
}
fn src_port<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.src() {
        Some(a) => Fetched::value(Sample::Sint(i64::from(a.port()))),
        None => Fetched::none(),
    }
}
fn dst_port<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.dst() {
        Some(a) => Fetched::value(Sample::Sint(i64::from(a.port()))),
        None => Fetched::none(),
    }
}
/// `req.len` (§7.3.5): the bytes buffered so far; may change until final. On
/// an HTTP request HAProxy 2.6 counts its HTX message instead ("not accurate
/// but kept for backward compatibility"): the start line's 20-byte header with
/// the method, URI and version, each header's name and value, the end-of-headers
/// byte, and the body buffered so far.
fn req_len<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    if let (Some(m), Some(u)) = (ctx.http_method(), ctx.http_uri()) {
        let mut n = 20 + m.len() + u.len() + "HTTP/1.1".len() + 1;
        let mut i = 0;
        while let Some((k, v)) = ctx.http_req_header(i) {
            n += k.len() + v.len();
            i += 1;
        }
        n += ctx.http_req_body().map_or(0, <[u8]>::len);
        return Fetched::value(Sample::Sint(n as i64));
    }
    Fetched {
        value: Some(Sample::Sint(ctx.req_data().len() as i64)),
        may_change: true,
        more: false,
    }
}
fn req_payload<'c>(args: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let (off, len) = match args {
        [Arg::Int(o), Arg::Int(l), ..] => (*o, *l),
        _ => return Fetched::none(),
    };
    let (Ok(off), Ok(len)) = (usize::try_from(off), usize::try_from(len)) else {
        return Fetched::none();
    };
    let f = payload::req_payload(ctx.req_data(), off, len, ctx.req_buf_size());
    Fetched::from_payload(f, |v| Sample::Bin(Cow::Borrowed(v)))
}
/// `res.len` (§7.3.5): the server's bytes buffered so far; may change until final.
fn res_len<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    match ctx.res_data() {
        Some(d) => Fetched {
            value: Some(Sample::Sint(d.len() as i64)),
            may_change: !ctx.is_final(),
            more: false,
        },
        None => Fetched::none(),
    }
}
/// `res.payload(<offset>,<length>)` (§7.3.5), as `req.payload` on the response.
fn res_payload<'c>(args: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let (Some(data), [Arg::Int(off), Arg::Int(len), ..]) = (ctx.res_data(), args) else {
        return Fetched::none();
    };
    let (Ok(off), Ok(len)) = (usize::try_from(*off), usize::try_from(*len)) else {
        return Fetched::none();
    };
    let f = payload::req_payload(data, off, len, ctx.req_buf_size());
    Fetched::from_payload(f, |v| Sample::Bin(Cow::Borrowed(v)))
}
fn req_ssl_sni<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let f = payload::ssl_sni(ctx.req_data());
    Fetched::from_payload(f, |v| Sample::Str(Cow::Borrowed(v.as_bytes())))
}
/// `req.ssl_alpn`: each ALPN protocol name in turn (a single value: the first).
fn req_ssl_alpn<'c>(_: &[Arg], ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
    match payload::ssl_alpn(ctx.req_data()) {
        Fetch::Value(names) => {
            let i = if occ == crate::http::SINGLE { 0 } else { occ };
            match names.get(i) {
                Some(n) => Fetched {
                    value: Some(Sample::Str(Cow::Borrowed(n))),
                    may_change: false,
                    more: i + 1 < names.len(),
                },
                None => Fetched::none(),
            }
        }
        Fetch::Incomplete => {
            Fetched::from_payload(Fetch::<()>::Incomplete, |_| Sample::Bool(false))
        }
        Fetch::Absent => Fetched::none(),
    }
}
fn req_ssl_hello_type<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let f = payload::ssl_hello_type(ctx.req_data());
    Fetched::from_payload(f, |v| Sample::Sint(i64::from(v)))
}
/// `res.cache_hit`: always a value (HAProxy compares the stream's target).
fn cache_hit<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    Fetched::value(Sample::Bool(ctx.cache_name().is_some()))
}

/// `res.cache_name`: only for a response that came from a cache.
fn cache_name<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    name_sample(ctx.cache_name())
}

fn name_sample(n: Option<&str>) -> Fetched<'_> {
    match n {
        Some(n) => Fetched::value(Sample::Str(Cow::Borrowed(n.as_bytes()))),
        None => Fetched::none(),
    }
}
fn fe_name<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    name_sample(ctx.frontend_name())
}
fn be_name<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    name_sample(ctx.backend_name())
}
fn srv_name<'c>(_: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    name_sample(ctx.server_name())
}

const INT1: &[ArgType] = &[ArgType::Int];
const INT2: &[ArgType] = &[ArgType::Int, ArgType::Int];
const STR1: &[ArgType] = &[ArgType::Str];
const STR2: &[ArgType] = &[ArgType::Str, ArgType::Str];
const STR_INT: &[ArgType] = &[ArgType::Str, ArgType::Int];
const INT_STR: &[ArgType] = &[ArgType::Int, ArgType::Str];

macro_rules! fetch {
    ($name:expr, $args:expr, $min:expr, $out:ident, $uses:ident, $f:expr, $doc:expr) => {
        FetchDef {
            name: $name,
            args: $args,
            min_args: $min,
            out: SmpType::$out,
            uses: Uses::$uses,
            fetch: $f,
            doc: $doc,
        }
    };
}

/// Every fetch the engine evaluates.
pub static FETCHES: &[FetchDef] = &[
    fetch!("always_false", &[], 0, Bool, NONE, always_false, "7.3.2"),
    fetch!("always_true", &[], 0, Bool, NONE, always_true, "7.3.2"),
    fetch!("wait_end", &[], 0, Bool, NONE, wait_end, "7.3.2"),
    fetch!(
        "date",
        INT_STR,
        0,
        Sint,
        NONE,
        crate::timefmt::date,
        "7.3.2"
    ),
    fetch!("src", &[], 0, Ipv4, L4, src, "7.3.3"),
    fetch!("src_port", &[], 0, Sint, L4, src_port, "7.3.3"),
    fetch!("dst", &[], 0, Ipv4, L4, dst, "7.3.3"),
    fetch!("dst_port", &[], 0, Sint, L4, dst_port, "7.3.3"),
    fetch!("req.len", &[], 0, Sint, L6_LEN, req_len, "7.3.5"),
    fetch!("req_len", &[], 0, Sint, L6_LEN, req_len, "7.3.5"),
    fetch!("req.payload", INT2, 2, Bin, L6_REQ, req_payload, "7.3.5"),
    fetch!("payload", INT2, 2, Bin, L6_REQ, req_payload, "7.3.5"),
    fetch!("res.len", &[], 0, Sint, L6_RES, res_len, "7.3.5"),
    fetch!("res.payload", INT2, 2, Bin, L6_RES, res_payload, "7.3.5"),
    fetch!("req.ssl_sni", &[], 0, Str, L6_REQ, req_ssl_sni, "7.3.5"),
    fetch!("req_ssl_sni", &[], 0, Str, L6_REQ, req_ssl_sni, "7.3.5"),
    fetch!("req.ssl_alpn", &[], 0, Str, L6_REQ, req_ssl_alpn, "7.3.5"),
    fetch!(
        "req.ssl_hello_type",
        &[],
        0,
        Sint,
        L6_REQ,
        req_ssl_hello_type,
        "7.3.5"
    ),
    fetch!(
        "req_ssl_hello_type",
        &[],
        0,
        Sint,
        L6_REQ,
        req_ssl_hello_type,
        "7.3.5"
    ),
    fetch!("var", STR2, 1, Any, NONE, http::var, "7.3.2"),
    fetch!("base", &[], 0, Str, L7_REQ, http::base, "7.3.6"),
    fetch!("cook", STR1, 0, Str, L7_REQ, http::req_cook, "7.3.6"),
    fetch!(
        "cook_cnt",
        STR1,
        0,
        Sint,
        L7_REQ,
        http::req_cook_cnt,
        "7.3.6"
    ),
    fetch!(
        "cook_val",
        STR1,
        0,
        Sint,
        L7_REQ,
        http::req_cook_val,
        "7.3.6"
    ),
    fetch!("hdr", STR_INT, 0, Str, L7_REQ, http::hdr, "7.3.6"),
    fetch!("hdr_cnt", STR1, 0, Sint, L7_REQ, http::hdr_cnt, "7.3.6"),
    fetch!("hdr_ip", STR_INT, 0, Ipv4, L7_REQ, http::hdr_ip, "7.3.6"),
    fetch!("hdr_val", STR_INT, 0, Sint, L7_REQ, http::hdr_val, "7.3.6"),
    fetch!("http_auth", STR1, 1, Bool, L7_REQ, http::http_auth, "7.3.6"),
    fetch!(
        "http_auth_group",
        STR1,
        1,
        Str,
        L7_REQ,
        http::http_auth_group,
        "7.3.6"
    ),
    fetch!("method", &[], 0, Meth, L7_REQ, http::method, "7.3.6"),
    fetch!("path", &[], 0, Str, L7_REQ, http::path, "7.3.6"),
    fetch!("pathq", &[], 0, Str, L7_REQ, http::pathq, "7.3.6"),
    fetch!("query", &[], 0, Str, L7_REQ, http::query, "7.3.6"),
    fetch!("req.body", &[], 0, Bin, L7_REQ, http::req_body, "7.3.6"),
    fetch!(
        "req.body_len",
        &[],
        0,
        Sint,
        L7_REQ,
        http::req_body_len,
        "7.3.6"
    ),
    fetch!("req.cook", STR1, 0, Str, L7_REQ, http::req_cook, "7.3.6"),
    fetch!(
        "req.cook_cnt",
        STR1,
        0,
        Sint,
        L7_REQ,
        http::req_cook_cnt,
        "7.3.6"
    ),
    fetch!(
        "req.cook_val",
        STR1,
        0,
        Sint,
        L7_REQ,
        http::req_cook_val,
        "7.3.6"
    ),
    fetch!("req.fhdr", STR_INT, 0, Str, L7_REQ, http::req_fhdr, "7.3.6"),
    fetch!(
        "req.fhdr_cnt",
        STR1,
        0,
        Sint,
        L7_REQ,
        http::req_fhdr_cnt,
        "7.3.6"
    ),
    fetch!("req.hdr", STR_INT, 0, Str, L7_REQ, http::req_hdr, "7.3.6"),
    fetch!("req.hdrs", &[], 0, Str, L7_REQ, http::req_hdrs, "7.3.6"),
    fetch!(
        "req.hdr_cnt",
        STR1,
        0,
        Sint,
        L7_REQ,
        http::req_hdr_cnt,
        "7.3.6"
    ),
    fetch!(
        "req.hdr_ip",
        STR_INT,
        0,
        Ipv4,
        L7_REQ,
        http::req_hdr_ip,
        "7.3.6"
    ),
    fetch!(
        "req.hdr_val",
        STR_INT,
        0,
        Sint,
        L7_REQ,
        http::req_hdr_val,
        "7.3.6"
    ),
    fetch!(
        "req.proto_http",
        &[],
        0,
        Bool,
        NONE,
        http::req_proto_http,
        "7.3.6"
    ),
    fetch!(
        "req_proto_http",
        &[],
        0,
        Bool,
        NONE,
        http::req_proto_http,
        "7.3.6"
    ),
    fetch!("req.ver", &[], 0, Str, L7_REQ, http::req_ver, "7.3.6"),
    fetch!("req_ver", &[], 0, Str, L7_REQ, http::req_ver, "7.3.6"),
    fetch!("res.cook", STR1, 0, Str, L7_RES, http::res_cook, "7.3.6"),
    fetch!(
        "res.cook_cnt",
        STR1,
        0,
        Sint,
        L7_RES,
        http::res_cook_cnt,
        "7.3.6"
    ),
    fetch!(
        "res.cook_val",
        STR1,
        0,
        Sint,
        L7_RES,
        http::res_cook_val,
        "7.3.6"
    ),
    fetch!("res.fhdr", STR_INT, 0, Str, L7_RES, http::res_fhdr, "7.3.6"),
    fetch!(
        "res.fhdr_cnt",
        STR1,
        0,
        Sint,
        L7_RES,
        http::res_fhdr_cnt,
        "7.3.6"
    ),
    fetch!("res.hdr", STR_INT, 0, Str, L7_RES, http::res_hdr, "7.3.6"),
    fetch!(
        "res.hdr_cnt",
        STR1,
        0,
        Sint,
        L7_RES,
        http::res_hdr_cnt,
        "7.3.6"
    ),
    fetch!(
        "res.hdr_ip",
        STR_INT,
        0,
        Ipv4,
        L7_RES,
        http::res_hdr_ip,
        "7.3.6"
    ),
    fetch!(
        "res.hdr_val",
        STR_INT,
        0,
        Sint,
        L7_RES,
        http::res_hdr_val,
        "7.3.6"
    ),
    fetch!("res.ver", &[], 0, Str, L7_RES, http::res_ver, "7.3.6"),
    fetch!("res.cache_hit", &[], 0, Bool, L7_RES, cache_hit, "7.3.6"),
    fetch!("res.cache_name", &[], 0, Str, L7_RES, cache_name, "7.3.6"),
    fetch!("resp_ver", &[], 0, Str, L7_RES, http::res_ver, "7.3.6"),
    fetch!("scook", STR1, 0, Str, L7_RES, http::res_cook, "7.3.6"),
    fetch!(
        "scook_cnt",
        STR1,
        0,
        Sint,
        L7_RES,
        http::res_cook_cnt,
        "7.3.6"
    ),
    fetch!(
        "scook_val",
        STR1,
        0,
        Sint,
        L7_RES,
        http::res_cook_val,
        "7.3.6"
    ),
    fetch!("shdr", STR_INT, 0, Str, L7_RES, http::res_hdr, "7.3.6"),
    fetch!(
        "shdr_cnt",
        STR1,
        0,
        Sint,
        L7_RES,
        http::res_hdr_cnt,
        "7.3.6"
    ),
    fetch!(
        "shdr_ip",
        STR_INT,
        0,
        Ipv4,
        L7_RES,
        http::res_hdr_ip,
        "7.3.6"
    ),
    fetch!(
        "shdr_val",
        STR_INT,
        0,
        Sint,
        L7_RES,
        http::res_hdr_val,
        "7.3.6"
    ),
    fetch!("status", &[], 0, Sint, L7_RES, http::status, "7.3.6"),
    fetch!("url", &[], 0, Str, L7_REQ, http::url, "7.3.6"),
    fetch!("url_ip", &[], 0, Ipv4, L7_REQ, http::url_ip, "7.3.6"),
    fetch!("url_port", &[], 0, Sint, L7_REQ, http::url_port, "7.3.6"),
    fetch!("url_param", STR2, 0, Str, L7_REQ, http::url_param, "7.3.6"),
    fetch!("urlp", STR2, 0, Str, L7_REQ, http::url_param, "7.3.6"),
    fetch!("urlp_val", STR2, 0, Sint, L7_REQ, http::urlp_val, "7.3.6"),
    fetch!("fe_name", &[], 0, Str, NONE, fe_name, "7.3.3"),
    fetch!("be_name", &[], 0, Str, NONE, be_name, "7.3.3"),
    fetch!("srv_name", &[], 0, Str, NONE, srv_name, "7.3.3"),
    fetch!("srv_id", &[], 0, Sint, NONE, cf::srv_id, "7.3.3"),
    fetch!("nbsrv", STR1, 0, Sint, NONE, cf::nbsrv, "7.3.3"),
    fetch!("str", STR1, 1, Str, NONE, cf::str_, "7.3.2"),
    fetch!("int", &[ArgType::Int], 1, Sint, NONE, cf::int, "7.3.2"),
    fetch!("bool", STR1, 1, Bool, NONE, cf::bool_, "7.3.2"),
    fetch!("bin", STR1, 1, Bin, NONE, cf::bin, "7.3.2"),
    fetch!("ipv4", STR1, 1, Ipv4, NONE, cf::ipv4, "7.3.2"),
    fetch!("ipv6", STR1, 1, Ipv6, NONE, cf::ipv6, "7.3.2"),
    fetch!("meth", STR1, 1, Meth, NONE, cf::meth, "7.3.2"),
    fetch!("uuid", INT1, 0, Str, NONE, cap::uuid, "7.3.2"),
    fetch!("so_name", &[], 0, Str, NONE, cap::so_name, "7.3.3"),
    fetch!(
        "capture.req.hdr",
        INT1,
        1,
        Str,
        L7_REQ,
        cap::req_hdr,
        "7.3.6"
    ),
    fetch!(
        "capture.req.method",
        &[],
        0,
        Str,
        L7_REQ,
        cap::req_method,
        "7.3.6"
    ),
    fetch!(
        "capture.req.uri",
        &[],
        0,
        Str,
        L7_REQ,
        cap::req_uri,
        "7.3.6"
    ),
    fetch!(
        "capture.req.ver",
        &[],
        0,
        Str,
        L7_REQ,
        cap::req_ver,
        "7.3.6"
    ),
    fetch!(
        "capture.res.hdr",
        INT1,
        1,
        Str,
        L7_RES,
        cap::res_hdr,
        "7.3.6"
    ),
    fetch!(
        "capture.res.ver",
        &[],
        0,
        Str,
        L7_RES,
        cap::res_ver,
        "7.3.6"
    ),
];

/// The fetch named `name`.
pub fn find_fetch(name: &str) -> Option<&'static FetchDef> {
    FETCHES
        .iter()
        .chain(crate::stktab::FETCHES)
        .chain(crate::ssl::FETCHES)
        .find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tcp<'a>(&'a [u8], bool);
    impl Context for Tcp<'_> {
        fn src(&self) -> Option<SocketAddr> {
            "10.0.0.1:5000".parse().ok()
        }
        fn req_data(&self) -> &[u8] {
            self.0
        }
        fn is_final(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn fetches_answer_from_the_context() {
        let ctx = Tcp(b"hello", false);
        let f = |n: &str, args: &[Arg]| (find_fetch(n).expect(n).fetch)(args, &ctx, 0);
        assert_eq!(
            f("src", &[]).value,
            Some(Sample::Ipv4("10.0.0.1".parse().unwrap()))
        );
        assert_eq!(f("src_port", &[]).value, Some(Sample::Sint(5000)));
        assert_eq!(f("dst", &[]).value, None);
        let len = f("req.len", &[]);
        assert_eq!((len.value, len.may_change), (Some(Sample::Sint(5)), true));
        let p = f("req.payload", &[Arg::Int(1), Arg::Int(2)]);
        assert_eq!(p.value, Some(Sample::Bin(Cow::Borrowed(b"el"))));
        let p = f("req.payload", &[Arg::Int(4), Arg::Int(2)]);
        assert_eq!((p.value, p.may_change), (None, true));
        assert!(f("wait_end", &[]).may_change);
        assert_eq!(f("path", &[]).value, None);
    }

    /// `req.len` on an HTTP request counts HAProxy 2.6's HTX message: the
    /// reg-test cond_set_var's c10 request (`GET /converter`, `host:
    /// 127.0.0.1`, `x-cust: foobar`) is 67 there.
    #[test]
    fn req_len_in_http_counts_the_htx_message() {
        struct Http;
        impl Context for Http {
            fn http_method(&self) -> Option<&[u8]> {
                Some(b"GET")
            }
            fn http_uri(&self) -> Option<&[u8]> {
                Some(b"/converter")
            }
            fn http_req_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
                [(&b"host"[..], &b"127.0.0.1"[..]), (b"x-cust", b"foobar")]
                    .get(i)
                    .copied()
            }
        }
        let f = (find_fetch("req.len").expect("req.len").fetch)(&[], &Http, 0);
        assert_eq!((f.value, f.may_change), (Some(Sample::Sint(67)), false));
        assert!(Uses::L6_LEN.within(Uses::HTTP) && Uses::L6_LEN.within(Uses::TCP));
        assert!(!Uses::L6_REQ.within(Uses::HTTP));
    }

    #[test]
    fn registry_names_are_unique_and_uses_compose() {
        for (i, a) in FETCHES.iter().enumerate() {
            assert!(
                FETCHES[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
            assert!(a.min_args <= a.args.len());
        }
        assert!(Uses::L6_REQ.within(Uses::TCP));
        assert!(!Uses::L7_REQ.within(Uses::TCP));
        assert!(Uses::NONE.within(Uses::NONE));
        assert!(Uses::L4.union(Uses::L7_REQ).within(Uses::HTTP));
    }
}
