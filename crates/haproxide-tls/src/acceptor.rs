//! A TLS bind's acceptor: reads the ClientHello, chooses the certificate entry by
//! SNI (exact name, then wildcard, then the bind's first certificate unless
//! `strict-sni`), and completes the handshake with that entry's rustls config
//! (configuration.txt §5.1 `crt`, `crt-list`, `strict-sni`).

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SignatureScheme, SupportedProtocolVersion};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use crate::load::{CaBundle, CertKey};
use crate::suites::{self, Ver};
use crate::Prefixed;
use haproxide_expr::CertFacts;

/// §5.1 `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    None,
    Optional,
    Required,
}

/// The protocol options of a bind or of one `crt-list` line (§5.1). `None` fields
/// take the bind's value, then the global `ssl-default-bind-*` one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub min_ver: Option<Ver>,
    pub max_ver: Option<Ver>,
    /// `no-sslv3`, `no-tlsv10`...
    pub no_ver: Vec<Ver>,
    /// `force-tlsv12`...
    pub force_ver: Option<Ver>,
    /// `ciphers` (TLS ≤ 1.2, OpenSSL syntax; checked by [`suites::parse_ciphers`]).
    pub ciphers: Option<String>,
    /// `ciphersuites` (TLS 1.3).
    pub ciphersuites: Option<String>,
    pub curves: Option<String>,
    /// `alpn`: the protocols in preference order.
    pub alpn: Option<Vec<String>>,
    pub verify: Option<Verify>,
    pub ca: Option<Arc<CaBundle>>,
    /// `no-tls-tickets`.
    pub no_tls_tickets: bool,
    /// `prefer-client-ciphers` (default: the server's order, as HAProxy).
    pub prefer_client_ciphers: bool,
}

impl TlsOptions {
    /// Fill what is unset from `d` (a bind from the global defaults, a `crt-list`
    /// line from its bind).
    pub fn inherit(&mut self, d: &TlsOptions) {
        macro_rules! take {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = d.$f.clone(); } )* };
        }
        take!(
            min_ver,
            max_ver,
            force_ver,
            ciphers,
            ciphersuites,
            curves,
            alpn,
            verify,
            ca
        );
        for v in &d.no_ver {
            if !self.no_ver.contains(v) {
                self.no_ver.push(*v);
            }
        }
        self.no_tls_tickets |= d.no_tls_tickets;
        self.prefer_client_ciphers |= d.prefer_client_ciphers;
    }

    /// The versions offered (rustls has TLS 1.2 and 1.3 only: asking for an older
    /// one is an error, not a silent upgrade).
    pub fn versions(&self) -> Result<Vec<Ver>, String> {
        let old = |v: Ver, kw: &str| {
            format!(
                "`{kw} {}`: rustls implements TLS 1.2 and 1.3 only",
                v.name()
            )
        };
        if let Some(f) = self.force_ver {
            if f < Ver::Tls12 {
                return Err(old(f, "force"));
            }
            return Ok(vec![f]);
        }
        let lo = self.min_ver.unwrap_or(Ver::Tls12);
        if lo < Ver::Tls12 {
            return Err(old(lo, "ssl-min-ver"));
        }
        let hi = self.max_ver.unwrap_or(Ver::Tls13);
        if hi < Ver::Tls12 {
            return Err(old(hi, "ssl-max-ver"));
        }
        let v: Vec<Ver> = [Ver::Tls12, Ver::Tls13]
            .into_iter()
            .filter(|v| *v >= lo && *v <= hi && !self.no_ver.contains(v))
            .collect();
        if v.is_empty() {
            return Err("no TLS protocol version is left enabled".into());
        }
        Ok(v)
    }

    /// Every check [`Acceptor::build`] would make of these options.
    pub fn check(&self) -> Result<(), String> {
        self.versions()?;
        if let Some(c) = &self.ciphers {
            suites::parse_ciphers(c)?;
        }
        if let Some(c) = &self.ciphersuites {
            suites::parse_ciphersuites(c)?;
        }
        if let Some(c) = &self.curves {
            suites::parse_curves(c)?;
        }
        Ok(())
    }
}

/// One certificate of a bind: from a `crt` (no filters, the bind's options) or a
/// `crt-list` line (its SNI filters, its `[options]` over the bind's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrtEntry {
    pub cert: CertKey,
    /// `crt-list` filters: names (wildcards allowed) and `!name` exclusions; empty:
    /// the certificate's own names.
    pub filters: Vec<String>,
    /// `crt-list` `[...]` options (inheriting the bind's).
    pub options: Option<TlsOptions>,
    /// The `crt-list` line it came from (`show/del ssl crt-list`); None: `crt`.
    pub origin: Option<CrtOrigin>,
}

