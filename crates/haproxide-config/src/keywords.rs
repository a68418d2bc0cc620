//! Keyword tables: what each HAProxy version knows, section by section.
//!
//! The tables are data (`data/<version>/*.tsv|txt`), extracted from HAProxy's
//! `doc/configuration.txt` (tag v2.6.0 and master) and, for 2.6, from the keyword
//! registry of the real 2.6.12 binary (`haproxy -dKall`); `data/README.md` says how.
//! They are compiled in, parsed once, and shared.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The HAProxy whose keyword set a configuration is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableSet {
    /// HAProxy 2.6 (the keyword set of 2.6.0's documentation plus what Debian's 2.6.12 build registers).
    V2_6,
    /// HAProxy master's documentation (3.x); the default.
    Master,
}

/// Where a proxy keyword is allowed (configuration.txt §4.1 "Proxy keywords matrix").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProxyAllow {
    pub defaults: bool,
    /// Only in named `defaults` sections (`X (!)` in the matrix).
    pub named_defaults_only: bool,
    pub frontend: bool,
    pub listen: bool,
    pub backend: bool,
    pub deprecated: bool,
    /// Can be prefixed with `no` (the matrix's `(*)`).
    pub negatable: bool,
}

/// One HAProxy version's keyword tables.
#[derive(Debug, Default)]
pub struct Keywords {
    pub global: HashSet<String>,
    /// Proxy keywords, full (possibly multi-word) names such as `option httpchk`.
    pub proxy: HashMap<String, ProxyAllow>,
    pub server: HashSet<String>,
    pub bind: HashSet<String>,
    /// Section names that open a section (`global`, `defaults`, `peers`...).
    pub section_names: HashSet<String>,
    /// Keywords of the other sections: section → keywords.
    pub sections: HashMap<String, HashSet<String>>,
    pub fetches: HashSet<String>,
    pub converters: HashSet<String>,
    pub acl_keywords: HashSet<String>,
    /// Rule set (`http-request`, `tcp-request content`...) → actions.
    pub actions: HashMap<String, HashSet<String>>,
    /// Proxy keywords by their first word: (full keyword, number of words).
    pub proxy_by_first: HashMap<String, Vec<(String, usize)>>,
}

impl Keywords {
    /// The first words of multi-word proxy keywords (`option`, `timeout`, `stats`...).
    pub fn proxy_prefixes(&self) -> impl Iterator<Item = &str> {
        self.proxy
            .keys()
            .filter_map(|k| k.split_once(' ').map(|(a, _)| a))
    }

    /// Look a proxy keyword up by its longest matching prefix of `words`
    /// (`["option", "httpchk", "GET"]` → `option httpchk`).
    pub fn lookup_proxy(&self, words: &[&str]) -> Option<(&str, usize, &ProxyAllow)> {
        // Index by first word: no string is built on this hot path.
        let first = words.first()?;
        let candidates = self.proxy_by_first.get(*first)?;
        let mut best: Option<(&str, usize, &ProxyAllow)> = None;
        for (full, n) in candidates {
            if *n > words.len() {
                continue;
            }
            // `http-check set-var(check.x)`: the word carries its argument in
            // parentheses (configuration.txt §4.2 `http-check set-var`).
            let matches = full
                .split(' ')
                .zip(words.iter())
                .all(|(a, b)| a == *b || b.strip_prefix(a).is_some_and(|r| r.starts_with('(')));
            if matches && best.is_none_or(|(_, bn, _)| *n > bn) {
                if let Some((k, v)) = self.proxy.get_key_value(full.as_str()) {
                    best = Some((k.as_str(), *n, v));
                }
            }
        }
        best
    }

    pub fn has_action(&self, ruleset: &str, action: &str) -> bool {
        self.actions
            .get(ruleset)
            .is_some_and(|s| s.contains(action))
    }
}

macro_rules! table_files {
    ($dir:literal) => {
        [
            include_str!(concat!("../data/", $dir, "/global.tsv")),
            include_str!(concat!("../data/", $dir, "/proxy-keywords.tsv")),
            include_str!(concat!("../data/", $dir, "/server-options.tsv")),
            include_str!(concat!("../data/", $dir, "/bind-options.tsv")),
            include_str!(concat!("../data/", $dir, "/section-names.tsv")),
            include_str!(concat!("../data/", $dir, "/sections.tsv")),
            include_str!(concat!("../data/", $dir, "/fetches.txt")),
            include_str!(concat!("../data/", $dir, "/converters.txt")),
            include_str!(concat!("../data/", $dir, "/acl-keywords.txt")),
            include_str!(concat!("../data/", $dir, "/actions.tsv")),
        ]
    };
}

/// Data rows of a table: comment lines (`#`) and the header row are skipped.
fn rows(text: &str, has_header: bool) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(usize::from(has_header))
        .map(|l| l.split('\t').map(str::trim).collect())
}

fn first_column(text: &str, has_header: bool) -> HashSet<String> {
    rows(text, has_header)
        .filter_map(|r| r.first().map(|s| s.to_string()))
        .filter(|s| !s.is_empty())
        .collect()
}

