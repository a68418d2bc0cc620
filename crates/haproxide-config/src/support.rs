//! What haproxide does with each HAProxy keyword: the source of
//! `docs/config-support.md` (a test regenerates it and fails when the file is stale).
//!
//! Levels:
//! - **typed**: parsed into typed values with spans and checked (the model the engine
//!   will run from);
//! - **checked**: recognised and validated (name, section, arguments or referenced
//!   files) but kept in generic form;
//! - **known**: accepted where HAProxy accepts it, kept in generic form.
//!
//! Whether the engine *runs* a keyword is a separate column, filled from [`RUN`]
//! (today: the runtime API's keywords; the forwarding engine's are not listed yet).

use crate::keywords::{keywords, TableSet};
use crate::model::{Proxy, StatsSocket};
use crate::source::Span;

/// How far haproxide handles a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Known,
    Checked,
    Typed,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Known => "known",
            Level::Checked => "checked",
            Level::Typed => "typed",
        }
    }
}

const GLOBAL_TYPED: &[&str] = &[
    "maxconn",
    "nbthread",
    "daemon",
    "master-worker",
    "master-worker no-exit-on-failure",
    "quiet",
    "zero-warning",
    "external-check",
    "spread-checks",
    "pidfile",
    "chroot",
    "server-state-file",
    "server-state-base",
    "hard-stop-after",
    "tune.listener.multi-queue",
    "tune.bufsize",
    "tune.maxrewrite",
    "tune.h2.header-table-size",
    "tune.h2.initial-window-size",
    "tune.h2.max-concurrent-streams",
    "tune.h2.max-frame-size",
    "user",
    "group",
    "log",
    "stats socket",
    "stats timeout",
    "stats maxconn",
    "setenv",
    "presetenv",
    "unsetenv",
    "resetenv",
    "uid",
    "gid",
    "ulimit-n",
    "mworker-max-reloads",
    "strict-limits",
    "nosplice",
    "log-tag",
    "log-send-hostname",
    "description",
    "set-var",
    "set-var-fmt",
];
const GLOBAL_CHECKED: &[&str] = &["lua-load", "lua-load-per-thread", "issuers-chain-path"];
/// Typed in `Global::lua` (parse/lua.rs).
const GLOBAL_LUA_TYPED: &[&str] = &[
    "lua-prepend-path",
    "tune.lua.maxmem",
    "tune.lua.service-timeout",
    "tune.lua.session-timeout",
    "tune.lua.forced-yield",
];
const PROXY_TYPED: &[&str] = &[
    "mode",
    "external-check command",
    "external-check path",
    "bind",
    "server",
    "default-server",
    "server-template",
    "balance",
    "retries",
    "maxconn",
    "fullconn",
    "disabled",
    "enabled",
    "hash-type",
    "default_backend",
    "use_backend",
    "acl",
    "log",
    "timeout check",
    "timeout client",
    "timeout client-fin",
    "timeout connect",
    "timeout queue",
    "timeout server",
    "timeout server-fin",
    "timeout tunnel",
    "timeout http-keep-alive",
    "timeout http-request",
    "timeout tarpit",
    "timeout client-hs",
    "id",
    "log-tag",
    "log-format",
    "load-server-state-from-file",
    "server-state-file-name",
    "tcp-request inspect-delay",
    "backlog",
    "cookie",
    "ignore-persist",
    "force-persist",
    "http-error",
    "http-reuse",
];
const PROXY_CHECKED_PREFIXES: &[&str] = &[
    "option ",
    "http-check ",
    "tcp-check ",
    "tcp-request ",
    "tcp-response ",
    "http-request",
    "http-response",
    "http-after-response",
    "errorfile",
    "filter",
];
const SERVER_TYPED: &[&str] = &[
    "check",
    "no-check",
    "inter",
    "fastinter",
    "downinter",
    "rise",
    "fall",
    "weight",
    "backup",
    "no-backup",
    "disabled",
    "enabled",
    "maxconn",
    "maxqueue",
    "minconn",
    "port",
    "addr",
    "on-marked-down",
    "on-marked-up",
    "on-error",
    "init-addr",
    "init-state",
    "track",
    "send-proxy",
    "no-send-proxy",
    "send-proxy-v2",
    "no-send-proxy-v2",
    "check-send-proxy",
    "socks4",
    "check-via-socks4",
    "check-ssl",
    "no-check-ssl",
    "ssl",
    "no-ssl",
    "verify",
    "cookie",
    "ca-file",
    "crt",
    "agent-check",
    "no-agent-check",
    "agent-port",
    "agent-addr",
    "agent-inter",
    "agent-send",
    "resolvers",
    "slowstart",
    "source",
    "id",
    "pool-max-conn",
    "pool-purge-delay",
    "pool-low-conn",
    "max-reuse",
];
const BIND_TYPED: &[&str] = &[
    "name",
    "maxconn",
    "backlog",
    "v4v6",
    "v6only",
    "accept-proxy",
    "ssl",
    "crt",
    "crt-list",
    "ca-file",
    "verify",
    "alpn",
    "ciphers",
    "ciphersuites",
    "curves",
    "ssl-min-ver",
    "ssl-max-ver",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "strict-sni",
    "no-tls-tickets",
    "prefer-client-ciphers",
    "proto",
];
const BIND_CHECKED: &[&str] = &["crl-file", "id"];

