//! `add server <backend>/<server> <addr>[:<port>] [keywords]` (management.txt §9.3):
//! the runtime API's server line, read by the same parser as a `server` line of the
//! configuration, with HAProxy 2.6's restrictions for dynamic servers: only the
//! keywords its list names, no `default-server` settings, no name resolution
//! (`init-addr none`), and `check` with `track` refused.

use crate::model::ServerDef;
use crate::{check_bytes, CheckOptions, NoAccounts, Resolver, Target};

/// The keywords HAProxy 2.6 accepts on `add server` (management.txt §9.3).
pub const DYNAMIC_KEYWORDS: &[&str] = &[
    "agent-addr",
    "agent-check",
    "agent-inter",
    "agent-port",
    "agent-send",
    "allow-0rtt",
    "alpn",
    "addr",
    "backup",
    "ca-file",
    "check",
    "check-alpn",
    "check-proto",
    "check-send-proxy",
    "check-sni",
    "check-ssl",
    "check-via-socks4",
    "ciphers",
    "ciphersuites",
    "crl-file",
    "crt",
    "disabled",
    "downinter",
    "enabled",
    "error-limit",
    "fall",
    "fastinter",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "id",
    "inter",
    "maxconn",
    "maxqueue",
    "minconn",
    "no-ssl-reuse",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "no-tls-tickets",
    "npn",
    "observe",
    "on-error",
    "on-marked-down",
    "on-marked-up",
    "pool-low-conn",
    "pool-max-conn",
    "pool-purge-delay",
    "port",
    "proto",
    "proxy-v2-options",
    "rise",
    "send-proxy",
    "send-proxy-v2",
    "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn",
    "slowstart",
    "sni",
    "source",
    "ssl",
    "ssl-max-ver",
    "ssl-min-ver",
    "tfo",
    "tls-tickets",
    "track",
    "usesrc",
    "verify",
    "verifyhost",
    "weight",
    "ws",
];

/// An `add server` line, parsed.
#[derive(Debug, Clone)]
pub struct DynamicServer {
    /// The server as a configuration `server` line gives it (address resolved
    /// only if it is an IP address).
    pub def: ServerDef,
    /// `track [<backend>/]<server>` as written (applied by the caller, who knows
    /// the running servers).
    pub track: Option<String>,
}

/// Parses `args` (the server name, the address, then keywords). The error is
/// HAProxy's text for the CLI.
pub fn parse_add_server(args: &[&str]) -> Result<DynamicServer, String> {
    let [name, addr, rest @ ..] = args else {
        return Err("'server' expects <name> and <addr>[:<port>] as arguments.\n".into());
    };
    let server_kws = &crate::keywords::keywords(Target::LATEST.table).server;
    let mut kept: Vec<&str> = Vec::new();
    let mut track = None;
    let mut check = false;
    let mut i = 0;
    while i < rest.len() {
        let k = rest[i];
        if k == "track" {
            track = rest.get(i + 1).map(|t| t.to_string());
            i += 2;
            continue;
        }
        if server_kws.contains(k) && !DYNAMIC_KEYWORDS.contains(&k) {
            return Err(format!("'{k}' option is not accepted for dynamic server\n"));
        }
        check |= k == "check";
        kept.push(k);
        i += 1;
    }
    if track.is_none() && rest.contains(&"track") {
        return Err("'track' expects [<proxy>/]<server> as argument.\n".into());
    }
    if check && track.is_some() {
        return Err("unable to enable checks and tracking at the same time!\n".into());
    }
    // The same parser as the configuration's, on a one-server backend (quoted as
    // the CLI's words were split: no word holds a quote or a space).
    // The address is double-quoted so that `${VAR}` is expanded from the
    // environment, as HAProxy's `add server` does (an unset one is empty).
    if std::iter::once(name)
        .chain(&kept)
        .any(|w| w.contains(['"', '\'', '\\', '#', '$']))
        || addr.contains(['"', '\\', '#'])
    {
        return Err("haproxide: quotes, '#', '$' and '\\' are not accepted on add server\n".into());
    }
    let text = format!(
        "backend __add_server\n    server {name} \"{addr}\" {}\n",
        kept.join(" ")
    );
    let env = crate::lexer::ProcessEnv;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: true,
        resolver: Resolver::Off,
        check_files: true,
        accounts: &NoAccounts,
    };
    let checked = check_bytes("cli", text.into_bytes(), &opts);
    if let Some(d) = checked
        .diagnostics
        .iter()
        .find(|d| d.severity == crate::Severity::Error)
    {
        let text = d.haproxy.as_ref().map_or(d.message.as_str(), |h| &h.text);
        // HAProxy's CLI prints the keyword parser's message without the
        // configuration's "parsing [file:line] : 'server name' :" preamble.
        let text = text.rsplit_once(" : ").map_or(text, |(_, t)| t);
        return Err(format!("{text}\n"));
    }
    let def = checked
        .config
        .proxies
        .iter()
        .find_map(|p| p.servers.first())
        .cloned()
        .ok_or_else(|| "'server' expects <name> and <addr>[:<port>] as arguments.\n".to_string())?;
    Ok(DynamicServer { def, track })
}
