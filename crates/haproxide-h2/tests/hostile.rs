//! Hostile clients against the server, byte by byte: each attack gets the exact
//! GOAWAY or RST_STREAM it should, and nothing grows past its bound.

use haproxide_h2::frame::{self, Head};
use haproxide_h2::hpack::{put_int, put_str};
use haproxide_h2::server::PREFACE;
use haproxide_h2::{ErrorCode, Event, Server, Settings};

fn start() -> Vec<u8> {
    let mut b = PREFACE.to_vec();
    frame::write_settings(&mut b, &[]);
    b
}

fn get_block(path: &str) -> Vec<u8> {
    let mut b = vec![0x82, 0x87, 0x04];
    put_str(&mut b, path.as_bytes(), false);
    b
}

fn frames(s: &mut Server) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let out = s.pending_output().to_vec();
    s.consume(out.len());
    let mut v = Vec::new();
    let mut p = &out[..];
    while let Some(h) = Head::parse(p) {
        let end = 9 + h.len as usize;
        v.push((h.kind, h.flags, h.stream, p[9..end].to_vec()));
        p = &p[end..];
    }
    v
}

fn goaway(last: u32, code: ErrorCode) -> (u8, u8, u32, Vec<u8>) {
    let mut p = last.to_be_bytes().to_vec();
    p.extend_from_slice(&code.0.to_be_bytes());
    (frame::GOAWAY, 0, 0, p)
}

fn rst(stream: u32, code: ErrorCode) -> (u8, u8, u32, Vec<u8>) {
    (frame::RST_STREAM, 0, stream, code.0.to_be_bytes().to_vec())
}

/// Feeds `input`, expects the connection error `code` and a GOAWAY with it as
/// the last frame written.
fn expect_goaway(s: &mut Server, input: &[u8], last: u32, code: ErrorCode) {
    let e = s.feed(input).unwrap_err();
    assert_eq!(e.code, code, "{e}");
    let f = frames(s);
    assert_eq!(f.last(), Some(&goaway(last, code)), "{e}");
    // Nothing more is taken.
    assert_eq!(s.feed(b"\0\0\0\x04\0\0\0\0\0").unwrap_err(), e);
}

#[test]
fn continuation_flood() {
    let mut s = Server::new(Settings::default());
    let mut b = start();
    let block = get_block("/");
    frame::write_headers(&mut b, 1, &block[..2], true, false);
    // Endless CONTINUATION frames, empty ones too: cut at 2 x 16 KiB.
    let mut fed = 0;
    let mut err = None;
    s.feed(&b).unwrap();
    for i in 0..100_000 {
        let mut c = Vec::new();
        frame::write_continuation(
            &mut c,
            1,
            if i % 2 == 0 { b"" } else { &[0x40; 100] },
            false,
        );
        fed += c.len();
        if let Err(e) = s.feed(&c) {
            err = Some(e);
            break;
        }
    }
    let e = err.expect("cut");
    assert_eq!(e.code, ErrorCode::ENHANCE_YOUR_CALM);
    assert!(fed <= 2 * 16_384 + 200, "{fed}");
    assert_eq!(
        frames(&mut s).last(),
        Some(&goaway(0, ErrorCode::ENHANCE_YOUR_CALM))
    );
    assert!(s.poll_event().is_none());
}

#[test]
fn hpack_bomb_table_size_update() {
    let mut s = Server::new(Settings::default());
    let mut b = start();
    let mut block = Vec::new();
    put_int(&mut block, 0x20, 5, 1 << 20); // table of 1 MiB: above the 4096 advertised
    block.extend_from_slice(&get_block("/"));
    frame::write_headers(&mut b, 1, &block, true, true);
    expect_goaway(&mut s, &b, 0, ErrorCode::COMPRESSION_ERROR);
}

