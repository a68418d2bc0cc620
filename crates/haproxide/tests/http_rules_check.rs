//! `http-request` / `http-response` / `redirect` rule typing against the oracle:
//! each line alone in a small `mode http` configuration, `haproxy -c` 2.6.12 and
//! `haproxide check --format haproxy` must print the same lines and exit alike
//! (a bad HTTP rule aborts HAProxy's parsing: one error per file).

use std::process::Command;

const HEAD: &str = "defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 1s\n\nuserlist L\n    user bob insecure-password secret\n\nfrontend f\n    bind 127.0.0.1:18480\n";
const TAIL: &str = "    default_backend b\nbackend b\n    server s 127.0.0.1:18481\n";

/// Lines HAProxy refuses (the message must match) or accepts (so must we).
const CASES: &[&str] = &[
    "http-request deny deny_status 418",
    "http-request set-query",
    "http-request set-path",
    "http-request set-header X",
    "http-request add-header",
    "http-request replace-header X",
    "http-request replace-uri ^/x",
    "http-request redirect",
    "http-request redirect location",
    "http-request redirect location /x code 300",
    "http-request redirect location /x bogus",
    "http-request return status 200 string x",
    "http-request return status abc",
    "http-request set-var(x) str(a)",
    "http-request set-log-level loud",
    "http-request deny status 404 hdr",
    "http-request set-header X %[nope]",
    "http-response set-status abc",
    "http-response set-status 200 reason",
    "http-request capture path",
    "http-request capture path foo 3",
    "redirect location /x code 399",
    "redirect elsewhere /x",
    "http-request deny deny_status 503 if { path /x }",
    "http-request set-var(txn.x) str(a) if { path /y }",
    "http-request redirect scheme https code 301 drop-query append-slash set-cookie A=1",
    "http-response set-header X-Y %[res.hdr(server)]",
    "http-request auth realm Secret if !{ http_auth(L) }",
    "http-request return status 200 content-type text/plain lf-string \"p=%[path]\" hdr x-a b",
    "http-request deny status 404 content-type text/plain string nope",
    "http-request tarpit deny_status 500",
    "http-request replace-value X-V ^b$ c",
    "http-request del-header X-Y -m beg",
    "http-request set-log-level silent if { path /health }",
    "http-request capture req.hdr(host) len 20",
    "http-response set-status 503 reason Busy",
    "redirect prefix /p drop-query if { path_beg /old }",
];
// Not compared (known differences): `return ... content-type x strin y` (HAProxy
// also warns that the content type is ignored) and `auth realm` without a value
// (HAProxy's message ends with a line holding only ".").

#[test]
fn http_rule_lines_report_as_haproxy_c_does() {
    let dir = haproxide_testkit::fs::TempDir::new("http-rules-check");
    let strip = |s: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(s)
            .lines()
            .filter(|l| !l.contains("NOTICE"))
            .map(|l| {
                // Drop the pid: "[ALERT]    (123) : ..." → "[ALERT]     : ...".
                match (l.find('('), l.find(')')) {
                    (Some(a), Some(b))
                        if a < b && l[a + 1..b].bytes().all(|c| c.is_ascii_digit()) =>
                    {
                        format!("{}{}", &l[..a], &l[b + 1..])
                    }
                    _ => l.to_string(),
                }
            })
            .collect()
    };
    let mut diffs = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let path = dir.path(&format!("c{i}.cfg"));
        std::fs::write(&path, format!("{HEAD}    {case}\n{TAIL}")).expect("write");
        let theirs = Command::new("haproxy")
            .args(["-c", "-f"])
            .arg(&path)
            .output()
            .expect("haproxy (the oracle) is installed by scripts/install-deps");
        let ours = Command::new(env!("CARGO_BIN_EXE_haproxide"))
            .args([
                "check",
                "--color",
                "never",
                "--resolve",
                "hosts",
                "--format",
                "haproxy",
                "-f",
            ])
            .arg(&path)
            .output()
            .expect("haproxide");
        let (w, g) = (strip(&theirs.stderr), strip(&ours.stderr));
        if w != g || theirs.status.code() != ours.status.code() {
            diffs.push(format!(
                "{case}\n  want {:?} {w:?}\n  got  {:?} {g:?}",
                theirs.status.code(),
                ours.status.code()
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} differ:\n{}",
        diffs.len(),
        CASES.len(),
        diffs.join("\n")
    );
}
