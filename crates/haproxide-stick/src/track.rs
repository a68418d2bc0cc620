//! A session's tracked counters (configuration.txt §4.2 `track-sc0/1/2`) and
//! what the expression engine reads through them, as HAProxy 2.6 counts:
//!
//! - `tcp-request connection|session` track at the session level (kept for
//!   the whole connection); `tcp-request content`, `http-request` and
//!   `http-response` at the stream level (one HTTP request: released at its
//!   end, `conn_cur` decremented);
//! - tracking counts `conn_cnt`, `conn_cur`, `conn_rate` (and, from HTTP
//!   rules, the request in `http_req_*`, a 4xx/5xx response on the response);
//! - each request, 4xx, 5xx and the bytes go to the stream's counter, or the
//!   session's when the stream tracks none (`stream_inc_http_req_ctr`...).

use std::sync::{Arc, Mutex, MutexGuard};

use haproxide_expr::stktab::{Data, Op, StickCtx, Target};
use haproxide_expr::Sample;

use crate::table::Table;
use crate::{now_ms, Tables};

/// Where a `track-sc` rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `tcp-request connection` / `session`.
    Session,
    /// `tcp-request content`.
    Content,
    /// `http-request` / `http-response`.
    Http,
}

#[derive(Debug, Clone)]
struct Slot {
    table: Arc<Table>,
    key: Box<[u8]>,
}

#[derive(Debug, Default)]
struct Slots {
    sess: [Option<Slot>; 3],
    strm: [Option<Slot>; 3],
    /// The current stream's end was counted (until the next request).
    ended: bool,
}

/// One session's counters.
#[derive(Debug)]
pub struct Tracker {
    pub tables: Arc<Tables>,
    slots: Mutex<Slots>,
}

/// The tracker as one rule set sees it: its proxy's table and its level.
pub struct View<'a> {
    pub tr: &'a Tracker,
    /// The table of the proxy whose rules run (the default `table`).
    pub cur: Option<&'a str>,
    pub level: Level,
    /// The client's address (`src_*`).
    pub src: Option<std::net::IpAddr>,
}

