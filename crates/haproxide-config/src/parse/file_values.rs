//! Files HAProxy 2.6 opens while it reads a line, refused with its texts when
//! they cannot be opened or hold nothing it can use (configuration.txt §3.1
//! `ssl-dh-param-file`, §5.1 `ca-file`, `ca-verify-file`, `crl-file`,
//! `tls-ticket-keys`, `namespace`, §5.2 `namespace`). Only when files are
//! checked. The contents are looked at as far as HAProxy's first refusal
//! needs: PEM blocks of the right kind (OpenSSL parses them in HAProxy; a
//! malformed block inside a file is not found here).

use std::path::Path;

use super::Parser;
use crate::diag::{Code, Diagnostic, HaproxyLoc};
use crate::reader::Line;

/// strerror() of the error opening `path`, None when it opens.
fn open_error(path: &str) -> Option<&'static str> {
    match std::fs::File::open(path) {
        Ok(_) => None,
        Err(e) => Some(match e.kind() {
            std::io::ErrorKind::PermissionDenied => "Permission denied",
            _ => "No such file or directory",
        }),
    }
}

/// Why ssl_sock.c's `ssl_store_load_locations_file` refuses a CA or CRL file:
/// it cannot be opened, or it holds no certificate and no CRL.
pub(super) fn ca_file_problem(path: &str) -> Option<&'static str> {
    if let Some(e) = open_error(path) {
        return Some(e);
    }
    let text = std::fs::read(path).unwrap_or_default();
    let has = |m: &[u8]| text.windows(m.len()).any(|w| w == m);
    let usable = has(b"-----BEGIN CERTIFICATE-----")
        || has(b"-----BEGIN TRUSTED CERTIFICATE-----")
        || has(b"-----BEGIN X509 CRL-----");
    (!usable).then_some("no certificate or crl found")
}

/// Whether `path` holds DH parameters (a PEM `DH PARAMETERS` block).
fn has_dh_params(path: &str) -> bool {
    std::fs::read(path).is_ok_and(|t| {
        let m = b"DH PARAMETERS-----";
        t.windows(m.len()).any(|w| w == m)
    })
}

impl Parser<'_> {
    /// A bind CA-like file (`ca-file`, `ca-verify-file`, `crl-file`) HAProxy
    /// cannot load: its two alerts, ssl_sock.c's then the keyword's. True when
    /// refused.
    pub(super) fn bind_ca_refused(
        &mut self,
        line: &Line,
        i: usize,
        prefix: &str,
        path: &str,
    ) -> bool {
        let Some(why) = ca_file_problem(path) else {
            return false;
        };
        let k = line.arg(i);
        let span = line.span(i + 1);
        let mut d = Diagnostic::error(Code::MissingFile, format!("{k} `{path}`: {why}")).hx(
            HaproxyLoc::None,
            format!("Couldn't open the ca-file '{path}' ({why})."),
        );
        d.span = Some(span);
        self.push(d);
        self.err(
            Code::MissingFile,
            span,
            format!("{k} file `{path}` cannot be loaded"),
            HaproxyLoc::Parsing,
            format!("{prefix}'{k}' : unable to load {path}"),
        );
        true
    }

    /// Bind `tls-ticket-keys <file>` that cannot be opened (cfgparse-ssl.c
    /// `bind_parse_tls_ticket_keys`; its lines are not decoded here).
    pub(super) fn bind_ticket_keys_refused(&mut self, line: &Line, i: usize, prefix: &str) -> bool {
        let f = line.arg(i + 1);
        if f.is_empty() || open_error(f).is_none() {
            return false;
        }
        self.err(
            Code::MissingFile,
            line.span(i + 1),
            format!("tls-ticket-keys file `{f}` cannot be opened"),
            HaproxyLoc::Parsing,
            format!("{prefix}'{f}' : unable to load ssl tickets keys file"),
        );
        true
    }

    /// `namespace <name>` on a bind or server line: HAProxy opens
    /// /var/run/netns/<name> (namespace.c); None when it opens, else its text.
    pub(super) fn namespace_missing(&self, name: &str) -> bool {
        self.opts.check_files
            && !name.is_empty()
            && !Path::new("/var/run/netns").join(name).exists()
    }

    /// Global `ssl-dh-param-file <file>` (cfgparse-ssl.c): DH parameters must
    /// load from it.
    pub(super) fn global_dh_file_refused(&mut self, line: &Line, start: usize) -> bool {
        let f = line.arg(start + 1);
        if !self.opts.check_files || f.is_empty() || has_dh_params(f) {
            return false;
        }
        self.err(
            Code::MissingFile,
            line.span(start + 1),
            format!("`ssl-dh-param-file` `{f}` holds no DH parameters"),
            HaproxyLoc::Parsing,
            format!("'ssl-dh-param-file': unable to load DH parameters from file <{f}>."),
        );
        true
    }

    /// Global files HAProxy opens after a clean parse (post-parsers):
    /// `h1-case-adjust-file` (mux_h1.c) and `httpclient.ssl.ca-file`
    /// (http_client.c), the last line of each.
    pub(super) fn check_global_files(&mut self) {
        if !self.opts.check_files || self.diags.iter().any(Diagnostic::is_error) {
            return;
        }
        let last = |kw: &str| {
            self.cfg
                .global
                .directives
                .iter()
                .rfind(|d| d.line.arg(0) == kw)
                .map(|d| (d.line.arg(1).to_string(), d.line.span(1)))
        };
        let (h1, ca) = (last("h1-case-adjust-file"), last("httpclient.ssl.ca-file"));
        if let Some((f, span)) = h1.filter(|(f, _)| open_error(f).is_some()) {
            let mut d = Diagnostic::error(
                Code::MissingFile,
                format!("h1-case-adjust-file `{f}` cannot be opened"),
            )
            .hx(
                HaproxyLoc::None,
                format!("h1-headers-case-adjust-file '{f}': failed to open file."),
            );
            d.span = Some(span);
            self.push(d);
        }
        if let Some((f, span)) = ca {
            if let Some(why) = ca_file_problem(&f) {
                for hx in [
                    format!("Couldn't open the ca-file '{f}' ({why})."),
                    format!("httpclient: cannot initialize: cannot initialize SSL verify with 'ca-file \"{f}\"'."),
                ] {
                    let mut d = Diagnostic::error(Code::MissingFile, format!("httpclient.ssl.ca-file `{f}`: {why}"))
                        .hx(HaproxyLoc::None, hx);
                    d.span = Some(span);
                    self.push(d);
                }
            }
        }
    }
}
