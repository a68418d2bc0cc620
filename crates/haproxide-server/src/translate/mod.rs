//! The resolved configuration → engine specs.
//!
//! This is the only module that sees both the configuration model and the runtime
//! crates' specs. Anything the engines do not run yet (HTTP mode, a sample fetch the
//! TCP engine cannot evaluate, ...) is refused here with a diagnostic that names the
//! file, the line and the keyword, so that start-up stops instead of silently
//! ignoring it (issue 4, item 6).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use haproxide_check::checker::ServerConfig;
use haproxide_check::log::ServerName;
use haproxide_check::spec::{
    AgentSpec, CheckSpec, CheckTimeouts, ConnectRule, HttpCheckSpec, HttpExpect, HttpExpectKind,
    HttpSend, InitState, Intervals, ProbeSpec, TcpCheckRule, TcpExpect, TcpExpectKind, TlsSpec,
};
use haproxide_config::checks::{self, CheckKind, CheckRule, ExpectMatch};
use haproxide_config::model::{
    AclExpr, Balance as CfgBalance, CondTerm, Condition as CfgCondition, Mode, MultiQueue, Proxy,
    ProxyKind, ServerDef,
};
use haproxide_config::value::{Host, PortSpec};
use haproxide_config::Resolved;
use haproxide_config::{Code, Diagnostic, Span};
use haproxide_forward::spec as fw;

pub(crate) mod backend;
mod frontend;
pub(crate) mod health;
#[cfg(test)]
mod http_tests;
mod stats;
#[cfg(test)]
mod unix_tests;

mod cache;
mod compression;
mod external;
mod http_rules;
mod lua;
mod peers;
mod persist;
mod spoe;
mod tcp_rules;
use backend::backend;
use frontend::{binds, frontend};
use health::check_spec;

/// Everything the runtime needs, plus the mapping between the two engines' ids.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub engine: fw::EngineSpec,
    /// Servers for the health checker, in the order of `server_index`.
    pub checked: Vec<ServerConfig>,
    /// (backend index, server index) in the engine → index in `checked`.
    pub server_index: HashMap<(usize, usize), usize>,
    /// Global settings the runtime applies.
    pub hard_stop_after: Option<Duration>,
    pub spread_checks: u8,
    /// Backends that are `listen` sections (HAProxy words their messages "proxy").
    pub listen_sections: std::collections::HashSet<String>,
    /// Proxies in configuration order, as the runtime API numbers them.
    pub proxies: Vec<crate::admin_plan::ProxyPlan>,
    /// `stats socket` listeners and the server-state file.
    pub admin: crate::admin_plan::AdminPlan,
    /// Stats/exporter proxies: index in `engine.frontends` and what they serve
    /// (the run loop attaches a `crate::stats::StatsService` to those frontends).
    pub stats: Vec<(usize, crate::stats::StatsSpec)>,
    /// The runtime state the stats pages of forwarding proxies read (the run
    /// loop's stats hub sets it).
    pub stats_slot: std::sync::Arc<crate::stats::StateSlot>,
    /// Process-wide settings of `global` (privileges, limits, threads, master).
    pub process: crate::process::ProcessSpec,
    /// haproxide-only: backends that follow a Patroni cluster's DCS (`patroni-role`).
    pub dcs: crate::dcs::DcsPlan,
    /// Per engine backend: what its servers' health checks share (for `add server`).
    pub check_bases: HashMap<usize, health::CheckBase>,
    /// The stick-table entries the replaced process handed over on a reload
    /// (`-sf`: haproxide_stick::handover), taken in once the engine runs.
    pub tables_handover: Option<Vec<u8>>,
    /// `peers` sections with remote peers (§3.5): started once the engine runs.
    pub peers: Vec<haproxide_forward::peers::PeersSpec>,
}

/// A configuration item the runtime cannot run yet.
pub(crate) fn unsupported(span: Span, what: impl Into<String>) -> Diagnostic {
    let what = what.into();
    Diagnostic::error(Code::NotRunYet, format!("{what}: haproxide does not run this yet"))
        .at(span)
        .help("`haproxide check` accepts it; running it needs a part of the engine that is not built yet (see docs/config-support.md)")
}

fn ms(m: haproxide_config::value::Millis) -> Duration {
    m.as_duration()
}

