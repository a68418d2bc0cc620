//! Stick-table fetches and converters (configuration.txt §7.3.3 `sc_*`,
//! `sc0_*`..`sc2_*`, `src_*`, `table_avl`, `table_cnt`; §7.3.1 `in_table`,
//! `table_*`). The tables live in the runtime; the engine reaches them through
//! the [`StickCtx`] a [`Context`] offers ([`Context::stick`]). This module only
//! decides what each keyword asks for: HAProxy's `smp_fetch_sc_stkctr` rules
//! (a counter not tracked gives no sample; a `src_*` key not in the table gives
//! 0; a data type the table does not store gives no sample).

use crate::args::{Arg, ArgType};
use crate::conv::ConvDef;
use crate::fetch::{Context, FetchDef, Fetched, Uses};
use crate::sample::{Sample, SmpType};

/// A stored data type (`stick-table ... store <type>`), in HAProxy's
/// `STKTABLE_DT_*` order (the order `show table` prints them in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Data {
    ServerId,
    Gpt0,
    Gpc0,
    Gpc0Rate,
    ConnCnt,
    ConnRate,
    ConnCur,
    SessCnt,
    SessRate,
    HttpReqCnt,
    HttpReqRate,
    HttpErrCnt,
    HttpErrRate,
    BytesInCnt,
    BytesInRate,
    BytesOutCnt,
    BytesOutRate,
    Gpc1,
    Gpc1Rate,
    /// The server's name or address (`srvkey`), a string; `stick` rules store it.
    ServerKey,
    HttpFailCnt,
    HttpFailRate,
}

impl Data {
    /// Every data type, in order.
    pub const ALL: [Data; 22] = [
        Data::ServerId,
        Data::Gpt0,
        Data::Gpc0,
        Data::Gpc0Rate,
        Data::ConnCnt,
        Data::ConnRate,
        Data::ConnCur,
        Data::SessCnt,
        Data::SessRate,
        Data::HttpReqCnt,
        Data::HttpReqRate,
        Data::HttpErrCnt,
        Data::HttpErrRate,
        Data::BytesInCnt,
        Data::BytesInRate,
        Data::BytesOutCnt,
        Data::BytesOutRate,
        Data::Gpc1,
        Data::Gpc1Rate,
        Data::ServerKey,
        Data::HttpFailCnt,
        Data::HttpFailRate,
    ];

    /// The name `store` and `show table` use.
    pub fn name(self) -> &'static str {
        match self {
            Data::ServerId => "server_id",
            Data::Gpt0 => "gpt0",
            Data::Gpc0 => "gpc0",
            Data::Gpc0Rate => "gpc0_rate",
            Data::ConnCnt => "conn_cnt",
            Data::ConnRate => "conn_rate",
            Data::ConnCur => "conn_cur",
            Data::SessCnt => "sess_cnt",
            Data::SessRate => "sess_rate",
            Data::HttpReqCnt => "http_req_cnt",
            Data::HttpReqRate => "http_req_rate",
            Data::HttpErrCnt => "http_err_cnt",
            Data::HttpErrRate => "http_err_rate",
            Data::BytesInCnt => "bytes_in_cnt",
            Data::BytesInRate => "bytes_in_rate",
            Data::BytesOutCnt => "bytes_out_cnt",
            Data::BytesOutRate => "bytes_out_rate",
            Data::Gpc1 => "gpc1",
            Data::Gpc1Rate => "gpc1_rate",
            Data::ServerKey => "server_key",
            Data::HttpFailCnt => "http_fail_cnt",
            Data::HttpFailRate => "http_fail_rate",
        }
    }

    /// The data type named `n`.
    pub fn from_name(n: &str) -> Option<Data> {
        Data::ALL.into_iter().find(|d| d.name() == n)
    }

    /// A frequency counter over a period (`<name>(<period>)`).
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            Data::Gpc0Rate
                | Data::ConnRate
                | Data::SessRate
                | Data::HttpReqRate
                | Data::HttpErrRate
                | Data::BytesInRate
                | Data::BytesOutRate
                | Data::Gpc1Rate
                | Data::HttpFailRate
        )
    }
}

