//! A test application on top of `haproxide_h2::Server`, over any tokio byte
//! stream: it answers by path and records what it saw.

use std::collections::HashMap;

use haproxide_h2::{ErrorCode, Event, Server, Settings};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What the server side saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub requests: Vec<(u32, String, String)>,
    pub bodies: HashMap<u32, usize>,
    pub trailers: Vec<(u32, String, String)>,
    pub resets: Vec<(u32, ErrorCode, bool)>,
    pub max_open: usize,
    pub error: Option<haproxide_h2::ConnError>,
}

struct App {
    seen: Seen,
    method: HashMap<u32, (String, String)>,
    /// Response bodies still to send.
    pending: HashMap<u32, (Vec<u8>, usize)>,
    got_trailer: HashMap<u32, String>,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl App {
    fn respond(&mut self, srv: &mut Server, stream: u32) {
        let Some((method, path)) = self.method.get(&stream).cloned() else {
            return;
        };
        let body: Vec<u8> = match path.as_str() {
            "/big" => (0..300_000u32).map(|i| (i % 251) as u8).collect(),
            "/slow" => return,
            "/goaway" => {
                srv.goaway(ErrorCode::NO_ERROR);
                b"bye".to_vec()
            }
            _ => format!(
                "{method} {path} {}",
                self.seen.bodies.get(&stream).copied().unwrap_or(0)
            )
            .into_bytes(),
        };
        let len = body.len().to_string();
        srv.send_headers(
            stream,
            200,
            [
                (&b"content-type"[..], &b"text/plain"[..]),
                (b"content-length", len.as_bytes()),
                (b"x-served-by", b"own"),
            ],
            false,
        )
        .expect("headers");
        self.pending.insert(stream, (body, 0));
        self.push(srv);
    }

    fn push(&mut self, srv: &mut Server) {
        let mut done = Vec::new();
        for (&stream, (body, sent)) in self.pending.iter_mut() {
            let trailer = self.got_trailer.get(&stream).cloned();
            let end = trailer.is_none();
            match srv.send_data(stream, &body[*sent..], end) {
                Ok(n) => *sent += n,
                Err(_) => {
                    done.push(stream);
                    continue;
                }
            }
            if *sent == body.len() {
                if let Some(t) = trailer {
                    srv.send_trailers(stream, [(&b"x-echo-trailer"[..], t.as_bytes())])
                        .expect("trailers");
                }
                done.push(stream);
            }
        }
        for s in done {
            self.pending.remove(&s);
        }
    }

    fn event(&mut self, srv: &mut Server, ev: Event) {
        match ev {
            Event::Request {
                stream,
                head,
                end_stream,
            } => {
                let m = s(head.method());
                let p = s(head.path().unwrap_or_default());
                self.seen.requests.push((stream, m.clone(), p.clone()));
                self.method.insert(stream, (m, p));
                if end_stream {
                    self.respond(srv, stream);
                }
            }
            Event::Data {
                stream,
                data,
                end_stream,
            } => {
                *self.seen.bodies.entry(stream).or_default() += data.len();
                srv.release(stream, data.len());
                if end_stream {
                    self.respond(srv, stream);
                }
            }
            Event::Trailers { stream, fields } => {
                for (n, v) in fields.iter() {
                    self.seen.trailers.push((stream, s(n), s(v)));
                    self.got_trailer.insert(stream, s(v));
                }
                self.respond(srv, stream);
            }
            Event::Reset {
                stream,
                code,
                by_client,
            } => {
                self.seen.resets.push((stream, code, by_client));
                self.pending.remove(&stream);
            }
            Event::GoAway { .. } => {}
        }
    }
}

/// Serves one connection until the client closes it or it fails.
pub async fn serve<IO: AsyncRead + AsyncWrite + Unpin>(mut io: IO, settings: Settings) -> Seen {
    let mut srv = Server::new(settings);
    let mut app = App {
        seen: Seen::default(),
        method: HashMap::new(),
        pending: HashMap::new(),
        got_trailer: HashMap::new(),
    };
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let out = srv.pending_output();
        if !out.is_empty() {
            let n = out.len();
            if io.write_all(out).await.is_err() {
                break;
            }
            srv.consume(n);
        }
        if srv.failed().is_some() || srv.is_done() {
            let _ = io.flush().await;
            let _ = io.shutdown().await;
            break;
        }
        let n = match io.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Err(e) = srv.feed(&buf[..n]) {
            app.seen.error = Some(e);
        }
        while let Some(ev) = srv.poll_event() {
            app.event(&mut srv, ev);
            app.seen.max_open = app.seen.max_open.max(srv.open_streams());
        }
        app.push(&mut srv);
    }
    app.seen
}
