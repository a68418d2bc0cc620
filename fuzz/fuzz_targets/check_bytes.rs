//! The whole pipeline (reader, parser, resolver) on arbitrary bytes: no panic, no
//! hang, and the exit code is consistent with the diagnostics.
#![no_main]

use haproxide_config::{check_bytes, CheckOptions, Resolver, Target};
use libfuzzer_sys::fuzz_target;

/// A fixed environment, so runs are reproducible and `"${A}"` expands to something.
fn env(name: &str) -> Option<String> {
    match name {
        "A" => Some("a b".into()),
        "PORT" => Some("8080".into()),
        "HOST" => Some("127.0.0.1".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
    };
    let checked = check_bytes("fuzz.cfg", data.to_vec(), &opts);
    let code = checked.exit_code(false);
    assert_eq!(code == 1, checked.has_errors());
    // Every span must point into the source map (renderers rely on it).
    for d in &checked.diagnostics {
        if let Some(s) = d.span {
            let _ = checked.sources.column(s);
        }
    }
});
