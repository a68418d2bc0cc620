//! Sample expressions (`fetch(args),conv(args)...`) and ACLs (configuration.txt
//! §7.1 "ACL basics": `acl <aclname> <criterion> [flags] [operator] [<value>] ...`;
//! §7.4 "Pre-defined ACLs"). An ACL declared on several lines is the OR of its
//! lines (§7.1: "ACLs with the same name ... are ORed"); [`AclSet`] is a proxy's
//! table of them, with the pre-defined ones behind it.

use std::sync::Arc;

use crate::args::{split_args, type_args, Arg};
use crate::conv::{find_conv, ConvDef};
use crate::error::{ErrorKind, ExprError};
use crate::fetch::{find_fetch, Context, FetchDef, Fetched, Uses};
use crate::patref::{Consumer, Elt, Live, PatRef};
use crate::pattern::{MatchMethod, Patterns, Resolver};
use crate::sample::{Sample, SmpType};
use crate::Tri;

/// Reads a pattern file's text (the caller does the I/O).
pub type FileReader<'r> = &'r dyn Fn(&str) -> Result<String, String>;

/// What typing an expression may need from its caller: the engine does no I/O.
#[derive(Clone, Copy, Default)]
pub struct Opts<'r> {
    /// Resolves a hostname in an `ip` pattern (HAProxy does at start-up, unless
    /// `-n`); without it such a pattern is [`ErrorKind::Unsupported`].
    pub resolve: Option<Resolver<'r>>,
    /// Reads a `-f` pattern file's text; without it `-f` is
    /// [`ErrorKind::Unsupported`].
    pub pattern_file: Option<FileReader<'r>>,
    /// Where pattern references are registered (the runtime API's `acl`/`map`
    /// commands change them); without it patterns are fixed.
    pub refs: Option<&'r crate::patref::Registry>,
    /// The configuration file and line being read (`show acl` names them).
    pub loc: Option<(&'r str, u32)>,
    /// Typing a condition (`if`/`unless`): its references come after those of
    /// the rule's action on the same line.
    pub in_cond: bool,
}

impl Opts<'_> {
    fn at(&self) -> Option<(&str, u32, u8)> {
        self.loc.map(|(f, l)| (f, l, u8::from(self.in_cond)))
    }
}

/// HAProxy's `is_idchar`: the characters of a fetch or converter name.
fn is_idchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')
}

/// A fetch followed by converters, typed (configuration.txt §7.3 "Fetching
/// samples", §7.3.1 "Converters").
#[derive(Debug, Clone, PartialEq)]
pub struct SampleExpr {
    fetch: &'static FetchDef,
    args: Vec<Arg>,
    convs: Vec<(&'static ConvDef, Vec<Arg>)>,
}

impl SampleExpr {
    /// Parse and type `text`, HAProxy's `sample_parse_expr`: the fetch must exist
    /// with valid arguments, and each converter's input type must be reachable
    /// from the previous output type by a cast.
    pub fn parse(text: &str) -> Result<SampleExpr, ExprError> {
        Self::parse_with(text, &Opts::default())
    }

    /// As [`SampleExpr::parse`], reading map files through `opts`.
    pub fn parse_with(text: &str, opts: &Opts<'_>) -> Result<SampleExpr, ExprError> {
        let end = text.find(|c: char| !is_idchar(c)).unwrap_or(text.len());
        let name = &text[..end];
        if name.is_empty() {
            return Err(ExprError::invalid("missing fetch method"));
        }
        let Some(fetch) = find_fetch(name) else {
            if let Some(n) = crate::script::lua_name(name) {
                let mut e = Self::with_fetch(&crate::script::LUA_FETCH, &text[end..], opts)?;
                e.args.insert(0, Arg::Str(n.to_string()));
                return Ok(e);
            }
            return Err(ExprError::unknown(format!("unknown fetch method '{name}'")));
        };
        Self::with_fetch(fetch, &text[end..], opts)
    }

