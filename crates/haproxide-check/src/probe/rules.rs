//! A tcp-check rule engine, and the protocol checks HAProxy builds on it
//! (configuration.txt §4.2 `option tcp-check`, `tcp-check connect|send|
//! send-binary|expect|comment`, `option redis-check`, `option smtpchk`,
//! `option pgsql-check`, `option mysql-check`, `option ldap-check`,
//! `option ssl-hello-chk`).
//!
//! Step numbers, statuses and descriptions follow what HAProxy 2.6 reports,
//! e.g. "TCPCHK did not match content '+PONG' at step 2" or
//! " at step 2 of tcp-check (expect string '+PONG')" (sic, with the leading
//! space) on a timeout.

use regex::bytes::Regex;
use tokio::time::Instant;

use super::conn::{strerror, ConnectPlan, IoFailure, Session};
use crate::spec::{ConnectRule, TcpCheckRule, TcpExpect, TcpExpectKind};
use crate::status::{CheckResult, CheckStatus};

/// How an expect rule matches the input buffer.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// `string` / `binary`: the buffer contains these bytes.
    Contains(Vec<u8>),
    /// `rstring`: regex on the raw bytes.
    Regex(Regex),
    /// `rbinary`: regex on the upper-case hex dump of the buffer.
    HexRegex(Regex),
    /// Protocol-specific parsers.
    Custom(Custom),
}

/// Built-in response parsers that are not simple patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Custom {
    /// MySQL initial handshake packet.
    MysqlGreeting,
    /// MySQL OK packet after the greeting.
    MysqlOk,
    /// LDAP bind response.
    LdapBind,
    /// SPOP AGENT-HELLO frame.
    SpopHello,
}

