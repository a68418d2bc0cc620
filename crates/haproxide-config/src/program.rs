//! `program` sections (configuration.txt §3.7, HAProxy 2.6; gone from later
//! versions): external processes the master starts and supervises, typed here
//! (`command`, `user`, `group`, `option start-on-reload`).

use crate::model::Config;
use crate::source::Span;

/// One `program <name>` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    pub span: Span,
    /// `command <command> [arguments*]`: the executable and its arguments (empty
    /// when the section has no `command`).
    pub command: Vec<String>,
    /// `user <user name>`: run as this user.
    pub user: Option<String>,
    /// `group <group name>`: run with this group.
    pub group: Option<String>,
    /// `[no] option start-on-reload` (default: start a new instance at each reload).
    pub start_on_reload: bool,
}

/// The `program` sections of `cfg`, in file order.
pub fn programs(cfg: &Config) -> Vec<Program> {
    cfg.others
        .iter()
        .filter(|o| o.kind == "program")
        .map(|o| {
            let mut p = Program {
                name: o.name.as_ref().map(|n| n.name.clone()).unwrap_or_default(),
                span: o.span,
                command: Vec::new(),
                user: None,
                group: None,
                start_on_reload: true,
            };
            for d in &o.directives {
                let words = || d.line.words.iter().skip(1).map(|w| w.text.clone());
                let l = &d.line;
                match (l.arg(0), l.arg(1), l.arg(2)) {
                    ("command", ..) => p.command = words().collect(),
                    ("user", ..) => p.user = words().next(),
                    ("group", ..) => p.group = words().next(),
                    ("option", "start-on-reload", _) => p.start_on_reload = true,
                    ("no", "option", "start-on-reload") => p.start_on_reload = false,
                    _ => {}
                }
            }
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_sections_typed() {
        let text =
            "global\n    master-worker\nprogram a\n    command /bin/sleep 30\n    user nobody\n\
                    program b\n    command /bin/true\n    no option start-on-reload\n";
        let checked = crate::test_support::check_text(text);
        let p = programs(&checked.config);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].name.as_str(), p[0].command.as_slice()),
            ("a", &["/bin/sleep".to_string(), "30".to_string()][..])
        );
        assert_eq!(p[0].user.as_deref(), Some("nobody"));
        assert!(p[0].start_on_reload);
        assert!(!p[1].start_on_reload);
    }
}
