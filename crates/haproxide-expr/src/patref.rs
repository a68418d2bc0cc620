//! The shared, versioned pattern store behind ACLs and maps (HAProxy's
//! `pat_ref`; management.txt §9.3 `add/del/show/clear/get/prepare/commit
//! acl|map`, `set map`).
//!
//! Each pattern file (`-f` of an ACL, the file of a `map_*` converter) is one
//! [`PatRef`], shared by every expression that names it; each ACL expression
//! also gets an anonymous reference holding its inline patterns. A reference
//! keeps its entries with the version (generation) they belong to; the current
//! version is what matching sees. The runtime API changes a reference; every
//! expression reading it is then recompiled and swapped in, so the next
//! request matches against the new contents.
//!
//! The hot path stays cheap: a compiled expression keeps what the
//! configuration gave it and only looks at its [`Live`] slot, an atomic flag,
//! until the CLI changed something; then a read lock clones an `Arc`.
//!
//! One registry per process ([`global`]), as HAProxy's `pattern_reference`
//! list; the configuration parser clears it when it starts a new parse.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

/// `PAT_REF_ACL`: an ACL reads the reference.
pub const ACL: u8 = 1;
/// `PAT_REF_MAP`: a map converter reads it.
pub const MAP: u8 = 2;
/// `PAT_REF_SMP`: its entries carry values (a map's).
pub const SMP: u8 = 4;

/// One entry: a pattern (a map's key) and a map's value, in a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elt {
    /// Shown `0x…` (HAProxy shows the entry's address); `#0x…` names it.
    pub id: u64,
    pub gen: u32,
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Default)]
struct RefState {
    curr: u32,
    next: u32,
    elts: Vec<Elt>,
    users: Vec<Weak<dyn Consumer>>,
}

/// What reads a reference: recompiled when the reference's current entries
/// change, asked whether an entry would compile, and asked for `get acl|map`.
pub trait Consumer: Send + Sync + std::fmt::Debug {
    /// Compile again from the current entries of the references read.
    fn rebuild(&self);
    /// Whether `key` (and `value`) compile for this reader; HAProxy's error text.
    fn check(&self, key: &str, value: Option<&str>) -> Result<(), String>;
    /// One `get acl|map` line (without its newline) for `sample` looked up in
    /// `entries` (the reference's current ones); `map` selects the wording.
    fn lookup(&self, entries: &[Elt], sample: &str, map: bool) -> String;
}

/// A pattern reference (HAProxy's `struct pat_ref`).
#[derive(Debug)]
pub struct PatRef {
    /// The file name (`None` for an ACL's inline patterns).
    pub reference: Option<String>,
    /// What `show acl|map` says of it.
    pub display: String,
    flags: AtomicU8,
    state: Mutex<RefState>,
}

static NEXT_ELT: AtomicU64 = AtomicU64::new(0x55d0_0a00_0000);

fn elt_id() -> u64 {
    NEXT_ELT.fetch_add(0x50, Ordering::Relaxed)
}

impl PatRef {
    fn lock(&self) -> MutexGuard<'_, RefState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// `PAT_REF_*` bits.
    pub fn flags(&self) -> u8 {
        self.flags.load(Ordering::Relaxed)
    }
    /// Current and next version.
    pub fn versions(&self) -> (u32, u32) {
        let s = self.lock();
        (s.curr, s.next)
    }
    /// Every entry, all versions, in order.
    pub fn entries(&self) -> Vec<Elt> {
        self.lock().elts.clone()
    }
    /// The entries of version `gen` (`None`: the current one).
    pub fn entries_of(&self, gen: Option<u32>) -> Vec<Elt> {
        let s = self.lock();
        let g = gen.unwrap_or(s.curr);
        s.elts.iter().filter(|e| e.gen == g).cloned().collect()
    }
    /// The keys (and values) of the current version, in order.
    pub fn current(&self) -> Vec<(String, Option<String>)> {
        let s = self.lock();
        s.elts
            .iter()
            .filter(|e| e.gen == s.curr)
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }
    /// The live readers.
    pub fn users(&self) -> Vec<Arc<dyn Consumer>> {
        self.lock().users.iter().filter_map(Weak::upgrade).collect()
    }
    /// Registers a reader (it is recompiled on changes).
    pub fn add_user(&self, c: Weak<dyn Consumer>) {
        self.lock().users.push(c);
    }
    fn rebuild_users(&self) {
        for u in self.users() {
            u.rebuild();
        }
    }

