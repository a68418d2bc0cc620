//! Property tests for word splitting ([`haproxide_config::lexer::split_line`]).
//!
//! Each property states something the splitter must do (and can fail): exact words
//! and spans for plain input, quote and escape round trips, comments, error kinds and
//! positions, the 64-word limit, and agreement with a small reference splitter
//! written independently below.

use haproxide_config::lexer::{split_line, LexError, LexErrorKind, LexWord, MAX_WORDS};
use proptest::prelude::*;

/// No environment: every variable is unset.
fn no_env(_: &str) -> Option<String> {
    None
}

fn split(line: &[u8]) -> Result<Vec<LexWord>, LexError> {
    split_line(line, &no_env)
}

const SPACES: &[u8] = b" \t\x0b\x0c";
const EOLS: &[u8] = b"\0\n\r";

/// A word made of characters that are never special to the splitter.
fn safe_word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.:/@%+=,-]{1,12}"
}

/// One run of HAProxy white space (space, tab, VT, FF).
fn sep() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(SPACES.to_vec()), 1..4)
}

/// Safe words joined by random white space, with the byte range of each word.
fn joined(
    words: &[String],
    seps: &[Vec<u8>],
    lead: &[u8],
    trail: &[u8],
) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut line = lead.to_vec();
    let mut spans = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            line.extend_from_slice(&seps[i % seps.len()]);
        }
        let start = line.len();
        line.extend_from_slice(w.as_bytes());
        spans.push((start, line.len()));
    }
    line.extend_from_slice(trail);
    (line, spans)
}

fn texts(ws: &[LexWord]) -> Vec<Vec<u8>> {
    ws.iter().map(|w| w.bytes.clone()).collect()
}

/// A reference splitter, written as a plain byte state machine from
/// configuration.txt §2.2, for lines without `$` (no environment expansion).
fn reference(line: &[u8]) -> Result<Vec<LexWord>, LexError> {
    #[derive(PartialEq)]
    enum Q {
        None,
        Double,
        Single,
    }
    let is_space = |c: u8| SPACES.contains(&c);
    let is_eol = |c: u8| EOLS.contains(&c);
    let mut words = Vec::new();
    let mut cur: Option<LexWord> = None;
    let mut q = Q::None;
    let mut quote_pos = 0;
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        if is_eol(c) {
            break;
        }
        match q {
            Q::Single => {
                if c == b'\'' {
                    q = Q::None;
                } else if let Some(w) = cur.as_mut() {
                    w.bytes.push(c);
                }
                i += 1;
                if let Some(w) = cur.as_mut() {
                    w.end = i;
                }
                continue;
            }
            Q::None if is_space(c) => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
                i += 1;
                continue;
            }
            Q::None if c == b'#' => break,
            _ => {}
        }
        let w = cur.get_or_insert(LexWord {
            bytes: Vec::new(),
            start: i,
            end: i,
            quoted: false,
        });
        if c == b'\\' {
            let next = line.get(i + 1).copied();
            match next {
                Some(n @ (b' ' | b'\\' | b'#' | b'\'' | b'"')) => {
                    w.bytes.push(n);
                    i += 2;
                }
                Some(b't') => {
                    w.bytes.push(b'\t');
                    i += 2;
                }
                Some(b'n') => {
                    w.bytes.push(b'\n');
                    i += 2;
                }
                Some(b'r') => {
                    w.bytes.push(b'\r');
                    i += 2;
                }
                Some(b'x') => {
                    let hex = line
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| {
                        if h.bytes().all(|b| b.is_ascii_hexdigit()) {
                            u8::from_str_radix(h, 16).ok()
                        } else {
                            None
                        }
                    }) {
                        Some(b) => {
                            w.bytes.push(b);
                            i += 4;
                        }
                        None => {
                            return Err(LexError {
                                kind: LexErrorKind::BadHex,
                                pos: i,
                            })
                        }
                    }
                }
                _ => {
                    w.bytes.push(b'\\');
                    i += 1;
                }
            }
        } else if q == Q::Double && c == b'"' {
            q = Q::None;
            i += 1;
        } else if q == Q::None && (c == b'"' || c == b'\'') {
            q = if c == b'"' { Q::Double } else { Q::Single };
            w.quoted = true;
            quote_pos = i;
            i += 1;
        } else {
            w.bytes.push(c);
            i += 1;
        }
        w.end = i;
    }
    if q != Q::None {
        return Err(LexError {
            kind: LexErrorKind::UnmatchedQuote,
            pos: quote_pos,
        });
    }
    if let Some(w) = cur.take() {
        words.push(w);
    }
    if words.len() > MAX_WORDS {
        return Err(LexError {
            kind: LexErrorKind::TooManyWords,
            pos: words[MAX_WORDS].start,
        });
    }
    Ok(words)
}

