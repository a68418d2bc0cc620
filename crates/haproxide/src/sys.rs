//! The global allocator of the default build: the C library's malloc
//! (docs/performance.md "Session 10 (alloc)"), with a small per-thread cache of
//! cache-line-aligned blocks in front of it.
//!
//! tokio aligns a task and each socket's registration to 128 bytes (cache
//! padding), and glibc serves an alignment above 16 with `posix_memalign`,
//! which carves the block out of a larger one and frees the rest: about 610
//! instructions a call, against ~60 for a `malloc`. A connection served once
//! (HTTP `Connection: close`) costs three of them: its task and its two
//! sockets' registrations (bench/http1-callgrind.sh CLOSE=1:
//! docs/performance.md "Session 13 (ka3)"). Here a freed block of such an
//! alignment, up to [`CLASSES`] × 128 bytes, stays on its thread's list of its
//! size for the next one, as HAProxy keeps its pools per thread: at most
//! [`DEPTH`] per size, so a thread holds at most 16 × 128 × (1 + ... + 8)
//! bytes (73,728) this way, whatever its connections. The lists are freed when
//! their thread ends. Every other allocation goes to malloc as before.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;

/// The alignment of the blocks kept (and of every block of a kept size).
const LINE: usize = 128;
/// Sizes kept: 128, 256, ... up to `CLASSES * LINE` bytes.
const CLASSES: usize = 8;
/// Blocks kept per size and thread.
const DEPTH: usize = 16;

/// One thread's kept blocks, by size class.
struct Bins {
    len: [usize; CLASSES],
    blocks: [[*mut u8; DEPTH]; CLASSES],
}

impl Bins {
    const fn new() -> Bins {
        Bins {
            len: [0; CLASSES],
            blocks: [[std::ptr::null_mut(); DEPTH]; CLASSES],
        }
    }

    fn pop(&mut self, class: usize) -> Option<*mut u8> {
        let n = self.len.get_mut(class)?;
        let i = n.checked_sub(1)?;
        let p = *self.blocks.get(class)?.get(i)?;
        *n = i;
        Some(p)
    }

    /// Whether `p` was kept (else the caller frees it).
    fn push(&mut self, class: usize, p: *mut u8) -> bool {
        let (Some(n), Some(list)) = (self.len.get_mut(class), self.blocks.get_mut(class)) else {
            return false;
        };
        match list.get_mut(*n) {
            Some(slot) => {
                *slot = p;
                *n += 1;
                true
            }
            None => false,
        }
    }
}

impl Drop for Bins {
    fn drop(&mut self) {
        for class in 0..CLASSES {
            while let Some(p) = self.pop(class) {
                // SAFETY: every kept block came from `System.alloc` with the
                // layout of its class (`alloc` below) and is owned by nobody.
                unsafe { System.dealloc(p, class_layout(class)) };
            }
        }
    }
}

thread_local! {
    /// Const-initialized: reading it never allocates (it may run inside
    /// `alloc`). Its destructor frees what it keeps.
    static BINS: RefCell<Bins> = const { RefCell::new(Bins::new()) };
}

/// The class of a layout served from the lists: an alignment above malloc's
/// own (16) up to [`LINE`], and a size up to `CLASSES * LINE`.
fn class_of(l: &Layout) -> Option<usize> {
    if l.align() <= 16 || l.align() > LINE || l.size() == 0 || l.size() > CLASSES * LINE {
        return None;
    }
    Some((l.size() - 1) / LINE)
}

/// The layout every block of `class` is allocated with: its whole size, at
/// [`LINE`] alignment (so that any request of the class fits any block).
fn class_layout(class: usize) -> Layout {
    // (class + 1) * LINE is a multiple of LINE, a power of two: always valid.
    Layout::from_size_align((class + 1) * LINE, LINE).unwrap_or(Layout::new::<[u8; LINE]>())
}

/// The C library's malloc with the per-thread lists of aligned blocks.
pub(crate) struct Alloc;

