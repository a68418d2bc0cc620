//! The TLS client spec of each `ssl` server (configuration.txt §5.2 `ssl`,
//! `verify`, `ca-file`, `crt`, `alpn`, `verifyhost`, `no-ssl-reuse`, the protocol
//! options; §3.1 `ssl-default-server-*`, `ssl-server-verify`): the server's
//! options over the global defaults, the files loaded, and HAProxy's post-parse
//! checks (ssl_sock_prepare_srv_ctx) with `haproxy -c`'s messages.

use haproxide_tls::load::load_crt_file;
use haproxide_tls::{load_ca, ServerTlsSpec, Verify};

use crate::checks::CheckRule;
use crate::diag::{Code, Diagnostic, HaproxyLoc};
use crate::model::{Config, ProxyKind, ServerDef, ServerParams};

/// HAProxy's alert when `verify` defaults to required without a `ca-file`.
const NO_CA_DEFAULT: &str = "verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.";

/// Fill `ServerDef::tls` for every `ssl` server of a proxy (not `defaults`).
pub(crate) fn resolve(cfg: &mut Config, diags: &mut Vec<Diagnostic>) {
    let defaults = cfg.global.ssl_default_server.clone();
    for p in cfg
        .proxies
        .iter_mut()
        .filter(|p| p.kind != ProxyKind::Defaults)
    {
        let pname = p.name.name.clone();
        // HAProxy 2.6 prepares (and so checks) a server's TLS context when it
        // uses TLS for traffic (`ssl`) or checks (`check-ssl`), when a `connect`
        // rule of its proxy says `ssl`, or when its default-server says `ssl`
        // (cfgparse.c, before `prepare_srv`): the verify/CA alert of a server
        // that only checks over TLS is HAProxy's too.
        let rules_ssl = p
            .http_checks
            .iter()
            .chain(&p.tcp_checks)
            .any(|r| matches!(r, CheckRule::Connect(c) if c.ssl));
        let default_ssl = p
            .default_server
            .as_ref()
            .is_some_and(|d| d.params.ssl == Some(true));
        for s in p.servers.iter_mut() {
            let traffic = s.params.ssl == Some(true);
            if !(traffic || s.params.check_ssl == Some(true) || rules_ssl || default_ssl) {
                continue;
            }
            let sctx = format!("'server {pname}/{}'", s.name.name);
            match spec(&s.params, &defaults) {
                Ok(t) if traffic => s.tls = Some(t),
                Ok(_) => {}
                Err((msg, hx)) => diags.push(error(s, msg, format!("{sctx} : {hx}"))),
            }
        }
    }
}

fn error(s: &ServerDef, msg: String, hx: String) -> Diagnostic {
    Diagnostic::error(Code::InvalidArgument, msg)
        .at(s.span)
        .hx(HaproxyLoc::BracketPost, hx)
}

/// The spec of one server, or (our message, HAProxy's message).
pub fn spec(
    sp: &ServerParams,
    defaults: &haproxide_tls::TlsOptions,
) -> Result<ServerTlsSpec, (String, String)> {
    let mut o = sp.tls_opts.clone().unwrap_or_default();
    let default_verify = defaults.verify;
    o.inherit(defaults);
    o.verify = match sp.verify.as_deref() {
        Some("none") => Some(Verify::None),
        Some(_) => Some(Verify::Required),
        None => Some(default_verify.unwrap_or(Verify::Required)),
    };
    o.alpn = sp
        .alpn
        .as_ref()
        .map(|a| a.split(',').map(str::to_string).collect());
    if let Some(ca) = &sp.ca_file {
        let b = load_ca(&ca.name).map_err(|e| (format!("ca-file: {e}"), e.to_string()))?;
        o.ca = Some(std::sync::Arc::new(b));
    }
    // The client certificate is loaded before the verify settings are
    // looked at (HAProxy reports a missing `crt` first).
    let crt = match &sp.crt {
        Some(c) => Some(load_crt_file(&c.name).map_err(|e| (format!("crt: {e}"), e.to_string()))?),
        None => None,
    };
    if o.verify == Some(Verify::Required) && o.ca.is_none() {
        let hx = if sp.verify.is_some() {
            "verify is enabled but no CA file specified.".to_string()
        } else {
            NO_CA_DEFAULT.to_string()
        };
        return Err((
            "`verify required` (the default) needs a `ca-file`; or set `verify none`".into(),
            hx,
        ));
    }
    if let Some(c) = &o.ciphers {
        haproxide_tls::suites::parse_ciphers(c)
            .map_err(|e| (e, format!("unable to set SSL cipher list to '{c}'.")))?;
    }
    if let Some(c) = &o.ciphersuites {
        haproxide_tls::suites::parse_ciphersuites(c)
            .map_err(|e| (e, format!("unable to set TLS 1.3 cipher suites to '{c}'.")))?;
    }
    Ok(ServerTlsSpec {
        options: o,
        crt,
        verifyhost: sp.verifyhost.clone(),
        reuse: sp.ssl_reuse != Some(false),
    })
}
