//! What the peers protocol (configuration.txt §3.5 "peers"; HAProxy's
//! peers-v2.0.txt) reads from and writes to a table, sans-IO: the local
//! updates of a table shared with peers, numbered as HAProxy's update tree
//! (one pending number per key: its latest), and the entries a remote peer
//! sends, applied without becoming local updates (a peer's entry is not
//! pushed on to others, as `stktable_touch_remote`).

use std::sync::{Arc, OnceLock};

use haproxide_expr::stktab::Data;

use crate::freq::FreqCtr;
use crate::table::Table;

/// A callback run after each local update of a peers table.
#[derive(Default)]
pub struct Hook(OnceLock<Box<dyn Fn() + Send + Sync>>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Hook(set)"
        } else {
            "Hook"
        })
    }
}

impl Hook {
    pub(crate) fn fire(&self) {
        if let Some(f) = self.0.get() {
            f();
        }
    }
}

/// One stored value as the protocol carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A counter or `server_id`/`gpt0`.
    Num(u64),
    /// A rate: ms since the current period started, its count, the last one's.
    Freq { ago: u32, curr: u32, prev: u32 },
    /// `server_key` (None: none stored).
    Dict(Option<Arc<str>>),
}

/// A local update to push: its number, the key, each stored type's value.
#[derive(Debug, Clone)]
pub struct Update {
    pub id: u32,
    pub key: Box<[u8]>,
    pub values: Vec<(Data, Value)>,
}

impl Table {
    /// Runs `f` on each local update, the table locked: `f` must not lock
    /// it (once; later calls are ignored).
    pub fn on_update(&self, f: Box<dyn Fn() + Send + Sync>) {
        let _ = self.hook.0.set(f);
    }

    /// Sets what [`Table::push_now`] and [`Table::pull_now`] run.
    pub fn on_sync(&self, push: Box<dyn Fn() + Send + Sync>, pull: Box<dyn Fn() + Send + Sync>) {
        let _ = self.push.0.set(push);
        let _ = self.pull.0.set(pull);
    }

    /// Writes pending local updates to the peers now (after a `stick` store,
    /// before the client is answered).
    pub fn push_now(&self) {
        self.push.fire();
    }

    /// Reads what the peers already sent (before a `stick` lookup).
    pub fn pull_now(&self) {
        self.pull.fire();
    }

    /// The last local update's number.
    pub fn last_update(&self, now: u64) -> u32 {
        self.lock(now).g.upd_seq
    }

    /// Up to `max` local updates numbered after `after`, oldest first.
    pub fn updates_after(&self, after: u32, max: usize, now: u64) -> Vec<Update> {
        let tick = now as u32;
        let l = self.lock(now);
        let range = (std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded);
        l.g.updates
            .range(range)
            .take(max)
            .filter_map(|(&id, k)| {
                let e = l.g.map.get(k)?;
                let values = self
                    .spec
                    .store
                    .iter()
                    .enumerate()
                    .map(|(i, &(d, _))| {
                        let v = e.vals.get(i).copied().unwrap_or_default();
                        let val = if d == Data::ServerKey {
                            Value::Dict(e.skey.clone())
                        } else if d.is_rate() {
                            Value::Freq {
                                ago: tick.wrapping_sub(v.f.curr_tick),
                                curr: v.f.curr_ctr,
                                prev: v.f.prev_ctr,
                            }
                        } else {
                            Value::Num(v.n)
                        };
                        (d, val)
                    })
                    .collect();
                Some(Update {
                    id,
                    key: k.clone(),
                    values,
                })
            })
            .collect()
    }

    /// Applies an entry a remote peer sent: created if room (`false`
    /// otherwise), the types this table stores set, its expiry this table's.
    pub fn apply_remote(&self, key: &[u8], values: &[(Data, Value)], now: u64) -> bool {
        let tick = now as u32;
        let mut l = self.lock(now);
        if !l.get_or_create(key) {
            return false;
        }
        for (d, v) in values {
            let Some(i) = self.slot(*d) else {
                continue;
            };
            let Some(e) = l.g.map.get_mut(key) else {
                return false;
            };
            match v {
                Value::Dict(s) => e.skey = s.clone(),
                Value::Num(n) => {
                    if let Some(x) = e.vals.get_mut(i) {
                        x.n = *n;
                    }
                }
                Value::Freq { ago, curr, prev } => {
                    if let Some(x) = e.vals.get_mut(i) {
                        x.f = FreqCtr {
                            curr_tick: tick.wrapping_sub(*ago),
                            curr_ctr: *curr,
                            prev_ctr: *prev,
                        };
                    }
                }
            }
        }
        l.touch_remote(key);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{KeyType, TableSpec};

    fn table(peers: bool) -> Table {
        Table::new(TableSpec {
            name: "p/t".into(),
            key: KeyType::String(16),
            size: 4,
            expire: None,
            store: vec![(Data::ServerId, 0), (Data::ServerKey, 0)],
            nopurge: false,
            handover: peers,
            srvkey_addr: false,
        })
    }

    #[test]
    fn local_updates_are_numbered_once_per_key_and_bounded() {
        let t = table(true);
        let fired = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let f = fired.clone();
        t.on_update(Box::new(move || {
            f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        for i in 0..100u32 {
            let k = format!("k{}", i % 10);
            t.lock(1_000)
                .set_server(k.as_bytes(), 1, Some(Arc::from("s1")));
        }
        // At most `size` entries, so at most `size` pending updates.
        let u = t.updates_after(0, 1000, 1_000);
        assert!(u.len() <= 4, "{}", u.len());
        assert_eq!(u.last().map(|u| u.id), Some(100));
        assert_eq!(fired.load(std::sync::atomic::Ordering::SeqCst), 100);
        assert!(t.updates_after(100, 10, 1_000).is_empty());
    }

    #[test]
    fn a_remote_entry_is_stored_and_not_pushed_again() {
        let t = table(true);
        let v = [
            (Data::ServerId, Value::Num(3)),
            (Data::ServerKey, Value::Dict(Some(Arc::from("srv1")))),
            (Data::Gpc0, Value::Num(9)),
        ];
        assert!(t.apply_remote(b"c1", &v, 1_000));
        assert!(t.updates_after(0, 10, 1_000).is_empty());
        let mut l = t.lock(1_000);
        assert_eq!(l.server_of(b"c1"), Some((Some(3), Some(Arc::from("srv1")))));
    }

    #[test]
    fn a_table_without_peers_records_nothing() {
        let t = table(false);
        t.lock(1_000).set_server(b"x", 1, None);
        assert!(t.updates_after(0, 10, 1_000).is_empty());
    }
}
