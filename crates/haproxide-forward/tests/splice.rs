//! Bulk data between TCP sockets goes through splice(2): same bytes, same counters,
//! half-close still propagated, no pipe left behind; `no_splice` copies instead.

mod common;

use std::time::Duration;

use common::*;
use haproxide_forward::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A deterministic, non-repeating-looking byte stream.
fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// Sends `len` bytes, half-closes, and reads the server's answer: the server (a
/// checker) verifies every byte, then answers with `len` bytes of the pattern and
/// closes. Returns (bytes echoed back, peak pipes seen during the transfer).
async fn bulk_roundtrip(no_splice: bool, len: usize) -> (usize, usize) {
    let checker = mock(move |mut s| async move {
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0usize;
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            for (k, b) in buf[..n].iter().enumerate() {
                assert_eq!(*b, pattern(got + k), "corrupted at byte {}", got + k);
            }
            got += n;
            // Slow reader at first: the proxy's buffers fill up (bulk).
            if got < (1 << 20) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let out: Vec<u8> = (0..got).map(pattern).collect();
        let _ = s.write_all(&out).await;
    })
    .await;
    let mut spec = simple(vec![server("c", checker.addr)]);
    spec.no_splice = no_splice;
    let r = start(spec).await;
    let mut c = connect(r.addr).await;
    let data: Vec<u8> = (0..len).map(pattern).collect();
    let (mut rd, mut wr) = c.split();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let pk = peak.clone();
    let watch = tokio::spawn(async move {
        loop {
            pk.fetch_max(pipes().0, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let send = async {
        wr.write_all(&data).await.expect("upload");
        wr.shutdown().await.expect("half-close");
    };
    let recv = async {
        let mut back = Vec::new();
        rd.read_to_end(&mut back).await.expect("download");
        back
    };
    let ((), back) =
        tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(send, recv) })
            .await
            .expect("transfer within 60 s");
    watch.abort();
    assert_eq!(back.len(), len);
    assert!(
        back.iter().enumerate().all(|(i, b)| *b == pattern(i)),
        "download corrupted"
    );
    let recs = r.log.wait(1).await;
    assert_eq!(recs[0].bytes_read, len as u64, "bytes from the server");
    assert_eq!(recs[0].bytes_uploaded, len as u64, "bytes from the client");
    assert_eq!(term(&recs[0]), "--");
    (back.len(), peak.load(std::sync::atomic::Ordering::Relaxed))
}

// One test function: the pipe counter is process-wide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_data_is_spliced_intact_and_pipes_are_given_back() {
    let len = 24 << 20;
    let (n, peak) = bulk_roundtrip(false, len).await;
    assert_eq!(n, len);
    assert!(peak >= 1, "no pipe was used for a 24 MiB transfer");
    // Given back once the session ended.
    let deadline = tokio::time::Instant::now() + WAIT;
    while pipes().0 != 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pipes().0, 0, "pipes left open");

    let (n, peak) = bulk_roundtrip(true, 4 << 20).await;
    assert_eq!(n, 4 << 20);
    assert_eq!(peak, 0, "nosplice still spliced");
}
