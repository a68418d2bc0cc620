//! Keywords whose one argument is a word from a fixed list, or a number in a
//! range, where HAProxy 2.6 refuses anything else with a fatal alert
//! (configuration.txt §3 for the global keywords, §5.1 `bind` options, §5.2
//! `server` options). Read by the parser only (`parse::choices`), before the
//! keyword is applied.

/// Where the keyword is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Global,
    Server,
    Bind,
}

/// One keyword and the words it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choices {
    pub place: Place,
    pub keyword: &'static str,
    pub values: &'static [&'static str],
    /// HAProxy's message (after its location and the server or bind line's
    /// context); `{arg}` stands for the refused word.
    pub haproxy: &'static str,
}

const fn c(
    place: Place,
    keyword: &'static str,
    values: &'static [&'static str],
    haproxy: &'static str,
) -> Choices {
    Choices {
        place,
        keyword,
        values,
        haproxy,
    }
}

const ON_OFF: &[&str] = &["on", "off"];

/// HAProxy 2.6's lists: cfgparse-global.c, cfgparse-ssl.c, http_client.c,
/// activity.c, server.c, task.c, fd.c (global); server.c, log.c (server);
/// cli.c (bind, on `stats socket` lines and proxies alike).
pub const CHOICES: &[Choices] = &[
    c(Place::Global, "ssl-server-verify", &["none", "required"],
        "'ssl-server-verify' expects 'none' or 'required' as argument."),
    c(Place::Global, "httpclient.ssl.verify", &["none", "required"],
        "'httpclient.ssl.verify' expects 'none' or 'required' as argument."),
    c(Place::Global, "httpclient.resolvers.prefer", &["ipv4", "ipv6"],
        "'httpclient.resolvers.prefer' expects 'ipv4' or 'ipv6' as argument."),
    c(Place::Global, "profiling.tasks", &["on", "auto", "off"],
        "'profiling.tasks' expects either 'on', 'auto', or 'off' but got '{arg}'."),
    c(Place::Global, "tune.idle-pool.shared", ON_OFF,
        "'tune.idle-pool.shared' expects either 'on' or 'off' but got '{arg}'."),
    c(Place::Global, "tune.sched.low-latency", ON_OFF,
        "'tune.sched.low-latency' expects either 'on' or 'off' but got '{arg}'."),
    c(Place::Global, "tune.fd.edge-triggered", ON_OFF,
        "'tune.fd.edge-triggered' expects either 'on' or 'off' but got '{arg}'."),
    c(Place::Global, "tune.ssl.keylog", ON_OFF,
        "'tune.ssl.keylog' expects either 'on' or 'off' but got '{arg}'."),
    c(Place::Global, "default-path", &["current", "config", "parent", "origin"],
        "unsupported default-path mode '{arg}' for 'default-path', supported modes include 'current', 'config', 'parent', and 'origin'."),
    c(Place::Server, "observe", &["none", "layer4", "layer7"],
        "'observe' expects one of 'none', 'layer4', 'layer7' but got '{arg}'."),
    c(Place::Server, "log-proto", &["legacy", "octet-count"],
        "'log-proto' expects one of 'legacy' or 'octet-count' but got '{arg}'."),
    c(Place::Server, "resolve-prefer", &["ipv4", "ipv6"],
        "'resolve-prefer' expects either ipv4 or ipv6 as argument.."),
    c(Place::Server, "ws", &["auto", "h1", "h2"],
        "'ws' has to be 'auto', 'h1' or 'h2'."),
    c(Place::Bind, "level", &["user", "operator", "admin"],
        "'level' only supports 'user', 'operator', and 'admin' (got '{arg}')"),
    c(Place::Bind, "severity-output", &["none", "number", "string"],
        "'severity-output' only supports 'none', 'number', and 'string' (got '{arg}')"),
];

/// The entry for `keyword` at `place`, if its argument is a word from a list.
pub fn lookup(place: Place, keyword: &str) -> Option<&'static Choices> {
    CHOICES
        .iter()
        .find(|e| e.place == place && e.keyword == keyword)
}

/// A global keyword whose number HAProxy reads with atoi() (an `int`: the low
/// 32 bits of what strtol() saturates to) and refuses outside `lo..=hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    pub keyword: &'static str,
    pub lo: i32,
    pub hi: i32,
    /// HAProxy's message after its location.
    pub haproxy: &'static str,
    /// HAProxy's message for a missing number (after `parsing [FILE:LINE]:`,
    /// without the space before the colon when the flag is set); None: an
    /// empty word is read as 0.
    pub missing: Option<(&'static str, bool)>,
}

const fn r(keyword: &'static str, lo: i32, hi: i32, haproxy: &'static str) -> IntRange {
    IntRange {
        keyword,
        lo,
        hi,
        haproxy,
        missing: Some((haproxy, false)),
    }
}