/// Translate a resolved configuration. Errors are collected, never panics: the plan
/// holds every proxy that can run, the diagnostics name what cannot (the caller
/// refuses to start unless told to skip those proxies).
pub fn translate(cfg: &Resolved) -> (Plan, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    let mut plan = Plan {
        hard_stop_after: cfg.global.hard_stop_after.map(ms),
        spread_checks: cfg
            .global
            .spread_checks
            .map(|v| v.min(50) as u8)
            .unwrap_or(0),
        ..Plan::default()
    };
    plan.engine.maxconn = cfg.global.maxconn.map(|m| m as usize);
    plan.process = crate::process::ProcessSpec::from_config(cfg);
    // §3.1 `nbthread`: sessions run on that many threads, each a single-threaded
    // runtime keeping its connections (default: one per CPU, as HAProxy ≥ 1.9).
    plan.engine.threads = plan.process.threads();
    // §3.2 `tune.listener.multi-queue`: the least loaded thread gets a new session.
    plan.engine.spread = match cfg.global.multi_queue {
        None | Some(MultiQueue::On) => fw::ThreadSpread::LeastLoaded,
        Some(MultiQueue::Fair) => fw::ThreadSpread::RoundRobin,
        Some(MultiQueue::Off) => fw::ThreadSpread::Off,
    };
    // §3.2 `nosplice`: the engine splices bulk data unless told not to.
    plan.engine.no_splice = cfg.global.nosplice;
    // §4.2 `stick-table`: the tables `track-sc*` and the `sc_*` fetches use.
    plan.engine.stick_tables = persist::tables(cfg, &mut errors);
    plan.peers = peers::peers(cfg, &plan.engine.stick_tables, &mut errors);
    // §3.7 `program` sections run in master-worker mode (the master starts them:
    // haproxide_process::mworker::programs); lifecycle refuses them otherwise.
    let live: Vec<&Proxy> = cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults && !p.disabled)
        .collect();
    // Backends first, so that frontends can refer to them by index.
    let mut backend_index: HashMap<&str, usize> = HashMap::new();
    // Backends that cannot run (their own error names why); frontends using them
    // cannot run either.
    let mut failed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for p in live.iter().filter(|p| p.kind.has_backend()) {
        if stats::is_stats_proxy(p) {
            continue;
        }
        if !matches!(p.effective_mode(), Mode::Tcp | Mode::Http) {
            if p.kind == ProxyKind::Backend || !p.binds.is_empty() {
                errors.push(unsupported(
                    mode_span(p),
                    format!(
                        "`mode {}` in {} `{}`",
                        p.effective_mode().as_str(),
                        p.kind.as_str(),
                        p.name.name
                    ),
                ));
            }
            failed.insert(p.name.name.as_str());
            continue;
        }
        if p.kind == ProxyKind::Listen {
            plan.listen_sections.insert(p.name.name.clone());
        }
        // Typed (and its refusals named) even when the backend cannot run.
        let comp = (p.effective_mode() == Mode::Http)
            .then(|| compression::compression(cfg, p, &mut errors))
            .flatten();
        match backend(cfg, p, plan.engine.backends.len(), &mut plan, &mut errors) {
            Some(mut b) => {
                if let Some(h) = b.http.as_mut() {
                    h.compression = comp;
                    h.tune = buf_tune(cfg);
                    if p.kind == ProxyKind::Backend {
                        h.stats = stats::inline(cfg, p, &plan.stats_slot, &mut errors);
                    }
                }
                backend_index.insert(p.name.name.as_str(), plan.engine.backends.len());
                plan.engine.backends.push(b);
            }
            None => {
                failed.insert(p.name.name.as_str());
            }
        }
    }
    for p in live.iter().filter(|p| p.kind.has_frontend()) {
        if stats::is_stats_proxy(p) {
            if let Some((f, spec)) = stats::stats_proxy(cfg, p, &mut errors) {
                plan.stats.push((plan.engine.frontends.len(), spec));
                plan.engine.frontends.push(f);
            }
            continue;
        }
        if !matches!(p.effective_mode(), Mode::Tcp | Mode::Http) {
            if p.kind == ProxyKind::Frontend {
                errors.push(unsupported(
                    mode_span(p),
                    format!(
                        "`mode {}` in frontend `{}`",
                        p.effective_mode().as_str(),
                        p.name.name
                    ),
                ));
            }
            continue;
        }
        if p.binds.is_empty() {
            continue;
        }
        // A `listen` section's lines were typed (and reported) with its backend half.
        let comp = match p.effective_mode() == Mode::Http {
            true if p.kind == ProxyKind::Listen => {
                let mut quiet = Vec::new();
                compression::compression(cfg, p, &mut quiet)
            }
            true => compression::compression(cfg, p, &mut errors),
            false => None,
        };
        if let Some(mut f) = frontend(p, &backend_index, &failed, &mut errors) {
            f.h2 = h2_spec(&cfg.global.tune_h2);
            if let Some(h) = f.http.as_mut() {
                h.compression = comp;
                h.tune = buf_tune(cfg);
                h.stats = stats::inline(cfg, p, &plan.stats_slot, &mut errors);
                let defaults = p.defaults.and_then(|d| cfg.proxies.get(d));
                h.unique_id = match haproxide_config::captures::unique_id(p, defaults) {
                    Ok(u) => u.map(|u| {
                        f.captures.request_line |= u.format.keeps_request_line();
                        fw::UniqueIdSpec {
                            format: std::sync::Arc::new(u.format),
                            header: u.header,
                        }
                    }),
                    Err(e) => {
                        errors.push(Diagnostic::error(Code::InvalidArgument, e.message).at(e.span));
                        None
                    }
                };
            }
            plan.engine.frontends.push(f);
        }
    }
    http_rules::fill_userlists(cfg, &mut plan.engine);
    lua::bind(cfg, &mut plan.engine, &mut errors);
    cache::bind(cfg, &mut plan.engine, &mut errors);
    spoe::fill(cfg, &mut plan.engine, &mut errors);
    crate::admin_plan::fill(cfg, &mut plan, &mut errors);
    external::fill_ids(&mut plan);
    plan.dcs = crate::dcs::plan(cfg, &plan.engine);
    (plan, errors)
}

