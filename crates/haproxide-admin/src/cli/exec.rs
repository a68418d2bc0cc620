//! A CLI session: HAProxy's line protocol (one command per connection unless
//! `prompt`, `;`-separated commands, `quit`), levels, and the commands.

use super::stat::{self, StatFilter};
use super::{
    help, AdminState, FrontendAction, HealthOp, Level, ProxySnapshot, RuntimeState, ServerAction,
};

const DENIED: &str = "Permission denied\n";
const REQUIRE_BS: &str = "Require 'backend/server'.\n";

/// What a session does after a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Bytes to send.
    pub output: String,
    /// Close the connection after sending.
    pub close: bool,
}

/// One client connection's CLI state.
pub struct Session<'a> {
    state: &'a dyn RuntimeState,
    level: Level,
    /// The listener's level (`stats socket ... level`): what `show table`
    /// dumps depends on it, not on `user`/`operator` (HAProxy 2.6.12).
    bind_level: Level,
    interactive: bool,
    /// The payload (`<<` ... empty line) of the command being run.
    payload: Option<String>,
    /// `experimental-mode on` (`set var` needs it).
    experimental: bool,
}

/// Splits a line into commands on unescaped `;`, and each command into words on
/// blanks; `\` escapes the next character (as HAProxy's CLI does).
pub fn split_commands(line: &str) -> Vec<Vec<String>> {
    let mut cmds = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    word.push(n);
                    in_word = true;
                }
            }
            ';' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                cmds.push(std::mem::take(&mut words));
            }
            ' ' | '\t' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    cmds.push(words);
    cmds
}

/// The commands of one received line, run one by one with [`Session::next`].
pub struct Commands {
    cmds: std::iter::Enumerate<std::vec::IntoIter<Vec<String>>>,
    n: usize,
    payload: Option<String>,
}

impl Commands {
    pub fn new(line: &str) -> Commands {
        let cmds = split_commands(line);
        Commands {
            n: cmds.len(),
            cmds: cmds.into_iter().enumerate(),
            payload: None,
        }
    }

    /// A line that ended with `<<` (management.txt §9.2 "payload"): `payload` is
    /// the lines that followed, up to the empty line, each with its newline; the
    /// line's last command receives it (`set ssl cert <file> <<`).
    pub fn with_payload(line: &str, payload: String) -> Commands {
        Commands {
            payload: Some(payload),
            ..Commands::new(line)
        }
    }
}

/// Whether a received line announces a payload (ends with `<<`, HAProxy's
/// PAYLOAD_PATTERN); the line without the pattern.
pub fn payload_line(line: &str) -> Option<&str> {
    line.strip_suffix("<<")
}

/// What one command of a line gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Bytes to send now.
    Output(String),
    /// `quit`: close without running the rest.
    Quit,
}

/// Outcome of one command.
enum Outcome {
    Text(String),
    /// Nothing at all, not even the empty line that ends a command's answer.
    Silent,
    Quit,
}

/// `user -` / `operator -`: the silent forms a master CLI puts before a command it
/// forwards (HAProxy's master does the same); without `-`, an empty answer.
fn silent_or_empty(rest: &[&str]) -> Outcome {
    if rest.first() == Some(&"-") {
        Outcome::Silent
    } else {
        Outcome::Text(String::new())
    }
}

impl<'a> Session<'a> {
    pub fn new(state: &'a dyn RuntimeState, level: Level) -> Self {
        Session {
            state,
            level,
            bind_level: level,
            interactive: false,
            payload: None,
            experimental: false,
        }
    }

    /// Whether `prompt` mode is on.
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// Current level (lowered by `operator` / `user`).
    pub fn level(&self) -> Level {
        self.level
    }

    /// Runs one received line (without its newline). In non-interactive mode the
    /// caller closes once no further complete line is buffered.
    pub fn line(&mut self, line: &str) -> Reply {
        let mut output = String::new();
        let mut run = Commands::new(line);
        while let Some(step) = self.next(&mut run) {
            match step {
                Step::Output(t) => output.push_str(&t),
                Step::Quit => {
                    return Reply {
                        output,
                        close: true,
                    }
                }
            }
        }
        Reply {
            output,
            close: !self.interactive,
        }
    }

