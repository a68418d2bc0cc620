//! Certificates at run time (management.txt §9.3): `show ssl cert [<file>]`,
//! `new ssl cert <file>`, `set ssl cert <file> <payload>`, `commit ssl cert
//! <file>`, `abort ssl cert <file>`, `del ssl cert <file>`, with HAProxy 2.6.12's levels and answers
//! (measured: `show` needs operator — a user gets HAProxy's "Can't allocate
//! memory!" — the others admin). The store itself is `haproxide_tls::store`.

use haproxide_tls::store::{CertStore, SetOutcome, Shown};

use super::Level;

const DENIED: &str = "Permission denied\n";

/// The process's store, or an empty one kept in `slot` (a process without TLS
/// binds: every file is unknown, as in HAProxy).
fn store_or_empty<'a>(
    store: Option<&'a CertStore>,
    slot: &'a mut Option<CertStore>,
) -> &'a CertStore {
    match store {
        Some(s) => s,
        None => slot.insert(CertStore::new(Vec::new())),
    }
}

/// One `<verb> ssl cert ...` command; `store` None: a process without TLS binds
/// (every file is unknown, as in HAProxy).
pub fn cert_command(
    store: Option<&CertStore>,
    level: Level,
    verb: &str,
    args: &[&str],
    payload: Option<String>,
) -> String {
    let mut empty = None;
    let store = store_or_empty(store, &mut empty);
    let name = args.first().copied();
    match verb {
        "show" if level < Level::Operator => "Can't allocate memory!\n".into(),
        "show" => match name {
            None => list(store),
            Some(n) => match store.show(n) {
                Some(s) => details(&s),
                None => {
                    "Can't display the certificate: Not found or the certificate is a bundle!\n"
                        .into()
                }
            },
        },
        _ if level < Level::Admin => DENIED.into(),
        "new" => match name {
            None => "'new ssl cert' expects a filename\n".into(),
            Some(n) => match store.new_cert(n) {
                Ok(()) => format!("New empty certificate store '{n}'!\n"),
                Err(e) => format!("{e}\n"),
            },
        },
        "set" => match (name, payload) {
            (Some(n), Some(p)) => match store.set(n, &p) {
                Ok(o) => format!(
                    "Transaction {} for certificate {}!\n",
                    match o {
                        SetOutcome::Created => "created",
                        SetOutcome::Updated => "updated",
                    },
                    store.list().transaction.unwrap_or_default()
                ),
                Err(e) => format!("{e}\nCan't update {n}!\n"),
            },
            _ => "'set ssl cert expects a filename and a certificate as a payload\n".into(),
        },
        "commit" => match name {
            None => "'commit ssl cert expects a filename\n".into(),
            Some(n) => match store.commit(n) {
                Ok(k) => format!("Committing {n}{}\nSuccess!\n", ".".repeat(k)),
                Err(e) => format!("{e}\nCan't commit {n}!\n"),
            },
        },
        "del" => match name {
            None => "'del ssl cert' expects a certificate name\n".into(),
            Some(n) => match store.delete(n) {
                Ok(()) => format!("Certificate '{n}' deleted!\n"),
                // HAProxy's reason ends with a newline of its own, then one more.
                Err(e) => format!("Can't remove the certificate: {e}\n\n"),
            },
        },
        _ => match name {
            None => "'abort ssl cert' expects a filename\n".into(),
            Some(n) => match store.abort(n) {
                Ok(()) => format!("Transaction aborted for certificate '{n}'!\n"),
                Err(e) => format!("{e}\n"),
            },
        },
    }
}

