//! Resolution: what HAProxy does after parsing (configuration.txt §4 "Proxies" for
//! defaults, §4.2 `default-server`, §5.2 `init-addr`; HAProxy's post-parse checks).
//!
//! - defaults inheritance in file order: a proxy inherits from the last `defaults`
//!   section before it, or the one named by `from`; a `defaults` section inherits
//!   only through `from` (without it, it starts afresh, as in HAProxy 2.6);
//! - `default-server` chains: defaults → proxy `default-server` → `server`;
//! - references: `default_backend`, `use_backend`, `track`, mode compatibility;
//! - server addresses: host names are resolved as HAProxy does at start-up; a
//!   failure is an error unless `init-addr` includes `none`, a `resolvers` section
//!   is named, or `-dr` was given;
//! - whole-configuration checks: missing timeouts, "no listener" (exit 2).

use crate::diag::{Code, Diagnostic, HaproxyLoc};
use crate::model::*;
use crate::parse::Resolver;
use crate::value::Host;

/// The resolved stage: a [`Config`] on which [`resolve`] ran (`defaults`,
/// `default-server` and global inheritance done, references checked). Only this
/// crate makes one ([`crate::check`] and friends, in [`crate::Checked::config`]);
/// the crates downstream take `&Resolved`, so none can be handed a configuration
/// whose inheritance is not done. It reads as a `Config` (`Deref`) and cannot be
/// changed. When the parse failed, resolution did not run (as in HAProxy) and
/// `Checked::has_errors` is true: such a configuration is reported, never run.
#[derive(Debug, Clone, Default)]
pub struct Resolved(Config);

impl Resolved {
    /// The configuration, to own (tests, tools).
    pub fn into_config(self) -> Config {
        self.0
    }

    /// Only `check_read` makes one, after [`resolve`] (or after a failed parse).
    pub(crate) fn new(cfg: Config) -> Resolved {
        Resolved(cfg)
    }
}

impl std::ops::Deref for Resolved {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.0
    }
}

/// Options for resolution.
#[derive(Debug, Clone, Copy)]
pub struct ResolveOptions {
    /// `-dr`: an unresolvable server address is a warning, not an error.
    pub ignore_resolution_failures: bool,
    /// How server host names are resolved.
    pub resolver: Resolver,
}

/// Copy into `into` every parameter `from` sets (when `overwrite`) or that `into` lacks.
pub fn inherit_params(into: &mut ServerParams, from: &ServerParams, overwrite: bool) {
    // The TLS protocol options merge field by field, the later line winning.
    if let Some(f) = &from.tls_opts {
        match (&mut into.tls_opts, overwrite) {
            (None, _) => into.tls_opts = Some(f.clone()),
            (Some(i), false) => i.inherit(f),
            (Some(i), true) => {
                let mut n = f.clone();
                n.inherit(i);
                *i = n;
            }
        }
    }
    macro_rules! f {
        ($($field:ident),*) => {
            $( if from.$field.is_some() && (overwrite || into.$field.is_none()) {
                into.$field = from.$field.clone();
            } )*
        };
    }
    f!(
        check,
        inter,
        fastinter,
        downinter,
        rise,
        fall,
        weight,
        backup,
        disabled,
        maxconn,
        maxqueue,
        minconn,
        port,
        addr,
        on_marked_down,
        cookie,
        on_marked_up,
        on_error,
        init_addr,
        init_state,
        track,
        send_proxy,
        send_proxy_v2,
        check_send_proxy,
        socks4,
        check_via_socks4,
        check_ssl,
        ssl,
        verify,
        ca_file,
        crt,
        sni,
        check_sni,
        alpn,
        check_alpn,
        ssl_reuse,
        verifyhost,
        agent_check,
        agent_port,
        agent_addr,
        agent_inter,
        agent_send,
        resolvers,
        slowstart,
        source,
        pool_max_conn,
        pool_purge_delay,
        pool_low_conn,
        max_reuse
    );
}

