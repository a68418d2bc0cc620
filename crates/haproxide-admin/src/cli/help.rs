//! The help lines (HAProxy 2.6's text for the commands haproxide implements, in
//! HAProxy's order) and the answers to unknown commands.

/// (usage, description) of the commands haproxide implements, as HAProxy 2.6
/// words them, sorted as HAProxy lists them. `help`, `prompt`, `quit` close the list.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "abort ssl cert <certfile>",
        "abort a transaction for a certificate file",
    ),
    ("add acl [@<ver>] <acl> <pattern>", "add an acl entry"),
    ("add map [@<ver>] <map> <key> <val>", "add a map entry (payload supported instead of key/val)"),
    ("add server <bk>/<srv>", "create a new server"),
    ("clear acl [@<ver>] <acl>", "clear the contents of this acl"),
    (
        "clear counters [all]",
        "clear max statistics counters (or all counters)",
    ),
    ("clear map [@<ver>] <map>", "clear the contents of this map"),
    ("commit acl @<ver> <acl>", "commit the ACL at this version"),
    ("commit map @<ver> <map>", "commit the map at this version"),
    ("commit ssl cert <certfile>", "commit a certificate file"),
    ("del acl <acl> [<key>|#<ref>]", "delete acl entries matching <key>"),
    ("del map <map> [<key>|#<ref>]", "delete map entries matching <key>"),
    ("del server <bk>/<srv>", "remove a dynamically added server"),
    (
        "del ssl cert <certfile>",
        "delete an unused certificate file",
    ),
    (
        "del ssl crt-list <list> <cert[:line]>",
        "delete a line <cert> from crt-list file <list>",
    ),
    (
        "disable frontend <frontend>",
        "temporarily disable specific frontend",
    ),
    ("disable health", "disable health checks"),
    (
        "disable server (DEPRECATED)",
        "disable a server for maintenance (use 'set server' instead)",
    ),
    ("enable agent", "enable agent checks"),
    ("enable frontend <frontend>", "re-enable specific frontend"),
    ("enable health", "enable health checks"),
    (
        "enable server  (DEPRECATED)",
        "enable a disabled server (use 'set server' instead)",
    ),
    ("get acl <acl> <value>", "report the patterns matching a sample for an ACL"),
    ("get map <acl> <value>", "report the keys and values matching a sample for a map"),
    ("get var <name>", "retrieve contents of a process-wide variable"),
    ("get weight <bk>/<srv>", "report a server's current weight"),
    (
        "new ssl cert <certfile>",
        "create a new certificate file to be used in a crt-list or a directory",
    ),
    (
        "operator",
        "lower the level of the current CLI session to operator",
    ),
    ("prepare acl <acl>", "prepare a new version for atomic ACL replacement"),
    ("prepare map <acl>", "prepare a new version for atomic map replacement"),
    ("set map <map> [<key>|#<ref>] <value>", "modify a map entry"),
    (
        "set maxconn frontend <frontend> <value>",
        "change a frontend's maxconn setting",
    ),
    (
        "set maxconn global <value>",
        "change the per-process maxconn setting",
    ),
    (
        "set maxconn server <bk>/<srv>",
        "change a server's maxconn setting",
    ),
    (
        "set server <bk>/<srv> [opts]",
        "change a server's state, weight, address or ssl",
    ),
    (
        "set ssl cert <certfile> <payload>",
        "replace a certificate file",
    ),
    (
        "set ssl ocsp-response <resp|payload>",
        "update a certificate's OCSP Response from a base64-encode DER",
    ),
    (
        "set weight <bk>/<srv>  (DEPRECATED)",
        "change a server's weight (use 'set server' instead)",
    ),
    ("show acl [@<ver>] <acl>]", "report available acls or dump an acl's contents"),
    (
        "show backend",
        "list backends in the current running config",
    ),
    ("show cache", "show cache status"),
    (
        "show cli level",
        "display the level of the current CLI session",
    ),
    (
        "show errors [<px>] [request|response]",
        "report last request and/or response errors for each proxy",
    ),
    (
        "show info [desc|json|typed|float]*",
        "report information about the running process",
    ),
    ("show map [@ver] [map]", "report available maps or dump a map's contents"),
    (
        "show servers conn [<backend>]",
        "dump server connections status (all or for a single backend)",
    ),
    (
        "show servers state [<backend>]",
        "dump volatile server information (all or for a single backend)",
    ),
    (
        "show sess [id]",
        "report the list of current sessions or dump this exact session",
    ),
    (
        "show ssl cert [<certfile>]",
        "display the SSL certificates used in memory, or the details of a file",
    ),
    (
        "show ssl crt-list [-n] [<list>]",
        "show the list of crt-lists or the content of a crt-list file <list>",
    ),
    (
        "show ssl ocsp-response [id]",
        "display the IDs of the OCSP responses used in memory, or the details of a single OCSP response",
    ),
    (
        "show stat [desc|json|no-maint|typed|up]*",
        "report counters for each proxy and server",
    ),
    (
        "show table <table> [<filter>]*",
        "report table usage stats or dump this table's contents (filter: data/key)",
    ),
    ("show version", "show version of the current process"),
    ("shutdown frontend <frontend>", "stop a specific frontend"),
    ("shutdown session [id]", "kill a specific session"),
    (
        "shutdown sessions server <bk>/<srv>",
        "kill sessions on a server",
    ),
    ("user", "lower the level of the current CLI session to user"),
];

