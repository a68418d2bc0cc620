//! Health-check configuration, typed (configuration.txt §4.2 `option httpchk`,
//! `http-check connect|send|expect|comment|disable-on-404|send-state`,
//! `tcp-check connect|send|send-lf|send-binary|send-binary-lf|expect|comment`,
//! `option pgsql-check|mysql-check|redis-check|smtpchk|ldap-check|ssl-hello-chk|
//! tcp-check|external-check|spop-check`).
//!
//! The config crate only describes; `haproxide-server` will translate these into the
//! check crate's specs.

use crate::model::Proxy;

/// Which kind of check a backend runs (the last `option *chk` wins, as in HAProxy).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CheckKind {
    /// No check option: a plain TCP connect (L4) check.
    #[default]
    Tcp,
    /// `option httpchk [<method>] [<uri>] [<version>]`.
    Http {
        method: Option<String>,
        uri: Option<String>,
        version: Option<String>,
        host: Option<String>,
    },
    /// `option tcp-check`: the `tcp-check` rules.
    TcpCheck,
    /// `option pgsql-check user <name>`.
    Pgsql {
        user: String,
    },
    /// `option mysql-check [user <name> [post-41|pre-41]]`: with a user, post-41
    /// is the default (configuration.txt §4.2 `option mysql-check`: "post-41 Send
    /// post v4.1 client compatible checks (the default)"; reg-test
    /// checks/mysql-check.vtc).
    Mysql {
        user: Option<String>,
        post41: bool,
    },
    RedisCheck,
    /// `option smtpchk [HELO|EHLO <domain>]`.
    Smtp {
        verb: String,
        domain: String,
    },
    LdapCheck,
    SslHello,
    ExternalCheck,
    SpopCheck,
}

/// `http-check expect` / `tcp-check expect` matchers (configuration.txt §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectMatch {
    /// `status <codes>`: a list of codes and ranges (`200`, `200-399`, `200,301`).
    Status(Vec<(u16, u16)>),
    RStatus(String),
    String(String),
    RString(String),
    StringLf(String),
    Binary(String),
    RBinary(String),
    BinaryLf(String),
    /// `hdr name <fmt> [-m <meth>] [value <fmt> [-m <meth>]] [full]` (and `fhdr`).
    Header {
        name: String,
        value: Option<String>,
        full_line: bool,
        words: Vec<String>,
    },
}

/// One `expect` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub negate: bool,
    pub matcher: ExpectMatch,
    pub min_recv: Option<i64>,
    pub comment: Option<String>,
    pub ok_status: Option<String>,
    pub error_status: Option<String>,
    pub tout_status: Option<String>,
    pub on_success: Option<String>,
    pub on_error: Option<String>,
}

/// `connect` options shared by `http-check connect` and `tcp-check connect`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connect {
    pub default: bool,
    pub port: Option<ConnectPort>,
    pub addr: Option<String>,
    pub send_proxy: bool,
    pub via_socks4: bool,
    pub ssl: bool,
    pub sni: Option<String>,
    pub alpn: Option<String>,
    pub proto: Option<String>,
    pub linger: bool,
    pub comment: Option<String>,
}

/// The `port` of a `connect` rule (configuration.txt §4.2 `tcp-check connect`:
/// "port <expr>: if not set, check port or server port is used. ... <expr> can be
/// an integer or a sample-fetch expression").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectPort {
    /// A TCP port, 1 to 65535.
    Number(u16),
    /// A sample expression, evaluated at each check (parsed: its text).
    Expr(String),
}

/// `http-check send` (configuration.txt §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpSend {
    pub method: Option<String>,
    pub uri: Option<String>,
    pub uri_lf: bool,
    pub version: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub body_lf: bool,
    pub comment: Option<String>,
}

