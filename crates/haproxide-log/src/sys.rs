//! The log crate's system calls: every `unsafe` block of the crate is here.

/// The local zone's offset east of UTC at `unix`, in seconds (0 if the C
/// library cannot tell).
pub fn local_offset(unix: i64) -> i32 {
    // One `localtime_r` per second and thread (every log line asks, twice).
    thread_local! {
        static LAST: std::cell::Cell<(i64, i32)> = const { std::cell::Cell::new((i64::MIN, 0)) };
    }
    let (at, off) = LAST.with(|c| c.get());
    if at == unix {
        return off;
    }
    let off = local_offset_now(unix);
    LAST.with(|c| c.set((unix, off)));
    off
}

fn local_offset_now(unix: i64) -> i32 {
    let t = unix as libc::time_t;
    // SAFETY: `tm` is a plain C struct for which all-zero bytes are valid;
    // `localtime_r` is the thread-safe variant and only writes into `tm`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    if r.is_null() {
        0
    } else {
        tm.tm_gmtoff as i32
    }
}
