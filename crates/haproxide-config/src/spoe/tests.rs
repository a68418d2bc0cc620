use super::*;
use crate::{check_bytes, CheckOptions, NoAccounts, Resolver, Target};

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str, engine: Option<&str>) -> Result<SpoeConf, SpoeError> {
    parse_text("s.spoe", text.as_bytes(), engine, &no_env, &Opts::default())
}

const FULL: &str = "\
[other]
spoe-agent x
  bogus line ignored outside the engine's scope
[e]
spoe-agent a
  messages m1
  groups g1
  option var-prefix pfx
  option set-on-error err
  option set-process-time pt
  option set-total-time tt
  option continue-on-error
  no option async
  option pipelining
  max-frame-size 1024
  max-waiting-frames 10
  register-var-names x y
  timeout hello 1s
  timeout idle 2m
  timeout processing 15ms
  use-backend agents
spoe-message m1
  acl local src 127.0.0.1
  args a=src b=req.hdr(host) path
  event on-frontend-http-request if local
spoe-message m2
  args ip=src
spoe-group g1
  messages m2
";

#[test]
fn a_full_engine_is_typed() {
    let c = parse(FULL, Some("e")).expect("valid");
    assert_eq!(c.engine_id, "e");
    let a = &c.agent;
    assert_eq!(a.name, "a");
    assert_eq!(a.at, "s.spoe:5");
    assert_eq!(a.backend.as_deref(), Some("agents"));
    assert_eq!(a.var_prefix, "pfx");
    assert_eq!(a.set_on_error.as_deref(), Some("err"));
    assert_eq!(a.set_process_time.as_deref(), Some("pt"));
    assert_eq!(a.set_total_time.as_deref(), Some("tt"));
    assert!(a.continue_on_error && !a.async_ && a.pipelining);
    assert_eq!((a.max_frame_size, a.max_waiting_frames), (1024, 10));
    assert_eq!(a.register_var_names, ["x", "y"]);
    assert_eq!(a.timeout_hello, Some(Duration::from_secs(1)));
    assert_eq!(a.timeout_idle, Some(Duration::from_secs(120)));
    assert_eq!(a.timeout_processing, Some(Duration::from_millis(15)));
    assert_eq!(c.messages.len(), 2);
    let m1 = &c.messages[0];
    assert_eq!(m1.event, Some(SpoeEvent::FrontendHttpRequest));
    assert!(m1.cond.is_some());
    let names: Vec<&str> = m1.args.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", ""]);
    assert_eq!(
        c.groups,
        [SpoeGroupCfg {
            name: "g1".into(),
            messages: vec![1]
        }]
    );
    assert_eq!(c.messages[1].event, None);
}

#[test]
fn defaults_follow_haproxy() {
    let c = parse("spoe-agent ag\n use-backend b\n", None).expect("valid");
    // No engine name: the agent's name; prefix too.
    assert_eq!(c.engine_id, "ag");
    assert_eq!(c.agent.var_prefix, "ag");
    assert_eq!(c.agent.max_frame_size, DEFAULT_MAX_FRAME_SIZE);
    assert_eq!(c.agent.max_waiting_frames, 20);
    assert!(c.agent.async_ && c.agent.pipelining);
}

#[test]
fn haproxy_texts_for_bad_files() {
    // Each text measured with haproxy -c 2.6.12.
    let e = parse("", Some("e")).expect_err("no agent");
    assert_eq!(e.filter, "No SPOE agent found in file s.spoe");
    let e = parse("[x]\nspoe-agent a\n use-backend b\n", Some("e")).expect_err("other scope");
    assert_eq!(e.filter, "No SPOE agent found in file s.spoe");
    let e = parse("[e]\nspoe-agent a\n messages m1\nspoe-message m1\n args src\n event on-frontend-http-request\n", Some("e"))
        .expect_err("no backend");
    assert_eq!(
        e.filter,
        "No backend declared for SPOE agent 'a' declared at s.spoe:2"
    );
    let e = parse("[e]\nspoe-agent a\n messages m1 m9\n use-backend b\nspoe-message m1\n args src\n event on-frontend-http-request\n", Some("e"))
        .expect_err("unknown message");
    assert_eq!(
        e.filter,
        "SPOE agent 'a' try to use undefined SPOE message 'm9' at s.spoe:2"
    );
    let bad = "[e]\nspoe-agent a\n messages m1\n use-backend b\n option var-prefix a-b\n option set-on-error\n option foo\n timeout hello x\n timeout bar 1s\n max-waiting-frames 0\n register-var-names\n max-frame-size 100\n option spop-version 2.0\n foo bar\nspoe-agent b\nspoe-message m1\n args src nosuchfetch\n event\n event on-foo\n event on-frontend-http-request if FOO\n";
    let e = parse(bad, Some("e")).expect_err("many errors");
    assert_eq!(e.filter, "Error(s) found in configuration file s.spoe");
    assert_eq!(
        e.inner,
        [
            "parsing [s.spoe:5]: 'option var-prefix' only supports [a-zA-Z0-9_.] chars.",
            "parsing [s.spoe:6]: 'option set-on-error' expects a value.",
            "parsing [s.spoe:7]: option 'foo' is not supported.",
            "parsing [s.spoe:8] : unexpected character 'x' in 'timeout hello'.",
            "parsing [s.spoe:9] : 'timeout' supports 'hello', 'idle' or 'processing' (got bar).",
            "parsing [s.spoe:10] : 'max-waiting-frames' expects a positive integer argument.",
            "parsing [s.spoe:11] : 'register-var-names' expects one or more variable names.",
            "parsing [s.spoe:12] : 'max-frame-size' expects a positive integer argument in the range [256, 16380].",
            "parsing [s.spoe:13]: option 'spop-version' is not supported.",
            "parsing [s.spoe:14] : unknown keyword 'foo' in spoe-agent section.",
            "parsing [s.spoe:15] : another spoe-agent section previously defined.",
            "parsing [s.spoe:17] : 'args': unknown fetch method 'nosuchfetch'.",
            "parsing [s.spoe:18] : missing event name.",
            "parsing [s.spoe:19] : unknown event 'on-foo'.",
            "parsing [s.spoe:20] : error detected while parsing an 'event on-frontend-http-request' condition : no such ACL : 'FOO'.",
        ]
    );
}

