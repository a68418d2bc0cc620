//! Cookie persistence (configuration.txt §4.2 `cookie`, §5.2 `cookie`), sans-IO.
//!
//! HAProxy 2.6's three steps, in its order and with its byte edits:
//! [`client_side`] reads the request's `Cookie` headers (which server the client
//! asks for; the cookie is removed in `insert indirect` mode and unprefixed in
//! `prefix` mode), [`server_side`] reads the response's `Set-Cookie` headers
//! (deleted, rewritten or prefixed), and [`insert`] adds HAProxy's own
//! `Set-Cookie` (with `nocache`, a `Cache-control: private`). The states they
//! return are the 3rd and 4th letters of the log's termination state (§8.5).
//! The clock is the caller's (`now`, UNIX seconds).

use crate::head::Headers;

/// How the persistence cookie is handled (§4.2 `cookie`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CookieMode {
    /// None of `insert`, `rewrite`, `prefix`: the server sets the cookie.
    #[default]
    Passive,
    Insert,
    Rewrite,
    Prefix,
}

/// A backend's `cookie <name> [options]` line, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieSpec {
    pub name: String,
    pub mode: CookieMode,
    pub indirect: bool,
    pub nocache: bool,
    pub postonly: bool,
    pub preserve: bool,
    pub httponly: bool,
    pub secure: bool,
    /// `domain` values joined as HAProxy sends them (`a; domain=b`).
    pub domain: Option<String>,
    /// `maxidle` / `maxlife` in seconds (0: none).
    pub maxidle: u32,
    pub maxlife: u32,
    /// `attr` values joined with `; `.
    pub attrs: Option<String>,
}

impl CookieSpec {
    /// Whether the log shows the cookie letters of the termination state
    /// (HAProxy's `PR_CK_ANY`: rewrite, indirect, insert or prefix).
    pub fn logs_state(&self) -> bool {
        self.mode != CookieMode::Passive || self.indirect
    }
}

/// A server as the cookie code sees it.
#[derive(Debug, Clone, Copy)]
pub struct ServerCookie<'a> {
    /// The server's `cookie <value>`.
    pub cookie: Option<&'a [u8]>,
    /// Not stopped (HAProxy's `cur_state != SRV_ST_STOPPED`).
    pub up: bool,
}

/// What the request's cookies said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCookie {
    /// The server the cookie designates (HAProxy's `SF_DIRECT`).
    pub server: Option<usize>,
    /// `N` none, `I` invalid, `D` down server, `V` valid, `E` expired, `O` old,
    /// `U` unused.
    pub state: u8,
    /// Dates found in the cookie (`maxidle` / `maxlife`), UNIX seconds, 0 if none.
    pub first_date: u32,
    pub last_date: u32,
}

/// Flags of the request that decide whether the cookie may be used.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersistFlags {
    /// `ignore-persist` matched.
    pub ignore: bool,
    /// `force-persist` matched.
    pub force: bool,
    /// `option persist`.
    pub persist: bool,
    /// A server was already assigned (`use-server`).
    pub assigned: bool,
}

fn sp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// HAProxy's `http_find_cookie_value_end`: the end of a value, quotes respected.
fn cookie_value_end(v: &[u8], mut s: usize) -> usize {
    let (mut quoted, mut qdpair) = (false, false);
    while s < v.len() {
        let c = v[s];
        if qdpair {
            qdpair = false;
        } else if quoted {
            if c == b'\\' {
                qdpair = true;
            } else if c == b'"' {
                quoted = false;
            }
        } else if c == b'"' {
            quoted = true;
        } else if c == b',' || c == b';' {
            return s;
        }
        s += 1;
    }
    s
}

/// HAProxy's `http_del_hdr_value`: removes `from..next` (a delimiter or the
/// start, to a delimiter or the end) keeping one delimiter and a space. Returns
/// the new `from` and the length change (negative or zero).
fn del_value(v: &mut Vec<u8>, from: usize, next: usize) -> (usize, isize) {
    let end = v.len();
    let (mut prev, mut next) = (from, next);
    let mut new_from = from;
    if prev == 0 {
        if next < end {
            next += 1;
        }
        while next < end && sp(v[next]) {
            next += 1;
        }
    } else {
        while prev > 0 && sp(v[prev - 1]) {
            prev -= 1;
        }
        new_from = prev;
        if next < end {
            v[prev] = v[next];
            prev += 1;
            next += 1;
            if prev + 1 < next {
                v[prev] = b' ';
                prev += 1;
            }
            while next < end && sp(v[next]) {
                next += 1;
            }
        }
    }
    v.drain(prev..next);
    (new_from, prev as isize - next as isize)
}

