//! management.txt §9.3 `get var <name>` and `set var <name> [fmt|expr]
//! {<fmt>|<expr>}` over the process-wide `proc.` variables
//! ([`haproxide_expr::procvars`]), worded as HAProxy 2.6.12 (`vars.c`). Both
//! need `operator` level; `set var` is an experimental-mode command (the
//! session checks that first, as HAProxy's CLI does before the command runs).

use haproxide_expr::procvars;
use haproxide_expr::{LfMode, LogFormat, SampleExpr, SmpType};

/// `get var <name>`.
pub fn get_var(rest: &[&str]) -> String {
    let Some(name) = rest.first().filter(|n| !n.is_empty()) else {
        return "Missing process-wide variable identifier.\n".into();
    };
    let Some(v) = procvars::is_proc(name)
        .then(|| procvars::get(name))
        .flatten()
    else {
        return "Variable not found.\n".into();
    };
    let ty = v.ty().name();
    let shown = match v.cast(SmpType::Str).as_ref().and_then(|s| s.bytes()) {
        Some(b) => {
            let text: String = b
                .iter()
                .map(|&c| {
                    if c.is_ascii_graphic() || c == b' ' {
                        c as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("<{text}>")
        }
        None => "(undisplayable)".into(),
    };
    // No newline of its own: HAProxy prints the line and the answer's end.
    format!("{name}: type={ty} value={shown}")
}

/// `set var <name> [fmt|expr] <value>` (the session checked the mode and level).
pub fn set_var(rest: &[&str]) -> String {
    let Some(name) = rest.first().filter(|n| !n.is_empty()) else {
        return "Missing process-wide variable identifier.\n".into();
    };
    let Some(arg) = rest.get(1) else {
        return "Missing either 'expr', 'fmt' or expression.\n".into();
    };
    let (fmt, value) = match rest.get(2) {
        Some(v) => match *arg {
            "fmt" => (true, *v),
            "expr" => (false, *v),
            other => {
                return format!(
                    "'set var': arg type must be either 'expr' or 'fmt' but got '{other}'."
                )
            }
        },
        None => (false, *arg),
    };
    if !procvars::is_proc(name) {
        return format!(
            "'set var': cannot set variable '{name}', only scope 'proc' is permitted here."
        );
    }
    let done = if fmt {
        LogFormat::parse(value, LfMode::Http)
            .map(|f| procvars::set_from_format(name, &f))
            .map_err(|e| e.to_string())
    } else {
        SampleExpr::parse(value)
            .map(|e| procvars::set_from_expr(name, &e))
            .map_err(|e| e.message)
    };
    match done {
        Ok(()) => String::new(),
        Err(m) => format!("failed to parse sample expression <{value}> : {m}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_set_var_answer_as_haproxy() {
        assert_eq!(get_var(&[]), "Missing process-wide variable identifier.\n");
        assert_eq!(get_var(&["proc.cli_vars_none"]), "Variable not found.\n");
        assert_eq!(get_var(&["txn.x"]), "Variable not found.\n");
        assert_eq!(set_var(&["proc.cli_vars_a", "int(5)"]), "");
        assert_eq!(
            get_var(&["proc.cli_vars_a"]),
            "proc.cli_vars_a: type=sint value=<5>"
        );
        assert_eq!(
            set_var(&["proc.cli_vars_b", "fmt", "%[var(proc.cli_vars_a)]x"]),
            ""
        );
        assert_eq!(
            get_var(&["proc.cli_vars_b"]),
            "proc.cli_vars_b: type=str value=<5x>"
        );
        assert_eq!(
            set_var(&["txn.y", "int(1)"]),
            "'set var': cannot set variable 'txn.y', only scope 'proc' is permitted here."
        );
        assert_eq!(
            set_var(&["proc.z", "foo", "int(1)"]),
            "'set var': arg type must be either 'expr' or 'fmt' but got 'foo'."
        );
        assert_eq!(
            set_var(&["proc.z"]),
            "Missing either 'expr', 'fmt' or expression.\n"
        );
    }
}
