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
//! four `epoll_ctl` and a task spawn when it comes back, and has a shorter
//! grace ([`REGRACE`]) from then on.
//!
//! A held connection's kill switch is folded into its slot: the session
//! table names the slot ([`HeldAt`]) and the slot keeps what `show sess`
//! tells and a kill flag. Slots come in fixed pages; after a burst of
//! connections went idle the waiter trims the C heap (their tasks' memory).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime};

use tokio::io::unix::AsyncFd;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::park::Parked;
use crate::lb::Kill;
use crate::relay::ClientStream;
use crate::session::{Facts, Live, Registered, Sess};

/// How long an idle keep-alive connection waits in its own task before it
/// goes to the waiter.
pub(crate) const GRACE: Duration = Duration::from_millis(500);

/// The grace of a connection that was held before: a client that once stayed
/// idle longer than [`GRACE`] is likely to again (a browser between pages),
/// and the task's memory is most of what an idle connection costs; a burst
/// of requests (a page's resources) still stays in its task.
pub(crate) const REGRACE: Duration = Duration::from_millis(50);

/// Slots come in pages of this many, never moved once made (a doubling `Vec`
/// copied every held connection at each growth and left its old copies in
/// the heap).
const PAGE: usize = 64;

/// After this many connections went idle since the last trim, the C heap is
/// trimmed ([`TRIM_QUIET`] after the last of them, at most [`TRIM_LATEST`]
/// after the first): their tasks' memory is free but stays resident until
/// then (glibc returns only the top of its heaps by itself).
const TRIM_AFTER: usize = 64;
const TRIM_QUIET: Duration = Duration::from_millis(100);
const TRIM_LATEST: Duration = Duration::from_secs(1);

/// Connections the waiters of the process hold now.
static HELD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many idle HTTP keep-alive connections are held by their thread's
/// waiter now, out of any task (process-wide). For tests and accounting.
pub fn idle_connections_held() -> usize {
    HELD.load(Ordering::Relaxed)
}

/// How many times a waiter gave the C heap's free pages back
/// (process-wide). For tests and accounting.
pub fn idle_heap_trims() -> usize {
    TRIMS.load(Ordering::Relaxed)
}

static TRIMS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A trim is under way (one at a time for the process).
static TRIMMING: AtomicBool = AtomicBool::new(false);

/// Trims the C heap on the runtime's blocking pool: `malloc_trim` walks the
/// heap's free blocks (milliseconds on a large one), which an engine thread
/// must not wait for.
fn trim_heap() {
    /// Ends the trim when dropped: run, or dropped unrun with its runtime.
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            TRIMMING.store(false, Ordering::SeqCst);
        }
    }
    if TRIMMING.swap(true, Ordering::SeqCst) {
        return;
    }
    let running = Running;
    drop(tokio::task::spawn_blocking(move || {
        let _running = running;
        if crate::sys::heap_trim() {
            TRIMS.fetch_add(1, Ordering::Relaxed);
        }
    }));
}

/// What an idle connection keeps besides its socket.
pub(crate) struct Rest {
    pub(crate) parked: Parked,
    pub(crate) live: Live,
    pub(crate) kill: Arc<Kill>,
    pub(crate) registered: Registered,
    pub(crate) bind: usize,
}

/// How a held connection is reached by `shutdown session` and the hard stop.
enum Switch {
    /// Through its slot ([`HeldAt`] in the session table): its kill switch
    /// was freed, what `show sess` tells of it is here (with the `Parked`
    /// addresses and `Live` frontend), and a kill sets `killed`.
    Folded {
        started: std::time::Instant,
        accepted: SystemTime,
        backend: Option<usize>,
        killed: u8,
    },
    /// Through its kill switch: someone held a copy of it when the
    /// connection came (a `show sess` under way), so it could not be folded.
    Shared(Arc<Kill>),
}

