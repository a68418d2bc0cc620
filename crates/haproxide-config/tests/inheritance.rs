//! Defaults inheritance (configuration.txt §4 "defaults", §4.2 `log-tag`,
//! `log-format`, `option tcplog`, `stats`, `load-server-state-from-file`) as the
//! resolved configuration carries it, checked against the real HAProxy 2.6 where
//! the effect is observable.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use haproxide_config::model::{Config, Mode, ProxyKind, SessionLog, StateFrom, StatsKw};
use haproxide_config::{check_bytes, CheckOptions, Resolved, Resolver, Target};
use haproxide_testkit::fs::TempDir;
use haproxide_testkit::proc::Proc;
use haproxide_testkit::syslog::UdpCatcher;
use haproxide_testkit::tcp::free_port;

const HAPROXY: &str = "/usr/sbin/haproxy";
const WAIT: Duration = Duration::from_secs(5);

fn no_env(_: &str) -> Option<String> {
    None
}

fn opts() -> CheckOptions<'static> {
    CheckOptions {
        target: Target::V2_6,
        env: &no_env,
        ignore_resolution_failures: false,
        resolver: Resolver::Off,
        check_files: false,
        accounts: &haproxide_config::NoAccounts,
    }
}

fn resolved(text: &str) -> Resolved {
    let opts = opts();
    let c = check_bytes("t.cfg", text.as_bytes().to_vec(), &opts);
    let errors: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    c.config
}

fn proxy<'a>(cfg: &'a Config, name: &str) -> &'a haproxide_config::model::Proxy {
    cfg.proxies
        .iter()
        .find(|p| p.name.name == name && p.kind != ProxyKind::Defaults)
        .unwrap_or_else(|| panic!("no proxy {name}"))
}

/// Named defaults, `from` chains, a defaults section without `from` (starts
/// afresh), own settings overriding inherited ones, and `option tcplog` /
/// `option httplog` / `log-format` sharing one slot (the last line wins).
const LOG_CFG: &str = "\
global
  log 127.0.0.1:@LOG@ local0
  log-tag gtag
defaults A
  mode tcp
  log global
  log-tag tagA
  log-format \"fmtA %f\"
  timeout client 1s
  timeout connect 1s
  timeout server 1s
defaults
  log global
  timeout client 1s
  timeout connect 1s
  timeout server 1s
frontend f1
  bind 127.0.0.1:@P1@
frontend f2 from A
  bind 127.0.0.1:@P2@
defaults B from A
  log-tag tagB
frontend f3 from B
  bind 127.0.0.1:@P3@
  option tcplog
defaults C from A
  option tcplog
frontend f4 from C
  bind 127.0.0.1:@P4@
frontend f5 from C
  bind 127.0.0.1:@P5@
  log-format \"own %f\"
frontend f6 from B
  bind 127.0.0.1:@P6@
  option httplog
  log-tag own6
";

const FRONTENDS: [&str; 6] = ["f1", "f2", "f3", "f4", "f5", "f6"];

/// What a frontend's log line shows: (tag, format), format being `default`,
/// `tcplog` or `custom:<format string>`.
fn what_we_resolve(cfg: &Config, name: &str) -> (String, String) {
    let p = proxy(cfg, name);
    let tag = p
        .log_tag
        .as_ref()
        .or(cfg.global.log_tag.as_ref())
        .map_or("haproxy".to_string(), |t| t.name.clone());
    let format = match &p.log_format {
        None => "default".to_string(),
        Some(SessionLog::TcpLog(_)) => "tcplog".to_string(),
        Some(SessionLog::HttpLog(_) | SessionLog::HttpsLog(_)) => {
            assert_eq!(p.effective_mode(), Mode::Tcp);
            "tcplog".to_string()
        }
        Some(SessionLog::Custom(f)) => format!("custom:{}", f.name),
    };
    (tag, format)
}

