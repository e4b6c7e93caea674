//! What the callers and the task share: the buffer of records on their
//! way, the flushes waiting for them, the wake-ups, and the counters.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;

use crate::confirm::Confirm;
use crate::error::{Error, ErrorKind, Result};
use crate::report::ErrorReporter;
use crate::sync::lock_unpoisoned;

/// A record on its way.
#[derive(Debug)]
pub(super) struct Pending {
    /// 1, 2, … in submission order; records settle in this order.
    pub(super) seq: u64,
    pub(super) message: Vec<u8>,
    pub(super) confirm: Option<Confirm>,
    /// Its outcome was told (a TCP record kept for a resend is settled).
    pub(super) settled: bool,
    /// Connections it was sent on that broke before it was acknowledged.
    pub(super) broken: u32,
}

/// A flush waiting for the records submitted before it.
#[derive(Debug)]
pub(super) struct FlushWaiter {
    /// Resolved once every record up to this sequence number settled.
    pub(super) target: u64,
    /// `State::failed` when the flush began: more failures by then are its error.
    pub(super) failed_before: u64,
    pub(super) reply: std::sync::mpsc::SyncSender<Result<()>>,
}

/// What the callers and the task share under one mutex.
#[derive(Debug)]
pub(super) struct State {
    pub(super) queue: VecDeque<Pending>,
    pub(super) capacity: usize,
    /// Records submitted so far (the last sequence number given out).
    pub(super) submitted: u64,
    /// Every record up to this sequence number has settled.
    pub(super) settled: u64,
    /// Records settled with an error (refused, given up, dropped).
    pub(super) failed: u64,
    pub(super) last_error: Option<Error>,
    pub(super) flushes: VecDeque<FlushWaiter>,
    /// Submitters blocked in `submit(wait = true)`.
    pub(super) waiting_submitters: usize,
    /// Shutdown was asked for; deliver until this deadline.
    pub(super) closing: Option<Instant>,
    /// The task ended.
    pub(super) stopped: bool,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) sent: AtomicU64,
    pub(super) acknowledged: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) reconnects: AtomicU64,
    pub(super) connect_errors: AtomicU64,
    pub(super) resent: AtomicU64,
}

pub(super) fn bump(counter: &AtomicU64, n: u64) {
    // Independent tallies: no ordering with anything else is needed.
    counter.fetch_add(n, Ordering::Relaxed);
}

#[derive(Debug)]
pub(super) struct Shared {
    /// The collector's URL, for errors.
    pub(super) address: String,
    pub(super) state: Mutex<State>,
    /// Signalled when the task took records out of a full buffer.
    pub(super) room: Condvar,
    /// Signalled when the task ended.
    pub(super) stopped: Condvar,
    /// Wakes the task: records, flushes.
    pub(super) wake: Notify,
    /// Wakes the task out of a backoff sleep: shutdown.
    pub(super) closing: Notify,
    pub(super) counters: Counters,
    pub(super) errors: ErrorReporter,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        lock_unpoisoned(&self.state)
    }

    pub(super) fn closing(&self) -> Option<Instant> {
        self.lock().closing
    }

    pub(super) fn send_error(&self, source: io::Error) -> Error {
        Error::net(ErrorKind::Send, self.address.clone(), source)
    }
}

/// Marks the sink stopped when its thread ends, however it ends.
pub(super) struct MarkStopped(pub(super) Arc<Shared>);

impl Drop for MarkStopped {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.stopped = true;
        // Nothing will settle these any more.
        for flush in state.flushes.drain(..) {
            let _ = flush.reply.try_send(Err(Error::closed()));
        }
        drop(state);
        self.0.stopped.notify_all();
        self.0.room.notify_all();
    }
}