/// A `crt-list` line as the CLI shows it (management.txt §9.3 `show ssl crt-list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrtOrigin {
    /// The `crt-list` file, as named on the bind line.
    pub list: String,
    /// Its line number (from 1).
    pub line: u32,
    /// What follows the certificate on the line: `[options] filters`.
    pub text: String,
}

/// Everything a TLS bind needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindTlsSpec {
    pub entries: Vec<CrtEntry>,
    pub options: TlsOptions,
    /// `strict-sni`: no certificate matches → refuse the handshake.
    pub strict_sni: bool,
    /// `tune.ssl.cachesize` (sessions kept for resumption by session id).
    pub cache_size: usize,
    /// `tune.ssl.maxrecord` (0: rustls's default, 16 kB records).
    pub max_record: usize,
    /// Where the bind line is (`<file>:<line>`, for the CLI's messages).
    pub at: String,
}

/// A resolver that always answers one certificate.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A resolver that answers none (`strict-sni` refusal: the handshake fails with an
/// alert).
#[derive(Debug)]
struct Refuse;

impl ResolvesServerCert for Refuse {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        None
    }
}

/// A bind's certificates and SNI index at one moment (replaced whole when `commit
/// ssl cert` changes one of its files; handshakes in progress keep the one they
/// started with).
struct Inner {
    entries: Vec<CrtEntry>,
    configs: Vec<Arc<ServerConfig>>,
    keys: Vec<Arc<CertifiedKey>>,
    /// Each entry's leaf as the `ssl_f_*` fetches read it (read once, here).
    facts: Vec<Option<Arc<CertFacts>>>,
    exact: HashMap<String, Vec<usize>>,
    wild: HashMap<String, Vec<usize>>,
    /// The first certificate (none with `strict-sni`).
    default: Option<usize>,
    refuse: Arc<ServerConfig>,
}

/// What stays for the life of a bind: its options, the session cache and ticket
/// keys (kept across certificate updates), the current [`Inner`].
struct Bind {
    params: Params,
    current: RwLock<Arc<Inner>>,
}

struct Params {
    options: TlsOptions,
    strict_sni: bool,
    max_record: usize,
    at: String,
    shared: Shared,
}

/// The acceptor of one TLS bind (cheap to clone).
#[derive(Clone)]
pub struct Acceptor(Arc<Bind>);

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Acceptor({} certificates)", self.inner().configs.len())
    }
}

impl PartialEq for Acceptor {
    fn eq(&self, o: &Acceptor) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}
impl Eq for Acceptor {}

pub(crate) fn version_refs(v: &[Ver]) -> Vec<&'static SupportedProtocolVersion> {
    v.iter()
        .map(|v| match v {
            Ver::Tls13 => &rustls::version::TLS13,
            _ => &rustls::version::TLS12,
        })
        .collect()
}

struct Shared {
    cache: Arc<dyn rustls::server::StoresServerSessions>,
    tickets: Option<Arc<dyn rustls::server::ProducesTickets>>,
}

impl Params {
    /// The configurations and SNI index of `entries` with this bind's options.
    fn inner_for(&self, entries: Vec<CrtEntry>) -> Result<Inner, String> {
        if entries.is_empty() {
            return Err("no certificate (`crt` or `crt-list`) on an `ssl` bind".into());
        }
        let mut configs = Vec::new();
        let mut keys = Vec::new();
        let mut facts = Vec::new();
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut wild: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let mut o = e.options.clone().unwrap_or_default();
            o.inherit(&self.options);
            // §5.1 prefer-client-ciphers: the client's order for signature schemes too.
            let key = if o.prefer_client_ciphers {
                crate::crypto::in_client_order(&e.cert.key)
            } else {
                e.cert.key.clone()
            };
            let cfg = server_config(&o, Arc::new(Fixed(key)), &self.shared, self.max_record)
                .map_err(|m| format!("{}: {m}", e.cert.path))?;
            configs.push(Arc::new(cfg));
            keys.push(e.cert.key.clone());
            facts.push(crate::fields::facts(&e.cert.key.cert));
            let (ex, wi) = entry_names(e);
            for n in ex {
                exact.entry(n).or_default().push(i);
            }
            for n in wi {
                wild.entry(n).or_default().push(i);
            }
        }
        let refuse = server_config(&self.options, Arc::new(Refuse), &self.shared, 0)?;
        Ok(Inner {
            entries,
            configs,
            keys,
            facts,
            exact,
            wild,
            default: (!self.strict_sni).then_some(0),
            refuse: Arc::new(refuse),
        })
    }
}

fn server_config(
    o: &TlsOptions,
    resolver: Arc<dyn ResolvesServerCert>,
    shared: &Shared,
    max_record: usize,
) -> Result<ServerConfig, String> {
    let versions = o.versions()?;
    let provider = Arc::new(provider(o, &versions)?);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&version_refs(&versions))
        .map_err(|e| e.to_string())?;
    server_config_rest(o, builder, provider, resolver, shared, max_record)
}

