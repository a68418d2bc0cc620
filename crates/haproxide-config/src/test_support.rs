//! What the crate's unit tests share: checking a text the way `haproxy -c` 2.6
//! would (no environment, no resolution, no file checks).

use crate::{check_bytes, CheckOptions, Checked, NoAccounts, Resolver, Target};

fn no_env(_: &str) -> Option<String> {
    None
}

/// Checks `text` as the file `t.cfg`, for HAProxy 2.6.
pub(crate) fn check_text(text: &str) -> Checked {
    let opts = CheckOptions {
        target: Target::V2_6,
        env: &no_env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &NoAccounts,
    };
    check_bytes("t.cfg", text.as_bytes().to_vec(), &opts)
}