/// One rule of an `http-check` or `tcp-check` sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckRule {
    Comment(String),
    Connect(Connect),
    HttpSend(HttpSend),
    /// `tcp-check send <data>` / `send-lf <fmt>`.
    Send {
        data: String,
        log_format: bool,
    },
    /// `tcp-check send-binary <hex>` / `send-binary-lf <hexfmt>`.
    SendBinary {
        hex: String,
        log_format: bool,
    },
    Expect(Expect),
    SetVar {
        name: String,
        expr: String,
    },
    UnsetVar {
        name: String,
    },
    DisableOn404,
    SendState,
}

/// A problem in a check rule: message in haproxide's words and HAProxy's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub word: usize,
    pub message: String,
    pub haproxy: String,
}

/// The options that choose a proxy's health check (§4.2), the
/// names [`check_kind`] reads.
pub(crate) const CHECK_OPTIONS: &[&str] = &[
    "httpchk",
    "tcp-check",
    "ssl-hello-chk",
    "smtpchk",
    "pgsql-check",
    "redis-check",
    "mysql-check",
    "ldap-check",
    "spop-check",
];

/// The health-check settings of a proxy, from its (inherited) options and rules.
pub fn check_kind(p: &Proxy) -> CheckKind {
    let mut kind = CheckKind::Tcp;
    for o in &p.options {
        if o.negated {
            continue;
        }
        let a = |i: usize| o.args.get(i).cloned();
        kind = match o.name.name.as_str() {
            "httpchk" => {
                // `option httpchk <uri>` | `<method> <uri>` | `<method> <uri> <version>`.
                let (method, uri, version) = match o.args.len() {
                    0 => (None, None, None),
                    1 => (None, a(0), None),
                    2 => (a(0), a(1), None),
                    _ => (a(0), a(1), a(2)),
                };
                // HAProxy ≤ 2.x let the version carry headers after `\r\n`.
                let (version, host) = match version {
                    Some(v) if v.contains("\r\n") => {
                        let (ver, rest) = v.split_once("\r\n").unwrap_or((v.as_str(), ""));
                        (Some(ver.to_string()), Some(rest.to_string()))
                    }
                    v => (v, None),
                };
                CheckKind::Http {
                    method,
                    uri,
                    version,
                    host,
                }
            }
            "tcp-check" => CheckKind::TcpCheck,
            "pgsql-check" => CheckKind::Pgsql {
                user: a(1).unwrap_or_default(),
            },
            "mysql-check" => CheckKind::Mysql {
                user: a(1),
                post41: a(2).as_deref() != Some("pre-41"),
            },
            "redis-check" => CheckKind::RedisCheck,
            "smtpchk" => CheckKind::Smtp {
                verb: a(0).unwrap_or_else(|| "HELO".into()),
                domain: a(1).unwrap_or_else(|| "localhost".into()),
            },
            "ldap-check" => CheckKind::LdapCheck,
            "ssl-hello-chk" => CheckKind::SslHello,
            "external-check" => CheckKind::ExternalCheck,
            "spop-check" => CheckKind::SpopCheck,
            _ => kind,
        };
    }
    kind
}

/// `external-check command <command>` and `external-check path <path>`
/// (configuration.txt §4.2): the proxy's own last line, else its defaults section's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalCheck {
    /// The executable run for each check (no shell).
    pub command: Option<String>,
    /// The PATH given to it (HAProxy's default: empty).
    pub path: Option<String>,
}

/// The `external-check command|path` settings of `p` (see [`ExternalCheck`]).
pub fn external_check(p: &Proxy, defaults: Option<&Proxy>) -> ExternalCheck {
    let read = |p: &Proxy, what: &str| {
        p.directives
            .iter()
            .filter(|d| d.line.arg(0) == "external-check" && d.line.arg(1) == what)
            .map(|d| d.line.arg(2).to_string())
            .next_back()
    };
    ExternalCheck {
        command: read(p, "command").or_else(|| defaults.and_then(|d| read(d, "command"))),
        path: read(p, "path").or_else(|| defaults.and_then(|d| read(d, "path"))),
    }
}