/// Keywords `haproxide` runs, per table: the runtime API (issue 5). A keyword
/// listed here says "yes" in the doc's "run by the engine" column.
const RUN: &[(&str, &str)] = &[
    ("global", "stats socket"),
    ("global", "set-var"),
    ("global", "set-var-fmt"),
    ("global", "stats timeout"),
    ("global", "stats maxconn"),
    ("global", "server-state-file"),
    ("global", "server-state-base"),
    ("proxy", "load-server-state-from-file"),
    ("proxy", "server-state-file-name"),
    ("server", "init-state"),
    // Process management (haproxide-server's `process` and `mworker`).
    ("global", "daemon"),
    ("global", "pidfile"),
    ("global", "master-worker"),
    ("global", "master-worker no-exit-on-failure"),
    ("global", "mworker-max-reloads"),
    ("global", "hard-stop-after"),
    ("global", "user"),
    ("global", "group"),
    ("global", "uid"),
    ("global", "gid"),
    ("global", "chroot"),
    ("global", "ulimit-n"),
    ("global", "strict-limits"),
    ("global", "nbthread"),
    ("global", "maxconn"),
    // The TCP engine's global settings.
    ("global", "tune.listener.multi-queue"),
    ("global", "tune.bufsize"),
    ("global", "tune.maxrewrite"),
    ("global", "nosplice"),
    // HTTP/2 (haproxide-forward's http2 module).
    ("global", "tune.h2.header-table-size"),
    ("global", "tune.h2.initial-window-size"),
    ("global", "tune.h2.max-concurrent-streams"),
    ("global", "tune.h2.max-frame-size"),
    ("proxy", "backlog"),
    // Embedded Lua (haproxide-lua; docs/lua.md).
    ("global", "lua-load"),
    ("global", "lua-load-per-thread"),
    ("global", "lua-prepend-path"),
    ("global", "tune.lua.maxmem"),
    ("global", "tune.lua.service-timeout"),
    ("global", "tune.lua.session-timeout"),
    ("global", "tune.lua.forced-yield"),
    // HTTP logging (haproxide-log, the HTTP engine's captures).
    ("proxy", "capture request header"),
    ("proxy", "capture response header"),
    ("proxy", "declare capture"),
    ("proxy", "unique-id-format"),
    ("proxy", "unique-id-header"),
    // Persistence in HTTP mode (haproxide-http's persist, the engine's http/persist.rs).
    ("proxy", "cookie"),
    ("proxy", "ignore-persist"),
    ("proxy", "force-persist"),
    ("proxy", "http-error"),
    ("proxy", "errorfile"),
    ("proxy", "errorfiles"),
    ("proxy", "option persist"),
    ("proxy", "option prefer-last-server"),
    ("server", "cookie"),
    // Server-side connection reuse (forward's http/pool.rs; tests/http_reuse.rs).
    ("proxy", "http-reuse"),
    ("server", "pool-max-conn"),
    ("server", "pool-purge-delay"),
    ("server", "pool-low-conn"),
    // External checks (haproxide-check's probe::external; tests/external_check.rs).
    ("global", "external-check"),
    ("global", "insecure-fork-wanted"),
    ("proxy", "option external-check"),
    ("proxy", "external-check command"),
    ("proxy", "external-check path"),
];

