//! The hash keys of `balance uri`, `url_param` and `hdr(<name>)` with
//! `hash-type` (configuration.txt §4.2), typed for the HTTP engine.

use haproxide_http::lbkey::{HashFn, LbKey, LbKeyKind};

use crate::model::{Balance, Proxy};

impl Proxy {
    /// The request key this proxy's `balance` hashes: None for the other
    /// algorithms; an error (what is not run) for an argument not handled.
    pub fn http_lb_key(&self) -> Option<Result<LbKey, String>> {
        let kind = match self.balance.as_ref()? {
            Balance::Uri { args } => {
                let (mut whole, mut len, mut depth, mut path_only) = (false, 0, 0, false);
                let mut it = args.iter().map(String::as_str);
                while let Some(a) = it.next() {
                    match a {
                        "whole" => whole = true,
                        "path-only" => path_only = true,
                        "len" | "depth" => {
                            let n = it.next().and_then(|n| n.parse::<usize>().ok());
                            let Some(n) = n else {
                                return Some(Err(format!("`balance uri {a}` without a number")));
                            };
                            if a == "len" {
                                len = n;
                            } else {
                                depth = n;
                            }
                        }
                        "" => {}
                        other => return Some(Err(format!("`balance uri {other}`"))),
                    }
                }
                LbKeyKind::Uri {
                    whole,
                    len,
                    depth,
                    path_only,
                }
            }
            Balance::UrlParam { param, .. } => LbKeyKind::UrlParam {
                name: param.clone(),
            },
            Balance::Hdr { name, args } => LbKeyKind::Hdr {
                name: name.clone(),
                domain_only: args.iter().any(|a| a == "use_domain_only"),
            },
            _ => return None,
        };
        let ht = self.hash_type.as_deref().unwrap_or_default();
        let (mut func, mut avalanche) = (HashFn::Sdbm, false);
        for w in ht.iter().skip(1) {
            match w.as_str() {
                "sdbm" => func = HashFn::Sdbm,
                "djb2" => func = HashFn::Djb2,
                "wt6" => func = HashFn::Wt6,
                "crc32" => func = HashFn::Crc32,
                "avalanche" => avalanche = true,
                other => return Some(Err(format!("`hash-type ... {other}`"))),
            }
        }
        Some(Ok(LbKey {
            kind,
            func,
            avalanche,
        }))
    }
}
