//! haproxide: the command line.
//!
//! Two forms, as users of HAProxy expect:
//! - `haproxide check -f FILE|DIR ... [--format human|short|json|haproxy]
//!   [--haproxy-version X.Y] [-dr] [--deny-warnings]`: lint with rich diagnostics;
//! - `haproxide -c -f FILE ...`: HAProxy's own check mode, same output and exit codes.
//!
//! `check` never starts an async runtime. Exit codes follow `haproxy -c`:
//! 0 valid, 1 errors, 2 valid but no listener.

#![deny(unsafe_code)]

mod assets;
mod render;
mod runcmd;
#[cfg(not(any(feature = "alloc-jemalloc", feature = "alloc-mimalloc")))]
#[allow(unsafe_code)]
mod sys;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use haproxide_config::{lexer::ProcessEnv, CheckOptions, Target};

use render::Format;

/// HAProxy-compatible load balancer (TCP, HTTP/1.1, HTTP/2, TLS) and configuration checker.
#[derive(Debug, Parser)]
#[command(name = "haproxide", version, about, long_about = None, args_conflicts_with_subcommands = true, disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    haproxy: HaproxyArgs,
}

/// The HAProxy-style flags (`haproxide -c -f FILE`).
#[derive(Debug, Args)]
pub(crate) struct HaproxyArgs {
    /// Configuration file or directory (repeatable). Default: /etc/haproxy/haproxy.cfg.
    #[arg(short = 'f', value_name = "FILE|DIR")]
    pub(crate) files: Vec<PathBuf>,
    /// Check the configuration and exit (as `haproxy -c`).
    #[arg(short = 'c')]
    pub(crate) check: bool,
    /// Quiet: print nothing, only set the exit code (`-q`).
    #[arg(short = 'q')]
    pub(crate) quiet: bool,
    /// Ignore server address resolution failures (`-dr`).
    #[arg(long = "dr", hide = true)]
    pub(crate) dr: bool,
    /// Warnings are fatal (`-dW`).
    #[arg(long = "dW", hide = true)]
    pub(crate) dw: bool,
    /// Evaluate a condition as `.if` does and exit 0 (true), 1 (false) or 2 (error)
    /// (`-cc`, management.txt §2 "-cc": what HAProxy's own reg-tests gate on).
    #[arg(
        long = "cc",
        hide = true,
        value_name = "CONDITION",
        allow_hyphen_values = true
    )]
    pub(crate) check_condition: Option<String>,
    /// Show the version (`-v`, `-vv`).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub(crate) show_version: u8,
    /// Stay in the foreground, debug output (`-d`).
    #[arg(short = 'd')]
    pub(crate) debug: bool,
    /// Stay in the foreground (`-db`).
    #[arg(long = "db", hide = true)]
    pub(crate) foreground: bool,
    /// Run in the background as a daemon (`-D`).
    #[arg(short = 'D')]
    pub(crate) daemon: bool,
    /// Write the process id to this file (`-p`).
    #[arg(short = 'p', value_name = "PIDFILE")]
    pub(crate) pidfile: Option<PathBuf>,
    /// Verbose (`-V`).
    #[arg(short = 'V')]
    pub(crate) verbose: bool,
    /// Once listening, ask these processes to finish their sessions and stop (`-sf`).
    #[arg(long = "sf", num_args = 1.., value_name = "PID", hide = true)]
    pub(crate) soft_finish: Vec<i32>,
    /// Once listening, stop these processes at once (`-st`).
    #[arg(long = "st", num_args = 1.., value_name = "PID", hide = true)]
    pub(crate) terminate: Vec<i32>,
    /// Take the listening sockets over from the process (haproxide or HAProxy) whose
    /// `stats socket ... level admin expose-fd listeners` is this path, with HAProxy's
    /// `_getsocks` (`-x`; without it, `-sf PID` takes them from that haproxide).
    #[arg(short = 'x', value_name = "SOCKET")]
    pub(crate) takeover: Option<PathBuf>,
    /// The local peer's name (`-L`, management.txt §3): the `peers` server
    /// line without an address naming it is this process (else `localpeer`,
    /// else the host name).
    #[arg(short = 'L', value_name = "NAME")]
    pub(crate) local_peer: Option<String>,
    /// Master-worker mode (`-W`): a master process starts a worker that serves,
    /// reloads it on SIGUSR2/SIGHUP and answers the master CLI (`-S`).
    #[arg(short = 'W')]
    pub(crate) master_worker: bool,
    /// Master-worker mode with systemd notify (`-Ws`): READY=1, RELOADING=1,
    /// STATUS= over $NOTIFY_SOCKET.
    #[arg(long = "Ws", hide = true)]
    pub(crate) master_worker_systemd: bool,
    /// Master CLI socket (`-S <addr>[,<opts>]`: UNIX path, `ipv4@IP:PORT`, `fd@N`).
    #[arg(short = 'S', value_name = "ADDR[,OPTS]")]
    pub(crate) master_cli: Vec<String>,
    /// Start even if some proxies cannot be run yet: skip them, with a warning naming
    /// file:line (by default haproxide refuses to start, never ignoring silently).
    #[arg(long = "allow-unsupported")]
    pub(crate) allow_unsupported: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ResolveMode {
    System,
    Hosts,
    None,
}