fn mode_span(p: &Proxy) -> Span {
    p.mode_span.unwrap_or(p.name.span)
}

/// Keywords that change traffic and that the TCP engine does not run: refuse them
/// rather than ignore them (the list is the config crate's support table).
fn refuse_unrun(p: &Proxy, errors: &mut Vec<Diagnostic>) {
    let refused = if p.effective_mode() == Mode::Http {
        haproxide_config::support::refused_in_http(p)
    } else {
        haproxide_config::support::refused_in_tcp(p)
    };
    for n in refused {
        errors.push(unsupported(n.span, n.what));
    }
}

/// The HTTP side of a `mode http` proxy (frontend or backend half; §4 HTTP
/// options, `timeout http-request`, `timeout http-keep-alive`), None in TCP mode.
/// `rules`: this half carries the proxy's HTTP rules (a `listen` section's
/// frontend half does; its backend half would run them twice).
pub(crate) fn http_spec(
    p: &Proxy,
    rules: bool,
    errors: &mut Vec<Diagnostic>,
) -> Option<fw::HttpSpec> {
    use haproxide_config::http_opts::{self, ConnMode};
    if p.effective_mode() != Mode::Http {
        return None;
    }
    let conv = |r: Result<Option<http_opts::AddrHeader>, http_opts::OptError>,
                errors: &mut Vec<Diagnostic>| match r {
        Ok(h) => h,
        Err(e) => {
            errors.push(Diagnostic::error(Code::NotRunYet, e.message.clone()).at(e.span));
            None
        }
    };
    let forwardfor = conv(http_opts::forwardfor(p), errors).map(|h| fw::ForwardFor {
        header: h.header,
        except: h.except,
        if_none: h.if_none,
    });
    let originalto = conv(http_opts::originalto(p), errors).map(|h| fw::OriginalTo {
        header: h.header,
        except: h.except,
    });
    let restrict_hdr_names = match http_opts::restrict_req_hdr_names(p) {
        Ok(h) => h,
        Err(e) => {
            errors.push(Diagnostic::error(Code::NotRunYet, e.message.clone()).at(e.span));
            Default::default()
        }
    };
    let mut spec = fw::HttpSpec {
        restrict_hdr_names,
        conn_mode: match http_opts::conn_mode(p) {
            ConnMode::KeepAlive => fw::HttpConnMode::KeepAlive,
            ConnMode::ServerClose => fw::HttpConnMode::ServerClose,
            ConnMode::Close => fw::HttpConnMode::Close,
        },
        timeout_request: p.timeouts.get("http-request").copied().map(ms),
        timeout_keep_alive: p.timeouts.get("http-keep-alive").copied().map(ms),
        accept_invalid: if p.kind.has_frontend() && p.kind != ProxyKind::Listen {
            p.option("accept-invalid-http-request") == Some(true)
        } else {
            p.option("accept-invalid-http-response") == Some(true)
        },
        forwardfor,
        originalto,
        buffer_request: p.option("http-buffer-request") == Some(true),
        ignore_probes: p.option("http-ignore-probes") == Some(true),
        timeout_tarpit: p.timeouts.get("tarpit").copied().map(ms),
        splice_request: p.option("splice-request") == Some(true),
        splice_response: p.option("splice-response") == Some(true),
        ..fw::HttpSpec::default()
    };
    if rules {
        let sets = http_rules::rule_sets(p, errors);
        spec.http_request = sets.request;
        spec.http_response = sets.response;
        spec.http_after_response = sets.after_response;
        spec.monitor_fail = p
            .monitor_fail
            .iter()
            .filter_map(|c| condition(p, c, haproxide_expr::Uses::HTTP, "HTTP mode", errors))
            .collect();
    }
    Some(spec)
}

