//! Patroni's keys in the DCS and what they say about each member.
//!
//! Patroni keeps, under `<namespace>/<scope>/` (namespace `/service` by default):
//! `leader` (the leader's member name, on a lease of `ttl`), `members/<name>` (a
//! JSON document with `conn_url`, `api_url`, `role`, `state`...), `sync` (JSON
//! `{"leader": ..., "sync_standby": "a,b"}` with synchronous replication), and
//! others (`config`, `status`, `initialize`, `failover`) that routing ignores.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::etcd::{Change, Kv};

/// The key prefix of a cluster: `<namespace>/<scope>/`, with single slashes.
pub fn cluster_prefix(namespace: &str, scope: &str) -> String {
    let ns = namespace.trim_matches('/');
    let scope = scope.trim_matches('/');
    if ns.is_empty() {
        format!("/{scope}/")
    } else {
        format!("/{ns}/{scope}/")
    }
}

/// A member as its `members/<name>` key describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Member {
    /// `conn_url` (`postgres://host:port/db`).
    pub conn_url: Option<String>,
    /// `role` as Patroni last wrote it (`primary`, `replica`, `sync_standby`...).
    pub role: Option<String>,
    /// `state` (`running`, `stopped`...).
    pub state: Option<String>,
    /// `api_url`: the member's REST API (`http://host:8008/patroni`), where the
    /// follower observes a new leader's promotion.
    pub api_url: Option<String>,
}

impl Member {
    /// Parses the member document; a value that is not JSON is kept as "no data".
    pub fn parse(value: &str) -> Member {
        let v: serde_json::Value = serde_json::from_str(value).unwrap_or_default();
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        Member {
            conn_url: s("conn_url"),
            role: s("role"),
            state: s("state"),
            api_url: s("api_url"),
        }
    }

    /// `host:port` of `conn_url` (`postgres://[user@]host:port/...`).
    pub fn conn_host_port(&self) -> Option<(String, u16)> {
        let url = self.conn_url.as_deref()?;
        let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
        let hostport = rest.split(['/', '?']).next()?;
        let hostport = hostport.rsplit('@').next()?;
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse().unwrap_or(5432))
            }
            _ => (hostport, 5432),
        };
        Some((host.trim_matches(['[', ']']).to_string(), port))
    }
}

/// What the DCS says about a Patroni cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterState {
    /// The `leader` key's value.
    pub leader: Option<String>,
    /// Members by name.
    pub members: BTreeMap<String, Member>,
    /// Synchronous standbys named by the `sync` key.
    pub sync_standby: Vec<String>,
    /// A switchover or failover requested now (the `failover` key without a
    /// `scheduled_at`): the leader it names is about to step down, the candidate
    /// (when named) about to take over.
    pub switching: Option<Switching>,
}

/// What the `failover` key asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Switching {
    /// `leader`: the member stepping down (None: whoever leads).
    pub from: Option<String>,
    /// `member`: the candidate (None: Patroni chooses).
    pub to: Option<String>,
}

impl ClusterState {
    /// Builds the state from a range of the cluster's prefix.
    pub fn from_kvs(prefix: &str, kvs: &[Kv]) -> Self {
        let mut s = ClusterState::default();
        for kv in kvs {
            s.put(prefix, &kv.key, &kv.value);
        }
        s
    }

    fn put(&mut self, prefix: &str, key: &str, value: &str) {
        let Some(rel) = key.strip_prefix(prefix) else {
            return;
        };
        match rel {
            "leader" => self.leader = Some(value.trim().to_string()),
            "failover" => {
                let v: serde_json::Value = serde_json::from_str(value).unwrap_or_default();
                let s = |k: &str| {
                    v.get(k)
                        .and_then(|x| x.as_str())
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                };
                // Patroni clears the key by writing it empty (keeping its version):
                // only a request naming a leader or a candidate counts, and a
                // scheduled one only once it is due (not followed: nothing before).
                let (from, to) = (s("leader"), s("member"));
                self.switching = (s("scheduled_at").is_none() && (from.is_some() || to.is_some()))
                    .then_some(Switching { from, to });
            }
            "sync" => {
                let v: serde_json::Value = serde_json::from_str(value).unwrap_or_default();
                self.sync_standby = v
                    .get("sync_standby")
                    .and_then(|x| x.as_str())
                    .map(|s| {
                        s.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
            }
            _ => {
                if let Some(name) = rel.strip_prefix("members/") {
                    self.members.insert(name.to_string(), Member::parse(value));
                }
            }
        }
    }

    fn delete(&mut self, prefix: &str, key: &str) {
        let Some(rel) = key.strip_prefix(prefix) else {
            return;
        };
        match rel {
            "leader" => self.leader = None,
            "sync" => self.sync_standby.clear(),
            "failover" => self.switching = None,
            _ => {
                if let Some(name) = rel.strip_prefix("members/") {
                    self.members.remove(name);
                }
            }
        }
    }

    /// Applies one watched change.
    pub fn apply(&mut self, prefix: &str, change: &Change) {
        match change {
            Change::Put(kv) => self.put(prefix, &kv.key, &kv.value),
            Change::Delete { key, .. } => self.delete(prefix, key),
        }
    }
}

/// Which members a backend serves (the `patroni-role` directive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Only the member holding the leader key.
    Leader,
    /// Every member but the leader.
    Replica,
    /// The synchronous standbys named by the `sync` key.
    SyncStandby,
}

/// How a server is matched with a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberMatch {
    /// The server's name is the member's name.
    Name,
    /// The server's address is the member's `conn_url` host:port.
    ConnUrl,
}

