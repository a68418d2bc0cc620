use super::*;
use crate::hpack::put_str;

/// A raw client: builds frames for the server.
pub(crate) struct Client {
    pub out: Vec<u8>,
}

impl Client {
    fn new() -> Self {
        let mut out = PREFACE.to_vec();
        frame::write_settings(&mut out, &[]);
        Client { out }
    }

    fn get(&mut self, stream: u32, path: &str, end: bool) {
        let mut b = vec![0x82, 0x87]; // GET, https
        b.push(0x04); // :path, literal without indexing
        put_str(&mut b, path.as_bytes(), false);
        b.push(0x01); // :authority
        put_str(&mut b, b"example.com", false);
        frame::write_headers(&mut self.out, stream, &b, end, true);
    }
}

fn events(s: &mut Server) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// The frames of the server's output: (kind, flags, stream, payload).
fn frames(s: &mut Server) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut v = Vec::new();
    let out = s.pending_output().to_vec();
    s.consume(out.len());
    let mut p = &out[..];
    while let Some(h) = Head::parse(p) {
        let end = frame::HEADER_LEN + h.len as usize;
        v.push((
            h.kind,
            h.flags,
            h.stream,
            p[frame::HEADER_LEN..end].to_vec(),
        ));
        p = &p[end..];
    }
    assert!(p.is_empty());
    v
}

#[test]
fn settings_as_haproxy() {
    let mut s = Server::new(Settings::default());
    let f = frames(&mut s);
    assert_eq!(f, [(frame::SETTINGS, 0, 0, vec![0, 3, 0, 0, 0, 100])]);
    let mut s = Server::new(Settings {
        header_table_size: 8192,
        initial_window_size: 1000,
        max_concurrent_streams: 7,
        max_frame_size: 32768,
        ..Settings::default()
    });
    let f = frames(&mut s);
    assert_eq!(
        f[0].3,
        [
            [0, 1, 0, 0, 0x20, 0],
            [0, 4, 0, 0, 0x03, 0xe8],
            [0, 3, 0, 0, 0, 7],
            [0, 5, 0, 0, 0x80, 0]
        ]
        .concat()
    );
}

#[test]
fn get_and_answer_any_split() {
    let mut c = Client::new();
    c.get(1, "/a", true);
    for split in [1, 7, 24, 25, 40, c.out.len()] {
        let mut s = Server::new(Settings::default());
        for part in c.out.chunks(split) {
            s.feed(part).unwrap();
        }
        let ev = events(&mut s);
        assert_eq!(ev.len(), 1, "split {split}");
        let Event::Request {
            stream: 1,
            head,
            end_stream: true,
        } = &ev[0]
        else {
            panic!("{ev:?}")
        };
        assert_eq!(head.path(), Some(&b"/a"[..]));
        assert_eq!(head.authority(), Some(&b"example.com"[..]));
        let f = frames(&mut s);
        // Our SETTINGS, then the ACK of theirs.
        assert_eq!(
            f.iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
            [(4, 0), (4, 1)]
        );
        s.send_headers(1, 200, [(&b"content-type"[..], &b"text/plain"[..])], false)
            .unwrap();
        assert_eq!(s.send_data(1, b"hello", true), Ok(5));
        let f = frames(&mut s);
        assert_eq!(f[0].0, frame::HEADERS);
        assert_eq!(f[0].3, [&[0x88, 0x0f, 16, 10][..], b"text/plain"].concat());
        assert_eq!(f[1], (frame::DATA, frame::END_STREAM, 1, b"hello".to_vec()));
        assert_eq!(s.open_streams(), 0);
        assert_eq!(s.send_data(1, b"x", true), Err(SendError::NoStream));
    }
}

#[test]
fn bad_preface_closes_silently() {
    let mut s = Server::new(Settings::default());
    let _ = frames(&mut s);
    let e = s.feed(b"GET / HTTP/1.1\r\n").unwrap_err();
    assert_eq!((e.code, e.goaway), (ErrorCode::PROTOCOL_ERROR, false));
    assert!(s.pending_output().is_empty());
    assert_eq!(s.feed(b"x"), Err(e));
}

#[test]
fn first_frame_must_be_settings() {
    let mut s = Server::new(Settings::default());
    let mut b = PREFACE.to_vec();
    frame::write_ping(&mut b, false, [0; 8]);
    let e = s.feed(&b).unwrap_err();
    assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
    let f = frames(&mut s);
    assert_eq!(
        f.last().map(|f| (f.0, f.3.clone())),
        Some((frame::GOAWAY, vec![0, 0, 0, 0, 0, 0, 0, 1]))
    );
}

#[test]
fn body_credit_per_data_frame_as_haproxy() {
    let mut c = Client::new();
    c.get(1, "/", false);
    frame::write_data(&mut c.out, 1, &[b'x'; 38], true);
    let mut s = Server::new(Settings::default());
    s.feed(&c.out).unwrap();
    let _ = frames(&mut s);
    let ev = events(&mut s);
    let Event::Data {
        stream: 1,
        data,
        end_stream: true,
    } = &ev[1]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(data.len(), 38);
    s.release(1, 38);
    // The client ended the stream, but it is still open (no response yet):
    // the stream is credited (HAProxy does; reg-test h2_to_h1 waits for it),
    // then the connection, raised to 2^31-1.
    let f = frames(&mut s);
    let wu = |sid: u32, n: u32| (frame::WINDOW_UPDATE, 0, sid, n.to_be_bytes().to_vec());
    assert_eq!(f, [wu(1, 38), wu(0, 2_147_418_150)]);
}

