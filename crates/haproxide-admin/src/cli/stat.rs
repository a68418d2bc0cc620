//! `show stat` (CSV), `show servers state` (format version 1), `show backend`,
//! `show info`, in HAProxy 2.6's layouts.

use super::{BackendSnapshot, FrontendSnapshot, InfoSnapshot, ProxySnapshot, ServerSnapshot};

/// `show stat` columns, in HAProxy 2.6's order (128 of them).
pub const COLUMNS: &[&str] = &[
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
    "-",
    "ssl_sess",
    "ssl_reused_sess",
    "ssl_failed_handshake",
    "h2_headers_rcvd",
    "h2_data_rcvd",
    "h2_settings_rcvd",
    "h2_rst_stream_rcvd",
    "h2_goaway_rcvd",
    "h2_detected_conn_protocol_errors",
    "h2_detected_strm_protocol_errors",
    "h2_rst_stream_resp",
    "h2_goaway_resp",
    "h2_open_connections",
    "h2_backend_open_streams",
    "h2_total_connections",
    "h2_backend_total_streams",
    "h1_open_connections",
    "h1_open_streams",
    "h1_total_connections",
    "h1_total_streams",
    "h1_bytes_in",
    "h1_bytes_out",
    "h1_spliced_bytes_in",
    "h1_spliced_bytes_out",
];

fn col(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap_or(COLUMNS.len())
}

/// A row under construction: every cell absent until set (a present cell may be
/// empty, e.g. `last_chk` after a plain L4OK: `typed` and `json` still list it).
struct Row {
    obj: char,
    iid: u32,
    sid: u32,
    cells: Vec<Option<String>>,
}

impl Row {
    fn new(obj: char, px: &ProxySnapshot, sid: u32, sv: &str) -> Row {
        let mut r = Row {
            obj,
            iid: px.iid,
            sid,
            cells: vec![None; COLUMNS.len()],
        };
        r.set("pxname", &px.name);
        r.set("svname", sv);
        r.set("pid", 1);
        r.set("-", "-");
        r
    }
    fn set(&mut self, name: &str, v: impl ToString) {
        let i = col(name);
        if let Some(c) = self.cells.get_mut(i) {
            *c = Some(v.to_string());
        }
    }
    fn zero(&mut self, names: &[&str]) {
        for n in names {
            self.set(n, 0);
        }
    }
    fn zero_range(&mut self, from: &str, to: &str) {
        for i in col(from)..=col(to).min(COLUMNS.len() - 1) {
            self.cells[i] = Some("0".into());
        }
    }
}

/// HAProxy quotes nothing in CSV; it only replaces the separators it cannot print.
fn csv_escape(s: &str) -> String {
    s.replace([',', '\n'], " ")
}

/// `show stat` filters: `<iid> <type> <sid>` and the `up` / `no-maint` flags.
#[derive(Debug, Clone, Default)]
pub struct StatFilter {
    /// Proxy uuid (None = all).
    pub iid: Option<u32>,
    /// Bitmask: 1 frontends, 2 backends, 4 servers.
    pub types: u32,
    /// Server id (None = all).
    pub sid: Option<u32>,
    pub up: bool,
    pub no_maint: bool,
    /// Print server addresses (HAProxy hides them from level user).
    pub show_addr: bool,
}

impl StatFilter {
    pub fn all() -> StatFilter {
        StatFilter {
            types: 7,
            show_addr: true,
            ..Default::default()
        }
    }
}

/// The CSV header line.
pub fn header() -> String {
    let mut out = String::from("# ");
    for c in COLUMNS {
        out.push_str(c);
        out.push(',');
    }
    out.push('\n');
    out
}

fn frontend_row(px: &ProxySnapshot, fe: &FrontendSnapshot) -> Row {
    let mut r = Row::new('F', px, 0, "FRONTEND");
    r.set("scur", fe.scur);
    r.set("smax", fe.smax);
    r.set("slim", fe.slim);
    r.set("stot", fe.stot);
    r.set("bin", fe.bin);
    r.set("bout", fe.bout);
    r.set("dreq", fe.dreq);
    r.set("dresp", fe.dresp);
    r.set("ereq", fe.ereq);
    r.set("status", &fe.status);
    r.set("iid", px.iid);
    r.set("sid", 0);
    r.set("type", 0);
    r.set("rate", fe.rate);
    r.set("rate_lim", fe.rate_lim);
    r.set("rate_max", fe.rate_max);
    r.zero(&["req_rate", "req_rate_max", "req_tot"]);
    if let Some(h) = &fe.http {
        http_counters(&mut r, h);
        r.set("req_rate", h.req_rate);
        r.set("req_rate_max", h.req_rate_max);
        r.set("intercepted", h.intercepted);
        r.zero(&["cache_lookups", "cache_hits"]);
    }
    r.zero_range("comp_in", "comp_rsp");
    r.set("mode", &px.mode);
    r.set("conn_rate", fe.conn_rate);
    r.set("conn_rate_max", fe.conn_rate_max);
    r.set("conn_tot", fe.conn_tot);
    r.set("dcon", fe.dcon);
    r.set("dses", fe.dses);
    r.set("wrew", fe.http.as_ref().map_or(0, |h| h.wrew));
    r.set("eint", fe.eint);
    r.zero_range("ssl_sess", "h1_spliced_bytes_out");
    if let Some(h) = &fe.http {
        spliced(&mut r, h);
    }
    r
}