fn add(i: usize, d: isize) -> usize {
    (i as isize + d).max(0) as usize
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// HAProxy's `s30tob64`: a 30-bit value as 5 base64 characters.
fn s30tob64(v: u32, out: &mut Vec<u8>) {
    let mut x = v;
    for _ in 0..5 {
        out.push(B64[((x >> 24) & 0x3f) as usize]);
        x <<= 6;
    }
}

/// HAProxy's `b64tos30`; negative on a bad character.
fn b64tos30(s: &[u8]) -> i64 {
    let mut out: i64 = 0;
    for &c in s.iter().take(5) {
        let Some(b) = B64.iter().position(|&x| x == c) else {
            return -1;
        };
        out = (out << 6) + b as i64;
    }
    out
}

/// Whether `a` differs from `now` by more than `limit` (HAProxy's signed 32-bit
/// date arithmetic), or lies more than a day in the future.
fn too_far(now: u32, date: u32, limit: u32) -> bool {
    (now.wrapping_sub(date) as i32) > limit as i32 || (date.wrapping_sub(now) as i32) > 86400
}

/// The request side (HAProxy's `http_manage_client_side_cookies`, persistence
/// part): finds the server the cookie names, and edits the `Cookie` headers.
pub fn client_side(
    spec: &CookieSpec,
    headers: &mut Headers,
    servers: &[ServerCookie<'_>],
    flags: PersistFlags,
    now: u32,
) -> ClientCookie {
    let mut out = ClientCookie {
        server: None,
        state: b'N',
        first_date: 0,
        last_date: 0,
    };
    let mut assigned = flags.assigned;
    let name = spec.name.as_bytes();
    let mut i = 0;
    while let Some(h) = headers.at(i) {
        if !h.is("cookie") {
            i += 1;
            continue;
        }
        let mut v = h.value.to_vec();
        let mut del_from: Option<usize> = None;
        let mut preserve_hdr = false;
        let mut prev = 0usize;
        let mut first = true;
        while prev < v.len() {
            let mut att_beg = prev + usize::from(!first);
            first = false;
            while att_beg < v.len() && sp(v[att_beg]) {
                att_beg += 1;
            }
            let (mut equal, mut att_end) = (att_beg, att_beg);
            while equal < v.len() {
                let c = v[equal];
                if c == b'=' || c == b',' || c == b';' {
                    break;
                }
                equal += 1;
                if !sp(c) {
                    att_end = equal;
                }
            }
            let (mut val_beg, mut val_end, mut next);
            if equal < v.len() && v[equal] == b'=' {
                val_beg = equal + 1;
                while val_beg < v.len() && sp(v[val_beg]) {
                    val_beg += 1;
                }
                next = cookie_value_end(&v, val_beg);
                val_end = next;
                while val_end > val_beg && sp(v[val_end - 1]) {
                    val_end -= 1;
                }
            } else {
                val_beg = equal;
                val_end = equal;
                next = equal;
            }
            if v.get(att_beg) == Some(&b'$') {
                prev = next;
                continue;
            }
            if equal == next {
                // No equal sign: not ours, kept.
                preserve_hdr = true;
                if let Some(df) = del_from.take() {
                    let (_, d) = del_value(&mut v, df, prev);
                    next = add(next, d);
                }
                prev = next;
                continue;
            }
            // Spaces around the equal sign are removed.
            next -= squeeze_equal(&mut v, att_end, &mut equal, &mut val_beg, &mut val_end);
            if att_end - att_beg == name.len() && &v[att_beg..att_end] == name {
                let mut delim;
                if spec.mode == CookieMode::Prefix {
                    delim = (val_beg..val_end)
                        .find(|&k| v[k] == b'~')
                        .unwrap_or(val_end);
                } else {
                    delim = val_end;
                    if let Some(bar) = (val_beg..val_end).find(|&k| v[k] == b'|') {
                        delim = bar;
                        let vb = bar + 1;
                        if val_end - vb >= 5 {
                            let x = b64tos30(&v[vb..vb + 5]);
                            if x > 0 {
                                out.last_date = (x << 2) as u32;
                            }
                        }
                        if let Some(b2) = (vb..val_end).find(|&k| v[k] == b'|') {
                            if val_end - b2 > 5 {
                                let x = b64tos30(&v[b2 + 1..b2 + 6]);
                                if x > 0 {
                                    out.first_date = (x << 2) as u32;
                                }
                            }
                        }
                    }
                }
                if out.first_date != 0
                    && spec.maxlife != 0
                    && too_far(now, out.first_date, spec.maxlife)
                {
                    out.state = b'O';
                    delim = val_beg;
                    out.first_date = 0;
                    out.last_date = 0;
                } else if out.last_date != 0
                    && spec.maxidle != 0
                    && too_far(now, out.last_date, spec.maxidle)
                {
                    out.state = b'E';
                    delim = val_beg;
                    out.first_date = 0;
                    out.last_date = 0;
                }
                let mut found = None;
                if delim != val_beg && !flags.ignore && !assigned {
                    for (k, s) in servers.iter().enumerate() {
                        if s.cookie == Some(&v[val_beg..delim]) {
                            if s.up || flags.persist || flags.force {
                                out.state = if s.up { b'V' } else { b'D' };
                                found = Some(k);
                                assigned = true;
                                break;
                            }
                            out.state = b'D';
                        }
                    }
                }
                if found.is_some() {
                    out.server = found;
                } else if out.state == b'N' {
                    // HAProxy tests the state against D|E|O as bits, which
                    // covers every state but N.
                    out.state = if flags.ignore || assigned { b'U' } else { b'I' };
                }
                if spec.mode == CookieMode::Prefix && delim != val_end {
                    let d = delim + 1 - val_beg;
                    v.drain(val_beg..delim + 1);
                    next -= d;
                    del_from = None;
                    preserve_hdr = true;
                } else if del_from.is_none() && spec.mode == CookieMode::Insert && spec.indirect {
                    del_from = Some(prev);
                }
            } else {
                preserve_hdr = true;
                if let Some(df) = del_from.take() {
                    let (_, d) = del_value(&mut v, df, prev);
                    next = add(next, d);
                }
            }
            prev = next;
        }
        if let Some(df) = del_from {
            v.truncate(if preserve_hdr { df } else { 0 });
        }
        if v.is_empty() {
            headers.remove(i);
        } else {
            set_if_changed(headers, i, &v);
            i += 1;
        }
    }
    out
}

/// The response side (HAProxy's `http_manage_server_side_cookies`, persistence
/// part, `Set-Cookie` only): returns the `Set-Cookie` state letter (`N`, `P`
/// found and kept, `D` deleted, `R` rewritten).
pub fn server_side(
    spec: &CookieSpec,
    headers: &mut Headers,
    server_cookie: Option<&[u8]>,
    direct: bool,
    ignore: bool,
) -> u8 {
    let mut state = b'N';
    let name = spec.name.as_bytes();
    let mut i = 0;
    while let Some(h) = headers.at(i) {
        if !h.is("set-cookie") {
            i += 1;
            continue;
        }
        let v = &mut h.value.to_vec();
        let mut att_beg = 0;
        while att_beg < v.len() && sp(v[att_beg]) {
            att_beg += 1;
        }
        let (mut equal, mut att_end) = (att_beg, att_beg);
        while equal < v.len() {
            let c = v[equal];
            if c == b'=' || c == b';' {
                break;
            }
            equal += 1;
            if !sp(c) {
                att_end = equal;
            }
        }
        if !(equal < v.len() && v[equal] == b'=') {
            i += 1;
            continue;
        }
        let mut val_beg = equal + 1;
        while val_beg < v.len() && sp(v[val_beg]) {
            val_beg += 1;
        }
        let mut val_end = cookie_value_end(v, val_beg);
        while val_end > val_beg && sp(v[val_end - 1]) {
            val_end -= 1;
        }
        if equal == val_end {
            i += 1;
            continue;
        }
        squeeze_equal(v, att_end, &mut equal, &mut val_beg, &mut val_end);
        if ignore || att_end - att_beg != name.len() || &v[att_beg..att_end] != name {
            set_if_changed(headers, i, v);
            i += 1;
            continue;
        }
        state = b'P';
        if spec.preserve {
        } else if spec.mode == CookieMode::Insert || (direct && spec.indirect) {
            headers.remove(i);
            state = b'D';
            continue;
        } else if let (Some(c), CookieMode::Rewrite) = (server_cookie, spec.mode) {
            v.splice(val_beg..val_end, c.iter().copied());
            state = b'R';
        } else if let (Some(c), CookieMode::Prefix) = (server_cookie, spec.mode) {
            let mut ins = c.to_vec();
            ins.push(b'~');
            v.splice(val_beg..val_beg, ins);
            state = b'R';
        }
        set_if_changed(headers, i, v);
        i += 1;
    }
    state
}

/// Writes a rewritten cookie header value back (nothing when it is unchanged).
fn set_if_changed(headers: &mut Headers, i: usize, v: &[u8]) {
    if headers.at(i).is_some_and(|h| h.value != v) {
        headers.set_value(i, v);
    }
}

/// The transaction facts [`insert`] needs.
#[derive(Debug, Clone, Copy)]
pub struct InsertCtx<'a> {
    /// The server's `cookie` value (`None`: a server without one).
    pub server_cookie: Option<&'a [u8]>,
    pub client: ClientCookie,
    /// The `Set-Cookie` state from [`server_side`].
    pub set_state: u8,
    pub is_post: bool,
    pub ignore: bool,
    /// HAProxy's TX_CACHEABLE: `nocache` then adds `Cache-control: private`.
    /// HAProxy 2.6.12 never has it set at that point (measured: GET answered
    /// 200 with no cache header, `Cache-Control: public`, `Expires`), so the
    /// engine passes `false`, as the oracle behaves.
    pub cacheable: bool,
    pub now: u32,
}

/// Adds HAProxy's `Set-Cookie` in `insert` mode when the client must learn (or
/// refresh) it. Returns the new `Set-Cookie` state (`I` inserted, `U` updated,
/// else `set_state`).
pub fn insert(spec: &CookieSpec, headers: &mut Headers, c: InsertCtx<'_>) -> u8 {
    let direct = c.client.server.is_some();
    let last = c.client.last_date;
    let first = c.client.first_date;
    let refresh = !direct
        || ((spec.maxidle != 0 || last != 0)
            && (last == 0 || (last.wrapping_sub(c.now) as i32) < 0))
        || (spec.maxlife != 0 && first == 0)
        || (spec.maxlife == 0 && first != 0);
    if spec.mode != CookieMode::Insert
        || (c.set_state == b'P' && spec.preserve)
        || !refresh
        || (spec.postonly && !c.is_post)
        || c.ignore
    {
        return c.set_state;
    }
    let mut v: Vec<u8> = Vec::with_capacity(64);
    v.extend_from_slice(spec.name.as_bytes());
    match c.server_cookie {
        None => v.extend_from_slice(b"=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"),
        Some(sc) => {
            v.push(b'=');
            v.extend_from_slice(sc);
            if spec.maxidle != 0 || spec.maxlife != 0 {
                v.push(b'|');
                s30tob64(c.now.wrapping_add(3) >> 2, &mut v);
                if spec.maxlife != 0 {
                    v.push(b'|');
                    let f = if first != 0 {
                        first >> 2
                    } else {
                        c.now.wrapping_add(3) >> 2
                    };
                    s30tob64(f, &mut v);
                }
            }
            v.extend_from_slice(b"; path=/");
        }
    }
    if let Some(d) = &spec.domain {
        v.extend_from_slice(b"; domain=");
        v.extend_from_slice(d.as_bytes());
    }
    if spec.httponly {
        v.extend_from_slice(b"; HttpOnly");
    }
    if spec.secure {
        v.extend_from_slice(b"; Secure");
    }
    if let Some(a) = &spec.attrs {
        v.extend_from_slice(b"; ");
        v.extend_from_slice(a.as_bytes());
    }
    headers.push(b"Set-Cookie", &v);
    if spec.nocache && c.cacheable {
        headers.push(b"Cache-control", b"private");
    }
    if c.server_cookie.is_some() && direct {
        b'U'
    } else {
        b'I'
    }
}

/// Removes the spaces around a cookie attribute's `=` (between `att_end` and the
/// value at `val_beg`), moving `equal`, `val_beg` and `val_end` with the bytes;
/// returns how many bytes were removed.
fn squeeze_equal(
    v: &mut Vec<u8>,
    att_end: usize,
    equal: &mut usize,
    val_beg: &mut usize,
    val_end: &mut usize,
) -> usize {
    if att_end == *equal && *val_beg == *equal + 1 {
        return 0;
    }
    let before = *equal - att_end;
    v.drain(att_end..*equal);
    *equal -= before;
    *val_beg -= before;
    let after = *val_beg - (*equal + 1);
    v.drain(*equal + 1..*val_beg);
    *val_beg -= after;
    *val_end -= before + after;
    before + after
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
