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

/// What precedes a server's options.
struct ServerHead {
    name: Named,
    address: Option<Named>,
    template_ids: Option<(u32, u32)>,
    first_option: usize,
}

/// One server option being read: its word index, keyword and argument.
pub(super) struct ServerOpt<'l> {
    pub(super) line: &'l Line,
    pub(super) i: usize,
    pub(super) k: &'l str,
    pub(super) a: String,
    pub(super) sctx: &'l str,
}

/// `ca-base` and `crt-base` from `global`.
struct TlsBases {
    ca: Option<String>,
    crt: Option<String>,
}

/// The on/off options (§5.2): `check` / `no-check`, `backup` / `no-backup`...
fn server_flag(p: &mut ServerParams, k: &str) -> bool {
    let (slot, on) = match k {
        "check" => (&mut p.check, true),
        "no-check" => (&mut p.check, false),
        "backup" => (&mut p.backup, true),
        "no-backup" => (&mut p.backup, false),
        "disabled" => (&mut p.disabled, true),
        "enabled" => (&mut p.disabled, false),
        "send-proxy" => (&mut p.send_proxy, true),
        "no-send-proxy" => (&mut p.send_proxy, false),
        "send-proxy-v2" => (&mut p.send_proxy_v2, true),
        "no-send-proxy-v2" => (&mut p.send_proxy_v2, false),
        "check-send-proxy" => (&mut p.check_send_proxy, true),
        "check-via-socks4" => (&mut p.check_via_socks4, true),
        "check-ssl" => (&mut p.check_ssl, true),
        "no-check-ssl" => (&mut p.check_ssl, false),
        "ssl" => (&mut p.ssl, true),
        "no-ssl" => (&mut p.ssl, false),
        "ssl-reuse" => (&mut p.ssl_reuse, true),
        "no-ssl-reuse" => (&mut p.ssl_reuse, false),
        "agent-check" => (&mut p.agent_check, true),
        "no-agent-check" => (&mut p.agent_check, false),
        _ => return false,
    };
    *slot = Some(on);
    true
}

/// Options kept as text or names: `addr`, `agent-addr`, `agent-send`, `init-addr`,
/// `init-state`, `track`, `verify`, `resolvers`.
fn server_text(o: &ServerOpt<'_>, p: &mut ServerParams) -> bool {
    let a = o.a.clone();
    let word = || o.line.words.get(o.i + 1).map(Named::from_word);
    match o.k {
        "addr" => p.addr = Some(a),
        "agent-addr" => p.agent_addr = Some(a),
        "agent-send" => p.agent_send = Some(a),
        "init-addr" => p.init_addr = Some(a.split(',').map(str::to_string).collect()),
        "init-state" => p.init_state = Some(a),
        "track" => p.track = word(),
        "cookie" => p.cookie = Some(a),
        "resolvers" => p.resolvers = word(),
        _ => return false,
    }
    true
}

