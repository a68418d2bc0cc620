//! Persistence keywords: `cookie` (configuration.txt §4.2 `cookie`), and
//! `ignore-persist` / `force-persist` (§4.2), typed with `haproxy -c` 2.6's
//! messages (cfgparse-listen.c).

use haproxide_http::persist::{CookieMode, CookieSpec};

use super::*;

impl Parser<'_> {
    /// `cookie <name> [rewrite|insert|prefix] [indirect] [nocache] [postonly]
    /// [preserve] [httponly] [secure] [domain <d>]* [maxidle <t>] [maxlife <t>]
    /// [dynamic] [attr <v>]*`.
    pub(super) fn kw_cookie(&mut self, pi: usize, line: &Line, a: usize) {
        let name = line.arg(a);
        if name.is_empty() {
            self.err(
                Code::MissingArgument,
                line.span(a.saturating_sub(1)),
                "`cookie` needs a cookie name",
                HaproxyLoc::Parsing,
                "'cookie' expects <cookie_name> as argument.",
            );
            return;
        }
        let mut c = CookieSpec {
            name: name.to_string(),
            ..CookieSpec::default()
        };
        let (mut rw, mut ins, mut pfx) = (false, false, false);
        let mut k = a + 1;
        while !line.arg(k).is_empty() {
            let w = line.arg(k);
            match w {
                "rewrite" => rw = true,
                "indirect" => c.indirect = true,
                "insert" => ins = true,
                "nocache" => c.nocache = true,
                "postonly" => c.postonly = true,
                "preserve" => c.preserve = true,
                "prefix" => pfx = true,
                "httponly" => c.httponly = true,
                "secure" => c.secure = true,
                "dynamic" => {}
                "domain" => {
                    let d = line.arg(k + 1);
                    if d.is_empty() {
                        return self.cookie_err(line, k, "'domain' expects <domain> as argument.");
                    }
                    if !d.contains('.') {
                        self.warn(
                            Code::InvalidArgument,
                            line.span(k + 1),
                            format!("cookie domain `{d}` has no embedded dot"),
                            HaproxyLoc::ParsingTight,
                            format!("domain '{d}' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3)."),
                        );
                    }
                    if let Some(bad) = d
                        .chars()
                        .find(|ch| !(ch.is_ascii_alphanumeric() || *ch == '.' || *ch == '-'))
                    {
                        return self.cookie_err(
                            line,
                            k + 1,
                            &format!("character '{bad}' is not permitted in domain name '{d}'."),
                        );
                    }
                    c.domain = Some(match c.domain.take() {
                        None => d.to_string(),
                        Some(prev) => format!("{prev}; domain={d}"),
                    });
                    k += 1;
                }
                "maxidle" | "maxlife" => {
                    let t = line.arg(k + 1);
                    let what = if w == "maxidle" {
                        "<idletime>"
                    } else {
                        "<lifetime>"
                    };
                    if t.is_empty() {
                        return self.cookie_err(
                            line,
                            k,
                            &format!("'{w}' expects {what} in seconds as argument."),
                        );
                    }
                    let secs = match value::parse_time(t, 1000) {
                        Ok(ms) if ms.0 / 1000 > 2_147_483_647 => {
                            return self.cookie_err(line, k + 1, &format!("timer overflow in argument <{t}> to <{w}>, maximum value is 2147483647 s (~68 years)."));
                        }
                        Ok(ms) if ms.0 > 0 && ms.0 < 1000 => {
                            return self.cookie_err(line, k + 1, &format!("timer underflow in argument <{t}> to <{w}>, minimum non-null value is 1 s."));
                        }
                        Ok(ms) => (ms.0 / 1000) as u32,
                        Err(value::TimeError::Overflow) => {
                            return self.cookie_err(line, k + 1, &format!("timer overflow in argument <{t}> to <{w}>, maximum value is 2147483647 s (~68 years)."));
                        }
                        Err(_) => {
                            let ch = t.chars().find(|ch| !ch.is_ascii_digit()).unwrap_or(' ');
                            return self.cookie_err(
                                line,
                                k + 1,
                                &format!("unexpected character '{ch}' in argument to <{w}>."),
                            );
                        }
                    };
                    if w == "maxidle" {
                        c.maxidle = secs;
                    } else {
                        c.maxlife = secs;
                    }
                    k += 1;
                }
                "attr" => {
                    let v = line.arg(k + 1);
                    if v.is_empty() {
                        return self.cookie_err(line, k, "'attr' expects <value> as argument.");
                    }
                    if let Some(b) = v.bytes().find(|b| b.is_ascii_control() || *b == b';') {
                        return self.cookie_err(
                            line,
                            k + 1,
                            &format!("character '%x{b:02X}' is not permitted in attribute value."),
                        );
                    }
                    c.attrs = Some(match c.attrs.take() {
                        None => v.to_string(),
                        Some(prev) => format!("{prev}; {v}"),
                    });
                    k += 1;
                }
                _ => {
                    self.err(
                        Code::InvalidArgument,
                        line.span(k),
                        format!("unknown `cookie` option `{w}`"),
                        HaproxyLoc::Parsing,
                        "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.",
                    );
                    return;
                }
            }
            k += 1;
        }
        let span = line.span_from(0);
        let mut ok = true;
        if rw && c.indirect {
            self.err(
                Code::InvalidArgument,
                span,
                "cookie `rewrite` and `indirect` cannot be combined",
                HaproxyLoc::Parsing,
                "cookie 'rewrite' and 'indirect' modes are incompatible.",
            );
            ok = false;
        }
        if [rw, ins, pfx].iter().filter(|x| **x).count() > 1 {
            self.err(
                Code::InvalidArgument,
                span,
                "cookie `rewrite`, `insert` and `prefix` exclude each other",
                HaproxyLoc::Parsing,
                "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.",
            );
            ok = false;
        }
        if c.preserve && !ins && !c.indirect {
            self.err(
                Code::InvalidArgument,
                span,
                "cookie `preserve` needs `insert` or `indirect`",
                HaproxyLoc::Parsing,
                "cookie 'preserve' requires at least 'insert' or 'indirect'.",
            );
            ok = false;
        }
        c.mode = if ins {
            CookieMode::Insert
        } else if rw {
            CookieMode::Rewrite
        } else if pfx {
            CookieMode::Prefix
        } else {
            CookieMode::Passive
        };
        if ok {
            self.cfg.proxies[pi].cookie = Some(Spanned { value: c, span });
        }
    }

    fn cookie_err(&mut self, line: &Line, k: usize, hx: &str) {
        self.err(
            Code::InvalidArgument,
            line.span(k),
            format!("`cookie`: {hx}"),
            HaproxyLoc::ParsingTight,
            hx.to_string(),
        );
    }

    /// `ignore-persist { if | unless } <condition>` and `force-persist ...`.
    pub(super) fn kw_persist_rule(&mut self, pi: usize, line: &Line, a: usize, force: bool) {
        let kw = if force {
            "force-persist"
        } else {
            "ignore-persist"
        };
        let cond = match line.arg(a) {
            "if" | "unless" => self.condition(
                pi,
                line,
                a,
                &format!("error detected while parsing a '{kw}' rule : {{}}."),
            ),
            _ => {
                self.err(
                    Code::ConditionExpression,
                    line.span(a.saturating_sub(1)),
                    format!("`{kw}` needs `if` or `unless` and a condition"),
                    HaproxyLoc::Parsing,
                    format!("'{kw}' requires either 'if' or 'unless' followed by a condition."),
                );
                return;
            }
        };
        if let Some(cond) = cond {
            self.cfg.proxies[pi].persist_rules.push(PersistRule {
                force,
                cond,
                span: line.span_from(0),
            });
        }
    }
}