/// Parse `[!] <match> <pattern>` and the options of `expect`.
fn parse_expect(words: &[&str], http: bool) -> Result<Expect, RuleError> {
    let mut e = Expect {
        negate: false,
        matcher: ExpectMatch::String(String::new()),
        min_recv: None,
        comment: None,
        ok_status: None,
        error_status: None,
        tout_status: None,
        on_success: None,
        on_error: None,
    };
    let which = if http { "http-check" } else { "tcp-check" };
    let mut i = 0;
    loop {
        let w = words.get(i).copied().unwrap_or("");
        let val = words.get(i + 1).map(|s| s.to_string());
        let need = |v: &Option<String>| {
            v.clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| RuleError {
                    word: i,
                    message: format!("`{w}` needs an argument"),
                    haproxy: format!("'{which} expect' : '{w}' expects an argument."),
                })
        };
        match w {
            "min-recv" => e.min_recv = Some(crate::value::atol(&need(&val)?)),
            "comment" => e.comment = Some(need(&val)?),
            "ok-status" => e.ok_status = Some(need(&val)?),
            "error-status" => e.error_status = Some(need(&val)?),
            "tout-status" => e.tout_status = Some(need(&val)?),
            "on-success" => e.on_success = Some(need(&val)?),
            "on-error" => e.on_error = Some(need(&val)?),
            "status-code" => {
                need(&val)?;
            }
            "!" => {
                e.negate = !e.negate;
                i += 1;
                continue;
            }
            _ => break,
        }
        i += 2;
    }
    let mut kw = words.get(i).copied().unwrap_or("");
    // HAProxy strips `!` glued to the matcher too (`!rstring`), each one inverting.
    while let Some(rest) = kw.strip_prefix('!') {
        e.negate = !e.negate;
        kw = rest;
    }
    let pat = words.get(i + 1).map(|s| s.to_string()).unwrap_or_default();
    let matchers: &[&str] = if http {
        &[
            "status",
            "rstatus",
            "hdr",
            "fhdr",
            "string",
            "rstring",
            "string-lf",
            "binary",
            "rbinary",
            "binary-lf",
        ]
    } else {
        &[
            "string",
            "rstring",
            "string-lf",
            "binary",
            "rbinary",
            "binary-lf",
        ]
    };
    if !matchers.contains(&kw) {
        return Err(RuleError {
            word: i,
            message: format!("`{which} expect` does not know the matcher `{kw}`"),
            haproxy: format!(
                "'{which} expect' only supports min-recv, [!], {}, but got '{kw}' as argument.",
                matchers.join(", ")
            ),
        });
    }
    if pat.is_empty() && kw != "hdr" && kw != "fhdr" {
        return Err(RuleError {
            word: i,
            message: format!("`{which} expect {kw}` needs a pattern"),
            haproxy: format!("'{which} expect' : '{kw}' expects a <pattern> as argument."),
        });
    }
    e.matcher = match kw {
        "status" => ExpectMatch::Status(status_codes(&pat).map_err(|m| RuleError {
            word: i + 1,
            message: m.clone(),
            haproxy: format!("'{which} expect' : {m}."),
        })?),
        "rstatus" => ExpectMatch::RStatus(pat),
        "string" => ExpectMatch::String(pat),
        "rstring" => ExpectMatch::RString(pat),
        "string-lf" => ExpectMatch::StringLf(pat),
        "binary" => ExpectMatch::Binary(pat),
        "rbinary" => ExpectMatch::RBinary(pat),
        "binary-lf" => ExpectMatch::BinaryLf(pat),
        _ => {
            let rest: Vec<String> = words[i + 1..].iter().map(|s| s.to_string()).collect();
            let pos = |k: &str| rest.iter().position(|w| w == k);
            ExpectMatch::Header {
                name: pos("name")
                    .and_then(|p| rest.get(p + 1).cloned())
                    .unwrap_or_default(),
                value: pos("value").and_then(|p| rest.get(p + 1).cloned()),
                full_line: kw == "fhdr" || rest.iter().any(|w| w == "full"),
                words: rest,
            }
        }
    };
    Ok(e)
}

