//! The configuration's `log` lines → the runtime's loggers (configuration.txt §3.1
//! `log`, `log-tag`, `log-send-hostname`; §4.2 `log`, `option tcplog`, `log-format`,
//! `option log-separate-errors`, `option dontlog-normal`).

use haproxide_config::model::{Config, Modifier, ProxyKind};
use haproxide_config::{Code, Diagnostic};

use crate::logging::{FrontendLog, LogTarget, Logger, ProxyLogs, SessionFormat, SyslogIdentity};

fn log_error(span: haproxide_config::Span, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(Code::InvalidArgument, format!("log target: {e}"))
        .at(span)
        .help("haproxide opens log targets at start-up, as HAProxy does")
}

/// Build the loggers: global targets, then each proxy's own (`log global` pulls the
/// global ones in, `no log` disables). Problems are returned as diagnostics.
pub fn build(cfg: &Config) -> (ProxyLogs, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    let g = &cfg.global;
    let send_hostname = g.log_send_hostname.is_some();
    let mut ident = SyslogIdentity::default();
    if let Some(t) = &g.log_tag {
        ident = ident.with_tag(t.name.clone());
    }
    if let Some(name) = &g.log_send_hostname {
        ident = ident.with_send_hostname(name.as_ref().map(|n| n.name.clone()));
    }
    let targets_of =
        |words: &[String], errors: &mut Vec<Diagnostic>, span| match LogTarget::parse_args(
            words,
            send_hostname,
        ) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.push(log_error(span, e));
                None
            }
        };
    let mut global_targets = Vec::new();
    for d in g
        .directives
        .iter()
        .filter(|d| d.keyword == "log" && d.modifier == Modifier::None)
    {
        let words = log_args(d);
        if let Some(t) = targets_of(&words, &mut errors, d.line.span_from(0)) {
            global_targets.push(t);
        }
    }
    let global = match Logger::new(global_targets, ident.clone()) {
        Ok(l) => l,
        Err(e) => {
            errors.push(log_error(
                g.spans
                    .first()
                    .copied()
                    .unwrap_or(haproxide_config::Span::line(haproxide_config::FileId(0), 1)),
                e,
            ));
            Logger::disabled()
        }
    };
    let mut logs = ProxyLogs::new(global.clone());
    for p in cfg
        .proxies
        .iter()
        .filter(|p| p.kind != ProxyKind::Defaults && !p.disabled)
    {
        // Effective `log` lines: the proxy's own, else its defaults section's.
        let own: Vec<&haproxide_config::model::Directive> =
            p.directives.iter().filter(|d| d.keyword == "log").collect();
        let inherited: Vec<&haproxide_config::model::Directive> = match (own.is_empty(), p.defaults)
        {
            (true, Some(di)) => cfg
                .proxies
                .get(di)
                .map(|d| d.directives.iter().filter(|x| x.keyword == "log").collect())
                .unwrap_or_default(),
            _ => own,
        };
        let mut use_global = false;
        let mut disabled = false;
        let mut targets = Vec::new();
        for d in inherited {
            if d.modifier == Modifier::No {
                disabled = true;
                targets.clear();
                use_global = false;
                continue;
            }
            if d.line.arg(1) == "global" {
                use_global = true;
                continue;
            }
            let words = log_args(d);
            if let Some(t) = targets_of(&words, &mut errors, d.line.span_from(0)) {
                targets.push(t);
            }
        }
        let tag = p.log_tag.as_ref().map(|t| t.name.clone());
        let base = if use_global && !disabled {
            global.clone()
        } else {
            Logger::disabled()
        };
        let logger = if targets.is_empty() {
            base
        } else {
            match base.extend(targets) {
                Ok(l) => l,
                Err(e) => {
                    errors.push(log_error(p.name.span, e));
                    continue;
                }
            }
        };
        logs.add_proxy(p.name.name.clone(), logger.clone(), tag.clone());
        if p.kind.has_frontend() {
            let format = match &p.log_format {
                Some(f) => match SessionFormat::custom(&f.name) {
                    Ok(f) => f,
                    Err(e) => {
                        errors.push(log_error(f.span, e));
                        SessionFormat::Default
                    }
                },
                None if p.option("tcplog") == Some(true) => SessionFormat::TcpLog,
                None => SessionFormat::Default,
            };
            logs.add_frontend(
                p.name.name.clone(),
                FrontendLog::new(logger, format)
                    .with_tag(tag)
                    .with_log_separate_errors(p.option("log-separate-errors") == Some(true))
                    .with_dontlog_normal(p.option("dontlog-normal") == Some(true)),
            );
        }
    }
    (logs, errors)
}

/// The arguments of a `log` line (the words after the keyword).
/// The `log` line's arguments; the address expands environment variables as
/// HAProxy's `str2sa_range()` does (`log ${H}:${P}` with H and P unset is ":").
fn log_args(d: &haproxide_config::model::Directive) -> Vec<String> {
    d.line
        .words
        .iter()
        .skip(1)
        .enumerate()
        .map(|(i, w)| {
            if i == 0 && w.text.contains('$') {
                haproxide_config::value::expand_env(&w.text, &haproxide_config::lexer::ProcessEnv)
            } else {
                w.text.clone()
            }
        })
        .collect()
}
