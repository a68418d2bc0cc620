use super::*;
use crate::hpack::encode;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fields(l: &HeaderList) -> Vec<(String, String)> {
    l.iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// Decodes a block without a list bound.
fn dec(d: &mut Decoder, block: &[u8]) -> Result<Fit, DecodeError> {
    d.decode(block, 1 << 20, &mut HeaderList::new())
}

fn check(d: &mut Decoder, block: &str, want: &[(&str, &str)], table_size: usize) {
    let mut l = HeaderList::new();
    assert_eq!(d.decode(&hex(block), 1 << 20, &mut l), Ok(Fit::Whole));
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(fields(&l), want);
    assert_eq!(d.table().size(), table_size);
}

/// RFC 7541 C.3 (requests, no Huffman) and C.4 (the same, Huffman): one
/// decoder per connection, its table growing.
#[test]
fn appendix_c3_c4_requests() {
    for blocks in [
        [
            "828684410f7777772e6578616d706c652e636f6d",
            "828684be58086e6f2d6361636865",
            "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
        ],
        [
            "828684418cf1e3c2e5f23a6ba0ab90f4ff",
            "828684be5886a8eb10649cbf",
            "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
        ],
    ] {
        let mut d = Decoder::new(4096);
        let base = [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ];
        check(&mut d, blocks[0], &base, 57);
        let mut second = base.to_vec();
        second.push(("cache-control", "no-cache"));
        check(&mut d, blocks[1], &second, 110);
        check(
            &mut d,
            blocks[2],
            &[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ],
            164,
        );
        assert_eq!(
            d.table().get(0),
            Some((&b"custom-key"[..], &b"custom-value"[..]))
        );
    }
}

/// RFC 7541 C.5 (responses, no Huffman) and C.6 (Huffman), table of 256
/// bytes: entries evicted.
#[test]
fn appendix_c5_c6_responses_with_eviction() {
    let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    let date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
    let cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
    for blocks in [
        [
            "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
            "4803333037c1c0bf",
            "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
        ],
        [
            "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
            "4883640effc1c0bf",
            "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        ],
    ] {
        let mut d = Decoder::new(256);
        // C.5.1 and C.5.2 differ by their status only.
        for (block, status) in [(blocks[0], "302"), (blocks[1], "307")] {
            let want = [
                (":status", status),
                ("cache-control", "private"),
                ("date", date1),
                ("location", "https://www.example.com"),
            ];
            check(&mut d, block, &want, 222);
        }
        check(
            &mut d,
            blocks[2],
            &[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", date2),
                ("location", "https://www.example.com"),
                ("content-encoding", "gzip"),
                ("set-cookie", cookie),
            ],
            215,
        );
        assert_eq!(d.table().len(), 3);
    }
}

#[test]
fn integer_bounds() {
    let mut d = Decoder::new(4096);
    // RFC 7541 C.1.2: 1337 with a 5-bit prefix, as a size update of 1337.
    assert_eq!(dec(&mut d, &[0x3f, 0x9a, 0x0a]), Ok(Fit::Whole));
    assert_eq!(d.table().max_size(), 1337);
    // Too many continuation bytes.
    assert_eq!(
        dec(&mut d, &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        Err(DecodeError::IntegerOverflow)
    );
    // Ends inside an integer.
    assert_eq!(dec(&mut d, &[0xff, 0x80]), Err(DecodeError::Truncated));
}

#[test]
fn table_size_updates() {
    let mut d = Decoder::new(4096);
    // Above the advertised size: the HPACK bomb's first step.
    assert_eq!(
        dec(&mut d, &[0x3f, 0xe2, 0x1f]),
        Err(DecodeError::TableSizeTooLarge)
    );
    // After a field.
    assert_eq!(dec(&mut d, &[0x82, 0x20]), Err(DecodeError::LateSizeUpdate));
    // Two updates at the start are allowed (§4.2); 0 empties the table.
    assert_eq!(dec(&mut d, &hex("4001610162")), Ok(Fit::Whole));
    assert_eq!(d.table().len(), 1);
    assert_eq!(dec(&mut d, &hex("20 3fe11f 82")), Ok(Fit::Whole));
    assert_eq!(d.table().len(), 0);
    assert_eq!(d.table().max_size(), 4096);
}

#[test]
fn bad_indices_and_strings() {
    let mut d = Decoder::new(4096);
    assert_eq!(dec(&mut d, &[0x80]), Err(DecodeError::BadIndex));
    assert_eq!(dec(&mut d, &[0xbe]), Err(DecodeError::BadIndex));
    // A string longer than the block.
    assert_eq!(
        dec(&mut d, &[0x00, 0x05, b'a']),
        Err(DecodeError::Truncated)
    );
    // A Huffman string with bad padding.
    assert_eq!(
        dec(&mut d, &[0x00, 0x81, 0x18, 0x00]),
        Err(DecodeError::Huffman)
    );
}

/// The bomb: one 4 KB field indexed, then referenced many times. The list
/// stops growing at the bound; the decoder still walks the block.
#[test]
fn list_bound_enforced_while_decoding() {
    let mut d = Decoder::new(8192);
    let mut block = vec![0x40];
    crate::hpack::put_str(&mut block, b"x-bomb", false);
    crate::hpack::put_str(&mut block, &[b'a'; 4000], false);
    block.extend(std::iter::repeat_n(0xbe, 2000)); // index 62: the entry
    let mut l = HeaderList::new();
    assert_eq!(d.decode(&block, 16384, &mut l), Ok(Fit::TooLarge));
    assert_eq!(l.len(), 4); // 4 x 4038 <= 16384 < 5 x 4038
    assert_eq!(l.size(), 2001 * 4038);
    assert!(l.buf.len() <= 16384);
}

#[test]
fn garbage_never_panics() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let block: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let mut d = Decoder::new(256);
        let mut l = HeaderList::new();
        let _ = d.decode(&block, 4096, &mut l);
        assert!(d.table().size() <= 256);
        assert!(l.buf.len() <= 4096 + 64 * 8);
    }
}

proptest::proptest! {
    /// Whatever the encoder writes (raw or Huffman strings, static names or
    /// not), the decoder reads back.
    #[test]
    fn round_trip(fields in proptest::collection::vec(
        (proptest::sample::select(vec![
            "content-type".to_string(), "server".to_string(), "x-a".to_string(),
            "set-cookie".to_string(), "etag".to_string(), "x-long-name-of-field".to_string(),
        ]), proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
        0..20), status in 100u16..1000, huff in proptest::bool::ANY) {
        let mut block = Vec::new();
        encode::status(&mut block, status);
        for (n, v) in &fields {
            if huff {
                block.push(0x00);
                crate::hpack::put_str(&mut block, n.as_bytes(), true);
                crate::hpack::put_str(&mut block, v, true);
            } else {
                encode::field(&mut block, n.as_bytes(), v);
            }
        }
        let mut d = Decoder::new(4096);
        let mut l = HeaderList::new();
        proptest::prop_assert_eq!(d.decode(&block, 1 << 20, &mut l), Ok(Fit::Whole));
        let st = status.to_string();
        proptest::prop_assert_eq!(l.get(0), Some((&b":status"[..], st.as_bytes())));
        proptest::prop_assert_eq!(l.len(), fields.len() + 1);
        for (i, (n, v)) in fields.iter().enumerate() {
            proptest::prop_assert_eq!(l.get(i + 1), Some((n.as_bytes(), &v[..])));
        }
    }
}