/// Apply defaults and default-server inheritance, then check references.
/// Returns post-parse diagnostics (HAProxy runs these only when parsing succeeded).
pub fn resolve(cfg: &mut Config, opts: &ResolveOptions) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    inherit_defaults(cfg, &mut diags);
    check_references(cfg, &mut diags);
    check_peers(cfg, &mut diags);
    check_timeouts(cfg, &mut diags);
    check_spoe(cfg, &mut diags);
    check_defaults_rules(cfg, &mut diags);
    crate::server_tls::resolve(cfg, &mut diags);
    crate::section_refs::check(cfg, &mut diags);
    crate::mux_checks::check(cfg, &mut diags);
    // Sockets are tried only where names are resolved (not in unit tests); a
    // missing resolvers section stops HAProxy there (ERR_ABORT).
    if crate::nameservers::check(cfg, opts.resolver != Resolver::Off, &mut diags) {
        return diags;
    }
    resolve_servers(cfg, opts, &mut diags);
    if opts.ignore_resolution_failures {
        dr_allows_none(cfg);
    }
    diags
}

/// TCP/HTTP rules in a `defaults` section (configuration.txt §4 "defaults"; HAProxy
/// 2.6's checks in cfgparse-listen.c, reg-test startup/default_rules.vtc): the
/// proxies inheriting a named `defaults` with rules must be able to run them: no other `defaults`, no `listen`, not frontends and backends both, no backend
/// for `tcp-request connection|session`, no frontend for `tcp-response content`.
fn check_defaults_rules(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    let err = |span: crate::source::Span, msg: String, hx: String| {
        Diagnostic::error(Code::WrongSection, msg)
            .at(span)
            .hx(HaproxyLoc::ParsingTight, hx)
    };
    for (di, d) in cfg.proxies.iter().enumerate() {
        if d.kind != ProxyKind::Defaults || d.rules.is_empty() {
            continue;
        }
        // Only a named one may hold rules (the parser refuses some cases already,
        // and then this does not run).
        if d.name.name.is_empty() {
            for r in &d.rules {
                let kw = r.ruleset.split(' ').next().unwrap_or("");
                let mut e = err(
                    r.action.span,
                    format!("`{kw}` rules need a named `defaults` section"),
                    format!("'{kw}' not allowed in anonymous 'defaults' section."),
                );
                if let Some(h) = e.haproxy.as_mut() {
                    h.loc = HaproxyLoc::Parsing;
                }
                diags
                    .push(e.help("name the section (`defaults NAME`) and use it with `from NAME`"));
            }
            continue;
        }
        let has = |set: &[&str]| d.rules.iter().any(|r| set.contains(&r.ruleset.as_str()));
        let users: Vec<&Proxy> = cfg
            .proxies
            .iter()
            // A `defaults` inherits only with `from` (not the previous section).
            .filter(|p| {
                p.defaults == Some(di) && (p.kind != ProxyKind::Defaults || p.from.is_some())
            })
            .collect();
        let at = format!(" (defaults section `{}`)", d.name.name);
        let fe = users.iter().any(|p| p.kind == ProxyKind::Frontend);
        let mut first_be_seen = false;
        for p in &users {
            let (msg, hx) = match p.kind {
                ProxyKind::Defaults => (
                    "a `defaults` section cannot inherit TCP/HTTP rules",
                    "a defaults section cannot inherit from a defaults section defining TCP/HTTP rules.",
                ),
                ProxyKind::Listen => (
                    "a `listen` section cannot inherit TCP/HTTP rules",
                    "a listen section cannot inherit from a defaults section defining TCP/HTTP rules.",
                ),
                ProxyKind::Backend if fe && !first_be_seen => {
                    first_be_seen = true;
                    (
                        "frontends and backends cannot inherit the same TCP/HTTP rules",
                        "frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules.",
                    )
                }
                ProxyKind::Backend if has(&["tcp-request connection", "tcp-request session"]) => (
                    "a backend cannot inherit `tcp-request connection`/`session` rules",
                    "a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules.",
                ),
                ProxyKind::Frontend if has(&["tcp-response content"]) => (
                    "a frontend cannot inherit `tcp-response content` rules",
                    "a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules.",
                ),
                _ => continue,
            };
            diags.push(
                err(p.name.span, format!("{msg}{at}"), hx.to_string())
                    .help("split the rules into one named `defaults` per kind of proxy"),
            );
        }
    }
}

