//! haproxide-only: following a Patroni cluster's leader key in etcd
//! (docs/patroni.md, "Following the leader key"). HAProxy has no such keywords;
//! write them inside `.if feature(HAPROXIDE)` … `.endif`, which haproxide answers
//! true and HAProxy false, so one file serves both.
//!
//! ```text
//! .if feature(HAPROXIDE)
//! patroni <name>
//!     etcd <url> [<url> ...]        # etcd v3 endpoints, http:// or https://
//!     namespace <path>              # Patroni's `namespace` (default /service)
//!     scope <name>                  # Patroni's `scope` (required)
//!     ca-file <file>                # CAs of etcd's certificate (https)
//!     crt <file>                    # client certificate, PEM (with its key unless `key`)
//!     key <file>                    # client key, PEM
//!     verify none|required          # check etcd's certificate (default required)
//!     user <name>                   # etcd v3 authentication
//!     password <password>           # (use "${ENV}" to keep it out of the file)
//!     timeout <time>                # one etcd request (default 2s)
//!     recheck <time>                # check cadence while DCS and check disagree (default 100ms)
//!     promote-wait <time>           # assume a new leader promoted after this long even unobserved (default: off)
//! .endif
//!
//! backend primary                   # or listen
//!     .if feature(HAPROXIDE)
//!     patroni-role <name> leader|replica|sync-standby [match name|conn-url]
//!     .endif
//! ```
//!
//! The section is parsed into [`PatroniCluster`], the backend keyword into
//! [`PatroniRole`]; the server crate turns both into the DCS crate's plain specs.

use super::*;
use crate::value::Millis;

/// The role a backend serves (`patroni-role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatroniRoleKind {
    /// The member holding the leader key.
    Leader,
    /// Members other than the leader.
    Replica,
    /// The synchronous standbys (Patroni's `sync` key).
    SyncStandby,
}

/// How servers are matched with Patroni members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatroniMatch {
    /// The server's name is the member's name (default).
    #[default]
    Name,
    /// The server's address is the host:port of the member's `conn_url`.
    ConnUrl,
}

/// A `patroni <name>` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatroniCluster {
    pub name: Named,
    /// `etcd` URLs (`http://host:port`, `https://host:port`).
    pub endpoints: Vec<Named>,
    /// `namespace` (default `/service`).
    pub namespace: String,
    /// `scope`.
    pub scope: Option<Named>,
    pub ca_file: Option<Named>,
    pub crt: Option<Named>,
    pub key: Option<Named>,
    /// `verify required` (default) or `none`.
    pub verify: bool,
    pub user: Option<Named>,
    pub password: Option<String>,
    /// `timeout` (default 2 s).
    pub timeout: Option<Millis>,
    /// `recheck` (default 100 ms).
    pub recheck: Option<Millis>,
    /// `promote-wait` (default: off; the promotion is observed on the REST API or member key).
    pub promote_wait: Option<Millis>,
}

/// A `patroni-role` line of a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatroniRole {
    /// The backend (or listen) it is written in.
    pub proxy: String,
    /// The `patroni` section it names.
    pub cluster: Named,
    pub role: PatroniRoleKind,
    pub matching: PatroniMatch,
    pub span: Span,
}

/// Everything of the haproxide-only Patroni block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patroni {
    pub clusters: Vec<PatroniCluster>,
    pub roles: Vec<PatroniRole>,
}

impl Patroni {
    /// The role of a backend, with its cluster.
    pub fn role_of(&self, proxy: &str) -> Option<(&PatroniRole, &PatroniCluster)> {
        let r = self.roles.iter().find(|r| r.proxy == proxy)?;
        let c = self
            .clusters
            .iter()
            .find(|c| c.name.name == r.cluster.name)?;
        Some((r, c))
    }
}

/// The section keyword (haproxide only).
pub(super) const SECTION: &str = "patroni";
/// The backend keyword (haproxide only).
pub(super) const ROLE_KW: &str = "patroni-role";

const KEYWORDS: &[&str] = &[
    "etcd",
    "namespace",
    "scope",
    "ca-file",
    "crt",
    "key",
    "verify",
    "user",
    "password",
    "timeout",
    "recheck",
    "promote-wait",
];