/// What a fetch, converter or action does to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read a data type (a rate through `read_freq_ctr_period`).
    Read(Data),
    /// `bytes_in_cnt` / `bytes_out_cnt` divided by 1024 (`kbytes_in`/`out`).
    Kbytes(Data),
    /// `inc_gpc0` / `inc_gpc1`: the counter (and its rate) incremented.
    IncGpc(u8),
    /// `clr_gpc0` / `clr_gpc1`: the previous value, the counter set to 0.
    ClrGpc(u8),
    /// `trackers`: the entry's reference count.
    Trackers,
    /// `src_updt_conn_cnt`: `conn_cnt` incremented, its new value.
    UpdtConnCnt,
}

/// Which entry: a tracked counter (`sc_*`, `scN_*`) or the client's address
/// (`src_*`), with an optional table (default: the proxy's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Ctr(usize, Option<&'a str>),
    Src(Option<&'a str>),
}

/// The runtime's stick tables as rules and fetches see them (one per evaluation:
/// it knows the session's tracked counters and the current proxy's table).
pub trait StickCtx {
    /// Runs `op` on `target`'s entry: `None` when HAProxy gives no sample.
    fn sc(&self, target: Target<'_>, op: Op) -> Option<i64>;
    /// Whether the counter is tracked (`sc_tracked`).
    fn tracked(&self, ctr: usize) -> bool;
    /// A table's (free slots, used entries) (`table_avl`, `table_cnt`).
    fn table_stat(&self, table: Option<&str>) -> Option<(i64, i64)>;
    /// Runs `op` on `key`'s entry of `table` without creating it (converters):
    /// `Some(0)` when absent, `None` when the data type is not stored.
    fn key_op(&self, table: &str, key: &Sample<'_>, op: Op) -> Option<i64>;
    /// Whether `key` is in `table` (`in_table`).
    fn has_key(&self, table: &str, key: &Sample<'_>) -> bool;
    /// `track-scN <key> [table <t>]`: starts tracking (no-op if tracked).
    /// `status`: the response status for a rule on the response.
    fn track(&self, ctr: usize, table: Option<&str>, key: &Sample<'_>, status: Option<u16>);
    /// `sc-set-gpt0(N) <v>`.
    fn set_gpt0(&self, ctr: usize, v: i64);
    /// `tcp-request connection|session|content track-scN`: `session` keeps
    /// the counter for the connection's life, else for the stream's.
    fn track_at(&self, ctr: usize, table: Option<&str>, key: &Sample<'_>, session: bool) {
        let _ = session;
        self.track(ctr, table, key, None);
    }
}

fn table_arg(args: &[Arg], i: usize) -> Option<&str> {
    match args.get(i) {
        Some(Arg::Str(s)) => Some(s.as_str()),
        _ => None,
    }
}

fn vol(v: Option<i64>) -> Fetched<'static> {
    match v {
        Some(v) => Fetched::value(Sample::Sint(v)),
        None => Fetched::none(),
    }
}

/// The operations behind the fetch names, by index (see [`OPS`]).
const OPS: [(&str, Op); 28] = [
    ("get_gpt0", Op::Read(Data::Gpt0)),
    ("get_gpc0", Op::Read(Data::Gpc0)),
    ("get_gpc1", Op::Read(Data::Gpc1)),
    ("gpc0_rate", Op::Read(Data::Gpc0Rate)),
    ("gpc1_rate", Op::Read(Data::Gpc1Rate)),
    ("inc_gpc0", Op::IncGpc(0)),
    ("inc_gpc1", Op::IncGpc(1)),
    ("clr_gpc0", Op::ClrGpc(0)),
    ("clr_gpc1", Op::ClrGpc(1)),
    ("conn_cnt", Op::Read(Data::ConnCnt)),
    ("conn_cur", Op::Read(Data::ConnCur)),
    ("conn_rate", Op::Read(Data::ConnRate)),
    ("sess_cnt", Op::Read(Data::SessCnt)),
    ("sess_rate", Op::Read(Data::SessRate)),
    ("http_req_cnt", Op::Read(Data::HttpReqCnt)),
    ("http_req_rate", Op::Read(Data::HttpReqRate)),
    ("http_err_cnt", Op::Read(Data::HttpErrCnt)),
    ("http_err_rate", Op::Read(Data::HttpErrRate)),
    ("http_fail_cnt", Op::Read(Data::HttpFailCnt)),
    ("http_fail_rate", Op::Read(Data::HttpFailRate)),
    ("bytes_in_rate", Op::Read(Data::BytesInRate)),
    ("bytes_out_rate", Op::Read(Data::BytesOutRate)),
    ("kbytes_in", Op::Kbytes(Data::BytesInCnt)),
    ("kbytes_out", Op::Kbytes(Data::BytesOutCnt)),
    ("trackers", Op::Trackers),
    ("tracked", Op::Trackers),
    ("updt_conn_cnt", Op::UpdtConnCnt),
    ("server_id", Op::Read(Data::ServerId)),
];

/// `P`: 0..=2 `scP_*`, 3 `sc_*` (counter as first argument), 4 `src_*`;
/// `O`: the index in [`OPS`].
fn fetch_sc<'c, const P: u8, const O: usize>(
    args: &[Arg],
    ctx: &'c dyn Context,
    _: usize,
) -> Fetched<'c> {
    let Some(st) = ctx.stick() else {
        return Fetched::none();
    };
    let (target, tracked_ctr) = match P {
        0..=2 => (Target::Ctr(P as usize, table_arg(args, 0)), P as usize),
        3 => {
            let n = match args.first() {
                Some(Arg::Int(n)) => usize::try_from(*n).unwrap_or(usize::MAX),
                _ => usize::MAX,
            };
            (Target::Ctr(n, table_arg(args, 1)), n)
        }
        _ => (Target::Src(table_arg(args, 0)), usize::MAX),
    };
    if OPS[O].0 == "tracked" {
        return Fetched::value(Sample::Bool(st.tracked(tracked_ctr)));
    }
    vol(st.sc(target, OPS[O].1))
}

fn table_avl<'c>(args: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let s = ctx.stick().and_then(|s| s.table_stat(table_arg(args, 0)));
    vol(s.map(|s| s.0))
}

