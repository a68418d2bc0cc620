//! `haproxide [-f FILE|DIR]... [-d|-db|-D] [-p PIDFILE] [-sf PID...|-st PID...]`:
//! the flags become [`lifecycle::Options`] and the process's life is
//! [`lifecycle::run`] (haproxide-server): start, reload, stop. Only the way
//! diagnostics are printed is the binary's.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use haproxide_server::lifecycle::{self, Console, Options};

use crate::{render, HaproxyArgs};

/// Prints the configuration's diagnostics as `haproxide -c` does.
struct Stderr;

impl Console for Stderr {
    fn alerts(&self, checked: &haproxide_config::Checked) {
        let (_, e) = render::haproxy(checked, 1, "3.5", false);
        eprint!("{e}");
    }

    fn diagnostics(&self, checked: &haproxide_config::Checked) {
        eprint!("{}", render::human(checked, false));
    }

    fn warnings(&self, checked: &haproxide_config::Checked) {
        let (_, e) = render::haproxy(checked, 0, "3.5", false);
        eprint!("{e}");
    }
}

pub(crate) fn run(args: HaproxyArgs, files: Vec<PathBuf>) -> Result<u8> {
    let opts = Options {
        files,
        quiet: args.quiet,
        dr: args.dr,
        debug: args.debug,
        foreground: args.foreground,
        daemon: args.daemon,
        pidfile: args.pidfile,
        verbose: args.verbose,
        soft_finish: args.soft_finish,
        terminate: args.terminate,
        takeover: args.takeover,
        master_worker: args.master_worker,
        master_worker_systemd: args.master_worker_systemd,
        master_cli: args.master_cli,
        allow_unsupported: args.allow_unsupported,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    Ok(lifecycle::run(opts, Arc::new(Stderr))?)
}
