//! Sections a proxy names, checked after the parse as HAProxy 2.6 checks them
//! (configuration.txt §4.2 `errorfiles` and `use-fcgi-app`, §10.1 `fcgi-app`,
//! §12.4 `http-errors`): `use-fcgi-app` when the proxy's filters are checked
//! (fcgi-app.c `fcgi_flt_check`), `errorfiles` when its error messages are
//! (http_htx.c `proxy_check_errors`). Each missing section is an error; HAProxy
//! goes on with the next proxy. Only the proxy's own lines are looked at (not
//! the `errorfiles` a proxy inherits from its defaults section).

use crate::diag::{Code, Diagnostic, HaproxyLoc};
use crate::model::{Config, ProxyKind};

/// Whether a section of `kind` named `name` is declared.
fn declared(cfg: &Config, kind: &str, name: &str) -> bool {
    cfg.others
        .iter()
        .any(|s| s.kind == kind && s.name.as_ref().is_some_and(|n| n.name == name))
}

pub(crate) fn check(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    for p in cfg.proxies.iter().filter(|p| p.kind != ProxyKind::Defaults) {
        let px = &p.name.name;
        for d in &p.directives {
            let name = d.line.arg(1);
            let (kind, hx) = match d.keyword.as_str() {
                "use-fcgi-app" => (
                    "fcgi-app",
                    format!("proxy '{px}' : fcgi-app '{name}' not found."),
                ),
                "errorfiles" => (
                    "http-errors",
                    format!(
                        "proxy '{px}': unknown http-errors section '{name}' (at {}:{}).",
                        // The renderer prints the file's path for this marker.
                        format_args!("\u{1}{}\u{1}", d.line.file.0),
                        d.line.line
                    ),
                ),
                _ => continue,
            };
            if name.is_empty() || declared(cfg, kind, name) {
                continue;
            }
            diags.push(
                Diagnostic::error(
                    Code::UnknownSection,
                    format!("`{}` names no `{kind}` section `{name}`", d.keyword),
                )
                .at(d.line.span(1))
                .hx(HaproxyLoc::None, hx),
            );
        }
    }
}
