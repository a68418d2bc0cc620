//! The engine's side of HTTP compression (configuration.txt §9.2): the rules and
//! the encoder are haproxide_http::compress; here they meet the exchange. The
//! request picks the algorithm (before it goes to the server: `compression
//! offload` removes `Accept-Encoding`); the response, once its rules ran, is
//! compressed or not, and the body pump feeds the encoder (io.rs `Pump::comp`).

use haproxide_http::compress::{self, Algo, Encoder};
use haproxide_http::{BodyLength, RequestHead, Response};

use crate::spec::HttpSpec;

/// The algorithm this request allows, if the frontend or backend compresses.
pub(super) fn select(fh: &HttpSpec, bh: &HttpSpec, req: &mut RequestHead) -> Option<Algo> {
    if fh.compression.is_none() && bh.compression.is_none() {
        return None;
    }
    compress::select_request(bh.compression.as_deref(), fh.compression.as_deref(), req)
}

/// The encoder for this response when it is compressed; its head is rewritten then
/// (`Content-Encoding`, chunked, weak `ETag`, `Vary`).
pub(super) fn start(
    algo: Option<Algo>,
    fh: &HttpSpec,
    bh: &HttpSpec,
    req: &RequestHead,
    resp: &mut Response,
) -> Option<Encoder> {
    let algo = algo?;
    let bodyless = matches!(resp.body, BodyLength::None | BodyLength::Tunnel);
    let (be, fe) = (bh.compression.as_deref(), fh.compression.as_deref());
    if !compress::response_allows(be, fe, req, &resp.head, bodyless) {
        return None;
    }
    compress::rewrite_head(algo, &mut resp.head);
    Some(Encoder::new(algo))
}