    /// Runs the next command of `run`: its whole answer (with the line ending or
    /// prompt that follows it), or [`Step::Quit`]; None once the line is done. A
    /// client's output is produced and sent one command at a time, so the memory
    /// a client holds is one command's answer, not a whole line's (issue 13 row 5).
    pub fn next(&mut self, run: &mut Commands) -> Option<Step> {
        loop {
            let (i, words) = run.cmds.next()?;
            // "a;" leaves an empty trailing command: HAProxy ignores it.
            if words.is_empty() && i > 0 && i + 1 == run.n {
                return None;
            }
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            self.payload = if i + 1 == run.n {
                run.payload.take()
            } else {
                None
            };
            match self.command(&refs) {
                Outcome::Quit => return Some(Step::Quit),
                Outcome::Silent => continue,
                Outcome::Text(mut t) => {
                    t.push_str(if self.interactive { "\n> " } else { "\n" });
                    return Some(Step::Output(t));
                }
            }
        }
    }

    /// After the last [`Session::next`] of a line: close unless interactive.
    pub fn closes_after_line(&self) -> bool {
        !self.interactive
    }

    fn need(&self, min: Level) -> Option<Outcome> {
        (self.level < min).then(|| Outcome::Text(DENIED.into()))
    }

    fn command(&mut self, w: &[&str]) -> Outcome {
        use Outcome::Text;
        match w {
            ["quit", ..] => Outcome::Quit,
            ["prompt", ..] => {
                self.interactive = !self.interactive;
                Text(String::new())
            }
            ["help", rest @ ..] => {
                Text(help::help_with(rest, !self.state.dcs().clusters.is_empty()))
            }
            ["operator", rest @ ..] => {
                if let Some(d) = self.need(Level::Operator) {
                    return d;
                }
                self.level = Level::Operator;
                self.experimental = false;
                silent_or_empty(rest)
            }
            ["user", rest @ ..] => {
                self.level = Level::User;
                self.experimental = false;
                silent_or_empty(rest)
            }
            ["show", "cli", "level", ..] => Text(format!("{}\n", self.level)),
            ["experimental-mode", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                match rest.first() {
                    None => Text(format!(
                        "experimental-mode is {}\n",
                        if self.experimental { "ON" } else { "OFF" }
                    )),
                    Some(m) => {
                        self.experimental = *m == "on";
                        Text(String::new())
                    }
                }
            }
            // management.txt §9.3 the acl/map commands (cli/patcmd.rs): admin only.
            [verb @ ("show" | "add" | "del" | "clear" | "get" | "prepare" | "commit"), what @ ("acl" | "map"), rest @ ..]
            | [verb @ "set", what @ "map", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                let payload = self.payload.take();
                Text(super::patcmd::run(
                    haproxide_expr::patref::global(),
                    verb,
                    what,
                    rest,
                    payload.as_deref(),
                ))
            }
            // management.txt §9.3 `get var`, `set var` (cli/vars.rs).
            ["get", "var", rest @ ..] => {
                if let Some(d) = self.need(Level::Operator) {
                    return d;
                }
                Text(super::vars::get_var(rest))
            }
            ["set", "var", rest @ ..] => {
                if !self.experimental {
                    return Text("This command is restricted to experimental mode only.\n".into());
                }
                if let Some(d) = self.need(Level::Operator) {
                    return d;
                }
                Text(super::vars::set_var(rest))
            }
            ["show", "info", rest @ ..] => {
                let info = self.state.info();
                Text(if rest.contains(&"json") {
                    format!("{}\n", stat::show_info_json(&info))
                } else if rest.contains(&"typed") {
                    stat::show_info_typed(&info)
                } else {
                    stat::show_info(&info)
                })
            }
            ["show", "stat", rest @ ..] => Text(self.show_stat(rest)),
            ["show", "servers", "state", rest @ ..] => {
                let px = self.state.proxies_with_disabled();
                match stat::servers_state(&px, rest.first().copied()) {
                    Some(s) => Text(s),
                    None => Text("Can't find backend.\n".into()),
                }
            }
            ["show", "servers", "conn", rest @ ..] => {
                let px = self.state.proxies_with_disabled();
                let threads = self.state.info().nbthread as usize;
                match stat::servers_conn(&px, rest.first().copied(), threads) {
                    Some(s) => Text(s),
                    None => Text("Can't find backend.\n".into()),
                }
            }
            ["show", "backend", ..] => {
                Text(stat::show_backend(&self.state.proxies_with_disabled()))
            }
            // management.txt §9.3 `show version`.
            ["show", "version", ..] => Text(format!("{}\n", self.state.info().version)),
            // management.txt §9.3 `show|clear|set table` (cli/table.rs).
            [verb @ ("show" | "clear" | "set"), "table", rest @ ..] => {
                let levels = (
                    self.bind_level >= Level::Operator,
                    self.level >= Level::Operator,
                );
                Text(super::table::run(
                    self.state.stick_tables(),
                    verb,
                    rest,
                    levels,
                ))
            }
            // management.txt §9.3 `show cache` (cli/cache.rs): admin level.
            ["show", "cache", ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                Text(super::cache::show_cache(&self.state.caches()))
            }
            ["show", "errors", rest @ ..] => {
                if let Some(d) = self.need(Level::Operator) {
                    return d;
                }
                Text(self.show_errors(rest.first().copied()))
            }
            // haproxide-only: the followed Patroni clusters (docs/patroni.md).
            ["show", "dcs", ..] => Text(super::dcs::show_dcs(&self.state.dcs())),
            ["show", "sess", rest @ ..] => {
                if let Some(d) = self.need(Level::Operator) {
                    return d;
                }
                Text(self.show_sess(rest.first().copied()))
            }
            ["shutdown", "session", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                let id = rest.first().map_or(0, |a| strtoul(a));
                Text(if id == 0 {
                    "Session pointer expected (use 'show sess').\n".into()
                } else if self.state.shutdown_session(id) {
                    String::new()
                } else {
                    "No such session (use 'show sess').\n".into()
                })
            }
            // management.txt §9.3 `show/set/commit/abort/new/del ssl cert` (cli/ssl.rs).
            [verb @ ("show" | "set" | "commit" | "abort" | "new" | "del"), "ssl", "cert", rest @ ..] =>
            {
                let store = self.state.cert_store();
                Text(super::ssl::cert_command(
                    store.as_deref(),
                    self.level,
                    verb,
                    rest,
                    self.payload.take(),
                ))
            }
            // management.txt §9.3 `show/del ssl crt-list` (cli/ssl.rs).
            [verb @ ("show" | "del"), "ssl", "crt-list", rest @ ..] => {
                let store = self.state.cert_store();
                Text(super::ssl::crt_list_command(
                    store.as_deref(),
                    self.level,
                    verb,
                    rest,
                ))
            }
            [verb @ ("show" | "set"), "ssl", "ocsp-response", rest @ ..] => {
                let store = self.state.cert_store();
                Text(super::ssl::ocsp_command(
                    store.as_deref(),
                    self.level,
                    verb,
                    rest,
                    self.payload.take(),
                ))
            }
            ["get", "weight", rest @ ..] => Text(self.get_weight(rest.first().copied())),
            ["set", "weight", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                Text(self.with_server(rest.first().copied(), |me, px, b, s| {
                    me.set_weight(px, b, s, rest.get(1).copied())
                }))
            }
            ["set", "server", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                Text(self.with_server(rest.first().copied(), |me, px, b, s| {
                    me.set_server(px, b, s, &rest[1..])
                }))
            }
            ["disable", "server", rest @ ..] => self.admin_action(
                rest.first().copied(),
                ServerAction::Admin(AdminState::Maint),
            ),
            ["enable", "server", rest @ ..] => self.admin_action(
                rest.first().copied(),
                ServerAction::Admin(AdminState::Ready),
            ),
            ["disable", "health", rest @ ..] => {
                self.admin_action(rest.first().copied(), ServerAction::Checks(false))
            }
            ["enable", "health", rest @ ..] => {
                self.admin_action(rest.first().copied(), ServerAction::Checks(true))
            }
            ["disable", "agent", rest @ ..] => {
                self.admin_action(rest.first().copied(), ServerAction::AgentChecks(false))
            }
            ["enable", "agent", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                Text(self.with_server(rest.first().copied(), |me, px, b, s| {
                    if find_server(px, b, s).is_some_and(|x| x.agent_configured) {
                        me.act(b, s, ServerAction::AgentChecks(true))
                    } else {
                        "Agent was not configured on this server, cannot enable.\n".into()
                    }
                }))
            }
            ["shutdown", "sessions", "server", rest @ ..] => {
                self.admin_action(rest.first().copied(), ServerAction::ShutdownSessions)
            }
            ["disable", "frontend", rest @ ..] => {
                self.frontend(rest.first().copied(), FrontendAction::Disable)
            }
            ["enable", "frontend", rest @ ..] => {
                self.frontend(rest.first().copied(), FrontendAction::Enable)
            }
            ["shutdown", "frontend", rest @ ..] => {
                self.frontend(rest.first().copied(), FrontendAction::Shutdown)
            }
            ["set", "maxconn", "frontend", rest @ ..] => {
                if rest.len() < 2 {
                    if let Some(d) = self.need(Level::Admin) {
                        return d;
                    }
                    if rest.is_empty() {
                        return Text("A frontend name is expected.\n".into());
                    }
                    return Text("Integer value expected.\n".into());
                }
                self.frontend(
                    rest.first().copied(),
                    FrontendAction::MaxConn(atoi(rest[1])),
                )
            }
            ["set", "maxconn", "server", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                Text(
                    self.with_server(rest.first().copied(), |me, _, b, s| match rest.get(1) {
                        None => "Require <maxconn>.\n".into(),
                        Some(v) => me.act(b, s, ServerAction::MaxConn(atoi(v))),
                    }),
                )
            }
            ["set", "maxconn", "global", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                let Some(v) = rest.first().and_then(|v| v.parse::<u64>().ok()) else {
                    return Text("Expects an integer value.\n".into());
                };
                Text(error_text(self.state.set_global_maxconn(v)))
            }
            // management.txt §9.3 `add server`, `del server` (admin level).
            ["add", "server", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                let Some((b, s)) = rest.first().and_then(|a| a.split_once('/')) else {
                    return Text("Require 'backend/server'.".into());
                };
                let mut args = vec![s];
                args.extend_from_slice(&rest[1..]);
                Text(match self.state.add_server(b, &args) {
                    Ok(t) | Err(super::ActionError(t)) => t,
                })
            }
            ["del", "server", rest @ ..] => {
                if let Some(d) = self.need(Level::Admin) {
                    return d;
                }
                let Some((b, s)) = rest.first().and_then(|a| a.split_once('/')) else {
                    return Text("Require 'backend/server'.".into());
                };
                if s.is_empty() {
                    return Text("Require 'backend/server'.".into());
                }
                Text(match self.state.del_server(b, s) {
                    Ok(t) | Err(super::ActionError(t)) => t,
                })
            }
            ["clear", "counters", rest @ ..] => {
                let all = rest.first() == Some(&"all");
                let min = if all { Level::Admin } else { Level::Operator };
                if let Some(d) = self.need(min) {
                    return d;
                }
                self.state.clear_counters(all);
                Text(String::new())
            }
            _ => Text(help::unknown(w)),
        }
    }

