//! HAProxy's sample and ACL machinery, typed at configuration time and evaluated
//! sans-IO (configuration.txt §7 "Using ACLs and fetching samples").
//!
//! - [`sample`]: sample types, values and HAProxy's cast matrix;
//! - [`fetch`]: the fetch registry and the [`Context`] a caller implements;
//! - [`conv`]: the converter registry;
//! - [`pattern`]: `-m` match methods, pattern parsing and matching;
//! - [`acl`]: sample expressions, ACL lines, named ACLs ([`AclSet`]), pre-defined ACLs;
//! - [`cond`]: `if`/`unless` conditions;
//! - [`payload`]: the layer 6 parsers (TLS ClientHello, payload ranges);
//! - [`logfmt`]: `log-format` strings (variables and `%[sample]`s), compiled once.
//!
//! Typing happens once: [`AclSet::add_line`] and [`Cond::parse`] return a value or
//! an [`ExprError`] worded as `haproxy -c` words it. Evaluation takes a
//! `&dyn Context`; fetching, matching and combining allocate nothing unless a
//! converter or a cast builds a new string.
//!
//! Results are three-valued like HAProxy's `acl_exec_cond`: a fetch whose value
//! may still change (`req.len`, an incomplete ClientHello) gives [`Tri::Miss`]
//! until the context says the evaluation is final ([`Context::is_final`]: the
//! inspect delay expired, the client closed, or the buffer is full); then a miss is
//! a failure. `tcp-request content` rules wait on a miss.
#![forbid(unsafe_code)]

pub mod acl;
pub mod args;
pub mod capture;
pub mod cond;
pub mod constfetch;
pub mod conv;
pub mod convext;
pub mod error;
pub mod fetch;
pub mod fix;
pub mod hashconv;
pub mod http;
pub mod logfmt;
pub mod mqtt;
pub mod patref;
pub mod pattern;
pub mod payload;
pub mod procvars;
pub mod rawtext;
pub mod sample;
pub mod script;
pub mod ssl;
pub mod stktab;
pub mod strconv;
pub mod timefmt;
pub mod varcond;

pub use acl::{is_predefined, patterns_from_file, Acl, AclExpr, AclSet, Opts, SampleExpr};
pub use cond::{eval_opt, Cond};
pub use error::{ErrorKind, ExprError};
pub use fetch::{Context, Uses};
pub use logfmt::{LfMode, LogFormat, LogFormatError, LogVar, LogVars};
pub use pattern::MatchMethod;
pub use sample::{Sample, SmpType};
pub use ssl::{CertFacts, TlsSession};
pub use varcond::VarCond;

/// HAProxy's `ACL_TEST_FAIL` (0), `ACL_TEST_MISS` (1), `ACL_TEST_PASS` (3): AND is
/// `&`, OR is `|`, negation swaps pass and fail and keeps a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    Fail = 0,
    Miss = 1,
    Pass = 3,
}

impl Tri {
    fn from_bits(b: u8) -> Tri {
        match b {
            0 => Tri::Fail,
            3 => Tri::Pass,
            _ => Tri::Miss,
        }
    }
    /// Conjunction.
    pub fn and(self, o: Tri) -> Tri {
        Tri::from_bits(self as u8 & o as u8)
    }
    /// Disjunction.
    pub fn or(self, o: Tri) -> Tri {
        Tri::from_bits(self as u8 | o as u8)
    }
    /// Negation (`!`, `unless`).
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::Pass => Tri::Fail,
            Tri::Fail => Tri::Pass,
            Tri::Miss => Tri::Miss,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tri::{self, *};

    #[test]
    fn tri_algebra() {
        let all = [Fail, Miss, Pass];
        for a in all {
            assert_eq!(a.not().not(), a);
            for b in all {
                // De Morgan holds in HAProxy's three-valued logic.
                assert_eq!(a.and(b).not(), a.not().or(b.not()), "{a:?} {b:?}");
                assert_eq!(a.and(b), b.and(a));
            }
        }
        assert_eq!(Miss.and(Pass), Miss);
        assert_eq!(Miss.and(Fail), Fail);
        assert_eq!(Miss.or(Pass), Pass);
        assert_eq!(Tri::Miss.or(Fail), Miss);
    }
}

#[cfg(test)]
mod doc_tests {
    /// docs/config-support.md lists every fetch and converter of the registries.
    #[test]
    fn docs_list_the_registries() {
        let doc = include_str!("../../../docs/config-support.md");
        let start = doc
            .find("## Sample fetches, converters and match methods")
            .expect("section");
        let end = doc[start..]
            .find("## Keyword tables")
            .map_or(doc.len(), |e| start + e);
        let sec = &doc[start..end];
        for f in crate::fetch::FETCHES
            .iter()
            .chain(crate::stktab::FETCHES)
            .chain(crate::ssl::FETCHES)
        {
            assert!(sec.contains(&format!("`{}`", f.name)), "fetch {}", f.name);
        }
        for c in crate::conv::all() {
            assert!(
                sec.contains(&format!("`{}`", c.name)),
                "converter {}",
                c.name
            );
        }
    }
}
