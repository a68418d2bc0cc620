//! Lines → typed model: section headers, keyword validation against the selected
//! HAProxy version's tables, typed values for what the engine runs.
//!
//! Section parsers follow configuration.txt: §3 (global), §4 (proxies: keywords in
//! §4.2, the matrix in §4.1), §5.1 (bind options), §5.2 (server options), §7 (ACLs).
//! Each problem is reported as a [`Diagnostic`] with HAProxy's own message attached,
//! in the order HAProxy reports it; parsing never stops at the first error.
//!
//! One file per keyword family, as HAProxy splits cfgparse-global.c,
//! cfgparse-listen.c and server.c: `section` (headers, unknown keywords), `global`,
//! `log`, `proxy` (the §4.1 matrix and the proxy keywords), `bind`, `server`
//! (`server`, `default-server`, `server-template`), `acl` (ACLs and conditions),
//! `rules` (`use_backend`, `tcp-request`...), `removed` (keywords HAProxy dropped)
//! and `resolver` (host names at parse time). This file holds the parser state and
//! the line dispatch.

mod acl;
mod action_lists;
mod arity;
mod balance_args;
mod bind;
mod bind_values;
mod capture;
mod choices;
mod file_values;
mod global;
mod global_values;
mod h2;
mod log;
mod lua;
mod order;
mod patroni;
mod persist;
mod proxy;
mod proxy_values;
mod removed;
mod resolver;
mod reuse;
mod rules;
mod section;
mod server;
mod server_tls;
mod server_values;
mod stick_table_args;
mod timers;
mod tls;

pub use patroni::{Patroni, PatroniCluster, PatroniMatch, PatroniRole, PatroniRoleKind};
use removed::{removed_table, Removed};
pub use resolver::{resolve_system, Resolver, SYSTEM_RESOLVE_DEADLINE};

use std::collections::{HashMap, HashSet};
use std::net::ToSocketAddrs;
use std::path::Path;

use crate::diag::{suggest, Code, Diagnostic, HaproxyLoc};
use crate::keywords::{build_feature_of, keywords, option_takes_no_arg, Keywords, TableSet};
use crate::lexer::Env;
use crate::model::*;
use crate::reader::{Event, Line};
use crate::source::Span;
use crate::value::{self, AddrUse, Host};

/// HAProxy stops parsing a file after this many fatal errors.
const MAX_FATAL_PER_FILE: usize = 50;

/// What the parser needs to know.
pub struct ParseOptions<'a> {
    pub table: TableSet,
    pub env: &'a dyn Env,
    /// Check that files named by the configuration exist (certificates, errorfiles, Lua...).
    pub check_files: bool,
    /// How host names in `bind` and `log` lines are resolved at parse time.
    pub resolver: Resolver,
    /// How `user`/`group` names become ids.
    pub accounts: &'a dyn crate::Accounts,
    /// Each file's display name, by `FileId` (`show acl` names the line).
    pub file_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cur {
    None,
    Global,
    Proxy(usize),
    Other(usize),
    /// A haproxide-only `patroni` section (index into `cfg.patroni.clusters`).
    Patroni(usize),
    /// A section header that failed (`listen name addr`): every line errors until the next header.
    Broken,
}

struct Parser<'a> {
    kw: &'static Keywords,
    opts: &'a ParseOptions<'a>,
    cfg: Config,
    diags: Vec<Diagnostic>,
    cur: Cur,
    fatal: usize,
    stopped_file: bool,
    /// HAProxy's `ERR_ABORT` from a keyword (a bad `http-request` rule): nothing
    /// after it is read.
    aborted: bool,
    /// ACL names declared so far in the current proxy.
    acl_names: HashSet<String>,
    /// Pattern and map files that could not be opened, by name: HAProxy
    /// registers a pattern reference under the file's name before it reads the
    /// file (pattern.c `pattern_read_from_file`), so a later use of the same
    /// name finds it, reads nothing and reports nothing.
    unopened_files: std::cell::RefCell<HashSet<String>>,
    /// The kinds of ordered rules each proxy has so far (`order::Placed` bits).
    placed: HashMap<usize, u8>,
    has_lua: bool,
    removed: Vec<Removed>,
    /// The first server of each name, per proxy: (proxy index, name) → index in its
    /// `servers` (a linear search made a backend of 100k servers quadratic).
    server_index: HashMap<(usize, String), usize>,
    /// Proxies by name (indexes into `cfg.proxies`), for the duplicate-name check
    /// (a linear scan made 10,000 backends quadratic).
    proxy_names: HashMap<String, Vec<usize>>,
    /// How each defaults section (index into `cfg.proxies`) was used so far:
    /// (named by a `from`, used implicitly).
    defaults_refs: HashMap<usize, (bool, bool)>,
    /// The last defaults section so far (the one a proxy without `from` takes).
    last_defaults: Option<usize>,
    /// The directive created for the current line, whose words are moved in after
    /// the handler returns (lines are not copied).
    pending: Option<Slot>,
}