    fn admin_action(&mut self, arg: Option<&str>, action: ServerAction) -> Outcome {
        if let Some(d) = self.need(Level::Admin) {
            return d;
        }
        Outcome::Text(self.with_server(arg, |me, _, b, s| me.act(b, s, action)))
    }

    fn act(&self, backend: &str, server: &str, action: ServerAction) -> String {
        error_text(self.state.server_action(backend, server, action))
    }

    /// `disable/enable/shutdown frontend`, `set maxconn frontend`, with HAProxy's messages.
    fn frontend(&self, name: Option<&str>, action: FrontendAction) -> Outcome {
        if let Some(d) = self.need(Level::Admin) {
            return d;
        }
        let Some(name) = name else {
            return Outcome::Text("A frontend name is expected.\n".into());
        };
        let px = self.state.proxies();
        let Some(fe) = px
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.frontend.as_ref())
        else {
            return Outcome::Text("No such frontend.\n".into());
        };
        let paused = fe.status == "PAUSED";
        let stopped = fe.status == "STOP";
        let text = match action {
            FrontendAction::Disable if stopped => {
                "Frontend was previously shut down, cannot disable.\n".into()
            }
            FrontendAction::Enable if stopped => {
                "Frontend was previously shut down, cannot enable.\n".into()
            }
            FrontendAction::Shutdown if stopped => "Frontend was already shut down.\n".into(),
            FrontendAction::Disable if paused => "All sockets are already disabled.\n".into(),
            FrontendAction::Enable if !paused => "All sockets are already enabled.\n".into(),
            _ => error_text(self.state.frontend_action(name, action)),
        };
        Outcome::Text(text)
    }

    /// Resolves `backend/server` with HAProxy's messages, then runs `f`; a
    /// server of a `disabled` backend is refused ("Proxy is disabled.", 2.6's
    /// `cli_find_server`).
    fn with_server<F>(&self, arg: Option<&str>, f: F) -> String
    where
        F: FnOnce(&Self, &[ProxySnapshot], &str, &str) -> String,
    {
        self.with_server_in(arg, false, f)
    }

    /// [`Self::with_server`], also on `disabled` backends when `disabled_ok`
    /// (`get weight` reads them in HAProxy).
    fn with_server_in<F>(&self, arg: Option<&str>, disabled_ok: bool, f: F) -> String
    where
        F: FnOnce(&Self, &[ProxySnapshot], &str, &str) -> String,
    {
        let Some((b, s)) = arg.and_then(|a| a.split_once('/')) else {
            return REQUIRE_BS.into();
        };
        if s.is_empty() {
            return REQUIRE_BS.into();
        }
        let mut px = self.state.proxies();
        let running = px.iter().any(|p| p.name == b && p.backend.is_some());
        if !running {
            px = self.state.proxies_with_disabled();
        }
        let Some(be) = px
            .iter()
            .find(|p| p.name == b)
            .and_then(|p| p.backend.as_ref())
        else {
            return "No such backend.\n".into();
        };
        if !be.servers.iter().any(|x| x.name == s) {
            return "No such server.\n".into();
        }
        if !running && !disabled_ok {
            return "Proxy is disabled.\n".into();
        }
        f(self, &px, b, s)
    }

    fn get_weight(&self, arg: Option<&str>) -> String {
        self.with_server_in(arg, true, |_, px, b, s| {
            px.iter()
                .filter(|p| p.name == b)
                .filter_map(|p| p.backend.as_ref())
                .flat_map(|be| be.servers.iter())
                .find(|x| x.name == s)
                .map(|x| format!("{} (initial {})\n", x.weight, x.iweight))
                .unwrap_or_default()
        })
    }

    fn set_weight(&self, px: &[ProxySnapshot], b: &str, s: &str, arg: Option<&str>) -> String {
        let Some(arg) = arg else {
            return "Require <weight> or <weight%>.\n".into();
        };
        let iweight = px
            .iter()
            .filter(|p| p.name == b)
            .filter_map(|p| p.backend.as_ref())
            .flat_map(|be| be.servers.iter())
            .find(|x| x.name == s)
            .map_or(1, |x| x.iweight);
        match parse_weight(arg, iweight) {
            Ok(w) => self.act(b, s, ServerAction::Weight(w)),
            Err(e) => e.into(),
        }
    }

    fn set_server(&self, _px: &[ProxySnapshot], b: &str, s: &str, rest: &[&str]) -> String {
        match rest {
            ["state", v, ..] => {
                let st = match *v {
                    "ready" => AdminState::Ready,
                    "drain" => AdminState::Drain,
                    "maint" => AdminState::Maint,
                    _ => return STATE_USAGE.into(),
                };
                self.act(b, s, ServerAction::Admin(st))
            }
            ["state"] => STATE_USAGE.into(),
            ["health", v, ..] => {
                let h = match *v {
                    "up" => HealthOp::Up,
                    "stopping" => HealthOp::Stopping,
                    "down" => HealthOp::Down,
                    _ => return HEALTH_USAGE.into(),
                };
                self.act(b, s, ServerAction::Health(h))
            }
            ["health"] => HEALTH_USAGE.into(),
            ["agent", rest @ ..] => {
                if !find_server(_px, b, s).is_some_and(|x| x.agent_configured) {
                    return "agent checks are not enabled on this server.\n".into();
                }
                match rest.first() {
                    Some(&"up") => self.act(b, s, ServerAction::Agent(true)),
                    Some(&"down") => self.act(b, s, ServerAction::Agent(false)),
                    _ => "'set server <srv> agent' expects 'up' or 'down'.\n".into(),
                }
            }
            ["weight", rest @ ..] => self.set_weight(_px, b, s, rest.first().copied()),
            _ => SET_SERVER_USAGE.into(),
        }
    }

    /// `show sess [<id>|all]` (management.txt §9.3). Without an argument (or one
    /// that is not a number, as `strtoul` reads it in HAProxy), one line per
    /// session with the fields of HAProxy's line that haproxide has (`0x<id>:
    /// proto=… src=… fe=… be=… srv=… age=…`; `be=<NONE>` before a backend is
    /// chosen, `srv=<none>` before a server is, e.g. queued); HAProxy's stream
    /// internals (`ts`, `calls`, `rq[…]`, `scf=[…]`, `exp`…) are left out. With
    /// an id, that session's detailed block ("Session not found." when none); with
    /// `all`, the block of every session.
    fn show_sess(&self, arg: Option<&str>) -> String {
        let target = match arg {
            Some("all") => None,
            Some(a) if strtoul(a) != 0 => Some(strtoul(a)),
            _ => return self.state.sessions().iter().map(sess_line).collect(),
        };
        let mut out = String::new();
        for s in self.state.sessions() {
            if target.is_none_or(|id| id == s.id) {
                out.push_str(&sess_block(&s));
            }
        }
        if out.is_empty() && target.is_some() {
            return "Session not found.\n".into();
        }
        out
    }

    /// `show errors [<px>] [request|response]` (management.txt §9.3): the
    /// captured invalid requests and responses. HAProxy captures HTTP parsing
    /// errors only; the TCP engine parses no HTTP, so there are none: the header
    /// line with 0 events, or "No such proxy." for an unknown proxy (a name or a
    /// uuid; -1 is all).
    fn show_errors(&self, px: Option<&str>) -> String {
        if let Some(name) = px.filter(|p| *p != "-1") {
            let known = self
                .state
                .proxies_with_disabled()
                .iter()
                .any(|p| p.name == name || name.parse::<u32>().is_ok_and(|id| id == p.iid));
            if !known {
                return "No such proxy.\n".into();
            }
        }
        let now = haproxide_log::Tm::new(std::time::SystemTime::now(), haproxide_log::Zone::Local);
        format!("Total events captured on [{}] : 0\n", now.accept_date())
    }

    fn show_stat(&self, args: &[&str]) -> String {
        let px = self.state.proxies();
        let mut f = StatFilter::all();
        f.show_addr = self.level >= Level::Operator;
        let mut rest = args;
        if args.len() >= 3 && !is_flag(args[0]) {
            let iid: i64 = match args[0].parse() {
                Ok(n) => n,
                Err(_) => match px.iter().find(|p| p.name == args[0]) {
                    Some(p) => i64::from(p.iid),
                    None => return "No such proxy.\n".into(),
                },
            };
            f.iid = u32::try_from(iid).ok();
            let ty: i64 = args[1].parse().unwrap_or(-1);
            f.types = u32::try_from(ty).map_or(7, |t| t & 7);
            let sid: i64 = args[2].parse().unwrap_or(-1);
            f.sid = u32::try_from(sid).ok();
            rest = &args[3..];
        }
        let (mut typed, mut json) = (false, false);
        for a in rest {
            match *a {
                "up" => f.up = true,
                "no-maint" => f.no_maint = true,
                "typed" => typed = true,
                "json" => json = true,
                _ => {}
            }
        }
        if json {
            format!("{}\n", stat::show_stat_json(&px, &f))
        } else if typed {
            stat::show_stat_typed(&px, &f)
        } else {
            stat::show_stat(&px, &f)
        }
    }
}

