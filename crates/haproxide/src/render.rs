//! Rendering diagnostics: `human` (rustc-like), `short`, `json` and `haproxy`
//! (byte-compatible with `haproxy -c` apart from the pid and version lines).

use std::fmt::Write as _;

use haproxide_config::{Checked, Diagnostic, HaproxyLoc, Severity, SourceMap, Span};

/// Output formats of `haproxide check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-like: location, source snippet with a caret, help.
    Human,
    /// One line per diagnostic: `file:line:col: severity[code]: message`.
    Short,
    /// A stable JSON document (docs/diagnostics.md).
    Json,
    /// What `haproxy -c` prints.
    Haproxy,
}

/// Replace the `\u{1}<file id>\u{1}` markers the checker leaves in HAProxy texts.
pub fn expand_file_markers(text: &str, sources: &SourceMap) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('\u{1}');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let mut is_id = true;
    for p in parts {
        if is_id {
            let name = p
                .parse::<u32>()
                .ok()
                .map(|id| sources.name(haproxide_config::FileId(id)).to_string())
                .unwrap_or_default();
            out.push_str(&name);
        } else {
            out.push_str(p);
        }
        is_id = !is_id;
    }
    out
}

fn location(sources: &SourceMap, span: Span) -> String {
    format!(
        "{}:{}:{}",
        sources.name(span.file),
        span.line,
        sources.column(span)
    )
}

/// `human`: rustc-style blocks.
pub fn human(checked: &Checked, color: bool) -> String {
    let mut out = String::new();
    let (red, yellow, blue, cyan, bold, reset) = if color {
        (
            "\x1b[1;31m",
            "\x1b[1;33m",
            "\x1b[1;34m",
            "\x1b[1;36m",
            "\x1b[1m",
            "\x1b[0m",
        )
    } else {
        ("", "", "", "", "", "")
    };
    let diags = &checked.diagnostics;
    let mut i = 0;
    while i < diags.len() {
        let d = &diags[i];
        i += 1;
        // A section that could not be created rejects each of its lines: show the first
        // and count the rest (the JSON and haproxy formats keep every one).
        let cascade = diags[i..]
            .iter()
            .take_while(|n| d.code == haproxide_config::Code::SectionNotCreated && n.code == d.code)
            .count();
        i += cascade;
        let (word, c) = match d.severity {
            Severity::Error => ("error", red),
            Severity::Warning => ("warning", yellow),
            Severity::Notice => ("notice", cyan),
            Severity::Info => ("info", cyan),
        };
        let _ = writeln!(
            out,
            "{c}{word}[{}]{reset}{bold}: {}{reset}",
            d.code.as_str(),
            d.message
        );
        if let Some(span) = d.span {
            snippet(
                &mut out,
                &checked.sources,
                span,
                d.label.as_deref(),
                c,
                blue,
                reset,
            );
        }
        for (span, what) in &d.related {
            let _ = writeln!(out, "{blue}note{reset}: {what}");
            snippet(&mut out, &checked.sources, *span, None, blue, blue, reset);
        }
        let pad = " ".repeat(d.span.map(|s| s.line.to_string().len()).unwrap_or(1));
        if let Some(h) = &d.help {
            let _ = writeln!(out, "{pad} {blue}={reset} {bold}help{reset}: {h}");
        }
        if cascade > 0 {
            let _ = writeln!(out, "{pad} {blue}={reset} {bold}note{reset}: the next {cascade} line{} of this section are rejected the same way", if cascade == 1 { "" } else { "s" });
        }
        out.push('\n');
    }
    out
}

fn snippet(
    out: &mut String,
    sources: &SourceMap,
    span: Span,
    label: Option<&str>,
    c: &str,
    blue: &str,
    reset: &str,
) {
    let num = span.line.to_string();
    let pad = " ".repeat(num.len());
    let _ = writeln!(out, "{pad}{blue}-->{reset} {}", location(sources, span));
    let Some(file) = sources.get(span.file) else {
        return;
    };
    let text = file.line_text(span.line).replace('\t', " ");
    let _ = writeln!(out, "{pad} {blue}|{reset}");
    let _ = writeln!(out, "{blue}{num} |{reset} {text}");
    let col = sources.column(span).saturating_sub(1) as usize;
    let width = {
        let bytes = file.line_bytes(span.line);
        let s = (span.start as usize).min(bytes.len());
        let e = (span.end as usize).min(bytes.len()).max(s);
        String::from_utf8_lossy(&bytes[s..e]).chars().count().max(1)
    };
    let _ = writeln!(
        out,
        "{pad} {blue}|{reset} {}{c}{}{}{reset}",
        " ".repeat(col),
        "^".repeat(width),
        label
            .map(|l| format!(" {}", l.trim_end()))
            .unwrap_or_default()
    );
}

