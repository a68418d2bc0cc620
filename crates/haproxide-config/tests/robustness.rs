//! Hostile input: nothing may panic, and every broken input gets at least one error
//! (exit code 1). CRLF files and an empty file are not errors, as in HAProxy.
//!
//! The 100 MB file test is `#[ignore]`d in debug builds only if too slow; see
//! `docs/fuzzing.md` for how to run it.

#[path = "support/getent.rs"]
mod getent;
use getent::Getent;

use std::path::Path;
use std::time::Instant;

use haproxide_config::{check, check_bytes, CheckOptions, Checked, Code, Resolver, Target};
use haproxide_testkit::fs::TempDir;

fn no_env(_: &str) -> Option<String> {
    None
}

fn opts() -> CheckOptions<'static> {
    CheckOptions {
        target: Target::LATEST,
        env: &no_env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &Getent,
    }
}

fn run(bytes: Vec<u8>) -> Checked {
    check_bytes("t.cfg", bytes, &opts())
}

fn codes(c: &Checked) -> Vec<Code> {
    c.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect()
}

/// The input is refused: at least one error, exit code 1.
#[track_caller]
fn assert_refused(c: &Checked) {
    assert!(
        c.has_errors(),
        "no error diagnostic; got {:?}",
        c.diagnostics
    );
    assert_eq!(c.exit_code(false), 1);
}

/// A configuration HAProxy accepts (`haproxy -c` exit 0).
const VALID: &str = "\
global
    maxconn 100

defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen pg
    bind :5000
    option tcp-check
    server pg1 127.0.0.1:5432 check
    server pg2 127.0.0.1:5433 check backup
";

/// Deterministic bytes (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
}

#[test]
fn the_valid_reference_config_passes() {
    let c = run(VALID.as_bytes().to_vec());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    assert_eq!(c.exit_code(false), 0);
}

#[test]
fn binary_garbage() {
    for seed in 1..=32u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let bytes = rng.bytes(16 * 1024);
        let c = run(bytes);
        assert!(c.has_errors(), "seed {seed}: no error");
        assert_eq!(c.exit_code(false), 1, "seed {seed}");
    }
}

#[test]
fn garbage_appended_to_a_valid_config() {
    let mut rng = Rng(42);
    let mut bytes = VALID.as_bytes().to_vec();
    bytes.extend(rng.bytes(4096));
    bytes.push(b'\n');
    assert_refused(&run(bytes));
}

#[test]
fn invalid_utf8_inside_keywords() {
    // In a section keyword, a proxy keyword, a global keyword, a server option.
    let cases: &[&[u8]] = &[
        b"fr\xffontend web\n    bind :80\n",
        b"listen web\n    bi\xc3nd :80\n",
        b"global\n    max\xfe\xffconn 10\nlisten web\n    bind :80\n",
        b"listen web\n    bind :80\n    server s 127.0.0.1:80 ch\xe9ck\n",
        b"listen web\n    bind :80\n    mode \xc3\x28\n",
    ];
    for case in cases {
        let c = run(case.to_vec());
        assert_refused(&c);
        // The message shows the bytes lossily, never panics on a char boundary.
        for d in &c.diagnostics {
            assert!(!d.message.is_empty());
        }
    }
}

#[test]
fn unbalanced_quotes() {
    for line in [
        "    bind \":80\n",
        "    bind ':80\n",
        "    bind \"a\"b\"\n",
        "    bind \":80\r\"\n",
    ] {
        let c = run(format!("listen web\n{line}    bind :81\n").into_bytes());
        assert_refused(&c);
        assert_eq!(codes(&c).first(), Some(&Code::UnmatchedQuote), "{line:?}");
    }
}

#[test]
fn unterminated_if() {
    let c = run(format!("{VALID}.if 1\n").into_bytes());
    assert_refused(&c);
    assert!(codes(&c).contains(&Code::UnterminatedIf));
}

#[test]
fn ten_thousand_nested_ifs() {
    for cond in ["1", "0"] {
        let mut s = String::from(VALID);
        s.push_str(&format!(".if {cond}\n").repeat(10_000));
        s.push_str(&".endif\n".repeat(10_000));
        let c = run(s.into_bytes());
        assert_refused(&c);
        assert!(codes(&c).contains(&Code::TooDeepIf), "{:?}", codes(&c));
    }
}

