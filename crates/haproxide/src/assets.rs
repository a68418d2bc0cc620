//! `haproxide generate-assets DIR` (hidden): the man pages and the shell completions,
//! generated from the clap definition itself, so that they can never describe other
//! flags than the binary parses. The Debian package is built with them
//! (`scripts/build-deb`); nothing generated is committed.
//!
//! Layout under DIR: `man1/haproxide.1`, `man1/haproxide-check.1`,
//! `completions/haproxide.bash`, `completions/_haproxide` (zsh),
//! `completions/haproxide.fish`.
//!
//! HAProxy spells some flags with one dash and several letters (`-dr`, `-db`, `-sf`);
//! the parser sees them as hidden long flags (`translate_args`). The man page lists
//! those under "HAPROXY-STYLE FLAGS" with HAProxy's spelling (management.txt §3).

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use crate::{translate_args, Cli};

const BIN: &str = "haproxide";

/// Writes every asset under `out` (created if missing).
pub(crate) fn generate(out: &Path) -> Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man_dir = out.join("man1");
    fs::create_dir_all(&man_dir).with_context(|| format!("creating {}", man_dir.display()))?;
    write(&man_dir.join("haproxide.1"), &main_page(&cmd)?)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = Man::new(sub.clone());
        let mut page = Vec::new();
        man.render(&mut page)?;
        let mut extra = Roff::new();
        see_also(&mut extra);
        extra.to_writer(&mut page)?;
        write(&man_dir.join(man.get_filename()), &page)?;
    }
    let mut visible = visible_only(&Cli::command());
    let comp_dir = out.join("completions");
    fs::create_dir_all(&comp_dir).with_context(|| format!("creating {}", comp_dir.display()))?;
    for (shell, name) in [
        (Shell::Bash, "haproxide.bash"),
        (Shell::Zsh, "_haproxide"),
        (Shell::Fish, "haproxide.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut visible, BIN, &mut buf);
        write(&comp_dir.join(name), &buf)?;
    }
    Ok(())
}

/// The (unbuilt) command without its hidden arguments and subcommands: completion generators
/// would offer them (the generator itself, and the parser's `--dr`, `--sf`... that
/// stand for HAProxy's `-dr`, `-sf`).
fn visible_only(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(BIN)
        .about(cmd.get_about().cloned().unwrap_or_default())
        .disable_help_subcommand(true)
        .args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(sub.clone());
    }
    out
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// haproxide(1): clap's sections, then HAProxy's one-dash flags, files, exit status.
fn main_page(cmd: &clap::Command) -> Result<Vec<u8>> {
    let man = Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let mut roff = Roff::new();
    haproxy_flags(cmd, &mut roff);
    roff.to_writer(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    let mut roff = Roff::new();
    files_and_status(&mut roff);
    see_also(&mut roff);
    roff.to_writer(&mut page)?;
    man.render_version_section(&mut page)?;
    Ok(once_preamble(page))
}

/// Each `Man::render_*` call starts with roff's apostrophe preamble; keep the first.
fn once_preamble(page: Vec<u8>) -> Vec<u8> {
    const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let text = String::from_utf8_lossy(&page);
    match text.split_once(PREAMBLE) {
        Some((head, rest)) => {
            format!("{head}{PREAMBLE}{}", rest.replace(PREAMBLE, "")).into_bytes()
        }
        None => page,
    }
}

/// The hidden long flags that `translate_args` produces from HAProxy's one-dash
/// spelling, shown as HAProxy users type them.
fn haproxy_flags(cmd: &clap::Command, roff: &mut Roff) {
    roff.control("SH", ["HAPROXY-STYLE FLAGS"]);
    roff.text([roman(
        "HAProxy spells these flags with a single dash and several letters; haproxide accepts them as HAProxy does.",
    )]);
    for arg in cmd.get_arguments().filter(|a| a.is_hide_set()) {
        let Some(long) = arg.get_long() else { continue };
        let one_dash = format!("-{long}");
        let is_haproxy_spelling = translate_args(std::iter::once(one_dash.clone()))
            .first()
            .is_some_and(|t| *t == format!("--{long}"));
        if !is_haproxy_spelling {
            continue;
        }
        let mut head = vec![bold(one_dash)];
        if arg.get_action().takes_values() {
            let names = arg
                .get_value_names()
                .map(|v| {
                    v.iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|| "VALUE".into());
            let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
            head.push(roman(" "));
            head.push(italic(if many { format!("{names}...") } else { names }));
        }
        roff.control("TP", []);
        roff.text(head);
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        roff.text([roman(help)]);
    }
}

fn files_and_status(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    for (path, what) in [
        (
            "/etc/haproxide/haproxy.cfg",
            "The configuration the packaged systemd unit runs by default (HAProxy's language).",
        ),
        (
            "/etc/default/haproxide",
            "CONFIG, PIDFILE and EXTRAOPTS for the unit; CONFIG=/etc/haproxy/haproxy.cfg runs HAProxy's own file.",
        ),
        (
            "/lib/systemd/system/haproxide.service",
            "The unit: checks with -c -q before start and reload, runs in master-worker mode (-Ws), reloads with SIGUSR2.",
        ),
        ("/run/haproxide.pid", "The pid file the unit asks for (-p)."),
    ] {
        roff.control("TP", []);
        roff.text([italic(path)]);
        roff.text([roman(what)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "As haproxy -c: 0 when the configuration is valid, 1 when it has errors (or warnings with -dW), 2 when it is valid but nothing listens.",
    )]);
}

fn see_also(roff: &mut Roff) {
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("haproxy"),
        roman("(1), "),
        bold("haproxide"),
        roman("(1), "),
        bold("haproxide-check"),
        roman("(1), "),
        bold("systemctl"),
        roman("(1). HAProxy's configuration.txt and management.txt are the specification haproxide follows; /usr/share/doc/haproxide/migrating-from-haproxy.md tells how to move a running HAProxy onto it."),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "haproxide-assets-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn man_pages_and_completions_follow_the_clap_definition() {
        let dir = temp_dir();
        let _guard = Cleanup(dir.clone());
        generate(&dir).unwrap();
        let man = fs::read_to_string(dir.join("man1/haproxide.1")).unwrap();
        assert!(man.contains("\n.TH haproxide 1 "), "{man}");
        assert_eq!(man.matches(".ds Aq").count(), 2, "{man}");
        // A visible flag, a one-dash HAProxy flag with its value, the subcommand.
        assert!(man.contains("\\-p"), "{man}");
        assert!(man.contains(".SH \"HAPROXY-STYLE FLAGS\""), "{man}");
        assert!(man.contains("\\fB\\-sf\\fR \\fIPID...\\fR"), "{man}");
        assert!(man.contains("\\fB\\-dr\\fR"), "{man}");
        assert!(man.contains("haproxide\\-check(1)"), "{man}");
        // The hidden generator does not document itself.
        assert!(!man.contains("generate-assets") && !man.contains("generate\\-assets"));
        let check = fs::read_to_string(dir.join("man1/haproxide-check.1")).unwrap();
        assert!(check.contains("\\-\\-haproxy\\-version"), "{check}");
        for (file, needle) in [
            ("completions/haproxide.bash", "--haproxy-version"),
            ("completions/_haproxide", "--haproxy-version"),
            ("completions/haproxide.fish", "haproxy-version"),
        ] {
            let text = fs::read_to_string(dir.join(file)).unwrap();
            assert!(text.contains(needle), "{file}: {text}");
            assert!(text.contains("check"), "{file}");
            assert!(!text.contains("generate-assets"), "{file}");
            assert!(!text.contains("--sf"), "{file}");
        }
    }
}
