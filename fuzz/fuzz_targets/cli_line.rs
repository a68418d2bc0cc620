//! The runtime API's command line on arbitrary bytes, as a `stats socket` client
//! sends it: split into `;`-separated commands and words, then run by a session at
//! the level the first byte picks (user, operator, admin) against a small fixed
//! state. No panic; a `user` session never reaches an action (the state counts
//! them); `set weight` values never leave 0..=256.
#![no_main]

use std::sync::atomic::{AtomicUsize, Ordering};

use haproxide_admin::cli::exec::{parse_weight, split_commands};
use haproxide_admin::cli::{
    ActionError, FrontendAction, InfoSnapshot, Level, ProxySnapshot, RuntimeState, ServerAction,
    Session,
};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct State {
    actions: AtomicUsize,
}

impl RuntimeState for State {
    fn info(&self) -> InfoSnapshot {
        InfoSnapshot::default()
    }
    fn proxies(&self) -> Vec<ProxySnapshot> {
        vec![ProxySnapshot {
            name: "be".into(),
            iid: 2,
            mode: "tcp".into(),
            ..ProxySnapshot::default()
        }]
    }
    fn server_action(&self, _: &str, _: &str, _: ServerAction) -> Result<(), ActionError> {
        self.actions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn clear_counters(&self, _all: bool) {
        self.actions.fetch_add(1, Ordering::Relaxed);
    }
    fn frontend_action(&self, _: &str, _: FrontendAction) -> Result<(), ActionError> {
        self.actions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn set_global_maxconn(&self, _: u64) -> Result<(), ActionError> {
        self.actions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let level = match first % 3 {
        0 => Level::User,
        1 => Level::Operator,
        _ => Level::Admin,
    };
    let line = String::from_utf8_lossy(rest);
    let cmds = split_commands(&line);
    assert!(!cmds.is_empty());
    for words in &cmds {
        assert!(words.iter().all(|w| !w.is_empty() || line.contains('\\')));
        if let [_, w, ..] = words.as_slice() {
            if let Ok(v) = parse_weight(w, u32::from(first)) {
                assert!(v <= 256);
            }
        }
    }
    let state = State::default();
    let mut session = Session::new(&state, level);
    let reply = session.line(&line);
    assert!(session.level() <= level, "a session raised its own level");
    if level == Level::User {
        assert_eq!(state.actions.load(Ordering::Relaxed), 0, "{line:?}");
    }
    let _ = reply.output.len();
});
