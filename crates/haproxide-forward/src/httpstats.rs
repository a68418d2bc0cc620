//! HTTP request and response counters (management.txt §9.1 `hrsp_1xx` ..
//! `hrsp_other`, `req_rate`, `req_rate_max`, `req_tot`) of every frontend,
//! backend and server. The HTTP session loop counts; `show stat`, the stats page
//! and the Prometheus exporter read them through [`crate::Engine::frontend_http`],
//! [`crate::Engine::backend_http`] and [`crate::Engine::server_http`].
//!
//! What HAProxy 2.6.12 counts (measured: two forwarded requests answered 200 and
//! 404, one unparsable request answered 400 by HAProxy itself): the frontend
//! counts every request it parsed or refused (`req_tot` 3, `req_rate` 3) and
//! every response it sent, its own errors included (`hrsp_2xx` 1, `hrsp_4xx`
//! 2); the backend and the server count the requests sent to them (2) and their
//! responses (`hrsp_2xx` 1, `hrsp_4xx` 1).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::meter::{Rate, RateSnapshot};

/// One proxy's or server's HTTP counters.
#[derive(Default)]
pub(crate) struct HttpCells {
    req_tot: AtomicU64,
    /// Requests refused before their head parsed (no stream in HAProxy).
    unparsed: AtomicU64,
    hrsp: [AtomicU64; 6],
    req_rate: Rate,
    /// Body bytes HAProxy's H1 layer would splice, in and out.
    spliced: [AtomicU64; 2],
    /// Rewrites that did not fit (`wrew`).
    wrew: AtomicU64,
}

/// The HTTP counters of one object, as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpStats {
    /// Requests (`req_tot`).
    pub req_tot: u64,
    /// Responses by class: 1xx, 2xx, 3xx, 4xx, 5xx, other (`hrsp_*`).
    pub hrsp: [u64; 6],
    /// Requests per second over the last second and the most seen (`req_rate`,
    /// `req_rate_max`; frontends only).
    pub req_rate: RateSnapshot,
    /// Of `req_tot`, the requests refused before their head parsed (400, 408):
    /// HAProxy 2.6.12 creates no stream for them, so `show info`'s `CumReq` does
    /// not count them (measured).
    pub unparsed: u64,
    /// Body bytes received and sent by splicing (`h1_spliced_bytes_in`,
    /// `h1_spliced_bytes_out`; [`HttpMeters::spliced`]).
    pub spliced: [u64; 2],
    /// Failed rewrites (`wrew`, [`HttpMeters::failed_rewrites`]).
    pub wrew: u64,
}

/// The `hrsp_*` slot of a status: 1xx..5xx, else "other".
pub fn status_class(status: u16) -> usize {
    match status / 100 {
        c @ 1..=5 => usize::from(c - 1),
        _ => 5,
    }
}

impl HttpCells {
    fn request(&self, rate: bool) {
        self.req_tot.fetch_add(1, Ordering::Relaxed);
        if rate {
            self.req_rate.hit();
        }
    }