// SAFETY: blocks of a class are allocated and freed with the class's layout
// (`class_layout`), which fits every layout of the class (size at most the
// class's, alignment at most LINE); other layouts go to `System` unchanged.
unsafe impl GlobalAlloc for Alloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let Some(class) = class_of(&l) else {
            // SAFETY: the caller's contract, passed on.
            return unsafe { System.alloc(l) };
        };
        let kept = BINS
            .try_with(|b| b.try_borrow_mut().ok().and_then(|mut b| b.pop(class)))
            .ok()
            .flatten();
        match kept {
            Some(p) => p,
            // SAFETY: a valid, non-zero layout.
            None => unsafe { System.alloc(class_layout(class)) },
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let Some(class) = class_of(&l) else {
            // SAFETY: `p` came from `System.alloc(l)` (the caller's contract).
            return unsafe { System.dealloc(p, l) };
        };
        let kept = BINS
            .try_with(|b| b.try_borrow_mut().is_ok_and(|mut b| b.push(class, p)))
            .unwrap_or(false);
        if !kept {
            // SAFETY: a block of the class, allocated with its layout.
            unsafe { System.dealloc(p, class_layout(class)) };
        }
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if class_of(&l).is_none() {
            // SAFETY: the caller's contract (calloc for small alignments).
            return unsafe { System.alloc_zeroed(l) };
        }
        // SAFETY: the caller's contract; the block has at least l.size() bytes.
        let p = unsafe { self.alloc(l) };
        if !p.is_null() {
            // SAFETY: `p` points to at least l.size() writable bytes.
            unsafe { std::ptr::write_bytes(p, 0, l.size()) };
        }
        p
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align(new_size, l.align());
        if class_of(&l).is_none() && new.as_ref().is_ok_and(|n| class_of(n).is_none()) {
            // SAFETY: neither layout is a class's: `p` is System's, as the
            // new block will be (glibc's realloc, which may grow in place).
            return unsafe { System.realloc(p, l, new_size) };
        }
        let Ok(new) = new else {
            return std::ptr::null_mut();
        };
        // SAFETY: a valid layout (the caller's contract: non-zero size).
        let q = unsafe { self.alloc(new) };
        if !q.is_null() {
            // SAFETY: both blocks hold at least the smaller size; distinct blocks.
            unsafe {
                std::ptr::copy_nonoverlapping(p, q, l.size().min(new_size));
                self.dealloc(p, l);
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_aligned_sizes_up_to_a_kilobyte_only() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class_of(&l(64, 8)), None, "malloc's own alignment");
        assert_eq!(class_of(&l(128, 16)), None);
        assert_eq!(class_of(&l(128, 128)), Some(0));
        assert_eq!(class_of(&l(129, 64)), Some(1));
        assert_eq!(class_of(&l(1024, 128)), Some(7));
        assert_eq!(class_of(&l(1025, 128)), None, "too large");
        assert_eq!(class_of(&l(256, 256)), None, "alignment above a line");
    }

    #[repr(align(128))]
    struct Padded([u8; 300]);

    #[test]
    fn a_freed_aligned_block_serves_the_next_of_its_class() {
        let a = Box::new(Padded([7; 300]));
        let pa = &*a as *const Padded as usize;
        assert_eq!(pa % 128, 0);
        drop(a);
        let b = Box::new(Padded([9; 300]));
        let pb = &*b as *const Padded as usize;
        assert_eq!(pb, pa, "the kept block came back");
        assert!(b.0.iter().all(|&x| x == 9));
    }

    #[test]
    fn a_full_list_frees_and_every_block_stays_aligned_and_distinct() {
        let many: Vec<Box<Padded>> = (0..3 * DEPTH)
            .map(|i| Box::new(Padded([i as u8; 300])))
            .collect();
        let mut addrs: Vec<usize> = many
            .iter()
            .map(|b| &**b as *const Padded as usize)
            .collect();
        assert!(addrs.iter().all(|a| a % 128 == 0));
        for (i, b) in many.iter().enumerate() {
            assert!(b.0.iter().all(|&x| x == i as u8), "no block shared");
        }
        addrs.sort();
        addrs.dedup();
        assert_eq!(addrs.len(), 3 * DEPTH);
        drop(many);
        let kept = BINS.with(|b| b.borrow().len[class_of(&Layout::new::<Padded>()).unwrap()]);
        assert_eq!(kept, DEPTH, "at most DEPTH kept");
    }

    #[test]
    fn realloc_keeps_the_bytes_across_classes() {
        let a = Alloc;
        let l = Layout::from_size_align(200, 128).unwrap();
        // SAFETY: valid layouts; each block used within its size.
        unsafe {
            let p = a.alloc(l);
            assert!(!p.is_null());
            std::ptr::write_bytes(p, 5, 200);
            let q = a.realloc(p, l, 2000);
            assert!(!q.is_null());
            assert_eq!(q as usize % 128, 0);
            assert!(std::slice::from_raw_parts(q, 200).iter().all(|&x| x == 5));
            let r = a.realloc(q, Layout::from_size_align(2000, 128).unwrap(), 100);
            assert!(std::slice::from_raw_parts(r, 100).iter().all(|&x| x == 5));
            a.dealloc(r, Layout::from_size_align(100, 128).unwrap());
            let z = a.alloc_zeroed(l);
            assert!(std::slice::from_raw_parts(z, 200).iter().all(|&x| x == 0));
            a.dealloc(z, l);
        }
    }
}
