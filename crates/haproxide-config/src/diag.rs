//! Diagnostics: what the checker reports, as data.
//!
//! A [`Diagnostic`] carries two renderings of the same finding:
//! - haproxide's own words (`message`, `help`, `labels`) for the rustc-like and JSON
//!   output, and
//! - the exact message HAProxy prints for it ([`HaproxyText`]), so that
//!   `--format haproxy` reproduces `haproxy -c` line for line.
//!
//! Every diagnostic has a stable [`Code`]; the list is documented in
//! `docs/diagnostics.md` (a test keeps the two in step).

use crate::source::Span;

/// How serious a finding is. `Error` is HAProxy's `ALERT`: it makes `check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    /// HAProxy's NOTICE (e.g. `.notice`): shown, never fatal.
    Notice,
    /// HAProxy's diagnostic-mode output (`.diag`, `-dD`): informational only.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Info => "info",
        }
    }
}

macro_rules! codes {
    ($( $variant:ident = $code:literal, $name:literal, $summary:literal; )*) => {
        /// Stable diagnostic codes. Never renumber: tools match on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $variant, )* }

        impl Code {
            /// All codes, in numeric order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable code, e.g. `HPX0201`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// A stable kebab-case name, e.g. `unknown-keyword`.
            pub fn name(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// One line describing the code (used in docs/diagnostics.md).
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }
        }
    };
}