    fn with_fetch(
        fetch: &'static FetchDef,
        rest: &str,
        opts: &Opts<'_>,
    ) -> Result<SampleExpr, ExprError> {
        let name = fetch.name;
        let (words, mut rest) = split_args(rest)
            .map_err(|e| ExprError::invalid(format!("fetch method '{name}' : {e}")))?;
        let args = type_args(words.as_ref(), fetch.args, fetch.min_args)
            .map_err(|(_, e)| ExprError::invalid(format!("fetch method '{name}' : {e}")))?;
        crate::http::check_occurrence(name, &args).map_err(|e| {
            ExprError::invalid(format!("invalid args in fetch method '{name}' : {e}"))
        })?;
        let mut out = fetch.out;
        let mut convs = Vec::new();
        let mut ckw: Option<&str> = None;
        while !rest.is_empty() {
            let Some(r) = rest.strip_prefix(',') else {
                return Err(ExprError::invalid(match ckw {
                    Some(c) => format!("missing comma after converter '{c}'"),
                    None => format!("missing comma after fetch keyword '{name}'"),
                }));
            };
            let r = r.trim_start_matches(',');
            if r.is_empty() {
                break;
            }
            let end = r.find(|c: char| !is_idchar(c)).unwrap_or(r.len());
            let cname = &r[..end];
            let lua = crate::script::lua_name(cname);
            let Some(conv) = find_conv(cname).or(lua.map(|_| &crate::script::LUA_CONV)) else {
                return Err(ExprError::unknown(format!("unknown converter '{cname}'")));
            };
            ckw = Some(conv.name);
            if !out.casts_to(conv.input) {
                return Err(ExprError::invalid(format!(
                    "converter '{cname}' cannot be applied"
                )));
            }
            let (words, r) = split_args(&r[end..]).map_err(|e| {
                ExprError::invalid(format!("invalid arg 1 in converter '{cname}' : {e}"))
            })?;
            let mut args =
                type_args(words.as_ref(), conv.args, conv.min_args).map_err(|(pos, e)| {
                    let n = pos + 1;
                    ExprError::invalid(format!("invalid arg {n} in converter '{cname}' : {e}"))
                })?;
            if let Some(n) = lua {
                args.insert(0, Arg::Str(n.to_string()));
            }
            if let Some(prepare) = conv.prepare {
                args = prepare(cname, args, opts)?;
            }
            convs.push((conv, args));
            out = conv.out;
            rest = r;
        }
        Ok(SampleExpr { fetch, args, convs })
    }

    /// The declared output type of the whole expression.
    pub fn out_type(&self) -> SmpType {
        self.convs.last().map_or(self.fetch.out, |(c, _)| c.out)
    }

    /// The fetch's name.
    pub fn fetch_name(&self) -> &'static str {
        self.fetch.name
    }

    /// What the fetch reads.
    pub fn uses(&self) -> Uses {
        self.fetch.uses
    }

    /// The one value a rule or a log-format `%[...]` uses (HAProxy's sample
    /// fetched outside an ACL: a multi-valued fetch gives its last header or
    /// cookie, its first URL parameter).
    pub fn value<'c>(&self, ctx: &'c dyn Context) -> Option<Sample<'c>> {
        self.eval(ctx, crate::http::SINGLE).value
    }

    /// Fetch occurrence `occ` and apply the converters (HAProxy's `sample_process`):
    /// a failed cast or converter leaves no value, the flags stay.
    pub fn eval<'c>(&self, ctx: &'c dyn Context, occ: usize) -> Fetched<'c> {
        let mut f = (self.fetch.fetch)(&self.args, ctx, occ);
        for (conv, args) in &self.convs {
            let Some(v) = f.value.take() else { break };
            let Some(v) = v.cast(conv.input) else { break };
            if let Some(inc) = conv.incomplete {
                // A whole-message converter decides "may change" itself.
                if inc(args, &v) {
                    f.may_change = true;
                    break;
                }
                f.may_change = false;
            }
            f.value = conv.apply(args, v, ctx);
        }
        f
    }
}