/// Bytes drawn mostly from the characters that matter to the splitter.
fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"ab x#\"'\\\t\x0b\r\n\0tnrx0fF9g\xff\xc3".to_vec();
    prop::collection::vec(prop::sample::select(alphabet), 0..80)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes: no panic, and any success is well formed.
    #[test]
    fn never_panics_and_results_are_well_formed(line in prop::collection::vec(any::<u8>(), 0..300)) {
        match split(&line) {
            Ok(ws) => {
                prop_assert!(ws.len() <= MAX_WORDS);
                let mut prev_end = 0;
                for w in &ws {
                    prop_assert!(w.start < w.end, "empty raw span {:?}", w);
                    prop_assert!(w.end <= line.len());
                    // `${VAR[*]}` gives several words for one raw span; otherwise
                    // words are disjoint and in order.
                    if !line.windows(3).any(|x| x == b"[*]") {
                        prop_assert!(w.start >= prev_end, "overlapping words {:?}", ws);
                    }
                    prev_end = w.end;
                    // An unquoted word with no backslash is its raw text.
                    let raw = &line[w.start..w.end];
                    if !raw.iter().any(|c| matches!(c, b'"' | b'\'' | b'\\')) {
                        prop_assert_eq!(&w.bytes[..], raw);
                        prop_assert!(!w.quoted);
                    }
                }
            }
            Err(e) => prop_assert!(e.pos <= line.len(), "error position {} past the line", e.pos),
        }
    }

    /// Without quotes or backslashes, no word holds a separator, an end-of-line
    /// character or `#`, and the words are exactly the separator-delimited runs
    /// before the first `#` or end of line.
    #[test]
    fn words_never_contain_unescaped_separators(
        line in prop::collection::vec(prop::sample::select(b"ab1 \t\x0b\x0c#\r\n\0\xff$".to_vec()), 0..120)
    ) {
        let ws = split(&line).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        for w in &ws {
            prop_assert!(!w.bytes.iter().any(|c| SPACES.contains(c) || EOLS.contains(c) || *c == b'#'), "{:?}", w);
        }
        let cut = line.iter().position(|c| EOLS.contains(c) || *c == b'#').unwrap_or(line.len());
        let want: Vec<Vec<u8>> = line[..cut]
            .split(|c| SPACES.contains(c))
            .filter(|s| !s.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        prop_assert_eq!(texts(&ws), want);
    }

    /// Safe words joined by random white space come back exactly, with spans on
    /// their raw text.
    #[test]
    fn safe_words_round_trip_with_spans(
        words in prop::collection::vec(safe_word(), 0..=MAX_WORDS),
        seps in prop::collection::vec(sep(), 1..8),
        lead in prop::collection::vec(prop::sample::select(SPACES.to_vec()), 0..3),
        trail in prop::collection::vec(prop::sample::select(SPACES.to_vec()), 0..3),
    ) {
        let (line, spans) = joined(&words, &seps, &lead, &trail);
        let ws = split(&line).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(ws.len(), words.len());
        for ((w, want), (s, e)) in ws.iter().zip(&words).zip(&spans) {
            prop_assert_eq!(&w.bytes, &want.as_bytes().to_vec());
            prop_assert_eq!((w.start, w.end), (*s, *e));
            prop_assert_eq!(&line[w.start..w.end], want.as_bytes());
            prop_assert!(!w.quoted);
        }
    }

    /// `'...'` keeps every byte but `'` and end-of-line characters literally.
    #[test]
    fn single_quotes_round_trip(
        before in safe_word(),
        body in prop::collection::vec(any::<u8>().prop_filter("no quote or eol", |c| *c != b'\'' && !EOLS.contains(c)), 0..60),
    ) {
        let mut line = format!("{before} '").into_bytes();
        line.extend_from_slice(&body);
        line.extend_from_slice(b"' tail");
        let ws = split(&line).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(ws.len(), 3);
        prop_assert_eq!(&ws[1].bytes, &body);
        prop_assert!(ws[1].quoted);
        prop_assert_eq!((ws[1].start, ws[1].end), (before.len() + 1, before.len() + body.len() + 3));
        prop_assert_eq!(&ws[2].bytes[..], b"tail");
    }

    /// Every byte written as `\xHH` comes back, whatever it is.
    #[test]
    fn hex_escapes_round_trip(bytes in prop::collection::vec(any::<u8>(), 1..40), upper in any::<bool>()) {
        let line: String = bytes
            .iter()
            .map(|b| if upper { format!("\\x{b:02X}") } else { format!("\\x{b:02x}") })
            .collect();
        let ws = split(line.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(ws.len(), 1);
        prop_assert_eq!(&ws[0].bytes, &bytes);
        prop_assert_eq!((ws[0].start, ws[0].end), (0, line.len()));
    }

    /// An unquoted `#` ends the line, between words or in the middle of one.
    #[test]
    fn hash_outside_quotes_truncates(
        words in prop::collection::vec(safe_word(), 0..10),
        attached in any::<bool>(),
        comment in prop::collection::vec(any::<u8>(), 0..60),
    ) {
        let (mut line, _) = joined(&words, &[b" ".to_vec()], b"", if attached { b"" } else { b" " });
        let prefix = line.clone();
        line.push(b'#');
        line.extend_from_slice(&comment);
        let got = split(&line).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let want = split(&prefix).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(texts(&got), words.iter().map(|w| w.as_bytes().to_vec()).collect::<Vec<_>>());
    }

    /// `#` inside quotes is an ordinary character.
    #[test]
    fn hash_inside_quotes_is_kept(a in safe_word(), b in safe_word(), dq in any::<bool>()) {
        let q = if dq { '"' } else { '\'' };
        let line = format!("{q}{a}#{b}{q}");
        let ws = split(line.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(texts(&ws), vec![format!("{a}#{b}").into_bytes()]);
    }

    /// A quote left open, on its own or because an end-of-line character comes
    /// before its mate, is `UnmatchedQuote` at the quote's position.
    #[test]
    fn unmatched_quote_reports_its_position(
        words in prop::collection::vec(safe_word(), 0..6),
        dq in any::<bool>(),
        body in prop::collection::vec(any::<u8>().prop_filter("plain", |c| !matches!(c, b'"' | b'\'' | b'\\' | b'$') && !EOLS.contains(c)), 0..40),
        cut in prop::option::of(prop::sample::select(EOLS.to_vec())),
    ) {
        let (mut line, _) = joined(&words, &[b" ".to_vec()], b"", b" ");
        let pos = line.len();
        line.push(if dq { b'"' } else { b'\'' });
        line.extend_from_slice(&body);
        if let Some(c) = cut {
            // The mate comes after the end of the line: it does not count.
            line.push(c);
            line.push(if dq { b'"' } else { b'\'' });
        }
        prop_assert_eq!(split(&line), Err(LexError { kind: LexErrorKind::UnmatchedQuote, pos }));
    }

    /// At most 64 words; the 65th is reported at its start.
    #[test]
    fn word_limit(words in prop::collection::vec(safe_word(), 0..140), seps in prop::collection::vec(sep(), 1..4)) {
        let (line, spans) = joined(&words, &seps, b"", b"");
        match split(&line) {
            Ok(ws) => {
                prop_assert!(words.len() <= MAX_WORDS, "{} words accepted", words.len());
                prop_assert_eq!(ws.len(), words.len());
            }
            Err(e) => {
                prop_assert!(words.len() > MAX_WORDS, "{:?} for {} words", e, words.len());
                prop_assert_eq!(e, LexError { kind: LexErrorKind::TooManyWords, pos: spans[MAX_WORDS].0 });
            }
        }
    }

    /// Agreement with the reference splitter on lines full of quotes, escapes,
    /// comments and end-of-line characters (no `$`: no environment).
    #[test]
    fn agrees_with_reference_splitter(line in tricky_bytes()) {
        prop_assert_eq!(split(&line), reference(&line), "line {:?}", String::from_utf8_lossy(&line));
    }

    /// `"${NAME[*]}"` splits the value into words, as if they had been written.
    #[test]
    fn word_expansion_splits_the_value(words in prop::collection::vec(safe_word(), 1..10)) {
        let value = words.join("  \t");
        let env = move |n: &str| (n == "LIST").then(|| value.clone());
        let ws = split_line(b"x \"${LIST[*]}\" y", &env).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let mut want = vec![b"x".to_vec()];
        want.extend(words.iter().map(|w| w.as_bytes().to_vec()));
        want.push(b"y".to_vec());
        prop_assert_eq!(texts(&ws), want);
    }
}

#[test]
fn reference_splitter_sanity() {
    // The reference must itself be right on known cases, or agreement means nothing.
    let got = reference(br#"a"b c"d 'e f' \x41\q x#y"#).expect("valid");
    assert_eq!(
        texts(&got),
        vec![
            b"ab cd".to_vec(),
            b"e f".to_vec(),
            b"A\\q".to_vec(),
            b"x".to_vec()
        ]
    );
    assert_eq!(
        reference(b"ab 'cd").map_err(|e| e.kind),
        Err(LexErrorKind::UnmatchedQuote)
    );
    assert_eq!(reference(b"a \\xZ1").map_err(|e| e.pos), Err(2));
}