    fn response(&self, status: u16) {
        if let Some(c) = self.hrsp.get(status_class(status)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn get(&self) -> HttpStats {
        HttpStats {
            req_tot: self.req_tot.load(Ordering::Relaxed),
            hrsp: std::array::from_fn(|i| self.hrsp[i].load(Ordering::Relaxed)),
            req_rate: self.req_rate.get(),
            unparsed: self.unparsed.load(Ordering::Relaxed),
            spliced: std::array::from_fn(|i| self.spliced[i].load(Ordering::Relaxed)),
            wrew: self.wrew.load(Ordering::Relaxed),
        }
    }

    fn clear_totals(&self) {
        self.req_tot.store(0, Ordering::Relaxed);
        self.unparsed.store(0, Ordering::Relaxed);
        for c in self.hrsp.iter().chain(&self.spliced) {
            c.store(0, Ordering::Relaxed);
        }
        self.wrew.store(0, Ordering::Relaxed);
    }
}

/// Every frontend's, backend's and server's [`HttpCells`].
#[derive(Default)]
pub(crate) struct HttpMeters {
    frontends: Vec<HttpCells>,
    backends: Vec<HttpCells>,
    servers: Vec<Vec<HttpCells>>,
}

impl HttpMeters {
    /// `servers[b]`: how many servers backend `b` has.
    pub(crate) fn new(frontends: usize, servers: &[usize]) -> HttpMeters {
        HttpMeters {
            frontends: (0..frontends).map(|_| HttpCells::default()).collect(),
            backends: servers.iter().map(|_| HttpCells::default()).collect(),
            servers: servers
                .iter()
                .map(|&n| (0..n).map(|_| HttpCells::default()).collect())
                .collect(),
        }
    }

    /// A request parsed (or refused as invalid) by frontend `fe`.
    pub(crate) fn frontend_request(&self, fe: usize) {
        if let Some(c) = self.frontends.get(fe) {
            c.request(true);
        }
    }

    /// A request refused before its head parsed (also counted by
    /// [`HttpMeters::frontend_request`]).
    pub(crate) fn frontend_unparsed(&self, fe: usize) {
        if let Some(c) = self.frontends.get(fe) {
            c.unparsed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A response with `status` sent to a client of frontend `fe`, HAProxy's own
    /// error responses included.
    pub(crate) fn frontend_response(&self, fe: usize, status: u16) {
        if let Some(c) = self.frontends.get(fe) {
            c.response(status);
        }
    }

    /// A request switched to backend `be`.
    pub(crate) fn backend_request(&self, be: usize) {
        if let Some(c) = self.backends.get(be) {
            c.request(false);
        }
    }

    /// A request sent to server `srv` of backend `be`.
    pub(crate) fn server_request(&self, be: usize, srv: usize) {
        if let Some(c) = self.servers.get(be).and_then(|s| s.get(srv)) {
            c.request(false);
        }
    }

    /// A response of backend `be` (server `srv`) with `status`.
    pub(crate) fn backend_response(&self, be: usize, srv: Option<usize>, status: u16) {
        if let Some(c) = self.backends.get(be) {
            c.response(status);
        }
        if let Some(c) = srv.and_then(|s| self.servers.get(be)?.get(s)) {
            c.response(status);
        }
    }

    /// §4.2 `option splice-request` / `splice-response`: `n` body bytes that
    /// HAProxy 2.6 would move by splice(2) from the client to the server
    /// (`to_server`) or back: the client side's frontend counts them in or
    /// out, the server side's backend the other way. haproxide copies them
    /// (the bytes on the wire are the same).
    pub(crate) fn spliced(&self, fe: usize, be: usize, to_server: bool, n: u64) {
        let (f, b) = if to_server { (0, 1) } else { (1, 0) };
        if let Some(c) = self.frontends.get(fe) {
            c.spliced[f].fetch_add(n, Ordering::Relaxed);
        }
        if let Some(c) = self.backends.get(be) {
            c.spliced[b].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// `n` rewrites that did not fit the buffer's room (§4.2 `strict-mode`):
    /// counted on the frontend, on the backend once assigned, and on the
    /// server once one is (HAProxy's `failed_rewrites`, the `wrew` column).
    pub(crate) fn failed_rewrites(&self, fe: usize, be: Option<usize>, srv: Option<usize>, n: u64) {
        let be_cells = be.and_then(|b| self.backends.get(b));
        let srv_cells = be.zip(srv).and_then(|(b, s)| self.servers.get(b)?.get(s));
        let fe_cells = self.frontends.get(fe);
        for c in [fe_cells, be_cells, srv_cells].into_iter().flatten() {
            c.wrew.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn frontend(&self, fe: usize) -> HttpStats {
        self.frontends
            .get(fe)
            .map_or_else(Default::default, HttpCells::get)
    }

    pub(crate) fn backend(&self, be: usize) -> HttpStats {
        self.backends
            .get(be)
            .map_or_else(Default::default, HttpCells::get)
    }

    pub(crate) fn server(&self, be: usize, srv: usize) -> HttpStats {
        self.servers
            .get(be)
            .and_then(|s| s.get(srv))
            .map_or_else(Default::default, HttpCells::get)
    }

    /// `clear counters`: the request rate maximum restarts from 0.
    pub(crate) fn clear_max(&self) {
        for c in &self.frontends {
            c.req_rate.clear_max();
        }
    }

    /// `clear counters all`: totals back to 0.
    pub(crate) fn clear_totals(&self) {
        let all = self
            .frontends
            .iter()
            .chain(&self.backends)
            .chain(self.servers.iter().flatten());
        for c in all {
            c.clear_totals();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_haproxy() {
        assert_eq!(
            [100, 199, 200, 302, 404, 503, 600, 99, 0].map(status_class),
            [0, 0, 1, 2, 3, 4, 5, 5, 5]
        );
        let m = HttpMeters::new(1, &[2]);
        for s in [200, 404] {
            m.frontend_request(0);
            m.backend_request(0);
            m.server_request(0, 1);
            m.backend_response(0, Some(1), s);
            m.frontend_response(0, s);
        }
        m.frontend_request(0);
        m.frontend_response(0, 400);
        let fe = m.frontend(0);
        assert_eq!((fe.req_tot, fe.hrsp), (3, [0, 1, 0, 2, 0, 0]));
        assert_eq!(fe.req_rate.max, 3);
        assert_eq!(m.backend(0).hrsp, [0, 1, 0, 1, 0, 0]);
        assert_eq!(m.server(0, 1).req_tot, 2);
        assert_eq!(m.server(0, 0).req_tot, 0);
        assert_eq!(m.server(3, 0), HttpStats::default());
        // A request body goes in on the frontend, out on the backend; a
        // response body the other way.
        m.spliced(0, 0, true, 10);
        m.spliced(0, 0, false, 7);
        assert_eq!(m.frontend(0).spliced, [10, 7]);
        assert_eq!(m.backend(0).spliced, [7, 10]);
        m.failed_rewrites(0, None, None, 1);
        m.failed_rewrites(0, Some(0), Some(1), 2);
        assert_eq!(m.frontend(0).wrew, 3);
        assert_eq!(m.backend(0).wrew, 2);
        assert_eq!((m.server(0, 1).wrew, m.server(0, 0).wrew), (2, 0));
        m.clear_totals();
        m.clear_max();
        assert_eq!(m.frontend(0).req_tot, 0);
        assert_eq!(m.frontend(0).req_rate.max, 0);
        assert_eq!(m.backend(0).spliced, [0, 0]);
    }
}