impl Tracker {
    pub fn new(tables: Arc<Tables>) -> Tracker {
        Tracker {
            tables,
            slots: Mutex::new(Slots::default()),
        }
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counter `n` (stream first, then session).
    fn slot(&self, n: usize) -> Option<Slot> {
        let s = self.slots();
        s.strm
            .get(n)
            .and_then(Clone::clone)
            .or_else(|| s.sess.get(n).and_then(Clone::clone))
    }

    /// Each counter's active slot (stream, else session).
    fn active(&self) -> Vec<Slot> {
        let s = self.slots();
        (0..3)
            .filter_map(|i| s.strm[i].clone().or_else(|| s.sess[i].clone()))
            .collect()
    }

    fn add_all(&self, cnt: Data, rate: Data, n: u64) {
        let now = now_ms();
        for s in self.active() {
            s.table.lock(now).add(&s.key, Some(cnt), Some(rate), n);
        }
    }

    /// Whether anything is tracked.
    pub fn any(&self) -> bool {
        let s = self.slots();
        s.sess.iter().chain(&s.strm).any(Option::is_some)
    }

    /// A new HTTP request (`stream_inc_http_req_ctr`).
    pub fn http_req(&self) {
        self.slots().ended = false;
        self.add_all(Data::HttpReqCnt, Data::HttpReqRate, 1);
    }

    /// A request denied or tarpitted (`stream_inc_http_err_ctr`, whatever
    /// the status).
    pub fn http_err(&self) {
        self.add_all(Data::HttpErrCnt, Data::HttpErrRate, 1);
    }

    /// A server's response status: 4xx counts as an error, 5xx but 501/505
    /// as a failure.
    pub fn http_status(&self, status: u16) {
        if (400..500).contains(&status) {
            self.add_all(Data::HttpErrCnt, Data::HttpErrRate, 1);
        } else if (500..600).contains(&status) && status != 501 && status != 505 {
            self.add_all(Data::HttpFailCnt, Data::HttpFailRate, 1);
        }
    }

    /// Bytes from the client (`in`) and to it (`out`).
    pub fn bytes(&self, bytes_in: u64, bytes_out: u64) {
        if bytes_in > 0 {
            self.add_all(Data::BytesInCnt, Data::BytesInRate, bytes_in);
        }
        if bytes_out > 0 {
            self.add_all(Data::BytesOutCnt, Data::BytesOutRate, bytes_out);
        }
    }

    /// Whether the current stream's end was already counted.
    pub fn stream_ended(&self) -> bool {
        self.slots().ended
    }

    /// The stream (an HTTP request, or a TCP session's content) ended.
    pub fn end_stream(&self) {
        let strm: Vec<Slot> = {
            let mut s = self.slots();
            s.ended = true;
            s.strm.iter_mut().filter_map(Option::take).collect()
        };
        stop(strm);
    }

    /// The session ended.
    pub fn end_session(&self) {
        let all: Vec<Slot> = {
            let mut s = self.slots();
            let mut v: Vec<Slot> = s.strm.iter_mut().filter_map(Option::take).collect();
            v.extend(s.sess.iter_mut().filter_map(Option::take));
            v
        };
        stop(all);
    }

    /// `track-scN` at `level` on `key` of `table`.
    pub fn track(
        &self,
        n: usize,
        table: &Arc<Table>,
        key: &Sample<'_>,
        level: Level,
        status: Option<u16>,
    ) {
        if n >= 3 {
            return;
        }
        let Some(k) = table.spec.key.key_of(key) else {
            return;
        };
        {
            let s = self.slots();
            let busy = match level {
                Level::Session => s.sess[n].is_some(),
                _ => s.strm[n].is_some(),
            };
            if busy {
                return;
            }
        }
        let mut l = table.lock(now_ms());
        if !l.get_or_create(&k) {
            return;
        }
        l.hold(&k);
        // stream_start_counters.
        if let Some(i) = table.slot(Data::ConnCur) {
            if let Some(v) = l.vals(&k) {
                v[i].n += 1;
            }
        }
        l.add(&k, Some(Data::ConnCnt), Some(Data::ConnRate), 1);
        // A session-level counter counts the session (HAProxy counts it once
        // the session is accepted, after the `tcp-request session` rules; a
        // later `tcp-request session reject` is the one difference).
        if level == Level::Session {
            l.add(&k, Some(Data::SessCnt), Some(Data::SessRate), 1);
        }
        if level == Level::Http {
            l.add(&k, Some(Data::HttpReqCnt), Some(Data::HttpReqRate), 1);
            match status {
                Some(s) if (400..500).contains(&s) => {
                    l.add(&k, Some(Data::HttpErrCnt), Some(Data::HttpErrRate), 1)
                }
                Some(s) if (500..600).contains(&s) && s != 501 && s != 505 => {
                    l.add(&k, Some(Data::HttpFailCnt), Some(Data::HttpFailRate), 1)
                }
                _ => {}
            }
        }
        l.touch(&k);
        drop(l);
        let slot = Slot {
            table: table.clone(),
            key: k,
        };
        let mut s = self.slots();
        match level {
            Level::Session => s.sess[n] = Some(slot),
            _ => s.strm[n] = Some(slot),
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.end_session();
    }
}

/// Releases tracked entries (`stream_store_counters`).
fn stop(slots: Vec<Slot>) {
    let now = now_ms();
    for s in slots {
        let mut l = s.table.lock(now);
        if let Some(i) = s.table.slot(Data::ConnCur) {
            if let Some(v) = l.vals(&s.key) {
                v[i].n = v[i].n.saturating_sub(1);
            }
            l.touch(&s.key);
        }
        l.release(&s.key);
    }
}

/// Runs `op` on `key` of `t` (the entry locked): HAProxy's fetch results.
/// `create`: `src_inc_gpc*` & co create the entry.
fn run_op(t: &Table, key: &[u8], op: Op, create: bool) -> Option<i64> {
    let mut l = t.lock(now_ms());
    let exists = if create {
        l.get_or_create(key)
    } else {
        l.g.map.contains_key(key)
    };
    if !exists {
        return match op {
            Op::ClrGpc(_) | Op::UpdtConnCnt => None,
            _ => Some(0),
        };
    }
    let tick = l.now as u32;
    match op {
        Op::Read(d) => l.read(key, d).map(|v| v as i64),
        Op::Kbytes(d) => l.read(key, d).map(|v| (v >> 10) as i64),
        Op::Trackers => Some(l.g.map.get(key).map_or(0, |e| i64::from(e.refs))),
        Op::IncGpc(i) => {
            let (c, r) = if i == 0 {
                (Data::Gpc0, Data::Gpc0Rate)
            } else {
                (Data::Gpc1, Data::Gpc1Rate)
            };
            let (ci, ri) = (t.slot(c), t.slot(r));
            let mut out = 0;
            if ci.is_none() && ri.is_none() {
                return Some(0);
            }
            let period = ri.map_or(1, |i| t.period(i));
            if let Some(v) = l.vals(key) {
                if let Some(i) = ri {
                    v[i].f.update(period, 1, tick);
                    out = i64::from(v[i].f.curr_ctr);
                }
                if let Some(i) = ci {
                    v[i].n = u64::from((v[i].n as u32).wrapping_add(1));
                    out = v[i].n as i64;
                }
            }
            l.touch(key);
            Some(out)
        }
        Op::ClrGpc(i) => {
            let c = if i == 0 { Data::Gpc0 } else { Data::Gpc1 };
            let ci = t.slot(c)?;
            let old = l.vals(key).map(|v| std::mem::take(&mut v[ci].n))?;
            l.touch(key);
            Some(old as i64)
        }
        Op::UpdtConnCnt => {
            let ci = t.slot(Data::ConnCnt)?;
            let new = l.vals(key).map(|v| {
                v[ci].n = u64::from((v[ci].n as u32).wrapping_add(1));
                v[ci].n
            })?;
            l.touch(key);
            Some(new as i64)
        }
    }
}

impl View<'_> {
    fn table(&self, name: Option<&str>) -> Option<&Arc<Table>> {
        self.tr.tables.find(name.or(self.cur)?)
    }
}

impl StickCtx for View<'_> {
    fn sc(&self, target: Target<'_>, op: Op) -> Option<i64> {
        match target {
            Target::Ctr(n, alt) => {
                let s = self.tr.slot(n)?;
                match alt.and_then(|a| self.tr.tables.find(a)) {
                    Some(t) if !Arc::ptr_eq(t, &s.table) => run_op(t, &s.key, op, false),
                    _ if alt.is_some_and(|a| self.tr.tables.find(a).is_none()) => None,
                    _ => run_op(&s.table, &s.key, op, false),
                }
            }
            Target::Src(t) => {
                let t = self.table(t)?;
                let k = t.spec.key.key_of(&Sample::addr(self.src?))?;
                let create = matches!(op, Op::IncGpc(_) | Op::ClrGpc(_) | Op::UpdtConnCnt);
                run_op(t, &k, op, create)
            }
        }
    }

