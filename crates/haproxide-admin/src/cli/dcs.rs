//! haproxide-only: `show dcs`, the view of each followed Patroni cluster (the
//! `patroni` block, docs/patroni.md), and its Prometheus gauges.

use std::fmt::Write as _;

/// One followed cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DcsClusterSnapshot {
    /// The `patroni` section's name.
    pub name: String,
    /// The etcd endpoint in use (or last tried).
    pub endpoint: String,
    /// The watch is established.
    pub connected: bool,
    /// The revision of the last change applied.
    pub revision: i64,
    /// The leader key's value.
    pub leader: Option<String>,
    /// Member names.
    pub members: Vec<String>,
    /// Leader changes seen since the start.
    pub leader_changes: u64,
    /// Reconnections since the start.
    pub reconnects: u64,
    /// Why the last connection ended.
    pub last_error: Option<String>,
}

/// One server of a backend with `patroni-role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcsServerSnapshot {
    pub backend: String,
    pub server: String,
    /// `leader`, `replica`, `sync-standby`.
    pub role: String,
    /// `eligible`, `out`, `electing`, `checks-only`.
    pub verdict: String,
}

/// Everything `show dcs` prints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DcsSnapshot {
    pub clusters: Vec<DcsClusterSnapshot>,
    pub servers: Vec<DcsServerSnapshot>,
}

fn dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// `show dcs`: one line per cluster, then one per server, each under a `#` header
/// naming its fields (as `show servers state` does).
pub fn show_dcs(s: &DcsSnapshot) -> String {
    let mut out = String::from(
        "# cluster endpoint connected revision leader leader_changes reconnects members last_error\n",
    );
    for c in &s.clusters {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {} {} {}",
            c.name,
            dash(&c.endpoint),
            u8::from(c.connected),
            c.revision,
            c.leader.as_deref().unwrap_or("-"),
            c.leader_changes,
            c.reconnects,
            dash(&c.members.join(",")),
            c.last_error
                .as_deref()
                .map(|e| format!("\"{}\"", e.replace('"', "'")))
                .unwrap_or_else(|| "-".into())
        );
    }
    out.push_str("# backend server role verdict\n");
    for v in &s.servers {
        let _ = writeln!(out, "{} {} {} {}", v.backend, v.server, v.role, v.verdict);
    }
    out.push('\n');
    out
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exporter's `haproxide_dcs_*` gauges (none without a `patroni` block).
pub fn prometheus(s: &DcsSnapshot) -> String {
    let mut out = String::new();
    if s.clusters.is_empty() {
        return out;
    }
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP haproxide_dcs_{name} {help}");
        let _ = writeln!(out, "# TYPE haproxide_dcs_{name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(out, "haproxide_dcs_{name}{{{labels}}} {v}");
        }
    };
    let cl = |c: &DcsClusterSnapshot| format!("cluster=\"{}\"", esc(&c.name));
    family(
        "connected",
        "gauge",
        "1 while the DCS watch is established, 0 while routing on checks alone.",
        s.clusters
            .iter()
            .map(|c| (cl(c), u8::from(c.connected).to_string()))
            .collect(),
    );
    family(
        "revision",
        "gauge",
        "etcd revision of the last change applied.",
        s.clusters
            .iter()
            .map(|c| (cl(c), c.revision.to_string()))
            .collect(),
    );
    family(
        "leader",
        "gauge",
        "1 for the member holding the leader key.",
        s.clusters
            .iter()
            .filter_map(|c| {
                c.leader
                    .as_ref()
                    .map(|l| (format!("{},member=\"{}\"", cl(c), esc(l)), "1".into()))
            })
            .collect(),
    );
    family(
        "leader_changes_total",
        "counter",
        "Leader key changes seen.",
        s.clusters
            .iter()
            .map(|c| (cl(c), c.leader_changes.to_string()))
            .collect(),
    );
    family(
        "reconnects_total",
        "counter",
        "Reconnections to the DCS.",
        s.clusters
            .iter()
            .map(|c| (cl(c), c.reconnects.to_string()))
            .collect(),
    );
    family(
        "server_eligible",
        "gauge",
        "1 when the DCS lets the server take new sessions for its backend's role (its check must pass too).",
        s.servers
            .iter()
            .map(|v| {
                (
                    format!("proxy=\"{}\",server=\"{}\",role=\"{}\"", esc(&v.backend), esc(&v.server), v.role),
                    u8::from(v.verdict == "eligible" || v.verdict == "checks-only").to_string(),
                )
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> DcsSnapshot {
        DcsSnapshot {
            clusters: vec![DcsClusterSnapshot {
                name: "lab".into(),
                endpoint: "http://127.0.0.1:12379".into(),
                connected: true,
                revision: 42,
                leader: Some("node2".into()),
                members: vec!["node1".into(), "node2".into()],
                leader_changes: 3,
                reconnects: 1,
                last_error: None,
            }],
            servers: vec![DcsServerSnapshot {
                backend: "primary".into(),
                server: "node1".into(),
                role: "leader".into(),
                verdict: "out".into(),
            }],
        }
    }

    #[test]
    fn show_dcs_prints_the_view() {
        assert_eq!(
            show_dcs(&snap()),
            "# cluster endpoint connected revision leader leader_changes reconnects members last_error\n\
             lab http://127.0.0.1:12379 1 42 node2 3 1 node1,node2 -\n\
             # backend server role verdict\n\
             primary node1 leader out\n\n"
        );
    }

    #[test]
    fn gauges() {
        let p = prometheus(&snap());
        assert!(p.contains("haproxide_dcs_connected{cluster=\"lab\"} 1\n"));
        assert!(p.contains("haproxide_dcs_revision{cluster=\"lab\"} 42\n"));
        assert!(p.contains("haproxide_dcs_leader{cluster=\"lab\",member=\"node2\"} 1\n"));
        assert!(p.contains(
            "haproxide_dcs_server_eligible{proxy=\"primary\",server=\"node1\",role=\"leader\"} 0\n"
        ));
        assert!(prometheus(&DcsSnapshot::default()).is_empty());
    }
}
