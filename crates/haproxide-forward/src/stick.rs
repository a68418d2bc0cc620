//! A stick table of `stick on src` persistence (configuration.txt §4.2
//! `stick-table`, `stick on`, `stick match`, `stick store-request`), sans-IO:
//! client address → server, bounded by `size` (the entry closest to expiry is
//! evicted first, as HAProxy's `stktable_trash_oldest`) and `expire`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Client address → server index, at most `size` entries.
#[derive(Debug)]
pub struct StickTable {
    size: usize,
    expire: Option<Duration>,
    map: HashMap<IpAddr, (usize, Instant, u64)>,
    order: BTreeMap<(Instant, u64), IpAddr>,
    seq: u64,
}

impl StickTable {
    pub fn new(size: usize, expire: Option<Duration>) -> StickTable {
        StickTable {
            size: size.max(1),
            expire,
            map: HashMap::new(),
            order: BTreeMap::new(),
            seq: 0,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn purge(&mut self, now: Instant) {
        while let Some((&(exp, seq), &k)) = self.order.iter().next() {
            if exp > now {
                break;
            }
            self.order.remove(&(exp, seq));
            self.map.remove(&k);
        }
    }

    /// The server stored for `key`, if any and not expired.
    pub fn get(&mut self, key: IpAddr, now: Instant) -> Option<usize> {
        self.purge(now);
        self.map.get(&key).map(|e| e.0)
    }

    /// Stores `key → srv` (refreshes its expiry); evicts the entry closest
    /// to expiry when the table is full.
    pub fn store(&mut self, key: IpAddr, srv: usize, now: Instant) {
        self.purge(now);
        // Without `expire` entries never expire: ordered by insertion.
        let exp = now
            + self
                .expire
                .unwrap_or(Duration::from_secs(100 * 365 * 86400));
        self.seq += 1;
        if let Some(old) = self.map.insert(key, (srv, exp, self.seq)) {
            self.order.remove(&(old.1, old.2));
        }
        self.order.insert((exp, self.seq), key);
        while self.map.len() > self.size {
            let Some((&first, &k)) = self.order.iter().next() else {
                break;
            };
            self.order.remove(&first);
            self.map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_flood_stays_within_size_and_entries_expire() {
        let now = Instant::now();
        let mut t = StickTable::new(100, Some(Duration::from_secs(10)));
        for i in 0..100_000u32 {
            t.store(IpAddr::from(i.to_be_bytes()), (i % 3) as usize, now);
            assert!(t.len() <= 100);
        }
        assert_eq!(t.len(), 100);
        // The newest survive.
        let last = IpAddr::from(99_999u32.to_be_bytes());
        assert_eq!(t.get(last, now), Some(99_999 % 3));
        assert_eq!(t.get(IpAddr::from(0u32.to_be_bytes()), now), None);
        assert_eq!(t.get(last, now + Duration::from_secs(11)), None);
        assert!(t.is_empty());
    }
}
