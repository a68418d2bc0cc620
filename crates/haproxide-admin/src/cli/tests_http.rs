//! `show stat` and the Prometheus exporter for `mode http` proxies: the HTTP
//! columns of FRONTEND, BACKEND and server rows, in HAProxy 2.6's places.

use super::stat::{show_stat, StatFilter, COLUMNS};
use super::*;

fn http(req_tot: u64, hrsp: [u64; 6], rate: (u64, u64)) -> HttpCounters {
    HttpCounters {
        req_tot,
        hrsp,
        intercepted: 0,
        req_rate: rate.0,
        req_rate_max: rate.1,
        spliced: [0; 2],
        wrew: 0,
    }
}

/// HAProxy 2.6.12, `mode http` frontend F → backend B → server s1, after two
/// forwarded requests (200, 404) and one unparsable request (400 by HAProxy):
/// the HTTP columns of its `show stat` (measured; empty = not printed).
const MEASURED: &[(&str, &str, [&str; 11])] = &[
    // hrsp_1xx 2xx 3xx 4xx 5xx other, req_rate, req_rate_max, req_tot,
    // cache_lookups, cache_hits
    (
        "F",
        "FRONTEND",
        ["0", "1", "0", "2", "0", "0", "3", "3", "3", "0", "0"],
    ),
    (
        "B",
        "s1",
        ["0", "1", "0", "1", "0", "0", "", "", "2", "", ""],
    ),
    (
        "B",
        "BACKEND",
        ["0", "1", "0", "1", "0", "0", "", "", "2", "0", "0"],
    ),
    (
        "T",
        "FRONTEND",
        ["", "", "", "", "", "", "0", "0", "0", "", ""],
    ),
];

const HTTP_COLUMNS: [&str; 11] = [
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cache_lookups",
    "cache_hits",
];

fn proxies() -> Vec<ProxySnapshot> {
    vec![
        ProxySnapshot {
            name: "F".into(),
            iid: 2,
            mode: "http".into(),
            frontend: Some(FrontendSnapshot {
                stot: 3,
                http: Some(http(3, [0, 1, 0, 2, 0, 0], (3, 3))),
                ..FrontendSnapshot::default()
            }),
            ..ProxySnapshot::default()
        },
        ProxySnapshot {
            name: "B".into(),
            iid: 3,
            mode: "http".into(),
            backend: Some(BackendSnapshot {
                servers: vec![ServerSnapshot {
                    name: "s1".into(),
                    sid: 1,
                    http: Some(http(2, [0, 1, 0, 1, 0, 0], (0, 0))),
                    ..ServerSnapshot::default()
                }],
                http: Some(http(2, [0, 1, 0, 1, 0, 0], (0, 0))),
                ..BackendSnapshot::default()
            }),
            ..ProxySnapshot::default()
        },
        ProxySnapshot {
            name: "T".into(),
            iid: 4,
            mode: "tcp".into(),
            frontend: Some(FrontendSnapshot::default()),
            ..ProxySnapshot::default()
        },
    ]
}

#[test]
fn http_columns_are_haproxys() {
    let csv = show_stat(&proxies(), &StatFilter::all());
    for (px, sv, want) in MEASURED {
        let row: Vec<&str> = csv
            .lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|r| r.first() == Some(px) && r.get(1) == Some(sv))
            .unwrap_or_else(|| panic!("no row {px}/{sv} in {csv}"));
        for (col, want) in HTTP_COLUMNS.iter().zip(want) {
            let i = COLUMNS.iter().position(|c| c == col).unwrap();
            assert_eq!(row[i], *want, "{px}/{sv} {col}");
        }
    }
}

#[test]
fn exporter_shows_http_counters() {
    let info = InfoSnapshot::default();
    let text = crate::stats::prom::render(&info, &proxies());
    for line in [
        "haproxy_frontend_http_requests_total{proxy=\"F\"} 3",
        "haproxy_frontend_http_requests_rate_max{proxy=\"F\"} 3",
        "haproxy_frontend_http_responses_total{proxy=\"F\",code=\"4xx\"} 2",
        "haproxy_backend_http_requests_total{proxy=\"B\"} 2",
        "haproxy_backend_http_responses_total{proxy=\"B\",code=\"2xx\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
}
