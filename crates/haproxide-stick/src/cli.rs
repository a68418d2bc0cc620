//! The runtime API's table commands (management.txt §9.3 `show table`,
//! `clear table`, `set table`), answered as HAProxy 2.6.12 words them:
//! the same header and entry lines (an entry's address is a stable
//! stand-in for HAProxy's pointer), the same errors, and the same
//! privilege rules: on a listener below `operator` level, contents are
//! neither dumped nor cleared; a session below `operator` (after `user`)
//! is denied keyed commands.

use std::fmt::Write;

use haproxide_expr::stktab::Data;

use crate::table::{KeyType, Locked, Table};
use crate::{now_ms, Tables};

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Show,
    Clear,
    Set,
}

/// A command's answer: its text, or an error message (both end in `\n`).
pub type Answer = Result<String, String>;

#[derive(Clone, Copy)]
enum CmpOp {
    Eq,
    Ne,
    Le,
    Ge,
    Lt,
    Gt,
}

fn cmp_op(s: &str) -> Option<CmpOp> {
    Some(match s {
        "eq" => CmpOp::Eq,
        "ne" => CmpOp::Ne,
        "le" => CmpOp::Le,
        "ge" => CmpOp::Ge,
        "lt" => CmpOp::Lt,
        "gt" => CmpOp::Gt,
        _ => return None,
    })
}

