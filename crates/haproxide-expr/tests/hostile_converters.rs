//! Every converter against hostile values: the extremes of each argument type a
//! configuration can give (after the converter's own configuration-time check) and
//! samples a client can send (integers at both ends of i64, empty and odd strings,
//! random binary, truncated and mutated MQTT/FIX messages). A converter may give no
//! value; it may never panic (docs/security.md, "Panics"). Debug builds check integer
//! overflow, so an addition that wraps is caught here too.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use haproxide_expr::args::{Arg, ArgType};
use haproxide_expr::conv::{all, ConvDef};
use haproxide_expr::{Context, Opts, Sample};

/// A context with nothing in it (no variables: `add(txn.x)` finds none).
struct Empty;
impl Context for Empty {}
static EMPTY: Empty = Empty;

const INTS: [i64; 9] = [i64::MIN, i64::MIN + 1, -2, -1, 0, 1, 2, 64, i64::MAX];
const STRS: [&str; 14] = [
    "",
    ",",
    "a",
    "-9223372036854775808",
    "9223372036854775807",
    "-1",
    "0",
    "1",
    "64",
    "256",
    "connect",
    "client_identifier",
    "1000",
    "s",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() % (max as u64 + 1)) as usize;
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn candidates(t: ArgType) -> Vec<Arg> {
    match t {
        ArgType::Int => INTS.iter().map(|&i| Arg::Int(i)).collect(),
        ArgType::Str => STRS.iter().map(|s| Arg::Str((*s).into())).collect(),
        ArgType::Msk4 => vec![Arg::Mask(0), Arg::Mask(1), Arg::Mask(31), Arg::Mask(32)],
        ArgType::Msk6 => vec![Arg::Mask(0), Arg::Mask(1), Arg::Mask(127), Arg::Mask(128)],
    }
}

/// Every argument list of `c`'s arity from the candidates, as the configuration
/// hands them over (its `prepare` applied; lists it refuses are dropped).
fn arg_lists(c: &ConvDef) -> Vec<Vec<Arg>> {
    let mut out = Vec::new();
    for n in c.min_args..=c.args.len() {
        let mut lists: Vec<Vec<Arg>> = vec![Vec::new()];
        for &t in &c.args[..n] {
            lists = lists
                .into_iter()
                .flat_map(|l| {
                    candidates(t).into_iter().map(move |a| {
                        let mut l = l.clone();
                        l.push(a);
                        l
                    })
                })
                .collect();
        }
        for l in lists {
            match c.prepare {
                Some(p) => {
                    if let Ok(l) = p(c.name, l, &Opts::default()) {
                        out.push(l);
                    }
                }
                None => out.push(l),
            }
        }
    }
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn samples() -> Vec<Sample<'static>> {
    let mut v = vec![
        Sample::Bool(true),
        Sample::Ipv4(Ipv4Addr::new(255, 255, 255, 255)),
        Sample::Ipv6(Ipv6Addr::UNSPECIFIED),
        Sample::Ipv6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()),
    ];
    v.extend(INTS.iter().map(|&i| Sample::Sint(i)));
    for s in [
        &b""[..],
        b",",
        b"a,,b,",
        b"%",
        b"%4",
        b"%zz%41",
        b"====",
        b"YQ=",
        b"Y===",
        b"ffffffffffffffffffff",
        b"-",
        b"\xff\xfe",
        b"8=FIX.4.4\x019=5\x0135=A\x0110=000\x01",
    ] {
        v.push(Sample::Str(Cow::Borrowed(s)));
        v.push(Sample::Bin(Cow::Borrowed(s)));
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..8 {
        v.push(Sample::Bin(Cow::Owned(rng.bytes(64))));
        v.push(Sample::Str(Cow::Owned(rng.bytes(64))));
    }
    v
}

fn try_one(c: &ConvDef, args: &[Arg], s: Sample<'static>) -> Result<(), String> {
    let shown = format!("{}({args:?}) on {s:?}", c.name);
    catch_unwind(AssertUnwindSafe(|| {
        let _ = c.apply(args, s.clone(), &EMPTY);
        if let Some(inc) = c.incomplete {
            let _ = inc(args, &s);
        }
    }))
    .map_err(|_| shown)
}

/// The first failure of each converter (the name is the text before `(`).
fn first_per_converter(failed: &[String]) -> Vec<&String> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for f in failed {
        let name = f.split('(').next().unwrap_or("");
        if !seen.contains(&name) {
            seen.push(name);
            out.push(f);
        }
    }
    out
}

