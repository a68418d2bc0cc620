//! §4.2 `option splice-request` / `option splice-response`: HAProxy 2.6's H1
//! layer moves body data between two plain sockets with splice(2), and
//! counts it (`h1_spliced_bytes_in` / `_out` on the FRONTEND and BACKEND
//! rows of `show stat`). haproxide copies the bytes as for any body (the
//! same bytes on the wire, the same log) and counts what HAProxy would have
//! spliced: a body framed by Content-Length (or, for a response, by the
//! server's close) between plain TCP or UNIX sockets on both sides, less
//! the part that came in with the head (HAProxy has it in its buffer already).

use haproxide_http::BodyLength;

use super::exchange::Ex;
use crate::relay::ClientStream;
use crate::server_stream::ServerStream;
use crate::session::Sess;

impl Sess {
    /// Counts `moved` body bytes of one direction (`to_server`: the request
    /// body) as spliced when HAProxy would have spliced them; `buffered`: the
    /// body bytes already read with the head.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn count_spliced(
        &self,
        client: &ClientStream,
        server: &ServerStream,
        ex: &Ex<'_>,
        be: usize,
        to_server: bool,
        body: BodyLength,
        moved: u64,
        buffered: usize,
    ) {
        let wanted = if to_server {
            ex.fh.splice_request || ex.bh.splice_request
        } else {
            ex.fh.splice_response || ex.bh.splice_response
        };
        let framed = match body {
            BodyLength::Length(_) => true,
            BodyLength::UntilClose => !to_server,
            _ => false,
        };
        let plain = matches!(client, ClientStream::Tcp(_) | ClientStream::Unix(_))
            && matches!(server, ServerStream::Tcp(_) | ServerStream::Unix(_));
        let n = moved.saturating_sub(buffered as u64);
        if wanted && framed && plain && n > 0 {
            self.shared.http.spliced(self.fe, be, to_server, n);
        }
    }
}
