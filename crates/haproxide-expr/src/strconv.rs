//! String converters (configuration.txt §7.3.1): `base64`, `b64dec`, `url_dec`,
//! `field`, `word`, `regsub`, and the `map_*` family over map files.

use std::borrow::Cow;
use std::sync::Arc;

use crate::acl::Opts;
use crate::args::Arg;
use crate::error::ExprError;
use crate::patref::{Consumer, Elt, Live, PatRef};
use crate::pattern::{MatchMethod, Patterns};
use crate::sample::{Sample, SmpType};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn b64_encode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(B64[(n >> 18) as usize & 63]);
        out.push(B64[(n >> 12) as usize & 63]);
        out.push(if c.len() > 1 {
            B64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if c.len() > 2 {
            B64[n as usize & 63]
        } else {
            b'='
        });
    }
    out
}

/// Standard base64 (padding required, as HAProxy's `base64dec`); `None` when
/// invalid.
pub fn b64_decode(b: &[u8]) -> Option<Vec<u8>> {
    if b.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| B64.iter().position(|&x| x == c).map(|v| v as u32);
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let quads = b.len() / 4;
    for (qi, q) in b.chunks(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && qi + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad as u32;
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}

pub(crate) fn base64<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Str(Cow::Owned(b64_encode(s.bytes()?))))
}
pub(crate) fn b64dec<'a>(_: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    Some(Sample::Bin(Cow::Owned(b64_decode(s.bytes()?)?)))
}

/// `url_dec([<in_form>])`: `%XX` decoded; `+` is a space in a query string
/// (after a `?`), or everywhere with a non-zero `in_form`. An invalid escape
/// makes the sample absent.
pub(crate) fn url_dec<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let b = s.bytes()?;
    let mut in_query = matches!(a.first(), Some(Arg::Int(v)) if *v != 0);
    if !b.iter().any(|&c| c == b'%' || c == b'+') {
        return Some(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = |c: u8| char::from(c).to_digit(16);
                let hi = h(*b.get(i + 1)?)?;
                let lo = h(*b.get(i + 2)?)?;
                out.push((hi << 4 | lo) as u8);
                i += 3;
                continue;
            }
            b'?' => in_query = true,
            b'+' if in_query => {
                out.push(b' ');
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(b[i]);
        i += 1;
    }
    Some(Sample::Str(Cow::Owned(out)))
}

fn field_word<'a>(a: &[Arg], s: Sample<'a>, merge: bool) -> Option<Sample<'a>> {
    let (Some(Arg::Int(idx)), Some(Arg::Str(delims))) = (a.first(), a.get(1)) else {
        return None;
    };
    let count = match a.get(2) {
        Some(Arg::Int(c)) => *c,
        _ => 1,
    };
    let Sample::Str(b) = s else { return None };
    let d = delims.as_bytes();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for (i, c) in b.iter().enumerate() {
        if d.contains(c) {
            spans.push((start, i));
            start = i + 1;
        }
    }
    spans.push((start, b.len()));
    if merge {
        spans.retain(|(s, e)| s < e);
    }
    let n = spans.len() as i64;
    // Index and count come from the configuration, any i64: saturating, a huge
    // count reaches the end and a huge index no field, as in HAProxy.
    let (first, last) = if *idx > 0 {
        let f = idx - 1;
        let l = if count == 0 {
            n - 1
        } else {
            f.saturating_add(count).saturating_sub(1)
        };
        (f, l.min(n - 1))
    } else if *idx < 0 {
        let l = n + idx;
        let f = if count == 0 {
            0
        } else {
            l.saturating_sub(count).saturating_add(1)
        };
        (f.max(0), l)
    } else {
        return None;
    };
    if first < 0 || first >= n || last < first {
        // HAProxy: a missing field is no sample; a missing word is empty.
        return merge.then_some(Sample::Str(Cow::Borrowed(b"")));
    }
    let (from, to) = (spans[first as usize].0, spans[last as usize].1);
    Some(Sample::Str(match b {
        Cow::Borrowed(b) => Cow::Borrowed(&b[from..to]),
        Cow::Owned(v) => Cow::Owned(v[from..to].to_vec()),
    }))
}