fn build(files: [&str; 10]) -> Keywords {
    let [global, proxy, server, bind, section_names, sections, fetches, converters, acl, actions] =
        files;
    let mut k = Keywords {
        global: first_column(global, true),
        server: first_column(server, true),
        bind: first_column(bind, true),
        section_names: first_column(section_names, true),
        fetches: first_column(fetches, false),
        converters: first_column(converters, false),
        acl_keywords: first_column(acl, false),
        ..Keywords::default()
    };
    for r in rows(proxy, true) {
        let Some(name) = r.first() else { continue };
        let col = |i: usize| r.get(i).copied().unwrap_or("-");
        let notes = col(5);
        let allow = ProxyAllow {
            defaults: col(1).starts_with('X'),
            named_defaults_only: col(1).contains("(!)"),
            frontend: col(2).starts_with('X'),
            listen: col(3).starts_with('X'),
            backend: col(4).starts_with('X'),
            deprecated: notes.contains("deprecated"),
            negatable: notes.contains("(*)"),
        };
        k.proxy.insert(name.to_string(), allow);
        let first = name.split(' ').next().unwrap_or(name).to_string();
        k.proxy_by_first
            .entry(first)
            .or_default()
            .push((name.to_string(), name.split(' ').count()));
    }
    for r in rows(sections, true) {
        if let (Some(s), Some(kw)) = (r.first(), r.get(1)) {
            k.sections
                .entry(s.to_string())
                .or_default()
                .insert(kw.to_string());
        }
    }
    for r in rows(actions, true) {
        if let (Some(rs), Some(a)) = (r.first(), r.get(1)) {
            k.actions
                .entry(rs.to_string())
                .or_default()
                .insert(a.to_string());
        }
    }
    k
}

/// The tables for one version (parsed on first use).
pub fn keywords(set: TableSet) -> &'static Keywords {
    static V26: OnceLock<Keywords> = OnceLock::new();
    static MASTER: OnceLock<Keywords> = OnceLock::new();
    match set {
        TableSet::V2_6 => V26.get_or_init(|| build(table_files!("v2.6"))),
        TableSet::Master => MASTER.get_or_init(|| build(table_files!("master"))),
    }
}

/// Server and bind keywords that take no argument; every other one takes one
/// (`source` takes a variable number and is handled by its parser).
/// From the 2.6.12 registry (`haproxy -dKall`: `+1` marks one argument) and the
/// master documentation for newer keywords (configuration.txt §5.1, §5.2).
pub fn option_takes_no_arg(kw: &str) -> bool {
    const NO_ARG: &[&str] = &[
        "accept-proxy",
        "agent-check",
        "allow-0rtt",
        "backup",
        "check",
        "check-reuse-pool",
        "check-send-proxy",
        "check-sni-auto",
        "check-ssl",
        "check-via-socks4",
        "defer-accept",
        "disabled",
        "enabled",
        "generate-certificates",
        "non-stick",
        "prefer-client-ciphers",
        "quic-force-retry",
        "renegotiate",
        "send-proxy",
        "send-proxy-v2",
        "send-proxy-v2-ssl",
        "send-proxy-v2-ssl-cn",
        "sni-auto",
        "ssl",
        "ssl-reuse",
        "stick",
        "strict-maxconn",
        "strict-sni",
        "tfo",
        "tls-tickets",
        "transparent",
        "usesrc",
        "v4v6",
        "v6only",
        "no-alpn",
        "no-ca-names",
        "no-strict-sni",
        "ws-no-arg",
    ];
    NO_ARG.contains(&kw) || kw.starts_with("no-") || kw.starts_with("force-")
}

/// Keywords of optional HAProxy build features, with the feature name.
/// The reference build (Debian's 2.6.12) lacks these features.
pub fn build_feature_of(kw: &str) -> Option<&'static str> {
    if kw.starts_with("wurfl-") {
        Some("WURFL")
    } else if kw.starts_with("51degrees-") {
        Some("51DEGREES")
    } else if kw.starts_with("deviceatlas-") {
        Some("DEVICEATLAS")
    } else if kw == "ssl-engine" {
        Some("OpenSSL engines (USE_ENGINE)")
    } else if kw == "profiling.memory" {
        Some("memory profiling (USE_MEMORY_PROFILING)")
    } else if kw.starts_with("tune.zlib.") {
        // Debian's build compresses with libslz.
        Some("zlib (USE_ZLIB)")
    } else if kw.starts_with("tune.quic.") {
        Some("QUIC (USE_QUIC)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load_for_both_versions() {
        for set in [TableSet::V2_6, TableSet::Master] {
            let k = keywords(set);
            assert!(k.global.contains("maxconn"), "{set:?}");
            assert!(k.global.contains("nbthread"));
            assert!(k.server.contains("check"));
            assert!(k.server.contains("inter"));
            assert!(k.bind.contains("accept-proxy"));
            assert!(k.fetches.contains("src"));
            assert!(k.fetches.contains("req.ssl_sni"));
            assert!(k.converters.contains("lower"));
            assert!(k.section_names.contains("peers"));
            let (name, n, allow) = k
                .lookup_proxy(&["option", "httpchk", "GET"])
                .expect("httpchk");
            assert_eq!((name, n), ("option httpchk", 2));
            assert!(allow.backend && allow.listen && allow.defaults && !allow.frontend);
            let (_, _, b) = k.lookup_proxy(&["bind", ":80"]).expect("bind");
            assert!(b.frontend && !b.backend);
            assert!(k.has_action("http-request", "set-header"));
            assert!(k.has_action("tcp-request content", "accept"));
        }
    }

    #[test]
    fn versions_differ() {
        let old = keywords(TableSet::V2_6);
        let new = keywords(TableSet::Master);
        assert!(!old.server.contains("init-state") && new.server.contains("init-state"));
        assert!(
            !old.section_names.contains("crt-store") && new.section_names.contains("crt-store")
        );
        assert!(!old.fetches.contains("fc_nb_streams"));
    }
}
