//! The HTTP stats service of `mode http` proxies whose whole job is statistics
//! (configuration.txt §4.2 `stats enable`, `stats uri`, `stats realm`, `stats
//! auth`, `stats admin`, `stats refresh`, `stats hide-version`, `stats
//! show-legends`, `stats show-node`, `stats show-desc`, `stats scope`; management.txt
//! §9.1 "CSV format" for `;csv`, §9.2 "Typed output format" / JSON for `;json`)
//! and the Prometheus exporter (`http-request use-service prometheus-exporter`,
//! HAProxy's addons/promex).
//!
//! This is not HTTP mode: [`http`] is a small HTTP/1.1 server for these two
//! services only. The forwarding engine owns the listeners (so reloads hand them
//! over like any other), counts the connections, and hands each one to a
//! [`StatsService`] ([`haproxide_forward::Service`]). Everything shown or changed
//! goes through [`RuntimeState`], the same interface as the runtime API.
//!
//! - [`http`]: requests, responses, keep-alive, limits, timeouts;
//! - [`html`]: the HTML page, laid out as HAProxy 2.6's;
//! - [`prom`]: the exporter's metric families.

pub mod html;
pub mod http;
pub mod inline;
pub mod prom;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use haproxide_forward::{Service, ServiceConn};

use crate::cli::stat::{self, StatFilter};
use crate::cli::{AdminState, HealthOp, RuntimeState, ServerAction};
use http::{Request, Response};

/// A typed condition (`haproxide-expr`): `stats admin if ...`,
/// `http-request use-service prometheus-exporter if ...`.
pub use haproxide_expr::Cond;

/// What a stats condition can look at: the client's address and the request's
/// path (the fetches of [`haproxide_expr::Uses::HTTP`] this page answers).
struct StatsCtx<'a> {
    src: Option<SocketAddr>,
    path: &'a str,
}

impl haproxide_expr::Context for StatsCtx<'_> {
    fn src(&self) -> Option<SocketAddr> {
        self.src
    }
    fn http_uri(&self) -> Option<&[u8]> {
        Some(self.path.as_bytes())
    }
}

/// Whether `cond` passes for this request (a request is whole: nothing may change).
pub fn passes(cond: &Cond, src: Option<SocketAddr>, path: &str) -> bool {
    cond.eval(&StatsCtx { src, path }) == haproxide_expr::Tri::Pass
}

/// What one `mode http` stats proxy serves (from its `stats` and `http-request
/// use-service` lines; `haproxide-server::translate` builds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSpec {
    /// The proxy's name (for `stats scope .`).
    pub proxy: String,
    /// A `listen` section (HAProxy also shows its BACKEND row).
    pub listen: bool,
    /// The stats page is enabled (`stats enable` or any `stats` keyword that implies it).
    pub enabled: bool,
    /// `stats uri` (default `/haproxy?stats`): a request whose URI begins with it.
    pub uri: String,
    /// `stats realm` (default "HAProxy Statistics").
    pub realm: String,
    /// `stats auth user:password` lines (empty = no authentication).
    pub auth: Vec<(String, String)>,
    /// `stats admin if|unless ...` (None: no admin).
    pub admin: Option<Cond>,
    /// `stats refresh` in seconds.
    pub refresh: Option<u64>,
    pub hide_version: bool,
    pub show_legends: bool,
    /// `stats show-node [name]`: Some("") = the node name.
    pub show_node: Option<String>,
    /// `stats show-desc [text]`: Some("") = the global description.
    pub show_desc: Option<String>,
    /// `stats scope` names (`.` = this proxy); empty = every proxy.
    pub scope: Vec<String>,
    /// `http-request use-service prometheus-exporter [if ...]` rules, in order.
    pub prometheus: Vec<Option<Cond>>,
    /// `monitor-uri` (§4.2): answered 200 with HAProxy's page before anything else.
    pub monitor_uri: Option<String>,
    /// Global `description`.
    pub description: String,
    /// `timeout http-request`, `timeout http-keep-alive`, `timeout client`.
    pub timeout_request: Option<Duration>,
    pub timeout_keep_alive: Option<Duration>,
    pub timeout_client: Option<Duration>,
}

impl Default for StatsSpec {
    fn default() -> Self {
        StatsSpec {
            proxy: String::new(),
            listen: false,
            enabled: false,
            uri: "/haproxy?stats".into(),
            realm: "HAProxy Statistics".into(),
            auth: Vec::new(),
            admin: None,
            refresh: None,
            hide_version: false,
            show_legends: false,
            show_node: None,
            show_desc: None,
            scope: Vec::new(),
            prometheus: Vec::new(),
            monitor_uri: None,
            description: String::new(),
            timeout_request: None,
            timeout_keep_alive: None,
            timeout_client: None,
        }
    }
}

