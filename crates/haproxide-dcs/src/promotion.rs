//! Observing a new leader's promotion through its Patroni REST API.
//!
//! Patroni takes the leader key *before* it promotes PostgreSQL, and its REST
//! API's health endpoints (`/`, `/primary`, `/read-write`) answer 200 from the
//! moment it holds the key: a check alone would route read-write sessions to a
//! node still in recovery. The member key says `"role": "primary"` only after
//! Patroni's next poll (about a second later). What flips exactly at the end of
//! the promotion is the status document `GET <api_url>` returns (`api_url` is in
//! the member key, `http://host:8008/patroni`): Patroni computes its `role` from
//! `pg_is_in_recovery()` on every request, and adds `xlog.location`
//! (`pg_current_wal_flush_lsn()`) only when PostgreSQL is out of recovery. So the
//! follower polls the new leader's status every `promotion_poll` (50 ms) from the
//! moment it takes the key until both say "primary" ([`promoted`]).
//!
//! Why not faster: Patroni's REST API answers HTTP/1.0 (a connection per request)
//! from a listen backlog of `request_queue_size` (default 5), and the health
//! checks of every proxy go there too at their fast cadence during a failover. A
//! connection refused by a full backlog costs the client a 1 s SYN retransmission;
//! at 20 ms from three proxies one check of one proxy came 0.9 s late (the e2e
//! suite, run r2). 50 ms adds at most 50 ms and a third of the connections.
//!
//! Guards (the URL comes from the DCS): `http`/`https` only, `GET` only, no
//! redirects, one request bounded by the spec's timeout, the answer by
//! [`MAX_STATUS`] bytes. Anything else (an error, a 503, a document that is not
//! JSON) means "not yet": the member key remains the other way to learn it.

use std::time::Duration;

use serde_json::Value;

/// The longest status document read (Patroni's is ~1 KiB).
pub const MAX_STATUS: usize = 64 << 10;

/// Whether a status document of Patroni's REST API says PostgreSQL is a primary
/// out of recovery: `role` `primary` (or `master`, Patroni < 3) *and* an
/// `xlog.location` (Patroni falls back to its own idea of the role, without
/// `xlog`, when its query fails: that does not count).
pub fn promoted(status: &Value) -> bool {
    let role = status.get("role").and_then(Value::as_str);
    let location = status
        .get("xlog")
        .and_then(|x| x.get("location"))
        .is_some_and(|l| l.is_u64() || l.is_i64());
    matches!(role, Some("primary" | "master")) && location
}

/// Why one poll did not say "promoted".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollError {
    /// Not an `http://` or `https://` URL.
    Scheme,
    /// Connection, timeout, HTTP status, size, not JSON.
    Failed(String),
}

/// Fetches the status document at `url` (bounded), `Ok(true)` when it says promoted.
pub async fn poll_once(http: &reqwest::Client, url: &str) -> Result<bool, PollError> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(PollError::Scheme);
    }
    let fail = |e: &dyn std::fmt::Display| PollError::Failed(e.to_string());
    let mut resp = http.get(url).send().await.map_err(|e| fail(&e))?;
    if !resp.status().is_success() {
        return Err(fail(&format!("HTTP {}", resp.status())));
    }
    let mut body = Vec::new();
    while let Some(c) = resp.chunk().await.map_err(|e| fail(&e))? {
        if body.len() + c.len() > MAX_STATUS {
            return Err(fail(&format!("status longer than {MAX_STATUS} bytes")));
        }
        body.extend_from_slice(&c);
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| fail(&e))?;
    Ok(promoted(&v))
}

/// Polls `url` every `every` until it says promoted (returns) or the URL is not
/// http(s) (never returns: the caller selects it against other events).
pub async fn until_promoted(http: &reqwest::Client, url: &str, every: Duration) {
    loop {
        match poll_once(http, url).await {
            Ok(true) => return,
            Err(PollError::Scheme) => std::future::pending::<()>().await,
            Ok(false) | Err(PollError::Failed(_)) => tokio::time::sleep(every).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_primary_with_a_wal_location_is_promoted() {
        // What Patroni 4 answers on a primary, on a replica (also while the new
        // leader is being promoted), and when its query failed.
        let primary = json!({"state": "running", "role": "primary", "timeline": 3,
            "xlog": {"location": 50331808}});
        let replica = json!({"state": "running", "role": "replica", "timeline": 2,
            "xlog": {"received_location": 1, "replayed_location": 1, "paused": false}});
        let fallback = json!({"state": "running", "role": "primary"});
        let promoting = json!({"state": "running", "role": "promoted"});
        assert!(promoted(&primary));
        assert!(promoted(
            &json!({"role": "master", "xlog": {"location": 1}})
        ));
        assert!(!promoted(&replica));
        assert!(!promoted(&fallback));
        assert!(!promoted(&promoting));
        assert!(!promoted(
            &json!({"role": "primary", "xlog": {"location": "1"}})
        ));
        assert!(!promoted(&json!(["primary"])));
    }
}
