use super::*;

fn varint(v: u64) -> Vec<u8> {
    let mut o = Vec::new();
    put_varint(&mut o, v);
    o
}

#[test]
fn varints_are_haproxys_peers_encoding() {
    // SPOE.txt §3.1's ranges.
    assert_eq!(varint(0), [0]);
    assert_eq!(varint(239), [239]);
    assert_eq!(varint(240), [0xF0, 0x00]);
    assert_eq!(varint(2287), [0xFF, 0x7F]);
    assert_eq!(varint(2288).len(), 3);
    assert_eq!(varint(264_431).len(), 3);
    assert_eq!(varint(264_432).len(), 4);
    assert_eq!(varint(33_818_863).len(), 4);
    assert_eq!(varint(33_818_864).len(), 5);
    for v in [
        0,
        1,
        239,
        240,
        241,
        1000,
        2287,
        2288,
        65535,
        1 << 32,
        u64::MAX / 3,
        u64::MAX,
    ] {
        let b = varint(v);
        let mut r = Reader::new(&b);
        assert_eq!(r.varint(), Ok(v), "{v}");
        assert!(r.is_empty());
    }
    // Truncated, and endless continuation bytes.
    assert_eq!(Reader::new(&[0xF0]).varint(), Err(Status::Invalid));
    assert_eq!(Reader::new(&[0xFF; 20]).varint(), Err(Status::Invalid));
}

#[test]
fn hello_bytes() {
    let f = haproxy_hello(16380, "pipelining,async", "e", false);
    let mut want = vec![0, 0, 0, 0, HAPROXY_HELLO, 0, 0, 0, 1, 0, 0];
    want.extend_from_slice(b"\x12supported-versions\x08\x032.0");
    want.extend_from_slice(b"\x0emax-frame-size\x03");
    want.extend_from_slice(&varint(16380));
    want.extend_from_slice(b"\x0ccapabilities\x08\x10pipelining,async");
    want.extend_from_slice(b"\x09engine-id\x08\x01e");
    let len = (want.len() - 4) as u32;
    want[..4].copy_from_slice(&len.to_be_bytes());
    assert_eq!(f, want);
    let hc = haproxy_hello(16380, "", "e", true);
    assert!(hc.windows(13).any(|w| w == b"\x0bhealthcheck\x11"));
}

#[test]
fn notify_bytes_and_size_limit() {
    let msgs = [Message {
        name: "m".into(),
        args: vec![
            ("ip".into(), Value::Ipv4(Ipv4Addr::new(127, 0, 0, 1))),
            (String::new(), Value::Str(b"ab".to_vec())),
            ("n".into(), Value::Int64(-1)),
            ("b".into(), Value::Bool(true)),
            ("z".into(), Value::Null),
        ],
    }];
    let f = notify(5, 1, &msgs, 16380).expect("fits");
    let mut want = vec![0, 0, 0, 0, NOTIFY, 0, 0, 0, 1, 5, 1, 1, b'm', 5];
    want.extend_from_slice(b"\x02ip\x06\x7f\x00\x00\x01");
    want.extend_from_slice(b"\x00\x08\x02ab");
    want.extend_from_slice(b"\x01n\x04");
    want.extend_from_slice(&varint(u64::MAX));
    want.extend_from_slice(b"\x01b\x11\x01z\x00");
    let len = (want.len() - 4) as u32;
    want[..4].copy_from_slice(&len.to_be_bytes());
    assert_eq!(f, want);
    let big = [Message {
        name: "m".into(),
        args: vec![("x".into(), Value::Bin(vec![0; 300]))],
    }];
    assert_eq!(notify(1, 1, &big, 256), Err(Status::TooBig));
}

fn kv(items: &[(&str, Value)]) -> Vec<u8> {
    let mut o = Vec::new();
    for (k, v) in items {
        put_string(&mut o, k.as_bytes());
        put_value(&mut o, v);
    }
    o
}

#[test]
fn agent_hello_is_checked() {
    let ok = kv(&[
        ("version", Value::Str(b"2.0".to_vec())),
        ("max-frame-size", Value::Uint32(1024)),
        ("capabilities", Value::Str(b"pipelining, async".to_vec())),
    ]);
    let h = agent_hello(Reader::new(&ok), 16380).expect("ok");
    assert_eq!(h.max_frame_size, 1024);
    assert!(h.pipelining && h.async_ && !h.fragmentation);
    let cases = [
        (
            kv(&[
                ("max-frame-size", Value::Uint32(1024)),
                ("capabilities", Value::Str(vec![])),
            ]),
            Status::NoVsn,
        ),
        (
            kv(&[
                ("version", Value::Str(b"1.0".to_vec())),
                ("max-frame-size", Value::Uint32(1024)),
                ("capabilities", Value::Str(vec![])),
            ]),
            Status::BadVsn,
        ),
        (
            kv(&[
                ("version", Value::Str(b"2.0".to_vec())),
                ("capabilities", Value::Str(vec![])),
            ]),
            Status::NoFrameSize,
        ),
        (
            kv(&[
                ("version", Value::Str(b"2.0".to_vec())),
                ("max-frame-size", Value::Uint32(100)),
                ("capabilities", Value::Str(vec![])),
            ]),
            Status::BadFrameSize,
        ),
        (
            kv(&[
                ("version", Value::Str(b"2.0".to_vec())),
                ("max-frame-size", Value::Uint32(20000)),
                ("capabilities", Value::Str(vec![])),
            ]),
            Status::BadFrameSize,
        ),
        (
            kv(&[
                ("version", Value::Str(b"2.0".to_vec())),
                ("max-frame-size", Value::Uint32(1024)),
            ]),
            Status::NoCap,
        ),
    ];
    for (payload, st) in cases {
        assert_eq!(agent_hello(Reader::new(&payload), 16380), Err(st));
    }
}

#[test]
fn ack_actions_decode_and_garbage_is_invalid() {
    let mut p = vec![ACT_SET_VAR, 3, 2];
    put_string(&mut p, b"score");
    put_value(&mut p, &Value::Uint32(42));
    p.extend_from_slice(&[ACT_UNSET_VAR, 2, 1]);
    put_string(&mut p, b"old");
    // An unknown action with one argument is skipped.
    p.extend_from_slice(&[77, 1, T_BOOL]);
    let a = actions(Reader::new(&p)).expect("ok");
    assert_eq!(
        a,
        [
            Action::SetVar {
                scope: Scope::Txn,
                name: b"score".to_vec(),
                value: Value::Uint32(42)
            },
            Action::UnsetVar {
                scope: Scope::Sess,
                name: b"old".to_vec()
            },
        ]
    );
    for bad in [
        &[ACT_SET_VAR, 3, 9][..],
        &[ACT_SET_VAR, 2, 2, 1, b'x'],
        &[ACT_SET_VAR, 3, 2, 200],
        &[ACT_SET_VAR, 3, 2, 1, b'x', 0x0F],
    ] {
        assert_eq!(actions(Reader::new(bad)), Err(Status::Invalid), "{bad:?}");
    }
    // Every prefix of a valid frame is refused or decoded, never a panic.
    for n in 0..p.len() {
        let _ = actions(Reader::new(&p[..n]));
    }
}

#[test]
fn disconnect_bytes() {
    let f = haproxy_disconnect(Status::Timeout);
    let (h, r) = head(&f[4..]).expect("head");
    assert_eq!(
        (h.ty, h.flags, h.stream_id, h.frame_id),
        (HAPROXY_DISCONNECT, FL_FIN, 0, 0)
    );
    assert_eq!(agent_disconnect(r), (2, "a timeout occurred".into()));
}