impl Parser<'_> {
    fn patroni_err(&mut self, code: Code, span: Span, msg: String) {
        // HAProxy never sees these lines (they sit in `.if feature(HAPROXIDE)`):
        // the HAProxy-style text is ours, worded the same way.
        let hx = msg.replace('`', "'");
        self.err(code, span, msg, HaproxyLoc::Parsing, hx);
    }

    /// `patroni <name>`.
    pub(super) fn open_patroni(&mut self, line: &Line) {
        self.acl_names.clear();
        let Some(w) = line.words.get(1) else {
            self.patroni_err(
                Code::MissingArgument,
                line.span(0),
                "`patroni` needs a name".into(),
            );
            self.cur = Cur::Broken;
            return;
        };
        if self
            .cfg
            .patroni
            .clusters
            .iter()
            .any(|c| c.name.name == w.text)
        {
            self.patroni_err(
                Code::InvalidArgument,
                w.span,
                format!("`patroni {}` is defined twice", w.text),
            );
        }
        if line.words.len() > 2 {
            self.patroni_err(
                Code::TooManyArguments,
                line.span(2),
                "`patroni` takes one name".into(),
            );
        }
        self.cfg.patroni.clusters.push(PatroniCluster {
            name: Named::from_word(w),
            endpoints: Vec::new(),
            namespace: "/service".into(),
            scope: None,
            ca_file: None,
            crt: None,
            key: None,
            verify: true,
            user: None,
            password: None,
            timeout: None,
            recheck: None,
            promote_wait: None,
        });
        self.cur = Cur::Patroni(self.cfg.patroni.clusters.len() - 1);
    }

    /// A line of a `patroni` section.
    pub(super) fn patroni_kw(&mut self, i: usize, line: &Line, start: usize) {
        let kw = line.arg(start).to_string();
        let a = start + 1;
        let nargs = line.words.len().saturating_sub(a);
        if !KEYWORDS.contains(&kw.as_str()) {
            let mut d = Diagnostic::error(
                Code::UnknownKeyword,
                format!("unknown keyword `{kw}` in a `patroni` section"),
            )
            .at(line.span(start))
            .hx(
                HaproxyLoc::Parsing,
                format!("unknown keyword '{kw}' in 'patroni' section"),
            );
            if let Some(s) = suggest(&kw, KEYWORDS.to_vec()) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            self.push(d);
            return;
        }
        if nargs == 0 {
            self.patroni_err(
                Code::MissingArgument,
                line.span(start),
                format!("`{kw}` needs an argument"),
            );
            return;
        }
        if kw != "etcd" && nargs > 1 {
            self.patroni_err(
                Code::TooManyArguments,
                line.span(a + 1),
                format!("`{kw}` takes one argument"),
            );
        }
        let w = Named::from_word(&line.words[a]);
        match kw.as_str() {
            "etcd" => {
                for w in &line.words[a..] {
                    let ok = ["http://", "https://"]
                        .iter()
                        .any(|p| w.text.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
                    if !ok {
                        self.patroni_err(
                            Code::InvalidArgument,
                            w.span,
                            format!(
                                "`{}` is not an etcd URL (http://host:port or https://host:port)",
                                w.text
                            ),
                        );
                        continue;
                    }
                    self.cfg.patroni.clusters[i]
                        .endpoints
                        .push(Named::from_word(w));
                }
            }
            "namespace" => self.cfg.patroni.clusters[i].namespace = w.name,
            "scope" => self.cfg.patroni.clusters[i].scope = Some(w),
            "ca-file" | "crt" | "key" => {
                if self.opts.check_files && !Path::new(&w.name).exists() {
                    self.patroni_err(
                        Code::MissingFile,
                        w.span,
                        format!("`{kw}`: cannot open `{}`", w.name),
                    );
                }
                let c = &mut self.cfg.patroni.clusters[i];
                match kw.as_str() {
                    "ca-file" => c.ca_file = Some(w),
                    "crt" => c.crt = Some(w),
                    _ => c.key = Some(w),
                }
            }
            "verify" => match w.name.as_str() {
                "none" => self.cfg.patroni.clusters[i].verify = false,
                "required" => self.cfg.patroni.clusters[i].verify = true,
                other => self.patroni_err(
                    Code::InvalidArgument,
                    w.span,
                    format!("`verify` takes `none` or `required`, not `{other}`"),
                ),
            },
            "user" => self.cfg.patroni.clusters[i].user = Some(w),
            "password" => self.cfg.patroni.clusters[i].password = Some(w.name),
            _ => {
                // timeout, recheck, promote-wait
                if let Some(t) = self.time_arg(line, a, &kw) {
                    let c = &mut self.cfg.patroni.clusters[i];
                    match kw.as_str() {
                        "promote-wait" => c.promote_wait = Some(t),
                        _ if t.0 == 0 => self.patroni_err(
                            Code::InvalidArgument,
                            w.span,
                            format!("`{kw}` must be above 0"),
                        ),
                        "timeout" => c.timeout = Some(t),
                        _ => c.recheck = Some(t),
                    }
                }
            }
        }
    }

    /// `patroni-role <cluster> <role> [match name|conn-url]` in a backend or listen.
    pub(super) fn kw_patroni_role(&mut self, pi: usize, line: &Line, start: usize) {
        let Some(p) = self.cfg.proxies.get(pi) else {
            return;
        };
        let (kind, proxy) = (p.kind, p.name.name.clone());
        if !matches!(kind, ProxyKind::Backend | ProxyKind::Listen) {
            self.patroni_err(
                Code::InvalidArgument,
                line.span(start),
                format!(
                    "`patroni-role` belongs in a backend or listen section, not in {}",
                    kind.as_str()
                ),
            );
            return;
        }
        let (c, r) = (start + 1, start + 2);
        let Some(cluster) = line.words.get(c).map(Named::from_word) else {
            self.patroni_err(
                Code::MissingArgument,
                line.span(start),
                "`patroni-role` needs a patroni section name and a role (leader, replica, sync-standby)".into(),
            );
            return;
        };
        let role = match line.arg(r) {
            "leader" => PatroniRoleKind::Leader,
            "replica" => PatroniRoleKind::Replica,
            "sync-standby" => PatroniRoleKind::SyncStandby,
            other => {
                self.patroni_err(
                    if other.is_empty() {
                        Code::MissingArgument
                    } else {
                        Code::InvalidArgument
                    },
                    line.span(r),
                    format!("`patroni-role` takes a role: leader, replica or sync-standby (got `{other}`)"),
                );
                return;
            }
        };
        let matching = match (line.arg(r + 1), line.arg(r + 2)) {
            ("", _) => PatroniMatch::Name,
            ("match", "name") => PatroniMatch::Name,
            ("match", "conn-url") => PatroniMatch::ConnUrl,
            ("match", other) => {
                self.patroni_err(
                    Code::InvalidArgument,
                    line.span(r + 2),
                    format!("`match` takes `name` or `conn-url`, not `{other}`"),
                );
                return;
            }
            (other, _) => {
                self.patroni_err(
                    Code::TooManyArguments,
                    line.span(r + 1),
                    format!("unexpected `{other}` after the role (only `match name|conn-url` may follow)"),
                );
                return;
            }
        };
        if line.words.len() > r + 3 {
            self.patroni_err(
                Code::TooManyArguments,
                line.span(r + 3),
                "unexpected argument after `match`".into(),
            );
        }
        if self.cfg.patroni.roles.iter().any(|x| x.proxy == proxy) {
            self.patroni_err(
                Code::InvalidArgument,
                line.span(start),
                format!("`{proxy}` already has a `patroni-role`"),
            );
            return;
        }
        self.cfg.patroni.roles.push(PatroniRole {
            proxy,
            cluster,
            role,
            matching,
            span: line.span(start),
        });
    }

    /// After the last line: every `patroni-role` names a section, every section
    /// has endpoints and a scope, https has what it needs.
    pub(super) fn check_patroni(&mut self) {
        let mut found = Vec::new();
        for c in &self.cfg.patroni.clusters {
            let name = &c.name.name;
            if c.endpoints.is_empty() {
                found.push((
                    Code::MissingArgument,
                    c.name.span,
                    format!("`patroni {name}` has no `etcd` endpoint"),
                ));
            }
            if c.scope.is_none() {
                found.push((
                    Code::MissingArgument,
                    c.name.span,
                    format!("`patroni {name}` has no `scope` (Patroni's cluster name)"),
                ));
            }
            let https = c.endpoints.iter().any(|e| e.name.starts_with("https://"));
            if https && c.verify && c.ca_file.is_none() {
                found.push((
                    Code::MissingArgument,
                    c.name.span,
                    format!("`patroni {name}`: https endpoints need `ca-file` (or `verify none`)"),
                ));
            }
            if c.key.is_some() && c.crt.is_none() {
                found.push((
                    Code::MissingArgument,
                    c.name.span,
                    format!("`patroni {name}`: `key` without `crt`"),
                ));
            }
            if c.user.is_some() != c.password.is_some() {
                found.push((
                    Code::MissingArgument,
                    c.name.span,
                    format!("`patroni {name}`: `user` and `password` go together"),
                ));
            }
        }
        for r in &self.cfg.patroni.roles {
            if !self
                .cfg
                .patroni
                .clusters
                .iter()
                .any(|c| c.name.name == r.cluster.name)
            {
                found.push((
                    Code::InvalidArgument,
                    r.cluster.span,
                    format!(
                        "`patroni-role` names no `patroni {}` section",
                        r.cluster.name
                    ),
                ));
            }
        }
        for (code, span, msg) in found {
            self.patroni_err(code, span, msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Config;

    fn check(text: &str) -> (Config, Vec<String>) {
        let c = crate::test_support::check_text(text);
        let msgs = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        (c.config.into_config(), msgs)
    }

    const BLOCK: &str = "\
.if feature(HAPROXIDE)
patroni lab
    etcd http://127.0.0.1:12379 http://127.0.0.1:22379
    namespace /haproxide-lab/
    scope haproxide-lab
    recheck 100ms
.endif
listen primary
    mode tcp
    bind 127.0.0.1:5000
    .if feature(HAPROXIDE)
    patroni-role lab leader
    .endif
    server node1 127.0.0.1:15432 check
listen replicas
    mode tcp
    bind 127.0.0.1:5001
    .if feature(HAPROXIDE)
    patroni-role lab replica match conn-url
    .endif
    server node1 127.0.0.1:15432 check
";

    #[test]
    fn the_block_is_read_by_haproxide() {
        let (cfg, errs) = check(BLOCK);
        assert!(errs.is_empty(), "{errs:?}");
        let p = &cfg.patroni;
        assert_eq!(p.clusters.len(), 1);
        let c = &p.clusters[0];
        assert_eq!(c.endpoints.len(), 2);
        assert_eq!(c.namespace, "/haproxide-lab/");
        assert_eq!(c.scope.as_ref().unwrap().name, "haproxide-lab");
        assert_eq!(c.recheck.unwrap().0, 100);
        let (r, _) = p.role_of("primary").unwrap();
        assert_eq!(r.role, super::PatroniRoleKind::Leader);
        assert_eq!(r.matching, super::PatroniMatch::Name);
        let (r, _) = p.role_of("replicas").unwrap();
        assert_eq!(r.role, super::PatroniRoleKind::Replica);
        assert_eq!(r.matching, super::PatroniMatch::ConnUrl);
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        let bad = "\
patroni lab
    etcd 127.0.0.1:2379
    scop x
    verify maybe
listen p
    bind 127.0.0.1:5000
    patroni-role other leader
    server a 127.0.0.1:1
backend b
    patroni-role lab primary
frontend f
    bind 127.0.0.1:5002
    patroni-role lab leader
";
        let (_, errs) = check(bad);
        let all = errs.join("\n");
        for want in [
            "`127.0.0.1:2379` is not an etcd URL",
            "unknown keyword `scop` in a `patroni` section",
            "`verify` takes `none` or `required`",
            "takes a role: leader, replica or sync-standby (got `primary`)",
            "belongs in a backend or listen section, not in frontend",
            "`patroni lab` has no `etcd` endpoint",
            "`patroni lab` has no `scope`",
            "`patroni-role` names no `patroni other` section",
        ] {
            assert!(all.contains(want), "missing {want:?} in:\n{all}");
        }
    }
}