/// The crypto provider with the suites and groups `o` selects for `versions`
/// (shared by binds and server connections).
pub(crate) fn provider(
    o: &TlsOptions,
    versions: &[Ver],
) -> Result<rustls::crypto::CryptoProvider, String> {
    let mut provider = crate::crypto::default_provider();
    let mut cs = Vec::new();
    if versions.contains(&Ver::Tls13) {
        match &o.ciphersuites {
            Some(c) => cs.extend(suites::parse_ciphersuites(c)?),
            None => cs.extend(
                provider
                    .cipher_suites
                    .iter()
                    .filter(|s| s.version() == &rustls::version::TLS13),
            ),
        }
    }
    if versions.contains(&Ver::Tls12) {
        match &o.ciphers {
            Some(c) => cs.extend(suites::parse_ciphers(c)?),
            None => cs.extend(
                provider
                    .cipher_suites
                    .iter()
                    .filter(|s| s.version() == &rustls::version::TLS12),
            ),
        }
    }
    provider.cipher_suites = cs.into_iter().map(crate::crypto::fast_hkdf).collect();
    if let Some(c) = &o.curves {
        provider.kx_groups = suites::parse_curves(c)?;
    }
    Ok(provider)
}

fn server_config_rest(
    o: &TlsOptions,
    builder: rustls::ConfigBuilder<ServerConfig, rustls::WantsVerifier>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    resolver: Arc<dyn ResolvesServerCert>,
    shared: &Shared,
    max_record: usize,
) -> Result<ServerConfig, String> {
    let verify = o.verify.unwrap_or(Verify::None);
    let builder = match (verify, &o.ca) {
        (Verify::None, _) => builder.with_no_client_auth(),
        (_, None) => return Err("verify is enabled but no CA file specified".into()),
        (v, Some(ca)) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in &ca.certs {
                roots
                    .add(c.clone())
                    .map_err(|e| format!("{}: {e}", ca.path))?;
            }
            let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let b = if v == Verify::Optional {
                b.allow_unauthenticated()
            } else {
                b
            };
            builder.with_client_cert_verifier(b.build().map_err(|e| e.to_string())?)
        }
    };
    let mut cfg = builder.with_cert_resolver(resolver);
    cfg.alpn_protocols = o
        .alpn
        .iter()
        .flatten()
        .map(|p| p.as_bytes().to_vec())
        .collect();
    cfg.ignore_client_order = !o.prefer_client_ciphers;
    cfg.session_storage = shared.cache.clone();
    if !o.no_tls_tickets {
        if let Some(t) = &shared.tickets {
            cfg.ticketer = t.clone();
        }
    }
    if max_record > 0 {
        // rustls counts the record header in the fragment size.
        cfg.max_fragment_size = Some((max_record + 5).clamp(32, 16384 + 5));
    }
    Ok(cfg)
}

/// The names an entry answers for (exact, wildcard suffixes).
fn entry_names(e: &CrtEntry) -> (Vec<String>, Vec<String>) {
    let pos: Vec<String> = e
        .filters
        .iter()
        .filter(|f| !f.starts_with('!'))
        .map(|f| f.to_ascii_lowercase())
        .collect();
    let neg: Vec<String> = e
        .filters
        .iter()
        .filter_map(|f| f.strip_prefix('!'))
        .map(str::to_ascii_lowercase)
        .collect();
    let names = if pos.is_empty() {
        e.cert.names.clone()
    } else {
        pos
    };
    let mut exact = Vec::new();
    let mut wild = Vec::new();
    for n in names.into_iter().filter(|n| !neg.contains(n)) {
        match n.strip_prefix("*.") {
            Some(s) => wild.push(s.to_string()),
            None if n != "*" => exact.push(n),
            None => {}
        }
    }
    (exact, wild)
}

impl Acceptor {
    /// Build the rustls configurations of a bind: one per certificate entry.
    pub fn build(spec: &BindTlsSpec) -> Result<Acceptor, String> {
        let params = Params {
            options: spec.options.clone(),
            strict_sni: spec.strict_sni,
            max_record: spec.max_record,
            at: spec.at.clone(),
            shared: Shared {
                cache: rustls::server::ServerSessionMemoryCache::new(spec.cache_size.max(1)),
                tickets: crate::crypto::Ticketer::new().ok(),
            },
        };
        let inner = params.inner_for(spec.entries.clone())?;
        Ok(Acceptor(Arc::new(Bind {
            params,
            current: RwLock::new(Arc::new(inner)),
        })))
    }

