//! How many arguments a keyword takes, where HAProxy counts them.
//!
//! HAProxy 2.6 refuses a line with more arguments than its keyword takes
//! (`alertif_too_many_args()` and `too_many_args()` in its cfgparse-listen.c,
//! cfgparse-global.c and the keyword parsers of proxy.c, tcpcheck.c, extcheck.c,
//! cfgparse-ssl.c, mux_h1.c, mux_h2.c...): a fatal alert (one exception below),
//! `'<keyword>' cannot handle unexpected argument '<arg>'.`, where `<keyword>` is
//! the line's first `named` words. configuration.txt documents each keyword's
//! arguments (§3 for the global section, §4.2 for proxies); these tables say
//! which of them HAProxy enforces, and are read by the parser only
//! (`parse::arity`), before the keyword's own handler.

use std::collections::HashMap;
use std::sync::OnceLock;

/// One keyword whose argument count HAProxy checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxArgs {
    /// The keyword as the keyword tables name it (`option dontlognull`,
    /// `capture request header`).
    pub keyword: &'static str,
    /// How many of the line's first words HAProxy's message names (`option
    /// dontlognull`: 2; `capture request header`: 2, "'capture request'").
    pub named: usize,
    /// How many words may follow the named ones.
    pub max: usize,
    /// Whether the extra argument fails the check (HAProxy's alert with
    /// ERR_FATAL). `mworker-max-reloads` prints the alert but its parser hands
    /// the error code back where HAProxy expects a warning: the line is ignored
    /// and `haproxy -c` still exits 0.
    pub fatal: bool,
    /// How HAProxy words the refusal.
    pub wording: Wording,
}

/// HAProxy's two messages for an argument too many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// `'<keyword>' cannot handle unexpected argument '<arg>'.`
    Unexpected,
    /// `<keyword> expects only one argument, don't forget to escape spaces!`
    /// (the log and unique-id formats).
    EscapeSpaces,
}

const fn m(keyword: &'static str, named: usize, max: usize) -> MaxArgs {
    MaxArgs {
        keyword,
        named,
        max,
        fatal: true,
        wording: Wording::Unexpected,
    }
}

/// A format keyword: one argument, whose spaces must be escaped.
const fn format(keyword: &'static str) -> MaxArgs {
    MaxArgs {
        wording: Wording::EscapeSpaces,
        ..m(keyword, 1, 1)
    }
}

/// A keyword whose extra argument HAProxy 2.6 reports but does not fail on.
const fn ignored(keyword: &'static str, named: usize, max: usize) -> MaxArgs {
    MaxArgs {
        fatal: false,
        ..m(keyword, named, max)
    }
}

/// Proxy keywords (configuration.txt §4.2), HAProxy 2.6's cfgparse-listen.c,
/// proxy.c (`cfg_opts`, `cfg_opts2`: every generic option takes no argument),
/// tcpcheck.c (the health check options) and extcheck.c.
pub const PROXY: &[MaxArgs] = &[
    // The generic options (proxy.c `cfg_opts`, `cfg_opts2`): counted before
    // HAProxy looks at the proxy's capabilities.
    m("option abortonclose", 2, 0),
    m("option accept-invalid-http-request", 2, 0),
    m("option accept-invalid-http-response", 2, 0),
    m("option allbackups", 2, 0),
    m("option checkcache", 2, 0),
    m("option clitcpka", 2, 0),
    m("option contstats", 2, 0),
    m("option disable-h2-upgrade", 2, 0),
    m("option dontlog-normal", 2, 0),
    m("option dontlognull", 2, 0),
    m("option h1-case-adjust-bogus-client", 2, 0),
    m("option h1-case-adjust-bogus-server", 2, 0),
    m("option http-buffer-request", 2, 0),
    m("option http-ignore-probes", 2, 0),
    m("option http-no-delay", 2, 0),
    m("option http-pretend-keepalive", 2, 0),
    m("option http-use-proxy-header", 2, 0),
    m("option idle-close-on-response", 2, 0),
    m("option independent-streams", 2, 0),
    m("option log-health-checks", 2, 0),
    m("option log-separate-errors", 2, 0),
    m("option logasap", 2, 0),
    m("option nolinger", 2, 0),
    m("option persist", 2, 0),
    m("option prefer-last-server", 2, 0),
    m("option socket-stats", 2, 0),
    m("option splice-auto", 2, 0),
    m("option splice-request", 2, 0),
    m("option splice-response", 2, 0),
    m("option srvtcpka", 2, 0),
    m("option tcp-smart-accept", 2, 0),
    m("option tcp-smart-connect", 2, 0),
    m("option transparent", 2, 0),
    // The HTTP connection modes and the log formats (cfgparse-listen.c).
    m("option httpclose", 2, 0),
    m("option http-server-close", 2, 0),
    m("option http-keep-alive", 2, 0),
    m("option tcplog", 2, 0),
    m("option tcpka", 2, 0),
    // The health check options (tcpcheck.c, extcheck.c): `smtpchk [<hello>
    // <domain>]`, `pgsql-check [user <name>]`, `mysql-check [user <name>
    // [{post-41|pre-41}]]`, `httpchk [<method>] [<uri>] [<version>]`.
    m("option ssl-hello-chk", 2, 0),
    m("option redis-check", 2, 0),
    m("option ldap-check", 2, 0),
    m("option spop-check", 2, 0),
    m("option tcp-check", 2, 0),
    m("option external-check", 2, 0),
    m("option smtpchk", 2, 2),
    m("option pgsql-check", 2, 2),
    m("option mysql-check", 2, 3),
    m("option httpchk", 2, 3),
    // `option httplog [clf]`; `option http-restrict-req-hdr-names <policy>`
    // is counted from `option` (HAProxy's message names only that word).
    m("option httplog", 2, 1),
    m("option http-restrict-req-hdr-names", 1, 2),
    // The other keywords of cfgparse-listen.c: counted after the capability
    // warning (`maxconn` in a backend is warned about, then refused).
    m("mode", 1, 1),
    m("id", 1, 1),
    m("monitor-uri", 1, 1),
    m("retries", 1, 1),
    m("maxconn", 1, 1),
    m("backlog", 1, 1),
    m("fullconn", 1, 1),
    m("dispatch", 1, 1),
    m("server-state-file-name", 1, 1),
    m("default_backend", 1, 1),
    m("disabled", 1, 0),
    m("enabled", 1, 0),
    m("transparent", 1, 0),
    // `capture cookie <name> len <length>` takes one word more than it uses
    // (HAProxy counts 4 after `capture cookie`);
    // `capture request|response header <name> len <length>`.
    m("capture cookie", 2, 4),
    m("capture request header", 2, 4),
    m("capture response header", 2, 4),
    // tcpcheck.c, extcheck.c.
    m("http-check disable-on-404", 1, 1),
    m("http-check send-state", 1, 1),
    m("external-check command", 1, 2),
    m("external-check path", 1, 2),
    // The formats (cfgparse-listen.c): "expects only one argument".
    format("log-format"),
    format("log-format-sd"),
    format("error-log-format"),
    format("unique-id-format"),
];