/// Always listed last.
pub const TAIL: &[(&str, &str)] = &[
    ("help [<command>]", "list matching or all commands"),
    ("prompt", "toggle interactive mode with prompt"),
    ("quit", "disconnect"),
];

fn line(out: &mut String, (usage, desc): (&str, &str)) {
    out.push_str(&format!("  {usage:<40}: {desc}\n"));
}

/// The keywords of a usage string (the words before the first argument).
fn keywords(usage: &str) -> Vec<&str> {
    usage
        .split_whitespace()
        .take_while(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '-')
        })
        .collect()
}

fn matches_prefix(usage: &str, words: &[&str]) -> bool {
    let kw = keywords(usage);
    !words.is_empty() && words.len() <= kw.len() && kw.iter().zip(words).all(|(k, w)| k == w)
}

/// haproxide's own commands, which HAProxy does not have: `help` lists them after
/// HAProxy's list, under a heading of their own, and only where they apply (so
/// that without them `help` is HAProxy's list line for line).
pub const HAPROXIDE_DCS: (&str, &str) = (
    "show dcs",
    "report the followed Patroni clusters (haproxide)",
);

/// `help [<command>]`, with the haproxide-only trailer when a DCS is followed
/// (`show dcs`, docs/patroni.md).
pub fn help_with(words: &[&str], dcs: bool) -> String {
    let mut out = help(words);
    if dcs && (words.is_empty() || matches_prefix(HAPROXIDE_DCS.0, words)) {
        out.push_str("\nhaproxide commands (not in HAProxy):\n");
        line(&mut out, HAPROXIDE_DCS);
    }
    out
}

/// `help [<command>]`.
pub fn help(words: &[&str]) -> String {
    let mut out = String::from("The following commands are valid at this level:\n");
    for &c in COMMANDS {
        if words.is_empty() || matches_prefix(c.0, words) {
            line(&mut out, c);
        }
    }
    for &c in TAIL {
        line(&mut out, c);
    }
    out
}

/// Character bigrams of a string, for the fuzzy suggestions.
fn bigrams(s: &str) -> Vec<(char, char)> {
    let padded: Vec<char> = std::iter::once(' ')
        .chain(s.chars())
        .chain(std::iter::once(' '))
        .collect();
    padded.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Dice-like distance between the typed words and a command's keywords (lower is closer).
fn distance(typed: &str, usage: &str) -> usize {
    let a = bigrams(typed);
    let b = bigrams(&keywords(usage).join(" "));
    let common = a.iter().filter(|x| b.contains(x)).count();
    (a.len() + b.len()).saturating_sub(2 * common)
}

/// The answer to an unknown command: every command when nothing was typed, the
/// commands starting with the typed keywords when there are some, else the five
/// closest ones (haproxide's own similarity measure), then help/prompt/quit.
pub fn unknown(words: &[&str]) -> String {
    let mut out = String::new();
    if words.is_empty() {
        out.push_str("Unknown command. Please enter one of the following commands only:\n");
        for &c in COMMANDS {
            line(&mut out, c);
        }
    } else {
        out.push_str("Unknown command, but maybe one of the following ones is a better match:\n");
        let prefixed: Vec<_> = COMMANDS
            .iter()
            .filter(|c| matches_prefix(c.0, words) && keywords(c.0).len() > words.len())
            .collect();
        if !prefixed.is_empty() {
            for &&c in &prefixed {
                line(&mut out, c);
            }
        } else {
            let typed = words.join(" ");
            let mut ranked: Vec<(usize, usize)> = COMMANDS
                .iter()
                .enumerate()
                .map(|(i, c)| (distance(&typed, c.0), i))
                .collect();
            ranked.sort();
            let mut best: Vec<usize> = ranked.iter().take(5).map(|&(_, i)| i).collect();
            best.sort();
            for i in best {
                line(&mut out, COMMANDS[i]);
            }
        }
    }
    for &c in TAIL {
        line(&mut out, c);
    }
    out
}