/// The `<codes>` of `http-check expect status` (configuration.txt §4.2
/// "http-check expect": "a list of status codes or ranges"), read as HAProxy
/// 2.6's `parse_tcpcheck_expect` reads them: each code is `read_uint()`'s
/// digits (none is 0, wrapping past 2^32), a range `<a>-<b>` needs `a <= b`,
/// items are separated by `,`. A code past 65535 is kept as 65535: no status
/// reaches it either way.
fn status_codes(pat: &str) -> Result<Vec<(u16, u16)>, String> {
    fn read_uint(s: &mut &[u8]) -> u32 {
        let mut v = 0u32;
        while let Some((&c, rest)) = s.split_first().filter(|(c, _)| c.is_ascii_digit()) {
            v = v.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
            *s = rest;
        }
        v
    }
    let mut p = pat.as_bytes();
    let mut out = Vec::new();
    loop {
        let a = read_uint(&mut p);
        let mut b = a;
        if let Some(rest) = p.strip_prefix(b"-") {
            p = rest;
            b = read_uint(&mut p);
        }
        if a > b {
            return Err(format!("invalid range of status codes '{pat}'"));
        }
        let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        out.push((clamp(a), clamp(b)));
        match p.split_first() {
            None => return Ok(out),
            Some((b',', rest)) => p = rest,
            Some(_) => {
                let at = pat.len() - p.len();
                let c = pat.get(at..).and_then(|r| r.chars().next()).unwrap_or('?');
                return Err(format!(
                    "invalid character '{c}' in the list of status codes"
                ));
            }
        }
    }
}

/// `connect` options, read and refused as HAProxy 2.6's `parse_tcpcheck_connect`
/// does (its messages; `which` is `http-check` or `tcp-check`). `words` are the
/// options after `connect`, the first at index 2 of the line.
fn parse_connect(which: &str, words: &[&str]) -> Result<Connect, RuleError> {
    let mut c = Connect::default();
    let mut i = 0;
    let fail = |i: usize, m: String| rule_error(which, "connect", i + 2, m);
    while let Some(&w) = words.get(i) {
        let v = words.get(i + 1).copied().filter(|v| !v.is_empty());
        let need = |what: &str| fail(i, format!("'{w}' expects {what} as argument."));
        match w {
            "default" => c.default = true,
            "send-proxy" => c.send_proxy = true,
            "via-socks4" => c.via_socks4 = true,
            "ssl" => c.ssl = true,
            "linger" => c.linger = true,
            "port" => {
                let v = v.ok_or_else(|| need("a port number or a sample expression"))?;
                c.port = Some(connect_port(v).map_err(|m| fail(i + 1, m))?);
                i += 1;
            }
            "addr" => {
                c.addr = Some(v.ok_or_else(|| need("<ipv4|ipv6>"))?.to_string());
                i += 1;
            }
            "sni" | "comment" => {
                let v = v.ok_or_else(|| need("a string"))?.to_string();
                if w == "sni" {
                    c.sni = Some(v);
                } else {
                    c.comment = Some(v);
                }
                i += 1;
            }
            "alpn" => {
                c.alpn = v.map(str::to_string);
                i += 1;
            }
            "proto" => {
                let v = v.ok_or_else(|| need("a MUX protocol"))?;
                // HAProxy 2.6's multiplexers, by mode (`get_mux_proto`).
                let mode_ok = match v {
                    "h1" | "h2" => which == "http-check",
                    "none" => which == "tcp-check",
                    "fcgi" => which == "http-check",
                    _ => return Err(fail(i, format!("'{w}' : unknown MUX protocol '{v}'."))),
                };
                if !mode_ok {
                    return Err(fail(i, format!("'{w}' : invalid MUX protocol '{v}' for {which}")));
                }
                c.proto = Some(v.to_string());
                i += 1;
            }
            other => {
                return Err(fail(
                    i,
                    format!("expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', 'alpn' or 'via-socks4', 'linger', 'default' but got '{other}' as argument."),
                ))
            }
        }
        i += 1;
    }
    Ok(c)
}

