//! The SPOE configuration file of a `filter spoe [engine <name>] config <file>`
//! line (configuration.txt §9.3 "Stream Processing Offload Engine"; doc/SPOE.txt
//! §2 "SPOE configuration"): `[<engine>]` scopes, one `spoe-agent`,
//! `spoe-message` and `spoe-group` sections, typed here with HAProxy 2.6's
//! `flt_spoe.c` words for what it refuses. The file is read when the `filter`
//! line is parsed (as HAProxy does); the references to the HAProxy configuration
//! (the agent's backend, `send-spoe-group` engines and groups) are checked after
//! parsing, by [`check_references`].

use std::collections::BTreeSet;
use std::time::Duration;

use haproxide_expr::{AclSet, Cond, Opts, SampleExpr};

use crate::lexer::{split_line, Env};
use crate::model::Config;

/// SPOE events (SPOE.txt §3.3), in the order a stream meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpoeEvent {
    ClientSession,
    FrontendTcpRequest,
    BackendTcpRequest,
    ServerSession,
    TcpResponse,
    FrontendHttpRequest,
    BackendHttpRequest,
    HttpResponse,
}

impl SpoeEvent {
    pub const ALL: [SpoeEvent; 8] = [
        SpoeEvent::ClientSession,
        SpoeEvent::FrontendTcpRequest,
        SpoeEvent::BackendTcpRequest,
        SpoeEvent::ServerSession,
        SpoeEvent::TcpResponse,
        SpoeEvent::FrontendHttpRequest,
        SpoeEvent::BackendHttpRequest,
        SpoeEvent::HttpResponse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SpoeEvent::ClientSession => "on-client-session",
            SpoeEvent::FrontendTcpRequest => "on-frontend-tcp-request",
            SpoeEvent::BackendTcpRequest => "on-backend-tcp-request",
            SpoeEvent::ServerSession => "on-server-session",
            SpoeEvent::TcpResponse => "on-tcp-response",
            SpoeEvent::FrontendHttpRequest => "on-frontend-http-request",
            SpoeEvent::BackendHttpRequest => "on-backend-http-request",
            SpoeEvent::HttpResponse => "on-http-response",
        }
    }

    pub fn from_name(s: &str) -> Option<SpoeEvent> {
        SpoeEvent::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// A `spoe-message` section.
#[derive(Debug, Clone)]
pub struct SpoeMessageCfg {
    pub name: String,
    /// `args [name=]<sample> ...`: (name, possibly empty; expression).
    pub args: Vec<(String, SampleExpr)>,
    /// `event <name> [if|unless <cond>]`; `None` for a message sent by a group.
    pub event: Option<SpoeEvent>,
    pub cond: Option<Cond>,
    /// file:line of the section, for messages.
    pub at: String,
}

/// A `spoe-group` section: its messages (indexes into [`SpoeConf::messages`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoeGroupCfg {
    pub name: String,
    pub messages: Vec<usize>,
}

/// The `spoe-agent` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoeAgentCfg {
    pub name: String,
    /// file:line of the section.
    pub at: String,
    pub backend: Option<String>,
    pub var_prefix: String,
    pub set_on_error: Option<String>,
    pub set_process_time: Option<String>,
    pub set_total_time: Option<String>,
    pub continue_on_error: bool,
    pub force_set_var: bool,
    pub async_: bool,
    pub pipelining: bool,
    pub send_frag_payload: bool,
    pub dontlog_normal: bool,
    pub max_frame_size: u32,
    pub max_waiting_frames: u32,
    pub maxconnrate: u32,
    pub maxerrrate: u32,
    pub timeout_hello: Option<Duration>,
    pub timeout_idle: Option<Duration>,
    pub timeout_processing: Option<Duration>,
    /// `register-var-names`, without scope or prefix.
    pub register_var_names: Vec<String>,
}

/// One `filter spoe` line, its file read and typed.
#[derive(Debug, Clone)]
pub struct SpoeConf {
    /// Warnings HAProxy gives while reading it, without the `Proxy '<name>': `
    /// prefix.
    pub warnings: Vec<String>,
    /// The engine name (`engine <name>`, else the agent's name).
    pub engine_id: String,
    pub file: String,
    pub agent: SpoeAgentCfg,
    /// The messages the agent uses: its `messages` ones (with an event), then
    /// those of its groups.
    pub messages: Vec<SpoeMessageCfg>,
    pub groups: Vec<SpoeGroupCfg>,
}

