//! management.txt §9.3 `show|add|del|clear|get|prepare|commit acl|map` and
//! `set map`: the runtime API over the process's pattern references
//! ([`haproxide_expr::patref`]), worded as HAProxy 2.6.12 (`map.c`).
//!
//! Level: every one of these commands needs `admin`. HAProxy 2.6.12 checks no
//! level at all (a `user` socket can rewrite a map); HAProxy fixed that in
//! 3.4/3.3 ("BUG/MEDIUM: map/cli: CLI commands lack admin permission checks"),
//! and haproxide follows the fix (the session checks it before calling here).

use haproxide_expr::patref::{PatRef, Registry, ACL, MAP, SMP};
use std::sync::Arc;

const UNKNOWN_MAP: &str = "Unknown map identifier. Please use #<id> or <file>.\n";
const UNKNOWN_ACL: &str = "Unknown ACL identifier. Please use #<id> or <file>.\n";

/// HAProxy's `str2uic`: leading digits, else 0.
fn str2uic(s: &str) -> u32 {
    let d: String = s.chars().take_while(char::is_ascii_digit).collect();
    d.parse::<u64>().map_or(0, |v| v as u32)
}

/// `<verb> acl|map <rest...>`; `payload` is what followed a `<<` line.
pub fn run(reg: &Registry, verb: &str, what: &str, rest: &[&str], payload: Option<&str>) -> String {
    let map = what == "map";
    let flag = if map { MAP } else { ACL };
    let unknown = if map { UNKNOWN_MAP } else { UNKNOWN_ACL };
    let arg = |i: usize| rest.get(i).copied().unwrap_or("");
    // An optional `@<ver>` before the reference.
    let (gen, rest) = match rest.first().and_then(|a| a.strip_prefix('@')) {
        Some(g) if verb != "commit" => (Some(str2uic(g)), &rest[1..]),
        _ => (None, rest),
    };
    let arg2 = |i: usize| rest.get(i).copied().unwrap_or("");
    let with_flag = |name: &str| reg.lookup(name).filter(|r| r.flags() & flag != 0);
    match verb {
        "show" => {
            if arg(0).is_empty() {
                return list(reg, flag);
            }
            let Some(r) = with_flag(arg2(0)) else {
                return unknown.into();
            };
            r.entries_of(gen)
                .iter()
                .map(|e| match &e.value {
                    Some(v) => format!("{:#x} {} {v}\n", e.id, e.key),
                    None => format!("{:#x} {}\n", e.id, e.key),
                })
                .collect()
        }
        "add" => add(reg, map, gen, rest, payload),
        "del" => {
            if arg(0).is_empty() || arg(1).is_empty() {
                let what = if map { "map" } else { "ACL" };
                return format!(
                    "This command expects two parameters: {what} identifier and key.\n"
                );
            }
            let Some(r) = with_flag(arg(0)) else {
                return UNKNOWN_MAP.into();
            };
            if let Some(h) = arg(1).strip_prefix("#0x") {
                if u64::from_str_radix(h, 16).is_err() {
                    return "Malformed identifier. Please use #<id> or <file>.\n".into();
                }
            }
            let _w = reg.write_guard();
            if r.delete(arg(1)) {
                String::new()
            } else {
                "Key not found.\n".into()
            }
        }
        "set" => {
            if arg(0).is_empty() || arg(1).is_empty() || arg(2).is_empty() {
                return "'set map' expects three parameters: map identifier, key and value.\n"
                    .into();
            }
            let Some(r) = reg.lookup(arg(0)) else {
                return UNKNOWN_MAP.into();
            };
            if let Some(h) = arg(1).strip_prefix("#0x") {
                if u64::from_str_radix(h, 16).is_err() {
                    return "Malformed identifier. Please use #<id> or <file>.\n".into();
                }
            }
            let _w = reg.write_guard();
            match r.set(arg(1), arg(2)) {
                Ok(()) => String::new(),
                Err(e) => format!("{e}.\n"),
            }
        }
        "clear" => {
            if arg2(0).is_empty() {
                return format!("Missing {} identifier.\n", if map { "map" } else { "ACL" });
            }
            let Some(r) = with_flag(arg2(0)) else {
                return unknown.into();
            };
            let _w = reg.write_guard();
            r.clear(gen);
            String::new()
        }
        "prepare" => {
            let Some(r) = with_flag(arg(0)) else {
                return unknown.into();
            };
            let _w = reg.write_guard();
            format!("New version created: {}\n", r.prepare())
        }
        "commit" => {
            let Some(g) = arg(0).strip_prefix('@') else {
                return "Missing version number.\n".into();
            };
            if arg(1).is_empty() {
                return format!("Missing {} identifier.\n", if map { "map" } else { "ACL" });
            }
            let Some(r) = with_flag(arg(1)) else {
                return unknown.into();
            };
            let _w = reg.write_guard();
            if r.commit(str2uic(g)) {
                String::new()
            } else {
                "Version number out of range.\n".into()
            }
        }
        _ => get(reg, map, rest),
    }
}