/// `h1_spliced_bytes_in` / `_out` of an HTTP FRONTEND or BACKEND row.
fn spliced(r: &mut Row, h: &super::HttpCounters) {
    r.set("h1_spliced_bytes_in", h.spliced[0]);
    r.set("h1_spliced_bytes_out", h.spliced[1]);
}

/// `hrsp_1xx`..`hrsp_other` and `req_tot` (HTTP proxies and their servers).
fn http_counters(r: &mut Row, h: &super::HttpCounters) {
    let classes = [
        "hrsp_1xx",
        "hrsp_2xx",
        "hrsp_3xx",
        "hrsp_4xx",
        "hrsp_5xx",
        "hrsp_other",
    ];
    for (c, v) in classes.iter().zip(h.hrsp) {
        r.set(c, v);
    }
    r.set("req_tot", h.req_tot);
    r.set("wrew", h.wrew);
}

fn traffic(r: &mut Row, c: &super::TrafficCounters) {
    r.set("qcur", c.qcur);
    r.set("qmax", c.qmax);
    r.set("scur", c.scur);
    r.set("smax", c.smax);
    r.set("stot", c.stot);
    r.set("bin", c.bin);
    r.set("bout", c.bout);
    r.set("dresp", c.dresp);
    r.set("econ", c.econ);
    r.set("eresp", c.eresp);
    r.set("wretr", c.wretr);
    r.set("wredis", c.wredis);
    r.set("lbtot", c.lbtot);
    r.set("rate", c.rate);
    r.set("rate_max", c.rate_max);
    r.set("cli_abrt", c.cli_abrt);
    r.set("srv_abrt", c.srv_abrt);
    r.set("lastsess", c.lastsess);
    r.set("qtime", c.qtime);
    r.set("ctime", c.ctime);
    r.set("rtime", c.rtime);
    r.set("ttime", c.ttime);
    r.set("wrew", 0);
    r.set("connect", c.connect);
    r.set("reuse", c.reuse);
    r.set("qtime_max", c.qtime_max);
    r.set("ctime_max", c.ctime_max);
    r.set("rtime_max", c.rtime_max);
    r.set("ttime_max", c.ttime_max);
    r.set("eint", c.eint);
}

fn server_row(px: &ProxySnapshot, s: &ServerSnapshot, show_addr: bool) -> Row {
    let mut r = Row::new('S', px, s.sid, &s.name);
    traffic(&mut r, &s.counters);
    if s.maxconn > 0 {
        r.set("slim", s.maxconn);
    }
    r.set("status", &s.status);
    r.set("weight", s.weight);
    r.set("act", u8::from(!s.backup));
    r.set("bck", u8::from(s.backup));
    r.set("lastchg", s.lastchg);
    r.set("iid", px.iid);
    r.set("sid", s.sid);
    r.set("type", 2);
    if let Some(c) = &s.check {
        r.set("chkfail", c.chkfail);
        r.set("chkdown", c.chkdown);
        r.set("downtime", c.downtime);
    }
    // In maintenance the checks are paused: HAProxy keeps the counters above and
    // leaves the check outputs empty.
    if let Some(c) = s.check.as_ref().filter(|_| !s.maint) {
        r.set("check_status", &c.status);
        if let Some(code) = c.code {
            r.set("check_code", code);
        }
        if let Some(d) = c.duration_ms {
            r.set("check_duration", d);
        }
        r.set("last_chk", &c.last_chk);
        r.set("check_desc", &c.desc);
        r.set("check_rise", c.rise);
        r.set("check_fall", c.fall);
        r.set("check_health", c.health);
    }
    if let Some(a) = s.agent.as_ref().filter(|_| !s.maint) {
        r.set("last_agt", &a.last_agt);
        r.set("agent_status", &a.status);
        if let Some(code) = a.code {
            r.set("agent_code", code);
        }
        if let Some(d) = a.duration_ms {
            r.set("agent_duration", d);
        }
        r.set("agent_desc", &a.desc);
        r.set("agent_rise", a.rise);
        r.set("agent_fall", a.fall);
        r.set("agent_health", a.health);
    }
    if show_addr && s.resolution.is_none() {
        r.set("addr", format!("{}:{}", s.host, s.port));
    }
    r.set("mode", &px.mode);
    r.zero(&[
        "srv_icur",
        "idle_conn_cur",
        "safe_conn_cur",
        "used_conn_cur",
    ]);
    if let Some(h) = &s.http {
        http_counters(&mut r, h);
    }
    r.set("need_conn_est", s.need_conn_est);
    r.set("uweight", s.weight);
    r.zero(&["ssl_sess", "ssl_reused_sess", "ssl_failed_handshake"]);
    r
}

/// HAProxy's `srv_is_usable`: up (not MAINT, DRAIN, NOLB or DOWN) and a
/// weight above 0.
fn usable(s: &ServerSnapshot) -> bool {
    (s.status.starts_with("UP") || s.status == "no check") && s.weight > 0
}

