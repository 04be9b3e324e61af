//! Closes connections whose client goes quiet while specbox waits for it.
//!
//! This is the header-read timeout: a client that opens a connection and sends half a request
//! (or nothing) would otherwise hold one of the `--max-connections` slots for good. hyper has one
//! built in, but it re-arms a timer for every request on a connection (a boxed sleep entered into
//! tokio's timer wheel and taken out again) and adds a read pass to every request to poll it:
//! about 1,300 instructions per request, 7% of a whole GET. A guard counted in seconds needs
//! neither the wheel's millisecond precision nor work on every request.
//!
//! Each connection has a [`Watch`], entered into the watchdog once, when it is accepted. When a
//! read finds nothing to read and none of the connection's requests is being served, the watch
//! is armed with the current tick; data disarms it. Both are plain atomic stores. One task
//! advances the tick and wakes the connections that have been armed for the whole timeout; their
//! next read fails with `TimedOut`, and hyper drops the connection. A request in service (its
//! handler running, an injected delay being waited out) is never the client's silence. A
//! deadline fires up to one tick late; the tick is a tenth of the timeout.

use atomic_waker::AtomicWaker;
use parking_lot::Mutex;
use slab::Slab;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Poll, Waker};
use std::time::Duration;

const DISARMED: u64 = u64::MAX;

/// The connections being watched, and the task that ticks over them.
#[derive(Clone)]
pub struct Watchdog {
    shared: Arc<Shared>,
}

struct Shared {
    /// Ticks since start: the clock that watches are armed with (no clock read per request).
    now: AtomicU64,
    /// Ticks a watch may stay armed before its connection is closed.
    limit: u64,
    /// Every open connection's watch. Locked when a connection opens or closes, and once a tick.
    watches: Mutex<Slab<Weak<Watch>>>,
}

/// One connection's silence detector.
pub struct Watch {
    dog: Arc<Shared>,
    key: usize,
    /// The tick at which the client was first waited for, or `DISARMED`.
    armed: AtomicU64,
    /// Requests of this connection being served now.
    serving: AtomicUsize,
    expired: AtomicBool,
    waker: AtomicWaker,
}

impl Watchdog {
    /// Starts the ticker on the current tokio runtime; it runs as long as the runtime does.
    pub fn new(timeout: Duration) -> Watchdog {
        let tick = (timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
        // Armed at a tick that may have begun up to a tick ago, so one more makes the full
        // timeout. A zero timeout is no timeout.
        let limit = match timeout.as_nanos().div_ceil(tick.as_nanos().max(1)) {
            0 => u64::MAX,
            n => u64::try_from(n).unwrap_or(u64::MAX - 1).saturating_add(1),
        };
        let shared = Arc::new(Shared {
            now: AtomicU64::new(0),
            limit,
            watches: Mutex::new(Slab::new()),
        });
        tokio::spawn(ticker(shared.clone(), tick));
        Watchdog { shared }
    }

    /// A watch for a new connection, disarmed.
    pub fn watch(&self) -> Arc<Watch> {
        let mut watches = self.shared.watches.lock();
        let entry = watches.vacant_entry();
        let watch = Arc::new(Watch {
            dog: self.shared.clone(),
            key: entry.key(),
            armed: AtomicU64::new(DISARMED),
            serving: AtomicUsize::new(0),
            expired: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        entry.insert(Arc::downgrade(&watch));
        watch
    }
}

async fn ticker(shared: Arc<Shared>, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut due: Vec<Arc<Watch>> = Vec::new();
    let mut seen: Vec<Weak<Watch>> = Vec::new();
    loop {
        interval.tick().await;
        let now = shared.now.fetch_add(1, Ordering::Relaxed) + 1;
        expire(&shared, now, &mut due, &mut seen);
        for w in due.drain(..) {
            w.waker.wake();
        }
    }
}

/// Marks the watches armed for the whole timeout at tick `now` as expired, and hands them back
/// to be woken. `seen` is scratch space, kept between ticks.
///
/// Only weak references are copied under the lock. A strong one made there could become the
/// watch's last (its connection closing meanwhile on another thread), and dropping the last one
/// takes the lock again (`Watch::drop`): the ticker would deadlock, and the accept loop with it
/// at its next connection.
fn expire(shared: &Shared, now: u64, due: &mut Vec<Arc<Watch>>, seen: &mut Vec<Weak<Watch>>) {
    seen.extend(shared.watches.lock().iter().map(|(_, weak)| weak.clone()));
    for weak in seen.drain(..) {
        let Some(w) = weak.upgrade() else { continue };
        let armed = w.armed.load(Ordering::Relaxed);
        if armed != DISARMED && now.saturating_sub(armed) >= shared.limit && w.serving.load(Ordering::Relaxed) == 0 {
            w.expired.store(true, Ordering::Relaxed);
            due.push(w);
        }
    }
}

impl Watch {
    /// What a read that found nothing to read returns: still pending (now armed, if nothing is
    /// being served), or the timeout's error once the watchdog has expired the connection.
    pub fn on_pending<T>(&self, waker: &Waker) -> Poll<io::Result<T>> {
        if self.expired.load(Ordering::Relaxed) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client sent nothing for longer than the header timeout",
            )));
        }
        self.waker.register(waker);
        if self.serving.load(Ordering::Relaxed) == 0 && self.armed.load(Ordering::Relaxed) == DISARMED {
            self.armed
                .store(self.dog.now.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        Poll::Pending
    }

    /// Never times out: for HTTP/2 connections, which idle between requests by design and have
    /// their own keep-alive.
    pub fn exempt(&self) {
        self.serving.fetch_add(1, Ordering::Relaxed);
        self.heard();
    }

    /// The client sent something.
    pub fn heard(&self) {
        if self.armed.load(Ordering::Relaxed) != DISARMED {
            self.armed.store(DISARMED, Ordering::Relaxed);
        }
    }

    /// Marks one request of this connection as in service until the guard is dropped.
    pub fn serving(&self) -> Serving<'_> {
        self.serving.fetch_add(1, Ordering::Relaxed);
        self.heard();
        Serving(self)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.dog.watches.lock().try_remove(self.key);
    }
}

