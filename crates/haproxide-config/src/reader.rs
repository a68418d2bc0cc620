//! Reading configuration files: files and directories → lines of words.
//!
//! This is HAProxy's `readcfgfile()` loop (configuration.txt §2 "Configuring
//! HAProxy"): each line is split into words ([`crate::lexer`]), conditional blocks
//! (§2.4) are applied, directives (`.diag`, `.notice`, `.warning`, `.alert`) are
//! executed, and what remains is handed on as [`Line`]s. Diagnostics are
//! interleaved with the lines as [`Event`]s so that the model layer reports
//! everything in the order HAProxy would.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::cond::{self, CondContext};
use crate::diag::{Code, Diagnostic, HaproxyLoc, Severity};
use crate::lexer::{self, Env, LexErrorKind};
use crate::source::{FileId, SourceFile, SourceMap, Span};

/// HAProxy's `MAXNESTEDCONDS`.
pub const MAX_NESTED_CONDS: usize = 1024;

/// A word of the configuration, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The value after quote removal and expansion (bytes that are not UTF-8 as
    /// `haproxide_expr::rawtext` private-use characters).
    pub text: String,
    pub span: Span,
    /// Some part of the word was quoted: an empty quoted word is a real argument.
    pub quoted: bool,
}

impl Word {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A non-empty, non-masked line of configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub file: FileId,
    pub line: u32,
    pub words: Vec<Word>,
}

impl Line {
    /// The word at `i`, or `""` (HAProxy's args array ends in empty strings).
    pub fn arg(&self, i: usize) -> &str {
        self.words.get(i).map(|w| w.text.as_str()).unwrap_or("")
    }

    /// The span of word `i`, or of the end of the line when it is absent.
    pub fn span(&self, i: usize) -> Span {
        match self.words.get(i) {
            Some(w) => w.span,
            None => match self.words.last() {
                Some(w) => Span {
                    start: w.span.end,
                    end: w.span.end,
                    ..w.span
                },
                None => Span::line(self.file, self.line),
            },
        }
    }

    /// Span from word `i` to the last word.
    pub fn span_from(&self, i: usize) -> Span {
        match (self.words.get(i), self.words.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => self.span(i),
        }
    }
}

/// What the reader produces, in file order.
#[derive(Debug, Clone)]
pub enum Event {
    Line(Line),
    Diag(Diagnostic),
    /// The end of one file (HAProxy ends a section's post-parser here).
    EndOfFile(FileId),
}

/// Options for reading.
pub struct ReadOptions<'a> {
    pub env: &'a dyn Env,
    pub cond: CondContext,
}

/// Environment changes made by `setenv`, `presetenv`, `unsetenv` and `resetenv` in
/// `global` (configuration.txt §3.1): they apply to the lines that follow.
#[derive(Debug, Clone, Default)]
pub struct EnvOverlay {
    /// Variables set (Some) or unset (None) by the configuration.
    pub vars: HashMap<String, Option<String>>,
    /// After `resetenv`: only these process variables remain visible.
    pub keep_only: Option<HashSet<String>>,
}

impl EnvOverlay {
    /// Look a variable up through the overlay, then `inner`.
    pub fn lookup(&self, inner: &dyn Env, name: &str) -> Option<String> {
        if let Some(v) = self.vars.get(name) {
            return v.clone();
        }
        if let Some(keep) = &self.keep_only {
            if !keep.contains(name) {
                return None;
            }
        }
        inner.var(name)
    }

    /// Apply one global line if it is an environment keyword.
    fn apply(&mut self, line: &Line, inner: &dyn Env) {
        let args: Vec<&str> = line.words.iter().skip(1).map(|w| w.text.as_str()).collect();
        match (line.arg(0), args.as_slice()) {
            ("setenv", [name, value, ..]) => {
                self.vars.insert(name.to_string(), Some(value.to_string()));
            }
            ("presetenv", [name, value, ..]) if self.lookup(inner, name).is_none() => {
                self.vars.insert(name.to_string(), Some(value.to_string()));
            }
            ("unsetenv", names) => {
                for n in names {
                    self.vars.insert(n.to_string(), None);
                }
            }
            ("resetenv", names) => {
                self.vars.retain(|k, _| names.contains(&k.as_str()));
                self.keep_only = Some(names.iter().map(|s| s.to_string()).collect());
            }
            _ => {}
        }
    }
}

