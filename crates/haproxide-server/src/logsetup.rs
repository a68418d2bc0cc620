//! The configuration's `log` lines → the runtime's loggers (configuration.txt §3.1
//! `log`, `log-tag`, `log-send-hostname`; §4.2 `log`, `option tcplog`, `log-format`,
//! `option log-separate-errors`, `option dontlog-normal`).

use std::net::{SocketAddr, ToSocketAddrs};

use haproxide_config::model::{
    LogAddr, LogDest, LogFormat as CfgFormat, LogLevel, LogTarget as CfgLogTarget, Mode, ProxyKind,
    SessionLog, Spanned,
};
use haproxide_config::value::{Host, PortSpec};
use haproxide_config::Resolved;
use haproxide_config::{Code, Diagnostic};
use haproxide_expr::LfMode;

use crate::logging::{
    Facility, FrontendLog, Level, LogDest as RtDest, LogError, LogFormat as RtFormat, LogSample,
    LogTarget, Logger, ProxyLogs, SessionFormat, SyslogIdentity,
};

fn log_error(span: haproxide_config::Span, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(Code::InvalidArgument, format!("log target: {e}"))
        .at(span)
        .help("haproxide opens log targets at start-up, as HAProxy does")
}

/// `option httplog clf` (§8.2.3): the last `option httplog` line of the proxy
/// or, when it has none, of its defaults section, has the `clf` argument.
fn httplog_clf(p: &haproxide_config::model::Proxy) -> bool {
    p.options
        .iter()
        .rev()
        .find(|o| o.name.name == "httplog")
        .is_some_and(|o| o.args.first().map(String::as_str) == Some("clf"))
}