/// `short`: one line each.
pub fn short(checked: &Checked) -> String {
    let mut out = String::new();
    for d in &checked.diagnostics {
        let loc = d
            .span
            .map(|s| format!("{}: ", location(&checked.sources, s)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{loc}{}[{}]: {}",
            d.severity.as_str(),
            d.code.as_str(),
            d.message
        );
    }
    out
}

/// HAProxy's location prefix and message for one diagnostic.
pub fn haproxy_message(d: &Diagnostic, sources: &SourceMap) -> String {
    let Some(h) = &d.haproxy else {
        return d.message.clone();
    };
    let text = expand_file_markers(&h.text, sources);
    let loc = d
        .span
        .map(|s| format!("{}:{}", sources.name(s.file), s.line))
        .unwrap_or_default();
    match h.loc {
        HaproxyLoc::Parsing | HaproxyLoc::ParsingPost => format!("parsing [{loc}] : {text}"),
        HaproxyLoc::ParsingTight => format!("parsing [{loc}]: {text}"),
        HaproxyLoc::ParsingCapital => format!("Parsing [{loc}]: {text}"),
        HaproxyLoc::Bracket | HaproxyLoc::BracketPost => format!("[{loc}] : {text}"),
        HaproxyLoc::None => text,
    }
}

/// `json`: the stable schema of docs/diagnostics.md.
pub fn json(checked: &Checked, target: &str, exit_code: i32) -> String {
    let s = &checked.sources;
    let diags: Vec<serde_json::Value> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let span = d.span.map(|sp| {
                serde_json::json!({
                    "file": s.name(sp.file),
                    "line": sp.line,
                    "column": s.column(sp),
                    "end_column": s.column(Span { start: sp.end, ..sp }),
                })
            });
            serde_json::json!({
                "code": d.code.as_str(),
                "name": d.code.name(),
                "severity": d.severity.as_str(),
                "message": d.message,
                "span": span,
                "label": d.label,
                "help": d.help,
                "related": d.related.iter().map(|(sp, m)| serde_json::json!({
                    "file": s.name(sp.file), "line": sp.line, "column": s.column(*sp), "message": m,
                })).collect::<Vec<_>>(),
                "haproxy": d.haproxy.as_ref().map(|_| haproxy_message(d, s)),
            })
        })
        .collect();
    let count = |sev: Severity| {
        checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == sev)
            .count()
    };
    let doc = serde_json::json!({
        "schema": 1,
        "tool": "haproxide",
        "version": env!("CARGO_PKG_VERSION"),
        "haproxy_version": target,
        "files": s.files().map(|(_, f)| f.name.clone()).collect::<Vec<_>>(),
        "exit_code": exit_code,
        "errors": count(Severity::Error),
        "warnings": count(Severity::Warning),
        "diagnostics": diags,
    });
    let mut text =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

/// `haproxy`: what `haproxy -c` prints, as (stdout, stderr).
/// HAProxy's tag for a severity.
fn tag_of(s: Severity) -> &'static str {
    match s {
        Severity::Error => "[ALERT]",
        Severity::Warning => "[WARNING]",
        Severity::Notice => "[NOTICE]",
        Severity::Info => "[DIAG]",
    }
}