/// `-dr` (management.txt §3 "-dr"): a server whose name does not resolve starts
/// disabled, as if its `init-addr` ended with `none`. The resolved configuration
/// says so, so that run mode starts it disabled instead of refusing.
fn dr_allows_none(cfg: &mut Config) {
    for p in cfg
        .proxies
        .iter_mut()
        .filter(|p| p.kind != ProxyKind::Defaults)
    {
        for s in p.servers.iter_mut() {
            if !matches!(s.parsed.as_ref().map(|a| &a.host), Some(Host::Name(_))) {
                continue;
            }
            let init = s
                .params
                .init_addr
                .get_or_insert_with(|| vec!["last".into(), "libc".into()]);
            if !init.iter().any(|m| m == "none") {
                init.push("none".into());
            }
        }
    }
}

fn inherit_defaults(cfg: &mut Config, diags: &mut Vec<Diagnostic>) {
    let mut last_defaults: Option<usize> = None;
    // Named defaults seen so far: the last one of each name.
    let mut named_defaults: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    for i in 0..cfg.proxies.len() {
        let from = cfg.proxies[i].from.clone();
        let parent = match &from {
            Some(f) => {
                let found = named_defaults.get(f.name.as_str()).copied();
                if found.is_none() {
                    let kind = cfg.proxies[i].kind.as_str();
                    let name = cfg.proxies[i].name.name.clone();
                    diags.push(
                        Diagnostic::error(Code::UnknownDefaults, format!("no defaults section named `{}` before this {kind}", f.name))
                            .at(f.span)
                            .hx(HaproxyLoc::Parsing, format!("{kind} '{name}' : defaults section '{}' not found for {kind} '{name}'.", f.name)),
                    );
                }
                found
            }
            // A `defaults` section without `from` starts afresh (HAProxy 2.6.12:
            // an earlier section's timeouts do not reach it).
            None if cfg.proxies[i].kind == ProxyKind::Defaults => None,
            None => last_defaults,
        };
        cfg.proxies[i].defaults = parent;
        if let Some(pi) = parent {
            let (before, after) = cfg.proxies.split_at_mut(i);
            let (Some(d), Some(p)) = (before.get(pi), after.first_mut()) else {
                continue;
            };
            inherit_proxy(p, d);
        }
        if cfg.proxies[i].kind == ProxyKind::Defaults {
            last_defaults = Some(i);
            if !cfg.proxies[i].name.name.is_empty() {
                named_defaults.insert(cfg.proxies[i].name.name.clone(), i);
            }
        }
    }
}