/// `<134>Dec  5 00:32:39 tag[pid]: message` → (frontend, (tag, format)).
fn what_haproxy_logged(datagram: &str) -> (String, (String, String)) {
    let words: Vec<&str> = datagram.split_whitespace().collect();
    let tag = words[3].split('[').next().unwrap_or("").to_string();
    let msg = &words[4..];
    let (frontend, format) = if msg[0] == "Connect" {
        // "Connect from <a> to <b> (<frontend>/TCP)"
        let f = msg[5]
            .trim_start_matches('(')
            .split('/')
            .next()
            .unwrap_or("");
        (f.to_string(), "default".to_string())
    } else if msg[0] == "fmtA" || msg[0] == "own" {
        (msg[1].to_string(), format!("custom:{} %f", msg[0]))
    } else {
        // tcplog: "<client> [<date>] <frontend> <backend>/<server> ..."
        (msg[2].to_string(), "tcplog".to_string())
    };
    (frontend, (tag, format))
}

#[test]
fn log_tag_and_format_are_inherited_as_haproxy_does() {
    let catcher = UdpCatcher::bind();
    let ports: Vec<u16> = FRONTENDS.iter().map(|_| free_port()).collect();
    let mut text = LOG_CFG.replace("@LOG@", &catcher.port().to_string());
    for (i, p) in ports.iter().enumerate() {
        text = text.replace(&format!("@P{}@", i + 1), &p.to_string());
    }
    let cfg = resolved(&text);
    let ours: Vec<(String, String)> = FRONTENDS.iter().map(|f| what_we_resolve(&cfg, f)).collect();
    // The facts measured on HAProxy 2.6.12 (also checked live below).
    let expected = [
        ("gtag", "default"),
        ("tagA", "custom:fmtA %f"),
        ("tagB", "tcplog"),
        ("tagA", "tcplog"),
        ("tagA", "custom:own %f"),
        ("own6", "tcplog"),
    ];
    for (i, (tag, format)) in expected.iter().enumerate() {
        assert_eq!(
            (tag.to_string(), format.to_string()),
            ours[i],
            "{}",
            FRONTENDS[i]
        );
    }

    if !std::path::Path::new(HAPROXY).exists() {
        eprintln!("SKIP live comparison: {HAPROXY} not installed");
        return;
    }
    let dir = TempDir::new("inherit-log");
    let path = dir.path("h.cfg");
    std::fs::write(&path, &text).unwrap();
    let child = Command::new(HAPROXY)
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haproxy");
    let _haproxy = Proc::new(child);
    for (i, port) in ports.iter().enumerate() {
        let addr = SocketAddr::from(([127, 0, 0, 1], *port));
        let s = haproxide_testkit::wait::for_some(
            "haproxy listening",
            WAIT,
            Duration::from_millis(20),
            || TcpStream::connect(addr).ok(),
        );
        drop(s);
        let got = catcher
            .recv(WAIT)
            .unwrap_or_else(|| panic!("no log line from haproxy for {}", FRONTENDS[i]));
        let (frontend, seen) = what_haproxy_logged(&got);
        assert_eq!(frontend, FRONTENDS[i], "{got}");
        assert_eq!(seen, ours[i], "{}: haproxy logged {got:?}", FRONTENDS[i]);
    }
}

#[test]
fn a_defaults_section_without_from_starts_afresh() {
    // HAProxy 2.6.12 warns "missing timeouts for frontend 'f1'" here: the second
    // defaults section does not take the first one's timeouts.
    let cfg = resolved(
        "defaults\n  timeout client 1s\n  log-tag t\ndefaults\n  mode tcp\nfrontend f1\n  bind 127.0.0.1:1\n",
    );
    let f1 = proxy(&cfg, "f1");
    assert!(f1.timeouts.is_empty());
    assert!(f1.log_tag.is_none());
}