/// Global keywords (configuration.txt §3), HAProxy 2.6's cfgparse-global.c and
/// the global keyword parsers registered by cfgparse-ssl.c, activity.c,
/// compression.c, connection.c, mux_h1.c, mux_h2.c, mworker.c, pool.c,
/// server.c, task.c, thread.c, http_client.c, fd.c, listener.c and hlua.c.
pub const GLOBAL: &[MaxArgs] = &[
    // No argument (a `no` before the keyword does not count).
    m("daemon", 1, 0),
    m("noepoll", 1, 0),
    m("nokqueue", 1, 0),
    m("noevports", 1, 0),
    m("nopoll", 1, 0),
    m("busy-polling", 1, 0),
    m("set-dumpable", 1, 0),
    m("h2-workaround-bogus-websocket-clients", 1, 0),
    m("insecure-fork-wanted", 1, 0),
    m("insecure-setuid-wanted", 1, 0),
    m("nosplice", 1, 0),
    m("nogetaddrinfo", 1, 0),
    m("noreuseport", 1, 0),
    m("quiet", 1, 0),
    m("zero-warning", 1, 0),
    m("external-check", 1, 0),
    m("strict-limits", 1, 0),
    // No argument, registered keywords.
    m("pp2-never-send-local", 1, 0),
    m("h1-accept-payload-with-any-method", 1, 0),
    m("no-memory-trimming", 1, 0),
    m("tune.ssl.force-private-cache", 1, 0),
    // One argument (cfgparse-global.c).
    m("master-worker", 1, 1),
    m("tune.runqueue-depth", 1, 1),
    m("tune.maxpollevents", 1, 1),
    m("tune.maxaccept", 1, 1),
    m("tune.recv_enough", 1, 1),
    m("tune.buffers.limit", 1, 1),
    m("tune.buffers.reserve", 1, 1),
    m("tune.bufsize", 1, 1),
    m("tune.maxrewrite", 1, 1),
    m("tune.idletimer", 1, 1),
    m("tune.rcvbuf.client", 1, 1),
    m("tune.rcvbuf.server", 1, 1),
    m("tune.sndbuf.client", 1, 1),
    m("tune.sndbuf.server", 1, 1),
    m("tune.pipesize", 1, 1),
    m("tune.http.cookielen", 1, 1),
    m("tune.http.logurilen", 1, 1),
    m("tune.http.maxhdr", 1, 1),
    m("tune.comp.maxlevel", 1, 1),
    m("cluster-secret", 1, 1),
    m("uid", 1, 1),
    m("gid", 1, 1),
    m("user", 1, 1),
    m("group", 1, 1),
    m("maxconn", 1, 1),
    m("ssl-server-verify", 1, 1),
    m("maxconnrate", 1, 1),
    m("maxsessrate", 1, 1),
    m("maxsslrate", 1, 1),
    m("maxcomprate", 1, 1),
    m("maxpipes", 1, 1),
    m("maxzlibmem", 1, 1),
    m("maxcompcpuusage", 1, 1),
    m("fd-hard-limit", 1, 1),
    m("ulimit-n", 1, 1),
    m("chroot", 1, 1),
    m("node", 1, 1),
    m("pidfile", 1, 1),
    m("log-tag", 1, 1),
    m("spread-checks", 1, 1),
    m("max-spread-checks", 1, 1),
    m("localpeer", 1, 1),
    // One argument, registered keywords.
    m("profiling.memory", 1, 1),
    m("profiling.tasks", 1, 1),
    m("issuers-chain-path", 1, 1),
    m("ssl-default-bind-ciphers", 1, 1),
    m("ssl-default-server-ciphers", 1, 1),
    m("ssl-default-bind-ciphersuites", 1, 1),
    m("ssl-default-server-ciphersuites", 1, 1),
    m("ssl-default-bind-curves", 1, 1),
    m("maxsslconn", 1, 1),
    m("tune.ssl.cachesize", 1, 1),
    m("tune.ssl.hard-maxrecord", 1, 1),
    m("tune.ssl.maxrecord", 1, 1),
    m("tune.ssl.ssl-ctx-cache-size", 1, 1),
    m("tune.ssl.keylog", 1, 1),
    m("tune.ssl.lifetime", 1, 1),
    m("ssl-dh-param-file", 1, 1),
    m("tune.ssl.default-dh-param", 1, 1),
    m("ca-base", 1, 1),
    m("crt-base", 1, 1),
    m("tune.zlib.memlevel", 1, 1),
    m("tune.zlib.windowsize", 1, 1),
    m("h1-case-adjust-file", 1, 1),
    m("tune.h2.header-table-size", 1, 1),
    m("tune.h2.initial-window-size", 1, 1),
    m("tune.h2.max-concurrent-streams", 1, 1),
    m("tune.h2.max-frame-size", 1, 1),
    ignored("mworker-max-reloads", 1, 1),
    m("tune.fail-alloc", 1, 1),
    m("tune.idle-pool.shared", 1, 1),
    m("tune.pool-high-fd-ratio", 1, 1),
    m("tune.pool-low-fd-ratio", 1, 1),
    m("tune.sched.low-latency", 1, 1),
    m("nbthread", 1, 1),
    m("thread-groups", 1, 1),
    m("httpclient.resolvers.id", 1, 1),
    m("httpclient.resolvers.prefer", 1, 1),
    m("httpclient.ssl.ca-file", 1, 1),
    m("httpclient.ssl.verify", 1, 1),
    m("tune.fd.edge-triggered", 1, 1),
    m("tune.listener.multi-queue", 1, 1),
    // `h1-case-adjust <from> <to>`, `lua-prepend-path <string> [<type>]`.
    m("h1-case-adjust", 1, 2),
    m("lua-prepend-path", 1, 2),
    // `setenv`/`presetenv <name> <value>`: HAProxy counts up to 3.
    m("setenv", 1, 3),
    m("presetenv", 1, 3),
];

