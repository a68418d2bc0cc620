//! The TLS options of `bind` lines (configuration.txt §5.1) and the global
//! `ssl-default-bind-*` / `ssl-default-server-*` / `tune.ssl.*` lines (§3.1, §3.2),
//! typed into [`haproxide_tls::TlsOptions`]; certificate files are loaded and
//! checked here, with `haproxy -c`'s messages.

use haproxide_tls::{load_ca, load_crt, CrtEntry, CrtOrigin, LoadError, TlsOptions, Ver, Verify};

use super::*;

/// One protocol option word (`ssl-min-ver X`, `no-tlsv11`, `force-tlsv12`,
/// `no-tls-tickets`, `prefer-client-ciphers`) applied to `o`; false if `k` is
/// not one. `arg` is the next word.
pub(super) fn version_option(o: &mut TlsOptions, k: &str, arg: &str) -> Result<bool, String> {
    let ver_of = |s: &str| match s {
        "sslv3" => Some(Ver::Ssl3),
        "tlsv10" => Some(Ver::Tls10),
        "tlsv11" => Some(Ver::Tls11),
        "tlsv12" => Some(Ver::Tls12),
        "tlsv13" => Some(Ver::Tls13),
        _ => None,
    };
    match k {
        "ssl-min-ver" | "ssl-max-ver" => {
            let v = Ver::parse(arg).ok_or_else(|| {
                format!("'{k}' : unknown version '{arg}'. Supported versions: SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3.")
            })?;
            if k == "ssl-min-ver" {
                o.min_ver = Some(v);
            } else {
                o.max_ver = Some(v);
            }
        }
        "no-tls-tickets" => o.no_tls_tickets = true,
        "prefer-client-ciphers" => o.prefer_client_ciphers = true,
        _ => {
            if let Some(v) = k.strip_prefix("no-").and_then(ver_of) {
                o.no_ver.push(v);
            } else if let Some(v) = k.strip_prefix("force-").and_then(ver_of) {
                o.force_ver = Some(v);
            } else {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// A check of an OpenSSL-syntax list.
type ListCheck = fn(&str) -> Result<(), String>;

impl Parser<'_> {
    fn crt_path(&self, f: &str) -> String {
        with_base(self.global_dir("crt-base").as_deref(), f)
    }

    /// A TLS option of a `bind` line at word `i`; false when `k` is not one.
    pub(super) fn bind_tls_option(
        &mut self,
        pi: usize,
        line: &Line,
        i: usize,
        addr_text: &str,
        t: &mut BindTls,
    ) -> bool {
        let k = line.arg(i).to_string();
        let arg = line.arg(i + 1).to_string();
        let section = self.cfg.proxies[pi].kind.as_str();
        let prefix = format!("'bind {addr_text}' in section '{section}' : ");
        match k.as_str() {
            "crt" => {
                if self.opts.check_files && !arg.is_empty() {
                    let path = self.crt_path(&arg);
                    match load_crt(&path) {
                        Ok(certs) => t.crts.extend(certs.into_iter().map(|cert| CrtEntry {
                            cert,
                            filters: Vec::new(),
                            options: None,
                            origin: None,
                        })),
                        Err(e) => self.tls_file_error(line.span(i + 1), &prefix, &e),
                    }
                }
            }
            "crt-list" => {
                if self.opts.check_files && !arg.is_empty() {
                    let path = self.crt_path(&arg);
                    self.crt_list(&path, line.span(i + 1), &prefix, t);
                }
            }
            "ca-file" => {
                if self.opts.check_files && !arg.is_empty() {
                    let path = with_base(self.global_dir("ca-base").as_deref(), &arg);
                    if !self.bind_ca_refused(line, i, &prefix, &path) {
                        if let Ok(ca) = load_ca(&path) {
                            t.options.ca = Some(std::sync::Arc::new(ca));
                        }
                    }
                }
            }
            // Checked here, kept as other options (bind.rs).
            "crl-file" | "ca-verify-file" | "tls-ticket-keys" => {
                if self.opts.check_files && !arg.is_empty() {
                    if k == "tls-ticket-keys" {
                        self.bind_ticket_keys_refused(line, i, &prefix);
                    } else {
                        let path = with_base(self.global_dir("ca-base").as_deref(), &arg);
                        self.bind_ca_refused(line, i, &prefix, &path);
                    }
                }
                return false;
            }
            "verify" => match arg.as_str() {
                "none" => t.options.verify = Some(Verify::None),
                "optional" => t.options.verify = Some(Verify::Optional),
                "required" => t.options.verify = Some(Verify::Required),
                _ => self.err(
                    Code::InvalidArgument,
                    line.span(i + 1),
                    format!("`verify` takes none, optional or required, not `{arg}`"),
                    HaproxyLoc::Parsing,
                    format!("{prefix}'verify' : unknown verify method '{arg}', only 'none', 'optional', and 'required' are supported\n"),
                ),
            },
            "alpn" => {
                t.options.alpn = Some(arg.split(',').map(str::to_string).collect());
            }
            "npn" => t.refused.push((
                "`npn` (NPN is not implemented by rustls; use `alpn`)".into(),
                line.span(i),
            )),
            "ciphers" => t.options.ciphers = Some(arg),
            "ciphersuites" => t.options.ciphersuites = Some(arg),
            "curves" => t.options.curves = Some(arg),
            "strict-sni" => t.strict_sni = true,
            _ => match version_option(&mut t.options, &k, &arg) {
                Ok(handled) => return handled,
                Err(hx) => {
                    self.err(
                        Code::InvalidArgument,
                        line.span(i + 1),
                        format!("`{k}` takes SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3"),
                        HaproxyLoc::Parsing,
                        format!("{prefix}{hx}"),
                    );
                }
            },
        }
        true
    }

    fn tls_file_error(&mut self, span: Span, prefix: &str, e: &LoadError) {
        let msg = match e {
            LoadError::Missing(p) => format!("crt file `{p}` does not exist"),
            _ => format!("certificate: {e}"),
        };
        self.err(
            Code::MissingFile,
            span,
            msg,
            HaproxyLoc::Parsing,
            format!("{prefix}{e}"),
        );
    }

    /// A `crt-list` file: `<crt> [<options>] [<sni filter>...]` per line.
    fn crt_list(&mut self, path: &str, span: Span, prefix: &str, t: &mut BindTls) {
        let Ok(text) = std::fs::read_to_string(path) else {
            self.err(
                Code::MissingFile,
                span,
                format!("crt-list `{path}` cannot be read"),
                HaproxyLoc::Parsing,
                format!(
                    "{prefix}'crt-list' : cannot open file '{path}' : No such file or directory"
                ),
            );
            return;
        };
        for (n, raw) in text.lines().enumerate() {
            let l = raw.split('#').next().unwrap_or("").trim();
            if l.is_empty() {
                continue;
            }
            let (file, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let rest = rest.trim();
            let (opts_text, filters) = match rest.strip_prefix('[') {
                Some(r) => r.split_once(']').unwrap_or((r, "")),
                None => ("", rest),
            };
            let mut o = TlsOptions::default();
            let words: Vec<&str> = opts_text.split_whitespace().collect();
            let mut parsed: Vec<(&str, Option<&str>)> = Vec::new();
            let mut w = 0;
            let mut bad = None;
            while w < words.len() {
                let (k, a) = (words[w], words.get(w + 1).copied().unwrap_or(""));
                let step = match k {
                    "alpn" => {
                        o.alpn = Some(a.split(',').map(str::to_string).collect());
                        2
                    }
                    "ciphers" => {
                        o.ciphers = Some(a.to_string());
                        2
                    }
                    "ciphersuites" => {
                        o.ciphersuites = Some(a.to_string());
                        2
                    }
                    "curves" => {
                        o.curves = Some(a.to_string());
                        2
                    }
                    "verify" => {
                        o.verify = match a {
                            "none" => Some(Verify::None),
                            "optional" => Some(Verify::Optional),
                            "required" => Some(Verify::Required),
                            _ => {
                                bad = Some(format!("verify {a}"));
                                None
                            }
                        };
                        2
                    }
                    _ => match version_option(&mut o, k, a) {
                        Ok(true) if k.starts_with("ssl-m") => 2,
                        Ok(true) => 1,
                        _ => {
                            bad = Some(k.to_string());
                            1
                        }
                    },
                };
                parsed.push((k, (step == 2).then_some(a)));
                w += step;
            }
            let shown = crt_list_shown(&mut parsed, filters);
            if let Some(b) = bad {
                self.err(
                    Code::InvalidArgument,
                    span,
                    format!("crt-list `{path}` line {}: option `{b}` is not run", n + 1),
                    HaproxyLoc::Parsing,
                    format!(
                        "{prefix}'crt-list' : unknown keyword '{b}' in file '{path}' at line {}",
                        n + 1
                    ),
                );
                continue;
            }
            let cpath = self.crt_path(file);
            match load_crt(&cpath) {
                Ok(certs) => t.crts.extend(certs.into_iter().map(|cert| CrtEntry {
                    cert,
                    filters: filters.split_whitespace().map(str::to_string).collect(),
                    options: (!words.is_empty()).then(|| o.clone()),
                    origin: Some(CrtOrigin {
                        list: path.to_string(),
                        line: n as u32 + 1,
                        text: shown.clone(),
                    }),
                })),
                Err(e) => self.tls_file_error(span, prefix, &e),
            }
        }
    }

    /// After a `bind ... ssl` line: global defaults, then HAProxy's post-parse
    /// checks (worded as `haproxy -c`), then what rustls cannot do.
    pub(super) fn bind_tls_finish(
        &mut self,
        pi: usize,
        line: &Line,
        addr_text: &str,
        b: &mut Bind,
    ) {
        let defaults = self.cfg.global.ssl_default_bind.clone();
        let (file, at_line) = self.loc_at(line.file, line.line);
        b.tls.at = format!("{file}:{at_line}");
        b.tls.cache_size = self.cfg.global.tune_ssl_cachesize;
        b.tls.max_record = self.cfg.global.tune_ssl_maxrecord;
        b.tls.options.inherit(&defaults);
        let o = b.tls.options.clone();
        let pname = self.cfg.proxies[pi].name.name.clone();
        let at = format!(
            "for bind '{addr_text}' at [{}:{}]",
            self.file_marker(line.file),
            line.line
        );
        let span = line.span_from(0);
        let post = |me: &mut Self, msg: String, hx: String| {
            me.push(
                Diagnostic::error(Code::InvalidArgument, msg)
                    .at(span)
                    .hx(HaproxyLoc::None, hx),
            );
        };
        if self.opts.check_files && b.tls.crts.is_empty() && !self.had_errors_on(line) {
            post(
                self,
                "`ssl` bind without a certificate".into(),
                format!("Proxy '{pname}': no SSL certificate specified {at} (use 'crt')."),
            );
        }
        if o.verify.is_some_and(|v| v != Verify::None) && o.ca.is_none() {
            post(
                self,
                "`verify` without `ca-file`".into(),
                format!("Proxy '{pname}': verify is enabled but no CA file specified {at}."),
            );
        }
        let checks: [(&Option<String>, ListCheck, &str); 3] = [
            (
                &o.ciphers,
                |c| haproxide_tls::suites::parse_ciphers(c).map(drop),
                "SSL cipher list",
            ),
            (
                &o.ciphersuites,
                |c| haproxide_tls::suites::parse_ciphersuites(c).map(drop),
                "TLS 1.3 cipher suites",
            ),
            (
                &o.curves,
                |c| haproxide_tls::suites::parse_curves(c).map(drop),
                "SSL curves list",
            ),
        ];
        for (v, f, what) in checks {
            if let Some(c) = v {
                if let Err(e) = f(c) {
                    post(
                        self,
                        e,
                        format!("Proxy '{pname}': unable to set {what} to '{c}' {at}."),
                    );
                }
            }
        }
        if let Err(e) = o.versions() {
            b.tls.refused.push((e, span));
        }
    }

    /// Whether a diagnostic already points at this line (a missing file: HAProxy
    /// stops there).
    fn had_errors_on(&self, line: &Line) -> bool {
        let s = line.span_from(0);
        self.diags
            .iter()
            .any(|d| d.span.is_some_and(|x| x.file == s.file && x.line == s.line))
    }

    /// `ssl-default-bind-*`, `ssl-default-server-*`, `tune.ssl.*` (§3.1, §3.2);
    /// false when `kw` is none of them.
    pub(super) fn global_tls(&mut self, line: &Line, start: usize, kw: &str) -> bool {
        let arg = line.arg(start + 1).to_string();
        let (side, what) = if let Some(w) = kw.strip_prefix("ssl-default-bind-") {
            (true, w)
        } else if let Some(w) = kw.strip_prefix("ssl-default-server-") {
            (false, w)
        } else {
            match kw {
                "tune.ssl.cachesize" => self.cfg.global.tune_ssl_cachesize = atoi_u32(&arg),
                // §3.1 `ssl-server-verify`: the servers' default `verify`.
                "ssl-server-verify" => {
                    self.cfg.global.ssl_default_server.verify = match arg.as_str() {
                        "none" => Some(Verify::None),
                        _ => Some(Verify::Required),
                    }
                }
                "tune.ssl.maxrecord" => self.cfg.global.tune_ssl_maxrecord = atoi_u32(&arg),
                // cfgparse-ssl.c: atoi() into an `unsigned int`, so a
                // negative number is a large one and taken.
                "tune.ssl.default-dh-param" => {
                    let hx = if arg.is_empty() {
                        "'tune.ssl.default-dh-param' expects an integer argument."
                    } else if atoi_u32_wrapping(&arg) < 1024 {
                        "'tune.ssl.default-dh-param' expects a value >= 1024."
                    } else {
                        return true;
                    };
                    self.err(
                        Code::InvalidArgument,
                        line.span(start + 1),
                        format!("`{kw}` takes a number of bits of at least 1024"),
                        HaproxyLoc::Parsing,
                        hx,
                    );
                }
                _ => return false,
            }
            return true;
        };
        let g = &mut self.cfg.global;
        let o = if side {
            &mut g.ssl_default_bind
        } else {
            &mut g.ssl_default_server
        };
        match what {
            "ciphers" => o.ciphers = Some(arg),
            "ciphersuites" => o.ciphersuites = Some(arg),
            "curves" => o.curves = Some(arg),
            "options" => {
                if arg.is_empty() {
                    self.err(
                        Code::MissingArgument,
                        line.span(start),
                        format!("`{kw}` needs at least one option"),
                        HaproxyLoc::Parsing,
                        format!("global statement '{kw}' expects an option as an argument."),
                    );
                    return true;
                }
                let mut i = start + 1;
                while !line.arg(i).is_empty() {
                    let (k, a) = (line.arg(i).to_string(), line.arg(i + 1).to_string());
                    let o = if side {
                        &mut self.cfg.global.ssl_default_bind
                    } else {
                        &mut self.cfg.global.ssl_default_server
                    };
                    // `prefer-client-ciphers` is a listener's option only
                    // (cfgparse-ssl.c, ssl_parse_default_server_options).
                    let known = side || k != "prefer-client-ciphers";
                    match version_option(o, &k, &a) {
                        Ok(true) if k.starts_with("ssl-m") => i += 2,
                        Ok(true) if known => i += 1,
                        Ok(_) => {
                            self.err(
                                Code::InvalidArgument,
                                line.span(i),
                                format!("unknown option `{k}` for `{kw}`"),
                                HaproxyLoc::Parsing,
                                format!("unknown option '{k}' on global statement '{kw}'."),
                            );
                            return true;
                        }
                        Err(hx) => {
                            self.err(
                                Code::InvalidArgument,
                                line.span(i + 1),
                                format!("`{k}` takes SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3"),
                                HaproxyLoc::Parsing,
                                format!("'{kw}' : {hx}"),
                            );
                            return true;
                        }
                    }
                }
            }
            _ => return false,
        }
        true
    }
}

/// A `crt-list` line after its certificate as `show ssl crt-list` prints it:
/// HAProxy 2.6.12 writes the options in its own order (alpn, verify, ciphers,
/// ciphersuites, curves, ssl-min-ver, ssl-max-ver), then the filters.
fn crt_list_shown(parsed: &mut [(&str, Option<&str>)], filters: &str) -> String {
    const ORDER: [&str; 7] = [
        "alpn",
        "verify",
        "ciphers",
        "ciphersuites",
        "curves",
        "ssl-min-ver",
        "ssl-max-ver",
    ];
    parsed.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    let opts: Vec<String> = parsed
        .iter()
        .map(|(k, a)| match a {
            Some(a) => format!("{k} {a}"),
            None => k.to_string(),
        })
        .collect();
    let f = filters.split_whitespace().collect::<Vec<_>>().join(" ");
    match (opts.is_empty(), f.is_empty()) {
        (true, _) => f,
        (false, true) => format!("[{}]", opts.join(" ")),
        (false, false) => format!("[{}] {f}", opts.join(" ")),
    }
}

/// C's atoi() of a `tune.ssl.*` number (the low 32 bits of what strtol()
/// saturates to): a negative one was refused before
/// (`crate::choices::GLOBAL_RANGES`).
fn atoi_u32(s: &str) -> Option<u32> {
    // Intended truncation: C's long-to-int conversion.
    u32::try_from(value::atol(s) as i32).ok()
}

/// C's atoi() stored into an `unsigned int`.
fn atoi_u32_wrapping(s: &str) -> u32 {
    // Intended truncation and sign reinterpretation, as C's conversions.
    value::atol(s) as i32 as u32
}