#[test]
fn if_with_100_000_parentheses() {
    let n = 100_000;
    // One word of parentheses: the condition parser's depth limit refuses it.
    let c = run(format!("{VALID}.if {}1{}\n.endif\n", "(".repeat(n), ")".repeat(n)).into_bytes());
    assert_refused(&c);
    assert!(
        codes(&c).contains(&Code::ConditionSyntax),
        "{:?}",
        codes(&c)
    );
    // Unbalanced.
    let c = run(format!("{VALID}.if {}1\n.endif\n", "(".repeat(n)).into_bytes());
    assert_refused(&c);
    // Spaced out: 100,000 words, refused by the word limit before evaluation.
    let c = run(format!("{VALID}.if {}1{}\n.endif\n", "( ".repeat(n), " )".repeat(n)).into_bytes());
    assert_refused(&c);
    assert!(codes(&c).contains(&Code::TooManyWords), "{:?}", codes(&c));
    // 100,000 negations are not nesting: fine, and true.
    let c = run(format!("{VALID}.if {}1\n.endif\n", "!".repeat(n)).into_bytes());
    assert!(!c.has_errors(), "{:?}", codes(&c));
}

#[test]
fn line_with_100_000_words() {
    let c = run(format!("{VALID}    server {}\n", "w ".repeat(100_000)).into_bytes());
    assert_refused(&c);
    assert_eq!(codes(&c).first(), Some(&Code::TooManyWords));
}

#[test]
fn one_megabyte_line() {
    let big = "a".repeat(1 << 20);
    // As a keyword, as an argument, as a quoted argument: refused.
    for line in [
        big.clone(),
        format!("    mode {big}"),
        format!("    bind \"{big}"),
        format!("    balance {big}"),
    ] {
        let c = run(format!("{VALID}{line}\n").into_bytes());
        assert_refused(&c);
    }
    // HAProxy grows its line buffer as needed: a 1 MB comment is fine.
    let c = run(format!("#{big}\n{VALID}    # {big}\n").into_bytes());
    assert!(!c.has_errors(), "{:?}", codes(&c));
    assert_eq!(c.exit_code(false), 0);
}

#[test]
fn file_of_only_nuls() {
    let c = run(vec![0u8; 1 << 20]);
    assert_refused(&c);
    let mut nul_lines = vec![0u8; 4096];
    nul_lines.push(b'\n');
    let c = run(nul_lines);
    assert_refused(&c);
    assert_eq!(codes(&c).first(), Some(&Code::StrayNul));
}

#[test]
fn crlf_files_are_accepted() {
    let crlf = VALID.replace('\n', "\r\n");
    let c = run(crlf.into_bytes());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    assert_eq!(c.exit_code(false), 0);
    // Mixed line endings, CRLF on the .if block lines too.
    let mixed = format!("{VALID}.if 1\r\n.endif\r\n").replace("mode tcp\n", "mode tcp\r\n");
    let c = run(mixed.into_bytes());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    assert_eq!(c.exit_code(false), 0);
}

#[test]
fn crlf_corpus_files_keep_their_verdict() {
    // Every corpus file must get the same exit code with CRLF line endings.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/haproxy-cfg");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("corpus not found: skipped");
        return;
    };
    let mut n = 0;
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "cfg") {
            continue;
        }
        let bytes = std::fs::read(&p).expect("read corpus file");
        if bytes.contains(&b'\r') {
            continue;
        }
        let lf = run(bytes.clone());
        let crlf: Vec<u8> = bytes
            .iter()
            .flat_map(|&b| {
                if b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![b]
                }
            })
            .collect();
        let cr = run(crlf);
        assert_eq!(codes(&cr), codes(&lf), "{}", p.display());
        assert_eq!(cr.exit_code(false), lf.exit_code(false), "{}", p.display());
        n += 1;
    }
    assert!(n > 0, "no corpus file checked");
}

#[test]
fn empty_file() {
    for bytes in [Vec::new(), b"\n\n".to_vec(), b"# nothing\n".to_vec()] {
        let c = run(bytes);
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        assert_eq!(c.exit_code(false), 2);
    }
}