fn table_cnt<'c>(args: &[Arg], ctx: &'c dyn Context, _: usize) -> Fetched<'c> {
    let s = ctx.stick().and_then(|s| s.table_stat(table_arg(args, 0)));
    vol(s.map(|s| s.1))
}

const T0: &[ArgType] = &[ArgType::Str];
const T1: &[ArgType] = &[ArgType::Int, ArgType::Str];

macro_rules! sc_fetches {
    ($($o:expr => $n:expr, $n0:expr, $n1:expr, $n2:expr, $src:expr;)*) => {
        /// The `sc_*`, `sc0_*`..`sc2_*`, `src_*` fetches and `table_avl`/`table_cnt`.
        pub static FETCHES: &[FetchDef] = &[
            $(
                FetchDef { name: $n, args: T1, min_args: 1, out: SmpType::Sint, uses: Uses::NONE, fetch: fetch_sc::<3, $o>, doc: "7.3.3" },
                FetchDef { name: $n0, args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::NONE, fetch: fetch_sc::<0, $o>, doc: "7.3.3" },
                FetchDef { name: $n1, args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::NONE, fetch: fetch_sc::<1, $o>, doc: "7.3.3" },
                FetchDef { name: $n2, args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::NONE, fetch: fetch_sc::<2, $o>, doc: "7.3.3" },
                FetchDef { name: $src, args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::L4, fetch: fetch_sc::<4, $o>, doc: "7.3.3" },
            )*
            FetchDef { name: "sc_tracked", args: T1, min_args: 1, out: SmpType::Bool, uses: Uses::NONE, fetch: fetch_sc::<3, 25>, doc: "7.3.3" },
            FetchDef { name: "sc0_tracked", args: T0, min_args: 0, out: SmpType::Bool, uses: Uses::NONE, fetch: fetch_sc::<0, 25>, doc: "7.3.3" },
            FetchDef { name: "sc1_tracked", args: T0, min_args: 0, out: SmpType::Bool, uses: Uses::NONE, fetch: fetch_sc::<1, 25>, doc: "7.3.3" },
            FetchDef { name: "sc2_tracked", args: T0, min_args: 0, out: SmpType::Bool, uses: Uses::NONE, fetch: fetch_sc::<2, 25>, doc: "7.3.3" },
            FetchDef { name: "sc_trackers", args: T1, min_args: 1, out: SmpType::Sint, uses: Uses::NONE, fetch: fetch_sc::<3, 24>, doc: "7.3.3" },
            FetchDef { name: "sc0_trackers", args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::NONE, fetch: fetch_sc::<0, 24>, doc: "7.3.3" },
            FetchDef { name: "sc1_trackers", args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::NONE, fetch: fetch_sc::<1, 24>, doc: "7.3.3" },
            FetchDef { name: "sc2_trackers", args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::NONE, fetch: fetch_sc::<2, 24>, doc: "7.3.3" },
            FetchDef { name: "src_updt_conn_cnt", args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::L4, fetch: fetch_sc::<4, 26>, doc: "7.3.3" },
            FetchDef { name: "table_avl", args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::NONE, fetch: table_avl, doc: "7.3.2" },
            FetchDef { name: "table_cnt", args: T0, min_args: 0, out: SmpType::Sint, uses: Uses::NONE, fetch: table_cnt, doc: "7.3.2" },
        ];
    };
}