/// HAProxy's default `tune.bufsize` (16384) less the 4-byte frame length.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16380;

/// Why a SPOE file cannot be used: the messages `haproxy -c` prints, each
/// whole (with its own location), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoeError {
    /// Warnings given before the error (HAProxy's "missing timeouts").
    pub warnings: Vec<String>,
    /// Messages located inside the SPOE file (`parsing [file:line]...`).
    pub inner: Vec<String>,
    /// The message HAProxy gives on the `filter` line.
    pub filter: String,
}

fn var_name_ok(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

#[derive(Default)]
struct RawMsg {
    name: String,
    at: String,
    line: usize,
    args: Vec<(String, SampleExpr)>,
    event: Option<SpoeEvent>,
    cond: Option<Cond>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sect {
    None,
    Agent,
    Message,
    Group,
}

/// Reads and types `file` for `engine` (HAProxy's `parse_spoe_flt`).
pub fn load(
    file: &str,
    engine: Option<&str>,
    env: &dyn Env,
    opts: &Opts<'_>,
) -> Result<SpoeConf, SpoeError> {
    let fail = |filter: String| SpoeError {
        warnings: Vec::new(),
        inner: Vec::new(),
        filter,
    };
    let bytes = std::fs::read(file).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
            _ => e.to_string(),
        };
        fail(format!("Could not open configuration file {file} : {why}"))
    })?;
    parse_text(file, &bytes, engine, env, opts)
}

