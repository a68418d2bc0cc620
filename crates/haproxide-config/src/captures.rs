//! A frontend's capture slots, typed (configuration.txt §4.2 `capture request
//! header`, `capture response header`, `declare capture`; §8.8 "Capturing HTTP
//! headers"): in declaration order, as HAProxy numbers them (the log prints
//! `{a|b}` in that order, `http-request capture ... id <n>` names a slot by it).
//! Errors carry `haproxy -c`'s words (HAProxy 2.6.12, measured). `capture cookie`
//! is not here: it needs cookie persistence (refused in HTTP mode until then).
//! Also `unique-id-format` / `unique-id-header` (§4.2), compiled onto
//! haproxide-expr's log-format.

use crate::model::{Modifier, Proxy};
use crate::source::Span;

/// One capture slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The header, lower case (`capture ... header`); `None` for `declare capture`.
    pub header: Option<String>,
    /// The length kept (HAProxy's `atol`: not a number is 0, a negative value
    /// keeps nothing).
    pub len: usize,
}

/// The request and response slots of a proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    pub request: Vec<Capture>,
    pub response: Vec<Capture>,
}

/// A line `haproxy -c` refuses: where and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError {
    pub span: Span,
    pub message: String,
}

/// HAProxy's `atol` on a length: leading digits after an optional sign, else 0.
fn atol(s: &str) -> usize {
    let t = s.trim_start();
    if t.starts_with('-') {
        return 0;
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    match end {
        0 => 0,
        _ => t[..end].parse().unwrap_or(usize::MAX),
    }
}

/// The capture slots of `p` (a proxy with a frontend; HAProxy ignores them, with
/// a warning, in a backend).
pub fn captures(p: &Proxy) -> Result<Captures, CaptureError> {
    let mut c = Captures::default();
    // Request slots in the order of their lines: `capture request header`,
    // `declare capture request` and `http-request capture <expr> len <n>` (the
    // rules a named `defaults` gave come first, from its earlier lines).
    let mut order: Vec<(u32, u32)> = Vec::new();
    for d in &p.directives {
        let at = d.line.span(0);
        let before = c.request.len();
        if d.modifier != Modifier::None {
            continue;
        }
        let line = &d.line;
        let err = |message: &str| CaptureError {
            span: line.span(0),
            message: message.to_string(),
        };
        let kw = line.arg(0);
        if kw == "capture" {
            let dir = line.arg(1);
            let slots = match dir {
                "request" if line.arg(2) == "header" => &mut c.request,
                "response" if line.arg(2) == "header" => &mut c.response,
                "cookie" => continue,
                _ => {
                    return Err(err(
                        "'capture' expects 'cookie' or 'request header' or 'response header'.",
                    ))
                }
            };
            if line.arg(5).is_empty() || line.arg(4) != "len" {
                return Err(err(&format!(
                    "'capture {dir}' expects 'header' <header_name> 'len' <len>."
                )));
            }
            slots.push(Capture {
                header: Some(line.arg(3).to_ascii_lowercase()),
                len: atol(line.arg(5)),
            });
        } else if kw == "declare" && line.arg(1) == "capture" {
            let slots = match line.arg(2) {
                "request" => &mut c.request,
                "response" => &mut c.response,
                _ => {
                    return Err(err(
                        "'declare capture' requires a direction ('request' or 'response')",
                    ))
                }
            };
            if line.arg(3) != "len" || line.arg(4).is_empty() {
                return Err(err("'declare capture' requires a capture length ('len')"));
            }
            let len = line.arg(4).parse::<i64>().unwrap_or(0);
            if len <= 0 {
                return Err(err("length must be > 0"));
            }
            slots.push(Capture {
                header: None,
                len: len as usize,
            });
        }
        if c.request.len() > before {
            order.push((at.file.0, at.line));
        }
    }
    let mut keyed: Vec<((u32, u32), Capture)> = order.into_iter().zip(c.request).collect();
    for r in &p.rules {
        if r.ruleset == "http-request"
            && r.action.name == "capture"
            && r.args.get(1).is_some_and(|k| k == "len")
        {
            let len = r.args.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
            let at = r.action.span;
            keyed.push(((at.file.0, at.line), Capture { header: None, len }));
        }
    }
    keyed.sort_by_key(|(k, _)| *k);
    c.request = keyed.into_iter().map(|(_, c)| c).collect();
    Ok(c)
}

/// `unique-id-format` and `unique-id-header` (§4.2), compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueId {
    pub format: haproxide_expr::LogFormat,
    pub header: Option<String>,
}

