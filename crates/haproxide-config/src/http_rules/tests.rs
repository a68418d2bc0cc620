//! `http-error` typing and its place among a proxy's error pages.

fn checked(text: &str) -> crate::Checked {
    crate::test_support::check_text(text)
}

/// HAProxy's text of each error.
fn haproxy_errors(c: &crate::Checked) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .filter_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
        .collect()
}

/// HAProxy 2.6.12's `haproxy -c` messages for bad `http-error` lines (measured).
#[test]
fn http_error_refusals_word_as_haproxy() {
    for (line, hx) in [
        (
            "http-error status 418",
            "http-error : status code '418' not handled.",
        ),
        (
            "http-error content-type text/plain string x",
            "http-error : expects at least a <status> as arguments.",
        ),
        (
            "http-error status 200 string x",
            "http-error : a content type must be defined when non-empty payload is configured",
        ),
        (
            "http-error status 404 foo",
            "http-error : unknown keyword 'foo'.",
        ),
    ] {
        let c = checked(&format!(
            "defaults\n  mode http\nfrontend fe\n  bind 127.0.0.1:8080\n  {line}\n"
        ));
        assert_eq!(haproxy_errors(&c), vec![hx.to_string()], "{line}");
    }
}

/// The later of `errorfile` and `http-error` for a status wins, the defaults
/// section's lines first; an `http-error` without payload is an empty reply.
#[test]
fn http_error_and_errorfile_in_line_order() {
    let dir = std::env::temp_dir().join(format!("hpx-http-error-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_default();
    let page = dir.join("403.http");
    let raw = b"HTTP/1.0 403 Nope\r\ncontent-length: 2\r\n\r\nno";
    assert!(std::fs::write(&page, raw).is_ok());
    let p = page.display();
    let c = checked(&format!(
        "defaults\n  mode http\n  http-error status 400\n  errorfile 404 {p}\n\
         frontend fe\n  bind 127.0.0.1:8080\n  http-error status 404 content-type text/plain string gone\n  \
         http-error status 403\n  errorfile 403 {p}\n"
    ));
    assert!(
        !c.diagnostics.iter().any(|d| d.is_error()),
        "{:?}",
        c.diagnostics
    );
    let cfg: &crate::model::Config = &c.config;
    let fe = cfg.proxy("fe", false).expect("fe");
    let pages = super::error_pages(cfg, fe);
    let _ = std::fs::remove_dir_all(&dir);
    let mut replies: Vec<u16> = pages.replies.iter().map(|(s, _)| *s).collect();
    replies.sort_unstable();
    assert_eq!(replies, vec![400, 404]);
    let custom: Vec<u16> = pages.custom.iter().map(|(s, _)| *s).collect();
    assert_eq!(custom, vec![403]);
    assert_eq!(
        pages.reply(400).to_bytes(None),
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
    );
    assert_eq!(
        pages.reply(404).to_bytes(None),
        b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\ncontent-type: text/plain\r\n\r\ngone"
    );
    assert_eq!(pages.reply(403).body, b"no");
}

/// `deny` with a `content-type` or `hdr` but no payload answers an empty reply
/// (no error page), and an error page ignores `hdr` (HAProxy 2.6.12, measured:
/// both warn at start-up).
#[test]
fn deny_without_payload_but_hdr_is_empty() {
    use haproxide_http::rules::{Action, ReplyBody};
    let c = checked(
        "defaults\n  mode http\nfrontend fe\n  bind 127.0.0.1:8080\n  \
         http-request deny deny_status 403 content-type text/plain if { path /a }\n  \
         http-request tarpit deny_status 403 hdr x-e v if { path /b }\n  \
         http-request deny hdr x-e v default-errorfiles if { path /c }\n  \
         http-request deny\n",
    );
    let cfg: &crate::model::Config = &c.config;
    let fe = cfg.proxy("fe", false).expect("fe");
    let got: Vec<(bool, usize)> = fe
        .rules
        .iter()
        .filter_map(|r| match r.http.as_ref().map(|a| &*a.0) {
            Some(Action::Deny(s) | Action::Tarpit(s)) => {
                Some((matches!(s.body, ReplyBody::Empty), s.headers.len()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![(true, 0), (true, 1), (false, 0), (false, 0)]);
}

/// `strict-mode` and `tune.bufsize` / `tune.maxrewrite`: HAProxy 2.6.12's
/// `haproxy -c` messages (measured), and the values typed.
#[test]
fn strict_mode_and_buffer_tunes_word_as_haproxy() {
    let cases = [
        ("  http-request strict-mode\n", "error detected in frontend 'fe' while parsing 'http-request strict-mode' rule : expects exactly 1 arguments."),
        ("  http-request strict-mode bla\n", "error detected in frontend 'fe' while parsing 'http-request strict-mode' rule : Unexpected value 'bla'. Only 'on' and 'off' are supported."),
        ("  http-request strict-mode off foo\n", "'http-request strict-mode' expects either 'if' or 'unless' followed by a condition but found 'foo'."),
    ];
    for (line, hx) in cases {
        let c = checked(&format!(
            "defaults\n  mode http\nfrontend fe\n  bind 127.0.0.1:8080\n{line}"
        ));
        assert_eq!(haproxy_errors(&c), vec![hx.to_string()], "{line}");
    }
    let ok = checked("global\n  tune.bufsize 1000\n  tune.maxrewrite abc\ndefaults\n  mode http\nfrontend fe\n  bind 127.0.0.1:8080\n  http-request strict-mode On\n  http-response strict-mode off if { status 200 }\n  http-after-response strict-mode on\n");
    assert!(!ok.has_errors(), "{:?}", ok.diagnostics);
    // atol() then rounded up to 16, as HAProxy.
    assert_eq!(ok.config.global.tune_bufsize, Some(1008));
    assert_eq!(ok.config.global.tune_maxrewrite, Some(0));
    for (line, hx) in [
        (
            "tune.bufsize 0",
            "'tune.bufsize' expects a positive integer argument.",
        ),
        (
            "tune.bufsize",
            "'tune.bufsize' expects an integer argument.",
        ),
        (
            "tune.maxrewrite -1",
            "'tune.maxrewrite' expects a positive integer argument.",
        ),
    ] {
        let c = checked(&format!("global\n  {line}\n"));
        assert_eq!(haproxy_errors(&c), vec![hx.to_string()], "{line}");
    }
}
