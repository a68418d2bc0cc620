//! haproxide-config: HAProxy's configuration language.
//!
//! Three layers, each feeding the next:
//! 1. **syntax** ([`lexer`], [`cond`], [`reader`]): files → lines → words with spans,
//!    conditional blocks (`.if`), directives; one line at a time, as HAProxy reads them;
//! 2. **model** ([`model`], [`parse`]): words → typed sections and keywords, validated
//!    against the keyword tables of the selected HAProxy version ([`keywords`]);
//! 3. **resolve** ([`resolve`]): defaults inheritance, `default-server`, references,
//!    names, addresses, and the whole-configuration checks.
//!
//! Nothing here starts a runtime or opens a socket; errors are collected as
//! [`Diagnostic`]s, never panics. [`check`] runs the whole pipeline.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod arity;
pub mod balance;
pub mod cache;
pub mod captures;
pub mod checks;
pub mod choices;
pub mod compression;
pub mod cond;
pub mod diag;
pub mod dynamic;
pub mod http_opts;
pub mod http_rules;
pub mod keywords;
pub mod lexer;
pub mod model;
pub(crate) mod mux_checks;
mod nameservers;
pub mod parse;
pub mod program;
pub mod reader;
pub mod resolve;
mod section_refs;
pub mod server_tls;
pub mod source;
pub mod spoe;
pub mod support;
pub mod value;

#[cfg(test)]
pub(crate) mod test_support;

use std::path::PathBuf;

pub use accounts::{Accounts, FixedAccounts, NoAccounts};
pub use diag::{Code, Diagnostic, HaproxyLoc, HaproxyText, Severity};
pub use keywords::TableSet;
pub use model::Config;
pub use parse::Resolver;
pub use resolve::Resolved;
pub use source::{FileId, SourceFile, SourceMap, Span};

/// The HAProxy a configuration is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub table: TableSet,
    /// The version `.if version_atleast()` compares with.
    pub version: (u32, u32, u32),
}

impl Target {
    /// The default: HAProxy master's documented keywords (3.x).
    pub const LATEST: Target = Target {
        table: TableSet::Master,
        version: (3, 5, 0),
    };
    /// Debian 12's HAProxy 2.6.12.
    pub const V2_6: Target = Target {
        table: TableSet::V2_6,
        version: (2, 6, 12),
    };

    /// Parse `X.Y` (2.6 and later). Versions after 2.6 use master's tables.
    pub fn parse(s: &str) -> Option<Target> {
        let mut it = s.split('.');
        let major: u32 = it.next()?.parse().ok()?;
        let minor: u32 = it.next().unwrap_or("0").parse().ok()?;
        let patch: u32 = it.next().unwrap_or("0").parse().ok()?;
        match (major, minor) {
            (2, 6) => Some(Target {
                version: (2, 6, if patch == 0 { 12 } else { patch }),
                ..Target::V2_6
            }),
            (2, 7..) | (3, _) => Some(Target {
                table: TableSet::Master,
                version: (major, minor, patch),
            }),
            _ => None,
        }
    }
}

/// Options for [`check`].
pub struct CheckOptions<'a> {
    pub target: Target,
    pub env: &'a dyn lexer::Env,
    /// `-dr`.
    pub ignore_resolution_failures: bool,
    pub resolver: parse::Resolver,
    pub check_files: bool,
    /// How `user`/`group` names become ids (the binary: NSS).
    pub accounts: &'a dyn Accounts,
}

/// The outcome of checking a configuration.
#[derive(Debug)]
pub struct Checked {
    pub sources: SourceMap,
    /// The resolved configuration (resolution runs only after a clean parse).
    pub config: Resolved,
    /// In the order HAProxy would report them.
    pub diagnostics: Vec<Diagnostic>,
    /// Parsing was aborted (`.alert`, a bad `.if`...).
    pub aborted: bool,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// HAProxy's exit code for `-c`: 1 on error, 2 when valid but nothing listens, else 0.
    pub fn exit_code(&self, deny_warnings: bool) -> i32 {
        if self.has_errors()
            || (deny_warnings
                && self
                    .diagnostics
                    .iter()
                    .any(|d| d.severity == Severity::Warning))
        {
            1
        } else if !self.config.has_listener() {
            2
        } else {
            0
        }
    }
}