/// Types the text of a SPOE file (see [`load`]).
pub fn parse_text(
    file: &str,
    bytes: &[u8],
    engine: Option<&str>,
    env: &dyn Env,
    opts: &Opts<'_>,
) -> Result<SpoeConf, SpoeError> {
    let mut errs: Vec<String> = Vec::new();
    let mut in_scope = engine.is_none();
    let mut sect = Sect::None;
    let mut agent: Option<SpoeAgentCfg> = None;
    let mut agent_groups: Vec<(String, usize)> = Vec::new();
    let mut agent_msgs: Vec<(String, usize)> = Vec::new();
    let mut msgs: Vec<RawMsg> = Vec::new();
    let mut acls = AclSet::new();
    let mut groups: Vec<(String, Vec<String>, usize)> = Vec::new();
    for (ln0, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let ln = ln0 + 1;
        let at = format!("{file}:{ln}");
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let trimmed: Vec<u8> = raw
            .iter()
            .copied()
            .skip_while(u8::is_ascii_whitespace)
            .collect();
        // `[<name>]`: a scope (HAProxy: a line starting with '[').
        if trimmed.first() == Some(&b'[') {
            let end = trimmed.iter().position(|&b| b == b']');
            let Some(end) = end else {
                errs.push(format!("parsing [{at}] : missing ']' in scope name."));
                continue;
            };
            let name = String::from_utf8_lossy(&trimmed[1..end]).to_string();
            in_scope = engine == Some(name.as_str());
            sect = Sect::None;
            continue;
        }
        let words = match split_line(raw, env) {
            Ok(w) => w,
            Err(_) => {
                if in_scope {
                    errs.push(format!("parsing [{at}] : syntax error in the line."));
                }
                continue;
            }
        };
        let w: Vec<String> = words.into_iter().map(|w| w.into_text()).collect();
        if w.is_empty() || !in_scope {
            continue;
        }
        let arg = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
        match arg(0) {
            "spoe-agent" => {
                if agent.is_some() {
                    errs.push(format!(
                        "parsing [{at}] : another spoe-agent section previously defined."
                    ));
                    sect = Sect::None;
                    continue;
                }
                if arg(1).is_empty() {
                    errs.push(format!(
                        "parsing [{at}] : missing name for spoe-agent section."
                    ));
                    continue;
                }
                sect = Sect::Agent;
                agent = Some(SpoeAgentCfg {
                    name: arg(1).to_string(),
                    at: at.clone(),
                    backend: None,
                    var_prefix: arg(1).to_string(),
                    set_on_error: None,
                    set_process_time: None,
                    set_total_time: None,
                    continue_on_error: false,
                    force_set_var: false,
                    async_: true,
                    pipelining: true,
                    send_frag_payload: true,
                    dontlog_normal: false,
                    max_frame_size: DEFAULT_MAX_FRAME_SIZE,
                    max_waiting_frames: 20,
                    maxconnrate: 0,
                    maxerrrate: 0,
                    timeout_hello: None,
                    timeout_idle: None,
                    timeout_processing: None,
                    register_var_names: Vec::new(),
                });
                continue;
            }
            "spoe-message" => {
                if arg(1).is_empty() {
                    errs.push(format!(
                        "parsing [{at}] : missing name for spoe-message section."
                    ));
                    continue;
                }
                if let Some(m) = msgs.iter().find(|m| m.name == arg(1)) {
                    errs.push(format!(
                        "parsing [{at}] : spoe-message section '{}' has the same name as another spoe-message section declared at {}.",
                        arg(1),
                        m.at.rsplit(':').next().unwrap_or("")
                    ));
                    sect = Sect::None;
                    continue;
                }
                sect = Sect::Message;
                acls = AclSet::new();
                msgs.push(RawMsg {
                    name: arg(1).to_string(),
                    at: at.clone(),
                    line: ln,
                    ..RawMsg::default()
                });
                continue;
            }
            "spoe-group" => {
                if arg(1).is_empty() {
                    errs.push(format!(
                        "parsing [{at}] : missing name for spoe-group section."
                    ));
                    continue;
                }
                sect = Sect::Group;
                groups.push((arg(1).to_string(), Vec::new(), ln));
                continue;
            }
            _ => {}
        }
        match sect {
            Sect::None => errs.push(format!(
                "parsing [{at}] : unknown keyword '{}' out of section.",
                arg(0)
            )),
            Sect::Agent => {
                if let Some(a) = agent.as_mut() {
                    agent_line(
                        a,
                        &w,
                        &at,
                        ln,
                        &mut errs,
                        &mut agent_msgs,
                        &mut agent_groups,
                    );
                }
            }
            Sect::Message => {
                if let Some(m) = msgs.last_mut() {
                    message_line(m, &w, &at, &mut acls, opts, &mut errs);
                }
            }
            Sect::Group => match arg(0) {
                "messages" => {
                    if let Some(g) = groups.last_mut() {
                        g.1.extend(w[1..].iter().cloned());
                    }
                }
                k => errs.push(format!(
                    "parsing [{at}] : unknown keyword '{k}' in spoe-group section."
                )),
            },
        }
    }
    if !errs.is_empty() {
        return Err(SpoeError {
            warnings: Vec::new(),
            inner: errs,
            filter: format!("Error(s) found in configuration file {file}"),
        });
    }
    let mut warnings = Vec::new();
    let Some(agent) = agent else {
        return Err(SpoeError {
            warnings,
            inner: Vec::new(),
            filter: format!("No SPOE agent found in file {file}"),
        });
    };
    if agent.backend.is_none() {
        return Err(SpoeError {
            warnings,
            inner: Vec::new(),
            filter: format!(
                "No backend declared for SPOE agent '{}' declared at {}",
                agent.name, agent.at
            ),
        });
    }
    if agent.timeout_hello.is_none()
        || agent.timeout_idle.is_none()
        || agent.timeout_processing.is_none()
    {
        warnings.push(format!(
            "missing timeouts for SPOE agent '{}' declare at {}.\n\
             While not properly invalid, you will certainly encounter various problems\n\
             with such a configuration. To fix this, please ensure that all following\n\
             timeouts are set to a non-zero value: 'hello', 'idle', 'processing'.",
            agent.name, agent.at
        ));
    }
    if agent_msgs.is_empty() && agent_groups.is_empty() {
        warnings.push(format!(
            "No message/group used by SPOE agent '{}' declared at {}.",
            agent.name, agent.at
        ));
    }
    let fail = |filter: String| SpoeError {
        warnings: warnings.clone(),
        inner: Vec::new(),
        filter,
    };
    // The agent's messages (those with an event), then its groups' messages.
    let mut out_msgs: Vec<SpoeMessageCfg> = Vec::new();
    let take = |m: &RawMsg| SpoeMessageCfg {
        name: m.name.clone(),
        args: m.args.clone(),
        event: m.event,
        cond: m.cond.clone(),
        at: m.at.clone(),
    };
    for (name, _) in &agent_msgs {
        let Some(m) = msgs.iter().find(|m| &m.name == name) else {
            return Err(fail(format!(
                "SPOE agent '{}' try to use undefined SPOE message '{name}' at {}",
                agent.name, agent.at
            )));
        };
        if m.event.is_none() {
            return Err(fail(format!(
                "SPOE message '{name}' used by SPOE agent '{}' at {} but it has no event",
                agent.name,
                format_args!("{file}:{}", m.line)
            )));
        }
        if !out_msgs.iter().any(|o| &o.name == name) {
            out_msgs.push(take(m));
        }
    }
    let mut out_groups: Vec<SpoeGroupCfg> = Vec::new();
    for (gname, _) in &agent_groups {
        let Some((_, gm, _)) = groups.iter().find(|g| &g.0 == gname) else {
            return Err(fail(format!(
                "SPOE agent '{}' try to use undefined SPOE group '{gname}' at {}",
                agent.name, agent.at
            )));
        };
        let mut idx = Vec::new();
        for mname in gm {
            let Some(m) = msgs.iter().find(|m| &m.name == mname) else {
                return Err(fail(format!(
                    "SPOE group '{gname}' try to use undefined SPOE message '{mname}' at {file}"
                )));
            };
            let i = match out_msgs.iter().position(|o| &o.name == mname) {
                Some(i) => i,
                None => {
                    let mut c = take(m);
                    // Messages of a group are sent by rules, not on an event.
                    c.event = None;
                    c.cond = None;
                    out_msgs.push(c);
                    out_msgs.len() - 1
                }
            };
            idx.push(i);
        }
        if !out_groups.iter().any(|g| &g.name == gname) {
            out_groups.push(SpoeGroupCfg {
                name: gname.clone(),
                messages: idx,
            });
        }
    }
    Ok(SpoeConf {
        warnings,
        engine_id: engine.map_or_else(|| agent.name.clone(), str::to_string),
        file: file.to_string(),
        agent,
        messages: out_msgs,
        groups: out_groups,
    })
}

