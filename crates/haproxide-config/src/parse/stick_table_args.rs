//! `stick-table` arguments (configuration.txt §4.2 `stick-table`), refused as
//! HAProxy 2.6's `parse_stick_table()` (stick_table.c) refuses them, with its
//! texts: `size` (parse_size_err), `expire` (parse_time_err), `type` and its
//! `len`, `store` data types with their arguments, `peers`, `srvkey`,
//! `nopurge`, and a missing size or type. The texts are after `parsing
//! [FILE:LINE]` and whether a space comes before its colon (`tight`).

use crate::value::{self, TimeError, TimeUnit};

/// The data types of 2.6 (`stktable_data_types`): name, an array (its size
/// first), a period argument.
const STORE: &[(&str, bool, bool)] = &[
    ("server_id", false, false),
    ("gpt0", false, false),
    ("gpc0", false, false),
    ("gpc0_rate", false, true),
    ("conn_cnt", false, false),
    ("conn_rate", false, true),
    ("conn_cur", false, false),
    ("sess_cnt", false, false),
    ("sess_rate", false, true),
    ("http_req_cnt", false, false),
    ("http_req_rate", false, true),
    ("http_err_cnt", false, false),
    ("http_err_rate", false, true),
    ("bytes_in_cnt", false, false),
    ("bytes_in_rate", false, true),
    ("bytes_out_cnt", false, false),
    ("bytes_out_rate", false, true),
    ("gpc1", false, false),
    ("gpc1_rate", false, true),
    ("server_key", false, false),
    ("http_fail_cnt", false, false),
    ("http_fail_rate", false, true),
    ("gpt", true, false),
    ("gpc", true, false),
    ("gpc_rate", true, true),
];

/// tools.c `parse_size_err`: an `unsigned int` with an optional k/m/g, or
/// the first character it cannot take.
fn parse_size(s: &str) -> Result<u32, char> {
    let first = |t: &str| t.chars().next().unwrap_or('\0');
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(first(s));
    }
    let mut v: u32 = 0;
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    for (i, b) in s.bytes().take(digits).enumerate() {
        match v
            .checked_mul(10)
            .and_then(|x| x.checked_add(u32::from(b - b'0')))
        {
            Some(x) => v = x,
            None => return Err(first(&s[i..])),
        }
    }
    let rest = &s[digits..];
    let shift = match rest.chars().next() {
        None => return Ok(v),
        Some('k' | 'K') => 10,
        Some('m' | 'M') => 20,
        Some('g' | 'G') => 30,
        Some(c) => return Err(c),
    };
    if v > u32::MAX >> shift {
        return Err(first(rest));
    }
    match rest.chars().nth(1) {
        Some(c) => Err(c),
        None => Ok(v << shift),
    }
}

/// One `store` list (HAProxy's in-place cut: a name, then `(a[,b])`).
fn store_refusal(list: &str) -> Option<String> {
    let b = list.as_bytes();
    let mut pos = 0;
    let mut seen: Vec<&str> = Vec::new();
    while pos < b.len() {
        let start = pos;
        let (mut name_end, mut sa, mut sa2): (Option<usize>, Option<&str>, Option<&str>) =
            (None, None, None);
        while pos < b.len() && b[pos] != b',' {
            if b[pos] == b'(' {
                name_end = Some(pos);
                let sa_start = pos + 1;
                let mut sa_end = None;
                pos += 1;
                while b.get(pos) != Some(&b')') {
                    if pos >= b.len() {
                        let cw = &list[start..name_end.unwrap_or(pos)];
                        return Some(format!(
                            "missing closing parenthesis after store option '{cw}'."
                        ));
                    }
                    if b[pos] == b',' {
                        sa_end = Some(pos);
                        sa2 = list
                            .get(pos + 1..)
                            .map(|r| r.split(')').next().unwrap_or(""));
                    }
                    pos += 1;
                }
                sa = list.get(sa_start..sa_end.unwrap_or(pos));
            }
            pos += 1;
        }
        let cw = &list[start..name_end.unwrap_or(pos.min(b.len()))];
        pos += 1;
        let Some(&(_, array, delay)) = STORE.iter().find(|(n, _, _)| *n == cw) else {
            return Some(format!("unknown store option '{cw}'."));
        };
        if seen.contains(&cw) {
            continue;
        }
        seen.push(cw);
        if array {
            let Some(n) = sa else {
                return Some(format!("missing argument to store option '{cw}'."));
            };
            // atoi(): an intended truncation to C's `int`.
            let n = value::atol(n) as i32;
            if n == 0 || n > 100 {
                return Some(format!(
                    "array size is out of allowed range (1-100) for store option '{cw}'."
                ));
            }
            sa = sa2;
        }
        match (delay, sa) {
            (false, Some(_)) => {
                return Some(format!("unexpected argument to store option '{cw}'."))
            }
            (true, None) => return Some(format!("missing argument to store option '{cw}'.")),
            (true, Some(t)) if value::parse_time_c(t, TimeUnit::Ms).is_err() => {
                return Some(format!("error when processing store option '{cw}'."))
            }
            _ => {}
        }
    }
    let has = |n: &str| seen.contains(&n);
    if has("gpt") && has("gpt0") {
        return Some("simultaneous usage of 'gpt' and 'gpt0' in a same table is not permitted as 'gpt' overrides 'gpt0'.".into());
    }
    if has("gpc") && (has("gpc0") || has("gpc1")) {
        return Some("simultaneous usage of 'gpc' and 'gpc[0/1]' in a same table is not permitted as 'gpc' overrides 'gpc[0/1]'.".into());
    }
    if has("gpc_rate") && (has("gpc0_rate") || has("gpc1_rate")) {
        return Some("simultaneous usage of 'gpc_rate' and 'gpc[0/1]_rate' in a same table is not permitted as 'gpc_rate' overrides 'gpc[0/1]_rate'.".into());
    }
    None
}