pub fn haproxy(
    checked: &Checked,
    exit_code: i32,
    version: &str,
    deny_warnings: bool,
) -> (String, String) {
    let pid = std::process::id();
    let mut err = String::new();
    let mut notices_done = false;
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "haproxide".into());
    let mut notices = |err: &mut String| {
        if !notices_done {
            notices_done = true;
            let _ = writeln!(
                err,
                "[NOTICE]   ({pid}) : haproxy version is {version} (haproxide {})",
                env!("CARGO_PKG_VERSION")
            );
            let _ = writeln!(err, "[NOTICE]   ({pid}) : path to executable is {exe}");
        }
    };
    let line = |err: &mut String, tag: &str, ctx: bool, msg: &str| {
        let mut lines = msg.trim_end_matches('\n').split('\n');
        let first = lines.next().unwrap_or("");
        let ctx = if ctx { "config : " } else { "" };
        let _ = writeln!(err, "{tag:<11}({pid}) : {ctx}{first}");
        // HAProxy's continuation lines: "   | " before each, except the
        // ones its text indents itself (an ACL's missing patterns, the
        // caret under a lexer error).
        for l in lines {
            // A line HAProxy prints as it is (marked '\u{2}' by the checker).
            if let Some(raw) = l.strip_prefix('\u{2}') {
                let _ = writeln!(err, "{raw}");
            } else if l.starts_with("  ") {
                let _ = writeln!(err, "{l}");
            } else {
                let _ = writeln!(err, "   | {l}");
            }
        }
        // A text ending with newlines of its own: as many blank lines.
        let blank = msg.len() - msg.trim_end_matches('\n').len();
        for _ in 0..blank {
            err.push('\n');
        }
    };
    let mut parse_err_files: Vec<haproxide_config::FileId> = Vec::new();
    let mut post = false;
    let mut addr = false;
    // A failed parse stops HAProxy before its post-parse checks.
    let parse_failed = checked.diagnostics.iter().any(|d| {
        d.is_error()
            && d.haproxy.as_ref().is_some_and(|h| {
                matches!(
                    h.loc,
                    HaproxyLoc::Parsing
                        | HaproxyLoc::ParsingTight
                        | HaproxyLoc::ParsingCapital
                        | HaproxyLoc::Bracket
                )
            })
    });
    // `quiet` in global (§3.1) silences HAProxy from the moment it is read:
    // what came before it is printed, then nothing (no verdict either).
    let quiet_at = checked.config.global.quiet_at;
    if let Some(at) = quiet_at {
        for d in &checked.diagnostics {
            let before = d.span.is_some_and(|s| (s.file, s.line) < at);
            if before && d.severity != Severity::Info {
                notices(&mut err);
                let msg = haproxy_message(d, &checked.sources);
                line(&mut err, tag_of(d.severity), true, &msg);
            }
        }
        return (String::new(), err);
    }
    for d in &checked.diagnostics {
        if parse_failed
            && d.haproxy
                .as_ref()
                .is_some_and(|h| h.loc == HaproxyLoc::ParsingPost)
        {
            continue;
        }
        let tag = tag_of(d.severity);
        if d.severity == Severity::Info {
            continue;
        }
        notices(&mut err);
        let msg = haproxy_message(d, &checked.sources);
        line(
            &mut err,
            tag,
            d.code != haproxide_config::Code::FileUnreadable,
            &msg,
        );
        if d.is_error() {
            match (d.code, d.span) {
                (haproxide_config::Code::UnresolvableAddress, _) => addr = true,
                (_, Some(s))
                    if d.haproxy.as_ref().is_some_and(|h| {
                        !matches!(
                            h.loc,
                            HaproxyLoc::None | HaproxyLoc::BracketPost | HaproxyLoc::ParsingPost
                        )
                    }) =>
                {
                    if !parse_err_files.contains(&s.file) {
                        parse_err_files.push(s.file);
                    }
                }
                _ => post = true,
            }
        }
    }
    for f in &parse_err_files {
        line(
            &mut err,
            "[ALERT]",
            true,
            &format!(
                "Error(s) found in configuration file : {}",
                checked.sources.name(*f)
            ),
        );
    }
    if addr {
        line(
            &mut err,
            "[ALERT]",
            true,
            "Failed to initialize server(s) addr.",
        );
    } else if (!parse_err_files.is_empty() || post) && !checked.aborted {
        line(
            &mut err,
            "[ALERT]",
            true,
            "Fatal errors found in configuration.",
        );
    }
    let warnings = checked
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Warning);
    if deny_warnings && warnings && !checked.has_errors() {
        line(
            &mut err,
            "[ALERT]",
            true,
            "Some warnings were found and 'zero-warning' is set. Aborting.",
        );
    }
    let mut out = String::new();
    match exit_code {
        0 => {
            if warnings {
                out.push_str("Warnings were found.\n");
            }
            out.push_str("Configuration file is valid\n");
        }
        2 => {
            if warnings {
                out.push_str("Warnings were found.\n");
            }
            out.push_str(
                "Configuration file has no error but will not start (no listener) => exit(2).\n",
            );
        }
        _ => {}
    }
    (out, err)
}