/// `show ssl crt-list [-n] [<list>]` and `del ssl crt-list <list> <crt>[:<line>]`
/// (management.txt §9.3), admin level only as in HAProxy 2.6.12 (measured:
/// operator and user sockets get "Permission denied").
pub fn crt_list_command(
    store: Option<&CertStore>,
    level: Level,
    verb: &str,
    args: &[&str],
) -> String {
    if level < Level::Admin {
        return DENIED.into();
    }
    let mut empty = None;
    let store = store_or_empty(store, &mut empty);
    if verb == "del" {
        return match args {
            [list, crt, ..] => match store.del_crt_list(list, crt) {
                Ok(()) => format!("Entry '{}' deleted in crtlist '{list}'!\n", crt_name(crt)),
                Err(e) => format!("Can't delete the entry: {e}\n"),
            },
            _ => "'del ssl crtlist' expects a filename and a certificate name\n".into(),
        };
    }
    let (numbered, name) = match args {
        ["-n", rest @ ..] => (true, rest.first()),
        _ => (false, args.first()),
    };
    match name {
        None if numbered => "'show ssl crt-list -n' expects a filename or a directory\n".into(),
        None => store.crt_lists().iter().map(|l| format!("{l}\n")).collect(),
        Some(n) => store
            .show_crt_list(n, numbered)
            .unwrap_or_else(|| "didn't find the specified filename\n".into()),
    }
}

/// `<crt>` of `<crt>[:<line>]`.
fn crt_name(spec: &str) -> &str {
    match spec.rsplit_once(':') {
        Some((c, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => c,
        _ => spec,
    }
}

/// `show ssl ocsp-response` (any level) and `set ssl ocsp-response <base64>|<<`
/// (admin: HAProxy 2.6.12 lets even a `level user` socket replace a stapled
/// response; haproxide does not, docs/tls.md).
pub fn ocsp_command(
    store: Option<&CertStore>,
    level: Level,
    verb: &str,
    args: &[&str],
    payload: Option<String>,
) -> String {
    let mut empty = None;
    let store = store_or_empty(store, &mut empty);
    if verb == "show" {
        let ids = store.ocsp_ids();
        return match args.first() {
            None => {
                let mut out = String::from("# Certificate IDs\n");
                for id in ids {
                    out.push_str(&id.describe());
                }
                out
            }
            Some(k) => match ids.iter().find(|id| id.key() == *k) {
                Some(id) => format!(
                    "{}(haproxide prints the certificate id, not the response's contents)\n",
                    id.describe()
                ),
                None => "Certificate ID does not match any certificate.\n".into(),
            },
        };
    }
    if level < Level::Admin {
        return DENIED.into();
    }
    let b64 = match (payload, args.first()) {
        (Some(p), _) => p,
        (None, Some(a)) => (*a).to_string(),
        (None, None) => {
            return "'set ssl ocsp-response' expects response in base64 encoding.\n".into()
        }
    };
    let Some(der) = haproxide_tls::ocsp::decode_base64(&b64) else {
        return "'set ssl ocsp-response' received invalid base64 encoded response.\n".into();
    };
    match store.set_ocsp(&der) {
        Ok(()) => "OCSP Response updated!\n".into(),
        Err(e) => format!("{e}\n"),
    }
}

fn list(store: &CertStore) -> String {
    let l = store.list();
    let mut out = String::new();
    if let Some(t) = l.transaction {
        out.push_str(&format!("# transaction\n*{t}\n"));
    }
    out.push_str("# filename\n");
    for f in l.files {
        out.push_str(&f);
        out.push('\n');
    }
    out
}

fn details(s: &Shown) -> String {
    let mut out = format!("Filename: {}\nStatus: {}\n", s.name, s.status.name());
    if let Some(c) = &s.leaf {
        out.push_str(&format!(
            "Serial: {}\nnotBefore: {}\nnotAfter: {}\nSubject Alternative Name: {}\n\
             Algorithm: {}\nSHA1 FingerPrint: {}\nSubject: {}\nIssuer: {}\n",
            c.serial, c.not_before, c.not_after, c.san, c.algorithm, c.sha1, c.subject, c.issuer
        ));
    }
    for (subject, issuer) in &s.chain {
        out.push_str(&format!(
            "Chain Subject: {subject}\nChain Issuer: {issuer}\n"
        ));
    }
    out.push_str(&format!(
        "OCSP Response Key: {}\n",
        s.ocsp_key.as_deref().unwrap_or("")
    ));
    out
}
