use super::*;

impl Parser<'_> {
    /// `bind` (configuration.txt §4.2 `bind`, options in §5.1).
    pub(super) fn kw_bind(&mut self, pi: usize, line: &Line, start: usize) {
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
        let Some(addresses) = self.bind_addresses(addr_w) else {
            return;
        };
        let mut b = Bind {
            addresses,
            name: None,
            maxconn: None,
            backlog: None,
            v4v6: false,
            v6only: false,
            accept_proxy: false,
            proto_h2: false,
            ssl: false,
            tls: BindTls::default(),
            other: Vec::new(),
            span: line.span_from(start),
        };
        if self
            .bind_options(pi, line, start + 2, &addr_w.text, &mut b)
            .is_none()
        {
            return;
        }
        if b.ssl {
            self.bind_tls_finish(pi, line, &addr_w.text, &mut b);
        }
        self.cfg.proxies[pi].binds.push(b);
    }

    /// The comma-separated addresses of a `bind` line; `None` after an error.
    fn bind_addresses(
        &mut self,
        addr_w: &crate::reader::Word,
    ) -> Option<Vec<(Named, value::Address)>> {
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
                            return None;
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
                    return None;
                }
            }
        }
        Some(addresses)
    }

    /// The options of a `bind` line (§5.1) from word `i`; `None` after an error.
    fn bind_options(
        &mut self,
        pi: usize,
        line: &Line,
        i: usize,
        addr_text: &str,
        b: &mut Bind,
    ) -> Option<()> {
        let mut i = i;
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
                        addr_text,
                        self.cfg.proxies[pi].kind.as_str()
                    ),
                );
                if let Some(h) = hint {
                    d = d.help(format!("did you mean `{h}`?"));
                }
                self.push(d);
                return None;
            }
            let takes = !option_takes_no_arg(&k) || k == "expose-fd";
            let arg = takes.then(|| line.arg(i + 1).to_string());
            if let Some(e) = crate::choices::lookup(crate::choices::Place::Bind, &k) {
                let section = self.cfg.proxies[pi].kind.as_str();
                let context = format!("'bind {addr_text}' in section '{section}' : ");
                if self.refused_choice(line, i, e, &context, HaproxyLoc::Parsing) {
                    return None;
                }
            }
            if !self.bind_value_taken(pi, line, i, addr_text) {
                return None;
            }
            if k == "tcp-ut" {
                let section = self.cfg.proxies[pi].kind.as_str();
                let context = format!("'bind {addr_text}' in section '{section}' : ");
                let t = super::timers::tcp_ut(context, "", HaproxyLoc::Parsing);
                self.c_timer(line, i, &t)?;
            }
            if matches!(k.as_str(), "maxconn" | "backlog" | "id") {
                self.bind_number(pi, line, i, addr_text);
            }
            if k == "process" {
                let section = self.cfg.proxies[pi].kind.as_str();
                let ctx = format!("'bind {addr_text}' in section '{section}'");
                if !self.bind_process(line, i, &ctx, false) {
                    return None;
                }
            }
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
                "proto" => self.bind_proto(pi, line, i, addr_text, &mut b.proto_h2),
                _ if self.bind_tls_option(pi, line, i, addr_text, &mut b.tls) => {}
                "crt" | "ca-file" | "crt-list" => {
                    if let Some(f) = arg.as_deref() {
                        let section = self.cfg.proxies[pi].kind.as_str();
                        self.bind_tls_file(&k, f, line.span(i + 1), |k, path| {
                            if k == "crt" {
                                format!("'bind {addr_text}' in section '{section}' : unable to stat SSL certificate from file '{path}' : No such file or directory.")
                            } else {
                                format!("'bind {addr_text}' : unable to load {path}")
                            }
                        });
                    }
                    b.other.push((k.clone(), arg.clone(), line.span(i)));
                }
                "namespace" if self.namespace_missing(line.arg(i + 1)) => {
                    let (ns, section) = (line.arg(i + 1), self.cfg.proxies[pi].kind.as_str());
                    let hx = format!("'bind {addr_text}' in section '{section}' : error encountered while processing 'namespace'.");
                    let mut d = Diagnostic::error(
                        Code::MissingFile,
                        format!("network namespace `{ns}` cannot be opened"),
                    )
                    .hx(HaproxyLoc::None, format!("Cannot open namespace '{ns}'."));
                    d.span = Some(line.span(i + 1));
                    self.push(d);
                    let span = line.span(i);
                    self.err(
                        Code::MissingFile,
                        span,
                        "bind `namespace` refused",
                        HaproxyLoc::Parsing,
                        hx,
                    );
                    return None;
                }
                _ => b.other.push((k.clone(), arg.clone(), line.span(i))),
            }
            i += if takes { 2 } else { 1 };
        }
        Some(())
    }

    /// `process <set>[/<threads>]` on a `bind` or `stats socket` line
    /// (configuration.txt §5.1, deprecated in 2.6): HAProxy 2.6 reads the set
    /// against its one process (listener.c `bind_parse_process`, tools.c
    /// `parse_process_number`: `all`, `odd`, `even`, a number or a range
    /// starting at one) and warns that the keyword goes in 2.7. `ctx` is how
    /// HAProxy names the line; with `quoted`, the alert puts the error in
    /// quotes, its newline included (the stats socket's). False after an
    /// error (HAProxy stops the line).
    pub(super) fn bind_process(&mut self, line: &Line, i: usize, ctx: &str, quoted: bool) -> bool {
        let arg = line.arg(i + 1).to_string();
        let (procs, threads) = match arg.split_once('/') {
            Some((p, t)) => (p, Some(t)),
            None => (arg.as_str(), None),
        };
        let err =
            process_set_error(procs, 1).or_else(|| threads.and_then(|t| process_set_error(t, 64)));
        match err {
            Some(e) => {
                let hx = if quoted {
                    // The newline of the text, then the closing quote alone.
                    format!("{ctx} : ''process' : {}\n\u{2}'", e.trim_end_matches('\n'))
                } else {
                    format!("{ctx} : 'process' : {}", e.trim_end_matches('\n'))
                };
                self.err(
                    Code::InvalidArgument,
                    line.span(i + 1),
                    format!("`process {arg}`: haproxide, as HAProxy 2.6, runs one process"),
                    HaproxyLoc::Parsing,
                    hx,
                );
                false
            }
            None => {
                let mut hx = format!(
                    "{ctx} : 'process {arg}' on 'bind' lines is deprecated and will be removed in 2.7."
                );
                if let Some(t) = threads {
                    hx.push_str(&format!(" Please use 'thread {t}' instead."));
                }
                self.warn(
                    Code::Deprecated,
                    line.span(i),
                    "`process` on a bind line is deprecated (removed in HAProxy 2.7)",
                    HaproxyLoc::Parsing,
                    hx,
                );
                true
            }
        }
    }

    /// HAProxy's checks of `bind` `maxconn`, `backlog` and `id` (configuration.txt
    /// §5.1): the value is read as C reads it into an `int` (atol/strtol, then the
    /// low 32 bits), so 2147483648 is negative and refused; `id` must be a whole
    /// integer. The values themselves are taken as before (a refused one no longer
    /// passes silently).
    fn bind_number(&mut self, pi: usize, line: &Line, i: usize, addr_text: &str) {
        let k = line.arg(i).to_string();
        let arg = line.arg(i + 1).to_string();
        let section = self.cfg.proxies[pi].kind.as_str();
        let prefix = format!("'bind {addr_text}' in section '{section}' : '{k}' : ");
        // C's long-to-int conversion keeps the low 32 bits: intended truncation.
        let as_int = |v: i64| v as i32;
        let (code, at, ours, theirs) = match k.as_str() {
            _ if arg.is_empty() => {
                let theirs = if k == "id" {
                    "expects an integer argument"
                } else {
                    "missing value"
                };
                (
                    Code::MissingArgument,
                    i,
                    format!("`{k}` needs a number"),
                    theirs.to_string(),
                )
            }
            "id" if !arg
                .strip_prefix(['+', '-'])
                .unwrap_or(&arg)
                .bytes()
                .all(|c| c.is_ascii_digit())
                || arg.trim_start_matches(['+', '-']).is_empty() =>
            {
                (
                    Code::InvalidArgument,
                    i + 1,
                    format!("bind `id` `{arg}` is not an integer"),
                    format!("expects an integer argument, found '{arg}'"),
                )
            }
            "id" if as_int(value::atol(&arg)) <= 0 => (
                Code::InvalidArgument,
                i + 1,
                format!("bind `id` `{arg}` must be between 1 and 2147483647"),
                "custom id has to be > 0".to_string(),
            ),
            "maxconn" | "backlog" if as_int(value::atol(&arg)) < 0 => {
                let v = as_int(value::atol(&arg));
                let bound = if k == "maxconn" { ">= 0" } else { "> 0" };
                (
                    Code::InvalidArgument,
                    i + 1,
                    format!("bind `{k}` `{arg}` must be between 0 and 2147483647"),
                    format!("invalid value {v}, must be {bound}"),
                )
            }
            _ => return,
        };
        self.err(
            code,
            line.span(at),
            ours,
            HaproxyLoc::Parsing,
            format!("{prefix}{theirs}"),
        );
    }

    /// Protocols the selected HAProxy lacks: 2.6 has no MPTCP, and the reference
    /// build (Debian's) no QUIC.
    pub(super) fn address_in_version(
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
            // Not a prefix in 2.6: part of the host, which ends at the last
            // colon (str2sa_range: 'mptcp@[::]' in 'mptcp@[::]:5000').
            Some("mptcp" | "mptcp4" | "mptcp6") => Err(value::AddrError::Invalid(
                raw.rfind(':').map_or(raw, |i| &raw[..i]).to_string(),
            )),
            _ => Ok(a),
        }
    }
}

/// tools.c `parse_process_number`'s refusal of `s` with numbers up to `max`,
/// in its words (the out-of-range text ends with a newline of its own).
pub(super) fn process_set_error(s: &str, max: u32) -> Option<String> {
    if matches!(s, "all" | "odd" | "even") {
        return None;
    }
    let mut dash = None;
    for (at, c) in s.char_indices() {
        if c == '-' && dash.is_none() {
            dash = Some(at);
        } else if !c.is_ascii_digit() {
            return Some(format!("'{s}' is not a valid number/range."));
        }
    }
    // str2uic: the leading digits, saturating.
    let num = |t: &str| {
        t.bytes().take_while(u8::is_ascii_digit).fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
    };
    let low = num(s);
    let high = match dash {
        Some(at) if at + 1 == s.len() => u64::from(max),
        Some(at) => num(&s[at + 1..]),
        None => low,
    };
    let low = low.min(high);
    (low < 1 || low > u64::from(max)).then(|| {
        format!("'{s}' is not a valid number/range. It supports numbers from 1 to {max}.\n")
    })
}
