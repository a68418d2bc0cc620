use super::*;
use crate::model::{Directive, Modifier, Named, ProxyKind};
use crate::reader::{Line, Word};
use crate::source::FileId;

fn proxy(kind: ProxyKind, lines: &[&str]) -> Proxy {
    let sp = Span::new(FileId(0), 1, 0, 0);
    let mut p = Proxy::new(
        kind,
        Named {
            name: "p".into(),
            span: sp,
        },
        sp,
    );
    for l in lines {
        let words: Vec<Word> = l
            .split_whitespace()
            .map(|w| Word {
                text: w.into(),
                span: sp,
                quoted: false,
            })
            .collect();
        p.directives.push(Directive {
            keyword: words[0].text.clone(),
            modifier: Modifier::None,
            line: Line {
                file: FileId(0),
                line: 1,
                words,
            },
        });
    }
    p
}

#[test]
fn typed_in_haproxys_order_with_defaults() {
    let d = proxy(
        ProxyKind::Defaults,
        &[
            "compression algo gzip",
            "compression type text/plain",
            "compression offload",
        ],
    );
    let p = proxy(
        ProxyKind::Backend,
        &["compression algo deflate raw-deflate", "filter compression"],
    );
    let c = compression(&p, Some(&d)).unwrap().unwrap();
    assert_eq!(c.algos, vec![Algo::RawDeflate, Algo::Deflate, Algo::Gzip]);
    assert_eq!(c.types, vec!["text/plain".to_string()]);
    assert!(!c.offload, "offload is ignored in defaults");
    let p = proxy(ProxyKind::Frontend, &["compression offload"]);
    assert!(compression(&p, None).unwrap().unwrap().offload);
    assert_eq!(
        compression(&proxy(ProxyKind::Backend, &[]), None).unwrap(),
        None
    );
}

#[test]
fn refusals() {
    let bad = |l: &str| compression(&proxy(ProxyKind::Backend, &[l]), None).unwrap_err();
    let e = bad("compression algo brotli");
    assert!(e.invalid);
    assert_eq!(
        e.message,
        "'compression' : 'brotli' is not a supported algorithm."
    );
    assert_eq!(
        bad("compression algo").message,
        "'compression' expects <algorithm>."
    );
    assert_eq!(
        bad("compression level 9").message,
        "'compression' expects 'algo', 'type' or 'offload'"
    );
    let e = bad("filter bwlim-in lim default-limit 1k default-period 1s");
    assert!(!e.invalid);
    assert_eq!(e.message, "`filter bwlim-in`");
    // §9.1 `filter trace` runs (no effect on traffic).
    let p = proxy(ProxyKind::Backend, &["filter trace name x"]);
    assert_eq!(compression(&p, None), Ok(None));
}