/// ACL keywords that are a fetch with an implied `-m` (HAProxy 2.6's ACL keyword
/// lists; configuration.txt §7.3 "ACL derivatives").
const ACL_KEYWORDS: &[(&str, &str, MatchMethod)] = &[
    ("payload", "req.payload", MatchMethod::Bin),
    ("req_ssl_sni", "req.ssl_sni", MatchMethod::Str),
    ("resp.ver", "res.ver", MatchMethod::Str),
];

/// The families `<kw>`, `<kw>_beg`, `_dir`, `_dom`, `_end`, `_len`, `_reg`, `_sub`
/// of HTTP fetches (§7.3.6): the keyword and the fetch it derives from.
const ACL_FAMILIES: &[(&str, &str)] = &[
    ("base", "base"),
    ("cook", "req.cook"),
    ("hdr", "hdr"),
    ("path", "path"),
    ("scook", "res.cook"),
    ("shdr", "shdr"),
    ("url", "url"),
    ("urlp", "urlp"),
];

const SUFFIXES: &[(&str, MatchMethod)] = &[
    ("", MatchMethod::Str),
    ("_beg", MatchMethod::Beg),
    ("_dir", MatchMethod::Dir),
    ("_dom", MatchMethod::Dom),
    ("_end", MatchMethod::End),
    ("_len", MatchMethod::Len),
    ("_reg", MatchMethod::Reg),
    ("_sub", MatchMethod::Sub),
];

/// The fetch and implied method of an ACL keyword, if it is one.
fn acl_keyword(kw: &str) -> Option<(&'static FetchDef, MatchMethod)> {
    if let Some((_, f, m)) = ACL_KEYWORDS.iter().find(|(k, _, _)| *k == kw) {
        return Some((find_fetch(f)?, *m));
    }
    ACL_FAMILIES.iter().find_map(|(fam, f)| {
        let suffix = kw.strip_prefix(fam)?;
        let (_, m) = SUFFIXES.iter().find(|(s, _)| *s == suffix)?;
        Some((find_fetch(f)?, *m))
    })
}

/// One ACL line's expression: a sample expression and the patterns it is matched
/// against.
#[derive(Debug, Clone)]
pub struct AclExpr {
    smp: SampleExpr,
    pat: Patterns,
    /// The patterns as the runtime API changed them (crate::patref).
    live: Option<Arc<AclLive>>,
}

/// An ACL expression's patterns as a reader of its references: recompiled
/// from their current entries when the runtime API changes one.
#[derive(Debug)]
struct AclLive {
    refs: Vec<Arc<PatRef>>,
    method: MatchMethod,
    ignore_case: bool,
    live: Live<Patterns>,
}

impl AclLive {
    fn compile(&self, keys: &[String]) -> Result<Patterns, ExprError> {
        Patterns::parse(self.method, self.ignore_case, true, keys, None)
    }
}

impl Consumer for AclLive {
    fn rebuild(&self) {
        let keys: Vec<String> = self
            .refs
            .iter()
            .flat_map(|r| r.current().into_iter().map(|(k, _)| k))
            .collect();
        if let Ok(p) = self.compile(&keys) {
            self.live.store(p);
        }
    }
    fn check(&self, key: &str, _: Option<&str>) -> Result<(), String> {
        if key.is_empty() {
            return Ok(());
        }
        self.compile(&[key.to_string()])
            .map(|_| ())
            .map_err(|e| e.message)
    }
    fn lookup(&self, entries: &[Elt], sample: &str, map: bool) -> String {
        let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
        let found = self
            .compile(&keys)
            .ok()
            .and_then(|p| p.position(Sample::Str(std::borrow::Cow::Borrowed(sample.as_bytes()))));
        crate::patref::lookup_line(
            self.method.name(),
            self.ignore_case,
            found.and_then(|i| entries.get(i)),
            map,
            None,
        )
    }
}