    fn tracked(&self, ctr: usize) -> bool {
        self.tr.slot(ctr).is_some()
    }

    fn table_stat(&self, table: Option<&str>) -> Option<(i64, i64)> {
        let t = self.table(table)?;
        let used = t.used(now_ms());
        Some(((t.spec.size - used.min(t.spec.size)) as i64, used as i64))
    }

    fn key_op(&self, table: &str, key: &Sample<'_>, op: Op) -> Option<i64> {
        let t = self.tr.tables.find(table)?;
        let k = t.spec.key.key_of(key)?;
        run_op(t, &k, op, false)
    }

    fn has_key(&self, table: &str, key: &Sample<'_>) -> bool {
        let Some(t) = self.tr.tables.find(table) else {
            return false;
        };
        let Some(k) = t.spec.key.key_of(key) else {
            return false;
        };
        t.lock(now_ms()).g.map.contains_key(&k)
    }

    fn track(&self, ctr: usize, table: Option<&str>, key: &Sample<'_>, status: Option<u16>) {
        if let Some(t) = self.table(table) {
            let t = t.clone();
            self.tr.track(ctr, &t, key, self.level, status);
        }
    }

    fn track_at(&self, ctr: usize, table: Option<&str>, key: &Sample<'_>, session: bool) {
        if let Some(t) = self.table(table) {
            let t = t.clone();
            let level = if session { Level::Session } else { self.level };
            self.tr.track(ctr, &t, key, level, None);
        }
    }