/// HAProxy's `strl2llrc`: an optional sign and digits only.
fn parse_ll(s: &str) -> Option<i64> {
    let d = s.strip_prefix(['-', '+']).unwrap_or(s);
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn head(out: &mut String, t: &Table, target: bool, oper: bool, used: usize) {
    let _ = writeln!(
        out,
        "# table: {}, type: {}, size:{}, used:{}",
        t.spec.name,
        t.spec.key.name(),
        t.spec.size,
        used
    );
    if target && !oper {
        out.push_str("# contents not dumped due to insufficient privileges\n");
    }
}

fn key_text(out: &mut String, kt: KeyType, k: &[u8]) {
    match kt {
        KeyType::Ip => {
            if let Ok(a) = <[u8; 4]>::try_from(k) {
                let _ = write!(out, " key={}", std::net::Ipv4Addr::from(a));
            }
        }
        KeyType::Ipv6 => {
            if let Ok(a) = <[u8; 16]>::try_from(k) {
                let _ = write!(out, " key={}", std::net::Ipv6Addr::from(a));
            }
        }
        KeyType::Integer => {
            if let Ok(a) = <[u8; 4]>::try_from(k) {
                let _ = write!(out, " key={}", u32::from_be_bytes(a));
            }
        }
        KeyType::String(_) => {
            out.push_str(" key=");
            for &c in k.iter().take_while(|&&c| c != 0) {
                match c {
                    b'\t' => out.push_str("\\t"),
                    b'\n' => out.push_str("\\n"),
                    b'\r' => out.push_str("\\r"),
                    0x1b => out.push_str("\\e"),
                    b'\\' | b' ' | b'=' => {
                        out.push('\\');
                        out.push(c as char);
                    }
                    0x21..=0x7e => out.push(c as char),
                    _ => {
                        let _ = write!(out, "\\x{c:02X}");
                    }
                }
            }
        }
        KeyType::Binary(_) => {
            out.push_str(" key=");
            for c in k {
                let _ = write!(out, "{c:02X}");
            }
        }
    }
}

/// One entry's line (`table_dump_entry_to_buffer`).
fn entry(out: &mut String, l: &mut Locked<'_>, k: &[u8]) {
    let t = l.t;
    let now = l.now;
    let Some(e) = l.g.map.get(k) else {
        return;
    };
    // HAProxy prints the entry's address; a stable stand-in here.
    let _ = write!(out, "0x{:012x}:", 0x5600_0000_0000u64 + e_id(k));
    key_text(out, t.spec.key, k);
    let exp = if e.exp == u64::MAX {
        0
    } else {
        e.exp.saturating_sub(now)
    };
    let _ = write!(out, " use={} exp={}", e.refs, exp);
    let tick = now as u32;
    for (i, (d, period)) in t.spec.store.iter().enumerate() {
        let v = e.vals[i];
        if d.is_rate() {
            let _ = write!(out, " {}({})={}", d.name(), period, v.f.read(*period, tick));
        } else {
            match d {
                Data::ServerKey => {
                    let _ = write!(out, " {}={}", d.name(), e.skey.as_deref().unwrap_or("-"));
                }
                Data::ServerId => {
                    let _ = write!(out, " {}={}", d.name(), v.n as u32 as i32);
                }
                Data::BytesInCnt | Data::BytesOutCnt => {
                    let _ = write!(out, " {}={}", d.name(), v.n);
                }
                _ => {
                    let _ = write!(out, " {}={}", d.name(), v.n as u32);
                }
            }
        }
    }
    out.push('\n');
}

/// A stable number per key (FNV-1a), shaped like an address.
fn e_id(k: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in k {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    (h & 0xff_ffff_fff0) | 0x10
}

fn value_of(l: &mut Locked<'_>, k: &[u8], d: Data) -> i64 {
    l.read(k, d).map_or(0, |v| match d {
        Data::ServerId => v as u32 as i32 as i64,
        Data::BytesInCnt | Data::BytesOutCnt => v as i64,
        _ => v as u32 as i64,
    })
}

/// `show|clear|set table [<name> [filter...]]`: `args` are the words after
/// `table`; `(bind, now)`: the listener's and the session's level are at
/// least `operator`.
pub fn run(
    tables: &Tables,
    action: Action,
    args: &[&str],
    (oper, now_oper): (bool, bool),
) -> Answer {
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    let now = now_ms();
    if arg(0).is_empty() {
        if action != Action::Show {
            return Err(args_error(action));
        }
        let mut out = String::new();
        // HAProxy lists the last declared first (`stktables_list`).
        for t in tables.list.iter().rev() {
            if t.spec.size > 0 {
                let used = t.used(now);
                head(&mut out, t, false, oper, used);
            }
        }
        return Ok(out);
    }
    let Some(t) = tables.find(arg(0)) else {
        return Err("No such table\n".into());
    };
    match arg(1) {
        "key" => per_key(t, action, args, now_oper, now),
        w if w.starts_with("data.") => {
            if action == Action::Set {
                return Err(
                    "content-based lookup is only supported with the \"show\" and \"clear\" actions\n"
                        .into(),
                );
            }
            let mut filters = Vec::new();
            let mut i = 0;
            while i < 4 {
                let w = arg(1 + 3 * i);
                if i > 0 && w.is_empty() {
                    break;
                }
                let Some(d) = w.strip_prefix("data.").and_then(Data::from_name) else {
                    return Err(format!("Filter entry #{}: Unknown data type\n", i + 1));
                };
                if t.slot(d).is_none() {
                    return Err(format!(
                        "Filter entry #{}: Data type not stored in this table\n",
                        i + 1
                    ));
                }
                let Some(op) = cmp_op(arg(2 + 3 * i)) else {
                    return Err(format!("Filter entry #{}: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n", i + 1));
                };
                let Some(v) = parse_ll(arg(3 + 3 * i)) else {
                    return Err(format!(
                        "Filter entry #{}: Require a valid integer value to compare against\n",
                        i + 1
                    ));
                };
                filters.push((d, op, v));
                i += 1;
            }
            if !arg(1 + 3 * i).is_empty() {
                return Err(format!(
                    "Detected extra data in filter, {}th word of input, after '{}'\n",
                    3 + 3 * i + 1,
                    arg(3 * i)
                ));
            }
            Ok(walk(t, action, &filters, oper, now))
        }
        "" => Ok(walk(t, action, &[], oper, now)),
        _ => Err(args_error(action)),
    }
}

fn args_error(action: Action) -> String {
    match action {
        Action::Show => "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n",
        Action::Clear => "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n",
        Action::Set => "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n",
    }
    .into()
}

fn skip(data: i64, op: CmpOp, v: i64) -> bool {
    use CmpOp::*;
    (data < v && matches!(op, Eq | Gt | Ge))
        || (data == v && matches!(op, Ne | Gt | Lt))
        || (data > v && matches!(op, Eq | Lt | Le))
}

/// The whole table, filtered (`cli_io_handler_table`).
fn walk(t: &Table, action: Action, filters: &[(Data, CmpOp, i64)], oper: bool, now: u64) -> String {
    let mut out = String::new();
    if t.spec.size == 0 {
        return out;
    }
    let mut l = t.lock(now);
    let used = l.g.map.len();
    if action == Action::Show {
        head(&mut out, t, true, oper, used);
    }
    if !oper {
        return out;
    }
    let keys: Vec<Box<[u8]>> = l.g.map.keys().cloned().collect();
    for k in keys {
        let skipped = filters
            .iter()
            .any(|&(d, op, v)| skip(value_of(&mut l, &k, d), op, v));
        match action {
            Action::Show if !skipped => entry(&mut out, &mut l, &k),
            // `set table <t>` without a key walks the table as `clear` does:
            // HAProxy 2.6.12 empties it (measured; its walk kills every
            // unfiltered entry for any action but `show`).
            Action::Clear | Action::Set if !skipped => {
                l.remove(&k);
            }
            _ => {}
        }
    }
    out
}

fn per_key(t: &Table, action: Action, args: &[&str], oper: bool, now: u64) -> Answer {
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    let text = arg(2);
    if text.is_empty() {
        return Err("Key value expected\n".into());
    }
    let k = match t.spec.key {
        KeyType::Ip | KeyType::Ipv6 => match t.spec.key.parse_key(text) {
            Some(k) => k,
            None if t.spec.key == KeyType::Ip => Box::from([0u8; 4]),
            None => return Err("Invalid key\n".into()),
        },
        KeyType::Integer => match t.spec.key.parse_key(text) {
            Some(k) => k,
            None => return Err("Invalid key\n".into()),
        },
        KeyType::String(_) => t.spec.key.parse_key(text).unwrap_or_default(),
        KeyType::Binary(_) => {
            return Err(match action {
                Action::Show => "Showing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
                Action::Clear => "Removing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
                Action::Set => "Inserting keys into tables of type other than ip, ipv6, string and integer is not supported\n",
            }
            .into())
        }
    };
    if !oper {
        return Err("Permission denied\n".into());
    }
    let mut l = t.lock(now);
    match action {
        Action::Show => {
            let mut out = String::new();
            if l.g.map.contains_key(&k) {
                let used = l.g.map.len();
                head(&mut out, t, true, oper, used);
                entry(&mut out, &mut l, &k);
            }
            Ok(out)
        }
        Action::Clear => {
            if l.g.map.contains_key(&k) && !l.remove(&k) {
                return Err("Entry currently in use, cannot remove\n".into());
            }
            Ok(String::new())
        }
        Action::Set => {
            if !l.get_or_create(&k) {
                return Err("Unable to allocate a new entry\n".into());
            }
            let tick = now as u32;
            let mut i = 3;
            while !arg(i).is_empty() {
                let Some(name) = arg(i).strip_prefix("data.") else {
                    l.touch(&k);
                    return Err("\"data.<type>\" followed by a value expected\n".into());
                };
                let Some(d) = Data::from_name(name) else {
                    l.touch(&k);
                    return Err("Unknown data type\n".into());
                };
                let Some(slot) = t.slot(d) else {
                    l.touch(&k);
                    return Err("Data type not stored in this table\n".into());
                };
                let Some(v) = parse_ll(arg(i + 1)) else {
                    l.touch(&k);
                    return Err("Require a valid integer value to store\n".into());
                };
                if let Some(vals) = l.vals(&k) {
                    let x = &mut vals[slot];
                    if d.is_rate() {
                        x.f.curr_tick = tick & !1;
                        x.f.prev_ctr = 0;
                        x.f.curr_ctr = v as u32;
                    } else if matches!(d, Data::BytesInCnt | Data::BytesOutCnt) {
                        x.n = v as u64;
                    } else {
                        x.n = u64::from(v as u32);
                    }
                }
                i += 2;
            }
            l.touch(&k);
            Ok(String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TableSpec;

    fn tables() -> Tables {
        Tables::new(vec![TableSpec {
            name: "fe".into(),
            key: KeyType::Ip,
            size: 100,
            expire: Some(60_000),
            store: vec![(Data::Gpc0, 0), (Data::HttpReqRate, 10_000)],
            nopurge: false,
            handover: false,
            srvkey_addr: false,
        }])
    }

    fn mask(s: &str) -> String {
        s.lines()
            .map(|l| match l.split_once(": key=") {
                Some((_, rest)) => {
                    let rest: Vec<String> = rest
                        .split(' ')
                        .map(|w| {
                            if w.starts_with("exp=") {
                                "exp=X".into()
                            } else {
                                w.to_string()
                            }
                        })
                        .collect();
                    format!("P: key={}", rest.join(" "))
                }
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn set_show_clear_as_haproxy_words_them() {
        let t = tables();
        assert_eq!(
            run(&t, Action::Show, &[], (true, true)).unwrap(),
            "# table: fe, type: ip, size:100, used:0\n"
        );
        let op = (true, true);
        run(
            &t,
            Action::Set,
            &["fe", "key", "10.0.0.2", "data.gpc0", "7"],
            op,
        )
        .unwrap();
        run(
            &t,
            Action::Set,
            &["fe", "key", "10.0.0.1", "data.http_req_rate", "3"],
            op,
        )
        .unwrap();
        let out = run(&t, Action::Show, &["fe"], op).unwrap();
        assert_eq!(
            mask(&out),
            "# table: fe, type: ip, size:100, used:2\n\
             P: key=10.0.0.1 use=0 exp=X gpc0=0 http_req_rate(10000)=3\n\
             P: key=10.0.0.2 use=0 exp=X gpc0=7 http_req_rate(10000)=0"
        );
        let f = run(&t, Action::Show, &["fe", "data.gpc0", "gt", "0"], op).unwrap();
        assert_eq!(f.lines().count(), 2);
        // A user-level listener: the header and a notice only, nothing cleared;
        // a user-level session: keyed commands denied.
        let user = (false, false);
        let u = run(&t, Action::Show, &["fe"], user).unwrap();
        assert!(u.ends_with("# contents not dumped due to insufficient privileges\n"));
        assert_eq!(run(&t, Action::Clear, &["fe"], user), Ok(String::new()));
        assert_eq!(
            run(&t, Action::Clear, &["fe", "key", "10.0.0.1"], user),
            Err("Permission denied\n".into())
        );
        assert_eq!(t.list[0].used(now_ms()), 2);
        assert_eq!(
            run(
                &t,
                Action::Set,
                &["fe", "key", "10.0.0.1", "data.conn_cnt", "1"],
                op
            ),
            Err("Data type not stored in this table\n".into())
        );
        assert_eq!(
            run(&t, Action::Show, &["nope"], op),
            Err("No such table\n".into())
        );
        run(&t, Action::Clear, &["fe", "key", "10.0.0.1"], op).unwrap();
        assert_eq!(t.list[0].used(now_ms()), 1);
        run(&t, Action::Clear, &["fe"], op).unwrap();
        assert_eq!(t.list[0].used(now_ms()), 0);
    }
}
