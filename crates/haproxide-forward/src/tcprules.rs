//! TCP rules with effects (configuration.txt §4.2 `tcp-request content`,
//! `tcp-response content`): the rule set runs from where it stopped, a
//! `set-var` stores its value in the session's variables, a rule whose
//! condition needs more data waits (until the inspect delay ends). The
//! `tcp-response content` rules of a TCP backend inspect the server's first
//! bytes before the relay starts.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::lb::BackendRt;
use crate::relay::ClientStream;
use crate::rules::{eval_from, Effect, Step};
use crate::server_stream::ServerStream;
use crate::session::Sess;
use crate::spec::TcpRule;

impl Sess {
    /// Runs `rules` from `*at`: `Ok(Some(accept))` for a final verdict,
    /// `Ok(None)` when no rule decided, `Err(())` when the rule at `*at` waits
    /// for more data. `res`: the server's bytes (`tcp-response content`).
    pub(crate) fn tcp_rules(
        &mut self,
        rules: &[TcpRule],
        at: &mut usize,
        final_eval: bool,
        res: Option<&[u8]>,
    ) -> Result<Option<bool>, ()> {
        loop {
            let step = {
                let mut ctx = self.ctx(final_eval);
                ctx.res = res;
                eval_from(rules, *at, &ctx)
            };
            match step {
                Step::Final(accept) => return Ok(Some(accept)),
                Step::End => return Ok(None),
                Step::Wait(i) => {
                    *at = i;
                    return Err(());
                }
                Step::Act(i, eff) => {
                    *at = i + 1;
                    match eff {
                        Effect::Set(name, Some(v)) => {
                            self.vars.get_or_insert_with(Default::default).set(&name, v)
                        }
                        Effect::Set(_, None) => {}
                        Effect::Unset(name) => match self.vars.as_mut() {
                            Some(v) => v.unset(&name),
                            None if haproxide_expr::procvars::is_proc(&name) => {
                                haproxide_expr::procvars::unset(&name)
                            }
                            None => {}
                        },
                        Effect::Close => return Ok(Some(false)),
                    }
                }
            }
        }
    }

    /// `tcp-response inspect-delay` + `tcp-response content` of a TCP backend:
    /// the client's buffered bytes go to the server, then the server's first
    /// bytes are read until the rules decide (or the delay ends); a reject
    /// closes both sides (logged `PD`). What was inspected goes to the client.
    pub(crate) async fn tcp_response_rules(
        &mut self,
        client: &mut ClientStream,
        server: &mut ServerStream,
        be: &BackendRt,
    ) -> Result<(), [u8; 2]> {
        let spec = &be.spec;
        let pending = self.req.filled().len();
        if pending > 0 {
            server
                .write_all(self.req.filled())
                .await
                .map_err(|_| *b"SD")?;
            self.req.consume(pending);
        }
        let deadline = spec.res_inspect_delay.map(|d| Instant::now() + d);
        let tserver = spec.timeout_server;
        let mut buf = Vec::new();
        let mut eof = false;
        let mut at = 0;
        loop {
            let final_eval =
                deadline.is_none_or(|d| Instant::now() >= d) || eof || buf.len() >= crate::BUFSIZE;
            match self.tcp_rules(&spec.tcp_response_rules, &mut at, final_eval, Some(&buf)) {
                Ok(Some(false)) => return Err(*b"PD"),
                Ok(_) => break,
                Err(()) if final_eval => break,
                Err(()) => {}
            }
            let Some(d) = deadline else { break };
            let until = match tserver.map(|t| Instant::now() + t) {
                Some(s) if s < d => s,
                _ => d,
            };
            let mut chunk = vec![0u8; (crate::BUFSIZE - buf.len()).min(16384)];
            match tokio::time::timeout_at(until, server.read(&mut chunk)).await {
                Ok(Ok(0)) => eof = true,
                Ok(Ok(n)) => {
                    buf.extend_from_slice(&chunk[..n]);
                    self.bytes.from_server += n as u64;
                }
                Ok(Err(_)) => return Err(*b"SD"),
                Err(_) if until < d => return Err(*b"sD"),
                Err(_) => {}
            }
        }
        if !buf.is_empty() {
            let w = client.write_all(&buf);
            match tokio::time::timeout(tserver.unwrap_or(Duration::from_secs(3600)), w).await {
                Ok(Ok(())) => {}
                _ => return Err(*b"CD"),
            }
        }
        Ok(())
    }
}