/// A line whose keyword the engine does not run: what to call it, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRun {
    pub what: String,
    pub span: Span,
}

/// Proxy keywords that change traffic and that the TCP engine does not run: a
/// proxy using one is refused rather than run without it. (`http-request`,
/// `http-response` and `http-after-response` rules of a TCP proxy are ignored,
/// as HAProxy 2.6 does: "'http-request' rules ignored for backend 'b' as they
/// require HTTP mode.", a warning the config crate gives too.)
const TCP_REFUSED: &[&str] = &[
    "use-server",
    "dispatch",
    "filter",
    "compression",
    "redirect",
    "persist rdp-cookie",
];

/// The lines of a TCP proxy that the engine would have to refuse.
pub fn refused_in_tcp(p: &Proxy) -> Vec<NotRun> {
    p.directives
        .iter()
        // §9.1 `filter trace` changes no traffic; `filter compression` acts on
        // HTTP messages only (a no-op on a TCP stream, as in HAProxy).
        .filter(|d| !(d.keyword == "filter" && matches!(d.line.arg(1), "trace" | "compression")))
        .filter(|d| {
            TCP_REFUSED
                .iter()
                .any(|k| d.keyword == *k || d.keyword.starts_with(&format!("{k} ")))
        })
        .map(|d| NotRun {
            what: format!("`{}`", d.keyword),
            span: d.line.span_from(0),
        })
        .collect()
}

/// Proxy keywords of HTTP mode the engine does not run yet, with the feature
/// name docs/config-support.md lists them under: a `mode http` proxy using one is
/// refused (each line named), rather than run without it.
const HTTP_REFUSED: &[(&str, &str)] = &[
    ("errorloc", "errorloc"),
    ("errorloc302", "errorloc"),
    ("errorloc303", "errorloc"),
    ("capture cookie", "capture cookie"),
    ("use-server", "use-server"),
    ("persist", "persist rdp-cookie"),
    ("tcp-response", "tcp-response content"),
    ("dispatch", "dispatch"),
    ("rate-limit", "rate-limit sessions"),
];

/// Options of HTTP mode the engine does not run yet.
const HTTP_REFUSED_OPTIONS: &[&str] = &[
    "http-pretend-keepalive",
    "checkcache",
    "http_proxy",
    "h1-case-adjust-bogus-client",
    "h1-case-adjust-bogus-server",
];

/// The lines of a `mode http` proxy (not a stats-only one) that the HTTP engine
/// would have to refuse: each with the feature's name.
pub fn refused_in_http(p: &Proxy) -> Vec<NotRun> {
    let mut out: Vec<NotRun> = p
        .directives
        .iter()
        .filter_map(|d| {
            let k = d.keyword.as_str();
            let feature = HTTP_REFUSED
                .iter()
                .find(|(kw, _)| k == *kw || k.starts_with(&format!("{kw} ")))
                .map(|(_, f)| f.to_string())?;
            Some(NotRun {
                what: format!("`{k}` ({feature}) in `mode http`"),
                span: d.line.span_from(0),
            })
        })
        .collect();
    for o in p.options.iter().filter(|o| !o.negated) {
        if HTTP_REFUSED_OPTIONS.contains(&o.name.name.as_str()) {
            out.push(NotRun {
                what: format!("`option {}` in `mode http`", o.name.name),
                span: o.name.span,
            });
        }
    }
    out
}