/// Whether a `connect` rule may come after the rules `before` it (HAProxy 2.6's
/// `parse_tcpcheck_connect`): a ruleset with a `connect` starts with one, after
/// comments and variable settings only.
pub fn connect_may_follow(before: &[CheckRule]) -> bool {
    before
        .iter()
        .take_while(|r| !matches!(r, CheckRule::Connect(_)))
        .all(|r| {
            matches!(
                r,
                CheckRule::Comment(_) | CheckRule::SetVar { .. } | CheckRule::UnsetVar { .. }
            )
        })
}

/// A `connect` rule's `port` value as HAProxy reads it: the digits it starts
/// with (`read_uint`) when they are the whole word, a TCP port; otherwise a
/// sample expression.
fn connect_port(v: &str) -> Result<ConnectPort, String> {
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return match v.parse::<u32>() {
            Ok(n @ 1..=65535) => Ok(ConnectPort::Number(n as u16)),
            _ => Err(format!(
                "expects a valid TCP port (from range 1 to 65535) or a sample expression, got {v}."
            )),
        };
    }
    match haproxide_expr::SampleExpr::parse(v) {
        Ok(_) => Ok(ConnectPort::Expr(v.to_string())),
        Err(e) if e.kind == haproxide_expr::ErrorKind::Unsupported => {
            Ok(ConnectPort::Expr(v.to_string()))
        }
        Err(e) => Err(format!(
            "error detected while parsing port expression : {}",
            e.message
        )),
    }
}

/// An error of `<which> <sub>` at word `word` of the line: HAProxy's text is
/// `'<which> <sub>' : <m>.` (`proxy_parse_tcpcheck`/`httpcheck`).
fn rule_error(which: &str, sub: &str, word: usize, m: String) -> RuleError {
    RuleError {
        word,
        message: format!("`{which} {sub}`: {}", m.trim_end_matches('.')),
        haproxy: format!("'{which} {sub}' : {m}."),
    }
}

/// `http-check send` options, read and refused as HAProxy 2.6's
/// `parse_tcpcheck_send_http` does (its messages). `Content-Length` and
/// `Transfer-Encoding` headers are dropped, as HAProxy drops them (the check
/// frames its body itself).
fn parse_send(words: &[&str]) -> Result<HttpSend, RuleError> {
    let mut s = HttpSend::default();
    let mut i = 0;
    let fail = |i: usize, m: String| rule_error("http-check", "send", i + 2, m);
    while let Some(&w) = words.get(i) {
        let v = words.get(i + 1).copied().filter(|v| !v.is_empty());
        let need = || fail(i, format!("'{w}' expects a string as argument."));
        match w {
            "meth" => s.method = Some(v.ok_or_else(need)?.to_string()),
            "uri" | "uri-lf" => {
                (s.uri, s.uri_lf) = (Some(v.ok_or_else(need)?.to_string()), w == "uri-lf");
            }
            "ver" => s.version = Some(v.ok_or_else(need)?.to_string()),
            "body" | "body-lf" => {
                (s.body, s.body_lf) = (Some(v.ok_or_else(need)?.to_string()), w == "body-lf");
            }
            "comment" => s.comment = Some(v.ok_or_else(need)?.to_string()),
            "hdr" => {
                let value = words.get(i + 2).copied().filter(|v| !v.is_empty());
                let (Some(name), Some(value)) = (v, value) else {
                    return Err(fail(i, format!("'{w}' expects <name> and <value> as arguments")));
                };
                if name.eq_ignore_ascii_case("host") {
                    if let Some((_, prev)) =
                        s.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("host"))
                    {
                        return Err(fail(
                            i,
                            format!("'{name}' header already defined (previous value is '{prev}')"),
                        ));
                    }
                }
                if !name.eq_ignore_ascii_case("content-length")
                    && !name.eq_ignore_ascii_case("transfer-encoding")
                {
                    s.headers.push((name.to_string(), value.to_string()));
                }
                i += 1;
            }
            other => {
                return Err(fail(
                    i,
                    format!("expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got '{other}' as argument."),
                ))
            }
        }
        i += 2;
    }
    Ok(s)
}