/// Build the loggers: global targets, then each proxy's own (`log global` pulls the
/// global ones in, `no log` disables). Problems are returned as diagnostics.
pub fn build(cfg: &Resolved) -> (ProxyLogs, Vec<Diagnostic>) {
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
    let mut global_targets = Vec::new();
    for l in &g.logs {
        if let CfgLogTarget::Target(d) = l {
            match runtime_target(d, send_hostname) {
                Ok(t) => global_targets.push(t),
                Err(e) => errors.push(log_error(d.target.span, e)),
            }
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
        // The effective `log` lines (the config crate applied the defaults section's).
        let mut use_global = false;
        let mut disabled = false;
        let mut targets = Vec::new();
        for l in &p.logs {
            match l {
                CfgLogTarget::Disabled(_) => {
                    disabled = true;
                    targets.clear();
                    use_global = false;
                }
                CfgLogTarget::Global(_) => use_global = true,
                CfgLogTarget::Target(d) => match runtime_target(d, send_hostname) {
                    Ok(t) => targets.push(t),
                    Err(e) => errors.push(log_error(d.target.span, e)),
                },
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
            // The effective format (the config crate applied the defaults section's).
            let mode = if p.effective_mode() == Mode::Http {
                LfMode::Http
            } else {
                LfMode::Tcp
            };
            // The effective format (the config crate applied the defaults section's).
            let format = match &p.log_format {
                Some(SessionLog::Custom(f)) => match SessionFormat::custom_mode(&f.name, mode) {
                    Ok(f) => f,
                    Err(e) => {
                        errors.push(log_error(f.span, e));
                        SessionFormat::Default
                    }
                },
                Some(SessionLog::TcpLog(_)) => SessionFormat::TcpLog,
                // HAProxy: "'option httplog' not usable with frontend (needs 'mode
                // http'). Falling back to 'option tcplog'."
                Some(SessionLog::HttpLog(_) | SessionLog::HttpsLog(_)) if mode == LfMode::Tcp => {
                    SessionFormat::TcpLog
                }
                Some(SessionLog::HttpLog(_)) => SessionFormat::httplog(httplog_clf(p)),
                Some(SessionLog::HttpsLog(_)) => SessionFormat::httpslog(),
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

/// A typed `log` line → the logger's target. Host names are resolved now, as
/// HAProxy does at start-up.
fn runtime_target(d: &LogDest, send_hostname: bool) -> Result<LogTarget, LogError> {
    let dest = match &d.addr {
        LogAddr::Stdout | LogAddr::Fd(1) => RtDest::Stdout,
        LogAddr::Stderr | LogAddr::Fd(2) => RtDest::Stderr,
        LogAddr::Fd(n) => RtDest::Fd(*n),
        LogAddr::Unix(p) => RtDest::UnixDgram(p.into()),
        LogAddr::Udp(a) => {
            RtDest::Udp(udp_addr(a).ok_or_else(|| LogError::BadAddress(d.target.name.clone()))?)
        }
        LogAddr::Ring(_) => return Err(LogError::Unsupported("ring@")),
        LogAddr::Backend(_) => return Err(LogError::Unsupported("backend@")),
    };
    let facility = Facility::ALL
        .get(usize::from(d.facility.value.0))
        .copied()
        .unwrap_or(Facility::Local0);
    let level = |l: Option<Spanned<LogLevel>>| {
        l.and_then(|l| Level::ALL.get(usize::from(l.value.0)).copied())
    };
    let mut t = LogTarget::new(dest, facility).with_format(match d.format {
        None => RtFormat::default_for(send_hostname),
        Some(CfgFormat::Local) => RtFormat::Local,
        Some(CfgFormat::Rfc3164) => RtFormat::Rfc3164,
        Some(CfgFormat::Rfc5424) => RtFormat::Rfc5424,
        Some(CfgFormat::Priority) => RtFormat::Priority,
        Some(CfgFormat::Short) => RtFormat::Short,
        Some(CfgFormat::Timed) => RtFormat::Timed,
        Some(CfgFormat::Iso) => RtFormat::Iso,
        Some(CfgFormat::Raw) => RtFormat::Raw,
    });
    t.max_level = level(d.level);
    t.min_level = level(d.min_level);
    if let Some(n) = d.len {
        t.max_len = n as usize;
    }
    t.sample = d.sample.as_ref().map(|s| LogSample {
        ranges: s.ranges.clone(),
        size: s.size,
    });
    Ok(t)
}

/// A UDP syslog address: port 514 unless given (§3.1 `log`); a name resolved now.
fn udp_addr(a: &haproxide_config::value::Address) -> Option<SocketAddr> {
    if !matches!(
        a.prefix.as_deref(),
        None | Some("udp" | "udp4" | "udp6" | "ipv4" | "ipv6")
    ) {
        return None;
    }
    let port = match a.port {
        PortSpec::Single(p) => p,
        PortSpec::None => 514,
        _ => return None,
    };
    match &a.host {
        Host::V4(ip) => Some(SocketAddr::new((*ip).into(), port)),
        Host::V6(ip) => Some(SocketAddr::new((*ip).into(), port)),
        // An empty host (`:514`, or `:` from unset variables) is INADDR_ANY for
        // HAProxy's str2sa_range(), which 2.6 accepts.
        Host::Any => Some(SocketAddr::new(
            std::net::Ipv4Addr::UNSPECIFIED.into(),
            port,
        )),
        Host::Name(n) => (n.as_str(), port).to_socket_addrs().ok()?.next(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haproxide_config::{check_bytes, CheckOptions, Resolver, Target};

    /// The runtime targets of the global `log` lines of a configuration text.
    fn targets(logs: &str) -> Vec<Result<LogTarget, LogError>> {
        let env = |_: &str| None;
        let opts = CheckOptions {
            target: Target::LATEST,
            env: &env,
            ignore_resolution_failures: false,
            resolver: Resolver::HostsFile,
            check_files: false,
            accounts: &haproxide_config::NoAccounts,
        };
        let text = format!("global\n{logs}\n");
        let checked = check_bytes("t.cfg", text.into_bytes(), &opts);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let send_hostname = checked.config.global.log_send_hostname.is_some();
        checked
            .config
            .global
            .logs
            .iter()
            .filter_map(|l| match l {
                CfgLogTarget::Target(d) => Some(runtime_target(d, send_hostname)),
                _ => None,
            })
            .collect()
    }

    fn one(log: &str) -> LogTarget {
        match targets(&format!("    log {log}")).pop() {
            Some(Ok(t)) => t,
            other => panic!("{log}: {other:?}"),
        }
    }

    #[test]
    fn addresses_as_haproxy_reads_them() {
        // §3.1 `log` <address>: UDP port 514 by default; an IPv6 address followed
        // by a colon and optionally a port (the last colon ends the address).
        let udp = |s: &str| match one(&format!("{s} local0")).dest {
            RtDest::Udp(a) => a,
            d => panic!("{s}: {d:?}"),
        };
        assert_eq!(udp("127.0.0.1"), "127.0.0.1:514".parse().unwrap());
        assert_eq!(udp("127.0.0.1:1514"), "127.0.0.1:1514".parse().unwrap());
        assert_eq!(udp("udp@10.0.0.1:9"), "10.0.0.1:9".parse().unwrap());
        assert_eq!(udp("::1:"), "[::1]:514".parse().unwrap());
        assert_eq!(udp("::1:1514"), "[::1]:1514".parse().unwrap());
        assert_eq!(udp("[::1]:1514"), "[::1]:1514".parse().unwrap());
        assert!(udp("localhost:1514").ip().is_loopback());
        // An empty host is INADDR_ANY, as for HAProxy 2.6 (`log ${UNSET}:${UNSET}`).
        assert_eq!(udp(":"), "0.0.0.0:514".parse().unwrap());
        assert_eq!(udp(":1514"), "0.0.0.0:1514".parse().unwrap());
        assert_eq!(
            one("/dev/log local0").dest,
            RtDest::UnixDgram("/dev/log".into())
        );
        assert_eq!(one("stdout local0").dest, RtDest::Stdout);
        assert_eq!(one("fd@2 local0").dest, RtDest::Stderr);
        assert_eq!(one("fd@5 local0").dest, RtDest::Fd(5));
        // Valid HAProxy, not run: refused when the loggers are built.
        assert!(matches!(
            targets("    log ring@buf local0").pop(),
            Some(Err(LogError::Unsupported("ring@")))
        ));
    }

    #[test]
    fn options_levels_and_default_format() {
        let t = one("127.0.0.1:514 local0");
        assert_eq!(t.format, RtFormat::Local);
        assert_eq!(t.max_len, crate::logging::DEFAULT_MAX_LEN);
        assert_eq!((t.max_level, t.min_level), (None, None));
        let ts = targets("    log-send-hostname\n    log 127.0.0.1 local0");
        assert!(matches!(&ts[..], [Ok(t)] if t.format == RtFormat::Rfc3164));
        let t = one("/dev/log len 80 format rfc5424 sample 1-2,4:5 local3 info notice");
        assert_eq!(t.max_len, 80);
        assert_eq!(t.format, RtFormat::Rfc5424);
        assert_eq!(t.facility, Facility::Local3);
        assert_eq!(t.max_level, Some(Level::Info));
        assert_eq!(t.min_level, Some(Level::Notice));
        assert_eq!(
            t.sample,
            Some(LogSample {
                ranges: vec![(1, 2), (4, 4)],
                size: 5
            })
        );
        assert_eq!(one("127.0.0.1 auth2").facility.code(), 10);
        assert_eq!(one("127.0.0.1 cron2 err").max_level, Some(Level::Err));
    }
}