/// One line of `show sess`.
fn sess_line(s: &super::SessionSnapshot) -> String {
    format!(
        "0x{:x}: proto={} src={} fe={} be={} srv={} age={}\n",
        s.id,
        s.proto,
        s.src,
        s.frontend.0,
        s.backend.as_ref().map_or("<NONE>", |b| b.0.as_str()),
        s.server.as_ref().map_or("<none>", |x| x.0.as_str()),
        human_time(s.age_sec)
    )
}

/// `show sess <id>`: the lines of HAProxy's detailed block that haproxide can
/// fill (header, frontend, backend, server), then the age.
fn sess_block(s: &super::SessionSnapshot) -> String {
    let tm = haproxide_log::Tm::new(s.accepted, haproxide_log::Zone::Local);
    let mut out = format!(
        "0x{:x}: [{}] proto={} source={}\n  frontend={} (id={} mode={})",
        s.id,
        tm.accept_date_us(),
        s.proto,
        s.src,
        s.frontend.0,
        s.frontend.1,
        s.mode
    );
    if let Some(d) = &s.dst {
        out.push_str(&format!(" addr={d}"));
    }
    match &s.backend {
        Some((name, id)) => out.push_str(&format!("\n  backend={name} (id={id} mode={})", s.mode)),
        None => out.push_str("\n  backend=<NONE> (id=-1 mode=-)"),
    }
    match (&s.backend, &s.server) {
        (_, Some((name, id))) => {
            out.push_str(&format!("\n  server={name} (id={id})"));
            if let Some(a) = &s.server_addr {
                out.push_str(&format!(" addr={a}"));
            }
        }
        (Some(_), None) => out.push_str("\n  server=<none> (id=0)"),
        (None, None) => out.push_str("\n  server=<NONE> (id=-1)"),
    }
    out.push_str(&format!("\n  age={}\n", human_time(s.age_sec)));
    out
}

