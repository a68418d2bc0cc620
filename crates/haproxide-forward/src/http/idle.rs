//! Idle HTTP/1 keep-alive connections out of their tasks (issue 14: RSS per
//! idle keep-alive connection at most HAProxy's).
//!
//! A parked connection ([`super::park`]) still costs its tokio task (the
//! session future, about 900 bytes with its header) and the socket's
//! registration with the runtime (256). After [`GRACE`] without a byte from
//! its client, the task hands the socket and the [`Parked`] record to its
//! thread's waiter and ends. The waiter is one task per engine thread: it
//! watches all its idle sockets through one epoll instance of its own
//! (registered with the runtime like any descriptor), their keep-alive
//! deadlines in one heap, and their kill switches through one shared waker.
//! When a client sends its next request (or closes), its socket goes back to
//! the runtime in a new session task that goes on where the old one stopped;
//! when its `timeout http-keep-alive` passes it is closed without a log line,
//! as HAProxy does; when it is killed (`shutdown session`, hard stop) it is
//! logged as the parked session would have been.
//!
//! The grace keeps the cost away from busy connections: a client that sends
//! its next request within it never leaves its task; one idle longer pays
//! four `epoll_ctl` and a task spawn when it comes back.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::park::Parked;
use crate::lb::Kill;
use crate::relay::ClientStream;
use crate::session::{Live, Registered, Sess};

/// How long an idle keep-alive connection waits in its own task before it
/// goes to the waiter.
pub(crate) const GRACE: Duration = Duration::from_millis(500);

/// Connections the waiters of the process hold now.
static HELD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many idle HTTP keep-alive connections are held by their thread's
/// waiter now, out of any task (process-wide). For tests and accounting.
pub fn idle_connections_held() -> usize {
    HELD.load(Ordering::Relaxed)
}

/// What an idle connection keeps besides its socket.
pub(crate) struct Rest {
    pub(crate) parked: Parked,
    pub(crate) live: Live,
    pub(crate) kill: Arc<Kill>,
    pub(crate) registered: Registered,
    pub(crate) bind: usize,
}

/// One connection held by a waiter. `tag` tells a slot's successive
/// occupants apart (a readiness or deadline for an earlier one is stale).
struct Entry {
    sock: std::net::TcpStream,
    rest: Rest,
    tag: u32,
    deadline: Option<Instant>,
}

/// One engine thread's idle connections.
struct Waiter {
    ep: AsyncFd<OwnedFd>,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    held: usize,
    next_tag: u32,
    /// (deadline, slot, tag), earliest first; stale ones are skipped.
    deadlines: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The waiter task, woken when a connection comes with an earlier deadline.
    task: Option<Waker>,
    kills: Arc<Kills>,
    ready: Vec<u64>,
}