/// One connection held by a waiter. `tag` tells a slot's successive
/// occupants apart (a readiness or deadline for an earlier one is stale).
struct Entry {
    sock: std::net::TcpStream,
    parked: Parked,
    live: Live,
    registered: Registered,
    bind: usize,
    switch: Switch,
    tag: u32,
    deadline: Option<Instant>,
}

impl Entry {
    fn killed(&self) -> u8 {
        match &self.switch {
            Switch::Folded { killed, .. } => *killed,
            Switch::Shared(k) => k.reason(),
        }
    }

    fn facts(&self) -> Facts {
        match &self.switch {
            Switch::Folded {
                started,
                accepted,
                backend,
                ..
            } => {
                let (src, dst) = self.parked.addrs();
                Facts {
                    fe: self.live.fe,
                    src,
                    dst,
                    started: *started,
                    accepted: *accepted,
                    backend: *backend,
                }
            }
            Switch::Shared(k) => Facts::of(k),
        }
    }
}

/// The slots, in fixed pages; free ones listed.
#[derive(Default)]
struct Slots {
    pages: Vec<Box<[Option<Entry>]>>,
    free: Vec<u32>,
}

impl Slots {
    fn get(&self, i: u32) -> Option<&Entry> {
        self.pages
            .get(i as usize / PAGE)?
            .get(i as usize % PAGE)?
            .as_ref()
    }

    fn get_mut(&mut self, i: u32) -> Option<&mut Option<Entry>> {
        self.pages
            .get_mut(i as usize / PAGE)?
            .get_mut(i as usize % PAGE)
    }

    /// A free slot, a new page when none is.
    fn alloc(&mut self) -> u32 {
        if let Some(s) = self.free.pop() {
            return s;
        }
        let base = (self.pages.len() * PAGE) as u32;
        self.pages.push((0..PAGE).map(|_| None).collect());
        self.free.extend((base + 1..base + PAGE as u32).rev());
        base
    }

    fn len(&self) -> u32 {
        (self.pages.len() * PAGE) as u32
    }
}

/// One engine thread's idle connections.
struct Waiter {
    ep: AsyncFd<OwnedFd>,
    slots: Slots,
    held: usize,
    next_tag: u32,
    /// (deadline, slot, tag), earliest first; stale ones are skipped.
    deadlines: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The waiter task, woken when a connection comes with an earlier deadline.
    task: Option<Waker>,
    kills: Arc<Kills>,
    ready: Vec<u64>,
    /// Connections that came since the last heap trim, the first one's and
    /// the last one's arrival.
    untrimmed: usize,
    trim_first: Option<Instant>,
    trim_last: Option<Instant>,
}

/// Where a held connection is (its entry in the session table): a weak
/// reference to its thread's waiter and its slot, no allocation of its own.
#[derive(Clone)]
pub(crate) struct HeldAt {
    waiter: Weak<Mutex<Waiter>>,
    slot: u32,
}

impl HeldAt {
    /// A place no waiter holds (table tests).
    #[cfg(test)]
    pub(crate) fn nowhere() -> HeldAt {
        HeldAt {
            waiter: Weak::new(),
            slot: 0,
        }
    }

    /// Kills session `sid` held here for `why`; false when it is not here
    /// (gone back to a task, or ended).
    pub(crate) fn kill(&self, sid: u64, why: u8) -> bool {
        let Some(w) = self.waiter.upgrade() else {
            return false;
        };
        let mut guard = lock(&w);
        let Some(Some(e)) = guard.slots.get_mut(self.slot) else {
            return false;
        };
        if e.registered.sid != sid {
            return false;
        }
        match &mut e.switch {
            Switch::Folded { killed, .. } => {
                if *killed == 0 {
                    *killed = why;
                }
            }
            // Not folded: the table names its kill switch, not this slot.
            Switch::Shared(_) => return false,
        }
        guard.kills.wake_by_ref();
        true
    }

