//! A small etcd v3 client over the JSON gateway (`/v3/kv/range`, `/v3/watch`,
//! `/v3/auth/authenticate`), the API Patroni's own `etcd3` module speaks.
//!
//! etcd's gateway maps the gRPC messages to JSON: keys and values are base64,
//! 64-bit integers are strings, fields at their default value are left out (a
//! watch event without `type` is a PUT). A watch answer is a stream of JSON
//! objects, one per line. Every read is bounded: a line longer than
//! [`MAX_LINE`] ends the stream with an error (a bad peer cannot grow memory).

use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

/// The longest watch message or range answer accepted (16 MiB).
pub const MAX_LINE: usize = 16 << 20;

/// How to reach etcd (plain data; the config crate fills it in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdSpec {
    /// Base URLs, `http://host:port` or `https://host:port`, tried in turn.
    pub endpoints: Vec<String>,
    /// PEM file of the CAs that sign etcd's certificate (https).
    pub ca_file: Option<PathBuf>,
    /// PEM file with the client certificate (and its key unless `key_file`).
    pub cert_file: Option<PathBuf>,
    /// PEM file with the client key.
    pub key_file: Option<PathBuf>,
    /// Verify etcd's certificate (`verify required`, the default).
    pub verify: bool,
    /// etcd v3 user and password (`/v3/auth/authenticate`).
    pub auth: Option<(String, String)>,
    /// Bound of one request (range, authenticate, connect of a watch).
    pub timeout: Duration,
}

impl Default for EtcdSpec {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            verify: true,
            auth: None,
            timeout: Duration::from_secs(2),
        }
    }
}

/// What went wrong talking to etcd.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// TLS material could not be read or used.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// Connection, timeout, HTTP error.
    #[error("{endpoint}: {what}")]
    Transport {
        /// The endpoint that failed.
        endpoint: String,
        /// What happened.
        what: String,
    },
    /// etcd answered something that is not the gateway's JSON.
    #[error("{endpoint}: unexpected answer: {what}")]
    Protocol {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        what: String,
    },
    /// The watch asked for a revision etcd already compacted away.
    #[error("revision {requested} compacted (oldest kept: {compact_revision})")]
    Compacted {
        /// What was asked.
        requested: i64,
        /// The oldest revision still available.
        compact_revision: i64,
    },
}

/// One key-value pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The key.
    pub key: String,
    /// The value (etcd values are bytes; Patroni's are UTF-8 text).
    pub value: String,
    /// The revision of its last change.
    pub mod_revision: i64,
}

/// A range answer: the pairs and the store's revision when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The store's revision.
    pub revision: i64,
    /// The pairs, by key.
    pub kvs: Vec<Kv>,
}

/// A change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A key was written.
    Put(Kv),
    /// A key was deleted (or its lease expired), at `revision`.
    Delete {
        /// The key.
        key: String,
        /// The revision of the deletion.
        revision: i64,
    },
}

impl Change {
    /// The revision of the change.
    pub fn revision(&self) -> i64 {
        match self {
            Change::Put(kv) => kv.mod_revision,
            Change::Delete { revision, .. } => *revision,
        }
    }
}

/// One message of a watch stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchBatch {
    /// The store's revision in the message header.
    pub revision: i64,
    /// The changes (none in the creation answer or a progress notification).
    pub changes: Vec<Change>,
}

/// The end of a key prefix (etcd's `range_end` for "every key starting with").
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte 0xff: all keys from prefix on.
    vec![0]
}

/// A client for one etcd cluster (several endpoints, one at a time).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// Same settings, but no overall timeout (for watch streams).
    stream: reqwest::Client,
    spec: EtcdSpec,
    token: Option<String>,
    current: usize,
}

fn read_pem(path: &PathBuf) -> Result<Vec<u8>, EtcdError> {
    std::fs::read(path).map_err(|e| EtcdError::Tls(format!("{}: {e}", path.display())))
}

/// A `reqwest` client with the spec's TLS settings (also used for Patroni's REST
/// API by [`crate::promotion`]); never follows redirects.
pub(crate) fn build(
    spec: &EtcdSpec,
    timeout: Option<Duration>,
) -> Result<reqwest::Client, EtcdError> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(spec.timeout)
        .tcp_nodelay(true)
        .tcp_keepalive(Duration::from_secs(5))
        .pool_max_idle_per_host(2);
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    if let Some(ca) = &spec.ca_file {
        let pem = read_pem(ca)?;
        for c in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| EtcdError::Tls(format!("{}: {e}", ca.display())))?
        {
            b = b.add_root_certificate(c);
        }
    }
    if let Some(cert) = &spec.cert_file {
        let mut pem = read_pem(cert)?;
        if let Some(key) = &spec.key_file {
            pem.push(b'\n');
            pem.extend(read_pem(key)?);
        }
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| EtcdError::Tls(format!("{}: {e}", cert.display())))?;
        b = b.identity(id);
    }
    if !spec.verify {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| EtcdError::Tls(e.to_string()))
}

fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn text(v: &Value) -> String {
    v.as_str()
        .and_then(|s| B64.decode(s).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn kv_of(v: &Value) -> Kv {
    Kv {
        key: text(&v["key"]),
        value: text(&v["value"]),
        mod_revision: int(&v["mod_revision"]),
    }
}

/// Parses one watch message (`{"result": {...}}` or `{"error": {...}}`).
pub fn parse_watch_message(line: &[u8], requested: i64) -> Result<WatchBatch, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    if let Some(err) = v.get("error") {
        return Err(format!("watch error: {err}"));
    }
    let r = v.get("result").ok_or("no result in watch message")?;
    let compact = int(&r["compact_revision"]);
    if compact > 0 && requested > 0 && compact >= requested {
        return Err(format!("compacted:{compact}"));
    }
    if r["canceled"].as_bool() == Some(true) {
        return Err(format!(
            "watch canceled: {}",
            r["cancel_reason"].as_str().unwrap_or("")
        ));
    }
    let revision = int(&r["header"]["revision"]);
    let mut changes = Vec::new();
    if let Some(evs) = r["events"].as_array() {
        for e in evs {
            let kv = kv_of(&e["kv"]);
            if e["type"].as_str() == Some("DELETE") {
                changes.push(Change::Delete {
                    key: kv.key,
                    revision: kv.mod_revision,
                });
            } else {
                changes.push(Change::Put(kv));
            }
        }
    }
    Ok(WatchBatch { revision, changes })
}

impl Client {
    /// A client for `spec` (reads the TLS files now).
    pub fn new(spec: EtcdSpec) -> Result<Self, EtcdError> {
        Ok(Self {
            http: build(&spec, Some(spec.timeout))?,
            stream: build(&spec, None)?,
            spec,
            token: None,
            current: 0,
        })
    }

    /// The endpoint in use.
    pub fn endpoint(&self) -> &str {
        self.spec
            .endpoints
            .get(self.current)
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Moves to the next endpoint (after a failure); forgets the auth token.
    pub fn next_endpoint(&mut self) {
        if !self.spec.endpoints.is_empty() {
            self.current = (self.current + 1) % self.spec.endpoints.len();
        }
        self.token = None;
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint().trim_end_matches('/'))
    }

    fn transport(&self, e: impl std::fmt::Display) -> EtcdError {
        EtcdError::Transport {
            endpoint: self.endpoint().to_string(),
            what: e.to_string(),
        }
    }

    fn protocol(&self, what: impl Into<String>) -> EtcdError {
        EtcdError::Protocol {
            endpoint: self.endpoint().to_string(),
            what: what.into(),
        }
    }

    async fn post(&mut self, path: &str, body: Value) -> Result<Value, EtcdError> {
        self.ensure_token().await?;
        let mut req = self.http.post(self.url(path)).json_body(&body);
        if let Some(t) = &self.token {
            req = req.header("Authorization", t.as_str());
        }
        let resp = req.send().await.map_err(|e| self.transport(describe(&e)))?;
        let status = resp.status();
        let bytes = read_bounded(resp).await.map_err(|e| self.transport(e))?;
        if !status.is_success() {
            return Err(self.protocol(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| self.protocol(format!("not JSON: {e}")))
    }

    async fn ensure_token(&mut self) -> Result<(), EtcdError> {
        let Some((user, pass)) = self.spec.auth.clone() else {
            return Ok(());
        };
        if self.token.is_some() {
            return Ok(());
        }
        let resp = self
            .http
            .post(self.url("/v3/auth/authenticate"))
            .json_body(&json!({"name": user, "password": pass}))
            .send()
            .await
            .map_err(|e| self.transport(describe(&e)))?;
        let status = resp.status();
        let bytes = read_bounded(resp).await.map_err(|e| self.transport(e))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| self.protocol(format!("authenticate: not JSON: {e}")))?;
        match v["token"].as_str() {
            Some(t) if status.is_success() => {
                self.token = Some(t.to_string());
                Ok(())
            }
            _ => {
                // etcd's gateway says why in `error` (3.4) or `message`.
                let why = v["error"]
                    .as_str()
                    .or(v["message"].as_str())
                    .map_or_else(|| v.to_string(), str::to_string);
                Err(self.protocol(format!(
                    "authentication as user {user:?} refused (HTTP {status}): {why}"
                )))
            }
        }
    }

    /// Every key under `prefix`, with the store's revision.
    pub async fn range_prefix(&mut self, prefix: &str) -> Result<Range, EtcdError> {
        let v = self
            .post(
                "/v3/kv/range",
                json!({"key": B64.encode(prefix), "range_end": B64.encode(prefix_end(prefix))}),
            )
            .await?;
        let revision = int(&v["header"]["revision"]);
        if revision == 0 {
            return Err(self.protocol("range answer without header.revision"));
        }
        let kvs = v["kvs"]
            .as_array()
            .map(|a| a.iter().map(kv_of).collect())
            .unwrap_or_default();
        Ok(Range { revision, kvs })
    }

    /// The store's current revision (a cheap liveness probe: counts `key` only).
    pub async fn revision(&mut self, key: &str) -> Result<i64, EtcdError> {
        let v = self
            .post(
                "/v3/kv/range",
                json!({"key": B64.encode(key), "count_only": true}),
            )
            .await?;
        Ok(int(&v["header"]["revision"]))
    }

    /// Opens a watch of every key under `prefix` from revision `start` on.
    pub async fn watch_prefix(&mut self, prefix: &str, start: i64) -> Result<Watch, EtcdError> {
        self.ensure_token().await?;
        let body = json!({"create_request": {
            "key": B64.encode(prefix),
            "range_end": B64.encode(prefix_end(prefix)),
            "start_revision": start.to_string(),
        }});
        let mut req = self.stream.post(self.url("/v3/watch")).json_body(&body);
        if let Some(t) = &self.token {
            req = req.header("Authorization", t.as_str());
        }
        let resp = tokio::time::timeout(self.spec.timeout, req.send())
            .await
            .map_err(|_| self.transport("watch: no answer in time"))?
            .map_err(|e| self.transport(describe(&e)))?;
        if !resp.status().is_success() {
            return Err(self.protocol(format!("watch: HTTP {}", resp.status())));
        }
        Ok(Watch {
            resp,
            buf: Vec::new(),
            requested: start,
            endpoint: self.endpoint().to_string(),
        })
    }
}

/// An error with its causes: reqwest's own text names only the URL, the reason
/// (certificate not trusted, connection refused...) is in its sources.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = c.source();
    }
    out
}

