//! The stats page in HTML, laid out as HAProxy 2.6's (src/stats.c): the general
//! process block with the colour legend and display options, then per proxy a
//! title table and a table of FRONTEND / server / BACKEND rows with HAProxy's
//! columns (Queue, Session rate, Sessions, Bytes, Denied, Errors, Warnings,
//! Server), row classes (`active_up`, `backup_down`, `maintain`...) and colours,
//! tooltips with `stats show-legends`, and the admin form (`stats admin`).
//! Compare with tests/fixtures/stats/page-2.6.12.html (HAProxy 2.6.12's page for
//! tests/fixtures/stats/oracle.cfg).

use std::fmt::Write as _;

use super::{PageOpts, StatsSpec};
use crate::cli::{BackendSnapshot, FrontendSnapshot, InfoSnapshot, ProxySnapshot, ServerSnapshot};

/// What one page shows.
pub struct Page<'a> {
    pub spec: &'a StatsSpec,
    pub info: &'a InfoSnapshot,
    /// The proxies in scope, in configuration order.
    pub proxies: &'a [ProxySnapshot],
    pub opts: &'a PageOpts,
    /// The client may use the admin form.
    pub admin: bool,
}

/// HTML text escaping.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// HAProxy's `human_time`: the two largest units ("7s", "5m6s", "3h4m", "1d2h").
pub fn human_time(t: u64) -> String {
    let (d, h, m, s) = (t / 86400, (t / 3600) % 24, (t / 60) % 60, t % 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// The row class of a server (its colour).
pub fn server_class(s: &ServerSnapshot) -> String {
    if s.maint || s.status.starts_with("MAINT") {
        return "maintain".into();
    }
    let side = if s.backup { "backup" } else { "active" };
    let st = s.status.as_str();
    let state = if s.drain || st.starts_with("DRAIN") {
        "draining"
    } else if st == "no check" {
        "no_check"
    } else if st.starts_with("NOLB") {
        "nolb"
    } else if st.starts_with("UP ") {
        "going_down"
    } else if st.starts_with("UP") {
        "up"
    } else if st.starts_with("DOWN ") {
        "going_up"
    } else {
        "down"
    };
    format!("{side}_{state}")
}

const STYLE: &str = r#"body { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: black; background: white;}
th,td { font-size: 10px;}
h1 { font-size: x-large; margin-bottom: 0.5em;}
h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0; margin-top: 0em; margin-bottom: 0em;}
h3 { font-family: helvetica, arial; font-size: 16px; font-weight: bold; color: #b00040; background: #e8e8d0; margin-top: 0em; margin-bottom: 0em;}
li { margin-top: 0.25em; margin-right: 2em;}
.hr {margin-top: 0.25em; border-color: black; border-bottom-style: solid;}
.titre {background: #20D0D0; color: #000000; font-weight: bold; text-align: center;}
.total {background: #20D0D0; color: #ffff80;}
.frontend {background: #e8e8d0;}
.socket {background: #d0d0d0;}
.backend {background: #e8e8d0;}
.active_down {background: #ff9090;}
.active_going_up {background: #ffd020;}
.active_going_down {background: #ffffa0;}
.active_up {background: #c0ffc0;}
.active_nolb {background: #20a0ff;}
.active_draining {background: #20a0FF;}
.active_no_check {background: #e0e0e0;}
.backup_down {background: #ff9090;}
.backup_going_up {background: #ff80ff;}
.backup_going_down {background: #c060ff;}
.backup_up {background: #b0d0ff;}
.backup_nolb {background: #90b0e0;}
.backup_draining {background: #cc9900;}
.backup_no_check {background: #e0e0e0;}
.maintain {background: #c07820;}
.rls {letter-spacing: 0.2em; margin-right: 1px;}
a.px:link, a.px:visited {color: #ffff40; text-decoration: none;}
a.px:hover {color: #ffffff; text-decoration: none;}
a.lfsb:link, a.lfsb:visited {color: #000000; text-decoration: none;}
a.lfsb:hover {color: #505050; text-decoration: none;}
table.tbl { border-collapse: collapse; border-style: none;}
table.tbl td { text-align: right; border-width: 1px; border-style: solid; padding: 2px 3px; border-color: gray; white-space: nowrap;}
table.tbl td.ac { text-align: center;}
table.tbl th { border-width: 1px; border-style: solid; border-color: gray;}
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap;}
table.tbl th.empty { border-style: none; empty-cells: hide; background: white;}
table.tbl th.desc { background: white; border-style: solid solid none solid; text-align: left; padding: 2px 3px;}
table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: black;}
table.lgd td { border-width: 1px; border-style: solid; border-color: gray; padding: 2px;}
table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap;}
table.det { border-collapse: collapse; border-style: none;}
table.det th { text-align: left; border-width: 0px; padding: 0px 1px 0px 0px; font-style: normal; font-size: 11px; font-weight: bold; font-family: sans-serif;}
table.det td { text-align: right; border-width: 0px; padding: 0px 0px 0px 4px; white-space: nowrap; font-style: normal; font-size: 11px; font-weight: normal;}
u {text-decoration: none; border-bottom: 1px dotted black;}
div.tips {display: block; visibility: hidden; z-index: 2147483647; position: absolute; padding: 2px 4px 3px; background: #f0f060; color: #000000; border: 1px solid #7040c0; white-space: nowrap; font-style: normal; font-size: 11px; font-weight: normal; border-radius: 3px; box-shadow: gray 2px 2px 3px;}
u:hover div.tips {visibility: visible;}
"#;

/// A cell with an optional tooltip (shown with `stats show-legends`).
fn tip(legends: bool, value: &str, tip: &str) -> String {
    if legends && !tip.is_empty() {
        format!("<u>{value}<div class=tips>{tip}</div></u>")
    } else {
        value.to_string()
    }
}

/// Large numbers with HAProxy's digit grouping (`<span class="rls">9</span>984`).
fn num(v: u64) -> String {
    let s = v.to_string();
    if s.len() <= 3 {
        return s;
    }
    let mut out = String::new();
    let head = s.len() % 3;
    let mut i = 0;
    if head > 0 {
        let _ = write!(out, "<span class=\"rls\">{}</span>", &s[..head]);
        i = head;
    }
    while i < s.len() {
        if i + 3 < s.len() {
            let _ = write!(out, "<span class=\"rls\">{}</span>", &s[i..i + 3]);
        } else {
            out.push_str(&s[i..]);
        }
        i += 3;
    }
    out
}

fn lim(v: u64) -> String {
    if v == 0 {
        "-".into()
    } else {
        num(v)
    }
}

fn td(out: &mut String, v: &str) {
    let _ = write!(out, "<td>{v}</td>");
}

fn td_ac(out: &mut String, v: &str) {
    let _ = write!(out, "<td class=ac>{v}</td>");
}

fn general(out: &mut String, p: &Page<'_>) {
    let i = p.info;
    let up = i.uptime_sec;
    let node = match &p.spec.show_node {
        Some(n) if !n.is_empty() => format!(" on {}", escape(n)),
        Some(_) => format!(" on {}", escape(&i.node)),
        None => String::new(),
    };
    let desc = match &p.spec.show_desc {
        Some(d) if !d.is_empty() => format!(": {}", escape(d)),
        Some(_) => format!(": {}", escape(&p.spec.description)),
        None => String::new(),
    };
    let version = match (p.spec.hide_version, i.release_date.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!(" version {}", escape(&i.version)),
        (false, false) => format!(
            " version {}, released {}",
            escape(&i.version),
            escape(&i.release_date)
        ),
    };
    let _ = write!(
        out,
        "<body><h1><a href=\"http://www.haproxy.org/\" style=\"text-decoration: none;\">{name}{version}</a></h1>\n\
<h2>Statistics Report for pid {pid}{node}{desc}</h2>\n\
<hr width=\"100%\" class=\"hr\">\n\
<h3>&gt; General process information</h3>\n\
<table border=0><tr><td align=\"left\" nowrap width=\"1%\">\n\
<p><b>pid = </b> {pid} (process #1, nbproc = 1, nbthread = {nbthread})<br>\n\
<b>uptime = </b> {d}d {h}h{m:02}m{s:02}s<br>\n\
<b>system limits:</b> memmax = unlimited; ulimit-n = {ulimit}<br>\n\
<b>maxsock = </b> {maxsock}; <b>maxconn = </b> {maxconn}; <b>maxpipes = </b> 0<br>\n\
current conns = {cur}; current pipes = 0/0; conn rate = {conn_rate}/sec; bit rate = 0.000 kbps<br>\n\
Running tasks: 0/{tasks}; idle = 100 %<br>\n\
</td><td align=\"center\" nowrap>\n",
        name = escape(&i.name),
        pid = i.pid,
        nbthread = i.nbthread,
        conn_rate = i.conn_rate,
        d = up / 86400,
        h = (up % 86400) / 3600,
        m = (up % 3600) / 60,
        s = up % 60,
        ulimit = i.ulimit_n,
        maxsock = i.maxsock,
        maxconn = i.maxconn,
        cur = i.curr_conns,
        tasks = i.tasks,
    );
    out.push_str(
        "<table class=\"lgd\"><tr>\n\
<td class=\"active_up\">&nbsp;</td><td class=\"noborder\">active UP </td><td class=\"backup_up\">&nbsp;</td><td class=\"noborder\">backup UP </td></tr><tr>\n\
<td class=\"active_going_down\"></td><td class=\"noborder\">active UP, going down </td><td class=\"backup_going_down\"></td><td class=\"noborder\">backup UP, going down </td></tr><tr>\n\
<td class=\"active_going_up\"></td><td class=\"noborder\">active DOWN, going up </td><td class=\"backup_going_up\"></td><td class=\"noborder\">backup DOWN, going up </td></tr><tr>\n\
<td class=\"active_down\"></td><td class=\"noborder\">active or backup DOWN &nbsp;</td><td class=\"active_no_check\"></td><td class=\"noborder\">not checked </td></tr><tr>\n\
<td class=\"maintain\"></td><td class=\"noborder\" colspan=\"3\">active or backup DOWN for maintenance (MAINT) &nbsp;</td></tr><tr>\n\
<td class=\"active_draining\"></td><td class=\"noborder\" colspan=\"3\">active or backup SOFT STOPPED for maintenance &nbsp;</td></tr></table>\n\
Note: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</td>",
    );
    // Display options: links keep the other options.
    let base = escape(&p.spec.uri);
    let o = p.opts;
    let scope_q = o
        .scope
        .as_ref()
        .map(|s| format!("?scope={}", escape(s)))
        .unwrap_or_default();
    let up = if o.up { ";up" } else { "" };
    let nr = if o.norefresh { ";norefresh" } else { "" };
    let _ = writeln!(
        out,
        "<td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>Display option:</b><ul style=\"margin-top: 0.25em;\">\
<li><form method=\"GET\">Scope : <input value=\"{scope}\" name=\"scope\" size=\"8\" maxlength=\"20\" tabindex=\"1\"/></form>",
        scope = escape(o.scope.as_deref().unwrap_or("")),
    );
    if o.up {
        let _ = writeln!(
            out,
            "<li><a href=\"{base}{nr}{scope_q}\">Show all servers</a><br>"
        );
    } else {
        let _ = writeln!(
            out,
            "<li><a href=\"{base};up{nr}{scope_q}\">Hide 'DOWN' servers</a><br>"
        );
    }
    if p.spec.refresh.is_some() {
        if o.norefresh {
            let _ = writeln!(
                out,
                "<li><a href=\"{base}{up}{scope_q}\">Enable refresh</a><br>"
            );
        } else {
            let _ = writeln!(
                out,
                "<li><a href=\"{base}{up};norefresh{scope_q}\">Disable refresh</a><br>"
            );
        }
    }
    let _ = writeln!(
        out,
        "<li><a href=\"{base}{up}{nr}{scope_q}\">Refresh now</a><br>"
    );
    let _ = writeln!(
        out,
        "<li><a href=\"{base};csv;norefresh{scope_q}\">CSV export</a><br>"
    );
    let _ = writeln!(
        out,
        "<li><a href=\"{base};json;norefresh{scope_q}\">JSON export</a><br>"
    );
    out.push_str(
        "</ul></td><td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>External resources:</b><ul style=\"margin-top: 0.25em;\">\n\
<li><a href=\"http://www.haproxy.org/\">Primary site</a><br>\n\
<li><a href=\"http://www.haproxy.org/#docs\">Online manual</a><br>\n\
</ul></td></tr></table>\n",
    );
    if let Some(st) = &o.st {
        let back = format!("{base}{up}{nr}{scope_q}");
        let (class, text) = match st.as_str() {
            "DONE" => ("active_up", "Action processed successfully."),
            "NONE" => ("active_going_down", "Nothing has changed."),
            "PART" => (
                "active_going_down",
                "Action partially processed.<br>Some server names are probably unknown or ambiguous (duplicated names in the backend).",
            ),
            "ERRP" => (
                "active_down",
                "Action not processed because of invalid parameters.<ul><li>The action is maybe unknown.</li><li>The backend name is probably unknown or ambiguous (duplicated names).</li><li>Some server names are probably unknown or ambiguous (duplicated names in the backend).</li></ul>",
            ),
            "DENY" => ("active_down", "<b>Action denied.</b>"),
            _ => ("active_down", "Unexpected result."),
        };
        let _ = writeln!(
            out,
            "<p><div class={class}><a class=lfsb href=\"{back}\" title=\"Remove this message\">[X]</a> {text}</div>"
        );
    }
}

fn titles(out: &mut String, px: &ProxySnapshot, form: bool) {
    let check = if form {
        let n = escape(&px.name);
        format!(
            "<th rowspan=2 width=1><input type=\"checkbox\" onclick=\"for(c in document.getElementsByClassName('{n}-checkbox')) document.getElementsByClassName('{n}-checkbox').item(c).checked = this.checked\"></th>"
        )
    } else {
        "<th rowspan=2></th>".into()
    };
    let _ = write!(
        out,
        "<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\">{check}<th rowspan=2></th>\
<th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th>\
<th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n\
<tr class=\"titre\"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th>\
<th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th>\
<th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th>\
<th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>\n</tr>\n"
    );
}

fn frontend_row(out: &mut String, px: &ProxySnapshot, f: &FrontendSnapshot, legends: bool) {
    let n = escape(&px.name);
    let _ = write!(
        out,
        "<tr class=\"frontend\"><td></td><td class=ac><a name=\"{n}/Frontend\"></a><a class=lfsb href=\"#{n}/Frontend\">Frontend</a></td><td colspan=3></td>"
    );
    td(
        out,
        &tip(
            legends,
            &f.rate.to_string(),
            &format!("Current connection rate: {}/s", f.conn_rate),
        ),
    );
    td(
        out,
        &tip(
            legends,
            &f.rate_max.to_string(),
            &format!("Max connection rate: {}/s", f.conn_rate_max),
        ),
    );
    td(out, &lim(f.rate_lim));
    td(out, &f.scur.to_string());
    td(out, &f.smax.to_string());
    td(out, &lim(f.slim));
    td(
        out,
        &tip(
            legends,
            &f.stot.to_string(),
            &format!("Cum. connections: {}", f.conn_tot),
        ),
    );
    out.push_str("<td></td><td></td>");
    td(out, &num(f.bin));
    td(out, &num(f.bout));
    td(out, &f.dreq.to_string());
    td(out, &f.dresp.to_string());
    td(out, &f.ereq.to_string());
    out.push_str("<td></td><td></td><td></td><td></td>");
    td_ac(out, &escape(&f.status));
    out.push_str("<td class=ac colspan=8></td></tr>\n");
}

/// The Queue … Warnings cells of a server or BACKEND row.
fn traffic_cells(
    out: &mut String,
    c: &crate::cli::TrafficCounters,
    qlimit: &str,
    slim: &str,
    dreq: &str,
    legends: bool,
) {
    for v in [c.qcur.to_string(), c.qmax.to_string(), qlimit.to_string()] {
        td(out, &v);
    }
    for v in [c.rate.to_string(), c.rate_max.to_string(), String::new()] {
        td(out, &v);
    }
    for v in [c.scur.to_string(), c.smax.to_string(), slim.to_string()] {
        td(out, &v);
    }
    td(out, &c.stot.to_string());
    td(out, &c.lbtot.to_string());
    td(
        out,
        &u64::try_from(c.lastsess).map_or("?".into(), human_time),
    );
    td(out, &num(c.bin));
    td(out, &num(c.bout));
    td(out, dreq);
    td(out, &c.dresp.to_string());
    td(out, "");
    td(out, &c.econ.to_string());
    let resets = format!(
        "Connection resets during transfers: {} client, {} server",
        c.cli_abrt, c.srv_abrt
    );
    td(out, &tip(legends, &c.eresp.to_string(), &resets));
    td(out, &c.wretr.to_string());
    td(out, &c.wredis.to_string());
}

fn server_row(out: &mut String, px: &ProxySnapshot, s: &ServerSnapshot, legends: bool, form: bool) {
    let n = escape(&px.name);
    let sn = escape(&s.name);
    let c = &s.counters;
    let _ = write!(out, "<tr class=\"{}\">", server_class(s));
    if form {
        let _ = write!(
            out,
            "<td><input class='{n}-checkbox' type=\"checkbox\" name=\"s\" value=\"{sn}\"></td>"
        );
    } else {
        out.push_str("<td></td>");
    }
    let family = if s.host.contains(':') { "IPv6" } else { "IPv4" };
    let name = tip(
        legends,
        &format!("<a class=lfsb href=\"#{n}/{sn}\">{sn}</a>"),
        &format!("{family}: {}:{}, id: {}", escape(&s.host), s.port, s.sid),
    );
    let _ = write!(out, "<td class=ac><a name=\"{n}/{sn}\"></a>{name}</td>");
    traffic_cells(out, c, "-", &lim(s.maxconn), "", legends);
    // Status and last check.
    if s.status == "no check" && !s.maint {
        td_ac(out, "<i>no check</i>");
        td(out, "");
    } else {
        td_ac(
            out,
            &format!("{} {}", human_time(s.lastchg), escape(&s.status)),
        );
        match s.check.as_ref().filter(|_| !s.maint) {
            Some(ck) => {
                let code = ck.code.map(|c| format!("/{c}")).unwrap_or_default();
                let dur = ck
                    .duration_ms
                    .map(|d| format!(" in {d}ms"))
                    .unwrap_or_default();
                let detail = if ck.last_chk.is_empty() {
                    escape(&ck.desc)
                } else {
                    format!("{}: {}", escape(&ck.desc), escape(&ck.last_chk))
                };
                td_ac(
                    out,
                    &tip(
                        legends,
                        &format!(" {}{code}{dur}", escape(&ck.status)),
                        &detail,
                    ),
                );
            }
            None => td(out, ""),
        }
    }
    td_ac(out, &format!("{}/{}", s.weight, s.iweight));
    td_ac(out, if s.backup { "-" } else { "Y" });
    td_ac(out, if s.backup { "Y" } else { "-" });
    match &s.check {
        Some(ck) => {
            td(
                out,
                &tip(legends, &ck.chkfail.to_string(), "Failed Health Checks"),
            );
            td(out, &ck.chkdown.to_string());
            td(out, &human_time(ck.downtime));
        }
        None => out.push_str("<td colspan=3></td>"),
    }
    td_ac(out, "-");
    out.push_str("</tr>\n");
}

fn backend_row(out: &mut String, px: &ProxySnapshot, b: &BackendSnapshot, legends: bool) {
    let n = escape(&px.name);
    let c = &b.counters;
    let name = tip(
        legends,
        &format!("<a name=\"{n}/Backend\"></a><a class=lfsb href=\"#{n}/Backend\">Backend</a>"),
        &format!("balancing: {}", escape(&b.algo)),
    );
    let _ = write!(
        out,
        "<tr class=\"backend\"><td></td><td class=ac>{name}</td>"
    );
    traffic_cells(out, c, "", &num(b.slim), &b.dreq.to_string(), legends);
    let status = if b.status.starts_with("UP") {
        escape(&b.status)
    } else {
        format!("<font color=\"red\"><b>{}</b></font>", escape(&b.status))
    };
    td_ac(out, &format!("{} {status}", human_time(b.lastchg)));
    td_ac(out, "&nbsp;");
    let usable = |s: &&ServerSnapshot| super::prom::server_state(s) == "UP";
    let act: Vec<&ServerSnapshot> = b
        .servers
        .iter()
        .filter(|s| !s.backup)
        .filter(usable)
        .collect();
    let bck: Vec<&ServerSnapshot> = b
        .servers
        .iter()
        .filter(|s| s.backup)
        .filter(usable)
        .collect();
    let weight: u64 = if act.is_empty() { &bck } else { &act }
        .iter()
        .map(|s| u64::from(s.weight))
        .sum();
    // HAProxy prints the usable weight and its user-set equivalent (`weight`
    // and `uweight` of `show stat`), equal here.
    td_ac(out, &format!("{weight}/{weight}"));
    td_ac(out, &act.len().to_string());
    td_ac(out, &bck.len().to_string());
    td_ac(out, "&nbsp;");
    td(out, &b.chkdown.to_string());
    td(out, &human_time(b.downtime));
    out.push_str("<td></td></tr>");
}

const ACTIONS: &[(&str, &str)] = &[
    ("", ""),
    ("ready", "Set state to READY"),
    ("drain", "Set state to DRAIN"),
    ("maint", "Set state to MAINT"),
    ("dhlth", "Health: disable checks"),
    ("ehlth", "Health: enable checks"),
    ("hrunn", "Health: force UP"),
    ("hnolb", "Health: force NOLB"),
    ("hdown", "Health: force DOWN"),
    ("dagent", "Agent: disable checks"),
    ("eagent", "Agent: enable checks"),
    ("arunn", "Agent: force UP"),
    ("adown", "Agent: force DOWN"),
    ("shutdown", "Kill Sessions"),
];

fn proxy(out: &mut String, p: &Page<'_>, px: &ProxySnapshot) {
    let legends = p.spec.show_legends;
    let n = escape(&px.name);
    let form = p.admin && px.backend.as_ref().is_some_and(|b| !b.servers.is_empty());
    if form {
        out.push_str("<form method=\"post\">");
    }
    let title = tip(
        legends,
        &format!("<a class=px href=\"#{n}\">{n}</a>"),
        &format!(
            "cap: {}, mode: {}, id: {}",
            cap(px),
            escape(&px.mode),
            px.iid
        ),
    );
    let _ = writeln!(
        out,
        "<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%\"><a name=\"{n}\"></a>{title}</th><th class=\"empty\" width=\"90%\"></th></tr>\n</table>"
    );
    titles(out, px, form);
    if let Some(f) = &px.frontend {
        frontend_row(out, px, f, legends);
    }
    if let Some(b) = &px.backend {
        for s in &b.servers {
            if p.opts.up && !(s.status.starts_with("UP") || s.status == "no check") {
                continue;
            }
            if p.opts.no_maint && s.maint {
                continue;
            }
            server_row(out, px, s, legends, form);
        }
        backend_row(out, px, b, legends);
    }
    out.push_str("</table>");
    if form {
        out.push_str("Choose the action to perform on the checked servers : <select name=action>");
        for (v, label) in ACTIONS {
            let _ = write!(out, "<option value=\"{v}\">{label}</option>");
        }
        let _ = write!(
            out,
            "</select><input type=\"hidden\" name=\"b\" value=\"#{}\">&nbsp;<input type=\"submit\" value=\"Apply\"></form>",
            px.iid
        );
    }
    out.push_str("<p>\n");
}

fn cap(px: &ProxySnapshot) -> &'static str {
    match (&px.frontend, &px.backend) {
        (Some(_), Some(_)) => "proxy",
        (Some(_), None) => "frontend",
        _ => "backend",
    }
}

/// The whole page.
pub fn render(p: &Page<'_>) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let title_node = match &p.spec.show_node {
        Some(n) if !n.is_empty() => format!(" on {}", escape(n)),
        Some(_) => format!(" on {}", escape(&p.info.node)),
        None => String::new(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n\"http://www.w3.org/TR/html4/loose.dtd\">\n\
<html><head><title>Statistics Report for {}{title_node}</title>\n<link rel=\"icon\" href=\"data:,\">\n\
<meta http-equiv=\"content-type\" content=\"text/html; charset=iso-8859-1\">\n<style type=\"text/css\"><!--\n{STYLE}-->\n</style></head>\n",
        escape(&p.info.name)
    );
    general(&mut out, p);
    for px in p.proxies {
        proxy(&mut out, p, px);
    }
    out.push_str("</body></html>\n");
    out
}
