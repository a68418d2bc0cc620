//! How many arguments a keyword takes, where HAProxy counts them.
//!
//! HAProxy 2.6 refuses a line with more arguments than its keyword takes
//! (`alertif_too_many_args()` and `too_many_args()` in its cfgparse-listen.c,
//! cfgparse-global.c and the keyword parsers of proxy.c, tcpcheck.c, extcheck.c,
//! cfgparse-ssl.c, mux_h1.c, mux_h2.c...): always a fatal alert,
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
}

const fn m(keyword: &'static str, named: usize, max: usize) -> MaxArgs {
    MaxArgs {
        keyword,
        named,
        max,
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
];

/// The entry for a proxy keyword, if HAProxy counts its arguments.
pub fn proxy(keyword: &str) -> Option<&'static MaxArgs> {
    static INDEX: OnceLock<HashMap<&'static str, &'static MaxArgs>> = OnceLock::new();
    INDEX.get_or_init(|| index(PROXY)).get(keyword).copied()
}

fn index(table: &'static [MaxArgs]) -> HashMap<&'static str, &'static MaxArgs> {
    table.iter().map(|e| (e.keyword, e)).collect()
}
