use super::acl::{map_files_in, split_converters};
use super::*;

impl Parser<'_> {
    /// `use_backend <name> [{if|unless} <cond>]` (configuration.txt §4.2).
    pub(super) fn kw_use_backend(&mut self, pi: usize, line: &Line, a: usize) {
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
            "if" | "unless" => self.condition(
                pi,
                line,
                a + 1,
                "error detected while parsing switching rule : {}.",
            ),
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
        let format = w.text.contains('%').then(|| {
            let reader = |p: &str| self.read_pattern_file(p);
            let opts = haproxide_expr::Opts {
                pattern_file: self
                    .expr_opts()
                    .then_some(&reader as haproxide_expr::acl::FileReader<'_>),
                refs: self.expr_opts().then(haproxide_expr::patref::global),
                loc: Some(self.loc(line)),
                ..haproxide_expr::Opts::default()
            };
            haproxide_expr::LogFormat::parse_with(&w.text, haproxide_expr::LfMode::Http, &opts)
                .map(std::sync::Arc::new)
                .map_err(|e| e.to_string())
        });
        self.cfg.proxies[pi].use_backends.push(UseBackend {
            backend: Named::from_word(w),
            cond,
            format,
        });
    }

    /// `monitor fail {if|unless} <cond>` (configuration.txt §4.2): the
    /// `monitor-uri` answers 503 while one of these conditions holds.
    pub(super) fn kw_monitor_fail(&mut self, pi: usize, line: &Line, a: usize) {
        match line.arg(a) {
            "if" | "unless" => {
                if let Some(c) = self.condition(
                    pi,
                    line,
                    a,
                    "error detected while parsing a 'monitor fail' condition : {}.",
                ) {
                    self.cfg.proxies[pi].monitor_fail.push(c);
                }
            }
            other => {
                let other = other.to_string();
                self.err(
                    Code::ConditionExpression,
                    line.span(a),
                    format!("`monitor fail` expects `if` or `unless`, found `{other}`"),
                    HaproxyLoc::Parsing,
                    "'monitor fail' expects 'if' or 'unless' followed by a condition.",
                );
            }
        }
    }

    /// `tcp-request`, `http-request`... rules: the action must exist for the rule set.
    pub(super) fn kw_rule(&mut self, pi: usize, line: &Line, start: usize, canon: &str) {
        let nwords = canon.split(' ').count();
        let ai = start + nwords;
        if canon.ends_with("inspect-delay") {
            let t = self.time_arg(line, ai, canon);
            if canon == "tcp-request inspect-delay" {
                self.cfg.proxies[pi].inspect_delay = t;
            } else if canon == "tcp-response inspect-delay" {
                self.cfg.proxies[pi].res_inspect_delay = t;
            }
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
            .at(action_w.span);
            // HAProxy's list in its order when recorded; else the known ones.
            let listed = super::action_lists::list(&rs)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    list.iter()
                        .map(|a| format!("'{a}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            d = if rs.starts_with("tcp-") {
                // tcp_rules.c: the proxy named, `tcp-request`'s text ending in
                // a newline of its own (a blank line follows).
                let p = &self.cfg.proxies[pi];
                let kind = match p.kind {
                    ProxyKind::Listen => "proxy",
                    k => k.as_str(),
                };
                let nl = if rs.starts_with("tcp-request") {
                    "\n"
                } else {
                    ""
                };
                d.hx(
                    HaproxyLoc::Parsing,
                    format!(
                        "'{rs}' expects {listed} in {kind} '{}' (got '{action}').{nl}",
                        p.name.name
                    ),
                )
            } else {
                d.hx(
                    HaproxyLoc::ParsingTight,
                    format!("'{rs}' expects {listed}, but got '{action}'."),
                )
            };
            if let Some(h) = hint {
                d = d.help(format!("did you mean `{h}`?"));
            }
            self.push(d);
            // An HTTP rule HAProxy cannot build stops its reading (ERR_ABORT).
            if rs.starts_with("http-") {
                self.aborted = true;
            }
            return;
        }
        // §4.2 `http-request use-service lua.<name>`: a service of a Lua file
        // that was loaded (HAProxy 2.6: "'lua.x' unknown service name.").
        let svc = line.arg(ai + 1);
        if rs == "http-request" && base == "use-service" && svc.starts_with("lua.") && !self.has_lua
        {
            let p = &self.cfg.proxies[pi];
            let kind = match p.kind {
                ProxyKind::Listen => "proxy",
                k => k.as_str(),
            };
            let hx = format!(
                "error detected in {kind} '{}' while parsing '{rs} {action}' rule : '{svc}' unknown service name..",
                p.name.name
            );
            self.err(
                Code::UnknownAction,
                line.span(ai + 1),
                format!("no Lua file loaded registers the service `{svc}`"),
                HaproxyLoc::Parsing,
                hx,
            );
            self.aborted = true;
            return;
        }
        if !self.rule_fetch_known(pi, line, ai, &rs, &action)
            || !self.rule_map_files_exist(pi, line, ai, &rs, &action)
        {
            // An HTTP rule HAProxy cannot build stops its reading here
            // (cfgparse-listen.c: ERR_ABORT), as below.
            if rs.starts_with("http-") {
                self.aborted = true;
            }
            return;
        }
        let ci = (ai + 1..line.words.len()).find(|&j| matches!(line.arg(j), "if" | "unless"));
        let cond = ci.and_then(|j| {
            // HAProxy words an error in a tcp-request/tcp-response condition with the
            // rule, the proxy and the `if`/`unless`.
            let what = if rs.starts_with("tcp-") {
                let p = &self.cfg.proxies[pi];
                let kind = match p.kind {
                    ProxyKind::Listen => "proxy",
                    k => k.as_str(),
                };
                format!(
                    "'{rs} {action}' : error detected in {kind} '{}' while parsing '{}' condition : {{}}",
                    p.name.name,
                    line.arg(j)
                )
            } else {
                format!("error detected while parsing '{rs}' rule : {{}}.")
            };
            self.condition(pi, line, j, &what)
        });
        let args = line.words[ai + 1..ci.unwrap_or(line.words.len())]
            .iter()
            .map(|w| w.text.clone())
            .collect();
        let mut rule = Rule {
            ruleset: rs,
            action: Named::from_word(action_w),
            args,
            cond,
            http: None,
        };
        if matches!(
            rule.ruleset.as_str(),
            "http-request" | "http-response" | "http-after-response"
        ) {
            match self.type_http_action(pi, &rule) {
                Ok(t) => rule.http = t,
                Err(e) => {
                    let p = &self.cfg.proxies[pi];
                    let kind = match p.kind {
                        ProxyKind::Listen => "proxy",
                        k => k.as_str(),
                    };
                    let (loc, hx, msg) = match &e.leftover {
                        Some(w) => (
                            HaproxyLoc::ParsingTight,
                            format!("'{} {}' expects either 'if' or 'unless' followed by a condition but found '{w}'.", rule.ruleset, action),
                            format!("unexpected `{w}` (expected `if` or `unless`)"),
                        ),
                        None => (
                            HaproxyLoc::Parsing,
                            format!(
                                "error detected in {kind} '{}' while parsing '{} {}' rule : {}.",
                                p.name.name, rule.ruleset, action, e.msg
                            ),
                            e.msg.trim_end().to_string(),
                        ),
                    };
                    self.push(
                        Diagnostic::error(Code::InvalidArgument, msg)
                            .at(line.span_from(ai))
                            .hx(loc, hx),
                    );
                    // HAProxy stops reading the configuration here (ERR_ABORT).
                    self.aborted = true;
                    return;
                }
            }
        }
        // TCP rules' variable actions are typed as the HTTP ones (the same
        // words, §4.2); what does not type is refused by translate.
        // `track-sc*`, `sc-inc-gpc*` and `sc-set-gpt0` likewise (§4.2
        // "tcp-request connection", the stick-counter actions).
        if rule.ruleset.starts_with("tcp-")
            && (matches!(base.as_str(), "set-var" | "set-var-fmt" | "unset-var")
                || rule.ruleset.starts_with("tcp-request")
                    && (base.starts_with("track-sc")
                        || matches!(base.as_str(), "sc-inc-gpc0" | "sc-inc-gpc1" | "sc-set-gpt0")))
        {
            rule.http = self.type_http_action(pi, &rule).ok().flatten();
        }
        self.cfg.proxies[pi].rules.push(rule);
    }

    /// Types an HTTP rule's action ([`crate::http_rules`]).
    pub(super) fn type_http_action(
        &self,
        pi: usize,
        rule: &Rule,
    ) -> Result<Option<crate::http_rules::TypedAction>, crate::http_rules::RuleError> {
        let at = (rule.action.span.file, rule.action.span.line);
        self.with_type_ctx(pi, at, |cx| {
            crate::http_rules::type_action(rule, cx)
                .map(|a| a.map(|a| crate::http_rules::TypedAction(std::sync::Arc::new(a))))
        })
    }

    /// `http-error status <code> ...` (configuration.txt §4.2 "http-error"):
    /// typed as `return` reads its arguments; kept with its line for
    /// [`crate::http_rules::error_pages`].
    pub(super) fn kw_http_error(&mut self, pi: usize, line: &Line, a: usize) {
        let words: Vec<&str> = line.words[a.min(line.words.len())..]
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        let at = (line.file, line.line);
        match self.with_type_ctx(pi, at, |cx| crate::http_rules::http_error(&words, cx)) {
            Ok(Some(reply)) => self.cfg.proxies[pi]
                .http_error
                .push(crate::model::HttpErrorCfg {
                    at: (line.file, line.line),
                    reply: std::sync::Arc::new(reply),
                }),
            // A log-format with what this engine lacks: the status keeps its page.
            Ok(None) => {}
            Err(e) => self.err(
                Code::InvalidArgument,
                line.span_from(a),
                format!("`http-error`: {}", e.trim_end_matches('.')),
                HaproxyLoc::Parsing,
                format!("http-error : {e}"),
            ),
        }
    }

    /// Runs `f` with what typing an HTTP action of proxy `pi` needs.
    pub(super) fn with_type_ctx<T>(
        &self,
        pi: usize,
        at: (crate::source::FileId, u32),
        f: impl FnOnce(&crate::http_rules::TypeCtx<'_>) -> T,
    ) -> T {
        let p = &self.cfg.proxies[pi];
        let read = |f: &str| std::fs::read(f).map_err(|e| e.to_string());
        let known = |n: &str| {
            self.kw.fetches.contains(n) || self.kw.converters.contains(n) || self.is_lua_sample(n)
        };
        let reader = |p: &str| self.read_pattern_file(p);
        let cx = crate::http_rules::TypeCtx {
            opts: haproxide_expr::Opts {
                pattern_file: self
                    .expr_opts()
                    .then_some(&reader as haproxide_expr::acl::FileReader<'_>),
                refs: self.expr_opts().then(haproxide_expr::patref::global),
                loc: Some(self.loc_at(at.0, at.1)),
                ..haproxide_expr::Opts::default()
            },
            proxy: &p.name.name,
            read: &read,
            // Request capture slots are numbered in declaration order across
            // `capture request header` lines and `http-request capture ... len`.
            capture_base: p
                .directives
                .iter()
                .filter(|d| {
                    d.keyword == "capture request header"
                        || d.keyword == "declare capture"
                            && d.line.words.get(2).is_some_and(|w| w.text == "request")
                })
                .count()
                + p.rules
                    .iter()
                    .filter(|r| {
                        r.action.name == "capture" && r.args.get(1).is_some_and(|k| k == "len")
                    })
                    .count(),
            known: &known,
            http_errors: &|name: &str| {
                self.cfg
                    .others
                    .iter()
                    .filter(|s| {
                        s.kind == "http-errors" && s.name.as_ref().is_some_and(|n| n.name == name)
                    })
                    .flat_map(|s| s.directives.iter())
                    .filter(|d| d.keyword == "errorfile")
                    .filter_map(|d| {
                        let w = &d.line.words;
                        let code = w.get(1)?.text.parse::<u16>().ok()?;
                        Some((code, std::fs::read(&w.get(2)?.text).ok()?))
                    })
                    .collect()
            },
        };
        f(&cx)
    }

    /// `redirect location|prefix|scheme <to> [options] [{if|unless} <cond>]`
    /// (configuration.txt §4.4): typed as an HTTP rule of its own rule set
    /// (HAProxy runs these after the `http-request` rules).
    pub(super) fn kw_redirect(&mut self, pi: usize, line: &Line, a: usize) {
        let ci = (a..line.words.len()).find(|&j| matches!(line.arg(j), "if" | "unless"));
        let cond = ci.and_then(|j| {
            self.condition(
                pi,
                line,
                j,
                "error detected while parsing redirect rule : {}.",
            )
        });
        let Some(kw) = line.words.get(a - 1) else {
            return;
        };
        let mut rule = Rule {
            ruleset: "redirect".into(),
            action: Named::from_word(kw),
            args: line.words[a..ci.unwrap_or(line.words.len())]
                .iter()
                .map(|w| w.text.clone())
                .collect(),
            cond,
            http: None,
        };
        match self.type_http_action(pi, &rule) {
            Ok(t) => rule.http = t,
            Err(e) => {
                let p = &self.cfg.proxies[pi];
                let msg = match e.leftover {
                    Some(w) => format!("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '{w}')"),
                    None => e.msg,
                };
                let hx = format!(
                    "error detected in {} '{}' while parsing redirect rule : {msg}.",
                    p.kind.as_str(),
                    p.name.name
                );
                self.push(
                    Diagnostic::error(Code::InvalidArgument, msg)
                        .at(line.span_from(a))
                        .hx(HaproxyLoc::Parsing, hx),
                );
                return;
            }
        }
        self.cfg.proxies[pi].rules.push(rule);
    }

    /// `set-var(x) <expr>`: the expression's fetch must exist.
    fn rule_fetch_known(
        &mut self,
        pi: usize,
        line: &Line,
        ai: usize,
        rs: &str,
        action: &str,
    ) -> bool {
        let base = action.split('(').next().unwrap_or(action);
        if base == "set-var" {
            if let Some(expr) = line.words.get(ai + 1) {
                let head = split_converters(&expr.text)
                    .first()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let fname = head.split('(').next().unwrap_or("").to_string();
                let known = fname.is_empty()
                    || self.kw.fetches.contains(&fname)
                    || self.is_lua_sample(&fname)
                    || fname
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit() || c == '"');
                if !known {
                    let pname = self.cfg.proxies[pi].name.name.clone();
                    let kind = self.cfg.proxies[pi].kind.as_str();
                    self.push(
                        Diagnostic::error(Code::UnknownFetch, format!("unknown fetch method `{fname}`"))
                            .at(expr.span)
                            .hx(HaproxyLoc::Parsing, format!("error detected in {kind} '{pname}' while parsing '{rs} {action}' rule : unknown fetch method '{fname}'.")),
                    );
                    return false;
                }
            }
        }
        true
    }

    /// The `map*(<file>)` converters in a rule's arguments name existing files.
    fn rule_map_files_exist(
        &mut self,
        pi: usize,
        line: &Line,
        ai: usize,
        rs: &str,
        action: &str,
    ) -> bool {
        if self.opts.check_files {
            for w in &line.words[ai + 1..] {
                for (conv, file) in map_files_in(&w.text) {
                    if self.pattern_file_fails(&file) {
                        let p = &self.cfg.proxies[pi];
                        let pname = p.name.name.clone();
                        let kind = match p.kind {
                            ProxyKind::Listen => "proxy",
                            k => k.as_str(),
                        };
                        // A sample expression argument (`set-var`, `set-src`...)
                        // reports the converter's error as it is; a log-format
                        // one (`set-header ... %[...]`) through log.c's
                        // "failed to parse sample expression".
                        let base = action.split('(').next().unwrap_or(action);
                        let sample_arg = matches!(
                            base,
                            "set-var"
                                | "set-src"
                                | "set-src-port"
                                | "set-dst"
                                | "set-dst-port"
                                | "capture"
                                | "track-sc0"
                                | "track-sc1"
                                | "track-sc2"
                                | "track-sc"
                                | "set-priority-class"
                                | "set-priority-offset"
                                | "do-resolve"
                        );
                        let expr = if sample_arg {
                            String::new()
                        } else {
                            format!(
                                "failed to parse sample expression <{}> : ",
                                w.text.trim_start_matches("%[")
                            )
                        };
                        self.push(
                            Diagnostic::error(Code::MissingFile, format!("map file `{file}` does not exist"))
                                .at(w.span)
                                .hx(HaproxyLoc::Parsing, format!("error detected in {kind} '{pname}' while parsing '{rs} {action}' rule : {expr}invalid args in converter '{conv}' : failed to open pattern file <{file}>.")),
                        );
                        return false;
                    }
                }
            }
        }
        true
    }
}
