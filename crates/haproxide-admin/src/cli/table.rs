//! management.txt §9.3 `show table [<name> [data.<type> <op> <v>]* | key <k>]`,
//! `clear table <name> [...]`, `set table <name> key <k> [data.<type> <v>]*`:
//! the commands over the process's stick tables, worded as HAProxy 2.6.12
//! (haproxide_stick::cli). On a listener below `operator` level the
//! contents are not shown nor cleared; below `operator` now (`user`), keyed
//! commands are denied (HAProxy's `cli_has_level` check).

use std::sync::Arc;

use haproxide_stick::cli::{self, Action};
use haproxide_stick::Tables;

/// The answer to `<verb> table <rest...>`.
/// `(listener, now)`: whether the listener's and the session's level are at
/// least `operator`.
pub fn run(tables: Option<Arc<Tables>>, verb: &str, rest: &[&str], levels: (bool, bool)) -> String {
    let action = match verb {
        "show" => Action::Show,
        "clear" => Action::Clear,
        _ => Action::Set,
    };
    let tables = tables.unwrap_or_default();
    match cli::run(&tables, action, rest, levels) {
        Ok(s) | Err(s) => s,
    }
}