/// HAProxy's refusal of `stick-table <args>`: whether its location is
/// `parsing [FILE:LINE]:` (tight) rather than `parsing [FILE:LINE] :`, and
/// the text after it. `latest`: a line with what later versions add
/// (`recv-only`, `write-to`, `brates-factor`, `glitch_*` data) is not
/// checked.
pub(super) fn refusal(args: &[&str], latest: bool) -> Option<(bool, String)> {
    let later = |w: &&str| {
        matches!(*w, "recv-only" | "write-to" | "brates-factor") || w.contains("glitch_")
    };
    if latest && args.iter().any(later) {
        return None;
    }
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    let (mut i, mut size, mut typed) = (0, 0u32, false);
    let loose = |t: String| Some((false, format!("stick-table: {t}")));
    while !arg(i).is_empty() {
        let k = arg(i);
        let needs = matches!(k, "size" | "peers" | "expire");
        if needs && arg(i + 1).is_empty() {
            return loose(format!("missing argument after '{k}'."));
        }
        match k {
            "size" => {
                match parse_size(arg(i + 1)) {
                    Ok(v) => size = v,
                    Err(c) => {
                        return loose(format!("unexpected character '{c}' in argument of 'size'."))
                    }
                }
                i += 2;
            }
            "peers" => i += 2,
            "expire" => {
                let t = arg(i + 1);
                match value::parse_time_c(t, TimeUnit::Ms) {
                    Err(TimeError::Overflow) => return Some((true, format!("stick-table: timer overflow in argument <{t}> to <expire>, maximum value is 2147483647 ms (~24.8 days)."))),
                    Err(TimeError::Underflow) => return Some((true, format!("stick-table: timer underflow in argument <{t}> to <expire>, minimum non-null value is 1 ms."))),
                    Err(TimeError::UnexpectedChar(c)) => return loose(format!("unexpected character '{c}' in argument of 'expire'.")),
                    _ => {}
                }
                i += 2;
            }
            "nopurge" => i += 1,
            "type" => {
                i += 1;
                match arg(i) {
                    "ip" | "ipv6" | "integer" => i += 1,
                    "string" | "binary" if arg(i + 1) == "len" => {
                        i += 2;
                        if value::atol(arg(i)) == 0 {
                            return loose(format!("unknown type '{}'.", arg(i)));
                        }
                        i += 1;
                    }
                    "string" | "binary" => i += 1,
                    other => return loose(format!("unknown type '{other}'.")),
                }
                typed = true;
            }
            "store" => {
                if let Some(t) = store_refusal(arg(i + 1)) {
                    return loose(t);
                }
                i += 2;
            }
            "srvkey" => {
                let t = arg(i + 1);
                if !matches!(t, "name" | "addr") {
                    return Some((
                        false,
                        format!("stick-table : unknown server key type '{t}'."),
                    ));
                }
                i += 2;
            }
            other => return loose(format!("unknown argument '{other}'.")),
        }
    }
    if size == 0 {
        return loose("missing size.".into());
    }
    if !typed {
        return loose("missing type.".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{parse_size, refusal};

    fn r(line: &str) -> Option<String> {
        let w: Vec<&str> = line.split(' ').collect();
        refusal(&w, false).map(|(_, t)| t)
    }

    #[test]
    fn arguments_are_read_as_haproxy_reads_them() {
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("4g"), Err('g'));
        assert_eq!(parse_size("4294967296"), Err('6'));
        assert_eq!(parse_size("1mx"), Err('x'));
        assert_eq!(
            r("type ip size 1m expire 30s store gpc0,http_req_rate(10s)"),
            None
        );
        assert_eq!(
            r("type string len 32 size 10 store gpc(3),gpc_rate(2,1m)"),
            None
        );
        assert!(r("type ip size 0").is_some());
        assert!(r("type string len 0 size 10").is_some());
        assert!(r("type ip size 10 store gpc0(1)").is_some());
        assert!(r("type ip size 10 store http_req_rate").is_some());
        assert!(r("type ip size 10 store gpc(101)").is_some());
        assert!(r("type ip size 10 store gpt(1),gpt0").is_some());
        assert!(r("size 10").is_some());
    }
}