impl AclExpr {
    /// Parse `words` (the criterion first, then flags and patterns), as HAProxy's
    /// `parse_acl_expr`. `-f` files are read through `opts`.
    pub fn parse(words: &[&str], opts: &Opts<'_>) -> Result<AclExpr, ExprError> {
        let crit = words.first().copied().unwrap_or("");
        let end = crit.find(|c: char| !is_idchar(c)).unwrap_or(crit.len());
        let (smp, mut method) = match acl_keyword(&crit[..end]) {
            Some((fetch, m)) => {
                let smp = SampleExpr::with_fetch(fetch, &crit[end..], opts)
                    .map_err(|e| e.map(|m| format!("ACL keyword '{}' : {m}.", &crit[..end])))?;
                (smp, Some(m))
            }
            None => {
                let smp = SampleExpr::parse_with(crit, opts)
                    .map_err(|e| e.map(|m| format!("{m} in ACL expression '{crit}'")))?;
                (smp, None)
            }
        };
        // A converter changes the type the default method follows.
        if !smp.convs.is_empty() {
            method = None;
        }
        let mut ignore_case = false;
        let mut no_dns = false;
        let mut from_files: Vec<String> = Vec::new();
        let mut refs: Vec<Arc<PatRef>> = Vec::new();
        let (cfg_file, cfg_line) = opts.loc.unwrap_or(("?", 0));
        let mut loaded = false;
        let mut as_map = false;
        let mut i = 1;
        while let Some(w) = words.get(i).filter(|w| w.starts_with('-')) {
            let next = words.get(i + 1).copied().unwrap_or("");
            match *w {
                "-i" => ignore_case = true,
                "-n" => no_dns = true,
                "-M" => as_map = true,
                "-u" => {
                    if next.parse::<i64>().is_err() {
                        return Err(ExprError::invalid("the argument of -u must be an integer"));
                    }
                    i += 1;
                }
                "-f" => {
                    let Some(read) = opts.pattern_file else {
                        return Err(ExprError::unsupported(format!(
                            "the pattern file `-f {next}`"
                        )));
                    };
                    let text = read(next).map_err(|_| {
                        ExprError::invalid(format!("failed to open pattern file <{next}>"))
                    })?;
                    from_files.extend(patterns_from_file(&text, as_map));
                    if let Some(reg) = opts.refs {
                        refs.push(reg.file(
                            next,
                            opts.at(),
                            crate::patref::ACL,
                            || {
                                format!(
                                    "pattern loaded from file '{next}' used by acl at file '{cfg_file}' line {cfg_line}"
                                )
                            },
                            || crate::patref::entries_from_file(&text, as_map),
                        ));
                    }
                    loaded = true;
                    i += 1;
                }
                "-m" => {
                    if loaded {
                        return Err(ExprError::invalid(
                            "'-m' must only be specified before patterns and files in parsing ACL expression",
                        ));
                    }
                    let Some(m) = MatchMethod::from_name(next) else {
                        return Err(ExprError::invalid(format!(
                            "unknown matching method '{next}' when parsing ACL expression"
                        )));
                    };
                    if m != MatchMethod::Found && !smp.out_type().casts_to(m.expects()) {
                        return Err(ExprError::invalid(format!(
                            "matching method '{next}' cannot be used with fetch keyword '{}'",
                            &crit[..end]
                        )));
                    }
                    method = Some(m);
                    i += 1;
                }
                "--" => {
                    i += 1;
                    break;
                }
                other => {
                    return Err(ExprError::invalid(format!(
                        "'{other}' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'"
                    )))
                }
            }
            i += 1;
        }
        let method = match method {
            Some(m) => m,
            None => MatchMethod::default_for(smp.out_type()).ok_or_else(|| {
                ExprError::invalid(format!(
                    "ACL expression '{crit}': no default matching method for this fetch"
                ))
            })?,
        };
        let mut all = from_files;
        let inline = words.get(i..).unwrap_or(&[]);
        all.extend(inline.iter().map(|s| s.to_string()));
        let pat = Patterns::parse(method, ignore_case, no_dns, &all, opts.resolve)?;
        let live = opts.refs.map(|reg| {
            refs.push(reg.anonymous(
                opts.at(),
                format!("acl '{}' file '{cfg_file}' line {cfg_line}", &crit[..end]),
                &crate::pattern::normalize_ops(method, inline),
            ));
            let live = Arc::new(AclLive {
                refs,
                method,
                ignore_case,
                live: Live::new(),
            });
            reg.add_reader(&live.refs, live.clone());
            live
        });
        Ok(AclExpr { smp, pat, live })
    }

