//! `option http-buffer-request` (configuration.txt §4.2): before the rules and
//! the server, wait for the whole request body, or as much of it as the buffer
//! holds, within `timeout http-request`. A request with `Expect: 100-continue`
//! gets HAProxy's own `100 Continue` first (the header is removed, as
//! `http_handle_expect_hdr` does).

use std::time::Duration;

use haproxide_http::{BodyDecoder, BodyLength, Request, Step};
use tokio::time::Instant;

use super::io::{read_into, write_all, IoFail};
use crate::relay::ClientStream;
use crate::session::Sess;

/// Whether `buf` holds a whole body of framing `len`.
fn complete(len: BodyLength, buf: &[u8], max: usize) -> bool {
    let mut dec = BodyDecoder::new(len, max);
    let mut rest = buf;
    loop {
        match dec.step(rest) {
            Ok((_, Step::Done)) => return true,
            Ok((_, Step::NeedMore)) | Err(_) => return false,
            Ok((n, _)) => rest = &rest[n..],
        }
    }
}

/// `http-response wait-for-body` (§4.3): reads the server's body into the
/// connection's server buffer until it is whole, `at_least` bytes are in, the
/// buffer is full or the server closed; false when `time` ran out first.
pub(super) async fn wait_server_body(
    server: &mut crate::server_stream::ServerStream,
    conn: &mut super::Conn,
    body: BodyLength,
    time: Duration,
    at_least: Option<u64>,
) -> bool {
    if matches!(
        body,
        BodyLength::None | BodyLength::Length(0) | BodyLength::Tunnel
    ) {
        return true;
    }
    let max = haproxide_http::parse::ParseOptions::default().max_head;
    let deadline = Instant::now() + time;
    loop {
        let buf = conn.srv_buf.filled();
        if complete(body, buf, max)
            || at_least.is_some_and(|n| buf.len() as u64 >= n)
            || conn.srv_buf.is_full()
        {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match read_into(server, &mut conn.srv_buf, Some(left)).await {
            Ok(0) | Err(IoFail::Error) => return true,
            Ok(_) => {}
            Err(IoFail::Timeout) => return false,
        }
    }
}

/// How buffering ended badly.
pub(super) enum Wait {
    /// `timeout http-request`: 408.
    Timeout,
    /// The client went away.
    Closed,
}

impl Sess {
    pub(super) async fn buffer_body(
        &mut self,
        client: &mut ClientStream,
        req: &mut Request,
        timeout: Option<Duration>,
        max: usize,
    ) -> Result<(), Wait> {
        self.wait_body(client, req, timeout, None, max).await
    }

    /// The wait of `buffer_body`, also `http-request wait-for-body time <t>
    /// [at-least <n>]` (§4.3): done once `at_least` bytes of the body are in
    /// (the raw bytes, chunk framing included), the body is whole or the
    /// buffer full.
    pub(super) async fn wait_body(
        &mut self,
        client: &mut ClientStream,
        req: &mut Request,
        timeout: Option<Duration>,
        at_least: Option<u64>,
        max: usize,
    ) -> Result<(), Wait> {
        if matches!(req.body, BodyLength::None | BodyLength::Length(0)) {
            return Ok(());
        }
        if req.info.expect_continue {
            req.head.headers.remove_all("expect");
            req.info.expect_continue = false;
            if write_all(client, b"HTTP/1.1 100 Continue\r\n\r\n", timeout)
                .await
                .is_err()
            {
                return Err(Wait::Closed);
            }
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let enough = |buf: &[u8]| at_least.is_some_and(|n| buf.len() as u64 >= n);
        while !complete(req.body, self.req.filled(), max)
            && !enough(self.req.filled())
            && !self.req.is_full()
            && !self.req.eof
        {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match read_into(client, &mut self.req, left).await {
                Ok(0) => self.req.eof = true,
                Ok(n) => {
                    self.bytes.from_client += n as u64;
                    self.client_active = Instant::now();
                }
                Err(IoFail::Timeout) => return Err(Wait::Timeout),
                Err(IoFail::Error) => return Err(Wait::Closed),
            }
        }
        Ok(())
    }
}