#[test]
fn backend_with_100_000_servers_is_linear() {
    // The duplicate-name check used to scan every earlier server: quadratic, minutes
    // for this input in a debug build.
    let n = 100_000;
    let mut s = String::from(VALID);
    s.push_str("backend many\n");
    for i in 0..n {
        s.push_str(&format!(
            "    server s{i} 10.0.{}.{}:80\n",
            (i >> 8) & 255,
            i & 255
        ));
    }
    s.push_str("    server s77 10.9.9.9:80\n");
    let t = Instant::now();
    let c = run(s.into_bytes());
    let took = t.elapsed();
    assert!(took.as_secs() < 60, "{took:?}");
    assert_eq!(codes(&c), vec![Code::DuplicateServer]);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == Code::DuplicateServer)
        .expect("duplicate reported");
    let first_line = VALID.lines().count() as u32 + 2 + 77;
    assert!(
        d.haproxy.as_ref().is_some_and(|h| h
            .text
            .contains(&format!("already defined at line {first_line}"))),
        "{:?}",
        d.haproxy
    );
}

/// Write `size` bytes of configuration: valid-looking sections and servers with a
/// garbage line now and then, into `path`. Returns the number of lines.
fn write_big_file(path: &Path, size: usize) -> usize {
    use std::io::Write;
    let mut rng = Rng(7);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create big file"));
    let mut written = 0;
    let mut lines = 0;
    let mut i = 0usize;
    while written < size {
        let chunk = if i % 1000 == 0 {
            format!("backend be{i}\n    balance roundrobin\n")
        } else if i % 997 == 0 {
            let mut g = rng.bytes(60);
            // No NUL: it would stop the file (HAProxy's "stray NUL") too early.
            g.retain(|&b| b != b'\n' && b != 0);
            g.push(b'\n');
            String::from_utf8_lossy(&g).into_owned()
        } else {
            format!(
                "    server s{i} 10.{}.{}.{}:5432 check inter 2s\n",
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255
            )
        };
        w.write_all(chunk.as_bytes()).expect("write big file");
        written += chunk.len();
        lines += chunk.matches('\n').count();
        i += 1;
    }
    w.flush().expect("flush big file");
    lines
}

fn big_file(size: usize) {
    let dir = TempDir::new(&format!("robust-big{size}"));
    let path = dir.path("big.cfg");
    let lines = write_big_file(&path, size);
    let len = std::fs::metadata(&path)
        .map(|m| m.len())
        .expect("stat big file");
    assert!(len as usize >= size, "{len} bytes written");
    let t = Instant::now();
    let c = check(std::slice::from_ref(&path), &opts());
    let took = t.elapsed();
    eprintln!(
        "{size} bytes, {lines} lines: checked in {took:?}, {} diagnostics",
        c.diagnostics.len()
    );
    assert_refused(&c);
    // HAProxy stops a file after 50 fatal errors; so must we, without running away.
    assert!(
        codes(&c).contains(&Code::TooManyErrors),
        "{:?}",
        &codes(&c)[..codes(&c).len().min(5)]
    );
    assert!(
        c.diagnostics.len() < 1000,
        "{} diagnostics",
        c.diagnostics.len()
    );
}

/// 100 MB in release builds; 8 MB in debug builds (see docs/fuzzing.md).
#[test]
fn big_file_with_garbage() {
    let size = if cfg!(debug_assertions) {
        8 << 20
    } else {
        100 << 20
    };
    big_file(size);
}

/// The full 100 MB even in a debug build (slow): `cargo test -- --ignored`.
#[test]
#[ignore = "100 MB in a debug build is slow; big_file_with_garbage covers it in release"]
fn hundred_megabyte_file_debug() {
    big_file(100 << 20);
}

