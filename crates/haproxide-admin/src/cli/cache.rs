//! management.txt §9.3 `show cache`: each cache with its free blocks, then
//! its live entries, in HAProxy 2.6's layout (addresses are the process's own,
//! the hash is haproxide's 32-bit hash of the primary key).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use haproxide_http::cache::Cache;

/// The answer to `show cache`.
pub(crate) fn show_cache(caches: &[Arc<Cache>]) -> String {
    let now = haproxide_http::cache::now();
    let mut out = String::new();
    for c in caches {
        out.push_str(&format!(
            "{:p}: {} (shctx:{:p}, available blocks:{})\n",
            Arc::as_ptr(c),
            c.spec.name,
            &c.spec,
            c.available_blocks()
        ));
        for (key, e) in c.entries(now) {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            key.hash(&mut h);
            let vary = e.sec.map(|s| s.hex()).unwrap_or_else(|| "0".repeat(16));
            out.push_str(&format!(
                "{:p} hash:{} vary:0x{} size:{} ({} blocks), refcount:{}, expire:{}\n",
                Arc::as_ptr(&e),
                h.finish() as u32,
                vary,
                e.body.len()
                    + e.head
                        .headers
                        .iter()
                        .map(|f| f.name.len() + f.value.len())
                        .sum::<usize>(),
                e.blocks,
                Arc::strong_count(&e).saturating_sub(2),
                e.expire.saturating_sub(now)
            ));
        }
    }
    out
}
