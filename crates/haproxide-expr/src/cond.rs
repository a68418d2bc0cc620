//! Conditions (configuration.txt §7.2 "Using ACLs to form conditions"):
//! `if|unless` followed by ACL names, implicitly AND-ed, `||` (or `or`) between
//! groups, `!` before a name to negate it, and anonymous ACLs `{ ... }`.

use std::sync::Arc;

use crate::acl::{Acl, AclExpr, AclSet, Opts};
use crate::error::ExprError;
use crate::fetch::{Context, Uses};
use crate::Tri;

#[derive(Debug, Clone)]
struct Term {
    neg: bool,
    acl: Arc<Acl>,
}

/// A typed condition.
#[derive(Debug, Clone)]
pub struct Cond {
    /// `unless` instead of `if`.
    pub unless: bool,
    /// OR of AND-ed terms; no group at all never passes (`if` alone).
    suites: Vec<Vec<Term>>,
    /// The words as written, for messages and equality.
    text: String,
}

impl PartialEq for Cond {
    fn eq(&self, o: &Cond) -> bool {
        self.text == o.text
    }
}

impl Eq for Cond {}

impl Cond {
    /// Parse `words`, which start with `if` or `unless` (HAProxy's
    /// `build_acl_cond` / `parse_acl_cond`). Names are looked up in `acls`
    /// (the proxy's, then the pre-defined ones).
    pub fn parse(words: &[&str], acls: &AclSet, opts: &Opts<'_>) -> Result<Cond, ExprError> {
        let (unless, words) = match words.split_first() {
            Some((&"if", r)) => (false, r),
            Some((&"unless", r)) => (true, r),
            _ => {
                return Err(ExprError::invalid(
                    "conditions must start with either 'if' or 'unless'",
                ))
            }
        };
        let mut suites: Vec<Vec<Term>> = Vec::new();
        let mut cur: Option<Vec<Term>> = None;
        let mut neg = false;
        let mut i = 0;
        while i < words.len() {
            let mut w = words[i];
            while let Some(r) = w.strip_prefix('!') {
                neg = !neg;
                w = r;
            }
            if w.is_empty() {
                i += 1;
                continue;
            }
            if w.eq_ignore_ascii_case("or") || w == "||" {
                suites.extend(cur.take());
                neg = false;
                i += 1;
                continue;
            }
            let acl = if w == "{" {
                let Some(end) = words[i + 1..].iter().position(|x| *x == "}") else {
                    return Err(ExprError::invalid("missing closing '}' in condition"));
                };
                let inner = &words[i + 1..i + 1 + end];
                i += end + 1;
                Arc::new(Acl::anonymous(AclExpr::parse(inner, opts)?))
            } else {
                acls.get(w)?
            };
            cur.get_or_insert_with(Vec::new).push(Term { neg, acl });
            neg = false;
            i += 1;
        }
        suites.extend(cur);
        Ok(Cond {
            unless,
            suites,
            text: words.join(" "),
        })
    }

    /// `if TRUE`.
    pub fn always() -> Cond {
        // TRUE is in the static table of pre-defined ACLs (acl.rs), so the lookup
        // cannot fail.
        let acl = AclSet::new().get("TRUE").expect("the pre-defined ACL TRUE");
        Cond {
            unless: false,
            suites: vec![vec![Term { neg: false, acl }]],
            text: "TRUE".into(),
        }
    }

    /// Evaluate (HAProxy's `acl_exec_cond`, then the polarity): AND within a group
    /// stops at the first failure, OR across groups at the first pass; a miss
    /// ("may change") survives negation and `unless`.
    pub fn eval(&self, ctx: &dyn Context) -> Tri {
        let mut res = Tri::Fail;
        for suite in &self.suites {
            let mut s = Tri::Pass;
            for t in suite {
                let r = t.acl.eval(ctx);
                s = s.and(if t.neg { r.not() } else { r });
                if s == Tri::Fail {
                    break;
                }
            }
            res = res.or(s);
            if res == Tri::Pass {
                break;
            }
        }
        if self.unless {
            res.not()
        } else {
            res
        }
    }