    /// The sample expression.
    pub fn sample(&self) -> &SampleExpr {
        &self.smp
    }

    /// The patterns.
    pub fn patterns(&self) -> &Patterns {
        &self.pat
    }

    /// This line's result (the inner loop of HAProxy's `acl_exec_cond`): every
    /// occurrence is tried; a value that may still change and did not match is a
    /// miss until the evaluation is final.
    fn eval(&self, ctx: &dyn Context) -> Tri {
        let final_eval = ctx.is_final();
        let live = self.live.as_ref().and_then(|l| l.live.load());
        let pat = live.as_deref().unwrap_or(&self.pat);
        let mut occ = 0;
        loop {
            let f = self.smp.eval(ctx, occ);
            let Some(v) = f.value else {
                return if f.may_change && !final_eval {
                    Tri::Miss
                } else {
                    Tri::Fail
                };
            };
            if pat.matches(v) {
                return Tri::Pass;
            }
            if f.more {
                occ += 1;
                continue;
            }
            return if f.may_change && !final_eval {
                Tri::Miss
            } else {
                Tri::Fail
            };
        }
    }
}

/// HAProxy's pattern file format: one pattern per line, surrounding blanks
/// removed, empty lines and `#` comments skipped; `-M` keeps a map's keys.
pub fn patterns_from_file(text: &str, as_map: bool) -> impl Iterator<Item = String> + '_ {
    text.lines().filter_map(move |l| {
        let l = l.trim_matches([' ', '\t', '\r']);
        if l.is_empty() || l.starts_with('#') {
            return None;
        }
        let l = if as_map {
            l.split([' ', '\t']).next().unwrap_or(l)
        } else {
            l
        };
        Some(l.to_string())
    })
}

/// A named ACL: the OR of its lines.
#[derive(Debug, Clone)]
pub struct Acl {
    pub name: String,
    exprs: Vec<AclExpr>,
}

impl Acl {
    /// An anonymous ACL (`{ ... }` in a condition).
    pub(crate) fn anonymous(e: AclExpr) -> Acl {
        Acl {
            name: String::new(),
            exprs: vec![e],
        }
    }

    /// The result: a pass on any line passes; otherwise a miss on any is a miss.
    pub(crate) fn eval(&self, ctx: &dyn Context) -> Tri {
        let mut r = Tri::Fail;
        for e in &self.exprs {
            r = r.or(e.eval(ctx));
            if r == Tri::Pass {
                break;
            }
        }
        r
    }

    /// Its lines.
    pub fn exprs(&self) -> &[AclExpr] {
        &self.exprs
    }
}