fn cond_context(t: Target) -> cond::CondContext {
    cond::CondContext {
        version: t.version,
        features: "-51DEGREES +ACCEPT4 +BACKTRACE -CLOSEFROM +CPU_AFFINITY +CRYPT_H -DEVICEATLAS +DL -ENGINE +EPOLL -EVPORTS +GETADDRINFO -KQUEUE +LIBCRYPT +LINUX_SPLICE +LINUX_TPROXY +LUA -MEMORY_PROFILING +NETFILTER +NS -OBSOLETE_LINKER +OPENSSL +OT -PCRE +PCRE2 +PCRE2_JIT -PCRE_JIT +POLL +PRCTL -PROCCTL +PROMEX -QUIC +RT +SLZ -STATIC_PCRE -STATIC_PCRE2 +SYSTEMD +TFO +THREAD +THREAD_DUMP +TPROXY -WURFL -ZLIB +HAPROXIDE"
            .split(' ')
            .map(str::to_string)
            .collect(),
        ssl_lib: ("OpenSSL".into(), (3, 0, 17)),
    }
}

/// Run the pipeline on what the reader produced.
pub fn check_read(read: reader::ReadOutput, opts: &CheckOptions<'_>) -> Checked {
    let reader::ReadOutput {
        sources,
        events,
        aborted,
        env: overlay,
    } = read;
    let env = reader::LayeredEnv {
        overlay: &overlay,
        inner: opts.env,
    };
    let popts = parse::ParseOptions {
        table: opts.target.table,
        env: &env,
        check_files: opts.check_files,
        resolver: opts.resolver,
        accounts: opts.accounts,
        file_names: (0..)
            .map_while(|i| sources.get(source::FileId(i)).map(|f| f.name.clone()))
            .collect(),
    };
    let (mut config, mut diagnostics, parse_aborted) = parse::parse(events, &popts);
    let aborted = aborted || parse_aborted;
    // A server's `crt` is loaded by HAProxy after parsing (ssl_sock_prepare_srv_ctx),
    // though haproxide checks it while parsing: after another parse error HAProxy
    // never gets there, and reports only the parse errors.
    // The same for a TLS bind's post-parse checks (ssl_sock_prepare_bind_conf:
    // no certificate, verify without CA, cipher/suite/curve lists), made by
    // parse/tls.rs when the bind line is read.
    let post_parse = |d: &Diagnostic| {
        (d.code == Code::MissingFile
            && d.message.starts_with("crt file `")
            && d.haproxy
                .as_ref()
                .is_some_and(|h| h.loc == HaproxyLoc::Bracket))
            || d.haproxy.as_ref().is_some_and(|h| {
                h.loc == HaproxyLoc::None
                    && h.text.starts_with("Proxy '")
                    && h.text.contains(" for bind '")
            })
    };
    if diagnostics.iter().any(|d| d.is_error() && !post_parse(d)) {
        diagnostics.retain(|d| !post_parse(d));
    }
    let parse_failed = diagnostics.iter().any(Diagnostic::is_error);
    // HAProxy runs the post-parse checks only after a clean parse.
    if !parse_failed && !aborted {
        let ropts = resolve::ResolveOptions {
            ignore_resolution_failures: opts.ignore_resolution_failures,
            resolver: opts.resolver,
        };
        diagnostics.extend(resolve::resolve(&mut config, &ropts));
        // `cache` sections (HAProxy's post-section checks: no size, objects
        // over half the size).
        diagnostics.extend(cache::caches(&config).1);
    }
    Checked {
        sources,
        config: resolve::Resolved::new(config),
        diagnostics,
        aborted,
    }
}

/// Read, parse and resolve configuration files and directories (HAProxy's `-f`).
pub fn check(paths: &[PathBuf], opts: &CheckOptions<'_>) -> Checked {
    let ropts = reader::ReadOptions {
        env: opts.env,
        cond: cond_context(opts.target),
    };
    check_read(reader::read_paths(paths, &ropts), opts)
}