/// A request in service; see [`Watch::serving`].
pub struct Serving<'a>(&'a Watch);

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        self.0.serving.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// Waits (by polling the watch, never by a fixed sleep) until the watchdog expires it.
    async fn until_expired(w: &Watch) {
        loop {
            if w.on_pending::<()>(Waker::noop()).is_ready() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_silent_connection_expires_a_served_or_talking_one_does_not() {
        let dog = Watchdog::new(Duration::from_millis(50));
        let silent = dog.watch();
        let busy = dog.watch();
        let _in_service = busy.serving();
        assert!(silent.on_pending::<()>(Waker::noop()).is_pending());
        assert!(busy.on_pending::<()>(Waker::noop()).is_pending());
        until_expired(&silent).await;
        // The busy connection waited just as long, but its request was in service all along.
        assert!(!busy.expired.load(Ordering::Relaxed));
        assert_eq!(busy.armed.load(Ordering::Relaxed), DISARMED);
        // A closed connection leaves the watchdog.
        drop(silent);
        assert_eq!(dog.shared.watches.lock().len(), 1);
    }

    /// A connection that closes while the ticker looks at its watch leaves the watchdog, and the
    /// watchdog goes on. The ticker's reference may then be the watch's last one, and dropping
    /// it takes the watchdog's lock: it must not be dropped under that lock, or the ticker
    /// deadlocks, and the accept loop with it at its next connection. Connections opened and
    /// closed on other threads while one thread looks at them in a loop meet that case many
    /// times over; the bound only turns a deadlock into a failure.
    #[test]
    fn a_watch_dropped_while_the_ticker_looks_at_it_deadlocks_nothing() {
        let shared = Arc::new(Shared {
            now: AtomicU64::new(0),
            limit: 1,
            watches: Mutex::new(Slab::new()),
        });
        let dog = Watchdog { shared: shared.clone() };
        let stop = Arc::new(AtomicBool::new(false));
        let churn: Vec<_> = (0..2)
            .map(|_| {
                let dog = dog.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let w = dog.watch();
                        assert!(w.on_pending::<()>(Waker::noop()).is_pending() || w.expired.load(Ordering::Relaxed));
                        drop(w);
                    }
                })
            })
            .collect();
        let (done, finished) = std::sync::mpsc::channel();
        let looker = std::thread::spawn(move || {
            let (mut due, mut seen) = (Vec::new(), Vec::new());
            for now in 0..200_000 {
                expire(&shared, now, &mut due, &mut seen);
                due.clear();
            }
            let _ = done.send(());
        });
        let finished = finished.recv_timeout(Duration::from_secs(60));
        stop.store(true, Ordering::Relaxed);
        assert!(
            finished.is_ok(),
            "the ticker deadlocked on a watch dropped under its lock"
        );
        looker.join().unwrap();
        for t in churn {
            t.join().unwrap();
        }
        assert_eq!(dog.shared.watches.lock().len(), 0);
    }
}
