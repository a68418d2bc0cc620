//! A reload's table hand-over (configuration.txt §3.5 "peers": the local peer
//! gives the new process the old one's entries): the entries of every table
//! bound to a `peers` section, as text the next process reads back.
//!
//! Clocks are per process, so times travel relative to the moment of the
//! export: each entry's remaining time to live, and each frequency counter's
//! age of its current period. Lines:
//!
//! ```text
//! haproxide-tables 1
//! T <table name> <key type>
//! E <key hex> <ttl ms|-> <n>,<age>,<curr>,<prev> ...   (one per stored type)
//! ```
//!
//! The reader trusts nothing: a table that no longer exists, has another key
//! type or another set of stored types is skipped, a malformed line stops the
//! import, and the table's `size` bounds what it takes.

use std::fmt::Write as _;

use crate::table::{copy_vals, Val};
use crate::{now_ms, Tables};

const MAGIC: &str = "haproxide-tables 1";

impl Tables {
    /// The entries of the tables that hand over, as of now.
    pub fn export(&self) -> Vec<u8> {
        let now = now_ms();
        let tick = now as u32;
        let mut out = format!("{MAGIC}\n");
        for t in self.list.iter().filter(|t| t.spec.handover) {
            let _ = writeln!(out, "T {} {}", t.spec.name, t.spec.key.name());
            let l = t.lock(now);
            for (k, e) in &l.g.map {
                out.push_str("E ");
                for b in k.iter() {
                    let _ = write!(out, "{b:02x}");
                }
                if e.exp == u64::MAX {
                    out.push_str(" -");
                } else {
                    let _ = write!(out, " {}", e.exp.saturating_sub(now));
                }
                for v in e.vals.iter() {
                    let age = tick.wrapping_sub(v.f.curr_tick);
                    let _ = write!(out, " {},{},{},{}", v.n, age, v.f.curr_ctr, v.f.prev_ctr);
                }
                out.push('\n');
            }
        }
        out.into_bytes()
    }

    /// Takes in what [`Tables::export`] wrote: the number of entries taken,
    /// or why the text was refused.
    pub fn import(&self, data: &[u8]) -> Result<usize, String> {
        let text = std::str::from_utf8(data).map_err(|_| "not UTF-8".to_string())?;
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err("not a table hand-over".into());
        }
        let now = now_ms();
        let tick = now as u32;
        let mut cur = None;
        let mut taken = 0;
        for (no, line) in lines.enumerate() {
            let bad = || format!("line {}: malformed", no + 2);
            let mut w = line.split(' ');
            match w.next() {
                Some("T") => {
                    let (name, kind) = (w.next().ok_or_else(bad)?, w.next().ok_or_else(bad)?);
                    cur = self.list.iter().find(|t| {
                        t.spec.handover && t.spec.name == name && t.spec.key.name() == kind
                    });
                }
                Some("E") => {
                    let key = unhex(w.next().ok_or_else(bad)?).ok_or_else(bad)?;
                    let ttl = match w.next().ok_or_else(bad)? {
                        "-" => None,
                        n => Some(n.parse::<u64>().map_err(|_| bad())?),
                    };
                    let mut vals = Vec::new();
                    for f in w {
                        let p: Vec<&str> = f.split(',').collect();
                        let [n, age, curr, prev] = p[..] else {
                            return Err(bad());
                        };
                        let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
                        let mut v = Val {
                            n: n.parse::<u64>().map_err(|_| bad())?,
                            ..Val::default()
                        };
                        v.f.curr_tick = tick.wrapping_sub(num(age)?);
                        v.f.curr_ctr = num(curr)?;
                        v.f.prev_ctr = num(prev)?;
                        vals.push(v);
                    }
                    let Some(t) = cur else { continue };
                    if vals.len() != t.spec.store.len() {
                        continue;
                    }
                    let exp = match (ttl, t.spec.expire) {
                        (Some(ttl), Some(max)) => now + ttl.min(u64::from(max)),
                        (_, Some(max)) => now + u64::from(max),
                        (_, None) => u64::MAX,
                    };
                    if copy_vals(t, &key, &vals, exp, now) {
                        taken += 1;
                    }
                }
                Some("") | None => {}
                Some(_) => return Err(bad()),
            }
        }
        Ok(taken)
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.len() > 2 * 65536 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use haproxide_expr::stktab::{Data, Op, StickCtx, Target};
    use haproxide_expr::Sample;

    use super::*;
    use crate::table::{KeyType, TableSpec};
    use crate::track::{Level, Tracker, View};

    fn tables(handover: bool, size: usize) -> Arc<Tables> {
        Arc::new(Tables::new(vec![TableSpec {
            name: "t".into(),
            key: KeyType::String(16),
            size,
            expire: Some(60_000),
            store: vec![(Data::Gpc0, 0), (Data::HttpReqRate, 10_000)],
            nopurge: false,
            handover,
            srvkey_addr: false,
        }]))
    }

    #[test]
    fn entries_cross_a_reload_and_garbage_is_refused() {
        let old = tables(true, 10);
        let tr = Tracker::new(old.clone());
        let v = View {
            tr: &tr,
            cur: Some("t"),
            level: Level::Http,
            src: None,
        };
        for k in ["a", "b", "c"] {
            v.track(0, None, &Sample::Str(k.as_bytes().into()), None);
            v.sc(Target::Ctr(0, None), Op::IncGpc(0));
            tr.end_stream();
        }
        let dump = old.export();
        let new = tables(true, 2);
        assert_eq!(new.import(&dump), Ok(3));
        // Bounded by the new table's size.
        assert_eq!(new.list[0].used(now_ms()), 2);
        let tr = Tracker::new(new.clone());
        let v = View {
            tr: &tr,
            cur: Some("t"),
            level: Level::Http,
            src: None,
        };
        let key = Sample::Str(b"c".as_slice().into());
        assert_eq!(v.key_op("t", &key, Op::Read(Data::Gpc0)), Some(1));
        assert_eq!(v.key_op("t", &key, Op::Read(Data::HttpReqRate)), Some(1));
        // A table without `peers` takes nothing.
        assert_eq!(tables(false, 10).import(&dump), Ok(0));
        // Garbage: refused, nothing panics.
        for bad in [
            &b"nope"[..],
            b"haproxide-tables 1\nE zz - 1,2,3,4\n",
            b"haproxide-tables 1\nT t string\nE 61 5 1,2,3\n",
            b"haproxide-tables 1\nX\n",
            b"\xff\xfe",
        ] {
            assert!(tables(true, 10).import(bad).is_err(), "{bad:?}");
        }
    }
}
