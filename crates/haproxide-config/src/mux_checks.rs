//! The multiplexers servers name, checked after the parse as HAProxy 2.6 checks
//! them (configuration.txt §5.2 `proto`, `check-proto`; §10 FastCGI
//! applications): a server's `proto` must fit its proxy's mode (cfgparse.c
//! `check_config_validity`), an `fcgi` server needs the proxy's `use-fcgi-app`
//! (fcgi-app.c), and an explicit `check-proto` must fit the proxy's check type
//! (check.c `init_srv_check`). Each alert is `haproxy -c`'s.

use crate::checks::{check_kind, CheckKind};
use crate::diag::{Code, Diagnostic, HaproxyLoc};
use crate::model::{Config, Mode, Proxy, ProxyKind, ServerDef};

/// HAProxy 2.6's multiplexers for servers, by whether they speak HTTP.
fn http_mux(name: &str) -> Option<bool> {
    match name {
        "h1" | "h2" | "fcgi" => Some(true),
        "none" => Some(false),
        _ => None,
    }
}

fn alert(s: &ServerDef, msg: String, hx: String) -> Diagnostic {
    Diagnostic::error(Code::InvalidArgument, msg)
        .at(s.span)
        .hx(HaproxyLoc::None, hx)
}

/// The three checks over every proxy with servers (not `defaults`).
pub(crate) fn check(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    let proxies = || cfg.proxies.iter().filter(|p| p.kind != ProxyKind::Defaults);
    for p in proxies() {
        let http = p.mode == Some(Mode::Http);
        for s in &p.servers {
            let Some((proto, _)) = s.proto() else {
                continue;
            };
            if http_mux(proto).is_some_and(|h| h != http) {
                diags.push(alert(
                    s,
                    format!("`proto {proto}` does not fit a proxy in {} mode", if http { "HTTP" } else { "TCP" }),
                    format!(
                        "{} '{}' : MUX protocol '{proto}' is not usable for server '{}' at [{}:{}].",
                        crate::resolve::type_str(p.kind),
                        p.name.name,
                        s.name.name,
                        // The renderer prints the file's path for this marker.
                        format_args!("\u{1}{}\u{1}", s.span.file.0),
                        s.span.line
                    ),
                ));
            }
        }
    }
    // fcgi-app.c `fcgi_app_postcheck`: its first finding ends it.
    for p in proxies().filter(|p| p.mode == Some(Mode::Http)) {
        let fcgi = p
            .servers
            .iter()
            .find(|s| s.proto().is_some_and(|(m, _)| m == "fcgi"));
        let d = match (has_fcgi_app(p), fcgi) {
            (false, Some(s)) => alert(
                s,
                "an `fcgi` server needs `use-fcgi-app` in its proxy".to_string(),
                format!(
                    "proxy '{}': FCGI server '{}' has no FCGI app configured.",
                    p.name.name, s.name.name
                ),
            ),
            (true, None) => Diagnostic::error(
                Code::InvalidArgument,
                "`use-fcgi-app` in a proxy without an `fcgi` server".to_string(),
            )
            .at(p.span)
            .hx(
                HaproxyLoc::None,
                format!(
                    "proxy '{}': FCGI app configured but no FCGI server found.",
                    p.name.name
                ),
            ),
            _ => continue,
        };
        diags.push(d);
        break;
    }
    for p in proxies() {
        let http_check = matches!(check_kind(p), CheckKind::Http { .. });
        for s in p.servers.iter().filter(|s| s.params.check == Some(true)) {
            let Some((proto, _)) = s.other_option("check-proto") else {
                continue;
            };
            if http_mux(proto).is_some_and(|h| h != http_check) {
                diags.push(alert(
                    s,
                    format!("`check-proto {proto}` does not fit the proxy's check type"),
                    format!(
                        "config: {} '{}': server '{}' uses an incompatible MUX protocol for the selected check type",
                        crate::resolve::type_str(p.kind),
                        p.name.name,
                        s.name.name
                    ),
                ));
                break;
            }
        }
    }
}

fn has_fcgi_app(p: &Proxy) -> bool {
    p.directives.iter().any(|d| d.keyword == "use-fcgi-app")
}