/// An environment seen through an [`EnvOverlay`].
pub struct LayeredEnv<'a> {
    pub overlay: &'a EnvOverlay,
    pub inner: &'a dyn Env,
}

impl Env for LayeredEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.overlay.lookup(self.inner, name)
    }
}

/// The result of reading a set of paths.
#[derive(Debug, Default)]
pub struct ReadOutput {
    /// The environment as the configuration left it.
    pub env: EnvOverlay,
    pub sources: SourceMap,
    pub events: Vec<Event>,
    /// HAProxy's `ERR_ABORT`: reading stopped (`.alert`, a bad `.if`...); nothing after
    /// the abort is checked.
    pub aborted: bool,
}

impl ReadOutput {
    pub fn has_errors(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Diag(d) if d.is_error()))
    }
}

/// Expand `-f` arguments: a file stays, a directory gives its `*.cfg` files in lexical
/// order (HAProxy's behaviour; other files are ignored).
pub fn expand_paths(paths: &[PathBuf]) -> Vec<Result<PathBuf, (PathBuf, std::io::Error)>> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(md) if md.is_dir() => match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut names: Vec<PathBuf> = rd
                        .filter_map(Result::ok)
                        .filter(|e| {
                            let name = e.file_name();
                            let name = name.to_string_lossy();
                            name.ends_with(".cfg") && e.path().is_file()
                        })
                        .map(|e| e.path())
                        .collect();
                    names.sort();
                    out.extend(names.into_iter().map(Ok));
                }
                Err(e) => out.push(Err((p.clone(), e))),
            },
            Ok(_) => out.push(Ok(p.clone())),
            Err(e) => out.push(Err((p.clone(), e))),
        }
    }
    out
}

/// Read every path (files, directories) in order.
pub fn read_paths(paths: &[PathBuf], opts: &ReadOptions<'_>) -> ReadOutput {
    let mut out = ReadOutput::default();
    for item in expand_paths(paths) {
        match item {
            Ok(path) => match std::fs::read(&path) {
                Ok(bytes) => {
                    let name = display_name(&path);
                    let id = out.sources.add(SourceFile::new(name, path, bytes));
                    read_file(&mut out, id, opts);
                }
                Err(e) => push_unreadable(&mut out, &path, &e),
            },
            Err((path, e)) => push_unreadable(&mut out, &path, &e),
        }
        if out.aborted {
            break;
        }
    }
    out
}

/// Read configuration text that does not come from disk (tests, fuzzing, stdin).
pub fn read_bytes(name: &str, bytes: Vec<u8>, opts: &ReadOptions<'_>) -> ReadOutput {
    let mut out = ReadOutput::default();
    let id = out.sources.add(SourceFile::new(
        name.to_string(),
        PathBuf::from(name),
        bytes,
    ));
    read_file(&mut out, id, opts);
    out
}

fn display_name(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn push_unreadable(out: &mut ReadOutput, path: &Path, e: &std::io::Error) {
    let reason = io_reason(e);
    let name = display_name(path);
    out.events.push(Event::Diag(
        Diagnostic::error(
            Code::FileUnreadable,
            format!("cannot open configuration file/directory `{name}`: {reason}"),
        )
        .hx(
            HaproxyLoc::None,
            format!("Cannot open configuration file/directory {name} : {reason}"),
        ),
    ));
}

/// The C library's wording for common errors (HAProxy prints `strerror(errno)`).
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// State of one level of `.if` nesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CondState {
    IfTake,
    IfDrop,
    /// Inside a dropped outer block: skip this whole `.if` chain.
    IfSkip,
    ElifTake,
    ElifDrop,
    /// A previous branch was taken: skip.
    ElifSkip,
    ElseTake,
    ElseDrop,
}

