//! The cost of serving an h2load session with this codec, and, for
//! comparison, with the `h2` crate's server (docs/h2.md "Own codec: step 1").
//!
//! `cargo run --release -p haproxide-h2 --example h2_cost -- own|h2 N`
//!
//! The client's bytes are h2load's (nghttp2 1.52, `h2load -c 1 -m 10`,
//! captured): preface, SETTINGS (ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^30-1),
//! a connection WINDOW_UPDATE, the first HEADERS with its literals indexed,
//! then 5-byte HEADERS blocks. They come in reads of 10 requests (-m 10).
//! Each request is answered at once with an nginx-like head (7 fields) and a
//! 100-byte body. The server's output is counted and dropped. No I/O, no
//! client-side parsing: what differs between the two runs is the server
//! codec (and, for `h2`, the tokio task around it and the `http` types its
//! API takes). Run it under `valgrind --tool=callgrind` with two values of N;
//! the difference of the totals over the difference of N is the cost per
//! request (bench/h2-codec-cost.sh).

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const FIRST_HEADERS: &str = "8486418b089d5c0b8170dc0bc07dff827a8f9c541c722954d3a5358980aed89707";
const NEXT_HEADERS: [u8; 5] = [0x84, 0x86, 0xbf, 0x82, 0xbe];
const BODY: [u8; 100] = [b'x'; 100];
const HEAD: [(&str, &str); 6] = [
    ("server", "nginx/1.18.0"),
    ("date", "Sun, 06 Dec 2026 15:00:00 GMT"),
    ("content-type", "text/html"),
    ("last-modified", "Tue, 21 Apr 2020 14:09:01 GMT"),
    ("etag", "\"5e9efe7d-64\""),
    ("accept-ranges", "bytes"),
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let l = (payload.len() as u32).to_be_bytes();
    out.extend_from_slice(&[l[1], l[2], l[3], kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// The client's reads: one per 10 requests.
fn script(n: u32) -> Vec<Vec<u8>> {
    let mut reads = Vec::new();
    let mut cur = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    frame(&mut cur, 4, 0, 0, &hex("00020000000000043fffffff"));
    frame(&mut cur, 8, 0, 0, &hex("3fff0000"));
    frame(&mut cur, 4, 1, 0, b"");
    for i in 0..n {
        let id = 2 * i + 1;
        if i == 0 {
            frame(&mut cur, 1, 5, id, &hex(FIRST_HEADERS));
        } else {
            frame(&mut cur, 1, 5, id, &NEXT_HEADERS);
        }
        if i % 10 == 9 {
            reads.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        reads.push(cur);
    }
    reads
}

fn own(reads: &[Vec<u8>]) -> (u64, usize) {
    use haproxide_h2::{Event, Server, Settings};
    let mut srv = Server::new(Settings::default());
    let mut answered = 0;
    let mut written = 0;
    let clen = BODY.len().to_string();
    for r in reads {
        if let Err(e) = srv.feed(r) {
            eprintln!("own: {e}");
            break;
        }
        while let Some(ev) = srv.poll_event() {
            if let Event::Request { stream, .. } = ev {
                let head = HEAD
                    .iter()
                    .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                    .chain([(&b"content-length"[..], clen.as_bytes())]);
                if srv.send_headers(stream, 200, head, false).is_ok()
                    && srv.send_data(stream, &BODY, true) == Ok(BODY.len())
                {
                    answered += 1;
                }
            }
        }
        let n = srv.pending_output().len();
        written += n;
        srv.consume(n);
    }
    (answered, written)
}

/// The script as an `AsyncRead`; writes counted and dropped.
struct Scripted<'a> {
    reads: std::slice::Iter<'a, Vec<u8>>,
    pending: &'a [u8],
    /// Requests answered (by the accept loop) and delivered (by the reads).
    answered: Rc<Cell<u64>>,
    delivered: u64,
    waits: u32,
    written: usize,
}

impl AsyncRead for Scripted<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            // As h2load with -m 10: the next read once the previous one's
            // requests are answered (a bounded wait, should they never be).
            if self.answered.get() < self.delivered && self.waits < 1000 {
                self.waits += 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.waits = 0;
            self.pending = self.reads.next().map(|v| &v[..]).unwrap_or_default();
            self.delivered += 10;
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending = &self.pending[n..];
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written += b.len();
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn h2crate(reads: &[Vec<u8>]) -> (u64, usize) {
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return (0, 0);
        }
    };
    rt.block_on(async {
        let answered = Rc::new(Cell::new(0u64));
        let mut io = Scripted {
            reads: reads.iter(),
            pending: &[],
            answered: answered.clone(),
            // The first read carries the preface: no answer awaited.
            delivered: 0,
            waits: 0,
            written: 0,
        };
        {
            let mut b = h2::server::Builder::new();
            b.max_concurrent_streams(100).max_header_list_size(16_384);
            let mut conn = match b.handshake::<_, Bytes>(&mut io).await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("h2: {e}");
                    return (0, 0);
                }
            };
            let body = Bytes::from_static(&BODY);
            while let Some(r) = conn.accept().await {
                let (_req, mut respond) = match r {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("h2 accept: {e}");
                        break;
                    }
                };
                let mut resp = http::Response::builder().status(200);
                for (n, v) in HEAD {
                    resp = resp.header(n, v);
                }
                let Ok(resp) = resp.header("content-length", BODY.len()).body(()) else {
                    continue;
                };
                if let Ok(mut send) = respond.send_response(resp, false) {
                    if send.send_data(body.clone(), true).is_ok() {
                        answered.set(answered.get() + 1);
                    }
                }
            }
        }
        (answered.get(), io.written)
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let reads = script(n);
    let (answered, written) = match which.as_str() {
        "own" => own(&reads),
        "h2" => h2crate(&reads),
        _ => {
            eprintln!("usage: h2_cost own|h2 N");
            std::process::exit(2);
        }
    };
    println!("{which}: {n} requests, {answered} answered, {written} bytes written");
    if answered != n as u64 {
        std::process::exit(1);
    }
}