/// What a proxy takes from its defaults section (configuration.txt §4, "defaults").
fn inherit_proxy(p: &mut Proxy, d: &Proxy) {
    if p.mode.is_none() {
        p.mode = d.mode;
    }
    if p.kind.has_backend() && p.balance.is_none() {
        p.balance = d.balance.clone();
    }
    if p.hash_type.is_none() {
        p.hash_type = d.hash_type.clone();
    }
    if p.kind.has_backend() && p.cookie.is_none() {
        p.cookie = d.cookie.clone();
    }
    for (k, v) in &d.timeouts {
        p.timeouts.entry(k.clone()).or_insert(*v);
    }
    if p.retries.is_none() {
        p.retries = d.retries;
    }
    if p.maxconn.is_none() && p.kind.has_frontend() {
        p.maxconn = d.maxconn;
    }
    if p.backlog.is_none() && p.kind.has_frontend() {
        p.backlog = d.backlog;
    }
    if p.fullconn.is_none() {
        p.fullconn = d.fullconn;
    }
    if p.http_reuse.is_none() && p.kind.has_backend() {
        p.http_reuse = d.http_reuse;
    }
    // TCP/HTTP rules of a named `defaults` (HAProxy 2.5+, §4 "defaults"): run
    // before the proxy's own, each set as a whole (an `allow` there ends the
    // proxy's set too: reg-test http-rules/default_rules.vtc). A `defaults`
    // section inheriting rules is an error (`check_defaults_rules`).
    if p.kind != ProxyKind::Defaults && !d.rules.is_empty() {
        let own = std::mem::take(&mut p.rules);
        p.rules = d.rules.iter().cloned().chain(own).collect();
    }
    if p.default_backend.is_none() && p.kind.has_frontend() {
        p.default_backend = d.default_backend.clone();
    }
    // `stats` lines (HAProxy's proxy_parse_stats): a defaults section adds its own
    // to those it inherits; any other proxy with a `stats` line of its own detaches
    // from its defaults section's settings and keeps only its own.
    if p.kind == ProxyKind::Defaults || p.stats.is_empty() {
        let mut stats = d.stats.clone();
        stats.append(&mut p.stats);
        p.stats = stats;
    }
    // Options: the defaults' settings come first, the proxy's own override them.
    let mut opts = d.options.clone();
    opts.append(&mut p.options);
    p.options = opts;
    if p.logs.is_empty() {
        p.logs = d.logs.clone();
    }
    if p.log_tag.is_none() {
        p.log_tag = d.log_tag.clone();
    }
    if p.log_format.is_none() {
        p.log_format = d.log_format.clone();
    }
    if p.load_server_state_from_file.is_none() {
        p.load_server_state_from_file = d.load_server_state_from_file;
    }
    if p.server_state_file_name.is_none() {
        p.server_state_file_name = d.server_state_file_name.clone();
    }
    if p.http_checks.is_empty() {
        p.http_checks = d.http_checks.clone();
    }
    if p.tcp_checks.is_empty() {
        p.tcp_checks = d.tcp_checks.clone();
    }
    // default-server chain: defaults' default-server, then the proxy's own.
    if let Some(dds) = &d.default_server {
        match &mut p.default_server {
            Some(own) => inherit_params(&mut own.params, &dds.params, false),
            None => p.default_server = Some(dds.clone()),
        }
    }
    if let Some(ds) = p.default_server.clone() {
        for s in &mut p.servers {
            inherit_params(&mut s.params, &ds.params, false);
        }
    }
}