#[test]
fn hostile_file_bytes_do_not_panic() {
    for text in [
        "[",
        "[e",
        "\u{0}\u{ff}",
        "spoe-agent\n",
        "[e]\nspoe-message\n args =\n",
        "[e]\n\"unterminated\n",
    ] {
        let _ = parse(text, Some("e"));
    }
}

fn check_with(tag: &str, cfg: &str, spoe: &str) -> crate::Checked {
    let dir = haproxide_testkit::fs::TempDir::new(tag);
    let f = dir.path("e.spoe");
    std::fs::write(&f, spoe).expect("write");
    let text = cfg.replace("SPOEFILE", &f.display().to_string());
    let opts = CheckOptions {
        target: Target::V2_6,
        env: &no_env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: true,
        accounts: &NoAccounts,
    };
    check_bytes("t.cfg", text.into_bytes(), &opts)
}

const CFG: &str = "defaults\n mode http\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
frontend f\n bind 127.0.0.1:18080\n filter spoe engine e config SPOEFILE\n http-request send-spoe-group e g1\n default_backend b\n\
backend b\n server s 127.0.0.1:18081\nbackend agents\n mode tcp\n server a 127.0.0.1:12345\n";

#[test]
fn the_pipeline_types_and_checks_references() {
    let c = check_with("spoe-cfg1", CFG, FULL);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    let f = c
        .config
        .proxies
        .iter()
        .find(|p| p.name.name == "f")
        .expect("f");
    assert_eq!(f.spoe.len(), 1);
    assert_eq!(f.spoe[0].conf.agent.name, "a");
    let vars = referenced_vars(&c.config);
    assert!(vars.is_empty(), "{vars:?}");

    // Unknown backend and group: HAProxy's post-parse texts (haproxy -c 2.6.12).
    let bad = "[e]\nspoe-agent a\n messages m1\n use-backend nobe\nspoe-message m1\n args src\n event on-frontend-http-request\n";
    let c = check_with("spoe-cfg2", CFG, bad);
    let texts: Vec<String> = c
        .diagnostics
        .iter()
        .filter_map(|d| d.haproxy.as_ref().map(|h| h.text.clone()))
        .collect();
    assert!(
        texts[0].starts_with("Proxy 'f': missing timeouts for SPOE agent 'a' declare at "),
        "{texts:?}"
    );
    assert!(texts.contains(
        &"Proxy 'f': unable to find SPOE group 'g1' into SPOE engine 'e' configuration."
            .to_string()
    ));
    assert!(texts
        .iter()
        .any(|t| t
            .starts_with("Proxy f : unknown backend 'nobe' used by SPOE agent 'a' declared at ")));
    assert!(c.has_errors());

    // A missing file: the filter line's error.
    let c = check_with(
        "spoe-cfg3",
        &CFG.replace("SPOEFILE", "/nonexistent/x.spoe"),
        FULL,
    );
    let h = c.diagnostics[0].haproxy.as_ref().expect("hx");
    assert_eq!(h.text, "'filter' : 'Could not open configuration file /nonexistent/x.spoe : No such file or directory'");
}

#[test]
fn referenced_variables_are_collected() {
    let cfg = CFG.replace(" default_backend b\n", " http-request deny if { var(txn.e.score) -m int lt 5 }\n http-request set-var(txn.mine) str(x)\n default_backend b\n");
    let c = check_with("spoe-cfg4", &cfg, FULL);
    let vars = referenced_vars(&c.config);
    assert!(
        vars.contains("txn.e.score") && vars.contains("txn.mine"),
        "{vars:?}"
    );
}
