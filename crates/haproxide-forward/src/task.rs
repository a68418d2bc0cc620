//! The task of one accepted connection ([`run`]): registers the socket on its
//! thread, enters the session in the table, runs its body (TCP relay, HTTP or
//! HTTP/2), parks it between HTTP requests (`http::park`), then logs it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use crate::lb::Kill;
use crate::meter::SessionMeter;
use crate::session::{Live, Registered, Sess};

/// Run a session to its end. Never panics on I/O; every path closes both sockets.
/// `client` is registered with the runtime this runs on (the thread it was placed on).
#[allow(clippy::manual_async_fn)] // on purpose: see the comment in the body
pub(crate) fn run(
    live: Live,
    client: crate::listener::Accepted,
    src: Option<SocketAddr>,
    dst: Option<SocketAddr>,
    accept_proxy: bool,
    tls: Option<(haproxide_tls::Acceptor, usize)>,
    (bind, proto_h2): (usize, bool),
) -> impl Future<Output = ()> {
    // An async block, not an `async fn`: the task keeps each argument once (an
    // `async fn` stores them twice), and an idle session's task is its memory.
    // The arguments used only at the start come in one box: captured one by
    // one they would stay in the task for its whole life (`http::park`).
    let start = Box::new((live, client, src, dst, accept_proxy, tls, bind, proto_h2));
    async move {
        // The start in a block: what it moves into `tail` is not kept beside it
        // in the task's state while the connection lives (moved-from locals
        // keep their room until their scope ends).
        let rest = {
            // Unboxed in a block: the box is freed here, not when the task ends.
            let (live, client, src, dst, accept_proxy, tls, bind, proto_h2) = {
                let b = start;
                *b
            };
            let (shared, fe) = (live.shared.clone(), live.fe);
            let mut client = match client.register() {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("accepted socket unusable: {e}");
                    return;
                }
            };
            let accepted_at = SystemTime::now();
            let t0 = Instant::now();
            let sid = shared.next_sid.fetch_add(1, Ordering::Relaxed);
            let kill = Arc::new(Kill::for_session(fe, src, dst, accepted_at, t0.into_std()));
            shared.sessions.insert(sid, kill.clone());
            let registered = Registered {
                shared: shared.clone(),
                sid,
            };
            // A hard stop that went through the table before this session was in it.
            if shared.stop.is_raised() {
                kill.kill(crate::CutReason::Killed);
            }
            let meter = SessionMeter::new(&shared.meters, live.thread, fe);
            // Boxed, and the body's future too: the task itself stays small, so that
            // an idle HTTP keep-alive connection, parked, holds little more than
            // its socket (`http::park`).
            let mut s = Box::new(Sess::new(
                shared,
                fe,
                (src, dst),
                sid,
                kill.clone(),
                meter,
                (accepted_at, t0),
            ));
            s.bind = Some(bind);
            let flow = {
                let body = Box::pin(s.body(&mut client, accept_proxy, tls, proto_h2));
                tokio::select! {
                    biased;
                    why = kill.wait() => Err(why),
                    f = body => Ok(f),
                }
            };
            tail(s, flow, client, live, registered, kill, (bind, false))
        };
        rest.await;
    }
}

/// A session's end, from the end of its body (or of a parked connection
/// served again, `http::idle`): parked between HTTP requests, then logged, or
/// handed to the thread's idle-connection waiter while its client is idle
/// (`was_held`: it was before, its grace is shorter).
#[allow(clippy::manual_async_fn)] // on purpose: each argument kept once (see `run`)
pub(crate) fn tail(
    s: Box<Sess>,
    flow: Result<crate::session::Flow, u8>,
    mut client: crate::relay::ClientStream,
    live: Live,
    registered: Registered,
    kill: Arc<Kill>,
    (bind, was_held): (usize, bool),
) -> impl Future<Output = ()> + Send {
    async move {
        let ids = (&registered.shared, registered.sid, &kill, bind, was_held);
        match crate::http::park::until_done(s, flow, &mut client, &ids).await {
            crate::http::park::Parting::Ended(mut s, term) => {
                drop(client);
                s.finish(term);
                // Release in order: server slot (wakes queued sessions), backend, frontend, permits.
                drop(s);
                drop(live);
            }
            crate::http::park::Parting::Held(parked, deadline) => {
                let rest = crate::http::idle::Rest {
                    parked,
                    live,
                    kill,
                    registered,
                    bind,
                };
                crate::http::idle::hold(client, rest, deadline);
            }
        }
    }
}
