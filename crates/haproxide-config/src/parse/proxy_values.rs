//! Proxy keywords whose arguments HAProxy 2.6 checks while it reads the line,
//! refused with its texts (configuration.txt §4.2): `errorfile` and
//! `errorloc`/`errorloc302`/`errorloc303` (http_htx.c: a status HAProxy has a
//! message for), `compression` (flt_http_comp.c: the build's algorithms),
//! `option forwardfor`/`originalto`/`http-restrict-req-hdr-names`
//! (cfgparse-listen.c), `option mysql-check`/`pgsql-check` (tcpcheck.c) and
//! `stick-table` (`super::stick_table_args`); `max-keep-alive-queue` and
//! `rate-limit sessions` (proxy.c: strtol()/strtoul() of the whole word);
//! `retry-on` events (proxy.c) and `use-server`'s name and condition
//! (cfgparse-listen.c).

use super::Parser;
use crate::diag::{Code, HaproxyLoc};
use crate::reader::Line;

/// The statuses HAProxy 2.6 has an error message for (http.c `http_err_codes`).
const ERR_CODES: &[i32] = &[
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504,
];

/// The statuses later versions add.
const LATER_ERR_CODES: &[i32] = &[414, 431];

/// `compression` keywords later versions add (they are not checked here).
const LATER_COMPRESSION: &[&str] = &[
    "algo-req",
    "algo-res",
    "type-req",
    "type-res",
    "minsize-req",
    "minsize-res",
    "direction",
];

/// `retry-on` events of 2.6 (proxy.c `proxy_parse_retry_on`), and those
/// later versions add.
const RETRY_ON: &[&str] = &[
    "conn-failure",
    "empty-response",
    "response-timeout",
    "401",
    "403",
    "404",
    "408",
    "425",
    "500",
    "501",
    "502",
    "503",
    "504",
    "0rtt-rejected",
    "junk-response",
    "all-retryable-errors",
];
const LATER_RETRY_ON: &[&str] = &["421", "429"];

/// The compression algorithms of Debian's 2.6.12 build (`haproxy -vv`).
const ALGOS: &[&str] = &["identity", "deflate", "raw-deflate", "gzip"];

/// HAProxy's refusal of proxy keyword `kw` (its canonical form) with the
/// words `args` after it, None when taken. `here` is `parsing [FILE:LINE]`
/// for the one text that names its place twice; `latest`: as the latest
/// HAProxy (more statuses and `compression` keywords).
/// `parse_process_number()`'s text for the first of `sets` (up to `all`) that
/// is not a process set of HAProxy 2.6's one process.
pub(super) fn process_sets_refusal(sets: &[&str]) -> Option<String> {
    sets.iter()
        .take_while(|w| !w.is_empty() && **w != "all")
        .find_map(|w| super::bind::process_set_error(w, 1))
}

