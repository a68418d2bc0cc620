//! Evaluation allocates nothing on the paths the TCP engine takes per session
//! (`src`/`dst` networks, ports, `req.len`, `req.payload`, `req.ssl_sni` with `-i`,
//! named ACLs on several lines, negation, `||`): counted by a global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;

use haproxide_expr::{AclSet, Cond, Context, Opts, Tri};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is
// a thread-local cell (no allocation, no lock).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

struct Tcp<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    data: &'a [u8],
}

impl Context for Tcp<'_> {
    fn src(&self) -> Option<SocketAddr> {
        Some(self.src)
    }
    fn dst(&self) -> Option<SocketAddr> {
        Some(self.dst)
    }
    fn req_data(&self) -> &[u8] {
        self.data
    }
    fn is_final(&self) -> bool {
        false
    }
}

/// A minimal ClientHello (75 bytes for this test's name): kept here rather than
/// taken from haproxide-testkit, because `if ssl || big` (`req.len gt 100`) expects
/// the record to be shorter than 100 bytes.
fn client_hello(name: &str) -> Vec<u8> {
    let n = name.as_bytes();
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&((n.len() + 5) as u16).to_be_bytes());
    ext.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(n.len() as u16).to_be_bytes());
    ext.extend_from_slice(n);
    let mut hello = vec![3, 3];
    hello.extend_from_slice(&[0; 32]);
    hello.extend_from_slice(&[0, 0, 2, 0x13, 1, 1, 0]);
    hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    hello.extend_from_slice(&ext);
    let mut hs = vec![1, 0];
    hs.extend_from_slice(&(hello.len() as u16).to_be_bytes());
    hs.extend_from_slice(&hello);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[test]
fn common_paths_allocate_nothing() {
    let o = Opts::default();
    let mut acls = AclSet::new();
    acls.add_line("lan", &["src", "10.0.0.0/8", "192.168.0.0/16"], &o)
        .unwrap();
    acls.add_line("lan", &["src", "::1"], &o).unwrap();
    acls.add_line("pg", &["dst_port", "5432", "6432:6433"], &o)
        .unwrap();
    acls.add_line(
        "db",
        &["req.ssl_sni", "-i", "-m", "end", ".example.com"],
        &o,
    )
    .unwrap();
    acls.add_line("ssl", &["req.payload(4,4)", "04d2162f"], &o)
        .unwrap();
    acls.add_line("big", &["req.len", "gt", "100"], &o).unwrap();
    let conds: Vec<Cond> = [
        "if lan pg",
        "if !lan || pg",
        "if db",
        "if ssl || big",
        "unless { src_port 1:1024 } TRUE",
        "if LOCALHOST",
    ]
    .iter()
    .map(|c| {
        let w: Vec<&str> = c.split(' ').collect();
        Cond::parse(&w, &acls, &o).unwrap()
    })
    .collect();
    let hello = client_hello("DB.Example.COM");
    let ctxs = [
        Tcp {
            src: "10.1.2.3:40000".parse().unwrap(),
            dst: "127.0.0.1:5432".parse().unwrap(),
            data: &hello,
        },
        Tcp {
            src: "[::ffff:8.8.8.8]:40000".parse().unwrap(),
            dst: "127.0.0.1:6433".parse().unwrap(),
            data: b"\0\0\0\x08\x04\xd2\x16\x2f",
        },
    ];
    let mut results = Vec::with_capacity(conds.len() * ctxs.len());
    let before = ALLOCS.with(Cell::get);
    for ctx in &ctxs {
        for c in &conds {
            results.push(c.eval(ctx));
        }
    }
    let after = ALLOCS.with(Cell::get);
    assert_eq!(after - before, 0, "allocations while evaluating");
    use Tri::*;
    assert_eq!(
        results,
        [Pass, Pass, Pass, Miss, Pass, Fail, Fail, Pass, Fail, Pass, Pass, Fail]
    );
}