/// The waker every held connection's kill switch holds: raises `hit` and
/// wakes the waiter, which then looks for the killed ones.
struct Kills {
    hit: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Kills {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.hit.store(true, Ordering::SeqCst);
        if let Some(w) = lock(&self.task).as_ref() {
            w.wake_by_ref();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-done by a panic worse than losing the
    // connections it held.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// This thread's waiter; its task holds it (dropped with the runtime).
    static WAITER: std::cell::RefCell<Weak<Mutex<Waiter>>> =
        const { std::cell::RefCell::new(Weak::new()) };
}

/// This thread's waiter, started on first use (`None`: it cannot be, and
/// idle connections stay in their tasks).
fn waiter() -> Option<Arc<Mutex<Waiter>>> {
    if let Some(w) = WAITER.with(|w| w.borrow().upgrade()) {
        return Some(w);
    }
    tokio::runtime::Handle::try_current().ok()?;
    let ep = match crate::sys::epoll_new() {
        Ok(ep) => ep,
        Err(e) => {
            tracing::warn!("idle connections stay in their tasks: {e}");
            return None;
        }
    };
    let w = Arc::new(Mutex::new(Waiter {
        ep,
        slots: Vec::new(),
        free: Vec::new(),
        held: 0,
        next_tag: 0,
        deadlines: BinaryHeap::new(),
        sleep: None,
        task: None,
        kills: Arc::new(Kills {
            hit: AtomicBool::new(false),
            task: Mutex::new(None),
        }),
        ready: Vec::new(),
    }));
    WAITER.with(|cell| *cell.borrow_mut() = Arc::downgrade(&w));
    drop(tokio::spawn(Run(w.clone())));
    Some(w)
}

/// Whether this thread's waiter can take idle connections.
pub(crate) fn available() -> bool {
    waiter().is_some()
}

/// Hands an idle connection to this thread's waiter, until its client sends
/// (or closes), `deadline` passes, or it is killed.
pub(crate) fn hold(client: ClientStream, rest: Rest, deadline: Option<Instant>) {
    let ClientStream::Tcp(tcp) = client else {
        // Only plain TCP parks (`Sess::http_loop`).
        return end(rest, None);
    };
    // `until_done` asked `available()` on this thread just before, without
    // an await in between: the waiter is there.
    let Some(w) = waiter() else {
        drop(tcp);
        return end(rest, None);
    };
    let sock = match tcp.into_std() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("idle connection lost leaving the runtime: {e}");
            return end(rest, None);
        }
    };
    let mut guard = lock(&w);
    let w = &mut *guard;
    // Killed between its last check and now: the kill found the task's waker.
    let kw = Waker::from(w.kills.clone());
    if let Poll::Ready(why) = std::pin::pin!(rest.kill.wait()).poll(&mut Context::from_waker(&kw)) {
        drop(guard);
        drop(sock);
        return end(rest, Some(why));
    }
    let slot = match w.free.pop() {
        Some(s) => s,
        None => {
            w.slots.push(None);
            (w.slots.len() - 1) as u32
        }
    };
    let tag = w.next_tag;
    w.next_tag = w.next_tag.wrapping_add(1);
    let token = u64::from(slot) | (u64::from(tag) << 32);
    if let Err(e) = crate::sys::epoll_add(w.ep.as_raw_fd(), sock.as_raw_fd(), token) {
        w.free.push(slot);
        drop(guard);
        tracing::warn!("idle connection closed, cannot be watched: {e}");
        drop(sock);
        return end(rest, None);
    }
    if let Some(d) = deadline {
        w.deadlines.push(Reverse((d, slot, tag)));
        let later = w.sleep.as_ref().is_none_or(|s| d < s.deadline());
        if later {
            if let Some(t) = &w.task {
                t.wake_by_ref();
            }
        }
    }
    if let Some(e) = w.slots.get_mut(slot as usize) {
        *e = Some(Entry {
            sock,
            rest,
            tag,
            deadline,
        });
    }
    w.held += 1;
    HELD.fetch_add(1, Ordering::Relaxed);
}

impl Waiter {
    /// Takes the connection in `slot` if it is still `tag`'s.
    fn take(&mut self, slot: u32, tag: u32) -> Option<Entry> {
        let e = self.slots.get_mut(slot as usize)?;
        if e.as_ref()?.tag != tag {
            return None;
        }
        let e = e.take()?;
        let _ = crate::sys::epoll_del(self.ep.as_raw_fd(), e.sock.as_raw_fd());
        self.free.push(slot);
        self.held -= 1;
        HELD.fetch_sub(1, Ordering::Relaxed);
        Some(e)
    }

    /// Drops deadlines of connections no longer held, when they are most of
    /// the heap (a connection idle again and again leaves one behind each time).
    fn compact(&mut self) {
        if self.deadlines.len() <= 2 * self.held + 64 {
            return;
        }
        self.deadlines = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let e = e.as_ref()?;
                Some(Reverse((e.deadline?, i as u32, e.tag)))
            })
            .collect();
        if self.held == 0 {
            self.slots = Vec::new();
            self.free = Vec::new();
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        // Its runtime ends: the connections it holds close with it.
        HELD.fetch_sub(self.held, Ordering::Relaxed);
    }
}

/// The waiter task: never ends (dropped with its runtime, closing what it holds).
struct Run(Arc<Mutex<Waiter>>);

