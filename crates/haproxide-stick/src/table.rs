//! One stick table (configuration.txt §4.2 `stick-table`): entries by key,
//! ordered by key as HAProxy's tree (what `show table` walks), each with the
//! data types the table stores, an expiry and a reference count. Bounded by
//! `size`: a new key when full evicts the unreferenced entry closest to expiry
//! (HAProxy's `stktable_trash_oldest`), or is refused when none is free.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use haproxide_expr::stktab::Data;
use haproxide_expr::{Sample, SmpType};

use crate::freq::FreqCtr;

/// A table's key type (`type ip|ipv6|integer|string [len n]|binary [len n]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Ip,
    Ipv6,
    Integer,
    String(usize),
    Binary(usize),
}

impl KeyType {
    /// The name `show table` prints.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Ip => "ip",
            KeyType::Ipv6 => "ipv6",
            KeyType::Integer => "integer",
            KeyType::String(_) => "string",
            KeyType::Binary(_) => "binary",
        }
    }

    /// A sample as this table's key (HAProxy's `smp_to_stkey`): `None` when
    /// it does not convert.
    pub fn key_of(self, s: &Sample<'_>) -> Option<Box<[u8]>> {
        let s = s.clone();
        Some(match self {
            KeyType::Ip => match s.cast(SmpType::Ipv4)? {
                Sample::Ipv4(a) => Box::from(a.octets()),
                _ => return None,
            },
            KeyType::Ipv6 => match s.cast(SmpType::Ipv6)? {
                Sample::Ipv6(a) => Box::from(a.octets()),
                _ => return None,
            },
            KeyType::Integer => match s.cast(SmpType::Sint)? {
                Sample::Sint(i) => Box::from((i as u32).to_be_bytes()),
                _ => return None,
            },
            KeyType::String(len) => {
                let v = s.cast(SmpType::Str)?;
                let b = v.bytes()?;
                Box::from(&b[..b.len().min(len)])
            }
            KeyType::Binary(len) => {
                let v = s.cast(SmpType::Bin)?;
                let b = v.bytes()?;
                let mut k = b[..b.len().min(len)].to_vec();
                k.resize(len, 0);
                k.into_boxed_slice()
            }
        })
    }

    /// A key typed on the runtime API (`key <k>`).
    pub fn parse_key(self, text: &str) -> Option<Box<[u8]>> {
        match self {
            KeyType::Ip => text.parse::<Ipv4Addr>().ok().map(|a| Box::from(a.octets())),
            KeyType::Ipv6 => text.parse::<Ipv6Addr>().ok().map(|a| Box::from(a.octets())),
            KeyType::Integer => text
                .parse::<u64>()
                .ok()
                .map(|i| Box::from((i as u32).to_be_bytes())),
            KeyType::String(len) => {
                let b = text.as_bytes();
                Some(Box::from(&b[..b.len().min(len)]))
            }
            KeyType::Binary(_) => None,
        }
    }
}

/// What a table is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The proxy's name (a table is named after its proxy).
    pub name: String,
    pub key: KeyType,
    pub size: usize,
    /// `expire` in ms; `None`: entries stay until evicted.
    pub expire: Option<u32>,
    /// Stored data types with their period (ms) for rates, in `Data` order.
    pub store: Vec<(Data, u32)>,
    /// `nopurge`: a full table refuses new keys instead of evicting.
    pub nopurge: bool,
    /// `peers <section>` with the local peer: the entries go to the next
    /// process on a reload ([`crate::handover`]).
    pub handover: bool,
    /// `srvkey addr`: `server_key` is the server's address (`ip:port`), else
    /// its name.
    pub srvkey_addr: bool,
}

/// A stored value: a number or a frequency counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Val {
    pub n: u64,
    pub f: FreqCtr,
}

/// One entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub vals: Box<[Val]>,
    /// Absolute expiry (clock ms); `u64::MAX` without `expire`.
    pub exp: u64,
    /// Sessions tracking it (`use=` in `show table`).
    pub refs: u32,
    /// `server_key` (a `stick` rule's server name or address), if stored.
    pub skey: Option<Arc<str>>,
    seq: u64,
    /// In the expiry index (not while a referenced entry is past its expiry).
    indexed: bool,
    /// Its last local update's number for the peers (0: none).
    pub(crate) upd: u32,
}

