//! `userlist` sections (configuration.txt §3.4 "Userlists"): users with an
//! `insecure-password` or a crypt(3) `password`, and groups. Passwords are
//! checked with the `pwhash` crate (pure Rust: MD5-crypt `$1$`, SHA-256-crypt
//! `$5$`, SHA-512-crypt `$6$`, bcrypt `$2*$`, DES), the hashes glibc's crypt(3)
//! reads, so a userlist written for HAProxy works unchanged.

/// A user's password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// `insecure-password <text>`.
    Insecure(String),
    /// `password <crypt(3) hash>`.
    Crypt(String),
}

/// A user of a userlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: Password,
    /// The groups it belongs to (from `user ... groups` and `group ... users`).
    pub groups: Vec<String>,
}

/// A `userlist` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Userlist {
    pub name: String,
    pub users: Vec<User>,
}

impl Userlist {
    /// Whether `user` / `pass` authenticate (HAProxy's `check_user`).
    pub fn check(&self, user: &[u8], pass: &[u8]) -> bool {
        let Some(u) = self.users.iter().find(|u| u.name.as_bytes() == user) else {
            return false;
        };
        match &u.password {
            Password::Insecure(p) => constant_time_eq(p.as_bytes(), pass),
            Password::Crypt(hash) => match std::str::from_utf8(pass) {
                Ok(p) => pwhash::unix::verify(p, hash),
                Err(_) => false,
            },
        }
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pw: Password) -> Userlist {
        Userlist {
            name: "L".into(),
            users: vec![User {
                name: "bob".into(),
                password: pw,
                groups: vec![],
            }],
        }
    }

    #[test]
    fn insecure_and_crypt_passwords() {
        let l = list(Password::Insecure("secret".into()));
        assert!(l.check(b"bob", b"secret"));
        assert!(!l.check(b"bob", b"secre"));
        assert!(!l.check(b"eve", b"secret"));
        // `openssl passwd -6 -salt saltsalt secret` and `openssl passwd -1 -salt
        // abcdefgh secret` (crypt(3) hashes as HAProxy's userlists hold them).
        let sha512 = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
        let l = list(Password::Crypt(sha512.into()));
        assert!(l.check(b"bob", b"secret"));
        assert!(!l.check(b"bob", b"Secret"));
        let md5 = "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1";
        let l = list(Password::Crypt(md5.into()));
        assert!(l.check(b"bob", b"secret"));
        assert!(!l.check(b"bob", b"x"));
        let l = list(Password::Crypt("garbage".into()));
        assert!(!l.check(b"bob", b"secret"));
    }
}