/// configuration.txt §7.4 "Pre-defined ACLs", as HAProxy 2.6's `default_acl_list`.
const PREDEFINED: &[(&str, &[&str])] = &[
    ("FALSE", &["always_false"]),
    ("HTTP", &["req_proto_http"]),
    ("HTTP_1.0", &["req_ver", "1.0"]),
    ("HTTP_1.1", &["req_ver", "1.1"]),
    ("HTTP_2.0", &["req_ver", "2.0"]),
    ("HTTP_3.0", &["req_ver", "3.0"]),
    ("HTTP_CONTENT", &["req.hdr_val(content-length)", "gt", "0"]),
    ("HTTP_URL_ABS", &["url_reg", "^[^/:]*://"]),
    ("HTTP_URL_SLASH", &["url_beg", "/"]),
    ("HTTP_URL_STAR", &["url", "*"]),
    ("LOCALHOST", &["src", "127.0.0.1/8", "::1"]),
    ("METH_CONNECT", &["method", "CONNECT"]),
    ("METH_DELETE", &["method", "DELETE"]),
    ("METH_GET", &["method", "GET", "HEAD"]),
    ("METH_HEAD", &["method", "HEAD"]),
    ("METH_OPTIONS", &["method", "OPTIONS"]),
    ("METH_POST", &["method", "POST"]),
    ("METH_PUT", &["method", "PUT"]),
    ("METH_TRACE", &["method", "TRACE"]),
    ("RDP_COOKIE", &["req_rdp_cookie_cnt", "gt", "0"]),
    ("REQ_CONTENT", &["req_len", "gt", "0"]),
    ("TRUE", &["always_true"]),
    ("WAIT_END", &["wait_end"]),
];

/// Whether `name` is a pre-defined ACL.
pub fn is_predefined(name: &str) -> bool {
    PREDEFINED.iter().any(|(n, _)| *n == name)
}

/// A proxy's named ACLs. Looking a name up finds the proxy's ACL first, then a
/// pre-defined one (HAProxy's `find_acl_by_name`, then `find_acl_default`): the
/// one place names are resolved.
#[derive(Debug, Clone, Default)]
pub struct AclSet {
    acls: Vec<Arc<Acl>>,
    /// Names with a line the engine could not type, and why: a condition using
    /// them cannot be evaluated (a partial OR would be wrong).
    untyped: Vec<(String, ExprError)>,
}

impl AclSet {
    /// An empty set (only the pre-defined ACLs).
    pub fn new() -> AclSet {
        AclSet::default()
    }

    /// Add a line to the ACL `name` (creating it).
    pub fn add(&mut self, name: &str, expr: AclExpr) {
        match self.acls.iter_mut().find(|a| a.name == name) {
            Some(a) => Arc::make_mut(a).exprs.push(expr),
            None => self.acls.push(Arc::new(Acl {
                name: name.to_string(),
                exprs: vec![expr],
            })),
        }
    }

    /// Record that a line of the ACL `name` could not be typed (an
    /// [`ErrorKind::Unsupported`] or [`ErrorKind::Unknown`] error): looking the
    /// name up gives that error.
    pub fn add_untyped(&mut self, name: &str, why: ExprError) {
        if !self.untyped.iter().any(|(n, _)| n == name) {
            self.untyped.push((name.to_string(), why));
        }
    }

    /// Parse `acl <name> <words...>` and add it.
    pub fn add_line(
        &mut self,
        name: &str,
        words: &[&str],
        opts: &Opts<'_>,
    ) -> Result<(), ExprError> {
        let e = AclExpr::parse(words, opts)?;
        self.add(name, e);
        Ok(())
    }

    /// Whether the proxy declares `name` (pre-defined names aside).
    pub fn declares(&self, name: &str) -> bool {
        self.acls.iter().any(|a| a.name == name) || self.untyped.iter().any(|(n, _)| n == name)
    }

