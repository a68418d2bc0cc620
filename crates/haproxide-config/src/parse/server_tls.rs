//! The TLS options of `server` / `default-server` lines (configuration.txt §5.2
//! `sni`, `check-sni`, `alpn`, `check-alpn`, `verify`, `verifyhost`,
//! `ssl-min-ver`, `ssl-max-ver`, `ciphers`, `ciphersuites`, `no-tlsv1x`,
//! `force-tlsv1x`, `no-tls-tickets`), with `haproxy -c`'s messages. Files
//! (`ca-file`, `crt`) are loaded when the configuration is resolved
//! (crate::server_tls).

use haproxide_tls::TlsOptions;

use super::server::ServerOpt;
use super::*;

impl Parser<'_> {
    /// A TLS option of a server at `o`; `Some(false)` when `o.k` is not one,
    /// `None` after an error that drops the line.
    pub(super) fn server_tls_opt(
        &mut self,
        o: &ServerOpt<'_>,
        p: &mut ServerParams,
    ) -> Option<bool> {
        let (k, a, sctx) = (o.k, o.a.as_str(), o.sctx);
        let span = o.line.span(o.i + 1);
        match k {
            "sni" => {
                if let Err(e) = haproxide_expr::SampleExpr::parse(a) {
                    self.err(
                        Code::InvalidArgument,
                        span,
                        format!("invalid `sni` expression `{a}`: {e}"),
                        HaproxyLoc::Bracket,
                        format!("{sctx} : error detected while parsing sni expression : {e}"),
                    );
                    return None;
                }
                p.sni = Some(a.to_string());
            }
            "check-sni" => p.check_sni = Some(a.to_string()),
            "alpn" => p.alpn = Some(a.to_string()),
            "check-alpn" => p.check_alpn = Some(a.to_string()),
            "verifyhost" => p.verifyhost = Some(a.to_string()),
            "verify" => {
                if !matches!(a, "none" | "required") {
                    self.err(
                        Code::InvalidArgument,
                        span,
                        format!("`verify` takes none or required, not `{a}`"),
                        HaproxyLoc::Bracket,
                        format!("{sctx} : 'verify' : unknown verify method '{a}', only 'none' and 'required' are supported."),
                    );
                    return None;
                }
                p.verify = Some(a.to_string());
            }
            "ciphers" | "ciphersuites" => {
                let t = p.tls_opts.get_or_insert_with(TlsOptions::default);
                if k == "ciphers" {
                    t.ciphers = Some(a.to_string());
                } else {
                    t.ciphersuites = Some(a.to_string());
                }
            }
            _ => {
                let mut t = p.tls_opts.clone().unwrap_or_default();
                match super::tls::version_option(&mut t, k, a) {
                    Ok(false) => return Some(false),
                    Ok(true) => p.tls_opts = Some(t),
                    Err(_) => {
                        self.err(
                            Code::InvalidArgument,
                            span,
                            format!("`{k}` takes SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3"),
                            HaproxyLoc::Bracket,
                            format!("{sctx} : '{a}' : unknown ssl/tls version."),
                        );
                        return None;
                    }
                }
            }
        }
        Some(true)
    }
}