impl Parser<'_> {
    /// `stick-table type <type> [len <n>] size <size> [expire <t>] [...]`
    /// (§4.2): what the engine needs, the rest kept by name.
    pub(super) fn kw_stick_table(&mut self, pi: usize, line: &Line, a: usize) {
        let t = stick_table(line, a);
        self.cfg.proxies[pi].stick_table = Some(Spanned {
            value: t,
            span: line.span_from(0),
        });
    }

    /// `table <name> type <type> ...` in a `peers` section (§3.5): the table
    /// `<section>/<name>`.
    pub(super) fn kw_peers_table(&mut self, section: &str, line: &Line, start: usize) {
        let name = line.arg(start + 1);
        if name.is_empty() {
            return;
        }
        let t = stick_table(line, start + 2);
        self.cfg.peer_tables.push(crate::model::PeerTableCfg {
            section: section.to_string(),
            name: name.to_string(),
            table: Spanned {
                value: t,
                span: line.span_from(start),
            },
        });
    }

    /// `stick on|match|store-request|store-response <pattern> [table <t>]
    /// [{if|unless} <cond>]` (§4.2).
    pub(super) fn kw_stick(&mut self, pi: usize, line: &Line, a: usize) {
        let kind = line.arg(a).to_string();
        let mut pattern = Vec::new();
        let mut table = None;
        let mut has_cond = false;
        let mut k = a + 1;
        while !line.arg(k).is_empty() {
            match line.arg(k) {
                "table" => {
                    table = Some(line.arg(k + 1).to_string());
                    k += 2;
                }
                "if" | "unless" => {
                    has_cond = true;
                    break;
                }
                w => {
                    pattern.push(w.to_string());
                    k += 1;
                }
            }
        }
        let pattern = pattern.join(" ");
        let cond = if has_cond {
            let what = "'stick': error detected while parsing sticking condition : {}.";
            match self.condition(pi, line, k, what) {
                Some(c) => Some(c),
                None => return,
            }
        } else {
            None
        };
        // HAProxy looks the fetch up before anything else (its message has no
        // final period here).
        let head = acl::split_converters(&pattern)
            .first()
            .map(|s| s.to_string());
        let fname = head
            .as_deref()
            .unwrap_or("")
            .split('(')
            .next()
            .unwrap_or("");
        if !fname.is_empty() && !self.kw.fetches.contains(fname) && !self.is_lua_sample(fname) {
            self.err(
                Code::UnknownFetch,
                line.span(a + 1),
                format!("`stick {kind}`: unknown fetch method `{fname}`"),
                HaproxyLoc::Parsing,
                format!("'stick': unknown fetch method '{fname}'"),
            );
            return;
        }
        let at = (line.file, line.line);
        let typed = self.with_type_ctx(pi, at, |cx| {
            haproxide_expr::SampleExpr::parse_with(&pattern, &cx.opts)
                .map_err(|e| (e.is_invalid(), e.message))
        });
        let expr = match typed {
            Ok(e) => Ok(e),
            Err((true, m)) => {
                self.err(
                    Code::InvalidArgument,
                    line.span(a + 1),
                    format!("`stick {kind}`: {m}"),
                    HaproxyLoc::Parsing,
                    format!("'stick': {m}"),
                );
                return;
            }
            Err((false, m)) => Err(m),
        };
        self.cfg.proxies[pi].stick_rules.push(StickRuleCfg {
            kind,
            pattern,
            expr,
            table,
            has_cond,
            cond,
            span: line.span_from(0),
        });
    }
}