impl StatsSpec {
    /// The HTTP server's limits: HAProxy's timeouts, and 30 s where none is set
    /// (HAProxy would wait forever; a stats client never needs to).
    pub fn limits(&self) -> http::Limits {
        let fallback = Duration::from_secs(30);
        let client = self.timeout_client.unwrap_or(fallback);
        let request = self.timeout_request.unwrap_or(client);
        http::Limits {
            request,
            keep_alive: self.timeout_keep_alive.unwrap_or(request),
            write: client,
            ..http::Limits::default()
        }
    }
}

/// The runtime state, set once the run loop has built it (requests arriving
/// before get a 503).
#[derive(Default)]
pub struct StateSlot(RwLock<Option<Arc<dyn RuntimeState>>>);

impl std::fmt::Debug for StateSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSlot")
    }
}

impl StateSlot {
    pub fn set(&self, state: Arc<dyn RuntimeState>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(state);
    }
    pub fn get(&self) -> Option<Arc<dyn RuntimeState>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The runtime state as the stats page and exporter show it: the stats proxies
/// are `mode http`, and a `listen` one has its (server-less) BACKEND row, as in
/// HAProxy.
struct HttpModes {
    inner: Arc<dyn RuntimeState>,
    services: Vec<Arc<StatsService>>,
}

impl RuntimeState for HttpModes {
    fn info(&self) -> crate::cli::InfoSnapshot {
        self.inner.info()
    }
    fn proxies(&self) -> Vec<crate::cli::ProxySnapshot> {
        let mut px = self.inner.proxies();
        for p in &mut px {
            let Some(svc) = self.services.iter().find(|s| s.spec.proxy == p.name) else {
                continue;
            };
            p.mode = "http".into();
            if let Some(f) = p.frontend.as_mut() {
                let c = &svc.counters;
                f.bin = c.bytes.bytes_in.load(Ordering::Relaxed);
                f.bout = c.bytes.bytes_out.load(Ordering::Relaxed);
                let req_tot = c.requests.load(Ordering::Relaxed);
                f.http = Some(crate::cli::HttpCounters {
                    req_tot,
                    hrsp: std::array::from_fn(|i| c.hrsp[i].load(Ordering::Relaxed)),
                    intercepted: req_tot,
                    ..Default::default()
                });
            }
            if svc.spec.listen && p.backend.is_none() {
                // HAProxy's default `fullconn`: a tenth of the frontend's maxconn.
                let slim = p.frontend.as_ref().map_or(0, |f| f.slim.div_ceil(10));
                // The applet's bytes show on the BACKEND row too (as HAProxy's).
                let mut counters = crate::cli::TrafficCounters::idle();
                counters.bin = svc.counters.bytes.bytes_in.load(Ordering::Relaxed);
                counters.bout = svc.counters.bytes.bytes_out.load(Ordering::Relaxed);
                p.backend = Some(crate::cli::BackendSnapshot {
                    slim,
                    counters,
                    ..Default::default()
                });
            }
        }
        px
    }
    fn server_action(
        &self,
        backend: &str,
        server: &str,
        action: ServerAction,
    ) -> Result<(), crate::cli::ActionError> {
        self.inner.server_action(backend, server, action)
    }
    fn clear_counters(&self, all: bool) {
        self.inner.clear_counters(all)
    }
    fn add_server(&self, backend: &str, args: &[&str]) -> Result<String, crate::cli::ActionError> {
        self.inner.add_server(backend, args)
    }
    fn del_server(&self, backend: &str, server: &str) -> Result<String, crate::cli::ActionError> {
        self.inner.del_server(backend, server)
    }
    fn frontend_action(
        &self,
        frontend: &str,
        action: crate::cli::FrontendAction,
    ) -> Result<(), crate::cli::ActionError> {
        self.inner.frontend_action(frontend, action)
    }
    fn set_global_maxconn(&self, maxconn: u64) -> Result<(), crate::cli::ActionError> {
        self.inner.set_global_maxconn(maxconn)
    }
    // Every method is forwarded, the defaulted ones too: this view is also what the
    // stats sockets serve.
    fn sessions(&self) -> Vec<crate::cli::SessionSnapshot> {
        self.inner.sessions()
    }
    fn stick_tables(&self) -> Option<Arc<haproxide_stick::Tables>> {
        self.inner.stick_tables()
    }
    fn caches(&self) -> Vec<Arc<haproxide_http::cache::Cache>> {
        self.inner.caches()
    }
    fn proxies_with_disabled(&self) -> Vec<crate::cli::ProxySnapshot> {
        self.inner.proxies_with_disabled()
    }
    fn shutdown_session(&self, id: u64) -> bool {
        self.inner.shutdown_session(id)
    }
    fn export_listeners(&self) -> Option<crate::cli::ExportListeners> {
        self.inner.export_listeners()
    }
    fn dcs(&self) -> crate::cli::dcs::DcsSnapshot {
        self.inner.dcs()
    }
    fn cert_store(&self) -> Option<Arc<haproxide_tls::CertStore>> {
        self.inner.cert_store()
    }
}

/// The stats services of a configuration: attached to their frontends before the
/// engine starts, given the runtime state once it exists.
pub struct Hub {
    slot: Arc<StateSlot>,
    services: Vec<(usize, Arc<StatsService>)>,
}

impl Hub {
    /// One service per `(frontend index, spec)` of `Plan::stats`.
    pub fn new(stats: &[(usize, StatsSpec)]) -> Hub {
        Hub::with_slot(stats, Arc::new(StateSlot::default()))
    }