fn check_references(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    // Backends by name, built once (a scan per reference was quadratic).
    let mut backends: std::collections::HashMap<&str, &Proxy> = std::collections::HashMap::new();
    for b in cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults && p.kind.has_backend())
    {
        backends.entry(b.name.name.as_str()).or_insert(b);
    }
    let backend_mode = |_: &Config, name: &str| {
        backends
            .get(name)
            .map(|b| (b.effective_mode(), b.name.span))
    };
    for p in cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults && p.kind.has_frontend())
    {
        let mut refs: Vec<(&Named, &str)> = Vec::new();
        if let Some(db) = &p.default_backend {
            refs.push((db, "default_backend"));
        }
        for ub in &p.use_backends {
            // Names with a log-format expression (`%[...]`) are resolved at run time.
            if !ub.backend.name.contains('%') {
                refs.push((&ub.backend, "use_backend"));
            }
        }
        for (r, what) in refs {
            match backend_mode(cfg, &r.name) {
                None => {
                    let hx = if what == "default_backend" {
                        format!(
                            "Proxy '{}': unable to find required default_backend: '{}'.",
                            p.name.name, r.name
                        )
                    } else {
                        format!(
                            "Proxy '{}': unable to find required use_backend: '{}'.",
                            p.name.name, r.name
                        )
                    };
                    let mut d = Diagnostic::error(
                        Code::UnknownBackend,
                        format!("{what} names no backend `{}`", r.name),
                    )
                    .at(r.span)
                    .hx(HaproxyLoc::None, hx);
                    let names = cfg
                        .proxies
                        .iter()
                        .filter(|b| b.kind.has_backend() && b.kind != ProxyKind::Defaults)
                        .map(|b| b.name.name.as_str());
                    if let Some(s) = crate::diag::suggest(&r.name, names) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    diags.push(d);
                }
                Some((bmode, bspan)) => {
                    if p.effective_mode() == Mode::Http && bmode == Mode::Tcp {
                        let ctx = if what == "default_backend" {
                            "as its default backend"
                        } else {
                            "in a 'use_backend' rule"
                        };
                        diags.push(
                            Diagnostic::error(Code::ModeMismatch, format!("http {} `{}` uses tcp backend `{}`", p.kind.as_str(), p.name.name, r.name))
                                .at(r.span)
                                .related(bspan, "the backend is declared here (mode tcp)")
                                .help("set the same `mode` on both")
                                .hx(
                                    HaproxyLoc::None,
                                    format!(
                                        "http {} '{}' (\u{1}{}\u{1}:{}) tries to use incompatible tcp backend '{}' (\u{1}{}\u{1}:{}) {ctx} (see 'mode').",
                                        p.kind.as_str(), p.name.name, p.span.file.0, p.span.line, r.name, bspan.file.0, bspan.line
                                    ),
                                ),
                        );
                    }
                }
            }
        }
    }
    // `track [proxy/]server`.
    for p in cfg.proxies.iter().filter(|p| p.kind != ProxyKind::Defaults) {
        for s in &p.servers {
            let Some(t) = &s.params.track else { continue };
            let (bname, sname) = t
                .name
                .split_once('/')
                .unwrap_or((p.name.name.as_str(), t.name.as_str()));
            let found = backends
                .get(bname)
                .is_some_and(|b| b.servers.iter().any(|x| x.name.name == sname));
            if !found {
                diags.push(
                    Diagnostic::error(Code::UnknownTrack, format!("`track` names no server `{}`", t.name))
                        .at(t.span)
                        .hx(HaproxyLoc::None, format!("config : {} '{}', server '{}': unable to find required server '{}' for tracking.", p.kind.as_str(), p.name.name, s.name.name, t.name)),
                );
            }
        }
        // `option external-check` needs `external-check` in global.
        if p.option("external-check") == Some(true) && !cfg.global.external_check {
            diags.push(
                Diagnostic::error(Code::MissingGlobalSetting, "`option external-check` needs `external-check` in the global section")
                    .at(p.span)
                    .hx(HaproxyLoc::None, format!("Proxy '{}' : 'option external-check' unable to find required 'global.external-check'.", p.name.name)),
            );
        }
        // Both alerts when both are missing (cfgparse.c).
        if p.option("external-check") == Some(true)
            && p.kind != ProxyKind::Defaults
            && crate::checks::external_check(p, p.defaults.and_then(|d| cfg.proxies.get(d)))
                .command
                .is_none()
        {
            diags.push(
                Diagnostic::error(Code::MissingGlobalSetting, "`option external-check` needs `external-check command`")
                    .at(p.span)
                    .hx(HaproxyLoc::None, format!("Proxy '{}' : 'option external-check' unable to find required 'external-check command'.", p.name.name)),
            );
        }
        // After its alerts, whether or not there were any (cfgparse.c).
        if p.option("external-check") == Some(true)
            && !cfg
                .global
                .directives
                .iter()
                .any(|d| d.keyword == "insecure-fork-wanted")
        {
            diags.push(hx_warn(
                Code::MiscWarning,
                Some(p.name.span),
                "`option external-check` without `insecure-fork-wanted` in global: the check will likely fail".into(),
                format!("Proxy '{}' : 'insecure-fork-wanted' not enabled in the global section, 'option external-check' will likely fail.", p.name.name),
            ));
        }
    }
}

/// The local peer's name given on the command line (`-L <name>`,
/// management.txt §3): it wins over `localpeer` and the host name.
static LOCAL_PEER_ARG: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the `-L <name>` of this process (once; later calls are ignored).
pub fn set_local_peer_arg(name: &str) {
    let _ = LOCAL_PEER_ARG.set(name.to_string());
}