    fn inner(&self) -> Arc<Inner> {
        self.0
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The certificate entries in use now (`show ssl cert`'s "Used" files).
    pub fn entries(&self) -> Vec<CrtEntry> {
        self.inner().entries.clone()
    }

    /// `commit ssl cert`: every entry loaded from `path` now uses `cert` (its SNI
    /// names recomputed from the new certificate unless a `crt-list` line filters
    /// them). New handshakes use it; established connections keep theirs.
    /// Returns how many entries changed.
    pub fn replace_cert(&self, path: &str, cert: &CertKey) -> Result<usize, String> {
        let mut entries = self.entries();
        let mut n = 0;
        for e in entries.iter_mut().filter(|e| e.cert.path == path) {
            e.cert = cert.clone();
            n += 1;
        }
        if n > 0 {
            let inner = self.0.params.inner_for(entries)?;
            *self.0.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(inner);
        }
        Ok(n)
    }

    /// Where the bind line is (`<file>:<line>`).
    pub fn at(&self) -> &str {
        &self.0.params.at
    }

    /// Whether the entry of `crt-list` `list` line `line` is this bind's default
    /// certificate (its first, without `strict-sni`): it cannot be deleted.
    pub fn is_default_line(&self, list: &str, line: u32) -> bool {
        !self.0.params.strict_sni
            && self.entries().first().is_some_and(|e| {
                e.origin
                    .as_ref()
                    .is_some_and(|o| o.list == list && o.line == line)
            })
    }

    /// `del ssl crt-list`: the entries of `crt-list` `list` line `line` are
    /// removed (new handshakes no longer see them). Returns how many.
    pub fn remove_line(&self, list: &str, line: u32) -> Result<usize, String> {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|e| {
            !e.origin
                .as_ref()
                .is_some_and(|o| o.list == list && o.line == line)
        });
        let n = before - entries.len();
        if n > 0 {
            let inner = self.0.params.inner_for(entries)?;
            *self.0.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(inner);
        }
        Ok(n)
    }

    /// The entry for a ClientHello: the first of the matching entries whose key can
    /// sign with a scheme the client offers (an ECDSA and an RSA certificate for one
    /// name), else the first matching one; the default without a match.
    fn choose(i: &Inner, sni: Option<&str>, schemes: &[SignatureScheme]) -> Option<usize> {
        let pick = |v: &Vec<usize>| {
            v.iter()
                .copied()
                .find(|&k| i.keys[k].key.choose_scheme(schemes).is_some())
                .or_else(|| v.first().copied())
        };
        if let Some(name) = sni.map(str::to_ascii_lowercase) {
            if let Some(v) = i.exact.get(&name) {
                return pick(v);
            }
            if let Some((_, rest)) = name.split_once('.') {
                if let Some(v) = i.wild.get(rest) {
                    return pick(v);
                }
            }
        }
        i.default
    }

    /// Run the server side of a handshake on `io`. TLS 1.3 session tickets are
    /// held back in `io` until the first write after the handshake (see
    /// [`Prefixed`]); an alert written by a failed handshake is sent before the
    /// error is returned.
    pub async fn accept<IO>(
        &self,
        mut io: Prefixed<IO>,
    ) -> io::Result<(TlsStream<Prefixed<IO>>, TlsInfo)>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        io.hold_tickets();
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io).await?;
        let (cfg, sni, frontend) = {
            let hello = start.client_hello();
            let sni = hello.server_name().map(str::to_string);
            let inner = self.inner();
            match Acceptor::choose(&inner, sni.as_deref(), hello.signature_schemes()) {
                Some(k) => (
                    inner.configs[k].clone(),
                    sni,
                    inner.facts.get(k).cloned().flatten(),
                ),
                None => (inner.refuse.clone(), sni, None),
            }
        };
        let mut stream = match start.into_stream(cfg).into_fallible().await {
            Ok(s) => s,
            Err((e, mut io)) => {
                let _ = std::future::poll_fn(|cx| io.poll_release(cx)).await;
                return Err(e);
            }
        };
        stream.get_mut().0.handshake_done();
        let conn = stream.get_ref().1;
        let info = TlsInfo {
            sni,
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            version: match conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                _ => "TLSv1.2",
            },
            cipher: conn
                .negotiated_cipher_suite()
                .map_or("", suites::openssl_name),
            client: conn.peer_certificates().and_then(crate::fields::facts),
            frontend,
        };
        Ok((stream, info))
    }
}

/// What a handshake settled (the `ssl_fc_*` / `ssl_c_*` fetches, §7.3.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// The SNI the client sent.
    pub sni: Option<String>,
    pub alpn: Option<Vec<u8>>,
    /// `TLSv1.2` / `TLSv1.3`.
    pub version: &'static str,
    /// OpenSSL's name of the suite.
    pub cipher: &'static str,
    /// The certificate the client presented (it was verified, or the handshake
    /// would have failed).
    pub client: Option<Arc<CertFacts>>,
    /// The certificate this bind presented.
    pub frontend: Option<Arc<CertFacts>>,
}
