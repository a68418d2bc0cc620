//! The word splitter on arbitrary lines: no panic, and well-formed results.
#![no_main]

use haproxide_config::lexer::{split_line, MAX_WORDS};
use libfuzzer_sys::fuzz_target;

fn env(name: &str) -> Option<String> {
    match name {
        "A" => Some("a b  c".into()),
        "E" => Some(String::new()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    match split_line(data, &env) {
        Ok(words) => {
            assert!(words.len() <= MAX_WORDS);
            for w in &words {
                assert!(w.start <= w.end && w.end <= data.len(), "bad span {w:?}");
            }
        }
        Err(e) => assert!(e.pos <= data.len(), "bad error position {e:?}"),
    }
});