/// Parse the reader's events into a [`Config`], appending diagnostics in order.
pub fn parse(events: Vec<Event>, opts: &ParseOptions<'_>) -> (Config, Vec<Diagnostic>, bool) {
    // A new configuration: the runtime API's pattern references are its own.
    if opts.check_files {
        haproxide_expr::patref::global().clear();
    }
    let mut p = Parser {
        kw: keywords(opts.table),
        opts,
        cfg: Config::default(),
        diags: Vec::new(),
        cur: Cur::None,
        fatal: 0,
        stopped_file: false,
        aborted: false,
        acl_names: HashSet::new(),
        unopened_files: std::cell::RefCell::default(),
        placed: HashMap::new(),
        has_lua: false,
        removed: removed_table(),
        server_index: HashMap::new(),
        proxy_names: HashMap::new(),
        defaults_refs: HashMap::new(),
        last_defaults: None,
        pending: None,
    };
    for ev in events {
        if p.aborted {
            break;
        }
        match ev {
            Event::Diag(d) => {
                if d.is_error() {
                    p.fatal += 1;
                }
                p.diags.push(d);
            }
            Event::EndOfFile(_) => {
                p.cur = Cur::None;
                p.fatal = 0;
                p.stopped_file = false;
            }
            Event::Line(line) => {
                if p.stopped_file {
                    continue;
                }
                if p.fatal >= MAX_FATAL_PER_FILE {
                    p.stopped_file = true;
                    p.diags.push(
                        Diagnostic::error(
                            Code::TooManyErrors,
                            "too many errors in this file, stopping",
                        )
                        .at(line.span(0))
                        .hx(
                            HaproxyLoc::ParsingTight,
                            format!("too many fatal errors ({}), stopping now.", p.fatal),
                        ),
                    );
                    continue;
                }
                let before = p.diags.len();
                p.line(&line);
                // Give the directive the handler recorded its line, without a copy.
                if let Some(slot) = p.pending.take() {
                    if let Some(d) = p.directive_mut(slot) {
                        d.line = line;
                    }
                }
                p.fatal += p.diags[before..].iter().filter(|d| d.is_error()).count();
            }
        }
    }
    p.check_patroni();
    p.check_global_files();
    (p.cfg, p.diags, p.aborted)
}

/// Where a directive was stored.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Global(usize),
    Proxy(usize, usize),
    Other(usize, usize),
}

/// A directive whose line is filled in later.
fn placeholder(keyword: String, modifier: Modifier, line: &Line) -> Directive {
    Directive {
        keyword,
        modifier,
        line: Line {
            file: line.file,
            line: line.line,
            words: Vec::new(),
        },
    }
}

/// Keywords that accept the `no` / `default` prefix (cfgparse.c, 2.6).
const NEGATABLE: &[&str] = &[
    "option",
    "log",
    "busy-polling",
    "set-dumpable",
    "strict-limits",
    "insecure-fork-wanted",
    "numa-cpu-mapping",
];