    /// As [`Hub::new`], with the slot the [`inline::InlinePage`]s of the same
    /// configuration read (set by [`Hub::set_state`] too).
    pub fn with_slot(stats: &[(usize, StatsSpec)], slot: Arc<StateSlot>) -> Hub {
        let services = stats
            .iter()
            .map(|(fi, spec)| {
                let svc = StatsService {
                    spec: Arc::new(spec.clone()),
                    state: Arc::clone(&slot),
                    counters: Arc::new(Counters::default()),
                };
                (*fi, Arc::new(svc))
            })
            .collect();
        Hub { slot, services }
    }

    /// Gives each stats frontend of `spec` its service.
    pub fn attach(&self, spec: &mut haproxide_forward::EngineSpec) {
        for (fi, svc) in &self.services {
            if let Some(f) = spec.frontends.get_mut(*fi) {
                let svc: Arc<dyn Service> = svc.clone();
                f.service = Some(haproxide_forward::ServiceHandle(svc));
            }
        }
    }

    /// The runtime state, as the page and the exporter show it: the stats proxies
    /// are `mode http` with their HTTP counters, and a `listen` one has its
    /// (server-less) BACKEND row, as in HAProxy.
    /// Returns that view, for the `stats socket`s too (`show stat` then agrees with
    /// the page).
    pub fn set_state(&self, inner: Arc<dyn RuntimeState>) -> Arc<dyn RuntimeState> {
        let services = self.services.iter().map(|(_, s)| s.clone()).collect();
        let view: Arc<dyn RuntimeState> = Arc::new(HttpModes { inner, services });
        self.slot.set(Arc::clone(&view));
        view
    }
}

/// What a stats service counts (its frontend's HTTP counters).
#[derive(Default)]
pub struct Counters {
    pub requests: AtomicU64,
    /// Responses by class: 1xx, 2xx, 3xx, 4xx, 5xx, other.
    pub hrsp: [AtomicU64; 6],
    pub bytes: http::ByteTally,
}

impl Counters {
    fn count(&self, status: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let class = match status {
            100..=599 => usize::from(status / 100 - 1),
            _ => 5,
        };
        if let Some(c) = self.hrsp.get(class) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The engine-facing service of one stats proxy.
pub struct StatsService {
    pub spec: Arc<StatsSpec>,
    pub state: Arc<StateSlot>,
    pub counters: Arc<Counters>,
}

impl Service for StatsService {
    fn serve(
        &self,
        conn: ServiceConn,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let spec = self.spec.clone();
        let slot = self.state.clone();
        let counters = self.counters.clone();
        Box::pin(async move {
            let ServiceConn {
                stream, peer, stop, ..
            } = conn;
            let src = peer;
            let limits = spec.limits();
            let stop = async move { stop.wait().await };
            http::serve(stream, limits, stop, Some(&counters.bytes), |req| {
                let resp = match slot.get() {
                    Some(state) => handle(&spec, state.as_ref(), src, req),
                    None => http::error(503),
                };
                counters.count(resp.status);
                resp
            })
            .await;
        })
    }
}

/// The `?scope=` text as HAProxy's `http_stats_check_uri` takes it: raw (never
/// URL-decoded), cut at `STAT_SCOPE_TXT_MAXLEN` (20) bytes, and dropped unless every
/// byte is alphanumeric, `-`, `_` or `.`; so nothing it carries can reach a header
/// (the 303 `Location`) or the page unescaped.
fn scope(raw: &str) -> Option<String> {
    let v = raw.get(..raw.len().min(20)).unwrap_or("");
    let ok = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| v.to_string())
}

/// Options after the stats URI (`;csv`, `;json`, `;norefresh`, `;up`,
/// `;no-maint`, `;st=CODE`) and `?scope=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageOpts {
    pub csv: bool,
    pub json: bool,
    pub json_schema: bool,
    pub norefresh: bool,
    pub up: bool,
    pub no_maint: bool,
    pub st: Option<String>,
    pub scope: Option<String>,
}

impl PageOpts {
    pub fn parse(rest: &str) -> PageOpts {
        let mut o = PageOpts::default();
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, q),
            None => (rest, ""),
        };
        for part in main.split(';').skip(1).chain(query.split(';')) {
            match part {
                "csv" => o.csv = true,
                "json" => o.json = true,
                "json-schema" => o.json_schema = true,
                "norefresh" => o.norefresh = true,
                "up" => o.up = true,
                "no-maint" => o.no_maint = true,
                p => {
                    if let Some(code) = p.strip_prefix("st=") {
                        o.st = Some(code.chars().take(4).collect());
                    }
                }
            }
        }
        if let Some(v) = query
            .split(['&', ';'])
            .find_map(|kv| kv.strip_prefix("scope="))
        {
            o.scope = scope(v);
        }
        o
    }

    /// The suffix that keeps these display options in links and redirects.
    pub fn suffix(&self) -> String {
        let mut s = String::new();
        if self.up {
            s.push_str(";up");
        }
        if self.norefresh {
            s.push_str(";norefresh");
        }
        if let Some(sc) = &self.scope {
            s.push_str("?scope=");
            s.push_str(&html::escape(sc));
        }
        s
    }
}