impl From<ResolveMode> for haproxide_config::Resolver {
    fn from(m: ResolveMode) -> Self {
        match m {
            ResolveMode::System => haproxide_config::Resolver::System,
            ResolveMode::Hosts => haproxide_config::Resolver::HostsFile,
            ResolveMode::None => haproxide_config::Resolver::Off,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lint configuration files with rustc-quality diagnostics.
    Check(CheckArgs),
    /// Write the man pages and shell completions into DIR (packaging; see assets.rs).
    #[command(hide = true)]
    GenerateAssets { dir: PathBuf },
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Configuration file or directory (`*.cfg` in lexical order); repeatable.
    #[arg(short = 'f', long = "file", value_name = "FILE|DIR", required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Check against this HAProxy version's keywords (2.6, 2.8, 3.0 ... default: latest).
    #[arg(long = "haproxy-version", value_name = "X.Y")]
    haproxy_version: Option<String>,
    /// Treat unresolvable server addresses as warnings (HAProxy's `-dr`).
    #[arg(long = "dr", alias = "ignore-resolution-failures")]
    pub(crate) dr: bool,
    /// How host names are resolved: system (getaddrinfo, as HAProxy), hosts
    /// (/etc/hosts only: never sends a DNS query), none (do not resolve).
    #[arg(long, value_enum, default_value_t = ResolveMode::System)]
    resolve: ResolveMode,
    /// Do not check that referenced files (certificates, errorfiles, Lua...) exist.
    #[arg(long = "no-file-checks")]
    no_file_checks: bool,
    /// Exit 1 when there are warnings (HAProxy's `zero-warning` / `-dW`).
    #[arg(long = "deny-warnings")]
    deny_warnings: bool,
    /// Also list the directives haproxide accepts but does not model or run yet.
    #[arg(long = "show-unsupported")]
    show_unsupported: bool,
    /// Colors in human output: auto, always, never.
    #[arg(long, default_value = "auto")]
    color: String,
}

/// HAProxy spells some flags as one dash and several letters (`-dr`, `-dW`, `-vv`).
/// Translate them to what the argument parser understands.
fn translate_args(args: impl Iterator<Item = String>) -> Vec<String> {
    args.map(|a| match a.as_str() {
        "-dr" => "--dr".to_string(),
        "-dW" => "--dW".to_string(),
        "-db" => "--db".to_string(),
        "--version" => "-v".to_string(),
        "-sf" => "--sf".to_string(),
        "-st" => "--st".to_string(),
        "-Ws" => "--Ws".to_string(),
        "-cc" => "--cc".to_string(),
        _ => a,
    })
    .collect()
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("haproxide: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<u8> {
    let cli = Cli::parse_from(translate_args(std::env::args()));
    match cli.command {
        Some(Command::Check(args)) => check_command(args),
        Some(Command::GenerateAssets { dir }) => assets::generate(&dir).map(|()| 0),
        None => haproxy_command(cli.haproxy),
    }
}

fn parse_target(v: Option<&str>) -> Result<Target> {
    match v {
        None => Ok(Target::LATEST),
        Some(s) => Target::parse(s).ok_or_else(|| {
            anyhow::anyhow!(
                "unsupported --haproxy-version '{s}' (use 2.6 or later, e.g. 2.6, 2.8, 3.0, 3.2)"
            )
        }),
    }
}

fn check_command(args: CheckArgs) -> Result<u8> {
    let target = parse_target(args.haproxy_version.as_deref())?;
    let env = ProcessEnv;
    let opts = CheckOptions {
        target,
        env: &env,
        ignore_resolution_failures: args.dr,
        resolver: args.resolve.into(),
        check_files: !args.no_file_checks,
        accounts: &haproxide_server::lifecycle::NssAccounts,
    };
    let mut checked = haproxide_config::check(&args.files, &opts);
    let deny = args.deny_warnings || checked.config.global.zero_warning;
    let generic = haproxide_config::generic_directives(&checked);
    let generic_count = generic.len();
    if args.show_unsupported {
        checked.diagnostics.extend(generic);
    }
    let code = checked.exit_code(deny);
    // What run mode would refuse (translate is pure: no runtime starts). Shown as
    // information: it never changes `check`'s exit code.
    // Only when shown: the human note, or --show-unsupported (the other formats are
    // for machines and `check`'s benchmark; translating 10,000 backends is not free).
    let wanted = matches!(args.format, Format::Human) || args.show_unsupported;
    let (refused, listens) = if code == 1 || !wanted {
        (Vec::new(), true)
    } else {
        let (plan, refused) = haproxide_server::translate::translate(&checked.config);
        let listens = !plan.engine.frontends.is_empty() || !plan.admin.sockets.is_empty();
        (refused, listens)
    };
    let refused_count = refused.len();
    if args.show_unsupported {
        checked.diagnostics.extend(refused.into_iter().map(|mut d| {
            d.severity = haproxide_config::Severity::Info;
            d.message
                .push_str(" (`haproxide -f` refuses to start with it)");
            d
        }));
    }
    let version = args
        .haproxy_version
        .clone()
        .unwrap_or_else(|| "3.5-dev".into());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Human => {
            let color = match args.color.as_str() {
                "always" => true,
                "never" => false,
                _ => std::io::stderr().is_terminal(),
            };
            let text = render::human(&checked, color);
            eprint!("{text}");
            eprintln!("{}", summary(&checked, code));
            if code != 1 {
                let run = if refused_count == 0 && !listens {
                    "`haproxide -f` would not start: nothing to listen on".to_string()
                } else if refused_count == 0 {
                    "`haproxide -f` runs this configuration".to_string()
                } else {
                    format!("`haproxide -f` would refuse to start: {refused_count} place(s) use what it does not run yet")
                };
                let lists = if args.show_unsupported {
                    String::new()
                } else if refused_count > 0 && generic_count > 0 {
                    format!(" (--show-unsupported lists them, and the {generic_count} directives kept in generic form)")
                } else if refused_count > 0 {
                    " (--show-unsupported lists them)".to_string()
                } else if generic_count > 0 {
                    format!(" ({generic_count} directives kept in generic form; --show-unsupported lists them)")
                } else {
                    String::new()
                };
                eprintln!("note: {run}{lists}");
            }
        }
        Format::Short => {
            let _ = out.write_all(render::short(&checked).as_bytes());
        }
        Format::Json => {
            let _ = out.write_all(render::json(&checked, &version, code).as_bytes());
        }
        Format::Haproxy => {
            let hv = if target.table == haproxide_config::TableSet::V2_6 {
                "2.6.12".to_string()
            } else {
                version
            };
            let (o, e) = render::haproxy(&checked, code, &hv, deny);
            // HAProxy prints its diagnostics first and the verdict on stdout at exit.
            eprint!("{e}");
            let _ = out.write_all(o.as_bytes());
        }
    }
    // The process exits now: freeing a large configuration one allocation at a time
    // would only cost time (it was 6-8% of checking 10,000 backends).
    std::mem::forget(checked);
    Ok(u8::try_from(code).unwrap_or(1))
}

fn summary(checked: &haproxide_config::Checked, code: i32) -> String {
    let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == haproxide_config::Severity::Warning)
        .count();
    let files = checked.sources.files().count();
    let verdict = match code {
        0 => "valid".to_string(),
        2 => "valid, but nothing listens (exit 2, as `haproxy -c`)".to_string(),
        _ => "invalid".to_string(),
    };
    format!(
        "{verdict}: {errors} error{}, {warnings} warning{} in {files} file{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" }
    )
}

