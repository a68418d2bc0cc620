use super::*;

/// Merge a later `default-server` line into the accumulated one.
pub(super) fn merge_params(
    into: &mut ServerParams,
    from: &ServerParams,
    into_other: &mut Vec<(String, Option<String>, Span)>,
    from_other: &[(String, Option<String>, Span)],
) {
    crate::resolve::inherit_params(into, from, true);
    into_other.extend(from_other.iter().cloned());
}

impl Parser<'_> {
    /// `server` / `default-server` (configuration.txt §4.2 `server`, §5.2 options).
    pub(super) fn kw_server(&mut self, pi: usize, line: &Line, start: usize) {
        let is_default = line.arg(start) == "default-server";
        let is_template = line.arg(start) == "server-template";
        let pname = self.cfg.proxies[pi].name.name.clone();
        // server-template <prefix> <num | low-high> <addr> [params]: servers prefix<low>..prefix<high>.
        let mut template_ids: Option<(u32, u32)> = None;
        let (name, address, mut i) = if is_default {
            (
                Named {
                    name: String::new(),
                    span: line.span(start),
                },
                None,
                start + 1,
            )
        } else if is_template {
            let (Some(n), Some(r), Some(a)) = (
                line.words.get(start + 1),
                line.words.get(start + 2),
                line.words.get(start + 3).filter(|w| !w.text.is_empty()),
            ) else {
                self.push(
                    Diagnostic::error(Code::MissingArgument, "`server-template` needs a prefix, a number or range and an address")
                        .at(line.span_from(start))
                        .hx(HaproxyLoc::Bracket, "'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments."),
                );
                return;
            };
            let range = match r.text.split_once('-') {
                Some((a, b)) => (value::atol(a), value::atol(b)),
                None => (1, value::atol(&r.text)),
            };
            if range.0 < 1 || range.1 < range.0 || range.1 > 1_000_000 {
                self.err(
                    Code::InvalidArgument,
                    r.span,
                    format!("invalid server-template range `{}`", r.text),
                    HaproxyLoc::Bracket,
                    format!("'server-template' : invalid range '{}'.", r.text),
                );
                return;
            }
            template_ids = Some((range.0 as u32, range.1 as u32));
            (
                Named {
                    name: format!("{}{}", n.text, range.0),
                    span: n.span,
                },
                Some(Named::from_word(a)),
                start + 4,
            )
        } else {
            let (Some(n), Some(a)) = (
                line.words.get(start + 1),
                line.words.get(start + 2).filter(|w| !w.text.is_empty()),
            ) else {
                self.push(
                    Diagnostic::error(
                        Code::MissingArgument,
                        "`server` needs a name and an address",
                    )
                    .at(line.span_from(start))
                    .help("write `server <name> <address>[:<port>] [options]`")
                    .hx(
                        HaproxyLoc::Bracket,
                        "'server' expects <name> and <addr>[:<port>] as arguments.",
                    ),
                );
                return;
            };
            (Named::from_word(n), Some(Named::from_word(a)), start + 3)
        };
        let sctx = format!("'server {pname}/{}'", name.name);
        let mut parsed = None;
        if let Some(a) = &address {
            let expanded = value::expand_env(&a.name, self.opts.env);
            match value::parse_address(&expanded, AddrUse::Server) {
                Ok(ad) => parsed = Some(ad),
                Err(e) => {
                    self.push(
                        Diagnostic::error(
                            if e == value::AddrError::Empty {
                                Code::EmptyAddress
                            } else {
                                Code::InvalidAddress
                            },
                            format!("invalid server address `{}`", a.name),
                        )
                        .at(a.span)
                        .label(e.haproxy_text(&a.name))
                        .hx(
                            HaproxyLoc::Bracket,
                            format!("{sctx} : {}", e.haproxy_text(&a.name)),
                        ),
                    );
                    return;
                }
            }
        }
        if let Some(bad) = name
            .name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            self.err(
                Code::InvalidArgument,
                name.span,
                format!("invalid character `{bad}` in server name `{}`", name.name),
                HaproxyLoc::Bracket,
                format!(
                    "character '{bad}' is not permitted in server name '{}'.",
                    name.name
                ),
            );
            return;
        }
        // Duplicate server names are fatal in 2.6.
        if !is_default {
            if let Some(prev) = self
                .server_index
                .get(&(pi, name.name.clone()))
                .and_then(|&k| self.cfg.proxies[pi].servers.get(k))
            {
                let pl = prev.span.line;
                let ps = prev.name.span;
                let kind = self.cfg.proxies[pi].kind.as_str();
                self.push(
                    Diagnostic::error(Code::DuplicateServer, format!("server `{}` is defined twice in {kind} `{pname}`", name.name))
                        .at(name.span)
                        .related(ps, "first defined here")
                        .hx(HaproxyLoc::Parsing, format!("{kind} '{pname}', another server named '{}' was already defined at line {pl}, please use distinct names.", name.name)),
                );
            }
        }
        let mut sd = ServerDef {
            name,
            address,
            parsed,
            params: ServerParams::default(),
            other: Vec::new(),
            span: line.span_from(start),
        };
        let ca_base = self.global_dir("ca-base");
        let crt_base = self.global_dir("crt-base");
        while i < line.words.len() && !line.arg(i).is_empty() {
            let k = line.arg(i).to_string();
            let known = self.kw.server.contains(&k)
                || k.starts_with("set-proxy-v2-tlv-fmt(")
                || k == "no-check-send-proxy";
            if !known {
                let hint = suggest(&k, self.kw.server.iter().map(String::as_str));
                let mut hx = format!("{sctx} : unknown keyword '{k}'.");
                if let Some(h) = hint {
                    hx = format!("{sctx} : unknown keyword '{k}'; did you mean '{h}' maybe ?");
                }
                let newer = self.opts.table == TableSet::V2_6
                    && keywords(TableSet::Master).server.contains(&k);
                let mut d = if newer {
                    Diagnostic::error(
                        Code::NotInVersion,
                        format!("server option `{k}` is not known to HAProxy 2.6"),
                    )
                    .help("it was added in a later HAProxy")
                } else {
                    Diagnostic::error(
                        Code::UnknownServerKeyword,
                        format!("unknown server option `{k}`"),
                    )
                };
                d = d
                    .at(line.span(i))
                    .label("unknown server option")
                    .hx(HaproxyLoc::Bracket, hx);
                if let (Some(h), false) = (hint, newer) {
                    d = d.help(format!("did you mean `{h}`?"));
                }
                self.push(d);
                return;
            }
            if k == "source" {
                // `source <addr>[:port] [usesrc ...] [interface ...]`: takes the rest.
                sd.params.source = Some(
                    line.words[i + 1..]
                        .iter()
                        .map(|w| w.text.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                break;
            }
            let takes = !option_takes_no_arg(&k);
            let arg_w = line.words.get(i + 1);
            let arg = if takes {
                arg_w.map(|w| w.text.clone())
            } else {
                None
            };
            if takes && arg.as_deref().is_none_or(str::is_empty) {
                self.err(
                    Code::MissingArgument,
                    line.span(i),
                    format!("server option `{k}` needs an argument"),
                    HaproxyLoc::Bracket,
                    format!("{sctx} : '{k}' expects an argument."),
                );
                return;
            }
            let a = arg.clone().unwrap_or_default();
            let p = &mut sd.params;
            let time = |s: &str| value::parse_time(s, 1);
            let mut bad_time = None;
            match k.as_str() {
                "check" => p.check = Some(true),
                "no-check" => p.check = Some(false),
                "backup" => p.backup = Some(true),
                "no-backup" => p.backup = Some(false),
                "disabled" => p.disabled = Some(true),
                "enabled" => p.disabled = Some(false),
                "send-proxy" => p.send_proxy = Some(true),
                "no-send-proxy" => p.send_proxy = Some(false),
                "send-proxy-v2" => p.send_proxy_v2 = Some(true),
                "no-send-proxy-v2" => p.send_proxy_v2 = Some(false),
                "check-send-proxy" => p.check_send_proxy = Some(true),
                "check-ssl" => p.check_ssl = Some(true),
                "no-check-ssl" => p.check_ssl = Some(false),
                "ssl" => p.ssl = Some(true),
                "no-ssl" => p.ssl = Some(false),
                "agent-check" => p.agent_check = Some(true),
                "no-agent-check" => p.agent_check = Some(false),
                "inter" | "fastinter" | "downinter" | "agent-inter" | "slowstart" => match time(&a)
                {
                    Ok(t) => match k.as_str() {
                        "inter" => p.inter = Some(t),
                        "fastinter" => p.fastinter = Some(t),
                        "downinter" => p.downinter = Some(t),
                        "agent-inter" => p.agent_inter = Some(t),
                        _ => p.slowstart = Some(t),
                    },
                    Err(e) => bad_time = Some(e),
                },
                "rise" | "fall" => {
                    let v = value::atol(&a);
                    if v <= 0 {
                        self.err(
                            Code::InvalidArgument,
                            line.span(i + 1),
                            format!("`{k}` must be greater than 0"),
                            HaproxyLoc::Bracket,
                            format!("{sctx} : '{k}' has to be > 0."),
                        );
                        return;
                    }
                    let v = u32::try_from(v).unwrap_or(u32::MAX);
                    if k == "rise" {
                        p.rise = Some(v)
                    } else {
                        p.fall = Some(v)
                    }
                }
                "weight" => {
                    let v = value::atol(&a);
                    if !(0..=256).contains(&v) {
                        self.err(
                            Code::InvalidArgument,
                            line.span(i + 1),
                            format!("weight {v} is not within 0 and 256"),
                            HaproxyLoc::Bracket,
                            format!(
                                "{sctx} : weight of server {} is not within 0 and 256 ({v})..",
                                sd.name.name
                            ),
                        );
                        return;
                    }
                    p.weight = Some(v as u32);
                }
                "maxconn" => p.maxconn = u32::try_from(value::atol(&a)).ok(),
                "maxqueue" => p.maxqueue = u32::try_from(value::atol(&a)).ok(),
                "minconn" => p.minconn = u32::try_from(value::atol(&a)).ok(),
                "port" => p.port = u16::try_from(value::atol(&a)).ok(),
                "agent-port" => p.agent_port = u16::try_from(value::atol(&a)).ok(),
                "addr" => p.addr = Some(a.clone()),
                "agent-addr" => p.agent_addr = Some(a.clone()),
                "agent-send" => p.agent_send = Some(a.clone()),
                "on-marked-down" | "on-marked-up" | "on-error" => {
                    let ok = match k.as_str() {
                        "on-marked-down" => a == "shutdown-sessions",
                        "on-marked-up" => a == "shutdown-backup-sessions",
                        _ => matches!(
                            a.as_str(),
                            "fastinter" | "fail-check" | "sudden-death" | "mark-down"
                        ),
                    };
                    if !ok {
                        self.err(
                            Code::InvalidArgument,
                            line.span(i + 1),
                            format!("`{k}` does not accept `{a}`"),
                            HaproxyLoc::Bracket,
                            format!("{sctx} : '{k}' expects a valid action but got '{a}'."),
                        );
                        return;
                    }
                    match k.as_str() {
                        "on-marked-down" => p.on_marked_down = Some(a.clone()),
                        "on-marked-up" => p.on_marked_up = Some(a.clone()),
                        _ => p.on_error = Some(a.clone()),
                    }
                }
                "init-addr" => p.init_addr = Some(a.split(',').map(str::to_string).collect()),
                "init-state" => p.init_state = Some(a.clone()),
                "track" => p.track = arg_w.map(Named::from_word),
                "verify" => p.verify = Some(a.clone()),
                "resolvers" => p.resolvers = arg_w.map(Named::from_word),
                "ca-file" | "crt" | "crl-file" => {
                    let base = if k == "crt" {
                        crt_base.as_deref()
                    } else {
                        ca_base.as_deref()
                    };
                    let path = with_base(base, &a);
                    if self.opts.check_files && !Path::new(&path).exists() && !a.starts_with('@') {
                        let hx = if k == "crt" {
                            format!("{sctx} : unable to stat SSL certificate from file '{path}' : No such file or directory.")
                        } else {
                            format!("{sctx} : unable to load {path}")
                        };
                        self.err(
                            Code::MissingFile,
                            line.span(i + 1),
                            format!("{k} file `{path}` does not exist"),
                            HaproxyLoc::Bracket,
                            hx,
                        );
                    }
                    if let Some(w) = arg_w {
                        if k == "ca-file" {
                            p.ca_file = Some(Named::from_word(w))
                        } else if k == "crt" {
                            p.crt = Some(Named::from_word(w))
                        }
                    }
                }
                _ => sd.other.push((k.clone(), arg.clone(), line.span(i))),
            }
            if let Some(e) = bad_time {
                let c = match e {
                    value::TimeError::UnexpectedChar(c) => c,
                    _ => ' ',
                };
                self.err(
                    Code::InvalidArgument,
                    line.span(i + 1),
                    format!("invalid time `{a}` for `{k}`"),
                    HaproxyLoc::Bracket,
                    format!(
                        "{sctx} : unexpected character '{c}' in '{k}' argument of server {}..",
                        sd.name.name
                    ),
                );
                return;
            }
            i += if takes { 2 } else { 1 };
        }
        if !is_default && sd.params.track.is_some() && self.effective_check(pi, &sd.params) {
            self.err(
                Code::InvalidArgument,
                line.span_from(start),
                format!(
                    "server `{}` both checks and tracks: choose one",
                    sd.name.name
                ),
                HaproxyLoc::Bracket,
                format!("{sctx} : unable to enable checks and tracking at the same time!"),
            );
            return;
        }
        let p = &mut self.cfg.proxies[pi];
        if is_default {
            // default-server lines accumulate.
            match &mut p.default_server {
                Some(prev) => {
                    merge_params(&mut prev.params, &sd.params, &mut prev.other, &sd.other)
                }
                None => p.default_server = Some(sd),
            }
        } else if let Some((lo, hi)) = template_ids {
            let prefix = line.arg(start + 1).to_string();
            for n in lo..=hi {
                let mut s = sd.clone();
                s.name.name = format!("{prefix}{n}");
                self.server_index
                    .entry((pi, s.name.name.clone()))
                    .or_insert(p.servers.len());
                p.servers.push(s);
            }
        } else {
            self.server_index
                .entry((pi, sd.name.name.clone()))
                .or_insert(p.servers.len());
            p.servers.push(sd);
        }
    }

    /// Whether a server being parsed has `check`, counting the `default-server` lines
    /// seen so far in its proxy and in the defaults section it inherits from (HAProxy
    /// applies them when the server line is parsed).
    pub(super) fn effective_check(&self, pi: usize, own: &ServerParams) -> bool {
        if let Some(c) = own.check {
            return c;
        }
        let Some(p) = self.cfg.proxies.get(pi) else {
            return false;
        };
        if let Some(c) = p.default_server.as_ref().and_then(|d| d.params.check) {
            return c;
        }
        let defaults = match &p.from {
            Some(f) => self.cfg.proxies[..pi]
                .iter()
                .rev()
                .find(|d| d.kind == ProxyKind::Defaults && d.name.name == f.name),
            None => self.cfg.proxies[..pi]
                .iter()
                .rev()
                .find(|d| d.kind == ProxyKind::Defaults),
        };
        defaults
            .and_then(|d| d.default_server.as_ref())
            .and_then(|d| d.params.check)
            .unwrap_or(false)
    }
}