const fn missing(e: IntRange, text: Option<(&'static str, bool)>) -> IntRange {
    IntRange { missing: text, ..e }
}

/// A `tune.ssl.*`/`maxsslconn` number (cfgparse-ssl.c `ssl_parse_global_int`)
/// or `tune.pattern.cache-size` (cfgparse-global.c): refused when missing or
/// negative as an `int`.
const fn ssl_int(keyword: &'static str, haproxy: &'static str, missing: &'static str) -> IntRange {
    IntRange {
        keyword,
        lo: 0,
        hi: i32::MAX,
        haproxy,
        missing: Some((missing, false)),
    }
}

/// A `tune.h2.*` number (mux_h2.c): an empty word is atoi()'s 0.
const fn h2(keyword: &'static str, lo: i32, hi: i32, haproxy: &'static str) -> IntRange {
    IntRange {
        keyword,
        lo,
        hi,
        haproxy,
        missing: None,
    }
}

/// cfgparse-global.c, pool.c, server.c, cfgparse-ssl.c, mux_h2.c (HAProxy 2.6).
pub const GLOBAL_RANGES: &[IntRange] = &[
    ssl_int(
        "tune.pattern.cache-size",
        "'tune.pattern.cache-size' expects a positive numeric value",
        "'tune.pattern.cache-size' expects a positive numeric value",
    ),
    h2(
        "tune.h2.header-table-size",
        4096,
        65536,
        "'tune.h2.header-table-size' expects a numeric value between 4096 and 65536.",
    ),
    h2(
        "tune.h2.initial-window-size",
        0,
        i32::MAX,
        "'tune.h2.initial-window-size' expects a positive numeric value.",
    ),
    h2(
        "tune.h2.max-concurrent-streams",
        0,
        i32::MAX,
        "'tune.h2.max-concurrent-streams' expects a positive numeric value.",
    ),
    h2(
        "tune.h2.max-frame-size",
        16384,
        16_777_215,
        "'tune.h2.max-frame-size' expects a numeric value between 16384 and 16777215.",
    ),
    ssl_int(
        "tune.ssl.cachesize",
        "'tune.ssl.cachesize' expects a positive numeric value.",
        "'tune.ssl.cachesize' expects an integer argument.",
    ),
    ssl_int(
        "tune.ssl.maxrecord",
        "'tune.ssl.maxrecord' expects a positive numeric value.",
        "'tune.ssl.maxrecord' expects an integer argument.",
    ),
    ssl_int(
        "tune.ssl.hard-maxrecord",
        "'tune.ssl.hard-maxrecord' expects a positive numeric value.",
        "'tune.ssl.hard-maxrecord' expects an integer argument.",
    ),
    ssl_int(
        "tune.ssl.ssl-ctx-cache-size",
        "'tune.ssl.ssl-ctx-cache-size' expects a positive numeric value.",
        "'tune.ssl.ssl-ctx-cache-size' expects an integer argument.",
    ),
    ssl_int(
        "maxsslconn",
        "'maxsslconn' expects a positive numeric value.",
        "'maxsslconn' expects an integer argument.",
    ),
    ssl_int(
        "tune.ssl.capture-buffer-size",
        "'tune.ssl.capture-buffer-size' expects a positive numeric value.",
        "'tune.ssl.capture-buffer-size' expects an integer argument.",
    ),
    ssl_int(
        "tune.ssl.capture-cipherlist-size",
        "'tune.ssl.capture-cipherlist-size' expects a positive numeric value.",
        "'tune.ssl.capture-cipherlist-size' expects an integer argument.",
    ),
    r(
        "maxcompcpuusage",
        0,
        100,
        "'maxcompcpuusage' expects an integer argument between 0 and 100.",
    ),
    missing(
        r(
            "tune.fail-alloc",
            0,
            100,
            "'tune.fail-alloc' expects a numeric value between 0 and 100.",
        ),
        None,
    ),
    r(
        "tune.pool-high-fd-ratio",
        0,
        100,
        "'tune.pool-high-fd-ratio' expects an integer argument between 0 and 100.",
    ),
    r(
        "tune.pool-low-fd-ratio",
        0,
        100,
        "'tune.pool-low-fd-ratio' expects an integer argument between 0 and 100.",
    ),
    r(
        "tune.comp.maxlevel",
        1,
        9,
        "'tune.comp.maxlevel' expects a numeric value between 1 and 9",
    ),
    missing(
        r(
            "tune.http.maxhdr",
            1,
            32767,
            "'tune.http.maxhdr' expects a numeric value between 1 and 32767",
        ),
        Some(("'tune.http.maxhdr' expects an integer argument.", false)),
    ),
    missing(
        r(
            "spread-checks",
            0,
            50,
            "'spread-checks' needs a positive value in range 0..50.",
        ),
        Some(("'spread-checks' expects an integer argument (0..50).", true)),
    ),
];