sc_fetches! {
    0 => "sc_get_gpt0", "sc0_get_gpt0", "sc1_get_gpt0", "sc2_get_gpt0", "src_get_gpt0";
    1 => "sc_get_gpc0", "sc0_get_gpc0", "sc1_get_gpc0", "sc2_get_gpc0", "src_get_gpc0";
    2 => "sc_get_gpc1", "sc0_get_gpc1", "sc1_get_gpc1", "sc2_get_gpc1", "src_get_gpc1";
    3 => "sc_gpc0_rate", "sc0_gpc0_rate", "sc1_gpc0_rate", "sc2_gpc0_rate", "src_gpc0_rate";
    4 => "sc_gpc1_rate", "sc0_gpc1_rate", "sc1_gpc1_rate", "sc2_gpc1_rate", "src_gpc1_rate";
    5 => "sc_inc_gpc0", "sc0_inc_gpc0", "sc1_inc_gpc0", "sc2_inc_gpc0", "src_inc_gpc0";
    6 => "sc_inc_gpc1", "sc0_inc_gpc1", "sc1_inc_gpc1", "sc2_inc_gpc1", "src_inc_gpc1";
    7 => "sc_clr_gpc0", "sc0_clr_gpc0", "sc1_clr_gpc0", "sc2_clr_gpc0", "src_clr_gpc0";
    8 => "sc_clr_gpc1", "sc0_clr_gpc1", "sc1_clr_gpc1", "sc2_clr_gpc1", "src_clr_gpc1";
    9 => "sc_conn_cnt", "sc0_conn_cnt", "sc1_conn_cnt", "sc2_conn_cnt", "src_conn_cnt";
    10 => "sc_conn_cur", "sc0_conn_cur", "sc1_conn_cur", "sc2_conn_cur", "src_conn_cur";
    11 => "sc_conn_rate", "sc0_conn_rate", "sc1_conn_rate", "sc2_conn_rate", "src_conn_rate";
    12 => "sc_sess_cnt", "sc0_sess_cnt", "sc1_sess_cnt", "sc2_sess_cnt", "src_sess_cnt";
    13 => "sc_sess_rate", "sc0_sess_rate", "sc1_sess_rate", "sc2_sess_rate", "src_sess_rate";
    14 => "sc_http_req_cnt", "sc0_http_req_cnt", "sc1_http_req_cnt", "sc2_http_req_cnt", "src_http_req_cnt";
    15 => "sc_http_req_rate", "sc0_http_req_rate", "sc1_http_req_rate", "sc2_http_req_rate", "src_http_req_rate";
    16 => "sc_http_err_cnt", "sc0_http_err_cnt", "sc1_http_err_cnt", "sc2_http_err_cnt", "src_http_err_cnt";
    17 => "sc_http_err_rate", "sc0_http_err_rate", "sc1_http_err_rate", "sc2_http_err_rate", "src_http_err_rate";
    18 => "sc_http_fail_cnt", "sc0_http_fail_cnt", "sc1_http_fail_cnt", "sc2_http_fail_cnt", "src_http_fail_cnt";
    19 => "sc_http_fail_rate", "sc0_http_fail_rate", "sc1_http_fail_rate", "sc2_http_fail_rate", "src_http_fail_rate";
    20 => "sc_bytes_in_rate", "sc0_bytes_in_rate", "sc1_bytes_in_rate", "sc2_bytes_in_rate", "src_bytes_in_rate";
    21 => "sc_bytes_out_rate", "sc0_bytes_out_rate", "sc1_bytes_out_rate", "sc2_bytes_out_rate", "src_bytes_out_rate";
    22 => "sc_kbytes_in", "sc0_kbytes_in", "sc1_kbytes_in", "sc2_kbytes_in", "src_kbytes_in";
    23 => "sc_kbytes_out", "sc0_kbytes_out", "sc1_kbytes_out", "sc2_kbytes_out", "src_kbytes_out";
}

