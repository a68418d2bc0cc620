//! HAProxy's stick tables (configuration.txt §4.2 `stick-table`, `track-sc*`,
//! §7.3.3 `sc_*`/`src_*` fetches; management.txt `show table`, `clear table`,
//! `set table`), sans-IO:
//!
//! - [`table`]: one table: keys, stored data types, expiry, bounded size;
//! - [`freq`]: HAProxy's frequency counters (rates over a period);
//! - [`track`]: a session's tracked counters (`track-sc0..2`) and the
//!   [`haproxide_expr::stktab::StickCtx`] the expression engine reads them by;
//! - [`cli`]: the runtime API's table commands, worded as HAProxy 2.6.12;
//! - [`handover`]: a reload's entries, from the old process to the new one;
//! - [`sync`]: what the peers protocol reads and writes: local updates to
//!   push, entries a remote peer sent.
//!
//! Time is a millisecond clock ([`now_ms`]); every call takes it so tests
//! can move it.
#![forbid(unsafe_code)]

pub mod cli;
pub mod freq;
pub mod handover;
pub mod sync;
pub mod table;
pub mod track;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub use table::{KeyType, Table, TableSpec};
pub use track::{Level, Tracker, View};

/// Milliseconds on a monotonic clock (starts well above 0: HAProxy's tick 0
/// means "never").
pub fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let s = START.get_or_init(Instant::now);
    s.elapsed().as_millis() as u64 + 1_000_000
}

/// Every table of a configuration, in declaration order (`show table` order).
#[derive(Debug, Default)]
pub struct Tables {
    pub list: Vec<Arc<Table>>,
}

impl Tables {
    pub fn new(specs: Vec<TableSpec>) -> Tables {
        Tables {
            list: specs.into_iter().map(|s| Arc::new(Table::new(s))).collect(),
        }
    }

    /// The table named `name`.
    pub fn find(&self, name: &str) -> Option<&Arc<Table>> {
        self.list.iter().find(|t| t.spec.name == name)
    }

    /// The index of the table named `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|t| t.spec.name == name)
    }

    /// Moves the entries of `old`'s tables into the same-named tables here
    /// when key types match (a reload keeps what the local peer would hand
    /// over: management.txt, `peers` with the local peer).
    pub fn adopt(&self, old: &Tables) {
        let now = now_ms();
        for t in &self.list {
            if let Some(o) = old.find(&t.spec.name) {
                if o.spec.key == t.spec.key {
                    table::copy_entries(o, t, now);
                }
            }
        }
    }
}