/// The mutable part of a table.
#[derive(Debug, Default)]
pub struct Inner {
    pub map: BTreeMap<Box<[u8]>, Entry>,
    order: BTreeMap<(u64, u64), Box<[u8]>>,
    seq: u64,
    /// Local updates to push to remote peers, by number (one per key: its
    /// latest), and the last number given (HAProxy's `localupdate`).
    pub(crate) updates: BTreeMap<u32, Box<[u8]>>,
    pub(crate) upd_seq: u32,
}

/// A stick table.
#[derive(Debug)]
pub struct Table {
    pub spec: TableSpec,
    inner: Mutex<Inner>,
    /// Run on each local update of a peers table, the table locked (it must
    /// not lock it: it wakes the peers sessions).
    pub(crate) hook: crate::sync::Hook,
    /// Run by [`Table::push_now`] and [`Table::pull_now`], the table unlocked.
    pub(crate) push: crate::sync::Hook,
    pub(crate) pull: crate::sync::Hook,
}

impl Table {
    pub fn new(spec: TableSpec) -> Table {
        Table {
            spec,
            inner: Mutex::new(Inner::default()),
            hook: crate::sync::Hook::default(),
            push: crate::sync::Hook::default(),
            pull: crate::sync::Hook::default(),
        }
    }

    /// The index of `d` in each entry's values, if stored.
    pub fn slot(&self, d: Data) -> Option<usize> {
        self.spec.store.iter().position(|(x, _)| *x == d)
    }

    /// The period of a stored rate.
    pub fn period(&self, i: usize) -> u32 {
        self.spec.store.get(i).map_or(1, |s| s.1)
    }

    /// The table locked, expired entries purged first.
    pub fn lock(&self, now: u64) -> Locked<'_> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.purge(now);
        Locked { t: self, g, now }
    }

    /// Entries in use now.
    pub fn used(&self, now: u64) -> usize {
        self.lock(now).g.map.len()
    }
}

impl Inner {
    fn purge(&mut self, now: u64) {
        while let Some((&(exp, seq), _)) = self.order.iter().next() {
            if exp > now {
                break;
            }
            let Some(k) = self.order.remove(&(exp, seq)) else {
                break;
            };
            match self.map.get_mut(&k) {
                // HAProxy keeps an entry a session tracks; it dies on release.
                Some(e) if e.refs > 0 => e.indexed = false,
                Some(_) => self.forget(&k),
                None => {}
            }
        }
    }

    /// Removes `k` and its pending update.
    pub(crate) fn forget(&mut self, k: &[u8]) {
        if let Some(e) = self.map.remove(k) {
            if e.upd != 0 {
                self.updates.remove(&e.upd);
            }
        }
    }

    /// Records a local update of `k` (a new number; the previous one dropped).
    fn mark_update(&mut self, k: &[u8]) {
        self.upd_seq = self.upd_seq.wrapping_add(1).max(1);
        let n = self.upd_seq;
        let Some(e) = self.map.get_mut(k) else {
            return;
        };
        let old = std::mem::replace(&mut e.upd, n);
        if old != 0 {
            self.updates.remove(&old);
        }
        self.updates.insert(n, Box::from(k));
    }

    fn unindex(&mut self, k: &[u8]) {
        if let Some(e) = self.map.get_mut(k) {
            if e.indexed {
                self.order.remove(&(e.exp, e.seq));
                e.indexed = false;
            }
        }
    }

    pub(crate) fn index(&mut self, k: &[u8], exp: u64) {
        self.unindex(k);
        self.seq += 1;
        let seq = self.seq;
        if let Some(e) = self.map.get_mut(k) {
            e.exp = exp;
            e.seq = seq;
            e.indexed = true;
            self.order.insert((exp, seq), Box::from(k));
        }
    }
}

/// A locked table at an instant.
pub struct Locked<'t> {
    pub t: &'t Table,
    pub g: MutexGuard<'t, Inner>,
    pub now: u64,
}