    /// Adds an entry to version `gen` (`None`: the current one) after every
    /// reader accepted it (HAProxy's `pat_ref_load`).
    pub fn add(&self, gen: Option<u32>, key: &str, value: Option<&str>) -> Result<(), String> {
        for u in self.users() {
            u.check(key, value)?;
        }
        let visible = {
            let mut s = self.lock();
            let g = gen.unwrap_or(s.curr);
            s.elts.push(Elt {
                id: elt_id(),
                gen: g,
                key: key.to_string(),
                value: value.map(str::to_string),
            });
            g == s.curr
        };
        if visible {
            self.rebuild_users();
        }
        Ok(())
    }

    /// Deletes the entries whose key is `key` (`#0x…`: the entry with that
    /// id); whether any was.
    pub fn delete(&self, key: &str) -> bool {
        let id = parse_id(key);
        let found = {
            let mut s = self.lock();
            let n = s.elts.len();
            s.elts.retain(|e| match id {
                Some(i) => e.id != i,
                None => e.key != key,
            });
            n != s.elts.len()
        };
        if found {
            self.rebuild_users();
        }
        found
    }

    /// `set map`: the value of the entries whose key is `key` (or `#0x…`).
    pub fn set(&self, key: &str, value: &str) -> Result<(), String> {
        let id = parse_id(key);
        let hit = |e: &Elt| match id {
            Some(i) => e.id == i,
            None => e.key == key,
        };
        if !self.lock().elts.iter().any(hit) {
            return Err(if id.is_some() {
                "key or pattern not found".into()
            } else {
                "entry not found".into()
            });
        }
        for u in self.users() {
            u.check("", Some(value))
                .map_err(|_| format!("unable to parse '{value}'"))?;
        }
        for e in self.lock().elts.iter_mut().filter(|e| hit(e)) {
            e.value = Some(value.to_string());
        }
        self.rebuild_users();
        Ok(())
    }

    /// `clear [@<ver>]`: drops the entries of that version (default current).
    pub fn clear(&self, gen: Option<u32>) {
        {
            let mut s = self.lock();
            let g = gen.unwrap_or(s.curr);
            s.elts.retain(|e| e.gen != g);
        }
        self.rebuild_users();
    }

    /// `prepare`: a new version number.
    pub fn prepare(&self) -> u32 {
        let mut s = self.lock();
        s.next = s.next.wrapping_add(1);
        s.next
    }

    /// `commit @<ver>`: `ver` becomes current and older versions go; false
    /// when `ver` was not prepared (HAProxy's range check).
    pub fn commit(&self, gen: u32) -> bool {
        {
            let mut s = self.lock();
            if gen.wrapping_sub(s.curr.wrapping_add(1)) >= s.next.wrapping_sub(s.curr) {
                return false;
            }
            s.curr = gen;
            // Purge [gen-1 - 2^31+1, gen-1], wrapping, as HAProxy's commit.
            let to = gen.wrapping_sub(1);
            let from = to.wrapping_sub(u32::MAX >> 1);
            s.elts
                .retain(|e| e.gen.wrapping_sub(from) > to.wrapping_sub(from));
        }
        self.rebuild_users();
        true
    }
}

/// `#0x5593b117d7f0` → the entry id.
fn parse_id(key: &str) -> Option<u64> {
    let h = key.strip_prefix("#0x")?;
    u64::from_str_radix(h, 16).ok()
}