    /// What `show sess` tells of session `sid` held here.
    pub(crate) fn facts(&self, sid: u64) -> Option<Facts> {
        let w = self.waiter.upgrade()?;
        let guard = lock(&w);
        let e = guard.slots.get(self.slot)?;
        (e.registered.sid == sid).then(|| e.facts())
    }
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
        slots: Slots::default(),
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
        untrimmed: 0,
        trim_first: None,
        trim_last: None,
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
    let Some(wa) = waiter() else {
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
    let mut guard = lock(&wa);
    let w = &mut *guard;
    if let Some(why) = Some(rest.kill.reason()).filter(|r| *r != 0) {
        drop(guard);
        drop(sock);
        return end(rest, Some(why));
    }
    let slot = w.slots.alloc();
    let tag = w.next_tag;
    w.next_tag = w.next_tag.wrapping_add(1);
    let token = u64::from(slot) | (u64::from(tag) << 32);
    if let Err(e) = crate::sys::epoll_add(w.ep.as_raw_fd(), sock.as_raw_fd(), token) {
        w.slots.free.push(slot);
        drop(guard);
        tracing::warn!("idle connection closed, cannot be watched: {e}");
        drop(sock);
        return end(rest, None);
    }
    let Rest {
        parked,
        live,
        kill,
        registered,
        bind,
    } = rest;
    let at = HeldAt {
        waiter: Arc::downgrade(&wa),
        slot,
    };
    let switch = if registered.shared.sessions.fold(registered.sid, &kill, at) {
        let f = Facts::of(&kill);
        Switch::Folded {
            started: f.started,
            accepted: f.accepted,
            backend: f.backend,
            killed: 0,
        }
    } else {
        // Killed between the check above and now: its kill found the task's
        // waker; from now on it wakes the waiter.
        let kw = Waker::from(w.kills.clone());
        if let Poll::Ready(why) = std::pin::pin!(kill.wait()).poll(&mut Context::from_waker(&kw)) {
            let _ = crate::sys::epoll_del(w.ep.as_raw_fd(), sock.as_raw_fd());
            w.slots.free.push(slot);
            drop(guard);
            drop(sock);
            let rest = Rest {
                parked,
                live,
                kill,
                registered,
                bind,
            };
            return end(rest, Some(why));
        }
        Switch::Shared(kill)
    };
    if let Some(d) = deadline {
        w.deadlines.push(Reverse((d, slot, tag)));
        let later = w.sleep.as_ref().is_none_or(|s| d < s.deadline());
        if later {
            if let Some(t) = &w.task {
                t.wake_by_ref();
            }
        }
    }
    if let Some(e) = w.slots.get_mut(slot) {
        *e = Some(Entry {
            sock,
            parked,
            live,
            registered,
            bind,
            switch,
            tag,
            deadline,
        });
    }
    w.held += 1;
    HELD.fetch_add(1, Ordering::Relaxed);
    // The task that held it ends now: its memory is free soon after.
    let now = Instant::now();
    w.untrimmed += 1;
    w.trim_first.get_or_insert(now);
    w.trim_last = Some(now);
    if w.untrimmed == TRIM_AFTER {
        if let Some(t) = &w.task {
            t.wake_by_ref();
        }
    }
}

impl Waiter {
    /// Takes the connection in `slot` if it is still `tag`'s: its socket,
    /// what it keeps (its kill switch made again when it was folded, and the
    /// session table names it again) and the reason it was killed (0: not).
    fn take(&mut self, slot: u32, tag: u32) -> Option<(std::net::TcpStream, Rest, u8)> {
        let e = self.slots.get_mut(slot)?;
        if e.as_ref()?.tag != tag {
            return None;
        }
        let e = e.take()?;
        let _ = crate::sys::epoll_del(self.ep.as_raw_fd(), e.sock.as_raw_fd());
        self.slots.free.push(slot);
        self.held -= 1;
        HELD.fetch_sub(1, Ordering::Relaxed);
        let why = e.killed();
        let facts = e.facts();
        let Entry {
            sock,
            parked,
            live,
            registered,
            bind,
            switch,
            ..
        } = e;
        let kill = match switch {
            Switch::Shared(k) => k,
            Switch::Folded { .. } => {
                // Under the waiter's lock: a kill looking for it here retries
                // in the table and finds the new switch.
                let k = Arc::new(facts.kill());
                registered.shared.sessions.revive(registered.sid, k.clone());
                k
            }
        };
        let rest = Rest {
            parked,
            live,
            kill,
            registered,
            bind,
        };
        Some((sock, rest, why))
    }

