use super::*;

/// HAProxy's `log : ...` error text.
fn log_hx(msg: String) -> String {
    format!("log : {msg}")
}

impl Parser<'_> {
    /// `log <address> [len <n>] [format <f>] [sample <r>:<s>] <facility> [<level>
    /// [<minlevel>]]`, `log global`, `no log` (configuration.txt §3.1 and §4.2 `log`).
    /// HAProxy reads the options, then the address, then the facility and levels,
    /// and reports the first problem only.
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
        if line.words.get(start + 2).is_none() {
            self.err(
                Code::MissingArgument,
                line.span(start + 2),
                "`log` needs a facility",
                HaproxyLoc::Parsing,
                log_hx("expects <address> and <facility>  as arguments".into()),
            );
            return None;
        }
        let mut i = start + 2;
        let mut dest = LogDest {
            target: Named::from_word(first),
            addr: LogAddr::Stdout,
            len: None,
            format: None,
            sample: None,
            facility: Spanned {
                value: Facility(0),
                span: first.span,
            },
            level: None,
            min_level: None,
        };
        let options: &[&str] = if self.opts.table == TableSet::Master {
            &["len", "format", "sample", "profile"]
        } else {
            &["len", "format", "sample"]
        };
        // Each at most once and in this order (HAProxy's parse_logsrv tests them in
        // turn): `log stdout format raw len 1024 local0` reads `len` as the facility.
        for opt in options {
            if line.arg(i) == *opt {
                self.log_option(line, i, &mut dest)?;
                i += 2;
            }
        }
        dest.addr = self.log_addr(first)?;
        self.log_levels(line, i, &mut dest)?;
        Some(LogTarget::Target(Box::new(dest)))
    }

    /// One `len`, `format`, `sample` or `profile` option (word `i`) and its value.
    fn log_option(&mut self, line: &Line, i: usize, dest: &mut LogDest) -> Option<()> {
        let v = line.arg(i + 1).to_string();
        let span = line.span(i + 1);
        let bad = |msg: String, hx: String| (msg, hx);
        let problem = match line.arg(i) {
            "len" => match v.parse::<u32>().ok().filter(|n| (80..=65535).contains(n)) {
                Some(n) => {
                    dest.len = Some(n);
                    None
                }
                None => Some(bad(
                    format!("log length `{v}` must be between 80 and 65535"),
                    format!("invalid log length '{v}', must be between 80 and 65535"),
                )),
            },
            "format" => match LogFormat::from_name(&v) {
                Some(f) => {
                    dest.format = Some(f);
                    None
                }
                None => Some(bad(
                    format!("unknown log format `{v}`"),
                    format!("unknown log format '{v}'"),
                )),
            },
            "sample" => match log_sample(&v) {
                Ok(s) => {
                    dest.sample = Some(s);
                    None
                }
                Err(hx) => Some(bad(format!("invalid log sample `{v}`: {hx}"), hx)),
            },
            _ => None, // `profile` (HAProxy >= 3.1): kept for the check only.
        };
        match problem {
            None => Some(()),
            Some((msg, hx)) => {
                self.err(
                    Code::InvalidArgument,
                    span,
                    msg,
                    HaproxyLoc::Parsing,
                    log_hx(hx),
                );
                None
            }
        }
    }

    /// The `<address>` of a `log` line.
    fn log_addr(&mut self, first: &crate::reader::Word) -> Option<LogAddr> {
        let target = first.text.clone();
        let expanded = value::expand_env(&target, self.opts.env);
        let special = match expanded.as_str() {
            "stdout" => Some(LogAddr::Stdout),
            "stderr" => Some(LogAddr::Stderr),
            t if t.starts_with('/') => Some(LogAddr::Unix(t.to_string())),
            t => t
                .strip_prefix("unix@")
                .map(|p| LogAddr::Unix(p.to_string()))
                .or_else(|| {
                    t.strip_prefix("ring@")
                        .map(|r| LogAddr::Ring(r.to_string()))
                })
                .or_else(|| {
                    t.strip_prefix("backend@")
                        .map(|b| LogAddr::Backend(b.to_string()))
                }),
        };
        if let Some(a) = special {
            return Some(a);
        }
        if let Some(n) = expanded.strip_prefix("fd@") {
            return match n.parse::<i32>() {
                Ok(fd) if fd >= 0 => Some(LogAddr::Fd(fd)),
                _ => {
                    self.err(
                        Code::InvalidAddress,
                        first.span,
                        format!("`{n}` in `{target}` is not a file descriptor number"),
                        HaproxyLoc::Parsing,
                        log_hx(format!(
                            "file descriptor '{n}' is not a valid integer in '{target}'\n"
                        )),
                    );
                    None
                }
            };
        }
        match value::parse_address(&expanded, AddrUse::Other) {
            Ok(a) => {
                if let Host::Name(n) = &a.host {
                    if !self.opts.resolver.resolves(n) {
                        let hx = log_hx(format!("invalid address: '{n}' in '{target}'\n"));
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
                Some(LogAddr::Udp(a))
            }
            Err(e) => {
                let hx = log_hx(format!("{}\n", e.haproxy_text(&target)));
                self.err(
                    Code::InvalidAddress,
                    first.span,
                    format!("invalid log target `{target}`"),
                    HaproxyLoc::Parsing,
                    hx,
                );
                None
            }
        }
    }

    /// `<facility> [<level> [<minlevel>]]` from word `i`, then nothing more.
    fn log_levels(&mut self, line: &Line, i: usize, dest: &mut LogDest) -> Option<()> {
        let fac = line.arg(i).to_string();
        let Some(facility) = Facility::from_name(&fac) else {
            let mut d = Diagnostic::error(
                Code::InvalidArgument,
                format!("unknown log facility `{fac}`"),
            )
            .at(line.span(i))
            .hx(
                HaproxyLoc::Parsing,
                log_hx(format!("unknown log facility '{fac}'")),
            );
            if let Some(s) = suggest(&fac, Facility::NAMES.iter().copied()) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            self.push(d);
            return None;
        };
        dest.facility = Spanned {
            value: facility,
            span: line.span(i),
        };
        for (k, what) in [
            (i + 1, "optional log level"),
            (i + 2, "optional minimum log level"),
        ] {
            let Some(w) = line.words.get(k) else {
                return Some(());
            };
            let Some(level) = LogLevel::from_name(&w.text) else {
                let (t, span) = (w.text.clone(), w.span);
                self.err(
                    Code::InvalidArgument,
                    span,
                    format!("unknown log level `{t}`"),
                    HaproxyLoc::Parsing,
                    log_hx(format!("unknown {what} '{t}'")),
                );
                return None;
            };
            let v = Some(Spanned {
                value: level,
                span: w.span,
            });
            if k == i + 1 {
                dest.level = v;
            } else {
                dest.min_level = v;
            }
        }
        if let Some(w) = line.words.get(i + 3) {
            let (t, span) = (w.text.clone(), w.span);
            self.err(
                Code::TooManyArguments,
                span,
                format!("unexpected argument `{t}` after the log levels"),
                HaproxyLoc::Parsing,
                log_hx(format!("cannot handle unexpected argument '{t}'")),
            );
            return None;
        }
        Some(())
    }
}

/// `<ranges>:<size>` (HAProxy's parse_logsrv): ranges `a` or `a-b` from 1,
/// separated by commas, none past `size`. The error is HAProxy's text.
fn log_sample(v: &str) -> Result<LogSample, String> {
    let Some((ranges_s, size_s)) = v.split_once(':') else {
        return Err("Missing sample size".into());
    };
    let mut ranges = Vec::new();
    for r in ranges_s.split(',') {
        let (lo, hi) = r.split_once('-').unwrap_or((r, r));
        match (lo.parse::<u32>(), hi.parse::<u32>()) {
            (Ok(lo), Ok(hi)) if lo >= 1 && lo <= hi => ranges.push((lo, hi)),
            _ => return Err(format!("wrong sample range '{ranges_s}'")),
        }
    }
    let Ok(size) = size_s.parse::<u32>() else {
        return Err(format!(
            "wrong sample size '{size_s}' for sample range '{ranges_s}'"
        ));
    };
    let max = ranges.iter().map(|r| r.1).max().unwrap_or(0);
    if max > size {
        return Err(format!(
            "sample size {size} should be greater or equal to {max} the maximum of the high ranges limits"
        ));
    }
    Ok(LogSample { ranges, size })
}
