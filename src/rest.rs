//! How a writer waits between batches: it rests, and callers that wait for
//! a write nudge it.
//!
//! After a small batch a writer pauses for [`PAUSE`] before it takes the
//! next, so records gather and one lock cycle (flock, stat, write) serves
//! more of them; the callers meanwhile only queue, never wake anybody. While
//! records trickle in, a writer so takes its lock about a thousand times a
//! second at most, whatever the rate: a lock cycle and the wake-up around it
//! cost tens of microseconds of CPU, which, paid for every few records,
//! would take a core from the processes that log. On an empty queue it keeps
//! resting, [`REST`] doubling up to [`MAX_REST`], for [`LINGER`], then
//! sleeps on the queue until a record arrives.
//!
//! Nothing that waits is delayed by a rest: a caller that waits for its
//! message to be written (`emit_wait`, `flush`, `shutdown`, `stop`) calls
//! [`WriterWake::nudge`] after queueing it, which ends the rest at once; so
//! does a push that finds [`busy_at`] records waiting while the writer
//! rests, so that a burst into a small queue does not wait out the pause.

use std::time::{Duration, Instant};

#[cfg(clh_loom)]
use loom::{
    sync::Mutex,
    sync::atomic::{AtomicBool, Ordering},
    thread::{self, Thread},
};
#[cfg(not(clh_loom))]
use std::{
    sync::Mutex,
    sync::atomic::{AtomicBool, Ordering},
    thread::{self, Thread},
};

#[cfg(not(clh_loom))]
use crate::sync::lock_unpoisoned;
#[cfg(clh_loom)]
fn lock_unpoisoned<T>(mutex: &Mutex<T>) -> loom::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Most records the writer takes into one batch (one lock, one write).
pub(crate) const MAX_BATCH_RECORDS: usize = 1_024;

/// A batch below this many records means the producers are slower than the
/// writer, which then rests before taking the next.
const SMALL_BATCH: usize = MAX_BATCH_RECORDS / 4;

/// The pause after a small batch.
const PAUSE: Duration = Duration::from_millis(1);
/// The first pause on an empty queue.
const REST: Duration = Duration::from_micros(50);
/// The longest pause on an empty queue (pauses double while it stays empty).
const MAX_REST: Duration = Duration::from_micros(400);
/// How long a writer rests on an empty queue before it sleeps on the queue.
const LINGER: Duration = Duration::from_millis(1);

/// How many waiting messages end a writer's rest, for a queue of `capacity`:
/// half the queue, at most a full batch.
pub(crate) fn busy_at(capacity: usize) -> u64 {
    (capacity / 2).clamp(1, MAX_BATCH_RECORDS) as u64
}

/// Lets callers wake a resting writer.
#[derive(Debug, Default)]
pub(crate) struct WriterWake {
    resting: AtomicBool,
    nudged: AtomicBool,
    thread: Mutex<Option<Thread>>,
}

impl WriterWake {
    /// Makes the current thread the one a nudge wakes: call when a writer
    /// starts running on it.
    pub(crate) fn attach(&self) {
        *lock_unpoisoned(&self.thread) = Some(thread::current());
    }

    /// The writer stopped running on its thread.
    pub(crate) fn detach(&self) {
        *lock_unpoisoned(&self.thread) = None;
    }

    /// Ends the writer's rest, or the next one: call after queueing a message
    /// whose sender waits for it to be written.
    pub(crate) fn nudge(&self) {
        // Both sides swap `nudged`, and swaps of one atomic are totally
        // ordered: either the writer's swap comes after ours and it sees the
        // nudge before it parks, or ours comes after its swap, synchronizes
        // with it, and sees the `resting` it set before, so we unpark it (an
        // unpark before the park makes the park return at once). Checked
        // with loom (`model` below).
        self.nudged.swap(true, Ordering::AcqRel);
        if self.resting.load(Ordering::Acquire)
            && let Some(thread) = lock_unpoisoned(&self.thread).as_ref()
        {
            thread.unpark();
        }
    }

    /// Ends the writer's rest if it is resting now; otherwise does nothing
    /// (unlike [`nudge`](Self::nudge), which also cancels the next rest).
    /// For pushes that find the queue filling: one plain load while the
    /// writer works, so producers pushing into a deep queue do not bounce
    /// the `nudged` line among themselves. A rest that begins just after
    /// the load is ended by the next such push, or by its own timeout.
    pub(crate) fn nudge_if_resting(&self) {
        if self.resting.load(Ordering::Relaxed) {
            self.nudge();
        }
    }