impl CondState {
    fn masked(self) -> bool {
        !matches!(
            self,
            CondState::IfTake | CondState::ElifTake | CondState::ElseTake
        )
    }
    fn in_else(self) -> bool {
        matches!(self, CondState::ElseTake | CondState::ElseDrop)
    }
    /// A branch of this chain was already taken, or the whole chain is skipped.
    fn settled(self) -> bool {
        matches!(
            self,
            CondState::IfTake | CondState::IfSkip | CondState::ElifTake | CondState::ElifSkip
        )
    }
}

/// `.FILE`, `.LINE`, `.SECTION`, then the real environment.
struct LineEnv<'a> {
    inner: &'a dyn Env,
    overlay: &'a EnvOverlay,
    file: &'a str,
    line: u32,
    section: &'a str,
}

impl Env for LineEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match name {
            ".FILE" => Some(self.file.to_string()),
            ".LINE" => Some(self.line.to_string()),
            ".SECTION" => Some(self.section.to_string()),
            n if n.starts_with('.') => None,
            n => self.overlay.lookup(self.inner, n),
        }
    }
}

/// Section keywords, only to answer `.SECTION`.
const SECTION_WORDS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "userlist",
    "peers",
    "resolvers",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "log-forward",
    "cache",
    "fcgi-app",
    "crt-store",
    "acme",
    "traces",
    "log-profile",
];

