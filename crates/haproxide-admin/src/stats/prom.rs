//! The Prometheus exporter (`http-request use-service prometheus-exporter`,
//! HAProxy's addons/promex, README "Exported metrics"): HAProxy 2.6's metric names,
//! HELP/TYPE lines, labels (`proxy`, `server`, `state`, `code`) and order (every
//! family once: process, then frontends, backends, servers), in the text exposition
//! format 0.0.4. Values come from [`RuntimeState`]; what haproxide does not count
//! (HTTP compression, caches, SSL...) is 0 as on an idle HAProxy, and HAProxy's
//! "not applicable" values are `NaN`.
//!
//! The catalogue below was taken from what HAProxy 2.6.12 serves
//! (tests/fixtures/stats/promex-2.6.12.txt, same configuration as oracle.cfg).

use std::fmt::Write as _;

use crate::cli::{BackendSnapshot, FrontendSnapshot, InfoSnapshot, ProxySnapshot, ServerSnapshot};

/// Which objects a metric family describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Process,
    Frontend,
    Backend,
    Server,
}

/// One metric family.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub scope: Scope,
    /// Without the `haproxy_<scope>_` prefix.
    pub name: &'static str,
    /// `gauge` or `counter`.
    pub kind: &'static str,
    pub help: &'static str,
    /// Only for `mode http` proxies.
    pub http_only: bool,
}

