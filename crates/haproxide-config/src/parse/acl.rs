use super::*;

/// A `map*(<file>[,default])` converter and its file, from one converter text.
pub(super) fn map_file(conv: &str) -> Option<(String, String)> {
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
pub(super) fn map_files_in(word: &str) -> Vec<(String, String)> {
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
pub(super) fn split_converters(s: &str) -> Vec<&str> {
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

impl Parser<'_> {
    /// `acl <name> <criterion> [flags] [operator] [<value>] ...` (configuration.txt §7.1).
    pub(super) fn kw_acl(&mut self, pi: usize, line: &Line, a: usize) {
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
                let opts = self.expr_opts();
                let reader = |p: &str| self.read_pattern_file(p);
                let opts = haproxide_expr::Opts {
                    pattern_file: opts.then_some(&reader as haproxide_expr::acl::FileReader<'_>),
                    refs: opts.then(haproxide_expr::patref::global),
                    loc: Some(self.loc(line)),
                    ..haproxide_expr::Opts::default()
                };
                let mut untyped = None;
                match haproxide_expr::AclExpr::parse(&words, &opts) {
                    Ok(typed) => {
                        self.acl_without_patterns(line, &words, &typed);
                        self.cfg.proxies[pi].acl_set.add(&name_s, typed)
                    }
                    Err(e) if e.is_invalid() => {
                        self.push(
                            Diagnostic::error(Code::InvalidArgument, e.message.clone())
                                .at(line.span_from(a + 1))
                                .hx(
                                    HaproxyLoc::Parsing,
                                    format!(
                                        "error detected while parsing ACL '{name_s}' : {}.",
                                        e.message
                                    ),
                                ),
                        );
                        return;
                    }
                    Err(e) => {
                        untyped = Some(e.message.clone());
                        self.cfg.proxies[pi].acl_set.add_untyped(&name_s, e);
                    }
                }
                self.acl_names.insert(name_s.clone());
                self.cfg.proxies[pi].acls.push(Acl {
                    name: Named::from_word(name),
                    expr,
                    untyped,
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

    /// An ACL with nothing after its criterion (no flag, no pattern) never
    /// matches unless its sample is a boolean: HAProxy 2.6 warns (acl.c
    /// `parse_acl_expr`). Typically a pattern from an unset environment
    /// variable (`acl api path_beg "$PATH_PREFIX"`).
    fn acl_without_patterns(
        &mut self,
        line: &Line,
        words: &[&str],
        typed: &haproxide_expr::AclExpr,
    ) {
        let bare = words.get(1).is_none_or(|w| w.is_empty());
        if !bare || typed.sample().out_type() == haproxide_expr::sample::SmpType::Bool {
            return;
        }
        let crit = words.first().copied().unwrap_or("");
        self.warn(
            Code::MiscWarning,
            line.span_from(0),
            format!("ACL criterion `{crit}` without a pattern never matches (add `--` if intended, or use `-m found`)"),
            HaproxyLoc::None,
            format!(
                "parsing acl keyword '{crit}' :\n  no pattern to match against were provided, so this ACL will never match.\n  If this is what you intended, please add '--' to get rid of this warning.\n  If you intended to match only for existence, please use '-m found'.\n  If you wanted to force an int to match as a bool, please use '-m bool'.\n"
            ),
        );
    }

    /// Parse an ACL expression starting at word `i` (`words` = the words from there).
    #[allow(clippy::type_complexity)]
    pub(super) fn acl_expr(
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
        let known = self.kw.fetches.contains(fname)
            || self.kw.acl_keywords.contains(fname)
            || self.is_lua_sample(fname);
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
                if self.opts.check_files && self.pattern_file_fails(&file) {
                    return Err((
                        Code::MissingFile,
                        line.span(i),
                        format!("map file `{file}` does not exist"),
                        format!("invalid args in converter '{conv}' : failed to open pattern file <{file}> in ACL expression '{crit}'"),
                    ));
                }
            }
            let cname = c.split('(').next().unwrap_or(c);
            if !(self.kw.converters.contains(cname) || self.is_lua_sample(cname)) {
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
                    if *f == "-f" && self.opts.check_files && self.pattern_file_fails(v) {
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

    /// Whether pattern or map file `f` is reported as missing: it cannot be
    /// opened and its name was not used before (see `unopened_files`).
    pub(super) fn pattern_file_fails(&self, f: &str) -> bool {
        !Path::new(f).exists() && self.unopened_files.borrow_mut().insert(f.to_string())
    }

    /// A pattern file's text for the expression engine; a name HAProxy failed
    /// to open before reads as an empty file, as its empty reference does.
    pub(super) fn read_pattern_file(&self, f: &str) -> Result<String, String> {
        match std::fs::read_to_string(f) {
            Ok(t) => Ok(t),
            Err(_) if self.unopened_files.borrow().contains(f) => Ok(String::new()),
            Err(e) => {
                self.unopened_files.borrow_mut().insert(f.to_string());
                Err(e.to_string())
            }
        }
    }

    /// Whether `-f` pattern files are read (they are when files are checked).
    pub(super) fn expr_opts(&self) -> bool {
        self.opts.check_files
    }

    /// The file and line `line` comes from, as `show acl` names them.
    pub(super) fn loc(&self, line: &Line) -> (&str, u32) {
        self.loc_at(line.file, line.line)
    }

    /// [`Self::loc`] of a file id and line number.
    pub(super) fn loc_at(&self, file: crate::source::FileId, line: u32) -> (&str, u32) {
        let f = self
            .opts
            .file_names
            .get(file.0 as usize)
            .map_or("?", String::as_str);
        (f, line)
    }

    /// Type a condition (the words from `if`/`unless` on) with the expression
    /// engine against the proxy's ACLs. An error HAProxy also makes is reported
    /// with its text; `Err` holds why the engine cannot type a valid one.
    fn type_condition(
        &mut self,
        pi: usize,
        line: &Line,
        i: usize,
        what: &str,
    ) -> Option<Result<haproxide_expr::Cond, String>> {
        let words: Vec<&str> = line.words[i..].iter().map(|w| w.text.as_str()).collect();
        let reader = |p: &str| self.read_pattern_file(p);
        let opts = haproxide_expr::Opts {
            pattern_file: self
                .expr_opts()
                .then_some(&reader as haproxide_expr::acl::FileReader<'_>),
            refs: self.expr_opts().then(haproxide_expr::patref::global),
            loc: Some(self.loc(line)),
            in_cond: true,
            ..haproxide_expr::Opts::default()
        };
        match haproxide_expr::Cond::parse(&words, &self.cfg.proxies[pi].acl_set, &opts) {
            Ok(c) => Some(Ok(c)),
            Err(e) if e.is_invalid() => {
                self.push(
                    Diagnostic::error(Code::ConditionExpression, e.message.clone())
                        .at(line.span_from(i))
                        .hx(HaproxyLoc::Parsing, what.replace("{}", &e.message)),
                );
                None
            }
            Err(e) => Some(Err(e.message)),
        }
    }

    /// Parse `if|unless <cond>` starting at word `i` (configuration.txt §7.2).
    /// `what` is HAProxy's message around an error in it, `{}` standing for the error.
    pub(super) fn condition(
        &mut self,
        pi: usize,
        line: &Line,
        i: usize,
        what: &str,
    ) -> Option<Condition> {
        let unless = line.arg(i) == "unless";
        let mut or_terms: Vec<Vec<CondTerm>> = vec![Vec::new()];
        let mut k = i + 1;
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
                    self.err(
                        Code::ConditionExpression,
                        line.span(k),
                        "`{` without matching `}` in condition",
                        HaproxyLoc::Parsing,
                        what.replace("{}", "missing closing '}' in condition"),
                    );
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
                        self.push(
                            Diagnostic::error(code, msg)
                                .at(span)
                                .hx(HaproxyLoc::Parsing, what.replace("{}", &detail)),
                        );
                        return None;
                    }
                }
                k = end + 1;
                continue;
            }
            if !self.acl_names.contains(&t) && !haproxide_expr::is_predefined(&t) {
                let hint = suggest(&t, self.acl_names.iter().map(String::as_str));
                let mut d = Diagnostic::error(
                    Code::UnknownAcl,
                    format!("no ACL named `{t}` is declared before this line"),
                )
                .at(line.span(k))
                .hx(
                    HaproxyLoc::Parsing,
                    what.replace("{}", &format!("no such ACL : '{t}'")),
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
        let typed = self.type_condition(pi, line, i, what)?;
        Some(Condition {
            unless,
            or_terms,
            span: line.span_from(i),
            typed,
        })
    }
}
