//! "did you mean 'X' maybe ?": the keyword HAProxy 2.6 proposes for an unknown
//! option or keyword, by its own measure (`haproxide_config::diag::
//! haproxy_best_match`), compared with the real `haproxy -c` (the oracle).

#[path = "support/check26.rs"]
mod check26;
use check26::check;

#[path = "support/oracle.rs"]
mod oracle;

use haproxide_config::diag::haproxy_best_match;

/// Misspellings of `w`: a letter dropped, two swapped, one added.
fn misspell(w: &str) -> Vec<String> {
    let b = w.as_bytes();
    let mut out = Vec::new();
    if b.len() > 3 {
        out.push(format!("{}{}", &w[..2], &w[3..]));
        let mut s = b.to_vec();
        s.swap(1, 2);
        out.push(String::from_utf8_lossy(&s).into_owned());
    }
    out.push(format!("{w}x"));
    out
}

/// HAProxy's alert for an unknown option or keyword as haproxide prints it.
fn ours(line: &str, section: &str) -> String {
    let text = match section {
        "global" => format!("global\n {line}\n"),
        _ => format!("defaults\n {line}\n"),
    };
    check(&text)
        .diagnostics
        .iter()
        .filter_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
        .find(|t| t.starts_with("unknown"))
        .unwrap_or_default()
}

#[test]
fn known_proposals() {
    assert_eq!(
        haproxy_best_match("http-use-htx", ["abortonclose", "httpclose", "httplog"]),
        Some("httpclose")
    );
    // Ties: the first one wins.
    assert_eq!(haproxy_best_match("ab", ["ba", "ab"]), Some("ab"));
    assert_eq!(
        haproxy_best_match("abcdef", ["abcdeg", "abcdeh"]),
        Some("abcdeg")
    );
    // Too far: nothing.
    assert_eq!(haproxy_best_match("a", ["zzzzzzzzzzzz"]), None);
    assert_eq!(haproxy_best_match("", ["x"]), None);
    // Long words wrap their counts (no overflow).
    let long = "ab".repeat(400);
    assert_eq!(
        haproxy_best_match(&long, [long.as_str()]),
        Some(long.as_str())
    );
}

/// Every option misspelled three ways: the same proposal as haproxy -c (its
/// options are compared in a known order, so the answer must be identical).
#[test]
fn option_proposals_are_haproxys() {
    if !std::path::Path::new("/usr/sbin/haproxy").exists() {
        eprintln!("skipped: no /usr/sbin/haproxy");
        return;
    }
    let h = oracle::Oracle::new("suggest-opt");
    let mut n = 0;
    for opt in haproxide_config::keywords::keywords(haproxide_config::TableSet::V2_6)
        .proxy
        .keys()
        .filter_map(|k| k.strip_prefix("option "))
    {
        for m in misspell(opt) {
            let line = format!("option {m}");
            let (_, stderr) = h.check(&format!("defaults\n {line}\n"));
            // `[ALERT] (pid) : config : parsing [h.cfg:2] : unknown option ...`
            let want = stderr
                .lines()
                .find_map(|l| {
                    l.split_once("] : unknown option")
                        .map(|(_, m)| format!("unknown option{m}"))
                })
                .unwrap_or_default();
            if want.is_empty() {
                continue; // a real option after all
            }
            assert_eq!(ours(&line, "defaults"), want, "{line}");
            n += 1;
        }
    }
    assert!(n > 100, "{n} misspellings compared");
}

/// Global keywords of features Debian's 2.6.12 build lacks (OpenSSL engines,
/// memory profiling, zlib, QUIC, WURFL) are unknown keywords there, with
/// HAProxy's proposal among the keywords the build has; a plain misspelling too.
#[test]
fn keywords_the_reference_build_lacks_are_unknown_as_in_haproxy() {
    let lines = [
        "ssl-engine rdrand",
        "profiling.memory on",
        "tune.zlib.memlevel 8",
        "tune.zlib.windowsize 10",
        "tune.quic.frontend.conn-tx-buffers.limit 10",
        "tune.quic.retry-threshold 10",
        "wurfl-data-file /x",
        "tune.bogus 1",
    ];
    for l in lines {
        let c = check(&format!("global\n {l}\n"));
        assert!(c.has_errors(), "{l}: taken");
    }
    assert_eq!(
        ours("tune.zlib.memlevel 8", "global"),
        "unknown keyword 'tune.zlib.memlevel' in 'global' section; did you mean 'tune.comp.maxlevel' maybe ?"
    );
    if !std::path::Path::new("/usr/sbin/haproxy").exists() {
        eprintln!("oracle skipped: no /usr/sbin/haproxy");
        return;
    }
    let h = oracle::Oracle::new("suggest-global");
    for l in lines {
        let (code, stderr) = h.check(&format!("global\n {l}\n"));
        assert_eq!(code, Some(1), "{l}");
        let want = stderr
            .lines()
            .find_map(|x| {
                x.split_once("] : unknown keyword")
                    .map(|(_, m)| format!("unknown keyword{m}"))
            })
            .unwrap_or_default();
        assert_eq!(ours(l, "global"), want, "{l}");
    }
}