impl Future for Run {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut guard = lock(&self.0);
        let w = &mut *guard;
        if !w.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
            w.task = Some(cx.waker().clone());
            *lock(&w.kills.task) = Some(cx.waker().clone());
        }
        let epfd: RawFd = w.ep.as_raw_fd();
        loop {
            let mut again = false;
            // Clients that sent (or closed): back to a task.
            let mut ready = std::mem::take(&mut w.ready);
            if let Poll::Ready(r) = w.ep.poll_read_ready(cx) {
                again = true;
                match r {
                    Ok(mut g) => match crate::sys::epoll_ready(epfd, &mut ready) {
                        Ok(0) => g.clear_ready(),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!("idle connections: epoll_wait: {e}");
                            g.clear_ready();
                        }
                    },
                    Err(e) => {
                        tracing::warn!("idle connections: {e}");
                        again = false;
                    }
                }
            }
            for t in ready.drain(..) {
                if let Some(e) = w.take(t as u32, (t >> 32) as u32) {
                    match TcpStream::from_std(e.sock) {
                        Ok(tcp) => drop(tokio::spawn(resume(tcp, e.rest))),
                        Err(err) => {
                            tracing::warn!("idle connection lost returning to the runtime: {err}");
                            end(e.rest, None);
                        }
                    }
                }
            }
            w.ready = ready;
            // Killed ones (rare: look at all).
            if w.kills.hit.swap(false, Ordering::SeqCst) {
                for i in 0..w.slots.len() {
                    let Some((why, tag)) = w.slots[i]
                        .as_ref()
                        .map(|e| (e.rest.kill.reason(), e.tag))
                        .filter(|(why, _)| *why != 0)
                    else {
                        continue;
                    };
                    if let Some(e) = w.take(i as u32, tag) {
                        drop(e.sock);
                        end(e.rest, Some(why));
                    }
                }
            }
            // Idle too long: closed without a log line.
            let now = Instant::now();
            while let Some(&Reverse((d, slot, tag))) = w.deadlines.peek() {
                if d > now {
                    break;
                }
                w.deadlines.pop();
                if let Some(e) = w.take(slot, tag) {
                    drop(e.sock);
                    end(e.rest, None);
                }
            }
            w.compact();
            if let Some(&Reverse((d, _, _))) = w.deadlines.peek() {
                let sleep = w
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(d)));
                if sleep.deadline() != d {
                    sleep.as_mut().reset(d);
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    again = true;
                }
            } else {
                w.sleep = None;
            }
            if !again {
                return Poll::Pending;
            }
        }
    }
}

impl Rest {
    /// The session again, as the parked one was (`kill` shared with it).
    fn unpark(
        self,
    ) -> (
        Box<Sess>,
        Option<Box<super::Conn>>,
        Live,
        Registered,
        Arc<Kill>,
    ) {
        let Rest {
            parked,
            live,
            kill,
            registered,
            bind,
        } = self;
        let (mut s, conn) = Sess::unpark(
            parked,
            registered.shared.clone(),
            live.fe,
            registered.sid,
            kill.clone(),
        );
        s.bind = Some(bind);
        (s, conn, live, registered, kill)
    }
}

/// The end of a held connection: killed (`Some`: logged with the reason, as
/// a parked session is), or closed quietly (idle too long, or lost).
fn end(rest: Rest, why: Option<u8>) {
    let (mut s, conn, live, registered, _) = rest.unpark();
    drop(conn);
    let term = match why {
        Some(why) => [why, s.phase],
        None => {
            s.silent = true;
            *b"--"
        }
    };
    s.finish(term);
    drop(s);
    drop(live);
    drop(registered);
}

/// A held connection whose client sent bytes (or closed), served again in a
/// task of its own, then to its end as any session.
async fn resume(tcp: TcpStream, rest: Rest) {
    let bind = rest.bind;
    let (mut s, conn, live, registered, kill) = rest.unpark();
    let mut client = ClientStream::Tcp(tcp);
    let flow = super::park::again(&mut s, &mut client, conn, &kill).await;
    crate::task::tail(s, flow, client, live, registered, kill, bind).await;
}
#[cfg(test)]
mod tests {
    /// What a connection held by its waiter costs in the waiter's slots,
    /// pinned: the socket, the `Parked` record (200), the session's counting
    /// (`Live`), its kill switch and table entry, its deadline. Besides this,
    /// an idle connection holds its `Kill` (an `Arc`, 160 with its header)
    /// and its session-table entry; no task, no runtime registration.
    #[test]
    fn a_held_connection_is_small() {
        let e = std::mem::size_of::<super::Entry>();
        assert!(e <= 320, "Entry is {e} bytes");
    }
}