codes! {
    // 01xx: reading files and splitting lines.
    FileUnreadable = "HPX0101", "file-unreadable", "A configuration file or directory given with -f cannot be read.";
    MissingFinalNewline = "HPX0102", "missing-final-newline", "The last line has no LF: HAProxy refuses a file that may have been truncated.";
    UnmatchedQuote = "HPX0103", "unmatched-quote", "A single or double quote is not closed on its line.";
    UnmatchedBrace = "HPX0104", "unmatched-brace", "A `${` environment variable reference has no closing `}`.";
    BadVariableName = "HPX0105", "bad-variable-name", "`$` is followed by a character that cannot start a variable name.";
    BadHexEscape = "HPX0106", "bad-hex-escape", "A `\\x` escape is not followed by two hexadecimal digits.";
    BadWordExpansion = "HPX0107", "bad-word-expansion", "A `${VAR[...]}` suffix other than `[*]`.";
    TooManyWords = "HPX0108", "too-many-words", "A line has more than 64 words.";
    StrayNul = "HPX0109", "stray-nul", "A NUL byte in the middle of a line.";
    TooManyErrors = "HPX0110", "too-many-errors", "Parsing stopped after 50 fatal errors in one file, as HAProxy does.";
    // 02xx: conditional blocks and directives.
    ConditionSyntax = "HPX0201", "condition-syntax", "A `.if`/`.elif` expression cannot be parsed.";
    LoneConditional = "HPX0202", "lone-conditional", "`.elif`, `.else` or `.endif` without a matching `.if`, or out of order.";
    UnterminatedIf = "HPX0203", "unterminated-if", "A `.if` block is not closed by `.endif` before the end of the file.";
    TooDeepIf = "HPX0204", "too-deep-if", "More than 1023 nested `.if` blocks.";
    UnknownDirective = "HPX0205", "unknown-directive", "A line starts with `.` but is not a known directive.";
    DirectiveArguments = "HPX0206", "directive-arguments", "A directive has unexpected arguments.";
    AlertDirective = "HPX0207", "alert-directive", "An `.alert` directive was reached: the configuration asks to stop.";
    WarningDirective = "HPX0208", "warning-directive", "A `.warning` directive was reached.";
    NoticeDirective = "HPX0209", "notice-directive", "A `.notice` or `.diag` directive was reached.";
    // 03xx: keywords and sections.
    UnknownKeyword = "HPX0301", "unknown-keyword", "A keyword HAProxy does not know in this section.";
    WrongSection = "HPX0302", "wrong-section", "A keyword that exists, but in other sections.";
    OutOfSection = "HPX0303", "out-of-section", "A keyword before any section header.";
    RemovedKeyword = "HPX0304", "removed-keyword", "A keyword HAProxy removed; the message names its replacement.";
    NotInVersion = "HPX0305", "not-in-version", "A keyword the selected HAProxy version (--haproxy-version) does not have.";
    NotInBuild = "HPX0306", "not-in-build", "A keyword of an optional HAProxy build feature (QUIC, WURFL, 51Degrees, DeviceAtlas) the reference build lacks.";
    UnknownOption = "HPX0307", "unknown-option", "`option` followed by an unknown option name.";
    UnknownServerKeyword = "HPX0308", "unknown-server-keyword", "An unknown keyword on a `server`/`default-server` line.";
    UnknownBindKeyword = "HPX0309", "unknown-bind-keyword", "An unknown keyword on a `bind` line.";
    NegationNotSupported = "HPX0310", "negation-not-supported", "`no`/`default` before a keyword that cannot be negated.";
    ListenAddress = "HPX0311", "listen-address", "An address on the `listen`/`frontend` line (removed syntax): use `bind`.";
    SectionNotCreated = "HPX0312", "section-not-created", "A line inside a section that could not be created.";
    // 04xx: arguments.
    MissingArgument = "HPX0401", "missing-argument", "A keyword lacks a required argument.";
    InvalidArgument = "HPX0402", "invalid-argument", "An argument has the wrong form (time, size, number, name, address...).";
    TooManyArguments = "HPX0403", "too-many-arguments", "A keyword has more arguments than it takes.";
    InvalidAddress = "HPX0404", "invalid-address", "An address cannot be parsed, or lacks a port where one is required.";
    UnknownFetch = "HPX0405", "unknown-fetch", "An ACL or expression names an unknown sample fetch method.";
    UnknownConverter = "HPX0406", "unknown-converter", "An expression names an unknown converter.";
    UnknownAction = "HPX0407", "unknown-action", "An unknown action in an `http-request`, `tcp-request` ... rule.";
    ConditionExpression = "HPX0408", "condition-expression", "An `if`/`unless` condition cannot be parsed.";
    UnknownAcl = "HPX0409", "unknown-acl", "A condition names an ACL that is not declared.";
    // 05xx: names and references.
    DuplicateProxy = "HPX0501", "duplicate-proxy", "Two proxies (or defaults) with the same name where HAProxy forbids it.";
    DuplicateServer = "HPX0502", "duplicate-server", "Two servers with the same name in one backend.";
    UnknownBackend = "HPX0503", "unknown-backend", "`default_backend`/`use_backend` names no backend.";
    ModeMismatch = "HPX0504", "mode-mismatch", "An http frontend uses a tcp backend.";
    UnknownDefaults = "HPX0505", "unknown-defaults", "`from` names no defaults section.";
    UnknownTrack = "HPX0506", "unknown-track", "`track` names no server.";
    MissingGlobalSetting = "HPX0507", "missing-global-setting", "A proxy setting needs a global setting that is absent.";
    UnknownSection = "HPX0508", "unknown-section", "A keyword names a section (`resolvers`, `http-errors`, `fcgi-app`...) that is not declared.";
    // 06xx: the environment (what HAProxy opens or resolves at start-up).
    UnresolvableAddress = "HPX0601", "unresolvable-address", "A server host name does not resolve (an error unless init-addr allows it or -dr is given).";
    MissingFile = "HPX0602", "missing-file", "A file HAProxy opens at parse time (certificate, CA, errorfile, Lua, map, pattern file) does not exist.";
    UnknownUser = "HPX0603", "unknown-user", "A user or group name does not exist on this machine.";
    EmptyAddress = "HPX0604", "empty-address", "An address made only of an unset environment variable.";
    // 07xx: whole-configuration checks.
    NoListener = "HPX0701", "no-listener", "The configuration is valid but has no listener: HAProxy exits 2.";
    MissingTimeouts = "HPX0702", "missing-timeouts", "A proxy lacks `timeout client`, `connect` or `server`.";
    ZeroWarning = "HPX0703", "zero-warning", "Warnings were found and `zero-warning`/--deny-warnings is set.";
    RuleOrder = "HPX0704", "rule-order", "A rule written after a rule of a kind that runs later: it still runs first.";
    // 08xx: haproxide's own limits.
    NotRunYet = "HPX0801", "not-run-yet", "Valid HAProxy, parsed, but not run by haproxide yet.";
    Ignored = "HPX0802", "ignored", "A keyword HAProxy accepts and ignores (deprecated no-op).";
    Deprecated = "HPX0803", "deprecated", "A deprecated keyword: it works but will be removed.";
    MiscWarning = "HPX0804", "warning", "Another warning HAProxy prints.";
}

/// The location prefix HAProxy puts before a message; `haproxy -c` uses several forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaproxyLoc {
    /// `parsing [FILE:LINE] : msg` (most parse-time messages).
    Parsing,
    /// `parsing [FILE:LINE]: msg` (no space before the colon).
    ParsingTight,
    /// `Parsing [FILE:LINE]: msg` (capital P: duplicate names).
    ParsingCapital,
    /// `[FILE:LINE] : msg` (server lines and address initialisation).
    Bracket,
    /// `[FILE:LINE] : msg` from a post-parse check (a server's TLS setup): no
    /// "Error(s) found in configuration file" line follows.
    BracketPost,
    /// `parsing [FILE:LINE] : msg` from a post-parse check (duplicate server
    /// names, cfgparse.c `check_config_validity`): no "Error(s) found in
    /// configuration file" line follows, and HAProxy does not print it when the
    /// parse itself failed (it stops before those checks).
    ParsingPost,
    /// No location at all (post-parse checks).
    None,
}