fn find_server<'p>(px: &'p [ProxySnapshot], b: &str, s: &str) -> Option<&'p super::ServerSnapshot> {
    px.iter()
        .filter(|p| p.name == b)
        .filter_map(|p| p.backend.as_ref())
        .flat_map(|be| be.servers.iter())
        .find(|x| x.name == s)
}

/// The text of a runtime refusal (a newline added when missing).
fn error_text(r: Result<(), super::ActionError>) -> String {
    match r {
        Ok(()) => String::new(),
        Err(e) if e.0.is_empty() || e.0.ends_with('\n') => e.0,
        Err(e) => format!("{}\n", e.0),
    }
}

/// C's `strtoul(s, NULL, 0)`: `0x` hexadecimal, leading `0` octal, else
/// decimal; the longest valid prefix, 0 when there is none.
pub(crate) fn strtoul(s: &str) -> u64 {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    u64::from_str_radix(&digits[..end], radix).unwrap_or(0)
}

/// HAProxy's `human_time` (src/tools.c) for whole seconds: at most two
/// non-zero units ("0s", "42s", "1m", "1h1m", "1d5s").
pub(crate) fn human_time(t: u64) -> String {
    let mut out = String::new();
    let mut cnt = 2;
    if t >= 86400 {
        out.push_str(&format!("{}d", t / 86400));
        cnt -= 1;
    }
    for (n, unit) in [(t % 86400 / 3600, 'h'), (t % 3600 / 60, 'm')] {
        if cnt > 0 && n > 0 {
            out.push_str(&format!("{n}{unit}"));
            cnt -= 1;
        }
    }
    if (cnt > 0 && t % 60 > 0) || t == 0 {
        out.push_str(&format!("{}s", t % 60));
    }
    out
}

