//! Rules written after rules that run later (configuration.txt §4: a proxy's
//! request rules run by kind, `tcp-request connection`, `session`, `content`,
//! `monitor fail`, `http-request`, `redirect`, `use_backend`, `use-server`,
//! whatever order the file gives them). HAProxy 2.6 warns at parse time when a
//! rule follows one of a kind that runs after it (cfgparse-listen.c
//! `warnif_misplaced_*`, tcp_rules.c): "a 'http-request' rule placed after a
//! 'use_backend' rule will still be processed before." One warning per rule,
//! naming the first later kind the proxy has rules of.

use super::*;

/// The kinds, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Placed {
    TcpConnection,
    TcpSession,
    TcpContent,
    MonitorFail,
    HttpRequest,
    Redirect,
    UseBackend,
    UseServer,
}

/// Each kind after `tcp-request connection`, in order: how a warning names its
/// rules.
const LATER: [(Placed, &str); 7] = [
    (Placed::TcpSession, "a 'tcp-request session'"),
    (Placed::TcpContent, "a 'tcp-request content'"),
    (Placed::MonitorFail, "a 'monitor fail'"),
    (Placed::HttpRequest, "an 'http-request'"),
    (Placed::Redirect, "a 'redirect'"),
    (Placed::UseBackend, "a 'use_backend'"),
    (Placed::UseServer, "a 'use-server'"),
];

impl Placed {
    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The keyword HAProxy names the rule by (its `args[0]`).
    fn keyword(self) -> &'static str {
        match self {
            Placed::TcpConnection | Placed::TcpSession | Placed::TcpContent => "tcp-request",
            Placed::MonitorFail => "monitor fail",
            Placed::HttpRequest => "http-request",
            Placed::Redirect => "redirect",
            Placed::UseBackend => "use_backend",
            Placed::UseServer => "use-server",
        }
    }

    /// The kind of a rule keyword (`canon`: the keyword with its sub-keyword,
    /// "tcp-request content"), if HAProxy orders it.
    pub(super) fn of(canon: &str) -> Option<Placed> {
        Some(match canon {
            "tcp-request connection" => Placed::TcpConnection,
            "tcp-request session" => Placed::TcpSession,
            "tcp-request content" => Placed::TcpContent,
            "monitor fail" => Placed::MonitorFail,
            "http-request" => Placed::HttpRequest,
            "redirect" => Placed::Redirect,
            "use_backend" => Placed::UseBackend,
            "use-server" => Placed::UseServer,
            _ => return None,
        })
    }
}

impl Parser<'_> {
    /// After a rule of kind `k` was read in proxy `pi` (`diags_before`: the
    /// number of diagnostics before its line): the warning when the proxy
    /// already has rules of a kind that runs later, then the rule counts. A
    /// rule that failed counts for nothing and gets no warning (HAProxy stops
    /// at the error), except `monitor fail`, warned before its condition is read.
    pub(super) fn rule_placed(&mut self, pi: usize, line: &Line, k: Placed, diags_before: usize) {
        let failed = self
            .diags
            .get(diags_before..)
            .is_some_and(|new| new.iter().any(|d| d.is_error()));
        if failed && k != Placed::MonitorFail {
            return;
        }
        let seen = self.placed.get(&pi).copied().unwrap_or(0);
        let later = LATER
            .iter()
            .filter(|(p, _)| (*p as u8) > (k as u8))
            .find(|(p, _)| seen & p.bit() != 0);
        // `use_backend` and `use-server` rules are not checked (HAProxy checks
        // no kind after them).
        let checked = !matches!(k, Placed::UseBackend | Placed::UseServer);
        if let (true, Some((_, name))) = (checked, later) {
            let kw = k.keyword();
            self.warn(
                Code::RuleOrder,
                line.span_from(0),
                format!("`{kw}` written after {name} rule still runs before it"),
                HaproxyLoc::Parsing,
                format!("a '{kw}' rule placed after {name} rule will still be processed before."),
            );
        }
        if !failed && k != Placed::TcpConnection {
            *self.placed.entry(pi).or_insert(0) |= k.bit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind is checked against exactly the kinds after it, in order.
    #[test]
    fn the_kinds_run_in_haproxys_order() {
        let order = [
            "tcp-request connection",
            "tcp-request session",
            "tcp-request content",
            "monitor fail",
            "http-request",
            "redirect",
            "use_backend",
            "use-server",
        ];
        for (i, c) in order.iter().enumerate() {
            let k = Placed::of(c).expect("a kind");
            assert_eq!(k as usize, i, "{c}");
            if i > 0 {
                assert_eq!(LATER[i - 1].0, k);
                assert!(LATER[i - 1].1.ends_with(&format!("'{c}'")), "{c}");
            }
        }
        assert_eq!(Placed::of("http-response"), None);
        assert_eq!(Placed::of("tcp-request inspect-delay"), None);
    }
}