/// The files seen, and where each reference was created (file, line, phase).
type Origins = (Vec<String>, Vec<(usize, u32, u8)>);

/// The process's references, in creation order (their ids follow it).
#[derive(Debug, Default)]
pub struct Registry {
    refs: Mutex<Vec<Arc<PatRef>>>,
    /// Where each reference was created: (file order, line, phase): ids
    /// follow it, as HAProxy numbers references in parse order (on a rule
    /// line, the action's maps before the condition's ACLs).
    at: Mutex<Origins>,
    /// One CLI change at a time: recompiles finish in the order changes do.
    writer: Mutex<()>,
    /// Every reader, kept while this configuration is (an ACL no rule uses
    /// still checks what is added to its reference, as in HAProxy).
    readers: Mutex<Vec<Arc<dyn Consumer>>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }
    fn list(&self) -> MutexGuard<'_, Vec<Arc<PatRef>>> {
        self.refs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Serializes runtime changes (hold the guard while changing).
    pub fn write_guard(&self) -> MutexGuard<'_, ()> {
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Forgets every reference (a new configuration is being read).
    pub fn clear(&self) {
        let mut l = self.list();
        l.clear();
        let mut at = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *at = Default::default();
        self.readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Registers `c` as a reader of `refs` (kept until [`Registry::clear`]).
    pub fn add_reader(&self, refs: &[Arc<PatRef>], c: Arc<dyn Consumer>) {
        for r in refs {
            r.add_user(Arc::downgrade(&c));
        }
        self.readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(c);
    }

    fn push(&self, l: &mut Vec<Arc<PatRef>>, r: Arc<PatRef>, at: Option<(&str, u32, u8)>) {
        let mut a = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (file, line, phase) = at.unwrap_or(("?", u32::MAX, 0));
        let fi = match a.0.iter().position(|f| f == file) {
            Some(i) => i,
            None => {
                a.0.push(file.to_string());
                a.0.len() - 1
            }
        };
        a.1.push((fi, line, phase));
        l.push(r);
    }
    /// The file reference `file`, created with `load` entries when new; its
    /// flags gain `flags`.
    pub fn file(
        &self,
        file: &str,
        at: Option<(&str, u32, u8)>,
        flags: u8,
        display: impl FnOnce() -> String,
        load: impl FnOnce() -> Vec<(String, Option<String>)>,
    ) -> Arc<PatRef> {
        let mut l = self.list();
        if let Some(r) = l.iter().find(|r| r.reference.as_deref() == Some(file)) {
            r.flags.fetch_or(flags, Ordering::Relaxed);
            return r.clone();
        }
        let r = Arc::new(PatRef::new(
            Some(file.to_string()),
            display(),
            flags,
            load(),
        ));
        self.push(&mut l, r.clone(), at);
        r
    }
    /// A new anonymous reference (an ACL expression's inline patterns).
    pub fn anonymous(
        &self,
        at: Option<(&str, u32, u8)>,
        display: String,
        keys: &[String],
    ) -> Arc<PatRef> {
        let elts = keys.iter().map(|k| (k.clone(), None)).collect();
        let r = Arc::new(PatRef::new(None, display, ACL, elts));
        let mut l = self.list();
        self.push(&mut l, r.clone(), at);
        r
    }
    /// `(id, reference)` in id order.
    pub fn all(&self) -> Vec<(usize, Arc<PatRef>)> {
        let l = self.list();
        let a = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut v: Vec<(usize, Arc<PatRef>)> = l.iter().cloned().enumerate().collect();
        v.sort_by_key(|(i, _)| a.1.get(*i).copied());
        v.into_iter()
            .enumerate()
            .map(|(id, (_, r))| (id, r))
            .collect()
    }
    /// `#<id>` or a file name (HAProxy's `pat_ref_lookup_ref`).
    pub fn lookup(&self, name: &str) -> Option<Arc<PatRef>> {
        match name.strip_prefix('#') {
            Some(id) => {
                let id = id.parse::<usize>().ok()?;
                self.all()
                    .into_iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, r)| r)
            }
            None => self
                .list()
                .iter()
                .find(|r| r.reference.as_deref() == Some(name))
                .cloned(),
        }
    }
}

