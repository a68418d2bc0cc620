//! Spare buffers of parsed heads, kept per thread (issue 14: allocations per
//! request).
//!
//! A parsed request and its response cost eight allocations: each head's
//! header store and field list ([`crate::head::Headers`]) and the start line's
//! pieces (method and target, status and reason). A head given up returns them
//! here (its `Drop`), and the next head of the same thread takes them back, as
//! HAProxy takes its HTX blocks from per-thread pools: no `malloc` per request
//! once a thread has served a few.
//!
//! Bounded: at most [`KEEP`] buffers of each kind per thread, none larger than
//! [`MAX_BYTES`] (a buffer that grew past it, for a large head, is freed), so
//! what a thread holds between requests does not depend on its connections
//! (an idle connection holds no head: docs/performance.md "Session 12 (ka2)").
//!
//! [`Stack`], the bounded per-thread stack of spare vectors under it, is public:
//! the forwarding engine keeps its per-request buffers (request copies, write
//! vectors, log lines) in the same kind of stack.

use std::cell::RefCell;

/// Buffers of each kind a thread keeps: enough for the heads of the
/// exchanges a busy thread has under way at once (2 stores, 2 field lists and
/// 4 start-line pieces each; 32 left 0.48 allocations per request with 50
/// connections on 2 threads). At most 128 × (64 + 4,096 + 64 × 32) bytes, about
/// 0.8 MB per thread, in the worst case; a few tens of KB with usual heads.
pub(crate) const KEEP: usize = 128;
/// The largest byte buffer kept (a header store of a usual head is a few
/// hundred bytes; `tune.bufsize` bounds any).
pub(crate) const MAX_BYTES: usize = 4096;
/// A start-line piece (method, target, status, reason) at most this long takes
/// a small buffer; longer ones and header stores take a large one.
const SMALL: usize = 64;
/// The largest field list kept (in fields).
pub(crate) const MAX_FIELDS: usize = 64;

thread_local! {
    static SMALL_BYTES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static LARGE_BYTES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A per-thread stack of spare vectors: at most `keep` kept, each emptied.
/// Never panics: a stack gone (thread exit) or in use (re-entered) takes and
/// keeps nothing.
pub struct Stack<T: 'static> {
    key: &'static std::thread::LocalKey<RefCell<Vec<Vec<T>>>>,
    keep: usize,
}

impl<T> Stack<T> {
    /// The stack kept in `key`, holding at most `keep` vectors.
    pub const fn new(
        key: &'static std::thread::LocalKey<RefCell<Vec<Vec<T>>>>,
        keep: usize,
    ) -> Stack<T> {
        Stack { key, keep }
    }

    /// An empty vector with room for at least `cap` items: a kept one when
    /// there is one (grown if it is too small), else a new one of `fresh`
    /// items (at least `cap`).
    pub fn take(&self, cap: usize, fresh: usize) -> Vec<T> {
        let kept = self
            .key
            .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.pop()))
            .ok()
            .flatten();
        match kept {
            Some(mut v) => {
                v.reserve(cap);
                v
            }
            None => Vec::with_capacity(cap.max(fresh)),
        }
    }

    /// Keeps `v` for a later [`Stack::take`] (emptied) unless the stack is full
    /// or `v` holds no allocation or more than `max` items.
    pub fn give(&self, mut v: Vec<T>, max: usize) {
        if v.capacity() == 0 || v.capacity() > max {
            return;
        }
        v.clear();
        // During the thread's exit the stack may be gone: `v` is then freed.
        let _ = self.key.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                if s.len() < self.keep {
                    s.push(v);
                }
            }
        });
    }
}

fn stack_for(len: usize) -> Stack<u8> {
    if len <= SMALL {
        Stack::new(&SMALL_BYTES, KEEP)
    } else {
        Stack::new(&LARGE_BYTES, KEEP)
    }
}

/// A copy of `bytes` in a spare buffer (`extra`: room to keep beyond them).
pub(crate) fn bytes_from(bytes: &[u8], extra: usize) -> Vec<u8> {
    let mut v = with_capacity(bytes.len() + extra);
    v.extend_from_slice(bytes);
    v
}

/// An empty buffer with room for `cap` bytes, a spare one when the thread has
/// one: for a start-line piece or a header store built from fields (an HTTP/2
/// request's), given back when its head is dropped.
pub fn with_capacity(cap: usize) -> Vec<u8> {
    let fresh = if cap <= SMALL { SMALL } else { cap };
    stack_for(cap).take(cap, fresh)
}

/// Gives a head's byte buffer back to its thread's spares.
pub(crate) fn give_bytes(v: Vec<u8>) {
    let cap = v.capacity();
    stack_for(cap).give(v, MAX_BYTES);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer given back is the one the next head of the thread takes (no
    /// allocation), emptied; the stacks stay bounded; large buffers are freed.
    #[test]
    fn spares_are_reused_and_bounded() {
        let v = bytes_from(b"GET", 0);
        let p = v.as_ptr();
        give_bytes(v);
        let w = bytes_from(b"POST", 0);
        assert_eq!(w.as_ptr(), p);
        assert_eq!(w, b"POST");
        give_bytes(w);

        for _ in 0..KEEP * 3 {
            give_bytes(Vec::with_capacity(1000));
        }
        let kept = LARGE_BYTES.with(|s| s.borrow().len());
        assert_eq!(kept, KEEP);
        give_bytes(Vec::with_capacity(MAX_BYTES + 1));
        assert!(LARGE_BYTES.with(|s| s.borrow().iter().all(|v| v.capacity() <= MAX_BYTES)));

        // A kept buffer too small for the copy grows.
        let big = vec![b'x'; 3000];
        let c = bytes_from(&big, 128);
        assert!(c.capacity() >= 3128);
        assert_eq!(c, big);
    }
}
