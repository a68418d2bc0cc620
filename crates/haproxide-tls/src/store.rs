//! The certificates of a running process, changed without a reload (management.txt
//! §9.3 `new ssl cert`, `set ssl cert`, `commit ssl cert`, `abort ssl cert`,
//! `show ssl cert`): HAProxy's "ckch store" with its single transaction.
//!
//! Every file a TLS bind loaded is an entry, used by the binds ([`Acceptor`]s)
//! that loaded it. `set ssl cert` prepares a copy (the transaction, one at a time
//! for the whole process); `commit` checks it (a certificate and a matching key)
//! and gives it to every bind using the file: new handshakes get the new
//! certificate, established connections keep theirs. Errors are data: each
//! [`StoreError`] prints HAProxy 2.6.12's text.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rustls::pki_types::CertificateDer;
use rustls::sign::{CertifiedKey, SigningKey};

use crate::acceptor::Acceptor;
use crate::certinfo::{self, CertDetails};
use crate::load::CertKey;

/// A certificate file's contents: chain (leaf first), key, OCSP response.
#[derive(Clone, Default)]
struct Data {
    chain: Vec<CertificateDer<'static>>,
    key: Option<Arc<dyn SigningKey>>,
    /// The DER OCSP response stapled to handshakes (`<crt>.ocsp`).
    ocsp: Option<Vec<u8>>,
}

impl Data {
    fn of(c: &CertKey) -> Data {
        Data {
            chain: c.key.cert.clone(),
            key: Some(c.key.key.clone()),
            ocsp: c.key.ocsp.clone(),
        }
    }
}

struct File {
    /// None: created by `new ssl cert` and never committed ("Empty").
    data: Option<Data>,
}

#[derive(Default)]
struct State {
    files: BTreeMap<String, File>,
    /// The ongoing transaction: the file's name and its new contents.
    tx: Option<(String, Data)>,
}

/// Which part of a file a `set ssl cert <name>` replaces, from `<name>`'s
/// extension (as HAProxy: `.key`, `.ocsp`, `.issuer`, `.sctl`; else the PEM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Pem,
    Key,
    Ocsp,
    Issuer,
    Sctl,
}

fn split_part(name: &str) -> (&str, Part) {
    for (ext, part) in [
        (".key", Part::Key),
        (".ocsp", Part::Ocsp),
        (".issuer", Part::Issuer),
        (".sctl", Part::Sctl),
    ] {
        if let Some(base) = name.strip_suffix(ext) {
            return (base, part);
        }
    }
    (name, Part::Pem)
}

/// Why a certificate command failed; `Display` is HAProxy 2.6.12's line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("Can't replace a certificate which is not referenced by the configuration!")]
    NotReferenced,
    #[error("The ongoing transaction is about '{ongoing}' but you are trying to set '{asked}'")]
    OtherTransaction { ongoing: String, asked: String },
    #[error(
        "The ongoing transaction is about '{ongoing}' but you are trying to abort a transaction for '{asked}'"
    )]
    AbortOther { ongoing: String, asked: String },
    /// `commit` without a transaction (HAProxy prints the doubled `!`).
    #[error("No ongoing transaction! !")]
    NoTransactionCommit,
    #[error("No ongoing transaction!")]
    NoTransaction,
    #[error("unable to load certificate from file '{0}'.\nCan't load the payload")]
    NoCertificate(String),
    #[error("unable to load private key from file '{0}'.\nCan't load the payload")]
    NoKey(String),
    #[error("'{0}' is not a valid base64 OCSP response.\nCan't load the payload")]
    BadOcsp(String),
    #[error("updating a '.{0}' file is not supported by haproxide\nCan't load the payload")]
    Unsupported(&'static str),
    #[error("The transaction must contain at least a certificate and a private key!")]
    Incomplete,
    #[error("inconsistencies between private key and certificate loaded '{0}'.")]
    KeyMismatch(String),
    #[error("Certificate '{0}' already exists!")]
    Exists(String),
    /// `del ssl cert` of a file no bind loaded and `new ssl cert` did not create.
    #[error("certificate '{0}' doesn't exist!")]
    NoSuchCert(String),
    /// `del ssl cert` of a file a bind uses.
    #[error("certificate '{0}' in use, can't be deleted!")]
    InUse(String),
    /// A bind could not be rebuilt with the new certificate.
    #[error("{0}")]
    Bind(String),
}