    /// Drops deadlines of connections no longer held, when they are most of
    /// the heap (a connection idle again and again leaves one behind each time).
    fn compact(&mut self) {
        if self.deadlines.len() <= 2 * self.held + 64 {
            return;
        }
        self.deadlines = (0..self.slots.len())
            .filter_map(|i| {
                let e = self.slots.get(i)?;
                Some(Reverse((e.deadline?, i, e.tag)))
            })
            .collect();
        if self.held == 0 {
            self.slots = Slots::default();
        }
    }

    /// When the C heap is to be trimmed next (`None`: not yet due).
    fn trim_at(&self) -> Option<Instant> {
        if self.untrimmed < TRIM_AFTER {
            return None;
        }
        let quiet = self.trim_last? + TRIM_QUIET;
        Some(quiet.min(self.trim_first? + TRIM_LATEST))
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
                if let Some((sock, rest, why)) = w.take(t as u32, (t >> 32) as u32) {
                    if why != 0 {
                        drop(sock);
                        end(rest, Some(why));
                        continue;
                    }
                    match TcpStream::from_std(sock) {
                        Ok(tcp) => drop(tokio::spawn(crate::clock::Timed::new(resume(tcp, rest)))),
                        Err(err) => {
                            tracing::warn!("idle connection lost returning to the runtime: {err}");
                            end(rest, None);
                        }
                    }
                }
            }
            w.ready = ready;
            // Killed ones (rare: look at all).
            if w.kills.hit.swap(false, Ordering::SeqCst) {
                for i in 0..w.slots.len() {
                    let Some(tag) = w.slots.get(i).filter(|e| e.killed() != 0).map(|e| e.tag)
                    else {
                        continue;
                    };
                    if let Some((sock, rest, why)) = w.take(i, tag) {
                        drop(sock);
                        end(rest, Some(why));
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
                if let Some((sock, rest, why)) = w.take(slot, tag) {
                    drop(sock);
                    end(rest, Some(why).filter(|w| *w != 0));
                }
            }
            w.compact();
            // The tasks of connections that came are gone: their memory back
            // to the system.
            let trim = w.trim_at();
            if trim.is_some_and(|t| t <= now) {
                w.untrimmed = 0;
                w.trim_first = None;
                w.trim_last = None;
                trim_heap();
            }
            let next = w
                .deadlines
                .peek()
                .map(|&Reverse((d, _, _))| d)
                .into_iter()
                .chain(w.trim_at())
                .min();
            if let Some(d) = next {
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
    crate::task::tail(s, flow, client, live, registered, kill, (bind, true)).await;
}
#[cfg(test)]
mod tests {
    /// What a connection held by its waiter costs, pinned: its slot holds
    /// the socket, the `Parked` record (200), the session's counting
    /// (`Live`), its table entry's guard, its deadline, and what its kill
    /// switch told (`show sess`) and a kill flag (the switch itself, a
    /// 176-byte heap block allocated among the short-lived ones of the first
    /// request, is freed). Besides this slot (in a page of 64), an idle
    /// connection holds its session-table entry and a deadline in the heap;
    /// no task, no runtime registration.
    #[test]
    fn a_held_connection_is_small() {
        let e = std::mem::size_of::<Option<super::Entry>>();
        assert!(e <= 360, "a slot is {e} bytes");
    }
}
