//! Lines → typed model: section headers, keyword validation against the selected
//! HAProxy version's tables, typed values for what the engine runs.
//!
//! Section parsers follow configuration.txt: §3 (global), §4 (proxies: keywords in
//! §4.2, the matrix in §4.1), §5.1 (bind options), §5.2 (server options), §7 (ACLs).
//! Each problem is reported as a [`Diagnostic`] with HAProxy's own message attached,
//! in the order HAProxy reports it; parsing never stops at the first error.

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
}

/// How host names are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// The C library (`getaddrinfo`), as HAProxy does: /etc/hosts, then DNS.
    System,
    /// Only /etc/hosts and `localhost`: never sends a packet (tests, offline CI).
    HostsFile,
    /// Do not resolve: every host name is taken as resolvable.
    Off,
}

/// How long the system resolver may take for one `check` (all names together): a
/// dead DNS server must not hang a lint (libc retries for 10 s and more per name).
pub const SYSTEM_RESOLVE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(1500);

/// Resolve names with the C library, in parallel, within `deadline` in all. Returns
/// the names that resolved; a name with no answer in time counts as unresolved.
pub fn resolve_system(names: &[String], deadline: std::time::Duration) -> HashSet<String> {
    use std::sync::mpsc;
    let (tx, rx) = mpsc::channel::<(String, bool)>();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(names.to_vec()));
    let workers = names.len().clamp(1, 32);
    for _ in 0..workers {
        let (tx, queue) = (tx.clone(), std::sync::Arc::clone(&queue));
        // Detached on purpose: a lookup stuck in libc ends by itself later; the
        // caller does not wait for it past the deadline.
        let spawned = std::thread::Builder::new()
            .name("haproxide-resolve".into())
            .spawn(move || loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(name) = next else { break };
                let ok = (name.as_str(), 0u16)
                    .to_socket_addrs()
                    .map(|mut a| a.next().is_some())
                    .unwrap_or(false);
                if tx.send((name, ok)).is_err() {
                    break;
                }
            });
        if spawned.is_err() {
            break;
        }
    }
    drop(tx);
    let end = std::time::Instant::now() + deadline;
    let mut ok = HashSet::new();
    for _ in 0..names.len() {
        let left = end.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((name, true)) => {
                ok.insert(name);
            }
            Ok((_, false)) => {}
            Err(_) => break,
        }
    }
    ok
}