#[test]
fn stream_credit_then_connection() {
    let mut c = Client::new();
    c.get(1, "/", false);
    frame::write_data(&mut c.out, 1, &[b'x'; 10], false);
    let mut s = Server::new(Settings::default());
    s.feed(&c.out).unwrap();
    let _ = frames(&mut s);
    s.release(1, 10);
    s.release(1, 0);
    let f = frames(&mut s);
    assert_eq!(
        f[0],
        (frame::WINDOW_UPDATE, 0, 1, 10u32.to_be_bytes().to_vec())
    );
    assert_eq!(f[1].2, 0);
    assert_eq!(f.len(), 2);
}

#[test]
fn send_respects_windows_and_frame_size() {
    let mut c = Client::new();
    // The client's stream window is 100 bytes; the connection 65535.
    c.out.clear();
    c.out.extend_from_slice(PREFACE);
    frame::write_settings(&mut c.out, &[(frame::SETTINGS_INITIAL_WINDOW_SIZE, 100)]);
    c.get(1, "/", true);
    let mut s = Server::new(Settings::default());
    s.feed(&c.out).unwrap();
    let _ = frames(&mut s);
    s.send_headers(1, 200, [], false).unwrap();
    assert_eq!(s.send_capacity(1), 100);
    assert_eq!(s.send_data(1, &[0; 150], true), Ok(100));
    assert_eq!(s.send_capacity(1), 0);
    assert_eq!(s.send_data(1, &[0; 50], true), Ok(0));
    let mut more = Vec::new();
    frame::write_window_update(&mut more, 1, 20_000);
    s.feed(&more).unwrap();
    assert_eq!(s.send_data(1, &[0; 20_000], true), Ok(20_000));
    let f = frames(&mut s);
    let sizes: Vec<(usize, u8)> = f.iter().skip(1).map(|f| (f.3.len(), f.1)).collect();
    // 100, then 16384 + 3616 (END_STREAM on the last).
    assert_eq!(sizes, [(100, 0), (16_384, 0), (3_616, 1)]);
}

#[test]
fn trailers_and_content_length() {
    let mut c = Client::new();
    let mut b = vec![0x83, 0x87, 0x84, 0x01];
    put_str(&mut b, b"h", false);
    b.push(0x0f);
    b.push(13); // content-length (28 = 15 + 13)
    put_str(&mut b, b"3", false);
    frame::write_headers(&mut c.out, 1, &b, false, true);
    frame::write_data(&mut c.out, 1, b"abc", false);
    let mut t = vec![0x00];
    put_str(&mut t, b"x-sum", false);
    put_str(&mut t, b"9", false);
    frame::write_headers(&mut c.out, 1, &t, true, true);
    let mut s = Server::new(Settings::default());
    s.feed(&c.out).unwrap();
    let ev = events(&mut s);
    assert_eq!(ev.len(), 3, "{ev:?}");
    let Event::Trailers { stream: 1, fields } = &ev[2] else {
        panic!("{ev:?}")
    };
    assert_eq!(fields.get(0), Some((&b"x-sum"[..], &b"9"[..])));
    s.send_headers(1, 200, [], false).unwrap();
    s.send_trailers(1, [(&b"x-t"[..], &b"1"[..])]).unwrap();
    assert_eq!(s.open_streams(), 0);
    // A body longer than content-length: the stream is reset.
    let mut c = Client::new();
    frame::write_headers(&mut c.out, 1, &b, false, true);
    frame::write_data(&mut c.out, 1, b"abcd", true);
    let mut s = Server::new(Settings::default());
    s.feed(&c.out).unwrap();
    let ev = events(&mut s);
    assert!(matches!(
        ev[1],
        Event::Reset {
            stream: 1,
            code: ErrorCode::PROTOCOL_ERROR,
            by_client: false
        }
    ));
    let f = frames(&mut s);
    assert!(f.contains(&(frame::RST_STREAM, 0, 1, vec![0, 0, 0, 1])));
}

#[test]
fn uppercase_name_resets_only_its_stream() {
    let mut c = Client::new();
    let mut b = vec![0x82, 0x87, 0x84, 0x01];
    put_str(&mut b, b"h", false);
    b.push(0x00);
    put_str(&mut b, b"X-Up", false);
    put_str(&mut b, b"1", false);
    frame::write_headers(&mut c.out, 1, &b, true, true);
    c.get(3, "/ok", true);
    let mut s = Server::new(Settings::default());
    s.feed(&c.out).unwrap();
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1);
    assert!(matches!(&ev[0], Event::Request { stream: 3, .. }));
    let f = frames(&mut s);
    assert!(f.contains(&(frame::RST_STREAM, 0, 1, vec![0, 0, 0, 1])));
}

#[test]
fn ping_is_answered_and_graceful_goaway() {
    let mut c = Client::new();
    frame::write_ping(&mut c.out, false, *b"abcdefgh");
    c.get(1, "/", true);
    let mut s = Server::new(Settings::default());
    s.feed(&c.out).unwrap();
    let _ = events(&mut s);
    s.goaway(ErrorCode::NO_ERROR);
    let mut more = Vec::new();
    c.out.clear();
    c.get(3, "/late", true);
    more.extend_from_slice(&c.out);
    s.feed(&more).unwrap();
    assert!(events(&mut s).is_empty(), "stream 3 is after the GOAWAY");
    let f = frames(&mut s);
    assert!(f.contains(&(frame::PING, frame::ACK, 0, b"abcdefgh".to_vec())));
    assert!(f.contains(&(frame::GOAWAY, 0, 0, vec![0, 0, 0, 1, 0, 0, 0, 0])));
    assert!(!s.is_done());
    s.send_headers(1, 204, [], true).unwrap();
    assert!(s.is_done());
}