fn backend_row(px: &ProxySnapshot, be: &BackendSnapshot, flags: &StatFilter) -> Row {
    let mut r = Row::new('B', px, 0, "BACKEND");
    traffic(&mut r, &be.counters);
    r.set("slim", be.slim);
    r.set("dreq", be.dreq);
    let up: Vec<&ServerSnapshot> = be.servers.iter().filter(|s| usable(s)).collect();
    let status = if flags.up || flags.no_maint {
        format!("{} ({}/{})", be.status, up.len(), be.servers.len())
    } else {
        be.status.clone()
    };
    r.set("status", status);
    let act: Vec<_> = up.iter().filter(|s| !s.backup).collect();
    let weight: u64 = if act.is_empty() {
        up.iter().map(|s| u64::from(s.weight)).sum()
    } else {
        act.iter().map(|s| u64::from(s.weight)).sum()
    };
    r.set("weight", weight);
    r.set("act", act.len());
    r.set("bck", up.len() - act.len());
    r.set("chkdown", be.chkdown);
    r.set("lastchg", be.lastchg);
    r.set("downtime", be.downtime);
    r.set("iid", px.iid);
    r.set("sid", 0);
    r.set("type", 1);
    if let Some(h) = &be.http {
        http_counters(&mut r, h);
        r.zero(&["cache_lookups", "cache_hits"]);
    }
    r.zero_range("comp_in", "comp_rsp");
    r.set("mode", &px.mode);
    r.set("algo", &be.algo);
    r.set("uweight", weight);
    r.zero(&[
        "agg_server_status",
        "agg_server_check_status",
        "agg_check_status",
    ]);
    r.zero_range("ssl_sess", "h1_spliced_bytes_out");
    if let Some(h) = &be.http {
        spliced(&mut r, h);
    }
    r
}

/// The rows `show stat` prints, after filtering.
fn rows(proxies: &[ProxySnapshot], f: &StatFilter) -> Vec<Row> {
    let mut rows = Vec::new();
    for px in proxies {
        if f.iid.is_some_and(|i| i != px.iid) {
            continue;
        }
        if let Some(fe) = &px.frontend {
            if f.types & 1 != 0 {
                rows.push(frontend_row(px, fe));
            }
        }
        if let Some(be) = &px.backend {
            if f.types & 4 != 0 {
                for s in &be.servers {
                    if f.sid.is_some_and(|id| id != s.sid)
                        || (f.up && !usable(s))
                        || (f.no_maint && s.maint)
                    {
                        continue;
                    }
                    rows.push(server_row(px, s, f.show_addr));
                }
            }
            if f.types & 2 != 0 {
                rows.push(backend_row(px, be, f));
            }
        }
    }
    rows
}

/// `show stat` in CSV, header included, final blank line not included.
pub fn show_stat(proxies: &[ProxySnapshot], f: &StatFilter) -> String {
    let mut out = header();
    for r in rows(proxies, f) {
        for c in &r.cells {
            out.push_str(&csv_escape(c.as_deref().unwrap_or("")));
            out.push(',');
        }
        out.push('\n');
    }
    out
}

/// Typed position of a CSV column: the `-` separator is not a field.
fn typed_pos(i: usize) -> usize {
    let sep = col("-");
    if i > sep {
        i - 1
    } else {
        i
    }
}

/// (tags, type) of a field, from HAProxy's own `typed` output, else from its
/// field definitions for the columns the captured configuration did not show.
fn meta(obj: char, i: usize) -> (&'static str, &'static str) {
    let pos = typed_pos(i);
    if let Some(&(_, _, t, ty)) = TYPED_META.iter().find(|m| m.0 == obj && m.1 == pos) {
        return (t, ty);
    }
    match COLUMNS.get(i).copied().unwrap_or("") {
        "slim" => ("CLP", "u32"),
        "qlimit" => ("CGS", "u32"),
        "throttle" => ("MaP", "u32"),
        "check_code" | "agent_code" => ("MOP", "u32"),
        "agent_duration" => ("MDP", "u64"),
        "agent_status" | "last_agt" | "agent_desc" => ("MOP", "str"),
        "agent_rise" | "agent_fall" | "agent_health" => ("CGS", "u32"),
        "cookie" | "tracked" => ("CGS", "str"),
        _ => TYPED_META
            .iter()
            .find(|m| m.1 == pos)
            .map_or(("MGP", "u32"), |m| (m.2, m.3)),
    }
}

/// `show stat typed`.
pub fn show_stat_typed(proxies: &[ProxySnapshot], f: &StatFilter) -> String {
    let mut out = String::new();
    for r in rows(proxies, f) {
        for (i, c) in r.cells.iter().enumerate() {
            let Some(v) = c else { continue };
            if COLUMNS[i] == "-" {
                continue;
            }
            let (tags, ty) = meta(r.obj, i);
            out.push_str(&format!(
                "{}.{}.{}.{}.{}.1:{tags}:{ty}:{v}\n",
                r.obj,
                r.iid,
                r.sid,
                typed_pos(i),
                COLUMNS[i]
            ));
        }
    }
    out
}