impl Locked<'_> {
    fn exp(&self) -> u64 {
        match self.t.spec.expire {
            Some(e) => self.now + u64::from(e),
            None => u64::MAX,
        }
    }

    /// The entry of `k`, created if absent (`stktable_get_entry`); `false`
    /// when the table is full and nothing can be evicted.
    pub fn get_or_create(&mut self, k: &[u8]) -> bool {
        if self.g.map.contains_key(k) {
            return true;
        }
        if self.g.map.len() >= self.t.spec.size && (self.t.spec.nopurge || !self.evict_one()) {
            return false;
        }
        let vals = vec![Val::default(); self.t.spec.store.len()].into_boxed_slice();
        self.g.map.insert(
            Box::from(k),
            Entry {
                vals,
                exp: 0,
                refs: 0,
                skey: None,
                seq: 0,
                indexed: false,
                upd: 0,
            },
        );
        let exp = self.exp();
        self.g.index(k, exp);
        true
    }

    /// Evicts the unreferenced entry closest to expiry.
    fn evict_one(&mut self) -> bool {
        let victim = self
            .g
            .order
            .iter()
            .find(|(_, k)| self.g.map.get(*k).is_some_and(|e| e.refs == 0))
            .map(|(o, k)| (*o, k.clone()));
        match victim {
            Some((o, k)) => {
                self.g.order.remove(&o);
                self.g.forget(&k);
                true
            }
            None => false,
        }
    }

    /// Refreshes `k`'s expiry (`stktable_touch_local`); on a table shared
    /// with peers, the entry is to be pushed to them.
    pub fn touch(&mut self, k: &[u8]) {
        let exp = self.exp();
        self.g.index(k, exp);
        if self.t.spec.handover {
            self.g.mark_update(k);
            self.t.hook.fire();
        }
    }

    /// `k`'s expiry refreshed without a local update (an entry a peer sent).
    pub(crate) fn touch_remote(&mut self, k: &[u8]) {
        let exp = self.exp();
        self.g.index(k, exp);
    }

    /// `k`'s values, if present.
    pub fn vals(&mut self, k: &[u8]) -> Option<&mut [Val]> {
        self.g.map.get_mut(k).map(|e| &mut e.vals[..])
    }

    /// Adds `n` to a counter and its rate (`cnt`, `rate`), if stored.
    pub fn add(&mut self, k: &[u8], cnt: Option<Data>, rate: Option<Data>, n: u64) {
        let ci = cnt.and_then(|d| self.t.slot(d));
        let ri = rate.and_then(|d| self.t.slot(d));
        if ci.is_none() && ri.is_none() {
            return;
        }
        let tick = self.now as u32;
        let period = ri.map_or(1, |i| self.t.period(i));
        if let Some(v) = self.vals(k) {
            if let Some(i) = ci {
                v[i].n = v[i].n.wrapping_add(n);
            }
            if let Some(i) = ri {
                v[i].f.update(period, n as u32, tick);
            }
        }
        self.touch(k);
    }

    /// Takes a reference (a session tracks `k`).
    pub fn hold(&mut self, k: &[u8]) {
        if let Some(e) = self.g.map.get_mut(k) {
            e.refs += 1;
        }
    }

    /// Drops a reference; an entry past its expiry then goes.
    pub fn release(&mut self, k: &[u8]) {
        let now = self.now;
        let gone = match self.g.map.get_mut(k) {
            Some(e) => {
                e.refs = e.refs.saturating_sub(1);
                e.refs == 0 && e.exp <= now
            }
            None => false,
        };
        if gone {
            self.g.unindex(k);
            self.g.forget(k);
        }
    }

    /// Reads `d` of `k`: `None` when not stored or `k` is absent.
    pub fn read(&mut self, k: &[u8], d: Data) -> Option<u64> {
        let i = self.t.slot(d)?;
        let period = self.t.period(i);
        let tick = self.now as u32;
        let v = self.g.map.get(k)?.vals[i];
        Some(if d.is_rate() {
            u64::from(v.f.read(period, tick))
        } else {
            v.n
        })
    }

    /// Sets `k`'s server (`server_id`, and `server_key` when stored), the
    /// entry created if room (`process_store_rules`), its expiry refreshed.
    pub fn set_server(&mut self, k: &[u8], id: i64, key: Option<Arc<str>>) -> bool {
        if !self.get_or_create(k) {
            return false;
        }
        let id_slot = self.t.slot(Data::ServerId);
        let key_slot = self.t.slot(Data::ServerKey);
        if let Some(e) = self.g.map.get_mut(k) {
            if let Some(i) = id_slot {
                e.vals[i].n = id as u64;
            }
            if key_slot.is_some() {
                e.skey = key;
            }
        }
        self.touch(k);
        true
    }

    /// `k`'s stored server: (`server_id` if stored, `server_key`); `None`
    /// when `k` is absent. Touches the entry (`stick match` refreshes it).
    pub fn server_of(&mut self, k: &[u8]) -> Option<(Option<i64>, Option<Arc<str>>)> {
        let id_slot = self.t.slot(Data::ServerId);
        let e = self.g.map.get(k)?;
        let id = id_slot.map(|i| e.vals[i].n as u32 as i32 as i64);
        let key = e.skey.clone();
        self.touch(k);
        Some((id, key))
    }

    /// Removes `k` unless a session tracks it; whether it went.
    pub fn remove(&mut self, k: &[u8]) -> bool {
        if self.g.map.get(k).is_some_and(|e| e.refs == 0) {
            self.g.unindex(k);
            self.g.forget(k);
            return true;
        }
        false
    }
}

