//! User and group names → ids, as the caller's system resolves them.
//!
//! `user`/`group` (configuration.txt §3.1) and the `user`/`group` options of
//! `stats socket` (§5.1) name accounts. HAProxy looks them up with getpwnam(3) and
//! getgrnam(3), i.e. through NSS (files, LDAP, sssd...). This crate makes no system
//! call: it asks an [`Accounts`] the caller provides, as it asks a
//! [`crate::Resolver`] for host names. The binary gives it the NSS lookup of
//! `haproxide-process`'s `sys` module; tests give it what they need.

/// Looks up account names.
pub trait Accounts: Sync {
    /// The uid of a user name; None when the system knows no such user.
    fn user_id(&self, name: &str) -> Option<u32>;
    /// The gid of a group name; None when the system knows no such group.
    fn group_id(&self, name: &str) -> Option<u32>;
}

/// Knows no account: every `user`/`group` name is reported as unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAccounts;

impl Accounts for NoAccounts {
    fn user_id(&self, _: &str) -> Option<u32> {
        None
    }
    fn group_id(&self, _: &str) -> Option<u32> {
        None
    }
}

/// Fixed accounts (tests, and tools that check for another machine).
#[derive(Debug, Clone, Default)]
pub struct FixedAccounts {
    pub users: Vec<(String, u32)>,
    pub groups: Vec<(String, u32)>,
}

impl Accounts for FixedAccounts {
    fn user_id(&self, name: &str) -> Option<u32> {
        self.users
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }
    fn group_id(&self, name: &str) -> Option<u32> {
        self.groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }
}