/// The local peer name: `localpeer` in global, else the host name (configuration.txt
/// §3.1 `localpeer`).
pub fn local_peer_name(cfg: &Config) -> String {
    if let Some(n) = LOCAL_PEER_ARG.get() {
        return n.clone();
    }
    if let Some(d) = cfg
        .global
        .directives
        .iter()
        .rev()
        .find(|d| d.keyword == "localpeer")
    {
        return d.line.arg(1).to_string();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A `peers` section without the local peer is removed, with a warning (HAProxy).
fn check_peers(cfg: &mut Config, diags: &mut Vec<Diagnostic>) {
    let local = local_peer_name(cfg);
    let mut remove = Vec::new();
    for (i, s) in cfg
        .others
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == "peers")
    {
        let has_local = s
            .directives
            .iter()
            .any(|d| matches!(d.keyword.as_str(), "peer" | "server") && d.line.arg(1) == local);
        if !has_local {
            let name = s.name.as_ref().map(|n| n.name.clone()).unwrap_or_default();
            diags.push(hx_warn(
                Code::MiscWarning,
                Some(s.span),
                format!(
                    "peers section `{name}` has no peer named `{local}` (this host): it is removed"
                ),
                format!("Removing incomplete section 'peers {name}' (no peer named '{local}')."),
            ));
            remove.push(i);
        }
    }
    for i in remove.into_iter().rev() {
        cfg.others.remove(i);
    }
}

/// HAProxy's word for a proxy kind in post-parse messages.
pub(crate) fn type_str(k: ProxyKind) -> &'static str {
    match k {
        ProxyKind::Frontend => "frontend",
        ProxyKind::Backend => "backend",
        ProxyKind::Listen => "proxy",
        ProxyKind::Defaults => "defaults",
    }
}

fn hx_warn(code: Code, span: Option<crate::source::Span>, msg: String, hx: String) -> Diagnostic {
    let mut d = Diagnostic::warning(code, msg).hx(HaproxyLoc::None, hx);
    d.span = span;
    d
}