/// The DCS's word on one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The DCS gives no answer (not connected yet or unreachable): checks alone decide.
    Checks,
    /// The DCS says this server serves the role (its check must still pass).
    Eligible,
    /// The DCS says it does not.
    Out,
    /// No leader right now (an election is running): hold new sessions.
    Electing,
    /// This member took the leader key but its member key does not say `primary`
    /// yet (PostgreSQL is being promoted): hold new sessions for it.
    Promoting,
}

impl ClusterState {
    /// The member a server stands for.
    pub fn member_of(&self, how: MemberMatch, name: &str, addr: SocketAddr) -> Option<&str> {
        match how {
            MemberMatch::Name => self.members.get_key_value(name).map(|(k, _)| k.as_str()),
            MemberMatch::ConnUrl => self.members.iter().find_map(|(k, m)| {
                let (h, p) = m.conn_host_port()?;
                let ip_matches = h
                    .parse::<std::net::IpAddr>()
                    .map(|ip| ip == addr.ip())
                    .unwrap_or(false);
                (ip_matches && p == addr.port()).then_some(k.as_str())
            }),
        }
    }

    /// The member holds the leader key but its member key does not say `primary`
    /// (or `master`, `standby_leader`) yet: PostgreSQL is still being promoted. A
    /// member without a key (or without a role in it) is not held back.
    pub fn promoting(&self, member: &str) -> bool {
        self.members
            .get(member)
            .and_then(|m| m.role.as_deref())
            .is_some_and(|r| !matches!(r, "primary" | "master" | "standby_leader"))
    }