#[test]
fn hpack_bomb_list_size() {
    // One 4 KB field indexed, then referenced 2,000 times: 8 MB decoded from
    // 6 KB. The stream is reset; the next one is served.
    let mut s = Server::new(Settings::default());
    let mut b = start();
    let mut block = get_block("/");
    block.push(0x40);
    put_str(&mut block, b"x-bomb", false);
    put_str(&mut block, &[b'a'; 4000], false);
    block.extend(std::iter::repeat_n(0xbe, 2000));
    frame::write_headers(&mut b, 1, &block[..4000], true, false);
    frame::write_continuation(&mut b, 1, &block[4000..], true);
    frame::write_headers(&mut b, 3, &get_block("/ok"), true, true);
    s.feed(&b).unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(ev.len(), 1);
    assert!(matches!(&ev[0], Event::Request { stream: 3, .. }));
    assert!(frames(&mut s).contains(&rst(1, ErrorCode::PROTOCOL_ERROR)));
}

#[test]
fn connection_window_overflow() {
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_window_update(&mut b, 0, frame::MAX_WINDOW - 65_535);
    s.feed(&b).unwrap();
    let mut b = Vec::new();
    frame::write_window_update(&mut b, 0, 1);
    expect_goaway(&mut s, &b, 0, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn stream_window_overflow() {
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_headers(&mut b, 1, &get_block("/"), true, true);
    frame::write_window_update(&mut b, 1, frame::MAX_WINDOW);
    s.feed(&b).unwrap();
    assert!(frames(&mut s).contains(&rst(1, ErrorCode::FLOW_CONTROL_ERROR)));
    // Through SETTINGS_INITIAL_WINDOW_SIZE on an open stream.
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_headers(&mut b, 1, &get_block("/"), true, true);
    frame::write_window_update(&mut b, 1, frame::MAX_WINDOW - 65_535);
    frame::write_settings(&mut b, &[(frame::SETTINGS_INITIAL_WINDOW_SIZE, 65_536)]);
    expect_goaway(&mut s, &b, 1, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn data_beyond_the_window() {
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_headers(&mut b, 1, &[0x83, 0x87, 0x84], false, true);
    // The whole window (65,535) is fine, one byte more is not.
    for n in [16_384, 16_384, 16_384, 16_383] {
        frame::write_data(&mut b, 1, &vec![0; n], false);
    }
    s.feed(&b).unwrap();
    let mut more = Vec::new();
    frame::write_data(&mut more, 1, &[0], false);
    expect_goaway(&mut s, &more, 1, ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn rapid_reset() {
    let settings = Settings::default();
    let mut s = Server::new(settings);
    s.feed(&start()).unwrap();
    let mut requests = 0;
    let mut err = None;
    for i in 0..5_000u32 {
        let id = 2 * i + 1;
        let mut b = Vec::new();
        frame::write_headers(&mut b, id, &get_block("/"), true, true);
        frame::write_rst(&mut b, id, ErrorCode::CANCEL);
        let r = s.feed(&b);
        requests += std::iter::from_fn(|| s.poll_event())
            .filter(|e| matches!(e, Event::Request { .. }))
            .count();
        if let Err(e) = r {
            err = Some((e, id));
            break;
        }
    }
    let (e, id) = err.expect("cut");
    assert_eq!(e.code, ErrorCode::ENHANCE_YOUR_CALM);
    assert_eq!(requests as u32, settings.max_resets + 1);
    assert_eq!(
        frames(&mut s).last(),
        Some(&goaway(id, ErrorCode::ENHANCE_YOUR_CALM))
    );
}

#[test]
fn frame_larger_than_max_frame_size() {
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_headers(&mut b, 1, &[0x83, 0x87, 0x84], false, true);
    frame::write_data(&mut b, 1, &[0; 16_385], false);
    // Refused on its header, before its payload arrives.
    let cut = b.len() - 16_385;
    expect_goaway(&mut s, &b[..cut], 1, ErrorCode::FRAME_SIZE_ERROR);
    // With a larger max-frame-size, the same frame is fine.
    let mut s = Server::new(Settings {
        max_frame_size: 32_768,
        initial_window_size: 65_535,
        ..Settings::default()
    });
    assert!(s.feed(&b).is_ok());
}

#[test]
fn stream_id_reuse_and_decrease() {
    for ids in [[1u32, 1], [5, 3]] {
        let mut s = Server::new(Settings::default());
        let mut b = start();
        frame::write_headers(&mut b, ids[0], &get_block("/"), true, true);
        s.feed(&b).unwrap();
        // The first stream is answered and closed.
        s.send_headers(ids[0], 204, [], true).unwrap();
        let mut b = Vec::new();
        frame::write_headers(&mut b, ids[1], &get_block("/"), true, true);
        expect_goaway(&mut s, &b, ids[0], ErrorCode::PROTOCOL_ERROR);
    }
    // An even id.
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_headers(&mut b, 2, &get_block("/"), true, true);
    expect_goaway(&mut s, &b, 0, ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn stream_flood_refused() {
    let settings = Settings {
        max_concurrent_streams: 16,
        ..Settings::default()
    };
    let mut s = Server::new(settings);
    let mut b = start();
    for i in 0..1_000u32 {
        frame::write_headers(&mut b, 2 * i + 1, &get_block("/"), true, true);
    }
    s.feed(&b).unwrap();
    let n = std::iter::from_fn(|| s.poll_event()).count();
    assert_eq!(n, 16);
    assert_eq!(s.open_streams(), 16);
    let refused = frames(&mut s)
        .iter()
        .filter(|f| f.0 == frame::RST_STREAM && f.3 == [0, 0, 0, 7])
        .count();
    assert_eq!(refused, 984);
}

#[test]
fn ping_flood_of_a_client_that_does_not_read() {
    let mut s = Server::new(Settings::default());
    s.feed(&start()).unwrap();
    let mut b = Vec::new();
    for _ in 0..100_000 {
        frame::write_ping(&mut b, false, [1; 8]);
    }
    let e = s.feed(&b).unwrap_err();
    assert_eq!(e.code, ErrorCode::ENHANCE_YOUR_CALM);
    assert!(s.pending_output().len() <= (1 << 20) + 64);
}

#[test]
fn frames_on_idle_streams_and_inside_header_blocks() {
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_data(&mut b, 1, b"x", false);
    expect_goaway(&mut s, &b, 0, ErrorCode::PROTOCOL_ERROR);
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_rst(&mut b, 9, ErrorCode::CANCEL);
    expect_goaway(&mut s, &b, 0, ErrorCode::PROTOCOL_ERROR);
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_headers(&mut b, 1, &get_block("/"), true, false);
    frame::write_ping(&mut b, false, [0; 8]);
    expect_goaway(&mut s, &b, 0, ErrorCode::PROTOCOL_ERROR);
    let mut s = Server::new(Settings::default());
    let mut b = start();
    frame::write_continuation(&mut b, 1, &get_block("/"), true);
    expect_goaway(&mut s, &b, 0, ErrorCode::PROTOCOL_ERROR);
    // PRIORITY on an idle stream is fine and holds nothing.
    let mut s = Server::new(Settings::default());
    let mut b = start();
    for i in 0..10_000u32 {
        frame::write_priority(
            &mut b,
            2 * i + 1,
            frame::Priority {
                dependency: 0,
                exclusive: false,
                weight: 16,
            },
        );
    }
    s.feed(&b).unwrap();
    assert_eq!(s.open_streams(), 0);
}

#[test]
fn garbage_after_the_preface_never_panics() {
    let mut seed: u64 = 0x1234_5678_9abc_def1;
    for _ in 0..3_000 {
        let mut s = Server::new(Settings::default());
        let mut b = start();
        let len = (seed % 300) as usize;
        for i in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Mostly small lengths and known types, so frames get parsed.
            b.push(match i % 9 {
                0 | 1 => 0,
                2 => (seed % 40) as u8,
                3 => (seed % 10) as u8,
                _ => seed as u8,
            });
        }
        for part in b.chunks(1 + (seed % 17) as usize) {
            if s.feed(part).is_err() {
                break;
            }
        }
        while s.poll_event().is_some() {}
        assert!(s.open_streams() <= 100);
    }
}