/// `field(<index>,<delimiters>[,<count>])`: the index-th field (1-based, negative
/// from the end), each delimiter character ending one.
pub(crate) fn field<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    field_word(a, s, false)
}
/// `word(<index>,<delimiters>[,<count>])`: as `field`, consecutive delimiters
/// counting once (empty words skipped).
pub(crate) fn word<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    field_word(a, s, true)
}

/// A compiled regular expression argument (`regsub`), compared by its text.
#[derive(Debug)]
pub struct Re {
    pub text: String,
    pub re: regex::bytes::Regex,
    pub global: bool,
}
impl PartialEq for Re {
    fn eq(&self, o: &Re) -> bool {
        self.text == o.text && self.global == o.global
    }
}
impl Eq for Re {}

/// `regsub(<regex>,<subst>[,<flags>])`: arguments typed once.
pub(crate) fn prepare_regsub(_: &str, args: Vec<Arg>, _: &Opts<'_>) -> Result<Vec<Arg>, ExprError> {
    let text = match args.first() {
        Some(Arg::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let subst = match args.get(1) {
        Some(Arg::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let flags = match args.get(2) {
        Some(Arg::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let mut ci = false;
    let mut global = false;
    for f in flags.chars() {
        match f {
            'i' => ci = true,
            'g' => global = true,
            _ => {
                return Err(ExprError::invalid(format!(
                    "invalid arg 3 in converter 'regsub' : invalid regex flag '{f}', only 'i' and 'g' are supported"
                )))
            }
        }
    }
    let re = regex::bytes::RegexBuilder::new(&text)
        .case_insensitive(ci)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| {
            ExprError::invalid(format!(
                "invalid arg 1 in converter 'regsub' : failed to parse regex '{text}'"
            ))
        })?;
    Ok(vec![
        Arg::Regex(Arc::new(Re { text, re, global })),
        Arg::Str(subst),
    ])
}

/// Appends `subst` with `\0`-`\9` replaced by the captures.
pub fn expand(subst: &[u8], caps: &regex::bytes::Captures<'_>, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < subst.len() {
        let c = subst[i];
        if c == b'\\' {
            if let Some(d) = subst.get(i + 1).filter(|d| d.is_ascii_digit()) {
                if let Some(m) = caps.get(usize::from(d - b'0')) {
                    out.extend_from_slice(m.as_bytes());
                }
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
}

pub(crate) fn regsub<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let (Some(Arg::Regex(re)), Some(Arg::Str(subst))) = (a.first(), a.get(1)) else {
        return None;
    };
    let b = s.bytes()?;
    let mut out = Vec::with_capacity(b.len());
    let mut last = 0;
    for caps in re.re.captures_iter(b) {
        let Some(m) = caps.get(0) else { continue };
        out.extend_from_slice(&b[last..m.start()]);
        expand(subst.as_bytes(), &caps, &mut out);
        last = m.end();
        if !re.global {
            break;
        }
    }
    out.extend_from_slice(&b[last..]);
    Some(Sample::Str(Cow::Owned(out)))
}

/// A map file loaded for a `map_*` converter (configuration.txt §7.3.1 "map"):
/// each line `<key> <value>`, matched with `method`, in file order. With a
/// pattern registry (crate::patref) the runtime API's `add/del/set/clear map`
/// change what [`Map::live`] holds.
#[derive(Debug)]
pub struct Map {
    pub file: String,
    table: MapTable,
    default: Option<Vec<u8>>,
    out: SmpType,
    live: Option<Arc<MapLive>>,
}
impl PartialEq for Map {
    fn eq(&self, o: &Map) -> bool {
        self.file == o.file && self.default == o.default && self.out == o.out
    }
}
impl Eq for Map {}

/// A map's compiled entries.
#[derive(Debug, Default)]
struct MapTable {
    entries: Vec<(Patterns, Vec<u8>)>,
    /// `map_regm*`: each key's regex, its captures `\1`-`\9` expanded in the value.
    regm: Vec<regex::bytes::Regex>,
    /// `map`/`map_str`: the first entry of each key (HAProxy looks exact
    /// strings up in a tree; the first loaded wins).
    index: Option<std::collections::HashMap<Vec<u8>, usize>>,
}

/// How a map converter compiles its reference's entries.
#[derive(Debug, Clone)]
struct MapKind {
    name: String,
    method: MatchMethod,
    out: SmpType,
}

impl MapKind {
    /// Compiles `(line, key, value)` items; `bad` words an error of one line.
    fn compile<'i>(
        &self,
        items: impl IntoIterator<Item = (usize, &'i str, &'i str)>,
        bad: &dyn Fn(usize, ExprError) -> ExprError,
    ) -> Result<MapTable, ExprError> {
        let mut t = MapTable::default();
        let backref = self.name.starts_with("map_regm");
        for (n, k, v) in items {
            if self.out == SmpType::Sint && v.parse::<i64>().is_err() {
                return Err(bad(
                    n,
                    ExprError::invalid(format!("unable to parse '{v}' as integer")),
                ));
            }
            let p = Patterns::parse(self.method, false, true, &[k.to_string()], None)
                .map_err(|e| bad(n, e))?;
            if backref {
                let re = regex::bytes::RegexBuilder::new(k)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|_| bad(n, ExprError::invalid(format!("regex '{k}' is invalid"))))?;
                t.regm.push(re);
            }
            t.entries.push((p, v.as_bytes().to_vec()));
        }
        if self.method == MatchMethod::Str {
            let mut idx = std::collections::HashMap::with_capacity(t.entries.len());
            for (i, (p, _)) in t.entries.iter().enumerate() {
                if let Some(k) = p.single_bytes() {
                    idx.entry(k.to_vec()).or_insert(i);
                }
            }
            t.index = Some(idx);
        }
        Ok(t)
    }
}

/// A map converter as a reader of its file's reference.
#[derive(Debug)]
struct MapLive {
    kind: MapKind,
    pref: Arc<PatRef>,
    live: Live<MapTable>,
}

impl Consumer for MapLive {
    fn rebuild(&self) {
        let cur = self.pref.current();
        let items = cur
            .iter()
            .map(|(k, v)| (0, k.as_str(), v.as_deref().unwrap_or("")));
        if let Ok(t) = self.kind.compile(items, &|_, e| e) {
            self.live.store(t);
        }
    }
    fn check(&self, key: &str, value: Option<&str>) -> Result<(), String> {
        let key = if key.is_empty() { "x" } else { key };
        self.kind
            .compile([(0, key, value.unwrap_or("0"))], &|_, e| e)
            .map(|_| ())
            .map_err(|e| e.message)
    }
    fn lookup(&self, entries: &[Elt], sample: &str, map: bool) -> String {
        let items = entries
            .iter()
            .map(|e| (0, e.key.as_str(), e.value.as_deref().unwrap_or("")));
        let found = self.kind.compile(items, &|_, e| e).ok().and_then(|t| {
            let s = Sample::Str(Cow::Borrowed(sample.as_bytes()));
            if t.regm.is_empty() {
                t.entries.iter().position(|(p, _)| p.matches(s.clone()))
            } else {
                t.regm.iter().position(|re| re.is_match(sample.as_bytes()))
            }
        });
        let hit = found.and_then(|i| entries.get(i));
        let vtype = hit.and_then(|e| {
            let v = Sample::Str(Cow::Owned(e.value.clone()?.into_bytes()));
            let v = if self.kind.out == SmpType::Str {
                Some(v)
            } else {
                v.cast(self.kind.out)
            };
            v.map(|v| v.ty().name())
        });
        let method = if self.kind.name.starts_with("map_regm") {
            "regm"
        } else {
            self.kind.method.name()
        };
        crate::patref::lookup_line(method, false, hit, map, vtype)
    }
}

/// The match method and output type a map converter's name says.
pub(crate) fn map_kind(name: &str) -> (MatchMethod, SmpType) {
    let rest = name.strip_prefix("map").unwrap_or("");
    let rest = rest.strip_prefix('_').unwrap_or(rest);
    let (m, out) = match rest.split_once('_') {
        Some((m, o)) => (m, o),
        None => (rest, "str"),
    };
    let out = match out {
        "int" => SmpType::Sint,
        "ip" => SmpType::Addr,
        _ => SmpType::Str,
    };
    let method = match m {
        "" | "str" => MatchMethod::Str,
        "regm" => MatchMethod::Reg,
        "int" => MatchMethod::Int,
        "ip" => MatchMethod::Ip,
        m => MatchMethod::from_name(m).unwrap_or(MatchMethod::Str),
    };
    (method, out)
}

/// Loads the map file through `opts.pattern_file` (the engine does no I/O).
pub(crate) fn prepare_map(
    name: &str,
    args: Vec<Arg>,
    opts: &Opts<'_>,
) -> Result<Vec<Arg>, ExprError> {
    let file = match args.first() {
        Some(Arg::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let (method, out) = map_kind(name);
    let default = match args.get(1) {
        Some(Arg::Str(d)) => {
            if out == SmpType::Sint && d.trim().parse::<i64>().is_err() {
                return Err(ExprError::invalid(format!(
                    "invalid arg 2 in converter '{name}' : cannot parse default value '{d}' as integer"
                )));
            }
            Some(d.clone().into_bytes())
        }
        _ => None,
    };
    let Some(read) = opts.pattern_file else {
        return Err(ExprError::unsupported(format!("the map file `{file}`")));
    };
    let text = read(&file).map_err(|_| {
        ExprError::invalid(format!(
            "invalid arg 1 in converter '{name}' : failed to open map file '{file}'"
        ))
    })?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim_matches([' ', '\t', '\r']);
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, v) = match l.find([' ', '\t']) {
            Some(i) => (&l[..i], l[i..].trim_matches([' ', '\t'])),
            None => (l, ""),
        };
        items.push((n + 1, k, v));
    }
    let kind = MapKind {
        name: name.to_string(),
        method,
        out,
    };
    let bad = |n: usize, e: ExprError| {
        ExprError::invalid(format!(
            "invalid arg 1 in converter '{name}' : file '{file}', line {n} : {}",
            e.message
        ))
    };
    let table = kind.compile(items.iter().copied(), &bad)?;
    let live = opts.refs.map(|reg| {
        let (cfg_file, cfg_line) = opts.loc.unwrap_or(("?", 0));
        let pref = reg.file(
            &file,
            opts.loc.map(|(f, l)| (f, l, u8::from(opts.in_cond))),
            crate::patref::MAP | crate::patref::SMP,
            || {
                format!(
                    "pattern loaded from file '{file}' used by map at file '{cfg_file}' line {cfg_line}"
                )
            },
            || {
                items
                    .iter()
                    .map(|(_, k, v)| (k.to_string(), Some(v.to_string())))
                    .collect()
            },
        );
        let live = Arc::new(MapLive {
            kind: kind.clone(),
            pref: pref.clone(),
            live: Live::new(),
        });
        reg.add_reader(std::slice::from_ref(&pref), live.clone());
        live
    });
    Ok(vec![Arg::Map(Arc::new(Map {
        file,
        table,
        default,
        out,
        live,
    }))])
}

pub(crate) fn map<'a>(a: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let Some(Arg::Map(m)) = a.first() else {
        return None;
    };
    let live = m.live.as_ref().and_then(|l| l.live.load());
    let t = live.as_deref().unwrap_or(&m.table);
    if !t.regm.is_empty() {
        return map_regm(m, t, s);
    }
    let hit = match &t.index {
        Some(idx) => s
            .clone()
            .cast(SmpType::Str)
            .and_then(|k| k.bytes().and_then(|b| idx.get(b).copied())),
        None => t.entries.iter().position(|(p, _)| p.matches(s.clone())),
    };
    let v = hit
        .and_then(|i| t.entries.get(i))
        .map(|(_, v)| v.as_slice())
        .or(m.default.as_deref())?;
    let s = Sample::Str(Cow::Owned(v.to_vec()));
    match m.out {
        SmpType::Str => Some(s),
        t => s.cast(t),
    }
}

/// `map_regm`: the first key whose regex matches; the value's `\N` references
/// are replaced by the match's captures (HAProxy's `map_regm`, §7.3.1 "map").
fn map_regm<'a>(m: &Map, t: &MapTable, s: Sample<'a>) -> Option<Sample<'a>> {
    let b = s.bytes()?;
    let mut out = Vec::new();
    let hit = t.regm.iter().zip(&t.entries).find_map(|(re, (_, v))| {
        let caps = re.captures(b)?;
        expand(v, &caps, &mut out);
        Some(())
    });
    if hit.is_none() {
        out = m.default.clone()?;
    }
    let s = Sample::Str(Cow::Owned(out));
    match m.out {
        SmpType::Str => Some(s),
        t => s.cast(t),
    }
}

#[cfg(test)]
mod tests;