fn read_file(out: &mut ReadOutput, id: FileId, opts: &ReadOptions<'_>) {
    let Some(file) = out.sources.get(id) else {
        return;
    };
    let name = file.name.clone();
    let bytes = file.bytes.clone();
    let mut conds: Vec<CondState> = Vec::new();
    // Where each open `.if` is, for the "not closed" message.
    let mut cond_spans: Vec<Span> = Vec::new();
    let mut section = String::new();
    let mut in_global = false;
    let mut line_no: u32 = 0;
    let mut pos = 0usize;
    let mut last_had_lf = true;
    let mut last_len = 0usize;
    let ev = &mut out.events;
    let overlay = &mut out.env;

    macro_rules! diag {
        ($d:expr) => {
            ev.push(Event::Diag($d))
        };
    }

    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let (raw, next, had_lf) = match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (&rest[..n], pos + n + 1, true),
            None => (rest, bytes.len(), false),
        };
        pos = next;
        line_no = line_no.saturating_add(1);
        last_had_lf = had_lf;
        // HAProxy reads lines as C strings: a NUL ends the line early.
        let (text, stray_nul) = match raw.iter().position(|&b| b == 0) {
            Some(n) => (&raw[..n], Some(n)),
            None => (raw, None),
        };
        last_len = text.len();
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let lead = text.iter().take_while(|b| b.is_ascii_whitespace()).count();

        let process = text.get(lead) != Some(&b'[');
        if process {
            let env = LineEnv {
                inner: opts.env,
                overlay,
                file: &name,
                line: line_no,
                section: &section,
            };
            match lexer::split_line(text, &env) {
                Err(e) => {
                    let (code, what) = match e.kind {
                        LexErrorKind::UnmatchedQuote => (Code::UnmatchedQuote, "unmatched quote"),
                        LexErrorKind::UnmatchedBrace => (
                            Code::UnmatchedBrace,
                            "unmatched brace in environment variable name",
                        ),
                        LexErrorKind::BadVariableName => (
                            Code::BadVariableName,
                            "forbidden first char in environment variable name",
                        ),
                        LexErrorKind::BadHex => (
                            Code::BadHexEscape,
                            "truncated or invalid hexadecimal sequence",
                        ),
                        LexErrorKind::BadWordExpansion => (
                            Code::BadWordExpansion,
                            "truncated or invalid word expansion sequence",
                        ),
                        LexErrorKind::TooManyWords => (Code::TooManyWords, "too many words"),
                    };
                    let span = Span::new(id, line_no, e.pos, e.pos + 1);
                    let shown = String::from_utf8_lossy(&text[lead..]).into_owned();
                    let hx = if e.kind == LexErrorKind::TooManyWords {
                        format!(
                            "too many words, truncating after word {}.",
                            lexer::MAX_WORDS
                        )
                    } else {
                        format!(
                            "{what} at position {}:\n  {shown}\n  {:>width$}",
                            e.pos + 1,
                            "^",
                            width = e.pos.saturating_sub(lead) + 1
                        )
                    };
                    diag!(Diagnostic::error(code, what)
                        .at(span)
                        .label(what)
                        .hx(HaproxyLoc::ParsingTight, hx));
                }
                Ok(lw) if lw.is_empty() => {}
                Ok(lw) => {
                    let words: Vec<Word> = lw
                        .into_iter()
                        .map(|w| {
                            let (span, quoted) = (Span::new(id, line_no, w.start, w.end), w.quoted);
                            Word {
                                text: w.into_text(),
                                span,
                                quoted,
                            }
                        })
                        .collect();
                    let line = Line {
                        file: id,
                        line: line_no,
                        words,
                    };
                    let kw = line.arg(0).to_string();
                    let masked = conds.last().is_some_and(|c| c.masked());
                    if kw.starts_with('.') {
                        let depth = conds.len();
                        let directive =
                            handle_directive(&line, &kw, &mut conds, masked, opts, &env);
                        if conds.len() > depth {
                            cond_spans.push(line.span(0));
                        } else if conds.len() < depth {
                            cond_spans.pop();
                        }
                        match directive {
                            Directive::Continue => {}
                            Directive::Diag(d) => diag!(*d),
                            Directive::Abort(d) => {
                                diag!(*d);
                                out.aborted = true;
                                return;
                            }
                        }
                    } else if !masked {
                        if SECTION_WORDS.contains(&kw.as_str()) {
                            section = if line.arg(1).is_empty() {
                                kw.clone()
                            } else {
                                line.arg(1).to_string()
                            };
                            in_global = kw == "global";
                        }
                        if in_global {
                            overlay.apply(&line, opts.env);
                        }
                        ev.push(Event::Line(line));
                    }
                }
            }
        }
        if let Some(n) = stray_nul {
            if had_lf {
                diag!(
                    Diagnostic::error(Code::StrayNul, "stray NUL byte in the line")
                        .at(Span::new(id, line_no, n, n + 1))
                        .hx(
                            HaproxyLoc::ParsingTight,
                            format!("Stray NUL character at position {}.", n + 1)
                        )
                );
                break;
            }
        }
    }

    if !last_had_lf && line_no > 0 {
        let col = last_len;
        diag!(Diagnostic::error(Code::MissingFinalNewline, "the last line has no newline")
            .at(Span::new(id, line_no, col, col))
            .label("expected a newline here")
            .help("HAProxy refuses a file whose last line does not end with LF (it may have been truncated): add a newline at the end of the file")
            .hx(
                HaproxyLoc::ParsingTight,
                format!("Missing LF on last line, file might have been truncated at position {}.", col + 1),
            ));
    }
    if !conds.is_empty() {
        diag!(Diagnostic::error(
            Code::UnterminatedIf,
            "`.if` block not closed before the end of the file"
        )
        .at(cond_spans
            .last()
            .copied()
            .unwrap_or(Span::line(id, line_no)))
        .label("this `.if` has no `.endif`")
        .help("add `.endif` where the block ends")
        .hx(HaproxyLoc::ParsingTight, "non-terminated '.if' block."));
        out.aborted = true;
    }
    ev.push(Event::EndOfFile(id));
}

enum Directive {
    Continue,
    Diag(Box<Diagnostic>),
    Abort(Box<Diagnostic>),
}

fn abort(d: Diagnostic) -> Directive {
    Directive::Abort(Box::new(d))
}

fn diag_d(d: Diagnostic) -> Directive {
    Directive::Diag(Box::new(d))
}