fn refusal(kw: &str, args: &[&str], here: &str, latest: bool) -> Option<String> {
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    match kw {
        // §4.2 `bind-process` (cfgparse-listen.c): process sets read against
        // 2.6's one process, up to `all`.
        "bind-process" => process_sets_refusal(args).map(|e| format!("{kw} : {e}")),
        "errorfile" | "errorloc" | "errorloc302" | "errorloc303" => {
            let what = if kw == "errorfile" { "file" } else { "url" };
            if arg(0).is_empty() || arg(1).is_empty() {
                return Some(format!(
                    "{kw} : expects <status_code> and <{what}> as arguments.\n"
                ));
            }
            // atol() into an `int`: an intended truncation, as C's.
            let status = crate::value::atol(arg(0)) as i32;
            let known =
                ERR_CODES.contains(&status) || (latest && LATER_ERR_CODES.contains(&status));
            (!known)
                .then(|| format!("{kw} : status code '{status}' not handled."))
        }
        "compression" if latest && LATER_COMPRESSION.contains(&arg(0)) => None,
        "compression" => match arg(0) {
            "algo" if arg(1).is_empty() => {
                Some(format!("{here} : 'compression' expects <algorithm>."))
            }
            "algo" => args[1..]
                .iter()
                .find(|a| !ALGOS.contains(a))
                .map(|a| format!("'compression' : '{a}' is not a supported algorithm.")),
            "type" if arg(1).is_empty() => Some("'compression' expects <type>.".into()),
            "type" | "offload" => None,
            _ => Some("'compression' expects 'algo', 'type' or 'offload'".into()),
        },
        "option forwardfor" | "option originalto" => {
            let ff = kw == "option forwardfor";
            let mut i = 0;
            while !arg(i).is_empty() {
                match arg(i) {
                    // The address is checked as HAProxy's str2net() reads it
                    // (names resolve): only its absence is refused here.
                    "except" if arg(i + 1).is_empty() => {
                        return Some(format!("'{kw} except' expects <address>[/mask] as argument."))
                    }
                    "header" if arg(i + 1).is_empty() => {
                        return Some(format!("'{kw} header' expects <header_name> as argument."))
                    }
                    "except" | "header" => i += 2,
                    "if-none" if ff => i += 1,
                    _ if ff => return Some(format!("'{kw}' only supports optional values: 'except', 'header' and 'if-none'.")),
                    _ => return Some(format!("'{kw}' only supports optional values: 'except' and 'header'.")),
                }
            }
            None
        }
        "max-keep-alive-queue" if arg(0).is_empty() => Some(format!(
            "'{kw}' expects expects an integer value (or -1 to disable)"
        )),
        // §4.2 `email-alert level`: a syslog level (log.c `get_log_level`);
        // HAProxy's text names the keyword's words the other way round.
        "email-alert level" => {
            const LEVELS: &[&str] =
                &["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
            (!LEVELS.contains(&arg(0)))
                .then(|| format!("unknown log level 'level' after '{}'", arg(0)))
        }
        "rate-limit sessions" if arg(0).is_empty() => Some(format!(
            "'{kw}' expects expects an integer value (in sessions/second)"
        )),
        "max-keep-alive-queue" | "rate-limit sessions" => super::timers::strtol_rest(arg(0))
            .chars()
            .next()
            .map(|c| format!("'{kw}' : unexpected character '{c}' in integer value '{}'", arg(0))),
        "retry-on" if arg(0).is_empty() => Some(format!(
            "'{kw}' needs at least one keyword to specify when to retry"
        )),
        "retry-on" => args.iter().enumerate().find_map(|(i, a)| match *a {
            "none" if i != 0 || args.len() > 1 => {
                Some(format!("'{kw}' 'none' keyworld only usable alone"))
            }
            "none" => None,
            a if RETRY_ON.contains(&a) || (latest && LATER_RETRY_ON.contains(&a)) => None,
            a => Some(format!("'{kw}': unknown keyword '{a}'")),
        }),
        "use-server" if arg(0).is_empty() => Some(format!("'{kw}' expects a server name.")),
        "use-server" => (!matches!(arg(1), "if" | "unless")).then(|| {
            format!("'{kw}' requires either 'if' or 'unless' followed by a condition.")
        }),
        "option http-restrict-req-hdr-names" => match arg(0) {
            "" => Some("missing parameter. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option.".into()),
            "preserve" | "reject" | "delete" => None,
            other => Some(format!("invalid parameter '{other}'. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option.")),
        },
        "option pgsql-check" if arg(0).is_empty() || arg(1).is_empty() => {
            Some(format!("'{kw}' expects 'user <username>' as argument."))
        }
        "option pgsql-check" => (arg(0) != "user")
            .then(|| format!("'{kw}' only supports optional values: 'user'.")),
        "option mysql-check" => match (arg(0), arg(1), arg(2)) {
            ("", _, _) => None,
            (u, _, _) if u != "user" => Some(format!(
                "'{kw}' only supports optional values: 'user' (got '{u}')."
            )),
            (_, "", _) => Some(format!("'{kw} user' expects <username> as argument.")),
            (_, _, "" | "post-41" | "pre-41") => None,
            (_, _, v) => Some(format!(
                "keyword 'user' only supports 'post-41' and 'pre-41' (got '{v}')."
            )),
        },
        _ => None,
    }
}

impl Parser<'_> {
    /// Whether the proxy keyword `canon` at `start` (its words from `a` on) is
    /// refused; reported with HAProxy's text.
    pub(super) fn proxy_value_refused(
        &mut self,
        line: &Line,
        start: usize,
        a: usize,
        canon: &str,
    ) -> bool {
        let args: Vec<&str> = line.words.iter().skip(a).map(|w| w.text.as_str()).collect();
        let here = format!("parsing [{}:{}]", self.file_marker(line.file), line.line);
        let latest = self.opts.table != crate::keywords::TableSet::V2_6;
        let resolver = self.opts.resolver;
        let resolves = |n: &str| resolver.resolves(n);
        // An address that does not resolve ends with str2sa_range's newline.
        let address = |needed: bool| {
            let raw = args.first().copied().unwrap_or("");
            crate::value::single_address_error(raw, needed, &resolves).map(|e| {
                match e.starts_with("invalid address") {
                    true => e + "\n",
                    false => e,
                }
            })
        };
        let found = if canon == "dispatch" && !args.is_empty() {
            // §4.2 `dispatch <address>:<port>`, `source <addr>[:<port>]`.
            address(true).map(|e| (HaproxyLoc::Parsing, format!("'dispatch' : {e}")))
        } else if canon == "source" && !args.is_empty() {
            let raw = args.first().copied().unwrap_or("");
            address(false).map(|e| (HaproxyLoc::Parsing, format!("'source {raw}' : {e}")))
        } else if canon == "stick-table" {
            super::stick_table_args::refusal(&args, latest).map(|(tight, t)| {
                let loc = if tight {
                    HaproxyLoc::ParsingTight
                } else {
                    HaproxyLoc::Parsing
                };
                (loc, t)
            })
        } else {
            refusal(canon, &args, &here, latest).map(|t| (HaproxyLoc::Parsing, t))
        };
        let Some((loc, hx)) = found else {
            if canon == "bind-process" {
                self.warn(
                    Code::Deprecated,
                    line.span(start),
                    "`bind-process` has no effect and is deprecated",
                    HaproxyLoc::ParsingTight,
                    "'bind-process' has no effect, is deprecated, and will be removed in version 2.7.",
                );
            }
            return false;
        };
        self.err(
            Code::InvalidArgument,
            line.span_from(start),
            format!("`{canon}` is refused by HAProxy with these arguments"),
            loc,
            hx,
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn arguments_are_read_as_haproxy_reads_them() {
        let r = |kw, args: &[&str]| refusal(kw, args, "parsing [f:1]", false);
        assert_eq!(r("errorfile", &["503", "/x"]), None);
        assert_eq!(r("errorloc303", &["4294967799", "/x"]), None);
        assert!(r("errorloc", &["302", "/x"]).is_some());
        assert!(r("errorfile", &["503"]).is_some());
        assert_eq!(r("compression", &["algo", "gzip", "deflate"]), None);
        assert!(r("compression", &["algo", "br"]).is_some());
        assert!(r("compression", &[]).is_some());
        assert_eq!(r("option forwardfor", &["if-none", "header", "x"]), None);
        assert!(r("option originalto", &["if-none"]).is_some());
        assert!(r("option forwardfor", &["except"]).is_some());
        assert!(r("option pgsql-check", &[]).is_some());
        assert_eq!(r("option pgsql-check", &["user", "u"]), None);
        assert_eq!(r("option mysql-check", &[]), None);
        assert_eq!(r("retry-on", &["conn-failure", "503"]), None);
        assert!(r("retry-on", &["503", "none"]).is_some());
        assert!(r("retry-on", &["429"]).is_some());
        assert!(r("use-server", &["s", "x"]).is_some());
        assert_eq!(r("rate-limit sessions", &["0x10"]), None);
        assert!(r("max-keep-alive-queue", &["5x"]).is_some());
        assert!(r("option mysql-check", &["user", "u", "x"]).is_some());
    }
}