/// Why `del ssl crt-list` failed; `Display` is HAProxy 2.6.12's text (after
/// "Can't delete the entry: ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrtListError {
    #[error("crt-list '{0}' does not exist!")]
    NoList(String),
    #[error("certificate '{0}' does not exist!")]
    NoCert(String),
    /// haproxide's words: a known certificate on no line of this list.
    #[error("certificate '{crt}' is not in crt-list '{list}'!")]
    NotInList { crt: String, list: String },
    #[error("found the certificate '{crt}' in several entries, please specify a line number preceded by colons ({lines})!")]
    Several { crt: String, lines: String },
    #[error("found a certificate '{crt}' but the line number is incorrect, please specify a correct line number preceded by colons ({lines})!")]
    BadLine { crt: String, lines: String },
    #[error("certificate '{crt}' cannot be deleted, it is used as default certificate by the following frontends:\n{binds}")]
    Default { crt: String, binds: String },
    #[error("{0}")]
    Bind(String),
}

/// Why `set ssl ocsp-response` failed; `Display` is HAProxy 2.6.12's line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcspError {
    #[error("Unable to parse OCSP response.")]
    Parse,
    #[error("OCSP single response: Certificate ID does not match any certificate or issuer.")]
    NoMatch,
    #[error("{0}")]
    Bind(String),
}

/// What `set ssl cert` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    /// "Transaction created for certificate <file>!"
    Created,
    /// "Transaction updated for certificate <file>!"
    Updated,
}

/// `show ssl cert`'s `Status:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No certificate yet (`new ssl cert`).
    Empty,
    /// Loaded by at least one bind.
    Used,
    /// Loaded by none (a transaction, a file only created at run time).
    Unused,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Empty => "Empty",
            Status::Used => "Used",
            Status::Unused => "Unused",
        }
    }
}

/// `show ssl cert <file>`: one file (or the transaction, `*<file>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// As asked (`*` kept for the transaction).
    pub name: String,
    pub status: Status,
    /// The leaf certificate (None when empty or unreadable).
    pub leaf: Option<CertDetails>,
    /// (subject, issuer) of each chain certificate after the leaf.
    pub chain: Vec<(String, String)>,
    /// The attached OCSP response's CertID (HAProxy's "OCSP Response Key"), hex.
    pub ocsp_key: Option<String>,
}

/// `show ssl cert`: the transaction's file (if any) and every file, in name order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    pub transaction: Option<String>,
    pub files: Vec<String>,
}

/// The process's certificate files and the binds using them.
pub struct CertStore {
    binds: Vec<Acceptor>,
    state: Mutex<State>,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertStore({} binds)", self.binds.len())
    }
}