/// A keyword HAProxy refuses with fewer arguments than it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinArgs {
    pub keyword: &'static str,
    /// How many words must follow the keyword.
    pub min: usize,
    /// HAProxy's message (after `parsing [FILE:LINE]:`, without the space
    /// before the colon when `tight`).
    pub haproxy: &'static str,
    pub tight: bool,
}

/// Global keywords with required arguments that no handler reads
/// (cfgparse-global.c, mux_h1.c).
pub const GLOBAL_MIN: &[MinArgs] = &[
    MinArgs {
        keyword: "setenv",
        min: 2,
        haproxy: "'setenv' expects a name and a value.",
        tight: true,
    },
    MinArgs {
        keyword: "presetenv",
        min: 2,
        haproxy: "'presetenv' expects a name and a value.",
        tight: true,
    },
    MinArgs {
        keyword: "unsetenv",
        min: 1,
        haproxy: "'unsetenv' expects at least one variable name.",
        tight: true,
    },
    MinArgs {
        keyword: "h1-case-adjust",
        min: 2,
        haproxy: "'h1-case-adjust' expects <from> and <to> as argument.",
        tight: false,
    },
];

/// The entry for a global keyword, if HAProxy counts its arguments.
pub fn global(keyword: &str) -> Option<&'static MaxArgs> {
    static INDEX: OnceLock<HashMap<&'static str, &'static MaxArgs>> = OnceLock::new();
    INDEX.get_or_init(|| index(GLOBAL)).get(keyword).copied()
}

/// The entry for a proxy keyword, if HAProxy counts its arguments.
pub fn proxy(keyword: &str) -> Option<&'static MaxArgs> {
    static INDEX: OnceLock<HashMap<&'static str, &'static MaxArgs>> = OnceLock::new();
    INDEX.get_or_init(|| index(PROXY)).get(keyword).copied()
}

fn index(table: &'static [MaxArgs]) -> HashMap<&'static str, &'static MaxArgs> {
    table.iter().map(|e| (e.keyword, e)).collect()
}
