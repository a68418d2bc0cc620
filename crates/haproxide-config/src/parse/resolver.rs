use super::*;

/// How host names are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// The C library (`getaddrinfo`), as HAProxy does: /etc/hosts, then DNS.
    System,
    /// Only /etc/hosts and `localhost`: never sends a packet (tests, offline CI).
    HostsFile,
    /// Do not resolve: every host name is taken as resolvable.
    Off,
}

/// How long the system resolver may take for one `check` (all names together): a
/// dead DNS server must not hang a lint (libc retries for 10 s and more per name).
pub const SYSTEM_RESOLVE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(1500);

/// Resolve names with the C library, in parallel, within `deadline` in all. Returns
/// the names that resolved; a name with no answer in time counts as unresolved.
pub fn resolve_system(names: &[String], deadline: std::time::Duration) -> HashSet<String> {
    use std::sync::mpsc;
    let (tx, rx) = mpsc::channel::<(String, bool)>();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(names.to_vec()));
    let workers = names.len().clamp(1, 32);
    for _ in 0..workers {
        let (tx, queue) = (tx.clone(), std::sync::Arc::clone(&queue));
        // Detached on purpose: a lookup stuck in libc ends by itself later; the
        // caller does not wait for it past the deadline.
        let spawned = std::thread::Builder::new()
            .name("haproxide-resolve".into())
            .spawn(move || loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(name) = next else { break };
                let ok = (name.as_str(), 0u16)
                    .to_socket_addrs()
                    .map(|mut a| a.next().is_some())
                    .unwrap_or(false);
                if tx.send((name, ok)).is_err() {
                    break;
                }
            });
        if spawned.is_err() {
            break;
        }
    }
    drop(tx);
    let end = std::time::Instant::now() + deadline;
    let mut ok = HashSet::new();
    for _ in 0..names.len() {
        let left = end.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((name, true)) => {
                ok.insert(name);
            }
            Ok((_, false)) => {}
            Err(_) => break,
        }
    }
    ok
}

impl Resolver {
    /// Whether `host` resolves (the system resolver is bounded by
    /// [`SYSTEM_RESOLVE_DEADLINE`]).
    pub fn resolves(self, host: &str) -> bool {
        match self {
            Resolver::Off => true,
            Resolver::System => {
                resolve_system(&[host.to_string()], SYSTEM_RESOLVE_DEADLINE).contains(host)
            }
            Resolver::HostsFile => {
                host.eq_ignore_ascii_case("localhost")
                    || std::fs::read_to_string("/etc/hosts").is_ok_and(|t| {
                        t.lines().any(|l| {
                            let l = l.split('#').next().unwrap_or("");
                            l.split_whitespace()
                                .skip(1)
                                .any(|n| n.eq_ignore_ascii_case(host))
                        })
                    })
            }
        }
    }
}