impl Resolver {
    /// Whether `host` resolves (the system resolver is bounded by
    /// [`SYSTEM_RESOLVE_DEADLINE`]).
    pub fn resolves(self, host: &str) -> bool {
        match self {
            Resolver::Off => true,
            Resolver::System => {
                resolve_system(&[host.to_string()], SYSTEM_RESOLVE_DEADLINE).contains(host)
            }
            Resolver::HostsFile => {
                host.eq_ignore_ascii_case("localhost")
                    || std::fs::read_to_string("/etc/hosts").is_ok_and(|t| {
                        t.lines().any(|l| {
                            let l = l.split('#').next().unwrap_or("");
                            l.split_whitespace()
                                .skip(1)
                                .any(|n| n.eq_ignore_ascii_case(host))
                        })
                    })
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cur {
    None,
    Global,
    Proxy(usize),
    Other(usize),
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
    /// ACL names declared so far in the current proxy.
    acl_names: HashSet<String>,
    has_lua: bool,
    removed: Vec<Removed>,
    /// The first server of each name, per proxy: (proxy index, name) → index in its
    /// `servers` (a linear search made a backend of 100k servers quadratic).
    server_index: HashMap<(usize, String), usize>,
    /// Proxies by name (indexes into `cfg.proxies`), for the duplicate-name check
    /// (a linear scan made 10,000 backends quadratic).
    proxy_names: HashMap<String, Vec<usize>>,
    /// The directive created for the current line, whose words are moved in after
    /// the handler returns (lines are not copied).
    pending: Option<Slot>,
}

struct Removed {
    keyword: String,
    removed_in: String,
    replacement: String,
    message: String,
}

fn removed_table() -> Vec<Removed> {
    include_str!("../../data/removed.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .filter_map(|l| {
            let mut it = l.split('\t');
            Some(Removed {
                keyword: it.next()?.to_string(),
                removed_in: it.next().unwrap_or("").to_string(),
                replacement: it.next().unwrap_or("").to_string(),
                message: it.next().unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// Parse the reader's events into a [`Config`], appending diagnostics in order.
pub fn parse(events: Vec<Event>, opts: &ParseOptions<'_>) -> (Config, Vec<Diagnostic>) {
    let mut p = Parser {
        kw: keywords(opts.table),
        opts,
        cfg: Config::default(),
        diags: Vec::new(),
        cur: Cur::None,
        fatal: 0,
        stopped_file: false,
        acl_names: HashSet::new(),
        has_lua: false,
        removed: removed_table(),
        server_index: HashMap::new(),
        proxy_names: HashMap::new(),
        pending: None,
    };
    for ev in events {
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
    (p.cfg, p.diags)
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
            Cur::Proxy(i) => self.proxy_kw(i, line, start, modifier),
            Cur::Other(i) => self.other_kw(i, line, start),
        }
    }

    /// Which sections a keyword belongs to (for "wrong section" help).
    fn section_hint(&self, kw: &str) -> Option<String> {
        if self.kw.global.contains(kw) {
            return Some("the `global` section".into());
        }
        let words: Vec<&str> = kw.split(' ').collect();
        if let Some((_, _, a)) = self.kw.lookup_proxy(&words) {
            let mut where_ = Vec::new();
            if a.defaults {
                where_.push("defaults");
            }
            if a.frontend {
                where_.push("frontend");
            }
            if a.listen {
                where_.push("listen");
            }
            if a.backend {
                where_.push("backend");
            }
            return Some(format!("a {} section", where_.join("/")));
        }
        if self.kw.server.contains(kw) {
            return Some("a `server` or `default-server` line (it is a server option)".into());
        }
        if self.kw.bind.contains(kw) {
            return Some("a `bind` line (it is a bind option)".into());
        }
        for (s, kws) in &self.kw.sections {
            if kws.contains(kw) {
                return Some(format!("a `{s}` section"));
            }
        }
        None
    }

    fn removed(&self, words: &[&str]) -> Option<&Removed> {
        let two = words.iter().take(2).copied().collect::<Vec<_>>().join(" ");
        let one = words.first().copied().unwrap_or("");
        self.removed
            .iter()
            .find(|r| r.keyword == two && !r.message.is_empty())
            .or_else(|| {
                self.removed
                    .iter()
                    .find(|r| r.keyword == one && !r.message.is_empty())
            })
    }

    /// Whether `removed_in` ("2.1") is at or before the selected version.
    fn removed_applies(&self, r: &Removed) -> bool {
        let v: Vec<u32> = r
            .removed_in
            .split('.')
            .filter_map(|x| x.parse().ok())
            .collect();
        let ver = (
            v.first().copied().unwrap_or(0),
            v.get(1).copied().unwrap_or(0),
        );
        match self.opts.table {
            TableSet::V2_6 => ver <= (2, 6),
            TableSet::Master => true,
        }
    }

    fn report_removed(&mut self, line: &Line, start: usize, r_kw: &str) -> bool {
        let words: Vec<&str> = line.words[start..]
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        let Some(r) = self.removed(&words) else {
            return false;
        };
        if !self.removed_applies(r) || (r.keyword != r_kw && !r.keyword.starts_with(r_kw)) {
            return false;
        }
        let mut d = Diagnostic::error(
            Code::RemovedKeyword,
            format!("`{}` was removed in HAProxy {}", r.keyword, r.removed_in),
        )
        .at(line.span_from(start))
        .label("removed keyword")
        .hx(HaproxyLoc::Parsing, r.message.clone());
        if !r.replacement.is_empty() {
            d = d.help(format!("use `{}` instead", r.replacement));
        }
        self.push(d);
        true
    }

    fn open_section(&mut self, line: &Line, kw: &str) {
        self.acl_names.clear();
        match kw {
            "global" => {
                self.cfg.global.spans.push(line.span(0));
                self.cur = Cur::Global;
            }
            "defaults" | "frontend" | "backend" | "listen" => self.open_proxy(line, kw),
            _ => {
                let name = line.words.get(1).map(Named::from_word);
                self.cfg.others.push(OtherSection {
                    kind: kw.to_string(),
                    name,
                    span: line.span(0),
                    directives: Vec::new(),
                });
                self.cur = Cur::Other(self.cfg.others.len() - 1);
            }
        }
    }

    fn open_proxy(&mut self, line: &Line, kw: &str) {
        let kind = match kw {
            "defaults" => ProxyKind::Defaults,
            "frontend" => ProxyKind::Frontend,
            "backend" => ProxyKind::Backend,
            _ => ProxyKind::Listen,
        };
        let mut idx = 1;
        let name = match line.words.get(1) {
            Some(w) if !(kind == ProxyKind::Defaults && w.text == "from") => {
                idx = 2;
                Named::from_word(w)
            }
            _ => Named {
                name: String::new(),
                span: line.span(0),
            },
        };
        if name.name.is_empty() && kind != ProxyKind::Defaults {
            self.err(
                Code::MissingArgument,
                line.span(1),
                format!("`{kw}` needs a name"),
                HaproxyLoc::Parsing,
                format!("'{kw}' expects <name> as an argument"),
            );
            self.cur = Cur::Broken;
            return;
        }
        if let Some(bad) = name
            .name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            self.err(
                Code::InvalidArgument,
                name.span,
                format!("invalid character `{bad}` in {kw} name"),
                HaproxyLoc::Parsing,
                format!(
                    "character '{bad}' is not permitted in '{kw}' name '{}'.",
                    name.name
                ),
            );
        }
        let mut from = None;
        match line.arg(idx) {
            "" => {}
            "from" => match line.words.get(idx + 1) {
                Some(w) => from = Some(Named::from_word(w)),
                None => self.err(
                    Code::MissingArgument,
                    line.span(idx),
                    "`from` needs the name of a defaults section",
                    HaproxyLoc::Parsing,
                    format!("'{kw}' expects a defaults section name after 'from'."),
                ),
            },
            _ if kind == ProxyKind::Defaults => {}
            other => {
                let listen_addr =
                    other.contains(':') || other.starts_with('*') || other.starts_with('/');
                if listen_addr && kind != ProxyKind::Backend {
                    let d = Diagnostic::error(Code::ListenAddress, "an address on the section line is no longer supported")
                        .at(line.span_from(idx))
                        .label("listening address")
                        .help(format!("HAProxy no longer accepts an address on the `{kw}` line: write `{kw} {}` and, inside the section, `bind {other}`", name.name))
                        .hx(HaproxyLoc::Parsing, "please use the 'bind' keyword for listening addresses.");
                    self.push(d);
                    self.cur = Cur::Broken;
                    return;
                }
                self.err(
                    Code::TooManyArguments,
                    line.span(idx),
                    format!("unexpected argument `{other}` after the {kw} name"),
                    HaproxyLoc::Parsing,
                    format!("'{kw}' cannot handle unexpected argument '{other}'."),
                );
            }
        }
        // Duplicate names (HAProxy 2.6: frontend and backend may share a name).
        if kind != ProxyKind::Defaults {
            let clash = self
                .proxy_names
                .get(&name.name)
                .into_iter()
                .flatten()
                .filter_map(|&i| self.cfg.proxies.get(i))
                .find(|p| {
                    p.kind != ProxyKind::Defaults
                        && ((p.kind.has_frontend() && kind.has_frontend())
                            || (p.kind.has_backend() && kind.has_backend()))
                });
            if let Some(p) = clash {
                let (pk, ps) = (p.kind.as_str(), p.name.span);
                let file = ps.file;
                let d = Diagnostic::error(
                    Code::DuplicateProxy,
                    format!("{kw} `{}` is defined twice", name.name),
                )
                .at(name.span)
                .label("second definition")
                .related(ps, "first defined here")
                .help("give each proxy a distinct name (a frontend and a backend may share one)");
                let loc_name = self.file_marker(file);
                self.push(d.hx(
                    HaproxyLoc::ParsingCapital,
                    format!(
                        "{kw} '{}' has the same name as {pk} '{}' declared at {loc_name}:{}.",
                        name.name, name.name, ps.line
                    ),
                ));
            }
        }
        let mut p = Proxy::new(kind, name, line.span(0));
        p.from = from;
        let idx = self.cfg.proxies.len();
        self.proxy_names
            .entry(p.name.name.clone())
            .or_default()
            .push(idx);
        self.cfg.proxies.push(p);
        self.cur = Cur::Proxy(idx);
    }

    /// A placeholder the renderer replaces by the file name (`\u{1}file:N\u{1}`).
    fn file_marker(&self, file: crate::source::FileId) -> String {
        format!("\u{1}{}\u{1}", file.0)
    }

    fn other_kw(&mut self, i: usize, line: &Line, start: usize) {
        let kw = line.arg(start).to_string();
        let Some(sec) = self.cfg.others.get(i).map(|s| s.kind.clone()) else {
            return;
        };
        let known = self.kw.sections.get(&sec);
        let two = format!("{} {}", kw, line.arg(start + 1));
        let ok = match known {
            // Sections whose keyword list we do not have are accepted as they are.
            None => true,
            Some(set) => {
                set.contains(&kw)
                    || set.contains(&two)
                    || set.iter().any(|k| k.starts_with(&format!("{kw} ")))
            }
        };
        if !ok {
            let cands: Vec<&str> = known
                .map(|s| s.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let mut d = Diagnostic::error(
                Code::UnknownKeyword,
                format!("unknown keyword `{kw}` in a `{sec}` section"),
            )
            .at(line.span(start))
            .hx(
                HaproxyLoc::Parsing,
                format!("unknown keyword '{kw}' in '{sec}' section"),
            );
            if let Some(s) = suggest(&kw, cands) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            self.push(d);
        }
        // Addresses resolved at parse time in mailers, resolvers and peers sections.
        if let ("mailer", "mailers") | ("nameserver", "resolvers") | ("peer" | "server", "peers") =
            (kw.as_str(), sec.as_str())
        {
            if let Some(w) = line.words.get(start + 2) {
                let expanded = value::expand_env(&w.text, self.opts.env);
                let bad = match value::parse_address(&expanded, AddrUse::Other) {
                    Ok(a) => match &a.host {
                        Host::Name(n) if !self.opts.resolver.resolves(n) => {
                            Some(format!("invalid address: '{n}' in '{}'", w.text))
                        }
                        _ => None,
                    },
                    Err(e) => Some(e.haproxy_text(&w.text)),
                };
                if let Some(msg) = bad {
                    let ctx = if sec == "peers" && kw == "server" {
                        "server (null)/".to_string() + line.arg(start + 1)
                    } else {
                        format!("{kw} {}", line.arg(start + 1))
                    };
                    self.err(
                        Code::InvalidAddress,
                        w.span,
                        format!("invalid or unresolvable address `{}`", w.text),
                        HaproxyLoc::Parsing,
                        format!("'{ctx}' : {msg}"),
                    );
                }
            }
        }
        if kw == "errorfile" && self.opts.check_files {
            if let Some(w) = line.words.get(start + 2) {
                if !Path::new(&w.text).is_file() {
                    let f = w.text.clone();
                    self.err(
                        Code::MissingFile,
                        w.span,
                        format!("errorfile `{f}` does not exist"),
                        HaproxyLoc::Parsing,
                        format!("errorfile : error opening file '{f}'."),
                    );
                }
            }
        }
        if let Some(s) = self.cfg.others.get_mut(i) {
            s.directives.push(placeholder(kw, Modifier::None, line));
            self.pending = Some(Slot::Other(i, s.directives.len() - 1));
        }
    }

    // ---------------------------------------------------------------- global

    /// `global` keywords (configuration.txt §3).
    fn global_kw(&mut self, line: &Line, start: usize, modifier: Modifier) {
        let kw = line.arg(start).to_string();
        let arg1 = line.arg(start + 1).to_string();
        let known = self.kw.global.contains(&kw)
            || self.kw.global.contains(&format!("{kw} {arg1}"))
            || matches!(
                kw.as_str(),
                "master-worker" | "stats" | "tune.ssl.ocsp-update"
            );
        if !known || (build_feature_of(&kw).is_some() && self.opts.table == TableSet::V2_6) {
            if self.report_removed(line, start, &kw) {
                return;
            }
            self.unknown_keyword(
                line,
                start,
                "global",
                self.kw.global.iter().map(String::as_str).collect(),
            );
            return;
        }
        let g = &mut self.cfg.global;
        let keyword = if kw == "stats" {
            format!("stats {arg1}")
        } else {
            kw.clone()
        };
        g.directives.push(placeholder(keyword, modifier, line));
        self.pending = Some(Slot::Global(g.directives.len() - 1));
        let g = &mut self.cfg.global;
        let num = |s: &str| u32::try_from(value::atol(s)).ok();
        match kw.as_str() {
            "maxconn" if arg1.is_empty() => {
                let span = line.span(start + 1);
                self.err(
                    Code::MissingArgument,
                    span,
                    "`maxconn` needs a number",
                    HaproxyLoc::Parsing,
                    "'maxconn' expects an integer argument.",
                );
            }
            "maxconn" => g.maxconn = num(&arg1),
            "nbthread" => g.nbthread = num(&arg1),
            "daemon" => g.daemon = true,
            "master-worker" => {
                g.master_worker = true;
                match arg1.as_str() {
                    "" => {}
                    "no-exit-on-failure" => g.master_worker_no_exit_on_failure = true,
                    _ => {
                        let span = line.span(start + 1);
                        self.err(
                            Code::InvalidArgument,
                            span,
                            "`master-worker` only takes `no-exit-on-failure`",
                            HaproxyLoc::Parsing,
                            "'master-worker' only supports 'no-exit-on-failure' option.",
                        );
                    }
                }
            }
            "quiet" => g.quiet = true,
            "zero-warning" => g.zero_warning = true,
            "external-check" => g.external_check = true,
            "spread-checks" => g.spread_checks = num(&arg1),
            "pidfile" => g.pidfile = line.words.get(start + 1).map(Named::from_word),
            "chroot" => g.chroot = line.words.get(start + 1).map(Named::from_word),
            "server-state-file" => {
                g.server_state_file = line.words.get(start + 1).map(Named::from_word)
            }
            "server-state-base" => {
                g.server_state_base = line.words.get(start + 1).map(Named::from_word)
            }
            // §3.2 `tune.listener.multi-queue { on | fair | off }` ("fair" since 2.8).
            "tune.listener.multi-queue" => {
                let v2_6 = self.opts.table == TableSet::V2_6;
                let mq = match arg1.as_str() {
                    "on" => Some(MultiQueue::On),
                    "off" => Some(MultiQueue::Off),
                    "fair" if !v2_6 => Some(MultiQueue::Fair),
                    _ => None,
                };
                let extra = line.arg(start + 2).to_string();
                if !extra.is_empty() {
                    // HAProxy counts the arguments first.
                    self.err(
                        Code::TooManyArguments,
                        line.span(start + 2),
                        format!("`tune.listener.multi-queue` takes one argument; `{extra}` is extra"),
                        HaproxyLoc::Parsing,
                        format!("'tune.listener.multi-queue' cannot handle unexpected argument '{extra}'."),
                    );
                } else if mq.is_none() {
                    let (choices, hx) = if v2_6 {
                        ("`on` or `off`", format!("'tune.listener.multi-queue' expects either 'on' or 'off' but got '{arg1}'."))
                    } else {
                        ("`on`, `fair` or `off`", format!("'tune.listener.multi-queue' expects either 'on', 'fair', or 'off' but got '{arg1}'."))
                    };
                    self.err(
                        Code::InvalidArgument,
                        line.span(start + 1),
                        format!("`tune.listener.multi-queue` expects {choices}, not `{arg1}`"),
                        HaproxyLoc::Parsing,
                        hx,
                    );
                }
                self.cfg.global.multi_queue = mq.or(self.cfg.global.multi_queue);
            }
            "hard-stop-after" => {
                if let Some(t) = self.time_arg(line, start + 1, "hard-stop-after") {
                    self.cfg.global.hard_stop_after = Some(t);
                }
            }
            "user" | "group" => {
                let named = line.words.get(start + 1).map(Named::from_word);
                if let Some(n) = &named {
                    let db = if kw == "user" {
                        "/etc/passwd"
                    } else {
                        "/etc/group"
                    };
                    if !name_in_db(db, &n.name) && !n.name.is_empty() {
                        let what = if kw == "user" { "user" } else { "group" };
                        self.err(
                            Code::UnknownUser,
                            n.span,
                            format!("{what} `{}` does not exist on this machine", n.name),
                            HaproxyLoc::Parsing,
                            format!("cannot find {what} id for '{}' (0:Success)", n.name),
                        );
                    }
                }
                if kw == "user" {
                    self.cfg.global.user = named;
                } else {
                    self.cfg.global.group = named;
                }
            }
            "log" => {
                if let Some(t) = self.log_target(line, start, modifier) {
                    self.cfg.global.logs.push(t);
                }
            }
            "lua-load" | "lua-load-per-thread" => {
                self.has_lua = true;
                if let Some(w) = line.words.get(start + 1) {
                    self.cfg.global.lua_loads.push(Named::from_word(w));
                    if self.opts.check_files && !Path::new(&w.text).exists() {
                        let f = w.text.clone();
                        self.err(
                            Code::MissingFile,
                            w.span,
                            format!("Lua file `{f}` does not exist"),
                            HaproxyLoc::Parsing,
                            format!("error in Lua file '{f}': cannot open {f}: No such file or directory"),
                        );
                    }
                }
            }
            "issuers-chain-path" => {
                if let Some(w) = line.words.get(start + 1) {
                    if self.opts.check_files && !Path::new(&w.text).is_dir() {
                        self.err(
                            Code::MissingFile,
                            w.span,
                            format!("`{}` is not a directory", w.text),
                            HaproxyLoc::Parsing,
                            format!(
                                "global statement '{kw}' expects a directory path as an argument."
                            ),
                        );
                    }
                }
            }
            "stats" => self.global_stats(line, start),
            _ => {}
        }
    }

    fn global_stats(&mut self, line: &Line, start: usize) {
        let sub = line.arg(start + 1).to_string();
        match sub.as_str() {
            "socket" => {
                let Some(w) = line.words.get(start + 2) else {
                    self.err(
                        Code::MissingArgument,
                        line.span(start + 2),
                        "`stats socket` needs an address or a path",
                        HaproxyLoc::Parsing,
                        "'stats socket' in global section expects an address or a path to a UNIX socket",
                    );
                    return;
                };
                let expanded = value::expand_env(&w.text, self.opts.env);
                let parsed = match value::parse_address(&expanded, AddrUse::Bind) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        let hx = format!("'stats socket' : {}", e.haproxy_text(&w.text));
                        self.err(Code::InvalidAddress, w.span, format!("invalid stats socket address `{}`", w.text), HaproxyLoc::Parsing, hx);
                        None
                    }
                };
                let mut options = Vec::new();
                let mut i = start + 3;
                while i < line.words.len() && !line.arg(i).is_empty() {
                    let k = line.arg(i).to_string();
                    if k == "expose-fd" {
                        options.push((k, Some(line.arg(i + 1).to_string()), line.span(i)));
                        i += 2;
                        continue;
                    }
                    if !self.kw.bind.contains(&k) {
                        self.err(
                            Code::UnknownBindKeyword,
                            line.span(i),
                            format!("unknown stats socket option `{k}`"),
                            HaproxyLoc::Parsing,
                            format!("'stats socket' unknown keyword '{k}'."),
                        );
                        break;
                    }
                    let takes = !option_takes_no_arg(&k);
                    options.push((k, takes.then(|| line.arg(i + 1).to_string()), line.span(i)));
                    i += if takes { 2 } else { 1 };
                }
                self.cfg.global.stats_sockets.push(StatsSocket { address: Named::from_word(w), parsed, options });
            }
            "timeout" => {
                if let Some(t) = self.time_arg(line, start + 2, "stats timeout") {
                    self.cfg.global.stats_timeout = Some(t);
                }
            }
            "maxconn" => {
                if let Ok(n) = line.arg(start + 2).parse::<u32>() {
                    self.cfg.global.stats_maxconn = Some(n);
                }
            }
            "bind-process" => {}
            _ => self.err(
                Code::UnknownKeyword,
                line.span(start + 1),
                format!("unknown `stats {sub}` in global"),
                HaproxyLoc::Parsing,
                "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' in 'global' section.",
            ),
        }
    }

    fn log_target(&mut self, line: &Line, start: usize, modifier: Modifier) -> Option<LogTarget> {
        if modifier == Modifier::No {
            return Some(LogTarget::Disabled(line.span(start)));
        }
        let first = line.words.get(start + 1)?;
        if first.text == "global" {
            return Some(LogTarget::Global(first.span));
        }
        let mut i = start + 2;
        let mut options = Vec::new();
        while matches!(line.arg(i), "len" | "format" | "sample" | "profile") {
            options.push((line.arg(i).to_string(), line.arg(i + 1).to_string()));
            i += 2;
        }
        let target = first.text.clone();
        let mut address = None;
        let is_special = matches!(target.as_str(), "stdout" | "stderr")
            || target.starts_with('/')
            || target.starts_with("ring@")
            || target.starts_with("unix@")
            || target.starts_with("fd@")
            || target.starts_with("backend@");
        if !is_special {
            let expanded = value::expand_env(&target, self.opts.env);
            match value::parse_address(&expanded, AddrUse::Other) {
                Ok(a) => {
                    if let Host::Name(n) = &a.host {
                        if !self.opts.resolver.resolves(n) {
                            let hx = format!("log : invalid address: '{n}' in '{target}'\n");
                            self.err(
                                Code::InvalidAddress,
                                first.span,
                                format!("log host `{n}` does not resolve"),
                                HaproxyLoc::Parsing,
                                hx,
                            );
                            return None;
                        }
                    }
                    address = Some(a);
                }
                Err(e) => {
                    let hx = format!("log : {}\n", e.haproxy_text(&target));
                    self.err(
                        Code::InvalidAddress,
                        first.span,
                        format!("invalid log target `{target}`"),
                        HaproxyLoc::Parsing,
                        hx,
                    );
                    return None;
                }
            }
        }
        let Some(fac) = line.words.get(i) else {
            self.err(
                Code::MissingArgument,
                line.span(i),
                "`log` needs a facility",
                HaproxyLoc::Parsing,
                "'log' expects <address> and <facility> as arguments.",
            );
            return None;
        };
        const FACILITIES: &[&str] = &[
            "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
            "auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2",
            "local3", "local4", "local5", "local6", "local7",
        ];
        if !FACILITIES.contains(&fac.text.as_str()) {
            let mut d = Diagnostic::error(
                Code::InvalidArgument,
                format!("unknown log facility `{}`", fac.text),
            )
            .at(fac.span)
            .hx(
                HaproxyLoc::Parsing,
                format!("log : unknown log facility '{}'\n", fac.text),
            );
            if let Some(s) = suggest(&fac.text, FACILITIES.iter().copied()) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            self.push(d);
            return None;
        }
        Some(LogTarget::Target(Box::new(LogDest {
            target: Named::from_word(first),
            address,
            options,
            facility: Named::from_word(fac),
            level: line.words.get(i + 1).map(Named::from_word),
            min_level: line.words.get(i + 2).map(Named::from_word),
        })))
    }

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

    fn unknown_keyword(&mut self, line: &Line, start: usize, section: &str, cands: Vec<&str>) {
        let kw = line.arg(start).to_string();
        // A keyword of a newer HAProxy, or of a feature the reference build lacks.
        if let Some(feature) = build_feature_of(&kw) {
            self.push(
                Diagnostic::error(
                    Code::NotInBuild,
                    format!("`{kw}` needs an HAProxy built with {feature}"),
                )
                .at(line.span(start))
                .help(format!(
                    "the reference build (Debian's HAProxy) has no {feature} support"
                ))
                .hx(
                    HaproxyLoc::Parsing,
                    format!("unknown keyword '{kw}' in '{section}' section"),
                ),
            );
            return;
        }
        let hint = suggest(&kw, cands);
        let mut hx = format!("unknown keyword '{kw}' in '{section}' section");
        if let Some(s) = hint {
            hx.push_str(&format!("; did you mean '{s}' maybe ?"));
        }
        let newer = self.opts.table == TableSet::V2_6 && {
            let m = keywords(TableSet::Master);
            match section {
                "global" => m.global.contains(&kw),
                _ => m.lookup_proxy(&[kw.as_str()]).is_some() || m.section_names.contains(&kw),
            }
        };
        let mut d = if newer {
            Diagnostic::error(Code::NotInVersion, format!("`{kw}` is not known to HAProxy 2.6"))
                .help("it was added in a later HAProxy; remove --haproxy-version 2.6 to check for a newer one")
        } else {
            Diagnostic::error(
                Code::UnknownKeyword,
                format!("unknown keyword `{kw}` in a `{section}` section"),
            )
        };
        d = d
            .at(line.span(start))
            .label("unknown keyword")
            .hx(HaproxyLoc::Parsing, hx);
        if !newer {
            if let Some(s) = hint {
                d = d.help(format!("did you mean `{s}`?"));
            } else if let Some(s) = self.section_hint(&kw) {
                d = d.help(format!("`{kw}` belongs in {s}"));
            }
        }
        self.push(d);
    }

    // ---------------------------------------------------------------- proxies

    /// Proxy keywords (configuration.txt §4.1 matrix, §4.2 entries).
    fn proxy_kw(&mut self, pi: usize, line: &Line, start: usize, modifier: Modifier) {
        let Some(kind) = self.cfg.proxies.get(pi).map(|p| p.kind) else {
            return;
        };
        let words: Vec<&str> = line.words[start..]
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        let section = kind.as_str();
        let Some((canon, n, allow)) = self
            .kw
            .lookup_proxy(&words)
            .map(|(c, n, a)| (c.to_string(), n, *a))
        else {
            self.proxy_unknown(line, start, section, &words);
            return;
        };
        let kw0 = words[0].to_string();
        let pname = self.cfg.proxies[pi].name.name.clone();
        // Where it is allowed.
        let allowed = match kind {
            ProxyKind::Defaults => allow.defaults,
            ProxyKind::Frontend => allow.frontend,
            ProxyKind::Backend => allow.backend,
            ProxyKind::Listen => allow.listen,
        };
        if kind == ProxyKind::Defaults
            && allow.named_defaults_only
            && pname.is_empty()
            && self.opts.table == TableSet::Master
        {
            self.err(
                Code::WrongSection,
                line.span(start),
                format!("`{kw0}` is only allowed in a named defaults section"),
                HaproxyLoc::Parsing,
                format!("'{kw0}' not allowed in anonymous 'defaults' section."),
            );
            return;
        }
        if !allowed {
            let label = if canon.starts_with("option ") {
                words.get(1).copied().unwrap_or("")
            } else {
                &kw0
            };
            match kind {
                ProxyKind::Defaults => {
                    let loc = if kw0 == "server" {
                        HaproxyLoc::Bracket
                    } else {
                        HaproxyLoc::Parsing
                    };
                    self.err(
                        Code::WrongSection,
                        line.span(start),
                        format!("`{canon}` is not allowed in a defaults section"),
                        loc,
                        format!("'{kw0}' not allowed in 'defaults' section."),
                    );
                }
                ProxyKind::Frontend
                    if matches!(
                        kw0.as_str(),
                        "server" | "default-server" | "server-template"
                    ) =>
                {
                    self.err(
                        Code::WrongSection,
                        line.span(start),
                        format!("`{kw0}` needs a backend: frontend `{pname}` has none"),
                        HaproxyLoc::Bracket,
                        format!("parsing [{}:{}] : '{kw0}' not allowed because frontend '{pname}' has no backend capability.", self.file_marker(line.file), line.line),
                    );
                }
                ProxyKind::Backend
                    if canon.starts_with("tcp-request connection")
                        || canon.starts_with("tcp-request session") =>
                {
                    self.err(
                        Code::WrongSection,
                        line.span(start),
                        format!("`{canon}` needs a frontend: backend `{pname}` has none"),
                        HaproxyLoc::Parsing,
                        format!("{canon} is not allowed because backend {pname} is not a frontend"),
                    );
                }
                _ => {
                    let cap = if kind == ProxyKind::Frontend {
                        "backend"
                    } else {
                        "frontend"
                    };
                    let hx = if canon.starts_with("timeout ") {
                        format!("'{canon}' will be ignored because {section} '{pname}' has no {cap} capability")
                    } else if kw0 == "maxconn" {
                        format!("'{label}' ignored because {section} '{pname}' has no {cap} capability. Maybe you want 'fullconn' instead ?")
                    } else if kw0 == "fullconn" {
                        format!("'{label}' ignored because {section} '{pname}' has no {cap} capability. Maybe you want 'maxconn' instead ?")
                    } else {
                        format!("'{label}' ignored because {section} '{pname}' has no {cap} capability.")
                    };
                    self.warn(
                        Code::WrongSection,
                        line.span(start),
                        format!("`{canon}` is ignored in a {section} (it needs {cap} capability)"),
                        HaproxyLoc::Parsing,
                        hx,
                    );
                }
            }
            return;
        }
        if allow.deprecated {
            self.warn(
                Code::Deprecated,
                line.span(start),
                format!("`{canon}` is deprecated"),
                HaproxyLoc::Parsing,
                format!("'{canon}' is deprecated and will be removed in a future version."),
            );
        }
        let dirs = &mut self.cfg.proxies[pi].directives;
        dirs.push(placeholder(canon.clone(), modifier, line));
        self.pending = Some(Slot::Proxy(pi, dirs.len() - 1));
        let a = start + n; // first argument after the keyword
        match kw0.as_str() {
            "mode" => self.kw_mode(pi, line, a),
            "bind" => self.kw_bind(pi, line, start),
            "server" | "default-server" | "server-template" => self.kw_server(pi, line, start),
            "balance" => self.kw_balance(pi, line, a),
            "timeout" => {
                let what = canon.clone();
                if let Some(t) = self.time_arg(line, a, &what) {
                    let key = canon.trim_start_matches("timeout ").to_string();
                    self.cfg.proxies[pi].timeouts.insert(key, t);
                }
            }
            "retries" => {
                self.cfg.proxies[pi].retries = u32::try_from(value::atol(line.arg(a))).ok()
            }
            "maxconn" => {
                self.cfg.proxies[pi].maxconn = u32::try_from(value::atol(line.arg(a))).ok()
            }
            "fullconn" => {
                self.cfg.proxies[pi].fullconn = u32::try_from(value::atol(line.arg(a))).ok()
            }
            "disabled" => self.cfg.proxies[pi].disabled = true,
            "enabled" => self.cfg.proxies[pi].disabled = false,
            "hash-type" => {
                self.cfg.proxies[pi].hash_type =
                    Some(words[1..].iter().map(|s| s.to_string()).collect())
            }
            "option" => {
                let name = Named::from_word(&line.words[start + 1]);
                if kind == ProxyKind::Backend
                    && matches!(name.name.as_str(), "tcplog" | "httplog" | "httpslog")
                {
                    self.warn(
                        Code::WrongSection,
                        line.span(start + 1),
                        format!(
                            "`option {}` does nothing in a backend (logs are written by frontends)",
                            name.name
                        ),
                        HaproxyLoc::Parsing,
                        format!(
                            "backend '{pname}' : 'option {}' directive is ignored in backends.",
                            name.name
                        ),
                    );
                }
                let args = words[2..].iter().map(|s| s.to_string()).collect();
                self.cfg.proxies[pi].options.push(ProxyOption {
                    name,
                    negated: modifier == Modifier::No,
                    args,
                });
            }
            "default_backend" => match line.words.get(a) {
                Some(w) => self.cfg.proxies[pi].default_backend = Some(Named::from_word(w)),
                None => self.err(
                    Code::MissingArgument,
                    line.span(a),
                    "`default_backend` needs a backend name",
                    HaproxyLoc::Parsing,
                    "'default_backend' expects a backend name.",
                ),
            },
            "use_backend" => self.kw_use_backend(pi, line, a),
            "acl" => self.kw_acl(pi, line, a),
            "log" => {
                if let Some(t) = self.log_target(line, start, modifier) {
                    self.cfg.proxies[pi].logs.push(t);
                }
            }
            "http-check" | "tcp-check" => match crate::checks::parse_rule(line) {
                Ok(rule) => {
                    let p = &mut self.cfg.proxies[pi];
                    if kw0 == "http-check" {
                        p.http_checks.push(rule);
                    } else {
                        p.tcp_checks.push(rule);
                    }
                }
                Err(e) => self.err(
                    Code::InvalidArgument,
                    line.span(start + e.word),
                    e.message,
                    HaproxyLoc::Parsing,
                    e.haproxy,
                ),
            },
            "tcp-request"
            | "tcp-response"
            | "http-request"
            | "http-response"
            | "http-after-response" => self.kw_rule(pi, line, start, &canon),
            "filter" => {
                let cfgi = (a..line.words.len()).find(|&j| line.arg(j) == "config");
                if let (true, Some(j)) = (self.opts.check_files && line.arg(a) == "spoe", cfgi) {
                    if let Some(w) = line.words.get(j + 1) {
                        if !Path::new(&w.text).is_file() {
                            let f = w.text.clone();
                            self.err(Code::MissingFile, w.span, format!("SPOE configuration file `{f}` does not exist"), HaproxyLoc::Parsing, format!("'filter' : 'Could not open configuration file {f} : No such file or directory'"));
                        }
                    }
                }
            }
            "errorfile" => {
                if let Some(w) = line.words.get(a + 1) {
                    if self.opts.check_files && !Path::new(&w.text).is_file() {
                        let f = w.text.clone();
                        self.err(
                            Code::MissingFile,
                            w.span,
                            format!("errorfile `{f}` does not exist"),
                            HaproxyLoc::Parsing,
                            format!("errorfile : error opening file '{f}'."),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn proxy_unknown(&mut self, line: &Line, start: usize, section: &str, words: &[&str]) {
        let kw0 = words.first().copied().unwrap_or("");
        if self.report_removed(line, start, kw0) {
            return;
        }
        let prefixes: HashSet<&str> = self.kw.proxy_prefixes().collect();
        if prefixes.contains(kw0) && kw0 != "stats" {
            let sub = words.get(1).copied().unwrap_or("");
            let subs: Vec<&str> = self
                .kw
                .proxy
                .keys()
                .filter_map(|k| k.strip_prefix(kw0).and_then(|r| r.strip_prefix(' ')))
                .map(|r| r.split(' ').next().unwrap_or(r))
                .collect();
            let hint = suggest(sub, subs.iter().copied());
            let (msg, hx) = match kw0 {
                "option" => {
                    let mut hx = format!("unknown option '{sub}'.");
                    if let Some(h) = hint {
                        hx = format!("unknown option '{sub}'; did you mean '{h}' maybe ?");
                    }
                    (format!("unknown option `{sub}`"), hx)
                }
                "timeout" => (
                    format!("unknown timeout `{sub}`"),
                    format!("'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '{sub}')"),
                ),
                _ => (
                    format!("unknown `{kw0} {sub}`"),
                    format!("'{kw0}' expects one of {} but got '{sub}'.", subs.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")),
                ),
            };
            let code = if kw0 == "option" {
                Code::UnknownOption
            } else {
                Code::UnknownKeyword
            };
            let mut d = Diagnostic::error(code, msg)
                .at(line.span(start + 1))
                .hx(HaproxyLoc::Parsing, hx);
            if let Some(h) = hint {
                d = d.help(format!("did you mean `{kw0} {h}`?"));
            }
            self.push(d);
            return;
        }
        if kw0 == "stats" {
            // `stats` sub-keywords not in the matrix (stats socket in a proxy...).
            return;
        }
        let cands: Vec<&str> = self
            .kw
            .proxy
            .keys()
            .map(|k| k.split(' ').next().unwrap_or(k))
            .collect();
        self.unknown_keyword(line, start, section, cands);
    }

    /// `mode` (configuration.txt §4.2 `mode`).
    fn kw_mode(&mut self, pi: usize, line: &Line, a: usize) {
        let m = match line.arg(a) {
            "tcp" => Some(Mode::Tcp),
            "http" => Some(Mode::Http),
            "log" if self.opts.table == TableSet::Master => Some(Mode::Log),
            "spop" if self.opts.table == TableSet::Master => Some(Mode::Spop),
            "health" => Some(Mode::Health),
            other => {
                let other = other.to_string();
                self.push(
                    Diagnostic::error(
                        Code::InvalidArgument,
                        format!("unknown proxy mode `{other}`"),
                    )
                    .at(line.span(a))
                    .help("mode is `tcp` or `http`")
                    .hx(
                        HaproxyLoc::Parsing,
                        format!("unknown proxy mode '{other}'."),
                    ),
                );
                None
            }
        };
        if m.is_some() && !line.arg(a + 1).is_empty() {
            let extra = line.arg(a + 1).to_string();
            self.err(
                Code::TooManyArguments,
                line.span(a + 1),
                format!("`mode` takes one argument; `{extra}` is extra"),
                HaproxyLoc::Parsing,
                format!("'mode' cannot handle unexpected argument '{extra}'."),
            );
        }
        if let Some(m) = m {
            self.cfg.proxies[pi].mode = Some(m);
        }
    }

    /// `balance` (configuration.txt §4.2 `balance`).
    fn kw_balance(&mut self, pi: usize, line: &Line, a: usize) {
        let alg = line.arg(a).to_string();
        let rest: Vec<String> = line
            .words
            .iter()
            .skip(a + 1)
            .map(|w| w.text.clone())
            .collect();
        let b = match alg.as_str() {
            "roundrobin" => Some(Balance::RoundRobin),
            "static-rr" => Some(Balance::StaticRr),
            "leastconn" => Some(Balance::LeastConn),
            "first" => Some(Balance::First),
            "source" => Some(Balance::Source),
            "uri" => Some(Balance::Uri { args: rest }),
            "url_param" => Some(Balance::UrlParam {
                param: rest.first().cloned().unwrap_or_default(),
                args: rest.iter().skip(1).cloned().collect(),
            }),
            "rdp-cookie" => Some(Balance::RdpCookie { name: None }),
            s if s.starts_with("random") => {
                let draws = s
                    .strip_prefix("random(")
                    .and_then(|r| r.strip_suffix(')'))
                    .map(|d| value::atol(d).max(1) as u32)
                    .unwrap_or(2);
                Some(Balance::Random { draws })
            }
            s if s.starts_with("hdr(") && s.ends_with(')') => Some(Balance::Hdr {
                name: s[4..s.len() - 1].to_string(),
                args: rest,
            }),
            s if s.starts_with("rdp-cookie(") && s.ends_with(')') => Some(Balance::RdpCookie {
                name: Some(s[11..s.len() - 1].to_string()),
            }),
            "hash" => Some(Balance::Hash {
                expr: rest.join(" "),
            }),
            "log-hash" if self.opts.table == TableSet::Master => Some(Balance::LogHash {
                conv: rest.join(" "),
            }),
            "sticky" if self.opts.table == TableSet::Master => Some(Balance::Sticky),
            _ => None,
        };
        match b {
            Some(b) => self.cfg.proxies[pi].balance = Some(b),
            None if alg.is_empty() => self.err(
                Code::MissingArgument,
                line.span(a),
                "`balance` needs an algorithm",
                HaproxyLoc::Parsing,
                "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.",
            ),
            None => {
                let algs = [
                    "roundrobin",
                    "static-rr",
                    "leastconn",
                    "first",
                    "source",
                    "uri",
                    "url_param",
                    "hdr(name)",
                    "rdp-cookie",
                    "random",
                    "hash",
                ];
                let mut d = Diagnostic::error(Code::InvalidArgument, format!("unknown balance algorithm `{alg}`"))
                    .at(line.span(a))
                    .hx(HaproxyLoc::Parsing, "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.");
                if let Some(s) = suggest(&alg, algs.iter().copied()) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                self.push(d);
            }
        }
    }

    /// `bind` (configuration.txt §4.2 `bind`, options in §5.1).
    fn kw_bind(&mut self, pi: usize, line: &Line, start: usize) {
        let Some(addr_w) = line.words.get(start + 1).filter(|w| !w.text.is_empty()) else {
            self.err(
                Code::MissingArgument,
                line.span(start + 1),
                "`bind` needs an address",
                HaproxyLoc::Parsing,
                "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.",
            );
            return;
        };
        let mut addresses = Vec::new();
        for part in addr_w.text.split(',') {
            let expanded = value::expand_env(part, self.opts.env);
            let parsed = value::parse_address(&expanded, AddrUse::Bind)
                .and_then(|a| self.address_in_version(a, part));
            match parsed {
                Ok(a) => {
                    if let Host::Name(n) = &a.host {
                        if !self.opts.resolver.resolves(n) {
                            self.err(
                                Code::InvalidAddress,
                                addr_w.span,
                                format!("bind host `{n}` does not resolve"),
                                HaproxyLoc::Parsing,
                                format!("'bind' : invalid address: '{n}' in '{part}'"),
                            );
                            return;
                        }
                    }
                    addresses.push((
                        Named {
                            name: part.to_string(),
                            span: addr_w.span,
                        },
                        a,
                    ));
                }
                Err(e) => {
                    let hx = format!("'bind' : {}", e.haproxy_text(part));
                    self.push(
                        Diagnostic::error(
                            Code::InvalidAddress,
                            format!("invalid bind address `{part}`"),
                        )
                        .at(addr_w.span)
                        .label(e.haproxy_text(part))
                        .hx(HaproxyLoc::Parsing, hx),
                    );
                    return;
                }
            }
        }
        let mut b = Bind {
            addresses,
            name: None,
            maxconn: None,
            backlog: None,
            v4v6: false,
            v6only: false,
            accept_proxy: false,
            ssl: false,
            other: Vec::new(),
            span: line.span_from(start),
        };
        let mut i = start + 2;
        let crt_base = self.global_dir("crt-base");
        let ca_base = self.global_dir("ca-base");
        while i < line.words.len() && !line.arg(i).is_empty() {
            let k = line.arg(i).to_string();
            if !self.kw.bind.contains(&k) && k != "expose-fd" && k != "process" {
                let hint = suggest(&k, self.kw.bind.iter().map(String::as_str));
                let mut d = Diagnostic::error(
                    Code::UnknownBindKeyword,
                    format!("unknown bind option `{k}`"),
                )
                .at(line.span(i))
                .hx(
                    HaproxyLoc::Parsing,
                    format!(
                        "'bind {}' in section '{}': unknown keyword '{k}'.",
                        addr_w.text,
                        self.cfg.proxies[pi].kind.as_str()
                    ),
                );
                if let Some(h) = hint {
                    d = d.help(format!("did you mean `{h}`?"));
                }
                self.push(d);
                return;
            }
            let takes = !option_takes_no_arg(&k) || k == "expose-fd";
            let arg = takes.then(|| line.arg(i + 1).to_string());
            match k.as_str() {
                "name" => b.name = arg.clone(),
                "maxconn" => {
                    b.maxconn = arg
                        .as_deref()
                        .and_then(|s| u32::try_from(value::atol(s)).ok())
                }
                "backlog" => {
                    b.backlog = arg
                        .as_deref()
                        .and_then(|s| u32::try_from(value::atol(s)).ok())
                }
                "v4v6" => b.v4v6 = true,
                "v6only" => b.v6only = true,
                "accept-proxy" => b.accept_proxy = true,
                "ssl" => b.ssl = true,
                "crt" | "ca-file" | "crl-file" | "crt-list" => {
                    if let (Some(f), true) = (arg.as_deref(), self.opts.check_files) {
                        let base = if k == "crt" || k == "crt-list" {
                            crt_base.as_deref()
                        } else {
                            ca_base.as_deref()
                        };
                        let path = with_base(base, f);
                        if !Path::new(&path).exists() {
                            let hx = if k == "crt" {
                                format!("'bind {}' in section '{}' : unable to stat SSL certificate from file '{path}' : No such file or directory.", addr_w.text, self.cfg.proxies[pi].kind.as_str())
                            } else {
                                format!("'bind {}' : unable to load {path}", addr_w.text)
                            };
                            self.err(
                                Code::MissingFile,
                                line.span(i + 1),
                                format!("{k} file `{path}` does not exist"),
                                HaproxyLoc::Parsing,
                                hx,
                            );
                        }
                    }
                    b.other.push((k.clone(), arg.clone(), line.span(i)));
                }
                _ => b.other.push((k.clone(), arg.clone(), line.span(i))),
            }
            i += if takes { 2 } else { 1 };
        }
        self.cfg.proxies[pi].binds.push(b);
    }

    /// Protocols the selected HAProxy lacks: 2.6 has no MPTCP, and the reference
    /// build (Debian's) no QUIC.
    fn address_in_version(
        &self,
        a: value::Address,
        raw: &str,
    ) -> Result<value::Address, value::AddrError> {
        if self.opts.table != TableSet::V2_6 {
            return Ok(a);
        }
        match a.prefix.as_deref() {
            Some(q @ ("quic4" | "quic6")) => Err(value::AddrError::Unsupported(format!(
                "unsupported stream protocol for datagram family {} address '{raw}'; QUIC is not compiled in if this is what you were looking for.",
                if q == "quic6" { 10 } else { 2 }
            ))),
            Some("mptcp" | "mptcp4" | "mptcp6") => Err(value::AddrError::Invalid(raw.to_string())),
            _ => Ok(a),
        }
    }

    fn global_dir(&self, kw: &str) -> Option<String> {
        self.cfg
            .global
            .directives
            .iter()
            .rev()
            .find(|d| d.keyword == kw)
            .map(|d| d.line.arg(1).to_string())
    }

    /// `server` / `default-server` (configuration.txt §4.2 `server`, §5.2 options).
    fn kw_server(&mut self, pi: usize, line: &Line, start: usize) {
        let is_default = line.arg(start) == "default-server";
        let is_template = line.arg(start) == "server-template";
        let pname = self.cfg.proxies[pi].name.name.clone();
        // server-template <prefix> <num | low-high> <addr> [params]: servers prefix<low>..prefix<high>.
        let mut template_ids: Option<(u32, u32)> = None;
        let (name, address, mut i) = if is_default {
            (
                Named {
                    name: String::new(),
                    span: line.span(start),
                },
                None,
                start + 1,
            )
        } else if is_template {
            let (Some(n), Some(r), Some(a)) = (
                line.words.get(start + 1),
                line.words.get(start + 2),
                line.words.get(start + 3).filter(|w| !w.text.is_empty()),
            ) else {
                self.push(
                    Diagnostic::error(Code::MissingArgument, "`server-template` needs a prefix, a number or range and an address")
                        .at(line.span_from(start))
                        .hx(HaproxyLoc::Bracket, "'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments."),
                );
                return;
            };
            let range = match r.text.split_once('-') {
                Some((a, b)) => (value::atol(a), value::atol(b)),
                None => (1, value::atol(&r.text)),
            };
            if range.0 < 1 || range.1 < range.0 || range.1 > 1_000_000 {
                self.err(
                    Code::InvalidArgument,
                    r.span,
                    format!("invalid server-template range `{}`", r.text),
                    HaproxyLoc::Bracket,
                    format!("'server-template' : invalid range '{}'.", r.text),
                );
                return;
            }
            template_ids = Some((range.0 as u32, range.1 as u32));
            (
                Named {
                    name: format!("{}{}", n.text, range.0),
                    span: n.span,
                },
                Some(Named::from_word(a)),
                start + 4,
            )
        } else {
            let (Some(n), Some(a)) = (
                line.words.get(start + 1),
                line.words.get(start + 2).filter(|w| !w.text.is_empty()),
            ) else {
                self.push(
                    Diagnostic::error(
                        Code::MissingArgument,
                        "`server` needs a name and an address",
                    )
                    .at(line.span_from(start))
                    .help("write `server <name> <address>[:<port>] [options]`")
                    .hx(
                        HaproxyLoc::Bracket,
                        "'server' expects <name> and <addr>[:<port>] as arguments.",
                    ),
                );
                return;
            };
            (Named::from_word(n), Some(Named::from_word(a)), start + 3)
        };
        let sctx = format!("'server {pname}/{}'", name.name);
        let mut parsed = None;
        if let Some(a) = &address {
            let expanded = value::expand_env(&a.name, self.opts.env);
            match value::parse_address(&expanded, AddrUse::Server) {
                Ok(ad) => parsed = Some(ad),
                Err(e) => {
                    self.push(
                        Diagnostic::error(
                            if e == value::AddrError::Empty {
                                Code::EmptyAddress
                            } else {
                                Code::InvalidAddress
                            },
                            format!("invalid server address `{}`", a.name),
                        )
                        .at(a.span)
                        .label(e.haproxy_text(&a.name))
                        .hx(
                            HaproxyLoc::Bracket,
                            format!("{sctx} : {}", e.haproxy_text(&a.name)),
                        ),
                    );
                    return;
                }
            }
        }
        if let Some(bad) = name
            .name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            self.err(
                Code::InvalidArgument,
                name.span,
                format!("invalid character `{bad}` in server name `{}`", name.name),
                HaproxyLoc::Bracket,
                format!(
                    "character '{bad}' is not permitted in server name '{}'.",
                    name.name
                ),
            );
            return;
        }
        // Duplicate server names are fatal in 2.6.
        if !is_default {
            if let Some(prev) = self
                .server_index
                .get(&(pi, name.name.clone()))
                .and_then(|&k| self.cfg.proxies[pi].servers.get(k))
            {
                let pl = prev.span.line;
                let ps = prev.name.span;
                let kind = self.cfg.proxies[pi].kind.as_str();
                self.push(
                    Diagnostic::error(Code::DuplicateServer, format!("server `{}` is defined twice in {kind} `{pname}`", name.name))
                        .at(name.span)
                        .related(ps, "first defined here")
                        .hx(HaproxyLoc::Parsing, format!("{kind} '{pname}', another server named '{}' was already defined at line {pl}, please use distinct names.", name.name)),
                );
            }
        }
        let mut sd = ServerDef {
            name,
            address,
            parsed,
            params: ServerParams::default(),
            other: Vec::new(),
            span: line.span_from(start),
        };
        let ca_base = self.global_dir("ca-base");
        let crt_base = self.global_dir("crt-base");
        while i < line.words.len() && !line.arg(i).is_empty() {
            let k = line.arg(i).to_string();
            let known = self.kw.server.contains(&k)
                || k.starts_with("set-proxy-v2-tlv-fmt(")
                || k == "no-check-send-proxy";
            if !known {
                let hint = suggest(&k, self.kw.server.iter().map(String::as_str));
                let mut hx = format!("{sctx} : unknown keyword '{k}'.");
                if let Some(h) = hint {
                    hx = format!("{sctx} : unknown keyword '{k}'; did you mean '{h}' maybe ?");
                }
                let newer = self.opts.table == TableSet::V2_6
                    && keywords(TableSet::Master).server.contains(&k);
                let mut d = if newer {
                    Diagnostic::error(
                        Code::NotInVersion,
                        format!("server option `{k}` is not known to HAProxy 2.6"),
                    )
                    .help("it was added in a later HAProxy")
                } else {
                    Diagnostic::error(
                        Code::UnknownServerKeyword,
                        format!("unknown server option `{k}`"),
                    )
                };
                d = d
                    .at(line.span(i))
                    .label("unknown server option")
                    .hx(HaproxyLoc::Bracket, hx);
                if let (Some(h), false) = (hint, newer) {
                    d = d.help(format!("did you mean `{h}`?"));
                }
                self.push(d);
                return;
            }
            if k == "source" {
                // `source <addr>[:port] [usesrc ...] [interface ...]`: takes the rest.
                sd.params.source = Some(
                    line.words[i + 1..]
                        .iter()
                        .map(|w| w.text.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                break;
            }
            let takes = !option_takes_no_arg(&k);
            let arg_w = line.words.get(i + 1);
            let arg = if takes {
                arg_w.map(|w| w.text.clone())
            } else {
                None
            };
            if takes && arg.as_deref().is_none_or(str::is_empty) {
                self.err(
                    Code::MissingArgument,
                    line.span(i),
                    format!("server option `{k}` needs an argument"),
                    HaproxyLoc::Bracket,
                    format!("{sctx} : '{k}' expects an argument."),
                );
                return;
            }
            let a = arg.clone().unwrap_or_default();
            let p = &mut sd.params;
            let time = |s: &str| value::parse_time(s, 1);
            let mut bad_time = None;
            match k.as_str() {
                "check" => p.check = Some(true),
                "no-check" => p.check = Some(false),
                "backup" => p.backup = Some(true),
                "no-backup" => p.backup = Some(false),
                "disabled" => p.disabled = Some(true),
                "enabled" => p.disabled = Some(false),
                "send-proxy" => p.send_proxy = Some(true),
                "no-send-proxy" => p.send_proxy = Some(false),
                "send-proxy-v2" => p.send_proxy_v2 = Some(true),
                "no-send-proxy-v2" => p.send_proxy_v2 = Some(false),
                "check-send-proxy" => p.check_send_proxy = Some(true),
                "check-ssl" => p.check_ssl = Some(true),
                "no-check-ssl" => p.check_ssl = Some(false),
                "ssl" => p.ssl = Some(true),
                "no-ssl" => p.ssl = Some(false),
                "agent-check" => p.agent_check = Some(true),
                "no-agent-check" => p.agent_check = Some(false),
                "inter" | "fastinter" | "downinter" | "agent-inter" | "slowstart" => match time(&a)
                {
                    Ok(t) => match k.as_str() {
                        "inter" => p.inter = Some(t),
                        "fastinter" => p.fastinter = Some(t),
                        "downinter" => p.downinter = Some(t),
                        "agent-inter" => p.agent_inter = Some(t),
                        _ => p.slowstart = Some(t),
                    },
                    Err(e) => bad_time = Some(e),
                },
                "rise" | "fall" => {
                    let v = value::atol(&a);
                    if v <= 0 {
                        self.err(
                            Code::InvalidArgument,
                            line.span(i + 1),
                            format!("`{k}` must be greater than 0"),
                            HaproxyLoc::Bracket,
                            format!("{sctx} : '{k}' has to be > 0."),
                        );
                        return;
                    }
                    let v = u32::try_from(v).unwrap_or(u32::MAX);
                    if k == "rise" {
                        p.rise = Some(v)
                    } else {
                        p.fall = Some(v)
                    }
                }
                "weight" => {
                    let v = value::atol(&a);
                    if !(0..=256).contains(&v) {
                        self.err(
                            Code::InvalidArgument,
                            line.span(i + 1),
                            format!("weight {v} is not within 0 and 256"),
                            HaproxyLoc::Bracket,
                            format!(
                                "{sctx} : weight of server {} is not within 0 and 256 ({v})..",
                                sd.name.name
                            ),
                        );
                        return;
                    }
                    p.weight = Some(v as u32);
                }
                "maxconn" => p.maxconn = u32::try_from(value::atol(&a)).ok(),
                "maxqueue" => p.maxqueue = u32::try_from(value::atol(&a)).ok(),
                "minconn" => p.minconn = u32::try_from(value::atol(&a)).ok(),
                "port" => p.port = u16::try_from(value::atol(&a)).ok(),
                "agent-port" => p.agent_port = u16::try_from(value::atol(&a)).ok(),
                "addr" => p.addr = Some(a.clone()),
                "agent-addr" => p.agent_addr = Some(a.clone()),
                "agent-send" => p.agent_send = Some(a.clone()),
                "on-marked-down" | "on-marked-up" | "on-error" => {
                    let ok = match k.as_str() {
                        "on-marked-down" => a == "shutdown-sessions",
                        "on-marked-up" => a == "shutdown-backup-sessions",
                        _ => matches!(
                            a.as_str(),
                            "fastinter" | "fail-check" | "sudden-death" | "mark-down"
                        ),
                    };
                    if !ok {
                        self.err(
                            Code::InvalidArgument,
                            line.span(i + 1),
                            format!("`{k}` does not accept `{a}`"),
                            HaproxyLoc::Bracket,
                            format!("{sctx} : '{k}' expects a valid action but got '{a}'."),
                        );
                        return;
                    }
                    match k.as_str() {
                        "on-marked-down" => p.on_marked_down = Some(a.clone()),
                        "on-marked-up" => p.on_marked_up = Some(a.clone()),
                        _ => p.on_error = Some(a.clone()),
                    }
                }
                "init-addr" => p.init_addr = Some(a.split(',').map(str::to_string).collect()),
                "init-state" => p.init_state = Some(a.clone()),
                "track" => p.track = arg_w.map(Named::from_word),
                "verify" => p.verify = Some(a.clone()),
                "resolvers" => p.resolvers = arg_w.map(Named::from_word),
                "ca-file" | "crt" | "crl-file" => {
                    let base = if k == "crt" {
                        crt_base.as_deref()
                    } else {
                        ca_base.as_deref()
                    };
                    let path = with_base(base, &a);
                    if self.opts.check_files && !Path::new(&path).exists() && !a.starts_with('@') {
                        let hx = if k == "crt" {
                            format!("{sctx} : unable to stat SSL certificate from file '{path}' : No such file or directory.")
                        } else {
                            format!("{sctx} : unable to load {path}")
                        };
                        self.err(
                            Code::MissingFile,
                            line.span(i + 1),
                            format!("{k} file `{path}` does not exist"),
                            HaproxyLoc::Bracket,
                            hx,
                        );
                    }
                    if let Some(w) = arg_w {
                        if k == "ca-file" {
                            p.ca_file = Some(Named::from_word(w))
                        } else if k == "crt" {
                            p.crt = Some(Named::from_word(w))
                        }
                    }
                }
                _ => sd.other.push((k.clone(), arg.clone(), line.span(i))),
            }
            if let Some(e) = bad_time {
                let c = match e {
                    value::TimeError::UnexpectedChar(c) => c,
                    _ => ' ',
                };
                self.err(
                    Code::InvalidArgument,
                    line.span(i + 1),
                    format!("invalid time `{a}` for `{k}`"),
                    HaproxyLoc::Bracket,
                    format!(
                        "{sctx} : unexpected character '{c}' in '{k}' argument of server {}..",
                        sd.name.name
                    ),
                );
                return;
            }
            i += if takes { 2 } else { 1 };
        }
        if !is_default && sd.params.track.is_some() && self.effective_check(pi, &sd.params) {
            self.err(
                Code::InvalidArgument,
                line.span_from(start),
                format!(
                    "server `{}` both checks and tracks: choose one",
                    sd.name.name
                ),
                HaproxyLoc::Bracket,
                format!("{sctx} : unable to enable checks and tracking at the same time!"),
            );
            return;
        }
        let p = &mut self.cfg.proxies[pi];
        if is_default {
            // default-server lines accumulate.
            match &mut p.default_server {
                Some(prev) => {
                    merge_params(&mut prev.params, &sd.params, &mut prev.other, &sd.other)
                }
                None => p.default_server = Some(sd),
            }
        } else if let Some((lo, hi)) = template_ids {
            let prefix = line.arg(start + 1).to_string();
            for n in lo..=hi {
                let mut s = sd.clone();
                s.name.name = format!("{prefix}{n}");
                self.server_index
                    .entry((pi, s.name.name.clone()))
                    .or_insert(p.servers.len());
                p.servers.push(s);
            }
        } else {
            self.server_index
                .entry((pi, sd.name.name.clone()))
                .or_insert(p.servers.len());
            p.servers.push(sd);
        }
    }

    /// Whether a server being parsed has `check`, counting the `default-server` lines
    /// seen so far in its proxy and in the defaults section it inherits from (HAProxy
    /// applies them when the server line is parsed).
    fn effective_check(&self, pi: usize, own: &ServerParams) -> bool {
        if let Some(c) = own.check {
            return c;
        }
        let Some(p) = self.cfg.proxies.get(pi) else {
            return false;
        };
        if let Some(c) = p.default_server.as_ref().and_then(|d| d.params.check) {
            return c;
        }
        let defaults = match &p.from {
            Some(f) => self.cfg.proxies[..pi]
                .iter()
                .rev()
                .find(|d| d.kind == ProxyKind::Defaults && d.name.name == f.name),
            None => self.cfg.proxies[..pi]
                .iter()
                .rev()
                .find(|d| d.kind == ProxyKind::Defaults),
        };
        defaults
            .and_then(|d| d.default_server.as_ref())
            .and_then(|d| d.params.check)
            .unwrap_or(false)
    }

    /// `use_backend <name> [{if|unless} <cond>]` (configuration.txt §4.2).
    fn kw_use_backend(&mut self, pi: usize, line: &Line, a: usize) {
        let Some(w) = line.words.get(a) else {
            self.err(
                Code::MissingArgument,
                line.span(a),
                "`use_backend` needs a backend name",
                HaproxyLoc::Parsing,
                "'use_backend' expects a backend name.",
            );
            return;
        };
        let cond = match line.arg(a + 1) {
            "if" | "unless" => self.condition(line, a + 1, "switching rule"),
            "" => None,
            other => {
                let other = other.to_string();
                self.err(
                    Code::ConditionExpression,
                    line.span(a + 1),
                    format!("expected `if` or `unless`, found `{other}`"),
                    HaproxyLoc::Parsing,
                    format!(
                        "'use_backend' : unexpected keyword '{other}'. Expecting 'if' or 'unless'."
                    ),
                );
                return;
            }
        };
        self.cfg.proxies[pi].use_backends.push(UseBackend {
            backend: Named::from_word(w),
            cond,
        });
    }

    /// `acl <name> <criterion> [flags] [operator] [<value>] ...` (configuration.txt §7.1).
    fn kw_acl(&mut self, pi: usize, line: &Line, a: usize) {
        let (Some(name), Some(_)) = (line.words.get(a), line.words.get(a + 1)) else {
            self.err(
                Code::MissingArgument,
                line.span(a),
                "`acl` needs a name and a criterion",
                HaproxyLoc::Parsing,
                "'acl' expects an ACL name.",
            );
            return;
        };
        let words: Vec<&str> = line.words[a + 1..]
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        let name_s = name.text.clone();
        match self.acl_expr(line, a + 1, &words) {
            Ok(expr) => {
                self.acl_names.insert(name_s.clone());
                self.cfg.proxies[pi].acls.push(Acl {
                    name: Named::from_word(name),
                    expr,
                });
            }
            Err((code, span, msg, detail)) => {
                self.push(Diagnostic::error(code, msg).at(span).hx(
                    HaproxyLoc::Parsing,
                    format!("error detected while parsing ACL '{name_s}' : {detail}."),
                ));
            }
        }
    }

    /// Parse an ACL expression starting at word `i` (`words` = the words from there).
    #[allow(clippy::type_complexity)]
    fn acl_expr(
        &self,
        line: &Line,
        i: usize,
        words: &[&str],
    ) -> Result<AclExpr, (Code, Span, String, String)> {
        let crit = words.first().copied().unwrap_or("");
        let mut parts = split_converters(crit);
        let head = parts.remove(0);
        let (fname, args) = match head.find('(') {
            Some(p) => (
                &head[..p],
                Some(head[p + 1..].trim_end_matches(')').to_string()),
            ),
            None => (head, None),
        };
        let known = self.kw.fetches.contains(fname) || self.kw.acl_keywords.contains(fname);
        if !known {
            let hint = suggest(
                fname,
                self.kw
                    .fetches
                    .iter()
                    .map(String::as_str)
                    .chain(self.kw.acl_keywords.iter().map(String::as_str)),
            );
            let msg = format!(
                "unknown fetch method `{fname}`{}",
                hint.map(|h| format!(" (did you mean `{h}`?)"))
                    .unwrap_or_default()
            );
            return Err((
                Code::UnknownFetch,
                line.span(i),
                msg,
                format!("unknown fetch method '{fname}' in ACL expression '{crit}'"),
            ));
        }
        for c in &parts {
            if let Some((conv, file)) = map_file(c) {
                if self.opts.check_files && !Path::new(&file).exists() {
                    return Err((
                        Code::MissingFile,
                        line.span(i),
                        format!("map file `{file}` does not exist"),
                        format!("invalid args in converter '{conv}' : failed to open pattern file <{file}> in ACL expression '{crit}'"),
                    ));
                }
            }
            let cname = c.split('(').next().unwrap_or(c);
            if !self.kw.converters.contains(cname) {
                return Err((
                    Code::UnknownConverter,
                    line.span(i),
                    format!("unknown converter `{cname}`"),
                    format!("unknown converter '{cname}' in ACL expression '{crit}'"),
                ));
            }
        }
        let mut flags = Vec::new();
        let mut k = 1;
        while let Some(f) = words.get(k).filter(|f| {
            f.starts_with('-') && f.len() > 1 && !f[1..].starts_with(|c: char| c.is_ascii_digit())
        }) {
            flags.push(f.to_string());
            let takes = matches!(*f, "-f" | "-m" | "-M");
            if *f == "--" {
                k += 1;
                break;
            }
            if takes {
                if let Some(v) = words.get(k + 1) {
                    flags.push(v.to_string());
                    if *f == "-f" && self.opts.check_files && !Path::new(v).exists() {
                        return Err((
                            Code::MissingFile,
                            line.span(i + k + 1),
                            format!("pattern file `{v}` does not exist"),
                            format!("failed to open pattern file <{v}>"),
                        ));
                    }
                }
                k += 2;
            } else {
                k += 1;
            }
        }
        Ok(AclExpr {
            fetch: Named {
                name: fname.to_string(),
                span: line.span(i),
            },
            args,
            converters: parts.iter().map(|s| s.to_string()).collect(),
            flags,
            patterns: words
                .get(k..)
                .unwrap_or(&[])
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })
    }

    /// Parse `if|unless <cond>` starting at word `i` (configuration.txt §7.2).
    fn condition(&mut self, line: &Line, i: usize, what: &str) -> Option<Condition> {
        let unless = line.arg(i) == "unless";
        let mut or_terms: Vec<Vec<CondTerm>> = vec![Vec::new()];
        let mut k = i + 1;
        let predefined = [
            "TRUE",
            "FALSE",
            "LOCALHOST",
            "HTTP",
            "HTTP_1.0",
            "HTTP_1.1",
            "HTTP_2.0",
            "HTTP_3.0",
            "HTTP_CONTENT",
            "HTTP_URL_ABS",
            "HTTP_URL_SLASH",
            "HTTP_URL_STAR",
            "METH_CONNECT",
            "METH_DELETE",
            "METH_GET",
            "METH_HEAD",
            "METH_OPTIONS",
            "METH_POST",
            "METH_PUT",
            "METH_TRACE",
            "RDP_COOKIE",
            "REQ_CONTENT",
            "WAIT_END",
        ];
        while k < line.words.len() && !line.arg(k).is_empty() {
            let mut t = line.arg(k).to_string();
            if t == "||" || t == "or" {
                or_terms.push(Vec::new());
                k += 1;
                continue;
            }
            let mut negated = false;
            while let Some(r) = t.strip_prefix('!') {
                negated = !negated;
                t = r.to_string();
            }
            if t.is_empty() {
                k += 1;
                t = line.arg(k).to_string();
            }
            if t == "{" {
                let end = (k + 1..line.words.len()).find(|&j| line.arg(j) == "}");
                let Some(end) = end else {
                    self.err(Code::ConditionExpression, line.span(k), "`{` without matching `}` in condition", HaproxyLoc::Parsing, format!("error detected while parsing {what} : missing closing '}}' in condition."));
                    return None;
                };
                let words: Vec<&str> = line.words[k + 1..end]
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect();
                match self.acl_expr(line, k + 1, &words) {
                    Ok(expr) => or_terms
                        .last_mut()?
                        .push(CondTerm::Anonymous { negated, expr }),
                    Err((code, span, msg, detail)) => {
                        self.push(Diagnostic::error(code, msg).at(span).hx(
                            HaproxyLoc::Parsing,
                            format!("error detected while parsing {what} : {detail}."),
                        ));
                        return None;
                    }
                }
                k = end + 1;
                continue;
            }
            if !self.acl_names.contains(&t) && !predefined.contains(&t.as_str()) {
                let hint = suggest(&t, self.acl_names.iter().map(String::as_str));
                let mut d = Diagnostic::error(
                    Code::UnknownAcl,
                    format!("no ACL named `{t}` is declared before this line"),
                )
                .at(line.span(k))
                .hx(
                    HaproxyLoc::Parsing,
                    format!("error detected while parsing {what} : no such ACL : '{t}'."),
                );
                if let Some(h) = hint {
                    d = d.help(format!("did you mean `{h}`?"));
                }
                self.push(d);
                return None;
            }
            or_terms.last_mut()?.push(CondTerm::Named {
                negated,
                name: Named {
                    name: t,
                    span: line.span(k),
                },
            });
            k += 1;
        }
        Some(Condition {
            unless,
            or_terms,
            span: line.span_from(i),
        })
    }

    /// `tcp-request`, `http-request`... rules: the action must exist for the rule set.
    fn kw_rule(&mut self, pi: usize, line: &Line, start: usize, canon: &str) {
        let nwords = canon.split(' ').count();
        let ai = start + nwords;
        if canon.ends_with("inspect-delay") {
            self.time_arg(line, ai, canon);
            return;
        }
        let Some(action_w) = line.words.get(ai) else {
            self.err(
                Code::MissingArgument,
                line.span(ai),
                format!("`{canon}` needs an action"),
                HaproxyLoc::Parsing,
                format!("'{canon}' expects an action."),
            );
            return;
        };
        let action = action_w.text.clone();
        let base = action.split('(').next().unwrap_or(&action).to_string();
        let rs = canon.to_string();
        let is_lua = base.starts_with("lua.");
        let known =
            self.kw.has_action(&rs, &base)
                || (is_lua && self.has_lua)
                || (base.starts_with("track-sc") || base.starts_with("sc-"))
                    && self.kw.actions.get(&rs).is_some_and(|s| {
                        s.iter().any(|a| a.starts_with(&base[..base.len().min(8)]))
                    });
        if !known && self.kw.actions.contains_key(&rs) {
            let list: Vec<&str> = self
                .kw
                .actions
                .get(&rs)
                .map(|s| {
                    let mut v: Vec<&str> = s.iter().map(String::as_str).collect();
                    v.sort();
                    v
                })
                .unwrap_or_default();
            let hint = suggest(&base, list.iter().copied());
            let mut d = Diagnostic::error(
                Code::UnknownAction,
                format!("unknown `{rs}` action `{base}`"),
            )
            .at(action_w.span)
            .hx(
                HaproxyLoc::ParsingTight,
                format!(
                    "'{rs}' expects {} but got '{action}'.",
                    list.iter()
                        .map(|a| format!("'{a}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            if let Some(h) = hint {
                d = d.help(format!("did you mean `{h}`?"));
            }
            self.push(d);
            return;
        }
        // `set-var(x) <expr>`: the expression's fetch must exist.
        if base == "set-var" {
            if let Some(expr) = line.words.get(ai + 1) {
                let head = split_converters(&expr.text)
                    .first()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let fname = head.split('(').next().unwrap_or("").to_string();
                if !fname.is_empty()
                    && !self.kw.fetches.contains(&fname)
                    && !fname
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit() || c == '"')
                {
                    let pname = self.cfg.proxies[pi].name.name.clone();
                    let kind = self.cfg.proxies[pi].kind.as_str();
                    self.push(
                        Diagnostic::error(Code::UnknownFetch, format!("unknown fetch method `{fname}`"))
                            .at(expr.span)
                            .hx(HaproxyLoc::Parsing, format!("error detected in {kind} '{pname}' while parsing '{rs} {action}' rule : unknown fetch method '{fname}'.")),
                    );
                    return;
                }
            }
        }
        if self.opts.check_files {
            for w in &line.words[ai + 1..] {
                for (conv, file) in map_files_in(&w.text) {
                    if !Path::new(&file).exists() {
                        let pname = self.cfg.proxies[pi].name.name.clone();
                        let kind = self.cfg.proxies[pi].kind.as_str();
                        self.push(
                            Diagnostic::error(Code::MissingFile, format!("map file `{file}` does not exist"))
                                .at(w.span)
                                .hx(HaproxyLoc::Parsing, format!("error detected in {kind} '{pname}' while parsing '{rs} {action}' rule : failed to parse sample expression <{}> : invalid args in converter '{conv}' : failed to open pattern file <{file}>.", w.text.trim_start_matches("%["))),
                        );
                        return;
                    }
                }
            }
        }
        let ci = (ai + 1..line.words.len()).find(|&j| matches!(line.arg(j), "if" | "unless"));
        let cond = ci.and_then(|j| self.condition(line, j, &format!("'{rs}' rule")));
        let args = line.words[ai + 1..ci.unwrap_or(line.words.len())]
            .iter()
            .map(|w| w.text.clone())
            .collect();
        self.cfg.proxies[pi].rules.push(Rule {
            ruleset: rs,
            action: Named::from_word(action_w),
            args,
            cond,
        });
    }
}

/// A `map*(<file>[,default])` converter and its file, from one converter text.
fn map_file(conv: &str) -> Option<(String, String)> {
    let (name, args) = conv.split_once('(')?;
    if !(name == "map" || name.starts_with("map_")) {
        return None;
    }
    let file = args
        .trim_end_matches(']')
        .trim_end_matches(')')
        .split(',')
        .next()?
        .trim();
    (!file.is_empty()).then(|| (name.to_string(), file.to_string()))
}

/// Every `map*(<file>...)` converter inside `%[...]` or sample expressions of a word.
fn map_files_in(word: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = word;
    while let Some(i) = rest.find("map") {
        let tail = &rest[i..];
        let boundary = i == 0 || matches!(rest.as_bytes()[i - 1], b',' | b'[' | b' ');
        if boundary {
            let end = tail.find(')').map(|e| e + 1).unwrap_or(tail.len());
            if let Some(m) = map_file(&tail[..end]) {
                out.push(m);
            }
        }
        rest = &tail[3..];
    }
    out
}

/// Split `fetch(args),conv1(a),conv2` on top-level commas.
fn split_converters(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut last = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[last..i]);
                last = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[last..]);
    out
}

fn with_base(base: Option<&str>, f: &str) -> String {
    match base {
        Some(b) if !f.starts_with('/') && !b.is_empty() => {
            format!("{}/{f}", b.trim_end_matches('/'))
        }
        _ => f.to_string(),
    }
}

/// Merge a later `default-server` line into the accumulated one.
fn merge_params(
    into: &mut ServerParams,
    from: &ServerParams,
    into_other: &mut Vec<(String, Option<String>, Span)>,
    from_other: &[(String, Option<String>, Span)],
) {
    crate::resolve::inherit_params(into, from, true);
    into_other.extend(from_other.iter().cloned());
}

/// Whether a user or group name is listed in `/etc/passwd` or `/etc/group`.
fn name_in_db(db: &str, name: &str) -> bool {
    match std::fs::read_to_string(db) {
        Ok(text) => text.lines().any(|l| l.split(':').next() == Some(name)),
        Err(_) => true, // cannot tell: do not report
    }
}
