//! TLS for haproxide, on rustls with the aws-lc-rs provider (docs/tls.md says why).
//!
//! - [`crypto`]: the crypto provider (aws-lc-rs), named in this one place;
//! - [`load`]: certificate files as HAProxy reads them (`crt`, `ca-file`), checked
//!   when the configuration is read;
//! - [`suites`]: OpenSSL's cipher, group and version names mapped onto rustls;
//! - [`acceptor`]: a bind's acceptor choosing the certificate by SNI;
//! - [`connector`]: the client side, for `server ... ssl` and `check-ssl`;
//! - [`store`]: the certificate files of a running process, changed by the CLI
//!   (`set/commit ssl cert`), [`certinfo`] what `show ssl cert` prints of them;
//! - [`fields`]: a certificate's fields for the `ssl_c_*` / `ssl_f_*` fetches;
//! - [`ocsp`]: OCSP responses stapled from `<crt>.ocsp`;
//! - [`Prefixed`]: bytes read before the handshake (after a PROXY header) given back
//!   to it; the TLS 1.3 session tickets held until the first write after it.
//!
//! The config crate types the keywords and loads the files into a
//! [`BindTlsSpec`]; the engine only calls [`Acceptor::accept`].

#![forbid(unsafe_code)]

pub mod acceptor;
pub mod certinfo;
pub mod connector;
pub mod crypto;
mod der;
pub mod fields;
mod hkdf;
pub mod load;
pub mod ocsp;
mod prefixed;
pub mod store;
pub mod suites;

pub use acceptor::{Acceptor, BindTlsSpec, CrtEntry, CrtOrigin, TlsInfo, TlsOptions, Verify};
pub use connector::{Connector, ServerTlsSpec};
pub use load::{load_ca, load_crt, CaBundle, CertKey, LoadError};
pub use prefixed::Prefixed;
pub use store::CertStore;
pub use suites::Ver;
pub use tokio_rustls::client::TlsStream as ClientTlsStream;
pub use tokio_rustls::server::TlsStream;
