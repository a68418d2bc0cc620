use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn adv(window: u32) -> Advertised {
    Advertised {
        header_table_size: 4096,
        initial_window_size: window,
        max_concurrent_streams: 100,
        max_frame_size: 16384,
    }
}

fn hdr(len: usize, ty: u8, fl: u8, sid: u32) -> Vec<u8> {
    let mut v = Vec::new();
    frame(&mut v, len, ty, fl, sid);
    v
}

/// Reads one frame from the client's side: (type, flags, stream, payload).
async fn next_frame(c: &mut tokio::io::DuplexStream) -> (u8, u8, u32, Vec<u8>) {
    let mut h = [0u8; 9];
    let read = async {
        c.read_exact(&mut h).await.unwrap();
        let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
        let mut p = vec![0; len];
        c.read_exact(&mut p).await.unwrap();
        p
    };
    let p = tokio::time::timeout(std::time::Duration::from_secs(5), read)
        .await
        .expect("a frame within 5 s");
    let sid = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
    (h[3], h[4], sid, p)
}

#[tokio::test]
async fn settings_as_haproxy_and_credit_per_data_frame() {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let credits = Arc::new(Credits::default());
    let mut w = Wire::new(server, credits.clone(), &adv(1000));
    // The crate's SETTINGS (window 2^31-1, max header list) then its
    // connection and stream WINDOW_UPDATEs.
    let mut crate_out = hdr(18, SETTINGS, 0, 0);
    for (id, v) in [(4u16, MAX_WINDOW), (3, 100), (6, 16384)] {
        crate_out.extend_from_slice(&id.to_be_bytes());
        crate_out.extend_from_slice(&v.to_be_bytes());
    }
    crate_out.extend(hdr(4, WINDOW_UPDATE, 0, 0));
    crate_out.extend_from_slice(&7u32.to_be_bytes());
    crate_out.extend(hdr(4, WINDOW_UPDATE, 0, 1));
    crate_out.extend_from_slice(&9u32.to_be_bytes());
    crate_out.extend(hdr(0, SETTINGS, 1, 0));
    // Written in odd pieces, as a socket may take them.
    for part in crate_out.chunks(5) {
        w.write_all(part).await.unwrap();
    }
    w.flush().await.unwrap();
    let (ty, fl, sid, p) = next_frame(&mut client).await;
    assert_eq!((ty, fl, sid), (SETTINGS, 0, 0));
    // HAProxy 2.6.12: INITIAL_WINDOW_SIZE 1000, MAX_CONCURRENT_STREAMS 100.
    assert_eq!(p, [0, 4, 0, 0, 3, 232, 0, 3, 0, 0, 0, 100]);
    // The crate's WINDOW_UPDATEs were dropped: next is the ACK.
    let (ty, fl, _, _) = next_frame(&mut client).await;
    assert_eq!((ty, fl), (SETTINGS, 1));

    // The client: preface, HEADERS (stream 1, no END_STREAM), 38 bytes of DATA.
    let mut c = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    c.extend(hdr(1, HEADERS, 4, 1));
    c.push(0x82);
    c.extend(hdr(38, DATA, 0, 1));
    c.extend_from_slice(&[b'x'; 38]);
    client.write_all(&c).await.unwrap();
    let mut got = vec![0u8; c.len()];
    w.read_exact(&mut got).await.unwrap();
    assert_eq!(got, c);
    // The engine took the 38 bytes: a WINDOW_UPDATE of 38 on stream 1.
    credits.credit(1, 38);
    let mut b = [0u8; 16];
    let mut rb = ReadBuf::new(&mut b);
    let _ = std::future::poll_fn(|cx| match Pin::new(&mut w).poll_read(cx, &mut rb) {
        Poll::Pending => Poll::Ready(()),
        Poll::Ready(r) => panic!("nothing to read: {r:?}"),
    })
    .await;
    let (ty, _, sid, p) = next_frame(&mut client).await;
    assert_eq!(
        (ty, sid, p),
        (WINDOW_UPDATE, 1, 38u32.to_be_bytes().to_vec())
    );
    // Then the connection's, raised to the largest as HAProxy 2.6.12 does.
    let (ty, _, sid, p) = next_frame(&mut client).await;
    assert_eq!(
        (ty, sid, p),
        (WINDOW_UPDATE, 0, 2147418150u32.to_be_bytes().to_vec())
    );

    // Beyond the window (1000 - 38 + 38 = 1000): 1001 bytes is a violation.
    let mut c = hdr(1001, DATA, 0, 1);
    c.extend_from_slice(&[b'y'; 1001]);
    client.write_all(&c).await.unwrap();
    let mut b = vec![0u8; 4096];
    let r = w.read(&mut b).await;
    assert!(r.is_err(), "a flow-control violation ends the connection");
    let (ty, _, _, p) = next_frame(&mut client).await;
    assert_eq!(ty, GOAWAY);
    assert_eq!(&p[4..], &FLOW_CONTROL_ERROR.to_be_bytes());
}

#[test]
fn advertised_settings_match_haproxy_order() {
    let a = Advertised {
        header_table_size: 8192,
        initial_window_size: 1000,
        max_concurrent_streams: 7,
        max_frame_size: 16384,
    };
    // HAProxy 2.6.12 (measured): 1=8192, 4=1000, 3=7 (ENABLE_CONNECT_PROTOCOL
    // is not offered: extended CONNECT is not bridged).
    assert_eq!(
        a.payload(),
        [0, 1, 0, 0, 32, 0, 0, 4, 0, 0, 3, 232, 0, 3, 0, 0, 0, 7]
    );
    assert_eq!(adv(65535).payload(), [0, 3, 0, 0, 0, 100]);
}

/// The window map keeps every stream apart (odd ids, as clients use).
#[test]
fn stream_id_hash_map_finds_every_stream() {
    let mut m = WindowMap::default();
    for id in (1..2000u32).step_by(2) {
        m.insert(id, i64::from(id) * 3);
    }
    assert_eq!(m.len(), 1000);
    for id in (1..2000u32).step_by(2) {
        assert_eq!(m.get(&id), Some(&(i64::from(id) * 3)));
        assert_eq!(m.get(&(id + 1)), None);
    }
    for id in (1..2000u32).step_by(4) {
        assert_eq!(m.remove(&id), Some(i64::from(id) * 3));
    }
    assert_eq!(m.len(), 500);
}