/// The HAProxy release whose run-time behaviour (log and check texts, CLI output)
/// haproxide follows: what `-cc 'version_atleast(...)'` compares with and `-vv` shows.
const BEHAVES_AS: (u32, u32, u32) = (2, 6, 12);

/// `-vv`'s "Feature list": what haproxide itself provides, in HAProxy's words, so
/// that `feature(...)` gates (the reg-tests', `.if` in `-cc`) select it truthfully:
/// `+OPENSSL` because haproxide terminates TLS on binds (`bind ... ssl crt`, rustls)
/// and checks over TLS (`check-ssl`): the reg-tests read the flag as "built with
/// SSL" (docs/vtest.md, "feature(OPENSSL)"); the library is not OpenSSL, so
/// `ssllib_name_startswith(OpenSSL)` and `openssl_version_atleast(...)` stay false.
/// No Lua, no PCRE (Rust's regex), no QUIC; epoll through tokio, splice(2) for TCP
/// relaying; +HAPROXIDE as the configuration's `.if feature(HAPROXIDE)` sees it.
const FEATURES: &str = "+ACCEPT4 -DEVICEATLAS +EPOLL +GETADDRINFO -KQUEUE +LINUX_SPLICE +LUA +OPENSSL -PCRE -PCRE2 +POLL +PROMEX -QUIC +SYSTEMD +THREAD -ZLIB +HAPROXIDE";

