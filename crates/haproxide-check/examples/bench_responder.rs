//! Benchmark helper: an HTTP/1.0 responder on 127.0.0.1 ports answering
//! `HTTP/1.0 200 OK\r\n\r\n` and closing, like Patroni's health endpoint.
//! Usage: bench_responder <first-port> <count>

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let first: u16 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(24000);
    let count: u16 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let served = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = served.clone();
    // Total connections served, once a second, for the check-rate column.
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            eprintln!(
                "served {}",
                counter.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
    });
    let mut tasks = Vec::new();
    for port in first..first + count {
        let served = served.clone();
        let l = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind responder port");
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    continue;
                };
                served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ =
                        tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut buf))
                            .await;
                    let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
                    let _ = s.shutdown().await;
                });
            }
        }));
    }
    eprintln!("responder: 127.0.0.1:{first}..{}", first + count - 1);
    for t in tasks {
        let _ = t.await;
    }
}
