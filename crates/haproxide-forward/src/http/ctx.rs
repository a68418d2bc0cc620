//! What `use_backend` conditions see in HTTP mode: the connection's addresses and
//! the request head (configuration.txt §7.3.6 `path`). The HTTP fetches of
//! `haproxide-expr` read it through [`haproxide_expr::Context`].

use std::net::SocketAddr;

use haproxide_http::Request;

pub(crate) struct HttpCtx<'a> {
    pub src: Option<SocketAddr>,
    pub dst: Option<SocketAddr>,
    pub req: &'a Request,
}

impl haproxide_expr::Context for HttpCtx<'_> {
    fn src(&self) -> Option<SocketAddr> {
        self.src
    }
    fn dst(&self) -> Option<SocketAddr> {
        self.dst
    }
    fn is_final(&self) -> bool {
        true
    }
    fn http_method(&self) -> Option<&[u8]> {
        Some(&self.req.head.method)
    }
    fn http_uri(&self) -> Option<&[u8]> {
        Some(&self.req.head.uri)
    }
    fn http_req_version(&self) -> Option<(u8, u8)> {
        Some((self.req.head.version.major, self.req.head.version.minor))
    }
    fn http_req_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let h = self.req.head.headers.0.get(i)?;
        Some((&h.name, &h.value))
    }
}