/// One test at a time swaps the panic hook (a silent one while panics are caught).
static HOOK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn no_converter_panics_on_hostile_arguments_or_samples() {
    let _one = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let samples = samples();
    let (mut calls, mut failed) = (0usize, Vec::new());
    let mut tried = Vec::new();
    for c in all() {
        let lists = arg_lists(c);
        if !lists.is_empty() {
            tried.push(c.name);
        }
        for args in &lists {
            for s in &samples {
                calls += 1;
                if let Err(e) = try_one(c, args, s.clone()) {
                    failed.push(e);
                }
            }
        }
    }
    std::panic::set_hook(hook);
    assert!(
        failed.is_empty(),
        "{} of {calls} calls panicked: {:#?}",
        failed.len(),
        first_per_converter(&failed)
    );
    // The sweep reached the converters that read input as numbers or messages.
    for name in [
        "add",
        "mul",
        "div",
        "mod",
        "concat",
        "field",
        "word",
        "http_date",
        "bytes",
        "be2dec",
        "mqtt_field_value",
        "fix_tag_value",
        "url_dec",
        "ipmask",
    ] {
        assert!(tried.contains(&name), "{name} was not exercised: {tried:?}");
    }
    assert!(calls > 10_000, "{calls}");
}

/// Truncations and one-byte mutations of valid MQTT and FIX messages, and random
/// bytes behind a valid first byte: the message parsers see every prefix length.
#[test]
fn message_converters_never_panic_on_mangled_messages() {
    let _one = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let msgs = [
        hex("101a00044d51545404c2003c00000004746573740006706173737764"),
        hex("20250000221100000078217fff24012501270000ffff22000a2600016100016226000163000164"),
        hex("20020000"),
        b"8=FIX.4.4\x019=49\x0135=A\x0149=SERVER\x0156=CLIENT\x0134=177\x0152=20090107-18:15:16\x0198=0\x01108=30\x0110=062\x01".to_vec(),
    ];
    let convs: Vec<&ConvDef> = [
        "mqtt_is_valid",
        "mqtt_field_value",
        "fix_is_valid",
        "fix_tag_value",
    ]
    .iter()
    .filter_map(|n| all().find(|c| c.name == *n))
    .collect();
    assert_eq!(convs.len(), 4);
    let mut rng = Rng(7);
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for m in &msgs {
        for n in 0..=m.len() {
            inputs.push(m[..n].to_vec());
        }
        for _ in 0..400 {
            let mut x = m.clone();
            let i = (rng.next() % x.len() as u64) as usize;
            x[i] = rng.next() as u8;
            inputs.push(x);
        }
    }
    for first in [0x10u8, 0x20] {
        for _ in 0..500 {
            let mut x = vec![first];
            x.extend(rng.bytes(40));
            inputs.push(x);
        }
    }
    let mut failed = Vec::new();
    for c in &convs {
        for args in arg_lists(c) {
            for i in &inputs {
                if let Err(e) = try_one(c, &args, Sample::Bin(Cow::Owned(i.clone()))) {
                    failed.push(e);
                }
            }
        }
    }
    std::panic::set_hook(hook);
    assert!(
        failed.is_empty(),
        "{} panicked: {:#?}",
        failed.len(),
        first_per_converter(&failed)
    );
}

fn run(name: &str, args: &[Arg], s: Sample<'static>) -> Option<String> {
    let c = all().find(|c| c.name == name)?;
    let out = c.apply(args, s, &EMPTY)?;
    Some(String::from_utf8_lossy(out.bytes()?).into_owned())
}

/// What the overflows found above now give (they panicked in debug builds and
/// wrapped in release ones): a count past the end takes the rest, an index past
/// the end finds nothing, and `http_date`'s offset wraps as HAProxy's addition does.
#[test]
fn extreme_field_counts_and_date_offsets_give_values() {
    let abc = || Sample::Str(Cow::Borrowed(b"a,b,c"));
    let f = |i: i64, n: i64| vec![Arg::Int(i), Arg::Str(",".into()), Arg::Int(n)];
    assert_eq!(
        run("field", &f(1, i64::MAX), abc()).as_deref(),
        Some("a,b,c")
    );
    assert_eq!(run("field", &f(2, i64::MAX), abc()).as_deref(), Some("b,c"));
    assert_eq!(
        run("field", &f(-1, i64::MAX), abc()).as_deref(),
        Some("a,b,c")
    );
    assert_eq!(run("field", &f(1, i64::MIN), abc()), None);
    assert_eq!(run("field", &f(i64::MAX, 2), abc()), None);
    assert_eq!(run("field", &f(i64::MIN, 2), abc()), None);
    assert_eq!(run("word", &f(i64::MIN, 2), abc()).as_deref(), Some(""));
    // Unchanged where nothing overflows.
    assert_eq!(run("field", &f(2, 2), abc()).as_deref(), Some("b,c"));
    assert_eq!(run("field", &f(-2, 1), abc()).as_deref(), Some("b"));
    let wrapped = haproxide_expr::timefmt::imf_fixdate(i64::MIN);
    assert_eq!(
        run("http_date", &[Arg::Int(1)], Sample::Sint(i64::MAX)),
        Some(wrapped)
    );
    assert_eq!(
        run("http_date", &[Arg::Int(3600)], Sample::Sint(0)).as_deref(),
        Some("Thu, 01 Jan 1970 01:00:00 GMT")
    );
}