/// C's `atoi`: leading digits, 0 when there are none (HAProxy's `set maxconn
/// frontend fe abc` sets 0).
fn atoi(s: &str) -> u64 {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().unwrap_or(0)
}

fn is_flag(s: &str) -> bool {
    matches!(s, "up" | "no-maint" | "typed" | "json" | "desc")
}

const STATE_USAGE: &str = "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
const HEALTH_USAGE: &str = "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n";
const SET_SERVER_USAGE: &str = "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n";

/// `set weight` values: absolute 0..=256 or a percentage of the initial weight,
/// read as HAProxy's `server_parse_weight_change_request` reads them: `strtol`
/// (leading blanks, a sign, saturating at the `long` range), a percentage clamped to
/// 25600 before it is applied (so no product can overflow: `9223372036854775807%`
/// of 2 is 256, not a wrapped 0), the absolute range checked before trailing bytes.
/// The error texts are HAProxy's (two of them without a final newline, as HAProxy
/// prints them).
pub fn parse_weight(arg: &str, iweight: u32) -> Result<u32, &'static str> {
    let (w, tail) = strtol(arg).ok_or("Empty weight string empty or preceded by garbage")?;
    if tail == "%" {
        if w < 0 {
            return Err("Relative weight must be positive.\n");
        }
        let w = (i64::from(iweight) * w.min(25600) / 100).min(256);
        return Ok(u32::try_from(w).unwrap_or(256));
    }
    if !(0..=256).contains(&w) {
        return Err("Absolute weight can only be between 0 and 256 inclusive.\n");
    }
    if !tail.is_empty() {
        return Err("Trailing garbage in weight string");
    }
    Ok(u32::try_from(w).unwrap_or(0))
}

/// C's `strtol(s, &end, 10)`: leading white space, an optional sign, decimal digits,
/// saturating at `i64::MIN`/`i64::MAX`; None when no digit was read.
fn strtol(s: &str) -> Option<(i64, &str)> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    if end == 0 {
        return None;
    }
    let mut v: i64 = 0;
    for d in body[..end].bytes() {
        let d = i64::from(d - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    Some((v, &body[end..]))
}
