//! Word splitting, as HAProxy's `parse_line()` does it (configuration.txt §2.2
//! "Quoting and escaping", §2.3 "Environment variables").
//!
//! A line is split into words on unquoted white space. Within a word:
//! - `"..."` and `'...'` quote (quotes may start or stop in the middle of a word:
//!   `a"b c"d` is the single word `ab cd`);
//! - outside single quotes a backslash escapes ` `, `\`, `#`, `'`, `"`, and gives
//!   `\t`, `\n`, `\r` and `\xHH`; inside double quotes `\$` is a literal `$`; any
//!   other backslash is kept as is;
//! - an unquoted `#` starts a comment, even in the middle of a word;
//! - environment variables (`$NAME`, `${NAME}`, `${NAME-default}`, `${NAME[*]}`) are
//!   expanded **only inside double quotes**. HAProxy 2.6 leaves an unquoted `$NAME`
//!   alone, except in addresses, which expand it themselves (see [`crate::value`]).
//!   `${NAME[*]}` splits the value into several words.
//!
//! The grammar of each fragment is written with nom; the word loop around it keeps
//! the byte offsets so every [`Word`] knows its span in the raw line.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1, take_while_m_n};
use nom::combinator::{opt, recognize};
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// HAProxy's `MAX_LINE_ARGS`: a line may hold at most this many words.
pub const MAX_WORDS: usize = 64;

/// A word of a configuration line, after quote removal and expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexWord {
    /// The word's value (bytes; config files need not be UTF-8).
    pub bytes: Vec<u8>,
    /// Byte range of the raw word in the line.
    pub start: usize,
    pub end: usize,
    /// Whether any part of the word was quoted. An empty quoted word (`""`) is a real,
    /// empty argument; HAProxy's keyword parsers take it as the end of the arguments.
    pub quoted: bool,
}

impl LexWord {
    /// The word as text: a byte that is not UTF-8 travels as a private-use
    /// character (`haproxide_expr::rawtext`), so sample literals get the byte back
    /// as HAProxy keeps it (`str(\xE0)`).
    pub fn text(&self) -> String {
        haproxide_expr::rawtext::from_bytes(self.bytes.clone())
    }

    /// The word as text, reusing its buffer when it is valid UTF-8.
    pub fn into_text(self) -> String {
        haproxide_expr::rawtext::from_bytes(self.bytes)
    }
}

/// What went wrong while splitting a line (HAProxy's `PARSE_ERR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexErrorKind {
    UnmatchedQuote,
    UnmatchedBrace,
    BadVariableName,
    BadHex,
    BadWordExpansion,
    TooManyWords,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexError {
    pub kind: LexErrorKind,
    /// Byte offset in the line where the problem is (the opening quote, the brace...).
    pub pos: usize,
}

/// Where environment variables come from (the process environment in production, a
/// map in tests). `.FILE`, `.LINE` and `.SECTION` are answered by the reader.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// One syntactic piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    /// Bytes copied as they are.
    Raw(&'a [u8]),
    /// One byte produced by an escape.
    Byte(u8),
    /// An environment variable reference.
    Var {
        name: &'a [u8],
        default: Option<&'a [u8]>,
        expand_words: bool,
    },
}

/// Parser error carrying our kind and the remaining input (for the position).
#[derive(Debug)]
struct PErr<'a> {
    input: &'a [u8],
    kind: Option<LexErrorKind>,
}

impl<'a> nom::error::ParseError<&'a [u8]> for PErr<'a> {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        PErr { input, kind: None }
    }
    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, O> = IResult<&'a [u8], O, PErr<'a>>;

fn fail<'a, O>(input: &'a [u8], kind: LexErrorKind) -> PResult<'a, O> {
    Err(nom::Err::Failure(PErr {
        input,
        kind: Some(kind),
    }))
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\x0b' | b'\x0c')
}

fn is_eol(c: u8) -> bool {
    matches!(c, b'\0' | b'\n' | b'\r')
}

/// Plain bytes outside any quote: everything but separators and special characters.
fn plain_unquoted(i: &[u8]) -> PResult<'_, Piece<'_>> {
    take_while1(|c: u8| !is_space(c) && !is_eol(c) && !matches!(c, b'"' | b'\'' | b'\\' | b'#'))
        .map(Piece::Raw)
        .parse(i)
}