fn parse_ms(s: &str) -> Result<Duration, String> {
    match crate::value::parse_time(s, 1) {
        Ok(m) => Ok(Duration::from_millis(m.0)),
        Err(crate::value::TimeError::UnexpectedChar(c)) => Err(c.to_string()),
        Err(_) => Err(s.chars().next().unwrap_or(' ').to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
fn agent_line(
    a: &mut SpoeAgentCfg,
    w: &[String],
    at: &str,
    ln: usize,
    errs: &mut Vec<String>,
    msgs: &mut Vec<(String, usize)>,
    groups: &mut Vec<(String, usize)>,
) {
    let arg = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    let posint = |errs: &mut Vec<String>, kw: &str| -> Option<u32> {
        match arg(1).parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errs.push(format!(
                    "parsing [{at}] : '{kw}' expects a positive integer argument."
                ));
                None
            }
        }
    };
    match arg(0) {
        "messages" => msgs.extend(w[1..].iter().map(|m| (m.clone(), ln))),
        "groups" => groups.extend(w[1..].iter().map(|g| (g.clone(), ln))),
        "use-backend" => {
            if arg(1).is_empty() {
                errs.push(format!("parsing [{at}] : '{}' expects a backend name.", arg(0)));
            } else {
                a.backend = Some(arg(1).to_string());
            }
        }
        "timeout" => {
            let which = arg(1);
            if !matches!(which, "hello" | "idle" | "processing") {
                errs.push(format!(
                    "parsing [{at}] : 'timeout' supports 'hello', 'idle' or 'processing' (got {which})."
                ));
                return;
            }
            if arg(2).is_empty() {
                errs.push(format!("parsing [{at}] : 'timeout {which}' expects an integer value (in milliseconds)."));
                return;
            }
            match parse_ms(arg(2)) {
                Ok(d) => {
                    let slot = match which {
                        "hello" => &mut a.timeout_hello,
                        "idle" => &mut a.timeout_idle,
                        _ => &mut a.timeout_processing,
                    };
                    *slot = Some(d);
                }
                Err(c) => errs.push(format!("parsing [{at}] : unexpected character '{c}' in 'timeout {which}'.")),
            }
        }
        "max-frame-size" => match arg(1).parse::<u32>() {
            Ok(n) if (256..=DEFAULT_MAX_FRAME_SIZE).contains(&n) => a.max_frame_size = n,
            _ => errs.push(format!(
                "parsing [{at}] : '{}' expects a positive integer argument in the range [256, {DEFAULT_MAX_FRAME_SIZE}].",
                arg(0)
            )),
        },
        "max-waiting-frames" => {
            if let Some(n) = posint(errs, "max-waiting-frames") {
                a.max_waiting_frames = n;
            }
        }
        "maxconnrate" => {
            if let Some(n) = posint(errs, "maxconnrate") {
                a.maxconnrate = n;
            }
        }
        "maxerrrate" => {
            if let Some(n) = posint(errs, "maxerrrate") {
                a.maxerrrate = n;
            }
        }
        "register-var-names" => {
            if w.len() < 2 {
                errs.push(format!("parsing [{at}] : '{}' expects one or more variable names.", arg(0)));
            }
            a.register_var_names.extend(w[1..].iter().cloned());
        }
        "log" => {}
        "no" if arg(1) == "log" => {}
        "option" | "no" => {
            let neg = arg(0) == "no";
            let (opt, val) = if neg { (arg(2), arg(3)) } else { (arg(1), arg(2)) };
            if neg && arg(1) != "option" {
                errs.push(format!("parsing [{at}] : unknown keyword '{}' in spoe-agent section.", arg(0)));
                return;
            }
            match opt {
                "pipelining" => a.pipelining = !neg,
                "async" => a.async_ = !neg,
                "send-frag-payload" => a.send_frag_payload = !neg,
                "dontlog-normal" => a.dontlog_normal = !neg,
                "continue-on-error" | "force-set-var" | "var-prefix" | "set-on-error" | "set-process-time" | "set-total-time"
                    if neg =>
                {
                    errs.push(format!("parsing [{at}]: negation is not supported for option '{opt}'."));
                }
                "continue-on-error" => a.continue_on_error = true,
                "force-set-var" => a.force_set_var = true,
                "var-prefix" | "set-on-error" | "set-process-time" | "set-total-time" => {
                    if val.is_empty() {
                        errs.push(format!("parsing [{at}]: 'option {opt}' expects a value."));
                        return;
                    }
                    if !var_name_ok(val) {
                        errs.push(format!("parsing [{at}]: 'option {opt}' only supports [a-zA-Z0-9_.] chars."));
                        return;
                    }
                    let v = Some(val.to_string());
                    match opt {
                        "var-prefix" => a.var_prefix = val.to_string(),
                        "set-on-error" => a.set_on_error = v,
                        "set-process-time" => a.set_process_time = v,
                        _ => a.set_total_time = v,
                    }
                }
                o => errs.push(format!("parsing [{at}]: option '{o}' is not supported.")),
            }
        }
        k => errs.push(format!("parsing [{at}] : unknown keyword '{k}' in spoe-agent section.")),
    }
}

fn message_line(
    m: &mut RawMsg,
    w: &[String],
    at: &str,
    acls: &mut AclSet,
    opts: &Opts<'_>,
    errs: &mut Vec<String>,
) {
    let arg = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    match arg(0) {
        "args" => {
            for a in &w[1..] {
                let (name, expr) = match a.split_once('=') {
                    Some((n, e)) => (n.to_string(), e),
                    None => (String::new(), a.as_str()),
                };
                match SampleExpr::parse_with(expr, opts) {
                    Ok(e) => m.args.push((name, e)),
                    Err(e) => {
                        errs.push(format!("parsing [{at}] : 'args': {}.", e.message));
                        return;
                    }
                }
            }
        }
        "acl" => {
            let words: Vec<&str> = w[2..].iter().map(String::as_str).collect();
            if arg(1).is_empty() {
                errs.push(format!("parsing [{at}] : missing ACL name."));
                return;
            }
            if let Err(e) = acls.add_line(arg(1), &words, opts) {
                errs.push(format!(
                    "parsing [{at}] : error detected while parsing ACL '{}' : {}.",
                    arg(1),
                    e.message
                ));
            }
        }
        "event" => {
            if arg(1).is_empty() {
                errs.push(format!("parsing [{at}] : missing event name."));
                return;
            }
            let Some(ev) = SpoeEvent::from_name(arg(1)) else {
                errs.push(format!("parsing [{at}] : unknown event '{}'.", arg(1)));
                return;
            };
            m.event = Some(ev);
            if matches!(arg(2), "if" | "unless") {
                let words: Vec<&str> = w[2..].iter().map(String::as_str).collect();
                match Cond::parse(&words, acls, opts) {
                    Ok(c) => m.cond = Some(c),
                    Err(e) => errs.push(format!(
                        "parsing [{at}] : error detected while parsing an 'event {}' condition : {}.",
                        arg(1),
                        e.message
                    )),
                }
            } else if !arg(2).is_empty() {
                errs.push(format!(
                    "parsing [{at}] : expects 'if', 'unless' or nothing after the event name, found '{}'.",
                    arg(2)
                ));
            }
        }
        k => errs.push(format!(
            "parsing [{at}] : unknown keyword '{k}' in spoe-message section."
        )),
    }
}

/// A post-parse finding on SPOE filters: HAProxy's text (no location) and
/// whether it is an error (else a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoeFinding {
    pub proxy: usize,
    pub error: bool,
    pub text: String,
}