/// `bind` `maxconn`, `backlog` and `id` at the edges of C's `int`, as HAProxy 2.6.12
/// answers them (`haproxy -c`, scripts/config-edge-numbers): refused with its text,
/// or taken. They were all taken before (an out-of-range value silently dropped).
#[test]
fn bind_numbers_out_of_int_range_are_refused_as_haproxy_does() {
    let cfg = |opt: &str| {
        format!(
            "defaults\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             listen l\n bind 127.0.0.1:8443 {opt}\n server s 127.0.0.1:80\n"
        )
    };
    let refused = [
        ("id -1", "'id' : custom id has to be > 0"),
        ("id 0", "'id' : custom id has to be > 0"),
        ("id 2147483648", "'id' : custom id has to be > 0"),
        ("id 4294967296", "'id' : custom id has to be > 0"),
        ("id 18446744073709551616", "'id' : custom id has to be > 0"),
        (
            "id 2147483647d",
            "'id' : expects an integer argument, found '2147483647d'",
        ),
        ("id -", "'id' : expects an integer argument, found '-'"),
        ("id", "'id' : expects an integer argument"),
        ("maxconn -1", "'maxconn' : invalid value -1, must be >= 0"),
        (
            "maxconn 2147483648",
            "'maxconn' : invalid value -2147483648, must be >= 0",
        ),
        (
            "maxconn 9223372036854775807",
            "'maxconn' : invalid value -1, must be >= 0",
        ),
        ("maxconn", "'maxconn' : missing value"),
        ("backlog -1", "'backlog' : invalid value -1, must be > 0"),
        (
            "backlog 2147483648",
            "'backlog' : invalid value -2147483648, must be > 0",
        ),
    ];
    for (opt, text) in refused {
        let c = run(cfg(opt).into_bytes());
        assert_refused(&c);
        let want = format!("'bind 127.0.0.1:8443' in section 'listen' : {text}");
        assert!(
            c.diagnostics
                .iter()
                .any(|d| d.haproxy.as_ref().is_some_and(|h| h.text == want)),
            "{opt}: {:?}",
            c.diagnostics
        );
    }
    for opt in [
        "id 5",
        "id 4294967297",
        "maxconn 0",
        "maxconn 2147483647",
        "maxconn 4294967296",
        "maxconn 12abc",
        "backlog 0",
        "backlog 2147483647",
    ] {
        let c = run(cfg(opt).into_bytes());
        assert!(!c.has_errors(), "{opt}: {:?}", c.diagnostics);
    }
}

/// Server `rise`, `fall` and `weight` past C's `int`, as HAProxy 2.6.12 reads them
/// (atol, then the low 32 bits; `haproxy -c` gave each answer below): 4294967297 is 1,
/// 2147483648 is negative, and an atol out of range saturates as glibc's.
#[test]
fn server_numbers_past_int_are_read_as_haproxy_does() {
    let cfg = |opt: &str| {
        format!(
            "defaults\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             listen l\n bind 127.0.0.1:8443\n server s 127.0.0.1:80 check {opt}\n"
        )
    };
    let refused = [
        ("rise 2147483648", "'server l/s' : 'rise' has to be > 0."),
        ("fall 4294967296", "'server l/s' : 'fall' has to be > 0."),
        (
            "weight 2147483648",
            "'server l/s' : weight of server s is not within 0 and 256 (-2147483648)..",
        ),
        (
            "weight 4294967553",
            "'server l/s' : weight of server s is not within 0 and 256 (257)..",
        ),
        (
            "weight 300",
            "'server l/s' : weight of server s is not within 0 and 256 (300)..",
        ),
    ];
    for (opt, want) in refused {
        let c = run(cfg(opt).into_bytes());
        assert_refused(&c);
        assert!(
            c.diagnostics
                .iter()
                .any(|d| d.haproxy.as_ref().is_some_and(|h| h.text == want)),
            "{opt}: {:?}",
            c.diagnostics
        );
    }
    for opt in [
        "rise 4294967297",
        "fall -4294967295",
        "weight 4294967296",
        "weight -9223372036854775809",
        "weight 256",
        "fall 3",
    ] {
        let c = run(cfg(opt).into_bytes());
        assert!(!c.has_errors(), "{opt}: {:?}", c.diagnostics);
    }
    assert_eq!(
        haproxide_config::value::atol("-9223372036854775809"),
        i64::MIN
    );
    assert_eq!(
        haproxide_config::value::atol("-9223372036854775808"),
        i64::MIN
    );
    assert_eq!(
        haproxide_config::value::atol("18446744073709551616"),
        i64::MAX
    );
    assert_eq!(haproxide_config::value::atol(" -12x"), -12);
}