/// Keywords a stats proxy may hold besides `stats ...`, `timeout ...` and
/// `http-request ...` (they change nothing the stats service does, or are
/// applied by it).
const STATS_PROXY_ALLOWED: &[&str] = &[
    "mode",
    "bind",
    "maxconn",
    "log",
    "no log",
    "description",
    "id",
    "acl",
    "disabled",
    "enabled",
    "balance",
    "retries",
    "option httplog",
    "option dontlognull",
    "option http-keep-alive",
    "option httpclose",
    "option http-server-close",
    "option forwardfor",
    "option redispatch",
    // Answered by the stats service (§4.2 "monitor-uri").
    "monitor-uri",
    // Health checks of servers: a stats proxy has none (servers are refused).
    "option httpchk",
];

/// The lines of a `mode http` stats/exporter proxy that the stats service does
/// not run (its `stats` lines are typed: [`crate::model::StatsKw`]).
pub fn refused_in_stats_proxy(p: &Proxy) -> Vec<NotRun> {
    p.directives
        .iter()
        .filter(|d| {
            let k = d.keyword.as_str();
            !(k.starts_with("timeout ")
                || k == "http-request"
                || k.starts_with("http-request ")
                || k.starts_with("stats ")
                || STATS_PROXY_ALLOWED.contains(&k))
        })
        .map(|d| NotRun {
            what: format!(
                "`{}` in the `mode http` proxy `{}` (haproxide serves only the stats page and the Prometheus exporter in HTTP mode)",
                d.keyword, p.name.name
            ),
            span: d.line.span_from(0),
        })
        .collect()
}

/// `stats socket` options the CLI listener does not refuse: typed ones
/// (`expose-fd listeners`: `_getsocks` for `-x`; `maxconn`), and the others,
/// which change nothing it does.
pub(crate) const STATS_SOCKET_IGNORED: &[&str] = &[
    "expose-fd",
    "process",
    "thread",
    "name",
    "backlog",
    "maxconn",
    "severity-output",
    "nice",
    "id",
    "tfo",
    "v4v6",
    "v6only",
];

/// The options of a `stats socket` line the CLI listener does not run (it is
/// refused rather than opened without them); typed ones are applied. The parser
/// found them (`StatsSocket::not_run`).
pub fn stats_socket_not_run(s: &StatsSocket) -> Vec<NotRun> {
    s.not_run
        .iter()
        .map(|n| NotRun {
            what: n.value.clone(),
            span: n.span,
        })
        .collect()
}

/// Whether the engine runs this keyword of this table.
pub fn runs(table: &str, kw: &str) -> bool {
    RUN.iter().any(|(t, k)| *t == table && *k == kw)
}

/// The level of a keyword of a given table ("global", "proxy", "server", "bind").
pub fn level(table: &str, kw: &str) -> Level {
    let typed = match table {
        "global" => GLOBAL_TYPED.contains(&kw) || GLOBAL_LUA_TYPED.contains(&kw),
        "proxy" => PROXY_TYPED.contains(&kw),
        "server" => SERVER_TYPED.contains(&kw),
        "bind" => BIND_TYPED.contains(&kw),
        _ => false,
    };
    if typed {
        return Level::Typed;
    }
    let checked = match table {
        "global" => GLOBAL_CHECKED.contains(&kw),
        "proxy" => PROXY_CHECKED_PREFIXES.iter().any(|p| kw.starts_with(p)),
        "bind" => BIND_CHECKED.contains(&kw),
        _ => false,
    };
    if checked {
        Level::Checked
    } else {
        Level::Known
    }
}

