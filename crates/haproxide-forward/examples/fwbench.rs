//! Quick in-process benchmark of the engine against a direct connection on loopback:
//! bulk upload throughput and connect/echo/close churn.
//!
//! `cargo run --release -p haproxide-forward --example fwbench [MB] [SECONDS]`
//!
//! Client, server and proxy share the machine (and this process's runtime), so the
//! numbers compare paths, not absolute capacity; the repository's benchmark script
//! compares processes against HAProxy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use haproxide_forward::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn sink_server() -> std::io::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let a = l.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut b = vec![0u8; 1 << 16];
                while let Ok(n) = s.read(&mut b).await {
                    if n == 0 {
                        break;
                    }
                    if b[n - 1] == b'!' {
                        let _ = s.write_all(b"!").await;
                    }
                }
            });
        }
    });
    Ok(a)
}

async fn bulk(addr: SocketAddr, bytes: usize) -> std::io::Result<f64> {
    let mut c = TcpStream::connect(addr).await?;
    let buf = vec![0u8; 1 << 16];
    let t = Instant::now();
    let mut sent = 0;
    while sent < bytes {
        c.write_all(&buf).await?;
        sent += buf.len();
    }
    // A marker byte the sink answers, so the timing covers delivery.
    c.write_all(b"!").await?;
    let mut one = [0u8; 1];
    c.read_exact(&mut one).await?;
    Ok(sent as f64 / t.elapsed().as_secs_f64() / 1e6)
}

async fn churn(addr: SocketAddr, secs: u64, par: usize) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..par {
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let Ok(mut c) = TcpStream::connect(addr).await else {
                    continue;
                };
                if c.write_all(b"!").await.is_err() {
                    continue;
                }
                let mut one = [0u8; 1];
                if c.read_exact(&mut one).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    done.load(Ordering::Relaxed) as f64 / secs as f64
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mb: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2048);
    let secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let server = sink_server().await?;
    let spec = EngineSpec {
        frontends: vec![FrontendSpec {
            name: "fe".into(),
            binds: vec![BindSpec {
                addr: ListenAddr::Tcp("127.0.0.1:0".parse()?),
                name: None,
                backlog: Some(4096),
                maxconn: None,
                v6only: false,
                accept_proxy: false,
                tls: None,
                proto_h2: false,
                smart_accept: false,
            }],
            default_backend: Some(0),
            timeout_client: Some(Duration::from_secs(30)),
            ..FrontendSpec::default()
        }],
        backends: vec![BackendSpec {
            name: "be".into(),
            retries: 3,
            timeout_connect: Some(Duration::from_secs(5)),
            timeout_server: Some(Duration::from_secs(30)),
            servers: vec![ServerSpec {
                name: "s".into(),
                ip: server.ip(),
                port: ServerPort::Fixed(server.port()),
                weight: 1,
                backup: false,
                maxconn: 0,
                maxqueue: 0,
                minconn: 0,
                send_proxy: SendProxy::None,
                shutdown_on_down: false,
                shutdown_backup_on_up: false,
                source: None,
                disabled: false,
                checked: false,
                tls: None,
                cookie: None,
                unix: None,
                socks4: None,
                proto_h2: false,
                pool: Default::default(),
            }],
            ..BackendSpec::default()
        }],
        maxconn: None,
        threads: 0,
        spread: ThreadSpread::default(),
        no_splice: false,
        stick_tables: Vec::new(),
    };
    let engine = Engine::start(spec, Arc::new(AlwaysUp), Arc::new(NoLog)).await?;
    let proxy = engine.local_addrs()[0].1;
    for (name, addr) in [("direct", server), ("haproxide", proxy)] {
        let mbps = bulk(addr, mb << 20).await?;
        let cps = churn(addr, secs, 8).await;
        println!("{name:>10}: bulk {mbps:8.0} MB/s   churn {cps:8.0} conn/s");
    }
    engine.hard_stop();
    Ok(())
}