/// Parse one `http-check ...` or `tcp-check ...` directive into a rule.
pub fn parse_rule(line: &crate::reader::Line) -> Result<CheckRule, RuleError> {
    let words: Vec<&str> = line.words.iter().map(|w| w.text.as_str()).collect();
    let http = words.first() == Some(&"http-check");
    let sub = words.get(1).copied().unwrap_or("");
    let rest = words.get(2..).unwrap_or(&[]);
    let offset = 2;
    let shift = |mut e: RuleError| {
        e.word += offset;
        e
    };
    // `set-var(<name>)` and its kin need their variable name in parentheses
    // (configuration.txt §4.2 `http-check set-var`): HAProxy refuses the bare
    // action word.
    if matches!(sub, "set-var" | "set-var-fmt" | "unset-var") {
        let which = if http { "http-check" } else { "tcp-check" };
        return Err(RuleError {
            word: 1,
            message: format!("`{which} {sub}` needs a variable name: `{sub}(<var-name>)`"),
            haproxy: format!("'{which} {sub}' : '{sub}' : invalid or incomplete action '{sub}'. Expects 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'."),
        });
    }
    Ok(match sub {
        "comment" => CheckRule::Comment(rest.join(" ")),
        "connect" => CheckRule::Connect(parse_connect(
            if http { "http-check" } else { "tcp-check" },
            rest,
        )?),
        "send" if http => CheckRule::HttpSend(parse_send(rest)?),
        "send" | "send-lf" => CheckRule::Send {
            data: rest.first().copied().unwrap_or("").to_string(),
            log_format: sub == "send-lf",
        },
        "send-binary" | "send-binary-lf" => CheckRule::SendBinary {
            hex: rest.first().copied().unwrap_or("").to_string(),
            log_format: sub == "send-binary-lf",
        },
        "expect" => CheckRule::Expect(parse_expect(rest, http).map_err(shift)?),
        "disable-on-404" => CheckRule::DisableOn404,
        "send-state" => CheckRule::SendState,
        s if s.starts_with("set-var") => CheckRule::SetVar {
            name: s
                .trim_start_matches("set-var")
                .trim_matches(|c| c == '(' || c == ')')
                .to_string(),
            expr: rest.join(" "),
        },
        s if s.starts_with("unset-var") => CheckRule::UnsetVar {
            name: s
                .trim_start_matches("unset-var")
                .trim_matches(|c| c == '(' || c == ')')
                .to_string(),
        },
        other => {
            let which = if http { "http-check" } else { "tcp-check" };
            return Err(RuleError {
                word: 1,
                message: format!("unknown `{which}` rule `{other}`"),
                haproxy: format!("'{which}' only supports 'comment', 'connect', 'send', 'expect'... (got '{other}')"),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{Line, Word};
    use crate::source::{FileId, Span};

    fn line_of(text: &str) -> Line {
        let words = text
            .split(' ')
            .map(|w| Word {
                text: w.to_string(),
                span: Span::line(FileId(0), 1),
                quoted: false,
            })
            .collect();
        Line {
            file: FileId(0),
            line: 1,
            words,
        }
    }

    #[test]
    fn status_codes_are_read_as_read_uint() {
        assert_eq!(
            status_codes("200-399,500"),
            Ok(vec![(200, 399), (500, 500)])
        );
        // No digits is 0; 2^32 + 5 wraps to 5; past 65535 no status reaches.
        assert_eq!(status_codes("-5,"), Ok(vec![(0, 5), (0, 0)]));
        assert_eq!(status_codes("4294967301"), Ok(vec![(5, 5)]));
        assert_eq!(status_codes("65536-70000"), Ok(vec![(65535, 65535)]));
        assert!(status_codes("5-1").is_err());
        assert!(status_codes("200-").is_err());
        assert_eq!(
            status_codes("2é"),
            Err("invalid character 'é' in the list of status codes".to_string())
        );
    }

    #[test]
    fn expect_rules() {
        let r = parse_rule(&line_of("http-check expect status 200")).expect("ok");
        assert_eq!(
            r,
            CheckRule::Expect(Expect {
                negate: false,
                matcher: ExpectMatch::Status(vec![(200, 200)]),
                min_recv: None,
                comment: None,
                ok_status: None,
                error_status: None,
                tout_status: None,
                on_success: None,
                on_error: None
            })
        );
        let CheckRule::Expect(e) =
            parse_rule(&line_of("http-check expect ! status 200-399,500")).expect("ok")
        else {
            panic!("not expect")
        };
        assert!(e.negate);
        assert_eq!(e.matcher, ExpectMatch::Status(vec![(200, 399), (500, 500)]));
        let CheckRule::Expect(e) = parse_rule(&line_of(
            "tcp-check expect min-recv 4 comment x string +PONG",
        ))
        .expect("ok") else {
            panic!("not expect")
        };
        assert_eq!(
            (e.min_recv, e.matcher),
            (Some(4), ExpectMatch::String("+PONG".into()))
        );
        assert!(
            parse_rule(&line_of("tcp-check expect status 200")).is_err(),
            "status is HTTP only"
        );
        assert!(parse_rule(&line_of("http-check expect status abc")).is_err());
        assert!(parse_rule(&line_of("http-check expect bogus x")).is_err());
        // `!` glued to the matcher (HAProxy 2.6's reg-test tcp-check_min-recv).
        let CheckRule::Expect(e) = parse_rule(&line_of(
            "tcp-check expect min-recv 5 !rstring ^error comment x",
        ))
        .expect("ok") else {
            panic!("not expect")
        };
        assert!(e.negate);
        assert_eq!(
            (e.min_recv, e.matcher),
            (Some(5), ExpectMatch::RString("^error".into()))
        );
    }

    #[test]
    fn send_and_connect() {
        let r = parse_rule(&line_of(
            "http-check send meth GET uri /primary ver HTTP/1.1 hdr Host db",
        ))
        .expect("ok");
        let CheckRule::HttpSend(s) = r else {
            panic!("not send")
        };
        assert_eq!(s.method.as_deref(), Some("GET"));
        assert_eq!(s.uri.as_deref(), Some("/primary"));
        assert_eq!(s.headers, vec![("Host".to_string(), "db".to_string())]);
        let CheckRule::Connect(c) =
            parse_rule(&line_of("tcp-check connect port 8008 ssl sni x linger")).expect("ok")
        else {
            panic!("not connect")
        };
        assert_eq!(
            (c.port, c.ssl, c.sni.as_deref(), c.linger),
            (Some(ConnectPort::Number(8008)), true, Some("x"), true)
        );
        assert_eq!(
            parse_rule(&line_of("tcp-check send-binary 2a310d0a")).expect("ok"),
            CheckRule::SendBinary {
                hex: "2a310d0a".into(),
                log_format: false
            }
        );
    }

    #[test]
    fn check_kind_from_options() {
        use crate::model::{Named, ProxyKind, ProxyOption};
        let n = |s: &str| Named {
            name: s.into(),
            span: Span::line(FileId(0), 1),
        };
        let mut p = Proxy::new(ProxyKind::Backend, n("b"), Span::line(FileId(0), 1));
        assert_eq!(check_kind(&p), CheckKind::Tcp);
        p.options.push(ProxyOption {
            name: n("httpchk"),
            negated: false,
            args: vec!["/replica?lag=1MB".into()],
        });
        assert_eq!(
            check_kind(&p),
            CheckKind::Http {
                method: None,
                uri: Some("/replica?lag=1MB".into()),
                version: None,
                host: None
            }
        );
        p.options.push(ProxyOption {
            name: n("pgsql-check"),
            negated: false,
            args: vec!["user".into(), "pg".into()],
        });
        assert_eq!(check_kind(&p), CheckKind::Pgsql { user: "pg".into() });
    }
}