impl CertStore {
    /// The store of a configuration: every certificate file of these binds.
    pub fn new(binds: Vec<Acceptor>) -> CertStore {
        let mut st = State::default();
        for b in &binds {
            for e in b.entries() {
                st.files.entry(e.cert.path.clone()).or_insert_with(|| File {
                    data: Some(Data::of(&e.cert)),
                });
            }
        }
        CertStore {
            binds,
            state: Mutex::new(st),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many bind certificate entries load `path` (HAProxy's instances).
    fn instances(&self, path: &str) -> usize {
        self.binds
            .iter()
            .map(|b| b.entries().iter().filter(|e| e.cert.path == path).count())
            .sum()
    }

    /// `show ssl cert`.
    pub fn list(&self) -> Listing {
        let st = self.lock();
        Listing {
            transaction: st.tx.as_ref().map(|(p, _)| p.clone()),
            files: st.files.keys().cloned().collect(),
        }
    }

    /// `show ssl cert <file>` (`*<file>`: the transaction); None: no such file.
    pub fn show(&self, name: &str) -> Option<Shown> {
        let st = self.lock();
        let (data, status) = match name.strip_prefix('*') {
            Some(p) => match &st.tx {
                Some((tp, d)) if tp == p => (Some(d.clone()), Status::Unused),
                _ => return None,
            },
            None => {
                let f = st.files.get(name)?;
                let status = match (&f.data, self.instances(name)) {
                    (None, _) => Status::Empty,
                    (Some(_), 0) => Status::Unused,
                    _ => Status::Used,
                };
                (f.data.clone(), status)
            }
        };
        let status = if data.as_ref().is_none_or(|d| d.chain.is_empty()) {
            Status::Empty
        } else {
            status
        };
        let data = data.unwrap_or_default();
        Some(Shown {
            name: name.to_string(),
            status,
            leaf: data.chain.first().and_then(certinfo::details),
            chain: data
                .chain
                .iter()
                .skip(1)
                .filter_map(certinfo::subject_issuer)
                .collect(),
            ocsp_key: data
                .ocsp
                .as_deref()
                .and_then(crate::ocsp::cert_id)
                .map(|c| c.key()),
        })
    }

    /// `new ssl cert <file>`: an empty entry.
    pub fn new_cert(&self, path: &str) -> Result<(), StoreError> {
        let mut st = self.lock();
        if st.files.contains_key(path) {
            return Err(StoreError::Exists(path.to_string()));
        }
        st.files.insert(path.to_string(), File { data: None });
        Ok(())
    }

    /// `del ssl cert <file>`: forget a file no bind uses (one `new ssl cert`
    /// created, or one every bind stopped using).
    pub fn delete(&self, path: &str) -> Result<(), StoreError> {
        let mut st = self.lock();
        if !st.files.contains_key(path) {
            return Err(StoreError::NoSuchCert(path.to_string()));
        }
        if self.instances(path) > 0 {
            return Err(StoreError::InUse(path.to_string()));
        }
        st.files.remove(path);
        Ok(())
    }

    /// `set ssl cert <name> <payload>`: start or update the transaction. `<name>`
    /// ending in `.key` replaces the key only, `.ocsp` the OCSP response (base64
    /// of the DER); otherwise the payload is a PEM with the chain and (usually) the
    /// key, replacing all of it.
    pub fn set(&self, name: &str, payload: &str) -> Result<SetOutcome, StoreError> {
        let (path, part) = split_part(name);
        let mut st = self.lock();
        let base = match &st.tx {
            Some((tp, d)) if tp == path => d.clone(),
            Some((tp, _)) => {
                return Err(StoreError::OtherTransaction {
                    ongoing: tp.clone(),
                    asked: path.to_string(),
                })
            }
            None => match st.files.get(path) {
                Some(f) => f.data.clone().unwrap_or_default(),
                None => return Err(StoreError::NotReferenced),
            },
        };
        let data = load_part(base, path, part, payload)?;
        let created = st.tx.is_none();
        st.tx = Some((path.to_string(), data));
        Ok(if created {
            SetOutcome::Created
        } else {
            SetOutcome::Updated
        })
    }

    /// `commit ssl cert <file>`: check the transaction and give it to every bind
    /// using the file. Returns how many bind entries now use it.
    pub fn commit(&self, path: &str) -> Result<usize, StoreError> {
        let mut st = self.lock();
        let data = match &st.tx {
            None => return Err(StoreError::NoTransactionCommit),
            Some((tp, _)) if tp != path => {
                return Err(StoreError::OtherTransaction {
                    ongoing: tp.clone(),
                    asked: path.to_string(),
                })
            }
            Some((_, d)) => d.clone(),
        };
        let Some(key) = data.key.clone().filter(|_| !data.chain.is_empty()) else {
            return Err(StoreError::Incomplete);
        };
        if !certinfo::key_matches(&data.chain[0], key.as_ref()) {
            return Err(StoreError::KeyMismatch(path.to_string()));
        }
        let mut ck = CertifiedKey::new(data.chain.clone(), key);
        ck.ocsp = data.ocsp.clone();
        let cert = CertKey {
            path: path.to_string(),
            names: crate::load::cert_names(&data.chain[0]),
            key: Arc::new(ck),
        };
        let mut n = 0;
        for b in &self.binds {
            n += b.replace_cert(path, &cert).map_err(StoreError::Bind)?;
        }
        st.files.insert(path.to_string(), File { data: Some(data) });
        st.tx = None;
        Ok(n)
    }

    /// `show ssl ocsp-response`: the ids of the OCSP responses in use, in order.
    pub fn ocsp_ids(&self) -> Vec<crate::ocsp::CertId> {
        let st = self.lock();
        let mut ids: Vec<_> = st
            .files
            .values()
            .filter_map(|f| f.data.as_ref()?.ocsp.as_deref())
            .filter_map(crate::ocsp::cert_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// `set ssl ocsp-response`: `der` replaces the response with the same
    /// certificate id (files loaded with a `<crt>.ocsp`); the binds staple it to
    /// new handshakes.
    pub fn set_ocsp(&self, der: &[u8]) -> Result<(), OcspError> {
        let id = crate::ocsp::cert_id(der).ok_or(OcspError::Parse)?;
        crate::ocsp::check(der).map_err(|_| OcspError::Parse)?;
        let mut st = self.lock();
        let paths: Vec<String> = st
            .files
            .iter()
            .filter(|(_, f)| {
                f.data
                    .as_ref()
                    .and_then(|d| d.ocsp.as_deref())
                    .and_then(crate::ocsp::cert_id)
                    .is_some_and(|c| c.der == id.der)
            })
            .map(|(p, _)| p.clone())
            .collect();
        if paths.is_empty() {
            return Err(OcspError::NoMatch);
        }
        for p in paths {
            for b in &self.binds {
                let Some(e) = b.entries().into_iter().find(|e| e.cert.path == p) else {
                    continue;
                };
                let mut ck = (*e.cert.key).clone();
                ck.ocsp = Some(der.to_vec());
                let cert = CertKey {
                    key: Arc::new(ck),
                    ..e.cert
                };
                b.replace_cert(&p, &cert).map_err(OcspError::Bind)?;
            }
            if let Some(d) = st.files.get_mut(&p).and_then(|f| f.data.as_mut()) {
                d.ocsp = Some(der.to_vec());
            }
        }
        Ok(())
    }

    /// The lines of `crt-list` `list` as the binds use them now: (certificate,
    /// origin), one per line, in line order; None: no bind loaded that list.
    fn list_lines(&self, list: &str) -> Option<Vec<(String, crate::CrtOrigin)>> {
        let mut found = false;
        let mut lines: Vec<(String, crate::CrtOrigin)> = Vec::new();
        for b in &self.binds {
            for e in b.entries() {
                let Some(o) = e.origin.filter(|o| o.list == list) else {
                    continue;
                };
                found = true;
                if !lines.iter().any(|(_, l)| l.line == o.line) {
                    lines.push((e.cert.path.clone(), o));
                }
            }
        }
        lines.sort_by_key(|(_, o)| o.line);
        found.then_some(lines)
    }

    /// `show ssl crt-list`: the `crt-list` files the binds loaded, in name order.
    pub fn crt_lists(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .binds
            .iter()
            .flat_map(|b| b.entries())
            .filter_map(|e| e.origin.map(|o| o.list))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// `show ssl crt-list [-n] <list>`: HAProxy's dump (`numbered`: each
    /// certificate followed by `:<line>`); None: no such list.
    pub fn show_crt_list(&self, list: &str, numbered: bool) -> Option<String> {
        let lines = self.list_lines(list)?;
        let mut out = format!("# {list}\n");
        for (crt, o) in lines {
            out.push_str(&crt);
            if numbered {
                out.push_str(&format!(":{}", o.line));
            }
            if !o.text.is_empty() {
                out.push(' ');
                out.push_str(&o.text);
            }
            out.push('\n');
        }
        Some(out)
    }

    /// `del ssl crt-list <list> <crt>[:<line>]`: the line leaves every bind that
    /// loaded the list (not a bind's default certificate: its first, without
    /// `strict-sni`); the certificate stays in the store.
    pub fn del_crt_list(&self, list: &str, spec: &str) -> Result<(), CrtListError> {
        let (crt, line) = match spec.rsplit_once(':') {
            Some((c, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                (c, n.parse::<u32>().ok())
            }
            _ => (spec, None),
        };
        let lines = self
            .list_lines(list)
            .ok_or_else(|| CrtListError::NoList(list.to_string()))?;
        if !self.lock().files.contains_key(crt) {
            return Err(CrtListError::NoCert(crt.to_string()));
        }
        let mine: Vec<u32> = lines
            .iter()
            .filter(|(c, _)| c == crt)
            .map(|(_, o)| o.line)
            .collect();
        let numbers = || {
            mine.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let target = match (line, mine.as_slice()) {
            (_, []) => {
                return Err(CrtListError::NotInList {
                    crt: crt.to_string(),
                    list: list.to_string(),
                })
            }
            (None, [one]) => *one,
            (None, _) => {
                return Err(CrtListError::Several {
                    crt: crt.to_string(),
                    lines: numbers(),
                })
            }
            (Some(n), _) if mine.contains(&n) => n,
            (Some(_), _) => {
                return Err(CrtListError::BadLine {
                    crt: crt.to_string(),
                    lines: numbers(),
                })
            }
        };
        let defaults: Vec<&Acceptor> = self
            .binds
            .iter()
            .filter(|b| b.is_default_line(list, target))
            .collect();
        if !defaults.is_empty() {
            return Err(CrtListError::Default {
                crt: crt.to_string(),
                binds: defaults
                    .iter()
                    .map(|b| format!("\t- {}\n", b.at()))
                    .collect(),
            });
        }
        for b in &self.binds {
            b.remove_line(list, target).map_err(CrtListError::Bind)?;
        }
        Ok(())
    }

    /// `abort ssl cert <file>`.
    pub fn abort(&self, path: &str) -> Result<(), StoreError> {
        let mut st = self.lock();
        match &st.tx {
            None => Err(StoreError::NoTransaction),
            Some((tp, _)) if tp != path => Err(StoreError::AbortOther {
                ongoing: tp.clone(),
                asked: path.to_string(),
            }),
            Some(_) => {
                st.tx = None;
                Ok(())
            }
        }
    }
}

/// The transaction's new contents: `base` with `part` replaced from `payload`.
fn load_part(mut base: Data, path: &str, part: Part, payload: &str) -> Result<Data, StoreError> {
    let provider = crate::crypto::default_provider();
    let key_of = |k| provider.key_provider.load_private_key(k).ok();
    match part {
        Part::Pem => {
            let (chain, key) = crate::load::pem_items(payload.as_bytes());
            if chain.is_empty() {
                return Err(StoreError::NoCertificate(path.to_string()));
            }
            Ok(Data {
                chain,
                key: key.and_then(key_of),
                ocsp: None,
            })
        }
        Part::Key => {
            let key = crate::load::pem_items(payload.as_bytes())
                .1
                .and_then(key_of)
                .ok_or_else(|| StoreError::NoKey(format!("{path}.key")))?;
            base.key = Some(key);
            Ok(base)
        }
        Part::Ocsp => {
            let der = crate::ocsp::decode_base64(payload)
                .ok_or_else(|| StoreError::BadOcsp(format!("{path}.ocsp")))?;
            base.ocsp = (!der.is_empty()).then_some(der);
            Ok(base)
        }
        Part::Issuer => Err(StoreError::Unsupported("issuer")),
        Part::Sctl => Err(StoreError::Unsupported("sctl")),
    }
}
