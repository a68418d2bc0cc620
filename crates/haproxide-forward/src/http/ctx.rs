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

/// The path of a request target: origin-form up to `?`, the part after the
/// authority of an absolute-form one (`/` when it has none), nothing for `*`.
pub(crate) fn path_of(uri: &[u8]) -> &[u8] {
    let end = uri.iter().position(|&b| b == b'?').unwrap_or(uri.len());
    let uri = &uri[..end];
    if uri.first() == Some(&b'/') {
        return uri;
    }
    // scheme://authority/path
    if let Some(p) = uri.windows(3).position(|w| w == b"://") {
        let rest = &uri[p + 3..];
        return match rest.iter().position(|&b| b == b'/') {
            Some(s) => &rest[s..],
            None => b"/",
        };
    }
    uri
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
    fn http_path(&self) -> Option<&[u8]> {
        Some(path_of(&self.req.head.uri))
    }
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn paths() {
        let t: [(&[u8], &[u8]); 6] = [
            (b"/a/b?x=1", b"/a/b"),
            (b"/", b"/"),
            (b"http://h:80/p?q", b"/p"),
            (b"http://h", b"/"),
            (b"*", b"*"),
            (b"/?", b"/"),
        ];
        for (uri, want) in t {
            assert_eq!(path_of(uri), want, "{}", String::from_utf8_lossy(uri));
        }
    }
}