fn authorized(spec: &StatsSpec, req: &Request) -> bool {
    if spec.auth.is_empty() {
        return true;
    }
    let Some(v) = req.header("authorization") else {
        return false;
    };
    let mut it = v.splitn(2, ' ');
    let (Some(scheme), Some(cred)) = (it.next(), it.next()) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(raw) = http::base64_decode(cred.trim()) else {
        return false;
    };
    let raw = String::from_utf8_lossy(&raw);
    let Some((user, pass)) = raw.split_once(':') else {
        return false;
    };
    spec.auth.iter().any(|(u, p)| u == user && p == pass)
}

/// Whether a proxy is shown under `stats scope` and the page's scope field.
pub fn in_scope(spec: &StatsSpec, opts: &PageOpts, name: &str) -> bool {
    let configured = spec.scope.is_empty()
        || spec
            .scope
            .iter()
            .any(|s| s == name || (s == "." && name == spec.proxy));
    let asked = opts
        .scope
        .as_ref()
        .is_none_or(|s| name.to_ascii_lowercase().contains(&s.to_ascii_lowercase()));
    configured && asked
}

/// Answers one request (the whole service, without I/O).
pub fn handle(
    spec: &StatsSpec,
    state: &dyn RuntimeState,
    src: Option<SocketAddr>,
    req: &Request,
) -> Response {
    handle_as(spec, state, src, req, None)
}

/// [`handle`], with `stats admin`'s verdict given (`Some`) when the caller
/// evaluated the condition on the whole request (the HTTP engine does).
pub fn handle_as(
    spec: &StatsSpec,
    state: &dyn RuntimeState,
    src: Option<SocketAddr>,
    req: &Request,
    admin: Option<bool>,
) -> Response {
    let path = req.path();
    if spec
        .monitor_uri
        .as_deref()
        .is_some_and(|m| haproxide_expr::http::is_monitor_uri(m, req.target.as_bytes()))
    {
        return Response::new(
            200,
            "text/html",
            "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n",
        );
    }
    if spec
        .prometheus
        .iter()
        .any(|c| c.as_ref().is_none_or(|c| passes(c, src, path)))
    {
        let mut body = prom::render(&state.info(), &state.proxies());
        body.push_str(&crate::cli::dcs::prometheus(&state.dcs()));
        return Response::new(200, "text/plain; version=0.0.4", body);
    }
    if !spec.enabled || !req.target.starts_with(spec.uri.as_str()) {
        return http::error(503);
    }
    if !authorized(spec, req) {
        let realm = spec.realm.replace('"', "");
        return Response::new(
            401,
            "text/html",
            "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
        )
        .with_header("www-authenticate", format!("Basic realm=\"{realm}\""));
    }
    let opts = PageOpts::parse(&req.target[spec.uri.len()..]);
    let admin = admin.unwrap_or_else(|| spec.admin.as_ref().is_some_and(|c| passes(c, src, path)));
    match req.method.as_str() {
        "POST" => {
            let code = if admin {
                post_action(state, &String::from_utf8_lossy(&req.body))
            } else {
                "DENY"
            };
            let base = spec.uri.as_str();
            let mut loc = format!("{base};st={code}");
            loc.push_str(&opts.suffix());
            Response::new(303, "text/plain", Vec::new()).with_header("location", loc)
        }
        "GET" | "HEAD" => page(spec, state, &opts, admin),
        _ => http::error(405),
    }
}