fn handle_directive(
    line: &Line,
    kw: &str,
    conds: &mut Vec<CondState>,
    masked: bool,
    opts: &ReadOptions<'_>,
    env: &dyn Env,
) -> Directive {
    let joined = || {
        line.words[1..]
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let lone = |what: &str| {
        abort(
            Diagnostic::error(
                Code::LoneConditional,
                format!("`{what}` without a matching `.if`"),
            )
            .at(line.span(0))
            .hx(
                HaproxyLoc::ParsingTight,
                format!("lone '{what}' with no matching '.if'."),
            ),
        )
    };
    let eval = |what: &str| -> Result<bool, Directive> {
        let text = joined();
        cond::evaluate(&text, &opts.cond, env).map_err(|e| {
            let arg_start = line
                .words
                .get(1)
                .map(|w| w.span.start as usize)
                .unwrap_or(0);
            let span = line
                .words
                .get(1)
                .map(|w| {
                    Span::new(
                        w.span.file,
                        w.span.line,
                        arg_start + e.pos,
                        arg_start + e.pos + 1,
                    )
                })
                .unwrap_or_else(|| line.span(0));
            abort(
                Diagnostic::error(Code::ConditionSyntax, format!("{} in `{what}`", e.message))
                    .at(span)
                    .hx(
                        HaproxyLoc::ParsingTight,
                        format!(
                            "{} in '{what}' at position {}:\n  {what} {text}\n  {:>width$}",
                            e.message,
                            e.pos + 1,
                            "^",
                            width = e.pos + what.len() + 2
                        ),
                    ),
            )
        })
    };
    let no_args = |what: &str| -> Option<Directive> {
        let extra = line.arg(1);
        (!extra.is_empty()).then(|| {
            abort(
                Diagnostic::error(
                    Code::DirectiveArguments,
                    format!("`{what}` takes no argument"),
                )
                .at(line.span(1))
                .hx(
                    HaproxyLoc::ParsingTight,
                    format!("Unexpected argument '{extra}' for '{what}'."),
                ),
            )
        })
    };
    match kw {
        ".if" => {
            if conds.len() + 1 >= MAX_NESTED_CONDS {
                return abort(
                    Diagnostic::error(Code::TooDeepIf, "too many nested `.if` blocks")
                        .at(line.span(0))
                        .hx(
                            HaproxyLoc::ParsingTight,
                            format!("too many nested '.if', max is {MAX_NESTED_CONDS}."),
                        ),
                );
            }
            if masked {
                conds.push(CondState::IfSkip);
                return Directive::Continue;
            }
            match eval(".if") {
                Ok(true) => conds.push(CondState::IfTake),
                Ok(false) => conds.push(CondState::IfDrop),
                Err(d) => return d,
            }
            Directive::Continue
        }
        ".elif" => {
            let Some(top) = conds.last().copied() else {
                return lone(".elif");
            };
            if top.in_else() {
                return abort(
                    Diagnostic::error(Code::LoneConditional, "`.elif` after `.else`")
                        .at(line.span(0))
                        .hx(
                            HaproxyLoc::ParsingTight,
                            "'.elif' after '.else' is not permitted.",
                        ),
                );
            }
            let new = if top.settled() {
                CondState::ElifSkip
            } else {
                match eval(".elif") {
                    Ok(true) => CondState::ElifTake,
                    Ok(false) => CondState::ElifDrop,
                    Err(d) => return d,
                }
            };
            if let Some(t) = conds.last_mut() {
                *t = new;
            }
            Directive::Continue
        }
        ".else" => {
            if let Some(d) = no_args(".else") {
                return d;
            }
            let Some(top) = conds.last().copied() else {
                return lone(".else");
            };
            if top.in_else() {
                return abort(
                    Diagnostic::error(Code::LoneConditional, "`.else` after `.else`")
                        .at(line.span(0))
                        .hx(
                            HaproxyLoc::ParsingTight,
                            "'.else' after '.else' is not permitted.",
                        ),
                );
            }
            let new = if top.settled() {
                CondState::ElseDrop
            } else {
                CondState::ElseTake
            };
            if let Some(t) = conds.last_mut() {
                *t = new;
            }
            Directive::Continue
        }
        ".endif" => {
            if let Some(d) = no_args(".endif") {
                return d;
            }
            if conds.pop().is_none() {
                return lone(".endif");
            }
            Directive::Continue
        }
        _ if masked => Directive::Continue,
        ".alert" | ".warning" | ".notice" | ".diag" => {
            let extra = line.arg(2);
            if !extra.is_empty() {
                return diag_d(
                    Diagnostic::error(Code::DirectiveArguments, format!("`{kw}` takes one argument"))
                        .at(line.span(2))
                        .help("quote the message if it contains spaces")
                        .hx(
                            HaproxyLoc::ParsingTight,
                            format!(
                                "Unexpected argument '{extra}' for '{kw}'. Use quotes if the message should contain spaces."
                            ),
                        ),
                );
            }
            let msg = line.arg(1).to_string();
            let hx = format!("'{msg}'.");
            match kw {
                ".alert" => abort(
                    Diagnostic::error(Code::AlertDirective, msg.clone())
                        .at(line.span_from(0))
                        .hx(HaproxyLoc::ParsingTight, hx),
                ),
                ".warning" => diag_d(
                    Diagnostic::warning(Code::WarningDirective, msg.clone())
                        .at(line.span_from(0))
                        .hx(HaproxyLoc::ParsingTight, hx),
                ),
                ".notice" => diag_d(
                    Diagnostic::new(Code::NoticeDirective, Severity::Notice, msg.clone())
                        .at(line.span_from(0))
                        .hx(HaproxyLoc::ParsingTight, hx),
                ),
                _ => diag_d(
                    Diagnostic::new(Code::NoticeDirective, Severity::Info, msg.clone())
                        .at(line.span_from(0))
                        .hx(HaproxyLoc::ParsingTight, hx),
                ),
            }
        }
        _ => diag_d(
            Diagnostic::error(Code::UnknownDirective, format!("unknown directive `{kw}`"))
                .at(line.span(0))
                .help(
                    "known directives: .if, .elif, .else, .endif, .diag, .notice, .warning, .alert",
                )
                .hx(
                    HaproxyLoc::ParsingTight,
                    format!("unknown directive '{kw}'."),
                ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CondContext {
        CondContext {
            version: (2, 6, 12),
            features: vec!["+OPENSSL".into()],
            ssl_lib: ("OpenSSL".into(), (3, 0, 17)),
        }
    }

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "yes".to_string())
    }

    fn read(text: &str) -> ReadOutput {
        let opts = ReadOptions {
            env: &env,
            cond: ctx(),
        };
        read_bytes("t.cfg", text.as_bytes().to_vec(), &opts)
    }

    fn lines(out: &ReadOutput) -> Vec<(u32, String)> {
        out.events
            .iter()
            .filter_map(|e| match e {
                Event::Line(l) => Some((
                    l.line,
                    l.words
                        .iter()
                        .map(|w| w.text.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                )),
                _ => None,
            })
            .collect()
    }

    fn diags(out: &ReadOutput) -> Vec<(Code, u32)> {
        out.events
            .iter()
            .filter_map(|e| match e {
                Event::Diag(d) => Some((d.code, d.span.map(|s| s.line).unwrap_or(0))),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn conditional_blocks() {
        let out = read(
            ".if defined(SET)\na\n.elif 1\nb\n.else\nc\n.endif\n.if 0\nd\n.if 1\ne\n.endif\n.elif 1\nf\n.endif\n",
        );
        assert_eq!(lines(&out), vec![(2, "a".into()), (14, "f".into())]);
        assert!(diags(&out).is_empty());
        assert!(!out.aborted);
    }

    #[test]
    fn else_branch() {
        let out = read(".if 0\na\n.elif 0\nb\n.else\nc\n.endif\n");
        assert_eq!(lines(&out), vec![(6, "c".into())]);
    }

    #[test]
    fn missing_final_newline() {
        let out = read("global\n  maxconn 10");
        assert_eq!(lines(&out).len(), 2, "the last line is still parsed");
        assert_eq!(diags(&out), vec![(Code::MissingFinalNewline, 2)]);
        let Some(Event::Diag(d)) = out.events.iter().find(|e| matches!(e, Event::Diag(_))) else {
            panic!("no diag");
        };
        assert_eq!(
            d.haproxy.as_ref().map(|h| h.text.as_str()),
            Some("Missing LF on last line, file might have been truncated at position 13.")
        );
    }

    #[test]
    fn directive_errors() {
        assert_eq!(diags(&read(".endif\n")), vec![(Code::LoneConditional, 1)]);
        assert_eq!(diags(&read(".else\n")), vec![(Code::LoneConditional, 1)]);
        let out = read(".if 1\nx\n");
        assert_eq!(diags(&out), vec![(Code::UnterminatedIf, 1)]);
        assert!(out.aborted);
        let out = read(".if bogus\nx\n.endif\n");
        assert_eq!(diags(&out), vec![(Code::ConditionSyntax, 1)]);
        assert!(out.aborted);
        assert_eq!(diags(&read(".foo\n")), vec![(Code::UnknownDirective, 1)]);
        let out = read(".alert \"stop\"\nafter\n");
        assert!(out.aborted);
        assert!(lines(&out).is_empty());
        assert_eq!(
            diags(&read(".warning a b\n")),
            vec![(Code::DirectiveArguments, 1)]
        );
        assert_eq!(
            diags(&read(".warning \"a b\"\n")),
            vec![(Code::WarningDirective, 1)]
        );
        // .alert inside a dropped block does nothing
        assert!(!read(".if 0\n.alert x\n.endif\n").aborted);
    }

    #[test]
    fn lexer_errors_are_reported_even_in_dropped_blocks() {
        let out = read(".if 0\na \"b\n.endif\n");
        assert_eq!(diags(&out), vec![(Code::UnmatchedQuote, 2)]);
    }

    #[test]
    fn nesting_limit() {
        let mut s = String::new();
        for _ in 0..10_000 {
            s.push_str(".if 1\n");
        }
        let out = read(&s);
        assert!(out.aborted);
        assert_eq!(diags(&out).first().map(|d| d.0), Some(Code::TooDeepIf));
    }

    #[test]
    fn stray_nul_stops_the_file() {
        let out = read("global\nmax\0conn 1\nafter\n");
        assert_eq!(diags(&out), vec![(Code::StrayNul, 2)]);
        assert_eq!(lines(&out), vec![(1, "global".into()), (2, "max".into())]);
    }

    #[test]
    fn setenv_family_applies_to_later_lines() {
        let out = read("global\n  presetenv A 1\n  presetenv SET no\n  setenv B \"${A}2\"\nlisten x\n  a \"$A$B$SET\"\nglobal\n  unsetenv A\n  resetenv B\nlisten y\n  b \"$A-$B-$SET\"\n");
        let ls = lines(&out);
        assert_eq!(ls[5].1, "a 112yes");
        assert_eq!(ls[10].1, "b -12-");
    }

    #[test]
    fn pseudo_variables() {
        let out = read("global\n  x \"${.LINE}\" \"$.FILE\" \"$.SECTION\"\n");
        assert_eq!(lines(&out)[1].1, "x 2 t.cfg global");
    }

    #[test]
    fn directories_give_cfg_files_in_order() {
        let dir = std::env::temp_dir().join(format!("hpx-reader-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for n in ["b.cfg", "a.cfg", "c.txt"] {
            std::fs::write(dir.join(n), "global\n").expect("write");
        }
        let got: Vec<String> = expand_paths(std::slice::from_ref(&dir))
            .into_iter()
            .filter_map(Result::ok)
            .map(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(got, vec!["a.cfg", "b.cfg"]);
    }
}
