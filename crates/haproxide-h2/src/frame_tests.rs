use super::*;

fn one(bytes: &[u8]) -> Result<Frame<'_>, Error> {
    let h = Head::parse(bytes).unwrap();
    assert_eq!(h.len as usize, bytes.len() - HEADER_LEN);
    parse(h, &bytes[HEADER_LEN..])
}

fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    head(&mut out, payload.len(), kind, flags, stream);
    out.extend_from_slice(payload);
    out
}

const PE: ErrorCode = ErrorCode::PROTOCOL_ERROR;
const FSE: ErrorCode = ErrorCode::FRAME_SIZE_ERROR;

#[test]
fn every_type_round_trips() {
    let mut b = Vec::new();
    write_data(&mut b, 1, b"hello", true);
    assert_eq!(
        one(&b),
        Ok(Frame::Data {
            stream: 1,
            data: b"hello",
            flow_len: 5,
            end_stream: true
        })
    );
    b.clear();
    write_headers(&mut b, 3, b"\x82", false, true);
    assert_eq!(
        one(&b),
        Ok(Frame::Headers {
            stream: 3,
            block: b"\x82",
            priority: None,
            end_stream: false,
            end_headers: true
        })
    );
    b.clear();
    let p = Priority {
        dependency: 1,
        exclusive: true,
        weight: 200,
    };
    write_priority(&mut b, 5, p);
    assert_eq!(
        one(&b),
        Ok(Frame::Priority {
            stream: 5,
            priority: p
        })
    );
    b.clear();
    write_rst(&mut b, 7, ErrorCode::CANCEL);
    assert_eq!(
        one(&b),
        Ok(Frame::RstStream {
            stream: 7,
            code: ErrorCode::CANCEL
        })
    );
    b.clear();
    write_settings(
        &mut b,
        &[
            (SETTINGS_MAX_CONCURRENT_STREAMS, 100),
            (SETTINGS_INITIAL_WINDOW_SIZE, 1000),
        ],
    );
    let Ok(Frame::Settings { ack: false, params }) = one(&b) else {
        panic!("{:?}", one(&b))
    };
    assert_eq!(
        settings_params(params).collect::<Vec<_>>(),
        [(3, 100), (4, 1000)]
    );
    b.clear();
    write_settings_ack(&mut b);
    assert_eq!(
        one(&b),
        Ok(Frame::Settings {
            ack: true,
            params: b""
        })
    );
    b.clear();
    write_push_promise(&mut b, 1, 2, b"\x82");
    assert_eq!(
        one(&b),
        Ok(Frame::PushPromise {
            stream: 1,
            promised: 2,
            block: b"\x82",
            end_headers: true
        })
    );
    b.clear();
    write_ping(&mut b, true, *b"12345678");
    assert_eq!(
        one(&b),
        Ok(Frame::Ping {
            ack: true,
            data: *b"12345678"
        })
    );
    b.clear();
    write_goaway(&mut b, 9, ErrorCode::ENHANCE_YOUR_CALM, b"calm");
    assert_eq!(
        one(&b),
        Ok(Frame::GoAway {
            last_stream: 9,
            code: ErrorCode::ENHANCE_YOUR_CALM,
            debug: b"calm"
        })
    );
    b.clear();
    write_window_update(&mut b, 0, MAX_WINDOW);
    assert_eq!(
        one(&b),
        Ok(Frame::WindowUpdate {
            stream: 0,
            increment: MAX_WINDOW
        })
    );
    b.clear();
    write_continuation(&mut b, 1, b"\x84", true);
    assert_eq!(
        one(&b),
        Ok(Frame::Continuation {
            stream: 1,
            block: b"\x84",
            end_headers: true
        })
    );
    assert_eq!(
        one(&raw(0xfa, 0xff, 3, b"xyz")),
        Ok(Frame::Unknown {
            kind: 0xfa,
            stream: 3
        })
    );
}

#[test]
fn reserved_bit_ignored() {
    let mut b = raw(DATA, 0, 1, b"");
    b[5] |= 0x80;
    assert_eq!(Head::parse(&b).unwrap().stream, 1);
}

#[test]
fn padding_rules() {
    // PADDED: pad length 2, data "ab", 2 bytes of padding: flow counts 5.
    assert_eq!(
        one(&raw(DATA, PADDED, 1, b"\x02ab\0\0")),
        Ok(Frame::Data {
            stream: 1,
            data: b"ab",
            flow_len: 5,
            end_stream: false
        })
    );
    // Padding as long as the payload.
    assert!(matches!(one(&raw(DATA, PADDED, 1, b"\x04ab\0")), Err(Error::Conn(e, _)) if e == PE));
    // No room for the pad length.
    assert!(matches!(one(&raw(DATA, PADDED, 1, b"")), Err(Error::Conn(e, _)) if e == FSE));
    assert!(
        matches!(one(&raw(HEADERS, PADDED, 1, b"\x05\x82")), Err(Error::Conn(e, _)) if e == PE)
    );
    // Padded HEADERS with priority.
    let b = raw(
        HEADERS,
        PADDED | PRIORITY_FLAG | END_HEADERS,
        3,
        b"\x01\x00\x00\x00\x01\x10\x82\x00",
    );
    let f = one(&b);
    assert_eq!(
        f,
        Ok(Frame::Headers {
            stream: 3,
            block: b"\x82",
            priority: Some(Priority {
                dependency: 1,
                exclusive: false,
                weight: 16
            }),
            end_stream: false,
            end_headers: true,
        })
    );
    assert!(
        matches!(one(&raw(HEADERS, PRIORITY_FLAG, 3, b"\0\0")), Err(Error::Conn(e, _)) if e == FSE)
    );
}

