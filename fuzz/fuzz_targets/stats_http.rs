//! The stats page's HTTP/1.x request parser on arbitrary bytes: no panic; a head
//! found lies within the input, its body within the bound, its target printable
//! ASCII; and the page options parsed from that target never carry a CR, LF or NUL
//! into the links and the 303 `Location` they are copied to.
#![no_main]

use haproxide_admin::stats::http::{parse_head, Parsed};
use haproxide_admin::stats::PageOpts;
use libfuzzer_sys::fuzz_target;

const MAX_HEAD: usize = 1024;
const MAX_BODY: usize = 256;

fuzz_target!(|data: &[u8]| {
    match parse_head(data, MAX_HEAD, MAX_BODY) {
        Parsed::Head(req, head_len, body_len) => {
            assert!(head_len <= data.len());
            assert!(body_len <= MAX_BODY);
            assert!(req.target.bytes().all(|b| (0x21..0x7f).contains(&b)));
            let opts = PageOpts::parse(&req.target);
            let suffix = opts.suffix();
            assert!(!suffix.contains(['\r', '\n', '\0']), "{suffix:?}");
            if let Some(scope) = &opts.scope {
                assert!(scope.len() <= 20);
            }
        }
        Parsed::Partial => assert!(data.len() <= MAX_HEAD),
        Parsed::Bad(code) => assert!([400, 413, 501].contains(&code)),
    }
});