    /// What the DCS says about a server for `role`. With [`MemberMatch::Name`] a
    /// server whose member key is missing (expired) can still be named leader: the
    /// leader key is what counts.
    pub fn verdict(&self, role: Role, how: MemberMatch, name: &str, addr: SocketAddr) -> Verdict {
        let member = match how {
            MemberMatch::Name => Some(name),
            MemberMatch::ConnUrl => self.member_of(how, name, addr),
        };
        // The leader a switchover is taking down, the candidate taking over.
        let leaving = self.switching.as_ref().and_then(|sw| match &sw.from {
            Some(f) if self.leader.as_deref() == Some(f) => Some(f.as_str()),
            Some(_) => None,
            None => self.leader.as_deref(),
        });
        let arriving = self.switching.as_ref().and_then(|sw| sw.to.as_deref());
        match role {
            Role::Leader => match (&self.leader, member) {
                (None, _) => Verdict::Electing,
                // Stepping down: new sessions wait for the next leader.
                (Some(l), Some(m)) if l == m && leaving == Some(m) => Verdict::Electing,
                // The key is taken before PostgreSQL is promoted (Patroni's REST API
                // already answers 200 then): wait until the member's own key says
                // the promotion finished (Patroni rewrites it at once after it).
                (Some(l), Some(m)) if l == m && self.promoting(m) => Verdict::Promoting,
                (Some(l), Some(m)) if l == m => Verdict::Eligible,
                _ if leaving.is_some() => Verdict::Electing,
                _ => Verdict::Out,
            },
            Role::Replica => match member {
                Some(m)
                    if self.members.contains_key(m)
                        && self.leader.as_deref() != Some(m)
                        && arriving != Some(m) =>
                {
                    Verdict::Eligible
                }
                _ => Verdict::Out,
            },
            Role::SyncStandby => match member {
                Some(m)
                    if self.sync_standby.iter().any(|s| s == m)
                        && self.leader.as_deref() != Some(m) =>
                {
                    Verdict::Eligible
                }
                _ => Verdict::Out,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str) -> Kv {
        Kv {
            key: key.into(),
            value: value.into(),
            mod_revision: 1,
        }
    }

    #[test]
    fn prefix_is_namespace_then_scope() {
        assert_eq!(cluster_prefix("/service/", "demo"), "/service/demo/");
        assert_eq!(cluster_prefix("service", "/demo/"), "/service/demo/");
        assert_eq!(cluster_prefix("/", "demo"), "/demo/");
    }

    #[test]
    fn conn_url_forms() {
        let m = |u: &str| Member {
            conn_url: Some(u.into()),
            ..Member::default()
        };
        assert_eq!(
            m("postgres://127.0.0.1:15432/postgres").conn_host_port(),
            Some(("127.0.0.1".into(), 15432))
        );
        assert_eq!(
            m("postgresql://u@db1/postgres").conn_host_port(),
            Some(("db1".into(), 5432))
        );
        assert_eq!(
            m("postgres://[::1]:5433/x").conn_host_port(),
            Some(("::1".into(), 5433))
        );
    }

    #[test]
    fn verdicts_follow_the_keys() {
        let p = "/service/demo/";
        let doc = |port: u16, role: &str| {
            format!(r#"{{"conn_url":"postgres://127.0.0.1:{port}/postgres","role":"{role}"}}"#)
        };
        let mut s = ClusterState::from_kvs(
            p,
            &[
                kv("/service/demo/leader", "node1"),
                kv("/service/demo/members/node1", &doc(15432, "primary")),
                kv("/service/demo/members/node2", &doc(15433, "replica")),
                kv(
                    "/service/demo/sync",
                    r#"{"leader":"node1","sync_standby":"node2"}"#,
                ),
                kv("/service/other/leader", "x"),
            ],
        );
        let a1: SocketAddr = "127.0.0.1:15432".parse().unwrap();
        let a2: SocketAddr = "127.0.0.1:15433".parse().unwrap();
        let n = MemberMatch::Name;
        let c = MemberMatch::ConnUrl;
        assert_eq!(s.verdict(Role::Leader, n, "node1", a1), Verdict::Eligible);
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Out);
        assert_eq!(s.verdict(Role::Leader, c, "pg-a", a1), Verdict::Eligible);
        assert_eq!(s.verdict(Role::Leader, c, "pg-b", a2), Verdict::Out);
        assert_eq!(s.verdict(Role::Replica, n, "node1", a1), Verdict::Out);
        assert_eq!(s.verdict(Role::Replica, n, "node2", a2), Verdict::Eligible);
        assert_eq!(s.verdict(Role::Replica, n, "node9", a2), Verdict::Out);
        assert_eq!(s.verdict(Role::SyncStandby, c, "x", a2), Verdict::Eligible);
        assert_eq!(s.verdict(Role::SyncStandby, c, "x", a1), Verdict::Out);
        s.apply(
            p,
            &Change::Delete {
                key: "/service/demo/leader".into(),
                revision: 2,
            },
        );
        assert_eq!(s.verdict(Role::Leader, n, "node1", a1), Verdict::Electing);
        assert_eq!(s.verdict(Role::Replica, n, "node1", a1), Verdict::Eligible);
        s.apply(p, &Change::Put(kv("/service/demo/leader", "node2")));
        // node2 took the key; its member key still says replica: being promoted.
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Promoting);
        s.apply(
            p,
            &Change::Put(kv("/service/demo/members/node2", &doc(15433, "promoted"))),
        );
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Promoting);
        s.apply(
            p,
            &Change::Put(kv("/service/demo/members/node2", &doc(15433, "primary"))),
        );
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Eligible);
        assert_eq!(s.verdict(Role::SyncStandby, n, "node2", a2), Verdict::Out);
        // A switchover requested now: node2 steps down (new sessions wait), node1,
        // the candidate, leaves the replicas at once.
        s.apply(
            p,
            &Change::Put(kv(
                "/service/demo/failover",
                r#"{"leader":"node2","member":"node1"}"#,
            )),
        );
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Electing);
        assert_eq!(s.verdict(Role::Leader, n, "node1", a1), Verdict::Electing);
        assert_eq!(s.verdict(Role::Replica, n, "node1", a1), Verdict::Out);
        // Scheduled for later, or for another leader: no effect yet.
        s.apply(
            p,
            &Change::Put(kv(
                "/service/demo/failover",
                r#"{"leader":"node2","member":"node1","scheduled_at":"2030-01-01T00:00:00+00:00"}"#,
            )),
        );
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Eligible);
        s.apply(
            p,
            &Change::Put(kv("/service/demo/failover", r#"{"leader":"node3"}"#)),
        );
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Eligible);
        // Patroni's clean-up writes the key empty.
        s.apply(
            p,
            &Change::Put(kv("/service/demo/failover", r#"{"leader":"node2"}"#)),
        );
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Electing);
        s.apply(p, &Change::Put(kv("/service/demo/failover", "")));
        assert_eq!(s.verdict(Role::Leader, n, "node2", a2), Verdict::Eligible);
        s.apply(
            p,
            &Change::Delete {
                key: "/service/demo/failover".into(),
                revision: 9,
            },
        );
        assert_eq!(s.verdict(Role::Replica, n, "node1", a1), Verdict::Eligible);
    }
}
