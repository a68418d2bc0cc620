//! Server-side connection reuse (configuration.txt §4.2 `http-reuse`; §5.2
//! `pool-max-conn`, `pool-purge-delay`, `pool-low-conn`, `max-reuse`), with
//! HAProxy 2.6's alerts (cfgparse-listen.c, server.c).

use super::server::ServerOpt;
use super::*;

/// The server options typed here.
pub(super) const POOL_OPTIONS: &[&str] = &[
    "pool-max-conn",
    "pool-purge-delay",
    "pool-low-conn",
    "max-reuse",
];

impl Parser<'_> {
    /// `http-reuse { never | safe | aggressive | always }` (§4.2).
    pub(super) fn kw_http_reuse(&mut self, pi: usize, line: &Line, a: usize) {
        let text = line.arg(a).to_string();
        let mode = match text.as_str() {
            "never" => HttpReuse::Never,
            "safe" => HttpReuse::Safe,
            "aggressive" => HttpReuse::Aggressive,
            "always" => HttpReuse::Always,
            _ => {
                self.err(
                    Code::InvalidArgument,
                    line.span(a),
                    format!("`http-reuse` does not accept `{text}`"),
                    HaproxyLoc::Parsing,
                    "'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.",
                );
                return;
            }
        };
        let extra = line.arg(a + 1).to_string();
        if !extra.is_empty() {
            self.err(
                Code::TooManyArguments,
                line.span(a + 1),
                format!("`http-reuse {text}` takes no more argument; `{extra}` is extra"),
                HaproxyLoc::Parsing,
                format!("'http-reuse {text}' cannot handle unexpected argument '{extra}'."),
            );
            return;
        }
        self.cfg.proxies[pi].http_reuse = Some(Spanned {
            value: mode,
            span: line.span_from(0),
        });
    }

    /// `pool-max-conn`, `pool-purge-delay`, `pool-low-conn`, `max-reuse` (§5.2).
    /// HAProxy reads the numbers with atoi(); `pool-max-conn` must be >= -1.
    pub(super) fn server_pool(&mut self, o: &ServerOpt<'_>, p: &mut ServerParams) -> Option<bool> {
        let (k, a, sctx) = (o.k, o.a.as_str(), o.sctx);
        // C's atoi(): the low 32 bits of what strtol() saturates to
        // (an intended truncation).
        let atoi = || value::atol(a) as i32;
        match k {
            "pool-max-conn" => {
                let v = atoi();
                if v < -1 {
                    self.err(
                        Code::InvalidArgument,
                        o.line.span(o.i + 1),
                        format!("`pool-max-conn {a}`: the value must be -1 (unlimited) or more"),
                        HaproxyLoc::Bracket,
                        format!("{sctx} : 'pool-max-conn' must be >= -1."),
                    );
                    return None;
                }
                p.pool_max_conn = Some(v);
            }
            "pool-low-conn" => p.pool_low_conn = Some(atoi().max(0) as u32),
            "max-reuse" => p.max_reuse = Some(atoi()),
            "pool-purge-delay" => match value::parse_time(a, 1) {
                Ok(t) => p.pool_purge_delay = Some(t),
                Err(e) => {
                    let hx = match e {
                        value::TimeError::Overflow => format!(
                            "{sctx} : timer overflow in argument '{a}' to '{k}' (maximum value is 2147483647 ms or ~24.8 days)."
                        ),
                        value::TimeError::Underflow => format!(
                            "{sctx} : timer underflow in argument '{a}' to '{k}' (minimum non-null value is 1 ms)."
                        ),
                        value::TimeError::UnexpectedChar(c) => {
                            format!("{sctx} : unexpected character '{c}' in argument to <{k}>..")
                        }
                        value::TimeError::Empty => {
                            format!("{sctx} : '{k}' expects <value> as argument..")
                        }
                    };
                    self.err(
                        Code::InvalidArgument,
                        o.line.span(o.i + 1),
                        format!("invalid time `{a}` for `{k}`"),
                        HaproxyLoc::Bracket,
                        hx,
                    );
                    return None;
                }
            },
            _ => return Some(false),
        }
        Some(true)
    }
}
