//! Translate tests of `mode http` proxies (options typed by the config crate,
//! refusals one per line with the feature's name).

use super::tests::plan;
use super::*;

const HEAD: &str =
    "defaults\n mode http\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
     option http-server-close\n option forwardfor except 10.0.0.0/8 header X-Real-IP if-none\n";

#[test]
fn http_proxies_run_with_their_options() {
    let (p, errors) = plan(&format!(
        "{HEAD}frontend web\n bind 127.0.0.1:8080\n timeout http-request 2s\n\
         timeout http-keep-alive 3s\n option httpclose\n option originalto\n\
         use_backend api if {{ path /api }}\n default_backend b\n\
         backend b\n server s 127.0.0.1:80\n\
         backend api\n no option forwardfor\n option http-keep-alive\n server s 127.0.0.1:81\n"
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let f = &p.engine.frontends[0];
    let h = f.http.as_ref().expect("http frontend");
    assert_eq!(
        h.conn_mode,
        fw::HttpConnMode::Close,
        "its own last option wins"
    );
    assert_eq!(h.timeout_request, Some(Duration::from_secs(2)));
    assert_eq!(h.timeout_keep_alive, Some(Duration::from_secs(3)));
    let ff = h.forwardfor.as_ref().expect("inherited forwardfor");
    assert_eq!(ff.header, "X-Real-IP");
    assert_eq!(ff.except, Some(("10.0.0.0".parse().unwrap(), 8)));
    assert!(ff.if_none);
    assert_eq!(
        h.originalto.as_ref().map(|o| o.header.as_str()),
        Some("X-Original-To")
    );
    assert_eq!(f.use_backends.len(), 1);
    let b = &p.engine.backends[0].http.as_ref().expect("http backend");
    assert_eq!(b.conn_mode, fw::HttpConnMode::ServerClose, "from defaults");
    let api = &p.engine.backends[1].http.as_ref().expect("http backend");
    assert_eq!(api.conn_mode, fw::HttpConnMode::KeepAlive);
    assert!(api.forwardfor.is_none(), "no option forwardfor");
}

#[test]
fn what_http_mode_does_not_run_is_refused_line_by_line() {
    let (p, errors) = plan(&format!(
        "{HEAD}frontend web\n bind 127.0.0.1:8080\n default_backend b\n\
         backend b\n server s 127.0.0.1:80\n\
         backend c\n server s 127.0.0.1:80\n http-request wait-for-handshake\n\
         use-server s if TRUE\n option http-pretend-keepalive\n filter bwlim-in l default-limit 1k default-period 1s\n\
         errorfile 503 /dev/null\n"
    ));
    let mut got: Vec<(u32, String)> = errors
        .iter()
        .map(|d| (d.span.map(|s| s.line).unwrap_or(0), d.message.clone()))
        .collect();
    got.sort();
    let lines: Vec<u32> = got.iter().map(|g| g.0).collect();
    // Line 19 (`errorfile`) runs.
    assert_eq!(lines, vec![15, 16, 17, 18], "{got:?}");
    for (what, (_, msg)) in [
        "http-request wait-for-handshake",
        "use-server",
        "option http-pretend-keepalive",
        "`filter bwlim-in`",
    ]
    .iter()
    .zip(&got)
    {
        assert!(msg.contains(what), "{msg} names {what}");
    }
    // The frontend and its backend run; `c` does not.
    assert_eq!(p.engine.frontends.len(), 1);
    assert_eq!(p.engine.backends.len(), 1);
}

#[test]
fn http_request_rules_run() {
    let (p, errors) = plan(&format!(
        "{HEAD}frontend web\n bind 127.0.0.1:8080\n http-request set-header X-Forwarded-Proto http\n\
         http-request deny if {{ path /x }}\n redirect location /y if {{ path /z }}\n\
         http-request track-sc0 src\n default_backend b\n\
         backend b\n http-response set-header X 1\n server s 127.0.0.1:80\n"
    ));
    let lines: Vec<(u32, &str)> = errors
        .iter()
        .map(|d| (d.span.map(|s| s.line).unwrap_or(0), d.message.as_str()))
        .collect();
    assert!(lines.is_empty(), "track-sc runs: {lines:?}");
    let _ = p;
}

#[test]
fn errorfiles_come_from_defaults_then_the_proxy() {
    let (p, errors) = plan(&format!(
        "{HEAD} errorfile 503 /dev/null\n\
         frontend web\n bind 127.0.0.1:8080\n errorfile 403 /dev/null\n default_backend b\n\
         backend b\n server s 127.0.0.1:80\n"
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let codes = |h: &fw::HttpSpec| h.errors.custom.iter().map(|(c, _)| *c).collect::<Vec<_>>();
    let fe = p.engine.frontends[0].http.as_ref().expect("http");
    assert_eq!(codes(fe), vec![503, 403]);
    let be = p.engine.backends[0].http.as_ref().expect("http");
    assert_eq!(codes(be), vec![503]);
}

#[test]
fn compression_is_typed_into_both_halves() {
    let (p, errors) = plan(&format!(
        "{HEAD} compression type text/plain\nfrontend web\n bind 127.0.0.1:8080\n\
         compression offload\n default_backend b\n\
         backend b\n compression algo gzip deflate\n filter compression\n server s 127.0.0.1:80\n"
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let fe = p.engine.frontends[0]
        .http
        .as_ref()
        .and_then(|h| h.compression.clone());
    let fe = fe.expect("frontend compression");
    assert!(fe.offload);
    assert_eq!(fe.types, vec!["text/plain".to_string()], "inherited");
    let be = p.engine.backends[0]
        .http
        .as_ref()
        .and_then(|h| h.compression.clone());
    let be = be.expect("backend compression");
    use haproxide_http::compress::Algo;
    assert_eq!(be.algos, vec![Algo::Deflate, Algo::Gzip], "HAProxy's order");
    // An algorithm HAProxy does not have is refused by the check itself, with
    // haproxy -c's text (the config crate's parse::proxy_values).
    let text = format!(
        "{HEAD}frontend web\n bind 127.0.0.1:8080\n compression algo brotli\n default_backend b\n\
         backend b\n server s 127.0.0.1:80\n"
    );
    let checked = super::tests::check_text(&text);
    assert!(
        checked.diagnostics.iter().any(|d| d.is_error()
            && d.haproxy.as_ref().is_some_and(
                |h| h.text == "'compression' : 'brotli' is not a supported algorithm."
            )),
        "{:?}",
        checked.diagnostics
    );
}