/// The exact text HAProxy prints for a finding (without the `[ALERT]    (pid) : config : ` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaproxyText {
    pub loc: HaproxyLoc,
    /// The message, possibly several lines (continuation lines are printed with `   | `).
    pub text: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// haproxide's wording: one sentence, no trailing period, no location.
    pub message: String,
    /// The primary place (None for whole-configuration findings).
    pub span: Option<Span>,
    /// Text under the caret at the primary span.
    pub label: Option<String>,
    /// Other places that matter (e.g. the first definition of a duplicate name).
    pub related: Vec<(Span, String)>,
    /// What to do about it ("did you mean", the replacement keyword...).
    pub help: Option<String>,
    /// HAProxy's own message for the same finding, when HAProxy reports it.
    pub haproxy: Option<HaproxyText>,
}

impl Diagnostic {
    pub fn new(code: Code, severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            span: None,
            label: None,
            related: Vec::new(),
            help: None,
            haproxy: None,
        }
    }

    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Severity::Error, message)
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Severity::Warning, message)
    }

    pub fn at(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, what: impl Into<String>) -> Diagnostic {
        self.related.push((span, what.into()));
        self
    }

    /// Attach HAProxy's own message for this finding.
    pub fn hx(mut self, loc: HaproxyLoc, text: impl Into<String>) -> Diagnostic {
        self.haproxy = Some(HaproxyText {
            loc,
            text: text.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "did you mean" support: the closest candidate by edit distance, if close enough.
///
/// Mirrors what users expect from HAProxy's own hint (it also proposes the nearest
/// keyword) but uses Damerau-Levenshtein distance with a length-relative cut-off.
pub fn suggest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let len = word.chars().count();
    let max = (len / 3).clamp(1, 4);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        // The distance is at least the difference in length: skip the quadratic
        // computation when it cannot be close enough (a 1 MB word must not cost
        // 1 MB × every keyword).
        if c.chars().count().abs_diff(len) > max {
            continue;
        }
        let d = edit_distance(word, c);
        if d <= max && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The keyword HAProxy 2.6 proposes for an unknown `word` ("did you mean 'X'
/// maybe ?"), by its own measure (tools.c `make_word_fingerprint`,
/// cfgparse.c `cfg_find_best_match`): each word's transitions between
/// character classes (a letter each, digits, others, the ends) are counted and
/// the candidate whose counts differ least wins, the first one on a tie; none
/// when the difference exceeds twice either word's length. `candidates` in
/// HAProxy's order where it is known. Used for `--format haproxy`; the human
/// hint stays [`suggest`]'s (HAProxy proposes `httpclose` for `http-use-htx`).
pub fn haproxy_best_match<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let sig = fingerprint(word);
    let mut best: Option<(u32, &'a str)> = None;
    for c in candidates {
        let fp = fingerprint(c);
        let d: u32 = sig
            .iter()
            .zip(fp.iter())
            .map(|(a, b)| u32::from(a.abs_diff(*b)))
            .sum();
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    let limit = |w: &str| 2 * w.len() as u64;
    (u64::from(d) <= limit(word) && u64::from(d) <= limit(c)).then_some(c)
}

/// A word's fingerprint: a presence mark per character class and a count per
/// transition (`32 * from + to`; classes 1-26 letters, 27 digits, 28 others
/// and the word's two ends). Counts wrap as HAProxy's bytes do.
fn fingerprint(word: &str) -> [u8; 1024] {
    let class = |c: u8| match c.to_ascii_lowercase() {
        l @ b'a'..=b'z' => usize::from(l - b'a' + 1),
        b'0'..=b'9' => 27,
        _ => 28,
    };
    let mut fp = [0u8; 1024];
    let mut from = 28;
    for &c in word.as_bytes() {
        let to = class(c);
        fp[to] = 1;
        fp[32 * from + to] = fp[32 * from + to].wrapping_add(1);
        from = to;
    }
    fp[32 * from + 28] = fp[32 * from + 28].wrapping_add(1);
    fp
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() {
        return b.len();
    }
    if b.is_empty() {
        return a.len();
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        let mut names = HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!(names.insert(c.name()), "duplicate name {}", c.name());
            assert!(c.as_str().starts_with("HPX") && c.as_str().len() == 7);
        }
    }

    #[test]
    fn suggestions() {
        let kws = ["balance", "bind", "backlog", "mode", "timeout"];
        assert_eq!(suggest("balanse", kws), Some("balance"));
        assert_eq!(suggest("tiemout", kws), Some("timeout"));
        assert_eq!(suggest("zzzzzzzz", kws), None);
        assert_eq!(edit_distance("chek", "check"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
        // Length cut-off: a long word gets no suggestion and returns at once.
        // (Without it, 1 MB × 300 keywords takes minutes in a debug build.)
        let long = "b".repeat(1 << 20);
        let many: Vec<String> = (0..300).map(|i| format!("keyword-{i}")).collect();
        let t = std::time::Instant::now();
        assert_eq!(suggest(&long, many.iter().map(String::as_str)), None);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(suggest("bnd", ["bind", "balance"]), Some("bind"));
    }
}
