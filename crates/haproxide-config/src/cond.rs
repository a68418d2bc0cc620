//! `.if` / `.elif` conditions (configuration.txt §2.4 "Conditional blocks").
//!
//! Grammar, as HAProxy parses it after re-joining the line's words with spaces:
//! ```text
//! expr := and ( "||" and )*
//! and  := term ( "&&" term )*
//! term := "!"* ( number | "(" expr ")" | predicate "(" args ")" )
//! ```
//! A number is true when non-zero. An empty condition is false. Predicates are the
//! ones HAProxy documents: `defined`, `feature`, `streq`, `strneq`, `strstr`,
//! `version_atleast`, `version_before`, `openssl_version_atleast`,
//! `openssl_version_before`, `ssllib_name_startswith`, `awslc_api_atleast`,
//! `awslc_api_before`, `enabled`, `fips_mode`.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit1, hex_digit1, space0};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser};

use crate::lexer::Env;

/// Recursion limit for parentheses and negations (a hostile `.if ((((...` must not
/// overflow the stack).
const MAX_DEPTH: usize = 64;

/// What conditions may ask about the HAProxy being emulated.
#[derive(Debug, Clone)]
pub struct CondContext {
    /// The HAProxy version the configuration is checked for, e.g. (2, 6, 12).
    pub version: (u32, u32, u32),
    /// Build features, as `haproxy -vv` lists them (`+OPENSSL`, `-QUIC`...).
    pub features: Vec<String>,
    /// The SSL library's name and version, e.g. ("OpenSSL", (3, 0, 17)).
    pub ssl_lib: (String, (u32, u32, u32)),
}

/// An error in a condition: HAProxy's message and the byte offset in the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    pub message: String,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Const(bool),
    Paren(Box<Expr>),
    Pred { name: String, args: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NegTerm {
    neg: bool,
    term: Term,
}

/// Disjunction of conjunctions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expr(Vec<Vec<NegTerm>>);

const PREDICATES: &[(&str, usize)] = &[
    ("defined", 1),
    ("feature", 1),
    ("streq", 2),
    ("strneq", 2),
    ("strstr", 2),
    ("version_atleast", 1),
    ("version_before", 1),
    ("openssl_version_atleast", 1),
    ("openssl_version_before", 1),
    ("ssllib_name_startswith", 1),
    ("awslc_api_atleast", 1),
    ("awslc_api_before", 1),
    ("enabled", 1),
    ("fips_mode", 0),
];

type R<'a, O> = IResult<&'a str, O>;

/// C's `strtol(s, &end, 0)` prefix: sign, then hex, octal or decimal digits.
fn number(i: &str) -> R<'_, bool> {
    let (rest, text) = recognize((
        space0,
        opt(alt((char('-'), char('+')))),
        alt((recognize((alt((tag("0x"), tag("0X"))), hex_digit1)), digit1)),
    ))
    .parse(i)?;
    let digits = text.trim_start().trim_start_matches(['-', '+']);
    let nonzero = digits
        .trim_start_matches("0x")
        .trim_start_matches("0X")
        .chars()
        .any(|c| c != '0');
    Ok((rest, nonzero))
}

fn pred_name(i: &str) -> R<'_, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_').parse(i)
}

/// Predicate arguments: `(a, b)`; each argument is taken up to `,` or `)`.
fn pred_args(i: &str) -> R<'_, Vec<String>> {
    let (mut i, _) = char('(').parse(i)?;
    let mut args = Vec::new();
    loop {
        let (rest, arg) = take_while(|c: char| c != ',' && c != ')').parse(i)?;
        args.push(arg.to_string());
        if let Ok((rest, _)) = char::<_, nom::error::Error<&str>>(',').parse(rest) {
            i = rest;
            continue;
        }
        let (rest, _) = char(')').parse(rest)?;
        return Ok((rest, args));
    }
}

struct Parser2<'a> {
    full: &'a str,
}

impl<'a> Parser2<'a> {
    fn pos(&self, rest: &str) -> usize {
        self.full.len().saturating_sub(rest.len())
    }

    fn err(&self, rest: &'a str, message: String) -> CondError {
        CondError {
            message,
            pos: self.pos(rest),
        }
    }