#[test]
fn stats_follow_from_chains_and_own_lines_detach() {
    // HAProxy 2.6.12 (measured: a listen with `stats realm` of its own serves its
    // page at the default URI without auth) detaches a proxy with its own `stats`
    // line from its defaults' settings; a defaults section adds to its parent's.
    let cfg = resolved(
        "defaults A\n  mode http\n  stats auth a:b\ndefaults B from A\n  stats uri /s\n\
         listen l1 from B\n  bind 127.0.0.1:1\nlisten l2 from B\n  bind 127.0.0.1:2\n  stats realm R\n",
    );
    let kinds = |n: &str| -> Vec<StatsKw> {
        proxy(&cfg, n)
            .stats
            .iter()
            .map(|s| s.value.clone())
            .collect()
    };
    assert_eq!(
        kinds("l1"),
        vec![
            StatsKw::Auth {
                user: "a".into(),
                password: "b".into()
            },
            StatsKw::Uri("/s".into())
        ]
    );
    assert_eq!(kinds("l2"), vec![StatsKw::Realm("R".into())]);
}

#[test]
fn server_state_settings_follow_from_chains() {
    let cfg = resolved(
        "defaults A\n  load-server-state-from-file local\n  server-state-file-name f\n\
         defaults B from A\n  mode tcp\nbackend b1 from B\nbackend b2 from B\n  server-state-file-name own\n",
    );
    let b1 = proxy(&cfg, "b1");
    assert_eq!(
        b1.load_server_state_from_file.as_ref().map(|s| s.value),
        Some(StateFrom::Local)
    );
    assert_eq!(
        b1.server_state_file_name.as_ref().map(|n| n.name.as_str()),
        Some("f")
    );
    let b2 = proxy(&cfg, "b2");
    assert_eq!(
        b2.server_state_file_name.as_ref().map(|n| n.name.as_str()),
        Some("own")
    );
}

#[test]
fn stats_socket_options_are_typed_fields() {
    let cfg = resolved(
        "global\n  stats socket /run/a.sock level admin mode 600 uid 7 gid 8 maxconn 3 expose-fd listeners\n\
         stats socket /run/b.sock maxconn 0 accept-proxy uid x\n",
    );
    let a = &cfg.global.stats_sockets[0];
    assert_eq!(
        (a.level, a.mode, a.uid, a.gid, a.maxconn),
        (
            Some(haproxide_config::model::CliLevel::Admin),
            Some(0o600),
            Some(7),
            Some(8),
            Some(3)
        )
    );
    assert!(a.not_run.is_none());
    let b = &cfg.global.stats_sockets[1];
    assert_eq!(b.maxconn, None);
    // The first option the CLI does not run, with its line.
    let n = b.not_run.as_ref().expect("accept-proxy is not run");
    assert_eq!(n.value, "`stats socket ... accept-proxy`");
    assert_eq!(n.span.line, 3);
}

/// `log-format` / `option tcplog` / `option httplog` / `option httpslog` in one
/// slot through `from` chains: the "overrides previous" warnings of defaults
/// sections, the tcplog fall-back of TCP frontends (at the line that set the
/// format, inherited or not), the missing log address.
const LOG_WARNINGS_CFG: &str = "\
defaults A
  mode tcp
  log-format \"x\"
  option httplog
  timeout client 1s
  timeout connect 1s
  timeout server 1s
frontend f1 from A
  bind 127.0.0.1:19701
  option tcplog
frontend f2 from A
  bind 127.0.0.1:19702
  log-format \"y\"
  option httplog
frontend f3 from A
  bind 127.0.0.1:19703
defaults B from A
  option tcplog
  log-format \"y\"
  log-format \"z\"
  option httpslog
frontend f4 from B
  bind 127.0.0.1:19704
defaults
  log-format \"w\"
listen l5
  bind 127.0.0.1:19705
  option httplog clf
";

/// HAProxy's first lines of warnings: (line or 0, text without location).
fn haproxy_warnings(stderr: &str) -> Vec<(u32, String)> {
    stderr
        .lines()
        .filter_map(|l| l.split_once("[WARNING]"))
        .filter_map(|(_, rest)| rest.split_once(" : config : ").map(|(_, m)| m))
        .map(|m| match m.strip_prefix("parsing [") {
            Some(r) => {
                let (loc, text) = r.split_once(']').unwrap_or(("", r));
                let line = loc.rsplit(':').next().and_then(|n| n.parse().ok());
                let text = text.trim_start_matches(" :").trim_start_matches(':');
                (line.unwrap_or(0), text.trim().to_string())
            }
            None => (0, m.trim().to_string()),
        })
        .collect()
}