impl PatRef {
    fn new(
        reference: Option<String>,
        display: String,
        flags: u8,
        load: Vec<(String, Option<String>)>,
    ) -> PatRef {
        let elts = load
            .into_iter()
            .map(|(key, value)| Elt {
                id: elt_id(),
                gen: 0,
                key,
                value,
            })
            .collect();
        PatRef {
            reference,
            display,
            flags: AtomicU8::new(flags),
            state: Mutex::new(RefState {
                elts,
                ..RefState::default()
            }),
        }
    }
}

/// A pattern file's entries: one per line, blanks around removed, empty
/// lines and `#` comments skipped; with `as_map` the first word is the key and
/// the rest of the line (blanks trimmed) the value.
pub fn entries_from_file(text: &str, as_map: bool) -> Vec<(String, Option<String>)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_matches([' ', '\t', '\r']);
            if l.is_empty() || l.starts_with('#') {
                return None;
            }
            if !as_map {
                return Some((l.to_string(), None));
            }
            Some(match l.find([' ', '\t']) {
                Some(i) => (
                    l[..i].to_string(),
                    Some(l[i..].trim_matches([' ', '\t']).to_string()),
                ),
                None => (l.to_string(), Some(String::new())),
            })
        })
        .collect()
}

/// One `get acl|map` answer line, HAProxy 2.6's `cli_io_handler_map_lookup`:
/// the match method, the case, whether an entry matched, how the method is
/// indexed, the entry's key and, for a map, its value and the value's type.
pub fn lookup_line(
    method: &str,
    ignore_case: bool,
    hit: Option<&Elt>,
    map: bool,
    value_type: Option<&str>,
) -> String {
    let mut out = format!(
        "type={method}, case={}",
        if ignore_case {
            "insensitive"
        } else {
            "sensitive"
        }
    );
    let Some(e) = hit else {
        out.push_str(if map { ", found=no" } else { ", match=no" });
        return out;
    };
    let tree = !ignore_case && matches!(method, "str" | "beg" | "ip");
    out.push_str(if map { ", found=yes" } else { ", match=yes" });
    out.push_str(if tree { ", idx=tree" } else { ", idx=list" });
    if map {
        out.push_str(&format!(", key=\"{}\"", e.key));
        match (&e.value, value_type) {
            (Some(v), Some(t)) => out.push_str(&format!(", value=\"{v}\", type=\"{t}\"")),
            _ => out.push_str(", value=none"),
        }
    } else {
        out.push_str(&format!(", pattern=\"{}\"", e.key));
    }
    out
}

static GLOBAL: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();

/// The process's registry.
pub fn global() -> &'static Registry {
    GLOBAL.get_or_init(Registry::new)
}

/// A compiled value the runtime API may replace: readers keep the one they
/// were built with until [`Live::store`] ran once.
#[derive(Debug, Default)]
pub struct Live<T> {
    changed: AtomicBool,
    cur: RwLock<Option<Arc<T>>>,
}

impl<T> Live<T> {
    pub fn new() -> Live<T> {
        Live {
            changed: AtomicBool::new(false),
            cur: RwLock::new(None),
        }
    }
    /// The replacement, if the runtime API made one.
    #[inline]
    pub fn load(&self) -> Option<Arc<T>> {
        if !self.changed.load(Ordering::Acquire) {
            return None;
        }
        self.cur
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
    /// Swaps in a new compiled value.
    pub fn store(&self, v: T) {
        *self
            .cur
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(v));
        self.changed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests;