impl Parser<'_> {
    fn directive_mut(&mut self, slot: Slot) -> Option<&mut Directive> {
        match slot {
            Slot::Global(i) => self.cfg.global.directives.get_mut(i),
            Slot::Proxy(p, i) => self.cfg.proxies.get_mut(p)?.directives.get_mut(i),
            Slot::Other(s, i) => self.cfg.others.get_mut(s)?.directives.get_mut(i),
        }
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn err(
        &mut self,
        code: Code,
        span: Span,
        msg: impl Into<String>,
        loc: HaproxyLoc,
        hx: impl Into<String>,
    ) {
        self.push(Diagnostic::error(code, msg).at(span).hx(loc, hx));
    }

    fn warn(
        &mut self,
        code: Code,
        span: Span,
        msg: impl Into<String>,
        loc: HaproxyLoc,
        hx: impl Into<String>,
    ) {
        self.push(Diagnostic::warning(code, msg).at(span).hx(loc, hx));
    }

    fn line(&mut self, line: &Line) {
        let (modifier, start) = match line.arg(0) {
            "no" => (Modifier::No, 1),
            "default" => (Modifier::Default, 1),
            _ => (Modifier::None, 0),
        };
        let kw = line.arg(start).to_string();
        if modifier != Modifier::None && !NEGATABLE.contains(&kw.as_str()) {
            self.err(
                Code::NegationNotSupported,
                line.span(0),
                format!("`{}` cannot be used before `{kw}`", line.arg(0)),
                HaproxyLoc::ParsingTight,
                "negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.",
            );
        }
        if modifier == Modifier::None && kw == patroni::SECTION {
            self.open_patroni(line);
            return;
        }
        if modifier == Modifier::None && self.kw.section_names.contains(&kw) {
            self.open_section(line, &kw);
            return;
        }
        match self.cur {
            Cur::None => {
                let mut d =
                    Diagnostic::error(Code::OutOfSection, format!("`{kw}` before any section"))
                        .at(line.span(start))
                        .label("not inside a section")
                        .hx(
                            HaproxyLoc::ParsingTight,
                            format!("unknown keyword '{kw}' out of section."),
                        );
                if let Some(s) = self.section_hint(&kw) {
                    d = d.help(format!("`{kw}` belongs in {s}"));
                }
                self.push(d);
            }
            Cur::Broken => self.err(
                Code::SectionNotCreated,
                line.span(start),
                "this line belongs to a section that was not created (see the error above)",
                HaproxyLoc::Parsing,
                "'listen' or 'defaults' expected.",
            ),
            Cur::Global => self.global_kw(line, start, modifier),
            Cur::Proxy(i) if kw == patroni::ROLE_KW => self.kw_patroni_role(i, line, start),
            Cur::Proxy(i) => self.proxy_kw(i, line, start, modifier),
            Cur::Patroni(i) => self.patroni_kw(i, line, start),
            Cur::Other(i) => self.other_kw(i, line, start),
        }
    }

    // ---------------------------------------------------------------- global

    fn time_arg(&mut self, line: &Line, i: usize, what: &str) -> Option<value::Millis> {
        let text = line.arg(i).to_string();
        match value::parse_time_lenient(&text, 1) {
            Ok((t, None)) => Some(t),
            Ok((t, Some(c))) => {
                self.push(
                    Diagnostic::warning(Code::InvalidArgument, format!("unexpected character `{c}` after the time `{text}`: HAProxy ignores it"))
                        .at(line.span(i))
                        .help("units are us, ms, s, m, h, d (`15min` is read as 15m)")
                        .hx(HaproxyLoc::None, format!("unexpected character '{c}' after the timer value '{text}', only (us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. This will be reported as an error in next versions.")),
                );
                Some(t)
            }
            Err(value::TimeError::Empty) => {
                self.err(
                    Code::MissingArgument,
                    line.span(i),
                    format!("`{what}` needs a time"),
                    HaproxyLoc::Parsing,
                    format!("'{what}' expects an integer value (in milliseconds)"),
                );
                None
            }
            Err(value::TimeError::UnexpectedChar(c)) => {
                self.push(
                    Diagnostic::error(
                        Code::InvalidArgument,
                        format!("invalid time `{text}` for `{what}`"),
                    )
                    .at(line.span(i))
                    .label(format!("unexpected character `{c}`"))
                    .help(
                        "a time is a number with an optional unit: us, ms, s, m, h, d (default ms)",
                    )
                    .hx(
                        HaproxyLoc::Parsing,
                        format!("unexpected character '{c}' in '{what}'"),
                    ),
                );
                None
            }
            Err(value::TimeError::Overflow) => {
                self.err(
                    Code::InvalidArgument,
                    line.span(i),
                    format!("`{text}` is too large for `{what}` (max 2147483647 ms, about 24.8 days)"),
                    HaproxyLoc::Parsing,
                    format!("timer overflow in argument '{text}' to '{what}' (maximum value is 2147483647 ms or ~24.8 days)"),
                );
                None
            }
            Err(value::TimeError::Underflow) => {
                self.err(
                    Code::InvalidArgument,
                    line.span(i),
                    format!("`{text}` is below 1 ms for `{what}`"),
                    HaproxyLoc::Parsing,
                    format!("timer underflow in argument '{text}' to '{what}' (minimum non-null value is 1 ms)"),
                );
                None
            }
        }
    }

    // ---------------------------------------------------------------- proxies

    fn global_dir(&self, kw: &str) -> Option<String> {
        self.cfg
            .global
            .directives
            .iter()
            .rev()
            .find(|d| d.keyword == kw)
            .map(|d| d.line.arg(1).to_string())
    }

    /// The file a `bind`'s SSL option (`crt`, `crt-list`: relative to `crt-base`;
    /// `ca-file`, `crl-file`: to `ca-base`) names must exist: HAProxy opens it while
    /// parsing. `hx(keyword, path)` words HAProxy's message. Used by `bind` lines and
    /// `stats socket` (the same bind keywords).
    fn bind_tls_file(&mut self, k: &str, arg: &str, span: Span, hx: impl Fn(&str, &str) -> String) {
        if !self.opts.check_files {
            return;
        }
        let base = if k == "crt" || k == "crt-list" {
            self.global_dir("crt-base")
        } else {
            self.global_dir("ca-base")
        };
        let path = with_base(base.as_deref(), arg);
        if !Path::new(&path).exists() {
            self.err(
                Code::MissingFile,
                span,
                format!("{k} file `{path}` does not exist"),
                HaproxyLoc::Parsing,
                hx(k, &path),
            );
        }
    }
}

fn with_base(base: Option<&str>, f: &str) -> String {
    match base {
        Some(b) if !f.starts_with('/') && !b.is_empty() => {
            format!("{}/{f}", b.trim_end_matches('/'))
        }
        _ => f.to_string(),
    }
}
