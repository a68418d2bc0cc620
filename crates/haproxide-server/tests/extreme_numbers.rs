//! Every keyword HAProxy 2.6 documents (../shared/haproxy-keywords/v2.6.0: global,
//! proxy, server and bind options), and the usual multi-argument forms, given
//! numbers at the edges of every integer type a parser might use (and a few that
//! are no numbers), then checked and translated into the engine's specs, as a
//! start, a reload and the runtime API's `add server` do. Refusing is fine; a panic
//! is not (docs/security.md, "Panics": a bad configuration never takes a running
//! proxy down). Debug builds check integer overflow, so a wrap is caught too.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use haproxide_config::{check_bytes, CheckOptions, Resolver, Target};

const VALUES: [&str; 22] = [
    "-9223372036854775809",
    "-9223372036854775808",
    "-2147483649",
    "-1",
    "0",
    "1",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "99999999999999999999999",
    "2147483647d",
    "9223372036854775807us",
    "4294967296m",
    "100%",
    "-100%",
];

/// Forms whose numbers come after a sub-keyword; `V` is the value tried.
const FORMS: &[&str] = &[
    "stick-table type ip size V expire V store gpc0,http_req_rate(V),conn_cnt",
    "stick-table type string len V size 10",
    "stick-table type binary len V size 10",
    "balance uri depth V len V",
    "balance url_param x check_post V",
    "balance hdr(host) use-domain-only",
    "hash-balance-factor V",
    "http-check expect status V",
    "http-check send meth GET uri / ver HTTP/1.1 hdr x V",
    "tcp-check expect string x min-recv V",
    "tcp-check connect port V",
    "http-request deny deny_status V",
    "http-request set-status V",
    "http-request return status V",
    "http-request redirect code V location /",
    "http-request set-var(txn.x) int(V),add(V),mul(V),div(V),mod(V),http_date(V),field(V,\\,,V),bytes(V,V)",
    "http-request set-header x %[req.hdr(host,V)]",
    "http-request track-sc0 src",
    "http-request sc-inc-gpc(V,0)",
    "http-request set-priority-offset int(V)",
    "http-request set-priority-class int(V)",
    "http-request wait-for-body time V at-least V",
    "http-response set-status V reason x",
    "tcp-request inspect-delay V",
    "tcp-request content accept if { req.len gt V }",
    "tcp-request content reject if { req.payload(V,V) -m found }",
    "acl a hdr_cnt(host) gt V",
    "acl a src_conn_rate gt V",
    "capture request header x len V",
    "capture response header x len V",
    "declare capture request len V",
    "stats refresh V",
    "errorfile V /dev/null",
    "log 127.0.0.1:514 len V format rfc5424 local0",
    "default-server weight V inter V fall V rise V maxconn V maxqueue V slowstart V",
    "server-template s V 127.0.0.1:80",
    "server-template s 1-V 127.0.0.1:80",
    "rate-limit sessions V",
    "fullconn V",
    "retries V",
    "backlog V",
    "maxconn V",
    "compression offload",
    "unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid",
    "http-reuse safe",
    "option httpchk",
    "timeout check V",
];

/// Server and bind option forms with more than one argument.
const SERVER_FORMS: &[&str] = &[
    "weight V",
    "inter V fastinter V downinter V",
    "agent-check agent-port V agent-inter V",
    "check port V",
    "pool-max-conn V pool-purge-delay V pool-low-conn V",
    "track b/s",
    "id V",
    "slowstart V",
    "maxconn V minconn V",
    "source 0.0.0.0:V",
    "127.0.0.1:V",
];
const BIND_FORMS: &[&str] = &[
    "maxconn V",
    "backlog V",
    "tcp-ut V",
    "mss V",
    "id V",
    "nice V",
    "process V",
    "thread V",
    "alpn h2 proto h2",
];

fn keywords(file: &str) -> Vec<String> {
    // ../shared next to the checkout (or to a worktree's parent directory).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/haproxy-keywords/v2.6.0"))
        .find(|d| d.is_dir())
        .unwrap_or_default();
    let text = std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{file} of ../shared/haproxy-keywords (needed in CI): {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("keyword\t"))
        .filter_map(|l| l.split('\t').next())
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// What each configuration text does: checked and, when clean, translated.
fn run(text: &str) -> Result<bool, ()> {
    catch_unwind(AssertUnwindSafe(|| {
        let checked = check(text);
        let clean = !checked.has_errors();
        if clean {
            let _ = haproxide_server::translate::translate(&checked.config);
        }
        clean
    }))
    .map_err(|_| ())
}

fn config(global: &str, proxy: &str, server: &str, bind: &str) -> String {
    format!(
        "global\n {global}\ndefaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
         listen l\n bind 127.0.0.1:8443 {bind}\n {proxy}\n server s 127.0.0.1:80 check {server}\n\
         backend b\n server s 127.0.0.1:80\n"
    )
}

fn check(text: &str) -> haproxide_config::Checked {
    let env = |_: &str| None;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: true,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &haproxide_config::NoAccounts,
    };
    check_bytes("t.cfg", text.as_bytes().to_vec(), &opts)
}

#[test]
fn extreme_numbers_in_any_keyword_never_panic() {
    let base = check(&config("", "", "", ""));
    assert!(!base.has_errors(), "{:?}", base.diagnostics);
    let files = [
        "global.tsv",
        "proxy-keywords.tsv",
        "server-options.tsv",
        "bind-options.tsv",
    ];
    let [global, proxy, server, bind] = files.map(keywords);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut cases: Vec<(String, String)> = Vec::new();
    let with = |form: &str, v: &str| {
        if form.contains('V') {
            form.replace('V', v)
        } else {
            format!("{form} {v}")
        }
    };
    for v in VALUES {
        for k in &global {
            cases.push((
                format!("global: {}", with(k, v)),
                config(&with(k, v), "", "", ""),
            ));
        }
        for k in proxy
            .iter()
            .map(String::as_str)
            .chain(FORMS.iter().copied())
        {
            cases.push((
                format!("proxy: {}", with(k, v)),
                config("", &with(k, v), "", ""),
            ));
        }
        for k in server
            .iter()
            .map(String::as_str)
            .chain(SERVER_FORMS.iter().copied())
        {
            cases.push((
                format!("server: {}", with(k, v)),
                config("", "", &with(k, v), ""),
            ));
        }
        for k in bind
            .iter()
            .map(String::as_str)
            .chain(BIND_FORMS.iter().copied())
        {
            cases.push((
                format!("bind: {}", with(k, v)),
                config("", "", "", &with(k, v)),
            ));
        }
    }
    let (mut failed, mut translated) = (Vec::new(), 0);
    for (what, c) in &cases {
        match run(c) {
            Ok(clean) => translated += usize::from(clean),
            Err(()) => failed.push(what.clone()),
        }
    }
    eprintln!(
        "{} configurations, {translated} taken and translated",
        cases.len()
    );
    std::panic::set_hook(hook);
    let shown = &failed[..failed.len().min(40)];
    assert!(
        failed.is_empty(),
        "{} of {} configurations panicked: {shown:#?}",
        failed.len(),
        cases.len()
    );
    assert!(cases.len() > 10_000, "{}", cases.len());
    // Not all refused at the first line: the values reach the translation.
    assert!(translated > 1_000, "{translated}");
}