/// The doc's "run by the engine" column: "yes" for [`runs`], "stats page" /
/// "refused" for the stats keywords, "not yet" elsewhere. The stats keywords are served by the stats page of `mode http`
/// proxies that only serve statistics (haproxide-server's `stats` module).
pub fn run_status(table: &str, kw: &str) -> &'static str {
    match (table, kw) {
        (
            "proxy",
            "stats enable" | "stats uri" | "stats realm" | "stats auth" | "stats admin"
            | "stats refresh" | "stats hide-version" | "stats show-legends" | "stats show-node"
            | "stats show-desc" | "stats scope" | "stats http-request",
        ) => "stats page",
        // Accepted; threads are not pinned (a warning names the line).
        ("global", "cpu-map") => "ignored (warning)",
        // Traffic and (with `check-via-socks4`) checks go through the proxy.
        ("server", "check-via-socks4" | "socks4") => "yes",
        // HTTP/2 to servers (docs/h2.md): `proto h2`, and `alpn` choosing h2.
        ("server", "proto") => "h2 (mode http)",
        // §9.2: run in `mode http` (haproxide_http::compress); other filters refused.
        ("proxy", "compression") => "yes (mode http)",
        // TCP_QUICKACK off on the listener (haproxide-server's translate/frontend.rs):
        // HTTP mode keeps quick ACKs until the engine turns them back on while a
        // request is incomplete, as HAProxy does.
        ("proxy", "option tcp-smart-accept") => "yes (mode tcp; default on `ssl` binds)",
        ("proxy", "filter") => "compression (mode http), trace (no trace lines), spoe (mode http: HTTP events and send-spoe-group)",
        _ if runs(table, kw) => "yes",
        _ => "not yet",
    }
}