/// Per-proxy post-parse warnings, in the order HAProxy prints them: a frontend
/// without `bind`, missing timeouts, a log format without a log target, HTTP-only
/// settings in a TCP proxy.
fn check_timeouts(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    let global_logs = !cfg.global.logs.is_empty();
    for p in cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults && !p.disabled)
    {
        let ts = type_str(p.kind);
        let name = &p.name.name;
        if p.kind == ProxyKind::Frontend && p.binds.is_empty() {
            diags.push(hx_warn(
                Code::MiscWarning,
                Some(p.name.span),
                format!("frontend `{name}` has no `bind`: nothing reaches it"),
                format!("frontend '{name}' has no 'bind' directive. Please declare it as a backend if this was intended."),
            ));
            continue;
        }
        let unused = |what: &str, option: &str| {
            hx_warn(
                Code::MiscWarning,
                Some(p.name.span),
                format!("{ts} `{name}` has `{what}` rules but no `option {option}`: the rules are ignored"),
                format!("{ts} '{name}' uses {what} rules without 'option {option}', so the rules are ignored."),
            )
        };
        if p.unused_checks.http {
            diags.push(unused("http-check", "httpchk"));
        }
        if !matches!(p.effective_mode(), Mode::Tcp | Mode::Http) {
            if p.unused_checks.tcp {
                diags.push(unused("tcp-check", "tcp-check"));
            }
            continue;
        }
        // An HTTP log format in a TCP frontend (HAProxy names the line that set it,
        // the defaults section's when inherited).
        if p.kind.has_frontend() && p.effective_mode() != Mode::Http {
            let http = match &p.log_format {
                Some(SessionLog::HttpLog(s)) => Some(("option httplog", *s)),
                Some(SessionLog::HttpsLog(s)) => Some(("option httpslog", *s)),
                _ => None,
            };
            if let Some((what, span)) = http {
                diags.push(
                    Diagnostic::warning(
                        Code::MiscWarning,
                        format!("`{what}` needs mode http: {ts} `{name}` logs as `option tcplog`"),
                    )
                    .at(span)
                    .hx(
                        HaproxyLoc::Parsing,
                        format!("'{what}' not usable with {ts} '{name}' (needs 'mode http'). Falling back to 'option tcplog'."),
                    ),
                );
            }
        }
        // `log-format` typed with the proxy's mode (HAProxy 2.6.12's words).
        if let (true, Some(SessionLog::Custom(f))) = (p.kind.has_frontend(), &p.log_format) {
            let mode = if p.effective_mode() == Mode::Http {
                haproxide_expr::LfMode::Http
            } else {
                haproxide_expr::LfMode::Tcp
            };
            let err = haproxide_expr::LogFormat::parse(&f.name, mode).err();
            // A fetch HAProxy has and this engine lacks is run mode's refusal.
            let err = err.filter(|e| match e {
                haproxide_expr::LogFormatError::Sample(text, _, invalid) => {
                    let name = text.split([',', '(']).next().unwrap_or("");
                    *invalid
                        || !crate::keywords::keywords(crate::keywords::TableSet::V2_6)
                            .fetches
                            .contains(name.trim())
                }
                _ => true,
            });
            if let Some(e) = err {
                diags.push(
                    Diagnostic::error(Code::InvalidArgument, format!("invalid `log-format`: {e}"))
                        .at(f.span)
                        .hx(
                            HaproxyLoc::ParsingCapital,
                            format!("failed to parse log-format : {e}."),
                        ),
                );
            }
        }
        let missing = |k: &str| p.timeouts.get(k).is_none_or(|t| t.0 == 0);
        let mut need = Vec::new();
        if p.kind.has_frontend() && missing("client") {
            need.push("client");
        }
        // A backend without servers needs none (HAProxy 2.6's
        // `check_config_validity`); in TCP mode `timeout tunnel` stands in
        // for `timeout server`.
        let be = p.kind.has_backend() && !p.servers.is_empty();
        if be && missing("connect") {
            need.push("connect");
        }
        if be && missing("server") && (p.effective_mode() == Mode::Http || missing("tunnel")) {
            need.push("server");
        }
        if !need.is_empty() {
            diags.push(
                Diagnostic::warning(Code::MissingTimeouts, format!("{ts} `{name}` has no timeout {}", need.join(", ")))
                    .at(p.name.span)
                    .help("set `timeout client`, `timeout connect` and `timeout server` (in a defaults section for all proxies)")
                    .hx(
                        HaproxyLoc::None,
                        format!(
                            "missing timeouts for {ts} '{name}'.\nWhile not properly invalid, you will certainly encounter various problems\nwith such a configuration. To fix this, please ensure that all following\ntimeouts are set to a non-zero value: 'client', 'connect', 'server'."
                        ),
                    ),
            );
        }
        if p.unused_checks.tcp {
            diags.push(unused("tcp-check", "tcp-check"));
        }
        // A log format with nowhere to log.
        let has_format = p.kind.has_frontend() && p.log_format.is_some();
        let has_target = p.logs.iter().any(|l| match l {
            LogTarget::Global(_) => global_logs,
            LogTarget::Target(_) => true,
            LogTarget::Disabled(_) => false,
        });
        if has_format && !has_target {
            diags.push(hx_warn(
                Code::MiscWarning,
                Some(p.name.span),
                format!("{ts} `{name}` sets a log format but has no log target: nothing is logged"),
                format!("log format ignored for {ts} '{name}' since it has no log address."),
            ));
        }
        if p.effective_mode() == Mode::Tcp {
            if p.directives.iter().any(|d| d.keyword.starts_with("stats "))
                && p.kind != ProxyKind::Backend
            {
                diags.push(hx_warn(
                    Code::MiscWarning,
                    Some(p.name.span),
                    format!("`stats` in {ts} `{name}` needs mode http: ignored"),
                    format!(
                        "'stats' statement ignored for {ts} '{name}' as it requires HTTP mode."
                    ),
                ));
            }
            for o in ["forwardfor", "originalto"] {
                if p.option(o) == Some(true) {
                    diags.push(hx_warn(
                        Code::MiscWarning,
                        Some(p.name.span),
                        format!("`option {o}` in {ts} `{name}` needs mode http: ignored"),
                        format!("'option {o}' ignored for {ts} '{name}' as it requires HTTP mode."),
                    ));
                }
            }
            for rs in ["http-request", "http-response", "http-after-response"] {
                if p.rules.iter().any(|r| r.ruleset == rs) {
                    diags.push(hx_warn(
                        Code::MiscWarning,
                        Some(p.name.span),
                        format!("`{rs}` rules in {ts} `{name}` need mode http: ignored"),
                        format!(
                            "'{rs}' rules ignored for {ts} '{name}' as they require HTTP mode."
                        ),
                    ));
                }
            }
            if p.kind.has_backend() {
                for s in p.servers.iter().filter(|s| s.params.cookie.is_some()) {
                    diags.push(hx_warn(
                        Code::MiscWarning,
                        Some(s.name.span),
                        format!("`cookie` on server `{}` needs mode http: ignored", s.name.name),
                        format!("{ts} '{name}' : ignoring cookie for server '{}' as HTTP mode is disabled.", s.name.name),
                    ));
                }
            }
        }
    }
}