/// Plain bytes inside double quotes.
fn plain_dquoted(i: &[u8]) -> PResult<'_, Piece<'_>> {
    take_while1(|c: u8| !is_eol(c) && !matches!(c, b'"' | b'\\' | b'$'))
        .map(Piece::Raw)
        .parse(i)
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// A backslash sequence (outside single quotes). `in_dquote` enables `\$`.
fn escape(in_dquote: bool) -> impl Fn(&[u8]) -> PResult<'_, Piece<'_>> {
    move |i: &[u8]| {
        let (rest, _) = tag(&b"\\"[..]).parse(i)?;
        match rest.first().copied() {
            Some(c @ (b' ' | b'\\' | b'#' | b'\'' | b'"')) => Ok((&rest[1..], Piece::Byte(c))),
            Some(b't') => Ok((&rest[1..], Piece::Byte(b'\t'))),
            Some(b'n') => Ok((&rest[1..], Piece::Byte(b'\n'))),
            Some(b'r') => Ok((&rest[1..], Piece::Byte(b'\r'))),
            Some(b'$') if in_dquote => Ok((&rest[1..], Piece::Byte(b'$'))),
            Some(b'x') => {
                let digits: PResult<'_, &[u8]> =
                    take_while_m_n(2, 2, |c: u8| c.is_ascii_hexdigit()).parse(&rest[1..]);
                match digits {
                    Ok((after, hh)) => {
                        Ok((after, Piece::Byte(hex_val(hh[0]) << 4 | hex_val(hh[1]))))
                    }
                    Err(_) => fail(i, LexErrorKind::BadHex),
                }
            }
            // Not an escape sequence: the backslash stands for itself.
            _ => Ok((rest, Piece::Byte(b'\\'))),
        }
    }
}

/// `$NAME`, `$.NAME`, `${NAME}`, `${NAME-default}`, `${NAME[*]}` (inside double quotes).
fn variable(i: &[u8]) -> PResult<'_, Piece<'_>> {
    let (rest, _) = tag(&b"$"[..]).parse(i)?;
    let (rest, brace) = opt(tag(&b"{"[..])).parse(rest)?;
    let name_start = rest;
    let name: PResult<'_, &[u8]> = recognize((
        alt((
            take_while_m_n(1, 1, |c: u8| c.is_ascii_alphabetic() || c == b'_'),
            tag(&b"."[..]),
        )),
        take_while(|c: u8| c.is_ascii_alphanumeric() || c == b'_'),
    ))
    .parse(rest);
    let Ok((rest, name)) = name else {
        return fail(name_start, LexErrorKind::BadVariableName);
    };
    let Some(brace) = brace else {
        return Ok((
            rest,
            Piece::Var {
                name,
                default: None,
                expand_words: false,
            },
        ));
    };
    // `[*]`: force word expansion (braces only).
    let (rest, expand_words) = if rest.first() == Some(&b'[') {
        match tag::<_, _, PErr<'_>>(&b"[*]"[..]).parse(rest) {
            Ok((r, _)) => (r, true),
            Err(_) => return fail(rest, LexErrorKind::BadWordExpansion),
        }
    } else {
        (rest, false)
    };
    let default_res: PResult<'_, &[u8]> =
        preceded(tag(&b"-"[..]), take_while(|c: u8| c != b'}' && c != 0)).parse(rest);
    let (rest, default) = match default_res {
        Ok((r, d)) => (r, Some(d)),
        Err(_) => (rest, None),
    };
    match tag::<_, _, PErr<'_>>(&b"}"[..]).parse(rest) {
        Ok((rest, _)) => Ok((
            rest,
            Piece::Var {
                name,
                default,
                expand_words,
            },
        )),
        Err(_) => fail(brace, LexErrorKind::UnmatchedBrace),
    }
}

/// The pieces of a double-quoted string; `i` starts just after the opening quote.
fn dquoted_body(i: &[u8]) -> PResult<'_, Vec<Piece<'_>>> {
    nom::multi::many0(alt((plain_dquoted, escape(true), variable))).parse(i)
}

/// End the word being built (`${VAR[*]}` expansion) and start a new one at the same
/// place.
fn split_word(w: &mut LexWord, words: &mut Vec<LexWord>, end: usize) {
    let next = LexWord {
        bytes: Vec::new(),
        start: w.start,
        end,
        quoted: w.quoted,
    };
    let done = std::mem::replace(w, next);
    words.push(LexWord { end, ..done });
}