/// The words of a `stick-table` line from `a` (after the keyword): what the
/// engine needs, the rest kept by name.
fn stick_table(line: &Line, a: usize) -> StickTableCfg {
    let mut t = StickTableCfg {
        kind: String::new(),
        size: 0,
        expire: None,
        len: None,
        store: Vec::new(),
        nopurge: false,
        peers: None,
        srvkey_addr: false,
        other: Vec::new(),
    };
    let mut k = a;
    while !line.arg(k).is_empty() {
        let w = line.arg(k);
        let v = line.arg(k + 1);
        match w {
            "type" => t.kind = v.to_string(),
            "len" => t.len = v.parse().ok(),
            "size" => t.size = value::parse_size(v).unwrap_or(0),
            "expire" => t.expire = value::parse_time(v, 1).ok(),
            "peers" => t.peers = Some(v.to_string()),
            "store" => {
                for item in v.split(',').filter(|i| !i.is_empty()) {
                    let (name, period) = match item.split_once('(') {
                        Some((n, p)) => (n, Some(p.trim_end_matches(')'))),
                        None => (item, None),
                    };
                    let d = haproxide_expr::stktab::Data::from_name(name);
                    let ms = period.map(|p| value::parse_time(p, 1).map(|m| m.0));
                    match (d, ms) {
                        (Some(d), None) if !d.is_rate() => t.store.push((d, 0)),
                        (Some(d), Some(Ok(ms))) if d.is_rate() => {
                            t.store.push((d, u32::try_from(ms).unwrap_or(u32::MAX)))
                        }
                        _ => t.other.push(format!("store {item}")),
                    }
                }
                t.store.sort();
                t.store.dedup_by_key(|s| s.0);
            }
            "nopurge" => {
                t.nopurge = true;
                k += 1;
                continue;
            }
            "srvkey" if v == "addr" || v == "name" => t.srvkey_addr = v == "addr",
            "write-to" | "recv-only" => {
                t.other.push(w.to_string());
                k += 1;
                continue;
            }
            other => t.other.push(other.to_string()),
        }
        k += 2;
    }
    t
}
