//! The test suites' [`Accounts`]: getent(1), i.e. NSS as HAProxy's getpwnam(3),
//! without a system call in the config crate (the binary uses
//! `haproxide_process::sys::NssAccounts`).

use haproxide_config::Accounts;

pub struct Getent;

fn id(db: &str, name: &str) -> Option<u32> {
    let out = std::process::Command::new("getent")
        .args([db, name])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.lines().next()?.split(':');
    // getent also looks numeric ids up (`getent passwd 0`); getpwnam() does not.
    if fields.next()? != name {
        return None;
    }
    fields.nth(1)?.parse().ok()
}

impl Accounts for Getent {
    fn user_id(&self, name: &str) -> Option<u32> {
        id("passwd", name)
    }
    fn group_id(&self, name: &str) -> Option<u32> {
        id("group", name)
    }
}