/// A request as a client may shape it: odd bytes everywhere, repeated and empty
/// headers, integer-looking values at both ends of i64, a buffer of random bytes.
struct Hostile {
    data: Vec<u8>,
    method: Vec<u8>,
    uri: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
}

impl Context for Hostile {
    fn src(&self) -> Option<std::net::SocketAddr> {
        Some((Ipv6Addr::UNSPECIFIED, 0).into())
    }
    fn req_data(&self) -> &[u8] {
        &self.data
    }
    fn http_method(&self) -> Option<&[u8]> {
        Some(&self.method)
    }
    fn http_uri(&self) -> Option<&[u8]> {
        Some(&self.uri)
    }
    fn http_req_version(&self) -> Option<(u8, u8)> {
        Some((255, 255))
    }
    fn http_req_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.headers.get(i).map(|(n, v)| (&n[..], &v[..]))
    }
    fn http_req_body(&self) -> Option<&[u8]> {
        Some(&self.body)
    }
    fn http_status(&self) -> Option<u16> {
        Some(u16::MAX)
    }
    fn http_res_header(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.http_req_header(i)
    }
    fn var(&self, _: &str) -> Option<Sample<'_>> {
        Some(Sample::Sint(i64::MIN))
    }
    fn res_data(&self) -> Option<&[u8]> {
        Some(&self.data)
    }
}

#[test]
fn no_fetch_panics_on_a_hostile_request() {
    let _one = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut ctxs = Vec::new();
    for i in 0..12 {
        let val = |rng: &mut Rng| match i % 4 {
            0 => b"-9223372036854775808".to_vec(),
            1 => b"99999999999999999999999, ,;q=;=,\"".to_vec(),
            2 => Vec::new(),
            _ => rng.bytes(40),
        };
        let headers = (0..6)
            .map(|k| {
                let name = [
                    &b"host"[..],
                    b"cookie",
                    b"content-length",
                    b"authorization",
                    b"x-forwarded-for",
                    b"",
                ][k]
                    .to_vec();
                (name, val(&mut rng))
            })
            .collect();
        ctxs.push(Hostile {
            data: if i % 2 == 0 {
                rng.bytes(300)
            } else {
                [&b"\x16\x03\x01\xff\xff\x01"[..], &rng.bytes(60)].concat()
            },
            method: val(&mut rng),
            uri: [&b"http://"[..], &val(&mut rng), b"/?a=%zz&=;b"].concat(),
            headers,
            body: val(&mut rng),
        });
    }
    let (mut calls, mut failed) = (0usize, Vec::new());
    let defs = haproxide_expr::fetch::FETCHES.iter();
    for d in defs {
        let mut lists: Vec<Vec<Arg>> = vec![Vec::new()];
        for n in 0..=d.args.len() {
            if n < d.min_args {
                continue;
            }
            let mut l: Vec<Vec<Arg>> = vec![Vec::new()];
            for &t in &d.args[..n] {
                l = l
                    .into_iter()
                    .flat_map(|p| {
                        candidates(t).into_iter().map(move |a| {
                            let mut p = p.clone();
                            p.push(a);
                            p
                        })
                    })
                    .collect();
            }
            lists.extend(l);
        }
        lists.retain(|l| l.len() >= d.min_args);
        lists.truncate(2000);
        for args in &lists {
            for c in &ctxs {
                for occ in [0, 1, 7] {
                    calls += 1;
                    let r = catch_unwind(AssertUnwindSafe(|| {
                        let _ = (d.fetch)(args, c, occ);
                    }));
                    if r.is_err() {
                        failed.push(format!("{}({args:?}) occ {occ}", d.name));
                    }
                }
            }
        }
    }
    std::panic::set_hook(hook);
    assert!(
        failed.is_empty(),
        "{} of {calls} calls panicked: {:#?}",
        failed.len(),
        first_per_converter(&failed)
    );
    assert!(calls > 10_000, "{calls}");
}