/// Server address initialisation (configuration.txt §5.2 `init-addr`).
fn resolve_servers(cfg: &Config, opts: &ResolveOptions, diags: &mut Vec<Diagnostic>) {
    if opts.resolver == Resolver::Off {
        return;
    }
    // With the system resolver, look every distinct name up at once, in parallel and
    // within one deadline (a configuration may name thousands of hosts).
    let system_ok: Option<std::collections::HashSet<String>> = (opts.resolver == Resolver::System)
        .then(|| {
            let mut names: Vec<String> = cfg
                .proxies
                .iter()
                .filter(|p| p.kind != ProxyKind::Defaults)
                .flat_map(|p| p.servers.iter())
                .filter_map(|s| match s.parsed.as_ref().map(|a| &a.host) {
                    Some(Host::Name(n)) => Some(n.clone()),
                    _ => None,
                })
                .collect();
            names.sort();
            names.dedup();
            crate::parse::resolve_system(&names, crate::parse::SYSTEM_RESOLVE_DEADLINE)
        });
    for p in cfg.proxies.iter().filter(|p| p.kind != ProxyKind::Defaults) {
        for s in &p.servers {
            let Some(Host::Name(host)) = s.parsed.as_ref().map(|a| &a.host) else {
                continue;
            };
            let init = s
                .params
                .init_addr
                .clone()
                .unwrap_or_else(|| vec!["last".into(), "libc".into()]);
            let libc = init.iter().any(|m| m == "libc");
            let resolved = match &system_ok {
                Some(ok) => ok.contains(host.as_str()),
                None => opts.resolver.resolves(host),
            };
            if libc && resolved {
                continue;
            }
            let allows_none = init.iter().any(|m| m == "none") || s.params.resolvers.is_some();
            // `none` before any `libc`: nothing was looked up, so nothing to warn
            // about (HAProxy sets the server in resolution maintenance silently).
            if !s.params.resolves_at_start() {
                continue;
            }
            let span = s.address.as_ref().map(|a| a.span).unwrap_or(s.span);
            let ctx = format!("'server {}/{}'", p.name.name, s.name.name);
            if allows_none || opts.ignore_resolution_failures {
                diags.push(
                    Diagnostic::warning(
                        Code::UnresolvableAddress,
                        format!(
                            "server host `{host}` does not resolve; the server starts disabled"
                        ),
                    )
                    .at(span)
                    .hx(
                        HaproxyLoc::Bracket,
                        format!("{ctx} : could not resolve address '{host}', disabling server."),
                    ),
                );
            } else {
                diags.push(
                    Diagnostic::error(Code::UnresolvableAddress, format!("server host `{host}` does not resolve"))
                        .at(span)
                        .label("unresolvable")
                        .help("fix the name, add `init-addr last,libc,none` to start the server disabled, or check with -dr to make this a warning")
                        .hx(HaproxyLoc::Bracket, format!("{ctx} : could not resolve address '{host}'.")),
                );
            }
        }
    }
}

/// SPOE filters' references and timeouts (§9.3; [`crate::spoe::check_references`]).
fn check_spoe(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    for f in crate::spoe::check_references(cfg) {
        let span = cfg.proxies[f.proxy].span;
        let first = f.text.lines().next().unwrap_or("").to_string();
        let d = if f.error {
            Diagnostic::error(Code::UnknownBackend, first)
        } else {
            Diagnostic::warning(Code::MiscWarning, first)
        };
        diags.push(d.at(span).hx(HaproxyLoc::None, f.text));
    }
}
