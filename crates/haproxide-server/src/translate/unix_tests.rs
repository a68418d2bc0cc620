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
fn abstract_fd_and_tls_to_unix_are_refused_with_their_line() {
    for (server, what) in [
        ("server a abns@name", "abstract-namespace"),
        (
            "server a /run/a.sock ssl verify none",
            "`ssl` to a UNIX-socket server",
        ),
    ] {
        let (_, errors) = plan(&format!(
            "{HEAD}listen l\n bind 127.0.0.1:8080\n {server}\n"
        ));
        assert_eq!(errors.len(), 1, "{server}: {errors:?}");
        assert!(errors[0].message.contains(what), "{}", errors[0].message);
        assert_eq!(errors[0].span.map(|s| s.line), Some(8), "{server}");
    }
}
