//! [`Slots`]: an append-only table whose entries never move, read without a lock.
//!
//! The forwarder's per-backend server list and the checker's server states grow at
//! run time (`add server`, management.txt §9.3) while sessions read them on every
//! server choice. A `Vec` behind a lock would put a lock (and its cache line
//! bouncing between threads) on that hot path; a copy-on-write list would need an
//! atomic pointer swap with deferred reclamation. `Slots` is simpler: storage grows
//! in segments that are allocated once and never moved or freed before the table
//! (16, 32, 64, ... entries), so a `&T` handed out stays valid for the table's life
//! and a read is two `Acquire` loads (the segment, the entry). Pushes are rare
//! (configuration, the runtime API) and take a small mutex.
//!
//! Entries are never removed: `del server` marks its entry deleted (a tombstone the
//! owner keeps in `T`), so an index names the same server for the process's life and
//! a session holding one never sees another server behind it. The cost is the memory
//! of deleted entries, bounded by the number of servers ever added.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Entries in the first segment; segment `k` holds `BASE << k`.
const BASE: usize = 16;
/// Segments: capacity `BASE * (2^SEGMENTS - 1)`, far beyond any server count.
const SEGMENTS: usize = 40;

type Segment<T> = Box<[OnceLock<T>]>;

/// An append-only table (see the crate documentation).
pub struct Slots<T> {
    segments: [OnceLock<Segment<T>>; SEGMENTS],
    /// Entries published: every index below it is set.
    len: AtomicUsize,
    push: Mutex<()>,
}

/// (segment, offset) of an index.
fn locate(i: usize) -> (usize, usize) {
    let j = i / BASE + 1;
    let k = (usize::BITS - 1 - j.leading_zeros()) as usize;
    (k, i - BASE * ((1usize << k) - 1))
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slots<T> {
    /// An empty table (no allocation until the first push).
    pub fn new() -> Self {
        Slots {
            segments: std::array::from_fn(|_| OnceLock::new()),
            len: AtomicUsize::new(0),
            push: Mutex::new(()),
        }
    }

    /// Appends `v` and returns its index, which it keeps for the table's life.
    pub fn push(&self, v: T) -> usize {
        let _g = self.push.lock().unwrap_or_else(|e| e.into_inner());
        let i = self.len.load(Ordering::Relaxed);
        let (k, off) = locate(i);
        let seg = self.segments[k].get_or_init(|| {
            (0..BASE << k)
                .map(|_| OnceLock::new())
                .collect::<Vec<_>>()
                .into_boxed_slice()
        });
        // Index `i` was never set: pushes are serialized and `len` moves past it below.
        let _ = seg[off].set(v);
        self.len.store(i + 1, Ordering::Release);
        i
    }

    /// The entry at `i`, if pushed.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        let (k, off) = locate(i);
        self.segments.get(k)?.get()?.get(off)?.get()
    }

    /// Entries pushed so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry with its index, in push order (those pushed before the call).
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i).map(|v| (i, v)))
    }
}

/// `slots[i]`, for indexes the owner handed out itself (like `Vec`, it panics
/// past the end: use [`Slots::get`] for an index from outside).
impl<T> std::ops::Index<usize> for Slots<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(v) => v,
            None => panic!("Slots index {i} out of range ({} entries)", self.len()),
        }
    }
}

impl<T> FromIterator<T> for Slots<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        let s = Slots::new();
        for v in it {
            s.push(v);
        }
        s
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Slots<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|(_, v)| v)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn segments_tile_the_indexes() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(15), (0, 15));
        assert_eq!(locate(16), (1, 0));
        assert_eq!(locate(47), (1, 31));
        assert_eq!(locate(48), (2, 0));
        for i in 0..10_000 {
            let (k, off) = locate(i);
            assert!(off < BASE << k, "{i}");
        }
    }

    #[test]
    fn entries_keep_their_index_and_address_while_the_table_grows() {
        let s = Slots::new();
        assert!(s.is_empty() && s.get(0).is_none());
        assert_eq!(s.push(10u32), 0);
        let first: *const u32 = s.get(0).map_or(std::ptr::null(), |r| r);
        for v in 1..1000u32 {
            assert_eq!(s.push(10 + v), v as usize);
        }
        assert_eq!(s.len(), 1000);
        assert_eq!(s.get(999), Some(&1009));
        assert!(s.get(1000).is_none());
        assert!(std::ptr::eq(
            first,
            s.get(0).map_or(std::ptr::null(), |r| r)
        ));
        assert_eq!(s.iter().map(|(i, _)| i).sum::<usize>(), 999 * 1000 / 2);
    }

    #[test]
    fn readers_see_every_published_entry_during_pushes() {
        let s: Arc<Slots<usize>> = Arc::new(Slots::new());
        let w = {
            let s = s.clone();
            std::thread::spawn(move || {
                for v in 0..5000 {
                    s.push(v);
                }
            })
        };
        let mut seen = 0;
        while seen < 5000 {
            let n = s.len();
            for i in 0..n {
                assert_eq!(s.get(i), Some(&i));
            }
            seen = n;
        }
        assert!(w.join().is_ok());
    }
}