#[test]
fn log_format_warnings_match_haproxy_c() {
    let opts = opts();
    let c = check_bytes("lf.cfg", LOG_WARNINGS_CFG.as_bytes().to_vec(), &opts);
    let ours: Vec<(u32, String)> = c
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .filter_map(|d| {
            let h = d.haproxy.as_ref()?;
            let line = match h.loc {
                haproxide_config::HaproxyLoc::None => 0,
                _ => d.span.map_or(0, |s| s.line),
            };
            Some((line, h.text.lines().next().unwrap_or("").to_string()))
        })
        .collect();
    assert_eq!(ours.len(), 15, "{ours:#?}");
    assert!(ours.contains(&(
        21,
        "'option httplog' overrides previous 'log-format' in 'defaults' section.".into()
    )));
    assert!(ours.contains(&(
        21,
        "'option httpslog' not usable with frontend 'f4' (needs 'mode http'). Falling back to 'option tcplog'.".into()
    )));
    if !std::path::Path::new(HAPROXY).exists() {
        eprintln!("SKIP live comparison: {HAPROXY} not installed");
        return;
    }
    let dir = TempDir::new("inherit-lf");
    let path = dir.path("lf.cfg");
    std::fs::write(&path, LOG_WARNINGS_CFG).unwrap();
    let out = Command::new(HAPROXY)
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run haproxy -c");
    let theirs = haproxy_warnings(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(ours, theirs);
}

/// The lines of `defaults ... explicitly referenced by another proxy and
/// implicitly used here` warnings (HAProxy 2.6.12 prints it as an ALERT but
/// exits 0: measured on these three configurations).
fn mixed_use_lines(text: &str) -> Vec<u32> {
    let c = check_bytes("t.cfg", text.as_bytes().to_vec(), &opts());
    c.diagnostics
        .iter()
        .filter(|d| {
            d.haproxy
                .as_ref()
                .is_some_and(|h| h.text.contains("implicitly used here"))
        })
        .map(|d| {
            assert!(!d.is_error());
            d.span.map_or(0, |s| s.line)
        })
        .collect()
}

#[test]
fn a_defaults_section_both_named_and_implicit_is_warned_about() {
    // Implicit use first, `from` second: the warning is at the second.
    assert_eq!(
        mixed_use_lines(
            "defaults A\n  mode tcp\nfrontend f0\n  bind :1\nfrontend f1 from A\n  bind :2\n"
        ),
        vec![5]
    );
    // `from` first, then every implicit use.
    assert_eq!(
        mixed_use_lines("defaults A\n  mode tcp\nbackend b1 from A\nbackend b2\nbackend b3\n"),
        vec![4, 5]
    );
    // HAProxy's remedy: a last defaults section that no `from` names.
    assert_eq!(
        mixed_use_lines(
            "defaults A\n  mode tcp\ndefaults last from A\nbackend b1 from A\nbackend b2\n"
        ),
        Vec::<u32>::new()
    );
}

#[test]
fn log_format_options_take_no_negation() {
    // HAProxy 2.6.12: "negation/default is not supported for option 'tcplog'." (exit 1).
    for (text, opt) in [
        ("defaults\n  no option tcplog\n", "tcplog"),
        ("defaults\n  default option httplog\n", "httplog"),
        ("defaults\n  no option httpslog\n", "httpslog"),
    ] {
        let c = check_bytes("t.cfg", text.as_bytes().to_vec(), &opts());
        let hx: Vec<&str> = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .filter_map(|d| d.haproxy.as_ref().map(|h| h.text.as_str()))
            .collect();
        let want = format!("negation/default is not supported for option '{opt}'.");
        assert_eq!(hx, vec![want.as_str()], "{text}");
    }
}
