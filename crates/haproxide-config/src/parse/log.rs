use super::*;

impl Parser<'_> {
    pub(super) fn log_target(
        &mut self,
        line: &Line,
        start: usize,
        modifier: Modifier,
    ) -> Option<LogTarget> {
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
}