/// `-cc <condition>`: HAProxy lexes the argument as a configuration line (quotes,
/// environment variables in double quotes), re-joins the words with spaces and
/// evaluates them as `.if` does. Exit 0 true, 1 false, 2 on an error.
fn check_condition(text: &str) -> u8 {
    let env = ProcessEnv;
    let words = match haproxide_config::lexer::split_line(text.as_bytes(), &env) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("[ALERT] config : Syntax Error in condition: {:?}.", e.kind);
            return 2;
        }
    };
    let joined = words
        .into_iter()
        .map(|w| w.into_text())
        .collect::<Vec<_>>()
        .join(" ");
    let ctx = haproxide_config::cond::CondContext {
        version: BEHAVES_AS,
        features: FEATURES.split(' ').map(str::to_string).collect(),
        ssl_lib: (String::new(), (0, 0, 0)),
    };
    match haproxide_config::cond::evaluate(&joined, &ctx, &env) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!(
                "[ALERT] config : Failed to evaluate condition: {} at position {}",
                e.message, e.pos
            );
            2
        }
    }
}

fn haproxy_command(args: HaproxyArgs) -> Result<u8> {
    if let Some(n) = &args.local_peer {
        haproxide_config::resolve::set_local_peer_arg(n);
    }
    if let Some(cond) = &args.check_condition {
        return Ok(check_condition(cond));
    }
    if args.show_version > 0 {
        println!(
            "haproxide version {} - HAProxy-compatible load balancer and configuration checker",
            env!("CARGO_PKG_VERSION")
        );
        if args.show_version > 1 {
            // The lines HAProxy's scripts/run-regtests.sh reads from `haproxy -vv`
            // (its "HA-Proxy version" line's third word, TARGET, the feature and
            // service lists), then what haproxide adds.
            let (a, b, c) = BEHAVES_AS;
            println!(
                "HAProxy version {a}.{b}.{c}-haproxide-{} - the HAProxy release whose run-time behaviour haproxide follows",
                env!("CARGO_PKG_VERSION")
            );
            println!("Build options :\n  TARGET  = linux-glibc\n");
            println!("Feature list : {FEATURES}\n");
            println!("Available services : prometheus-exporter");
            println!(
                "Keyword tables: HAProxy 2.6 (Debian 2.6.12 build) and master (3.x documentation)"
            );
        }
        return Ok(0);
    }
    let files = if args.files.is_empty() {
        vec![PathBuf::from("/etc/haproxy/haproxy.cfg")]
    } else {
        args.files.clone()
    };
    if !args.check {
        return runcmd::run(args, files);
    }
    let env = ProcessEnv;
    let opts = CheckOptions {
        target: Target::LATEST,
        env: &env,
        ignore_resolution_failures: args.dr,
        resolver: haproxide_config::Resolver::System,
        check_files: true,
        accounts: &haproxide_server::lifecycle::NssAccounts,
    };
    let checked = haproxide_config::check_run_mode(&files, &opts);
    let deny = args.dw || checked.config.global.zero_warning;
    let code = checked.exit_code(deny);
    if !(args.quiet || checked.config.global.quiet) {
        let (o, e) = render::haproxy(&checked, code, "3.5", deny);
        eprint!("{e}");
        print!("{o}");
    }
    // Exiting: skip freeing the configuration (see check_command).
    std::mem::forget(checked);
    Ok(u8::try_from(code).unwrap_or(1))
}

/// The default: the C library's malloc, with per-thread lists of the
/// cache-line-aligned blocks tokio allocates for each task and socket (`sys`).
#[cfg(not(any(feature = "alloc-jemalloc", feature = "alloc-mimalloc")))]
#[global_allocator]
static GLOBAL: sys::Alloc = sys::Alloc;

/// jemalloc, only to measure again (`--features alloc-jemalloc`): ~6 % less CPU
/// per keep-alive HTTP/1 request than glibc's malloc, but 2.6x its RSS per idle
/// keep-alive connection (glibc's `malloc_trim` gives those pages back) and ~9 %
/// more CPU per h2c request; the default build keeps the C library's malloc
/// (docs/performance.md "Session 10 (alloc)").
#[cfg(feature = "alloc-jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// mimalloc, only to measure again (`--features alloc-mimalloc`): 3.2x glibc's
/// RSS per idle keep-alive connection.
#[cfg(all(feature = "alloc-mimalloc", not(feature = "alloc-jemalloc")))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