/// Copies `from`'s unexpired entries into `to` (same key type), keeping the
/// data types `to` stores and their values; up to `to`'s size.
pub fn copy_entries(from: &Table, to: &Table, now: u64) {
    let src: Vec<(Box<[u8]>, Entry)> = {
        let l = from.lock(now);
        l.g.map
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect()
    };
    let mut l = to.lock(now);
    for (k, e) in src {
        if !l.get_or_create(&k) {
            break;
        }
        let pairs: Vec<(usize, Val)> = from
            .spec
            .store
            .iter()
            .enumerate()
            .filter_map(|(i, (d, _))| Some((to.slot(*d)?, e.vals.get(i).copied()?)))
            .collect();
        if let Some(v) = l.vals(&k) {
            for (i, val) in pairs {
                v[i] = val;
            }
        }
        if let Some(t) = l.g.map.get_mut(&k) {
            t.skey = e.skey.clone();
        }
        // The remaining time to live carries over.
        let exp = if e.exp == u64::MAX || to.spec.expire.is_none() {
            l.exp()
        } else {
            e.exp
        };
        l.g.index(&k, exp);
    }
}

/// Sets `key`'s values in `to` (created if room), expiring at `exp`: `false`
/// when the table is full.
pub(crate) fn copy_vals(to: &Table, key: &[u8], vals: &[Val], exp: u64, now: u64) -> bool {
    let mut l = to.lock(now);
    if !l.get_or_create(key) {
        return false;
    }
    if let Some(v) = l.vals(key) {
        for (d, s) in v.iter_mut().zip(vals) {
            *d = *s;
        }
    }
    l.g.index(key, exp);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(size: usize) -> TableSpec {
        TableSpec {
            name: "t".into(),
            key: KeyType::Ip,
            size,
            expire: Some(10_000),
            store: vec![(Data::Gpc0, 0), (Data::HttpReqRate, 10_000)],
            nopurge: false,
            handover: false,
            srvkey_addr: false,
        }
    }

    #[test]
    fn a_key_flood_stays_within_size_and_tracked_entries_survive() {
        let t = Table::new(spec(100));
        let mut l = t.lock(1_000);
        assert!(l.get_or_create(&[9, 9, 9, 9]));
        l.hold(&[9, 9, 9, 9]);
        for i in 0..100_000u32 {
            assert!(l.get_or_create(&i.to_be_bytes()));
            assert!(l.g.map.len() <= 100);
        }
        assert!(l.g.map.contains_key(&[9u8, 9, 9, 9][..]));
        drop(l);
        // Past expiry: the untracked go, the tracked one stays until released.
        let mut l = t.lock(20_000);
        assert_eq!(l.g.map.len(), 1);
        l.release(&[9, 9, 9, 9]);
        assert_eq!(l.g.map.len(), 0);
    }

    #[test]
    fn nopurge_refuses_when_full() {
        let mut s = spec(2);
        s.nopurge = true;
        let t = Table::new(s);
        let mut l = t.lock(1_000);
        assert!(l.get_or_create(&[1, 0, 0, 0]));
        assert!(l.get_or_create(&[2, 0, 0, 0]));
        assert!(!l.get_or_create(&[3, 0, 0, 0]));
    }

    #[test]
    fn keys_convert_as_haproxy() {
        let v4 = Sample::Ipv4(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(KeyType::Ip.key_of(&v4).as_deref(), Some(&[10, 0, 0, 1][..]));
        assert_eq!(KeyType::Ipv6.key_of(&v4).map(|k| k.len()), Some(16));
        let s = Sample::Str(b"abcdef".to_vec().into());
        assert_eq!(KeyType::String(3).key_of(&s).as_deref(), Some(&b"abc"[..]));
        assert_eq!(
            KeyType::Binary(8)
                .key_of(&Sample::Bin(b"ab".to_vec().into()))
                .as_deref(),
            Some(&b"ab\0\0\0\0\0\0"[..])
        );
    }
}