/// `show acl|map` without a reference: every reference of that kind.
fn list(reg: &Registry, flag: u8) -> String {
    let mut out = String::from("# id (file) description\n");
    for (id, r) in reg.all() {
        if r.flags() & flag == 0 {
            continue;
        }
        let (curr, next) = r.versions();
        out.push_str(&format!(
            "{id} ({}) {}. curr_ver={curr} next_ver={next} entry_cnt={}\n",
            r.reference.as_deref().unwrap_or(""),
            r.display,
            r.entries().len()
        ));
    }
    out
}

/// `add acl|map [@<ver>] <ref> <key> [<value>]`, or a payload of
/// `<key> <value>` lines (`add map <ref> <<`).
fn add(
    reg: &Registry,
    map: bool,
    gen: Option<u32>,
    rest: &[&str],
    payload: Option<&str>,
) -> String {
    let arg = |i: usize| rest.get(i).copied().unwrap_or("");
    if map {
        if (payload.is_none() && (arg(0).is_empty() || arg(1).is_empty() || arg(2).is_empty()))
            || (payload.is_some() && arg(0).is_empty())
        {
            return "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n".into();
        }
    } else if arg(0).is_empty() || arg(1).is_empty() {
        return "'add acl' expects two parameters: ACL identifier and pattern.\n".into();
    }
    let Some(r) = reg.lookup(arg(0)) else {
        return if map { UNKNOWN_MAP } else { UNKNOWN_ACL }.into();
    };
    if let Some(g) = gen {
        if (g.wrapping_sub(r.versions().1) as i32) > 0 {
            let what = if map { "map" } else { "acl" };
            return format!("Version number in the future, please use 'prepare {what}' before.\n");
        }
    }
    if !map && r.flags() & SMP != 0 {
        return "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n".into();
    }
    let _w = reg.write_guard();
    let one = |r: &Arc<PatRef>, k: &str, v: Option<&str>| -> Result<(), String> {
        r.add(gen, k, if map { v } else { None })
            .map_err(|e| format!("{e}.\n"))
    };
    let done = match payload {
        None => one(&r, arg(1), Some(arg(2))),
        Some(p) => p.lines().filter(|l| !l.is_empty()).try_for_each(|l| {
            let (k, v) = match l.find([' ', '\t']) {
                Some(i) => (&l[..i], l[i..].trim_start_matches([' ', '\t'])),
                None if map => return Err(format!("Missing value for key '{l}'.\n")),
                None => (l, ""),
            };
            one(&r, k, Some(v))
        }),
    };
    done.err().unwrap_or_default()
}

/// `get acl|map <ref> <value>`: one line per expression reading the reference.
fn get(reg: &Registry, map: bool, rest: &[&str]) -> String {
    let (Some(name), Some(value)) = (rest.first(), rest.get(1)) else {
        return if map {
            "Missing map identifier and/or key.\n"
        } else {
            "Missing ACL identifier and/or key.\n"
        }
        .into();
    };
    let Some(r) = reg.lookup(name) else {
        return if map { UNKNOWN_MAP } else { UNKNOWN_ACL }.into();
    };
    let entries = r.entries_of(None);
    r.users()
        .iter()
        .map(|u| format!("{}\n", u.lookup(&entries, value, map)))
        .collect()
}

#[cfg(test)]
mod tests;