    /// The first fetch this condition reads that a rule offering `offered` cannot
    /// answer (`tcp-request` rules offer [`Uses::TCP`], the stats page
    /// [`Uses::HTTP`]).
    pub fn missing(&self, offered: Uses) -> Option<&'static str> {
        self.fetches()
            .find(|(_, u)| !u.within(offered))
            .map(|(n, _)| n)
    }

    /// Every fetch the condition reads, with what it uses.
    pub fn fetches(&self) -> impl Iterator<Item = (&'static str, Uses)> + '_ {
        self.suites
            .iter()
            .flatten()
            .flat_map(|t| t.acl.exprs())
            .map(|e| (e.sample().fetch_name(), e.sample().uses()))
    }

    /// The condition as written (after `if`/`unless`).
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Evaluate an optional condition: none (no `if`/`unless`) passes.
pub fn eval_opt(cond: Option<&Cond>, ctx: &dyn Context) -> Tri {
    cond.map_or(Tri::Pass, |c| c.eval(ctx))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::ErrorKind;

    struct Ctx {
        src: &'static str,
        data: &'static [u8],
        fin: bool,
    }
    impl Context for Ctx {
        fn src(&self) -> Option<SocketAddr> {
            self.src.parse().ok()
        }
        fn req_data(&self) -> &[u8] {
            self.data
        }
        fn is_final(&self) -> bool {
            self.fin
        }
    }

    fn acls() -> AclSet {
        let mut s = AclSet::new();
        let o = Opts::default();
        s.add_line("lan", &["src", "10.0.0.0/8"], &o).unwrap();
        s.add_line("lan", &["src", "192.168.0.0/16"], &o).unwrap();
        s.add_line("big", &["req.len", "ge", "4"], &o).unwrap();
        s.add_line("get", &["req.payload(0,3)", "474554"], &o)
            .unwrap();
        s
    }

    const SOCKS_REQ: &[u8] = b"\x04\x01\x1f\x90\x7f\x00\x00\x01HAProxy\x00";
    const SOCKS_PORT: &str = "if { req.payload(2,2),hex,hex2i eq 8080 }";
    const SOCKS_ADDR: &str = "if { req.payload(4,4),hex,hex2i -m ip 127.0.0.1 }";

    fn ev(cond: &str, src: &'static str, data: &'static [u8], fin: bool) -> Tri {
        let w: Vec<&str> = cond.split(' ').collect();
        let c =
            Cond::parse(&w, &acls(), &Opts::default()).unwrap_or_else(|e| panic!("{cond}: {e}"));
        c.eval(&Ctx { src, data, fin })
    }

    #[test]
    fn truth_table() {
        use Tri::*;
        let lan = "10.1.1.1:1";
        let wan = "8.8.8.8:1";
        let cases: &[(&str, &str, &[u8], bool, Tri)] = &[
            ("if lan", lan, b"", true, Pass),
            ("if lan", "192.168.3.3:1", b"", true, Pass),
            ("if lan", wan, b"", true, Fail),
            ("unless lan", wan, b"", true, Pass),
            ("if !lan", wan, b"", true, Pass),
            ("if ! lan", wan, b"", true, Pass),
            ("if !!lan", lan, b"", true, Pass),
            ("if lan big", lan, b"abcd", true, Pass),
            ("if lan big", lan, b"ab", true, Fail),
            ("if lan big", lan, b"ab", false, Miss),
            ("if lan big", wan, b"ab", false, Fail),
            ("if lan || big", wan, b"ab", false, Miss),
            ("if lan or big", lan, b"ab", false, Pass),
            ("if !big", lan, b"ab", false, Miss),
            ("unless big", lan, b"ab", false, Miss),
            ("unless big", lan, b"abcd", false, Fail),
            ("if get", wan, b"GE", false, Miss),
            ("if get", wan, b"GE", true, Fail),
            ("if get", wan, b"GET /", false, Pass),
            ("if { src 8.8.8.8 } !lan", wan, b"", true, Pass),
            ("if { req.len gt 0 } || FALSE", wan, b"", true, Fail),
            ("if TRUE", wan, b"", true, Pass),
            ("if LOCALHOST", "127.0.0.2:1", b"", true, Pass),
            ("if LOCALHOST", "[::1]:1", b"", true, Pass),
            ("if REQ_CONTENT", wan, b"x", true, Pass),
            ("if WAIT_END", wan, b"", false, Miss),
            ("if WAIT_END", wan, b"", true, Pass),
            ("if", wan, b"", true, Fail),
            ("if lan ||", lan, b"", true, Pass),
            ("if !", wan, b"", true, Fail),
            // The SOCKS4 relay of reg-test checks/tcp-checks-socks4: port and IPv4
            // address read as hex text, then as an integer (hex2i); `-m ip` casts
            // the integer to an IPv4 address.
            (SOCKS_PORT, wan, SOCKS_REQ, true, Pass),
            (SOCKS_ADDR, wan, SOCKS_REQ, true, Pass),
            (
                SOCKS_ADDR,
                wan,
                b"\x04\x01\x1f\x90\x7f\x00\x00\x02",
                true,
                Fail,
            ),
            (SOCKS_PORT, wan, b"\x04\x01\x1f\x91", true, Fail),
            (SOCKS_PORT, wan, b"\x04\x01\x1f", false, Miss),
        ];
        for (cond, src, data, fin, want) in cases {
            assert_eq!(
                ev(cond, src, data, *fin),
                *want,
                "{cond} src={src} data={data:?} final={fin}"
            );
        }
    }

    #[test]
    fn errors() {
        let p = |s: &str| {
            let w: Vec<&str> = s.split(' ').collect();
            Cond::parse(&w, &acls(), &Opts::default()).unwrap_err()
        };
        assert_eq!(p("if nope").message, "no such ACL : 'nope'");
        assert_eq!(p("if { src").message, "missing closing '}' in condition");
        assert_eq!(
            p("if { }").message,
            "missing fetch method in ACL expression ''"
        );
        assert_eq!(
            p("when lan").message,
            "conditions must start with either 'if' or 'unless'"
        );
        assert_eq!(p("if RDP_COOKIE").kind, ErrorKind::Unsupported);
    }

    #[test]
    fn what_a_condition_reads() {
        let w = ["if", "lan", "||", "{", "path_beg", "/x", "}"];
        let c = Cond::parse(&w, &acls(), &Opts::default()).unwrap();
        assert_eq!(c.missing(Uses::TCP), Some("path"));
        assert_eq!(c.missing(Uses::HTTP), None);
        let w = ["if", "big", "TRUE"];
        let c = Cond::parse(&w, &acls(), &Opts::default()).unwrap();
        assert_eq!(c.missing(Uses::TCP), None);
        assert_eq!(c.missing(Uses::L4), Some("req.len"));
        assert_eq!(
            eval_opt(
                None,
                &Ctx {
                    src: "",
                    data: b"",
                    fin: false
                }
            ),
            Tri::Pass
        );
        assert_eq!(
            Cond::always().eval(&Ctx {
                src: "",
                data: b"",
                fin: true
            }),
            Tri::Pass
        );
    }
}