/// The last `unique-id-format` / `unique-id-header` line of `p`, else of its
/// defaults section `defaults` (HAProxy copies both from the defaults section).
/// `None` without a format (a header alone adds nothing).
pub fn unique_id(p: &Proxy, defaults: Option<&Proxy>) -> Result<Option<UniqueId>, CaptureError> {
    let last = |kw: &str| {
        let own = p.directives.iter().rev().find(|d| d.keyword == kw);
        own.or_else(|| defaults?.directives.iter().rev().find(|d| d.keyword == kw))
    };
    let Some(f) = last("unique-id-format") else {
        return Ok(None);
    };
    let format =
        haproxide_expr::LogFormat::parse_http_value(f.line.arg(1)).map_err(|e| CaptureError {
            span: f.line.span(1),
            message: format!("failed to parse unique-id-format: {e}"),
        })?;
    let header = last("unique-id-header")
        .map(|d| d.line.arg(1).to_string())
        .filter(|h| !h.is_empty());
    Ok(Some(UniqueId { format, header }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Directive;
    use crate::reader::{Line, Word};

    fn proxy(lines: &[&str]) -> Proxy {
        let name = crate::model::Named {
            name: "f".into(),
            span: Span::new(crate::source::FileId(0), 1, 0, 0),
        };
        let mut p = Proxy::new(
            crate::model::ProxyKind::Frontend,
            name,
            Span::new(crate::source::FileId(0), 1, 0, 0),
        );
        for l in lines {
            let words: Vec<Word> = l
                .split_whitespace()
                .map(|w| Word {
                    text: w.into(),
                    span: Span::new(crate::source::FileId(0), 1, 0, 0),
                    quoted: false,
                })
                .collect();
            let keyword = words[0].text.clone();
            p.directives.push(Directive {
                keyword,
                modifier: Modifier::None,
                line: Line {
                    file: crate::source::FileId(0),
                    line: 1,
                    words,
                },
            });
        }
        p
    }

    #[test]
    fn slots_in_declaration_order() {
        let p = proxy(&[
            "capture request header Host len 15",
            "capture response header Content-Type len abc",
            "declare capture request len 30",
            "capture cookie SRV len 32",
            "capture request header X-Forwarded-For len -1",
        ]);
        let c = captures(&p).unwrap();
        let req: Vec<(Option<&str>, usize)> = c
            .request
            .iter()
            .map(|x| (x.header.as_deref(), x.len))
            .collect();
        assert_eq!(
            req,
            vec![(Some("host"), 15), (None, 30), (Some("x-forwarded-for"), 0)]
        );
        assert_eq!(c.response[0].len, 0);
    }

    fn checked(text: &str) -> crate::Config {
        let c = crate::test_support::check_text(text);
        assert!(
            !c.diagnostics.iter().any(|d| d.is_error()),
            "{:?}",
            c.diagnostics
        );
        c.config.into_config()
    }

    /// Slots of `http-request capture ... len` interleave with the lines that
    /// declare slots, a named `defaults`'s first (HAProxy copies its slots and
    /// runs its rules first: reg-test http-rules/default_rules.vtc).
    #[test]
    fn rule_slots_and_defaults_rules() {
        let cfg = checked(
            "defaults base\n mode http\n http-request capture hdr(Host) len 64\n\
             \x20http-request capture hdr(X-1) len 32\n\
             frontend fe from base\n bind :8080\n capture request header A len 5\n\
             \x20http-request capture hdr(b) len 7\n declare capture request len 9\n\
             \x20http-request set-var(txn.x) str(\\xE0)\n",
        );
        let fe = cfg.proxies.iter().find(|p| p.name.name == "fe").unwrap();
        let lens: Vec<usize> = captures(fe)
            .unwrap()
            .request
            .iter()
            .map(|c| c.len)
            .collect();
        assert_eq!(lens, [64, 32, 5, 7, 9]);
        let actions: Vec<&str> = fe.rules.iter().map(|r| r.action.name.as_str()).collect();
        assert_eq!(actions, ["capture", "capture", "capture", "set-var(txn.x)"]);
        // `\xE0` stays one byte down to the sample literal (converter/json.vtc).
        let arg = &fe.rules[3].args[0];
        assert_eq!(
            haproxide_expr::rawtext::to_bytes(arg).as_ref(),
            b"str(\xE0)"
        );
    }

    #[test]
    fn unique_id_from_the_proxy_or_its_defaults() {
        let d = proxy(&["unique-id-format %{+X}o%ci:%cp_%Ts", "unique-id-header X-D"]);
        let own = proxy(&["unique-id-format %[src]"]);
        let u = unique_id(&own, Some(&d)).unwrap().unwrap();
        assert_eq!(u.format.source(), "%[src]");
        assert_eq!(u.header.as_deref(), Some("X-D"));
        let u = unique_id(&proxy(&[]), Some(&d)).unwrap().unwrap();
        assert_eq!(u.format.source(), "%{+X}o%ci:%cp_%Ts");
        assert_eq!(unique_id(&proxy(&["unique-id-header X"]), None), Ok(None));
        assert!(unique_id(&proxy(&["unique-id-format %[nosuch]"]), None).is_err());
    }

    #[test]
    fn errors_are_haproxys() {
        let e = |l: &str| captures(&proxy(&[l])).unwrap_err().message;
        assert_eq!(
            e("capture request header Host"),
            "'capture request' expects 'header' <header_name> 'len' <len>."
        );
        assert_eq!(
            e("capture request header Host size 5"),
            "'capture request' expects 'header' <header_name> 'len' <len>."
        );
        assert_eq!(
            e("capture foo"),
            "'capture' expects 'cookie' or 'request header' or 'response header'."
        );
        assert_eq!(
            e("declare capture request"),
            "'declare capture' requires a capture length ('len')"
        );
        assert_eq!(e("declare capture request len 0"), "length must be > 0");
        assert_eq!(
            e("declare capture foo len 5"),
            "'declare capture' requires a direction ('request' or 'response')"
        );
    }
}