    fn set_gpt0(&self, ctr: usize, v: i64) {
        let Some(s) = self.tr.slot(ctr) else {
            return;
        };
        let Some(i) = s.table.slot(Data::Gpt0) else {
            return;
        };
        let mut l = s.table.lock(now_ms());
        if let Some(vals) = l.vals(&s.key) {
            vals[i].n = u64::from(v as u32);
        }
        l.touch(&s.key);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::table::{KeyType, TableSpec};

    fn tables() -> Arc<Tables> {
        Arc::new(Tables::new(vec![TableSpec {
            name: "fe".into(),
            key: KeyType::Ip,
            size: 10,
            expire: Some(30_000),
            store: vec![
                (Data::Gpc0, 0),
                (Data::ConnCnt, 0),
                (Data::ConnCur, 0),
                (Data::HttpReqCnt, 0),
                (Data::HttpReqRate, 10_000),
                (Data::HttpErrCnt, 0),
            ],
            nopurge: false,
            handover: false,
            srvkey_addr: false,
        }]))
    }

    #[test]
    fn http_tracking_counts_as_haproxy() {
        let ts = tables();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
        for i in 1..=3i64 {
            let tr = Tracker::new(ts.clone());
            let v = View {
                tr: &tr,
                cur: Some("fe"),
                level: Level::Http,
                src: Some(ip),
            };
            assert!(!v.tracked(0));
            assert_eq!(v.sc(Target::Ctr(0, None), Op::Read(Data::HttpReqCnt)), None);
            v.track(0, None, &Sample::addr(ip), None);
            assert!(v.tracked(0));
            assert_eq!(
                v.sc(Target::Ctr(0, None), Op::Read(Data::HttpReqCnt)),
                Some(i)
            );
            assert_eq!(
                v.sc(Target::Ctr(0, None), Op::Read(Data::HttpReqRate)),
                Some(i)
            );
            assert_eq!(v.sc(Target::Ctr(0, None), Op::Read(Data::ConnCur)), Some(1));
            assert_eq!(v.sc(Target::Ctr(0, None), Op::Trackers), Some(1));
            // Not stored: no sample.
            assert_eq!(v.sc(Target::Ctr(0, None), Op::Read(Data::SessCnt)), None);
            assert_eq!(v.sc(Target::Ctr(0, None), Op::IncGpc(0)), Some(i));
            tr.http_status(404);
            tr.end_stream();
            assert_eq!(v.sc(Target::Src(None), Op::Read(Data::ConnCur)), Some(0));
            assert_eq!(v.sc(Target::Src(None), Op::Read(Data::HttpErrCnt)), Some(i));
        }
        // Another client: no entry, 0.
        let tr = Tracker::new(ts.clone());
        let v = View {
            tr: &tr,
            cur: Some("fe"),
            level: Level::Http,
            src: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 8))),
        };
        assert_eq!(v.sc(Target::Src(None), Op::Read(Data::HttpReqCnt)), Some(0));
        assert_eq!(v.table_stat(None), Some((9, 1)));
        assert_eq!(v.sc(Target::Src(None), Op::ClrGpc(0)), Some(0));
        assert_eq!(v.table_stat(None), Some((8, 2)), "src_clr_gpc0 creates");
    }
}