/// Render the generated part of docs/config-support.md.
pub fn render_markdown() -> String {
    let master = keywords(TableSet::Master);
    let v26 = keywords(TableSet::V2_6);
    let mut out = String::new();
    let yes = |b: bool| if b { "yes" } else { "—" };
    let mut section = |title: &str, table: &str, rows: Vec<(String, bool, String)>| {
        let mut counts = [0usize; 3];
        for (kw, _, _) in &rows {
            counts[level(table, kw) as usize] += 1;
        }
        out.push_str(&format!(
            "\n### {title} ({} keywords: {} typed, {} checked, {} known)\n\n",
            rows.len(),
            counts[2],
            counts[1],
            counts[0]
        ));
        out.push_str(
            "| keyword | in 2.6 | where | haproxide | run by the engine |\n|---|---|---|---|---|\n",
        );
        for (kw, in26, where_) in rows {
            out.push_str(&format!(
                "| `{kw}` | {} | {where_} | {} | {} |\n",
                yes(in26),
                level(table, &kw).as_str(),
                run_status(table, &kw)
            ));
        }
    };
    let mut g: Vec<&String> = master.global.iter().collect();
    g.sort();
    section(
        "Global (§3)",
        "global",
        g.iter()
            .map(|k| (k.to_string(), v26.global.contains(*k), "global".to_string()))
            .collect(),
    );
    let mut p: Vec<(&String, &crate::keywords::ProxyAllow)> = master.proxy.iter().collect();
    p.sort_by(|a, b| a.0.cmp(b.0));
    section(
        "Proxies (§4.1 matrix)",
        "proxy",
        p.iter()
            .map(|(k, a)| {
                let mut w = Vec::new();
                if a.defaults {
                    w.push(if a.named_defaults_only {
                        "defaults (named)"
                    } else {
                        "defaults"
                    });
                }
                if a.frontend {
                    w.push("frontend");
                }
                if a.listen {
                    w.push("listen");
                }
                if a.backend {
                    w.push("backend");
                }
                (k.to_string(), v26.proxy.contains_key(*k), w.join(", "))
            })
            .collect(),
    );
    let mut s: Vec<&String> = master.server.iter().collect();
    s.sort();
    section(
        "Server and default-server options (§5.2)",
        "server",
        s.iter()
            .map(|k| {
                (
                    k.to_string(),
                    v26.server.contains(*k),
                    "server, default-server".to_string(),
                )
            })
            .collect(),
    );
    let mut b: Vec<&String> = master.bind.iter().collect();
    b.sort();
    section(
        "Bind options (§5.1)",
        "bind",
        b.iter()
            .map(|k| (k.to_string(), v26.bind.contains(*k), "bind".to_string()))
            .collect(),
    );
    let mut o: Vec<(&String, &std::collections::HashSet<String>)> =
        master.sections.iter().collect();
    o.sort_by(|a, b| a.0.cmp(b.0));
    out.push_str("\n### Other sections\n\n| section | in 2.6 | keywords | haproxide | run by the engine |\n|---|---|---|---|---|\n");
    let mut names: Vec<&String> = master.section_names.iter().collect();
    names.sort();
    for n in names {
        let mut kws: Vec<&String> = master
            .sections
            .get(n)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        kws.sort();
        let list = if kws.is_empty() {
            "(see its own chapter)".to_string()
        } else {
            kws.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| `{n}` | {} | {list} | known | not yet |\n",
            yes(v26.section_names.contains(n))
        ));
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn http_refusals_are_listed_in_the_docs() {
        let doc = include_str!("../../../docs/config-support.md");
        for (kw, feature) in super::HTTP_REFUSED {
            assert!(doc.contains(&format!("| {feature} |")), "feature {feature}");
            assert!(doc.contains(&format!("`{kw}")), "keyword {kw}");
        }
        for o in super::HTTP_REFUSED_OPTIONS {
            assert!(
                doc.contains(&format!("`{o}`")) || doc.contains(&format!("`option {o}`")),
                "option {o}"
            );
        }
    }

    use super::*;

    #[test]
    fn levels() {
        assert_eq!(level("proxy", "balance"), Level::Typed);
        assert_eq!(level("proxy", "option httpchk"), Level::Checked);
        assert_eq!(level("proxy", "compression"), Level::Known);
        assert_eq!(level("server", "inter"), Level::Typed);
        assert_eq!(level("global", "lua-load"), Level::Checked);
    }

    /// Compare the generated part of a doc (between markers) with `generated`;
    /// `BLESS=1` rewrites it.
    pub(crate) fn assert_doc_section(rel: &str, name: &str, generated: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel);
        let begin = format!("<!-- BEGIN GENERATED: {name} -->\n");
        let end = "<!-- END GENERATED -->";
        let doc = std::fs::read_to_string(&path).unwrap_or_default();
        let (Some(b), Some(e)) = (doc.find(&begin), doc.find(end)) else {
            panic!("{rel} lacks the markers of the generated section '{name}'");
        };
        if &doc[b + begin.len()..e] != generated {
            if std::env::var_os("BLESS").is_some() {
                let new = format!("{}{begin}{generated}{}", &doc[..b], &doc[e..]);
                std::fs::write(&path, new).expect("write doc");
                return;
            }
            panic!("{rel} is stale: run `BLESS=1 cargo test -p haproxide-config docs_`");
        }
    }

    /// docs/config-support.md must contain the current generated table.
    #[test]
    fn docs_config_support_is_current() {
        assert_doc_section(
            "docs/config-support.md",
            "keyword table (crates/haproxide-config/src/support.rs)",
            &render_markdown(),
        );
    }

    /// docs/diagnostics.md must list every diagnostic code.
    #[test]
    fn docs_diagnostic_codes_are_current() {
        let mut table = String::from("| code | name | meaning |\n|---|---|---|\n");
        for c in crate::diag::Code::ALL {
            table.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                c.as_str(),
                c.name(),
                c.summary()
            ));
        }
        assert_doc_section(
            "docs/diagnostics.md",
            "diagnostic codes (crates/haproxide-config/src/diag.rs)",
            &table,
        );
    }
}
