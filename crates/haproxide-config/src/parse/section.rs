use super::*;

impl Parser<'_> {
    /// Which sections a keyword belongs to (for "wrong section" help).
    pub(super) fn section_hint(&self, kw: &str) -> Option<String> {
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

    pub(super) fn open_section(&mut self, line: &Line, kw: &str) {
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

    pub(super) fn open_proxy(&mut self, line: &Line, kw: &str) {
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
        let Some(from) = self.proxy_from(line, idx, kind, kw, &name) else {
            self.cur = Cur::Broken;
            return;
        };
        self.report_duplicate_proxy(kind, kw, &name);
        let mut p = Proxy::new(kind, name, line.span(0));
        p.from = from;
        let idx = self.cfg.proxies.len();
        self.proxy_names
            .entry(p.name.name.clone())
            .or_default()
            .push(idx);
        self.cfg.proxies.push(p);
        self.note_defaults_use(idx, line);
        self.cur = Cur::Proxy(idx);
    }

    /// A defaults section both named by a `from` and used implicitly (by a proxy
    /// without `from` that follows it) is ambiguous: HAProxy (cfgparse-listen.c,
    /// 2.6.12 and later) warns at the proxy header where both uses are known.
    fn note_defaults_use(&mut self, idx: usize, line: &Line) {
        let p = &self.cfg.proxies[idx];
        let (target, explicit) = match &p.from {
            Some(f) => {
                let named = self.proxy_names.get(&f.name).and_then(|v| {
                    v.iter()
                        .rev()
                        .copied()
                        .find(|&i| i < idx && self.cfg.proxies[i].kind == ProxyKind::Defaults)
                });
                (named, true)
            }
            // A defaults section without `from` starts afresh.
            None if p.kind == ProxyKind::Defaults => (None, false),
            None => (self.last_defaults, false),
        };
        if p.kind == ProxyKind::Defaults {
            self.last_defaults = Some(idx);
        }
        let Some(t) = target else { return };
        let flags = self.defaults_refs.entry(t).or_default();
        if explicit {
            flags.0 = true;
        } else {
            flags.1 = true;
        }
        if *flags == (true, true) {
            let d = &self.cfg.proxies[t];
            let (name, dspan) = (d.name.name.clone(), d.span);
            let file = self.file_marker(dspan.file);
            self.warn(
                Code::MiscWarning,
                line.span(0),
                format!("defaults section `{name}` is both named by a `from` and used implicitly: add a last defaults section that no `from` names, or always use `from`"),
                HaproxyLoc::Parsing,
                format!(
                    "defaults section '{name}' (declared at {file}:{}) is explicitly referenced by another proxy and implicitly used here. To avoid any ambiguity don't mix both usage. Add a last defaults section not explicitly used or always use explicit references.",
                    dspan.line
                ),
            );
        }
    }

    /// What follows a proxy's name: `from <defaults>`; `None` when the section
    /// cannot be created (an address on the section line).
    fn proxy_from(
        &mut self,
        line: &Line,
        idx: usize,
        kind: ProxyKind,
        kw: &str,
        name: &Named,
    ) -> Option<Option<Named>> {
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
                    return None;
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
        Some(from)
    }

    /// Duplicate names (HAProxy 2.6: a frontend and a backend may share a name).
    fn report_duplicate_proxy(&mut self, kind: ProxyKind, kw: &str, name: &Named) {
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
    }

    /// A placeholder the renderer replaces by the file name (`\u{1}file:N\u{1}`).
    pub(super) fn file_marker(&self, file: crate::source::FileId) -> String {
        format!("\u{1}{}\u{1}", file.0)
    }

    /// A ring's `size <size>` (configuration.txt §3.9): HAProxy 2.6 reads it
    /// with atol() (no unit: `1M` is 1 byte), refuses 0 and keeps out a size
    /// smaller than the ring's current one (16384 bytes at first), with a warning
    /// (2.6.12's sink.c): `size 1M` leaves a 16 kB ring.
    fn ring_size(&mut self, i: usize, line: &Line, start: usize) {
        let arg = line.arg(start + 1).to_string();
        let v = value::atol(&arg);
        let Some(sec) = self.cfg.others.get(i) else {
            return;
        };
        let name = sec
            .name
            .as_ref()
            .map(|n| n.name.clone())
            .unwrap_or_default();
        // The sizes taken before this line.
        let cur = sec
            .directives
            .iter()
            .filter(|d| d.keyword == "size" && d.line.line < line.line)
            .map(|d| value::atol(d.line.words.get(1).map_or("", |w| w.text.as_str())))
            .fold(16384, |c, v| if v > c { v } else { c });
        if v == 0 {
            self.err(
                Code::InvalidArgument,
                line.span(start + 1),
                format!("ring size `{arg}` is not a number of bytes"),
                HaproxyLoc::Parsing,
                format!("invalid size '{arg}' for new sink buffer."),
            );
        } else if (0..cur).contains(&v) {
            self.warn(
                Code::MiscWarning,
                line.span(start + 1),
                format!("ring size `{arg}` is read as {v} bytes (no unit in 2.6), smaller than the ring's {cur}: ignored"),
                HaproxyLoc::Parsing,
                format!("ignoring new size '{v}' that is smaller than current size '{cur}' for ring '{name}'."),
            );
        }
    }

    pub(super) fn other_kw(&mut self, i: usize, line: &Line, start: usize) {
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
        if sec == "ring" && kw == "size" {
            self.ring_size(i, line, start);
        }
        // Addresses resolved at parse time in mailers, resolvers and peers sections.
        if let ("mailer", "mailers") | ("nameserver", "resolvers") | ("peer" | "server", "peers") =
            (kw.as_str(), sec.as_str())
        {
            if let Some(w) = line.words.get(start + 2) {
                let expanded = value::expand_env(&w.text, self.opts.env);
                let bad = match value::parse_address(&expanded, AddrUse::Other) {
                    Ok(a) => match &a.host {
                        // str2sa_range's text for a name that does not
                        // resolve ends with its own newline (tools.c): a
                        // blank line follows HAProxy's alert.
                        Host::Name(n) if !self.opts.resolver.resolves(n) => {
                            Some(format!("invalid address: '{n}' in '{}'\n", w.text))
                        }
                        _ => None,
                    },
                    Err(e) => Some(e.haproxy_text(&w.text)),
                };
                if let Some(msg) = bad {
                    // A peers section's `peer` and `server` lines are read as
                    // servers (peers.c): HAProxy names them so, located as its
                    // server lines are.
                    let (ctx, loc) = if sec == "peers" {
                        (
                            "server (null)/".to_string() + line.arg(start + 1),
                            HaproxyLoc::Bracket,
                        )
                    } else {
                        (format!("{kw} {}", line.arg(start + 1)), HaproxyLoc::Parsing)
                    };
                    self.err(
                        Code::InvalidAddress,
                        w.span,
                        format!("invalid or unresolvable address `{}`", w.text),
                        loc,
                        format!("'{ctx}' : {msg}"),
                    );
                }
            }
        }
        if kw == "errorfile" {
            self.errorfile_exists(line, start + 2);
        }
        if sec == "peers" && matches!(kw.as_str(), "bind" | "peer" | "server") {
            let section = self.cfg.others.get(i).and_then(|s| s.name.as_ref());
            let section = section.map(|n| n.name.clone()).unwrap_or_default();
            let bind = kw == "bind";
            let at = if bind { start + 1 } else { start + 2 };
            let addr = line.words.get(at).and_then(|w| {
                let e = value::expand_env(&w.text, self.opts.env);
                let usage = if bind { AddrUse::Bind } else { AddrUse::Other };
                value::parse_address(&e, usage).ok()
            });
            self.cfg.peer_lines.push(crate::model::PeerLineCfg {
                section,
                name: (!bind).then(|| line.arg(start + 1).to_string()),
                addr,
                span: line.span_from(start),
            });
        }
        if kw == "table" && sec == "peers" {
            let name = self.cfg.others.get(i).and_then(|s| s.name.as_ref());
            let name = name.map(|n| n.name.clone()).unwrap_or_default();
            self.kw_peers_table(&name, line, start);
        }
        if let Some(s) = self.cfg.others.get_mut(i) {
            s.directives.push(placeholder(kw, Modifier::None, line));
            self.pending = Some(Slot::Other(i, s.directives.len() - 1));
        }
    }

    pub(super) fn unknown_keyword(
        &mut self,
        line: &Line,
        start: usize,
        section: &str,
        cands: Vec<&str>,
    ) {
        let kw = line.arg(start).to_string();
        // HAProxy's proposal by its own measure over the section's keywords the
        // build has (its registration order is not known here: sorted, the
        // first of equally close ones).
        let mut sorted: Vec<&str> = cands
            .iter()
            .copied()
            .filter(|c| build_feature_of(c).is_none())
            .collect();
        sorted.sort_unstable();
        let best = crate::diag::haproxy_best_match(&kw, sorted);
        let did_you_mean = best
            .map(|s| format!("; did you mean '{s}' maybe ?"))
            .unwrap_or_default();
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
                    format!("unknown keyword '{kw}' in '{section}' section{did_you_mean}"),
                ),
            );
            return;
        }
        let hint = suggest(&kw, cands);
        let hx = format!("unknown keyword '{kw}' in '{section}' section{did_you_mean}");
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
}