fn page(spec: &StatsSpec, state: &dyn RuntimeState, opts: &PageOpts, admin: bool) -> Response {
    let proxies: Vec<_> = state
        .proxies()
        .into_iter()
        .filter(|p| in_scope(spec, opts, &p.name))
        .collect();
    let filter = StatFilter {
        up: opts.up,
        no_maint: opts.no_maint,
        ..StatFilter::all()
    };
    let mut resp = if opts.csv {
        Response::new(200, "text/plain", stat::show_stat(&proxies, &filter))
    } else if opts.json {
        Response::new(
            200,
            "application/json",
            stat::show_stat_json(&proxies, &filter),
        )
    } else {
        let body = html::render(&html::Page {
            spec,
            info: &state.info(),
            proxies: &proxies,
            opts,
            admin,
        });
        Response::new(200, "text/html", body)
    };
    if let (Some(r), false) = (spec.refresh, opts.norefresh) {
        resp = resp.with_header("refresh", r.to_string());
    }
    resp
}

/// The admin form's actions (HAProxy's stats admin `action=` values).
pub fn parse_action(a: &str) -> Option<ServerAction> {
    Some(match a {
        "ready" | "enable" => ServerAction::Admin(AdminState::Ready),
        "drain" => ServerAction::Admin(AdminState::Drain),
        "maint" | "disable" => ServerAction::Admin(AdminState::Maint),
        "dhlth" => ServerAction::Checks(false),
        "ehlth" => ServerAction::Checks(true),
        "hrunn" => ServerAction::Health(HealthOp::Up),
        "hnolb" => ServerAction::Health(HealthOp::Stopping),
        "hdown" => ServerAction::Health(HealthOp::Down),
        "dagent" => ServerAction::AgentChecks(false),
        "eagent" => ServerAction::AgentChecks(true),
        "arunn" => ServerAction::Agent(true),
        "adown" => ServerAction::Agent(false),
        "shutdown" => ServerAction::ShutdownSessions,
        _ => return None,
    })
}

/// Applies a posted admin form (`b=#<iid>` or a name, `s=<server>`..., `action=`);
/// returns HAProxy's status code for the redirect.
fn post_action(state: &dyn RuntimeState, body: &str) -> &'static str {
    let form = http::form_decode(body);
    let backend = form.iter().find(|(k, _)| k == "b").map(|(_, v)| v.as_str());
    let action = form
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.as_str());
    let servers: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "s")
        .map(|(_, v)| v.as_str())
        .collect();
    // As HAProxy 2.6.12 answers (measured): no backend or no action named is
    // "nothing to do" (NONE), an unknown backend an error (ERRP).
    let Some(b) = backend else {
        return "NONE";
    };
    let proxies = state.proxies();
    let found: Vec<_> = proxies
        .iter()
        .filter(|p| p.backend.is_some())
        .filter(|p| match b.strip_prefix('#') {
            Some(id) => id.parse::<u32>().is_ok_and(|id| id == p.iid),
            None => p.name == b,
        })
        .collect();
    let [px] = found.as_slice() else {
        return "ERRP";
    };
    let Some(be) = &px.backend else {
        return "ERRP";
    };
    let Some(action) = action else {
        return "NONE";
    };
    if action.is_empty() {
        return "NONE";
    }
    let Some(act) = parse_action(action) else {
        return "ERRP";
    };
    if servers.is_empty() {
        return "NONE";
    }
    let (mut done, mut failed) = (0, 0);
    for s in servers {
        let known = be.servers.iter().filter(|x| x.name == s).count() == 1;
        if known && state.server_action(&px.name, s, act).is_ok() {
            done += 1;
        } else {
            failed += 1;
        }
    }
    match (done, failed) {
        (0, _) => "ERRP",
        (_, 0) => "DONE",
        _ => "PART",
    }
}

#[cfg(test)]
mod tests;