    /// Parks the current (writer) thread for up to `pause`, unless nudged.
    pub(crate) fn rest(&self, pause: Duration) {
        self.resting.store(true, Ordering::Release);
        if !self.nudged.swap(false, Ordering::AcqRel) {
            park(pause);
        }
        self.resting.store(false, Ordering::Release);
        // The nudge's message was queued before it; the caller polls the
        // queue next, so forgetting the nudge now loses nothing.
        self.nudged.store(false, Ordering::Release);
    }
}

/// Parks for up to `pause`. Under loom, a park without a timeout: a lost
/// nudge then shows as a deadlock the model finds.
#[cfg(not(clh_loom))]
fn park(pause: Duration) {
    thread::park_timeout(pause);
}
#[cfg(clh_loom)]
fn park(_pause: Duration) {
    thread::park();
}

/// One writer loop's resting: call [`after_batch`](Self::after_batch) after
/// each batch and [`while_idle`](Self::while_idle) whenever the queue is empty.
#[derive(Debug)]
pub(crate) struct Resting<'a> {
    wake: &'a WriterWake,
    idle_since: Option<Instant>,
    pause: Duration,
}

impl<'a> Resting<'a> {
    pub(crate) fn new(wake: &'a WriterWake) -> Self {
        Resting {
            wake,
            idle_since: None,
            pause: REST,
        }
    }

    /// A batch of `records` was written: rests for [`PAUSE`] if it was small.
    pub(crate) fn after_batch(&mut self, records: usize) {
        self.idle_since = None;
        self.pause = REST;
        if records < SMALL_BATCH {
            self.wake.rest(PAUSE);
        }
    }

    /// The queue is empty: rests (pauses doubling up to [`MAX_REST`]) and
    /// returns `true` until it has been empty for [`LINGER`]; then returns
    /// `false` without resting, and the loop waits its front-end's way.
    pub(crate) fn while_idle(&mut self) -> bool {
        let idle = *self.idle_since.get_or_insert_with(Instant::now);
        if idle.elapsed() >= LINGER {
            return false;
        }
        self.wake.rest(self.pause);
        self.pause = (self.pause * 2).min(MAX_REST);
        true
    }
}

#[cfg(all(test, clh_loom))]
mod model {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicBool;

    /// A caller queues a message and nudges while the writer rests until it
    /// sees the message; a nudge lost in any interleaving leaves the writer
    /// parked forever, which loom reports.
    #[test]
    fn a_nudge_is_never_lost() {
        loom::model(|| {
            let wake = Arc::new(WriterWake::default());
            let queued = Arc::new(AtomicBool::new(false));
            let writer = {
                let (wake, queued) = (Arc::clone(&wake), Arc::clone(&queued));
                loom::thread::spawn(move || {
                    wake.attach();
                    while !queued.load(Ordering::Acquire) {
                        wake.rest(REST);
                    }
                })
            };
            queued.store(true, Ordering::Release);
            wake.nudge();
            writer.join().unwrap();
        });
    }
}

#[cfg(all(test, not(clh_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    /// A rest far longer than any test may take: if a nudge failed to end
    /// it, the test would hang past the generous bound below.
    const LONG: Duration = Duration::from_secs(30);
    const BOUND: Duration = Duration::from_secs(10);

    #[test]
    fn a_nudge_before_the_rest_cancels_it() {
        let wake = WriterWake::default();
        wake.attach();
        wake.nudge();
        let started = Instant::now();
        wake.rest(LONG);
        assert!(started.elapsed() < BOUND);
    }

    #[test]
    fn a_nudge_during_the_rest_ends_it() {
        let wake = Arc::new(WriterWake::default());
        let resting = Arc::clone(&wake);
        let writer = std::thread::spawn(move || {
            resting.attach();
            let started = Instant::now();
            resting.rest(LONG);
            started.elapsed()
        });
        // Nudge until the writer is done: a nudge that lands before it rests
        // cancels the rest, one during the rest ends it.
        while !writer.is_finished() {
            wake.nudge();
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(writer.join().expect("writer") < BOUND);
    }
}
