//! A session's stick-table counters (configuration.txt §4.2 `track-sc*`): the
//! tracker a session keeps when the configuration has stick tables, the view
//! rules evaluate through, and the end of each stream (haproxide-stick).

use crate::session::Sess;

impl Sess {
    pub(crate) fn with_tracker(mut self) -> Sess {
        if !self.shared.tables.list.is_empty() {
            let t = haproxide_stick::Tracker::new(self.shared.tables.clone());
            self.stk = Some(Box::new(t));
        }
        self
    }

    /// The stick tables as the rules of proxy `cur` see them at `level`.
    pub(crate) fn stick_view(
        &self,
        cur: &'_ str,
        level: haproxide_stick::Level,
    ) -> Option<haproxide_stick::View<'_>> {
        let tr = self.stk.as_deref()?;
        let cur = tr.tables.find(cur).map(|t| t.spec.name.as_str());
        Some(haproxide_stick::View {
            tr,
            cur,
            level,
            src: self.src.map(|a| a.ip()),
        })
    }

    /// The end of a stream (an HTTP transaction, or a TCP session): its bytes
    /// into the tracked counters, then the stream-level ones released
    /// (HAProxy's `stream_store_counters`).
    pub(crate) fn stick_stream_end(&mut self) {
        let Some(tr) = self.stk.as_deref() else {
            return;
        };
        if !tr.any() || tr.stream_ended() {
            return;
        }
        // What the log counts (`%U`, `%B`): HTX sizes in HTTP mode, as HAProxy's
        // `req.total` / `res.total`.
        let (from_client, from_server) = if self.http_log.is_some() {
            (self.htx.from_client, self.htx.from_server)
        } else {
            (
                self.bytes.from_client - self.bytes_base.from_client,
                self.bytes.from_server - self.bytes_base.from_server,
            )
        };
        tr.bytes(from_client, from_server);
        tr.end_stream();
    }
}
