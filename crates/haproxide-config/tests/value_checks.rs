//! Values HAProxy 2.6 checks one keyword each while it reads the line: times
//! (`grace`, `close-spread-time`, `tune.idletimer`, `max-spread-checks`,
//! `tune.ssl.lifetime`, `tune.lua.*`, `clitcpka-*`/`srvtcpka-*`, `tcp-ut`),
//! `tune.h2.*`/`tune.ssl.*` numbers, `balance`/`hash-type` arguments, bind
//! `mss`/`nice`/`shards`/`thread`/`ca-ignore-err`/`crt-ignore-err`, server
//! `proto`/`check-proto`/`init-addr`/`resolve-opts`/`proxy-v2-options`/
//! `error-limit`, `errorfile`/`errorloc*`, `compression`, `option forwardfor`/
//! `originalto`/`http-restrict-req-hdr-names`/`pgsql-check`/`mysql-check`,
//! `http-check expect status` codes, integer arguments of sample fetches and
//! converters and header occurrences (configuration.txt §3.1, §4.2, §5.1,
//! §5.2, §7.1, §7.3). For each keyword and each value
//! below, the verdict (exit code) and the first alert, location form
//! included, are the real `haproxy -c`'s (the oracle, installed by
//! scripts/install-deps).

#[path = "support/check26.rs"]
mod check26;
use check26::check;

#[path = "support/oracle.rs"]
mod oracle;
use oracle::Oracle;

use haproxide_config::HaproxyLoc;

/// The values of scripts/config-edge-numbers and a few of each keyword's own.
const NUMBERS: &[&str] = &[
    "-9223372036854775809",
    "-1",
    "0",
    "1",
    "65536",
    "2147483647",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "2147483647d",
    "100us",
    "1x",
    "10mx",
];

/// Where the keyword goes: `global`, a `listen` line, a `bind` or a `server` option.
#[derive(Clone, Copy)]
enum At {
    Global,
    Proxy,
    Bind,
    Server,
}

