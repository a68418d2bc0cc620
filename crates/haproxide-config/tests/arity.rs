//! Keywords with more arguments than they take (`haproxide_config::arity`'s
//! tables) and keywords whose argument is a word from a list
//! (`haproxide_config::choices`): refused with HAProxy 2.6's alert, the legal
//! forms still taken, and the same verdict and message as the real `haproxy -c`
//! (the oracle, installed by scripts/install-deps) for every entry of the tables.

#[path = "support/check26.rs"]
mod check26;
use check26::check;

#[path = "support/oracle.rs"]
mod oracle;
use oracle::Oracle;

use haproxide_config::arity::{MaxArgs, MinArgs, Wording, GLOBAL, GLOBAL_MIN, PROXY};
use haproxide_config::choices::{Choices, Place, CHOICES, GLOBAL_RANGES};
use haproxide_config::{Checked, Code};

/// A valid configuration with `line` in its `listen` section (`proxy`) or its
/// `global` section (experimental directives allowed: HAProxy refuses them
/// before it counts their arguments).
fn config(global: &str, proxy: &str) -> String {
    format!(
        "global\n expose-experimental-directives\n {global}\ndefaults\n mode http\n timeout client 1s\n timeout server 1s\n \
         timeout connect 1s\nlisten l\n bind 127.0.0.1:8443\n {proxy}\n server s 127.0.0.1:80\n"
    )
}

/// `e`'s keyword with `n` filler arguments after its named words.
fn line(e: &MaxArgs, n: usize) -> String {
    // The keyword's words past the named ones count as arguments
    // (`capture request header`: `header` is one of the 4).
    let mut words: Vec<String> = e.keyword.split(' ').map(str::to_string).collect();
    while words.len() < e.named + n {
        // The arguments HAProxy reads before it counts them.
        let legal = match e.keyword {
            "option httplog" => "clf",
            "dispatch" => "127.0.0.1:80",
            _ => "1",
        };
        words.push(legal.into());
    }
    words.join(" ")
}

/// HAProxy's refusal of `e` with the word `extra` too many.
fn expected(e: &MaxArgs) -> String {
    let named = e
        .keyword
        .split(' ')
        .take(e.named)
        .collect::<Vec<_>>()
        .join(" ");
    match e.wording {
        Wording::Unexpected => format!("'{named}' cannot handle unexpected argument 'extra'."),
        Wording::EscapeSpaces => {
            format!("{named} expects only one argument, don't forget to escape spaces!")
        }
    }
}