    /// The ACL `name`: the proxy's, else the pre-defined one. A pre-defined ACL
    /// whose fetch is not built yet is [`ErrorKind::Unsupported`].
    pub fn get(&self, name: &str) -> Result<Arc<Acl>, ExprError> {
        if let Some((_, why)) = self.untyped.iter().find(|(n, _)| n == name) {
            return Err(why.clone());
        }
        if let Some(a) = self.acls.iter().find(|a| a.name == name) {
            return Ok(a.clone());
        }
        let Some((_, words)) = PREDEFINED.iter().find(|(n, _)| *n == name) else {
            return Err(ExprError::invalid(format!("no such ACL : '{name}'")));
        };
        match AclExpr::parse(words, &Opts::default()) {
            Ok(e) => Ok(Arc::new(Acl {
                name: name.to_string(),
                exprs: vec![e],
            })),
            Err(e) if e.kind == ErrorKind::Invalid => Err(e),
            Err(_) => Err(ExprError::unsupported(format!(
                "the predefined ACL `{name}` (`{}`)",
                words.join(" ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &str) -> Result<AclExpr, ExprError> {
        let w: Vec<&str> = words.split(' ').collect();
        AclExpr::parse(&w, &Opts::default())
    }

    /// Every message checked against `haproxy -c` 2.6.12 (the `acl a <words>` line
    /// of a TCP frontend; the text after "error detected while parsing ACL 'a' : ").
    #[test]
    fn errors_match_haproxy() {
        let cases: &[(&str, &str)] = &[
            ("src foo", "'foo' is not a valid IPv4 or IPv6 address"),
            ("src 10.0.0.0/33", "'10.0.0.0/33' is not a valid IPv4 or IPv6 address"),
            ("req.len foo", "'foo' is not a number"),
            ("req.len -m zz 3", "unknown matching method 'zz' when parsing ACL expression"),
            ("req.len -m", "unknown matching method '' when parsing ACL expression"),
            (
                "req.payload(0,1),add(1) 3",
                "converter 'add' cannot be applied in ACL expression 'req.payload(0,1),add(1)'",
            ),
            (
                "req.payload 3",
                "fetch method 'req.payload' : expected type 'integer' at position 1, but got nothing in ACL expression 'req.payload'",
            ),
            (
                "req.payload(0) 3",
                "fetch method 'req.payload' : missing arguments (got 1/2), type 'integer' expected in ACL expression 'req.payload(0)'",
            ),
            (
                "req.payload(a,1) 3",
                "fetch method 'req.payload' : failed to parse 'a' as type 'integer' at position 1 in ACL expression 'req.payload(a,1)'",
            ),
            (
                "src,lower(1) x",
                "invalid arg 1 in converter 'lower' : expected ')' before '1)' in ACL expression 'src,lower(1)'",
            ),
            (
                "src,ipmask x",
                "invalid arg 1 in converter 'ipmask' : expected type 'IPv4 mask' at position 1, but got nothing in ACL expression 'src,ipmask'",
            ),
            (
                "src,ipmask(33) 10.0.0.0",
                "invalid arg 1 in converter 'ipmask' : failed to parse '33' as type 'IPv4 mask' at position 1 in ACL expression 'src,ipmask(33)'",
            ),
            ("req.len,add x", "'x' is not a number"),
            (
                "req.len,add(x) 3",
                "invalid args in converter 'add' : expects an integer or a variable name in ACL expression 'req.len,add(x)'",
            ),
            ("payload(0,1) zz", "an hex digit is expected (found 'z')"),
            ("req.len 1:a", "'1:a' is not a valid number range"),
            ("src_port 80:70", "'80:70' is not a valid number range"),
            (
                "req.len -q",
                "'-q' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'",
            ),
            (
                "req.len -5",
                "'-5' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'",
            ),
            ("src -n localhost", "'localhost' is not a valid IPv4 or IPv6 address"),
            ("", "missing fetch method in ACL expression ''"),
        ];
        // The oracle's resolver knows `localhost` only.
        let resolve = |h: &str| (h == "localhost").then(|| std::net::IpAddr::from([127, 0, 0, 1]));
        let opts = Opts {
            resolve: Some(&resolve),
            ..Opts::default()
        };
        for (words, msg) in cases {
            let w: Vec<&str> = words.split(' ').collect();
            let e = AclExpr::parse(&w, &opts).expect_err(words);
            assert_eq!(
                (e.kind.clone(), e.message.as_str()),
                (ErrorKind::Invalid, *msg),
                "{words}"
            );
        }
    }

    /// Lines `haproxy -c` 2.6.12 accepts.
    #[test]
    fn valid_lines() {
        for words in [
            "src -m beg 10",
            "req.len -m found 3",
            "req.len -m bool 3",
            "req.len 5-",
            "req.len gt",
            "req.len -u 3",
            "req.len -m int -m str x",
            "src,ipmask(24) 10.0.0.0",
            "src,ipmask(255.255.0.0) 10.0.0.0",
            "req.len,div(0) 3",
            "req.ssl_sni,lower,length gt 3",
            "req.ssl_sni -m dom",
            "req.payload(0,1),bytes(0,1),hex -m str 16",
            "req.len -m ip 1.2.3.4",
            "req.len -- 3",
            "path_beg /api",
            "req_ssl_sni -i db.example.com",
        ] {
            parse(words).unwrap_or_else(|e| panic!("{words}: {e}"));
        }
        let e = parse("src localhost").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
        // A variable operand is read at each evaluation.
        assert!(parse("req.len,add(txn.x) 3").is_ok());
        let e = parse("req.nope(host) x").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown);
        let e = parse("src,nope x").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown);
    }

    #[test]
    fn defaults_follow_the_type_or_the_keyword() {
        let m = |w: &str| parse(w).unwrap().patterns().method;
        assert_eq!(m("src 1.2.3.4"), MatchMethod::Ip);
        assert_eq!(m("req.len 3"), MatchMethod::Int);
        assert_eq!(m("req.ssl_sni x"), MatchMethod::Str);
        assert_eq!(m("req.payload(0,1) 16"), MatchMethod::Bin);
        assert_eq!(m("always_true"), MatchMethod::Bool);
        assert_eq!(m("path_end .php"), MatchMethod::End);
        assert_eq!(m("req.ssl_sni,length 3"), MatchMethod::Int);
        assert_eq!(m("path_beg -m sub x"), MatchMethod::Sub);
    }

    #[test]
    fn pattern_files() {
        let read = |p: &str| -> Result<String, String> {
            match p {
                "/nets" => Ok("# office\n  10.0.0.0/8 \n\n192.168.0.1\r\n".into()),
                "/map" => Ok("10.0.0.1 be1\n".into()),
                _ => Err("no".into()),
            }
        };
        let opts = Opts {
            pattern_file: Some(&read),
            ..Opts::default()
        };
        let e = AclExpr::parse(&["src", "-f", "/nets", "1.1.1.1"], &opts).unwrap();
        assert_eq!(e.patterns().len(), 3);
        let e = AclExpr::parse(&["src", "-M", "-f", "/map"], &opts).unwrap();
        assert_eq!(e.patterns().len(), 1);
        let e = AclExpr::parse(&["src", "-f", "/nope"], &opts).unwrap_err();
        assert_eq!(e.message, "failed to open pattern file </nope>");
        let e = AclExpr::parse(&["src", "-f", "/nets", "-m", "ip"], &opts).unwrap_err();
        assert!(e.message.starts_with("'-m' must only be specified before"));
        assert_eq!(
            AclExpr::parse(&["src", "-f", "/nets"], &Opts::default())
                .unwrap_err()
                .kind,
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn acl_set_resolves_names_once() {
        let mut set = AclSet::new();
        set.add_line("lan", &["src", "10.0.0.0/8"], &Opts::default())
            .unwrap();
        set.add_line("lan", &["src", "192.168.0.0/16"], &Opts::default())
            .unwrap();
        assert_eq!(set.get("lan").unwrap().exprs().len(), 2);
        assert!(set.declares("lan"));
        assert!(set.get("LOCALHOST").is_ok());
        assert!(set.get("TRUE").is_ok());
        assert_eq!(set.get("nope").unwrap_err().message, "no such ACL : 'nope'");
        assert_eq!(
            set.get("RDP_COOKIE").unwrap_err().kind,
            ErrorKind::Unsupported
        );
        // A proxy's own ACL hides a pre-defined one of the same name.
        set.add_line("TRUE", &["always_false"], &Opts::default())
            .unwrap();
        assert_eq!(
            set.get("TRUE").unwrap().exprs()[0].sample().fetch_name(),
            "always_false"
        );
    }
}
