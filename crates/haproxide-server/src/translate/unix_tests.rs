//! UNIX-socket server addresses (configuration.txt §2.3): what reaches the specs,
//! and what is refused with its line.

use super::tests::plan;
use std::path::Path;

const HEAD: &str =
    "defaults\n mode tcp\n timeout client 5s\n timeout server 5s\n timeout connect 2s\n";

#[test]
fn unix_paths_reach_traffic_and_checks() {
    let (p, errors) = plan(&format!(
        "{HEAD}listen l\n bind 127.0.0.1:8080\n server a /run/a.sock check\n\
         server b unix@/run/b.sock check addr 127.0.0.1 port 81\n"
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let be = &p.engine.backends[0];
    assert_eq!(
        be.servers[0].unix.as_deref(),
        Some(Path::new("/run/a.sock"))
    );
    assert_eq!(
        be.servers[1].unix.as_deref(),
        Some(Path::new("/run/b.sock"))
    );
    let checks: Vec<_> = p.checked.iter().filter_map(|c| c.check.as_ref()).collect();
    assert_eq!(checks[0].unix.as_deref(), Some(Path::new("/run/a.sock")));
    // The check goes to `addr` (TCP) when set: the prober ignores `unix` then.
    assert_eq!(checks[1].addr, Some("127.0.0.1".parse().expect("ip")));
}

#[test]
fn abstract_namespace_is_refused_with_its_line() {
    let (_, errors) = plan(&format!(
        "{HEAD}listen l\n bind 127.0.0.1:8080\n server a abns@name\n"
    ));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("abstract-namespace"),
        "{}",
        errors[0].message
    );
    assert_eq!(errors[0].span.map(|s| s.line), Some(8));
}

/// `ssl` to a UNIX-socket server runs (the TLS connector over the socket).
#[test]
fn tls_to_a_unix_socket_server_reaches_the_spec() {
    let (p, errors) = plan(&format!(
        "{HEAD}listen l\n bind 127.0.0.1:8080\n server a /run/a.sock ssl verify none\n"
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        p.engine.backends[0].servers[0].unix.as_deref(),
        Some(Path::new("/run/a.sock"))
    );
}