/// HAProxy's post-parse checks of SPOE filters (`spoe_check`, and
/// `check_send_spoe_group`): the agent's backend exists, every
/// `send-spoe-group <engine> <group>` names an engine of its proxy and a group
/// of it.
pub fn check_references(cfg: &Config) -> Vec<SpoeFinding> {
    let mut out = Vec::new();
    for (pi, p) in cfg.proxies.iter().enumerate() {
        for r in p
            .rules
            .iter()
            .filter(|r| r.action.name == "send-spoe-group")
        {
            let (eng, grp) = (
                r.args.first().map(String::as_str).unwrap_or(""),
                r.args.get(1).map(String::as_str).unwrap_or(""),
            );
            let text = match p.spoe.iter().find(|f| f.conf.engine_id == eng) {
                None => Some(format!(
                    "Proxy '{}': unable to find SPOE engine '{eng}' used by the send-spoe-group '{grp}'.",
                    p.name.name
                )),
                Some(f) if !f.conf.groups.iter().any(|g| g.name == grp) => Some(format!(
                    "Proxy '{}': unable to find SPOE group '{grp}' into SPOE engine '{eng}' configuration.",
                    p.name.name
                )),
                Some(_) => None,
            };
            if let Some(text) = text {
                out.push(SpoeFinding {
                    proxy: pi,
                    error: true,
                    text,
                });
            }
        }
        for f in &p.spoe {
            let a = &f.conf.agent;
            let be = a.backend.as_deref().unwrap_or("");
            let found = cfg.proxies.iter().any(|q| {
                q.kind.has_backend()
                    && q.kind != crate::model::ProxyKind::Defaults
                    && q.name.name == be
            });
            if !found {
                out.push(SpoeFinding {
                    proxy: pi,
                    error: true,
                    text: format!(
                        "Proxy {} : unknown backend '{be}' used by SPOE agent '{}' declared at {}.",
                        p.name.name, a.name, a.at
                    ),
                });
            }
        }
    }
    out
}