const KEYWORDS: &[(At, &str, &[&str])] = &[
    (At::Global, "grace", &[]),
    (At::Global, "close-spread-time", &["infinite"]),
    (
        At::Global,
        "tune.ssl.default-dh-param",
        &["1023", "1024", "x", ""],
    ),
    (At::Global, "tune.idletimer", &["65535", "65536", "65s", ""]),
    (At::Global, "nbthread", &["64", " +2", "2x", ""]),
    (At::Global, "tune.maxaccept", &[""]),
    (
        At::Global,
        "tune.vars.txn-max-size",
        &["1k", " +5", "0x10", ""],
    ),
    (At::Global, "tune.vars.sess-max-size", &[]),
    (At::Global, "tune.vars.reqres-max-size", &[]),
    (At::Global, "tune.vars.proc-max-size", &[]),
    (At::Global, "tune.vars.global-max-size", &[]),
    (At::Proxy, "max-keep-alive-queue", &["5x", "0x10", "08", ""]),
    (At::Proxy, "rate-limit sessions", &["10x", "0x10", ""]),
    (
        At::Proxy,
        "retry-on",
        &[
            "conn-failure 503",
            "none",
            "none 503",
            "503 none",
            "429",
            "all-retryable-errors",
            "",
        ],
    ),
    (
        At::Proxy,
        "use-server",
        &["s if TRUE", "s unless FALSE", "s x", "s", ""],
    ),
    (At::Global, "tune.pattern.cache-size", &[""]),
    (At::Global, "stats timeout", &["0us", "10s"]),
    (At::Global, "stats maxconn", &["10", "x"]),
    (At::Server, "inter", &["2s"]),
    (At::Server, "fastinter", &[]),
    (At::Server, "downinter", &[]),
    (At::Server, "agent-inter", &[]),
    (At::Server, "slowstart", &[]),
    (At::Server, "id", &["7", "x"]),
    (At::Server, "pool-max-conn", &["-2", "x"]),
    (At::Global, "max-spread-checks", &["5s", ""]),
    (At::Global, "tune.ssl.lifetime", &["300", "1500ms", ""]),
    (At::Global, "tune.lua.session-timeout", &["4s", ""]),
    (At::Global, "tune.lua.service-timeout", &[]),
    (At::Global, "tune.lua.task-timeout", &[]),
    (At::Global, "tune.lua.maxmem", &[" 12", "12x", "-", ""]),
    (At::Global, "tune.lua.forced-yield", &["+5", "x", ""]),
    (
        At::Proxy,
        "hash-balance-factor",
        &["100", "101", "4294967396", "4294967397", ""],
    ),
    (
        At::Proxy,
        "hash-type",
        &[
            "consistent",
            "map-based crc32 avalanche",
            "consistent md5",
            "avalanche",
            "map-based sdbm x",
        ],
    ),
    (
        At::Proxy,
        "balance uri depth",
        &["3 whole", "", "len 4294967297 path-only"],
    ),
    (At::Proxy, "balance uri len", &[]),
    (
        At::Proxy,
        "balance",
        &[
            "random(3)",
            "random()",
            "randomx",
            "random(0)",
            "random(2",
            "random(0x10)",
            "random(3)x",
            "hdr(host)x use_domain_only",
            "hdr() x",
            "hdr(host) x",
            "hash",
            "hash a b",
            "url_param",
            "url_param a b",
            "url_param a check_post",
            "rdp-cookie(a)b",
            "rdp-cookiex",
            "rdp-cookie()",
        ],
    ),
    (At::Proxy, "clitcpka-idle", &["1500ms"]),
    (At::Proxy, "clitcpka-intvl", &[]),
    (At::Proxy, "srvtcpka-idle", &[]),
    (At::Proxy, "srvtcpka-intvl", &["24856d"]),
    (At::Proxy, "clitcpka-cnt", &["0x10", "08", "x"]),
    (At::Proxy, "srvtcpka-cnt", &[]),
    (At::Bind, "tcp-ut", &[]),
    (At::Server, "tcp-ut", &[]),
    (At::Bind, "mss", &["-1460", "65535", "-65536"]),
    (At::Bind, "nice", &["-1024", "1024", "1025"]),
    (At::Bind, "shards", &["by-thread", "64"]),
    (
        At::Bind,
        "thread",
        &["1-64", "1/all", "2/1", "/1", "odd", "65"],
    ),
    (
        At::Bind,
        "ca-ignore-err",
        &["all", "1,94", "1,95", "3,x", "1,", " 5"],
    ),
    (At::Bind, "crt-ignore-err", &["63,2147483648"]),
    (At::Server, "resolvers", &["default", "x"]),
    (At::Proxy, "use-fcgi-app", &["x"]),
    (At::Proxy, "errorfiles", &["x", "x 503"]),
    (
        At::Proxy,
        "email-alert level",
        &["info", "emerg", "debug", "x", "INFO", ""],
    ),
    (
        At::Server,
        "resolve-net",
        &[
            "10.0.0.0/8",
            "10.0.0.0/255.0.0.0,::1/64",
            "10.0.0.0/33",
            "10.0.0.0/4294967304",
            "::/-4294967295",
            "::/129",
            "1.2.3",
            "1.2.3.4,,5.6.7.8",
            "1.2.3.4,",
            "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5",
            "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6",
            "10.0.0.0/",
            "",
        ],
    ),
    (
        At::Proxy,
        "dispatch",
        &[
            "127.0.0.1:80",
            "127.0.0.1",
            "127.0.0.1:+1",
            "127.0.0.1:80-90",
            "/tmp/x",
            ":80",
            "127.0.0.1:x",
            "[::1]:80",
        ],
    ),
    (
        At::Proxy,
        "bind-process",
        &["1", "all 5", "1 x", "odd", "2", "1-", "0-1", ""],
    ),
    (
        At::Global,
        "stats bind-process",
        &["1", "1 x", "all x", "2-3"],
    ),
    (At::Global, "thread-groups", &["1", "2", "1x", " 1", ""]),
    (
        At::Global,
        "unix-bind",
        &[
            "prefix /tmp mode 600 uid 0 gid 0",
            "prefix",
            "user root group root",
            "user nosuchuser",
            "group nosuchgroup",
            "mode",
            "",
        ],
    ),
    (
        At::Global,
        "thread-group",
        &["1", "1 1-64", "1 0", "1 2-65", "1 x", "1 3-", "2 1", ""],
    ),
    (At::Global, "httpclient.resolvers.id", &["default", "x"]),
    (At::Bind, "user", &["root", "nobody", "haproxy", ""]),
    (At::Bind, "group", &["root", "nogroup", ""]),
    (At::Proxy, "id", &["7"]),
    (
        At::Proxy,
        "errorfile",
        &["503 /dev/null", "302 /dev/null", "4294967799 /dev/null", ""],
    ),
    (At::Proxy, "errorloc", &["503 /x", "302 /x", ""]),
    (At::Proxy, "errorloc302", &["429 /x"]),
    (At::Proxy, "errorloc303", &["200 /x"]),
    (
        At::Proxy,
        "compression",
        &[
            "algo",
            "algo gzip deflate raw-deflate identity",
            "algo gzip br",
            "type",
            "type text/html",
            "offload",
            "",
        ],
    ),
    (
        At::Proxy,
        "option forwardfor",
        &[
            "",
            "if-none",
            "header",
            "header x-ff if-none",
            "except",
            "except 10.0.0.0/8",
        ],
    ),
    (
        At::Proxy,
        "option originalto",
        &["", "if-none", "header x-o"],
    ),
    (
        At::Proxy,
        "option http-restrict-req-hdr-names",
        &["", "preserve", "reject", "delete", "x"],
    ),
    (
        At::Proxy,
        "option pgsql-check",
        &["", "user", "user u", "usr u"],
    ),
    (
        At::Proxy,
        "option mysql-check",
        &["", "user", "user u", "user u pre-41", "user u 42", "usr"],
    ),
    (
        At::Proxy,
        "stick-table",
        &[
            "type ip size 1m expire 30s store gpc0,http_req_rate(10s)",
            "type string len 32 size 10 store gpc(3),gpc_rate(2,1m),conn_cur",
            "type binary len 0 size 10",
            "type ip size 0",
            "type ip size 4g",
            "type ip size 1mx",
            "type ip size 10 expire 1x",
            "type ip size 10 expire 2147483648",
            "type ip size 10 expire 100us",
            "type ip size 10 store gpc0(1)",
            "type ip size 10 store http_req_rate",
            "type ip size 10 store http_req_rate(1x)",
            "type ip size 10 store gpc(101)",
            "type ip size 10 store gpc(2",
            "type ip size 10 store gpt(1),gpt0",
            "type ip size 10 store x",
            "type ip size 10 nopurge peers",
            "type ip size 10 srvkey addr",
            "type ip size 10 srvkey id",
            "type ip len 4 size 10",
            "type ipv6 size 10 store gpc0,gpc0",
            "size 10",
            "type integer",
            "type",
            "",
        ],
    ),
    (At::Server, "proto", &["h1", "h2", "tcp", "H2"]),
    (At::Server, "check-proto", &["none", "http"]),
    (
        At::Server,
        "init-addr",
        &[
            "last,libc,none,1.2.3.4",
            "0.0.0.0,1.2.3.4",
            "1.2.3.4,5.6.7.8",
            ",",
            ",,",
            "[::1]",
            "[1.2.3.4]",
            "*,::",
            "1.2.3",
            "last,last,last,last,last,last,last,last,last,last",
            "last,last,last,last,last,last,last,last,last,last,libc",
        ],
    ),
    (
        At::Server,
        "resolve-opts",
        &["allow-dup-ip,ignore-weight", ",", "prevent-dup-ip,", "x"],
    ),
    (
        At::Server,
        "proxy-v2-options",
        &["ssl,cert-cn,unique-id", "ssl,", ",ssl", "crc32c,authority"],
    ),
    (At::Server, "error-limit", &["4294967297", "x"]),
    (
        At::Proxy,
        "http-check expect status",
        &[
            "200-399,500",
            "x",
            "5-1",
            "200-",
            "-5",
            "200,,300",
            "4294967297-2",
            "200,x",
            "",
        ],
    ),
    // Sample fetch arguments (`V` is the value): integers as `read_int64()`
    // reads them, header occurrences `val_hdr` checks.
    (
        At::Proxy,
        "tcp-request content reject if { req.payload(V,1) -m found }",
        &["-", "+", "+5", "-0", "--5", "5x", "-9223372036854775808"],
    ),
    (
        At::Proxy,
        "http-request set-header x %[req.hdr(host,V)]",
        &["-10", "-11", "-", "x"],
    ),
    (
        At::Proxy,
        "acl a res.hdr_val(x,V) -m found",
        &["-10", "-11"],
    ),
    (
        At::Proxy,
        "http-request set-var(txn.x) int(V),add(V)",
        &["-", "+", "", "x"],
    ),
    (At::Proxy, "acl a req.cook(x,V) -m found", &["-11"]),
    // One argument too many: HAProxy quotes the rest of the expression.
    (
        At::Proxy,
        "http-request set-header x %[req.payload(0,1,V)]%[src]",
        &[],
    ),
    (
        At::Proxy,
        "acl a src,ipmask(24,V,3),lower -m found",
        &["64"],
    ),
    // Masks: str2mask()'s strtol() and dotted masks of any bits.
    (
        At::Proxy,
        "acl a src,ipmask(V) -m found",
        &[
            "255.0.255.0",
            "-4294967295",
            "+5",
            "33",
            "1.2.3",
            "0x10",
            "32",
        ],
    ),
    (
        At::Proxy,
        "acl a src,ipmask(8,V) -m found",
        &["ffff::ff", "129", ":"],
    ),
    (At::Proxy, "http-request set-header x %[src,lower(V)]x", &[]),
    // An empty optional number ends the argument list.
    (
        At::Proxy,
        "http-request set-var(txn.x) str(a),field(V,\\,,V),bytes(V,V)",
        &[],
    ),
    (
        At::Proxy,
        "http-request set-var(txn.x) str(a),field(1,V),bytes(1,V)",
        &["", "x", "\\,"],
    ),
    (
        At::Proxy,
        "http-request set-var(txn.x) str(a),word(V,x,V)",
        &["", "x"],
    ),
];

