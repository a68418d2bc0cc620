//! `cache` sections (configuration.txt §6.2.1, HAProxy 2.6's `cfg_parse_cache`
//! and `cfg_post_parse_section_cache`): typed into `haproxide_http::cache`'s
//! `CacheSpec`, with `haproxy -c`'s errors.

use haproxide_http::cache::{CacheSpec, BLOCK};

use crate::diag::{Code, Diagnostic, HaproxyLoc};
use crate::model::Config;

/// HAProxy's `UINT_MAX >> 20`: the largest `total-max-size`.
const MAX_MB: u64 = (u32::MAX >> 20) as u64;

/// The `cache` sections of `cfg`, in file order, and what is wrong with them.
pub fn caches(cfg: &Config) -> (Vec<CacheSpec>, Vec<Diagnostic>) {
    let mut out: Vec<CacheSpec> = Vec::new();
    let mut diags = Vec::new();
    for o in cfg.others.iter().filter(|o| o.kind == "cache") {
        let Some(n) = &o.name else {
            diags.push(
                Diagnostic::error(Code::MissingArgument, "`cache` needs a name")
                    .at(o.span)
                    .hx(HaproxyLoc::Parsing, "'cache' expects a <name> argument"),
            );
            continue;
        };
        let name: String = n.name.chars().take(32).collect();
        if out.iter().any(|c| c.name == name) {
            diags.push(
                Diagnostic::error(Code::InvalidArgument, format!("duplicate cache `{name}`"))
                    .at(n.span)
                    .hx(
                        HaproxyLoc::ParsingTight,
                        format!("Duplicate cache name '{name}'."),
                    ),
            );
            continue;
        }
        let mut blocks: u64 = 0;
        let mut objsz: u64 = 0;
        let mut spec = CacheSpec {
            name,
            total_max_size: 0,
            max_object_size: 0,
            max_age: 60,
            process_vary: false,
            max_secondary_entries: 10,
        };
        for d in &o.directives {
            let l = &d.line;
            let (kw, v) = (l.arg(0), l.arg(1));
            let bad = |what: &str| {
                Diagnostic::error(Code::InvalidArgument, format!("{kw}: invalid value `{v}`"))
                    .at(l.span(1))
                    .hx(HaproxyLoc::ParsingTight, what.to_string())
            };
            match kw {
                "total-max-size" => match v.parse::<u64>() {
                    Ok(mb) if mb <= MAX_MB => blocks = mb * 1024 * 1024 / BLOCK,
                    Ok(_) => diags.push(bad(&format!(
                        "\"total-max-size\" ({v}) must not be greater than {MAX_MB}"
                    ))),
                    Err(_) => diags.push(bad(&format!("total-max-size wrong value '{v}'"))),
                },
                "max-object-size" => match v.parse::<u32>() {
                    Ok(n) => objsz = u64::from(n),
                    Err(_) => diags.push(bad(&format!("max-object-size wrong value '{v}'"))),
                },
                // HAProxy's atoi: leading digits, else 0.
                "max-age" => {
                    let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
                    spec.max_age = digits.parse().unwrap_or(0);
                }
                "process-vary" => match v {
                    "on" => spec.process_vary = true,
                    "off" => spec.process_vary = false,
                    _ => diags.push(
                        Diagnostic::warning(
                            Code::InvalidArgument,
                            "process-vary expects `on` or `off`",
                        )
                        .at(l.span(1))
                        .hx(
                            HaproxyLoc::ParsingTight,
                            format!(
                                "'{kw}' expects \"on\" or \"off\" (enable or disable vary processing)."
                            ),
                        ),
                    ),
                },
                "max-secondary-entries" => match v.parse::<u32>() {
                    Ok(n) if n > 0 => spec.max_secondary_entries = n as usize,
                    _ => diags.push(bad(&format!("max-secondary-entries wrong value '{v}'"))),
                },
                _ => {}
            }
        }
        if blocks == 0 {
            diags.push(
                Diagnostic::error(
                    Code::MissingArgument,
                    format!("cache `{}` has no `total-max-size`", spec.name),
                )
                .at(o.span)
                .hx(
                    HaproxyLoc::None,
                    format!("Size not specified for cache '{}'", spec.name),
                ),
            );
            continue;
        }
        if objsz == 0 {
            objsz = (blocks * BLOCK) >> 8;
        } else if objsz > blocks * BLOCK / 2 {
            diags.push(
                Diagnostic::error(
                    Code::InvalidArgument,
                    format!(
                        "cache `{}`: max-object-size is over half of total-max-size",
                        spec.name
                    ),
                )
                .at(o.span)
                .hx(
                    HaproxyLoc::None,
                    format!(
                        "\"max-object-size\" is limited to an half of \"total-max-size\" => {}",
                        blocks * BLOCK / 2
                    ),
                ),
            );
            continue;
        }
        spec.total_max_size = blocks * BLOCK;
        spec.max_object_size = objsz;
        out.push(spec);
    }
    (out, diags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::check_text;

    #[test]
    fn cache_sections_typed_with_haproxy_defaults_and_errors() {
        let c = check_text(
            "cache a\n  total-max-size 4\n  max-age 240\ncache b\n  total-max-size 3\n  max-object-size 3072\n  process-vary on\n  max-secondary-entries 2\n",
        );
        let (specs, diags) = caches(&c.config);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].total_max_size, 4 << 20);
        assert_eq!(specs[0].max_object_size, (4 << 20) >> 8);
        assert_eq!(specs[0].max_age, 240);
        assert!(!specs[0].process_vary);
        assert_eq!(specs[1].max_object_size, 3072);
        assert!(specs[1].process_vary);
        assert_eq!(specs[1].max_secondary_entries, 2);
        let c = check_text(
            "cache c2\n  max-age 10\ncache c3\n  total-max-size 1\n  max-object-size 600000\n",
        );
        let (specs, diags) = caches(&c.config);
        assert!(specs.is_empty());
        let texts: Vec<_> = diags
            .iter()
            .filter_map(|d| d.haproxy.as_ref())
            .map(|h| h.text.clone())
            .collect();
        assert_eq!(
            texts,
            [
                "Size not specified for cache 'c2'",
                "\"max-object-size\" is limited to an half of \"total-max-size\" => 524288"
            ]
        );
    }
}