/// What run mode (`haproxide -f`, `-c`) checks: every keyword of the HAProxy versions
/// haproxide claims, 2.6 to master. The file is checked against master's tables;
/// when that fails only on keywords (unknown, removed, not in this version, wrong
/// section) and HAProxy 2.6's tables accept the file, the 2.6 result is used, with
/// master's complaints kept as warnings: valid for the HAProxy release a user runs
/// today, deprecated for later ones. Anything else master refuses stays an error.
pub fn check_run_mode(paths: &[PathBuf], opts: &CheckOptions<'_>) -> Checked {
    let latest = check(paths, opts);
    if !latest.has_errors() || opts.target != Target::LATEST || latest.aborted {
        return latest;
    }
    let keyword_only = latest.diagnostics.iter().filter(|d| d.is_error()).all(|d| {
        matches!(
            d.code,
            Code::UnknownKeyword
                | Code::WrongSection
                | Code::RemovedKeyword
                | Code::NotInVersion
                | Code::UnknownOption
                | Code::UnknownServerKeyword
                | Code::UnknownBindKeyword
        )
    });
    if !keyword_only {
        return latest;
    }
    let v26 = CheckOptions {
        target: Target::V2_6,
        env: opts.env,
        ignore_resolution_failures: opts.ignore_resolution_failures,
        resolver: opts.resolver,
        check_files: opts.check_files,
        accounts: opts.accounts,
    };
    let mut old = check(paths, &v26);
    if old.has_errors() {
        return latest;
    }
    for mut d in latest.diagnostics.into_iter().filter(Diagnostic::is_error) {
        d.severity = Severity::Warning;
        d.message = format!(
            "{} in HAProxy master's keywords; HAProxy 2.6 accepts it, and so does haproxide (deprecated)",
            d.message
        );
        if let Some(h) = d.haproxy.as_mut() {
            // Master's "unknown keyword 'program' in 'defaults' section" would
            // mislead: the keyword is known, to 2.6.
            let kw = h
                .text
                .strip_prefix("unknown keyword '")
                .and_then(|r| r.split('\'').next())
                .map(str::to_string);
            h.text = match kw {
                Some(kw) => format!("'{kw}' is a keyword of HAProxy 2.6 that later versions no longer know (deprecated)"),
                None => format!("{} (valid for HAProxy 2.6; deprecated: later versions refuse it)", h.text),
            };
        }
        old.diagnostics.push(d);
    }
    old
}

/// Diagnostics (`info`, code `not-run-yet`) for every directive haproxide keeps only in
/// generic form: valid HAProxy that it checks for placement but does not model yet.
pub fn generic_directives(checked: &Checked) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut push = |table: &str, d: &model::Directive| {
        if support::level(table, &d.keyword) == support::Level::Known {
            out.push(
                Diagnostic::new(
                    Code::NotRunYet,
                    Severity::Info,
                    format!("`{}` is accepted as HAProxy accepts it, but haproxide does not model or run it yet", d.keyword),
                )
                .at(d.line.span(0)),
            );
        }
    };
    for d in &checked.config.global.directives {
        push("global", d);
    }
    for p in &checked.config.proxies {
        for d in &p.directives {
            // `stats` lines typed for the stats page are run, not generic.
            let line = d.line.span(0);
            let served = p.stats.iter().any(|st| {
                st.span.file == line.file
                    && st.span.line == line.line
                    && !matches!(st.value, model::StatsKw::NotServed(_))
            });
            if !served {
                push("proxy", d);
            }
        }
    }
    out.sort_by_key(|d| d.span.map(|s| (s.file, s.line)));
    out
}

/// Check configuration text held in memory (tests, fuzzing).
pub fn check_bytes(name: &str, bytes: Vec<u8>, opts: &CheckOptions<'_>) -> Checked {
    let ropts = reader::ReadOptions {
        env: opts.env,
        cond: cond_context(opts.target),
    };
    check_read(reader::read_bytes(name, bytes, &ropts), opts)
}