/// Info text of a failed or passed expect.
#[derive(Debug, Clone)]
pub(crate) enum Msg {
    /// User tcp-check: generic "TCPCHK did not match ..." / "(tcp-check)";
    /// protocol checks: nothing.
    Default,
    /// Fixed text.
    Text(&'static str),
    /// Configured text (`on-success`/`on-error`).
    Owned(String),
    /// The response from `offset`, optionally left-trimmed of spaces, cut at
    /// the first CR/LF (and always at a NUL, as C strings are).
    Payload { offset: usize, ltrim: bool },
}

#[derive(Debug, Clone)]
pub(crate) struct Expect {
    pub negate: bool,
    pub matcher: Matcher,
    pub min_recv: Option<usize>,
    pub ok_status: Option<CheckStatus>,
    pub err_status: Option<CheckStatus>,
    pub tout_status: Option<CheckStatus>,
    pub on_error: Msg,
    pub on_success: Msg,
    /// `status-code res.payload(0,3)`: the code is the first three bytes.
    pub code_from_first3: bool,
}

impl Expect {
    fn new(matcher: Matcher) -> Self {
        Self {
            negate: false,
            matcher,
            min_recv: None,
            ok_status: None,
            err_status: None,
            tout_status: None,
            on_error: Msg::Default,
            on_success: Msg::Default,
            code_from_first3: false,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Connect { rule: ConnectRule, implicit: bool },
    Send(Vec<u8>),
    Expect(Box<Expect>),
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub action: Action,
    /// Step number as HAProxy prints it (implicit connect: 0).
    pub step: usize,
    pub comment: Option<String>,
}

/// A compiled sequence of rules.
#[derive(Debug, Clone)]
pub struct Ruleset {
    pub(crate) rules: Vec<Rule>,
    /// A user `option tcp-check` ruleset (generic messages) rather than a
    /// protocol check.
    pub(crate) user: bool,
}

/// A rule could not be compiled (bad regex).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tcp-check regex {pattern:?}: {reason}")]
pub struct RuleError {
    /// The pattern.
    pub pattern: String,
    /// The regex engine's message.
    pub reason: String,
}

fn regex(p: &str) -> Result<Regex, RuleError> {
    Regex::new(p).map_err(|e| RuleError {
        pattern: p.to_string(),
        reason: e.to_string(),
    })
}

fn user_matcher(kind: &TcpExpectKind) -> Result<Matcher, RuleError> {
    Ok(match kind {
        TcpExpectKind::String(s) | TcpExpectKind::Binary(s) => Matcher::Contains(s.clone()),
        TcpExpectKind::RString(p) => Matcher::Regex(regex(p)?),
        TcpExpectKind::RBinary(p) => Matcher::HexRegex(regex(p)?),
    })
}

/// Built-in patterns are constants, so compiling them cannot fail; this keeps
/// that proof in one place.
fn builtin(p: &str) -> Regex {
    match Regex::new(p) {
        Ok(r) => r,
        // unreachable: only called with the literal patterns of this module,
        // all covered by the `builtin_patterns_compile` test.
        Err(e) => unreachable!("built-in pattern {p:?}: {e}"),
    }
}

impl Ruleset {
    /// Compiles a user `tcp-check` sequence. An implicit connect is added when
    /// the first non-comment rule is not a connect (configuration.txt §4.2
    /// `tcp-check connect`).
    pub fn from_user(rules: &[TcpCheckRule]) -> Result<Self, RuleError> {
        let mut out = Vec::new();
        let first_real = rules
            .iter()
            .find(|r| !matches!(r, TcpCheckRule::Comment(_)));
        if !matches!(first_real, Some(TcpCheckRule::Connect(_))) {
            out.push(Rule {
                action: Action::Connect {
                    rule: ConnectRule::default(),
                    implicit: true,
                },
                step: 0,
                comment: None,
            });
        }
        let mut comment = None;
        for (i, r) in rules.iter().enumerate() {
            let action = match r {
                TcpCheckRule::Comment(c) => {
                    comment = Some(c.clone());
                    continue;
                }
                TcpCheckRule::Connect(c) => Action::Connect {
                    rule: c.clone(),
                    implicit: false,
                },
                TcpCheckRule::Send(b) | TcpCheckRule::SendBinary(b) => Action::Send(b.clone()),
                TcpCheckRule::ExpectWith(TcpExpect { negate, kind }, o) => {
                    let mut e = Expect::new(user_matcher(kind)?);
                    e.negate = *negate;
                    e.min_recv = o.min_recv;
                    e.ok_status = o.ok_status;
                    e.err_status = o.error_status;
                    e.tout_status = o.tout_status;
                    if let Some(t) = &o.on_success {
                        e.on_success = Msg::Owned(t.clone());
                    }
                    if let Some(t) = &o.on_error {
                        e.on_error = Msg::Owned(t.clone());
                    }
                    if o.comment.is_some() {
                        comment = o.comment.clone();
                    }
                    Action::Expect(Box::new(e))
                }
                TcpCheckRule::Expect(TcpExpect { negate, kind }) => {
                    let mut e = Expect::new(user_matcher(kind)?);
                    e.negate = *negate;
                    Action::Expect(Box::new(e))
                }
            };
            out.push(Rule {
                action,
                step: i + 1,
                comment: comment.take(),
            });
        }
        Ok(Self {
            rules: out,
            user: true,
        })
    }

    /// A protocol ruleset starting with an explicit connect (step 1).
    fn protocol(actions: Vec<Action>) -> Self {
        let rules = actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| Rule {
                action,
                step: i + 1,
                comment: None,
            })
            .collect();
        Self { rules, user: false }
    }

    /// `option redis-check`: sends `PING` as a RESP array, expects `+PONG`.
    pub fn redis() -> Self {
        let mut e = Expect::new(Matcher::Contains(b"+PONG\r\n".to_vec()));
        e.err_status = Some(CheckStatus::L7Sts);
        e.on_error = Msg::Payload {
            offset: 0,
            ltrim: false,
        };
        e.on_success = Msg::Text("Redis server is ok");
        Self::protocol_implicit(vec![
            Action::Send(b"*1\r\n$4\r\nPING\r\n".to_vec()),
            Action::Expect(Box::new(e)),
        ])
    }

    fn protocol_implicit(mut actions: Vec<Action>) -> Self {
        // Implicit connect has step 0, the other rules count from 1.
        let mut rules = vec![Rule {
            action: Action::Connect {
                rule: ConnectRule::default(),
                implicit: true,
            },
            step: 0,
            comment: None,
        }];
        for (i, action) in actions.drain(..).enumerate() {
            rules.push(Rule {
                action,
                step: i + 1,
                comment: None,
            });
        }
        Self { rules, user: false }
    }

    /// `option smtpchk [EHLO|HELO <domain>]` (HAProxy 2.6.12 also sends QUIT).
    pub fn smtp(hello: Option<(&str, &str)>) -> Self {
        let cmd = match hello {
            Some((verb, domain)) if verb == "EHLO" || verb == "HELO" => {
                format!("{verb} {domain}\r\n")
            }
            _ => "HELO localhost\r\n".to_string(),
        };
        let banner = {
            let mut e = Expect::new(Matcher::Regex(builtin("^[0-9]{3}[ \r]")));
            e.min_recv = Some(4);
            e.err_status = Some(CheckStatus::L7Rsp);
            e.on_error = Msg::Payload {
                offset: 0,
                ltrim: false,
            };
            e
        };
        let sts = |pat: &str, min: Option<usize>, succ: bool| {
            let mut e = Expect::new(Matcher::Regex(builtin(pat)));
            e.min_recv = min;
            e.err_status = Some(CheckStatus::L7Sts);
            e.on_error = Msg::Payload {
                offset: 4,
                ltrim: true,
            };
            if succ {
                e.on_success = Msg::Payload {
                    offset: 4,
                    ltrim: true,
                };
            }
            e.code_from_first3 = true;
            e
        };
        Self::protocol(vec![
            Action::Connect {
                rule: ConnectRule::default(),
                implicit: false,
            },
            Action::Expect(Box::new(banner)),
            Action::Expect(Box::new(sts("^2[0-9]{2}[ \r]", Some(4), false))),
            Action::Send(cmd.into_bytes()),
            Action::Expect(Box::new(sts(
                "^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]",
                None,
                true,
            ))),
            Action::Send(b"QUIT\r\n".to_vec()),
            Action::Expect(Box::new(sts("^2[0-9]{2}[- \r]", Some(4), true))),
        ])
    }

    /// `option pgsql-check user <name>`: a v3.0 StartupMessage, expecting an
    /// authentication request (`R`) and no error (`E`).
    pub fn pgsql(user: &str) -> Self {
        let mut pkt = Vec::new();
        let len = 4 + 4 + 5 + user.len() + 1 + 1;
        pkt.extend_from_slice(&(len as u32).to_be_bytes());
        pkt.extend_from_slice(&[0, 3, 0, 0]);
        pkt.extend_from_slice(b"user\0");
        pkt.extend_from_slice(user.as_bytes());
        pkt.extend_from_slice(&[0, 0]);
        let mut not_err = Expect::new(Matcher::Regex(builtin("^E")));
        not_err.negate = true;
        not_err.min_recv = Some(5);
        not_err.err_status = Some(CheckStatus::L7Rsp);
        not_err.on_error = Msg::Payload {
            offset: 6,
            ltrim: false,
        };
        let mut auth = Expect::new(Matcher::HexRegex(builtin(
            "^52000000(08|0A|0C)000000(00|02|03|04|05|06)",
        )));
        auth.min_recv = Some(9);
        auth.err_status = Some(CheckStatus::L7Sts);
        auth.on_success = Msg::Text("PostgreSQL server is ok");
        auth.on_error = Msg::Text("PostgreSQL unknown error");
        Self::protocol(vec![
            Action::Connect {
                rule: ConnectRule::default(),
                implicit: false,
            },
            Action::Send(pkt),
            Action::Expect(Box::new(not_err)),
            Action::Expect(Box::new(auth)),
        ])
    }

    /// `option mysql-check [user <name> [post-41]]`.
    pub fn mysql(user: Option<&str>, post41: bool) -> Self {
        let mut actions = vec![Action::Connect {
            rule: ConnectRule::default(),
            implicit: false,
        }];
        if let Some(user) = user {
            let mut body = Vec::new();
            if post41 {
                body.extend_from_slice(&[0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21]);
                body.extend_from_slice(&[0u8; 23]);
            } else {
                body.extend_from_slice(&[0x00, 0x80, 0x00, 0x00, 0x01]);
            }
            body.extend_from_slice(user.as_bytes());
            body.extend_from_slice(&[0x00, 0x00]);
            // the packet length counts the payload including the filler byte
            let plen = body.len();
            let mut pkt = vec![
                (plen & 0xff) as u8,
                ((plen >> 8) & 0xff) as u8,
                ((plen >> 16) & 0xff) as u8,
                1,
            ];
            pkt.extend_from_slice(&body);
            pkt.extend_from_slice(&[0x01, 0x00, 0x00, 0x00, 0x01]);
            actions.push(Action::Send(pkt));
        }
        actions.push(Action::Expect(Box::new(Expect::new(Matcher::Custom(
            Custom::MysqlGreeting,
        )))));
        if user.is_some() {
            actions.push(Action::Expect(Box::new(Expect::new(Matcher::Custom(
                Custom::MysqlOk,
            )))));
        }
        Self::protocol(actions)
    }

    /// `option ldap-check`: anonymous LDAPv3 bind request.
    pub fn ldap() -> Self {
        let req = vec![
            0x30, 0x0C, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
        ];
        let mut first = Expect::new(Matcher::HexRegex(builtin("^30")));
        first.min_recv = Some(14);
        first.on_error = Msg::Text("Not LDAPv3 protocol");
        Self::protocol_implicit(vec![
            Action::Send(req),
            Action::Expect(Box::new(first)),
            Action::Expect(Box::new(Expect::new(Matcher::Custom(Custom::LdapBind)))),
        ])
    }

    /// `option spop-check`: HAProxy's HAPROXY-HELLO frame (SPOE.txt §3.2.4), with
    /// `supported-versions "2.0"`, `max-frame-size 16380`, no capabilities and
    /// `healthcheck true`; the agent must answer an AGENT-HELLO.
    pub fn spop() -> Self {
        let mut req = vec![
            0x00, 0x00, 0x00, 0x4e, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        ];
        let mut kv = |k: &str, v: &[u8]| {
            req.push(k.len() as u8);
            req.extend_from_slice(k.as_bytes());
            req.extend_from_slice(v);
        };
        kv("supported-versions", &[0x08, 0x03, b'2', b'.', b'0']);
        kv("max-frame-size", &[0x03, 0xfc, 0xf0, 0x06]);
        kv("capabilities", &[0x08, 0x00]);
        kv("healthcheck", &[0x11]);
        let mut hello = Expect::new(Matcher::Custom(Custom::SpopHello));
        hello.min_recv = Some(4);
        Self::protocol_implicit(vec![Action::Send(req), Action::Expect(Box::new(hello))])
    }

    /// `option ssl-hello-chk`: an SSLv3 ClientHello; any handshake or alert
    /// record in reply passes (L6OK).
    pub fn ssl_hello(unix_time: u32) -> Self {
        let mut hello = vec![
            0x16, 0x03, 0x00, 0x00, 0x79, 0x01, 0x00, 0x00, 0x75, 0x03, 0x00,
        ];
        hello.extend_from_slice(&unix_time.to_be_bytes());
        hello.extend_from_slice(b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n");
        hello.push(0x00);
        hello.extend_from_slice(&[0x00, 0x4E]);
        for c in (0x01u16..=0x1B).chain(0x2F..=0x3A) {
            hello.extend_from_slice(&c.to_be_bytes());
        }
        hello.extend_from_slice(&[0x01, 0x00]);
        let mut e = Expect::new(Matcher::HexRegex(builtin("^1[56]")));
        e.min_recv = Some(5);
        e.ok_status = Some(CheckStatus::L6Ok);
        e.err_status = Some(CheckStatus::L6Rsp);
        e.tout_status = Some(CheckStatus::L6Tout);
        Self::protocol_implicit(vec![Action::Send(hello), Action::Expect(Box::new(e))])
    }
}

enum Eval {
    NeedMore,
    Continue,
    Done(CheckResult),
}

fn hex_upper(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

fn payload_text(buf: &[u8], offset: usize, ltrim: bool) -> String {
    let mut b = buf.get(offset..).unwrap_or(&[]);
    if ltrim {
        while let [b' ', rest @ ..] = b {
            b = rest;
        }
    }
    let end = b
        .iter()
        .position(|&c| c == b'\r' || c == b'\n' || c == 0)
        .unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn first3_code(buf: &[u8]) -> Option<u32> {
    std::str::from_utf8(buf.get(..3)?).ok()?.parse().ok()
}

impl Ruleset {
    fn step_text(&self, rule: Option<&Rule>) -> String {
        if !self.user {
            return String::new();
        }
        let Some(rule) = rule else {
            return " at initial connection step of tcp-check".into();
        };
        if rule.step == 0 {
            return " at initial connection step of tcp-check".into();
        }
        let mut s = format!(" at step {} of tcp-check", rule.step);
        match &rule.action {
            Action::Connect { rule: c, .. } => match c.port {
                Some(p) => s.push_str(&format!(" (connect port {p})")),
                None => s.push_str(" (connect)"),
            },
            Action::Send(_) => s.push_str(" (send)"),
            Action::Expect(e) => s.push_str(&match &e.matcher {
                Matcher::Contains(b) => {
                    format!(" (expect string '{}')", String::from_utf8_lossy(b))
                }
                Matcher::Regex(_) => " (expect regex)".into(),
                Matcher::HexRegex(_) => " (expect binary regex)".into(),
                Matcher::Custom(_) => " (expect custom function)".into(),
            }),
        }
        if let Some(c) = &rule.comment {
            s.push_str(&format!(" comment: '{c}'"));
        }
        s
    }

    fn io_failure(
        &self,
        f: IoFailure,
        rule: &Rule,
        start: Instant,
        buf_empty: bool,
    ) -> CheckResult {
        match f {
            IoFailure::Timeout => {
                let st = match &rule.action {
                    Action::Expect(e) => e.tout_status.unwrap_or(CheckStatus::L7Tout),
                    _ => CheckStatus::L7Tout,
                };
                CheckResult::new(st, start.elapsed()).with_desc(self.step_text(Some(rule)))
            }
            IoFailure::Io(e) => {
                let _ = buf_empty;
                CheckResult::new(CheckStatus::SockErr, start.elapsed()).with_desc(format!(
                    "{}{}",
                    strerror(&e),
                    self.step_text(Some(rule))
                ))
            }
        }
    }

    fn eval_expect(
        &self,
        e: &Expect,
        rule: &Rule,
        buf: &[u8],
        last_read: bool,
        is_last: bool,
        start: Instant,
    ) -> Eval {
        let fail = |status: CheckStatus, code: Option<u32>, desc: String| {
            let mut r = CheckResult::new(status, start.elapsed()).with_desc(desc);
            r.code = code;
            Eval::Done(r)
        };
        if let Matcher::Custom(c) = &e.matcher {
            return self.eval_custom(*c, buf, last_read, is_last, start);
        }
        // configuration.txt §4.2: for an exact string, the minimum of its
        // length and `min-recv` is used.
        let min_recv = match (&e.matcher, e.min_recv) {
            (Matcher::Contains(p), Some(m)) => Some(m.min(p.len())),
            (_, m) => m,
        };
        if let Some(min) = min_recv {
            if buf.len() < min && !last_read {
                return Eval::NeedMore;
            }
        }
        let matched = match &e.matcher {
            Matcher::Contains(p) => {
                !p.is_empty() && buf.windows(p.len()).any(|w| w == p.as_slice())
            }
            Matcher::Regex(r) => r.is_match(buf),
            Matcher::HexRegex(r) => r.is_match(hex_upper(buf).as_bytes()),
            Matcher::Custom(_) => false,
        };
        if !matched && !last_read && e.min_recv.is_none() {
            return Eval::NeedMore;
        }
        let code = if e.code_from_first3 {
            first3_code(buf)
        } else {
            None
        };
        if matched == e.negate {
            let status = e.err_status.unwrap_or(CheckStatus::L7Rsp);
            let mut desc = match &e.on_error {
                Msg::Text(t) => t.to_string(),
                Msg::Owned(t) => t.clone(),
                Msg::Payload { offset, ltrim } => payload_text(buf, *offset, *ltrim),
                Msg::Default if self.user => {
                    let what = if e.negate {
                        "TCPCHK matched unwanted content"
                    } else {
                        "TCPCHK did not match content"
                    };
                    let label = match &e.matcher {
                        Matcher::Contains(b) => format!(" '{}'", String::from_utf8_lossy(b)),
                        Matcher::Regex(_) => " (regex)".into(),
                        Matcher::HexRegex(_) => " (binary regex)".into(),
                        Matcher::Custom(_) => " (custom function)".into(),
                    };
                    format!("{what}{label} at step {}", rule.step)
                }
                Msg::Default => String::new(),
            };
            if let Some(c) = &rule.comment {
                desc.push_str(" comment: ");
                desc.push_str(c);
            }
            return fail(status, code, desc);
        }
        if is_last {
            let desc = match &e.on_success {
                Msg::Text(t) => t.to_string(),
                Msg::Owned(t) => t.clone(),
                Msg::Payload { offset, ltrim } => payload_text(buf, *offset, *ltrim),
                Msg::Default if self.user => "(tcp-check)".into(),
                Msg::Default => String::new(),
            };
            let mut r = CheckResult::new(e.ok_status.unwrap_or(CheckStatus::L7Ok), start.elapsed())
                .with_desc(desc);
            r.code = code;
            return Eval::Done(r);
        }
        Eval::Continue
    }

    fn eval_custom(
        &self,
        c: Custom,
        buf: &[u8],
        last_read: bool,
        is_last: bool,
        start: Instant,
    ) -> Eval {
        let done = |status: CheckStatus, code: Option<u32>, desc: String| {
            let mut r = CheckResult::new(status, start.elapsed()).with_desc(desc);
            r.code = code;
            Eval::Done(r)
        };
        let twice = |status: CheckStatus, code: Option<u32>, desc: String| {
            let mut r = CheckResult::new(status, start.elapsed()).with_desc(desc);
            r.code = code;
            Eval::Done(r.reported_twice())
        };
        let short = || {
            if last_read {
                done(CheckStatus::L7Rsp, None, String::new())
            } else {
                Eval::NeedMore
            }
        };
        match c {
            Custom::MysqlGreeting | Custom::MysqlOk => {
                let offset = if c == Custom::MysqlOk {
                    match buf.get(..3) {
                        Some(h) => {
                            4 + (h[0] as usize | (h[1] as usize) << 8 | (h[2] as usize) << 16)
                        }
                        None => return short(),
                    }
                } else {
                    0
                };
                let Some(h) = buf.get(offset..offset + 4) else {
                    return short();
                };
                let plen = h[0] as usize | (h[1] as usize) << 8 | (h[2] as usize) << 16;
                if buf.len() < offset + plen + 4 {
                    return short();
                }
                if buf.get(offset + 4) == Some(&0xff) {
                    let err = buf
                        .get(offset + 5..offset + 7)
                        .map(|e| e[0] as u32 | (e[1] as u32) << 8);
                    let desc =
                        String::from_utf8_lossy(buf.get(offset + 7..).unwrap_or(&[])).into_owned();
                    return done(CheckStatus::L7Sts, err, desc);
                }
                if !is_last {
                    return Eval::Continue;
                }
                // HAProxy reports the server version found at offset 5 of the
                // buffer, i.e. in the greeting, for both rules.
                twice(CheckStatus::L7Ok, None, payload_text(buf, 5, false))
            }
            Custom::SpopHello => {
                let Some(h) = buf.get(..4) else {
                    return short();
                };
                let size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
                if buf.len() < 4 + size && !last_read {
                    return Eval::NeedMore;
                }
                let frame = &buf[4..buf.len().min(4 + size)];
                match spop_agent_hello(frame) {
                    Ok(()) => done(CheckStatus::L7Ok, None, "SPOA server is ok".into()),
                    Err(e) => done(CheckStatus::L7Rsp, None, e.into()),
                }
            }
            Custom::LdapBind => {
                let not_ldap = || done(CheckStatus::L7Rsp, None, "Not LDAPv3 protocol".into());
                let Some(&lenb) = buf.get(1) else {
                    return short();
                };
                let mut pos = 2;
                let msglen = if lenb & 0x80 != 0 {
                    let n = (lenb & 0x7f) as usize;
                    let Some(bytes) = buf.get(2..2 + n) else {
                        return short();
                    };
                    pos += n;
                    match n {
                        4 | 2 => bytes.iter().fold(0usize, |a, &b| a << 8 | b as usize),
                        _ => return not_ldap(),
                    }
                } else {
                    lenb as usize
                };
                if buf.len() < pos + msglen {
                    return short();
                }
                if buf.get(pos..pos + 4) != Some(&[0x02, 0x01, 0x01, 0x61][..]) {
                    return not_ldap();
                }
                pos += 4;
                let Some(&sz) = buf.get(pos) else {
                    return not_ldap();
                };
                pos += 1 + if sz & 0x80 != 0 {
                    (sz & 0x7f) as usize
                } else {
                    0
                };
                if buf.get(pos..pos + 2) != Some(&[0x0a, 0x01][..]) {
                    return not_ldap();
                }
                let Some(&code) = buf.get(pos + 2) else {
                    return not_ldap();
                };
                if code != 0 {
                    return done(
                        CheckStatus::L7Sts,
                        Some(code as u32),
                        "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9".into(),
                    );
                }
                twice(CheckStatus::L7Ok, Some(0), "Success".into())
            }
        }
    }

    /// Runs the rules against `plan`'s address. Every path ends in a result;
    /// the session deadline bounds every wait.
    pub async fn run(&self, plan: &ConnectPlan, start: Instant) -> CheckResult {
        let mut session: Option<Session> = None;
        let mut must_read = false;
        let mut last: Option<&Rule> = None;
        let n = self.rules.len();
        for (i, rule) in self.rules.iter().enumerate() {
            let is_last = i + 1 == n;
            last = Some(rule);
            match &rule.action {
                Action::Connect { rule: c, .. } => {
                    if let Some(s) = session.take() {
                        s.close().await;
                    }
                    let mut p = plan.clone();
                    super::apply_connect_rule(&mut p, c);
                    let info = if rule.step == 0 && self.user {
                        " at initial connection step of tcp-check".to_string()
                    } else {
                        self.step_text(Some(rule))
                    };
                    match Session::open(&p, start, &info).await {
                        Ok(s) => session = Some(s),
                        Err(r) => return r,
                    }
                    must_read = true;
                }
                Action::Send(data) => {
                    let Some(s) = session.as_mut() else {
                        return CheckResult::new(CheckStatus::SockErr, start.elapsed());
                    };
                    if let Err(f) = s.send(data).await {
                        return self.io_failure(f, rule, start, true);
                    }
                    must_read = true;
                }
                Action::Expect(e) => {
                    let Some(s) = session.as_mut() else {
                        return CheckResult::new(CheckStatus::SockErr, start.elapsed());
                    };
                    if must_read {
                        match s.fill().await {
                            Ok(_) => {}
                            Err(f) => {
                                let empty = s.buf.is_empty();
                                return self.io_failure(f, rule, start, empty);
                            }
                        }
                        must_read = false;
                    }
                    loop {
                        if s.buf.is_empty() && s.eof {
                            let mut desc =
                                format!("TCPCHK got an empty response at step {}", rule.step);
                            if let Some(c) = &rule.comment {
                                desc.push_str(&format!(" comment: '{c}'"));
                            }
                            return CheckResult::new(
                                e.err_status.unwrap_or(CheckStatus::L7Rsp),
                                start.elapsed(),
                            )
                            .with_desc(desc);
                        }
                        match self.eval_expect(e, rule, &s.buf, s.last_read(), is_last, start) {
                            Eval::Done(r) => {
                                if let Some(s) = session.take() {
                                    s.close().await;
                                }
                                return r;
                            }
                            Eval::Continue => break,
                            Eval::NeedMore => {
                                if let Err(f) = s.fill().await {
                                    let empty = s.buf.is_empty();
                                    return self.io_failure(f, rule, start, empty);
                                }
                            }
                        }
                    }
                }
            }
        }
        let tls = session.as_ref().is_some_and(|s| s.tls);
        if let Some(s) = session.take() {
            s.close().await;
        }
        match last.map(|r| &r.action) {
            Some(Action::Connect { implicit, .. }) => {
                let st = if tls {
                    CheckStatus::L6Ok
                } else {
                    CheckStatus::L4Ok
                };
                let r = CheckResult::new(st, start.elapsed());
                if *implicit {
                    r
                } else {
                    r.with_desc("(tcp-check)")
                }
            }
            _ => CheckResult::new(CheckStatus::L7Ok, start.elapsed()).with_desc("(tcp-check)"),
        }
    }
}

/// SPOP's variable-length integer (SPOE.txt §3.1): below 240 one byte, else
/// continuation bytes while the high bit is set.
fn spop_varint(b: &[u8], p: &mut usize) -> Option<u64> {
    let first = *b.get(*p)?;
    *p += 1;
    let mut v = u64::from(first);
    if first < 240 {
        return Some(v);
    }
    let mut shift = 4u32;
    loop {
        let c = *b.get(*p)?;
        *p += 1;
        v = v.checked_add(u64::from(c).checked_shl(shift)?)?;
        shift += 7;
        if c < 128 || shift > 63 {
            return Some(v);
        }
    }
}

/// An AGENT-HELLO frame (without its length), as HAProxy's
/// spoe_handle_healthcheck_response() judges it: the error texts are HAProxy's.
/// Items are read up to the first that cannot be decoded.
fn spop_agent_hello(f: &[u8]) -> Result<(), &'static str> {
    if f.len() < 7 {
        return Err("invalid frame received");
    }
    if f[0] != 0x65 && f[0] != 0x66 {
        return Err("unexpected frame type");
    }
    if u32::from_be_bytes([f[1], f[2], f[3], f[4]]) & 1 == 0 {
        return Err("fragmentation not supported");
    }
    if f[5] != 0 || f[6] != 0 {
        return Err("invalid stream-id or frame-id");
    }
    if f[0] == 0x66 {
        return Err("agent disconnected");
    }
    let (mut p, mut version, mut max_frame) = (7usize, None, None);
    while p < f.len() {
        let Some(klen) = spop_varint(f, &mut p) else {
            break;
        };
        let Some(key) = f.get(p..p + klen as usize) else {
            break;
        };
        p += klen as usize;
        let Some(&ty) = f.get(p) else { break };
        p += 1;
        match (key, ty & 0x0f) {
            (b"version", 8) => {
                let Some(n) = spop_varint(f, &mut p) else {
                    break;
                };
                let Some(v) = f.get(p..p + n as usize) else {
                    break;
                };
                p += n as usize;
                version = Some(v.to_vec());
            }
            (b"version", _) => return Err("invalid version"),
            (b"max-frame-size", 2..=5) => max_frame = spop_varint(f, &mut p),
            (b"max-frame-size", _) => return Err("invalid max-frame-size"),
            // Skip the value: strings and binaries carry a length, numbers are
            // varints, booleans and null have none.
            (_, 8 | 9) => {
                let Some(n) = spop_varint(f, &mut p) else {
                    break;
                };
                p += n as usize;
            }
            (_, 2..=5) if spop_varint(f, &mut p).is_none() => break,
            (_, 2..=5) => {}
            (_, 6) => p += 4,
            (_, 7) => p += 16,
            _ => {}
        }
    }
    match version.as_deref() {
        None => Err("missing version"),
        // HAProxy 2.6 speaks SPOP 2.0 only.
        Some(v) if v.starts_with(b"2.0") => match max_frame {
            Some(_) => Ok(()),
            None => Err("missing max-frame-size"),
        },
        Some(_) => Err("unsupported version"),
    }
}

#[cfg(test)]
mod tests {

    fn unhex(h: &str) -> Vec<u8> {
        let h: String = h.chars().filter(|c| !c.is_whitespace()).collect();
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn spop_agent_hello_as_haproxy_judges_it() {
        // The frames of HAProxy's reg-test checks/spop-check.vtc, without length.
        let ok = unhex("65 00000001 0000 0776657273696F6E 0803322E30 0E6D61782D6672616D652D73697A65 03FCF0 0C6361706162696C6974696573 0800");
        assert_eq!(spop_agent_hello(&ok), Ok(()));
        assert_eq!(spop_agent_hello(&[]), Err("invalid frame received"));
        assert_eq!(
            spop_agent_hello(&unhex("65 00000000 0000")),
            Err("fragmentation not supported")
        );
        let v1 = unhex("65 00000001 0000 0776657273696F6E 0803312E30");
        assert_eq!(spop_agent_hello(&v1), Err("unsupported version"));
        assert_eq!(
            spop_agent_hello(&unhex("65 00000001 0000")),
            Err("missing version")
        );
        // The request is HAProxy's 82 bytes, its length field says 78.
        let Action::Send(req) = &Ruleset::spop().rules[1].action else {
            panic!("send first")
        };
        assert_eq!((req.len(), &req[..4]), (82, &[0u8, 0, 0, 0x4e][..]));
    }

    use super::*;

    #[test]
    fn builtin_patterns_compile() {
        let _ = Ruleset::smtp(None);
        let _ = Ruleset::pgsql("u");
        let _ = Ruleset::ldap();
        let _ = Ruleset::ssl_hello(0);
        let _ = Ruleset::redis();
        let _ = Ruleset::mysql(Some("u"), true);
    }

    #[test]
    fn pgsql_startup_packet_matches_haproxy() {
        // Captured from HAProxy 2.6.12 with `option pgsql-check user haproxy`.
        let rs = Ruleset::pgsql("haproxy");
        let Action::Send(pkt) = &rs.rules[1].action else {
            panic!("send expected")
        };
        assert_eq!(
            pkt.as_slice(),
            b"\x00\x00\x00\x16\x00\x03\x00\x00user\x00haproxy\x00\x00"
        );
    }

    #[test]
    fn ssl_hello_is_126_bytes() {
        let rs = Ruleset::ssl_hello(0x01020304);
        let Action::Send(pkt) = &rs.rules[1].action else {
            panic!("send expected")
        };
        assert_eq!(pkt.len(), 5 + 0x79);
        assert_eq!(&pkt[11..15], &[1, 2, 3, 4]);
    }

    #[test]
    fn user_steps_and_implicit_connect() {
        let rs = Ruleset::from_user(&[
            TcpCheckRule::Send(b"PING\r\n".to_vec()),
            TcpCheckRule::Expect(TcpExpect {
                negate: false,
                kind: TcpExpectKind::String(b"+PONG".to_vec()),
            }),
        ])
        .unwrap();
        assert_eq!(
            rs.rules.iter().map(|r| r.step).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let rs = Ruleset::from_user(&[
            TcpCheckRule::Comment("hello".into()),
            TcpCheckRule::Connect(ConnectRule::default()),
            TcpCheckRule::Send(b"PING\r\n".to_vec()),
        ])
        .unwrap();
        assert_eq!(rs.rules.iter().map(|r| r.step).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(rs.rules[0].comment.as_deref(), Some("hello"));
        assert!(Ruleset::from_user(&[TcpCheckRule::Expect(TcpExpect {
            negate: false,
            kind: TcpExpectKind::RString("(".into())
        })])
        .is_err());
    }

    #[test]
    fn payload_text_cuts() {
        assert_eq!(
            payload_text(b"554 no service here\r\n", 4, true),
            "no service here"
        );
        assert_eq!(
            payload_text(b"E\0\0\0\x2aSFATAL\0C28000", 6, false),
            "FATAL"
        );
        assert_eq!(hex_upper(&[0x52, 0x0a]), "520A");
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// The protocol parsers (MySQL packets, LDAP BER) never panic on
            /// arbitrary input, whatever the read state.
            #[test]
            fn custom_parsers_never_panic(buf in prop::collection::vec(any::<u8>(), 0..300), last in any::<bool>(), is_last in any::<bool>()) {
                let rs = Ruleset::ldap();
                for c in [Custom::MysqlGreeting, Custom::MysqlOk, Custom::LdapBind] {
                    match rs.eval_custom(c, &buf, last, is_last, Instant::now()) {
                        Eval::NeedMore => prop_assert!(!last),
                        Eval::Continue | Eval::Done(_) => {}
                    }
                }
            }

            /// Payload texts never panic and never contain a line end.
            #[test]
            fn payload_text_is_one_line(buf in prop::collection::vec(any::<u8>(), 0..100), off in 0usize..120, trim in any::<bool>()) {
                let t = payload_text(&buf, off, trim);
                prop_assert!(!t.contains('\r') && !t.contains('\n'));
            }
        }
    }
}