/// A `filter spoe` line of a proxy, typed.
#[derive(Debug, Clone)]
pub struct SpoeFilter {
    /// The `filter` line.
    pub span: crate::source::Span,
    pub conf: SpoeConf,
}

/// Variable names the configuration mentions (`var(<name>)`, `set-var(<name>)`,
/// `unset-var(<name>)`, `set-var-fmt(<name>)`, in any line or SPOE argument):
/// an agent may set only these, its `register-var-names` and, with
/// `option force-set-var`, any (SPOE.txt `option force-set-var`: HAProxy
/// registers only known names, so a rogue agent cannot create variables).
pub fn referenced_vars(cfg: &Config) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let scan = |s: &str, out: &mut BTreeSet<String>| {
        for pat in ["var(", "set-var(", "unset-var(", "set-var-fmt("] {
            let mut rest = s;
            while let Some(i) = rest.find(pat) {
                let tail = &rest[i + pat.len()..];
                let end = tail.find([')', ',']).unwrap_or(tail.len());
                let name = tail[..end].trim();
                if !name.is_empty() {
                    out.insert(name.to_string());
                }
                rest = tail;
            }
        }
    };
    for p in &cfg.proxies {
        for d in &p.directives {
            for w in &d.line.words {
                scan(&w.text, &mut out);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