pub const METRICS: &[Metric] = &[
    Metric { scope: Scope::Process, name: "nbthread", kind: "gauge", help: "Number of started threads (global.nbthread)", http_only: false },
    Metric { scope: Scope::Process, name: "nbproc", kind: "gauge", help: "Number of started worker processes (historical, always 1)", http_only: false },
    Metric { scope: Scope::Process, name: "relative_process_id", kind: "gauge", help: "Relative worker process number (1)", http_only: false },
    Metric { scope: Scope::Process, name: "uptime_seconds", kind: "gauge", help: "How long ago this worker process was started (seconds)", http_only: false },
    Metric { scope: Scope::Process, name: "pool_failures_total", kind: "counter", help: "Number of failed pool allocations since this worker was started", http_only: false },
    Metric { scope: Scope::Process, name: "max_fds", kind: "gauge", help: "Hard limit on the number of per-process file descriptors", http_only: false },
    Metric { scope: Scope::Process, name: "max_sockets", kind: "gauge", help: "Hard limit on the number of per-process sockets", http_only: false },
    Metric { scope: Scope::Process, name: "max_connections", kind: "gauge", help: "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)", http_only: false },
    Metric { scope: Scope::Process, name: "hard_max_connections", kind: "gauge", help: "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)", http_only: false },
    Metric { scope: Scope::Process, name: "current_connections", kind: "gauge", help: "Current number of connections on this worker process", http_only: false },
    Metric { scope: Scope::Process, name: "connections_total", kind: "counter", help: "Total number of connections on this worker process since started", http_only: false },
    Metric { scope: Scope::Process, name: "requests_total", kind: "counter", help: "Total number of requests on this worker process since started", http_only: false },
    Metric { scope: Scope::Process, name: "max_ssl_connections", kind: "gauge", help: "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited", http_only: false },
    Metric { scope: Scope::Process, name: "current_ssl_connections", kind: "gauge", help: "Current number of SSL endpoints on this worker process (front+back)", http_only: false },
    Metric { scope: Scope::Process, name: "ssl_connections_total", kind: "counter", help: "Total number of SSL endpoints on this worker process since started (front+back)", http_only: false },
    Metric { scope: Scope::Process, name: "max_pipes", kind: "gauge", help: "Hard limit on the number of pipes for splicing, 0=unlimited", http_only: false },
    Metric { scope: Scope::Process, name: "pipes_used_total", kind: "counter", help: "Current number of pipes in use in this worker process", http_only: false },
    Metric { scope: Scope::Process, name: "pipes_free_total", kind: "counter", help: "Current number of allocated and available pipes in this worker process", http_only: false },
    Metric { scope: Scope::Process, name: "current_connection_rate", kind: "gauge", help: "Number of front connections created on this worker process over the last second", http_only: false },
    Metric { scope: Scope::Process, name: "limit_connection_rate", kind: "gauge", help: "Hard limit for ConnRate (global.maxconnrate)", http_only: false },
    Metric { scope: Scope::Process, name: "max_connection_rate", kind: "gauge", help: "Highest ConnRate reached on this worker process since started (in connections per second)", http_only: false },
    Metric { scope: Scope::Process, name: "current_session_rate", kind: "gauge", help: "Number of sessions created on this worker process over the last second", http_only: false },
    Metric { scope: Scope::Process, name: "limit_session_rate", kind: "gauge", help: "Hard limit for SessRate (global.maxsessrate)", http_only: false },
    Metric { scope: Scope::Process, name: "max_session_rate", kind: "gauge", help: "Highest SessRate reached on this worker process since started (in sessions per second)", http_only: false },
    Metric { scope: Scope::Process, name: "current_ssl_rate", kind: "gauge", help: "Number of SSL connections created on this worker process over the last second", http_only: false },
    Metric { scope: Scope::Process, name: "limit_ssl_rate", kind: "gauge", help: "Hard limit for SslRate (global.maxsslrate)", http_only: false },
    Metric { scope: Scope::Process, name: "max_ssl_rate", kind: "gauge", help: "Highest SslRate reached on this worker process since started (in connections per second)", http_only: false },
    Metric { scope: Scope::Process, name: "current_frontend_ssl_key_rate", kind: "gauge", help: "Number of SSL keys created on frontends in this worker process over the last second", http_only: false },
    Metric { scope: Scope::Process, name: "max_frontend_ssl_key_rate", kind: "gauge", help: "Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)", http_only: false },
    Metric { scope: Scope::Process, name: "frontend_ssl_reuse", kind: "gauge", help: "Percent of frontend SSL connections which did not require a new key", http_only: false },
    Metric { scope: Scope::Process, name: "current_backend_ssl_key_rate", kind: "gauge", help: "Number of SSL keys created on backends in this worker process over the last second", http_only: false },
    Metric { scope: Scope::Process, name: "max_backend_ssl_key_rate", kind: "gauge", help: "Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)", http_only: false },
    Metric { scope: Scope::Process, name: "ssl_cache_lookups_total", kind: "counter", help: "Total number of SSL session ID lookups in the SSL session cache on this worker since started", http_only: false },
    Metric { scope: Scope::Process, name: "ssl_cache_misses_total", kind: "counter", help: "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started", http_only: false },
    Metric { scope: Scope::Process, name: "http_comp_bytes_in_total", kind: "counter", help: "Number of bytes submitted to the HTTP compressor in this worker process over the last second", http_only: false },
    Metric { scope: Scope::Process, name: "http_comp_bytes_out_total", kind: "counter", help: "Number of bytes emitted by the HTTP compressor in this worker process over the last second", http_only: false },
    Metric { scope: Scope::Process, name: "limit_http_comp", kind: "gauge", help: "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled", http_only: false },
    Metric { scope: Scope::Process, name: "current_zlib_memory", kind: "gauge", help: "Amount of memory currently used by HTTP compression on the current worker process (in bytes)", http_only: false },
    Metric { scope: Scope::Process, name: "max_zlib_memory", kind: "gauge", help: "Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)", http_only: false },
    Metric { scope: Scope::Process, name: "current_tasks", kind: "gauge", help: "Total number of tasks in the current worker process (active + sleeping)", http_only: false },
    Metric { scope: Scope::Process, name: "current_run_queue", kind: "gauge", help: "Total number of active tasks+tasklets in the current worker process", http_only: false },
    Metric { scope: Scope::Process, name: "idle_time_percent", kind: "gauge", help: "Percentage of last second spent waiting in the current worker thread", http_only: false },
    Metric { scope: Scope::Process, name: "stopping", kind: "gauge", help: "1 if the worker process is currently stopping, otherwise zero", http_only: false },
    Metric { scope: Scope::Process, name: "jobs", kind: "gauge", help: "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)", http_only: false },
    Metric { scope: Scope::Process, name: "unstoppable_jobs", kind: "gauge", help: "Current number of unstoppable jobs on the current worker process (master connections)", http_only: false },
    Metric { scope: Scope::Process, name: "listeners", kind: "gauge", help: "Current number of active listeners on the current worker process", http_only: false },
    Metric { scope: Scope::Process, name: "active_peers", kind: "gauge", help: "Current number of verified active peers connections on the current worker process", http_only: false },
    Metric { scope: Scope::Process, name: "connected_peers", kind: "gauge", help: "Current number of peers having passed the connection step on the current worker process", http_only: false },
    Metric { scope: Scope::Process, name: "dropped_logs_total", kind: "counter", help: "Total number of dropped logs for current worker process since started", http_only: false },
    Metric { scope: Scope::Process, name: "busy_polling_enabled", kind: "gauge", help: "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)", http_only: false },
    Metric { scope: Scope::Process, name: "failed_resolutions", kind: "counter", help: "Total number of failed DNS resolutions in current worker process since started", http_only: false },
    Metric { scope: Scope::Process, name: "bytes_out_total", kind: "counter", help: "Total number of bytes emitted by current worker process since started", http_only: false },
    Metric { scope: Scope::Process, name: "spliced_bytes_out_total", kind: "counter", help: "Total number of bytes emitted by current worker process through a kernel pipe since started", http_only: false },
    Metric { scope: Scope::Process, name: "bytes_out_rate", kind: "gauge", help: "Number of bytes emitted by current worker process over the last second", http_only: false },
    Metric { scope: Scope::Process, name: "recv_logs_total", kind: "counter", help: "Total number of log messages received by log-forwarding listeners on this worker process since started", http_only: false },
    Metric { scope: Scope::Process, name: "build_info", kind: "gauge", help: "Build info", http_only: false },
    Metric { scope: Scope::Process, name: "max_memory_bytes", kind: "gauge", help: "Worker process's hard limit on memory usage in byes (-m on command line)", http_only: false },
    Metric { scope: Scope::Process, name: "pool_allocated_bytes", kind: "gauge", help: "Amount of memory allocated in pools (in bytes)", http_only: false },
    Metric { scope: Scope::Process, name: "pool_used_bytes", kind: "gauge", help: "Amount of pool memory currently used (in bytes)", http_only: false },
    Metric { scope: Scope::Process, name: "start_time_seconds", kind: "gauge", help: "Start time in seconds", http_only: false },
    Metric { scope: Scope::Frontend, name: "current_sessions", kind: "gauge", help: "Number of current sessions on the frontend, backend or server", http_only: false },
    Metric { scope: Scope::Frontend, name: "max_sessions", kind: "gauge", help: "Highest value of current sessions encountered since process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "limit_sessions", kind: "gauge", help: "Frontend/listener/server's maxconn, backend's fullconn", http_only: false },
    Metric { scope: Scope::Frontend, name: "sessions_total", kind: "counter", help: "Total number of sessions since process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "bytes_in_total", kind: "counter", help: "Total number of request bytes since process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "bytes_out_total", kind: "counter", help: "Total number of response bytes since process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "requests_denied_total", kind: "counter", help: "Total number of denied requests since process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "responses_denied_total", kind: "counter", help: "Total number of denied responses since process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "request_errors_total", kind: "counter", help: "Total number of invalid requests since process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "status", kind: "gauge", help: "Current status of the service, per state label value.", http_only: false },
    Metric { scope: Scope::Frontend, name: "limit_session_rate", kind: "gauge", help: "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)", http_only: false },
    Metric { scope: Scope::Frontend, name: "max_session_rate", kind: "gauge", help: "Highest value of sessions per second observed since the worker process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "http_responses_total", kind: "counter", help: "Total number of HTTP responses with status 100-199 returned by this object since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "http_requests_rate_max", kind: "gauge", help: "Highest value of http requests observed since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "http_requests_total", kind: "counter", help: "Total number of HTTP requests processed by this object since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "http_comp_bytes_in_total", kind: "counter", help: "Total number of bytes submitted to the HTTP compressor for this object since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "http_comp_bytes_out_total", kind: "counter", help: "Total number of bytes emitted by the HTTP compressor for this object since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "http_comp_bytes_bypassed_total", kind: "counter", help: "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)", http_only: true },
    Metric { scope: Scope::Frontend, name: "http_comp_responses_total", kind: "counter", help: "Total number of HTTP responses that were compressed for this object since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "connections_rate_max", kind: "gauge", help: "Highest value of connections per second observed since the worker process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "connections_total", kind: "counter", help: "Total number of new connections accepted on this frontend since the worker process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "intercepted_requests_total", kind: "counter", help: "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "denied_connections_total", kind: "counter", help: "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "denied_sessions_total", kind: "counter", help: "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "failed_header_rewriting_total", kind: "counter", help: "Total number of failed HTTP header rewrites since the worker process started", http_only: false },
    Metric { scope: Scope::Frontend, name: "http_cache_lookups_total", kind: "counter", help: "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "http_cache_hits_total", kind: "counter", help: "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started", http_only: true },
    Metric { scope: Scope::Frontend, name: "internal_errors_total", kind: "counter", help: "Total number of internal errors since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "current_queue", kind: "gauge", help: "Number of current queued connections", http_only: false },
    Metric { scope: Scope::Backend, name: "max_queue", kind: "gauge", help: "Highest value of queued connections encountered since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "current_sessions", kind: "gauge", help: "Number of current sessions on the frontend, backend or server", http_only: false },
    Metric { scope: Scope::Backend, name: "max_sessions", kind: "gauge", help: "Highest value of current sessions encountered since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "limit_sessions", kind: "gauge", help: "Frontend/listener/server's maxconn, backend's fullconn", http_only: false },
    Metric { scope: Scope::Backend, name: "sessions_total", kind: "counter", help: "Total number of sessions since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "bytes_in_total", kind: "counter", help: "Total number of request bytes since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "bytes_out_total", kind: "counter", help: "Total number of response bytes since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "requests_denied_total", kind: "counter", help: "Total number of denied requests since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "responses_denied_total", kind: "counter", help: "Total number of denied responses since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "connection_errors_total", kind: "counter", help: "Total number of failed connections to server since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "response_errors_total", kind: "counter", help: "Total number of invalid responses since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "retry_warnings_total", kind: "counter", help: "Total number of server connection retries since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "redispatch_warnings_total", kind: "counter", help: "Total number of server redispatches due to connection failures since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "status", kind: "gauge", help: "Current status of the service, per state label value.", http_only: false },
    Metric { scope: Scope::Backend, name: "weight", kind: "gauge", help: "Server's effective weight, or sum of active servers' effective weights for a backend", http_only: false },
    Metric { scope: Scope::Backend, name: "active_servers", kind: "gauge", help: "Total number of active UP servers with a non-zero weight", http_only: false },
    Metric { scope: Scope::Backend, name: "backup_servers", kind: "gauge", help: "Total number of backup UP servers with a non-zero weight", http_only: false },
    Metric { scope: Scope::Backend, name: "check_up_down_total", kind: "counter", help: "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "check_last_change_seconds", kind: "gauge", help: "How long ago the last server state changed, in seconds", http_only: false },
    Metric { scope: Scope::Backend, name: "downtime_seconds_total", kind: "counter", help: "Total time spent in DOWN state, for server or backend", http_only: false },
    Metric { scope: Scope::Backend, name: "loadbalanced_total", kind: "counter", help: "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)", http_only: false },
    Metric { scope: Scope::Backend, name: "max_session_rate", kind: "gauge", help: "Highest value of sessions per second observed since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "http_responses_total", kind: "counter", help: "Total number of HTTP responses with status 100-199 returned by this object since the worker process started", http_only: true },
    Metric { scope: Scope::Backend, name: "http_requests_total", kind: "counter", help: "Total number of HTTP requests processed by this object since the worker process started", http_only: true },
    Metric { scope: Scope::Backend, name: "client_aborts_total", kind: "counter", help: "Total number of requests or connections aborted by the client since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "server_aborts_total", kind: "counter", help: "Total number of requests or connections aborted by the server since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "http_comp_bytes_in_total", kind: "counter", help: "Total number of bytes submitted to the HTTP compressor for this object since the worker process started", http_only: true },
    Metric { scope: Scope::Backend, name: "http_comp_bytes_out_total", kind: "counter", help: "Total number of bytes emitted by the HTTP compressor for this object since the worker process started", http_only: true },
    Metric { scope: Scope::Backend, name: "http_comp_bytes_bypassed_total", kind: "counter", help: "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)", http_only: true },
    Metric { scope: Scope::Backend, name: "http_comp_responses_total", kind: "counter", help: "Total number of HTTP responses that were compressed for this object since the worker process started", http_only: true },
    Metric { scope: Scope::Backend, name: "last_session_seconds", kind: "gauge", help: "How long ago some traffic was seen on this object on this worker process, in seconds", http_only: false },
    Metric { scope: Scope::Backend, name: "queue_time_average_seconds", kind: "gauge", help: "Avg. queue time for last 1024 successful connections.", http_only: false },
    Metric { scope: Scope::Backend, name: "connect_time_average_seconds", kind: "gauge", help: "Avg. connect time for last 1024 successful connections.", http_only: false },
    Metric { scope: Scope::Backend, name: "response_time_average_seconds", kind: "gauge", help: "Avg. response time for last 1024 successful connections.", http_only: false },
    Metric { scope: Scope::Backend, name: "total_time_average_seconds", kind: "gauge", help: "Avg. total time for last 1024 successful connections.", http_only: false },
    Metric { scope: Scope::Backend, name: "failed_header_rewriting_total", kind: "counter", help: "Total number of failed HTTP header rewrites since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "connection_attempts_total", kind: "counter", help: "Total number of outgoing connection attempts on this backend/server since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "connection_reuses_total", kind: "counter", help: "Total number of reused connection on this backend/server since the worker process started", http_only: false },
    Metric { scope: Scope::Backend, name: "http_cache_lookups_total", kind: "counter", help: "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started", http_only: true },
    Metric { scope: Scope::Backend, name: "http_cache_hits_total", kind: "counter", help: "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started", http_only: true },
    Metric { scope: Scope::Backend, name: "max_queue_time_seconds", kind: "gauge", help: "Maximum observed time spent in the queue", http_only: false },
    Metric { scope: Scope::Backend, name: "max_connect_time_seconds", kind: "gauge", help: "Maximum observed time spent waiting for a connection to complete", http_only: false },
    Metric { scope: Scope::Backend, name: "max_response_time_seconds", kind: "gauge", help: "Maximum observed time spent waiting for a server response", http_only: false },
    Metric { scope: Scope::Backend, name: "max_total_time_seconds", kind: "gauge", help: "Maximum observed total request+response time (request+queue+connect+response+processing)", http_only: false },
    Metric { scope: Scope::Backend, name: "internal_errors_total", kind: "counter", help: "Total number of internal errors since process started", http_only: false },
    Metric { scope: Scope::Backend, name: "uweight", kind: "gauge", help: "Server's user weight, or sum of active servers' user weights for a backend", http_only: false },
    Metric { scope: Scope::Backend, name: "agg_server_status", kind: "gauge", help: "Backend's aggregated gauge of servers' status", http_only: false },
    Metric { scope: Scope::Backend, name: "agg_server_check_status", kind: "gauge", help: "Backend's aggregated gauge of servers' state check status", http_only: false },
    Metric { scope: Scope::Backend, name: "agg_check_status", kind: "gauge", help: "Backend's aggregated gauge of servers' state check status", http_only: false },
    Metric { scope: Scope::Server, name: "current_queue", kind: "gauge", help: "Number of current queued connections", http_only: false },
    Metric { scope: Scope::Server, name: "max_queue", kind: "gauge", help: "Highest value of queued connections encountered since process started", http_only: false },
    Metric { scope: Scope::Server, name: "current_sessions", kind: "gauge", help: "Number of current sessions on the frontend, backend or server", http_only: false },
    Metric { scope: Scope::Server, name: "max_sessions", kind: "gauge", help: "Highest value of current sessions encountered since process started", http_only: false },
    Metric { scope: Scope::Server, name: "limit_sessions", kind: "gauge", help: "Frontend/listener/server's maxconn, backend's fullconn", http_only: false },
    Metric { scope: Scope::Server, name: "sessions_total", kind: "counter", help: "Total number of sessions since process started", http_only: false },
    Metric { scope: Scope::Server, name: "bytes_in_total", kind: "counter", help: "Total number of request bytes since process started", http_only: false },
    Metric { scope: Scope::Server, name: "bytes_out_total", kind: "counter", help: "Total number of response bytes since process started", http_only: false },
    Metric { scope: Scope::Server, name: "responses_denied_total", kind: "counter", help: "Total number of denied responses since process started", http_only: false },
    Metric { scope: Scope::Server, name: "connection_errors_total", kind: "counter", help: "Total number of failed connections to server since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "response_errors_total", kind: "counter", help: "Total number of invalid responses since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "retry_warnings_total", kind: "counter", help: "Total number of server connection retries since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "redispatch_warnings_total", kind: "counter", help: "Total number of server redispatches due to connection failures since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "status", kind: "gauge", help: "Current status of the service, per state label value.", http_only: false },
    Metric { scope: Scope::Server, name: "weight", kind: "gauge", help: "Server's effective weight, or sum of active servers' effective weights for a backend", http_only: false },
    Metric { scope: Scope::Server, name: "check_failures_total", kind: "counter", help: "Total number of failed individual health checks per server/backend, since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "check_up_down_total", kind: "counter", help: "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "check_last_change_seconds", kind: "gauge", help: "How long ago the last server state changed, in seconds", http_only: false },
    Metric { scope: Scope::Server, name: "downtime_seconds_total", kind: "counter", help: "Total time spent in DOWN state, for server or backend", http_only: false },
    Metric { scope: Scope::Server, name: "queue_limit", kind: "gauge", help: "Limit on the number of connections in queue, for servers only (maxqueue argument)", http_only: false },
    Metric { scope: Scope::Server, name: "current_throttle", kind: "gauge", help: "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)", http_only: false },
    Metric { scope: Scope::Server, name: "loadbalanced_total", kind: "counter", help: "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)", http_only: false },
    Metric { scope: Scope::Server, name: "max_session_rate", kind: "gauge", help: "Highest value of sessions per second observed since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "check_status", kind: "gauge", help: "Status of last health check, per state label value.", http_only: false },
    Metric { scope: Scope::Server, name: "check_code", kind: "gauge", help: "layer5-7 code, if available of the last health check.", http_only: false },
    Metric { scope: Scope::Server, name: "check_duration_seconds", kind: "gauge", help: "Total duration of the latest server health check, in seconds.", http_only: false },
    Metric { scope: Scope::Server, name: "client_aborts_total", kind: "counter", help: "Total number of requests or connections aborted by the client since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "server_aborts_total", kind: "counter", help: "Total number of requests or connections aborted by the server since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "last_session_seconds", kind: "gauge", help: "How long ago some traffic was seen on this object on this worker process, in seconds", http_only: false },
    Metric { scope: Scope::Server, name: "queue_time_average_seconds", kind: "gauge", help: "Avg. queue time for last 1024 successful connections.", http_only: false },
    Metric { scope: Scope::Server, name: "connect_time_average_seconds", kind: "gauge", help: "Avg. connect time for last 1024 successful connections.", http_only: false },
    Metric { scope: Scope::Server, name: "response_time_average_seconds", kind: "gauge", help: "Avg. response time for last 1024 successful connections.", http_only: false },
    Metric { scope: Scope::Server, name: "total_time_average_seconds", kind: "gauge", help: "Avg. total time for last 1024 successful connections.", http_only: false },
    Metric { scope: Scope::Server, name: "failed_header_rewriting_total", kind: "counter", help: "Total number of failed HTTP header rewrites since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "connection_attempts_total", kind: "counter", help: "Total number of outgoing connection attempts on this backend/server since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "connection_reuses_total", kind: "counter", help: "Total number of reused connection on this backend/server since the worker process started", http_only: false },
    Metric { scope: Scope::Server, name: "idle_connections_current", kind: "gauge", help: "Current number of idle connections available for reuse on this server", http_only: false },
    Metric { scope: Scope::Server, name: "idle_connections_limit", kind: "gauge", help: "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)", http_only: false },
    Metric { scope: Scope::Server, name: "max_queue_time_seconds", kind: "gauge", help: "Maximum observed time spent in the queue", http_only: false },
    Metric { scope: Scope::Server, name: "max_connect_time_seconds", kind: "gauge", help: "Maximum observed time spent waiting for a connection to complete", http_only: false },
    Metric { scope: Scope::Server, name: "max_response_time_seconds", kind: "gauge", help: "Maximum observed time spent waiting for a server response", http_only: false },
    Metric { scope: Scope::Server, name: "max_total_time_seconds", kind: "gauge", help: "Maximum observed total request+response time (request+queue+connect+response+processing)", http_only: false },
    Metric { scope: Scope::Server, name: "internal_errors_total", kind: "counter", help: "Total number of internal errors since process started", http_only: false },
    Metric { scope: Scope::Server, name: "unsafe_idle_connections_current", kind: "gauge", help: "Current number of unsafe idle connections", http_only: false },
    Metric { scope: Scope::Server, name: "safe_idle_connections_current", kind: "gauge", help: "Current number of safe idle connections", http_only: false },
    Metric { scope: Scope::Server, name: "used_connections_current", kind: "gauge", help: "Current number of connections in use", http_only: false },
    Metric { scope: Scope::Server, name: "need_connections_current", kind: "gauge", help: "Estimated needed number of connections", http_only: false },
    Metric { scope: Scope::Server, name: "uweight", kind: "gauge", help: "Server's user weight, or sum of active servers' user weights for a backend", http_only: false },
];

/// A sample value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Int(i64),
    /// Seconds, printed with six decimals as HAProxy.
    Secs(f64),
    NaN,
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Int(v) => write!(f, "{v}"),
            Val::Secs(v) => write!(f, "{v:.6}"),
            Val::NaN => f.write_str("NaN"),
        }
    }
}

fn int(v: u64) -> Val {
    Val::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn ms(v: u64) -> Val {
    Val::Secs(v as f64 / 1000.0)
}

/// Server states of `haproxy_server_status` (and the backend aggregates).
const SERVER_STATES: &[&str] = &["DOWN", "UP", "MAINT", "DRAIN", "NOLB"];

/// Check statuses of `haproxy_server_check_status`, in HAProxy's order.
const CHECK_STATES: &[&str] = &[
    "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP",
    "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK",
];

const HTTP_CODES: &[&str] = &["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/// The `state` label of a server: HAProxy's promex_srv_status.
pub fn server_state(s: &ServerSnapshot) -> &'static str {
    if s.maint || s.status.starts_with("MAINT") {
        "MAINT"
    } else if s.drain || s.status.starts_with("DRAIN") {
        "DRAIN"
    } else if s.status.starts_with("NOLB") {
        "NOLB"
    } else if s.status.starts_with("DOWN") {
        "DOWN"
    } else {
        "UP"
    }
}

/// The check status name without the "* " (check running) prefix.
fn check_name(s: &ServerSnapshot) -> Option<&str> {
    s.check
        .as_ref()
        .filter(|_| !s.maint)
        .map(|c| c.status.trim_start_matches("* "))
}

/// Label value escaping (text format 0.0.4: backslash, double quote, newline).
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn process_value(name: &str, i: &InfoSnapshot) -> Val {
    match name {
        "nbthread" => int(i.nbthread.into()),
        "nbproc" | "relative_process_id" => Val::Int(1),
        "uptime_seconds" => int(i.uptime_sec),
        "max_fds" => int(i.ulimit_n),
        "max_sockets" => int(i.maxsock),
        "max_connections" => int(i.maxconn),
        "hard_max_connections" => int(i.hard_maxconn),
        "current_connections" => int(i.curr_conns),
        "connections_total" => int(i.cum_conns),
        "current_connection_rate" => int(i.conn_rate),
        "max_connection_rate" => int(i.max_conn_rate),
        "current_session_rate" => int(i.sess_rate),
        "max_session_rate" => int(i.max_sess_rate),
        "requests_total" => int(i.cum_req),
        "current_zlib_memory" | "max_zlib_memory" => Val::NaN,
        "current_tasks" => int(i.tasks),
        "idle_time_percent" => Val::Int(100),
        "stopping" => Val::Int(i.stopping.into()),
        "jobs" => int(i.jobs),
        "listeners" => int(i.listeners),
        "bytes_out_total" => int(i.total_bytes_out),
        "start_time_seconds" => int(i.start_time_sec),
        "build_info" => Val::Int(1),
        _ => Val::Int(0),
    }
}

fn frontend_value(name: &str, f: &FrontendSnapshot) -> Val {
    match name {
        "current_sessions" => int(f.scur),
        "max_sessions" => int(f.smax),
        "limit_sessions" => int(f.slim),
        "sessions_total" => int(f.stot),
        "bytes_in_total" => int(f.bin),
        "bytes_out_total" => int(f.bout),
        "requests_denied_total" => int(f.dreq),
        "responses_denied_total" => int(f.dresp),
        "request_errors_total" => int(f.ereq),
        "limit_session_rate" => int(f.rate_lim),
        "max_session_rate" => int(f.rate_max),
        "connections_rate_max" => int(f.conn_rate_max),
        "connections_total" => int(f.conn_tot),
        "denied_connections_total" => int(f.dcon),
        "denied_sessions_total" => int(f.dses),
        "internal_errors_total" => int(f.eint),
        "http_requests_total" => int(f.http.as_ref().map_or(0, |h| h.req_tot)),
        "http_requests_rate_max" => int(f.http.as_ref().map_or(0, |h| h.req_rate_max)),
        "intercepted_requests_total" => int(f.http.as_ref().map_or(0, |h| h.intercepted)),
        _ => Val::Int(0),
    }
}

fn traffic_value(name: &str, c: &crate::cli::TrafficCounters) -> Option<Val> {
    Some(match name {
        "current_queue" => int(c.qcur),
        "max_queue" => int(c.qmax),
        "current_sessions" => int(c.scur),
        "max_sessions" => int(c.smax),
        "sessions_total" => int(c.stot),
        "bytes_in_total" => int(c.bin),
        "bytes_out_total" => int(c.bout),
        "responses_denied_total" => int(c.dresp),
        "connection_errors_total" => int(c.econ),
        "response_errors_total" => int(c.eresp),
        "retry_warnings_total" => int(c.wretr),
        "redispatch_warnings_total" => int(c.wredis),
        "loadbalanced_total" => int(c.lbtot),
        "max_session_rate" => int(c.rate_max),
        "client_aborts_total" => int(c.cli_abrt),
        "server_aborts_total" => int(c.srv_abrt),
        "last_session_seconds" => Val::Int(c.lastsess),
        "queue_time_average_seconds" => ms(c.qtime),
        "connect_time_average_seconds" => ms(c.ctime),
        "response_time_average_seconds" => ms(c.rtime),
        "total_time_average_seconds" => ms(c.ttime),
        "max_queue_time_seconds" => ms(c.qtime_max),
        "max_connect_time_seconds" => ms(c.ctime_max),
        "max_response_time_seconds" => ms(c.rtime_max),
        "max_total_time_seconds" => ms(c.ttime_max),
        "connection_attempts_total" => int(c.connect),
        "connection_reuses_total" => int(c.reuse),
        "internal_errors_total" => int(c.eint),
        _ => return None,
    })
}

fn usable(s: &ServerSnapshot) -> bool {
    server_state(s) == "UP"
}

fn backend_weight(b: &BackendSnapshot) -> u64 {
    let up: Vec<&ServerSnapshot> = b.servers.iter().filter(|s| usable(s)).collect();
    let act: u64 = up
        .iter()
        .filter(|s| !s.backup)
        .map(|s| u64::from(s.weight))
        .sum();
    if up.iter().any(|s| !s.backup) {
        act
    } else {
        up.iter().map(|s| u64::from(s.weight)).sum()
    }
}

fn backend_value(name: &str, b: &BackendSnapshot) -> Val {
    if let Some(v) = traffic_value(name, &b.counters) {
        return v;
    }
    match name {
        "limit_sessions" => int(b.slim),
        "requests_denied_total" => int(b.dreq),
        "weight" | "uweight" => int(backend_weight(b)),
        "active_servers" => int(b.servers.iter().filter(|s| usable(s) && !s.backup).count() as u64),
        "backup_servers" => int(b.servers.iter().filter(|s| usable(s) && s.backup).count() as u64),
        "check_up_down_total" => int(b.chkdown),
        "check_last_change_seconds" => int(b.lastchg),
        "downtime_seconds_total" => {
            if b.servers.is_empty() {
                Val::NaN
            } else {
                int(b.downtime)
            }
        }
        _ => Val::Int(0),
    }
}

fn server_value(name: &str, s: &ServerSnapshot) -> Val {
    if let Some(v) = traffic_value(name, &s.counters) {
        return v;
    }
    let check = s.check.as_ref();
    match name {
        "limit_sessions" => {
            if s.maxconn > 0 {
                int(s.maxconn)
            } else {
                Val::NaN
            }
        }
        "weight" | "uweight" => int(s.weight.into()),
        "check_failures_total" => check.map_or(Val::NaN, |c| int(c.chkfail)),
        "check_up_down_total" => check.map_or(Val::NaN, |c| int(c.chkdown)),
        "downtime_seconds_total" => check.map_or(Val::NaN, |c| int(c.downtime)),
        "check_last_change_seconds" => int(s.lastchg),
        "queue_limit" | "current_throttle" | "idle_connections_limit" => Val::NaN,
        "check_code" => int(check.and_then(|c| c.code).unwrap_or(0).into()),
        "check_duration_seconds" => ms(check.and_then(|c| c.duration_ms).unwrap_or(0)),
        "need_connections_current" => int(s.need_conn_est),
        _ => Val::Int(0),
    }
}

fn scope_name(s: Scope) -> &'static str {
    match s {
        Scope::Process => "process",
        Scope::Frontend => "frontend",
        Scope::Backend => "backend",
        Scope::Server => "server",
    }
}

fn header(out: &mut String, m: &Metric) {
    let scope = scope_name(m.scope);
    let _ = writeln!(out, "# HELP haproxy_{scope}_{} {}", m.name, m.help);
    let _ = writeln!(out, "# TYPE haproxy_{scope}_{} {}", m.name, m.kind);
}

/// `state="DOWN"` and `state="UP"` samples of a proxy.
fn up_down(out: &mut Vec<(String, Val)>, p: &str, up: bool) {
    out.push((
        format!("proxy=\"{p}\",state=\"DOWN\""),
        Val::Int((!up).into()),
    ));
    out.push((format!("proxy=\"{p}\",state=\"UP\""), Val::Int(up.into())));
}

/// The `code` samples of `http_responses_total` (0 where not counted).
fn http_codes(out: &mut Vec<(String, Val)>, p: &str, counts: Option<[u64; 6]>) {
    let counts = counts.unwrap_or_default();
    for (c, n) in HTTP_CODES.iter().zip(counts) {
        out.push((format!("proxy=\"{p}\",code=\"{c}\""), int(n)));
    }
}

/// Samples of one family (labels without braces, value).
fn samples(m: &Metric, info: &InfoSnapshot, proxies: &[ProxySnapshot]) -> Vec<(String, Val)> {
    let mut out = Vec::new();
    match m.scope {
        Scope::Process => {
            let labels = if m.name == "build_info" {
                format!("version=\"{}\"", esc(&info.version))
            } else {
                String::new()
            };
            out.push((labels, process_value(m.name, info)));
        }
        Scope::Frontend => {
            for px in proxies {
                let Some(f) = &px.frontend else { continue };
                if m.http_only && px.mode != "http" {
                    continue;
                }
                let p = esc(&px.name);
                match m.name {
                    "status" => up_down(&mut out, &p, f.status != "STOP"),
                    "http_responses_total" => {
                        http_codes(&mut out, &p, f.http.as_ref().map(|h| h.hrsp))
                    }
                    n => out.push((format!("proxy=\"{p}\""), frontend_value(n, f))),
                }
            }
        }
        Scope::Backend => {
            for px in proxies {
                let Some(b) = &px.backend else { continue };
                if m.http_only && px.mode != "http" {
                    continue;
                }
                let p = esc(&px.name);
                match m.name {
                    "status" => up_down(&mut out, &p, b.status.starts_with("UP")),
                    "http_responses_total" => {
                        http_codes(&mut out, &p, b.http.as_ref().map(|h| h.hrsp))
                    }
                    "http_requests_total" => out.push((
                        format!("proxy=\"{p}\""),
                        int(b.http.as_ref().map_or(0, |h| h.req_tot)),
                    )),
                    "agg_server_status" | "agg_server_check_status" => {
                        if b.servers.is_empty() {
                            continue;
                        }
                        for st in SERVER_STATES {
                            let n = b.servers.iter().filter(|s| server_state(s) == *st).count();
                            out.push((format!("proxy=\"{p}\",state=\"{st}\""), int(n as u64)));
                        }
                    }
                    "agg_check_status" => {
                        if b.servers.is_empty() {
                            continue;
                        }
                        for st in CHECK_STATES {
                            let n = b
                                .servers
                                .iter()
                                .filter(|s| check_name(s) == Some(st))
                                .count();
                            out.push((format!("proxy=\"{p}\",state=\"{st}\""), int(n as u64)));
                        }
                    }
                    n => out.push((format!("proxy=\"{p}\""), backend_value(n, b))),
                }
            }
        }
        Scope::Server => {
            for px in proxies {
                let Some(b) = &px.backend else { continue };
                let p = esc(&px.name);
                for s in &b.servers {
                    let l = format!("proxy=\"{p}\",server=\"{}\"", esc(&s.name));
                    match m.name {
                        "status" => {
                            let cur = server_state(s);
                            for st in SERVER_STATES {
                                out.push((
                                    format!("{l},state=\"{st}\""),
                                    Val::Int((cur == *st).into()),
                                ));
                            }
                        }
                        "check_status" => {
                            let Some(cur) = check_name(s) else { continue };
                            for st in CHECK_STATES {
                                out.push((
                                    format!("{l},state=\"{st}\""),
                                    Val::Int((cur == *st).into()),
                                ));
                            }
                        }
                        "check_code" | "check_duration_seconds" => {
                            if check_name(s).is_none() {
                                continue;
                            }
                            out.push((l, server_value(m.name, s)));
                        }
                        n => out.push((l, server_value(n, s))),
                    }
                }
            }
        }
    }
    out
}

/// The whole exposition (`text/plain; version=0.0.4`). Families without samples
/// are left out, HELP and TYPE included, as HAProxy does.
pub fn render(info: &InfoSnapshot, proxies: &[ProxySnapshot]) -> String {
    let mut out = String::new();
    for m in METRICS {
        let samples = samples(m, info, proxies);
        if samples.is_empty() {
            continue;
        }
        header(&mut out, m);
        let scope = scope_name(m.scope);
        for (labels, v) in samples {
            if labels.is_empty() {
                let _ = writeln!(out, "haproxy_{scope}_{} {v}", m.name);
            } else {
                let _ = writeln!(out, "haproxy_{scope}_{}{{{labels}}} {v}", m.name);
            }
        }
    }
    out
}