/// `hdr(<name>,<occ>)` with the most negative position finds nothing (it panicked
/// in debug builds: `-p` overflowed); -1 is still the last occurrence.
#[test]
fn most_negative_header_position_finds_nothing() {
    let c = Hostile {
        data: Vec::new(),
        method: b"GET".to_vec(),
        uri: b"/".to_vec(),
        headers: vec![
            (b"x".to_vec(), b"1".to_vec()),
            (b"x".to_vec(), b"2".to_vec()),
        ],
        body: Vec::new(),
    };
    let hdr = haproxide_expr::fetch::find_fetch("req.hdr").map(|d| d.fetch);
    let Some(hdr) = hdr else {
        panic!("req.hdr is a fetch")
    };
    let at = |p: i64| {
        let v = hdr(&[Arg::Str("x".into()), Arg::Int(p)], &c, 0).value;
        v.and_then(|s| Some(String::from_utf8_lossy(s.bytes()?).into_owned()))
    };
    assert_eq!(at(-1).as_deref(), Some("2"));
    assert_eq!(at(1).as_deref(), Some("1"));
    assert_eq!(at(i64::MIN), None);
    assert_eq!(at(i64::MAX), None);
}

/// Prints every variable as its name: the formats' own parsing and `%[...]`
/// samples are what is attacked here (the engine prints the variables).
struct Names<'c>(&'c Hostile);
impl haproxide_expr::LogVars for Names<'_> {
    fn var(&self, out: &mut Vec<u8>, v: haproxide_expr::LogVar, _: haproxide_expr::logfmt::Flags) {
        out.extend_from_slice(format!("{v:?}").as_bytes());
    }
    fn context(&self) -> &dyn Context {
        self.0
    }
}

/// Log formats (configuration text: `log-format`, `http-request set-header`, ...)
/// assembled from the pieces of their syntax, well and badly formed: parsed in
/// both modes, and rendered against hostile requests when taken.
#[test]
fn log_formats_from_hostile_pieces_never_panic() {
    let _one = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    const PIECES: &[&str] = &[
        "%",
        "%%",
        "%{",
        "}",
        "+Q",
        "-Q",
        "+X",
        "+E",
        "%[",
        "]",
        "src",
        " ",
        "\\",
        "\"",
        "x",
        "%ci",
        "%Tr",
        "%B",
        "%ST",
        "%{+Q}r",
        "%H",
        "%ID",
        "%{+X}o",
        "%{}",
        "%{+E}o",
        "%rt",
        "%[req.hdr(host,-9223372036854775808)]",
        "%[src,field(-9223372036854775808,x,2)]",
        "%[int(9223372036854775807),http_date(9223372036854775807)]",
        "%[var(txn.x),add(9223372036854775807),mul(-9223372036854775808)]",
        "%[req.hdr(x),bytes(9223372036854775807,-1)]",
        "%[req.payload(9223372036854775807,2)]",
        ",lower",
        "(",
        ")",
        ",",
    ];
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let ctx = Hostile {
        data: b"\x16\x03\x01\xff\xff".to_vec(),
        method: b"-9223372036854775808".to_vec(),
        uri: b"/%zz?a=;".to_vec(),
        headers: vec![
            (b"host".to_vec(), b"99999999999999999999".to_vec()),
            (b"x".to_vec(), Vec::new()),
        ],
        body: Vec::new(),
    };
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let (mut failed, mut taken) = (Vec::new(), 0);
    for _ in 0..20_000 {
        let n = (rng.next() % 10) as usize;
        let text: String = (0..n)
            .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
            .collect();
        let r = catch_unwind(AssertUnwindSafe(|| {
            let mut ok = 0;
            for mode in [haproxide_expr::LfMode::Tcp, haproxide_expr::LfMode::Http] {
                if let Ok(f) = haproxide_expr::LogFormat::parse(&text, mode) {
                    let mut out = Vec::new();
                    f.render(&mut out, &Names(&ctx));
                    ok += 1;
                }
            }
            let _ = haproxide_expr::LogFormat::parse_http_value(&text);
            ok
        }));
        match r {
            Ok(n) => taken += n,
            Err(_) => failed.push(text),
        }
    }
    std::panic::set_hook(hook);
    assert!(
        failed.is_empty(),
        "{} formats panicked: {:#?}",
        failed.len(),
        &failed[..failed.len().min(20)]
    );
    assert!(taken > 1_000, "{taken}");
}
