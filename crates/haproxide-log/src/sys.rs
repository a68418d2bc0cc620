//! The log crate's system calls: every `unsafe` block of the crate is here.

/// The local zone's offset east of UTC at `unix`, in seconds (0 if the C
/// library cannot tell).
pub fn local_offset(unix: i64) -> i32 {
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