    fn expr(&self, i: &'a str, depth: usize) -> Result<(&'a str, Option<Expr>), CondError> {
        let mut ors = Vec::new();
        let (mut i, first) = self.and(i, depth)?;
        let Some(first) = first else {
            return Ok((i, None));
        };
        ors.push(first);
        loop {
            let trimmed = i.trim_start_matches([' ', '\t']);
            let Some(rest) = trimmed.strip_prefix("||") else {
                break;
            };
            let (rest, next) = self.and(rest, depth)?;
            let Some(next) = next else {
                return Err(self.err(rest, format!("unparsable conditional expression '{rest}'")));
            };
            ors.push(next);
            i = rest;
        }
        Ok((i, Some(Expr(ors))))
    }

    fn and(&self, i: &'a str, depth: usize) -> Result<(&'a str, Option<Vec<NegTerm>>), CondError> {
        let (mut i, first) = self.term(i, depth)?;
        let Some(first) = first else {
            return Ok((i, None));
        };
        let mut ands = vec![first];
        loop {
            let trimmed = i.trim_start_matches([' ', '\t']);
            let Some(rest) = trimmed.strip_prefix("&&") else {
                break;
            };
            let (rest, next) = self.term(rest, depth)?;
            let Some(next) = next else {
                return Err(self.err(rest, format!("unparsable conditional expression '{rest}'")));
            };
            ands.push(next);
            i = rest;
        }
        Ok((i, Some(ands)))
    }

    fn term(&self, i: &'a str, depth: usize) -> Result<(&'a str, Option<NegTerm>), CondError> {
        let start = i.trim_start_matches([' ', '\t']);
        if start.is_empty() {
            return Ok((start, None));
        }
        if depth == 0 {
            return Err(self.err(
                start,
                format!("unparsable conditional expression '{start}'"),
            ));
        }
        let mut neg = false;
        let mut i = start;
        while let Some(rest) = i.strip_prefix('!') {
            neg = !neg;
            i = rest.trim_start_matches([' ', '\t']);
        }
        if let Ok((rest, v)) = number(i) {
            return Ok((
                rest,
                Some(NegTerm {
                    neg,
                    term: Term::Const(v),
                }),
            ));
        }
        if let Some(rest) = i.strip_prefix('(') {
            let (rest, inner) = self.expr(rest, depth - 1)?;
            let Some(inner) = inner else {
                return Err(self.err(
                    start,
                    format!("unparsable conditional expression '{start}'"),
                ));
            };
            let rest = rest.trim_start_matches([' ', '\t']);
            let Some(rest) = rest.strip_prefix(')') else {
                return Err(self.err(
                    start,
                    format!("expected ')' after conditional expression '{start}'"),
                ));
            };
            let rest = rest.trim_start_matches([' ', '\t']);
            return Ok((
                rest,
                Some(NegTerm {
                    neg,
                    term: Term::Paren(Box::new(inner)),
                }),
            ));
        }
        if let Ok((rest, name)) = pred_name(i) {
            if let Some(&(_, nargs)) = PREDICATES.iter().find(|(p, _)| *p == name) {
                if nargs == 0 {
                    let rest = match pred_args(rest) {
                        Ok((r, _)) => r,
                        Err(_) => rest,
                    };
                    let term = Term::Pred {
                        name: name.into(),
                        args: Vec::new(),
                    };
                    return Ok((rest, Some(NegTerm { neg, term })));
                }
                return match pred_args(rest) {
                    Ok((rest, args)) if args.len() >= nargs || (nargs == 1 && args.len() == 1) => {
                        if args.len() > nargs {
                            return Err(self.err(
                                rest,
                                format!(
                                    "end of arguments expected at position {} in argument {} of predicate '{name}' used in conditional expression",
                                    nargs + 1,
                                    nargs + 1
                                ),
                            ));
                        }
                        Ok((rest, Some(NegTerm { neg, term: Term::Pred { name: name.into(), args } })))
                    }
                    Ok((rest, args)) => Err(self.err(
                        rest,
                        format!(
                            "missing arguments (got {}/{}) in argument {} of predicate '{name}' used in conditional expression",
                            args.len(),
                            nargs,
                            args.len() + 1
                        ),
                    )),
                    Err(_) => Err(self.err(
                        rest,
                        format!("missing arguments in predicate '{name}' used in conditional expression"),
                    )),
                };
            }
        }
        Err(self.err(
            start,
            format!("unparsable conditional expression '{start}'"),
        ))
    }
}