/// Times read by other keywords with the same arithmetic: their verdicts
/// (not all their texts) are HAProxy's.
const TIMES: &[(At, &str)] = &[
    (At::Proxy, "timeout connect"),
    (At::Proxy, "timeout tunnel"),
    (At::Proxy, "tcp-request inspect-delay"),
    (At::Proxy, "stats refresh"),
    (At::Proxy, "cookie c maxidle"),
    (At::Server, "pool-purge-delay"),
    (At::Global, "hard-stop-after"),
];

fn config(at: At, line: &str) -> String {
    let (g, p, b, s) = match at {
        At::Global => (line, "", "", ""),
        At::Proxy => ("", line, "", ""),
        At::Bind => ("", "", line, ""),
        At::Server => ("", "", "", line),
    };
    format!(
        "global\n {g}\ndefaults\n mode http\n timeout client 1s\n timeout server 1s\n \
         timeout connect 1s\nlisten l\n bind 127.0.0.1:8443 {b}\n {p}\n \
         server s 127.0.0.1:80 check {s}\nbackend b\n server s 127.0.0.1:80\n"
    )
}

/// Our first alert as HAProxy prints it after `config : `, in `file`.
fn our_alert(text: &str, file: &str) -> Option<String> {
    let c = check(text);
    let d = c.diagnostics.iter().find(|d| d.is_error())?;
    let h = d.haproxy.as_ref()?;
    let line = d.span.map_or(0, |s| s.line);
    // The configuration crate names files by id between two \u{1}.
    let msg: String = h
        .text
        .split('\u{1}')
        .enumerate()
        .map(|(i, p)| if i % 2 == 1 { file } else { p })
        .collect();
    let msg = msg.trim_end_matches('\n');
    Some(match h.loc {
        HaproxyLoc::Parsing | HaproxyLoc::ParsingPost => {
            format!("parsing [{file}:{line}] : {msg}")
        }
        HaproxyLoc::ParsingTight => format!("parsing [{file}:{line}]: {msg}"),
        HaproxyLoc::ParsingCapital => format!("Parsing [{file}:{line}]: {msg}"),
        HaproxyLoc::Bracket | HaproxyLoc::BracketPost => format!("[{file}:{line}] : {msg}"),
        HaproxyLoc::None => msg.to_string(),
    })
}