fn tag_name(kind: usize, c: char) -> &'static str {
    match (kind, c) {
        (0, 'M') => "Metric",
        (0, 'S') => "Status",
        (0, 'K') => "Key",
        (0, 'C') => "Config",
        (0, 'P') => "Product",
        (1, 'A') => "Age",
        (1, 'a') => "Avg",
        (1, 'C') => "Counter",
        (1, 'D') => "Duration",
        (1, 'G') => "Gauge",
        (1, 'L') => "Limit",
        (1, 'M') => "Max",
        (1, 'N') => "Name",
        (1, 'O') => "Output",
        (1, 'R') => "Rate",
        (1, 'T') => "Time",
        (2, 'P') => "Process",
        (2, 'S') => "Service",
        (2, 's') => "System",
        _ => "",
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// `show stat json` (one line, no final newline).
pub fn show_stat_json(proxies: &[ProxySnapshot], f: &StatFilter) -> String {
    let mut rows_out = Vec::new();
    for r in rows(proxies, f) {
        let obj = match r.obj {
            'F' => "Frontend",
            'B' => "Backend",
            _ => "Server",
        };
        let mut fields = Vec::new();
        for (i, c) in r.cells.iter().enumerate() {
            let Some(v) = c else { continue };
            if COLUMNS[i] == "-" {
                continue;
            }
            let (tags, ty) = meta(r.obj, i);
            let t: Vec<char> = tags.chars().collect();
            let value = if ty == "str" { json_str(v) } else { v.clone() };
            fields.push(format!(
                "{{\"objType\":\"{obj}\",\"proxyId\":{},\"id\":{},\"field\":{{\"pos\":{},\"name\":\"{}\"}},\"processNum\":1,\"tags\":{{\"origin\":\"{}\",\"nature\":\"{}\",\"scope\":\"{}\"}},\"value\":{{\"type\":\"{ty}\",\"value\":{value}}}}}",
                r.iid,
                r.sid,
                typed_pos(i),
                COLUMNS[i],
                tag_name(0, t.first().copied().unwrap_or(' ')),
                tag_name(1, t.get(1).copied().unwrap_or(' ')),
                tag_name(2, t.get(2).copied().unwrap_or(' ')),
            ));
        }
        rows_out.push(format!("[{}]", fields.join(",")));
    }
    format!("[{}]", rows_out.join(","))
}

/// The `show servers state` header (format version 1).
pub const SERVERS_STATE_HEADER: &str = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port";

/// `show servers state [backend]`: None when the backend does not exist.
pub fn servers_state(proxies: &[ProxySnapshot], only: Option<&str>) -> Option<String> {
    if let Some(name) = only {
        if !proxies
            .iter()
            .any(|p| p.name == name && p.backend.is_some())
        {
            return None;
        }
    }
    let mut out = format!("1\n{SERVERS_STATE_HEADER}\n");
    for px in proxies {
        let Some(be) = &px.backend else { continue };
        if only.is_some_and(|n| n != px.name) {
            continue;
        }
        for s in &be.servers {
            // SRV_ADMF_FMAINT (0x1), SRV_ADMF_FDRAIN (0x8), SRV_ADMF_RMAINT (0x20).
            let rmaint = s.resolution.is_some();
            // (A server in both shows RMAINT only: the snapshot has one flag.)
            let fmaint = s.maint && !rmaint;
            let admin = s.admin_flags.unwrap_or(
                u32::from(fmaint) | (u32::from(s.drain) << 3) | (u32::from(rmaint) << 5),
            );
            let status_code = s.check_status_code.unwrap_or_else(|| {
                s.check
                    .as_ref()
                    .map_or(1, |c| super::check_status_code(&c.status))
            });
            // CHK_ST_AGENT | CHK_ST_CONFIGURED | CHK_ST_ENABLED | CHK_ST_PAUSED.
            let agent_state = match (s.agent_configured, s.agent_enabled) {
                (false, _) => 0,
                (true, false) => 0x12,
                (true, true) if s.maint => 0x1e,
                (true, true) => 0x16,
            };
            // CHK_ST_CONFIGURED | CHK_ST_ENABLED | CHK_ST_PAUSED (maintenance).
            let check_state = match (s.check_configured, s.check_enabled) {
                (false, _) => 0,
                (true, false) => 2,
                (true, true) if s.maint => 14,
                (true, true) => 6,
            };
            out.push_str(&format!(
                "{} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} - 0 0 - - {}\n",
                px.iid,
                px.name,
                s.sid,
                s.name,
                if rmaint { "-" } else { s.host.as_str() },
                s.op_state as u32,
                admin,
                s.weight,
                s.iweight,
                s.lastchg,
                status_code,
                s.check_result,
                s.check_health,
                check_state,
                agent_state,
                u8::from(px.forced_id),
                u8::from(s.forced_id),
                s.resolution.as_deref().unwrap_or("-"),
                s.port,
                s.agent_port,
            ));
        }
    }
    Some(out)
}

/// `show servers conn [backend]` (management.txt): None when the backend
/// does not exist. `threads`: the per-thread columns.
pub fn servers_conn(
    proxies: &[ProxySnapshot],
    only: Option<&str>,
    threads: usize,
) -> Option<String> {
    if let Some(name) = only {
        if !proxies
            .iter()
            .any(|p| p.name == name && p.backend.is_some())
        {
            return None;
        }
    }
    let threads = threads.max(1);
    let mut out = format!(
        "# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[{threads}]\n"
    );
    for px in proxies {
        let Some(be) = &px.backend else { continue };
        if only.is_some_and(|n| n != px.name) {
            continue;
        }
        for s in &be.servers {
            let c = &s.conn;
            out.push_str(&format!(
                "{}/{} {}/{} {} {} - {} {} {} {} {} {} {} {}",
                px.name,
                s.name,
                px.iid,
                s.sid,
                if s.resolution.is_some() {
                    "-"
                } else {
                    s.host.as_str()
                },
                s.port,
                c.purge_delay,
                c.used_cur,
                c.used_max,
                c.need_est,
                c.unsafe_nb,
                c.safe_nb,
                c.idle_lim,
                c.unsafe_nb + c.safe_nb,
            ));
            // HAProxy has no per-thread counts for a server with `pool-max-conn 0`.
            let threads = if c.idle_lim == 0 { 0 } else { threads };
            for t in 0..threads {
                out.push_str(&format!(" {}", c.per_thread.get(t).copied().unwrap_or(0)));
            }
            out.push('\n');
        }
    }
    // (The blank line that ends the answer is the CLI's, as for every command.)
    Some(out)
}

/// `show backend`.
pub fn show_backend(proxies: &[ProxySnapshot]) -> String {
    let mut out = String::from("# name\n");
    for px in proxies.iter().filter(|p| p.backend.is_some()) {
        out.push_str(&px.name);
        out.push('\n');
    }
    out
}

/// `show info` (the plain `Name: value` form).
pub fn show_info(i: &InfoSnapshot) -> String {
    let mut out = String::new();
    for (k, v) in info_fields(i) {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out
}

/// `show info typed`.
pub fn show_info_typed(i: &InfoSnapshot) -> String {
    let mut out = String::new();
    for (k, v) in info_fields(i) {
        if let Some(&(_, pos, tags, ty)) = INFO_META.iter().find(|m| m.0 == k) {
            out.push_str(&format!("{pos}.{k}.1:{tags}:{ty}:{v}\n"));
        }
    }
    out
}

/// `show info json` (one line, no final newline).
pub fn show_info_json(i: &InfoSnapshot) -> String {
    let mut fields = Vec::new();
    for (k, v) in info_fields(i) {
        if let Some(&(_, pos, tags, ty)) = INFO_META.iter().find(|m| m.0 == k) {
            let t: Vec<char> = tags.chars().collect();
            let value = if ty == "str" { json_str(&v) } else { v };
            fields.push(format!(
                "{{\"field\":{{\"pos\":{pos},\"name\":\"{k}\"}},\"processNum\":1,\"tags\":{{\"origin\":\"{}\",\"nature\":\"{}\",\"scope\":\"{}\"}},\"value\":{{\"type\":\"{ty}\",\"value\":{value}}}}}",
                tag_name(0, t.first().copied().unwrap_or(' ')),
                tag_name(1, t.get(1).copied().unwrap_or(' ')),
                tag_name(2, t.get(2).copied().unwrap_or(' ')),
            ));
        }
    }
    format!("[{}]", fields.join(","))
}

fn info_fields(i: &InfoSnapshot) -> Vec<(&'static str, String)> {
    let up = i.uptime_sec;
    let uptime = format!(
        "{}d {}h{:02}m{:02}s",
        up / 86400,
        (up / 3600) % 24,
        (up / 60) % 60,
        up % 60
    );
    let fields: Vec<(&'static str, String)> = vec![
        ("Name", i.name.clone()),
        ("Version", i.version.clone()),
        ("Release_date", i.release_date.clone()),
        ("Nbthread", i.nbthread.to_string()),
        ("Nbproc", "1".into()),
        ("Process_num", "1".into()),
        ("Pid", i.pid.to_string()),
        ("Uptime", uptime),
        ("Uptime_sec", up.to_string()),
        ("Memmax_MB", "0".into()),
        ("PoolAlloc_MB", "0".into()),
        ("PoolUsed_MB", "0".into()),
        ("PoolFailed", "0".into()),
        ("Ulimit-n", i.ulimit_n.to_string()),
        ("Maxsock", i.maxsock.to_string()),
        ("Maxconn", i.maxconn.to_string()),
        ("Hard_maxconn", i.hard_maxconn.to_string()),
        ("CurrConns", i.curr_conns.to_string()),
        ("CumConns", i.cum_conns.to_string()),
        ("CumReq", i.cum_req.to_string()),
        ("MaxSslConns", "0".into()),
        ("CurrSslConns", "0".into()),
        ("CumSslConns", "0".into()),
        ("Maxpipes", i.maxpipes.to_string()),
        ("PipesUsed", i.pipes_used.to_string()),
        ("PipesFree", "0".into()),
        ("ConnRate", i.conn_rate.to_string()),
        ("ConnRateLimit", "0".into()),
        ("MaxConnRate", i.max_conn_rate.to_string()),
        ("SessRate", i.sess_rate.to_string()),
        ("SessRateLimit", "0".into()),
        ("MaxSessRate", i.max_sess_rate.to_string()),
        ("SslRate", "0".into()),
        ("SslRateLimit", "0".into()),
        ("MaxSslRate", "0".into()),
        ("SslFrontendKeyRate", "0".into()),
        ("SslFrontendMaxKeyRate", "0".into()),
        ("SslFrontendSessionReuse_pct", "0".into()),
        ("SslBackendKeyRate", "0".into()),
        ("SslBackendMaxKeyRate", "0".into()),
        ("SslCacheLookups", "0".into()),
        ("SslCacheMisses", "0".into()),
        ("CompressBpsIn", "0".into()),
        ("CompressBpsOut", "0".into()),
        ("CompressBpsRateLim", "0".into()),
        ("Tasks", i.tasks.to_string()),
        ("Run_queue", "0".into()),
        ("Idle_pct", "100".into()),
        ("node", i.node.clone()),
        ("Stopping", u8::from(i.stopping).to_string()),
        ("Jobs", i.jobs.to_string()),
        ("Unstoppable Jobs", "0".into()),
        ("Listeners", i.listeners.to_string()),
        ("ActivePeers", "0".into()),
        ("ConnectedPeers", "0".into()),
        ("DroppedLogs", "0".into()),
        ("BusyPolling", "0".into()),
        ("FailedResolutions", "0".into()),
        ("TotalBytesOut", i.total_bytes_out.to_string()),
        ("TotalSplicdedBytesOut", "0".into()),
        ("BytesOutRate", "0".into()),
        ("DebugCommandsIssued", "0".into()),
        ("CumRecvLogs", "0".into()),
        ("Build info", i.version.clone()),
        ("Memmax_bytes", "0".into()),
        ("PoolAlloc_bytes", "0".into()),
        ("PoolUsed_bytes", "0".into()),
        ("Start_time_sec", i.start_time_sec.to_string()),
        ("Tainted", "0".into()),
    ];
    fields
}

/// (object, typed position, tags, type) as HAProxy 2.6.12 prints them in
/// `show stat typed` (captured from the oracle: tests/fixtures/cli/show_stat2_typed.txt).
pub const TYPED_META: &[(char, usize, &str, &str)] = &[
    ('B', 0, "KNS", "str"),
    ('B', 1, "KNS", "str"),
    ('B', 2, "MGP", "u32"),
    ('B', 3, "MMP", "u32"),
    ('B', 4, "MGP", "u32"),
    ('B', 5, "MMP", "u32"),
    ('B', 6, "CLP", "u32"),
    ('B', 7, "MCP", "u64"),
    ('B', 8, "MCP", "u64"),
    ('B', 9, "MCP", "u64"),
    ('B', 10, "MCP", "u64"),
    ('B', 11, "MCP", "u64"),
    ('B', 13, "MCP", "u64"),
    ('B', 14, "MCP", "u64"),
    ('B', 15, "MCP", "u64"),
    ('B', 16, "MCP", "u64"),
    ('B', 17, "SGP", "str"),
    ('B', 18, "MaP", "u32"),
    ('B', 19, "MGP", "u32"),
    ('B', 20, "MGP", "u32"),
    ('B', 22, "MCP", "u64"),
    ('B', 23, "MAP", "u32"),
    ('B', 24, "MCP", "u32"),
    ('B', 26, "KGP", "u32"),
    ('B', 27, "KGS", "u32"),
    ('B', 28, "KGS", "u32"),
    ('B', 30, "MCP", "u64"),
    ('B', 32, "CGS", "u32"),
    ('B', 33, "MGP", "u32"),
    ('B', 35, "MGP", "u32"),
    ('B', 49, "MCP", "u64"),
    ('B', 50, "MCP", "u64"),
    ('B', 51, "MCP", "u64"),
    ('B', 52, "MCP", "u64"),
    ('B', 53, "MCP", "u64"),
    ('B', 54, "MCP", "u64"),
    ('B', 55, "MAP", "s32"),
    ('B', 58, "MaP", "u32"),
    ('B', 59, "MaP", "u32"),
    ('B', 60, "MaP", "u32"),
    ('B', 61, "MaP", "u32"),
    ('B', 75, "CGS", "str"),
    ('B', 76, "CGS", "str"),
    ('B', 83, "MCP", "u64"),
    ('B', 84, "MCP", "u64"),
    ('B', 85, "MCP", "u64"),
    ('B', 90, "MMP", "u32"),
    ('B', 91, "MMP", "u32"),
    ('B', 92, "MMP", "u32"),
    ('B', 93, "MMP", "u32"),
    ('B', 94, "MCP", "u64"),
    ('B', 99, "MaP", "u32"),
    ('B', 100, "MGP", "u32"),
    ('B', 101, "MGP", "u32"),
    ('B', 102, "MGP", "u32"),
    ('B', 103, "MCP", "u64"),
    ('B', 104, "MCP", "u64"),
    ('B', 105, "MCP", "u64"),
    ('B', 106, "MCP", "u64"),
    ('B', 107, "MCP", "u64"),
    ('B', 108, "MCP", "u64"),
    ('B', 109, "MCP", "u64"),
    ('B', 110, "MCP", "u64"),
    ('B', 111, "MCP", "u64"),
    ('B', 112, "MCP", "u64"),
    ('B', 113, "MCP", "u64"),
    ('B', 114, "MCP", "u64"),
    ('B', 115, "MGP", "u64"),
    ('B', 116, "MGP", "u64"),
    ('B', 117, "MCP", "u64"),
    ('B', 118, "MCP", "u64"),
    ('B', 119, "MGP", "u64"),
    ('B', 120, "MGP", "u64"),
    ('B', 121, "MCP", "u64"),
    ('B', 122, "MCP", "u64"),
    ('B', 123, "MCP", "u64"),
    ('B', 124, "MCP", "u64"),
    ('B', 125, "MCP", "u64"),
    ('B', 126, "MCP", "u64"),
    ('F', 0, "KNS", "str"),
    ('F', 1, "KNS", "str"),
    ('F', 4, "MGP", "u32"),
    ('F', 5, "MMP", "u32"),
    ('F', 6, "CLP", "u32"),
    ('F', 7, "MCP", "u64"),
    ('F', 8, "MCP", "u64"),
    ('F', 9, "MCP", "u64"),
    ('F', 10, "MCP", "u64"),
    ('F', 11, "MCP", "u64"),
    ('F', 12, "MCP", "u64"),
    ('F', 17, "SGP", "str"),
    ('F', 26, "KGP", "u32"),
    ('F', 27, "KGS", "u32"),
    ('F', 28, "KGS", "u32"),
    ('F', 32, "CGS", "u32"),
    ('F', 33, "MRP", "u32"),
    ('F', 34, "CLP", "u32"),
    ('F', 35, "MMP", "u32"),
    ('F', 46, "MRP", "u32"),
    ('F', 47, "MMP", "u32"),
    ('F', 48, "MCP", "u64"),
    ('F', 51, "MCP", "u64"),
    ('F', 52, "MCP", "u64"),
    ('F', 53, "MCP", "u64"),
    ('F', 54, "MCP", "u64"),
    ('F', 75, "CGS", "str"),
    ('F', 77, "MRP", "u32"),
    ('F', 78, "MMP", "u32"),
    ('F', 79, "MCP", "u64"),
    ('F', 81, "MCP", "u64"),
    ('F', 82, "MCP", "u64"),
    ('F', 83, "MCP", "u64"),
    ('F', 94, "MCP", "u64"),
    ('F', 103, "MCP", "u64"),
    ('F', 104, "MCP", "u64"),
    ('F', 105, "MCP", "u64"),
    ('F', 106, "MCP", "u64"),
    ('F', 107, "MCP", "u64"),
    ('F', 108, "MCP", "u64"),
    ('F', 109, "MCP", "u64"),
    ('F', 110, "MCP", "u64"),
    ('F', 111, "MCP", "u64"),
    ('F', 112, "MCP", "u64"),
    ('F', 113, "MCP", "u64"),
    ('F', 114, "MCP", "u64"),
    ('F', 115, "MGP", "u64"),
    ('F', 116, "MGP", "u64"),
    ('F', 117, "MCP", "u64"),
    ('F', 118, "MCP", "u64"),
    ('F', 119, "MGP", "u64"),
    ('F', 120, "MGP", "u64"),
    ('F', 121, "MCP", "u64"),
    ('F', 122, "MCP", "u64"),
    ('F', 123, "MCP", "u64"),
    ('F', 124, "MCP", "u64"),
    ('F', 125, "MCP", "u64"),
    ('F', 126, "MCP", "u64"),
    ('S', 0, "KNS", "str"),
    ('S', 1, "KNS", "str"),
    ('S', 2, "MGP", "u32"),
    ('S', 3, "MMP", "u32"),
    ('S', 4, "MGP", "u32"),
    ('S', 5, "MMP", "u32"),
    ('S', 7, "MCP", "u64"),
    ('S', 8, "MCP", "u64"),
    ('S', 9, "MCP", "u64"),
    ('S', 11, "MCP", "u64"),
    ('S', 13, "MCP", "u64"),
    ('S', 14, "MCP", "u64"),
    ('S', 15, "MCP", "u64"),
    ('S', 16, "MCP", "u64"),
    ('S', 17, "SGP", "str"),
    ('S', 18, "MaP", "u32"),
    ('S', 19, "SGP", "u32"),
    ('S', 20, "SGP", "u32"),
    ('S', 21, "MCP", "u64"),
    ('S', 22, "MCP", "u64"),
    ('S', 23, "MAP", "u32"),
    ('S', 24, "MCP", "u32"),
    ('S', 26, "KGP", "u32"),
    ('S', 27, "KGS", "u32"),
    ('S', 28, "KGS", "u32"),
    ('S', 30, "MCP", "u64"),
    ('S', 32, "CGS", "u32"),
    ('S', 33, "MRP", "u32"),
    ('S', 35, "MMP", "u32"),
    ('S', 36, "MOP", "str"),
    ('S', 38, "MDP", "u64"),
    ('S', 49, "MCP", "u64"),
    ('S', 50, "MCP", "u64"),
    ('S', 55, "MAP", "s32"),
    ('S', 56, "MOP", "str"),
    ('S', 58, "MaP", "u32"),
    ('S', 59, "MaP", "u32"),
    ('S', 60, "MaP", "u32"),
    ('S', 61, "MaP", "u32"),
    ('S', 65, "MOP", "str"),
    ('S', 67, "CGS", "u32"),
    ('S', 68, "CGS", "u32"),
    ('S', 69, "CGS", "u32"),
    ('S', 73, "CGS", "str"),
    ('S', 75, "CGS", "str"),
    ('S', 83, "MCP", "u64"),
    ('S', 84, "MCP", "u64"),
    ('S', 85, "MCP", "u64"),
    ('S', 88, "MGP", "u32"),
    ('S', 90, "MMP", "u32"),
    ('S', 91, "MMP", "u32"),
    ('S', 92, "MMP", "u32"),
    ('S', 93, "MMP", "u32"),
    ('S', 94, "MCP", "u64"),
    ('S', 95, "MGP", "u32"),
    ('S', 96, "MGP", "u32"),
    ('S', 97, "MGP", "u32"),
    ('S', 98, "MGP", "u32"),
    ('S', 99, "MaP", "u32"),
    ('S', 103, "MCP", "u64"),
    ('S', 104, "MCP", "u64"),
    ('S', 105, "MCP", "u64"),
];

/// `show info typed` positions, tags and types as HAProxy 2.6.12 prints them
/// (tests/fixtures/cli/show_info_typed.txt).
pub const INFO_META: &[(&str, usize, &str, &str)] = &[
    ("Name", 0, "POS", "str"),
    ("Version", 1, "POS", "str"),
    ("Release_date", 2, "POS", "str"),
    ("Nbthread", 3, "CGS", "u32"),
    ("Nbproc", 4, "CGS", "u32"),
    ("Process_num", 5, "KGP", "u32"),
    ("Pid", 6, "SGP", "u32"),
    ("Uptime", 7, "MDP", "str"),
    ("Uptime_sec", 8, "MDP", "u32"),
    ("Memmax_MB", 9, "CLP", "u32"),
    ("PoolAlloc_MB", 10, "MGP", "u32"),
    ("PoolUsed_MB", 11, "MGP", "u32"),
    ("PoolFailed", 12, "MCP", "u32"),
    ("Ulimit-n", 13, "CLP", "u32"),
    ("Maxsock", 14, "CLP", "u32"),
    ("Maxconn", 15, "CLP", "u32"),
    ("Hard_maxconn", 16, "CLP", "u32"),
    ("CurrConns", 17, "MGP", "u32"),
    ("CumConns", 18, "MCP", "u32"),
    ("CumReq", 19, "MCP", "u32"),
    ("MaxSslConns", 20, "MMP", "u32"),
    ("CurrSslConns", 21, "MGP", "u32"),
    ("CumSslConns", 22, "MCP", "u32"),
    ("Maxpipes", 23, "CLP", "u32"),
    ("PipesUsed", 24, "MGP", "u32"),
    ("PipesFree", 25, "MGP", "u32"),
    ("ConnRate", 26, "MRP", "u32"),
    ("ConnRateLimit", 27, "CLP", "u32"),
    ("MaxConnRate", 28, "MMP", "u32"),
    ("SessRate", 29, "MRP", "u32"),
    ("SessRateLimit", 30, "CLP", "u32"),
    ("MaxSessRate", 31, "MRP", "u32"),
    ("SslRate", 32, "MRP", "u32"),
    ("SslRateLimit", 33, "CLP", "u32"),
    ("MaxSslRate", 34, "MMP", "u32"),
    ("SslFrontendKeyRate", 35, "MGP", "u32"),
    ("SslFrontendMaxKeyRate", 36, "MMP", "u32"),
    ("SslFrontendSessionReuse_pct", 37, "MGP", "u32"),
    ("SslBackendKeyRate", 38, "MRP", "u32"),
    ("SslBackendMaxKeyRate", 39, "MMP", "u32"),
    ("SslCacheLookups", 40, "MCP", "u32"),
    ("SslCacheMisses", 41, "MCP", "u32"),
    ("CompressBpsIn", 42, "MRP", "u32"),
    ("CompressBpsOut", 43, "MRP", "u32"),
    ("CompressBpsRateLim", 44, "CLP", "u32"),
    ("Tasks", 47, "MGP", "u32"),
    ("Run_queue", 48, "MGP", "u32"),
    ("Idle_pct", 49, "MaP", "u32"),
    ("node", 50, "COS", "str"),
    ("Stopping", 52, "MGP", "u32"),
    ("Jobs", 53, "MGP", "u32"),
    ("Unstoppable Jobs", 54, "MGP", "u32"),
    ("Listeners", 55, "MGP", "u32"),
    ("ActivePeers", 56, "MGP", "u32"),
    ("ConnectedPeers", 57, "MGP", "u32"),
    ("DroppedLogs", 58, "MGP", "u32"),
    ("BusyPolling", 59, "MGP", "u32"),
    ("FailedResolutions", 60, "MGP", "u32"),
    ("TotalBytesOut", 61, "MGP", "u64"),
    ("TotalSplicdedBytesOut", 62, "MGP", "u64"),
    ("BytesOutRate", 63, "MRP", "u64"),
    ("DebugCommandsIssued", 64, "MGP", "u32"),
    ("CumRecvLogs", 65, "MCP", "u32"),
    ("Build info", 66, "POS", "str"),
    ("Memmax_bytes", 67, "CLP", "u32"),
    ("PoolAlloc_bytes", 68, "MGP", "u64"),
    ("PoolUsed_bytes", 69, "MGP", "u64"),
    ("Start_time_sec", 70, "MDP", "u32"),
    ("Tainted", 71, "SGP", "str"),
];