/// HAProxy's texts of the too-many-arguments errors of a check.
fn too_many(c: &Checked) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.code == Code::TooManyArguments)
        .map(|d| {
            let fatal = GLOBAL
                .iter()
                .all(|e| e.fatal || !d.message.contains(e.keyword));
            assert_eq!(d.is_error(), fatal, "{d:?}");
            d.haproxy
                .as_ref()
                .map(|h| h.text.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Every entry of both tables: (entry, its legal form, the form with one
/// argument too many), each in a whole configuration.
fn cases() -> impl Iterator<Item = (&'static MaxArgs, String, String)> {
    let global = GLOBAL.iter().map(|e| (e, true));
    global
        .chain(PROXY.iter().map(|e| (e, false)))
        .map(|(e, in_global)| {
            let (legal, extra) = (line(e, e.max), format!("{} extra", line(e, e.max)));
            if in_global {
                (e, config(&legal, ""), config(&extra, ""))
            } else {
                (e, config("", &legal), config("", &extra))
            }
        })
}

#[test]
fn keywords_with_an_extra_argument_are_refused_as_haproxy_does() {
    assert!(PROXY.len() >= 48 && GLOBAL.len() >= 100);
    // A keyword of a feature Debian's build lacks (profiling.memory,
    // tune.zlib.*) is an unknown keyword under 2.6 before its arguments count.
    let built = |e: &&MaxArgs| haproxide_config::keywords::build_feature_of(e.keyword).is_none();
    for (e, legal, extra) in cases().filter(|(e, _, _)| built(e)) {
        assert_eq!(too_many(&check(&extra)), vec![expected(e)], "{}", e.keyword);
        assert!(too_many(&check(&legal)).is_empty(), "{legal}");
    }
}

#[test]
fn every_entry_is_a_keyword_of_haproxy_2_6() {
    let k = haproxide_config::keywords::keywords(haproxide_config::TableSet::V2_6);
    for e in GLOBAL {
        assert!(k.global.contains(e.keyword), "{}", e.keyword);
    }
    for e in PROXY {
        assert!(k.proxy.contains_key(e.keyword), "{}", e.keyword);
    }
}

#[test]
fn option_httplog_takes_only_clf() {
    let c = check(&config("", "option httplog x"));
    assert!(too_many(&c).is_empty());
    let hx: Vec<_> = c
        .diagnostics
        .iter()
        .filter_map(|d| d.haproxy.clone())
        .collect();
    assert_eq!(hx.len(), 1, "{hx:?}");
    assert_eq!(hx[0].text, "keyword 'httplog' only supports option 'clf'.");
    assert_eq!(c.exit_code(false), 1);
    for legal in ["option httplog", "option httplog clf"] {
        assert_eq!(check(&config("", legal)).exit_code(false), 0, "{legal}");
    }
}

#[test]
fn global_keywords_count_after_no() {
    let c = check(&config("no busy-polling y", ""));
    assert_eq!(
        too_many(&c),
        vec!["'busy-polling' cannot handle unexpected argument 'y'."]
    );
    assert_eq!(c.exit_code(false), 1);
    assert!(too_many(&check(&config("no busy-polling", ""))).is_empty());
}

#[test]
fn negated_options_count_their_arguments_too() {
    let c = check(&config("", "no option dontlognull x"));
    assert_eq!(
        too_many(&c),
        vec!["'option dontlognull' cannot handle unexpected argument 'x'."]
    );
    assert!(too_many(&check(&config("", "no option dontlognull"))).is_empty());
}

#[test]
fn an_option_a_backend_ignores_is_still_refused_with_an_extra_argument() {
    // HAProxy counts the arguments before it warns that a backend has no use for
    // a frontend option.
    let text = config("", "option dontlognull").replace(
        "server s 127.0.0.1:80\n",
        "server s 127.0.0.1:80\nbackend b\n option dontlognull x\n",
    );
    let c = check(&text);
    assert_eq!(
        too_many(&c),
        vec!["'option dontlognull' cannot handle unexpected argument 'x'."]
    );
    assert_eq!(c.exit_code(false), 1);
}

/// Keywords of HAProxy 2.6's source that Debian's 2.6.12 build does not register
/// (built without USE_MEMORY_PROFILING and USE_ZLIB): the oracle cannot judge them.
const NOT_BUILT: &[&str] = &[
    "profiling.memory",
    "tune.zlib.memlevel",
    "tune.zlib.windowsize",
];

/// Each table entry's refused and legal forms through the real HAProxy 2.6:
/// the same exit code, and HAProxy's first alert is haproxide's message.
#[test]
fn the_tables_agree_with_haproxy_c() {
    let oracle = Oracle::new("arity");
    let (mut checked, mut not_built) = (0, 0);
    for (e, legal, extra) in cases() {
        for (text, refused) in [(extra, true), (legal, false)] {
            let (status, stderr) = oracle.check(&text);
            if stderr.contains(&format!("unknown keyword '{}'", e.keyword)) {
                assert!(NOT_BUILT.contains(&e.keyword), "{}:\n{stderr}", e.keyword);
                not_built += 1;
                continue;
            }
            let theirs = stderr
                .lines()
                .find(|l| {
                    l.contains("cannot handle unexpected argument")
                        || l.contains("expects only one argument")
                })
                .map(|l| l.rsplit(" : ").next().unwrap_or("").to_string());
            let ours = too_many(&check(&text));
            assert_eq!(theirs, ours.first().cloned(), "{}:\n{stderr}", e.keyword);
            if refused {
                let code = check(&text).exit_code(false);
                assert_eq!(status, Some(code), "{}", e.keyword);
                assert_eq!(code, if e.fatal { 1 } else { 0 }, "{}", e.keyword);
            }
            checked += 1;
        }
    }
    assert_eq!(not_built, 2 * NOT_BUILT.len());
    assert_eq!(checked + not_built, 2 * (PROXY.len() + GLOBAL.len()));
}

/// A valid configuration with `e`'s keyword and `arg` where it belongs
/// (experimental directives allowed: `tune.fd.edge-triggered` is one).
fn choice_config(e: &Choices, arg: &str) -> String {
    let (mut global, mut bind, mut server) = (String::new(), String::new(), String::new());
    let words = format!(" {} {arg}", e.keyword);
    match e.place {
        Place::Global => global = words,
        Place::Bind => bind = words,
        Place::Server => server = words,
    }
    format!(
        "global\n expose-experimental-directives\n{global}\ndefaults\n mode http\n \
         timeout client 1s\n timeout server 1s\n timeout connect 1s\nlisten l\n \
         bind 127.0.0.1:8443{bind}\n server s 127.0.0.1:80{server}\n"
    )
}

/// HAProxy's texts of haproxide's errors.
fn hx(c: &Checked) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .filter_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
        .collect()
}

fn refusal(e: &Choices, arg: &str) -> String {
    let text = e.haproxy.replace("{arg}", arg);
    match e.place {
        Place::Global => text,
        Place::Bind => format!("'bind 127.0.0.1:8443' in section 'listen' : {text}"),
        Place::Server => format!("'server l/s' : {text}"),
    }
}

#[test]
fn a_word_outside_the_list_is_refused_and_every_listed_word_taken() {
    assert!(CHOICES.len() >= 15);
    for e in CHOICES {
        let c = check(&choice_config(e, "bogus"));
        assert_eq!(hx(&c), vec![refusal(e, "bogus")], "{}", e.keyword);
        assert_eq!(c.exit_code(false), 1);
        for v in e.values {
            let c = check(&choice_config(e, v));
            assert!(!hx(&c).contains(&refusal(e, v)), "{} {v}", e.keyword);
        }
    }
}

/// Each entry through the real HAProxy 2.6: a word outside the list gets the
/// same first alert and exit code 1; no listed word gets that alert.
#[test]
fn the_choices_agree_with_haproxy_c() {
    let oracle = Oracle::new("choices");
    let haproxy = |text: &str| oracle.check(text);
    for e in CHOICES {
        let (code, stderr) = haproxy(&choice_config(e, "bogus"));
        assert_eq!(code, Some(1), "{}: {stderr}", e.keyword);
        let first = stderr
            .lines()
            .find(|l| l.starts_with("[ALERT]"))
            .unwrap_or("");
        assert!(
            first.ends_with(&refusal(e, "bogus")),
            "{}: {stderr}",
            e.keyword
        );
        for v in e.values {
            let (_, stderr) = haproxy(&choice_config(e, v));
            assert!(
                !stderr.contains(&refusal(e, v)),
                "{} {v}: {stderr}",
                e.keyword
            );
        }
    }
}

/// `e`'s keyword with `n` arguments, in the global section.
fn min_config(e: &MinArgs, n: usize) -> String {
    let args: Vec<&str> = std::iter::repeat_n("A", n).collect();
    config(&format!("{} {}", e.keyword, args.join(" ")), "")
}

#[test]
fn global_keywords_with_too_few_arguments_are_refused_as_haproxy_does() {
    for e in GLOBAL_MIN {
        for n in 0..e.min {
            let c = check(&min_config(e, n));
            let texts: Vec<String> = c
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .filter_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
                .collect();
            assert_eq!(texts, vec![e.haproxy.to_string()], "{} with {n}", e.keyword);
        }
        let c = check(&min_config(e, e.min));
        assert!(
            !c.diagnostics
                .iter()
                .any(|d| d.haproxy.as_ref().is_some_and(|h| h.text == e.haproxy)),
            "{}",
            e.keyword
        );
    }
}

#[test]
fn the_minimums_agree_with_haproxy_c() {
    let oracle = Oracle::new("min-args");
    for e in GLOBAL_MIN {
        for n in 0..=e.min {
            let (status, stderr) = oracle.check(&min_config(e, n));
            let refused = stderr.lines().find(|l| l.ends_with(e.haproxy));
            assert_eq!(
                refused.is_some(),
                n < e.min,
                "{} with {n}: {stderr}",
                e.keyword
            );
            if let Some(l) = refused {
                let tight = l.contains("]: ");
                assert_eq!(tight, e.tight, "{l}");
                assert_eq!(status, Some(1));
            }
        }
    }
}

/// The numbers the ranges are tried with: the edges, C's conversions, text.
const NUMBERS: &[&str] = &[
    "-9223372036854775809",
    "-1",
    "0",
    "1",
    "9",
    "50",
    "100",
    "101",
    "65536",
    "2147483648",
    "4294967296",
    "4294967297",
    "9223372036854775807",
    "18446744073709551616",
    "2147483647d",
    "5x",
    "",
];

#[test]
fn numbers_out_of_range_are_refused_as_haproxy_reads_them() {
    for e in GLOBAL_RANGES {
        for v in NUMBERS {
            let c = check(&config(&format!("{} {v}", e.keyword), ""));
            // atoi(): the low 32 bits of what strtol() saturates to.
            let n = haproxide_config::value::atol(v) as i32;
            let want = match (v.is_empty(), e.missing) {
                (true, Some((hx, _))) => Some(hx),
                _ if (e.lo..=e.hi).contains(&n) => None,
                _ => Some(e.haproxy),
            };
            let got = c
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .find_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()));
            assert_eq!(got.as_deref(), want, "{} {v}", e.keyword);
        }
    }
}

#[test]
fn the_ranges_agree_with_haproxy_c() {
    let oracle = Oracle::new("ranges");
    let mut internal = 0;
    for e in GLOBAL_RANGES {
        for v in NUMBERS {
            let text = config(&format!("{} {v}", e.keyword), "");
            let (status, stderr) = oracle.check(&text);
            if stderr.contains("Internal error: invalid default message") {
                // HAProxy cannot build its own error pages with so few headers.
                assert_eq!(e.keyword, "tune.http.maxhdr", "{stderr}");
                internal += 1;
                continue;
            }
            let theirs = stderr
                .lines()
                .find(|l| l.starts_with("[ALERT]"))
                .and_then(|l| l.split_once("]: ").or_else(|| l.split_once("] : ")))
                .map(|(_, m)| m.to_string());
            let c = check(&text);
            let ours = c
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .find_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()));
            assert_eq!(theirs, ours, "{} {v}: {stderr}", e.keyword);
            assert_eq!(status, Some(c.exit_code(false)), "{} {v}", e.keyword);
        }
    }
    assert!(internal <= 4, "{internal}");
}
