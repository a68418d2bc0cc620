//! The PROXY protocol v1/v2 parser of `accept-proxy` binds on arbitrary bytes: no
//! panic; a header found lies within the input (v1 within 107 bytes) and is found
//! again, identical, in exactly its own bytes; no proper prefix of it is complete.
#![no_main]

use haproxide_forward::{parse_proxy_header, ProxyParse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_proxy_header(data) {
        ProxyParse::Done(p) => {
            assert!(p.len <= data.len(), "header longer than the input");
            if data[0] != 0x0d {
                assert!(p.len <= 107, "v1 header over 107 bytes");
            }
            assert_eq!(parse_proxy_header(&data[..p.len]), ProxyParse::Done(p));
            for cut in [0, p.len / 2, p.len - 1] {
                assert!(
                    !matches!(parse_proxy_header(&data[..cut]), ProxyParse::Done(_)),
                    "a prefix of {cut} bytes already complete"
                );
            }
        }
        ProxyParse::Incomplete => {
            // More bytes are wanted only while a header could still start here.
            assert!(data.len() < 16 + 65535);
        }
        ProxyParse::Invalid => {}
    }
});