/// Reads a whole (non-streamed) answer, at most [`MAX_LINE`] bytes.
async fn read_bounded(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(c) = resp.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + c.len() > MAX_LINE {
            return Err(format!("answer longer than {MAX_LINE} bytes"));
        }
        out.extend_from_slice(&c);
    }
    Ok(out)
}

/// An open watch stream.
pub struct Watch {
    resp: reqwest::Response,
    buf: Vec<u8>,
    requested: i64,
    endpoint: String,
}

impl Watch {
    /// The next message. `Ok(None)`: etcd closed the stream.
    pub async fn next(&mut self) -> Result<Option<WatchBatch>, EtcdError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let line = line.trim_ascii();
                if line.is_empty() {
                    continue;
                }
                return match parse_watch_message(line, self.requested) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) => match e.strip_prefix("compacted:") {
                        Some(c) => Err(EtcdError::Compacted {
                            requested: self.requested,
                            compact_revision: c.parse().unwrap_or(0),
                        }),
                        None => Err(EtcdError::Protocol {
                            endpoint: self.endpoint.clone(),
                            what: e,
                        }),
                    },
                };
            }
            match self.resp.chunk().await {
                Ok(Some(c)) => {
                    if self.buf.len() + c.len() > MAX_LINE {
                        return Err(EtcdError::Protocol {
                            endpoint: self.endpoint.clone(),
                            what: format!("watch message longer than {MAX_LINE} bytes"),
                        });
                    }
                    self.buf.extend_from_slice(&c);
                }
                Ok(None) => return Ok(None),
                Err(e) => {
                    return Err(EtcdError::Transport {
                        endpoint: self.endpoint.clone(),
                        what: e.to_string(),
                    })
                }
            }
        }
    }
}

/// `RequestBuilder::json` needs reqwest's `json` feature; this is the same with
/// `serde_json` directly.
trait JsonBody {
    fn json_body(self, v: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, v: &Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end("/a/b/"), b"/a/b0".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
    }

    #[test]
    fn watch_messages_as_the_gateway_writes_them() {
        // A PUT has no "type" (default value left out), a DELETE says so.
        let m = br#"{"result":{"header":{"cluster_id":"1","revision":"42"},"events":[{"kv":{"key":"L3MvbGVhZGVy","value":"bm9kZTI=","mod_revision":"41"}},{"type":"DELETE","kv":{"key":"L3MvbGVhZGVy","mod_revision":"42"}}]}}"#;
        let b = parse_watch_message(m, 40).unwrap();
        assert_eq!(b.revision, 42);
        assert_eq!(
            b.changes,
            vec![
                Change::Put(Kv {
                    key: "/s/leader".into(),
                    value: "node2".into(),
                    mod_revision: 41
                }),
                Change::Delete {
                    key: "/s/leader".into(),
                    revision: 42
                }
            ]
        );
        let created = br#"{"result":{"header":{"revision":"7"},"created":true}}"#;
        assert!(parse_watch_message(created, 8).unwrap().changes.is_empty());
        let compacted =
            br#"{"result":{"header":{"revision":"90"},"compact_revision":"50","canceled":true}}"#;
        assert_eq!(
            parse_watch_message(compacted, 10).unwrap_err(),
            "compacted:50"
        );
        assert!(parse_watch_message(b"{\"error\":{\"code\":14}}", 1).is_err());
        assert!(parse_watch_message(b"not json", 1).is_err());
    }
}