/// `table_<op>(<table>)` converters: `O` the index in [`OPS`].
fn conv_table<'a, const O: usize>(
    args: &[Arg],
    v: Sample<'a>,
    ctx: &'a dyn Context,
) -> Option<Sample<'a>> {
    let t = table_arg(args, 0)?;
    let st = ctx.stick()?;
    st.key_op(t, &v, OPS[O].1).map(Sample::Sint)
}

fn conv_in_table<'a>(args: &[Arg], v: Sample<'a>, ctx: &'a dyn Context) -> Option<Sample<'a>> {
    let t = table_arg(args, 0)?;
    let st = ctx.stick()?;
    Some(Sample::Bool(st.has_key(t, &v)))
}

fn no_conv<'a>(_: &[Arg], _: Sample<'a>) -> Option<Sample<'a>> {
    None
}

macro_rules! table_convs {
    ($($o:expr => $n:expr;)*) => {
        /// `in_table(<table>)` and the `table_*(<table>)` converters.
        pub static CONVERTERS: &[ConvDef] = &[
            ConvDef { name: "in_table", args: T0, min_args: 1, input: SmpType::Any, out: SmpType::Bool, prepare: None, conv: no_conv, ctx_conv: Some(conv_in_table), incomplete: None },
            $(ConvDef { name: $n, args: T0, min_args: 1, input: SmpType::Any, out: SmpType::Sint, prepare: None, conv: no_conv, ctx_conv: Some(conv_table::<$o>), incomplete: None },)*
        ];
    };
}

table_convs! {
    0 => "table_gpt0";
    1 => "table_gpc0";
    2 => "table_gpc1";
    3 => "table_gpc0_rate";
    4 => "table_gpc1_rate";
    9 => "table_conn_cnt";
    10 => "table_conn_cur";
    11 => "table_conn_rate";
    12 => "table_sess_cnt";
    13 => "table_sess_rate";
    14 => "table_http_req_cnt";
    15 => "table_http_req_rate";
    16 => "table_http_err_cnt";
    17 => "table_http_err_rate";
    18 => "table_http_fail_cnt";
    19 => "table_http_fail_rate";
    20 => "table_bytes_in_rate";
    21 => "table_bytes_out_rate";
    22 => "table_kbytes_in";
    23 => "table_kbytes_out";
    24 => "table_trackers";
    27 => "table_server_id";
}