/// Split one raw line (without its LF) into words.
///
/// `env` answers variable references inside double quotes.
pub fn split_line(line: &[u8], env: &dyn Env) -> Result<Vec<LexWord>, LexError> {
    let base = line.as_ptr() as usize;
    let offset = |s: &[u8]| (s.as_ptr() as usize).saturating_sub(base);
    let lex_err = |e: nom::Err<PErr<'_>>, fallback: LexErrorKind, at: usize| match e {
        nom::Err::Failure(p) | nom::Err::Error(p) => LexError {
            kind: p.kind.unwrap_or(fallback),
            pos: offset(p.input),
        },
        nom::Err::Incomplete(_) => LexError {
            kind: fallback,
            pos: at,
        },
    };

    let mut words: Vec<LexWord> = Vec::new();
    let mut cur: Option<LexWord> = None;
    let mut i = line;
    while let Some(&c) = i.first() {
        if is_eol(c) {
            break;
        }
        if is_space(c) {
            let (rest, _) = take_while1::<_, _, PErr<'_>>(is_space)
                .parse(i)
                .map_err(|e| lex_err(e, LexErrorKind::UnmatchedQuote, offset(i)))?;
            if let Some(w) = cur.take() {
                words.push(w);
            }
            i = rest;
            continue;
        }
        if c == b'#' {
            break; // unquoted '#' starts a comment, even mid-word
        }
        let start = offset(i);
        let w = cur.get_or_insert_with(|| LexWord {
            bytes: Vec::new(),
            start,
            end: start,
            quoted: false,
        });
        let pieces: Vec<Piece<'_>>;
        let rest: &[u8];
        match c {
            b'"' => {
                let body = &i[1..];
                let (r, p) = dquoted_body(body)
                    .map_err(|e| lex_err(e, LexErrorKind::UnmatchedQuote, start))?;
                if r.first() != Some(&b'"') {
                    return Err(LexError {
                        kind: LexErrorKind::UnmatchedQuote,
                        pos: start,
                    });
                }
                w.quoted = true;
                pieces = p;
                rest = &r[1..];
            }
            b'\'' => {
                let body = &i[1..];
                let len = body
                    .iter()
                    .position(|&b| b == b'\'' || is_eol(b))
                    .unwrap_or(body.len());
                if body.get(len) != Some(&b'\'') {
                    return Err(LexError {
                        kind: LexErrorKind::UnmatchedQuote,
                        pos: start,
                    });
                }
                w.quoted = true;
                pieces = vec![Piece::Raw(&body[..len])];
                rest = &body[len + 1..];
            }
            b'\\' => {
                let (r, p) =
                    escape(false)(i).map_err(|e| lex_err(e, LexErrorKind::BadHex, start))?;
                pieces = vec![p];
                rest = r;
            }
            _ => {
                let (r, p) = plain_unquoted(i)
                    .map_err(|e| lex_err(e, LexErrorKind::UnmatchedQuote, start))?;
                pieces = vec![p];
                rest = r;
            }
        }
        let end = offset(rest);
        for p in pieces {
            match p {
                Piece::Raw(b) => w.bytes.extend_from_slice(b),
                Piece::Byte(b) => w.bytes.push(b),
                Piece::Var {
                    name,
                    default,
                    expand_words,
                } => {
                    let name = String::from_utf8_lossy(name);
                    let value = env
                        .var(&name)
                        .map(String::into_bytes)
                        .or_else(|| default.map(<[u8]>::to_vec))
                        .unwrap_or_default();
                    if expand_words {
                        // `${VAR[*]}`: every run of white space in the value ends the
                        // current word and starts a new one, even inside quotes.
                        let mut in_space = false;
                        for &b in &value {
                            if b.is_ascii_whitespace() {
                                in_space = true;
                                continue;
                            }
                            if in_space {
                                split_word(w, &mut words, end);
                                in_space = false;
                            }
                            w.bytes.push(b);
                        }
                        if in_space {
                            split_word(w, &mut words, end);
                        }
                    } else {
                        w.bytes.extend_from_slice(&value);
                    }
                }
            }
        }
        w.end = end;
        i = rest;
    }
    if let Some(w) = cur.take() {
        words.push(w);
    }
    if words.len() > MAX_WORDS {
        return Err(LexError {
            kind: LexErrorKind::TooManyWords,
            pos: words.get(MAX_WORDS).map(|w| w.start).unwrap_or(0),
        });
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "T" => Some("5s".into()),
            "LIST" => Some("a b  c".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn words(line: &str) -> Vec<String> {
        split_line(line.as_bytes(), &env)
            .expect("valid line")
            .into_iter()
            .map(|w| w.text())
            .collect()
    }

    fn err(line: &str) -> LexError {
        split_line(line.as_bytes(), &env).expect_err("invalid line")
    }

    #[test]
    fn plain_words_and_spans() {
        let ws = split_line(b"  server  pg1 127.0.0.1:5432", &env).expect("ok");
        assert_eq!(ws.len(), 3);
        assert_eq!((ws[0].start, ws[0].end), (2, 8));
        assert_eq!((ws[1].start, ws[1].end), (10, 13));
        assert_eq!(ws[2].text(), "127.0.0.1:5432");
    }

    #[test]
    fn quotes_join_within_a_word() {
        assert_eq!(words(r#"a"b c"d 'e f'"#), vec!["ab cd", "e f"]);
        assert_eq!(words(r#"x "" y"#), vec!["x", "", "y"]);
        assert_eq!(words(r#"'it''s'"#), vec!["its"]);
        assert_eq!(words(r#"'a\nb'"#), vec![r"a\nb"]);
        assert_eq!(words(r#""it's""#), vec!["it's"]);
    }

    #[test]
    fn comments() {
        assert_eq!(words("bind :80 # comment"), vec!["bind", ":80"]);
        assert_eq!(words("foo#bar baz"), vec!["foo"]);
        assert_eq!(words(r#""a#b" 'c#d' e\#f"#), vec!["a#b", "c#d", "e#f"]);
        assert!(words("# only a comment").is_empty());
        assert!(words("   ").is_empty());
    }

    #[test]
    fn escapes() {
        assert_eq!(words(r"a\ b c\\d"), vec!["a b", r"c\d"]);
        assert_eq!(words(r"\x41\x62"), vec!["Ab"]);
        assert_eq!(words(r"\1 \q"), vec![r"\1", r"\q"]);
        assert_eq!(words(r#"\"q\' "\"""#), vec![r#""q'"#, "\""]);
        assert_eq!(words(r"\t")[0].as_bytes(), b"\t");
        assert_eq!(words(r"a\$b"), vec![r"a\$b"]);
        assert_eq!(words(r#""a\$b""#), vec!["a$b"]);
        assert_eq!(words("trailing\\"), vec!["trailing\\"]);
    }

    #[test]
    fn environment_only_inside_double_quotes() {
        assert_eq!(
            words(r#""${T}" "$T" ${T} $T"#),
            vec!["5s", "5s", "${T}", "$T"]
        );
        assert_eq!(words(r#""${NOPE-4s}" "a${NOPE}b""#), vec!["4s", "ab"]);
        assert_eq!(words(r#""${NOPE-a b}""#), vec!["a b"]);
        assert_eq!(words(r#""$EMPTY""#), vec![""]);
        assert_eq!(words(r#"x "${LIST[*]}" y"#), vec!["x", "a", "b", "c", "y"]);
        assert_eq!(words(r#"x "p${LIST[*]}s""#), vec!["x", "pa", "b", "cs"]);
    }

    #[test]
    fn errors_point_at_the_cause() {
        assert_eq!(
            err(r#"a "bc"#),
            LexError {
                kind: LexErrorKind::UnmatchedQuote,
                pos: 2
            }
        );
        assert_eq!(err("a 'bc").kind, LexErrorKind::UnmatchedQuote);
        assert_eq!(
            err(r#"a "${X""#),
            LexError {
                kind: LexErrorKind::UnmatchedBrace,
                pos: 4
            }
        );
        assert_eq!(err(r#""$1""#).kind, LexErrorKind::BadVariableName);
        assert_eq!(err(r"\xZZ").kind, LexErrorKind::BadHex);
        assert_eq!(err(r#""${X[1]}""#).kind, LexErrorKind::BadWordExpansion);
        let many = vec!["w"; MAX_WORDS + 1].join(" ");
        assert_eq!(err(&many).kind, LexErrorKind::TooManyWords);
        let ok = vec!["w"; MAX_WORDS].join(" ");
        assert_eq!(words(&ok).len(), MAX_WORDS);
    }
}