fn parse_version(s: &str) -> (u32, u32, u32) {
    let mut it = s.trim().split(['.', '-']).map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

fn eval_term(t: &NegTerm, ctx: &CondContext, env: &dyn Env) -> bool {
    let v = match &t.term {
        Term::Const(b) => *b,
        Term::Paren(e) => eval_expr(e, ctx, env),
        Term::Pred { name, args } => {
            let a0 = args.first().map(String::as_str).unwrap_or("");
            let a1 = args.get(1).map(String::as_str).unwrap_or("");
            match name.as_str() {
                "defined" => env.var(a0).is_some(),
                "feature" => ctx.features.iter().any(|f| f.strip_prefix('+') == Some(a0)),
                "streq" => a0 == a1,
                "strneq" => a0 != a1,
                "strstr" => a0.contains(a1),
                "version_atleast" => ctx.version >= parse_version(a0),
                "version_before" => ctx.version < parse_version(a0),
                "openssl_version_atleast" => ctx.ssl_lib.1 >= parse_version(a0),
                "openssl_version_before" => ctx.ssl_lib.1 < parse_version(a0),
                "ssllib_name_startswith" => ctx.ssl_lib.0.starts_with(a0),
                // Reference build: OpenSSL, not AWS-LC, not in FIPS mode; `enabled`
                // knows EPOLL, POLL, SPLICE, GETADDRINFO and REUSEPORT on Linux.
                "enabled" => matches!(
                    a0,
                    "EPOLL" | "POLL" | "SPLICE" | "REUSEPORT" | "FAST-FORWARD"
                ),
                _ => false,
            }
        }
    };
    v != t.neg
}

fn eval_expr(e: &Expr, ctx: &CondContext, env: &dyn Env) -> bool {
    e.0.iter()
        .any(|ands| ands.iter().all(|t| eval_term(t, ctx, env)))
}

/// Parse and evaluate a condition (the words after `.if`, re-joined with spaces).
pub fn evaluate(text: &str, ctx: &CondContext, env: &dyn Env) -> Result<bool, CondError> {
    let p = Parser2 { full: text };
    let (rest, expr) = p.expr(text, MAX_DEPTH)?;
    let rest_trim = rest.trim_start_matches([' ', '\t']);
    if !rest_trim.is_empty() {
        return Err(p.err(
            rest_trim,
            format!(
                "unexpected character '{}'",
                rest_trim.chars().next().unwrap_or(' ')
            ),
        ));
    }
    Ok(expr.is_some_and(|e| eval_expr(&e, ctx, env)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CondContext {
        CondContext {
            version: (2, 6, 12),
            features: vec!["+OPENSSL".into(), "-QUIC".into(), "+LUA".into()],
            ssl_lib: ("OpenSSL".into(), (3, 0, 17)),
        }
    }

    fn env(name: &str) -> Option<String> {
        (name == "HOME").then(|| "/root".to_string())
    }

    fn ev(s: &str) -> Result<bool, CondError> {
        evaluate(s, &ctx(), &env)
    }

    #[test]
    fn truth_table() {
        let cases = [
            ("", false),
            ("1", true),
            ("0", false),
            ("0x10", true),
            ("!0", true),
            ("!!1", true),
            ("defined(HOME)", true),
            ("defined(NOPE)", false),
            ("defined(HOME) && !defined(NOPE) || 0", true),
            ("0 || 0 && 1", false),
            ("1 || 0 && 0", true),
            ("(0 || 1) && 1", true),
            ("! (1)", false),
            ("streq(a,a)", true),
            ("strneq(a,a)", false),
            ("strstr(haproxy,prox)", true),
            ("feature(OPENSSL)", true),
            ("feature(QUIC)", false),
            ("feature(OPEN)", false),
            ("version_atleast(2.6)", true),
            ("version_atleast(2.6.12)", true),
            ("version_atleast(2.6.13)", false),
            ("version_before(3.0)", true),
            ("openssl_version_atleast(3.0.0)", true),
            ("ssllib_name_startswith(Open)", true),
            ("defined()", false),
        ];
        for (expr, want) in cases {
            assert_eq!(ev(expr), Ok(want), "{expr}");
        }
    }

    #[test]
    fn errors() {
        let e = ev("foo").expect_err("unknown");
        assert_eq!(e.message, "unparsable conditional expression 'foo'");
        assert_eq!(e.pos, 0);
        let e = ev("(1 ").expect_err("paren");
        assert_eq!(e.message, "expected ')' after conditional expression '(1 '");
        assert!(ev("streq(a)").is_err());
        assert!(ev("1 &&").is_err());
        assert!(ev("defined(HOME").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(ev(&deep).is_err());
        let negs = format!("{}1", "!".repeat(100_000));
        assert_eq!(ev(&negs), Ok(true));
    }
}