/// Each `[/tmp/.../h.cfg:2]` as `[h.cfg:2]` (and `(at /tmp/.../h.cfg:2)`).
fn without_dir(m: &str) -> String {
    let mut m = m.to_string();
    while let Some(pos) = m.find("/h.cfg:") {
        let open = m[..pos].rfind(['[', ' ']).map_or(0, |o| o + 1);
        m = format!("{}{}", &m[..open], &m[pos + 1..]);
    }
    m
}

fn cases() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, kw, own) in KEYWORDS {
        for v in NUMBERS.iter().chain(own.iter()) {
            let line = match kw.contains('V') {
                true => kw.replace('V', v),
                false => format!("{kw} {v}"),
            };
            out.push((line.clone(), config(*at, &line)));
        }
    }
    out
}

#[test]
fn refusals_and_texts_are_haproxy_c_s() {
    let oracle = Oracle::new("value-checks");
    let (mut refused, cases) = (0, cases());
    let total = cases.len();
    for (line, text) in cases {
        let (status, stderr) = oracle.check(&text);
        let theirs = stderr
            .lines()
            .find(|l| l.starts_with("[ALERT]"))
            .and_then(|l| l.split_once("config : "))
            .map(|(_, m)| without_dir(m));
        let ours = our_alert(&text, "h.cfg");
        assert_eq!(ours, theirs, "{line}\n{stderr}");
        assert_eq!(status, Some(check(&text).exit_code(false)), "{line}");
        refused += usize::from(status == Some(1));
    }
    // The values above reach refusals and taken values alike.
    assert!(refused > 100 && refused < total, "{refused} of {total}");
}