impl Parser<'_> {
    /// `server` / `default-server` / `server-template` (configuration.txt §4.2
    /// `server`, `default-server`, `server-template`; options in §5.2).
    pub(super) fn kw_server(&mut self, pi: usize, line: &Line, start: usize) {
        let is_default = line.arg(start) == "default-server";
        let pname = self.cfg.proxies[pi].name.name.clone();
        let Some(head) = self.server_head(line, start) else {
            return;
        };
        let sctx = format!("'server {pname}/{}'", head.name.name);
        // The name first, then the address (server.c `_srv_parse_init`).
        if !self.server_name_ok(pi, &head.name, is_default) {
            return;
        }
        let Some(parsed) = self.server_address(&head, &sctx) else {
            return;
        };
        let mut sd = ServerDef {
            name: head.name,
            address: head.address,
            parsed,
            params: ServerParams::default(),
            id: None,
            other: Vec::new(),
            tls: None,
            span: line.span_from(start),
        };
        if self
            .server_options(line, head.first_option, &sctx, &mut sd)
            .is_none()
        {
            return;
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
        self.store_server(pi, line, start, sd, is_default, head.template_ids);
    }

    /// The words before the options: name and address (none for `default-server`),
    /// and for `server-template` the id range.
    fn server_head(&mut self, line: &Line, start: usize) -> Option<ServerHead> {
        match line.arg(start) {
            "default-server" => Some(ServerHead {
                name: Named {
                    name: String::new(),
                    span: line.span(start),
                },
                address: None,
                template_ids: None,
                first_option: start + 1,
            }),
            "server-template" => self.server_template_head(line, start),
            _ => {
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
                    return None;
                };
                Some(ServerHead {
                    name: Named::from_word(n),
                    address: Some(Named::from_word(a)),
                    template_ids: None,
                    first_option: start + 3,
                })
            }
        }
    }

    /// `server-template <prefix> <num | low-high> <addr> [params]`: servers
    /// prefix<low>..prefix<high>.
    fn server_template_head(&mut self, line: &Line, start: usize) -> Option<ServerHead> {
        let (Some(n), Some(r), Some(a)) = (
            line.words.get(start + 1),
            line.words.get(start + 2),
            line.words.get(start + 3).filter(|w| !w.text.is_empty()),
        ) else {
            self.push(
                Diagnostic::error(
                    Code::MissingArgument,
                    "`server-template` needs a prefix, a number or range and an address",
                )
                .at(line.span_from(start))
                .hx(
                    HaproxyLoc::Bracket,
                    "'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.",
                ),
            );
            return None;
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
            return None;
        }
        Some(ServerHead {
            name: Named {
                name: format!("{}{}", n.text, range.0),
                span: n.span,
            },
            address: Some(Named::from_word(a)),
            template_ids: Some((range.0 as u32, range.1 as u32)),
            first_option: start + 4,
        })
    }

    /// The parsed address (`Some(None)` for `default-server`); `None` after an error.
    fn server_address(&mut self, head: &ServerHead, sctx: &str) -> Option<Option<value::Address>> {
        let Some(a) = &head.address else {
            return Some(None);
        };
        let expanded = value::expand_env(&a.name, self.opts.env);
        match value::parse_address(&expanded, AddrUse::Server) {
            Ok(ad) => Some(Some(ad)),
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
                None
            }
        }
    }

    /// Name characters (fatal) and duplicate names (reported, fatal in 2.6).
    fn server_name_ok(&mut self, pi: usize, name: &Named, is_default: bool) -> bool {
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
            return false;
        }
        if is_default {
            return true;
        }
        let pname = self.cfg.proxies[pi].name.name.clone();
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
                    .hx(HaproxyLoc::ParsingPost, format!("{kind} '{pname}', another server named '{}' was already defined at line {pl}, please use distinct names.", name.name)),
            );
        }
        true
    }

    /// The options from word `i` on (§5.2); `None` after an error that drops the line.
    fn server_options(
        &mut self,
        line: &Line,
        mut i: usize,
        sctx: &str,
        sd: &mut ServerDef,
    ) -> Option<()> {
        let bases = TlsBases {
            ca: self.global_dir("ca-base"),
            crt: self.global_dir("crt-base"),
        };
        while i < line.words.len() && !line.arg(i).is_empty() {
            let k = line.arg(i).to_string();
            let known = self.kw.server.contains(&k)
                || k.starts_with("set-proxy-v2-tlv-fmt(")
                || k == "no-check-send-proxy";
            if !known {
                self.unknown_server_option(line, i, sctx, &k);
                return None;
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
            let arg = if takes {
                line.words.get(i + 1).map(|w| w.text.clone())
            } else {
                None
            };
            if takes
                && arg.as_deref().is_none_or(str::is_empty)
                && super::reuse::POOL_OPTIONS.contains(&k.as_str())
            {
                self.err(
                    Code::MissingArgument,
                    line.span(i),
                    format!("server option `{k}` needs an argument"),
                    HaproxyLoc::Bracket,
                    format!("{sctx} : '{k}' expects <value> as argument.."),
                );
                return None;
            }
            // `resolve-net` has its own text (server_values.rs).
            if takes && arg.as_deref().is_none_or(str::is_empty) && k != "resolve-net" {
                self.err(
                    Code::MissingArgument,
                    line.span(i),
                    format!("server option `{k}` needs an argument"),
                    HaproxyLoc::Bracket,
                    format!("{sctx} : '{k}' expects an argument."),
                );
                return None;
            }
            if let Some(e) = crate::choices::lookup(crate::choices::Place::Server, &k) {
                let context = format!("{sctx} : ");
                if self.refused_choice(line, i, e, &context, HaproxyLoc::Bracket) {
                    return None;
                }
            }
            if !self.server_value_taken(line, i, sctx) {
                return None;
            }
            if k == "tcp-ut" {
                let t = super::timers::tcp_ut(format!("{sctx} : "), ".", HaproxyLoc::Bracket);
                self.c_timer(line, i, &t)?;
            }
            let opt = ServerOpt {
                line,
                i,
                k: &k,
                a: arg.clone().unwrap_or_default(),
                sctx,
            };
            let handled = server_flag(&mut sd.params, &k)
                || self.server_time(&opt, sd)?
                || self.server_number(&opt, sd)?
                || self.server_pool(&opt, &mut sd.params)?
                || self.server_action(&opt, &mut sd.params)?
                || self.server_socks4(&opt, &mut sd.params)?
                || self.server_tls_file(&opt, &mut sd.params, &bases)?
                || self.server_tls_opt(&opt, &mut sd.params)?
                || server_text(&opt, &mut sd.params);
            if !handled {
                sd.other.push((k.clone(), arg, line.span(i)));
            }
            i += if takes { 2 } else { 1 };
        }
        Some(())
    }

    fn unknown_server_option(&mut self, line: &Line, i: usize, sctx: &str, k: &str) {
        let hint = suggest(k, self.kw.server.iter().map(String::as_str));
        let mut hx = format!("{sctx} : unknown keyword '{k}'.");
        if let Some(h) = hint {
            hx = format!("{sctx} : unknown keyword '{k}'; did you mean '{h}' maybe ?");
        }
        let newer =
            self.opts.table == TableSet::V2_6 && keywords(TableSet::Master).server.contains(k);
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
    }

    /// `inter`, `fastinter`, `downinter`, `agent-inter`, `slowstart` (§5.2).
    fn server_time(&mut self, o: &ServerOpt<'_>, sd: &mut ServerDef) -> Option<bool> {
        let p = &mut sd.params;
        let slot = match o.k {
            "inter" => &mut p.inter,
            "fastinter" => &mut p.fastinter,
            "downinter" => &mut p.downinter,
            "agent-inter" => &mut p.agent_inter,
            "slowstart" => &mut p.slowstart,
            _ => return Some(false),
        };
        // check.c `srv_parse_check_inter` (its bad-character text names
        // `agent-inter` whatever the keyword) and server.c `srv_parse_slowstart`.
        let (k, a, sctx, name) = (o.k, &o.a, o.sctx, &sd.name.name);
        let start = k == "slowstart";
        let timer = if start { "" } else { "timer " };
        let text = match value::parse_time_c(a, value::TimeUnit::Ms) {
            Ok((0, _)) if !start => format!("invalid value 0 for argument '{k}' of server {name}."),
            Ok((v, _)) => {
                *slot = Some(value::Millis(u64::from(v)));
                return Some(true);
            }
            Err(value::TimeError::Empty) if !start => format!("'{k}' expects a delay as argument."),
            Err(value::TimeError::Overflow) => format!(
                "{timer}overflow in argument <{a}> to <{k}> of server {name}, maximum value is 2147483647 ms (~24.8 days)."
            ),
            Err(value::TimeError::Underflow) => format!(
                "{timer}underflow in argument <{a}> to <{k}> of server {name}, minimum non-null value is 1 ms."
            ),
            Err(e) => {
                let c = match e {
                    value::TimeError::UnexpectedChar(c) => c,
                    _ => ' ',
                };
                let what = if start { "slowstart" } else { "agent-inter" };
                format!("unexpected character '{c}' in '{what}' argument of server {name}.")
            }
        };
        self.err(
            Code::InvalidArgument,
            o.line.span(o.i + 1),
            format!("invalid time `{a}` for `{k}`"),
            HaproxyLoc::Bracket,
            format!("{sctx} : {text}."),
        );
        None
    }

    /// `rise`, `fall`, `weight`, `maxconn`, `maxqueue`, `minconn`, `port`, `agent-port`, `id`;
    /// the addresses of `addr` and `agent-addr` (checked only).
    fn server_number(&mut self, o: &ServerOpt<'_>, sd: &mut ServerDef) -> Option<bool> {
        let (k, a, sctx) = (o.k, o.a.as_str(), o.sctx);
        let p = &mut sd.params;
        match k {
            // HAProxy reads these into an `int` (atol, then the low 32 bits: an
            // intended truncation), so 4294967297 is 1 and 2147483648 negative.
            "rise" | "fall" => {
                let v = i64::from(value::atol(a) as i32);
                if v <= 0 {
                    self.err(
                        Code::InvalidArgument,
                        o.line.span(o.i + 1),
                        format!("`{k}` must be greater than 0"),
                        HaproxyLoc::Bracket,
                        format!("{sctx} : '{k}' has to be > 0."),
                    );
                    return None;
                }
                let v = u32::try_from(v).unwrap_or(u32::MAX);
                if k == "rise" {
                    p.rise = Some(v)
                } else {
                    p.fall = Some(v)
                }
            }
            "weight" => {
                let v = i64::from(value::atol(a) as i32);
                if !(0..=256).contains(&v) {
                    self.err(
                        Code::InvalidArgument,
                        o.line.span(o.i + 1),
                        format!("weight {v} is not within 0 and 256"),
                        HaproxyLoc::Bracket,
                        format!(
                            "{sctx} : weight of server {} is not within 0 and 256 ({v})..",
                            sd.name.name
                        ),
                    );
                    return None;
                }
                p.weight = Some(v as u32);
            }
            "maxconn" => p.maxconn = u32::try_from(value::atol(a)).ok(),
            // §5.2 `addr`, `agent-addr`: one address, no port needed.
            "addr" | "agent-addr" => {
                let resolver = self.opts.resolver;
                let resolves = |n: &str| resolver.resolves(n);
                let e = match k {
                    "addr" => value::single_address_error(a, false, &resolves),
                    // str2ip(): an IP address or a host name, nothing else.
                    _ => (a.parse::<std::net::IpAddr>().is_err()
                        && (a.is_empty() || a.contains([':', '/', '[']) || !resolves(a)))
                    .then(|| format!("invalid agent address '{a}'")),
                };
                if let Some(e) = e {
                    let e = e.trim_end_matches('\n');
                    let hx = match k {
                        "addr" => format!("{sctx} : 'addr' : {e}."),
                        _ => format!("{sctx} : parsing agent-addr failed. Check if '{a}' is correct address.."),
                    };
                    self.err(
                        Code::InvalidAddress,
                        o.line.span(o.i + 1),
                        format!("`{k}` is not a usable address: {e}"),
                        HaproxyLoc::Bracket,
                        hx,
                    );
                    return None;
                }
                // Stored as before.
                return Some(false);
            }
            // §5.2 `namespace`: HAProxy opens /var/run/netns/<name> (server.c).
            "namespace" if self.namespace_missing(a) => {
                self.err(
                    Code::MissingFile,
                    o.line.span(o.i + 1),
                    format!("network namespace `{a}` cannot be opened"),
                    HaproxyLoc::Bracket,
                    format!("{sctx} : Cannot open namespace '{a}'."),
                );
                return None;
            }
            "maxqueue" => p.maxqueue = u32::try_from(value::atol(a)).ok(),
            "minconn" => p.minconn = u32::try_from(value::atol(a)).ok(),
            "port" => p.port = u16::try_from(value::atol(a)).ok(),
            "agent-port" => p.agent_port = u16::try_from(value::atol(a)).ok(),
            // §5.2 `id`: a positive number (HAProxy reads it with atol()).
            // An `int` (intended truncation: the low 32 bits, as C's).
            "id" => match u32::try_from(value::atol(a) as i32).ok().filter(|v| *v > 0) {
                Some(value) => {
                    sd.id = Some(Spanned {
                        value,
                        span: o.line.span(o.i + 1),
                    })
                }
                None => {
                    self.err(
                        Code::InvalidArgument,
                        o.line.span(o.i + 1),
                        format!("server id `{a}` must be a number greater than 0"),
                        HaproxyLoc::Bracket,
                        format!("{sctx} : 'id' : custom id has to be > 0."),
                    );
                    return None;
                }
            },
            _ => return Some(false),
        }
        Some(true)
    }

    /// `socks4 <addr>:<port>` (§5.2): an IPv4/IPv6 address or a name (resolved at
    /// start-up, as HAProxy does) and a port, both required; HAProxy's texts.
    fn server_socks4(&mut self, o: &ServerOpt<'_>, p: &mut ServerParams) -> Option<bool> {
        if o.k != "socks4" {
            return Some(false);
        }
        let expanded = value::expand_env(&o.a, self.opts.env);
        let parsed = match value::parse_address(&expanded, AddrUse::Other) {
            Ok(a) if !matches!(a.port, value::PortSpec::Single(_)) => {
                Err(value::AddrError::MissingPort)
            }
            Ok(a) if !matches!(a.host, Host::V4(_) | Host::V6(_) | Host::Name(_)) => {
                Err(value::AddrError::Invalid(expanded.clone()))
            }
            r => r,
        };
        match parsed {
            Ok(a) => {
                p.socks4 = Some(Spanned {
                    value: a,
                    span: o.line.span(o.i + 1),
                });
                Some(true)
            }
            Err(e) => {
                let (k, raw, sctx) = (o.k, &o.a, o.sctx);
                self.err(
                    Code::InvalidAddress,
                    o.line.span(o.i + 1),
                    format!("invalid `{k}` address `{raw}`"),
                    HaproxyLoc::Bracket,
                    format!("{sctx} : '{k} {raw}' : {}", e.haproxy_text(raw)),
                );
                None
            }
        }
    }

    /// `on-marked-down`, `on-marked-up`, `on-error` (§5.2).
    fn server_action(&mut self, o: &ServerOpt<'_>, p: &mut ServerParams) -> Option<bool> {
        let (k, a, sctx) = (o.k, o.a.as_str(), o.sctx);
        let (ok, slot) = match k {
            "on-marked-down" => (a == "shutdown-sessions", &mut p.on_marked_down),
            "on-marked-up" => (a == "shutdown-backup-sessions", &mut p.on_marked_up),
            "on-error" => (
                matches!(a, "fastinter" | "fail-check" | "sudden-death" | "mark-down"),
                &mut p.on_error,
            ),
            _ => return Some(false),
        };
        if !ok {
            self.err(
                Code::InvalidArgument,
                o.line.span(o.i + 1),
                format!("`{k}` does not accept `{a}`"),
                HaproxyLoc::Bracket,
                format!("{sctx} : '{k}' expects a valid action but got '{a}'."),
            );
            return None;
        }
        *slot = Some(a.to_string());
        Some(true)
    }

    /// `ca-file`, `crt`, `crl-file`: relative to `ca-base` / `crt-base` (§3.1).
    fn server_tls_file(
        &mut self,
        o: &ServerOpt<'_>,
        p: &mut ServerParams,
        bases: &TlsBases,
    ) -> Option<bool> {
        let (k, a, sctx) = (o.k, o.a.as_str(), o.sctx);
        if !matches!(k, "ca-file" | "crt" | "crl-file") {
            return Some(false);
        }
        let base = if k == "crt" {
            bases.crt.as_deref()
        } else {
            bases.ca.as_deref()
        };
        let path = with_base(base, a);
        // A missing `crt` is found after the parse (server_tls.rs, as
        // HAProxy's ssl_sock_prepare_srv_ctx); a CA or CRL file is read here.
        if k != "crt" && self.opts.check_files && !Path::new(&path).exists() && !a.starts_with('@')
        {
            // ssl_sock.c's words, "ca-file" for a CRL too, then the keyword's
            // own alert.
            let hx =
                format!("{sctx} : Couldn't open the ca-file '{path}' (No such file or directory).");
            self.err(
                Code::MissingFile,
                o.line.span(o.i + 1),
                format!("{k} file `{path}` does not exist"),
                HaproxyLoc::Bracket,
                hx,
            );
            let mut d = Diagnostic::error(
                Code::MissingFile,
                format!("{k} file `{path}` cannot be loaded"),
            )
            .hx(HaproxyLoc::None, format!("'{k}' : unable to load {path}."));
            d.span = Some(o.line.span(o.i + 1));
            self.push(d);
            // HAProxy stops reading the server line at this error.
            return None;
        }
        // The path as opened (after `ca-base` / `crt-base`).
        if let Some(w) = o.line.words.get(o.i + 1) {
            let named = Named {
                name: path,
                span: w.span,
            };
            if k == "ca-file" {
                p.ca_file = Some(named)
            } else if k == "crt" {
                p.crt = Some(named)
            }
        }
        Some(true)
    }

    /// Add the server to its proxy: `default-server` lines accumulate; a template
    /// expands to one server per id.
    fn store_server(
        &mut self,
        pi: usize,
        line: &Line,
        start: usize,
        sd: ServerDef,
        is_default: bool,
        template_ids: Option<(u32, u32)>,
    ) {
        let p = &mut self.cfg.proxies[pi];
        if is_default {
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
