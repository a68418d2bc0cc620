use super::*;

impl Parser<'_> {
    /// Proxy keywords (configuration.txt §4.1 matrix, §4.2 entries).
    pub(super) fn proxy_kw(&mut self, pi: usize, line: &Line, start: usize, modifier: Modifier) {
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
            self.proxy_unknown(pi, line, start, section, &words);
            return;
        };
        // HAProxy counts a generic option's arguments before it looks at the
        // proxy's capabilities, the other keywords' after it warned about them
        // (cfgparse-listen.c).
        let arity = crate::arity::proxy(&canon);
        let option = canon.starts_with("option ");
        if option && self.option_value_refused(line, start, &canon) {
            return;
        }
        if let Some(e) = arity.filter(|_| option) {
            if self.too_many_args(line, start, e) {
                return;
            }
        }
        if option && self.proxy_value_refused(line, start, start + 2, &canon) {
            return;
        }
        let before = self.diags.len();
        let placed = self.proxy_kw_placed(pi, kind, line, start, &words, &canon, &allow);
        let refused = self.diags[before..].iter().any(|d| d.is_error());
        if let Some(e) = arity.filter(|_| !option && !refused) {
            if self.too_many_args(line, start, e) {
                return;
            }
        }
        if !placed {
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
        if !option && self.proxy_value_refused(line, start, start + n, &canon) {
            return;
        }
        let dirs = &mut self.cfg.proxies[pi].directives;
        dirs.push(placeholder(canon.clone(), modifier, line));
        self.pending = Some(Slot::Proxy(pi, dirs.len() - 1));
        let a = start + n; // first argument after the keyword
        let applied_from = self.diags.len();
        self.proxy_kw_apply(pi, line, start, a, &words, &canon, modifier);
        if let Some(k) = super::order::Placed::of(&canon) {
            self.rule_placed(pi, line, k, applied_from);
        }
    }

    /// Whether the keyword may appear in this proxy (§4.1 matrix): reports it when not.
    #[allow(clippy::too_many_arguments)]
    fn proxy_kw_placed(
        &mut self,
        pi: usize,
        kind: ProxyKind,
        line: &Line,
        start: usize,
        words: &[&str],
        canon: &str,
        allow: &crate::keywords::ProxyAllow,
    ) -> bool {
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
            return false;
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
                _ => self.warn_no_capability(kind, line, start, canon, &kw0, label, &pname),
            }
            return false;
        }
        true
    }

    /// A keyword this proxy's capabilities make useless: HAProxy warns and ignores it.
    #[allow(clippy::too_many_arguments)]
    fn warn_no_capability(
        &mut self,
        kind: ProxyKind,
        line: &Line,
        start: usize,
        canon: &str,
        kw0: &str,
        label: &str,
        pname: &str,
    ) {
        let section = kind.as_str();
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

    /// Apply a placed proxy keyword to the model.
    #[allow(clippy::too_many_arguments)]
    fn proxy_kw_apply(
        &mut self,
        pi: usize,
        line: &Line,
        start: usize,
        a: usize,
        words: &[&str],
        canon: &str,
        modifier: Modifier,
    ) {
        let kw0 = words[0];
        match kw0 {
            "mode" => {
                self.cfg.proxies[pi].mode_span = Some(line.span_from(0));
                self.kw_mode(pi, line, a)
            }
            "id" => self.kw_proxy_id(pi, line, a),
            "backlog" => self.kw_backlog(pi, line, a),
            "log-tag" => self.cfg.proxies[pi].log_tag = line.words.get(a).map(Named::from_word),
            "log-format" => {
                if let Some(w) = line.words.get(a) {
                    let f = SessionLog::Custom(Named::from_word(w));
                    self.set_log_format(pi, f, "log-format", line.span_from(0))
                }
            }
            "load-server-state-from-file" => self.kw_state_from(pi, line, a),
            "stats" => self.kw_stats(pi, line, start, a, canon),
            "server-state-file-name" => {
                self.cfg.proxies[pi].server_state_file_name =
                    line.words.get(a).map(Named::from_word)
            }
            "bind" => self.kw_bind(pi, line, start),
            "clitcpka-idle" | "clitcpka-intvl" | "srvtcpka-idle" | "srvtcpka-intvl" => {
                let t = super::timers::plain(value::TimeUnit::S, "'{kw}' expects an integer value");
                self.c_timer(line, start, &t);
            }
            "clitcpka-cnt" | "srvtcpka-cnt" => self.tcpka_cnt(line, start),
            "server" | "default-server" | "server-template" => self.kw_server(pi, line, start),
            "balance" => {
                self.cfg.proxies[pi].balance_span = Some(line.span_from(0));
                self.kw_balance(pi, line, a)
            }
            "timeout" => {
                if let Some(t) = self.time_arg(line, a, canon) {
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
                let latest = self.opts.table != TableSet::V2_6;
                if let Some(e) = super::balance_args::hash_type_refusal(words, latest) {
                    let msg = format!("`{}` is refused by HAProxy", words.join(" "));
                    return self.err(
                        Code::InvalidArgument,
                        line.span_from(a),
                        msg,
                        HaproxyLoc::Parsing,
                        e,
                    );
                }
                self.cfg.proxies[pi].hash_type =
                    Some(words[1..].iter().map(|s| s.to_string()).collect())
            }
            "hash-balance-factor" => {
                if let Some(e) = super::balance_args::hash_balance_factor_refusal(line.arg(a)) {
                    let msg = format!("`hash-balance-factor {}` is refused", line.arg(a));
                    self.err(
                        Code::InvalidArgument,
                        line.span_from(a),
                        msg,
                        HaproxyLoc::Parsing,
                        e,
                    );
                }
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
            "monitor" if canon == "monitor fail" => self.kw_monitor_fail(pi, line, a),
            "acl" => self.kw_acl(pi, line, a),
            "log" => {
                if let Some(t) = self.log_target(line, start, modifier) {
                    self.cfg.proxies[pi].logs.push(t);
                }
            }
            "tcp-request"
            | "tcp-response"
            | "http-request"
            | "http-response"
            | "http-after-response" => self.kw_rule(pi, line, start, canon),
            "option" => self.kw_option(pi, line, start, words, modifier),
            "http-check" | "tcp-check" => self.kw_check_rule(pi, line, start, kw0),
            "filter" => self.filter_files(line, a),
            "errorfile" => self.errorfile_exists(line, a + 1),
            "redirect" => self.kw_redirect(pi, line, a),
            "http-error" => self.kw_http_error(pi, line, a),
            "cookie" => self.kw_cookie(pi, line, a),
            "ignore-persist" => self.kw_persist_rule(pi, line, a, false),
            "force-persist" => self.kw_persist_rule(pi, line, a, true),
            "stick-table" => self.kw_stick_table(pi, line, a),
            "stick" => self.kw_stick(pi, line, start + 1),
            "http-reuse" => self.kw_http_reuse(pi, line, a),
            "capture" => self.kw_capture(line, start),
            "declare" if canon == "declare capture" => self.kw_declare_capture(line, a),
            _ => {}
        }
    }

    /// `id <number>` (§4.2): a number greater than 0 (HAProxy reads it with atol()).
    fn kw_proxy_id(&mut self, pi: usize, line: &Line, a: usize) {
        let text = line.arg(a).to_string();
        if text.is_empty() {
            self.err(
                Code::MissingArgument,
                line.span(a),
                "`id` needs a number",
                HaproxyLoc::ParsingTight,
                "'id' expects an integer argument.",
            );
            return;
        }
        // An `int` (intended truncation: the low 32 bits, as C's).
        match u32::try_from(value::atol(&text) as i32)
            .ok()
            .filter(|v| *v > 0)
        {
            Some(value) => {
                self.cfg.proxies[pi].id = Some(Spanned {
                    value,
                    span: line.span(a),
                })
            }
            None => self.err(
                Code::InvalidArgument,
                line.span(a),
                format!("proxy id `{text}` must be a number greater than 0"),
                HaproxyLoc::ParsingTight,
                "custom id has to be > 0.",
            ),
        }
    }

    /// `backlog <conns>` (configuration.txt §4.2 `backlog`): "Give hints to the
    /// system about the approximate listen backlog desired size", for the `bind`
    /// lines of this proxy (or of those inheriting from this defaults section)
    /// that set no `backlog` of their own. HAProxy reads it with atol(): 0 (or
    /// text that is not a number) means unset, i.e. the frontend's maxconn.
    fn kw_backlog(&mut self, pi: usize, line: &Line, a: usize) {
        let text = line.arg(a).to_string();
        if text.is_empty() {
            self.err(
                Code::MissingArgument,
                line.span(a),
                "`backlog` needs a number of connections",
                HaproxyLoc::Parsing,
                "'backlog' expects an integer argument.",
            );
            return;
        }
        // An extra argument was refused before (`crate::arity`).
        let n = value::atol(&text);
        if n <= 0 {
            self.push(
                Diagnostic::warning(
                    Code::InvalidArgument,
                    format!("`backlog {text}` is not a positive number: HAProxy reads it as unset"),
                )
                .at(line.span(a))
                .help("the listen queue then follows the frontend's maxconn"),
            );
        }
        self.cfg.proxies[pi].backlog =
            u32::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .map(|value| Spanned {
                    value,
                    span: line.span(a),
                });
    }

    /// `load-server-state-from-file { global | local | none }` (§4.2).
    fn kw_state_from(&mut self, pi: usize, line: &Line, a: usize) {
        let text = line.arg(a).to_string();
        let value = match text.as_str() {
            "global" => StateFrom::Global,
            "local" => StateFrom::Local,
            "none" => StateFrom::None,
            _ => {
                self.err(
                    Code::InvalidArgument,
                    line.span(a),
                    format!("`load-server-state-from-file` expects `global`, `local` or `none`, not `{text}`"),
                    HaproxyLoc::Parsing,
                    format!("'load-server-state-from-file' expects 'global', 'local' or 'none'. Got '{text}'"),
                );
                return;
            }
        };
        self.cfg.proxies[pi].load_server_state_from_file = Some(Spanned {
            value,
            span: line.span(a),
        });
    }

    /// `stats enable`, `stats uri <prefix>`... in a proxy (§4.2 `stats ...`).
    fn kw_stats(&mut self, pi: usize, line: &Line, start: usize, a: usize, canon: &str) {
        let arg = || line.arg(a).to_string();
        let kw = match canon {
            "stats enable" => StatsKw::Enable,
            "stats disable" => StatsKw::Disable,
            "stats uri" => StatsKw::Uri(arg()),
            "stats realm" => StatsKw::Realm(arg()),
            "stats auth" => {
                let a = arg();
                let (user, password) = a.split_once(':').unwrap_or((&a, ""));
                StatsKw::Auth {
                    user: user.to_string(),
                    password: password.to_string(),
                }
            }
            "stats admin" => {
                if !matches!(line.arg(a), "if" | "unless") {
                    self.err(
                        Code::ConditionExpression,
                        line.span(a),
                        "`stats admin` needs `if` or `unless` and a condition",
                        HaproxyLoc::Parsing,
                        "'stats admin' requires either 'if' or 'unless' followed by a condition.",
                    );
                    return;
                }
                let what = "error detected while parsing a 'stats admin' rule : {}.";
                let Some(c) = self.condition(pi, line, a, what) else {
                    return;
                };
                StatsKw::Admin(c)
            }
            "stats refresh" => {
                let t = line.arg(a).to_string();
                match value::parse_time_secs(&t) {
                    Ok(secs) => StatsKw::Refresh(Some(secs)),
                    Err(e) => {
                        // HAProxy 2.6.12's texts; with no argument it prints the
                        // NUL it met, which ends its line after the quote.
                        let theirs = match e {
                            value::TimeError::Overflow => format!("timer overflow in argument <{t}> to stats refresh interval, maximum value is 2147483647 s (~68 years)."),
                            value::TimeError::UnexpectedChar(c) if !t.is_empty() => format!("unexpected character '{c}' in argument to stats refresh interval."),
                            _ => "unexpected character '".to_string(),
                        };
                        self.err(
                            Code::InvalidArgument,
                            line.span(a),
                            format!("`stats refresh` takes a time in seconds up to 2147483647 s, not `{t}`"),
                            HaproxyLoc::ParsingTight,
                            theirs,
                        );
                        return;
                    }
                }
            }
            "stats hide-version" => StatsKw::HideVersion,
            "stats show-legends" => StatsKw::ShowLegends,
            "stats show-node" => StatsKw::ShowNode(arg()),
            "stats show-desc" => StatsKw::ShowDesc(
                global::rest_of_line(line, a)
                    .map(|n| n.name)
                    .unwrap_or_default(),
            ),
            "stats scope" => StatsKw::Scope(arg()),
            "stats http-request" => {
                // Read as an `http-request` rule (errors worded as for one).
                let before = self.cfg.proxies[pi].rules.len();
                self.kw_rule(pi, line, start + 1, "http-request");
                if self.cfg.proxies[pi].rules.len() == before {
                    return;
                }
                let Some(rule) = self.cfg.proxies[pi].rules.pop() else {
                    return;
                };
                match rule.action.name.as_str() {
                    "allow" | "deny" | "auth" => StatsKw::HttpRequest(Box::new(rule)),
                    _ => StatsKw::NotServed(canon.to_string()),
                }
            }
            other => StatsKw::NotServed(other.to_string()),
        };
        self.cfg.proxies[pi].stats.push(Spanned {
            value: kw,
            span: line.span_from(start),
        });
    }

    /// `option <name> [args]` and `no option <name>` (§4.2 `option ...`).
    fn kw_option(
        &mut self,
        pi: usize,
        line: &Line,
        start: usize,
        words: &[&str],
        modifier: Modifier,
    ) {
        let kind = self.cfg.proxies[pi].kind;
        let pname = self.cfg.proxies[pi].name.name.clone();
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
        // §4.2 `option httpchk <method> <uri> <version>`: headers or a body
        // smuggled into the version string after a CRLF still work, with
        // HAProxy 2.6's warning (tcpcheck.c `proxy_parse_httpchk_req`).
        if name.name == "httpchk" && line.arg(start + 4).contains("\r\n") {
            self.warn(
                Code::Deprecated,
                line.span(start + 4),
                "headers or a body after the version of `option httpchk` are deprecated: use `http-check send`",
                HaproxyLoc::ParsingTight,
                "'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.",
            );
        }
        // The log formats take no `no`/`default` (HAProxy refuses it for every
        // option outside its generic tables; these are the ones typed here).
        if modifier != Modifier::None
            && matches!(name.name.as_str(), "tcplog" | "httplog" | "httpslog")
        {
            self.err(
                Code::NegationNotSupported,
                line.span_from(0),
                format!(
                    "`option {}` cannot be negated or reset with `no`/`default`",
                    name.name
                ),
                HaproxyLoc::ParsingTight,
                format!(
                    "negation/default is not supported for option '{}'.",
                    name.name
                ),
            );
            return;
        }
        if modifier == Modifier::None {
            let span = line.span(start + 1);
            let format = match name.name.as_str() {
                "tcplog" => Some(SessionLog::TcpLog(span)),
                "httplog" => Some(SessionLog::HttpLog(span)),
                "httpslog" => Some(SessionLog::HttpsLog(span)),
                _ => None,
            };
            if let Some(f) = format {
                // HAProxy names `option httpslog` "option httplog" here.
                let what = match f {
                    SessionLog::TcpLog(_) => "option tcplog",
                    _ => "option httplog",
                };
                self.set_log_format(pi, f, what, line.span_from(0));
            }
        }
        // A check option takes its proxy's waiting rules or drops them
        // (tcpcheck.c: each option's parser clears `TCPCHK_RULES_UNUSED_RS`,
        // `option tcp-check` unless tcp-check is already in effect).
        if modifier == Modifier::None
            && crate::checks::CHECK_OPTIONS.contains(&name.name.as_str())
            && !(name.name == "tcp-check" && self.check_option_at(pi) == Some("tcp-check"))
        {
            self.cfg.proxies[pi].unused_checks = Default::default();
        }
        let args = words[2..].iter().map(|s| s.to_string()).collect();
        self.cfg.proxies[pi].options.push(ProxyOption {
            name,
            negated: modifier == Modifier::No,
            args,
        });
    }

    /// An option's argument HAProxy refuses before it counts them:
    /// `option httplog [clf]` (configuration.txt §4.2 `option httplog`).
    fn option_value_refused(&mut self, line: &Line, start: usize, canon: &str) -> bool {
        let arg = line.arg(start + 2);
        if canon != "option httplog" || arg.is_empty() || arg == "clf" {
            return false;
        }
        self.err(
            Code::InvalidArgument,
            line.span(start + 2),
            format!("`option httplog` takes only `clf`, not `{arg}`"),
            HaproxyLoc::Parsing,
            "keyword 'httplog' only supports option 'clf'.",
        );
        true
    }

    /// `log-format`, `option tcplog`, `option httplog` and `option httpslog` share
    /// one slot (§4.2): the last line wins. In a defaults section, replacing an
    /// earlier setting (its own or the one it takes through `from`) is warned about,
    /// with HAProxy's message.
    fn set_log_format(&mut self, pi: usize, new: SessionLog, what: &str, span: Span) {
        if self.cfg.proxies[pi].kind == ProxyKind::Defaults {
            if let Some(old) = self.defaults_log_format(pi) {
                let old = match old {
                    SessionLog::Custom(_) => "log-format",
                    SessionLog::TcpLog(_) => "option tcplog",
                    SessionLog::HttpLog(_) => "option httplog",
                    SessionLog::HttpsLog(_) => "option httpslog",
                };
                self.warn(
                    Code::MiscWarning,
                    span,
                    format!("`{what}` replaces the `{old}` this defaults section had"),
                    HaproxyLoc::ParsingTight,
                    format!("'{what}' overrides previous '{old}' in 'defaults' section."),
                );
            }
        }
        self.cfg.proxies[pi].log_format = Some(new);
    }

    /// The health-check option in effect in proxy `pi` so far: its own last
    /// one, else its defaults' (by `from`, else the last `defaults` before it).
    fn check_option_at(&self, pi: usize) -> Option<&'static str> {
        let mut i = pi;
        loop {
            let p = self.cfg.proxies.get(i)?;
            let own = p.options.iter().rev().filter(|o| !o.negated).find_map(|o| {
                crate::checks::CHECK_OPTIONS
                    .iter()
                    .find(|c| **c == o.name.name)
            });
            if let Some(c) = own {
                return Some(c);
            }
            i = match &p.from {
                Some(from) => self.cfg.proxies[..i]
                    .iter()
                    .rposition(|d| d.kind == ProxyKind::Defaults && d.name.name == from.name)?,
                None if p.kind != ProxyKind::Defaults => self.cfg.proxies[..i]
                    .iter()
                    .rposition(|d| d.kind == ProxyKind::Defaults)?,
                None => return None,
            };
        }
    }

    /// A defaults section's log format so far: its own, else the one its `from`
    /// chain gives (resolution has not run yet while parsing).
    fn defaults_log_format(&self, pi: usize) -> Option<SessionLog> {
        let mut i = pi;
        loop {
            let p = self.cfg.proxies.get(i)?;
            if let Some(f) = &p.log_format {
                return Some(f.clone());
            }
            let from = p.from.as_ref()?;
            i = self.cfg.proxies[..i]
                .iter()
                .rposition(|d| d.kind == ProxyKind::Defaults && d.name.name == from.name)?;
        }
    }

    /// `http-check ...` / `tcp-check ...` rules (§4.2, `http-check`, `tcp-check`).
    fn kw_check_rule(&mut self, pi: usize, line: &Line, start: usize, kw0: &str) {
        match crate::checks::parse_rule(line) {
            Ok(rule) => {
                let p = &mut self.cfg.proxies[pi];
                let list = if kw0 == "http-check" {
                    &p.http_checks
                } else {
                    &p.tcp_checks
                };
                if matches!(rule, crate::checks::CheckRule::Connect(_))
                    && !crate::checks::connect_may_follow(list)
                {
                    self.err(
                        Code::InvalidArgument,
                        line.span(start + 1),
                        format!("`{kw0} connect` must be the first step (after `comment`, `set-var` or `unset-var` only) of a ruleset with a `connect`"),
                        HaproxyLoc::Parsing,
                        format!("'{kw0} connect' : first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the tcp-check ruleset."),
                    );
                    return;
                }
                // HAProxy uses the rules only under their option; otherwise
                // they wait for one (tcpcheck.c `proxy_parse_tcpcheck`).
                let wants = if kw0 == "http-check" {
                    "httpchk"
                } else {
                    "tcp-check"
                };
                let used = self.check_option_at(pi) == Some(wants);
                let p = &mut self.cfg.proxies[pi];
                if !used {
                    if kw0 == "http-check" {
                        p.unused_checks.http = true;
                    } else {
                        p.unused_checks.tcp = true;
                    }
                }
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
        }
    }

    /// `filter spoe ... config <file>`: the SPOE file is read ([`Self::filter_spoe`]).
    fn filter_files(&mut self, line: &Line, a: usize) {
        if line.arg(a) == "trace" {
            self.filter_trace(line, a);
            return;
        }
        let cfgi = (a..line.words.len()).find(|&j| line.arg(j) == "config");
        // HAProxy's parse_spoe_flt: `config <file>` is mandatory (reg-test
        // spoe/wrong_init.vtc).
        if line.arg(a) == "spoe" && cfgi.is_none() {
            self.err(
                Code::MissingArgument,
                line.span(a),
                "`filter spoe` needs `config <file>`".to_string(),
                HaproxyLoc::Parsing,
                "'filter' : ''spoe' : missing config file'".to_string(),
            );
            return;
        }
        if let (true, Some(j)) = (self.opts.check_files && line.arg(a) == "spoe", cfgi) {
            if let Some(w) = line.words.get(j + 1) {
                self.filter_spoe(line, a, w.text.clone());
            }
        }
    }

    /// `filter spoe [engine <name>] config <file>` (§9.3): the SPOE file read
    /// and typed now, as HAProxy's parse_spoe_flt does; its errors are HAProxy's,
    /// each located in the SPOE file, then one on the `filter` line.
    fn filter_spoe(&mut self, line: &Line, a: usize, file: String) {
        let engine = (a..line.words.len())
            .find(|&j| line.arg(j) == "engine")
            .map(|j| line.arg(j + 1).to_string());
        let Cur::Proxy(pi) = self.cur else { return };
        let reader = |p: &str| self.read_pattern_file(p);
        let opts = haproxide_expr::Opts {
            pattern_file: Some(&reader as haproxide_expr::acl::FileReader<'_>),
            ..haproxide_expr::Opts::default()
        };
        let pname = self.cfg.proxies[pi].name.name.clone();
        let warn = |p: &mut Self, ws: &[String]| {
            for w in ws {
                let first = w.lines().next().unwrap_or("").to_string();
                p.push(
                    Diagnostic::warning(Code::MiscWarning, format!("SPOE: {first}"))
                        .at(line.span_from(0))
                        .hx(HaproxyLoc::None, format!("Proxy '{pname}': {w}")),
                );
            }
        };
        match crate::spoe::load(&file, engine.as_deref(), self.opts.env, &opts) {
            Ok(conf) => {
                warn(self, &conf.warnings);
                self.cfg.proxies[pi].spoe.push(crate::spoe::SpoeFilter {
                    span: line.span_from(0),
                    conf,
                });
            }
            Err(e) => {
                warn(self, &e.warnings);
                for m in e.inner {
                    self.push(
                        Diagnostic::error(Code::InvalidArgument, format!("in SPOE file: {m}"))
                            .at(line.span_from(0))
                            .hx(HaproxyLoc::None, m),
                    );
                }
                let code = if e.filter.starts_with("Could not open") {
                    Code::MissingFile
                } else {
                    Code::InvalidArgument
                };
                self.err(
                    code,
                    line.span_from(0),
                    format!("`filter spoe`: {}", e.filter),
                    HaproxyLoc::Parsing,
                    format!("'filter' : '{}'", e.filter),
                );
            }
        }
    }

    /// `filter trace [name <name>] [random-parsing] [random-forwarding] [hexdump]
    /// [quiet]` (§9.1), checked with HAProxy 2.6's parse_trace_flt texts.
    fn filter_trace(&mut self, line: &Line, a: usize) {
        let mut j = a + 1;
        while j < line.words.len() {
            match line.arg(j) {
                "name" if j + 1 >= line.words.len() => {
                    self.err(
                        Code::MissingArgument,
                        line.span(j),
                        "`filter trace` `name` needs a value".to_string(),
                        HaproxyLoc::Parsing,
                        "'filter' : ''trace' : 'name' option without value'".to_string(),
                    );
                    return;
                }
                "name" => j += 1,
                "random-parsing" | "random-forwarding" | "hexdump" | "quiet" => {}
                w => {
                    let w = w.to_string();
                    self.err(
                        Code::InvalidArgument,
                        line.span(j),
                        format!("`filter trace` has no option `{w}`"),
                        HaproxyLoc::Parsing,
                        format!("'filter trace' : unknown keyword '{w}'."),
                    );
                    return;
                }
            }
            j += 1;
        }
    }

    /// `errorfile <code> <file>`: the file must exist (word `i`); a device such
    /// as `/dev/null` (§4.2's "errorfile 408 /dev/null") is a file to HAProxy.
    pub(super) fn errorfile_exists(&mut self, line: &Line, i: usize) {
        if let Some(w) = line.words.get(i) {
            let readable = std::fs::metadata(&w.text).is_ok_and(|m| !m.is_dir());
            if self.opts.check_files && !readable {
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

    pub(super) fn proxy_unknown(
        &mut self,
        pi: usize,
        line: &Line,
        start: usize,
        section: &str,
        words: &[&str],
    ) {
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
                    let best = crate::diag::haproxy_best_match(sub, super::action_lists::OPTIONS);
                    let hx = match best {
                        Some(h) => format!("unknown option '{sub}'; did you mean '{h}' maybe ?"),
                        None => format!("unknown option '{sub}'."),
                    };
                    (format!("unknown option `{sub}`"), hx)
                }
                "timeout" => (
                    format!("unknown timeout `{sub}`"),
                    format!("'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '{sub}')"),
                ),
                _ => {
                    let kind = self.cfg.proxies[pi].kind;
                    let pname = &self.cfg.proxies[pi].name.name;
                    let mut known: Vec<&str> = subs.clone();
                    known.sort_unstable();
                    known.dedup();
                    (
                        format!("unknown `{kw0} {sub}` (known: {})", known.join(", ")),
                        unknown_sub_text(kw0, sub, crate::resolve::type_str(kind), pname),
                    )
                }
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
    pub(super) fn kw_mode(&mut self, pi: usize, line: &Line, a: usize) {
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
        // An extra argument was refused before the mode was read (`crate::arity`).
        if let Some(m) = m {
            self.cfg.proxies[pi].mode = Some(m);
        }
    }

    /// `balance` (configuration.txt §4.2 `balance`).
    pub(super) fn kw_balance(&mut self, pi: usize, line: &Line, a: usize) {
        let alg = line.arg(a).to_string();
        let rest: Vec<String> = line
            .words
            .iter()
            .skip(a + 1)
            .map(|w| w.text.clone())
            .collect();
        if let Some(e) = super::balance_args::refusal(&alg, &rest) {
            self.err(
                Code::InvalidArgument,
                line.span_from(a),
                format!("`balance {alg}` arguments are refused by HAProxy: {e}"),
                HaproxyLoc::Parsing,
                format!("balance {e}"),
            );
            return;
        }
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
            s if super::balance_args::hdr_name(s).is_some() => Some(Balance::Hdr {
                name: super::balance_args::hdr_name(s)
                    .unwrap_or_default()
                    .to_string(),
                args: rest,
            }),
            s if super::balance_args::rdp_cookie_name(s).is_some() => Some(Balance::RdpCookie {
                name: super::balance_args::rdp_cookie_name(s).map(str::to_string),
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
}

/// HAProxy 2.6's alert for a prefixed proxy keyword (`tcp-request`, `stick`...)
/// followed by a word it does not know, or by nothing (each keyword's parser
/// has its own text: cfgparse-listen.c, tcpcheck.c, extcheck.c, mailers.c).
fn unknown_sub_text(kw0: &str, sub: &str, ts: &str, pname: &str) -> String {
    match (kw0, sub.is_empty()) {
        ("capture", _) => "'capture' expects 'cookie' or 'request header' or 'response header'.".into(),
        ("declare", true) => "'declare' needs a second keyword that specify the type of declaration ('capture')".into(),
        ("declare", false) => format!("unknown declaration type '{sub}' (supports 'capture')"),
        ("email-alert", true) => "missing argument after 'email-alert'.".into(),
        ("email-alert", false) => format!("email-alert: unknown argument '{sub}'."),
        // extcheck.c's message ends with a newline: a blank line follows.
        ("external-check", true) => "missing argument after 'external-check'.\n".into(),
        ("external-check", false) => {
            format!("'external-check' only supports 'command' and 'path'. but got '{sub}'.")
        }
        ("http-check", _) => format!("'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{sub}'"),
        ("tcp-check", _) => format!("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{sub}'"),
        ("monitor", _) => "'monitor' only supports 'fail'.".into(),
        ("persist", true) => "missing persist method.".into(),
        ("persist", false) => "unknown persist method.".into(),
        ("rate-limit", _) => format!("'rate-limit' only supports 'sessions' (got '{sub}')"),
        ("stick", _) => "'stick' expects 'on', 'match', or 'store'.".into(),
        ("tcp-request" | "tcp-response", true) => {
            format!("missing argument for '{kw0}' in {ts} '{pname}'")
        }
        ("tcp-request", false) => format!("'tcp-request' expects 'inspect-delay', 'connection', or 'content' in {ts} '{pname}' (got '{sub}')"),
        ("tcp-response", false) => format!("'tcp-response' expects 'inspect-delay' or 'content' in {ts} '{pname}' (got '{sub}')"),
        _ => format!("unknown keyword '{kw0} {sub}'."),
    }
}