#[test]
fn other_times_have_haproxy_c_s_verdicts() {
    let oracle = Oracle::new("value-times");
    for (at, kw) in TIMES {
        for v in NUMBERS.iter().chain(&["100ms", "18446744073709551617"]) {
            let text = config(*at, &format!("{kw} {v}"));
            let (status, stderr) = oracle.check(&text);
            let c = check(&text);
            assert_eq!(status, Some(c.exit_code(false)), "{kw} {v}\n{stderr}");
        }
    }
}

#[test]
fn taken_values_stay_taken() {
    for (at, line) in [
        (At::Global, "grace 10s"),
        (At::Global, "close-spread-time infinite"),
        (At::Proxy, "clitcpka-idle 2147483647"),
        (At::Proxy, "srvtcpka-cnt 0x10"),
        (At::Bind, "tcp-ut 18446744073709551616"),
        (At::Bind, "mss 2147483648"),
        (At::Bind, "thread 1/1-64"),
        (At::Bind, "crt-ignore-err all"),
        (At::Server, "tcp-ut 20s"),
        (At::Proxy, "timeout connect 18446744073709551617"),
    ] {
        let c = check(&config(at, line));
        assert_eq!(c.exit_code(false), 0, "{line}: {:?}", c.diagnostics);
    }
}

/// `check_bytes` against the latest keyword set (what `haproxide -c` uses).
fn check_latest(text: &str) -> haproxide_config::Checked {
    let no_env = |_: &str| None;
    let opts = haproxide_config::CheckOptions {
        target: haproxide_config::Target::LATEST,
        env: &no_env,
        ignore_resolution_failures: false,
        resolver: haproxide_config::Resolver::Off,
        check_files: false,
        accounts: &haproxide_config::NoAccounts,
    };
    haproxide_config::check_bytes("t.cfg", text.as_bytes().to_vec(), &opts)
}

#[test]
fn what_later_versions_add_is_refused_for_2_6_only() {
    for (at, line) in [
        (At::Server, "proto spop"),
        (At::Bind, "thread 2/1"),
        (At::Bind, "ca-ignore-err X509_V_ERR_CERT_HAS_EXPIRED"),
        (At::Bind, "shards 65"),
        (At::Global, "nbthread 65"),
        (At::Proxy, "errorfile 414 /dev/null"),
        (At::Proxy, "compression algo-req gzip"),
        (At::Proxy, "hash-type consistent none"),
        (At::Proxy, "retry-on 429"),
        (At::Proxy, "stick-table type ip size 10 store glitch_cnt"),
        (At::Proxy, "stick-table type ip size 10 recv-only"),
    ] {
        let text = config(at, line);
        assert_eq!(check(&text).exit_code(false), 1, "2.6: {line}");
        assert_eq!(check_latest(&text).exit_code(false), 0, "latest: {line}");
    }
}
