//! The HTTP-mode options of a proxy, typed (configuration.txt §4.2): the
//! connection mode (`option http-keep-alive`, `http-server-close`, `httpclose`),
//! `option forwardfor [except <net>] [header <name>] [if-none]`, `option
//! originalto [except <net>] [header <name>]`, `option accept-invalid-http-request`
//! / `-response`, `option http-ignore-probes`. The engine never sees the words.

use std::net::IpAddr;

use crate::model::{Proxy, ProxyOption};
use crate::source::Span;

/// §4 "HTTP connection modes": the last of the three options in a proxy wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ConnMode {
    #[default]
    KeepAlive,
    ServerClose,
    Close,
}

/// `option forwardfor` / `option originalto` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrHeader {
    /// The header name (default `X-Forwarded-For` / `X-Original-To`).
    pub header: String,
    /// `except <network>`: address and prefix length.
    pub except: Option<(IpAddr, u8)>,
    /// `if-none` (forwardfor only).
    pub if_none: bool,
}

/// A bad argument: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptError {
    pub span: Span,
    pub message: String,
}

/// The connection mode the proxy's own options (defaults first) select.
pub fn conn_mode(p: &Proxy) -> ConnMode {
    let mut mode = ConnMode::KeepAlive;
    for o in &p.options {
        let m = match o.name.name.as_str() {
            "http-keep-alive" => ConnMode::KeepAlive,
            "http-server-close" => ConnMode::ServerClose,
            "httpclose" => ConnMode::Close,
            _ => continue,
        };
        mode = if o.negated { ConnMode::KeepAlive } else { m };
    }
    mode
}

fn last<'a>(p: &'a Proxy, name: &str) -> Option<&'a ProxyOption> {
    p.options.iter().rev().find(|o| o.name.name == name)
}

/// `<ip>[/<len>]` or `<ip>/<mask>`.
fn network(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (s, None),
    };
    let ip: IpAddr = ip.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            Ok(_) => return None,
            Err(_) => {
                let m: std::net::Ipv4Addr = l.parse().ok()?;
                let bits = u32::from(m);
                if bits.leading_ones() + bits.trailing_zeros() != 32 {
                    return None;
                }
                bits.leading_ones() as u8
            }
        },
    };
    Some((ip, len))
}

fn addr_header(o: &ProxyOption, default: &str, if_none_ok: bool) -> Result<AddrHeader, OptError> {
    let err = |message: String| OptError {
        span: o.name.span,
        message,
    };
    let mut h = AddrHeader {
        header: default.to_string(),
        except: None,
        if_none: false,
    };
    let mut it = o.args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "except" => {
                let v = it
                    .next()
                    .ok_or_else(|| err("'except' needs a network".into()))?;
                h.except = Some(network(v).ok_or_else(|| err(format!("invalid network '{v}'")))?);
            }
            "header" => {
                let v = it
                    .next()
                    .ok_or_else(|| err("'header' needs a name".into()))?;
                h.header = v.clone();
            }
            "if-none" if if_none_ok => h.if_none = true,
            other => return Err(err(format!("unknown argument '{other}'"))),
        }
    }
    Ok(h)
}

/// `option forwardfor` (the last line, unless negated).
pub fn forwardfor(p: &Proxy) -> Result<Option<AddrHeader>, OptError> {
    match last(p, "forwardfor") {
        Some(o) if !o.negated => addr_header(o, "X-Forwarded-For", true).map(Some),
        _ => Ok(None),
    }
}

/// `option originalto`.
pub fn originalto(p: &Proxy) -> Result<Option<AddrHeader>, OptError> {
    match last(p, "originalto") {
        Some(o) if !o.negated => addr_header(o, "X-Original-To", false).map(Some),
        _ => Ok(None),
    }
}

pub use haproxide_http::hdrnames::HdrNamePolicy;

/// `option http-restrict-req-hdr-names preserve|delete|reject` (the last line;
/// `preserve` when absent).
pub fn restrict_req_hdr_names(p: &Proxy) -> Result<HdrNamePolicy, OptError> {
    let Some(o) = last(p, "http-restrict-req-hdr-names") else {
        return Ok(HdrNamePolicy::Preserve);
    };
    let err = |message: String| OptError {
        span: o.name.span,
        message,
    };
    if o.negated {
        return Err(err(
            "`no option http-restrict-req-hdr-names` is not valid (HAProxy refuses it)".into(),
        ));
    }
    match o.args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["preserve"] => Ok(HdrNamePolicy::Preserve),
        ["delete"] => Ok(HdrNamePolicy::Delete),
        ["reject"] => Ok(HdrNamePolicy::Reject),
        [] => Err(err(
            "missing parameter. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option.".into(),
        )),
        [a] => Err(err(format!(
            "invalid parameter '{a}'. option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option."
        ))),
        _ => Err(err(
            "option 'http-restrict-req-hdr-names' takes one argument".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        assert_eq!(
            network("10.0.0.0/8"),
            Some(("10.0.0.0".parse().unwrap(), 8))
        );
        assert_eq!(
            network("127.0.0.1"),
            Some(("127.0.0.1".parse().unwrap(), 32))
        );
        assert_eq!(
            network("10.0.0.0/255.255.0.0"),
            Some(("10.0.0.0".parse().unwrap(), 16))
        );
        assert_eq!(network("::1/128"), Some(("::1".parse().unwrap(), 128)));
        assert_eq!(network("10.0.0.0/33"), None);
        assert_eq!(network("10.0.0.0/255.0.255.0"), None);
        assert_eq!(network("x"), None);
    }
}