/// A condition the configuration typed with `haproxide-expr` → the engine's, if
/// every fetch it reads is one a rule offering `offered` answers. What cannot run is
/// named with the line of the ACL (or anonymous ACL) responsible.
pub(crate) fn condition(
    p: &Proxy,
    c: &CfgCondition,
    offered: haproxide_expr::Uses,
    mode: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<haproxide_expr::Cond> {
    match &c.typed {
        Ok(cond) => match cond.missing(offered) {
            None => Some(cond.clone()),
            Some(f) => {
                errors.push(unsupported(
                    cond_span(p, c, |e| e.fetch.name == f),
                    format!("the sample fetch `{f}` in {mode}"),
                ));
                None
            }
        },
        Err(why) => {
            errors.push(unsupported(cond_span(p, c, |_| true), why.clone()));
            None
        }
    }
}

/// Where a condition's problem is: the first ACL line it names that the engine
/// could not type, or whose expression `pick` selects; else the condition.
pub(crate) fn cond_span(p: &Proxy, c: &CfgCondition, pick: impl Fn(&AclExpr) -> bool) -> Span {
    for t in c.or_terms.iter().flatten() {
        match t {
            CondTerm::Named { name, .. } => {
                let lines = p.acls.iter().filter(|a| a.name.name == name.name);
                if let Some(a) = lines
                    .clone()
                    .find(|a| a.untyped.is_some())
                    .or_else(|| lines.clone().find(|a| pick(&a.expr)))
                {
                    return a.expr.fetch.span;
                }
            }
            CondTerm::Anonymous { expr, .. } if pick(expr) => return expr.fetch.span,
            CondTerm::Anonymous { .. } => {}
        }
    }
    c.span
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The global `tune.bufsize` / `tune.maxrewrite` (§3.2) each HTTP proxy half uses.
fn buf_tune(cfg: &haproxide_config::model::Config) -> haproxide_http::rules::BufTune {
    haproxide_http::rules::BufTune::new(cfg.global.tune_bufsize, cfg.global.tune_maxrewrite)
}

/// The global `tune.h2.*` (§3.2) as the engine's HTTP/2 settings; unset ones
/// keep HAProxy's defaults.
fn h2_spec(t: &haproxide_config::model::TuneH2) -> haproxide_forward::H2Spec {
    let d = haproxide_forward::H2Spec::default();
    haproxide_forward::H2Spec {
        header_table_size: t.header_table_size.unwrap_or(d.header_table_size),
        initial_window_size: t.initial_window_size.unwrap_or(d.initial_window_size),
        max_concurrent_streams: t.max_concurrent_streams.unwrap_or(d.max_concurrent_streams),
        max_frame_size: t.max_frame_size.unwrap_or(d.max_frame_size),
        max_header_list_size: d.max_header_list_size,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use haproxide_config::{check_bytes, CheckOptions, Resolver, Target};
    use haproxide_testkit::tls::client_hello;

    /// Check and translate a configuration text (the other modules' tests use it too).
    pub(crate) fn plan(text: &str) -> (Plan, Vec<Diagnostic>) {
        let checked = check_text(text);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        translate(&checked.config)
    }

    /// The check of a configuration text (latest keywords, hosts-file names).
    pub(crate) fn check_text(text: &str) -> haproxide_config::Checked {
        let env = |_: &str| None;
        let opts = CheckOptions {
            target: Target::LATEST,
            env: &env,
            ignore_resolution_failures: false,
            resolver: Resolver::HostsFile,
            check_files: false,
            accounts: &haproxide_config::NoAccounts,
        };
        check_bytes("t.cfg", text.as_bytes().to_vec(), &opts)
    }

    const PATRONI: &str = include_str!("../../../../examples/patroni/haproxy.cfg");

    /// HTTP/2 (docs/h2.md): `tune.h2.*` and `proto h2` reach the engine's specs,
    /// on binds and on servers; `proto h2` on a TCP server is refused as
    /// HAProxy 2.6.12 refuses it.
    #[test]
    fn h2_settings_reach_the_frontend_and_servers() {
        let (p, errors) = plan(
            "global\n tune.h2.max-concurrent-streams 7\n tune.h2.initial-window-size 1000\n\
             defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             frontend f\n bind 127.0.0.1:5001 proto h2\n bind 127.0.0.1:5002\n default_backend b\n\
             backend b\n server s 127.0.0.1:80\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let f = &p.engine.frontends[0];
        assert_eq!(f.h2.max_concurrent_streams, 7);
        assert_eq!(f.h2.initial_window_size, 1000);
        assert_eq!(f.h2.header_table_size, 4096);
        assert_eq!(
            f.binds.iter().map(|b| b.proto_h2).collect::<Vec<_>>(),
            [true, false]
        );
        let (p, errors) = plan(
            "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             listen l\n bind 127.0.0.1:5001\n server s 127.0.0.1:80 proto h2\n server t 127.0.0.1:81\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let servers = &p.engine.backends[0].servers;
        assert_eq!(
            servers.iter().map(|s| s.proto_h2).collect::<Vec<_>>(),
            [true, false]
        );
        // In TCP mode the check itself refuses it (the config crate's
        // mux_checks, with haproxy -c's text), before any translation.
        let checked = check_text(
            "defaults\n mode tcp\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             listen l\n bind 127.0.0.1:5001\n server s 127.0.0.1:80 proto h2\n",
        );
        assert!(
            checked.diagnostics.iter().any(|d| d.is_error()
                && d.haproxy.as_ref().is_some_and(|h| h
                    .text
                    .contains("MUX protocol 'h2' is not usable for server 's'"))),
            "{:?}",
            checked.diagnostics
        );
    }

    /// §4.2 `option tcp-smart-accept`: set in a defaults section it reaches the TCP
    /// frontends' binds, `no option` turns it off, HTTP mode keeps quick ACKs; by
    /// default it is on for `ssl` binds of TCP frontends only.
    #[test]
    fn tcp_smart_accept_reaches_the_binds() {
        let (p, errors) = plan(
            "defaults\n mode tcp\n option tcp-smart-accept\n\
             timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             frontend a\n bind 127.0.0.1:5001\n default_backend b\n\
             frontend c\n bind 127.0.0.1:5002\n no option tcp-smart-accept\n default_backend b\n\
             frontend h\n mode http\n bind 127.0.0.1:5003\n default_backend hb\n\
             backend b\n server s 127.0.0.1:5432\n\
             backend hb\n mode http\n server s 127.0.0.1:80\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let smart: Vec<_> = p
            .engine
            .frontends
            .iter()
            .map(|f| (f.name.as_str(), f.binds[0].smart_accept))
            .collect();
        assert_eq!(smart, [("a", true), ("c", false), ("h", false)]);
        use frontend::smart_accept;
        assert!(smart_accept(true, None, true), "ssl bind, TCP mode");
        assert!(!smart_accept(true, None, false), "clear bind, TCP mode");
        assert!(!smart_accept(true, Some(false), true), "no option");
        assert!(!smart_accept(false, None, true), "HTTP mode");
    }

    /// `backlog` (configuration.txt §4.2) in a defaults section reaches the
    /// frontends that inherit it; a frontend's own wins; a backend has none.
    #[test]
    fn backlog_is_inherited_and_reaches_the_frontend_spec() {
        let (p, errors) = plan(
            "defaults\n mode tcp\n backlog 256\n\
             frontend a\n bind 127.0.0.1:5001\n default_backend b\n\
             frontend c\n bind 127.0.0.1:5002\n backlog 32\n default_backend b\n\
             backend b\n server s 127.0.0.1:5432\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let backlog = |n: &str| {
            p.engine
                .frontends
                .iter()
                .find(|f| f.name == n)
                .map(|f| f.backlog)
        };
        assert_eq!(backlog("a"), Some(Some(256)));
        assert_eq!(backlog("c"), Some(Some(32)));
    }

    #[test]
    fn multi_queue_chooses_how_sessions_spread_over_threads() {
        let cfg = |g: &str| {
            format!("global\n{g}\ndefaults\n mode tcp\nlisten l\n bind :5000\n server s 127.0.0.1:5432\n")
        };
        let spread = |g: &str| plan(&cfg(g)).0.engine.spread;
        assert_eq!(spread(""), fw::ThreadSpread::LeastLoaded);
        assert_eq!(
            spread(" tune.listener.multi-queue on"),
            fw::ThreadSpread::LeastLoaded
        );
        assert_eq!(
            spread(" tune.listener.multi-queue fair"),
            fw::ThreadSpread::RoundRobin
        );
        assert_eq!(
            spread(" tune.listener.multi-queue fair\n tune.listener.multi-queue off"),
            fw::ThreadSpread::Off,
            "the last one wins"
        );
    }

    #[test]
    fn patroni_tutorial() {
        let (p, errors) = plan(PATRONI);
        // The stats page (mode http, `stats enable`, `stats uri /`) is served.
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = p.engine.frontends.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["stats", "primary", "replicas"]);
        assert_eq!(p.stats.len(), 1);
        assert_eq!(p.stats[0].0, 0);
        assert!(p.stats[0].1.enabled);
        assert_eq!(p.stats[0].1.uri, "/");
        assert_eq!(p.engine.frontends[0].binds.len(), 1);
        let primary = &p.engine.backends[0];
        assert_eq!(primary.name, "primary");
        assert_eq!(primary.retries, 2);
        assert_eq!(primary.timeout_connect, Some(Duration::from_secs(4)));
        assert_eq!(primary.servers.len(), 3);
        let s = &primary.servers[1];
        assert_eq!(
            (s.ip.to_string(), s.port),
            ("127.0.0.1".to_string(), fw::ServerPort::Fixed(15433))
        );
        assert!(s.shutdown_on_down && s.checked && !s.backup);
        assert_eq!(s.maxconn, 100);
        // Health checks: OPTIONS / HTTP/1.0 on the REST port, inter 3s fall 3 rise 2.
        assert_eq!(p.checked.len(), 6);
        let c = p.checked[1].check.as_ref().expect("check");
        assert_eq!(
            (c.rise, c.fall, c.intervals.inter),
            (2, 3, Duration::from_secs(3))
        );
        assert_eq!(c.port, Some(18009));
        assert_eq!(
            (c.init_state, c.hold_first),
            (InitState::None, true),
            "HAProxy's start state, but no routing before the first check passes"
        );
        let ProbeSpec::Http(h) = &c.probe else {
            panic!("http probe")
        };
        assert_eq!(
            (h.send.method.as_str(), h.send.uri.as_str()),
            ("OPTIONS", "/")
        );
        assert_eq!(
            h.expect,
            vec![HttpExpect {
                negate: false,
                kind: HttpExpectKind::Status(vec![(200, 200)])
            }]
        );
        let r = p.checked[4].check.as_ref().expect("check");
        let ProbeSpec::Http(h) = &r.probe else {
            panic!("http probe")
        };
        assert_eq!(h.send.uri, "/replica?lag=1MB");
        // listen: the frontend's default backend is its own backend.
        assert_eq!(p.engine.frontends[2].default_backend, Some(1));
        assert_eq!(p.server_index.get(&(1, 2)), Some(&5));
    }

    #[test]
    fn routing_conditions() {
        let (p, errors) = plan(
            "defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
             frontend fe\n bind 127.0.0.1:7000-7001\n tcp-request inspect-delay 2s\n\
             tcp-request content accept if { req.ssl_hello_type 1 }\n\
             acl lan src 10.0.0.0/8 192.168.1.1\n acl web dst_port 443 8443\n\
             use_backend a if lan web || { req.ssl_sni -i -m end .example.com }\n\
             use_backend b unless lan\n default_backend a\n\
             backend a\n balance leastconn\n server s1 127.0.0.1:9000\n server s2 127.0.0.1 backup\n\
             backend b\n server s3 127.0.0.1:+1 send-proxy-v2\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let f = &p.engine.frontends[0];
        assert_eq!(f.binds.len(), 2, "a port range gives one listener per port");
        assert_eq!(f.inspect_delay, Some(Duration::from_secs(2)));
        assert_eq!(f.tcp_content_rules.len(), 1);
        let (bi, cond) = &f.use_backends[0];
        assert_eq!(*bi, 0);
        let cond = cond.as_ref().expect("cond");
        let at = |src: &str, dst: &str, data: &'static [u8]| {
            cond.eval(&ctx(src, dst, data)) == haproxide_expr::Tri::Pass
        };
        // lan web: src in 10/8 or 192.168.1.1, dst_port 443 or 8443.
        assert!(at("10.1.2.3:1000", "127.0.0.1:443", b""));
        assert!(at("192.168.1.1:1000", "127.0.0.1:8443", b""));
        assert!(!at("192.168.1.2:1000", "127.0.0.1:443", b""));
        assert!(!at("10.1.2.3:1000", "127.0.0.1:80", b""));
        // || { req.ssl_sni -i -m end .example.com }
        let hello: &'static [u8] =
            Box::leak(client_hello(Some("DB.Example.COM")).into_boxed_slice());
        assert!(at("8.8.8.8:1", "127.0.0.1:80", hello));
        assert!(f.use_backends[1].1.as_ref().is_some_and(|c| c.unless));
        let a = &p.engine.backends[0];
        assert_eq!(a.balance, fw::Balance::LeastConn);
        assert_eq!(a.servers[1].port, fw::ServerPort::SameAsClient);
        assert!(a.servers[1].backup);
        assert_eq!(
            p.engine.backends[1].servers[0].port,
            fw::ServerPort::Offset(1)
        );
        assert_eq!(
            p.engine.backends[1].servers[0].send_proxy,
            fw::SendProxy::V2
        );
        assert!(p.checked.is_empty(), "no server is checked");
    }

    #[test]
    fn payload_tests() {
        let (p, errors) = plan(
            "defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
             frontend fe\n bind 127.0.0.1:7000\n tcp-request inspect-delay 1s\n acl get req.payload(0,3) -m bin 474554\n\
             use_backend a if get\n default_backend a\nbackend a\n server s1 127.0.0.1:9000\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let cond = p.engine.frontends[0].use_backends[0]
            .1
            .as_ref()
            .expect("cond");
        let eval = |data: &'static [u8], fin| {
            let mut c = ctx("8.8.8.8:1", "127.0.0.1:7000", data);
            c.final_eval = fin;
            cond.eval(&c)
        };
        assert_eq!(eval(b"GET /", true), haproxide_expr::Tri::Pass);
        assert_eq!(eval(b"GE", false), haproxide_expr::Tri::Miss);
        assert_eq!(eval(b"PUT", false), haproxide_expr::Tri::Fail);
    }

    /// What a TCP session shows the conditions.
    fn ctx(
        src: &str,
        dst: &str,
        data: &'static [u8],
    ) -> haproxide_forward::rules::EvalCtx<'static> {
        haproxide_forward::rules::EvalCtx {
            src: src.parse().ok(),
            dst: dst.parse().ok(),
            data,
            final_eval: true,
            tls: None,
            servers: None,
            vars: None,
            res: None,
            listener: None,
            stick: None,
        }
    }

    #[test]
    fn what_is_not_run_is_named() {
        let (_, errors) = plan(
            "defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
             frontend fe\n bind 127.0.0.1:7000\n acl h req.rdp_cookie_cnt gt 0\n use_backend a if h\n default_backend a\n\
             backend a\n stick-table type ip size 1k store conn_rate(10s),gpc(2)\n server s1 127.0.0.1:9000\n",
        );
        let lines: Vec<u32> = errors
            .iter()
            .filter_map(|d| d.span.map(|s| s.line))
            .collect();
        assert_eq!(lines, vec![12, 8], "backend errors come first: {errors:?}");
        assert!(errors.iter().all(|d| d.code == Code::NotRunYet));
    }

    const BASE: &str =
        "defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n";

    #[test]
    fn stats_proxy_is_served() {
        let (p, errors) = plan(&format!(
            "global\n description the lab\n{BASE}\
             listen stats\n mode http\n bind 127.0.0.1:7000\n timeout client 7s\n stats enable\n stats uri /st\n\
             stats refresh 10s\n stats realm Lab\n stats auth admin:se:cret\n stats auth ro:x\n\
             stats admin if LOCALHOST || {{ src 10.0.0.0/8 192.168.0.0/255.255.0.0 }}\n stats hide-version\n stats show-legends\n\
             stats show-node n1\n stats show-desc\n stats scope .\n stats scope pg\n\
             acl m path /metrics\n http-request use-service prometheus-exporter if m\n\
             http-request use-service prometheus-exporter if {{ path_beg /prom }} !{{ src 10.9.9.9 }}\n"
        ));
        assert!(errors.is_empty(), "{errors:?}");
        let (i, s) = &p.stats[0];
        assert_eq!(p.engine.frontends[*i].name, "stats");
        assert_eq!(
            p.engine.frontends[*i].timeout_client,
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            (s.uri.as_str(), s.realm.as_str(), s.refresh),
            ("/st", "Lab", Some(10))
        );
        assert_eq!(
            s.auth,
            vec![
                ("admin".into(), "se:cret".into()),
                ("ro".into(), "x".into())
            ]
        );
        assert!(s.hide_version && s.show_legends && s.enabled);
        assert_eq!(s.show_node.as_deref(), Some("n1"));
        assert_eq!(s.show_desc.as_deref(), Some(""));
        assert_eq!(s.description, "the lab");
        assert_eq!(s.scope, vec![".".to_string(), "pg".to_string()]);
        let admin = s.admin.as_ref().expect("admin");
        let ip = |a: &str| Some(SocketAddr::new(a.parse().unwrap(), 1000));
        let passes = crate::stats::passes;
        assert!(passes(admin, ip("127.0.0.1"), "/"));
        assert!(passes(admin, ip("10.2.3.4"), "/"));
        assert!(passes(admin, ip("192.168.7.1"), "/"));
        assert!(!passes(admin, ip("172.16.0.1"), "/"));
        assert_eq!(s.prometheus.len(), 2);
        let m = s.prometheus[0].as_ref().expect("cond");
        assert!(passes(m, None, "/metrics") && !passes(m, None, "/metricsx"));
        let pb = s.prometheus[1].as_ref().expect("cond");
        assert!(passes(pb, ip("10.0.0.1"), "/prom/x") && !passes(pb, ip("10.9.9.9"), "/prom/x"));
        // No engine backend for it.
        assert!(p.engine.backends.is_empty());
    }

    #[test]
    fn other_http_features_in_a_stats_proxy_are_refused_with_their_line() {
        let (p, errors) = plan(&format!(
            "{BASE}listen stats\n mode http\n bind 127.0.0.1:7000\n stats enable\n\
             http-request deny if {{ path /x }}\n option forwardfor\n compression algo gzip\n\
             stats admin if {{ hdr(host) x }}\n\
             frontend web\n mode http\n bind 127.0.0.1:8080\n default_backend b\n\
             backend b\n mode http\n server s 127.0.0.1:80\n"
        ));
        let mut lines: Vec<u32> = errors
            .iter()
            .filter_map(|d| d.span.map(|s| s.line))
            .collect();
        lines.sort_unstable();
        // http-request deny (10), compression (12), stats admin on a header
        // (13); the plain HTTP frontend and backend run.
        assert_eq!(lines, vec![10, 12, 13], "{errors:?}");
        assert!(p
            .engine
            .frontends
            .iter()
            .any(|f| f.name == "web" && f.http.is_some()));
        assert!(errors.iter().all(|d| d.code == Code::NotRunYet));
        assert!(p.stats.is_empty());
    }

    #[test]
    fn stats_in_a_forwarding_proxy_is_a_hook_of_its_http_engine() {
        // A `listen` with servers and a frontend with `use_backend`: both
        // forward, and answer their stats URI in the HTTP engine; a backend's
        // `stats enable` is its own.
        let (p, errors) = plan(&format!(
            "{BASE}listen lb\n mode http\n bind 127.0.0.1:7000\n stats uri /st\n\
             stats auth a:b\n server s1 127.0.0.1:80\n\
             frontend web\n mode http\n bind 127.0.0.1:8080\n stats enable\n\
             use_backend bst if {{ path_beg /s }}\n default_backend b\n\
             backend b\n mode http\n server s 127.0.0.1:80\n\
             backend bst\n mode http\n stats enable\n stats uri /\n\
             stats admin if {{ hdr(host) x }}\n"
        ));
        assert!(p.stats.is_empty());
        let hook = |name: &str| {
            p.engine
                .frontends
                .iter()
                .find(|f| f.name == name)
                .and_then(|f| f.http.as_ref()?.stats.as_ref())
                .map(|h| h.uri.clone())
        };
        assert_eq!(hook("lb").as_deref(), Some("/st"));
        assert_eq!(hook("web").as_deref(), Some("/haproxy?stats"));
        // The backend's admin condition reads a header: the engine evaluates it
        // on the whole request.
        assert!(errors.is_empty(), "{errors:?}");
        let bst = p.engine.backends.iter().find(|b| b.name == "bst");
        let hook = bst.and_then(|b| b.http.as_ref()?.stats.as_ref());
        assert!(hook.is_some_and(|h| h.uri == "/" && h.admin.is_some()));
    }

    #[test]
    fn stats_keywords_are_inherited_from_defaults() {
        // HAProxy 2.6.12 (measured): a proxy without `stats` lines takes its
        // defaults section's; one with a `stats` line of its own detaches from them
        // (its page is at the default URI, without auth).
        let (p, errors) = plan(
            "defaults\n mode http\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
             stats uri /admin\n stats auth a:b\n\
             listen st\n bind 127.0.0.1:7000\n\
             listen own\n bind 127.0.0.1:7001\n stats realm Own\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let s = &p.stats[0].1;
        assert!(s.enabled);
        assert_eq!(s.uri.as_str(), "/admin");
        assert_eq!(s.auth, vec![("a".to_string(), "b".to_string())]);
        let own = &p.stats[1].1;
        assert!(own.enabled);
        assert_eq!(
            (own.uri.as_str(), own.realm.as_str()),
            ("/haproxy?stats", "Own")
        );
        assert!(own.auth.is_empty());
    }
}