/// `stats refresh` is a time in seconds up to 2^31-1 s (HAProxy's TIME_UNIT_S),
/// refused with HAProxy 2.6.12's texts past it or when not a time (each checked with
/// `haproxy -c`); before, such values were dropped silently, and 2147483647 (s) too.
#[test]
fn stats_refresh_is_read_in_seconds_as_haproxy_does() {
    let cfg = |v: &str| {
        format!(
            "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             listen l\n bind 127.0.0.1:8443\n stats refresh {v}\n server s 127.0.0.1:80\n"
        )
    };
    let refused = [
        ("-1", "unexpected character '-' in argument to stats refresh interval."),
        ("10x", "unexpected character 'x' in argument to stats refresh interval."),
        ("", "unexpected character '"),
        ("2147483648", "timer overflow in argument <2147483648> to stats refresh interval, maximum value is 2147483647 s (~68 years)."),
        ("35791395m", "timer overflow in argument <35791395m> to stats refresh interval, maximum value is 2147483647 s (~68 years)."),
        ("2147483647d", "timer overflow in argument <2147483647d> to stats refresh interval, maximum value is 2147483647 s (~68 years)."),
    ];
    for (v, want) in refused {
        let c = run(cfg(v).into_bytes());
        assert_refused(&c);
        assert!(
            c.diagnostics
                .iter()
                .any(|d| d.haproxy.as_ref().is_some_and(|h| h.text == want)),
            "{v}: {:?}",
            c.diagnostics
        );
    }
    for v in [
        "0",
        "5",
        "1500ms",
        "100us",
        "2147483647",
        "2147483647s",
        "35791394m",
    ] {
        let c = run(cfg(v).into_bytes());
        assert!(!c.has_errors(), "{v}: {:?}", c.diagnostics);
    }
    use haproxide_config::value::parse_time_secs;
    assert_eq!(parse_time_secs("1500ms"), Ok(2));
    assert_eq!(parse_time_secs("100us"), Ok(1));
    assert_eq!(parse_time_secs("2m"), Ok(120));
    assert_eq!(parse_time_secs("2147483647"), Ok(2_147_483_647));
}

/// `tune.bufsize` / `tune.maxrewrite` read into C's `int` and the 256 MB buffer
/// limit, as HAProxy 2.6.12 (each checked with `haproxy -c`): a 4 GiB buffer (a head
/// limit per client) was taken before.
#[test]
fn buffer_sizes_past_int_or_256_mb_are_refused_as_haproxy_does() {
    let cfg = |opt: &str| {
        format!(
            "global\n {opt}\ndefaults\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n\
             listen l\n bind 127.0.0.1:8443\n server s 127.0.0.1:80\n"
        )
    };
    let refused = [
        ("tune.bufsize 2147483647", "'tune.bufsize' expects a positive integer argument."),
        ("tune.bufsize 2147483648", "'tune.bufsize' expects a positive integer argument."),
        ("tune.bufsize 4294967296", "'tune.bufsize' expects a positive integer argument."),
        ("tune.bufsize 2147483632", "global.tune.bufsize must be below 256 MB when HTTP is in use (current value = 2147483632)."),
        ("tune.bufsize 268435456", "global.tune.bufsize must be below 256 MB when HTTP is in use (current value = 268435456)."),
        ("tune.maxrewrite 2147483648", "'tune.maxrewrite' expects a positive integer argument."),
        ("tune.maxrewrite -1", "'tune.maxrewrite' expects a positive integer argument."),
    ];
    for (opt, want) in refused {
        let c = run(cfg(opt).into_bytes());
        assert_refused(&c);
        assert!(
            c.diagnostics
                .iter()
                .any(|d| d.haproxy.as_ref().is_some_and(|h| h.text == want)),
            "{opt}: {:?}",
            c.diagnostics
        );
    }
    for opt in [
        "tune.bufsize 268435440",
        "tune.bufsize 4294967312",
        "tune.bufsize 16384",
        "tune.maxrewrite 4294967296",
        "tune.maxrewrite 1024",
    ] {
        let c = run(cfg(opt).into_bytes());
        assert!(!c.has_errors(), "{opt}: {:?}", c.diagnostics);
    }
}