#[test]
fn stream_zero_rules() {
    for kind in [
        DATA,
        HEADERS,
        PRIORITY,
        RST_STREAM,
        PUSH_PROMISE,
        CONTINUATION,
    ] {
        let p: &[u8] = match kind {
            PRIORITY => b"\0\0\0\x01\x10",
            RST_STREAM | PUSH_PROMISE => b"\0\0\0\x02",
            _ => b"",
        };
        assert!(
            matches!(one(&raw(kind, 0, 0, p)), Err(Error::Conn(e, _)) if e == PE),
            "{kind}"
        );
    }
    assert!(matches!(one(&raw(SETTINGS, 0, 1, b"")), Err(Error::Conn(e, _)) if e == PE));
    assert!(matches!(one(&raw(PING, 0, 1, &[0; 8])), Err(Error::Conn(e, _)) if e == PE));
    assert!(matches!(one(&raw(GOAWAY, 0, 1, &[0; 8])), Err(Error::Conn(e, _)) if e == PE));
}

#[test]
fn size_rules() {
    assert_eq!(
        one(&raw(PRIORITY, 0, 3, b"\0\0\0\x01")),
        Err(Error::Stream(3, FSE, "PRIORITY not 5 bytes"))
    );
    assert_eq!(
        one(&raw(PRIORITY, 0, 3, b"\0\0\0\x03\x10")),
        Err(Error::Stream(3, PE, "stream depends on itself"))
    );
    assert!(matches!(one(&raw(RST_STREAM, 0, 1, b"\0\0\0")), Err(Error::Conn(e, _)) if e == FSE));
    assert!(matches!(one(&raw(SETTINGS, 0, 0, &[0; 7])), Err(Error::Conn(e, _)) if e == FSE));
    assert!(matches!(one(&raw(SETTINGS, ACK, 0, &[0; 6])), Err(Error::Conn(e, _)) if e == FSE));
    assert!(matches!(one(&raw(PING, 0, 0, &[0; 7])), Err(Error::Conn(e, _)) if e == FSE));
    assert!(matches!(one(&raw(GOAWAY, 0, 0, &[0; 7])), Err(Error::Conn(e, _)) if e == FSE));
    assert!(matches!(one(&raw(WINDOW_UPDATE, 0, 0, &[0; 5])), Err(Error::Conn(e, _)) if e == FSE));
    let big = Head {
        len: 16_385,
        kind: DATA,
        flags: 0,
        stream: 1,
    };
    assert!(matches!(check_size(&big, 16_384), Err(Error::Conn(e, _)) if e == FSE));
    assert_eq!(check_size(&big, 32_768), Ok(()));
}

#[test]
fn window_update_zero() {
    assert!(matches!(one(&raw(WINDOW_UPDATE, 0, 0, &[0; 4])), Err(Error::Conn(e, _)) if e == PE));
    assert_eq!(
        one(&raw(WINDOW_UPDATE, 0, 5, &[0; 4])),
        Err(Error::Stream(5, PE, "WINDOW_UPDATE of 0"))
    );
}

#[test]
fn settings_values() {
    let s = |id: u16, v: u32| {
        let mut b = Vec::new();
        write_settings(&mut b, &[(id, v)]);
        b
    };
    assert!(matches!(one(&s(SETTINGS_ENABLE_PUSH, 2)), Err(Error::Conn(e, _)) if e == PE));
    assert!(matches!(
        one(&s(SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW + 1)),
        Err(Error::Conn(e, _)) if e == ErrorCode::FLOW_CONTROL_ERROR
    ));
    assert!(matches!(one(&s(SETTINGS_MAX_FRAME_SIZE, 16_383)), Err(Error::Conn(e, _)) if e == PE));
    assert!(matches!(one(&s(SETTINGS_MAX_FRAME_SIZE, 1 << 24)), Err(Error::Conn(e, _)) if e == PE));
    assert!(one(&s(SETTINGS_MAX_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT)).is_ok());
    assert!(one(&s(0x99, 12345)).is_ok()); // unknown: ignored
}

#[test]
fn garbage_never_panics() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..50_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kind = (seed % 11) as u8;
        let flags = (seed >> 8) as u8;
        let len = ((seed >> 16) % 20) as usize;
        let p: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
        let _ = parse(
            Head {
                len: len as u32,
                kind,
                flags,
                stream: (seed >> 40) as u32 & 7,
            },
            &p,
        );
    }
}
