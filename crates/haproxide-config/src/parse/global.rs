use super::*;

/// The words from `i` on joined by one space (`description`, `stats show-desc`).
pub(super) fn rest_of_line(line: &Line, i: usize) -> Option<Named> {
    let words = line.words.get(i..).filter(|w| !w.is_empty())?;
    Some(Named {
        name: words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        span: line.span_from(i),
    })
}

impl Parser<'_> {
    /// `global` keywords (configuration.txt §3).
    pub(super) fn global_kw(&mut self, line: &Line, start: usize, modifier: Modifier) {
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
        if kw == "tune.ssl.capture-cipherlist-size" {
            self.warn(
                Code::Deprecated,
                line.span(start),
                "`tune.ssl.capture-cipherlist-size` is deprecated (removed in HAProxy 2.7): use `tune.ssl.capture-buffer-size`",
                HaproxyLoc::ParsingTight,
                "'tune.ssl.capture-cipherlist-size' is deprecated and will be removed in version 2.7. Please use 'tune.ssl.capture-buffer-size' instead.",
            );
        }
        if let Some(e) = crate::arity::global(&kw) {
            if self.too_many_args(line, start, e) {
                return;
            }
        }
        if let Some(e) = crate::arity::GLOBAL_MIN.iter().find(|e| e.keyword == kw) {
            if self.too_few_args(line, start, e) {
                return;
            }
        }
        if let Some(e) = crate::choices::GLOBAL_RANGES
            .iter()
            .find(|e| e.keyword == kw)
        {
            if self.refused_range(line, start, e) {
                return;
            }
        }
        if let Some(e) = crate::choices::lookup(crate::choices::Place::Global, &kw) {
            if self.refused_choice(line, start, e, "", HaproxyLoc::Parsing) {
                return;
            }
        }
        if !self.global_value_taken(line, start, &kw) {
            return;
        }
        if kw == "ssl-dh-param-file" && self.global_dh_file_refused(line, start) {
            return;
        }
        if self.global_tls(line, start, &kw)
            || self.global_h2(line, start, &kw)
            || self.global_lua_tune(line, start, &kw)
        {
            return;
        }
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
            "quiet" => {
                g.quiet = true;
                g.quiet_at.get_or_insert((line.file, line.line));
            }
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
            "hard-stop-after" => {
                if let Some(t) = self.time_arg(line, start + 1, "hard-stop-after") {
                    self.cfg.global.hard_stop_after = Some(t);
                }
            }
            "log" => {
                if let Some(t) = self.log_target(line, start, modifier) {
                    self.cfg.global.logs.push(t);
                }
            }
            "stats" => self.global_stats(line, start),
            "uid" | "gid" => self.global_id(line, start),
            "ulimit-n" | "mworker-max-reloads" => self.global_limit(line, start),
            "strict-limits" => self.cfg.global.strict_limits = Some(modifier != Modifier::No),
            "cpu-map" => self.cfg.global.cpu_maps.push(line.span(start)),
            "nosplice" => self.cfg.global.nosplice = true,
            "log-tag" => self.cfg.global.log_tag = line.words.get(start + 1).map(Named::from_word),
            "log-send-hostname" => {
                let name = line.words.get(start + 1).filter(|w| !w.text.is_empty());
                self.cfg.global.log_send_hostname = Some(name.map(Named::from_word));
            }
            "description" => self.cfg.global.description = rest_of_line(line, start + 1),
            "master-worker" => self.global_master_worker(line, start),
            "tune.listener.multi-queue" => self.global_multi_queue(line, start),
            "tune.bufsize" | "tune.maxrewrite" => self.global_buffer(line, start, &kw),
            "user" | "group" => self.global_account(line, start),
            "lua-load" | "lua-load-per-thread" => self.global_lua(line, start),
            "issuers-chain-path" => self.global_dir_exists(line, start),
            "set-var" | "set-var-fmt" => self.global_set_var(line, start),
            "close-spread-time" if arg1 == "infinite" => {}
            _ => {
                if let Some(t) = super::timers::global(&kw) {
                    self.c_timer(line, start, &t);
                }
            }
        }
    }

    /// `set-var <var-name> <expr>` / `set-var-fmt <var-name> <fmt>` (§3.1): a
    /// `proc.` variable set while the configuration is read, as HAProxy does
    /// (its `vars_parse_global_set_var` runs the action at once, so a later line
    /// reads what an earlier one stored).
    fn global_set_var(&mut self, line: &Line, start: usize) {
        let kw = line.arg(start).to_string();
        let fmt = kw == "set-var-fmt";
        let (name, value) = (
            line.arg(start + 1).to_string(),
            line.arg(start + 2).to_string(),
        );
        let fail = |me: &mut Self, msg: String| {
            me.err(
                Code::InvalidArgument,
                line.span_from(start),
                msg.clone(),
                HaproxyLoc::Parsing,
                msg,
            );
        };
        if name.is_empty() || value.is_empty() {
            let what = if fmt {
                "a format string"
            } else {
                "a sample expression"
            };
            return fail(
                self,
                format!("'{kw}' requires a process-wide variable name ('proc.<name>') and {what}."),
            );
        }
        if !haproxide_expr::procvars::is_proc(&name) {
            return fail(
                self,
                format!(
                    "'{kw}': cannot set variable '{name}', only scope 'proc' is permitted in the global section."
                ),
            );
        }
        let reader = |p: &str| self.read_pattern_file(p);
        let opts = haproxide_expr::Opts {
            pattern_file: self
                .expr_opts()
                .then_some(&reader as haproxide_expr::acl::FileReader<'_>),
            ..haproxide_expr::Opts::default()
        };
        let done = if fmt {
            haproxide_expr::LogFormat::parse_with(&value, haproxide_expr::LfMode::Http, &opts)
                .map(|f| haproxide_expr::procvars::set_from_format(&name, &f))
                .map_err(|e| e.to_string())
        } else {
            haproxide_expr::SampleExpr::parse_with(&value, &opts)
                .map(|e| haproxide_expr::procvars::set_from_expr(&name, &e))
                .map_err(|e| e.message)
        };
        if let Err(m) = done {
            fail(self, format!("'{kw}' : failed to parse '{value}': {m}"));
        }
    }

    /// `tune.bufsize <number>` / `tune.maxrewrite <number>` (§3.2), read with
    /// atol() as HAProxy 2.6 does (`1k` is 1); the buffer size is rounded up
    /// to 16 bytes.
    fn global_buffer(&mut self, line: &Line, start: usize, kw: &str) {
        let arg = line.arg(start + 1).to_string();
        let span = line.span(start + 1);
        if arg.is_empty() {
            self.err(
                Code::MissingArgument,
                span,
                format!("`{kw}` needs a number"),
                HaproxyLoc::Parsing,
                format!("'{kw}' expects an integer argument."),
            );
            return;
        }
        // HAProxy keeps the value in an `int`: atol's low 32 bits (an intended
        // truncation), so 2147483648 is negative and 4294967312 is 16; the
        // rounding up to 16 bytes overflows past 2147483632.
        let n = value::atol(&arg) as i32;
        let v = if kw == "tune.bufsize" {
            n.checked_add(15).map(|v| v & !15).filter(|v| *v > 0)
        } else {
            Some(n).filter(|v| *v >= 0)
        };
        let Some(v) = v.and_then(|v| usize::try_from(v).ok()) else {
            self.err(
                Code::InvalidArgument,
                span,
                format!("`{kw}` expects a positive number, not `{arg}`"),
                HaproxyLoc::Parsing,
                format!("'{kw}' expects a positive integer argument."),
            );
            return;
        };
        if kw == "tune.bufsize" {
            // Checked after parsing by HAProxy 2.6.12, with or without HTTP proxies.
            if v >= 256 << 20 {
                self.err(
                    Code::InvalidArgument,
                    span,
                    format!("`tune.bufsize` must be below 256 MB, not {v}"),
                    HaproxyLoc::None,
                    format!("global.tune.bufsize must be below 256 MB when HTTP is in use (current value = {v})."),
                );
                return;
            }
            self.cfg.global.tune_bufsize = Some(v);
        } else {
            self.cfg.global.tune_maxrewrite = Some(v);
        }
    }

    /// `uid <number>` / `gid <number>` (§3.1). HAProxy warns about a value that is
    /// not a number and keeps the previous one; a negative one cannot be applied.
    fn global_id(&mut self, line: &Line, start: usize) {
        let kw = line.arg(start).to_string();
        let Some(w) = line.words.get(start + 1).filter(|w| !w.text.is_empty()) else {
            self.err(
                Code::MissingArgument,
                line.span(start + 1),
                format!("`{kw}` needs a number"),
                HaproxyLoc::Parsing,
                format!("'{kw}' expects an integer argument."),
            );
            return;
        };
        let (text, span) = (w.text.clone(), w.span);
        let named = if kw == "uid" { "user" } else { "group" };
        match text.parse::<i32>() {
            Ok(n) => match u32::try_from(n) {
                Ok(value) => {
                    let v = Some(Spanned { value, span });
                    if kw == "uid" {
                        self.cfg.global.uid = v;
                    } else {
                        self.cfg.global.gid = v;
                    }
                }
                Err(_) => self.push(
                    Diagnostic::warning(
                        Code::InvalidArgument,
                        format!("`{kw} {text}` is negative: haproxide does not apply it"),
                    )
                    .at(span),
                ),
            },
            Err(_) => self.push(
                Diagnostic::warning(
                    Code::InvalidArgument,
                    format!("`{kw}` expects a number, not `{text}`: it is not applied"),
                )
                .at(span)
                .help(format!("use `{named} <name>` for a name"))
                .hx(
                    HaproxyLoc::Parsing,
                    format!(" {kw}: string '{text}' is not a number.\nYou might want to use the '{named}' parameter to use a system {named} name."),
                ),
            ),
        }
    }

    /// `ulimit-n <number>` / `mworker-max-reloads <number>` (§3.1). HAProxy reads
    /// them with atol(); a value that is not a plain number is not applied here,
    /// and said so.
    fn global_limit(&mut self, line: &Line, start: usize) {
        let kw = line.arg(start).to_string();
        let Some(w) = line.words.get(start + 1).filter(|w| !w.text.is_empty()) else {
            if kw == "ulimit-n" {
                self.err(
                    Code::MissingArgument,
                    line.span(start + 1),
                    format!("`{kw}` needs a number"),
                    HaproxyLoc::Parsing,
                    format!("'{kw}' expects an integer argument."),
                );
            }
            return;
        };
        let span = w.span;
        let g = &mut self.cfg.global;
        match (kw.as_str(), w.text.parse::<u64>()) {
            ("ulimit-n", Ok(value)) => g.ulimit_n = Some(Spanned { value, span }),
            (_, Ok(value)) if u32::try_from(value).is_ok() => {
                g.mworker_max_reloads = Some(Spanned {
                    value: value as u32,
                    span,
                })
            }
            _ => {
                let text = w.text.clone();
                self.push(
                    Diagnostic::warning(
                        Code::InvalidArgument,
                        format!("`{kw} {text}` is not a number haproxide can apply: it is ignored"),
                    )
                    .at(span)
                    .help("write a non-negative integer"),
                );
            }
        }
    }

    /// `stats socket <address> [options]` (configuration.txt §3.1, options §5.1).
    fn global_stats_socket(&mut self, line: &Line, start: usize) {
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
                // HAProxy words it with the location twice and a newline of
                // its own (cfgparse-global.c builds the message with the
                // location, and the caller prints it with it again).
                // ("invalid address" has str2sa_range's own newline too.)
                let nl = if matches!(e, value::AddrError::Invalid(_)) {
                    "\n"
                } else {
                    ""
                };
                let hx = format!(
                    "parsing [{}:{}] : 'stats socket' : {}\n{nl}",
                    self.file_marker(line.file),
                    line.line,
                    e.haproxy_text(&w.text)
                );
                self.err(
                    Code::InvalidAddress,
                    w.span,
                    format!("invalid stats socket address `{}`", w.text),
                    HaproxyLoc::Parsing,
                    hx,
                );
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
            if k == "process" && !self.bind_process(line, i, "'stats socket'", true) {
                break;
            }
            let takes = !option_takes_no_arg(&k);
            // The files a `bind`'s SSL options name must exist, as HAProxy
            // opens them while parsing (the same check as for `bind`).
            if matches!(k.as_str(), "crt" | "ca-file" | "crl-file" | "crt-list")
                && !line.arg(i + 1).is_empty()
            {
                self.bind_tls_file(&k, line.arg(i + 1), line.span(i + 1), |k, path| {
                    if k == "crt" {
                        format!("'stats socket' : 'unable to stat SSL certificate from file '{path}' : No such file or directory.\n'")
                    } else {
                        format!("'stats socket' : 'unable to load {path}'")
                    }
                });
            }
            options.push((k, takes.then(|| line.arg(i + 1).to_string()), line.span(i)));
            i += if takes { 2 } else { 1 };
        }
        let mut s = StatsSocket {
            address: Named::from_word(w),
            parsed,
            level: None,
            mode: None,
            uid: None,
            gid: None,
            maxconn: None,
            expose_fd_listeners: false,
            not_run: None,
        };
        self.stats_socket_options(&mut s, &options);
        self.cfg.global.stats_sockets.push(s);
    }

    /// The `stats socket` options the CLI applies (§5.1 `level`, `mode`, `uid`,
    /// `gid`, `user`, `group`), typed, with HAProxy's messages for bad values.
    /// `maxconn` is read too, and the first option the CLI listener does not run
    /// is kept (`StatsSocket::not_run`).
    fn stats_socket_options(
        &mut self,
        s: &mut StatsSocket,
        opts: &[(String, Option<String>, Span)],
    ) {
        for (k, v, span) in opts {
            let v = v.clone().unwrap_or_default();
            if s.not_run.is_none() {
                s.not_run = stats_socket_not_run(k, &v, *span);
            }
            let problem = match k.as_str() {
                "maxconn" => {
                    s.maxconn = v.parse().ok().filter(|n| *n > 0);
                    None
                }
                "expose-fd" => {
                    s.expose_fd_listeners |= v == "listeners";
                    None
                }
                "level" => match CliLevel::from_name(&v) {
                    Some(l) => {
                        s.level = Some(l);
                        None
                    }
                    None => Some(format!(
                        "'level' only supports 'user', 'operator', and 'admin' (got '{v}')"
                    )),
                },
                "mode" => match u32::from_str_radix(&v, 8) {
                    Ok(m) => {
                        s.mode = Some(m);
                        None
                    }
                    Err(_) => Some(format!(
                        "'mode' : missing or invalid mode '{v}' (octal integer expected)"
                    )),
                },
                // HAProxy reads them with atol(); a value that is not a number is
                // refused by the CLI listener (see `support::stats_socket_not_run`).
                "uid" => {
                    s.uid = v.parse().ok();
                    None
                }
                "gid" => {
                    s.gid = v.parse().ok();
                    None
                }
                "user" => match self.opts.accounts.user_id(&v) {
                    Some(id) => {
                        s.uid = Some(id);
                        None
                    }
                    None => Some(format!("'user' : unknown user name '{v}'")),
                },
                "group" => match self.opts.accounts.group_id(&v) {
                    Some(id) => {
                        s.gid = Some(id);
                        None
                    }
                    None => Some(format!("'group' : unknown group name '{v}'")),
                },
                _ => None,
            };
            if let Some(hx) = problem {
                self.err(
                    Code::InvalidArgument,
                    *span,
                    format!("invalid `stats socket` option `{k} {v}`"),
                    HaproxyLoc::Parsing,
                    format!("'stats socket' : '{hx}'"),
                );
            }
        }
    }

    /// `master-worker [no-exit-on-failure]` (§3.1).
    fn global_master_worker(&mut self, line: &Line, start: usize) {
        let arg1 = line.arg(start + 1).to_string();
        let g = &mut self.cfg.global;
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

    /// `tune.listener.multi-queue { on | fair | off }` (§3.2; "fair" since 2.8).
    fn global_multi_queue(&mut self, line: &Line, start: usize) {
        let arg1 = line.arg(start + 1).to_string();
        let v2_6 = self.opts.table == TableSet::V2_6;
        let mq = match arg1.as_str() {
            "on" => Some(MultiQueue::On),
            "off" => Some(MultiQueue::Off),
            "fair" if !v2_6 => Some(MultiQueue::Fair),
            _ => None,
        };
        // An extra argument was refused before (`crate::arity`).
        if mq.is_none() {
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

    /// `user <name>` / `group <name>` (§3.1): the name must exist (looked up with
    /// the caller's [`crate::Accounts`], as HAProxy's getpwnam()/getgrnam()); its
    /// id is the uid/gid, as `uid`/`gid` set it (the last line wins).
    fn global_account(&mut self, line: &Line, start: usize) {
        let user = line.arg(start) == "user";
        let named = line.words.get(start + 1).map(Named::from_word);
        if let Some(n) = named.as_ref().filter(|n| !n.name.is_empty()) {
            let accounts = self.opts.accounts;
            let id = if user {
                accounts.user_id(&n.name)
            } else {
                accounts.group_id(&n.name)
            };
            let what = if user { "user" } else { "group" };
            match id {
                Some(value) => {
                    let id = Some(Spanned {
                        value,
                        span: n.span,
                    });
                    if user {
                        self.cfg.global.uid = id;
                    } else {
                        self.cfg.global.gid = id;
                    }
                }
                None => self.err(
                    Code::UnknownUser,
                    n.span,
                    format!("{what} `{}` does not exist on this machine", n.name),
                    HaproxyLoc::Parsing,
                    format!("cannot find {what} id for '{}' (0:Success)", n.name),
                ),
            }
        }
        if user {
            self.cfg.global.user = named;
        } else {
            self.cfg.global.group = named;
        }
    }

    /// `lua-load <file>` / `lua-load-per-thread <file>` (§3.1).
    fn global_lua(&mut self, line: &Line, start: usize) {
        // A file that cannot be loaded registers nothing: its `lua.*` actions,
        // services and fetches are then unknown, as in HAProxy.
        let loaded = !self.opts.check_files
            || line
                .words
                .get(start + 1)
                .is_some_and(|w| Path::new(&w.text).exists());
        self.has_lua |= loaded;
        if let Some(w) = line.words.get(start + 1) {
            self.cfg.global.lua_loads.push(Named::from_word(w));
            self.cfg.global.lua.per_thread |= line.arg(start) == "lua-load-per-thread";
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

    /// `issuers-chain-path <dir>` (§3.1): a directory.
    fn global_dir_exists(&mut self, line: &Line, start: usize) {
        let kw = line.arg(start).to_string();
        if let Some(w) = line.words.get(start + 1) {
            let path = Path::new(&w.text);
            if self.opts.check_files && !path.is_dir() {
                // HAProxy's texts end with a newline of their own (cfgparse-ssl.c
                // `ssl_load_global_issuers_from_path`): a blank line follows.
                let hx = if path.exists() {
                    format!("global statement '{kw}': {} is not a directory.\n", w.text)
                } else {
                    format!("global statement '{kw}' expects a directory path as an argument.\n")
                };
                self.err(
                    Code::MissingFile,
                    w.span,
                    format!("`{}` is not a directory", w.text),
                    HaproxyLoc::Parsing,
                    hx,
                );
            }
        }
    }

    pub(super) fn global_stats(&mut self, line: &Line, start: usize) {
        let sub = line.arg(start + 1).to_string();
        match sub.as_str() {
            "socket" => self.global_stats_socket(line, start),
            "timeout" => {
                if let Some(t) = self.global_stats_timeout(line, start) {
                    self.cfg.global.stats_timeout = Some(value::Millis(u64::from(t)));
                }
            }
            "maxconn" => {
                if let Some(n) = self.global_stats_maxconn(line, start) {
                    self.cfg.global.stats_maxconn = Some(n);
                }
            }
            "bind-process" => {
                let sets: Vec<&str> = line.words[start + 2..].iter().map(|w| w.text.as_str()).collect();
                if let Some(e) = super::proxy_values::process_sets_refusal(&sets) {
                    self.err(
                        Code::InvalidArgument,
                        line.span_from(start + 2),
                        "`stats bind-process` takes process sets of one process",
                        HaproxyLoc::Parsing,
                        format!("'stats bind-process' : {e}"),
                    );
                }
            }
            _ => self.err(
                Code::UnknownKeyword,
                line.span(start + 1),
                format!("unknown `stats {sub}` in global"),
                HaproxyLoc::Parsing,
                "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' in 'global' section.",
            ),
        }
    }
}

/// Whether the CLI listener runs a `stats socket` option: typed ones are applied
/// (a `uid`/`gid` that is not a number is not), others are ignored as HAProxy's
/// CLI does without effect here (`support::STATS_SOCKET_IGNORED`), the rest are
/// refused.
fn stats_socket_not_run(k: &str, v: &str, span: Span) -> Option<Spanned<String>> {
    let bad_number = matches!(k, "uid" | "gid") && v.parse::<u32>().is_err();
    let typed = matches!(k, "level" | "mode" | "uid" | "gid" | "user" | "group");
    let what = if bad_number {
        format!("`stats socket ... {k} {v}`")
    } else if !typed && !crate::support::STATS_SOCKET_IGNORED.contains(&k) {
        format!("`stats socket ... {k}`")
    } else {
        return None;
    };
    Some(Spanned { value: what, span })
}
